#!/bin/bash
# raid1 and mirror LVs made by lvm2 itself (issue #12: "mirror/raid1
# readable from one healthy leg"), in the guest: lvm2 makes raid1 and mirror
# LVs only through device-mapper, which the development machines' kernel
# lacks.
#  - two 64M disks, each a whole-disk PV of VG rvg (4M extents): r1 (raid1,
#    leg 0 on A, leg 1 on B, with their rmeta sub-LVs), mir (mirror, core
#    log, leg 0 on A, leg 1 on B), mlg (mirror, leg 0 on A, leg 1 on B, its
#    log on a PV: the hidden mlg_mlog) and lin (linear on A, a reference); made,
#    synced and filled (ext4, files of known sha256) with lvm2 under the
#    private configuration of tests/lib/lvm.sh (lvma: activation), then
#    deactivated, nothing of rvg left in device-mapper;
#  - the raw images: each LV's segments (tests/discover) are those of its
#    first leg lvs reports (lvs -a: r1_rimage_0, mir_mimage_0, ...), and with
#    one disk alone, those of the leg on it;
#  - as VMDKs, on both bridges (kernel: dm tables over /dev/nbdN; fuse):
#    only the 4 visible LVs are listed (no rimage, rmeta, mimage, mlog),
#    type LVM, sizes, UUIDs and layouts as lvs says; they mount and every
#    file reads with its sha256; the kernel bridge's dm table of each reads
#    the leg discovery chose;
#  - one disk missing (B alone: the disk of the legs 0; A alone: that of
#    the legs 1 missing): r1, mir and mlg still mount and read right from
#    the other leg (whether or not mlg's log is there); lin (on A) is
#    listed as incomplete without A;
#  - nothing left (mounts, loops, processes, NBD, dm tables), the VMDKs
#    unchanged, the host's LVM state untouched.
. "$top_srcdir/tests/lib/common.sh"
need lvm mkfs.ext4 qemu-img jq losetup dmsetup python3
[ "${VIXMOUNT_VM:-}" = 1 ] || bail "runs in the guest only (tests/vm/run-in-guest): it activates LVs"
for m in loop dm-mod dm-raid dm-mirror dm-log fuse; do modprobe "$m" || bail "modprobe $m"; done
CLIENT="$top_builddir/tests/mntapi-client"
DISCOVER="$top_builddir/tests/discover"
. "$top_srcdir/tests/lib/lvm.sh"
. "$top_srcdir/tests/lib/mntapi-env.sh"    # d (the cwd), rt/, vix.conf, the sanitizers' nbdkit
host0=$(lvm_host_state)
lvm_setup "$d/lvm"
. "$top_srcdir/tests/lib/mntapi-run.sh"   # LOOPS, fill, check_files, run_client, release, ...
dm_ours() { dmsetup ls 2>/dev/null | grep -c '^rvg-'; }
on_exit "LVM_SYSTEM_DIR=$d/lvm/etc lvm vgchange -an rvg"   # runs before cleanup_loops
mnt=$d/m; mkdir -p "$mnt"
: > manifest

# ---- the images, made by lvm2 with device-mapper --------------------------------
truncate -s 64M A.raw B.raw
LA=$(losetup -f --show A.raw) || bail "losetup"; LOOPS+=("$LA")
LB=$(losetup -f --show B.raw) || bail "losetup"; LOOPS+=("$LB")
lvm_devices "$LA" "$LB"
{ lvma pvcreate -q "$LA" "$LB" && lvma vgcreate -q -s 4M rvg "$LA" "$LB" &&
  lvma lvcreate -q -y --type raid1 -m 1 -L 16M -n r1 rvg "$LA" "$LB" &&
  lvma lvcreate -q -y --type mirror -m 1 --mirrorlog core -L 16M -n mir rvg "$LA" "$LB" &&
  lvma lvcreate -q -y -L 8M -n lin rvg "$LA" &&
  lvma lvcreate -q -y --type mirror -m 1 --mirrorlog disk --alloc anywhere -L 12M -n mlg rvg "$LA" "$LB"; } > lvm.out 2>&1 || bail "lvm2: $(grep -v WARNING lvm.out)"
for _ in $(seq 600); do
  s=$(lvma lvs --noheadings -o sync_percent rvg/r1 rvg/mir rvg/mlg 2>/dev/null | tr -d ' ' | tr '\n' ' ')
  [ "$s" = "100.00 100.00 100.00 " ] && break; sleep 0.5
done
is "$s" "100.00 100.00 100.00 " "lvm2 made rvg/r1 (raid1), rvg/mir and rvg/mlg (mirror) and synced their legs"
for lv in r1 mir lin mlg; do
  mkfs.ext4 -q -F -L "$lv" "/dev/mapper/rvg-$lv" && mount "/dev/mapper/rvg-$lv" "$mnt" || bail "mkfs/mount rvg/$lv"
  fill "$mnt" "rvg/$lv"
  umount "$mnt" || bail "umount"
done
lvma lvs --reportformat json --units b -a -o lv_name,lv_uuid,lv_size,vg_extent_size,segtype,devices,seg_pe_ranges \
  rvg > lvs.json 2> lvs.err || bail "lvs: $(cat lvs.err)"
lvma pvs --reportformat json --units b -o pv_name,pe_start > pvs.json 2> pvs.err || bail "pvs: $(cat pvs.err)"
diag "lvs -a: $(jq -r '.report[0].lv[] | "\(.lv_name) \(.segtype) \(.seg_pe_ranges)"' lvs.json | tr '\n' ';')"
lv() { jq -r --arg n "$1" --arg k "$2" '.report[0].lv[] | select(.lv_name == $n) | .[$k]' lvs.json; }
is "$(lv r1 segtype) $(lv r1 devices)" "raid1 r1_rimage_0(0),r1_rimage_1(0)" "r1: raid1 over r1_rimage_0, r1_rimage_1"
is "$(lv '[r1_rimage_0]' devices) $(lv '[r1_rmeta_0]' devices) $(lv '[r1_rimage_1]' devices) $(lv '[r1_rmeta_1]' devices)" \
   "$LA(1) $LA(0) $LB(1) $LB(0)" "lvm2 put r1's leg 0 and its rmeta on A, leg 1 on B"
is "$(lv mir segtype) $(lv '[mir_mimage_0]' devices) $(lv '[mir_mimage_1]' devices)" \
   "mirror $LA(5) $LB(5)" "mir: a mirror, leg 0 on A, leg 1 on B (core log: no log LV)"
is "$(lv mlg segtype) $(lv '[mlg_mimage_0]' devices | cut -d'(' -f1) $(lv '[mlg_mimage_1]' devices | cut -d'(' -f1)" \
   "mirror $LA $LB" "mlg: a mirror, leg 0 on A, leg 1 on B"
case $(lv '[mlg_mlog]' devices) in
  "$LA("*|"$LB("*) ok 0 "mlg's log is the hidden LV mlg_mlog, on $(lv '[mlg_mlog]' devices)";;
  *) ok 1 "mlg's log is the hidden LV mlg_mlog: $(lv '[mlg_mlog]' devices)";;
esac
lvma vgchange -q -an rvg > vgchange.out 2>&1 || bail "vgchange -an: $(cat vgchange.out)"
is "$(dm_ours)" 0 "rvg deactivated: no dm table of it left"
is "$(ls /sys/block | grep -c '^dm-')" 0 "no dm device at all"
cleanup_loops; LOOPS=()
is "$(losetup -a | grep -c "$d/")" 0 "the images' loop devices are detached"

# ---- segments: the first leg on the set's disks --------------------------------------
# want_segs DEV=DISK... : each LV's segments as discovery should give them, the
# first leg (rimage/mimage order) whose PVs all are among DEV, from lvs -a
want_segs() {
  python3 - lvs.json pvs.json "$@" <<'PY'
import json, re, sys
lvs = {l["lv_name"].strip("[]"): l for l in json.load(open(sys.argv[1]))["report"][0]["lv"]}
pe_start = {p["pv_name"]: int(p["pe_start"].rstrip("B")) for p in json.load(open(sys.argv[2]))["report"][0]["pv"]}
disk = {a.split("=")[0]: int(a.split("=")[1]) for a in sys.argv[3:]}
es = int(next(iter(lvs.values()))["vg_extent_size"].rstrip("B"))
def ranges(name):  # [(dev, first, last)], None if a PV is not in the set
    out = []
    for r in lvs[name]["seg_pe_ranges"].split():
        dev, a, b = re.fullmatch(r"(.*):(\d+)-(\d+)", r).groups()
        if dev not in disk:
            return None
        out.append((dev, int(a), int(b)))
    return out
for name in ("lin", "mir", "mlg", "r1"):
    legs = [re.sub(r":.*", "", r) for r in lvs[name]["seg_pe_ranges"].split()]
    rs = ranges(name) if lvs[name]["segtype"] == "linear" else \
         next((ranges(l) for l in legs if ranges(l)), None)
    seg = None if rs is None else \
        [{"disk": disk[dev], "offset": pe_start[dev] + a * es, "length": (b - a + 1) * es} for dev, a, b in rs]
    print(json.dumps({"name": "rvg/" + name, "seg": seg}, sort_keys=True, separators=(",", ":")))
PY
}
got_segs() {  # DISK...: discovery's segments of the LVs (null when not mountable)
  "$DISCOVER" "$@" > disc.out 2> disc.err || { diag "discover: $(cat disc.err)"; return; }
  jq -c 'select(.kind == "lvm") | {name, seg: (if .mountable then .seg else null end)}' disc.out | jq -cS .
}
is "$(got_segs A.raw B.raw)" "$(want_segs "$LA=0" "$LB=1")" \
   "both disks: r1, mir, mlg read from leg 0 (on A), segments as lvs -a and pvs report"
is "$(jq -r 'select(.kind == "lvm") | .name' disc.out | tr '\n' ' ')" "rvg/lin rvg/mir rvg/mlg rvg/r1 " \
   "only the visible LVs are volumes (no rimage, rmeta, mimage, mlog)"
is "$(got_segs B.raw)" "$(want_segs "$LB=0")" "B alone: r1, mir, mlg from leg 1 (on B), lin not mountable"
is "$(got_segs A.raw)" "$(want_segs "$LA=0")" "A alone: r1, mir, mlg from leg 0, lin too"

# expected volumes: lvs's size, UUID, layout; ext4 labelled as the LV
for l in lin mir mlg r1; do
  jq -c --arg n "$l" '{name: ("rvg/" + $n), type: 4, length: (.lv_size | rtrimstr("B") | tonumber),
      partUuid: .lv_uuid, partType: .segtype, fs: "ext4", label: $n}' \
    <(jq -c --arg n "$l" '.report[0].lv[] | select(.lv_name == $n)' lvs.json)
done > expected.json
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse A.raw A.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized B.raw B.vmdk
sums=$(sha256sum A.vmdk B.vmdk)

# dm_reads OUT NAME WANT_JSON: the kernel bridge's dm table of volume NAME reads
# the segments WANT_JSON gives ("ok", or what differs)
dm_reads() {
  local dev devs table want
  dev=$(device_of "$1" "$2")
  devs=$(awk '$1 == "bridge" {print $5}' "$1")
  table=$(dmsetup table "$dev" 2>&1)
  want=$(jq -r --arg n "$2" --arg devs "$devs" 'select(.name == $n) | .seg as $s |
    ($devs | split(",")) as $d | [foreach $s[] as $x (0; . + ($x.length / 512);
      "\(. - $x.length / 512) \($x.length / 512) linear \($d[$x.disk]) \($x.offset / 512)")] | join(";")' <<< "$3")
  # dmsetup shows MAJ:MIN; the bridge line names /dev/nbdN
  table=$(while read -r s n t mm o; do
            echo "$s $n $t /dev/$(basename "$(readlink -f "/sys/dev/block/$mm")") $o"; done <<< "$table" | paste -sd';')
  [ "$table" = "$want" ] && echo ok || echo "$table, expected $want"
}

for bridge in kernel fuse; do
  export VIXMOUNT_BRIDGE=$bridge
  # ---- both disks ------------------------------------------------------------------
  run_client "$bridge.out" --mount-all A.vmdk B.vmdk
  grep -q '^ready$' "$bridge.out"; ok $? "$bridge: OpenDisks of A+B, every mountable volume mounted" || diag "$(tail -5 "$bridge.out.err")"
  is "$(grep '^{' "$bridge.out" | jq -r .name | tr '\n' ' ')" "d0 d1 rvg/lin rvg/mir rvg/mlg rvg/r1 " \
     "$bridge: volumes d0, d1 (the PVs) and the 4 visible LVs only"
  r=$(python3 "$top_srcdir/tests/lib/volcheck.py" "$bridge.out" expected.json)
  is "${r##*$'\n'}" 0 "$bridge: each LV is type LVM with lvs's size, UUID and layout (raid1, mirror, linear), ext4 labelled" || diag "$r"
  is "$(grep '^mounted ' "$bridge.out" | awk '{print $2}' | sort | tr '\n' ' ')" "rvg/lin rvg/mir rvg/mlg rvg/r1 " "$bridge: the 4 LVs mount"
  is "$(check_files "$bridge.out")" "0 of 12" "$bridge: every file of r1, mir, mlg and lin reads with its sha256"
  if [ "$bridge" = kernel ]; then
    w=$(want_segs "$LA=0" "$LB=1")
    for l in r1 mir mlg; do
      is "$(dm_reads "$bridge.out" "rvg/$l" "$w")" ok "kernel: the dm table of rvg/$l reads leg 0 (on A's /dev/nbdN)"
    done
  fi
  release "$bridge.out"
  is "$(leftovers)" "" "$bridge: nothing of the set left"

  # ---- one disk missing --------------------------------------------------------------
  run_client "$bridge-B.out" --mount-all B.vmdk
  grep -q '^ready$' "$bridge-B.out"; ok $? "$bridge: B alone opens (A, holding both legs 0, missing)" || diag "$(tail -5 "$bridge-B.out.err")"
  is "$(grep '^mounted ' "$bridge-B.out" | awk '{print $2}' | sort | tr '\n' ' ')" "rvg/mir rvg/mlg rvg/r1 " \
     "$bridge: B alone: r1, mir and mlg mount from leg 1"
  is "$(check_files "$bridge-B.out")" "0 of 9" "$bridge: B alone: their files read with their sha256"
  case $(grep '^{' "$bridge-B.out" | jq -r 'select(.name == "rvg/lin") | .why') in
    "incomplete: PV "*" is not in the disk set") ok 0 "$bridge: B alone: rvg/lin (on A) is listed as incomplete";;
    *) ok 1 "$bridge: B alone: rvg/lin (on A) is listed as incomplete"; diag "$(grep rvg/lin "$bridge-B.out")";;
  esac
  if [ "$bridge" = kernel ]; then
    w=$(want_segs "$LB=0")
    for l in r1 mir mlg; do
      is "$(dm_reads "$bridge-B.out" "rvg/$l" "$w")" ok "kernel: B alone: the dm table of rvg/$l reads leg 1"
    done
  fi
  release "$bridge-B.out"
  run_client "$bridge-A.out" --mount-all A.vmdk
  grep -q '^ready$' "$bridge-A.out"; ok $? "$bridge: A alone opens (legs 1 missing)" || diag "$(tail -5 "$bridge-A.out.err")"
  is "$(grep '^mounted ' "$bridge-A.out" | awk '{print $2}' | sort | tr '\n' ' ')" "rvg/lin rvg/mir rvg/mlg rvg/r1 " \
     "$bridge: A alone: r1, mir, mlg (leg 0) and lin mount"
  is "$(check_files "$bridge-A.out")" "0 of 12" "$bridge: A alone: every file reads with its sha256"
  release "$bridge-A.out"
  is "$(leftovers)" "" "$bridge: nothing of the one-disk sets left"
done

is "$(sha256sum A.vmdk B.vmdk)" "$sums" "the VMDK files are unchanged"
is "$(ls /sys/block | grep -c '^dm-')" 0 "no dm device is left"
is "$(losetup -a | grep -c "$d/" || true)" 0 "no loop device over this test's files is left"
is "$(lvm_host_state)" "$host0" "the host's /etc/lvm, /run/lvm and /run/lock/lvm are as they were"
done_testing

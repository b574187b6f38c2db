#!/bin/bash
# LVM logical volumes through libvixMntapi's C API on the userspace bridge
# (tests/mntapi-client; vixmount-fuse composed files + loop + mount).
# The images are built with lvm2's own tools under a private configuration
# (tests/lib/lvm.sh: the host's LVM state is never read or written, nothing
# is activated); filesystems are made apart and written to the extents lvs
# reports (tests/lib/lvmimg.py), then the raw images become VMDKs.
#  - a two-disk set: a PV on a whole disk and one in a GPT partition, one VG,
#    a striped LV across both (xfs, 64 KiB stripes), a linear LV spanning
#    both (ext4, left with a dirty journal) and one LV on the second disk:
#    the volume table and every segment (disk, offset, stripes) equal lvs's
#    and pvs's on the raw images; every file's sha256 is the source's; the
#    VMDKs are unchanged (the journal replays into the overlay);
#  - a guest layout on one disk: MBR /boot and a PV holding root, home (xfs)
#    and swap, in a VG named like the host's own (HOSTNAME-vg); the set
#    opened twice at once mounts home twice (xfs clones: nouuid);
#  - read-write: a file written into the striped LV (composed writes over
#    NBD) reads back in a later read-only set;
#  - the second disk alone: the LV on it mounts, the others are listed as
#    incomplete and refuse to mount naming the missing PV's UUID;
#  - damaged metadata (a corrupt text, a truncated metadata area): a clear
#    error for that PV/VG, the set's other volumes still work;
#  - the host's /etc/lvm, /run/lvm, /run/lock/lvm are byte-identical after.
. "$top_srcdir/tests/lib/common.sh"
need lvm sgdisk sfdisk mkfs.ext4 mkfs.xfs mkswap blkid qemu-img python3 jq losetup
require_root "loop devices, mounts"
CLIENT="$top_builddir/tests/mntapi-client"
DISCOVER="$top_builddir/tests/discover"
LVMIMG="python3 $top_srcdir/tests/lib/lvmimg.py"
. "$top_srcdir/tests/lib/lvm.sh"
. "$top_srcdir/tests/lib/mntapi-env.sh"    # d (the cwd), rt/, vix.conf, the sanitizers' nbdkit
host0=$(lvm_host_state)
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1    # small xfs filesystems
lvm_setup "$d/lvm"

. "$top_srcdir/tests/lib/mntapi-run.sh"   # LOOPS, fill, run_client, release, mounted_at, leftovers

# attach IMG [START_SECTOR SECTORS]: $l = a loop device (detached at exit)
attach() {
  if [ $# -gt 1 ]; then
    l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"
  else
    l=$(losetup -f --show "$1") || bail "losetup"
  fi
  LOOPS+=("$l")
}
mnt=$d/m; mkdir -p "$mnt"
# mkfs_img FILE SIZE TYPE TAG [dirty]: a filesystem image with files
mkfs_img() {
  truncate -s "$2" "$1"
  case $3 in
    ext4) mkfs.ext4 -q -F -L "$4" "$1" ;;
    xfs) mkfs.xfs -q -L "${4:0:12}" "$1" ;;   # xfs labels hold 12 bytes
  esac || bail "mkfs $3 $1"
  attach "$1"; mount -t "$3" "$l" "$mnt" || bail "mount $1"
  fill "$mnt" "$4"
  if [ "${5:-}" = dirty ]; then     # the image as a crash would leave it
    sync; cp --sparse=always "$1" "$1.dirty"
  fi
  umount "$mnt"
  [ "${5:-}" = dirty ] && mv "$1.dirty" "$1"
}
: > manifest

# ---- set 1: A = a PV on the whole disk, B = GPT with /boot and a PV ------------
lvm_gvg_set attach
UA=$(jq -r --arg d "$LA" '.pvs[$d].uuid' r1.json)
diag "PVs: A $UA, B $(jq -r --arg d "$LB" '.pvs[$d].uuid' r1.json)"
cleanup_loops; LOOPS=()
DEVS1=("$LA=A.raw:0" "$LB=B.raw:$((b2s * 512))")
mkfs_img str.img 48M xfs gvg/str
mkfs_img lin.img 64M ext4 gvg/lin dirty
mkfs_img onb.img 16M ext4 gvg/onb
for lv in str lin onb; do $LVMIMG write r1.json gvg/$lv $lv.img "${DEVS1[@]}" || bail "write $lv"; done
attach B.raw "$b1s" "$b1n"; mkfs.ext4 -q -L boot "$l" && mount "$l" "$mnt" && fill "$mnt" bootB && umount "$mnt"
cleanup_loops; LOOPS=()
is "$(jq -r '[.lvs["gvg/lin"].segs[] | .areas[0][0]] | join(" ")' r1.json)" "$LA $LB" \
  "lvm2 put gvg/lin on both disks (A, then B)"
is "$(jq -r '.lvs["gvg/str"].segs[0] | "\(.stripes) \(.stripe_size)"' r1.json)" "2 65536" \
  "lvm2 made gvg/str striped over 2 PVs in 64 KiB chunks"

# expected volumes of the LVs: lvs, and blkid on the LV bytes read back
expect() {  # REPORT DISKS... -> one JSON line per LV
  python3 - "$@" <<'PY'
import json, subprocess, sys
rep = json.load(open(sys.argv[1]))
for name in sorted(rep["lvs"]):
    lv = rep["lvs"][name]
    subprocess.run(["python3", sys.argv[2], "read", sys.argv[1], name, "lv.tmp"] + sys.argv[3:], check=True)
    out = subprocess.run(["blkid", "-p", "-o", "export", "lv.tmp"], capture_output=True, text=True).stdout
    kv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    seg0 = lv["segs"][0]
    layout = "linear" if seg0["type"] == "linear" else seg0["type"]
    print(json.dumps({"name": name, "type": 4, "length": lv["size"], "partUuid": lv["uuid"],
                      "partType": layout, "fs": kv.get("TYPE"), "uuid": kv.get("UUID"),
                      "label": kv.get("LABEL")}))
PY
}
expect r1.json "$top_srcdir/tests/lib/lvmimg.py" "${DEVS1[@]}" > expected1.json
# segments as lvs reports them, in our model (disk index, byte offsets)
segs_expected() {  # REPORT DEV=DISK:OFFSET...
  python3 - "$@" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
devs = {a.split("=")[0]: (int(a.split("=")[1].split(":")[0]), int(a.split(":")[1])) for a in sys.argv[2:]}
for name in sorted(rep["lvs"]):
    lv = rep["lvs"][name]; es = lv["extent"]; segs = []
    def at(a, pe):
        disk, off = devs[a]
        return disk, off + rep["pvs"][a]["pe_start"] + pe * es
    for s in lv["segs"]:
        if s["stripes"] == 1:
            disk, off = at(s["areas"][0][0], s["areas"][0][1])
            segs.append({"disk": disk, "offset": off, "length": s["size"]})
        else:
            segs.append({"start": s["start"], "length": s["size"], "stripe_size": s["stripe_size"],
                         "stripes": [dict(zip(("disk", "offset"), at(a, pe))) for a, pe, _ in s["areas"]]})
    print(json.dumps({"name": name, "seg": segs}, sort_keys=True, separators=(",", ":")))
PY
}
segs_expected r1.json "$LA=0:0" "$LB=1:$((b2s * 512))" > segs1.want
"$DISCOVER" A.raw B.raw > disc1.out 2> disc1.err; ok $? "discovery of the raw two-disk set"
jq -c 'select(.kind == "lvm") | {name, seg}' disc1.out | jq -cS . > segs1.got
is "$(cat segs1.got)" "$(cat segs1.want)" "every LV's segments (disks, offsets, stripes) equal lvs/pvs on the raw images"
is "$(jq -r 'select(.kind == "lvm") | .file_name' disc1.out | tr '\n' ' ')" "gvg-lin gvg-onb gvg-str " \
  "LVs in lvs's order, with device-mapper names for their files"
is "$(jq -r 'select(.name == "d0") | .why_not' disc1.out)" "LVM physical volume of VG gvg" "the whole-disk PV says which VG it belongs to"
is "$(jq -r 'select(.name == "d1p2") | .why_not' disc1.out)" "LVM physical volume of VG gvg" "so does the PV in the GPT partition"

qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse A.raw A.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized B.raw B.vmdk
sums1=$(sha256sum A.vmdk B.vmdk)

run_client s1.out --mount-all A.vmdk B.vmdk
grep -q '^ready$' s1.out; ok $? "OpenDisks of the two-disk set, every mountable volume mounted"
is "$(grep -c '^{' s1.out)" 6 "6 volumes: d0 (PV), d1p1, d1p2 (PV), gvg/lin, gvg/onb, gvg/str"
r=$(python3 "$top_srcdir/tests/lib/volcheck.py" s1.out expected1.json); is "${r##*$'\n'}" 0 "each LV: type LVM, size, UUID, layout, filesystem, label and UUID as lvs and blkid say" || diag "$r"
is "$(grep '^mounted ' s1.out | awk '{print $2}' | sort | tr '\n' ' ')" "d1p1 gvg/lin gvg/onb gvg/str " \
  "the LVs and /boot are mounted"
is "$(mounted_at s1.out gvg/str)" "$(awk '/^set/ {sub("mountPath=", "", $3); print $3}' s1.out)/volumes/gvg-str" \
  "an LV's mount directory has its device-mapper name"
is "$(check_files s1.out bootB=d1p1)" "0 of 12" "every file of the LVs and /boot reads with the source's sha256"
is "$(cat "$(mounted_at s1.out gvg/lin)/hello.txt")" "hello from gvg/lin" "the dirty ext4 LV mounts (its journal replayed into the overlay)"
is "$(grep " $(mounted_at s1.out gvg/str) " /proc/mounts | grep -c 'xfs ro,.*nouuid')" 1 "the striped xfs LV is mounted read-only with nouuid"
release s1.out
is "$(grep -c '^dismounted' s1.out)" 4 "DismountVolume of each"
is "$(leftovers)" "" "nothing left: no mount, loop device or process of the set"
is "$(sha256sum A.vmdk B.vmdk)" "$sums1" "the VMDK files are unchanged (read-only: the journal replay went to the overlay)"

# a busy LV at the end: DismountVolume(force) detaches it lazily; what is
# under it (on the kernel bridge its dm table, and the NBD devices under
# that) goes when its last file closes
run_client s1b.out --mount gvg/str A.vmdk B.vmdk
m=$(mounted_at s1b.out gvg/str)
(for f in "${CLIENT_FDS[@]}"; do eval "exec $f>&-"; done   # not the client's input
 cd "$m" && exec sleep 60) & busy=$!
on_exit "kill $busy"
sleep 0.3
release s1b.out
kill -0 $busy; ok $? "the process in the LV still runs after the set was closed"
is "$(grep -c '^dismounted ' s1b.out)" 1 "DismountVolume(force) of a busy LV succeeds"
grep -q " $m " /proc/mounts; ok $((! $?)) "... and it is no mount any more"
kill $busy; wait $busy 2>/dev/null
for _ in $(seq 50); do [ -z "$(leftovers)" ] && break; sleep 0.1; done
is "$(leftovers)" "" "once the busy process is gone, nothing is left of the set"

# ---- the second disk alone: a PV is missing ------------------------------------
run_client m.out --mount-all B.vmdk
is "$(jq -r 'select(.name == "gvg/onb") | .mountable' <(grep '^{' m.out))" true "without disk A, gvg/onb (wholly on B) is mountable"
is "$(check_files m.out bootB=d0p1)" "0 of 6" "and its files and /boot's read right"
for lv in lin str; do
  is "$(jq -r "select(.name == \"gvg/$lv\") | .why" <(grep '^{' m.out))" \
     "incomplete: PV $UA (pv0, last seen as $LA) is not in the disk set" "gvg/$lv is listed as incomplete, naming the missing PV"
done
"$CLIENT" --mount gvg/lin B.vmdk > m2.out 2> m2.err
is "$(awk '$1 == "mountfail" {print $2, $3}' m2.out)" "gvg/lin 24002" "MountVolume of it fails with VIX_E_MNTAPI_DISK_NOT_FOUND"
grep -q "cannot be mounted: incomplete: PV $UA" m2.err; ok $? "the error names the missing PV's UUID"
grep -q "VG gvg: PV $UA (pv0, last seen as $LA) is not in the disk set" m2.err; ok $? "OpenDisks logs the missing PV"
release m.out

# ---- read-write: a file written into the striped LV persists --------------------
qemu-img convert -f raw -O vmdk B.raw Bw.vmdk     # streamOptimized is not writable
run_client rw.out --rw --mount gvg/str:rw A.vmdk Bw.vmdk
m=$(mounted_at rw.out gvg/str)
grep -q " $m xfs rw," /proc/mounts; ok $? "read-write mount of the striped xfs LV (through nbdkit)"
head -c 500000 /dev/urandom > rwfile
cp rwfile "$m/rw.bin"; ok $? "write a file into it"
release rw.out
run_client ro.out --mount gvg/str A.vmdk Bw.vmdk
is "$(sha256sum < "$(mounted_at ro.out gvg/str)/rw.bin")" "$(sha256sum < rwfile)" "a later read-only open reads it back"
is "$(check_files ro.out)" "0 of 3" "and the LV's other files are intact"
release ro.out

# ---- set 2: a guest layout on one disk ---------------------------------------------
vgname="$(hostname -s | tr -c 'a-zA-Z0-9+_.\n' _)-vg"
truncate -s 192M G.raw
printf 'start=2048, size=65536, type=83\nstart=67584, type=8e\n' | sfdisk -q G.raw || bail "sfdisk"
read -r g1s g1n g2s g2n < <(sfdisk --json G.raw | jq -r '[.partitiontable.partitions[] | .start, .size] | @tsv')
attach G.raw "$g2s" "$g2n"; LG=$l
lvm_devices "$LG"
{ lvmx pvcreate -q "$LG" && lvmx vgcreate -q "$vgname" "$LG" &&
  lvmx lvcreate -q -an -Zn -L 64M -n root "$vgname" &&
  lvmx lvcreate -q -an -Zn -L 16M -n swap "$vgname" &&
  lvmx lvcreate -q -an -Zn -L 48M -n home "$vgname"; } > lvm2.out 2>&1 || bail "lvm2: $(grep -v WARNING lvm2.out)"
lvm_reports "$vgname" r2
cleanup_loops; LOOPS=()
DEVS2=("$LG=G.raw:$((g2s * 512))")
mkfs_img root.img 64M ext4 "$vgname/root"
mkfs_img home.img 48M xfs "$vgname/home"
truncate -s 16M swap.img; mkswap -q -L swap swap.img
for lv in root home swap; do $LVMIMG write r2.json "$vgname/$lv" $lv.img "${DEVS2[@]}" || bail "write $lv"; done
attach G.raw "$g1s" "$g1n"; mkfs.ext4 -q -L boot "$l" && mount "$l" "$mnt" && fill "$mnt" bootG && umount "$mnt"
cleanup_loops; LOOPS=()
expect r2.json "$top_srcdir/tests/lib/lvmimg.py" "${DEVS2[@]}" > expected2.json
qemu-img convert -f raw -O vmdk G.raw G.vmdk
run_client g.out --mount-all G.vmdk
r=$(python3 "$top_srcdir/tests/lib/volcheck.py" g.out expected2.json); is "${r##*$'\n'}" 0 "guest layout: $vgname/home, root, swap as lvs and blkid say" || diag "$r"
is "$(grep '^{' g.out | jq -r '.name' | tr '\n' ' ')" "d0p1 d0p2 $vgname/home $vgname/root $vgname/swap " \
  "volumes in order: partitions, then LVs by name"
is "$(grep '^{' g.out | jq -r "select(.name == \"$vgname/swap\") | .why")" "swap space" "the swap LV is listed, not mountable"
is "$(check_files g.out bootG=d0p1)" "0 of 9" "every file of /boot, root and home reads right"
run_client g2.out --mount "$vgname/home" G.vmdk
is "$(grep -c '^mounted ' g2.out)" 1 "the same guest opened a second time mounts home again (two xfs of one UUID: nouuid)"
is "$(check_files g2.out)" "0 of 3" "and reads it right"
release g2.out; release g.out
is "$(leftovers)" "" "nothing left of the guest sets"

# ---- damaged metadata ---------------------------------------------------------------
# a corrupt metadata text: the VG cannot be read, the rest of the set works
cp G.raw Gbad.raw
python3 - Gbad.raw $((g2s * 512)) <<'PY'
import struct, sys
f = open(sys.argv[1], "r+b"); pv = int(sys.argv[2])
f.seek(pv + 4096); h = f.read(512)
off, size = struct.unpack_from("<QQ", h, 40)
f.seek(pv + 4096 + off + size // 2); b = f.read(1)
f.seek(pv + 4096 + off + size // 2); f.write(bytes([b[0] ^ 0x20]))
PY
qemu-img convert -f raw -O vmdk Gbad.raw Gbad.vmdk
run_client bad.out --mount-all Gbad.vmdk
grep -q '^ready$' bad.out; ok $? "a set whose only PV has a corrupt metadata text opens"
is "$(grep -c "^{\"name\": \"$vgname/" bad.out)" 0 "its VG's LVs are not listed"
why=$(grep '^{' bad.out | jq -r 'select(.name == "d0p2") | .why')
case $why in
  "LVM physical volume whose metadata cannot be read: metadata area 1: VG $vgname: metadata text checksum mismatch (stored 0x"*) ok 0 "the PV says why: $why";;
  *) ok 1 "the PV says why: $why";;
esac
grep -q "disk 0 ($d/Gbad.vmdk, read as [^)]*): LVM PV .*VG $vgname: metadata text checksum mismatch" bad.out.err
ok $? "OpenDisks logs it, naming the disk: $(grep -o 'LVM PV .*mismatch' bad.out.err | head -1)"
is "$(check_files bad.out bootG=d0p1)" "0 of 3" "/boot still mounts and reads right"
release bad.out
# a truncated metadata area: a whole-disk PV cut short
# (libblkid needs 2 MiB to see the PV: the metadata area is made larger)
truncate -s 16M T.raw
attach T.raw; LT=$l; lvm_devices "$LT"
{ lvmx pvcreate -q --metadatasize 4m "$LT" && lvmx vgcreate -q tvg "$LT" &&
  lvmx lvcreate -q -an -Zn -L 4M -n t tvg; } > lvm3.out 2>&1 || bail "lvm2: $(cat lvm3.out)"
cleanup_loops; LOOPS=()
truncate -s 2M T.raw
qemu-img convert -f raw -O vmdk T.raw T.vmdk
run_client t.out --mount-all T.vmdk G.vmdk
why=$(grep '^{' t.out | jq -r 'select(.name == "d0") | .why')
case $why in
  "LVM physical volume whose metadata cannot be read: metadata area 1: [4096, +"*") lies beyond the end of the PV (2097152 bytes): truncated?")
    ok 0 "a truncated metadata area: the PV says so: $why";;
  *) ok 1 "a truncated metadata area: the PV says so: $why";;
esac
is "$(grep -c '^mounted ' t.out)" 3 "the set's other disk's volumes still mount (/boot, root, home)"
is "$(check_files t.out bootG=d1p1)" "0 of 9" "and read right"
release t.out
is "$(leftovers)" "" "nothing left of any set"

# ---- the host's LVM ----------------------------------------------------------------------
is "$(lvm_host_state)" "$host0" "the host's /etc/lvm, /run/lvm and /run/lock/lvm are byte-identical"
is "$(losetup -a | grep -c "$d/" || true)" 0 "no loop device over this test's images is left"
done_testing

#!/bin/bash
# libvixMntapi through its C API (tests/mntapi-client, written like VMware's
# mount sample), on the bridge VIXMOUNT_BRIDGE names:
#  - fuse (the default here, whose kernel has no nbd): vixmount-fuse + loop,
#    reading the VMDKs in-process for read-only sets (no nbdkit), through
#    nbdkit for read-write sets;
#  - kernel (tests/vm/mntapi-kernel.sh runs this script so in a guest):
#    nbdkit serving every disk (copy-on-write for read-only sets), each disk
#    a /dev/nbdN, partitions from the kernel's own scan, device-mapper for a
#    read-only mount in a read-write set.
#  - volumes of an MBR disk (primary, extended, logical), a GPT disk and a
#    disk without a partition table, opened as one set: type, offset, size,
#    filesystem, label and UUID match sfdisk and blkid on the raw images;
#  - every file read through the mounts has the source's sha256;
#  - a read-write mount persists what a later read-only open sees;
#  - ext4 and xfs with dirty journals mount read-only, VMDK files unchanged;
#  - two sets at once, parallel readers, a second read-write open refused;
#  - a set of 9 disks; VIXDISKLIB_FLAG_OPEN_SINGLE_LINK reaches the bridge
#    (read-only) and the server (read-write);
#  - a process killed with SIGKILL leaves nothing behind after the next Init
#    (or vixmount-cleanup).
. "$top_srcdir/tests/lib/common.sh"
need sfdisk sgdisk mkfs.ext4 mkfs.xfs mkfs.vfat mkswap mkntfs mcopy ntfs-3g blkid qemu-img python3 jq
require_root "loop devices, mounts"
KERNEL=0; [ "${VIXMOUNT_BRIDGE:-}" = kernel ] && KERNEL=1
CLIENT="$top_builddir/tests/mntapi-client"
. "$top_srcdir/tests/lib/plugin.sh"      # NBDKIT_ENV: sanitizer runtimes for nbdkit
d=$(scratch)
cd "$d" || bail "cd"
mkdir rt
printf 'tmpDirectory = "%s/rt"\n# unknown keys are ignored\nvixDiskLib.nfc.LogLevel = 1\n' "$d" > vix.conf
export MNTAPI_CONFIG=$d/vix.conf
if [ ${#NBDKIT_ENV[@]} -gt 0 ]; then   # sanitizer build: the library's nbdkit needs them too
  { echo '#!/bin/sh'; printf 'exec env'; printf ' %q' "${NBDKIT_ENV[@]}"; echo ' nbdkit "$@"'; } > nbdkit-wrap
  chmod +x nbdkit-wrap
  export VIXMOUNT_NBDKIT=$d/nbdkit-wrap
fi
# mkfs.xfs refuses filesystems under 300 MB unless it is told this is a test
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1

. "$top_srcdir/tests/lib/mntapi-run.sh"   # LOOPS, fill, run_client, release, mounted_at, leftovers

# part IMG START_SECTOR SECTORS: $l = a loop device over that range, detached
# at exit (runs in this shell: a $(...) subshell would lose the registration)
part() {
  l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"
  LOOPS+=("$l")
}
mnt=$d/m; mkdir -p "$mnt"
populate() {  # DEV TYPE TAG
  case $2 in
    ext4|xfs) mount "$1" "$mnt" && fill "$mnt" "$3" && umount "$mnt" ;;
    ntfs) ntfs-3g "$1" "$mnt" && fill "$mnt" "$3" && umount "$mnt" ;;
    vfat) mkdir -p src && rm -rf src/* && fill src "$3" && mcopy -s -i "$1" src/* ::/ ;;
  esac
}
: > manifest

# --- disk A: MBR with primaries and an extended partition holding logicals
truncate -s 160M A.raw
sfdisk -q A.raw <<'EOF'
label: dos
start=2048, size=98304, type=83
start=100352, size=65536, type=83
start=165888, type=5
start=167936, size=49152, type=c
start=219136, size=16384, type=82
start=237568, size=16384, type=83
EOF
part A.raw 2048 98304; mkfs.ext4 -q -L rootfs "$l" && populate "$l" ext4 d0p1
part A.raw 100352 65536; mkfs.xfs -q -L data "$l" && populate "$l" xfs d0p2
part A.raw 167936 49152; mkfs.vfat -n BOOT "$l" > /dev/null && populate "$l" vfat d0p5
part A.raw 219136 16384; mkswap -q -L swp "$l"
cleanup_loops; LOOPS=()

# --- disk B: GPT with named partitions
truncate -s 128M B.raw
sgdisk -n 1:2048:+16M -t 1:ef00 -c 1:"EFI system" -n 2:0:+48M -t 2:8300 -c 2:home \
       -n 3:0:+40M -t 3:0700 -c 3:windows B.raw > sgdisk.out || bail "sgdisk: $(cat sgdisk.out)"
eval "$(sfdisk --json B.raw | jq -r '.partitiontable.partitions | to_entries[] | "B\(.key+1)=\"\(.value.start) \(.value.size)\""')"
part B.raw $B1; mkfs.vfat -n ESP "$l" > /dev/null && populate "$l" vfat d1p1
part B.raw $B2; mkfs.ext4 -q -L home "$l" && populate "$l" ext4 d1p2
part B.raw $B3; mkntfs -q -Q -F -L WIN "$l" > /dev/null && populate "$l" ntfs d1p3
cleanup_loops; LOOPS=()

# --- disk C: a filesystem on the whole disk
truncate -s 64M C.raw
mkfs.ext4 -q -F -L whole C.raw && l=$(losetup -f --show C.raw) && LOOPS+=("$l") && populate "$l" ext4 d2
cleanup_loops; LOOPS=()
diag "$(wc -l < manifest) files in the manifest"

qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse A.raw A.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized B.raw B.vmdk
qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentFlat C.raw C.vmdk
vmdk_sums() { sha256sum A*.vmdk B*.vmdk C*.vmdk; }
sums0=$(vmdk_sums)

# expected volumes from sfdisk and blkid on the raw images
python3 - > expected.json <<'EOF'
import json, subprocess
def blkid(img, off, size):
    out = subprocess.run(["blkid", "-p", "-o", "export", "-O", str(off), "-S", str(size), img],
                         capture_output=True, text=True).stdout
    kv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return kv.get("TYPE"), kv.get("LABEL"), kv.get("UUID")
for disk, img in enumerate(["A.raw", "B.raw"]):
    pt = json.loads(subprocess.run(["sfdisk", "--json", img], capture_output=True, text=True).stdout)["partitiontable"]
    for p in pt["partitions"]:
        n = int(p["node"].rsplit(img, 1)[1])
        off, size = p["start"] * 512, p["size"] * 512
        fs, label, uuid = blkid(img, off, size)
        if p["type"] in ("5", "f", "85"):
            fs = label = uuid = None; size = None   # the container (its size is not compared)
        print(json.dumps({"name": "d%dp%d" % (disk, n), "disk": disk, "partno": n, "offset": off,
                          "length": size, "fs": fs, "label": label, "uuid": uuid}))
fs, label, uuid = blkid("C.raw", 0, 64 << 20)
print(json.dumps({"name": "d2", "disk": 2, "partno": 0, "offset": 0, "length": 64 << 20,
                  "fs": fs, "label": label, "uuid": uuid}))
EOF

# --- 1. one set of three disks, read-only, everything mountable mounted
run_client all.out --mount-all --mount d0p3 --mount d0p6 --mount d0p7 A.vmdk B.vmdk C.vmdk
grep -q '^ready$' all.out; ok $? "OpenDisks of three disks, volumes mounted (set $(awk '/^set/ {print $3}' all.out))"
is "$(awk '/^set/ {print $2}' all.out)" "openFlags=4" "GetDiskSetInfo: openFlags = VIXDISKLIB_FLAG_OPEN_READ_ONLY"
mp=$(awk '/^set/ {sub("mountPath=", "", $3); print $3}' all.out)
case $mp in "$d/rt/vixmount/set-"*) ok 0 "mountPath is the set's directory under tmpDirectory";; *) ok 1 "mountPath $mp";; esac
is "$(grep -c '^{' all.out)" 10 "GetVolumeHandles: 10 volumes (MBR 6, GPT 3, whole disk 1)"
python3 "$top_srcdir/tests/lib/volcheck.py" all.out expected.json > volcheck
is "$(tail -1 volcheck)" 0 "every volume's disk, number, offset, size, filesystem, label and UUID match sfdisk/blkid" ||
  head -n -1 volcheck
vol() { grep "^{\"name\": \"$1\"" all.out | jq -r "$2"; }
is "$(vol d0p1 .type) $(vol d1p2 .type) $(vol d2 .type)" "1 2 0" "VixVolumeInfo.type: MBR=BASIC_PARTITION, GPT=GPT_PARTITION, whole disk=UNKNOWN"
is "$(vol d1p2 .partName) $(vol d1p1 .partType)" "home c12a7328-f81f-11d2-ba4b-00a0c93ec93b" "GPT names and type GUIDs"
is "$(vol d0p3 .mountable):$(vol d0p3 .why)" "false:extended partition container" "the extended container is listed, not mountable"
is "$(vol d0p6 .fs):$(vol d0p6 .mountable)" "swap:false" "swap is listed, not mountable"
is "$(vol d0p7 .mountable)" false "an unformatted partition is listed, not mountable"
for v in d0p3 d0p6 d0p7; do
  is "$(awk -v n=$v '$1 == "mountfail" && $2 == n {print $3}' all.out)" 6 "MountVolume($v) fails with VIX_E_NOT_SUPPORTED"
done
grep -q "cannot be mounted: swap" all.out.err; ok $? "the log says why: $(grep -m1 'cannot be mounted' all.out.err)"
is "$(grep -c '^mounted ' all.out)" 7 "7 volumes mounted (ext4, xfs, vfat, vfat, ext4, ntfs, ext4)"
is "$(grep '^remount' all.out | awk '{print $3}' | sort -u)" 24305 "a second MountVolume says VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED"
bad=0
while read -r tag f sum; do
  m=$(mounted_at all.out "$tag")
  [ -n "$m" ] && [ "$(sha256sum < "$m/$f" | cut -c1-64)" = "$sum" ] || { diag "$tag/$f differs"; bad=$((bad + 1)); }
done < manifest
is "$bad" 0 "all $(wc -l < manifest) files read through the mounts have the source's sha256"
opts=$(grep " $(mounted_at all.out d0p1) " /proc/mounts | awk '{print $4}')
case ,$opts, in *,ro,*nosuid*nodev*noexec*) ok 0 "read-only mount options: $opts";; *) ok 1 "mount options: $opts";; esac
is "$(grep " $(mounted_at all.out d0p2) " /proc/mounts | grep -c nouuid)" 1 "xfs mounts with nouuid"
if [ $KERNEL = 0 ]; then
is "$(bridge_of all.out)" fuse "GetBridgeInfo: the FUSE bridge (this kernel has no nbd)"
# how the set runs: in-process reads for read-only sets, direct-I/O loops
is "$(pgrep -a vixmount-fuse | grep -F "$d/rt/" | grep -o -- '--vmdk d[0-9]*=[^ ]*' | sort | tr '\n' ' ')" \
  "--vmdk d0=$d/A.vmdk --vmdk d1=$d/B.vmdk --vmdk d2=$d/C.vmdk " \
  "the read-only set's bridge reads each disk's VMDK in-process (--vmdk)"
is "$(pgrep -a vixmount-fuse | grep -F "$d/rt/" | grep -c -- "--cow --cow-dir $d/rt/vixmount/set-")" 1 \
  "its writes (journal replay) go to the bridge's overlay in the set directory (--cow)"
is "$(pgrep -a nbdkit | grep -cF "$d/rt/")" 0 \
  "no nbdkit runs for a read-only set (nothing in it needs NBD)"
dio= ra=
for l in $(losetup -a | grep -F "$d/rt/" | cut -d: -f1); do
  dio+=$(cat "/sys/block/${l#/dev/}/loop/dio"); ra+=" $(cat "/sys/block/${l#/dev/}/queue/read_ahead_kb")"
done
is "$dio" 1111111 "the 7 loop devices do direct I/O (no second page cache under the filesystem)"
is "$(tr ' ' '\n' <<< "$ra" | grep . | sort -u)" 4096 "their read-ahead is 4 MiB"
else
# the kernel bridge: every disk a /dev/nbdN of ours, partitions from the
# kernel's scan equal to discovery, one copy-on-write nbdkit, no FUSE
read -r _ kb kif kconn kdevs <<< "$(grep '^bridge ' all.out)"
is "$kb" kernel "GetBridgeInfo: the kernel bridge ($kif, $kconn connections per device: $kdevs)"
IFS=, read -r -a NBDS <<< "$kdevs"
bad=0
for i in 0 1 2; do
  n=${NBDS[$i]#/dev/}
  [ -e "/sys/block/$n/pid" ] && [ "$(cat "/sys/block/$n/backend" 2>/dev/null)" = "vixmount:$(basename "$mp"):d$i" ] || {
    diag "disk $i: $n pid $(cat "/sys/block/$n/pid" 2>&1) backend $(cat "/sys/block/$n/backend" 2>&1)"; bad=$((bad + 1)); }
done
is "$bad" 0 "each disk is a connected /dev/nbdN whose backend names the set and disk (${NBDS[*]})"
[ "$kif" = netlink ] && [ "$kconn" -ge 2 ]; ok $? "attached through netlink with several connections (multi-conn): $kif, $kconn"
python3 - all.out "${NBDS[@]}" <<'EOF' | sed 's/^/# /'
import json, os, sys
vols = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
devs = sys.argv[2:]
bad = 0; seen = 0
for v in vols:
    if v["partno"] == 0 or v["why"] == "extended partition container":
        continue
    n = os.path.basename(devs[v["disk"]]); p = "/sys/block/%s/%sp%d" % (n, n, v["partno"])
    if not os.path.exists(p):
        print("no kernel partition", p); bad += 1; continue
    start = int(open(p + "/start").read()) * 512; size = int(open(p + "/size").read()) * 512
    seen += 1
    if (start, size) != (v["offset"], v["length"]):
        print(v["name"], "kernel", start, size, "discovery", v["offset"], v["length"]); bad += 1
open("kparts", "w").write("%d %d" % (bad, seen))
EOF
is "$(cat kparts)" "0 8" "the kernel's 8 partitions of /dev/nbdN equal discovery's (number, offset, size)"
is "$(grep '^device ' all.out | awk '{print $2, $3}' | sort | tr '\n' ' ')" \
   "d0p1 ${NBDS[0]}p1 d0p2 ${NBDS[0]}p2 d0p5 ${NBDS[0]}p5 d1p1 ${NBDS[1]}p1 d1p2 ${NBDS[1]}p2 d1p3 ${NBDS[1]}p3 d2 ${NBDS[2]} " \
   "each volume mounts from its kernel partition (or the whole /dev/nbdN)"
is "$(pgrep -af vixmount-fuse | grep -cF "$d/rt/")" 0 "no FUSE bridge runs on the kernel bridge"
is "$(pgrep -a nbdkit | grep -F "$d/rt/" | grep -c -- 'cow=true')" 1 \
  "one nbdkit serves the read-only set, as copy-on-write exports (cow=true)"
is "$(pgrep -a nbdkit | grep -F "$d/rt/" | grep -c -- ' -r ')" 0 "... which the kernel may write (journal replay)"
fi
# parallel readers on the set's mounts
find "$(mounted_at all.out d0p1)" "$(mounted_at all.out d1p3)" "$(mounted_at all.out d0p2)" -type f ! -path '*lost+found*' \
  | xargs -P 8 -n 1 sha256sum > par.sums 2>&1
ok $? "parallel readers ($(wc -l < par.sums) files, 8 at a time)"
release all.out
is "$(grep -c '^dismounted' all.out)" 7 "DismountVolume(force) of every mounted volume"
grep -q '^closed 0$' all.out; ok $? "CloseDiskSet"
is "$(leftovers)" "" "nothing left: no mount, loop device or process of the set"
[ -z "$(ls "$d/rt/vixmount")" ]; ok $? "the set's directory is gone"
is "$(vmdk_sums)" "$sums0" "the VMDK files are unchanged after a read-only set"

# --- 2. read-write: a change persists and a later read-only open sees it
run_client rw.out --rw --mount d0p1:rw --mount d2:rw A.vmdk C.vmdk
m=$(mounted_at rw.out d0p1)
grep -q " $m ext4 rw," /proc/mounts; ok $? "read-write mount of an ext4 volume"
if [ $KERNEL = 0 ]; then
is "$(pgrep -a vixmount-fuse | grep -F "$d/rt/" | grep -c -- '--vmdk\|--cow')" 0 \
  "a read-write set's bridge reads and writes through nbdkit only (no --vmdk, no --cow)"
else
is "$(pgrep -a nbdkit | grep -F "$d/rt/" | grep -c -- 'cow=true')" 0 "a read-write set's nbdkit writes the VMDKs (no cow=true)"
fi
is "$(pgrep -a nbdkit | grep -F "$d/rt/" | grep -vc -- ' -r ')" 1 "a read-write set runs one nbdkit, writable (no -r)"
echo "written through vixmount" > "$m/new.txt"; ok $? "write a file into it"
echo "and the flat disk" > "$(mounted_at rw.out d2)/new2.txt"
release rw.out
qemu-img check -q A.vmdk; ok $? "qemu-img check A.vmdk after the read-write set"
run_client ro2.out --mount d0p1 --mount d2 A.vmdk C.vmdk
is "$(cat "$(mounted_at ro2.out d0p1)/new.txt")" "written through vixmount" "a later read-only open sees the file (monolithicSparse)"
is "$(cat "$(mounted_at ro2.out d2)/new2.txt")" "and the flat disk" "and on the twoGbMaxExtentFlat disk"
release ro2.out

# --- 2a. a read-only mount in a read-write set: a read-only device under it
# (a read-only loop device; on the kernel bridge a read-only dm table), so
# not even a journal replay reaches the disk
run_client rwro.out --rw --mount d0p1 A.vmdk
dev=$(device_of rwro.out d0p1)
is "$(cat "/sys/class/block/${dev#/dev/}/ro" 2>/dev/null)" 1 "read-only mount of a read-write set: its device $dev is read-only"
is "$(cat "$(mounted_at rwro.out d0p1)/new.txt" 2>/dev/null)" "written through vixmount" "... and reads the volume"
if [ $KERNEL = 1 ]; then
  dmname=$(cat "/sys/class/block/${dev#/dev/}/dm/name" 2>/dev/null)
  case $dmname in vixmount-set-*-d0p1) ok 0 "it is a private device-mapper table ($dmname)";; *) ok 1 "dm name '$dmname'";; esac
  n0=$(grep '^bridge ' rwro.out | awk '{print $5}' | cut -d, -f1)
  is "$(dmsetup table "$dmname" 2>/dev/null | awk '{print $3, $4, $5}')" "linear $(cat "/sys/class/block/${n0#/dev/}p1/dev") 0" \
     "its table is one linear target over the kernel's partition ${n0}p1 (not the disk: that would stop other partitions' mounts)"
fi
release rwro.out
is "$(leftovers)" "" "after CloseDiskSet nothing of it is left (mount, device, process)"

# --- 2b. a set from disks the caller opened with VixDiskLib_Open
run_client h.out --handles --mount d0p1 --mount d1p2 A.vmdk B.vmdk
grep -q '^ready$' h.out; ok $? "VixDiskLib_Open + VixMntapi_OpenDiskSet"
is "$(cat "$(mounted_at h.out d0p1)/new.txt" 2>/dev/null)" "written through vixmount" "its volumes mount and read"
m=$(mounted_at h.out d1p2)
is "$(sha256sum < "$m/big.bin" | cut -c1-64)" "$(awk '$1 == "d1p2" && $2 == "big.bin" {print $3}' manifest)" \
   "a second disk of the set reads right"
release h.out
grep -q '^closed 0$' h.out; ok $? "CloseDiskSet, then the caller closes its VixDiskLib handles"

# --- 3. dirty journals: copies of ext4 and xfs taken while mounted
truncate -s 96M D.raw
printf 'start=2048, size=65536, type=83\nstart=67584, type=83\n' | sfdisk -q D.raw
part D.raw 2048 65536; l1=$l; part D.raw 67584 $((96 * 2048 - 67584)); l2=$l
mkfs.ext4 -q -L dirty4 "$l1" && mkfs.xfs -q -L dirtyx "$l2"
mkdir -p m1 m2 && mount "$l1" m1 && mount "$l2" m2
echo "journalled ext4" > m1/j.txt; echo "journalled xfs" > m2/j.txt; sync
cp --sparse=always D.raw Ddirty.raw      # the image as a crash would leave it
umount m1 m2; cleanup_loops; LOOPS=()
r1=$(losetup -r -f --show -o $((2048 * 512)) --sizelimit $((65536 * 512)) Ddirty.raw); LOOPS+=("$r1")
r2=$(losetup -r -f --show -o $((67584 * 512)) Ddirty.raw); LOOPS+=("$r2")
mount -t ext4 -o ro "$r1" m1 2>/dev/null; e1=$?; umount m1 2>/dev/null
mount -t xfs -o ro "$r2" m2 2>/dev/null; e2=$?; umount m2 2>/dev/null
cleanup_loops; LOOPS=()
[ $e1 -ne 0 ] && [ $e2 -ne 0 ]
ok $? "control: both copies need journal recovery (a plain read-only mount of a read-only device fails)"
qemu-img convert -f raw -O vmdk Ddirty.raw D.vmdk
dsum=$(sha256sum < D.vmdk)
run_client dirty.out --mount-all D.vmdk
sync; echo 3 > /proc/sys/vm/drop_caches   # replayed blocks must come back from the overlay
is "$(cat "$(mounted_at dirty.out d0p1)/j.txt" 2>/dev/null)" "journalled ext4" "dirty ext4 mounts read-only (journal replayed into the overlay)"
is "$(cat "$(mounted_at dirty.out d0p2)/j.txt" 2>/dev/null)" "journalled xfs" "dirty xfs mounts read-only (log replayed into the overlay)"
release dirty.out
is "$(sha256sum < D.vmdk)" "$dsum" "the VMDK file is unchanged"

# --- 4. two sets at once; a second read-write open is refused
run_client s1.out --mount d0p1 A.vmdk
run_client s2.out --mount d0p2 B.vmdk      # alone in its set, B is disk 0
grep -q '^ready$' s1.out && grep -q '^ready$' s2.out; ok $? "two disk sets open at once"
find "$(mounted_at s1.out d0p1)" "$(mounted_at s2.out d0p2)" -name '*.bin' | xargs -P 6 -n 1 sha256sum | cut -c1-64 | sort > two.sums
grep -E '^d0p1 |^d1p2 ' manifest | grep '\.bin ' | awk '{print $3}' | sort > two.want
is "$(cat two.sums)" "$(cat two.want)" "parallel readers across both sets get the right data" ||
  diag "s1: $(grep -v '^{' s1.out | tr '\n' ' ') s2: $(grep -v '^{' s2.out | tr '\n' ' ')"
release s1.out; release s2.out
run_client w1.out --rw A.vmdk
"$CLIENT" --rw A.vmdk > w2.out 2> w2.err
is "$(awk '/^open-failed/ {print $2}' w2.out)" 15 "a second read-write open fails with VIX_E_FILE_ALREADY_LOCKED"
grep -q "in use by process ${CPID[w1.out]}" w2.err; ok $? "its message names the holder's pid: $(grep -m1 -o 'in use by process [0-9]* ([^)]*)' w2.err)" ||
  diag "$(cat w2.err)"
"$CLIENT" A.vmdk > r2.out 2>&1
is "$(awk '/^open-failed/ {print $2}' r2.out)" 15 "a read-only open is refused while it is open read-write"
release w1.out
"$CLIENT" --twice A.vmdk > tw.out 2>&1
is "$(awk '/^second-open/ {print $2}' tw.out)" 0 "two read-only sets of one disk share it"

# --- 4b. many disks in one set; a snapshot link opened as a single link
for i in 0 1 2 3 4 5 6 7 8; do qemu-img create -q -f vmdk "e$i.vmdk" 1M; done
cp A.vmdk Abase.vmdk
qemu-img create -q -f vmdk -b Abase.vmdk -F vmdk Achild.vmdk
"$CLIENT" e?.vmdk > many.out 2> many.err
grep -q '^closed 0$' many.out && grep -q 'OpenDisks: 9 disk(s), 0 volume(s), read-only' many.err
ok $? "a read-only set of 9 empty disks opens and closes (one bridge, 9 local exports)"
"$CLIENT" Achild.vmdk > chain.out 2>&1
is "$(awk '/^volumes/ {print $2}' chain.out)" 6 "a snapshot link shows its parent's 6 MBR volumes"
run_client sl.out --single-link Achild.vmdk
if [ $KERNEL = 0 ]; then
is "$(pgrep -a vixmount-fuse | grep -F "$d/rt/" | grep -c -- "--single-link .*--vmdk d0=$d/Achild.vmdk")" 1 \
  "VIXDISKLIB_FLAG_OPEN_SINGLE_LINK (read-only): the bridge opens the link alone (--single-link)"
else
is "$(pgrep -a nbdkit | grep -F "$d/rt/" | grep -c -- "single-link=true.*file=$d/Achild.vmdk")" 1 \
  "VIXDISKLIB_FLAG_OPEN_SINGLE_LINK (read-only): nbdkit serves the link alone (single-link=true)"
fi
release sl.out
for rw in "" --rw; do
  "$CLIENT" $rw --single-link Achild.vmdk > single.out 2>&1
  is "$(awk '/^volumes/ {print $2}' single.out) $(awk '/^set/ {print $2}' single.out)" \
    "0 openFlags=$([ -n "$rw" ] && echo 2 || echo 6)" \
    "VIXDISKLIB_FLAG_OPEN_SINGLE_LINK${rw:+ (read-write)}: the link alone holds no volume"
done

# --- 5. SIGKILL: the next Init (or vixmount-cleanup) removes what is left
for how in init command; do
  run_client k.out --mount-all A.vmdk
  grep -q '^ready$' k.out; ok $? "[$how] set with mounts open"
  kill -9 "${CPID[k.out]}"; wait "${CPID[k.out]}" 2>/dev/null
  v="FD_k_out"; eval "exec ${!v}>&-"; CLIENT_FDS=()
  [ -n "$(leftovers)" ]; ok $? "[$how] after SIGKILL the mounts are still there"
  if [ $how = init ]; then
    "$CLIENT" C.vmdk > next.out 2> next.err
    grep -q 'removed 1 disk set' next.err; ok $? "the next Init cleans up: $(grep -m1 -o 'removed .*died' next.err)"
  else
    out=$("$top_builddir/vixmount-cleanup" "$d/rt"); ok $? "vixmount-cleanup: $out"
  fi
  is "$(leftovers)" "" "[$how] no mount, loop device or process is left"
  [ -z "$(ls "$d/rt/vixmount")" ]; ok $? "[$how] no set directory is left"
done

cleanup_loops; LOOPS=()
is "$(losetup -a | grep -c "$d/" || true)" 0 "no loop device over this test's images is left attached"
done_testing

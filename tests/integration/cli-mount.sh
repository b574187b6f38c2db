#!/bin/bash
# vixmount list / inspect / mount / umount / status / cleanup, as root, on a
# guest's two disks (MBR: ext4, vfat, swap; GPT: ext4 with a partition name,
# an empty partition):
#  - list and inspect, table (--bytes) and JSON: every volume's id, type,
#    start, size, filesystem, label and UUID equal sfdisk and blkid on the
#    raw images; the JSON is valid against docs/vixmount.schema.json;
#  - `vixmount mount` returns and leaves a working mount (the files' sha256,
#    read-only mount options), two at once, by id and by LABEL=; status
#    lists them; `vixmount umount` leaves no mount, loop device, process,
#    set directory or registry entry behind;
#  - --rw writes reach the VMDK, and lock the disk for everyone else;
#  - a mount process killed with SIGKILL: status says "dead", `vixmount
#    cleanup` (or `vixmount umount`) removes everything; SIGTERM unmounts;
#  - mount --guest: the guest's tree as its fstab has it (/ on DIR,
#    DIR/boot/efi, DIR/home from the second disk), read-only or --rw;
#    status, a busy umount that leaves the tree whole, umount, cleanup
#    of nested mounts after SIGKILL; a missing mount point directory or a
#    symlink in the guest is skipped with a warning; no OS: the reason;
#  - every error a user can meet: missing file, not a VMDK, locked disk,
#    unknown volume, a volume that cannot be mounted, DIR not empty / not a
#    directory / missing / a mount point already, busy at umount, not root.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/cli.sh"
need sfdisk sgdisk mkfs.ext4 mkfs.vfat mkswap mcopy blkid qemu-img python3 jq setpriv flock
require_root "loop devices, mounts"
. "$top_srcdir/tests/lib/plugin.sh"      # nbdkit_wrap: nbdkit of read-write sets
d=$(scratch)
cd "$d" || bail "cd"
chmod 755 "$TEST_TMP" "$d"          # the non-root checks reach the files
mkdir rt
nbdkit_wrap "$d"
printf 'tmpDirectory = "%s/rt"\n' "$d" > vix.conf
export VIXMOUNT_RUNDIR=$d/run       # this test's registry of mount processes
C=(--config "$d/vix.conf")
SETS=$d/rt/vixmount

# whatever happens: the mount processes end, their sets are cleaned up
stop_all() {
  local f
  for f in "$VIXMOUNT_RUNDIR"/*.info; do
    [ -e "$f" ] && kill -9 "$(basename "$f" .info)" 2>/dev/null
  done
  sleep 0.2
  VX cleanup "$d/rt" > /dev/null 2>&1
  grep -o " $d/[^ ]*" /proc/mounts | xargs -r -n1 umount -l 2>/dev/null
}
on_exit stop_all
LOOPS=()
cleanup_loops() { local l; for l in "${LOOPS[@]}"; do umount "$l" 2>/dev/null; losetup -d "$l" 2>/dev/null; done; }
on_exit cleanup_loops
part() { l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"; LOOPS+=("$l"); }

# ---- the guest's disks --------------------------------------------------------------
mkdir m
truncate -s 96M A.raw
sfdisk -q A.raw <<'EOF' || bail "sfdisk"
label: dos
start=2048, size=81920, type=83
start=83968, size=65536, type=c
start=149504, type=82
EOF
part A.raw 2048 81920; mkfs.ext4 -q -L rootfs "$l" || bail mkfs
mount "$l" m && mkdir -p m/etc m/home/user m/boot/efi && echo "restored from a backup" > m/home/user/notes.txt \
  && head -c 2000000 /dev/urandom > m/home/user/photo.bin && printf 'NAME="Debian GNU/Linux"\nID=debian\nVERSION_ID="12"\n' > m/etc/os-release \
  && printf 'LABEL=rootfs / ext4 defaults 0 1\nLABEL=BOOT /boot/efi vfat umask=0077 0 1\nPARTLABEL=home /home ext4 defaults 0 2\nLABEL=swp none swap sw 0 0\n' > m/etc/fstab \
  && echo cliguest > m/etc/hostname && umount m || bail "fill ext4"
part A.raw 83968 65536; mkfs.vfat -n BOOT "$l" > /dev/null || bail mkfs.vfat
mkdir -p src/EFI && echo "boot loader" > src/EFI/grub.cfg && mcopy -s -i "A.raw@@$((83968 * 512))" src/* ::/ || bail mcopy
part A.raw 149504 $((96 * 2048 - 149504)); mkswap -q -L swp "$l" || bail mkswap
truncate -s 48M B.raw
sgdisk -n 1:2048:+32M -t 1:8300 -c 1:home -n 2:0:0 -t 2:8300 -c 2:spare B.raw > /dev/null || bail sgdisk
b1=$(sfdisk --json B.raw | jq -r '.partitiontable.partitions[0] | "\(.start) \(.size)"')
part B.raw $b1; mkfs.ext4 -q -L home "$l" || bail mkfs
mount "$l" m && echo "second disk" > m/hello.txt && umount m || bail "fill B"
cleanup_loops; LOOPS=()
notes_sum=$(echo "restored from a backup" | sha256sum | cut -c1-64)
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse A.raw A.vmdk || bail convert
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized B.raw B.vmdk || bail convert
echo "no disk here" > notvmdk.vmdk
sums0=$(sha256sum A.vmdk B.vmdk)

# expected volumes, from sfdisk and blkid on the raw images
python3 - > expected.json <<'EOF'
import json, subprocess
def blkid(img, off, size):
    out = subprocess.run(["blkid", "-p", "-o", "export", "-O", str(off), "-S", str(size), img],
                         capture_output=True, text=True).stdout
    kv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
    return kv.get("TYPE"), kv.get("LABEL"), kv.get("UUID")
vols = []
for disk, (img, kind) in enumerate([("A.raw", "mbr"), ("B.raw", "gpt")]):
    pt = json.loads(subprocess.run(["sfdisk", "--json", img], capture_output=True, text=True).stdout)["partitiontable"]
    for p in pt["partitions"]:
        n = int(p["node"].rsplit(img, 1)[1])
        off, size = p["start"] * 512, p["size"] * 512
        fs, label, uuid = blkid(img, off, size)
        vols.append({"id": "d%dp%d" % (disk, n), "type": kind, "disk": disk, "partition": n,
                     "start": off, "size": size, "filesystem": fs, "label": label, "uuid": uuid})
print(json.dumps(vols))
EOF
is "$(jq length expected.json)" 5 "sfdisk finds 5 partitions on the two raw disks"

# ---- list ---------------------------------------------------------------------------
run VX list "${C[@]}" --json A.vmdk B.vmdk
is "$rc:$err" "0:" "list --json: exit 0, nothing on stderr"
schema_ok list "list --json"
is "$(jq -c '[.volumes[] | {"id": .id, "type": .type, "disk": .disk, "partition": .partition, "start": .start,
                              "size": .size, "filesystem": .filesystem, "label": .label, "uuid": .uuid}]' <<< "$out")" \
   "$(jq -c . expected.json)" "list --json: id, type, disk, partition, start, size, filesystem, label, uuid of every volume = sfdisk + blkid"
is "$(jq -c .disks <<< "$out")" "[\"$d/A.vmdk\",\"$d/B.vmdk\"]" "list --json: the disks, absolute"
is "$(jq -r '.volumes[] | "\(.id):\(.mountable):\(.notMountableReason)"' <<< "$out" | tr '\n' ' ')" \
   "d0p1:true:null d0p2:true:null d0p3:false:swap space d1p1:true:null d1p2:false:no filesystem found " \
   "list --json: mountable, and why not (swap, no filesystem)"
is "$(jq -r '.volumes[] | "\(.partitionType) \(.partitionName)"' <<< "$out" | tr '\n' ,)" \
   "0x83 null,0x0c null,0x82 null,0fc63daf-8483-4772-8e79-3d69d8477de4 home,0fc63daf-8483-4772-8e79-3d69d8477de4 spare," \
   "list --json: partition types and GPT names"
list_json=$out
run VX list "${C[@]}" --bytes A.vmdk B.vmdk
is "$rc:$err" "0:" "list --bytes: exit 0, nothing on stderr"
is "$(head -1 <<< "$out")" "VOLUME  TYPE     START      SIZE  FILESYSTEM  LABEL   UUID                                  GUEST MOUNT POINT  NOTE" \
   "list: the table's header"
want=$(jq -r '.[] | [.id, .type, .start, .size, (.filesystem // "-"), (.label // "-"), (.uuid // "-")] | join(" ")' expected.json)
is "$(tail -n +2 <<< "$out" | awk '{print $1, $2, $3, $4, $5, $6, $7}')" "$want" \
   "list --bytes: every row's volume, type, start, size, filesystem, label, UUID = sfdisk + blkid"
is "$(awk 'NR > 1 {print $NF}' <<< "$out" | tr '\n' ' ')" "/ /boot/efi space /home found " "list: the guest's mount points, and the NOTE column says why a volume cannot be mounted"
run VX list "${C[@]}" A.vmdk
is "$rc:$err" "0:" "list: exit 0, nothing on stderr"
is "$(awk 'NR > 1 {print $1, $3, $4}' <<< "$out" | tr '\n' ,)" "d0p1 1.0M 40M,d0p2 41M 32M,d0p3 73M 23M," \
   "list: sizes for people (K/M/G) without --bytes"

# ---- inspect ------------------------------------------------------------------------
run VX inspect "${C[@]}" --json A.vmdk B.vmdk
is "$rc" 0 "inspect --json: exit 0"
schema_ok inspect "inspect --json"
is "$(jq -c '[.osInspection.available, .osInspection.error, .osInspection.notes, .os.family, .os.vendor, .os.majorVersion, .os.distribution, .os.hostname, .os.systemVolume]' <<< "$out")" \
   '[true,null,[],"other","Debian GNU/Linux",12,"debian","cliguest","d0p1"]' \
   "inspect --json: the guest's OS, from its os-release and hostname"
is "$(jq -r '.volumes[] | "\(.id)=\(.guestMountPoints | join(","))"' <<< "$out" | tr '\n' ' ')" \
   "d0p1=/ d0p2=/boot/efi d0p3= d1p1=/home d1p2= " "inspect --json: each volume's guest mount points, from the guest's fstab (LABEL=, PARTLABEL=)"
is "$(jq -c .volumes <<< "$out")" "$(jq -c .volumes <<< "$list_json")" "inspect --json: the volumes of list --json"
run VX inspect "${C[@]}" A.vmdk B.vmdk
is "$(sed -n 1,5p <<< "$out")" "Disks:
  d0  $d/A.vmdk
  d1  $d/B.vmdk
Operating system:
  family:        other (32-bit)" \
   "inspect: the disks and the OS field"
is "$(sed -n '/^Volumes:/,$p' <<< "$out" | tail -n +2 | sed 's/^  //')" "$(VX list "${C[@]}" A.vmdk B.vmdk)" \
   "inspect: the volume table of list"

# ---- mount, status, umount ----------------------------------------------------------
leftovers() {  # what of this test's sets is still there
  { grep -F " $d/" /proc/mounts; losetup -a | grep -F "$SETS"; pgrep -af "$SETS" | grep -v pgrep
    ls "$SETS" 2>/dev/null; ls "$VIXMOUNT_RUNDIR"
    if [ "${VIXMOUNT_BRIDGE:-}" = kernel ]; then   # the guest runs this test alone
      for p in /sys/block/nbd*/pid; do [ -e "$p" ] && echo "connected ${p%/pid}"; done
      dmsetup ls 2>/dev/null | grep '^vixmount-'
    fi; } 2>/dev/null
}
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
mkdir m1 m2
out=$(timeout 60 "$VIXMOUNT" mount "${C[@]}" A.vmdk B.vmdk d0p1 m1 2>&1); rc=$?
is "$rc:$out" "0:" "mount A.vmdk B.vmdk d0p1 m1: exit 0, silent, returns (holds no pipe of the caller)"
pid1=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
alive "$pid1"; ok $? "the mount process ($pid1) runs on after the command"
[ "$(ps -o tty= -p "$pid1" | tr -d ' ')" = "?" ] && [ "$(ps -o sid= -p "$pid1" | tr -d ' ')" != "$pid1" ]
ok $? "it is detached: a session of its own, no terminal, no session leader"
is "$(sha256sum < m1/home/user/notes.txt | cut -c1-64)" "$notes_sum" "a file read through the mount has the guest's content"
is "$(stat -c %s m1/home/user/photo.bin)" 2000000 "and its size"
opts=$(awk -v m="$d/m1" '$2 == m {print $3, $4}' /proc/mounts)
case ",${opts#* }," in *,ro,*nosuid*nodev*noexec*) ok 0 "m1: ext4, read-only, nosuid,nodev,noexec ($opts)";; *) ok 1 "m1 options: $opts";; esac
run VX mount -v "${C[@]}" A.vmdk LABEL=BOOT m2
is "$rc" 0 "mount by LABEL=BOOT on m2, while m1 is mounted (shared locks)"
is "$(tail -1 <<< "$err")" "vixmount: d0p2 (vfat) of $d/A.vmdk mounted read-only on $d/m2 (process $(basename "$(ls -t "$VIXMOUNT_RUNDIR"/*.info | head -1)" .info))" \
   "mount -v says what it mounted"
is "$(cat m2/EFI/grub.cfg)" "boot loader" "a file of the vfat volume"
run VX list "${C[@]}" A.vmdk
is "$rc" 0 "list works while volumes of the disk are mounted read-only"
run VX status --json
schema_ok status "status --json"
is "$(jq -c '[.mounts[] | [.dir, .volume, .filesystem, .readOnly, .state, .disks]]' <<< "$out")" \
   "[[\"$d/m1\",\"d0p1\",\"ext4\",true,\"mounted\",[\"$d/A.vmdk\",\"$d/B.vmdk\"]],[\"$d/m2\",\"d0p2\",\"vfat\",true,\"mounted\",[\"$d/A.vmdk\"]]]" \
   "status --json: both mounts, sorted by directory"
set1=$(jq -r '.mounts[0].set' <<< "$out")
is "$(jq -r '.mounts[0].pid' <<< "$out")" "$pid1" "status --json: the process holding m1"
case $set1 in "$SETS/set-$pid1-"*) ok 0 "its set directory is the set of that process under tmpDirectory";; *) ok 1 "set $set1";; esac
run VX status
is "$(awk '{print $1, $2, $3, $4, $5, $6, $7}' <<< "$out")" "DIR VOLUME FILESYSTEM MODE STATE PID DISKS
$d/m1 d0p1 ext4 ro mounted $pid1 $d/A.vmdk,$d/B.vmdk
$d/m2 d0p2 vfat ro mounted $(jq -r '.mounts[1].pid' <<< "$(VX status --json)") $d/A.vmdk" "status: the table"

# busy: a process has its cwd in m1
( cd m1/home && exec sleep 60 ) & busy=$!
on_exit "kill $busy"
sleep 0.3
fails 1 "vixmount: $d/m1: Device or resource busy (files are open there: close them, or use vixmount umount --force)" \
  "umount of a busy mount" VX umount m1
grep -q " $d/m1 " /proc/mounts; ok $? "the busy mount stays"
alive "$pid1"; ok $? "and so does its process"
kill $busy; wait $busy 2>/dev/null
run VX umount m1
is "$rc:$out:$err" "0::" "umount m1: exit 0, silent"
alive "$pid1"; ok $((! $?)) "the mount process has ended when umount returns"
run VX umount "$d/m2/"
is "$rc" 0 "umount m2 (given with a trailing slash)"
is "$(leftovers)" "" "after umount: no mount, loop device, process, set directory or registry entry left"
is "$(sha256sum A.vmdk B.vmdk)" "$sums0" "read-only mounts left the VMDK files unchanged"
[ -z "$(ls -A m1)$(ls -A m2)" ]; ok $? "m1 and m2 are empty directories again"
fails 1 "vixmount: m1: not mounted by vixmount" "umount of a directory vixmount did not mount" VX umount m1

# read-write: the change reaches the disk, and the disk is locked meanwhile
run VX mount --rw "${C[@]}" A.vmdk d0p1 m1
is "$rc" 0 "mount --rw" || bail "mount --rw: $err"
grep -q " $d/m1 ext4 rw," /proc/mounts; ok $? "m1 is mounted read-write"
echo "written by vixmount" > m1/new.txt; ok $? "write a file into it"
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
fails 1 "vixmount: $d/A.vmdk: in use by process $pid (vixmount) (opened read-write); cannot open it while it is being written [VMDK_ERR_LOCKED]" \
  "list of a disk mounted read-write elsewhere (locked disk)" VX list "${C[@]}" A.vmdk
fails 1 "vixmount: $d/A.vmdk: in use by process $pid (vixmount) (opened read-write); cannot open it while it is being written [VMDK_ERR_LOCKED]" \
  "mount of a locked disk" VX mount "${C[@]}" A.vmdk B.vmdk d1p1 m2
is "$(VX status --json | jq -r '.mounts[0].readOnly')" false "status --json: readOnly false"
run VX umount m1
is "$rc" 0 "umount of the read-write mount"
qemu-img check -q A.vmdk; ok $? "qemu-img check A.vmdk after the read-write mount"
run VX mount "${C[@]}" A.vmdk UUID="$(jq -r '.[0].uuid' expected.json | tr a-f A-F)" m1
is "$rc:$(cat m1/new.txt 2>&1)" "0:written by vixmount" "a later read-only mount (by UUID=, any case) sees the file"
VX umount m1

# --force: a busy mount is detached; the rest goes when the last file closes
VX mount "${C[@]}" A.vmdk d0p1 m1
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
( cd m1/home && exec sleep 60 ) & busy=$!
on_exit "kill $busy"
sleep 0.3
run VX umount --force m1
is "$rc:$err" "0:" "umount --force of a busy mount: exit 0"
grep -q " $d/m1 " /proc/mounts; ok $((! $?)) "m1 is no mount any more"
alive "$pid"; ok $((! $?)) "the mount process has ended"
kill $busy; wait $busy 2>/dev/null
for _ in $(seq 50); do [ -z "$(leftovers)" ] && break; sleep 0.1; done
is "$(leftovers)" "" "once the busy process is gone, nothing is left"

# SIGTERM: the process unmounts and releases everything
VX mount "${C[@]}" A.vmdk d0p1 m1
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
kill -TERM "$pid"
for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
is "$(leftovers)" "" "SIGTERM to the mount process: it unmounts and leaves nothing"

# SIGKILL: a leftover; status says so; cleanup removes it
VX mount "${C[@]}" A.vmdk d0p1 m1
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
kill -KILL "$pid"
for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
run VX status --json
schema_ok status "status --json with a dead process"
is "$(jq -r '.mounts[0].state' <<< "$out")" dead "status --json: state dead"
run VX status
is "$err" "vixmount: $d/m1: its mount process died; run vixmount cleanup" "status says what to do"
run VX cleanup "${C[@]}"
[[ $err == "VixMntapi: cleaning up $SETS/set-$pid-"*" left behind by process $pid" ]]
ok $? "cleanup says what it cleans up (the library's message): $err"
is "$rc:$out" "0:removed the mount of $d/m1 (its process $pid had died)
1 disk set cleaned up" "cleanup: the dead process's mount and set"
is "$(leftovers)" "" "after cleanup: nothing left (the mount on m1 too)"
VX mount "${C[@]}" A.vmdk d0p1 m1
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
kill -KILL "$pid"
for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
fails 0 "glob:VixMntapi: cleaning up $SETS/set-$pid-* left behind by process $pid
vixmount: m1: its mount process ($pid) had died; what it left is cleaned up" \
  "umount after the mount process was killed" VX umount m1
is "$(leftovers)" "" "and nothing is left"

# ---- mount --guest: the guest's tree, as the guest mounts it -----------------------
# "DIR FLAGS" of each mount at or below $1, in /proc/mounts order; FLAGS: those
# of ro, rw, nosuid, nodev, noexec it has
tree() {
  awk -v m="$1" '$2 == m || index($2, m "/") == 1 {print $2, $4}' /proc/mounts |
    while read -r mp o; do
      f=; for x in ro rw nosuid nodev noexec; do [[ ,$o, == *,$x,* ]] && f+=,$x; done
      echo "$mp ${f#,}"
    done
}
run VX mount --guest -v "${C[@]}" A.vmdk B.vmdk m1
is "$rc" 0 "mount --guest A.vmdk B.vmdk m1" || bail "mount --guest: $err"
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
is "$(tail -4 <<< "$err")" "vixmount: the guest of $d/A.vmdk mounted read-only on $d/m1 (process $pid):
vixmount:   d0p1 (ext4) on $d/m1
vixmount:   d0p2 (vfat) on $d/m1/boot/efi
vixmount:   d1p1 (ext4) on $d/m1/home" "mount --guest -v: what is mounted where"
is "$(cat m1/etc/hostname)" cliguest "m1 is the guest's root (its /etc/hostname)"
is "$(cat m1/home/hello.txt)" "second disk" "m1/home is the second disk's volume (PARTLABEL=home)"
is "$(cat m1/boot/efi/EFI/grub.cfg)" "boot loader" "m1/boot/efi is the vfat volume (LABEL=BOOT)"
is "$(tree "$d/m1")" "$d/m1 ro,nosuid,nodev,noexec
$d/m1/boot/efi ro,nosuid,nodev,noexec
$d/m1/home ro,nosuid,nodev,noexec" "/proc/mounts: the tree, parents first, each read-only nosuid,nodev,noexec"
run VX status --json
schema_ok status "status --json of a guest mount"
is "$(jq -c '.mounts[] | [.dir, .volume, .filesystem, .readOnly, .state, .pid, .disks]' <<< "$out")" \
   "[\"$d/m1\",\"guest:d0p1,d0p2,d1p1\",\"ext4,vfat,ext4\",true,\"mounted\",$pid,[\"$d/A.vmdk\",\"$d/B.vmdk\"]]" \
   "status --json: one mount, its volumes and filesystems"
is "$(jq -c '[.mounts[0].guestMounts[] | [.mountPoint, .dir, .volume, .filesystem]]' <<< "$out")" \
   "[[\"/\",\"$d/m1\",\"d0p1\",\"ext4\"],[\"/boot/efi\",\"$d/m1/boot/efi\",\"d0p2\",\"vfat\"],[\"/home\",\"$d/m1/home\",\"d1p1\",\"ext4\"]]" \
   "status --json: guestMounts, the guest's mount point and the directory of each"
run VX status
is "$(awk 'NR > 1 {print $1, $2, $3, $4, $5, $6, $7}' <<< "$out")" \
   "$d/m1 guest:d0p1,d0p2,d1p1 ext4,vfat,ext4 ro mounted $pid $d/A.vmdk,$d/B.vmdk" "status: the guest mount's row"
fails 1 "vixmount: m1/home: part of the guest mount on $d/m1 (vixmount umount $d/m1 unmounts all of it)" \
  "umount of a directory inside a guest mount" VX umount m1/home
( cd m1/etc && exec sleep 60 ) & busy=$!
on_exit "kill $busy"
sleep 0.3
fails 1 "vixmount: $d/m1: Device or resource busy (files are open there: close them, or use vixmount umount --force)" \
  "umount of a guest mount whose root is busy" VX umount m1
is "$(tree "$d/m1" | cut -d' ' -f1 | tr '\n' ' ')" "$d/m1 $d/m1/boot/efi $d/m1/home " \
  "the refused umount leaves the tree whole (the children are mounted again)"
is "$(cat m1/home/hello.txt)" "second disk" "and m1/home still shows the second disk"
kill $busy; wait $busy 2>/dev/null
run VX umount m1
is "$rc:$out:$err" "0::" "umount m1 of the guest mount: exit 0, silent"
is "$(leftovers)" "" "after umount of the guest mount: no mount, loop device, process, set or entry left"

# SIGKILL: cleanup removes the nested mounts (the deepest first)
VX mount --guest "${C[@]}" A.vmdk B.vmdk m1 || bail "mount --guest"
pid=$(basename "$(ls "$VIXMOUNT_RUNDIR"/*.info)" .info)
kill -KILL "$pid"
for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
is "$(tree "$d/m1" | wc -l)" 3 "the killed process's guest tree is still mounted"
run VX cleanup "${C[@]}"
is "$rc:$out" "0:removed the mount of $d/m1 (its process $pid had died)
1 disk set cleaned up" "cleanup after the guest mount's process was killed"
[[ $err != *"cannot unmount"* ]]; ok $? "cleanup unmounted every directory of the tree: $err"
is "$(tree "$d/m1")" "" "/proc/mounts has nothing at or below m1"
is "$(leftovers)" "" "after cleanup: nothing left"

# --rw: the guest's tree read-write (B.vmdk is streamOptimized, read-only: A alone)
run VX mount --guest --rw "${C[@]}" A.vmdk m1
is "$rc:$err" "0:" "mount --guest --rw A.vmdk m1" || bail "mount --guest --rw: $err"
is "$(tree "$d/m1")" "$d/m1 rw,nosuid,nodev
$d/m1/boot/efi rw,nosuid,nodev" "/proc/mounts: the tree read-write, nosuid,nodev"
echo "root rw" > m1/rw.txt && echo "efi rw" > m1/boot/efi/rw.txt; ok $? "write into the root and into /boot/efi"
run VX umount m1
is "$rc" 0 "umount of the read-write guest mount"
VX mount "${C[@]}" A.vmdk d0p2 m2 && VX mount "${C[@]}" A.vmdk d0p1 m1
is "$(cat m1/rw.txt m2/rw.txt 2>&1)" "root rw
efi rw" "the writes reached both volumes of the disk"
VX umount m1; VX umount m2

# a mount point missing in the guest, one that is a symbolic link: left out
VX mount --rw "${C[@]}" A.vmdk d0p1 m1 && rmdir m1/boot/efi && ln -s /tmp m1/boot/efi && mv m1/home m1/home.old
ok $? "the guest's /boot/efi made a symlink to /tmp, its /home moved away"
VX umount m1
run VX mount --guest "${C[@]}" A.vmdk B.vmdk m1
is "$rc:$err" "0:vixmount: warning: d0p2 not mounted: /boot/efi: a symbolic link in the guest (not followed)
vixmount: warning: d1p1 not mounted: /home: no such directory in the guest" \
  "mount --guest: what has no directory in the guest is left out, with a warning"
is "$(tree "$d/m1")" "$d/m1 ro,nosuid,nodev,noexec" "only the root is mounted (nothing on the host's /tmp)"
is "$(VX status --json | jq -c '[.mounts[0].volume, [.mounts[0].guestMounts[].mountPoint]]')" '["guest:d0p1",["/"]]' \
  "status --json: the root alone"
VX umount m1
is "$(leftovers)" "" "nothing left"

# no operating system
fails 1 "vixmount: no operating system found on the disk set (looked at d0p1 (ext4))" \
  "mount --guest of a disk without an OS" VX mount --guest "${C[@]}" B.vmdk m1
is "$(leftovers)" "" "nothing left after the failed mount --guest"

# ---- what a user can get wrong ---------------------------------------------------------
mkdir full; touch full/x
fails 1 "vixmount: missing.vmdk: No such file or directory" "list of a missing file" VX list missing.vmdk
fails 1 "vixmount: missing.vmdk: No such file or directory" "mount of a missing file" VX mount missing.vmdk d0p1 m1
fails 1 "vixmount: $d/notvmdk.vmdk: not a VMDK: no sparse header magic (KDMV, COWD, seSparse) and no descriptor [VMDK_ERR_NOTVMDK]" \
  "list of a file that is not a VMDK" VX list "${C[@]}" notvmdk.vmdk
fails 1 "vixmount: $d/notvmdk.vmdk: not a VMDK: no sparse header magic (KDMV, COWD, seSparse) and no descriptor [VMDK_ERR_NOTVMDK]" \
  "mount of a file that is not a VMDK" VX mount "${C[@]}" A.vmdk notvmdk.vmdk d0p1 m1
( flock -x 9 && exec sleep 60 ) 9< A.vmdk & holder=$!
on_exit "kill $holder"
for _ in $(seq 50); do flock -n -s A.vmdk true || break; sleep 0.1; done
fails 1 "glob:vixmount: $d/A.vmdk: in use by process * (opened read-write); cannot open it while it is being written [[]VMDK_ERR_LOCKED]" \
  "list of a locked disk" VX list "${C[@]}" A.vmdk
fails 1 "glob:vixmount: $d/A.vmdk: in use by process * (opened read-write); cannot open it while it is being written [[]VMDK_ERR_LOCKED]" \
  "mount of a locked disk" VX mount "${C[@]}" A.vmdk d0p1 m1
kill $holder; wait $holder 2>/dev/null
fails 1 "vixmount: d0p9: no such volume in the disk set (volumes: d0p1, d0p2, d0p3)" "mount of an unknown volume" \
  VX mount "${C[@]}" A.vmdk d0p9 m1
fails 1 "vixmount: LABEL=nope: no such volume in the disk set (volumes: d0p1, d0p2, d0p3)" "mount of an unknown label" \
  VX mount "${C[@]}" A.vmdk LABEL=nope m1
fails 1 "vixmount: $d/A.vmdk: d0p3 cannot be mounted: swap space" "mount of a swap volume" VX mount "${C[@]}" A.vmdk d0p3 m1
fails 1 "vixmount: $d/B.vmdk: d1p2 cannot be mounted: no filesystem found" "mount of an unformatted volume" \
  VX mount "${C[@]}" A.vmdk B.vmdk d1p2 m1
fails 1 "vixmount: full: directory not empty" "mount on a directory that is not empty" VX mount "${C[@]}" A.vmdk d0p1 full
fails 1 "vixmount: A.raw: not a directory" "mount on a file" VX mount "${C[@]}" A.vmdk d0p1 A.raw
fails 1 "vixmount: nodir: No such file or directory" "mount on a missing directory" VX mount "${C[@]}" A.vmdk d0p1 nodir
mount -t tmpfs none m2 && on_exit "umount -l '$d/m2'"
fails 1 "vixmount: m2: something is mounted there already" "mount on a mount point" VX mount "${C[@]}" A.vmdk d0p1 m2
fails 1 "vixmount: m2: not mounted by vixmount (something else is mounted there)" "umount of another mount" VX umount m2
umount m2
fails 1 "vixmount: nodir: No such file or directory" "umount of a missing directory" VX umount nodir
is "$(leftovers)" "" "failed commands leave nothing behind"

# not root
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
for c in list inspect; do
  fails 1 "vixmount: $c needs root (disk sets are read through a FUSE bridge)" "$c as a user who is not root" \
    nobody "$VIXMOUNT" "$c" A.vmdk
done
fails 1 "vixmount: mount needs root (loop devices and mounts)" "mount as a user who is not root" \
  nobody "$VIXMOUNT" mount A.vmdk d0p1 m1
fails 1 "vixmount: umount needs root (mounts and loop devices)" "umount as a user who is not root" \
  nobody "$VIXMOUNT" umount m1
fails 1 "vixmount: cleanup needs root (mounts, loop devices and processes of root)" "cleanup as a user who is not root" \
  nobody "$VIXMOUNT" cleanup
fails 1 "vixmount: $d/run: Permission denied (status needs root)" "status as a user who is not root" \
  nobody "$VIXMOUNT" status
is "$(leftovers)" "" "nothing left at the end"
done_testing

#!/bin/bash
# kernel-smoke.sh: the kernel path's prerequisites, checked INSIDE the test
# guest (make check-vm runs it through tests/vm/run-in-guest): Debian's
# kernel is the one running; nbd, dm-mod, loop, the filesystems and fuse load
# from the host's module tree; devtmpfs makes the device nodes; the kernel
# parses MBR and GPT tables on loop and on nbd devices, with the exact start
# and size of every partition; nbdkit + nbd-client attach an export to
# /dev/nbd0; device-mapper maps a linear table over a partition; and the
# project's own nbdkit plugin serves a monolithicSparse VMDK whose ext4
# partition mounts read-only with the expected file contents.  Everything is
# torn down and the test checks that nothing is left (no nbd connection, no
# dm device, no loop partitions).
. "$top_srcdir/tests/lib/common.sh"
[ -n "${VIXMOUNT_VM:-}" ] || bail "this test runs in the test guest: make check-vm"
need modprobe dmsetup losetup sfdisk sgdisk jq nbdkit nbd-client mkfs.ext4 \
  qemu-img sha256sum blockdev mount umount dd truncate
: "${VIXMOUNT_NBDKIT_PLUGIN:?VIXMOUNT_NBDKIT_PLUGIN unset}"

T=$(scratch)
cd "$T" || bail "cd $T"
SECTOR=512

# partitions as the kernel sees them: "pK START SIZE" per partition of DEV
sys_parts() {
  local dev=$1 p
  for p in /sys/block/"$dev"/"$dev"p*; do
    [ -d "$p" ] || continue
    echo "p${p##*p} $(cat "$p/start") $(cat "$p/size")"
  done | sort -V
}
# partitions as the table in IMAGE says (sfdisk reads MBR and GPT)
table_parts() {
  sfdisk -J "$1" | jq -r '.partitiontable.partitions[]
    | "p\(.node | capture("(?<n>[0-9]+)$").n) \(.start) \(.size)"'
}
# wait_for COND-COMMAND...: up to 10 s
wait_for() {
  local i
  for ((i = 0; i < 100; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
sha() { sha256sum < "$1" | cut -d' ' -f1; }
# mkext4 IMAGE SIZE DIR: an ext4 filesystem image holding DIR's files
mkext4() {
  truncate -s "$2" "$1" && mkfs.ext4 -q -F -E nodiscard -d "$3" "$1"
}
# put IMAGE FILE START-SECTOR: write FILE into IMAGE at that sector
put() { dd if="$2" of="$1" bs=$SECTOR seek="$3" conv=notrunc status=none; }
# took WHAT: how long the part just done took (TCG is slow: keep an eye on it)
_t=$SECONDS
took() { diag "$1 took $((SECONDS - _t)) s"; _t=$SECONDS; }

# ---- the kernel ---------------------------------------------------------------
kv=$(uname -r)
diag "guest kernel: $(cat /proc/version)"
is "$kv" "$VIXMOUNT_VM_KERNEL" "the guest runs the kernel the runner booted ($kv)"
[ "$kv" != "$VIXMOUNT_VM_HOST_KERNEL" ]
ok $? "which is not the host's kernel ($VIXMOUNT_VM_HOST_KERNEL)"
# (dpkg-query -L reads one package's list; dpkg -S would read them all: 30 s)
dpkg-query -L "linux-image-$kv" 2>/dev/null | grep -qx "/boot/vmlinuz-$kv"
ok $? "it is Debian's: /boot/vmlinuz-$kv belongs to package linux-image-$kv"
grep -q 'Debian' /proc/version
ok $? "/proc/version names Debian"

# ---- modules from the host's tree -------------------------------------------
for m in loop ext4 xfs vfat btrfs fuse; do
  modprobe "$m"
  ok $? "modprobe $m (from /lib/modules/$kv)"
done
[ -c /dev/fuse ]
ok $? "/dev/fuse is a character device"
[ ! -d /sys/module/nbd ] || bail "nbd is already loaded: this test needs a fresh guest"
modprobe nbd nbds_max=16 max_part=15
ok $? "modprobe nbd nbds_max=16 max_part=15"
[ -b /dev/nbd0 ] && [ -d /sys/block/nbd0 ]
ok $? "/dev/nbd0 is a block device (devtmpfs) and /sys/block/nbd0 exists"
is "$(ls -d /sys/block/nbd* | wc -l) $(ls /dev/nbd* | wc -l)" "16 16" \
  "16 nbd devices in /sys/block and /dev"
modprobe dm-mod
ok $? "modprobe dm-mod"
[ -c /dev/mapper/control ]
ok $? "/dev/mapper/control is a character device"
dmver=$(dmsetup version 2>&1)
st=$?
grep -q '^Driver version: *4\.' <<<"$dmver"
ok $((st + $?)) "dmsetup version talks to the kernel driver"
diag "$(tr '\n' ';' <<<"$dmver")"
took "kernel and modules"

# ---- teardown of whatever is still set up (also on failure) ----------------
LOOPS=() MNTS=() DMS=() NBDS=() NBDKITS=()
teardown() {
  local x
  for x in "${DMS[@]}"; do dmsetup remove "$x"; done
  for x in "${MNTS[@]}"; do umount "$x"; done
  for x in "${NBDS[@]}"; do nbd-client -d "$x"; done
  for x in "${LOOPS[@]}"; do losetup -d "$x"; done
  for x in "${NBDKITS[@]}"; do [ -f "$x" ] && kill "$(cat "$x")"; done
  LOOPS=() MNTS=() DMS=() NBDS=() NBDKITS=()
} >/dev/null 2>&1
on_exit teardown

# ---- MBR and GPT on loop devices ----------------------------------------
truncate -s 64M mbr.img
sfdisk -q mbr.img <<EOF || bail "sfdisk mbr.img"
label: dos
start=2048, size=40960, type=83
start=43008, size=81920, type=7
EOF
MBR_PARTS="p1 2048 40960
p2 43008 81920"
truncate -s 64M gpt.img
sgdisk -n 1:2048:+20M -t 1:8300 -n 2:43008:+30M -t 2:0700 gpt.img >/dev/null \
  || bail "sgdisk gpt.img"   # (its -q writes nothing)
GPT_PARTS="p1 2048 40960
p2 43008 61440"

for label in mbr gpt; do
  if [ $label = mbr ]; then want=$MBR_PARTS; else want=$GPT_PARTS; fi
  is "$(table_parts $label.img)" "$want" "$label.img: the table holds the partitions written"
  dev=$(losetup -P -f --show $label.img) || bail "losetup -P $label.img"
  LOOPS+=("$dev")
  n=${dev#/dev/}
  is "$(sys_parts "$n")" "$want" "$label on $n: the kernel's partitions, start and size, as written"
  [ -b "/dev/${n}p1" ] && [ -b "/dev/${n}p2" ]
  ok $? "$label on $n: /dev/${n}p1 and /dev/${n}p2 are block devices"
  is "$(blockdev --getsize64 "/dev/${n}p2")" "$(( $(sed -n 2p <<<"$want" | cut -d' ' -f3) * SECTOR ))" \
    "$label on $n: /dev/${n}p2 has the size in bytes"
  losetup -d "$dev"
  ok $? "$label: losetup -d $dev"
  LOOPS=()
  wait_for test ! -e "/dev/${n}p1"
  ok $? "$label: the partition nodes of $n are gone"
done

took "MBR and GPT on loop"

# ---- nbdkit (file plugin) over a unix socket, nbd-client, dm linear -------
# the disk: p1 ext4 with known files, p2 a known pattern
mkdir content
head -c 3000000 /dev/urandom > content/random.bin
echo "hello from the kernel path" > content/hello.txt
want_sha=$(sha content/random.bin)
truncate -s 64M nbd.img
sfdisk -q nbd.img <<EOF || bail "sfdisk nbd.img"
label: dos
start=2048, size=61440, type=83
start=63488, size=40960, type=83
EOF
NBD_PARTS="p1 2048 61440
p2 63488 40960"
mkext4 p1.img $((61440 * SECTOR)) content || bail "mkfs.ext4"
put nbd.img p1.img 2048
head -c 4194304 /dev/urandom > pattern.bin
put nbd.img pattern.bin 63488
pattern_sha=$(sha pattern.bin)

nbdkit -U "$T/file.sock" -P "$T/file.pid" file "$T/nbd.img" || bail "nbdkit file"
NBDKITS+=("$T/file.pid")
nbd-client -unix "$T/file.sock" /dev/nbd0 >/dev/null 2>&1
ok $? "nbd-client -unix attaches nbdkit's export to /dev/nbd0"
NBDS+=(/dev/nbd0)
wait_for test -e /sys/block/nbd0/pid
ok $? "/sys/block/nbd0/pid exists while connected"
# the first open of the whole device after connecting makes the kernel
# (re)read the partition table; until then /dev/nbd0pK may be stale (the
# kernel keeps a disconnected device's partitions)
is "$(blockdev --getsize64 /dev/nbd0)" $((64 * 1024 * 1024)) "/dev/nbd0 has the image's size"
wait_for test -b /dev/nbd0p2
is "$(sys_parts nbd0)" "$NBD_PARTS" "nbd0: the kernel's partitions, start and size, as written"
[ -b /dev/nbd0p1 ] && [ -b /dev/nbd0p2 ]
ok $? "/dev/nbd0p1 and /dev/nbd0p2 are block devices"
mkdir mnt
mount -t ext4 /dev/nbd0p1 mnt
ok $? "mount -t ext4 /dev/nbd0p1" && MNTS+=("$T/mnt")
is "$(sha mnt/random.bin)" "$want_sha" "a file on /dev/nbd0p1 has its sha256"
is "$(cat mnt/hello.txt)" "hello from the kernel path" "and another its text"

dmsetup create vmsmoke --table "0 40960 linear /dev/nbd0p2 0"
ok $? "dmsetup create vmsmoke: linear over /dev/nbd0p2" && DMS+=(vmsmoke)
[ -b /dev/mapper/vmsmoke ]
ok $? "/dev/mapper/vmsmoke is a block device (made by dmsetup, no udev)"
is "$(blockdev --getsz /dev/mapper/vmsmoke)" 40960 "it has 40960 sectors"
is "$(head -c 4194304 /dev/mapper/vmsmoke | sha256sum | cut -d' ' -f1)" "$pattern_sha" \
  "it reads the pattern written at nbd0p2's start"
is "$(dmsetup ls | cut -f1)" vmsmoke "dmsetup ls lists it"

dmsetup remove vmsmoke
ok $? "dmsetup remove vmsmoke" && DMS=()
umount mnt
ok $? "umount /dev/nbd0p1" && MNTS=()
nbd-client -d /dev/nbd0 >/dev/null 2>&1
ok $? "nbd-client -d /dev/nbd0" && NBDS=()
wait_for test ! -e /sys/block/nbd0/pid
ok $? "/sys/block/nbd0/pid is gone"
diag "after nbd-client -d: size $(cat /sys/block/nbd0/size), partitions kept: $(sys_parts nbd0 | tr '\n' ' ')"
is "$(dmsetup ls 2>&1)" "No devices found" "dmsetup ls: no device left"
kill "$(cat file.pid)" && NBDKITS=()
took "nbdkit file + nbd-client + dm"

# ---- the project's plugin: a monolithicSparse VMDK on /dev/nbd0 ---------
truncate -s 64M vm.img
echo "start=2048, type=83" | sfdisk -q vm.img || bail "sfdisk vm.img"
VM_PARTS="p1 2048 129024"
mkext4 vp1.img $((129024 * SECTOR)) content || bail "mkfs.ext4"
put vm.img vp1.img 2048
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse vm.img vm.vmdk \
  || bail "qemu-img convert"
rm -f vm.img vp1.img
nbdkit -r -U "$T/vmdk.sock" -P "$T/vmdk.pid" "$VIXMOUNT_NBDKIT_PLUGIN" file="$T/vm.vmdk"
ok $? "nbdkit serves vm.vmdk with $(basename "$VIXMOUNT_NBDKIT_PLUGIN")" || bail "the plugin"
NBDKITS+=("$T/vmdk.pid")
nbd-client -unix "$T/vmdk.sock" /dev/nbd0 -readonly >/dev/null 2>&1
ok $? "nbd-client -unix attaches the VMDK export to /dev/nbd0" && NBDS+=(/dev/nbd0)
is "$(blockdev --getsize64 /dev/nbd0)" $((64 * 1024 * 1024)) "/dev/nbd0 has the VMDK's virtual size"
wait_for test ! -e /dev/nbd0p2
is "$(sys_parts nbd0)" "$VM_PARTS" "VMDK on nbd0: the kernel's partition, start and size"
mount -t ext4 -o ro /dev/nbd0p1 mnt
ok $? "mount -o ro /dev/nbd0p1 (ext4 inside the VMDK)" && MNTS+=("$T/mnt")
is "$(sha mnt/random.bin)" "$want_sha" "a file inside the VMDK has its sha256"
umount mnt
ok $? "umount" && MNTS=()
nbd-client -d /dev/nbd0 >/dev/null 2>&1
ok $? "nbd-client -d /dev/nbd0" && NBDS=()
wait_for test ! -e /sys/block/nbd0/pid
ok $? "/sys/block/nbd0/pid is gone"
kill "$(cat vmdk.pid)" && NBDKITS=()
took "the VMDK plugin on nbd0"
is "$(dmsetup ls 2>&1)" "No devices found" "at the end: dmsetup ls is empty"
is "$(losetup -a | wc -l) $(ls -d /sys/block/nbd*/pid 2>/dev/null | wc -l)" "0 0" \
  "at the end: no loop device and no nbd connection left"

done_testing

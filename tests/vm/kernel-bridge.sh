#!/bin/bash
# The kernel bridge of libvixMntapi, in the guest, beyond what mntapi.sh
# checks on it:
#  - the FUSE bridge and the kernel bridge on the same images in the same
#    guest: identical volume tables, identical file hashes;
#  - the bridge chosen at run time: auto takes the kernel (nbd is here),
#    VIXMOUNT_BRIDGE and vixmount.bridge force either, a bad value is refused;
#    the kernel bridge's nbdkit reads with O_DIRECT unless vixmount.directRead
#    is false;
#  - the ioctl interface (VIXMOUNT_NBD_INTERFACE=ioctl): a child in
#    NBD_DO_IT holds the device, and goes with the set;
#  - four programs opening sets at once get four distinct devices, each
#    carrying its own set's backend identifier, and read the right data;
#  - a set whose owner was killed (SIGKILL) while nbdkit and the devices
#    were busy: vixmount-cleanup disconnects and removes everything.
. "$top_srcdir/tests/lib/common.sh"
need sfdisk mkfs.ext4 mkfs.xfs mkfs.vfat mcopy qemu-img jq dmsetup sha256sum
require_root "nbd, loop devices, mounts"
diag "guest kernel $(uname -r), $(nproc) CPUs"
CLIENT="$top_builddir/tests/mntapi-client"
modprobe loop && modprobe fuse || bail "modprobe loop fuse"
d=$(scratch)
cd "$d" || bail "cd"
mkdir rt
printf 'tmpDirectory = "%s/rt"\n' "$d" > vix.conf
export MNTAPI_CONFIG=$d/vix.conf TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1
unset VIXMOUNT_BRIDGE
. "$top_srcdir/tests/lib/mntapi-run.sh"   # run_client, release, mounted_at, bridge_of, ...
leftovers() {  # this guest's NBD devices and dm tables, whatever the bridge
  { grep "$d/rt" /proc/mounts; losetup -a | grep "$d/rt"; pgrep -af "$d/rt" | grep -v pgrep
    for b in /sys/block/nbd*/pid; do [ -e "$b" ] && echo "connected ${b%/pid}"; done
    dmsetup ls 2>/dev/null | grep '^vixmount-'; } 2>/dev/null
}

# images: an MBR disk (ext4, xfs, vfat) and a GPT disk (ext4), a few files
mkfile() {  # DIR TAG
  mkdir -p "$1/sub"; head -c 1500000 /dev/urandom > "$1/big.bin"
  echo "hello $2" > "$1/hello.txt"; head -c 9000 /dev/urandom > "$1/sub/s.bin"
}
truncate -s 128M M.raw
printf 'label: dos\nstart=2048, size=65536, type=83\nstart=67584, size=131072, type=83\nstart=198656, type=c\n' | sfdisk -q M.raw
truncate -s 64M G.raw
printf 'label: gpt\nstart=2048, size=81920, name=data\n' | sfdisk -q G.raw
for spec in "M.raw 2048 65536 ext4" "M.raw 67584 131072 xfs" "M.raw 198656 63488 vfat" "G.raw 2048 81920 ext4"; do
  set -- $spec
  l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"
  mkdir -p src && rm -rf src/* && mkfile src "$1-$2"
  case $4 in
    ext4) mkfs.ext4 -q -d src "$l" ;;
    xfs) mkfs.xfs -q "$l" && mkdir -p mm && mount "$l" mm && cp -a src/. mm/ && umount mm ;;
    vfat) mkfs.vfat "$l" > /dev/null && mcopy -s -i "$l" src/* ::/ ;;
  esac || bail "mkfs $4"
  losetup -d "$l"
done
qemu-img convert -f raw -O vmdk M.raw M.vmdk && qemu-img convert -f raw -O vmdk -o subformat=streamOptimized G.raw G.vmdk
sums0=$(sha256sum M.vmdk G.vmdk)

# volume table (without the bridge-specific lines) and every file's hash
table() { grep '^{' "$1"; }
hashes() {  # OUT: "VOLUME PATH SHA256" of every file under each mount
  local v m
  for v in $(awk '$1 == "mounted" {print $2}' "$1" | sort); do
    m=$(mounted_at "$1" "$v")
    (cd "$m" && find . -type f ! -path './lost+found/*' -printf '%P\n' | sort | while read -r f; do
       echo "$v $f $(sha256sum < "$f" | cut -c1-64)"; done)
  done
}

# --- 1. FUSE and kernel on the same images
VIXMOUNT_BRIDGE=fuse run_client f.out --mount-all M.vmdk G.vmdk
is "$(bridge_of f.out)" fuse "VIXMOUNT_BRIDGE=fuse: the FUSE bridge, though the kernel has nbd"
hashes f.out > f.hashes
release f.out
run_client k.out --mount-all M.vmdk G.vmdk
is "$(bridge_of k.out)" kernel "no setting: auto takes the kernel bridge (nbd is here)"
is "$(pgrep -af "nbdkit.*$d/rt" | grep -c ' cow=true .*direct-read=true ')" 1 \
   "its nbdkit serves copy-on-write views and reads the VMDKs with O_DIRECT (vixmount.directRead auto)"
hashes k.out > k.hashes
release k.out
is "$(table k.out | sha256sum)" "$(table f.out | sha256sum)" \
   "identical volume tables on both bridges ($(table k.out | wc -l) volumes)"
is "$(grep -c '^mounted ' k.out) $(grep -c '^mounted ' f.out)" "4 4" "4 volumes mounted on each"
is "$(wc -l < k.hashes)" 12 "12 files read through the kernel bridge's mounts"
is "$(sha256sum < k.hashes)" "$(sha256sum < f.hashes)" "identical file hashes on both bridges"
bad=0
for vt in d0p1:M.raw-2048 d0p2:M.raw-67584 d0p3:M.raw-198656 d1p1:G.raw-2048; do
  [ "$(grep "^${vt%%:*} hello.txt " k.hashes | cut -d' ' -f3)" = "$(echo "hello ${vt#*:}" | sha256sum | cut -c1-64)" ] ||
    { diag "${vt%%:*}: wrong hello.txt"; bad=$((bad + 1)); }
done
is "$bad" 0 "each volume's hello.txt is the one written into it"

# --- 2. the choice at run time
VIXMOUNT_BRIDGE=nbd "$CLIENT" M.vmdk > bad.out 2> bad.err
is "$(awk '/^open-failed/ {print $2}' bad.out)" 3 "VIXMOUNT_BRIDGE=nbd: OpenDisks fails with VIX_E_INVALID_ARG"
grep -q 'VIXMOUNT_BRIDGE="nbd" is not auto, kernel or fuse' bad.err; ok $? "... saying why: $(grep -m1 -o 'VIXMOUNT_BRIDGE.*fuse' bad.err)"
printf 'tmpDirectory = "%s/rt"\nvixmount.bridge = fuse\n' "$d" > fuse.conf
MNTAPI_CONFIG=$d/fuse.conf "$CLIENT" M.vmdk > c.out 2>&1
is "$(bridge_of c.out)" fuse "vixmount.bridge = fuse in the configuration file: the FUSE bridge"
printf 'vixMntapi.LogLevel = 4\n' >> fuse.conf      # info: the bridge's choice and devices
MNTAPI_CONFIG=$d/fuse.conf VIXMOUNT_BRIDGE=kernel "$CLIENT" M.vmdk > c2.out 2>&1
is "$(bridge_of c2.out)" kernel "VIXMOUNT_BRIDGE=kernel wins over the file"
grep -q 'bridge kernel, chosen by VIXMOUNT_BRIDGE' c2.out; ok $? "the log says which and why: $(grep -m1 -o 'bridge kernel, chosen by [A-Z_]*' c2.out)"
grep -q 'disk 0 (.*M.vmdk) is /dev/nbd[0-9]* (netlink' c2.out; ok $? "... and which device: $(grep -m1 -o 'is /dev/nbd[0-9]* ([^)]*)' c2.out)"

printf 'tmpDirectory = "%s/rt"\nvixmount.directRead = false\n' "$d" > nodirect.conf
MNTAPI_CONFIG=$d/nodirect.conf run_client nd.out --mount d0p1 M.vmdk
is "$(pgrep -af "nbdkit.*$d/rt" | grep -c 'direct-read')-$(pgrep -af "nbdkit.*$d/rt" | grep -c ' cow=true ')" 0-1 \
   "vixmount.directRead = false: the kernel bridge's nbdkit reads buffered"
is "$(cat "$(mounted_at nd.out d0p1)/hello.txt" 2>/dev/null)" "hello M.raw-2048" "... and its volume reads right"
release nd.out

# --- 3. the ioctl interface
VIXMOUNT_NBD_INTERFACE=ioctl run_client io.out --mount d0p1 --mount d1p1 M.vmdk G.vmdk
read -r _ kb kif kconn kdevs <<< "$(grep '^bridge ' io.out)"
is "$kb $kif" "kernel ioctl" "VIXMOUNT_NBD_INTERFACE=ioctl: attached through the ioctls ($kconn connections: $kdevs)"
n=${kdevs%%,*}; n=${n#/dev/}
holder=$(cat "/sys/block/$n/pid" 2>/dev/null)
[ -n "$holder" ] && [ "$(awk '/^PPid:/ {print $2}' "/proc/$holder/status" 2>/dev/null)" = "${CPID[io.out]}" ]
ok $? "a child ($holder) of the program (${CPID[io.out]}) holds /dev/$n in NBD_DO_IT"
is "$(cat "$(mounted_at io.out d1p1)/hello.txt" 2>/dev/null)" "hello G.raw-2048" "its volumes mount and read"
release io.out
[ ! -d "/proc/$holder" ]; ok $? "the holder is gone with the set"
is "$(leftovers)" "" "nothing is left (mount, device, process)"

# --- 4. four programs at once
for i in 1 2 3 4; do cp M.vmdk P$i.vmdk; done
for i in 1 2 3 4; do     # each holds its set until its input ends
  sleep 120 | "$CLIENT" --mount d0p1 --hold P$i.vmdk > p$i.out 2> p$i.err &
done
for _ in $(seq 900); do [ "$(grep -l '^ready$\|failed' p?.out 2>/dev/null | wc -l)" = 4 ] && break; sleep 0.1; done
devs=$(for i in 1 2 3 4; do grep '^bridge ' p$i.out | awk '{print $5}'; done | sort -u | wc -l)
is "$devs" 4 "four sets opened at once got four distinct devices"
bad=0
for i in 1 2 3 4; do
  dev=$(grep '^bridge ' p$i.out | awk '{print $5}'); set=$(awk '/^set/ {sub("mountPath=", "", $3); print $3}' p$i.out)
  [ "$(cat "/sys/block/${dev#/dev/}/backend" 2>/dev/null)" = "vixmount:$(basename "$set"):d0" ] || bad=$((bad + 1))
  [ "$(cat "$(mounted_at p$i.out d0p1)/hello.txt" 2>/dev/null)" = "hello M.raw-2048" ] || bad=$((bad + 1))
done
is "$bad" 0 "each device carries its own set's backend identifier, and each set reads right"
pkill -x -f "sleep 120"; wait
is "$(leftovers)" "" "all four closed: nothing is left"

# --- 5. SIGKILL of the owner, then vixmount-cleanup: a read-write set (a
# copy) with a read-write mount, a read-only one (a dm table) and G's volume
cp M.vmdk K.vmdk
run_client kill.out --rw --mount d0p1 --mount d0p2:rw --mount d1p1 K.vmdk G.vmdk
kill -9 "${CPID[kill.out]}"; wait "${CPID[kill.out]}" 2>/dev/null
v="FD_kill_out"; eval "exec ${!v}>&-"; CLIENT_FDS=()
is "$(grep -c "$d/rt" /proc/mounts) $(dmsetup ls 2>/dev/null | grep -c '^vixmount-') $(ls /sys/block/nbd*/pid 2>/dev/null | wc -l)" \
   "3 2 2" "after SIGKILL its 3 mounts, its 2 dm tables (the read-only mounts) and 2 connected NBD devices are still there"
out=$("$top_builddir/vixmount-cleanup" "$d/rt"); ok $? "vixmount-cleanup: $out"
is "$(grep -c "$d/rt" /proc/mounts)" 0 "no mount left (/proc/mounts)"
is "$(dmsetup ls 2>/dev/null | grep -c '^vixmount-')" 0 "no dm table left (dmsetup ls)"
is "$(ls /sys/block/nbd*/pid 2>/dev/null | wc -l)" 0 "no connected /dev/nbdN left (/sys/block/nbd*/pid)"
is "$(pgrep -af "$d/rt" | grep -vc pgrep)" 0 "no process of ours left"
is "$(sha256sum M.vmdk G.vmdk)" "$sums0" "the VMDK files are unchanged"
done_testing

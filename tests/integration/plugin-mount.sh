#!/bin/bash
# plugin-mount.sh: a filesystem inside a VMDK, served by the plugin, mounts
# and reads back right on this kernel (no nbd module, no partition-table
# parsing): nbdkit vmdk -> nbdfuse (a FUSE file) -> loop device at the
# partition's offset -> mount -t ext4 -o ro,noload.
#
# A raw disk with an MBR partition holding ext4 and a few files of known
# sha256 is converted to monolithicSparse and streamOptimized; each is served,
# mounted, checked and torn down.  Teardown (umount, losetup -d, fusermount3
# -u, nbdkit) runs on failure too, and the test checks nothing is left.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img sfdisk mkfs.ext4 losetup mount umount nbdfuse fusermount3 sha256sum mountpoint
require_root "losetup, mount"
[ -c /dev/fuse ] || bail "no /dev/fuse"

T=$(scratch)
cd "$T" || bail "cd $T"

# ---- what is currently set up (undone by teardown, in reverse order) ------
MNT="$T/mnt" FUSEDIR="$T/fuse"
LOOPDEV= MOUNTED= NF_PID=
mkdir -p "$MNT" "$FUSEDIR"

teardown() {
  local i
  if [ -n "$MOUNTED" ]; then
    for ((i = 0; i < 50; i++)); do umount "$MNT" 2>/dev/null && break; sleep 0.1; done
    mountpoint -q "$MNT" && umount -l "$MNT" 2>/dev/null
    MOUNTED=
  fi
  if [ -n "$LOOPDEV" ]; then
    losetup -d "$LOOPDEV" 2>/dev/null
    LOOPDEV=
  fi
  if [ -n "$NF_PID" ]; then
    for ((i = 0; i < 100; i++)); do fusermount3 -u "$FUSEDIR" 2>/dev/null && break; sleep 0.05; done
    for ((i = 0; i < 200; i++)); do kill -0 "$NF_PID" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$NF_PID" 2>/dev/null; then
      kill "$NF_PID" 2>/dev/null; fusermount3 -u -z "$FUSEDIR" 2>/dev/null
    fi
    wait "$NF_PID" 2>/dev/null
    NF_PID=
  fi
}
on_exit teardown      # runs before the nbdkit cleanup (last registered first)

# ---- the disk ---------------------------------------------------------------

SIZE_MIB=96
PART_OFF=$((1024 * 1024))
PART_SIZE=$(((SIZE_MIB - 1) * 1024 * 1024))
truncate -s "${SIZE_MIB}M" disk.raw
echo "start=2048, type=83" | sfdisk -q disk.raw || bail "sfdisk"
LOOPDEV=$(losetup -f --show -o "$PART_OFF" --sizelimit "$PART_SIZE" disk.raw) || bail "losetup"
mkfs.ext4 -q -F -L vmdkplugin -E nodiscard "$LOOPDEV" || bail "mkfs.ext4"
mount -t ext4 "$LOOPDEV" "$MNT" || bail "mount for populating"
MOUNTED=1
mkdir -p "$MNT/dir/sub"
echo "hello from inside a VMDK" > "$MNT/hello.txt"
python3 -c 'import random,sys; random.seed(7); sys.stdout.buffer.write(random.randbytes(5 << 20))' > "$MNT/dir/random.bin"
python3 -c 'import sys
for i in range(60000): sys.stdout.write("line %d of a compressible text file\n" % i)' > "$MNT/dir/sub/text.txt"
head -c 300000 /dev/zero > "$MNT/zeros.bin"
(cd "$MNT" && sha256sum hello.txt dir/random.bin dir/sub/text.txt zeros.bin) > sums || bail "sha256sum"
teardown
diag "filesystem made: $(wc -l < sums) files"

qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse disk.raw ms.vmdk || bail "convert ms"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw so.vmdk || bail "convert so"
rm -f disk.raw

# ---- serve, bridge, mount, check, tear down ------------------------------

for img in ms.vmdk so.vmdk; do
  sock="$T/$img.sock"
  if ! nbdkit_start "$sock" -- file="$img"; then
    ok 1 "$img: nbdkit serves it"; continue
  fi
  ok 0 "$img: nbdkit serves it"
  rm -f nf.pid
  nbdfuse -r -P "$T/nf.pid" "$FUSEDIR/disk" "$(nbd_uri "$sock")" < /dev/null > nbdfuse.log 2>&1 &
  NF_PID=$!
  for ((i = 0; i < 1000; i++)); do
    [ -s nf.pid ] && break
    kill -0 "$NF_PID" 2>/dev/null || break
    sleep 0.01
  done
  [ -s nf.pid ]; ok $? "$img: nbdfuse exposes the export as $FUSEDIR/disk"
  is "$(stat -c %s "$FUSEDIR/disk" 2>/dev/null)" $((SIZE_MIB * 1024 * 1024)) "$img: FUSE file has the disk's size"

  LOOPDEV=$(losetup -r -f --show -o "$PART_OFF" --sizelimit "$PART_SIZE" "$FUSEDIR/disk")
  ok $? "$img: losetup -r -o $PART_OFF on the FUSE file"
  if [ -n "$LOOPDEV" ] && mount -t ext4 -o ro,noload,nosuid,nodev,noexec "$LOOPDEV" "$MNT"; then
    MOUNTED=1
    ok 0 "$img: mount -t ext4 -o ro,noload"
    (cd "$MNT" && sha256sum --quiet -c "$T/sums") > sumcheck.out 2>&1
    ok $? "$img: every file's sha256 matches"
    [ -s sumcheck.out ] && diag "$(head -3 sumcheck.out)"
    is "$(ls "$MNT/dir/sub")" text.txt "$img: directory listing"
  else
    ok 1 "$img: mount -t ext4 -o ro,noload"
    dmesg 2>/dev/null | tail -3 | sed 's/^/#   /'
  fi

  # explicit teardown, each step checked
  if [ -n "$MOUNTED" ]; then umount "$MNT"; ok $? "$img: umount"; MOUNTED=; fi
  if [ -n "$LOOPDEV" ]; then losetup -d "$LOOPDEV"; ok $? "$img: losetup -d"; LOOPDEV=; fi
  fusermount3 -u "$FUSEDIR"; ok $? "$img: fusermount3 -u"
  for ((i = 0; i < 200; i++)); do kill -0 "$NF_PID" 2>/dev/null || break; sleep 0.05; done
  wait "$NF_PID"; ok $? "$img: nbdfuse exits cleanly"
  NF_PID=
  nbdkit_stop "$NBDKIT_PID"; ok $? "$img: nbdkit exits cleanly"
done

# ---- nothing left behind ----------------------------------------------------

! grep -q " $T/" /proc/mounts; ok $? "no mounts left under the scratch directory"
[ -z "$(losetup -j "$T/fuse/disk" 2>/dev/null)" ] && [ -z "$(losetup -a | grep -F "$T/")" ]
ok $? "no loop devices left on our files"

done_testing

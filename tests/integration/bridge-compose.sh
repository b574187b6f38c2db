#!/bin/bash
# bridge-compose.sh: composed files of vixmount-fuse (.control "compose", the
# FUSE path of LVM logical volumes), on two local exports (--vmdk) with an
# overlay (--cow), as a read-only disk set runs them:
#  - a file of linear and striped pieces over both disks reads as the same
#    pieces cut from the raw images (whole-file sha256, and unaligned reads
#    across piece and chunk boundaries, compared byte for byte);
#  - writes through it (unaligned, across chunks) read back through it and
#    land where the map says, as the disk files show them (the kernel's cache
#    of the other files is dropped); the VMDKs are unchanged;
#  - bad compose lines are refused (write fails, the file does not appear):
#    unknown base, a composed base, a piece past a base's end, a name in use;
#  - remove takes it away.
. "$top_srcdir/tests/lib/common.sh"
need qemu-img python3 fusermount3 mountpoint sha256sum dd cmp
require_root "FUSE mounts"
[ -c /dev/fuse ] || bail "no /dev/fuse"
VXF="$top_builddir/vixmount-fuse"
T=$(scratch)
cd "$T" || bail "cd"
head -c $((8 << 20)) /dev/urandom > a.raw
head -c $((6 << 20)) /dev/urandom > b.raw
qemu-img convert -f raw -O vmdk a.raw a.vmdk
qemu-img convert -f raw -O vmdk b.raw b.vmdk
sums=$(sha256sum a.vmdk b.vmdk)
mkdir mnt
"$VXF" -f --cow --cow-dir "$T" --vmdk d0=a.vmdk --vmdk d1=b.vmdk "$T/mnt" 2> fuse.log &
pid=$!
on_exit "kill $pid 2>/dev/null; fusermount3 -u '$T/mnt' 2>/dev/null"
for _ in $(seq 100); do [ -e mnt/d1 ] && break; sleep 0.1; done
[ -e mnt/d1 ] || bail "the bridge did not start: $(cat fuse.log)"

# the pieces: linear 1 MiB at 4096 of d0; striped 1 MiB over 2 (d1 at 2 MiB,
# d0 at 5 MiB) in 64 KiB chunks; striped 768 KiB over 3 in 4 KiB chunks;
# linear 1000 bytes at 7 of d1
LINE="compose lv linear 1048576 d0 4096 striped 1048576 2 65536 d1 2097152 d0 5242880 striped 786432 3 4096 d0 0 d1 0 d0 7340032 linear 1000 d1 7"
python3 - <<'EOF2' > want.sh
a, b = open("a.raw", "rb").read(), open("b.raw", "rb").read()
d = {"d0": a, "d1": b}
out = bytearray(a[4096:4096 + (1 << 20)])
def striped(length, chunk, stripes):
    r = bytearray()
    for k in range(length // chunk):
        base, off = stripes[k % len(stripes)]
        o = off + (k // len(stripes)) * chunk
        r += d[base][o:o + chunk]
    return r
out += striped(1 << 20, 65536, [("d1", 2 << 20), ("d0", 5 << 20)])
out += striped(786432, 4096, [("d0", 0), ("d1", 0), ("d0", 7 << 20)])
out += b[7:1007]
open("want.bin", "wb").write(out)
EOF2
printf '%s\n' "$LINE" > mnt/.control; ok $? "compose accepted"
is "$(stat -c %s mnt/lv)" "$(stat -c %s want.bin)" "the composed file's size is the pieces' sum ($(stat -c %s want.bin))"
is "$(sha256sum < mnt/lv)" "$(sha256sum < want.bin)" "it reads as the pieces cut from the raw images"
bad=0
for spec in "1048570 20" "1114100 70000" "2097100 9000" "2883580 100" "2883000 5000" "3145700 1000" "0 3146728"; do
  set -- $spec
  cmp -s <(dd if=mnt/lv bs=1 skip="$1" count="$2" iflag=skip_bytes,count_bytes status=none) \
         <(dd if=want.bin bs=1 skip="$1" count="$2" iflag=skip_bytes,count_bytes status=none) || { bad=$((bad + 1)); diag "read $spec differs"; }
done
is "$bad" 0 "unaligned reads across piece and chunk boundaries"
# a write across the end of the linear piece and two 64 KiB chunks
head -c 200000 /dev/urandom > w.bin
dd if=w.bin of=mnt/lv bs=200000 seek=1000000 oflag=seek_bytes conv=notrunc status=none; ok $? "write 200000 bytes at 1000000 through it"
python3 - <<'EOF2'
w = open("w.bin", "rb").read()
want = bytearray(open("want.bin", "rb").read())
want[1000000:1200000] = w
open("want.bin", "wb").write(want)
a = bytearray(open("a.raw", "rb").read()); b = bytearray(open("b.raw", "rb").read())
a[4096 + 1000000:4096 + 1048576] = w[:48576]          # the linear piece
rest = w[48576:]                                      # striped from its start
a5 = 5 << 20
b[2 << 20:(2 << 20) + 65536] = rest[:65536]           # chunk 0: d1
a[a5:a5 + 65536] = rest[65536:131072]                 # chunk 1: d0
b[(2 << 20) + 65536:(2 << 20) + 65536 + len(rest) - 131072] = rest[131072:]  # chunk 2: d1, row 1
open("a.want", "wb").write(a); open("b.want", "wb").write(b)
EOF2
is "$(sha256sum < mnt/lv)" "$(sha256sum < want.bin)" "it reads back through the composed file"
is "$(sha256sum < mnt/d0) $(sha256sum < mnt/d1)" "$(sha256sum < a.want) $(sha256sum < b.want)" \
  "and landed where the map says, as the disk files show"
for l in "compose x linear 10 nosuch 0" "compose y linear 10 lv 0" "compose z linear 4096 d1 6287361" "$LINE"; do
  printf '%s\n' "$l" > mnt/.control 2> /dev/null && { ok 1 "refused: $l"; continue; }
  ok 0 "refused: ${l:0:40}"
done
is "$(grep -c '\.control: .*compose' fuse.log)" 4 "each refusal is logged with its reason"
grep -q 'no such base file (or a composed one)' fuse.log; ok $? "the log says: no such base file (or a composed one)"
grep -q 'segment lies outside its disk' fuse.log; ok $? "the log says: segment lies outside its disk"
is "$(ls mnt | tr '\n' ' ')" "d0 d1 lv " "no file appeared for a refused line"
echo "remove lv" > mnt/.control; ok $? "remove"
is "$(ls mnt | tr '\n' ' ')" "d0 d1 " "the composed file is gone"
fusermount3 -u mnt; wait "$pid"
is "$(sha256sum a.vmdk b.vmdk)" "$sums" "the VMDKs are unchanged (writes went to the overlay)"
done_testing

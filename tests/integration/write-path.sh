#!/bin/bash
# The engine's write path, judged by qemu-img and vmdkinfo:
# - randomized writes, zero writes and trims (also unaligned, also from
#   several threads) mirrored into a raw file: after every phase qemu-img
#   compare says identical, qemu-img check finds no errors, vmdkinfo opens it;
# - disks made by qemu-img are written correctly (every writable subformat,
#   zeroed-grain, files whose grain tables are missing);
# - a write through a snapshot child leaves every byte of the parent unchanged;
# - disks the engine creates, snapshots and clones are read correctly by
#   qemu-img and vmdkinfo;
# - CID changes on the first write, the unclean flag is set only while open,
#   and writes the format cannot take are refused with clear errors.
. "$top_srcdir/tests/lib/common.sh"
need qemu-img qemu-io vmdkinfo python3 sha256sum
WRITECHECK="$top_builddir/tests/writecheck"
T=$VMDKTOOL
d=$(scratch)
cd "$d" || bail "cd"

# phases FILE SEED...: one writecheck run per seed, each judged by the oracles
phases() {
  local f=$1 seed raw=$d/phase.raw; shift
  qemu-img convert -f vmdk -O raw "$f" "$raw" || { ok 1 "$f: reference copy"; return; }
  for seed in "$@"; do
    "$WRITECHECK" --seed "$seed" --ops "${OPS:-1500}" ${WC_ARGS:-} "$f" "$raw" > wc.out 2>&1
    ok $? "$f seed $seed: $(tail -1 wc.out)"
    qemu-img compare -q -f vmdk -F raw "$f" "$raw"
    ok $? "$f seed $seed: qemu-img compare says identical"
    qemu-img check -q -f vmdk "$f" > /dev/null 2>&1
    ok $? "$f seed $seed: qemu-img check finds no errors"
    vmdkinfo "$f" > /dev/null 2>&1
    ok $? "$f seed $seed: vmdkinfo opens it"
  done
  rm -f "$raw"
}

# --- disks made by qemu-img, written by the engine
qemu-img create -q -f vmdk ms.vmdk 96M
qemu-io -f vmdk -c 'write -P 0x5a 1M 3M' ms.vmdk > /dev/null
phases ms.vmdk 1 2
qemu-img create -q -f vmdk -o zeroed_grain=on zg.vmdk 64M
phases zg.vmdk 3
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse tg.vmdk 2100M
WC_ARGS="--max-len 4000000" phases tg.vmdk 4
qemu-img create -q -f vmdk -o subformat=monolithicFlat mf.vmdk 48M
phases mf.vmdk 5
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentFlat tf.vmdk 2060M
WC_ARGS="--max-len 4000000" phases tf.vmdk 6
OPS=4000 WC_ARGS="--threads 8" phases ms.vmdk 7

# --- grain tables missing (GD entries 0, as VMware leaves them): allocated
qemu-img create -q -f vmdk nogt.vmdk 300M
python3 - nogt.vmdk <<'EOF'
import struct, sys
f = open(sys.argv[1], 'r+b'); h = f.read(512)
cap, grain = struct.unpack_from('<QQ', h, 12); gtes = struct.unpack_from('<I', h, 44)[0]
rgd, gd = struct.unpack_from('<QQ', h, 48)
n = -(-(-(-cap // grain)) // gtes)
for base in (gd, rgd):
    f.seek(base * 512); f.write(b'\0' * 4 * n)
EOF
before=$(stat -c %s nogt.vmdk)
phases nogt.vmdk 8
[ "$(stat -c %s nogt.vmdk)" -gt "$before" ]
ok $? "grain tables were allocated at the end of the file"

# --- a snapshot child: writes never reach the parent
qemu-img create -q -f vmdk -o zeroed_grain=on base.vmdk 64M
qemu-io -f vmdk -c 'write -P 0xaa 0 64M' base.vmdk > /dev/null
qemu-img create -q -f vmdk -b base.vmdk -F vmdk child.vmdk
h_base=$(sha256sum < base.vmdk)
phases child.vmdk 9 10
is "$(sha256sum < base.vmdk)" "$h_base" "parent unchanged after writes through the child"
qemu-img create -q -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk zchild.vmdk
phases zchild.vmdk 11
is "$(sha256sum < base.vmdk)" "$h_base" "parent unchanged after writes through a zeroed-grain child"

# --- disks created by the engine
for t in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat; do
  "$T" create --type "$t" --adapter lsilogic "new-$t.vmdk" 2049M
  ok $? "create $t"
  is "$(qemu-img info --output=json "new-$t.vmdk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
     2148532224 "qemu-img reads the size of the new $t"
  WC_ARGS="--max-len 3000000" OPS=600 phases "new-$t.vmdk" 12
done
"$T" create --zeroed-grain zgnew.vmdk 10M
is "$(od -An -tu4 -j4 -N8 zgnew.vmdk | xargs)" "2 7" "--zeroed-grain makes version 2, flags 0x7"
"$T" create a.vmdk 1M 2>/dev/null
"$T" create a.vmdk 1M 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_EXISTS" "create refuses to overwrite"
"$T" create --type monolithicFlat mf2.vmdk 1M; rm -f mf2.vmdk
"$T" create --type monolithicFlat mf2.vmdk 1M 2> err.txt
is "$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "VMDK_ERR_EXISTS" "create refuses when only the extent file exists"
[ ! -e mf2.vmdk ]
ok $? "and leaves no descriptor behind"

# snapshot + clone
qemu-img create -q -f vmdk src.vmdk 100M
qemu-io -f vmdk -c 'write -P 0xab 0 1M' -c 'write -P 0x11 50M 3000' -c 'write -P 0x33 104857088 512' src.vmdk > /dev/null
"$T" snapshot snap.vmdk src.vmdk
ok $? "snapshot"
printf 'written through the snapshot' | "$T" write snap.vmdk 4096
qemu-img convert -f vmdk -O raw snap.vmdk snap.raw
is "$(dd if=snap.raw bs=1 skip=4096 count=28 status=none)" "written through the snapshot" "qemu-img reads the write through the engine's snapshot"
is "$(qemu-img info --output=json snap.vmdk | python3 -c 'import json,sys; print(json.load(sys.stdin)["backing-filename"])')" \
   src.vmdk "qemu-img follows the parent hint"
mkdir -p sub
"$T" snapshot sub/deep.vmdk src.vmdk
is "$(grep -ao 'parentFileNameHint="[^"]*"' sub/deep.vmdk)" 'parentFileNameHint="../src.vmdk"' "hint of a child in a subdirectory is relative"
for t in streamOptimized monolithicSparse twoGbMaxExtentSparse monolithicFlat; do
  "$T" clone --type "$t" snap.vmdk "clone-$t.vmdk"
  ok $? "clone to $t"
  qemu-img compare -q -f vmdk -F raw "clone-$t.vmdk" snap.raw
  ok $? "clone to $t: qemu-img compare identical"
  vmdkinfo "clone-$t.vmdk" > /dev/null 2>&1
  ok $? "clone to $t: vmdkinfo opens it"
done
"$T" info --json clone-streamOptimized.vmdk > s.json
is "$(python3 -c 'import json; e=json.load(open("s.json"))["extents"][0]; print(e["compressed"], e["gdAtEnd"])')" \
   "True True" "stream clone uses VMware's layout (GD at end)"

# --- CID and unclean flag
cid() { grep -aom1 'CID=[0-9a-f]*' "$1" | cut -d= -f2; }
c0=$(cid src.vmdk)
"$T" zero src.vmdk 0 512
c1=$(cid src.vmdk)
[ -n "$c1" ] && [ "$c0" != "$c1" ]
ok $? "CID changes on the first write of a session ($c0 -> $c1)"
"$T" info src.vmdk > /dev/null
is "$(cid src.vmdk)" "$c1" "reading does not change the CID"
"$T" info snap.vmdk > err.txt 2>&1
is "$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "VMDK_ERR_CID" "the snapshot notices its parent changed"
mkfifo fifo
"$T" write ms.vmdk 0 < fifo & wpid=$!
on_exit "kill $wpid"
exec 7> fifo
for _ in $(seq 50); do [ "$(od -An -tu1 -j72 -N1 ms.vmdk | xargs)" = 1 ] && break; sleep 0.1; done
is "$(od -An -tu1 -j72 -N1 ms.vmdk | xargs)" 1 "unclean-shutdown flag set while open for writing"
exec 7>&-
wait $wpid
is "$(od -An -tu1 -j72 -N1 ms.vmdk | xargs)" 0 "flag cleared on a clean close"

# --- locks (VMDK_OPEN_LOCK): shared for reading, exclusive for writing
mkfifo lockfifo
"$T" write --lock mf.vmdk 0 < lockfifo & lpid=$!
on_exit "kill $lpid"
exec 8> lockfifo
for _ in $(seq 50); do grep -q " $lpid " /proc/locks && break; sleep 0.1; done
"$T" info --lock mf.vmdk > /dev/null 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_LOCKED" "a locked read-only open fails while another process writes"
grep -q "in use by process $lpid (vixmount-vmdk) (opened read-write)" err.txt
ok $? "the error names the holder's pid: $(head -1 err.txt)"
echo x | "$T" write --lock mf.vmdk 0 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_LOCKED" "a second read-write open fails"
"$T" info mf.vmdk > /dev/null
ok $? "an open without locking is not blocked"
exec 8>&-
wait $lpid
"$T" info --lock mf.vmdk > /dev/null
ok $? "the lock is gone with the writer"
"$T" read --lock mf.vmdk 0 1 < /dev/null > /dev/null &
"$T" info --lock mf.vmdk > /dev/null
ok $? "shared locks do not conflict"
wait

# --- refusals
qemu-img convert -f vmdk -O vmdk -o subformat=streamOptimized ms.vmdk st.vmdk
echo x | "$T" write st.vmdk 0 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_UNSUPPORTED" "writing a streamOptimized disk is refused"
grep -q 'stream-optimized' err.txt
ok $? "with a message saying why: $(head -1 err.txt)"
head -c 1048576 /dev/zero > z-flat.bin
printf '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "z-flat.bin" 0\nRW 2048 ZERO\n' > zx.vmdk
echo x | "$T" write zx.vmdk 1048576 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_UNSUPPORTED" "writing a ZERO extent is refused"
"$T" zero zx.vmdk 0 2097152
ok $? "zeroing across a ZERO extent is fine"
echo x | "$T" write ms.vmdk 100663296 2> err.txt
is "$?:$(grep -o 'VMDK_ERR_[A-Z]*' err.txt)" "1:VMDK_ERR_RANGE" "writing past the end is refused"

done_testing

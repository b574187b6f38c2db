#!/bin/bash
# libvixDiskLib's write side through the installed library and the backup
# client (compiled with pkg-config against the installed headers): Create of
# every hosted disk type, Write/WriteAsync/Flush/WriteMetadata (a restore),
# CreateChild, Clone (every target type, progress callback, overWrite),
# Attach, Grow, Rename, Unlink, SpaceNeededForClone.  Oracles: qemu-img
# compare/check/info/convert.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/vixdisklib.sh"
need qemu-img qemu-io python3 sha256sum make
CHECK="$top_srcdir/tests/lib/vddkcheck.py"

T=$(scratch)
vddk_install "$T/dest"
vddk_build_client "$T"
cd "$T" || bail "cd $T"

M=$((1024 * 1024))
SIZE=$((48 * M + 512))     # 98305 sectors: a partial last grain and chunk
SECT=$((SIZE / 512))

# The restore source: data at both ends, across grain boundaries, and holes.
python3 - "$SIZE" <<'EOF' || bail "make source.raw"
import sys
size = int(sys.argv[1])
with open("source.raw", "wb") as f:
    f.truncate(size)
    for off, n, b in [(0, 70000, 0x11), (65536 * 3 - 100, 300, 0x22),
                      (5 << 20, 1 << 20, 0x33), (20 << 20, 4096, 0x44),
                      (size - 512, 512, 0x55), (size - 70000, 1000, 0x66)]:
        f.seek(off)
        f.write(bytes([b]) * n)
EOF

# runok LABEL CMD...: the command must succeed; its output is shown if not
runok() {
  local label=$1 out rc
  shift
  out=$("$@" 2>&1)
  rc=$?
  ok $rc "$label"
  [ $rc -eq 0 ] || sed 's/^/#   /' <<<"$out"
  LAST_OUT=$out
  return $rc
}

same_as_raw() {  # LABEL VMDK RAW
  local out
  out=$(qemu-img compare -f vmdk -F raw "$2" "$3" 2>&1)
  ok $? "$1: content equals the expected raw image (qemu-img compare)"
  [ $? -eq 0 ] || diag "$out"
}

qcheck() {  # LABEL VMDK
  local out
  out=$(qemu-img check -f vmdk "$2" 2>&1)
  ok $? "$1: qemu-img check finds no errors"
  [ $? -eq 0 ] || sed 's/^/#   /' <<<"$out"
}

# ---- Create + restore (Write, WriteAsync, Flush, WriteMetadata) -------------
declare -A TYPE=([1]=monolithicSparse [2]=monolithicFlat [3]=twoGbMaxExtentSparse
                 [4]=twoGbMaxExtentFlat)
for t in 1 2 3 4; do
  n=r$t
  if runok "restore into a new ${TYPE[$t]} disk (Create, Open, Write, WriteAsync, Flush, WriteMetadata, Close)" \
       client restore source.raw $n.vmdk $t buslogic; then
    is "$(grep -o 'last=[0-9-]*' <<<"$LAST_OUT")" last=100 "${TYPE[$t]}: Create's progress reached 100"
    grep -q "createType=\"${TYPE[$t]}\"" $n.vmdk
    ok $? "${TYPE[$t]}: descriptor has createType ${TYPE[$t]}"
    is "$(qemu-img info --output=json $n.vmdk | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
       "$SIZE" "${TYPE[$t]}: qemu-img sees the capacity"
    same_as_raw "${TYPE[$t]}" $n.vmdk source.raw
    qcheck "${TYPE[$t]}" $n.vmdk
    grep -aq 'ddb.vixmount.restored = "yes"' $n.vmdk
    ok $? "${TYPE[$t]}: WriteMetadata key is in the descriptor"
    grep -aq 'ddb.adapterType = "buslogic"' $n.vmdk
    ok $? "${TYPE[$t]}: adapter type buslogic recorded"
    # and read back through the library
    runok "${TYPE[$t]}: backup of the restored disk" client backup $n.vmdk b$t \
      && is "$(sha256sum < b$t.raw)" "$(sha256sum < source.raw)" \
            "${TYPE[$t]}: bytes read back equal the source"
    rm -f b$t.*
  fi
done
# an empty stream-optimized disk (made through a sparse one and Clone)
if runok "Create streamOptimized" client restore source.raw r6.vmdk 6; then
  truncate -s "$SIZE" zero.raw
  same_as_raw "empty streamOptimized" r6.vmdk zero.raw
  rm -f zero.raw
  qcheck streamOptimized r6.vmdk
fi
out=$(client restore source.raw r5.vmdk 5 2>&1)
is "$(vddk_err "$out")" 6 "Create vmfs (ESXi only) fails with VIX_E_NOT_SUPPORTED"
[ ! -e r5.vmdk ]
ok $? "a refused Create leaves no file"

# ---- CreateChild + writes into the child --------------------------------------
cp source.raw expect1.raw
printf '\x77%.0s' $(seq 1 $((16 * 512))) | dd of=expect1.raw bs=512 seek=1000 conv=notrunc status=none
if runok "CreateChild (monolithicSparse) on r1 and write 16 sectors into it" \
     client child r1.vmdk c1.vmdk 1 1000 16 0x77; then
  grep -q 'parentFileNameHint="r1.vmdk"' c1.vmdk
  ok $? "c1: parentFileNameHint is r1.vmdk"
  same_as_raw "child c1" c1.vmdk expect1.raw
  qcheck "child c1" c1.vmdk
  same_as_raw "parent r1 after the child's writes" r1.vmdk source.raw
fi
cp expect1.raw expect2.raw
printf '\x78%.0s' $(seq 1 $((3 * 512))) | dd of=expect2.raw bs=512 seek=$((SECT - 3)) conv=notrunc status=none
if runok "CreateChild (splitSparse) on c1 and write the last 3 sectors" \
     client child c1.vmdk c2.vmdk 3 $((SECT - 3)) 3 0x78; then
  same_as_raw "child c2 (3 links)" c2.vmdk expect2.raw
  qcheck "child c2" c2.vmdk
  runok "c2: backup through the chain" client backup c2.vmdk bc2 \
    && is "$(sed -n 's/^numLinks=//p' bc2.info)" 3 "c2: GetInfo numLinks 3"
  rm -f bc2.*
fi

# ---- Attach: parent read-only + child single-link -> the child's chain --------
if runok "Attach c1 (single link) to r1" client attach r1.vmdk c1.vmdk att.raw; then
  is "$(sed -n 's/^numLinks=//p' <<<"$LAST_OUT")" 2 "Attach: the child handle covers 2 links"
  is "$(sha256sum < att.raw)" "$(sha256sum < expect1.raw)" "Attach: reads equal the chain's content"
fi
rm -f att.raw

# ---- Clone: the 3-link chain into every hosted type ------------------------------
declare -A CTYPE=([1]=monolithicSparse [2]=monolithicFlat [3]=twoGbMaxExtentSparse
                  [4]=twoGbMaxExtentFlat [6]=streamOptimized)
for t in 1 2 3 4 6; do
  if runok "Clone c2 chain to ${CTYPE[$t]}" client clone c2.vmdk k$t.vmdk $t; then
    is "$(grep -o 'last=[0-9-]*' <<<"$LAST_OUT")" last=100 "Clone to ${CTYPE[$t]}: progress reached 100"
    same_as_raw "clone ${CTYPE[$t]}" k$t.vmdk expect2.raw
    qcheck "clone ${CTYPE[$t]}" k$t.vmdk
    grep -aq 'ddb.adapterType = "lsilogic"' k$t.vmdk
    ok $? "clone ${CTYPE[$t]}: createParams adapter lsilogic"
  fi
done
out=$(client clone r1.vmdk k1.vmdk 1 2>&1)
is "$(vddk_err "$out")" 12 "Clone onto an existing disk without overWrite: VIX_E_FILE_ALREADY_EXISTS"
if runok "Clone r1 over k3 (split sparse) with overWrite" client clone r1.vmdk k3.vmdk 3 overwrite; then
  same_as_raw "overwritten clone" k3.vmdk source.raw
  [ -z "$(ls k3-s00[2-9].vmdk 2>/dev/null)" ]
  ok $? "overWrite removed the old disk's files"
fi

# ---- SpaceNeededForClone ----------------------------------------------------------
if runok "SpaceNeededForClone(c2, monolithicSparse)" client space c2.vmdk 1; then
  sp=$LAST_OUT
  act=$(stat -c %s k1.vmdk)
  [ "$sp" -ge $((act * 9 / 10)) ] && [ "$sp" -le $((act * 3 + 4 * M)) ]
  ok $? "SpaceNeededForClone estimate $sp is close to the real clone size $act"
fi
if runok "SpaceNeededForClone(c2, monolithicFlat)" client space c2.vmdk 2; then
  [ "$LAST_OUT" -ge "$SIZE" ]
  ok $? "flat estimate $LAST_OUT covers the capacity $SIZE"
fi

# ---- lock directories ----------------------------------------------------------------
dead=$(sh -c 'echo $$')     # a pid that has exited
mkdir k1.vmdk.lck && touch "k1.vmdk.lck/vixmount-$(hostname | tr /- __)-$dead.lck"
runok "a stale lock of a dead vixmount process is taken over" \
  client setmeta k1.vmdk vixmount.lock stale
[ ! -e k1.vmdk.lck ]
ok $? "and removed on Close"
mkdir k1.vmdk.lck && touch k1.vmdk.lck/M12345.lck   # VMware's lock file
out=$(client setmeta k1.vmdk vixmount.lock vmware 2>&1)
is "$(vddk_err "$out")" 15 "a VMware lock refuses a read/write open: VIX_E_FILE_ALREADY_LOCKED"
runok "a read-only open ignores the lock directory" client backup k1.vmdk lk
rm -rf k1.vmdk.lck lk.*

# ---- metadata ----------------------------------------------------------------------
if runok "WriteMetadata/ReadMetadata" client setmeta k1.vmdk vixmount.note "hello world"; then
  is "$LAST_OUT" "vixmount.note = hello world" "the value reads back"
  grep -aq 'ddb.vixmount.note = "hello world"' k1.vmdk
  ok $? "and is in the descriptor"
  qcheck "after WriteMetadata" k1.vmdk
fi

# ---- Rename of a delta link with extents: rebuilt on the same parent under the new name
if runok "Rename the delta link c2 (splitSparse) to c2r" client rename c2.vmdk c2r.vmdk; then
  [ ! -e c2.vmdk ] && [ -z "$(ls c2-* 2>/dev/null)" ]
  ok $? "Rename c2: the old files are gone"
  grep -q 'parentFileNameHint="c1.vmdk"' c2r.vmdk
  ok $? "Rename c2: still a child of c1"
  same_as_raw "renamed delta link" c2r.vmdk expect2.raw
  qcheck "renamed delta link" c2r.vmdk
fi

# ---- Grow --------------------------------------------------------------------------
NEW=$((SECT + 4096))
for t in 1 2; do
  cp -f source.raw grow.raw && truncate -s $((NEW * 512)) grow.raw
  if runok "Grow ${TYPE[$t]} r$t to $NEW sectors" client grow r$t.vmdk $NEW; then
    is "$(qemu-img info --output=json r$t.vmdk | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual-size"])')" \
       $((NEW * 512)) "Grow ${TYPE[$t]}: new capacity"
    same_as_raw "grown ${TYPE[$t]}" r$t.vmdk grow.raw
    qcheck "grown ${TYPE[$t]}" r$t.vmdk
    [ -z "$(ls .r$t.vmdk.grow* 2>/dev/null)" ]
    ok $? "Grow ${TYPE[$t]}: no temporary files left"
    grep -aq 'ddb.vixmount.restored = "yes"' r$t.vmdk
    ok $? "Grow ${TYPE[$t]}: the disk's own metadata is kept"
  fi
done

# ---- Rename, Unlink -----------------------------------------------------------------
declare -A RAW=([1]=expect2.raw [3]=source.raw)   # k3 was overwritten from r1
for t in 1 3; do
  if runok "Rename k$t (${CTYPE[$t]}) to renamed$t" client rename k$t.vmdk renamed$t.vmdk; then
    [ ! -e k$t.vmdk ] && [ -z "$(ls k$t-* 2>/dev/null)" ]
    ok $? "Rename ${CTYPE[$t]}: the old files are gone"
    same_as_raw "renamed ${CTYPE[$t]}" renamed$t.vmdk ${RAW[$t]}
    qcheck "renamed ${CTYPE[$t]}" renamed$t.vmdk
  fi
done
for f in k2 k4 renamed3; do
  if runok "Unlink $f" client unlink $f.vmdk; then
    [ -z "$(ls $f.vmdk $f-* 2>/dev/null)" ]
    ok $? "Unlink $f: descriptor and extents removed"
  fi
done

done_testing

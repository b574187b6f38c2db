#!/bin/bash
# Delta links (doc section 5): chains made by qemu-img, read back through the
# engine and compared with qemu-img (content and allocation map), single-link
# opens, parent hints leaving the child's directory, and the CID check.
. "$top_srcdir/tests/lib/common.sh"
need qemu-img qemu-io python3 sha256sum dd
MAPCOMPARE="$top_srcdir/tests/lib/mapcompare.py"
[ -x "$VMDKTOOL" ] || bail "$VMDKTOOL not built"
[ -x "$READCHECK" ] || bail "$READCHECK not built"

T=$(scratch)
cd "$T" || bail "cd $T"

M=$((1024 * 1024))
G=65536
SIZE=$((100 * M))


# qemu_spec FILE [single]: how qemu-img names the disk (single: without its
# backing file, i.e. one link)
qemu_args() {
  if [ "${2:-}" = single ]; then
    printf '%s\n' "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"file\",\"filename\":\"$1\"},\"backing\":null}"
  else
    printf '%s\n' -f vmdk "$1"
  fi
}

# check_disk LABEL VMDK REFRAW QEMUMODE [TOOL-OPTS...]
#   readcheck, map (against qemu-img map unless QEMUMODE is "nomap") and cat
#   of VMDK, opened with TOOL-OPTS, against the raw image REFRAW.
#   QEMUMODE: "chain" (qemu-img map of the disk), "single" (qemu-img map of
#   the disk without backing), "nomap" (no map comparison).
check_disk() {
  local label=$1 vmdk=$2 ref=$3 mode=$4 out rc qa
  shift 4
  local opts=("$@")

  out=$("$READCHECK" --seed 11 "${opts[@]}" "$vmdk" "$ref" 2>&1)
  rc=$?
  ok $rc "$label: readcheck"
  [ $rc -eq 0 ] || sed 's/^/#   /' <<<"$out"

  if [ "$mode" != nomap ]; then
    local mapopts=()
    [ "$mode" = single ] && mapopts=(--this-layer)
    mapfile -t qa < <(qemu_args "$vmdk" "$([ "$mode" = single ] && echo single)")
    qemu-img map --output=json "${qa[@]}" > map.q.json || bail "qemu-img map $vmdk"
    "$VMDKTOOL" map "${mapopts[@]}" "${opts[@]}" "$vmdk" > map.ours.json 2> map.err
    rc=$?
    if [ $rc -eq 0 ]; then
      out=$(python3 "$MAPCOMPARE" map.ours.json map.q.json 2>&1)
      rc=$?
    else
      out=$(cat map.err)
    fi
    ok $rc "$label: map${mapopts[*]:+ ${mapopts[*]}} equals qemu-img map"
    [ $rc -eq 0 ] || sed 's/^/#   /' <<<"$out"
    rm -f map.q.json map.ours.json map.err
  fi

  out=$("$VMDKTOOL" cat "${opts[@]}" "$vmdk" cat.out 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    ok $rc "$label: cat"
    sed 's/^/#   /' <<<"$out"
  else
    is "$(sha256sum < cat.out)" "$(sha256sum < "$ref")" "$label: cat sha256"
  fi
  rm -f cat.out
}

# to_raw FILE OUT [single]: the oracle's view of the disk
to_raw() {
  local qa
  mapfile -t qa < <(qemu_args "$1" "${3:-}")
  qemu-img convert -O raw "${qa[@]}" "$2" || bail "qemu-img convert $1"
}

# expect_open_error LABEL CODE FILE [TOOL-OPTS...]: info must fail (status 1)
# naming CODE.
expect_open_error() {
  local label=$1 code=$2 file=$3 rc
  shift 3
  "$VMDKTOOL" info "$@" "$file" > info.out 2> info.err
  rc=$?
  is "$rc" 1 "$label: info exits 1"
  grep -q "error code $code\$" info.err
  ok $? "$label: stderr names $code"
  [ $rc -eq 1 ] && grep -q "error code $code\$" info.err \
    || sed 's/^/#   /' info.err
  rm -f info.out info.err
}

expect_open_ok() {
  local label=$1 file=$2 rc
  shift 2
  "$VMDKTOOL" info "$@" "$file" > info.out 2> info.err
  rc=$?
  ok $rc "$label: info opens"
  [ $rc -eq 0 ] || sed 's/^/#   /' info.err
  rm -f info.out info.err
}

# ---- chain A: sparse base <- zeroed-grain child1 <- child2 -----------------
mkdir A && cd A || bail "mkdir A"
qemu-img create -q -f vmdk base.vmdk "$SIZE" || bail "create base"
qemu_io base.vmdk \
  "write -P 0xaa 0 1M" \
  "write -P 0xbb $((10 * M)) 256k" \
  "write -P 0xbc $((40 * M + 100)) 5000" \
  "write -P 0xbd $((SIZE - 512)) 512" \
  "write -P 0xbe $((32 * M - G)) 128k"

qemu-img create -q -f vmdk -o zeroed_grain=on -b base.vmdk -F vmdk child1.vmdk \
  || bail "create child1"
qemu_io child1.vmdk \
  "write -P 0x11 $((4096 + 512)) 512" \
  "write -P 0x12 $((20 * M + 300)) 1000" \
  "write -P 0x13 $((10 * M + G)) 64k" \
  "write -z $((2 * G)) 128k" \
  "write -z $((10 * M + 2 * G + 1000)) 2000" \
  "write -z $((32 * M - G)) 64k" \
  "write -z $((60 * M)) 64k" \
  "write -P 0x14 $((40 * M + 3000)) 300" \
  "write -P 0x15 $((SIZE - 100)) 100"

qemu-img create -q -f vmdk -b child1.vmdk -F vmdk child2.vmdk || bail "create child2"
qemu_io child2.vmdk \
  "write -P 0x21 $((4096 + 700)) 100" \
  "write -P 0x22 $((2 * G + 512)) 512" \
  "write -P 0x23 $((10 * M + 100)) 3000" \
  "write -z $((10 * M + 3 * G)) 64k" \
  "write -P 0x24 $((32 * M - 512)) 1024" \
  "write -P 0x25 $((70 * M)) 200000"

is "$(grep -a -c '^parentFileNameHint="base.vmdk"' child1.vmdk)" 1 "A: child1 hint"

to_raw base.vmdk base.raw
to_raw child1.vmdk child1.raw
to_raw child2.vmdk child2.raw
to_raw child1.vmdk child1.single.raw single
to_raw child2.vmdk child2.single.raw single

check_disk "A base" base.vmdk base.raw chain
check_disk "A child1 (2 links)" child1.vmdk child1.raw chain
check_disk "A child2 (3 links)" child2.vmdk child2.raw chain
check_disk "A child1 --single-link" child1.vmdk child1.single.raw single --single-link
check_disk "A child2 --single-link" child2.vmdk child2.single.raw single --single-link

# the child alone, its parent not reachable: only a single-link open works
mkdir ../alone && cp child2.vmdk ../alone/ || bail "copy child2"
expect_open_error "A child2 without its parent" VMDK_ERR_NOENT ../alone/child2.vmdk
check_disk "A child2 alone --single-link" ../alone/child2.vmdk child2.single.raw nomap --single-link
rm -rf ../alone

# ---- the CID check: write to (a copy of) the base after the child exists ----
mkdir ../cid && cp base.vmdk child1.vmdk ../cid/ || bail "copy chain"
cd ../cid || bail "cd cid"
# one byte where child1 has nothing of its own, so it shows through
POKE=$((50 * M + 4321))
qemu_io base.vmdk "write -P 0x5c $POKE 1"
expect_open_error "CID changed" VMDK_ERR_CID child1.vmdk
"$READCHECK" child1.vmdk ../A/child1.raw > rc.out 2>&1
is $? 2 "CID changed: readcheck cannot open"
grep -q 'VMDK_ERR_CID' rc.out
ok $? "CID changed: readcheck names VMDK_ERR_CID"
rm -f rc.out
expect_open_ok "CID changed, --no-cid-check" child1.vmdk --no-cid-check
# expected content: the old chain with the poked byte
cp ../A/child1.raw expected.raw
printf '\x5c' | dd of=expected.raw bs=1 seek=$POKE conv=notrunc status=none
check_disk "CID changed, --no-cid-check" child1.vmdk expected.raw chain --no-cid-check
# a single-link open never looks at the parent
check_disk "CID changed, --single-link" child1.vmdk ../A/child1.single.raw nomap --single-link
cd ../A && rm -rf ../cid
rm -f base.raw child1.raw child2.raw child1.single.raw child2.single.raw

# ---- chain B: flat base <- sparse child <- zeroed-grain child ---------------
mkdir ../B && cd ../B || bail "mkdir B"
qemu-img create -q -f vmdk -o subformat=monolithicFlat fbase.vmdk "$SIZE" || bail "create fbase"
qemu_io fbase.vmdk \
  "write -P 0xf1 0 1M" \
  "write -P 0xf2 $((10 * M + 333)) 70000" \
  "write -P 0xf3 $((SIZE - 4096)) 4096"
qemu-img create -q -f vmdk -b fbase.vmdk -F vmdk fchild.vmdk || bail "create fchild"
qemu_io fchild.vmdk \
  "write -P 0x31 $((4096 + 512)) 512" \
  "write -P 0x32 $((10 * M + G - 10)) 20" \
  "write -z $((3 * G)) 64k" \
  "write -P 0x33 $((SIZE - 512)) 512"
qemu-img create -q -f vmdk -o zeroed_grain=on -b fchild.vmdk -F vmdk fchild2.vmdk \
  || bail "create fchild2"
qemu_io fchild2.vmdk \
  "write -z 0 64k" \
  "write -P 0x41 $((10 * M + 2 * G)) 1000" \
  "write -z $((SIZE - G)) 64k"
to_raw fchild.vmdk fchild.raw
to_raw fchild2.vmdk fchild2.raw
check_disk "B flat base <- sparse child" fchild.vmdk fchild.raw chain
check_disk "B flat base <- sparse <- zeroed-grain" fchild2.vmdk fchild2.raw chain
# VMDK_OPEN_DIRECT_READ: the same bytes; where this file system has O_DIRECT
# the aligned reads of both kinds of extent go direct, the unaligned ones
# (odd offsets, sizes) fall back to buffered reads
out=$("$READCHECK" --seed 12 --direct-read fchild2.vmdk fchild2.raw 2>&1); rc=$?
is "$rc:$(grep -c '^readcheck: [0-9]* reads, 0 mismatches$' <<<"$out")" "0:1" \
  "B --direct-read: readcheck, every read equal"
n=$(sed -n 's/^readcheck: \([0-9]*\) direct reads$/\1/p' <<<"$out")
if has_odirect fbase-flat.vmdk; then
  [ "${n:-0}" -gt 100 ]; ok $? "B --direct-read: $n reads went O_DIRECT (this file system has it)"
else
  is "$n" 0 "B --direct-read: no read went O_DIRECT (this file system has none)"
fi
cd .. && rm -rf A B

# ---- chain C: the child in a subdirectory, hint "../base.vmdk" ---------------
mkdir C C/sub && cd C || bail "mkdir C"
qemu-img create -q -f vmdk base.vmdk "$SIZE" || bail "create C base"
qemu_io base.vmdk "write -P 0xc1 0 256k" "write -P 0xc2 $((50 * M + 7)) 9999"
(cd sub && qemu-img create -q -f vmdk -b ../base.vmdk -F vmdk child.vmdk) \
  || bail "create C child"
qemu_io sub/child.vmdk "write -P 0xc3 $((G - 256)) 512" "write -P 0xc4 $((50 * M)) 512"
is "$(grep -a -c '^parentFileNameHint="../base.vmdk"' sub/child.vmdk)" 1 "C: hint is ../base.vmdk"
to_raw sub/child.vmdk child.raw

# by default the hint may not leave the child's directory, and sub/base.vmdk
# (the basename fallback) does not exist
expect_open_error "C escaping hint" VMDK_ERR_PATH sub/child.vmdk
# from inside the directory too (relative resolution must not depend on cwd)
cd sub || bail "cd sub"
expect_open_error "C escaping hint (cwd sub)" VMDK_ERR_PATH child.vmdk
cd .. || bail "cd .."
expect_open_ok "C --allow-escape" sub/child.vmdk --allow-escape
check_disk "C --allow-escape" sub/child.vmdk child.raw chain --allow-escape
(cd / && "$READCHECK" --allow-escape "$T/C/sub/child.vmdk" "$T/C/child.raw" > /dev/null 2>&1)
ok $? "C --allow-escape, opened from another cwd"

# basename fallback: a copy of the parent next to the child is used
cp base.vmdk sub/base.vmdk || bail "copy C base"
expect_open_ok "C basename fallback" sub/child.vmdk
check_disk "C basename fallback" sub/child.vmdk child.raw chain
cd .. && rm -rf C

done_testing

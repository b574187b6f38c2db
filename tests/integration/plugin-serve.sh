#!/bin/bash
# plugin-serve.sh: the nbdkit vmdk plugin serves what qemu reads.
#
# Every qemu-img subformat (and a zeroed-grain disk and a 3-link snapshot
# chain), filled with qemu-io patterns, is served by the plugin and read back
# by several NBD clients: nbdcopy (with and without block status, and with 4
# connections), qemu-img over NBD.  The data must equal `qemu-img convert -O
# raw`, and the block status (nbdinfo --map, qemu-img map over NBD, which
# asks for one extent at a time) must agree with the engine's map and with
# qemu-img map.  Then: a set of disks and its export names, the parameters,
# refusal of malformed disks at startup, read-only behaviour, the cow filter
# on top, block size constraints.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img qemu-io nbdinfo nbdcopy jq python3 cmp sha256sum timeout truncate

T=$(scratch)
cd "$T" || bail "cd $T"

# ---- helpers ----------------------------------------------------------------

# Block status as data/hole runs, one "START END CLASS" line per merged run.
#   runs.py nbd  FILE  (nbdinfo --map --json: type 0 = data, 2 = zero (allocated,
#                       a hole of a flat file), 3 = hole,zero;
#                       any other type is an error: the plugin documents
#                       that it only uses these two)
#   runs.py qemu FILE  (qemu-img map --output=json format, also the engine's:
#                       "data" decides; qemu marks holes of flat files as
#                       data+zero, which stays data)
cat > runs.py <<'EOF'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
entries = json.load(open(path))
runs, bad = [], 0
for e in entries:
    if kind == "nbd":
        start, length, t = e["offset"], e["length"], e["type"]
        if t not in (0, 2, 3):   # 2 = zero only: a hole of a flat extent's file
            print("unexpected extent type %d at %d" % (t, start), file=sys.stderr)
            bad = 1
        cls = "hole" if t & 1 else "data"
    else:
        start, length = e["start"], e["length"]
        cls = "data" if e["data"] else "hole"
    if length == 0:
        continue
    if runs and runs[-1][1] == start and runs[-1][2] == cls:
        runs[-1][1] = start + length
    else:
        if runs and runs[-1][1] != start:
            print("gap/overlap at %d" % start, file=sys.stderr)
            bad = 1
        runs.append([start, start + length, cls])
for r in runs:
    print("%d %d %s" % tuple(r))
sys.exit(bad)
EOF

# same FILE1 FILE2 WHAT: identical raw files.  Large (sparse) files are
# compared with qemu-img compare, which reads every range that either file
# holds as data and skips only ranges that are holes in both: cmp would spend
# seconds reading gigabytes of holes.
same() {
  local r s1 s2
  s1=$(stat -c %s "$1") s2=$(stat -c %s "$2")
  if [ "$s1" != "$s2" ]; then
    ok 1 "$3"; diag "sizes differ: $1 $s1, $2 $s2"; return
  fi
  if [ "$s1" -le $((256 << 20)) ]; then
    cmp "$1" "$2" > cmp.out 2>&1; r=$?
  else
    qemu-img compare -f raw -F raw "$1" "$2" > cmp.out 2>&1; r=$?
  fi
  ok $r "$3"; [ $r -eq 0 ] || diag "$(head -3 cmp.out)"
}

# maps_agree NAME: NAME.nbd.json (plugin via nbdinfo), NAME.qnbd.json (qemu-img
# map over NBD), NAME.eng.json (engine), NAME.qemu.json (qemu-img map)
maps_agree() {
  local n=$1 k r
  python3 runs.py nbd "$n.nbd.json" > "$n.nbd.runs"; ok $? "$n: nbdinfo --map uses only data, zero and hole,zero, no gaps"
  case $n in *Flat*)
    [ "$(jq '[.[] | select(.type == 2)] | length' "$n.nbd.json")" -gt 0 ]
    ok $? "$n: holes of the flat extent file are reported as zero (nbdcopy skips them)" ;;
  esac
  for k in qnbd eng qemu; do
    python3 runs.py qemu "$n.$k.json" > "$n.$k.runs" 2> "$n.$k.err" || cat "$n.$k.err" >&2
  done
  for k in eng qemu qnbd; do
    diff "$n.nbd.runs" "$n.$k.runs" > "$n.$k.diff"; r=$?
    case $k in
      eng) ok $r "$n: plugin block status = engine map ($(wc -l < "$n.nbd.runs") runs)" ;;
      qemu) ok $r "$n: plugin block status = qemu-img map (data/hole)" ;;
      qnbd) ok $r "$n: qemu-img map over NBD (one extent per request) = nbdinfo --map" ;;
    esac
    [ $r -eq 0 ] || head -8 "$n.$k.diff" | sed 's/^/#   /'
  done
}

# Patterns written with qemu-io into a raw file: sector-aligned and not,
# crossing grain boundaries, the last sector, incompressible data.
fill_raw() {  # FILE SIZE_MIB [EXTRA qemu-io commands...]
  local f=$1 mib=$2; shift 2
  local size=$((mib * 1024 * 1024)) cmds=()
  truncate -s "${mib}M" "$f"
  cmds=(-c "write -P 0x11 0 4k" -c "write -P 0x22 65024 1k"
        -c "write -P 0x33 1M 3M" -c "write -P 0x5a 20971620 1000"
        -c "write -P 0x77 $((40 * 1048576 + 65535)) 1"
        -c "write -P 0x66 $((size - 512)) 512")
  for c in "$@"; do cmds+=(-c "$c"); done
  qemu-io -f raw "${cmds[@]}" "$f" > /dev/null || bail "qemu-io on $f"
  # 2 MiB of incompressible bytes at 8 MiB (deterministic)
  python3 -c 'import random,sys; random.seed(3); sys.stdout.buffer.write(random.randbytes(2 << 20))' |
    dd of="$f" bs=1M seek=8 conv=notrunc status=none || bail "random data"
}

# check_disk NAME FILE PREFERRED [plugin params...]: serve FILE, compare.
check_disk() {
  local n=$1 f=$2 pref=$3; shift 3
  local sock="$T/$n.sock" uri r
  qemu-img convert -f vmdk -O raw "$f" "$n.ref" || bail "qemu-img convert $f"
  if ! nbdkit_start "$sock" -r -- file="$f" "$@"; then
    ok 1 "$n: nbdkit serves $f"; return
  fi
  ok 0 "$n: nbdkit serves $f"
  uri=$(nbd_uri "$sock")
  is "$(nbdinfo --size "$uri")" "$(stat -c %s "$n.ref")" "$n: export size"

  nbdcopy "$uri" "$n.out"; ok $? "$n: nbdcopy"
  same "$n.ref" "$n.out" "$n: nbdcopy output = qemu-img convert -O raw"
  if [ "$(stat -c %s "$n.ref")" -le $((256 << 20)) ]; then
    nbdcopy --no-extents "$uri" - | cmp - "$n.ref" > cmp.out 2>&1
    ok $? "$n: nbdcopy --no-extents (reads holes too) = qemu-img convert"
  else
    # around the extent boundary at 2 GiB: holes, patterns, holes, read
    # whatever the block status says (see the patterns below)
    qemu-io -r -f raw -c "read -P 0 2046M 1M" -c "read -P 0x88 2047M $((1048576 - 512))" \
      -c "read -P 0x99 $((2048 * 1048576 - 512)) 1k" -c "read -P 0x88 $((2048 * 1048576 + 512)) $((1048576 - 512))" \
      -c "read -P 0 2049M 1M" -c "read -P 0 2098M 1M" -c "read -P 0xaa 2099M 64k" \
      -c "read -P 0 $((2099 * 1048576 + 65536)) $((1048576 - 65536 - 512))" \
      -c "read -P 0x66 $((2100 * 1048576 - 512)) 512" "$uri" > qio.out 2>&1
    if [ $? -eq 0 ] && ! grep -qi 'fail\|error' qio.out; then r=0; else r=1; fi
    ok $r "$n: reads across the extent boundary, holes included, over NBD"
    [ $r -eq 0 ] || diag "$(grep -i 'fail\|error' qio.out | head -3)"
  fi
  rm -f "$n.out"
  qemu-img convert -f raw -O raw "$uri" "$n.qout"; ok $? "$n: qemu-img convert from NBD"
  same "$n.ref" "$n.qout" "$n: qemu-img reading over NBD = qemu-img convert"
  rm -f "$n.qout"

  nbdinfo --map --json "$uri" > "$n.nbd.json"; ok $? "$n: nbdinfo --map"
  qemu-img map -f raw --output=json "$uri" > "$n.qnbd.json" || diag "qemu-img map over NBD failed"
  "$VMDKTOOL" map "$f" > "$n.eng.json" || diag "vixmount-vmdk map $f failed"
  qemu-img map -f vmdk --output=json "$f" > "$n.qemu.json" || diag "qemu-img map $f failed"
  maps_agree "$n"

  nbdinfo --json "$uri" > "$n.info.json"
  is "$(jq -r '.exports[0].block_size_minimum' "$n.info.json")" 512 "$n: block size minimum 512"
  is "$(jq -r '.exports[0].block_size_preferred' "$n.info.json")" "$pref" "$n: block size preferred $pref"
  is "$(jq -r '.exports[0].is_read_only' "$n.info.json")" true "$n: export is read-only (nbdkit -r)"
  nbdkit_stop "$NBDKIT_PID"; ok $? "$n: nbdkit exits cleanly"
  rm -f "$n.ref"
}

# ---- images ---------------------------------------------------------------

fill_raw base.raw 64
for sf in monolithicSparse:ms streamOptimized:so monolithicFlat:mf; do
  qemu-img convert -f raw -O vmdk -o subformat="${sf%%:*}" base.raw "${sf#*:}.vmdk" ||
    bail "qemu-img convert to ${sf%%:*}"
done
# zeroed grains: whole zeroed grains over data become zeroed GTEs; the
# unaligned zero write is real zeros in an allocated grain
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse,zeroed_grain=on base.raw zg.vmdk ||
  bail "zeroed_grain image"
qemu-io -f vmdk -c "write -z 1M 256k" -c "write -z $((8 * 1048576 + 4096)) 4k" zg.vmdk > /dev/null ||
  bail "qemu-io write -z"

# two 2 GiB extents: patterns around the extent boundary at 2048 MiB
fill_raw big.raw 2100 "write -P 0x88 $((2047 * 1048576)) 2M" \
  "write -P 0x99 $((2048 * 1048576 - 512)) 1k" "write -P 0xaa $((2099 * 1048576)) 64k"
for sf in twoGbMaxExtentSparse:tgs twoGbMaxExtentFlat:tgf; do
  qemu-img convert -f raw -O vmdk -o subformat="${sf%%:*}" big.raw "${sf#*:}.vmdk" ||
    bail "qemu-img convert to ${sf%%:*}"
done
rm -f big.raw

# snapshot chain: base <- child1 <- child2 (zeroed_grain=on)
mkdir chain
qemu-img convert -f raw -O vmdk base.raw chain/base.vmdk || bail "chain base"
qemu-img create -q -f vmdk -b base.vmdk -F vmdk chain/child1.vmdk || bail "chain child1"
qemu-io -f vmdk -c "write -P 0xa1 $((1048576 + 512)) 64k" -c "write -P 0xa2 50M 128k" \
  -c "write -P 0xa3 63M 1M" chain/child1.vmdk > /dev/null || bail "qemu-io child1"
qemu-img create -q -f vmdk -o zeroed_grain=on -b child1.vmdk -F vmdk chain/child2.vmdk ||
  bail "chain child2"
qemu-io -f vmdk -c "write -P 0xb1 $((50 * 1048576 + 65536)) 4k" -c "write -z 1M 128k" \
  -c "write -z $((8 * 1048576 + 4096)) 4k" -c "write -P 0xb2 30M 64k" \
  chain/child2.vmdk > /dev/null || bail "qemu-io child2"
rm -f base.raw
diag "images made"

# ---- each subformat -----------------------------------------------------

check_disk monolithicSparse ms.vmdk 65536
check_disk streamOptimized so.vmdk 65536
check_disk monolithicFlat mf.vmdk 4096
check_disk zeroed-grain zg.vmdk 65536
check_disk twoGbMaxExtentSparse tgs.vmdk 65536
check_disk twoGbMaxExtentFlat tgf.vmdk 4096
check_disk chain chain/child2.vmdk 65536

# ---- a set of disks -------------------------------------------------------

truncate -s 16M small.raw
qemu-io -f raw -c "write -P 0xc1 0 1M" -c "write -P 0xc2 15M 1M" small.raw > /dev/null
qemu-img convert -f raw -O vmdk small.raw small.vmdk || bail "small.vmdk"
qemu-img convert -f vmdk -O raw ms.vmdk ms.ref
sock="$T/set.sock"
if nbdkit_start "$sock" -- file=ms.vmdk file=small.vmdk file=chain/child2.vmdk; then
  ok 0 "set: nbdkit serves three disks"
  nbdinfo --list --json "$(nbd_uri "$sock")" > set.json; ok $? "set: nbdinfo --list"
  is "$(jq -r '[.exports[]."export-name"] | join(" ")' set.json)" \
     "0 ms.vmdk 1 small.vmdk 2 child2.vmdk" "set: export names (index, then basename)"
  is "$(jq -r '.exports[] | select(."export-name" == "1") | .description' set.json)" \
     "disk 1: small.vmdk (monolithicSparse, 16 MiB)" "set: description of export 1"
  is "$(jq -r '.exports[] | select(."export-name" == "small.vmdk") | .description' set.json)" \
     "disk 1: small.vmdk (monolithicSparse, 16 MiB)" "set: the alias has the same description"
  is "$(jq -r '.exports[] | select(."export-name" == "2") | .description' set.json)" \
     "disk 2: chain/child2.vmdk (monolithicSparse, 64 MiB, 3 links)" "set: description of a chain"
  is "$(jq -r '[.exports[]."export-size"] | join(" ")' set.json)" \
     "67108864 67108864 16777216 16777216 67108864 67108864" "set: sizes by export"
  is "$(nbdinfo --size "$(nbd_uri "$sock" small.vmdk)")" 16777216 "set: size by alias"
  is "$(nbdinfo --size "$(nbd_uri "$sock")")" 67108864 "set: default export is disk 0"
  is "$(nbdinfo --json "$(nbd_uri "$sock")" | jq -r '.exports[0]."export-name"')" 0 \
     "set: default export announced as \"0\""
  nbdcopy "$(nbd_uri "$sock" 1)" set1.out && same small.raw set1.out "set: content of export 1"
  nbdcopy "$(nbd_uri "$sock" small.vmdk)" set1b.out && same small.raw set1b.out "set: content of export small.vmdk"
  nbdcopy "$(nbd_uri "$sock" ms.vmdk)" set0.out && same ms.ref set0.out "set: content of export ms.vmdk"
  nbdinfo --size "$(nbd_uri "$sock" 3)" > /dev/null 2>&1; ok $((! $?)) "set: export 3 does not exist"
  nbdinfo --size "$(nbd_uri "$sock" nope.vmdk)" > /dev/null 2>&1; ok $((! $?)) "set: unknown export name refused"
  nbdinfo --size "$(nbd_uri "$sock" 01)" > /dev/null 2>&1; ok $((! $?)) "set: export \"01\" is not \"1\""
  grep -q "unknown export 'nope.vmdk'" "$sock.log"; ok $? "set: server logs the unknown export"
  nbdkit_stop "$NBDKIT_PID"; ok $? "set: nbdkit exits cleanly"
else
  ok 1 "set: nbdkit serves three disks"
fi
rm -f set*.out

# same basename twice: no aliases, numbers only; magic key: no "file="
mkdir -p other && cp small.vmdk other/ms.vmdk
if nbdkit_start "$T/dup.sock" -- ms.vmdk file=other/ms.vmdk; then
  is "$(nbdinfo --list --json "$(nbd_uri "$T/dup.sock")" | jq -r '[.exports[]."export-name"] | join(" ")')" \
     "0 1" "same basename twice: only numbered exports"
  is "$(nbdinfo --size "$(nbd_uri "$T/dup.sock" 1)")" 16777216 "magic config key: first disk without file="
  nbdkit_stop "$NBDKIT_PID"
else
  ok 1 "same basename twice: nbdkit starts"
fi

# ---- parameters ------------------------------------------------------------

nbdkit_run "$PLUGIN" --help > help.out 2>&1; ok $? "nbdkit vmdk --help"
for p in file= single-link= allow-escape= no-cid-check= gt-cache= direct-read=; do
  grep -q -- "$p" help.out; ok $? "--help lists $p"
done

# gt-cache=0 (no grain table cached), 4 connections at once
if nbdkit_start "$T/gt.sock" -- file=ms.vmdk file=tgs.vmdk gt-cache=0; then
  is "$(nbdinfo --can multi-conn "$(nbd_uri "$T/gt.sock")"; echo $?)" 0 "multi-conn advertised"
  nbdcopy --connections=4 --no-extents "$(nbd_uri "$T/gt.sock")" - | cmp - ms.ref > cmp.out 2>&1
  ok $? "gt-cache=0, 4 connections, holes read: data = qemu-img convert"
  qemu-img convert -f vmdk -O raw tgs.vmdk tgs.ref
  nbdcopy --connections=4 "$(nbd_uri "$T/gt.sock" 1)" tgs.out
  same tgs.ref tgs.out "gt-cache=0, 4 connections, 2 extents: data = qemu-img convert"
  rm -f tgs.ref tgs.out
  nbdkit_stop "$NBDKIT_PID"; ok $? "gt-cache=0: nbdkit exits cleanly"
else
  ok 1 "gt-cache=0: nbdkit starts"
fi
if nbdkit_start "$T/gt1.sock" -- file=ms.vmdk gt-cache=4k; then
  nbdcopy "$(nbd_uri "$T/gt1.sock")" gt1.out && same ms.ref gt1.out "gt-cache=4k: data = qemu-img convert"
  nbdkit_stop "$NBDKIT_PID"; rm -f gt1.out
else
  ok 1 "gt-cache=4k: nbdkit starts"
fi
nbdkit_fails gtbad.out -f -U "$T/x.sock" --exit-with-parent "$PLUGIN" file=ms.vmdk gt-cache=lots
r=$?; ok $((r == 0 || r == 124)) "gt-cache=lots refused"

# direct-read=true: the data read with O_DIRECT where this file system has it
if nbdkit_start "$T/dr.sock" -- file=ms.vmdk direct-read=true; then
  if has_odirect ms.vmdk; then
    is "$(direct_fds "$NBDKIT_PID" "$T/ms.vmdk")" 1 "direct-read=true: nbdkit holds an O_DIRECT descriptor of the VMDK"
  else
    is "$(direct_fds "$NBDKIT_PID" "$T/ms.vmdk")" 0 "direct-read=true: no O_DIRECT descriptor (this file system has none)"
  fi
  nbdcopy --connections=4 "$(nbd_uri "$T/dr.sock")" dr.out && same ms.ref dr.out "direct-read=true, 4 connections: data = qemu-img convert"
  nbdkit_stop "$NBDKIT_PID"; rm -f dr.out
else
  ok 1 "direct-read=true: nbdkit starts"
fi
nbdkit_fails drbad.out -f -U "$T/x.sock" --exit-with-parent "$PLUGIN" file=ms.vmdk direct-read=often
r=$?; ok $((r == 0 || r == 124)) "direct-read=often refused"

# single-link: the top link alone, unallocated grains read as zeros
qemu-img convert -O raw "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"file\",\"filename\":\"$T/chain/child2.vmdk\"},\"backing\":null}" \
  top.ref || bail "qemu-img convert of the top link alone"
qemu-img map --output=json "json:{\"driver\":\"vmdk\",\"file\":{\"driver\":\"file\",\"filename\":\"$T/chain/child2.vmdk\"},\"backing\":null}" \
  > top.qemu.json
if nbdkit_start "$T/sl.sock" -- file=chain/child2.vmdk single-link=true; then
  nbdcopy "$(nbd_uri "$T/sl.sock")" top.out && same top.ref top.out "single-link=true: the top link alone"
  nbdinfo --map --json "$(nbd_uri "$T/sl.sock")" > top.nbd.json
  python3 runs.py nbd top.nbd.json > top.nbd.runs; python3 runs.py qemu top.qemu.json > top.qemu.runs
  diff top.nbd.runs top.qemu.runs > /dev/null; ok $? "single-link=true: block status = qemu-img map of the link"
  nbdkit_stop "$NBDKIT_PID"
else
  ok 1 "single-link=true: nbdkit starts"
fi

# no-cid-check: the parent changed after the child was made
# (qemu refuses to read such a chain, so the expected data is made before
# the change and then gets the same change)
mkdir cid
qemu-img convert -f raw -O vmdk small.raw cid/base.vmdk
qemu-img create -q -f vmdk -b base.vmdk -F vmdk cid/child.vmdk
qemu-io -f vmdk -c "write -P 0xd0 0 64k" cid/child.vmdk > /dev/null
qemu-img convert -f vmdk -O raw cid/child.vmdk cid.ref
qemu-io -f vmdk -c "write -P 0xd1 2M 64k" cid/base.vmdk > /dev/null   # qemu gives base a new CID
qemu-io -f raw -c "write -P 0xd1 2M 64k" cid.ref > /dev/null
nbdkit_fails cid.out -f -U "$T/cid.sock" --exit-with-parent "$PLUGIN" file=cid/child.vmdk
r=$?; ok $((r == 0 || r == 124)) "parentCID mismatch refused"
grep -q "child.vmdk\|base.vmdk" cid.out; ok $? "parentCID mismatch: message names the file"
diag "$(head -2 cid.out)"
if nbdkit_start "$T/cid2.sock" -- file=cid/child.vmdk no-cid-check=true; then
  ok 0 "no-cid-check=true: served anyway"
  nbdcopy "$(nbd_uri "$T/cid2.sock")" cid.raw && same cid.ref cid.raw "no-cid-check=true: data = qemu-img convert"
  nbdkit_stop "$NBDKIT_PID"
else
  ok 1 "no-cid-check=true: served anyway"
fi

# allow-escape: a parent outside the child's directory
mkdir -p esc/sub
qemu-img convert -f raw -O vmdk small.raw esc/base.vmdk
qemu-img create -q -f vmdk -b ../base.vmdk -F vmdk esc/sub/child.vmdk
qemu-io -f vmdk -c "write -P 0xe1 4M 64k" esc/sub/child.vmdk > /dev/null
nbdkit_fails esc.out -f -U "$T/esc.sock" --exit-with-parent "$PLUGIN" file=esc/sub/child.vmdk
r=$?; ok $((r == 0 || r == 124)) "parent path leaving the directory refused"
grep -q "child.vmdk\|base.vmdk" esc.out; ok $? "escaping path: message names the file"
diag "$(head -2 esc.out)"
if nbdkit_start "$T/esc2.sock" -- file=esc/sub/child.vmdk allow-escape=true; then
  qemu-img convert -f vmdk -O raw esc/sub/child.vmdk esc.ref
  nbdcopy "$(nbd_uri "$T/esc2.sock")" esc.raw && same esc.ref esc.raw "allow-escape=true: data = qemu-img convert"
  nbdkit_stop "$NBDKIT_PID"
else
  ok 1 "allow-escape=true: nbdkit starts"
fi

# ---- disks that do not open: nbdkit refuses to start ----------------------

{ printf 'KDMV'; head -c 96 /dev/zero; } > bad.vmdk
for args in "file=bad.vmdk" "file=ms.vmdk file=bad.vmdk" "file=missing.vmdk" ""; do
  rm -f "$T/bad.sock"
  # shellcheck disable=SC2086
  nbdkit_fails bad.out -f -U "$T/bad.sock" --exit-with-parent "$PLUGIN" $args
  r=$?
  ok $((r == 0 || r == 124)) "nbdkit vmdk ${args:-(no file)}: exits non-zero at start"
  [ -e "$T/bad.sock" ]; ok $((! $?)) "nbdkit vmdk ${args:-(no file)}: no socket created"
  case $args in
    *bad.vmdk) grep -q "bad\.vmdk" bad.out; ok $? "malformed disk: message names bad.vmdk" ;;
    *missing*) grep -q "missing\.vmdk" bad.out; ok $? "missing disk: message names missing.vmdk" ;;
    "") grep -q "file=" bad.out; ok $? "no disk: message asks for file=" ;;
  esac
  diag "$(grep -v '^$' bad.out | head -1)"
done

# ---- read-only, and writable through the cow filter -----------------------

sum_before=$(sha256sum ms.vmdk)
if nbdkit_start "$T/ro.sock" -r -- file=ms.vmdk; then
  uri=$(nbd_uri "$T/ro.sock")
  # (libnbd 1.14's nbdinfo exits 2, not 1, for "--can write" on a
  # read-only export, as with nbdkit -r file: any failure will do)
  nbdinfo --can write "$uri"; ok $((! $?)) "nbdkit -r: nbdinfo --can write fails"
  nbdinfo --is read-only "$uri"; is $? 0 "nbdkit -r: nbdinfo --is read-only: true"
  qemu-io -f raw -c "write -P 0x55 0 4k" "$uri" > ro.out 2>&1
  r=$?
  if [ $r -ne 0 ] || grep -qi 'read-only\|not permitted\|error' ro.out; then r=0; else r=1; fi
  ok $r "nbdkit -r: qemu-io write over NBD fails"
  diag "$(head -1 ro.out)"
  head -c 1M /dev/zero > zero1m
  nbdcopy zero1m "$uri" > ro2.out 2>&1; ok $((! $?)) "nbdkit -r: nbdcopy to the export fails"
  nbdkit_stop "$NBDKIT_PID"
else
  ok 1 "read-only: nbdkit starts"
fi
is "$(sha256sum ms.vmdk)" "$sum_before" "nbdkit -r never writes the VMDK (not even the unclean flag)"

# ---- writable: writes go through unless nbdkit runs with -r ------------------
qemu-img convert -f vmdk -O vmdk ms.vmdk w.vmdk
qemu-img convert -f vmdk -O raw w.vmdk w.raw
if nbdkit_start "$T/rw.sock" -- file=w.vmdk file=so.vmdk; then
  uri=$(nbd_uri "$T/rw.sock")
  nbdinfo --can write "$uri"; is $? 0 "without -r: a monolithicSparse export is writable"
  nbdinfo --can fua "$uri"; is $? 0 "without -r: FUA is supported"
  nbdinfo --can write "$(nbd_uri "$T/rw.sock" 1)"; ok $((! $?)) "a streamOptimized export stays read-only"
  is "$(od -An -tu1 -j72 -N1 w.vmdk | xargs)" 1 "the unclean flag is set while nbdkit writes the disk"
  qemu-io -f raw -c "write -P 0x5c 1000448 70000" -c "write -z 3M 64k" "$uri" > rw.out 2>&1
  ok $? "qemu-io writes through the plugin"
  printf '\x5c%.0s' $(seq 70000) | dd of=w.raw bs=1 seek=1000448 conv=notrunc status=none
  dd if=/dev/zero of=w.raw bs=64k seek=48 count=1 conv=notrunc status=none
  nbdkit_stop "$NBDKIT_PID"; ok $? "nbdkit exits cleanly after writes"
  is "$(od -An -tu1 -j72 -N1 w.vmdk | xargs)" 0 "the unclean flag is cleared on a clean exit"
  qemu-img compare -q -f vmdk -F raw w.vmdk w.raw; ok $? "qemu-img reads the writes back"
  qemu-img check -q w.vmdk; ok $? "qemu-img check finds no errors after writes through nbdkit"
else
  ok 1 "writable: nbdkit starts"
fi

# Thousands of random writes, zero writes and trims through nbdkit, mirrored.
qemu-img create -q -f vmdk rnd.vmdk 200M
qemu-img convert -f vmdk -O raw rnd.vmdk rnd.raw
if nbdkit_start "$T/rnd.sock" -- file=rnd.vmdk; then
  "$top_builddir/tests/crashclient" --ops 3000 "$T/rnd.sock" rnd.raw /dev/null 7 > rnd.out 2>&1
  ok $? "random workload through the plugin: $(tail -1 rnd.out)"
  nbdkit_stop "$NBDKIT_PID"
  qemu-img compare -q -f vmdk -F raw rnd.vmdk rnd.raw; ok $? "qemu-img compare: identical to the mirror"
  qemu-img check -q rnd.vmdk; ok $? "qemu-img check: no errors"
  vmdkinfo rnd.vmdk > /dev/null 2>&1; ok $? "vmdkinfo opens it"
else
  ok 1 "random workload: nbdkit starts"
fi
rm -f w.raw rnd.raw

# Several writers at once (multi-conn): nbdcopy over 4 connections.
qemu-img create -q -f vmdk -o zeroed_grain=on mc.vmdk 128M
head -c 134217728 /dev/urandom > mc.raw
dd if=/dev/zero of=mc.raw bs=1M seek=40 count=20 conv=notrunc status=none
if nbdkit_start "$T/mc.sock" -- file=mc.vmdk; then
  nbdcopy --connections=4 --requests=16 mc.raw "$(nbd_uri "$T/mc.sock")"
  ok $? "nbdcopy writes over 4 connections"
  nbdkit_stop "$NBDKIT_PID"
  qemu-img compare -q -f vmdk -F raw mc.vmdk mc.raw; ok $? "parallel writers: qemu-img compare identical"
  qemu-img check -q mc.vmdk; ok $? "parallel writers: qemu-img check finds no errors"
else
  ok 1 "multi-conn writers: nbdkit starts"
fi
rm -f mc.raw

if nbdkit_start "$T/cow.sock" --filter=cow -- file=ms.vmdk; then
  uri=$(nbd_uri "$T/cow.sock")
  nbdinfo --can write "$uri"; is $? 0 "cow filter: export writable"
  qemu-io -f raw -c "write -P 0xee 1M 64k" -c "read -P 0xee 1M 64k" -c "read -P 0x33 $((1048576 + 65536)) 64k" \
    -c "write -P 0xef 100 1000" -c "read -P 0xef 100 1000" -c "read -P 0x11 1100 1000" "$uri" > cow.out 2>&1
  r=$?
  if [ $r -eq 0 ] && ! grep -qi 'fail\|error' cow.out; then r=0; else r=1; fi
  ok $r "cow filter: write then read back"
  [ $r -eq 0 ] || diag "$(head -3 cow.out)"
  nbdkit_stop "$NBDKIT_PID"; ok $? "cow filter: nbdkit exits cleanly"
else
  ok 1 "cow filter: nbdkit starts"
fi
is "$(sha256sum ms.vmdk)" "$sum_before" "VMDK file unchanged after writes through the cow filter (the plugin opened read-only under it)"

done_testing

#!/bin/bash
# esx-extents.sh: ESX-only extent kinds that qemu-img cannot create, built
# byte by byte by tests/lib/mkesx.py from the format fact sheet:
#   - COWD (vmfsSparse) extents, grain 8 and grain 1, multi-GT, deltas;
#   - seSparse extents: zero/unmapped grains, high grain slots, deltas;
#   - VMware-style streamOptimized (GD_AT_END, GT/GD/footer/EOS markers),
#     GTs interleaved or at the end, raw-deflate grains;
#   - a custom descriptor mixing FLAT (with offset), ZERO and SPARSE extents.
# For each disk: (a) qemu-img reads it as the reference (validates the
# builder), (b) readcheck reads it byte-exactly, (c) `vixmount-vmdk cat`
# has the reference's sha256, (d) `vixmount-vmdk map` agrees with
# `qemu-img map`, (e) deltas resolve their parent (2 links, single-link view),
# (f) `vixmount-vmdk info --json` reports the extent kinds.
. "$top_srcdir/tests/lib/common.sh"
need qemu-img python3 sha256sum cmp dd truncate
[ -x "$VMDKTOOL" ] || bail "$VMDKTOOL not built"
[ -x "$READCHECK" ] || bail "$READCHECK not built (make check builds it)"

MKESX="$top_srcdir/tests/lib/mkesx.py"
MAPCMP="$top_srcdir/tests/lib/mapcompare.py"
T=$(scratch)
# scratch runs in a $(...) subshell, so its on_exit registration is lost there:
# register the removal here, in this shell.
on_exit "rm -rf '$T'"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# infocheck INFO.json CHECK...: checks on `vixmount-vmdk info --json` output
# ({"createType", "links", "cid", "parentCID", "extents": [{"type", ...}],
#   "parent": {...}|null, ...}).
#   KEY=VALUE         top-level field KEY (true/false/number/string)
#   parent.KEY=VALUE  field of the parent link
#   types=A,B,...     extent types of the top link, in order
#   eN.KEY=VALUE      field KEY of extent N
cat > "$T/infocheck.py" <<'EOF'
import json, sys

def fail(msg):
    print("infocheck: " + msg)
    sys.exit(1)

def field(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        fail("%s has no field %s (fields: %s)" % (where, key, ", ".join(
            obj) if isinstance(obj, dict) else type(obj).__name__))
    v = obj[key]
    return v if isinstance(v, str) else json.dumps(v)

try:
    j = json.load(open(sys.argv[1]))
except ValueError as e:
    fail("not JSON: %s" % e)
exts = j.get("extents")
if not isinstance(exts, list):
    fail("no extents list")
for check in sys.argv[2:]:
    key, _, want = check.partition("=")
    if key == "types":
        got = ",".join(str(e.get("type")) for e in exts)
        where = "extent types"
    elif key.startswith("parent."):
        got, where = field(j.get("parent"), key[7:], "parent"), key
    elif key[0] == "e" and key[1:2].isdigit():
        n, _, k = key[1:].partition(".")
        if int(n) >= len(exts):
            fail("no extent %s" % n)
        got, where = field(exts[int(n)], k, "extent " + n), key
    else:
        got, where = field(j, key, "the disk"), key
    if got != want:
        fail("%s: got %s, expected %s" % (where, got, want))
EOF

# qmapzero IN OUT START END: qemu's map with [START, END) turned into a
# depth-0 zero range (what a ZERO extent is; qemu reads the twin's zero file).
cat > "$T/qmapzero.py" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
lo, hi = int(sys.argv[3]), int(sys.argv[4])
out = []
for e in m:
    s, t = e["start"], e["start"] + e["length"]
    for a, b in ((s, min(t, lo)), (max(s, hi), t)):
        if a < b:
            f = dict(e, start=a, length=b - a)
            if "offset" in e:
                f["offset"] = e["offset"] + a - s
            out.append(f)
out.append({"start": lo, "length": hi - lo, "depth": 0, "present": True,
            "zero": True, "data": False})
json.dump(sorted(out, key=lambda e: e["start"]), open(sys.argv[2], "w"))
EOF

# ---- reference images ------------------------------------------------------
# r1: 3 MiB + 5 sectors (not a multiple of any grain); data at the start and
#     in the last sector, random/pattern/zero runs.
# r2: 40 MiB + 7 sectors, r1's content at 0 and at 36 MiB: with 16 MiB per
#     GT (COWD grain 8, seSparse) the middle GD entry stays empty.
# p/c: a parent and a child content (c = p with regions rewritten/zeroed).
python3 "$MKESX" mkraw "$T/r1.raw" $((3 * 1048576 + 5 * 512)) --seed 11 >/dev/null \
  || bail "mkraw r1"
truncate -s $((40 * 1048576 + 7 * 512)) "$T/r2.raw"
dd if="$T/r1.raw" of="$T/r2.raw" conv=notrunc status=none
dd if="$T/r1.raw" of="$T/r2.raw" bs=1M seek=36 conv=notrunc status=none
python3 "$MKESX" mkraw "$T/p.raw" $((4 * 1048576 + 3 * 512)) --seed 21 >/dev/null \
  || bail "mkraw p"
python3 "$MKESX" mkraw "$T/c.raw" $((4 * 1048576 + 3 * 512)) --seed 22 \
  --from "$T/p.raw" >/dev/null || bail "mkraw c"
qemu-img convert -f raw -O vmdk "$T/p.raw" "$T/parent.vmdk" || bail "qemu-img parent"

# ---- the checks --------------------------------------------------------------
# check NAME DIR QEMUFILE [QMAPFILE] : (a)-(d) on DIR/disk.vmdk
#   QEMUFILE: what qemu-img reads as the reference of this disk (the disk
#   itself, or a qemu-readable twin); QMAPFILE: qemu's map to compare with
#   (default: made from QEMUFILE).
check() {
  local name=$1 d=$2 qfile=$3 qmap=${4:-} rc
  local disk=$d/disk.vmdk

  qemu-img convert -f vmdk -O raw "$qfile" "$d/q.raw" 2>"$d/q.err" \
    && cmp -s "$d/q.raw" "$d/expected.raw"
  rc=$?; ok $rc "$name: qemu-img reads the built disk as the reference"
  [ $rc -eq 0 ] || sed 's/^/#   /' "$d/q.err"
  rm -f "$d/q.raw"

  "$READCHECK" --count 1500 "$disk" "$d/expected.raw" >"$d/rc.out" 2>&1
  rc=$?; ok $rc "$name: readcheck matches the reference"
  [ $rc -eq 0 ] || tail -n 15 "$d/rc.out" | sed 's/^/#   /'

  "$VMDKTOOL" cat "$disk" "$d/cat.raw" 2>"$d/cat.err"
  is "$(sha "$d/cat.raw" 2>/dev/null)" "$(sha "$d/expected.raw")" \
    "$name: vixmount-vmdk cat has the reference's sha256"
  [ -s "$d/cat.err" ] && sed 's/^/#   /' "$d/cat.err"
  rm -f "$d/cat.raw"

  if [ -z "$qmap" ]; then
    qmap=$d/q.json
    qemu-img map --output=json -f vmdk "$qfile" >"$qmap" 2>/dev/null \
      || diag "qemu-img map failed on $qfile"
  fi
  "$VMDKTOOL" map "$disk" >"$d/ours.json" 2>"$d/map.err" \
    && python3 "$MAPCMP" "$d/ours.json" "$qmap" >"$d/mapcmp.out" 2>&1
  rc=$?; ok $rc "$name: vixmount-vmdk map agrees with qemu-img map"
  [ $rc -eq 0 ] || cat "$d/map.err" "$d/mapcmp.out" 2>/dev/null | head -n 20 | sed 's/^/#   /'
}

# info NAME DIR CHECK...: (f) checks on `info --json`
info() {
  local name=$1 d=$2 rc; shift 2
  "$VMDKTOOL" info --json "$d/disk.vmdk" >"$d/info.json" 2>"$d/info.err" \
    && python3 "$T/infocheck.py" "$d/info.json" "$@" >"$d/ic.out" 2>&1
  rc=$?; ok $rc "$name: info --json reports $*"
  [ $rc -eq 0 ] || cat "$d/info.err" "$d/ic.out" 2>/dev/null | head -n 10 | sed 's/^/#   /'
}

# delta NAME DIR: (e) the link alone (--single-link) and its parent count
delta() {
  local name=$1 d=$2 rc
  local alone="json:{\"driver\":\"vmdk\",\"backing\":null,\"file\":{\"driver\":\"file\",\"filename\":\"$d/disk.vmdk\"}}"
  qemu-img convert -O raw "$alone" "$d/qs.raw" && cmp -s "$d/qs.raw" "$d/this-layer.raw"
  ok $? "$name: qemu-img reads the link alone as its own grains"
  rm -f "$d/qs.raw"
  local pcid; pcid=$(head -c 4096 "$d/parent.vmdk" | tr -d '\0' | sed -n 's/^CID=//p')
  info "$name" "$d" links=2 parentHint=parent.vmdk parentCID="$(printf %08x "0x$pcid")" \
    parent.createType=monolithicSparse parent.links=1
  "$READCHECK" --count 500 --single-link "$d/disk.vmdk" "$d/this-layer.raw" \
    >"$d/rcs.out" 2>&1
  rc=$?; ok $rc "$name: readcheck --single-link matches the link's own grains"
  [ $rc -eq 0 ] || tail -n 15 "$d/rcs.out" | sed 's/^/#   /'
  "$VMDKTOOL" cat --single-link "$d/disk.vmdk" "$d/cats.raw" 2>/dev/null
  is "$(sha "$d/cats.raw" 2>/dev/null)" "$(sha "$d/this-layer.raw")" \
    "$name: cat --single-link has the link's own content"
  rm -f "$d/cats.raw"
  # qemu's view of the link without its backing file
  qemu-img map --output=json "$alone" >"$d/qs.json" 2>/dev/null
  "$VMDKTOOL" map --single-link "$d/disk.vmdk" >"$d/ours-s.json" 2>"$d/maps.err" \
    && python3 "$MAPCMP" "$d/ours-s.json" "$d/qs.json" >"$d/mapcmps.out" 2>&1
  rc=$?; ok $rc "$name: map --single-link agrees with qemu-img map of the link alone"
  [ $rc -eq 0 ] || cat "$d/maps.err" "$d/mapcmps.out" 2>/dev/null | head -n 20 | sed 's/^/#   /'
}

# build NAME KIND RAW [mkesx options]: builds into d=$T/NAME.  With --parent
# the parent is first copied into that directory (a parent path escaping the
# child's directory is refused by default).
build() {
  local name=$1 kind=$2 raw=$3 a args=(); shift 3
  d=$T/$name
  mkdir -p "$d"
  for a in "$@"; do
    case $a in
      PARENT) cp "$T/parent.vmdk" "$d/parent.vmdk"; args+=("$d/parent.vmdk") ;;
      *) args+=("$a") ;;
    esac
  done
  python3 "$MKESX" "$kind" "$raw" "$d" "${args[@]}" >"$T/$name.log" 2>&1 \
    || { sed 's/^/# /' "$T/$name.log"; bail "mkesx.py $kind ${args[*]} failed"; }
  diag "$(cat "$T/$name.log")"
}

# ---- COWD ----------------------------------------------------------------
build cowd8 cowd "$T/r1.raw"
cmp -s "$d/expected.raw" "$T/r1.raw"; ok $? "cowd8: expected image is the raw reference"
check cowd8 "$d" "$d/disk.vmdk"
info cowd8 "$d" createType=vmfsSparse links=1 types=VMFSSPARSE e0.grainSectors=8 \
  e0.gdEntries=1 e0.gtesPerGT=4096

build cowd1 cowd "$T/r1.raw" --grain 1 --shuffle
check cowd1 "$d" "$d/disk.vmdk"
info cowd1 "$d" types=VMFSSPARSE e0.grainSectors=1

build cowd-gap cowd "$T/r2.raw"
check cowd-gap "$d" "$d/disk.vmdk"
info cowd-gap "$d" e0.gdEntries=3

build cowd-delta cowd "$T/c.raw" --parent PARENT \
      --parent-raw "$T/p.raw" --shuffle
check cowd-delta "$d" "$d/disk.vmdk"
delta cowd-delta "$d"
info cowd-delta "$d" types=VMFSSPARSE

# overlay: the link stores c's non-zero grains only; the chain reads as p
# with those grains replaced (expected.raw differs from c)
build cowd-overlay cowd "$T/c.raw" --grain 2 --overlay \
      --parent PARENT --parent-raw "$T/p.raw"
check cowd-overlay "$d" "$d/disk.vmdk"
delta cowd-overlay "$d"

# ---- seSparse --------------------------------------------------------------
build ses sesparse "$T/r1.raw" --zero-grains --unmapped 4
check ses "$d" "$d/disk.vmdk"
info ses "$d" createType=seSparse links=1 types=SESPARSE e0.grainSectors=8 \
  e0.gtesPerGT=4096

build ses-gap sesparse "$T/r2.raw" --slot-base 4090 --shuffle
check ses-gap "$d" "$d/disk.vmdk"
info ses-gap "$d" e0.gdEntries=3

build ses-delta sesparse "$T/c.raw" --parent PARENT \
      --parent-raw "$T/p.raw" --zero-grains --unmapped 3 --slot-base 4000 --shuffle
check ses-delta "$d" "$d/disk.vmdk"
delta ses-delta "$d"
info ses-delta "$d" types=SESPARSE

# ---- VMware-style streamOptimized -------------------------------------------
build stream stream-vmware "$T/r1.raw"
check stream "$d" "$d/disk.vmdk"
info stream "$d" createType=streamOptimized embeddedDescriptor=true links=1 \
  types=SPARSE e0.compressed=true e0.gdAtEnd=true e0.version=3

build stream-gts stream-vmware "$T/r2.raw" --grain 16 --gts-at-end --overhead 0
check stream-gts "$d" "$d/disk.vmdk"
info stream-gts "$d" types=SPARSE e0.compressed=true e0.gdAtEnd=true e0.grainSectors=16

# raw deflate: qemu-img refuses it, so the builder is validated through a
# zlib twin with the same layout (read by qemu-img) and mkesx.py readstream.
build stream-zlib stream-vmware "$T/r1.raw" --grain 32
dz=$d
build stream-raw stream-vmware "$T/r1.raw" --grain 32 --raw-deflate
python3 "$MKESX" readstream "$d/disk.vmdk" "$d/rs.raw" && cmp -s "$d/rs.raw" "$d/expected.raw"
ok $? "stream-raw: the raw-deflate build decodes to the reference"
rm -f "$d/rs.raw"
qemu-img map --output=json -f vmdk "$dz/disk.vmdk" >"$d/qz.json"
check stream-raw "$d" "$dz/disk.vmdk" "$d/qz.json"

# ---- FLAT + ZERO + SPARSE ---------------------------------------------------
# r1 = 6149 sectors: FLAT 1541 at file offset 17, ZERO 1530, FLAT 1534,
# SPARSE 1544 (12 grains + 8 sectors); no boundary on a grain boundary.
build mixed flat-zero-sparse "$T/r1.raw" \
      --layout "flat:1541@17,zero:1530,flat:1534,sparse:rest"
zs=$((1541 * 512)) ze=$(((1541 + 1530) * 512))
qemu-img map --output=json -f vmdk "$d/disk-qemu.vmdk" >"$d/qraw.json"
python3 "$T/qmapzero.py" "$d/qraw.json" "$d/qz.json" $zs $ze
check mixed "$d" "$d/disk-qemu.vmdk" "$d/qz.json"
info mixed "$d" createType=custom links=1 types=FLAT,ZERO,FLAT,SPARSE e0.offset=17 \
  e1.start=1541 e1.sectors=1530 e3.sectors=1544

# The same with the SPARSE extent (partial last grain) in the middle: QEMU
# reads the rest of that last grain from the sparse extent (zeros) instead of
# the next extent, so qemu-img validates the SPARSE extent alone and the map
# comparison is skipped.
build mixed2 flat-zero-sparse "$T/r1.raw" \
      --layout "flat:1541@17,zero:1530,sparse:1544,flat:rest"
ss=$(((1541 + 1530) * 512)) sl=$((1544 * 512))
qemu-img convert -f vmdk -O raw "$d/disk-s001-qemu.vmdk" "$d/s.raw" \
  && cmp -s -n $sl "$d/s.raw" <(tail -c +$((ss + 1)) "$d/expected.raw")
ok $? "mixed2: qemu-img reads the SPARSE extent as its slice of the reference"
rm -f "$d/s.raw"
"$READCHECK" --count 1500 "$d/disk.vmdk" "$d/expected.raw" >"$d/rc.out" 2>&1
rc=$?; ok $rc "mixed2: readcheck matches the reference"
[ $rc -eq 0 ] || tail -n 15 "$d/rc.out" | sed 's/^/#   /'
"$VMDKTOOL" cat "$d/disk.vmdk" "$d/cat.raw" 2>/dev/null
is "$(sha "$d/cat.raw" 2>/dev/null)" "$(sha "$d/expected.raw")" \
  "mixed2: vixmount-vmdk cat has the reference's sha256"
rm -f "$d/cat.raw"
info mixed2 "$d" types=FLAT,ZERO,SPARSE,FLAT

done_testing

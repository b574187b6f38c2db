#!/bin/bash
# Descriptor quirks real writers produce (docs vmdk-format.md 1.2, 1.2a):
# hand-written monolithicFlat descriptors around raw files of known content
# must read back exactly (vixmount-vmdk cat) and describe themselves correctly
# (vixmount-vmdk info --json).
. "$top_srcdir/tests/lib/common.sh"
need python3 jq qemu-img qemu-io cmp timeout
[ -x "$VMDKTOOL" ] || bail "$VMDKTOOL is not built"

tmp=$(scratch)
mkdir "$tmp/cwd" && cd "$tmp/cwd" || bail "cd"   # not the descriptors' directory

# Deterministic incompressible content: d.raw 128 sectors, b.raw 96 sectors.
python3 - "$tmp" <<'EOF' || bail "cannot write raw files"
import random, sys
d = sys.argv[1]
open(d + "/d.raw", "wb").write(random.Random(11).randbytes(128 * 512))
open(d + "/b.raw", "wb").write(random.Random(12).randbytes(96 * 512))
EOF

# The canonical descriptor every variant starts from.
canonical() {
  cat <<'EOF'
# Disk DescriptorFile
version=1
CID=0dc3c2a9
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 128 FLAT "d.raw" 0

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.adapterType = "lsilogic"
EOF
}

# mk NAME [RAWNAME]: a case directory with d.raw (copied as RAWNAME) and the
# descriptor text from stdin as disk.vmdk
mk() {
  local d=$tmp/$1
  mkdir -p "$d" && cp "$tmp/d.raw" "$d/${2:-d.raw}" && cat > "$d/disk.vmdk"
}

# check NAME [EXPECTED]: cat equals EXPECTED (default d.raw) and info --json
# gives valid JSON (kept in $tmp/NAME.json for jqis)
check() {
  local name=$1 exp=${2:-$tmp/d.raw} d=$tmp/$1 rc
  timeout 20 "$VMDKTOOL" cat "$d/disk.vmdk" "$tmp/$name.out" 2> "$tmp/$name.err"
  rc=$?
  is "$rc" 0 "$name: cat succeeds"
  [ "$rc" -ne 0 ] && sed -n '1,3s/^/#   stderr: /p' "$tmp/$name.err"
  cmp -s "$tmp/$name.out" "$exp"
  ok $? "$name: cat output equals the expected data"
  timeout 20 "$VMDKTOOL" info --json "$d/disk.vmdk" > "$tmp/$name.json" 2> "$tmp/$name.err"
  rc=$?
  is "$rc" 0 "$name: info --json succeeds"
  [ "$rc" -ne 0 ] && sed -n '1,3s/^/#   stderr: /p' "$tmp/$name.err"
  jq -e 'type == "object"' "$tmp/$name.json" > /dev/null 2>&1
  ok $? "$name: info --json prints a JSON object"
  ! grep -qE 'Sanitizer|runtime error:' "$tmp/$name.err"
  ok $? "$name: no sanitizer report"
  rm -f "$tmp/$name.out"
}

# jqis NAME FILTER EXPECTED: jq -r FILTER on NAME's info --json
jqis() {
  local got
  got=$(jq -r "$2" "$tmp/$1.json" 2>&1 | tr '\n' ' ' | sed 's/ $//')
  is "$got" "$3" "$1: $2 = $3"
}

# ---- baseline: every field of info --json -------------------------------------
canonical | mk canonical
check canonical
jqis canonical .path "$tmp/canonical/disk.vmdk"
jqis canonical .createType monolithicFlat
jqis canonical .version 1
jqis canonical .encoding null
jqis canonical .hasDescriptor true
jqis canonical .embeddedDescriptor false
jqis canonical .cid 0dc3c2a9
jqis canonical .parentCID ffffffff
jqis canonical .parentHint null
jqis canonical .capacity 128
jqis canonical .size 65536
jqis canonical .links 1
jqis canonical .grainSectors 0
jqis canonical .uncleanShutdown false
jqis canonical '.extents | length' 1
jqis canonical '.extents[0] | [.access, .type, .start, .sectors, .filename, .offset] | @tsv' \
  "$(printf 'RW\tFLAT\t0\t128\td.raw\t0')"
jqis canonical '.extents[0].path | endswith("/d.raw")' true
jqis canonical '.ddb | type' object
jqis canonical '.ddb["ddb.adapterType"]' lsilogic
jqis canonical '.ddb["ddb.virtualHWVersion"]' 4
jqis canonical '.ddb | length' 2
jqis canonical '.warnings | type' array
jqis canonical '.warnings | length' 0

# ---- line ends and blanks -----------------------------------------------------
canonical | sed 's/$/\r/' | mk crlf
check crlf
jqis crlf .createType monolithicFlat
jqis crlf .cid 0dc3c2a9
jqis crlf .version 1
jqis crlf '.extents[0].filename' d.raw
jqis crlf '.ddb["ddb.adapterType"]' lsilogic

canonical | sed -e 's/^\(version=1\)$/\1 /' -e 's/^\(CID=.*\)$/\1 /' \
  -e 's/^\(parentCID=.*\)$/\1  /' -e 's/^\(createType=.*\)$/\1 /' \
  -e 's/^\(RW .*\)$/\1  /' -e 's/^\(ddb\..*\)$/\1 /' | mk trailing-blanks
grep -q 'version=1 $' "$tmp/trailing-blanks/disk.vmdk" || bail "sed failed"
check trailing-blanks
jqis trailing-blanks .version 1
jqis trailing-blanks .cid 0dc3c2a9
jqis trailing-blanks .parentCID ffffffff
jqis trailing-blanks .createType monolithicFlat
jqis trailing-blanks '.extents[0].offset' 0
jqis trailing-blanks '.ddb["ddb.adapterType"]' lsilogic

# leading blanks on header, extent and DDB lines (both references accept them)
canonical | sed -e 's/^\([vCpcR]\)/  \1/' -e 's/^ddb/ ddb/' | mk leading-blanks
check leading-blanks
jqis leading-blanks .createType monolithicFlat
jqis leading-blanks '.ddb["ddb.adapterType"]' lsilogic

# a trailing " # comment" after a quoted value and after the extent offset
canonical | sed -e 's/^\(createType=.*\)$/\1 # c/' -e 's/^\(RW .*\)$/\1 # c/' \
  | mk trailing-comment
check trailing-comment
jqis trailing-comment .createType monolithicFlat
jqis trailing-comment '.extents[0].offset' 0

printf 'RW\t128   FLAT\t"d.raw"  0\n' > "$tmp/ext-line"
canonical | sed -e "/^RW /{r $tmp/ext-line" -e 'd}' | mk tabs-spaces
grep -qP '^RW\t128   FLAT\t"d.raw"  0$' "$tmp/tabs-spaces/disk.vmdk" || bail "sed failed"
check tabs-spaces
jqis tabs-spaces '.extents[0] | [.access, .type, .sectors, .filename, .offset] | @tsv' \
  "$(printf 'RW\tFLAT\t128\td.raw\t0')"

# two blank lines after createType
canonical | sed 's/^\(createType=.*\)$/\1\n/' | mk two-blank-lines
check two-blank-lines

# ---- sections ---------------------------------------------------------------------
canonical | sed 1d | mk no-signature
check no-signature
jqis no-signature .createType monolithicFlat
jqis no-signature .cid 0dc3c2a9

canonical | sed '/^# The Disk Data Base/,$d' | mk no-ddb
check no-ddb
jqis no-ddb '.ddb | length' 0

canonical | sed '/^# The Disk Data Base/d' | mk ddb-after-blank
grep -B1 '^#DDB' "$tmp/ddb-after-blank/disk.vmdk" | head -1 | grep -q '^$' || bail "sed failed"
check ddb-after-blank
jqis ddb-after-blank '.ddb["ddb.adapterType"]' lsilogic
jqis ddb-after-blank '.extents | length' 1

canonical | sed 's/^# The Disk Data Base/# The disk Data Base/' | mk ddb-lowercase-comment
check ddb-lowercase-comment
jqis ddb-lowercase-comment '.ddb["ddb.adapterType"]' lsilogic

canonical | sed -e 's/^\(ddb\.[^ ]*\) = /\1=/' | mk ddb-no-blanks
cat >> "$tmp/ddb-no-blanks/disk.vmdk" <<'EOF'
ddb.uuid.image="6b2d3c8e-7a41-4a8e-9d0f-0e3f1a2b3c4d"
ddb.uuid.parent="00000000-0000-0000-0000-000000000000"
ddb.comment=""
EOF
check ddb-no-blanks
jqis ddb-no-blanks '.ddb["ddb.adapterType"]' lsilogic
jqis ddb-no-blanks '.ddb["ddb.virtualHWVersion"]' 4
jqis ddb-no-blanks '.ddb["ddb.uuid.image"]' 6b2d3c8e-7a41-4a8e-9d0f-0e3f1a2b3c4d
jqis ddb-no-blanks '.ddb["ddb.comment"]' ''
jqis ddb-no-blanks '.ddb | has("ddb.comment")' true
jqis ddb-no-blanks '.ddb | length' 5

# the DDB section before the extents (QEMU accepts it, libvmdk does not)
{ canonical | sed -n '1,5p'; canonical | sed -n '/^# The Disk Data Base/,$p'
  echo; canonical | sed -n '/^# Extent description/,/^RW /p'; } | mk ddb-before-extents
check ddb-before-extents
jqis ddb-before-extents '.ddb["ddb.adapterType"]' lsilogic
jqis ddb-before-extents '.extents | length' 1
jqis ddb-before-extents .capacity 128

# ESX-style ordering and extra keys, DDB keys in alphabetical order
cat <<'EOF' | mk esx-header
# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
isNativeSnapshot="no"
createType="monolithicFlat"

# Extent description
RW 128 FLAT "d.raw" 0

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "1"
ddb.geometry.heads = "64"
ddb.geometry.sectors = "32"
ddb.longContentID = "a3f5e0c1d1b2c3d4e5f60718fffffffe"
ddb.uuid = "60 00 C2 9a 81 87 b4 5a-a0 59 e6 9d da b6 d0 47"
ddb.virtualHWVersion = "19"
EOF
check esx-header
jqis esx-header .version 1
jqis esx-header .encoding UTF-8
jqis esx-header .cid fffffffe
jqis esx-header .createType monolithicFlat
jqis esx-header '.ddb["ddb.geometry.heads"]' 64
jqis esx-header '.ddb["ddb.uuid"]' '60 00 C2 9a 81 87 b4 5a-a0 59 e6 9d da b6 d0 47'
jqis esx-header '.ddb | length' 7

# ---- header values ----------------------------------------------------------------
canonical | sed 's/^CID=.*/CID=00000000/' | mk cid-zero
check cid-zero
jqis cid-zero .cid 00000000

canonical | sed 's/^CID=.*/CID=356696/' | mk cid-unpadded
check cid-unpadded
jqis cid-unpadded .cid 00356696
jqis cid-unpadded .parentCID ffffffff

canonical | sed 's/^CID=.*/CID=0DC3C2A9/' | mk cid-uppercase
check cid-uppercase
jqis cid-uppercase .cid 0dc3c2a9

# version=3 with changed-block tracking (the -ctk file need not be present)
canonical | sed -e 's/^version=1/version=3/' \
  -e 's/^\(# The Disk Data Base\)/# Change Tracking File\nchangeTrackPath="d-ctk.vmdk"\n\n\1/' \
  | mk version3-ctk
grep -q '^changeTrackPath="d-ctk.vmdk"$' "$tmp/version3-ctk/disk.vmdk" || bail "sed failed"
check version3-ctk
jqis version3-ctk .version 3
jqis version3-ctk '.extents | length' 1

canonical | sed 's/^createType=.*/createType=monolithicFlat/' | mk createtype-unquoted
check createtype-unquoted
jqis createtype-unquoted .createType monolithicFlat

# keys are read case-insensitively (libvmdk does; words stay case-sensitive)
canonical | sed 's/^createType=/createtype=/' | mk createtype-lowercase-key
check createtype-lowercase-key
jqis createtype-lowercase-key .createType monolithicFlat

# ---- extent lines -----------------------------------------------------------------
canonical | sed 's/^\(RW 128 FLAT\)/#RW 128 FLAT "other.raw" 0\n\1/' | mk commented-extent
grep -q '^#RW 128 FLAT "other.raw" 0$' "$tmp/commented-extent/disk.vmdk" || bail "sed failed"
check commented-extent
jqis commented-extent '.extents | length' 1
jqis commented-extent .capacity 128
jqis commented-extent '.extents[0].filename' d.raw

canonical | sed 's/"d.raw"/"sp ace.raw"/' | mk space-name 'sp ace.raw'
check space-name
jqis space-name '.extents[0].filename' 'sp ace.raw'
jqis space-name '.extents[0].path | endswith("/sp ace.raw")' true

canonical | sed 's/^RW 128/RDONLY 128/' | mk rdonly-only-extent
check rdonly-only-extent
jqis rdonly-only-extent '.extents[0].access' RDONLY
jqis rdonly-only-extent .capacity 128

canonical | sed -e 's/^createType=.*/createType="vmfs"/' -e 's/^RW 128 FLAT "d.raw" 0/RW 128 VMFS "d.raw"/' \
  | mk vmfs-no-offset
check vmfs-no-offset
jqis vmfs-no-offset .createType vmfs
jqis vmfs-no-offset '.extents[0].type' VMFS

# NUL padding to 512 bytes, as QEMU leaves a descriptor file after a write
canonical | mk nul-padded
truncate -s 512 "$tmp/nul-padded/disk.vmdk"
check nul-padded
jqis nul-padded '.ddb["ddb.adapterType"]' lsilogic
jqis nul-padded '.ddb | length' 2

# FLAT + ZERO + FLAT-with-offset: 64 sectors of a.raw, 32 zero sectors, then
# sectors 16..79 of b.raw
mkdir "$tmp/multi" && cp "$tmp/d.raw" "$tmp/multi/a.raw" && cp "$tmp/b.raw" "$tmp/multi/b.raw"
canonical | sed -e 's/^createType=.*/createType="custom"/' \
  -e 's/^RW 128 FLAT "d.raw" 0/RW 64 FLAT "a.raw" 0\nRW 32 ZERO\nRW 64 FLAT "b.raw" 16/' \
  > "$tmp/multi/disk.vmdk"
{ head -c 32768 "$tmp/d.raw"; head -c 16384 /dev/zero
  tail -c +8193 "$tmp/b.raw" | head -c 32768; } > "$tmp/multi.expected"
check multi "$tmp/multi.expected"
jqis multi .createType custom
jqis multi .capacity 160
jqis multi .size 81920
jqis multi '[.extents[] | .type] | join(",")' FLAT,ZERO,FLAT
jqis multi '[.extents[] | .start] | join(",")' 0,64,96
jqis multi '[.extents[] | .sectors] | join(",")' 64,32,64
jqis multi '.extents[1].filename' null
jqis multi '.extents[2].offset' 16
# the parts, one by one, through `read`
timeout 20 "$VMDKTOOL" read "$tmp/multi/disk.vmdk" 32768 16384 > "$tmp/multi.zero" 2>/dev/null
cmp -s "$tmp/multi.zero" <(head -c 16384 /dev/zero)
ok $? "multi: read of the ZERO extent returns zeros"
timeout 20 "$VMDKTOOL" read "$tmp/multi/disk.vmdk" 49152 1024 > "$tmp/multi.b" 2>/dev/null
cmp -s "$tmp/multi.b" <(tail -c +8193 "$tmp/b.raw" | head -c 1024)
ok $? "multi: read of the third extent honours its offset (file sector 16)"
# a read across all three extents
timeout 20 "$VMDKTOOL" read "$tmp/multi/disk.vmdk" 32000 18000 > "$tmp/multi.x" 2>/dev/null
cmp -s "$tmp/multi.x" <(tail -c +32001 "$tmp/multi.expected" | head -c 18000)
ok $? "multi: unaligned read across the three extents"

# ---- embedded descriptors -----------------------------------------------------------
# patch_embedded FILE SED-SCRIPT: edit the embedded descriptor of a sparse
# file in place, keeping the descriptor area's length (NUL padded)
patch_embedded() {
  python3 - "$1" "$2" <<'EOF'
import struct, subprocess, sys
path, script = sys.argv[1], sys.argv[2]
with open(path, "r+b") as f:
    h = f.read(512)
    off, size = struct.unpack_from("<QQ", h, 28)
    f.seek(off * 512)
    area = f.read(size * 512)
    text = area.split(b"\0", 1)[0]
    new = subprocess.run(["sed", "-e", script], input=text, check=True,
                         stdout=subprocess.PIPE).stdout
    assert len(new) <= size * 512 and new != text, "patch failed"
    f.seek(off * 512)
    f.write(new + b"\0" * (size * 512 - len(new)))
EOF
}

# monolithicSparse whose extent line names a file that does not exist: the
# data is in the file itself
mkdir "$tmp/embedded-other-name"
e=$tmp/embedded-other-name
qemu-img create -q -f vmdk "$e/disk.vmdk" 1M || bail "qemu-img create"
qemu-io -f vmdk -c 'write -P 0xab 0 64k' -c 'write -P 0x5c 300k 4k' "$e/disk.vmdk" > /dev/null ||
  bail "qemu-io"
qemu-img convert -f vmdk -O raw "$e/disk.vmdk" "$tmp/embedded.raw" || bail "qemu-img convert"
patch_embedded "$e/disk.vmdk" 's/^RW \([0-9]*\) SPARSE "disk.vmdk"/RW \1 SPARSE "generated-stream.vmdk"/' ||
  bail "patch_embedded"
check embedded-other-name "$tmp/embedded.raw"
jqis embedded-other-name .createType monolithicSparse
jqis embedded-other-name .embeddedDescriptor true
jqis embedded-other-name '.extents[0].filename' generated-stream.vmdk
jqis embedded-other-name '.extents[0].path | endswith("/disk.vmdk")' true
jqis embedded-other-name .grainSectors 128

# an OVF-export style stream: a converter's comment as first line, comments
# between header keys, trailing blanks, RDONLY, extent named
# "generated-stream.vmdk"
mkdir "$tmp/ovf-stream"
s=$tmp/ovf-stream
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$tmp/embedded.raw" "$s/disk.vmdk" ||
  bail "qemu-img convert"
patch_embedded "$s/disk.vmdk" '
1s/.*/# Description file created by VMX stream converter/
s/^version=1$/version=1 /
s/^\(CID=.*\)$/\1 \n# comment between header keys/
s/^createType="streamOptimized"$/createType="streamOptimized" \n/
s/^RW \([0-9]*\) SPARSE "disk.vmdk"/RDONLY \1 SPARSE "generated-stream.vmdk"/' || bail "patch_embedded"
check ovf-stream "$tmp/embedded.raw"
jqis ovf-stream .createType streamOptimized
jqis ovf-stream '.extents[0].access' RDONLY
jqis ovf-stream '.extents[0].filename' generated-stream.vmdk
jqis ovf-stream .capacity 2048

done_testing

#!/bin/bash
# discover.sh: vx_discover() (mntapi/discover/discover.c) finds the volumes of raw
# disks as sfdisk and blkid see them, refuses what must not be mounted, and
# survives hostile partition tables.
#
# Tables are made with sfdisk/sgdisk, filesystems through loop devices at
# the partition's offset (this kernel parses no partition tables), and the
# hostile bits byte by byte with tests/lib/mkdisks.py.  Every volume is
# checked against `sfdisk --json` (geometry, types, GUIDs, names) and the
# low-level `blkid -p -O OFFSET --size SIZE` (TYPE, LABEL, UUID).
. "$top_srcdir/tests/lib/common.sh"
need sfdisk sgdisk mkfs.ext4 mkfs.xfs mkfs.vfat mkswap mkntfs losetup blkid jq \
  python3 truncate timeout
require_root "losetup"
DISCOVER="$top_builddir/tests/discover"
MKDISKS="$top_srcdir/tests/lib/mkdisks.py"
[ -x "$DISCOVER" ] || bail "missing $DISCOVER (make check builds it)"

T=$(scratch)
cd "$T" || bail "cd $T"

# ---- loop devices: at most one attached at a time, detached at exit -------
LOOPDEV=
detach() { [ -z "$LOOPDEV" ] || losetup -d "$LOOPDEV"; LOOPDEV=; }
on_exit detach

# fs_at IMG START SIZE CMD...: run CMD... DEV on a loop device over sectors
# [START, START+SIZE) of IMG
fs_at() {
  local img=$1 start=$2 size=$3 rc; shift 3
  LOOPDEV=$(losetup -f --show -o $((start * 512)) --sizelimit $((size * 512)) "$img") ||
    { LOOPDEV=; return 1; }
  "$@" "$LOOPDEV" > /dev/null 2>&1; rc=$?
  detach
  return $rc
}
# mkfs.xfs refuses < 300 MB unless run by fstests; these variables say so
mkxfs() { TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f "$@"; }

# discover OUT ARGS...: runs the driver (bounded in time), stdout to OUT,
# stderr to OUT.err; returns its exit status
discover() {
  local out=$1; shift
  timeout 60 "$DISCOVER" "$@" > "$out" 2> "$out.err"
}

# field OUT NAME JQ: a field of one volume ("-" for null)
field() { jq -r --arg n "$2" "select(.name == \$n) | ($3) // \"-\"" "$1"; }

# ---- checking a disk against sfdisk and blkid --------------------------------
# check_disk IMG DISK OUT: every partition sfdisk lists is a volume with the
# same geometry, type, GUID and name, and blkid's TYPE/LABEL/UUID; WHY[N] is
# partition N's expected why_not ("" when mountable).
declare -A WHY
check_disk() {
  local img=$1 d=$2 out=$3 pt label id n part node num start size type puuid pname
  local name kind exp got btype blabel buuid
  pt=$(sfdisk --json "$img") || { ok 1 "$img: sfdisk --json"; return; }
  label=$(jq -r .partitiontable.label <<< "$pt")
  id=$(jq -r .partitiontable.id <<< "$pt")
  n=$(jq '.partitiontable.partitions | length' <<< "$pt")
  is "$(jq -s --argjson d "$d" '[.[] | select(.disk == $d)] | length' "$out")" "$n" \
    "$img: $n volumes on disk $d, one per partition"
  while read -r part; do
    node=$(jq -r .node <<< "$part")
    num=${node##*[!0-9]}
    start=$(jq -r .start <<< "$part")
    size=$(jq -r .size <<< "$part")
    type=$(jq -r .type <<< "$part")
    name="d${d}p$num"
    if [ "$label" = dos ]; then
      case $type in 5|f|85) kind=extended ;; *) [ "$num" -ge 5 ] && kind=logical || kind=primary ;; esac
      type=$(printf '0x%02x' "0x$type")
      puuid=$(printf '%s-%02x' "${id#0x}" "$num")
      pname=-
    else
      kind=gpt
      type=${type,,}
      puuid=$(jq -r .uuid <<< "$part"); puuid=${puuid,,}
      pname=$(jq -r '.name // "-"' <<< "$part")
    fi
    exp="$kind $num $((start * 512)) $((size * 512)) $type $puuid $pname"
    got=$(field "$out" "$name" '[.kind, .partno, .offset, .size, .part_type, .part_uuid, .part_name // "-"] | map(tostring) | join(" ")')
    is "$got" "$exp" "$name ($img): kind, number, offset, size, type, GUID, name as sfdisk"
    got=$(field "$out" "$name" '[.seg[0].disk, .seg[0].offset, .seg[0].length, .nseg, .disk] | map(tostring) | join(" ")')
    is "$got" "$d $((start * 512)) $((size * 512)) 1 $d" "$name: one segment, on disk $d"
    btype=- blabel=- buuid=-
    if [ "$kind" != extended ]; then
      eval "$(blkid -p -o export -O $((start * 512)) --size $((size * 512)) "$img" 2> /dev/null |
              sed -n 's/^\(TYPE\|LABEL\|UUID\)=/b_\1=/p')"
      btype=${b_TYPE:--} blabel=${b_LABEL:--} buuid=${b_UUID:--}
      unset b_TYPE b_LABEL b_UUID
    fi
    got=$(field "$out" "$name" '[.fstype // "-", .label // "-", .uuid // "-"] | join(" ")')
    is "$got" "$btype $blabel $buuid" "$name: fstype, label, UUID as blkid -p ($btype)"
    exp=${WHY[$num]-unset}
    [ -n "$exp" ] && exp="false $exp" || exp="true -"
    got=$(field "$out" "$name" '"\(.mountable) \(.why_not // "-")"')
    is "$got" "$exp" "$name: mountable / why not"
  done < <(jq -c '.partitiontable.partitions[]' <<< "$pt")
}

# ---- 1. MBR: primaries, an extended container, logicals -------------------
truncate -s 256M mbr.img
sfdisk -q mbr.img <<'EOF' || bail "sfdisk mbr.img"
label: dos
label-id: 0x1234abcd
start=2048, size=32MiB, type=83
size=32MiB, type=83
size=96MiB, type=5
size=32MiB, type=7
size=32MiB, type=c
size=16MiB, type=82
size=16MiB, type=83
EOF
# p1 ext4, p2 xfs, p3 extended, p4 ntfs, p5 vfat, p6 swap, p7 nothing
fs_at mbr.img 2048 65536 mkfs.ext4 -q -F -L mbr-ext4 || bail "mkfs.ext4"
fs_at mbr.img 67584 65536 mkxfs -L mbr-xfs || bail "mkfs.xfs"
fs_at mbr.img 329728 65536 mkntfs -Q -F -q -L winData || bail "mkntfs"
fs_at mbr.img 135168 65536 mkfs.vfat -n MBRFAT || bail "mkfs.vfat"
fs_at mbr.img 202752 32768 mkswap -L mbr-swap || bail "mkswap"

discover mbr.out mbr.img
ok $? "mbr.img: discovered"
is "$(cat mbr.out.err)" "" "mbr.img: no warnings"
is "$(jq -r .name mbr.out | tr '\n' ' ')" "d0p1 d0p2 d0p3 d0p4 d0p5 d0p6 d0p7 " \
  "mbr.img: volumes in partition order, logicals from 5"
WHY=([1]="" [2]="" [3]="extended partition container" [4]="" [5]="" [6]="swap space"
     [7]="no filesystem found")
check_disk mbr.img 0 mbr.out

# ---- 2. GPT: ext4 with a label, an EFI system partition, xfs ---------------
truncate -s 128M gpt.img
sgdisk -o -U 3f1c1b8e-7a47-4d4e-9a39-0c1d2e3f4a5b \
  -n 1:2048:+32M -t 1:8300 -c 1:root \
  -n 2:0:+32M -t 2:ef00 -c 2:"EFI system partition" \
  -n 3:0:+40M -t 3:8300 -c 3:data gpt.img > /dev/null || bail "sgdisk gpt.img"
read -r s1 z1 s2 z2 s3 z3 < <(sfdisk --json gpt.img |
  jq -r '[.partitiontable.partitions[] | .start, .size] | map(tostring) | join(" ")')
fs_at gpt.img "$s1" "$z1" mkfs.ext4 -q -F -L gpt-root || bail "mkfs.ext4"
fs_at gpt.img "$s2" "$z2" mkfs.vfat -F 32 -n ESP || bail "mkfs.vfat"
fs_at gpt.img "$s3" "$z3" mkxfs -L gpt-data || bail "mkfs.xfs"

discover gpt.out gpt.img
ok $? "gpt.img: discovered"
is "$(cat gpt.out.err)" "" "gpt.img: no warnings"
WHY=([1]="" [2]="" [3]="")
check_disk gpt.img 0 gpt.out
is "$(field gpt.out d0p2 .part_type)" "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" \
  "d0p2: the EFI system partition type GUID"
# the unique GUID once more, from sgdisk
is "$(field gpt.out d0p2 .part_uuid)" \
  "$(sgdisk -i 2 gpt.img | sed -n 's/^Partition unique GUID: //p' | tr A-Z a-z)" \
  "d0p2: partition GUID as sgdisk -i"

# ---- 3. no table: ext4 on the whole disk; a whole-disk PV; an empty disk --
truncate -s 32M whole.img
mkfs.ext4 -q -F -L whole-ext4 whole.img || bail "mkfs.ext4 whole.img"
discover whole.out whole.img
ok $? "whole.img: discovered"
eval "$(blkid -p -o export whole.img | sed -n 's/^\(UUID\)=/w_\1=/p')"
is "$(jq -c '[.name, .kind, .partno, .offset, .size, .fstype, .label, .uuid, .part_type, .part_uuid, .part_name, .mountable, .why_not]' whole.out)" \
  "[\"d0\",\"whole\",0,0,33554432,\"ext4\",\"whole-ext4\",\"${w_UUID:-}\",null,null,null,true,null]" \
  "whole.img: one whole-disk ext4 volume"

truncate -s 16M pv.img
PVUUID=$(python3 "$MKDISKS" lvm2-label pv.img 0 Kx3mT0aQ9sVb2LcR7nYw5EzH1uJ8pDfG) || bail "lvm2-label"
discover pv.out pv.img
ok $? "pv.img: discovered"
is "$(blkid -p -o value -s TYPE pv.img)" "LVM2_member" "pv.img: blkid sees the crafted PV label"
is "$(jq -c '[.name, .kind, .fstype, .uuid, .mountable, .why_not]' pv.out)" \
  "[\"d0\",\"whole\",\"LVM2_member\",\"$PVUUID\",false,\"LVM physical volume (not in a volume group of this set)\"]" \
  "pv.img: a whole-disk LVM PV, not mountable"

truncate -s 16M empty.img
discover empty.out empty.img
ok $? "empty.img: discovered"
is "$(wc -c < empty.out)" 0 "empty.img: no volumes"

# ---- 4. signatures that are never mounted, and an ambiguous one (GPT) ------
truncate -s 64M sig.img
sgdisk -o -n 1:2048:+8M -t 1:8e00 -n 2:0:+8M -t 2:8309 -n 3:0:+16M -t 3:8300 \
  -n 4:0:+8M -t 4:8300 sig.img > /dev/null || bail "sgdisk sig.img"
read -r s1 z1 s2 z2 s3 z3 s4 z4 < <(sfdisk --json sig.img |
  jq -r '[.partitiontable.partitions[] | .start, .size] | map(tostring) | join(" ")')
python3 "$MKDISKS" lvm2-label sig.img $((s1 * 512)) 0123456789abcdefghijABCDEFGHIJkl > /dev/null || bail "lvm2-label"
python3 "$MKDISKS" luks1 sig.img $((s2 * 512)) 6b1e7c2a-93d4-4c1f-8e0a-5d2b7f3c9a41 || bail "luks1"
# p3: ext4 with a FAT boot sector on top: two filesystems, blkid is ambivalent
fs_at sig.img "$s3" "$z3" mkfs.ext4 -q -F -L poly || bail "mkfs.ext4"
truncate -s 16M fat.tmp && mkfs.vfat -n POLY fat.tmp > /dev/null || bail "mkfs.vfat"
dd if=fat.tmp of=sig.img bs=512 seek="$s3" count=1 conv=notrunc status=none || bail "dd"
fs_at sig.img "$s4" "$z4" mkswap || bail "mkswap"
discover sig.out sig.img
ok $? "sig.img: discovered"
WHY=([1]="LVM physical volume (not in a volume group of this set)" [2]="LUKS encrypted volume"
     [3]="several filesystem signatures found (ambiguous)" [4]="swap space")
check_disk sig.img 0 sig.out

# ---- 5. the allow-list ---------------------------------------------------------
is "$("$DISCOVER" -a ext2 ext3 ext4 xfs btrfs vfat ntfs exfat ntfs3 msdos swap \
        LVM2_member crypto_LUKS iso9660 linux_raid_member "" | tr '\n' ' ')" \
  "ext2 yes ext3 yes ext4 yes xfs yes btrfs yes vfat yes ntfs yes exfat no ntfs3 no msdos no swap no LVM2_member no crypto_LUKS no iso9660 no linux_raid_member no  no (null) no " \
  "allow-list: ext2/3/4, xfs, btrfs, vfat, ntfs only"

# ---- 6. several disks, sizes from the files, threads, a block device -------
discover multi.out gpt.img mbr.img
ok $? "gpt.img + mbr.img: discovered together"
is "$(jq -r '"\(.name):\(.disk)"' multi.out | tr '\n' ' ')" \
  "d0p1:0 d0p2:0 d0p3:0 d1p1:1 d1p2:1 d1p3:1 d1p4:1 d1p5:1 d1p6:1 d1p7:1 " \
  "two disks: the volumes of disk 0, then of disk 1"
is "$(jq -c 'del(.name, .disk, .seg[].disk)' multi.out)" \
  "$(cat gpt.out mbr.out | jq -c 'del(.name, .disk, .seg[].disk)')" \
  "two disks: each disk's volumes as when discovered alone"
WHY=([1]="" [2]="" [3]="extended partition container" [4]="" [5]="" [6]="swap space"
     [7]="no filesystem found")
check_disk mbr.img 1 multi.out

discover nosize.out -n gpt.img mbr.img whole.img
ok $? "no sizes given: discovered"
cat gpt.out mbr.out > expect.tmp
sed 's/"d0"/"d2"/; s/"disk":0/"disk":2/g' whole.out >> expect.tmp
jq -c 'del(.name, .disk, .seg[].disk)' expect.tmp > expect.norm
is "$(jq -c 'del(.name, .disk, .seg[].disk)' nosize.out)" "$(cat expect.norm)" \
  "no sizes given: sizes taken from the files, same volumes"

discover threads.out -j 8 mbr.img gpt.img sig.img whole.img empty.img
ok $? "8 threads discovering the same set at once agree"

LOOPDEV=$(losetup -r -f --show mbr.img) || bail "losetup mbr.img"
discover blk.out "$LOOPDEV"
ok $? "a block device ($LOOPDEV over mbr.img): discovered"
detach
is "$(cat blk.out)" "$(cat mbr.out)" "block device: the same volumes as the file"

# ---- 7. errors ---------------------------------------------------------------
discover missing.out gpt.img "$T/missing.img"
is "$?" 1 "a missing disk: an error"
is "$(cat missing.out.err)" \
  "error: disk 1 ($T/missing.img): cannot open: No such file or directory" \
  "a missing disk: the message names the disk and the cause"
is "$(wc -c < missing.out)" 0 "a missing disk: no volumes"
mkdir adir
discover dir.out adir
is "$?" 1 "a directory: an error"
is "$(cat dir.out.err)" "error: disk 0 (adir): not a regular file or a block device" \
  "a directory: the message says why"

# ---- 8. hostile MBR: overlap, past the end, an extended chain that loops ----
# 16 MiB = 32768 sectors.  p1 [2048,10240) ext4, p2 [8192,12288) overlaps it,
# p3 [30000,40000) ends past the disk, p4 extended [16384,28672): EBR 1 at
# 16384 holds p5 and links to EBR 2 at 18432, which holds p6 and links to
# itself.
truncate -s 16M hmbr.img
python3 "$MKDISKS" mbr hmbr.img 0 --id deadbeef 83:2048:8192 83:8192:4096 83:30000:10000 \
  5:16384:12288 || bail "mbr"
python3 "$MKDISKS" mbr hmbr.img 16384 83:1:2047 5:2048:4096 || bail "ebr 1"
python3 "$MKDISKS" mbr hmbr.img 18432 83:1:1023 5:2048:4096 || bail "ebr 2"
fs_at hmbr.img 2048 8192 mkfs.ext4 -q -F -L hostile || bail "mkfs.ext4"
discover hmbr.out hmbr.img
ok $? "hostile MBR: discovered (no crash, no hang)"
vol() { field hmbr.out "$1" '[.kind, .partno, .offset, .size, .fstype // "-", .part_type, .part_uuid, .mountable, .why_not // "-"] | map(tostring) | join("|")'; }
is "$(jq -r .name hmbr.out | tr '\n' ' ')" "d0p1 d0p2 d0p3 d0p4 d0p5 d0p6 " \
  "hostile MBR: the looping chain yields each logical once"
is "$(vol d0p1)" "primary|1|1048576|4194304|ext4|0x83|deadbeef-01|false|partition overlaps d0p2" \
  "hostile MBR: the overlapped ext4 is not mountable"
is "$(vol d0p2)" "primary|2|4194304|2097152|-|0x83|deadbeef-02|false|partition overlaps d0p1" \
  "hostile MBR: the overlapping partition is not mountable"
is "$(vol d0p3)" "primary|3|15360000|5120000|-|0x83|deadbeef-03|false|partition lies outside the disk" \
  "hostile MBR: the partition past the end is listed, not probed, not mountable"
is "$(vol d0p4)" "extended|4|8388608|6291456|-|0x05|deadbeef-04|false|extended partition container" \
  "hostile MBR: the extended container"
is "$(vol d0p5)" "logical|5|8389120|1048064|-|0x83|deadbeef-05|false|no filesystem found" \
  "hostile MBR: logical 5 from EBR 1"
is "$(vol d0p6)" "logical|6|9437696|523776|-|0x83|deadbeef-06|false|no filesystem found" \
  "hostile MBR: logical 6 from the self-linked EBR 2"

# an extended chain of 5000 links: the guard lists the primaries only
truncate -s 8M chain.img
python3 "$MKDISKS" mbr chain.img 0 --id 0badc0de 83:2048:2048 5:4096:12288 || bail "mbr"
python3 "$MKDISKS" ebr-chain chain.img 4096 5000 || bail "ebr-chain"
t0=$(date +%s%N)
discover chain.out chain.img
ok $? "a 5000-link extended chain: discovered"
ms=$((($(date +%s%N) - t0) / 1000000))
diag "5000-link chain: ${ms} ms"
[ "$ms" -lt 5000 ]; ok $? "a 5000-link extended chain: discovered in ${ms} ms (< 5 s)"
is "$(jq -r '"\(.name) \(.kind) \(.why_not)"' chain.out | tr '\n' ';')" \
  "d0p1 primary no filesystem found;d0p2 extended extended partition container whose chain is longer than 1024 links: logical partitions not listed;" \
  "a 5000-link extended chain: primaries listed, the container says why"
is "$(cat chain.out.err)" \
  "warning: disk 0 (chain.img): MBR extended partition chain longer than 1024 links: logical partitions not listed" \
  "a 5000-link extended chain: a warning"

# a chain of 600 links (under the guard): at most 256 volumes are listed
truncate -s 8M many.img
python3 "$MKDISKS" mbr many.img 0 5:2048:12288 || bail "mbr"
python3 "$MKDISKS" ebr-chain many.img 2048 600 || bail "ebr-chain"
discover many.out many.img
ok $? "600 logical partitions: discovered"
is "$(wc -l < many.out)" 256 "600 logical partitions: 256 volumes listed"
is "$(jq -r .name many.out | sed -n '1p;2p;$p' | tr '\n' ' ')" "d0p1 d0p5 d0p259 " \
  "600 logical partitions: the container and the first 255 logicals by number"
is "$(cat many.out.err)" "warning: disk 0 (many.img): 601 partitions: only the first 256 are listed" \
  "600 logical partitions: a warning"

# ---- 9. hostile GPT ------------------------------------------------------------
# a header that claims 1,000,000 entries (valid header CRC): refused before
# libblkid would read 128 MB of entries
truncate -s 16M hgpt.img
sgdisk -o -n 1:2048:+4M hgpt.img > /dev/null || bail "sgdisk hgpt.img"
python3 "$MKDISKS" gpt-entries hgpt.img 1000000 || bail "gpt-entries"
discover hgpt.out hgpt.img
ok $? "GPT claiming 1,000,000 entries: discovered (no crash)"
is "$(wc -c < hgpt.out)" 0 "GPT claiming 1,000,000 entries: no volumes"
is "$(cat hgpt.out.err)" \
  "warning: disk 0 (hgpt.img): the primary GPT header claims 1000000 partition entries (limit 16384): partition table ignored" \
  "GPT claiming 1,000,000 entries: a warning"

# entry 2 ends past the disk (libblkid drops it: a warning), entry 3
# overlaps entry 1 (both listed, not mountable)
truncate -s 32M bgpt.img
sgdisk -o -n 1:2048:+8M -n 2:0:+8M -n 3:0:+8M bgpt.img > /dev/null || bail "sgdisk bgpt.img"
fs_at bgpt.img 2048 16384 mkfs.ext4 -q -F -L bgpt || bail "mkfs.ext4"
python3 "$MKDISKS" gpt-set bgpt.img 2 18432 999999 || bail "gpt-set 2"
python3 "$MKDISKS" gpt-set bgpt.img 3 10240 20479 || bail "gpt-set 3"
discover bgpt.out bgpt.img
ok $? "GPT with bad entries: discovered"
is "$(jq -r '"\(.name) \(.fstype) \(.mountable) \(.why_not)"' bgpt.out | tr '\n' ';')" \
  "d0p1 ext4 false partition overlaps d0p3;d0p3 null false partition overlaps d0p1;" \
  "GPT with bad entries: the overlapping pair listed, not mountable"
is "$(cat bgpt.out.err)" \
  "warning: disk 0 (bgpt.img): libblkid skipped 1 GPT entry (the first is number 2): outside the table's usable area" \
  "GPT with bad entries: a warning for the one libblkid dropped"

# ---- 10. random tables -----------------------------------------------------------
# 40 disks of 4 MiB with random, mostly broken MBRs (entries, EBRs anywhere,
# links that loop) and GPTs (entries, counts, CRCs), discovered as one set:
# no crash, no sanitizer report, only warnings, and what is mountable is sane.
FUZZ=()
for seed in $(seq 1 40); do
  python3 "$MKDISKS" random "r$seed.img" "$seed" || bail "random $seed"
  FUZZ+=("r$seed.img")
done
discover fuzz.out "${FUZZ[@]}"
ok $? "40 random tables: discovered as one set"
is "$(grep -cv '^warning: disk [0-9]* (r[0-9]*\.img): ' fuzz.out.err)" 0 \
  "40 random tables: nothing but warnings on stderr ($(wc -l < fuzz.out.err) warnings)"
grep -v '^warning: ' fuzz.out.err | head -5 | sed 's/^/# /'
diag "random tables: $(wc -l < fuzz.out) volumes: $(jq -r .kind fuzz.out | sort | uniq -c | tr -s ' \n' ' ')"
is "$(jq -s '[.[] | select(.mountable and (.why_not != null or .fstype == null
        or .offset + .size > 4194304 or .nseg != 1))] | length' fuzz.out)" 0 \
  "40 random tables: mountable volumes have a type, no reason against, lie inside the disk"
is "$(jq -s '[.[] | select((.mountable | not) and .why_not == null)] | length' fuzz.out)" 0 \
  "40 random tables: every volume that is not mountable says why"
is "$(jq -s '[.[].name] | length - (unique | length)' fuzz.out)" 0 \
  "40 random tables: volume names are unique"
is "$(jq -s '[.[].disk] | . == sort' fuzz.out)" true "40 random tables: volumes in disk order"

# ---- no loop device left behind --------------------------------------------------
is "$(losetup -a | grep -c "$T")" 0 "no loop device left attached"
done_testing

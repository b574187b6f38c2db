#!/bin/bash
# serve-volumes.sh: `vixmount serve` and the plugin's volume exports
# (volumes=, common/utils/segtext.h), on the host.
#  - the LVM set of tests/lib/serve.sh (a striped LV over two disks, a
#    linear one spanning both, one on a GPT partition's PV) and a partition
#    set (MBR with an extended partition and logicals, GPT): the export list
#    is every disk and every volume; each export read whole (nbdcopy)
#    equals the same bytes of `qemu-img convert` of the VMDKs, cut by
#    sfdisk's table or composed by lvs's segments (tests/lib/lvmimg.py);
#    the block status of each volume is its disks' through its segments
#    (tests/lib/volmapcheck.py);
#  - TLS over TCP on 127.0.0.1 only: nbdinfo, nbdcopy and qemu-img with
#    the pre-shared key read right; a wrong key and a plain client are
#    refused; TCP without TLS needs --insecure; qemu-nbd and nbdfuse read
#    over a Unix socket;
#  - --cow: a write to a volume shows in its disk's export at the mapped
#    offset, and the VMDK files do not change; read-only by default;
#  - a bad map (disk index, outside a disk, overlap, overflow, syntax)
#    stops nbdkit naming the file, the line and the cause;
#  - SIGTERM: serve exits 0, nbdkit and the temporary directory are gone.
. "$top_srcdir/tests/lib/common.sh"
need lvm sgdisk sfdisk qemu-img qemu-io qemu-nbd python3 jq losetup nbdcopy nbdinfo nbdfuse \
  psktool certtool mkfs.ext4 ss fusermount3
require_root "loop devices (lvm2), the FUSE bridge"
d=$(scratch)
cd "$d" || bail "cd"
. "$top_srcdir/tests/lib/serve.sh"    # lvm.sh, plugin.sh; ./vix.conf, ./rt, ./lvm
CHECK="python3 $top_srcdir/tests/lib/volmapcheck.py"

lvm_set
# the partition set: P (MBR: a primary, an extended with two logicals, a
# primary after it) and Q (GPT, two partitions); random MiBs between holes
truncate -s 64M P.raw; truncate -s 48M Q.raw
printf 'start=2048, size=16384, type=83\nstart=18432, size=61440, type=5\nstart=20480, size=20480, type=83\nstart=43008, size=34816, type=7\nstart=81920, size=40960, type=83\n' \
  | sfdisk -q P.raw || bail "sfdisk P"
sgdisk -n 1:2048:+20M -t 1:8300 -c 1:data -n 2:0:0 -t 2:0700 -c 2:other Q.raw > /dev/null || bail "sgdisk Q"
random_holes P.fill $((64 << 20)); random_holes Q.fill $((48 << 20))
for x in P Q; do   # everything but the tables' sectors
  sfdisk --json $x.raw | jq -r '.partitiontable.partitions[] | select(.type != "5") | "\(.start) \(.size)"' |
    while read -r s n; do dd if=$x.fill of=$x.raw bs=512 skip="$s" seek="$s" count="$n" conv=notrunc status=none; done
done
qemu-img convert -f raw -O vmdk P.raw P.vmdk && qemu-img convert -f raw -O vmdk Q.raw Q.vmdk || bail "convert"

# the reference: the VMDKs converted back, cut and composed by the tools
for x in A B P Q; do qemu-img convert -f vmdk -O raw $x.vmdk $x.ref || bail "qemu-img convert $x"; done
# ref_parts DISKINDEX REF: "dNpM START SIZE" (sectors) from sfdisk
ref_parts() {
  sfdisk --json "$2" | jq -r --arg d "$1" '.partitiontable.partitions[] |
    "d\($d)p\(.node | capture("(?<n>[0-9]+)$").n) \(.start) \(.size)"'
}
sums1=$(sha256sum A.vmdk B.vmdk P.vmdk Q.vmdk)

# check_set OUT REFDIR DISK...: every export of the running server against
# ./want (lines "NAME FILE"), block status of every volume
check_exports() {
  local out=$1 sock=$2 name f bad=0 n=0 got want
  is "$(jq -r '.exports[].name' "$out" | sort | tr '\n' ' ')" "$(awk '{print $1}' want | sort | tr '\n' ' ')" \
    "$out: the exports are every disk and every volume"
  while read -r name f; do
    n=$((n + 1))
    got=$(nbdcopy "$(nbd_uri "$sock" "$name")" - | sha256sum | cut -c1-64)
    want=$(sha256sum < "$f" | cut -c1-64)
    [ "$got" = "$want" ] || { diag "export $name differs from $f"; bad=$((bad + 1)); }
  done < want
  is "$bad of $n" "0 of $n" "$out: every export read whole equals the reference bytes"
}
check_block_status() {
  local sock=$1 ndisks=$2 name r bad=0 n=0 i disks=()
  for ((i = 0; i < ndisks; i++)); do
    nbdinfo --map --json "$(nbd_uri "$sock" $i)" > disk$i.map || bail "nbdinfo --map disk $i"
    disks+=(disk$i.map)
  done
  for name in $(grep '^volume ' map | awk '{print $2}'); do
    n=$((n + 1))
    nbdinfo --map --json "$(nbd_uri "$sock" "$name")" > vol.map || { bad=$((bad + 1)); continue; }
    r=$($CHECK map "$name" vol.map "${disks[@]}") || { diag "$r"; bad=$((bad + 1)); }
  done
  is "$bad of $n" "0 of $n" "block status of every volume is its disks', through its segments"
}

# ---- the LVM set -------------------------------------------------------------------
VIXMOUNT_CONFIG=$d/vix.conf
"$VIXMOUNT" list --config "$VIXMOUNT_CONFIG" --volume-map A.vmdk B.vmdk > map 2> map.err
ok $? "vixmount list --volume-map of the LVM set" || diag "$(cat map.err)"
is "$(grep '^volume ' map | awk '{print $2}' | tr '\n' ' ')" "d0 d1p1 d1p2 gvg/lin gvg/onb gvg/str " \
  "the map holds every volume: the PV disk, both partitions, the LVs"
grep -q '^description gvg/str LVM gvg/str, striped, 1 segment on disks 0,1$' map
ok $? "an LV's description says layout, segments and disks" || diag "$(grep '^desc.*str' map)"
B2=$(sed -n 's/.*=B.raw:\(.*\)/\1/p' devs)
{
  echo "0 A.ref"; echo "1 B.ref"; echo "d0 A.ref"
  ref_parts 1 B.ref | while read -r v s n; do
    dd if=B.ref of=$v.want bs=512 skip="$s" count="$n" status=none; echo "$v $v.want"; done
  for lv in lin onb str; do
    python3 "$LVMIMG_PY" read r1.json gvg/$lv $lv.want "$(sed -n 1p devs | sed 's/A.raw/A.ref/')" \
      "$(sed -n 2p devs | sed 's/B.raw/B.ref/')" || bail "lvmimg read $lv"
    echo "gvg/$lv $lv.want"
  done
} > want
serve_start s1.json --unix "$d/s1.sock" --config "$VIXMOUNT_CONFIG" A.vmdk B.vmdk
ok $? "vixmount serve of the LVM set on a Unix socket" || diag "$(cat s1.json.err)"
res=$(python3 "$top_srcdir/tests/lib/jsonschema-check.py" "$top_srcdir/docs/vixmount.schema.json" serve < s1.json 2>&1)
ok $? "serve --json is valid against docs/vixmount.schema.json (serve)" || diag "$res"
is "$(jq -r '"\(.mode) \(.tls) \(.exports | length)"' s1.json)" "ro false 8" "serve --json: read-only, no TLS on a Unix socket, 2 disks and 6 volumes (d0, d1p1, d1p2, 3 LVs)"
check_exports s1.json "$d/s1.sock"
check_block_status "$d/s1.sock" 2
cp map lvm.map
is "$(jq -r '.exports[] | select(.name == "gvg/lin") | .description' s1.json)" \
  "LVM gvg/lin, linear, 2 segments on disks 0,1" "the export list describes a spanning LV"
nbdinfo --list "$(nbd_uri "$d/s1.sock")" > list.out
grep -q 'description: LVM gvg/onb, linear, 1 segment on disk 1, ext4, LABEL=onb' list.out
ok $? "nbdinfo --list shows the volumes' descriptions"
is "$(nbdinfo --can write "$(nbd_uri "$d/s1.sock" gvg/str)"; echo $?)" 2 "read-only by default: a volume export is not writable"
qemu-nbd -L -k "$d/s1.sock" > qnbd.out 2>&1
grep -q "export: 'gvg/str'" qnbd.out; ok $? "qemu-nbd --list sees the volume exports"
mkdir -p fm
nbdfuse fm/onb "$(nbd_uri "$d/s1.sock" gvg/onb)" & fpid=$!
for _ in $(seq 100); do [ -f fm/onb ] && break; sleep 0.1; done
is "$(sha256sum < fm/onb | cut -c1-64)" "$(sha256sum < onb.want | cut -c1-64)" "nbdfuse reads a volume export"
fusermount3 -u fm; wait $fpid
serve_stop; st=$?
is "$st" 0 "SIGTERM: serve exits 0"
is "$(ls serve-tmp)" "" "its temporary directory (map, pid file) is gone"
is "$(pgrep -f "nbdkit.*$d/s1.sock" | wc -l)" 0 "and so is its nbdkit"

# ---- the partition set ------------------------------------------------------------------
"$VIXMOUNT" list --config "$VIXMOUNT_CONFIG" --volume-map P.vmdk Q.vmdk > map 2> map.err
ok $? "vixmount list --volume-map of the partition set" || diag "$(cat map.err)"
{
  echo "0 P.ref"; echo "1 Q.ref"
  { ref_parts 0 P.ref; ref_parts 1 Q.ref; } | while read -r v s n; do
    ref=P.ref; [ "${v:1:1}" = 1 ] && ref=Q.ref
    dd if=$ref of=$v.want bs=512 skip="$s" count="$n" status=none; echo "$v $v.want"; done
} > want
# the extended container: discovery serves what the MBR entry says
serve_start s2.json --unix "$d/s2.sock" --config "$VIXMOUNT_CONFIG" P.vmdk Q.vmdk
ok $? "vixmount serve of the partition set" || diag "$(cat s2.json.err)"
check_exports s2.json "$d/s2.sock"
check_block_status "$d/s2.sock" 2
serve_stop

# ---- TLS over TCP -----------------------------------------------------------------------
port=$(free_port)
psk_keys keys.psk alice; psk_keys wrong.psk alice
"$VIXMOUNT" serve --tcp 127.0.0.1:$port A.vmdk > /dev/null 2> notls.err
is "$?" 2 "TCP without TLS and without --insecure is a usage error"
grep -q "TCP needs TLS" notls.err; ok $? "saying TLS is needed"
serve_start t.json --tcp 127.0.0.1:$port --tls-psk keys.psk --config "$VIXMOUNT_CONFIG" A.vmdk B.vmdk
ok $? "serve over TCP with TLS (PSK)" || diag "$(cat t.json.err)"
is "$(jq -r '.exports[] | select(.name == "gvg/str") | .uri' t.json)" "nbds://127.0.0.1:$port/gvg/str" \
  "the export's URI is nbds://"
is "$(ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u | tr '\n' ' ')" "127.0.0.1:$port " \
  "nbdkit listens on 127.0.0.1 only"
u="nbds://alice@127.0.0.1:$port/gvg/str?tls-psk-file=$d/keys.psk"
is "$(nbdcopy "$u" - | sha256sum | cut -c1-64)" "$(sha256sum < str.want | cut -c1-64)" "nbdcopy over TLS reads the striped LV"
is "$(nbdinfo --size "$u")" "$(stat -c %s str.want)" "nbdinfo over TLS"
mkdir -p qpsk; cp keys.psk qpsk/keys.psk
qemu-img convert --object "tls-creds-psk,id=tls0,endpoint=client,dir=$d/qpsk,username=alice" \
  --image-opts "driver=nbd,host=127.0.0.1,port=$port,export=gvg/lin,tls-creds=tls0" -O raw lin.qemu 2> qimg.err
is "$(sha256sum < lin.qemu | cut -c1-64)" "$(sha256sum < lin.want | cut -c1-64)" "qemu-img over TLS reads the spanning LV" || diag "$(cat qimg.err)"
nbdinfo --size "nbds://alice@127.0.0.1:$port/gvg/str?tls-psk-file=$d/wrong.psk" > /dev/null 2>&1
isnt_ok=$?; [ $isnt_ok -ne 0 ]; ok $? "a client with a wrong key is refused"
nbdinfo --size "nbd://127.0.0.1:$port/gvg/str" > /dev/null 2>&1
[ $? -ne 0 ]; ok $? "a client without TLS is refused"
serve_stop; st=$?
is "$st $(pgrep -f "nbdkit.*-p $port " | wc -l)" "0 0" "the TLS server stops on SIGTERM, its nbdkit with it"
serve_start i.json --tcp 127.0.0.1:$port --insecure --config "$VIXMOUNT_CONFIG" --no-volumes A.vmdk
ok $? "--insecure: TCP without TLS (disks only, --no-volumes)"
is "$(nbdinfo --size "nbd://127.0.0.1:$port/0")" $((64 << 20)) "a plain client reads then"
is "$(jq -r '[.exports[].name] | join(" ")' i.json)" "0" "--no-volumes: the disk exports only"
serve_stop

# ---- --cow: a write to a volume is seen in its disk, the VMDKs never change -----------------
serve_start c.json --unix "$d/c.sock" --cow --config "$VIXMOUNT_CONFIG" A.vmdk B.vmdk
ok $? "serve --cow"
# gvg/str: chunk 1 (64 KiB at 65536 of the LV) is stripe 1's first chunk, on disk 1
read -r sdisk soff < <(awk '$1 == "volume" && $2 == "gvg/str" {print $9, $10}' lvm.map)
qemu-io -f raw -c "write -P 0x5a 65536 65536" "$(nbd_uri "$d/c.sock" gvg/str)" > cow.w 2>&1
! grep -qiE 'error|fail' cow.w && grep -q "wrote 65536/65536" cow.w
ok $? "a write to the striped LV's export" || diag "$(cat cow.w)"
qemu-io -f raw -r -c "read -P 0x5a $soff 65536" "$(nbd_uri "$d/c.sock" "$sdisk")" > cow.r 2>&1
! grep -qiE 'error|fail' cow.r && grep -q "read 65536/65536" cow.r
ok $? "reads back through disk $sdisk's export at the mapped offset $soff" || diag "$(cat cow.r)"
serve_stop
is "$(sha256sum A.vmdk B.vmdk P.vmdk Q.vmdk)" "$sums1" "the VMDK files never changed"

# ---- bad maps --------------------------------------------------------------------------------
badmap() {  # WHAT LINE CAUSE TEXT
  printf '%b' "$4" > bad.map
  nbdkit_fails bad.log "$PLUGIN" file=A.vmdk file=B.vmdk volumes=bad.map
  [ $? -ne 0 ] && grep -q "volumes=$d/bad.map: line $2: .*$3" bad.log
  ok $? "a map with $1: nbdkit refuses to start, naming the map, line $2 and the cause" || diag "$(cat bad.log)"
}
badmap "an unknown disk index" 2 "not in the set" "volume a linear 512 0 0\nvolume b linear 512 2 0\n"
badmap "a piece outside its disk" 1 "outside its disk" "volume a linear 4096 0 $(((64 << 20) - 512))\n"
badmap "overlapping pieces" 3 "overlap" "# x\n\nvolume a linear 4096 1 0 linear 4096 1 2048\n"
badmap "a size past 2^64" 1 "larger than 2^64" "volume a linear 18446744073709551615 0 0 linear 1 1 0\n"
badmap "a bad word" 1 "linear\" or \"striped" "volume a mirror 512 0 0\n"
printf 'volume A.vmdk linear 512 0 0\n' > bad.map
nbdkit_fails bad.log "$PLUGIN" file=A.vmdk volumes=bad.map
grep -q "volumes=$d/bad.map: volume A.vmdk: a disk's export has that name" bad.log
ok $? "a volume named like a disk's export: refused" || diag "$(cat bad.log)"
nbdkit_fails nomap.log "$PLUGIN" file=A.vmdk volumes=nonexistent.map
grep -q "volumes=$d/nonexistent.map: No such file" nomap.log; ok $? "a missing map: its name and the cause"
done_testing

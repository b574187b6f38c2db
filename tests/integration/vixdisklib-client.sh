#!/bin/bash
# libvixDiskLib from the outside: "make install" into a DESTDIR, a backup
# client (tests/vixdisklib/backup-client.c) compiled only against the
# installed headers with `cc $(pkg-config --cflags --libs vixDiskLib)`, run
# over every subformat qemu-img makes and over a snapshot chain:
# InitEx -> ConnectEx -> Open -> GetInfo -> Read -> QueryAllocatedBlocks ->
# metadata -> Close -> Disconnect -> Exit.  Oracles: qemu-img convert -O raw
# (sha256 of the bytes read), qemu-img map (allocated chunks), the
# descriptor's ddb lines (metadata), qemu-img info (capacity).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/vixdisklib.sh"
need qemu-img qemu-io python3 sha256sum make readelf
CHECK="$top_srcdir/tests/lib/vddkcheck.py"

T=$(scratch)
vddk_install "$T/dest"
for f in libvixDiskLib.so.8.0.0 libvixDiskLib.so.8 libvixDiskLib.so; do
  [ -e "$VDDK_LIBDIR/$f" ]
  ok $? "installed $f"
done
inc=$(find "$VDDK_DESTDIR" -name vixDiskLib.h)
for h in vixDiskLib.h vixMntapi.h vm_basic_types.h; do
  [ -f "$(dirname "$inc")/$h" ]
  ok $? "installed $h beside vixDiskLib.h ($(dirname "${inc#$VDDK_DESTDIR}"))"
done
vddk_build_client "$T"
readelf -d "$CLIENT" | grep -q 'NEEDED.*\[libvixDiskLib\.so\.8\]'
ok $? "the client links against the soname libvixDiskLib.so.8"

cd "$T" || bail "cd $T"
M=$((1024 * 1024))
G=65536
SIZE=$((100 * M + 512))     # capacity 204801 sectors: a partial last chunk

cat > vddk.conf <<EOF
# a VixDiskLib configuration file as backup products write them
tmpDirectory = "$T"
vixDiskLib.transport.LogLevel = 4
vixDiskLib.nfc.LogLevel = 1
log.fileName = vixDiskLib-test.log
log.fileLevel = "verbose"
some.unknown.key = 42
EOF


fill() {
  local disk=$1 size=$2
  qemu_io "$disk" \
    "write -P 0xab 0 128k" \
    "write -P 0x11 $((4096 + 512)) 512" \
    "write -P 0x22 1050000 3000" \
    "write -P 0x44 $((5 * M + 777)) 300000" \
    "write -P 0x66 $((64 * M)) 64k" \
    "write -P 0x55 $((size - 512)) 512" \
    "write -z $G $G" \
    "write -z $((10 * M)) 128k"
}

# check LABEL VMDK LINKS PARENT-HINT [client options] [-- qemu map spec]:
# run the backup client and compare everything with qemu-img.
check() {
  local label=$1 vmdk=$2 links=$3 hint=$4 out rc qspec=() opts=()
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  if [ $# -gt 0 ]; then qspec=("$@"); else qspec=(-f vmdk "$vmdk"); fi

  out=$(client --config "$T/vddk.conf" backup "$vmdk" "$T/b" "${opts[@]}" 2>&1)
  rc=$?
  ok $rc "$label: backup client runs (InitEx..Exit)"
  if [ $rc -ne 0 ]; then sed 's/^/#   /' <<<"$out"; return; fi

  qemu-img convert -O raw "${qspec[@]}" "$T/q.raw" || bail "qemu-img convert $vmdk"
  is "$(sha256sum < "$T/b.raw")" "$(sha256sum < "$T/q.raw")" \
     "$label: bytes read equal qemu-img convert -O raw (sha256)"

  qemu-img map --output=json "${qspec[@]}" > "$T/q.map" || bail "qemu-img map $vmdk"
  out=$(python3 "$CHECK" blocks "$T/q.map" "$T/b.blocks" \
        "$(( $(stat -c %s "$T/q.raw") / 512 ))" 128 2>&1)
  ok $? "$label: QueryAllocatedBlocks equals qemu-img map (128-sector chunks)"
  [ $? -eq 0 ] || sed 's/^/#   /' <<<"$out"

  out=$(python3 "$CHECK" ddb "$vmdk" "$T/b.meta" 2>&1)
  ok $? "$label: GetMetadataKeys/ReadMetadata equal the descriptor's ddb entries"
  [ $? -eq 0 ] || sed 's/^/#   /' <<<"$out"

  is "$(sed -n 's/^capacity=//p' "$T/b.info")" "$(( $(stat -c %s "$T/q.raw") / 512 ))" \
     "$label: GetInfo capacity"
  is "$(sed -n 's/^numLinks=//p' "$T/b.info")" "$links" "$label: GetInfo numLinks"
  is "$(sed -n 's/^parentFileNameHint=//p' "$T/b.info")" "$hint" \
     "$label: GetInfo parentFileNameHint"
  # qemu-img writes ddb.adapterType = "ide" and ddb.geometry.* by default
  is "$(sed -n 's/^adapterType=//p' "$T/b.info")" 1 "$label: GetInfo adapterType IDE"
  local c h s
  c=$(sed -n 's/^ddb\.geometry\.cylinders = "\(.*\)"/\1/p' "$T/b.meta" 2>/dev/null)
  c=$(sed -n 's/^geometry.cylinders = //p' "$T/b.meta")
  h=$(sed -n 's/^geometry.heads = //p' "$T/b.meta")
  s=$(sed -n 's/^geometry.sectors = //p' "$T/b.meta")
  if [ -n "$c" ]; then
    is "$(sed -n 's/^physGeo=//p' "$T/b.info")" "$c/$h/$s" \
       "$label: GetInfo physGeo from ddb.geometry.*"
    is "$(sed -n 's/^biosGeo=//p' "$T/b.info")" "$c/$h/$s" \
       "$label: GetInfo biosGeo (no bios keys: same as physGeo)"
  fi
  is "$(sed -n 's/^logicalSectorSize=//p;s/^physicalSectorSize=//p' "$T/b.info" | tr '\n' ' ')" \
     "512 512 " "$label: GetInfo sector sizes 512/512"
  rm -f "$T"/b.* "$T/q.raw" "$T/q.map"
}

# ---- every subformat --------------------------------------------------------
for spec in monolithicSparse monolithicSparse,zeroed_grain=on monolithicFlat \
            twoGbMaxExtentSparse twoGbMaxExtentFlat; do
  n=d_${spec//[,=]/_}
  qemu-img create -q -f vmdk -o subformat="$spec" "$n.vmdk" "$SIZE" || bail "create $spec"
  fill "$n.vmdk" "$SIZE"
  check "$spec" "$n.vmdk" 1 "(null)"
done
check "monolithicSparse (async reads)" d_monolithicSparse.vmdk 1 "(null)" --async
check "twoGbMaxExtentFlat (async reads)" d_twoGbMaxExtentFlat.vmdk 1 "(null)" --async
# another chunk size: only the grid changes
out=$(client backup d_monolithicSparse.vmdk "$T/c" --chunk 1024 2>&1) \
  && qemu-img map --output=json -f vmdk d_monolithicSparse.vmdk > "$T/q.map" \
  && out=$(python3 "$CHECK" blocks "$T/q.map" "$T/c.blocks" 204801 1024 2>&1)
ok $? "monolithicSparse: QueryAllocatedBlocks with 1024-sector chunks equals qemu-img map"
rm -f "$T"/c.*

for spec in streamOptimized streamOptimized,zeroed_grain=on; do
  n=d_${spec//[,=]/_}
  qemu-img convert -f vmdk -O vmdk -o subformat="$spec" d_monolithicSparse.vmdk "$n.vmdk" \
    || bail "convert to $spec"
  check "$spec" "$n.vmdk" 1 "(null)"
done

# ---- the configuration file did its job --------------------------------------
[ -s "$T/vixDiskLib-test.log" ]
ok $? "config: log.fileName relative to tmpDirectory was written"
grep -q 'unknown configuration key "some.unknown.key" ignored' "$T/vixDiskLib-test.log"
ok $? "config: an unknown key is logged and ignored"
grep -q 'Open: .*d_monolithicSparse.vmdk (read-only' "$T/vixDiskLib-test.log"
ok $? "config: log.fileLevel verbose records Open"

# ---- a snapshot chain: base <- s1 (monolithicSparse) <- s2 (split sparse) ----
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk "$SIZE" || bail base
fill base.vmdk "$SIZE"
qemu-img create -q -f vmdk -b base.vmdk -F vmdk s1.vmdk || bail s1
qemu_io s1.vmdk "write -P 0xc1 $((3 * M)) 200k" "write -P 0xc2 $((64 * M + 4096)) 4096" \
  "write -z 0 64k"
qemu-img create -q -f vmdk -o subformat=twoGbMaxExtentSparse -b s1.vmdk -F vmdk s2.vmdk || bail s2
qemu_io s2.vmdk "write -P 0xd1 $((90 * M)) 1M" "write -P 0xd2 $((3 * M + 100000)) 512"
check "chain s2 -> s1 -> base" s2.vmdk 3 s1.vmdk
check "chain s1 -> base" s1.vmdk 2 base.vmdk
check "chain s2 -> s1 -> base (async)" s2.vmdk 3 s1.vmdk --async
single='json:{"driver":"vmdk","file":{"driver":"file","filename":"s2.vmdk"},"backing":null}'
check "chain top opened SINGLE_LINK" s2.vmdk 1 s1.vmdk --single-link -- "$single"

done_testing

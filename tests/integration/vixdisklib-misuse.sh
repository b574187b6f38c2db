#!/bin/bash
# Wrong use of libvixDiskLib (tests/vixdisklib/misuse.c): NULL, garbage,
# closed and double-closed handles; unaligned and out-of-range sector ranges;
# writes through read-only handles and connections; remote connections;
# buffer-size negotiation; locks; Close racing with reads; Exit with things
# left open.  Each call must return its documented VIX_E_* code; in the
# sanitizer build ASan/UBSan/LeakSanitizer must stay silent (a report makes
# the program exit non-zero).
. "$top_srcdir/tests/lib/common.sh"
need qemu-img qemu-io
MISUSE="$top_builddir/tests/vixdisklib-misuse"
[ -x "$MISUSE" ] || bail "$MISUSE not built"

T=$(scratch)
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$T/small.vmdk" $((2049 * 512)) \
  || bail "create small"
qemu-io -f vmdk -c "write -P 0x42 0 64k" -c "write -P 0x43 $((2048 * 512)) 512" \
  "$T/small.vmdk" > /dev/null || bail "fill small"
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$T/rw.vmdk" 1M || bail "create rw"
qemu-img create -q -f vmdk -o subformat=monolithicSparse "$T/big.vmdk" 40G || bail "create big"
qemu-img create -q -f vmdk -b small.vmdk -F vmdk "$T/child.vmdk" || bail "create child"
printf 'this is not a VMDK\n' > "$T/garbage.vmdk"
# 1 MiB of random bytes (not a VMDK at all), and a real descriptor over the
# engine's 1 MiB cap (a VMDK it does not support)
head -c 1M /dev/urandom > "$T/random.bin" || bail "random.bin"
{ printf '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n'
  head -c 1100000 /dev/zero | tr '\0' '#' | fold -w 100; } > "$T/hugedesc.vmdk" \
  || bail "hugedesc.vmdk"

E=$(scratch)
out=$("$MISUSE" "$T" 2>"$E/stderr")
rc=$?
tap_lines <<<"$out"
ok $rc "vixdisklib-misuse exits 0 (no failed check, no sanitizer report; status $rc)"
[ $rc -eq 0 ] || sed 's/^/# stderr: /' "$E/stderr" | head -60
! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$E/stderr"
ok $? "no sanitizer report on stderr"
[ -z "$(ls "$T" | grep -v -e '^small.vmdk$' -e '^rw.vmdk$' -e '^big.vmdk$' \
        -e '^child.vmdk$' -e '^garbage.vmdk$' -e '^random.bin$' \
        -e '^hugedesc.vmdk$')" ]
ok $? "no stray files left (lock directories, temporary disks)"

done_testing

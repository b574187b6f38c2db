#!/bin/bash
# plugin-cow.sh: the plugin's cow=true, the exports the kernel bridge gives a
# read-only set: writable views whose writes land in a private overlay per
# disk, never in a VMDK.
#  - writes (aligned, unaligned, zeroes, trims) read back; other bytes keep
#    the disk's data; the other disk of the server is untouched (one overlay
#    per disk: nbdkit's cow filter shares one among all exports);
#  - a streamOptimized disk, which the plugin cannot write, takes writes;
#  - block status reports written ranges as data;
#  - the VMDK files are byte-identical afterwards and a new server shows the
#    original data; -r still gives read-only exports;
#  - cow-dir names where the overlay lives (unlinked: nothing is left there).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img qemu-io nbdcopy nbdinfo sha256sum cmp jq

T=$(scratch)
cd "$T" || bail "cd $T"

# two 8 MiB disks of random data with a hole in the middle
for n in a b; do
  head -c 3M /dev/urandom > $n.raw; truncate -s 5M $n.raw; head -c 3M /dev/urandom >> $n.raw
done
qemu-img convert -f raw -O vmdk a.raw a.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized b.raw b.vmdk
sums0=$(sha256sum a.vmdk b.vmdk)
mkdir ovl

nbdkit_start s.sock -- cow=true cow-dir="$T/ovl" file=a.vmdk file=b.vmdk || bail "nbdkit"
A=$(nbd_uri s.sock 0) B=$(nbd_uri s.sock 1)
is "$(nbdinfo --json "$A" | jq -r '.exports[0].is_read_only')" false "cow=true: export 0 is writable"
is "$(nbdinfo --json "$B" | jq -r '.exports[0].is_read_only')" false "... and so is the streamOptimized one"

# the expected content, built alongside in a raw copy
cp a.raw a.want; cp b.raw b.want
qio() { qemu-io -f raw "$@" > /dev/null; }
qio -c 'write -P 0xab 65536 131072' "$A"; ok $? "aligned write of 128 KiB to disk 0"
qio -f raw -c 'write -P 0xab 65536 131072' a.want
qio -c 'write -P 0x5c 1000 100' "$A"; ok $? "unaligned write of 100 bytes at 1000"
qio -f raw -c 'write -P 0x5c 1000 100' a.want
qio -c 'write -P 0x77 4194304 8192' "$A"; ok $? "write into the disk's hole"
qio -f raw -c 'write -P 0x77 4194304 8192' a.want
qio -c 'write -z 7340032 65536' "$A"; ok $? "write zeroes over data"
qio -f raw -c 'write -z 7340032 65536' a.want
qio -c 'write -P 0x11 1048576 4096' "$B"; ok $? "write to the streamOptimized disk"
qio -f raw -c 'write -P 0x11 1048576 4096' b.want

nbdcopy "$A" a.got && cmp a.got a.want; ok $? "disk 0 reads back its writes, and its data elsewhere"
nbdcopy "$B" b.got && cmp b.got b.want; ok $? "disk 1 reads back its own write only (one overlay per disk)"
is "$(nbdinfo --map "$A" | awk '$1 <= 4194304 && $1 + $2 > 4194304 {print $3}')" 0 \
   "block status: the written hole is data now"
qio -c 'discard 2097152 65536' "$A"; ok $? "trim"
nbdcopy "$A" a.got2
is "$(cmp -s <(head -c $((2097152 + 65536)) a.got2 | tail -c 65536) <(head -c 65536 /dev/zero) && echo zero)" zero \
   "trimmed bytes read as zeros"
is "$(find ovl -type f | wc -l)" 0 "the overlays in cow-dir have no name (unlinked at once)"
nbdkit_stop "$NBDKIT_PID"
is "$(sha256sum a.vmdk b.vmdk)" "$sums0" "the VMDK files are byte-identical"

nbdkit_start s2.sock -- cow=true file=a.vmdk || bail "nbdkit"
nbdcopy "$(nbd_uri s2.sock 0)" a.again && cmp a.again a.raw; ok $? "a new server shows the original data (the overlay went with the old)"
nbdkit_stop "$NBDKIT_PID"
nbdkit_start s3.sock -r -- cow=true file=a.vmdk || bail "nbdkit"
is "$(nbdinfo --json "$(nbd_uri s3.sock 0)" | jq -r '.exports[0].is_read_only')" true "with -r the export stays read-only"
nbdkit_stop "$NBDKIT_PID"
nbdkit_fails bad.log -f -U bad.sock "$PLUGIN" cow=maybe file=a.vmdk; [ $? -ne 0 ] && grep -q maybe bad.log; ok $? "cow=maybe is refused: $(grep -m1 maybe bad.log)"
done_testing

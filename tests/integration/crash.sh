#!/bin/bash
# Crash safety of the write path: a write workload goes through the real
# nbdkit serving the vmdk plugin, and nbdkit is killed with SIGKILL at a
# random moment, many times.  After each crash: the disk opens, qemu-img check
# finds no corruption, the unclean-shutdown flag tells the disk was not closed,
# and every write acknowledged before the last completed flush reads back.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need nbdkit qemu-img python3
CLIENT="$top_builddir/tests/crashclient"
ROUNDS=${CRASH_ROUNDS:-12}
d=$(scratch)
cd "$d" || bail "cd"

qemu-img create -q -f vmdk -o zeroed_grain=on disk.vmdk 256M
qemu-io -f vmdk -c 'write -P 0x77 0 8M' disk.vmdk > /dev/null
qemu-img convert -f vmdk -O raw disk.vmdk durable.raw

verify() {  # NOW DURABLE PENDING: bytes outside pending ranges must match
  python3 - "$@" <<'EOF'
import sys
now, dur, pend = sys.argv[1:4]
ranges = sorted(tuple(map(int, l.split())) for l in open(pend) if l.strip())
a = open(now, 'rb'); b = open(dur, 'rb')
pos, bad, size = 0, 0, a.seek(0, 2)
a.seek(0)
def cmp(lo, hi):
    global bad
    a.seek(lo); b.seek(lo)
    while lo < hi:
        n = min(1 << 22, hi - lo)
        x, y = a.read(n), b.read(n)
        if x != y:
            i = next(k for k in range(n) if x[k] != y[k])
            print("# lost or corrupt byte at %d" % (lo + i)); bad += 1; return
        lo += n
for off, ln in ranges:
    if off > pos: cmp(pos, off)
    pos = max(pos, off + ln)
cmp(pos, size)
sys.exit(1 if bad else 0)
EOF
}

for i in $(seq "$ROUNDS"); do
  nbdkit_start "$d/sock" -- "file=disk.vmdk" || bail "nbdkit did not start (round $i)"
  "$CLIENT" "$d/sock" durable.raw pending.txt "$i" > client.out 2>&1 &
  cpid=$!
  # kill only once the client is connected (else the round tests nothing)
  for _ in $(seq 1000); do grep -q '^connected$' client.out 2>/dev/null && break; kill -0 $cpid 2>/dev/null || break; sleep 0.01; done
  sleep "0.$(( (RANDOM % 8) + 1 ))"
  kill -9 "$NBDKIT_PID"
  wait "$cpid"; crc=$?
  nbdkit_stop "$NBDKIT_PID"      # reaps it
  ok $crc "round $i: $(grep -m1 '^crashclient: [0-9]' client.out)" || diag "$(cat client.out)"
  nwrites=$(sed -n 's/^crashclient: \([0-9]*\) writes, .*/\1/p' client.out)
  nflush=$(sed -n 's/^crashclient: [0-9]* writes, \([0-9]*\) flushes.*/\1/p' client.out)
  [ "${nwrites:-0}" -gt 0 ]
  ok $? "round $i: writes went through before the crash"
  total_flushes=$(( ${total_flushes:-0} + ${nflush:-0} ))
  qemu-img check -q -f vmdk disk.vmdk > check.out 2>&1
  ok $? "round $i: qemu-img check finds no corruption"
  grep -q 'unclean shutdown: yes' <("$VMDKTOOL" info disk.vmdk)
  ok $? "round $i: the unclean-shutdown flag shows the crash"
  "$VMDKTOOL" cat disk.vmdk now.raw
  ok $? "round $i: the disk opens and reads after the crash"
  verify now.raw durable.raw pending.txt
  ok $? "round $i: every write acknowledged before the last flush is there ($(wc -l < pending.txt) writes were in flight)"
  mv now.raw durable.raw     # what the disk holds now is the next round's start
done
[ "${total_flushes:-0}" -gt 0 ]
ok $? "flushes completed before crashes ($total_flushes in all), so the durability check had teeth"
done_testing

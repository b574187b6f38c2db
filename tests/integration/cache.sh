#!/bin/bash
# cache.sh: the grain-table cache under pressure stays exact.
#
# Disks of many grain tables (a 1 GiB monolithicSparse: 32 tables; a
# zeroed-grain disk with whole tables of zeroed grains; a 3-link chain whose
# holes fall through to the base) are served with budgets far below their
# tables (gt-cache=8k: about three tables; gt-cache=0: none kept) and with
# the default.  Data read by nbdcopy with 4 connections (concurrent readers
# evicting each other's tables) must equal `qemu-img convert -O raw`, and the
# block status must have the same data/hole ranges as `qemu-img map`; with
# gt-cache=8k both twice (the second pass answers from the learned
# per-table summaries).
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img qemu-io nbdinfo nbdcopy jq cmp sha256sum

T=$(scratch)
cd "$T" || bail "cd $T"

# data/hole runs, adjacent equal runs merged: "START LENGTH d|h" lines
merge() { awk '{ if (n && $3 == k && s + l == $1) { l += $2; next }
                 if (n) print s, l, k; s = $1; l = $2; k = $3; n = 1 }
               END { if (n) print s, l, k }'; }
nbd_runs()  { jq -r '.[] | "\(.offset) \(.length) \(if (.type % 2) == 0 then "d" else "h" end)"' | merge; }
qemu_runs() { jq -r '.[] | "\(.start) \(.length) \(if .data then "d" else "h" end)"' | merge; }

M=$((1 << 20))
# scattered writes: every 3rd table gets 1 MiB, some partial grains, the ends
scatter() {  # FILE SEED-PATTERN
  local f=$1 p=$2 cmds=() i
  for ((i = 0; i < 32; i += 3)); do cmds+=(-c "write -P $(( (p + i) % 255 + 1 )) $(( i * 32 * M + (i % 5) * M )) 1M"); done
  cmds+=(-c "write -P $p 12345 1000" -c "write -P $p $(( 1024 * M - 4 * M )) 4M")
  qemu-io -f vmdk "${cmds[@]}" "$f" > /dev/null
}
qemu-img create -q -f vmdk -o subformat=monolithicSparse ms.vmdk 1G && scatter ms.vmdk 17 \
  || bail "making ms.vmdk"
qemu-img create -q -f vmdk -o subformat=monolithicSparse,zeroed_grain=on zg.vmdk 1G && scatter zg.vmdk 41 \
  && qemu-io -f vmdk -c "write -P 9 $(( 64 * M )) 96M" -c "write -z $(( 64 * M )) 64M" \
       -c "write -z $(( 512 * M )) 256M" zg.vmdk > /dev/null || bail "making zg.vmdk"
qemu-img create -q -f vmdk -o subformat=monolithicSparse base.vmdk 1G && scatter base.vmdk 3 \
  && qemu-img create -q -f vmdk -o subformat=monolithicSparse -b base.vmdk -F vmdk mid.vmdk \
  && qemu-io -f vmdk -c "write -P 77 $(( 96 * M )) 40M" -c "write -P 78 $(( 900 * M )) 3M" mid.vmdk > /dev/null \
  && qemu-img create -q -f vmdk -o subformat=monolithicSparse -b mid.vmdk -F vmdk top.vmdk \
  && scatter top.vmdk 100 || bail "making the chain"
for d in ms zg top; do
  qemu-img convert -O raw -f vmdk $d.vmdk $d.raw || bail "qemu-img convert $d"
  qemu-img map --output=json -f vmdk $d.vmdk | qemu_runs > $d.qmap || bail "qemu-img map $d"
  sha256sum < $d.raw > $d.sum
done

n=0
for budget in 8k 0 default; do
  for d in ms zg top; do
    n=$((n + 1))
    arg=gt-cache=$budget; [ $budget = default ] && arg=
    if ! nbdkit_start "$T/c$n.sock" --threads=16 -- file=$d.vmdk $arg; then
      ok 1 "$d, gt-cache=$budget: nbdkit starts"; continue
    fi
    u=$(nbd_uri "$T/c$n.sock")
    passes=1; [ $budget = 8k ] && passes=2
    for ((pass = 1; pass <= passes; pass++)); do
      nbdcopy --connections=4 --requests=16 --request-size=65536 "$u" - | sha256sum > out.sum
      cmp -s out.sum $d.sum
      ok $? "$d, gt-cache=$budget, pass $pass: 4 connections read = qemu-img convert"
      nbdinfo --map --json "$u" | nbd_runs > out.map
      cmp -s out.map $d.qmap
      ok $? "$d, gt-cache=$budget, pass $pass: map data/holes = qemu-img map" \
        || diff out.map $d.qmap | head -n 6 | sed 's/^/# /'
    done
    nbdkit_stop "$NBDKIT_PID"; ok $? "$d, gt-cache=$budget: nbdkit exits cleanly"
  done
done
done_testing

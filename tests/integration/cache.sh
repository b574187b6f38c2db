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
# per-table summaries).  An 8-link chain (1 GiB, every link writing its own
# grains and tables) runs the same checks; an 8-link chain over a 256 GiB
# base, lightly used, has its map compared with qemu-img map under each
# budget (the bench, tests/bench/scale FORMATS=chain8, does it at 2 TiB).
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
# 8 links: l0 (base) .. l7 = c8.vmdk, link i scattered with its own pattern
# plus 2 MiB at a place of its own; the 256 GiB one 4 MiB at three places
qemu-img create -q -f vmdk -o subformat=monolithicSparse c8-l0.vmdk 1G && scatter c8-l0.vmdk 5 \
  || bail "making the 8-link chain"
G=$((1 << 30)); B=$((256 * G))
qemu-img create -q -f vmdk -o subformat=monolithicSparse b8-l0.vmdk 256G \
  && qemu-io -f vmdk -c "write -P 1 0 4M" -c "write -P 2 $((B / 2)) 4M" -c "write -P 3 $((B - 4 * M)) 4M" \
       b8-l0.vmdk > /dev/null || bail "making the 256 GiB 8-link chain"
for i in 1 2 3 4 5 6 7; do
  qemu-img create -q -f vmdk -o subformat=monolithicSparse -b c8-l$((i - 1)).vmdk -F vmdk c8-l$i.vmdk \
    && qemu-io -f vmdk -c "write -P $((i + 20)) $(( (i * 37 % 64) * 16 * M + i * 4096 )) 2M" c8-l$i.vmdk > /dev/null \
    && { [ $((i % 3)) -ne 0 ] || scatter c8-l$i.vmdk $((i * 11)); } \
    && qemu-img create -q -f vmdk -o subformat=monolithicSparse -b b8-l$((i - 1)).vmdk -F vmdk b8-l$i.vmdk \
    && qemu-io -f vmdk -c "write -P $((i + 40)) $((16 * i * M)) 4M" -c "write -P $((i + 50)) $((B / 2 + 16 * i * M)) 4M" \
         -c "write -P $((i + 60)) $((B - 4 * M - 16 * i * M)) 4M" b8-l$i.vmdk > /dev/null \
    || bail "making link $i of the 8-link chains"
done
ln -s c8-l7.vmdk c8.vmdk && ln -s b8-l7.vmdk b8.vmdk || bail "ln"
qemu-img map --output=json -f vmdk b8.vmdk | qemu_runs > b8.qmap || bail "qemu-img map b8"
[ "$(grep -c ' d$' b8.qmap)" -eq 24 ] || bail "b8.qmap: 24 data runs expected"

for d in ms zg top c8; do
  qemu-img convert -O raw -f vmdk $d.vmdk $d.raw || bail "qemu-img convert $d"
  qemu-img map --output=json -f vmdk $d.vmdk | qemu_runs > $d.qmap || bail "qemu-img map $d"
  sha256sum < $d.raw > $d.sum
done

n=0
for budget in 8k 0 default; do
  for d in ms zg top c8; do
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
  arg=gt-cache=$budget; [ $budget = default ] && arg=
  n=$((n + 1))
  if nbdkit_start "$T/c$n.sock" -- file=b8.vmdk $arg; then
    nbdinfo --map --json "$(nbd_uri "$T/c$n.sock")" | nbd_runs > out.map
    cmp -s out.map b8.qmap
    ok $? "8 links over 256 GiB, gt-cache=$budget: map data/holes = qemu-img map" \
      || diff out.map b8.qmap | head -n 6 | sed 's/^/# /'
    nbdkit_stop "$NBDKIT_PID"
  else
    ok 1 "8 links over 256 GiB, gt-cache=$budget: nbdkit starts"
  fi
done
done_testing

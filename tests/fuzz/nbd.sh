#!/bin/bash
# tests/fuzz/nbd.sh: the plugin over NBD, under hostile and random traffic.
#
#  1. A libnbd client (tests/fuzz/nbd-stress) sends a bounded, seeded random
#     sequence of requests (reads, writes on a scratch copy, zeroes, trims,
#     flushes, block status, unaligned offsets and sizes) to the plugin
#     serving each kind of disk, and checks every read against the
#     reference (qemu-img convert to raw, or the builder's expected image).
#     Afterwards the written VMDK must pass qemu-img check and convert to
#     exactly what the client expects.  The seed is printed; NBD_STRESS_SEED
#     and NBD_STRESS_OPS change it and the length.
#  2. nbdkit's own fuzzing method: nbdkit -s reads one connection from
#     stdin; generated and mutated client byte streams (tests/fuzz/
#     nbdproto.py: handshakes, requests of every kind, broken ones) are fed
#     to the plugin on a writable and a read-only disk.  No stream may crash
#     or hang nbdkit (20 s each), and the sanitizers (in the ASan build) must
#     report nothing.  NBD_PROTO_COUNT streams per disk (default 60), and
#     the streams in tests/fuzz/regress/nbd/ that once found a bug.
# Needs no root.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img qemu-io python3 cmp
STRESS="$top_builddir/tests/fuzz/nbd-stress"
MKESX="$top_srcdir/tests/lib/mkesx.py"
SEED=${NBD_STRESS_SEED:-20240611}
OPS=${NBD_STRESS_OPS:-1500}

T=$(scratch)
cd "$T" || bail "cd $T"

# ---- the disks --------------------------------------------------------------
python3 "$MKESX" mkraw base.raw 4M --seed 3 || bail "mkraw"
qemu-img convert -q -f raw -O vmdk base.raw sparse.vmdk || bail "qemu-img sparse"
qemu-img convert -q -f raw -O vmdk -o zeroed_grain=on base.raw zeroed.vmdk || bail "qemu-img zeroed"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized base.raw stream.vmdk \
  || bail "qemu-img stream"
qemu-img convert -q -f raw -O vmdk -o subformat=twoGbMaxExtentFlat base.raw flat.vmdk \
  || bail "qemu-img flat"
# a two-link chain: a child with its own grains over sparse.vmdk's content
cp sparse.vmdk chainbase.vmdk
qemu-img create -q -f vmdk -b chainbase.vmdk -F vmdk child.vmdk || bail "qemu-img child"
qemu_io child.vmdk "write -P 0x5a 1000k 300k" "write -P 0 3m 64k" "write -P 0x33 4095k 1k"
python3 "$MKESX" cowd base.raw cowd --grain 8 --shuffle > /dev/null || bail "mkesx cowd"
python3 "$MKESX" sesparse base.raw ses --zero-grains --unmapped 3 > /dev/null || bail "mkesx sesparse"
for d in sparse zeroed stream flat child; do
  qemu-img convert -q -f vmdk -O raw "$d.vmdk" "$d.ref" || bail "qemu-img convert $d"
done
cp cowd/expected.raw cowd.ref; cp ses/expected.raw ses.ref

# ---- 1. random request sequences -------------------------------------------
# stress NAME VMDK [nbdkit options]: serve VMDK, run the client
stress() {
  local name=$1 vmdk=$2 out st; shift 2
  nbdkit_start "$T/$name.sock" "$@" -- file="$vmdk" || { ok 1 "$name: nbdkit serves it"; return 1; }
  out=$("$STRESS" "$(nbd_uri "$T/$name.sock")" "$T/$name.ref" "$SEED" "$OPS" 2>&1)
  st=$?
  echo "$out" | grep -v '^nbd-stress: \(ok\|FAIL\):' | head -12 | sed 's/^/# /'
  ok "$st" "$name: $(echo "$out" | grep '^nbd-stress: \(ok\|FAIL\):' | sed 's/^nbd-stress: //')"
  nbdkit_stop "$NBDKIT_PID"
  ok $? "$name: nbdkit stops cleanly (no sanitizer report)"
}
for d in sparse zeroed flat child; do
  stress "$d" "$T/$d.vmdk"
  # the files on disk hold what the client wrote: qemu reads the same
  if [ "$d" != flat ]; then       # (qemu-img check has nothing to check in flat files)
    qemu-img check -q -f vmdk "$d.vmdk" > "$d.check" 2>&1
    ok $? "$d: qemu-img check passes after the writes" || sed 's/^/#   /' "$d.check"
  fi
  qemu-img convert -q -f vmdk -O raw "$d.vmdk" "$d.after" && cmp -s "$d.after" "$d.ref.out"
  ok $? "$d: qemu-img reads what the client expects"
done
for d in stream cowd ses; do
  case $d in cowd) v=cowd/disk.vmdk ;; ses) v=ses/disk.vmdk ;; *) v=$d.vmdk ;; esac
  stress "$d" "$T/$v" -r
done

# ---- 2. nbdkit -s on generated and mutated client streams ------------------
COUNT=${NBD_PROTO_COUNT:-60}
head -c 1M base.raw > small.raw
qemu-img convert -q -f raw -O vmdk small.raw small.vmdk || bail "qemu-img small"
qemu-img convert -q -f raw -O vmdk -o subformat=streamOptimized small.raw small-stream.vmdk \
  || bail "qemu-img small stream"
# run_stream INPUT ERRLOG NBDKIT-ARGS...: nbdkit -s on INPUT; its exit
# status, or 137 once killed: after 20 s, or in the sanitizer build after
# 2 s with an error printed (the exit-handler deadlock of plugin.sh's
# nbdkit_fails; the plain build still catches every hang).
run_stream() {
  local in=$1 err=$2 pid i; shift 2
  env "${NBDKIT_ENV[@]}" nbdkit -s "$@" < "$in" > /dev/null 2> "$err" &
  pid=$!
  for ((i = 0; i < 400; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    if [ ${#NBDKIT_ENV[@]} -gt 0 ] && [ $i -ge 40 ] && grep -q 'error' "$err"; then
      break
    fi
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  wait "$pid"
}
proto() {  # NAME VMDK SEED [nbdkit options]
  local name=$1 vmdk=$2 seed=$3 f st bad=0 hangs=0 known=0 n=0; shift 3
  mkdir -p "$name.in"
  python3 "$top_srcdir/tests/fuzz/nbdproto.py" "$name.in" "$seed" "$COUNT" 1048576 \
    || { ok 1 "$name: streams generated"; return; }
  cp "$top_srcdir"/tests/fuzz/regress/nbd/* "$name.in/"   # streams that once found a bug
  for f in "$name.in"/in-*; do
    n=$((n + 1))
    cp --sparse=always "$vmdk" "$name.disk.vmdk"
    run_stream "$f" "$name.err" "$@" "$PLUGIN" file="$name.disk.vmdk"
    st=$?
    if grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$name.err"; then
      bad=$((bad + 1)); diag "$name: $(basename "$f"): sanitizer report:"
      grep -E 'ERROR|runtime error|#[0-3] ' "$name.err" | head -6 | sed 's/^/#   /'
      cp "$f" "$T/finding-$name-$(basename "$f")"
    elif [ "$st" -eq 137 ] && [ ${#NBDKIT_ENV[@]} -gt 0 ] && grep -q 'error' "$name.err"; then
      hangs=$((hangs + 1))   # the sanitizer build's exit-handler deadlock (plugin.sh)
    elif [ "$st" -eq 134 ] && grep -q 'invalid request: NBD_CMD_WRITE' "$name.err" \
         && grep -q "raw_send_other: Assertion \`sock >= 0' failed" "$name.err"; then
      # nbdkit 1.32's own bug, before any plugin code: after a write whose
      # range is invalid, nbdkit drops the connection (payload too large to
      # skip, or the stream ends inside it), then sends the error reply on
      # it and aborts.  Which stream hits it first depends on timing.
      # Listed, not counted: nothing in the plugin can prevent it.
      known=$((known + 1)); cp "$f" "$T/nbdkit-bug-$name-$(basename "$f")"
    elif [ "$st" -gt 1 ]; then
      bad=$((bad + 1)); diag "$name: $(basename "$f"): nbdkit exit status $st"
      tail -3 "$name.err" | sed 's/^/#   /'
      cp "$f" "$T/finding-$name-$(basename "$f")"
    fi
  done
  [ "$hangs" -gt 0 ] && diag "$name: $hangs runs killed in the sanitizer build's exit deadlock"
  [ "$known" -gt 0 ] && diag "$name: $known streams hit nbdkit's own abort after an invalid write (upstream bug, not the plugin's)"
  [ "$bad" -eq 0 ]
  ok $? "$name: nbdkit -s survives $n generated, mutated and saved client streams (seed $seed)"
}
proto proto-rw "$T/small.vmdk" "$SEED"
proto proto-ro "$T/small-stream.vmdk" "$((SEED + 1))" -r
done_testing

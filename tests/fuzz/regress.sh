#!/bin/bash
# tests/fuzz/regress.sh: every fuzz harness (tests/fuzz/fuzz-NAME.c, built
# by make check with tests/fuzz/driver.c) replays its saved corpus
# (tests/fuzz/corpus/NAME/) and the inputs that once found a bug
# (tests/fuzz/regress/NAME/), with the per-input limits of scripts/fuzz.
# In the sanitizer build of scripts/test this is the hostile-input
# regression run under ASan and UBSan.  Needs no root.
. "$top_srcdir/tests/lib/common.sh"

count() { find "$1" -maxdepth 1 -type f ! -name '.*' 2>/dev/null | wc -l; }

harnesses=()
for src in "$top_srcdir"/tests/fuzz/fuzz-*.c; do
  h=$(basename "$src" .c); harnesses+=("${h#fuzz-}")
done
[ ${#harnesses[@]} -ge 7 ] || bail "harness sources not found in $top_srcdir/tests/fuzz"
# every corpus belongs to a harness (a renamed harness leaves none behind):
# fuzz-NAME.c, or NAME.sh (regress/nbd: client streams that nbd.sh replays)
for d in "$top_srcdir"/tests/fuzz/corpus/* "$top_srcdir"/tests/fuzz/regress/*; do
  [ -d "$d" ] || continue
  n=$(basename "$d")
  [ -f "$top_srcdir/tests/fuzz/fuzz-$n.c" ] || [ -f "$top_srcdir/tests/fuzz/$n.sh" ]
  ok $? "$(basename "$(dirname "$d")")/$n belongs to a harness"
done

for h in "${harnesses[@]}"; do
  bin="$top_builddir/tests/fuzz/fuzz-$h"
  corpus="$top_srcdir/tests/fuzz/corpus/$h"
  regress="$top_srcdir/tests/fuzz/regress/$h"
  nc=$(count "$corpus"); nr=$(count "$regress")
  [ "$nc" -gt 0 ]
  ok $? "fuzz-$h has a saved corpus ($nc inputs)"
  dirs=("$corpus"); [ -d "$regress" ] && dirs+=("$regress")
  out=$("$bin" -v -t 60 -m 2048 "${dirs[@]}" 2>"$TEST_TMP/$h.err")
  st=$?
  is "$st/$out" "0/$((nc + nr)) inputs" \
    "fuzz-$h: $nc corpus and $nr regression inputs replayed without a finding" \
    || tail -30 "$TEST_TMP/$h.err" | sed 's/^/# /'
done
done_testing

#!/bin/bash
# tests/fuzz/run.sh: make check-fuzz's one test: every libFuzzer harness runs
# for FUZZ_SECONDS (default 20) from its saved corpus (scripts/fuzz --tap),
# one TAP result per harness; a finding fails it.  clang is required: a
# missing one is a failure, not a skip.  Needs no root.
: "${top_srcdir:?run through make check-fuzz}" "${top_builddir:?run through make check-fuzz}"
exec "$top_srcdir/scripts/fuzz" --tap --builddir "$top_builddir" "${FUZZ_SECONDS:-20}"

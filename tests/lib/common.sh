# Shared helpers for the shell tests.  Every test speaks TAP: one "ok"/"not ok"
# line per assertion, so the automake harness counts assertions, not scripts.
# Source it first thing:  . "$top_srcdir/tests/lib/common.sh"
set -u
: "${top_srcdir:?run the tests through make check (top_srcdir unset)}"
: "${top_builddir:?run the tests through make check (top_builddir unset)}"
VMDKTOOL="$top_builddir/vixmount-vmdk"
READCHECK="$top_builddir/tests/readcheck"
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export LC_ALL=C

_tap_n=0
_tap_failed=0
_cleanups=()

# ok COND-EXIT-STATUS DESCRIPTION  -- use as:  cmd; ok $? "what"
ok() {   # returns the result, so "ok ... || diag ..." can explain a failure
  _tap_n=$((_tap_n + 1))
  if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"; return 0; fi
  echo "not ok $_tap_n - $2"; _tap_failed=$((_tap_failed + 1))
  return 1
}
# is ACTUAL EXPECTED DESCRIPTION
is() {
  if [ "$1" = "$2" ]; then ok 0 "$3"; return 0; fi
  ok 1 "$3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"
  return 1
}
diag() { echo "# $*"; }
# bail MESSAGE: a precondition failed; counts as a failure, stops the script.
bail() { echo "Bail out! $*"; exit 1; }

# Run at exit, last registered first (processes, mounts, temp dirs).
on_exit() { _cleanups=("$*" "${_cleanups[@]}"); }
_run_cleanups() {
  local c; for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
# done_testing: prints the plan; call at the very end of a test script.
done_testing() { echo "1..$_tap_n"; }
trap '_run_cleanups' EXIT
trap 'exit 143' TERM INT HUP      # so that EXIT cleanups run when killed

# Private scratch directories live under one root per test, removed at exit.
# (scratch runs in a $(...) subshell, so it cannot register cleanups itself.)
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vixmount-test.XXXXXX") || bail "mktemp failed"
[ -n "${KEEP_TMP:-}" ] || on_exit "rm -rf '$TEST_TMP'"   # KEEP_TMP=1 keeps the files
scratch() {
  mktemp -d "$TEST_TMP/s.XXXXXX" || bail "mktemp failed"
}

# skip_all REASON: this whole test cannot run here (automake's exit 77,
# announced to the TAP driver as a plan of 0 with the reason).
# tests/lib/run-test turns the 77 into a TAP skip; scripts/test fails on
# any skip, so in CI a skip is never silent.
# direct_fds PID FILE: how many descriptors PID has open on FILE with
# O_DIRECT (040000 in /proc/PID/fdinfo/N's flags)
direct_fds() {
  local f n=0
  for f in /proc/"$1"/fd/*; do
    [ "$(readlink "$f")" = "$2" ] || continue
    (( 8#$(awk '/^flags:/ {print $2}' "/proc/$1/fdinfo/${f##*/}") & 8#40000 )) && n=$((n + 1))
  done
  echo $n
}
# has_odirect FILE: can FILE be read with O_DIRECT here?
has_odirect() { dd if="$1" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; }

skip_all() { echo "1..0 # SKIP $*"; exit 77; }
# require_root WHAT: root-only tests skip under a non-root make check.
require_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root ($*)"; }

need() {  # need CMD...: a missing tool is a failure, never a skip
  local c; for c in "$@"; do command -v "$c" >/dev/null 2>&1 || bail "missing tool: $c (run scripts/setup)"; done
}

# qemu_io DISK CMD...: run all commands in one qemu-io session on a VMDK;
# any error bails out with qemu-io's output.
qemu_io() {
  local disk=$1 out; shift
  local args=() c
  for c in "$@"; do args+=(-c "$c"); done
  if ! out=$(qemu-io -f vmdk "${args[@]}" "$disk" 2>&1) \
     || grep -qiE 'error|fail|invalid' <<<"$out"; then
    echo "$out" | sed 's/^/# qemu-io: /'
    bail "qemu-io failed on $disk"
  fi
}

# tap_lines [PREFIX] <<<"$out": a C test program's "PASS what" / "FAIL what"
# lines become TAP results (PREFIX prepended); other lines become diagnostics.
tap_lines() {
  local line pre=${1:+$1: }
  while IFS= read -r line; do
    case $line in
      PASS\ *) ok 0 "$pre${line#PASS }" ;;
      FAIL\ *) ok 1 "$pre${line#FAIL }" ;;
      *) diag "$line" ;;
    esac
  done
}

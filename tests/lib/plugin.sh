# Helpers for tests that serve disks with the vmdk nbdkit plugin.
# Source after common.sh:
#   . "$top_srcdir/tests/lib/common.sh"
#   . "$top_srcdir/tests/lib/plugin.sh"
#
#   nbdkit_start SOCK [nbdkit options...] -- [plugin params...]
#       starts  nbdkit -f -U SOCK --exit-with-parent [options] PLUGIN [params]
#       in the background, waits for the socket, registers a cleanup that
#       stops it; sets NBDKIT_PID.  Returns 1 (log shown as diagnostics) if
#       nbdkit exited instead.  Its stderr goes to SOCK.log.
#   nbdkit_stop PID        stop a server started by nbdkit_start, now; returns
#                          its exit status
#   nbdkit_fails LOG [nbdkit args...]
#       runs nbdkit expecting it to exit at start; returns its status
#   nbdkit_run [nbdkit args...]
#       runs nbdkit in the foreground with the environment the plugin needs
#       (the sanitizer runtime, see below); the plugin path is not added.
#   nbd_uri SOCK [EXPORT]  prints nbd+unix:///EXPORT?socket=SOCK
#
# PLUGIN is the plugin built in this tree.  In a sanitizer build the plugin is
# linked with libasan/libubsan but nbdkit is not: nbdkit then runs with those
# runtimes preloaded (so the plugin is still checked) and without leak
# detection (nbdkit's own allocations at exit are none of our business).

PLUGIN="$top_builddir/nbdkit-plugin/.libs/nbdkit-vmdk-plugin.so"
[ -f "$PLUGIN" ] || bail "plugin not built: $PLUGIN (run make)"
need nbdkit

NBDKIT_ENV=()
if [ -n "${VIXMOUNT_SANITIZERS:-}" ] ||
   ldd "$PLUGIN" 2>/dev/null | grep -q 'libasan\.so'; then
  _san_preload=
  for _l in libasan.so libubsan.so; do
    _p=$(gcc -print-file-name="$_l" 2>/dev/null)
    # gcc prints the bare name when it does not know the library
    [ -n "$_p" ] && [ "$_p" != "$_l" ] && [ -e "$_p" ] && _san_preload+="${_san_preload:+ }$(readlink -f "$_p")"
  done
  NBDKIT_ENV=(
    "LD_PRELOAD=$_san_preload${LD_PRELOAD:+ $LD_PRELOAD}"
    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    "UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  )
  diag "sanitizer build: nbdkit runs with LD_PRELOAD=$_san_preload"
  unset _san_preload _l _p
fi

# Servers still running (stopped at exit; a stopped one is forgotten, so that a
# reused PID is never signalled).
_NBDKIT_PIDS=()
_nbdkit_stop_all() { local p; for p in "${_NBDKIT_PIDS[@]}"; do nbdkit_stop "$p"; done; }

nbdkit_run() { env "${NBDKIT_ENV[@]}" nbdkit "$@"; }

# nbdkit_wrap DIR: in a sanitizer build, the nbdkit that libvixMntapi
# starts needs NBDKIT_ENV too: a wrapper DIR/nbdkit-wrap, exported as
# VIXMOUNT_NBDKIT (nothing to do otherwise).
nbdkit_wrap() {
  [ ${#NBDKIT_ENV[@]} -gt 0 ] || return 0
  { echo '#!/bin/sh'; printf 'exec env'; printf ' %q' "${NBDKIT_ENV[@]}"; echo ' nbdkit "$@"'; } > "$1/nbdkit-wrap"
  chmod +x "$1/nbdkit-wrap"
  export VIXMOUNT_NBDKIT=$1/nbdkit-wrap
}

# nbdkit_fails LOG [nbdkit args...]: run nbdkit expecting it to give up at
# start (bad parameters, a disk that does not open).  Its output goes to LOG.
# Returns its exit status, or 124 if it was still running after 30 s.
# Sanitizer builds only: a process with libasan preloaded, p11-kit loaded (by
# gnutls, so every nbdkit) and a gettext lookup done (strerror: "No such file
# or directory") deadlocks in p11-kit's exit handler (glibc's locale lock
# ends up with a negative reader count; reproduced without nbdkit or this
# plugin).  There, once nbdkit has printed its error and is still there 2 s
# later, it is killed and 125 returned.
nbdkit_fails() {
  local log=$1 pid i; shift
  env "${NBDKIT_ENV[@]}" nbdkit "$@" < /dev/null > "$log" 2>&1 &
  pid=$!
  _NBDKIT_PIDS+=("$pid")
  if [ -z "${_nbdkit_cleanup:-}" ]; then on_exit _nbdkit_stop_all; _nbdkit_cleanup=1; fi
  for ((i = 0; i < 3000; i++)); do
    kill -0 "$pid" 2>/dev/null || { nbdkit_stop "$pid"; return; }
    if [ ${#NBDKIT_ENV[@]} -gt 0 ] && [ $i -ge 200 ] && grep -q 'error:' "$log"; then
      diag "sanitizer build: nbdkit hangs in its exit handlers after its error (see plugin.sh); killed"
      { kill -9 "$pid"; nbdkit_stop "$pid"; } 2>/dev/null
      return 125
    fi
    sleep 0.01
  done
  { kill -9 "$pid"; nbdkit_stop "$pid"; } 2>/dev/null
  return 124
}

# Percent-encode an export name for the path of an NBD URI.
_uri_escape() {
  local s=$1 out= c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}
nbd_uri() { printf 'nbd+unix:///%s?socket=%s\n' "$(_uri_escape "${2:-}")" "$1"; }

nbdkit_start() {
  local sock=$1 opts=() i
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "${1:-}" = -- ] && shift
  rm -f "$sock"
  env "${NBDKIT_ENV[@]}" nbdkit -f -U "$sock" --exit-with-parent "${opts[@]}" \
    "$PLUGIN" "$@" < /dev/null > "$sock.log" 2>&1 &
  NBDKIT_PID=$!
  _NBDKIT_PIDS+=("$NBDKIT_PID")
  if [ -z "${_nbdkit_cleanup:-}" ]; then on_exit _nbdkit_stop_all; _nbdkit_cleanup=1; fi
  for ((i = 0; i < 3000; i++)); do      # up to 30 s (sanitizer builds are slow)
    [ -S "$sock" ] && return 0
    if ! kill -0 "$NBDKIT_PID" 2>/dev/null; then
      nbdkit_stop "$NBDKIT_PID"
      sed 's/^/#   nbdkit: /' "$sock.log"
      return 1
    fi
    sleep 0.01
  done
  diag "nbdkit did not create $sock in 30 s"
  return 1
}

# Returns nbdkit's exit status (0 after a clean shutdown on SIGTERM; a
# sanitizer report at unload makes it non-zero).
nbdkit_stop() {
  local pid=$1 i st p keep=()
  for p in "${_NBDKIT_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  _NBDKIT_PIDS=("${keep[@]}")
  kill "$pid" 2>/dev/null
  for ((i = 0; i < 1000; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
  done
  kill -0 "$pid" 2>/dev/null && { diag "nbdkit $pid ignored SIGTERM"; kill -9 "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null; st=$?
  return $st
}

# tests/lib/mntapi-run.sh: driving tests/mntapi-client from a test script.
# Source after common.sh, with CLIENT (the client program) and d (the test's
# scratch directory, whose rt/ is the sets' tmpDirectory) set.
#   run_client OUT ARGS...  the client in the background, holding its set
#                           (--hold) until "release OUT"
#   mounted_at OUT NAME     where the client mounted volume NAME
#   bridge_of OUT           the set's bridge: kernel or fuse
#   device_of OUT NAME      the block device volume NAME is mounted from
#   leftovers               mounts, loop devices and processes of sets under
#                           $d/rt still there (empty when all is clean); with
#                           VIXMOUNT_BRIDGE=kernel also connected NBD devices
#                           and dm tables of ours
#   LOOPS, cleanup_loops    loop devices the test attached (and mounted),
#                           detached at exit with everything vixmount left
#   fill DIR TAG            files of known content, their sha256 appended to
#                           ./manifest as "TAG PATH SHA256"
#   check_files OUT [TAG=VOLUME...]  "BAD of N": the manifest's files of the
#                           volumes OUT mounted (TAG, or the VOLUME it names)
LOOPS=()
cleanup_loops() { local l; for l in "${LOOPS[@]}"; do umount "$l" 2>/dev/null; losetup -d "$l" 2>/dev/null; done; }
on_exit cleanup_loops
on_exit "'$top_builddir/vixmount-cleanup' '$d' > /dev/null"
# fill DIR TAG: a few files of known content; manifest lines "TAG PATH SHA256"
fill() {
  mkdir -p "$1/sub"
  head -c 3000000 /dev/urandom > "$1/big.bin"
  echo "hello from $2" > "$1/hello.txt"
  head -c 70000 /dev/urandom > "$1/sub/small.bin"
  (cd "$1" && find . -type f ! -path './lost+found/*' -printf '%P\n' | sort | while read -r f; do
     echo "$2 $f $(sha256sum < "$f" | cut -c1-64)"; done) >> manifest
}
# run_client OUT ARGS...: the client in the background, holding its set until
# release OUT; waits for "ready" (or its end)
declare -A CPID
CLIENT_FDS=()
run_client() {
  local out=$1 close= f; shift
  rm -f "$out" "$out.fifo"; mkfifo "$out.fifo"
  # a client must not inherit the input ends we hold for the other clients
  for f in "${CLIENT_FDS[@]}"; do close+=" $f>&-"; done
  eval '"$CLIENT" --hold "$@" < "$out.fifo" > "$out" 2> "$out.err"'"$close &"
  CPID[$out]=$!
  exec {fd}> "$out.fifo"; eval "FD_${out//[^a-zA-Z0-9]/_}=$fd"
  CLIENT_FDS+=("$fd")
  for _ in $(seq 600); do grep -q '^ready$\|^open-failed\|^closed' "$out" 2>/dev/null && break; sleep 0.1; done
}
release() {  # OUT: end the client's input; it cleans up and exits (60 s at most)
  local v="FD_${1//[^a-zA-Z0-9]/_}" pid=${CPID[$1]} i f keep=()
  eval "exec ${!v}>&-"
  for f in "${CLIENT_FDS[@]}"; do [ "$f" = "${!v}" ] || keep+=("$f"); done
  CLIENT_FDS=("${keep[@]}")
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    ok 1 "client $1 did not finish its clean-up in 60 s"
    diag "$(tail -5 "$1") / $(tail -5 "$1.err")"
    kill -9 "$pid"
  fi
  wait "$pid"
}
mounted_at() { awk -v n="$2" '$1 == "mounted" && $2 == n {print $3}' "$1"; }
bridge_of() { awk '$1 == "bridge" {print $2}' "$1"; }
device_of() { awk -v n="$2" '$1 == "device" && $2 == n {print $3}' "$1"; }
leftovers() {  # what of the sets under $d/rt is still around
  { grep "$d/rt" /proc/mounts; losetup -a | grep "$d/rt"; pgrep -af "$d/rt" | grep -v pgrep
    if [ "${VIXMOUNT_BRIDGE:-}" = kernel ]; then   # NBD devices and dm tables of ours
      for b in /sys/block/nbd*/pid; do [ -e "$b" ] && echo "connected ${b%/pid}"; done
      dmsetup ls 2>/dev/null | grep '^vixmount-'
    fi; } 2>/dev/null
}
check_files() {  # OUT [TAG=VOLUME...]: every manifest file of the volumes OUT mounted
  local bad=0 n=0 tag f sum m a out=$1; shift
  declare -A alias=()
  for a in "$@"; do alias[${a%%=*}]=${a#*=}; done
  while read -r tag f sum; do
    m=$(mounted_at "$out" "${alias[$tag]:-$tag}")
    [ -n "$m" ] || continue
    n=$((n + 1))
    [ "$(sha256sum < "$m/$f" | cut -c1-64)" = "$sum" ] || { diag "$tag/$f differs"; bad=$((bad + 1)); }
  done < manifest
  echo "$bad of $n"
}

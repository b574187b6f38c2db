# Helpers for tests that drive libvixMntapi through tests/mntapi-client.
# Source after common.sh, with CLIENT set to the client's path:
#   run_client OUT ARGS...   the client in the background (--hold), its
#                            stdout in OUT, stderr in OUT.err; returns once it
#                            printed "ready" (or failed); CPID[OUT] its pid
#   release OUT              end its input: it dismounts, closes, exits
#   mounted_at OUT VOLUME    where it mounted VOLUME
#   bridge_of OUT            the set's bridge: kernel or fuse
#   device_of OUT VOLUME     the block device VOLUME is mounted from

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

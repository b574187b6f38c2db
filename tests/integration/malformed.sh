#!/bin/bash
# Malformed input: every file of the corpus built by tests/lib/mkmalformed.py
# must be refused cleanly by vixmount-vmdk -- exit status 1 (never a crash or
# a hang), the documented error code, a message naming the offending file --
# and nothing in the corpus may change.  The few "OK" cases (damage the engine
# must work around) must read back exactly as reference.raw.
#
# Under the sanitizer build an ASan report changes the exit status and any
# report prints "AddressSanitizer"/"runtime error", which is asserted too.
. "$top_srcdir/tests/lib/common.sh"
need python3 qemu-img qemu-io jq timeout sha256sum cmp find
[ -x "$VMDKTOOL" ] || bail "$VMDKTOOL is not built"

tmp=$(scratch)
corpus=$tmp/corpus
python3 "$top_srcdir/tests/lib/mkmalformed.py" "$corpus" > "$tmp/mk.log" 2>&1 ||
  { cat "$tmp/mk.log" | sed 's/^/# /'; bail "mkmalformed.py failed"; }
diag "$(cat "$tmp/mk.log")"

checksums() { (cd "$corpus" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
checksums > "$tmp/before.sha256"

# Run from an unrelated directory: relative extent/parent names must resolve
# against the descriptor's directory, not the cwd.
mkdir "$tmp/cwd" && cd "$tmp/cwd" || bail "cd"

# tool PREFIX ARGS...: run with a 20 s timeout, stdout/stderr to PREFIX.{out,err}
tool() {
  local pfx=$1; shift
  timeout 20 "$VMDKTOOL" "$@" > "$pfx.out" 2> "$pfx.err"
}

show_err() {  # the first lines of a stderr file, as TAP diagnostics
  sed -n '1,4s/^/#   stderr: /p' "$1"
}

no_sanitizer_report() {  # FILES...
  ! grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$@"
}

# expect_fail CASE WHAT RC ERRFILE CODE SUBSTRING
expect_fail() {
  local case=$1 what=$2 rc=$3 err=$4 code=$5 sub=$6
  local st=0
  case $rc in
    1) ;;
    124) st=1; diag "$case: $what timed out (20 s)";;
    *) st=1; [ "$rc" -gt 128 ] && diag "$case: $what killed by signal $((rc - 128))";;
  esac
  ok $st "$case: $what exits 1 (got $rc)"
  [ $st -ne 0 ] && show_err "$err"
  grep -qE "^vixmount-vmdk: error code $code\$" "$err"
  st=$?; ok $st "$case: $what reports $code"
  [ $st -ne 0 ] && show_err "$err"
  grep -v '^vixmount-vmdk: error code ' "$err" | grep -qF -- "$sub"
  st=$?; ok $st "$case: $what message contains '$sub'"
  [ $st -ne 0 ] && show_err "$err"
  return 0
}

out=$tmp/out
ncases=0
for dir in "$corpus"/*/; do
  dir=${dir%/}
  case=$(basename "$dir")
  [ -f "$dir/expect" ] || continue
  ncases=$((ncases + 1))
  code='' sub='' phase=''
  { read -r code; read -r sub; read -r phase; } < "$dir/expect" || true
  disk=$dir/disk.vmdk
  rm -f "$out".*

  tool "$out.info" info "$disk"; irc=$?
  tool "$out.json" info --json "$disk"; jrc=$?
  tool "$out.cat" cat "$disk" "$out.raw"; crc=$?
  # map must not crash either, whatever it decides (0 or 1)
  tool "$out.map" map "$disk"; mrc=$?

  if [ "$code" = OK ]; then
    is "$irc" 0 "$case: info succeeds"
    [ "$irc" -ne 0 ] && show_err "$out.info.err"
    is "$jrc" 0 "$case: info --json succeeds"
    while read -r _ filter; do
      jq -e "$filter" "$out.json.out" > /dev/null 2>&1
      ok $? "$case: info --json: $filter"
    done < <(grep '^jq ' "$dir/expect")
    is "$crc" 0 "$case: cat succeeds"
    [ "$crc" -ne 0 ] && show_err "$out.cat.err"
    cmp -s "$out.raw" "$dir/reference.raw"
    ok $? "$case: cat output equals reference.raw"
  else
    case $phase in
      phase=open)
        expect_fail "$case" info "$irc" "$out.info.err" "$code" "$sub"
        expect_fail "$case" "info --json" "$jrc" "$out.json.err" "$code" "$sub"
        expect_fail "$case" cat "$crc" "$out.cat.err" "$code" "$sub"
        ;;
      phase=read)
        is "$jrc" 0 "$case: info --json succeeds (the disk opens; reads fail)"
        [ "$jrc" -ne 0 ] && show_err "$out.json.err"
        # plain info walks the allocation map: it may meet the damage too
        { [ "$irc" -eq 0 ] || { [ "$irc" -eq 1 ] &&
            grep -qE "^vixmount-vmdk: error code $code\$" "$out.info.err"; }; }
        st=$?; ok $st "$case: info succeeds or reports $code (got $irc)"
        [ $st -ne 0 ] && show_err "$out.info.err"
        expect_fail "$case" cat "$crc" "$out.cat.err" "$code" "$sub"
        ;;
      *) ok 1 "$case: bad expect file (phase '$phase')";;
    esac
    # positive control: with the option that lifts the refusal, the disk reads
    allow=$(sed -n 's/^allow //p' "$dir/expect")
    if [ -n "$allow" ]; then
      tool "$out.allow" cat $allow "$disk" "$out.raw"; arc=$?
      is "$arc" 0 "$case: cat $allow succeeds"
      [ "$arc" -ne 0 ] && show_err "$out.allow.err"
    fi
  fi
  { [ "$mrc" -eq 0 ] || [ "$mrc" -eq 1 ]; }
  st=$?; ok $st "$case: map exits 0 or 1 (got $mrc)"
  [ $st -ne 0 ] && show_err "$out.map.err"
  no_sanitizer_report "$out".*.err
  st=$?; ok $st "$case: no sanitizer report"
  [ $st -ne 0 ] && grep -hE -m3 'Sanitizer|runtime error' "$out".*.err | sed 's/^/#   /'
done
rm -f "$out".*

[ "$ncases" -ge 40 ]
ok $? "corpus has $ncases cases"

checksums > "$tmp/after.sha256"
cmp -s "$tmp/before.sha256" "$tmp/after.sha256"
st=$?; ok $st "no file of the corpus changed"
[ $st -ne 0 ] && diff "$tmp/before.sha256" "$tmp/after.sha256" | sed 's/^/#   /' | head -20

done_testing

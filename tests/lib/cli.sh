# Shared by the vixmount command's tests (tests/integration/cli-*.sh).
# Source after common.sh.
#
#   VX ARGS...                 the vixmount command
#   run CMD...                 runs it: $out (stdout), $err (stderr), $rc
#   fails RC MESSAGE DESC CMD...
#                              CMD exits with RC, prints nothing on stdout and
#                              exactly MESSAGE on stderr (MESSAGE may be a
#                              glob after "glob:")
#   schema_ok COMMAND DESC     $out validates against docs/vixmount.schema.json
#                              as COMMAND's output
VIXMOUNT="$top_builddir/vixmount"
SCHEMA="$top_srcdir/docs/vixmount.schema.json"
VX() { "$VIXMOUNT" "$@"; }
_cli_err=$(mktemp "$TEST_TMP/err.XXXXXX")

run() {
  out=$("$@" 2> "$_cli_err"); rc=$?
  err=$(cat "$_cli_err")
}

fails() {
  local want_rc=$1 want=$2 desc=$3
  shift 3
  run "$@"
  case $want in
    glob:*)
      # shellcheck disable=SC2053
      [[ $rc = "$want_rc" && -z $out && $err == ${want#glob:} ]] ;;
    *) [[ $rc = "$want_rc" && -z $out && $err = "$want" ]] ;;
  esac
  ok $? "$desc: exit $want_rc, \"${err%%$'\n'*}\"" || {
    diag "got exit $rc, stdout '${out:0:200}'"; diag "stderr: $err"; diag "expected: $want"; }
}

schema_ok() {
  local res
  res=$(python3 "$top_srcdir/tests/lib/jsonschema-check.py" "$SCHEMA" "$1" <<< "$out" 2>&1)
  ok $? "$2: valid against docs/vixmount.schema.json ($1)" || sed 's/^/#   /' <<< "$res"
}

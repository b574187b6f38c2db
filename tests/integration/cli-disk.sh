#!/bin/bash
# vixmount, the commands that need no root: --help of every command, usage
# errors (exit 2), `info` (the same text and JSON as vixmount-vmdk info, JSON
# valid against docs/vixmount.schema.json) and `convert` to every hosted
# type through VixDiskLib_Clone (qemu-img compare: identical; the new disk's
# createType), its progress on a terminal and silence elsewhere, and every
# error a user can meet (missing file, not a VMDK, locked disk, existing
# destination, unknown type, VMFS types); the bash completion.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/cli.sh"
need qemu-img qemu-io python3 jq script flock
T=$(scratch)
cd "$T" || bail "cd $T"

# ---- help and usage ------------------------------------------------------------
run VX --help
[[ $rc = 0 && $out = "Usage: vixmount COMMAND"* && -z $err ]]
ok $? "vixmount --help: exit 0, usage on stdout"
help=$out
for c in list inspect mount umount status cleanup info convert; do
  grep -q "^  $c " <<< "$help"; ok $? "vixmount --help lists $c"
  run VX "$c" --help
  [[ $rc = 0 && $out = "Usage: vixmount $c "* && -z $err ]]
  ok $? "vixmount $c --help: exit 0, its usage"
done
run VX help mount
[[ $rc = 0 && $out = "Usage: vixmount mount "* ]]; ok $? "vixmount help mount"
run VX --version
is "$rc:$out" "0:vixmount $(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")" "vixmount --version"
fails 2 "glob:Usage: vixmount COMMAND*" "no command" VX
fails 2 "glob:vixmount: unknown command 'frob'"$'\n'"Usage: vixmount COMMAND*" "unknown command" VX frob
usage_tail() { printf '\nUsage: vixmount %s %s\nTry '"'"'vixmount %s --help'"'"'.' "$1" "$2" "$1"; }
LIST_SYN="[--json | --volume-map] [--bytes] [--no-inspect] [--config FILE] DISK..."
fails 2 "vixmount list: unknown option '--frob'$(usage_tail list "$LIST_SYN")" "unknown option" VX list --frob a.vmdk
fails 2 "vixmount list: option '--config' needs a value$(usage_tail list "$LIST_SYN")" "option without its value" VX list --config
fails 2 "vixmount list: no DISK given$(usage_tail list "$LIST_SYN")" "list without a disk" VX list
fails 2 "vixmount inspect: unknown option '--no-inspect'$(usage_tail inspect "[--json] [--bytes] [--config FILE] DISK...")" \
  "--no-inspect is list's option only" VX inspect --no-inspect a.vmdk
fails 2 "glob:vixmount mount: needs DISK..., VOLUME and DIR"$'\n'"*" "mount without DIR" VX mount a.vmdk d0p1
fails 2 "glob:vixmount umount: needs DIR"$'\n'"*" "umount without DIR" VX umount
fails 2 "glob:vixmount status: takes no arguments"$'\n'"*" "status with an argument" VX status x
fails 2 "glob:vixmount convert: needs SRC and DST"$'\n'"*" "convert without DST" VX convert a.vmdk
fails 2 "glob:vixmount convert: unknown disk type 'qcow2' (monolithicSparse, *"$'\n'"*" "convert --type qcow2" VX convert --type qcow2 a.vmdk b.vmdk
fails 2 "glob:vixmount convert: unknown adapter 'nvme' (ide, buslogic, lsilogic)"$'\n'"*" "convert --adapter nvme" VX convert -a nvme a.vmdk b.vmdk
fails 2 "glob:vixmount cleanup: takes TMPDIRECTORY or --config FILE, not both"$'\n'"*" "cleanup with both" VX cleanup --config x y
fails 2 "glob:vixmount mount: --guest needs DISK... and DIR"$'\n'"*" "mount --guest without DIR" VX mount --guest a.vmdk

# ---- a source disk: 40 MiB with data, zeros and holes, a snapshot on top ------------
qemu-img create -q -f vmdk -o subformat=monolithicSparse,adapter_type=lsilogic src.vmdk 40M || bail "qemu-img create"
qemu_io src.vmdk "write -P 0xab 0 1M" "write -P 0x11 $((10 * 1024 * 1024 + 512)) 4096" \
  "write -z 20M 1M" "write -P 0x22 $((40 * 1024 * 1024 - 512)) 512"
qemu-img create -q -f vmdk -b src.vmdk -F vmdk snap.vmdk || bail "snapshot"
qemu_io snap.vmdk "write -P 0x5a 512k 8k"
echo "this is no disk" > notvmdk.vmdk

# ---- info ---------------------------------------------------------------------------
run VX info snap.vmdk
is "$out" "$("$VMDKTOOL" info snap.vmdk)" "info: the text of vixmount-vmdk info (both links of the chain)"
is "$rc:$err" "0:" "info: exit 0, nothing on stderr"
run VX info --json snap.vmdk src.vmdk
schema_ok info "info --json of two disks"
is "$(jq -c '.disks[0]' <<< "$out")" "$("$VMDKTOOL" info --json snap.vmdk | jq -c .)" \
   "info --json: disks[0] is vixmount-vmdk info --json of the first disk"
is "$(jq -r '[.disks[] | .createType, .links, (.parent.path // "-")] | join(" ")' <<< "$out")" \
   "monolithicSparse 2 src.vmdk monolithicSparse 1 -" "info --json: types, links, parent (as the descriptor names it)"
run VX info --single-link --json snap.vmdk
is "$(jq -r '.disks[0].links, .disks[0].parent' <<< "$out")" $'1\nnull' "info --single-link: the top link alone"
fails 1 "vixmount: missing.vmdk: cannot open VMDK: No such file or directory" "info of a missing file" VX info missing.vmdk
fails 1 "vixmount: notvmdk.vmdk: not a VMDK: no sparse header magic (KDMV, COWD, seSparse) and no descriptor" \
  "info of a file that is not a VMDK" VX info notvmdk.vmdk
run VX info src.vmdk missing.vmdk
[[ $rc = 1 && $out = "src.vmdk"* && $err = "vixmount: missing.vmdk: cannot open VMDK: No such file or directory" ]]
ok $? "info of a good and a missing disk: the good one shown, exit 1"

# ---- convert ------------------------------------------------------------------------
qemu-img convert -f vmdk -O raw snap.vmdk want.raw || bail "qemu-img convert"
adapter=$(VX info --json snap.vmdk | jq -r '.disks[0].ddb["ddb.adapterType"]')   # the top link's
for t in monolithicSparse monolithicFlat twoGbMaxExtentSparse twoGbMaxExtentFlat streamOptimized; do
  run VX convert --type "$t" snap.vmdk "c-$t.vmdk"
  is "$rc:$out:$err" "0::" "convert --type $t: exit 0, silent when stderr is no terminal"
  qemu-img compare -q -f raw -F vmdk want.raw "c-$t.vmdk"
  ok $? "convert --type $t: the copy has the chain's bytes (qemu-img compare)"
  is "$(VX info --json "c-$t.vmdk" | jq -r '.disks[0] | "\(.createType) \(.links) \(.ddb["ddb.adapterType"])"')" \
     "$t 1 $adapter" "convert --type $t: createType $t, one link, SRC's adapter ($adapter)"
done
run VX convert src.vmdk same.vmdk
is "$(VX info --json same.vmdk | jq -r '.disks[0] | "\(.createType) \(.ddb["ddb.adapterType"])"')" \
   "monolithicSparse lsilogic" "convert without --type or --adapter keeps SRC's (monolithicSparse, lsilogic)"
run VX convert -a buslogic -t monolithicFlat src.vmdk bus.vmdk
is "$(VX info --json bus.vmdk | jq -r '.disks[0] | "\(.createType) \(.ddb["ddb.adapterType"])"')" \
   "monolithicFlat buslogic" "convert --adapter buslogic"
fails 1 "vixmount: same.vmdk: exists already (--overwrite replaces it)" "convert onto an existing disk" \
  VX convert src.vmdk same.vmdk
run VX convert --overwrite -t streamOptimized snap.vmdk same.vmdk
[[ $rc = 0 ]] && qemu-img compare -q -f raw -F vmdk want.raw same.vmdk
ok $? "convert --overwrite replaces it"
fails 1 "vixmount: missing.vmdk: cannot open VMDK: No such file or directory [VMDK_ERR_NOENT]" \
  "convert of a missing file" VX convert missing.vmdk x.vmdk
fails 1 "vixmount: notvmdk.vmdk: not a VMDK: no sparse header magic (KDMV, COWD, seSparse) and no descriptor [VMDK_ERR_NOTVMDK]" \
  "convert of a file that is not a VMDK" VX convert notvmdk.vmdk x.vmdk
fails 1 "vixmount: x.vmdk: VMFS disk types (5) can only be created on an ESXi host; this library creates hosted disks" \
  "convert --type vmfs" VX convert -t vmfs src.vmdk x.vmdk
# a writer's lock: this subshell holds it (flock takes it on the shared fd 9)
( flock -x 9 && exec sleep 60 ) 9< src.vmdk & holder=$!
on_exit "kill $holder"
for _ in $(seq 50); do flock -n -s src.vmdk true || break; sleep 0.1; done
fails 1 "glob:vixmount: src.vmdk: in use by process * (opened read-write); cannot open it while it is being written [[]VMDK_ERR_LOCKED]" \
  "convert of a locked disk" VX convert src.vmdk x.vmdk
kill $holder; wait $holder 2>/dev/null
[ ! -e x.vmdk ]; ok $? "failed conversions leave no DST behind"
mkdir ro; chmod 555 ro
if [ "$(id -u)" -ne 0 ]; then
  fails 1 "glob:vixmount: ro/x.vmdk: *Permission denied*" "convert into a directory without write permission" \
    VX convert src.vmdk ro/x.vmdk
fi

# progress: percent, rate and time left on a terminal (script gives it one)
script -qec "'$VIXMOUNT' convert --type monolithicFlat snap.vmdk tty.vmdk" /dev/null > tty.out 2> tty.err < /dev/null
ok $? "convert on a terminal: exit 0" || diag "$(cat tty.err tty.out)"
grep -q $'\r100%' tty.out; ok $? "on a terminal, progress reaches 100% ($(tr '\r' '\n' < tty.out | grep -c %) updates)"
grep -qE 'done in [0-9]+\.[0-9] s' tty.out; ok $? "and says how long it took"
qemu-img compare -q -f raw -F vmdk want.raw tty.vmdk; ok $? "the copy made on a terminal is right"
# a disk with 192 MiB of data takes long enough to show a rate and the time left
qemu-img create -q -f vmdk big.vmdk 256M && qemu_io big.vmdk "write -P 0x77 0 192M"
script -qec "'$VIXMOUNT' convert --type monolithicFlat big.vmdk big-flat.vmdk" /dev/null > big.out 2>&1 < /dev/null
grep -qE $'\r +[0-9]+%  +[0-9.]+[KMGT]/s  [0-9]+:[0-9][0-9] left' big.out
ok $? "a longer conversion shows percent, rate and time left: $(tr '\r' '\n' < big.out | grep left | sed -n 5p)"
rm -f big*.vmdk

# ---- bash completion ----------------------------------------------------------------
comp() {  # comp WORDS...: what the completion offers for the last word
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
           _vixmount; printf "%s\n" "${COMPREPLY[@]}"' _ "$top_srcdir/cli/completion/vixmount" "$@" | sort | tr '\n' ' '
}
is "$(comp vixmount '')" "cleanup convert info inspect list mount serve status umount " "completion: the commands"
is "$(comp vixmount mo)" "mount " "completion: a command's prefix"
is "$(comp vixmount convert --type st)" "streamOptimized " "completion: convert --type"
is "$(comp vixmount list --j)" "--json " "completion: a command's options"
is "$(comp vixmount list sna)" "snap.vmdk " "completion: VMDK files for DISK"
done_testing

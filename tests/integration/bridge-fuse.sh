#!/bin/bash
# bridge-fuse.sh: vixmount-fuse, the userspace block bridge (FUSE files over
# NBD, for loop devices on kernels without the nbd driver).
#
#  1. A raw image (nbdkit file), a memory disk (nbdkit memory) and a VMDK
#     (our vmdk plugin) as files: sizes, modes, whole-file sha256, reads at
#     unaligned offsets, .control add/remove (ranges of ranges too) and bad
#     control lines, writes (plain, O_DSYNC, fsync, punch hole) read back with
#     nbdcopy, writes through one file seen through another, -r refusing
#     writes.
#  2. Start-up errors (bad URI, no server, bad arguments) leave nothing
#     mounted; SIGTERM and --exit-with-parent (daemonized and -f) unmount.
#  3. ext4 in the second partition of an MBR disk, converted to
#     monolithicSparse, served by the vmdk plugin, the partition added through
#     .control, losetup -r --direct-io=on, mount -o ro,noload: file hashes.
#  4. --cow and --vmdk over a read-only nbdkit, as read-only disk sets run
#     them: O_DIRECT reads equal the source; with the server stopped
#     (SIGSTOP) the whole disk still reads, so nothing goes over NBD;
#     unaligned writes and punched holes read back with their neighbours,
#     through a range file too, also after nbdkit is gone; the overlay file
#     is unlinked and the VMDK unchanged; --cow alone over NBD; bad --vmdk
#     arguments (missing file, other size, writable export).
#  5. Local exports (--vmdk NAME=PATH with no NAME=URI: no NBD server at
#     all), as read-only disk sets run them: sha256 equals qemu-img convert,
#     byte for byte at unaligned offsets; without --cow writes fail with
#     EROFS; with --cow they land in the overlay and the VMDK's sha256 is
#     unchanged; next to an NBD export; bad --vmdk arguments exit 2.
# Everything set up is torn down at exit, also on failure; the test checks
# that no process, mount or loop device is left.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/plugin.sh"
need qemu-img sfdisk mkfs.ext4 losetup mount umount fusermount3 sha256sum \
  nbdcopy nbdkit dd cmp python3 mountpoint fallocate truncate
require_root "losetup, mount"
[ -c /dev/fuse ] || bail "no /dev/fuse"
VXF="$top_builddir/vixmount-fuse"
[ -x "$VXF" ] || bail "not built: $VXF"

T=$(scratch)
cd "$T" || bail "cd $T"

# ---- bookkeeping: everything set up, undone at exit in reverse order -------
MOUNTS=() LOOPS=() FUSES=() SERVERS=()

# alive PID: running (a zombie, waiting for its reaper, has exited)
alive() {
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "${st%% *}" != Z ]
}
# wait_exit PID [TENTHS]: until PID has exited (default 10 s)
wait_exit() {
  local i
  for ((i = 0; i < ${2:-100}; i++)); do alive "$1" || return 0; sleep 0.1; done
  return 1
}
forget() {  # forget ARRAYNAME VALUE
  local -n a=$1; local keep=() x
  for x in "${a[@]}"; do [ "$x" = "$2" ] || keep+=("$x"); done
  a=("${keep[@]}")
}
teardown() {
  local x i pid dir
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    x=${MOUNTS[i]}
    umount "$x" 2>/dev/null || { sleep 0.2; umount "$x" 2>/dev/null; } || umount -l "$x" 2>/dev/null
  done
  MOUNTS=()
  for x in "${LOOPS[@]}"; do losetup -d "$x" 2>/dev/null; done
  LOOPS=()
  for x in "${FUSES[@]}"; do
    dir=${x%:*} pid=${x##*:}
    fusermount3 -u "$dir" 2>/dev/null
    wait_exit "$pid" 50 || { kill "$pid" 2>/dev/null; wait_exit "$pid" 30 || kill -9 "$pid" 2>/dev/null; }
    mountpoint -q "$dir" && { fusermount3 -u -z "$dir" 2>/dev/null || umount -l "$dir"; }
  done
  FUSES=()
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  SERVERS=()
}
# plugin.sh stops its servers after ours (cleanups run last registered first)
on_exit _nbdkit_stop_all; _nbdkit_cleanup=1
on_exit teardown

# srv_start SOCK NBDKIT-ARGS...: an nbdkit with a stock plugin (memory, file)
srv_start() {
  local sock=$1 i; shift
  rm -f "$sock"
  nbdkit -f -U "$sock" --exit-with-parent "$@" < /dev/null > "$sock.log" 2>&1 &
  SRV_PID=$!; SERVERS+=("$SRV_PID")
  for ((i = 0; i < 1000; i++)); do
    [ -S "$sock" ] && return 0
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.01
  done
  sed 's/^/#   nbdkit: /' "$sock.log"; return 1
}

# vx_start DIR [OPTIONS...] -- NAME=URI...: runs vixmount-fuse (it returns
# once the mount is ready); sets VX_PID; its log is DIR.log, stderr DIR.err.
vx_start() {
  local dir=$1 opts=() st; shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  mkdir -p "$dir"; rm -f "$dir.pid"
  "$VXF" "${opts[@]}" --pidfile "$dir.pid" --log "$dir.log" "$dir" "$@" \
    < /dev/null 2> "$dir.err"
  st=$?
  if [ $st -ne 0 ]; then sed 's/^/#   /' "$dir.err"; return $st; fi
  VX_PID=$(cat "$dir.pid" 2>/dev/null)
  [ -n "$VX_PID" ] || { diag "no pid in $dir.pid"; return 1; }
  FUSES+=("$dir:$VX_PID")
}
# vx_stop DIR PID: fusermount3 -u and wait for the process to exit.
vx_stop() {
  fusermount3 -u "$1" || return 1
  wait_exit "$2" || { diag "vixmount-fuse $2 still running after unmount"; return 1; }
  forget FUSES "$1:$2"
}

# rng FILE OFFSET LENGTH: sha256 of a byte range (dd reads at OFFSET, unaligned)
rng() {
  dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=65536 status=none |
    sha256sum | cut -d' ' -f1
}
hash_of() { sha256sum < "$1" | cut -d' ' -f1; }

# ============================================================================
# 1. raw, memory and VMDK exports as files
# ============================================================================

head -c $((24 * 1024 * 1024)) /dev/urandom > raw.img
RAW_SIZE=$((24 * 1024 * 1024))
# VMDK source: 20 MiB, data in places, holes elsewhere
truncate -s 20M vsrc.raw
for at in 0 3 7 19; do
  head -c 700000 /dev/urandom | dd of=vsrc.raw bs=1M seek=$at conv=notrunc status=none
done
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse vsrc.raw v.vmdk || bail "qemu-img convert"
qemu-img convert -f vmdk -O raw v.vmdk vback.raw || bail "qemu-img convert back"
VM_SIZE=$(stat -c %s vback.raw)

srv_start "$T/file.sock" file raw.img || bail "nbdkit file"
FILE_SRV=$SRV_PID
srv_start "$T/mem.sock" memory 16M || bail "nbdkit memory"
MEM_SRV=$SRV_PID
nbdkit_start "$T/vm.sock" -r -- file=v.vmdk || bail "nbdkit vmdk plugin"
VM_SRV=$NBDKIT_PID
# a writable VMDK: the plugin advertises a 512-byte minimum block size
cp v.vmdk w.vmdk
nbdkit_start "$T/vw.sock" -- file=w.vmdk || bail "nbdkit vmdk plugin (writable)"
VW_SRV=$NBDKIT_PID
FILE_URI=$(nbd_uri "$T/file.sock") MEM_URI=$(nbd_uri "$T/mem.sock") VM_URI=$(nbd_uri "$T/vm.sock")
VW_URI=$(nbd_uri "$T/vw.sock")

F=$T/fuse1
vx_start "$F" -v -- raw="$FILE_URI" mem="$MEM_URI" vm="$VM_URI" vw="$VW_URI"
ok $? "vixmount-fuse mounts four exports and returns"
[ -n "${VX_PID:-}" ] || bail "vixmount-fuse did not start"
F_PID=$VX_PID
alive "$F_PID"; ok $? "its pid file names a running process"
mountpoint -q "$F"; ok $? "the mount point is mounted when the command returns"
grep -q " $F fuse.vixmount-fuse " /proc/mounts; ok $? "/proc/mounts shows fuse.vixmount-fuse"
is "$(cd "$F" && ls -A | sort | tr '\n' ' ')" ".control mem raw vm vw " "directory lists .control and the files"

is "$(stat -c %s "$F/raw")" "$RAW_SIZE" "raw: size is the export's"
is "$(stat -c %s "$F/mem")" $((16 * 1024 * 1024)) "mem: size is the export's"
is "$(stat -c %s "$F/vm")" "$VM_SIZE" "vm: size is the VMDK's virtual size"
is "$(stat -c %a "$F/raw")" 644 "raw: mode 644 (writable export)"
is "$(stat -c %a "$F/vm")" 444 "vm: mode 444 (nbdkit -r: the export is read-only)"
is "$(stat -c %a "$F/.control")" 600 ".control: mode 600"

is "$(hash_of "$F/raw")" "$(hash_of raw.img)" "raw: sha256 equals the image's"
is "$(hash_of "$F/vm")" "$(hash_of vback.raw)" "vm: sha256 equals qemu-img convert -O raw"
is "$(hash_of "$F/mem")" "$(head -c 16M /dev/zero | sha256sum | cut -d' ' -f1)" "mem: reads zeros"

bad=0
for spec in "1 1000" "511 70001" "4097 1048576" "1048575 3" "$((1024 * 1024 * 5 - 7)) 2097169" \
            "$((RAW_SIZE - 100)) 100" "$((RAW_SIZE - 10)) 4096"; do
  set -- $spec
  [ "$(rng "$F/raw" "$1" "$2")" = "$(rng raw.img "$1" "$2")" ] || { diag "raw differs at $1 (+$2)"; bad=1; }
  [ "$(rng "$F/vm" "$1" "$2")" = "$(rng vback.raw "$1" "$2")" ] || { diag "vm differs at $1 (+$2)"; bad=1; }
done
ok $bad "reads at unaligned offsets (dd skip_bytes) match the sources"

# O_DIRECT reads reach the daemon at the offsets asked for (no page cache);
# the vmdk plugin wants 512-byte blocks, so vm's partial blocks are bounced
odirect_check() {
  python3 - "$1" "$2" <<'EOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
ref = open(sys.argv[2], 'rb')
size = os.path.getsize(sys.argv[2])
for off, n in [(3, 5000), (4095, 131073), (777777, 1 << 20), (511, 2), (size - 3, 4096)]:
    got = os.pread(fd, n, off)
    ref.seek(off)
    if got != ref.read(n):
        sys.exit("O_DIRECT read at %d (+%d) differs" % (off, n))
EOF
}
odirect_check "$F/raw" raw.img; ok $? "raw: O_DIRECT reads at unaligned offsets match"
odirect_check "$F/vm" vback.raw; ok $? "vm: O_DIRECT reads at unaligned offsets match (512-byte blocks)"

# ---- .control ---------------------------------------------------------------
echo "add part raw 1048576 4194304" > "$F/.control"
ok $? "control: add part (range of raw) succeeds"
is "$(stat -c %s "$F/part" 2>/dev/null)" 4194304 "part: size is the range's"
is "$(hash_of "$F/part")" "$(dd if=raw.img bs=1M skip=1 count=4 status=none | sha256sum | cut -d' ' -f1)" \
  "part: contents equal dd of that range of the raw image"
echo "add sub part 0x1001 8191" > "$F/.control"
ok $? "control: add a range of a range (hex offset)"
is "$(hash_of "$F/sub")" "$(rng raw.img $((1048576 + 4097)) 8191)" "sub: contents equal that range of the image"
printf 'add vpart vm 3145728 1048576\nadd vpart2 vm 0 512\n' > "$F/.control"
ok $? "control: two add lines in one write"
is "$(hash_of "$F/vpart")" "$(rng vback.raw 3145728 1048576)" "vpart: range of the VMDK file"
is "$(stat -c %a "$F/vpart")" 444 "vpart: read-only like its base"
is "$(stat -c %s "$F/vpart2")" 512 "vpart2: exists"

control_fails() {  # control_fails LINE REASON-IN-LOG DESCRIPTION
  local err
  err=$( { printf '%s\n' "$1" > "$F/.control"; } 2>&1 )
  if [ $? -eq 0 ]; then ok 1 "control: $3 fails"; return; fi
  case $err in
    *"Invalid argument"*) ok 0 "control: $3 fails with EINVAL" ;;
    *) ok 1 "control: $3 fails with EINVAL"; diag "got: $err" ;;
  esac
  grep -qF -- "$2" "$F.log"; ok $? "control: $3: the log says why ($2)"
}
control_fails "frobnicate x" "unknown command" "an unknown command"
control_fails "add x raw 0" "usage: add" "add with a missing argument"
control_fails "add x raw 0 1 2" "usage: add" "add with an extra argument"
control_fails "add x nosuch 0 1" "no such base file" "add on a missing base"
control_fails "add x raw $RAW_SIZE 1" "beyond the end" "add past the end"
control_fails "add x raw 18446744073709551615 2" "beyond the end" "add with an overflowing range"
control_fails "add x raw -1 2" "unsigned numbers" "add with a negative offset"
control_fails "add x raw 1k 2" "unsigned numbers" "add with a suffix"
control_fails "add x raw 18446744073709551616 2" "out of range" "add with an OFFSET of 2^64"
control_fails "add a/b raw 0 1" "contains '/'" "add of a name with '/'"
control_fails "add .hid raw 0 1" "starts with '.'" "add of a name starting with '.'"
control_fails "add $(printf 'n%.0s' {1..256}) raw 0 1" "longer than 255" "add of a 256-byte name"
control_fails "add part raw 0 1" "exists" "add of an existing name"
control_fails "remove nosuch" "no such file" "remove of a missing file"
echo "add $(printf 'n%.0s' {1..255}) raw 0 1" > "$F/.control"
ok $? "control: a 255-byte name is accepted"
[ ! -e "$F/x" ] && [ ! -e "$F/a" ]; ok $? "control: failed adds created nothing"
cat "$F/.control" > /dev/null 2>&1; [ $? -ne 0 ]; ok $? "control: cannot be read"

echo "remove sub" > "$F/.control"
ok $? "control: remove sub"
[ ! -e "$F/sub" ]; ok $? "sub: gone after remove"
exec 7< "$F/vpart2"
echo "remove vpart2" > "$F/.control"
ok $? "control: remove a file that is open"
is "$(head -c 512 <&7 | sha256sum | cut -d' ' -f1)" "$(rng vback.raw 0 512)" "an open removed file still reads"
exec 7<&-
[ ! -e "$F/vpart2" ]; ok $? "vpart2: gone from the directory"

# ---- writes -----------------------------------------------------------------
head -c 3000000 /dev/urandom > w1.bin
dd if=w1.bin of="$F/mem" bs=65536 seek=1500001 oflag=seek_bytes conv=notrunc,fsync status=none
ok $? "mem: unaligned 3 MB write (dd conv=fsync)"
head -c 70000 /dev/urandom > w2.bin
dd if=w2.bin of="$F/mem" bs=70000 seek=9000000 oflag=seek_bytes,dsync conv=notrunc status=none
ok $? "mem: O_DSYNC write"
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY); os.pwrite(fd, b"\xa5" * 4096, 14 << 20); os.fsync(fd); os.fdatasync(fd)' "$F/mem"
ok $? "mem: pwrite + fsync + fdatasync"
nbdcopy "$MEM_URI" mem.out; ok $? "nbdcopy reads the memory export back"
is "$(rng mem.out 1500001 3000000)" "$(hash_of w1.bin)" "write 1 is in the export"
is "$(rng mem.out 9000000 70000)" "$(hash_of w2.bin)" "the O_DSYNC write is in the export"
is "$(rng mem.out $((14 << 20)) 4096)" "$(python3 -c 'import sys; sys.stdout.buffer.write(b"\xa5" * 4096)' | sha256sum | cut -d' ' -f1)" \
  "the fsynced write is in the export"
is "$(rng mem.out 0 1500001)" "$(head -c 1500001 /dev/zero | sha256sum | cut -d' ' -f1)" "bytes before the write untouched"

# writes through a range file; the whole-disk file (cached) sees them
cat "$F/mem" > /dev/null
echo "add mpart mem 8388608 4194304" > "$F/.control"; ok $? "control: add mpart (range of mem)"
head -c 100000 /dev/urandom > w3.bin
dd if=w3.bin of="$F/mpart" bs=100000 seek=12345 oflag=seek_bytes conv=notrunc,fsync status=none
ok $? "mpart: write through the range file"
nbdcopy "$MEM_URI" mem.out
is "$(rng mem.out $((8388608 + 12345)) 100000)" "$(hash_of w3.bin)" "the write landed at the range's offset"
is "$(rng "$F/mem" $((8388608 + 12345)) 100000)" "$(hash_of w3.bin)" "mem (read before) shows the new bytes"
err=$(head -c 100 /dev/urandom | dd of="$F/mpart" bs=100 seek=$((4194304 - 10)) oflag=seek_bytes conv=notrunc status=none 2>&1)
[ $? -ne 0 ] && [[ $err == *"No space left"* ]]; ok $? "mpart: a write past its end fails (ENOSPC)"
nbdcopy "$MEM_URI" mem.out
is "$(rng mem.out $((8388608 + 4194304)) 4096)" "$(rng "$F/mem" $((8388608 + 4194304)) 4096)" \
  "nothing written beyond the range"
fallocate -p -o 1600000 -l 1000000 "$F/mem"; ok $? "mem: fallocate --punch-hole"
nbdcopy "$MEM_URI" mem.out
is "$(rng mem.out 1600000 1000000)" "$(head -c 1000000 /dev/zero | sha256sum | cut -d' ' -f1)" "the punched range reads as zeros"
is "$(rng mem.out 1500001 99999)" "$(head -c 99999 w1.bin | sha256sum | cut -d' ' -f1)" "bytes before the hole untouched"
truncate -s 1M "$F/mem" 2>/dev/null; [ $? -ne 0 ]; ok $? "mem: truncate is refused"
is "$(stat -c %s "$F/mem")" $((16 * 1024 * 1024)) "mem: size unchanged"

err=$(dd if=/dev/zero of="$F/vm" bs=512 count=1 conv=notrunc status=none 2>&1)
[ $? -ne 0 ] && [[ $err == *"Read-only file system"* ]]; ok $? "vm: opening the read-only export for writing fails (EROFS)"

# writes that are not multiples of the plugin's 512-byte blocks
cp vback.raw vw.expect
is "$(stat -c %a "$F/vw")" 644 "vw: mode 644 (writable VMDK)"
head -c 100 /dev/urandom > w4.bin; head -c 70001 /dev/urandom > w5.bin
for spec in "w4.bin 12345" "w5.bin 3145000" "w4.bin $((VM_SIZE - 100))"; do
  set -- $spec
  dd if="$1" of="$F/vw" bs=65536 seek="$2" oflag=seek_bytes conv=notrunc,fsync status=none || echo "dd failed: $spec"
  dd if="$1" of=vw.expect bs=65536 seek="$2" oflag=seek_bytes conv=notrunc status=none
done > vw.err 2>&1
[ ! -s vw.err ]; ok $? "vw: unaligned writes succeed"
[ -s vw.err ] && diag "$(head -3 vw.err)"
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT | os.O_DSYNC); os.pwrite(fd, b"\x5a" * 1000, 7 << 20)' "$F/vw"
ok $? "vw: unaligned O_DIRECT|O_DSYNC write"
python3 -c 'import sys; f=open(sys.argv[1], "r+b"); f.seek(7 << 20); f.write(b"\x5a" * 1000)' vw.expect
fallocate -z -o 5000001 -l 100000 "$F/vw"; ok $? "vw: unaligned fallocate --zero-range"
dd if=/dev/zero of=vw.expect bs=100000 count=1 seek=5000001 oflag=seek_bytes conv=notrunc status=none
nbdcopy "$VW_URI" vw.out; ok $? "nbdcopy reads the writable VMDK export back"
cmp vw.out vw.expect > /dev/null; ok $? "vw: the export holds exactly the bytes written"
is "$(hash_of "$F/vw")" "$(hash_of vw.expect)" "vw: the file reads them back"

# ---- -r ----------------------------------------------------------------------
R=$T/fuse-ro
vx_start "$R" -r -- raw="$FILE_URI"; ok $? "vixmount-fuse -r mounts"
R_PID=${VX_PID:-}
is "$(stat -c %a "$R/raw" 2>/dev/null)" 444 "-r: mode 444"
err=$(dd if=/dev/zero of="$R/raw" bs=512 count=1 conv=notrunc status=none 2>&1)
st=$?
[ $st -ne 0 ] && [[ $err == *"Read-only file system"* || $err == *"Permission denied"* ]]
st=$?; ok $st "-r: opening for writing fails (EROFS/EACCES)"
[ $st -eq 0 ] || diag "dd said: $err"
echo "add rp raw 512 512" > "$R/.control"; ok $? "-r: .control still works"
err=$(dd if=/dev/zero of="$R/rp" bs=512 count=1 conv=notrunc status=none 2>&1)
[ $? -ne 0 ]; ok $? "-r: an added range is read-only too"
is "$(hash_of raw.img)" "$(hash_of "$R/raw")" "-r: the image is unchanged"
vx_stop "$R" "$R_PID"; ok $? "-r: fusermount3 -u, and the process exits"

vx_stop "$F" "$F_PID"; ok $? "fusermount3 -u, and the process exits"
! mountpoint -q "$F"; ok $? "nothing mounted on the directory any more"
[ ! -e "$F.pid" ]; ok $? "the pid file is removed at exit"

# ============================================================================
# 2. start-up errors, signals, --exit-with-parent
# ============================================================================

# start_fails WANT-STATUS TEXT DESCRIPTION [OPTIONS... --] NAME=URI...
start_fails() {
  local want=$1 text=$2 what=$3 dir=$T/fail st opts=(); shift 3
  if [[ " $* " == *" -- "* ]]; then
    while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
  fi
  mkdir -p "$dir"
  "$VXF" "${opts[@]}" "$dir" "$@" < /dev/null > "$dir.out" 2> "$dir.err"
  st=$?
  is "$st" "$want" "start-up error: $what: exit status $want"
  grep -qF -- "$text" "$dir.err"; ok $? "start-up error: $what: stderr says $text"
  [ -s "$dir.err" ] && diag "$(head -2 "$dir.err")"
  ! mountpoint -q "$dir"; ok $? "start-up error: $what: nothing mounted"
}
NOSOCK_URI=$(nbd_uri "$T/nosuch.sock")
start_fails 1 "$NOSOCK_URI" "no server on the socket" d="$NOSOCK_URI"
start_fails 1 "nbd://127.0.0.1:1/" "TCP connection refused" d=nbd://127.0.0.1:1/
start_fails 1 "bogus://x" "not an NBD URI" d=bogus://x
start_fails 1 "$NOSOCK_URI" "one good export, one bad" a="$MEM_URI" b="$NOSOCK_URI"
start_fails 2 "expected NAME=URI" "an argument without =" nouri
start_fails 2 "starts with '.'" "a name starting with ." .x="$MEM_URI"
start_fails 2 "given twice" "a name given twice" a="$MEM_URI" a="$MEM_URI"
# option values: the number and size syntax of common/utils/parse.h
start_fails 2 "--readahead: '17179869185G' is out of range" \
  "a --readahead that overflows 64 bits" --readahead 17179869185G -- a="$MEM_URI"
start_fails 2 "--readahead: a size up to 1G" "--readahead above 1G" \
  --readahead 2G -- a="$MEM_URI"
start_fails 2 "--max-request: '1.5M' is not a size" "a fractional --max-request" \
  --max-request 1.5M -- a="$MEM_URI"
start_fails 2 "--split: '-4K' is not a size" "a negative --split" \
  --split -4K -- a="$MEM_URI"
start_fails 2 "--threads: expected a number from 2 to 256, got '4K'" \
  "a size suffix on --threads" --threads 4K -- a="$MEM_URI"
"$VXF" "$T/nosuchdir" a="$MEM_URI" > /dev/null 2> "$T/nodir.err"
[ $? -ne 0 ] && grep -q nosuchdir "$T/nodir.err"; ok $? "start-up error: a missing mount point is named"

# SIGTERM
S=$T/fuse-term
vx_start "$S" -- m="$MEM_URI"; ok $? "started for SIGTERM"
S_PID=${VX_PID:-0}
kill -TERM "$S_PID"
wait_exit "$S_PID"; ok $? "SIGTERM: the process exits"
! mountpoint -q "$S"; ok $? "SIGTERM: it unmounted itself"
forget FUSES "$S:$S_PID"

# SIGTERM in the foreground (-f): the exit status is 0
mkdir -p "$T/fuse-fg"
"$VXF" -f --pidfile "$T/fuse-fg.pid" "$T/fuse-fg" m="$MEM_URI" < /dev/null 2> "$T/fuse-fg.err" &
FG_PID=$!
for ((i = 0; i < 500; i++)); do [ -s "$T/fuse-fg.pid" ] && break; sleep 0.01; done
FUSES+=("$T/fuse-fg:$FG_PID")
is "$(cat "$T/fuse-fg.pid" 2>/dev/null)" "$FG_PID" "-f: stays in the foreground (pid file has its own pid)"
mountpoint -q "$T/fuse-fg"; ok $? "-f: mounted once the pid file exists"
kill -TERM "$FG_PID"; wait "$FG_PID"; is "$?" 0 "-f: exit status 0 after SIGTERM"
! mountpoint -q "$T/fuse-fg"; ok $? "-f: unmounted after SIGTERM"
forget FUSES "$T/fuse-fg:$FG_PID"

# --exit-with-parent, daemonized: the parent is a shell that then sleeps
E=$T/fuse-ewp
mkdir -p "$E"
bash -c '"$0" --exit-with-parent --pidfile "$1.pid" "$1" m="$2" < /dev/null 2> "$1.err" || exit 1; exec sleep 600' \
  "$VXF" "$E" "$MEM_URI" &
PARENT=$!
for ((i = 0; i < 500; i++)); do [ -s "$E.pid" ] && break; sleep 0.01; done
E_PID=$(cat "$E.pid" 2>/dev/null)
[ -n "$E_PID" ] && FUSES+=("$E:$E_PID")
mountpoint -q "$E"; ok $? "--exit-with-parent (daemonized): mounted"
kill "$PARENT"; wait "$PARENT" 2>/dev/null
wait_exit "${E_PID:-0}"; ok $? "--exit-with-parent (daemonized): exits when its parent dies"
! mountpoint -q "$E"; ok $? "--exit-with-parent (daemonized): unmounted"
forget FUSES "$E:${E_PID:-}"

# --exit-with-parent, -f: the parent is killed with SIGKILL
E2=$T/fuse-ewp2
mkdir -p "$E2"
bash -c '"$0" -f --exit-with-parent --pidfile "$1.pid" "$1" m="$2" < /dev/null 2> "$1.err" & exec sleep 600' \
  "$VXF" "$E2" "$MEM_URI" &
PARENT=$!
for ((i = 0; i < 500; i++)); do [ -s "$E2.pid" ] && break; sleep 0.01; done
E2_PID=$(cat "$E2.pid" 2>/dev/null)
[ -n "$E2_PID" ] && FUSES+=("$E2:$E2_PID")
mountpoint -q "$E2"; ok $? "--exit-with-parent -f: mounted"
kill -9 "$PARENT"; wait "$PARENT" 2>/dev/null
wait_exit "${E2_PID:-0}"; ok $? "--exit-with-parent -f: exits when its parent is killed"
! mountpoint -q "$E2"; ok $? "--exit-with-parent -f: unmounted"
forget FUSES "$E2:${E2_PID:-}"

# ============================================================================
# 3. ext4 in an MBR partition of a VMDK: vixmount-fuse + loop + mount
# ============================================================================

truncate -s 64M disk.raw
printf 'start=2048, size=16384, type=83\nstart=20480, type=83\n' | sfdisk -q disk.raw || bail "sfdisk"
read -r P2_START P2_SECTORS < <(sfdisk -d disk.raw | awk -F'[=,]' '/disk.raw2/ { gsub(/ /, ""); print $2, $4 }')
P2_OFF=$((P2_START * 512)) P2_SIZE=$((P2_SECTORS * 512))
diag "partition 2 at $P2_OFF, $P2_SIZE bytes"
[ "$P2_OFF" = $((20480 * 512)) ] || bail "sfdisk -d: unexpected start '$P2_START'"

MNT=$T/mnt; mkdir -p "$MNT"
L=$(losetup -f --show -o "$P2_OFF" --sizelimit "$P2_SIZE" disk.raw) || bail "losetup"
LOOPS+=("$L")
mkfs.ext4 -q -F -L vxbridge -E nodiscard "$L" || bail "mkfs.ext4"
mount -t ext4 "$L" "$MNT" || bail "mount for populating"
MOUNTS+=("$MNT")
mkdir -p "$MNT/dir/sub"
echo "hello through the bridge" > "$MNT/hello.txt"
head -c $((6 * 1024 * 1024 + 123)) /dev/urandom > "$MNT/dir/random.bin"
seq 1 200000 > "$MNT/dir/sub/numbers.txt"
head -c 300000 /dev/zero > "$MNT/zeros.bin"
(cd "$MNT" && sha256sum hello.txt dir/random.bin dir/sub/numbers.txt zeros.bin) > sums || bail "sha256sum"
umount "$MNT" || bail "umount after populating"; forget MOUNTS "$MNT"
losetup -d "$L" || bail "losetup -d after populating"; forget LOOPS "$L"
qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse disk.raw disk.vmdk || bail "convert"

nbdkit_start "$T/disk.sock" -- file=disk.vmdk || bail "nbdkit vmdk plugin on disk.vmdk"
DISK_SRV=$NBDKIT_PID
D=$T/fuse-disk
vx_start "$D" -r -- disk="$(nbd_uri "$T/disk.sock")"; ok $? "partition: vixmount-fuse -r serves the VMDK"
D_PID=${VX_PID:-0}
echo "add p2 disk $P2_OFF $P2_SIZE" > "$D/.control"; ok $? "partition: add p2 at its offset"
L=$(losetup -r -f --show --direct-io=on "$D/p2"); ok $? "partition: losetup -r --direct-io=on on p2"
[ -n "$L" ] && LOOPS+=("$L")
is "$(cat "/sys/block/${L#/dev/}/loop/dio" 2>/dev/null)" 1 "partition: the loop device does direct I/O"
mount -t ext4 -o ro,noload,nosuid,nodev "$L" "$MNT"; ok $? "partition: mount -t ext4 -o ro,noload"
MOUNTS+=("$MNT")
(cd "$MNT" && sha256sum --quiet -c "$T/sums") > sumcheck.out 2>&1
ok $? "partition: every file's sha256 matches"
[ -s sumcheck.out ] && diag "$(head -3 sumcheck.out)"
is "$(cat "$MNT/hello.txt" 2>/dev/null)" "hello through the bridge" "partition: small file reads"

umount "$MNT"; ok $? "partition: umount"; forget MOUNTS "$MNT"
losetup -d "$L"; ok $? "partition: losetup -d"; forget LOOPS "$L"
vx_stop "$D" "$D_PID"; ok $? "partition: fusermount3 -u, vixmount-fuse exits"
nbdkit_stop "$DISK_SRV"; ok $? "partition: nbdkit exits cleanly"

# ============================================================================
# 4. --cow overlay and --vmdk in-process reads over a read-only server
# ============================================================================

# dread FILE OFFSET LENGTH: sha256 of a range read with O_DIRECT (past the
# kernel's page cache, so the daemon answers); 4 KiB-aligned ranges only
dread() {
  dd if="$1" iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none |
    sha256sum | cut -d' ' -f1
}
# cow_changes FILE EXPECT: the same unaligned write and punched hole into
# the bridge's FILE and into the plain file EXPECT
cow_changes() {
  dd if=pat.bin of="$1" bs=10000 seek=$(((3 << 20) + 1000)) oflag=seek_bytes conv=notrunc status=none &&
  dd if=pat.bin of="$2" bs=10000 seek=$(((3 << 20) + 1000)) oflag=seek_bytes conv=notrunc status=none &&
  fallocate --punch-hole --keep-size -o $(((7 << 20) + 4096)) -l 69632 "$1" &&
  dd if=/dev/zero of="$2" bs=69632 count=1 seek=$(((7 << 20) + 4096)) oflag=seek_bytes conv=notrunc status=none
}
head -c 10000 /dev/urandom > pat.bin
cp v.vmdk c.vmdk
C_HASH0=$(hash_of c.vmdk)
nbdkit_start "$T/ro.sock" -r -- file=c.vmdk || bail "nbdkit -r vmdk"
RO_SRV=$NBDKIT_PID
mkdir -p "$T/ovl"
C=$T/fuse-cow
vx_start "$C" -v --cow --cow-dir "$T/ovl" --vmdk "cv=$T/c.vmdk" -- cv="$(nbd_uri "$T/ro.sock")"
ok $? "--cow --vmdk: vixmount-fuse starts over a read-only nbdkit"
C_PID=${VX_PID:-0}
grep -q "read from $T/c.vmdk in-process" "$C.log"; ok $? "--vmdk: the log says the export is read in-process"
is "$(stat -c %a "$C/cv")" 644 "--cow: the file is writable although the export is read-only"
is "$(ls -A "$T/ovl")" "" "--cow: the overlay file has no name (unlinked)"
is "$(dread "$C/cv" 0 "$VM_SIZE")" "$(hash_of vback.raw)" "--vmdk: O_DIRECT sha256 equals qemu-img convert -O raw"
odirect_check "$C/cv" vback.raw; ok $? "--vmdk: O_DIRECT reads at unaligned offsets match"

kill -STOP "$RO_SRV"
got=$(timeout 20 dd if="$C/cv" iflag=direct bs=1M status=none | sha256sum | cut -d' ' -f1)
kill -CONT "$RO_SRV"
is "$got" "$(hash_of vback.raw)" "--vmdk: with nbdkit stopped, the whole disk still reads (no NBD)"

cp vback.raw c.expect
cow_changes "$C/cv" c.expect; ok $? "--cow: write 10000 bytes at 3 MiB + 1000, punch a hole at 7 MiB + 4 KiB"
is "$(dread "$C/cv" $((3 << 20)) 16384)" "$(rng c.expect $((3 << 20)) 16384)" \
  "--cow: the written blocks read back, with their unwritten neighbours"
is "$(dread "$C/cv" $((7 << 20)) $((1 << 20)))" "$(rng c.expect $((7 << 20)) $((1 << 20)))" \
  "--cow: the punched range reads as zeros, the rest of that MiB as before"
echo "add cp cv $((3 << 20)) $((5 << 20))" > "$C/.control"; ok $? "--cow: add a range file over the export"
is "$(dread "$C/cp" 0 $((5 << 20)))" "$(rng c.expect $((3 << 20)) $((5 << 20)))" "--cow: the range file sees the changes"
head -c 5000 /dev/urandom > pat2.bin
dd if=pat2.bin of="$C/cp" bs=5000 seek=$(((1 << 20) + 7)) oflag=seek_bytes conv=notrunc status=none
dd if=pat2.bin of=c.expect bs=5000 seek=$(((4 << 20) + 7)) oflag=seek_bytes conv=notrunc status=none
is "$(dread "$C/cv" $((4 << 20)) $((1 << 20)))" "$(rng c.expect $((4 << 20)) $((1 << 20)))" \
  "--cow: a write through the range file shows in the disk file"
nbdkit_stop "$RO_SRV"   # with the bridge still connected: not a clean exit
! kill -0 "$RO_SRV" 2>/dev/null; ok $? "--cow: nbdkit is gone (SIGTERM with the bridge connected)"
is "$(dread "$C/cv" 0 "$VM_SIZE")" "$(hash_of c.expect)" \
  "--cow --vmdk: with nbdkit gone, the whole file equals the source plus the changes"
vx_stop "$C" "$C_PID"; ok $? "--cow: fusermount3 -u, vixmount-fuse exits"
is "$(hash_of c.vmdk)" "$C_HASH0" "--cow: c.vmdk is unchanged"

# --cow alone: unwritten blocks over NBD, written ones from the overlay
nbdkit_start "$T/ro2.sock" -r -- file=c.vmdk || bail "nbdkit -r vmdk (2)"
RO2_SRV=$NBDKIT_PID
RO2_URI=$(nbd_uri "$T/ro2.sock")
C2=$T/fuse-cow2
vx_start "$C2" --cow --cow-dir "$T/ovl" -- cv="$RO2_URI"; ok $? "--cow without --vmdk starts"
C2_PID=${VX_PID:-0}
cp vback.raw c2.expect
cow_changes "$C2/cv" c2.expect; ok $? "--cow (NBD below): the same write and hole"
is "$(dread "$C2/cv" 0 "$VM_SIZE")" "$(hash_of c2.expect)" "--cow (NBD below): the file equals the source plus the changes"
vx_stop "$C2" "$C2_PID"; ok $? "--cow (NBD below): vixmount-fuse exits"
is "$(hash_of c.vmdk)" "$C_HASH0" "--cow (NBD below): c.vmdk is unchanged"

# a disk whose size is not a multiple of the overlay's 4 KiB blocks
ODD=$(((3 << 20) + 1536))
head -c "$ODD" /dev/urandom > odd.raw
qemu-img convert -q -f raw -O vmdk odd.raw odd.vmdk || bail "qemu-img convert odd.raw"
nbdkit_start "$T/odd.sock" -r -- file=odd.vmdk || bail "nbdkit -r odd.vmdk"
ODD_SRV=$NBDKIT_PID
O=$T/fuse-odd
vx_start "$O" --cow --cow-dir "$T/ovl" --vmdk "od=$T/odd.vmdk" -- od="$(nbd_uri "$T/odd.sock")"
ok $? "--cow --vmdk on a disk of 3 MiB + 1536 bytes"
O_PID=${VX_PID:-0}
cp odd.raw odd.expect
{ head -c 5000 /dev/urandom > pat3.bin &&
  dd if=pat3.bin of="$O/od" bs=5000 seek=$((ODD - 5000)) oflag=seek_bytes conv=notrunc status=none &&
  dd if=pat3.bin of=odd.expect bs=5000 seek=$((ODD - 5000)) oflag=seek_bytes conv=notrunc status=none &&
  fallocate --zero-range --keep-size -o $((ODD - 9000)) -l 3000 "$O/od" &&
  dd if=/dev/zero of=odd.expect bs=3000 count=1 seek=$((ODD - 9000)) oflag=seek_bytes conv=notrunc status=none &&
  dd if=pat3.bin of="$O/od" bs=4096 count=1 seek=$((1 << 20)) oflag=seek_bytes conv=notrunc status=none &&
  dd if=pat3.bin of=odd.expect bs=4096 count=1 seek=$((1 << 20)) oflag=seek_bytes conv=notrunc status=none; }
ok $? "--cow: writes and a zeroed range across the short last block, one whole block"
is "$(dread "$O/od" 0 "$ODD")" "$(hash_of odd.expect)" "--cow: the odd-sized disk reads back with every change"
vx_stop "$O" "$O_PID"; ok $? "--cow (odd size): vixmount-fuse exits"
nbdkit_stop "$ODD_SRV"; ok $? "--cow (odd size): nbdkit exits cleanly"

start_fails 2 "NAME given twice" "--vmdk twice for one export" \
  --vmdk "vm=$T/v.vmdk" --vmdk "vm=$T/v.vmdk" -- vm="$RO2_URI"
start_fails 1 "$T/nosuch.vmdk" "--vmdk of a missing file" --vmdk "vm=$T/nosuch.vmdk" -- vm="$RO2_URI"
start_fails 1 "differs from the size" "--vmdk of a disk of another size" --cow --vmdk "m=$T/v.vmdk" -- m="$MEM_URI"
start_fails 2 "the export is writable; add --cow" "--vmdk on a writable export without --cow" \
  --vmdk "m=$T/v.vmdk" -- m="$MEM_URI"
start_fails 1 "cannot create the overlay" "--cow-dir that does not exist" --cow --cow-dir "$T/nosuchdir" -- m="$MEM_URI"

# ============================================================================
# 5. local exports: --vmdk NAME=PATH alone, no NBD server
# ============================================================================
L0=$T/fuse-local
cp v.vmdk l.vmdk
L_HASH0=$(hash_of l.vmdk)
vx_start "$L0" -v --vmdk "lv=$T/l.vmdk" --; ok $? "local export: vixmount-fuse starts with --vmdk alone (no URI, no server)"
L0_PID=${VX_PID:-0}
grep -q "local export" "$L0.log"; ok $? "local export: the log says it is local"
is "$(stat -c %s "$L0/lv")" "$VM_SIZE" "local export: the size is the VMDK's virtual size"
is "$(stat -c %a "$L0/lv")" 444 "local export: without --cow the file is read-only"
is "$(hash_of "$L0/lv")" "$(hash_of vback.raw)" "local export: sha256 equals qemu-img convert -O raw"
cmp -s "$L0/lv" vback.raw; ok $? "local export: byte for byte equal (cmp)"
odirect_check "$L0/lv" vback.raw; ok $? "local export: O_DIRECT reads at unaligned offsets match"
is "$(ls /proc/"$L0_PID"/fd -l 2>/dev/null | grep -c 'socket:')" 0 "local export: the bridge holds no socket (no NBD)"
python3 - "$L0/lv" > erofs.out 2>&1 <<'EOF2'
import errno, os, sys
try:
    os.open(sys.argv[1], os.O_WRONLY)
    print("opened for writing")
except OSError as e:
    print(errno.errorcode[e.errno])
EOF2
is "$(cat erofs.out)" EROFS "local export: without --cow, opening for writing fails with EROFS"
echo "add lp lv 4096 $((1 << 20))" > "$L0/.control"; ok $? "local export: a range file through .control"
is "$(hash_of "$L0/lp")" "$(rng vback.raw 4096 $((1 << 20)))" "local export: the range file reads right"
is "$(direct_fds "$L0_PID" "$T/l.vmdk")" 0 "local export: without --direct-read no descriptor of the VMDK is O_DIRECT"
vx_stop "$L0" "$L0_PID"; ok $? "local export: fusermount3 -u, vixmount-fuse exits"

# --direct-read: the data read with O_DIRECT where this file system has it
L2=$T/fuse-local-direct
vx_start "$L2" --direct-read --vmdk "lv=$T/l.vmdk" --; ok $? "local export --direct-read: vixmount-fuse starts"
L2_PID=${VX_PID:-0}
if has_odirect l.vmdk; then
  is "$(direct_fds "$L2_PID" "$T/l.vmdk")" 1 "local export --direct-read: a second descriptor of the VMDK, O_DIRECT"
else
  is "$(direct_fds "$L2_PID" "$T/l.vmdk")" 0 "local export --direct-read: no O_DIRECT descriptor (this file system has none)"
fi
sync; echo 3 > /proc/sys/vm/drop_caches
is "$(hash_of "$L2/lv")" "$(hash_of vback.raw)" "local export --direct-read: sha256 equals qemu-img convert -O raw"
odirect_check "$L2/lv" vback.raw; ok $? "local export --direct-read: O_DIRECT reads at unaligned offsets match"
vx_stop "$L2" "$L2_PID"; ok $? "local export --direct-read: vixmount-fuse exits"

L1=$T/fuse-local-cow
vx_start "$L1" --cow --cow-dir "$T/ovl" --vmdk "lv=$T/l.vmdk" --vmdk "lo=$T/odd.vmdk" -- vm="$VM_URI"
ok $? "local export: two local exports with --cow, next to an NBD export"
L1_PID=${VX_PID:-0}
is "$(ls -A "$T/ovl")" "" "local export --cow: the overlay files have no name (unlinked)"
is "$(stat -c %a "$L1/lv")" 644 "local export --cow: the file is writable"
is "$(hash_of "$L1/vm")" "$(hash_of vback.raw)" "local export --cow: the NBD export next to it reads as before"
cp vback.raw l.expect
cow_changes "$L1/lv" l.expect; ok $? "local export --cow: an unaligned write and a punched hole"
is "$(dread "$L1/lv" 0 "$VM_SIZE")" "$(hash_of l.expect)" "local export --cow: the file equals the source plus the changes (O_DIRECT)"
sync; echo 3 > /proc/sys/vm/drop_caches
cmp -s "$L1/lv" l.expect; ok $? "local export --cow: and through the page cache after drop_caches (cmp)"
dd if=pat.bin of="$L1/lo" bs=1000 count=1 seek=$((ODD - 1000)) oflag=seek_bytes conv=notrunc status=none
dd if=pat.bin of=odd.raw bs=1000 count=1 seek=$((ODD - 1000)) oflag=seek_bytes conv=notrunc status=none
is "$(dread "$L1/lo" 0 "$ODD")" "$(hash_of odd.raw)" "local export --cow: the odd-sized disk takes a write at its very end"
vx_stop "$L1" "$L1_PID"; ok $? "local export --cow: vixmount-fuse exits"
is "$(hash_of l.vmdk)" "$L_HASH0" "local export --cow: the VMDK's sha256 is unchanged"

start_fails 2 "expected NAME=PATH" "--vmdk without a path" --vmdk lv --
start_fails 2 "expected NAME=PATH" "--vmdk with an empty name" --vmdk "=$T/l.vmdk" --
start_fails 2 "expected NAME=PATH" "--vmdk with an empty path" --vmdk "lv=" --
start_fails 2 "NAME given twice" "--vmdk twice for one local export" --vmdk "lv=$T/l.vmdk" --vmdk "lv=$T/l.vmdk" --
start_fails 2 "starts with '.'" "--vmdk with a bad file name" --vmdk ".lv=$T/l.vmdk" --
start_fails 2 "Usage" "no export at all" --
start_fails 1 "$T/nosuch.vmdk" "a local export of a missing file" --vmdk "lv=$T/nosuch.vmdk" --
nbdkit_stop "$RO2_SRV"; ok $? "the second read-only server exits cleanly"

# ============================================================================
# nothing left behind
# ============================================================================
nbdkit_stop "$VM_SRV"; ok $? "vmdk plugin server exits cleanly"
nbdkit_stop "$VW_SRV"; ok $? "writable vmdk plugin server exits cleanly"
qemu-img compare -q -f vmdk -F raw w.vmdk vw.expect; ok $? "qemu-img: w.vmdk holds the writes (they were flushed)"
for p in "$FILE_SRV" "$MEM_SRV"; do kill "$p"; wait "$p" 2>/dev/null; forget SERVERS "$p"; done
gone=0
for p in "$F_PID" "${R_PID:-}" "${S_PID:-}" "${FG_PID:-}" "${E_PID:-}" "${E2_PID:-}" "$D_PID" \
         "$C_PID" "$C2_PID" "${O_PID:-}" "${L0_PID:-}" "${L1_PID:-}" "$VM_SRV" "$VW_SRV" "$DISK_SRV" "$RO_SRV" "$RO2_SRV" "${ODD_SRV:-}" "$FILE_SRV" "$MEM_SRV"; do
  [ -n "$p" ] && alive "$p" && { diag "process $p still running"; gone=1; }
done
ok $gone "no vixmount-fuse or nbdkit process left"
! grep -q " $T/" /proc/mounts; ok $? "no mounts left under the scratch directory"
[ -z "$(losetup -a | grep -F "$T/")" ]; ok $? "no loop devices left on our files"

done_testing

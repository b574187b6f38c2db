# tests/lib/serve.sh: `vixmount serve` in tests, and the disk sets they
# serve.  Source after common.sh, in the scratch directory $d (the sets
# are built there); it sources lvm.sh and plugin.sh, makes ./vix.conf
# (tmpDirectory ./rt, cleaned up at exit) and lvm2's private ./lvm.
#
#   serve_start OUT ARGS...  `vixmount serve --json ARGS` in the background
#                            (TMPDIR=./serve-tmp), until its export list is
#                            in OUT (60 s); SERVE_PID; stopped at exit
#   serve_stop               SIGTERM to it; returns its exit status
#   free_port                a TCP port nobody listens on at 127.0.0.1
#   lvm_set                  the LVM set: A.vmdk (a PV on the whole disk)
#                            and B.vmdk (GPT: p1 ext4 "boot", p2 a PV); VG
#                            gvg: str (striped 2 x 64 KiB, 48 MiB), lin
#                            (36 MiB on A then 28 MiB on B), onb (16 MiB on
#                            B, ext4 "onb" holding payload.bin, whose sha256
#                            is in ./payload.sha); str and lin hold random
#                            MiBs between holes; lvs's report in r1.json,
#                            the loop devices' map in ./devs (DEV=RAW:OFF)
#   psk_keys FILE USER       a pre-shared key file (psktool)
#   tls_certs DIR NAME       DIR/ca-cert.pem, server-cert.pem, server-key.pem
#                            (for nbdkit) and client-cert.pem, client-key.pem
#                            of a CA named NAME; the server's certificate is
#                            for vixmount-test-server
. "$top_srcdir/tests/lib/lvm.sh"
. "$top_srcdir/tests/lib/plugin.sh"
nbdkit_wrap "$d"
on_exit "'$top_builddir/vixmount-cleanup' '$d/rt' > /dev/null"
mkdir -p "$d/rt"
printf 'tmpDirectory = "%s/rt"\n' "$d" > "$d/vix.conf"
lvm_setup "$d/lvm"
VIXMOUNT="$top_builddir/vixmount"
LVMIMG_PY="$top_srcdir/tests/lib/lvmimg.py"

SERVE_PID=
serve_start() {
  local out=$1 i; shift
  mkdir -p serve-tmp
  TMPDIR=$PWD/serve-tmp "$VIXMOUNT" serve --json "$@" > "$out" 2> "$out.err" < /dev/null &
  SERVE_PID=$!
  if [ -z "${_serve_cleanup:-}" ]; then on_exit serve_stop; _serve_cleanup=1; fi
  for ((i = 0; i < 600; i++)); do
    tail -1 "$out" 2>/dev/null | grep -q ']}$' && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { wait "$SERVE_PID"; SERVE_PID=; return 1; }
    sleep 0.1
  done
  diag "vixmount serve did not list its exports in 60 s"
  return 1
}
serve_stop() {
  local pid=$SERVE_PID st i
  [ -n "$pid" ] || return 0
  SERVE_PID=
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 300; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; diag "vixmount serve ignored SIGTERM"; }
  wait "$pid"; st=$?
  return $st
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_SET_LOOPS=()
_set_attach() {  # IMG [START SECTORS]: $l
  if [ $# -gt 1 ]; then
    l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"
  else
    l=$(losetup -f --show "$1") || bail "losetup"
  fi
  _SET_LOOPS+=("$l")
}
_set_detach() { local l; for l in "${_SET_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done; _SET_LOOPS=(); }
on_exit _set_detach

# random_holes FILE SIZE: random MiBs (every third one) between holes
random_holes() {
  python3 - "$1" "$2" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.truncate(size)
    for mib in range(0, size >> 20, 3):
        f.seek(mib << 20); f.write(os.urandom(1 << 20))
PY
}

lvm_set() {
  local b1s b1n b2s b2n LA LB
  lvm_gvg_set _set_attach
  _set_detach
  printf '%s\n' "$LA=A.raw:0" "$LB=B.raw:$((b2s * 512))" > devs
  random_holes str.img $((48 << 20))
  random_holes lin.img $((64 << 20))
  mkdir -p onb.d; head -c 2000000 /dev/urandom > onb.d/payload.bin
  sha256sum < onb.d/payload.bin | cut -c1-64 > payload.sha
  truncate -s 16M onb.img
  mkfs.ext4 -q -F -L onb -d onb.d onb.img || bail "mkfs.ext4 -d"
  for lv in str lin onb; do
    python3 "$LVMIMG_PY" write r1.json gvg/$lv $lv.img $(cat devs) || bail "write $lv"
  done
  truncate -s $((b1n * 512)) boot.img; mkfs.ext4 -q -F -L boot boot.img || bail "mkfs boot"
  dd if=boot.img of=B.raw bs=512 seek="$b1s" conv=notrunc,sparse status=none
  qemu-img convert -f raw -O vmdk -o subformat=monolithicSparse A.raw A.vmdk || bail "convert A"
  qemu-img convert -f raw -O vmdk -o subformat=twoGbMaxExtentSparse B.raw B.vmdk || bail "convert B"
}

psk_keys() { psktool -u "$2" -p "$1" > /dev/null 2>&1 || bail "psktool"; }

tls_certs() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  (
    cd "$dir" || exit 1
    certtool --generate-privkey --key-type=rsa --bits=2048 --outfile ca-key.pem &&
    printf 'cn = %s\nca\ncert_signing_key\nexpiration_days = 30\n' "$name" > ca.info &&
    certtool --generate-self-signed --load-privkey ca-key.pem --template ca.info --outfile ca-cert.pem &&
    certtool --generate-privkey --key-type=rsa --bits=2048 --outfile server-key.pem &&
    printf 'organization = %s\ncn = vixmount-test-server\ndns_name = vixmount-test-server\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 30\n' "$name" > server.info &&
    certtool --generate-certificate --load-privkey server-key.pem --load-ca-certificate ca-cert.pem \
      --load-ca-privkey ca-key.pem --template server.info --outfile server-cert.pem &&
    certtool --generate-privkey --key-type=rsa --bits=2048 --outfile client-key.pem &&
    printf 'organization = %s\ncn = vixmount-test-client\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n' "$name" > client.info &&
    certtool --generate-certificate --load-privkey client-key.pem --load-ca-certificate ca-cert.pem \
      --load-ca-privkey ca-key.pem --template client.info --outfile client-cert.pem
  ) > "$dir.log" 2>&1 || bail "certtool: $(tail -3 "$dir.log")"
  chmod 0600 "$dir"/*-key.pem
}

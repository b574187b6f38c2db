#!/bin/bash
# serve-remote.sh: a remote host attaches an LVM volume served by `vixmount
# serve` with its kernel's NBD client over TLS.  This machine serves the
# LVM set of tests/lib/serve.sh on 127.0.0.1 with X.509 certificates
# (client certificates required: --tls-verify-peer); a QEMU guest
# (tests/vm/run-in-guest --net-to-host: QEMU user networking, restrict=on,
# whose only way out is 10.0.2.100:PORT forwarded to 127.0.0.1:PORT) is the
# remote host: nbd-client with TLS attaches the export gvg/onb to
# /dev/nbd0, mounts it read-only and hashes a file, which must be the
# source's; a client with a certificate of another CA, and one without
# TLS, are refused.  Everything started here (serve, nbdkit, the guest)
# is stopped at exit, also on failure.
. "$top_srcdir/tests/lib/common.sh"
need lvm sgdisk sfdisk qemu-img qemu-system-x86_64 python3 jq losetup certtool nbd-client \
  mkfs.ext4
require_root "loop devices (lvm2), the FUSE bridge, the guest's nbd"
d=$(cd /var/tmp && mktemp -d vixmount-serve-remote.XXXXXX) || bail "mktemp"
d=/var/tmp/$d            # not under /tmp: the guest has a /tmp of its own
on_exit "rm -rf '$d'"
cd "$d" || bail "cd"
. "$top_srcdir/tests/lib/serve.sh"    # lvm.sh, plugin.sh; ./vix.conf, ./rt, ./lvm

lvm_set
tls_certs pki good
tls_certs other evil        # a client certificate from another CA
port=$(free_port)
serve_start s.json --tcp 127.0.0.1:$port --tls-certs pki --tls-verify-peer \
  --config "$d/vix.conf" A.vmdk B.vmdk
ok $? "vixmount serve with certificates on 127.0.0.1:$port" || diag "$(cat s.json.err)"
is "$(jq -r '.exports[] | select(.name == "gvg/onb") | .uri' s.json)" "nbds://127.0.0.1:$port/gvg/onb" \
  "gvg/onb is served as nbds://"

cat > guest.sh <<EOF
# in the guest: the remote host
modprobe nbd nbds_max=4 || exit 1
tls=(-certfile $d/pki/client-cert.pem -keyfile $d/pki/client-key.pem
     -cacertfile $d/pki/ca-cert.pem -tlshostname vixmount-test-server)
echo "plain \$(nbd-client 10.0.2.100 $port /dev/nbd1 -N gvg/onb -nonetlink > plain.log 2>&1; echo \$?)"
echo "wrongca \$(nbd-client 10.0.2.100 $port /dev/nbd2 -N gvg/onb -nonetlink \
  -certfile $d/other/client-cert.pem -keyfile $d/other/client-key.pem \
  -cacertfile $d/pki/ca-cert.pem -tlshostname vixmount-test-server > wrong.log 2>&1; echo \$?)"
nbd-client 10.0.2.100 $port /dev/nbd0 -N gvg/onb -nonetlink -readonly "\${tls[@]}" > good.log 2>&1
echo "tls \$?"
echo "size \$(blockdev --getsize64 /dev/nbd0)"
mkdir -p /mnt/onb && mount -t ext4 -o ro,noload /dev/nbd0 /mnt/onb && echo "mounted"
echo "payload \$(sha256sum < /mnt/onb/payload.bin | cut -c1-64)"
umount /mnt/onb
nbd-client -d /dev/nbd0 > /dev/null 2>&1
for b in nbd1 nbd2; do echo "\$b \$(cat /sys/block/\$b/size)"; done
EOF
timeout 600 "$top_srcdir/tests/vm/run-in-guest" --timeout 500 --net-to-host "$port" -- \
  bash "$d/guest.sh" > guest.out 2> guest.err
ok $? "the guest ran" || diag "$(tail -20 guest.err)"
diag "guest: $(tr '\n' ';' < guest.out)"
is "$(awk '$1 == "tls" {print $2}' guest.out)" 0 "nbd-client with TLS attaches gvg/onb in the guest" \
  || diag "$(cat good.log 2>/dev/null)"
is "$(awk '$1 == "size" {print $2}' guest.out)" $((16 << 20)) "/dev/nbd0 has the LV's size"
grep -q '^mounted$' guest.out; ok $? "the guest mounts the LV's ext4 with its own kernel"
is "$(awk '$1 == "payload" {print $2}' guest.out)" "$(cat payload.sha)" "a file read there has the source's sha256"
[ "$(awk '$1 == "plain" {print $2}' guest.out)" != 0 ] && [ "$(awk '$1 == "nbd1" {print $2}' guest.out)" = 0 ]
ok $? "a client without TLS is refused (no device attached)"
[ "$(awk '$1 == "wrongca" {print $2}' guest.out)" != 0 ] && [ "$(awk '$1 == "nbd2" {print $2}' guest.out)" = 0 ]
ok $? "a client whose certificate is of another CA is refused"
serve_stop; ok $? "serve stops cleanly on SIGTERM"
is "$(pgrep -f "nbdkit.*127.0.0.1.*-p $port" | wc -l)" 0 "no nbdkit left"
done_testing

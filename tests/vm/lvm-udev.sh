#!/bin/bash
# LVM auto-activation on a host that runs udev with lvm2's rules (issue:
# "the host never activates a guest VG"), in the guest: systemd-udevd runs
# with this machine's rules (lvm2's 69-lvm.rules: pvscan --cache and
# vgchange -aay on every PV that appears), and a guest disk holding a PV in
# an MBR partition is attached on the kernel bridge (/dev/nbdN, the kernel's
# partitions).
#  - control: without vixmount's rule (bridge/kernel/59-vixmount.rules) the
#    host's rules do activate the guest's VG -- the danger is real, and the
#    test can see it;
#  - with the rule installed (as make install does): nothing is activated,
#    no /dev/disk/by-uuid link points at a guest filesystem, and the LV
#    still mounts through vixmount's own device-mapper table and reads
#    right; the host's LVM state is unchanged and nothing is left.
. "$top_srcdir/tests/lib/common.sh"
need lvm sfdisk mkfs.ext4 qemu-img jq losetup udevadm dmsetup
[ -x /lib/systemd/systemd-udevd ] || bail "systemd-udevd is missing (package udev)"
[ -f /lib/udev/rules.d/69-lvm.rules ] || bail "lvm2's 69-lvm.rules is missing"
modprobe loop || bail "modprobe loop"
modprobe dm-mod || bail "modprobe dm-mod"
export VIXMOUNT_BRIDGE=kernel
CLIENT="$top_builddir/tests/mntapi-client"
LVMIMG="python3 $top_srcdir/tests/lib/lvmimg.py"
. "$top_srcdir/tests/lib/lvm.sh"
. "$top_srcdir/tests/lib/mntapi-env.sh"    # d (the cwd), rt/, vix.conf, the sanitizers' nbdkit
lvm_setup "$d/lvm"
. "$top_srcdir/tests/lib/mntapi-run.sh"

# the guest disk: MBR, one partition holding a PV of VG autovg, LV data (ext4)
truncate -s 64M U.raw
printf 'start=2048, type=8e\n' | sfdisk -q U.raw || bail "sfdisk"
read -r ps pn < <(sfdisk --json U.raw | jq -r '.partitiontable.partitions[0] | "\(.start) \(.size)"')
LP=$(losetup -f --show -o $((ps * 512)) --sizelimit $((pn * 512)) U.raw) || bail "losetup"
LOOPS+=("$LP")
lvm_devices "$LP"
{ lvmx pvcreate -q "$LP" && lvmx vgcreate -q autovg "$LP" &&
  lvmx lvcreate -q -an -Zn -L 16M -n data autovg; } > lvm.out 2>&1 || bail "lvm2: $(grep -v WARNING lvm.out)"
lvm_reports autovg r
cleanup_loops; LOOPS=()
mkdir data.d; head -c 1000000 /dev/urandom > data.d/file.bin
sum=$(sha256sum < data.d/file.bin | cut -c1-64)
mkfs.ext4 -q -F -L guestdata -d data.d data.img 16M || bail "mkfs"
uuid=$(blkid -p -s UUID -o value data.img)
$LVMIMG write r.json autovg/data data.img "$LP=U.raw:$((ps * 512))" || bail "lvmimg write"
qemu-img convert -f raw -O vmdk U.raw U.vmdk

# udevd with this machine's rules (the guest's / is the host's, under a
# tmpfs overlay: /etc/udev/rules.d is ours to change)
[ "${VIXMOUNT_VM:-}" = 1 ] || bail "runs in the guest only (tests/vm/run-in-guest): it changes udev's rules"
for r in /etc /run /usr/lib /lib; do rm -f "$r/udev/rules.d/59-vixmount.rules"; done   # an installed copy
/lib/systemd/systemd-udevd --daemon > udevd.out 2>&1 || bail "systemd-udevd: $(cat udevd.out)"
on_exit "udevadm control --exit 2>/dev/null"
udevadm settle -t 30
activated() { dmsetup ls 2>/dev/null | grep -c '^autovg-'; }
is "$(activated)" 0 "udevd runs with lvm2's 69-lvm.rules; no guest VG is active yet"

# ---- control: without our rule ------------------------------------------------------
run_client a.out --mount autovg/data U.vmdk
grep -q '^ready$' a.out; ok $? "the guest disk is attached on the kernel bridge" || diag "$(tail -5 a.out.err)"
diag "$(grep '^bridge' a.out)"
udevadm settle -t 30
for _ in $(seq 50); do [ "$(activated)" -gt 0 ] && break; sleep 0.1; done
is "$(activated)" 1 "control, without 59-vixmount.rules: the host's lvm2 rules activate the guest's VG (autovg-data)"
grep -q "udev runs here but vixmount's udev rules (59-vixmount.rules, installed by make install) are not" a.out.err
ok $? "and OpenDisks warns that the rules are missing"
# undo what the host's LVM did before vixmount lets go of the device
lvm vgchange -an autovg > vgchange.out 2>&1 || diag "vgchange -an: $(cat vgchange.out)"
udevadm settle -t 30
release a.out
is "$(leftovers)" "" "control: nothing of the set left"

# ---- with the rule, as make install puts it ----------------------------------------------
cp "$top_srcdir/bridge/kernel/59-vixmount.rules" /etc/udev/rules.d/
udevadm control --reload
lvm pvscan --cache > /dev/null 2>&1   # forget the control's PV in /run/lvm
rm -rf /run/lvm/pvs_online/* /run/lvm/vgs_online/* 2>/dev/null
host_lvm0=$(lvm_host_state)
run_client b.out --mount autovg/data U.vmdk
grep -q '^ready$' b.out; ok $? "attached again, with vixmount's rule installed" || diag "$(tail -5 b.out.err)"
dev=$(awk '$1 == "bridge" {print $5}' b.out | cut -d, -f1)
udevadm settle -t 30
sleep 1
is "$(activated)" 0 "with 59-vixmount.rules: the guest's VG is not activated"
grep -q "59-vixmount.rules" b.out.err; ok $((! $?)) "no warning about the rules now"
is "$(udevadm info -q property -n "${dev}p1" 2>/dev/null | grep -c '^DM_UDEV_DISABLE_OTHER_RULES_FLAG=1$')" 1 \
  "udev marked the PV partition ${dev}p1 as not for the host's rules"
[ -e "/dev/disk/by-uuid/$uuid" ]; ok $((! $?)) "no /dev/disk/by-uuid link to the guest's filesystem"
m=$(mounted_at b.out autovg/data)
is "$(sha256sum < "$m/file.bin" | cut -c1-64)" "$sum" "the LV mounts through vixmount's own dm table and reads right"
release b.out
is "$(leftovers)" "" "nothing of the set left"
is "$(ls /sys/block | grep -c '^dm-')" 0 "no dm device at all is left"
is "$(lvm_host_state)" "$host_lvm0" "the host's /etc/lvm, /run/lvm and /run/lock/lvm are as they were before the attach"
done_testing

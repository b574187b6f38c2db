#!/bin/bash
# The vixmount command's mounts (tests/integration/cli-mount.sh: mount,
# status, busy and forced umount, read-write, SIGTERM, cleanup after
# SIGKILL, a guest's whole tree) on the kernel bridge, in the guest: its
# leftovers also count connected /dev/nbdN devices and vixmount-* dm tables.
modprobe loop || exit 1
modprobe fuse || exit 1
export VIXMOUNT_BRIDGE=kernel
exec bash "$top_srcdir/tests/integration/cli-mount.sh"

#!/bin/bash
# libvixMntapi's C-API suite (tests/integration/mntapi.sh: volume tables
# against sfdisk/blkid, file hashes, read-write persistence, dirty journals,
# two sets at once, SIGKILL clean-up) on the kernel bridge, in the guest:
# every disk a /dev/nbdN, partitions from the kernel's scan.
modprobe loop || exit 1
export VIXMOUNT_BRIDGE=kernel
exec bash "$top_srcdir/tests/integration/mntapi.sh"

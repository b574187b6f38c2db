#!/bin/bash
# Guest inspection (tests/integration/inspect.sh: a Linux guest on LVM,
# release files of several distributions, a Windows-like set with hives,
# hostile sets) on the kernel bridge, in the guest: the system volume
# mounted from its /dev/nbdN partition or device-mapper table.
modprobe loop || exit 1
modprobe fuse || exit 1     # ntfs-3g: the guest kernel has no ntfs3
export VIXMOUNT_BRIDGE=kernel
exec bash "$top_srcdir/tests/integration/inspect.sh"

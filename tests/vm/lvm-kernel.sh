#!/bin/bash
# LVM logical volumes (tests/integration/lvm.sh: a two-disk VG with linear
# and striped LVs, a guest layout, missing PV, damaged metadata) on the
# kernel bridge, in the guest: each LV a private device-mapper table
# (linear, striped) over the set's /dev/nbdN.
modprobe loop || exit 1
export VIXMOUNT_BRIDGE=kernel
exec bash "$top_srcdir/tests/integration/lvm.sh"

# tests/lib/lvm.sh: lvm2's tools under a private configuration, to build
# guest LVM layouts on loop devices of raw images.  Source after common.sh.
#
# The host's LVM state is never read or written:
#  - LVM_SYSTEM_DIR points to a private lvm.conf (no lvmlocal.conf, no
#    profiles, no devices file) whose filter and global_filter accept the
#    test's loop devices only (lvm_devices), so host disks are not even
#    opened;
#  - no backups or archives, no hints, no udev, no dbus, no lvmlockd, no
#    dmeventd; locks in a private directory;
#  - nothing is activated: every command runs with --driverloaded n (this
#    host has no device-mapper anyway); LVs are created with -an -Zn.
#    Only lvma (guest tests, tests/vm: a kernel with device-mapper) runs
#    lvm with the driver, under the same private configuration, for what
#    lvm2 makes only through device-mapper (raid1, mirror LVs): libdevmapper
#    then creates /dev/mapper nodes itself (udev_sync = udev_rules = 0; the
#    guest sets DM_DISABLE_UDEV=1), no dmeventd monitoring.
# lvm_host_state prints a fingerprint of /etc/lvm, /run/lvm and
# /run/lock/lvm (names, sizes, contents) to compare before and after.
#
#   lvm_setup DIR          private configuration directory
#   lvm_devices DEV...     the devices lvm may see (rewrites lvm.conf)
#   lvmx CMD ARG...        e.g. lvmx pvcreate /dev/loop3
#   lvma CMD ARG...        the same with device-mapper (activation)
#   lvm_reports VG PREFIX  PREFIX.lvs.json, PREFIX.pvs.json (lvs, pvs) and
#                          PREFIX.json (tests/lib/lvmimg.py report of them)
LVMX_DIR=
lvm_setup() {
  LVMX_DIR=$1
  mkdir -p "$LVMX_DIR/etc" "$LVMX_DIR/lock" "$LVMX_DIR/backup" "$LVMX_DIR/archive"
  lvm_devices
}
lvm_devices() {
  local f= d
  for d in "$@"; do f+="\"a|^$d\$|\", "; done
  cat > "$LVMX_DIR/etc/lvm.conf" <<CONF
devices {
  filter = [ $f"r|.*|" ]
  global_filter = [ $f"r|.*|" ]
  use_devicesfile = 0
  obtain_device_list_from_udev = 0
  external_device_info_source = "none"
  hints = "none"
  multipath_component_detection = 0
  md_component_detection = 0
}
global {
  locking_dir = "$LVMX_DIR/lock"
  notify_dbus = 0
  use_lvmlockd = 0
  event_activation = 0
  system_id_source = "none"
}
backup {
  backup = 0
  archive = 0
  backup_dir = "$LVMX_DIR/backup"
  archive_dir = "$LVMX_DIR/archive"
}
activation {
  udev_sync = 0
  udev_rules = 0
  monitoring = 0
}
CONF
}
lvmx() {
  local cmd=$1; shift
  LVM_SYSTEM_DIR=$LVMX_DIR/etc LVM_SUPPRESS_FD_WARNINGS=1 \
    lvm "$cmd" --driverloaded n "$@"
}
lvma() {
  LVM_SYSTEM_DIR=$LVMX_DIR/etc LVM_SUPPRESS_FD_WARNINGS=1 lvm "$@"
}
lvm_host_state() {
  local p
  for p in /etc/lvm /run/lvm /run/lock/lvm; do
    [ -e "$p" ] || { echo "$p absent"; continue; }
    find "$p" -printf '%p %y %s %m\n' | sort
    find "$p" -type f -exec sha256sum {} + | sort
  done
}
lvm_reports() {
  lvmx lvs --reportformat json --units b --segments -o vg_name,lv_name,lv_uuid,lv_size,vg_extent_size,segtype,seg_start,seg_size,seg_pe_ranges,stripes,stripe_size "$1" > "$2.lvs.json" 2> "$2.lvs.err" || bail "lvs: $(cat "$2.lvs.err")"
  lvmx pvs --reportformat json --units b -o pv_name,pv_uuid,pe_start,vg_name > "$2.pvs.json" 2> "$2.pvs.err" || bail "pvs"
  python3 "$top_srcdir/tests/lib/lvmimg.py" report "$2.lvs.json" "$2.pvs.json" > "$2.json" || bail "lvmimg report"
}
# lvm_gvg_set ATTACH: the two-disk set of the LVM tests, made with lvm2's
# tools (nothing activated): A.raw (64M) a PV on the whole disk, B.raw
# (128M) GPT with an 8M "boot" partition and a PV; VG gvg (4M extents) with
# str (striped over both, 64 KiB chunks, 48M), lin (36M on A, extended to
# 64M on B) and onb (16M on B).  ATTACH IMG [START SECTORS] is the caller's
# loop-device function (sets $l).  Sets LA, LB (the loop devices), b1s b1n
# b2s b2n (B's partitions, in sectors) and writes the reports r1.* (lvm_reports).
lvm_gvg_set() {
  local attach=$1
  truncate -s 64M A.raw; truncate -s 128M B.raw
  sgdisk -n 1:2048:+8M -t 1:8300 -c 1:boot -n 2:0:0 -t 2:8e00 -c 2:lvm B.raw > sgdisk.out || bail "sgdisk"
  read -r b1s b1n b2s b2n < <(sfdisk --json B.raw | jq -r '[.partitiontable.partitions[] | .start, .size] | @tsv')
  "$attach" A.raw; LA=$l
  "$attach" B.raw "$b2s" "$b2n"; LB=$l
  lvm_devices "$LA" "$LB"
  { lvmx pvcreate -q "$LA" "$LB" && lvmx vgcreate -q -s 4M gvg "$LA" "$LB" &&
    lvmx lvcreate -q -an -Zn -i 2 -I 64k -L 48M -n str gvg &&
    lvmx lvcreate -q -an -Zn -L 36M -n lin gvg "$LA" &&
    lvmx lvextend -q -L 64M gvg/lin "$LB" &&
    lvmx lvcreate -q -an -Zn -L 16M -n onb gvg "$LB"; } > lvm1.out 2>&1 || bail "lvm2: $(grep -v WARNING lvm1.out)"
  lvm_reports gvg r1
}

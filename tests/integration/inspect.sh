#!/bin/bash
# Guest inspection through libvixMntapi's C API (tests/mntapi-client --os:
# VixMntapi_GetOsInfo, VixMntapi_GetVolumeInfo's in-guest mount points,
# Vixmount_Inspect).  On the host this runs on the FUSE bridge; the guest's
# tests/vm/inspect-kernel.sh runs it on the kernel bridge.
#  - a Linux guest: MBR /boot and an LVM PV holding root, home and swap (a VG
#    whose name has a dash), Debian's os-release as its relative symlink, an
#    fstab naming volumes by /dev/mapper, UUID=, LABEL=, /dev/sda1, with
#    garbage lines: GetOsInfo and each volume's guest mount points equal what
#    was written; the root stays mounted, /boot (looked at first) does not;
#  - os-release of Ubuntu, Fedora (absolute symlink), RHEL, openSUSE, and
#    the older files alone (lsb-release, redhat-release, SuSE-release,
#    debian_version), each a small disk of its own;
#  - a Windows-like set: an MBR disk with an NTFS system volume (SOFTWARE
#    and SYSTEM hives made with hivex's tools; the control set Select\Current
#    names is not the first) and a second letter, a GPT disk with a third:
#    family, versions, edition, 64-bit, the Windows directory, drive letters;
#    `vixmount mount --guest` of it mounts C: alone and names the others;
#  - hostile sets: no OS at all, a truncated SOFTWARE and a garbage SYSTEM
#    hive, os-release symlinks pointing at a host file: a clear result or
#    error, never a crash or a host file read;
#  - the VMDKs are unchanged and nothing of the sets is left.
. "$top_srcdir/tests/lib/common.sh"
need lvm sfdisk sgdisk mkfs.ext4 mkswap mkntfs ntfs-3g mkfs.vfat hivexregedit qemu-img \
  python3 jq losetup
require_root "loop devices, mounts"
CLIENT="$top_builddir/tests/mntapi-client"
LVMIMG="python3 $top_srcdir/tests/lib/lvmimg.py"
MKHIVE="python3 $top_srcdir/tests/lib/mkhive.py"
. "$top_srcdir/tests/lib/lvm.sh"
. "$top_srcdir/tests/lib/mntapi-env.sh"    # d (the cwd), rt/, vix.conf, the sanitizers' nbdkit
lvm_setup "$d/lvm"
. "$top_srcdir/tests/lib/mntapi-run.sh"
modprobe fuse 2>/dev/null   # ntfs-3g in the guest

attach() {  # IMG [START_SECTOR SECTORS]: $l, detached at exit
  if [ $# -gt 1 ]; then
    l=$(losetup -f --show -o $(($2 * 512)) --sizelimit $(($3 * 512)) "$1") || bail "losetup"
  else
    l=$(losetup -f --show "$1") || bail "losetup"
  fi
  LOOPS+=("$l")
}
osf() { grep '^os {' "$1" | cut -c4- | jq -r "$2"; }        # OUT JQ: GetOsInfo's answer
insp() { grep '^inspect {' "$1" | cut -c9- | jq -r "$2"; }  # OUT JQ: Vixmount_Inspect's
vol() { grep '^{' "$1" | jq -r "select(.name == \"$2\") | $3"; }  # OUT NAME JQ
gmp() { vol "$1" "$2" '.gmp | join(",")'; }
echo 'NAME="HOST SECRET"' > "$d/host-secret"; echo 'ID=hostsecret' >> "$d/host-secret"

# ---- a Linux guest ---------------------------------------------------------------
UBOOT=0b7e6d41-9c8f-4e2a-8d1e-5f9a2b3c4d5e
UROOT=11111111-2222-4333-8444-555555555555
UHOME=66666666-7777-4888-9999-aaaaaaaaaaaa
vg=deb-vg
truncate -s 160M L.raw
printf 'label-id: 0x5eed1234\nstart=2048, size=32768, type=83\nstart=34816, type=8e\n' \
  | sfdisk -q L.raw || bail "sfdisk"
read -r l1s l1n l2s l2n < <(sfdisk --json L.raw | jq -r '[.partitiontable.partitions[] | .start, .size] | @tsv')
attach L.raw "$l2s" "$l2n"; LP=$l
lvm_devices "$LP"
{ lvmx pvcreate -q "$LP" && lvmx vgcreate -q "$vg" "$LP" &&
  lvmx lvcreate -q -an -Zn -L 64M -n root "$vg" &&
  lvmx lvcreate -q -an -Zn -L 32M -n home "$vg" &&
  lvmx lvcreate -q -an -Zn -L 16M -n swap "$vg"; } > lvm.out 2>&1 || bail "lvm2: $(grep -v WARNING lvm.out)"
lvm_reports "$vg" r
cleanup_loops; LOOPS=()
DEVS=("$LP=L.raw:$((l2s * 512))")

# rootfs: a directory tree made into ext4 with mkfs.ext4 -d (no mount needed)
mkroot() {  # DIR: the bones of a Linux root
  mkdir -p "$1/etc" "$1/usr/lib" "$1/usr/bin" "$1/home" "$1/boot"
  ln -s usr/bin "$1/bin"
  cp /bin/dash "$1/usr/bin/sh"
}
mkroot root
cat > root/usr/lib/os-release <<'EOF'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
EOF
ln -s ../usr/lib/os-release root/etc/os-release
echo 12.4 > root/etc/debian_version
echo debguest > root/etc/hostname
{ echo "# /etc/fstab: static file system information."
  echo "/dev/mapper/deb--vg-root /               ext4    errors=remount-ro 0       1"
  echo "# /boot was on /dev/sda1 during installation"
  echo "UUID=${UBOOT^^} /boot           ext4    defaults        0       2"
  echo "LABEL=homefs    /home           ext4    defaults        0       2"
  echo "/dev/deb-vg/swap none            swap    sw              0       0"
  echo "/dev/sda1       /mnt/boot\\040again ext4 bind           0       0"
  echo "tmpfs           /tmp            tmpfs   defaults        0       0"
  echo "UUID=00000000-dead-beef-0000-000000000000 /srv ext4 defaults 0 2"
  printf 'garbage\001\002 with control bytes /x ext4\n'
  echo "only-one-field"
  echo "relative/dir notabsolute ext4"
  head -c 300 /dev/zero | tr '\0' 'x'; echo " /long ext4"
} > root/etc/fstab
mkfs.ext4 -q -F -L rootfs -U "$UROOT" -d root root.img 64M || bail "mkfs root"
mkdir -p home/user; echo "a home" > home/user/file
mkfs.ext4 -q -F -L homefs -U "$UHOME" -d home home.img 32M || bail "mkfs home"
truncate -s 16M swap.img; mkswap -q -L swap swap.img
for lv in root home swap; do $LVMIMG write r.json "$vg/$lv" $lv.img "${DEVS[@]}" || bail "write $lv"; done
mkdir -p bootfs/grub; echo "kernel" > bootfs/vmlinuz
mkfs.ext4 -q -F -L boot -U "$UBOOT" -d bootfs boot.img 16M || bail "mkfs boot"
dd if=boot.img of=L.raw bs=512 seek="$l1s" conv=notrunc status=none
qemu-img convert -f raw -O vmdk L.raw L.vmdk
sumL=$(sha256sum L.vmdk)

run_client l.out --os L.vmdk
grep -q '^ready$' l.out; ok $? "OpenDisks of the Linux guest" || diag "$(tail -5 l.out.err)"
is "$(osf l.out '"\(.family) \(.major).\(.minor) \(.is64)"')" "255 12.0 1" \
  "GetOsInfo: family VIXMNTAPI_OTHER, version 12.0, 64-bit (the ELF class of /bin/sh -> usr/bin/sh)"
is "$(osf l.out '.vendor + "|" + .edition')" "Debian GNU/Linux|" \
  "GetOsInfo: vendor from os-release NAME (a relative symlink into /usr/lib), no edition"
root_dir=$(osf l.out .osFolder)
is "$root_dir" "$(awk '/^set/ {sub("mountPath=", "", $3); print $3}' l.out)/volumes/deb--vg-root" \
  "GetOsInfo: osFolder is where the root LV is mounted"
is "$(cat "$root_dir/etc/hostname" 2>&1)" "debguest" "the root stays mounted: its files read there"
is "$(insp l.out '"\(.distribution) \(.version) \(.hostname) \(.arch) \(.systemVolume)"')" \
  "debian 12 debguest x86_64 deb-vg/root" "Inspect: distribution, version, hostname, architecture, system volume"
is "$(insp l.out .product)" "Debian GNU/Linux 12 (bookworm)" "Inspect: the product name"
is "$(insp l.out .notes)" "/etc/fstab: 4 lines not understood, skipped" \
  "Inspect: the garbage fstab lines are counted, not fatal"
is "$(gmp l.out deb-vg/root)" "/" "GetVolumeInfo: root's guest mount point (/dev/mapper/deb--vg-root)"
is "$(gmp l.out d0p1)" "/boot,/mnt/boot again" "GetVolumeInfo: /boot (UUID= in upper case) and a bind of /dev/sda1 (\\040 decoded)"
is "$(gmp l.out deb-vg/home)" "/home" "GetVolumeInfo: /home (LABEL=)"
is "$(vol l.out deb-vg/swap '"\(.numGuestMountPoints) \(.gmp | length)"')" "0 0" \
  "GetVolumeInfo: swap has no mount point"
is "$(vol l.out d0p1 .isMounted) $(vol l.out deb-vg/root .isMounted)" "0 1" \
  "/boot, looked at first, was dismounted again; the root is left mounted"
is "$(insp l.out '.volumes | to_entries | map("\(.key)=\(.value | join(","))") | join(" ")')" \
  "d0p1=/boot,/mnt/boot again d0p2= deb-vg/home=/home deb-vg/root=/ deb-vg/swap=" \
  "Inspect: every volume's guest mount points"
grep -q 'mounts UUID=00000000-dead-beef-0000-000000000000 on /srv: not a volume of this disk set' l.out.err
ok $? "an fstab entry for a disk outside the set is logged"
diag "GetOsInfo of the Linux guest took $(awk '$1 == "os-ms" {print $2}' l.out) ms (mounting /boot and the root included)"
release l.out
is "$(leftovers)" "" "nothing left of the set"
# the caller mounted the root itself first: GetOsInfo uses that mount as it is
run_client l2.out --mount deb-vg/root --os-after L.vmdk
is "$(osf l2.out .osFolder)" "$(mounted_at l2.out deb-vg/root)" \
  "GetOsInfo after the caller mounted the root: osFolder is the caller's mount"
is "$(grep -c '^mounted ' l2.out) $(grep -c 'MountVolume: deb-vg/root' l2.out.err)" "1 1" \
  "the root was mounted once, by the caller (inspection mounted only /boot, for a moment)"
release l2.out
is "$(sha256sum L.vmdk)" "$sumL" "the VMDK is unchanged"

# ---- release files of other distributions -------------------------------------
# variant NAME: a whole-disk ext4 from the tree in NAME/, its answer in NAME.out
variant() {
  mkfs.ext4 -q -F -L "$1" -d "$1" "$1.img" 8M || bail "mkfs $1"
  qemu-img convert -f raw -O vmdk "$1.img" "$1.vmdk"
  "$CLIENT" --os "$1.vmdk" > "$1.out" 2> "$1.err" || diag "$1: $(tail -3 "$1.err")"
}
mkroot ubuntu
printf 'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n' > ubuntu/usr/lib/os-release
ln -s ../usr/lib/os-release ubuntu/etc/os-release
echo "bookworm/sid" > ubuntu/etc/debian_version
variant ubuntu
is "$(osf ubuntu.out '"\(.family) \(.vendor) \(.major).\(.minor)"')" "255 Ubuntu 22.4" "Ubuntu: 22.04"
is "$(insp ubuntu.out '"\(.distribution) \(.systemVolume)"') $(gmp ubuntu.out d0)" "ubuntu d0 /" \
  "Ubuntu: a whole-disk root without fstab is still /"

mkroot fedora
printf 'NAME="Fedora Linux"\nVERSION="39 (Workstation Edition)"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39 (Workstation Edition)"\nVARIANT="Workstation Edition"\nVARIANT_ID=workstation\n' > fedora/usr/lib/os-release
ln -s /usr/lib/os-release fedora/etc/os-release
variant fedora
is "$(osf fedora.out '"\(.vendor)|\(.edition)|\(.major).\(.minor)"')" "Fedora Linux|Workstation Edition|39.0" \
  "Fedora: an absolute os-release symlink resolves inside the guest; VARIANT is the edition"

mkroot rhel
printf 'NAME="Red Hat Enterprise Linux"\nVERSION="9.3 (Plow)"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.3"\nPRETTY_NAME="Red Hat Enterprise Linux 9.3 (Plow)"\n' > rhel/usr/lib/os-release
ln -s ../usr/lib/os-release rhel/etc/os-release
echo "Red Hat Enterprise Linux release 9.3 (Plow)" > rhel/etc/redhat-release
variant rhel
is "$(osf rhel.out '"\(.vendor)|\(.major).\(.minor)"') $(insp rhel.out .distribution)" \
  "Red Hat Enterprise Linux|9.3 rhel" "RHEL 9.3"

mkroot suse
printf 'NAME="openSUSE Leap"\nVERSION="15.5"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\nPRETTY_NAME="openSUSE Leap 15.5"\n' > suse/usr/lib/os-release
ln -s ../usr/lib/os-release suse/etc/os-release
echo "suseguest.example.com" > suse/etc/HOSTNAME
variant suse
is "$(osf suse.out '"\(.vendor)|\(.major).\(.minor)"') $(insp suse.out .hostname)" \
  "openSUSE Leap|15.5 suseguest.example.com" "openSUSE Leap 15.5, hostname from /etc/HOSTNAME"

mkroot lsb; rm lsb/usr/bin/sh
printf 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\nDISTRIB_DESCRIPTION="Ubuntu 14.04.6 LTS"\n' > lsb/etc/lsb-release
variant lsb
is "$(osf lsb.out '"\(.vendor)|\(.major).\(.minor)|\(.is64)"')" "Ubuntu|14.4|0" \
  "lsb-release alone: Ubuntu 14.04 (no binary to tell 64-bit)"
mkroot rh6; echo "CentOS release 6.10 (Final)" > rh6/etc/redhat-release
variant rh6
is "$(osf rh6.out '"\(.vendor)|\(.major).\(.minor)"')" "CentOS|6.10" "redhat-release alone: CentOS 6.10"
mkroot sles; printf 'SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n' > sles/etc/SuSE-release
variant sles
is "$(osf sles.out '"\(.vendor)|\(.major).\(.minor)"')" "SUSE Linux Enterprise Server|11.4" "SuSE-release alone: SLES 11 SP4"

# hostile: os-release names the host's secret (absolute, and by ../ climbing)
mkroot evil
ln -s "$d/host-secret" evil/etc/os-release
ln -s "../../../../../../../../../../../..$d/host-secret" evil/usr/lib/os-release
ln -s "$d/host-secret" evil/etc/hostname
echo "10.13" > evil/etc/debian_version
variant evil
is "$(osf evil.out '"\(.vendor)|\(.major).\(.minor)"') $(insp evil.out '.hostname')" "Debian|10.13 null" \
  "os-release and hostname symlinks to a host file read nothing of it (debian_version answers)"
grep -q SECRET evil.out evil.err; ok $((! $?)) "no byte of the host's file appears anywhere"

# ---- a Windows-like set ---------------------------------------------------------
cat > software.reg <<'EOF'
Windows Registry Editor Version 5.00

[\Microsoft\Windows NT\CurrentVersion]
"ProductName"="Windows 10 Pro"
"EditionID"="Professional"
"CurrentVersion"="6.3"
"CurrentMajorVersionNumber"=dword:0000000a
"CurrentMinorVersionNumber"=dword:00000000
"CurrentBuild"="19045"
"SystemRoot"="C:\\WINDOWS"
EOF
GUID_E=3f2504e0-4f89-41d3-9a0c-0305e82c3301
truncate -s 128M W0.raw; truncate -s 64M W1.raw
printf 'label-id: 0x1234abcd\nstart=2048, size=131072, type=7\nstart=133120, type=c\n' | sfdisk -q W0.raw || bail "sfdisk W0"
read -r w1s w1n w2s w2n < <(sfdisk --json W0.raw | jq -r '[.partitiontable.partitions[] | .start, .size] | @tsv')
sgdisk -n 1:2048:0 -t 1:0700 -u "1:$GUID_E" W1.raw > /dev/null || bail "sgdisk W1"
e1s=$(sfdisk --json W1.raw | jq -r '.partitiontable.partitions[0].start')
# GUID bytes as Windows stores them: the first three fields little-endian
guid_hex() { python3 -c 'import uuid,sys; print(",".join("%02x" % b for b in uuid.UUID(sys.argv[1]).bytes_le))' "$1"; }
le_hex() {  # VALUE BYTES
  python3 -c 'import sys; print(",".join("%02x" % b for b in int(sys.argv[1]).to_bytes(int(sys.argv[2]), "little")))' "$1" "$2"
}
cat > system.reg <<EOF
Windows Registry Editor Version 5.00

[\\Select]
"Current"=dword:00000002
"Default"=dword:00000002
"LastKnownGood"=dword:00000001

[\\ControlSet001\\Control\\ComputerName\\ComputerName]
"ComputerName"="STALE-SET"

[\\ControlSet001\\Control\\Session Manager\\Environment]
"PROCESSOR_ARCHITECTURE"="x86"

[\\ControlSet002\\Control\\ComputerName\\ComputerName]
"ComputerName"="WINGUEST"

[\\ControlSet002\\Control\\Session Manager\\Environment]
"PROCESSOR_ARCHITECTURE"="AMD64"

[\\MountedDevices]
"\\\\DosDevices\\\\C:"=hex:cd,ab,34,12,$(le_hex $((w1s * 512)) 8)
"\\\\DosDevices\\\\D:"=hex:cd,ab,34,12,$(le_hex $((w2s * 512)) 8)
"\\\\DosDevices\\\\E:"=hex:44,4d,49,4f,3a,49,44,3a,$(guid_hex $GUID_E)
"\\\\DosDevices\\\\F:"=hex:ef,be,ad,de,00,00,10,00,00,00,00,00
"\\\\??\\\\Volume{11111111-2222-3333-4444-555555555555}"=hex:cd,ab,34,12,$(le_hex $((w1s * 512)) 8)
EOF
$MKHIVE SOFTWARE software.reg > mkhive.out 2>&1 || bail "mkhive SOFTWARE: $(cat mkhive.out)"
$MKHIVE SYSTEM system.reg > mkhive.out 2>&1 || bail "mkhive SYSTEM: $(cat mkhive.out)"
is "$(hivexregedit --export SYSTEM '\ControlSet002\Control\ComputerName\ComputerName' | grep -c ComputerName)" 2 \
  "the SYSTEM hive made with hivexregedit reads back with it"
# ntfs_img IMG SIZE LABEL [hives]: NTFS filled through ntfs-3g (FUSE) on a loop device
ntfs_img() {
  truncate -s "$2" "$1"; mkntfs -q -F -Q -L "$3" "$1" > /dev/null 2>&1 || bail "mkntfs"
  attach "$1"; mkdir -p m; ntfs-3g "$l" m || bail "ntfs-3g $1"
  if [ "${4:-}" = hives ]; then
    mkdir -p m/WINDOWS/System32/config m/Users
    cp SOFTWARE SYSTEM m/WINDOWS/System32/config/
  fi
  echo "$3" > m/volume.txt
  umount m
  cleanup_loops; LOOPS=()
}
ntfs_img c.img $((w1n * 512)) System hives
dd if=c.img of=W0.raw bs=512 seek="$w1s" conv=notrunc status=none
attach W0.raw "$w2s" "$w2n"; mkfs.vfat -n DATA "$l" > /dev/null || bail "mkfs.vfat"
e1n=$(sfdisk --json W1.raw | jq -r '.partitiontable.partitions[0].size')
attach W1.raw "$e1s" "$e1n"; mkfs.vfat -n EXTRA "$l" > /dev/null || bail "mkfs.vfat W1"
cleanup_loops; LOOPS=()
qemu-img convert -f raw -O vmdk W0.raw W0.vmdk
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized W1.raw W1.vmdk
sumW=$(sha256sum W0.vmdk W1.vmdk)
run_client w.out --os W0.vmdk W1.vmdk
grep -q '^ready$' w.out; ok $? "OpenDisks of the Windows-like set" || diag "$(tail -5 w.out.err)"
is "$(osf w.out '"\(.family) \(.major).\(.minor) \(.is64) \(.vendor)|\(.edition)"')" \
  "1 10.0 1 Microsoft|Professional" \
  "GetOsInfo: VIXMNTAPI_WINDOWS 10.0 (CurrentMajor/MinorVersionNumber), 64-bit, Microsoft, Professional"
win=$(osf w.out .osFolder)
is "$win" "$(awk '/^set/ {sub("mountPath=", "", $3); print $3}' w.out)/volumes/d0p1/WINDOWS" \
  "GetOsInfo: osFolder is the Windows directory as the volume spells it"
[ -f "$win/System32/config/SOFTWARE" ]; ok $? "and the hives are there, on the mounted system volume"
is "$(insp w.out '"\(.product)|\(.build)|\(.hostname)|\(.arch)|\(.systemVolume)|\(.version)"')" \
  "Windows 10 Pro|19045|WINGUEST|AMD64|d0p1|10.0" \
  "Inspect: product, build, and the hostname and architecture of ControlSet002 (Select\\Current), not 001"
is "$(gmp w.out d0p1) $(gmp w.out d0p2) $(gmp w.out d1p1)" "C: D: E:" \
  "drive letters: C: and D: by MBR signature and offset, E: by GPT partition GUID; F: names no volume"
is "$(insp w.out .notes)" "null" "nothing odd noted"
release w.out
is "$(leftovers)" "" "nothing left of the Windows-like set"
# vixmount mount --guest of it: the system drive on DIR, the other drives left out
export VIXMOUNT_RUNDIR=$d/run
guest_stop() {
  local f
  for f in "$VIXMOUNT_RUNDIR"/*.info; do [ -e "$f" ] && kill -9 "$(basename "$f" .info)" 2>/dev/null; done
  sleep 0.2; "$top_builddir/vixmount" cleanup "$d/rt" > /dev/null 2>&1
  grep -q " $d/wg " /proc/mounts && umount -l "$d/wg"
}
on_exit guest_stop
mkdir wg
err=$("$top_builddir/vixmount" mount --guest --config vix.conf W0.vmdk W1.vmdk wg 2>&1); rc=$?
is "$rc:$err" "0:vixmount: warning: d0p2 (D:) not mounted: a Windows guest's other drives have no place in the system drive's tree (mount it on its own)
vixmount: warning: d1p1 (E:) not mounted: a Windows guest's other drives have no place in the system drive's tree (mount it on its own)" \
  "vixmount mount --guest of the Windows-like set: the other drives are named in warnings"
is "$(cat wg/volume.txt 2>&1) $(awk -v m="$d/wg" '$2 == m || index($2, m "/") == 1 {print $2}' /proc/mounts | wc -l)" "System 1" \
  "the system drive (C:) alone is mounted, on DIR"
err=$("$top_builddir/vixmount" umount wg 2>&1); rc=$?
is "$rc:$err:$(grep -c " $d/wg" /proc/mounts)" "0::0" "vixmount umount of it"
is "$(leftovers)" "" "nothing left of the guest mount"
is "$(sha256sum W0.vmdk W1.vmdk)" "$sumW" "its VMDKs are unchanged"

# ---- hostile: a truncated SOFTWARE hive, a garbage SYSTEM hive -----------------
head -c 6000 SOFTWARE > SOFTWARE.cut; mv SOFTWARE.cut SOFTWARE
head -c 65536 /dev/urandom > SYSTEM
ntfs_img bad.img 32M Broken hives
qemu-img convert -f raw -O vmdk bad.img bad.vmdk
timeout 120 "$CLIENT" --os bad.vmdk > bad.out 2> bad.err; rc=$?
is "$rc" 0 "damaged hives: the client ends normally (no crash, no hang)"
is "$(osf bad.out '"\(.family) \(.vendor) \(.major)"')" "1 Microsoft 0" \
  "damaged hives: still Windows (its directory and hives are there), no version"
r=$(insp bad.out .notes)
case $r in *"SOFTWARE hive: cannot be read"*"SYSTEM hive: cannot be read"*) ok 0 "damaged hives: each is named in the notes";;
  *) ok 1 "damaged hives: each is named in the notes" ; diag "$r";; esac

# ---- no OS ------------------------------------------------------------------------
mkdir data; echo "just data" > data/file
mkfs.ext4 -q -F -L data -d data data.img 8M && qemu-img convert -f raw -O vmdk data.img data.vmdk
"$CLIENT" --os data.vmdk > none.out 2> none.err
is "$(awk '$1 == "os-failed" {print $2, $3}' none.out)" "24309 info-null" \
  "no OS: GetOsInfo fails with VIX_E_MNTAPI_ITEM_NOT_FOUND, *info NULL"
grep -q 'no operating system found on the disk set (looked at d0 (ext4))' none.err
ok $? "no OS: the error says what was looked at"
is "$(insp none.out '"\(.family) \(.systemVolume) \(.osFolder)"')" "0 null null" "no OS: Inspect says VIXMNTAPI_NO_OS"
is "$(vol none.out d0 .isMounted)" "0" "no OS: the volume looked at is dismounted again"
is "$(leftovers)" "" "nothing left of the hostile sets"
done_testing

#!/bin/bash
# `make install` into a DESTDIR installs the libraries, headers, pkg-config
# files, the nbdkit plugin, the commands, the man pages, the bash completion
# and the documentation; the user guide's C example (docs/examples/
# restore-file.c) compiles against the INSTALLED headers only, with
# `cc $(pkg-config --cflags --libs vixMntapi)`, and (as root) restores a file
# from a VMDK whose sha256 equals the original's.
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/vixdisklib.sh"   # VDDK_CC, VDDK_CFLAGS, ... of the build
need make man pod2man readelf qemu-img mkfs.ext4 sha256sum
T=$(scratch)
dest=$T/dest
_mkvar() { sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -1; }
expand() { local v=$1; v=${v//\$\{exec_prefix\}/$prefix}; v=${v//\$\{libdir\}/$libdir}; echo "$v"; }
prefix=$(_mkvar prefix); libdir=
libdir=$(expand "$(_mkvar libdir)"); bindir=$(expand "$(_mkvar bindir)")
plugindir=$(expand "$(_mkvar nbdkit_plugindir)")

out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" -s install DESTDIR="$dest" 2>&1)
ok $? "make install DESTDIR=..." || { sed 's/^/#   /' <<< "$out"; bail "install failed"; }
for f in "$bindir"/vixmount "$bindir"/vixmount-vmdk "$bindir"/vixmount-cleanup "$bindir"/vixmount-fuse \
         "$libdir"/libvixDiskLib.so.8 "$libdir"/libvixMntapi.so.1 \
         "$libdir"/pkgconfig/vixDiskLib.pc "$libdir"/pkgconfig/vixMntapi.pc \
         "$prefix"/include/vixmount/vixDiskLib.h "$prefix"/include/vixmount/vixDiskLibExt.h \
         "$prefix"/include/vixmount/vm_basic_types.h "$prefix"/include/vixmount/vixMntapi.h \
         "$prefix"/include/vixmount/vixMntapiExt.h \
         "$plugindir"/nbdkit-vmdk-plugin.so \
         "$prefix"/share/man/man1/vixmount.1 "$prefix"/share/man/man1/vixmount-fuse.1 \
         "$prefix"/share/man/man1/nbdkit-vmdk-plugin.1 \
         "$prefix"/share/bash-completion/completions/vixmount \
         "$prefix"/share/doc/vixmount/vixmount.schema.json "$prefix"/share/doc/vixmount/user-guide.md \
         "$prefix"/share/doc/vixmount/restore-file.c; do
  [ -e "$dest$f" ]; ok $? "installed $f"
done
[ -x "$dest$bindir/vixmount" ] && LD_LIBRARY_PATH="$dest$libdir" "$dest$bindir/vixmount" --version > /dev/null
ok $? "the installed vixmount runs"
page=$(man -l "$dest$prefix/share/man/man1/vixmount.1" 2>/dev/null)
for c in list inspect mount umount status cleanup info convert; do
  grep -q "^       $c " <<< "$page"; ok $? "vixmount(1) documents $c"
done

# the example, against the installed headers and libraries only
export PKG_CONFIG_PATH="$dest$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$("$VDDK_PKG_CONFIG" --cflags vixMntapi) && libs=$("$VDDK_PKG_CONFIG" --libs vixMntapi)
ok $? "pkg-config --cflags --libs vixMntapi: $cflags $libs"
out=$($VDDK_CC $VDDK_CFLAGS -Wall -Wextra -Werror $cflags "$top_srcdir/docs/examples/restore-file.c" \
      -o "$T/restore-file" $VDDK_LDFLAGS $libs 2>&1)
ok $? "docs/examples/restore-file.c compiles against the installed headers" || sed 's/^/#   /' <<< "$out"
readelf -d "$T/restore-file" | grep -q 'NEEDED.*\[libvixMntapi\.so\.1\]'
ok $? "it links against the soname libvixMntapi.so.1"

if [ "$(id -u)" -ne 0 ]; then
  ok 0 "# SKIP the example's run needs root (mounts)"
  done_testing
  exit 0
fi
cd "$T" || bail "cd $T"
truncate -s 32M disk.raw && mkfs.ext4 -q -F -L data disk.raw || bail mkfs
m=$T/m; mkdir -p "$m"
mount -o loop disk.raw "$m" && mkdir -p "$m/etc" && head -c 300000 /dev/urandom > "$m/etc/passwd.bak" \
  && want=$(sha256sum < "$m/etc/passwd.bak") && umount "$m" || bail "fill the disk"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw disk.vmdk || bail convert
on_exit "'$top_builddir/vixmount-cleanup' > /dev/null"
LD_LIBRARY_PATH="$dest$libdir" "$T/restore-file" d0 etc/passwd.bak disk.vmdk > restored 2> restore.err
ok $? "restore-file d0 etc/passwd.bak disk.vmdk: exit 0" || sed 's/^/#   /' restore.err
is "$(sha256sum < restored)" "$want" "the restored file has the original's sha256"
is "$(grep '^volume' restore.err)" "volume d0: ext4, 33554432 bytes at 0 on disk 0" "it lists the volume on stderr"
LD_LIBRARY_PATH="$dest$libdir" "$T/restore-file" d0 no/such/file disk.vmdk > /dev/null 2> restore.err
[[ $? = 1 && $(tail -1 restore.err) == */volumes/d0/no/such/file": No such file or directory" ]]
ok $? "a file that is not there: exit 1, $(tail -1 restore.err)"
LD_LIBRARY_PATH="$dest$libdir" "$T/restore-file" d7 x disk.vmdk > /dev/null 2> restore.err
is "$?:$(tail -1 restore.err)" "1:restore-file: no volume d7 on these disks" "a volume that is not there: exit 1"
is "$(grep -c "$T/disk.vmdk\|/run/vixmount/set-[0-9]*-[^/]*/volumes/d0 " /proc/mounts)" 0 "the example leaves no mount behind"
done_testing

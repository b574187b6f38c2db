# Shared by the libvixDiskLib client tests: install the library into a
# private DESTDIR and build tests/vixdisklib/backup-client.c against the
# installed headers only, through pkg-config, the way a third-party backup
# program is built.  Source after common.sh.
#
#   vddk_install DIR      make install-* DESTDIR=DIR (library, headers, .pc);
#                         sets VDDK_DESTDIR, VDDK_LIBDIR, VDDK_PCDIR
#   vddk_build_client DIR compiles DIR/backup-client; sets CLIENT
#   client ARGS...        runs it with LD_LIBRARY_PATH set
#   vddk_err OUTPUT       the VIX error number in "error: What: N: text"

# The build's own compiler and flags: in the sanitizer build the installed
# library is ASan/UBSan-instrumented, so the client must be too.
_mkvar() { sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -1; }
VDDK_CC=$(_mkvar CC); VDDK_CC=${VDDK_CC:-cc}
VDDK_CFLAGS=$(_mkvar CFLAGS)
VDDK_LDFLAGS=$(_mkvar LDFLAGS)
VDDK_PKG_CONFIG=$(_mkvar PKG_CONFIG); VDDK_PKG_CONFIG=${VDDK_PKG_CONFIG:-pkg-config}

vddk_install() {
  local dest=$1 out pc
  # only what a VixDiskLib client needs; MAKEFLAGS of an outer "make check"
  # must not leak into this make
  out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" -s \
        install-libLTLIBRARIES install-vixmountincludeHEADERS \
        install-pkgconfigDATA DESTDIR="$dest" 2>&1)
  local rc=$?
  ok $rc "make install (library, headers, pkg-config file) into a DESTDIR"
  [ $rc -eq 0 ] || { sed 's/^/#   /' <<<"$out"; bail "install failed"; }
  pc=$(find "$dest" -name vixDiskLib.pc | head -1)
  [ -n "$pc" ] || bail "vixDiskLib.pc not installed"
  VDDK_DESTDIR=$dest
  VDDK_PCDIR=$(dirname "$pc")
  VDDK_LIBDIR=$(dirname "$VDDK_PCDIR")
}

vddk_build_client() {
  local dir=$1 cflags libs out rc
  export PKG_CONFIG_PATH="$VDDK_PCDIR" PKG_CONFIG_SYSROOT_DIR="$VDDK_DESTDIR"
  cflags=$("$VDDK_PKG_CONFIG" --cflags vixDiskLib) && libs=$("$VDDK_PKG_CONFIG" --libs vixDiskLib)
  ok $? "pkg-config --cflags --libs vixDiskLib"
  diag "pkg-config: $cflags $libs"
  # no -I into the source tree: only what was installed
  out=$($VDDK_CC $VDDK_CFLAGS -Wall -Wextra -Werror $cflags \
        "$top_srcdir/tests/vixdisklib/backup-client.c" -o "$dir/backup-client" \
        $VDDK_LDFLAGS $libs 2>&1)
  rc=$?
  ok $rc "backup client compiles against the installed headers: cc \$(pkg-config --cflags --libs vixDiskLib)"
  [ $rc -eq 0 ] || { sed 's/^/#   /' <<<"$out"; bail "client does not build"; }
  CLIENT="$dir/backup-client"
}

client() {
  LD_LIBRARY_PATH="$VDDK_LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$CLIENT" "$@"
}

vddk_err() {
  sed -n 's/^error: [^:]*: \([0-9]*\): .*/\1/p' <<<"$1" | head -1
}

#!/bin/bash
# libvixDiskLib as its dynamic users load it (vix-api.md 3.1): dlopen() of
# the built .libs/libvixDiskLib.so.8 and dlsym() of nbdkit's VDDK plugin list
# and of VMware's sample list, one TAP line per symbol; the soname, the file
# names, and that nothing but the 43 VixDiskLib_ functions and the two
# documented Vixmount_ extensions is exported.
. "$top_srcdir/tests/lib/common.sh"
need nm readelf
DLSYM="$top_builddir/tests/vixdisklib-dlsym"
LIBS="$top_builddir/disklib/.libs"
LIB="$LIBS/libvixDiskLib.so.8"
[ -x "$DLSYM" ] || bail "$DLSYM not built"
[ -e "$LIB" ] || bail "$LIB not built"

# run_list MODE LIBRARY [env...]: one TAP line per PASS/FAIL line
run_list() {
  local mode=$1 lib=$2 out line rc
  shift 2
  out=$(env "$@" "$DLSYM" "$lib" "$mode" 2>&1)
  rc=$?
  tap_lines "$mode" <<<"$out"
  ok $rc "$mode: every symbol resolved (exit status $rc)"
}

# nbdkit: dlopen(<libdir>/libvixDiskLib.so.8, RTLD_NOW)
run_list nbdkit "$LIB"
# VMware's sample with DYNAMIC_LOADING: dlopen("libvixDiskLib.so", RTLD_LAZY)
# found through LD_LIBRARY_PATH (the unversioned development link)
run_list sample libvixDiskLib.so LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# every one of the 43 functions
run_list all "$LIB"

# soname and file names
is "$(readelf -d "$LIB" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')" \
   libvixDiskLib.so.8 "soname is libvixDiskLib.so.8"
is "$(readlink "$LIB")" libvixDiskLib.so.8.0.0 \
   "libvixDiskLib.so.8 -> libvixDiskLib.so.8.0.0 (a versioned file name)"
[ -e "$LIBS/libvixDiskLib.so" ]
ok $? "unversioned development link libvixDiskLib.so exists"

# exports: exactly the 43 VixDiskLib_ functions, nothing of the engine
exports=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TtWDdBbRr]$/ {print $3}' | sort)
is "$(grep -c '^VixDiskLib_' <<<"$exports")" 43 "exactly 43 VixDiskLib_ symbols are exported"
is "$(grep -v '^VixDiskLib_' <<<"$exports" | tr '\n' ' ')" \
   "Vixmount_DiskLibGetDiskPath Vixmount_RecordError " \
   "besides them only the documented extensions (vixDiskLibExt.h)"
[ -z "$(grep '^vmdk_\|^vx_' <<<"$exports")" ]
ok $? "no engine (vmdk_*) or internal (vx_*) symbol leaks"

# libvixMntapi: VMware's 15 VixMntapi_ functions and the extensions that
# vixMntapiExt.h declares, nothing else (no vxm_, vx_, vmdk_, no hivex)
MLIB="$top_builddir/mntapi/.libs/libvixMntapi.so.1"
mexports=$(nm -D --defined-only "$MLIB" | awk '$2 ~ /^[TtWDdBbRr]$/ {print $3}' | sort)
is "$(grep -c '^VixMntapi_' <<<"$mexports")" 15 "libvixMntapi exports exactly the 15 VixMntapi_ functions"
is "$(grep -v '^VixMntapi_' <<<"$mexports" | tr '\n' ' ')" \
   "$(grep -o '\bVixmount_[A-Za-z]*(' "$top_srcdir/mntapi/include/vixMntapiExt.h" | tr -d '(' | sort -u | tr '\n' ' ')" \
   "besides them exactly the extensions vixMntapiExt.h declares (Vixmount_Inspect, ...)"

done_testing

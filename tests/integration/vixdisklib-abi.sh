#!/bin/bash
# The public headers against the fact sheet (vix-api.md): sizeof and member
# offsets of every public struct, the value of every enum member, flag and
# error code, the prototypes of all 58 functions (tests/vixdisklib/abi.c),
# and how real programs compile against the headers (C and C++, VMware's
# sample defining VIXDISKLIB_VERSION_MAJOR itself, vix.h included first).
. "$top_srcdir/tests/lib/common.sh"
need gcc g++
ABI="$top_builddir/tests/vixdisklib-abi"
INC="$top_srcdir/disklib/include"; INC2="$top_srcdir/mntapi/include"
[ -x "$ABI" ] || bail "$ABI not built"

out=$("$ABI" 2>&1)
rc=$?
tap_lines <<<"$out"
ok $rc "vixdisklib-abi: all checks passed (exit status $rc)"

T=$(scratch)
# compile LABEL LANG FILE [flags]: the file must compile without warnings
compile() {
  local label=$1 lang=$2 file=$3 cc=gcc std=-std=gnu11 out
  shift 3
  [ "$lang" = c++ ] && { cc=g++; std=-std=c++11; }
  out=$($cc -x "$lang" $std -Wall -Wextra -Werror -I"$INC" -I"$INC2" "$@" -c "$file" \
        -o "$T/out.o" 2>&1)
  local rc=$?
  ok $rc "$label"
  [ $rc -eq 0 ] || sed 's/^/#   /' <<<"$out"
}

for h in vm_basic_types.h vixDiskLib.h vixMntapi.h; do
  printf '#include "%s"\nint vx_dummy;\n' "$h" > "$T/self.c"
  compile "$h compiles on its own (C)" c "$T/self.c" -pedantic
  compile "$h compiles on its own (C++)" c++ "$T/self.c" -pedantic
done

# The pattern of VMware's vixDiskLibSample.cpp: include both headers, then
# define the version macros, re-declare the log function type, use the API.
cat > "$T/sample.cpp" <<'EOF'
#include "vixMntapi.h"
#include "vixDiskLib.h"
#include <memory>
#define VIXDISKLIB_VERSION_MAJOR 7
#define VIXDISKLIB_VERSION_MINOR 0
typedef void (VixDiskLibGenericLogFunc)(const char *fmt, va_list args);
static void LogFunc(const char *fmt, va_list args) { (void) fmt; (void) args; }
struct DiskSetDeleter { void operator()(VixDiskSetHandleStruct *s) const { VixMntapi_CloseDiskSet(s); } };
struct VolumeDeleter { void operator()(VixVolumeHandleStruct *v) const { VixMntapi_DismountVolume(v, TRUE); } };
struct DiskDeleter { void operator()(VixDiskLibHandleStruct *d) const { VixDiskLib_Close(d); } };
int f(void) {
   VixDiskLibConnectParams cnxParams = {0};
   VixDiskLibConnection conn;
   VixError err = VixDiskLib_InitEx(VIXDISKLIB_VERSION_MAJOR, VIXDISKLIB_VERSION_MINOR,
                                    &LogFunc, &LogFunc, &LogFunc, NULL, NULL);
   if (VIX_FAILED(err)) return 1;
   err = VixDiskLib_Connect(&cnxParams, &conn);
   VixDiskLibHandle h = NULL;
   std::unique_ptr<VixDiskLibHandleStruct, DiskDeleter> disk(h);
   std::unique_ptr<VixDiskSetHandleStruct, DiskSetDeleter> set(nullptr);
   std::unique_ptr<VixVolumeHandleStruct, VolumeDeleter> vol(nullptr);
   size_t len = 0;
   if (VixDiskLib_GetMetadataKeys(h, NULL, 0, &len) != VIX_E_BUFFER_TOOSMALL) return 2;
   VixDiskLibCreateParams cp;
   cp.diskType = VIXDISKLIB_DISK_MONOLITHIC_SPARSE;
   cp.adapterType = VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
   cp.hwVersion = VIXDISKLIB_HWVERSION_WORKSTATION_5;
   cp.capacity = 100 * 2048;
   cp.logicalSectorSize = cp.physicalSectorSize = 0;
   printf("%" FMT64 "u %d\n", (uint64) cp.capacity, VIX_ERROR_CODE(err) == VIX_OK);
   VixDiskLib_Disconnect(conn);
   VixDiskLib_Exit();
   return 0;
}
EOF
compile "VMware-sample style C++ (defines VIXDISKLIB_VERSION_MAJOR after the include)" \
  c++ "$T/sample.cpp" -include stdio.h -Wno-missing-field-initializers

# A C client in the style of nbdkit: plain C, anonymous structs on the stack.
cat > "$T/client.c" <<'EOF'
#include <stdio.h>
#include "vixDiskLib.h"
#define VIXDISKLIB_VERSION_MAJOR 6
#define VIXDISKLIB_VERSION_MINOR 5
int f(void) {
  VixDiskLibConnectParams *p = VixDiskLib_AllocateConnectParams();
  VixDiskLibBlockList *bl = NULL;
  VixDiskLibInfo *info = NULL;
  char *t = VixDiskLib_GetErrorText(VIX_E_FAIL, NULL);
  (void) info; (void) bl;
  VixDiskLib_FreeErrorText(t);
  VixDiskLib_FreeConnectParams(p);
  return VIXDISKLIB_VERSION_MAJOR;
}
EOF
compile "nbdkit style C client (defines VIXDISKLIB_VERSION_MAJOR)" c "$T/client.c"

# vix.h first: the error block is skipped, no duplicate definitions.
cat > "$T/vix.c" <<'EOF'
#define _VIX_H_
#include <stdint.h>
typedef uint64_t VixError;
enum { VIX_OK = 0, VIX_E_FAIL = 1, VIX_ASYNC = 25000 };
#include "vixDiskLib.h"
VixError g = VIX_E_FAIL;
EOF
compile "with _VIX_H_ defined first the error block is skipped" c "$T/vix.c"

done_testing

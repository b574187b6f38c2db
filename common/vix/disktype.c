/* The Vix core: VixDiskLib's disk types by their VMDK createType names
 * (libvixDiskLib's Clone and Create, the vixmount command's --type). */
#include <stddef.h>
#include <strings.h>

#include "vix.h"

VixDiskLibDiskType
vx_disk_type_of (const char *create_type)
{
  static const struct { const char *n; VixDiskLibDiskType t; } m[] = {
    { "monolithicSparse", VIXDISKLIB_DISK_MONOLITHIC_SPARSE },
    { "monolithicFlat", VIXDISKLIB_DISK_MONOLITHIC_FLAT },
    { "twoGbMaxExtentSparse", VIXDISKLIB_DISK_SPLIT_SPARSE },
    { "twoGbMaxExtentFlat", VIXDISKLIB_DISK_SPLIT_FLAT },
    { "streamOptimized", VIXDISKLIB_DISK_STREAM_OPTIMIZED },
    { "vmfs", VIXDISKLIB_DISK_VMFS_FLAT },
    { "vmfsThin", VIXDISKLIB_DISK_VMFS_THIN },
    { "vmfsSparse", VIXDISKLIB_DISK_VMFS_SPARSE },
  };
  if (create_type)
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
      if (strcasecmp (create_type, m[i].n) == 0)
        return m[i].t;
  return VIXDISKLIB_DISK_UNKNOWN;
}

/* vixmount: extensions to libvixDiskLib.
 *
 * Not part of VMware's API; nothing here changes vixDiskLib.h.
 */
#ifndef VIXMOUNT_VIXDISKLIBEXT_H
#define VIXMOUNT_VIXDISKLIBEXT_H

#include "vixDiskLib.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The file a disk handle was opened from (as an absolute path, in a buffer
 * of pathLen bytes) and its open flags, VIXDISKLIB_FLAG_OPEN_READ_ONLY set
 * when the handle cannot write.  libvixMntapi's OpenDiskSet uses it. */
VixError Vixmount_DiskLibGetDiskPath(VixDiskLibHandle diskHandle, char *path,
                                     size_t pathLen, uint32 *flags);

#ifdef __cplusplus
}
#endif

#endif

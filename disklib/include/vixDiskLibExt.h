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

/* For a library layered on libvixDiskLib (libvixMntapi uses it): record
 * DETAIL (which call failed, on what, why; NULL = none) as the calling
 * thread's last failure, with CODE, so that a later
 * VixDiskLib_GetErrorText(code) on this thread returns "<fixed text of
 * code>: <detail>".  libvixDiskLib's own failures are recorded the same
 * way.  Returns CODE. */
VixError Vixmount_RecordError(VixError code, const char *detail);

#ifdef __cplusplus
}
#endif

#endif

/* vixmount: the VixError for an errno value and for an engine error code.
 * One table for libvixDiskLib and libvixMntapi, so that the two libraries
 * report the same failure with the same code (docs/vixDiskLib.md lists it). */
#ifndef VIXMOUNT_VIXCODES_H
#define VIXMOUNT_VIXCODES_H

#include <errno.h>

#include "vixDiskLib.h"
#include "vmdk.h"

static inline VixError
vx_vix_from_errno (int errnum)
{
  switch (errnum) {
  case 0: return VIX_E_FAIL;
  case ENOENT: case ENOTDIR: return VIX_E_FILE_NOT_FOUND;
  case EACCES: case EPERM: return VIX_E_FILE_ACCESS_ERROR;
  case EROFS: return VIX_E_FILE_READ_ONLY;
  case ENOSPC: case EDQUOT: return VIX_E_DISK_FULL;
  case EFBIG: return VIX_E_FILE_TOO_BIG;
  case EEXIST: case ENOTEMPTY: return VIX_E_FILE_ALREADY_EXISTS;
  case ENOMEM: return VIX_E_OUT_OF_MEMORY;
  case EMFILE: case ENFILE: return VIX_E_DISK_TOOMANYOPENFILES;
  case ENAMETOOLONG: case EILSEQ: return VIX_E_FILE_NAME_INVALID;
  case EISDIR: return VIX_E_INCORRECT_FILE_TYPE;
  case EBUSY: case ETXTBSY: return VIX_E_OBJECT_IS_BUSY;
  case EINVAL: return VIX_E_INVALID_ARG;
  case ENOTSUP: return VIX_E_NOT_SUPPORTED;
  default: return VIX_E_FILE_ERROR;
  }
}

static inline VixError
vx_vix_from_vmdk (const struct vmdk_error *e)
{
  switch (e->code) {
  case VMDK_OK: return VIX_OK;
  case VMDK_ERR_IO: return vx_vix_from_errno (e->sys_errno);
  case VMDK_ERR_NOMEM: return VIX_E_OUT_OF_MEMORY;
  case VMDK_ERR_NOENT: return VIX_E_FILE_NOT_FOUND;
  case VMDK_ERR_ACCESS: return VIX_E_FILE_ACCESS_ERROR;
  case VMDK_ERR_FORMAT: return VIX_E_DISK_INVALIDDISK;
  case VMDK_ERR_TRUNCATED: return VIX_E_DISK_NEEDSREPAIR;
  case VMDK_ERR_BOUNDS: return VIX_E_DISK_NEEDSREPAIR;
  case VMDK_ERR_UNSUPPORTED: return VIX_E_DISK_NOTSUPPORTED;
  case VMDK_ERR_PATH: return VIX_E_FILE_NAME_INVALID;
  case VMDK_ERR_CHAIN: return VIX_E_DISK_INVALIDCHAIN;
  case VMDK_ERR_CID: return VIX_E_DISK_CID_MISMATCH;
  case VMDK_ERR_LIMIT: return VIX_E_DISK_NOTSUPPORTED;
  case VMDK_ERR_RANGE: return VIX_E_DISK_OUTOFRANGE;
  case VMDK_ERR_INVAL: return VIX_E_INVALID_ARG;
  case VMDK_ERR_READONLY: return VIX_E_FILE_READ_ONLY;
  case VMDK_ERR_COMPRESSED: return VIX_E_DISK_NEEDSREPAIR;
  case VMDK_ERR_EXISTS: return VIX_E_FILE_ALREADY_EXISTS;
  case VMDK_ERR_LOCKED: return VIX_E_FILE_ALREADY_LOCKED;
  case VMDK_ERR_NOTVMDK: return VIX_E_INCORRECT_FILE_TYPE;
  default: return VIX_E_FAIL;   /* a code newer than this table */
  }
}

#endif

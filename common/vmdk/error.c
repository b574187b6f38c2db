/* vixmount VMDK engine: error reporting. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <inttypes.h>

#include "fullio.h"
#include "internal.h"

static const char *const names[] = {
  [VMDK_OK] = "VMDK_OK",
  [VMDK_ERR_IO] = "VMDK_ERR_IO",
  [VMDK_ERR_NOMEM] = "VMDK_ERR_NOMEM",
  [VMDK_ERR_NOENT] = "VMDK_ERR_NOENT",
  [VMDK_ERR_ACCESS] = "VMDK_ERR_ACCESS",
  [VMDK_ERR_FORMAT] = "VMDK_ERR_FORMAT",
  [VMDK_ERR_TRUNCATED] = "VMDK_ERR_TRUNCATED",
  [VMDK_ERR_BOUNDS] = "VMDK_ERR_BOUNDS",
  [VMDK_ERR_UNSUPPORTED] = "VMDK_ERR_UNSUPPORTED",
  [VMDK_ERR_PATH] = "VMDK_ERR_PATH",
  [VMDK_ERR_CHAIN] = "VMDK_ERR_CHAIN",
  [VMDK_ERR_CID] = "VMDK_ERR_CID",
  [VMDK_ERR_LIMIT] = "VMDK_ERR_LIMIT",
  [VMDK_ERR_RANGE] = "VMDK_ERR_RANGE",
  [VMDK_ERR_INVAL] = "VMDK_ERR_INVAL",
  [VMDK_ERR_READONLY] = "VMDK_ERR_READONLY",
  [VMDK_ERR_COMPRESSED] = "VMDK_ERR_COMPRESSED",
  [VMDK_ERR_EXISTS] = "VMDK_ERR_EXISTS",
  [VMDK_ERR_LOCKED] = "VMDK_ERR_LOCKED",
  [VMDK_ERR_NOTVMDK] = "VMDK_ERR_NOTVMDK",
};

const char *
vmdk_errcode_name (enum vmdk_errcode code)
{
  if ((unsigned) code < sizeof names / sizeof names[0] && names[code])
    return names[code];
  return "VMDK_ERR_UNKNOWN";
}

int
vmdk_errcode_errno (enum vmdk_errcode code)
{
  switch (code) {
  case VMDK_OK: return 0;
  case VMDK_ERR_NOMEM: return ENOMEM;
  case VMDK_ERR_NOENT: return ENOENT;
  case VMDK_ERR_ACCESS: return EACCES;
  case VMDK_ERR_UNSUPPORTED: return ENOTSUP;
  case VMDK_ERR_RANGE: return ERANGE;
  case VMDK_ERR_INVAL: return EINVAL;
  case VMDK_ERR_READONLY: return EROFS;
  case VMDK_ERR_LIMIT: return EFBIG;
  case VMDK_ERR_PATH: return EPERM;
  case VMDK_ERR_EXISTS: return EEXIST;
  case VMDK_ERR_LOCKED: return EBUSY;
  case VMDK_ERR_NOTVMDK: return EINVAL;
  default: return EIO;
  }
}

int
vmdk_error_errno (const struct vmdk_error *err)
{
  if (err->code == VMDK_ERR_IO && err->sys_errno > 0)
    return err->sys_errno;
  return vmdk_errcode_errno (err->code);
}

static void __attribute__ ((format (printf, 2, 0)))
vformat (struct vmdk_error *err, const char *fmt, va_list ap)
{
  vsnprintf (err->msg, sizeof err->msg, fmt, ap);
}

void
vx_err (struct vmdk_error *err, enum vmdk_errcode code, const char *fmt, ...)
{
  va_list ap;

  if (!err)
    return;
  err->code = code;
  err->sys_errno = 0;
  va_start (ap, fmt);
  vformat (err, fmt, ap);
  va_end (ap);
}

void
vx_err_errno (struct vmdk_error *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  size_t n;

  if (!err)
    return;
  switch (errnum) {
  case ENOENT: case ENOTDIR: err->code = VMDK_ERR_NOENT; break;
  case EACCES: case EPERM: err->code = VMDK_ERR_ACCESS; break;
  case ENOMEM: err->code = VMDK_ERR_NOMEM; break;
  case ELOOP: case EXDEV: err->code = VMDK_ERR_PATH; break;
  case EROFS: err->code = VMDK_ERR_READONLY; break;
  default: err->code = VMDK_ERR_IO; break;
  }
  err->sys_errno = errnum;
  va_start (ap, fmt);
  vformat (err, fmt, ap);
  va_end (ap);
  n = strlen (err->msg);
  if (n < sizeof err->msg)
    snprintf (err->msg + n, sizeof err->msg - n, ": %s", strerror (errnum));
}

int
vx_oom (struct vmdk_error *err, const char *what)
{
  vx_err (err, VMDK_ERR_NOMEM, "out of memory (%s)", what);
  return -1;
}

int
vx_pread_full (int fd, const char *path, void *buf, size_t len, uint64_t off,
               const char *what, struct vmdk_error *err)
{
  ssize_t r = vx_full_pread (fd, buf, len, off);

  if (r < 0) {
    vx_err_errno (err, errno, "%s: reading %s (%zu bytes at offset %" PRIu64 ")",
                  path, what, len, off);
    return -1;
  }
  if ((size_t) r < len) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: %s at offset %" PRIu64 " is past the end of the file",
            path, what, off + (uint64_t) r);
    return -1;
  }
  return 0;
}

int
vx_pwrite_full (int fd, const char *path, const void *buf, size_t len,
                uint64_t off, const char *what, struct vmdk_error *err)
{
  if (vx_full_pwrite (fd, buf, len, off) == -1) {
    vx_err_errno (err, errno, "%s: writing %s (%zu bytes at offset %" PRIu64 ")",
                  path, what, len, off);
    return -1;
  }
  return 0;
}

/* vixmount helpers: whole reads and writes (see fullio.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "fullio.h"

/* The loop of all four: reading into RBUF, or writing from WBUF; at the
 * current position, or at OFF if POSITIONED.  The count done, or -1. */
static ssize_t
loop (int fd, bool reading, void *rbuf, const void *wbuf, size_t len,
      bool positioned, uint64_t off)
{
  size_t done = 0;

  if (len > SSIZE_MAX || (positioned && off > INT64_MAX)) {
    errno = EINVAL;
    return -1;
  }
  while (done < len) {
    size_t n = len - done;
    off_t at = (off_t) (off + done);
    ssize_t r;

    if (reading)
      r = positioned ? pread (fd, (char *) rbuf + done, n, at)
                     : read (fd, (char *) rbuf + done, n);
    else
      r = positioned ? pwrite (fd, (const char *) wbuf + done, n, at)
                     : write (fd, (const char *) wbuf + done, n);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {
      if (reading)
        break;                  /* end of file */
      errno = EIO;              /* a write that makes no progress */
      return -1;
    }
    done += (size_t) r;
  }
  return (ssize_t) done;
}

ssize_t
vx_full_read (int fd, void *buf, size_t len)
{
  return loop (fd, true, buf, NULL, len, false, 0);
}

int
vx_full_write (int fd, const void *buf, size_t len)
{
  return loop (fd, false, NULL, buf, len, false, 0) < 0 ? -1 : 0;
}

ssize_t
vx_full_pread (int fd, void *buf, size_t len, uint64_t off)
{
  return loop (fd, true, buf, NULL, len, true, off);
}

int
vx_full_pwrite (int fd, const void *buf, size_t len, uint64_t off)
{
  return loop (fd, false, NULL, buf, len, true, off) < 0 ? -1 : 0;
}

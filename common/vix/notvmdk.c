/* vixmount Vix core: is a file that the engine refused a VMDK at all?
 *
 * The engine reports "no sparse magic and too large for a descriptor" as
 * VMDK_ERR_LIMIT and "descriptor line 1 is neither key=value nor an extent"
 * as VMDK_ERR_FORMAT: the same codes as a real descriptor over the size cap
 * or a damaged header.  The Vix libraries answer "this is not a disk"
 * (VIX_E_INCORRECT_FILE_TYPE) only for files that carry nothing of a VMDK
 * in their first 4 KiB: no sparse header magic (KDMV, COWD, seSparse) and no
 * descriptor marker (a createType line, the "Disk DescriptorFile" header, an
 * extent description, a ddb. key).  Everything else keeps its engine code.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "vix.h"

#define HEAD_BYTES 4096

static const char *const markers[] = {
  "createType", "DescriptorFile", "Extent description", "ddb.",
};

/* Case-insensitive search in a buffer that may hold NUL bytes. */
static bool
has_marker (const char *buf, size_t len, const char *m)
{
  size_t n = strlen (m);

  for (size_t i = 0; i + n <= len; i++)
    if (strncasecmp (buf + i, m, n) == 0)
      return true;
  return false;
}

bool
vx_is_foreign_file (const char *path, const struct vmdk_error *e)
{
  char head[HEAD_BYTES];
  ssize_t got;
  int fd;

  if (e->code != VMDK_ERR_FORMAT && e->code != VMDK_ERR_LIMIT)
    return false;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return false;
  got = pread (fd, head, sizeof head, 0);
  close (fd);
  if (got < 0)
    return false;
  if (got >= 4 && (memcmp (head, "KDMV", 4) == 0
                   || memcmp (head, "COWD", 4) == 0))
    return false;
  if (got >= 8 && memcmp (head, "\xbe\xba\xfe\xca\0\0\0\0", 8) == 0)
    return false;
  for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++)
    if (has_marker (head, (size_t) got, markers[i]))
      return false;
  return true;
}

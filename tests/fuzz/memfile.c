/* tests/fuzz/memfile.c: the memory file the harnesses hand to parsers
 * that open by name, the failure report and string checks (fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

void
fuzz_fail (const char *file, int line, const char *what)
{
  fprintf (stderr, "%s:%d: check failed: %s\n", file, line, what);
  fflush (stderr);
  abort ();
}

size_t
fuzz_touch (const char *s)
{
  static volatile size_t sink;

  if (!s)
    return 0;
  sink = strlen (s);
  return sink;
}

const char *
fuzz_memfile (const void *data, size_t size)
{
  static int fd = -1;
  static char name[64];
  const char *p = data;

  if (fd < 0) {
    fd = memfd_create ("fuzz-input", MFD_CLOEXEC);
    FUZZ_CHECK (fd >= 0);
    snprintf (name, sizeof name, "/proc/self/fd/%d", fd);
  }
  /* a writable open of the last input may have grown or changed it */
  FUZZ_CHECK (ftruncate (fd, 0) == 0);
  for (size_t done = 0; done < size; ) {
    ssize_t n = pwrite (fd, p + done, size - done, (off_t) done);
    FUZZ_CHECK (n > 0);
    done += (size_t) n;
  }
  return name;
}

/* vixmount mount layer: where sets live, and each set's journal ("state"):
 * every resource written down before it is created, one line per write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

/* The logger of libvixMntapi: it lives here, in the lowest part that logs;
 * VixMntapi_Init configures it (the caller's callbacks, level, log file). */
struct vx_logger vxm_logger = VX_LOGGER_INIT ("VixMntapi: ", "vixMntapi");

char *
vxm_base_dir (const char *tmp)
{
  char *s = NULL;
  const char *xdg = getenv ("XDG_RUNTIME_DIR");

  if (tmp && *tmp) {
    if (asprintf (&s, "%s/vixmount", tmp) < 0) s = NULL;
  }
  else if (geteuid () == 0)
    s = strdup ("/run/vixmount");
  else if (xdg && *xdg) {
    if (asprintf (&s, "%s/vixmount", xdg) < 0) s = NULL;
  }
  else if (asprintf (&s, "/tmp/vixmount-%u", (unsigned) geteuid ()) < 0)
    s = NULL;
  return s;
}

int
vxm_state_create (const char *base, struct vxm_state *st, char *err, size_t errlen)
{
  char *tmpl = NULL, path[PATH_MAX];

  st->dir = NULL;
  st->fd = -1;
  if (mkdir (base, 0700) == -1 && errno != EEXIST) {
    snprintf (err, errlen, "cannot create %s: %s", base, strerror (errno));
    return -1;
  }
  if (asprintf (&tmpl, "%s/set-%d-XXXXXX", base, (int) getpid ()) < 0)
    return -1;
  if (!mkdtemp (tmpl)) {
    snprintf (err, errlen, "cannot create a set directory in %s: %s", base, strerror (errno));
    free (tmpl);
    return -1;
  }
  st->dir = tmpl;
  snprintf (path, sizeof path, "%s/state", st->dir);
  st->fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (st->fd < 0) {
    snprintf (err, errlen, "cannot create %s: %s", path, strerror (errno));
    rmdir (st->dir);
    free (st->dir);
    st->dir = NULL;
    return -1;
  }
  return vxm_state_add (st, "owner %d %llu", (int) getpid (), vxm_proc_start (getpid ()));
}

int
vxm_state_add (struct vxm_state *st, const char *fmt, ...)
{
  char line[PATH_MAX + 64];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (line, sizeof line - 1, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t) n >= sizeof line - 1 || strchr (line, '\n'))
    return -1;
  line[n++] = '\n';
  /* one write: lines never interleave, a crash never leaves half an entry
   * that parses as something else */
  if (write (st->fd, line, (size_t) n) != n)
    return -1;
  return fdatasync (st->fd);
}

void
vxm_state_close (struct vxm_state *st)
{
  if (st->fd >= 0)
    close (st->fd);
  st->fd = -1;
  free (st->dir);
  st->dir = NULL;
}


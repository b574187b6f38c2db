/* libvixMntapi: Init/Exit, the configuration file, logging, and the
 * clean-up of sets whose owner died. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

pthread_mutex_t vxm_glock = PTHREAD_MUTEX_INITIALIZER;
struct vxm_global vxm_g = { .level = 3 };

/* ---- logging ---------------------------------------------------------------- */

static void
call (VixDiskLibGenericLogFunc *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  f (fmt, ap);
  va_end (ap);
}

static void
log_out (int level, const char *msg)
{
  VixDiskLibGenericLogFunc *f = level <= 1 ? (level == 0 && vxm_g.panic ? vxm_g.panic : vxm_g.warn)
    : level == 2 ? vxm_g.warn : vxm_g.log;
  if (f)
    call (f, "%s\n", msg);
  else
    fprintf (stderr, "vixMntapi: %s\n", msg);
}

VixError
vxm_fail (VixError code, const char *fmt, ...)
{
  char msg[2048];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  vxm_log (1, "%s", msg);
  return code;
}

/* ---- config ------------------------------------------------------------------- */

/* The keys that matter here: tmpDirectory and the log level.  Format: one
 * "name = value" per line, value optionally quoted, '#' comments. */
static VixError
read_config (const char *path)
{
  FILE *f;
  char line[4096];

  if (!path)
    return VIX_OK;
  f = fopen (path, "re");
  if (!f)
    return vxm_fail (VIX_E_FILE_NOT_FOUND, "Init: configuration file %s: %s", path,
                 strerror (errno));
  while (fgets (line, sizeof line, f)) {
    char *k = line, *eq, *v, *e;
    while (*k == ' ' || *k == '\t') k++;
    if (*k == '#' || !(eq = strchr (k, '=')))
      continue;
    for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--) ;
    *e = '\0';
    v = eq + 1;
    while (*v == ' ' || *v == '\t') v++;
    v[strcspn (v, "\r\n")] = '\0';
    for (e = v + strlen (v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) *--e = '\0', e++;
    if (*v == '"') {
      v++;
      if ((e = strchr (v, '"'))) *e = '\0';
    }
    if (!strcasecmp (k, "tmpDirectory")) {
      free (vxm_g.tmpdir);
      vxm_g.tmpdir = strdup (v);
    }
    else if (!strcasecmp (k, "vixMntapi.LogLevel") || !strcasecmp (k, "vixDiskLib.transport.LogLevel"))
      vxm_g.level = atoi (v);
    else
      vxm_log (5, "Init: %s: ignoring key %s", path, k);
  }
  fclose (f);
  return VIX_OK;
}

/* ---- Init / Exit --------------------------------------------------------------- */

API VixError
VixMntapi_Init (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log,
                VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic,
                const char *libDir, const char *configFile)
{
  VixError e;
  int n;

  (void) libDir;     /* nothing to load from it */
  if (majorVersion != VIXMNTAPI_MAJOR_VERSION)
    return vxm_fail (VIX_E_MNTAPI_INCOMPATIBLE_VERSION,
                 "Init: version %u.%u requested; this library implements %d.%d",
                 majorVersion, minorVersion, VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION);
  pthread_mutex_lock (&vxm_glock);
  vxm_g.log = log;
  vxm_g.warn = warn;
  vxm_g.panic = panic;
  vxm_log_set (log_out, vxm_g.level);
  e = read_config (configFile);
  if (e == VIX_OK) {
    vxm_log_set (log_out, vxm_g.level);
    free (vxm_g.base);
    vxm_g.base = vxm_base_dir (vxm_g.tmpdir);
    if (!vxm_g.base)
      e = VIX_E_OUT_OF_MEMORY;
  }
  if (e == VIX_OK) {
    n = vxm_cleanup_stale (vxm_g.base);
    if (n > 0)
      vxm_log (2, "Init: removed %d disk set(s) left behind by processes that died", n);
    vxm_g.init = true;
  }
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

API void
VixMntapi_Exit (void)
{
  pthread_mutex_lock (&vxm_glock);
  while (vxm_sets) {
    vxm_log (2, "Exit: closing a disk set that is still open (%s)", vxm_sets->st.dir);
    vxm_close_set (vxm_sets);
  }
  vxm_g.init = false;
  free (vxm_g.tmpdir);
  free (vxm_g.base);
  vxm_g.tmpdir = vxm_g.base = NULL;
  pthread_mutex_unlock (&vxm_glock);
}

API int
Vixmount_CleanupStale (const char *tmpDirectory)
{
  char *base = vxm_base_dir (tmpDirectory);
  int n;
  if (!base)
    return -1;
  n = vxm_cleanup_stale (base);
  free (base);
  return n;
}


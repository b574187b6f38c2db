/* libvixDiskLib: Init, InitEx, Exit, transport modes, Cleanup.
 *
 * InitEx starts no threads and opens nothing but an optional log file, so
 * a process may fork after it (nbdkit-style daemons do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "vixDiskLibExt.h"

struct vx_global vx_g = { .cfg = VX_CONFIG_INIT };
struct vx_logger vx_dl_logger = VX_LOGGER_INIT ("VixDiskLib: ", "vixDiskLib");
const struct vx_reporter vx_dl_reporter = { &vx_dl_logger,
                                            Vixmount_RecordError };
pthread_mutex_t vx_big_lock = PTHREAD_MUTEX_INITIALIZER;

char *
vx_strdup (const char *s)
{
  return s ? strdup (s) : NULL;
}

bool
vx_range_ok (uint64_t start, uint64_t count, uint64_t capacity)
{
  return start <= capacity && count <= capacity - start;
}

bool
vx_version_at_least (uint32_t major, uint32_t minor)
{
  return vx_g.major > major || (vx_g.major == major && vx_g.minor >= minor);
}

VixError
vx_require_init (const char *fn)
{
  bool ok;

  pthread_mutex_lock (&vx_big_lock);
  ok = vx_g.initialized;
  pthread_mutex_unlock (&vx_big_lock);
  if (ok)
    return VIX_OK;
  return vx_fail (VIX_E_DISK_NOINIT, "%s: VixDiskLib_InitEx has not been called "
                  "(or VixDiskLib_Exit was called)", fn);
}

VX_API VixError
VixDiskLib_InitEx (uint32 majorVersion, uint32 minorVersion,
                   VixDiskLibGenericLogFunc *log,
                   VixDiskLibGenericLogFunc *warn,
                   VixDiskLibGenericLogFunc *panic,
                   const char *libDir, const char *configFile)
{
  VixError err;

  pthread_mutex_lock (&vx_big_lock);
  if (vx_g.initialized) {
    /* Idempotent: keep the first call's settings. */
    pthread_mutex_unlock (&vx_big_lock);
    vx_log (VX_VERBOSE, "InitEx: already initialised (API %u.%u); ignoring "
            "the repeated call", vx_g.major, vx_g.minor);
    return VIX_OK;
  }
  vx_log_configure (&vx_dl_logger, log, warn, panic);

  if (majorVersion < 1 || majorVersion > VX_OUR_MAJOR) {
    pthread_mutex_unlock (&vx_big_lock);
    err = vx_fail (VIX_E_NOT_SUPPORTED, "InitEx: API version %u.%u requested; "
                   "this library implements versions 1.0 to %d.%d",
                   majorVersion, minorVersion, VX_OUR_MAJOR, VX_OUR_MINOR);
    vx_log_reset (&vx_dl_logger);
    return err;
  }

  /* VMware carries on without an unreadable file; so do we, loudly. */
  vx_config_load (&vx_dl_reporter, "InitEx", configFile, &vx_g.cfg);
  vx_config_apply (&vx_dl_logger, "InitEx", &vx_g.cfg, vx_g.cfg.log_level);

  vx_g.major = majorVersion;
  vx_g.minor = minorVersion;
  vx_g.initialized = true;
  pthread_mutex_unlock (&vx_big_lock);

  vx_log (VX_INFO, "InitEx: vixmount libvixDiskLib (API %d.%d, local files "
          "only) initialised for API %u.%u; libDir %s ignored", VX_OUR_MAJOR,
          VX_OUR_MINOR, majorVersion, minorVersion, libDir ? libDir : "(null)");
  return VIX_OK;
}

VX_API VixError
VixDiskLib_Init (uint32 majorVersion, uint32 minorVersion,
                 VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
                 VixDiskLibGenericLogFunc *panic, const char *libDir)
{
  return VixDiskLib_InitEx (majorVersion, minorVersion, log, warn, panic,
                            libDir, NULL);
}

VX_API void
VixDiskLib_Exit (void)
{
  void **conns;
  size_t n;

  pthread_mutex_lock (&vx_big_lock);
  if (!vx_g.initialized) {
    pthread_mutex_unlock (&vx_big_lock);
    return;
  }
  /* Whatever the caller left open: close it (and say so). */
  vx_close_disks_of (NULL);
  conns = vx_handle_list (VX_KIND_CONN, &n);
  if (n)
    vx_log (VX_WARNING, "Exit: %zu connection(s) still open; disconnecting", n);
  for (size_t i = 0; i < n; i++) {
    struct vx_conn *c = conns[i];
    VixError e;
    if (vx_handle_retire (c->tok, VX_KIND_CONN, &e) == c)
      vx_conn_destroy (c);
  }
  free (conns);
  vx_handle_reset ();
  vx_config_free (&vx_g.cfg);
  vx_g.initialized = false;
  vx_g.major = vx_g.minor = 0;
  pthread_mutex_unlock (&vx_big_lock);
  vx_log (VX_INFO, "Exit: done");
  vx_log_reset (&vx_dl_logger);
}

VX_API const char *
VixDiskLib_ListTransportModes (void)
{
  return "file";
}

VX_API VixError
VixDiskLib_Cleanup (const VixDiskLibConnectParams *connectParams,
                    uint32 *numCleanedUp, uint32 *numRemaining)
{
  (void) connectParams;
  /* Only advanced transports (SAN, HotAdd) leave state behind. */
  if (numCleanedUp)
    *numCleanedUp = 0;
  if (numRemaining)
    *numRemaining = 0;
  return VIX_OK;
}

/* libvixMntapi: Init/Exit, the library's logger and reporter, and the
 * clean-up of sets whose owner died.
 *
 * The configuration file is the Vix core's (common/vix/config.c), read and
 * applied as VixDiskLib_InitEx does; this library's own level key,
 * vixMntapi.LogLevel, wins over vixDiskLib.transport.LogLevel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

pthread_mutex_t vxm_glock = PTHREAD_MUTEX_INITIALIZER;
struct vxm_global vxm_g;
const struct vx_reporter vxm_reporter = { &vxm_logger, Vixmount_RecordError };

/* ---- Init / Exit --------------------------------------------------------------- */

API VixError
VixMntapi_Init (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log,
                VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic,
                const char *libDir, const char *configFile)
{
  struct vx_config cfg = VX_CONFIG_INIT;
  VixError e = VIX_OK;
  int n;

  pthread_mutex_lock (&vxm_glock);
  vx_log_configure (&vxm_logger, log, warn, panic);
  if (majorVersion != VIXMNTAPI_MAJOR_VERSION) {
    pthread_mutex_unlock (&vxm_glock);
    e = vxm_fail (VIX_E_MNTAPI_INCOMPATIBLE_VERSION,
                  "Init: version %u.%u requested; this library implements %d.%d",
                  majorVersion, minorVersion, VIXMNTAPI_MAJOR_VERSION,
                  VIXMNTAPI_MINOR_VERSION);
    vx_log_reset (&vxm_logger);
    return e;
  }
  vx_config_load (&vxm_reporter, "Init", configFile, &cfg);
  vx_config_apply (&vxm_logger, "Init", &cfg, cfg.mntapi_log_level >= 0
                   ? cfg.mntapi_log_level : cfg.log_level);
  vxm_g.bridge = cfg.bridge;
  vxm_g.direct_read = cfg.direct_read;
  free (vxm_g.tmpdir);
  vxm_g.tmpdir = cfg.tmp_directory;     /* taken over */
  cfg.tmp_directory = NULL;
  vx_config_free (&cfg);
  free (vxm_g.base);
  vxm_g.base = vxm_base_dir (vxm_g.tmpdir);
  if (!vxm_g.base)
    e = vxm_fail (VIX_E_OUT_OF_MEMORY, "Init: out of memory");
  if (e == VIX_OK) {
    n = vxm_cleanup_stale (vxm_g.base);
    if (n > 0)
      vx_log (VX_WARNING, "Init: removed %d disk set(s) left behind by processes that died", n);
    vxm_g.init = true;
    vx_log (VX_INFO, "Init: vixmount libvixMntapi (API %d.%d) initialised; disk "
            "sets in %s; libDir %s ignored", VIXMNTAPI_MAJOR_VERSION,
            VIXMNTAPI_MINOR_VERSION, vxm_g.base, libDir ? libDir : "(null)");
  }
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

API void
VixMntapi_Exit (void)
{
  pthread_mutex_lock (&vxm_glock);
  while (vxm_sets) {
    vx_log (VX_WARNING, "Exit: closing a disk set that is still open (%s)", vxm_sets->st.dir);
    vxm_close_set (vxm_sets);
  }
  vxm_g.init = false;
  free (vxm_g.tmpdir);
  free (vxm_g.base);
  vxm_g.tmpdir = vxm_g.base = NULL;
  pthread_mutex_unlock (&vxm_glock);
  vx_log_reset (&vxm_logger);
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


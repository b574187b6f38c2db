/* vixmount kernel bridge: device-mapper tables through libdevmapper.
 *
 * Our devices are private: their names and uuids carry the owner's prefix
 * (never a name the host's LVM or cryptsetup would make), udev is told to
 * run none of its other rules on them (no blkid probe, no LVM
 * auto-activation of a guest's PVs), and we use the kernel's own node
 * /dev/dm-N rather than a /dev/mapper link that only udev or libdevmapper
 * make.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libdevmapper.h>
#include <linux/dm-ioctl.h>   /* DM_NAME_LEN, DM_UUID_LEN */

#include "kernel.h"

extern char **environ;

/* libdevmapper reports through a logging callback: keep its last error
 * for our message instead of letting it print to the caller's stderr. */
static __thread char dm_last[256];

static void __attribute__ ((format (printf, 5, 6)))
dm_logger (int level, const char *file, int line, int dm_errno, const char *f, ...)
{
  va_list ap;
  (void) file; (void) line; (void) dm_errno;
  if ((level & 7) > 3)          /* _LOG_ERR is 3: keep errors only */
    return;
  va_start (ap, f);
  vsnprintf (dm_last, sizeof dm_last, f, ap);
  va_end (ap);
}

static void
dm_setup (void)
{
  dm_log_with_errno_init (dm_logger);
  dm_last[0] = '\0';
}

static const char *
dm_why (void)
{
  return dm_last[0] ? dm_last : strerror (errno ? errno : EIO);
}

bool
vxk_dm_usable (bool try_load)
{
  struct stat st;
  if (stat ("/dev/mapper/control", &st) == 0)
    return true;
  if (try_load) {
    posix_spawn_file_actions_t fa;
    char *argv[] = { (char *) "modprobe", (char *) "dm-mod", NULL };
    pid_t pid;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2 (&fa, 1, 2);
    if (posix_spawnp (&pid, "modprobe", &fa, NULL, argv, environ) == 0)
      waitpid (pid, NULL, 0);
    posix_spawn_file_actions_destroy (&fa);
  }
  return stat ("/dev/mapper/control", &st) == 0;
}

/* Run a task with udev's other rules disabled, waiting for udev where it
 * runs (libdevmapper makes the nodes itself where it does not). */
static int
run_task (struct dm_task *t)
{
  uint32_t cookie = 0;
  uint16_t flags = DM_UDEV_DISABLE_DISK_RULES_FLAG | DM_UDEV_DISABLE_OTHER_RULES_FLAG;
  int r;

  if (!dm_task_set_cookie (t, &cookie, flags))
    return 0;
  r = dm_task_run (t);
  dm_udev_wait (cookie);
  return r;
}

bool
vxk_dm_exists (const char *name)
{
  struct dm_task *t;
  struct dm_info info;
  bool r = false;

  dm_setup ();
  if (!(t = dm_task_create (DM_DEVICE_INFO)))
    return false;
  if (dm_task_set_name (t, name) && dm_task_run (t) && dm_task_get_info (t, &info))
    r = info.exists != 0;
  dm_task_destroy (t);
  return r;
}

int
vxk_dm_create (const char *name, const char *uuid, const struct vxk_dm_target *tg,
               size_t n, bool readonly, char *dev, size_t devlen, char *err, size_t errlen)
{
  struct dm_task *t;
  struct dm_info info;
  int ok;

  dm_setup ();
  if (strlen (name) >= DM_NAME_LEN || (uuid && strlen (uuid) >= DM_UUID_LEN)) {
    snprintf (err, errlen, "device-mapper %s: name or uuid too long", name);
    errno = ENAMETOOLONG;
    return -1;
  }
  if (!(t = dm_task_create (DM_DEVICE_CREATE))) {
    snprintf (err, errlen, "device-mapper %s: %s", name, dm_why ());
    return -1;
  }
  ok = dm_task_set_name (t, name) && (!uuid || dm_task_set_uuid (t, uuid))
    && (!readonly || dm_task_set_ro (t));
  for (size_t i = 0; ok && i < n; i++)
    ok = dm_task_add_target (t, tg[i].start, tg[i].length, tg[i].type, tg[i].params);
  /* CREATE with a table loads and resumes it in one task */
  ok = ok && run_task (t) && dm_task_get_info (t, &info) && info.exists;
  dm_task_destroy (t);
  if (!ok) {
    int e = errno ? errno : EIO;
    snprintf (err, errlen, "device-mapper: cannot create %s: %s", name, dm_why ());
    vxk_dm_remove (name, false, (char[64]) { 0 }, 64);   /* a half-made device */
    errno = e;
    return -1;
  }
  snprintf (dev, devlen, "/dev/dm-%u", info.minor);
  /* devtmpfs makes the node when the disk is added; be sure it is ours */
  for (int k = 0; k < 200; k++) {
    struct stat st;
    if (stat (dev, &st) == 0 && S_ISBLK (st.st_mode)
        && major (st.st_rdev) == (unsigned) info.major
        && minor (st.st_rdev) == (unsigned) info.minor)
      return 0;
    nanosleep (&(struct timespec) { 0, 10 * 1000 * 1000 }, NULL);
  }
  snprintf (err, errlen, "device-mapper %s: no node %s for %u:%u", name, dev, info.major,
            info.minor);
  vxk_dm_remove (name, false, (char[64]) { 0 }, 64);
  errno = ENODEV;
  return -1;
}

int
vxk_dm_remove (const char *name, bool deferred, char *err, size_t errlen)
{
  for (int attempt = 0; ; attempt++) {
    struct dm_task *t;
    int ok;
    dm_setup ();
    if (!vxk_dm_exists (name))
      return 0;
    if (!(t = dm_task_create (DM_DEVICE_REMOVE))) {
      snprintf (err, errlen, "device-mapper %s: %s", name, dm_why ());
      return -1;
    }
    /* retry_remove: libdevmapper retries a few times while a prober
     * (udev's blkid, say) briefly holds the device open.  A deferred
     * removal instead has the kernel remove a device still open when its
     * last opener (a prober, a lazily unmounted filesystem) closes it. */
    ok = dm_task_set_name (t, name)
      && (deferred ? dm_task_deferred_remove (t) : dm_task_retry_remove (t)) && run_task (t);
    dm_task_destroy (t);
    for (int k = 0; ok && deferred && k < 50 && vxk_dm_exists (name); k++)
      nanosleep (&(struct timespec) { 0, 20 * 1000 * 1000 }, NULL);
    if (ok && !vxk_dm_exists (name))
      return 0;
    if (ok && deferred)
      return 1;
    if (attempt == 2) {
      snprintf (err, errlen, "device-mapper: cannot remove %s: %s", name,
                ok ? "it still exists" : dm_why ());
      errno = EBUSY;
      return -1;
    }
    nanosleep (&(struct timespec) { 0, 200 * 1000 * 1000 }, NULL);
  }
}

int
vxk_dm_remove_prefix (const char *prefix, bool deferred)
{
  struct dm_task *t;
  struct dm_names *names;
  char todo[64][DM_NAME_LEN];
  size_t n = 0, len = strlen (prefix);
  int left = 0;

  dm_setup ();
  if (!(t = dm_task_create (DM_DEVICE_LIST)))
    return 0;
  if (dm_task_run (t) && (names = dm_task_get_names (t)) && names->dev) {
    for (;;) {
      if (strncmp (names->name, prefix, len) == 0) {
        if (n < 64)
          snprintf (todo[n++], DM_NAME_LEN, "%s", names->name);
        else
          left++;
      }
      if (!names->next)
        break;
      names = (struct dm_names *) ((char *) names + names->next);
    }
  }
  dm_task_destroy (t);
  /* devices stacked on others of ours go first: newest names sort last,
   * so remove in reverse, twice */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = n; i-- > 0; )
      if (todo[i][0]) {
        char err[256];
        if (vxk_dm_remove (todo[i], deferred, err, sizeof err) >= 0)
          todo[i][0] = '\0';
      }
  for (size_t i = 0; i < n; i++)
    left += todo[i][0] != '\0';
  return left;
}

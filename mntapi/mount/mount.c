/* vixmount mount layer: mounting one volume's block device.
 *
 * The filesystem type is the one discovery found (never kernel auto-detect),
 * from an allow-list; nosuid,nodev always, noexec for read-only mounts.
 * Kernel drivers are used through libmount; where the kernel has no driver
 * (ENODEV), FUSE drivers take over: ntfs-3g for NTFS, fusefat for FAT.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <libmount.h>

#include "mount.h"
#include "runtime.h"

/* Options for a filesystem type and mode.  how: see mount.h. */
static void
options_for (const char *fstype, enum vxm_mount_mode how, char *buf, size_t len)
{
  const char *extra = "";
  bool ro = how != VXM_RW;

  if (how == VXM_RO_NO_REPLAY) {
    if (!strncmp (fstype, "ext", 3)) extra = ",noload";
    else if (!strcmp (fstype, "xfs")) extra = ",norecovery";
    else if (!strcmp (fstype, "btrfs")) extra = ",rescue=nologreplay";
  }
  snprintf (buf, len, "%s,nosuid,nodev%s%s%s", ro ? "ro" : "rw", ro ? ",noexec" : "",
            !strcmp (fstype, "xfs") ? ",nouuid" : "", extra);
}

static int
kernel_mount (const char *dev, const char *dir, const char *fstype, const char *opts,
              char *err, size_t errlen, int *sys_errno)
{
  struct libmnt_context *cxt = mnt_new_context ();
  int rc, ret = -1;

  *sys_errno = 0;
  if (!cxt) {
    snprintf (err, errlen, "out of memory");
    return -1;
  }
  mnt_context_disable_helpers (cxt, 1);     /* the kernel driver, nothing else */
  if (mnt_context_set_source (cxt, dev) || mnt_context_set_target (cxt, dir)
      || mnt_context_set_fstype (cxt, fstype) || mnt_context_set_options (cxt, opts)) {
    snprintf (err, errlen, "cannot set up the mount context");
    goto out;
  }
  rc = mnt_context_mount (cxt);
  if (rc == 0 && mnt_context_get_status (cxt) == 1) {
    ret = 0;
    goto out;
  }
  *sys_errno = mnt_context_get_syscall_errno (cxt);
  {
    char buf[BUFSIZ] = "";
    mnt_context_get_excode (cxt, rc, buf, sizeof buf);
    snprintf (err, errlen, "mount -t %s -o %s %s %s: %s", fstype, opts, dev, dir,
              *buf ? buf : *sys_errno ? strerror (*sys_errno) : "failed");
  }
 out:
  mnt_free_context (cxt);
  return ret;
}

/* A FUSE driver: it daemonizes once the filesystem is mounted. */
static int
fuse_mount (const char *prog, const char *dev, const char *dir, const char *opts,
            const char *log, char *err, size_t errlen)
{
  char *argv[] = { (char *) prog, (char *) "-o", (char *) opts, (char *) dev, (char *) dir, NULL };
  char path[64];
  pid_t pid;
  int status;

  snprintf (path, sizeof path, "/usr/bin/%s", prog);
  if (access (path, X_OK) != 0)
    snprintf (path, sizeof path, "/bin/%s", prog);
  argv[0] = path;
  pid = vxm_spawn (argv, log);
  if (pid < 0) {
    snprintf (err, errlen, "%s: %s (install its Debian package)", prog, strerror (errno));
    return -1;
  }
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0
      || !vxm_is_mountpoint (dir)) {
    snprintf (err, errlen, "%s could not mount %s: %s", prog, dev, vxm_log_tail (log));
    return -1;
  }
  return 0;
}

int
vxm_mount (const char *dev, const char *dir, const char *fstype,
           enum vxm_mount_mode how, const char *log, char *err, size_t errlen)
{
  char opts[256];
  int sys_errno;

  options_for (fstype, how, opts, sizeof opts);
  if (kernel_mount (dev, dir, fstype, opts, err, errlen, &sys_errno) == 0)
    return 0;
  if (sys_errno != ENODEV)       /* the kernel has the driver and refused */
    return -1;
  if (!strcmp (fstype, "ntfs")) {
    char o[256];
    snprintf (o, sizeof o, "%s,nosuid,nodev%s", how == VXM_RW ? "rw" : "ro",
              how == VXM_RW ? "" : ",noexec");
    return fuse_mount ("ntfs-3g", dev, dir, o, log, err, errlen);
  }
  if (!strcmp (fstype, "vfat")) {
    /* fusefat writes only with "rw+" (its own spelling) */
    return fuse_mount ("fusefat", dev, dir, how == VXM_RW ? "rw+" : "ro", log, err, errlen);
  }
  vx_log (VX_WARNING, "the kernel has no %s driver and there is no FUSE driver for it", fstype);
  return -1;
}

/* ---- mount state ------------------------------------------------------------- */

/* Is dir a mount point?  Decided from /proc/self/mountinfo (field 5), with
 * octal escapes of blanks undone. */
bool
vxm_is_mountpoint (const char *dir)
{
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  char line[4096];
  bool found = false;

  if (!f)
    return false;
  while (!found && fgets (line, sizeof line, f)) {
    char *p = line, mp[PATH_MAX], *o = mp;
    int field = 1;
    while (*p && field < 5)
      if (*p++ == ' ')
        field++;
    while (*p && *p != ' ' && o < mp + sizeof mp - 1) {
      if (p[0] == '\\' && isdigit ((unsigned char) p[1]) && isdigit ((unsigned char) p[2])
          && isdigit ((unsigned char) p[3])) {
        *o++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
        p += 4;
      }
      else
        *o++ = *p++;
    }
    *o = '\0';
    found = strcmp (mp, dir) == 0;
  }
  fclose (f);
  return found;
}

int
vxm_umount (const char *dir, bool force)
{
  for (int i = 0; vxm_is_mountpoint (dir); i++) {
    if (umount2 (dir, UMOUNT_NOFOLLOW) == 0)
      continue;
    if (errno == EBUSY && i < 20) {       /* a FUSE daemon finishing, a reader */
      vxm_msleep (20);
      continue;
    }
    if (!force)
      return -1;
    if (umount2 (dir, MNT_DETACH | UMOUNT_NOFOLLOW) == -1)
      return -1;
  }
  return 0;
}


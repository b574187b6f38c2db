/* vixmount mount layer: teardown of a set from its journal: the caller's
 * mount points over the set first (deepest first), then backwards
 * (mounts, then loop devices or dm tables, NBD devices, FUSE, processes,
 * nbdkit last: each one frees what the previous held), and the clean-up of
 * sets whose owner died. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"
#include "kernel.h"

/* A device still open after a forced teardown (a lazily unmounted
 * filesystem with open files) is left to the kernel, which lets it go at
 * its last close: said once per device. */
static void
left_to_kernel (const char *what)
{
  vx_log (VX_INFO, "%s is still open (a lazily unmounted filesystem); the kernel releases "
          "it when its last file closes", what);
}

/* Disconnect /dev/nbd<index> if it is still the one the journal names: its
 * backend identifier (netlink) or the pid in NBD_DO_IT (ioctl) must match,
 * so that a device someone else took since is never touched.  FORCE: one
 * still open is left to the kernel. */
static int
nbd_undo (const char *arg, bool force)
{
  char backend[256], shown[256], pid[32], err[512];
  int index;
  long holder = 0;

  if (sscanf (arg, "%d %255s %ld", &index, backend, &holder) < 2 || index < 0)
    return 0;
  if (!vxk_nbd_connected (index))
    return 0;
  if (vxk_nbd_backend (index, shown, sizeof shown) == 0 && shown[0]) {
    if (strcmp (shown, backend) != 0)
      return 0;
  }
  else if (holder > 0
           && (vxk_sysfs_read (index, "pid", pid, sizeof pid) == -1 || atol (pid) != holder))
    return 0;
  switch (vxk_nbd_detach (index, force, err, sizeof err)) {
  case -1:
    vx_log (VX_ERROR, "%s", err);
    return -1;
  case 1:
    snprintf (err, sizeof err, "/dev/nbd%d", index);
    left_to_kernel (err);
  }
  return 0;
}

/* Every NBD device and dm table whose identity names set ID, whatever the
 * journal says (an attach whose answer was never written). */
static int
sweep_kernel (const char *id, bool force)
{
  char prefix[300], err[512];
  int idx[64], failed = 0;
  size_t n;

  snprintf (prefix, sizeof prefix, "vixmount-%s-", id);
  if (vxk_dm_usable (false) && vxk_dm_remove_prefix (prefix, force) > 0)
    failed = -1;
  snprintf (prefix, sizeof prefix, "vixmount:%s:", id);
  n = vxk_nbd_find (prefix, idx, 64);
  for (size_t i = 0; i < n && i < 64; i++)
    if (vxk_nbd_detach (idx[i], force, err, sizeof err) == -1) {
      vx_log (VX_ERROR, "%s", err);
      failed = -1;
    }
  return failed;
}

struct entry { char kind[16]; char arg[PATH_MAX]; long pid; unsigned long long start; };

/* Is the mount on DIR (an "extmount") the filesystem of one of the set's
 * own mounts, and not something mounted there since? */
static bool
shows_the_set (const char *dir, const struct entry *ent, size_t n)
{
  struct stat a, b;

  if (stat (dir, &a) == -1)
    return false;
  for (size_t i = 0; i < n; i++)
    if (strcmp (ent[i].kind, "mount") == 0 && vxm_is_mountpoint (ent[i].arg)
        && stat (ent[i].arg, &b) == 0 && a.st_dev == b.st_dev)
      return true;
  return false;
}

int
vxm_teardown_dir (const char *dir, bool force)
{
  char path[PATH_MAX], line[PATH_MAX + 64];
  struct entry *ent = NULL;
  size_t n = 0, cap = 0;
  FILE *f;
  int failed = 0;

  snprintf (path, sizeof path, "%s/state", dir);
  f = fopen (path, "re");
  if (f) {
    while (fgets (line, sizeof line, f)) {
      struct entry e = { 0 };
      char *sp;
      line[strcspn (line, "\n")] = '\0';
      sp = strchr (line, ' ');
      if (!sp || (size_t) (sp - line) >= sizeof e.kind)
        continue;                           /* a torn last line */
      memcpy (e.kind, line, (size_t) (sp - line));
      if (strcmp (e.kind, "pid") == 0) {
        if (sscanf (sp + 1, "%15s %ld %llu", e.arg, &e.pid, &e.start) != 3)
          continue;
      }
      else if (strcmp (e.kind, "owner") == 0)
        continue;
      else
        snprintf (e.arg, sizeof e.arg, "%s", sp + 1);
      if (n == cap) {
        struct entry *g = realloc (ent, (cap = cap ? cap * 2 : 16) * sizeof *g);
        if (!g) { failed = -1; break; }
        ent = g;
      }
      ent[n++] = e;
    }
    fclose (f);
  }
  /* The caller's mount points first, deepest first (a guest's tree:
   * DIR/boot/efi before DIR/boot before DIR), whatever order the journal
   * has them in: a parent cannot go while a child is mounted on it. */
  {
    size_t *ext = n ? malloc (n * sizeof *ext) : NULL, m = 0;
    for (size_t i = 0; ext && i < n; i++)
      if (strcmp (ent[i].kind, "extmount") == 0)
        ext[m++] = i;
    for (size_t a = 1; a < m; a++)    /* by name, descending: a child after its parent's name */
      for (size_t b = a; b > 0 && strcmp (ent[ext[b - 1]].arg, ent[ext[b]].arg) < 0; b--) {
        size_t t = ext[b];
        ext[b] = ext[b - 1];
        ext[b - 1] = t;
      }
    for (size_t k = 0; k < m; k++) {
      const char *dir_k = ent[ext[k]].arg;
      if (vxm_is_mountpoint (dir_k) && !shows_the_set (dir_k, ent, n))
        vx_log (VX_WARNING, "%s shows no volume of the set any more; left alone", dir_k);
      else if (vxm_umount (dir_k, force) == -1) {
        vx_log (VX_ERROR, "cannot unmount %s: %s", dir_k, strerror (errno));
        failed = -1;
      }
    }
    if (n && !ext)
      failed = -1;
    free (ext);
  }
  /* Backwards: mounts, then loop devices, then FUSE drivers and the
   * bridge, then nbdkit. */
  for (size_t i = n; i-- > 0; ) {
    struct entry *e = &ent[i];
    if (strcmp (e->kind, "mount") == 0) {
      if (vxm_umount (e->arg, force) == -1) {
        vx_log (VX_ERROR, "cannot unmount %s: %s", e->arg, strerror (errno));
        failed = -1;
      }
      rmdir (e->arg);
    }
    else if (strcmp (e->kind, "loop") == 0)
      vxm_loop_detach_file (e->arg);
    else if (strcmp (e->kind, "dm") == 0) {
      char err[512];
      int r = vxk_dm_usable (false) ? vxk_dm_remove (e->arg, force, err, sizeof err) : 0;
      if (r == -1) {
        vx_log (VX_ERROR, "%s", err);
        failed = -1;
      }
      else if (r == 1)
        left_to_kernel (e->arg);
    }
    else if (strcmp (e->kind, "nbddev") == 0) {
      if (nbd_undo (e->arg, force) == -1)
        failed = -1;
    }
    else if (strcmp (e->kind, "pid") == 0 && strcmp (e->arg, "nbdkit") != 0)
      vxm_stop ((pid_t) e->pid, e->start, 2000);
    else if (strcmp (e->kind, "fuse") == 0) {
      if (vxm_umount (e->arg, true) == -1) {
        vx_log (VX_ERROR, "cannot unmount the FUSE bridge %s: %s", e->arg, strerror (errno));
        failed = -1;
      }
    }
  }
  /* NBD devices and dm tables of the set that the journal lost */
  for (size_t i = 0; i < n; i++)
    if (strcmp (ent[i].kind, "nbd") == 0) {
      const char *id = strrchr (dir, '/') ? strrchr (dir, '/') + 1 : dir;
      if (sweep_kernel (id, force) == -1)
        failed = -1;
      break;
    }
  /* the server goes last: a device still connected to it would fail */
  for (size_t i = n; i-- > 0; )
    if (strcmp (ent[i].kind, "pid") == 0 && strcmp (ent[i].arg, "nbdkit") == 0)
      vxm_stop ((pid_t) ent[i].pid, ent[i].start, 2000);
  free (ent);
  if (failed)
    return -1;
  /* Remove what the set created; never recurse into anything mounted. */
  DIR *d = opendir (dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir (d))) {
      char p[PATH_MAX];
      if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
        continue;
      if (snprintf (p, sizeof p, "%s/%s", dir, de->d_name) >= (int) sizeof p)
        continue;
      if (de->d_type == DT_DIR) {
        DIR *sub = opendir (p);
        struct dirent *se;
        if (sub) {
          while ((se = readdir (sub))) {
            char q[PATH_MAX];
            if (!strcmp (se->d_name, ".") || !strcmp (se->d_name, ".."))
              continue;
            if (snprintf (q, sizeof q, "%s/%s", p, se->d_name) >= (int) sizeof q)
              continue;
            if (!vxm_is_mountpoint (q))
              rmdir (q);
          }
          closedir (sub);
        }
        if (!vxm_is_mountpoint (p))
          rmdir (p);
      }
      else
        unlink (p);
    }
    closedir (d);
  }
  if (rmdir (dir) == -1 && errno != ENOENT) {
    vx_log (VX_WARNING, "cannot remove %s: %s", dir, strerror (errno));
    return -1;
  }
  return 0;
}

int
vxm_cleanup_stale (const char *base)
{
  DIR *d = opendir (base);
  struct dirent *de;
  int cleaned = 0;

  if (!d)
    return 0;
  while ((de = readdir (d))) {
    char dir[PATH_MAX], state[PATH_MAX], line[256];
    long pid = 0;
    unsigned long long start = 0;
    FILE *f;
    if (strncmp (de->d_name, "set-", 4) != 0)
      continue;
    if (snprintf (dir, sizeof dir, "%s/%s", base, de->d_name) >= (int) sizeof dir
        || snprintf (state, sizeof state, "%s/state", dir) >= (int) sizeof state)
      continue;
    if ((f = fopen (state, "re"))) {
      if (fgets (line, sizeof line, f))
        sscanf (line, "owner %ld %llu", &pid, &start);
      fclose (f);
    }
    if (pid > 0 && vxm_alive_as ((pid_t) pid, start))
      continue;                            /* its owner still runs */
    if (pid == 0) {                        /* no journal: only if old enough */
      struct stat st;
      if (stat (dir, &st) == 0 && time (NULL) - st.st_mtime < 60)
        continue;
    }
    vx_log (VX_AUDIT, "cleaning up %s left behind by process %ld", dir, pid);
    if (vxm_teardown_dir (dir, true) == 0)
      cleaned++;
  }
  closedir (d);
  return cleaned;
}

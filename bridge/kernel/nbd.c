/* vixmount kernel bridge: attaching an NBD export to /dev/nbdN and back,
 * checked against what the kernel shows in sysfs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"

#define NBD_FLAG_CAN_MULTI_CONN (1 << 8)
#define MAX_CONNS 16

extern char **environ;

static void
msleep (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

int
vxk_sysfs_read (int index, const char *attr, char *buf, size_t len)
{
  char path[128];
  ssize_t r;
  int fd;

  snprintf (path, sizeof path, "/sys/block/nbd%d/%s", index, attr);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  r = read (fd, buf, len - 1);
  close (fd);
  if (r < 0)
    return -1;
  buf[r] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  return 0;
}

/* Run argv (stdio to /dev/null) and wait: its exit status, or -1. */
static int
run_quiet (char *const argv[])
{
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int st, r;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, 1, 2);
  r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  if (r != 0)
    return -1;
  while (waitpid (pid, &st, 0) == -1)
    if (errno != EINTR)
      return -1;
  return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

bool
vxk_nbd_usable (bool try_load)
{
  struct stat st;
  if (stat ("/sys/module/nbd", &st) == 0 || stat ("/dev/nbd0", &st) == 0)
    return true;
  if (!try_load)
    return false;
  run_quiet ((char *[]) { (char *) "modprobe", (char *) "nbd", NULL });
  return stat ("/sys/module/nbd", &st) == 0;
}

bool
vxk_nbd_connected (int index)
{
  char pid[32];
  return vxk_sysfs_read (index, "pid", pid, sizeof pid) == 0;
}

int
vxk_nbd_backend (int index, char *buf, size_t len)
{
  if (vxk_sysfs_read (index, "backend", buf, len) == -1) {
    buf[0] = '\0';
    return -1;
  }
  return 0;
}

static int
cmp_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

int *
vxk_nbd_devices (size_t *n)
{
  DIR *d = opendir ("/sys/block");
  struct dirent *de;
  int *v = NULL;
  size_t cap = 0;

  *n = 0;
  if (!d)
    return NULL;
  while ((de = readdir (d))) {
    char *end;
    long i;
    if (strncmp (de->d_name, "nbd", 3) != 0)
      continue;
    i = strtol (de->d_name + 3, &end, 10);
    if (end == de->d_name + 3 || *end || i < 0 || i > INT32_MAX)
      continue;
    if (*n == cap) {
      int *g = realloc (v, (cap = cap ? cap * 2 : 16) * sizeof *g);
      if (!g)
        break;
      v = g;
    }
    v[(*n)++] = (int) i;
  }
  closedir (d);
  if (v)
    qsort (v, *n, sizeof *v, cmp_int);
  return v;
}

size_t
vxk_nbd_find (const char *prefix, int *idx, size_t max)
{
  size_t nd, n = 0;
  int *all = vxk_nbd_devices (&nd);

  for (size_t k = 0; k < nd; k++) {
    char be[256];
    if (!vxk_nbd_connected (all[k]) || vxk_nbd_backend (all[k], be, sizeof be) == -1
        || strncmp (be, prefix, strlen (prefix)) != 0)
      continue;
    if (n < max)
      idx[n] = all[k];
    n++;
  }
  free (all);
  return n;
}

/* Check the kernel's view of a device we just attached. */
static int
verify (const struct vxk_attach *a, const struct vxk_device *dev, char *err, size_t errlen)
{
  char buf[256], path[64];
  unsigned long long sectors = 0;
  uint64_t bytes = 0;
  int fd;

  /* connected: the kernel shows the task that connected it */
  for (int t = 0; !vxk_nbd_connected (dev->index); t++) {
    if (t == 500) {
      snprintf (err, errlen, "/dev/nbd%d: not connected (no /sys/block/nbd%d/pid)",
                dev->index, dev->index);
      errno = EIO;
      return -1;
    }
    msleep (10);
  }
  if (vxk_sysfs_read (dev->index, "size", buf, sizeof buf) == -1
      || sscanf (buf, "%llu", &sectors) != 1 || sectors * 512 != dev->size) {
    snprintf (err, errlen, "/dev/nbd%d: size %llu sectors, expected %llu", dev->index,
              sectors, (unsigned long long) (dev->size / 512));
    errno = EIO;
    return -1;
  }
  /* the backend identifier (kernels that show it: 5.17 and later) */
  if (dev->iface == VXK_NETLINK && a->backend
      && vxk_nbd_backend (dev->index, buf, sizeof buf) == 0 && strcmp (buf, a->backend) != 0) {
    snprintf (err, errlen, "/dev/nbd%d: backend is \"%s\", not ours (\"%s\")", dev->index,
              buf, a->backend);
    errno = EBUSY;
    return -1;
  }
  /* read-ahead: the kernel's 128 KiB costs a round trip to the server per
   * 128 KiB of a sequential read; set before the partitions exist, which
   * share the disk's queue */
  for (int k = 0; k < 2; k++) {
    unsigned v = k ? a->max_request_kb : a->read_ahead_kb;
    if (!v)
      continue;
    snprintf (path, sizeof path, "/sys/block/nbd%d/queue/%s", dev->index,
              k ? "max_sectors_kb" : "read_ahead_kb");
    fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      snprintf (buf, sizeof buf, "%u", v);
      if (write (fd, buf, strlen (buf)) < 0) { /* best effort: a tuning */ }
      close (fd);
    }
  }
  /* the first open reads the partition table */
  snprintf (path, sizeof path, "/dev/nbd%d", dev->index);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ioctl (fd, BLKGETSIZE64, &bytes) == -1 || bytes != dev->size) {
    snprintf (err, errlen, "%s: %s", path, fd < 0 ? strerror (errno)
              : bytes != dev->size ? "wrong size" : strerror (errno));
    if (fd >= 0)
      close (fd);
    errno = EIO;
    return -1;
  }
  close (fd);
  return 0;
}

int
vxk_nbd_attach (const struct vxk_attach *a, struct vxk_device *dev, char *err, size_t errlen)
{
  int fds[MAX_CONNS];
  size_t n = 0, want = 1;
  struct vxk_export ex;
  char e2[256];
  int index = -1, r = -1;

  memset (dev, 0, sizeof *dev);
  dev->index = -1;
  do {
    struct vxk_export exk;
    int fd = vxk_unix_connect (a->socket, err, errlen);
    if (fd < 0)
      goto out;
    fds[n++] = fd;
    if (vxk_handshake (fd, a->export_name, n == 1 ? &ex : &exk, err, errlen) == -1)
      goto out;
    if (n == 1) {
      if (ex.size == 0 || ex.size % 512) {
        snprintf (err, errlen, "export \"%s\": size %llu is not a whole number of sectors",
                  a->export_name, (unsigned long long) ex.size);
        errno = EINVAL;
        goto out;
      }
      if (ex.flags & NBD_FLAG_CAN_MULTI_CONN)
        want = a->max_conns < 1 ? 1 : a->max_conns > MAX_CONNS ? MAX_CONNS : a->max_conns;
    }
    else if (exk.size != ex.size || exk.flags != ex.flags) {
      snprintf (err, errlen, "export \"%s\": connections disagree on size or flags",
                a->export_name);
      errno = EPROTO;
      goto out;
    }
  } while (n < want);

  dev->iface = a->iface;
  if (dev->iface == VXK_AUTO)
    dev->iface = vxk_netlink_available () ? VXK_NETLINK : VXK_IOCTL;
  index = dev->iface == VXK_NETLINK
    ? vxk_netlink_connect (fds, n, &ex, a->backend, err, errlen)
    : vxk_ioctl_connect (fds, n, &ex, &dev->holder, err, errlen);
  if (index < 0)
    goto out;
  dev->index = index;
  dev->size = ex.size;
  dev->flags = ex.flags;
  dev->nconns = (unsigned) n;
  if (verify (a, dev, err, errlen) == -1) {
    int e = errno;
    vxk_nbd_detach (index, false, e2, sizeof e2);
    if (dev->holder > 0)
      waitpid (dev->holder, NULL, 0);
    memset (dev, 0, sizeof *dev);
    dev->index = -1;
    errno = e;
    goto out;
  }
  r = 0;
 out:
  {
    int e = errno;
    for (size_t i = 0; i < n; i++)
      close (fds[i]);           /* the kernel holds its own references */
    errno = e;
  }
  return r;
}

/* Does something hold /dev/nbd<index> or one of its partitions for itself
 * (a mounted filesystem, also one lazily unmounted; a dm table)?  The
 * kernel refuses an exclusive open then. */
static bool
held (int index)
{
  char path[64];
  int fd;

  snprintf (path, sizeof path, "/dev/nbd%d", index);
  fd = open (path, O_RDONLY | O_EXCL | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    close (fd);
    return false;
  }
  return errno == EBUSY;
}

int
vxk_nbd_detach (int index, bool deferred, char *err, size_t errlen)
{
  int r;

  if (!vxk_nbd_connected (index))
    return 0;
  r = vxk_netlink_available () ? vxk_netlink_disconnect (index, err, errlen)
    : vxk_ioctl_disconnect (index, err, errlen);
  if (r == -1 && errno != EINVAL && errno != ENODEV)
    return -1;
  /* free again once the kernel has let the connection go; a device still
   * open stays connected (its sockets shut) until its last close */
  for (int t = 0; vxk_nbd_connected (index); t++) {
    if (deferred && t > 0 && t % 25 == 0 && held (index))
      return 1;
    if (t == 1000) {
      snprintf (err, errlen, "/dev/nbd%d: still connected 10 s after the disconnect%s", index,
                held (index) ? " (it is still open: a filesystem on it is mounted, "
                "or was unmounted lazily and has open files)" : "");
      errno = EBUSY;
      return -1;
    }
    msleep (10);
  }
  return 0;
}

static int
cmp_part (const void *a, const void *b)
{
  const struct vxk_part *x = a, *y = b;
  return x->partno < y->partno ? -1 : x->partno > y->partno;
}

int
vxk_nbd_partitions (int index, struct vxk_part **parts, size_t *n)
{
  char dir[64], prefix[32];
  struct vxk_part *v = NULL;
  size_t cap = 0;
  struct dirent *de;
  DIR *d;

  *parts = NULL;
  *n = 0;
  snprintf (dir, sizeof dir, "/sys/block/nbd%d", index);
  snprintf (prefix, sizeof prefix, "nbd%dp", index);
  if (!(d = opendir (dir)))
    return -1;
  while ((de = readdir (d))) {
    char path[512], buf[64];
    unsigned long long no, start, size;
    int fd;
    ssize_t r;
    if (strncmp (de->d_name, prefix, strlen (prefix)) != 0)
      continue;
#define READ_ATTR(attr, var)                                                  \
    snprintf (path, sizeof path, "%s/%s/" attr, dir, de->d_name);             \
    fd = open (path, O_RDONLY | O_CLOEXEC);                                   \
    r = fd < 0 ? -1 : read (fd, buf, sizeof buf - 1);                         \
    if (fd >= 0) close (fd);                                                  \
    if (r <= 0) continue;                                                     \
    buf[r] = '\0';                                                            \
    if (sscanf (buf, "%llu", &var) != 1) continue
    READ_ATTR ("partition", no);
    READ_ATTR ("start", start);
    READ_ATTR ("size", size);
#undef READ_ATTR
    if (*n == cap) {
      struct vxk_part *g = realloc (v, (cap = cap ? cap * 2 : 8) * sizeof *g);
      if (!g) {
        closedir (d);
        free (v);
        errno = ENOMEM;
        return -1;
      }
      v = g;
    }
    v[(*n)++] = (struct vxk_part) { .partno = (unsigned) no, .start = start * 512,
                                    .size = size * 512 };
  }
  closedir (d);
  if (v)
    qsort (v, *n, sizeof *v, cmp_part);
  *parts = v;
  return 0;
}

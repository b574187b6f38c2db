/* vixmount mount layer: set directories, the state journal, processes,
 * loop devices and teardown. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/loop.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

/* The logger of libvixMntapi: it lives here, in the lowest part that logs;
 * VixMntapi_Init configures it (the caller's callbacks, level, log file). */
struct vx_logger vxm_logger = VX_LOGGER_INIT ("VixMntapi: ", "vixMntapi");

extern char **environ;

/* ---- directories and the journal ------------------------------------------ */

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

unsigned long long
vxm_proc_start (pid_t pid)
{
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  FILE *f;
  int field;

  if (pid <= 0)
    return 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "re");
  if (!f)
    return 0;
  if (!fgets (buf, sizeof buf, f)) {
    fclose (f);
    return 0;
  }
  fclose (f);
  p = strrchr (buf, ')');      /* comm may contain blanks */
  if (!p)
    return 0;
  /* after ")": field 3 (state) ... field 22 (starttime) */
  for (field = 2; *p && field < 22; p++)
    if (*p == ' ')
      field++;
  if (field == 22)
    start = strtoull (p, NULL, 10);
  return start;
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

/* ---- processes ---------------------------------------------------------------- */

pid_t
vxm_spawn (char *const argv[], const char *log)
{
  return vxm_spawn_notify (argv, log, -1);
}

pid_t
vxm_spawn_notify (char *const argv[], const char *log, int notify_fd)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none;
  pid_t pid;
  int r;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2 (&fa, 1, 2);
  if (notify_fd >= 0)   /* dup2 clears close-on-exec, also when it is 3 */
    posix_spawn_file_actions_adddup2 (&fa, notify_fd, 3);
  /* the daemons must not hold the caller's other descriptors open (its
   * pipes, sockets, lock files) */
  posix_spawn_file_actions_addclosefrom_np (&fa, notify_fd >= 0 ? 4 : 3);
  posix_spawnattr_init (&at);
  sigemptyset (&none);
  posix_spawnattr_setsigmask (&at, &none);     /* don't inherit a blocked set */
  posix_spawnattr_setflags (&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  {
    sigset_t def;
    sigemptyset (&def);
    sigaddset (&def, SIGTERM);
    sigaddset (&def, SIGINT);
    sigaddset (&def, SIGPIPE);
    sigaddset (&def, SIGCHLD);
    posix_spawnattr_setsigdefault (&at, &def);
  }
  r = posix_spawnp (&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&at);
  if (r != 0) {
    errno = r;
    return -1;
  }
  return pid;
}

static void
msleep (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

int
vxm_wait_for (const char *path, pid_t pid, int timeout_ms)
{
  for (int waited = 0; waited <= timeout_ms; waited += 2) {
    struct stat st;
    int status;
    if (stat (path, &st) == 0 && (S_ISSOCK (st.st_mode) || st.st_size > 0))
      return 0;
    if (waitpid (pid, &status, WNOHANG) == pid)
      return -1;
    msleep (2);
  }
  return -1;
}

int
vxm_wait_ready (int fd, pid_t pid, int timeout_ms)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  char c = 0;
  int r, status;

  do
    r = poll (&p, 1, timeout_ms);
  while (r == -1 && errno == EINTR);
  if (r == 1) {
    while ((r = (int) read (fd, &c, 1)) == -1 && errno == EINTR)
      ;
    if (r == 1 && c == 1)
      return 0;
  }
  /* EOF without the byte (it exited or gave up), or the time is over; reap
   * it if it has exited */
  waitpid (pid, &status, WNOHANG);
  return -1;
}

static bool
alive_as (pid_t pid, unsigned long long start)
{
  unsigned long long s = vxm_proc_start (pid);
  return s != 0 && (start == 0 || s == start);
}

void
vxm_stop (pid_t pid, unsigned long long start, int ms)
{
  int status;

  if (pid <= 0 || !alive_as (pid, start))
    return;
  kill (pid, SIGTERM);
  for (int waited = 0; waited < ms; waited += 5) {
    if (waitpid (pid, &status, WNOHANG) == pid || !alive_as (pid, start))
      return;
    msleep (5);
  }
  if (alive_as (pid, start)) {
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
  }
}

const char *
vxm_log_tail (const char *log)
{
  static __thread char buf[1024];
  FILE *f = fopen (log, "re");
  char line[512];
  size_t n = 0;

  buf[0] = '\0';
  if (!f)
    return buf;
  /* keep the last lines that fit */
  while (fgets (line, sizeof line, f)) {
    size_t l = strlen (line);
    if (l && line[l - 1] == '\n') line[--l] = '\0';
    if (!l) continue;
    if (n + l + 3 >= sizeof buf) {
      memmove (buf, buf + n / 2, n - n / 2 + 1);
      n -= n / 2;
    }
    n += (size_t) snprintf (buf + n, sizeof buf - n, "%s%s", n ? " | " : "", line);
  }
  fclose (f);
  return buf;
}

/* ---- mounts ---------------------------------------------------------------------- */

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
      msleep (20);
      continue;
    }
    if (!force)
      return -1;
    if (umount2 (dir, MNT_DETACH | UMOUNT_NOFOLLOW) == -1)
      return -1;
  }
  return 0;
}

/* ---- loop devices ----------------------------------------------------------------- */

/* 4 MiB (tests/bench/mount: 1.05-1.14x the default on large file reads) */
#define VXM_LOOP_READAHEAD_SECTORS 8192

int
vxm_loop_attach (const char *file, bool readonly, char *dev, size_t devlen,
                 char *err, size_t errlen)
{
  int ctl, ffd, lfd = -1, n;

  ffd = open (file, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (ffd < 0) {
    snprintf (err, errlen, "%s: %s", file, strerror (errno));
    return -1;
  }
  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    snprintf (err, errlen, "/dev/loop-control: %s", strerror (errno));
    close (ffd);
    return -1;
  }
  for (int attempt = 0; attempt < 16; attempt++) {
    struct loop_config cfg;
    n = ioctl (ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      snprintf (err, errlen, "no free loop device: %s", strerror (errno));
      break;
    }
    snprintf (dev, devlen, "/dev/loop%d", n);
    lfd = open (dev, O_RDWR | O_CLOEXEC);
    if (lfd < 0) {
      snprintf (err, errlen, "%s: %s", dev, strerror (errno));
      break;
    }
    memset (&cfg, 0, sizeof cfg);
    cfg.fd = (uint32_t) ffd;
    /* Direct I/O: the bridge's file is not cached a second time under the
     * filesystem's own page cache, and large reads reach it whole. */
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO |
                        (readonly ? LO_FLAGS_READ_ONLY : 0);
    snprintf ((char *) cfg.info.lo_file_name, sizeof cfg.info.lo_file_name, "%s", file);
    int r = ioctl (lfd, LOOP_CONFIGURE, &cfg);
    if (r == -1 && errno == EINVAL) {  /* a backing file without O_DIRECT */
      cfg.info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
      r = ioctl (lfd, LOOP_CONFIGURE, &cfg);
    }
    if (r == 0) {
      /* A deep read-ahead keeps several large requests in flight through
       * the bridge (the kernel's default is 128 KiB). */
      ioctl (lfd, BLKRASET, (unsigned long) VXM_LOOP_READAHEAD_SECTORS);
      /* lfd stays open: with autoclear, the last close detaches the device,
       * so the caller closes it once the mount holds the device */
      close (ffd);
      close (ctl);
      return lfd;
    }
    int e = errno;
    close (lfd);
    lfd = -1;
    if (e == EBUSY)          /* raced with another user of that device */
      continue;
    snprintf (err, errlen, "attaching %s to %s: %s", file, dev, strerror (e));
    break;
  }
  close (ffd);
  close (ctl);
  return -1;
}

int
vxm_loop_detach (const char *dev)
{
  int fd = open (dev, O_RDONLY | O_CLOEXEC), r;

  if (fd < 0)
    return -1;
  r = ioctl (fd, LOOP_CLR_FD, 0);
  close (fd);
  return r;
}

int
vxm_loop_detach_file (const char *path)
{
  DIR *d = opendir ("/sys/block");
  struct dirent *de;
  int failed = 0;

  if (!d)
    return 0;
  while ((de = readdir (d))) {
    char bf[PATH_MAX], p[300], dev[300];
    FILE *f;
    if (strncmp (de->d_name, "loop", 4) != 0)
      continue;
    snprintf (p, sizeof p, "/sys/block/%s/loop/backing_file", de->d_name);
    if (!(f = fopen (p, "re")))
      continue;
    if (fgets (bf, sizeof bf, f)) {
      bf[strcspn (bf, "\n")] = '\0';
      if (strcmp (bf, path) == 0) {
        snprintf (dev, sizeof dev, "/dev/%s", de->d_name);
        if (vxm_loop_detach (dev) == -1 && errno != ENXIO)
          failed = -1;
      }
    }
    fclose (f);
  }
  closedir (d);
  return failed;
}

/* ---- teardown ----------------------------------------------------------------------- */

struct entry { char kind[16]; char arg[PATH_MAX]; long pid; unsigned long long start; };

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
    else if (strcmp (e->kind, "pid") == 0 && strcmp (e->arg, "nbdkit") != 0)
      vxm_stop ((pid_t) e->pid, e->start, 2000);
    else if (strcmp (e->kind, "fuse") == 0) {
      if (vxm_umount (e->arg, true) == -1) {
        vx_log (VX_ERROR, "cannot unmount the FUSE bridge %s: %s", e->arg, strerror (errno));
        failed = -1;
      }
    }
  }
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
    if (pid > 0 && alive_as ((pid_t) pid, start))
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

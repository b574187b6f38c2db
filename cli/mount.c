/* vixmount mount, umount, status, cleanup.
 *
 * A mount outlives the command: `vixmount mount` forks a small process (the
 * "mount process": the command itself, detached, in its own session) that
 * opens the disk set, mounts the volume in the set's directory and
 * bind-mounts it on DIR, then holds the set (the disks' locks, the FUSE
 * bridge, nbdkit for read-write sets) until it is asked to let go.  The set
 * is an ordinary libvixMntapi set whose owner is alive, so nothing takes it
 * for a leftover; DIR is recorded in the set's journal
 * (Vixmount_RecordMountPoint) before it is mounted, so that if the mount
 * process is killed, `vixmount cleanup` or the next VixMntapi_Init of any
 * program removes DIR's mount with the rest.  With --guest, the process
 * mounts the guest's tree the same way: the root volume on DIR, each other
 * volume with a guest mount point on DIR/<mount point>, parents first; the
 * library's teardown unmounts such nested points the deepest first.
 *
 * The registry of mount processes is a directory (RUNDIR, 0700, root's):
 * per process PID.info (what it mounted: "key value" lines), PID.sock (a
 * unix socket on which it answers "ping" and "umount [force]") and PID.log
 * (its stderr once it runs on its own).  A process is alive when its socket
 * answers; `umount DIR` finds the process by DIR and asks it; it replies
 * once everything is released and exits.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "vix.h"
#include "vixmount.h"

#define RUNDIR_DEFAULT "/run/vixmount/mounts"
#define REPLY_MAX 1024

static const char *
rundir (void)
{
  const char *r = getenv ("VIXMOUNT_RUNDIR");
  return r && *r ? r : RUNDIR_DEFAULT;
}

/* RUNDIR and its parent, 0700. */
static int
make_rundir (void)
{
  char parent[PATH_MAX], *slash;

  snprintf (parent, sizeof parent, "%s", rundir ());
  slash = strrchr (parent, '/');
  if (slash && slash != parent) {
    *slash = '\0';
    if (mkdir (parent, 0700) == -1 && errno != EEXIST) {
      cli_error ("%s: cannot create: %s", parent, strerror (errno));
      return -1;
    }
  }
  if (mkdir (rundir (), 0700) == -1 && errno != EEXIST) {
    cli_error ("%s: cannot create: %s", rundir (), strerror (errno));
    return -1;
  }
  return 0;
}

/* Is DIR the root of a mount (statx, Linux 5.8 and later)?  -1: unknown. */
static int
is_mount_root (const char *dir)
{
  struct statx st;

  if (statx (AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &st) == -1
      || !(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
    return -1;
  return (st.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
}

static void
msleep (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

/* ---- talking to a mount process ---------------------------------------------- */

static int
sock_addr (const char *path, struct sockaddr_un *a)
{
  memset (a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen (path) >= sizeof a->sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy (a->sun_path, path, strlen (path) + 1);
  return 0;
}

/* Send the line CMD to the process on SOCK and read its reply line into
 * REPLY (waiting up to TIMEOUT s); with WAIT_EXIT, then wait for the
 * connection to close, i.e. for the process to end.  0, or -1 with errno
 * (ECONNREFUSED or ENOENT: nobody listens, the process is gone). */
static int
talk (const char *sock, const char *cmd, char *reply, size_t len, int timeout, bool wait_exit)
{
  struct sockaddr_un a;
  struct timeval tv = { timeout, 0 };
  size_t got = 0;
  int fd, saved;
  ssize_t r;

  reply[0] = '\0';
  if (sock_addr (sock, &a) == -1)
    return -1;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect (fd, (struct sockaddr *) &a, sizeof a) == -1
      || write (fd, cmd, strlen (cmd)) != (ssize_t) strlen (cmd))
    goto fail;
  while (got < len - 1 && (r = read (fd, reply + got, len - 1 - got)) > 0) {
    got += (size_t) r;
    reply[got] = '\0';
    if (strchr (reply, '\n'))
      break;
  }
  if (!strchr (reply, '\n')) {
    errno = got ? EPROTO : ETIMEDOUT;
    goto fail;
  }
  *strchr (reply, '\n') = '\0';
  if (wait_exit) {
    char c;
    while ((r = read (fd, &c, 1)) > 0 || (r == -1 && errno == EINTR))
      ;
  }
  close (fd);
  return 0;
 fail:
  saved = errno;
  close (fd);
  errno = saved;
  return -1;
}

/* ---- the registry ----------------------------------------------------------------- */

struct entry {
  long pid;
  char *dir, *volume, *fs, *mode, *set;
  char **disks;
  size_t ndisks;
  char **guest;                 /* a guest mount: "VOLUME FILESYSTEM MOUNTPOINT" */
  size_t nguest;
  char base[PATH_MAX];          /* RUNDIR/PID: + ".info", ".sock", ".log" */
  bool alive;                   /* its process answers */
  int mounted;                  /* DIR is a mount (1), is not (0), unknown (-1) */
};

static void
entry_free (struct entry *e)
{
  free (e->dir);
  free (e->volume);
  free (e->fs);
  free (e->mode);
  free (e->set);
  cli_free_strings (e->disks, e->ndisks);
  cli_free_strings (e->guest, e->nguest);
  memset (e, 0, sizeof *e);
}

static void
entry_remove_files (const char *base)
{
  char p[PATH_MAX + 8];
  static const char *const ext[] = { ".sock", ".log", ".info" };
  for (size_t i = 0; i < 3; i++) {
    snprintf (p, sizeof p, "%s%s", base, ext[i]);
    unlink (p);
  }
}

/* Read RUNDIR/NAME (PID.info); 0, or -1 if it is not a complete entry. */
static int
entry_read (const char *name, struct entry *e)
{
  char path[PATH_MAX + 8], line[PATH_MAX + 32], sock[PATH_MAX + 8], reply[64];
  FILE *f;

  memset (e, 0, sizeof *e);
  e->pid = strtol (name, NULL, 10);
  snprintf (e->base, sizeof e->base, "%s/%ld", rundir (), e->pid);
  snprintf (path, sizeof path, "%s.info", e->base);
  if (!(f = fopen (path, "re")))
    return -1;
  while (fgets (line, sizeof line, f)) {
    char *v = strchr (line, ' '), ***list = NULL, **slot = NULL;
    size_t *count = NULL;
    line[strcspn (line, "\n")] = '\0';
    if (!v)
      continue;
    *v++ = '\0';
    if (!strcmp (line, "dir")) slot = &e->dir;
    else if (!strcmp (line, "volume")) slot = &e->volume;
    else if (!strcmp (line, "filesystem")) slot = &e->fs;
    else if (!strcmp (line, "mode")) slot = &e->mode;
    else if (!strcmp (line, "set")) slot = &e->set;
    else if (!strcmp (line, "disk")) list = &e->disks, count = &e->ndisks;
    else if (!strcmp (line, "guest")) list = &e->guest, count = &e->nguest;
    if (slot) {
      free (*slot);
      *slot = strdup (v);
    }
    else if (list) {
      char **g = realloc (*list, (*count + 1) * sizeof *g);
      if (g && (g[*count] = strdup (v))) {
        *list = g;
        (*count)++;
      }
      else if (g)
        *list = g;
    }
  }
  fclose (f);
  if (!e->dir || !e->volume || !e->fs || !e->mode || !e->set) {
    entry_free (e);
    return -1;
  }
  snprintf (sock, sizeof sock, "%s.sock", e->base);
  /* gone when nobody listens; one busy releasing its set is alive */
  e->alive = talk (sock, "ping\n", reply, sizeof reply, 5, false) == 0
    || (errno != ECONNREFUSED && errno != ENOENT);
  e->mounted = is_mount_root (e->dir);
  return 0;
}

static int
entry_cmp (const void *a, const void *b)
{
  return strcmp (((const struct entry *) a)->dir, ((const struct entry *) b)->dir);
}

/* Every entry of the registry, sorted by directory. */
static int
entries_load (struct entry **out, size_t *n)
{
  DIR *d = opendir (rundir ());
  struct dirent *de;
  struct entry *v = NULL;
  size_t cap = 0;

  *out = NULL;
  *n = 0;
  if (!d)
    return errno == ENOENT ? 0 : -1;
  while ((de = readdir (d))) {
    size_t k = strspn (de->d_name, "0123456789");
    if (k == 0 || strcmp (de->d_name + k, ".info") != 0)
      continue;
    if (*n == cap) {
      struct entry *g = realloc (v, (cap = cap ? 2 * cap : 8) * sizeof *g);
      if (!g)
        break;
      v = g;
    }
    if (entry_read (de->d_name, &v[*n]) == 0)
      (*n)++;
  }
  closedir (d);
  if (*n)
    qsort (v, *n, sizeof *v, entry_cmp);
  *out = v;
  return 0;
}

static void
entries_free (struct entry *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    entry_free (&v[i]);
  free (v);
}

/* ---- the mount process ------------------------------------------------------------- */

/* One mount of the process: a volume bound on a directory.  A plain mount
 * has one (on DIR); a guest mount (--guest) has the guest's root on DIR,
 * then every other volume the guest mounts, on DIR/<its mount point>,
 * sorted by that path (a parent comes before its children). */
struct gmount {
  long k;                       /* the volume's index in the set */
  char *mp;                     /* the guest's mount point ("/", "/home"); NULL: plain */
  char *dir;                    /* where it is bound: DIR, DIR/home */
  bool mounted;                 /* we mounted the volume (MountVolume) */
  bool bound;                   /* dir is bound */
  bool skipped;                 /* left out (the warning said why) */
};

struct daemon {
  char **disks;
  size_t ndisks;
  const char *volume;
  char *dir;
  bool rw, guest;
  const char *config;
  struct cli_set s;
  struct gmount *gm;
  size_t ngm;
  bool init;
  int lfd;
  char base[PATH_MAX];
};

static void
gmounts_free (struct daemon *d)
{
  for (size_t i = 0; i < d->ngm; i++) {
    free (d->gm[i].mp);
    free (d->gm[i].dir);
  }
  free (d->gm);
  d->gm = NULL;
  d->ngm = 0;
}

/* Unmount G's directory (lazily with FORCE); "" or the reason in MSG. */
static int
unbind_one (struct gmount *g, bool force, char *msg, size_t len)
{
  for (int i = 0; g->bound && is_mount_root (g->dir) == 1; i++) {
    if (umount2 (g->dir, UMOUNT_NOFOLLOW | (force ? MNT_DETACH : 0)) == 0)
      continue;
    if (errno == EBUSY && i < 10) {           /* a reader finishing */
      msleep (50);
      continue;
    }
    snprintf (msg, len, "%s: %s%s", g->dir, strerror (errno), errno == EBUSY
              ? " (files are open there: close them, or use vixmount umount --force)" : "");
    return -1;
  }
  g->bound = false;
  return 0;
}

static int bind_one (struct daemon *d, struct gmount *g, bool record);

/* Unmount every directory, the deepest first (the reverse of the order
 * they were bound in).  Without FORCE, a busy one stops it, and what was
 * unmounted before is bound again: the tree stays whole.  "" or the reason
 * in MSG. */
static int
unbind (struct daemon *d, bool force, char *msg, size_t len)
{
  for (size_t i = d->ngm; i-- > 0; ) {
    if (unbind_one (&d->gm[i], force, msg, len) == 0)
      continue;
    for (size_t j = i + 1; j < d->ngm; j++)
      if (!d->gm[j].skipped && !d->gm[j].bound && bind_one (d, &d->gm[j], false) != 0)
        fprintf (stderr, "vixmount: %s could not be mounted again\n", d->gm[j].dir);
    return -1;
  }
  return 0;
}

/* Everything released: the directories, the volumes, the set, the library,
 * the entry. */
static void
release_all (struct daemon *d, bool force)
{
  char msg[REPLY_MAX];

  if (unbind (d, true, msg, sizeof msg) == -1)
    fprintf (stderr, "vixmount: %s\n", msg);
  for (size_t i = d->ngm; d->s.set && i-- > 0; )
    if (d->gm[i].mounted) {
      VixError e = VixMntapi_DismountVolume (d->s.vh[d->gm[i].k], force);
      if (VIX_FAILED (e))
        cli_vix_error (e, d->s.det[d->gm[i].k]->name);
      d->gm[i].mounted = false;
    }
  cli_set_close (&d->s);        /* the set's teardown: whatever is left */
  if (d->init)
    VixMntapi_Exit ();
  d->init = false;
  if (d->lfd >= 0)
    close (d->lfd);
  d->lfd = -1;
  if (d->base[0])
    entry_remove_files (d->base);
}

static int
write_info (struct daemon *d)
{
  char tmp[PATH_MAX + 16], path[PATH_MAX + 8];
  VixDiskSetInfo *si = NULL;
  FILE *f;
  int bad;

  if (VIX_FAILED (VixMntapi_GetDiskSetInfo (d->s.set, &si)))
    return -1;
  snprintf (tmp, sizeof tmp, "%s.info.tmp", d->base);
  snprintf (path, sizeof path, "%s.info", d->base);
  f = fopen (tmp, "we");
  if (!f) {
    VixMntapi_FreeDiskSetInfo (si);
    return -1;
  }
  fprintf (f, "pid %ld\ndir %s\n", (long) getpid (), d->dir);
  /* a guest mount: "volume guest:d0p1,d0p2", "filesystem ext4,vfat", and
   * one "guest VOLUME FILESYSTEM MOUNTPOINT" line per volume bound */
  fprintf (f, "volume %s", d->guest ? "guest:" : "");
  for (size_t i = 0, n = 0; i < d->ngm; i++)
    if (d->gm[i].bound)
      fprintf (f, "%s%s", n++ ? "," : "", d->s.det[d->gm[i].k]->name);
  fprintf (f, "\nfilesystem ");
  for (size_t i = 0, n = 0; i < d->ngm; i++)
    if (d->gm[i].bound)
      fprintf (f, "%s%s", n++ ? "," : "", d->s.det[d->gm[i].k]->fsType);
  fprintf (f, "\nmode %s\nset %s\n", d->rw ? "rw" : "ro", si->mountPath);
  for (size_t i = 0; d->guest && i < d->ngm; i++)
    if (d->gm[i].bound)
      fprintf (f, "guest %s %s %s\n", d->s.det[d->gm[i].k]->name,
               d->s.det[d->gm[i].k]->fsType, d->gm[i].mp);
  for (size_t i = 0; i < d->ndisks; i++)
    fprintf (f, "disk %s\n", d->disks[i]);
  VixMntapi_FreeDiskSetInfo (si);
  bad = ferror (f);
  if (fclose (f) == EOF || bad || rename (tmp, path) == -1) {
    unlink (tmp);
    return -1;
  }
  return 0;
}

/* The guest's mount point MP, made canonical in place: one slash between
 * components, none at the end ("/" stays).  False if it is not absolute,
 * has a "." or ".." component, or a newline. */
static bool
canonical_mp (char *mp)
{
  char *o = mp, *p = mp;

  if (mp[0] != '/' || strchr (mp, '\n'))
    return false;
  while (*p) {
    size_t n;
    while (*p == '/')
      p++;
    if (!*p)
      break;
    n = strcspn (p, "/");
    if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
      return false;
    *o++ = '/';
    memmove (o, p, n);
    o += n;
    p += n;
  }
  if (o == mp)
    *o++ = '/';
  *o = '\0';
  return true;
}

/* MP's directory below DIR, reached without following a symbolic link
 * (they are the guest's: an absolute one would lead into the host), as an
 * O_PATH descriptor; -1 with the reason in WHY. */
static int
open_beneath (const char *dir, const char *mp, const char **why)
{
  char comp[NAME_MAX + 1];
  const char *p = mp;
  int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    *why = strerror (errno);
  while (fd >= 0 && *p) {
    struct stat st;
    size_t n;
    int next;
    while (*p == '/')
      p++;
    if (!*p)
      break;
    n = strcspn (p, "/");
    if (n > NAME_MAX) {
      *why = strerror (ENAMETOOLONG);
      close (fd);
      return -1;
    }
    memcpy (comp, p, n);
    comp[n] = '\0';
    p += n;
    next = openat (fd, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (next < 0) {
      *why = errno == ENOENT ? "no such directory in the guest"
        : errno == ENOTDIR && fstatat (fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0
          && S_ISLNK (st.st_mode) ? "a symbolic link in the guest (not followed)"
        : errno == ENOTDIR ? "not a directory in the guest" : strerror (errno);
    }
    close (fd);
    fd = next;
  }
  return fd;
}

/* Bind volume G (mounted) on its directory, with the volume's flags;
 * RECORD: record it in the set's journal first.  0, or 1 after the message. */
static int
bind_one (struct daemon *d, struct gmount *g, bool record)
{
  const char *link = d->s.info[g->k]->symbolicLink, *why;
  char target[64];
  unsigned long flags;
  int fd = -1;

  if (g->mp && strcmp (g->mp, "/") != 0) {
    /* checked again, now that its parents are mounted */
    if ((fd = open_beneath (d->dir, g->mp, &why)) < 0) {
      cli_error ("%s: cannot mount %s there: %s", g->dir, d->s.det[g->k]->name, why);
      return 1;
    }
    snprintf (target, sizeof target, "/proc/self/fd/%d", fd);
  }
  if (record) {
    VixError e = Vixmount_RecordMountPoint (d->s.set, g->dir);
    if (VIX_FAILED (e)) {
      if (fd >= 0)
        close (fd);
      return cli_vix_error (e, NULL);
    }
  }
  if (mount (link, fd >= 0 ? target : g->dir, NULL, MS_BIND, NULL) == -1) {
    cli_error ("%s: cannot bind-mount %s there: %s", g->dir, link, strerror (errno));
    if (fd >= 0)
      close (fd);
    return 1;
  }
  if (fd >= 0)
    close (fd);
  g->bound = true;
  /* a guest's tree: what is mounted below DIR is not propagated to the
   * set's own mount of the volume (a shared mount's peer) */
  if (d->guest && mount (NULL, g->dir, NULL, MS_PRIVATE, NULL) == -1) {
    cli_error ("%s: cannot make the mount private: %s", g->dir, strerror (errno));
    return 1;
  }
  /* a bind mount has flags of its own: the volume's (ro: noexec too) */
  flags = MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV
    | (d->rw ? 0 : MS_RDONLY | MS_NOEXEC);
  if (mount (NULL, g->dir, NULL, flags, NULL) == -1) {
    cli_error ("%s: cannot set the mount's flags: %s", g->dir, strerror (errno));
    return 1;
  }
  return 0;
}

static int
gmount_cmp (const void *a, const void *b)
{
  return strcmp (((const struct gmount *) a)->mp, ((const struct gmount *) b)->mp);
}

/* Appends a mount of volume K on MP (NULL: DIR itself, plain); -1 when out
 * of memory. */
static int
gmount_add (struct daemon *d, long k, const char *mp)
{
  struct gmount *g = realloc (d->gm, (d->ngm + 1) * sizeof *g);

  if (!g)
    return -1;
  d->gm = g;
  g = &d->gm[d->ngm];
  memset (g, 0, sizeof *g);
  g->k = k;
  if (mp && !(g->mp = strdup (mp)))
    return -1;
  if (!mp || !strcmp (mp, "/"))
    g->dir = strdup (d->dir);
  else if (asprintf (&g->dir, "%s%s", d->dir, mp) < 0)
    g->dir = NULL;
  if (!g->dir) {
    free (g->mp);
    return -1;
  }
  d->ngm++;
  return 0;
}

/* --guest: inspect the guest and plan its tree: the system volume on "/",
 * every other volume with a guest mount point on its first one (a Linux
 * guest; a Windows guest's other drives are left out), sorted by path.
 * 0, or 1 after the message. */
static int
guest_plan (struct daemon *d)
{
  VixmountInspection *in = NULL;
  VixError e = Vixmount_Inspect (d->s.set, &in);
  long sys = -1;
  int r = 1;

  if (VIX_FAILED (e))
    return cli_vix_error (e, "guest inspection");
  if (in->family == VIXMNTAPI_NO_OS || !in->systemVolume) {
    cli_error ("%s", in->noOsReason ? in->noOsReason : "no operating system found on the disk set");
    goto out;
  }
  for (size_t i = 0; i < d->s.n; i++)
    if (!strcmp (d->s.det[i]->name, in->systemVolume))
      sys = (long) i;
  if (sys < 0 || gmount_add (d, sys, "/") == -1) {
    cli_error (sys < 0 ? "guest inspection: the system volume is not in the set" : "out of memory");
    goto out;
  }
  for (size_t i = 0; i < in->numVolumes; i++) {
    const VixmountGuestVolume *v = &in->volumes[i];
    long k = -1;
    char *mp;
    if (!v->numGuestMountPoints || !strcmp (v->name, in->systemVolume))
      continue;
    for (size_t j = 0; j < d->s.n; j++)
      if (!strcmp (d->s.det[j]->name, v->name))
        k = (long) j;
    if (k < 0)
      continue;
    if (in->family == VIXMNTAPI_WINDOWS) {
      cli_error ("warning: %s (%s) not mounted: a Windows guest's other drives have no "
                 "place in the system drive's tree (mount it on its own)", v->name,
                 v->guestMountPoints[0]);
      continue;
    }
    if (!d->s.det[k]->mountable) {
      cli_error ("warning: %s (%s) not mounted: %s", v->name, v->guestMountPoints[0],
                 d->s.det[k]->notMountableReason ? d->s.det[k]->notMountableReason
                 : "it cannot be mounted");
      continue;
    }
    if (!(mp = strdup (v->guestMountPoints[0]))) {
      cli_error ("out of memory");
      goto out;
    }
    if (!canonical_mp (mp))
      cli_error ("warning: %s not mounted: its guest mount point %s is not a plain "
                 "absolute path", v->name, v->guestMountPoints[0]);
    else if (gmount_add (d, k, mp) == -1) {
      free (mp);
      cli_error ("out of memory");
      goto out;
    }
    free (mp);
  }
  if (d->ngm > 1)
    qsort (d->gm + 1, d->ngm - 1, sizeof *d->gm, gmount_cmp);
  for (size_t i = 1; i < d->ngm; i++)
    if (!strcmp (d->gm[i].mp, "/") || !strcmp (d->gm[i].mp, d->gm[i - 1].mp)) {
      cli_error ("warning: %s not mounted: %s is the mount point of %s already",
                 d->s.det[d->gm[i].k]->name, d->gm[i].mp,
                 d->s.det[d->gm[!strcmp (d->gm[i].mp, "/") ? 0 : i - 1].k]->name);
      d->gm[i].skipped = true;
    }
  r = 0;
 out:
  Vixmount_FreeInspection (in);
  return r;
}

/* Mount volume G and bind it on its directory.  0 (G->skipped: a volume of
 * a guest's tree that could not be mounted, after a warning), or 1 after
 * the message. */
static int
mount_one (struct daemon *d, struct gmount *g)
{
  const VixmountVolumeDetails *det = d->s.det[g->k];
  bool child = g->mp && strcmp (g->mp, "/") != 0;
  VixError e;

  if (child) {
    /* its directory must be there, in the tree mounted so far: nothing
     * is ever created in the guest */
    const char *why;
    int fd = open_beneath (d->dir, g->mp, &why);
    if (fd < 0) {
      cli_error ("warning: %s not mounted: %s: %s", det->name, g->mp, why);
      g->skipped = true;
      return 0;
    }
    close (fd);
  }
  /* inspection left the guest's root mounted read-only: read-write, it is
   * mounted again */
  if (d->rw && g->mp && !child)
    (void) VixMntapi_DismountVolume (d->s.vh[g->k], false);
  e = VixMntapi_MountVolume (d->s.vh[g->k], !d->rw);
  if (e == VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED && g->mp && !child && !d->rw)
    e = VIX_OK;                 /* the root, as inspection left it */
  if (VIX_FAILED (e)) {
    if (child) {
      cli_error ("warning: %s not mounted on %s: %s", det->name, g->mp, cli_vix_text (e));
      g->skipped = true;
      return 0;
    }
    /* "DISK: d0p2 cannot be mounted: swap" */
    return cli_vix_error (e, d->disks[det->disk < d->ndisks ? det->disk : 0]);
  }
  g->mounted = true;
  if (cli_set_refresh (&d->s, (size_t) g->k) != 0)
    return 1;
  return bind_one (d, g, true);
}

/* Open, mount, bind, listen: 0, or 1 after the message (on the caller's
 * stderr, still ours). */
static int
daemon_start (struct daemon *d)
{
  char sock[PATH_MAX + 8];
  struct sockaddr_un a;
  long k;

  if (cli_mntapi_init (d->config) != 0)
    return 1;
  d->init = true;
  if (cli_set_open (d->disks, d->ndisks, d->rw, &d->s) != 0)
    return 1;
  if (d->guest) {
    if (guest_plan (d) != 0)
      return 1;
  }
  else if ((k = cli_set_find (&d->s, d->volume)) < 0)
    return 1;
  else if (gmount_add (d, k, NULL) == -1) {
    cli_error ("out of memory");
    return 1;
  }
  for (size_t i = 0; i < d->ngm; i++)
    if (!d->gm[i].skipped && mount_one (d, &d->gm[i]) != 0)
      return 1;
  snprintf (d->base, sizeof d->base, "%s/%ld", rundir (), (long) getpid ());
  snprintf (sock, sizeof sock, "%s.sock", d->base);
  unlink (sock);
  d->lfd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (d->lfd < 0 || sock_addr (sock, &a) == -1
      || bind (d->lfd, (struct sockaddr *) &a, sizeof a) == -1 || listen (d->lfd, 8) == -1) {
    cli_error ("%s: %s", sock, strerror (errno));
    return 1;
  }
  if (write_info (d) == -1) {
    cli_error ("%s.info: cannot write: %s", d->base, strerror (errno));
    return 1;
  }
  if (cli_verbose && !d->guest)
    cli_error ("%s (%s) of %s mounted %s on %s (process %ld)", d->s.det[d->gm[0].k]->name,
               d->s.det[d->gm[0].k]->fsType, d->disks[0], d->rw ? "read-write" : "read-only",
               d->dir, (long) getpid ());
  else if (cli_verbose) {
    cli_error ("the guest of %s mounted %s on %s (process %ld):", d->disks[0],
               d->rw ? "read-write" : "read-only", d->dir, (long) getpid ());
    for (size_t i = 0; i < d->ngm; i++)
      if (d->gm[i].bound)
        cli_error ("  %s (%s) on %s", d->s.det[d->gm[i].k]->name,
                   d->s.det[d->gm[i].k]->fsType, d->gm[i].dir);
  }
  return 0;
}

/* One request on a connection: "ping", "umount", "umount force".  Returns
 * 1 when the process is to end (everything released). */
static int
serve (struct daemon *d, int fd)
{
  char req[64] = "", msg[REPLY_MAX];
  struct ucred cred;
  socklen_t cl = sizeof cred;
  struct timeval tv = { 5, 0 };
  ssize_t r;
  size_t got = 0;
  bool force;

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == -1
      || (cred.uid != 0 && cred.uid != geteuid ()))
    return 0;
  while (got < sizeof req - 1 && (r = read (fd, req + got, sizeof req - 1 - got)) > 0) {
    got += (size_t) r;
    req[got] = '\0';
    if (strchr (req, '\n'))
      break;
  }
  req[strcspn (req, "\n")] = '\0';
  if (!strcmp (req, "ping")) {
    (void) !write (fd, "ok\n", 3);
    return 0;
  }
  if (strcmp (req, "umount") && strcmp (req, "umount force")) {
    (void) !write (fd, "error unknown request\n", 22);
    return 0;
  }
  force = strcmp (req, "umount force") == 0;
  if (unbind (d, force, msg, sizeof msg) == -1) {
    char line[REPLY_MAX + 8];
    int n = snprintf (line, sizeof line, "error %s\n", msg);
    fprintf (stderr, "vixmount: umount refused: %s\n", msg);
    (void) !write (fd, line, (size_t) n);
    return 0;
  }
  release_all (d, force);
  (void) !write (fd, "ok\n", 3);
  return 1;               /* the connection closes when the process ends */
}

/* The mount process, after the second fork.  NOTIFY: the pipe on which
 * the command waits for "ok" (or "fail": the message is on stderr). */
static int
daemon_main (struct daemon *d, int notify)
{
  sigset_t mask;
  int sfd, logfd, devnull;
  char logpath[PATH_MAX + 8];
  int r;

  if (chdir ("/") == -1)
    _exit (1);
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2 (devnull, STDIN_FILENO);
    dup2 (devnull, STDOUT_FILENO);
    close (devnull);
  }
  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  d->lfd = -1;
  if (sfd < 0 || daemon_start (d) != 0) {
    release_all (d, true);
    (void) !write (notify, "fail\n", 5);
    return 1;
  }
  /* from now on the log is our stderr; the command's is let go */
  snprintf (logpath, sizeof logpath, "%s.log", d->base);
  logfd = open (logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (logfd >= 0) {
    dup2 (logfd, STDERR_FILENO);
    close (logfd);
  }
  else
    dup2 (STDOUT_FILENO, STDERR_FILENO);
  cli_verbose = true;
  (void) !write (notify, "ok\n", 3);
  close (notify);

  for (r = 0; r == 0; ) {
    struct pollfd p[2] = { { d->lfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
    if (poll (p, 2, -1) == -1) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read (sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGHUP)
        continue;
      fprintf (stderr, "vixmount: signal %u: unmounting %s\n", si.ssi_signo, d->dir);
      break;
    }
    if (p[0].revents & POLLIN) {
      int fd = accept4 (d->lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd >= 0) {
        r = serve (d, fd);
        if (r == 1) {
          /* keep the connection open until exit: the caller waits for it */
          close (sfd);
          return 0;
        }
        close (fd);
      }
    }
  }
  release_all (d, true);
  close (sfd);
  return 0;
}

/* ---- mount ------------------------------------------------------------------------- */

/* DIR for mounting on: its absolute name, or NULL after the message. */
static char *
check_dir (const char *dir)
{
  struct stat st;
  char *real;
  DIR *dd;
  struct dirent *de;
  bool empty = true;

  if (stat (dir, &st) == -1) {
    cli_error ("%s: %s", dir, strerror (errno));
    return NULL;
  }
  if (!S_ISDIR (st.st_mode)) {
    cli_error ("%s: not a directory", dir);
    return NULL;
  }
  if (!(real = realpath (dir, NULL))) {
    cli_error ("%s: %s", dir, strerror (errno));
    return NULL;
  }
  if (strchr (real, '\n')) {
    cli_error ("%s: a directory name with a newline is not supported", dir);
    free (real);
    return NULL;
  }
  if (is_mount_root (real) == 1) {
    cli_error ("%s: something is mounted there already", dir);
    free (real);
    return NULL;
  }
  if (!(dd = opendir (real))) {
    cli_error ("%s: %s", dir, strerror (errno));
    free (real);
    return NULL;
  }
  while (empty && (de = readdir (dd)))
    empty = !strcmp (de->d_name, ".") || !strcmp (de->d_name, "..");
  closedir (dd);
  if (!empty) {
    cli_error ("%s: directory not empty", dir);
    free (real);
    return NULL;
  }
  return real;
}

int
cli_mount (const struct cli_command *c, int argc, char **argv)
{
  enum { O_RW = 256, O_GUEST, O_CONFIG };
  static const struct option longopts[] = {
    { "rw", no_argument, NULL, O_RW },
    { "guest", no_argument, NULL, O_GUEST },
    { "config", required_argument, NULL, O_CONFIG },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct daemon d = { .lfd = -1 };
  char *config = NULL, ok[8] = "";
  int ch, p[2], status, r = 1;
  pid_t child;
  ssize_t n;
  size_t got = 0;

  while ((ch = getopt_long (argc, argv, ":vh", longopts, NULL)) != -1) {
    switch (ch) {
    case O_RW: d.rw = true; break;
    case O_GUEST: d.guest = true; break;
    case O_CONFIG: d.config = optarg; break;
    case 'v': cli_verbose = true; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (d.guest && argc - optind < 2)
    return cli_usage (c, "--guest needs DISK... and DIR");
  if (!d.guest && argc - optind < 3)
    return cli_usage (c, "needs DISK..., VOLUME and DIR");
  if (!cli_need_root ("mount", "loop devices and mounts"))
    return 1;
  d.ndisks = (size_t) (argc - optind - (d.guest ? 1 : 2));
  d.volume = d.guest ? "the guest" : argv[argc - 2];
  if (!(d.dir = check_dir (argv[argc - 1])))
    return 1;
  if (!(d.disks = cli_real_paths (argv + optind, d.ndisks)))
    goto out;
  for (size_t i = 0; i < d.ndisks; i++)
    if (strchr (d.disks[i], '\n')) {
      cli_error ("%s: a file name with a newline is not supported", argv[optind + i]);
      goto out;
    }
  if (d.config) {
    if (!(config = realpath (d.config, NULL))) {
      cli_error ("%s: %s", d.config, strerror (errno));
      goto out;
    }
    d.config = config;
  }
  if (make_rundir () == -1)
    goto out;
  fflush (NULL);
  if (pipe2 (p, O_CLOEXEC) == -1 || (child = fork ()) == -1) {
    cli_error ("cannot start the mount process: %s", strerror (errno));
    goto out;
  }
  if (child == 0) {
    /* first child: a new session; its child is the mount process, which
     * is no session leader (it can never get a controlling terminal) */
    pid_t g;
    close (p[0]);
    setsid ();
    g = fork ();
    if (g == -1) {
      cli_error ("cannot start the mount process: %s", strerror (errno));
      _exit (1);
    }
    if (g > 0)
      _exit (0);
    r = daemon_main (&d, p[1]);
    gmounts_free (&d);
    cli_free_strings (d.disks, d.ndisks);
    free (d.dir);
    free (config);
    exit (r);
  }
  close (p[1]);
  waitpid (child, &status, 0);
  while (got < sizeof ok - 1 && ((n = read (p[0], ok + got, sizeof ok - 1 - got)) > 0
                                  || (n == -1 && errno == EINTR)))
    got += n > 0 ? (size_t) n : 0;
  close (p[0]);
  if (!strcmp (ok, "ok\n"))
    r = 0;
  else if (strcmp (ok, "fail\n"))
    cli_error ("%s: the mount process ended before mounting %s", d.dir, d.volume);
 out:
  cli_free_strings (d.disks, d.ndisks);
  free (d.dir);
  free (config);
  return r;
}

/* ---- umount ------------------------------------------------------------------------- */

/* The DIR of the guest mount whose tree has DIR/MP = PATH below it, or NULL. */
static const char *
guest_tree_of (const struct entry *v, size_t n, const char *path)
{
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen (v[i].dir);
    if (strncmp (path, v[i].dir, l) != 0 || path[l] != '/')
      continue;
    for (size_t k = 0; k < v[i].nguest; k++) {
      const char *mp = strchr (v[i].guest[k], ' ');
      if (mp && (mp = strchr (mp + 1, ' ')) && !strcmp (mp + 1, path + l))
        return v[i].dir;
    }
  }
  return NULL;
}

int
cli_umount (const struct cli_command *c, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "force", no_argument, NULL, 'f' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct entry *v;
  size_t n, i;
  bool force = false;
  char *dir, sock[PATH_MAX + 8], reply[REPLY_MAX + 8];
  const char *root;
  int ch, r = 1;

  while ((ch = getopt_long (argc, argv, ":fh", longopts, NULL)) != -1) {
    switch (ch) {
    case 'f': force = true; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (argc - optind != 1)
    return cli_usage (c, "needs DIR");
  if (!cli_need_root ("umount", "mounts and loop devices"))
    return 1;
  if (!(dir = realpath (argv[optind], NULL))) {
    cli_error ("%s: %s", argv[optind], strerror (errno));
    return 1;
  }
  if (entries_load (&v, &n) == -1) {
    cli_error ("%s: %s", rundir (), strerror (errno));
    free (dir);
    return 1;
  }
  for (i = 0; i < n && strcmp (v[i].dir, dir) != 0; i++)
    ;
  if (i == n && (root = guest_tree_of (v, n, dir)))
    cli_error ("%s: part of the guest mount on %s (vixmount umount %s unmounts all of it)",
               argv[optind], root, root);
  else if (i == n)
    cli_error ("%s: not mounted by vixmount%s", argv[optind],
               is_mount_root (dir) == 1 ? " (something else is mounted there)" : "");
  else if (!v[i].alive) {
    /* its process died: what it left is a stale set */
    char *set = strdup (v[i].set), *tmp;
    if (set && (tmp = strrchr (set, '/')) && (*tmp = '\0', tmp = strrchr (set, '/'))) {
      *tmp = '\0';
      Vixmount_CleanupStale (set);
    }
    free (set);
    entry_remove_files (v[i].base);
    if (is_mount_root (dir) == 1)
      cli_error ("%s: its mount process (%ld) died, and the mount could not be removed",
                 argv[optind], v[i].pid);
    else {
      cli_error ("%s: its mount process (%ld) had died; what it left is cleaned up",
                 argv[optind], v[i].pid);
      r = 0;
    }
  }
  else {
    snprintf (sock, sizeof sock, "%s.sock", v[i].base);
    if (talk (sock, force ? "umount force\n" : "umount\n", reply, sizeof reply, 300, true) == -1)
      cli_error ("%s: the mount process (%ld) did not answer: %s", argv[optind], v[i].pid,
                 strerror (errno));
    else if (!strncmp (reply, "error ", 6))
      cli_error ("%s", reply + 6);
    else
      r = 0;
  }
  entries_free (v, n);
  free (dir);
  return r;
}

/* ---- status ----------------------------------------------------------------------- */

/* DIR/MP (DIR for "/") as a JSON string. */
static void
guest_dir_json (const char *dir, const char *mp)
{
  char *p;
  if (!strcmp (mp, "/") || asprintf (&p, "%s%s", dir, mp) < 0) {
    vx_json_string (stdout, dir);
    return;
  }
  vx_json_string (stdout, p);
  free (p);
}

static const char *
entry_state (const struct entry *e)
{
  return !e->alive ? "dead" : e->mounted == 0 ? "unmounted" : "mounted";
}

int
cli_status (const struct cli_command *c, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct entry *v;
  size_t n, w[4] = { 3, 6, 10, 5 };
  bool json = false;
  int ch;

  while ((ch = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case 'j': json = true; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (optind != argc)
    return cli_usage (c, "takes no arguments");
  if (entries_load (&v, &n) == -1) {
    if (errno == EACCES)
      cli_error ("%s: %s (status needs root)", rundir (), strerror (errno));
    else
      cli_error ("%s: %s", rundir (), strerror (errno));
    return 1;
  }
  if (json) {
    printf ("{\"command\": \"status\", \"schemaVersion\": %d, \"mounts\": [", CLI_SCHEMA_VERSION);
    for (size_t i = 0; i < n; i++) {
      const struct entry *e = &v[i];
      printf ("%s\n  {\"dir\": ", i ? "," : "");
      vx_json_string (stdout, e->dir);
      cli_json_field (stdout, ", \"volume\": ", e->volume);
      cli_json_field (stdout, ", \"filesystem\": ", e->fs);
      printf (", \"readOnly\": %s, \"state\": \"%s\", \"pid\": %ld,\n   \"set\": ",
              strcmp (e->mode, "rw") ? "true" : "false", entry_state (e), e->pid);
      vx_json_string (stdout, e->set);
      printf (", \"disks\": [");
      for (size_t k = 0; k < e->ndisks; k++) {
        fputs (k ? ", " : "", stdout);
        vx_json_string (stdout, e->disks[k]);
      }
      printf ("]");
      if (e->nguest) {
        /* a guest mount: where each volume of its tree is */
        printf (",\n   \"guestMounts\": [");
        for (size_t k = 0, shown = 0; k < e->nguest; k++) {
          char vol[256], fs[64];
          int off = 0;
          if (sscanf (e->guest[k], "%255s %63s %n", vol, fs, &off) < 2 || !off)
            continue;
          printf ("%s{\"mountPoint\": ", shown++ ? ", " : "");
          vx_json_string (stdout, e->guest[k] + off);
          printf (", \"dir\": ");
          guest_dir_json (e->dir, e->guest[k] + off);
          cli_json_field (stdout, ", \"volume\": ", vol);
          cli_json_field (stdout, ", \"filesystem\": ", fs);
          printf ("}");
        }
        printf ("]");
      }
      printf ("}");
    }
    printf (n ? "\n]}\n" : "]}\n");
  }
  else if (n) {
    for (size_t i = 0; i < n; i++) {
      size_t l[4] = { strlen (v[i].dir), strlen (v[i].volume), strlen (v[i].fs),
                      strlen (entry_state (&v[i])) };
      for (size_t k = 0; k < 4; k++)
        w[k] = l[k] > w[k] ? l[k] : w[k];
    }
    printf ("%-*s  %-*s  %-*s  MODE  %-*s  %7s  DISKS\n", (int) w[0], "DIR", (int) w[1],
            "VOLUME", (int) w[2], "FILESYSTEM", (int) w[3], "STATE", "PID");
    for (size_t i = 0; i < n; i++) {
      const struct entry *e = &v[i];
      printf ("%-*s  %-*s  %-*s  %-4s  %-*s  %7ld  ", (int) w[0], e->dir, (int) w[1],
              e->volume, (int) w[2], e->fs, e->mode, (int) w[3], entry_state (e), e->pid);
      for (size_t k = 0; k < e->ndisks; k++)
        printf ("%s%s", k ? "," : "", e->disks[k]);
      printf ("\n");
    }
    for (size_t i = 0; i < n; i++)
      if (!v[i].alive) {
        cli_error ("%s: its mount process died; run vixmount cleanup", v[i].dir);
        break;
      }
  }
  entries_free (v, n);
  return 0;
}

/* ---- cleanup ----------------------------------------------------------------------- */

int
cli_cleanup (const struct cli_command *c, int argc, char **argv)
{
  enum { O_CONFIG = 256 };
  static const struct option longopts[] = {
    { "config", required_argument, NULL, O_CONFIG },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct vx_config cfg = VX_CONFIG_INIT;
  const char *config = NULL, *tmp = NULL;
  struct entry *v;
  size_t n;
  int ch, total = 0, k;

  while ((ch = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case O_CONFIG: config = optarg; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (argc - optind > 1 || (config && argc - optind == 1))
    return cli_usage (c, "takes TMPDIRECTORY or --config FILE, not both");
  if (!cli_need_root ("cleanup", "mounts, loop devices and processes of root"))
    return 1;
  if (config) {
    int e = vx_config_read (config, &cfg);
    if (e) {
      cli_error ("%s: %s", config, strerror (e));
      vx_config_free (&cfg);
      return 1;
    }
    tmp = cfg.tmp_directory;
  }
  else if (optind < argc)
    tmp = argv[optind];
  /* mount processes that died: their sets, wherever they live */
  if (entries_load (&v, &n) == 0) {
    for (size_t i = 0; i < n; i++) {
      char *set, *s;
      if (v[i].alive)
        continue;
      set = strdup (v[i].set);
      if (set && (s = strrchr (set, '/')) && (*s = '\0', s = strrchr (set, '/'))) {
        *s = '\0';
        if ((k = Vixmount_CleanupStale (set)) > 0)
          total += k;
      }
      free (set);
      entry_remove_files (v[i].base);
      printf ("removed the mount of %s (its process %ld had died)\n", v[i].dir, v[i].pid);
    }
    entries_free (v, n);
  }
  k = Vixmount_CleanupStale (tmp);
  vx_config_free (&cfg);
  if (k < 0) {
    cli_error ("out of memory");
    return 1;
  }
  total += k;
  printf ("%d disk set%s cleaned up\n", total, total == 1 ? "" : "s");
  return 0;
}

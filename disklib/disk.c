/* libvixDiskLib: Open, Close, GetInfo, disk locks, Attach.
 *
 * Open and Close (and everything else that creates or destroys handles)
 * run under vx_big_lock, so callers need not serialise them as VMware's
 * guide asks.  I/O on different handles runs in parallel; I/O on one
 * handle from several threads is safe too (reads in parallel, writes
 * exclusive), although VMware's rules only require one thread at a time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "parse.h"
#include "vixDiskLibExt.h"

#define KNOWN_OPEN_FLAGS                                                  \
  (VIXDISKLIB_FLAG_OPEN_UNBUFFERED | VIXDISKLIB_FLAG_OPEN_SINGLE_LINK |   \
   VIXDISKLIB_FLAG_OPEN_READ_ONLY | VIXDISKLIB_FLAG_OPEN_COMPRESSION_MASK)

void
vx_vmdk_options (uint32_t flags, bool readonly, struct vmdk_options *o)
{
  memset (o, 0, sizeof *o);
  /* flock the chain: exclusive on a writable top link, shared elsewhere */
  o->flags |= VMDK_OPEN_LOCK;
  if (readonly)
    o->flags |= VMDK_OPEN_RDONLY;
  if (flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK)
    o->flags |= VMDK_OPEN_SINGLE_LINK;
  if (vx_g.cfg.allow_escape)
    o->flags |= VMDK_OPEN_ALLOW_ESCAPE;
}

/* ---- locks ---------------------------------------------------------------- */

static char *
lock_dir_of (const char *path)
{
  char *s;

  return asprintf (&s, "%s.lck", path) == -1 ? NULL : s;
}

static void
lock_file_name (char *buf, size_t n)
{
  char host[256] = "localhost";

  gethostname (host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  for (char *p = host; *p; p++)
    if (*p == '/' || *p == '-')
      *p = '_';
  snprintf (buf, n, "vixmount-%s-%d.lck", host, (int) getpid ());
}

/* Is the lock directory held?  0 free or stale (stale entries removed),
 * 1 held (holder described in WHO), -1 error (errno). */
static int
lock_state (const char *dir, char *who, size_t whon)
{
  char me[300], host[256] = "localhost";
  DIR *dp;
  struct dirent *de;
  int held = 0, dfd;

  lock_file_name (me, sizeof me);
  gethostname (host, sizeof host - 1);
  host[sizeof host - 1] = '\0';
  for (char *p = host; *p; p++)
    if (*p == '/' || *p == '-')
      *p = '_';
  dp = opendir (dir);
  if (!dp)
    return errno == ENOENT ? 0 : -1;
  dfd = dirfd (dp);
  while ((de = readdir (dp)) != NULL) {
    char h[256];
    int pid, len = 0;
    if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
      continue;
    if (sscanf (de->d_name, "vixmount-%255[^-]-%d.lck%n", h, &pid, &len) == 2
        && de->d_name[len] == '\0' && strcmp (h, host) == 0 && pid > 0
        && kill (pid, 0) == -1 && errno == ESRCH) {
      unlinkat (dfd, de->d_name, 0);   /* stale: its process is gone */
      continue;
    }
    held = 1;
    snprintf (who, whon, "%s", de->d_name);
  }
  closedir (dp);
  return held;
}

VixError
vx_lock_disk (const char *path, char **lockdir)
{
  char *dir = lock_dir_of (path), who[300] = "", me[300], *file;
  int fd;

  *lockdir = NULL;
  if (!dir)
    return vx_fail (VIX_E_OUT_OF_MEMORY, "Open: out of memory");
  for (int attempt = 0; ; attempt++) {
    if (mkdir (dir, 0755) == 0)
      break;
    if (errno != EEXIST || attempt > 0) {
      VixError e = vx_fail_errno (errno, "Open: %s: cannot create the lock "
                                  "directory %s (open the disk read-only to "
                                  "avoid locking)", path, dir);
      free (dir);
      return e;
    }
    switch (lock_state (dir, who, sizeof who)) {
    case 1: {
      VixError e = vx_fail (VIX_E_FILE_ALREADY_LOCKED, "Open: %s is locked "
                            "for writing (%s/%s exists); close the other user "
                            "or open read-only", path, dir, who);
      free (dir);
      return e;
    }
    case -1: {
      VixError e = vx_fail_errno (errno, "Open: %s: reading lock directory %s",
                                  path, dir);
      free (dir);
      return e;
    }
    default:   /* stale or empty: take it over */
      if (rmdir (dir) == -1 && errno != ENOENT) {
        VixError e = vx_fail_errno (errno, "Open: %s: removing stale lock "
                                    "directory %s", path, dir);
        free (dir);
        return e;
      }
      vx_log (VX_WARNING, "Open: %s: removed a stale lock directory %s", path,
              dir);
    }
  }
  lock_file_name (me, sizeof me);
  if (asprintf (&file, "%s/%s", dir, me) == -1) {
    rmdir (dir);
    free (dir);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "Open: out of memory");
  }
  fd = open (file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd == -1) {
    VixError e = vx_fail_errno (errno, "Open: %s: creating lock file %s", path,
                                file);
    free (file);
    rmdir (dir);
    free (dir);
    return e;
  }
  dprintf (fd, "pid=%d\n", (int) getpid ());
  close (fd);
  free (file);
  *lockdir = dir;
  return VIX_OK;
}

void
vx_unlock_disk (char *dir)
{
  char me[300], *file;

  if (!dir)
    return;
  lock_file_name (me, sizeof me);
  if (asprintf (&file, "%s/%s", dir, me) != -1) {
    unlink (file);
    free (file);
  }
  if (rmdir (dir) == -1 && errno != ENOENT)
    vx_log (VX_WARNING, "Close: cannot remove lock directory %s: %s", dir,
            strerror (errno));
  free (dir);
}

VixError
vx_check_unlocked (const char *path)
{
  char *dir = lock_dir_of (path), who[300] = "";
  int st;

  if (!dir)
    return vx_fail (VIX_E_OUT_OF_MEMORY, "out of memory");
  st = lock_state (dir, who, sizeof who);
  if (st == 1) {
    VixError e = vx_fail (VIX_E_FILE_ALREADY_LOCKED, "%s is in use (%s/%s "
                          "exists)", path, dir, who);
    free (dir);
    return e;
  }
  if (st == 0)
    rmdir (dir);   /* stale and now empty (or absent) */
  free (dir);
  return VIX_OK;
}

/* ---- handles ------------------------------------------------------------- */

struct vx_disk *
vx_disk_begin (VixDiskLibHandle h, bool exclusive, VixError *err)
{
  struct vx_disk *d = vx_handle_get (h, VX_KIND_DISK, err);

  if (!d)
    return NULL;
  if (exclusive)
    pthread_rwlock_wrlock (&d->iolock);
  else
    pthread_rwlock_rdlock (&d->iolock);
  if (!d->vd) {   /* a failed Attach left nothing open */
    vx_disk_end (d, exclusive);
    *err = VIX_E_DISK_NOIO;
    return NULL;
  }
  return d;
}

void
vx_disk_end (struct vx_disk *d, bool exclusive)
{
  (void) exclusive;
  pthread_rwlock_unlock (&d->iolock);
  vx_handle_put (d->tok);
}

void
vx_disk_destroy (struct vx_disk *d)
{
  if (!d)
    return;
  if (d->vd)
    vmdk_close (d->vd);
  vx_unlock_disk (d->lockdir);
  vx_handle_free (d->tok);
  pthread_rwlock_destroy (&d->iolock);
  free (d->path);
  free (d);
}

void
vx_close_disks_of (struct vx_conn *conn)
{
  void **v;
  size_t n;

  v = vx_handle_list (VX_KIND_DISK, &n);
  for (size_t i = 0; i < n; i++) {
    struct vx_disk *d = v[i];
    VixError e;
    if (conn && d->conn != conn)
      continue;
    vx_log (VX_WARNING, "%s: disk %s was still open; closing it",
            conn ? "Disconnect" : "Exit", d->path);
    if (vx_handle_retire (d->tok, VX_KIND_DISK, &e) == d)
      vx_disk_destroy (d);
  }
  free (v);
}

VX_API VixError
VixDiskLib_Open (const VixDiskLibConnection connection, const char *path,
                 uint32 flags, VixDiskLibHandle *diskHandle)
{
  struct vx_conn *c;
  struct vx_disk *d;
  struct vmdk_options o;
  struct vmdk_error e = { 0 };
  VixError err;

  if (diskHandle)
    *diskHandle = NULL;
  if (!diskHandle)
    return vx_fail (VIX_E_INVALID_ARG, "Open: diskHandle is NULL");
  if (!path || !*path)
    return vx_fail (VIX_E_INVALID_ARG, "Open: no path given");
  if (flags & ~(uint32) KNOWN_OPEN_FLAGS)
    vx_log (VX_AUDIT, "Open: %s: unknown open flags 0x%" PRIx32 " ignored",
            path, flags & ~(uint32) KNOWN_OPEN_FLAGS);
  if (flags & VIXDISKLIB_FLAG_OPEN_UNBUFFERED)
    vx_log (VX_VERBOSE, "Open: %s: UNBUFFERED accepted; the engine reads "
            "through the host page cache", path);
  if (flags & VIXDISKLIB_FLAG_OPEN_COMPRESSION_MASK)
    vx_log (VX_VERBOSE, "Open: %s: compression flags only apply to network "
            "transports; ignored", path);

  d = calloc (1, sizeof *d);
  if (!d)
    return vx_fail (VIX_E_OUT_OF_MEMORY, "Open: out of memory");
  pthread_rwlock_init (&d->iolock, NULL);

  pthread_mutex_lock (&vx_big_lock);
  c = vx_handle_get (connection, VX_KIND_CONN, &err);
  if (!c) {
    pthread_mutex_unlock (&vx_big_lock);
    vx_disk_destroy (d);
    return vx_fail (err == VIX_E_INVALID_ARG ? VIX_E_INVALID_ARG
                    : VIX_E_DISK_INVALID_CONNECTION,
                    "Open: %s: %s connection handle", path,
                    connection ? "invalid or disconnected" : "NULL");
  }
  d->conn = c;
  d->flags = flags;
  d->readonly = c->readonly || (flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY);
  d->path = strdup (path);
  if (!d->path) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "Open: out of memory");
    goto fail;
  }
  if (!d->readonly && (err = vx_lock_disk (path, &d->lockdir)) != VIX_OK)
    goto fail;

  vx_vmdk_options (flags, d->readonly, &o);
  d->vd = vmdk_open (path, &o, &e);
  if (!d->vd) {
    char what[64];
    snprintf (what, sizeof what, "Open (%s)", d->readonly ? "read-only"
              : "read/write");
    err = vx_fail_vmdk (what, &e);
    goto fail;
  }
  d->tok = vx_handle_new (VX_KIND_DISK, d);
  if (!d->tok) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "Open: out of memory");
    goto fail;
  }
  vx_handle_put (c->tok);
  pthread_mutex_unlock (&vx_big_lock);

  for (size_t i = 0; vmdk_warning (d->vd, i); i++)
    vx_log (VX_WARNING, "Open: %s", vmdk_warning (d->vd, i));
  vx_log (VX_INFO, "Open: %s (%s%s, %u link%s, %" PRIu64 " sectors)", path,
          d->readonly ? "read-only" : "read/write",
          flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK ? ", single link" : "",
          vmdk_get_info (d->vd)->num_links,
          vmdk_get_info (d->vd)->num_links == 1 ? "" : "s",
          vmdk_get_info (d->vd)->capacity);
  *diskHandle = (VixDiskLibHandle) d->tok;
  return VIX_OK;

 fail:
  vx_handle_put (c->tok);
  vx_disk_destroy (d);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

VX_API VixError
VixDiskLib_Close (VixDiskLibHandle diskHandle)
{
  struct vx_disk *d;
  struct vmdk_error e = { 0 };
  VixError err, ret = VIX_OK;

  pthread_mutex_lock (&vx_big_lock);
  d = vx_handle_retire (diskHandle, VX_KIND_DISK, &err);
  if (!d) {
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "Close: %s disk handle", diskHandle
                    ? "invalid or already closed" : "NULL");
  }
  /* Async requests complete before they are accepted (see io.c), so there
   * is nothing to wait for.  Flush to learn about write errors. */
  if (d->vd && !d->readonly && vmdk_is_writable (d->vd)
      && vmdk_flush (d->vd, &e) == -1)
    ret = vx_fail_vmdk ("Close: flush", &e);
  vx_log (VX_INFO, "Close: %s", d->path);
  vx_disk_destroy (d);
  pthread_mutex_unlock (&vx_big_lock);
  return ret;
}

VX_API const char *
VixDiskLib_GetTransportMode (VixDiskLibHandle diskHandle)
{
  (void) diskHandle;   /* local files are always accessed directly */
  return "file";
}

/* ---- GetInfo ----------------------------------------------------------- */

/* A ddb key of the top link, else of the nearest parent that has it. */
static const char *
ddb_chain (struct vmdk_disk *vd, const char *key)
{
  for (; vd; vd = vmdk_parent (vd)) {
    const char *v = vmdk_ddb_get (vd, key);
    if (v)
      return v;
  }
  return NULL;
}

static uint32
ddb_u32 (struct vmdk_disk *vd, const char *key, bool *found)
{
  const char *v = ddb_chain (vd, key);
  uint64_t n;

  *found = false;
  if (!v || vx_parse_u64 (v, &n) == -1 || n > UINT32_MAX)
    return 0;
  *found = true;
  return (uint32) n;
}

static VixDiskLibAdapterType
adapter_from_string (const char *s)
{
  if (!s)
    return VIXDISKLIB_ADAPTER_UNKNOWN;
  if (strcasecmp (s, "ide") == 0)
    return VIXDISKLIB_ADAPTER_IDE;
  if (strcasecmp (s, "buslogic") == 0)
    return VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
  if (strcasecmp (s, "lsilogic") == 0)
    return VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
  return VIXDISKLIB_ADAPTER_UNKNOWN;
}

VX_API VixError
VixDiskLib_GetInfo (VixDiskLibHandle diskHandle, VixDiskLibInfo **info)
{
  struct vx_disk *d;
  const struct vmdk_info *vi;
  VixDiskLibInfo *r;
  VixError err;
  bool fc, fh, fs, bc, bh, bs;

  if (info)
    *info = NULL;
  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "GetInfo: %s disk handle", diskHandle
                    ? "invalid or closed" : "NULL");
  if (!info) {
    vx_disk_end (d, false);
    return vx_fail (VIX_E_INVALID_ARG, "GetInfo: info is NULL");
  }
  /* Always the 64-byte (VDDK 7+) layout, zero-filled. */
  r = calloc (1, sizeof *r);
  if (!r) {
    vx_disk_end (d, false);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "GetInfo: out of memory");
  }
  vi = vmdk_get_info (d->vd);
  r->capacity = vi->capacity;
  r->physGeo.cylinders = ddb_u32 (d->vd, "ddb.geometry.cylinders", &fc);
  r->physGeo.heads = ddb_u32 (d->vd, "ddb.geometry.heads", &fh);
  r->physGeo.sectors = ddb_u32 (d->vd, "ddb.geometry.sectors", &fs);
  r->adapterType = adapter_from_string (ddb_chain (d->vd, "ddb.adapterType"));
  if (!(fc && fh && fs)) {
    /* No geometry in the descriptor: what VMware products derive. */
    uint64_t cyl;
    r->physGeo.heads = r->adapterType == VIXDISKLIB_ADAPTER_IDE ? 16 : 255;
    r->physGeo.sectors = 63;
    cyl = vi->capacity / (r->physGeo.heads * 63u);
    if (r->adapterType == VIXDISKLIB_ADAPTER_IDE && cyl > 16383)
      cyl = 16383;
    r->physGeo.cylinders = cyl > UINT32_MAX ? UINT32_MAX : (uint32) cyl;
  }
  r->biosGeo.cylinders = ddb_u32 (d->vd, "ddb.geometry.biosCylinders", &bc);
  r->biosGeo.heads = ddb_u32 (d->vd, "ddb.geometry.biosHeads", &bh);
  r->biosGeo.sectors = ddb_u32 (d->vd, "ddb.geometry.biosSectors", &bs);
  if (!(bc && bh && bs))
    r->biosGeo = r->physGeo;
  r->numLinks = (int) vi->num_links;
  r->logicalSectorSize = VIXDISKLIB_SECTOR_SIZE;
  r->physicalSectorSize = VIXDISKLIB_SECTOR_SIZE;
  if ((vi->parent_hint && !(r->parentFileNameHint = strdup (vi->parent_hint)))
      || (vmdk_ddb_get (d->vd, "ddb.uuid")
          && !(r->uuid = strdup (vmdk_ddb_get (d->vd, "ddb.uuid"))))) {
    vx_disk_end (d, false);
    VixDiskLib_FreeInfo (r);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "GetInfo: out of memory");
  }
  vx_disk_end (d, false);
  *info = r;
  return VIX_OK;
}

VX_API void
VixDiskLib_FreeInfo (VixDiskLibInfo *info)
{
  if (!info)
    return;
  free (info->parentFileNameHint);
  free (info->uuid);
  free (info);
}

/* ---- Attach ---------------------------------------------------------------- */

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;

  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
    && sa.st_ino == sb.st_ino;
}

/* Can CHILD (opened as a single link) go on top of PARENT's chain?  Opens
 * the child's chain read-only to let the engine check names, CIDs and
 * capacities.  Handles already taken. */
static VixError
attach_check (const char *fn, struct vx_disk *p, struct vx_disk *c)
{
  const struct vmdk_info *ci = vmdk_get_info (c->vd);
  struct vmdk_options o;
  struct vmdk_error e = { 0 };
  struct vmdk_disk *chain;
  VixError err = VIX_OK;

  if (p == c)
    return vx_fail (VIX_E_INVALID_ARG, "%s: parent and child are the same "
                    "handle", fn);
  if (!ci->parent_hint)
    return vx_fail (VIX_E_DISK_ATTACH_ROOTLINK, "%s: %s has no parent "
                    "(it is a base disk) and cannot be attached", fn, c->path);
  if (!(c->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK) || ci->num_links != 1)
    return vx_fail (VIX_E_INVALID_ARG, "%s: child %s must be opened with "
                    "VIXDISKLIB_FLAG_OPEN_SINGLE_LINK", fn, c->path);
  if (ci->capacity != vmdk_get_info (p->vd)->capacity)
    return vx_fail (VIX_E_DISK_CAPACITY_MISMATCH, "%s: child %s has %" PRIu64
                    " sectors, parent %s %" PRIu64, fn, c->path, ci->capacity,
                    p->path, vmdk_get_info (p->vd)->capacity);
  vx_vmdk_options (0, true, &o);
  o.flags &= ~VMDK_OPEN_LOCK;   /* the child may hold its own exclusive lock */
  chain = vmdk_open (c->path, &o, &e);
  if (!chain) {
    char what[300];
    snprintf (what, sizeof what, "%s: opening %s with its parents", fn,
              c->path);
    return vx_fail_vmdk (what, &e);
  }
  if (!vmdk_parent (chain)
      || !same_file (vmdk_get_info (vmdk_parent (chain))->path, p->path))
    err = vx_fail (VIX_E_DISK_INVALIDCHAIN, "%s: the parent of %s is %s, not "
                   "%s", fn, c->path, vmdk_parent (chain)
                   ? vmdk_get_info (vmdk_parent (chain))->path : "(none)",
                   p->path);
  vmdk_close (chain);
  return err;
}

VX_API VixError
VixDiskLib_IsAttachPossible (VixDiskLibHandle parent, VixDiskLibHandle child)
{
  struct vx_disk *p, *c;
  VixError err;

  pthread_mutex_lock (&vx_big_lock);
  p = vx_handle_get (parent, VX_KIND_DISK, &err);
  if (!p) {
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "IsAttachPossible: invalid parent handle");
  }
  c = vx_handle_get (child, VX_KIND_DISK, &err);
  if (!c) {
    vx_handle_put (p->tok);
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "IsAttachPossible: invalid child handle");
  }
  err = attach_check ("IsAttachPossible", p, c);
  vx_handle_put (c->tok);
  vx_handle_put (p->tok);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

VX_API VixError
VixDiskLib_Attach (VixDiskLibHandle parent, VixDiskLibHandle child)
{
  struct vx_disk *p, *c;
  struct vmdk_options o;
  struct vmdk_error e = { 0 };
  struct vmdk_disk *chain;
  VixError err;

  pthread_mutex_lock (&vx_big_lock);
  p = vx_handle_get (parent, VX_KIND_DISK, &err);
  if (!p) {
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "Attach: invalid parent handle");
  }
  c = vx_disk_begin (child, true, &err);
  if (!c) {
    vx_handle_put (p->tok);
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "Attach: invalid child handle");
  }
  if ((err = attach_check ("Attach", p, c)) != VIX_OK)
    goto out;

  /* Reopen the child with its chain (writable top link if it was). */
  if (!c->readonly) {
    struct vmdk_error fe = { 0 };
    if (vmdk_flush (c->vd, &fe) == -1) {
      err = vx_fail_vmdk ("Attach: flush child", &fe);
      goto out;
    }
    vmdk_close (c->vd);
    c->vd = NULL;
  }
  vx_vmdk_options (c->flags & ~(uint32) VIXDISKLIB_FLAG_OPEN_SINGLE_LINK,
                   c->readonly, &o);
  chain = vmdk_open (c->path, &o, &e);
  if (!chain) {
    err = vx_fail_vmdk ("Attach: reopening the child with its parents", &e);
    if (!c->vd) {
      /* Put the single link back so the handle stays usable. */
      vx_vmdk_options (c->flags, c->readonly, &o);
      c->vd = vmdk_open (c->path, &o, &e);
      if (!c->vd)
        vx_log (VX_ERROR, "Attach: %s could not be reopened either (%s); "
                "the handle can only be closed now", c->path, e.msg);
    }
    goto out;
  }
  if (c->vd)
    vmdk_close (c->vd);
  c->vd = chain;
  c->flags &= ~(uint32) VIXDISKLIB_FLAG_OPEN_SINGLE_LINK;

  /* The parent handle is consumed: it stops being valid. */
  vx_handle_put (p->tok);
  if (vx_handle_retire (parent, VX_KIND_DISK, &err) == p)
    vx_disk_destroy (p);
  p = NULL;
  vx_log (VX_INFO, "Attach: %s now covers %u links", c->path,
          vmdk_get_info (c->vd)->num_links);
  err = VIX_OK;

 out:
  vx_disk_end (c, true);
  if (p)
    vx_handle_put (p->tok);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

/* ---- vixmount extension (vixDiskLibExt.h) ------------------------------- */

VX_API VixError
Vixmount_DiskLibGetDiskPath (VixDiskLibHandle diskHandle, char *path, size_t pathLen,
                             uint32 *flags)
{
  struct vx_disk *d;
  VixError err;
  char real[PATH_MAX];

  if (!path || pathLen == 0 || !flags)
    return vx_fail (VIX_E_INVALID_ARG, "GetDiskPath: NULL argument");
  d = vx_handle_get (diskHandle, VX_KIND_DISK, &err);
  if (!d)
    return err;
  if (!realpath (d->path, real)) {
    err = vx_fail_errno (errno, "GetDiskPath: %s", d->path);
    vx_handle_put (diskHandle);
    return err;
  }
  if (strlen (real) >= pathLen) {
    vx_handle_put (diskHandle);
    return VIX_E_BUFFER_TOOSMALL;
  }
  strcpy (path, real);
  *flags = d->flags | (d->readonly ? VIXDISKLIB_FLAG_OPEN_READ_ONLY : 0);
  vx_handle_put (diskHandle);
  return VIX_OK;
}

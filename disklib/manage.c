/* libvixDiskLib: creating, cloning, growing, renaming and deleting disks;
 * space estimates; consistency checks; the calls only ESXi can serve.
 *
 * All of it is done with the engine's public interface (vmdk.h): nothing
 * here parses VMDK files.  Disk management calls run under vx_big_lock, so
 * they never race with Open/Close of the same files in this process; other
 * processes are kept out by the "<disk>.lck" directories (disk.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "parse.h"

/* ddb.virtualHWVersion of a disk as the number a new disk inherits; 0 (the
 * engine's default) when absent or not a number. */
static unsigned
hw_version_of (struct vmdk_disk *vd)
{
  const char *hw = vmdk_ddb_get (vd, "ddb.virtualHWVersion");
  uint64_t v;

  return hw && vx_parse_u64 (hw, &v) == 0 && v <= UINT_MAX ? (unsigned) v : 0;
}

#define COPY_BUF (4u * 1024 * 1024)
#define SPLIT_BYTES (UINT64_C (2) << 30)

/* ---- helpers --------------------------------------------------------------- */

/* The createType for a VixDiskLibDiskType, or an error. */
static VixError
create_type_of (const char *fn, VixDiskLibDiskType t, bool allow_stream,
                const char **out)
{
  switch (t) {
  case VIXDISKLIB_DISK_MONOLITHIC_SPARSE: *out = "monolithicSparse"; return VIX_OK;
  case VIXDISKLIB_DISK_MONOLITHIC_FLAT: *out = "monolithicFlat"; return VIX_OK;
  case VIXDISKLIB_DISK_SPLIT_SPARSE: *out = "twoGbMaxExtentSparse"; return VIX_OK;
  case VIXDISKLIB_DISK_SPLIT_FLAT: *out = "twoGbMaxExtentFlat"; return VIX_OK;
  case VIXDISKLIB_DISK_STREAM_OPTIMIZED:
    *out = "streamOptimized";
    if (allow_stream)
      return VIX_OK;
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "%s: streamOptimized "
                       "disks are made by VixDiskLib_Clone", fn);
  case VIXDISKLIB_DISK_VMFS_FLAT: case VIXDISKLIB_DISK_VMFS_THIN:
  case VIXDISKLIB_DISK_VMFS_SPARSE:
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "%s: VMFS disk types "
                       "(%d) can only be created on an ESXi host; this library "
                       "creates hosted disks", fn, (int) t);
  default:
    return vx_fail (VIX_E_INVALID_ARG, "%s: unknown disk type %d", fn, (int) t);
  }
}

static VixError
adapter_name (const char *fn, VixDiskLibAdapterType a, const char **out)
{
  switch (a) {
  case VIXDISKLIB_ADAPTER_IDE: *out = "ide"; return VIX_OK;
  case VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC: *out = "buslogic"; return VIX_OK;
  case VIXDISKLIB_ADAPTER_SCSI_LSILOGIC: *out = "lsilogic"; return VIX_OK;
  default:
    return vx_fail (VIX_E_INVALID_ARG, "%s: unknown adapter type %d", fn,
                    (int) a);
  }
}

/* The 7.0 sector-size members, honoured for callers of API 6.8 and later
 * (older callers pass a 24-byte struct: those bytes are not theirs). */
static VixError
check_sector_sizes (const char *fn, const VixDiskLibCreateParams *p)
{
  if (!vx_version_at_least (6, 8))
    return VIX_OK;
  if (p->logicalSectorSize != 0 && p->logicalSectorSize != 512)
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "%s: logical sector size "
                       "%" PRIu32 ": hosted VMDKs have 512-byte sectors", fn,
                       p->logicalSectorSize);
  if (p->physicalSectorSize != 0 && p->physicalSectorSize != 512
      && p->physicalSectorSize != 4096)
    return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "%s: physical sector size "
                       "%" PRIu32 " is not supported (512 or 4096)", fn,
                       p->physicalSectorSize);
  return VIX_OK;
}

/* Validate a connection for a call that changes files. */
static VixError
writable_conn (const char *fn, VixDiskLibConnection connection)
{
  struct vx_conn *c;
  VixError err;
  bool ro;

  c = vx_handle_get (connection, VX_KIND_CONN, &err);
  if (!c)
    return vx_fail (err == VIX_E_INVALID_ARG ? VIX_E_INVALID_ARG
                    : VIX_E_DISK_INVALID_CONNECTION, "%s: %s connection handle",
                    fn, connection ? "invalid or disconnected" : "NULL");
  ro = c->readonly;
  vx_handle_put (c->tok);
  if (ro)
    return vx_fail (VIX_E_FILE_READ_ONLY, "%s: the connection is read-only",
                    fn);
  return VIX_OK;
}

static VixError
valid_conn (const char *fn, VixDiskLibConnection connection)
{
  struct vx_conn *c;
  VixError err;

  c = vx_handle_get (connection, VX_KIND_CONN, &err);
  if (!c)
    return vx_fail (err == VIX_E_INVALID_ARG ? VIX_E_INVALID_ARG
                    : VIX_E_DISK_INVALID_CONNECTION, "%s: %s connection handle",
                    fn, connection ? "invalid or disconnected" : "NULL");
  vx_handle_put (c->tok);
  return VIX_OK;
}

static VixError
need_path (const char *fn, const char *what, const char *path)
{
  if (!path || !*path)
    return vx_fail (VIX_E_INVALID_ARG, "%s: no %s given", fn, what);
  return VIX_OK;
}

static VixError
must_not_exist (const char *fn, const char *path)
{
  struct stat st;

  if (lstat (path, &st) == 0)
    return vx_fail (VIX_E_FILE_ALREADY_EXISTS, "%s: %s exists already", fn,
                    path);
  if (errno != ENOENT)
    return vx_fail_errno (errno, "%s: %s", fn, path);
  return VIX_OK;
}

static struct vmdk_disk *
open_engine (const char *fn, const char *path, unsigned flags, VixError *err)
{
  struct vmdk_options o = { 0 };
  struct vmdk_error e = { 0 };
  struct vmdk_disk *vd;
  char what[PATH_MAX + 64];

  /* shared flocks (exclusive for a writable open): fail if another open
   * writes the disk */
  o.flags = flags | VMDK_OPEN_LOCK;
  if (vx_g.cfg.allow_escape)
    o.flags |= VMDK_OPEN_ALLOW_ESCAPE;
  vd = vmdk_open (path, &o, &e);
  if (!vd) {
    snprintf (what, sizeof what, "%s: opening %s", fn, path);
    *err = vx_fail_vmdk (what, &e);
  }
  return vd;
}

/* Progress: the engine's (done, total) to the caller's percentage.  The
 * caller's return value is ignored, as VMware documents. */
struct progress {
  VixDiskLibProgressFunc fn;
  void *data;
  int last;
};

static void
progress_report (struct progress *p, int pct)
{
  if (p->fn && pct != p->last) {
    p->last = pct;
    (void) p->fn (p->data, pct);
  }
}

static bool
progress_cb (void *opaque, uint64_t done, uint64_t total)
{
  struct progress *p = opaque;

  progress_report (p, total ? (int) (done * 100 / total) : 100);
  return true;
}

/* The files of one link (descriptor first), copied out of the engine. */
static VixError
files_of (const char *fn, const char *path, char ***files, size_t *n)
{
  struct vmdk_disk *vd;
  VixError err;
  size_t k;

  *files = NULL;
  *n = 0;
  vd = open_engine (fn, path, VMDK_OPEN_RDONLY | VMDK_OPEN_SINGLE_LINK, &err);
  if (!vd)
    return err;
  k = vmdk_file_count (vd);
  if (k == 0) {
    vmdk_close (vd);
    return vx_fail (VIX_E_FAIL, "%s: %s: the engine did not report the disk's "
                    "files (vmdk_file_count is 0)", fn, path);
  }
  *files = calloc (k, sizeof **files);
  if (!*files) {
    vmdk_close (vd);
    return vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
  }
  for (size_t i = 0; i < k; i++)
    if (!((*files)[i] = vx_strdup (vmdk_file_path (vd, i)))) {
      for (size_t j = 0; j < i; j++)
        free ((*files)[j]);
      free (*files);
      *files = NULL;
      vmdk_close (vd);
      return vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    }
  *n = k;
  vmdk_close (vd);
  return VIX_OK;
}

static void
free_files (char **files, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (files[i]);
  free (files);
}

/* Delete the files of one link: extents first, the descriptor last. */
static VixError
remove_link (const char *fn, const char *path)
{
  char **files;
  size_t n;
  VixError err = vx_check_unlocked (path);

  if (err != VIX_OK)
    return err;
  if ((err = files_of (fn, path, &files, &n)) != VIX_OK)
    return err;
  for (size_t i = n; i-- > 0; )
    if (unlink (files[i]) == -1 && errno != ENOENT && err == VIX_OK)
      err = vx_fail_errno (errno, "%s: deleting %s", fn, files[i]);
  free_files (files, n);
  return err;
}

struct range { uint64_t off, len; enum vmdk_map_kind kind; };
struct ranges { struct range *v; size_t n, cap; bool oom; };

static int
collect_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct ranges *r = opaque;

  if (e->kind == VMDK_MAP_HOLE)
    return 0;
  if (r->n == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 256;
    struct range *nv = realloc (r->v, nc * sizeof *nv);
    if (!nv) {
      r->oom = true;
      return 1;
    }
    r->v = nv;
    r->cap = nc;
  }
  r->v[r->n++] = (struct range) { e->offset, e->length, e->kind };
  return 0;
}

/* Copy what SRC holds (its own layer only with VMDK_MAP_THIS_LAYER) into
 * the writable DST: data ranges are copied, zero ranges zeroed, holes left
 * unallocated. */
static VixError
copy_content (const char *fn, struct vmdk_disk *src, struct vmdk_disk *dst,
              unsigned mapflags, struct progress *pr)
{
  struct ranges r = { 0 };
  struct vmdk_error e = { 0 };
  uint64_t total = 0, done = 0;
  uint8_t *buf = NULL;
  VixError err = VIX_OK;

  if (vmdk_map (src, 0, vmdk_size (src), mapflags, collect_cb, &r, &e) == -1) {
    err = vx_fail_vmdk (fn, &e);
    goto out;
  }
  if (r.oom || !(buf = malloc (COPY_BUF))) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    goto out;
  }
  for (size_t i = 0; i < r.n; i++)
    total += r.v[i].len;
  for (size_t i = 0; i < r.n && err == VIX_OK; i++) {
    if (r.v[i].kind == VMDK_MAP_ZERO) {
      if (vmdk_zero (dst, r.v[i].len, r.v[i].off, 0, &e) == -1)
        err = vx_fail_vmdk (fn, &e);
      done += r.v[i].len;
      continue;
    }
    for (uint64_t o = 0; o < r.v[i].len && err == VIX_OK; ) {
      size_t n = r.v[i].len - o < COPY_BUF ? (size_t) (r.v[i].len - o)
        : COPY_BUF;
      if (vmdk_pread (src, buf, n, r.v[i].off + o, &e) == -1
          || vmdk_pwrite (dst, buf, n, r.v[i].off + o, 0, &e) == -1)
        err = vx_fail_vmdk (fn, &e);
      o += n;
      done += n;
      if (pr)
        progress_cb (pr, done, total);
    }
  }
  if (err == VIX_OK && vmdk_flush (dst, &e) == -1)
    err = vx_fail_vmdk (fn, &e);
 out:
  free (buf);
  free (r.v);
  return err;
}

/* Copy the top link's ddb entries of SRC into DST (not longContentID,
 * which describes content, and not the geometry when SKIP_GEOMETRY). */
static VixError
copy_ddb (const char *fn, struct vmdk_disk *src, struct vmdk_disk *dst,
          bool skip_geometry)
{
  struct vmdk_error e = { 0 };

  for (size_t i = 0; i < vmdk_ddb_count (src); i++) {
    const char *k = vmdk_ddb_key (src, i), *v = vmdk_ddb_value (src, i);
    if (strcasecmp (k, "ddb.longContentID") == 0
        || (skip_geometry && strncasecmp (k, "ddb.geometry.", 13) == 0))
      continue;
    if (vmdk_ddb_set (dst, k, v, &e) == -1)
      return vx_fail_vmdk (fn, &e);
  }
  return VIX_OK;
}

/* A temporary name beside PATH: "<dir>/.<base>.<tag><pid>.vmdk". */
static char *
temp_beside (const char *path, const char *tag)
{
  const char *slash = strrchr (path, '/'), *base = slash ? slash + 1 : path;
  char *s;

  if (asprintf (&s, "%.*s.%s.%s%d.vmdk", (int) (base - path), path, base, tag,
                (int) getpid ()) == -1)
    return NULL;
  return s;
}

/* ---- Create ------------------------------------------------------------------ */

/* An empty streamOptimized disk: create a sparse one and clone it. */
static VixError
create_stream (const char *fn, const char *path,
               const struct vmdk_create_params *cp, struct progress *pr)
{
  struct vmdk_create_params sp = *cp;
  struct vmdk_error e = { 0 };
  struct vmdk_disk *vd;
  char *tmp = NULL;
  VixError err;

  if (vx_g.cfg.tmp_directory) {
    if (asprintf (&tmp, "%s/vixDiskLib-create-%d.vmdk", vx_g.cfg.tmp_directory,
                  (int) getpid ()) == -1)
      tmp = NULL;
  }
  else
    tmp = temp_beside (path, "create");
  if (!tmp)
    return vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
  sp.create_type = "monolithicSparse";
  if (vmdk_create (tmp, &sp, &e) == -1) {
    err = vx_fail_vmdk (fn, &e);
    free (tmp);
    return err;
  }
  vd = open_engine (fn, tmp, VMDK_OPEN_RDONLY, &err);
  if (vd) {
    if (vmdk_clone (vd, path, cp, progress_cb, pr, &e) == -1)
      err = vx_fail_vmdk (fn, &e);
    else
      err = VIX_OK;
    vmdk_close (vd);
  }
  unlink (tmp);
  free (tmp);
  return err;
}

VX_API VixError
VixDiskLib_Create (const VixDiskLibConnection connection, const char *path,
                   const VixDiskLibCreateParams *createParams,
                   VixDiskLibProgressFunc progressFunc,
                   void *progressCallbackData)
{
  const char *fn = "Create";
  struct vmdk_create_params cp = { 0 };
  struct vmdk_error e = { 0 };
  struct progress pr = { progressFunc, progressCallbackData, -1 };
  VixError err;

  if ((err = writable_conn (fn, connection)) != VIX_OK
      || (err = need_path (fn, "path", path)) != VIX_OK)
    return err;
  if (!createParams)
    return vx_fail (VIX_E_INVALID_ARG, "Create: %s: createParams is NULL", path);
  if ((err = create_type_of (fn, createParams->diskType, true, &cp.create_type))
      != VIX_OK
      || (err = adapter_name (fn, createParams->adapterType, &cp.adapter_type))
      != VIX_OK
      || (err = check_sector_sizes (fn, createParams)) != VIX_OK)
    return err;
  if (createParams->capacity == 0)
    return vx_fail (VIX_E_INVALID_ARG, "Create: %s: capacity is 0", path);
  cp.capacity = createParams->capacity;
  cp.hw_version = createParams->hwVersion;

  pthread_mutex_lock (&vx_big_lock);
  if ((err = must_not_exist (fn, path)) == VIX_OK) {
    progress_report (&pr, 0);
    if (createParams->diskType == VIXDISKLIB_DISK_STREAM_OPTIMIZED)
      err = create_stream (fn, path, &cp, &pr);
    else if (vmdk_create (path, &cp, &e) == -1)
      err = vx_fail_vmdk (fn, &e);
    if (err == VIX_OK) {
      progress_report (&pr, 100);
      vx_log (VX_INFO, "Create: %s (%s, %" PRIu64 " sectors, %s)", path,
              cp.create_type, cp.capacity, cp.adapter_type);
    }
  }
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

VX_API VixError
VixDiskLib_CreateChild (VixDiskLibHandle diskHandle, const char *childPath,
                        VixDiskLibDiskType diskType,
                        VixDiskLibProgressFunc progressFunc,
                        void *progressCallbackData)
{
  const char *fn = "CreateChild";
  struct vmdk_create_params cp = { 0 };
  struct vmdk_error e = { 0 };
  struct progress pr = { progressFunc, progressCallbackData, -1 };
  struct vx_disk *d;
  VixError err;

  if ((err = need_path (fn, "child path", childPath)) != VIX_OK)
    return err;
  if (diskType != VIXDISKLIB_DISK_MONOLITHIC_SPARSE
      && diskType != VIXDISKLIB_DISK_SPLIT_SPARSE) {
    if (diskType == VIXDISKLIB_DISK_VMFS_SPARSE)
      return vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "CreateChild: %s: "
                         "vmfsSparse redo logs can only be created on ESXi",
                         childPath);
    return vx_fail (VIX_E_INVALID_ARG, "CreateChild: %s: disk type %d; a child "
                    "must be MONOLITHIC_SPARSE or SPLIT_SPARSE", childPath,
                    (int) diskType);
  }
  create_type_of (fn, diskType, false, &cp.create_type);

  pthread_mutex_lock (&vx_big_lock);
  d = vx_disk_begin (diskHandle, true, &err);
  if (!d) {
    pthread_mutex_unlock (&vx_big_lock);
    return vx_fail (err, "CreateChild: %s disk handle", diskHandle
                    ? "invalid or closed" : "NULL");
  }
  if ((err = must_not_exist (fn, childPath)) == VIX_OK) {
    /* The engine reads the parent's CID from its file: make it current. */
    if (!d->readonly && vmdk_flush (d->vd, &e) == -1)
      err = vx_fail_vmdk ("CreateChild: flush parent", &e);
    else {
      cp.hw_version = hw_version_of (d->vd);
      progress_report (&pr, 0);
      if (vmdk_create_child (childPath, d->path, &cp, &e) == -1)
        err = vx_fail_vmdk (fn, &e);
      else {
        progress_report (&pr, 100);
        vx_log (VX_INFO, "CreateChild: %s on top of %s", childPath, d->path);
      }
    }
  }
  vx_disk_end (d, true);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

/* ---- Clone --------------------------------------------------------------------- */

VX_API VixError
VixDiskLib_Clone (const VixDiskLibConnection dstConnection, const char *dstPath,
                  const VixDiskLibConnection srcConnection, const char *srcPath,
                  const VixDiskLibCreateParams *vixCreateParams,
                  VixDiskLibProgressFunc progressFunc,
                  void *progressCallbackData, Bool overWrite)
{
  const char *fn = "Clone";
  struct vmdk_create_params cp = { 0 };
  struct vmdk_error e = { 0 };
  struct progress pr = { progressFunc, progressCallbackData, -1 };
  struct vmdk_disk *src = NULL;
  struct stat sst, dst_st;
  VixDiskLibDiskType type;
  VixError err;

  if ((err = writable_conn (fn, dstConnection)) != VIX_OK
      || (err = valid_conn (fn, srcConnection)) != VIX_OK
      || (err = need_path (fn, "destination path", dstPath)) != VIX_OK
      || (err = need_path (fn, "source path", srcPath)) != VIX_OK)
    return err;
  if (!vixCreateParams)
    return vx_fail (VIX_E_INVALID_ARG, "Clone: createParams is NULL");
  if ((err = check_sector_sizes (fn, vixCreateParams)) != VIX_OK)
    return err;

  pthread_mutex_lock (&vx_big_lock);
  if ((err = vx_check_unlocked (srcPath)) != VIX_OK)
    goto out;
  if (!(src = open_engine (fn, srcPath, VMDK_OPEN_RDONLY, &err)))
    goto out;
  type = vixCreateParams->diskType;
  if (type == VIXDISKLIB_DISK_UNKNOWN)   /* same kind as the source */
    type = vx_disk_type_of (vmdk_get_info (src)->create_type);
  if ((err = create_type_of (fn, type, true, &cp.create_type)) != VIX_OK)
    goto out;
  if (vixCreateParams->adapterType == VIXDISKLIB_ADAPTER_UNKNOWN)
    cp.adapter_type = NULL;
  else if ((err = adapter_name (fn, vixCreateParams->adapterType,
                                &cp.adapter_type)) != VIX_OK)
    goto out;
  if (!cp.adapter_type) {
    const char *a = vmdk_ddb_get (src, "ddb.adapterType");
    cp.adapter_type = a && (strcasecmp (a, "ide") == 0
                            || strcasecmp (a, "buslogic") == 0
                            || strcasecmp (a, "lsilogic") == 0) ? a : "ide";
  }
  cp.hw_version = vixCreateParams->hwVersion;
  cp.capacity = vmdk_get_info (src)->capacity;

  if (lstat (dstPath, &dst_st) == 0) {
    if (stat (srcPath, &sst) == 0 && sst.st_dev == dst_st.st_dev
        && sst.st_ino == dst_st.st_ino) {
      err = vx_fail (VIX_E_INVALID_ARG, "Clone: source and destination are the "
                     "same file (%s)", dstPath);
      goto out;
    }
    if (!overWrite) {
      err = vx_fail (VIX_E_FILE_ALREADY_EXISTS, "Clone: %s exists already "
                     "(pass overWrite = TRUE to replace it)", dstPath);
      goto out;
    }
    if (remove_link (fn, dstPath) != VIX_OK) {
      /* Not a disk we can list: replace the single file. */
      if ((err = vx_check_unlocked (dstPath)) != VIX_OK)
        goto out;
      if (unlink (dstPath) == -1) {
        err = vx_fail_errno (errno, "Clone: removing %s", dstPath);
        goto out;
      }
    }
    vx_log (VX_INFO, "Clone: replaced the existing %s", dstPath);
  }
  progress_report (&pr, 0);
  if (vmdk_clone (src, dstPath, &cp, progress_cb, &pr, &e) == -1) {
    err = vx_fail_vmdk (fn, &e);
    goto out;
  }
  progress_report (&pr, 100);
  vx_log (VX_INFO, "Clone: %s -> %s (%s)", srcPath, dstPath, cp.create_type);
  err = VIX_OK;
 out:
  if (src)
    vmdk_close (src);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

/* ---- Grow, Rename (copies through the engine) ------------------------------- */

/* Make a disk at DST with the content, ddb and kind of the link SRC
 * (opened with its parents, or alone): a base link is created with
 * CAPACITY sectors and a delta link on top of SRC's parent. */
static VixError
copy_link (const char *fn, struct vmdk_disk *src, const char *dst,
           uint64_t capacity, bool update_geometry, struct progress *pr)
{
  const struct vmdk_info *si = vmdk_get_info (src);
  struct vmdk_create_params cp = { 0 };
  struct vmdk_options o = { 0 };
  struct vmdk_error e = { 0 };
  struct vmdk_disk *out;
  const char *a = vmdk_ddb_get (src, "ddb.adapterType");
  VixError err;
  int r;

  cp.create_type = si->create_type;
  cp.capacity = capacity;
  cp.adapter_type = a && (strcasecmp (a, "ide") == 0
                          || strcasecmp (a, "buslogic") == 0
                          || strcasecmp (a, "lsilogic") == 0) ? a : "ide";
  cp.hw_version = hw_version_of (src);
  if (vmdk_parent (src))
    r = vmdk_create_child (dst, vmdk_get_info (vmdk_parent (src))->path, &cp,
                           &e);
  else
    r = vmdk_create (dst, &cp, &e);
  if (r == -1)
    return vx_fail_vmdk (fn, &e);
  o.flags = vx_g.cfg.allow_escape ? VMDK_OPEN_ALLOW_ESCAPE : 0;
  out = vmdk_open (dst, &o, &e);
  if (!out) {
    err = vx_fail_vmdk (fn, &e);
    remove_link (fn, dst);
    return err;
  }
  err = copy_content (fn, src, out, VMDK_MAP_THIS_LAYER, pr);
  if (err == VIX_OK)
    err = copy_ddb (fn, src, out, update_geometry);
  if (err == VIX_OK && vmdk_flush (out, &e) == -1)
    err = vx_fail_vmdk (fn, &e);
  vmdk_close (out);
  if (err != VIX_OK)
    remove_link (fn, dst);
  return err;
}

VX_API VixError
VixDiskLib_Grow (VixDiskLibConnection connection, const char *path,
                 VixDiskLibSectorType capacity, Bool updateGeometry,
                 VixDiskLibProgressFunc progressFunc,
                 void *progressCallbackData)
{
  const char *fn = "Grow";
  struct progress pr = { progressFunc, progressCallbackData, -1 };
  struct vmdk_disk *src = NULL, *tmpd = NULL;
  char *tmp = NULL;
  uint64_t cur;
  size_t nfiles;
  VixError err;

  if ((err = writable_conn (fn, connection)) != VIX_OK
      || (err = need_path (fn, "path", path)) != VIX_OK)
    return err;
  pthread_mutex_lock (&vx_big_lock);
  if ((err = vx_check_unlocked (path)) != VIX_OK)
    goto out;
  if (!(src = open_engine (fn, path, VMDK_OPEN_RDONLY | VMDK_OPEN_SINGLE_LINK,
                           &err)))
    goto out;
  cur = vmdk_get_info (src)->capacity;
  if (vmdk_get_info (src)->parent_hint) {
    err = vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "Grow: %s is a delta link; "
                      "its capacity is its parent's", path);
    goto out;
  }
  if (capacity < cur) {
    err = vx_fail (VIX_E_INVALID_ARG, "Grow: %s has %" PRIu64 " sectors; "
                   "%" PRIu64 " would shrink it", path, cur,
                   (uint64_t) capacity);
    goto out;
  }
  if (capacity == cur) {
    err = VIX_OK;
    goto out;
  }
  if (vx_disk_type_of (vmdk_get_info (src)->create_type)
      == VIXDISKLIB_DISK_STREAM_OPTIMIZED) {
    err = vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "Grow: %s is "
                      "streamOptimized, which cannot be modified", path);
    goto out;
  }
  nfiles = vmdk_file_count (src);
  if (!(tmp = temp_beside (path, "grow"))) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "Grow: out of memory");
    goto out;
  }
  progress_report (&pr, 0);
  if ((err = copy_link (fn, src, tmp, capacity, updateGeometry, &pr))
      != VIX_OK)
    goto out;
  vmdk_close (src);
  src = NULL;
  if (nfiles == 1) {
    /* One file (embedded descriptor): swap it in. */
    if (rename (tmp, path) == -1) {
      err = vx_fail_errno (errno, "Grow: renaming %s to %s", tmp, path);
      remove_link (fn, tmp);
    }
  }
  else {
    /* Extent names depend on the disk's name: rebuild under the old name
     * (through the engine's clone) and drop the temporary disk. */
    struct vmdk_error e = { 0 };
    if ((err = remove_link (fn, path)) != VIX_OK)
      goto out;
    if (!(tmpd = open_engine (fn, tmp, VMDK_OPEN_RDONLY, &err)))
      goto out;
    struct vmdk_create_params cp = { 0 };
    const char *a = vmdk_ddb_get (tmpd, "ddb.adapterType");
    cp.create_type = vmdk_get_info (tmpd)->create_type;
    cp.adapter_type = a;
    cp.hw_version = hw_version_of (tmpd);
    if (vmdk_clone (tmpd, path, &cp, NULL, NULL, &e) == -1) {
      err = vx_fail (vx_vix_from_vmdk (&e), "Grow: rebuilding %s failed (%s); "
                     "the grown disk is kept as %s", path, e.msg, tmp);
      goto out;
    }
    {
      /* the clone has fresh ddb entries: put the disk's own back */
      struct vmdk_disk *out = open_engine (fn, path, 0, &err);
      if (!out)
        goto out;
      err = copy_ddb (fn, tmpd, out, false);
      if (err == VIX_OK && vmdk_flush (out, &e) == -1)
        err = vx_fail_vmdk (fn, &e);
      vmdk_close (out);
      if (err != VIX_OK)
        goto out;
    }
    vmdk_close (tmpd);
    tmpd = NULL;
    remove_link (fn, tmp);
  }
  if (err == VIX_OK) {
    progress_report (&pr, 100);
    vx_log (VX_INFO, "Grow: %s: %" PRIu64 " -> %" PRIu64 " sectors", path, cur,
            (uint64_t) capacity);
  }
 out:
  if (tmpd)
    vmdk_close (tmpd);
  if (src)
    vmdk_close (src);
  free (tmp);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

VX_API VixError
VixDiskLib_Rename (const char *srcFileName, const char *dstFileName)
{
  const char *fn = "Rename";
  struct vmdk_disk *src = NULL;
  VixError err;

  if ((err = vx_require_init (fn)) != VIX_OK
      || (err = need_path (fn, "source name", srcFileName)) != VIX_OK
      || (err = need_path (fn, "destination name", dstFileName)) != VIX_OK)
    return err;
  pthread_mutex_lock (&vx_big_lock);
  if ((err = vx_check_unlocked (srcFileName)) != VIX_OK
      || (err = must_not_exist (fn, dstFileName)) != VIX_OK)
    goto out;
  if (!(src = open_engine (fn, srcFileName, VMDK_OPEN_RDONLY, &err)))
    goto out;
  if (vmdk_file_count (src) == 1 && rename (srcFileName, dstFileName) == 0)
    ;   /* monolithic: the embedded descriptor does not name the file */
  else if (vmdk_file_count (src) == 1 && errno != EXDEV)
    err = vx_fail_errno (errno, "Rename: %s to %s", srcFileName, dstFileName);
  else if (vx_disk_type_of (vmdk_get_info (src)->create_type)
           == VIXDISKLIB_DISK_UNKNOWN) {
    err = vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "Rename: %s (%s): only "
                      "hosted disk types can be renamed", srcFileName,
                      vmdk_get_info (src)->create_type);
  }
  else {
    /* Extent file names live in the descriptor (or the target is on another
     * file system): rebuild the link under the new name through the engine,
     * then delete the old files. */
    err = copy_link (fn, src, dstFileName, vmdk_get_info (src)->capacity,
                     false, NULL);
    vmdk_close (src);
    src = NULL;
    if (err == VIX_OK)
      err = remove_link (fn, srcFileName);
  }
  if (err == VIX_OK)
    vx_log (VX_INFO, "Rename: %s -> %s", srcFileName, dstFileName);
 out:
  if (src)
    vmdk_close (src);
  pthread_mutex_unlock (&vx_big_lock);
  return err;
}

VX_API VixError
VixDiskLib_Unlink (VixDiskLibConnection connection, const char *path)
{
  VixError err;

  if ((err = writable_conn ("Unlink", connection)) != VIX_OK
      || (err = need_path ("Unlink", "path", path)) != VIX_OK)
    return err;
  pthread_mutex_lock (&vx_big_lock);
  err = remove_link ("Unlink", path);
  pthread_mutex_unlock (&vx_big_lock);
  if (err == VIX_OK)
    vx_log (VX_INFO, "Unlink: %s", path);
  return err;
}

/* ---- SpaceNeededForClone ---------------------------------------------------- */

static int
data_bytes_cb (void *opaque, const struct vmdk_map_entry *e)
{
  if (e->kind == VMDK_MAP_DATA)
    *(uint64_t *) opaque += e->length;
  return 0;
}

VX_API VixError
VixDiskLib_SpaceNeededForClone (VixDiskLibHandle diskHandle,
                                VixDiskLibDiskType cloneDiskType,
                                uint64 *spaceNeeded)
{
  struct vx_disk *d;
  struct vmdk_error e = { 0 };
  uint64_t cap, bytes, data = 0, gts, extents;
  VixDiskLibDiskType t = cloneDiskType;
  VixError err;

  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "SpaceNeededForClone: %s disk handle", diskHandle
                    ? "invalid or closed" : "NULL");
  if (!spaceNeeded) {
    vx_disk_end (d, false);
    return vx_fail (VIX_E_INVALID_ARG, "SpaceNeededForClone: spaceNeeded is "
                    "NULL");
  }
  if (t == VIXDISKLIB_DISK_UNKNOWN)
    t = vx_disk_type_of (vmdk_get_info (d->vd)->create_type);
  if (t == VIXDISKLIB_DISK_UNKNOWN || t == VIXDISKLIB_DISK_VMFS_SPARSE
      || t == VIXDISKLIB_DISK_VMFS_THIN)
    t = VIXDISKLIB_DISK_MONOLITHIC_SPARSE;   /* the hosted equivalent */
  if (t == VIXDISKLIB_DISK_VMFS_FLAT)
    t = VIXDISKLIB_DISK_MONOLITHIC_FLAT;
  cap = vmdk_get_info (d->vd)->capacity * VIXDISKLIB_SECTOR_SIZE;
  extents = (t == VIXDISKLIB_DISK_SPLIT_SPARSE || t == VIXDISKLIB_DISK_SPLIT_FLAT)
    ? (cap + SPLIT_BYTES - 1) / SPLIT_BYTES : 1;
  if (extents == 0)
    extents = 1;
  switch (t) {
  case VIXDISKLIB_DISK_MONOLITHIC_FLAT: case VIXDISKLIB_DISK_SPLIT_FLAT:
    bytes = cap + 4096;   /* extents + descriptor */
    break;
  default:
    if (vmdk_map (d->vd, 0, cap, 0, data_bytes_cb, &data, &e) == -1) {
      err = vx_fail_vmdk ("SpaceNeededForClone", &e);
      vx_disk_end (d, false);
      return err;
    }
    /* grain tables of 512 entries cover 32 MiB; primary + redundant copies
     * of tables and directory; 64 KiB header/descriptor area per extent */
    gts = (cap + (UINT64_C (32) << 20) - 1) / (UINT64_C (32) << 20);
    bytes = data + 2 * (gts * 2048 + gts * 4) + extents * 65536 + 4096;
    if (t == VIXDISKLIB_DISK_STREAM_OPTIMIZED)
      bytes += data / 65536 * 512;   /* grain markers (data is an upper bound) */
  }
  vx_disk_end (d, false);
  *spaceNeeded = bytes;
  return VIX_OK;
}

/* ---- CheckRepair ---------------------------------------------------------------- */

static int
nop_cb (void *opaque, const struct vmdk_map_entry *e)
{
  (void) opaque; (void) e;
  return 0;
}

static bool
is_damage (VixError code)
{
  return code == VIX_E_DISK_NEEDSREPAIR || code == VIX_E_DISK_INVALIDDISK;
}

VX_API VixError
VixDiskLib_CheckRepair (const VixDiskLibConnection connection,
                        const char *filename, Bool repair)
{
  const char *fn = "CheckRepair";
  struct vmdk_disk *vd;
  struct vmdk_error e = { 0 };
  VixError err;

  if ((err = valid_conn (fn, connection)) != VIX_OK
      || (err = need_path (fn, "file name", filename)) != VIX_OK)
    return err;
  if (repair && (err = writable_conn (fn, connection)) != VIX_OK)
    return err;
  pthread_mutex_lock (&vx_big_lock);
  vd = open_engine (fn, filename, VMDK_OPEN_RDONLY, &err);
  if (vd) {
    bool unclean = vmdk_get_info (vd)->unclean_shutdown;
    for (size_t i = 0; vmdk_warning (vd, i); i++)
      vx_log (VX_WARNING, "CheckRepair: %s", vmdk_warning (vd, i));
    /* Walking the whole allocation map reads and checks every table. */
    if (vmdk_map (vd, 0, vmdk_size (vd), 0, nop_cb, NULL, &e) == -1)
      err = vx_fail_vmdk ("CheckRepair: checking the grain tables", &e);
    vmdk_close (vd);
    if (err == VIX_OK && unclean && !repair)
      err = vx_fail_at (VX_WARNING, VIX_E_DISK_NEEDSREPAIR, "CheckRepair: %s "
                        "was not closed cleanly", filename);
    else if (err == VIX_OK && unclean) {
      /* Opening for writing and closing clears the flag. */
      struct vmdk_disk *w = open_engine (fn, filename, 0, &err);
      if (w) {
        if (vmdk_flush (w, &e) == -1)
          err = vx_fail_vmdk (fn, &e);
        else
          vx_log (VX_AUDIT, "CheckRepair: %s: cleared the unclean-shutdown "
                  "flag", filename);
        vmdk_close (w);
      }
    }
  }
  if (err != VIX_OK && is_damage (err) && repair)
    err = vx_fail (VIX_E_DISK_CANTREPAIR, "CheckRepair: %s: this library "
                   "cannot repair damaged disk metadata", filename);
  pthread_mutex_unlock (&vx_big_lock);
  if (err == VIX_OK)
    vx_log (VX_INFO, "CheckRepair: %s is consistent", filename);
  return err;
}

/* ---- calls for ESXi or not available locally --------------------------------- */

static VixError
unsupported_on_handle (const char *fn, VixDiskLibHandle h, const char *why)
{
  struct vx_disk *d;
  VixError err;

  d = vx_disk_begin (h, false, &err);
  if (!d)
    return vx_fail (err, "%s: %s disk handle", fn, h ? "invalid or closed"
                    : "NULL");
  err = vx_fail_at (VX_AUDIT, VIX_E_NOT_SUPPORTED, "%s: %s: %s", fn, d->path,
                    why);
  vx_disk_end (d, false);
  return err;
}

VX_API VixError
VixDiskLib_Shrink (VixDiskLibHandle diskHandle,
                   VixDiskLibProgressFunc progressFunc,
                   void *progressCallbackData)
{
  (void) progressFunc; (void) progressCallbackData;
  return unsupported_on_handle ("Shrink", diskHandle, "shrinking is not "
                                "implemented by this library (clone the disk "
                                "to drop unused grains)");
}

VX_API VixError
VixDiskLib_Defragment (VixDiskLibHandle diskHandle,
                       VixDiskLibProgressFunc progressFunc,
                       void *progressCallbackData)
{
  (void) progressFunc; (void) progressCallbackData;
  return unsupported_on_handle ("Defragment", diskHandle, "defragmenting is "
                                "not implemented by this library (a clone is "
                                "written in order)");
}

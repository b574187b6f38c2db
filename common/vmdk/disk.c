/* vixmount VMDK engine: opening a disk (descriptor, extents, parent chain),
 * reading it and mapping its allocation. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "fullio.h"

#define MAGIC_KDMV "KDMV"
#define MAGIC_COWD "COWD"
#define SESPARSE_MAGIC UINT64_C (0xcafebabe)
#define PROBE_BYTES 2048

struct open_ctx {
  struct vmdk_options o;
  struct cache_budget *budget;
};

int
vx_warn (struct vmdk_disk *d, const char *fmt, ...)
{
  va_list ap;
  char *s, **grown;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    s = NULL;
  va_end (ap);
  if (!s)
    return -1;
  grown = realloc (d->warnings, (d->n_warnings + 1) * sizeof *grown);
  if (!grown) {
    free (s);
    return -1;
  }
  d->warnings = grown;
  d->warnings[d->n_warnings++] = s;
  d->info.num_warnings = d->n_warnings;
  return 0;
}

static void
free_extent (struct extent *e)
{
  vx_gtab_free (e->gt);
  if (e->own_fd && e->fd >= 0)
    close (e->fd);
  if (e->dfd >= 0)
    close (e->dfd);
  free (e->filename);
  free (e->path);
}

void
vmdk_close (struct vmdk_disk *d)
{
  struct cache_budget *budget = d && d->owns_budget ? d->budget : NULL;

  if (d && d->writable) {
    vx_finish_write (d);
    for (size_t i = 0; i < d->n_extents; i++)
      pthread_mutex_destroy (&d->extents[i].alloc_lock);
    pthread_mutex_destroy (&d->meta_lock);
  }
  while (d) {
    struct vmdk_disk *parent = d->parent;
    for (size_t i = 0; i < d->n_extents; i++)
      free_extent (&d->extents[i]);
    free (d->extents);
    for (size_t i = 0; i < d->n_warnings; i++)
      free (d->warnings[i]);
    free (d->warnings);
    free (d->files);
    vx_desc_free (&d->desc);
    if (d->dirfd >= 0)
      close (d->dirfd);
    if (d->desc_fd >= 0)
      close (d->desc_fd);
    free (d->path);
    free (d->dir);
    free (d);
    d = parent;
  }
  vx_cache_free (budget);   /* last: freeing grain tables above updates it */
}

static int
file_size_of (int fd, const char *path, uint64_t *size, struct vmdk_error *err)
{
  struct stat st;

  if (fstat (fd, &st) == -1) {
    vx_err_errno (err, errno, "%s: stat", path);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: not a regular file", path);
    return -1;
  }
  *size = (uint64_t) st.st_size;
  return 0;
}

/* First bytes of a file, zero padded. */
static int
probe (int fd, const char *path, uint64_t size, uint8_t *buf,
       struct vmdk_error *err)
{
  size_t n = size < PROBE_BYTES ? (size_t) size : PROBE_BYTES;
  memset (buf, 0, PROBE_BYTES);
  return vx_pread_full (fd, path, buf, n, 0, "header", err);
}

/* Does text from a file without sparse header magic carry anything of a
 * descriptor?  If not, the file is no VMDK at all (VMDK_ERR_NOTVMDK), which
 * callers report differently from a damaged or oversized descriptor. */
static bool
has_descriptor_words (const char *text, size_t len)
{
  static const char *const words[] = {          /* any case */
    "createType", "DescriptorFile", "Extent description", "ddb.", "parentCID",
  };
  static const char *const access[] = {         /* extent lines, as written */
    "RW ", "RDONLY ", "NOACCESS ",
  };

  for (size_t i = 0; i < len; i++) {
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
      if (len - i >= strlen (words[w])
          && strncasecmp (text + i, words[w], strlen (words[w])) == 0)
        return true;
    for (size_t a = 0; a < sizeof access / sizeof access[0]; a++)
      if (len - i >= strlen (access[a])
          && memcmp (text + i, access[a], strlen (access[a])) == 0)
        return true;
  }
  return false;
}

/* The same for the first 4 KiB of a file too large to be read whole; a read
 * error answers yes (the caller then reports what it finds). */
static bool
head_has_descriptor_words (int fd)
{
  char head[4096];
  ssize_t got = vx_full_pread (fd, head, sizeof head, 0);

  return got < 0 || has_descriptor_words (head, (size_t) got);
}

static void
not_a_vmdk (const char *path, struct vmdk_error *err)
{
  vx_err (err, VMDK_ERR_NOTVMDK, "%s: not a VMDK: no sparse header magic "
                 "(KDMV, COWD, seSparse) and no descriptor", path);
}

static int
open_sparse_kind (struct extent *e, uint64_t size, const uint8_t *hdr,
                  struct cache_budget *budget, struct vmdk_error *err)
{
  switch (e->info.type) {
  case VMDK_EXTENT_SPARSE:
    if (memcmp (hdr, MAGIC_KDMV, 4) != 0) {
      vx_err (err, VMDK_ERR_FORMAT, "%s: SPARSE extent has no KDMV sparse header",
              e->path);
      return -1;
    }
    return vx_sparse_open (e, hdr, size, budget, err);
  case VMDK_EXTENT_VMFSSPARSE:
    if (memcmp (hdr, MAGIC_COWD, 4) != 0) {
      vx_err (err, VMDK_ERR_FORMAT, "%s: VMFSSPARSE extent has no COWD header", e->path);
      return -1;
    }
    return vx_cowd_open (e, hdr, size, budget, err);
  case VMDK_EXTENT_SESPARSE:
    if (le64 (hdr) != SESPARSE_MAGIC) {
      vx_err (err, VMDK_ERR_FORMAT, "%s: SESPARSE extent has no seSparse header", e->path);
      return -1;
    }
    return vx_sesparse_open (e, hdr, size, budget, err);
  default:
    abort ();
  }
}

/* Exclusive lock for the top link of an owner that writes elsewhere. */
static bool
depth_excl (const struct open_ctx *c, const struct vmdk_disk *d)
{
  return (c->o.flags & VMDK_OPEN_LOCK_EXCL) && d->depth == 0;
}

static bool
is_sparse_type (enum vmdk_extent_type t)
{
  return t == VMDK_EXTENT_SPARSE || t == VMDK_EXTENT_VMFSSPARSE
    || t == VMDK_EXTENT_SESPARSE;
}

static const char *const device_types[] = {
  "fullDevice", "partitionedDevice", "vmfsRaw", "vmfsRawDeviceMap",
  "vmfsPassthroughRawDeviceMap",
};

/* Open the extents named by a separate (text) descriptor. */
static int
open_desc_extents (struct vmdk_disk *d, const struct open_ctx *c, bool rw,
                   struct vmdk_error *err)
{
  struct descriptor *ds = &d->desc;
  bool allow_esc = c->o.flags & VMDK_OPEN_ALLOW_ESCAPE;
  bool allow_dev = c->o.flags & VMDK_OPEN_ALLOW_DEVICES;

  for (size_t i = 0; i < sizeof device_types / sizeof device_types[0]; i++)
    if (strcasecmp (ds->create_type, device_types[i]) == 0 && !allow_dev) {
      vx_err (err, VMDK_ERR_UNSUPPORTED,
              "%s: createType \"%s\" maps a physical device; refused (allow devices explicitly)",
              d->path, ds->create_type);
      return -1;
    }

  d->extents = calloc (ds->n_extents, sizeof *d->extents);
  if (!d->extents)
    return vx_oom (err, "extents");
  for (size_t i = 0; i < ds->n_extents; i++) {
    struct desc_extent *x = &ds->extents[i];
    struct extent *e = &d->extents[i];
    uint64_t size;
    uint8_t hdr[PROBE_BYTES];

    e->fd = -1;
    e->dfd = -1;
    d->n_extents = i + 1;
    e->info.access = x->access;
    e->info.type = x->type;
    e->info.sectors = x->sectors;
    e->info.flat_offset = x->offset;
    if (x->type == VMDK_EXTENT_ZERO)
      continue;
    if ((x->type == VMDK_EXTENT_VMFSRDM || x->type == VMDK_EXTENT_VMFSRAW) && !allow_dev) {
      vx_err (err, VMDK_ERR_UNSUPPORTED,
              "%s: descriptor line %u: %s extent \"%s\" maps a raw device; refused",
              d->path, x->line, vmdk_extent_type_name (x->type), x->filename);
      return -1;
    }
    e->filename = strdup (x->filename);
    if (!e->filename)
      return vx_oom (err, "extent");
    e->fd = vx_open_beneath (d->dirfd, d->dir, d->path, x->filename, allow_esc || allow_dev,
                             rw && x->access == VMDK_ACCESS_RW ? O_RDWR : O_RDONLY,
                             &e->path, "extent file", err);
    if (e->fd < 0)
      return -1;
    e->own_fd = true;
    if ((c->o.flags & VMDK_OPEN_LOCK)
        && vx_lock_fd (e->fd, e->path, (rw || (depth_excl (c, d))) && x->access == VMDK_ACCESS_RW,
                       err) == -1)
      return -1;
    if (file_size_of (e->fd, e->path, &size, err) == -1)
      return -1;
    e->info.file_bytes = size;
    if (is_sparse_type (x->type)) {
      if (probe (e->fd, e->path, size, hdr, err) == -1
          || open_sparse_kind (e, size, hdr, c->budget, err) == -1)
        return -1;
      if (e->valid_sectors != x->sectors) {
        vx_warn (d, "%s: descriptor says %" PRIu64 " sectors, the extent header %" PRIu64
                 "; using the descriptor's size", e->path, x->sectors, e->valid_sectors);
        if (e->valid_sectors > x->sectors)
          e->valid_sectors = x->sectors;
      }
    }
    else {  /* FLAT, VMFS, RDM, RAW: bytes in place */
      uint64_t need;
      if (x->offset > UINT64_MAX / SECTOR - x->sectors) {
        vx_err (err, VMDK_ERR_FORMAT, "%s: descriptor line %u: offset + size overflows",
                d->path, x->line);
        return -1;
      }
      need = (x->offset + x->sectors) * SECTOR;
      if (size < need) {
        vx_err (err, VMDK_ERR_TRUNCATED,
                "%s: extent file has %" PRIu64 " bytes but the descriptor needs %" PRIu64
                " (offset %" PRIu64 " + %" PRIu64 " sectors)", e->path, size, need,
                x->offset, x->sectors);
        return -1;
      }
    }
  }
  return 0;
}

/* A binary extent opened directly: the extent is the file itself. */
static int
open_self_extent (struct vmdk_disk *d, int fd, uint64_t size,
                  enum vmdk_extent_type type, const uint8_t *hdr,
                  const struct open_ctx *c, struct vmdk_error *err)
{
  struct extent *e;

  d->extents = calloc (1, sizeof *d->extents);
  if (!d->extents)
    return vx_oom (err, "extents");
  d->n_extents = 1;
  e = &d->extents[0];
  e->fd = fd;
  e->dfd = -1;
  e->own_fd = false;
  e->path = strdup (d->path);
  e->filename = strdup (vx_basename_any (d->path));
  if (!e->path || !e->filename)
    return vx_oom (err, "extent");
  e->info.access = VMDK_ACCESS_RW;
  e->info.type = type;
  e->info.file_bytes = size;
  if (open_sparse_kind (e, size, hdr, c->budget, err) == -1)
    return -1;
  e->info.sectors = e->valid_sectors;
  return 0;
}

static struct vmdk_disk *open_link (const char *path, int fd,
                                    const struct open_ctx *c, unsigned depth,
                                    struct vmdk_disk *child, bool rw,
                                    struct vmdk_error *err);

static int
open_parent (struct vmdk_disk *d, const struct open_ctx *c,
             struct vmdk_error *err)
{
  const char *hint = d->desc.parent_hint, *base = vx_basename_any (hint);
  bool allow_esc = c->o.flags & VMDK_OPEN_ALLOW_ESCAPE;
  struct vmdk_error e1 = { 0 };
  char *resolved = NULL;
  int fd;

  fd = vx_open_beneath (d->dirfd, d->dir, d->path, hint, allow_esc, O_RDONLY, &resolved,
                        "parent", &e1);
  if (fd < 0 && (e1.code == VMDK_ERR_PATH || e1.code == VMDK_ERR_NOENT)
      && strcmp (base, hint) != 0 && *base) {
    /* A hint from another machine or leaving the directory: look for the
     * file by its name next to the child. */
    struct vmdk_error e2 = { 0 };
    fd = vx_open_beneath (d->dirfd, d->dir, d->path, base, false, O_RDONLY, &resolved,
                          "parent", &e2);
    if (fd >= 0)
      vx_warn (d, "%s: parentFileNameHint \"%s\" not usable (%s); using \"%s\" beside the child",
               d->path, hint, e1.msg, base);
  }
  if (fd < 0) {
    if (err)
      *err = e1;
    return -1;
  }
  d->parent = open_link (resolved, fd, c, d->depth + 1, d, false, err);
  free (resolved);
  if (!d->parent)
    return -1;
  if (!(c->o.flags & VMDK_OPEN_NO_CID_CHECK) && d->parent->info.has_cid
      && d->desc.parent_cid != d->parent->info.cid) {
    vx_err (err, VMDK_ERR_CID,
            "%s: parentCID %08" PRIx32 " does not match CID %08" PRIx32
            " of parent %s (the parent changed after the snapshot was taken)",
            d->path, d->desc.parent_cid, d->parent->info.cid, d->parent->path);
    return -1;
  }
  if (d->parent->size != d->size) {
    vx_err (err, VMDK_ERR_CHAIN,
            "%s: capacity %" PRIu64 " bytes differs from parent %s (%" PRIu64 " bytes)",
            d->path, d->size, d->parent->path, d->parent->size);
    return -1;
  }
  return 0;
}

static struct vmdk_disk *
open_link (const char *path, int fd, const struct open_ctx *c, unsigned depth,
           struct vmdk_disk *child, bool rw, struct vmdk_error *err)
{
  struct vmdk_disk *d;
  struct stat st;
  uint64_t size, total = 0;
  uint8_t hdr[PROBE_BYTES];
  char *text = NULL;

  d = calloc (1, sizeof *d);
  if (!d) {
    if (fd >= 0) close (fd);
    vx_oom (err, "disk");
    return NULL;
  }
  d->dirfd = -1;
  d->desc_fd = -1;
  d->depth = depth;
  d->budget = c->budget;
  d->path = strdup (path);
  d->dir = vx_dirname (path);
  if (!d->path || !d->dir) {
    if (fd >= 0) close (fd);
    vx_oom (err, "disk");
    goto fail;
  }
  if (fd < 0) {
    fd = open (path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
      vx_err_errno (err, errno, "%s: cannot open VMDK", path);
      goto fail;
    }
  }
  /* The disk keeps this fd: as extent 0 of a binary file, or closed below. */
  d->dirfd = open (d->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (d->dirfd < 0) {
    vx_err_errno (err, errno, "%s: cannot open the directory", d->dir);
    close (fd);
    goto fail;
  }
  if (fstat (fd, &st) == -1) {
    vx_err_errno (err, errno, "%s: stat", path);
    close (fd);
    goto fail;
  }
  d->dev = st.st_dev;
  d->ino = st.st_ino;
  d->child = child;
  for (struct vmdk_disk *k = child; k; k = k->child)
    if (k->dev == d->dev && k->ino == d->ino) {
      vx_err (err, VMDK_ERR_CHAIN,
              "%s: parent loop: this file is already in the chain (opened as %s)",
              path, k->path);
      close (fd);
      goto fail;
    }
  if ((c->o.flags & VMDK_OPEN_LOCK) && vx_lock_fd (fd, path, rw || depth_excl (c, d), err) == -1) {
    close (fd);
    goto fail;
  }
  if (file_size_of (fd, path, &size, err) == -1 || probe (fd, path, size, hdr, err) == -1) {
    close (fd);
    goto fail;
  }

  if (memcmp (hdr, MAGIC_KDMV, 4) == 0 || memcmp (hdr, MAGIC_COWD, 4) == 0
      || le64 (hdr) == SESPARSE_MAGIC) {
    enum vmdk_extent_type type = hdr[0] == 'K' ? VMDK_EXTENT_SPARSE
      : hdr[0] == 'C' ? VMDK_EXTENT_VMFSSPARSE : VMDK_EXTENT_SESPARSE;
    if (open_self_extent (d, fd, size, type, hdr, c, err) == -1) {
      if (d->n_extents == 0) close (fd);
      else d->extents[0].own_fd = true;
      goto fail;
    }
    d->extents[0].own_fd = true;
    struct extent *e = &d->extents[0];
    if (type == VMDK_EXTENT_SPARSE && le64 (hdr + 28) != 0 && le64 (hdr + 36) != 0) {
      uint64_t doff = le64 (hdr + 28), dsz = le64 (hdr + 36);
      if (dsz > VMDK_MAX_DESCRIPTOR_BYTES / SECTOR) {
        vx_err (err, VMDK_ERR_LIMIT,
                "%s: embedded descriptor of %" PRIu64 " sectors exceeds the limit", path, dsz);
        goto fail;
      }
      text = malloc (dsz * SECTOR);
      if (!text) { vx_oom (err, "descriptor"); goto fail; }
      if (vx_pread_full (fd, path, text, dsz * SECTOR, doff * SECTOR,
                         "embedded descriptor", err) == -1
          || vx_desc_parse (text, dsz * SECTOR, path, &d->desc, err) == -1)
        goto fail;
      d->info.has_descriptor = d->info.embedded_descriptor = true;
      e->desc_off = doff * SECTOR;
      e->desc_bytes = dsz * SECTOR;
      if (d->desc.n_extents != 1 || !is_sparse_type (d->desc.extents[0].type)) {
        vx_err (err, VMDK_ERR_UNSUPPORTED,
                "%s: embedded descriptor lists %zu extents; only a single sparse extent (the file itself) is supported",
                path, d->desc.n_extents);
        goto fail;
      }
      /* The data is in this file whatever name the extent line gives; the
       * name is still reported as written. */
      e->info.access = d->desc.extents[0].access;
      if (d->desc.extents[0].filename) {
        char *n = strdup (d->desc.extents[0].filename);
        if (!n) { vx_oom (err, "extent"); goto fail; }
        free (e->filename);
        e->filename = n;
      }
      if (d->desc.extents[0].sectors != e->valid_sectors)
        vx_warn (d, "%s: embedded descriptor says %" PRIu64 " sectors, the header %" PRIu64
                 "; using the header's", path, d->desc.extents[0].sectors, e->valid_sectors);
    }
    else {
      d->desc.parent_cid = 0xffffffff;
      d->desc.create_type = strdup (type == VMDK_EXTENT_SPARSE
                                    ? (e->info.compressed ? "streamOptimized" : "monolithicSparse")
                                    : type == VMDK_EXTENT_VMFSSPARSE ? "vmfsSparse" : "seSparse");
      if (!d->desc.create_type) { vx_oom (err, "disk"); goto fail; }
    }
    if (!d->desc.create_type) {
      d->desc.create_type = strdup (e->info.compressed ? "streamOptimized" : "monolithicSparse");
      if (!d->desc.create_type) { vx_oom (err, "disk"); goto fail; }
    }
  }
  else {
    if (size > VMDK_MAX_DESCRIPTOR_BYTES) {
      if (!head_has_descriptor_words (fd))
        not_a_vmdk (path, err);
      else
        vx_err (err, VMDK_ERR_LIMIT,
              "%s: %" PRIu64 " bytes: too large for a descriptor (limit %d) and no sparse header magic",
              path, size, VMDK_MAX_DESCRIPTOR_BYTES);
      close (fd);
      goto fail;
    }
    text = malloc (size + 1);
    if (!text) { close (fd); vx_oom (err, "descriptor"); goto fail; }
    if (vx_pread_full (fd, path, text, size, 0, "descriptor", err) == -1) {
      close (fd);
      goto fail;
    }
    if (!has_descriptor_words (text, size)) {
      not_a_vmdk (path, err);
      close (fd);
      goto fail;
    }
    if (c->o.flags & VMDK_OPEN_LOCK)
      d->desc_fd = fd;      /* holds the lock (extent files are locked too:
                               a descriptor rewrite replaces this inode) */
    else
      close (fd);
    if (vx_desc_parse (text, size, path, &d->desc, err) == -1)
      goto fail;
    d->info.has_descriptor = true;
    if (!d->desc.create_type) {
      vx_err (err, VMDK_ERR_FORMAT, "%s: descriptor has no createType", path);
      goto fail;
    }
    if (d->desc.n_extents == 0) {
      vx_err (err, VMDK_ERR_FORMAT, "%s: descriptor lists no extents", path);
      goto fail;
    }
    if (open_desc_extents (d, c, rw, err) == -1)
      goto fail;
  }
  free (text);
  text = NULL;

  for (size_t i = 0; i < d->n_extents; i++) {
    struct extent *e = &d->extents[i];
    e->info.start = total;
    if (e->info.sectors > VMDK_MAX_CAPACITY_SECTORS - total) {
      vx_err (err, VMDK_ERR_LIMIT,
              "%s: total capacity exceeds the limit of %" PRIu64 " sectors (64 PiB)", path,
              (uint64_t) VMDK_MAX_CAPACITY_SECTORS);
      goto fail;
    }
    total += e->info.sectors;
    e->start_byte = e->info.start * SECTOR;
    e->end_byte = total * SECTOR;
    if (e->info.type == VMDK_EXTENT_SPARSE || e->info.type == VMDK_EXTENT_VMFSSPARSE
        || e->info.type == VMDK_EXTENT_SESPARSE) {
      if (e->info.grain_sectors > d->info.grain_sectors)
        d->info.grain_sectors = e->info.grain_sectors;
      if (e->info.unclean_shutdown)
        d->info.unclean_shutdown = true;
    }
    e->info.filename = e->filename;
    e->info.path = e->path;
  }
  d->size = total * SECTOR;

  /* vmdk_file_path: the descriptor (or the file itself), then extent files */
  d->files = calloc (d->n_extents + 1, sizeof *d->files);
  if (!d->files) { vx_oom (err, "disk"); goto fail; }
  d->files[d->n_files++] = d->path;
  for (size_t i = 0; i < d->n_extents; i++) {
    bool seen = !d->extents[i].path;
    for (size_t k = 0; k < d->n_files && !seen; k++)
      seen = strcmp (d->files[k], d->extents[i].path) == 0;
    if (!seen)
      d->files[d->n_files++] = d->extents[i].path;
  }

  d->info.path = d->path;
  d->info.create_type = d->desc.create_type;
  d->info.version = d->desc.version;
  d->info.encoding = d->desc.encoding;
  d->info.has_cid = d->desc.has_cid;
  d->info.cid = d->desc.cid;
  d->info.parent_cid = d->desc.parent_cid;
  d->info.parent_hint = d->desc.parent_hint;
  d->info.capacity = total;
  d->info.num_extents = d->n_extents;
  d->info.num_links = 1;

  if (d->desc.parent_hint && !(c->o.flags & VMDK_OPEN_SINGLE_LINK)) {
    if (depth + 1 >= c->o.max_chain) {
      vx_err (err, VMDK_ERR_CHAIN, "%s: snapshot chain is deeper than %u links", path,
              c->o.max_chain);
      goto fail;
    }
    if (open_parent (d, c, err) == -1)
      goto fail;
    d->info.num_links = d->parent->info.num_links + 1;
  }
  else if (d->desc.parent_hint == NULL && d->desc.parent_cid != 0xffffffff
           && d->info.has_descriptor)
    vx_warn (d, "%s: parentCID is set but there is no parentFileNameHint", path);
  return d;

 fail:
  free (text);
  vmdk_close (d);
  return NULL;
}

struct vmdk_disk *
vmdk_open (const char *path, const struct vmdk_options *opts,
           struct vmdk_error *err)
{
  struct open_ctx c = { 0 };
  struct vmdk_disk *d;
  struct cache_budget *b;

  if (err) {
    err->code = VMDK_OK;
    err->sys_errno = 0;
    err->msg[0] = '\0';
  }
  if (!path || !*path) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_open: no path given");
    return NULL;
  }
  if (opts)
    c.o = *opts;
  if (c.o.gt_cache_bytes == 0)
    c.o.gt_cache_bytes = VMDK_DEFAULT_GT_CACHE;
  if (c.o.max_chain == 0)
    c.o.max_chain = VMDK_DEFAULT_MAX_CHAIN;
  /* The budget lives in the top disk; allocate it first so the chain can
   * share it. */
  b = vx_cache_new (c.o.gt_cache_bytes);
  if (!b) {
    vx_oom (err, "disk");
    return NULL;
  }
  c.budget = b;
  d = open_link (path, -1, &c, 0, NULL, !(c.o.flags & VMDK_OPEN_RDONLY), err);
  if (!d) {
    vx_cache_free (b);
    return NULL;
  }
  d->owns_budget = true;
  for (struct vmdk_disk *k = d; k; k = k->parent)
    k->child = NULL;  /* only needed while opening */
  if (!(c.o.flags & VMDK_OPEN_RDONLY) && vx_prepare_write (d, err) == -1) {
    vmdk_close (d);
    return NULL;
  }
  if (c.o.flags & VMDK_OPEN_DIRECT_READ)
    for (struct vmdk_disk *k = d; k; k = k->parent)
      for (size_t i = 0; i < k->n_extents; i++)
        vx_direct_open (&k->extents[i]);
  return d;
}

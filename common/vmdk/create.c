/* vixmount VMDK engine: creating disks, delta links and clones.
 *
 * The files look like those qemu-img and VMware hosted products write:
 * hosted sparse extents with an embedded or reserved descriptor area,
 * redundant and primary grain directories with preallocated tables, 64 KiB
 * grains; split kinds cut at 2 GiB; stream-optimized clones in VMware's
 * layout (grain directory at the end behind a footer).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdeflate.h>

#include "internal.h"

#define GRAIN 128u                            /* sectors */
#define GTES 512u
#define DESC_SECTORS 20u
#define SPLIT_SECTORS (UINT64_C (4194304))    /* 2 GiB, as qemu-img */
#define MAX_CREATE_SECTORS (UINT64_C (62) << 31)   /* 62 TiB, VMware's limit */
#define MAX_MONO_SPARSE (UINT64_C (1) << 32)       /* 2 TiB: 32-bit GTEs */

enum kind { K_MONO_SPARSE, K_MONO_FLAT, K_SPLIT_SPARSE, K_SPLIT_FLAT, K_STREAM };

static const struct { const char *name; enum kind k; } kinds[] = {
  { "monolithicSparse", K_MONO_SPARSE }, { "monolithicFlat", K_MONO_FLAT },
  { "twoGbMaxExtentSparse", K_SPLIT_SPARSE }, { "twoGbMaxExtentFlat", K_SPLIT_FLAT },
  { "streamOptimized", K_STREAM },
};

static int
kind_of (const char *name, enum kind *k, struct vmdk_error *err)
{
  if (!name) {
    *k = K_MONO_SPARSE;
    return 0;
  }
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcasecmp (name, kinds[i].name) == 0) {
      *k = kinds[i].k;
      return 0;
    }
  vx_err (err, VMDK_ERR_UNSUPPORTED,
          "createType \"%s\" cannot be created (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized can)",
          name);
  return -1;
}

static int
check_adapter (const char *a, struct vmdk_error *err)
{
  if (!a || !strcmp (a, "ide") || !strcmp (a, "buslogic") || !strcmp (a, "lsilogic")
      || !strcmp (a, "legacyESX"))
    return 0;
  vx_err (err, VMDK_ERR_INVAL,
          "adapter type \"%s\" is not one of ide, buslogic, lsilogic, legacyESX", a);
  return -1;
}

/* ---- files being created ---------------------------------------------------- */

struct newfiles {
  char *paths[64];     /* created so far, removed again on failure */
  size_t n;
  char **more;
  size_t n_more;
};

static int
create_file (struct newfiles *nf, const char *path, struct vmdk_error *err)
{
  int fd = open (path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  char *copy;

  if (fd < 0) {
    if (errno == EEXIST)
      vx_err (err, VMDK_ERR_EXISTS, "%s: file exists already", path);
    else
      vx_err_errno (err, errno, "%s: cannot create", path);
    return -1;
  }
  copy = strdup (path);
  if (copy && nf->n < sizeof nf->paths / sizeof nf->paths[0])
    nf->paths[nf->n++] = copy;
  else if (copy) {
    char **g = realloc (nf->more, (nf->n_more + 1) * sizeof *g);
    if (g) { nf->more = g; g[nf->n_more++] = copy; }
    else free (copy);
  }
  return fd;
}

static void
newfiles_done (struct newfiles *nf, bool remove)
{
  for (size_t i = 0; i < nf->n; i++) {
    if (remove) unlink (nf->paths[i]);
    free (nf->paths[i]);
  }
  for (size_t i = 0; i < nf->n_more; i++) {
    if (remove) unlink (nf->more[i]);
    free (nf->more[i]);
  }
  free (nf->more);
  memset (nf, 0, sizeof *nf);
}

/* ---- the descriptor text ------------------------------------------------------- */

struct text { char *s; size_t len, cap; bool oom; };

__attribute__ ((format (printf, 2, 3)))
static void
tprintf (struct text *t, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (t->oom) return;
  for (;;) {
    va_start (ap, fmt);
    n = vsnprintf (t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
    va_end (ap);
    if (n < 0) { t->oom = true; return; }
    if (t->s && t->len + (size_t) n < t->cap) { t->len += (size_t) n; return; }
    size_t cap = (t->cap + (size_t) n + 1) * 2;
    char *g = realloc (t->s, cap);
    if (!g) { t->oom = true; return; }
    t->s = g; t->cap = cap;
  }
}

static void
uuid_text (char out[48])
{
  uint8_t u[16];
  for (int i = 0; i < 16; i += 4) {
    uint32_t r = vx_random_cid ();
    memcpy (u + i, &r, 4);
  }
  snprintf (out, 48, "%02x %02x %02x %02x %02x %02x %02x %02x-%02x %02x %02x %02x %02x %02x %02x %02x",
            u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
            u[12], u[13], u[14], u[15]);
}

struct ext_line { uint64_t sectors; const char *type; char *name; bool offset; };

static char *
descriptor_text (enum kind k, uint64_t capacity, uint32_t parent_cid,
                 const char *parent_hint, const struct ext_line *x, size_t n,
                 const char *adapter, unsigned hw, size_t *len)
{
  struct text t = { 0 };
  uint64_t heads, secs = 63, cyl;
  char uuid[48];

  if (!adapter) adapter = "ide";
  heads = strcmp (adapter, "ide") == 0 ? 16 : 255;
  cyl = capacity / (heads * secs);
  if (strcmp (adapter, "ide") == 0 && cyl > 16383) cyl = 16383;
  if (cyl == 0) cyl = 1;
  uuid_text (uuid);

  tprintf (&t, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=%08" PRIx32
           "\nparentCID=%08" PRIx32 "\ncreateType=\"%s\"\n", vx_random_cid (), parent_cid,
           kinds[k].name);
  if (parent_hint)
    tprintf (&t, "parentFileNameHint=\"%s\"\n", parent_hint);
  tprintf (&t, "\n# Extent description\n");
  for (size_t i = 0; i < n; i++)
    tprintf (&t, "RW %" PRIu64 " %s \"%s\"%s\n", x[i].sectors, x[i].type, x[i].name,
             x[i].offset ? " 0" : "");
  tprintf (&t, "\n# The Disk Data Base\n#DDB\n\n");
  tprintf (&t, "ddb.adapterType = \"%s\"\n", adapter);
  tprintf (&t, "ddb.geometry.cylinders = \"%" PRIu64 "\"\n", cyl);
  tprintf (&t, "ddb.geometry.heads = \"%" PRIu64 "\"\n", heads);
  tprintf (&t, "ddb.geometry.sectors = \"%" PRIu64 "\"\n", secs);
  tprintf (&t, "ddb.uuid = \"%s\"\n", uuid);
  tprintf (&t, "ddb.virtualHWVersion = \"%u\"\n", hw ? hw : 4);
  if (t.oom) {
    free (t.s);
    return NULL;
  }
  *len = t.len;
  return t.s;
}

/* ---- hosted sparse files ---------------------------------------------------------- */

struct sparse_layout {
  uint64_t n_gts, gd_sectors, rgd, gd, overhead;
};

static void
layout_of (uint64_t capacity, struct sparse_layout *l)
{
  uint64_t n_grains = (capacity + GRAIN - 1) / GRAIN;
  l->n_gts = (n_grains + GTES - 1) / GTES;
  l->gd_sectors = (l->n_gts * 4 + SECTOR - 1) / SECTOR;
  l->rgd = 1 + DESC_SECTORS;
  l->gd = l->rgd + l->gd_sectors + l->n_gts * 4;
  l->overhead = (l->gd + l->gd_sectors + l->n_gts * 4 + GRAIN - 1) / GRAIN * GRAIN;
}

static void
sparse_header (uint8_t *h, uint32_t version, uint32_t flags, uint64_t capacity,
               uint64_t desc_off, uint64_t desc_size, uint64_t rgd, uint64_t gd,
               uint64_t overhead, uint16_t algo)
{
  memset (h, 0, SECTOR);
  memcpy (h, "KDMV", 4);
  put_le32 (h + 4, version);
  put_le32 (h + 8, flags);
  put_le64 (h + 12, capacity);
  put_le64 (h + 20, GRAIN);
  put_le64 (h + 28, desc_off);
  put_le64 (h + 36, desc_size);
  put_le32 (h + 44, GTES);
  put_le64 (h + 48, rgd);
  put_le64 (h + 56, gd);
  put_le64 (h + 64, overhead);
  memcpy (h + 73, "\n \r\n", 4);
  put_le16 (h + 77, algo);
}

static int
write_sparse (int fd, const char *path, uint64_t capacity, bool zeroed,
              const char *desc, size_t desc_len, struct vmdk_error *err)
{
  struct sparse_layout l;
  uint8_t hdr[SECTOR], *gd;
  int r = -1;

  layout_of (capacity, &l);
  if (desc_len > DESC_SECTORS * SECTOR) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: descriptor too large to embed", path);
    return -1;
  }
  sparse_header (hdr, zeroed ? 2 : 1, 0x3 | (zeroed ? 0x4 : 0), capacity, 1, DESC_SECTORS,
                 l.rgd, l.gd, l.overhead, 0);
  gd = calloc (l.gd_sectors, SECTOR);
  if (!gd)
    return vx_oom (err, "grain directory");
  if (ftruncate (fd, (off_t) (l.overhead * SECTOR)) == -1) {
    vx_err_errno (err, errno, "%s: extending to %" PRIu64 " bytes", path, l.overhead * SECTOR);
    goto out;
  }
  if (vx_pwrite_full (fd, path, hdr, SECTOR, 0, "sparse header", err) == -1
      || (desc && vx_pwrite_full (fd, path, desc, desc_len, SECTOR,
                                  "embedded descriptor", err) == -1))
    goto out;
  for (uint64_t i = 0; i < l.n_gts; i++)
    put_le32 (gd + 4 * i, (uint32_t) (l.rgd + l.gd_sectors + 4 * i));
  if (vx_pwrite_full (fd, path, gd, l.gd_sectors * SECTOR, l.rgd * SECTOR,
                      "redundant grain directory", err) == -1)
    goto out;
  for (uint64_t i = 0; i < l.n_gts; i++)
    put_le32 (gd + 4 * i, (uint32_t) (l.gd + l.gd_sectors + 4 * i));
  if (vx_pwrite_full (fd, path, gd, l.gd_sectors * SECTOR, l.gd * SECTOR,
                      "grain directory", err) == -1)
    goto out;
  r = 0;
 out:
  free (gd);
  return r;
}

/* ---- names ------------------------------------------------------------------------ */

/* path without ".vmdk" (if present) */
static char *
stem (const char *path)
{
  size_t n = strlen (path);
  if (n > 5 && strcasecmp (path + n - 5, ".vmdk") == 0)
    n -= 5;
  return strndup (path, n);
}

static const char *
base_of (const char *p)
{
  const char *s = strrchr (p, '/');
  return s ? s + 1 : p;
}

/* ---- vmdk_create ---------------------------------------------------------------------- */

static int
create_kind (const char *path, enum kind k, uint64_t capacity, const char *adapter,
             unsigned hw, bool zeroed, uint32_t parent_cid, const char *hint,
             struct vmdk_error *err)
{
  struct newfiles nf = { 0 };
  struct ext_line *x = NULL;
  size_t n = 0, len = 0;
  char *st = NULL, *desc = NULL;
  int fd = -1, r = -1;

  if (capacity == 0 || capacity > MAX_CREATE_SECTORS
      || (k == K_MONO_SPARSE && capacity > MAX_MONO_SPARSE)) {
    vx_err (err, capacity ? VMDK_ERR_LIMIT : VMDK_ERR_INVAL,
            "%s: capacity %" PRIu64 " sectors is out of range for %s (1 to %" PRIu64 ")",
            path, capacity, kinds[k].name,
            k == K_MONO_SPARSE ? MAX_MONO_SPARSE : MAX_CREATE_SECTORS);
    return -1;
  }
  if ((k == K_MONO_FLAT || k == K_SPLIT_FLAT) && (zeroed || hint)) {
    vx_err (err, VMDK_ERR_INVAL, "%s: flat disks have no grains%s", path,
            hint ? " and cannot be delta links" : " (zeroed_grain needs a sparse kind)");
    return -1;
  }
  st = stem (path);
  if (!st) return vx_oom (err, "name");

  if (k == K_MONO_SPARSE) {
    struct ext_line one = { capacity, "SPARSE", (char *) base_of (path), false };
    desc = descriptor_text (k, capacity, parent_cid, hint, &one, 1, adapter, hw, &len);
    if (!desc) { vx_oom (err, "descriptor"); goto out; }
    fd = create_file (&nf, path, err);
    if (fd < 0 || write_sparse (fd, path, capacity, zeroed, desc, len, err) == -1)
      goto out;
    r = 0;
    goto out;
  }

  n = (k == K_SPLIT_SPARSE || k == K_SPLIT_FLAT)
    ? (size_t) ((capacity + SPLIT_SECTORS - 1) / SPLIT_SECTORS) : 1;
  x = calloc (n, sizeof *x);
  if (!x) { vx_oom (err, "extents"); goto out; }
  for (size_t i = 0; i < n; i++) {
    uint64_t left = capacity - (uint64_t) i * SPLIT_SECTORS;
    char *name;
    int efd;
    x[i].sectors = n == 1 ? capacity : left < SPLIT_SECTORS ? left : SPLIT_SECTORS;
    x[i].type = (k == K_MONO_FLAT || k == K_SPLIT_FLAT) ? "FLAT" : "SPARSE";
    x[i].offset = x[i].type[0] == 'F';
    if (k == K_MONO_FLAT)
      r = asprintf (&name, "%s-flat.vmdk", st);
    else
      r = asprintf (&name, "%s-%c%03zu.vmdk", st, k == K_SPLIT_FLAT ? 'f' : 's', i + 1);
    if (r < 0) { r = -1; vx_oom (err, "name"); goto out; }
    r = -1;
    x[i].name = name;
    efd = create_file (&nf, name, err);
    if (efd < 0)
      goto out;
    if (x[i].offset) {
      if (ftruncate (efd, (off_t) (x[i].sectors * SECTOR)) == -1) {
        vx_err_errno (err, errno, "%s: extending", name);
        close (efd);
        goto out;
      }
    }
    else if (write_sparse (efd, name, x[i].sectors, zeroed, NULL, 0, err) == -1) {
      close (efd);
      goto out;
    }
    if (fsync (efd) == -1 || close (efd) == -1) {
      vx_err_errno (err, errno, "%s: closing", name);
      goto out;
    }
  }
  for (size_t i = 0; i < n; i++) {  /* descriptor names are relative */
    char *b = strdup (base_of (x[i].name));
    if (!b) { vx_oom (err, "name"); goto out; }
    free (x[i].name);
    x[i].name = b;
  }
  desc = descriptor_text (k, capacity, parent_cid, hint, x, n, adapter, hw, &len);
  if (!desc) { vx_oom (err, "descriptor"); goto out; }
  fd = create_file (&nf, path, err);
  if (fd < 0 || vx_pwrite_full (fd, path, desc, len, 0, "descriptor", err) == -1)
    goto out;
  r = 0;
 out:
  if (fd >= 0) {
    bool failed = r == 0 && fsync (fd) == -1;
    failed |= close (fd) == -1;        /* closed in any case */
    if (failed && r == 0) {
      vx_err_errno (err, errno, "%s: closing", path);
      r = -1;
    }
  }
  newfiles_done (&nf, r != 0);
  if (x)
    for (size_t i = 0; i < n; i++)
      free (x[i].name);
  free (x);
  free (desc);
  free (st);
  return r;
}

int
vmdk_create (const char *path, const struct vmdk_create_params *p,
             struct vmdk_error *err)
{
  enum kind k;

  if (!path || !p) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_create: NULL path or parameters");
    return -1;
  }
  if (kind_of (p->create_type, &k, err) == -1 || check_adapter (p->adapter_type, err) == -1)
    return -1;
  if (k == K_STREAM) {
    vx_err (err, VMDK_ERR_UNSUPPORTED,
            "%s: an empty streamOptimized disk is useless; make one with vmdk_clone", path);
    return -1;
  }
  return create_kind (path, k, p->capacity, p->adapter_type, p->hw_version,
                      p->zeroed_grain, 0xffffffff, NULL, err);
}

/* Path of `target` relative to directory `from` (both made absolute). */
static char *
relative_to (const char *from_dir, const char *target)
{
  char a[PATH_MAX], b[PATH_MAX], *tdir = vx_dirname (target), *out = NULL;
  const char *pa, *pb, *last_a, *last_b;
  struct text t = { 0 };

  if (!tdir || !realpath (from_dir, a) || !realpath (tdir, b)) {
    free (tdir);
    return strdup (target);
  }
  free (tdir);
  /* common leading components */
  pa = a; pb = b; last_a = a; last_b = b;
  while (*pa && *pa == *pb) {
    if (*pa == '/') { last_a = pa; last_b = pb; }
    pa++; pb++;
  }
  if (*pa == '\0' && (*pb == '/' || *pb == '\0')) { last_a = pa; last_b = pb; }
  else if (*pb == '\0' && *pa == '/') { last_a = pa; last_b = pb; }
  for (const char *q = last_a; *q; q++)
    if (*q == '/')
      tprintf (&t, "../");
  if (*last_b == '/')
    tprintf (&t, "%s/", last_b + 1);
  tprintf (&t, "%s", base_of (target));
  if (!t.oom)
    out = t.s;
  else
    free (t.s);
  return out;
}

int
vmdk_create_child (const char *path, const char *parent_path,
                   const struct vmdk_create_params *p, struct vmdk_error *err)
{
  struct vmdk_options o = { .flags = VMDK_OPEN_RDONLY | VMDK_OPEN_SINGLE_LINK };
  struct vmdk_disk *parent;
  const char *adapter;
  char *hint, *dir;
  enum kind k;
  int r;

  if (!path || !parent_path) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_create_child: NULL path");
    return -1;
  }
  if (kind_of (p ? p->create_type : NULL, &k, err) == -1)
    return -1;
  if (k != K_MONO_SPARSE && k != K_SPLIT_SPARSE) {
    vx_err (err, VMDK_ERR_INVAL, "%s: a delta link must be monolithicSparse or twoGbMaxExtentSparse",
            path);
    return -1;
  }
  parent = vmdk_open (parent_path, &o, err);
  if (!parent)
    return -1;
  if (!vmdk_get_info (parent)->has_cid) {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: the parent has no descriptor (no CID) to refer to",
            parent_path);
    vmdk_close (parent);
    return -1;
  }
  adapter = p && p->adapter_type ? p->adapter_type : vmdk_ddb_get (parent, "ddb.adapterType");
  if (check_adapter (adapter, NULL) == -1)
    adapter = "ide";
  dir = vx_dirname (path);
  hint = dir ? relative_to (dir, parent_path) : NULL;
  free (dir);
  if (!hint) {
    vmdk_close (parent);
    return vx_oom (err, "parent hint");
  }
  r = create_kind (path, k, vmdk_get_info (parent)->capacity, adapter,
                   p ? p->hw_version : 0, p ? p->zeroed_grain : false,
                   vmdk_get_info (parent)->cid, hint, err);
  free (hint);
  vmdk_close (parent);
  return r;
}

/* ---- vmdk_clone ------------------------------------------------------------------------ */

struct clone_ctx {
  struct vmdk_disk *src, *dst;
  uint8_t *buf;
  size_t buf_size;
  uint64_t done, total;
  vmdk_progress_cb progress;
  void *opaque;
  struct vmdk_error *err;
  int failed;
};

static int
clone_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct clone_ctx *c = opaque;

  if (e->kind != VMDK_MAP_DATA) {
    c->done += e->length;
    return 0;
  }
  for (uint64_t off = e->offset; off < e->offset + e->length; ) {
    size_t n = c->buf_size;
    if (n > e->offset + e->length - off)
      n = (size_t) (e->offset + e->length - off);
    if (vmdk_pread (c->src, c->buf, n, off, c->err) == -1
        || vmdk_pwrite (c->dst, c->buf, n, off, 0, c->err) == -1) {
      c->failed = 1;
      return 1;
    }
    off += n;
    c->done += n;
    if (c->progress && !c->progress (c->opaque, c->done, c->total)) {
      vx_err (c->err, VMDK_ERR_INVAL, "clone cancelled");
      c->failed = 1;
      return 1;
    }
  }
  return 0;
}

/* streamOptimized in VMware's layout: header (GD at end), descriptor,
 * compressed grains with markers, GT markers + tables, GD marker + GD,
 * footer marker + footer, end-of-stream marker. */
struct stream {
  int fd;
  const char *path;
  uint64_t pos;          /* bytes */
  struct vmdk_error *err;
};

static int
stream_put (struct stream *s, const void *buf, size_t len)
{
  size_t pad = (SECTOR - len % SECTOR) % SECTOR;
  if (vx_pwrite_full (s->fd, s->path, buf, len, s->pos, "stream data", s->err) == -1)
    return -1;
  s->pos += len;
  if (pad) {
    static const uint8_t z[SECTOR];
    if (vx_pwrite_full (s->fd, s->path, z, pad, s->pos, "sector padding", s->err) == -1)
      return -1;
    s->pos += pad;
  }
  return 0;
}

static int
stream_meta (struct stream *s, uint64_t sectors, uint32_t type)
{
  uint8_t m[SECTOR] = { 0 };
  put_le64 (m, sectors);
  put_le32 (m + 12, type);
  return stream_put (s, m, SECTOR);
}

static bool
all_zero (const uint8_t *p, size_t n)
{
  return n == 0 || (p[0] == 0 && memcmp (p, p + 1, n - 1) == 0);
}

struct data_ranges { uint64_t *v; size_t n, cap; bool oom; };

static int
collect_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct data_ranges *r = opaque;
  if (e->kind != VMDK_MAP_DATA)
    return 0;
  if (r->n && r->v[2 * r->n - 1] == e->offset) {   /* merge neighbours */
    r->v[2 * r->n - 1] += e->length;
    return 0;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    uint64_t *g = realloc (r->v, cap * 2 * sizeof *g);
    if (!g) { r->oom = true; return 1; }
    r->v = g; r->cap = cap;
  }
  r->v[2 * r->n] = e->offset;
  r->v[2 * r->n + 1] = e->offset + e->length;
  r->n++;
  return 0;
}

static int
clone_stream (struct vmdk_disk *src, const char *path, const struct vmdk_create_params *p,
              vmdk_progress_cb progress, void *opaque, struct vmdk_error *err)
{
  struct newfiles nf = { 0 };
  struct stream s = { .path = path, .err = err };
  struct data_ranges dr = { 0 };
  struct libdeflate_compressor *cmp = NULL;
  uint64_t cap = vmdk_get_info (src)->capacity, gbytes = GRAIN * SECTOR;
  uint64_t n_grains = (cap + GRAIN - 1) / GRAIN, n_gts = (n_grains + GTES - 1) / GTES;
  uint64_t gd_sectors = (n_gts * 4 + SECTOR - 1) / SECTOR, gd_pos, cur_gt = UINT64_MAX;
  uint8_t *grain = NULL, *cbuf = NULL, *gd = NULL, hdr[SECTOR];
  uint32_t gt[GTES];
  bool gt_used = false;
  size_t cbound, len = 0;
  char *desc = NULL;
  const char *adapter;
  struct ext_line one = { cap, "SPARSE", (char *) base_of (path), false };
  int r = -1;

  if (cap > MAX_MONO_SPARSE) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: a streamOptimized disk holds at most 2 TiB", path);
    return -1;
  }
  adapter = p->adapter_type ? p->adapter_type : vmdk_ddb_get (src, "ddb.adapterType");
  if (check_adapter (adapter, NULL) == -1)
    adapter = "ide";
  if (vmdk_map (src, 0, vmdk_size (src), 0, collect_cb, &dr, err) == -1)
    goto out;
  cmp = libdeflate_alloc_compressor (6);
  cbound = cmp ? libdeflate_zlib_compress_bound (cmp, gbytes) : 0;
  grain = malloc (gbytes);
  cbuf = malloc (12 + cbound);
  gd = calloc (gd_sectors, SECTOR);
  desc = descriptor_text (K_STREAM, cap, 0xffffffff, NULL, &one, 1, adapter,
                          p->hw_version, &len);
  if (dr.oom || !cmp || !grain || !cbuf || !gd || !desc) {
    vx_oom (err, "stream");
    goto out;
  }
  s.fd = create_file (&nf, path, err);
  if (s.fd < 0)
    goto out;
  sparse_header (hdr, 3, 0x30001, cap, 1, DESC_SECTORS, 0, UINT64_MAX, GRAIN, 1);
  if (stream_put (&s, hdr, SECTOR) == -1 || stream_put (&s, desc, len) == -1)
    goto out;
  s.pos = GRAIN * SECTOR;   /* overHead */

  for (size_t ri = 0; ri <= dr.n; ri++) {
    uint64_t g0 = ri < dr.n ? dr.v[2 * ri] / gbytes : n_grains;
    uint64_t g1 = ri < dr.n ? (dr.v[2 * ri + 1] + gbytes - 1) / gbytes : n_grains;
    for (uint64_t g = g0; g < g1 || (ri == dr.n && cur_gt != UINT64_MAX); g++) {
      /* leaving a grain table's range: write the table if it has entries */
      if (cur_gt != UINT64_MAX && (ri == dr.n || g / GTES != cur_gt)) {
        if (gt_used) {
          uint8_t le[GTES * 4];
          for (unsigned i = 0; i < GTES; i++) put_le32 (le + 4 * i, gt[i]);
          if (stream_meta (&s, GTES * 4 / SECTOR, 1) == -1)
            goto out;
          put_le32 (gd + 4 * cur_gt, (uint32_t) (s.pos / SECTOR));
          if (stream_put (&s, le, sizeof le) == -1)
            goto out;
        }
        cur_gt = UINT64_MAX;
        if (ri == dr.n) break;
      }
      if (g >= g1) break;
      if (cur_gt == UINT64_MAX) {
        cur_gt = g / GTES;
        memset (gt, 0, sizeof gt);
        gt_used = false;
      }
      uint64_t glen = (cap - g * GRAIN) * SECTOR;
      size_t clen;
      if (glen > gbytes) glen = gbytes;
      if (vmdk_pread (src, grain, glen, g * gbytes, err) == -1)
        goto out;
      if (all_zero (grain, glen))
        continue;
      clen = libdeflate_zlib_compress (cmp, grain, glen, cbuf + 12, cbound);
      if (clen == 0) {
        vx_err (err, VMDK_ERR_IO, "%s: compressing grain %" PRIu64 " failed", path, g);
        goto out;
      }
      put_le64 (cbuf, g * GRAIN);
      put_le32 (cbuf + 8, (uint32_t) clen);
      if (s.pos / SECTOR >= MAX_MONO_SPARSE) {
        vx_err (err, VMDK_ERR_LIMIT, "%s: stream file would exceed 2 TiB", path);
        goto out;
      }
      gt[g % GTES] = (uint32_t) (s.pos / SECTOR);
      gt_used = true;
      if (stream_put (&s, cbuf, 12 + clen) == -1)
        goto out;
      if (progress && !progress (opaque, g * gbytes, vmdk_size (src))) {
        vx_err (err, VMDK_ERR_INVAL, "%s: clone cancelled", path);
        goto out;
      }
    }
  }
  if (stream_meta (&s, gd_sectors, 2) == -1)
    goto out;
  gd_pos = s.pos / SECTOR;
  if (stream_put (&s, gd, gd_sectors * SECTOR) == -1 || stream_meta (&s, 1, 3) == -1)
    goto out;
  sparse_header (hdr, 3, 0x30001, cap, 1, DESC_SECTORS, 0, gd_pos, GRAIN, 1);
  if (stream_put (&s, hdr, SECTOR) == -1 || stream_meta (&s, 0, 0) == -1)
    goto out;
  if (fsync (s.fd) == -1) {
    vx_err_errno (err, errno, "%s: syncing", path);
    goto out;
  }
  if (progress)
    progress (opaque, vmdk_size (src), vmdk_size (src));
  r = 0;
 out:
  if (s.fd > 0)
    close (s.fd);
  newfiles_done (&nf, r != 0);
  if (cmp)
    libdeflate_free_compressor (cmp);
  free (dr.v);
  free (grain);
  free (cbuf);
  free (gd);
  free (desc);
  return r;
}

int
vmdk_clone (struct vmdk_disk *src, const char *path, const struct vmdk_create_params *p,
            vmdk_progress_cb progress, void *opaque, struct vmdk_error *err)
{
  struct vmdk_create_params q = { 0 };
  struct vmdk_options o = { 0 };
  struct clone_ctx c = { .src = src, .progress = progress, .opaque = opaque, .err = err };
  enum kind k;
  int r;

  if (!src || !path) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_clone: NULL source or path");
    return -1;
  }
  if (p)
    q = *p;
  if (kind_of (q.create_type, &k, err) == -1)
    return -1;
  if (!q.adapter_type)
    q.adapter_type = vmdk_ddb_get (src, "ddb.adapterType");
  if (check_adapter (q.adapter_type, NULL) == -1)
    q.adapter_type = NULL;
  if (k == K_STREAM)
    return clone_stream (src, path, &q, progress, opaque, err);

  q.capacity = vmdk_get_info (src)->capacity;
  if (vmdk_create (path, &q, err) == -1)
    return -1;
  c.dst = vmdk_open (path, &o, err);
  c.buf_size = 1024 * 1024;
  c.buf = malloc (c.buf_size);
  c.total = vmdk_size (src);
  if (!c.dst || !c.buf) {
    if (c.dst && !c.buf)
      vx_oom (err, "clone");
    r = -1;
  }
  else {
    r = vmdk_map (src, 0, vmdk_size (src), 0, clone_cb, &c, err);
    if (r == 0 && c.failed)
      r = -1;
    if (r == 0)
      r = vmdk_flush (c.dst, err);
  }
  free (c.buf);
  if (c.dst) {
    size_t n = vmdk_file_count (c.dst);
    char **files = r == -1 ? calloc (n, sizeof *files) : NULL;
    for (size_t i = 0; files && i < n; i++)
      files[i] = strdup (vmdk_file_path (c.dst, i));
    vmdk_close (c.dst);
    for (size_t i = 0; files && i < n; i++) {
      if (files[i]) unlink (files[i]);
      free (files[i]);
    }
    free (files);
  }
  else
    unlink (path);   /* best effort: the descriptor/monolithic file */
  if (r == 0 && progress)
    progress (opaque, c.total, c.total);
  return r;
}

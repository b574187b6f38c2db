/* vixmount VMDK engine: the write path.
 *
 * Only the top link of a chain is ever written.  Allocation in a sparse
 * extent is serialised by the extent's allocation lock and nothing else is:
 * writes into grains that already exist go straight to the file in
 * parallel.  The order of writes keeps the file consistent if the writer
 * dies at any instant: a new grain's data, then (for a new grain table) the
 * zeroed table and the directory entries that point to it, then the table
 * entry, primary before redundant.  A crash leaves at worst a leaked grain.
 * The in-memory copy of a table changes only after the file did, so a reader
 * never sees an entry before its data.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_HOSTED_FILE_SECTORS (UINT64_C (1) << 32)  /* GTEs are 32-bit */

static const uint8_t zeros[64 * 1024];

uint32_t
vx_random_cid (void)
{
  uint32_t v;

  do {
    if (getrandom (&v, sizeof v, 0) != (ssize_t) sizeof v)
      v = (uint32_t) time (NULL) * 2654435761u ^ (uint32_t) getpid ();
  } while (v == 0xffffffffu || v == 0xfffffffeu);
  return v;
}

static int
write_zeros (int fd, const char *path, uint64_t len, uint64_t off,
             struct vmdk_error *err)
{
  while (len > 0) {
    size_t n = len < sizeof zeros ? (size_t) len : sizeof zeros;
    if (vx_pwrite_full (fd, path, zeros, n, off, "zeros", err) == -1)
      return -1;
    len -= n;
    off += n;
  }
  return 0;
}

int
vx_set_unclean (struct extent *e, bool on, struct vmdk_error *err)
{
  uint8_t b = on;
  return vx_pwrite_full (e->fd, e->path, &b, 1, 72, "unclean-shutdown flag", err);
}

static bool
is_hosted_writable (const struct extent *e)
{
  return e->info.type == VMDK_EXTENT_SPARSE && !e->info.compressed;
}

/* ---- descriptor text ------------------------------------------------------ */

/* Does the line [p, end) set `key` (key=... with optional blanks)? */
static bool
line_sets (const char *p, const char *end, const char *key)
{
  size_t n = strlen (key);

  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  if ((size_t) (end - p) < n || strncasecmp (p, key, n) != 0)
    return false;
  p += n;
  while (p < end && (*p == ' ' || *p == '\t'))
    p++;
  return p < end && *p == '=';
}

/* Replace the line setting key by `line` (NULL: delete it); if there is none,
 * insert it after the line setting `after` (NULL or absent: at the end). */
static char *
edit_text (const char *text, size_t len, const char *key, const char *line,
           const char *after, size_t *out_len)
{
  const char *p = text, *end = text + len, *hit = NULL, *hit_end = NULL;
  const char *ins = NULL;
  size_t ll = line ? strlen (line) : 0;
  char *out, *o;

  while (p < end) {
    const char *eol = memchr (p, '\n', (size_t) (end - p));
    const char *next = eol ? eol + 1 : end;
    if (!hit && line_sets (p, eol ? eol : end, key)) {
      hit = p;
      hit_end = next;
    }
    if (after && !ins && line_sets (p, eol ? eol : end, after))
      ins = next;
    p = next;
  }
  out = malloc (len + ll + 2);
  if (!out)
    return NULL;
  o = out;
  if (hit) {
    memcpy (o, text, (size_t) (hit - text)); o += hit - text;
    if (line) { memcpy (o, line, ll); o += ll; *o++ = '\n'; }
    memcpy (o, hit_end, (size_t) (end - hit_end)); o += end - hit_end;
  }
  else if (line) {
    if (!ins) ins = end;
    memcpy (o, text, (size_t) (ins - text)); o += ins - text;
    if (o > out && o[-1] != '\n') *o++ = '\n';
    memcpy (o, line, ll); o += ll; *o++ = '\n';
    memcpy (o, ins, (size_t) (end - ins)); o += end - ins;
  }
  else {
    memcpy (o, text, len); o += len;
  }
  *out_len = (size_t) (o - out);
  return out;
}

int
vx_desc_store (struct vmdk_disk *d, const char *text, size_t len,
               struct vmdk_error *err)
{
  char *copy;

  if (d->info.embedded_descriptor) {
    struct extent *e = &d->extents[0];
    uint8_t *area;
    if (len > e->desc_bytes) {
      vx_err (err, VMDK_ERR_LIMIT,
              "%s: the new descriptor (%zu bytes) does not fit the embedded area of %" PRIu64 " bytes",
              d->path, len, e->desc_bytes);
      return -1;
    }
    area = calloc (1, e->desc_bytes);
    if (!area)
      return vx_oom (err, "descriptor");
    memcpy (area, text, len);
    int r = vx_pwrite_full (e->fd, e->path, area, e->desc_bytes, e->desc_off,
                            "embedded descriptor", err);
    free (area);
    if (r == -1 || fdatasync (e->fd) == -1) {
      if (r == 0)
        vx_err_errno (err, errno, "%s: syncing the descriptor", e->path);
      return -1;
    }
  }
  else if (d->info.has_descriptor) {
    /* Whole new file, then rename over the old one: never half a descriptor. */
    const char *base = strrchr (d->path, '/') ? strrchr (d->path, '/') + 1 : d->path;
    char tmp[4096];
    struct stat st;
    int fd, dfd;

    if (fstatat (d->dirfd, base, &st, 0) == -1) {
      vx_err_errno (err, errno, "%s: stat", d->path);
      return -1;
    }
    snprintf (tmp, sizeof tmp, ".%s.vixmount-%ld.tmp", base, (long) getpid ());
    fd = openat (d->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (fd < 0) {
      vx_err_errno (err, errno, "%s: creating a temporary descriptor in %s", d->path, d->dir);
      return -1;
    }
    if (vx_pwrite_full (fd, d->path, text, len, 0, "descriptor", err) == -1
        || fdatasync (fd) == -1 || close (fd) == -1) {
      if (err && err->code == VMDK_OK)
        vx_err_errno (err, errno, "%s: writing the descriptor", d->path);
      close (fd);
      unlinkat (d->dirfd, tmp, 0);
      return -1;
    }
    if (renameat (d->dirfd, tmp, d->dirfd, base) == -1) {
      vx_err_errno (err, errno, "%s: replacing the descriptor", d->path);
      unlinkat (d->dirfd, tmp, 0);
      return -1;
    }
    dfd = open (d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync (dfd);
      close (dfd);
    }
  }
  else {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: this file has no descriptor to change", d->path);
    return -1;
  }
  copy = strndup (text, len);
  if (!copy)
    return vx_oom (err, "descriptor");
  free (d->desc.text);
  d->desc.text = copy;
  d->desc.text_len = len;
  return 0;
}

/* The first write of a session gives the disk a new CID, so that children
 * made from the old content notice. */
static int
change_cid (struct vmdk_disk *d, struct vmdk_error *err)
{
  int r = 0;

  if (__atomic_load_n (&d->cid_changed, __ATOMIC_ACQUIRE))
    return 0;
  pthread_mutex_lock (&d->meta_lock);
  if (!d->cid_changed) {
    if (d->info.has_descriptor) {
      uint32_t cid = vx_random_cid ();
      char line[32];
      size_t len;
      char *text;
      snprintf (line, sizeof line, "CID=%08" PRIx32, cid);
      text = edit_text (d->desc.text, d->desc.text_len, "CID", line, "version", &len);
      if (!text)
        r = vx_oom (err, "descriptor");
      else {
        r = vx_desc_store (d, text, len, err);
        free (text);
      }
      if (r == 0) {
        d->desc.cid = d->info.cid = cid;
        d->desc.has_cid = d->info.has_cid = true;
      }
    }
    if (r == 0)
      __atomic_store_n (&d->cid_changed, true, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock (&d->meta_lock);
  return r;
}

int
vmdk_ddb_set (struct vmdk_disk *d, const char *key, const char *value,
              struct vmdk_error *err)
{
  char line[VMDK_MAX_LINE_BYTES];
  char *text, *k = NULL, *v = NULL;
  size_t len, i;
  int r;

  if (!d || !key || strncasecmp (key, "ddb.", 4) != 0 || strpbrk (key, "\"\n\r=# \t")
      || (value && strpbrk (value, "\"\n\r"))) {
    vx_err (err, VMDK_ERR_INVAL,
            "vmdk_ddb_set: keys start with \"ddb.\" and neither key nor value may contain quotes or line breaks");
    return -1;
  }
  if (!d->writable) {
    vx_err (err, VMDK_ERR_READONLY, "%s: opened read-only", d->path);
    return -1;
  }
  if (value && snprintf (line, sizeof line, "%s = \"%s\"", key, value) >= (int) sizeof line) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: ddb value too long", d->path);
    return -1;
  }
  pthread_mutex_lock (&d->meta_lock);
  text = edit_text (d->desc.text, d->desc.text_len, key, value ? line : NULL, NULL, &len);
  if (!text) {
    r = vx_oom (err, "descriptor");
    goto out;
  }
  r = vx_desc_store (d, text, len, err);
  free (text);
  if (r == -1)
    goto out;
  for (i = 0; i < d->desc.n_ddb; i++)
    if (strcasecmp (d->desc.ddb[i].key, key) == 0)
      break;
  if (i < d->desc.n_ddb) {
    free (d->desc.ddb[i].value);
    if (value)
      d->desc.ddb[i].value = strdup (value);
    else {
      free (d->desc.ddb[i].key);
      memmove (&d->desc.ddb[i], &d->desc.ddb[i + 1],
               (d->desc.n_ddb - i - 1) * sizeof d->desc.ddb[0]);
      d->desc.n_ddb--;
    }
  }
  else if (value) {
    struct kv *grown = realloc (d->desc.ddb, (d->desc.n_ddb + 1) * sizeof *grown);
    k = strdup (key);
    v = strdup (value);
    if (!grown || !k || !v) {
      if (grown) d->desc.ddb = grown;
      free (k); free (v);
      r = vx_oom (err, "ddb");
      goto out;
    }
    d->desc.ddb = grown;
    d->desc.ddb[d->desc.n_ddb].key = k;
    d->desc.ddb[d->desc.n_ddb].value = v;
    d->desc.n_ddb++;
  }
 out:
  pthread_mutex_unlock (&d->meta_lock);
  return r;
}

/* ---- preparing, flushing, closing ------------------------------------------ */

int
vx_prepare_write (struct vmdk_disk *d, struct vmdk_error *err)
{
  d->writable = true;
  pthread_mutex_init (&d->meta_lock, NULL);
  for (size_t i = 0; i < d->n_extents; i++)
    pthread_mutex_init (&d->extents[i].alloc_lock, NULL);
  for (size_t i = 0; i < d->n_extents; i++) {
    struct extent *e = &d->extents[i];
    if (e->info.access != VMDK_ACCESS_RW || e->fd < 0)
      continue;
    if (e->info.type == VMDK_EXTENT_FLAT || e->info.type == VMDK_EXTENT_VMFS)
      e->writable = true;
    else if (is_hosted_writable (e) && !e->info.redundant_gd_used
             && e->gt->gd_file_off != 0) {
      uint64_t g = e->gt->grain_sectors * SECTOR;
      e->next_free = (e->info.file_bytes + g - 1) / g * g;
      if (e->next_free < e->info.overhead * SECTOR)
        e->next_free = e->info.overhead * SECTOR;
      if (vx_set_unclean (e, true, err) == -1 || fdatasync (e->fd) == -1) {
        if (err && err->code == VMDK_OK)
          vx_err_errno (err, errno, "%s: sync", e->path);
        return -1;
      }
      e->writable = true;
    }
  }
  return 0;
}

int
vmdk_flush (struct vmdk_disk *d, struct vmdk_error *err)
{
  if (!d) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_flush: NULL disk");
    return -1;
  }
  if (!d->writable)
    return 0;
  atomic_store (&d->dirty, false);
  for (size_t i = 0; i < d->n_extents; i++) {
    struct extent *e = &d->extents[i];
    if (e->writable && fdatasync (e->fd) == -1) {
      atomic_store (&d->dirty, true);
      vx_err_errno (err, errno, "%s: flushing", e->path);
      return -1;
    }
  }
  return 0;
}

void
vx_finish_write (struct vmdk_disk *d)
{
  vmdk_flush (d, NULL);
  for (size_t i = 0; i < d->n_extents; i++) {
    struct extent *e = &d->extents[i];
    if (e->writable && is_hosted_writable (e)) {
      vx_set_unclean (e, false, NULL);
      fdatasync (e->fd);
    }
  }
}

bool
vmdk_is_writable (const struct vmdk_disk *d)
{
  return d && d->writable;
}

/* ---- writing ------------------------------------------------------------------ */

static int
check_write (struct vmdk_disk *d, uint64_t count, uint64_t offset, bool zeroing,
             struct vmdk_error *err)
{
  if (!d) {
    vx_err (err, VMDK_ERR_INVAL, "NULL disk");
    return -1;
  }
  if (!d->writable) {
    vx_err (err, VMDK_ERR_READONLY, "%s: opened read-only", d->path);
    return -1;
  }
  if (offset > d->size || count > d->size - offset) {
    vx_err (err, VMDK_ERR_RANGE,
            "%s: range %" PRIu64 "+%" PRIu64 " lies outside the disk (%" PRIu64 " bytes)",
            d->path, offset, count, d->size);
    return -1;
  }
  /* Refuse before anything changes if any extent in range can't be written. */
  for (uint64_t off = offset; off < offset + count; ) {
    struct extent *e = vx_find_extent (d, off);
    if (!e->writable && !(zeroing && e->info.type == VMDK_EXTENT_ZERO)) {
      const char *why =
        e->info.access != VMDK_ACCESS_RW ? "is not marked RW"
        : e->info.type == VMDK_EXTENT_ZERO ? "is a ZERO extent"
        : e->info.compressed ? "is stream-optimized (compressed, append-only)"
        : e->info.redundant_gd_used ? "has a damaged grain directory"
        : "is of a kind that cannot be written";
      vx_err (err, e->info.access != VMDK_ACCESS_RW ? VMDK_ERR_READONLY : VMDK_ERR_UNSUPPORTED,
              "%s: cannot write at offset %" PRIu64 ": extent %s %s", d->path, off,
              e->filename ? e->filename : "(zero)", why);
      return -1;
    }
    off = e->end_byte;
  }
  return 0;
}

/* Checks, then the session's CID change: 1 = go on, 0 = nothing to do,
 * -1 = error. */
static int
begin_write (struct vmdk_disk *d, uint64_t count, uint64_t offset, bool zeroing,
             struct vmdk_error *err)
{
  if (check_write (d, count, offset, zeroing, err) == -1)
    return -1;
  if (count == 0)
    return 0;
  if (change_cid (d, err) == -1)
    return -1;
  atomic_store (&d->dirty, true);
  return 1;
}

static uint64_t
grain_len (const struct extent *e, uint64_t g)
{
  uint64_t gb = e->gt->grain_sectors * SECTOR, valid = e->valid_sectors * SECTOR;
  uint64_t n = valid - g * gb;
  return n < gb ? n : gb;
}

/* Allocation lock held: the file now reaches `end`; do this before any entry
 * pointing there is published, so lookups validate it against the new size. */
static void
grew (struct extent *e, uint64_t end)
{
  if (end > e->gt->file_size)
    __atomic_store_n (&e->gt->file_size, end, __ATOMIC_RELEASE);
}

/* Allocation lock held: give GD entry gdi a zeroed grain table. */
static int
alloc_gt (struct extent *e, uint64_t gdi, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gt_bytes = (uint64_t) t->gtes_per_gt * 4, gb = t->grain_sectors * SECTOR;
  uint64_t need = t->rgd_file_off ? 2 * gt_bytes : gt_bytes;
  uint64_t blk = (need + gb - 1) / gb * gb, off = e->next_free;
  uint8_t le[4];
  uint32_t v;

  if ((off + blk) / SECTOR > MAX_HOSTED_FILE_SECTORS) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: extent file would exceed 2 TiB", e->path);
    return -1;
  }
  if (write_zeros (e->fd, e->path, blk, off, err) == -1)
    return -1;
  e->next_free += blk;
  grew (e, e->next_free);
  v = (uint32_t) (off / SECTOR);
  put_le32 (le, v);
  if (vx_pwrite_full (e->fd, e->path, le, 4, t->gd_file_off + gdi * 4,
                      "grain directory entry", err) == -1)
    return -1;
  if (t->rgd_file_off) {
    v = (uint32_t) ((off + gt_bytes) / SECTOR);
    put_le32 (le, v);
    if (vx_pwrite_full (e->fd, e->path, le, 4, t->rgd_file_off + gdi * 4,
                        "redundant grain directory entry", err) == -1)
      return -1;
    t->rgd[gdi] = off + gt_bytes;
  }
  __atomic_store_n (&t->gd[gdi], off, __ATOMIC_RELEASE);
  return 0;
}

/* Does anything show through an unallocated grain of this link? */
static bool
parent_shows (const struct vmdk_disk *d)
{
  return d->parent || d->desc.parent_hint;
}

/* Allocate grain g and write [in, in+len) of it from buf (buf NULL: zeros);
 * the rest of the grain comes from what the grain read as before. */
static int
alloc_grain (struct vmdk_disk *d, struct extent *e, uint64_t g, const uint8_t *buf,
             uint64_t in, uint64_t len, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gb = t->grain_sectors * SECTOR, glen = grain_len (e, g);
  uint64_t gdi = g / t->gtes_per_gt, foff = 0, off;
  enum grain_state st;
  uint8_t *grain = NULL;
  int r = -1;

  pthread_mutex_lock (&e->alloc_lock);
  if (vx_gtab_lookup (t, g, &st, &foff, err) == -1)
    goto out;
  if (st == GRAIN_DATA) {             /* someone else allocated it meanwhile */
    pthread_mutex_unlock (&e->alloc_lock);
    return buf ? vx_pwrite_full (e->fd, e->path, buf, len, foff + in, "grain data", err)
      : write_zeros (e->fd, e->path, len, foff + in, err);
  }
  grain = calloc (1, gb);
  if (!grain) {
    vx_oom (err, "grain");
    goto out;
  }
  if (!(in == 0 && len == glen) && st == GRAIN_HOLE && parent_shows (d)) {
    if (!d->parent) {
      vx_err (err, VMDK_ERR_UNSUPPORTED,
              "%s: a partial-grain write needs the parent's data, but the disk was opened as a single link",
              d->path);
      goto out;
    }
    if (vx_layer_read (d->parent, grain, glen, e->start_byte + g * gb, err) == -1)
      goto out;
  }
  if (buf)
    memcpy (grain + in, buf, len);
  else
    memset (grain + in, 0, len);
  if (gd_get (t, gdi) == 0 && alloc_gt (e, gdi, err) == -1)
    goto out;
  off = e->next_free;
  if ((off + gb) / SECTOR > MAX_HOSTED_FILE_SECTORS) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: extent file would exceed 2 TiB", e->path);
    goto out;
  }
  if (vx_pwrite_full (e->fd, e->path, grain, gb, off, "new grain", err) == -1)
    goto out;
  e->next_free += gb;
  grew (e, e->next_free);
  r = vx_gtab_set (t, g, (uint32_t) (off / SECTOR), err);
 out:
  pthread_mutex_unlock (&e->alloc_lock);
  free (grain);
  return r;
}

/* Write (buf) or zero (buf NULL) a range of a hosted sparse extent. */
static int
sparse_write (struct vmdk_disk *d, struct extent *e, const uint8_t *buf,
              uint64_t n, uint64_t eoff, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gb = t->grain_sectors * SECTOR;

  while (n > 0) {
    uint64_t g = eoff / gb, in = eoff % gb, run = gb - in, foff = 0;
    enum grain_state st;

    if (run > n) run = n;
    if (vx_gtab_lookup (t, g, &st, &foff, err) == -1)
      return -1;
    if (st == GRAIN_DATA) {
      if (buf ? vx_pwrite_full (e->fd, e->path, buf, run, foff + in, "grain data", err)
          : write_zeros (e->fd, e->path, run, foff + in, err))
        return -1;
    }
    else if (buf == NULL && (st == GRAIN_ZERO || !parent_shows (d)))
      ;   /* zeros already */
    else if (alloc_grain (d, e, g, buf, in, run, err) == -1)
      return -1;
    if (buf)
      buf += run;
    n -= run;
    eoff += run;
  }
  return 0;
}

static int
flat_write (struct extent *e, const uint8_t *buf, uint64_t n, uint64_t eoff,
            struct vmdk_error *err)
{
  uint64_t off = e->info.flat_offset * SECTOR + eoff;
  return buf ? vx_pwrite_full (e->fd, e->path, buf, n, off, "flat extent data", err)
    : write_zeros (e->fd, e->path, n, off, err);
}

int
vmdk_pwrite (struct vmdk_disk *d, const void *buf, size_t count, uint64_t offset,
             unsigned flags, struct vmdk_error *err)
{
  const uint8_t *p = buf;

  if (!buf && count) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_pwrite: NULL buffer");
    return -1;
  }
  int r = begin_write (d, count, offset, false, err);
  if (r <= 0)
    return r;
  while (count > 0) {
    struct extent *e = vx_find_extent (d, offset);
    uint64_t n = e->end_byte - offset, eoff = offset - e->start_byte;
    if (n > count) n = count;
    if ((e->gt ? sparse_write (d, e, p, n, eoff, err)
         : flat_write (e, p, n, eoff, err)) == -1)
      return -1;
    p += n;
    count -= n;
    offset += n;
  }
  return (flags & VMDK_WRITE_FUA) ? vmdk_flush (d, err) : 0;
}

/* Whole grains of a hosted extent: set entries to `v` (0 = deallocate,
 * 1 = zeroed grain) where they are not that already. */
static int
set_entries (struct extent *e, uint64_t g, uint64_t count, uint32_t v,
             struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  int r = 0;

  pthread_mutex_lock (&e->alloc_lock);
  for (uint64_t i = g; i < g + count && r == 0; i++) {
    enum grain_state st;
    uint64_t foff;
    if (gd_get (t, i / t->gtes_per_gt) == 0) {
      if (v == 0)       /* no table: already unallocated */
        continue;
      if (alloc_gt (e, i / t->gtes_per_gt, err) == -1) { r = -1; break; }
    }
    if (vx_gtab_lookup (t, i, &st, &foff, err) == -1) { r = -1; break; }
    if ((v == 0 && st == GRAIN_HOLE) || (v == 1 && st == GRAIN_ZERO))
      continue;
    r = vx_gtab_set (t, i, v, err);
  }
  pthread_mutex_unlock (&e->alloc_lock);
  return r;
}

static int
sparse_zero_or_trim (struct vmdk_disk *d, struct extent *e, uint64_t n, uint64_t eoff,
                     bool trim, bool may_trim, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gb = t->grain_sectors * SECTOR;
  uint64_t first = (eoff + gb - 1) / gb, last = (eoff + n) / gb;  /* whole grains */
  uint64_t head, tail, mid_end;

  if ((eoff + n) == e->valid_sectors * SECTOR && (eoff + n) % gb)
    last++;                 /* the short tail grain counts as whole */
  if (first >= last) {      /* no whole grain inside */
    return trim ? 0 : sparse_write (d, e, NULL, n, eoff, err);
  }
  head = first * gb - eoff;
  mid_end = last * gb < eoff + n ? last * gb : eoff + n;
  tail = eoff + n - mid_end;
  if (!trim && head && sparse_write (d, e, NULL, head, eoff, err) == -1)
    return -1;
  if (!trim && tail && sparse_write (d, e, NULL, tail, mid_end, err) == -1)
    return -1;
  if (!parent_shows (d) && (trim || may_trim))
    return set_entries (e, first, last - first, 0, err);
  if (t->zeroed_gte)
    return set_entries (e, first, last - first, 1, err);
  if (trim)
    return 0;               /* nothing safe to drop */
  return sparse_write (d, e, NULL, mid_end - first * gb, first * gb, err);
}

static int
zero_or_trim (struct vmdk_disk *d, uint64_t count, uint64_t offset, unsigned flags,
              bool trim, struct vmdk_error *err)
{
  int r = begin_write (d, count, offset, true, err);
  if (r <= 0)
    return r;
  while (count > 0) {
    struct extent *e = vx_find_extent (d, offset);
    uint64_t n = e->end_byte - offset, eoff = offset - e->start_byte;
    if (n > count) n = count;
    if (e->info.type == VMDK_EXTENT_ZERO)
      ;   /* reads as zeros, cannot be trimmed */
    else if (e->gt) {
      if (sparse_zero_or_trim (d, e, n, eoff, trim, flags & VMDK_ZERO_MAY_TRIM, err) == -1)
        return -1;
    }
    else if (!trim) {
      uint64_t off = e->info.flat_offset * SECTOR + eoff;
      if (fallocate (e->fd, FALLOC_FL_ZERO_RANGE, (off_t) off, (off_t) n) == -1
          && write_zeros (e->fd, e->path, n, off, err) == -1)
        return -1;
    }
    count -= n;
    offset += n;
  }
  return (flags & VMDK_WRITE_FUA) ? vmdk_flush (d, err) : 0;
}

int
vmdk_zero (struct vmdk_disk *d, uint64_t count, uint64_t offset, unsigned flags,
           struct vmdk_error *err)
{
  return zero_or_trim (d, count, offset, flags, false, err);
}

int
vmdk_trim (struct vmdk_disk *d, uint64_t count, uint64_t offset, unsigned flags,
           struct vmdk_error *err)
{
  return zero_or_trim (d, count, offset, flags, true, err);
}

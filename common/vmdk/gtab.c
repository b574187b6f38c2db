/* vixmount VMDK engine: grain directories and grain tables.
 *
 * One mechanism serves the three sparse layouts (hosted KDMV, ESX COWD and
 * seSparse): a grain directory held in memory as byte offsets of grain
 * tables, a one-byte summary per table (unknown, mixed, all unallocated, all
 * zero grains) and the tables themselves in a bounded cache shared by a
 * disk's whole chain (gtcache.c).  A lookup in a table known to be uniform
 * needs neither the table nor a lock; otherwise it copies its entry out of
 * the cache, which reads the table on a miss.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>

#include "internal.h"

uint64_t
vx_gtab_new_id (void)
{
  static atomic_uint_fast64_t next = 1;
  return atomic_fetch_add (&next, 1);
}

int
vx_gtab_alloc_tables (struct gtab *t, struct vmdk_error *err)
{
  t->gt_cache = calloc (t->n_gd, sizeof *t->gt_cache);
  t->gt_sum = calloc (t->n_gd, 1);
  if (!t->gt_cache || !t->gt_sum)
    return vx_oom (err, "grain table cache");
  return 0;
}

void
vx_gtab_free (struct gtab *t)
{
  if (!t)
    return;
  vx_gtcache_drop (t);
  free (t->gt_cache);
  free (t->gt_sum);
  free (t->gd);
  free (t->rgd);
  free (t);
}

/* Bytes of grain g that lie inside the extent's capacity. */
static uint64_t
grain_valid_bytes (const struct gtab *t, uint64_t g)
{
  uint64_t first = g * t->grain_sectors;
  uint64_t n = t->capacity - first;
  if (n > t->grain_sectors)
    n = t->grain_sectors;
  return n * SECTOR;
}

static int
bad_entry (struct gtab *t, uint64_t g, uint64_t v, const char *why,
           struct vmdk_error *err)
{
  vx_err (err, VMDK_ERR_BOUNDS,
          "%s: grain table entry of grain %" PRIu64 " (virtual sector %" PRIu64
          ") is %#" PRIx64 ": %s", t->path, g, g * t->grain_sectors, v, why);
  return -1;
}

static uint64_t
entry_value (const struct gtab *t, const uint8_t *ent)
{
  return t->gte_size == 4 ? le32 (ent) : le64 (ent);
}

/* An entry's state if it is a hole or a zero grain, else GTS_MIXED. */
static enum gt_summary
entry_kind (const struct gtab *t, uint64_t v)
{
  if (v == 0)
    return GTS_HOLE;
  if (t->kind == GT_SESPARSE) {
    unsigned type = (unsigned) (v >> 60);
    return type == 1 || type == 2 ? GTS_ZERO : GTS_MIXED;
  }
  return v == 1 && t->zeroed_gte ? GTS_ZERO : GTS_MIXED;
}

enum gt_summary
vx_gtab_classify (const struct gtab *t, const uint8_t *gt)
{
  enum gt_summary first = entry_kind (t, entry_value (t, gt));

  if (first == GTS_MIXED)
    return GTS_MIXED;
  for (uint32_t i = 1; i < t->gtes_per_gt; i++)
    if (entry_kind (t, entry_value (t, gt + (size_t) i * t->gte_size)) != first)
      return GTS_MIXED;
  return first;
}

static int
decode (struct gtab *t, uint64_t g, const uint8_t *ent, enum grain_state *state,
        uint64_t *file_off, struct vmdk_error *err)
{
  uint64_t v = entry_value (t, ent), off, need;

  switch (t->kind) {
  case GT_HOSTED:
  case GT_COWD:
    if (v == 0) { *state = GRAIN_HOLE; return 0; }
    if (v == 1 && t->zeroed_gte) { *state = GRAIN_ZERO; return 0; }
    off = v * SECTOR;
    break;
  case GT_SESPARSE:
    switch (v >> 60) {
    case 0:
      if (v != 0)
        return bad_entry (t, g, v, "unallocated entry with stray bits", err);
      *state = GRAIN_HOLE;
      return 0;
    case 1: case 2:
      *state = GRAIN_ZERO;
      return 0;
    case 3: {
      uint64_t slot = ((v >> 48) & 0xfff) | ((v & UINT64_C (0x0000ffffffffffff)) << 12);
      if (slot > (t->file_size / (t->grain_sectors * SECTOR)))
        return bad_entry (t, g, v, "grain slot lies past the end of the file", err);
      off = t->grains_base + slot * t->grain_sectors * SECTOR;
      break;
    }
    default:
      return bad_entry (t, g, v, "invalid seSparse entry type", err);
    }
    break;
  default:
    abort ();
  }

  if (off < t->data_start)
    return bad_entry (t, g, v, "points into the metadata area", err);
  need = t->compressed ? 12 : grain_valid_bytes (t, g);
  uint64_t fsz = __atomic_load_n (&t->file_size, __ATOMIC_ACQUIRE);
  if (off > fsz || fsz - off < need)
    return bad_entry (t, g, v, "points past the end of the file", err);
  *state = t->compressed ? GRAIN_COMPRESSED : GRAIN_DATA;
  *file_off = off;
  return 0;
}

int
vx_gtab_lookup (struct gtab *t, uint64_t g, enum grain_state *state,
                uint64_t *file_off, struct vmdk_error *err)
{
  uint64_t gdi = g / t->gtes_per_gt, gtoff;
  uint8_t ent[8];

  if (gdi >= t->n_gd) {
    vx_err (err, VMDK_ERR_BOUNDS, "%s: grain %" PRIu64 " is beyond the grain directory",
            t->path, g);
    return -1;
  }
  gtoff = gd_get (t, gdi);
  if (gtoff == 0) {
    *state = GRAIN_HOLE;
    return 0;
  }
  switch (__atomic_load_n (&t->gt_sum[gdi], __ATOMIC_ACQUIRE)) {
  case GTS_HOLE:
    *state = GRAIN_HOLE;
    return 0;
  case GTS_ZERO:
    *state = GRAIN_ZERO;
    return 0;
  default:
    break;
  }
  if (vx_gtcache_entry (t, gdi, gtoff, (uint32_t) (g % t->gtes_per_gt), ent,
                        err) == -1)
    return -1;
  return decode (t, g, ent, state, file_off, err);
}

uint64_t
vx_gtab_uniform_span (const struct gtab *t, uint64_t g, enum grain_state st)
{
  uint64_t gdi = g / t->gtes_per_gt, rest = t->gtes_per_gt - g % t->gtes_per_gt;
  uint8_t sum;

  if (gdi >= t->n_gd)
    return 1;
  if (gd_get (t, gdi) == 0)
    return st == GRAIN_HOLE ? rest : 1;
  sum = __atomic_load_n (&t->gt_sum[gdi], __ATOMIC_ACQUIRE);
  if ((sum == GTS_HOLE && st == GRAIN_HOLE) || (sum == GTS_ZERO && st == GRAIN_ZERO))
    return rest;
  return 1;
}

int
vx_gtab_set (struct gtab *t, uint64_t g, uint32_t v, struct vmdk_error *err)
{
  uint64_t gdi = g / t->gtes_per_gt, slot = g % t->gtes_per_gt;
  uint64_t gtoff = gd_get (t, gdi);
  uint8_t le[4];

  put_le32 (le, v);
  if (pwrite (t->fd, le, 4, (off_t) (gtoff + slot * 4)) != 4) {
    vx_err_errno (err, errno ? errno : EIO, "%s: writing grain table entry", t->path);
    return -1;
  }
  if (t->rgd && t->rgd[gdi]
      && pwrite (t->fd, le, 4, (off_t) (t->rgd[gdi] + slot * 4)) != 4) {
    vx_err_errno (err, errno ? errno : EIO, "%s: writing redundant grain table entry",
                  t->path);
    return -1;
  }
  vx_gtcache_update (t, gdi, (uint32_t) slot, le);
  return 0;
}

/* ---- compressed grains ---------------------------------------------------- */

struct tls {
  struct libdeflate_decompressor *dec;
  uint8_t *cbuf;  size_t cbuf_size;      /* compressed bytes */
  uint8_t *gbuf;  size_t gbuf_size;      /* one inflated grain */
  uint64_t gbuf_id, gbuf_grain;          /* what gbuf holds (id 0 = nothing) */
  size_t gbuf_len;
};

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread struct tls *tls_cur;

static void
tls_free (void *p)
{
  struct tls *s = p;
  if (!s)
    return;
  if (s->dec)
    libdeflate_free_decompressor (s->dec);
  free (s->cbuf);
  free (s->gbuf);
  free (s);
  tls_cur = NULL;
}

static void
tls_init_key (void)
{
  pthread_key_create (&tls_key, tls_free);
}

static struct tls *
get_tls (struct vmdk_error *err)
{
  if (tls_cur)
    return tls_cur;
  pthread_once (&tls_once, tls_init_key);
  struct tls *s = calloc (1, sizeof *s);
  if (!s || !(s->dec = libdeflate_alloc_decompressor ())) {
    free (s);
    vx_oom (err, "decompressor");
    return NULL;
  }
  pthread_setspecific (tls_key, s);
  tls_cur = s;
  return s;
}

static int
ensure (uint8_t **buf, size_t *size, size_t need, struct vmdk_error *err)
{
  if (*size >= need)
    return 0;
  uint8_t *p = realloc (*buf, need);
  if (!p)
    return vx_oom (err, "grain buffer");
  *buf = p;
  *size = need;
  return 0;
}

int
vx_gtab_inflate (struct gtab *t, uint64_t g, uint64_t marker_off, uint8_t *out,
                 size_t out_len, struct vmdk_error *err)
{
  struct tls *s = get_tls (err);
  uint64_t grain_bytes = t->grain_sectors * SECTOR, lba;
  size_t first, have, csize, actual;
  enum libdeflate_result r;

  if (!s)
    return -1;
  /* One read usually fetches the whole marker: most grains shrink. */
  first = (size_t) (grain_bytes + SECTOR);
  if (t->file_size - marker_off < first)
    first = (size_t) (t->file_size - marker_off);
  if (ensure (&s->cbuf, &s->cbuf_size, first, err) == -1
      || vx_pread_full (t->fd, t->path, s->cbuf, first, marker_off,
                        "grain marker", err) == -1)
    return -1;
  lba = le64 (s->cbuf);
  csize = le32 (s->cbuf + 8);
  if (lba != g * t->grain_sectors) {
    vx_err (err, VMDK_ERR_COMPRESSED,
            "%s: grain marker at offset %" PRIu64 " says LBA %" PRIu64
            " but the grain table uses it for sector %" PRIu64,
            t->path, marker_off, lba, g * t->grain_sectors);
    return -1;
  }
  if (csize == 0 || csize > 2 * grain_bytes) {
    vx_err (err, VMDK_ERR_COMPRESSED,
            "%s: grain marker at offset %" PRIu64 " has an invalid size %zu",
            t->path, marker_off, csize);
    return -1;
  }
  if (t->file_size - marker_off - 12 < csize) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: compressed grain at offset %" PRIu64 " (%zu bytes) runs past the end of the file",
            t->path, marker_off, csize);
    return -1;
  }
  have = first;
  if (12 + csize > have) {
    if (ensure (&s->cbuf, &s->cbuf_size, 12 + csize, err) == -1
        || vx_pread_full (t->fd, t->path, s->cbuf + have, 12 + csize - have,
                          marker_off + have, "compressed grain", err) == -1)
      return -1;
  }
  r = libdeflate_zlib_decompress (s->dec, s->cbuf + 12, csize, out, out_len, &actual);
  if (r != LIBDEFLATE_SUCCESS || actual != out_len)   /* raw deflate fallback */
    r = libdeflate_deflate_decompress (s->dec, s->cbuf + 12, csize, out, out_len,
                                       &actual);
  if (r != LIBDEFLATE_SUCCESS || actual != out_len) {
    vx_err (err, VMDK_ERR_COMPRESSED,
            "%s: compressed grain for sector %" PRIu64 " at offset %" PRIu64
            " is corrupt (does not inflate to %zu bytes)", t->path, lba,
            marker_off, out_len);
    return -1;
  }
  return 0;
}

const uint8_t *
vx_gtab_grain_cached (struct gtab *t, uint64_t g, uint64_t marker_off,
                      size_t out_len, struct vmdk_error *err)
{
  struct tls *s = get_tls (err);

  if (!s)
    return NULL;
  if (s->gbuf_id == t->id && s->gbuf_grain == g && s->gbuf_len == out_len)
    return s->gbuf;
  if (ensure (&s->gbuf, &s->gbuf_size, out_len, err) == -1)
    return NULL;
  s->gbuf_id = 0;
  if (vx_gtab_inflate (t, g, marker_off, s->gbuf, out_len, err) == -1)
    return NULL;
  s->gbuf_id = t->id;
  s->gbuf_grain = g;
  s->gbuf_len = out_len;
  return s->gbuf;
}

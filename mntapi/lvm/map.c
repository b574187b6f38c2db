/* vixmount LVM: an LV's data as segments on the set's disks (see lvm.h).
 *
 * Extent E of a PV is at byte (pe_start + E * extent_size) * 512 of the
 * PV's device.  A "striped" segment with one stripe is linear; with N it
 * is striped over N PVs (each holding extent_count / N extents, chunks of
 * stripe_size sectors).  An area may also be an extent range of another LV
 * (a mirror or raid1 leg, or an LV stacked on one): those are resolved
 * recursively, at most MAX_DEPTH deep.  Mirror and raid1 LVs are read from
 * their first leg that lies wholly on PVs of the set and is not being
 * rebuilt.  Segments are kept as the metadata has them (lvm2 merges what
 * can be merged), so they compare one to one with lvs's.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvm.h"

#define MAX_DEPTH 8
#define MAX_CALLS 100000

struct map {
  const struct vx_lvm_vg *vg;
  struct vx_segment *seg;
  size_t n, cap;
  uint64_t pos;              /* bytes mapped so far */
  char *why;                 /* set when the LV cannot be composed */
  bool oom;
  unsigned calls;            /* map_range calls: legs of legs stay bounded */
};

static int __attribute__ ((format (printf, 2, 3)))
refuse (struct map *m, const char *fmt, ...)
{
  va_list ap;

  if (m->why)
    return 1;
  va_start (ap, fmt);
  if (vasprintf (&m->why, fmt, ap) < 0) {
    m->why = NULL;
    m->oom = true;
    va_end (ap);
    return -1;
  }
  va_end (ap);
  return 1;
}

static struct vx_segment *
push (struct map *m, uint64_t length)
{
  struct vx_segment *s;

  if (m->n == m->cap) {
    size_t ncap = m->cap ? m->cap * 2 : 8;
    struct vx_segment *ns = reallocarray (m->seg, ncap, sizeof *ns);
    if (!ns) {
      m->oom = true;
      return NULL;
    }
    m->seg = ns;
    m->cap = ncap;
  }
  s = &m->seg[m->n++];
  memset (s, 0, sizeof *s);
  s->start = m->pos;
  s->length = length;
  m->pos += length;
  return s;
}

/* Byte offset on the disk of extent PE of PV, for LEN bytes: 0, or 1 (the
 * reason given) when the PV is missing or the range is outside it. */
static int
pv_bytes (struct map *m, int pvi, uint64_t pe, uint64_t len, unsigned *disk,
          uint64_t *off)
{
  const struct vx_lvm_pv *pv = &m->vg->pv[pvi];
  uint64_t sect, rel, end;

  if (!pv->found)
    return refuse (m, "incomplete: PV %s (%s%s%s) is not in the disk set", pv->uuid,
                   pv->name, pv->device ? ", last seen as " : "",
                   pv->device ? pv->device : "");
  if (__builtin_mul_overflow (pe, m->vg->extent_size, &sect)
      || __builtin_add_overflow (sect, pv->pe_start, &sect)
      || __builtin_mul_overflow (sect, 512, &rel)
      || __builtin_add_overflow (rel, len, &end) || end > pv->size
      || __builtin_add_overflow (pv->offset, rel, off))
    return refuse (m, "extents of PV %s lie beyond the end of its device "
                   "(%" PRIu64 " bytes)", pv->uuid, pv->size);
  *disk = pv->disk;
  return 0;
}

static int map_range (struct map *m, size_t lvi, uint64_t le, uint64_t count,
                      unsigned depth);

/* Extents [a, a + n) of segment S (relative to it) of a striped type. */
static int
map_striped (struct map *m, const struct vx_lvm_seg *s, uint64_t a, uint64_t n,
             unsigned depth)
{
  uint64_t es = m->vg->extent_size * 512, len, chunk, row_bytes, first_row;
  const struct vx_lvm_area *ar = &s->area[0];
  struct vx_segment *out;
  size_t k;
  int r;

  if (__builtin_mul_overflow (n, es, &len))
    return refuse (m, "LV larger than 2^64 bytes");
  if (s->stripe_count == 1) {
    unsigned disk;
    uint64_t off;
    if (ar->lv >= 0)
      return map_range (m, (size_t) ar->lv, ar->start + a, n, depth + 1);
    r = pv_bytes (m, ar->pv, ar->start + a, len, &disk, &off);
    if (r)
      return r;
    out = push (m, len);
    if (!out)
      return -1;
    out->disk = disk;
    out->offset = off;
    return 0;
  }
  /* several stripes: only whole rows of PV areas */
  chunk = s->stripe_size * 512;
  row_bytes = chunk * s->stripe_count;
  if ((a * es) % row_bytes || len % row_bytes)
    return refuse (m, "a striped segment is used from the middle of a row "
                   "(not supported)");
  first_row = a * es / row_bytes;
  out = push (m, len);
  if (!out)
    return -1;
  out->nstripes = s->stripe_count;
  out->stripe_size = chunk;
  out->stripe = calloc (s->stripe_count, sizeof *out->stripe);
  if (!out->stripe) {
    m->oom = true;
    return -1;
  }
  for (k = 0; k < s->stripe_count; k++) {
    uint64_t off;
    unsigned disk;
    if (s->area[k].pv < 0)
      return refuse (m, "a striped segment over LVs (not supported)");
    /* the whole stripe must lie in the PV; the part used starts FIRST_ROW
     * chunks into it */
    r = pv_bytes (m, s->area[k].pv, s->area[k].start,
                  s->extent_count / s->stripe_count * es, &disk, &off);
    if (r)
      return r;
    out->stripe[k].disk = disk;
    out->stripe[k].offset = off + first_row * chunk;
  }
  return 0;
}

/* Extents [a, a + n) of a mirror or raid1 segment: from the first good leg. */
static int
map_legs (struct map *m, size_t lvi, const struct vx_lvm_seg *s, uint64_t a,
          uint64_t n, unsigned depth)
{
  size_t k, n0 = m->n;
  uint64_t pos0 = m->pos;
  char *first_why = NULL;
  int r;

  for (k = 0; k < s->narea; k++) {
    const struct vx_lvm_area *ar = &s->area[k];
    if (m->vg->lv[ar->lv].rebuild) {
      if (!first_why && asprintf (&first_why, "leg %s is being rebuilt",
                                  m->vg->lv[ar->lv].name) < 0)
        first_why = NULL;
      continue;
    }
    r = map_range (m, (size_t) ar->lv, ar->start + a, n, depth + 1);
    if (r <= 0) {
      free (first_why);
      return r;
    }
    /* this leg failed: forget what it mapped and its reason, try the next */
    while (m->n > n0)
      free (m->seg[--m->n].stripe);
    m->pos = pos0;
    if (!first_why)
      first_why = m->why;
    else
      free (m->why);
    m->why = NULL;
  }
  r = refuse (m, "%s%s LV %s has no complete leg: %s",
              first_why && !strncmp (first_why, "incomplete: ", 12) ? "incomplete: " : "",
              s->type, m->vg->lv[lvi].name, first_why ? first_why : "none listed");
  free (first_why);
  return r;
}

static int
map_range (struct map *m, size_t lvi, uint64_t le, uint64_t count, unsigned depth)
{
  const struct vx_lvm_lv *lv = &m->vg->lv[lvi];
  size_t i;
  int r;

  if (depth > MAX_DEPTH)
    return refuse (m, "LVs stacked more than %d deep", MAX_DEPTH);
  if (++m->calls > MAX_CALLS)
    return refuse (m, "LVs stacked in too many ways (more than %d look-ups)",
                   MAX_CALLS);
  for (i = 0; i < lv->nseg && count; i++) {
    const struct vx_lvm_seg *s = &lv->seg[i];
    uint64_t a, n, send = s->start_extent + s->extent_count;

    if (le >= send)
      continue;
    a = le - s->start_extent;
    n = send - le < count ? send - le : count;
    if (!strcmp (s->type, "striped") || !strcmp (s->type, "linear"))
      r = map_striped (m, s, a, n, depth);
    else if (!strcmp (s->type, "mirror") || !strcmp (s->type, "raid1"))
      r = map_legs (m, lvi, s, a, n, depth);
    else
      r = refuse (m, "segment type %s: not supported", s->type);
    if (r)
      return r;
    le += n;
    count -= n;
  }
  if (count)
    return refuse (m, "LV %s is shorter than what refers to it", lv->name);
  return 0;
}

/* The snapshot segment whose copy-on-write store is LV I, or NULL. */
static const struct vx_lvm_seg *
cow_of (const struct vx_lvm_vg *vg, size_t i)
{
  size_t l, k;

  for (l = 0; l < vg->nlv; l++)
    for (k = 0; k < vg->lv[l].nseg; k++)
      if (vg->lv[l].seg[k].cow_store &&
          !strcmp (vg->lv[l].seg[k].cow_store, vg->lv[i].name))
        return &vg->lv[l].seg[k];
  return NULL;
}

const char *
vx_lvm_lv_layout (const struct vx_lvm_vg *vg, size_t i)
{
  const struct vx_lvm_seg *s = &vg->lv[i].seg[0];

  if (cow_of (vg, i))
    return "snapshot";
  if (!strcmp (s->type, "striped") && s->stripe_count == 1)
    return "linear";
  return s->type;
}

int
vx_lvm_lv_map (const struct vx_lvm_vg *vg, size_t lvi, struct vx_segment **seg,
               size_t *nseg, char **why)
{
  struct map m = { .vg = vg };
  const char *layout = vx_lvm_lv_layout (vg, lvi);
  int r;

  *seg = NULL;
  *nseg = 0;
  *why = NULL;
  if (!strcmp (layout, "snapshot")) {
    const struct vx_lvm_seg *s = cow_of (vg, lvi);
    if (!s)                     /* the snapshot LV itself (lvm2 hides it) */
      s = &vg->lv[lvi].seg[0];
    r = refuse (&m, "snapshot of %s: not supported", s->origin ? s->origin : "?");
  }
  else if (!strcmp (layout, "thin"))
    r = refuse (&m, "thin volume: not supported");
  else if (!strcmp (layout, "thin-pool"))
    r = refuse (&m, "thin pool: not supported");
  else if (!strcmp (layout, "cache") || !strcmp (layout, "writecache"))
    r = refuse (&m, "cached volume (%s): not supported", layout);
  else if (!strcmp (layout, "cache-pool"))
    r = refuse (&m, "cache pool: not supported");
  else
    r = map_range (&m, lvi, 0, vg->lv[lvi].extents, 0);
  if (m.oom || r < 0) {
    vx_segments_free (m.seg, m.n);
    free (m.why);
    return -1;
  }
  if (r) {
    vx_segments_free (m.seg, m.n);
    *why = m.why;
    return strncmp (m.why, "incomplete: ", 12) ? 1 : 2;
  }
  *seg = m.seg;
  *nseg = m.n;
  return 0;
}

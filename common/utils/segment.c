/* vixmount helpers: a volume made of segments on disks (see segment.h). */
#include <stdlib.h>

#include "segment.h"

/* Is [off, off + len) inside a disk of SIZE bytes? */
static int
inside (uint64_t off, uint64_t len, uint64_t size)
{
  return off <= size && len <= size - off;
}

int
vx_segments_check (const struct vx_segment *seg, size_t n, size_t ndisks,
                   const uint64_t *disk_size, uint64_t *size,
                   const char **why)
{
  uint64_t pos = 0;
  size_t i, k;

  for (i = 0; i < n; i++) {
    const struct vx_segment *s = &seg[i];

    if (s->start != pos) {
      *why = "segments are not contiguous";
      return -1;
    }
    if (s->length == 0) {
      *why = "empty segment";
      return -1;
    }
    if (__builtin_add_overflow (pos, s->length, &pos)) {
      *why = "volume larger than 2^64 bytes";
      return -1;
    }
    if (s->nstripes == 0) {
      if (s->disk >= ndisks) {
        *why = "segment on a disk that is not in the set";
        return -1;
      }
      if (disk_size && !inside (s->offset, s->length, disk_size[s->disk])) {
        *why = "segment lies outside its disk";
        return -1;
      }
      continue;
    }
    if (s->nstripes < 2 || s->nstripes > VX_MAX_STRIPES || !s->stripe) {
      *why = "striped segment with fewer than 2 or more than 128 stripes";
      return -1;
    }
    if (s->stripe_size == 0 || s->length % s->nstripes != 0
        || (s->length / s->nstripes) % s->stripe_size != 0) {
      *why = "striped segment whose length is not a multiple of stripes x stripe size";
      return -1;
    }
    for (k = 0; k < s->nstripes; k++) {
      if (s->stripe[k].disk >= ndisks) {
        *why = "stripe on a disk that is not in the set";
        return -1;
      }
      if (disk_size && !inside (s->stripe[k].offset, s->length / s->nstripes,
                                disk_size[s->stripe[k].disk])) {
        *why = "stripe lies outside its disk";
        return -1;
      }
      if (!disk_size && s->stripe[k].offset > UINT64_MAX - s->length / s->nstripes) {
        *why = "stripe beyond 2^64 bytes";
        return -1;
      }
    }
  }
  *size = pos;
  return 0;
}

int
vx_segment_map (const struct vx_segment *seg, size_t n, uint64_t off,
                unsigned *disk, uint64_t *disk_off, uint64_t *run)
{
  size_t lo = 0, hi = n;
  const struct vx_segment *s;
  uint64_t r, chunk, in_chunk;

  /* the last segment starting at or before OFF */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (seg[mid].start <= off)
      lo = mid;
    else
      hi = mid;
  }
  if (n == 0 || off < seg[lo].start || off - seg[lo].start >= seg[lo].length)
    return -1;
  s = &seg[lo];
  r = off - s->start;
  if (s->nstripes == 0) {
    *disk = s->disk;
    *disk_off = s->offset + r;
    *run = s->length - r;
    return 0;
  }
  chunk = r / s->stripe_size;
  in_chunk = r % s->stripe_size;
  *disk = s->stripe[chunk % s->nstripes].disk;
  *disk_off = s->stripe[chunk % s->nstripes].offset
    + chunk / s->nstripes * s->stripe_size + in_chunk;
  *run = s->stripe_size - in_chunk;
  return 0;
}

void
vx_segments_free (struct vx_segment *seg, size_t n)
{
  size_t i;

  if (!seg)
    return;
  for (i = 0; i < n; i++)
    free (seg[i].stripe);
  free (seg);
}

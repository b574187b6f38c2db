/* vixmount VMDK engine: hosted sparse extents ("KDMV"), including
 * streamOptimized files (compressed grains, GD at the end behind a footer). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FLAG_NEWLINE_DETECTOR 0x1u
#define FLAG_REDUNDANT        0x2u
#define FLAG_ZEROED_GTE       0x4u
#define FLAG_COMPRESSED       0x10000u
#define FLAG_MARKERS          0x20000u
#define GD_AT_END             UINT64_MAX
#define MAX_GRAIN_SECTORS     4096u     /* 2 MiB; qemu-img and VMware use 128 */
#define MAX_GTES_PER_GT       4096u     /* VMware uses 512 */
#define MAX_GD_ENTRIES        (UINT64_C (4) << 20)

struct hdr {
  uint32_t version, flags, gtes;
  uint64_t capacity, grain, desc_off, desc_size, rgd, gd, overhead;
  uint8_t unclean;
  uint16_t algo;
};

static void
parse_hdr (const uint8_t *p, struct hdr *h)
{
  h->version = le32 (p + 4);
  h->flags = le32 (p + 8);
  h->capacity = le64 (p + 12);
  h->grain = le64 (p + 20);
  h->desc_off = le64 (p + 28);
  h->desc_size = le64 (p + 36);
  h->gtes = le32 (p + 44);
  h->rgd = le64 (p + 48);
  h->gd = le64 (p + 56);
  h->overhead = le64 (p + 64);
  h->unclean = p[72];
  h->algo = le16 (p + 77);
}

/* [sector, sector + bytes) inside a file of file_size bytes? */
static bool
inside (uint64_t sector, uint64_t bytes, uint64_t file_size)
{
  return sector <= file_size / SECTOR && sector * SECTOR <= file_size
    && file_size - sector * SECTOR >= bytes;
}

/* The footer of a stream whose header says GD_AT_END: the last three
 * sectors are a footer marker, a header copy, and an end-of-stream marker. */
static int
read_footer (struct extent *e, uint64_t file_size, struct hdr *h,
             struct vmdk_error *err)
{
  uint8_t tail[3 * SECTOR];
  struct hdr f;

  if (file_size < 4 * SECTOR) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: stream header says the grain directory is at the end, but the file is too short for a footer",
            e->path);
    return -1;
  }
  if (vx_pread_full (e->fd, e->path, tail, sizeof tail, file_size - sizeof tail,
                     "stream footer", err) == -1)
    return -1;
  if (le32 (tail + 8) != 0 || le32 (tail + 12) != 3 || memcmp (tail + SECTOR, "KDMV", 4) != 0
      || le64 (tail + 2 * SECTOR) != 0 || le32 (tail + 2 * SECTOR + 8) != 0
      || le32 (tail + 2 * SECTOR + 12) != 0) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: stream footer missing or damaged (expected footer marker, header copy and end-of-stream marker in the last 1536 bytes; the file may be cut short)",
            e->path);
    return -1;
  }
  parse_hdr (tail + SECTOR, &f);
  if (f.gd == GD_AT_END || f.capacity != h->capacity || f.grain != h->grain
      || f.gtes != h->gtes) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: stream footer disagrees with the header (gdOffset %#" PRIx64 ", capacity %" PRIu64 ")",
            e->path, f.gd, f.capacity);
    return -1;
  }
  h->gd = f.gd;
  h->rgd = f.rgd;
  h->flags = f.flags;
  return 0;
}

static int
load_gd (struct extent *e, const struct hdr *h, uint64_t file_size,
         struct gtab *t, struct vmdk_error *err)
{
  uint64_t gd_bytes = t->n_gd * 4, gt_bytes = (uint64_t) t->gtes_per_gt * 4;
  bool prim_ok = h->gd != 0 && inside (h->gd, gd_bytes, file_size);
  bool red_ok = (h->flags & FLAG_REDUNDANT) && h->rgd != 0
    && inside (h->rgd, gd_bytes, file_size);
  uint8_t *prim = NULL, *red = NULL;
  int r = -1;

  if (!prim_ok && !red_ok) {
    vx_err (err, VMDK_ERR_BOUNDS,
            "%s: grain directory at sector %" PRIu64 " (%" PRIu64
            " bytes) lies outside the file (%" PRIu64 " bytes) and there is no usable redundant copy",
            e->path, h->gd, gd_bytes, file_size);
    return -1;
  }
  if (vx_gtab_alloc_tables (t, err) == -1)
    return -1;
  t->gd = calloc (t->n_gd, sizeof *t->gd);
  if ((prim_ok && !(prim = malloc (gd_bytes))) || (red_ok && !(red = malloc (gd_bytes)))
      || !t->gd) {
    vx_oom (err, "grain directory");
    goto out;
  }
  if (prim_ok && vx_pread_full (e->fd, e->path, prim, gd_bytes, h->gd * SECTOR,
                                "grain directory", err) == -1)
    goto out;
  if (red_ok && vx_pread_full (e->fd, e->path, red, gd_bytes, h->rgd * SECTOR,
                               "redundant grain directory", err) == -1)
    goto out;

  t->gd_file_off = prim_ok ? h->gd * SECTOR : 0;
  t->rgd_file_off = red_ok ? h->rgd * SECTOR : 0;
  if (red_ok && !(t->rgd = calloc (t->n_gd, sizeof *t->rgd))) {
    vx_oom (err, "grain directory");
    goto out;
  }
  for (uint64_t i = 0; i < t->n_gd; i++) {
    uint64_t p = prim ? le32 (prim + 4 * i) : 0, q = red ? le32 (red + 4 * i) : 0;
    if (red && q != 0 && inside (q, gt_bytes, file_size))
      t->rgd[i] = q * SECTOR;
    bool p_ok = prim && (p == 0 || (p >= 1 && inside (p, gt_bytes, file_size)));
    bool q_ok = red && q != 0 && inside (q, gt_bytes, file_size);

    if (p_ok)
      t->gd[i] = p * SECTOR;
    else if (q_ok) {
      t->gd[i] = q * SECTOR;
      e->info.redundant_gd_used = true;
    }
    else {
      vx_err (err, VMDK_ERR_BOUNDS,
              "%s: grain directory entry %" PRIu64 " points to sector %" PRIu64
              ", outside the file (%" PRIu64 " bytes), and the redundant copy does not help",
              e->path, i, prim ? p : q, file_size);
      goto out;
    }
  }
  r = 0;
 out:
  free (prim);
  free (red);
  return r;
}

int
vx_sparse_open (struct extent *e, const uint8_t *p, uint64_t file_size,
                struct cache_budget *budget, struct vmdk_error *err)
{
  struct hdr h;
  struct gtab *t;
  uint64_t n_grains, gd_at_end = 0;

  if (file_size < SECTOR) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: sparse header needs 512 bytes but the file has %" PRIu64, e->path,
            file_size);
    return -1;
  }
  parse_hdr (p, &h);
  if (h.version < 1 || h.version > 3) {
    vx_err (err, VMDK_ERR_UNSUPPORTED,
            "%s: sparse extent version %" PRIu32 " is not supported (1 to 3 are)",
            e->path, h.version);
    return -1;
  }
  if (h.flags & 0xffff0000u & ~(FLAG_COMPRESSED | FLAG_MARKERS)) {
    vx_err (err, VMDK_ERR_UNSUPPORTED,
            "%s: sparse header has unknown incompatible flags %#" PRIx32, e->path,
            h.flags);
    return -1;
  }
  if (h.algo > 1) {
    vx_err (err, VMDK_ERR_UNSUPPORTED,
            "%s: compression algorithm %u is not supported (0 and 1 = deflate are)",
            e->path, h.algo);
    return -1;
  }
  if (!!(h.flags & FLAG_COMPRESSED) != (h.algo == 1)
      || ((h.flags & FLAG_MARKERS) && !(h.flags & FLAG_COMPRESSED))) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: sparse header flags %#" PRIx32 " and compressAlgorithm %u disagree",
            e->path, h.flags, h.algo);
    return -1;
  }
  if ((h.flags & FLAG_NEWLINE_DETECTOR)
      && memcmp (p + 73, "\n \r\n", 4) != 0) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: newline-detector bytes are damaged: the file went through a text-mode transfer",
            e->path);
    return -1;
  }
  if (h.grain == 0 || (h.grain & (h.grain - 1)) != 0) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: grainSize %" PRIu64 " is not a power of two", e->path, h.grain);
    return -1;
  }
  if (h.grain > MAX_GRAIN_SECTORS) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: grainSize %" PRIu64 " sectors exceeds the limit of %u",
            e->path, h.grain, MAX_GRAIN_SECTORS);
    return -1;
  }
  if (h.gtes == 0 || h.gtes > MAX_GTES_PER_GT) {
    vx_err (err, h.gtes ? VMDK_ERR_LIMIT : VMDK_ERR_FORMAT,
            "%s: numGTEsPerGT %" PRIu32 " is invalid (1 to %u)", e->path, h.gtes,
            MAX_GTES_PER_GT);
    return -1;
  }
  if (h.capacity == 0) {
    vx_err (err, VMDK_ERR_FORMAT, "%s: capacity is 0", e->path);
    return -1;
  }
  if (h.capacity > VMDK_MAX_CAPACITY_SECTORS) {
    vx_err (err, VMDK_ERR_LIMIT,
            "%s: capacity %" PRIu64 " sectors exceeds the limit of %" PRIu64 " (64 PiB)",
            e->path, h.capacity, (uint64_t) VMDK_MAX_CAPACITY_SECTORS);
    return -1;
  }
  if (h.overhead > file_size / SECTOR) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: overHead is %" PRIu64 " sectors but the file has only %" PRIu64 " bytes",
            e->path, h.overhead, file_size);
    return -1;
  }
  if (h.desc_off != 0 && !inside (h.desc_off, h.desc_size * SECTOR, file_size)) {
    vx_err (err, VMDK_ERR_BOUNDS,
            "%s: embedded descriptor (sector %" PRIu64 ", %" PRIu64 " sectors) lies outside the file",
            e->path, h.desc_off, h.desc_size);
    return -1;
  }
  if (h.desc_off != 0 && h.overhead < h.desc_off + h.desc_size) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: overHead %" PRIu64 " lies inside the embedded descriptor (sectors %" PRIu64
            "-%" PRIu64 "): grains would overlap metadata", e->path, h.overhead, h.desc_off,
            h.desc_off + h.desc_size - 1);
    return -1;
  }
  if (h.gd == GD_AT_END) {
    if (!(h.flags & FLAG_COMPRESSED)) {
      vx_err (err, VMDK_ERR_FORMAT,
              "%s: gdOffset says 'at the end' but the extent is not a stream", e->path);
      return -1;
    }
    if (read_footer (e, file_size, &h, err) == -1)
      return -1;
    gd_at_end = 1;
  }

  n_grains = (h.capacity + h.grain - 1) / h.grain;
  t = calloc (1, sizeof *t);
  if (!t)
    return vx_oom (err, "grain tables");
  t->kind = GT_HOSTED;
  t->fd = e->fd;
  t->path = e->path;
  t->file_size = file_size;
  t->capacity = h.capacity;
  t->grain_sectors = h.grain;
  t->gtes_per_gt = h.gtes;
  t->gte_size = 4;
  t->n_gd = (n_grains + h.gtes - 1) / h.gtes;
  t->budget = budget;
  t->data_start = h.overhead * SECTOR;
  t->zeroed_gte = (h.flags & FLAG_ZEROED_GTE) != 0;
  t->compressed = h.algo == 1;
  t->id = vx_gtab_new_id ();
  if (t->n_gd > MAX_GD_ENTRIES) {
    vx_err (err, VMDK_ERR_LIMIT,
            "%s: %" PRIu64 " grain directory entries exceed the limit", e->path, t->n_gd);
    vx_gtab_free (t);
    return -1;
  }
  if (load_gd (e, &h, file_size, t, err) == -1) {
    vx_gtab_free (t);
    return -1;
  }
  e->gt = t;
  e->info.version = h.version;
  e->info.flags = h.flags;
  e->info.grain_sectors = h.grain;
  e->info.gtes_per_gt = h.gtes;
  e->info.gd_offset = h.gd;
  e->info.rgd_offset = h.rgd;
  e->info.overhead = h.overhead;
  e->info.gd_entries = t->n_gd;
  e->info.compressed = t->compressed;
  e->info.zeroed_gte = t->zeroed_gte;
  e->info.gd_at_end = gd_at_end;
  e->info.unclean_shutdown = h.unclean != 0;
  e->valid_sectors = h.capacity;
  return 0;
}

/* vixmount VMDK engine: ESX snapshot extents, COWD (vmfsSparse) and
 * seSparse.  Both feed the same grain-table machinery as hosted sparse. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define COWD_GTES 4096u
#define SES_GTES 4096u
#define MAX_GD_ENTRIES (UINT64_C (4) << 20)

static bool
inside (uint64_t off, uint64_t bytes, uint64_t file_size)
{
  return off <= file_size && file_size - off >= bytes;
}

static struct gtab *
new_gtab (struct extent *e, enum gtab_kind kind, uint64_t file_size,
          struct cache_budget *budget, struct vmdk_error *err)
{
  struct gtab *t = calloc (1, sizeof *t);
  if (!t) {
    vx_oom (err, "grain tables");
    return NULL;
  }
  t->kind = kind;
  t->fd = e->fd;
  t->path = e->path;
  t->file_size = file_size;
  t->budget = budget;
  t->id = vx_gtab_new_id ();
  return t;
}

static int
alloc_gd (struct gtab *t, struct vmdk_error *err)
{
  if (vx_gtab_alloc_tables (t, err) == -1)
    return -1;
  t->gd = calloc (t->n_gd, sizeof *t->gd);
  if (!t->gd)
    return vx_oom (err, "grain directory");
  return 0;
}

int
vx_cowd_open (struct extent *e, const uint8_t *p, uint64_t file_size,
              struct cache_budget *budget, struct vmdk_error *err)
{
  uint32_t version = le32 (p + 4), flags = le32 (p + 8);
  uint64_t cap = le32 (p + 12), grain = le32 (p + 16), gd = le32 (p + 20);
  uint64_t n_gd_hdr = le32 (p + 24), n_gd, gt_bytes = COWD_GTES * 4;
  struct gtab *t;
  uint8_t *raw = NULL;

  if (file_size < 2048) {
    vx_err (err, VMDK_ERR_TRUNCATED,
            "%s: COWD header needs 2048 bytes but the file has %" PRIu64, e->path,
            file_size);
    return -1;
  }
  if (version < 1 || version > 3) {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: COWD version %" PRIu32 " is not supported",
            e->path, version);
    return -1;
  }
  if (grain == 0 || (grain & (grain - 1)) || grain > 4096) {
    vx_err (err, VMDK_ERR_FORMAT, "%s: COWD grainSize %" PRIu64 " is invalid",
            e->path, grain);
    return -1;
  }
  if (cap == 0) {
    vx_err (err, VMDK_ERR_FORMAT, "%s: COWD numSectors is 0", e->path);
    return -1;
  }
  n_gd = (cap + grain * COWD_GTES - 1) / (grain * COWD_GTES);
  if (n_gd_hdr < n_gd) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: COWD numGDEntries %" PRIu64 " is too small for %" PRIu64 " sectors",
            e->path, n_gd_hdr, cap);
    return -1;
  }
  if (!inside (gd * SECTOR, n_gd * 4, file_size) || gd < 4) {
    vx_err (err, VMDK_ERR_BOUNDS,
            "%s: COWD grain directory at sector %" PRIu64 " lies outside the file",
            e->path, gd);
    return -1;
  }
  t = new_gtab (e, GT_COWD, file_size, budget, err);
  if (!t)
    return -1;
  t->capacity = cap;
  t->grain_sectors = grain;
  t->gtes_per_gt = COWD_GTES;
  t->gte_size = 4;
  t->n_gd = n_gd;
  t->data_start = 4 * SECTOR;
  if (alloc_gd (t, err) == -1 || !(raw = malloc (n_gd * 4)))
    goto fail_oom;
  if (vx_pread_full (e->fd, e->path, raw, n_gd * 4, gd * SECTOR,
                     "COWD grain directory", err) == -1)
    goto fail;
  for (uint64_t i = 0; i < n_gd; i++) {
    uint64_t s = le32 (raw + 4 * i);
    if (s != 0 && (s < 4 || !inside (s * SECTOR, gt_bytes, file_size))) {
      vx_err (err, VMDK_ERR_BOUNDS,
              "%s: COWD grain directory entry %" PRIu64 " points to sector %" PRIu64
              ", outside the file", e->path, i, s);
      goto fail;
    }
    t->gd[i] = s * SECTOR;
  }
  free (raw);
  e->gt = t;
  e->valid_sectors = cap;
  e->info.version = version;
  e->info.flags = flags;
  e->info.grain_sectors = grain;
  e->info.gtes_per_gt = COWD_GTES;
  e->info.gd_offset = gd;
  e->info.gd_entries = n_gd;
  e->info.unclean_shutdown = le32 (p + 1648) != 0;
  return 0;
 fail_oom:
  vx_oom (err, "COWD grain directory");
 fail:
  free (raw);
  vx_gtab_free (t);
  return -1;
}

int
vx_sesparse_open (struct extent *e, const uint8_t *p, uint64_t file_size,
                  struct cache_budget *budget, struct vmdk_error *err)
{
  uint64_t version = le64 (p + 8), cap = le64 (p + 16), grain = le64 (p + 24);
  uint64_t gt_size = le64 (p + 32), flags = le64 (p + 40);
  uint64_t vh_off = le64 (p + 80);
  uint64_t gd_off = le64 (p + 128), gd_size = le64 (p + 136);
  uint64_t gts_off = le64 (p + 144), gts_size = le64 (p + 152);
  uint64_t gr_off = le64 (p + 192), gr_size = le64 (p + 200);
  uint64_t n_gd_need, n_gd, lim = file_size / SECTOR;
  uint8_t vh[SECTOR], *raw = NULL;
  struct gtab *t;

  if (file_size < SECTOR) {
    vx_err (err, VMDK_ERR_TRUNCATED, "%s: seSparse header needs 512 bytes", e->path);
    return -1;
  }
  if (version != UINT64_C (0x0000000200000001)) {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: seSparse version %#" PRIx64 " is not supported",
            e->path, version);
    return -1;
  }
  if (grain != 8 || gt_size != 64) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: seSparse grain_size %" PRIu64 " / grain_table_size %" PRIu64
            " are invalid (8 and 64 expected)", e->path, grain, gt_size);
    return -1;
  }
  if (flags != 0) {
    vx_err (err, VMDK_ERR_UNSUPPORTED, "%s: seSparse flags %#" PRIx64 " are not supported",
            e->path, flags);
    return -1;
  }
  if (cap == 0 || cap > VMDK_MAX_CAPACITY_SECTORS) {
    vx_err (err, cap ? VMDK_ERR_LIMIT : VMDK_ERR_FORMAT,
            "%s: seSparse capacity %" PRIu64 " sectors is invalid", e->path, cap);
    return -1;
  }
  if (vh_off == 0 || vh_off >= lim || gd_off == 0 || gd_off > lim || gd_size > lim - gd_off
      || gts_off > lim || gts_size > lim - gts_off || gr_off > lim || gr_size > lim - gr_off) {
    vx_err (err, VMDK_ERR_BOUNDS,
            "%s: seSparse header regions lie outside the file (%" PRIu64 " bytes)",
            e->path, file_size);
    return -1;
  }
  if (vx_pread_full (e->fd, e->path, vh, SECTOR, vh_off * SECTOR,
                     "seSparse volatile header", err) == -1)
    return -1;
  if (le64 (vh) != 0xcafecafe) {
    vx_err (err, VMDK_ERR_FORMAT, "%s: seSparse volatile header has a bad magic", e->path);
    return -1;
  }
  if (le64 (vh + 24) != 0) {
    vx_err (err, VMDK_ERR_UNSUPPORTED,
            "%s: seSparse journal needs replaying (the disk was not closed cleanly)",
            e->path);
    return -1;
  }
  n_gd_need = (cap + grain * SES_GTES - 1) / (grain * SES_GTES);
  n_gd = gd_size * SECTOR / 8;
  if (n_gd < n_gd_need || n_gd_need > MAX_GD_ENTRIES) {
    vx_err (err, n_gd < n_gd_need ? VMDK_ERR_FORMAT : VMDK_ERR_LIMIT,
            "%s: seSparse grain directory has %" PRIu64 " entries, %" PRIu64 " needed",
            e->path, n_gd, n_gd_need);
    return -1;
  }
  n_gd = n_gd_need;
  t = new_gtab (e, GT_SESPARSE, file_size, budget, err);
  if (!t)
    return -1;
  t->capacity = cap;
  t->grain_sectors = grain;
  t->gtes_per_gt = SES_GTES;
  t->gte_size = 8;
  t->n_gd = n_gd;
  t->data_start = gr_off * SECTOR;
  t->grains_base = gr_off * SECTOR;
  if (alloc_gd (t, err) == -1 || !(raw = malloc (n_gd * 8))) {
    vx_oom (err, "seSparse grain directory");
    goto fail;
  }
  if (vx_pread_full (e->fd, e->path, raw, n_gd * 8, gd_off * SECTOR,
                     "seSparse grain directory", err) == -1)
    goto fail;
  for (uint64_t i = 0; i < n_gd; i++) {
    uint64_t v = le64 (raw + 8 * i), idx = v & 0xffffffffu;
    if (v == 0)
      continue;
    if ((v >> 32) != 0x10000000u || idx >= gts_size / gt_size) {
      vx_err (err, VMDK_ERR_BOUNDS,
              "%s: seSparse grain directory entry %" PRIu64 " (%#" PRIx64
              ") is invalid or points outside the grain-table area", e->path, i, v);
      goto fail;
    }
    t->gd[i] = (gts_off + idx * gt_size) * SECTOR;
  }
  free (raw);
  e->gt = t;
  e->valid_sectors = cap;
  e->info.version = 2;
  e->info.grain_sectors = grain;
  e->info.gtes_per_gt = SES_GTES;
  e->info.gd_offset = gd_off;
  e->info.gd_entries = n_gd;
  e->info.zeroed_gte = true;
  return 0;
 fail:
  free (raw);
  vx_gtab_free (t);
  return -1;
}

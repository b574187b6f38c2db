/* vixmount LVM: a volume group from its metadata text (see lvm.h).
 *
 *   VGNAME {
 *     id = "UUID"  seqno = N  extent_size = SECTORS  status = [...]
 *     physical_volumes { pv0 { id = "UUID" device = "/dev/.."
 *                              pe_start = SECTORS pe_count = N flags = [..] } }
 *     logical_volumes { LV { id = "UUID" status = [..] segment_count = N
 *       segment1 { start_extent = N extent_count = N type = "striped"
 *                  stripe_count = N [stripe_size = SECTORS]
 *                  stripes = [ "pv0", PE, ... ] } ... } }
 *   }
 *   contents = "Text Format Volume Group" ...
 *
 * mirror segments list their legs as mirrors = [ "LV", LE, ... ], raid ones
 * as raids = [ "rmeta", "rimage", ... ]; thin, cache and snapshot segments
 * name other LVs (thin_pool, origin, cow_store, cache_pool).  Everything a
 * later step relies on is checked here: names, UUIDs, counts, that segments
 * are contiguous, that every area exists and that its extents lie inside
 * its PV or LV.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvm.h"

#define MAX_PVS   4096
#define MAX_LVS   16384
#define MAX_SEGS  65536       /* per LV */

struct vgp {
  char *err;
  size_t errlen;
};

static int __attribute__ ((format (printf, 3, 4)))
bad (struct vgp *c, const struct vx_lvm_node *where, const char *fmt, ...)
{
  va_list ap;
  int n = 0;

  if (c->err && c->errlen) {
    if (where)
      n = snprintf (c->err, c->errlen, "metadata line %u: ", where->line);
    if (n >= 0 && (size_t) n < c->errlen) {
      va_start (ap, fmt);
      vsnprintf (c->err + n, c->errlen - n, fmt, ap);
      va_end (ap);
    }
  }
  return -1;
}

bool
vx_lvm_name_ok (const char *name)
{
  size_t i, n = strlen (name);

  if (n == 0 || n > 127 || name[0] == '-' || !strcmp (name, ".") || !strcmp (name, ".."))
    return false;
  for (i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch >= '0' && ch <= '9') || ch == '+' || ch == '_' || ch == '.' || ch == '-'))
      return false;
  }
  return true;
}

/* ---- typed look-ups ------------------------------------------------------ */

static int
get_u64 (struct vgp *c, const struct vx_lvm_node *sec, const char *key,
         bool required, uint64_t def, uint64_t *out)
{
  const struct vx_lvm_node *n = vx_lvm_config_get (sec, key);

  if (!n) {
    if (required)
      return bad (c, sec, "%s: no %s", sec->key, key);
    *out = def;
    return 0;
  }
  if (n->section || n->array || n->nv != 1 || n->v[0].type != VX_LVM_INT
      || n->v[0].i < 0)
    return bad (c, n, "%s: %s must be a non-negative integer", sec->key, key);
  *out = (uint64_t) n->v[0].i;
  return 0;
}

/* A string value (borrowed), or NULL when missing (an error if required). */
static int
get_str (struct vgp *c, const struct vx_lvm_node *sec, const char *key,
         bool required, const char **out)
{
  const struct vx_lvm_node *n = vx_lvm_config_get (sec, key);

  *out = NULL;
  if (!n)
    return required ? bad (c, sec, "%s: no %s", sec->key, key) : 0;
  if (n->section || n->array || n->nv != 1 || n->v[0].type != VX_LVM_STR)
    return bad (c, n, "%s: %s must be a string", sec->key, key);
  *out = n->v[0].s;
  return 0;
}

static int
get_uuid (struct vgp *c, const struct vx_lvm_node *sec, char out[VX_LVM_UUID_LEN + 1])
{
  const char *s;
  size_t i, k = 0;

  if (get_str (c, sec, "id", true, &s) < 0)
    return -1;
  /* 32 UUID characters; lvm2 writes them with dashes */
  for (i = 0; s[i]; i++) {
    if (s[i] == '-')
      continue;
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
          (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '!' || s[i] == '#'))
      break;
    k++;
  }
  if (s[i] || k != 32 || strlen (s) > VX_LVM_UUID_LEN)
    return bad (c, vx_lvm_config_get (sec, "id"), "%s: invalid id \"%.64s\"", sec->key, s);
  /* shown as lvs does: 6-4-4-4-4-4-6 */
  {
    static const int groups[] = { 6, 4, 4, 4, 4, 4, 6 };
    size_t g, o = 0, j = 0;
    for (g = 0; g < 7; g++) {
      int m;
      if (g)
        out[o++] = '-';
      for (m = 0; m < groups[g]; m++) {
        while (s[j] == '-')
          j++;
        out[o++] = s[j++];
      }
    }
    out[o] = '\0';
  }
  return 0;
}

/* Whether the string array KEY of SEC holds WORD. */
static bool
has_flag (const struct vx_lvm_node *sec, const char *key, const char *word)
{
  const struct vx_lvm_node *n = vx_lvm_config_get (sec, key);
  size_t i;

  if (!n || n->section)
    return false;
  for (i = 0; i < n->nv; i++)
    if (n->v[i].type == VX_LVM_STR && strcmp (n->v[i].s, word) == 0)
      return true;
  return false;
}

static char *
dup_or_fail (struct vgp *c, const char *s)
{
  char *d = strdup (s);
  if (!d)
    bad (c, NULL, "out of memory");
  return d;
}

/* ---- freeing --------------------------------------------------------------- */

static void
seg_clear (struct vx_lvm_seg *s)
{
  size_t i;

  for (i = 0; i < s->narea; i++)
    free (s->area[i].name);
  free (s->area);
  free (s->type);
  free (s->origin);
  free (s->cow_store);
}

void
vx_lvm_vg_free (struct vx_lvm_vg *vg)
{
  size_t i, j;

  if (!vg)
    return;
  for (i = 0; i < vg->npv; i++) {
    free (vg->pv[i].name);
    free (vg->pv[i].device);
  }
  free (vg->pv);
  for (i = 0; i < vg->nlv; i++) {
    for (j = 0; j < vg->lv[i].nseg; j++)
      seg_clear (&vg->lv[i].seg[j]);
    free (vg->lv[i].seg);
    free (vg->lv[i].name);
  }
  free (vg->lv);
  free (vg->name);
  free (vg);
}

/* ---- physical volumes ---------------------------------------------------- */

static int
read_pvs (struct vgp *c, struct vx_lvm_vg *vg, const struct vx_lvm_node *pvs)
{
  const struct vx_lvm_node *n;
  size_t count = 0, i;

  if (!pvs || !pvs->section)
    return bad (c, pvs, "VG %s: no physical_volumes section", vg->name);
  for (n = pvs->child; n; n = n->next)
    if (n->section)
      count++;
  if (count == 0 || count > MAX_PVS)
    return bad (c, pvs, "VG %s: %zu physical volumes (1 to %d are possible)",
                vg->name, count, MAX_PVS);
  vg->pv = calloc (count, sizeof *vg->pv);
  if (!vg->pv)
    return bad (c, NULL, "out of memory");
  for (n = pvs->child; n; n = n->next) {
    struct vx_lvm_pv *pv;
    const char *dev;

    if (!n->section)
      continue;
    pv = &vg->pv[vg->npv++];
    if (!vx_lvm_name_ok (n->key))
      return bad (c, n, "VG %s: invalid PV name", vg->name);
    if (!(pv->name = dup_or_fail (c, n->key)))
      return -1;
    if (get_uuid (c, n, pv->uuid) < 0
        || get_u64 (c, n, "pe_start", true, 0, &pv->pe_start) < 0
        || get_u64 (c, n, "pe_count", true, 0, &pv->pe_count) < 0
        || get_str (c, n, "device", false, &dev) < 0)
      return -1;
    if (dev && !(pv->device = dup_or_fail (c, dev)))
      return -1;
    pv->missing = has_flag (n, "flags", "MISSING") || has_flag (n, "status", "MISSING");
    for (i = 0; i + 1 < vg->npv; i++)
      if (!strcmp (vg->pv[i].name, pv->name) || !strcmp (vg->pv[i].uuid, pv->uuid))
        return bad (c, n, "VG %s: PV %s appears twice", vg->name, pv->name);
  }
  return 0;
}

static int
find_pv (const struct vx_lvm_vg *vg, const char *name)
{
  size_t i;

  for (i = 0; i < vg->npv; i++)
    if (!strcmp (vg->pv[i].name, name))
      return (int) i;
  return -1;
}

static int
find_lv (const struct vx_lvm_vg *vg, const char *name)
{
  size_t i;

  for (i = 0; i < vg->nlv; i++)
    if (!strcmp (vg->lv[i].name, name))
      return (int) i;
  return -1;
}

/* ---- segments ------------------------------------------------------------- */

/* The areas of S from the array KEY: pairs ("NAME", EXTENT) when PAIRS,
 * else names only, of which every STEP-th from FIRST is kept (raid: the
 * rimage of each rmeta/rimage pair). */
static int
read_areas (struct vgp *c, const struct vx_lvm_node *sn, struct vx_lvm_seg *s,
            const char *key, bool pairs, size_t first, size_t step)
{
  const struct vx_lvm_node *a = vx_lvm_config_get (sn, key);
  size_t per = pairs ? 2 : 1, i, k;

  if (!a || a->section || !a->array || a->nv == 0 || a->nv % (per * step) != 0)
    return bad (c, a ? a : sn, "%s: %s must be a list of %s", sn->key, key,
                pairs ? "\"name\", extent pairs" : "names");
  s->narea = a->nv / (per * step);
  s->area = calloc (s->narea, sizeof *s->area);
  if (!s->area)
    return bad (c, NULL, "out of memory");
  for (i = 0, k = first * per; i < s->narea; i++, k += per * step) {
    struct vx_lvm_area *ar = &s->area[i];
    ar->pv = ar->lv = -1;
    if (a->v[k].type != VX_LVM_STR || !vx_lvm_name_ok (a->v[k].s))
      return bad (c, a, "%s: %s: area %zu has no valid name", sn->key, key, i);
    if (!(ar->name = dup_or_fail (c, a->v[k].s)))
      return -1;
    if (pairs) {
      if (a->v[k + 1].type != VX_LVM_INT || a->v[k + 1].i < 0)
        return bad (c, a, "%s: %s: area %zu has no valid extent", sn->key, key, i);
      ar->start = (uint64_t) a->v[k + 1].i;
    }
  }
  return 0;
}

static int
read_segment (struct vgp *c, const struct vx_lvm_vg *vg, const struct vx_lvm_node *sn,
              struct vx_lvm_seg *s)
{
  const char *type, *origin, *cow;
  uint64_t n;

  if (get_u64 (c, sn, "start_extent", true, 0, &s->start_extent) < 0
      || get_u64 (c, sn, "extent_count", true, 0, &s->extent_count) < 0
      || get_str (c, sn, "type", false, &type) < 0)
    return -1;
  if (s->extent_count == 0)
    return bad (c, sn, "%s: extent_count is 0", sn->key);
  if (!type)
    type = "striped";           /* lvm2's default */
  if (strlen (type) > 64 || !vx_lvm_name_ok (type))
    return bad (c, sn, "%s: invalid segment type", sn->key);
  if (!(s->type = dup_or_fail (c, type)))
    return -1;
  if (!strcmp (type, "striped") || !strcmp (type, "linear")) {
    if (get_u64 (c, sn, "stripe_count", !strcmp (type, "striped"), 1, &n) < 0)
      return -1;
    if (n == 0 || n > VX_MAX_STRIPES)
      return bad (c, sn, "%s: stripe_count %" PRIu64 " (1 to %d are possible)",
                  sn->key, n, VX_MAX_STRIPES);
    s->stripe_count = (uint32_t) n;
    if (n > 1) {
      if (get_u64 (c, sn, "stripe_size", true, 0, &s->stripe_size) < 0)
        return -1;
      if (s->stripe_size == 0 || (s->stripe_size & (s->stripe_size - 1))
          || s->stripe_size > vg->extent_size)
        return bad (c, sn, "%s: stripe_size %" PRIu64 " is not a power of 2 "
                    "up to the extent size", sn->key, s->stripe_size);
      if (s->extent_count % n)
        return bad (c, sn, "%s: %" PRIu64 " extents do not divide into %" PRIu64
                    " stripes", sn->key, s->extent_count, n);
    }
    if (read_areas (c, sn, s, "stripes", true, 0, 1) < 0)
      return -1;
    if (s->narea != n)
      return bad (c, sn, "%s: stripe_count %" PRIu64 " but %zu stripes listed",
                  sn->key, n, s->narea);
  }
  else if (!strcmp (type, "mirror")) {
    if (get_u64 (c, sn, "mirror_count", true, 0, &n) < 0
        || read_areas (c, sn, s, "mirrors", true, 0, 1) < 0)
      return -1;
    if (n != s->narea || n == 0 || n > 32)
      return bad (c, sn, "%s: mirror_count %" PRIu64 " but %zu mirrors listed",
                  sn->key, n, s->narea);
    s->stripe_count = (uint32_t) n;
  }
  else if (!strcmp (type, "raid1")) {
    if (get_u64 (c, sn, "device_count", true, 0, &n) < 0
        || read_areas (c, sn, s, "raids", false, 1, 2) < 0)
      return -1;
    if (n != s->narea || n == 0 || n > 64)
      return bad (c, sn, "%s: device_count %" PRIu64 " but %zu legs listed",
                  sn->key, n, s->narea);
    s->stripe_count = (uint32_t) n;
  }
  else if (!strcmp (type, "snapshot")) {
    if (get_str (c, sn, "origin", true, &origin) < 0
        || get_str (c, sn, "cow_store", true, &cow) < 0)
      return -1;
    if (!(s->origin = dup_or_fail (c, origin)) || !(s->cow_store = dup_or_fail (c, cow)))
      return -1;
  }
  /* anything else (thin, thin-pool, cache, raid5, vdo, ...) is kept by its
   * type only: map.c says it is not supported */
  return 0;
}

static int
cmp_seg (const void *a, const void *b)
{
  const struct vx_lvm_seg *x = a, *y = b;
  return (x->start_extent > y->start_extent) - (x->start_extent < y->start_extent);
}

static int
read_lv (struct vgp *c, struct vx_lvm_vg *vg, const struct vx_lvm_node *ln,
         struct vx_lvm_lv *lv)
{
  uint64_t count, pos = 0;
  size_t i;

  if (!vx_lvm_name_ok (ln->key))
    return bad (c, ln, "VG %s: invalid LV name", vg->name);
  if (!(lv->name = dup_or_fail (c, ln->key)))
    return -1;
  if (get_uuid (c, ln, lv->uuid) < 0
      || get_u64 (c, ln, "segment_count", true, 0, &count) < 0)
    return -1;
  lv->visible = has_flag (ln, "status", "VISIBLE");
  lv->rebuild = has_flag (ln, "status", "LV_REBUILD");
  if (count == 0 || count > MAX_SEGS)
    return bad (c, ln, "LV %s: segment_count %" PRIu64 " (1 to %d are possible)",
                lv->name, count, MAX_SEGS);
  lv->seg = calloc (count, sizeof *lv->seg);
  if (!lv->seg)
    return bad (c, NULL, "out of memory");
  for (i = 0; i < count; i++) {
    char key[32];
    const struct vx_lvm_node *sn;

    snprintf (key, sizeof key, "segment%zu", i + 1);
    sn = vx_lvm_config_get (ln, key);
    if (!sn || !sn->section)
      return bad (c, ln, "LV %s: no section %s (segment_count %" PRIu64 ")",
                  lv->name, key, count);
    lv->nseg++;
    if (read_segment (c, vg, sn, &lv->seg[i]) < 0)
      return -1;
  }
  qsort (lv->seg, lv->nseg, sizeof *lv->seg, cmp_seg);
  for (i = 0; i < lv->nseg; i++) {
    if (lv->seg[i].start_extent != pos)
      return bad (c, ln, "LV %s: segments are not contiguous at extent %" PRIu64,
                  lv->name, pos);
    if (__builtin_add_overflow (pos, lv->seg[i].extent_count, &pos))
      return bad (c, ln, "LV %s: too many extents", lv->name);
  }
  lv->extents = pos;
  return 0;
}

/* Every area names a PV or LV of the VG, and its extents lie inside it. */
static int
link_areas (struct vgp *c, struct vx_lvm_vg *vg)
{
  size_t i, j, k;

  for (i = 0; i < vg->nlv; i++)
    for (j = 0; j < vg->lv[i].nseg; j++) {
      struct vx_lvm_seg *s = &vg->lv[i].seg[j];
      uint64_t len = s->extent_count, end;
      bool striped = !strcmp (s->type, "striped") || !strcmp (s->type, "linear");

      if (striped)
        len /= s->stripe_count;
      for (k = 0; k < s->narea; k++) {
        struct vx_lvm_area *a = &s->area[k];
        uint64_t limit;

        a->pv = find_pv (vg, a->name);
        a->lv = a->pv < 0 ? find_lv (vg, a->name) : -1;
        if (a->pv < 0 && a->lv < 0)
          return bad (c, NULL, "LV %s: segment %zu names %s, which is neither a "
                      "PV nor an LV of VG %s", vg->lv[i].name, j + 1, a->name, vg->name);
        if (a->lv == (int) i)
          return bad (c, NULL, "LV %s: segment %zu refers to the LV itself",
                      vg->lv[i].name, j + 1);
        if (!striped && a->pv >= 0)
          return bad (c, NULL, "LV %s: %s segment %zu has PV %s as a leg",
                      vg->lv[i].name, s->type, j + 1, a->name);
        limit = a->pv >= 0 ? vg->pv[a->pv].pe_count : vg->lv[a->lv].extents;
        if (__builtin_add_overflow (a->start, len, &end) || end > limit)
          return bad (c, NULL, "LV %s: segment %zu: extents %" PRIu64 "-%" PRIu64
                      " of %s lie beyond its %" PRIu64 " extents", vg->lv[i].name,
                      j + 1, a->start, a->start + len - 1, a->name, limit);
      }
    }
  return 0;
}

struct vx_lvm_vg *
vx_lvm_vg_parse (const char *text, size_t len, char *err, size_t errlen)
{
  struct vgp c = { .err = err, .errlen = errlen };
  struct vx_lvm_node *root;
  const struct vx_lvm_node *vn, *n, *lvs;
  struct vx_lvm_vg *vg = NULL;
  size_t count = 0, i;

  root = vx_lvm_config_parse (text, len, err, errlen);
  if (!root)
    return NULL;
  for (vn = root->child; vn && !vn->section; vn = vn->next)
    ;
  if (!vn) {
    bad (&c, NULL, "no volume group section in the metadata");
    goto err;
  }
  vg = calloc (1, sizeof *vg);
  if (!vg) {
    bad (&c, NULL, "out of memory");
    goto err;
  }
  if (!vx_lvm_name_ok (vn->key)) {
    bad (&c, vn, "invalid VG name");
    goto err;
  }
  if (!(vg->name = dup_or_fail (&c, vn->key))
      || get_uuid (&c, vn, vg->uuid) < 0
      || get_u64 (&c, vn, "seqno", true, 0, &vg->seqno) < 0
      || get_u64 (&c, vn, "extent_size", true, 0, &vg->extent_size) < 0)
    goto err;
  /* lvm2: a power of 2 from 1 sector; larger than 2^32 sectors is absurd */
  if (vg->extent_size == 0 || vg->extent_size > (1ull << 32)
      || (vg->extent_size & (vg->extent_size - 1))) {
    bad (&c, vn, "VG %s: extent_size %" PRIu64 " is not a power of 2 up to 2^32 "
         "sectors", vg->name, vg->extent_size);
    goto err;
  }
  if (read_pvs (&c, vg, vx_lvm_config_get (vn, "physical_volumes")) < 0)
    goto err;
  lvs = vx_lvm_config_get (vn, "logical_volumes");
  if (lvs && lvs->section) {
    for (n = lvs->child; n; n = n->next)
      if (n->section)
        count++;
    if (count > MAX_LVS) {
      bad (&c, lvs, "VG %s: %zu logical volumes (limit %d)", vg->name, count, MAX_LVS);
      goto err;
    }
    vg->lv = calloc (count ? count : 1, sizeof *vg->lv);
    if (!vg->lv) {
      bad (&c, NULL, "out of memory");
      goto err;
    }
    for (n = lvs->child; n; n = n->next) {
      if (!n->section)
        continue;
      vg->nlv++;
      if (read_lv (&c, vg, n, &vg->lv[vg->nlv - 1]) < 0)
        goto err;
      for (i = 0; i + 1 < vg->nlv; i++)
        if (!strcmp (vg->lv[i].name, n->key)) {
          bad (&c, n, "VG %s: LV %s appears twice", vg->name, n->key);
          goto err;
        }
    }
  }
  if (link_areas (&c, vg) < 0)
    goto err;
  vx_lvm_config_free (root);
  return vg;

 err:
  vx_lvm_vg_free (vg);
  vx_lvm_config_free (root);
  return NULL;
}

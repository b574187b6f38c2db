/* vixmount LVM: the volume groups of a disk set (see lvm.h).
 *
 * Every PV discovery found is read (label, metadata); each metadata copy
 * that reads and parses is a candidate for its VG (by UUID), and the one
 * with the highest seqno wins, as in lvm2.  Then each VG's PVs are looked
 * for among the labels by UUID; a PV UUID seen twice (a cloned disk in the
 * same set) is used where it is seen first.  Nothing fails the whole scan
 * but running out of memory: damage is told in notes and warnings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvm.h"

struct scan {
  const struct vx_lvm_pvloc *loc;
  size_t n;
  struct vx_lvm_label *lab;
  int *state;                /* per loc: 0 label read, -1 none, 1 duplicate */
  struct vx_lvm_set *set;
  bool oom;
};

static void __attribute__ ((format (printf, 3, 4)))
warn (struct scan *sc, size_t loc, const char *fmt, ...)
{
  struct vx_lvm_set *set = sc->set;
  struct vx_lvm_msg *w;
  va_list ap;
  char *t;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&t, fmt, ap);
  va_end (ap);
  if (r < 0) {
    sc->oom = true;
    return;
  }
  w = reallocarray (set->warn, set->nwarn + 1, sizeof *w);
  if (!w) {
    free (t);
    sc->oom = true;
    return;
  }
  set->warn = w;
  w[set->nwarn].loc = loc;
  w[set->nwarn++].text = t;
}

static void __attribute__ ((format (printf, 3, 4)))
note (struct scan *sc, size_t loc, const char *fmt, ...)
{
  va_list ap;
  char *t;

  va_start (ap, fmt);
  if (vasprintf (&t, fmt, ap) < 0) {
    t = NULL;
    sc->oom = true;
  }
  va_end (ap);
  free (sc->set->pv_note[loc]);
  sc->set->pv_note[loc] = t;
}

static int
add_vg (struct scan *sc, struct vx_lvm_vg *vg)
{
  struct vx_lvm_set *set = sc->set;
  struct vx_lvm_vg **v;
  size_t i;

  for (i = 0; i < set->nvg; i++)
    if (!strcmp (set->vg[i]->uuid, vg->uuid)) {
      if (vg->seqno > set->vg[i]->seqno) {
        vx_lvm_vg_free (set->vg[i]);
        set->vg[i] = vg;
      }
      else
        vx_lvm_vg_free (vg);
      return 0;
    }
  v = reallocarray (set->vg, set->nvg + 1, sizeof *v);
  if (!v) {
    vx_lvm_vg_free (vg);
    sc->oom = true;
    return -1;
  }
  set->vg = v;
  set->vg[set->nvg++] = vg;
  return 0;
}

static int
cmp_vg (const void *a, const void *b)
{
  const struct vx_lvm_vg *x = *(struct vx_lvm_vg *const *) a;
  const struct vx_lvm_vg *y = *(struct vx_lvm_vg *const *) b;
  int c = strcmp (x->name, y->name);

  return c ? c : strcmp (x->uuid, y->uuid);
}

void
vx_lvm_set_clear (struct vx_lvm_set *set, size_t nloc)
{
  size_t i;

  for (i = 0; i < set->nvg; i++)
    vx_lvm_vg_free (set->vg[i]);
  free (set->vg);
  for (i = 0; set->pv_note && i < nloc; i++)
    free (set->pv_note[i]);
  free (set->pv_note);
  for (i = 0; i < set->nwarn; i++)
    free (set->warn[i].text);
  free (set->warn);
  memset (set, 0, sizeof *set);
}

int
vx_lvm_scan (const struct vx_lvm_pvloc *loc, size_t n, struct vx_lvm_set *set)
{
  struct scan sc = { .loc = loc, .n = n, .set = set };
  char err[512];
  size_t i, j, k;

  memset (set, 0, sizeof *set);
  set->pv_note = calloc (n ? n : 1, sizeof *set->pv_note);
  sc.lab = calloc (n ? n : 1, sizeof *sc.lab);
  sc.state = calloc (n ? n : 1, sizeof *sc.state);
  if (!set->pv_note || !sc.lab || !sc.state) {
    sc.oom = true;
    goto out;
  }

  /* 1. labels and metadata texts */
  for (i = 0; i < n; i++) {
    int r = vx_lvm_read_label (loc[i].fd, loc[i].offset, loc[i].size, &sc.lab[i],
                               err, sizeof err);
    sc.state[i] = r == 0 ? 0 : -1;
    if (r == 1) {
      note (&sc, i, "LVM physical volume without an LVM2 label");
      warn (&sc, i, "no LVM2 label found where libblkid saw a PV");
      continue;
    }
    if (r < 0) {
      note (&sc, i, "LVM physical volume whose label cannot be used: %s", err);
      warn (&sc, i, "%s", err);
      continue;
    }
    for (j = 0; j < i; j++)
      if (sc.state[j] == 0 && !strcmp (sc.lab[j].pv_uuid, sc.lab[i].pv_uuid))
        break;
    if (j < i) {
      sc.state[i] = 1;
      note (&sc, i, "LVM physical volume %s: a duplicate of one on disk %u "
            "(ignored)", sc.lab[i].pv_uuid, loc[j].disk);
      warn (&sc, i, "PV %s is also on disk %u (a cloned disk?): this copy is "
            "ignored", sc.lab[i].pv_uuid, loc[j].disk);
      continue;
    }
    if (sc.lab[i].mda_error)
      warn (&sc, i, "LVM PV %s: %s", sc.lab[i].pv_uuid, sc.lab[i].mda_error);
  }

  /* 2. volume groups from the texts, the newest copy of each */
  for (i = 0; i < n && !sc.oom; i++) {
    struct vx_lvm_vg *vg;

    if (sc.state[i] != 0 || !sc.lab[i].text)
      continue;
    vg = vx_lvm_vg_parse (sc.lab[i].text, sc.lab[i].text_len, err, sizeof err);
    if (!vg) {
      warn (&sc, i, "LVM PV %s: its metadata cannot be used: %s",
            sc.lab[i].pv_uuid, err);
      note (&sc, i, "LVM physical volume whose metadata cannot be used: %s", err);
      continue;
    }
    add_vg (&sc, vg);
  }
  if (sc.oom)
    goto out;
  if (set->nvg > 1)
    qsort (set->vg, set->nvg, sizeof *set->vg, cmp_vg);

  /* 3. where each VG's PVs are */
  for (k = 0; k < set->nvg; k++) {
    struct vx_lvm_vg *vg = set->vg[k];
    for (j = 0; j < vg->npv; j++) {
      struct vx_lvm_pv *pv = &vg->pv[j];
      for (i = 0; i < n; i++)
        if (sc.state[i] == 0 && !strcmp (sc.lab[i].pv_uuid, pv->uuid))
          break;
      if (i == n) {
        warn (&sc, (size_t) -1, "VG %s: PV %s (%s%s%s) is not in the disk set",
              vg->name, pv->uuid, pv->name, pv->device ? ", last seen as " : "",
              pv->device ? pv->device : "");
        continue;
      }
      pv->found = true;
      pv->disk = loc[i].disk;
      pv->offset = loc[i].offset;
      pv->size = loc[i].size;
      if (sc.lab[i].mda_error)
        note (&sc, i, "LVM physical volume of VG %s (a metadata area is damaged: %s)",
              vg->name, sc.lab[i].mda_error);
      else
        note (&sc, i, "LVM physical volume of VG %s", vg->name);
    }
  }
  /* 4. PVs no VG claims */
  for (i = 0; i < n; i++) {
    if (sc.state[i] != 0 || set->pv_note[i])
      continue;
    if (sc.lab[i].mda_error) {
      note (&sc, i, "LVM physical volume whose metadata cannot be read: %s",
            sc.lab[i].mda_error);
    }
    else
      note (&sc, i, "LVM physical volume (not in a volume group of this set)");
  }
  for (k = 0; k + 1 < set->nvg; k++)
    if (!strcmp (set->vg[k]->name, set->vg[k + 1]->name))
      warn (&sc, (size_t) -1, "two volume groups are named %s (UUIDs %s and %s)",
            set->vg[k]->name, set->vg[k]->uuid, set->vg[k + 1]->uuid);

 out:
  for (i = 0; sc.lab && i < n; i++)
    vx_lvm_label_clear (&sc.lab[i]);
  free (sc.lab);
  free (sc.state);
  if (sc.oom) {
    vx_lvm_set_clear (set, n);
    return -1;
  }
  return 0;
}

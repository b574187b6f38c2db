/* vixmount helpers: segments as text, and the volume map (see segtext.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "segtext.h"

size_t
vx_split_words (char *line, char **w, size_t max)
{
  size_t n = 0;
  char *save = NULL, *t;

  for (t = strtok_r (line, " \t", &save); t; t = strtok_r (NULL, " \t", &save)) {
    if (n == max)
      return max + 1;
    w[n++] = t;
  }
  return n;
}

char **
vx_all_words (char *line, size_t *n)
{
  size_t max = strlen (line) / 2 + 2;
  char **w = malloc (max * sizeof *w);

  if (w)
    *n = vx_split_words (line, w, max);
  return w;
}

/* One number word; sets *why on failure. */
static int
number (const char *w, uint64_t *v, const char **why)
{
  if (vx_parse_u64 (w, v) == 0)
    return 0;
  *why = errno == ERANGE ? "a number out of range (more than 2^64 - 1)"
    : "LENGTH, N, CHUNK and OFFSET must be unsigned numbers (decimal or 0x hex)";
  return -1;
}

/* BASE's disk for a word; *why set on failure (out of memory if BASE
 * left it NULL). */
static int
disk_of (vx_base_fn *base, void *opaque, const char *w, unsigned *disk,
         const char **why)
{
  long b = base (opaque, w, why);

  if (b < 0) {
    if (!*why)
      *why = "out of memory";
    return -1;
  }
  *disk = (unsigned) b;
  return 0;
}

int
vx_pieces_parse (char *const *w, size_t n, size_t max_pieces,
                 vx_base_fn *base, void *opaque, size_t ndisks,
                 const char *usage, struct vx_segment **segp, size_t *nsegp,
                 const char **why)
{
  struct vx_segment *seg = NULL;
  size_t nseg = 0, i = 0;
  uint64_t pos = 0, size;

  *why = NULL;
  if (n == 0) {
    *why = usage;
    return -1;
  }
  while (i < n) {
    struct vx_segment *s, *ns;
    uint64_t k, nst = 0;
    bool striped = strcmp (w[i], "striped") == 0;

    if (!striped && strcmp (w[i], "linear") != 0) {
      *why = "a piece starts with \"linear\" or \"striped\"";
      goto bad;
    }
    if (nseg == max_pieces) {
      *why = "too many pieces";
      goto bad;
    }
    ns = realloc (seg, (nseg + 1) * sizeof *ns);
    if (!ns) {
      *why = "out of memory";
      goto bad;
    }
    seg = ns;
    s = &seg[nseg++];
    memset (s, 0, sizeof *s);
    s->start = pos;
    if (!striped) {
      if (n - i < 4) {
        *why = usage;
        goto bad;
      }
      if (number (w[i + 1], &s->length, why) < 0 || number (w[i + 3], &s->offset, why) < 0
          || disk_of (base, opaque, w[i + 2], &s->disk, why) < 0)
        goto bad;
      i += 4;
    }
    else {
      if (n - i < 4) {
        *why = usage;
        goto bad;
      }
      if (number (w[i + 2], &nst, why) < 0)
        goto bad;
      if (nst < 2 || nst > VX_MAX_STRIPES) {
        *why = "a striped piece has 2 to 128 stripes";
        goto bad;
      }
      if (n - i < 4 + 2 * nst) {
        *why = usage;
        goto bad;
      }
      if (number (w[i + 1], &s->length, why) < 0 || number (w[i + 3], &s->stripe_size, why) < 0)
        goto bad;
      s->nstripes = (unsigned) nst;
      s->stripe = calloc (nst, sizeof *s->stripe);
      if (!s->stripe) {
        *why = "out of memory";
        goto bad;
      }
      for (k = 0; k < nst; k++)
        if (disk_of (base, opaque, w[i + 4 + 2 * k], &s->stripe[k].disk, why) < 0
            || number (w[i + 5 + 2 * k], &s->stripe[k].offset, why) < 0)
          goto bad;
      i += 4 + 2 * nst;
    }
    if (__builtin_add_overflow (pos, s->length, &pos)) {
      *why = "the volume would be larger than 2^64 - 1 bytes";
      goto bad;
    }
  }
  if (vx_segments_check (seg, nseg, ndisks, NULL, &size, why) < 0)
    goto bad;
  *segp = seg;
  *nsegp = nseg;
  return 0;

 bad:
  vx_segments_free (seg, nseg);
  return -1;
}

void
vx_pieces_print (FILE *f, const struct vx_segment *seg, size_t n,
                 const char *prefix)
{
  size_t i, k;

  for (i = 0; i < n; i++) {
    const struct vx_segment *s = &seg[i];
    if (s->nstripes == 0) {
      fprintf (f, " linear %" PRIu64 " %s%u %" PRIu64, s->length, prefix, s->disk,
               s->offset);
      continue;
    }
    fprintf (f, " striped %" PRIu64 " %u %" PRIu64, s->length, s->nstripes,
             s->stripe_size);
    for (k = 0; k < s->nstripes; k++)
      fprintf (f, " %s%u %" PRIu64, prefix, s->stripe[k].disk, s->stripe[k].offset);
  }
}

/* ---- the volume map --------------------------------------------------------- */

void
vx_volmap_free (struct vx_volmap *map)
{
  size_t i;

  for (i = 0; i < map->n; i++) {
    free (map->vol[i].name);
    free (map->vol[i].description);
    vx_segments_free (map->vol[i].seg, map->vol[i].nseg);
  }
  free (map->vol);
  map->vol = NULL;
  map->n = 0;
}

/* A disk index word: decimal, no sign, no leading zero, below the count. */
static long
disk_index (void *opaque, const char *w, const char **why)
{
  size_t ndisks = *(const size_t *) opaque;
  uint64_t v = 0;
  const char *p;

  for (p = w; *p; p++) {
    if (*p < '0' || *p > '9' || (p == w && *p == '0' && p[1] != '\0')) {
      *why = "a disk is given by its index: 0, 1, ...";
      return -1;
    }
    v = v * 10 + (uint64_t) (*p - '0');
    if (v >= ndisks)
      break;
  }
  if (v >= ndisks) {
    *why = "a piece on a disk index that is not in the set (too few file= disks)";
    return -1;
  }
  return (long) v;
}

static const char *
name_problem (const char *name)
{
  size_t len = strlen (name);
  const unsigned char *p;

  if (len > VX_VOLMAP_MAX_NAME)
    return "name longer than 4096 bytes";
  for (p = (const unsigned char *) name; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return "name with a control character";
  return NULL;
}

struct range {
  unsigned disk;
  uint64_t off, len;
};

static int
range_cmp (const void *a, const void *b)
{
  const struct range *x = a, *y = b;

  if (x->disk != y->disk)
    return x->disk < y->disk ? -1 : 1;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Do two of the disk ranges the segments use overlap?  -1: out of memory. */
static int
overlapping (const struct vx_segment *seg, size_t n)
{
  struct range *r;
  size_t cnt = 0, i, k;
  int found = 0;

  for (i = 0; i < n; i++)
    cnt += seg[i].nstripes ? seg[i].nstripes : 1;
  r = calloc (cnt, sizeof *r);
  if (!r)
    return -1;
  cnt = 0;
  for (i = 0; i < n; i++) {
    if (seg[i].nstripes == 0) {
      r[cnt++] = (struct range) { seg[i].disk, seg[i].offset, seg[i].length };
      continue;
    }
    for (k = 0; k < seg[i].nstripes; k++)
      r[cnt++] = (struct range) { seg[i].stripe[k].disk, seg[i].stripe[k].offset,
                                  seg[i].length / seg[i].nstripes };
  }
  qsort (r, cnt, sizeof *r, range_cmp);
  for (i = 1; i < cnt; i++)
    if (r[i].disk == r[i - 1].disk && r[i].off - r[i - 1].off < r[i - 1].len)
      found = 1;
  free (r);
  return found;
}

/* Parses one line (modified) into MAP. */
static int
map_line (char *line, size_t ndisks, const uint64_t *disk_size,
          struct vx_volmap *map, const char **why)
{
  char *w[3], *rest;
  size_t n, i, nw = 0;
  struct vx_volmap_volume *v = NULL;
  char **all;
  int r;

  line += strspn (line, " \t");
  if (*line == '\0' || *line == '#')
    return 0;
  if (strncmp (line, "description", 11) == 0 && (line[11] == ' ' || line[11] == '\t')) {
    /* description NAME TEXT: TEXT is the rest of the line, as it is */
    rest = line + 11;
    rest += strspn (rest, " \t");
    n = strcspn (rest, " \t");
    if (n == 0) {
      *why = "usage: description NAME TEXT";
      return -1;
    }
    w[0] = rest;
    rest += n;
    if (*rest)
      *rest++ = '\0';
    rest += strspn (rest, " \t");
    for (i = 0; i < map->n; i++)
      if (strcmp (map->vol[i].name, w[0]) == 0)
        v = &map->vol[i];
    if (!v) {
      *why = "a description of a volume that no line before it defines";
      return -1;
    }
    if (v->description) {
      *why = "a second description of the same volume";
      return -1;
    }
    if (strlen (rest) > VX_VOLMAP_MAX_NAME) {
      *why = "description longer than 4096 bytes";
      return -1;
    }
    v->description = strdup (rest);
    if (!v->description) {
      *why = "out of memory";
      return -1;
    }
    return 0;
  }
  if (!(strncmp (line, "volume", 6) == 0 && (line[6] == ' ' || line[6] == '\t'))) {
    *why = "unknown line (expected volume, description or a # comment)";
    return -1;
  }
  all = vx_all_words (line, &nw);
  if (!all) {
    *why = "out of memory";
    return -1;
  }
  r = -1;
  if (nw < 3) {
    *why = "usage: volume NAME PIECE...";
    goto out;
  }
  if ((*why = name_problem (all[1])) != NULL)
    goto out;
  for (i = 0; i < map->n; i++)
    if (strcmp (map->vol[i].name, all[1]) == 0) {
      *why = "a second volume of the same name";
      goto out;
    }
  if (map->n == VX_VOLMAP_MAX_VOLUMES) {
    *why = "more than 65536 volumes";
    goto out;
  }
  v = realloc (map->vol, (map->n + 1) * sizeof *v);
  if (!v) {
    *why = "out of memory";
    goto out;
  }
  map->vol = v;
  v = &map->vol[map->n];
  memset (v, 0, sizeof *v);
  if (vx_pieces_parse (all + 2, nw - 2, VX_VOLMAP_MAX_PIECES, disk_index, &ndisks,
                       ndisks, "usage: volume NAME (linear LENGTH DISK OFFSET | "
                       "striped LENGTH N CHUNK DISK OFFSET...)...",
                       &v->seg, &v->nseg, why) < 0)
    goto out;
  if (vx_segments_check (v->seg, v->nseg, ndisks, disk_size, &v->size, why) < 0)
    goto free_seg;
  switch (overlapping (v->seg, v->nseg)) {
  case 0:
    break;
  case 1:
    *why = "two pieces of the volume overlap on a disk";
    goto free_seg;
  default:
    *why = "out of memory";
    goto free_seg;
  }
  v->name = strdup (all[1]);
  if (!v->name) {
    *why = "out of memory";
    goto free_seg;
  }
  map->n++;
  r = 0;
  goto out;

 free_seg:
  vx_segments_free (v->seg, v->nseg);
 out:
  free (all);
  return r;
}

int
vx_volmap_parse (const char *text, size_t len, size_t ndisks,
                 const uint64_t *disk_size, struct vx_volmap *map,
                 size_t *line, const char **why)
{
  size_t pos = 0;

  map->vol = NULL;
  map->n = 0;
  *line = 0;
  while (pos < len) {
    const char *nl = memchr (text + pos, '\n', len - pos);
    size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;
    char *copy;
    int r;

    ++*line;
    if (n > 0 && text[pos + n - 1] == '\r')
      n--;
    if (n > VX_VOLMAP_MAX_LINE) {
      *why = "line longer than 1 MiB";
      goto bad;
    }
    if (memchr (text + pos, '\0', n)) {
      *why = "a NUL byte in the line";
      goto bad;
    }
    copy = strndup (text + pos, n);
    if (!copy) {
      *why = "out of memory";
      goto bad;
    }
    r = map_line (copy, ndisks, disk_size, map, why);
    free (copy);
    if (r < 0)
      goto bad;
    pos += (nl ? (size_t) (nl - (text + pos)) + 1 : len - pos);
  }
  return 0;

 bad:
  vx_volmap_free (map);
  return -1;
}

void
vx_volmap_print (FILE *f, const char *name, const char *description,
                 const struct vx_segment *seg, size_t n)
{
  fprintf (f, "volume %s", name);
  vx_pieces_print (f, seg, n, "");
  fputc ('\n', f);
  if (description) {
    const unsigned char *p;

    fprintf (f, "description %s ", name);
    for (p = (const unsigned char *) description; *p; p++)
      fputc (*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
    fputc ('\n', f);
  }
}

/* tests/fuzz/fuzz-volmap: the volume map of the nbdkit plugin's volumes=
 * (common/utils/segtext.c), as the plugin reads it.  The input's first byte
 * chooses the set (1 to 4 disks of 1, 2, 4 or 8 MiB), the rest is the map
 * file.  A map that parses must hold what the format promises (names
 * unique and printable, volumes contiguous from 0 and inside the disks),
 * and written out with vx_volmap_print it must parse back to the same
 * volumes; a map that does not parse has a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "segtext.h"

static void
same_volumes (const struct vx_volmap *a, const struct vx_volmap *b)
{
  FUZZ_CHECK (a->n == b->n);
  for (size_t i = 0; i < a->n; i++) {
    const struct vx_volmap_volume *x = &a->vol[i], *y = &b->vol[i];
    FUZZ_CHECK (strcmp (x->name, y->name) == 0 && x->nseg == y->nseg && x->size == y->size);
    FUZZ_CHECK ((x->description == NULL) == (y->description == NULL));
    for (size_t k = 0; k < x->nseg; k++) {
      const struct vx_segment *s = &x->seg[k], *t = &y->seg[k];
      FUZZ_CHECK (s->start == t->start && s->length == t->length
                  && s->nstripes == t->nstripes);
      if (s->nstripes == 0)
        FUZZ_CHECK (s->disk == t->disk && s->offset == t->offset);
      else
        FUZZ_CHECK (s->stripe_size == t->stripe_size
                    && memcmp (s->stripe, t->stripe, s->nstripes * sizeof *s->stripe) == 0);
    }
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  uint64_t sizes[4];
  size_t ndisks, line;
  const char *why = NULL;
  struct vx_volmap map, back;
  char *out = NULL;
  size_t len = 0;
  FILE *f;

  if (size < 1)
    return 0;
  ndisks = (data[0] & 3) + 1;
  for (size_t i = 0; i < 4; i++)
    sizes[i] = (uint64_t) 1 << (20 + ((data[0] >> (2 + (i & 1) * 2)) & 3));
  if (vx_volmap_parse ((const char *) data + 1, size - 1, ndisks, sizes, &map,
                       &line, &why) == -1) {
    FUZZ_CHECK (why != NULL && why[0] != '\0' && fuzz_touch (why) > 0);
    FUZZ_CHECK (map.vol == NULL && map.n == 0);
    return 0;
  }
  f = open_memstream (&out, &len);
  FUZZ_CHECK (f != NULL);
  for (size_t i = 0; i < map.n; i++) {
    const struct vx_volmap_volume *v = &map.vol[i];
    uint64_t at = 0;

    FUZZ_CHECK (v->name[0] != '\0' && strpbrk (v->name, " \t\r\n") == NULL);
    for (size_t j = 0; j < i; j++)
      FUZZ_CHECK (strcmp (map.vol[j].name, v->name) != 0);
    FUZZ_CHECK (v->nseg > 0);
    for (size_t k = 0; k < v->nseg; k++) {
      const struct vx_segment *s = &v->seg[k];
      FUZZ_CHECK (s->start == at && s->length > 0);
      at += s->length;
      if (s->nstripes == 0)
        FUZZ_CHECK (s->disk < ndisks && s->offset + s->length <= sizes[s->disk]);
      for (unsigned j = 0; j < s->nstripes; j++)
        FUZZ_CHECK (s->stripe[j].disk < ndisks
                    && s->stripe[j].offset + s->length / s->nstripes <= sizes[s->stripe[j].disk]);
    }
    FUZZ_CHECK (at == v->size);
    fuzz_touch (v->description);
    vx_volmap_print (f, v->name, v->description, v->seg, v->nseg);
  }
  FUZZ_CHECK (fclose (f) == 0);
  FUZZ_CHECK (vx_volmap_parse (out, len, ndisks, sizes, &back, &line, &why) == 0);
  same_volumes (&map, &back);
  vx_volmap_free (&back);
  vx_volmap_free (&map);
  free (out);
  return 0;
}

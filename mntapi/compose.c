/* libvixMntapi: a volume of several segments (an LVM logical volume) as the
 * FUSE bridge's compose line (bridge/fuse/control.h): the volume model
 * (common/utils/segment.h) written out piece by piece, each on a disk file
 * of the bridge ("d0", "d1", ...). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

char *
vxm_compose_line (const struct vx_volume *v)
{
  char *line = NULL;
  size_t len = 0, i, k;
  FILE *f = open_memstream (&line, &len);

  if (!f)
    return NULL;
  fprintf (f, "compose %s", vx_volume_fname (v));
  for (i = 0; i < v->nseg; i++) {
    const struct vx_segment *s = &v->seg[i];
    if (s->nstripes == 0) {
      fprintf (f, " linear %" PRIu64 " d%u %" PRIu64, s->length, s->disk, s->offset);
      continue;
    }
    fprintf (f, " striped %" PRIu64 " %u %" PRIu64, s->length, s->nstripes,
             s->stripe_size);
    for (k = 0; k < s->nstripes; k++)
      fprintf (f, " d%u %" PRIu64, s->stripe[k].disk, s->stripe[k].offset);
  }
  fputc ('\n', f);
  if (fclose (f) != 0) {
    free (line);
    return NULL;
  }
  return line;
}

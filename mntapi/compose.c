/* libvixMntapi: a volume of several segments (an LVM logical volume) as the
 * FUSE bridge's compose line (bridge/fuse/control.h): the volume model
 * (common/utils/segment.h) written out piece by piece, each on a disk file
 * of the bridge ("d0", "d1", ...). */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "segtext.h"

char *
vxm_compose_line (const struct vx_volume *v)
{
  char *line = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&line, &len);

  if (!f)
    return NULL;
  fprintf (f, "compose %s", vx_volume_fname (v));
  vx_pieces_print (f, v->seg, v->nseg, "d");
  fputc ('\n', f);
  if (fclose (f) != 0) {
    free (line);
    return NULL;
  }
  return line;
}

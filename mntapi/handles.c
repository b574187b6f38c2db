/* libvixMntapi: the registry of open disk sets.  A handle a caller passes
 * is only dereferenced once it was found in the registry. */
#include <stddef.h>

#include "internal.h"

struct VixDiskSetHandleStruct *vxm_sets;

struct VixDiskSetHandleStruct *
vxm_find_set (const void *h)
{
  for (struct VixDiskSetHandleStruct *s = vxm_sets; s; s = s->next)
    if (s == h && s->magic == SET_MAGIC)
      return s;
  return NULL;
}

struct VixVolumeHandleStruct *
vxm_find_vol (const void *h)
{
  for (struct VixDiskSetHandleStruct *s = vxm_sets; s; s = s->next)
    if (s->vh && (const struct VixVolumeHandleStruct *) h >= s->vh
        && (const struct VixVolumeHandleStruct *) h < s->vh + s->nvols
        && ((const struct VixVolumeHandleStruct *) h)->magic == VOL_MAGIC)
      return (struct VixVolumeHandleStruct *) h;
  return NULL;
}

void
vxm_set_link (struct VixDiskSetHandleStruct *s)
{
  s->next = vxm_sets;
  vxm_sets = s;
}

void
vxm_set_unlink (struct VixDiskSetHandleStruct *s)
{
  for (struct VixDiskSetHandleStruct **pp = &vxm_sets; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      return;
    }
}

/* tests/fuzz/fuzz-discover: partition discovery (mntapi/discover,
 * vx_discover over libblkid): MBR with extended/logical chains, GPT
 * headers and entry arrays, filesystems inside them.  The input is the
 * whole disk, handed to discovery as a memory file.  What volume.h
 * promises is checked: names, one segment per partition, a reason for
 * every volume that cannot be mounted, mountable ones inside the disk,
 * at most 256 volumes. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "volume.h"

static void
check_volume (const struct vx_volume *v, uint64_t disk_size)
{
  FUZZ_CHECK (v->name != NULL && v->name[0] == 'd' && v->disk == 0);
  FUZZ_CHECK (v->nseg == 1 && v->seg != NULL && v->seg[0].disk == 0);
  FUZZ_CHECK (v->size == v->seg[0].length);
  FUZZ_CHECK (v->mountable ? v->why_not == NULL : v->why_not != NULL);
  if (v->mountable) {
    FUZZ_CHECK (vx_fstype_allowed (v->fstype));
    FUZZ_CHECK (v->seg[0].length > 0 && v->seg[0].offset <= disk_size
                && v->seg[0].length <= disk_size - v->seg[0].offset);
  }
  if (v->kind == VX_VOL_WHOLE_DISK)
    FUZZ_CHECK (v->partno == 0 && v->seg[0].offset == 0);
  else
    FUZZ_CHECK (v->partno > 0);
  const char *strings[] = { v->fstype, v->label, v->uuid, v->part_type,
                            v->part_uuid, v->part_name, v->why_not };
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
    fuzz_touch (strings[i]);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = fuzz_memfile (data, size);
  struct vx_volume *vols = NULL;
  size_t nvols = 0;
  char errbuf[4096] = "";

  if (vx_discover (&path, NULL, 1, &vols, &nvols, errbuf, sizeof errbuf) != 0) {
    FUZZ_CHECK (errbuf[0] != '\0' && vols == NULL);
    return 0;
  }
  FUZZ_CHECK (nvols <= 256);
  FUZZ_CHECK (nvols == 0 || vols != NULL);
  for (size_t i = 0; i < nvols; i++) {
    check_volume (&vols[i], size);
    if (i > 0)
      FUZZ_CHECK (vols[i - 1].partno <= vols[i].partno);
    for (size_t j = 0; j < i; j++)
      FUZZ_CHECK (strcmp (vols[i].name, vols[j].name) != 0);
  }
  vx_volumes_free (vols, nvols);
  return 0;
}

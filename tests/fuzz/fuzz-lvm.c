/* tests/fuzz/fuzz-lvm: LVM2 metadata text (mntapi/lvm: vx_lvm_vg_parse,
 * the config parser under it, and vx_lvm_lv_map) on text in memory.  Every
 * PV the text names is "found" on one of three disks, so that every LV's
 * map is composed; what the reader promises: a VG or an error message, and
 * every map it makes is a well-formed volume inside the disks
 * (vx_segments_check), or a reason why not. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lvm.h"
#include "segment.h"

#define DISK_SIZE (1ull << 40)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char err[512] = "";
  struct vx_lvm_vg *vg = vx_lvm_vg_parse ((const char *) data, size, err, sizeof err);
  uint64_t disk_size[3] = { DISK_SIZE, DISK_SIZE, DISK_SIZE };

  if (!vg) {
    FUZZ_CHECK (err[0] != '\0');
    return 0;
  }
  fuzz_touch (vg->name);
  for (size_t i = 0; i < vg->npv; i++) {
    struct vx_lvm_pv *pv = &vg->pv[i];
    fuzz_touch (pv->name);
    fuzz_touch (pv->device);
    pv->found = i % 4 != 3;             /* every fourth PV is missing */
    pv->disk = (unsigned) (i % 3);
    pv->offset = (uint64_t) (i / 3) << 20;
    pv->size = DISK_SIZE - pv->offset;
  }
  for (size_t i = 0; i < vg->nlv; i++) {
    struct vx_segment *seg = NULL;
    size_t nseg = 0;
    char *why = NULL;
    uint64_t vsize;
    const char *bad;
    int r;

    fuzz_touch (vg->lv[i].name);
    fuzz_touch (vx_lvm_lv_layout (vg, i));
    r = vx_lvm_lv_map (vg, i, &seg, &nseg, &why);
    FUZZ_CHECK (r >= -1 && r <= 2);
    if (r == 0) {
      FUZZ_CHECK (why == NULL);
      FUZZ_CHECK (vx_segments_check (seg, nseg, 3, disk_size, &vsize, &bad) == 0);
      vx_segments_free (seg, nseg);
    }
    else if (r > 0) {
      FUZZ_CHECK (why != NULL && fuzz_touch (why) > 0);
      FUZZ_CHECK (seg == NULL);
    }
    free (why);
  }
  vx_lvm_vg_free (vg);
  return 0;
}

/* tests/unit/test-segment: a volume made of segments (common/utils/
 * segment.h): checks and the offset map, linear and striped; and the CRC-32
 * register (crc32.h) both ways it is used. */
#include <stdlib.h>
#include <string.h>

#include "crc32.h"
#include "segment.h"
#include "tap.h"

static void
test_crc (void)
{
  static const char nine[] = "123456789";
  unsigned char zeros[508] = { 0 };

  is_u64 (vx_crc32 (0, nine, 9), 0xcbf43926, "crc32: the standard check value");
  is_u64 (vx_crc32 (vx_crc32 (0, nine, 4), nine + 4, 5), 0xcbf43926, "crc32: chained");
  is_u64 (vx_crc32 (0, "", 0), 0, "crc32: empty");
  /* lvm2's calc_crc: the same register from 0xf597a6cf, not inverted
   * (tests/integration/lvm.sh reads checksums lvm2 itself wrote) */
  is_u64 (vx_crc32_update (0xf597a6cf, zeros, 0), 0xf597a6cf, "lvm crc: nothing: the initial value");
  is_u64 (vx_crc32_update (0xf597a6cf, nine, 9), ~vx_crc32 (~0xf597a6cfu, nine, 9),
          "lvm crc: the raw register (no inversion)");
}

static void
test_segments (void)
{
  struct vx_stripe st[2] = { { 0, 1 << 20 }, { 1, 2 << 20 } };
  struct vx_segment seg[3] = {
    { .start = 0, .length = 4096, .disk = 1, .offset = 512 },
    { .start = 4096, .length = 4 * 65536, .nstripes = 2, .stripe_size = 65536, .stripe = st },
    { .start = 4096 + 4 * 65536, .length = 100, .disk = 0, .offset = 0 },
  };
  uint64_t sizes[2] = { 4 << 20, 4 << 20 }, size = 0, doff, run;
  const char *why = NULL;
  unsigned disk;

  is_int (vx_segments_check (seg, 3, 2, sizes, &size, &why), 0, "check: a good volume");
  is_u64 (size, 4096 + 4 * 65536 + 100, "check: its size");
  is_int (vx_segment_map (seg, 3, 0, &disk, &doff, &run), 0, "map: byte 0");
  ok (disk == 1 && doff == 512 && run == 4096, "map: byte 0 is disk 1 at 512, 4096 bytes run");
  vx_segment_map (seg, 3, 4095, &disk, &doff, &run);
  ok (disk == 1 && doff == 4607 && run == 1, "map: the last byte of segment 1");
  vx_segment_map (seg, 3, 4096, &disk, &doff, &run);
  ok (disk == 0 && doff == 1 << 20 && run == 65536, "map: chunk 0 on stripe 0");
  vx_segment_map (seg, 3, 4096 + 65536 + 10, &disk, &doff, &run);
  ok (disk == 1 && doff == (2 << 20) + 10 && run == 65526, "map: chunk 1 on stripe 1");
  vx_segment_map (seg, 3, 4096 + 2 * 65536 + 7, &disk, &doff, &run);
  ok (disk == 0 && doff == (1 << 20) + 65536 + 7 && run == 65529, "map: chunk 2: stripe 0, row 1");
  vx_segment_map (seg, 3, 4096 + 4 * 65536 + 99, &disk, &doff, &run);
  ok (disk == 0 && doff == 99 && run == 1, "map: the last byte");
  is_int (vx_segment_map (seg, 3, size, &disk, &doff, &run), -1, "map: the end: -1");
  is_int (vx_segment_map (seg, 0, 0, &disk, &doff, &run), -1, "map: no segments: -1");

  seg[2].start = 5;
  is_int (vx_segments_check (seg, 3, 2, sizes, &size, &why), -1, "check: a gap");
  is_str (why, "segments are not contiguous", "check: a gap: why");
  seg[2].start = 4096 + 4 * 65536;
  seg[0].disk = 2;
  vx_segments_check (seg, 3, 2, sizes, &size, &why);
  is_str (why, "segment on a disk that is not in the set", "check: disk out of the set");
  seg[0].disk = 1;
  seg[0].offset = (4 << 20) - 4095;
  vx_segments_check (seg, 3, 2, sizes, &size, &why);
  is_str (why, "segment lies outside its disk", "check: past the disk's end");
  is_int (vx_segments_check (seg, 3, 2, NULL, &size, &why), 0, "check: no sizes: not checked");
  seg[0].offset = 512;
  seg[1].length = 3 * 65536;
  vx_segments_check (seg, 2, 2, sizes, &size, &why);
  is_str (why, "striped segment whose length is not a multiple of stripes x stripe size",
          "check: a partial row");
  seg[1].length = 4 * 65536;
  st[1].offset = (4 << 20) - 65536;
  vx_segments_check (seg, 2, 2, sizes, &size, &why);
  is_str (why, "stripe lies outside its disk", "check: a stripe past the end");
  st[1].offset = UINT64_MAX - 1000;
  vx_segments_check (seg, 2, 2, NULL, &size, &why);
  is_str (why, "stripe beyond 2^64 bytes", "check: a stripe past 2^64");
  st[1].offset = 0;
  seg[1].nstripes = 1;
  vx_segments_check (seg, 2, 2, sizes, &size, &why);
  is_str (why, "striped segment with fewer than 2 or more than 128 stripes", "check: one stripe");
  seg[1].nstripes = 2;
  seg[0].length = 0;
  vx_segments_check (seg, 1, 2, sizes, &size, &why);
  is_str (why, "empty segment", "check: an empty segment");
  seg[0].length = UINT64_MAX;
  seg[1].start = UINT64_MAX;
  vx_segments_check (seg, 2, 2, NULL, &size, &why);
  is_str (why, "volume larger than 2^64 bytes", "check: 2^64");
}

int
main (void)
{
  test_crc ();
  test_segments ();
  return tap_done ();
}

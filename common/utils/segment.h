/* vixmount helpers: a volume made of segments on disks.
 *
 * The one model of a volume's layout, shared by discovery (which builds it:
 * a partition is one linear segment, an LVM logical volume a list of linear
 * and striped ones, on one or several disks), the FUSE bridge (which serves
 * it as a file) and the kernel path (which turns it into a device-mapper
 * table, one line per segment):
 *
 *   linear:   "START LENGTH linear DISK OFFSET"            (in 512-byte units)
 *   striped:  "START LENGTH striped N CHUNK DISK0 OFFSET0 DISK1 OFFSET1 ..."
 *
 * Segments are ordered and contiguous: seg[0].start is 0 and each one starts
 * where the one before it ends.  All values are bytes.  A striped segment
 * of LENGTH bytes spreads its data in chunks of STRIPE_SIZE bytes over N
 * stripes, round robin: chunk k lies on stripe k % N at row k / N, so byte
 * r of the segment is at
 *   stripe[(r / size) % N].offset + (r / size / N) * size + r % size
 * and each stripe holds LENGTH / N bytes from its offset on.  As for
 * device-mapper, LENGTH is a multiple of N * STRIPE_SIZE.
 */
#ifndef VIXMOUNT_SEGMENT_H
#define VIXMOUNT_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

struct vx_stripe {
  unsigned disk;             /* index into the set's disks */
  uint64_t offset;           /* bytes on that disk: the stripe's first chunk */
};

struct vx_segment {
  uint64_t start;            /* bytes into the volume */
  uint64_t length;           /* bytes of the volume this segment holds */
  unsigned disk;             /* linear: the disk ... */
  uint64_t offset;           /* ... and the byte offset on it */
  unsigned nstripes;         /* 0: linear; >= 2: striped over stripe[] */
  uint64_t stripe_size;      /* striped: bytes per chunk */
  struct vx_stripe *stripe;  /* striped: nstripes entries (malloc'd) */
};

/* Most stripes a segment may have (lvm2 allows 128). */
#define VX_MAX_STRIPES 128

/* Checks that SEG[0..N) is a well-formed volume on NDISKS disks whose
 * sizes are DISK_SIZE[] (NULL: not checked): contiguous from 0, no empty
 * segment, stripes as described above, every byte inside its disk, no
 * arithmetic overflow.  0 with *SIZE the volume's size, or -1 with *WHY
 * saying what is wrong (a static string). */
int vx_segments_check (const struct vx_segment *seg, size_t n, size_t ndisks,
                       const uint64_t *disk_size, uint64_t *size,
                       const char **why);

/* Where byte OFF of the volume lies: its disk and offset there, and how many
 * bytes from OFF on are contiguous on that disk (up to the end of the chunk
 * or segment).  SEG must have passed vx_segments_check.  0, or -1 when OFF
 * is at or past the volume's end. */
int vx_segment_map (const struct vx_segment *seg, size_t n, uint64_t off,
                    unsigned *disk, uint64_t *disk_off, uint64_t *run);

/* Frees each segment's stripes, then the array (NULL is fine). */
void vx_segments_free (struct vx_segment *seg, size_t n);

#endif

/* vixmount mount layer: the volume model.
 *
 * A volume is an ordered list of segments on the disks of a set, plus what
 * was probed in it.  Partitions have one segment; LVM logical volumes (a
 * later issue) may have several, on several disks.  The same model feeds
 * VixVolumeInfo, the FUSE bridge (a file per volume) and, later, the kernel
 * path (partitions and device-mapper tables).
 */
#ifndef VIXMOUNT_VOLUME_H
#define VIXMOUNT_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vx_segment {
  unsigned disk;             /* index into the set's disks */
  uint64_t offset, length;   /* bytes on that disk */
};

enum vx_volume_kind {
  VX_VOL_WHOLE_DISK,         /* no partition table: a filesystem on the disk */
  VX_VOL_MBR_PRIMARY,
  VX_VOL_MBR_EXTENDED,       /* the container itself */
  VX_VOL_MBR_LOGICAL,
  VX_VOL_GPT,
  VX_VOL_LVM,                /* later issue */
};

struct vx_volume {
  char *name;                /* stable and file-name safe: "d0", "d0p1", "d0p5" */
  enum vx_volume_kind kind;
  unsigned disk;             /* disk of the first segment */
  int partno;                /* partition number as Linux counts it, 0 for whole disk */
  struct vx_segment *seg;
  size_t nseg;
  uint64_t size;             /* bytes, the sum of the segments */
  char *fstype;              /* blkid TYPE: "ext4", "xfs", "vfat", "ntfs", "swap",
                                "LVM2_member", ...; NULL if nothing was recognised */
  char *label, *uuid;        /* filesystem LABEL/UUID, NULL if none */
  char *part_type;           /* MBR "0x83", GPT type GUID (lower case); NULL for whole disk */
  char *part_uuid;           /* GPT partition GUID or MBR "disk-id-NN", NULL if none */
  char *part_name;           /* GPT partition name, NULL if none */
  bool mountable;            /* a filesystem we may mount */
  char *why_not;             /* when !mountable: why ("swap space", "extended
                                partition container", "LVM physical volume",
                                "no filesystem found", "partition lies outside the disk") */
};

/* Discover the volumes of a set of disks given as files or block devices
 * (paths[i] is disk i, sizes[i] its size in bytes).  Every partition and
 * container is listed, in disk order then partition number.  Hostile tables
 * (partitions past the disk's end, overlapping, looping extended chains) never
 * crash: bad entries are listed as not mountable with the reason.  Returns 0,
 * or -1 with a message naming the disk and the cause in errbuf.
 *
 * sizes may be NULL, and sizes[i] 0, to take a disk's size from the file
 * (st_size) or the block device (BLKGETSIZE64).  Only MBR and GPT tables are
 * read; a disk without one is one VX_VOL_WHOLE_DISK volume if something
 * (a filesystem, swap, an LVM PV, ...) is on it, and none if it is empty.
 * At most 256 volumes are listed per disk.  A table that cannot be trusted
 * at all (a GPT header asking for more than 16384 entries) gives no volumes
 * for that disk; an MBR extended chain longer than 1024 links gives the
 * primary entries only, the container saying why.
 * On success errbuf holds "" or warnings, one per line ("disk N (PATH):
 * ..."), about what was skipped or truncated; the caller may log them.
 * label, uuid and part_name are guest bytes: escape them when printing.
 * Thread-safe: no global state. */
int vx_discover (const char *const *paths, const uint64_t *sizes, size_t ndisks,
                 struct vx_volume **vols, size_t *nvols,
                 char *errbuf, size_t errlen);
void vx_volumes_free (struct vx_volume *vols, size_t n);

/* Filesystem types the mount layer will mount (allow-list). */
bool vx_fstype_allowed (const char *fstype);

#endif

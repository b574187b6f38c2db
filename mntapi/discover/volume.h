/* vixmount mount layer: the volume model.
 *
 * A volume is an ordered list of segments on the disks of a set, plus what
 * was probed in it.  Partitions have one segment; LVM logical volumes may
 * have several, linear or striped, on several disks (common/utils/segment.h
 * says how a dm table or the FUSE bridge's compose line follows from them).  The same model feeds
 * VixVolumeInfo, the FUSE bridge (a file per volume) and, later, the kernel
 * path (partitions and device-mapper tables).
 */
#ifndef VIXMOUNT_VOLUME_H
#define VIXMOUNT_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"        /* struct vx_segment: linear and striped */

enum vx_volume_kind {
  VX_VOL_WHOLE_DISK,         /* no partition table: a filesystem on the disk */
  VX_VOL_MBR_PRIMARY,
  VX_VOL_MBR_EXTENDED,       /* the container itself */
  VX_VOL_MBR_LOGICAL,
  VX_VOL_GPT,
  VX_VOL_LVM,                /* an LVM logical volume (mntapi/lvm) */
};

struct vx_volume {
  char *name;                /* stable: "d0", "d0p1", "d0p5"; "VG/LV" for LVM */
  char *file_name;           /* file-name safe name, when name is not: an LV's
                                device-mapper name ("VG-LV", '-' doubled in
                                each); NULL: name is (vx_volume_fname) */
  enum vx_volume_kind kind;
  unsigned disk;             /* disk of the first segment */
  int partno;                /* partition number as Linux counts it, 0 for whole disk */
  struct vx_segment *seg;
  size_t nseg;
  uint64_t size;             /* bytes, the sum of the segments */
  char *fstype;              /* blkid TYPE: "ext4", "xfs", "vfat", "ntfs", "swap",
                                "LVM2_member", ...; NULL if nothing was recognised */
  char *label, *uuid;        /* filesystem LABEL/UUID, NULL if none */
  char *part_type;           /* MBR "0x83", GPT type GUID (lower case); NULL for whole disk;
                                an LV's layout: "linear", "striped", "raid1", "thin", ... */
  char *part_uuid;           /* GPT partition GUID or MBR "disk-id-NN", NULL if none;
                                an LV's UUID (as lvs shows it) */
  char *part_name;           /* GPT partition name, NULL if none */
  bool mountable;            /* a filesystem we may mount */
  bool incomplete;           /* not mountable because a disk it needs (an LVM
                                PV) is not in the set */
  char *why_not;             /* when !mountable: why ("swap space", "extended
                                partition container", "LVM physical volume",
                                "no filesystem found", "partition lies outside the disk",
                                "thin volume: not supported", "incomplete: PV ... is not
                                in the disk set") */
};

/* The name to use for files and directories (the bridge's file, the mount
 * directory, a dm device). */
static inline const char *
vx_volume_fname (const struct vx_volume *v)
{
  return v->file_name ? v->file_name : v->name;
}

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
 * LVM PVs (whole disks and partitions) are read with mntapi/lvm: every LV
 * that lvs would list is a VX_VOL_LVM volume after the disks' volumes,
 * sorted by VG and LV name, its content probed like a partition's; one that
 * cannot be composed (thin, snapshot, cache, a PV missing from the set) is
 * listed as not mountable with the reason.  A PV whose label or metadata is
 * damaged is told about in a warning and in its volume's why_not; the set's
 * other volumes are not affected.
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

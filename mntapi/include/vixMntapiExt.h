/* vixmount: extensions to the Virtual Disk Mount API.
 *
 * Not part of VMware's API: nothing here changes a name, type, layout or
 * value of vixMntapi.h.  Programs that use these are vixmount-specific.
 */
#ifndef VIXMOUNT_VIXMNTAPIEXT_H
#define VIXMOUNT_VIXMNTAPIEXT_H

#include "vixMntapi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything discovery found about a volume (VixMntapi_GetVolumeInfo only
 * tells type, mount state and where it is mounted). */
typedef struct {
   VixVolumeType type;
   char   *name;               /* stable and file-name safe: "d0p1", "d0" */
   uint32  disk;               /* index of the disk in the set */
   int32   partitionNumber;    /* as Linux numbers them, 0 for a whole disk */
   uint64  offset;             /* bytes from the start of the disk */
   uint64  length;             /* bytes */
   char   *fsType;             /* "ext4", "xfs", "vfat", "ntfs", "swap", ... or NULL */
   char   *label;              /* filesystem label or NULL */
   char   *uuid;               /* filesystem UUID or NULL */
   char   *partType;           /* MBR "0x83" or GPT type GUID, NULL for a whole disk */
   char   *partUuid;           /* GPT partition GUID / MBR "DISKID-NN", or NULL */
   char   *partName;           /* GPT partition name or NULL */
   Bool    mountable;
   char   *notMountableReason; /* why not, when !mountable */
   char   *device;             /* the block device the volume is mounted from
                                  ("/dev/nbd3p1", "/dev/dm-4", "/dev/loop7"),
                                  or the one the kernel bridge found for it
                                  when not mounted; NULL if none yet */
} VixmountVolumeDetails;

VixError Vixmount_GetVolumeDetails(VixVolumeHandle volume,
                                   VixmountVolumeDetails **details);
void Vixmount_FreeVolumeDetails(VixmountVolumeDetails *details);

/* Where a volume's bytes are on the disks of the set: its segments, one
 * after the other from byte 0 of the volume (a partition has one; an LVM
 * logical volume one per LV segment).  All values are bytes.  A striped
 * segment spreads its length in chunks of stripeSize bytes, round robin,
 * over numStripes stripes, each stripe's chunks one after the other from
 * its offset on its disk (as device-mapper's striped target does). */
typedef struct {
   uint32  disk;               /* index of the disk in the set */
   uint64  offset;             /* bytes from the start of that disk */
} VixmountStripe;

typedef struct {
   uint64  start;              /* bytes into the volume */
   uint64  length;             /* bytes */
   uint32  numStripes;         /* 0: linear, on disk at offset; else striped */
   uint32  disk;               /* linear */
   uint64  offset;             /* linear */
   uint64  stripeSize;         /* striped: bytes per chunk */
   VixmountStripe *stripes;    /* striped: numStripes entries */
} VixmountSegment;

typedef struct {
   uint32  numSegments;
   VixmountSegment *segments;
} VixmountVolumeLayout;

VixError Vixmount_GetVolumeLayout(VixVolumeHandle volume,
                                  VixmountVolumeLayout **layout);
void Vixmount_FreeVolumeLayout(VixmountVolumeLayout *layout);

/* Remove what disk sets of processes that died left behind (mounts, loop
 * devices, the FUSE bridge, nbdkit) under the run-time directory for
 * tmpDirectory (NULL: the default).  VixMntapi_Init does this too.  Returns
 * the number of sets cleaned up, or -1. */
int Vixmount_CleanupStale(const char *tmpDirectory);

/* How an open disk set reaches the kernel (the bridge chosen at OpenDisks:
 * the configuration key vixmount.bridge = auto|kernel|fuse, overridden by
 * the environment variable VIXMOUNT_BRIDGE; auto takes the kernel's NBD
 * driver where it is present or `modprobe nbd` loads it, else FUSE). */
typedef struct {
   char   *bridge;             /* "kernel" or "fuse" */
   char   *reason;             /* why this one, for humans */
   uint32  numDisks;
   char  **diskDevices;        /* numDisks entries: "/dev/nbd3" (kernel) or
                                  the bridge's file for the disk (FUSE) */
   char   *nbdInterface;       /* "netlink" or "ioctl"; NULL on FUSE */
   uint32  nbdConnections;     /* sockets per NBD device; 0 on FUSE */
} VixmountBridgeInfo;

VixError Vixmount_GetBridgeInfo(VixDiskSetHandle diskSet, VixmountBridgeInfo **info);
void Vixmount_FreeBridgeInfo(VixmountBridgeInfo *info);

/* Record DIR, a mount point the caller is about to create over something
 * of the set (the vixmount command bind-mounts a mounted volume's
 * directory there), in the set's journal; call it before mounting.  From
 * then on the set's teardown (CloseDiskSet, Exit, and the clean-up after
 * the owner died: the next Init, Vixmount_CleanupStale) unmounts DIR before
 * anything of the set, deepest first when they nest (DIR/home before DIR,
 * whatever order they were recorded in); DIR itself is the caller's and is
 * never removed. */
VixError Vixmount_RecordMountPoint(VixDiskSetHandle diskSet, const char *dir);

/* Guest inspection: everything VixMntapi_GetOsInfo and the in-guest mount
 * points of VixMntapi_GetVolumeInfo come from, in one call.  The first call
 * on a set inspects it (later ones return the same facts): each mountable
 * volume in the set's order is looked at, mounted read-only if it was not
 * mounted (a volume the caller mounted is used as it is), until one holds
 * an operating system; that one stays mounted, as VMware's GetOsInfo leaves
 * it, and the others are dismounted again.  Linux guests: /etc/os-release
 * and its older equivalents, /etc/hostname, /etc/fstab, the ELF class of
 * the guest's binaries.  Windows guests: the SOFTWARE and SYSTEM hives (the
 * control set Select\Current names) and SYSTEM\MountedDevices.  Guest files
 * are read in a child process confined to the guest's root (chroot), with
 * resource limits.  Every string is guest data: escape it when printing.
 * A set without an operating system succeeds with family VIXMNTAPI_NO_OS
 * and noOsReason saying what was looked at. */
typedef struct {
   char   *name;               /* the volume, as VixmountVolumeDetails names it */
   char   *fsType, *label, *uuid;   /* as VixmountVolumeDetails has them */
   size_t  numGuestMountPoints;
   char  **guestMountPoints;   /* "/", "/home" (fstab order); "C:" */
} VixmountGuestVolume;

typedef struct {
   VixOsFamily family;         /* VIXMNTAPI_WINDOWS, VIXMNTAPI_OTHER (Linux),
                                  VIXMNTAPI_NO_OS */
   uint32  majorVersion, minorVersion;
   Bool    osIs64Bit;
   char   *vendor;             /* os-release NAME ("Debian GNU/Linux"); "Microsoft" */
   char   *edition;            /* os-release VARIANT; Windows EditionID; or "" */
   char   *osFolder;           /* the guest's root / Windows directory on this host */
   char   *distribution;       /* os-release ID ("debian", "fedora"); "windows" */
   char   *productName;        /* PRETTY_NAME; ProductName */
   char   *version;            /* VERSION_ID ("12", "22.04"); "10.0" */
   char   *build;              /* Windows CurrentBuild; NULL on Linux */
   char   *hostname;           /* /etc/hostname; ComputerName; NULL if none */
   char   *architecture;       /* "x86_64", "aarch64", ...; Windows "AMD64", "x86" */
   char   *systemVolume;       /* the volume holding the OS, NULL for no OS */
   char   *noOsReason;         /* family VIXMNTAPI_NO_OS: why; else NULL */
   char   *notes;              /* what inspection skipped or could not read
                                  (a damaged hive, fstab lines), one per
                                  line; NULL if nothing */
   uint32  numVolumes;
   VixmountGuestVolume *volumes;   /* every volume of the set, in set order */
} VixmountInspection;

VixError Vixmount_Inspect(VixDiskSetHandle diskSet, VixmountInspection **inspection);
void Vixmount_FreeInspection(VixmountInspection *inspection);

#ifdef __cplusplus
}
#endif

#endif

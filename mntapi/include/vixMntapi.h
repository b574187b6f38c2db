/* vixmount: libvixMntapi, the Virtual Disk Mount API.
 *
 * Source- and binary-compatible with the declarations of VMware's
 * vixMntapi.h (API version 1.0) on Linux x86-64.  Written for vixmount
 * from the published facts about that API.
 */
#ifndef _VIXMNTAPI_H_
#define _VIXMNTAPI_H_

#include "vixDiskLib.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VIXMNTAPI_MAJOR_VERSION 1
#define VIXMNTAPI_MINOR_VERSION 0

/* Opaque handles: a set of disks, and a volume found on it. */
typedef struct VixDiskSetHandleStruct *VixDiskSetHandle;
typedef struct VixVolumeHandleStruct *VixVolumeHandle;

/* Operating system family (VixOsInfo.family). */
typedef enum VixOsFamily {
   VIXMNTAPI_NO_OS   = 0,
   VIXMNTAPI_WINDOWS = 1,
   VIXMNTAPI_OTHER   = 255
} VixOsFamily;

/* Kind of volume (VixVolumeInfo.type). */
typedef enum VixVolumeType {
   VIXMNTAPI_UNKNOWN_VOLTYPE = 0,
   VIXMNTAPI_BASIC_PARTITION = 1,   /* MBR partition */
   VIXMNTAPI_GPT_PARTITION   = 2,
   VIXMNTAPI_DYNAMIC_VOLUME  = 3,   /* Windows LDM */
   VIXMNTAPI_LVM_VOLUME      = 4
} VixVolumeType;

/* The operating system installed on a disk set (VixMntapi_GetOsInfo). */
typedef struct {
   VixOsFamily family;
   uint32      majorVersion;
   uint32      minorVersion;
   Bool        osIs64Bit;
   char       *vendor;
   char       *edition;
   char       *osFolder;     /* where the OS is installed */
} VixOsInfo;

/* One volume (VixMntapi_GetVolumeInfo).  Variable length: the library
 * allocates numGuestMountPoints entries of inGuestMountPoints (at least
 * one). */
typedef struct {
   VixVolumeType type;
   Bool          isMounted;
   char         *symbolicLink;          /* where the mounted volume is, or NULL */
   size_t        numGuestMountPoints;
   char         *inGuestMountPoints[1];
} VixVolumeInfo;

/* A disk set (VixMntapi_GetDiskSetInfo). */
typedef struct {
   uint32 openFlags;
   char  *mountPath;
} VixDiskSetInfo;

VixError VixMntapi_Init(uint32 majorVersion, uint32 minorVersion,
                        VixDiskLibGenericLogFunc *log,
                        VixDiskLibGenericLogFunc *warn,
                        VixDiskLibGenericLogFunc *panic,
                        const char *libDir, const char *configFile);
void VixMntapi_Exit(void);

/* Build a set from disks already opened with VixDiskLib_Open (the caller
 * keeps and later closes them).  VMware declares it for Windows only;
 * vixmount provides it everywhere. */
VixError VixMntapi_OpenDiskSet(VixDiskLibHandle diskHandles[],
                               size_t numberOfDisks, uint32 openMode,
                               VixDiskSetHandle *handle);
/* Open the named disks through a connection and build a set from them. */
VixError VixMntapi_OpenDisks(VixDiskLibConnection connection,
                             const char *diskNames[], size_t numberOfDisks,
                             uint32 openFlags, VixDiskSetHandle *handle);
VixError VixMntapi_GetDiskSetInfo(VixDiskSetHandle handle,
                                  VixDiskSetInfo **diskSetInfo);
void VixMntapi_FreeDiskSetInfo(VixDiskSetInfo *diskSetInfo);
VixError VixMntapi_CloseDiskSet(VixDiskSetHandle diskSet);

VixError VixMntapi_GetVolumeHandles(VixDiskSetHandle diskSet,
                                    size_t *numberOfVolumes,
                                    VixVolumeHandle *volumeHandles[]);
void VixMntapi_FreeVolumeHandles(VixVolumeHandle *volumeHandles);

VixError VixMntapi_GetOsInfo(VixDiskSetHandle diskSet, VixOsInfo **info);
void VixMntapi_FreeOsInfo(VixOsInfo *info);

VixError VixMntapi_MountVolume(VixVolumeHandle volumeHandle, Bool readOnly);
VixError VixMntapi_DismountVolume(VixVolumeHandle volumeHandle, Bool force);
VixError VixMntapi_GetVolumeInfo(VixVolumeHandle volumeHandle,
                                 VixVolumeInfo **info);
void VixMntapi_FreeVolumeInfo(VixVolumeInfo *info);

#ifdef __cplusplus
}
#endif

#endif /* _VIXMNTAPI_H_ */

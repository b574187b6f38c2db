/* libvixMntapi: volumes: mounting one (a bridge file, a loop device, a
 * kernel mount), dismounting it, and what the caller may ask about it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Gives back what mounting took besides the mount and the loop device: the
 * volume's bridge file or dm table, and its mount directory (force: after
 * a lazy unmount). */
static void
release (struct VixVolumeHandleStruct *vh, bool force)
{
  if (vh->own_file)
    vxm_bridge_control (vh->set, "remove %s\n", vx_volume_fname (vh->v));
  vh->own_file = false;
  if (vh->set->bridge == VX_BRIDGE_KERNEL)
    vxm_kernel_volume_release (vh, force);
  if (vh->dir)
    rmdir (vh->dir);
  free (vh->dir);
  free (vh->file);
  vh->dir = vh->file = NULL;
  vh->dev[0] = '\0';
}

/* FUSE bridge: the volume's file (the whole disk's, or a range of it added
 * for the volume) on a loop device; vh->dev, and *lfd the loop's fd to
 * close once mounted (autoclear). */
static VixError
fuse_volume_dev (struct VixVolumeHandleStruct *vh, enum vxm_mount_mode how, int *lfd)
{
  struct VixDiskSetHandleStruct *s = vh->set;
  struct vx_volume *v = vh->v;
  char err[1024];

  /* the bridge file: the whole disk, a range of it added for the volume,
   * or a file composed of its segments (an LVM logical volume) */
  if (v->nseg != 1 || v->seg[0].nstripes || v->kind == VX_VOL_LVM) {
    char *line = vxm_compose_line (v);
    if (!line || asprintf (&vh->file, "%s/%s", s->fuse_dir, vx_volume_fname (v)) < 0) {
      free (line);
      vh->file = NULL;
      return VIX_E_OUT_OF_MEMORY;
    }
    if (vxm_bridge_control (s, "%s", line) == -1) {
      free (line);
      return vxm_fail (VIX_E_MNTAPI_DAEMON, "MountVolume: the FUSE bridge refused volume %s: %s",
                       v->name, strerror (errno));
    }
    free (line);
    vh->own_file = true;
  }
  else if (v->seg[0].offset == 0 && v->seg[0].length == vmdk_size (s->vd[v->seg[0].disk])) {
    if (asprintf (&vh->file, "%s/d%u", s->fuse_dir, v->seg[0].disk) < 0)
      return VIX_E_OUT_OF_MEMORY;
    vh->own_file = false;
  }
  else {
    if (asprintf (&vh->file, "%s/%s", s->fuse_dir, v->name) < 0)
      return VIX_E_OUT_OF_MEMORY;
    if (vxm_bridge_control (s, "add %s d%u %llu %llu\n", v->name, v->seg[0].disk,
                        (unsigned long long) v->seg[0].offset,
                        (unsigned long long) v->seg[0].length) == -1)
      return vxm_fail (VIX_E_MNTAPI_DAEMON, "MountVolume: the FUSE bridge refused volume %s: %s",
                   v->name, strerror (errno));
    vh->own_file = true;
  }
  if (vxm_state_add (&s->st, "loop %s", vh->file) == -1
      || (*lfd = vxm_loop_attach (vh->file, how == VXM_RO_NO_REPLAY, vh->loopdev,
                                  sizeof vh->loopdev, err, sizeof err)) == -1)
    return vxm_fail (VIX_E_MNTAPI_LOOP_FAILED, "MountVolume: %s: %s", v->name, err);
  snprintf (vh->dev, sizeof vh->dev, "%s", vh->loopdev);
  return VIX_OK;
}

VixError
vxm_mount_volume (struct VixVolumeHandleStruct *vh, bool readonly)
{
  struct VixDiskSetHandleStruct *s = vh->set;
  struct vx_volume *v = vh->v;
  enum vxm_mount_mode how;
  char err[1024], volroot[PATH_MAX];
  int lfd = -1;
  VixError e;

  if (vh->mounted)
    return VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED;
  if (!v->mountable)   /* an LV with a PV missing from the set: a disk is not found */
    return vxm_fail (v->incomplete ? VIX_E_MNTAPI_DISK_NOT_FOUND : VIX_E_NOT_SUPPORTED,
                     "MountVolume: %s cannot be mounted: %s", v->name,
                     v->why_not ? v->why_not : "not a supported filesystem");
  if (s->readonly && !readonly)
    vx_log (VX_WARNING, "MountVolume: the disk set is read-only, so %s is mounted read-only", v->name);
  how = s->readonly ? VXM_RO : readonly ? VXM_RO_NO_REPLAY : VXM_RW;

  snprintf (volroot, sizeof volroot, "%s/volumes", s->st.dir);
  mkdir (volroot, 0700);
  if (asprintf (&vh->dir, "%s/%s", volroot, vx_volume_fname (v)) < 0) {
    vh->dir = NULL;
    return vxm_fail (VIX_E_OUT_OF_MEMORY, "MountVolume: out of memory");
  }
  if (mkdir (vh->dir, 0700) == -1 && errno != EEXIST) {
    e = vxm_fail (VIX_E_MNTAPI_MOUNTPT_NOT_FOUND, "MountVolume: cannot create %s: %s", vh->dir,
          strerror (errno));
    goto undo;
  }
  /* the block device: the kernel's partition or a dm table over /dev/nbdN
   * (read-only for a read-only mount in a read-write set), or the FUSE
   * bridge's file on a loop device (read-only likewise) */
  e = s->bridge == VX_BRIDGE_KERNEL ? vxm_kernel_volume_dev (vh, how == VXM_RO_NO_REPLAY)
    : fuse_volume_dev (vh, how, &lfd);
  if (e != VIX_OK)
    goto undo;
  if (vxm_state_add (&s->st, "mount %s", vh->dir) == -1
      || vxm_mount (vh->dev, vh->dir, v->fstype, how, s->log, err, sizeof err) == -1) {
    if (lfd >= 0)
      close (lfd);              /* autoclear detaches it */
    e = vxm_fail (VIX_E_MNTAPI_OS_ERROR, "MountVolume: %s (%s): %s", v->name, v->fstype, err);
    goto undo;
  }
  if (lfd >= 0)
    close (lfd);                /* the mount holds the device now */
  vh->mounted = true;
  vh->readonly = how != VXM_RW;
  vx_log (VX_AUDIT, "MountVolume: %s (%s) from %s on %s, %s", v->name, v->fstype, vh->dev,
          vh->dir, vh->readonly ? "read-only" : "read-write");
  return VIX_OK;

 undo:
  release (vh, false);
  return e;
}

API VixError
VixMntapi_MountVolume (VixVolumeHandle volumeHandle, Bool readOnly)
{
  struct VixVolumeHandleStruct *vh;
  VixError e;

  pthread_mutex_lock (&vxm_glock);
  vh = vxm_find_vol (volumeHandle);
  e = vh ? vxm_mount_volume (vh, readOnly != 0)
    : vxm_fail (VIX_E_INVALID_ARG, "MountVolume: not a volume of an open disk set");
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

VixError
vxm_dismount_volume (struct VixVolumeHandleStruct *vh, bool force)
{
  if (!vh->mounted)
    return VIX_E_MNTAPI_VOLUME_NOT_MOUNTED;
  if (vxm_umount (vh->dir, force) == -1)
    return vxm_fail (VIX_E_MNTAPI_UMOUNT, "DismountVolume: %s: %s%s", vh->dir, strerror (errno),
                 errno == EBUSY ? " (files are open; dismount with force)" : "");
  if (vh->file)
    vxm_loop_detach_file (vh->file);    /* autoclear did it, unless busy */
  release (vh, force);
  vh->loopdev[0] = '\0';
  vh->mounted = false;
  return VIX_OK;
}

API VixError
VixMntapi_DismountVolume (VixVolumeHandle volumeHandle, Bool force)
{
  struct VixVolumeHandleStruct *vh;
  VixError e;

  pthread_mutex_lock (&vxm_glock);
  vh = vxm_find_vol (volumeHandle);
  e = vh ? vxm_dismount_volume (vh, force != 0)
    : vxm_fail (VIX_E_INVALID_ARG, "DismountVolume: not a volume of an open disk set");
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

static VixVolumeType
vol_type (const struct vx_volume *v)
{
  switch (v->kind) {
  case VX_VOL_MBR_PRIMARY: case VX_VOL_MBR_EXTENDED: case VX_VOL_MBR_LOGICAL:
    return VIXMNTAPI_BASIC_PARTITION;
  case VX_VOL_GPT: return VIXMNTAPI_GPT_PARTITION;
  case VX_VOL_LVM: return VIXMNTAPI_LVM_VOLUME;
  default: return VIXMNTAPI_UNKNOWN_VOLTYPE;
  }
}

API VixError
VixMntapi_GetVolumeInfo (VixVolumeHandle volumeHandle, VixVolumeInfo **info)
{
  struct VixVolumeHandleStruct *vh;
  VixVolumeInfo *i;

  if (!info)
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeInfo: NULL info pointer");
  *info = NULL;
  pthread_mutex_lock (&vxm_glock);
  vh = vxm_find_vol (volumeHandle);
  if (!vh) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeInfo: not a volume of an open disk set");
  }
  /* VMware's flexible struct: at least one inGuestMountPoints slot */
  i = calloc (1, offsetof (VixVolumeInfo, inGuestMountPoints)
                 + (vh->ngmp ? vh->ngmp : 1) * sizeof (char *));
  if (i) {
    bool oom = false;
    i->type = vol_type (vh->v);
    i->isMounted = vh->mounted;
    /* the guest's mount points, once inspection ran (GetOsInfo) */
    for (size_t k = 0; k < vh->ngmp && !oom; k++)
      if ((i->inGuestMountPoints[k] = strdup (vh->gmp[k])) != NULL)
        i->numGuestMountPoints++;
      else
        oom = true;
    if (oom || (vh->mounted && !(i->symbolicLink = strdup (vh->dir)))) {
      VixMntapi_FreeVolumeInfo (i);
      i = NULL;
    }
  }
  pthread_mutex_unlock (&vxm_glock);
  if (!i)
    return VIX_E_OUT_OF_MEMORY;
  *info = i;
  return VIX_OK;
}

API void
VixMntapi_FreeVolumeInfo (VixVolumeInfo *info)
{
  if (!info)
    return;
  free (info->symbolicLink);
  for (size_t k = 0; k < info->numGuestMountPoints; k++)
    free (info->inGuestMountPoints[k]);
  free (info);
}

char *
vxm_strdup_opt (const char *s, bool *oom)
{
  char *d;
  if (!s)
    return NULL;
  if (!(d = strdup (s)))
    *oom = true;
  return d;
}

API VixError
Vixmount_GetVolumeDetails (VixVolumeHandle volume, VixmountVolumeDetails **details)
{
  struct VixVolumeHandleStruct *vh;
  VixmountVolumeDetails *d;
  bool oom = false;

  if (!details)
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeDetails: NULL pointer");
  *details = NULL;
  pthread_mutex_lock (&vxm_glock);
  vh = vxm_find_vol (volume);
  if (!vh) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeDetails: not a volume of an open disk set");
  }
  d = calloc (1, sizeof *d);
  if (d) {
    struct vx_volume *v = vh->v;
    d->type = vol_type (v);
    d->name = vxm_strdup_opt (v->name, &oom);
    d->disk = v->disk;
    d->partitionNumber = v->partno;
    d->offset = v->nseg ? v->seg[0].offset : 0;
    d->length = v->size;
    d->fsType = vxm_strdup_opt (v->fstype, &oom);
    d->label = vxm_strdup_opt (v->label, &oom);
    d->uuid = vxm_strdup_opt (v->uuid, &oom);
    d->partType = vxm_strdup_opt (v->part_type, &oom);
    d->partUuid = vxm_strdup_opt (v->part_uuid, &oom);
    d->partName = vxm_strdup_opt (v->part_name, &oom);
    d->mountable = v->mountable;
    d->notMountableReason = vxm_strdup_opt (v->why_not, &oom);
    d->device = vxm_strdup_opt (vh->dev[0] ? vh->dev : vh->kdev[0] ? vh->kdev : NULL, &oom);
  }
  pthread_mutex_unlock (&vxm_glock);
  if (!d || oom) {
    Vixmount_FreeVolumeDetails (d);
    return VIX_E_OUT_OF_MEMORY;
  }
  *details = d;
  return VIX_OK;
}

API void
Vixmount_FreeVolumeDetails (VixmountVolumeDetails *d)
{
  if (!d)
    return;
  free (d->name);
  free (d->fsType);
  free (d->label);
  free (d->uuid);
  free (d->partType);
  free (d->partUuid);
  free (d->partName);
  free (d->notMountableReason);
  free (d->device);
  free (d);
}

API VixError
Vixmount_GetVolumeLayout (VixVolumeHandle volume, VixmountVolumeLayout **layout)
{
  struct VixVolumeHandleStruct *vh;
  VixmountVolumeLayout *l;
  bool oom = false;

  if (!layout)
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeLayout: NULL pointer");
  *layout = NULL;
  pthread_mutex_lock (&vxm_glock);
  vh = vxm_find_vol (volume);
  if (!vh) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeLayout: not a volume of an open disk set");
  }
  l = calloc (1, sizeof *l);
  if (l && vh->v->nseg > 0) {
    l->segments = calloc (vh->v->nseg, sizeof *l->segments);
    oom = !l->segments;
  }
  if (l && !oom) {
    l->numSegments = (uint32) vh->v->nseg;
    for (size_t i = 0; i < vh->v->nseg && !oom; i++) {
      const struct vx_segment *s = &vh->v->seg[i];
      VixmountSegment *d = &l->segments[i];
      d->start = s->start;
      d->length = s->length;
      d->numStripes = s->nstripes;
      d->disk = s->disk;
      d->offset = s->offset;
      d->stripeSize = s->stripe_size;
      if (s->nstripes == 0)
        continue;
      d->stripes = calloc (s->nstripes, sizeof *d->stripes);
      if (!d->stripes) {
        oom = true;
        break;
      }
      for (unsigned k = 0; k < s->nstripes; k++) {
        d->stripes[k].disk = s->stripe[k].disk;
        d->stripes[k].offset = s->stripe[k].offset;
      }
    }
  }
  pthread_mutex_unlock (&vxm_glock);
  if (!l || oom) {
    Vixmount_FreeVolumeLayout (l);
    return VIX_E_OUT_OF_MEMORY;
  }
  *layout = l;
  return VIX_OK;
}

API void
Vixmount_FreeVolumeLayout (VixmountVolumeLayout *l)
{
  if (!l)
    return;
  for (uint32 i = 0; l->segments && i < l->numSegments; i++)
    free (l->segments[i].stripes);
  free (l->segments);
  free (l);
}

/* libvixMntapi: disk sets.  A set = the locked VMDK files, its directory
 * and journal (mount/runtime.h), the FUSE bridge (and nbdkit for a
 * read-write set: spawn.c) and the volumes that discovery found in it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* ---- disk vxm_sets ----------------------------------------------------------------- */

static void
free_set (struct VixDiskSetHandleStruct *s)
{
  for (size_t i = 0; i < s->nvols && s->vh; i++) {
    s->vh[i].magic = DEAD_MAGIC;
    free (s->vh[i].dir);
    free (s->vh[i].file);
  }
  vxm_inspect_free (s);
  free (s->vh);
  vx_volumes_free (s->vols, s->nvols);
  for (size_t i = 0; i < s->ndisks; i++) {
    if (s->vd && s->vd[i])
      vmdk_close (s->vd[i]);
    if (s->paths)
      free (s->paths[i]);
  }
  free (s->vd);
  free (s->paths);
  for (size_t i = 0; s->kd && i < s->ndisks; i++)
    free (s->kd[i].parts);
  free (s->kd);
  free (s->bridge_why);
  free (s->sock);
  free (s->fuse_dir);
  free (s->log);
  vxm_state_close (&s->st);
  s->magic = DEAD_MAGIC;
  free (s);
}

/* Everything undone, whatever state the set is in (also half-opened). */
void
vxm_close_set (struct VixDiskSetHandleStruct *s)
{
  vxm_set_unlink (s);
  if (s->st.dir && vxm_teardown_dir (s->st.dir, true) == -1)
    vx_log (VX_ERROR, "CloseDiskSet: %s could not be removed completely; "
             "vixmount-cleanup or the next Init will retry", s->st.dir);
  free_set (s);
}

/* Discovery names disk I as "disk I (FILE)", FILE being what it read: the
 * bridge's file or /dev/nbdN.  The user knows the disk by its VMDK: say
 * that, and where it was read, in the message of LINE (printed as is if
 * nothing matches). */
static void
log_discovery (struct VixDiskSetHandleStruct *s, char **files, enum vx_level level,
               VixError code, const char *line)
{
  for (size_t i = 0; i < s->ndisks; i++) {
    char tag[PATH_MAX + 32];
    const char *at;
    snprintf (tag, sizeof tag, "disk %zu (%s)", i, files[i]);
    if ((at = strstr (line, tag))) {
      if (code != VIX_OK)
        vxm_fail (code, "OpenDisks: %.*sdisk %zu (%s, read as %s)%s", (int) (at - line), line,
                  i, s->paths[i], files[i], at + strlen (tag));
      else
        vx_log (level, "OpenDisks: %.*sdisk %zu (%s, read as %s)%s", (int) (at - line), line,
                i, s->paths[i], files[i], at + strlen (tag));
      return;
    }
  }
  if (code != VIX_OK)
    vxm_fail (code, "OpenDisks: %s", line);
  else
    vx_log (level, "OpenDisks: %s", line);
}

static VixError
discover (struct VixDiskSetHandleStruct *s)
{
  char **files = calloc (s->ndisks, sizeof *files), err[1024];
  uint64_t *sizes = calloc (s->ndisks, sizeof *sizes);
  VixError e = VIX_OK;

  if (!files || !sizes) {
    e = VIX_E_OUT_OF_MEMORY;
    goto out;
  }
  for (size_t i = 0; i < s->ndisks; i++) {
    /* the kernel's /dev/nbdN, or the FUSE bridge's file of the disk */
    if ((s->bridge == VX_BRIDGE_KERNEL ? asprintf (&files[i], "/dev/nbd%d", s->kd[i].index)
         : asprintf (&files[i], "%s/d%zu", s->fuse_dir, i)) < 0) {
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
    sizes[i] = vmdk_size (s->vd[i]);
  }
  err[0] = '\0';
  if (vx_discover ((const char *const *) files, sizes, s->ndisks, &s->vols, &s->nvols, err,
                   sizeof err) == -1) {
    e = VIX_E_MNTAPI_CANT_READ_PARTS;
    log_discovery (s, files, VX_ERROR, e, err);
    goto out;
  }
  for (char *line = err, *nl; *line; line = nl ? nl + 1 : line + strlen (line)) {
    nl = strchr (line, '\n');
    if (nl) *nl = '\0';
    if (*line)
      log_discovery (s, files, VX_WARNING, VIX_OK, line);   /* discovery's warnings */
  }
  s->vh = calloc (s->nvols ? s->nvols : 1, sizeof *s->vh);
  if (!s->vh) {
    e = VIX_E_OUT_OF_MEMORY;
    goto out;
  }
  for (size_t i = 0; i < s->nvols; i++) {
    s->vh[i].magic = VOL_MAGIC;
    s->vh[i].set = s;
    s->vh[i].v = &s->vols[i];
  }
  if (s->bridge == VX_BRIDGE_KERNEL)
    vxm_kernel_match (s);
 out:
  for (size_t i = 0; files && i < s->ndisks; i++)
    free (files[i]);
  free (files);
  free (sizes);
  return e;
}

/* The common body of OpenDisks and OpenDiskSet. */
static VixError
open_set (const char *const *names, size_t n, uint32 flags, bool lock,
          VixDiskSetHandle *handle)
{
  struct VixDiskSetHandleStruct *s;
  char err[1024];
  VixError e;

  if (!vxm_g.init)
    return vxm_fail (VIX_E_DISK_NOINIT, "OpenDisks: VixMntapi_Init was not called");
  if (n == 0 || n > MAX_DISKS)
    return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: %zu disks (1 to %d are possible)", n, MAX_DISKS);
  for (size_t i = 0; i < n; i++)
    if (!names[i] || !*names[i])
      return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: disk name %zu is empty", i);
  if (geteuid () != 0)
    return vxm_fail (VIX_E_MNTAPI_NO_ROOT, "OpenDisks: mounting needs root (loop devices, mounts)");

  s = calloc (1, sizeof *s);
  if (!s)
    return VIX_E_OUT_OF_MEMORY;
  s->magic = SET_MAGIC;
  s->flags = flags;
  s->readonly = (flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY) != 0;
  s->st.fd = -1;
  s->ndisks = n;
  s->paths = calloc (n, sizeof *s->paths);
  s->vd = calloc (n, sizeof *s->vd);
  if (!s->paths || !s->vd) {
    free_set (s);
    return VIX_E_OUT_OF_MEMORY;
  }
  /* Open and lock each disk: the engine validates it and finds conflicts
   * before anything is started. */
  for (size_t i = 0; i < n; i++) {
    struct vmdk_options o = {
      .flags = VMDK_OPEN_RDONLY
        | (lock ? VMDK_OPEN_LOCK | (s->readonly ? 0 : VMDK_OPEN_LOCK_EXCL) : 0)
        | ((flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK) ? VMDK_OPEN_SINGLE_LINK : 0),
    };
    struct vmdk_error ve;
    char real[PATH_MAX];
    if (!realpath (names[i], real)) {
      e = vxm_fail_errno (errno, "OpenDisks: %s", names[i]);
      goto fail;
    }
    s->paths[i] = strdup (real);
    s->vd[i] = s->paths[i] ? vmdk_open (real, &o, &ve) : NULL;
    if (!s->vd[i]) {
      e = s->paths[i] ? vxm_fail_vmdk ("OpenDisks", &ve) : VIX_E_OUT_OF_MEMORY;
      goto fail;
    }
  }
  if (vxm_state_create (vxm_g.base, &s->st, err, sizeof err) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: %s", err);
    goto fail;
  }
  if (asprintf (&s->fuse_dir, "%s/disks", s->st.dir) < 0
      || asprintf (&s->log, "%s/log", s->st.dir) < 0) {
    e = VIX_E_OUT_OF_MEMORY;
    goto fail;
  }
  s->id = strrchr (s->st.dir, '/') ? strrchr (s->st.dir, '/') + 1 : s->st.dir;
  vxm_set_link (s);
  /* The kernel bridge: nbdkit, each disk a /dev/nbdN.  The FUSE bridge: a
   * read-only set runs the bridge alone (it reads the VMDKs itself); a
   * read-write one writes through nbdkit and the plugin. */
  if ((e = vxm_choose_bridge (s)) != VIX_OK
      || (s->bridge == VX_BRIDGE_KERNEL && (e = vxm_kernel_attach (s)) != VIX_OK)
      || (s->bridge == VX_BRIDGE_FUSE && !s->readonly && (e = vxm_need_nbd (s)) != VIX_OK)
      || (s->bridge == VX_BRIDGE_FUSE && (e = vxm_start_bridge (s)) != VIX_OK)
      || (e = discover (s)) != VIX_OK) {
    vxm_close_set (s);
    return e;
  }
  vx_log (VX_AUDIT, "OpenDisks: %zu disk(s), %zu volume(s), %s, on the %s bridge, in %s", n,
          s->nvols, s->readonly ? "read-only" : "read-write",
          s->bridge == VX_BRIDGE_KERNEL ? "kernel" : "FUSE", s->st.dir);
  *handle = s;
  return VIX_OK;

 fail:
  if (s->st.dir)
    vxm_teardown_dir (s->st.dir, true);
  free_set (s);
  return e;
}

API VixError
VixMntapi_OpenDisks (VixDiskLibConnection connection, const char *diskNames[],
                     size_t numberOfDisks, uint32 openFlags, VixDiskSetHandle *handle)
{
  VixError e;

  (void) connection;   /* local files: nothing to connect to */
  if (!handle)
    return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: NULL handle pointer");
  *handle = NULL;
  if (!diskNames)
    return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: NULL disk names");
  pthread_mutex_lock (&vxm_glock);
  e = open_set (diskNames, numberOfDisks, openFlags, true, handle);
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

/* A set from disks the caller opened with VixDiskLib_Open.  The caller's
 * handles hold the disks' locks already (a second flock in this process
 * would conflict with them) and stay the caller's to close after
 * CloseDiskSet; the set must not be read-write if a handle is read-only. */
API VixError
VixMntapi_OpenDiskSet (VixDiskLibHandle diskHandles[], size_t numberOfDisks,
                       uint32 openMode, VixDiskSetHandle *handle)
{
  char **paths;
  VixError e = VIX_OK;
  uint32 mode = openMode;

  if (!handle)
    return vxm_fail (VIX_E_INVALID_ARG, "OpenDiskSet: NULL handle pointer");
  *handle = NULL;
  if (!diskHandles || numberOfDisks == 0 || numberOfDisks > MAX_DISKS)
    return vxm_fail (VIX_E_INVALID_ARG, "OpenDiskSet: %zu disk handles (1 to %d are possible)",
                 diskHandles ? numberOfDisks : 0, MAX_DISKS);
  paths = calloc (numberOfDisks, sizeof *paths);
  if (!paths)
    return VIX_E_OUT_OF_MEMORY;
  for (size_t i = 0; i < numberOfDisks && e == VIX_OK; i++) {
    uint32 flags = 0;
    paths[i] = malloc (PATH_MAX);
    if (!paths[i])
      e = VIX_E_OUT_OF_MEMORY;
    else if ((e = Vixmount_DiskLibGetDiskPath (diskHandles[i], paths[i], PATH_MAX, &flags))
             != VIX_OK)
      vxm_fail (e, "OpenDiskSet: disk handle %zu is not an open VixDiskLib disk", i);
    else if (flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY) {
      if (!(mode & VIXDISKLIB_FLAG_OPEN_READ_ONLY))
        vx_log (VX_WARNING, "OpenDiskSet: %s is open read-only, so the set is read-only", paths[i]);
      mode |= VIXDISKLIB_FLAG_OPEN_READ_ONLY;
    }
  }
  if (e == VIX_OK) {
    pthread_mutex_lock (&vxm_glock);
    e = open_set ((const char *const *) paths, numberOfDisks, mode, false, handle);
    pthread_mutex_unlock (&vxm_glock);
  }
  for (size_t i = 0; i < numberOfDisks; i++)
    free (paths[i]);
  free (paths);
  return e;
}

API VixError
VixMntapi_CloseDiskSet (VixDiskSetHandle diskSet)
{
  struct VixDiskSetHandleStruct *s;

  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "CloseDiskSet: not an open disk set");
  }
  vxm_close_set (s);
  pthread_mutex_unlock (&vxm_glock);
  return VIX_OK;
}

API VixError
VixMntapi_GetDiskSetInfo (VixDiskSetHandle handle, VixDiskSetInfo **info)
{
  struct VixDiskSetHandleStruct *s;
  VixDiskSetInfo *i;

  if (!info)
    return vxm_fail (VIX_E_INVALID_ARG, "GetDiskSetInfo: NULL info pointer");
  *info = NULL;
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (handle);
  if (!s) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetDiskSetInfo: not an open disk set");
  }
  i = calloc (1, sizeof *i);
  if (i && !(i->mountPath = strdup (s->st.dir))) {
    free (i);
    i = NULL;
  }
  if (i)
    i->openFlags = s->flags;
  pthread_mutex_unlock (&vxm_glock);
  if (!i)
    return VIX_E_OUT_OF_MEMORY;
  *info = i;
  return VIX_OK;
}

API void
VixMntapi_FreeDiskSetInfo (VixDiskSetInfo *info)
{
  if (!info)
    return;
  free (info->mountPath);
  free (info);
}

API VixError
VixMntapi_GetVolumeHandles (VixDiskSetHandle diskSet, size_t *numberOfVolumes,
                            VixVolumeHandle *volumeHandles[])
{
  struct VixDiskSetHandleStruct *s;
  VixVolumeHandle *a;

  if (numberOfVolumes) *numberOfVolumes = 0;
  if (volumeHandles) *volumeHandles = NULL;
  if (!numberOfVolumes || !volumeHandles)
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeHandles: NULL out pointer");
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetVolumeHandles: not an open disk set");
  }
  a = calloc (s->nvols + 1, sizeof *a);       /* the array is the caller's */
  for (size_t i = 0; a && i < s->nvols; i++)
    a[i] = &s->vh[i];
  if (a)
    *numberOfVolumes = s->nvols;
  pthread_mutex_unlock (&vxm_glock);
  if (!a)
    return VIX_E_OUT_OF_MEMORY;
  *volumeHandles = a;
  return VIX_OK;
}

API void
VixMntapi_FreeVolumeHandles (VixVolumeHandle *volumeHandles)
{
  free (volumeHandles);   /* the volumes belong to the set */
}

/* ---- vixmount extension (cli: vixmount mount) ---------------------------- */

API VixError
Vixmount_RecordMountPoint (VixDiskSetHandle diskSet, const char *dir)
{
  struct VixDiskSetHandleStruct *s;
  VixError e = VIX_OK;

  if (!dir || dir[0] != '/')
    return vxm_fail (VIX_E_INVALID_ARG, "RecordMountPoint: not an absolute path: %s",
                     dir ? dir : "(null)");
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s)
    e = vxm_fail (VIX_E_INVALID_ARG, "RecordMountPoint: not an open disk set");
  else if (vxm_state_add (&s->st, "extmount %s", dir) == -1)
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "RecordMountPoint: cannot write %s/state",
                  s->st.dir);
  pthread_mutex_unlock (&vxm_glock);
  return e;
}

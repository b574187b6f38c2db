/* libvixMntapi: guest inspection -- VixMntapi_GetOsInfo, the in-guest
 * mount points of VixMntapi_GetVolumeInfo, and Vixmount_Inspect
 * (vixMntapiExt.h).  What is read inside the guest is mntapi/inspect's
 * (inspect.h); here: which volumes to look at, mounting them, and matching
 * fstab entries and drive letters to the set's volumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Filesystems an operating system's root or Windows directory lives on. */
static bool
os_fs (const char *t)
{
  static const char *const fs[] = { "ext4", "ext3", "ext2", "xfs", "btrfs", "ntfs", NULL };
  for (size_t i = 0; t && fs[i]; i++)
    if (!strcmp (t, fs[i]))
      return true;
  return false;
}

/* Appends a copy of MP to VH's guest mount points (FIRST: in front),
 * unless it is there already.  -1 when out of memory. */
static int
add_gmp (struct VixVolumeHandleStruct *vh, const char *mp, bool first)
{
  char **n, *c;

  for (size_t i = 0; i < vh->ngmp; i++)
    if (!strcmp (vh->gmp[i], mp))
      return 0;
  if (!(c = strdup (mp)) || !(n = realloc (vh->gmp, (vh->ngmp + 1) * sizeof *n))) {
    free (c);
    return -1;
  }
  vh->gmp = n;
  if (first) {
    memmove (n + 1, n, vh->ngmp * sizeof *n);
    n[0] = c;
  }
  else
    n[vh->ngmp] = c;
  vh->ngmp++;
  return 0;
}

static int
letter_cmp (const void *a, const void *b)
{
  return ((const struct vx_win_letter *) a)->letter - ((const struct vx_win_letter *) b)->letter;
}

/* The guest's mount points of every volume (fstab; MountedDevices). */
static int
match_mount_points (struct VixDiskSetHandleStruct *s)
{
  struct vx_guest *g = &s->guest;

  if (g->kind == VX_GUEST_LINUX) {
    for (size_t i = 0; i < g->nfstab; i++) {
      const struct vx_fstab_entry *e = &g->fstab[i];
      long k;
      if (e->dir[0] != '/')
        continue;                               /* swap */
      if ((k = vx_fstab_match (e->spec, s->vols, s->nvols)) < 0) {
        if (k == -1)    /* a disk missing from the set, most likely */
          vx_log (VX_WARNING, "GetOsInfo: the guest's fstab mounts %s on %s: not a volume "
                  "of this disk set", e->spec, e->dir);
        continue;
      }
      if (add_gmp (&s->vh[k], e->dir, false) == -1)
        return -1;
    }
    /* the root is "/" even when fstab does not say so */
    if (add_gmp (&s->vh[s->sysvol], "/", true) == -1)
      return -1;
  }
  else if (g->kind == VX_GUEST_WINDOWS) {
    if (g->nletters)
      qsort (g->letters, g->nletters, sizeof *g->letters, letter_cmp);
    for (size_t i = 0; i < g->nletters; i++) {
      char d[3] = { g->letters[i].letter, ':', '\0' };
      long k = vx_win_letter_match (&g->letters[i], s->vols, s->nvols);
      if (k >= 0 && add_gmp (&s->vh[k], d, false) == -1)
        return -1;
    }
    if (g->system_drive && add_gmp (&s->vh[s->sysvol], g->system_drive, true) == -1)
      return -1;
  }
  return 0;
}

VixError
vxm_inspect (struct VixDiskSetHandleStruct *s)
{
  char looked[1024] = "", err[1024];
  size_t ll = 0;

  if (s->inspected)
    return VIX_OK;
  s->sysvol = -1;
  for (size_t i = 0; i < s->nvols; i++) {
    struct VixVolumeHandleStruct *vh = &s->vh[i];
    struct vx_guest g;
    bool ours = false;

    if (!vh->v->mountable || !os_fs (vh->v->fstype))
      continue;
    if (ll < sizeof looked)
      ll += (size_t) snprintf (looked + ll, sizeof looked - ll, "%s%s (%s)", ll ? ", " : "",
                               vh->v->name, vh->v->fstype);
    if (!vh->mounted) {
      if (vxm_mount_volume (vh, true) != VIX_OK) {
        vx_log (VX_WARNING, "GetOsInfo: %s could not be mounted to look for an OS",
                vh->v->name);
        continue;
      }
      ours = true;
    }
    if (vx_inspect_root (vh->dir, 0, &g, err, sizeof err) == -1)
      vx_log (VX_WARNING, "GetOsInfo: %s: %s", vh->v->name, err);
    else if (g.kind != VX_GUEST_NONE) {
      s->guest = g;
      s->sysvol = (long) i;
      vx_log (VX_INFO, "GetOsInfo: %s holds %s %s (%s)%s", vh->v->name,
              g.kind == VX_GUEST_WINDOWS ? "Windows" : "Linux",
              g.product ? g.product : g.vendor ? g.vendor : "", g.version ? g.version : "?",
              ours ? "; it stays mounted read-only" : "");
      for (char *n = g.notes; n && *n;) {
        char *nl = strchr (n, '\n');
        int len = nl ? (int) (nl - n) : (int) strlen (n);
        vx_log (VX_WARNING, "GetOsInfo: %s: %.*s", vh->v->name, len, n);
        n += len + (nl != NULL);
      }
      break;
    }
    else
      vx_guest_free (&g);
    if (ours)
      vxm_dismount_volume (vh, true);
  }
  if (s->sysvol < 0) {
    if (asprintf (&s->no_os, "no operating system found on the disk set (%s%s)",
                  ll ? "looked at " : "no volume with a filesystem an OS is installed on",
                  looked) < 0) {
      s->no_os = NULL;
      return VIX_E_OUT_OF_MEMORY;
    }
  }
  else if (match_mount_points (s) == -1) {
    vxm_inspect_free (s);
    return VIX_E_OUT_OF_MEMORY;
  }
  s->inspected = true;
  return VIX_OK;
}

void
vxm_inspect_free (struct VixDiskSetHandleStruct *s)
{
  for (size_t i = 0; s->vh && i < s->nvols; i++) {
    for (size_t k = 0; k < s->vh[i].ngmp; k++)
      free (s->vh[i].gmp[k]);
    free (s->vh[i].gmp);
    s->vh[i].gmp = NULL;
    s->vh[i].ngmp = 0;
  }
  vx_guest_free (&s->guest);
  free (s->no_os);
  s->no_os = NULL;
  s->inspected = false;
}

/* The OS folder on this host: the root's mount directory, or the Windows
 * directory in it. */
static char *
os_folder (struct VixDiskSetHandleStruct *s)
{
  struct VixVolumeHandleStruct *vh = &s->vh[s->sysvol];
  char *f;

  if (!vh->mounted || !vh->dir)
    return NULL;
  if (!s->guest.os_folder || !s->guest.os_folder[0])
    return strdup (vh->dir);
  return asprintf (&f, "%s/%s", vh->dir, s->guest.os_folder) < 0 ? NULL : f;
}

API VixError
VixMntapi_GetOsInfo (VixDiskSetHandle diskSet, VixOsInfo **info)
{
  struct VixDiskSetHandleStruct *s;
  VixOsInfo *o = NULL;
  VixError e;
  bool oom = false;

  if (info)
    *info = NULL;
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s || !info)
    e = vxm_fail (VIX_E_INVALID_ARG, "GetOsInfo: %s", s ? "NULL info pointer"
                  : "not an open disk set");
  else if ((e = vxm_inspect (s)) != VIX_OK)
    e = vxm_fail (e, "GetOsInfo: out of memory");
  else if (s->sysvol < 0)
    e = vxm_fail (VIX_E_MNTAPI_ITEM_NOT_FOUND, "GetOsInfo: %s", s->no_os);
  else if (!(o = calloc (1, sizeof *o)))
    e = VIX_E_OUT_OF_MEMORY;
  else {
    struct vx_guest *g = &s->guest;
    o->family = g->kind == VX_GUEST_WINDOWS ? VIXMNTAPI_WINDOWS : VIXMNTAPI_OTHER;
    o->majorVersion = g->major;
    o->minorVersion = g->minor;
    o->osIs64Bit = g->is64;
    o->vendor = vxm_strdup_opt (g->vendor ? g->vendor : "", &oom);
    o->edition = vxm_strdup_opt (g->edition ? g->edition : "", &oom);
    if (!(o->osFolder = os_folder (s)))
      oom = true;
    e = VIX_OK;
  }
  pthread_mutex_unlock (&vxm_glock);
  if (e == VIX_OK && oom) {
    VixMntapi_FreeOsInfo (o);
    return VIX_E_OUT_OF_MEMORY;
  }
  if (e == VIX_OK)
    *info = o;
  return e;
}

API void
VixMntapi_FreeOsInfo (VixOsInfo *info)
{
  if (!info)
    return;
  free (info->vendor);
  free (info->edition);
  free (info->osFolder);
  free (info);
}

API VixError
Vixmount_Inspect (VixDiskSetHandle diskSet, VixmountInspection **out)
{
  struct VixDiskSetHandleStruct *s;
  VixmountInspection *r = NULL;
  VixError e;
  bool oom = false;

  if (out)
    *out = NULL;
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s || !out)
    e = vxm_fail (VIX_E_INVALID_ARG, "Inspect: %s", s ? "NULL pointer" : "not an open disk set");
  else if ((e = vxm_inspect (s)) != VIX_OK)
    e = vxm_fail (e, "Inspect: out of memory");
  else if (!(r = calloc (1, sizeof *r))
           || !(r->volumes = calloc (s->nvols ? s->nvols : 1, sizeof *r->volumes)))
    e = VIX_E_OUT_OF_MEMORY;
  else {
    struct vx_guest *g = &s->guest;
    r->family = s->sysvol < 0 ? VIXMNTAPI_NO_OS
      : g->kind == VX_GUEST_WINDOWS ? VIXMNTAPI_WINDOWS : VIXMNTAPI_OTHER;
    r->majorVersion = g->major;
    r->minorVersion = g->minor;
    r->osIs64Bit = g->is64;
    if (s->sysvol >= 0) {
      r->vendor = vxm_strdup_opt (g->vendor ? g->vendor : "", &oom);
      r->edition = vxm_strdup_opt (g->edition ? g->edition : "", &oom);
      if (!(r->osFolder = os_folder (s)))
        oom = true;
      r->systemVolume = vxm_strdup_opt (s->vols[s->sysvol].name, &oom);
    }
    r->distribution = vxm_strdup_opt (g->distro, &oom);
    r->productName = vxm_strdup_opt (g->product, &oom);
    r->version = vxm_strdup_opt (g->version, &oom);
    r->build = vxm_strdup_opt (g->build, &oom);
    r->hostname = vxm_strdup_opt (g->hostname, &oom);
    r->architecture = vxm_strdup_opt (g->arch, &oom);
    r->noOsReason = vxm_strdup_opt (s->no_os, &oom);
    r->notes = vxm_strdup_opt (g->notes, &oom);
    for (size_t i = 0; i < s->nvols; i++) {
      VixmountGuestVolume *gv = &r->volumes[i];
      struct VixVolumeHandleStruct *vh = &s->vh[i];
      r->numVolumes++;
      gv->name = vxm_strdup_opt (vh->v->name, &oom);
      gv->fsType = vxm_strdup_opt (vh->v->fstype, &oom);
      gv->label = vxm_strdup_opt (vh->v->label, &oom);
      gv->uuid = vxm_strdup_opt (vh->v->uuid, &oom);
      if (vh->ngmp && !(gv->guestMountPoints = calloc (vh->ngmp, sizeof (char *)))) {
        oom = true;
        continue;
      }
      for (size_t k = 0; k < vh->ngmp; k++) {
        gv->numGuestMountPoints++;
        gv->guestMountPoints[k] = vxm_strdup_opt (vh->gmp[k], &oom);
      }
    }
    e = VIX_OK;
  }
  pthread_mutex_unlock (&vxm_glock);
  if (e == VIX_OK && oom)
    e = VIX_E_OUT_OF_MEMORY;
  if (e != VIX_OK) {
    Vixmount_FreeInspection (r);
    return e;
  }
  *out = r;
  return VIX_OK;
}

API void
Vixmount_FreeInspection (VixmountInspection *r)
{
  if (!r)
    return;
  free (r->vendor);
  free (r->edition);
  free (r->osFolder);
  free (r->distribution);
  free (r->productName);
  free (r->version);
  free (r->build);
  free (r->hostname);
  free (r->architecture);
  free (r->systemVolume);
  free (r->noOsReason);
  free (r->notes);
  for (uint32_t i = 0; r->volumes && i < r->numVolumes; i++) {
    VixmountGuestVolume *gv = &r->volumes[i];
    free (gv->name);
    free (gv->fsType);
    free (gv->label);
    free (gv->uuid);
    for (size_t k = 0; k < gv->numGuestMountPoints; k++)
      free (gv->guestMountPoints[k]);
    free (gv->guestMountPoints);
  }
  free (r->volumes);
  free (r);
}

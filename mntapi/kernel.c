/* libvixMntapi: the kernel bridge of a disk set.
 *
 * nbdkit serves the set's disks on the set's private socket; each disk
 * becomes a /dev/nbdN (bridge/kernel: netlink, or the ioctls), whose
 * partitions the kernel reads itself; filesystems mount from those
 * partitions with the kernel's own drivers.  A read-only set's exports are
 * copy-on-write views (nbdkit's cow filter over the plugin, which opens the
 * VMDKs read-only), so a dirty journal replays into the overlay.  A volume
 * the kernel's partitions do not give exactly (one the kernel did not see,
 * one of several segments, or a read-only mount in a read-write set) gets a
 * private device-mapper table.
 *
 * Every device is journalled before it is made: "nbd BACKEND" before the
 * attach (teardown finds the device by its backend identifier even when
 * the attach's answer was never written), "nbddev INDEX BACKEND" after it,
 * "dm NAME" before a table is created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const char *
bridge_name (enum vx_bridge b)
{
  return b == VX_BRIDGE_KERNEL ? "kernel" : b == VX_BRIDGE_FUSE ? "fuse" : "auto";
}

/* `modprobe nbd` is tried once per process: it does not start to work
 * later by itself. */
static bool modprobe_tried;

VixError
vxm_choose_bridge (struct VixDiskSetHandleStruct *s)
{
  const char *env = getenv ("VIXMOUNT_BRIDGE");
  enum vx_bridge want = vxm_g.bridge ? vxm_g.bridge : VX_BRIDGE_AUTO;
  const char *from = vxm_g.bridge ? "the configuration (vixmount.bridge)" : "default";
  bool usable;
  int r;

  if (env && *env) {
    if ((r = vx_bridge_parse (env)) == -1)
      return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: VIXMOUNT_BRIDGE=\"%s\" is not auto, "
                       "kernel or fuse", env);
    want = (enum vx_bridge) r;
    from = "VIXMOUNT_BRIDGE";
  }
  free (s->bridge_why);
  s->bridge_why = NULL;
  if (want == VX_BRIDGE_FUSE) {
    s->bridge = VX_BRIDGE_FUSE;
    r = asprintf (&s->bridge_why, "fuse, chosen by %s", from);
  }
  else {
    usable = vxk_nbd_usable (!modprobe_tried);
    modprobe_tried = true;
    if (want == VX_BRIDGE_KERNEL && !usable)
      return vxm_fail (VIX_E_MNTAPI_NO_DRIVER, "OpenDisks: the kernel bridge was asked for (%s) "
                       "but this kernel has no nbd driver (modprobe nbd failed)", from);
    s->bridge = usable ? VX_BRIDGE_KERNEL : VX_BRIDGE_FUSE;
    r = want == VX_BRIDGE_KERNEL
      ? asprintf (&s->bridge_why, "kernel, chosen by %s", from)
      : usable ? asprintf (&s->bridge_why, "kernel, chosen automatically: the kernel has nbd")
      : asprintf (&s->bridge_why, "fuse, chosen automatically: the kernel has no nbd driver");
  }
  if (r < 0) {
    s->bridge_why = NULL;
    return VIX_E_OUT_OF_MEMORY;
  }
  vx_log (VX_INFO, "OpenDisks: bridge %s", s->bridge_why);
  return VIX_OK;
}

static unsigned
connections (void)
{
  const char *e = getenv ("VIXMOUNT_NBD_CONNECTIONS");
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  if (e && *e)
    n = strtol (e, NULL, 10);
  return n < 1 ? 1 : n > 4 ? 4 : (unsigned) n;
}

/* The largest request the kernel sends nbdkit: 1 MiB (the kernel's 128 KiB
 * cut a 4 MiB read-ahead into 32 round trips; in the guest benchmark 1 MiB
 * read 1.3x faster); VIXMOUNT_NBD_MAX_REQUEST_KB overrides it. */
static unsigned
request_kb (void)
{
  const char *e = getenv ("VIXMOUNT_NBD_MAX_REQUEST_KB");
  unsigned long v = e && *e ? strtoul (e, NULL, 10) : 1024;
  return v > 32768 ? 32768 : (unsigned) v;
}

/* Where udev reads rules from; vixmount's own (bridge/kernel/59-vixmount.rules)
 * keeps the host's rules -- LVM auto-activation above all -- away from our
 * NBD devices. */
static void
check_udev_rules (void)
{
  static const char *const dirs[] = { "/etc/udev/rules.d", "/run/udev/rules.d",
                                      "/usr/lib/udev/rules.d", "/lib/udev/rules.d", NULL };
  char p[128];

  if (access ("/run/udev/control", F_OK) != 0)
    return;                             /* no udev running: nothing to keep away */
  for (size_t i = 0; dirs[i]; i++) {
    snprintf (p, sizeof p, "%s/59-vixmount.rules", dirs[i]);
    if (access (p, F_OK) == 0)
      return;
  }
  vx_log (VX_WARNING, "OpenDisks: udev runs here but vixmount's udev rules "
          "(59-vixmount.rules, installed by make install) are not: the host's own rules "
          "may activate LVM volume groups of the guest on its /dev/nbdN devices");
}

VixError
vxm_kernel_attach (struct VixDiskSetHandleStruct *s)
{
  const char *ifenv = getenv ("VIXMOUNT_NBD_INTERFACE");
  enum vxk_iface iface = VXK_AUTO;
  VixError e;

  if (ifenv && *ifenv) {
    if (strcmp (ifenv, "netlink") == 0) iface = VXK_NETLINK;
    else if (strcmp (ifenv, "ioctl") == 0) iface = VXK_IOCTL;
    else if (strcmp (ifenv, "auto") != 0)
      return vxm_fail (VIX_E_INVALID_ARG, "OpenDisks: VIXMOUNT_NBD_INTERFACE=\"%s\" is not "
                       "netlink, ioctl or auto", ifenv);
  }
  s->kd = calloc (s->ndisks, sizeof *s->kd);
  if (!s->kd)
    return VIX_E_OUT_OF_MEMORY;
  for (size_t i = 0; i < s->ndisks; i++)
    s->kd[i].index = -1;
  check_udev_rules ();
  if ((e = vxm_need_nbd (s)) != VIX_OK)
    return e;
  for (size_t i = 0; i < s->ndisks; i++) {
    char backend[128], name[24], err[512];
    struct vxk_device dev;
    struct vxk_attach a = {
      .socket = s->sock, .export_name = name, .backend = backend,
      .max_conns = connections (), .iface = iface,
      .read_ahead_kb = 4096,    /* as the FUSE bridge's loop devices */
      .max_request_kb = request_kb (),
    };
    snprintf (name, sizeof name, "%zu", i);
    snprintf (backend, sizeof backend, "vixmount:%s:d%zu", s->id, i);
    if (vxm_state_add (&s->st, "nbd %s", backend) == -1)
      return vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot write %s/state",
                       s->st.dir);
    if (vxk_nbd_attach (&a, &dev, err, sizeof err) == -1)
      return vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: %s: cannot attach it to a kernel NBD "
                       "device: %s", s->paths[i], err);
    if (dev.holder > 0)
      vxm_state_add (&s->st, "pid nbd-ioctl %d %llu", (int) dev.holder,
                     vxm_proc_start (dev.holder));
    vxm_state_add (&s->st, "nbddev %d %s %d", dev.index, backend, (int) dev.holder);
    s->kd[i].index = dev.index;
    s->kd[i].nconns = dev.nconns;
    s->kd[i].iface = dev.iface;
    s->kd[i].holder = dev.holder;
    if (vxk_nbd_partitions (dev.index, &s->kd[i].parts, &s->kd[i].nparts) == -1)
      return vxm_fail (VIX_E_MNTAPI_CANT_READ_PARTS, "OpenDisks: /dev/nbd%d: cannot list its "
                       "partitions: %s", dev.index, strerror (errno));
    vx_log (VX_INFO, "OpenDisks: disk %zu (%s) is /dev/nbd%d (%s, %u connection%s, "
            "%zu partition%s)", i, s->paths[i], dev.index,
            dev.iface == VXK_NETLINK ? "netlink" : "ioctl", dev.nconns,
            dev.nconns == 1 ? "" : "s", s->kd[i].nparts, s->kd[i].nparts == 1 ? "" : "s");
  }
  return VIX_OK;
}

void
vxm_kernel_match (struct VixDiskSetHandleStruct *s)
{
  for (size_t k = 0; k < s->nvols; k++) {
    struct VixVolumeHandleStruct *vh = &s->vh[k];
    struct vx_volume *v = vh->v;
    struct vxm_kdisk *kd;

    vh->kdev[0] = '\0';
    if (v->nseg != 1 || v->seg[0].nstripes || v->kind == VX_VOL_LVM
        || v->seg[0].disk >= s->ndisks)
      continue;                 /* composed: device-mapper */
    kd = &s->kd[v->seg[0].disk];
    if (v->kind == VX_VOL_WHOLE_DISK) {
      snprintf (vh->kdev, sizeof vh->kdev, "/dev/nbd%d", kd->index);
      continue;
    }
    if (v->kind == VX_VOL_MBR_EXTENDED)
      continue;                 /* a container: the kernel shows 1 KiB of it */
    for (size_t p = 0; p < kd->nparts; p++) {
      const struct vxk_part *kp = &kd->parts[p];
      if ((int) kp->partno != v->partno)
        continue;
      if (kp->start == v->seg[0].offset && kp->size == v->seg[0].length) {
        snprintf (vh->kdev, sizeof vh->kdev, "/dev/nbd%dp%u", kd->index, kp->partno);
        vx_log (VX_VERBOSE, "OpenDisks: %s is %s (offset %llu, %llu bytes, as discovered)",
                v->name, vh->kdev, (unsigned long long) kp->start,
                (unsigned long long) kp->size);
      }
      else
        vx_log (VX_WARNING, "OpenDisks: %s: the kernel's partition %u of /dev/nbd%d is at "
                "%llu, %llu bytes; discovery found %llu, %llu bytes: it will be mapped "
                "with device-mapper", v->name, kp->partno, kd->index,
                (unsigned long long) kp->start, (unsigned long long) kp->size,
                (unsigned long long) v->seg[0].offset, (unsigned long long) v->seg[0].length);
      break;
    }
    if (!vh->kdev[0] && v->mountable)
      vx_log (VX_VERBOSE, "OpenDisks: %s: no kernel partition matches; it will be mapped with "
              "device-mapper", v->name);
  }
}

/* The device and offset (sectors) to name bytes [off, off+len) of disk
 * DISK in a dm table: the kernel's partition holding them if there is one,
 * else the whole /dev/nbdN.  A partition, not the disk: the kernel lets no
 * one claim a disk one of whose partitions is claimed (mounted), and dm
 * claims the devices of its tables. */
static void
piece (struct VixDiskSetHandleStruct *s, unsigned disk, uint64_t off, uint64_t len,
       char *dev, size_t devlen, uint64_t *sector)
{
  const struct vxm_kdisk *kd = &s->kd[disk];
  for (size_t p = 0; p < kd->nparts; p++) {
    const struct vxk_part *kp = &kd->parts[p];
    if (kp->size && off >= kp->start && off - kp->start <= kp->size
        && len <= kp->size - (off - kp->start)) {
      snprintf (dev, devlen, "/dev/nbd%dp%u", kd->index, kp->partno);
      *sector = (off - kp->start) / 512;
      return;
    }
  }
  snprintf (dev, devlen, "/dev/nbd%d", kd->index);
  *sector = off / 512;
}

/* The bytes a stripe of segment g covers on its disk. */
static uint64_t
stripe_bytes (const struct vx_segment *g)
{
  return g->length / g->nstripes;
}

VixError
vxm_kernel_volume_dev (struct VixVolumeHandleStruct *vh, bool readonly)
{
  struct VixDiskSetHandleStruct *s = vh->set;
  struct vx_volume *v = vh->v;
  struct vxk_dm_target *t;
  char **params, uuid[160], err[512];
  VixError e = VIX_OK;

  vh->dmname[0] = '\0';
  if (vh->kdev[0] && !readonly) {
    snprintf (vh->dev, sizeof vh->dev, "%s", vh->kdev);
    return VIX_OK;
  }
  /* a private table: a linear target per segment, read-only if asked */
  if (!vxk_dm_usable (true))
    return vxm_fail (VIX_E_MNTAPI_NO_DRIVER, "MountVolume: %s needs device-mapper, which this "
                     "kernel lacks (modprobe dm-mod failed)", v->name);
  t = calloc (v->nseg, sizeof *t);
  params = calloc (v->nseg, sizeof *params);
  if (!t || !params) {
    free (t);
    free (params);
    return VIX_E_OUT_OF_MEMORY;
  }
  /* one target per segment, as device-mapper lays them out: linear
   * ("DEV OFFSET") or striped ("N CHUNK DEV OFFSET ..."), in sectors */
  for (size_t i = 0; i < v->nseg && e == VIX_OK; i++) {
    const struct vx_segment *g = &v->seg[i];
    size_t cap = 64 + (g->nstripes ? g->nstripes : 1) * 48, len = 0;
    bool ok = g->length && g->length % 512 == 0 && g->start % 512 == 0;
    if (!(params[i] = malloc (cap))) {
      e = VIX_E_OUT_OF_MEMORY;
      break;
    }
    if (g->nstripes == 0) {
      ok = ok && g->disk < s->ndisks && g->offset % 512 == 0;
      if (ok) {
        char dev[64];
        uint64_t sec;
        piece (s, g->disk, g->offset, g->length, dev, sizeof dev, &sec);
        snprintf (params[i], cap, "%s %llu", dev, (unsigned long long) sec);
      }
    }
    else {
      ok = ok && g->stripe_size && g->stripe_size % 512 == 0;
      len = (size_t) snprintf (params[i], cap, "%u %llu", g->nstripes,
                               (unsigned long long) (g->stripe_size / 512));
      for (unsigned k = 0; ok && k < g->nstripes; k++) {
        char dev[64];
        uint64_t sec;
        ok = g->stripe[k].disk < s->ndisks && g->stripe[k].offset % 512 == 0;
        if (!ok)
          break;
        piece (s, g->stripe[k].disk, g->stripe[k].offset, stripe_bytes (g), dev, sizeof dev,
               &sec);
        len += (size_t) snprintf (params[i] + len, cap - len, " %s %llu", dev,
                                  (unsigned long long) sec);
      }
    }
    if (!ok)
      e = vxm_fail (VIX_E_MNTAPI_PARTITION_RANGE, "MountVolume: %s: segment %zu is not whole "
                    "sectors of the disks of the set", v->name, i);
    else
      t[i] = (struct vxk_dm_target) { g->start / 512, g->length / 512,
                                      g->nstripes ? "striped" : "linear", params[i] };
  }
  /* file-safe names ("VG-LV", dashes doubled), never a '/' */
  snprintf (vh->dmname, sizeof vh->dmname, "vixmount-%s-%s", s->id, vx_volume_fname (v));
  snprintf (uuid, sizeof uuid, "VIXMOUNT-%s-%s", s->id, vx_volume_fname (v));
  if (e == VIX_OK && vxm_state_add (&s->st, "dm %s", vh->dmname) == -1)
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "MountVolume: cannot write %s/state",
                  s->st.dir);
  if (e == VIX_OK && vxk_dm_create (vh->dmname, uuid, t, v->nseg, readonly, vh->dev,
                                    sizeof vh->dev, err, sizeof err) == -1)
    e = vxm_fail (VIX_E_MNTAPI_OS_ERROR, "MountVolume: %s: %s", v->name, err);
  if (e == VIX_OK)
    vx_log (VX_VERBOSE, "MountVolume: %s is %s (device-mapper %s, %zu segment%s%s)", v->name,
            vh->dev, vh->dmname, v->nseg, v->nseg == 1 ? "" : "s", readonly ? ", read-only" : "");
  else
    vh->dmname[0] = vh->dev[0] = '\0';
  for (size_t i = 0; i < v->nseg; i++)
    free (params[i]);
  free (params);
  free (t);
  return e;
}

void
vxm_kernel_volume_release (struct VixVolumeHandleStruct *vh, bool force)
{
  char err[512];
  int r = vh->dmname[0] ? vxk_dm_remove (vh->dmname, force, err, sizeof err) : 0;
  if (r == -1)
    vx_log (VX_ERROR, "DismountVolume: %s: %s", vh->v->name, err);
  else if (r == 1)
    vx_log (VX_INFO, "DismountVolume: %s: %s is still open (a lazily unmounted filesystem); "
            "the kernel removes it when its last file closes", vh->v->name, vh->dmname);
  vh->dmname[0] = '\0';
  vh->dev[0] = '\0';
}

API VixError
Vixmount_GetBridgeInfo (VixDiskSetHandle diskSet, VixmountBridgeInfo **info)
{
  struct VixDiskSetHandleStruct *s;
  VixmountBridgeInfo *b;
  bool ok;

  if (!info)
    return vxm_fail (VIX_E_INVALID_ARG, "GetBridgeInfo: NULL info pointer");
  *info = NULL;
  pthread_mutex_lock (&vxm_glock);
  s = vxm_find_set (diskSet);
  if (!s) {
    pthread_mutex_unlock (&vxm_glock);
    return vxm_fail (VIX_E_INVALID_ARG, "GetBridgeInfo: not an open disk set");
  }
  b = calloc (1, sizeof *b);
  ok = b && (b->bridge = strdup (bridge_name (s->bridge)))
    && (b->reason = strdup (s->bridge_why ? s->bridge_why : ""))
    && (b->diskDevices = calloc (s->ndisks + 1, sizeof *b->diskDevices));
  if (ok) {
    b->numDisks = (uint32) s->ndisks;
    for (size_t i = 0; ok && i < s->ndisks; i++)
      ok = (s->bridge == VX_BRIDGE_KERNEL
            ? asprintf (&b->diskDevices[i], "/dev/nbd%d", s->kd[i].index)
            : asprintf (&b->diskDevices[i], "%s/d%zu", s->fuse_dir, i)) >= 0;
    if (ok && s->bridge == VX_BRIDGE_KERNEL && s->ndisks) {
      b->nbdConnections = s->kd[0].nconns;
      ok = (b->nbdInterface = strdup (s->kd[0].iface == VXK_NETLINK ? "netlink" : "ioctl"))
        != NULL;
    }
  }
  pthread_mutex_unlock (&vxm_glock);
  if (!ok) {
    Vixmount_FreeBridgeInfo (b);
    return VIX_E_OUT_OF_MEMORY;
  }
  *info = b;
  return VIX_OK;
}

API void
Vixmount_FreeBridgeInfo (VixmountBridgeInfo *info)
{
  if (!info)
    return;
  free (info->bridge);
  free (info->reason);
  for (size_t i = 0; info->diskDevices && i < info->numDisks; i++)
    free (info->diskDevices[i]);
  free (info->diskDevices);
  free (info->nbdInterface);
  free (info);
}

/* libvixMntapi internals shared by its source files (never installed).
 *
 * The Virtual Disk Mount API on the userspace bridge (docs/readonly-path.md).
 *
 * A read-only disk set = one vixmount-fuse exposing each disk (files "d0",
 * "d1", ...) and each mounted volume as a file, reading the VMDKs
 * in-process with the engine (--vmdk dN=PATH, local exports: no NBD server
 * runs) and writing into a private copy-on-write overlay (--cow, common/cow),
 * so that dirty journals replay into it and never into the source; and per
 * mounted volume a loop device and a kernel (or FUSE driver) mount.
 *
 * A read-write disk set = one nbdkit with the vmdk plugin serving the disks
 * (exports "0", "1", ...) on a private unix socket, and the bridge reading
 * and writing through it (dN=nbd+unix://...): writes go through the plugin.
 *
 * nbdkit starts on demand: vxm_need_nbd (spawn.c) is the one place that
 * starts it, called for read-write sets before the bridge, and to be called
 * by any later consumer that needs NBD for a read-only set (the kernel NBD
 * path, serving the set to others); that consumer then wants the overlay
 * under the plugin (common/cow) instead of nbdkit's cow filter.
 *
 * The VMDK files are opened twice per set: here, held open (s->vd) for the
 * locks (flock, through the engine), the early, precise errors and the
 * disks' sizes; and by the bridge (read-only sets) or the plugin (read-write
 * sets) to read them.  Source disks stay locked while the set is open.
 *
 * Layout of the library (mntapi/):
 *   init.c      Init/Exit (the configuration through the Vix core), the
 *               library's logger and reporter, stale-set clean-up
 *   handles.c   the registry of open disk sets and their volume handles
 *   spawn.c     the set's processes: the FUSE bridge, nbdkit on demand,
 *               and the bridge's control file
 *   diskset.c   OpenDisks/OpenDiskSet/CloseDiskSet, discovery, set info
 *   volume.c    MountVolume/DismountVolume, volume info and details
 *   compose.c   a volume of several segments (LVM) as the bridge's
 *               compose line
 *   discover/   volumes of a disk set (libblkid): volume.h
 *   mount/      the set directory's journal, loop devices, kernel mounts,
 *               teardown (runtime.h, mount.h)
 * Logging, the configuration file and failing are the Vix core's
 * (common/vix/vix.h), with this library's own logger ("VixMntapi: "); the
 * detail of a failure is recorded in libvixDiskLib's store
 * (Vixmount_RecordError), so VixDiskLib_GetErrorText shows it.
 */
#ifndef VIXMOUNT_MNTAPI_INTERNAL_H
#define VIXMOUNT_MNTAPI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vixMntapi.h"
#include "vixMntapiExt.h"
#include "vixDiskLibExt.h"
#include "vix.h"
#include "vmdk.h"
#include "volume.h"
#include "runtime.h"
#include "mount.h"
#include "kernel.h"
#include "inspect.h"

#define API __attribute__ ((visibility ("default")))
#define SET_MAGIC 0x56584d53u   /* "VXMS" */
#define VOL_MAGIC 0x56584d56u   /* "VXMV" */
#define DEAD_MAGIC 0xdeadbeefu
#define MAX_DISKS 64

#ifndef VIXMOUNT_PLUGIN_DEFAULT
#define VIXMOUNT_PLUGIN_DEFAULT "/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-vmdk-plugin.so"
#endif
#ifndef VIXMOUNT_FUSE_DEFAULT
#define VIXMOUNT_FUSE_DEFAULT "/usr/local/bin/vixmount-fuse"
#endif

struct VixDiskSetHandleStruct;

struct VixVolumeHandleStruct {
  uint32_t magic;
  struct VixDiskSetHandleStruct *set;
  struct vx_volume *v;
  bool mounted, readonly;
  bool own_file;            /* file added to the bridge for this volume */
  char *dir;                /* mount directory (symbolicLink) */
  char *file;               /* the bridge file the loop device reads */
  char loopdev[64];
  char kdev[64];            /* kernel bridge: the volume's own partition
                               device (/dev/nbdNpK, /dev/nbdN), "" if it
                               needs a device-mapper table */
  char dev[64];             /* the block device mounted */
  char dmname[128];         /* the dm device made for the mount, or "" */
  char **gmp;               /* guest inspection: the guest's mount points */
  size_t ngmp;
};

/* A disk on the kernel bridge: its /dev/nbdN and the kernel's partitions. */
struct vxm_kdisk {
  int index;                /* -1: not attached */
  unsigned nconns;
  enum vxk_iface iface;
  pid_t holder;             /* ioctl interface: the child in NBD_DO_IT */
  struct vxk_part *parts;
  size_t nparts;
};

struct VixDiskSetHandleStruct {
  uint32_t magic;
  struct VixDiskSetHandleStruct *next;
  uint32_t flags;
  bool readonly;
  struct vxm_state st;
  char *sock;                   /* nbdkit's socket; NULL: no nbdkit runs */
  char *fuse_dir, *log;
  pid_t fuse_pid;
  enum vx_bridge bridge;        /* VX_BRIDGE_KERNEL or VX_BRIDGE_FUSE */
  char *bridge_why;             /* why that one (log, GetBridgeInfo) */
  const char *id;               /* "set-XXXXXX": the set directory's name */
  struct vxm_kdisk *kd;         /* kernel bridge: one per disk */
  size_t ndisks;
  char **paths;
  struct vmdk_disk **vd;        /* held open: the locks */
  struct vx_volume *vols;
  size_t nvols;
  struct VixVolumeHandleStruct *vh;
  bool inspected;               /* guest.c: inspection ran ... */
  struct vx_guest guest;        /* ... and found this */
  long sysvol;                  /* the volume with the OS, or -1 */
  char *no_os;                  /* no OS: why */
};

struct vxm_global {
  bool init;
  char *tmpdir, *base;          /* tmpDirectory; where sets live */
  enum vx_bridge bridge;        /* vixmount.bridge (UNSET: auto) */
  int direct_read;              /* vixmount.directRead: 1, 0, -1 auto */
};
/* vxm_glock serialises every API call; it guards vxm_g and vxm_sets. */
extern pthread_mutex_t vxm_glock;
extern struct vxm_global vxm_g;
extern struct VixDiskSetHandleStruct *vxm_sets;

/* ---- init.c: the Vix core, as this library uses it -------------------- */
/* vxm_logger (runtime.h; vx_log there) and the way this library fails. */
extern const struct vx_reporter vxm_reporter;
/* Fail with CODE: the detail (printf format) is recorded for
 * VixDiskLib_GetErrorText and logged as an error; returns CODE. */
#define vxm_fail(code, ...) \
  vx_report (&vxm_reporter, VX_ERROR, (code), __VA_ARGS__)
/* Fail with the mapped code of errno: "WHAT: strerror". */
#define vxm_fail_errno(errnum, ...) \
  vx_report_errno (&vxm_reporter, (errnum), __VA_ARGS__)
/* Fail with the mapped code of an engine error: "WHAT: message [CODE]"
 * (a file that is no VMDK at all: VIX_E_INCORRECT_FILE_TYPE). */
#define vxm_fail_vmdk(what, e) vx_report_vmdk (&vxm_reporter, (what), (e))

/* ---- handles.c ---------------------------------------------------------- */
/* The open set / volume a caller's handle names, or NULL (glock held). */
struct VixDiskSetHandleStruct *vxm_find_set (const void *h);
struct VixVolumeHandleStruct *vxm_find_vol (const void *h);
/* Link a new set into the registry; unlink it (glock held). */
void vxm_set_link (struct VixDiskSetHandleStruct *s);
void vxm_set_unlink (struct VixDiskSetHandleStruct *s);

/* ---- spawn.c ------------------------------------------------------------ */
/* The value of environment variable NAME if set and not empty, else DEF. */
const char *vxm_env_or (const char *name, const char *def);
/* The FUSE bridge on s->fuse_dir (written to the journal first), waited
 * for on a pipe (--ready-fd).  A read-only set's bridge reads the VMDKs
 * itself (--vmdk) into an overlay (--cow); a read-write set's reads and
 * writes through nbdkit, so vxm_need_nbd must have run. */
VixError vxm_start_bridge (struct VixDiskSetHandleStruct *s);
/* nbdkit on the set's disks (socket s->sock), started at the first call
 * (later ones: VIX_OK).  THE place where NBD is started on demand: the
 * read-write path calls it before the bridge; a read-only set runs no
 * nbdkit until a consumer that needs NBD calls it (the kernel NBD path,
 * serving the set). */
VixError vxm_need_nbd (struct VixDiskSetHandleStruct *s);
/* ---- kernel.c: the kernel bridge of a set --------------------------------- */
/* Choose the set's bridge (s->bridge, s->bridge_why): VIXMOUNT_BRIDGE, else
 * vixmount.bridge, else auto.  Fails only when the kernel bridge was asked
 * for and the kernel has no nbd. */
VixError vxm_choose_bridge (struct VixDiskSetHandleStruct *s);
/* nbdkit (copy-on-write for read-only sets), each disk on a /dev/nbdN
 * (journalled), and the kernel's partitions read. */
VixError vxm_kernel_attach (struct VixDiskSetHandleStruct *s);
/* After discovery: each volume's own kernel device (vh->kdev), checked
 * against discovery (number, offset, size); volumes the kernel did not
 * give us exactly are composed with device-mapper when mounted. */
void vxm_kernel_match (struct VixDiskSetHandleStruct *s);
/* The block device to mount vh from (vh->dev): its kernel partition, or a
 * private dm table over its segments (read-only if readonly). */
VixError vxm_kernel_volume_dev (struct VixVolumeHandleStruct *vh, bool readonly);
/* Undo vxm_kernel_volume_dev's dm table, if any (force: one still open,
 * under a lazily unmounted filesystem, is removed by the kernel at its
 * last close). */
void vxm_kernel_volume_release (struct VixVolumeHandleStruct *vh, bool force);

/* One line to the bridge's .control file: 0, or -1 with errno. */
int vxm_bridge_control (struct VixDiskSetHandleStruct *s, const char *fmt, ...)
  VXM_PRINTF (2, 3);

/* ---- compose.c ---------------------------------------------------------- */
/* The .control line that makes V's file on the bridge ("compose NAME
 * linear ... striped ...\n"), malloc'd; NULL when out of memory. */
char *vxm_compose_line (const struct vx_volume *v);

/* ---- volume.c ---------------------------------------------------------- */
/* Mount VH (read-only if READONLY or the set is), or dismount it (glock held). */
VixError vxm_mount_volume (struct VixVolumeHandleStruct *vh, bool readonly);
VixError vxm_dismount_volume (struct VixVolumeHandleStruct *vh, bool force);
/* A copy of S, NULL for NULL; sets *OOM when out of memory. */
char *vxm_strdup_opt (const char *s, bool *oom);

/* ---- guest.c: guest inspection ------------------------------------------ */
/* Inspect the set once (s->inspected, s->guest, s->sysvol, each volume's
 * gmp); later calls return at once (glock held).  Fails only for want of
 * memory; a set without an OS is s->guest.kind VX_GUEST_NONE, s->no_os. */
VixError vxm_inspect (struct VixDiskSetHandleStruct *s);
/* Frees what inspection kept in S. */
void vxm_inspect_free (struct VixDiskSetHandleStruct *s);

/* ---- diskset.c ---------------------------------------------------------- */
/* Undo and free everything of a set, whatever state it is in (glock held). */
void vxm_close_set (struct VixDiskSetHandleStruct *s);

#endif


/* vixmount kernel bridge: NBD exports as kernel block devices (/dev/nbdN)
 * and device-mapper tables over them.
 *
 *   handshake.c  the NBD client's side of the fixed-newstyle handshake
 *                (NBD_OPT_GO), ending in transmission, ready for the kernel
 *   netlink.c    the kernel's generic-netlink NBD interface: connect (the
 *                kernel picks a free device), disconnect, and the family's
 *                presence
 *   ioctl.c      the older ioctl interface, where netlink is missing: a free
 *                device taken with NBD_SET_SOCK (EBUSY: someone else's), and
 *                a child holding NBD_DO_IT
 *   nbd.c        attach/detach/find: which interface, how many connections,
 *                the checks of the result in sysfs, the kernel's partitions
 *   dm.c         device-mapper tables (libdevmapper), private names
 *
 * The devices this bridge makes carry an identity so that a later process
 * can find and undo them even when their owner died: NBD devices attached
 * through netlink carry a backend identifier (/sys/block/nbdN/backend),
 * dm devices a name and a uuid with the owner's prefix.
 *
 * Errors: -1 and a message in err (naming the device or socket and the
 * cause) and errno set.
 */
#ifndef VIXMOUNT_KERNEL_H
#define VIXMOUNT_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- handshake.c ------------------------------------------------------- */
struct vxk_export {
  uint64_t size;           /* bytes */
  uint16_t flags;          /* transmission flags (NBD_FLAG_*) */
};
/* Connect to the unix socket PATH: the fd, or -1. */
int vxk_unix_connect (const char *path, char *err, size_t errlen);
/* Negotiate export NAME on fd (fixed newstyle, NBD_OPT_GO, no structured
 * replies: the kernel speaks simple replies only).  On success the socket
 * is in the transmission phase and ex describes the export. */
int vxk_handshake (int fd, const char *name, struct vxk_export *ex,
                   char *err, size_t errlen);

/* ---- netlink.c ----------------------------------------------------------- */
/* Does the kernel offer the "nbd" generic-netlink family?  (The nbd module
 * must be loaded.) */
bool vxk_netlink_available (void);
/* Connect the sockets fds[0..n-1] (all negotiated on one export) to a free
 * NBD device chosen by the kernel; backend names the device's owner.
 * Returns the device index, or -1. */
int vxk_netlink_connect (const int *fds, size_t n, const struct vxk_export *ex,
                         const char *backend, char *err, size_t errlen);
int vxk_netlink_disconnect (int index, char *err, size_t errlen);

/* ---- ioctl.c ------------------------------------------------------------- */
/* Take a free /dev/nbdN for the sockets (several connections: kernel 4.10
 * and later) and start a child that holds NBD_DO_IT; *holder is its pid.
 * Returns the device index, or -1. */
int vxk_ioctl_connect (const int *fds, size_t n, const struct vxk_export *ex,
                       pid_t *holder, char *err, size_t errlen);
int vxk_ioctl_disconnect (int index, char *err, size_t errlen);

/* ---- nbd.c --------------------------------------------------------------- */
enum vxk_iface { VXK_AUTO, VXK_NETLINK, VXK_IOCTL };

/* Is kernel NBD usable: the nbd driver is there (/sys/module/nbd or a
 * /dev/nbdN node), after trying `modprobe nbd` if try_load. */
bool vxk_nbd_usable (bool try_load);

struct vxk_attach {
  const char *socket;      /* the NBD server's unix socket */
  const char *export_name;
  const char *backend;     /* identifier of the device's owner */
  unsigned max_conns;      /* connections if the server allows multi-conn */
  enum vxk_iface iface;
  unsigned read_ahead_kb;  /* the device's read-ahead (0: the kernel's) */
  unsigned max_request_kb; /* the largest request the kernel sends the
                              server (max_sectors_kb; 0: the kernel's) */
};
struct vxk_device {
  int index;               /* /dev/nbd<index> */
  uint64_t size;
  uint16_t flags;          /* the export's transmission flags */
  unsigned nconns;
  enum vxk_iface iface;    /* the interface used */
  pid_t holder;            /* ioctl: the child in NBD_DO_IT; else 0 */
};
/* Negotiate, attach, verify (sysfs: pid, size, and backend where the
 * kernel shows it) and open the device once, so that the kernel reads its
 * partition table.  On failure nothing stays attached. */
int vxk_nbd_attach (const struct vxk_attach *a, struct vxk_device *dev,
                    char *err, size_t errlen);
/* Disconnect /dev/nbd<index> and wait until the kernel shows it free: 0,
 * or -1.  With deferred, a device that something still holds open (a
 * lazily unmounted filesystem on it or on a partition, a dm table) is not
 * waited for: the kernel frees it at its last close; 1. */
int vxk_nbd_detach (int index, bool deferred, char *err, size_t errlen);
/* Is /dev/nbd<index> connected (it has a /sys/block/nbdN/pid)? */
bool vxk_nbd_connected (int index);
/* The device's backend identifier (empty if none or not shown). */
int vxk_nbd_backend (int index, char *buf, size_t len);
/* The indexes of the nbd devices the kernel has (/sys/block/nbdN), sorted;
 * the count in *n; the array is the caller's to free (NULL if none). */
int *vxk_nbd_devices (size_t *n);
/* Indexes of connected devices whose backend starts with prefix; returns
 * how many (at most max are stored). */
size_t vxk_nbd_find (const char *prefix, int *idx, size_t max);

struct vxk_part {
  unsigned partno;         /* nbdNp<partno> */
  uint64_t start, size;    /* bytes */
};
/* The partitions the kernel found on /dev/nbd<index> (sysfs), sorted by
 * number; *parts is the caller's to free.  0 or -1. */
int vxk_nbd_partitions (int index, struct vxk_part **parts, size_t *n);

/* ---- dm.c ---------------------------------------------------------------- */
struct vxk_dm_target {
  uint64_t start, length;  /* 512-byte sectors */
  const char *type;        /* "linear", "striped", ... */
  const char *params;      /* the target's parameters */
};
/* Is device-mapper usable (the control device opens), after trying
 * `modprobe dm-mod` if try_load? */
bool vxk_dm_usable (bool try_load);
/* Create and resume device NAME (uuid UUID) with the table, read-only or
 * not; dev gets "/dev/dm-N", a node the kernel itself makes (devtmpfs),
 * not a udev link.  udev, where it runs, is told to leave the device to us
 * (no other rules: no blkid, no LVM auto-activation). */
int vxk_dm_create (const char *name, const char *uuid, const struct vxk_dm_target *t,
                   size_t n, bool readonly, char *dev, size_t devlen,
                   char *err, size_t errlen);
/* Remove NAME (retrying while something briefly holds it) and check it is
 * gone: 0, or -1.  A device that does not exist is not an error.  With
 * deferred, a device still open (a lazily unmounted filesystem on it) is
 * left for the kernel to remove when it is last closed: 1. */
int vxk_dm_remove (const char *name, bool deferred, char *err, size_t errlen);
/* Does NAME exist? */
bool vxk_dm_exists (const char *name);
/* Remove every device whose name starts with prefix (deferred: as in
 * vxk_dm_remove); the number neither removed nor left to the kernel. */
int vxk_dm_remove_prefix (const char *prefix, bool deferred);

/* ---- shared by the files here (nbd.c) ------------------------------------ */
/* Read /sys/block/nbd<index>/<attr> into buf (newline removed): 0 or -1. */
int vxk_sysfs_read (int index, const char *attr, char *buf, size_t len);

#endif

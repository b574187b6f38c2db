/* vixmount mount layer: mounting a volume's block device. */
#ifndef VIXMOUNT_MOUNT_H
#define VIXMOUNT_MOUNT_H

#include <stddef.h>
#include <sys/wait.h>

enum vxm_mount_mode {
  VXM_RW,              /* read-write */
  VXM_RO,              /* read-only over a copy-on-write overlay: a dirty
                          journal replays into the overlay */
  VXM_RO_NO_REPLAY,    /* read-only on a read-only device: journals are not
                          replayed (noload / norecovery / nologreplay) */
};

/* Mount dev on dir as fstype.  log: a file for FUSE drivers' output.
 * Returns 0, or -1 with a message naming the command and cause. */
int vxm_mount (const char *dev, const char *dir, const char *fstype,
               enum vxm_mount_mode how, const char *log, char *err, size_t errlen);

#endif

/* vixmount mount layer: the run-time pieces of a disk set.
 *
 *   journal.c   where sets live, the set's journal; libvixMntapi's logger
 *   proc.c      the set's processes: spawn, readiness, stop, log tail
 *   loop.c      loop devices
 *   mount.c     mounting a volume's device (mount.h), mount state, umount
 *   teardown.c  undoing a set from its journal; sets of dead owners
 *
 * A disk set owns a private directory (0700) holding a state journal, the
 * nbdkit socket (when nbdkit runs), the FUSE bridge's mount point and one
 * mount directory per mounted volume.  Every resource is written to the journal *before* it is
 * created, so a crash at any instant leaves a complete list; teardown walks
 * the journal backwards and undoes what still exists.  The same teardown
 * serves DismountVolume/CloseDiskSet/Exit and the clean-up of sets whose
 * owner died (VixMntapi_Init, vixmount-cleanup).
 */
#ifndef VIXMOUNT_RUNTIME_H
#define VIXMOUNT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vxlog.h"

#define VXM_PRINTF(a, b) __attribute__ ((format (printf, a, b)))

/* Messages go to libvixMntapi's logger ("VixMntapi: "; journal.c defines
 * it, VixMntapi_Init configures it): vx_log (VX_WARNING, ...). */
extern struct vx_logger vxm_logger;
#define vx_log(level, ...) vx_log_to (&vxm_logger, (level), __VA_ARGS__)

/* Where sets live: <tmpDirectory>/vixmount if configured, else /run/vixmount
 * for root, else $XDG_RUNTIME_DIR/vixmount or /tmp/vixmount-<uid>. */
char *vxm_base_dir (const char *tmp_directory);

/* The journal.  Lines: "owner PID START", "nbdkit SOCK" (sets that run
 * nbdkit), "fuse DIR", "loop FILE", "mount DIR", "pid NAME PID START",
 * "extmount DIR" (a mount point of the caller's over the set: unmounted
 * before anything else, the deepest first, never removed), and on the kernel bridge "nbd BACKEND" (before an
 * attach), "nbddev INDEX BACKEND HOLDER" (after it; HOLDER: the ioctl
 * interface's NBD_DO_IT child, else 0), "dm NAME" (before a table is made). */
struct vxm_state {
  char *dir;                 /* the set's directory */
  int fd;                    /* journal, O_APPEND */
};
int vxm_state_create (const char *base, struct vxm_state *st, char *err, size_t errlen);
int vxm_state_add (struct vxm_state *st, const char *fmt, ...) VXM_PRINTF (2, 3);
void vxm_state_close (struct vxm_state *st);

/* Sleep MS milliseconds (EINTR resumed). */
void vxm_msleep (int ms);
/* Is (pid, start) alive (and no zombie)?  start 0: any process with that
 * pid. */
bool vxm_alive_as (pid_t pid, unsigned long long start);

/* Start time of a process (clock ticks since boot, /proc/PID/stat field 22),
 * 0 if it does not exist: (pid, start) names a process without reuse races. */
unsigned long long vxm_proc_start (pid_t pid);

/* Spawn argv with stdin from /dev/null and stdout+stderr appended to log.
 * Returns the pid or -1. */
pid_t vxm_spawn (char *const argv[], const char *log);
/* The same, with descriptor notify_fd (if >= 0) as the child's fd 3: the
 * write end of a pipe on which it reports readiness (vxm_wait_ready). */
pid_t vxm_spawn_notify (char *const argv[], const char *log, int notify_fd);
/* Wait up to timeout_ms for pid to write the byte 1 to the pipe whose read
 * end is fd (the caller closed its own write end): 0 ready; -1 it closed
 * the pipe without it (exited or failed; reaped if exited) or timed out. */
int vxm_wait_ready (int fd, pid_t pid, int timeout_ms);
/* Wait up to timeout_ms for path to exist (a socket or pid file) while pid
 * is alive; 0 ok, -1 the process exited (its status reaped) or timed out. */
int vxm_wait_for (const char *path, pid_t pid, int timeout_ms);
/* SIGTERM, wait up to ms, then SIGKILL; reaps it if it is our child. */
void vxm_stop (pid_t pid, unsigned long long start, int ms);
/* Last lines of a log file, for error messages (static buffer). */
const char *vxm_log_tail (const char *log);

/* Undo everything the journal in dir lists that still exists, in reverse
 * order, then remove the directory.  force: detach busy mounts (lazy
 * unmount) instead of failing.  Returns 0 when nothing is left. */
int vxm_teardown_dir (const char *dir, bool force);
/* Tear down every set under base whose owner process is gone.  Returns the
 * number of sets cleaned up. */
int vxm_cleanup_stale (const char *base);

/* Mount state helpers */
bool vxm_is_mountpoint (const char *dir);
int vxm_umount (const char *dir, bool force);

/* Loop devices: attach file (read-only or not, autoclear) and return
 * "/dev/loopN" in dev and an open fd of the device: autoclear detaches the
 * device at its last close, so keep the fd until a mount holds the device,
 * then close it.  Detach by device; detach every loop device whose backing
 * file is path. */
int vxm_loop_attach (const char *file, bool readonly, char *dev, size_t devlen,
                     char *err, size_t errlen);
int vxm_loop_detach (const char *dev);
int vxm_loop_detach_file (const char *path);

#endif

/* vixmount kernel bridge: the NBD ioctl interface, for kernels without the
 * netlink one.
 *
 * A free device is one that no one has set up: NBD_SET_SOCK fails with
 * EBUSY on a device that another task is setting up or that is bound, so
 * two programs choosing the same device cannot both take it.  NBD_DO_IT
 * blocks for the connection's life, so a child of ours sits in it (it does
 * nothing else: only system calls between fork and _exit) until the device
 * is disconnected.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/nbd.h>

#include "kernel.h"

#define NBD_BLOCK_SIZE 512

/* Set up /dev/nbd<i> with the sockets; the device's fd, or -1 (errno EBUSY:
 * someone else's). */
static int
take (int i, const int *fds, size_t n, const struct vxk_export *ex)
{
  char path[64], pid[32];
  int dev, e;

  if (vxk_sysfs_read (i, "pid", pid, sizeof pid) == 0) {
    errno = EBUSY;              /* connected */
    return -1;
  }
  snprintf (path, sizeof path, "/dev/nbd%d", i);
  dev = open (path, O_RDWR | O_CLOEXEC);
  if (dev < 0)
    return -1;
  for (size_t k = 0; k < n; k++)
    if (ioctl (dev, NBD_SET_SOCK, (unsigned long) fds[k]) == -1) {
      e = errno;
      if (k > 0)
        ioctl (dev, NBD_CLEAR_SOCK);
      close (dev);
      errno = e;
      return -1;
    }
  if (ioctl (dev, NBD_SET_BLKSIZE, (unsigned long) NBD_BLOCK_SIZE) == -1
      || ioctl (dev, NBD_SET_SIZE_BLOCKS, (unsigned long) (ex->size / NBD_BLOCK_SIZE)) == -1
      || ioctl (dev, NBD_SET_FLAGS, (unsigned long) ex->flags) == -1) {
    e = errno;
    ioctl (dev, NBD_CLEAR_SOCK);
    close (dev);
    errno = e;
    return -1;
  }
  return dev;
}

int
vxk_ioctl_connect (const int *fds, size_t n, const struct vxk_export *ex,
                   pid_t *holder, char *err, size_t errlen)
{
  size_t nd;
  int *idx = vxk_nbd_devices (&nd), dev = -1, index = -1;
  pid_t child;

  if (!idx || nd == 0) {
    free (idx);
    snprintf (err, errlen, "NBD connect (ioctl): the kernel has no nbd devices");
    errno = ENODEV;
    return -1;
  }
  for (size_t k = 0; k < nd && dev < 0; k++)
    if ((dev = take (idx[k], fds, n, ex)) >= 0)
      index = idx[k];
    else if (errno != EBUSY && errno != ENOENT && errno != ENXIO) {
      snprintf (err, errlen, "NBD connect (ioctl) /dev/nbd%d: %s", idx[k], strerror (errno));
      free (idx);
      return -1;
    }
  free (idx);
  if (dev < 0) {
    snprintf (err, errlen, "NBD connect (ioctl): every nbd device is in use");
    errno = EBUSY;
    return -1;
  }
  child = fork ();
  if (child == 0) {
    /* only system calls from here: the parent may have threads */
    ioctl (dev, NBD_DO_IT);
    ioctl (dev, NBD_CLEAR_SOCK);
    _exit (0);
  }
  if (child < 0) {
    int e = errno;
    ioctl (dev, NBD_CLEAR_SOCK);
    close (dev);
    snprintf (err, errlen, "NBD connect (ioctl): fork: %s", strerror (e));
    errno = e;
    return -1;
  }
  close (dev);
  /* connected once the kernel shows the pid of the task in NBD_DO_IT */
  for (int t = 0; t < 1000; t++) {
    char pid[32];
    int st;
    if (vxk_sysfs_read (index, "pid", pid, sizeof pid) == 0) {
      *holder = child;
      return index;
    }
    if (waitpid (child, &st, WNOHANG) == child) {
      snprintf (err, errlen, "NBD connect (ioctl) /dev/nbd%d: NBD_DO_IT ended at once", index);
      errno = EIO;
      return -1;
    }
    nanosleep (&(struct timespec) { 0, 10 * 1000 * 1000 }, NULL);
  }
  vxk_ioctl_disconnect (index, err, errlen);
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
  snprintf (err, errlen, "NBD connect (ioctl) /dev/nbd%d: not connected after 10 s", index);
  errno = ETIMEDOUT;
  return -1;
}

int
vxk_ioctl_disconnect (int index, char *err, size_t errlen)
{
  char path[64];
  int dev, r = 0;

  snprintf (path, sizeof path, "/dev/nbd%d", index);
  dev = open (path, O_RDWR | O_CLOEXEC);
  if (dev < 0 || ioctl (dev, NBD_DISCONNECT) == -1) {
    snprintf (err, errlen, "NBD disconnect %s (ioctl): %s", path, strerror (errno));
    r = -1;
  }
  else
    ioctl (dev, NBD_CLEAR_SOCK);
  if (dev >= 0)
    close (dev);
  return r;
}

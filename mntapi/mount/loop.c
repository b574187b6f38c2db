/* vixmount mount layer: loop devices (attach with autoclear, direct I/O and
 * a deep read-ahead; detach by device or by backing file). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "runtime.h"

/* 4 MiB (tests/bench/mount: 1.05-1.14x the default on large file reads) */
#define VXM_LOOP_READAHEAD_SECTORS 8192

int
vxm_loop_attach (const char *file, bool readonly, char *dev, size_t devlen,
                 char *err, size_t errlen)
{
  int ctl, ffd, lfd = -1, n;

  ffd = open (file, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (ffd < 0) {
    snprintf (err, errlen, "%s: %s", file, strerror (errno));
    return -1;
  }
  ctl = open ("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (ctl < 0) {
    snprintf (err, errlen, "/dev/loop-control: %s", strerror (errno));
    close (ffd);
    return -1;
  }
  for (int attempt = 0; attempt < 16; attempt++) {
    struct loop_config cfg;
    n = ioctl (ctl, LOOP_CTL_GET_FREE);
    if (n < 0) {
      snprintf (err, errlen, "no free loop device: %s", strerror (errno));
      break;
    }
    snprintf (dev, devlen, "/dev/loop%d", n);
    lfd = open (dev, O_RDWR | O_CLOEXEC);
    if (lfd < 0) {
      snprintf (err, errlen, "%s: %s", dev, strerror (errno));
      break;
    }
    memset (&cfg, 0, sizeof cfg);
    cfg.fd = (uint32_t) ffd;
    /* Direct I/O: the bridge's file is not cached a second time under the
     * filesystem's own page cache, and large reads reach it whole. */
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO |
                        (readonly ? LO_FLAGS_READ_ONLY : 0);
    snprintf ((char *) cfg.info.lo_file_name, sizeof cfg.info.lo_file_name, "%s", file);
    int r = ioctl (lfd, LOOP_CONFIGURE, &cfg);
    if (r == -1 && errno == EINVAL) {  /* a backing file without O_DIRECT */
      cfg.info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
      r = ioctl (lfd, LOOP_CONFIGURE, &cfg);
    }
    if (r == 0) {
      /* A deep read-ahead keeps several large requests in flight through
       * the bridge (the kernel's default is 128 KiB). */
      ioctl (lfd, BLKRASET, (unsigned long) VXM_LOOP_READAHEAD_SECTORS);
      /* lfd stays open: with autoclear, the last close detaches the device,
       * so the caller closes it once the mount holds the device */
      close (ffd);
      close (ctl);
      return lfd;
    }
    int e = errno;
    close (lfd);
    lfd = -1;
    if (e == EBUSY)          /* raced with another user of that device */
      continue;
    snprintf (err, errlen, "attaching %s to %s: %s", file, dev, strerror (e));
    break;
  }
  close (ffd);
  close (ctl);
  return -1;
}

int
vxm_loop_detach (const char *dev)
{
  int fd = open (dev, O_RDONLY | O_CLOEXEC), r;

  if (fd < 0)
    return -1;
  r = ioctl (fd, LOOP_CLR_FD, 0);
  close (fd);
  return r;
}

int
vxm_loop_detach_file (const char *path)
{
  DIR *d = opendir ("/sys/block");
  struct dirent *de;
  int failed = 0;

  if (!d)
    return 0;
  while ((de = readdir (d))) {
    char bf[PATH_MAX], p[300], dev[300];
    FILE *f;
    if (strncmp (de->d_name, "loop", 4) != 0)
      continue;
    snprintf (p, sizeof p, "/sys/block/%s/loop/backing_file", de->d_name);
    if (!(f = fopen (p, "re")))
      continue;
    if (fgets (bf, sizeof bf, f)) {
      bf[strcspn (bf, "\n")] = '\0';
      if (strcmp (bf, path) == 0) {
        snprintf (dev, sizeof dev, "/dev/%s", de->d_name);
        if (vxm_loop_detach (dev) == -1 && errno != ENXIO)
          failed = -1;
      }
    }
    fclose (f);
  }
  closedir (d);
  return failed;
}


/* vixmount VMDK engine: advisory locks on the files of an open disk.
 *
 * flock() locks belong to the open file description, so they live exactly as
 * long as the engine's descriptors, whatever else the process opens and
 * closes (POSIX record locks would be dropped by any close of the file).
 * The kernel lists flock holders with their pid in /proc/locks, which is
 * how a conflict names who holds the disk.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"

/* First pid holding a FLOCK on (dev, ino), or 0. */
static long
holder_of (dev_t dev, ino_t ino, char *mode, size_t mode_len)
{
  FILE *f = fopen ("/proc/locks", "re");
  char line[256];
  long pid = 0;

  if (!f)
    return 0;
  while (fgets (line, sizeof line, f)) {
    char kind[16], adv[16], rw[16];
    unsigned maj, min;
    unsigned long long i;
    long p;
    /* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" ("->" marks waiters) */
    if (strstr (line, "->"))
      continue;
    if (sscanf (line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, adv, rw, &p, &maj, &min,
                &i) == 7
        && strcmp (kind, "FLOCK") == 0 && makedev (maj, min) == dev && i == ino) {
      pid = p;
      snprintf (mode, mode_len, "%s", strcmp (rw, "WRITE") == 0 ? "read-write" : "read-only");
      break;
    }
  }
  fclose (f);
  return pid;
}

int
vx_lock_fd (int fd, const char *path, bool exclusive, struct vmdk_error *err)
{
  struct stat st;
  char mode[16] = "", comm[64] = "", cpath[64];
  long pid;

  if (flock (fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0)
    return 0;
  if (errno != EWOULDBLOCK) {
    vx_err_errno (err, errno, "%s: locking", path);
    return -1;
  }
  if (fstat (fd, &st) == 0 && (pid = holder_of (st.st_dev, st.st_ino, mode, sizeof mode)) > 0) {
    FILE *f;
    snprintf (cpath, sizeof cpath, "/proc/%ld/comm", pid);
    if ((f = fopen (cpath, "re"))) {
      if (fgets (comm, sizeof comm, f))
        comm[strcspn (comm, "\n")] = '\0';
      fclose (f);
    }
    vx_err (err, VMDK_ERR_LOCKED,
            "%s: in use by process %ld%s%s%s (opened %s); cannot open it %s", path, pid,
            *comm ? " (" : "", comm, *comm ? ")" : "", mode,
            exclusive ? "for writing" : "while it is being written");
  }
  else
    vx_err (err, VMDK_ERR_LOCKED, "%s: locked by another open; cannot open it %s", path,
            exclusive ? "for writing" : "while it is being written");
  return -1;
}

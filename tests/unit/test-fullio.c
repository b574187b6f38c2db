/* tests/unit/test-fullio: whole reads and writes (common/utils/fullio.h)
 * on a pipe fed in pieces, across an interrupting signal, and on a
 * temporary file, up to and past its end. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fullio.h"
#include "tap.h"

static volatile sig_atomic_t alarms;

static void
on_alarm (int sig)
{
  (void) sig;
  alarms++;
}

/* A child that writes PIECES to the pipe's write end, NAP_MS apart, then
 * exits (closing it). */
static pid_t
feeder (int wfd, int rfd, const char *const *pieces, unsigned nap_ms)
{
  pid_t pid = fork ();

  if (pid != 0)
    return pid;
  close (rfd);
  for (; *pieces; pieces++) {
    usleep (nap_ms * 1000);
    if (write (wfd, *pieces, strlen (*pieces)) < 0)
      _exit (1);
  }
  _exit (0);
}

static void
test_pipe_pieces (void)
{
  static const char *const pieces[] = { "abc", "de", "fghij", NULL };
  char buf[32];
  int p[2];
  pid_t pid;

  if (pipe (p) == -1)
    abort ();
  pid = feeder (p[1], p[0], pieces, 20);
  close (p[1]);
  memset (buf, 0, sizeof buf);
  is_int (vx_full_read (p[0], buf, 8), 8, "pipe: 8 bytes from pieces of 3, 2, 5");
  is_str (buf, "abcdefgh", "pipe: the bytes in order");
  memset (buf, 0, sizeof buf);
  is_int (vx_full_read (p[0], buf, sizeof buf), 2, "pipe: end of file: the 2 left");
  is_str (buf, "ij", "pipe: the last bytes");
  is_int (vx_full_read (p[0], buf, sizeof buf), 0, "pipe: at end of file: 0");
  is_int (vx_full_read (p[0], buf, 0), 0, "pipe: zero bytes: 0");
  close (p[0]);
  waitpid (pid, NULL, 0);
}

static void
test_pipe_eintr (void)
{
  static const char *const pieces[] = { "late", NULL };
  struct sigaction sa = { .sa_handler = on_alarm };   /* no SA_RESTART */
  struct itimerval it = { .it_interval = { 0, 20000 }, .it_value = { 0, 20000 } };
  struct itimerval off = { { 0, 0 }, { 0, 0 } };
  char buf[8] = { 0 };
  int p[2];
  pid_t pid;
  ssize_t r;

  if (pipe (p) == -1)
    abort ();
  sigaction (SIGALRM, &sa, NULL);
  pid = feeder (p[1], p[0], pieces, 200);
  close (p[1]);
  setitimer (ITIMER_REAL, &it, NULL);
  r = vx_full_read (p[0], buf, 4);
  setitimer (ITIMER_REAL, &off, NULL);
  is_int (r, 4, "pipe: read interrupted by signals still gets 4 bytes");
  is_str (buf, "late", "pipe: the bytes after the signals");
  ok (alarms > 0, "pipe: signals did interrupt the read (%d)", (int) alarms);
  close (p[0]);
  waitpid (pid, NULL, 0);
}

static void
test_pipe_write (void)
{
  size_t len = 1024 * 1024, got = 0;
  char *big = malloc (len), *back = malloc (len);
  int p[2], status = 0;
  pid_t pid;

  if (!big || !back || pipe (p) == -1)
    abort ();
  for (size_t i = 0; i < len; i++)
    big[i] = (char) (i * 7 + i / 4099);
  pid = fork ();
  if (pid == 0) {               /* the reader: small reads, checks the bytes */
    close (p[1]);
    while (got < len) {
      ssize_t r = read (p[0], back + got, len - got < 1000 ? len - got : 1000);
      if (r <= 0)
        _exit (1);
      got += (size_t) r;
    }
    _exit (memcmp (big, back, len) == 0 && read (p[0], back, 1) == 0 ? 0 : 2);
  }
  close (p[0]);
  is_int (vx_full_write (p[1], big, len), 0, "pipe: 1 MiB written through a 64K pipe");
  close (p[1]);
  waitpid (pid, &status, 0);
  ok (WIFEXITED (status) && WEXITSTATUS (status) == 0, "pipe: the reader got every byte");

  /* a non-blocking pipe that is full: the error, not a loop */
  if (pipe (p) == -1)
    abort ();
  fcntl (p[1], F_SETFL, O_NONBLOCK);
  errno = 0;
  is_int (vx_full_write (p[1], big, len), -1, "full non-blocking pipe: -1");
  ok (errno == EAGAIN, "full non-blocking pipe: errno EAGAIN");
  close (p[0]);
  close (p[1]);
  free (big);
  free (back);
}

static void
test_file (void)
{
  char path[] = "/tmp/test-fullio.XXXXXX", buf[64];
  int fd = mkstemp (path), ro;

  if (fd == -1)
    abort ();
  unlink (path);
  is_int (vx_full_pwrite (fd, "0123456789", 10, 90), 0, "file: pwrite 10 bytes at 90");
  is_int (vx_full_pwrite (fd, "head", 4, 0), 0, "file: pwrite 4 bytes at 0");
  is_int (lseek (fd, 0, SEEK_CUR), 0, "file: the file position is untouched");
  memset (buf, 'x', sizeof buf);
  is_int (vx_full_pread (fd, buf, 4, 0), 4, "file: pread 4 at 0");
  ok (memcmp (buf, "head", 4) == 0, "file: the bytes at 0");
  is_int (vx_full_pread (fd, buf, 10, 4), 10, "file: pread inside the hole");
  ok (memcmp (buf, "\0\0\0\0\0\0\0\0\0\0", 10) == 0, "file: the hole reads zeros");
  memset (buf, 'x', sizeof buf);
  is_int (vx_full_pread (fd, buf, 50, 85), 15, "file: pread across the end: 15 of 50");
  ok (memcmp (buf, "\0\0\0\0\0" "0123456789", 15) == 0 && buf[15] == 'x',
      "file: the bytes up to the end, nothing after them touched");
  is_int (vx_full_pread (fd, buf, 10, 100), 0, "file: pread at the end: 0");
  is_int (vx_full_pread (fd, buf, 10, 1000), 0, "file: pread past the end: 0");

  is_int (vx_full_write (fd, "abc", 3), 0, "file: write at the position");
  is_int (lseek (fd, 0, SEEK_SET), 0, "file: rewind");
  is_int (vx_full_read (fd, buf, 3), 3, "file: read at the position");
  ok (memcmp (buf, "abc", 3) == 0, "file: read back what write wrote");

  errno = 0;
  is_int (vx_full_pread (fd, buf, 1, UINT64_C (1) << 63), -1, "file: offset 2^63 refused");
  ok (errno == EINVAL, "file: offset 2^63: EINVAL");
  errno = 0;
  is_int (vx_full_pread (fd, buf, (size_t) SSIZE_MAX + 1, 0), -1,
          "file: a count above SSIZE_MAX refused");
  ok (errno == EINVAL, "file: count above SSIZE_MAX: EINVAL");

  snprintf (buf, sizeof buf, "/proc/self/fd/%d", fd);
  ro = open (buf, O_RDONLY);
  errno = 0;
  is_int (vx_full_pwrite (ro, "z", 1, 0), -1, "file: pwrite on a read-only fd: -1");
  ok (errno == EBADF, "file: read-only fd: EBADF");
  close (ro);
  close (fd);
  errno = 0;
  is_int (vx_full_pread (fd, buf, 1, 0), -1, "closed fd: pread -1");
  ok (errno == EBADF, "closed fd: EBADF");
}

int
main (void)
{
  test_pipe_pieces ();
  test_pipe_eintr ();
  test_pipe_write ();
  test_file ();
  return tap_done ();
}

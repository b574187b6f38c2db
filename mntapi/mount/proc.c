/* vixmount mount layer: the set's processes: identity (pid + start time),
 * spawning with a readiness pipe, waiting, stopping, their log's tail. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

extern char **environ;

/* Start time (0: no such process) and state letter (R, S, Z, ...). */
static unsigned long long
proc_stat (pid_t pid, char *state)
{
  char path[64], buf[1024], *p;
  unsigned long long start = 0;
  FILE *f;
  int field;

  *state = '?';
  if (pid <= 0)
    return 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  f = fopen (path, "re");
  if (!f)
    return 0;
  if (!fgets (buf, sizeof buf, f)) {
    fclose (f);
    return 0;
  }
  fclose (f);
  p = strrchr (buf, ')');      /* comm may contain blanks */
  if (!p)
    return 0;
  if (p[1] == ' ' && p[2])
    *state = p[2];
  /* after ")": field 3 (state) ... field 22 (starttime) */
  for (field = 2; *p && field < 22; p++)
    if (*p == ' ')
      field++;
  if (field == 22)
    start = strtoull (p, NULL, 10);
  return start;
}

unsigned long long
vxm_proc_start (pid_t pid)
{
  char state;
  return proc_stat (pid, &state);
}

pid_t
vxm_spawn (char *const argv[], const char *log)
{
  return vxm_spawn_notify (argv, log, -1);
}

pid_t
vxm_spawn_notify (char *const argv[], const char *log, int notify_fd)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none;
  pid_t pid;
  int r;

  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2 (&fa, 1, 2);
  if (notify_fd >= 0)   /* dup2 clears close-on-exec, also when it is 3 */
    posix_spawn_file_actions_adddup2 (&fa, notify_fd, 3);
  /* the daemons must not hold the caller's other descriptors open (its
   * pipes, sockets, lock files) */
  posix_spawn_file_actions_addclosefrom_np (&fa, notify_fd >= 0 ? 4 : 3);
  posix_spawnattr_init (&at);
  sigemptyset (&none);
  posix_spawnattr_setsigmask (&at, &none);     /* don't inherit a blocked set */
  posix_spawnattr_setflags (&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  {
    sigset_t def;
    sigemptyset (&def);
    sigaddset (&def, SIGTERM);
    sigaddset (&def, SIGINT);
    sigaddset (&def, SIGPIPE);
    sigaddset (&def, SIGCHLD);
    posix_spawnattr_setsigdefault (&at, &def);
  }
  r = posix_spawnp (&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&at);
  if (r != 0) {
    errno = r;
    return -1;
  }
  return pid;
}

void
vxm_msleep (int ms)
{
  struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

int
vxm_wait_for (const char *path, pid_t pid, int timeout_ms)
{
  for (int waited = 0; waited <= timeout_ms; waited += 2) {
    struct stat st;
    int status;
    if (stat (path, &st) == 0 && (S_ISSOCK (st.st_mode) || st.st_size > 0))
      return 0;
    if (waitpid (pid, &status, WNOHANG) == pid)
      return -1;
    vxm_msleep (2);
  }
  return -1;
}

int
vxm_wait_ready (int fd, pid_t pid, int timeout_ms)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  char c = 0;
  int r, status;

  do
    r = poll (&p, 1, timeout_ms);
  while (r == -1 && errno == EINTR);
  if (r == 1) {
    while ((r = (int) read (fd, &c, 1)) == -1 && errno == EINTR)
      ;
    if (r == 1 && c == 1)
      return 0;
  }
  /* EOF without the byte (it exited or gave up), or the time is over; reap
   * it if it has exited */
  waitpid (pid, &status, WNOHANG);
  return -1;
}

bool
vxm_alive_as (pid_t pid, unsigned long long start)
{
  char state;
  unsigned long long s = proc_stat (pid, &state);
  /* a zombie has ended: only its parent has not collected it yet */
  return s != 0 && (start == 0 || s == start) && state != 'Z' && state != 'X';
}

/* Has (pid, start) ended?  A child of ours that ended (a zombie) is
 * collected. */
static bool
ended (pid_t pid, unsigned long long start)
{
  int status;

  if (vxm_alive_as (pid, start))
    return false;
  if (start == 0 || vxm_proc_start (pid) == start)
    waitpid (pid, &status, WNOHANG);
  return true;
}

void
vxm_stop (pid_t pid, unsigned long long start, int ms)
{
  int status;

  if (pid <= 0 || ended (pid, start))
    return;
  kill (pid, SIGTERM);
  for (int waited = 0; waited < ms; waited += 5) {
    if (waitpid (pid, &status, WNOHANG) == pid || ended (pid, start))
      return;
    vxm_msleep (5);
  }
  if (!ended (pid, start)) {
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
  }
}

const char *
vxm_log_tail (const char *log)
{
  static __thread char buf[1024];
  FILE *f = fopen (log, "re");
  char line[512];
  size_t n = 0;

  buf[0] = '\0';
  if (!f)
    return buf;
  /* keep the last lines that fit */
  while (fgets (line, sizeof line, f)) {
    size_t l = strlen (line);
    if (l && line[l - 1] == '\n') line[--l] = '\0';
    if (!l) continue;
    if (n + l + 3 >= sizeof buf) {
      memmove (buf, buf + n / 2, n - n / 2 + 1);
      n -= n / 2;
    }
    n += (size_t) snprintf (buf + n, sizeof buf - n, "%s%s", n ? " | " : "", line);
  }
  fclose (f);
  return buf;
}


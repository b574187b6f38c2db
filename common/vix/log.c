/* libvixDiskLib: log, warning and panic routing.
 *
 * Every message of the library goes through vx_log.  The caller's
 * callbacks (InitEx) receive "%s" and a va_list holding one string that
 * starts with "VixDiskLib: " and ends in a newline, like VMware's.  Calls
 * into the callbacks are serialised by a mutex, so callbacks that are not
 * thread-safe (the guide warns about that) still work; a message logged
 * from inside a callback on the same thread is dropped rather than
 * deadlocking.  The panic callback is only used for PANIC-level messages
 * (internal errors); if it returns, the library goes on and reports an
 * error code: nothing here ever aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "vix.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static VixDiskLibGenericLogFunc *cb_log, *cb_warn, *cb_panic;
static int level = VX_DEFAULT_LEVEL;
static FILE *logfile;
static int file_level = VX_DEFAULT_LEVEL;
static __thread bool in_log;

static const char *const level_names[] = {
  "panic", "error", "warning", "audit", "info", "verbose", "trivia",
};

int
vx_log_parse_level (const char *s)
{
  char *end;
  long v;

  if (!s || !*s)
    return -1;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno == 0 && end != s && *end == '\0')
    return v < 0 ? 0 : v > VX_TRIVIA ? VX_TRIVIA : (int) v;
  for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
    if (strcasecmp (s, level_names[i]) == 0)
      return (int) i;
  return -1;
}

void
vx_log_configure (VixDiskLibGenericLogFunc *log, VixDiskLibGenericLogFunc *warn,
                  VixDiskLibGenericLogFunc *panic)
{
  pthread_mutex_lock (&log_lock);
  cb_log = log;
  cb_warn = warn;
  cb_panic = panic;
  pthread_mutex_unlock (&log_lock);
}

void
vx_log_set_level (int l)
{
  pthread_mutex_lock (&log_lock);
  level = l;
  pthread_mutex_unlock (&log_lock);
}

int
vx_log_get_level (void)
{
  int l;

  pthread_mutex_lock (&log_lock);
  l = level;
  pthread_mutex_unlock (&log_lock);
  return l;
}

int
vx_log_set_file (const char *path, int l)
{
  FILE *f = NULL;
  int fd;

  if (path) {
    fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1)
      return errno;
    f = fdopen (fd, "a");
    if (!f) {
      int e = errno;
      close (fd);
      return e;
    }
    setvbuf (f, NULL, _IOLBF, 0);
  }
  pthread_mutex_lock (&log_lock);
  if (logfile)
    fclose (logfile);
  logfile = f;
  file_level = l;
  pthread_mutex_unlock (&log_lock);
  return 0;
}

void
vx_log_reset (void)
{
  vx_log_set_file (NULL, VX_DEFAULT_LEVEL);
  pthread_mutex_lock (&log_lock);
  cb_log = cb_warn = cb_panic = NULL;
  level = VX_DEFAULT_LEVEL;
  pthread_mutex_unlock (&log_lock);
}

/* Hand one finished string to a callback of the va_list kind. */
static void
call_sink (VixDiskLibGenericLogFunc *fn, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fn (fmt, ap);
  va_end (ap);
}

void
vx_log (enum vx_level lv, const char *fmt, ...)
{
  char msg[2048];
  int n;
  va_list ap;
  VixDiskLibGenericLogFunc *fn;
  int saved_errno = errno;

  if (in_log)
    return;
  pthread_mutex_lock (&log_lock);
  if ((int) lv > level && (!logfile || (int) lv > file_level)) {
    pthread_mutex_unlock (&log_lock);
    errno = saved_errno;
    return;
  }

  n = snprintf (msg, sizeof msg, "VixDiskLib: ");
  va_start (ap, fmt);
  vsnprintf (msg + n, sizeof msg - n - 1, fmt, ap);
  va_end (ap);
  strcat (msg, "\n");

  in_log = true;
  if (logfile && (int) lv <= file_level) {
    char stamp[64];
    struct timespec ts;
    struct tm tm;

    clock_gettime (CLOCK_REALTIME, &ts);
    localtime_r (&ts.tv_sec, &tm);
    strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf (logfile, "%s.%03ld %s[%d] %s %s", stamp, ts.tv_nsec / 1000000,
             "vixDiskLib", (int) getpid (), level_names[lv], msg);
  }
  if ((int) lv <= level) {
    fn = lv == VX_PANIC ? cb_panic : lv <= VX_WARNING ? cb_warn : cb_log;
    if (fn)
      call_sink (fn, "%s", msg);
    else
      fputs (msg, stderr);
  }
  in_log = false;
  pthread_mutex_unlock (&log_lock);
  errno = saved_errno;
}

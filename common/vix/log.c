/* vixmount Vix core: the logger (see vxlog.h).
 *
 * Callbacks receive "%s" and a va_list holding one string that starts with
 * the instance's prefix and ends in a newline, like VMware's.  Calls into
 * the callbacks are serialised by the instance's mutex, so callbacks that
 * are not thread-safe (the guide warns about that) still work; a message
 * logged from inside a callback on the same thread is dropped rather than
 * deadlocking.  The panic callback is only used for PANIC-level messages
 * (internal errors); if it returns, the caller goes on and reports an error
 * code: nothing here ever aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "vxlog.h"

/* This thread is inside a logger (of this copy of the core). */
static __thread bool in_log;

static const char *const level_names[] = {
  "panic", "error", "warning", "audit", "info", "verbose", "trivia",
};
#define N_LEVELS ((int) (sizeof level_names / sizeof level_names[0]))

const char *
vx_log_level_name (int level)
{
  return level >= 0 && level < N_LEVELS ? level_names[level] : "?";
}

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
  for (int i = 0; i < N_LEVELS; i++)
    if (strcasecmp (s, level_names[i]) == 0)
      return i;
  return -1;
}

void
vx_log_configure (struct vx_logger *lg, vx_log_func *log, vx_log_func *warn,
                  vx_log_func *panic)
{
  pthread_mutex_lock (&lg->lock);
  lg->cb_log = log;
  lg->cb_warn = warn;
  lg->cb_panic = panic;
  pthread_mutex_unlock (&lg->lock);
}

void
vx_log_set_level (struct vx_logger *lg, int level)
{
  pthread_mutex_lock (&lg->lock);
  lg->level = level;
  pthread_mutex_unlock (&lg->lock);
}

int
vx_log_get_level (struct vx_logger *lg)
{
  int level;

  pthread_mutex_lock (&lg->lock);
  level = lg->level;
  pthread_mutex_unlock (&lg->lock);
  return level;
}

int
vx_log_set_file (struct vx_logger *lg, const char *path, int level)
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
  pthread_mutex_lock (&lg->lock);
  if (lg->file)
    fclose (lg->file);
  lg->file = f;
  lg->file_level = level;
  pthread_mutex_unlock (&lg->lock);
  return 0;
}

void
vx_log_set_sink (struct vx_logger *lg, enum vx_log_sink sink)
{
  pthread_mutex_lock (&lg->lock);
  if (sink == VX_SINK_SYSLOG && lg->sink != VX_SINK_SYSLOG)
    openlog (lg->ident, LOG_PID, LOG_DAEMON);
  else if (sink != VX_SINK_SYSLOG && lg->sink == VX_SINK_SYSLOG)
    closelog ();
  lg->sink = sink;
  pthread_mutex_unlock (&lg->lock);
}

void
vx_log_reset (struct vx_logger *lg)
{
  vx_log_set_file (lg, NULL, VX_DEFAULT_LEVEL);
  vx_log_set_sink (lg, VX_SINK_STDERR);
  pthread_mutex_lock (&lg->lock);
  lg->cb_log = lg->cb_warn = lg->cb_panic = NULL;
  lg->level = VX_DEFAULT_LEVEL;
  pthread_mutex_unlock (&lg->lock);
}

/* Hand one finished string to a callback of the va_list kind. */
static void
call_sink (vx_log_func *fn, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  fn (fmt, ap);
  va_end (ap);
}

/* "2024-05-01 12:00:00.123 ident[pid] level: text" (lock held). */
static void
write_file_line (struct vx_logger *lg, enum vx_level level, const char *text)
{
  char stamp[64];
  struct timespec ts;
  struct tm tm;

  clock_gettime (CLOCK_REALTIME, &ts);
  localtime_r (&ts.tv_sec, &tm);
  strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  fprintf (lg->file, "%s.%03ld %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000,
           lg->ident, (int) getpid (), vx_log_level_name (level), text);
}

static int
syslog_priority (enum vx_level level)
{
  switch (level) {
  case VX_PANIC: return LOG_CRIT;
  case VX_ERROR: return LOG_ERR;
  case VX_WARNING: return LOG_WARNING;
  case VX_AUDIT: return LOG_NOTICE;
  case VX_INFO: return LOG_INFO;
  default: return LOG_DEBUG;
  }
}

void
vx_vlog_to (struct vx_logger *lg, enum vx_level level, const char *fmt,
            va_list ap)
{
  char msg[2048];
  size_t n;
  vx_log_func *fn;
  int saved_errno = errno;

  if (in_log)
    return;
  pthread_mutex_lock (&lg->lock);
  if ((int) level > lg->level && (!lg->file || (int) level > lg->file_level)) {
    pthread_mutex_unlock (&lg->lock);
    errno = saved_errno;
    return;
  }

  /* msg = prefix, text, "\n"; text = msg + n, without the newline */
  n = (size_t) snprintf (msg, sizeof msg, "%s", lg->prefix);
  if (n >= sizeof msg - 2)
    n = 0;
  vsnprintf (msg + n, sizeof msg - n - 1, fmt, ap);
  in_log = true;
  if (lg->file && (int) level <= lg->file_level)
    write_file_line (lg, level, msg + n);
  if ((int) level <= lg->level) {
    fn = level == VX_PANIC ? lg->cb_panic
      : level <= VX_WARNING ? lg->cb_warn : lg->cb_log;
    if (!fn && lg->sink == VX_SINK_SYSLOG)
      syslog (syslog_priority (level), "%s", msg + n);
    strcat (msg, "\n");
    if (fn)
      call_sink (fn, "%s", msg);
    else if (lg->sink == VX_SINK_STDERR)
      fputs (msg, stderr);
  }
  in_log = false;
  pthread_mutex_unlock (&lg->lock);
  errno = saved_errno;
}

void
vx_log_to (struct vx_logger *lg, enum vx_level level, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vx_vlog_to (lg, level, fmt, ap);
  va_end (ap);
}

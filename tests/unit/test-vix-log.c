/* tests/unit/test-vix-log.c: the Vix core's logger (common/vix/log.c):
 * levels by name and number, routing of each level to the log, warn or
 * panic callback, the instance's prefix, independent instances, the
 * stderr sink, a log file with its own level filter, errno, re-entrancy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vxlog.h"
#include "tap.h"

/* What each callback received (concatenated). */
static char got_log[2048], got_warn[2048], got_panic[2048];

static void
append (char *buf, size_t size, const char *fmt, va_list ap)
{
  size_t n = strlen (buf);

  vsnprintf (buf + n, size - n, fmt, ap);
}

static void log_cb (const char *f, va_list ap) { append (got_log, sizeof got_log, f, ap); }
static void warn_cb (const char *f, va_list ap) { append (got_warn, sizeof got_warn, f, ap); }
static void panic_cb (const char *f, va_list ap) { append (got_panic, sizeof got_panic, f, ap); }

static void
clear (void)
{
  got_log[0] = got_warn[0] = got_panic[0] = '\0';
}

static struct vx_logger lib_a = VX_LOGGER_INIT ("VixDiskLib: ", "vixDiskLib");
static struct vx_logger lib_b = VX_LOGGER_INIT ("VixMntapi: ", "vixMntapi");

/* A callback that logs again (into its own instance): must be dropped. */
static void
nested_cb (const char *fmt, va_list ap)
{
  append (got_log, sizeof got_log, fmt, ap);
  vx_log_to (&lib_a, VX_AUDIT, "nested");
}

static void
test_levels (void)
{
  static const char *const names[] = {
    "panic", "error", "warning", "audit", "info", "verbose", "trivia",
  };

  for (int i = 0; i <= VX_TRIVIA; i++) {
    char num[16];
    snprintf (num, sizeof num, "%d", i);
    is_int (vx_log_parse_level (names[i]), i, "level name %s", names[i]);
    is_int (vx_log_parse_level (num), i, "level number %s", num);
    is_str (vx_log_level_name (i), names[i], "name of level %d", i);
  }
  is_int (vx_log_parse_level ("VeRbOsE"), VX_VERBOSE, "names ignore case");
  is_int (vx_log_parse_level ("7"), VX_TRIVIA, "7 is clamped to trivia");
  is_int (vx_log_parse_level ("-1"), VX_PANIC, "-1 is clamped to panic");
  is_int (vx_log_parse_level ("loud"), -1, "an unknown name: -1");
  is_int (vx_log_parse_level ("4 "), -1, "trailing junk: -1");
  is_int (vx_log_parse_level (""), -1, "empty: -1");
  is_int (vx_log_parse_level (NULL), -1, "NULL: -1");
  is_str (vx_log_level_name (9), "?", "name of an unknown level");
}

static void
test_routing (void)
{
  vx_log_configure (&lib_a, log_cb, warn_cb, panic_cb);
  vx_log_set_level (&lib_a, VX_TRIVIA);

  clear ();
  vx_log_to (&lib_a, VX_PANIC, "p%d", 0);
  is_str (got_panic, "VixDiskLib: p0\n", "panic goes to the panic callback, "
          "prefixed, with a newline");
  ok (!got_log[0] && !got_warn[0], "... and nowhere else");

  clear ();
  vx_log_to (&lib_a, VX_ERROR, "e");
  vx_log_to (&lib_a, VX_WARNING, "w");
  is_str (got_warn, "VixDiskLib: e\nVixDiskLib: w\n",
          "error and warning go to the warn callback");
  ok (!got_log[0] && !got_panic[0], "... and nowhere else");

  clear ();
  vx_log_to (&lib_a, VX_AUDIT, "a");
  vx_log_to (&lib_a, VX_INFO, "i");
  vx_log_to (&lib_a, VX_VERBOSE, "v");
  vx_log_to (&lib_a, VX_TRIVIA, "t");
  is_str (got_log, "VixDiskLib: a\nVixDiskLib: i\nVixDiskLib: v\n"
          "VixDiskLib: t\n", "audit to trivia go to the log callback");
  ok (!got_warn[0] && !got_panic[0], "... and nowhere else");

  /* the level filter */
  clear ();
  vx_log_set_level (&lib_a, VX_AUDIT);
  is_int (vx_log_get_level (&lib_a), VX_AUDIT, "get_level returns set_level");
  vx_log_to (&lib_a, VX_INFO, "hidden");
  vx_log_to (&lib_a, VX_AUDIT, "shown");
  is_str (got_log, "VixDiskLib: shown\n", "messages above the level are "
          "dropped");
  vx_log_set_level (&lib_a, VX_PANIC);
  clear ();
  vx_log_to (&lib_a, VX_ERROR, "hidden");
  vx_log_to (&lib_a, VX_PANIC, "still");
  ok (!got_warn[0] && strcmp (got_panic, "VixDiskLib: still\n") == 0,
      "level panic: only panics");

  /* a second instance: its own prefix, callbacks and level */
  vx_log_set_level (&lib_a, VX_AUDIT);
  vx_log_configure (&lib_b, log_cb, log_cb, log_cb);
  vx_log_set_level (&lib_b, VX_VERBOSE);
  clear ();
  vx_log_to (&lib_b, VX_VERBOSE, "b");
  vx_log_to (&lib_a, VX_VERBOSE, "not a");
  is_str (got_log, "VixMntapi: b\n", "instances keep their own prefix and "
          "level");
  clear ();
  vx_log_to (&lib_b, VX_ERROR, "to log_cb");
  is_str (got_log, "VixMntapi: to log_cb\n", "... and their own callbacks");

  /* errno and re-entrancy */
  clear ();
  errno = EDOM;
  vx_log_to (&lib_a, VX_AUDIT, "x");
  is_int (errno, EDOM, "errno is preserved");
  vx_log_configure (&lib_a, nested_cb, warn_cb, panic_cb);
  vx_log_to (&lib_a, VX_AUDIT, "outer");
  is_str (got_log, "VixDiskLib: x\nVixDiskLib: outer\n",
          "a message logged from a callback is dropped (no deadlock)");
  vx_log_to (&lib_a, VX_AUDIT, "after");
  ok (strstr (got_log, "VixDiskLib: after\n") != NULL,
      "logging works again afterwards");

  vx_log_reset (&lib_a);
  vx_log_reset (&lib_b);
  is_int (vx_log_get_level (&lib_a), VX_DEFAULT_LEVEL, "reset: default level");
}

/* Run LOG with stderr redirected to a file; what it printed, in BUF. */
static void
capture_stderr (void (*log) (void), char *buf, size_t size)
{
  char path[] = "/tmp/test-vix-log-err-XXXXXX";
  int fd = mkstemp (path), saved = dup (2);
  ssize_t n;

  buf[0] = '\0';
  if (fd < 0 || saved < 0)
    return;
  fflush (stderr);
  dup2 (fd, 2);
  log ();
  fflush (stderr);
  dup2 (saved, 2);
  close (saved);
  n = pread (fd, buf, size - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  close (fd);
  unlink (path);
}

static void
log_default (void)
{
  vx_log_to (&lib_b, VX_WARNING, "to stderr");
  vx_log_to (&lib_b, VX_INFO, "filtered");
}

static void
log_silent (void)
{
  vx_log_set_sink (&lib_b, VX_SINK_NONE);
  vx_log_to (&lib_b, VX_WARNING, "nowhere");
  vx_log_set_sink (&lib_b, VX_SINK_STDERR);
}

static void
test_sinks (void)
{
  char buf[1024];

  capture_stderr (log_default, buf, sizeof buf);
  is_str (buf, "VixMntapi: to stderr\n", "without callbacks: stderr, "
          "prefixed, level filter applied");
  capture_stderr (log_silent, buf, sizeof buf);
  is_str (buf, "", "sink none: nothing on stderr");
}

static void
test_file (void)
{
  char dir[] = "/tmp/test-vix-log-XXXXXX", path[256], line[512];
  char want[64];
  FILE *f;
  int lines = 0;
  bool v_seen = false, t_seen = false, w_seen = false, stamp_ok = false;

  if (!mkdtemp (dir)) {
    ok (false, "mkdtemp");
    return;
  }
  snprintf (path, sizeof path, "%s/test.log", dir);
  vx_log_configure (&lib_a, log_cb, warn_cb, panic_cb);
  vx_log_set_level (&lib_a, VX_WARNING);
  is_int (vx_log_set_file (&lib_a, path, VX_VERBOSE), 0, "open a log file");
  clear ();
  vx_log_to (&lib_a, VX_WARNING, "warn %s", "line");
  vx_log_to (&lib_a, VX_VERBOSE, "verbose line");
  vx_log_to (&lib_a, VX_TRIVIA, "trivia line");
  is_str (got_log, "", "the callbacks keep their own level");
  is_str (got_warn, "VixDiskLib: warn line\n", "... and still get theirs");
  is_int (vx_log_set_file (&lib_a, NULL, 0), 0, "close the log file");
  vx_log_to (&lib_a, VX_WARNING, "after close");

  snprintf (want, sizeof want, "vixDiskLib[%d] ", (int) getpid ());
  f = fopen (path, "r");
  while (f && fgets (line, sizeof line, f)) {
    lines++;
    /* "YYYY-MM-DD HH:MM:SS.mmm vixDiskLib[pid] level: text" */
    stamp_ok = strlen (line) > 24 && line[4] == '-' && line[10] == ' '
      && line[19] == '.' && strstr (line, want) != NULL;
    w_seen |= strstr (line, " warning: warn line\n") != NULL;
    v_seen |= strstr (line, " verbose: verbose line\n") != NULL;
    t_seen |= strstr (line, "trivia") != NULL;
  }
  if (f)
    fclose (f);
  is_int (lines, 2, "the file got the messages up to its level, until closed");
  ok (stamp_ok, "file lines carry time, ident and pid");
  ok (w_seen && v_seen, "file lines carry the level name and the text");
  ok (!t_seen, "messages above the file's level are not written");
  is_int (vx_log_set_file (&lib_a, "/nonexistent-dir/x.log", VX_INFO), ENOENT,
          "a log file that cannot be opened: its errno");
  vx_log_reset (&lib_a);
  unlink (path);
  rmdir (dir);
}

int
main (void)
{
  test_levels ();
  test_routing ();
  test_sinks ();
  test_file ();
  return tap_done ();
}

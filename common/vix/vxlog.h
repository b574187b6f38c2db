/* vixmount: the Vix core's logger (log.c).
 *
 * One implementation, one instance per user: libvixDiskLib ("VixDiskLib: "),
 * libvixMntapi ("VixMntapi: ") and the vixmount-fuse daemon each define a
 * struct vx_logger with VX_LOGGER_INIT and log through it (usually behind a
 * vx_log macro of their own).  A message goes
 *   - to the caller's callback for its level (panic for PANIC, warn for
 *     ERROR and WARNING, log for the rest) if the level is enabled, or,
 *     without a callback, to the instance's sink (stderr, syslog or none);
 *   - to the log file, if one is open, when it passes the file's level.
 * Callbacks are called one at a time per instance; a message logged from
 * inside a callback on the same thread is dropped (no deadlock); errno is
 * preserved; nothing here ever aborts.
 *
 * Only needs libc, so that programs which are not a Vix library (the FUSE
 * bridge) can use it without the VixDiskLib headers.
 */
#ifndef VIXMOUNT_VXLOG_H
#define VIXMOUNT_VXLOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

/* Levels as in vixDiskLib.transport.LogLevel. */
enum vx_level {
  VX_PANIC = 0, VX_ERROR = 1, VX_WARNING = 2, VX_AUDIT = 3,
  VX_INFO = 4, VX_VERBOSE = 5, VX_TRIVIA = 6,
};
#define VX_DEFAULT_LEVEL VX_AUDIT

/* Where messages without a callback go. */
enum vx_log_sink { VX_SINK_STDERR, VX_SINK_SYSLOG, VX_SINK_NONE };

/* The function type of VixDiskLibGenericLogFunc (the same type). */
typedef void vx_log_func (const char *fmt, va_list args);

/* An instance.  The fields belong to log.c. */
struct vx_logger {
  pthread_mutex_t lock;
  const char *prefix;          /* before every message: "VixDiskLib: " */
  const char *ident;           /* in log file lines and for syslog */
  vx_log_func *cb_log, *cb_warn, *cb_panic;
  int level;                   /* callbacks and sink */
  FILE *file;
  int file_level;
  enum vx_log_sink sink;
};
#define VX_LOGGER_INIT(prefix, ident)                                   \
  { PTHREAD_MUTEX_INITIALIZER, (prefix), (ident), NULL, NULL, NULL,     \
    VX_DEFAULT_LEVEL, NULL, VX_DEFAULT_LEVEL, VX_SINK_STDERR }

/* Log one message (no trailing newline needed; one is added). */
void vx_log_to (struct vx_logger *lg, enum vx_level level, const char *fmt,
                ...) __attribute__ ((format (printf, 3, 4)));
void vx_vlog_to (struct vx_logger *lg, enum vx_level level, const char *fmt,
                 va_list ap) __attribute__ ((format (printf, 3, 0)));

/* The caller's callbacks (NULL: that level goes to the sink). */
void vx_log_configure (struct vx_logger *lg, vx_log_func *log,
                       vx_log_func *warn, vx_log_func *panic);
/* Highest level passed to the callbacks / the sink. */
void vx_log_set_level (struct vx_logger *lg, int level);
int vx_log_get_level (struct vx_logger *lg);
/* Append to the file PATH (created 0600), with time, pid and level, the
 * messages up to LEVEL; NULL closes it.  Returns 0 or an errno value. */
int vx_log_set_file (struct vx_logger *lg, const char *path, int level);
/* Where messages without a callback go (syslog: openlog with the ident). */
void vx_log_set_sink (struct vx_logger *lg, enum vx_log_sink sink);
/* Back to the defaults: no callbacks, default level, no file, stderr. */
void vx_log_reset (struct vx_logger *lg);

/* "0".."6" or "panic".."trivia" (any case); -1 if neither. */
int vx_log_parse_level (const char *s);
/* "panic".."trivia"; "?" outside 0-6. */
const char *vx_log_level_name (int level);

#endif /* VIXMOUNT_VXLOG_H */

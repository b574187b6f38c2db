/* vixmount: the Vix runtime shared by libvixDiskLib and libvixMntapi.
 *
 *   log.c       log/warn/panic routing, levels, optional log file
 *   config.c    the configuration file of VixDiskLib_InitEx / VixMntapi_Init
 *   errors.c    VIX_E_* texts, vmdk/errno mapping, thread-local detail
 *   errors.def  every VIX_E_* code with its text (checked against the header)
 *   vixcodes.h  the VixError of an errno value and of an engine error
 */
#ifndef VIXMOUNT_VIX_H
#define VIXMOUNT_VIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"
#include "vixcodes.h"
#include "vmdk.h"

/* A function of a library's public ABI (the rest is hidden). */
#define VX_API __attribute__ ((visibility ("default")))
#define VX_PRINTF(a, b) __attribute__ ((format (printf, a, b)))


/* ---- log.c -------------------------------------------------------------- */

/* Levels as in vixDiskLib.transport.LogLevel. */
enum vx_level {
  VX_PANIC = 0, VX_ERROR = 1, VX_WARNING = 2, VX_AUDIT = 3,
  VX_INFO = 4, VX_VERBOSE = 5, VX_TRIVIA = 6,
};
#define VX_DEFAULT_LEVEL VX_AUDIT

/* Send a message to the callback for its level (panic for PANIC, warn for
 * ERROR and WARNING, log for the rest) if the level is enabled, and to the
 * log file if one is configured.  "VixDiskLib: " is prefixed and "\n"
 * appended.  Safe from any thread; never aborts. */
void vx_log (enum vx_level level, const char *fmt, ...) VX_PRINTF (2, 3);

/* Install callbacks (NULL = default stderr sink) and levels. */
void vx_log_configure (VixDiskLibGenericLogFunc *log,
                       VixDiskLibGenericLogFunc *warn,
                       VixDiskLibGenericLogFunc *panic);
void vx_log_set_level (int level);
int vx_log_get_level (void);
/* Open (append) the log file; NULL closes it. Returns 0 or errno. */
int vx_log_set_file (const char *path, int level);
/* Back to defaults (stderr, default level, no file). */
void vx_log_reset (void);
/* Parse "0".."6" or "panic".."trivia"; -1 if neither. */
int vx_log_parse_level (const char *s);

/* ---- config.c ----------------------------------------------------------- */

struct vx_note { enum vx_level level; char *text; };
struct vx_config {
  char *tmp_directory;       /* tmpDirectory */
  int log_level;             /* vixDiskLib.transport.LogLevel, -1 unset */
  char *log_file;            /* log.fileName */
  int log_file_level;        /* log.fileLevel, -1 unset */
  bool allow_escape;         /* vixmount.allowEscapingPaths */
  struct vx_note *notes;     /* messages about the file, not yet logged */
  size_t n_notes;
};
/* Read a configuration file (key = value lines).  Unknown keys are logged
 * and ignored.  Returns VIX_OK, or an error if the file cannot be read. */
VixError vx_config_read (const char *path, struct vx_config *cfg);
void vx_config_free (struct vx_config *cfg);
/* Log (and drop) the messages collected while reading the file. */
void vx_config_flush_notes (struct vx_config *cfg);

/* ---- errors.c ----------------------------------------------------------- */

/* Fail with CODE: remember "detail" (printf format) as the thread's last
 * error for VixDiskLib_GetErrorText, log it at LEVEL, return CODE. */
VixError vx_fail_at (enum vx_level level, VixError code, const char *fmt, ...)
  VX_PRINTF (3, 4);
#define vx_fail(code, ...) vx_fail_at (VX_ERROR, (code), __VA_ARGS__)
/* Engine errors and errno values map to VIX codes through vixcodes.h
 * (see docs/vixDiskLib.md). */
/* Fail with the mapped code of an engine error: "WHAT: engine message". */
VixError vx_fail_vmdk (const char *what, const struct vmdk_error *e);
/* Fail with the mapped code of errno: "WHAT: strerror". */
VixError vx_fail_errno (int errnum, const char *fmt, ...) VX_PRINTF (2, 3);
/* The fixed text of a code (never NULL). */
const char *vx_error_text (VixError code);

#endif /* VIXMOUNT_VIX_H */

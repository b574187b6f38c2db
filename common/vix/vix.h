/* vixmount: the Vix core shared by libvixDiskLib, libvixMntapi and (its
 * logger) the vixmount-fuse daemon.  Built as the convenience library
 * common/vix/libvxvix.la (common/vix/vix.am); every user has its own
 * instances of the logger and of the reporter below, named by macros in its
 * internal header.
 *
 *   vxlog.h, log.c  log/warn/panic routing, levels, log file, syslog
 *   config.c        the configuration file of VixDiskLib_InitEx and
 *                   VixMntapi_Init: one parser, one way to apply it
 *   errors.c        VIX_E_* texts, and failing: detail recorded, logged
 *   errors.def      every VIX_E_* code with its text (checked against the
 *                   public header)
 *   vixcodes.h      the VixError of an errno value and of an engine error
 *
 * The thread's last error (for VixDiskLib_GetErrorText) is not here: it
 * must exist once per process, so it lives in libvixDiskLib
 * (disklib/errors.c) and other libraries reach it through the exported
 * Vixmount_RecordError (vixDiskLibExt.h).
 */
#ifndef VIXMOUNT_VIX_H
#define VIXMOUNT_VIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"
#include "vixcodes.h"
#include "vmdk.h"
#include "vxlog.h"

/* A function of a library's public ABI (the rest is hidden). */
#define VX_API __attribute__ ((visibility ("default")))
#define VX_PRINTF(a, b) __attribute__ ((format (printf, a, b)))


/* ---- errors.c: failing ------------------------------------------------- */

/* How a library fails: where its messages go and how it records the detail
 * of a failure for VixDiskLib_GetErrorText. */
typedef VixError vx_record_func (VixError code, const char *detail);
struct vx_reporter {
  struct vx_logger *logger;
  vx_record_func *record;
};

/* Fail with CODE: record the detail (printf format), log it at LEVEL as
 * "detail (error N: text)", return CODE. */
VixError vx_report (const struct vx_reporter *r, enum vx_level level,
                    VixError code, const char *fmt, ...) VX_PRINTF (4, 5);
/* Fail with the mapped code of errno: "WHAT: strerror". */
VixError vx_report_errno (const struct vx_reporter *r, int errnum,
                          const char *fmt, ...) VX_PRINTF (3, 4);
/* Fail with the mapped code of an engine error: "WHAT: message [CODE]". */
VixError vx_report_vmdk (const struct vx_reporter *r, const char *what,
                         const struct vmdk_error *e);
/* The fixed text of a code, NULL if errors.def does not know it. */
const char *vx_error_text (VixError code);

/* ---- disktype.c --------------------------------------------------------- */
/* The VixDiskLibDiskType of a VMDK createType name ("monolithicSparse",
 * "vmfsThin", ...; any case), VIXDISKLIB_DISK_UNKNOWN for another or NULL. */
VixDiskLibDiskType vx_disk_type_of (const char *create_type);

/* ---- config.c ----------------------------------------------------------- */

struct vx_note { enum vx_level level; char *text; };
/* vixmount.bridge: how a disk set's bytes reach the kernel's filesystems */
enum vx_bridge {
  VX_BRIDGE_UNSET = 0,
  VX_BRIDGE_AUTO,            /* kernel NBD where the kernel has nbd, else FUSE */
  VX_BRIDGE_KERNEL,          /* /dev/nbdN (and device-mapper) */
  VX_BRIDGE_FUSE,            /* FUSE files and loop devices */
};
/* "auto", "kernel", "fuse" (any case) -> the value; anything else: -1. */
int vx_bridge_parse (const char *s);
struct vx_config {
  char *tmp_directory;       /* tmpDirectory */
  int log_level;             /* vixDiskLib.transport.LogLevel, -1 unset */
  int mntapi_log_level;      /* vixMntapi.LogLevel, -1 unset */
  char *log_file;            /* log.fileName */
  int log_file_level;        /* log.fileLevel, -1 unset */
  bool allow_escape;         /* vixmount.allowEscapingPaths */
  enum vx_bridge bridge;     /* vixmount.bridge */
  int direct_read;           /* vixmount.directRead: 1 true, 0 false, -1 auto */
  struct vx_note *notes;     /* messages about the file, not yet logged */
  size_t n_notes;
};
#define VX_CONFIG_INIT \
  { .log_level = -1, .mntapi_log_level = -1, .log_file_level = -1, .direct_read = -1 }

/* Parse configuration text (LEN bytes, "key = value" lines); NAME is the
 * file name messages give.  Unknown keys and bad values become notes. */
void vx_config_parse (struct vx_config *cfg, const char *name,
                      const char *text, size_t len);
/* Read and parse a file.  Returns 0 or an errno value. */
int vx_config_read (const char *path, struct vx_config *cfg);
/* Free the strings and notes; *cfg is VX_CONFIG_INIT afterwards. */
void vx_config_free (struct vx_config *cfg);
/* Init's first step: *cfg = the file PATH (none if NULL).  A file that
 * cannot be read is reported (WHO: "InitEx", "Init") as a warning and the
 * library carries on without it, as VMware's does.  Returns VIX_OK or the
 * code that was reported. */
VixError vx_config_load (const struct vx_reporter *r, const char *who,
                         const char *path, struct vx_config *cfg);
/* Init's second step: LEVEL (-1: leave it) for the callbacks, the log file
 * (log.fileName, relative names in tmpDirectory; log.fileLevel, else LEVEL),
 * then log the notes collected while parsing. */
void vx_config_apply (struct vx_logger *lg, const char *who,
                      struct vx_config *cfg, int level);

#endif /* VIXMOUNT_VIX_H */

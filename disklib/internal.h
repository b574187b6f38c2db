/* libvixDiskLib internals shared by its source files (never installed).
 *
 * Layout of the library:
 *   handles.c   the handle registry (validation, double close, Exit)
 *   init.c      Init/InitEx/Exit, transport modes, Cleanup
 *   connect.c   connections and connect params
 *   disk.c      Open/Close/GetInfo, disk locks, Attach
 *   io.c        Read/Write/async/Flush/Wait/QueryAllocatedBlocks
 *   metadata.c  ReadMetadata/WriteMetadata/GetMetadataKeys
 *   manage.c    Create/CreateChild/Clone/Grow/Rename/Unlink/CheckRepair/...
 *   errors.c    the process's last-error store, GetErrorText,
 *               Vixmount_RecordError
 * Logging, the configuration file and failing come from the Vix core
 * (common/vix/vix.h) through the macros below.
 */
#ifndef VIXMOUNT_DISKLIB_INTERNAL_H
#define VIXMOUNT_DISKLIB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vixDiskLib.h"
#include "vix.h"
#include "vmdk.h"

/* The API version this library implements (VDDK 8.0 layouts). */
#define VX_OUR_MAJOR 8
#define VX_OUR_MINOR 0

/* ---- the Vix core, as this library uses it ----------------------------- */

/* libvixDiskLib's logger ("VixDiskLib: ", the callbacks of InitEx) and its
 * way of failing (errors.c's store; init.c defines both). */
extern struct vx_logger vx_dl_logger;
extern const struct vx_reporter vx_dl_reporter;

/* Log at LEVEL (printf format, no newline). */
#define vx_log(level, ...) vx_log_to (&vx_dl_logger, (level), __VA_ARGS__)
/* Fail with CODE: the detail (printf format) is recorded for
 * VixDiskLib_GetErrorText and logged at LEVEL (vx_fail: error). */
#define vx_fail_at(level, code, ...) \
  vx_report (&vx_dl_reporter, (level), (code), __VA_ARGS__)
#define vx_fail(code, ...) vx_fail_at (VX_ERROR, (code), __VA_ARGS__)
/* Fail with the mapped code of errno: "WHAT: strerror". */
#define vx_fail_errno(errnum, ...) \
  vx_report_errno (&vx_dl_reporter, (errnum), __VA_ARGS__)
/* Fail with the mapped code of an engine error: "WHAT: message [CODE]". */
#define vx_fail_vmdk(what, e) vx_report_vmdk (&vx_dl_reporter, (what), (e))

/* ---- handles.c ---------------------------------------------------------- */

enum vx_kind { VX_KIND_CONN = 1, VX_KIND_DISK = 2 };
struct vx_token;

/* A new live handle for OBJ, or NULL (out of memory). */
struct vx_token *vx_handle_new (enum vx_kind kind, void *obj);
/* Validate a handle the caller passed and take a reference: returns the
 * object, or NULL with *err = VIX_E_INVALID_ARG (NULL handle) or
 * VIX_E_INVALID_HANDLE (not a live handle of that kind: closed, freed,
 * garbage).  Never dereferences a pointer it did not hand out. */
void *vx_handle_get (const void *h, enum vx_kind kind, VixError *err);
/* Drop the reference taken by vx_handle_get. */
void vx_handle_put (const void *h);
/* Start closing: the handle stops validating at once; waits until no other
 * thread holds a reference; returns the object (or NULL like get). */
void *vx_handle_retire (const void *h, enum vx_kind kind, VixError *err);
/* The handle's slot may be reused later (after a quarantine, so that a
 * double close is still detected). */
void vx_handle_free (struct vx_token *t);
/* Every live object of a kind (for Exit and Disconnect); caller frees the
 * returned array.  *n set. */
void **vx_handle_list (enum vx_kind kind, size_t *n);
/* Drop all registry memory (Exit, after everything was closed). */
void vx_handle_reset (void);

/* ---- init.c ------------------------------------------------------------- */

struct vx_global {
  bool initialized;
  uint32_t major, minor;       /* version the caller asked for */
  struct vx_config cfg;
};
extern struct vx_global vx_g;
/* Serialises Init/Exit, Open/Close, Connect/Disconnect, Attach, and disk
 * management calls (VMware's Open/Close are not thread-safe; ours are). */
extern pthread_mutex_t vx_big_lock;
/* The caller's InitEx version is at least MAJOR.MINOR. */
bool vx_version_at_least (uint32_t major, uint32_t minor);
/* VIX_OK if initialised, else VIX_E_DISK_NOINIT (recorded). */
VixError vx_require_init (const char *fn);

/* ---- connect.c / disk.c ------------------------------------------------- */

struct vx_disk;
struct vx_conn {
  struct vx_token *tok;
  bool readonly;
  VixDiskLibConnectParams *params;  /* deep copy of the local fields */
};

struct vx_disk {
  struct vx_token *tok;
  struct vx_conn *conn;
  struct vmdk_disk *vd;
  char *path;                /* as passed to Open */
  uint32_t flags;            /* VIXDISKLIB_FLAG_OPEN_* in effect */
  bool readonly;
  char *lockdir;             /* "<path>.lck" we created, or NULL */
  pthread_rwlock_t iolock;   /* read side: I/O that only reads */
};

/* Engine options for a VixDiskLib open flag word. */
void vx_vmdk_options (uint32_t flags, bool readonly, struct vmdk_options *o);
/* Close a disk object (engine, lock dir, memory); no handle business. */
void vx_disk_destroy (struct vx_disk *d);
/* Retire and close every disk of CONN (NULL: all disks).  Big lock held. */
void vx_close_disks_of (struct vx_conn *conn);
/* Free a connection object (its handle already retired). */
void vx_conn_destroy (struct vx_conn *c);

/* Disk locks (VMware style "<disk>.lck" directory, ours holds one file
 * naming host and pid).  Returns VIX_OK or VIX_E_FILE_ALREADY_LOCKED /
 * access errors; *lockdir receives the directory to remove on close. */
VixError vx_lock_disk (const char *path, char **lockdir);
void vx_unlock_disk (char *lockdir);
/* VIX_E_FILE_ALREADY_LOCKED if a live process holds the disk's lock. */
VixError vx_check_unlocked (const char *path);

/* Take / drop a disk handle for an operation: validation, reference and the
 * handle's I/O lock (shared for reads, exclusive for writes). */
struct vx_disk *vx_disk_begin (VixDiskLibHandle h, bool exclusive,
                               VixError *err);
void vx_disk_end (struct vx_disk *d, bool exclusive);

/* ---- utilities ---------------------------------------------------------- */

char *vx_strdup (const char *s);   /* NULL-safe strdup */
/* 64-bit overflow-safe sector range check against a capacity. */
bool vx_range_ok (uint64_t start, uint64_t count, uint64_t capacity);

#endif /* VIXMOUNT_DISKLIB_INTERNAL_H */

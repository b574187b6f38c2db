/* vixmount-fuse: the userspace block bridge.
 *
 * Disk exports (and byte ranges of them) presented as regular files of a
 * FUSE filesystem, for loop devices to sit on where the kernel has no nbd
 * driver.  An export is an NBD export (NAME=URI), or a VMDK read in-process
 * by the engine (--vmdk NAME=PATH alone: a local export, no server).
 *
 *   export.c   one export: its properties and a pool of libnbd handles
 *   local.c    in-process VMDK reads (--vmdk) and the --cow overlay
 *              (common/cow)
 *   files.c    the file table (names, inodes, ranges), .control commands
 *   compose.c  a file's bytes as pieces of exports (ranges, and composed
 *              files: segments of several exports, linear and striped)
 *   control.c  the .control lines parsed into commands (control.h)
 *   nbdlib.c   libnbd, loaded at the first NBD export (nbdlib.h)
 *   fs.c       the FUSE low-level operations
 *   main.c     options, start-up, daemonizing, signals, shutdown
 *   nbdlib.c   libnbd, loaded at the first NBD export (nbdlib.h)
 */
#ifndef VIXMOUNT_BRIDGE_H
#define VIXMOUNT_BRIDGE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "control.h"
#include "vxlog.h"

struct nbd_handle;
struct fuse_session;
struct local;

/* ---- logging (main.c, through the Vix core's logger) -------------------- */
/* To stderr while in the foreground or starting up, to syslog (or --log
 * FILE) once daemonized.  Messages never end in a newline.  vx_debug only
 * with -v. */
extern struct vx_logger vx_bridge_logger;
#define vx_log(...) vx_log_to (&vx_bridge_logger, VX_ERROR, __VA_ARGS__)
#define vx_debug(...) vx_log_to (&vx_bridge_logger, VX_VERBOSE, __VA_ARGS__)
extern bool vx_verbose;

/* ---- export.c ----------------------------------------------------------- */
struct export {
  char *uri;               /* the NBD URI; a local export's VMDK path */
  bool server;             /* false: a local export (no NBD connection) */
  uint64_t size;
  bool readonly;           /* the server's flag, or -r */
  bool can_flush, can_fua, can_trim, can_zero, multi_conn;
  uint32_t min_block;      /* the server's minimum block size (1: none) */
  uint32_t max_request;    /* largest single NBD request we send */
  pthread_rwlock_t rmw_lock; /* read-modify-write of a partial block
                              * (write-locked) vs other writes */

  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned nconn;          /* pool size (1 unless the server has multi-conn) */
  unsigned nopen;          /* handles connected or being connected */
  struct nbd_handle **idle;/* connected handles not in use (stack) */
  unsigned nidle;
  struct nbd_handle **all; /* every connected handle, for flush-all */
  unsigned nall;

  struct local *local;     /* --cow overlay, --vmdk reads (local.c) */
};

/* Connects once (reporting failures on stderr, naming the URI) and reads the
 * export's size and flags.  Returns NULL on failure. */
struct export *export_open (const char *uri, bool force_readonly,
                            unsigned max_connections);
/* A local export: the VMDK at PATH read in-process (VMDK_FLAGS: more
 * VMDK_OPEN_* flags, SINGLE_LINK, DIRECT_READ), read-only until
 * export_enable_cow.  NULL on failure (logged, naming PATH). */
struct export *export_open_local (const char *path, unsigned vmdk_flags);
void export_close (struct export *e);

/* Take a handle from the pool (connecting another one up to nconn, waiting
 * otherwise); give it back with export_put.  NULL (errno set) if a new
 * connection failed and none is available. */
struct nbd_handle *export_get (struct export *e);
/* Return a handle; if it has died (server gone), it is closed instead. */
void export_put (struct export *e, struct nbd_handle *h);

/* Reads larger than this go out as pieces of this size, all in flight on
 * one connection (0: one request). */
extern unsigned export_read_split;
/* The I/O, split into requests the server accepts.  Return 0 or an errno. */
int export_pread (struct export *e, void *buf, size_t count, uint64_t off);
int export_pwrite (struct export *e, const void *buf, size_t count,
                   uint64_t off, bool fua);
int export_zero (struct export *e, uint64_t count, uint64_t off, bool may_trim);
int export_flush (struct export *e);
/* A read from the server only (what is below an overlay without --vmdk). */
int export_remote_pread (struct export *e, void *buf, size_t count,
                         uint64_t off);

/* ---- local.c ------------------------------------------------------------ */
/* --vmdk: blocks of E not written into the overlay are read in-process from
 * the VMDK at PATH (for an NBD export, its virtual size must be E's size;
 * a local export takes its size from it; VMDK_FLAGS: more VMDK_OPEN_*
 * flags, as the plugin's single-link=true and direct-read=true).  0, or -1
 * (logged, naming PATH). */
int export_attach_vmdk (struct export *e, const char *path, unsigned vmdk_flags);
/* --cow: E becomes writable, into a private, unlinked overlay file in DIR
 * (common/cow), never into what is below.  0, or -1 (logged). */
int export_enable_cow (struct export *e, const char *dir);
bool local_has_overlay (const struct local *l);   /* l may be NULL */
void local_close (struct local *l);
/* Reads written blocks from the overlay, the others from the VMDK or from
 * the server.  0 or an errno. */
int local_pread (struct export *e, void *buf, size_t count, uint64_t off);
/* Writes DATA (NULL: zeros) into the overlay; partial blocks are completed
 * from below.  0 or an errno. */
int local_cow_write (struct export *e, const void *data, uint64_t count,
                     uint64_t off);

/* ---- files.c ------------------------------------------------------------ */
#define VX_ROOT_INO    1
#define VX_CONTROL_INO 2

struct vfile {
  uint64_t ino;
  char *name;
  struct export *exp;      /* a composed file: its first export */
  uint64_t offset;         /* into the export (a composed file: 0) */
  uint64_t length;
  /* a composed file (compose): its segments, whose disks index exps[],
   * offsets into those exports; NULL for a range of one export */
  struct vx_segment *seg;
  size_t nseg;
  struct export **exps;
  size_t nexps;
  bool readonly;
  bool removed;            /* no longer in the directory */
  uint64_t nlookup;        /* kernel references (lookup - forget) */
  unsigned nopen;          /* open file handles */
};

struct filetab {
  pthread_mutex_t lock;
  struct vfile **v;        /* listed and removed-but-referenced files */
  size_t n, cap;
  uint64_t next_ino;
  unsigned generation;     /* bumped when anything changes (readdir) */
};

extern struct filetab files;

/* Adds a file (caller holds no lock).  0 or an errno; *why explains. */
int vfile_add (const char *name, struct export *exp, uint64_t offset,
               uint64_t length, bool readonly, struct vfile **out,
               const char **why);
/* Under files.lock: */
struct vfile *vfile_by_name_locked (const char *name);
struct vfile *vfile_by_ino_locked (uint64_t ino);
/* Drops one open reference / lookups; frees a removed file with none. */
void vfile_release (struct vfile *f);
void vfile_forget (uint64_t ino, uint64_t nlookup);
/* At exit, once no FUSE thread runs. */
void vfile_free_all (void);

/* Adds a composed file: SEG (taken over, also on failure) over EXPS
 * (copied), SIZE bytes.  0 or an errno; *why explains. */
int vfile_add_composed (const char *name, struct vx_segment *seg, size_t nseg,
                        struct export **exps, size_t nexps, uint64_t size,
                        bool readonly, const char **why);
/* Executes the lines of a write to .control.  0 or EINVAL (logged). */
int control_write (struct fuse_session *se, const char *buf, size_t len);

/* ---- compose.c ---------------------------------------------------------- */
/* Calls FN for each piece of [OFF, OFF + COUNT) of F that is contiguous in
 * one export: the export, the offset in it, the piece's offset from OFF and
 * its length.  [OFF, OFF + COUNT) must lie inside F.  Returns 0, or the
 * first non-zero value FN returned. */
typedef int vfile_piece_fn (void *arg, struct export *e, uint64_t eoff,
                            uint64_t boff, uint64_t len);
int vfile_pieces (const struct vfile *f, uint64_t off, uint64_t count,
                  vfile_piece_fn *fn, void *arg);
/* Whether F reads from export E. */
bool vfile_uses (const struct vfile *f, const struct export *e);
/* Flushes every export F reads from: 0 or the first errno. */
int vfile_flush (const struct vfile *f);

/* ---- fs.c --------------------------------------------------------------- */
struct fs_config {
  bool direct_io;          /* FOPEN_DIRECT_IO on every data file */
  unsigned max_request;    /* max_read / max_write (bytes) */
  double timeout;          /* attr and entry timeout (s) */
  void (*on_init) (void);  /* called once the kernel has sent INIT */
};
extern struct fs_config fscfg;
extern const struct fuse_lowlevel_ops vx_fs_ops;
extern struct fuse_session *vx_session;

/* Per-thread read buffer of at least SIZE bytes (NULL: ENOMEM). */
void *thread_buffer (size_t size);

#endif

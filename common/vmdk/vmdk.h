/* vixmount: the VMDK format engine.  This header is its whole interface.
 *
 * A "disk" is one VMDK link (a descriptor plus its extents) together with the
 * chain of parents it sits on, unless it was opened as a single link.  Every
 * function reports failure through a caller-owned struct vmdk_error, so the
 * engine holds no global error state and can be used from many threads.
 *
 * Thread safety: once vmdk_open returns, vmdk_pread, vmdk_map and the info
 * getters may be called concurrently from any number of threads on the same
 * disk.  vmdk_close must not race with anything else on that disk.
 */
#ifndef VIXMOUNT_VMDK_H
#define VIXMOUNT_VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VMDK_SECTOR_SIZE 512

/* What went wrong.  Codes are stable: callers map them to errno (the
 * nbdkit plugin) or to VIX_E_* (libvixDiskLib). */
enum vmdk_errcode {
  VMDK_OK = 0,
  VMDK_ERR_IO,           /* a read or write of a file failed (sys_errno set) */
  VMDK_ERR_NOMEM,        /* memory allocation failed */
  VMDK_ERR_NOENT,        /* a file (descriptor, extent, parent) does not exist */
  VMDK_ERR_ACCESS,       /* permission denied opening a file */
  VMDK_ERR_FORMAT,       /* malformed content: bad magic, field, descriptor syntax */
  VMDK_ERR_TRUNCATED,    /* a file is shorter than its structures require */
  VMDK_ERR_BOUNDS,       /* a table pointer lies outside the file or in metadata */
  VMDK_ERR_UNSUPPORTED,  /* valid but not supported: version, type, feature */
  VMDK_ERR_PATH,         /* an extent/parent path is absolute, escapes the
                            descriptor's directory, or names a device */
  VMDK_ERR_CHAIN,        /* parent loop, chain too deep, capacity mismatch */
  VMDK_ERR_CID,          /* child's parentCID differs from the parent's CID */
  VMDK_ERR_LIMIT,        /* a size or count exceeds the engine's safety caps */
  VMDK_ERR_RANGE,        /* request outside the disk */
  VMDK_ERR_INVAL,        /* bad argument from the caller */
  VMDK_ERR_READONLY,     /* write to a disk or extent that cannot be written */
  VMDK_ERR_COMPRESSED,   /* a compressed grain is corrupt */
  VMDK_ERR_EXISTS,       /* creating: a file exists already */
  VMDK_ERR_LOCKED,       /* another open holds a conflicting lock (VMDK_OPEN_LOCK) */
  VMDK_ERR_NOTVMDK,      /* the file is no VMDK at all: no sparse header magic
                            and nothing of a descriptor in its first 4 KiB */
};

struct vmdk_error {
  enum vmdk_errcode code;
  int sys_errno;         /* errno behind VMDK_ERR_IO/NOENT/ACCESS, else 0 */
  char msg[1024];        /* "FILE: what: why", always NUL-terminated */
};

/* "VMDK_ERR_FORMAT" etc. */
const char *vmdk_errcode_name (enum vmdk_errcode code);
/* The errno value that best represents a code (EIO, ENOMEM, ENOENT, ...). */
int vmdk_errcode_errno (enum vmdk_errcode code);
/* The errno for a failure: the system's own for I/O errors, else the code's. */
int vmdk_error_errno (const struct vmdk_error *err);

/* Safety caps (documented in docs/vmdk-engine.md). */
#define VMDK_MAX_DESCRIPTOR_BYTES (1024 * 1024 - 1)  /* as QEMU */
#define VMDK_MAX_LINE_BYTES       (64 * 1024)
#define VMDK_MAX_EXTENTS          65536
#define VMDK_MAX_CAPACITY_SECTORS (UINT64_C(1) << 47) /* 64 PiB */
#define VMDK_DEFAULT_MAX_CHAIN    64
#define VMDK_DEFAULT_GT_CACHE     (32 * 1024 * 1024)  /* bytes, per open disk */

/* Open flags. */
#define VMDK_OPEN_RDONLY        0x0001u /* without it the top link opens read-write */
#define VMDK_OPEN_SINGLE_LINK   0x0002u /* open this link only: unallocated
                                           grains read as zeros, no parent */
#define VMDK_OPEN_ALLOW_ESCAPE  0x0004u /* allow absolute extent/parent paths and
                                           paths leaving the descriptor's dir */
#define VMDK_OPEN_ALLOW_DEVICES 0x0008u /* allow VMFSRDM/VMFSRAW and device extents */
#define VMDK_OPEN_NO_CID_CHECK  0x0010u /* do not compare parentCID with the parent */
#define VMDK_OPEN_LOCK          0x0020u /* flock every file of the chain while open:
                                           exclusive on a writable top link, shared
                                           elsewhere; a conflict fails with
                                           VMDK_ERR_LOCKED naming the holder's pid */
#define VMDK_OPEN_LOCK_EXCL     0x0040u /* with VMDK_OPEN_LOCK: lock the top link
                                           exclusively even when opened read-only
                                           (for an owner whose writer is elsewhere) */
#define VMDK_OPEN_DIRECT_READ   0x0080u /* read the data of links that are not
                                           written with O_DIRECT where the file
                                           system takes it (uncached; no copy on
                                           9p or NFS); buffered reads otherwise */

struct vmdk_options {
  unsigned flags;           /* VMDK_OPEN_* */
  size_t gt_cache_bytes;    /* 0 = VMDK_DEFAULT_GT_CACHE; loaded grain tables
                               of the whole chain stay within this budget
                               (least recently used evicted, CLOCK) */
  unsigned max_chain;       /* 0 = VMDK_DEFAULT_MAX_CHAIN */
};

struct vmdk_disk;

/* Open a disk by the path of its descriptor file or of a monolithic sparse /
 * stream-optimized file.  opts may be NULL (read-only, defaults).  Returns
 * NULL and fills *err on failure. */
struct vmdk_disk *vmdk_open (const char *path, const struct vmdk_options *opts,
                             struct vmdk_error *err);
/* Closes the whole chain.  A writable disk is flushed and its unclean-
 * shutdown flag cleared first; call vmdk_flush before to learn of errors. */
void vmdk_close (struct vmdk_disk *disk);

/* Virtual size in bytes. */
uint64_t vmdk_size (const struct vmdk_disk *disk);
/* How many reads of the whole chain were served with O_DIRECT so far
 * (VMDK_OPEN_DIRECT_READ). */
uint64_t vmdk_direct_reads (const struct vmdk_disk *disk);

/* Read count bytes at any byte offset (no alignment needed).  The range must
 * lie inside the disk.  Returns 0, or -1 with *err filled. */
int vmdk_pread (struct vmdk_disk *disk, void *buf, size_t count,
                uint64_t offset, struct vmdk_error *err);

/* ---- Writing (top link only; parents are never written) ---------------- */

/* Write count bytes at any byte offset.  VMDK_WRITE_FUA: durable on return.
 * Sparse extents allocate grains (copying the rest of a partially written
 * grain from the parent chain); flat extents are written in place; ZERO
 * extents and streamOptimized disks refuse with VMDK_ERR_UNSUPPORTED. */
#define VMDK_WRITE_FUA 0x1u
int vmdk_pwrite (struct vmdk_disk *disk, const void *buf, size_t count,
                 uint64_t offset, unsigned flags, struct vmdk_error *err);
/* Make a range read as zeros: zeroed-grain GTEs where the extent has them,
 * deallocation where nothing shows through from a parent, else real zeros.
 * VMDK_ZERO_MAY_TRIM allows deallocating. */
#define VMDK_ZERO_MAY_TRIM 0x2u
int vmdk_zero (struct vmdk_disk *disk, uint64_t count, uint64_t offset,
               unsigned flags, struct vmdk_error *err);
/* Discard whole grains inside the range where that is safe (no parent shows
 * through, or a zeroed-grain GTE can hide it); a hint: may do nothing. */
int vmdk_trim (struct vmdk_disk *disk, uint64_t count, uint64_t offset,
               unsigned flags, struct vmdk_error *err);
/* Data and metadata written so far are durable when this returns 0. */
int vmdk_flush (struct vmdk_disk *disk, struct vmdk_error *err);
/* True if the top link was opened for writing. */
bool vmdk_is_writable (const struct vmdk_disk *disk);

/* ---- Creating disks ------------------------------------------------------ */

struct vmdk_create_params {
  const char *create_type;   /* "monolithicSparse" (default), "monolithicFlat",
                                "twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                "streamOptimized" (vmdk_clone only) */
  uint64_t capacity;         /* sectors (ignored for children and clones) */
  const char *adapter_type;  /* "ide" (default), "buslogic", "lsilogic", "legacyESX" */
  unsigned hw_version;       /* ddb.virtualHWVersion, 0 = 4 */
  bool zeroed_grain;         /* sparse kinds: version 2 with zeroed-grain GTEs */
};

/* Create a new empty disk at path (the descriptor's path; extent files are
 * named beside it as qemu-img and VMware name them).  Fails with
 * VMDK_ERR_EXISTS if any file exists already (nothing is left behind). */
int vmdk_create (const char *path, const struct vmdk_create_params *p,
                 struct vmdk_error *err);
/* Create a delta link at path on top of the disk at parent_path (its
 * parentFileNameHint is parent_path relative to path's directory when
 * possible).  p may be NULL (monolithicSparse). */
int vmdk_create_child (const char *path, const char *parent_path,
                       const struct vmdk_create_params *p,
                       struct vmdk_error *err);
/* Copy the whole content of src into a new disk at path; p->capacity is
 * taken from src.  Unallocated ranges stay unallocated.  progress (may be
 * NULL) is called now and then; returning false cancels (VMDK_ERR_INVAL
 * with "cancelled" is reported and the partial files are removed). */
typedef bool (*vmdk_progress_cb) (void *opaque, uint64_t done, uint64_t total);
int vmdk_clone (struct vmdk_disk *src, const char *path,
                const struct vmdk_create_params *p, vmdk_progress_cb progress,
                void *opaque, struct vmdk_error *err);

/* ---- Allocation map ---------------------------------------------------- */

enum vmdk_map_kind {
  VMDK_MAP_DATA,   /* allocated: bytes come from a file */
  VMDK_MAP_ZERO,   /* reads as zeros by definition: zeroed-grain GTE, ZERO
                      extent, seSparse unmapped/zero grain */
  VMDK_MAP_HOLE,   /* unallocated in every layer searched: reads as zeros */
};

struct vmdk_map_entry {
  uint64_t offset, length;   /* virtual byte range */
  enum vmdk_map_kind kind;
  unsigned depth;            /* chain layer that decided (0 = the disk opened);
                                for HOLE, the deepest layer searched */
  int64_t file_offset;       /* DATA, uncompressed: byte offset in `file`, else -1 */
  const char *file;          /* DATA: path of the extent file, else NULL */
  bool compressed;           /* DATA held in compressed grains */
  bool zero;                 /* DATA that reads as zeros: a hole in the file
                                under a flat extent (as qemu-img map's
                                "data": true, "zero": true) */
};

/* Calls cb for consecutive entries covering [offset, offset+length) in order;
 * neighbours with the same kind, depth and contiguous file offsets are merged.
 * cb returns 0 to continue, non-zero to stop early (vmdk_map then returns 0).
 * VMDK_MAP_THIS_LAYER: do not look into parents (unallocated = HOLE). */
#define VMDK_MAP_THIS_LAYER 0x1u
typedef int (*vmdk_map_cb) (void *opaque, const struct vmdk_map_entry *e);
int vmdk_map (struct vmdk_disk *disk, uint64_t offset, uint64_t length,
              unsigned flags, vmdk_map_cb cb, void *opaque,
              struct vmdk_error *err);

/* ---- Description ------------------------------------------------------- */

enum vmdk_extent_type {
  VMDK_EXTENT_FLAT, VMDK_EXTENT_SPARSE, VMDK_EXTENT_ZERO, VMDK_EXTENT_VMFS,
  VMDK_EXTENT_VMFSSPARSE, VMDK_EXTENT_SESPARSE, VMDK_EXTENT_VMFSRDM,
  VMDK_EXTENT_VMFSRAW,
};
enum vmdk_access { VMDK_ACCESS_RW, VMDK_ACCESS_RDONLY, VMDK_ACCESS_NOACCESS };

const char *vmdk_extent_type_name (enum vmdk_extent_type t);  /* "SPARSE" */
const char *vmdk_access_name (enum vmdk_access a);            /* "RW" */

struct vmdk_extent_info {
  enum vmdk_access access;
  enum vmdk_extent_type type;
  uint64_t start;            /* first virtual sector */
  uint64_t sectors;          /* size in sectors as used */
  const char *filename;      /* as written in the descriptor, NULL for ZERO */
  const char *path;          /* resolved path opened, NULL for ZERO */
  uint64_t flat_offset;      /* FLAT/VMFS: first sector in the file */
  uint64_t file_bytes;       /* size of the extent file */
  /* sparse kinds (SPARSE, VMFSSPARSE, SESPARSE) */
  unsigned version;          /* header version */
  uint32_t flags;            /* header flags (hosted sparse) */
  uint64_t grain_sectors;
  uint32_t gtes_per_gt;
  uint64_t gd_offset, rgd_offset, overhead;  /* sectors (as in the header) */
  uint64_t gd_entries;
  bool compressed;           /* streamOptimized grains */
  bool zeroed_gte;           /* zeroed-grain GTEs enabled */
  bool gd_at_end;            /* GD found via the footer */
  bool redundant_gd_used;    /* some primary GD entries were replaced */
  bool unclean_shutdown;     /* the header's dirty byte/flag was set */
};

struct vmdk_info {
  const char *path;          /* path given to vmdk_open (for a parent: resolved) */
  const char *create_type;   /* "monolithicSparse", ... */
  unsigned version;          /* descriptor version=, 0 if no descriptor */
  const char *encoding;      /* NULL if absent */
  bool has_descriptor;       /* false: a bare sparse/COWD file */
  bool embedded_descriptor;
  bool has_cid;
  uint32_t cid, parent_cid;  /* parent_cid 0xffffffff = no parent */
  const char *parent_hint;   /* parentFileNameHint, NULL if none */
  uint64_t capacity;         /* sectors */
  size_t num_extents;
  uint64_t grain_sectors;    /* largest grain of any sparse extent, 0 if none */
  bool unclean_shutdown;     /* any extent's dirty flag */
  unsigned num_links;        /* links in the opened chain (1 = no parent) */
  size_t num_warnings;
};

const struct vmdk_info *vmdk_get_info (const struct vmdk_disk *disk);
const struct vmdk_extent_info *vmdk_get_extent (const struct vmdk_disk *disk,
                                                size_t i);
/* The parent link, or NULL at the bottom of the chain / single-link open. */
struct vmdk_disk *vmdk_parent (const struct vmdk_disk *disk);
/* Warnings found while opening (e.g. descriptor size differs from header). */
const char *vmdk_warning (const struct vmdk_disk *disk, size_t i);

/* Descriptor data base (ddb.* keys, in file order, without the "ddb." prefix
 * stripped: keys are e.g. "ddb.adapterType").  vmdk_ddb_get returns NULL if
 * the key is absent.  Keys compare case-insensitively. */
size_t vmdk_ddb_count (const struct vmdk_disk *disk);
const char *vmdk_ddb_key (const struct vmdk_disk *disk, size_t i);
const char *vmdk_ddb_value (const struct vmdk_disk *disk, size_t i);
const char *vmdk_ddb_get (const struct vmdk_disk *disk, const char *key);
/* Set (or, with value NULL, remove) a ddb key of the top link and rewrite
 * its descriptor.  Needs a writable disk. */
int vmdk_ddb_set (struct vmdk_disk *disk, const char *key, const char *value,
                  struct vmdk_error *err);

/* The files that make up the top link: the descriptor first (for monolithic
 * files the file itself), then each extent file once.  Valid until close. */
size_t vmdk_file_count (const struct vmdk_disk *disk);
const char *vmdk_file_path (const struct vmdk_disk *disk, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* VIXMOUNT_VMDK_H */

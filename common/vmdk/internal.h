/* vixmount VMDK engine: private structures shared by the engine's files. */
#ifndef VIXMOUNT_VMDK_INTERNAL_H
#define VIXMOUNT_VMDK_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "byteorder.h"
#include "vmdk.h"

#define SECTOR 512u

/* ---- errors (error.c) --------------------------------------------------- */
__attribute__ ((format (printf, 3, 4)))
void vx_err (struct vmdk_error *err, enum vmdk_errcode code,
             const char *fmt, ...);
/* As vx_err, but code derived from errno (ENOENT -> NOENT, ...) and
 * ": strerror" appended. */
__attribute__ ((format (printf, 3, 4)))
void vx_err_errno (struct vmdk_error *err, int errnum, const char *fmt, ...);
int vx_oom (struct vmdk_error *err, const char *what);

/* Full pread: -1 + error on failure or short read (message names path). */
int vx_pread_full (int fd, const char *path, void *buf, size_t len,
                   uint64_t off, const char *what, struct vmdk_error *err);
/* Full pwrite: -1 + error on failure (message names path and what). */
int vx_pwrite_full (int fd, const char *path, const void *buf, size_t len,
                    uint64_t off, const char *what, struct vmdk_error *err);

/* ---- descriptor (descriptor.c) ------------------------------------------ */
struct desc_extent {
  enum vmdk_access access;
  enum vmdk_extent_type type;
  uint64_t sectors;
  char *filename;            /* NULL for ZERO */
  uint64_t offset;           /* FLAT/VMFS */
  bool has_offset;
  unsigned line;
};

struct kv { char *key, *value; };

struct descriptor {
  char *text;                /* the original text, for rewriting in place */
  size_t text_len;
  unsigned version;
  char *encoding;
  bool has_cid;
  uint32_t cid;
  uint32_t parent_cid;
  char *create_type;
  char *parent_hint;
  struct desc_extent *extents;
  size_t n_extents;
  struct kv *ddb;
  size_t n_ddb;
};

/* Parse descriptor text (len bytes, may contain NULs: text ends at the
 * first).  `file` names the source in messages. */
int vx_desc_parse (const char *text, size_t len, const char *file,
                   struct descriptor *d, struct vmdk_error *err);
void vx_desc_free (struct descriptor *d);
bool vx_parse_extent_type (const char *word, size_t n, enum vmdk_extent_type *t);

/* ---- paths (pathres.c) --------------------------------------------------- */
/* Open `name` (as written in descriptor `owner`) relative to directory
 * `dirfd` (whose path is `dir`).  Without allow_escape, absolute names and names that
 * leave the directory or pass through symlinks are refused (VMDK_ERR_PATH).
 * On success returns the fd and sets *resolved (malloc'd path for messages). */
int vx_open_beneath (int dirfd, const char *dir, const char *owner, const char *name,
                     bool allow_escape, int oflags, char **resolved,
                     const char *what, struct vmdk_error *err);
/* Directory part of a path (malloc'd, "." if none). */
char *vx_dirname (const char *path);
/* Last component after '/' or '\\'. */
const char *vx_basename_any (const char *path);
bool vx_path_is_device (const char *name);

/* ---- locks (lock.c) -------------------------------------------------------- */
/* flock(fd) shared or exclusive without waiting; on conflict, VMDK_ERR_LOCKED
 * with a message naming path and, from /proc/locks, the holder's pid. */
int vx_lock_fd (int fd, const char *path, bool exclusive, struct vmdk_error *err);

/* ---- grain tables (gtab.c) ----------------------------------------------- */
enum gtab_kind { GT_HOSTED, GT_COWD, GT_SESPARSE };

/* Classification of one grain. */
enum grain_state { GRAIN_HOLE, GRAIN_ZERO, GRAIN_DATA, GRAIN_COMPRESSED };

/* What a whole grain table is known to hold (learned when it is read). */
enum gt_summary { GTS_UNKNOWN, GTS_MIXED, GTS_HOLE, GTS_ZERO };

/* The grain-table cache of one open chain (gtcache.c). */
struct cache_budget;
struct gt_slot;

struct gtab {
  enum gtab_kind kind;
  int fd;
  const char *path;            /* owned by the extent */
  uint64_t file_size;
  uint64_t capacity;           /* sectors covered by the header */
  uint64_t grain_sectors;
  uint32_t gtes_per_gt;
  unsigned gte_size;           /* 4 or 8 */
  uint64_t n_gd;
  uint64_t *gd;                /* byte offset of each GT, 0 = none (atomic access) */
  uint64_t *rgd;               /* writable hosted: redundant GT offsets, or NULL */
  uint64_t gd_file_off, rgd_file_off;  /* bytes; rgd 0 = no redundant copy */
  struct gt_slot **gt_cache;    /* loaded tables (under the cache's stripe lock) */
  uint8_t *gt_sum;             /* enum gt_summary per table (atomic access) */
  struct cache_budget *budget;
  uint64_t data_start;         /* bytes: grain data may not start below this */
  bool zeroed_gte;             /* hosted: GTE 1 = zero grain */
  bool compressed;             /* hosted stream: GTE = marker sector */
  uint64_t grains_base;        /* seSparse: grains_offset in bytes */
  uint64_t id;                 /* unique, for per-thread caches */
};

/* Look up grain `g`; on success *state and *file_off (bytes; for compressed,
 * the marker) are set. */
int vx_gtab_lookup (struct gtab *t, uint64_t g, enum grain_state *state,
                    uint64_t *file_off, struct vmdk_error *err);
/* Read a compressed grain's payload into out (out_len = expected bytes). */
int vx_gtab_inflate (struct gtab *t, uint64_t g, uint64_t marker_off,
                     uint8_t *out, size_t out_len, struct vmdk_error *err);
/* Per-thread decompressed grain: returns a buffer holding grain g inflated
 * (valid until the next call on this thread). */
const uint8_t *vx_gtab_grain_cached (struct gtab *t, uint64_t g,
                                     uint64_t marker_off, size_t out_len,
                                     struct vmdk_error *err);
void vx_gtab_free (struct gtab *t);
/* Writers (allocation lock held): set the entry of grain g to v (file,
 * redundant copy, then the cached table and its summary). */
int vx_gtab_set (struct gtab *t, uint64_t g, uint32_t v, struct vmdk_error *err);
/* Grains from g on known to share state st (a hole or zero grain) without
 * more lookups: the rest of g's table if it has none or is uniform, else 1. */
uint64_t vx_gtab_uniform_span (const struct gtab *t, uint64_t g, enum grain_state st);
/* Summary of a table's entries (gt: the table as stored). */
enum gt_summary vx_gtab_classify (const struct gtab *t, const uint8_t *gt);
/* Allocate the per-table arrays once n_gd is known (-1 + error). */
int vx_gtab_alloc_tables (struct gtab *t, struct vmdk_error *err);
static inline uint64_t gd_get (const struct gtab *t, uint64_t i)
{ return __atomic_load_n (&t->gd[i], __ATOMIC_ACQUIRE); }
uint64_t vx_gtab_new_id (void);

/* ---- grain-table cache (gtcache.c) -------------------------------------- */
struct cache_budget *vx_cache_new (size_t limit);
void vx_cache_free (struct cache_budget *b);
/* Copy entry `slot` of table gdi (at file offset gtoff) into ent, reading and
 * caching the table if needed; learns the table's summary. */
int vx_gtcache_entry (struct gtab *t, uint64_t gdi, uint64_t gtoff, uint32_t slot,
                      uint8_t *ent, struct vmdk_error *err);
/* Writers, after the entry is in the file: update the cached copy. */
void vx_gtcache_update (struct gtab *t, uint64_t gdi, uint32_t slot,
                        const uint8_t *ent);
/* Free every cached table of t (no lookups may run on t). */
void vx_gtcache_drop (struct gtab *t);

/* ---- extents ------------------------------------------------------------- */
struct extent {
  struct vmdk_extent_info info;  /* public view; pointers below */
  char *filename, *path;
  int fd;                        /* -1 for ZERO */
  uint64_t start_byte, end_byte; /* virtual bytes */
  uint64_t valid_sectors;        /* sparse: sectors backed by the header */
  struct gtab *gt;               /* sparse kinds */
  bool own_fd;
  /* VMDK_OPEN_DIRECT_READ (read.c): a second descriptor of the file, opened
   * O_DIRECT, for the data of an extent that is not written; -1 if none */
  int dfd;
  unsigned dio;                  /* DIO_* (atomic access) */
  uint64_t direct_reads;         /* reads it served (atomic access) */
  /* writing */
  bool writable;                 /* opened O_RDWR and of a writable kind */
  pthread_mutex_t alloc_lock;    /* serialises grain and GT allocation */
  uint64_t next_free;            /* bytes: where the next grain goes */
  uint64_t desc_off, desc_bytes; /* embedded descriptor area, bytes */
};

#define DIO_NEED_ALIGN 1u           /* an unaligned direct read was refused */
#define DIO_OFF        2u           /* an aligned one too: buffered reads only */
/* Open e->dfd for an extent that has a file and is not written; it stays
 * -1 where the file system has no O_DIRECT. */
void vx_direct_open (struct extent *e);
/* Read LEN bytes of e's file at OFF (WHAT names them in an error): with
 * O_DIRECT where e->dfd and the file system take the buffer, offset and
 * length, else (and after any failure of the direct read, to report it)
 * through e->fd, as vx_pread_full. */
int vx_data_pread (struct extent *e, void *buf, size_t len, uint64_t off,
                   const char *what, struct vmdk_error *err);

/* Parse the binary header of a sparse-kind extent whose fd is open and fill
 * e->gt and e->info.  hdr holds at least the first 2048 bytes (zero padded
 * if the file is shorter); file_size is the file's length. */
int vx_sparse_open (struct extent *e, const uint8_t *hdr, uint64_t file_size,
                    struct cache_budget *budget, struct vmdk_error *err);
int vx_cowd_open (struct extent *e, const uint8_t *hdr, uint64_t file_size,
                  struct cache_budget *budget, struct vmdk_error *err);
int vx_sesparse_open (struct extent *e, const uint8_t *hdr, uint64_t file_size,
                      struct cache_budget *budget, struct vmdk_error *err);

/* ---- disk ---------------------------------------------------------------- */
struct vmdk_disk {
  struct vmdk_info info;
  struct descriptor desc;
  char *path;
  char *dir;
  int dirfd;
  struct extent *extents;
  size_t n_extents;
  uint64_t size;                 /* bytes */
  struct vmdk_disk *parent;
  unsigned depth;                /* 0 = top */
  char **warnings;
  size_t n_warnings;
  struct cache_budget *budget;   /* the top disk's, shared by the chain */
  bool owns_budget;
  struct vmdk_disk *child;       /* while opening: the link above, for loops */
  int desc_fd;                   /* separate descriptor kept open to hold its lock */
  dev_t dev; ino_t ino;
  /* writing (top link only) */
  bool writable;
  pthread_mutex_t meta_lock;     /* CID and descriptor rewrites */
  bool cid_changed;              /* the first write of this session happened */
  atomic_bool dirty;             /* written since the last flush */
  char **files;                  /* vmdk_file_path */
  size_t n_files;
};

/* Read from one link and its parents (range already checked). */
int vx_layer_read (struct vmdk_disk *d, uint8_t *buf, uint64_t len,
                   uint64_t off, struct vmdk_error *err);
/* Extent lookup by virtual byte offset (read.c). */
struct extent *vx_find_extent (struct vmdk_disk *d, uint64_t off);

/* descriptor rewriting (write.c) */
int vx_desc_store (struct vmdk_disk *d, const char *text, size_t len,
                   struct vmdk_error *err);
/* Write the sparse header's unclean-shutdown byte. */
int vx_set_unclean (struct extent *e, bool on, struct vmdk_error *err);
/* Open for writing: locks, allocation points, unclean flag (write.c). */
int vx_prepare_write (struct vmdk_disk *d, struct vmdk_error *err);
/* Flush and clear the unclean flag (before close). */
void vx_finish_write (struct vmdk_disk *d);
/* Random CID that is neither of the special values. */
uint32_t vx_random_cid (void);

int vx_warn (struct vmdk_disk *d, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

#endif

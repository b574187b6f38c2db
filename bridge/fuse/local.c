/* vixmount-fuse: a private copy-on-write overlay, and in-process VMDK reads.
 *
 * --cow: writes to an export never reach the server.  They go into an
 * overlay file (a sparse temporary file, unlinked from the start, so it
 * disappears with the process; blocks at their own offsets, so it can be
 * shorter than the export and reads past its end are zeros) in 4 KiB blocks, and the
 * blocks written are remembered in a bitmap; reads of those blocks come from
 * the overlay, all others from below.  The server may be read-only: this is
 * how a read-only disk set lets the kernel replay a dirty journal while
 * mounting without anything reaching the VMDK.
 *
 * --vmdk NAME=PATH: "below" is the VMDK itself, opened a second time,
 * read-only, with the engine the nbdkit plugin uses: no NBD request, no
 * socket copy, no server thread hand-off for the blocks the guest's
 * filesystem has not changed.  Correct only while the VMDK files do not
 * change, so it needs the export to be read-only or --cow (nothing this
 * bridge writes reaches the server).
 *
 * The bitmap is two-level: one pointer per chunk (at most 65536 chunks,
 * each at least 1 GiB), a chunk's bits allocated at its first write.  Bits
 * are set after the block's data is in the overlay, with atomic operations,
 * so readers never lock.  Writers serialise on one lock per export: whole
 * blocks are written in place, partial ones are read, merged and written
 * back, and a block must not be merged by two writers at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "fullio.h"
#include "vmdk.h"

#define BLOCK_SHIFT 12                  /* 4 KiB blocks */
#define BLOCK_SIZE (1u << BLOCK_SHIFT)
#define MIN_CHUNK_SHIFT 30              /* 1 GiB */
#define MAX_CHUNKS_SHIFT 16             /* 65536 chunks */

struct local {
  uint64_t size;
  /* --vmdk */
  struct vmdk_disk *disk;
  /* --cow */
  int overlay_fd;                       /* -1: no overlay */
  pthread_mutex_t write_lock;
  /* written blocks */
  unsigned chunk_shift;
  size_t nchunks;
  atomic_bool any_written;
  _Atomic (uint64_t *) *chunk;          /* bitmaps, NULL until written */
};

static struct local *
local_get (struct export *e)
{
  struct local *l = e->local;
  unsigned bits = 0;

  if (l)
    return l;
  l = calloc (1, sizeof *l);
  if (l == NULL)
    return NULL;
  l->size = e->size;
  l->overlay_fd = -1;
  pthread_mutex_init (&l->write_lock, NULL);
  while (bits < 64 && (UINT64_C (1) << bits) < l->size)
    bits++;
  l->chunk_shift = bits > MIN_CHUNK_SHIFT + MAX_CHUNKS_SHIFT ?
                   bits - MAX_CHUNKS_SHIFT : MIN_CHUNK_SHIFT;
  l->nchunks = l->size == 0 ? 1 :
               (size_t) ((l->size - 1) >> l->chunk_shift) + 1;
  l->chunk = calloc (l->nchunks, sizeof *l->chunk);
  if (l->chunk == NULL) {
    free (l);
    return NULL;
  }
  e->local = l;
  return l;
}

void
local_close (struct local *l)
{
  size_t i;

  if (l == NULL)
    return;
  if (l->disk)
    vmdk_close (l->disk);
  if (l->overlay_fd >= 0)
    close (l->overlay_fd);
  pthread_mutex_destroy (&l->write_lock);
  for (i = 0; i < l->nchunks; i++)
    free (atomic_load (&l->chunk[i]));
  free (l->chunk);
  free (l);
}

int
export_attach_vmdk (struct export *e, const char *path, bool single_link)
{
  struct vmdk_options opts = {
    .flags = VMDK_OPEN_RDONLY | (single_link ? VMDK_OPEN_SINGLE_LINK : 0),
  };
  struct vmdk_error err;
  struct vmdk_disk *disk;
  struct local *l;

  disk = vmdk_open (path, &opts, &err);
  if (disk == NULL) {
    vx_log ("%s", err.msg);
    return -1;
  }
  if (vmdk_size (disk) != e->size) {
    vx_log ("%s: virtual size %" PRIu64 " differs from the size of %s (%"
            PRIu64 "): not the disk this export serves", path,
            vmdk_size (disk), e->uri, e->size);
    vmdk_close (disk);
    return -1;
  }
  if ((l = local_get (e)) == NULL) {
    vx_log ("%s: %s", path, strerror (ENOMEM));
    vmdk_close (disk);
    return -1;
  }
  l->disk = disk;
  vx_debug ("%s: unwritten blocks read from %s in-process", e->uri, path);
  return 0;
}

int
export_enable_cow (struct export *e, const char *dir)
{
  struct local *l;
  int fd;

  fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    char tmpl[PATH_MAX];
    if (snprintf (tmpl, sizeof tmpl, "%s/vixmount-cow.XXXXXX", dir) >= (int) sizeof tmpl) {
      errno = ENAMETOOLONG;
      fd = -1;
    }
    else if ((fd = mkostemp (tmpl, O_CLOEXEC)) >= 0)
      unlink (tmpl);
  }
  if (fd == -1) {
    vx_log ("%s: cannot create the overlay for %s: %s", dir, e->uri, strerror (errno));
    return -1;
  }
  if ((l = local_get (e)) == NULL) {
    vx_log ("%s: %s", dir, strerror (ENOMEM));
    close (fd);
    return -1;
  }
  l->overlay_fd = fd;
  e->readonly = false;          /* writable into the overlay */
  vx_debug ("%s: writes go to a private overlay in %s", e->uri, dir);
  return 0;
}

bool
local_has_overlay (const struct local *l)
{
  return l && l->overlay_fd >= 0;
}

/* ---- the bitmap of written blocks ---------------------------------------- */

static uint64_t
chunk_bits (const struct local *l)
{
  return UINT64_C (1) << (l->chunk_shift - BLOCK_SHIFT);
}

static uint64_t *
chunk_get (struct local *l, size_t c, bool create)
{
  uint64_t *p = atomic_load (&l->chunk[c]), *expected = NULL;

  if (p != NULL || !create)
    return p;
  p = calloc (chunk_bits (l) / 64, sizeof *p);
  if (p == NULL)
    return NULL;
  if (!atomic_compare_exchange_strong (&l->chunk[c], &expected, p)) {
    free (p);                   /* another writer was first */
    p = expected;
  }
  return p;
}

static bool
block_written (struct local *l, uint64_t b)
{
  uint64_t inchunk = b & (chunk_bits (l) - 1);
  uint64_t *bits = chunk_get (l, b >> (l->chunk_shift - BLOCK_SHIFT), false);

  if (bits == NULL)
    return false;
  return (atomic_load ((_Atomic uint64_t *) &bits[inchunk / 64]) >>
          (inchunk % 64)) & 1;
}

/* Marks blocks [first, last], a word of the bitmap at a time.  The chunks
 * must exist (chunks_ready). */
static void
mark_written (struct local *l, uint64_t first, uint64_t last)
{
  const uint64_t per = chunk_bits (l);
  uint64_t b = first;

  while (b <= last) {
    uint64_t *bits = chunk_get (l, b >> (l->chunk_shift - BLOCK_SHIFT), false);
    uint64_t in = b & (per - 1), w = in / 64, lo = in % 64;
    uint64_t n = last - b + 1, hi;
    if (n > 64 - lo)
      n = 64 - lo;
    hi = lo + n;                /* bits [lo, hi) of word w */
    atomic_fetch_or ((_Atomic uint64_t *) &bits[w],
                     (hi == 64 ? ~UINT64_C (0) : (UINT64_C (1) << hi) - 1) &
                     ~((UINT64_C (1) << lo) - 1));
    b += n;
  }
  atomic_store (&l->any_written, true);
}

/* Allocates the bitmaps of the chunks holding blocks [first, last], before
 * anything is written (so that marking cannot fail afterwards). */
static int
chunks_ready (struct local *l, uint64_t first, uint64_t last)
{
  size_t per = l->chunk_shift - BLOCK_SHIFT;
  for (uint64_t c = first >> per; c <= last >> per; c++)
    if (chunk_get (l, c, true) == NULL)
      return ENOMEM;
  return 0;
}

/* Length of the run starting at OFF (at most MAX bytes) whose blocks are
 * all written (*written true) or all not. */
static uint64_t
run_length (struct local *l, uint64_t off, uint64_t max, bool *written)
{
  uint64_t b = off >> BLOCK_SHIFT, end = off + max, pos;

  *written = block_written (l, b);
  pos = (b + 1) << BLOCK_SHIFT;
  while (pos < end) {
    b = pos >> BLOCK_SHIFT;
    /* A chunk never written is skipped whole. */
    if (!*written && (b & (chunk_bits (l) - 1)) == 0 &&
        chunk_get (l, b >> (l->chunk_shift - BLOCK_SHIFT), false) == NULL) {
      pos += UINT64_C (1) << l->chunk_shift;
      continue;
    }
    if (block_written (l, b) != *written)
      break;
    pos += BLOCK_SIZE;
  }
  return (pos < end ? pos : end) - off;
}

/* ---- reads ------------------------------------------------------------- */

static int
overlay_read (struct export *e, void *buf, size_t count, uint64_t off)
{
  ssize_t r = vx_full_pread (e->local->overlay_fd, buf, count, off);

  if (r < 0) {
    int err = errno;
    vx_log ("%s: reading the overlay: %s", e->uri, strerror (err));
    return err;
  }
  /* past the end of the overlay file: zeros */
  memset ((char *) buf + r, 0, count - (size_t) r);
  return 0;
}

/* Blocks never written: from the VMDK in-process, or from the server. */
static int
below_read (struct export *e, void *buf, size_t count, uint64_t off,
            int (*remote) (struct export *, void *, size_t, uint64_t))
{
  struct local *l = e->local;
  struct vmdk_error err;

  if (l->disk == NULL)
    return remote (e, buf, count, off);
  if (vmdk_pread (l->disk, buf, count, off, &err) == 0)
    return 0;
  vx_log ("%s", err.msg);
  return vmdk_error_errno (&err);
}

int
local_pread (struct export *e, char *buf, size_t count, uint64_t off,
             int (*remote) (struct export *, void *, size_t, uint64_t))
{
  struct local *l = e->local;

  if (!atomic_load (&l->any_written))
    return below_read (e, buf, count, off, remote);
  while (count > 0) {
    bool written;
    size_t n = run_length (l, off, count, &written);
    int err = written ? overlay_read (e, buf, n, off)
                      : below_read (e, buf, n, off, remote);
    if (err)
      return err;
    buf += n;
    off += n;
    count -= n;
  }
  return 0;
}

/* ---- writes into the overlay ---------------------------------------------- */

static int
overlay_write (struct export *e, const void *buf, size_t count, uint64_t off)
{
  if (vx_full_pwrite (e->local->overlay_fd, buf, count, off) == -1) {
    int err = errno;
    vx_log ("%s: writing the overlay: %s", e->uri, strerror (err));
    return err;
  }
  return 0;
}

/* Writes DATA (NULL: zeros) over [off, off+count) of the export.  Caller
 * holds write_lock. */
static int
cow_write_locked (struct export *e, const char *data, uint64_t count,
                  uint64_t off,
                  int (*remote) (struct export *, void *, size_t, uint64_t))
{
  struct local *l = e->local;
  uint64_t first = off >> BLOCK_SHIFT, last = (off + count - 1) >> BLOCK_SHIFT;
  static const char zeros[BLOCK_SIZE];
  char block[BLOCK_SIZE];
  int err;

  if ((err = chunks_ready (l, first, last)) != 0)
    return err;
  for (uint64_t b = first; b <= last; b++) {
    uint64_t bstart = b << BLOCK_SHIFT;
    uint64_t bend = bstart + BLOCK_SIZE < l->size ? bstart + BLOCK_SIZE : l->size;
    uint64_t from = off > bstart ? off : bstart;
    uint64_t to = off + count < bend ? off + count : bend;
    const char *src = data ? data + (from - off) : zeros;
    size_t blen = bend - bstart;

    if (from == bstart && to == bend) {
      /* Whole blocks: all that follow in one go.  Block k is whole when
       * (k+1) * 4K <= off + count and <= size; the short block at the end
       * of a disk whose size is not a multiple of 4K goes alone. */
      uint64_t full_end = (off + count < l->size ? off + count : l->size) >> BLOCK_SHIFT;
      uint64_t b2 = full_end > b + 1 ? full_end - 1 : b;
      uint64_t runend;
      if (b2 > last)
        b2 = last;
      runend = b2 > b ? (b2 + 1) << BLOCK_SHIFT : to;
      if (data)
        err = overlay_write (e, src, runend - bstart, bstart);
      else {
        /* a hole in the overlay reads as zeros */
        err = fallocate (l->overlay_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         (off_t) bstart, (off_t) (runend - bstart)) == 0 ? 0 : errno;
        if (err == EOPNOTSUPP) {
          err = 0;
          for (uint64_t p = bstart; p < runend && !err; p += BLOCK_SIZE)
            err = overlay_write (e, zeros, runend - p < BLOCK_SIZE ? runend - p : BLOCK_SIZE, p);
        }
        else if (err)
          vx_log ("%s: punching the overlay: %s", e->uri, strerror (err));
      }
      if (err)
        return err;
      mark_written (l, b, b2);
      b = b2;
      continue;
    }
    /* Part of a block: the rest comes from wherever it is now. */
    err = block_written (l, b) ? overlay_read (e, block, blen, bstart)
                               : below_read (e, block, blen, bstart, remote);
    if (err)
      return err;
    memcpy (block + (from - bstart), src, to - from);
    if ((err = overlay_write (e, block, blen, bstart)) != 0)
      return err;
    mark_written (l, b, b);
  }
  return 0;
}

int
local_cow_write (struct export *e, const void *data, uint64_t count,
                 uint64_t off,
                 int (*remote) (struct export *, void *, size_t, uint64_t))
{
  struct local *l = e->local;
  int err;

  if (count == 0)
    return 0;
  if (off >= l->size || count > l->size - off)
    return ENOSPC;
  pthread_mutex_lock (&l->write_lock);
  err = cow_write_locked (e, data, count, off, remote);
  pthread_mutex_unlock (&l->write_lock);
  return err;
}

/* common/cow: the copy-on-write overlay (see cow.h).
 *
 * The overlay file holds blocks at their own offsets, so it can be shorter
 * than the disk: reads past its end are zeros.  The bitmap of written
 * blocks is two-level: one pointer per chunk (at most 65536 chunks, each at
 * least 1 GiB), a chunk's bits allocated at its first write.  Bits are set
 * after the block's data is in the file, with atomic operations, so readers
 * never lock and never see a block marked before its data is there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cow.h"
#include "fullio.h"

#define BLOCK_SHIFT 12                  /* COW_BLOCK_SIZE */
#define BLOCK_SIZE COW_BLOCK_SIZE
#define MIN_CHUNK_SHIFT 30              /* 1 GiB */
#define MAX_CHUNKS_SHIFT 16             /* 65536 chunks */

struct cow {
  uint64_t size;
  int fd;
  cow_below_fn *below;
  void *opaque;
  pthread_mutex_t write_lock;
  unsigned chunk_shift;
  size_t nchunks;
  atomic_bool any_written;
  _Atomic (uint64_t *) *chunk;          /* bitmaps, NULL until written */
};

/* An unnamed file in DIR: O_TMPFILE, else a named one unlinked at once. */
static int
tmpfile_in (const char *dir)
{
  char tmpl[PATH_MAX];
  int fd;

  fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
    return fd;
  if (snprintf (tmpl, sizeof tmpl, "%s/vixmount-cow.XXXXXX", dir) >= (int) sizeof tmpl) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = mkostemp (tmpl, O_CLOEXEC);
  if (fd >= 0)
    unlink (tmpl);
  return fd;
}

struct cow *
cow_open (const char *dir, uint64_t size, cow_below_fn *below, void *opaque)
{
  struct cow *c = calloc (1, sizeof *c);
  unsigned bits = 0;
  int err;

  if (c == NULL)
    return NULL;
  c->size = size;
  c->below = below;
  c->opaque = opaque;
  while (bits < 64 && (UINT64_C (1) << bits) < size)
    bits++;
  c->chunk_shift = bits > MIN_CHUNK_SHIFT + MAX_CHUNKS_SHIFT ?
                   bits - MAX_CHUNKS_SHIFT : MIN_CHUNK_SHIFT;
  c->nchunks = size == 0 ? 1 : (size_t) ((size - 1) >> c->chunk_shift) + 1;
  c->chunk = calloc (c->nchunks, sizeof *c->chunk);
  if (c->chunk == NULL) {
    free (c);
    errno = ENOMEM;
    return NULL;
  }
  c->fd = tmpfile_in (dir);
  if (c->fd == -1) {
    err = errno;
    free (c->chunk);
    free (c);
    errno = err;
    return NULL;
  }
  pthread_mutex_init (&c->write_lock, NULL);
  return c;
}

void
cow_close (struct cow *c)
{
  if (c == NULL)
    return;
  close (c->fd);
  pthread_mutex_destroy (&c->write_lock);
  for (size_t i = 0; i < c->nchunks; i++)
    free (atomic_load (&c->chunk[i]));
  free (c->chunk);
  free (c);
}

uint64_t
cow_size (const struct cow *c)
{
  return c->size;
}

bool
cow_any_written (const struct cow *c)
{
  return atomic_load (&((struct cow *) c)->any_written);
}

int
cow_fd (const struct cow *c)
{
  return c->fd;
}

/* ---- the bitmap of written blocks ---------------------------------------- */

static uint64_t
chunk_bits (const struct cow *c)
{
  return UINT64_C (1) << (c->chunk_shift - BLOCK_SHIFT);
}

static uint64_t *
chunk_get (struct cow *c, size_t i, bool create)
{
  uint64_t *p = atomic_load (&c->chunk[i]), *expected = NULL;

  if (p != NULL || !create)
    return p;
  p = calloc (chunk_bits (c) / 64, sizeof *p);
  if (p == NULL)
    return NULL;
  if (!atomic_compare_exchange_strong (&c->chunk[i], &expected, p)) {
    free (p);                   /* another writer was first */
    p = expected;
  }
  return p;
}

static bool
block_written (struct cow *c, uint64_t b)
{
  uint64_t in = b & (chunk_bits (c) - 1);
  uint64_t *bits = chunk_get (c, b >> (c->chunk_shift - BLOCK_SHIFT), false);

  if (bits == NULL)
    return false;
  return (atomic_load ((_Atomic uint64_t *) &bits[in / 64]) >> (in % 64)) & 1;
}

/* Marks blocks [first, last], a word of the bitmap at a time.  The chunks
 * must exist (chunks_ready). */
static void
mark_written (struct cow *c, uint64_t first, uint64_t last)
{
  const uint64_t per = chunk_bits (c);
  uint64_t b = first;

  while (b <= last) {
    uint64_t *bits = chunk_get (c, b >> (c->chunk_shift - BLOCK_SHIFT), false);
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
  atomic_store (&c->any_written, true);
}

/* Allocates the bitmaps of the chunks holding blocks [first, last] before
 * anything is written, so that marking cannot fail afterwards. */
static int
chunks_ready (struct cow *c, uint64_t first, uint64_t last)
{
  unsigned per = c->chunk_shift - BLOCK_SHIFT;

  for (uint64_t i = first >> per; i <= last >> per; i++)
    if (chunk_get (c, i, true) == NULL)
      return ENOMEM;
  return 0;
}

/* Length of the run starting at OFF (at most MAX bytes) whose blocks are
 * all written (*written true) or all not. */
static uint64_t
run_length (struct cow *c, uint64_t off, uint64_t max, bool *written)
{
  uint64_t b = off >> BLOCK_SHIFT, end = off + max, pos;

  *written = block_written (c, b);
  pos = (b + 1) << BLOCK_SHIFT;
  while (pos < end) {
    b = pos >> BLOCK_SHIFT;
    /* A chunk never written is skipped whole. */
    if (!*written && (b & (chunk_bits (c) - 1)) == 0
        && chunk_get (c, b >> (c->chunk_shift - BLOCK_SHIFT), false) == NULL) {
      pos += UINT64_C (1) << c->chunk_shift;
      continue;
    }
    if (block_written (c, b) != *written)
      break;
    pos += BLOCK_SIZE;
  }
  return (pos < end ? pos : end) - off;
}

/* ---- the overlay file ------------------------------------------------------ */

/* Reads from the file; zeros past its end (blocks never extended into). */
static int
file_read (struct cow *c, char *p, size_t count, uint64_t off)
{
  ssize_t r = vx_full_pread (c->fd, p, count, off);

  if (r == -1)
    return errno;
  memset (p + r, 0, count - (size_t) r);
  return 0;
}

static int
file_write (struct cow *c, const char *p, size_t count, uint64_t off)
{
  return vx_full_pwrite (c->fd, p, count, off) == -1 ? errno : 0;
}

/* Zeros [off, off+count) of the file: a hole, or written zeros where the
 * filesystem cannot punch. */
static int
file_zero (struct cow *c, uint64_t count, uint64_t off)
{
  static const char zeros[BLOCK_SIZE];
  int err = 0;

  if (fallocate (c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                 (off_t) off, (off_t) count) == 0)
    return 0;
  if (errno != EOPNOTSUPP)
    return errno;
  for (uint64_t p = off; p < off + count && !err; p += BLOCK_SIZE)
    err = file_write (c, zeros, off + count - p < BLOCK_SIZE ? off + count - p : BLOCK_SIZE, p);
  return err;
}

/* ---- reads --------------------------------------------------------------------- */

int
cow_pread (struct cow *c, void *buf, size_t count, uint64_t off)
{
  char *p = buf;

  if (off > c->size || count > c->size - off)
    return EINVAL;
  if (count == 0)
    return 0;
  if (!atomic_load (&c->any_written))
    return c->below (c->opaque, p, count, off);
  while (count > 0) {
    bool written;
    size_t n = run_length (c, off, count, &written);
    int err = written ? file_read (c, p, n, off) : c->below (c->opaque, p, n, off);
    if (err)
      return err;
    p += n;
    off += n;
    count -= n;
  }
  return 0;
}

/* ---- writes -------------------------------------------------------------------- */

/* Writes DATA (NULL: zeros) over [off, off+count).  Caller holds
 * write_lock. */
static int
write_locked (struct cow *c, const char *data, uint64_t count, uint64_t off)
{
  uint64_t first = off >> BLOCK_SHIFT, last = (off + count - 1) >> BLOCK_SHIFT;
  char block[BLOCK_SIZE];
  int err;

  if ((err = chunks_ready (c, first, last)) != 0)
    return err;
  for (uint64_t b = first; b <= last; b++) {
    uint64_t bstart = b << BLOCK_SHIFT;
    uint64_t bend = bstart + BLOCK_SIZE < c->size ? bstart + BLOCK_SIZE : c->size;
    uint64_t from = off > bstart ? off : bstart;
    uint64_t to = off + count < bend ? off + count : bend;
    size_t blen = bend - bstart;

    if (from == bstart && to == bend) {
      /* Whole blocks: all that follow in one go.  Block k is whole when
       * (k+1) * 4K <= off + count and <= size; the short block at the end
       * of a disk whose size is not a multiple of 4K goes alone. */
      uint64_t full_end = (off + count < c->size ? off + count : c->size) >> BLOCK_SHIFT;
      uint64_t b2 = full_end > b + 1 ? full_end - 1 : b;
      uint64_t runend;
      if (b2 > last)
        b2 = last;
      runend = b2 > b ? (b2 + 1) << BLOCK_SHIFT : to;
      err = data ? file_write (c, data + (bstart - off), runend - bstart, bstart)
                 : file_zero (c, runend - bstart, bstart);
      if (err)
        return err;
      mark_written (c, b, b2);
      b = b2;
      continue;
    }
    /* Part of a block: the rest comes from wherever it is now. */
    err = block_written (c, b) ? file_read (c, block, blen, bstart)
                               : c->below (c->opaque, block, blen, bstart);
    if (err)
      return err;
    if (data)
      memcpy (block + (from - bstart), data + (from - off), to - from);
    else
      memset (block + (from - bstart), 0, to - from);
    if ((err = file_write (c, block, blen, bstart)) != 0)
      return err;
    mark_written (c, b, b);
  }
  return 0;
}

static int
write_any (struct cow *c, const void *data, uint64_t count, uint64_t off)
{
  int err;

  if (count == 0)
    return 0;
  if (off >= c->size || count > c->size - off)
    return ENOSPC;
  pthread_mutex_lock (&c->write_lock);
  err = write_locked (c, data, count, off);
  pthread_mutex_unlock (&c->write_lock);
  return err;
}

int
cow_pwrite (struct cow *c, const void *data, size_t count, uint64_t off)
{
  return write_any (c, data, count, off);
}

int
cow_zero (struct cow *c, uint64_t count, uint64_t off)
{
  return write_any (c, NULL, count, off);
}

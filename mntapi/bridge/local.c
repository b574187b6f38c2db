/* vixmount-fuse: in-process reads of a VMDK behind an NBD export.
 *
 * With --vmdk NAME=PATH the bridge opens the disk a second time, read-only,
 * with the same VMDK engine the nbdkit plugin uses, and reads the blocks
 * nobody has written through this bridge straight from the files: no NBD
 * request, no socket copy, no server thread hand-off.  Everything written
 * through the bridge (journal replay into a copy-on-write overlay, or any
 * write when the export is writable) is remembered in a bitmap of 4 KiB
 * blocks, and reads of those blocks keep going to the NBD server, which is
 * the one that has them.
 *
 * That is only correct while the bridge is the sole writer of the export and
 * the VMDK files do not change underneath: a read-only disk set (nbdkit's cow
 * filter over a read-only plugin) is exactly that case.  libvixMntapi uses
 * it there and nowhere else.
 *
 * The bitmap is two-level: one pointer per chunk (at most 65536 chunks,
 * each at least 1 GiB), a chunk's bits allocated at its first write.  All
 * accesses are atomic, so readers never lock.  A write marks its blocks
 * before it is sent, hence once a write has been answered every later read
 * of those bytes goes to the server.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "vmdk.h"

#define DIRTY_SHIFT 12                  /* 4 KiB blocks */
#define MIN_CHUNK_SHIFT 30              /* 1 GiB */
#define MAX_CHUNKS_SHIFT 16             /* 65536 chunks */


struct local {
  struct vmdk_disk *disk;
  char *path;
  uint64_t size;
  unsigned chunk_shift;
  size_t nchunks;
  atomic_bool any_dirty;
  _Atomic (uint64_t *) *chunk;          /* bitmaps, NULL until written */
};

int
export_attach_vmdk (struct export *e, const char *path)
{
  struct vmdk_options opts = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_error err;
  struct local *l;
  unsigned bits = 0;

  if (e->local) {
    vx_log ("%s: a VMDK is attached to %s already", path, e->uri);
    return -1;
  }
  l = calloc (1, sizeof *l);
  if (l == NULL || (l->path = strdup (path)) == NULL) {
    vx_log ("%s: %s", path, strerror (ENOMEM));
    free (l);
    return -1;
  }
  l->disk = vmdk_open (path, &opts, &err);
  if (l->disk == NULL) {
    vx_log ("%s", err.msg);
    goto fail;
  }
  l->size = vmdk_size (l->disk);
  if (l->size != e->size) {
    vx_log ("%s: virtual size %" PRIu64 " differs from the size of %s (%"
            PRIu64 "): not the disk this export serves", path, l->size,
            e->uri, e->size);
    goto fail;
  }
  while (bits < 64 && (UINT64_C (1) << bits) < l->size)
    bits++;
  l->chunk_shift = bits > MIN_CHUNK_SHIFT + MAX_CHUNKS_SHIFT ?
                   bits - MAX_CHUNKS_SHIFT : MIN_CHUNK_SHIFT;
  l->nchunks = l->size == 0 ? 1 :
               (size_t) ((l->size - 1) >> l->chunk_shift) + 1;
  l->chunk = calloc (l->nchunks, sizeof *l->chunk);
  if (l->chunk == NULL) {
    vx_log ("%s: %s", path, strerror (ENOMEM));
    goto fail;
  }
  e->local = l;
  vx_debug ("%s: unwritten blocks read from %s in-process", e->uri, path);
  return 0;

 fail:
  if (l->disk)
    vmdk_close (l->disk);
  free (l->path);
  free (l);
  return -1;
}

void
local_close (struct local *l)
{
  size_t i;

  if (l == NULL)
    return;
  vmdk_close (l->disk);
  for (i = 0; i < l->nchunks; i++)
    free (atomic_load (&l->chunk[i]));
  free (l->chunk);
  free (l->path);
  free (l);
}

/* Bits per chunk and words per chunk's bitmap. */
static uint64_t
chunk_bits (const struct local *l)
{
  return UINT64_C (1) << (l->chunk_shift - DIRTY_SHIFT);
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

int
local_mark_written (struct local *l, uint64_t off, uint64_t len)
{
  uint64_t b, last;

  if (len == 0 || off >= l->size)
    return 0;
  if (len > l->size - off)
    len = l->size - off;
  b = off >> DIRTY_SHIFT;
  last = (off + len - 1) >> DIRTY_SHIFT;
  for (; b <= last; b++) {
    uint64_t inchunk = b & (chunk_bits (l) - 1);
    uint64_t *bits = chunk_get (l, b >> (l->chunk_shift - DIRTY_SHIFT), true);
    if (bits == NULL)
      return ENOMEM;            /* the write is not sent: nothing stale */
    atomic_fetch_or ((_Atomic uint64_t *) &bits[inchunk / 64],
                     UINT64_C (1) << (inchunk % 64));
  }
  atomic_store (&l->any_dirty, true);
  return 0;
}

static bool
block_written (struct local *l, uint64_t b)
{
  uint64_t inchunk = b & (chunk_bits (l) - 1);
  uint64_t *bits = chunk_get (l, b >> (l->chunk_shift - DIRTY_SHIFT), false);

  if (bits == NULL)
    return false;
  return (atomic_load ((_Atomic uint64_t *) &bits[inchunk / 64]) >>
          (inchunk % 64)) & 1;
}

/* Length of the run starting at OFF (at most MAX bytes) whose blocks are
 * all written (*written true) or all not. */
static uint64_t
run_length (struct local *l, uint64_t off, uint64_t max, bool *written)
{
  uint64_t b = off >> DIRTY_SHIFT, end = off + max, pos;

  *written = block_written (l, b);
  pos = (b + 1) << DIRTY_SHIFT;
  while (pos < end) {
    b = pos >> DIRTY_SHIFT;
    /* A chunk never written is skipped whole. */
    if (!*written && (b & (chunk_bits (l) - 1)) == 0 &&
        chunk_get (l, b >> (l->chunk_shift - DIRTY_SHIFT), false) == NULL) {
      pos += UINT64_C (1) << l->chunk_shift;
      continue;
    }
    if (block_written (l, b) != *written)
      break;
    pos += UINT64_C (1) << DIRTY_SHIFT;
  }
  return (pos < end ? pos : end) - off;
}

static int
engine_read (struct local *l, void *buf, size_t count, uint64_t off)
{
  struct vmdk_error err;

  if (vmdk_pread (l->disk, buf, count, off, &err) == 0)
    return 0;
  vx_log ("%s", err.msg);
  return err.code == VMDK_ERR_IO && err.sys_errno > 0 ? err.sys_errno
                                                      : vmdk_errcode_errno (err.code);
}

int
local_pread (struct export *e, char *buf, size_t count, uint64_t off,
             int (*remote) (struct export *, void *, size_t, uint64_t))
{
  struct local *l = e->local;

  if (!atomic_load (&l->any_dirty))
    return engine_read (l, buf, count, off);
  while (count > 0) {
    bool written;
    size_t n = run_length (l, off, count, &written);
    int err = written ? remote (e, buf, n, off) : engine_read (l, buf, n, off);
    if (err)
      return err;
    buf += n;
    off += n;
    count -= n;
  }
  return 0;
}

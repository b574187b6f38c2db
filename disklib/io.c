/* libvixDiskLib: sector I/O, asynchronous I/O, allocation queries.
 *
 * Asynchronous requests complete inline: ReadAsync/WriteAsync validate the
 * request (a bad handle or range is returned at once, with no callback),
 * perform it, call the completion callback with its result on the calling
 * thread, and then return VIX_ASYNC.  So every accepted request gets
 * exactly one callback, before the submit call returns; Wait has nothing
 * to wait for, and the library never creates a thread.  The callback runs
 * with no library lock held and may submit more I/O or close the handle.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *
handle_problem (VixError err)
{
  return err == VIX_E_INVALID_ARG ? "NULL disk handle"
    : err == VIX_E_DISK_NOIO ? "the disk handle has no open disk"
    : "invalid or closed disk handle";
}

/* Validate a data request against an open disk. */
static VixError
check_request (const char *fn, struct vx_disk *d, uint64_t start, uint64_t n,
               const void *buf, bool write)
{
  uint64_t cap = vmdk_get_info (d->vd)->capacity;

  if (write && d->readonly)
    return vx_fail (VIX_E_FILE_READ_ONLY, "%s: %s was opened read-only", fn,
                    d->path);
  if (n > 0 && !buf)
    return vx_fail (VIX_E_INVALID_ARG, "%s: %s: buffer is NULL", fn, d->path);
  if (!vx_range_ok (start, n, cap))
    return vx_fail (VIX_E_DISK_OUTOFRANGE, "%s: %s: sectors %" PRIu64
                    "+%" PRIu64 " lie outside the disk (%" PRIu64 " sectors)",
                    fn, d->path, start, n, cap);
  return VIX_OK;
}

static VixError
do_request (const char *fn, struct vx_disk *d, uint64_t start, uint64_t n,
            void *rbuf, const void *wbuf)
{
  struct vmdk_error e = { 0 };
  char what[128];
  int r;

  if (n == 0)
    return VIX_OK;
  if (wbuf)
    r = vmdk_pwrite (d->vd, wbuf, (size_t) n * VIXDISKLIB_SECTOR_SIZE,
                     start * VIXDISKLIB_SECTOR_SIZE, 0, &e);
  else
    r = vmdk_pread (d->vd, rbuf, (size_t) n * VIXDISKLIB_SECTOR_SIZE,
                    start * VIXDISKLIB_SECTOR_SIZE, &e);
  if (r == 0)
    return VIX_OK;
  snprintf (what, sizeof what, "%s (sectors %" PRIu64 "+%" PRIu64 ")", fn,
            start, n);
  return vx_fail_vmdk (what, &e);
}

static VixError
rw (const char *fn, VixDiskLibHandle h, uint64_t start, uint64_t n,
    void *rbuf, const void *wbuf, bool async, VixDiskLibCompletionCB cb,
    void *cbData)
{
  bool write = wbuf != NULL;   /* callers pass one buffer or the other */
  struct vx_disk *d;
  VixError err;

  d = vx_disk_begin (h, write, &err);
  if (!d)
    return vx_fail (err, "%s: %s", fn, handle_problem (err));
  err = check_request (fn, d, start, n, write ? wbuf : rbuf, write);
  if (err != VIX_OK) {
    vx_disk_end (d, write);
    return err;
  }
  err = do_request (fn, d, start, n, rbuf, wbuf);
  vx_disk_end (d, write);
  if (!async)
    return err;
  if (cb)
    cb (cbData, err);
  return VIX_ASYNC;
}

/* A write request whose buffer is NULL must still be treated as a write
 * (read-only checks first); these wrappers pass a marker for that. */
static const uint8 no_buffer;

VX_API VixError
VixDiskLib_Read (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector,
                 VixDiskLibSectorType numSectors, uint8 *readBuffer)
{
  return rw ("Read", diskHandle, startSector, numSectors, readBuffer, NULL,
             false, NULL, NULL);
}

static VixError
write_common (const char *fn, VixDiskLibHandle h, uint64_t start, uint64_t n,
              const uint8 *buf, bool async, VixDiskLibCompletionCB cb,
              void *data)
{
  struct vx_disk *d;
  VixError err;

  if (buf)
    return rw (fn, h, start, n, NULL, buf, async, cb, data);
  /* NULL buffer: report read-only / range problems like VMware would, then
   * the NULL buffer itself. */
  d = vx_disk_begin (h, false, &err);
  if (!d)
    return vx_fail (err, "%s: %s", fn, handle_problem (err));
  err = check_request (fn, d, start, n, n ? NULL : &no_buffer, true);
  vx_disk_end (d, false);
  if (err != VIX_OK)
    return err;
  if (!async)
    return VIX_OK;   /* zero sectors: nothing to do */
  if (cb)
    cb (data, VIX_OK);
  return VIX_ASYNC;
}

VX_API VixError
VixDiskLib_Write (VixDiskLibHandle diskHandle, VixDiskLibSectorType startSector,
                  VixDiskLibSectorType numSectors, const uint8 *writeBuffer)
{
  return write_common ("Write", diskHandle, startSector, numSectors,
                       writeBuffer, false, NULL, NULL);
}

VX_API VixError
VixDiskLib_ReadAsync (VixDiskLibHandle diskHandle,
                      VixDiskLibSectorType startSector,
                      VixDiskLibSectorType numSectors, uint8 *readBuffer,
                      VixDiskLibCompletionCB callback, void *cbData)
{
  return rw ("ReadAsync", diskHandle, startSector, numSectors, readBuffer,
             NULL, true, callback, cbData);
}

VX_API VixError
VixDiskLib_WriteAsync (VixDiskLibHandle diskHandle,
                       VixDiskLibSectorType startSector,
                       VixDiskLibSectorType numSectors,
                       const uint8 *writeBuffer,
                       VixDiskLibCompletionCB callback, void *cbData)
{
  return write_common ("WriteAsync", diskHandle, startSector, numSectors,
                       writeBuffer, true, callback, cbData);
}

VX_API VixError
VixDiskLib_Flush (VixDiskLibHandle diskHandle)
{
  struct vx_disk *d;
  struct vmdk_error e = { 0 };
  VixError err = VIX_OK;

  d = vx_disk_begin (diskHandle, true, &err);
  if (!d)
    return vx_fail (err, "Flush: %s", handle_problem (err));
  if (!d->readonly && vmdk_flush (d->vd, &e) == -1)
    err = vx_fail_vmdk ("Flush", &e);
  vx_disk_end (d, true);
  return err;
}

VX_API VixError
VixDiskLib_Wait (VixDiskLibHandle diskHandle)
{
  struct vx_disk *d;
  VixError err;

  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "Wait: %s", handle_problem (err));
  vx_disk_end (d, false);
  return VIX_OK;   /* async requests complete before submission returns */
}

/* ---- QueryAllocatedBlocks ------------------------------------------------ */

struct blocks {
  uint64_t start, chunk, limit;   /* sectors */
  VixDiskLibBlock *v;
  size_t n, cap;
  bool oom;
};

static int
map_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct blocks *b = opaque;
  uint64_t s, t, cs, ce;

  if (e->kind != VMDK_MAP_DATA || e->length == 0)
    return 0;
  s = e->offset / VIXDISKLIB_SECTOR_SIZE;
  t = (e->offset + e->length + VIXDISKLIB_SECTOR_SIZE - 1)
    / VIXDISKLIB_SECTOR_SIZE;
  /* whole chunks touched by [s, t) */
  cs = b->start + (s - b->start) / b->chunk * b->chunk;
  ce = b->start + (t - b->start + b->chunk - 1) / b->chunk * b->chunk;
  if (ce > b->limit)
    ce = b->limit;
  if (b->n > 0 && b->v[b->n - 1].offset + b->v[b->n - 1].length >= cs) {
    VixDiskLibBlock *last = &b->v[b->n - 1];
    if (ce > last->offset + last->length)
      last->length = ce - last->offset;
    return 0;
  }
  if (b->n == b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 64;
    VixDiskLibBlock *nv = realloc (b->v, nc * sizeof *nv);
    if (!nv) {
      b->oom = true;
      return 1;
    }
    b->v = nv;
    b->cap = nc;
  }
  b->v[b->n].offset = cs;
  b->v[b->n].length = ce - cs;
  b->n++;
  return 0;
}

VX_API VixError
VixDiskLib_QueryAllocatedBlocks (VixDiskLibHandle diskHandle,
                                 VixDiskLibSectorType startSector,
                                 VixDiskLibSectorType numSectors,
                                 VixDiskLibSectorType chunkSize,
                                 VixDiskLibBlockList **blockList)
{
  const char *fn = "QueryAllocatedBlocks";
  struct vx_disk *d;
  struct vmdk_error e = { 0 };
  struct blocks b = { 0 };
  VixDiskLibBlockList *list;
  uint64_t cap, end, cap_up, chunks;
  VixError err;

  if (blockList)
    *blockList = NULL;
  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "%s: %s", fn, handle_problem (err));
  cap = vmdk_get_info (d->vd)->capacity;
  if (!blockList) {
    err = vx_fail (VIX_E_INVALID_ARG, "%s: blockList is NULL", fn);
    goto out;
  }
  if (chunkSize < VIXDISKLIB_MIN_CHUNK_SIZE) {
    err = vx_fail (VIX_E_INVALID_ARG, "%s: chunkSize %" PRIu64 " is smaller "
                   "than VIXDISKLIB_MIN_CHUNK_SIZE (%d sectors)", fn,
                   (uint64_t) chunkSize, VIXDISKLIB_MIN_CHUNK_SIZE);
    goto out;
  }
  if (startSector % chunkSize != 0) {
    err = vx_fail (VIX_E_INVALID_ARG, "%s: startSector %" PRIu64 " is not a "
                   "multiple of chunkSize %" PRIu64, fn,
                   (uint64_t) startSector, (uint64_t) chunkSize);
    goto out;
  }
  if (numSectors > UINT64_MAX - startSector) {
    err = vx_fail (VIX_E_DISK_OUTOFRANGE, "%s: sector range overflows", fn);
    goto out;
  }
  end = startSector + numSectors;
  if (numSectors % chunkSize != 0 && end != cap) {
    err = vx_fail (VIX_E_INVALID_ARG, "%s: numSectors %" PRIu64 " is not a "
                   "multiple of chunkSize %" PRIu64 " (only a range ending at "
                   "the disk's end, %" PRIu64 ", may be partial)", fn,
                   (uint64_t) numSectors, (uint64_t) chunkSize, cap);
    goto out;
  }
  /* The last chunk may reach past the end (nbdkit rounds up). */
  cap_up = cap % chunkSize ? cap - cap % chunkSize + chunkSize : cap;
  if (end > cap_up) {
    err = vx_fail (VIX_E_DISK_OUTOFRANGE, "%s: sectors %" PRIu64 "+%" PRIu64
                   " lie outside the disk (%" PRIu64 " sectors)", fn,
                   (uint64_t) startSector, (uint64_t) numSectors, cap);
    goto out;
  }
  chunks = numSectors / chunkSize + (numSectors % chunkSize != 0);
  if (chunks > VIXDISKLIB_MAX_CHUNK_NUMBER) {
    err = vx_fail (VIX_E_INVALID_ARG, "%s: %" PRIu64 " chunks requested; at "
                   "most VIXDISKLIB_MAX_CHUNK_NUMBER (%d) per call", fn,
                   chunks, VIXDISKLIB_MAX_CHUNK_NUMBER);
    goto out;
  }

  b.start = startSector;
  b.chunk = chunkSize;
  b.limit = end < cap ? end : cap;
  if (b.limit > startSector
      && vmdk_map (d->vd, startSector * VIXDISKLIB_SECTOR_SIZE,
                   (b.limit - startSector) * VIXDISKLIB_SECTOR_SIZE, 0,
                   map_cb, &b, &e) == -1) {
    err = vx_fail_vmdk (fn, &e);
    goto out;
  }
  if (b.oom) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    goto out;
  }
  list = calloc (1, offsetof (VixDiskLibBlockList, blocks)
                 + (b.n ? b.n : 1) * sizeof (VixDiskLibBlock));
  if (!list) {
    err = vx_fail (VIX_E_OUT_OF_MEMORY, "%s: out of memory", fn);
    goto out;
  }
  list->numBlocks = (uint32) b.n;
  if (b.n)
    memcpy (list->blocks, b.v, b.n * sizeof *b.v);
  *blockList = list;
  err = VIX_OK;
 out:
  free (b.v);
  vx_disk_end (d, false);
  return err;
}

VX_API VixError
VixDiskLib_FreeBlockList (VixDiskLibBlockList *blockList)
{
  free (blockList);
  return VIX_OK;
}

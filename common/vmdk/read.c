/* vixmount VMDK engine: reading and allocation maps.
 *
 * Both walk a byte range extent by extent and, in sparse extents, grain by
 * grain.  Runs of grains that are contiguous in the file become one pread;
 * unallocated runs fall through to the parent link.
 *
 * With VMDK_OPEN_DIRECT_READ, the data of an extent that is not written
 * is read with O_DIRECT: the file's pages are not cached (a disk set is
 * usually read once, and the filesystem mounted from it caches what it
 * reads), and on a file system without alignment rules (9p, NFS) the data
 * lands in the caller's buffer with no copy.  The kernel says what it
 * takes: an unaligned read it refuses makes later unaligned ones buffered,
 * an aligned one refused makes them all buffered.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "fullio.h"

struct extent *
vx_find_extent (struct vmdk_disk *d, uint64_t off)
{
  size_t lo = 0, hi = d->n_extents;   /* extents are sorted and contiguous */

  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->extents[mid].start_byte <= off)
      lo = mid;
    else
      hi = mid;
  }
  return &d->extents[lo];
}


void
vx_direct_open (struct extent *e)
{
  char self[64];

  if (e->fd < 0 || e->writable || e->dfd >= 0)
    return;
  /* the same open file, not the path again: what was checked at open */
  snprintf (self, sizeof self, "/proc/self/fd/%d", e->fd);
  e->dfd = open (self, O_RDONLY | O_DIRECT | O_CLOEXEC);
}

int
vx_data_pread (struct extent *e, void *buf, size_t len, uint64_t off, const char *what,
               struct vmdk_error *err)
{
  unsigned dio = __atomic_load_n (&e->dio, __ATOMIC_RELAXED);

  if (e->dfd >= 0 && !(dio & DIO_OFF)) {
    bool aligned = (((uintptr_t) buf | (uintptr_t) off | (uintptr_t) len) & 4095) == 0;
    if (aligned || !(dio & DIO_NEED_ALIGN)) {
      ssize_t r = vx_full_pread (e->dfd, buf, len, off);
      if (r >= 0 && (size_t) r == len) {
        __atomic_add_fetch (&e->direct_reads, 1, __ATOMIC_RELAXED);
        return 0;
      }
      if (r < 0 && errno == EINVAL)
        __atomic_or_fetch (&e->dio, aligned ? DIO_OFF : DIO_NEED_ALIGN, __ATOMIC_RELAXED);
    }
  }
  return vx_pread_full (e->fd, e->path, buf, len, off, what, err);
}

uint64_t
vmdk_direct_reads (const struct vmdk_disk *d)
{
  uint64_t n = 0;

  for (; d; d = d->parent)
    for (size_t i = 0; i < d->n_extents; i++)
      n += __atomic_load_n (&d->extents[i].direct_reads, __ATOMIC_RELAXED);
  return n;
}

static int
sparse_read (struct vmdk_disk *d, struct extent *e, uint8_t *buf, uint64_t n,
             uint64_t eoff, uint64_t voff, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gbytes = t->grain_sectors * SECTOR;
  uint64_t valid_end = e->valid_sectors * SECTOR;

  while (n > 0) {
    enum grain_state st;
    uint64_t foff = 0, g, in, run;

    if (eoff >= valid_end) {        /* past the header's capacity */
      memset (buf, 0, n);
      return 0;
    }
    g = eoff / gbytes;
    in = eoff % gbytes;
    run = gbytes - in;
    if (run > n) run = n;
    if (run > valid_end - eoff) run = valid_end - eoff;
    if (vx_gtab_lookup (t, g, &st, &foff, err) == -1)
      return -1;

    switch (st) {
    case GRAIN_DATA: {
      uint64_t next = foff + gbytes, ng = g + 1;
      while (run < n && eoff + run < valid_end) {
        enum grain_state st2;
        uint64_t f2 = 0, add;
        if (vx_gtab_lookup (t, ng, &st2, &f2, err) == -1)
          return -1;
        if (st2 != GRAIN_DATA || f2 != next)
          break;
        add = gbytes;
        if (add > n - run) add = n - run;
        if (add > valid_end - eoff - run) add = valid_end - eoff - run;
        run += add;
        next += gbytes;
        ng++;
      }
      if (vx_data_pread (e, buf, run, foff + in, "grain data", err) == -1)
        return -1;
      break;
    }
    case GRAIN_ZERO:
      memset (buf, 0, run);
      break;
    case GRAIN_HOLE: {
      uint64_t ng = g + vx_gtab_uniform_span (t, g, GRAIN_HOLE);
      /* extend over following unallocated grains */
      while (run < n && eoff + run < valid_end) {
        enum grain_state st2;
        uint64_t f2, add, span;
        if (ng * gbytes != eoff + run) break;
        if (vx_gtab_lookup (t, ng, &st2, &f2, err) == -1)
          return -1;
        if (st2 != GRAIN_HOLE)
          break;
        span = vx_gtab_uniform_span (t, ng, GRAIN_HOLE);
        add = span * gbytes;
        if (add > n - run) add = n - run;
        if (add > valid_end - eoff - run) add = valid_end - eoff - run;
        run += add;
        ng += span;
      }
      if (d->parent) {
        if (vx_layer_read (d->parent, buf, run, voff, err) == -1)
          return -1;
      }
      else
        memset (buf, 0, run);
      break;
    }
    case GRAIN_COMPRESSED: {
      uint64_t glen = valid_end - g * gbytes;
      if (glen > gbytes) glen = gbytes;
      if (in == 0 && run == glen) {
        if (vx_gtab_inflate (t, g, foff, buf, glen, err) == -1)
          return -1;
      }
      else {
        const uint8_t *p = vx_gtab_grain_cached (t, g, foff, glen, err);
        if (!p)
          return -1;
        memcpy (buf, p + in, run);
      }
      break;
    }
    }
    buf += run;
    n -= run;
    eoff += run;
    voff += run;
  }
  return 0;
}

int
vx_layer_read (struct vmdk_disk *d, uint8_t *buf, uint64_t len, uint64_t off,
            struct vmdk_error *err)
{
  while (len > 0) {
    struct extent *e = vx_find_extent (d, off);
    uint64_t n = e->end_byte - off, eoff = off - e->start_byte;
    if (n > len) n = len;

    if (e->info.access == VMDK_ACCESS_NOACCESS) {
      vx_err (err, VMDK_ERR_IO, "%s: extent %s is marked NOACCESS", d->path,
              e->filename ? e->filename : "(zero)");
      return -1;
    }
    switch (e->info.type) {
    case VMDK_EXTENT_ZERO:
      memset (buf, 0, n);
      break;
    case VMDK_EXTENT_SPARSE: case VMDK_EXTENT_VMFSSPARSE: case VMDK_EXTENT_SESPARSE:
      if (sparse_read (d, e, buf, n, eoff, off, err) == -1)
        return -1;
      break;
    default:
      if (vx_data_pread (e, buf, n, e->info.flat_offset * SECTOR + eoff, "flat extent data",
                         err) == -1)
        return -1;
    }
    buf += n;
    len -= n;
    off += n;
  }
  return 0;
}

static int
check_range (struct vmdk_disk *d, uint64_t count, uint64_t offset,
             struct vmdk_error *err)
{
  if (offset > d->size || count > d->size - offset) {
    vx_err (err, VMDK_ERR_RANGE,
            "%s: range %" PRIu64 "+%" PRIu64 " lies outside the disk (%" PRIu64 " bytes)",
            d->path, offset, count, d->size);
    return -1;
  }
  return 0;
}

int
vmdk_pread (struct vmdk_disk *d, void *buf, size_t count, uint64_t offset,
            struct vmdk_error *err)
{
  if (!d || (!buf && count)) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_pread: NULL disk or buffer");
    return -1;
  }
  if (check_range (d, count, offset, err) == -1)
    return -1;
  return vx_layer_read (d, buf, count, offset, err);
}

/* ---- maps ------------------------------------------------------------------ */

struct emitter {
  vmdk_map_cb cb;
  void *opaque;
  struct vmdk_map_entry pend;
  bool have, stopped;
  unsigned flags;
};

static void
emit_z (struct emitter *m, uint64_t off, uint64_t len, enum vmdk_map_kind kind,
        unsigned depth, int64_t foff, const char *file, bool compressed, bool zero)
{
  struct vmdk_map_entry *p = &m->pend;

  if (m->stopped || len == 0)
    return;
  if (m->have && p->kind == kind && p->depth == depth && p->compressed == compressed
      && p->zero == zero
      && p->file == file && p->offset + p->length == off
      && ((p->file_offset < 0 && foff < 0)
          || (p->file_offset >= 0 && (uint64_t) p->file_offset + p->length == (uint64_t) foff))) {
    p->length += len;
    return;
  }
  if (m->have && m->cb (m->opaque, p) != 0) {
    m->stopped = true;
    return;
  }
  *p = (struct vmdk_map_entry) { .offset = off, .length = len, .kind = kind,
                                 .depth = depth, .file_offset = foff, .file = file,
                                 .compressed = compressed, .zero = zero };
  m->have = true;
}

static void
emit (struct emitter *m, uint64_t off, uint64_t len, enum vmdk_map_kind kind,
      unsigned depth, int64_t foff, const char *file, bool compressed)
{
  emit_z (m, off, len, kind, depth, foff, file, compressed, false);
}

/* A flat extent's range: data, with holes of the file (SEEK_HOLE) marked as
 * reading zeros, so NBD clients can skip them as they do for raw files. */
static void
flat_map (struct vmdk_disk *d, struct extent *e, uint64_t n, uint64_t eoff,
          uint64_t voff, struct emitter *m)
{
  uint64_t base = e->info.flat_offset * SECTOR + eoff, done = 0;

  while (done < n && !m->stopped) {
    off_t pos = (off_t) (base + done), dpos, hpos;
    uint64_t run;
    bool zero;

    dpos = lseek (e->fd, pos, SEEK_DATA);
    if (dpos == pos) {                      /* data here: up to the next hole */
      hpos = lseek (e->fd, pos, SEEK_HOLE);
      run = hpos > pos ? (uint64_t) (hpos - pos) : n - done;
      zero = false;
    }
    else if (dpos > pos || (dpos == -1 && errno == ENXIO)) {  /* a hole */
      run = dpos > pos ? (uint64_t) (dpos - pos) : n - done;
      zero = true;
    }
    else {                                  /* no SEEK_DATA: say data */
      run = n - done;
      zero = false;
    }
    if (run > n - done)
      run = n - done;
    emit_z (m, voff + done, run, VMDK_MAP_DATA, d->depth, (int64_t) (base + done), e->path,
            false, zero);
    done += run;
  }
}

static int layer_map (struct vmdk_disk *d, uint64_t off, uint64_t len,
                      struct emitter *m, struct vmdk_error *err);

static int
hole (struct vmdk_disk *d, uint64_t off, uint64_t len, struct emitter *m,
      struct vmdk_error *err)
{
  if (d->parent && !(m->flags & VMDK_MAP_THIS_LAYER))
    return layer_map (d->parent, off, len, m, err);
  emit (m, off, len, VMDK_MAP_HOLE, d->depth, -1, NULL, false);
  return 0;
}

static int
sparse_map (struct vmdk_disk *d, struct extent *e, uint64_t n, uint64_t eoff,
            uint64_t voff, struct emitter *m, struct vmdk_error *err)
{
  struct gtab *t = e->gt;
  uint64_t gbytes = t->grain_sectors * SECTOR, valid_end = e->valid_sectors * SECTOR;

  while (n > 0 && !m->stopped) {
    enum grain_state st;
    uint64_t foff = 0, g, in, run;

    if (eoff >= valid_end) {
      emit (m, voff, n, VMDK_MAP_ZERO, d->depth, -1, NULL, false);
      return 0;
    }
    g = eoff / gbytes;
    in = eoff % gbytes;
    if (vx_gtab_lookup (t, g, &st, &foff, err) == -1)
      return -1;
    run = vx_gtab_uniform_span (t, g, st) * gbytes - in;
    if (run > n) run = n;
    if (run > valid_end - eoff) run = valid_end - eoff;
    switch (st) {
    case GRAIN_DATA:
      emit (m, voff, run, VMDK_MAP_DATA, d->depth, (int64_t) (foff + in), e->path, false);
      break;
    case GRAIN_COMPRESSED:
      emit (m, voff, run, VMDK_MAP_DATA, d->depth, -1, e->path, true);
      break;
    case GRAIN_ZERO:
      emit (m, voff, run, VMDK_MAP_ZERO, d->depth, -1, NULL, false);
      break;
    case GRAIN_HOLE:
      if (hole (d, voff, run, m, err) == -1)
        return -1;
      break;
    }
    n -= run;
    eoff += run;
    voff += run;
  }
  return 0;
}

static int
layer_map (struct vmdk_disk *d, uint64_t off, uint64_t len, struct emitter *m,
           struct vmdk_error *err)
{
  while (len > 0 && !m->stopped) {
    struct extent *e = vx_find_extent (d, off);
    uint64_t n = e->end_byte - off, eoff = off - e->start_byte;
    if (n > len) n = len;

    switch (e->info.type) {
    case VMDK_EXTENT_ZERO:
      emit (m, off, n, VMDK_MAP_ZERO, d->depth, -1, NULL, false);
      break;
    case VMDK_EXTENT_SPARSE: case VMDK_EXTENT_VMFSSPARSE: case VMDK_EXTENT_SESPARSE:
      if (sparse_map (d, e, n, eoff, off, m, err) == -1)
        return -1;
      break;
    default:
      flat_map (d, e, n, eoff, off, m);
    }
    len -= n;
    off += n;
  }
  return 0;
}

int
vmdk_map (struct vmdk_disk *d, uint64_t offset, uint64_t length, unsigned flags,
          vmdk_map_cb cb, void *opaque, struct vmdk_error *err)
{
  struct emitter m = { .cb = cb, .opaque = opaque, .flags = flags };

  if (!d || !cb) {
    vx_err (err, VMDK_ERR_INVAL, "vmdk_map: NULL disk or callback");
    return -1;
  }
  if (check_range (d, length, offset, err) == -1)
    return -1;
  if (layer_map (d, offset, length, &m, err) == -1)
    return -1;
  if (m.have && !m.stopped)
    cb (opaque, &m.pend);
  return 0;
}

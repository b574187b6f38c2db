/* tests/fuzz/image.c: the body of the image harnesses (fuzz.h): open a
 * sparse-kind file (hosted sparse and streamOptimized, COWD, seSparse) from
 * memory with the engine, look at everything it describes, then run a short
 * script of reads, maps and writes at offsets the input chooses.
 *
 * The script (the input's first FUZZ_SCRIPT_BYTES, zero padded):
 *   byte 0     open mode: bit 0 writable, bit 1 single link, bit 2 no CID
 *              check, bits 4-5 grain-table cache budget (default, 4 KiB,
 *              64 KiB, 1 MiB: small budgets make evictions happen)
 *   then FUZZ_SCRIPT_OPS operations of FUZZ_OP_BYTES each:
 *     byte 0   kind: bits 0-1 read / read twice / map / write-zero-trim;
 *              bits 2-3 which of write, zero, trim, zero may-trim;
 *              bit 7 take the offset as it is (outside the disk: the engine
 *              must refuse with VMDK_ERR_RANGE), else modulo the disk size
 *     bytes 1-8  offset (little endian)
 *     bytes 9-11 length: bytes (at most 1 MiB), a map covers 512 times it
 * The engine's promises checked: a failure has a code and a message; a read
 * is the same when repeated; the map is contiguous and covers what was
 * asked; what it calls zero or hole reads as zeros; a read-only disk
 * refuses writes.  Writes are made on the memory file and the result is
 * opened again (see do_change for why their content is not compared).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "fuzz.h"
#include "vmdk.h"

#define MAX_IO        (1u << 20)
#define MAX_MAP_ITEMS 4096
#define MAX_ZERO_CHECKS 8
#define ZERO_CHECK_BYTES (64u * 1024)

static const size_t cache_budgets[4] = { 0, 4096, 64 * 1024, 1024 * 1024 };

static void
check_failure (const struct vmdk_error *err)
{
  FUZZ_CHECK (err->code != VMDK_OK);
  FUZZ_CHECK (err->msg[0] != '\0');
  FUZZ_CHECK (memchr (err->msg, '\0', sizeof err->msg) != NULL);
}

static bool
all_zero (const uint8_t *p, size_t n)
{
  return n == 0 || (p[0] == 0 && memcmp (p, p + 1, n - 1) == 0);
}

/* Everything the disk describes about itself: touched, so that the
 * sanitizers see a dangling or unterminated string. */
static void
walk_info (struct vmdk_disk *d)
{
  const struct vmdk_info *in = vmdk_get_info (d);

  FUZZ_CHECK (in != NULL && in->create_type != NULL && in->path != NULL);
  FUZZ_CHECK (vmdk_size (d) == in->capacity * VMDK_SECTOR_SIZE);
  FUZZ_CHECK (in->num_extents >= 1);
  fuzz_touch (in->create_type);
  fuzz_touch (in->path);
  fuzz_touch (in->encoding);
  fuzz_touch (in->parent_hint);
  for (size_t i = 0; i < in->num_extents; i++) {
    const struct vmdk_extent_info *x = vmdk_get_extent (d, i);
    FUZZ_CHECK (x != NULL);
    FUZZ_CHECK (x->type == VMDK_EXTENT_ZERO || x->path != NULL);
    fuzz_touch (x->filename);
    fuzz_touch (x->path);
  }
  FUZZ_CHECK (vmdk_get_extent (d, in->num_extents) == NULL);
  for (size_t i = 0; i < in->num_warnings; i++)
    FUZZ_CHECK (fuzz_touch (vmdk_warning (d, i)) > 0);
  for (size_t i = 0; i < vmdk_ddb_count (d); i++) {
    FUZZ_CHECK (fuzz_touch (vmdk_ddb_key (d, i)) > 0);
    fuzz_touch (vmdk_ddb_value (d, i));
  }
  FUZZ_CHECK (vmdk_file_count (d) >= 1);
  for (size_t i = 0; i < vmdk_file_count (d); i++)
    FUZZ_CHECK (fuzz_touch (vmdk_file_path (d, i)) > 0);
}

struct map_walk {
  uint64_t next;               /* where the next entry must start */
  unsigned items;
  struct { uint64_t off, len; } zero[MAX_ZERO_CHECKS];
  unsigned nzero;
};

static int
map_entry (void *opaque, const struct vmdk_map_entry *e)
{
  struct map_walk *w = opaque;

  FUZZ_CHECK (e->offset == w->next);
  FUZZ_CHECK (e->length > 0);
  FUZZ_CHECK (e->kind == VMDK_MAP_DATA || e->kind == VMDK_MAP_ZERO
              || e->kind == VMDK_MAP_HOLE);
  FUZZ_CHECK (e->kind == VMDK_MAP_DATA || e->file_offset == -1);
  if (e->file)
    FUZZ_CHECK (strlen (e->file) > 0);
  w->next = e->offset + e->length;
  if ((e->kind != VMDK_MAP_DATA || e->zero) && w->nzero < MAX_ZERO_CHECKS) {
    w->zero[w->nzero].off = e->offset;
    w->zero[w->nzero].len = e->length < ZERO_CHECK_BYTES ? e->length : ZERO_CHECK_BYTES;
    w->nzero++;
  }
  return ++w->items >= MAX_MAP_ITEMS;
}

static void
do_map (struct vmdk_disk *d, uint64_t off, uint64_t len, uint8_t *buf)
{
  struct map_walk w = { .next = off };
  struct vmdk_error err = { 0 };

  if (vmdk_map (d, off, len, 0, map_entry, &w, &err) == -1) {
    check_failure (&err);
    return;
  }
  if (w.items < MAX_MAP_ITEMS)
    FUZZ_CHECK (w.next == off + len);
  for (unsigned i = 0; i < w.nzero; i++) {
    if (vmdk_pread (d, buf, w.zero[i].len, w.zero[i].off, &err) == -1) {
      check_failure (&err);   /* a grain table may be bad elsewhere */
      continue;
    }
    FUZZ_CHECK (all_zero (buf, w.zero[i].len));
  }
}

static void
do_read (struct vmdk_disk *d, uint64_t off, size_t len, bool twice,
         uint8_t *buf, uint8_t *buf2)
{
  struct vmdk_error err = { 0 };

  if (vmdk_pread (d, buf, len, off, &err) == -1) {
    check_failure (&err);
    return;
  }
  if (!twice)
    return;
  FUZZ_CHECK (vmdk_pread (d, buf2, len, off, &err) == 0);
  FUZZ_CHECK (memcmp (buf, buf2, len) == 0);
}

/* Write, zero or trim, then read the range.  What was written need not
 * read back from a hostile file: two grain-table entries may point at
 * overlapping grains, or a grain at a grain table, so that one write shows
 * through another (the engine does not look for such aliases); only a
 * clean result is required.  True if the disk was changed. */
static bool
do_change (struct vmdk_disk *d, unsigned how, uint64_t off, size_t len,
           uint8_t *buf, uint8_t *buf2)
{
  struct vmdk_error err = { 0 };
  int r;

  if (how == 0) {
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t) (((off + i) * 131) >> 3) | 1;   /* never zero */
    r = vmdk_pwrite (d, buf, len, off, 0, &err);
  }
  else if (how == 2)
    r = vmdk_trim (d, len, off, 0, &err);
  else
    r = vmdk_zero (d, len, off, how == 3 ? VMDK_ZERO_MAY_TRIM : 0, &err);
  if (r == -1) {
    check_failure (&err);
    return false;   /* the disk may be changed in part: nothing to check */
  }
  if (vmdk_pread (d, buf2, len, off, &err) == -1)
    check_failure (&err);
  return true;
}

/* One operation of the script; true if it changed the disk. */
static bool
run_op (struct vmdk_disk *d, const uint8_t *op, uint8_t *buf, uint8_t *buf2)
{
  uint64_t size = vmdk_size (d), off = le64 (op + 1);
  uint64_t len = (uint64_t) op[9] | (uint64_t) op[10] << 8 | (uint64_t) op[11] << 16;
  unsigned kind = op[0] & 3, how = (op[0] >> 2) & 3;
  bool raw = op[0] & 0x80;
  struct vmdk_error err = { 0 };

  if (kind == 2)
    len *= VMDK_SECTOR_SIZE;
  else if (len > MAX_IO)
    len = MAX_IO;
  if (raw && (off > size || len > size - off)) {
    /* outside the disk: refused */
    struct map_walk w = { .next = off };
    if (kind == 2)
      FUZZ_CHECK (vmdk_map (d, off, len, 0, map_entry, &w, &err) == -1);
    else
      FUZZ_CHECK (vmdk_pread (d, buf, (size_t) len, off, &err) == -1);
    FUZZ_CHECK (err.code == VMDK_ERR_RANGE);
    return false;
  }
  if (!raw) {
    off = size ? off % size : 0;
    if (len > size - off)
      len = size - off;
  }
  switch (kind) {
  case 0: case 1:
    do_read (d, off, (size_t) len, kind == 1, buf, buf2);
    return false;
  case 2:
    do_map (d, off, len, buf);
    return false;
  default:
    if (vmdk_is_writable (d))
      return do_change (d, how, off, (size_t) len, buf, buf2);
    FUZZ_CHECK (vmdk_pwrite (d, buf, (size_t) len, off, 0, &err) == -1);
    FUZZ_CHECK (err.code == VMDK_ERR_READONLY || err.code == VMDK_ERR_UNSUPPORTED);
    return false;
  }
}

void
fuzz_image (const uint8_t *data, size_t size, const void *magic, size_t magic_len)
{
  uint8_t script[FUZZ_SCRIPT_BYTES] = { 0 };
  size_t n = size < sizeof script ? size : sizeof script;
  size_t isize = size - n;
  uint8_t *image, *buf, *buf2;
  struct vmdk_options o = { 0 };
  struct vmdk_error err = { 0 };
  struct vmdk_disk *d;
  const char *path;
  bool changed = false;

  memcpy (script, data, n);
  image = malloc (isize > magic_len ? isize : magic_len);
  FUZZ_CHECK (image != NULL);
  memcpy (image, data + n, isize);
  memcpy (image, magic, magic_len);
  if (isize < magic_len)
    isize = magic_len;
  path = fuzz_memfile (image, isize);
  free (image);

  o.flags = (script[0] & 1 ? 0 : VMDK_OPEN_RDONLY)
    | (script[0] & 2 ? VMDK_OPEN_SINGLE_LINK : 0)
    | (script[0] & 4 ? VMDK_OPEN_NO_CID_CHECK : 0);
  o.gt_cache_bytes = cache_budgets[(script[0] >> 4) & 3];
  d = vmdk_open (path, &o, &err);
  if (!d) {
    check_failure (&err);
    return;
  }
  walk_info (d);
  buf = malloc (MAX_IO);
  buf2 = malloc (MAX_IO);
  FUZZ_CHECK (buf && buf2);
  for (unsigned i = 0; i < FUZZ_SCRIPT_OPS; i++)
    changed |= run_op (d, script + 1 + i * FUZZ_OP_BYTES, buf, buf2);
  free (buf);
  free (buf2);
  if (vmdk_is_writable (d))
    FUZZ_CHECK (vmdk_flush (d, &err) == 0);
  vmdk_close (d);
  if (changed) {               /* what the engine wrote, opened again */
    o.flags |= VMDK_OPEN_RDONLY;
    d = vmdk_open (path, &o, &err);
    if (!d) {
      check_failure (&err);    /* a write may land on aliased metadata */
      return;
    }
    walk_info (d);
    vmdk_close (d);
  }
}

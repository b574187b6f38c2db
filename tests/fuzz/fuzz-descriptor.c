/* tests/fuzz/fuzz-descriptor: the VMDK text descriptor.  The parser alone
 * on the input in memory (vx_desc_parse), then the whole open of the input
 * as a descriptor file (from a memory file): createType, extent lines,
 * parent hints.  Extent and parent names resolve beneath /proc/self/fd,
 * where nothing can be opened (magic links are refused), so only ZERO
 * extents make a disk; such a disk is read at its start and end. */
#include <string.h>

#include "fuzz.h"
#include "internal.h"

static void
check_parsed (const struct descriptor *d, size_t size)
{
  FUZZ_CHECK (d->text != NULL && d->text_len <= size);
  FUZZ_CHECK (strlen (d->text) == d->text_len);
  FUZZ_CHECK (d->n_extents <= VMDK_MAX_EXTENTS);
  for (size_t i = 0; i < d->n_extents; i++) {
    const struct desc_extent *x = &d->extents[i];
    FUZZ_CHECK (x->sectors <= VMDK_MAX_CAPACITY_SECTORS);
    FUZZ_CHECK (x->type == VMDK_EXTENT_ZERO || x->filename != NULL);
    if (x->filename)
      FUZZ_CHECK (x->filename[0] != '\0');
  }
  for (size_t i = 0; i < d->n_ddb; i++) {
    FUZZ_CHECK (fuzz_touch (d->ddb[i].key) > 0);
    FUZZ_CHECK (d->ddb[i].value != NULL && fuzz_touch (d->ddb[i].value) <= size);
  }
  FUZZ_CHECK (fuzz_touch (d->create_type) <= size);
  FUZZ_CHECK (fuzz_touch (d->parent_hint) <= size);
  FUZZ_CHECK (fuzz_touch (d->encoding) <= size);
}

static void
open_whole (const uint8_t *data, size_t size)
{
  struct vmdk_options o = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_error err = { 0 };
  struct vmdk_disk *disk;
  uint8_t buf[4096];
  uint64_t dsize;
  size_t n;

  disk = vmdk_open (fuzz_memfile (data, size), &o, &err);
  if (!disk) {
    FUZZ_CHECK (err.code != VMDK_OK && err.msg[0] != '\0');
    return;
  }
  dsize = vmdk_size (disk);
  FUZZ_CHECK (dsize == vmdk_get_info (disk)->capacity * VMDK_SECTOR_SIZE);
  n = dsize < sizeof buf ? (size_t) dsize : sizeof buf;
  FUZZ_CHECK (vmdk_pread (disk, buf, n, 0, &err) == 0);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK (buf[i] == 0);   /* nothing but ZERO extents can open */
  FUZZ_CHECK (vmdk_pread (disk, buf, n, dsize - n, &err) == 0);
  FUZZ_CHECK (vmdk_pread (disk, buf, 1, dsize, &err) == -1 || dsize == 0);
  for (size_t i = 0; i < vmdk_ddb_count (disk); i++)
    FUZZ_CHECK (vmdk_ddb_get (disk, vmdk_ddb_key (disk, i)) != NULL);
  vmdk_close (disk);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct descriptor d;
  struct vmdk_error err = { 0 };

  if (vx_desc_parse ((const char *) data, size, "fuzz.vmdk", &d, &err) == 0) {
    check_parsed (&d, size);
    vx_desc_free (&d);
  }
  else
    FUZZ_CHECK (err.code != VMDK_OK && err.msg[0] != '\0');
  open_whole (data, size);
  return 0;
}

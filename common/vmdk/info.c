/* vixmount VMDK engine: read-only views of an open disk. */
#include <strings.h>

#include "internal.h"

uint64_t
vmdk_size (const struct vmdk_disk *d)
{
  return d->size;
}

const struct vmdk_info *
vmdk_get_info (const struct vmdk_disk *d)
{
  return &d->info;
}

const struct vmdk_extent_info *
vmdk_get_extent (const struct vmdk_disk *d, size_t i)
{
  return i < d->n_extents ? &d->extents[i].info : NULL;
}

struct vmdk_disk *
vmdk_parent (const struct vmdk_disk *d)
{
  return d->parent;
}

const char *
vmdk_warning (const struct vmdk_disk *d, size_t i)
{
  return i < d->n_warnings ? d->warnings[i] : NULL;
}

size_t
vmdk_ddb_count (const struct vmdk_disk *d)
{
  return d->desc.n_ddb;
}

const char *
vmdk_ddb_key (const struct vmdk_disk *d, size_t i)
{
  return i < d->desc.n_ddb ? d->desc.ddb[i].key : NULL;
}

const char *
vmdk_ddb_value (const struct vmdk_disk *d, size_t i)
{
  return i < d->desc.n_ddb ? d->desc.ddb[i].value : NULL;
}

const char *
vmdk_ddb_get (const struct vmdk_disk *d, const char *key)
{
  /* the last occurrence wins, as when a writer appends a changed key */
  for (size_t i = d->desc.n_ddb; i-- > 0; )
    if (strcasecmp (d->desc.ddb[i].key, key) == 0)
      return d->desc.ddb[i].value;
  return NULL;
}

size_t
vmdk_file_count (const struct vmdk_disk *d)
{
  return d->n_files;
}

const char *
vmdk_file_path (const struct vmdk_disk *d, size_t i)
{
  return i < d->n_files ? d->files[i] : NULL;
}

/* libvixDiskLib: descriptor metadata (the "ddb." entries of the top link).
 *
 * Keys are presented without the "ddb." prefix ("adapterType",
 * "geometry.cylinders", "uuid", ...), compare case-insensitively, and a
 * key that appears twice shows its last value once.  Both the key list and
 * a value use the two-call pattern: with a NULL or short buffer the call
 * returns VIX_E_BUFFER_TOOSMALL and *requiredLen (if given) says how many
 * bytes, terminating NULs included, are needed; *requiredLen is also set
 * on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define PREFIX "ddb."
#define PREFIX_LEN 4

static const char *
strip (const char *key)
{
  return strncasecmp (key, PREFIX, PREFIX_LEN) == 0 ? key + PREFIX_LEN : key;
}

/* Is key i the last occurrence of its name? */
static bool
last_occurrence (struct vmdk_disk *vd, size_t i, size_t n)
{
  const char *k = vmdk_ddb_key (vd, i);

  for (size_t j = i + 1; j < n; j++)
    if (strcasecmp (vmdk_ddb_key (vd, j), k) == 0)
      return false;
  return true;
}

VX_API VixError
VixDiskLib_GetMetadataKeys (VixDiskLibHandle diskHandle, char *keys,
                            size_t maxLen, size_t *requiredLen)
{
  struct vx_disk *d;
  size_t n, need = 1, pos = 0;
  VixError err;

  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "GetMetadataKeys: %s disk handle",
                    diskHandle ? "invalid or closed" : "NULL");
  n = vmdk_ddb_count (d->vd);
  for (size_t i = 0; i < n; i++)
    if (last_occurrence (d->vd, i, n))
      need += strlen (strip (vmdk_ddb_key (d->vd, i))) + 1;
  if (requiredLen)
    *requiredLen = need;
  if (!keys || maxLen < need) {
    vx_disk_end (d, false);
    return vx_fail_at (VX_VERBOSE, VIX_E_BUFFER_TOOSMALL, "GetMetadataKeys: "
                       "%zu bytes needed, %zu given", need, keys ? maxLen : 0);
  }
  for (size_t i = 0; i < n; i++)
    if (last_occurrence (d->vd, i, n)) {
      const char *k = strip (vmdk_ddb_key (d->vd, i));
      size_t l = strlen (k) + 1;
      memcpy (keys + pos, k, l);
      pos += l;
    }
  keys[pos] = '\0';
  vx_disk_end (d, false);
  return VIX_OK;
}

VX_API VixError
VixDiskLib_ReadMetadata (VixDiskLibHandle diskHandle, const char *key,
                         char *buf, size_t bufLen, size_t *requiredLen)
{
  struct vx_disk *d;
  const char *v;
  char full[512];
  size_t need;
  VixError err;

  d = vx_disk_begin (diskHandle, false, &err);
  if (!d)
    return vx_fail (err, "ReadMetadata: %s disk handle",
                    diskHandle ? "invalid or closed" : "NULL");
  if (!key || !*key) {
    vx_disk_end (d, false);
    return vx_fail (VIX_E_INVALID_ARG, "ReadMetadata: no key given");
  }
  snprintf (full, sizeof full, PREFIX "%s", strip (key));
  v = vmdk_ddb_get (d->vd, full);
  if (!v) {
    vx_disk_end (d, false);
    return vx_fail_at (VX_VERBOSE, VIX_E_DISK_KEY_NOTFOUND, "ReadMetadata: %s "
                       "has no metadata key \"%s\"", d->path, key);
  }
  need = strlen (v) + 1;
  if (requiredLen)
    *requiredLen = need;
  if (!buf || bufLen < need) {
    vx_disk_end (d, false);
    return vx_fail_at (VX_VERBOSE, VIX_E_BUFFER_TOOSMALL, "ReadMetadata: "
                       "\"%s\": %zu bytes needed, %zu given", key, need,
                       buf ? bufLen : 0);
  }
  memcpy (buf, v, need);
  vx_disk_end (d, false);
  return VIX_OK;
}

VX_API VixError
VixDiskLib_WriteMetadata (VixDiskLibHandle diskHandle, const char *key,
                          const char *val)
{
  struct vx_disk *d;
  struct vmdk_error e = { 0 };
  char full[512];
  VixError err = VIX_OK;

  d = vx_disk_begin (diskHandle, true, &err);
  if (!d)
    return vx_fail (err, "WriteMetadata: %s disk handle",
                    diskHandle ? "invalid or closed" : "NULL");
  if (!key || !*key || !val)
    err = vx_fail (VIX_E_INVALID_ARG, "WriteMetadata: %s is NULL or empty "
                   "(keys cannot be deleted, only set to \"\")",
                   !key || !*key ? "key" : "val");
  else if (strlen (key) > 400 || strpbrk (key, "=\"\n\r")
           || strpbrk (val, "\"\n\r"))
    err = vx_fail (VIX_E_INVALID_ARG, "WriteMetadata: key or value contains "
                   "characters a descriptor cannot hold");
  else if (d->readonly)
    err = vx_fail (VIX_E_FILE_READ_ONLY, "WriteMetadata: %s was opened "
                   "read-only", d->path);
  else {
    snprintf (full, sizeof full, PREFIX "%s", strip (key));
    if (vmdk_ddb_set (d->vd, full, val, &e) == -1)
      err = vx_fail_vmdk ("WriteMetadata", &e);
  }
  vx_disk_end (d, true);
  return err;
}

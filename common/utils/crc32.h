/* vixmount helpers: the reflected CRC-32 (polynomial 0xEDB88320).
 *
 * One table-free implementation for every on-disk checksum of this family:
 *   - GPT headers and entry arrays, zlib, PNG: vx_crc32 (CRC, buf, len)
 *     (the usual one: pre- and post-inverted, start from 0);
 *   - LVM2 labels and metadata: vx_crc32_update (0xf597a6cf, buf, len)
 *     (lvm2's calc_crc: the same register update, no inversion, its own
 *     initial value).
 * vx_crc32 (c, b, n) == ~vx_crc32_update (~c, b, n).
 */
#ifndef VIXMOUNT_CRC32_H
#define VIXMOUNT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The raw register update: no inversion before or after. */
uint32_t vx_crc32_update (uint32_t crc, const void *buf, size_t len);

/* The standard CRC-32 (inverted); chain calls by passing the last result. */
static inline uint32_t
vx_crc32 (uint32_t crc, const void *buf, size_t len)
{
  return ~vx_crc32_update (~crc, buf, len);
}

#endif

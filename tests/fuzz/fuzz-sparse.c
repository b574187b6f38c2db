/* tests/fuzz/fuzz-sparse: hosted sparse extents ("KDMV": monolithicSparse,
 * streamOptimized with markers and a footer, an embedded descriptor): the
 * header, the grain directories and tables, compressed grains; opened from
 * memory, then read, mapped and written as the input's script says
 * (image.c). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_image (data, size, "KDMV", 4);
  return 0;
}

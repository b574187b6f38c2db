/* tests/fuzz/fuzz-sesparse: ESX seSparse extents (magic 0xcafebabe): the
 * header, the grain directory and tables with their typed entries; opened
 * from memory, then read, mapped and written as the input's script says
 * (image.c). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t magic[8] = { 0xbe, 0xba, 0xfe, 0xca, 0, 0, 0, 0 };

  fuzz_image (data, size, magic, sizeof magic);
  return 0;
}

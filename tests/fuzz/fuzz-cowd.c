/* tests/fuzz/fuzz-cowd: ESX vmfsSparse extents ("COWD"): the header, the
 * grain directory and tables; opened from memory, then read, mapped and
 * written as the input's script says (image.c). */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_image (data, size, "COWD", 4);
  return 0;
}

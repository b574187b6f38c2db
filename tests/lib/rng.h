/* tests/lib/rng.h: the test programs' deterministic PRNG (splitmix64):
 * small, seedable, good enough for test offsets and data.  Header-only:
 * include it in one file per program; set rng_state to the seed. */
#ifndef VIXMOUNT_TEST_RNG_H
#define VIXMOUNT_TEST_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t
rng_next (void)
{
  uint64_t z = (rng_state += UINT64_C (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

#endif

/* vixmount helpers: numbers and sizes (the syntax is in parse.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "parse.h"

static int
digit_value (char ch, unsigned base)
{
  int x;

  if (ch >= '0' && ch <= '9')
    x = ch - '0';
  else if (ch >= 'a' && ch <= 'f')
    x = ch - 'a' + 10;
  else if (ch >= 'A' && ch <= 'F')
    x = ch - 'A' + 10;
  else
    return -1;
  return (unsigned) x < base ? x : -1;
}

/* Reads a NUMBER at the start of [s, s + len): sets *used to the bytes it
 * takes (0: there is none), *v to its value and *overflow if that is more
 * than 2^64 - 1. */
static void
scan_number (const char *s, size_t len, size_t *used, uint64_t *v,
              bool *overflow)
{
  unsigned base = 10;
  size_t i = 0, start;
  uint64_t n = 0;
  int x;

  *overflow = false;
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
      && digit_value (s[2], 16) >= 0) {
    base = 16;
    i = 2;
  }
  start = i;
  for (; i < len && (x = digit_value (s[i], base)) >= 0; i++) {
    if (n > (UINT64_MAX - (unsigned) x) / base)
      *overflow = true;
    else
      n = n * base + (unsigned) x;
  }
  *used = i > start ? i : 0;
  *v = n;
}

int
vx_parse_u64n (const char *s, size_t len, uint64_t *v)
{
  size_t used;
  uint64_t n;
  bool overflow;

  scan_number (s, len, &used, &n, &overflow);
  if (used == 0 || used != len) {
    errno = EINVAL;
    return -1;
  }
  if (overflow) {
    errno = ERANGE;
    return -1;
  }
  *v = n;
  return 0;
}

int
vx_parse_u64 (const char *s, uint64_t *v)
{
  return vx_parse_u64n (s, strlen (s), v);
}

int
vx_parse_size (const char *s, uint64_t *v)
{
  static const char letters[] = "KMGTPE";
  size_t len = strlen (s), used;
  unsigned shift = 0;
  const char *rest, *l;
  uint64_t n;
  bool overflow;

  scan_number (s, len, &used, &n, &overflow);
  rest = s + used;
  if (used > 0 && *rest != '\0') {
    char up = *rest >= 'a' && *rest <= 'z' ? (char) (*rest - 'a' + 'A') : *rest;
    l = strchr (letters, up);
    if (l == NULL) {
      errno = EINVAL;
      return -1;
    }
    shift = 10 * (unsigned) (l - letters + 1);
    rest++;
    if (strcmp (rest, "iB") == 0)
      rest += 2;
  }
  if (used == 0 || *rest != '\0') {
    errno = EINVAL;
    return -1;
  }
  if (overflow || (shift && n > UINT64_MAX >> shift)) {
    errno = ERANGE;
    return -1;
  }
  *v = n << shift;
  return 0;
}

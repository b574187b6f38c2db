/* tests/unit/test-parse: the number and size syntax (common/utils/parse.h). */
#include <errno.h>
#include <stdint.h>

#include "parse.h"
#include "tap.h"

struct tcase {
  const char *text;
  int err;                      /* 0, EINVAL or ERANGE */
  uint64_t want;
};

static const struct tcase numbers[] = {
  { "0", 0, 0 },
  { "1", 0, 1 },
  { "4096", 0, 4096 },
  { "010", 0, 10 },
  { "00", 0, 0 },
  { "0x10", 0, 16 },
  { "0X1f", 0, 31 },
  { "0xABCdef", 0, 0xabcdef },
  { "0x0", 0, 0 },
  { "0x00000000000000000001", 0, 1 },
  { "18446744073709551615", 0, UINT64_MAX },
  { "0xffffffffffffffff", 0, UINT64_MAX },
  { "18446744073709551616", ERANGE, 0 },
  { "99999999999999999999999", ERANGE, 0 },
  { "0x10000000000000000", ERANGE, 0 },
  { "99999999999999999999x", EINVAL, 0 },
  { "", EINVAL, 0 },
  { "-1", EINVAL, 0 },
  { "+1", EINVAL, 0 },
  { " 1", EINVAL, 0 },
  { "1 ", EINVAL, 0 },
  { "\t1", EINVAL, 0 },
  { "0x", EINVAL, 0 },
  { "0X", EINVAL, 0 },
  { "x10", EINVAL, 0 },
  { "0xg", EINVAL, 0 },
  { "0x-1", EINVAL, 0 },
  { "0x 1", EINVAL, 0 },
  { "1a", EINVAL, 0 },
  { "1.0", EINVAL, 0 },
  { "1e3", EINVAL, 0 },
  { "1K", EINVAL, 0 },
  { "0b101", EINVAL, 0 },
};

static const struct tcase sizes[] = {
  { "0", 0, 0 },
  { "0K", 0, 0 },
  { "512", 0, 512 },
  { "010", 0, 10 },
  { "0x10", 0, 16 },
  { "1K", 0, 1024 },
  { "1k", 0, 1024 },
  { "1KiB", 0, 1024 },
  { "1kiB", 0, 1024 },
  { "4M", 0, 4u << 20 },
  { "2m", 0, 2u << 20 },
  { "3MiB", 0, 3u << 20 },
  { "1G", 0, 1u << 30 },
  { "1g", 0, 1u << 30 },
  { "2GiB", 0, UINT64_C (2) << 30 },
  { "1T", 0, UINT64_C (1) << 40 },
  { "1P", 0, UINT64_C (1) << 50 },
  { "1E", 0, UINT64_C (1) << 60 },
  { "1e", 0, UINT64_C (1) << 60 },
  { "15E", 0, UINT64_C (15) << 60 },
  { "0x10K", 0, 16 * 1024 },
  { "0x1E", 0, 30 },
  { "16E", ERANGE, 0 },
  { "17179869185G", ERANGE, 0 },
  { "17179869184G", ERANGE, 0 },
  { "17179869183G", 0, UINT64_C (17179869183) << 30 },
  { "16384P", ERANGE, 0 },
  { "18446744073709551615", 0, UINT64_MAX },
  { "18446744073709551616", ERANGE, 0 },
  { "18446744073709551616K", ERANGE, 0 },
  { "1.5G", EINVAL, 0 },
  { "1Q", EINVAL, 0 },
  { "1KB", EINVAL, 0 },
  { "1Kib", EINVAL, 0 },
  { "1KiBx", EINVAL, 0 },
  { "1iB", EINVAL, 0 },
  { "1KK", EINVAL, 0 },
  { "1 K", EINVAL, 0 },
  { "K", EINVAL, 0 },
  { "", EINVAL, 0 },
  { "-1K", EINVAL, 0 },
  { " 1K", EINVAL, 0 },
  { "1K ", EINVAL, 0 },
  { "0x", EINVAL, 0 },
  { "0xK", EINVAL, 0 },
};

static void
check (const char *kind, int (*fn) (const char *, uint64_t *),
       const struct tcase *t)
{
  uint64_t v = 12345;
  int r;

  errno = 0;
  r = fn (t->text, &v);
  if (t->err == 0) {
    is_int (r, 0, "%s \"%s\" accepted", kind, t->text);
    is_u64 (v, t->want, "%s \"%s\" = %" PRIu64, kind, t->text, t->want);
  }
  else {
    is_int (r, -1, "%s \"%s\" refused", kind, t->text);
    ok (errno == t->err, "%s \"%s\": errno %s", kind, t->text,
        t->err == ERANGE ? "ERANGE" : "EINVAL");
    is_u64 (v, 12345, "%s \"%s\": value left alone", kind, t->text);
  }
}

int
main (void)
{
  uint64_t v = 0;
  size_t i;

  for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
    check ("number", vx_parse_u64, &numbers[i]);
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    check ("size", vx_parse_size, &sizes[i]);

  /* the counted form: exactly LEN bytes, the rest not looked at */
  is_int (vx_parse_u64n ("12345", 3, &v), 0, "u64n: first 3 bytes of 12345");
  is_u64 (v, 123, "u64n: = 123");
  is_int (vx_parse_u64n ("0x1fz", 4, &v), 0, "u64n: 0x1f before z");
  is_u64 (v, 31, "u64n: = 31");
  is_int (vx_parse_u64n ("12", 0, &v), -1, "u64n: zero bytes refused");
  is_int (vx_parse_u64n ("1\0002", 3, &v), -1, "u64n: NUL inside refused");
  errno = 0;
  is_int (vx_parse_u64n ("184467440737095516160", 21, &v), -1,
          "u64n: 21 digits refused");
  ok (errno == ERANGE, "u64n: 21 digits: ERANGE");
  return tap_done ();
}

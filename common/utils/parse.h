/* vixmount helpers: the one syntax of numbers and sizes in options, command
 * arguments and control lines.
 *
 * NUMBER: decimal digits ("0", "4096", "010" is ten: a leading zero is still
 * decimal), or hexadecimal digits after 0x or 0X ("0x1f").  No sign, no
 * blanks, not empty, at most 18446744073709551615 (2^64 - 1).
 *
 * SIZE: a NUMBER, optionally followed by a binary multiplier K, M, G, T, P
 * or E (2^10 ... 2^60; either case), which may be followed by "iB":
 * "4096", "64K", "1m", "2GiB", "0x10K".  Hexadecimal digits are read as far
 * as they go, so "0x1E" is 30, not 1 EiB.  The product must not exceed
 * 2^64 - 1 ("16E" and "17179869185G" are out of range, "15E" is not).
 *
 * Every parser returns 0 and stores the value, or returns -1 with errno
 * EINVAL (not in the syntax) or ERANGE (in the syntax but too large) and
 * leaves *v alone.  A text that is both malformed and too large is EINVAL.
 */
#ifndef VIXMOUNT_PARSE_H
#define VIXMOUNT_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* NUMBER: the whole string S. */
int vx_parse_u64 (const char *s, uint64_t *v);
/* NUMBER: exactly the LEN bytes at S (not NUL-terminated; a NUL is EINVAL). */
int vx_parse_u64n (const char *s, size_t len, uint64_t *v);
/* SIZE: the whole string S, in bytes. */
int vx_parse_size (const char *s, uint64_t *v);

#endif

/* tests/unit/tap.h: the few TAP helpers the unit tests share.
 *
 * Each check prints "ok N - what" or "not ok N - what" (with the values
 * that differed on the lines after it, as TAP comments); tap_done() prints
 * the plan and returns the exit status: 0 if every check passed.  The unit
 * tests run under automake's TAP driver, so every check counts in the
 * suite's summary.  Header-only: include it in exactly one file per test.
 */
#ifndef VIXMOUNT_TAP_H
#define VIXMOUNT_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned tap_n, tap_failed;

static inline bool __attribute__ ((format (printf, 2, 3)))
ok (bool cond, const char *fmt, ...)
{
  va_list ap;

  printf ("%sok %u - ", cond ? "" : "not ", ++tap_n);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  if (!cond)
    tap_failed++;
  fflush (stdout);
  return cond;
}

#define is_u64(got, want, ...) do {                                       \
    uint64_t got_ = (uint64_t) (got), want_ = (uint64_t) (want);          \
    if (!ok (got_ == want_, __VA_ARGS__))                                 \
      printf ("#   got %" PRIu64 ", want %" PRIu64 "\n", got_, want_);    \
  } while (0)

#define is_int(got, want, ...) do {                                       \
    long long got_ = (long long) (got), want_ = (long long) (want);       \
    if (!ok (got_ == want_, __VA_ARGS__))                                 \
      printf ("#   got %lld, want %lld\n", got_, want_);                  \
  } while (0)

#define is_str(got, want, ...) do {                                       \
    const char *got_ = (got), *want_ = (want);                            \
    bool same_ = (got_ == NULL && want_ == NULL) ||                       \
      (got_ != NULL && want_ != NULL && strcmp (got_, want_) == 0);       \
    if (!ok (same_, __VA_ARGS__))                                         \
      printf ("#   got \"%s\", want \"%s\"\n", got_ ? got_ : "(null)",   \
              want_ ? want_ : "(null)");                                  \
  } while (0)

static inline int
tap_done (void)
{
  printf ("1..%u\n", tap_n);
  fflush (stdout);      /* before a sanitizer's exit at the end can lose it */
  return tap_failed ? 1 : 0;
}

#endif

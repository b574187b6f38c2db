/* vixmount helpers: JSON string literals from arbitrary bytes.
 *
 * The text may come from a guest (labels, partition names, descriptors) and
 * need not be UTF-8: the output is always valid JSON.  '"' and '\\' are
 * escaped with a backslash; control characters (below 0x20, and 0x7f) and
 * every byte that is not part of a valid UTF-8 sequence (stray continuation
 * bytes, truncated or overlong sequences, surrogates, code points above
 * U+10FFFF) are written as \u00XX (lowercase hex), i.e. an invalid byte
 * becomes the Latin-1 character of its value.  Valid multibyte UTF-8 is
 * copied unchanged.  Write errors are left in ferror (F).
 */
#ifndef VIXMOUNT_JSON_H
#define VIXMOUNT_JSON_H

#include <stddef.h>
#include <stdio.h>

/* S (NUL-terminated) as a JSON string, or null if S is NULL. */
void vx_json_string (FILE *f, const char *s);
/* The LEN bytes at S (NULs included, as \u0000) as a JSON string. */
void vx_json_stringn (FILE *f, const char *s, size_t len);

#endif

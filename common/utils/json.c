/* vixmount helpers: JSON string literals (see json.h). */
#include <stdint.h>
#include <string.h>

#include "json.h"

/* Length of the valid UTF-8 sequence of two or more bytes at P (N bytes
 * left), or 0 if P does not start one. */
static size_t
utf8_sequence (const unsigned char *p, size_t n)
{
  size_t len, i;
  uint32_t cp;

  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    len = 2;
    cp = p[0] & 0x1f;
  }
  else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    len = 3;
    cp = p[0] & 0x0f;
  }
  else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    len = 4;
    cp = p[0] & 0x07;
  }
  else
    return 0;                   /* ASCII, continuation byte, 0xc0/0xc1, 0xf5+ */
  if (n < len)
    return 0;
  for (i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)
      || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;                   /* overlong, surrogate, beyond Unicode */
  return len;
}

void
vx_json_stringn (FILE *f, const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *) s;
  size_t i = 0;

  fputc ('"', f);
  while (i < len) {
    unsigned char ch = p[i];
    size_t seq;

    if (ch == '"' || ch == '\\') {
      fputc ('\\', f);
      fputc (ch, f);
      i++;
    }
    else if (ch >= 0x20 && ch < 0x7f) {
      fputc (ch, f);
      i++;
    }
    else if (ch >= 0x80 && (seq = utf8_sequence (p + i, len - i)) > 0) {
      fwrite (p + i, 1, seq, f);
      i += seq;
    }
    else {                      /* control character or invalid byte */
      fprintf (f, "\\u%04x", ch);
      i++;
    }
  }
  fputc ('"', f);
}

void
vx_json_string (FILE *f, const char *s)
{
  if (s == NULL) {
    fputs ("null", f);
    return;
  }
  vx_json_stringn (f, s, strlen (s));
}

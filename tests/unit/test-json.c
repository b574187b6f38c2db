/* tests/unit/test-json: JSON string literals (common/utils/json.h) from
 * text, control characters, quotes, valid and invalid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "tap.h"

/* What vx_json_stringn writes for the LEN bytes at S (S NULL: the NUL-
 * terminated form with NULL).  The caller frees it. */
static char *
render (const char *s, size_t len, bool counted)
{
  char *out = NULL;
  size_t n = 0;
  FILE *f = open_memstream (&out, &n);

  if (!f)
    abort ();
  if (counted)
    vx_json_stringn (f, s, len);
  else
    vx_json_string (f, s);
  fclose (f);
  return out;
}

#define JSON(s, want, what) do {                                  \
    char *out_ = render ((s), sizeof (s) - 1, true);              \
    is_str (out_, (want), "%s", (what));                          \
    free (out_);                                                  \
  } while (0)

int
main (void)
{
  char *got;

  got = render (NULL, 0, false);
  is_str (got, "null", "NULL is null");
  free (got);
  got = render ("plain", 0, false);
  is_str (got, "\"plain\"", "plain text is quoted");
  free (got);
  got = render ("", 0, false);
  is_str (got, "\"\"", "empty string");
  free (got);
  got = render ("stop\0here", 0, false);
  is_str (got, "\"stop\"", "the NUL-terminated form stops at the NUL");
  free (got);

  JSON ("say \"hi\"", "\"say \\\"hi\\\"\"", "double quotes escaped");
  JSON ("C:\\dir", "\"C:\\\\dir\"", "backslash escaped");
  JSON ("/a/b", "\"/a/b\"", "slash left alone");
  JSON ("a\nb\tc\rd", "\"a\\u000ab\\u0009c\\u000dd\"", "newline, tab, CR as \\u00XX");
  JSON ("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "0x01, 0x1f and DEL escaped");
  JSON (" ~", "\" ~\"", "space and tilde as they are");
  JSON ("a\0b", "\"a\\u0000b\"", "counted form: NUL as \\u0000");

  JSON ("caf\xc3\xa9", "\"caf\xc3\xa9\"", "2-byte UTF-8 passed through");
  JSON ("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"", "3-byte UTF-8 (euro) passed through");
  JSON ("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"", "4-byte UTF-8 (emoji) passed through");
  JSON ("\xef\xbf\xbf", "\"\xef\xbf\xbf\"", "U+FFFF passed through");
  JSON ("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"", "U+10FFFF passed through");

  JSON ("\xff", "\"\\u00ff\"", "byte 0xff escaped");
  JSON ("a\x80z", "\"a\\u0080z\"", "stray continuation byte escaped");
  JSON ("\xc3", "\"\\u00c3\"", "truncated sequence at the end escaped");
  JSON ("\xc3(", "\"\\u00c3(\"", "lead byte without continuation escaped");
  JSON ("\xe2\x82", "\"\\u00e2\\u0082\"", "truncated 3-byte sequence escaped byte by byte");
  JSON ("\xc0\xaf", "\"\\u00c0\\u00af\"", "overlong 2-byte '/' escaped");
  JSON ("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"", "overlong 3-byte escaped");
  JSON ("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"", "overlong 4-byte escaped");
  JSON ("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", "surrogate U+D800 escaped");
  JSON ("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"", "U+110000 escaped");
  JSON ("\xf8\x88\x80\x80\x80", "\"\\u00f8\\u0088\\u0080\\u0080\\u0080\"",
        "5-byte form escaped");
  JSON ("\xc3\xa9\xff\xc3\xa9", "\"\xc3\xa9\\u00ff\xc3\xa9\"",
        "valid sequences around an invalid byte kept");
  return tap_done ();
}

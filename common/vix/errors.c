/* libvixDiskLib: error codes, texts, and the thread's last failure.
 *
 * Every failing API call goes through vx_fail*, which records the code and
 * a detailed message ("what failed, on which file, why") in thread-local
 * storage and logs it.  VixDiskLib_GetErrorText(code) returns the fixed
 * text of the code, followed by that detail when the code is the one the
 * calling thread's last failure returned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vix.h"

struct vx_errtext { VixError code; const char *name, *text; };

/* The header and errors.def must agree on every value. */
#define VX_ERR(name, value, text) \
  _Static_assert ((name) == (value), #name " differs from errors.def");
#include "errors.def"
#undef VX_ERR

static const struct vx_errtext texts[] = {
#define VX_ERR(name, value, text) { (value), #name, (text) },
#include "errors.def"
#undef VX_ERR
};

/* The calling thread's last failure. */
static __thread struct {
  VixError code;
  char detail[1280];
} last;

static const struct vx_errtext *
lookup (VixError code)
{
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].code == code)
      return &texts[i];
  return NULL;
}

const char *
vx_error_text (VixError code)
{
  const struct vx_errtext *t = lookup (code);

  return t ? t->text : "Unknown error code";
}

static VixError
record (enum vx_level level, VixError code, const char *fmt, va_list ap)
{
  last.code = code;
  vsnprintf (last.detail, sizeof last.detail, fmt, ap);
  vx_log (level, "%s (error %llu: %s)", last.detail, (unsigned long long) code,
          vx_error_text (code));
  return code;
}

VixError
vx_fail_at (enum vx_level level, VixError code, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  record (level, code, fmt, ap);
  va_end (ap);
  return code;
}

VixError
vx_fail_errno (int errnum, const char *fmt, ...)
{
  char what[1024];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return vx_fail (vx_vix_from_errno (errnum), "%s: %s", what,
                  strerror (errnum));
}

VixError
vx_fail_vmdk (const char *what, const struct vmdk_error *e)
{
  return vx_fail (vx_vix_from_vmdk (e), "%s: %s [%s]", what,
                  e->msg[0] ? e->msg : "(no message)",
                  vmdk_errcode_name (e->code));
}

VX_API char *
VixDiskLib_GetErrorText (VixError err, const char *locale)
{
  VixError code = VIX_ERROR_CODE (err);
  const struct vx_errtext *t = lookup (code);
  char *s;
  int r;

  (void) locale;   /* VMware: must be NULL; one language here anyway */
  if (t && code == last.code && last.detail[0] && code != VIX_OK)
    r = asprintf (&s, "%s: %s", t->text, last.detail);
  else if (t)
    r = asprintf (&s, "%s", t->text);
  else
    r = asprintf (&s, "Unknown error %llu", (unsigned long long) code);
  return r == -1 ? NULL : s;
}

VX_API void
VixDiskLib_FreeErrorText (char *errMsg)
{
  free (errMsg);
}

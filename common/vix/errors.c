/* vixmount Vix core: VIX error texts, and failing.
 *
 * Every failing API call of either library goes through vx_report*, which
 * hands the code and a detailed message ("what failed, on which file, why")
 * to the library's record function -- in the end always libvixDiskLib's
 * thread-local store, so that VixDiskLib_GetErrorText(code) can append it --
 * and logs it through the library's logger.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vix.h"

struct vx_errtext { VixError code; const char *text; };

/* The header and errors.def must agree on every value. */
#define VX_ERR(name, value, text) \
  _Static_assert ((name) == (value), #name " differs from errors.def");
#include "errors.def"
#undef VX_ERR

static const struct vx_errtext texts[] = {
#define VX_ERR(name, value, text) { (value), (text) },
#include "errors.def"
#undef VX_ERR
};

const char *
vx_error_text (VixError code)
{
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (texts[i].code == code)
      return texts[i].text;
  return NULL;
}

static VixError VX_PRINTF (4, 0)
vreport (const struct vx_reporter *r, enum vx_level level, VixError code,
         const char *fmt, va_list ap)
{
  char detail[1280];
  const char *text = vx_error_text (code);

  vsnprintf (detail, sizeof detail, fmt, ap);
  r->record (code, detail);
  vx_log_to (r->logger, level, "%s (error %llu: %s)", detail,
             (unsigned long long) code, text ? text : "unknown error");
  return code;
}

VixError
vx_report (const struct vx_reporter *r, enum vx_level level, VixError code,
           const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vreport (r, level, code, fmt, ap);
  va_end (ap);
  return code;
}

VixError
vx_report_errno (const struct vx_reporter *r, int errnum, const char *fmt,
                 ...)
{
  char what[1024];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return vx_report (r, VX_ERROR, vx_vix_from_errno (errnum), "%s: %s", what,
                    strerror (errnum));
}

VixError
vx_report_vmdk (const struct vx_reporter *r, const char *what,
                const struct vmdk_error *e)
{
  return vx_report (r, VX_ERROR, vx_vix_from_vmdk (e), "%s: %s [%s]", what,
                    e->msg[0] ? e->msg : "(no message)",
                    vmdk_errcode_name (e->code));
}

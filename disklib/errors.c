/* libvixDiskLib: the thread's last failure, and the error texts.
 *
 * The one last-error store of the process: libvixDiskLib's own failures
 * (through its reporter, vx_fail*) and those of libraries layered on it
 * (libvixMntapi, through the exported Vixmount_RecordError) land here, so
 * that VixDiskLib_GetErrorText(code) returns the fixed text of the code
 * followed by the detail of the calling thread's last failure, when that
 * failure returned the same code.
 */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "vixDiskLibExt.h"

/* The calling thread's last failure. */
static __thread struct {
  VixError code;
  char detail[1280];
} last;

VX_API VixError
Vixmount_RecordError (VixError code, const char *detail)
{
  last.code = VIX_ERROR_CODE (code);
  snprintf (last.detail, sizeof last.detail, "%s", detail ? detail : "");
  return code;
}

VX_API char *
VixDiskLib_GetErrorText (VixError err, const char *locale)
{
  VixError code = VIX_ERROR_CODE (err);
  const char *text = vx_error_text (code);
  char *s;
  int r;

  (void) locale;   /* VMware: must be NULL; one language here anyway */
  if (text && code == last.code && last.detail[0] && code != VIX_OK)
    r = asprintf (&s, "%s: %s", text, last.detail);
  else if (text)
    r = asprintf (&s, "%s", text);
  else
    r = asprintf (&s, "Unknown error %llu", (unsigned long long) code);
  return r == -1 ? NULL : s;
}

VX_API void
VixDiskLib_FreeErrorText (char *errMsg)
{
  free (errMsg);
}

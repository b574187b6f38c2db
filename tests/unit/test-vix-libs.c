/* tests/unit/test-vix-libs.c: libvixDiskLib and libvixMntapi in one
 * program, as VMware's mount samples use them (no root needed):
 *   - one last-error store: the detail of a failing VixMntapi call comes
 *     back from VixDiskLib_GetErrorText(code), and a later VixDiskLib
 *     failure replaces it;
 *   - one configuration: the same file given to VixDiskLib_InitEx and
 *     VixMntapi_Init gives both the same tmpDirectory, log level and log
 *     file (seen in what each library logs, each with its own prefix).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vixDiskLib.h"
#include "vixMntapi.h"
#include "tap.h"

static char disklib_log[8192], mntapi_log[8192];

static void
append (char *buf, size_t size, const char *fmt, va_list ap)
{
  size_t n = strlen (buf);

  vsnprintf (buf + n, size - n, fmt, ap);
}

static void dl_cb (const char *f, va_list ap) { append (disklib_log, sizeof disklib_log, f, ap); }
static void mnt_cb (const char *f, va_list ap) { append (mntapi_log, sizeof mntapi_log, f, ap); }

/* GetErrorText(code) contains S. */
static bool
error_text_has (VixError code, const char *s)
{
  char *t = VixDiskLib_GetErrorText (code, NULL);
  bool found = t && strstr (t, s);

  if (!found)
    printf ("#   GetErrorText(%llu) = \"%s\"\n", (unsigned long long) code,
            t ? t : "(null)");
  VixDiskLib_FreeErrorText (t);
  return found;
}

/* The text after "WHO: logging to " up to " at level N" in LOG, or "". */
static const char *
logging_to (const char *log, const char *who, char *out, size_t size)
{
  char key[64];
  const char *p, *e;

  snprintf (key, sizeof key, "%s: logging to ", who);
  out[0] = '\0';
  if ((p = strstr (log, key)) && (e = strchr (p, '\n'))) {
    p += strlen (key);
    snprintf (out, size, "%.*s", (int) (e - p), p);
  }
  return out;
}

int
main (void)
{
  char dir[] = "/tmp/test-vix-libs-XXXXXX", conf[256], logfile[300];
  char dl_to[512], mnt_to[512], line[1024], want[512];
  const char *names[] = { "" };
  VixDiskSetHandle set = NULL;
  VixDiskLibHandle h = NULL;
  VixError e;
  FILE *f;
  bool dl_line = false, mnt_line = false;

  if (!mkdtemp (dir)) {
    perror ("mkdtemp");
    return 1;
  }
  snprintf (conf, sizeof conf, "%s/vix.conf", dir);
  snprintf (logfile, sizeof logfile, "%s/both.log", dir);

  /* ---- a VixMntapi failure, before any Init ---------------------------- */
  e = VixMntapi_OpenDisks (NULL, names, 1, VIXDISKLIB_FLAG_OPEN_READ_ONLY,
                           &set);
  is_u64 (e, VIX_E_DISK_NOINIT, "OpenDisks before VixMntapi_Init: "
          "VIX_E_DISK_NOINIT");
  ok (error_text_has (e, "VixDiskLib_Init/InitEx has not been called: "
                      "OpenDisks: VixMntapi_Init was not called"),
      "VixDiskLib_GetErrorText shows \"<fixed text>: <VixMntapi's detail>\"");

  /* ---- one configuration file, two libraries ---------------------------- */
  f = fopen (conf, "w");
  if (!f) {
    perror (conf);
    return 1;
  }
  fprintf (f, "# as backup products write it\r\n"
           "tmpDirectory = %s # both libraries' files\r\n"
           "vixDiskLib.transport.LogLevel = \"verbose\"\r\n"
           "log.fileName = both.log\r\n"
           "vixDiskLib.nfc.LogLevel = 1\r\n", dir);
  fclose (f);

  e = VixDiskLib_InitEx (6, 5, dl_cb, dl_cb, dl_cb, NULL, conf);
  is_u64 (e, VIX_OK, "VixDiskLib_InitEx with the file");
  e = VixMntapi_Init (VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION,
                      mnt_cb, mnt_cb, mnt_cb, NULL, conf);
  is_u64 (e, VIX_OK, "VixMntapi_Init with the same file");

  snprintf (want, sizeof want, "%s at level 5", logfile);
  is_str (logging_to (disklib_log, "VixDiskLib: InitEx", dl_to, sizeof dl_to),
          want, "VixDiskLib: log file in tmpDirectory (the comment after the "
          "value is not part of it), level verbose (5)");
  is_str (logging_to (mntapi_log, "VixMntapi: Init", mnt_to, sizeof mnt_to),
          want, "VixMntapi: the same file and level");
  ok (strstr (disklib_log, "VixDiskLib: ") && strstr (disklib_log,
                                                      "only concerns network transports"),
      "VixDiskLib's callbacks get verbose messages");
  ok (strstr (mntapi_log, "VixMntapi: ") && strstr (mntapi_log,
                                                    "only concerns network transports"),
      "VixMntapi's callbacks get verbose messages too");
  ok (strstr (mntapi_log, "VixDiskLib: ") == NULL
      && strstr (disklib_log, "VixMntapi: ") == NULL,
      "each library logs through its own callbacks and prefix");
  snprintf (want, sizeof want, "disk sets in %s/vixmount", dir);
  ok (strstr (mntapi_log, want) != NULL,
      "VixMntapi keeps its disk sets in tmpDirectory");

  /* ---- failures after Init ---------------------------------------------- */
  e = VixMntapi_OpenDisks (NULL, names, 1, VIXDISKLIB_FLAG_OPEN_READ_ONLY,
                           &set);
  is_u64 (e, VIX_E_INVALID_ARG, "OpenDisks with an empty disk name: "
          "VIX_E_INVALID_ARG");
  ok (error_text_has (e, "Invalid argument: OpenDisks: disk name 0 is empty"),
      "GetErrorText: \"<fixed text>: <VixMntapi's detail>\"");
  ok (set == NULL, "no disk set handle");
  e = VixDiskLib_Open (NULL, "/x.vmdk", 0, &h);
  is_u64 (e, VIX_E_INVALID_ARG, "VixDiskLib_Open with a NULL connection");
  ok (!error_text_has (e, "disk name 0 is empty")
      && error_text_has (e, "Open: /x.vmdk"),
      "the store is one: VixDiskLib's later failure replaced VixMntapi's");

  VixMntapi_Exit ();
  VixDiskLib_Exit ();

  /* the shared log file: lines of both libraries */
  f = fopen (logfile, "r");
  while (f && fgets (line, sizeof line, f)) {
    dl_line |= strstr (line, " vixDiskLib[") != NULL;
    mnt_line |= strstr (line, " vixMntapi[") != NULL;
  }
  if (f)
    fclose (f);
  ok (dl_line && mnt_line, "log.fileName got the lines of both libraries");

  unlink (logfile);
  unlink (conf);
  snprintf (line, sizeof line, "%s/vixmount", dir);
  rmdir (line);
  rmdir (dir);
  return tap_done ();
}

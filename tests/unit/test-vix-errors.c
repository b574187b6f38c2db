/* tests/unit/test-vix-errors.c: the Vix core's error side: a text for
 * every errors.def entry, the errno and engine-error mappings
 * (vixcodes.h), "not a VMDK at all" (notvmdk.c), and failing through a
 * reporter into libvixDiskLib's one last-error store: what is recorded
 * comes back from VixDiskLib_GetErrorText.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vix.h"
#include "vixDiskLibExt.h"
#include "tap.h"

static void
test_texts (void)
{
  static const struct { VixError code; const char *name, *text; } def[] = {
#define VX_ERR(name, value, text) { (value), #name, (text) },
#include "errors.def"
#undef VX_ERR
  };
  size_t n = sizeof def / sizeof def[0], bad = 0, dup = 0;

  for (size_t i = 0; i < n; i++) {
    const char *t = vx_error_text (def[i].code);
    if (!t || !*t || strcmp (t, def[i].text) != 0) {
      printf ("# %s (%llu): text \"%s\"\n", def[i].name,
              (unsigned long long) def[i].code, t ? t : "(null)");
      bad++;
    }
    for (size_t j = 0; j < i; j++)
      if (def[j].code == def[i].code)
        dup++;
  }
  ok (n > 250, "errors.def lists the VIX codes (%zu)", n);
  is_int (bad, 0, "every errors.def entry has its non-empty text");
  is_int (dup, 0, "no code appears twice");
  ok (vx_error_text (12345) == NULL, "an unknown code has no text");
}

static void
test_errno_map (void)
{
  static const struct { int errnum; VixError want; } map[] = {
    { 0, VIX_E_FAIL }, { ENOENT, VIX_E_FILE_NOT_FOUND },
    { ENOTDIR, VIX_E_FILE_NOT_FOUND }, { EACCES, VIX_E_FILE_ACCESS_ERROR },
    { EPERM, VIX_E_FILE_ACCESS_ERROR }, { EROFS, VIX_E_FILE_READ_ONLY },
    { ENOSPC, VIX_E_DISK_FULL }, { EDQUOT, VIX_E_DISK_FULL },
    { EFBIG, VIX_E_FILE_TOO_BIG }, { EEXIST, VIX_E_FILE_ALREADY_EXISTS },
    { ENOTEMPTY, VIX_E_FILE_ALREADY_EXISTS },
    { ENOMEM, VIX_E_OUT_OF_MEMORY }, { EMFILE, VIX_E_DISK_TOOMANYOPENFILES },
    { ENFILE, VIX_E_DISK_TOOMANYOPENFILES },
    { ENAMETOOLONG, VIX_E_FILE_NAME_INVALID },
    { EILSEQ, VIX_E_FILE_NAME_INVALID }, { EISDIR, VIX_E_INCORRECT_FILE_TYPE },
    { EBUSY, VIX_E_OBJECT_IS_BUSY }, { ETXTBSY, VIX_E_OBJECT_IS_BUSY },
    { EINVAL, VIX_E_INVALID_ARG }, { ENOTSUP, VIX_E_NOT_SUPPORTED },
    { EIO, VIX_E_FILE_ERROR }, { ENXIO, VIX_E_FILE_ERROR },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    is_u64 (vx_vix_from_errno (map[i].errnum), map[i].want,
            "errno %d (%s)", map[i].errnum, strerror (map[i].errnum));
}

static void
test_vmdk_map (void)
{
  static const struct { enum vmdk_errcode code; int sys; VixError want; } map[] = {
    { VMDK_OK, 0, VIX_OK },
    { VMDK_ERR_IO, EROFS, VIX_E_FILE_READ_ONLY },
    { VMDK_ERR_IO, EIO, VIX_E_FILE_ERROR },
    { VMDK_ERR_NOMEM, 0, VIX_E_OUT_OF_MEMORY },
    { VMDK_ERR_NOENT, ENOENT, VIX_E_FILE_NOT_FOUND },
    { VMDK_ERR_ACCESS, EACCES, VIX_E_FILE_ACCESS_ERROR },
    { VMDK_ERR_FORMAT, 0, VIX_E_DISK_INVALIDDISK },
    { VMDK_ERR_TRUNCATED, 0, VIX_E_DISK_NEEDSREPAIR },
    { VMDK_ERR_BOUNDS, 0, VIX_E_DISK_NEEDSREPAIR },
    { VMDK_ERR_UNSUPPORTED, 0, VIX_E_DISK_NOTSUPPORTED },
    { VMDK_ERR_PATH, 0, VIX_E_FILE_NAME_INVALID },
    { VMDK_ERR_CHAIN, 0, VIX_E_DISK_INVALIDCHAIN },
    { VMDK_ERR_CID, 0, VIX_E_DISK_CID_MISMATCH },
    { VMDK_ERR_LIMIT, 0, VIX_E_DISK_NOTSUPPORTED },
    { VMDK_ERR_RANGE, 0, VIX_E_DISK_OUTOFRANGE },
    { VMDK_ERR_INVAL, 0, VIX_E_INVALID_ARG },
    { VMDK_ERR_READONLY, 0, VIX_E_FILE_READ_ONLY },
    { VMDK_ERR_COMPRESSED, 0, VIX_E_DISK_NEEDSREPAIR },
    { VMDK_ERR_EXISTS, 0, VIX_E_FILE_ALREADY_EXISTS },
    { VMDK_ERR_LOCKED, 0, VIX_E_FILE_ALREADY_LOCKED },
    { VMDK_ERR_NOTVMDK, 0, VIX_E_INCORRECT_FILE_TYPE },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    struct vmdk_error e = { .code = map[i].code, .sys_errno = map[i].sys };
    is_u64 (vx_vix_from_vmdk (&e), map[i].want, "%s%s%s",
            vmdk_errcode_name (map[i].code), map[i].sys ? " / " : "",
            map[i].sys ? strerror (map[i].sys) : "");
  }
}

/* ---- "not a VMDK at all" --------------------------------------------- */

static char dir[] = "/tmp/test-vix-errors-XXXXXX";

static const char *
file_with (const char *name, const void *data, size_t len)
{
  static char path[512];
  int fd;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd >= 0) {
    if (write (fd, data, len) != (ssize_t) len)
      perror (path);
    close (fd);
  }
  return path;
}

/* What the engine says when it opens PATH, and the VixError it maps to. */
static void
open_as (const char *path, enum vmdk_errcode want, VixError want_vix,
         const char *what)
{
  struct vmdk_options o = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_error e = { 0 };
  struct vmdk_disk *d = vmdk_open (path, &o, &e);

  if (d)
    vmdk_close (d);
  ok (d == NULL && e.code == want, "%s: engine %s (%s)", what,
      vmdk_errcode_name (want), d ? "opened" : e.msg);
  is_u64 (vx_vix_from_vmdk (&e), want_vix, "%s: VixError %llu", what,
          (unsigned long long) want_vix);
}

static void
test_foreign (void)
{
  static char random_bytes[1 << 20];
  /* a descriptor whose extent is missing */
  static const char desc[] = "# Disk DescriptorFile\nversion=1\n"
    "createType=\"monolithicFlat\"\nRW 8 FLAT \"x-flat.vmdk\" 0\n";
  /* descriptor text without its header comment, and no createType */
  static const char bare[] = "RW 8 FLAT \"x-flat.vmdk\" 0\n";
  unsigned seed = 12345;

  for (size_t i = 0; i < sizeof random_bytes; i++)
    random_bytes[i] = (char) ((seed = seed * 1103515245 + 12345) >> 16);
  open_as (file_with ("random.bin", random_bytes, sizeof random_bytes),
           VMDK_ERR_NOTVMDK, VIX_E_INCORRECT_FILE_TYPE, "1 MiB of random bytes");
  open_as (file_with ("text.vmdk", "this is not a VMDK\n", 19),
           VMDK_ERR_NOTVMDK, VIX_E_INCORRECT_FILE_TYPE, "a line of text");
  open_as (file_with ("empty.vmdk", "", 0),
           VMDK_ERR_NOTVMDK, VIX_E_INCORRECT_FILE_TYPE, "an empty file");
  open_as (file_with ("desc.vmdk", desc, sizeof desc - 1),
           VMDK_ERR_NOENT, VIX_E_FILE_NOT_FOUND, "a descriptor whose extent is missing");
  open_as (file_with ("bare.vmdk", bare, sizeof bare - 1),
           VMDK_ERR_FORMAT, VIX_E_DISK_INVALIDDISK, "extent lines without createType");
  open_as (file_with ("sparse.vmdk", "KDMV\1\0\0\0garbage", 15),
           VMDK_ERR_TRUNCATED, VIX_E_DISK_NEEDSREPAIR, "a cut sparse header");
}

/* ---- the store, through a reporter ----------------------------------- */

static char logged[2048];

static void
log_cb (const char *fmt, va_list ap)
{
  size_t n = strlen (logged);

  vsnprintf (logged + n, sizeof logged - n, fmt, ap);
}

static void
expect_text (VixError code, const char *want, const char *what)
{
  char *t = VixDiskLib_GetErrorText (code, NULL);

  is_str (t, want, "%s", what);
  VixDiskLib_FreeErrorText (t);
}

static void
test_store (void)
{
  struct vx_logger lg = VX_LOGGER_INIT ("Test: ", "test");
  const struct vx_reporter rep = { &lg, Vixmount_RecordError };
  struct vmdk_error ve = { .code = VMDK_ERR_CID };
  char want[512];

  is_u64 (Vixmount_RecordError (VIX_E_FILE_NOT_FOUND, "Open: /a.vmdk: gone"),
          VIX_E_FILE_NOT_FOUND, "Vixmount_RecordError returns the code");
  expect_text (VIX_E_FILE_NOT_FOUND, "File not found: Open: /a.vmdk: gone",
               "GetErrorText of the recorded code: text and detail");
  expect_text (VIX_E_FILE_NOT_FOUND | (UINT64_C (7) << 32),
               "File not found: Open: /a.vmdk: gone",
               "... also with bits above the low 16");
  expect_text (VIX_E_INVALID_ARG, "Invalid argument",
               "another code: the fixed text only");
  expect_text (VIX_OK, "Success", "VIX_OK: its text");
  expect_text (12345, "Unknown error 12345", "an unknown code");
  Vixmount_RecordError (VIX_E_FAIL, NULL);
  expect_text (VIX_E_FAIL, "Unspecified failure", "a NULL detail: no suffix");

  vx_log_configure (&lg, log_cb, log_cb, log_cb);
  is_u64 (vx_report (&rep, VX_ERROR, VIX_E_DISK_NOINIT, "Open: %s", "no Init"),
          VIX_E_DISK_NOINIT, "vx_report returns the code");
  snprintf (want, sizeof want, "%s: Open: no Init",
            vx_error_text (VIX_E_DISK_NOINIT));
  expect_text (VIX_E_DISK_NOINIT, want, "... and records the detail");
  snprintf (want, sizeof want, "Test: Open: no Init (error %d: %s)\n",
            (int) VIX_E_DISK_NOINIT, vx_error_text (VIX_E_DISK_NOINIT));
  is_str (logged, want, "... and logs detail, code and text");

  is_u64 (vx_report_errno (&rep, EACCES, "Create: %s", "/d.vmdk"),
          VIX_E_FILE_ACCESS_ERROR, "vx_report_errno maps errno");
  snprintf (want, sizeof want, "Permission denied: Create: /d.vmdk: %s",
            strerror (EACCES));
  expect_text (VIX_E_FILE_ACCESS_ERROR, want, "... with strerror in the detail");

  snprintf (ve.msg, sizeof ve.msg, "parent CID differs");
  is_u64 (vx_report_vmdk (&rep, "Open", &ve), VIX_E_DISK_CID_MISMATCH,
          "vx_report_vmdk maps the engine code");
  snprintf (want, sizeof want, "%s: Open: parent CID differs [VMDK_ERR_CID]",
            vx_error_text (VIX_E_DISK_CID_MISMATCH));
  expect_text (VIX_E_DISK_CID_MISMATCH, want, "... message and engine code");

  ve.code = VMDK_ERR_NOTVMDK;
  snprintf (ve.msg, sizeof ve.msg, "x.vmdk: not a VMDK");
  is_u64 (vx_report_vmdk (&rep, "Open", &ve), VIX_E_INCORRECT_FILE_TYPE,
          "vx_report_vmdk: a file that is no VMDK is VIX_E_INCORRECT_FILE_TYPE");
  vx_log_reset (&lg);
}

int
main (void)
{
  if (!mkdtemp (dir)) {
    perror ("mkdtemp");
    return 1;
  }
  test_texts ();
  test_errno_map ();
  test_vmdk_map ();
  test_foreign ();
  test_store ();
  for (const char *const *f = (const char *const[]) {
         "random.bin", "text.vmdk", "empty.vmdk", "desc.vmdk", "sparse.vmdk",
         "cowd.vmdk", NULL }; *f; f++) {
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir, *f);
    unlink (path);
  }
  rmdir (dir);
  return tap_done ();
}

/* tests/unit/test-vix-config.c: the Vix core's configuration parser
 * (common/vix/config.c), which VixDiskLib_InitEx and VixMntapi_Init both
 * use: the same text must give the same settings whatever its spelling
 * (quotes, comments after values, spaces, CRLF, names or numbers), unknown
 * keys and bad values only give notes, and applying a configuration sets a
 * logger's level and log file.  (That both libraries really apply it the
 * same way is test-vix-libs.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vix.h"
#include "tap.h"

/* Parse TEXT into a fresh configuration. */
static struct vx_config
parse (const char *text)
{
  struct vx_config cfg = VX_CONFIG_INIT;

  vx_config_parse (&cfg, "test.conf", text, strlen (text));
  return cfg;
}

/* A note whose text contains S, at LEVEL (-1: any level). */
static bool
has_note (const struct vx_config *cfg, int level, const char *s)
{
  for (size_t i = 0; i < cfg->n_notes; i++)
    if ((level < 0 || (int) cfg->notes[i].level == level)
        && strstr (cfg->notes[i].text, s))
      return true;
  return false;
}

/* The same settings written in several ways. */
static void
test_spellings (void)
{
  static const char *const variants[] = {
    "tmpDirectory = /tmp # c\n"
    "vixDiskLib.transport.LogLevel = \"verbose\"\n"
    "log.fileName = vix.log\nlog.fileLevel = 6\n",

    "tmpDirectory=\"/tmp\"\n"
    "vixDiskLib.transport.LogLevel=5\n"
    "log.fileName=\"vix.log\" # the file\nlog.fileLevel=trivia\n",

    "# a comment line\n\n   \t\n"
    "  TMPDIRECTORY   =   /tmp   \n"
    "\tvixdisklib.transport.loglevel = VERBOSE # names ignore case\n"
    "log.filename = \"vix.log\"\nLOG.FILELEVEL = \"TRIVIA\"",

    "tmpDirectory = /tmp\r\n"
    "vixDiskLib.transport.LogLevel = \"5\"\r\n"
    "log.fileName = vix.log\r\nlog.fileLevel = 6\r\n",
  };

  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    struct vx_config cfg = parse (variants[i]);

    is_str (cfg.tmp_directory, "/tmp", "variant %zu: tmpDirectory", i);
    is_int (cfg.log_level, VX_VERBOSE, "variant %zu: LogLevel", i);
    is_str (cfg.log_file, "vix.log", "variant %zu: log.fileName", i);
    is_int (cfg.log_file_level, VX_TRIVIA, "variant %zu: log.fileLevel", i);
    is_int (cfg.mntapi_log_level, -1, "variant %zu: vixMntapi.LogLevel unset",
            i);
    ok (!has_note (&cfg, VX_WARNING, ""), "variant %zu: no warning", i);
    vx_config_free (&cfg);
  }
}

static void
test_values (void)
{
  struct vx_config cfg;

  cfg = parse ("tmpDirectory = \"/with space/and#hash\" # comment\n");
  is_str (cfg.tmp_directory, "/with space/and#hash",
          "a quoted value keeps spaces and '#'");
  vx_config_free (&cfg);

  cfg = parse ("tmpDirectory = /a\ntmpDirectory = /b\n");
  is_str (cfg.tmp_directory, "/b", "the last of a repeated key wins");
  ok (has_note (&cfg, VX_WARNING, "test.conf:2: tmpDirectory \"/b\" is not an "
                "existing directory"), "a missing tmpDirectory gives a warning");
  vx_config_free (&cfg);

  cfg = parse ("vixDiskLib.transport.LogLevel = WARNING\n"
               "vixMntapi.LogLevel = info\n");
  is_int (cfg.log_level, VX_WARNING, "a level by name, any case");
  is_int (cfg.mntapi_log_level, VX_INFO, "vixMntapi.LogLevel by name");
  vx_config_free (&cfg);

  cfg = parse ("vixDiskLib.transport.LogLevel = 9\nlog.fileLevel = -3\n");
  is_int (cfg.log_level, VX_TRIVIA, "a number above 6 means trivia");
  is_int (cfg.log_file_level, VX_PANIC, "a negative number means panic");
  vx_config_free (&cfg);

  cfg = parse ("vixDiskLib.transport.LogLevel = loud\n"
               "log.fileLevel = \"\"\nvixMntapi.LogLevel = 3x\n");
  is_int (cfg.log_level, -1, "a bad level is ignored");
  is_int (cfg.log_file_level, -1, "an empty level is ignored");
  is_int (cfg.mntapi_log_level, -1, "\"3x\" is not a level");
  ok (has_note (&cfg, VX_WARNING, "test.conf:1: vixDiskLib.transport.LogLevel: "
                "\"loud\" is not a log level"),
      "a bad level gives a warning naming file, line, key and value");
  ok (has_note (&cfg, VX_WARNING, "test.conf:3:"), "... on its own line");
  vx_config_free (&cfg);

  cfg = parse ("vixmount.allowEscapingPaths = yes\n");
  ok (cfg.allow_escape, "allowEscapingPaths = yes");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.allowEscapingPaths = TRUE\n"
               "vixmount.allowEscapingPaths = maybe\n");
  ok (cfg.allow_escape, "a bad boolean keeps the previous value");
  ok (has_note (&cfg, VX_WARNING, "is not TRUE or FALSE"),
      "a bad boolean gives a warning");
  vx_config_free (&cfg);

  cfg = parse ("# nothing\n");
  is_int (cfg.bridge, VX_BRIDGE_UNSET, "vixmount.bridge unset by default");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.bridge = Kernel\n");
  is_int (cfg.bridge, VX_BRIDGE_KERNEL, "vixmount.bridge = Kernel (any case)");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.bridge = fuse\nvixmount.bridge = nbd\n");
  is_int (cfg.bridge, VX_BRIDGE_FUSE, "a bad bridge keeps the previous value");
  ok (has_note (&cfg, VX_WARNING, "test.conf:2: vixmount.bridge: \"nbd\" is not auto, "
                "kernel or fuse"), "... and gives a warning naming file, line and value");
  vx_config_free (&cfg);
  is_int (vx_bridge_parse ("AUTO"), VX_BRIDGE_AUTO, "vx_bridge_parse auto");

  cfg = parse ("# nothing\n");
  is_int (cfg.direct_read, -1, "vixmount.directRead: auto by default");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.directRead = false\n");
  is_int (cfg.direct_read, 0, "vixmount.directRead = false");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.directRead = TRUE\nvixmount.directRead = often\n");
  is_int (cfg.direct_read, 1, "a bad directRead keeps the previous value (TRUE)");
  ok (has_note (&cfg, VX_WARNING, "test.conf:2: vixmount.directRead: \"often\" is not "
                "auto, TRUE or FALSE, ignored"), "... and gives a warning naming file, line and value");
  vx_config_free (&cfg);
  cfg = parse ("vixmount.directRead = yes\nvixmount.directRead = Auto\n");
  is_int (cfg.direct_read, -1, "vixmount.directRead = Auto (any case) after yes");
  vx_config_free (&cfg);
  is_int (vx_bridge_parse (""), -1, "vx_bridge_parse refuses the empty string");
}

static void
test_bad_lines (void)
{
  struct vx_config cfg;
  const char nul[] = "tmpDirectory = /a\0b\nlog.fileName = f\n";

  cfg = parse ("some.unknown.key = 42\n");
  ok (has_note (&cfg, VX_AUDIT, "test.conf:1: unknown configuration key "
                "\"some.unknown.key\" ignored"),
      "an unknown key: an audit note");
  vx_config_free (&cfg);

  cfg = parse ("vixDiskLib.nfc.LogLevel = 1\n"
               "vixDiskLib.transport.san.blacklist = sda\n");
  ok (has_note (&cfg, VX_VERBOSE, "only concerns network transports"),
      "VMware's network keys: a verbose note only");
  ok (!has_note (&cfg, VX_AUDIT, ""), "... and nothing louder");
  is_int (cfg.log_level, -1, "vixDiskLib.nfc.LogLevel is not the LogLevel");
  vx_config_free (&cfg);

  cfg = parse ("just words\n= value\ntmpDirectory = \"/open\n");
  ok (has_note (&cfg, VX_WARNING, "test.conf:1: not a \"name = value\" line"),
      "a line without '=' is refused");
  ok (has_note (&cfg, VX_WARNING, "test.conf:2: not a \"name = value\" line"),
      "a line without a name is refused");
  ok (has_note (&cfg, VX_WARNING, "test.conf:3: unterminated quoted value"),
      "an unterminated quote is refused");
  ok (cfg.tmp_directory == NULL, "... and sets nothing");
  vx_config_free (&cfg);

  cfg = (struct vx_config) VX_CONFIG_INIT;
  vx_config_parse (&cfg, "nul.conf", nul, sizeof nul - 1);
  ok (has_note (&cfg, VX_WARNING, "nul.conf:1: NUL byte in line"),
      "a line with a NUL byte is refused");
  ok (cfg.tmp_directory == NULL, "... and sets nothing");
  is_str (cfg.log_file, "f", "the next line still counts");
  vx_config_free (&cfg);
  ok (cfg.n_notes == 0 && cfg.notes == NULL && cfg.log_level == -1
      && cfg.tmp_directory == NULL, "vx_config_free resets to VX_CONFIG_INIT");
}

/* ---- files, load and apply ------------------------------------------- */

static char tmpdir[] = "/tmp/test-vix-config-XXXXXX";
static char recorded[256];
static VixError recorded_code;

static VixError
record (VixError code, const char *detail)
{
  recorded_code = code;
  snprintf (recorded, sizeof recorded, "%s", detail);
  return code;
}

static char logged[4096];

static void
log_cb (const char *fmt, va_list ap)
{
  size_t n = strlen (logged);

  vsnprintf (logged + n, sizeof logged - n, fmt, ap);
}

static void
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");

  if (f) {
    fputs (text, f);
    fclose (f);
  }
}

static void
test_files (void)
{
  struct vx_logger lg = VX_LOGGER_INIT ("Test: ", "test");
  const struct vx_reporter rep = { &lg, record };
  struct vx_config cfg = VX_CONFIG_INIT, same = VX_CONFIG_INIT;
  char conf[512], missing[512], logpath[600], text[1024], line[512];
  FILE *f;
  bool found = false;

  snprintf (conf, sizeof conf, "%s/vix.conf", tmpdir);
  snprintf (missing, sizeof missing, "%s/none.conf", tmpdir);
  snprintf (text, sizeof text, "tmpDirectory = %s # here\r\n"
            "vixDiskLib.transport.LogLevel = \"info\"\r\n"
            "log.fileName = lib.log\r\nlog.fileLevel = verbose\r\n"
            "vixDiskLib.nfc.LogLevel = 1\r\n", tmpdir);
  write_text (conf, text);

  is_int (vx_config_read (conf, &cfg), 0, "vx_config_read of a file");
  vx_config_parse (&same, conf, text, strlen (text));
  is_str (cfg.tmp_directory, same.tmp_directory,
          "the file reader gives what the parser gives: tmpDirectory");
  is_int (cfg.log_level, same.log_level, "... LogLevel");
  is_str (cfg.log_file, same.log_file, "... log.fileName");
  is_int (cfg.log_file_level, same.log_file_level, "... log.fileLevel");
  is_int (cfg.n_notes, same.n_notes, "... notes");
  vx_config_free (&same);
  vx_config_free (&cfg);

  is_int (vx_config_read (missing, &cfg), ENOENT,
          "vx_config_read of a missing file: ENOENT");

  /* load: a missing file is reported, and the library carries on */
  vx_log_configure (&lg, log_cb, log_cb, log_cb);
  is_u64 (vx_config_load (&rep, "InitEx", missing, &cfg), VIX_E_FILE_NOT_FOUND,
          "vx_config_load of a missing file: VIX_E_FILE_NOT_FOUND");
  is_u64 (recorded_code, VIX_E_FILE_NOT_FOUND, "... recorded with its code");
  ok (strstr (recorded, "InitEx: configuration file") && strstr (recorded,
                                                                  "none.conf"),
      "... and a detail naming the caller and the file");
  ok (strstr (logged, "Test: InitEx: continuing without configuration file")
      != NULL, "... and a warning that it carries on");
  is_u64 (vx_config_load (&rep, "InitEx", NULL, &cfg), VIX_OK,
          "vx_config_load of no file: VIX_OK");

  /* apply: level and log file (relative to tmpDirectory), then the notes */
  logged[0] = '\0';
  is_u64 (vx_config_load (&rep, "InitEx", conf, &cfg), VIX_OK,
          "vx_config_load of the file");
  vx_config_apply (&lg, "InitEx", &cfg, cfg.log_level);
  is_int (vx_log_get_level (&lg), VX_INFO, "apply sets the logger's level");
  snprintf (logpath, sizeof logpath, "%s/lib.log", tmpdir);
  ok (strstr (logged, "InitEx: logging to ") && strstr (logged, logpath),
      "apply opens log.fileName in tmpDirectory, and says so");
  ok (cfg.n_notes == 0, "apply logs the notes and drops them");
  vx_log_to (&lg, VX_VERBOSE, "verbose line");
  vx_log_to (&lg, VX_TRIVIA, "trivia line");
  vx_log_reset (&lg);
  f = fopen (logpath, "r");
  ok (f != NULL, "the log file exists");
  bool verbose_seen = false, trivia_seen = false;
  while (f && fgets (line, sizeof line, f)) {
    found |= strstr (line, "only concerns network transports") != NULL;
    verbose_seen |= strstr (line, "verbose line") != NULL;
    trivia_seen |= strstr (line, "trivia line") != NULL;
  }
  if (f)
    fclose (f);
  ok (found, "the verbose note about a network key reached the file "
      "(log.fileLevel verbose)");
  ok (verbose_seen && !trivia_seen, "the file keeps its own level");
  vx_config_free (&cfg);
  unlink (logpath);
  unlink (conf);
}

int
main (void)
{
  if (!mkdtemp (tmpdir)) {
    perror ("mkdtemp");
    return 1;
  }
  test_spellings ();
  test_values ();
  test_bad_lines ();
  test_files ();
  rmdir (tmpdir);
  return tap_done ();
}

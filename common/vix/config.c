/* vixmount Vix core: the configuration file of VixDiskLib_InitEx and
 * VixMntapi_Init (one parser for both libraries, and one way to apply it).
 *
 * Format (as VMware's): one "name = value" per line (LF or CRLF), the value
 * optionally in double quotes, spaces around "=" optional, "#" starts a
 * comment (outside quotes).  Key names compare case-insensitively.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vix.h"

#define MAX_CONFIG_BYTES (1024 * 1024)

/* Keys that only concern VMware's network transports, telemetry or
 * logging internals: accepted and ignored without a message above
 * verbose level. */
static const char *const ignored_prefixes[] = {
  "vixDiskLib.nfc", "vixDiskLib.nfcAio", "vixDiskLib.nfcFssrvr",
  "vixDiskLib.nfcFssrvrWrite", "vixDiskLib.transport.san.",
  "vixDiskLib.transport.hotadd.", "vixDiskLib.phoneHome.",
  "vixDiskLib.linuxSSL", "vixDiskLib.ssl", "vixDiskLib.transport.nbd",
  "vixDiskLib.transport.nbdssl",
};

/* Messages about the file wait in cfg until the log (maybe a log file named
 * by this very file) is set up; vx_config_flush_notes sends them. */
static void VX_PRINTF (3, 4)
note (struct vx_config *cfg, enum vx_level level, const char *fmt, ...)
{
  va_list ap;
  char *s;
  struct vx_note *n;

  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) == -1)
    s = NULL;
  va_end (ap);
  if (!s)
    return;
  n = realloc (cfg->notes, (cfg->n_notes + 1) * sizeof *n);
  if (!n) {
    free (s);
    return;
  }
  cfg->notes = n;
  cfg->notes[cfg->n_notes].level = level;
  cfg->notes[cfg->n_notes].text = s;
  cfg->n_notes++;
}

/* Log (and drop) the messages collected while parsing. */
static void
flush_notes (struct vx_config *cfg, struct vx_logger *lg)
{
  for (size_t i = 0; i < cfg->n_notes; i++) {
    vx_log_to (lg, cfg->notes[i].level, "%s", cfg->notes[i].text);
    free (cfg->notes[i].text);
  }
  free (cfg->notes);
  cfg->notes = NULL;
  cfg->n_notes = 0;
}

static bool
parse_bool (const char *v, bool *out)
{
  if (strcasecmp (v, "true") == 0 || strcasecmp (v, "yes") == 0
      || strcmp (v, "1") == 0 || strcasecmp (v, "on") == 0)
    *out = true;
  else if (strcasecmp (v, "false") == 0 || strcasecmp (v, "no") == 0
           || strcmp (v, "0") == 0 || strcasecmp (v, "off") == 0)
    *out = false;
  else
    return false;
  return true;
}

static void
set_string (char **slot, const char *v)
{
  char *s = strdup (v);

  if (s) {
    free (*slot);
    *slot = s;
  }
}

/* A level by name or number into *SLOT; a bad one is noted and ignored. */
static void
set_level (struct vx_config *cfg, const char *file, unsigned lineno,
           const char *key, const char *value, int *slot)
{
  int l = vx_log_parse_level (value);

  if (l == -1)
    note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not a log level (0-6), "
          "ignored", file, lineno, key, value);
  else
    *slot = l;
}

int
vx_bridge_parse (const char *s)
{
  if (strcasecmp (s, "auto") == 0) return VX_BRIDGE_AUTO;
  if (strcasecmp (s, "kernel") == 0) return VX_BRIDGE_KERNEL;
  if (strcasecmp (s, "fuse") == 0) return VX_BRIDGE_FUSE;
  return -1;
}

static void
apply (struct vx_config *cfg, const char *file, unsigned lineno,
       const char *key, const char *value)
{
  if (strcasecmp (key, "tmpDirectory") == 0) {
    struct stat st;
    if (stat (value, &st) == -1 || !S_ISDIR (st.st_mode))
      note (cfg, VX_WARNING, "%s:%u: tmpDirectory \"%s\" is not an existing "
              "directory", file, lineno, value);
    set_string (&cfg->tmp_directory, value);
  }
  else if (strcasecmp (key, "vixDiskLib.transport.LogLevel") == 0)
    set_level (cfg, file, lineno, key, value, &cfg->log_level);
  else if (strcasecmp (key, "vixMntapi.LogLevel") == 0)
    set_level (cfg, file, lineno, key, value, &cfg->mntapi_log_level);
  else if (strcasecmp (key, "log.fileName") == 0)
    set_string (&cfg->log_file, value);
  else if (strcasecmp (key, "log.fileLevel") == 0)
    set_level (cfg, file, lineno, key, value, &cfg->log_file_level);
  else if (strcasecmp (key, "vixmount.allowEscapingPaths") == 0) {
    if (!parse_bool (value, &cfg->allow_escape))
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not TRUE or FALSE, ignored",
              file, lineno, key, value);
  }
  else if (strcasecmp (key, "vixmount.directRead") == 0) {
    bool b;
    if (strcasecmp (value, "auto") == 0)
      cfg->direct_read = -1;
    else if (parse_bool (value, &b))
      cfg->direct_read = b;
    else
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not auto, TRUE or FALSE, ignored",
            file, lineno, key, value);
  }
  else if (strcasecmp (key, "vixmount.bridge") == 0) {
    int b = vx_bridge_parse (value);
    if (b == -1)
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not auto, kernel or fuse, ignored",
            file, lineno, key, value);
    else
      cfg->bridge = (enum vx_bridge) b;
  }
  else {
    for (size_t i = 0; i < sizeof ignored_prefixes / sizeof *ignored_prefixes;
         i++)
      if (strncasecmp (key, ignored_prefixes[i],
                       strlen (ignored_prefixes[i])) == 0) {
        note (cfg, VX_VERBOSE, "%s:%u: %s only concerns network transports, "
                "ignored", file, lineno, key);
        return;
      }
    note (cfg, VX_AUDIT, "%s:%u: unknown configuration key \"%s\" ignored",
            file, lineno, key);
  }
}

/* Parse one line in place; calls apply for a key/value line. */
static void
parse_line (struct vx_config *cfg, const char *file, unsigned lineno, char *p)
{
  char *key, *kend, *value, *q;

  while (isspace ((unsigned char) *p))
    p++;
  if (*p == '\0' || *p == '#')
    return;
  key = p;
  while (*p && *p != '=' && !isspace ((unsigned char) *p))
    p++;
  kend = p;
  while (isspace ((unsigned char) *p))
    p++;
  if (*p != '=' || kend == key) {
    note (cfg, VX_WARNING, "%s:%u: not a \"name = value\" line, ignored", file,
            lineno);
    return;
  }
  *kend = '\0';
  p++;
  while (isspace ((unsigned char) *p))
    p++;
  if (*p == '"') {
    value = ++p;
    q = strchr (p, '"');
    if (!q) {
      note (cfg, VX_WARNING, "%s:%u: unterminated quoted value, ignored", file,
              lineno);
      return;
    }
    *q = '\0';
  }
  else {
    value = p;
    q = strchr (p, '#');
    if (q)
      *q = '\0';
    q = value + strlen (value);
    while (q > value && isspace ((unsigned char) q[-1]))
      *--q = '\0';
  }
  apply (cfg, file, lineno, key, value);
}

void
vx_config_parse (struct vx_config *cfg, const char *name, const char *text,
                 size_t len)
{
  const char *p = text, *end = text + len, *eol;
  unsigned lineno = 0;
  char *line;
  size_t n;

  if (len > MAX_CONFIG_BYTES) {
    note (cfg, VX_WARNING, "%s: larger than %d bytes; the rest is ignored",
          name, MAX_CONFIG_BYTES);
    end = text + MAX_CONFIG_BYTES;
  }
  for (; p < end; p = eol + 1) {
    lineno++;
    eol = memchr (p, '\n', (size_t) (end - p));
    if (!eol)
      eol = end;
    n = (size_t) (eol - p);
    if (n > 0 && p[n - 1] == '\r')
      n--;
    if (memchr (p, '\0', n)) {
      note (cfg, VX_WARNING, "%s:%u: NUL byte in line, ignored", name, lineno);
      continue;
    }
    line = strndup (p, n);
    if (!line) {
      note (cfg, VX_WARNING, "%s:%u: out of memory, line ignored", name,
            lineno);
      continue;
    }
    parse_line (cfg, name, lineno, line);
    free (line);
  }
}

int
vx_config_read (const char *path, struct vx_config *cfg)
{
  FILE *f;
  char *text;
  size_t len;
  int e = 0;

  f = fopen (path, "re");
  if (!f)
    return errno;
  /* One byte more than the parser takes, so that it can say so. */
  text = malloc (MAX_CONFIG_BYTES + 1);
  if (!text) {
    fclose (f);
    return ENOMEM;
  }
  len = fread (text, 1, MAX_CONFIG_BYTES + 1, f);
  if (ferror (f))
    e = errno ? errno : EIO;
  else
    vx_config_parse (cfg, path, text, len);
  free (text);
  fclose (f);
  return e;
}

void
vx_config_free (struct vx_config *cfg)
{
  for (size_t i = 0; i < cfg->n_notes; i++)
    free (cfg->notes[i].text);
  free (cfg->notes);
  free (cfg->tmp_directory);
  free (cfg->log_file);
  *cfg = (struct vx_config) VX_CONFIG_INIT;
}

VixError
vx_config_load (const struct vx_reporter *r, const char *who,
                const char *path, struct vx_config *cfg)
{
  VixError err;
  int e;

  vx_config_free (cfg);
  if (!path || (e = vx_config_read (path, cfg)) == 0)
    return VIX_OK;
  vx_config_free (cfg);
  err = vx_report (r, VX_WARNING, vx_vix_from_errno (e),
                   "%s: configuration file %s: %s", who, path, strerror (e));
  vx_log_to (r->logger, VX_WARNING, "%s: continuing without configuration "
             "file %s", who, path);
  return err;
}

void
vx_config_apply (struct vx_logger *lg, const char *who, struct vx_config *cfg,
                 int level)
{
  if (level >= 0)
    vx_log_set_level (lg, level);
  if (cfg->log_file) {
    char path[PATH_MAX];
    int flevel = cfg->log_file_level >= 0 ? cfg->log_file_level
      : level >= 0 ? level : VX_DEFAULT_LEVEL;
    int e;

    if (cfg->log_file[0] != '/' && cfg->tmp_directory)
      snprintf (path, sizeof path, "%s/%s", cfg->tmp_directory, cfg->log_file);
    else
      snprintf (path, sizeof path, "%s", cfg->log_file);
    if ((e = vx_log_set_file (lg, path, flevel)) != 0)
      vx_log_to (lg, VX_WARNING, "%s: cannot open log file %s: %s", who, path,
                 strerror (e));
    else
      vx_log_to (lg, VX_INFO, "%s: logging to %s at level %d", who, path,
                 flevel);
  }
  flush_notes (cfg, lg);
}

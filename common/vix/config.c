/* libvixDiskLib: the configuration file of VixDiskLib_InitEx.
 *
 * Format (as VMware's): one "name = value" per line, the value optionally
 * in double quotes, spaces around "=" optional, "#" starts a comment
 * (outside quotes).  Key names compare case-insensitively.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
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

void
vx_config_flush_notes (struct vx_config *cfg)
{
  for (size_t i = 0; i < cfg->n_notes; i++) {
    vx_log (cfg->notes[i].level, "%s", cfg->notes[i].text);
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

static void
apply (struct vx_config *cfg, const char *file, unsigned lineno,
       const char *key, const char *value)
{
  int l;

  if (strcasecmp (key, "tmpDirectory") == 0) {
    struct stat st;
    if (stat (value, &st) == -1 || !S_ISDIR (st.st_mode))
      note (cfg, VX_WARNING, "%s:%u: tmpDirectory \"%s\" is not an existing "
              "directory", file, lineno, value);
    set_string (&cfg->tmp_directory, value);
  }
  else if (strcasecmp (key, "vixDiskLib.transport.LogLevel") == 0) {
    if ((l = vx_log_parse_level (value)) == -1)
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not a log level (0-6), "
              "ignored", file, lineno, key, value);
    else
      cfg->log_level = l;
  }
  else if (strcasecmp (key, "log.fileName") == 0)
    set_string (&cfg->log_file, value);
  else if (strcasecmp (key, "log.fileLevel") == 0) {
    if ((l = vx_log_parse_level (value)) == -1)
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not a log level, ignored",
              file, lineno, key, value);
    else
      cfg->log_file_level = l;
  }
  else if (strcasecmp (key, "vixmount.allowEscapingPaths") == 0) {
    if (!parse_bool (value, &cfg->allow_escape))
      note (cfg, VX_WARNING, "%s:%u: %s: \"%s\" is not TRUE or FALSE, ignored",
              file, lineno, key, value);
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

VixError
vx_config_read (const char *path, struct vx_config *cfg)
{
  FILE *f;
  char *line = NULL;
  size_t cap = 0, total = 0;
  ssize_t len;
  unsigned lineno = 0;

  f = fopen (path, "re");
  if (!f)
    return vx_fail_errno (errno, "InitEx: configuration file %s", path);
  while ((len = getline (&line, &cap, f)) != -1) {
    lineno++;
    total += (size_t) len;
    if (total > MAX_CONFIG_BYTES) {
      note (cfg, VX_WARNING, "%s: larger than %d bytes; the rest is ignored",
              path, MAX_CONFIG_BYTES);
      break;
    }
    if (len > 0 && line[len - 1] == '\n')
      line[--len] = '\0';
    if (strlen (line) != (size_t) len) {
      note (cfg, VX_WARNING, "%s:%u: NUL byte in line, ignored", path, lineno);
      continue;
    }
    parse_line (cfg, path, lineno, line);
  }
  free (line);
  fclose (f);
  return VIX_OK;
}

void
vx_config_free (struct vx_config *cfg)
{
  for (size_t i = 0; i < cfg->n_notes; i++)
    free (cfg->notes[i].text);
  free (cfg->notes);
  free (cfg->tmp_directory);
  free (cfg->log_file);
  memset (cfg, 0, sizeof *cfg);
  cfg->log_level = -1;
  cfg->log_file_level = -1;
}

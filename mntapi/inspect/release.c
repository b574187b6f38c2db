/* Guest inspection: Linux release files and ELF headers (inspect.h).
 * Buffers of guest bytes in, capped clean strings out; never fails on bad
 * input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"

char *
vx_guest_str (const char *p, size_t n)
{
  size_t k = 0;
  char *s;

  if (!p)
    return NULL;
  while (k < n && k < VX_GUEST_STR_MAX && (unsigned char) p[k] >= 0x20 && p[k] != 0x7f)
    k++;
  /* trailing blanks are never meaningful in these files */
  while (k > 0 && p[k - 1] == ' ')
    k--;
  s = malloc (k + 1);
  if (s) {
    memcpy (s, p, k);
    s[k] = '\0';
  }
  return s;
}

/* Sets *DST to a clean copy of [P, P+N) unless *DST is already set. */
static void
set_once (char **dst, const char *p, size_t n)
{
  if (!*dst && n > 0)
    *dst = vx_guest_str (p, n);
}

/* Next line of [*P, END): its start and length; *P moves past it. */
static int
next_line (const char **p, const char *end, const char **line, size_t *len)
{
  const char *s = *p, *nl;
  if (s >= end)
    return 0;
  nl = memchr (s, '\n', (size_t) (end - s));
  *line = s;
  *len = (size_t) ((nl ? nl : end) - s);
  *p = nl ? nl + 1 : end;
  return 1;
}

/* One KEY=VALUE line in the shell-like syntax os-release(5) and lsb-release
 * use: VALUE unquoted, "double" (backslash escapes \" \\ \$ \`) or 'single'.
 * Decodes VALUE into OUT (up to OUTLEN-1 bytes).  1 if the line is an
 * assignment to KEY, else 0. */
static int
assignment (const char *line, size_t len, const char *key, char *out, size_t outlen)
{
  size_t klen = strlen (key), i = 0, o = 0;
  char q = 0;

  while (i < len && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (len - i <= klen || memcmp (line + i, key, klen) != 0 || line[i + klen] != '=')
    return 0;
  for (i += klen + 1; i < len && o + 1 < outlen; i++) {
    char c = line[i];
    if (q) {
      if (c == q) { q = 0; continue; }
      if (q == '"' && c == '\\' && i + 1 < len && strchr ("\"\\$`", line[i + 1]))
        c = line[++i];
    }
    else if (c == '"' || c == '\'') { q = c; continue; }
    else if (c == '\\' && i + 1 < len) c = line[++i];
    else if (c == ' ' || c == '\t' || c == '#' || c == '\r') break;
    out[o++] = c;
  }
  out[o] = '\0';
  return 1;
}

/* First value of KEY in BUF (NULL if absent), a clean copy. */
static char *
lookup (const char *buf, size_t len, const char *key)
{
  const char *p = buf, *end = buf + len, *line;
  size_t n;
  char val[VX_GUEST_STR_MAX + 1];

  while (next_line (&p, end, &line, &n))
    if (assignment (line, n, key, val, sizeof val))
      return val[0] ? vx_guest_str (val, strlen (val)) : NULL;
  return NULL;
}

int
vx_version_split (const char *v, unsigned *major, unsigned *minor)
{
  unsigned long a = 0, b = 0;
  const char *p = v;
  int digits = 0;

  *major = *minor = 0;
  if (!v)
    return -1;
  while (*p >= '0' && *p <= '9' && digits < 9) {
    a = a * 10 + (unsigned) (*p++ - '0');
    digits++;
  }
  if (!digits)
    return -1;
  if (*p == '.') {
    p++;
    digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 9) {
      b = b * 10 + (unsigned) (*p++ - '0');
      digits++;
    }
  }
  *major = (unsigned) a;
  *minor = (unsigned) b;
  return 0;
}

static void
set_version (struct vx_guest *g, char *v)
{
  if (!v)
    return;
  if (!g->version)
    g->version = v;
  else
    free (v);
  vx_version_split (g->version, &g->major, &g->minor);
}

int
vx_osrelease_parse (const char *buf, size_t len, struct vx_guest *g)
{
  char *name = lookup (buf, len, "NAME"), *id = lookup (buf, len, "ID");
  char *variant = lookup (buf, len, "VARIANT");

  if (!name && !id) {
    free (variant);
    return -1;
  }
  if (!variant)
    variant = lookup (buf, len, "VARIANT_ID");
  if (!g->vendor) g->vendor = name ? name : (id ? strdup (id) : NULL); else free (name);
  if (!g->distro) g->distro = id; else free (id);
  if (!g->edition) g->edition = variant; else free (variant);
  if (!g->product) g->product = lookup (buf, len, "PRETTY_NAME");
  set_version (g, lookup (buf, len, "VERSION_ID"));
  return 0;
}

/* Lower-case copy of an ID such as "Ubuntu" (os-release IDs are lower case). */
static char *
lower_id (const char *s)
{
  char *d = s ? strdup (s) : NULL;
  for (char *p = d; p && *p; p++) {
    if (*p >= 'A' && *p <= 'Z')
      *p = (char) (*p - 'A' + 'a');
    else if (*p == ' ')
      *p = '-';
  }
  return d;
}

int
vx_lsbrelease_parse (const char *buf, size_t len, struct vx_guest *g)
{
  char *id = lookup (buf, len, "DISTRIB_ID");

  if (!id)
    return -1;
  if (!g->distro) g->distro = lower_id (id);
  if (!g->vendor) g->vendor = id; else free (id);
  if (!g->product) g->product = lookup (buf, len, "DISTRIB_DESCRIPTION");
  set_version (g, lookup (buf, len, "DISTRIB_RELEASE"));
  return 0;
}

/* "Red Hat Enterprise Linux Server release 7.9 (Maipo)": the name before
 * " release ", the version after it. */
static int
redhat (const char *line, size_t n, struct vx_guest *g)
{
  const char *r = NULL;
  for (size_t i = 0; i + 9 <= n; i++)
    if (!memcmp (line + i, " release ", 9)) {
      r = line + i;
      break;
    }
  if (!r || r == line)
    return -1;
  set_once (&g->vendor, line, (size_t) (r - line));
  set_once (&g->product, line, n);
  if (!g->vendor)
    return -1;
  {
    const char *v = r + 9, *e = v;
    while (e < line + n && *e != ' ')
      e++;
    set_version (g, vx_guest_str (v, (size_t) (e - v)));
  }
  if (!g->distro) {
    g->distro = strstr (g->vendor, "Red Hat") ? strdup ("rhel")
      : strstr (g->vendor, "CentOS") ? strdup ("centos")
      : strstr (g->vendor, "Fedora") ? strdup ("fedora") : lower_id (g->vendor);
  }
  return 0;
}

/* "openSUSE 13.2 (x86_64)" then "VERSION = 13.2" and "PATCHLEVEL = 0". */
static int
suse (const char *buf, size_t len, struct vx_guest *g)
{
  const char *p = buf, *end = buf + len, *line;
  size_t n;
  bool first = true;
  unsigned patch = 0;
  bool have_patch = false;

  while (next_line (&p, end, &line, &n)) {
    if (first) {
      size_t k = 0;
      first = false;
      /* the name: up to the first word that starts with a digit */
      while (k < n) {
        size_t w = k;
        while (w < n && line[w] != ' ')
          w++;
        if (k < n && line[k] >= '0' && line[k] <= '9')
          break;
        k = w < n ? w + 1 : w;
      }
      if (k == 0)
        return -1;
      set_once (&g->vendor, line, k);
      set_once (&g->product, line, n);
      if (!g->vendor)
        return -1;
      continue;
    }
    /* "KEY = VALUE": the value as a string of its own (the buffer is
     * guest bytes, not NUL-terminated) */
    const char *eq = memchr (line, '=', n);
    char *v;
    if (!eq)
      continue;
    if (!(v = vx_guest_str (eq + 1, (size_t) (line + n - eq - 1))))
      continue;
    {
      char *val = v + strspn (v, " ");
      unsigned a, b;
      if (eq - line >= 7 && !memcmp (line, "VERSION", 7) && (line[7] == ' ' || line[7] == '='))
        set_version (g, strdup (val));
      else if (eq - line >= 10 && !memcmp (line, "PATCHLEVEL", 10)
               && vx_version_split (val, &a, &b) == 0) {
        patch = a;
        have_patch = true;
      }
    }
    free (v);
  }
  if (first)
    return -1;
  if (have_patch && g->minor == 0)
    g->minor = patch;
  if (!g->distro)
    g->distro = strstr (g->vendor, "openSUSE") ? strdup ("opensuse") : strdup ("sles");
  return 0;
}

int
vx_releasefile_parse (enum vx_release_file which, const char *buf, size_t len,
                      struct vx_guest *g)
{
  const char *p = buf, *line;
  size_t n;

  if (!next_line (&p, buf + len, &line, &n) || n == 0)
    return -1;
  switch (which) {
  case VX_REL_REDHAT:
    return redhat (line, n, g);
  case VX_REL_SUSE:
    return suse (buf, len, g);
  case VX_REL_DEBIAN:
    set_once (&g->vendor, "Debian", 6);
    if (!g->distro)
      g->distro = strdup ("debian");
    /* "12.4"; a testing system says "trixie/sid": no number */
    if (line[0] >= '0' && line[0] <= '9')
      set_version (g, vx_guest_str (line, n));
    return 0;
  }
  return -1;
}

int
vx_elf_class (const unsigned char *h, size_t len, bool *is64, const char **arch)
{
  unsigned machine;

  *arch = NULL;
  if (len < 20 || memcmp (h, "\177ELF", 4) != 0 || (h[4] != 1 && h[4] != 2)
      || (h[5] != 1 && h[5] != 2))
    return -1;
  *is64 = h[4] == 2;
  machine = h[5] == 1 ? (unsigned) h[18] | (unsigned) h[19] << 8
                      : (unsigned) h[19] | (unsigned) h[18] << 8;
  switch (machine) {
  case 3: *arch = "i386"; break;
  case 62: *arch = "x86_64"; break;
  case 40: *arch = "arm"; break;
  case 183: *arch = "aarch64"; break;
  case 243: *arch = *is64 ? "riscv64" : "riscv32"; break;
  case 21: *arch = "ppc64"; break;
  case 20: *arch = "ppc"; break;
  case 22: *arch = "s390x"; break;
  }
  return 0;
}

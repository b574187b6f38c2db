/* Guest inspection: the guest's /etc/fstab, and which volume of the set
 * each entry names (inspect.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inspect.h"

/* fstab's escapes: \040 (space), \011 (tab), \012, \134 (backslash) --
 * any three octal digits.  Decodes [P, P+N) into a clean string. */
static char *
unescape (const char *p, size_t n)
{
  char buf[VX_GUEST_STR_MAX + 1];
  size_t o = 0;

  for (size_t i = 0; i < n && o < VX_GUEST_STR_MAX; i++) {
    if (p[i] == '\\' && i + 3 < n
        && p[i + 1] >= '0' && p[i + 1] <= '3' && p[i + 2] >= '0' && p[i + 2] <= '7'
        && p[i + 3] >= '0' && p[i + 3] <= '7') {
      buf[o++] = (char) ((p[i + 1] - '0') * 64 + (p[i + 2] - '0') * 8 + (p[i + 3] - '0'));
      i += 3;
    }
    else
      buf[o++] = p[i];
  }
  return vx_guest_str (buf, o);
}

void
vx_fstab_free (struct vx_fstab_entry *e, size_t n)
{
  for (size_t i = 0; e && i < n; i++) {
    free (e[i].spec);
    free (e[i].dir);
    free (e[i].type);
  }
  free (e);
}

int
vx_fstab_parse (const char *buf, size_t len, struct vx_fstab_entry **out, size_t *nout,
                size_t *bad)
{
  struct vx_fstab_entry *e = NULL;
  size_t n = 0, cap = 0;
  const char *p = buf, *end = buf + len;

  *out = NULL;
  *nout = 0;
  *bad = 0;
  while (p < end) {
    const char *nl = memchr (p, '\n', (size_t) (end - p));
    const char *le = nl ? nl : end;
    const char *f[3];
    size_t fl[3], nf = 0;
    const char *q = p;
    bool junk = false;

    /* fields: runs of non-blanks; a NUL or control byte makes the line junk */
    while (q < le) {
      while (q < le && (*q == ' ' || *q == '\t' || *q == '\r'))
        q++;
      if (q >= le || *q == '#')
        break;
      const char *s = q;
      while (q < le && *q != ' ' && *q != '\t' && *q != '\r') {
        if ((unsigned char) *q < 0x20 || *q == 0x7f)
          junk = true;
        q++;
      }
      if (nf < 3) {
        f[nf] = s;
        fl[nf] = (size_t) (q - s);
      }
      nf++;
    }
    p = nl ? nl + 1 : end;
    if (nf == 0)
      continue;                                 /* blank or comment */
    if (junk || nf < 2 || fl[0] > VX_GUEST_STR_MAX || fl[1] > VX_GUEST_STR_MAX
        || !(f[1][0] == '/' || (fl[1] == 4 && !memcmp (f[1], "swap", 4))
             || (fl[1] == 4 && !memcmp (f[1], "none", 4)))) {
      (*bad)++;
      continue;
    }
    if (n == VX_GUEST_FSTAB_MAX) {
      (*bad)++;
      continue;
    }
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      struct vx_fstab_entry *ne = realloc (e, nc * sizeof *e);
      if (!ne)
        goto oom;
      e = ne;
      cap = nc;
    }
    e[n].spec = unescape (f[0], fl[0]);
    e[n].dir = unescape (f[1], fl[1]);
    e[n].type = nf > 2 ? unescape (f[2], fl[2] > VX_GUEST_STR_MAX ? VX_GUEST_STR_MAX : fl[2])
                       : NULL;
    n++;
    if (!e[n - 1].spec || !e[n - 1].dir || (nf > 2 && !e[n - 1].type))
      goto oom;
  }
  *out = e;
  *nout = n;
  return 0;

 oom:
  vx_fstab_free (e, n);
  return -1;
}

/* After PREFIX in S: the rest, or NULL. */
static const char *
after (const char *s, const char *prefix)
{
  size_t n = strlen (prefix);
  return strncmp (s, prefix, n) ? NULL : s + n;
}

/* "/dev/sdb2" and the like: disk index and partition number (0: none). */
static int
disk_name (const char *s, unsigned *disk, int *part)
{
  static const char *const pre[] = { "/dev/sd", "/dev/vd", "/dev/xvd", "/dev/hd", NULL };
  const char *p = NULL;
  unsigned d = 0;
  int nl = 0;
  long pn = 0;

  for (size_t i = 0; pre[i] && !p; i++)
    p = after (s, pre[i]);
  if (!p)
    return -1;
  while (*p >= 'a' && *p <= 'z' && nl < 3) {
    d = nl == 0 ? (unsigned) (*p - 'a') : (d + 1) * 26 + (unsigned) (*p - 'a');
    p++;
    nl++;
  }
  if (nl == 0)
    return -1;
  while (*p >= '0' && *p <= '9' && pn < 100000)
    pn = pn * 10 + (*p++ - '0');
  if (*p)
    return -1;
  *disk = d;
  *part = (int) pn;
  return 0;
}

static bool
same (const char *a, const char *b, bool icase)
{
  return a && b && *a && (icase ? !strcasecmp (a, b) : !strcmp (a, b));
}

long
vx_fstab_match (const char *spec, const struct vx_volume *vols, size_t n)
{
  const char *x;
  enum { UUID, LABEL, PARTUUID, PARTLABEL, DMNAME, LVPATH, DISK } how;
  unsigned disk = 0;
  int part = 0;

  if (!spec)
    return -2;
  if ((x = after (spec, "UUID=")) || (x = after (spec, "/dev/disk/by-uuid/"))) how = UUID;
  else if ((x = after (spec, "LABEL=")) || (x = after (spec, "/dev/disk/by-label/"))) how = LABEL;
  else if ((x = after (spec, "PARTUUID=")) || (x = after (spec, "/dev/disk/by-partuuid/")))
    how = PARTUUID;
  else if ((x = after (spec, "PARTLABEL=")) || (x = after (spec, "/dev/disk/by-partlabel/")))
    how = PARTLABEL;
  else if ((x = after (spec, "/dev/mapper/")) || (x = after (spec, "/dev/disk/by-id/dm-name-")))
    how = DMNAME;
  else if (disk_name (spec, &disk, &part) == 0) how = DISK;
  else if ((x = after (spec, "/dev/")) && strchr (x, '/') && !strchr (strchr (x, '/') + 1, '/'))
    how = LVPATH;
  else
    return -2;                          /* tmpfs, proc, server:/export, ... */
  /* a quoted value (UUID="...") is allowed by util-linux */
  char val[VX_GUEST_STR_MAX + 1];
  if (x) {
    size_t l = strlen (x);
    if (l >= 2 && (x[0] == '"' || x[0] == '\'') && x[l - 1] == x[0]) {
      memcpy (val, x + 1, l - 2);
      val[l - 2] = '\0';
    }
    else
      snprintf (val, sizeof val, "%s", x);
  }
  for (size_t i = 0; i < n; i++) {
    const struct vx_volume *v = &vols[i];
    bool lv = v->kind == VX_VOL_LVM;
    switch (how) {
    case UUID: if (same (v->uuid, val, true)) return (long) i; break;
    case LABEL: if (same (v->label, val, false)) return (long) i; break;
    case PARTUUID: if (!lv && same (v->part_uuid, val, true)) return (long) i; break;
    case PARTLABEL: if (!lv && same (v->part_name, val, false)) return (long) i; break;
    case DMNAME: if (lv && same (vx_volume_fname (v), val, false)) return (long) i; break;
    case LVPATH: if (lv && same (v->name, val, false)) return (long) i; break;
    case DISK:
      if (!lv && v->disk == disk && v->partno == part
          && (part != 0 || v->kind == VX_VOL_WHOLE_DISK))
        return (long) i;
      break;
    }
  }
  return -1;
}

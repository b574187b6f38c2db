/* Guest inspection: Windows (inspect.h).  The registry hives of the system
 * volume, read with libhivex in the inspection child, and the drive letters
 * of SYSTEM\MountedDevices matched to the set's volumes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hivex.h>

#include "byteorder.h"
#include "inspect.h"

#define HIVE_MAX (1024ull * 1024 * 1024)   /* a bigger hive is refused */

/* ---- MountedDevices ----------------------------------------------------- */

/* The GUID's text as blkid prints a GPT PARTUUID: the first three fields
 * little-endian, the last two as bytes. */
static void
guid_text (const unsigned char *g, char out[37])
{
  snprintf (out, 37, "%08" PRIx32 "-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            le32 (g), (unsigned) le16 (g + 4), (unsigned) le16 (g + 6),
            g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

int
vx_mounted_device_decode (const char *name, const unsigned char *data, size_t len,
                          struct vx_win_letter *l)
{
  static const char pre[] = "\\DosDevices\\";
  char c;

  if (!name || strncasecmp (name, pre, sizeof pre - 1) != 0)
    return -1;
  name += sizeof pre - 1;
  c = name[0];
  if (c >= 'a' && c <= 'z')
    c = (char) (c - 'a' + 'A');
  if (c < 'A' || c > 'Z' || name[1] != ':' || name[2] != '\0')
    return -1;
  memset (l, 0, sizeof *l);
  l->letter = c;
  if (len == 12) {
    l->mbr_signature = le32 (data);
    l->offset = le64 (data + 4);
    return 0;
  }
  if (len == 24 && !memcmp (data, "DMIO:ID:", 8)) {
    l->gpt = true;
    guid_text (data + 8, l->guid);
    return 0;
  }
  return -1;
}

long
vx_win_letter_match (const struct vx_win_letter *l, const struct vx_volume *vols, size_t n)
{
  char sig[16];

  snprintf (sig, sizeof sig, "%08" PRIx32 "-", l->mbr_signature);
  for (size_t i = 0; i < n; i++) {
    const struct vx_volume *v = &vols[i];
    if (v->kind == VX_VOL_LVM || !v->part_uuid || v->nseg != 1)
      continue;
    if (l->gpt) {
      if (v->kind == VX_VOL_GPT && !strcasecmp (v->part_uuid, l->guid))
        return (long) i;
    }
    else if ((v->kind == VX_VOL_MBR_PRIMARY || v->kind == VX_VOL_MBR_LOGICAL)
             && !strncasecmp (v->part_uuid, sig, 9) && v->seg[0].offset == l->offset)
      return (long) i;
  }
  return -1;
}

/* ---- paths, the way Windows looks them up -------------------------------- */

/* ROOT/REL with each component of REL ('/'-separated) matched without
 * regard to case, as Windows does (the NTFS driver is case-sensitive).
 * OUT gets the path with the names as the volume spells them.  0 or -1. */
static int
ci_path (const char *root, const char *rel, char *out, size_t outlen)
{
  char comp[256];
  size_t ol;

  if ((size_t) snprintf (out, outlen, "%s", root) >= outlen)
    return -1;
  while (*rel) {
    size_t cl = strcspn (rel, "/");
    DIR *d;
    struct dirent *de;
    bool found = false;

    if (cl == 0 || cl >= sizeof comp) {
      if (cl == 0) {
        rel++;
        continue;
      }
      return -1;
    }
    memcpy (comp, rel, cl);
    comp[cl] = '\0';
    rel += cl;
    if (!(d = opendir (out[0] ? out : "/")))
      return -1;
    while ((de = readdir (d)) != NULL)
      if (!strcasecmp (de->d_name, comp)) {
        ol = strlen (out);
        found = (size_t) snprintf (out + ol, outlen - ol, "%s%s",
                                   ol && out[ol - 1] == '/' ? "" : "/", de->d_name)
                < outlen - ol;
        break;
      }
    closedir (d);
    if (!found)
      return -1;
  }
  return 0;
}

/* ---- the hives ----------------------------------------------------------- */

/* The hive at PATH, if it is a regular file of a sane size. */
static hive_h *
hive_open (const char *path, const char *what, struct vx_guest *g)
{
  struct stat st;
  hive_h *h;

  if (stat (path, &st) == -1 || !S_ISREG (st.st_mode)) {
    vx_guest_note (g, "%s hive: not a regular file", what);
    return NULL;
  }
  if ((uint64_t) st.st_size > HIVE_MAX) {
    vx_guest_note (g, "%s hive: larger than 1 GiB, not read", what);
    return NULL;
  }
  h = hivex_open (path, 0);
  if (!h)
    vx_guest_note (g, "%s hive: cannot be read: %s", what, strerror (errno));
  return h;
}

/* The node at PATH ('\'-separated) below NODE, or 0. */
static hive_node_h
node_at (hive_h *h, hive_node_h node, const char *path)
{
  char comp[256];

  while (node && *path) {
    size_t cl = strcspn (path, "\\");
    if (cl == 0 || cl >= sizeof comp)
      return 0;
    memcpy (comp, path, cl);
    comp[cl] = '\0';
    path += cl + (path[cl] == '\\');
    node = hivex_node_get_child (h, node, comp);
  }
  return node;
}

/* A string value (REG_SZ, REG_EXPAND_SZ), clean; NULL if absent. */
static char *
str_value (hive_h *h, hive_node_h node, const char *key)
{
  hive_value_h v;
  hive_type t;
  size_t len;
  char *s, *c;

  if (!node || !(v = hivex_node_get_value (h, node, key))
      || hivex_value_type (h, v, &t, &len) == -1
      || (t != hive_t_REG_SZ && t != hive_t_REG_EXPAND_SZ))
    return NULL;
  if (!(s = hivex_value_string (h, v)))
    return NULL;
  c = vx_guest_str (s, strlen (s));
  free (s);
  return c;
}

/* A REG_DWORD value into *OUT: 0, or -1 if absent or of another type. */
static int
dword_value (hive_h *h, hive_node_h node, const char *key, uint32_t *out)
{
  hive_value_h v;
  hive_type t;
  size_t len;

  if (!node || !(v = hivex_node_get_value (h, node, key))
      || hivex_value_type (h, v, &t, &len) == -1 || t != hive_t_REG_DWORD || len != 4)
    return -1;
  errno = 0;
  *out = (uint32_t) hivex_value_dword (h, v);
  return errno ? -1 : 0;
}

static void
read_software (hive_h *h, struct vx_guest *g)
{
  hive_node_h cv = node_at (h, hivex_root (h), "Microsoft\\Windows NT\\CurrentVersion");
  uint32_t maj, min;
  char *cur, *sysroot;

  if (!cv) {
    vx_guest_note (g, "SOFTWARE hive: no Microsoft\\Windows NT\\CurrentVersion key");
    return;
  }
  g->product = str_value (h, cv, "ProductName");
  g->edition = str_value (h, cv, "EditionID");
  g->build = str_value (h, cv, "CurrentBuild");
  if (!g->build)
    g->build = str_value (h, cv, "CurrentBuildNumber");
  cur = str_value (h, cv, "CurrentVersion");
  if (dword_value (h, cv, "CurrentMajorVersionNumber", &maj) == 0) {
    char v[32];
    if (dword_value (h, cv, "CurrentMinorVersionNumber", &min) == -1)
      min = 0;
    g->major = maj;
    g->minor = min;
    snprintf (v, sizeof v, "%" PRIu32 ".%" PRIu32, maj, min);
    g->version = strdup (v);
    free (cur);
  }
  else if (cur) {
    g->version = cur;
    vx_version_split (cur, &g->major, &g->minor);
  }
  sysroot = str_value (h, cv, "SystemRoot");
  if (sysroot && strlen (sysroot) >= 2 && sysroot[1] == ':') {
    char d[3] = { sysroot[0], ':', '\0' };
    if (d[0] >= 'a' && d[0] <= 'z')
      d[0] = (char) (d[0] - 'a' + 'A');
    g->system_drive = strdup (d);
  }
  free (sysroot);
}

static void
read_system (hive_h *h, struct vx_guest *g)
{
  hive_node_h root = hivex_root (h), cs, md;
  uint32_t cur;
  char name[32];
  hive_value_h *vals;

  if (dword_value (h, node_at (h, root, "Select"), "Current", &cur) == -1 || cur == 0
      || cur > 999) {
    vx_guest_note (g, "SYSTEM hive: no valid Select\\Current");
    cs = 0;
  }
  else {
    snprintf (name, sizeof name, "ControlSet%03" PRIu32, cur);
    if (!(cs = node_at (h, root, name)))
      vx_guest_note (g, "SYSTEM hive: Select\\Current names %s, which is missing", name);
  }
  if (cs) {
    g->arch = str_value (h, node_at (h, cs, "Control\\Session Manager\\Environment"),
                         "PROCESSOR_ARCHITECTURE");
    g->is64 = g->arch && (!strcasecmp (g->arch, "AMD64") || !strcasecmp (g->arch, "ARM64")
                          || !strcasecmp (g->arch, "IA64"));
    g->hostname = str_value (h, node_at (h, cs, "Control\\ComputerName\\ComputerName"),
                             "ComputerName");
  }
  md = node_at (h, root, "MountedDevices");
  if (md && (vals = hivex_node_values (h, md)) != NULL) {
    for (size_t i = 0; vals[i] && g->nletters < VX_GUEST_LETTERS_MAX; i++) {
      char *key = hivex_value_key (h, vals[i]);
      hive_type t;
      size_t len;
      char *data = NULL;
      struct vx_win_letter l;

      if (key && hivex_value_type (h, vals[i], &t, &len) == 0 && len <= 64)
        data = hivex_value_value (h, vals[i], &t, &len);
      if (data && vx_mounted_device_decode (key, (unsigned char *) data, len, &l) == 0) {
        struct vx_win_letter *nl = realloc (g->letters, (g->nletters + 1) * sizeof *nl);
        if (nl) {
          g->letters = nl;
          g->letters[g->nletters++] = l;
        }
      }
      free (key);
      free (data);
    }
    free (vals);
  }
}

int
vx_inspect_windows (const char *root, struct vx_guest *g)
{
  static const char *const dirs[] = { "Windows", "WINNT", NULL };
  char sysdir[4096], hive[4096];
  hive_h *h;

  for (size_t i = 0; dirs[i]; i++) {
    char rel[64];
    snprintf (rel, sizeof rel, "%s/System32/config/SOFTWARE", dirs[i]);
    if (ci_path (root, dirs[i], sysdir, sizeof sysdir) == 0
        && ci_path (root, rel, hive, sizeof hive) == 0)
      break;
    sysdir[0] = '\0';
  }
  if (!sysdir[0])
    return -1;
  g->kind = VX_GUEST_WINDOWS;
  g->vendor = strdup ("Microsoft");
  g->distro = strdup ("windows");
  {
    const char *base = strrchr (sysdir, '/');
    g->os_folder = vx_guest_str (base + 1, strlen (base + 1));
  }
  if ((h = hive_open (hive, "SOFTWARE", g)) != NULL) {
    read_software (h, g);
    hivex_close (h);
  }
  {
    char rel[4200];
    snprintf (rel, sizeof rel, "%s/System32/config/SYSTEM", strrchr (sysdir, '/') + 1);
    if (ci_path (root, rel, hive, sizeof hive) == -1)
      vx_guest_note (g, "SYSTEM hive: not found");
    else if ((h = hive_open (hive, "SYSTEM", g)) != NULL) {
      read_system (h, g);
      hivex_close (h);
    }
  }
  return 0;
}

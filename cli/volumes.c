/* vixmount list, vixmount inspect: the volumes of a disk set, and what is
 * known of the guest operating system on it. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vixmount.h"

struct view_opts {
  bool json, bytes, no_inspect, volume_map;
  const char *config;
};

/* Options shared by list and inspect; the index of the first DISK, or -1
 * (*rc: the exit status). */
static int
parse_view_opts (const struct cli_command *c, int argc, char **argv, struct view_opts *o,
                 int *rc)
{
  enum { O_JSON = 256, O_CONFIG, O_NO_INSPECT, O_MAP };
  static const struct option longopts[] = {
    { "json", no_argument, NULL, O_JSON },
    { "no-inspect", no_argument, NULL, O_NO_INSPECT },
    { "volume-map", no_argument, NULL, O_MAP },
    { "bytes", no_argument, NULL, 'b' },
    { "config", required_argument, NULL, O_CONFIG },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int ch;

  memset (o, 0, sizeof *o);
  while ((ch = getopt_long (argc, argv, ":bvh", longopts, NULL)) != -1) {
    switch (ch) {
    case O_JSON: o->json = true; break;
    case O_MAP:
      if (strcmp (c->name, "list") != 0) {
        *rc = cli_bad_option (c, '?', argv);
        return -1;
      }
      o->volume_map = true;
      o->no_inspect = true;     /* the map needs no guest inspection */
      break;
    case 'b': o->bytes = true; break;
    case O_CONFIG: o->config = optarg; break;
    case O_NO_INSPECT:
      if (strcmp (c->name, "list") != 0) {
        *rc = cli_bad_option (c, '?', argv);
        return -1;
      }
      o->no_inspect = true;
      break;
    case 'v': cli_verbose = true; break;
    case 'h': *rc = cli_help (c); return -1;
    default: *rc = cli_bad_option (c, ch, argv); return -1;
    }
  }
  if (optind >= argc) {
    *rc = cli_usage (c, "no DISK given");
    return -1;
  }
  return optind;
}

const char *
cli_volume_type (const VixmountVolumeDetails *d)
{
  switch (d->type) {
  case VIXMNTAPI_BASIC_PARTITION: return "mbr";
  case VIXMNTAPI_GPT_PARTITION: return "gpt";
  case VIXMNTAPI_DYNAMIC_VOLUME: return "dynamic";
  case VIXMNTAPI_LVM_VOLUME: return "lvm";
  default: return d->partitionNumber == 0 ? "disk" : "unknown";
  }
}

/* ---- JSON ---------------------------------------------------------------- */

static void
json_disks (FILE *f, char *const *disks, size_t n)
{
  fputs ("\"disks\": [", f);
  for (size_t i = 0; i < n; i++) {
    fputs (i ? ", " : "", f);
    vx_json_string (f, disks[i]);
  }
  fputs ("]", f);
}

static void
json_volumes (FILE *f, const struct cli_set *s)
{
  fputs ("\"volumes\": [", f);
  for (size_t k = 0; k < s->n; k++) {
    const VixmountVolumeDetails *d = s->det[k];
    const VixVolumeInfo *i = s->info[k];
    fprintf (f, "%s\n  {\"id\": ", k ? "," : "");
    vx_json_string (f, d->name);
    fprintf (f, ", \"type\": \"%s\", \"vixType\": %d, \"disk\": %" PRIu32
             ", \"partition\": %" PRId32 ", \"start\": %" PRIu64 ", \"size\": %" PRIu64
             ",\n   \"filesystem\": ", cli_volume_type (d), (int) d->type, d->disk,
             d->partitionNumber, d->offset, d->length);
    vx_json_string (f, d->fsType);
    cli_json_field (f, ", \"label\": ", d->label);
    cli_json_field (f, ", \"uuid\": ", d->uuid);
    cli_json_field (f, ",\n   \"partitionType\": ", d->partType);
    cli_json_field (f, ", \"partitionUuid\": ", d->partUuid);
    cli_json_field (f, ", \"partitionName\": ", d->partName);
    fprintf (f, ",\n   \"mountable\": %s, \"notMountableReason\": ",
             d->mountable ? "true" : "false");
    vx_json_string (f, d->mountable ? NULL : d->notMountableReason);
    fputs (", \"guestMountPoints\": [", f);
    for (size_t m = 0; m < i->numGuestMountPoints; m++) {
      fputs (m ? ", " : "", f);
      vx_json_string (f, i->inGuestMountPoints[m]);
    }
    fputs ("]}", f);
  }
  fputs (s->n ? "\n]" : "]", f);
}

/* ---- tables --------------------------------------------------------------- */

/* A cell: the text, or "-" for none; blanks and control characters in guest
 * strings become '?' so that columns stay columns. */
static const char *
cell (const char *s, char *buf, size_t len)
{
  size_t k = 0;

  if (!s || !*s)
    return "-";
  for (; s[k] && k < len - 1; k++)
    buf[k] = (unsigned char) s[k] <= ' ' || s[k] == 0x7f ? '?' : s[k];
  buf[k] = '\0';
  return buf;
}

#define NCOLS 9

static void
table_volumes (FILE *f, const struct cli_set *s, bool bytes, const char *indent)
{
  static const char *const head[NCOLS] = { "VOLUME", "TYPE", "START", "SIZE", "FILESYSTEM",
                                           "LABEL", "UUID", "GUEST MOUNT POINT", "NOTE" };
  char (*text)[NCOLS][128] = calloc (s->n + 1, sizeof *text);
  size_t width[NCOLS];

  if (!text) {
    cli_error ("out of memory");
    return;
  }
  for (size_t c = 0; c < NCOLS; c++)
    snprintf (text[0][c], sizeof text[0][c], "%s", head[c]);
  for (size_t k = 0; k < s->n; k++) {
    const VixmountVolumeDetails *d = s->det[k];
    const VixVolumeInfo *i = s->info[k];
    char (*t)[128] = text[k + 1], b[128];
    snprintf (t[0], sizeof t[0], "%s", cell (d->name, b, sizeof b));
    snprintf (t[1], sizeof t[1], "%s", cli_volume_type (d));
    if (bytes) {
      snprintf (t[2], sizeof t[2], "%" PRIu64, d->offset);
      snprintf (t[3], sizeof t[3], "%" PRIu64, d->length);
    }
    else {
      cli_human_size (d->offset, t[2], sizeof t[2]);
      cli_human_size (d->length, t[3], sizeof t[3]);
    }
    snprintf (t[4], sizeof t[4], "%s", cell (d->fsType, b, sizeof b));
    snprintf (t[5], sizeof t[5], "%s", cell (d->label, b, sizeof b));
    snprintf (t[6], sizeof t[6], "%s", cell (d->uuid, b, sizeof b));
    {
      char mp[128] = "";
      size_t used = 0;
      for (size_t m = 0; m < i->numGuestMountPoints && used < sizeof mp; m++)
        used += (size_t) snprintf (mp + used, sizeof mp - used, "%s%s", m ? "," : "",
                                   i->inGuestMountPoints[m]);
      snprintf (t[7], sizeof t[7], "%s", cell (mp, b, sizeof b));
    }
    /* the reason may have blanks: it is the last column */
    snprintf (t[8], sizeof t[8], "%s", d->mountable ? "" : d->notMountableReason
              ? d->notMountableReason : "not mountable");
  }
  for (size_t c = 0; c < NCOLS; c++) {
    width[c] = 0;
    for (size_t k = 0; k <= s->n; k++)
      if (strlen (text[k][c]) > width[c])
        width[c] = strlen (text[k][c]);
  }
  for (size_t k = 0; k <= s->n; k++) {
    char line[NCOLS * 130] = "";
    size_t used = 0;
    for (size_t c = 0; c < NCOLS; c++) {
      bool right = c == 2 || c == 3;
      used += (size_t) snprintf (line + used, sizeof line - used, "%s%*s",
                                 c ? "  " : "", right ? (int) width[c] : -(int) width[c],
                                 text[k][c]);
    }
    while (used > 0 && line[used - 1] == ' ')   /* no trailing blanks */
      line[--used] = '\0';
    fprintf (f, "%s%s\n", indent, line);
  }
  free (text);
}

/* ---- list ------------------------------------------------------------------ */

static void
close_view (char **disks, size_t n, struct cli_set *s)
{
  cli_set_close (s);
  VixMntapi_Exit ();
  cli_free_strings (disks, n);
}

/* Both commands: resolve the disks, initialise, open the set read-only;
 * then, unless --no-inspect, inspect the guest (*INSP, NULL if that failed:
 * a warning says why) so that the volumes carry their guest mount points. */
static int
open_view (int argc, char **argv, int first, const struct view_opts *o, char ***disks,
           struct cli_set *s, VixmountInspection **insp)
{
  size_t n = (size_t) (argc - first);
  int r;

  if (!cli_need_root (argv[0], "disk sets are read through a FUSE bridge"))
    return 1;
  if (!(*disks = cli_real_paths (argv + first, n)))
    return 1;
  if ((r = cli_mntapi_init (o->config)) != 0) {
    cli_free_strings (*disks, n);
    return r;
  }
  if ((r = cli_set_open (*disks, n, false, s)) != 0) {
    VixMntapi_Exit ();
    cli_free_strings (*disks, n);
    return r;
  }
  *insp = NULL;
  if (!o->no_inspect) {
    VixError e = Vixmount_Inspect (s->set, insp);
    if (VIX_FAILED (e)) {
      cli_error ("warning: guest inspection failed: %s", cli_vix_text (e));
      *insp = NULL;
    }
    for (size_t k = 0; k < s->n && *insp; k++)
      if (cli_set_refresh (s, k) != 0) {
        Vixmount_FreeInspection (*insp);
        close_view (*disks, n, s);
        return 1;
      }
  }
  return 0;
}

int
cli_list (const struct cli_command *c, int argc, char **argv)
{
  struct view_opts o;
  struct cli_set s;
  VixmountInspection *insp;
  char **disks;
  int first, r = 0;

  if ((first = parse_view_opts (c, argc, argv, &o, &r)) < 0)
    return r;
  if ((r = open_view (argc, argv, first, &o, &disks, &s, &insp)) != 0)
    return r;
  Vixmount_FreeInspection (insp);
  if (o.volume_map)
    r = cli_volume_map (stdout, &s, NULL, NULL);
  else if (o.json) {
    printf ("{\"command\": \"list\", \"schemaVersion\": %d, ", CLI_SCHEMA_VERSION);
    json_disks (stdout, disks, (size_t) (argc - first));
    fputs (",\n", stdout);
    json_volumes (stdout, &s);
    fputs ("}\n", stdout);
  }
  else
    table_volumes (stdout, &s, o.bytes, "");
  close_view (disks, (size_t) (argc - first), &s);
  return r;
}

/* ---- inspect ----------------------------------------------------------------- */

static const char *
os_family (VixOsFamily f)
{
  switch (f) {
  case VIXMNTAPI_NO_OS: return "none";
  case VIXMNTAPI_WINDOWS: return "windows";
  default: return "other";
  }
}

/* A JSON string field, or null. */
static void
jstr (const char *name, const char *v)
{
  printf (", \"%s\": ", name);
  vx_json_string (stdout, v);
}

static void
json_inspection (const VixmountInspection *r, const char *error)
{
  bool os = r && r->family != VIXMNTAPI_NO_OS;

  printf (",\n\"osInspection\": {\"available\": %s, \"error\": ", os ? "true" : "false");
  vx_json_string (stdout, os ? NULL : r ? r->noOsReason : error);
  fputs (", \"notes\": [", stdout);
  for (const char *n = r ? r->notes : NULL, *nl; n && *n; n = nl ? nl + 1 : n + strlen (n)) {
    char line[1024];
    nl = strchr (n, '\n');
    snprintf (line, sizeof line, "%.*s", nl ? (int) (nl - n) : (int) strlen (n), n);
    fputs (n != r->notes ? ", " : "", stdout);
    vx_json_string (stdout, line);
  }
  fputs ("]},\n\"os\": ", stdout);
  if (!os) {
    fputs ("null", stdout);
    return;
  }
  printf ("{\"family\": \"%s\", \"majorVersion\": %" PRIu32 ", \"minorVersion\": %" PRIu32
          ", \"is64Bit\": %s", os_family (r->family), r->majorVersion, r->minorVersion,
          r->osIs64Bit ? "true" : "false");
  jstr ("vendor", r->vendor);
  jstr ("edition", r->edition);
  jstr ("osFolder", r->osFolder);
  jstr ("distribution", r->distribution);
  jstr ("productName", r->productName);
  jstr ("version", r->version);
  jstr ("build", r->build);
  jstr ("hostname", r->hostname);
  jstr ("architecture", r->architecture);
  jstr ("systemVolume", r->systemVolume);
  fputs ("}", stdout);
}

static void
text_inspection (const VixmountInspection *r, const char *error)
{
  printf ("Operating system:\n");
  if (!r || r->family == VIXMNTAPI_NO_OS) {
    printf ("  none found: %s\n", r ? r->noOsReason : error);
  }
  else {
#define F(label, v) printf ("  %-14s %s\n", label, (v) && *(v) ? (v) : "-")
    printf ("  %-14s %s (%s)\n", "family:", os_family (r->family),
            r->osIs64Bit ? "64-bit" : "32-bit");
    F ("product:", r->productName);
    F ("vendor:", r->vendor);
    F ("edition:", r->edition);
    printf ("  %-14s %" PRIu32 ".%" PRIu32 "%s%s%s\n", "version:", r->majorVersion,
            r->minorVersion, r->version ? " (" : "", r->version ? r->version : "",
            r->version ? ")" : "");
    if (r->build)
      F ("build:", r->build);
    F ("distribution:", r->distribution);
    F ("architecture:", r->architecture);
    F ("hostname:", r->hostname);
    F ("system volume:", r->systemVolume);
#undef F
  }
  if (r && r->notes) {
    printf ("Notes:\n");
    for (const char *n = r->notes, *nl; *n; n = nl ? nl + 1 : n + strlen (n)) {
      nl = strchr (n, '\n');
      printf ("  %.*s\n", nl ? (int) (nl - n) : (int) strlen (n), n);
    }
  }
}

int
cli_inspect (const struct cli_command *c, int argc, char **argv)
{
  struct view_opts o;
  struct cli_set s;
  VixmountInspection *insp;
  char **disks;
  const char *error = "guest inspection failed";
  int first, r = 0;
  size_t n;

  if ((first = parse_view_opts (c, argc, argv, &o, &r)) < 0)
    return r;
  if ((r = open_view (argc, argv, first, &o, &disks, &s, &insp)) != 0)
    return r;
  n = (size_t) (argc - first);
  if (o.json) {
    printf ("{\"command\": \"inspect\", \"schemaVersion\": %d, ", CLI_SCHEMA_VERSION);
    json_disks (stdout, disks, n);
    json_inspection (insp, error);
    fputs (",\n", stdout);
    json_volumes (stdout, &s);
    fputs ("}\n", stdout);
  }
  else {
    printf ("Disks:\n");
    for (size_t i = 0; i < n; i++)
      printf ("  d%zu  %s\n", i, disks[i]);
    text_inspection (insp, error);
    printf ("Volumes:\n");
    table_volumes (stdout, &s, o.bytes, "  ");
  }
  Vixmount_FreeInspection (insp);
  close_view (disks, n, &s);
  return 0;
}

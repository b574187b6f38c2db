/* vixmount: the command line an administrator uses (vixmount.h, vixmount(1)).
 *
 *   vixmount COMMAND [OPTIONS] ARGS...
 *
 * This file: the command table, help and messages, and what the commands
 * share (library set-up, opening a disk set, finding a volume).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <getopt.h>
#include <unistd.h>

#include "json.h"
#include "vix.h"
#include "vixmount.h"

static const struct cli_command commands[] = {
  { "list", "[--json | --volume-map] [--bytes] [--no-inspect] [--config FILE] DISK...",
    "List the volumes of the disk set made of the DISKs (VMDK files, in the\n"
    "guest's disk order): volume id, type, start, size, filesystem, label,\n"
    "UUID and the guest's mount points (from its /etc/fstab, or its drive\n"
    "letters: guest inspection, as `vixmount inspect` does it).\n"
    "\n"
    "  --json          print JSON (docs/vixmount.schema.json, \"list\")\n"
    "  --volume-map    print the volume map the nbdkit plugin's volumes= reads\n"
    "                  (every volume's segments on the disks; `vixmount serve`)\n"
    "  -b, --bytes     start and size in bytes, not in K/M/G\n"
    "  --no-inspect    do not inspect the guest (no guest mount points; no\n"
    "                  volume is mounted, not even read-only for a moment)\n"
    "  --config FILE   a VixDiskLib/VixMntapi configuration file (tmpDirectory)\n"
    "  -v, --verbose   show the libraries' log on stderr\n"
    "\n"
    "Needs root: the disks are read through a FUSE bridge.\n",
    cli_list },
  { "inspect", "[--json] [--bytes] [--config FILE] DISK...",
    "What is known about the guest on the DISKs: its operating system\n"
    "(family, product, vendor, edition, version, build, distribution,\n"
    "architecture, hostname, the volume it is installed on; or why none was\n"
    "found), what inspection could not read, and its volumes with their\n"
    "guest mount points, as `vixmount list` shows them.  Linux guests:\n"
    "/etc/os-release (or its older equivalents), /etc/hostname, /etc/fstab;\n"
    "Windows guests: the SOFTWARE and SYSTEM registry hives.  Volumes are\n"
    "mounted read-only for a moment to read them; nothing is written.\n"
    "\n"
    "  --json          print JSON (docs/vixmount.schema.json, \"inspect\")\n"
    "  -b, --bytes     start and size in bytes\n"
    "  --config FILE   a configuration file\n"
    "  -v, --verbose   show the libraries' log on stderr\n",
    cli_inspect },
  { "mount", "[--rw] [--config FILE] {DISK... VOLUME | --guest DISK...} DIR",
    "Mount one VOLUME of the disk set on the empty directory DIR, read-only\n"
    "(the VMDK files are never written; a dirty journal is replayed into a\n"
    "private overlay) unless --rw.  VOLUME is a volume id from `vixmount\n"
    "list` (d0p1), LABEL=label or UUID=uuid.  The mount outlives the command:\n"
    "a small process (`vixmount: mount DIR`) holds the disk set, the disks'\n"
    "locks and the mount until `vixmount umount DIR`.\n"
    "\n"
    "With --guest, the guest's whole tree as it mounts it itself (guest\n"
    "inspection, as `vixmount inspect` shows it): its root on DIR, every\n"
    "other volume with a guest mount point on DIR/MOUNTPOINT (/boot/efi,\n"
    "/home), parents first; a volume the guest mounts at several places, at\n"
    "the first.  Nothing is created in the guest: a volume whose mount point\n"
    "has no directory (or is a symlink) there is left out with a warning.\n"
    "Windows guests: the system drive on DIR; the other drives are left out\n"
    "(a warning names them).  No operating system found: exit 1.\n"
    "\n"
    "  --rw            mount read-write (the disks are locked exclusively)\n"
    "  --guest         mount the guest's tree below DIR (DISK... DIR, no VOLUME)\n"
    "  --config FILE   a configuration file\n"
    "  -v, --verbose   say what was mounted\n",
    cli_mount },
  { "umount", "[--force] DIR",
    "Unmount what `vixmount mount` mounted on DIR (a guest's whole tree, the\n"
    "deepest first) and release everything it took: the mounts, the loop\n"
    "devices, the FUSE bridge, nbdkit, the disks' locks and the mount process.\n"
    "\n"
    "  -f, --force     detach the mount even if files on it are open\n",
    cli_umount },
  { "status", "[--json]",
    "List what `vixmount mount` has mounted: directory, volume, filesystem,\n"
    "mode, the process holding it, its disk set and disks.  A guest mount's\n"
    "volume is \"guest:\" and its volumes (guest:d0p1,d0p2), its filesystem\n"
    "theirs (ext4,vfat).\n"
    "\n"
    "  --json          print JSON (docs/vixmount.schema.json, \"status\")\n",
    cli_status },
  { "cleanup", "[--config FILE] [TMPDIRECTORY]",
    "Remove what processes that died left behind: mounts, loop devices, FUSE\n"
    "bridges and nbdkit processes of their disk sets (also those of `vixmount\n"
    "mount` processes that were killed).  TMPDIRECTORY, or the tmpDirectory\n"
    "of FILE, is where the programs' configuration put their sets.\n",
    cli_cleanup },
  { "serve", "[--tcp ADDR:PORT | --unix PATH] [--tls-psk FILE | --tls-certs DIR\n"
    "               [--tls-verify-peer]] [--insecure] [--rw | --cow] [--no-volumes] [--json] DISK...",
    "Serve the disk set over NBD until SIGINT or SIGTERM: one export per disk\n"
    "(\"0\", \"1\", ...) and one per volume (its id from `vixmount list`: d0p1,\n"
    "VG/LV), which another host attaches with any NBD client (nbd-client,\n"
    "qemu-img, qemu-nbd, nbdcopy, nbdfuse, nbdinfo).  Prints each export's URI.\n"
    "Runs nbdkit with the VMDK plugin; the volumes are found first, through the\n"
    "library (needs root; --no-volumes serves the disks only, without root).\n"
    "\n"
    "  --tcp ADDR:PORT  listen on ADDR (127.0.0.1, 0.0.0.0, [::1]) and PORT;\n"
    "                   needs TLS unless --insecure\n"
    "  --unix PATH      listen on the Unix socket PATH (TLS optional)\n"
    "  --tls-psk FILE   TLS with the pre-shared keys of FILE (psktool -u NAME -p FILE)\n"
    "  --tls-certs DIR  TLS with the X.509 certificates of DIR (ca-cert.pem,\n"
    "                   server-cert.pem, server-key.pem: nbdkit-tls(1))\n"
    "  --tls-verify-peer  with --tls-certs: clients must show a certificate of\n"
    "                   that CA (ca-cert.pem)\n"
    "  --insecure       serve TCP without TLS: anyone who reaches the port reads\n"
    "  --cow            clients may write; their writes land in a private overlay\n"
    "                   that vanishes with the server, never in the VMDKs\n"
    "  --rw             clients write to the VMDK files themselves\n"
    "  --no-volumes     only the disks' exports\n"
    "  --json           print the exports as JSON (docs/vixmount.schema.json)\n"
    "  --config FILE    a configuration file\n"
    "  -v, --verbose    the libraries' and nbdkit's log on stderr\n"
    "\n"
    "Read-only unless --cow or --rw: a read-only export refuses writes.\n",
    cli_serve },
  { "info", "[--json] [--single-link] DISK...",
    "What the VMDK engine reads from each DISK: format, capacity, CID, parent,\n"
    "extents, disk database, allocation and warnings of every link of its\n"
    "snapshot chain.  Needs no root.\n"
    "\n"
    "  --json          print JSON (docs/vixmount.schema.json, \"info\")\n"
    "  --single-link   only the link named, not its parents\n",
    cli_info },
  { "convert", "[--type TYPE] [--adapter A] [--overwrite] [--config FILE] SRC DST",
    "Copy the disk SRC (with its whole snapshot chain, flattened) to a new\n"
    "disk DST of TYPE through VixDiskLib_Clone.  On a terminal, progress is\n"
    "shown on stderr (percent, rate, time left); otherwise nothing.\n"
    "\n"
    "  -t, --type TYPE     monolithicSparse, monolithicFlat, twoGbMaxExtentSparse,\n"
    "                      twoGbMaxExtentFlat, streamOptimized (default: SRC's)\n"
    "  -a, --adapter A     ide, buslogic, lsilogic (default: SRC's)\n"
    "  --overwrite         replace DST if it exists\n"
    "  --config FILE       a configuration file\n",
    cli_convert },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

bool cli_verbose;

static void
usage (FILE *f)
{
  fprintf (f, "Usage: vixmount COMMAND [OPTIONS] ARGS...\n"
           "Read, mount and convert the VMDK disks of virtual machines.\n\nCommands:\n");
  for (size_t i = 0; i < NCOMMANDS; i++)
    fprintf (f, "  %-8s %s\n", commands[i].name, commands[i].synopsis);
  fprintf (f, "\n`vixmount COMMAND --help` tells more; see also vixmount(1).\n"
           "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

void
cli_error (const char *fmt, ...)
{
  va_list ap;

  fflush (stdout);
  fputs ("vixmount: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

int
cli_usage (const struct cli_command *c, const char *fmt, ...)
{
  va_list ap;

  fprintf (stderr, "vixmount %s: ", c->name);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fprintf (stderr, "\nUsage: vixmount %s %s\nTry 'vixmount %s --help'.\n", c->name,
           c->synopsis, c->name);
  return 2;
}

int
cli_bad_option (const struct cli_command *c, int ch, char **argv)
{
  const char *opt = argv[optind - 1];

  if (optopt && !(opt[0] == '-' && opt[1] == '-'))
    return cli_usage (c, ch == ':' ? "option '-%c' needs a value" : "unknown option '-%c'",
                      optopt);
  return cli_usage (c, ch == ':' ? "option '%s' needs a value" : "unknown option '%s'", opt);
}

int
cli_help (const struct cli_command *c)
{
  printf ("Usage: vixmount %s %s\n%s", c->name, c->synopsis, c->help);
  return 0;
}

const char *
cli_vix_text (VixError e)
{
  static char buf[1536];
  const char *fixed = vx_error_text (VIX_ERROR_CODE (e));
  char *text = VixDiskLib_GetErrorText (e, NULL), *p;
  size_t k;

  if (!text) {
    snprintf (buf, sizeof buf, "%s", fixed ? fixed : "out of memory");
    return buf;
  }
  p = text;
  /* "<fixed text>: <detail>": the detail, without the function's name */
  if (fixed && strncmp (p, fixed, strlen (fixed)) == 0 && p[strlen (fixed)] == ':') {
    p += strlen (fixed) + 2;
    /* "Name: " or "Name (what): " */
    for (k = 0; isalpha ((unsigned char) p[k]); k++)
      ;
    if (k > 0 && p[k] == ' ' && p[k + 1] == '(' && strchr (p + k, ')'))
      k = (size_t) (strchr (p + k, ')') - p) + 1;
    if (k > 0 && p[k] == ':' && p[k + 1] == ' ')
      p += k + 2;
  }
  snprintf (buf, sizeof buf, "%s", p);
  buf[strcspn (buf, "\n")] = '\0';
  VixDiskLib_FreeErrorText (text);
  return buf;
}

int
cli_vix_error (VixError e, const char *prefix)
{
  if (prefix)
    cli_error ("%s: %s", prefix, cli_vix_text (e));
  else
    cli_error ("%s", cli_vix_text (e));
  return 1;
}

bool
cli_need_root (const char *what, const char *why)
{
  if (geteuid () == 0)
    return true;
  cli_error ("%s needs root (%s)", what, why);
  return false;
}

void
cli_free_strings (char **s, size_t n)
{
  for (size_t i = 0; s && i < n; i++)
    free (s[i]);
  free (s);
}

char **
cli_real_paths (char *const *paths, size_t n)
{
  char **r = calloc (n ? n : 1, sizeof *r);

  if (!r) {
    cli_error ("out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (!(r[i] = realpath (paths[i], NULL))) {
      cli_error ("%s: %s", paths[i], strerror (errno));
      cli_free_strings (r, i);
      return NULL;
    }
  }
  return r;
}

const char *
cli_human_size (uint64_t bytes, char *buf, size_t len)
{
  static const char units[] = "BKMGTPE";
  unsigned u = 0;
  uint64_t whole = bytes, rest = 0;

  while (whole >= 1024 && u < sizeof units - 2) {
    rest = whole % 1024;
    whole /= 1024;
    u++;
  }
  if (u > 0 && whole < 10) {
    /* one decimal, rounded: 1.5G */
    unsigned tenth = (unsigned) ((rest * 10 + 512) / 1024);
    if (tenth == 10) {
      whole++;
      tenth = 0;
    }
    if (whole < 10) {
      snprintf (buf, len, "%u.%u%c", (unsigned) whole, tenth, units[u]);
      return buf;
    }
  }
  else if (u > 0 && rest >= 512)
    whole++;
  snprintf (buf, len, "%llu%c", (unsigned long long) whole, units[u]);
  return buf;
}

void
cli_json_field (FILE *f, const char *prefix, const char *s)
{
  fputs (prefix, f);
  vx_json_string (f, s);
}

void
cli_log (const char *fmt, va_list ap)
{
  char line[2048];
  size_t n;

  if (!cli_verbose)
    return;
  vsnprintf (line, sizeof line, fmt, ap);
  n = strlen (line);
  while (n > 0 && line[n - 1] == '\n')
    line[--n] = '\0';
  fprintf (stderr, "vixmount: %s\n", line);
}

int
cli_mntapi_init (const char *config)
{
  VixError e = VixMntapi_Init (VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION, cli_log,
                               cli_log, cli_log, NULL, config);
  if (VIX_FAILED (e))
    return cli_vix_error (e, config);
  return 0;
}

/* ---- an open disk set ------------------------------------------------------ */

int
cli_set_open (char *const *disks, size_t ndisks, bool rw, struct cli_set *s)
{
  VixError e;

  memset (s, 0, sizeof *s);
  e = VixMntapi_OpenDisks (NULL, (const char **) disks, ndisks,
                           rw ? 0 : VIXDISKLIB_FLAG_OPEN_READ_ONLY, &s->set);
  if (VIX_FAILED (e))
    return cli_vix_error (e, NULL);
  e = VixMntapi_GetVolumeHandles (s->set, &s->n, &s->vh);
  if (VIX_FAILED (e))
    goto fail;
  s->det = calloc (s->n + 1, sizeof *s->det);
  s->info = calloc (s->n + 1, sizeof *s->info);
  if (!s->det || !s->info) {
    cli_set_close (s);
    cli_error ("out of memory");
    return 1;
  }
  for (size_t k = 0; k < s->n; k++) {
    if (VIX_FAILED (e = Vixmount_GetVolumeDetails (s->vh[k], &s->det[k]))
        || VIX_FAILED (e = VixMntapi_GetVolumeInfo (s->vh[k], &s->info[k])))
      goto fail;
  }
  return 0;

 fail:
  cli_vix_error (e, NULL);
  cli_set_close (s);
  return 1;
}

int
cli_set_refresh (struct cli_set *s, size_t k)
{
  VixVolumeInfo *i = NULL;
  VixError e = VixMntapi_GetVolumeInfo (s->vh[k], &i);

  if (VIX_FAILED (e))
    return cli_vix_error (e, s->det[k]->name);
  VixMntapi_FreeVolumeInfo (s->info[k]);
  s->info[k] = i;
  return 0;
}

void
cli_set_close (struct cli_set *s)
{
  for (size_t k = 0; k < s->n; k++) {
    if (s->det)
      Vixmount_FreeVolumeDetails (s->det[k]);
    if (s->info)
      VixMntapi_FreeVolumeInfo (s->info[k]);
  }
  free (s->det);
  free (s->info);
  if (s->vh)
    VixMntapi_FreeVolumeHandles (s->vh);
  if (s->set)
    VixMntapi_CloseDiskSet (s->set);
  memset (s, 0, sizeof *s);
}

long
cli_set_find (const struct cli_set *s, const char *spec)
{
  const char *want = spec;
  int field = 0;                         /* 0 id, 1 label, 2 uuid */
  char names[512] = "";
  size_t used = 0;

  if (!strncasecmp (spec, "LABEL=", 6))
    field = 1, want = spec + 6;
  else if (!strncasecmp (spec, "UUID=", 5))
    field = 2, want = spec + 5;
  for (size_t k = 0; k < s->n; k++) {
    const VixmountVolumeDetails *d = s->det[k];
    const char *have = field == 0 ? d->name : field == 1 ? d->label : d->uuid;
    if (have && (field == 2 ? strcasecmp (have, want) : strcmp (have, want)) == 0)
      return (long) k;
  }
  for (size_t k = 0; k < s->n && used < sizeof names - 1; k++) {
    int r = snprintf (names + used, sizeof names - used, "%s%s", k ? ", " : "",
                      s->det[k]->name);
    used += r > 0 ? (size_t) r : 0;
  }
  cli_error ("%s: no such volume in the disk set (volumes: %s)", spec,
             s->n ? names : "none");
  return -1;
}

/* ---- main ------------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  const char *name;

  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  name = argv[1];
  opterr = 0;                  /* cli_bad_option says it */
  if (!strcmp (name, "-h") || !strcmp (name, "--help") || !strcmp (name, "help")) {
    if (argc > 2 && strcmp (name, "help") == 0)
      for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp (argv[2], commands[i].name))
          return cli_help (&commands[i]);
    usage (stdout);
    return 0;
  }
  if (!strcmp (name, "--version")) {
    printf ("vixmount %s\n", PACKAGE_VERSION);
    return 0;
  }
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp (name, commands[i].name) == 0) {
      int r = commands[i].run (&commands[i], argc - 1, argv + 1);
      if (fflush (stdout) == EOF && r == 0) {
        cli_error ("writing to standard output: %s", strerror (errno));
        r = 1;
      }
      return r;
    }
  }
  fprintf (stderr, "vixmount: unknown command '%s'\n", name);
  usage (stderr);
  return 2;
}

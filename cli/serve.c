/* vixmount serve: a disk set's disks and volumes as NBD exports for other
 * hosts, through nbdkit and the VMDK plugin.
 *
 * The volumes are found here, not in the plugin: discovery needs file
 * descriptors for libblkid, so the set is opened through libvixMntapi (its
 * FUSE or kernel bridge), every volume's segments written to a volume map
 * (common/utils/segtext.h) and the set closed again.  Then nbdkit runs in
 * the foreground with the plugin given every disk (file=) and the map
 * (volumes=) until SIGINT or SIGTERM; nothing of the set runs meanwhile
 * but nbdkit.  Read-only (nbdkit -r) unless --cow (clients write to the
 * plugin's overlays, never to the VMDKs) or --rw (to the VMDKs).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "parse.h"
#include "segtext.h"
#include "vixmount.h"
#include "vmdk.h"

struct serve_opts {
  const char *tcp, *unix_path, *psk, *certs, *config;
  bool insecure, rw, cow, json, no_volumes, verify_peer;
};

static volatile sig_atomic_t got_signal;

static void
on_signal (int sig)
{
  got_signal = sig;
}

/* "partition 1 of disk 0, ext4, LABEL=root" / "LVM vg/lv, striped, 2
 * segments on disks 0,1, xfs". */
static char *
describe (const VixmountVolumeDetails *d, const VixmountVolumeLayout *l)
{
  char *r = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&r, &len);
  bool striped = false;

  if (!f)
    return NULL;
  for (uint32 i = 0; i < l->numSegments; i++)
    striped |= l->segments[i].numStripes > 0;
  if (d->type == VIXMNTAPI_LVM_VOLUME) {
    uint32 used[64] = { 0 };   /* disks 0..2047 as bits */
    size_t nused = 0;
    fprintf (f, "LVM %s, %s, %" PRIu32 " segment%s on disk", d->name,
             d->partType ? d->partType : striped ? "striped" : "linear", l->numSegments,
             l->numSegments == 1 ? "" : "s");
    for (uint32 i = 0; i < l->numSegments; i++) {
      const VixmountSegment *s = &l->segments[i];
      for (uint32 k = 0; k < (s->numStripes ? s->numStripes : 1); k++) {
        uint32 dk = s->numStripes ? s->stripes[k].disk : s->disk;
        if (dk < 2048 && !(used[dk / 32] & (1u << (dk % 32)))) {
          used[dk / 32] |= 1u << (dk % 32);
          nused++;
        }
      }
    }
    fputs (nused == 1 ? " " : "s ", f);
    for (uint32 dk = 0, k = 0; dk < 2048; dk++)
      if (used[dk / 32] & (1u << (dk % 32)))
        fprintf (f, "%s%" PRIu32, k++ ? "," : "", dk);
  }
  else if (d->partitionNumber == 0)
    fprintf (f, "disk %" PRIu32, d->disk);
  else
    fprintf (f, "partition %" PRId32 " of disk %" PRIu32, d->partitionNumber, d->disk);
  if (d->fsType)
    fprintf (f, ", %s", d->fsType);
  if (d->label)
    fprintf (f, ", LABEL=%s", d->label);
  if (d->uuid && !d->label)
    fprintf (f, ", UUID=%s", d->uuid);
  if (fclose (f) != 0) {
    free (r);
    return NULL;
  }
  return r;
}

/* The layout as the volume model's segments (a new array). */
static struct vx_segment *
segments_of (const VixmountVolumeLayout *l)
{
  struct vx_segment *seg = calloc (l->numSegments ? l->numSegments : 1, sizeof *seg);

  for (uint32 i = 0; seg && i < l->numSegments; i++) {
    const VixmountSegment *s = &l->segments[i];
    seg[i] = (struct vx_segment) { .start = s->start, .length = s->length, .disk = s->disk,
                                   .offset = s->offset, .nstripes = s->numStripes,
                                   .stripe_size = s->stripeSize };
    if (s->numStripes == 0)
      continue;
    seg[i].stripe = calloc (s->numStripes, sizeof *seg[i].stripe);
    if (!seg[i].stripe) {
      vx_segments_free (seg, i + 1);
      return NULL;
    }
    for (uint32 k = 0; k < s->numStripes; k++)
      seg[i].stripe[k] = (struct vx_stripe) { s->stripes[k].disk, s->stripes[k].offset };
  }
  return seg;
}

int
cli_volume_map (FILE *f, const struct cli_set *s, struct cli_export **rows, size_t *nrows)
{
  fputs ("# vixmount volume map (nbdkit-vmdk-plugin(1), VOLUME MAP): "
         "volume NAME PIECES, description NAME TEXT\n", f);
  for (size_t k = 0; k < s->n; k++) {
    VixmountVolumeLayout *l = NULL;
    VixError e = Vixmount_GetVolumeLayout (s->vh[k], &l);
    struct vx_segment *seg;
    char *desc;

    if (VIX_FAILED (e))
      return cli_vix_error (e, s->det[k]->name);
    if (l->numSegments == 0) {    /* an LV that cannot be composed */
      Vixmount_FreeVolumeLayout (l);
      continue;
    }
    seg = segments_of (l);
    desc = describe (s->det[k], l);
    if (!seg || !desc) {
      vx_segments_free (seg, l->numSegments);
      free (desc);
      Vixmount_FreeVolumeLayout (l);
      cli_error ("out of memory");
      return 1;
    }
    vx_volmap_print (f, s->det[k]->name, desc, seg, l->numSegments);
    if (rows) {
      struct cli_export *nr = realloc (*rows, (*nrows + 1) * sizeof *nr);
      if (nr) {
        *rows = nr;
        nr[*nrows] = (struct cli_export) { strdup (s->det[k]->name), s->det[k]->length, desc };
        desc = NULL;
        ++*nrows;
      }
    }
    free (desc);
    vx_segments_free (seg, l->numSegments);
    Vixmount_FreeVolumeLayout (l);
  }
  return 0;
}

/* ---- serve ------------------------------------------------------------------ */

static int
parse_serve_opts (const struct cli_command *c, int argc, char **argv, struct serve_opts *o,
                  int *rc)
{
  enum { O_TCP = 256, O_UNIX, O_PSK, O_CERTS, O_INSECURE, O_RW, O_COW, O_JSON, O_CONFIG,
         O_NOVOL, O_VERIFY };
  static const struct option longopts[] = {
    { "tcp", required_argument, NULL, O_TCP },
    { "unix", required_argument, NULL, O_UNIX },
    { "tls-psk", required_argument, NULL, O_PSK },
    { "tls-certs", required_argument, NULL, O_CERTS },
    { "insecure", no_argument, NULL, O_INSECURE },
    { "tls-verify-peer", no_argument, NULL, O_VERIFY },
    { "rw", no_argument, NULL, O_RW },
    { "cow", no_argument, NULL, O_COW },
    { "json", no_argument, NULL, O_JSON },
    { "no-volumes", no_argument, NULL, O_NOVOL },
    { "config", required_argument, NULL, O_CONFIG },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int ch;

  memset (o, 0, sizeof *o);
  while ((ch = getopt_long (argc, argv, ":vh", longopts, NULL)) != -1) {
    switch (ch) {
    case O_TCP: o->tcp = optarg; break;
    case O_UNIX: o->unix_path = optarg; break;
    case O_PSK: o->psk = optarg; break;
    case O_CERTS: o->certs = optarg; break;
    case O_INSECURE: o->insecure = true; break;
    case O_VERIFY: o->verify_peer = true; break;
    case O_RW: o->rw = true; break;
    case O_COW: o->cow = true; break;
    case O_JSON: o->json = true; break;
    case O_NOVOL: o->no_volumes = true; break;
    case O_CONFIG: o->config = optarg; break;
    case 'v': cli_verbose = true; break;
    case 'h': *rc = cli_help (c); return -1;
    default: *rc = cli_bad_option (c, ch, argv); return -1;
    }
  }
  if (optind >= argc)
    *rc = cli_usage (c, "no DISK given");
  else if (!o->tcp == !o->unix_path)
    *rc = cli_usage (c, "give one of --tcp ADDR:PORT and --unix PATH");
  else if (o->psk && o->certs)
    *rc = cli_usage (c, "give --tls-psk or --tls-certs, not both");
  else if (o->tcp && !o->psk && !o->certs && !o->insecure)
    *rc = cli_usage (c, "TCP needs TLS (--tls-psk FILE or --tls-certs DIR), "
                     "or --insecure to serve without it");
  else if (o->verify_peer && !o->certs)
    *rc = cli_usage (c, "--tls-verify-peer needs --tls-certs");
  else if (o->rw && o->cow)
    *rc = cli_usage (c, "give --rw or --cow, not both");
  else
    return optind;
  return -1;
}

/* ADDR:PORT ("127.0.0.1:10809", "[::1]:10809") into nbdkit's -i and -p. */
static int
split_tcp (const char *spec, char **addr, char **port)
{
  const char *colon = strrchr (spec, ':');
  uint64_t p;

  if (!colon || colon == spec || vx_parse_u64 (colon + 1, &p) == -1 || p == 0 || p > 65535)
    return -1;
  if (spec[0] == '[' && colon[-1] == ']')
    *addr = strndup (spec + 1, (size_t) (colon - spec - 2));
  else
    *addr = strndup (spec, (size_t) (colon - spec));
  *port = strdup (colon + 1);
  return *addr && *port ? 0 : -1;
}

/* The export's URI (RFC: nbd[s]://host:port/NAME or nbd[s]+unix:///NAME?
 * socket=PATH), NAME percent-encoded but for '/'. */
static void
print_uri (FILE *f, const struct serve_opts *o, const char *addr, const char *port,
           const char *name)
{
  bool tls = o->psk || o->certs;

  if (o->tcp)
    fprintf (f, "nbd%s://%s%s%s:%s/", tls ? "s" : "", strchr (addr, ':') ? "[" : "", addr,
             strchr (addr, ':') ? "]" : "", port);
  else
    fprintf (f, "nbd%s+unix:///", tls ? "s" : "");
  for (const unsigned char *p = (const unsigned char *) name; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr ("-._~/", *p))
      fputc (*p, f);
    else
      fprintf (f, "%%%02X", *p);
  }
  if (o->unix_path)
    fprintf (f, "?socket=%s", o->unix_path);
}

/* Waits for nbdkit's pid file (it is written once nbdkit listens), or for
 * nbdkit to exit; 0 when it serves. */
static int
wait_ready (pid_t pid, const char *pidfile)
{
  struct timespec ts = { 0, 20 * 1000 * 1000 };

  for (int i = 0; i < 3000; i++) {      /* 60 s */
    int status;
    struct stat st;

    if (waitpid (pid, &status, WNOHANG) == pid) {
      cli_error ("nbdkit exited before serving (%s %d)", WIFEXITED (status)
                 ? "status" : "signal", WIFEXITED (status) ? WEXITSTATUS (status)
                 : WTERMSIG (status));
      return -1;
    }
    if (stat (pidfile, &st) == 0 && st.st_size > 0)
      return 0;
    if (got_signal)
      return -1;
    nanosleep (&ts, NULL);
  }
  cli_error ("nbdkit did not start listening within 60 s");
  return -1;
}

static void
rm_tree (const char *dir, const char *const *names)
{
  char p[4200];

  for (size_t i = 0; names[i]; i++) {
    snprintf (p, sizeof p, "%s/%s", dir, names[i]);
    unlink (p);
  }
  snprintf (p, sizeof p, "%s/cow", dir);
  rmdir (p);
  rmdir (dir);
}

static void
print_exports (const struct serve_opts *o, const char *addr, const char *port,
               const struct cli_export *rows, size_t n)
{
  if (o->json) {
    printf ("{\"command\": \"serve\", \"schemaVersion\": %d, \"mode\": \"%s\", \"tls\": %s,\n"
            "\"exports\": [", CLI_SCHEMA_VERSION, o->rw ? "rw" : o->cow ? "cow" : "ro",
            o->psk || o->certs ? "true" : "false");
    for (size_t i = 0; i < n; i++) {
      printf ("%s\n  {\"name\": ", i ? "," : "");
      vx_json_string (stdout, rows[i].name);
      printf (", \"size\": %" PRIu64 ", \"uri\": \"", rows[i].size);
      print_uri (stdout, o, addr, port, rows[i].name);
      fputs ("\", \"description\": ", stdout);
      vx_json_string (stdout, rows[i].description);
      fputs ("}", stdout);
    }
    fputs (n ? "\n]}\n" : "]}\n", stdout);
  }
  else {
    size_t w = 6;
    for (size_t i = 0; i < n; i++)
      if (strlen (rows[i].name) > w)
        w = strlen (rows[i].name);
    printf ("Serving %s (%s%s); SIGINT or SIGTERM stops.\n", o->tcp ? o->tcp : o->unix_path,
            o->rw ? "read-write" : o->cow ? "writes to a throw-away overlay" : "read-only",
            o->psk ? ", TLS with a pre-shared key" : o->certs ? ", TLS with certificates"
            : o->tcp ? ", NO TLS" : "");
    printf ("%-*s  %6s  %s\n", (int) w, "EXPORT", "SIZE", "DESCRIPTION");
    for (size_t i = 0; i < n; i++) {
      char sz[32];
      printf ("%-*s  %6s  %s\n", (int) w, rows[i].name,
              cli_human_size (rows[i].size, sz, sizeof sz), rows[i].description);
    }
    printf ("URIs:\n");
    for (size_t i = 0; i < n; i++) {
      fputs ("  ", stdout);
      print_uri (stdout, o, addr, port, rows[i].name);
      putchar ('\n');
    }
  }
  fflush (stdout);
}

/* The disks' exports: "0", "1", ... with the engine's size. */
static int
disk_rows (char **disks, size_t n, struct cli_export **rows, size_t *nrows)
{
  struct vmdk_options opts = { .flags = VMDK_OPEN_RDONLY };

  for (size_t i = 0; i < n; i++) {
    struct vmdk_error err = { 0 };
    struct vmdk_disk *vd = vmdk_open (disks[i], &opts, &err);
    struct cli_export *nr;

    if (!vd) {
      cli_error ("%s", err.msg);
      return 1;
    }
    nr = realloc (*rows, (*nrows + 1) * sizeof *nr);
    if (!nr) {
      vmdk_close (vd);
      cli_error ("out of memory");
      return 1;
    }
    *rows = nr;
    nr[*nrows].size = vmdk_size (vd);
    vmdk_close (vd);
    if (asprintf (&nr[*nrows].name, "%zu", i) < 0
        || asprintf (&nr[*nrows].description, "disk %zu: %s", i, disks[i]) < 0) {
      cli_error ("out of memory");
      return 1;
    }
    ++*nrows;
  }
  return 0;
}

int
cli_serve (const struct cli_command *c, int argc, char **argv)
{
  struct serve_opts o;
  int first, r = 0, status;
  size_t n, nrows = 0;
  char **disks = NULL, dir[4096], map[4200], pidfile[4200], cowdir[4200];
  char *addr = NULL, *port = NULL, *psk = NULL, *certs = NULL, *unix_path = NULL;
  struct cli_export *rows = NULL;
  static const char *const files[] = { "volumes.map", "nbdkit.pid", NULL };
  const char *tmp = getenv ("TMPDIR");
  char **args = NULL;
  size_t a = 0;
  pid_t pid = -1;
  FILE *f;

  if ((first = parse_serve_opts (c, argc, argv, &o, &r)) < 0)
    return r;
  n = (size_t) (argc - first);
  if (o.tcp && split_tcp (o.tcp, &addr, &port) == -1)
    return cli_usage (c, "--tcp wants ADDR:PORT (127.0.0.1:10809), not '%s'", o.tcp);
  if (!o.no_volumes && !cli_need_root ("serve", "volumes are found through a FUSE or "
                                       "kernel bridge; --no-volumes serves the disks only"))
    return 1;
  /* nbdkit resolves relative paths against its own directory: absolute */
  if (!(disks = cli_real_paths (argv + first, n))
      || (o.psk && !(psk = realpath (o.psk, NULL)))
      || (o.certs && !(certs = realpath (o.certs, NULL)))) {
    if (disks)
      cli_error ("%s: %s", o.psk ? o.psk : o.certs, strerror (errno));
    r = 1;
    goto out;
  }
  if (o.unix_path && !(unix_path = strdup (o.unix_path))) {
    r = 1;
    goto out;
  }
  if (disk_rows (disks, n, &rows, &nrows) != 0) {
    r = 1;
    goto out;
  }
  snprintf (dir, sizeof dir, "%s/vixmount-serve.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp (dir)) {
    cli_error ("%s: %s", dir, strerror (errno));
    r = 1;
    goto out;
  }
  snprintf (map, sizeof map, "%s/volumes.map", dir);
  snprintf (pidfile, sizeof pidfile, "%s/nbdkit.pid", dir);
  snprintf (cowdir, sizeof cowdir, "%s/cow", dir);

  /* the volumes: found through libvixMntapi, the set closed again */
  if (!o.no_volumes) {
    struct cli_set s;

    if ((r = cli_mntapi_init (o.config)) != 0)
      goto out_dir;
    if ((r = cli_set_open (disks, n, false, &s)) != 0) {
      VixMntapi_Exit ();
      goto out_dir;
    }
    f = fopen (map, "w");
    if (!f) {
      cli_error ("%s: %s", map, strerror (errno));
      r = 1;
    }
    else {
      r = cli_volume_map (f, &s, &rows, &nrows);
      if (fclose (f) != 0 && r == 0) {
        cli_error ("%s: %s", map, strerror (errno));
        r = 1;
      }
    }
    cli_set_close (&s);
    VixMntapi_Exit ();
    if (r)
      goto out_dir;
  }
  if (o.cow && mkdir (cowdir, 0700) == -1) {
    cli_error ("%s: %s", cowdir, strerror (errno));
    r = 1;
    goto out_dir;
  }

  /* nbdkit [-r] -f --exit-with-parent (-i ADDR -p PORT | -U PATH) [TLS]
   *        --pidfile F PLUGIN file=... [volumes=MAP] [cow=true cow-dir=D] */
  args = calloc (n + 24, sizeof *args);
  if (!args) {
    r = 1;
    goto out_dir;
  }
  {
    const char *nbdkit = getenv ("VIXMOUNT_NBDKIT");
    const char *plugin = getenv ("VIXMOUNT_NBDKIT_PLUGIN");
    args[a++] = strdup (nbdkit && *nbdkit ? nbdkit : "nbdkit");
    if (!o.rw && !o.cow)
      args[a++] = strdup ("-r");
    args[a++] = strdup ("-f");
    args[a++] = strdup ("--exit-with-parent");
    if (o.tcp) {
      args[a++] = strdup ("-i");
      args[a++] = strdup (addr);
      args[a++] = strdup ("-p");
      args[a++] = strdup (port);
    }
    else {
      args[a++] = strdup ("-U");
      args[a++] = strdup (unix_path);
    }
    if (psk || certs) {
      args[a++] = strdup ("--tls=require");
      if (asprintf (&args[a++], psk ? "--tls-psk=%s" : "--tls-certificates=%s",
                    psk ? psk : certs) < 0)
        args[a - 1] = NULL;
      if (o.verify_peer)
        args[a++] = strdup ("--tls-verify-peer");
    }
    if (cli_verbose)
      args[a++] = strdup ("-v");
    args[a++] = strdup ("--pidfile");
    args[a++] = strdup (pidfile);
    args[a++] = strdup (plugin && *plugin ? plugin : VIXMOUNT_PLUGIN_DEFAULT);
    for (size_t i = 0; i < n; i++)
      if (asprintf (&args[a++], "file=%s", disks[i]) < 0)
        args[a - 1] = NULL;
    if (!o.no_volumes && asprintf (&args[a++], "volumes=%s", map) < 0)
      args[a - 1] = NULL;
    if (o.cow) {
      args[a++] = strdup ("cow=true");
      if (asprintf (&args[a++], "cow-dir=%s", cowdir) < 0)
        args[a - 1] = NULL;
    }
    for (size_t i = 0; i < a; i++)
      if (!args[i]) {
        cli_error ("out of memory");
        r = 1;
        goto out_dir;
      }
  }

  {
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
  }
  fflush (NULL);
  pid = fork ();
  if (pid == -1) {
    cli_error ("fork: %s", strerror (errno));
    r = 1;
    goto out_dir;
  }
  if (pid == 0) {
    signal (SIGINT, SIG_IGN);    /* the parent stops nbdkit with SIGTERM */
    execvp (args[0], args);
    fprintf (stderr, "vixmount: %s: %s (install the Debian package nbdkit)\n", args[0],
             strerror (errno));
    _exit (127);
  }
  if (wait_ready (pid, pidfile) == -1) {
    r = 1;
    goto stop;
  }
  print_exports (&o, addr, port, rows, nrows);

  /* serve until a signal, or until nbdkit dies */
  while (!got_signal) {
    pid_t w = waitpid (pid, &status, 0);
    if (w == pid) {
      cli_error ("nbdkit exited (%s %d)", WIFEXITED (status) ? "status" : "signal",
                 WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
      pid = -1;
      r = 1;
      break;
    }
    if (w == -1 && errno != EINTR)
      break;
  }
 stop:
  if (pid > 0) {
    /* nbdkit ends its connections and exits; a client that never lets go
     * of its connection (a stuck TLS session) must not keep us forever */
    kill (pid, SIGTERM);
    for (int i = 0; i < 100 && waitpid (pid, &status, WNOHANG) == 0; i++)
      usleep (100000);
    if (waitpid (pid, &status, WNOHANG) == 0) {
      cli_error ("nbdkit did not stop within 10 s of SIGTERM (a client holds its "
                 "connection): killed");
      kill (pid, SIGKILL);
      while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
        ;
    }
  }
  if (got_signal && !o.json)
    fprintf (stderr, "vixmount: signal %d: nbdkit stopped\n", (int) got_signal);
 out_dir:
  rm_tree (dir, files);
 out:
  for (size_t i = 0; args && i < a; i++)
    free (args[i]);
  free (args);
  for (size_t i = 0; i < nrows; i++) {
    free (rows[i].name);
    free (rows[i].description);
  }
  free (rows);
  if (disks)
    cli_free_strings (disks, n);
  free (addr);
  free (port);
  free (psk);
  free (certs);
  free (unix_path);
  return r;
}

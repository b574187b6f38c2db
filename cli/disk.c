/* vixmount info, vixmount convert: one disk through the VMDK engine (what
 * it reads from the files) and through VixDiskLib (VixDiskLib_Clone). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* the API version this program is written for (vixDiskLib.h leaves it to us) */
#define VIXDISKLIB_VERSION_MAJOR 7
#define VIXDISKLIB_VERSION_MINOR 0

#include "vixDiskLib.h"
#include "vix.h"
#include "vmdk.h"
#include "vmdkinfo.h"
#include "vixmount.h"

/* ---- info ------------------------------------------------------------------- */

int
cli_info (const struct cli_command *c, int argc, char **argv)
{
  enum { O_JSON = 256, O_SINGLE };
  static const struct option longopts[] = {
    { "json", no_argument, NULL, O_JSON },
    { "single-link", no_argument, NULL, O_SINGLE },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct vmdk_options vo = { .flags = VMDK_OPEN_RDONLY };
  bool json = false;
  int ch, r = 0;

  while ((ch = getopt_long (argc, argv, ":h", longopts, NULL)) != -1) {
    switch (ch) {
    case O_JSON: json = true; break;
    case O_SINGLE: vo.flags |= VMDK_OPEN_SINGLE_LINK; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (optind >= argc)
    return cli_usage (c, "no DISK given");
  if (json)
    printf ("{\"command\": \"info\", \"schemaVersion\": %d, \"disks\": [", CLI_SCHEMA_VERSION);
  /* every disk, also after one failed; the status tells whether all did */
  for (int i = optind, shown = 0; i < argc; i++) {
    struct vmdk_error err;
    struct vmdk_disk *d = vmdk_open (argv[i], &vo, &err);
    if (!d) {
      cli_error ("%s", err.msg);
      r = 1;
      continue;
    }
    if (json) {
      fputs (shown ? ",\n" : "\n", stdout);
      vx_info_json (d, stdout, 0);
    }
    else {
      if (shown)
        putchar ('\n');
      if (vx_info_text (d, stdout, &err) == -1) {
        cli_error ("%s", err.msg);
        r = 1;
      }
    }
    shown++;
    vmdk_close (d);
  }
  if (json)
    fputs ("]}\n", stdout);
  return r;
}

/* ---- convert ------------------------------------------------------------------ */

static const struct { const char *name; VixDiskLibAdapterType type; } adapters[] = {
  { "ide", VIXDISKLIB_ADAPTER_IDE },
  { "buslogic", VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC },
  { "lsilogic", VIXDISKLIB_ADAPTER_SCSI_LSILOGIC },
};

/* Progress on a terminal: "\r 42%  118.3M/s  0:07 left". */
struct progress {
  bool tty;
  uint64_t bytes;                /* the disk's capacity */
  struct timespec start;
  int last;
  bool shown;
};

static double
elapsed (const struct timespec *t0)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static Bool
progress_cb (void *data, int percent)
{
  struct progress *p = data;
  double secs = elapsed (&p->start);
  char rate[32] = "", left[32] = "";

  if (!p->tty || percent == p->last)
    return TRUE;
  p->last = percent;
  if (secs > 0.05 && percent > 0) {      /* too early for a rate before */
    double done = (double) p->bytes * percent / 100.0;
    char h[16];
    cli_human_size ((uint64_t) (done / secs), h, sizeof h);
    snprintf (rate, sizeof rate, "%s/s", h);
    if (percent < 100) {
      unsigned long s = (unsigned long) (secs * (100 - percent) / percent + 0.5);
      if (s >= 3600)
        snprintf (left, sizeof left, "%lu:%02lu:%02lu left", s / 3600, s / 60 % 60, s % 60);
      else
        snprintf (left, sizeof left, "%lu:%02lu left", s / 60, s % 60);
    }
  }
  if (percent == 100)
    snprintf (left, sizeof left, "done in %.1f s", secs);
  fprintf (stderr, "\r%3d%%  %10s  %-16s", percent, rate, left);
  fflush (stderr);
  p->shown = true;
  return TRUE;
}

int
cli_convert (const struct cli_command *c, int argc, char **argv)
{
  enum { O_OVERWRITE = 256, O_CONFIG };
  static const struct option longopts[] = {
    { "type", required_argument, NULL, 't' },
    { "adapter", required_argument, NULL, 'a' },
    { "overwrite", no_argument, NULL, O_OVERWRITE },
    { "config", required_argument, NULL, O_CONFIG },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  VixDiskLibCreateParams cp = { .diskType = VIXDISKLIB_DISK_UNKNOWN,
                                .adapterType = VIXDISKLIB_ADAPTER_UNKNOWN };
  struct progress pr = { .tty = isatty (STDERR_FILENO) == 1, .last = -1 };
  VixDiskLibConnectParams params;
  VixDiskLibConnection conn = NULL;
  VixDiskLibHandle h = NULL;
  VixDiskLibInfo *info = NULL;
  const char *config = NULL, *src, *dst;
  bool overwrite = false;
  VixError e;
  int ch, r = 1;

  while ((ch = getopt_long (argc, argv, ":t:a:vh", longopts, NULL)) != -1) {
    switch (ch) {
    case 't':
      cp.diskType = vx_disk_type_of (optarg);
      if (cp.diskType == VIXDISKLIB_DISK_UNKNOWN)
        return cli_usage (c, "unknown disk type '%s' (monolithicSparse, monolithicFlat, "
                          "twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized)", optarg);
      break;
    case 'a': {
      size_t k;
      for (k = 0; k < sizeof adapters / sizeof adapters[0]; k++)
        if (!strcasecmp (optarg, adapters[k].name))
          break;
      if (k == sizeof adapters / sizeof adapters[0])
        return cli_usage (c, "unknown adapter '%s' (ide, buslogic, lsilogic)", optarg);
      cp.adapterType = adapters[k].type;
      break;
    }
    case O_OVERWRITE: overwrite = true; break;
    case O_CONFIG: config = optarg; break;
    case 'v': cli_verbose = true; break;
    case 'h': return cli_help (c);
    default: return cli_bad_option (c, ch, argv);
    }
  }
  if (argc - optind != 2)
    return cli_usage (c, "needs SRC and DST");
  src = argv[optind];
  dst = argv[optind + 1];

  e = VixDiskLib_InitEx (VIXDISKLIB_VERSION_MAJOR, VIXDISKLIB_VERSION_MINOR, cli_log, cli_log,
                         cli_log, NULL, config);
  if (VIX_FAILED (e))
    return cli_vix_error (e, config);
  memset (&params, 0, sizeof params);          /* no server: local files */
  if (VIX_FAILED (e = VixDiskLib_Connect (&params, &conn))) {
    cli_vix_error (e, NULL);
    goto out;
  }
  /* the source's capacity (the rate shown), and its errors early */
  if (VIX_FAILED (e = VixDiskLib_Open (conn, src, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h))
      || VIX_FAILED (e = VixDiskLib_GetInfo (h, &info))) {
    cli_vix_error (e, NULL);
    goto out;
  }
  pr.bytes = (uint64_t) info->capacity * VIXDISKLIB_SECTOR_SIZE;
  VixDiskLib_FreeInfo (info);
  VixDiskLib_Close (h);
  h = NULL;
  clock_gettime (CLOCK_MONOTONIC, &pr.start);
  e = VixDiskLib_Clone (conn, dst, conn, src, &cp, progress_cb, &pr, overwrite);
  if (pr.shown)
    fputc ('\n', stderr);
  if (VIX_FAILED (e)) {
    const char *t = cli_vix_text (e);
    if (VIX_ERROR_CODE (e) == VIX_E_FILE_ALREADY_EXISTS)
      cli_error ("%s: exists already (--overwrite replaces it)", dst);
    else if (strstr (t, src) || strstr (t, dst))
      cli_error ("%s", t);
    else
      cli_error ("%s: %s", dst, t);
    goto out;
  }
  r = 0;
 out:
  if (h)
    VixDiskLib_Close (h);
  if (conn)
    VixDiskLib_Disconnect (conn);
  VixDiskLib_Exit ();
  return r;
}

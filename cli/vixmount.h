/* vixmount: the command line an administrator uses (vixmount(1)).
 *
 *   vixmount.c   main: the command table, help, messages, shared helpers
 *   volumes.c    list, inspect: a disk set's volumes and guest OS
 *   mount.c      mount, umount, status, cleanup: the mount process and its
 *                registry
 *   disk.c       info, convert: one disk through the engine / VixDiskLib
 *   serve.c      serve: the disks and volumes over NBD (nbdkit + the plugin)
 *
 * Conventions: a failure is one line on stderr, "vixmount: FILE: cause";
 * exit status 0 success, 1 failure, 2 usage error.  --json output follows
 * docs/vixmount.schema.json (schemaVersion 1).
 */
#ifndef VIXMOUNT_CLI_VIXMOUNT_H
#define VIXMOUNT_CLI_VIXMOUNT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vixMntapi.h"
#include "vixMntapiExt.h"

#define CLI_PRINTF(a, b) __attribute__ ((format (printf, a, b)))
#define CLI_SCHEMA_VERSION 1

/* A command: its name, one line of synopsis (after "vixmount NAME"), the
 * text of --help below it, and what runs it (argv[0] is the command name). */
struct cli_command {
  const char *name;
  const char *synopsis;
  const char *help;
  int (*run) (const struct cli_command *c, int argc, char **argv);
};

/* ---- vixmount.c ----------------------------------------------------------- */
/* "vixmount: MESSAGE" on stderr. */
void cli_error (const char *fmt, ...) CLI_PRINTF (1, 2);
/* "vixmount CMD: MESSAGE" and a hint at --help on stderr; returns 2. */
int cli_usage (const struct cli_command *c, const char *fmt, ...) CLI_PRINTF (2, 3);
/* After getopt_long returned CH '?' or ':' (optstrings start with ':'):
 * the usage error naming the option; returns 2. */
int cli_bad_option (const struct cli_command *c, int ch, char **argv);
/* The command's --help text on stdout; returns 0. */
int cli_help (const struct cli_command *c);
/* The detail of the failure E of the library call just made, one line,
 * without the calling function's name ("FILE: cause"), or the code's fixed
 * text; in a static buffer. */
const char *cli_vix_text (VixError e);
/* cli_error with "PREFIX: " (if not NULL) and cli_vix_text (e); returns 1. */
int cli_vix_error (VixError e, const char *prefix);
/* Is the caller root?  If not: "vixmount: WHAT needs root (WHY)", false. */
bool cli_need_root (const char *what, const char *why);
/* Each path's absolute name (realpath) in a new array of n strings; a path
 * that cannot be resolved: "vixmount: PATH: cause", NULL. */
char **cli_real_paths (char *const *paths, size_t n);
void cli_free_strings (char **s, size_t n);
/* A size for people: "512B", "48M", "1.5G" (binary units, like lsblk). */
const char *cli_human_size (uint64_t bytes, char *buf, size_t len);
/* PREFIX (JSON text: ", \"key\": ") and S as a JSON string, or null. */
void cli_json_field (FILE *f, const char *prefix, const char *s);
/* Log callbacks for the libraries: quiet (verbose off), or one line per
 * message on stderr prefixed "vixmount: " (verbose on, or the mount
 * process, whose stderr is its log file). */
extern bool cli_verbose;
void cli_log (const char *fmt, va_list ap);
/* VixMntapi_Init with CONFIG (may be NULL); 0, or 1 after the message. */
int cli_mntapi_init (const char *config);

/* An open disk set, its volumes and what the library says about each. */
struct cli_set {
  VixDiskSetHandle set;
  VixVolumeHandle *vh;
  size_t n;
  VixmountVolumeDetails **det;
  VixVolumeInfo **info;
};
/* Open the disks (absolute paths) read-only or read-write and fetch every
 * volume's details; 0, or 1 after the message (nothing left open). */
int cli_set_open (char *const *disks, size_t ndisks, bool rw, struct cli_set *s);
/* Refresh volume K's VixVolumeInfo (after mounting it); 0 or 1. */
int cli_set_refresh (struct cli_set *s, size_t k);
void cli_set_close (struct cli_set *s);
/* The volume named by SPEC: its id ("d0p1"), "LABEL=..." or "UUID=...";
 * its index, or -1 after the message (naming the volumes there are). */
long cli_set_find (const struct cli_set *s, const char *spec);

/* ---- volumes.c ------------------------------------------------------------ */
int cli_list (const struct cli_command *c, int argc, char **argv);
int cli_inspect (const struct cli_command *c, int argc, char **argv);
/* The type of a volume as the schema names it: "mbr", "gpt", "disk", ... */
const char *cli_volume_type (const VixmountVolumeDetails *d);

/* ---- mount.c -------------------------------------------------------------- */
int cli_mount (const struct cli_command *c, int argc, char **argv);
int cli_umount (const struct cli_command *c, int argc, char **argv);
int cli_status (const struct cli_command *c, int argc, char **argv);
int cli_cleanup (const struct cli_command *c, int argc, char **argv);

/* ---- serve.c -------------------------------------------------------------- */
int cli_serve (const struct cli_command *c, int argc, char **argv);
/* An export as serve prints it. */
struct cli_export {
  char *name;
  uint64_t size;
  char *description;
};
/* The set's volume map (common/utils/segtext.h: what the plugin's volumes=
 * reads) on F, every volume with segments; with ROWS, each volume's export
 * appended to *ROWS, *NROWS.  0, or 1 after the message. */
int cli_volume_map (FILE *f, const struct cli_set *s, struct cli_export **rows,
                    size_t *nrows);

/* ---- disk.c --------------------------------------------------------------- */
int cli_info (const struct cli_command *c, int argc, char **argv);
int cli_convert (const struct cli_command *c, int argc, char **argv);

#endif

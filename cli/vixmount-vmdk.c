/* vixmount-vmdk: show what the VMDK engine reads from a disk.
 *
 *   vixmount-vmdk info [--json] [OPTIONS] FILE
 *   vixmount-vmdk map [--this-layer] [OPTIONS] FILE
 *   vixmount-vmdk cat [OPTIONS] FILE OUT
 *   vixmount-vmdk read [OPTIONS] FILE OFFSET LENGTH
 *   vixmount-vmdk write|zero|set-ddb|create|snapshot|clone ...  (see --help)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fullio.h"
#include "parse.h"
#include "vmdk.h"
#include "vmdkinfo.h"

static const char *prog = "vixmount-vmdk";

static void
usage (FILE *f)
{
  fprintf (f,
"Usage: %s COMMAND [OPTIONS] FILE [ARGS]\n"
"Inspect a VMDK disk (descriptor or monolithic file) with vixmount's engine.\n"
"\n"
"Commands:\n"
"  info [--json] FILE           format, capacity, extents, chain, disk database\n"
"  map [--this-layer] FILE      allocation map as JSON (the shape of qemu-img map)\n"
"  cat FILE OUT                 write the whole virtual disk to OUT ('-' = stdout)\n"
"  read FILE OFFSET LENGTH      write LENGTH bytes at byte OFFSET to stdout\n"
"  write FILE OFFSET            write stdin into the disk at byte OFFSET\n"
"  zero FILE OFFSET LENGTH      make a range read as zeros\n"
"  set-ddb FILE KEY [VALUE]     set (or without VALUE remove) a ddb.* key\n"
"  create [--type T] [--zeroed-grain] [--adapter A] FILE SIZE\n"
"                               create an empty disk of SIZE bytes\n"
"  snapshot CHILD PARENT        create a delta link on top of PARENT\n"
"  clone [--type T] SRC DST     copy a disk (any type, also streamOptimized)\n"
"\n"
"Options:\n"
"  --single-link    open only this link of a snapshot chain\n"
"  --allow-escape   allow absolute extent/parent paths and paths leaving\n"
"                   the descriptor's directory\n"
"  --allow-devices  allow raw-device extents and device paths\n"
"  --no-cid-check   do not compare parentCID with the parent's CID\n"
"  --lock           lock the disk's files while open (shared, or exclusive\n"
"                   for writing); fail if another process holds a conflicting lock\n"
"  --json           (info) print JSON\n"
"  --this-layer     (map) do not look into parent links\n"
"  --type T         monolithicSparse (default), monolithicFlat,\n"
"                   twoGbMaxExtentSparse, twoGbMaxExtentFlat, streamOptimized\n"
"  --zeroed-grain   (create) sparse extents with zeroed-grain entries\n"
"  --adapter A      ide (default), buslogic, lsilogic, legacyESX\n"
"  -h, --help       this text\n"
"\n"
"OFFSET, LENGTH: a number, decimal (010 is ten) or hexadecimal after 0x;\n"
"SIZE: such a number with an optional K, M, G, T, P or E suffix (powers of\n"
"1024; either case, KiB also), up to 2^64 - 1 bytes.\n"
"\n"
"Exit status: 0 success, 1 the disk could not be opened or read (the error\n"
"code name is printed on a line of its own), 2 usage error.\n", prog);
}

static int
fail (const struct vmdk_error *err)
{
  fprintf (stderr, "%s: %s\n%s: error code %s\n", prog, err->msg, prog,
           vmdk_errcode_name (err->code));
  return 1;
}

struct map_out { FILE *f; bool first; };

static int
map_cb (void *opaque, const struct vmdk_map_entry *e)
{
  struct map_out *m = opaque;
  fprintf (m->f, "%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u, "
           "\"present\": %s, \"zero\": %s, \"data\": %s",
           m->first ? "[" : ",\n", e->offset, e->length, e->depth,
           vx_jbool (e->kind != VMDK_MAP_HOLE), vx_jbool (e->kind != VMDK_MAP_DATA || e->zero),
           vx_jbool (e->kind == VMDK_MAP_DATA));
  if (e->file_offset >= 0)
    fprintf (m->f, ", \"offset\": %" PRId64, e->file_offset);
  fputc ('}', m->f);
  m->first = false;
  return 0;
}

static int
copy_out (struct vmdk_disk *d, uint64_t off, uint64_t len, int fd, const char *name)
{
  const size_t chunk = 4 * 1024 * 1024;
  struct vmdk_error err;
  char *buf = malloc (chunk);

  if (!buf) {
    fprintf (stderr, "%s: out of memory\n", prog);
    return 1;
  }
  while (len > 0) {
    size_t n = len < chunk ? (size_t) len : chunk;
    if (vmdk_pread (d, buf, n, off, &err) == -1) {
      free (buf);
      return fail (&err);
    }
    if (vx_full_write (fd, buf, n) == -1) {
      fprintf (stderr, "%s: writing %s: %s\n", prog, name, strerror (errno));
      free (buf);
      return 1;
    }
    off += n;
    len -= n;
  }
  free (buf);
  return 0;
}

/* A NUMBER (or, with SIZE, a SIZE) argument in the syntax of parse.h; if
 * it is not one, a message naming WHAT and the value, and -1. */
static int
number_arg (const char *what, const char *text, bool size, uint64_t *v)
{
  if ((size ? vx_parse_size (text, v) : vx_parse_u64 (text, v)) == 0)
    return 0;
  if (errno == ERANGE)
    fprintf (stderr, "%s: %s '%s' is out of range (more than 2^64 - 1)\n",
             prog, what, text);
  else if (size)
    fprintf (stderr, "%s: %s '%s' is not a size (a number, decimal or 0x hex, "
             "with an optional K, M, G, T, P or E suffix)\n", prog, what, text);
  else
    fprintf (stderr, "%s: %s '%s' is not a number (decimal, or hexadecimal "
             "after 0x)\n", prog, what, text);
  return -1;
}

static int
create_cmd (const char *cmd, struct vmdk_create_params *cp, const char *a, const char *b)
{
  struct vmdk_error err;
  uint64_t bytes;

  if (!strcmp (cmd, "snapshot")) {
    if (vmdk_create_child (a, b, cp, &err) == -1)
      return fail (&err);
    return 0;
  }
  if (number_arg ("SIZE", b, true, &bytes) == -1)
    return 2;
  if (bytes == 0) {
    fprintf (stderr, "%s: SIZE must not be 0\n", prog);
    return 2;
  }
  cp->capacity = bytes / 512 + (bytes % 512 != 0);   /* no overflow */
  if (vmdk_create (a, cp, &err) == -1)
    return fail (&err);
  return 0;
}

static int
write_in (struct vmdk_disk *d, uint64_t off)
{
  struct vmdk_error err;
  char buf[65536];
  ssize_t n;

  do {
    n = vx_full_read (0, buf, sizeof buf);   /* short: end of input */
    if (n < 0) {
      fprintf (stderr, "%s: reading stdin: %s\n", prog, strerror (errno));
      return 1;
    }
    if (n > 0 && vmdk_pwrite (d, buf, (size_t) n, off, 0, &err) == -1)
      return fail (&err);
    off += (uint64_t) n;
  } while ((size_t) n == sizeof buf);
  if (vmdk_flush (d, &err) == -1)
    return fail (&err);
  return 0;
}

int
main (int argc, char **argv)
{
  enum { O_SINGLE = 256, O_ESCAPE, O_DEVICES, O_NOCID, O_JSON, O_THIS, O_TYPE,
         O_ZEROED, O_ADAPTER, O_LOCK };
  static const struct option longopts[] = {
    { "single-link", no_argument, NULL, O_SINGLE },
    { "allow-escape", no_argument, NULL, O_ESCAPE },
    { "allow-devices", no_argument, NULL, O_DEVICES },
    { "no-cid-check", no_argument, NULL, O_NOCID },
    { "json", no_argument, NULL, O_JSON },
    { "this-layer", no_argument, NULL, O_THIS },
    { "type", required_argument, NULL, O_TYPE },
    { "zeroed-grain", no_argument, NULL, O_ZEROED },
    { "adapter", required_argument, NULL, O_ADAPTER },
    { "lock", no_argument, NULL, O_LOCK },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct vmdk_options o = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_create_params cp = { 0 };
  bool json = false, this_layer = false;
  struct vmdk_error err;
  struct vmdk_disk *d;
  const char *cmd;
  int c, r = 0;

  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  cmd = argv[1];
  if (!strcmp (cmd, "-h") || !strcmp (cmd, "--help")) {
    usage (stdout);
    return 0;
  }
  optind = 2;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case O_SINGLE: o.flags |= VMDK_OPEN_SINGLE_LINK; break;
    case O_ESCAPE: o.flags |= VMDK_OPEN_ALLOW_ESCAPE; break;
    case O_DEVICES: o.flags |= VMDK_OPEN_ALLOW_DEVICES; break;
    case O_NOCID: o.flags |= VMDK_OPEN_NO_CID_CHECK; break;
    case O_JSON: json = true; break;
    case O_THIS: this_layer = true; break;
    case O_TYPE: cp.create_type = optarg; break;
    case O_ZEROED: cp.zeroed_grain = true; break;
    case O_ADAPTER: cp.adapter_type = optarg; break;
    case O_LOCK: o.flags |= VMDK_OPEN_LOCK; break;
    case 'h': usage (stdout); return 0;
    default: usage (stderr); return 2;
    }
  }
  int nargs = argc - optind;
  if ((!strcmp (cmd, "info") || !strcmp (cmd, "map")) ? nargs != 1
      : (!strcmp (cmd, "cat") || !strcmp (cmd, "write") || !strcmp (cmd, "create")
         || !strcmp (cmd, "snapshot") || !strcmp (cmd, "clone")) ? nargs != 2
      : !strcmp (cmd, "set-ddb") ? (nargs != 2 && nargs != 3)
      : (!strcmp (cmd, "read") || !strcmp (cmd, "zero")) ? nargs != 3 : 1) {
    usage (stderr);
    return 2;
  }
  if (!strcmp (cmd, "create") || !strcmp (cmd, "snapshot"))
    return create_cmd (cmd, &cp, argv[optind], argv[optind + 1]);
  if (!strcmp (cmd, "write") || !strcmp (cmd, "zero") || !strcmp (cmd, "set-ddb"))
    o.flags &= ~VMDK_OPEN_RDONLY;

  d = vmdk_open (argv[optind], &o, &err);
  if (!d)
    return fail (&err);

  if (!strcmp (cmd, "info")) {
    if (json) {
      vx_info_json (d, stdout, 0);
      putchar ('\n');
    }
    else
      r = vx_info_text (d, stdout, &err) == -1 ? fail (&err) : 0;
  }
  else if (!strcmp (cmd, "map")) {
    struct map_out m = { .f = stdout, .first = true };
    if (vmdk_map (d, 0, vmdk_size (d), this_layer ? VMDK_MAP_THIS_LAYER : 0, map_cb,
                  &m, &err) == -1)
      r = fail (&err);
    else
      fputs (m.first ? "[]\n" : "]\n", stdout);
  }
  else if (!strcmp (cmd, "cat")) {
    const char *out = argv[optind + 1];
    int fd = strcmp (out, "-") ? open (out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 1;
    if (fd < 0) {
      fprintf (stderr, "%s: %s: %s\n", prog, out, strerror (errno));
      r = 1;
    }
    else {
      r = copy_out (d, 0, vmdk_size (d), fd, out);
      if (fd != 1 && close (fd) == -1 && r == 0) {
        fprintf (stderr, "%s: %s: %s\n", prog, out, strerror (errno));
        r = 1;
      }
    }
  }
  else if (!strcmp (cmd, "clone")) {
    if (vmdk_clone (d, argv[optind + 1], &cp, NULL, NULL, &err) == -1)
      r = fail (&err);
  }
  else if (!strcmp (cmd, "set-ddb")) {
    if (vmdk_ddb_set (d, argv[optind + 1], nargs == 3 ? argv[optind + 2] : NULL, &err) == -1)
      r = fail (&err);
  }
  else if (!strcmp (cmd, "write")) {
    uint64_t off;
    if (number_arg ("OFFSET", argv[optind + 1], false, &off) == -1)
      r = 2;
    else
      r = write_in (d, off);
  }
  else if (!strcmp (cmd, "zero")) {
    uint64_t off, len;
    if (number_arg ("OFFSET", argv[optind + 1], false, &off) == -1
        || number_arg ("LENGTH", argv[optind + 2], false, &len) == -1)
      r = 2;
    else if (vmdk_zero (d, len, off, 0, &err) == -1 || vmdk_flush (d, &err) == -1)
      r = fail (&err);
  }
  else {
    uint64_t off, len;
    if (number_arg ("OFFSET", argv[optind + 1], false, &off) == -1
        || number_arg ("LENGTH", argv[optind + 2], false, &len) == -1)
      r = 2;
    else
      r = copy_out (d, off, len, 1, "stdout");
  }
  if (fflush (stdout) == EOF && r == 0) {
    fprintf (stderr, "%s: writing stdout: %s\n", prog, strerror (errno));
    r = 1;
  }
  vmdk_close (d);
  return r;
}

/* backup-client: a VixDiskLib client written the way backup programs are.
 *
 * Built by tests/integration/vixdisklib-*.sh against the *installed*
 * headers and library only:  cc $(pkg-config --cflags --libs vixDiskLib).
 * Uses nothing but vixDiskLib.h and libc.
 *
 *   backup-client [--config FILE] COMMAND ARGS...
 *
 *   backup DISK OUT [--single-link] [--async] [--chunk N]
 *       InitEx -> ConnectEx -> Open(read-only) -> GetInfo -> Read every
 *       sector (OUT.raw) -> QueryAllocatedBlocks (OUT.blocks: "offset
 *       length" in sectors) -> metadata (OUT.meta: "key = value") -> info
 *       (OUT.info) -> Close -> Disconnect -> Exit
 *   restore RAW DISK TYPE [ADAPTER]
 *       Create a disk of TYPE (1..8, see VixDiskLibDiskType) sized for RAW,
 *       Open it read/write, Write RAW's non-zero chunks (sync and async
 *       alternately), Flush, WriteMetadata, Close
 *   child PARENT CHILD TYPE SECTOR COUNT BYTE
 *       Open PARENT read-only, CreateChild, Close; Open CHILD, Write COUNT
 *       sectors of BYTE at SECTOR, Close
 *   clone SRC DST TYPE [overwrite]
 *       Clone with a progress callback (prints the last percentage)
 *   write DISK SECTOR COUNT BYTE
 *   setmeta DISK KEY VALUE          WriteMetadata, then ReadMetadata back
 *   attach PARENT CHILD OUT         Open PARENT read-only, CHILD single-link,
 *                                   Attach, Read all into OUT
 *   grow DISK CAPACITY
 *   rename SRC DST
 *   unlink DISK
 *   space DISK TYPE                 SpaceNeededForClone
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vixDiskLib.h"

#define VIXDISKLIB_VERSION_MAJOR 7
#define VIXDISKLIB_VERSION_MINOR 0

#define BUF_SECTORS 2048   /* 1 MiB per call */

static const char *config;
static VixDiskLibConnection conn;
static int log_lines;

static void
log_func (const char *fmt, va_list args)
{
  char buf[4096];

  vsnprintf (buf, sizeof buf, fmt, args);
  log_lines++;
  if (getenv ("BACKUP_CLIENT_VERBOSE"))
    fprintf (stderr, "log: %s", buf);
}

static void
warn_func (const char *fmt, va_list args)
{
  fprintf (stderr, "warn: ");
  vfprintf (stderr, fmt, args);
}

static int
fail (const char *what, VixError err)
{
  char *text = VixDiskLib_GetErrorText (err, NULL);

  fprintf (stderr, "error: %s: %llu: %s\n", what, (unsigned long long) err,
           text ? text : "(no text)");
  VixDiskLib_FreeErrorText (text);
  return 1;
}

#define CHECK(call, what)                       \
  do {                                          \
    VixError e_ = (call);                       \
    if (VIX_FAILED (e_))                        \
      return fail ((what), e_);                 \
  } while (0)

static int
start (void)
{
  VixDiskLibConnectParams *params;
  VixError err;

  CHECK (VixDiskLib_InitEx (VIXDISKLIB_VERSION_MAJOR, VIXDISKLIB_VERSION_MINOR,
                            &log_func, &warn_func, &warn_func,
                            "/usr/lib/vmware-vix-disklib/lib64", config),
         "InitEx");
  /* nbdkit style: an allocated struct, no server name (local) */
  params = VixDiskLib_AllocateConnectParams ();
  if (!params)
    return fail ("AllocateConnectParams", VIX_E_OUT_OF_MEMORY);
  err = VixDiskLib_ConnectEx (params, FALSE, NULL, NULL, &conn);
  VixDiskLib_FreeConnectParams (params);
  if (VIX_FAILED (err))
    return fail ("ConnectEx", err);
  return 0;
}

static int
finish (void)
{
  CHECK (VixDiskLib_Disconnect (conn), "Disconnect");
  VixDiskLib_Exit ();
  return 0;
}

static FILE *
open_out (const char *base, const char *ext)
{
  char name[4096];
  FILE *f;

  snprintf (name, sizeof name, "%s%s", base, ext);
  f = fopen (name, "w");
  if (!f)
    perror (name);
  return f;
}

/* ---- backup ------------------------------------------------------------------ */

struct async_state { int submitted, completed; VixError first_error; };

static void
completion (void *data, VixError result)
{
  struct async_state *s = data;

  s->completed++;
  if (result != VIX_OK && s->first_error == VIX_OK)
    s->first_error = result;
}

static int
cmd_backup (int argc, char **argv)
{
  const char *disk, *out;
  uint32 flags = VIXDISKLIB_FLAG_OPEN_READ_ONLY;
  int async = 0;
  VixDiskLibSectorType chunk = VIXDISKLIB_MIN_CHUNK_SIZE;
  VixDiskLibHandle h;
  VixDiskLibInfo *info;
  VixDiskLibSectorType cap, pos;
  uint8 *buf;
  FILE *f;
  size_t len;
  char *keys;

  if (argc < 3)
    return fprintf (stderr, "usage: backup DISK OUT [opts]\n"), 2;
  disk = argv[1];
  out = argv[2];
  for (int i = 3; i < argc; i++) {
    if (strcmp (argv[i], "--single-link") == 0)
      flags |= VIXDISKLIB_FLAG_OPEN_SINGLE_LINK;
    else if (strcmp (argv[i], "--async") == 0)
      async = 1;
    else if (strcmp (argv[i], "--chunk") == 0 && i + 1 < argc)
      chunk = strtoull (argv[++i], NULL, 10);
    else
      return fprintf (stderr, "unknown option %s\n", argv[i]), 2;
  }

  if (start ())
    return 1;
  CHECK (VixDiskLib_Open (conn, disk, flags, &h), "Open");
  if (strcmp (VixDiskLib_GetTransportMode (h), "file") != 0)
    return fprintf (stderr, "transport mode is not file\n"), 1;
  CHECK (VixDiskLib_GetInfo (h, &info), "GetInfo");
  cap = info->capacity;

  /* info */
  if (!(f = open_out (out, ".info")))
    return 1;
  fprintf (f, "capacity=%" FMT64 "u\n", (uint64) info->capacity);
  fprintf (f, "adapterType=%d\n", (int) info->adapterType);
  fprintf (f, "numLinks=%d\n", info->numLinks);
  fprintf (f, "parentFileNameHint=%s\n",
           info->parentFileNameHint ? info->parentFileNameHint : "(null)");
  fprintf (f, "uuid=%s\n", info->uuid ? info->uuid : "(null)");
  fprintf (f, "physGeo=%u/%u/%u\n", info->physGeo.cylinders,
           info->physGeo.heads, info->physGeo.sectors);
  fprintf (f, "biosGeo=%u/%u/%u\n", info->biosGeo.cylinders,
           info->biosGeo.heads, info->biosGeo.sectors);
  fprintf (f, "logicalSectorSize=%u\n", info->logicalSectorSize);
  fprintf (f, "physicalSectorSize=%u\n", info->physicalSectorSize);
  fprintf (f, "transportModes=%s\n", VixDiskLib_ListTransportModes ());
  fclose (f);
  VixDiskLib_FreeInfo (info);

  /* data */
  if (!(f = open_out (out, ".raw")))
    return 1;
  if (async) {
    /* one buffer per request, all in flight before Wait */
    size_t n = (size_t) ((cap + BUF_SECTORS - 1) / BUF_SECTORS);
    struct async_state st = { 0, 0, VIX_OK };
    uint8 *all = malloc (n ? n * BUF_SECTORS * VIXDISKLIB_SECTOR_SIZE : 1);
    if (!all)
      return fprintf (stderr, "out of memory\n"), 1;
    for (pos = 0; pos < cap; pos += BUF_SECTORS) {
      VixDiskLibSectorType k = cap - pos < BUF_SECTORS ? cap - pos : BUF_SECTORS;
      VixError err = VixDiskLib_ReadAsync (h, pos, k,
                                           all + pos * VIXDISKLIB_SECTOR_SIZE,
                                           completion, &st);
      if (err != VIX_ASYNC)
        return fail ("ReadAsync", err);
      st.submitted++;
    }
    CHECK (VixDiskLib_Wait (h), "Wait");
    if (st.completed != st.submitted)
      return fprintf (stderr, "%d of %d completions\n", st.completed,
                      st.submitted), 1;
    if (st.first_error != VIX_OK)
      return fail ("ReadAsync completion", st.first_error);
    if (cap && fwrite (all, VIXDISKLIB_SECTOR_SIZE, cap, f) != cap)
      return perror ("write"), 1;
    free (all);
  }
  else {
    buf = malloc (BUF_SECTORS * VIXDISKLIB_SECTOR_SIZE);
    if (!buf)
      return fprintf (stderr, "out of memory\n"), 1;
    for (pos = 0; pos < cap; pos += BUF_SECTORS) {
      VixDiskLibSectorType k = cap - pos < BUF_SECTORS ? cap - pos : BUF_SECTORS;
      CHECK (VixDiskLib_Read (h, pos, k, buf), "Read");
      if (fwrite (buf, VIXDISKLIB_SECTOR_SIZE, k, f) != k)
        return perror ("write"), 1;
    }
    free (buf);
  }
  fclose (f);

  /* allocated blocks, in calls of at most VIXDISKLIB_MAX_CHUNK_NUMBER chunks,
   * the last chunk rounded up past the end as nbdkit does */
  if (!(f = open_out (out, ".blocks")))
    return 1;
  for (pos = 0; pos < cap; ) {
    VixDiskLibSectorType chunks = (cap - pos + chunk - 1) / chunk;
    VixDiskLibBlockList *bl;
    if (chunks > VIXDISKLIB_MAX_CHUNK_NUMBER)
      chunks = VIXDISKLIB_MAX_CHUNK_NUMBER;
    CHECK (VixDiskLib_QueryAllocatedBlocks (h, pos, chunks * chunk, chunk, &bl),
           "QueryAllocatedBlocks");
    for (uint32 i = 0; i < bl->numBlocks; i++)
      fprintf (f, "%" FMT64 "u %" FMT64 "u\n", (uint64) bl->blocks[i].offset,
               (uint64) bl->blocks[i].length);
    CHECK (VixDiskLib_FreeBlockList (bl), "FreeBlockList");
    pos += chunks * chunk;
  }
  fclose (f);

  /* metadata: the two-call pattern for the key list and each value */
  if (VixDiskLib_GetMetadataKeys (h, NULL, 0, &len) != VIX_E_BUFFER_TOOSMALL)
    return fprintf (stderr, "GetMetadataKeys(NULL) did not ask for a buffer\n"), 1;
  keys = malloc (len);
  if (!keys)
    return 1;
  CHECK (VixDiskLib_GetMetadataKeys (h, keys, len, NULL), "GetMetadataKeys");
  if (!(f = open_out (out, ".meta")))
    return 1;
  for (char *k = keys; *k; k += strlen (k) + 1) {
    char one[1], *val;
    size_t need = 0;
    VixError err = VixDiskLib_ReadMetadata (h, k, one, sizeof one, &need);
    if (err != VIX_E_BUFFER_TOOSMALL && err != VIX_OK)
      return fail ("ReadMetadata (size)", err);
    val = malloc (need);
    if (!val)
      return 1;
    CHECK (VixDiskLib_ReadMetadata (h, k, val, need, NULL), "ReadMetadata");
    fprintf (f, "%s = %s\n", k, val);
    free (val);
  }
  fclose (f);
  free (keys);

  CHECK (VixDiskLib_Close (h), "Close");
  return finish ();
}

/* ---- write side ------------------------------------------------------------- */

static int
progress_calls, progress_last = -1;

static Bool
progress (void *data, int pct)
{
  (void) data;
  progress_calls++;
  progress_last = pct;
  return TRUE;
}

static VixDiskLibAdapterType
adapter_of (const char *s)
{
  if (!s || strcmp (s, "ide") == 0)
    return VIXDISKLIB_ADAPTER_IDE;
  if (strcmp (s, "buslogic") == 0)
    return VIXDISKLIB_ADAPTER_SCSI_BUSLOGIC;
  if (strcmp (s, "lsilogic") == 0)
    return VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
  return VIXDISKLIB_ADAPTER_UNKNOWN;
}

static int
is_zero (const uint8 *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

static int
cmd_restore (int argc, char **argv)
{
  VixDiskLibCreateParams cp;
  VixDiskLibHandle h;
  struct async_state st = { 0, 0, VIX_OK };
  struct stat sb;
  uint8 *buf;
  int fd, n = 0;
  VixDiskLibSectorType pos;

  if (argc < 4)
    return fprintf (stderr, "usage: restore RAW DISK TYPE [ADAPTER]\n"), 2;
  fd = open (argv[1], O_RDONLY);
  if (fd == -1 || fstat (fd, &sb) == -1)
    return perror (argv[1]), 1;
  memset (&cp, 0, sizeof cp);
  cp.diskType = (VixDiskLibDiskType) atoi (argv[3]);
  cp.adapterType = adapter_of (argc > 4 ? argv[4] : NULL);
  cp.hwVersion = VIXDISKLIB_HWVERSION_WORKSTATION_5;
  cp.capacity = ((uint64) sb.st_size + VIXDISKLIB_SECTOR_SIZE - 1)
    / VIXDISKLIB_SECTOR_SIZE;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Create (conn, argv[2], &cp, progress, NULL), "Create");
  if (cp.diskType == VIXDISKLIB_DISK_STREAM_OPTIMIZED) {
    /* not writable: only check it opens */
    CHECK (VixDiskLib_Open (conn, argv[2], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
           "Open");
    CHECK (VixDiskLib_Close (h), "Close");
    close (fd);
    return finish ();
  }
  CHECK (VixDiskLib_Open (conn, argv[2], 0, &h), "Open");
  buf = malloc (BUF_SECTORS * VIXDISKLIB_SECTOR_SIZE);
  if (!buf)
    return 1;
  for (pos = 0; pos < cp.capacity; pos += BUF_SECTORS) {
    VixDiskLibSectorType k = cp.capacity - pos < BUF_SECTORS
      ? cp.capacity - pos : BUF_SECTORS;
    ssize_t r;
    memset (buf, 0, BUF_SECTORS * VIXDISKLIB_SECTOR_SIZE);
    r = pread (fd, buf, k * VIXDISKLIB_SECTOR_SIZE,
               (off_t) (pos * VIXDISKLIB_SECTOR_SIZE));
    if (r < 0)
      return perror ("pread"), 1;
    if (is_zero (buf, k * VIXDISKLIB_SECTOR_SIZE))
      continue;   /* a restore leaves holes alone */
    if (n++ % 2) {
      VixError err = VixDiskLib_WriteAsync (h, pos, k, buf, completion, &st);
      if (err != VIX_ASYNC)
        return fail ("WriteAsync", err);
      st.submitted++;
      CHECK (VixDiskLib_Wait (h), "Wait");   /* buf is reused */
    }
    else
      CHECK (VixDiskLib_Write (h, pos, k, buf), "Write");
  }
  if (st.completed != st.submitted || st.first_error != VIX_OK)
    return fail ("WriteAsync completion", st.first_error ? st.first_error
                 : VIX_E_FAIL);
  CHECK (VixDiskLib_Flush (h), "Flush");
  CHECK (VixDiskLib_WriteMetadata (h, "vixmount.restored", "yes"),
         "WriteMetadata");
  CHECK (VixDiskLib_Close (h), "Close");
  free (buf);
  close (fd);
  printf ("progress calls=%d last=%d\n", progress_calls, progress_last);
  return finish ();
}

static int
write_pattern (VixDiskLibHandle h, VixDiskLibSectorType sector,
               VixDiskLibSectorType count, int byte)
{
  uint8 *buf = malloc (count * VIXDISKLIB_SECTOR_SIZE);

  if (!buf)
    return 1;
  memset (buf, byte, count * VIXDISKLIB_SECTOR_SIZE);
  CHECK (VixDiskLib_Write (h, sector, count, buf), "Write");
  free (buf);
  return 0;
}

static int
cmd_child (int argc, char **argv)
{
  VixDiskLibHandle p, c;

  if (argc < 7)
    return fprintf (stderr, "usage: child PARENT CHILD TYPE SECTOR COUNT BYTE\n"), 2;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Open (conn, argv[1], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &p),
         "Open parent");
  CHECK (VixDiskLib_CreateChild (p, argv[2], (VixDiskLibDiskType) atoi (argv[3]),
                                 progress, NULL), "CreateChild");
  CHECK (VixDiskLib_Close (p), "Close parent");
  CHECK (VixDiskLib_Open (conn, argv[2], 0, &c), "Open child");
  if (write_pattern (c, strtoull (argv[4], NULL, 10), strtoull (argv[5], NULL, 10),
                     (int) strtol (argv[6], NULL, 0)))
    return 1;
  CHECK (VixDiskLib_Close (c), "Close child");
  return finish ();
}

static int
cmd_clone (int argc, char **argv)
{
  VixDiskLibCreateParams cp;

  if (argc < 4)
    return fprintf (stderr, "usage: clone SRC DST TYPE [overwrite]\n"), 2;
  memset (&cp, 0, sizeof cp);
  cp.diskType = (VixDiskLibDiskType) atoi (argv[3]);
  cp.adapterType = VIXDISKLIB_ADAPTER_SCSI_LSILOGIC;
  cp.hwVersion = VIXDISKLIB_HWVERSION_ESX4X;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Clone (conn, argv[2], conn, argv[1], &cp, progress, NULL,
                           argc > 4 && strcmp (argv[4], "overwrite") == 0),
         "Clone");
  printf ("progress calls=%d last=%d\n", progress_calls, progress_last);
  return finish ();
}

static int
cmd_write (int argc, char **argv)
{
  VixDiskLibHandle h;

  if (argc < 5)
    return fprintf (stderr, "usage: write DISK SECTOR COUNT BYTE\n"), 2;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Open (conn, argv[1], 0, &h), "Open");
  if (write_pattern (h, strtoull (argv[2], NULL, 10), strtoull (argv[3], NULL, 10),
                     (int) strtol (argv[4], NULL, 0)))
    return 1;
  CHECK (VixDiskLib_Close (h), "Close");
  return finish ();
}

static int
cmd_setmeta (int argc, char **argv)
{
  VixDiskLibHandle h;
  char val[1024];

  if (argc < 4)
    return fprintf (stderr, "usage: setmeta DISK KEY VALUE\n"), 2;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Open (conn, argv[1], 0, &h), "Open");
  CHECK (VixDiskLib_WriteMetadata (h, argv[2], argv[3]), "WriteMetadata");
  CHECK (VixDiskLib_ReadMetadata (h, argv[2], val, sizeof val, NULL),
         "ReadMetadata");
  printf ("%s = %s\n", argv[2], val);
  CHECK (VixDiskLib_Close (h), "Close");
  return finish ();
}

static int
cmd_attach (int argc, char **argv)
{
  VixDiskLibHandle p, c;
  VixDiskLibInfo *info;
  uint8 *buf;
  FILE *f;

  if (argc < 4)
    return fprintf (stderr, "usage: attach PARENT CHILD OUT\n"), 2;
  if (start ())
    return 1;
  CHECK (VixDiskLib_Open (conn, argv[1], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &p),
         "Open parent");
  CHECK (VixDiskLib_Open (conn, argv[2], VIXDISKLIB_FLAG_OPEN_SINGLE_LINK
                          | VIXDISKLIB_FLAG_OPEN_READ_ONLY, &c), "Open child");
  CHECK (VixDiskLib_IsAttachPossible (p, c), "IsAttachPossible");
  CHECK (VixDiskLib_Attach (p, c), "Attach");
  /* the parent handle is consumed by Attach */
  if (VixDiskLib_Close (p) == VIX_OK)
    return fprintf (stderr, "Close(parent) after Attach succeeded\n"), 1;
  CHECK (VixDiskLib_GetInfo (c, &info), "GetInfo");
  printf ("numLinks=%d\n", info->numLinks);
  if (!(f = fopen (argv[3], "w")))
    return perror (argv[3]), 1;
  buf = malloc (BUF_SECTORS * VIXDISKLIB_SECTOR_SIZE);
  for (VixDiskLibSectorType pos = 0; pos < info->capacity; pos += BUF_SECTORS) {
    VixDiskLibSectorType k = info->capacity - pos < BUF_SECTORS
      ? info->capacity - pos : BUF_SECTORS;
    CHECK (VixDiskLib_Read (c, pos, k, buf), "Read");
    fwrite (buf, VIXDISKLIB_SECTOR_SIZE, k, f);
  }
  fclose (f);
  free (buf);
  VixDiskLib_FreeInfo (info);
  CHECK (VixDiskLib_Close (c), "Close child");
  return finish ();
}

static int
cmd_simple (int argc, char **argv)
{
  const char *cmd = argv[0];
  VixDiskLibHandle h;
  uint64 space;

  if (start ())
    return 1;
  if (strcmp (cmd, "grow") == 0 && argc >= 3)
    CHECK (VixDiskLib_Grow (conn, argv[1], strtoull (argv[2], NULL, 10), FALSE,
                            progress, NULL), "Grow");
  else if (strcmp (cmd, "rename") == 0 && argc >= 3)
    CHECK (VixDiskLib_Rename (argv[1], argv[2]), "Rename");
  else if (strcmp (cmd, "unlink") == 0 && argc >= 2)
    CHECK (VixDiskLib_Unlink (conn, argv[1]), "Unlink");
  else if (strcmp (cmd, "space") == 0 && argc >= 3) {
    CHECK (VixDiskLib_Open (conn, argv[1], VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
           "Open");
    CHECK (VixDiskLib_SpaceNeededForClone (h, (VixDiskLibDiskType) atoi (argv[2]),
                                           &space), "SpaceNeededForClone");
    printf ("%" FMT64 "u\n", space);
    CHECK (VixDiskLib_Close (h), "Close");
  }
  else
    return fprintf (stderr, "bad command or arguments: %s\n", cmd), 2;
  return finish ();
}

int
main (int argc, char **argv)
{
  int i = 1;

  if (argc > 2 && strcmp (argv[1], "--config") == 0) {
    config = argv[2];
    i = 3;
  }
  if (i >= argc)
    return fprintf (stderr, "usage: %s [--config FILE] COMMAND ARGS...\n",
                    argv[0]), 2;
  argc -= i;
  argv += i;
  if (strcmp (argv[0], "backup") == 0) return cmd_backup (argc, argv);
  if (strcmp (argv[0], "restore") == 0) return cmd_restore (argc, argv);
  if (strcmp (argv[0], "child") == 0) return cmd_child (argc, argv);
  if (strcmp (argv[0], "clone") == 0) return cmd_clone (argc, argv);
  if (strcmp (argv[0], "write") == 0) return cmd_write (argc, argv);
  if (strcmp (argv[0], "setmeta") == 0) return cmd_setmeta (argc, argv);
  if (strcmp (argv[0], "attach") == 0) return cmd_attach (argc, argv);
  return cmd_simple (argc, argv);
}

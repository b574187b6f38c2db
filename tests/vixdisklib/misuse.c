/* vixdisklib-misuse DIR: wrong use of the VixDiskLib API returns the
 * documented error codes and never crashes, leaks or aborts (the suite also
 * runs this under ASan/UBSan with leak detection).
 *
 * DIR holds disks made by tests/integration/vixdisklib-misuse.sh:
 *   small.vmdk   monolithicSparse, 2049 sectors (a partial last chunk)
 *   rw.vmdk      monolithicSparse, 2048 sectors, for read/write opens
 *   big.vmdk     monolithicSparse, 40 GiB (more than MAX_CHUNK_NUMBER chunks)
 *   child.vmdk   a delta link on small.vmdk
 *   garbage.vmdk a text file that is not a VMDK
 *   random.bin   1 MiB of random bytes (not a VMDK either)
 *   hugedesc.vmdk a descriptor over the engine's 1 MiB size cap
 * Prints "PASS what" / "FAIL what: got X, expected Y" lines.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vixDiskLib.h"

#define VIXDISKLIB_VERSION_MAJOR 7
#define VIXDISKLIB_VERSION_MINOR 0

static int failures;
static char small[4096], rw[4096], big[4096], child[4096], garbage[4096],
  missing[4096], newdisk[4096], random_file[4096], hugedesc[4096];
static int log_count, warn_count, panic_count;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static void
log_fn (const char *fmt, va_list ap)
{
  (void) fmt; (void) ap;
  pthread_mutex_lock (&count_lock);
  log_count++;
  pthread_mutex_unlock (&count_lock);
}

static void
warn_fn (const char *fmt, va_list ap)
{
  char buf[2048];

  vsnprintf (buf, sizeof buf, fmt, ap);
  pthread_mutex_lock (&count_lock);
  warn_count++;
  pthread_mutex_unlock (&count_lock);
  if (getenv ("MISUSE_VERBOSE"))
    fprintf (stderr, "warn: %s", buf);
}

static void
panic_fn (const char *fmt, va_list ap)
{
  (void) fmt; (void) ap;
  panic_count++;   /* and return: the library must not rely on us exiting */
}

static void
expect (const char *what, VixError got, VixError want)
{
  if (got == want)
    printf ("PASS %s -> %llu\n", what, (unsigned long long) want);
  else {
    char *t = VixDiskLib_GetErrorText (got, NULL);
    printf ("FAIL %s: got %llu (%s), expected %llu\n", what,
            (unsigned long long) got, t ? t : "?", (unsigned long long) want);
    VixDiskLib_FreeErrorText (t);
    failures++;
  }
}

static void
truth (const char *what, int cond)
{
  if (cond)
    printf ("PASS %s\n", what);
  else {
    printf ("FAIL %s\n", what);
    failures++;
  }
}

static int cb_calls;
static VixError cb_result;

static void
completion (void *data, VixError result)
{
  (void) data;
  cb_calls++;
  cb_result = result;
}

/* ---- threads -------------------------------------------------------------- */

struct reader { VixDiskLibHandle h; int iterations; int bad; VixError last; };

static void *
read_loop (void *arg)
{
  struct reader *r = arg;
  uint8 buf[8 * 512];

  for (int i = 0; i < r->iterations; i++) {
    VixError e = VixDiskLib_Read (r->h, (uint64) (i * 7 % 2000), 8, buf);
    r->last = e;
    if (e != VIX_OK && e != VIX_E_INVALID_HANDLE)
      r->bad++;
    if (e == VIX_E_INVALID_HANDLE)
      break;   /* closed under us: reported cleanly */
  }
  return NULL;
}

struct opener { VixDiskLibConnection c; int iterations; int bad; };

static void *
open_close_loop (void *arg)
{
  struct opener *o = arg;

  for (int i = 0; i < o->iterations; i++) {
    VixDiskLibHandle h;
    VixDiskLibInfo *info;
    if (VixDiskLib_Open (o->c, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h)
        != VIX_OK) {
      o->bad++;
      continue;
    }
    if (VixDiskLib_GetInfo (h, &info) != VIX_OK || info->capacity != 2049)
      o->bad++;
    else
      VixDiskLib_FreeInfo (info);
    if (VixDiskLib_Close (h) != VIX_OK)
      o->bad++;
  }
  return NULL;
}

static void *
error_text_in_thread (void *arg)
{
  char *t = VixDiskLib_GetErrorText (VIX_E_FILE_NOT_FOUND, NULL);
  *(int *) arg = t && !strstr (t, "does-not-exist");
  VixDiskLib_FreeErrorText (t);
  return NULL;
}

int
main (int argc, char **argv)
{
  VixDiskLibConnection conn = NULL, roconn = NULL, c2;
  VixDiskLibConnectParams remote, *ap, *gp;
  VixDiskLibHandle h = NULL, h2, h3, hc, hrw, hrw2;
  VixDiskLibInfo *info = NULL;
  VixDiskLibBlockList *bl = NULL;
  VixDiskLibCreateParams cp;
  uint8 buf[4 * 512];
  char meta[256], *t;
  size_t need;
  uint32 n1 = 7, n2 = 7;
  uint64 space;
  int garbage_local = 0;

  if (argc < 2) {
    fprintf (stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  snprintf (small, sizeof small, "%s/small.vmdk", argv[1]);
  snprintf (rw, sizeof rw, "%s/rw.vmdk", argv[1]);
  snprintf (big, sizeof big, "%s/big.vmdk", argv[1]);
  snprintf (child, sizeof child, "%s/child.vmdk", argv[1]);
  snprintf (garbage, sizeof garbage, "%s/garbage.vmdk", argv[1]);
  snprintf (random_file, sizeof random_file, "%s/random.bin", argv[1]);
  snprintf (hugedesc, sizeof hugedesc, "%s/hugedesc.vmdk", argv[1]);
  snprintf (missing, sizeof missing, "%s/does-not-exist.vmdk", argv[1]);
  snprintf (newdisk, sizeof newdisk, "%s/new.vmdk", argv[1]);

  /* ---- before Init ---------------------------------------------------- */
  VixDiskLib_Exit ();
  truth ("Exit before Init does nothing", 1);
  expect ("Connect before Init", VixDiskLib_Connect (NULL, &conn),
          VIX_E_DISK_NOINIT);
  truth ("Connect before Init leaves the connection NULL", conn == NULL);
  t = VixDiskLib_GetErrorText (VIX_E_DISK_NOINIT, NULL);
  truth ("GetErrorText works before Init", t && *t);
  VixDiskLib_FreeErrorText (t);

  /* ---- Init ------------------------------------------------------------- */
  expect ("InitEx(9, 0): newer than the library", VixDiskLib_InitEx
          (9, 0, log_fn, warn_fn, panic_fn, NULL, NULL), VIX_E_NOT_SUPPORTED);
  expect ("InitEx(0, 0)", VixDiskLib_InitEx (0, 0, log_fn, warn_fn, panic_fn,
                                             NULL, NULL), VIX_E_NOT_SUPPORTED);
  expect ("InitEx with a missing config file still initialises",
          VixDiskLib_InitEx (VIXDISKLIB_VERSION_MAJOR, VIXDISKLIB_VERSION_MINOR,
                             log_fn, warn_fn, panic_fn, NULL,
                             "/nonexistent/vddk.conf"), VIX_OK);
  expect ("InitEx again (idempotent)", VixDiskLib_InitEx
          (6, 5, log_fn, warn_fn, panic_fn, NULL, NULL), VIX_OK);
  truth ("the missing config file was reported to the warn callback",
         warn_count > 0);

  /* ---- connections ---------------------------------------------------- */
  memset (&remote, 0, sizeof remote);
  remote.serverName = (char *) "esx.example.com";
  remote.credType = VIXDISKLIB_CRED_UID;
  c2 = (VixDiskLibConnection) &garbage_local;
  expect ("ConnectEx to a server", VixDiskLib_ConnectEx (&remote, FALSE, NULL,
                                                         "nbd", &c2),
          VIX_E_NOT_SUPPORTED);
  truth ("failed ConnectEx sets the connection to NULL", c2 == NULL);
  expect ("Connect with NULL out pointer", VixDiskLib_Connect (NULL, NULL),
          VIX_E_INVALID_ARG);
  expect ("PrepareForAccess for a server",
          VixDiskLib_PrepareForAccess (&remote, "misuse"), VIX_E_NOT_SUPPORTED);
  expect ("PrepareForAccess local", VixDiskLib_PrepareForAccess (NULL, "x"),
          VIX_OK);
  expect ("EndAccess local", VixDiskLib_EndAccess (NULL, "x"), VIX_OK);
  expect ("Cleanup", VixDiskLib_Cleanup (NULL, &n1, &n2), VIX_OK);
  truth ("Cleanup reports 0 cleaned up, 0 remaining", n1 == 0 && n2 == 0);
  expect ("Connect(NULL params) is local", VixDiskLib_Connect (NULL, &conn),
          VIX_OK);
  expect ("ConnectEx read-only", VixDiskLib_ConnectEx (NULL, TRUE, NULL, NULL,
                                                       &roconn), VIX_OK);

  ap = VixDiskLib_AllocateConnectParams ();
  truth ("AllocateConnectParams: zeroed, specType VMX",
         ap && !ap->vmxSpec && !ap->serverName && ap->specType
         == VIXDISKLIB_SPEC_VMX);
  ap->vmxSpec = (char *) "caller-owned string";   /* nbdkit does this */
  VixDiskLib_FreeConnectParams (ap);   /* must not free the string */
  truth ("FreeConnectParams leaves caller-owned member strings alone", 1);
  VixDiskLib_FreeConnectParams (&remote);   /* not ours: logged, not freed */
  truth ("FreeConnectParams of a caller's struct does not free it", 1);
  VixDiskLib_FreeConnectParams (NULL);
  expect ("GetConnectParams", VixDiskLib_GetConnectParams (conn, &gp), VIX_OK);
  truth ("GetConnectParams: local (serverName NULL)", gp && !gp->serverName);
  VixDiskLib_FreeConnectParams (gp);
  expect ("GetConnectParams(NULL connection)",
          VixDiskLib_GetConnectParams (NULL, &gp), VIX_E_INVALID_ARG);

  /* ---- Open ------------------------------------------------------------- */
  h = (VixDiskLibHandle) &garbage_local;
  expect ("Open with a NULL connection",
          VixDiskLib_Open (NULL, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_INVALID_ARG);
  truth ("failed Open sets the handle to NULL", h == NULL);
  expect ("Open with a garbage connection pointer",
          VixDiskLib_Open ((VixDiskLibConnection) &garbage_local, small,
                           VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_DISK_INVALID_CONNECTION);
  expect ("Open with a disk handle as connection",
          VixDiskLib_Open ((VixDiskLibConnection) (void *) buf, small, 0, &h),
          VIX_E_DISK_INVALID_CONNECTION);
  expect ("Open with a NULL path",
          VixDiskLib_Open (conn, NULL, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_INVALID_ARG);
  expect ("Open with a NULL handle pointer",
          VixDiskLib_Open (conn, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY, NULL),
          VIX_E_INVALID_ARG);
  expect ("Open a missing file",
          VixDiskLib_Open (conn, missing, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_FILE_NOT_FOUND);
  t = VixDiskLib_GetErrorText (VIX_E_FILE_NOT_FOUND, NULL);
  truth ("GetErrorText after the failed Open names the file",
         t && strstr (t, "does-not-exist.vmdk"));
  VixDiskLib_FreeErrorText (t);
  {
    pthread_t th;
    int clean = 0;
    pthread_create (&th, NULL, error_text_in_thread, &clean);
    pthread_join (th, NULL);
    truth ("the error detail is per thread (another thread sees none)", clean);
  }
  t = VixDiskLib_GetErrorText (VIX_E_FILE_NOT_FOUND | (UINT64_C (0x1234) << 32),
                               NULL);
  truth ("GetErrorText uses the low 16 bits", t && strstr (t, "not found"));
  VixDiskLib_FreeErrorText (t);
  t = VixDiskLib_GetErrorText (12345, NULL);
  truth ("GetErrorText of an unknown code still gives text",
         t && strstr (t, "12345"));
  VixDiskLib_FreeErrorText (t);
  VixDiskLib_FreeErrorText (NULL);
  /* "not a disk" (VMware's sample); a real VMDK the engine refuses keeps
   * its own code */
  expect ("Open a text file that is not a VMDK",
          VixDiskLib_Open (conn, garbage, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_INCORRECT_FILE_TYPE);
  expect ("Open 1 MiB of random bytes",
          VixDiskLib_Open (conn, random_file, VIXDISKLIB_FLAG_OPEN_READ_ONLY,
                           &h), VIX_E_INCORRECT_FILE_TYPE);
  t = VixDiskLib_GetErrorText (VIX_E_INCORRECT_FILE_TYPE, NULL);
  truth ("GetErrorText names the file that is not a virtual disk",
         t && strstr (t, "random.bin: not a VMDK"));
  VixDiskLib_FreeErrorText (t);
  expect ("Open a descriptor over the 1 MiB cap (a VMDK, unsupported)",
          VixDiskLib_Open (conn, hugedesc, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h),
          VIX_E_DISK_NOTSUPPORTED);
  expect ("Open read-only, UNBUFFERED, ZLIB and unknown flag bits (ignored)",
          VixDiskLib_Open (conn, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY
                           | VIXDISKLIB_FLAG_OPEN_UNBUFFERED | 0x108
                           | VIXDISKLIB_FLAG_OPEN_COMPRESSION_ZLIB, &h), VIX_OK);

  /* ---- NULL and garbage handles -------------------------------------- */
  expect ("Read(NULL handle)", VixDiskLib_Read (NULL, 0, 1, buf),
          VIX_E_INVALID_ARG);
  expect ("Read(garbage handle)",
          VixDiskLib_Read ((VixDiskLibHandle) &garbage_local, 0, 1, buf),
          VIX_E_INVALID_HANDLE);
  expect ("Read(connection passed as a disk handle)",
          VixDiskLib_Read ((VixDiskLibHandle) (void *) conn, 0, 1, buf),
          VIX_E_INVALID_HANDLE);
  expect ("GetInfo(NULL handle)", VixDiskLib_GetInfo (NULL, &info),
          VIX_E_INVALID_ARG);
  expect ("GetInfo(NULL info)", VixDiskLib_GetInfo (h, NULL),
          VIX_E_INVALID_ARG);
  expect ("Close(NULL)", VixDiskLib_Close (NULL), VIX_E_INVALID_ARG);
  expect ("Flush(NULL)", VixDiskLib_Flush (NULL), VIX_E_INVALID_ARG);
  expect ("Wait(NULL)", VixDiskLib_Wait (NULL), VIX_E_INVALID_ARG);
  expect ("Disconnect(NULL)", VixDiskLib_Disconnect (NULL), VIX_E_INVALID_ARG);
  truth ("GetTransportMode(NULL) is still \"file\"",
         strcmp (VixDiskLib_GetTransportMode (NULL), "file") == 0);
  VixDiskLib_FreeInfo (NULL);
  expect ("FreeBlockList(NULL)", VixDiskLib_FreeBlockList (NULL), VIX_OK);

  /* ---- ranges ----------------------------------------------------------- */
  expect ("GetInfo", VixDiskLib_GetInfo (h, &info), VIX_OK);
  truth ("capacity is 2049 sectors", info && info->capacity == 2049);
  VixDiskLib_FreeInfo (info);
  expect ("Read the last sector", VixDiskLib_Read (h, 2048, 1, buf), VIX_OK);
  expect ("Read across the end", VixDiskLib_Read (h, 2048, 2, buf),
          VIX_E_DISK_OUTOFRANGE);
  expect ("Read at the capacity", VixDiskLib_Read (h, 2049, 1, buf),
          VIX_E_DISK_OUTOFRANGE);
  expect ("Read with start+count overflowing 64 bits",
          VixDiskLib_Read (h, UINT64_MAX - 1, 4, buf), VIX_E_DISK_OUTOFRANGE);
  expect ("Read with a NULL buffer", VixDiskLib_Read (h, 0, 1, NULL),
          VIX_E_INVALID_ARG);
  expect ("Read of 0 sectors", VixDiskLib_Read (h, 0, 0, NULL), VIX_OK);

  /* ---- read-only handle ------------------------------------------------- */
  memset (buf, 0x5a, sizeof buf);
  expect ("Write to a read-only handle", VixDiskLib_Write (h, 0, 1, buf),
          VIX_E_FILE_READ_ONLY);
  expect ("Write a NULL buffer to a read-only handle",
          VixDiskLib_Write (h, 0, 1, NULL), VIX_E_FILE_READ_ONLY);
  cb_calls = 0;
  expect ("WriteAsync to a read-only handle",
          VixDiskLib_WriteAsync (h, 0, 1, buf, completion, NULL),
          VIX_E_FILE_READ_ONLY);
  truth ("no completion for a refused WriteAsync", cb_calls == 0);
  expect ("WriteMetadata on a read-only handle",
          VixDiskLib_WriteMetadata (h, "foo", "bar"), VIX_E_FILE_READ_ONLY);
  expect ("Flush a read-only handle", VixDiskLib_Flush (h), VIX_OK);

  /* ---- async -------------------------------------------------------------- */
  cb_calls = 0;
  expect ("ReadAsync past the end",
          VixDiskLib_ReadAsync (h, 2049, 1, buf, completion, NULL),
          VIX_E_DISK_OUTOFRANGE);
  truth ("no completion for a refused ReadAsync", cb_calls == 0);
  cb_result = VIX_E_FAIL;
  expect ("ReadAsync", VixDiskLib_ReadAsync (h, 0, 4, buf, completion, NULL),
          VIX_ASYNC);
  truth ("exactly one completion, VIX_OK", cb_calls == 1 && cb_result == VIX_OK);
  expect ("ReadAsync with a NULL callback",
          VixDiskLib_ReadAsync (h, 0, 4, buf, NULL, NULL), VIX_ASYNC);
  expect ("Wait", VixDiskLib_Wait (h), VIX_OK);

  /* ---- QueryAllocatedBlocks ----------------------------------------------- */
  expect ("QueryAllocatedBlocks chunk 0",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 128, 0, &bl), VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks chunk 64 < VIXDISKLIB_MIN_CHUNK_SIZE",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 128, 64, &bl),
          VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks unaligned start",
          VixDiskLib_QueryAllocatedBlocks (h, 1, 128, 128, &bl),
          VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks unaligned count",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 100, 128, &bl),
          VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks NULL list",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 128, 128, NULL),
          VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks past the rounded-up end",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 2048 + 256, 128, &bl),
          VIX_E_DISK_OUTOFRANGE);
  expect ("QueryAllocatedBlocks overflowing",
          VixDiskLib_QueryAllocatedBlocks (h, UINT64_MAX - 127, 256, 128, &bl),
          VIX_E_DISK_OUTOFRANGE);
  truth ("failed QueryAllocatedBlocks leaves the list NULL", bl == NULL);
  expect ("QueryAllocatedBlocks up to the chunk after the end (nbdkit)",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 2048 + 128, 128, &bl), VIX_OK);
  truth ("blocks end at the capacity",
         bl && (bl->numBlocks == 0
                || bl->blocks[bl->numBlocks - 1].offset
                + bl->blocks[bl->numBlocks - 1].length <= 2049));
  VixDiskLib_FreeBlockList (bl);
  bl = NULL;
  expect ("QueryAllocatedBlocks ending exactly at the capacity",
          VixDiskLib_QueryAllocatedBlocks (h, 1920, 129, 128, &bl), VIX_OK);
  VixDiskLib_FreeBlockList (bl);
  bl = NULL;
  expect ("QueryAllocatedBlocks nbdkit probe (0, 128, 128)",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 128, 128, &bl), VIX_OK);
  VixDiskLib_FreeBlockList (bl);
  bl = NULL;
  expect ("Open the 40 GiB disk",
          VixDiskLib_Open (conn, big, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h2),
          VIX_OK);
  expect ("QueryAllocatedBlocks of more than VIXDISKLIB_MAX_CHUNK_NUMBER chunks",
          VixDiskLib_QueryAllocatedBlocks (h2, 0, (uint64) 128
                                           * (VIXDISKLIB_MAX_CHUNK_NUMBER + 1),
                                           128, &bl), VIX_E_INVALID_ARG);
  expect ("QueryAllocatedBlocks of exactly VIXDISKLIB_MAX_CHUNK_NUMBER chunks",
          VixDiskLib_QueryAllocatedBlocks (h2, 0, (uint64) 128
                                           * VIXDISKLIB_MAX_CHUNK_NUMBER,
                                           128, &bl), VIX_OK);
  VixDiskLib_FreeBlockList (bl);
  bl = NULL;
  expect ("Close the 40 GiB disk", VixDiskLib_Close (h2), VIX_OK);

  /* ---- metadata -------------------------------------------------------------- */
  expect ("ReadMetadata NULL key",
          VixDiskLib_ReadMetadata (h, NULL, meta, sizeof meta, &need),
          VIX_E_INVALID_ARG);
  expect ("ReadMetadata of an absent key",
          VixDiskLib_ReadMetadata (h, "no.such.key", meta, sizeof meta, &need),
          VIX_E_DISK_KEY_NOTFOUND);
  need = 0;
  expect ("ReadMetadata with a NULL buffer",
          VixDiskLib_ReadMetadata (h, "adapterType", NULL, 0, &need),
          VIX_E_BUFFER_TOOSMALL);
  truth ("requiredLen counts the NUL (\"ide\" -> 4)", need == 4);
  expect ("ReadMetadata with a buffer one byte short",
          VixDiskLib_ReadMetadata (h, "adapterType", meta, 3, NULL),
          VIX_E_BUFFER_TOOSMALL);
  expect ("ReadMetadata with an exact buffer",
          VixDiskLib_ReadMetadata (h, "adapterType", meta, 4, &need), VIX_OK);
  truth ("value read", strcmp (meta, "ide") == 0);
  expect ("ReadMetadata with the ddb. prefix",
          VixDiskLib_ReadMetadata (h, "ddb.adapterType", meta, sizeof meta,
                                   NULL), VIX_OK);
  expect ("GetMetadataKeys(NULL, 0, NULL)",
          VixDiskLib_GetMetadataKeys (h, NULL, 0, NULL), VIX_E_BUFFER_TOOSMALL);
  expect ("GetMetadataKeys with a 1-byte buffer",
          VixDiskLib_GetMetadataKeys (h, meta, 1, &need), VIX_E_BUFFER_TOOSMALL);
  truth ("GetMetadataKeys requiredLen > 1", need > 1);

  /* ---- other calls on a read-only handle ------------------------------------ */
  expect ("SpaceNeededForClone NULL out",
          VixDiskLib_SpaceNeededForClone (h, VIXDISKLIB_DISK_MONOLITHIC_SPARSE,
                                          NULL), VIX_E_INVALID_ARG);
  expect ("SpaceNeededForClone",
          VixDiskLib_SpaceNeededForClone (h, VIXDISKLIB_DISK_MONOLITHIC_FLAT,
                                          &space), VIX_OK);
  truth ("flat clone needs at least the capacity", space >= 2049 * 512);
  expect ("Shrink", VixDiskLib_Shrink (h, NULL, NULL), VIX_E_NOT_SUPPORTED);
  expect ("Defragment", VixDiskLib_Defragment (h, NULL, NULL),
          VIX_E_NOT_SUPPORTED);
  expect ("Attach a handle to itself", VixDiskLib_Attach (h, h),
          VIX_E_INVALID_ARG);
  expect ("Open child single-link",
          VixDiskLib_Open (conn, child, VIXDISKLIB_FLAG_OPEN_READ_ONLY
                           | VIXDISKLIB_FLAG_OPEN_SINGLE_LINK, &hc), VIX_OK);
  expect ("IsAttachPossible(base as child)", VixDiskLib_IsAttachPossible (hc, h),
          VIX_E_DISK_ATTACH_ROOTLINK);
  expect ("IsAttachPossible(small, child)", VixDiskLib_IsAttachPossible (h, hc),
          VIX_OK);
  expect ("Close child", VixDiskLib_Close (hc), VIX_OK);
  expect ("CreateChild of a flat type",
          VixDiskLib_CreateChild (h, newdisk, VIXDISKLIB_DISK_MONOLITHIC_FLAT,
                                  NULL, NULL), VIX_E_INVALID_ARG);
  expect ("CreateChild vmfsSparse",
          VixDiskLib_CreateChild (h, newdisk, VIXDISKLIB_DISK_VMFS_SPARSE, NULL,
                                  NULL), VIX_E_NOT_SUPPORTED);
  expect ("CreateChild onto an existing file",
          VixDiskLib_CreateChild (h, child, VIXDISKLIB_DISK_MONOLITHIC_SPARSE,
                                  NULL, NULL), VIX_E_FILE_ALREADY_EXISTS);

  /* ---- disk management errors ---------------------------------------------- */
  memset (&cp, 0, sizeof cp);
  cp.diskType = VIXDISKLIB_DISK_MONOLITHIC_SPARSE;
  cp.adapterType = VIXDISKLIB_ADAPTER_IDE;
  cp.hwVersion = VIXDISKLIB_HWVERSION_WORKSTATION_5;
  cp.capacity = 2048;
  expect ("Create with NULL params",
          VixDiskLib_Create (conn, newdisk, NULL, NULL, NULL), VIX_E_INVALID_ARG);
  expect ("Create on a read-only connection",
          VixDiskLib_Create (roconn, newdisk, &cp, NULL, NULL),
          VIX_E_FILE_READ_ONLY);
  expect ("Create over an existing file",
          VixDiskLib_Create (conn, small, &cp, NULL, NULL),
          VIX_E_FILE_ALREADY_EXISTS);
  cp.diskType = VIXDISKLIB_DISK_VMFS_THIN;
  expect ("Create vmfsThin (ESXi only)",
          VixDiskLib_Create (conn, newdisk, &cp, NULL, NULL),
          VIX_E_NOT_SUPPORTED);
  cp.diskType = VIXDISKLIB_DISK_MONOLITHIC_SPARSE;
  cp.adapterType = (VixDiskLibAdapterType) 99;
  expect ("Create with an unknown adapter",
          VixDiskLib_Create (conn, newdisk, &cp, NULL, NULL), VIX_E_INVALID_ARG);
  cp.adapterType = VIXDISKLIB_ADAPTER_IDE;
  cp.logicalSectorSize = 4096;   /* honoured: InitEx asked for 7.0 */
  expect ("Create with 4096-byte logical sectors",
          VixDiskLib_Create (conn, newdisk, &cp, NULL, NULL),
          VIX_E_NOT_SUPPORTED);
  cp.logicalSectorSize = 0;
  cp.diskType = VIXDISKLIB_DISK_UNKNOWN;
  expect ("Clone onto an existing file without overWrite",
          VixDiskLib_Clone (conn, child, conn, small, &cp, NULL, NULL, FALSE),
          VIX_E_FILE_ALREADY_EXISTS);
  expect ("Clone a disk onto itself",
          VixDiskLib_Clone (conn, small, conn, small, &cp, NULL, NULL, TRUE),
          VIX_E_INVALID_ARG);
  expect ("Clone from a missing disk",
          VixDiskLib_Clone (conn, newdisk, conn, missing, &cp, NULL, NULL, FALSE),
          VIX_E_FILE_NOT_FOUND);
  expect ("Clone with a NULL source connection",
          VixDiskLib_Clone (conn, newdisk, NULL, small, &cp, NULL, NULL, FALSE),
          VIX_E_INVALID_ARG);
  expect ("Unlink a missing disk", VixDiskLib_Unlink (conn, missing),
          VIX_E_FILE_NOT_FOUND);
  expect ("Unlink on a read-only connection", VixDiskLib_Unlink (roconn, small),
          VIX_E_FILE_READ_ONLY);
  expect ("Rename onto an existing file", VixDiskLib_Rename (small, child),
          VIX_E_FILE_ALREADY_EXISTS);
  expect ("Rename NULL", VixDiskLib_Rename (NULL, newdisk), VIX_E_INVALID_ARG);
  expect ("Grow to a smaller capacity", VixDiskLib_Grow (conn, small, 100, FALSE,
                                                         NULL, NULL),
          VIX_E_INVALID_ARG);
  expect ("Grow a delta link", VixDiskLib_Grow (conn, child, 4096, FALSE, NULL,
                                                NULL), VIX_E_NOT_SUPPORTED);
  expect ("CheckRepair of a healthy disk",
          VixDiskLib_CheckRepair (conn, small, FALSE), VIX_OK);
  expect ("CheckRepair of a file that is not a disk",
          VixDiskLib_CheckRepair (conn, garbage, FALSE), VIX_E_INCORRECT_FILE_TYPE);
  expect ("CheckRepair with repair of a file that is not a disk",
          VixDiskLib_CheckRepair (conn, garbage, TRUE), VIX_E_INCORRECT_FILE_TYPE);

  /* ---- read-only connection ----------------------------------------------- */
  expect ("Open without READ_ONLY on a read-only connection",
          VixDiskLib_Open (roconn, rw, 0, &h3), VIX_OK);
  expect ("Write through it", VixDiskLib_Write (h3, 0, 1, buf),
          VIX_E_FILE_READ_ONLY);
  expect ("Close it", VixDiskLib_Close (h3), VIX_OK);

  /* ---- locking (needs read/write opens) ----------------------------------- */
  if (VixDiskLib_Open (conn, rw, 0, &hrw) == VIX_OK) {
    truth ("Open read/write", 1);
    expect ("a second read/write Open of the same disk",
            VixDiskLib_Open (conn, rw, 0, &hrw2), VIX_E_FILE_ALREADY_LOCKED);
    expect ("a read-only Open while it is open for writing",
            VixDiskLib_Open (conn, rw, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &hrw2),
            VIX_E_FILE_ALREADY_LOCKED);
    expect ("Unlink while open", VixDiskLib_Unlink (conn, rw),
            VIX_E_FILE_ALREADY_LOCKED);
    expect ("Write past the end", VixDiskLib_Write (hrw, 2048, 1, buf),
            VIX_E_DISK_OUTOFRANGE);
    expect ("Write a NULL buffer", VixDiskLib_Write (hrw, 0, 1, NULL),
            VIX_E_INVALID_ARG);
    expect ("Write", VixDiskLib_Write (hrw, 0, 1, buf), VIX_OK);
    expect ("WriteMetadata NULL value",
            VixDiskLib_WriteMetadata (hrw, "k", NULL), VIX_E_INVALID_ARG);
    expect ("WriteMetadata with a quote in the value",
            VixDiskLib_WriteMetadata (hrw, "k", "a\"b"), VIX_E_INVALID_ARG);
    expect ("Close read/write", VixDiskLib_Close (hrw), VIX_OK);
    expect ("Open read/write again after Close",
            VixDiskLib_Open (conn, rw, 0, &hrw), VIX_OK);
    expect ("Close read/write again", VixDiskLib_Close (hrw), VIX_OK);
  }
  else
    truth ("Open read/write (engine write path)", 0);

  /* ---- threads -------------------------------------------------------------- */
  {
    pthread_t th[5];
    struct reader r[3];
    struct opener o[2];
    expect ("Open a second handle", VixDiskLib_Open
            (conn, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h2), VIX_OK);
    r[0] = (struct reader) { h, 2000, 0, VIX_OK };
    r[1] = (struct reader) { h2, 2000, 0, VIX_OK };
    r[2] = (struct reader) { h, 2000, 0, VIX_OK };   /* same handle as r[0] */
    o[0] = (struct opener) { conn, 50, 0 };
    o[1] = (struct opener) { conn, 50, 0 };
    pthread_create (&th[0], NULL, read_loop, &r[0]);
    pthread_create (&th[1], NULL, read_loop, &r[1]);
    pthread_create (&th[2], NULL, open_close_loop, &o[0]);
    pthread_create (&th[3], NULL, open_close_loop, &o[1]);
    pthread_create (&th[4], NULL, read_loop, &r[2]);
    for (int i = 0; i < 5; i++)
      pthread_join (th[i], NULL);
    truth ("reads on two handles (one used by two threads) in parallel with "
           "Open/Close in two threads",
           r[0].bad == 0 && r[1].bad == 0 && r[2].bad == 0
           && r[0].last == VIX_OK && r[1].last == VIX_OK && r[2].last == VIX_OK
           && o[0].bad == 0 && o[1].bad == 0);
    /* close a handle while another thread reads from it */
    r[1] = (struct reader) { h2, 1000000, 0, VIX_OK };
    pthread_create (&th[0], NULL, read_loop, &r[1]);
    expect ("Close while another thread reads", VixDiskLib_Close (h2), VIX_OK);
    pthread_join (th[0], NULL);
    truth ("that thread's reads succeed until Close, then fail cleanly",
           r[1].bad == 0);
  }

  /* ---- double close, use after close ----------------------------------------- */
  expect ("Close", VixDiskLib_Close (h), VIX_OK);
  expect ("Close again (double close)", VixDiskLib_Close (h),
          VIX_E_INVALID_HANDLE);
  expect ("Read after Close", VixDiskLib_Read (h, 0, 1, buf),
          VIX_E_INVALID_HANDLE);
  expect ("GetInfo after Close", VixDiskLib_GetInfo (h, &info),
          VIX_E_INVALID_HANDLE);
  expect ("QueryAllocatedBlocks after Close",
          VixDiskLib_QueryAllocatedBlocks (h, 0, 128, 128, &bl),
          VIX_E_INVALID_HANDLE);

  /* ---- Disconnect with a disk still open ------------------------------------- */
  expect ("Open, then Disconnect without Close",
          VixDiskLib_Open (roconn, small, 0, &h3), VIX_OK);
  expect ("Disconnect closes the disks opened through it",
          VixDiskLib_Disconnect (roconn), VIX_OK);
  expect ("Read from a disk of a disconnected connection",
          VixDiskLib_Read (h3, 0, 1, buf), VIX_E_INVALID_HANDLE);
  expect ("Disconnect again", VixDiskLib_Disconnect (roconn),
          VIX_E_INVALID_HANDLE);
  expect ("Open through a disconnected connection",
          VixDiskLib_Open (roconn, small, 0, &h3),
          VIX_E_DISK_INVALID_CONNECTION);

  /* ---- Exit with things left open ---------------------------------------------- */
  expect ("Open and leave it open",
          VixDiskLib_Open (conn, small, VIXDISKLIB_FLAG_OPEN_READ_ONLY, &h3),
          VIX_OK);
  VixDiskLib_Exit ();
  truth ("Exit with an open disk and connection", 1);
  expect ("Read after Exit", VixDiskLib_Read (h3, 0, 1, buf),
          VIX_E_INVALID_HANDLE);
  expect ("Open after Exit", VixDiskLib_Open (conn, small, 0, &h3),
          VIX_E_DISK_INVALID_CONNECTION);
  VixDiskLib_Exit ();
  truth ("Exit twice", 1);
  truth ("the panic callback was never needed", panic_count == 0);
  printf ("# log callback %d, warn callback %d\n", log_count, warn_count);
  return failures ? 1 : 0;
}

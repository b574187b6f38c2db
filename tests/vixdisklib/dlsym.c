/* vixdisklib-dlsym LIBRARY [nbdkit|sample|all]
 *
 * Loads LIBRARY with dlopen() the way its real users do and resolves their
 * symbol lists (vix-api.md section 3.1):
 *   nbdkit  dlopen(RTLD_NOW) and dlsym of the 19 functions its VDDK plugin
 *           requires plus the 3 it uses when present;
 *   sample  dlopen(RTLD_LAZY) and dlsym of the 32 functions VMware's
 *           vixDiskLibSample resolves with DYNAMIC_LOADING, plus the 8 it
 *           links directly even then;
 *   all     all 43 VixDiskLib_ functions.
 * Prints one line per symbol: "PASS <list> <symbol>" or "FAIL <list>
 * <symbol>: <why>", then exercises InitEx/Exit through the resolved
 * pointers as nbdkit would.  Exit status 0 if everything passed.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const nbdkit_required[] = {
  "InitEx", "Exit", "GetErrorText", "FreeErrorText", "FreeConnectParams",
  "ConnectEx", "Open", "GetTransportMode", "Close", "Disconnect", "GetInfo",
  "FreeInfo", "Read", "Write", "Create", "Flush", "ReadAsync", "WriteAsync",
  "Wait", NULL,
};
static const char *const nbdkit_optional[] = {
  "QueryAllocatedBlocks", "FreeBlockList", "AllocateConnectParams", NULL,
};
static const char *const sample_dynamic[] = {
  "Init", "InitEx", "Exit", "ListTransportModes", "Cleanup", "Connect",
  "ConnectEx", "Disconnect", "Create", "CreateChild", "Open", "GetInfo",
  "FreeInfo", "GetTransportMode", "Close", "Read", "Write", "ReadMetadata",
  "WriteMetadata", "GetMetadataKeys", "Unlink", "Grow", "Shrink",
  "Defragment", "Rename", "Clone", "GetErrorText", "FreeErrorText", "Attach",
  "SpaceNeededForClone", "CheckRepair", "QueryAllocatedBlocks", NULL,
};
static const char *const sample_linked[] = {
  "AllocateConnectParams", "FreeConnectParams", "PrepareForAccess",
  "EndAccess", "ReadAsync", "WriteAsync", "Wait", "FreeBlockList", NULL,
};
/* The 43 functions of vix-api.md section 1.8, in its order. */
static const char *const all43[] = {
  "Init", "InitEx", "Exit", "ListTransportModes", "Cleanup",
  "Connect", "ConnectEx", "Disconnect", "PrepareForAccess", "EndAccess",
  "GetConnectParams", "FreeConnectParams", "AllocateConnectParams",
  "Open", "Close", "GetInfo", "FreeInfo", "GetTransportMode",
  "Read", "Write", "ReadAsync", "WriteAsync", "Flush", "Wait",
  "QueryAllocatedBlocks", "FreeBlockList",
  "ReadMetadata", "WriteMetadata", "GetMetadataKeys",
  "Create", "CreateChild", "Clone", "Grow", "Shrink", "Defragment", "Rename",
  "Unlink", "IsAttachPossible", "Attach", "SpaceNeededForClone",
  "CheckRepair", "GetErrorText", "FreeErrorText", NULL,
};

static int failures;

static void
resolve (void *dl, const char *list, const char *const *names)
{
  char sym[128];

  for (size_t i = 0; names[i]; i++) {
    snprintf (sym, sizeof sym, "VixDiskLib_%s", names[i]);
    dlerror ();
    if (dlsym (dl, sym))
      printf ("PASS %s %s\n", list, sym);
    else {
      const char *e = dlerror ();
      printf ("FAIL %s %s: %s\n", list, sym, e ? e : "NULL address");
      failures++;
    }
  }
}

static void
quiet (const char *fmt, va_list ap)
{
  (void) fmt; (void) ap;
}

typedef uint64_t (*init_ex_fn) (uint32_t, uint32_t,
                                void (*) (const char *, va_list),
                                void (*) (const char *, va_list),
                                void (*) (const char *, va_list),
                                const char *, const char *);
typedef void (*exit_fn) (void);
typedef const char *(*modes_fn) (void);

int
main (int argc, char *argv[])
{
  const char *what = argc > 2 ? argv[2] : "all";
  void *dl;

  if (argc < 2) {
    fprintf (stderr, "usage: %s LIBRARY [nbdkit|sample|all]\n", argv[0]);
    return 2;
  }
  if (strcmp (what, "nbdkit") == 0) {
    dl = dlopen (argv[1], RTLD_NOW);
    if (!dl) {
      printf ("FAIL dlopen %s: %s\n", argv[1], dlerror ());
      return 1;
    }
    printf ("PASS dlopen(RTLD_NOW) %s\n", argv[1]);
    resolve (dl, "nbdkit-required", nbdkit_required);
    resolve (dl, "nbdkit-optional", nbdkit_optional);
    {
      /* nbdkit: InitEx(6, 5, debug, error, error, libdir, config) */
      init_ex_fn init_ex;
      exit_fn ex;
      uint64_t r;
      *(void **) &init_ex = dlsym (dl, "VixDiskLib_InitEx");
      *(void **) &ex = dlsym (dl, "VixDiskLib_Exit");
      if (init_ex && ex) {
        r = init_ex (6, 5, quiet, quiet, quiet, "/nonexistent/vddk", NULL);
        if (r == 0)
          printf ("PASS call InitEx(6, 5) through dlsym returns VIX_OK\n");
        else {
          printf ("FAIL call InitEx(6, 5) through dlsym returned %llu\n",
                  (unsigned long long) r);
          failures++;
        }
        ex ();
      }
    }
  }
  else if (strcmp (what, "sample") == 0) {
    dl = dlopen (argv[1], RTLD_LAZY);
    if (!dl) {
      printf ("FAIL dlopen %s: %s\n", argv[1], dlerror ());
      return 1;
    }
    printf ("PASS dlopen(RTLD_LAZY) %s\n", argv[1]);
    resolve (dl, "sample-dlsym", sample_dynamic);
    resolve (dl, "sample-linked", sample_linked);
    {
      modes_fn modes;
      *(void **) &modes = dlsym (dl, "VixDiskLib_ListTransportModes");
      if (modes && modes () && strcmp (modes (), "file") == 0)
        printf ("PASS call ListTransportModes() through dlsym is \"file\"\n");
      else {
        printf ("FAIL call ListTransportModes() through dlsym\n");
        failures++;
      }
    }
  }
  else {
    dl = dlopen (argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
      printf ("FAIL dlopen %s: %s\n", argv[1], dlerror ());
      return 1;
    }
    printf ("PASS dlopen(RTLD_NOW|RTLD_LOCAL) %s\n", argv[1]);
    resolve (dl, "all43", all43);
  }
  if (dlclose (dl) != 0) {
    printf ("FAIL dlclose: %s\n", dlerror ());
    failures++;
  }
  return failures ? 1 : 0;
}

/* mntapi-client: drives libvixMntapi the way VMware's mount sample and
 * backup tools do, for the integration tests.
 *
 *   mntapi-client [--rw] [--single-link] [--mount NAME[:rw]]... [--mount-all]
 *                 [--hold] [--twice] [--handles] DISK...
 *
 * --single-link adds VIXDISKLIB_FLAG_OPEN_SINGLE_LINK to the open flags.
 * --handles opens the disks with VixDiskLib_Open first (Windows-style
 * clients) and builds the set with VixMntapi_OpenDiskSet.
 *
 * Init -> OpenDisks -> GetDiskSetInfo -> GetVolumeHandles -> (for each volume)
 * GetVolumeInfo + Vixmount_GetVolumeDetails, printed as one JSON line; then
 * MountVolume for the volumes asked for (read-only unless ":rw"), printing
 * "mounted NAME DIR" (or "mountfail NAME CODE"); with --hold, prints "ready"
 * and waits for end of input before cleaning up (DismountVolume(force) ->
 * FreeVolumeHandles -> CloseDiskSet -> Exit).  --twice also tries a second
 * OpenDisks of the same disks and prints "second-open CODE".  --os calls
 * VixMntapi_GetOsInfo (where the guide's order has it: before the volume
 * handles) and prints "os {JSON}" or "os-failed CODE", "os-ms N" (how long it
 * took), then Vixmount_Inspect's "inspect {JSON}"; each volume's line then
 * carries its in-guest mount points ("gmp").  --os-after does the same after
 * the mounts asked for (a volume the caller mounted is used as it is).  Exit status 0,
 * or 1 when OpenDisks (or a requested mount) fails; the VixError is printed.
 */
#include <inttypes.h>
#include <time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "vixMntapi.h"
#include "vixMntapiExt.h"

static void
logfn (const char *fmt, va_list ap)
{
  fputs ("log: ", stderr);
  vfprintf (stderr, fmt, ap);
}

static void
jfield (const char *name, const char *v, bool first)
{
  printf ("%s\"%s\": ", first ? "" : ", ", name);
  vx_json_string (stdout, v);
}

/* GetOsInfo as the guide calls it, then the extension's whole answer. */
static void
print_os (VixDiskSetHandle set)
{
  VixOsInfo *oi = NULL;
  VixmountInspection *r = NULL;
  struct timespec t0, t1;
  VixError e;

  clock_gettime (CLOCK_MONOTONIC, &t0);
  e = VixMntapi_GetOsInfo (set, &oi);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  printf ("os-ms %lld\n", (long long) (t1.tv_sec - t0.tv_sec) * 1000
          + (t1.tv_nsec - t0.tv_nsec) / 1000000);
  if (VIX_FAILED (e))
    printf ("os-failed %" PRIu64 " %s\n", e, oi ? "info-set" : "info-null");
  else {
    printf ("os {\"family\": %d, \"major\": %u, \"minor\": %u, \"is64\": %d, ",
            (int) oi->family, oi->majorVersion, oi->minorVersion, oi->osIs64Bit);
    jfield ("vendor", oi->vendor, true);
    jfield ("edition", oi->edition, false);
    jfield ("osFolder", oi->osFolder, false);
    printf ("}\n");
  }
  VixMntapi_FreeOsInfo (oi);
  e = Vixmount_Inspect (set, &r);
  if (VIX_FAILED (e)) {
    printf ("inspect-failed %" PRIu64 "\n", e);
    return;
  }
  printf ("inspect {\"family\": %d, \"major\": %u, \"minor\": %u, \"is64\": %d, ",
          (int) r->family, r->majorVersion, r->minorVersion, r->osIs64Bit);
  jfield ("vendor", r->vendor, true);
  jfield ("edition", r->edition, false);
  jfield ("osFolder", r->osFolder, false);
  jfield ("distribution", r->distribution, false);
  jfield ("product", r->productName, false);
  jfield ("version", r->version, false);
  jfield ("build", r->build, false);
  jfield ("hostname", r->hostname, false);
  jfield ("arch", r->architecture, false);
  jfield ("systemVolume", r->systemVolume, false);
  jfield ("noOs", r->noOsReason, false);
  jfield ("notes", r->notes, false);
  printf (", \"volumes\": {");
  for (uint32 i = 0; i < r->numVolumes; i++) {
    printf ("%s", i ? ", " : "");
    vx_json_string (stdout, r->volumes[i].name);
    printf (": [");
    for (size_t k = 0; k < r->volumes[i].numGuestMountPoints; k++) {
      printf ("%s", k ? ", " : "");
      vx_json_string (stdout, r->volumes[i].guestMountPoints[k]);
    }
    printf ("]");
  }
  printf ("}}\n");
  Vixmount_FreeInspection (r);
}

int
main (int argc, char **argv)
{
  const char *mounts[64];
  int nmounts = 0, rc = 0;
  bool single = false, rw = false, all = false, hold = false, twice = false, handles = false, os = false, os_after = false;
  uint32 flags;
  VixDiskLibConnection conn = NULL;
  VixDiskLibHandle dh[16] = { 0 };
  VixDiskSetHandle set = NULL;
  VixDiskSetInfo *si = NULL;
  VixVolumeHandle *vols = NULL;
  size_t nvols = 0;
  VixError e;
  int i;

  for (i = 1; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp (argv[i], "--rw")) rw = true;
    else if (!strcmp (argv[i], "--single-link")) single = true;
    else if (!strcmp (argv[i], "--mount-all")) all = true;
    else if (!strcmp (argv[i], "--hold")) hold = true;
    else if (!strcmp (argv[i], "--twice")) twice = true;
    else if (!strcmp (argv[i], "--handles")) handles = true;
    else if (!strcmp (argv[i], "--os")) os = true;
    else if (!strcmp (argv[i], "--os-after")) os_after = true;
    else if (!strcmp (argv[i], "--mount") && i + 1 < argc && nmounts < 64) mounts[nmounts++] = argv[++i];
    else {
      fprintf (stderr, "usage: mntapi-client [--rw] [--single-link] [--mount NAME[:rw]]... [--mount-all] [--hold] [--twice] [--handles] [--os|--os-after] DISK...\n");
      return 2;
    }
  }
  if (i == argc)
    return 2;
  flags = (rw ? 0 : VIXDISKLIB_FLAG_OPEN_READ_ONLY) | (single ? VIXDISKLIB_FLAG_OPEN_SINGLE_LINK : 0);
  setvbuf (stdout, NULL, _IOLBF, 0);

  e = VixMntapi_Init (VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION, logfn, logfn, logfn,
                      NULL, getenv ("MNTAPI_CONFIG"));
  if (VIX_FAILED (e)) {
    printf ("init-failed %" PRIu64 "\n", e);
    return 1;
  }
  if (handles) {
    VixDiskLibConnectParams cp;
    memset (&cp, 0, sizeof cp);
    e = VixDiskLib_Init (6, 5, logfn, logfn, logfn, NULL);
    if (VIX_SUCCEEDED (e))
      e = VixDiskLib_Connect (&cp, &conn);
    for (int k = 0; VIX_SUCCEEDED (e) && k < argc - i && k < 16; k++)
      e = VixDiskLib_Open (conn, argv[i + k], flags, &dh[k]);
    if (VIX_SUCCEEDED (e))
      e = VixMntapi_OpenDiskSet (dh, (size_t) (argc - i), flags, &set);
  }
  else
    e = VixMntapi_OpenDisks (NULL, (const char **) &argv[i], (size_t) (argc - i), flags, &set);
  if (VIX_FAILED (e)) {
    printf ("open-failed %" PRIu64 "\n", e);
    VixMntapi_Exit ();
    for (int k = 0; k < 16; k++)
      if (dh[k])
        VixDiskLib_Close (dh[k]);
    if (conn)
      VixDiskLib_Disconnect (conn);
    if (handles)
      VixDiskLib_Exit ();
    return 1;
  }
  if (twice) {
    VixDiskSetHandle set2 = NULL;
    VixError e2 = VixMntapi_OpenDisks (NULL, (const char **) &argv[i], (size_t) (argc - i),
                                       flags, &set2);
    printf ("second-open %" PRIu64 "\n", e2);
    if (set2)
      VixMntapi_CloseDiskSet (set2);
  }
  e = VixMntapi_GetDiskSetInfo (set, &si);
  if (VIX_SUCCEEDED (e)) {
    printf ("set openFlags=%u mountPath=%s\n", si->openFlags, si->mountPath);
    VixMntapi_FreeDiskSetInfo (si);
  }
  {
    /* the bridge: "bridge kernel netlink 2 /dev/nbd0,/dev/nbd1" */
    VixmountBridgeInfo *bi = NULL;
    e = Vixmount_GetBridgeInfo (set, &bi);
    if (VIX_SUCCEEDED (e)) {
      printf ("bridge %s %s %u ", bi->bridge, bi->nbdInterface ? bi->nbdInterface : "-",
              bi->nbdConnections);
      for (uint32 k = 0; k < bi->numDisks; k++)
        printf ("%s%s", k ? "," : "", bi->diskDevices[k]);
      printf ("\n");
      Vixmount_FreeBridgeInfo (bi);
    }
    else
      printf ("bridge-failed %" PRIu64 "\n", e);
  }
  if (os)
    print_os (set);
  e = VixMntapi_GetVolumeHandles (set, &nvols, &vols);
  if (VIX_FAILED (e)) {
    printf ("volumes-failed %" PRIu64 "\n", e);
    rc = 1;
    goto out;
  }
  printf ("volumes %zu\n", nvols);
  for (size_t v = 0; v < nvols; v++) {
    VixVolumeInfo *vi = NULL;
    VixmountVolumeDetails *d = NULL;
    if (VIX_FAILED (VixMntapi_GetVolumeInfo (vols[v], &vi))
        || VIX_FAILED (Vixmount_GetVolumeDetails (vols[v], &d))) {
      printf ("info-failed %zu\n", v);
      rc = 1;
      continue;
    }
    printf ("{\"name\": ");
    vx_json_string (stdout, d->name);
    printf (", \"type\": %d, \"isMounted\": %d, \"numGuestMountPoints\": %zu, \"disk\": %u, "
            "\"partno\": %d, \"offset\": %" PRIu64 ", \"length\": %" PRIu64 ", \"fs\": ",
            (int) vi->type, vi->isMounted, vi->numGuestMountPoints, d->disk,
            d->partitionNumber, d->offset, d->length);
    vx_json_string (stdout, d->fsType);
    printf (", \"label\": ");
    vx_json_string (stdout, d->label);
    printf (", \"uuid\": ");
    vx_json_string (stdout, d->uuid);
    printf (", \"partType\": ");
    vx_json_string (stdout, d->partType);
    printf (", \"partUuid\": ");
    vx_json_string (stdout, d->partUuid);
    printf (", \"partName\": ");
    vx_json_string (stdout, d->partName);
    printf (", \"mountable\": %s, \"why\": ", d->mountable ? "true" : "false");
    vx_json_string (stdout, d->notMountableReason);
    printf (", \"gmp\": [");
    for (size_t m = 0; m < vi->numGuestMountPoints; m++) {
      printf ("%s", m ? ", " : "");
      vx_json_string (stdout, vi->inGuestMountPoints[m]);
    }
    printf ("]}\n");

    bool want = false, want_rw = false;
    for (int m = 0; m < nmounts; m++) {
      size_t l = strcspn (mounts[m], ":");
      if (strlen (d->name) == l && !strncmp (mounts[m], d->name, l)) {
        want = true;
        want_rw = !strcmp (mounts[m] + l, ":rw");
      }
    }
    if (all && d->mountable)
      want = true;
    if (want) {
      e = VixMntapi_MountVolume (vols[v], !want_rw);
      if (VIX_SUCCEEDED (e) || e == VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED) {
        VixVolumeInfo *mi = NULL;
        VixMntapi_GetVolumeInfo (vols[v], &mi);
        printf ("mounted %s %s\n", d->name, mi && mi->symbolicLink ? mi->symbolicLink : "<null>");
        VixMntapi_FreeVolumeInfo (mi);
        VixmountVolumeDetails *md = NULL;
        if (VIX_SUCCEEDED (Vixmount_GetVolumeDetails (vols[v], &md)))
          printf ("device %s %s\n", d->name, md->device ? md->device : "<null>");
        Vixmount_FreeVolumeDetails (md);
        e = VixMntapi_MountVolume (vols[v], !want_rw);
        printf ("remount %s %" PRIu64 "\n", d->name, e);
      }
      else {
        printf ("mountfail %s %" PRIu64 "\n", d->name, e);
        if (d->mountable)
          rc = 1;
      }
    }
    VixMntapi_FreeVolumeInfo (vi);
    Vixmount_FreeVolumeDetails (d);
  }
  if (os_after)                 /* GetOsInfo with the caller's volumes mounted */
    print_os (set);
  if (hold) {
    char buf[256];
    printf ("ready\n");
    while (fgets (buf, sizeof buf, stdin))
      ;
  }
  for (size_t v = 0; v < nvols; v++) {
    e = VixMntapi_DismountVolume (vols[v], TRUE);
    if (VIX_SUCCEEDED (e))
      printf ("dismounted %zu\n", v);
  }
  VixMntapi_FreeVolumeHandles (vols);
 out:
  e = VixMntapi_CloseDiskSet (set);
  printf ("closed %" PRIu64 "\n", e);
  VixMntapi_Exit ();
  if (handles) {            /* the caller's handles, closed after the set */
    for (int k = 0; k < 16; k++)
      if (dh[k])
        VixDiskLib_Close (dh[k]);
    VixDiskLib_Disconnect (conn);
    VixDiskLib_Exit ();
  }
  return rc;
}

/* restore-file: copy one file out of a VM's disks with libvixMntapi.
 *
 *   restore-file VOLUME PATH DISK... > copy
 *
 * Opens the DISKs (VMDK files, in the guest's disk order) read-only as one
 * disk set, lists its volumes on stderr, mounts VOLUME (a volume id such
 * as "d0p1", as `vixmount list` shows them) read-only and writes the file
 * PATH of that volume to stdout.  Everything is undone before it exits.
 * The example of docs/user-guide.md ("The C API"); build it with
 *
 *   cc restore-file.c -o restore-file $(pkg-config --cflags --libs vixMntapi)
 *
 * and run it as root.  Exit status 0 when the file was copied, else 1.
 */
#define _GNU_SOURCE           /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vixMntapi.h>
#include <vixMntapiExt.h>     /* vixmount's extension: Vixmount_GetVolumeDetails */

/* Say what failed and why: VixDiskLib_GetErrorText holds the detail. */
static int
fail (const char *what, VixError e)
{
  char *text = VixDiskLib_GetErrorText (e, NULL);
  fprintf (stderr, "restore-file: %s: %s\n", what, text ? text : "unknown error");
  VixDiskLib_FreeErrorText (text);
  return 1;
}

/* Copy the file at PATH to stdout; 0 or 1. */
static int
copy_out (const char *path)
{
  char buf[65536];
  size_t n;
  int r = 0;
  FILE *f = fopen (path, "rb");

  if (!f) {
    perror (path);
    return 1;
  }
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    if (fwrite (buf, 1, n, stdout) != n) {
      perror ("stdout");
      r = 1;
      break;
    }
  if (ferror (f)) {
    perror (path);
    r = 1;
  }
  fclose (f);
  return r;
}

int
main (int argc, char **argv)
{
  VixDiskSetHandle set = NULL;
  VixVolumeHandle *volumes = NULL, chosen = NULL;
  size_t n = 0;
  VixError e;
  int r = 1;

  if (argc < 4) {
    fprintf (stderr, "usage: restore-file VOLUME PATH DISK...\n");
    return 2;
  }
  e = VixMntapi_Init (VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION, NULL, NULL, NULL,
                      NULL, NULL);
  if (VIX_FAILED (e))
    return fail ("VixMntapi_Init", e);

  /* 1. the disks, read-only: the VMDK files are never written */
  e = VixMntapi_OpenDisks (NULL, (const char **) argv + 3, (size_t) argc - 3,
                           VIXDISKLIB_FLAG_OPEN_READ_ONLY, &set);
  if (VIX_FAILED (e)) {
    fail ("VixMntapi_OpenDisks", e);
    goto out;
  }

  /* 2. its volumes: pick the one asked for */
  e = VixMntapi_GetVolumeHandles (set, &n, &volumes);
  if (VIX_FAILED (e)) {
    fail ("VixMntapi_GetVolumeHandles", e);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    VixmountVolumeDetails *d = NULL;
    if (VIX_FAILED (e = Vixmount_GetVolumeDetails (volumes[i], &d))) {
      fail ("Vixmount_GetVolumeDetails", e);
      goto out;
    }
    fprintf (stderr, "volume %s: %s, %llu bytes at %llu on disk %u\n", d->name,
             d->fsType ? d->fsType : "no filesystem", (unsigned long long) d->length,
             (unsigned long long) d->offset, (unsigned) d->disk);
    if (strcmp (d->name, argv[1]) == 0)
      chosen = volumes[i];
    Vixmount_FreeVolumeDetails (d);
  }
  if (!chosen) {
    fprintf (stderr, "restore-file: no volume %s on these disks\n", argv[1]);
    goto out;
  }

  /* 3. mount it read-only; VixVolumeInfo.symbolicLink is where */
  e = VixMntapi_MountVolume (chosen, TRUE);
  if (VIX_FAILED (e)) {
    fail (argv[1], e);
    goto out;
  }
  {
    VixVolumeInfo *info = NULL;
    char *path;
    if (VIX_FAILED (e = VixMntapi_GetVolumeInfo (chosen, &info))) {
      fail ("VixMntapi_GetVolumeInfo", e);
      goto out;
    }
    if (asprintf (&path, "%s/%s", info->symbolicLink, argv[2]) >= 0) {
      r = copy_out (path);
      free (path);
    }
    VixMntapi_FreeVolumeInfo (info);
  }

  /* 4. undo it all, in order */
  e = VixMntapi_DismountVolume (chosen, FALSE);
  if (VIX_FAILED (e)) {
    fail ("VixMntapi_DismountVolume", e);
    r = 1;
  }
 out:
  if (volumes)
    VixMntapi_FreeVolumeHandles (volumes);
  if (set)
    VixMntapi_CloseDiskSet (set);
  VixMntapi_Exit ();
  return r;
}

/* vixmount-cleanup: remove what disk sets of dead processes left behind.
 *
 *   vixmount-cleanup [TMPDIRECTORY]
 *
 * A program that used libvixMntapi and was killed leaves its mounts, loop
 * devices, FUSE bridge and nbdkit behind.  VixMntapi_Init removes them the
 * next time any program initialises the library; this command does it now.
 * TMPDIRECTORY is the tmpDirectory of the programs' configuration file, if
 * they set one.  Sets of running processes are left alone.
 */
#include <stdio.h>
#include <string.h>

#include "vixMntapiExt.h"

int
main (int argc, char **argv)
{
  int n;

  if (argc > 2 || (argc == 2 && (!strcmp (argv[1], "-h") || !strcmp (argv[1], "--help")))) {
    printf ("Usage: vixmount-cleanup [TMPDIRECTORY]\n"
            "Remove the mounts, loop devices, FUSE bridges and nbdkit processes\n"
            "that programs using libvixMntapi left behind when they died.\n");
    return argc > 2;
  }
  n = Vixmount_CleanupStale (argc == 2 ? argv[1] : NULL);
  if (n < 0) {
    fprintf (stderr, "vixmount-cleanup: out of memory\n");
    return 1;
  }
  printf ("vixmount-cleanup: %d disk set%s cleaned up\n", n, n == 1 ? "" : "s");
  return 0;
}

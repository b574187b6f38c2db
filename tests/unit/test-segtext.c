/* tests/unit/test-segtext: segments as text (common/utils/segtext.h): the
 * pieces both ways, and the volume map the nbdkit plugin reads (volumes=),
 * with every way a line can be wrong. */
#include <stdlib.h>
#include <string.h>

#include "segtext.h"
#include "tap.h"

static const uint64_t sizes[2] = { 8 << 20, 8 << 20 };

/* Parses TEXT; returns the result, *line and *why. */
static int
parse (const char *text, struct vx_volmap *map, size_t *line, const char **why)
{
  *why = NULL;
  return vx_volmap_parse (text, strlen (text), 2, sizes, map, line, why);
}

static void
refused (const char *text, size_t want_line, const char *want, const char *what)
{
  struct vx_volmap map;
  size_t line = 99;
  const char *why;

  is_int (parse (text, &map, &line, &why), -1, "%s: refused", what);
  is_u64 (line, want_line, "%s: line %zu", what, want_line);
  ok (why != NULL && strstr (why, want) != NULL, "%s: reason says \"%s\"", what, want);
  if (why == NULL || strstr (why, want) == NULL)
    printf ("#   reason: %s\n", why ? why : "(none)");
  ok (map.vol == NULL && map.n == 0, "%s: nothing left allocated", what);
}

static void
test_map (void)
{
  static const char text[] =
    "# a map\r\n"
    "\n"
    "volume d0p1 linear 1048576 0 1048576\n"
    "description d0p1   partition 1 of disk 0, ext4, LABEL=root\n"
    "  volume vg/lv linear 4096 1 512 striped 262144 2 65536 0 0x200000 1 1048576\r\n"
    "volume d1 linear 8388608 1 0";
  struct vx_volmap map;
  size_t line;
  const char *why;
  char *out = NULL;
  size_t len = 0;
  FILE *f;

  is_int (parse (text, &map, &line, &why), 0, "map: accepted");
  is_u64 (map.n, 3, "map: 3 volumes");
  if (map.n != 3)
    return;
  is_str (map.vol[0].name, "d0p1", "map: the first name");
  is_str (map.vol[0].description, "partition 1 of disk 0, ext4, LABEL=root",
          "map: the description, leading blanks dropped");
  is_u64 (map.vol[0].size, 1048576, "map: the partition's size");
  ok (map.vol[0].nseg == 1 && map.vol[0].seg[0].disk == 0 && map.vol[0].seg[0].offset == 1048576,
      "map: the partition's segment");
  is_str (map.vol[1].name, "vg/lv", "map: '/' in a name");
  is_str (map.vol[1].description, NULL, "map: no description");
  is_u64 (map.vol[1].size, 4096 + 262144, "map: the LV's size");
  ok (map.vol[1].nseg == 2 && map.vol[1].seg[1].start == 4096 && map.vol[1].seg[1].nstripes == 2
      && map.vol[1].seg[1].stripe[0].offset == 0x200000 && map.vol[1].seg[1].stripe[1].disk == 1,
      "map: the striped segment");
  is_u64 (map.vol[2].size, 8 << 20, "map: the last line without a newline");

  /* written out, and read back, the same text */
  f = open_memstream (&out, &len);
  for (size_t i = 0; i < map.n; i++)
    vx_volmap_print (f, map.vol[i].name, map.vol[i].description, map.vol[i].seg, map.vol[i].nseg);
  vx_volmap_print (f, "x", "two\nlines\t", map.vol[0].seg, map.vol[0].nseg);
  fclose (f);
  is_str (out,
          "volume d0p1 linear 1048576 0 1048576\n"
          "description d0p1 partition 1 of disk 0, ext4, LABEL=root\n"
          "volume vg/lv linear 4096 1 512 striped 262144 2 65536 0 2097152 1 1048576\n"
          "volume d1 linear 8388608 1 0\n"
          "volume x linear 1048576 0 1048576\n"
          "description x two lines \n", "print: the map's lines, a description on one line");
  vx_volmap_free (&map);
  ok (map.vol == NULL && map.n == 0, "free: emptied");
  is_int (parse (out, &map, &line, &why), 0, "print: its text parses");
  is_u64 (map.n, 4, "print: 4 volumes back");
  vx_volmap_free (&map);
  free (out);

  is_int (parse ("", &map, &line, &why), 0, "an empty map");
  is_u64 (map.n, 0, "an empty map: no volumes");

  refused ("volume a linear 1 0 0\nvolume", 2, "unknown line", "a lone 'volume'");
  refused ("volume a", 1, "usage: volume NAME", "volume without pieces");
  refused ("volume a linear", 1, "usage: volume", "a short piece");
  refused ("volume a mirror 1 0 0", 1, "a piece starts with", "an unknown piece");
  refused ("frob a", 1, "unknown line", "an unknown keyword");
  refused ("\n\nvolume a linear 512 2 0", 3, "not in the set", "an unknown disk index");
  refused ("volume a linear 512 01 0", 1, "disk is given by its index", "a disk index 01");
  refused ("volume a linear 512 d0 0", 1, "disk is given by its index", "a disk by name");
  refused ("volume a linear 4096 0 8384513", 1, "outside its disk", "a piece past the disk's end");
  refused ("volume a striped 262144 2 65536 0 0 1 8323073", 1, "stripe lies outside",
           "a stripe past the disk's end");
  refused ("volume a linear 4096 0 0 linear 4096 0 2048", 1, "overlap", "overlapping pieces");
  refused ("volume a striped 262144 2 65536 0 0 0 65536", 1, "overlap", "overlapping stripes");
  refused ("volume a linear 18446744073709551615 0 0 linear 1 1 0", 1, "larger than 2^64",
           "a volume past 2^64");
  refused ("volume a linear 18446744073709551616 0 0", 1, "out of range", "a number past 2^64");
  refused ("volume a linear 1 0 18446744073709551615", 1, "outside its disk", "an offset at 2^64");
  refused ("volume a linear 0 0 0", 1, "empty segment", "an empty piece");
  refused ("volume a linear 512 0 0\nvolume a linear 512 1 0", 2, "second volume of the same name",
           "a name twice");
  refused ("description a x", 1, "no line before it defines", "a description first");
  refused ("volume a linear 512 0 0\ndescription a x\ndescription a y", 3, "second description",
           "two descriptions");
  refused ("volume a\x01 linear 512 0 0", 1, "control character", "a control character in a name");
  {
    char *big = malloc (5000 + 32);
    memset (big, 'n', 5000);
    strcpy (big, "volume ");
    memset (big + 7, 'n', 4097);
    strcpy (big + 7 + 4097, " linear 512 0 0");
    refused (big, 1, "longer than 4096", "a name of 4097 bytes");
    free (big);
  }
  {
    struct vx_volmap m;
    is_int (vx_volmap_parse ("volume a linear 512 0 0\0x", 25, 2, sizes, &m, &line, &why), -1,
            "a NUL byte: refused");
  }
}

int
main (void)
{
  test_map ();
  return tap_done ();
}

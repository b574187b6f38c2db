/* test-discover: vx_discover (mntapi/discover) on partition tables built
 * byte by byte in this test: MBR with an extended chain, GPT with names,
 * and hostile tables (an EBR loop, a partition past the disk's end,
 * overlapping partitions, a GPT header asking for too many entries).  The
 * disks are sparse files in a temporary directory; no root, no loop device.
 * CRCs come from zlib's crc32, a judge independent of discover.c's own. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "volume.h"
#include "tap.h"

#define SECTOR 512u
#define DISK_SECTORS 32768u           /* 16 MiB */

static char tmpdir[] = "/tmp/vixmount-test-discover.XXXXXX";

static void
put16 (unsigned char *p, uint16_t v)
{
  p[0] = v & 0xff;
  p[1] = v >> 8;
}

static void
put32 (unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (v >> (8 * i)) & 0xff;
}

static void
put64 (unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (v >> (8 * i)) & 0xff;
}

/* One MBR-style partition entry (slot 0-3) in the sector at SEC. */
static void
mbr_set (unsigned char *sec, int slot, uint8_t type, uint32_t start,
         uint32_t size)
{
  unsigned char *e = sec + 446 + 16 * slot;

  memset (e, 0, 16);
  e[4] = type;
  put32 (e + 8, start);
  put32 (e + 12, size);
  sec[510] = 0x55;
  sec[511] = 0xaa;
}

/* Writes IMG (DISK_SECTORS sectors) to NAME in tmpdir; returns the path. */
static char *
write_disk (const char *name, const unsigned char *img)
{
  char *path;
  int fd;

  if (asprintf (&path, "%s/%s", tmpdir, name) < 0)
    abort ();
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || pwrite (fd, img, (size_t) DISK_SECTORS * SECTOR, 0)
      != (ssize_t) DISK_SECTORS * SECTOR || close (fd) != 0) {
    perror (path);
    exit (1);
  }
  return path;
}

static struct vx_volume *vols;
static size_t nvols;
static char err[4096];

/* Discovers the disk at PATH (from write_disk, freed here). */
static int
discover (char *path)
{
  const char *paths[1] = { path };
  int r;

  vx_volumes_free (vols, nvols);
  vols = NULL;
  nvols = 0;
  err[0] = '\0';
  r = vx_discover (paths, NULL, 1, &vols, &nvols, err, sizeof err);
  free (path);
  return r;
}

static const struct vx_volume *
vol (const char *name)
{
  for (size_t i = 0; i < nvols; i++)
    if (strcmp (vols[i].name, name) == 0)
      return &vols[i];
  return NULL;
}

static void
check_vol (const char *name, enum vx_volume_kind kind, int partno,
           uint64_t off, uint64_t len, const char *type, const char *why)
{
  const struct vx_volume *v = vol (name);

  if (!ok (v != NULL, "%s is listed", name))
    return;
  is_int (v->kind, kind, "%s: kind", name);
  is_int (v->partno, partno, "%s: partition number", name);
  is_u64 (v->nseg, 1, "%s: one segment", name);
  is_u64 (v->seg[0].offset, off, "%s: offset %llu", name, (unsigned long long) off);
  is_u64 (v->seg[0].length, len, "%s: length %llu", name, (unsigned long long) len);
  is_u64 (v->size, len, "%s: size", name);
  is_str (v->part_type, type, "%s: partition type", name);
  ok (!v->mountable, "%s: not mountable (empty)", name);
  if (why)
    ok (v->why_not && strncmp (v->why_not, why, strlen (why)) == 0,
        "%s: why not: \"%s...\" (%s)", name, why, v->why_not ? v->why_not : "null");
}

static void
test_mbr_extended (unsigned char *img)
{
  unsigned char *mbr = img, *ebr1 = img + 12288 * SECTOR,
    *ebr2 = img + 16384 * SECTOR;

  memset (img, 0, (size_t) DISK_SECTORS * SECTOR);
  put32 (mbr + 440, 0x12345678);
  mbr_set (mbr, 0, 0x83, 2048, 4096);
  mbr_set (mbr, 1, 0x07, 8192, 2048);
  mbr_set (mbr, 2, 0x05, 12288, 16384);
  /* logical 5 at EBR1 + 2048; the next EBR at extended start + 4096 */
  mbr_set (ebr1, 0, 0x83, 2048, 2048);
  mbr_set (ebr1, 1, 0x05, 4096, 4096);
  mbr_set (ebr2, 0, 0x82, 2048, 2048);

  is_int (discover (write_disk ("mbr.img", img)), 0, "MBR + extended chain: discovered (%s)", err);
  is_u64 (nvols, 5, "MBR: 3 primary entries + 2 logical partitions");
  check_vol ("d0p1", VX_VOL_MBR_PRIMARY, 1, 2048 * SECTOR, 4096 * SECTOR, "0x83",
             "no filesystem");
  check_vol ("d0p2", VX_VOL_MBR_PRIMARY, 2, 8192 * SECTOR, 2048 * SECTOR, "0x07", NULL);
  check_vol ("d0p3", VX_VOL_MBR_EXTENDED, 3, 12288 * SECTOR, 16384 * SECTOR, "0x05",
             "extended partition container");
  check_vol ("d0p5", VX_VOL_MBR_LOGICAL, 5, 14336 * SECTOR, 2048 * SECTOR, "0x83", NULL);
  check_vol ("d0p6", VX_VOL_MBR_LOGICAL, 6, 18432 * SECTOR, 2048 * SECTOR, "0x82", NULL);
  if (vol ("d0p1"))
    is_str (vol ("d0p1")->part_uuid, "12345678-01", "d0p1: PARTUUID from the disk signature");
  ok (nvols == 5 && strcmp (vols[0].name, "d0p1") == 0 && strcmp (vols[4].name, "d0p6") == 0,
      "volumes in partition order");
}

static void
test_ebr_loop (unsigned char *img)
{
  unsigned char *ebr1 = img + 12288 * SECTOR;

  /* EBR1's link points at EBR1 itself (offset 0 from the extended start) */
  mbr_set (ebr1, 1, 0x05, 0, 16384);
  is_int (discover (write_disk ("loop.img", img)), 0, "EBR chain that loops: discovered");
  ok (vol ("d0p1") && vol ("d0p2") && vol ("d0p3"), "the primary entries are listed");
  ok (vol ("d0p3") && vol ("d0p3")->why_not &&
      strstr (vol ("d0p3")->why_not, "extended partition container") != NULL,
      "the container says why (%s)", vol ("d0p3") && vol ("d0p3")->why_not
      ? vol ("d0p3")->why_not : "null");
  ok (nvols <= 4 + 1024, "the loop did not list partitions without end (%zu)", nvols);
}

static void
test_hostile_mbr (unsigned char *img)
{
  memset (img, 0, (size_t) DISK_SECTORS * SECTOR);
  mbr_set (img, 0, 0x83, 30720, 0x00100000);       /* 512 MiB: past the end */
  mbr_set (img, 1, 0x83, 4096, 2048);
  mbr_set (img, 2, 0x83, 5120, 2048);              /* overlaps p2 */
  is_int (discover (write_disk ("hostile.img", img)), 0, "hostile MBR: discovered");
  check_vol ("d0p1", VX_VOL_MBR_PRIMARY, 1, 30720 * SECTOR, (uint64_t) 0x00100000 * SECTOR,
             "0x83", "partition lies outside the disk");
  check_vol ("d0p2", VX_VOL_MBR_PRIMARY, 2, 4096 * SECTOR, 2048 * SECTOR, "0x83",
             "partition overlaps d0p3");
  check_vol ("d0p3", VX_VOL_MBR_PRIMARY, 3, 5120 * SECTOR, 2048 * SECTOR, "0x83",
             "partition overlaps d0p2");
}

/* GUID string "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" to GPT's mixed-endian bytes. */
static void
put_guid (unsigned char *p, const char *s)
{
  unsigned b[16];

  if (sscanf (s, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x",
              &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6], &b[7], &b[8],
              &b[9], &b[10], &b[11], &b[12], &b[13], &b[14], &b[15]) != 16)
    abort ();
  p[0] = b[3]; p[1] = b[2]; p[2] = b[1]; p[3] = b[0];
  p[4] = b[5]; p[5] = b[4];
  p[6] = b[7]; p[7] = b[6];
  for (int i = 8; i < 16; i++)
    p[i] = b[i];
}

static void
gpt_entry (unsigned char *ents, int i, const char *type, const char *uuid,
           uint64_t first, uint64_t last, const char *name)
{
  unsigned char *e = ents + 128 * i;

  put_guid (e, type);
  put_guid (e + 16, uuid);
  put64 (e + 32, first);
  put64 (e + 40, last);
  for (size_t k = 0; name[k] && k < 36; k++)
    put16 (e + 56 + 2 * k, (unsigned char) name[k]);
}

/* Header at LBA AT (entries at ENTRIES_LBA), the other copy at ALT. */
static void
gpt_header (unsigned char *img, uint64_t at, uint64_t alt, uint64_t entries_lba,
            uint32_t nentries, const unsigned char *ents)
{
  unsigned char *h = img + at * SECTOR;

  memset (h, 0, SECTOR);
  memcpy (h, "EFI PART", 8);
  put32 (h + 8, 0x00010000);
  put32 (h + 12, 92);
  put64 (h + 24, at);
  put64 (h + 32, alt);
  put64 (h + 40, 34);
  put64 (h + 48, DISK_SECTORS - 34);
  put_guid (h + 56, "11111111-2222-3333-4444-555555555555");
  put64 (h + 72, entries_lba);
  put32 (h + 80, nentries);
  put32 (h + 84, 128);
  put32 (h + 88, (uint32_t) crc32 (0, ents, 128u * 128));
  put32 (h + 16, (uint32_t) crc32 (0, h, 92));
}

static void
test_gpt (unsigned char *img, uint32_t nentries)
{
  unsigned char *ents = img + 2 * SECTOR;
  const char *linux_fs = "0fc63daf-8483-4772-8e79-3d69d8477de4";
  const char *esp = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";

  memset (img, 0, (size_t) DISK_SECTORS * SECTOR);
  mbr_set (img, 0, 0xee, 1, DISK_SECTORS - 1);
  gpt_entry (ents, 0, esp, "01234567-89ab-cdef-0123-456789abcdef", 2048, 4095, "EFI system");
  gpt_entry (ents, 1, linux_fs, "89abcdef-0123-4567-89ab-cdef01234567", 4096, 12287, "root");
  memcpy (img + (DISK_SECTORS - 33) * SECTOR, ents, 32 * SECTOR);
  gpt_header (img, 1, DISK_SECTORS - 1, 2, nentries, ents);
  gpt_header (img, DISK_SECTORS - 1, 1, DISK_SECTORS - 33, nentries, ents);
}

static void
test_gpt_good (unsigned char *img)
{
  const struct vx_volume *v;

  test_gpt (img, 128);
  is_int (discover (write_disk ("gpt.img", img)), 0, "GPT: discovered (%s)", err);
  is_u64 (nvols, 2, "GPT: two partitions");
  check_vol ("d0p1", VX_VOL_GPT, 1, 2048 * SECTOR, 2048 * SECTOR,
             "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "no filesystem");
  check_vol ("d0p2", VX_VOL_GPT, 2, 4096 * SECTOR, 8192 * SECTOR,
             "0fc63daf-8483-4772-8e79-3d69d8477de4", NULL);
  if ((v = vol ("d0p1"))) {
    is_str (v->part_uuid, "01234567-89ab-cdef-0123-456789abcdef", "d0p1: partition GUID");
    is_str (v->part_name, "EFI system", "d0p1: partition name");
  }
  if ((v = vol ("d0p2")))
    is_str (v->part_name, "root", "d0p2: partition name");
}

static void
test_gpt_too_many (unsigned char *img)
{
  test_gpt (img, 1u << 20);     /* a header asking for a million entries */
  is_int (discover (write_disk ("gpt-huge.img", img)), 0,
          "GPT header asking for 2^20 entries: no error for the set");
  is_u64 (nvols, 0, "no volumes from a table that cannot be trusted");
  ok (err[0] != '\0', "a warning says why (%s)", err);
}

static void
test_empty_and_missing (unsigned char *img)
{
  const char *paths[1];

  memset (img, 0, (size_t) DISK_SECTORS * SECTOR);
  is_int (discover (write_disk ("empty.img", img)), 0, "empty disk: discovered");
  is_u64 (nvols, 0, "empty disk: no volumes");
  paths[0] = "/nonexistent/vixmount/disk.img";
  vx_volumes_free (vols, nvols);
  vols = NULL;
  nvols = 0;
  err[0] = '\0';
  is_int (vx_discover (paths, NULL, 1, &vols, &nvols, err, sizeof err), -1,
          "a missing disk is an error");
  ok (strstr (err, "/nonexistent/vixmount/disk.img") != NULL,
      "the error names the file (%s)", err);
}

static void
test_allow_list (void)
{
  ok (vx_fstype_allowed ("ext4") && vx_fstype_allowed ("xfs") && vx_fstype_allowed ("vfat"),
      "ext4, xfs, vfat are on the allow-list");
  ok (!vx_fstype_allowed ("swap") && !vx_fstype_allowed ("LVM2_member")
      && !vx_fstype_allowed (NULL) && !vx_fstype_allowed ("ext4 "),
      "swap, LVM2_member, NULL and near-misses are not");
}

int
main (void)
{
  unsigned char *img = calloc (DISK_SECTORS, SECTOR);
  int r;

  if (!img || !mkdtemp (tmpdir)) {
    perror ("test-discover");
    return 1;
  }
  test_mbr_extended (img);
  test_ebr_loop (img);
  test_hostile_mbr (img);
  test_gpt_good (img);
  test_gpt_too_many (img);
  test_empty_and_missing (img);
  test_allow_list ();
  vx_volumes_free (vols, nvols);
  free (img);
  r = tap_done ();
  {
    char cmd[256];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system (cmd) != 0)
      fprintf (stderr, "test-discover: could not remove %s\n", tmpdir);
  }
  return r;
}

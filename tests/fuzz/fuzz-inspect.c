/* tests/fuzz/fuzz-inspect: guest inspection's parsers of guest bytes
 * (mntapi/inspect/inspect.h).  The first input byte picks one:
 *   0 os-release, 1 lsb-release, 2 redhat-release, 3 SuSE-release,
 *   4 debian_version, 5 fstab (each entry then matched against a fixed set
 *   of volumes), 6 the inspection child's message (decoded, re-encoded,
 *   decoded again: the same), 7 a MountedDevices value ("NAME\0DATA"),
 *   8 an ELF header.
 * What they promise: every string is NULL or at most VX_GUEST_STR_MAX
 * bytes without control characters; at most VX_GUEST_FSTAB_MAX fstab
 * entries, each with a spec and a mount point; a match is a volume index
 * or -1/-2. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "inspect.h"

static void
check_str (const char *s)
{
  size_t n = fuzz_touch (s);
  FUZZ_CHECK (n <= VX_GUEST_STR_MAX);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK ((unsigned char) s[i] >= 0x20 && s[i] != 0x7f);
}

static void
check_guest (const struct vx_guest *g)
{
  const char *strs[] = { g->vendor, g->edition, g->product, g->distro, g->version, g->build,
                         g->hostname, g->arch, g->os_folder, g->system_drive };
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    check_str (strs[i]);
  fuzz_touch (g->notes);
  FUZZ_CHECK (g->nfstab <= VX_GUEST_FSTAB_MAX && g->nletters <= VX_GUEST_LETTERS_MAX);
  for (size_t i = 0; i < g->nfstab; i++) {
    FUZZ_CHECK (g->fstab[i].spec && g->fstab[i].dir);
    check_str (g->fstab[i].spec);
    check_str (g->fstab[i].dir);
    check_str (g->fstab[i].type);
  }
}

static struct vx_segment seg[4] = { { .offset = 1048576 }, { .offset = 300 << 20 }, { 0 }, { 0 } };
static struct vx_volume vols[4] = {
  { .name = "d0p1", .kind = VX_VOL_MBR_PRIMARY, .partno = 1, .uuid = "0b7e6d41", .label = "boot",
    .part_uuid = "1234abcd-01", .seg = &seg[0], .nseg = 1 },
  { .name = "d1p1", .kind = VX_VOL_GPT, .disk = 1, .partno = 1, .part_name = "data",
    .part_uuid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", .seg = &seg[1], .nseg = 1 },
  { .name = "vg/root", .file_name = "vg-root", .kind = VX_VOL_LVM, .uuid = "1111",
    .seg = &seg[2], .nseg = 1 },
  { .name = "d2", .kind = VX_VOL_WHOLE_DISK, .disk = 2, .seg = &seg[3], .nseg = 1 },
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct vx_guest g, g2;
  const char *text = (const char *) data + 1, *why;
  size_t len = size ? size - 1 : 0;

  if (size == 0)
    return 0;
  memset (&g, 0, sizeof g);
  switch (data[0] % 9) {
  case 0: vx_osrelease_parse (text, len, &g); break;
  case 1: vx_lsbrelease_parse (text, len, &g); break;
  case 2: vx_releasefile_parse (VX_REL_REDHAT, text, len, &g); break;
  case 3: vx_releasefile_parse (VX_REL_SUSE, text, len, &g); break;
  case 4: vx_releasefile_parse (VX_REL_DEBIAN, text, len, &g); break;
  case 5: {
    size_t bad;
    if (vx_fstab_parse (text, len, &g.fstab, &g.nfstab, &bad) == 0)
      for (size_t i = 0; i < g.nfstab; i++) {
        long k = vx_fstab_match (g.fstab[i].spec, vols, 4);
        FUZZ_CHECK (k >= -2 && k < 4);
      }
    break;
  }
  case 6: {
    unsigned char *buf;
    size_t blen;
    if (vx_guest_decode ((const unsigned char *) text, len, &g, &why) == -1) {
      FUZZ_CHECK (why != NULL);
      break;
    }
    FUZZ_CHECK (vx_guest_encode (&g, &buf, &blen) == 0);
    FUZZ_CHECK (vx_guest_decode (buf, blen, &g2, &why) == 0);
    FUZZ_CHECK (g2.kind == g.kind && g2.major == g.major && g2.nfstab == g.nfstab
                && g2.nletters == g.nletters);
    vx_guest_free (&g2);
    free (buf);
    break;
  }
  case 7: {
    const char *nul = memchr (text, '\0', len);
    struct vx_win_letter l;
    if (nul && vx_mounted_device_decode (text, (const unsigned char *) nul + 1,
                                         (size_t) (text + len - nul - 1), &l) == 0) {
      long k = vx_win_letter_match (&l, vols, 4);
      FUZZ_CHECK (l.letter >= 'A' && l.letter <= 'Z' && k >= -1 && k < 4);
      FUZZ_CHECK (!l.gpt || strlen (l.guid) == 36);
    }
    break;
  }
  case 8: {
    bool is64;
    const char *arch;
    vx_elf_class ((const unsigned char *) text, len, &is64, &arch);
    break;
  }
  }
  check_guest (&g);
  vx_guest_free (&g);
  return 0;
}

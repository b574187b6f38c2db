/* Unit test of guest inspection's parsers and its confined child
 * (mntapi/inspect/inspect.h): release files of the distributions, ELF
 * headers, fstab (escapes, garbage), which volume an fstab spec or a
 * MountedDevices value names, the child's message (every truncation and
 * bad length), and guest trees inspected in the chrooted child whose
 * symlinks, FIFOs and device nodes must not lead it to host files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "inspect.h"
#include "tap.h"

static void
release (const char *text, struct vx_guest *g, int which)
{
  memset (g, 0, sizeof *g);
  if (which == -1)
    vx_osrelease_parse (text, strlen (text), g);
  else if (which == -2)
    vx_lsbrelease_parse (text, strlen (text), g);
  else
    vx_releasefile_parse ((enum vx_release_file) which, text, strlen (text), g);
}

static void
test_release (void)
{
  struct vx_guest g;

  release ("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
           "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n", &g, -1);
  is_str (g.vendor, "Debian GNU/Linux", "debian: vendor is NAME");
  is_str (g.distro, "debian", "debian: ID");
  is_str (g.product, "Debian GNU/Linux 12 (bookworm)", "debian: PRETTY_NAME");
  is_int (g.major, 12, "debian: major");
  is_int (g.minor, 0, "debian: minor");
  is_str (g.edition, NULL, "debian: no VARIANT, no edition");
  vx_guest_free (&g);

  release ("NAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n"
           "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\n", &g, -1);
  is_str (g.vendor, "Ubuntu", "ubuntu: vendor");
  ok (g.major == 22 && g.minor == 4, "ubuntu: 22.04 is 22, 4");
  vx_guest_free (&g);

  release ("NAME=\"Fedora Linux\"\nVERSION=\"38 (Workstation Edition)\"\nID=fedora\n"
           "VERSION_ID=38\nVARIANT=\"Workstation Edition\"\nVARIANT_ID=workstation\n", &g, -1);
  is_str (g.edition, "Workstation Edition", "fedora: VARIANT is the edition");
  is_int (g.major, 38, "fedora: unquoted VERSION_ID");
  vx_guest_free (&g);

  release ("NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.3\"\n"
           "VARIANT_ID=server\n", &g, -1);
  is_str (g.edition, "server", "rhel: VARIANT_ID when there is no VARIANT");
  ok (g.major == 9 && g.minor == 3, "rhel: 9.3");
  vx_guest_free (&g);

  release ("# comment\n  NAME='openSUSE Leap'   # trailing\nID=\"opensuse-leap\"\n"
           "VERSION_ID=\"15.5\"\n", &g, -1);
  is_str (g.vendor, "openSUSE Leap", "opensuse: single quotes, comment after the value");
  ok (g.major == 15 && g.minor == 5, "opensuse: 15.5");
  vx_guest_free (&g);

  release ("NAME=\"A \\\"quoted\\\" \\$name\"\nID=x\n", &g, -1);
  is_str (g.vendor, "A \"quoted\" $name", "os-release: backslash escapes in double quotes");
  vx_guest_free (&g);

  release ("NAME=\"bell\a and more\"\nID=x\n", &g, -1);
  is_str (g.vendor, "bell", "os-release: a control byte ends a guest string");
  vx_guest_free (&g);

  {
    char big[2000];
    memset (big, 'x', sizeof big);
    memcpy (big, "NAME=", 5);
    big[sizeof big - 1] = '\0';
    release (big, &g, -1);
    ok (g.vendor && strlen (g.vendor) == VX_GUEST_STR_MAX, "os-release: a long NAME is capped");
    vx_guest_free (&g);
  }
  memset (&g, 0, sizeof g);
  is_int (vx_osrelease_parse ("\0\1\2garbage\n=\n", 14, &g), -1,
          "os-release: garbage names nothing");
  is_int (vx_osrelease_parse ("", 0, &g), -1, "os-release: empty");
  vx_guest_free (&g);

  release ("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n"
           "DISTRIB_DESCRIPTION=\"Ubuntu 14.04.6 LTS\"\n", &g, -2);
  is_str (g.vendor, "Ubuntu", "lsb-release: vendor");
  is_str (g.distro, "ubuntu", "lsb-release: distro in lower case");
  ok (g.major == 14 && g.minor == 4, "lsb-release: 14.04");
  is_str (g.product, "Ubuntu 14.04.6 LTS", "lsb-release: description");
  vx_guest_free (&g);

  release ("Red Hat Enterprise Linux Server release 7.9 (Maipo)\n", &g, VX_REL_REDHAT);
  is_str (g.vendor, "Red Hat Enterprise Linux Server", "redhat-release: vendor");
  is_str (g.distro, "rhel", "redhat-release: rhel");
  ok (g.major == 7 && g.minor == 9, "redhat-release: 7.9");
  vx_guest_free (&g);

  release ("CentOS release 6.10 (Final)\n", &g, VX_REL_REDHAT);
  is_str (g.distro, "centos", "redhat-release: centos");
  ok (g.major == 6 && g.minor == 10, "redhat-release: 6.10");
  vx_guest_free (&g);

  release ("no such word here\n", &g, VX_REL_REDHAT);
  is_str (g.vendor, NULL, "redhat-release without ' release ': nothing");
  vx_guest_free (&g);

  release ("SUSE Linux Enterprise Server 11 (x86_64)\nVERSION = 11\nPATCHLEVEL = 4\n", &g,
           VX_REL_SUSE);
  is_str (g.vendor, "SUSE Linux Enterprise Server", "SuSE-release: vendor");
  is_str (g.distro, "sles", "SuSE-release: sles");
  ok (g.major == 11 && g.minor == 4, "SuSE-release: VERSION + PATCHLEVEL");
  vx_guest_free (&g);

  release ("openSUSE 13.2 (x86_64)\nVERSION = 13.2\nCODENAME = Harlequin\n", &g, VX_REL_SUSE);
  is_str (g.vendor, "openSUSE", "SuSE-release: openSUSE");
  ok (g.major == 13 && g.minor == 2, "SuSE-release: 13.2");
  vx_guest_free (&g);

  release ("12.4\n", &g, VX_REL_DEBIAN);
  is_str (g.vendor, "Debian", "debian_version: vendor");
  ok (g.major == 12 && g.minor == 4, "debian_version: 12.4");
  vx_guest_free (&g);

  release ("trixie/sid\n", &g, VX_REL_DEBIAN);
  ok (g.vendor && g.major == 0 && !g.version, "debian_version of testing: no number");
  vx_guest_free (&g);

  unsigned a, b;
  is_int (vx_version_split ("99999999999999.1", &a, &b), 0, "version: long numbers are cut");
  is_int (vx_version_split ("v1", &a, &b), -1, "version: no leading digit");
}

static void
test_elf (void)
{
  unsigned char h[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
  bool is64 = false;
  const char *arch;

  h[18] = 62;
  ok (vx_elf_class (h, sizeof h, &is64, &arch) == 0 && is64 && !strcmp (arch, "x86_64"),
      "ELF: 64-bit x86_64");
  h[4] = 1;
  h[18] = 3;
  ok (vx_elf_class (h, sizeof h, &is64, &arch) == 0 && !is64 && !strcmp (arch, "i386"),
      "ELF: 32-bit i386");
  h[4] = 2;
  h[5] = 2;
  h[18] = 0;
  h[19] = 21;
  ok (vx_elf_class (h, sizeof h, &is64, &arch) == 0 && is64 && !strcmp (arch, "ppc64"),
      "ELF: big-endian ppc64");
  is_int (vx_elf_class ((const unsigned char *) "#!/bin/sh\n", 10, &is64, &arch), -1,
          "ELF: a script is not ELF");
  h[4] = 7;
  is_int (vx_elf_class (h, sizeof h, &is64, &arch), -1, "ELF: bad class");
}

static struct vx_volume vols[8];

static void
make_volumes (void)
{
  static struct vx_segment seg[8];
  memset (vols, 0, sizeof vols);
  for (int i = 0; i < 8; i++) {
    vols[i].seg = &seg[i];
    vols[i].nseg = 1;
  }
  vols[0] = (struct vx_volume) { .name = "d0p1", .kind = VX_VOL_MBR_PRIMARY, .disk = 0,
    .partno = 1, .uuid = "0b7e6d41-9c8f-4e2a-8d1e-5f9a2b3c4d5e", .label = "boot",
    .part_uuid = "1234abcd-01", .seg = &seg[0], .nseg = 1, .fstype = "ext4" };
  seg[0].offset = 1048576;
  vols[1] = (struct vx_volume) { .name = "d0p5", .kind = VX_VOL_MBR_LOGICAL, .disk = 0,
    .partno = 5, .part_uuid = "1234abcd-05", .seg = &seg[1], .nseg = 1, .fstype = "LVM2_member" };
  seg[1].offset = 300 * 1048576;
  vols[2] = (struct vx_volume) { .name = "vg0/root", .file_name = "vg0-root", .kind = VX_VOL_LVM,
    .uuid = "11111111-2222-3333-4444-555555555555", .label = "root",
    .part_uuid = "AbCdEf-1234", .seg = &seg[2], .nseg = 1 };
  vols[3] = (struct vx_volume) { .name = "vg0/my-home", .file_name = "vg0-my--home",
    .kind = VX_VOL_LVM, .uuid = "6666", .seg = &seg[3], .nseg = 1 };
  vols[4] = (struct vx_volume) { .name = "d1p1", .kind = VX_VOL_GPT, .disk = 1, .partno = 1,
    .part_uuid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", .part_name = "data files",
    .uuid = "7777", .seg = &seg[4], .nseg = 1 };
  vols[5] = (struct vx_volume) { .name = "d2", .kind = VX_VOL_WHOLE_DISK, .disk = 2,
    .partno = 0, .uuid = "8888", .seg = &seg[5], .nseg = 1 };
}

static void
test_fstab (void)
{
  static const char text[] =
    "# /etc/fstab\n"
    "UUID=0B7E6D41-9C8F-4E2A-8D1E-5F9A2B3C4D5E /boot ext4 defaults 0 2\n"
    "/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\n"
    "\t/dev/vg0/my-home\t/home\txfs\tdefaults\t0 2   # trailing comment\n"
    "LABEL=root /mnt/with\\040space ext4 bind 0 0\n"
    "/dev/mapper/vg0-swap none swap sw 0 0\n"
    "PARTLABEL=data\\040files /srv/data ext4 defaults\n"
    "\n"
    "garbage-without-second-field\n"
    "relative mountpoint ext4\n"
    "bin\001ary /x ext4\n"
    "proc /proc proc defaults 0 0\n";
  struct vx_fstab_entry *e;
  size_t n, bad;

  ok (vx_fstab_parse (text, sizeof text - 1, &e, &n, &bad) == 0, "fstab: parsed");
  is_u64 (n, 7, "fstab: seven entries (proc too)");
  is_u64 (bad, 3, "fstab: three garbage lines skipped");
  if (n == 7) {
    is_str (e[0].dir, "/boot", "fstab: /boot");
    is_str (e[2].spec, "/dev/vg0/my-home", "fstab: tabs separate fields");
    is_str (e[2].type, "xfs", "fstab: type");
    is_str (e[3].dir, "/mnt/with space", "fstab: \\040 is a space");
    is_str (e[4].dir, "none", "fstab: swap's 'none'");
    is_str (e[5].spec, "PARTLABEL=data files", "fstab: escape in the spec");
  }
  make_volumes ();
  is_int (vx_fstab_match (e[0].spec, vols, 6), 0, "match: UUID= any case");
  is_int (vx_fstab_match (e[1].spec, vols, 6), 2, "match: /dev/mapper/VG-LV");
  is_int (vx_fstab_match (e[2].spec, vols, 6), 3, "match: /dev/VG/LV with a dash in LV");
  is_int (vx_fstab_match (e[3].spec, vols, 6), 2, "match: LABEL=");
  is_int (vx_fstab_match (e[5].spec, vols, 6), 4, "match: PARTLABEL= with a space");
  is_int (vx_fstab_match ("/dev/mapper/vg0-my--home", vols, 6), 3,
          "match: /dev/mapper doubles dashes");
  is_int (vx_fstab_match ("/dev/mapper/vg0-my-home", vols, 6), -1,
          "match: a single dash is another name");
  is_int (vx_fstab_match ("PARTUUID=1234ABCD-05", vols, 6), 1, "match: MBR PARTUUID");
  is_int (vx_fstab_match ("PARTUUID=C12A7328-F81F-11D2-BA4B-00A0C93EC93B", vols, 6), 4,
          "match: GPT PARTUUID");
  is_int (vx_fstab_match ("PARTUUID=AbCdEf-1234", vols, 6), -1,
          "match: an LV's UUID is no PARTUUID");
  is_int (vx_fstab_match ("/dev/disk/by-uuid/7777", vols, 6), 4, "match: by-uuid path");
  is_int (vx_fstab_match ("/dev/disk/by-label/boot", vols, 6), 0, "match: by-label path");
  is_int (vx_fstab_match ("UUID=\"8888\"", vols, 6), 5, "match: quoted UUID");
  is_int (vx_fstab_match ("/dev/sda1", vols, 6), 0, "match: /dev/sda1");
  is_int (vx_fstab_match ("/dev/vda5", vols, 6), 1, "match: /dev/vda5");
  is_int (vx_fstab_match ("/dev/xvdb1", vols, 6), 4, "match: /dev/xvdb1 is disk 1");
  is_int (vx_fstab_match ("/dev/hdc", vols, 6), 5, "match: /dev/hdc is disk 2, whole");
  is_int (vx_fstab_match ("/dev/sdc1", vols, 6), -1, "match: no partition 1 on disk 2");
  is_int (vx_fstab_match ("/dev/sda", vols, 6), -1, "match: disk 0 is partitioned");
  is_int (vx_fstab_match ("/dev/sdaa1", vols, 6), -1, "match: disk 26 is not in the set");
  is_int (vx_fstab_match ("/dev/sda1x", vols, 6), -2, "match: junk after the number: no form known");
  is_int (vx_fstab_match ("proc", vols, 6), -2, "match: proc is no device");
  is_int (vx_fstab_match ("server:/export", vols, 6), -2, "match: nor is an NFS export");
  is_int (vx_fstab_match ("UUID=", vols, 6), -1, "match: empty UUID matches nothing");
  is_int (vx_fstab_match ("/dev/a/b/c", vols, 6), -2, "match: three components");
  vx_fstab_free (e, n);

  /* many lines: the cap */
  {
    size_t len = 400 * 20;
    char *big = malloc (len + 1), *p = big;
    for (int i = 0; i < 400; i++)
      p += sprintf (p, "/dev/sd%c1 /m%03d x\n", 'a' + i % 26, i);
    ok (vx_fstab_parse (big, (size_t) (p - big), &e, &n, &bad) == 0 && n == VX_GUEST_FSTAB_MAX
        && bad == 400 - VX_GUEST_FSTAB_MAX, "fstab: at most %d entries", VX_GUEST_FSTAB_MAX);
    vx_fstab_free (e, n);
    free (big);
  }
}

static void
test_mounted_devices (void)
{
  unsigned char mbr[12] = { 0xcd, 0xab, 0x34, 0x12, 0, 0, 0x10, 0, 0, 0, 0, 0 };
  unsigned char gpt[24] = { 'D', 'M', 'I', 'O', ':', 'I', 'D', ':',
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
  struct vx_win_letter l;

  ok (vx_mounted_device_decode ("\\DosDevices\\C:", mbr, 12, &l) == 0 && l.letter == 'C'
      && !l.gpt && l.mbr_signature == 0x1234abcd && l.offset == 1048576,
      "MountedDevices: MBR signature and offset");
  is_int (vx_win_letter_match (&l, vols, 6), 0, "MountedDevices: C: is d0p1");
  l.offset = 2048;
  is_int (vx_win_letter_match (&l, vols, 6), -1, "MountedDevices: another offset, no volume");
  ok (vx_mounted_device_decode ("\\DosDevices\\e:", gpt, 24, &l) == 0 && l.letter == 'E'
      && l.gpt && !strcmp (l.guid, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"),
      "MountedDevices: GPT GUID in blkid's byte order");
  is_int (vx_win_letter_match (&l, vols, 6), 4, "MountedDevices: E: is d1p1");
  is_int (vx_mounted_device_decode ("\\??\\Volume{1234}", mbr, 12, &l), -1,
          "MountedDevices: a volume GUID name is no drive letter");
  is_int (vx_mounted_device_decode ("\\DosDevices\\CC:", mbr, 12, &l), -1,
          "MountedDevices: two letters");
  is_int (vx_mounted_device_decode ("\\DosDevices\\C:", mbr, 11, &l), -1,
          "MountedDevices: 11 bytes");
  is_int (vx_mounted_device_decode ("\\DosDevices\\C:", gpt, 23, &l), -1,
          "MountedDevices: truncated GPT value");
  is_int (vx_mounted_device_decode (NULL, mbr, 12, &l), -1, "MountedDevices: no name");
}

static void
test_wire (void)
{
  struct vx_guest g = { 0 }, d;
  unsigned char *buf;
  size_t len;
  const char *why;
  bool all = true;

  g.kind = VX_GUEST_WINDOWS;
  g.vendor = strdup ("Microsoft");
  g.product = strdup ("Windows 10 Pro");
  g.major = 10;
  g.is64 = true;
  g.notes = strdup ("line one\nline two\n");
  g.nfstab = 1;
  g.fstab = calloc (1, sizeof *g.fstab);
  g.fstab[0].spec = strdup ("UUID=x");
  g.fstab[0].dir = strdup ("/");
  g.nletters = 2;
  g.letters = calloc (2, sizeof *g.letters);
  g.letters[0] = (struct vx_win_letter) { .letter = 'C', .mbr_signature = 7, .offset = 1ull << 40 };
  g.letters[1] = (struct vx_win_letter) { .letter = 'D', .gpt = true,
                                          .guid = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b" };
  ok (vx_guest_encode (&g, &buf, &len) == 0, "wire: encoded");
  ok (vx_guest_decode (buf, len, &d, &why) == 0, "wire: decoded");
  ok (d.kind == VX_GUEST_WINDOWS && d.major == 10 && d.is64 && !strcmp (d.vendor, "Microsoft")
      && !strcmp (d.product, "Windows 10 Pro") && !d.edition && !strcmp (d.notes, g.notes)
      && d.nfstab == 1 && !strcmp (d.fstab[0].dir, "/") && !d.fstab[0].type
      && d.nletters == 2 && d.letters[0].offset == 1ull << 40 && d.letters[1].gpt
      && !strcmp (d.letters[1].guid, g.letters[1].guid), "wire: round trip");
  vx_guest_free (&d);
  for (size_t k = 0; k < len; k++)
    if (vx_guest_decode (buf, k, &d, &why) != -1) {
      all = false;
      vx_guest_free (&d);
    }
  ok (all, "wire: each of the %zu truncations is refused", len);
  /* a huge length in the first string */
  buf[14] = buf[15] = buf[16] = 0xff;
  buf[17] = 0x7f;
  ok (vx_guest_decode (buf, len, &d, &why) == -1 && why, "wire: a huge length is refused (%s)",
      why);
  buf[14] = 0x41;
  buf[15] = buf[16] = buf[17] = 0;
  ok (vx_guest_decode (buf, len, &d, &why) == -1, "wire: a wrong length is refused (%s)", why);
  buf[4] = 9;
  ok (vx_guest_decode (buf, len, &d, &why) == -1, "wire: unknown kind refused");
  free (buf);
  vx_guest_free (&g);
}

/* ---- guest trees in the chrooted child ----------------------------------- */

static char tmp[] = "/tmp/test-inspect-XXXXXX";

static void
put (const char *rel, const char *text)
{
  char p[512];
  int fd;
  snprintf (p, sizeof p, "%s/%s", tmp, rel);
  fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd == -1 || write (fd, text, strlen (text)) != (ssize_t) strlen (text))
    printf ("# cannot write %s\n", p);
  if (fd != -1)
    close (fd);
}

static void
dirs (const char *root, const char *const *d)
{
  char p[512];
  for (; *d; d++) {
    snprintf (p, sizeof p, "%s/%s/%s", tmp, root, *d);
    mkdir (p, 0755);
  }
}

static void
lnk (const char *target, const char *rel)
{
  char p[512];
  snprintf (p, sizeof p, "%s/%s", tmp, rel);
  if (symlink (target, p) == -1)
    printf ("# symlink %s: %s\n", p, strerror (errno));
}

static void
test_child (void)
{
  static const char *const tree[] = { "", "etc", "usr", "usr/lib", "usr/bin", NULL };
  struct vx_guest g;
  char err[512] = "", root[512], secret[512];

  if (geteuid () != 0) {
    ok (true, "# SKIP the chroot tests need root");
    return;
  }
  if (!mkdtemp (tmp)) {
    ok (false, "mkdtemp");
    return;
  }
  /* the host's secret, beside the guest trees */
  put ("secret", "NAME=\"HOST SECRET\"\nID=hostsecret\n");
  snprintf (secret, sizeof secret, "%s/secret", tmp);

  /* Ubuntu's form: /etc/os-release -> ../usr/lib/os-release; /bin -> usr/bin */
  mkdir (strcat (strcpy (root, tmp), "/u"), 0755);
  dirs ("u", tree);
  put ("u/usr/lib/os-release", "NAME=\"Ubuntu\"\nID=ubuntu\nVERSION_ID=\"22.04\"\n");
  lnk ("../usr/lib/os-release", "u/etc/os-release");
  lnk ("usr/bin", "u/bin");
  {
    unsigned char elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
    char p[512];
    int fd;
    elf[18] = 183;
    snprintf (p, sizeof p, "%s/u/usr/bin/sh", tmp);
    fd = open (p, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd != -1) {
      if (write (fd, elf, sizeof elf) != sizeof elf)
        printf ("# short write\n");
      close (fd);
    }
  }
  put ("u/etc/hostname", "\n  guest-u\n");
  put ("u/etc/fstab", "UUID=1 / ext4 defaults 0 1\n\377\376garbage\n");
  ok (vx_inspect_root (root, 0, &g, err, sizeof err) == 0, "child: ubuntu tree inspected (%s)",
      err);
  ok (g.kind == VX_GUEST_LINUX && g.vendor && !strcmp (g.vendor, "Ubuntu") && g.major == 22
      && g.minor == 4, "child: relative os-release symlink followed inside the guest");
  ok (g.is64 && g.arch && !strcmp (g.arch, "aarch64"), "child: ELF through /bin -> usr/bin");
  is_str (g.hostname, "guest-u", "child: hostname");
  ok (g.nfstab == 1 && g.notes && strstr (g.notes, "1 line not understood"),
      "child: fstab garbage noted");
  is_str (g.os_folder, "", "child: a Linux root's OS folder is the root");
  vx_guest_free (&g);

  /* Fedora's form: an absolute symlink; and one that names the host's file */
  mkdir (strcat (strcpy (root, tmp), "/f"), 0755);
  dirs ("f", tree);
  put ("f/usr/lib/os-release", "NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=39\n");
  lnk ("/usr/lib/os-release", "f/etc/os-release");
  ok (vx_inspect_root (root, 0, &g, err, sizeof err) == 0 && g.vendor
      && !strcmp (g.vendor, "Fedora Linux") && g.major == 39,
      "child: absolute os-release symlink resolves in the guest's root");
  vx_guest_free (&g);

  mkdir (strcat (strcpy (root, tmp), "/h"), 0755);
  dirs ("h", tree);
  lnk (secret, "h/etc/os-release");
  lnk ("../../../../../../../../../../secret", "h/usr/lib/os-release");
  {
    char up[600];
    snprintf (up, sizeof up, "../../../../../../../..%s", secret);
    lnk (up, "h/etc/lsb-release");
  }
  put ("h/etc/debian_version", "11.8\n");
  ok (vx_inspect_root (root, 0, &g, err, sizeof err) == 0, "child: hostile tree inspected");
  ok (!(g.vendor && strstr (g.vendor, "SECRET")) && g.distro && !strcmp (g.distro, "debian")
      && g.major == 11, "child: symlinks to the host's file read nothing of it (%s)",
      g.vendor ? g.vendor : "-");
  vx_guest_free (&g);

  /* a FIFO and a device node where os-release should be: not read, no hang */
  mkdir (strcat (strcpy (root, tmp), "/p"), 0755);
  dirs ("p", tree);
  {
    char p[512];
    snprintf (p, sizeof p, "%s/p/etc/os-release", tmp);
    if (mkfifo (p, 0644) == -1)
      printf ("# mkfifo: %s\n", strerror (errno));
    snprintf (p, sizeof p, "%s/p/usr/lib/os-release", tmp);
    if (mknod (p, S_IFCHR | 0644, makedev (1, 8)) == -1)     /* /dev/random */
      printf ("# mknod: %s\n", strerror (errno));
  }
  ok (vx_inspect_root (root, 5000, &g, err, sizeof err) == 0 && g.kind == VX_GUEST_NONE
      && g.notes && strstr (g.notes, "/etc/os-release: not a regular file"),
      "child: FIFO and device node are not read (%s)", err);
  vx_guest_free (&g);

  /* Windows with a damaged SOFTWARE hive and no SYSTEM hive */
  mkdir (strcat (strcpy (root, tmp), "/w"), 0755);
  {
    static const char *const wt[] = { "", "WINDOWS", "WINDOWS/system32",
                                       "WINDOWS/system32/CONFIG", NULL };
    dirs ("w", wt);
  }
  put ("w/WINDOWS/system32/CONFIG/software", "regf but not really a hive");
  ok (vx_inspect_root (root, 0, &g, err, sizeof err) == 0 && g.kind == VX_GUEST_WINDOWS
      && g.os_folder && !strcmp (g.os_folder, "WINDOWS") && g.notes
      && strstr (g.notes, "SOFTWARE hive: cannot be read") && strstr (g.notes, "SYSTEM hive: not found"),
      "child: Windows found case-insensitively; damaged hive noted (%s)", err);
  vx_guest_free (&g);

  /* nothing at all */
  ok (vx_inspect_root ("/nonexistent-dir-for-inspect", 0, &g, err, sizeof err) == -1
      && strstr (err, "cannot chroot"), "child: a missing directory is an error (%s)", err);

  {
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
      printf ("# could not remove %s\n", tmp);
  }
}

int
main (void)
{
  test_release ();
  test_elf ();
  test_fstab ();
  test_mounted_devices ();
  test_wire ();
  test_child ();
  return tap_done ();
}

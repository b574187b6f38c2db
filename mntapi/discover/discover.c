/* vixmount mount layer: volume discovery with libblkid.
 *
 * For each disk of a set (a regular file or a block device) the partition
 * table is probed (MBR with extended/logical partitions, or GPT; other table
 * types are not looked for), then every partition's content at its offset
 * (filesystem TYPE, LABEL, UUID; swap, LVM2 PVs, LUKS are recognised and
 * refused).  A disk without a table is probed as a whole.
 *
 * Guest disks are hostile.  libblkid is robust against most bad tables, but
 * two things are checked here before it is let loose on a disk:
 *   - a GPT header (with a valid header CRC) that claims more than
 *     VX_GPT_MAX_ENTRIES entries: libblkid would allocate and read
 *     entries * 128 bytes (up to 4 GiB) before checking anything;
 *   - an MBR extended chain longer than VX_EBR_MAX_LINKS: libblkid follows
 *     it to the end with a cost quadratic in its length (30,000 links take
 *     8 s, a disk holds millions).  Such a disk's primary entries are listed
 *     from our own reading of the MBR, and its extended container says why
 *     its logical partitions are not.
 * After probing, partitions that do not lie inside the disk or that overlap
 * another are listed but not mountable, and at most VX_MAX_VOLUMES_PER_DISK
 * volumes are listed per disk.  Everything skipped is reported as a warning
 * line in errbuf (see volume.h).
 *
 * No global state: every call has its own probes and file descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include <blkid/blkid.h>

#include "byteorder.h"
#include "crc32.h"
#include "fullio.h"
#include "lvm.h"
#include "volume.h"

#define VX_MAX_VOLUMES_PER_DISK 256
#define VX_EBR_MAX_LINKS        1024
#define VX_GPT_MAX_ENTRIES      16384u   /* 2 MiB of 128-byte entries */
#define VX_GPT_ENTRY_SIZE       128u

/* ---- error and warning text ------------------------------------------ */

struct ctx {
  char *errbuf;
  size_t errlen;
  const char *path;          /* disk being probed */
  unsigned disk;
  struct vx_volume *v;       /* volumes found so far (all disks) */
  size_t n, cap;
};

static void __attribute__ ((format (printf, 2, 3)))
set_error (struct ctx *c, const char *fmt, ...)
{
  va_list ap;
  int len;

  if (!c->errbuf || c->errlen == 0)
    return;
  len = c->path ? snprintf (c->errbuf, c->errlen, "disk %u (%s): ", c->disk, c->path)
    : snprintf (c->errbuf, c->errlen, "LVM: ");
  if (len < 0 || (size_t) len >= c->errlen)
    return;
  va_start (ap, fmt);
  vsnprintf (c->errbuf + len, c->errlen - len, fmt, ap);
  va_end (ap);
}

/* Warnings accumulate in errbuf, one per line, as long as they fit. */
static void __attribute__ ((format (printf, 2, 3)))
add_warning (struct ctx *c, const char *fmt, ...)
             {
             va_list ap;
  size_t used;
  int len;

  if (!c->errbuf || c->errlen == 0)
    return;
  used = strnlen (c->errbuf, c->errlen);
  if (used + 1 >= c->errlen)
    return;
  if (c->path)
    len = snprintf (c->errbuf + used, c->errlen - used, "%sdisk %u (%s): ",
                    used ? "\n" : "", c->disk, c->path);
  else                          /* about the set (LVM: a VG) */
    len = snprintf (c->errbuf + used, c->errlen - used, "%s", used ? "\n" : "");
  if (len < 0 || used + len >= c->errlen)
    return;
  used += len;
  va_start (ap, fmt);
  vsnprintf (c->errbuf + used, c->errlen - used, fmt, ap);
  va_end (ap);
}

/* ---- the allow-list --------------------------------------------------- */

/* What the mount layer mounts: the kernel's ext2/3/4, xfs, btrfs, vfat and
 * ntfs (blkid says "ntfs"; the mount layer picks ntfs3 or ntfs-3g).  Not
 * exfat yet: no mount path for it is built or tested; add it here when
 * there is.  Never swap, LVM2_member, crypto_*, RAID members or anything
 * blkid did not recognise. */
bool
vx_fstype_allowed (const char *fstype)
{
  static const char *const allowed[] = {
    "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "ntfs", NULL
  };
  size_t i;

  if (!fstype)
    return false;
  for (i = 0; allowed[i]; i++)
    if (strcmp (fstype, allowed[i]) == 0)
      return true;
  return false;
}

/* ---- the volume list -------------------------------------------------- */

static void
volume_clear (struct vx_volume *v)
{
  free (v->name);
  free (v->file_name);
  vx_segments_free (v->seg, v->nseg);
  free (v->fstype);
  free (v->label);
  free (v->uuid);
  free (v->part_type);
  free (v->part_uuid);
  free (v->part_name);
  free (v->why_not);
  memset (v, 0, sizeof *v);
}

void
vx_volumes_free (struct vx_volume *vols, size_t n)
{
  size_t i;

  if (!vols)
    return;
  for (i = 0; i < n; i++)
    volume_clear (&vols[i]);
  free (vols);
}

/* A zeroed volume at c->v[c->n] (the caller counts it once it is filled
 * in); NULL (and errbuf set) when out of memory. */
static struct vx_volume *
new_volume (struct ctx *c)
{
  if (c->n == c->cap) {
    size_t ncap = c->cap ? c->cap * 2 : 16;
    struct vx_volume *nv = reallocarray (c->v, ncap, sizeof *nv);
    if (!nv) {
      set_error (c, "out of memory");
      return NULL;
    }
    c->v = nv;
    c->cap = ncap;
  }
  memset (&c->v[c->n], 0, sizeof c->v[c->n]);
  return &c->v[c->n];
}

/* Appends a zeroed volume with its one segment; NULL (and errbuf set) when
 * out of memory. */
static struct vx_volume *
add_volume (struct ctx *c, enum vx_volume_kind kind, int partno,
            uint64_t offset, uint64_t length)
{
  struct vx_volume *v = new_volume (c);

  if (!v)
    return NULL;
  v->kind = kind;
  v->disk = c->disk;
  v->partno = partno;
  v->size = length;
  v->seg = calloc (1, sizeof *v->seg);
  if (!v->seg)
    goto oom;
  v->nseg = 1;
  v->seg[0].disk = c->disk;
  v->seg[0].offset = offset;
  v->seg[0].length = length;
  if ((partno ? asprintf (&v->name, "d%up%d", c->disk, partno)
              : asprintf (&v->name, "d%u", c->disk)) < 0) {
    v->name = NULL;
    free (v->seg);
    goto oom;
  }
  c->n++;
  return v;

 oom:
  set_error (c, "out of memory");
  return NULL;
}

/* strdup that leaves NULL for NULL or "". */
static int
dup_opt (struct ctx *c, char **dst, const char *s)
{
  if (!s || !*s)
    return 0;
  *dst = strdup (s);
  if (!*dst) {
    set_error (c, "out of memory");
    return -1;
  }
  return 0;
}

static int __attribute__ ((format (printf, 3, 4)))
set_why_not (struct ctx *c, struct vx_volume *v, const char *fmt, ...)
{
  va_list ap;
  char *s;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0) {
    set_error (c, "out of memory");
    return -1;
  }
  free (v->why_not);
  v->why_not = s;
  v->mountable = false;
  return 0;
}

/* ---- raw reads for the pre-checks ------------------------------------- */

/* Reads len bytes at off.  1 when [off, off+len) is not inside the disk or
 * the file is short, -1 (errno) on an I/O error. */
static int
read_at (int fd, uint64_t disk_size, void *buf, size_t len, uint64_t off)
{
  ssize_t r;

  if (off > disk_size || len > disk_size - off)
    return 1;
  r = vx_full_pread (fd, buf, len, off);
  if (r < 0)
    return -1;
  return (size_t) r < len ? 1 : 0;
}

/* A GPT header at byte offset off whose header CRC is valid: its entry
 * count, entry size, entries LBA and entries CRC.  0 if found, 1 if none,
 * -1 on an I/O error. */
struct gpt_hdr {
  uint32_t nentries, entry_size, entries_crc;
  uint64_t entries_lba;
};

static int
read_gpt_header (int fd, uint64_t disk_size, uint64_t off, unsigned ssz,
                 struct gpt_hdr *h)
{
  unsigned char buf[4096];
  uint32_t hsize, crc;
  int r;

  if (ssz < 512 || ssz > sizeof buf)
    ssz = 512;
  r = read_at (fd, disk_size, buf, ssz, off);
  if (r != 0)
    return r;
  if (memcmp (buf, "EFI PART", 8) != 0)
    return 1;
  hsize = le32 (buf + 12);
  if (hsize < 92 || hsize > ssz)
    return 1;
  crc = le32 (buf + 16);
  memset (buf + 16, 0, 4);
  if (vx_crc32 (0, buf, hsize) != crc)
    return 1;
  h->entries_lba = le64 (buf + 72);
  h->nentries = le32 (buf + 80);
  h->entry_size = le32 (buf + 84);
  h->entries_crc = le32 (buf + 88);
  return 0;
}

/* 1 if a GPT header that libblkid would consider (primary at LBA 1, backup
 * at the last LBA) asks for more entries than we allow, 0 if not, -1 on an
 * I/O error. */
static int
gpt_too_big (struct ctx *c, int fd, uint64_t disk_size, unsigned ssz)
{
  uint64_t offs[2];
  struct gpt_hdr h;
  int i, r;

  offs[0] = ssz;
  offs[1] = disk_size / ssz >= 2 ? (disk_size / ssz - 1) * ssz : 0;
  for (i = 0; i < 2; i++) {
    if (offs[i] == 0)
      continue;
    r = read_gpt_header (fd, disk_size, offs[i], ssz, &h);
    if (r < 0)
      return -1;
    if (r == 0 && h.nentries > VX_GPT_MAX_ENTRIES) {
      add_warning (c, "the %s GPT header claims %" PRIu32 " partition entries "
                   "(limit %u): partition table ignored",
                   i == 0 ? "primary" : "backup", h.nentries,
                   VX_GPT_MAX_ENTRIES);
      return 1;
    }
  }
  return 0;
}

/* ---- MBR: our own reading, for the extended-chain guard ---------------- */

struct mbr_entry {
  uint8_t boot, type;
  uint32_t start, size;      /* sectors */
};

static void
mbr_entry (const unsigned char *sec, int i, struct mbr_entry *e)
{
  const unsigned char *p = sec + 446 + 16 * i;

  e->boot = p[0];
  e->type = p[4];
  e->start = le32 (p + 8);
  e->size = le32 (p + 12);
}

static bool
mbr_is_extended (uint8_t type)
{
  return type == 0x05 || type == 0x0f || type == 0x85;
}

/* Whether libblkid would walk this MBR's extended chains: the 0x55AA
 * signature, boot indicators 0 or 0x80, no GPT protective entry.  (It also
 * skips FAT boot sectors; walking those too only costs reads.) */
static bool
mbr_walkable (const unsigned char *mbr)
{
  int i;

  if (mbr[510] != 0x55 || mbr[511] != 0xaa)
    return false;
  for (i = 0; i < 4; i++) {
    struct mbr_entry e;

    mbr_entry (mbr, i, &e);
    if ((e.boot != 0 && e.boot != 0x80) || e.type == 0xee)
      return false;
  }
  return true;
}

/* Follows an extended chain the way libblkid does (the first extended entry
 * of an EBR with a non-zero start and size links to the next EBR, relative
 * to the container's start, in 32-bit arithmetic on 512-byte sectors; ssf
 * is the sector size / 512).  Returns 1 if it has more than
 * VX_EBR_MAX_LINKS distinct links, 0 if it ends or loops before that, -1
 * on an I/O error. */
static int
ebr_chain_too_long (int fd, uint64_t disk_size, uint32_t ssf, uint32_t ex_start)
{
  uint32_t *seen;
  uint32_t cur = ex_start;
  unsigned char sec[512];
  size_t nseen = 0, i;
  int r, ret = 0;

  if (ex_start == 0)
    return 0;
  seen = malloc (VX_EBR_MAX_LINKS * sizeof *seen);
  if (!seen)
    return -1;
  for (;;) {
    struct mbr_entry e;
    int k;

    for (i = 0; i < nseen; i++)
      if (seen[i] == cur)
        goto out;                       /* a loop: libblkid stops it */
    if (nseen == VX_EBR_MAX_LINKS) {
      ret = 1;
      goto out;
    }
    seen[nseen++] = cur;
    r = read_at (fd, disk_size, sec, sizeof sec, (uint64_t) cur * 512);
    if (r < 0) {
      ret = -1;
      goto out;
    }
    if (r > 0 || sec[510] != 0x55 || sec[511] != 0xaa)
      goto out;
    for (k = 0; k < 4; k++) {
      mbr_entry (sec, k, &e);
      if (e.size && mbr_is_extended (e.type) && e.start)
        break;
    }
    if (k == 4)
      goto out;
    cur = ex_start + e.start * ssf;     /* wraps as libblkid's does */
  }
 out:
  free (seen);
  return ret;
}

/* ---- content probing -------------------------------------------------- */

static void
lookup (blkid_probe pr, const char *name, const char **val)
{
  size_t len;

  *val = NULL;
  if (blkid_probe_lookup_value (pr, name, val, &len) != 0 || len == 0)
    *val = NULL;
}

/* Probes [off, off+len) of fd for a filesystem or another known signature
 * and fills v's fstype/label/uuid/mountable/why_not.  -1 with errbuf set on
 * a libblkid failure. */
static int
probe_content (struct ctx *c, int fd, uint64_t off, uint64_t len,
               struct vx_volume *v)
{
  blkid_probe pr;
  const char *type, *label, *uuid, *usage;
  int rc, ret = -1;

  pr = blkid_new_probe ();
  if (!pr) {
    set_error (c, "libblkid: cannot create a probe: %m");
    return -1;
  }
  if (blkid_probe_set_device (pr, fd, (blkid_loff_t) off,
                              (blkid_loff_t) len) != 0) {
    set_error (c, "libblkid: cannot probe %s at offset %" PRIu64 ": %m",
               v->name, off);
    goto out;
  }
  blkid_probe_enable_partitions (pr, 0);
  blkid_probe_enable_superblocks (pr, 1);
  blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE |
                                     BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID |
                                     BLKID_SUBLKS_USAGE);
  errno = 0;
  rc = blkid_do_safeprobe (pr);
  if (rc == -1) {
    if (errno)
      set_error (c, "libblkid: probing %s failed: %m", v->name);
    else
      set_error (c, "libblkid: probing %s failed", v->name);
    goto out;
  }
  if (rc == 1) {                        /* nothing */
    ret = set_why_not (c, v, "no filesystem found");
    goto out;
  }
  if (rc == -2) {                       /* ambivalent: never guess */
    ret = set_why_not (c, v, "several filesystem signatures found (ambiguous)");
    goto out;
  }
  lookup (pr, "TYPE", &type);
  lookup (pr, "LABEL", &label);
  lookup (pr, "UUID", &uuid);
  lookup (pr, "USAGE", &usage);
  if (dup_opt (c, &v->fstype, type) < 0 ||
      dup_opt (c, &v->label, label) < 0 ||
      dup_opt (c, &v->uuid, uuid) < 0)
    goto out;
  if (!type)
    ret = set_why_not (c, v, "no filesystem found");
  else if (vx_fstype_allowed (type)) {
    v->mountable = true;
    ret = 0;
  }
  else if (strcmp (type, "swap") == 0)
    ret = set_why_not (c, v, "swap space");
  else if (strcmp (type, "LVM2_member") == 0)
    ret = set_why_not (c, v, "LVM physical volume");
  else if (strcmp (type, "crypto_LUKS") == 0)
    ret = set_why_not (c, v, "LUKS encrypted volume");
  else if (usage && strcmp (usage, "crypto") == 0)
    ret = set_why_not (c, v, "encrypted volume (%s)", type);
  else if (usage && strcmp (usage, "raid") == 0)
    ret = set_why_not (c, v, "RAID or volume manager member (%s)", type);
  else
    ret = set_why_not (c, v, "filesystem type %s is not supported", type);
 out:
  blkid_free_probe (pr);
  return ret;
}

/* ---- per disk ---------------------------------------------------------- */

static int
cmp_partno (const void *a, const void *b)
{
  const struct vx_volume *x = a, *y = b;

  return (x->partno > y->partno) - (x->partno < y->partno);
}

static uint64_t
seg_end (const struct vx_segment *s)
{
  uint64_t end;

  return __builtin_add_overflow (s->offset, s->length, &end) ? UINT64_MAX : end;
}

/* Geometry checks, then content probing, for the volumes [first, c->n) of
 * the current disk. */
static int
finish_disk (struct ctx *c, int fd, size_t first, uint64_t disk_size)
{
  size_t i, j;

  if (c->n - first > 1)
    qsort (c->v + first, c->n - first, sizeof *c->v, cmp_partno);
  if (c->n - first > VX_MAX_VOLUMES_PER_DISK) {
    add_warning (c, "%zu partitions: only the first %d are listed",
                 c->n - first, VX_MAX_VOLUMES_PER_DISK);
    for (i = first + VX_MAX_VOLUMES_PER_DISK; i < c->n; i++)
      volume_clear (&c->v[i]);
    c->n = first + VX_MAX_VOLUMES_PER_DISK;
  }

  for (i = first; i < c->n; i++) {
    struct vx_volume *v = &c->v[i];
    const struct vx_segment *s = &v->seg[0];

    if (v->kind == VX_VOL_MBR_EXTENDED) {
      if (!v->why_not && set_why_not (c, v, "extended partition container") < 0)
        return -1;
      continue;
    }
    if (v->why_not)                     /* already refused (geometry) */
      continue;
    if (s->length == 0 || s->offset > disk_size ||
        s->length > disk_size - s->offset) {
      if (set_why_not (c, v, "partition lies outside the disk") < 0)
        return -1;
      continue;
    }
    for (j = first; j < c->n; j++) {
      const struct vx_volume *w = &c->v[j];
      const struct vx_segment *t = &w->seg[0];

      if (j == i || w->kind == VX_VOL_MBR_EXTENDED || t->length == 0)
        continue;
      if (s->offset < seg_end (t) && t->offset < seg_end (s))
        break;
    }
    if (probe_content (c, fd, s->offset, s->length, v) < 0)
      return -1;
    if (j < c->n &&
        set_why_not (c, v, "partition overlaps %s", c->v[j].name) < 0)
      return -1;
  }
  return 0;
}

/* Converts libblkid's 512-byte-sector geometry to bytes; false when it does
 * not make sense (negative, zero or overflowing). */
static bool
part_bytes (blkid_partition par, uint64_t *off, uint64_t *len)
{
  blkid_loff_t start = blkid_partition_get_start (par);
  blkid_loff_t size = blkid_partition_get_size (par);

  *off = *len = 0;
  if (start < 0 || size <= 0)
    return false;
  if (__builtin_mul_overflow ((uint64_t) start, 512, off) ||
      __builtin_mul_overflow ((uint64_t) size, 512, len)) {
    *off = *len = 0;
    return false;
  }
  return true;
}

static int
lower_dup (struct ctx *c, char **dst, const char *s)
{
  char *p;

  if (dup_opt (c, dst, s) < 0)
    return -1;
  for (p = *dst; p && *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p += 'a' - 'A';
  return 0;
}

/* Warns about GPT entries libblkid dropped (it skips entries outside the
 * usable area without telling).  Best effort: reads the header libblkid
 * used and its entries (both bounded). */
static void
gpt_check_skipped (struct ctx *c, int fd, uint64_t disk_size, unsigned ssz,
                   blkid_parttable tab, blkid_partlist ls)
{
  struct gpt_hdr h;
  blkid_loff_t hoff = blkid_parttable_get_offset (tab);
  unsigned char *ents;
  uint64_t eoff, esz;
  uint32_t i, skipped = 0, first = 0;
  static const unsigned char zero[16];

  if (hoff <= 0 || read_gpt_header (fd, disk_size, hoff, ssz, &h) != 0 ||
      h.entry_size != VX_GPT_ENTRY_SIZE || h.nentries > VX_GPT_MAX_ENTRIES ||
      __builtin_mul_overflow (h.entries_lba, ssz, &eoff))
    return;
  esz = (uint64_t) h.nentries * h.entry_size;
  ents = malloc (esz ? esz : 1);
  if (!ents)
    return;
  if (read_at (fd, disk_size, ents, esz, eoff) == 0 &&
      vx_crc32 (0, ents, esz) == h.entries_crc) {
    for (i = 0; i < h.nentries; i++) {
      if (memcmp (ents + (uint64_t) i * h.entry_size, zero, 16) == 0)
        continue;
      if (blkid_partlist_get_partition_by_partno (ls, (int) i + 1))
        continue;
      if (!skipped++)
        first = i + 1;
    }
    if (skipped)
      add_warning (c, "libblkid skipped %" PRIu32 " GPT entr%s (the first is "
                   "number %" PRIu32 "): outside the table's usable area",
                   skipped, skipped == 1 ? "y" : "ies", first);
  }
  free (ents);
}

static int
add_partitions (struct ctx *c, int fd, uint64_t disk_size, unsigned ssz,
                blkid_partlist ls)
{
  blkid_parttable tab = blkid_partlist_get_table (ls);
  const char *pttype = tab ? blkid_parttable_get_type (tab) : NULL;
  bool gpt;
  int i, n, nested = 0;

  if (!pttype || (strcmp (pttype, "gpt") != 0 && strcmp (pttype, "dos") != 0)) {
    add_warning (c, "unexpected partition table type %s: ignored",
                 pttype ? pttype : "(none)");
    return 0;
  }
  gpt = strcmp (pttype, "gpt") == 0;
  n = blkid_partlist_numof_partitions (ls);
  for (i = 0; i < n; i++) {
    blkid_partition par = blkid_partlist_get_partition (ls, i);
    enum vx_volume_kind kind;
    struct vx_volume *v;
    uint64_t off, len;
    bool sane;

    if (!par)
      continue;
    if (blkid_partition_get_table (par) != tab) {
      nested++;                         /* BSD/Solaris/... inside an MBR slot */
      continue;
    }
    if (gpt)
      kind = VX_VOL_GPT;
    else if (blkid_partition_is_extended (par))
      kind = VX_VOL_MBR_EXTENDED;
    else if (blkid_partition_is_logical (par))
      kind = VX_VOL_MBR_LOGICAL;
    else
      kind = VX_VOL_MBR_PRIMARY;
    sane = part_bytes (par, &off, &len);
    v = add_volume (c, kind, blkid_partition_get_partno (par), off, len);
    if (!v)
      return -1;
    if (gpt) {
      if (lower_dup (c, &v->part_type,
                     blkid_partition_get_type_string (par)) < 0 ||
          lower_dup (c, &v->part_uuid, blkid_partition_get_uuid (par)) < 0 ||
          dup_opt (c, &v->part_name, blkid_partition_get_name (par)) < 0)
        return -1;
    }
    else {
      if (asprintf (&v->part_type, "0x%02x",
                    (unsigned) blkid_partition_get_type (par) & 0xff) < 0) {
        v->part_type = NULL;
        set_error (c, "out of memory");
        return -1;
      }
      if (lower_dup (c, &v->part_uuid, blkid_partition_get_uuid (par)) < 0)
        return -1;
    }
    if (!sane && set_why_not (c, v, "partition lies outside the disk") < 0)
      return -1;
  }
  if (nested)
    add_warning (c, "%d partitions of tables nested in MBR partitions "
                 "(BSD, Solaris, ...) are not listed", nested);
  if (gpt)
    gpt_check_skipped (c, fd, disk_size, ssz, tab, ls);
  return 0;
}

/* The extended chain of this MBR is absurd: list the four primary entries
 * from our own reading, the containers marked with the reason. */
static int
add_mbr_primaries (struct ctx *c, const unsigned char *mbr, unsigned ssz)
{
  uint32_t id = le32 (mbr + 440);
  int i;

  for (i = 0; i < 4; i++) {
    struct mbr_entry e;
    struct vx_volume *v;
    bool ext;

    mbr_entry (mbr, i, &e);
    if (e.size == 0)
      continue;
    ext = mbr_is_extended (e.type);
    v = add_volume (c, ext ? VX_VOL_MBR_EXTENDED : VX_VOL_MBR_PRIMARY, i + 1,
                    (uint64_t) e.start * ssz, (uint64_t) e.size * ssz);
    if (!v)
      return -1;
    if (asprintf (&v->part_type, "0x%02x", e.type) < 0) {
      v->part_type = NULL;
      set_error (c, "out of memory");
      return -1;
    }
    if (id && asprintf (&v->part_uuid, "%08" PRIx32 "-%02x", id, i + 1) < 0) {
      v->part_uuid = NULL;
      set_error (c, "out of memory");
      return -1;
    }
    if (ext &&
        set_why_not (c, v, "extended partition container whose chain is longer "
                     "than %d links: logical partitions not listed",
                     VX_EBR_MAX_LINKS) < 0)
      return -1;
  }
  add_warning (c, "MBR extended partition chain longer than %d links: "
               "logical partitions not listed", VX_EBR_MAX_LINKS);
  return 0;
}

static int
open_disk (struct ctx *c, uint64_t *size)
{
  struct stat st;
  int fd, flags;

  fd = open (c->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    set_error (c, "cannot open: %m");
    return -1;
  }
  if (fstat (fd, &st) != 0) {
    set_error (c, "fstat: %m");
    goto err;
  }
  if (!S_ISREG (st.st_mode) && !S_ISBLK (st.st_mode)) {
    set_error (c, "not a regular file or a block device");
    goto err;
  }
  flags = fcntl (fd, F_GETFL);           /* back to blocking reads */
  if (flags == -1 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    set_error (c, "fcntl: %m");
    goto err;
  }
  if (*size == 0) {
    if (S_ISBLK (st.st_mode)) {
      if (ioctl (fd, BLKGETSIZE64, size) != 0) {
        set_error (c, "cannot get the device size: %m");
        goto err;
      }
    }
    else
      *size = st.st_size;
  }
  return fd;
 err:
  close (fd);
  return -1;
}

static int
discover_disk (struct ctx *c, uint64_t disk_size)
{
  blkid_probe pr = NULL;
  blkid_partlist ls;
  unsigned char mbr[512];
  unsigned ssz;
  size_t first = c->n;
  int fd, rc, r, i, ret = -1;
  const char *val;
  char pttype[16] = "";

  fd = open_disk (c, &disk_size);
  if (fd < 0)
    return -1;
  if (disk_size == 0) {                 /* nothing to find */
    close (fd);
    return 0;
  }
  if (disk_size > INT64_MAX) {
    set_error (c, "size %" PRIu64 " is too large", disk_size);
    goto out;
  }

  pr = blkid_new_probe ();
  if (!pr) {
    set_error (c, "libblkid: cannot create a probe: %m");
    goto out;
  }
  if (blkid_probe_set_device (pr, fd, 0, (blkid_loff_t) disk_size) != 0) {
    set_error (c, "libblkid: cannot use the disk: %m");
    goto out;
  }
  ssz = blkid_probe_get_sectorsize (pr);
  if (ssz < 512 || ssz > 4096 || (ssz & (ssz - 1)))
    ssz = 512;

  /* pre-checks: huge GPT entry arrays, absurd extended chains */
  r = gpt_too_big (c, fd, disk_size, ssz);
  if (r < 0) {
    set_error (c, "read error: %m");
    goto out;
  }
  if (r > 0) {
    ret = 0;
    goto out;
  }
  r = read_at (fd, disk_size, mbr, sizeof mbr, 0);
  if (r < 0) {
    set_error (c, "read error: %m");
    goto out;
  }
  if (r == 0 && mbr_walkable (mbr)) {
    for (i = 0; i < 4; i++) {
      struct mbr_entry e;

      mbr_entry (mbr, i, &e);
      if (!e.size || !mbr_is_extended (e.type))
        continue;
      r = ebr_chain_too_long (fd, disk_size, ssz / 512, e.start * (ssz / 512));
      if (r < 0) {
        set_error (c, "read error: %m");
        goto out;
      }
      if (r > 0) {
        if (add_mbr_primaries (c, mbr, ssz) < 0 ||
            finish_disk (c, fd, first, disk_size) < 0)
          goto out;
        ret = 0;
        goto out;
      }
    }
  }

  /* the partition table: MBR or GPT only */
  blkid_probe_enable_superblocks (pr, 0);
  blkid_probe_enable_partitions (pr, 1);
  {
    char *types[] = { (char *) "dos", (char *) "gpt", NULL };
    blkid_probe_filter_partitions_type (pr, BLKID_FLTR_ONLYIN, types);
  }
  errno = 0;
  rc = blkid_do_safeprobe (pr);
  if (rc == -1) {
    if (errno)
      set_error (c, "libblkid: probing the partition table failed: %m");
    else
      set_error (c, "libblkid: probing the partition table failed");
    goto out;
  }
  if (rc == 0) {
    lookup (pr, "PTTYPE", &val);        /* freed by the next probing */
    if (val)
      snprintf (pttype, sizeof pttype, "%s", val);
  }
  else if (rc != 1)
    add_warning (c, "libblkid: ambiguous partition table (%d): ignored", rc);

  if (pttype[0]) {
    errno = 0;
    ls = blkid_probe_get_partitions (pr);
    if (!ls && (errno == EIO || errno == ENOMEM)) {
      set_error (c, "libblkid: cannot read the %s partition table: %m", pttype);
      goto out;
    }
    if (!ls) {
      /* found by the quick look, refused by the full parse: hostile */
      add_warning (c, "libblkid cannot read the %s partition table: ignored",
                   pttype);
      ret = 0;
      goto out;
    }
    if (add_partitions (c, fd, disk_size, ssz, ls) < 0)
      goto out;
  }
  else {
    /* no table: a filesystem (or swap, a PV, ...) on the whole disk? */
    struct vx_volume *v = add_volume (c, VX_VOL_WHOLE_DISK, 0, 0, disk_size);
    if (!v)
      goto out;
    if (probe_content (c, fd, 0, disk_size, v) < 0)
      goto out;
    if (!v->fstype && v->why_not &&
        strcmp (v->why_not, "no filesystem found") == 0) {
      volume_clear (v);                 /* an empty disk has no volumes */
      c->n--;
    }
    ret = 0;
    goto out;
  }
  if (finish_disk (c, fd, first, disk_size) < 0)
    goto out;
  ret = 0;

 out:
  if (pr)
    blkid_free_probe (pr);
  close (fd);
  return ret;
}

/* ---- LVM logical volumes (mntapi/lvm) ---------------------------------- */

#define VX_MAX_LVS        1024
#define VX_LV_PROBE_HEAD  (4u << 20)  /* what libblkid reads of an LV: its */
#define VX_LV_PROBE_TAIL  (1u << 20)  /* start and end (RAID superblocks) */

/* device-mapper's name for VG/LV: "VG-LV" with each '-' in them doubled,
 * so that it is unique and never contains '/'. */
static char *
dm_name (const char *vg, const char *lv)
{
  size_t n = 2, i;
  const char *p;
  char *d;

  for (p = vg; *p; p++)
    n += *p == '-' ? 2 : 1;
  for (p = lv; *p; p++)
    n += *p == '-' ? 2 : 1;
  d = malloc (n);
  if (!d)
    return NULL;
  for (i = 0, p = vg; *p; p++) {
    d[i++] = *p;
    if (*p == '-')
      d[i++] = '-';
  }
  d[i++] = '-';
  for (p = lv; *p; p++) {
    d[i++] = *p;
    if (*p == '-')
      d[i++] = '-';
  }
  d[i] = '\0';
  return d;
}

/* Copies bytes [off, off + len) of LV V (read from the disks FDS through
 * its segments) to the same offset of MFD.  0, or -1 with errno. */
static int
copy_lv (const int *fds, const struct vx_volume *v, int mfd, uint64_t off,
         uint64_t len)
{
  static const size_t bufsz = 1 << 20;
  unsigned char *buf = malloc (bufsz);
  int ret = -1;

  if (!buf)
    return -1;
  while (len) {
    unsigned disk;
    uint64_t doff, run;
    ssize_t r;
    size_t n;

    if (vx_segment_map (v->seg, v->nseg, off, &disk, &doff, &run) < 0) {
      errno = EINVAL;
      goto out;
    }
    n = run < len ? (size_t) run : (size_t) len;
    if (n > bufsz)
      n = bufsz;
    r = vx_full_pread (fds[disk], buf, n, doff);
    if (r < 0)
      goto out;
    if ((size_t) r < n)
      memset (buf + r, 0, n - r);       /* the disk ends: zeros, as a read */
    if (vx_full_pwrite (mfd, buf, n, off) < 0)
      goto out;
    off += n;
    len -= n;
  }
  ret = 0;
 out:
  free (buf);
  return ret;
}

/* libblkid probes a file descriptor, and an LV is not one range of a disk:
 * its start and end are copied into a sparse memory file of its size, and
 * that is probed. */
static int
probe_lv (struct ctx *c, const int *fds, struct vx_volume *v)
{
  uint64_t head = v->size < VX_LV_PROBE_HEAD ? v->size : VX_LV_PROBE_HEAD;
  uint64_t tail = v->size - head < VX_LV_PROBE_TAIL ? v->size - head : VX_LV_PROBE_TAIL;
  int mfd, r;

  mfd = memfd_create ("vixmount-lv", MFD_CLOEXEC);
  if (mfd < 0) {
    set_error (c, "LV %s: memfd_create: %m", v->name);
    return -1;
  }
  if (ftruncate (mfd, (off_t) v->size) != 0
      || copy_lv (fds, v, mfd, 0, head) != 0
      || copy_lv (fds, v, mfd, v->size - tail, tail) != 0) {
    set_error (c, "LV %s: reading its start and end: %m", v->name);
    close (mfd);
    return -1;
  }
  r = probe_content (c, mfd, 0, v->size, v);
  close (mfd);
  return r;
}

/* The LV I of VG as a volume (mapped and probed, or refused with the
 * reason).  VGPART is the VG's part of the name ("VG", or "VG@UUID" when
 * two VGs of the set share a name). */
static int
add_lv (struct ctx *c, const int *fds, const uint64_t *dsz, size_t ndisks,
        const struct vx_lvm_vg *vg, const char *vgpart, size_t i)
{
  const struct vx_lvm_lv *lv = &vg->lv[i];
  struct vx_volume *v = new_volume (c);
  const char *why;
  uint64_t size;
  char *refusal = NULL;
  int r;

  if (!v)
    return -1;
  v->kind = VX_VOL_LVM;
  if (asprintf (&v->name, "%s/%s", vgpart, lv->name) < 0) {
    v->name = NULL;
    set_error (c, "out of memory");
    return -1;
  }
  c->n++;                       /* from here on, vx_volumes_free frees it */
  if (!(v->file_name = dm_name (vgpart, lv->name))
      || dup_opt (c, &v->part_type, vx_lvm_lv_layout (vg, i)) < 0
      || dup_opt (c, &v->part_uuid, lv->uuid) < 0) {
    set_error (c, "out of memory");
    return -1;
  }
  if (__builtin_mul_overflow (lv->extents, vg->extent_size * 512, &v->size))
    v->size = 0;
  r = vx_lvm_lv_map (vg, i, &v->seg, &v->nseg, &refusal);
  if (r < 0) {
    set_error (c, "out of memory");
    return -1;
  }
  if (r > 0) {
    v->incomplete = r == 2;
    r = set_why_not (c, v, "%s", refusal);
    free (refusal);
    return r;
  }
  v->disk = v->seg[0].nstripes ? v->seg[0].stripe[0].disk : v->seg[0].disk;
  if (vx_segments_check (v->seg, v->nseg, ndisks, dsz, &size, &why) < 0)
    return set_why_not (c, v, "its extents do not fit the disks: %s", why);
  if (size != v->size)
    return set_why_not (c, v, "its segments hold %" PRIu64 " bytes, not %" PRIu64,
                        size, v->size);
  return probe_lv (c, fds, v);
}

static int
cmp_lv_name (const void *a, const void *b, void *arg)
{
  const struct vx_lvm_vg *vg = arg;

  return strcmp (vg->lv[*(const size_t *) a].name, vg->lv[*(const size_t *) b].name);
}

/* After the disks: the LVs of the PVs found on them. */
static int
discover_lvm (struct ctx *c, const char *const *paths, const uint64_t *sizes,
              size_t ndisks)
{
  struct vx_lvm_pvloc *loc = NULL;
  struct vx_lvm_set set = { 0 };
  size_t *vol = NULL, *idx = NULL, nloc = 0, nidx, i, k, nlv = 0;
  int *fds = NULL, ret = -1;
  uint64_t *dsz = NULL;

  for (i = 0; i < c->n; i++)
    if (c->v[i].fstype && !strcmp (c->v[i].fstype, "LVM2_member"))
      nloc++;
  if (nloc == 0)
    return 0;
  loc = calloc (nloc, sizeof *loc);
  vol = calloc (nloc, sizeof *vol);
  fds = malloc (ndisks * sizeof *fds);
  dsz = calloc (ndisks, sizeof *dsz);
  if (!loc || !vol || !fds || !dsz) {
    set_error (c, "out of memory");
    goto out;
  }
  for (k = 0; k < ndisks; k++)
    fds[k] = -1;
  /* every disk: an LV may have a segment on any of them (for its size) */
  for (k = 0; k < ndisks; k++) {
    c->disk = (unsigned) k;
    c->path = paths[k];
    dsz[k] = sizes ? sizes[k] : 0;
    fds[k] = open_disk (c, &dsz[k]);
    if (fds[k] < 0)
      goto out;
  }
  nloc = 0;
  for (i = 0; i < c->n; i++) {
    const struct vx_volume *v = &c->v[i];
    if (!v->fstype || strcmp (v->fstype, "LVM2_member") || v->nseg != 1
        || strcmp (v->why_not ? v->why_not : "", "LVM physical volume"))
      continue;                 /* overlapping or outside the disk: not read */
    loc[nloc].fd = fds[v->disk];
    loc[nloc].disk = v->disk;
    loc[nloc].offset = v->seg[0].offset;
    loc[nloc].size = v->seg[0].length;
    vol[nloc++] = i;
  }
  if (vx_lvm_scan (loc, nloc, &set) < 0) {
    set_error (c, "LVM: out of memory");
    goto out;
  }
  for (k = 0; k < set.nwarn; k++) {
    size_t l = set.warn[k].loc;
    c->disk = l < nloc ? loc[l].disk : 0;
    c->path = l < nloc ? paths[loc[l].disk] : NULL;
    add_warning (c, "%s", set.warn[k].text);
  }
  for (k = 0; k < nloc; k++) {
    c->disk = loc[k].disk;
    c->path = paths[loc[k].disk];
    if (set.pv_note[k] && set_why_not (c, &c->v[vol[k]], "%s", set.pv_note[k]) < 0)
      goto out;
  }
  for (k = 0; k < set.nvg; k++) {
    const struct vx_lvm_vg *vg = set.vg[k];
    bool twin = (k > 0 && !strcmp (set.vg[k - 1]->name, vg->name)) ||
      (k + 1 < set.nvg && !strcmp (set.vg[k + 1]->name, vg->name));
    char *vgpart;

    if (twin ? asprintf (&vgpart, "%s@%s", vg->name, vg->uuid) < 0
             : !(vgpart = strdup (vg->name))) {
      set_error (c, "out of memory");
      goto out;
    }
    /* lvs's order: by LV name; only what lvs lists (no hidden sub-LVs) */
    idx = reallocarray (idx, vg->nlv ? vg->nlv : 1, sizeof *idx);
    if (!idx) {
      set_error (c, "out of memory");
      free (vgpart);
      goto out;
    }
    for (i = 0, nidx = 0; i < vg->nlv; i++)
      if (vg->lv[i].visible)
        idx[nidx++] = i;
    qsort_r (idx, nidx, sizeof *idx, cmp_lv_name, (void *) vg);
    for (i = 0; i < nidx; i++) {
      if (nlv++ == VX_MAX_LVS) {
        c->path = NULL;
        add_warning (c, "more than %d LVM logical volumes: the rest are not "
                     "listed", VX_MAX_LVS);
        break;
      }
      c->path = NULL;           /* errors name the LV */
      if (add_lv (c, fds, dsz, ndisks, vg, vgpart, idx[i]) < 0) {
        free (vgpart);
        goto out;
      }
    }
    free (vgpart);
  }
  ret = 0;
 out:
  vx_lvm_set_clear (&set, nloc);
  for (k = 0; fds && k < ndisks; k++)
    if (fds[k] >= 0)
      close (fds[k]);
  free (fds);
  free (dsz);
  free (loc);
  free (vol);
  free (idx);
  return ret;
}

int
vx_discover (const char *const *paths, const uint64_t *sizes, size_t ndisks,
             struct vx_volume **vols, size_t *nvols,
             char *errbuf, size_t errlen)
{
  struct ctx c = { .errbuf = errbuf, .errlen = errlen, .path = "" };
  size_t d;

  if (errbuf && errlen)
    errbuf[0] = '\0';
  if (vols)
    *vols = NULL;
  if (nvols)
    *nvols = 0;
  if (!vols || !nvols || (ndisks && !paths)) {
    if (errbuf && errlen)
      snprintf (errbuf, errlen, "vx_discover: invalid arguments");
    errno = EINVAL;
    return -1;
  }
  if (ndisks > UINT_MAX) {
    if (errbuf && errlen)
      snprintf (errbuf, errlen, "vx_discover: too many disks");
    errno = EINVAL;
    return -1;
  }
  for (d = 0; d < ndisks; d++) {
    c.disk = (unsigned) d;
    c.path = paths[d] ? paths[d] : "(null)";
    if (!paths[d]) {
      set_error (&c, "no path given");
      goto err;
    }
    if (discover_disk (&c, sizes ? sizes[d] : 0) < 0)
      goto err;
  }
  if (discover_lvm (&c, paths, sizes, ndisks) < 0)
    goto err;
  *vols = c.v;
  *nvols = c.n;
  return 0;

 err:
  vx_volumes_free (c.v, c.n);
  return -1;
}

/* readcheck: compare every kind of read through the VMDK engine with the
 * same read of a raw reference image (normally made by qemu-img convert).
 *
 * readcheck [--seed N] [--count N] [--max-len BYTES] [--single-link]
 *           [--no-cid-check] [--allow-escape] [--allow-devices]
 *           [--direct-read] VMDK RAW
 *
 * The options map to the VMDK_OPEN_* flags of the same names.  With
 * --direct-read the engine's buffer is page-aligned (the aligned reads can
 * go O_DIRECT on a block file system, the unaligned ones fall back) and the
 * number of reads served with O_DIRECT is printed.
 *
 * Checks, in order:
 *   - vmdk_size (VMDK) == size of RAW;
 *   - the whole disk read sequentially in 1 MiB chunks;
 *   - reads around grain boundaries (of every link in the chain) and around
 *     every extent boundary, clipped to the disk; on big disks at most about
 *     2000 grain boundaries, evenly spread, plus all extent boundaries;
 *   - the first and last sector and byte;
 *   - --count random reads (default 2000), deterministic from --seed;
 *   - reads past the end fail with VMDK_ERR_RANGE.
 * Exit status: 0 all equal, 1 a mismatch or failed check, 2 usage/open error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"
#include "vmdk.h"

#define CHUNK (1024 * 1024)
#define MAX_GRAIN_BOUNDARIES 2000
#define MAX_REPORTED 10

struct ctx {
  struct vmdk_disk *disk;
  int rawfd;
  const char *vmdk_path, *raw_path;
  uint64_t size;             /* bytes compared: min (vmdk size, raw size) */
  unsigned char *vbuf, *rbuf;
  size_t bufsize;
  /* data extents of RAW ([start, end) pairs, sorted) from SEEK_DATA/
   * SEEK_HOLE: holes are filled with zeros instead of being read, which
   * keeps multi-GiB sparse references out of the page cache */
  uint64_t *raw_ext;
  size_t raw_next;
  uint64_t reads, mismatches;
};

/* ---- small helpers ------------------------------------------------------- */

static void
usage (FILE *f)
{
  fprintf (f, "usage: readcheck [--seed N] [--count N] [--max-len BYTES] "
           "[--single-link] [--no-cid-check]\n"
           "                 [--allow-escape] [--allow-devices] [--direct-read] VMDK RAW\n");
}

static bool
parse_u64 (const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;

  if (*s == '\0' || *s == '-')
    return false;
  errno = 0;
  v = strtoull (s, &end, 0);
  if (errno != 0 || *end != '\0')
    return false;
  *out = v;
  return true;
}

/* Uniform in [0, n), n > 0 (modulo bias is irrelevant here). */
static uint64_t
rng_below (uint64_t n)
{
  return rng_next () % n;
}

static int
pread_full (int fd, unsigned char *buf, size_t count, uint64_t offset)
{
  while (count > 0) {
    ssize_t r = pread (fd, buf, count, (off_t) offset);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0) {               /* past EOF of the raw file: cannot happen
                                   for ranges inside its size */
      errno = EIO;
      return -1;
    }
    buf += r;
    count -= (size_t) r;
    offset += (uint64_t) r;
  }
  return 0;
}

/* Build c->raw_ext.  Without SEEK_DATA support the whole file is data. */
static void
map_raw (struct ctx *c, uint64_t size)
{
  uint64_t pos = 0;
  size_t cap = 0;

  c->raw_next = 0;
  while (pos < size) {
    off_t d = lseek (c->rawfd, (off_t) pos, SEEK_DATA), h;
    if (d < 0) {
      if (errno == ENXIO)       /* only a hole is left */
        break;
      c->raw_next = 0;          /* not supported: everything is data */
      d = 0;
      h = (off_t) size;
    }
    else {
      h = lseek (c->rawfd, d, SEEK_HOLE);
      if (h < 0)
        h = (off_t) size;
    }
    if ((uint64_t) h > size)
      h = (off_t) size;
    if (c->raw_next + 2 > cap) {
      uint64_t *n;
      cap = cap ? cap * 2 : 256;
      n = realloc (c->raw_ext, cap * sizeof *n);
      if (n == NULL) {
        perror ("readcheck: realloc");
        exit (2);
      }
      c->raw_ext = n;
    }
    c->raw_ext[c->raw_next++] = (uint64_t) d;
    c->raw_ext[c->raw_next++] = (uint64_t) h;
    if ((uint64_t) h <= pos)    /* no progress: give up mapping */
      break;
    pos = (uint64_t) h;
  }
}

/* Read [offset, offset+count) of RAW: data extents with pread, holes as
 * zeros. */
static int
raw_read (struct ctx *c, unsigned char *buf, size_t count, uint64_t offset)
{
  uint64_t end = offset + count;
  size_t lo = 0, hi = c->raw_next / 2;

  /* first extent whose end is after offset */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c->raw_ext[2 * mid + 1] <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  while (offset < end) {
    uint64_t ds = lo < c->raw_next / 2 ? c->raw_ext[2 * lo] : UINT64_MAX;
    uint64_t de = lo < c->raw_next / 2 ? c->raw_ext[2 * lo + 1] : UINT64_MAX;
    if (offset < ds) {          /* hole up to the next extent */
      uint64_t n = (ds < end ? ds : end) - offset;
      memset (buf, 0, n);
      buf += n;
      offset += n;
    }
    else {
      uint64_t n = (de < end ? de : end) - offset;
      if (pread_full (c->rawfd, buf, n, offset) != 0)
        return -1;
      buf += n;
      offset += n;
      lo++;
    }
  }
  return 0;
}

static void
report_mismatch (struct ctx *c, const char *what, uint64_t off, uint64_t len,
                 const char *detail)
{
  c->mismatches++;
  if (c->mismatches <= MAX_REPORTED)
    printf ("readcheck: MISMATCH (%s) offset %" PRIu64 " length %" PRIu64
            ": %s\n", what, off, len, detail);
  else if (c->mismatches == MAX_REPORTED + 1)
    printf ("readcheck: (further mismatches not shown)\n");
}

/* Compare [off, off+len) of both images; the range must lie inside c->size. */
static void
check (struct ctx *c, const char *what, uint64_t off, uint64_t len)
{
  struct vmdk_error err;
  char detail[1400];
  size_t i;

  if (len == 0 || off >= c->size)
    return;
  if (len > c->size - off)
    len = c->size - off;
  if (len > c->bufsize)
    len = c->bufsize;

  c->reads++;
  memset (&err, 0, sizeof err);
  /* Poison the engine's buffer so a read that "succeeds" without filling
   * it is caught. */
  memset (c->vbuf, 0xa5, len);
  if (vmdk_pread (c->disk, c->vbuf, len, off, &err) != 0) {
    snprintf (detail, sizeof detail, "vmdk_pread failed: %s (%s)",
              err.msg, vmdk_errcode_name (err.code));
    report_mismatch (c, what, off, len, detail);
    return;
  }
  if (raw_read (c, c->rbuf, len, off) != 0) {
    snprintf (detail, sizeof detail, "pread of %s failed: %s", c->raw_path,
              strerror (errno));
    report_mismatch (c, what, off, len, detail);
    return;
  }
  if (memcmp (c->vbuf, c->rbuf, len) == 0)
    return;
  for (i = 0; i < len; i++)
    if (c->vbuf[i] != c->rbuf[i])
      break;
  snprintf (detail, sizeof detail,
            "first difference at byte %" PRIu64 " (disk offset %" PRIu64
            "): vmdk 0x%02x, raw 0x%02x",
            (uint64_t) i, off + (uint64_t) i, c->vbuf[i], c->rbuf[i]);
  report_mismatch (c, what, off, len, detail);
}

/* check() for the half-open range [lo, hi) given as signed values, clipped
 * to the disk. */
static void
check_range (struct ctx *c, const char *what, int64_t lo, int64_t hi)
{
  if (lo < 0)
    lo = 0;
  if (hi > (int64_t) c->size)
    hi = (int64_t) c->size;
  if (hi <= lo)
    return;
  check (c, what, (uint64_t) lo, (uint64_t) (hi - lo));
}

static void
expect_range_error (struct ctx *c, uint64_t off, size_t len)
{
  struct vmdk_error err;
  unsigned char b[2];
  char detail[1400];

  c->reads++;
  memset (&err, 0, sizeof err);
  if (vmdk_pread (c->disk, b, len, off, &err) == 0) {
    report_mismatch (c, "past end", off, len,
                     "read past the end succeeded, expected VMDK_ERR_RANGE");
    return;
  }
  if (err.code != VMDK_ERR_RANGE) {
    snprintf (detail, sizeof detail,
              "read past the end failed with %s (%s), expected VMDK_ERR_RANGE",
              vmdk_errcode_name (err.code), err.msg);
    report_mismatch (c, "past end", off, len, detail);
  }
}

/* ---- boundaries ------------------------------------------------------------ */

struct u64vec {
  uint64_t *v;
  size_t n, cap;
};

static void
vec_push (struct u64vec *a, uint64_t x)
{
  if (a->n == a->cap) {
    size_t ncap = a->cap ? a->cap * 2 : 64;
    uint64_t *nv = realloc (a->v, ncap * sizeof *nv);
    if (nv == NULL) {
      perror ("readcheck: realloc");
      exit (2);
    }
    a->v = nv;
    a->cap = ncap;
  }
  a->v[a->n++] = x;
}

static int
cmp_u64 (const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
  return x < y ? -1 : x > y;
}

static void
vec_sort_uniq (struct u64vec *a)
{
  size_t i, j;

  if (a->n == 0)
    return;
  qsort (a->v, a->n, sizeof *a->v, cmp_u64);
  for (i = 1, j = 1; i < a->n; i++)
    if (a->v[i] != a->v[j - 1])
      a->v[j++] = a->v[i];
  a->n = j;
}

/* Extent boundaries (byte offsets) of every link of the chain, and the
 * largest grain size (bytes) found. */
static void
collect_extent_boundaries (struct ctx *c, struct u64vec *ext,
                           uint64_t *grain_bytes, struct u64vec *grains)
{
  const struct vmdk_disk *d;

  *grain_bytes = 0;
  for (d = c->disk; d != NULL; d = vmdk_parent (d)) {
    const struct vmdk_info *info = vmdk_get_info (d);
    size_t i;

    if (info->grain_sectors > 0) {
      uint64_t g = info->grain_sectors * VMDK_SECTOR_SIZE;
      size_t k;
      bool seen = false;
      for (k = 0; k < grains->n; k++)
        seen |= grains->v[k] == g;
      if (!seen)
        vec_push (grains, g);
      if (g > *grain_bytes)
        *grain_bytes = g;
    }
    for (i = 0; i < info->num_extents; i++) {
      const struct vmdk_extent_info *e = vmdk_get_extent (d, i);
      if (e == NULL)
        continue;
      vec_push (ext, e->start * VMDK_SECTOR_SIZE);
      vec_push (ext, (e->start + e->sectors) * VMDK_SECTOR_SIZE);
    }
  }
  vec_sort_uniq (ext);
}

static void
check_boundary (struct ctx *c, uint64_t b, uint64_t grain)
{
  int64_t B = (int64_t) b, G = (int64_t) grain;

  check_range (c, "boundary", B - 1, B + 1);
  check_range (c, "boundary", B - 1, B);
  check_range (c, "boundary", B, B + 1);
  check_range (c, "boundary", B - 512, B + 512);
  check_range (c, "boundary", B - 700, B + 4097);
  check_range (c, "boundary", B - 4096, B);
  check_range (c, "boundary", B + 3, B + 4096 + 3);
  check_range (c, "boundary", B - G - 100, B + G + 1234);
}

static void
check_boundaries (struct ctx *c, struct u64vec *boundaries)
{
  struct u64vec ext = { 0 }, grains = { 0 }, all = { 0 };
  uint64_t maxgrain, gb;
  size_t i;

  collect_extent_boundaries (c, &ext, &maxgrain, &grains);
  if (maxgrain == 0)            /* flat disks: still probe 64 KiB steps */
    maxgrain = 65536;
  if (grains.n == 0)
    vec_push (&grains, 65536);

  for (i = 0; i < ext.n; i++)
    vec_push (&all, ext.v[i]);

  for (gb = 0; gb < grains.n; gb++) {
    uint64_t g = grains.v[gb];
    uint64_t n = c->size / g;   /* boundaries k*g, 1 <= k <= n */
    if (n <= MAX_GRAIN_BOUNDARIES) {
      uint64_t k;
      for (k = 1; k <= n; k++)
        vec_push (&all, k * g);
    }
    else {
      uint64_t j;
      for (j = 0; j < MAX_GRAIN_BOUNDARIES; j++) {
        /* k in [1, n], evenly spread, first and last included */
        uint64_t k = 1 + (j * (n - 1)) / (MAX_GRAIN_BOUNDARIES - 1);
        vec_push (&all, k * g);
      }
    }
  }
  vec_sort_uniq (&all);

  for (i = 0; i < all.n; i++)
    check_boundary (c, all.v[i], maxgrain);

  *boundaries = all;
  free (ext.v);
  free (grains.v);
}

/* ---- random reads -------------------------------------------------------- */

static void
check_random (struct ctx *c, uint64_t count, uint64_t max_len,
              const struct u64vec *boundaries, uint64_t grain)
{
  uint64_t i;

  if (c->size == 0)
    return;
  for (i = 0; i < count; i++) {
    bool aligned = (i & 1) == 0;
    uint64_t len, off, r = rng_below (8);

    /* length: mostly small, some within a grain, some multi-grain */
    if (r < 3)
      len = 1 + rng_below (max_len < 4096 ? max_len : 4096);
    else if (r < 6)
      len = 1 + rng_below (max_len < grain ? max_len : grain);
    else
      len = 1 + rng_below (max_len);
    if (aligned) {
      len = (len + 511) / 512 * 512;
      if (len > max_len)
        len = max_len / 512 * 512;
      if (len == 0)
        len = 512;
    }
    if (len > c->size)
      len = c->size;

    /* offset: half uniform over the disk, half near a boundary (keeps big
     * sparse disks from testing only holes) */
    if (boundaries->n > 0 && rng_below (2) == 0) {
      uint64_t b = boundaries->v[rng_below (boundaries->n)];
      uint64_t back = rng_below (len + grain);
      off = b > back ? b - back : 0;
    }
    else
      off = rng_below (c->size - len + 1);
    if (aligned)
      off = off / 512 * 512;
    if (off + len > c->size)
      off = c->size - len;
    check (c, "random", off, len);
  }
}

/* ---- main ---------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  enum { OPT_SEED = 256, OPT_COUNT, OPT_MAXLEN, OPT_SINGLE, OPT_NOCID,
         OPT_ESCAPE, OPT_DEVICES, OPT_DIRECT };
  static const struct option longopts[] = {
    { "seed", required_argument, NULL, OPT_SEED },
    { "count", required_argument, NULL, OPT_COUNT },
    { "max-len", required_argument, NULL, OPT_MAXLEN },
    { "single-link", no_argument, NULL, OPT_SINGLE },
    { "no-cid-check", no_argument, NULL, OPT_NOCID },
    { "allow-escape", no_argument, NULL, OPT_ESCAPE },
    { "allow-devices", no_argument, NULL, OPT_DEVICES },
    { "direct-read", no_argument, NULL, OPT_DIRECT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  uint64_t seed = 1, count = 2000, max_len = 300000;
  struct vmdk_options opts = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_error err;
  struct ctx c;
  struct stat st;
  struct u64vec boundaries = { 0 };
  uint64_t vsize, off, grain;
  int opt;

  memset (&c, 0, sizeof c);
  while ((opt = getopt_long (argc, argv, "h", longopts, NULL)) != -1) {
    switch (opt) {
    case OPT_SEED:
      if (!parse_u64 (optarg, &seed)) {
        fprintf (stderr, "readcheck: bad --seed: %s\n", optarg);
        return 2;
      }
      break;
    case OPT_COUNT:
      if (!parse_u64 (optarg, &count)) {
        fprintf (stderr, "readcheck: bad --count: %s\n", optarg);
        return 2;
      }
      break;
    case OPT_MAXLEN:
      if (!parse_u64 (optarg, &max_len) || max_len == 0
          || max_len > 256 * 1024 * 1024) {
        fprintf (stderr, "readcheck: bad --max-len: %s\n", optarg);
        return 2;
      }
      break;
    case OPT_SINGLE:
      opts.flags |= VMDK_OPEN_SINGLE_LINK;
      break;
    case OPT_NOCID:
      opts.flags |= VMDK_OPEN_NO_CID_CHECK;
      break;
    case OPT_ESCAPE:
      opts.flags |= VMDK_OPEN_ALLOW_ESCAPE;
      break;
    case OPT_DEVICES:
      opts.flags |= VMDK_OPEN_ALLOW_DEVICES;
      break;
    case OPT_DIRECT:
      opts.flags |= VMDK_OPEN_DIRECT_READ;
      break;
    case 'h':
      usage (stdout);
      return 0;
    default:
      usage (stderr);
      return 2;
    }
  }
  if (argc - optind != 2) {
    usage (stderr);
    return 2;
  }
  c.vmdk_path = argv[optind];
  c.raw_path = argv[optind + 1];
  rng_state = seed;

  memset (&err, 0, sizeof err);
  c.disk = vmdk_open (c.vmdk_path, &opts, &err);
  if (c.disk == NULL) {
    fprintf (stderr, "readcheck: %s\n", err.msg);
    fprintf (stderr, "readcheck: error code %s\n", vmdk_errcode_name (err.code));
    return 2;
  }
  c.rawfd = open (c.raw_path, O_RDONLY | O_CLOEXEC);
  if (c.rawfd < 0 || fstat (c.rawfd, &st) != 0) {
    fprintf (stderr, "readcheck: %s: %s\n", c.raw_path, strerror (errno));
    vmdk_close (c.disk);
    return 2;
  }

  c.bufsize = CHUNK;
  if (max_len > c.bufsize)
    c.bufsize = (size_t) max_len;
  if (posix_memalign ((void **) &c.vbuf, 4096, c.bufsize) != 0)
    c.vbuf = NULL;
  c.rbuf = malloc (c.bufsize);
  if (c.vbuf == NULL || c.rbuf == NULL) {
    perror ("readcheck: malloc");
    return 2;
  }

  vsize = vmdk_size (c.disk);
  c.size = vsize;
  if ((uint64_t) st.st_size != vsize) {
    char detail[200];
    snprintf (detail, sizeof detail,
              "vmdk_size %" PRIu64 " != raw size %" PRIu64, vsize,
              (uint64_t) st.st_size);
    report_mismatch (&c, "size", 0, 0, detail);
    if ((uint64_t) st.st_size < c.size)
      c.size = (uint64_t) st.st_size;
  }

  map_raw (&c, c.size);

  /* (a) whole disk, sequential 1 MiB chunks */
  for (off = 0; off < c.size; off += CHUNK)
    check (&c, "sequential", off, CHUNK);

  /* (b) grain and extent boundaries */
  check_boundaries (&c, &boundaries);

  /* (c) first/last sector and byte */
  check_range (&c, "edge", 0, 1);
  check_range (&c, "edge", 0, 512);
  check_range (&c, "edge", (int64_t) c.size - 512, (int64_t) c.size);
  check_range (&c, "edge", (int64_t) c.size - 1, (int64_t) c.size);
  check_range (&c, "edge", (int64_t) c.size - 4097, (int64_t) c.size);

  /* (d) random reads */
  grain = vmdk_get_info (c.disk)->grain_sectors * VMDK_SECTOR_SIZE;
  if (grain == 0)
    grain = 65536;
  check_random (&c, count, max_len, &boundaries, grain);

  /* reads past the end must fail with VMDK_ERR_RANGE */
  expect_range_error (&c, vsize, 1);
  if (vsize > 0)
    expect_range_error (&c, vsize - 1, 2);
  expect_range_error (&c, vsize + 512, 1);
  expect_range_error (&c, UINT64_MAX, 2);  /* offset + count wraps */

  printf ("readcheck: %" PRIu64 " reads, %" PRIu64 " mismatches\n",
          c.reads, c.mismatches);
  if (opts.flags & VMDK_OPEN_DIRECT_READ)
    printf ("readcheck: %" PRIu64 " direct reads\n", vmdk_direct_reads (c.disk));

  free (boundaries.v);
  free (c.raw_ext);
  free (c.vbuf);
  free (c.rbuf);
  close (c.rawfd);
  vmdk_close (c.disk);
  return c.mismatches == 0 ? 0 : 1;
}

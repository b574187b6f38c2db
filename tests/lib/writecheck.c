/* writecheck: a randomized write workload through the VMDK engine, mirrored
 * into a raw file.
 *
 *   writecheck [--seed N] [--ops N] [--max-len BYTES] [--threads N] VMDK RAW
 *
 * RAW must hold the disk's current content (e.g. qemu-img convert -O raw).
 * The program opens VMDK read-write, applies --ops random operations (writes
 * of random length at random, often unaligned offsets; zero writes; trims),
 * the same to RAW, flushes, closes, reopens read-only and compares every
 * byte.  With --threads N, N threads write disjoint stripes concurrently
 * (allocation races), then the same comparison.  Trim semantics mirrored:
 * whole grains of a sparse extent read as zeros afterwards when nothing shows
 * through from a parent or the extent has zeroed-grain entries; anything else
 * is unchanged.  Exit 0 when everything matches, 1 on a mismatch or an
 * engine error, 2 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmdk.h"

static uint64_t rng_state;

static uint64_t
rnd (void)   /* xorshift64*: deterministic per seed */
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * UINT64_C (2685821657736338717);
}

static uint64_t
rnd_below (uint64_t n)
{
  return n ? rnd () % n : 0;
}

static int rawfd;
static uint64_t size;

static void
die_vmdk (const char *what, const struct vmdk_error *err)
{
  fprintf (stderr, "writecheck: %s: %s (%s)\n", what, err->msg, vmdk_errcode_name (err->code));
  exit (1);
}

static void
raw_write (const void *buf, size_t n, uint64_t off)
{
  if (pwrite (rawfd, buf, n, (off_t) off) != (ssize_t) n) {
    perror ("writecheck: writing RAW");
    exit (2);
  }
}

static void
raw_zero (uint64_t n, uint64_t off)
{
  static const char z[65536];
  while (n) {
    size_t k = n < sizeof z ? (size_t) n : sizeof z;
    raw_write (z, k, off);
    n -= k;
    off += k;
  }
}

/* Mirror a trim: per sparse extent, the whole grains inside the range. */
static void
raw_trim (struct vmdk_disk *d, uint64_t n, uint64_t off)
{
  const struct vmdk_info *in = vmdk_get_info (d);
  bool parent = in->parent_hint != NULL;

  for (size_t i = 0; i < in->num_extents; i++) {
    const struct vmdk_extent_info *e = vmdk_get_extent (d, i);
    uint64_t es = e->start * 512, ee = (e->start + e->sectors) * 512, gb, a, b;
    if (e->type != VMDK_EXTENT_SPARSE || e->compressed || ee <= off || es >= off + n)
      continue;
    if (parent && !e->zeroed_gte)
      continue;
    gb = e->grain_sectors * 512;
    a = (off > es ? off : es) - es;
    b = (off + n < ee ? off + n : ee) - es;
    a = (a + gb - 1) / gb * gb;
    if (b != ee - es)
      b = b / gb * gb;
    if (a < b)
      raw_zero (b - a, es + a);
  }
}

struct stripe { struct vmdk_disk *d; uint64_t start, len, seed; int ops; size_t max_len; int failed; };

static void *
stripe_main (void *arg)
{
  struct stripe *s = arg;
  uint64_t st = s->seed * 0x9E3779B97F4A7C15u + 1;
  uint8_t *buf = malloc (s->max_len);
  struct vmdk_error err;

  for (int i = 0; i < s->ops && buf; i++) {
    st ^= st >> 12; st ^= st << 25; st ^= st >> 27;
    uint64_t r = st * UINT64_C (2685821657736338717);
    uint64_t len = 1 + r % s->max_len, off;
    if (len > s->len) len = s->len;
    off = s->start + (r >> 20) % (s->len - len + 1);
    memset (buf, (int) (r >> 8) | 1, len);
    if (vmdk_pwrite (s->d, buf, len, off, 0, &err) == -1) {
      fprintf (stderr, "writecheck: thread write: %s\n", err.msg);
      s->failed = 1;
      break;
    }
    raw_write (buf, len, off);
  }
  free (buf);
  return NULL;
}

static int
compare (const char *path)
{
  struct vmdk_options o = { .flags = VMDK_OPEN_RDONLY };
  struct vmdk_error err;
  struct vmdk_disk *d = vmdk_open (path, &o, &err);
  const size_t chunk = 1 << 20;
  uint8_t *a = malloc (chunk), *b = malloc (chunk);
  int bad = 0;

  if (!d)
    die_vmdk ("reopening", &err);
  if (vmdk_size (d) != size) {
    fprintf (stderr, "writecheck: size changed\n");
    return 1;
  }
  for (uint64_t off = 0; off < size && bad < 5; off += chunk) {
    size_t n = size - off < chunk ? (size_t) (size - off) : chunk;
    if (vmdk_pread (d, a, n, off, &err) == -1)
      die_vmdk ("reading back", &err);
    if (pread (rawfd, b, n, (off_t) off) != (ssize_t) n) {
      perror ("writecheck: reading RAW");
      exit (2);
    }
    if (memcmp (a, b, n) != 0) {
      size_t k = 0;
      while (a[k] == b[k]) k++;
      fprintf (stderr, "writecheck: mismatch at byte %" PRIu64 ": disk %02x raw %02x\n",
               off + k, a[k], b[k]);
      bad++;
    }
  }
  vmdk_close (d);
  free (a);
  free (b);
  return bad ? 1 : 0;
}

int
main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "seed", required_argument, NULL, 's' }, { "ops", required_argument, NULL, 'n' },
    { "max-len", required_argument, NULL, 'm' }, { "threads", required_argument, NULL, 't' },
    { NULL, 0, NULL, 0 },
  };
  uint64_t seed = 1;
  int ops = 1000, threads = 0, c, zeros = 0, trims = 0, writes = 0;
  size_t max_len = 200000;
  struct vmdk_options o = { 0 };
  struct vmdk_error err;
  struct vmdk_disk *d;
  uint8_t *buf;

  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 's': seed = strtoull (optarg, NULL, 0); break;
    case 'n': ops = atoi (optarg); break;
    case 'm': max_len = strtoul (optarg, NULL, 0); break;
    case 't': threads = atoi (optarg); break;
    default: return 2;
    }
  }
  if (argc - optind != 2 || max_len == 0) {
    fprintf (stderr, "usage: writecheck [--seed N] [--ops N] [--max-len B] [--threads N] VMDK RAW\n");
    return 2;
  }
  rng_state = seed * 0x9E3779B97F4A7C15u + 7;
  rawfd = open (argv[optind + 1], O_RDWR);
  if (rawfd < 0) {
    perror (argv[optind + 1]);
    return 2;
  }
  d = vmdk_open (argv[optind], &o, &err);
  if (!d)
    die_vmdk ("opening read-write", &err);
  size = vmdk_size (d);
  if ((uint64_t) lseek (rawfd, 0, SEEK_END) != size) {
    fprintf (stderr, "writecheck: RAW size differs from the disk\n");
    return 2;
  }
  buf = malloc (max_len + 512);   /* lengths may be rounded up to a sector */

  if (threads > 0) {
    pthread_t tid[64];
    struct stripe s[64];
    if (threads > 64) threads = 64;
    for (int i = 0; i < threads; i++) {
      s[i] = (struct stripe) { .d = d, .start = size / threads * i, .len = size / threads,
                               .seed = seed + i, .ops = ops / threads, .max_len = max_len };
      pthread_create (&tid[i], NULL, stripe_main, &s[i]);
    }
    for (int i = 0; i < threads; i++) {
      pthread_join (tid[i], NULL);
      if (s[i].failed) return 1;
    }
    writes = ops;
  }
  for (int i = 0; i < ops && threads == 0; i++) {
    uint64_t kind = rnd_below (10), len = 1 + rnd_below (max_len), off;
    if (len > size) len = size;
    switch (rnd_below (4)) {       /* offsets: unaligned, sector, grain-ish, end */
    case 0: off = rnd_below (size - len + 1); break;
    case 1: off = rnd_below ((size - len) / 512 + 1) * 512; break;
    case 2:
      off = rnd_below ((size - len) / 65536 + 1) * 65536;
      len = (len + 511) / 512 * 512;
      if (off + len > size)
        len = size - off;
      break;
    default: off = size - len; break;
    }
    if (kind < 7) {
      for (uint64_t k = 0; k < len; k++)
        buf[k] = (uint8_t) (rnd () >> 56);
      if (vmdk_pwrite (d, buf, len, off, 0, &err) == -1)
        die_vmdk ("write", &err);
      raw_write (buf, len, off);
      writes++;
    }
    else if (kind < 9) {
      if (vmdk_zero (d, len, off, kind == 8 ? VMDK_ZERO_MAY_TRIM : 0, &err) == -1)
        die_vmdk ("zero", &err);
      raw_zero (len, off);
      zeros++;
    }
    else {
      if (vmdk_trim (d, len, off, 0, &err) == -1)
        die_vmdk ("trim", &err);
      raw_trim (d, len, off);
      trims++;
    }
  }
  if (vmdk_flush (d, &err) == -1)
    die_vmdk ("flush", &err);
  vmdk_close (d);
  free (buf);
  int r = compare (argv[optind]);
  printf ("writecheck: %d writes, %d zero writes, %d trims%s; %s\n", writes, zeros, trims,
          threads ? " (threaded)" : "", r ? "MISMATCH" : "identical after reopen");
  close (rawfd);
  return r;
}

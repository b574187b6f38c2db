/* tests/unit/test-cow.c: the copy-on-write overlay (common/cow).
 *
 * "Below" is a buffer of known bytes, mapped read-only (a write to it would
 * crash the test) and checked unchanged at the end.  A model buffer gets
 * every write too; reads through the overlay must equal the model byte for
 * byte: unaligned writes, partial blocks, runs of written and unwritten
 * blocks, zeroing, a size that is not a multiple of 4 KiB, and threads
 * writing and reading at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cow.h"
#include "tap.h"

#define BS COW_BLOCK_SIZE

struct below {
  const unsigned char *data;
  uint64_t size;
  unsigned reads;               /* calls (not thread-exact: a hint) */
};

static int
below_read (void *opaque, void *buf, size_t count, uint64_t off)
{
  struct below *b = opaque;

  if (off > b->size || count > b->size - off)
    return EIO;                 /* the overlay must never ask past the end */
  memcpy (buf, b->data + off, count);
  __atomic_fetch_add (&b->reads, 1, __ATOMIC_RELAXED);
  return 0;
}

/* SIZE bytes of a pattern that differs at every offset, read-only. */
static unsigned char *
make_below (uint64_t size)
{
  size_t len = (size + 4095) & ~(size_t) 4095;
  unsigned char *p = mmap (NULL, len ? len : 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  if (p == MAP_FAILED)
    return NULL;
  for (uint64_t i = 0; i < size; i++)
    p[i] = (unsigned char) (i * 131 + (i >> 12) * 7 + 1);
  mprotect (p, len ? len : 4096, PROT_READ);
  return p;
}

static uint64_t
sum (const unsigned char *p, uint64_t n)
{
  uint64_t h = 1469598103934665603u;
  for (uint64_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211u;
  return h;
}

/* The whole overlay equals MODEL? */
static bool
same_as (struct cow *c, const unsigned char *model, uint64_t size)
{
  unsigned char *got = malloc (size ? size : 1);
  bool same;

  same = got && cow_pread (c, got, size, 0) == 0 && memcmp (got, model, size) == 0;
  if (!same && got) {
    for (uint64_t i = 0; i < size; i++)
      if (got[i] != model[i]) {
        printf ("#   first difference at %" PRIu64 ": got %u, want %u\n", i, got[i], model[i]);
        break;
      }
  }
  free (got);
  return same;
}

static void
model_write (unsigned char *model, const void *data, uint64_t count, uint64_t off)
{
  if (data)
    memcpy (model + off, data, count);
  else
    memset (model + off, 0, count);
}

/* ---- single-threaded: shapes of writes and reads ------------------------ */

static void
test_shapes (const char *dir, uint64_t size)
{
  struct below b = { make_below (size), size, 0 };
  uint64_t before = sum (b.data, size);
  unsigned char *model = malloc (size), *buf = malloc (size), data[3 * BS + 100];
  struct cow *c = cow_open (dir, size, below_read, &b);
  struct stat st;
  unsigned r0;

  if (!ok (c != NULL && b.data && model && buf, "size %" PRIu64 ": cow_open in %s", size, dir))
    return;
  memcpy (model, b.data, size);
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (unsigned char) (0xa5 ^ i);

  ok (fstat (cow_fd (c), &st) == 0 && st.st_nlink == 0,
      "size %" PRIu64 ": the overlay file has no name (unlinked)", size);
  is_u64 (cow_size (c), size, "size %" PRIu64 ": cow_size", size);
  ok (!cow_any_written (c), "size %" PRIu64 ": nothing written yet", size);
  r0 = b.reads;
  ok (same_as (c, model, size) && b.reads == r0 + 1,
      "size %" PRIu64 ": unwritten, a read is one read below", size);

  /* unaligned, inside one block */
  is_int (cow_pwrite (c, data, 10, 4097), 0, "write 10 bytes at 4097");
  model_write (model, data, 10, 4097);
  ok (cow_any_written (c), "something written");
  ok (same_as (c, model, size), "size %" PRIu64 ": partial block merged with below", size);
  /* across blocks, both ends partial */
  is_int (cow_pwrite (c, data, 2 * BS + 50, 3 * BS - 20), 0, "write 2 blocks + 50 at 3 blocks - 20");
  model_write (model, data, 2 * BS + 50, 3 * BS - 20);
  ok (same_as (c, model, size), "size %" PRIu64 ": both partial ends merged, the middle whole", size);
  /* over a written partial block again */
  is_int (cow_pwrite (c, data + 7, 30, 4090), 0, "rewrite across the first written block's start");
  model_write (model, data + 7, 30, 4090);
  ok (same_as (c, model, size), "size %" PRIu64 ": a written block merged from the overlay", size);
  /* reads spanning written / unwritten / written blocks, unaligned */
  {
    uint64_t off = BS - 3, n = 6 * BS + 11;
    int e = cow_pread (c, buf, n, off);
    ok (e == 0 && memcmp (buf, model + off, n) == 0,
        "size %" PRIu64 ": an unaligned read across written and unwritten blocks", size);
  }
  /* zero: partial and whole blocks */
  is_int (cow_zero (c, 2 * BS + 5, 3 * BS - 5), 0, "zero 2 blocks + 5 at 3 blocks - 5");
  model_write (model, NULL, 2 * BS + 5, 3 * BS - 5);
  ok (same_as (c, model, size), "size %" PRIu64 ": zeroed ranges read as zeros", size);
  is_int (cow_zero (c, BS, 10 * BS), 0, "zero a block never written");
  model_write (model, NULL, BS, 10 * BS);
  ok (same_as (c, model, size), "size %" PRIu64 ": a zeroed unwritten block reads as zeros", size);
  /* the end of the disk: the short last block */
  {
    uint64_t off = size - 5;
    is_int (cow_pwrite (c, data, 5, off), 0, "write the last 5 bytes");
    model_write (model, data, 5, off);
    off = size - (size % BS ? size % BS : BS);
    is_int (cow_pwrite (c, data, size - off, off), 0, "write the whole last block (%" PRIu64 " bytes)", size - off);
    model_write (model, data, size - off, off);
    ok (same_as (c, model, size), "size %" PRIu64 ": the last (short) block", size);
    is_int (cow_pwrite (c, data, 10, size - 5), ENOSPC, "a write past the end: ENOSPC");
    is_int (cow_pwrite (c, data, 1, size), ENOSPC, "a write at the end: ENOSPC");
    is_int (cow_pread (c, buf, 10, size - 5), EINVAL, "a read past the end: EINVAL");
    is_int (cow_pwrite (c, data, 0, 0), 0, "an empty write");
  }
  /* a large write of whole blocks, then an unaligned one in its middle */
  {
    uint64_t n = size / 2 - BS;
    unsigned char *big = malloc (n);
    for (uint64_t i = 0; i < n; i++)
      big[i] = (unsigned char) (i * 7 + 3);
    is_int (cow_pwrite (c, big, n, BS * 20), 0, "write %" PRIu64 " bytes of whole blocks", n);
    model_write (model, big, n, BS * 20);
    is_int (cow_pwrite (c, data, 333, BS * 21 + 1), 0, "an unaligned write inside it");
    model_write (model, data, 333, BS * 21 + 1);
    ok (same_as (c, model, size), "size %" PRIu64 ": everything as the model says", size);
    free (big);
  }
  {
    int r = fstat (cow_fd (c), &st);
    ok (r == 0 && st.st_size > 0 && st.st_size <= (off_t) size,
        "size %" PRIu64 ": the writes are in the overlay file, no larger than the disk (%lld bytes)",
        size, (long long) st.st_size);
  }
  cow_close (c);
  is_u64 (sum (b.data, size), before, "size %" PRIu64 ": below is unchanged", size);
  munmap ((void *) b.data, (size + 4095) & ~(uint64_t) 4095);
  free (model);
  free (buf);
}

/* ---- threads -------------------------------------------------------------- */

#define NWRITERS 4
#define NREADERS 4
#define SLICE 1000              /* bytes each writer owns per stripe: not block aligned */

struct shared {
  struct cow *c;
  struct below *b;
  uint64_t size;
  volatile int writers_left;
  int failures;
};

/* Writer W owns the bytes [k * NWRITERS * SLICE + W * SLICE, + SLICE) of
 * every stripe k: neighbours share blocks, so partial blocks are merged
 * while others write next to them.  The value at byte i is final_byte (i). */
static unsigned char
final_byte (uint64_t i)
{
  return (unsigned char) (i * 13 + 0x55);
}

struct wargs {
  struct shared *s;
  int w;
};

static void *
writer (void *arg)
{
  struct wargs *a = arg;
  struct shared *s = a->s;
  unsigned char buf[SLICE];

  for (uint64_t off = (uint64_t) a->w * SLICE; off < s->size; off += NWRITERS * SLICE) {
    uint64_t n = s->size - off < SLICE ? s->size - off : SLICE;
    for (uint64_t i = 0; i < n; i++)
      buf[i] = final_byte (off + i);
    if (cow_pwrite (s->c, buf, n, off) != 0)
      __atomic_fetch_add (&s->failures, 1, __ATOMIC_RELAXED);
  }
  __atomic_fetch_sub (&s->writers_left, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* While writers run: every byte read is either below's or its final
 * value, never anything else. */
static void *
reader (void *arg)
{
  struct shared *s = arg;
  unsigned char buf[3 * BS + 17];
  unsigned seed = 12345;

  while (__atomic_load_n (&s->writers_left, __ATOMIC_ACQUIRE) > 0) {
    uint64_t off, n;
    seed = seed * 1103515245 + 12345;
    off = (seed >> 4) % s->size;
    n = sizeof buf < s->size - off ? sizeof buf : s->size - off;
    if (cow_pread (s->c, buf, n, off) != 0) {
      __atomic_fetch_add (&s->failures, 1, __ATOMIC_RELAXED);
      continue;
    }
    for (uint64_t i = 0; i < n; i++)
      if (buf[i] != s->b->data[off + i] && buf[i] != final_byte (off + i)) {
        __atomic_fetch_add (&s->failures, 1, __ATOMIC_RELAXED);
        break;
      }
  }
  return NULL;
}

static void
test_threads (const char *dir)
{
  const uint64_t size = 3 * 1024 * 1024 + 1234;
  struct below b = { make_below (size), size, 0 };
  uint64_t before = sum (b.data, size);
  struct shared s = { NULL, &b, size, NWRITERS, 0 };
  pthread_t wt[NWRITERS], rt[NREADERS];
  struct wargs wa[NWRITERS];
  unsigned char *want = malloc (size);

  s.c = cow_open (dir, size, below_read, &b);
  if (!ok (s.c != NULL && want != NULL, "threads: cow_open"))
    return;
  for (int i = 0; i < NREADERS; i++)
    pthread_create (&rt[i], NULL, reader, &s);
  for (int i = 0; i < NWRITERS; i++) {
    wa[i].s = &s;
    wa[i].w = i;
    pthread_create (&wt[i], NULL, writer, &wa[i]);
  }
  for (int i = 0; i < NWRITERS; i++)
    pthread_join (wt[i], NULL);
  for (int i = 0; i < NREADERS; i++)
    pthread_join (rt[i], NULL);
  is_int (s.failures, 0, "threads: %d writers of interleaved unaligned slices, %d readers: "
          "no error, every byte read old or new", NWRITERS, NREADERS);
  for (uint64_t i = 0; i < size; i++)
    want[i] = final_byte (i);
  ok (same_as (s.c, want, size), "threads: afterwards every byte has its writer's value");
  cow_close (s.c);
  is_u64 (sum (b.data, size), before, "threads: below is unchanged");
  munmap ((void *) b.data, (size + 4095) & ~(uint64_t) 4095);
  free (want);
}

int
main (void)
{
  char dir[] = "/tmp/test-cow.XXXXXX";
  struct cow *c;

  if (!mkdtemp (dir)) {
    perror ("mkdtemp");
    return 1;
  }
  test_shapes (dir, 1024 * 1024);             /* a multiple of 4 KiB */
  test_shapes (dir, 1024 * 1024 + 1000);      /* not: a short last block */
  test_shapes (dir, 257 * 1024 - 1);
  test_threads (dir);
  c = cow_open ("/nonexistent/dir", 4096, below_read, NULL);
  ok (c == NULL && errno == ENOENT, "an overlay in a missing directory: ENOENT");
  ok (rmdir (dir) == 0, "nothing was left in the directory (it could be removed)");
  return tap_done ();
}

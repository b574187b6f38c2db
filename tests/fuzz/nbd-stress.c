/* tests/fuzz/nbd-stress: random NBD request sequences against the vmdk
 * plugin, checked against a reference (tests/fuzz/nbd.sh).
 *
 *   nbd-stress URI REFERENCE SEED OPS
 *
 * REFERENCE is the disk's raw content (qemu-img convert, or the builder's
 * expected image); the client keeps it in memory as the model, sends OPS
 * requests chosen by a PRNG seeded with SEED (printed, so a failure can be
 * replayed): reads at any offset and size, and on a writable export
 * writes, zeroes (with and without may-trim and fast-zero), trims and
 * flushes; block status.  Every read must equal the model; writes and
 * zeroes update it; a trim may leave old data or zeros (the range is read
 * back, checked byte by byte, and becomes the model); block status may
 * call nothing zero that the model says is not.  Requests libnbd would
 * refuse as misaligned (the plugin's minimum block is a sector) are sent
 * with strict alignment off now and then: the server must refuse them or
 * answer them correctly, and the connection must survive.  At the end the
 * whole disk is read and compared, and written back to REFERENCE.OUT so
 * that the caller can compare the files on disk with another reader.
 * Prints one "ok"/"FAIL" summary line; exits 0 if every check held.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "../lib/rng.h"

#define MAX_REQ (4u << 20)

static unsigned failures;
static unsigned long counts[8];
enum { C_READ, C_WRITE, C_ZERO, C_TRIM, C_FLUSH, C_STATUS, C_ODD, C_REFUSED };
static const char *const count_names[] = {
  "reads", "writes", "zeroes", "trims", "flushes", "block-status", "unaligned", "refused",
};

static void __attribute__ ((format (printf, 1, 2)))
fail (const char *fmt, ...)
{
  va_list ap;

  fputs ("nbd-stress: FAIL: ", stdout);
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  failures++;
}

/* A request: lengths of every scale, some sector aligned, some not. */
static void
pick (uint64_t size, bool aligned, uint64_t *off, uint32_t *len)
{
  uint64_t r = rng_next (), l;

  switch (r % 4) {
  case 0: l = 1 + (r >> 8) % 16; break;                 /* a few bytes */
  case 1: l = 512 * (1 + (r >> 8) % 8); break;          /* sectors */
  case 2: l = 1 + (r >> 8) % (256 * 1024); break;       /* up to a few grains */
  default: l = 1 + (r >> 8) % MAX_REQ; break;           /* large */
  }
  if (l > size)
    l = size;
  *off = rng_next () % (size - l + 1);
  if (rng_next () % 4 == 0)
    *off = size - l;                                    /* the last bytes */
  if (aligned) {
    *off &= ~UINT64_C (511);
    l = (l + 511) & ~UINT64_C (511);
    if (l > size - *off)
      l = (size - *off) & ~UINT64_C (511);
    if (l == 0)
      l = 512;
  }
  *len = (uint32_t) l;
}

static bool
is_zero (const uint8_t *p, size_t n)
{
  return n == 0 || (p[0] == 0 && memcmp (p, p + 1, n - 1) == 0);
}

static void
compare (const uint8_t *got, const uint8_t *want, uint64_t off, uint32_t len,
         const char *what)
{
  for (uint32_t i = 0; i < len; i++)
    if (got[i] != want[i]) {
      fail ("%s at %" PRIu64 "+%" PRIu32 ": byte %" PRIu64 " is 0x%02x, the reference "
            "has 0x%02x", what, off, len, off + i, got[i], want[i]);
      return;
    }
}

struct status_check { const uint8_t *model; uint64_t off, end; };

static int
on_extents (void *opaque, const char *context, uint64_t offset, uint32_t *entries,
            size_t n, int *error)
{
  struct status_check *c = opaque;
  uint64_t pos = offset;

  (void) error;
  if (strcmp (context, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0)
    return 0;
  if (offset != c->off)
    fail ("block status starts at %" PRIu64 ", asked %" PRIu64, offset, c->off);
  for (size_t i = 0; i + 1 < n; i += 2) {
    uint64_t len = entries[i], end = pos + len;
    if (len == 0)
      fail ("block status: empty extent at %" PRIu64, pos);
    if (end > c->end)
      end = c->end;              /* the last extent may reach past the request */
    if ((entries[i + 1] & LIBNBD_STATE_ZERO) && pos < end
        && !is_zero (c->model + pos, end - pos))
      fail ("block status calls %" PRIu64 "+%" PRIu64 " zero, the reference has data",
            pos, end - pos);
    pos += len;
  }
  return 0;
}

/* A request the server may refuse; the connection must survive it. */
static bool
refused (struct nbd_handle *h, const char *what)
{
  if (nbd_aio_is_dead (h) > 0 || nbd_aio_is_closed (h) > 0) {
    fail ("%s: the connection died: %s", what, nbd_get_error ());
    return false;
  }
  counts[C_REFUSED]++;
  return true;
}

int
main (int argc, char **argv)
{
  struct nbd_handle *h;
  uint8_t *model, *buf;
  uint64_t size, seed;
  long ops;
  bool writable, can_trim, can_zero, can_fast_zero, can_status;
  FILE *f;
  char *outname;

  if (argc != 5) {
    fprintf (stderr, "usage: nbd-stress URI REFERENCE SEED OPS\n");
    return 2;
  }
  seed = strtoull (argv[3], NULL, 0);
  ops = atol (argv[4]);
  rng_state = seed;
  printf ("nbd-stress: seed %" PRIu64 ", %ld requests on %s\n", seed, ops, argv[1]);

  h = nbd_create ();
  if (!h || nbd_add_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == -1
      || nbd_connect_uri (h, argv[1]) == -1) {
    fprintf (stderr, "nbd-stress: %s\n", nbd_get_error ());
    return 2;
  }
  size = (uint64_t) nbd_get_size (h);
  writable = nbd_is_read_only (h) == 0;
  can_trim = nbd_can_trim (h) == 1;
  can_zero = nbd_can_zero (h) == 1;
  can_fast_zero = nbd_can_fast_zero (h) == 1;
  can_status = nbd_can_meta_context (h, LIBNBD_CONTEXT_BASE_ALLOCATION) == 1;
  model = malloc (size ? size : 1);
  buf = malloc (MAX_REQ);
  f = fopen (argv[2], "rb");
  if (!model || !buf || !f || fread (model, 1, size, f) != size) {
    fprintf (stderr, "nbd-stress: %s: cannot read %" PRIu64 " bytes\n", argv[2], size);
    return 2;
  }
  fclose (f);

  for (long i = 0; i < ops && failures < 10; i++) {
    uint64_t r = rng_next () % 100, off;
    uint32_t len;

    if (r < 40 || (!writable && r < 80)) {                  /* read */
      pick (size, true, &off, &len);
      if (nbd_pread (h, buf, len, off, 0) == -1)
        fail ("read %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      else
        compare (buf, model + off, off, len, "read");
      counts[C_READ]++;
    }
    else if (r < 55 && writable) {                           /* write */
      pick (size, true, &off, &len);
      for (uint32_t k = 0; k < len; k++)
        buf[k] = (uint8_t) (rng_next () >> 56);
      if (rng_next () % 3 == 0)
        memset (buf, 0, len / 2);                            /* zeros in data */
      if (nbd_pwrite (h, buf, len, off, rng_next () % 4 ? 0 : LIBNBD_CMD_FLAG_FUA) == -1)
        fail ("write %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      else
        memcpy (model + off, buf, len);
      counts[C_WRITE]++;
    }
    else if (r < 65 && writable && can_zero) {               /* zero */
      uint32_t flags = rng_next () % 2 ? LIBNBD_CMD_FLAG_NO_HOLE : 0;
      pick (size, true, &off, &len);
      if (can_fast_zero && rng_next () % 4 == 0)
        flags |= LIBNBD_CMD_FLAG_FAST_ZERO;
      if (nbd_zero (h, len, off, flags) == -1) {
        if (!(flags & LIBNBD_CMD_FLAG_FAST_ZERO) || nbd_get_errno () != ENOTSUP)
          fail ("zero %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      }
      else
        memset (model + off, 0, len);
      counts[C_ZERO]++;
    }
    else if (r < 72 && writable && can_trim) {               /* trim */
      pick (size, true, &off, &len);
      if (nbd_trim (h, len, off, 0) == -1)
        fail ("trim %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      else if (nbd_pread (h, buf, len, off, 0) == -1)
        fail ("read after trim %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      else {
        for (uint32_t k = 0; k < len; k++)
          if (buf[k] != model[off + k] && buf[k] != 0) {
            fail ("trim %" PRIu64 "+%" PRIu32 ": byte %" PRIu64 " became 0x%02x, "
                  "neither its old value 0x%02x nor zero", off, len, off + k, buf[k],
                  model[off + k]);
            break;
          }
        memcpy (model + off, buf, len);
      }
      counts[C_TRIM]++;
    }
    else if (r < 75 && writable) {                           /* flush */
      if (nbd_flush (h, 0) == -1)
        fail ("flush: %s", nbd_get_error ());
      counts[C_FLUSH]++;
    }
    else if (r < 90 && can_status) {                         /* block status */
      struct status_check c;
      pick (size, true, &off, &len);
      c = (struct status_check) { model, off, off + len };
      if (nbd_block_status (h, len, off,
                            (nbd_extent_callback) { .callback = on_extents,
                                                    .user_data = &c }, 0) == -1)
        fail ("block status %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
      counts[C_STATUS]++;
    }
    else {                                                   /* unaligned */
      pick (size, false, &off, &len);
      nbd_set_strict_mode (h, LIBNBD_STRICT_MASK & ~LIBNBD_STRICT_ALIGN);
      if (writable && rng_next () % 2) {
        memcpy (buf, model + off, len);                      /* same bytes */
        if (nbd_pwrite (h, buf, len, off, 0) == -1)
          refused (h, "unaligned write");
      }
      else if (nbd_pread (h, buf, len, off, 0) == -1)
        refused (h, "unaligned read");
      else
        compare (buf, model + off, off, len, "unaligned read");
      nbd_set_strict_mode (h, LIBNBD_STRICT_MASK);
      counts[C_ODD]++;
    }
  }

  /* the whole disk, at the end */
  for (uint64_t off = 0; off < size && failures < 10; off += MAX_REQ) {
    uint32_t len = size - off < MAX_REQ ? (uint32_t) (size - off) : MAX_REQ;
    if (nbd_pread (h, buf, len, off, 0) == -1)
      fail ("final read %" PRIu64 "+%" PRIu32 ": %s", off, len, nbd_get_error ());
    else
      compare (buf, model + off, off, len, "final read");
  }
  if (writable && nbd_flush (h, 0) == -1)
    fail ("final flush: %s", nbd_get_error ());
  nbd_shutdown (h, 0);
  nbd_close (h);

  if (asprintf (&outname, "%s.out", argv[2]) < 0 || !(f = fopen (outname, "wb"))
      || fwrite (model, 1, size, f) != size || fclose (f) != 0) {
    fprintf (stderr, "nbd-stress: cannot write the expected content\n");
    return 2;
  }
  free (outname);
  printf ("nbd-stress: %s: seed %" PRIu64 ":", failures ? "FAIL" : "ok", seed);
  for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
    printf (" %lu %s", counts[k], count_names[k]);
  printf ("\n");
  free (model);
  free (buf);
  return failures ? 1 : 0;
}

/* crashclient: a write workload over NBD for the crash test.
 *
 *   crashclient [--ops N] SOCKET DURABLE PENDING SEED
 *
 * With --ops N the client instead runs N requests (writes, zero writes with
 * and without may-trim, trims), flushes and exits 0 with DURABLE holding the
 * disk's expected content; trims are mirrored as the plugin implements them
 * for a disk without a parent: whole preferred-size blocks read as zeros.
 *
 * DURABLE is a raw file holding the disk's content as of the last completed
 * flush (it must hold the disk's content when the client starts).  The
 * client writes random blocks (random lengths and offsets, unaligned too)
 * and flushes every few writes; after each completed flush it applies the
 * writes to DURABLE.  It runs until the server dies (the test kills it with
 * SIGKILL), then writes PENDING: one "offset length" line per write issued
 * after the last completed flush.  Bytes outside those ranges must read back
 * exactly as DURABLE after the crash; bytes inside may hold old or new data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

struct w { uint64_t off; uint32_t len; uint8_t *data; };

/* The crash we wait for shows as a lost connection; anything else (a refused
 * write) is a failure of the test. */
static bool
lost_server (struct nbd_handle *h)
{
  int e = nbd_get_errno ();
  /* the connection's state says it, whatever errno the failure carried */
  if (nbd_aio_is_dead (h) > 0 || nbd_aio_is_closed (h) > 0 || e == ECONNRESET || e == EPIPE
      || e == ENOTCONN || e == ESHUTDOWN)
    return true;
  fprintf (stderr, "crashclient: request refused: %s\n", nbd_get_error ());
  return false;
}

int
main (int argc, char **argv)
{
  struct nbd_handle *h;
  struct w pend[64];
  size_t npend = 0;
  uint64_t size, st;
  int dfd, writes = 0, flushes = 0;
  FILE *pf;

  long ops = -1, done = 0;
  bool refused = false;
  int zeros = 0, trims = 0;
  int64_t pref;
  if (argc == 7 && strcmp (argv[1], "--ops") == 0) {
    ops = atol (argv[2]);
    argv += 2;
    argc -= 2;
  }
  if (argc != 5) {
    fprintf (stderr, "usage: crashclient [--ops N] SOCKET DURABLE PENDING SEED\n");
    return 2;
  }
  st = strtoull (argv[4], NULL, 0) * 0x9E3779B97F4A7C15u + 3;
  dfd = open (argv[2], O_RDWR);
  h = nbd_create ();
  if (dfd < 0 || !h || nbd_connect_unix (h, argv[1]) == -1) {
    fprintf (stderr, "crashclient: %s\n", h ? nbd_get_error () : "setup failed");
    return 2;
  }
  printf ("connected\n");       /* the test kills the server only after this */
  fflush (stdout);
  size = (uint64_t) nbd_get_size (h);
  pref = nbd_get_block_size (h, LIBNBD_SIZE_PREFERRED);
  if (pref <= 0)
    pref = 65536;
  for (; ops < 0 || done < ops; done++) {
    st ^= st >> 12; st ^= st << 25; st ^= st >> 27;
    uint64_t r = st * UINT64_C (2685821657736338717);
    /* sector-aligned: the plugin advertises a 512-byte minimum block size
     * and libnbd enforces it (unaligned writes are tested on the engine) */
    uint32_t len = (1 + (uint32_t) (r % 300000) + 511) & ~511u;
    uint64_t off = ((r >> 24) % (size - len)) & ~UINT64_C (511);
    uint8_t *data = malloc (len);
    for (uint32_t i = 0; i < len; i++)
      data[i] = (uint8_t) (st >> (8 * (i % 8))) ^ (uint8_t) i;
    unsigned kind = ops < 0 ? 0 : (unsigned) ((r >> 52) % 10);
    if (kind >= 7) {                     /* zero (8, 9 may trim) or trim (7) */
      uint64_t a = off, b = off + len;
      if (kind == 7) {                   /* whole preferred blocks read as zeros */
        a = (off + (uint64_t) pref - 1) / (uint64_t) pref * (uint64_t) pref;
        b = (off + len) / (uint64_t) pref * (uint64_t) pref;
        if ((off + len) == size) b = size;
      }
      memset (data, 0, len);
      if ((kind == 7 ? nbd_trim (h, len, off, 0)
           : nbd_zero (h, len, off, kind == 9 ? 0 : LIBNBD_CMD_FLAG_NO_HOLE)) == -1) {
        free (data);                     /* not recorded yet */
        refused = !lost_server (h);
        break;
      }
      if (a < b)
        pend[npend++] = (struct w) { a, (uint32_t) (b - a), data + (a - off) };
      else
        free (data);
      if (kind == 7) trims++; else zeros++;
      if (a >= b)
        continue;
      /* data + (a - off) is inside data: keep the block, free it below */
      pend[npend - 1].data = memcpy (malloc (b - a), data + (a - off), b - a);
      free (data);
    }
    else {
      pend[npend++] = (struct w) { off, len, data };  /* recorded before sending */
      if (nbd_pwrite (h, data, len, off, 0) == -1) {
        refused = !lost_server (h);
        break;
      }
      writes++;
    }
    if (npend == 64 || (r >> 40) % 8 == 0) {
      if (nbd_flush (h, 0) == -1) {
        refused = !lost_server (h);
        break;
      }
      flushes++;
      for (size_t i = 0; i < npend; i++) {
        if (pwrite (dfd, pend[i].data, pend[i].len, (off_t) pend[i].off) != (ssize_t) pend[i].len) {
          perror ("crashclient: DURABLE");
          return 2;
        }
        free (pend[i].data);
      }
      npend = 0;
      fdatasync (dfd);
    }
  }
  if (refused) {                        /* a failure of the test, not a crash */
    for (size_t i = 0; i < npend; i++)
      free (pend[i].data);
    nbd_close (h);
    close (dfd);
    return 1;
  }
  if (ops >= 0) {                       /* the bounded run: flush and apply all */
    if (nbd_flush (h, 0) == -1) {
      fprintf (stderr, "crashclient: final flush: %s\n", nbd_get_error ());
      return 1;
    }
    for (size_t i = 0; i < npend; i++) {
      if (pwrite (dfd, pend[i].data, pend[i].len, (off_t) pend[i].off) != (ssize_t) pend[i].len)
        return 2;
      free (pend[i].data);
    }
    npend = 0;
    printf ("crashclient: %d writes, %d zero writes, %d trims, %d flushes\n", writes, zeros,
            trims, flushes + 1);
    nbd_close (h);
    close (dfd);
    return 0;
  }
  pf = fopen (argv[3], "w");
  if (!pf) {
    perror (argv[3]);
    return 2;
  }
  for (size_t i = 0; i < npend; i++) {
    fprintf (pf, "%" PRIu64 " %" PRIu32 "\n", pend[i].off, pend[i].len);
    free (pend[i].data);
  }
  fclose (pf);
  close (dfd);
  nbd_close (h);
  printf ("crashclient: %d writes, %d flushes, %zu pending at the crash\n", writes, flushes, npend);
  return 0;
}

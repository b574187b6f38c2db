/* crashclient: a write workload over NBD for the crash test.
 *
 *   crashclient SOCKET DURABLE PENDING SEED
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
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libnbd.h>

struct w { uint64_t off; uint32_t len; uint8_t *data; };

int
main (int argc, char **argv)
{
  struct nbd_handle *h;
  struct w pend[64];
  size_t npend = 0;
  uint64_t size, st;
  int dfd, writes = 0, flushes = 0;
  FILE *pf;

  if (argc != 5) {
    fprintf (stderr, "usage: crashclient SOCKET DURABLE PENDING SEED\n");
    return 2;
  }
  st = strtoull (argv[4], NULL, 0) * 0x9E3779B97F4A7C15u + 3;
  dfd = open (argv[2], O_RDWR);
  h = nbd_create ();
  if (dfd < 0 || !h || nbd_connect_unix (h, argv[1]) == -1) {
    fprintf (stderr, "crashclient: %s\n", h ? nbd_get_error () : "setup failed");
    return 2;
  }
  size = (uint64_t) nbd_get_size (h);
  for (;;) {
    st ^= st >> 12; st ^= st << 25; st ^= st >> 27;
    uint64_t r = st * UINT64_C (2685821657736338717);
    uint32_t len = 1 + (uint32_t) (r % 300000);
    uint64_t off = (r >> 24) % (size - len);
    if (r & 1) off &= ~UINT64_C (511);
    uint8_t *data = malloc (len);
    for (uint32_t i = 0; i < len; i++)
      data[i] = (uint8_t) (st >> (8 * (i % 8))) ^ (uint8_t) i;
    pend[npend++] = (struct w) { off, len, data };  /* recorded before sending */
    if (nbd_pwrite (h, data, len, off, 0) == -1)
      break;
    writes++;
    if (npend == 64 || (r >> 40) % 8 == 0) {
      if (nbd_flush (h, 0) == -1)
        break;
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

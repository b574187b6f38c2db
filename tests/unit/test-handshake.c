/* tests/unit/test-handshake: the kernel bridge's NBD client handshake
 * (bridge/kernel/handshake.c) against a scripted server on a socketpair:
 * what it sends, and how it takes good, refused, malformed, oversized and
 * truncated replies. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byteorder.h"
#include "fullio.h"
#include "kernel.h"
#include "tap.h"

#define IHAVEOPT UINT64_C (0x49484156454f5054)
#define REPMAGIC UINT64_C (0x0003e889045565a9)

/* a server script: the greeting's flags, then replies to NBD_OPT_GO */
struct reply { uint32_t type; uint8_t data[80]; uint32_t len; uint32_t claim; };
struct script {
  uint64_t magic2;              /* IHAVEOPT, or something else */
  uint16_t hflags;
  struct reply rep[4];
  int nrep;
  bool cut;                     /* close after the last reply's header */
};

static uint8_t got_opt[256];    /* what the client sent (after its flags) */
static size_t got_len;
static uint32_t got_cflags;

/* The scripted server on fd; what the client sent goes to echo_fd. */
static void
serve (int fd, int echo_fd, const struct script *sc)
{
  uint8_t b[512];
  uint32_t len;

  put_be64 (b, UINT64_C (0x4e42444d41474943));
  put_be64 (b + 8, sc->magic2);
  put_be16 (b + 16, sc->hflags);
  vx_full_write (fd, b, 18);
  if (vx_full_read (fd, b, 4) != 4)
    _exit (0);
  vx_full_write (echo_fd, b, 4);
  if (vx_full_read (fd, b, 16) != 16)
    _exit (0);
  len = be32 (b + 12);
  if (len > sizeof b - 16 || vx_full_read (fd, b + 16, len) != (ssize_t) len)
    _exit (0);
  vx_full_write (echo_fd, b, 16 + len);
  for (int i = 0; i < sc->nrep; i++) {
    uint8_t h[20];
    put_be64 (h, REPMAGIC);
    put_be32 (h + 8, 7);
    put_be32 (h + 12, sc->rep[i].type);
    put_be32 (h + 16, sc->rep[i].claim ? sc->rep[i].claim : sc->rep[i].len);
    vx_full_write (fd, h, 20);
    if (sc->cut && i == sc->nrep - 1)
      break;
    vx_full_write (fd, sc->rep[i].data, sc->rep[i].len);
  }
  _exit (0);
}

/* Run the handshake against the script: the client's result. */
static int
run (const struct script *sc, const char *name, struct vxk_export *ex, char *err, size_t errlen)
{
  int sv[2], echo[2], r;
  uint8_t b[300];
  ssize_t n;
  pid_t pid;

  if (socketpair (AF_UNIX, SOCK_STREAM, 0, sv) == -1 || pipe (echo) == -1)
    return -2;
  pid = fork ();
  if (pid == 0) {
    close (sv[0]);
    close (echo[0]);
    serve (sv[1], echo[1], sc);
  }
  close (sv[1]);
  close (echo[1]);
  r = vxk_handshake (sv[0], name, ex, err, errlen);
  close (sv[0]);
  n = vx_full_read (echo[0], b, sizeof b);
  close (echo[0]);
  waitpid (pid, NULL, 0);
  got_len = 0;
  got_cflags = 0;
  if (n >= 4) {
    got_cflags = be32 (b);
    got_len = (size_t) n - 4;
    memcpy (got_opt, b + 4, got_len);
  }
  return r;
}

static struct reply
info_export (uint64_t size, uint16_t flags)
{
  struct reply r = { .type = 3, .len = 12 };
  put_be16 (r.data, 0);
  put_be64 (r.data + 2, size);
  put_be16 (r.data + 10, flags);
  return r;
}

int
main (void)
{
  struct vxk_export ex;
  char err[512];
  struct script sc;

  /* a good server: an info reply we do not need, the export, the ack */
  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 3 };
  sc.rep[0] = (struct reply) { .type = 3, .len = 6, .data = { 0, 2, 'x', 'y', 'z', 'w' } };
  sc.rep[1] = info_export (UINT64_C (10737418240), 0x10d);
  sc.rep[2] = (struct reply) { .type = 1 };
  memset (&ex, 0, sizeof ex);
  is_int (run (&sc, "1", &ex, err, sizeof err), 0, "a good server: the handshake succeeds");
  is_u64 (ex.size, UINT64_C (10737418240), "the export's size comes from NBD_INFO_EXPORT");
  is_u64 (ex.flags, 0x10d, "the export's transmission flags too");
  is_u64 (got_cflags, 3, "client flags: fixed newstyle and no zeroes (offered)");
  ok (got_len == 16 + 4 + 1 + 2 && be64 (got_opt) == IHAVEOPT && be32 (got_opt + 8) == 7
      && be32 (got_opt + 12) == 7 && be32 (got_opt + 16) == 1 && got_opt[20] == '1'
      && be16 (got_opt + 21) == 0,
      "the option sent is NBD_OPT_GO with the name and no info requests");

  /* a server without NO_ZEROES: the client does not ask for it */
  sc.hflags = 1;
  is_int (run (&sc, "disk", &ex, err, sizeof err), 0, "fixed newstyle only: succeeds");
  is_u64 (got_cflags, 1, "client flags: fixed newstyle only");

  /* refusals and malformed servers */
  sc.hflags = 0;
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "no fixed newstyle: refused");
  ok (strstr (err, "fixed newstyle") != NULL, "... saying so (%s)", err);

  sc = (struct script) { .magic2 = UINT64_C (0x00420281861253), .hflags = 3 };
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "oldstyle server: refused");
  ok (strstr (err, "newstyle") != NULL, "... saying so (%s)", err);

  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 1 };
  sc.rep[0] = (struct reply) { .type = 0x80000006u, .len = 13 };
  memcpy (sc.rep[0].data, "no such\x01xport", 13);
  is_int (run (&sc, "nope", &ex, err, sizeof err), -1, "NBD_REP_ERR_UNKNOWN: refused");
  ok (strstr (err, "refused export \"nope\" (error 6): no such?xport") != NULL,
      "... with the server's message, unprintable bytes replaced (%s)", err);
  is_int (errno, ENOENT, "... errno ENOENT");

  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 1 };
  sc.rep[0] = (struct reply) { .type = 1 };
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "an ack without the export's size: refused");
  ok (strstr (err, "no export size") != NULL, "... saying so (%s)", err);

  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 1, .cut = true };
  sc.rep[0] = (struct reply) { .type = 3, .len = 0, .claim = 1u << 30 };
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "a reply claiming 1 GiB: refused");
  ok (strstr (err, "at most 65536") != NULL, "... before reading it (%s)", err);

  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 2 };
  sc.rep[0] = info_export (4096, 1);
  sc.rep[0].len = 10;               /* NBD_INFO_EXPORT must be 12 bytes */
  sc.rep[1] = (struct reply) { .type = 1 };
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "a short NBD_INFO_EXPORT: refused");

  sc = (struct script) { .magic2 = IHAVEOPT, .hflags = 3, .nrep = 1, .cut = true };
  sc.rep[0] = info_export (4096, 1);
  is_int (run (&sc, "1", &ex, err, sizeof err), -1, "a server that hangs up mid-reply: fails");
  ok (strstr (err, "closed the connection") != NULL, "... saying so (%s)", err);

  char big[5000];
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  is_int (vxk_handshake (-1, big, &ex, err, sizeof err), -1, "a name over 4096 bytes: refused");
  is_int (vxk_unix_connect ("/nonexistent/sock", err, sizeof err), -1,
          "connecting to a missing socket fails");
  ok (strstr (err, "/nonexistent/sock") != NULL, "... naming it (%s)", err);
  return tap_done ();
}

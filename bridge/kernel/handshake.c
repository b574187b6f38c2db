/* vixmount kernel bridge: the client's side of the NBD handshake.
 *
 * The kernel's NBD driver only speaks the transmission phase, so the
 * handshake is ours: fixed newstyle, one NBD_OPT_GO for the export, no
 * structured replies (the driver understands simple replies only), then
 * the socket is handed over.  The server is our own nbdkit, but its
 * replies are still checked and bounded like any peer's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "byteorder.h"
#include "fullio.h"
#include "kernel.h"

#define NBD_MAGIC        UINT64_C (0x4e42444d41474943)  /* "NBDMAGIC" */
#define NBD_IHAVEOPT     UINT64_C (0x49484156454f5054)  /* "IHAVEOPT" */
#define NBD_REP_MAGIC    UINT64_C (0x0003e889045565a9)
#define NBD_FLAG_FIXED_NEWSTYLE 1
#define NBD_FLAG_NO_ZEROES      2
#define NBD_OPT_ABORT    2
#define NBD_OPT_GO       7
#define NBD_REP_ACK      1
#define NBD_REP_INFO     3
#define NBD_REP_FLAG_ERROR (UINT32_C (1) << 31)
#define NBD_INFO_EXPORT  0
#define NBD_MAX_NAME     4096       /* the protocol's limit for names */
#define MAX_REPLY        65536      /* a reply we read (others: refused) */

int
vxk_unix_connect (const char *path, char *err, size_t errlen)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;

  if (strlen (path) >= sizeof sa.sun_path) {
    snprintf (err, errlen, "%s: socket path too long", path);
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy (sa.sun_path, path, strlen (path) + 1);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) == -1) {
    int e = errno;
    snprintf (err, errlen, "connect to %s: %s", path, strerror (e));
    if (fd >= 0)
      close (fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* Read exactly len bytes, or fail with a message. */
static int
get (int fd, void *buf, size_t len, const char *what, char *err, size_t errlen)
{
  ssize_t r = vx_full_read (fd, buf, len);
  if (r == (ssize_t) len)
    return 0;
  if (r >= 0)
    errno = ECONNRESET;
  snprintf (err, errlen, "NBD handshake: reading %s: %s", what,
            r >= 0 ? "the server closed the connection" : strerror (errno));
  return -1;
}

/* Write all of buf: send(2) with MSG_NOSIGNAL, so that a server that hung
 * up gives EPIPE here instead of killing the caller's process. */
static int
put (int fd, const void *buf, size_t len, char *err, size_t errlen)
{
  const uint8_t *p = buf;
  while (len) {
    ssize_t r = send (fd, p, len, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      snprintf (err, errlen, "NBD handshake: writing: %s", r < 0 ? strerror (errno) : "no progress");
      return -1;
    }
    p += r;
    len -= (size_t) r;
  }
  return 0;
}

int
vxk_handshake (int fd, const char *name, struct vxk_export *ex, char *err, size_t errlen)
{
  uint8_t hello[18], opt[16 + 4 + NBD_MAX_NAME + 2], rep[20];
  uint8_t data[MAX_REPLY];
  size_t nlen = strlen (name), olen;
  uint16_t hflags;
  bool have_info = false;

  if (nlen > NBD_MAX_NAME) {
    snprintf (err, errlen, "NBD handshake: export name too long (%zu bytes)", nlen);
    errno = EINVAL;
    return -1;
  }
  if (get (fd, hello, sizeof hello, "the greeting", err, errlen) == -1)
    return -1;
  if (be64 (hello) != NBD_MAGIC || be64 (hello + 8) != NBD_IHAVEOPT) {
    snprintf (err, errlen, "NBD handshake: the server does not speak newstyle NBD");
    errno = EPROTO;
    return -1;
  }
  hflags = be16 (hello + 16);
  if (!(hflags & NBD_FLAG_FIXED_NEWSTYLE)) {
    snprintf (err, errlen, "NBD handshake: the server does not offer fixed newstyle");
    errno = EPROTO;
    return -1;
  }
  put_be32 (opt, NBD_FLAG_FIXED_NEWSTYLE | (hflags & NBD_FLAG_NO_ZEROES));
  if (put (fd, opt, 4, err, errlen) == -1)
    return -1;

  /* NBD_OPT_GO: name length, name, no information requests (the server
   * sends NBD_INFO_EXPORT anyway) */
  put_be64 (opt, NBD_IHAVEOPT);
  put_be32 (opt + 8, NBD_OPT_GO);
  put_be32 (opt + 12, (uint32_t) (4 + nlen + 2));
  put_be32 (opt + 16, (uint32_t) nlen);
  memcpy (opt + 20, name, nlen);
  put_be16 (opt + 20 + nlen, 0);
  olen = 20 + nlen + 2;
  if (put (fd, opt, olen, err, errlen) == -1)
    return -1;

  for (;;) {
    uint32_t type, len;
    if (get (fd, rep, sizeof rep, "an option reply", err, errlen) == -1)
      return -1;
    type = be32 (rep + 12);
    len = be32 (rep + 16);
    if (be64 (rep) != NBD_REP_MAGIC || be32 (rep + 8) != NBD_OPT_GO) {
      snprintf (err, errlen, "NBD handshake: malformed option reply");
      errno = EPROTO;
      return -1;
    }
    if (len > MAX_REPLY) {
      snprintf (err, errlen, "NBD handshake: option reply of %u bytes (at most %d)",
                len, MAX_REPLY);
      errno = EPROTO;
      return -1;
    }
    if (len && get (fd, data, len, "an option reply's data", err, errlen) == -1)
      return -1;
    if (type & NBD_REP_FLAG_ERROR) {
      /* the data is a message for humans: bounded and printable only */
      char msg[256];
      size_t m = 0;
      for (uint32_t i = 0; i < len && m + 1 < sizeof msg; i++)
        msg[m++] = data[i] >= 0x20 && data[i] < 0x7f ? (char) data[i] : '?';
      msg[m] = '\0';
      snprintf (err, errlen, "NBD handshake: the server refused export \"%s\" "
                "(error %u)%s%s", name, type & ~NBD_REP_FLAG_ERROR, m ? ": " : "", msg);
      errno = ENOENT;
      return -1;
    }
    if (type == NBD_REP_INFO && len >= 2 && be16 (data) == NBD_INFO_EXPORT) {
      if (len != 12) {
        snprintf (err, errlen, "NBD handshake: NBD_INFO_EXPORT of %u bytes", len);
        errno = EPROTO;
        return -1;
      }
      ex->size = be64 (data + 2);
      ex->flags = be16 (data + 10);
      have_info = true;
    }
    else if (type == NBD_REP_ACK) {
      if (!have_info) {
        snprintf (err, errlen, "NBD handshake: the server sent no export size");
        errno = EPROTO;
        return -1;
      }
      return 0;                  /* transmission phase from here */
    }
    /* other information (block size, name, description): not needed */
  }
}

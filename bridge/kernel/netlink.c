/* vixmount kernel bridge: the kernel's generic-netlink NBD interface
 * (linux/nbd-netlink.h, Linux 4.12 and later).
 *
 * Why netlink rather than the ioctls: the kernel picks a free device itself
 * (no race between programs choosing one), several sockets go in one
 * request, no process has to sit in NBD_DO_IT, and the device can carry a
 * backend identifier naming its owner.
 *
 * The messages are built by hand (no libnl): a netlink header, a generic
 * netlink header, then attributes, each 4-byte aligned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>

#include "kernel.h"

#define NBD_BLOCK_SIZE 512

struct msg {
  uint8_t buf[8192];
  size_t len;
  size_t nest[4];               /* open nested attributes (offsets) */
  int depth;
};

static void
msg_init (struct msg *m, uint16_t type, uint8_t cmd, uint8_t version)
{
  struct nlmsghdr *h = (struct nlmsghdr *) m->buf;
  struct genlmsghdr *g = (struct genlmsghdr *) (m->buf + NLMSG_HDRLEN);

  memset (m->buf, 0, sizeof m->buf);
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  g->cmd = cmd;
  g->version = version;
  m->len = NLMSG_HDRLEN + GENL_HDRLEN;
  m->depth = 0;
}

/* Append an attribute; false if the message is full. */
static bool
put_attr (struct msg *m, uint16_t type, const void *data, size_t len)
{
  struct nlattr *a = (struct nlattr *) (m->buf + m->len);
  if (m->len + NLA_ALIGN (NLA_HDRLEN + len) > sizeof m->buf)
    return false;
  a->nla_type = type;
  a->nla_len = (uint16_t) (NLA_HDRLEN + len);
  if (len)
    memcpy (m->buf + m->len + NLA_HDRLEN, data, len);
  m->len += NLA_ALIGN (NLA_HDRLEN + len);
  return true;
}

static bool
put_u32 (struct msg *m, uint16_t type, uint32_t v)
{
  return put_attr (m, type, &v, sizeof v);
}

static bool
put_u64 (struct msg *m, uint16_t type, uint64_t v)
{
  return put_attr (m, type, &v, sizeof v);
}

static bool
nest_start (struct msg *m, uint16_t type)
{
  if (m->depth == 4 || !put_attr (m, type | NLA_F_NESTED, NULL, 0))
    return false;
  m->nest[m->depth++] = m->len - NLA_HDRLEN;
  return true;
}

static void
nest_end (struct msg *m)
{
  size_t at = m->nest[--m->depth];
  ((struct nlattr *) (m->buf + at))->nla_len = (uint16_t) (m->len - at);
}

/* Send m on a new generic-netlink socket and read the replies up to the
 * acknowledgement.  on_reply (if not NULL) sees each reply's attributes.
 * Returns 0, or -1 with errno (the kernel's error for the request). */
static int
transact (struct msg *m, void (*on_reply) (const struct nlattr *, size_t, void *),
          void *opaque)
{
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  uint8_t rbuf[16384];
  int fd, result = -1;

  ((struct nlmsghdr *) m->buf)->nlmsg_len = (uint32_t) m->len;
  ((struct nlmsghdr *) m->buf)->nlmsg_seq = 1;
  fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0)
    return -1;
  if (sendto (fd, m->buf, m->len, 0, (struct sockaddr *) &sa, sizeof sa) != (ssize_t) m->len)
    goto out;
  for (;;) {
    ssize_t r = recv (fd, rbuf, sizeof rbuf, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      goto out;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *) rbuf; NLMSG_OK (h, (size_t) r);
         h = NLMSG_NEXT (h, r)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA (h);
        if (h->nlmsg_len < NLMSG_LENGTH (sizeof *e)) {
          errno = EPROTO;
          goto out;
        }
        if (e->error) {
          errno = -e->error;
          goto out;
        }
        result = 0;             /* the acknowledgement: done */
        goto out;
      }
      if (h->nlmsg_type == NLMSG_DONE)
        continue;
      if (on_reply && h->nlmsg_len >= NLMSG_LENGTH (GENL_HDRLEN))
        on_reply ((const struct nlattr *) ((const uint8_t *) NLMSG_DATA (h) + GENL_HDRLEN),
                  h->nlmsg_len - NLMSG_LENGTH (GENL_HDRLEN), opaque);
    }
  }
 out:
  {
    int e = errno;
    close (fd);
    errno = e;
  }
  return result;
}

/* Find attribute type among len bytes of attributes: its payload and
 * length, or NULL. */
static const void *
find_attr (const struct nlattr *a, size_t len, uint16_t type, size_t *plen)
{
  while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
    if ((a->nla_type & NLA_TYPE_MASK) == type) {
      *plen = a->nla_len - NLA_HDRLEN;
      return (const uint8_t *) a + NLA_HDRLEN;
    }
    size_t step = (size_t) NLA_ALIGN (a->nla_len);
    if (step >= len)
      break;
    len -= step;
    a = (const struct nlattr *) ((const uint8_t *) a + step);
  }
  return NULL;
}

static void
family_reply (const struct nlattr *a, size_t len, void *opaque)
{
  size_t plen;
  const void *p = find_attr (a, len, CTRL_ATTR_FAMILY_ID, &plen);
  if (p && plen >= sizeof (uint16_t))
    memcpy (opaque, p, sizeof (uint16_t));
}

/* The "nbd" family's id, or 0 (errno set). */
static uint16_t
nbd_family (void)
{
  struct msg *m = malloc (sizeof *m);
  uint16_t id = 0;

  if (!m)
    return 0;
  msg_init (m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
  if (put_attr (m, CTRL_ATTR_FAMILY_NAME, NBD_GENL_FAMILY_NAME,
                sizeof NBD_GENL_FAMILY_NAME)
      && transact (m, family_reply, &id) == 0 && id == 0)
    errno = ENOENT;
  free (m);
  return id;
}

bool
vxk_netlink_available (void)
{
  return nbd_family () != 0;
}

static void
index_reply (const struct nlattr *a, size_t len, void *opaque)
{
  size_t plen;
  const void *p = find_attr (a, len, NBD_ATTR_INDEX, &plen);
  if (p && plen >= sizeof (uint32_t))
    memcpy (opaque, p, sizeof (uint32_t));
}

int
vxk_netlink_connect (const int *fds, size_t n, const struct vxk_export *ex,
                     const char *backend, char *err, size_t errlen)
{
  struct msg *m = malloc (sizeof *m);
  uint32_t index = UINT32_MAX;
  uint16_t fam;
  bool ok;

  if (!m) {
    snprintf (err, errlen, "NBD connect: out of memory");
    return -1;
  }
  if (!(fam = nbd_family ())) {
    int e = errno;
    snprintf (err, errlen, "NBD connect: the kernel has no \"nbd\" netlink family: %s",
              strerror (e));
    free (m);
    errno = e;
    return -1;
  }
  msg_init (m, fam, NBD_CMD_CONNECT, NBD_GENL_VERSION);
  /* no NBD_ATTR_INDEX: the kernel takes a free device (or makes one) */
  ok = put_u64 (m, NBD_ATTR_SIZE_BYTES, ex->size)
    && put_u64 (m, NBD_ATTR_BLOCK_SIZE_BYTES, NBD_BLOCK_SIZE)
    && put_u64 (m, NBD_ATTR_SERVER_FLAGS, ex->flags)
    && (!backend || put_attr (m, NBD_ATTR_BACKEND_IDENTIFIER, backend, strlen (backend) + 1))
    && nest_start (m, NBD_ATTR_SOCKETS);
  for (size_t i = 0; ok && i < n; i++) {
    ok = nest_start (m, NBD_SOCK_ITEM) && put_u32 (m, NBD_SOCK_FD, (uint32_t) fds[i]);
    if (ok)
      nest_end (m);
  }
  if (ok)
    nest_end (m);
  if (!ok) {
    snprintf (err, errlen, "NBD connect: request too large (%zu sockets)", n);
    free (m);
    errno = E2BIG;
    return -1;
  }
  if (transact (m, index_reply, &index) == -1) {
    int e = errno;
    snprintf (err, errlen, "NBD connect (netlink): %s", strerror (e));
    free (m);
    errno = e;
    return -1;
  }
  free (m);
  if (index == UINT32_MAX || index > INT32_MAX) {
    snprintf (err, errlen, "NBD connect (netlink): the kernel named no device");
    errno = EPROTO;
    return -1;
  }
  return (int) index;
}

int
vxk_netlink_disconnect (int index, char *err, size_t errlen)
{
  struct msg *m = malloc (sizeof *m);
  uint16_t fam;
  int r = -1;

  if (!m) {
    snprintf (err, errlen, "NBD disconnect: out of memory");
    return -1;
  }
  if (!(fam = nbd_family ()))
    snprintf (err, errlen, "NBD disconnect /dev/nbd%d: no \"nbd\" netlink family: %s",
              index, strerror (errno));
  else {
    msg_init (m, fam, NBD_CMD_DISCONNECT, NBD_GENL_VERSION);
    if (put_u32 (m, NBD_ATTR_INDEX, (uint32_t) index) && (r = transact (m, NULL, NULL)) == -1)
      snprintf (err, errlen, "NBD disconnect /dev/nbd%d (netlink): %s", index, strerror (errno));
  }
  {
    int e = errno;
    free (m);
    errno = e;
  }
  return r;
}

/* vixmount-fuse: one export: an NBD export and its pool of libnbd handles,
 * or a local export (a VMDK read in-process, local.c) with no handle.
 *
 * A libnbd handle serves one synchronous request at a time, so each FUSE
 * worker thread takes a handle from the export's pool for the duration of a
 * request.  The pool grows on demand up to nconn connections: more than one
 * only when the server advertises multi-conn (the NBD spec's promise that a
 * flush on one connection covers writes done on the others and that every
 * connection sees the same data).  Only the first connection is made at
 * start-up, so mounting costs one NBD handshake per export.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <libnbd.h>

#include "bridge.h"
#include "nbdlib.h"           /* libnbd through dlopen */

/* Every read/write is split into requests of at most this size (unless the
 * server asks for less): FUSE sends at most 1 MiB anyway. */
#define MAX_REQUEST (32u * 1024 * 1024)

static int
nbd_errno (void)
{
  int e = nbd_get_errno ();
  return e > 0 ? e : EIO;
}

/* The errno for a failed command on H: EIO once the connection is gone
 * (libnbd would say EINVAL, "invalid state"). */
static int
cmd_errno (struct nbd_handle *h)
{
  if (nbd_aio_is_dead (h) == 1 || nbd_aio_is_closed (h) == 1)
    return EIO;
  return nbd_errno ();
}

static struct nbd_handle *
connect_one (const char *uri, bool report)
{
  struct nbd_handle *h = nbd_create ();
  if (h == NULL) {
    vx_log ("%s: %s", uri, nbd_get_error ());
    return NULL;
  }
  /* The reply lands straight in the FUSE reply buffer: no need for libnbd
   * to clear it first (a pass over every byte read). */
  if (nbd_set_pread_initialize (h, false) == -1 ||
      nbd_connect_uri (h, uri) == -1) {
    int e = nbd_errno ();
    if (report)
      vx_log ("%s: %s", uri, nbd_get_error ());
    nbd_close (h);
    errno = e;
    return NULL;
  }
  return h;
}

struct export *
export_open (const char *uri, bool force_readonly, unsigned max_connections)
{
  struct export *e = calloc (1, sizeof *e);
  struct nbd_handle *h = NULL;
  int64_t size, bs;
  int r;

  if (e == NULL || (e->uri = strdup (uri)) == NULL) {
    vx_log ("%s: %s", uri, strerror (ENOMEM));
    goto fail;
  }
  if (nbdlib_load () == -1)
    goto fail;
  h = connect_one (uri, true);
  if (h == NULL)
    goto fail;

  size = nbd_get_size (h);
  if (size < 0) {
    vx_log ("%s: %s", uri, nbd_get_error ());
    goto fail;
  }
  e->size = size;
  e->server = true;
  r = nbd_is_read_only (h);
  e->readonly = force_readonly || r != 0;
  e->can_flush = nbd_can_flush (h) == 1;
  e->can_fua = nbd_can_fua (h) == 1;
  e->can_trim = nbd_can_trim (h) == 1;
  e->can_zero = nbd_can_zero (h) == 1;
  e->multi_conn = nbd_can_multi_conn (h) == 1;
  e->max_request = MAX_REQUEST;
  bs = nbd_get_block_size (h, LIBNBD_SIZE_MAXIMUM);
  if (bs > 0 && (uint64_t) bs < e->max_request)
    e->max_request = bs;
  /* The spec allows powers of 2 up to 64K; anything else is ignored. */
  bs = nbd_get_block_size (h, LIBNBD_SIZE_MINIMUM);
  e->min_block = bs > 1 && bs <= 65536 && (bs & (bs - 1)) == 0 ? bs : 1;
  e->max_request -= e->max_request % e->min_block;
  if (e->max_request < e->min_block)
    e->max_request = e->min_block;

  e->nconn = e->multi_conn && max_connections > 0 ? max_connections : 1;
  e->idle = calloc (e->nconn, sizeof *e->idle);
  e->all = calloc (e->nconn, sizeof *e->all);
  if (e->idle == NULL || e->all == NULL) {
    vx_log ("%s: %s", uri, strerror (ENOMEM));
    goto fail;
  }
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->cond, NULL);
  pthread_rwlock_init (&e->rmw_lock, NULL);
  e->idle[e->nidle++] = h;
  e->all[e->nall++] = h;
  e->nopen = 1;
  vx_debug ("%s: size %" PRIu64 ", %s, flush %d, fua %d, trim %d, zero %d, "
            "multi-conn %d: up to %u connection(s), requests %" PRIu32
            "..%" PRIu32 " bytes",
            uri, e->size, e->readonly ? "read-only" : "writable",
            e->can_flush, e->can_fua, e->can_trim, e->can_zero,
            e->multi_conn, e->nconn, e->min_block, e->max_request);
  return e;

 fail:
  if (h)
    nbd_close (h);
  if (e) {
    free (e->idle);
    free (e->all);
    free (e->uri);
    free (e);
  }
  return NULL;
}

struct export *
export_open_local (const char *path, unsigned vmdk_flags)
{
  struct export *e = calloc (1, sizeof *e);

  if (e == NULL || (e->uri = strdup (path)) == NULL) {
    vx_log ("%s: %s", path, strerror (ENOMEM));
    free (e);
    return NULL;
  }
  e->readonly = true;           /* until --cow */
  e->min_block = 1;
  e->max_request = MAX_REQUEST;
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->cond, NULL);
  pthread_rwlock_init (&e->rmw_lock, NULL);
  if (export_attach_vmdk (e, path, vmdk_flags) == -1) {
    export_close (e);
    return NULL;
  }
  vx_debug ("%s: local export, size %" PRIu64 ", read in-process", path, e->size);
  return e;
}

void
export_close (struct export *e)
{
  unsigned i;

  if (e == NULL)
    return;
  local_close (e->local);
  for (i = 0; i < e->nall; i++) {
    nbd_shutdown (e->all[i], 0);
    nbd_close (e->all[i]);
  }
  pthread_mutex_destroy (&e->lock);
  pthread_cond_destroy (&e->cond);
  pthread_rwlock_destroy (&e->rmw_lock);
  free (e->idle);
  free (e->all);
  free (e->uri);
  free (e);
}

struct nbd_handle *
export_get (struct export *e)
{
  struct nbd_handle *h;
  int err;

  pthread_mutex_lock (&e->lock);
  for (;;) {
    if (e->nidle > 0) {
      h = e->idle[--e->nidle];
      pthread_mutex_unlock (&e->lock);
      return h;
    }
    if (e->nopen < e->nconn) {
      e->nopen++;
      pthread_mutex_unlock (&e->lock);
      h = connect_one (e->uri, false);
      err = errno;
      pthread_mutex_lock (&e->lock);
      if (h != NULL) {
        e->all[e->nall++] = h;
        pthread_mutex_unlock (&e->lock);
        return h;
      }
      e->nopen--;
      if (e->nopen == 0) {
        pthread_mutex_unlock (&e->lock);
        vx_log ("%s: cannot connect: %s", e->uri, nbd_get_error ());
        errno = err;
        return NULL;
      }
      /* Others are up: make do with them rather than retrying each time. */
      vx_log ("%s: extra connection failed (%s); using %u",
              e->uri, nbd_get_error (), e->nopen);
      e->nconn = e->nopen;
      continue;
    }
    pthread_cond_wait (&e->cond, &e->lock);
  }
}

void
export_put (struct export *e, struct nbd_handle *h)
{
  /* A handle with commands still in flight (a poll that failed) could
   * write into a buffer that is no longer ours: never reuse it. */
  bool dead = nbd_aio_is_dead (h) == 1 || nbd_aio_is_closed (h) == 1 ||
              nbd_aio_in_flight (h) > 0;
  unsigned i;

  pthread_mutex_lock (&e->lock);
  if (dead) {
    for (i = 0; i < e->nall; i++)
      if (e->all[i] == h) {
        e->all[i] = e->all[--e->nall];
        break;
      }
    e->nopen--;
  }
  else
    e->idle[e->nidle++] = h;
  pthread_cond_signal (&e->cond);
  pthread_mutex_unlock (&e->lock);
  if (dead) {
    vx_log ("%s: connection lost; will reconnect", e->uri);
    nbd_close (h);
  }
}

/* Runs one command on a pooled handle; logs and maps a failure. */
#define WITH_HANDLE(e, call)                                            \
  do {                                                                  \
    struct nbd_handle *h_ = export_get (e);                             \
    int r_;                                                             \
    if (h_ == NULL)             /* no connection: logged */             \
      return EIO;                                                       \
    r_ = (call);                                                        \
    if (r_ == -1) {                                                     \
      int err_ = cmd_errno (h_);                                        \
      vx_log ("%s: %s", (e)->uri, nbd_get_error ());                    \
      export_put (e, h_);                                               \
      return err_;                                                      \
    }                                                                   \
    export_put (e, h_);                                                 \
  } while (0)

unsigned export_read_split = 256 * 1024;

#define MAX_PIECES 64

/* One large read (at most max_request) as several NBD requests of at most
 * PIECE bytes, all in flight on one connection: the server works on the
 * next piece while the previous one is on its way. */
static int
pread_pipelined (struct export *e, char *p, size_t count, uint64_t off,
                 size_t piece)
{
  struct nbd_handle *h;
  int64_t cookies[MAX_PIECES];
  unsigned n = 0, i;
  int err = 0;

  if (count > piece * MAX_PIECES) {     /* larger pieces, never more */
    piece = (count + MAX_PIECES - 1) / MAX_PIECES;
    piece += (e->min_block - piece % e->min_block) % e->min_block;
  }
  h = export_get (e);
  if (h == NULL)
    return EIO;                 /* no connection: logged */
  while (count > 0) {
    size_t len = count < piece ? count : piece;
    cookies[n] = nbd_aio_pread (h, p, len, off, NBD_NULL_COMPLETION, 0);
    if (cookies[n] == -1) {
      err = cmd_errno (h);
      vx_log ("%s: %s", e->uri, nbd_get_error ());
      break;
    }
    n++;
    p += len;
    off += len;
    count -= len;
  }
  while (nbd_aio_in_flight (h) > 0) {
    if (nbd_poll (h, -1) == -1) {
      if (!err) {
        err = cmd_errno (h);
        vx_log ("%s: %s", e->uri, nbd_get_error ());
      }
      break;
    }
  }
  for (i = 0; i < n; i++) {
    if (nbd_aio_command_completed (h, cookies[i]) != 1 && !err) {
      err = cmd_errno (h);
      vx_log ("%s: %s", e->uri, nbd_get_error ());
    }
  }
  export_put (e, h);
  return err;
}

/* ---- aligned I/O (offsets and lengths multiples of min_block) ------------- */

static int
pread_aligned (struct export *e, char *p, size_t count, uint64_t off)
{
  size_t piece = export_read_split < e->max_request ?
                 export_read_split : e->max_request;

  piece -= piece % e->min_block;        /* pieces stay aligned */
  if (piece > 0 && count > piece && count <= e->max_request)
    return pread_pipelined (e, p, count, off, piece);
  while (count > 0) {
    size_t n = count < e->max_request ? count : e->max_request;
    WITH_HANDLE (e, nbd_pread (h_, p, n, off, 0));
    p += n;
    off += n;
    count -= n;
  }
  return 0;
}

static int
pwrite_aligned (struct export *e, const char *p, size_t count, uint64_t off,
                uint32_t flags)
{
  while (count > 0) {
    size_t n = count < e->max_request ? count : e->max_request;
    WITH_HANDLE (e, nbd_pwrite (h_, p, n, off, flags));
    p += n;
    off += n;
    count -= n;
  }
  return 0;
}

static int
zero_aligned (struct export *e, uint64_t count, uint64_t off, uint32_t flags)
{
  while (count > 0) {
    /* NBD lengths are 32-bit */
    uint64_t n = count < 0x80000000u ? count : 0x80000000u;
    n -= n % e->min_block;
    WITH_HANDLE (e, nbd_zero (h_, n, off, flags));
    off += n;
    count -= n;
  }
  return 0;
}

/* ---- any offset and length ---------------------------------------------------
 *
 * A server that advertises a minimum block size may refuse requests that
 * are not multiples of it (libnbd refuses to send them), but a FUSE file
 * is read and written at any byte: the partial blocks at either end go
 * through a bounce buffer (read-modify-write for writes, serialized
 * against every other write to the export by e->rmw_lock).
 */

static bool
is_aligned (const struct export *e, uint64_t count, uint64_t off)
{
  return ((off | count) & (e->min_block - 1)) == 0;
}

int
export_remote_pread (struct export *e, void *buf, size_t count, uint64_t off)
{
  const uint64_t bs = e->min_block;
  char *p = buf, *bounce;
  int err = 0;

  if (is_aligned (e, count, off))
    return pread_aligned (e, p, count, off);
  bounce = malloc (bs);
  if (bounce == NULL)
    return ENOMEM;
  if (off % bs) {                       /* head */
    uint64_t blk = off - off % bs, skip = off - blk;
    size_t n = count < bs - skip ? count : bs - skip;
    err = pread_aligned (e, bounce, bs, blk);
    if (err)
      goto out;
    memcpy (p, bounce + skip, n);
    p += n; off += n; count -= n;
  }
  if (count >= bs) {                    /* middle */
    size_t n = count - count % bs;
    err = pread_aligned (e, p, n, off);
    if (err)
      goto out;
    p += n; off += n; count -= n;
  }
  if (count > 0) {                      /* tail */
    err = pread_aligned (e, bounce, bs, off);
    if (err)
      goto out;
    memcpy (p, bounce, count);
  }
 out:
  free (bounce);
  return err;
}

int
export_pread (struct export *e, void *buf, size_t count, uint64_t off)
{
  if (e->local)
    return local_pread (e, buf, count, off);
  return export_remote_pread (e, buf, count, off);
}

/* Writes DATA (NULL: zeros) over [skip, skip+len) of the block at BLK. */
static int
rmw_block (struct export *e, char *bounce, uint64_t blk, size_t skip,
           size_t len, const char *data, uint32_t flags)
{
  int err = pread_aligned (e, bounce, e->min_block, blk);
  if (err)
    return err;
  if (data)
    memcpy (bounce + skip, data, len);
  else
    memset (bounce + skip, 0, len);
  return pwrite_aligned (e, bounce, e->min_block, blk, flags);
}

/* Write (DATA) or zero (DATA NULL) any range. */
static int
write_any (struct export *e, const char *data, uint64_t count, uint64_t off,
           uint32_t flags, uint32_t zflags)
{
  const uint64_t bs = e->min_block;
  char *bounce = NULL;
  int err = 0;

  if (is_aligned (e, count, off)) {
    pthread_rwlock_rdlock (&e->rmw_lock);
    err = data ? pwrite_aligned (e, data, count, off, flags)
               : zero_aligned (e, count, off, zflags);
    pthread_rwlock_unlock (&e->rmw_lock);
    return err;
  }
  bounce = malloc (bs);
  if (bounce == NULL)
    return ENOMEM;
  pthread_rwlock_wrlock (&e->rmw_lock);
  if (off % bs) {                       /* head */
    uint64_t blk = off - off % bs, skip = off - blk;
    uint64_t n = count < bs - skip ? count : bs - skip;
    err = rmw_block (e, bounce, blk, skip, n, data, flags);
    if (err)
      goto out;
    if (data)
      data += n;
    off += n; count -= n;
  }
  if (count >= bs) {                    /* middle */
    uint64_t n = count - count % bs;
    err = data ? pwrite_aligned (e, data, n, off, flags)
               : zero_aligned (e, n, off, zflags);
    if (err)
      goto out;
    if (data)
      data += n;
    off += n; count -= n;
  }
  if (count > 0)                        /* tail */
    err = rmw_block (e, bounce, off, 0, count, data, flags);
 out:
  pthread_rwlock_unlock (&e->rmw_lock);
  free (bounce);
  return err;
}

int
export_pwrite (struct export *e, const void *buf, size_t count,
               uint64_t off, bool fua)
{
  uint32_t flags = fua && e->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;
  int err;

  if (e->readonly)
    return EROFS;
  if (local_has_overlay (e->local))
    return local_cow_write (e, buf, count, off);
  err = write_any (e, buf, count, off, flags, 0);
  if (err == 0 && fua && !e->can_fua)
    err = export_flush (e);
  return err;
}

int
export_zero (struct export *e, uint64_t count, uint64_t off, bool may_trim)
{
  if (e->readonly)
    return EROFS;
  if (local_has_overlay (e->local))
    return local_cow_write (e, NULL, count, off);
  if (!e->can_zero)
    return EOPNOTSUPP;
  return write_any (e, NULL, count, off, 0,
                    may_trim ? 0 : LIBNBD_CMD_FLAG_NO_HOLE);
}

int
export_flush (struct export *e)
{
  if (e->readonly || !e->can_flush || local_has_overlay (e->local))
    return 0;                   /* an overlay dies with us: nothing to make durable */
  /* nconn > 1 only with multi-conn, where one flush covers every
   * connection's completed writes. */
  WITH_HANDLE (e, nbd_flush (h_, 0));
  return 0;
}

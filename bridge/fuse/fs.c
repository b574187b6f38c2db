/* vixmount-fuse: the FUSE low-level operations.
 *
 * One flat directory: the data files (byte ranges of exports, or composed
 * of pieces of several: compose.c) and .control.  Reads go from the NBD socket straight into a per-thread buffer
 * that is handed to the kernel as the reply (one copy in userspace, done by
 * the socket read).  Sizes never change, so the kernel may cache attributes,
 * entries and data for long.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "bridge.h"

struct fs_config fscfg = {
  .direct_io = false,
  .max_request = 1024 * 1024,
  .timeout = 86400,
};
struct fuse_session *vx_session;

static struct timespec start_time;

/* ---- per-thread buffers ----------------------------------------------- */

struct tbuf { size_t size; void *p; };
static pthread_key_t tbuf_key;
static pthread_once_t tbuf_once = PTHREAD_ONCE_INIT;

static void
tbuf_free (void *v)
{
  struct tbuf *b = v;
  free (b->p);
  free (b);
}

static void
tbuf_init (void)
{
  pthread_key_create (&tbuf_key, tbuf_free);
}

void *
thread_buffer (size_t size)
{
  struct tbuf *b;

  pthread_once (&tbuf_once, tbuf_init);
  b = pthread_getspecific (tbuf_key);
  if (b == NULL) {
    b = calloc (1, sizeof *b);
    if (b == NULL)
      return NULL;
    pthread_setspecific (tbuf_key, b);
  }
  if (b->size < size) {
    void *p;
    size_t want = size < fscfg.max_request ? fscfg.max_request : size;
    if (posix_memalign (&p, 4096, want) != 0)
      return NULL;
    free (b->p);
    b->p = p;
    b->size = want;
  }
  return b->p;
}

/* ---- attributes ---------------------------------------------------------- */

static void
fill_common (struct stat *st, uint64_t ino)
{
  memset (st, 0, sizeof *st);
  st->st_ino = ino;
  st->st_uid = getuid ();
  st->st_gid = getgid ();
  st->st_atim = st->st_mtim = st->st_ctim = start_time;
  st->st_blksize = fscfg.max_request;
}

static void
root_attr (struct stat *st)
{
  fill_common (st, VX_ROOT_INO);
  st->st_mode = S_IFDIR | 0755;
  st->st_nlink = 2;
}

static void
control_attr (struct stat *st)
{
  fill_common (st, VX_CONTROL_INO);
  st->st_mode = S_IFREG | 0600;
  st->st_nlink = 1;
}

static void
file_attr (const struct vfile *f, struct stat *st)
{
  fill_common (st, f->ino);
  st->st_mode = S_IFREG | (f->readonly ? 0444 : 0644);
  st->st_nlink = f->removed ? 0 : 1;
  st->st_size = f->length;
  st->st_blocks = (f->length + 511) / 512;
}

/* Fills ST for INO; false if there is no such inode. */
static bool
attr_of (uint64_t ino, struct stat *st)
{
  struct vfile *f;

  if (ino == VX_ROOT_INO) {
    root_attr (st);
    return true;
  }
  if (ino == VX_CONTROL_INO) {
    control_attr (st);
    return true;
  }
  pthread_mutex_lock (&files.lock);
  f = vfile_by_ino_locked (ino);
  if (f)
    file_attr (f, st);
  pthread_mutex_unlock (&files.lock);
  return f != NULL;
}

/* ---- operations -------------------------------------------------------- */

static void
vx_init (void *userdata, struct fuse_conn_info *conn)
{
  (void) userdata;
  clock_gettime (CLOCK_REALTIME, &start_time);
  /* Large requests: libfuse derives max_pages (FUSE_MAX_PAGES, up to
   * 256 pages = 1 MiB with libfuse 3.14's buffer) from max_write, and the
   * kernel caps READ requests at max_pages too. */
  if (conn->max_write > fscfg.max_request)
    conn->max_write = fscfg.max_request;
  /* Let the kernel keep several reads in flight (readahead, and the parts
   * of a large O_DIRECT read from a loop device). */
  conn->want |= conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_ASYNC_DIO |
                                 FUSE_CAP_PARALLEL_DIROPS);
  /* Data only changes through us: no invalidation on attribute refresh. */
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  vx_debug ("INIT: protocol %u.%u, max_write %u, max_readahead %u, "
            "capable 0x%x, want 0x%x",
            conn->proto_major, conn->proto_minor, conn->max_write,
            conn->max_readahead, conn->capable, conn->want);
  if (fscfg.on_init)
    fscfg.on_init ();
}

static void
vx_lookup (fuse_req_t req, fuse_ino_t parent, const char *name)
{
  struct fuse_entry_param e;
  struct vfile *f;

  memset (&e, 0, sizeof e);
  e.attr_timeout = e.entry_timeout = fscfg.timeout;
  if (parent != VX_ROOT_INO) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }
  if (strcmp (name, ".control") == 0) {
    e.ino = VX_CONTROL_INO;
    control_attr (&e.attr);
    fuse_reply_entry (req, &e);
    return;
  }
  pthread_mutex_lock (&files.lock);
  f = vfile_by_name_locked (name);
  if (f) {
    f->nlookup++;
    e.ino = f->ino;
    file_attr (f, &e.attr);
  }
  pthread_mutex_unlock (&files.lock);
  if (f == NULL)
    fuse_reply_err (req, ENOENT);
  else if (fuse_reply_entry (req, &e) != 0)
    vfile_forget (e.ino, 1);    /* the kernel did not take the reference */
}

static void
vx_forget (fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
  if (ino > VX_CONTROL_INO)
    vfile_forget (ino, nlookup);
  fuse_reply_none (req);
}

static void
vx_forget_multi (fuse_req_t req, size_t count, struct fuse_forget_data *fd)
{
  size_t i;

  for (i = 0; i < count; i++)
    if (fd[i].ino > VX_CONTROL_INO)
      vfile_forget (fd[i].ino, fd[i].nlookup);
  fuse_reply_none (req);
}

static void
vx_getattr (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct stat st;

  (void) fi;
  if (attr_of (ino, &st))
    fuse_reply_attr (req, &st, fscfg.timeout);
  else
    fuse_reply_err (req, ENOENT);
}

static void
vx_setattr (fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
            struct fuse_file_info *fi)
{
  struct stat st;

  (void) fi;
  if (!attr_of (ino, &st)) {
    fuse_reply_err (req, ENOENT);
    return;
  }
  /* Sizes are fixed; O_TRUNC of .control (echo > .control) is harmless. */
  if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size &&
      ino != VX_CONTROL_INO) {
    fuse_reply_err (req, EPERM);
    return;
  }
  if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    fuse_reply_err (req, EPERM);
    return;
  }
  /* Time changes are accepted and forgotten. */
  fuse_reply_attr (req, &st, fscfg.timeout);
}

/* Directory listing: a snapshot taken at opendir. */
struct dirsnap {
  size_t n;
  struct { uint64_t ino; mode_t mode; char *name; } e[];
};

static void
vx_opendir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct dirsnap *d;
  size_t i, n;

  if (ino != VX_ROOT_INO) {
    fuse_reply_err (req, ENOTDIR);
    return;
  }
  pthread_mutex_lock (&files.lock);
  d = calloc (1, sizeof *d + (files.n + 3) * sizeof d->e[0]);
  if (d == NULL) {
    pthread_mutex_unlock (&files.lock);
    fuse_reply_err (req, ENOMEM);
    return;
  }
  n = 0;
  d->e[n].ino = VX_ROOT_INO; d->e[n].mode = S_IFDIR; d->e[n++].name = strdup (".");
  d->e[n].ino = VX_ROOT_INO; d->e[n].mode = S_IFDIR; d->e[n++].name = strdup ("..");
  d->e[n].ino = VX_CONTROL_INO; d->e[n].mode = S_IFREG; d->e[n++].name = strdup (".control");
  for (i = 0; i < files.n; i++) {
    if (files.v[i]->removed)
      continue;
    d->e[n].ino = files.v[i]->ino;
    d->e[n].mode = S_IFREG;
    d->e[n++].name = strdup (files.v[i]->name);
  }
  pthread_mutex_unlock (&files.lock);
  d->n = n;
  for (i = 0; i < n; i++)
    if (d->e[i].name == NULL)
      break;
  if (i < n) {
    for (i = 0; i < n; i++)
      free (d->e[i].name);
    free (d);
    fuse_reply_err (req, ENOMEM);
    return;
  }
  fi->fh = (uintptr_t) d;
  if (fuse_reply_open (req, fi) != 0) {
    for (i = 0; i < n; i++)
      free (d->e[i].name);
    free (d);
  }
}

static void
vx_readdir (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
            struct fuse_file_info *fi)
{
  struct dirsnap *d = (struct dirsnap *) (uintptr_t) fi->fh;
  char *buf;
  size_t used = 0, i;

  (void) ino;
  if (size > 65536)
    size = 65536;
  buf = malloc (size);
  if (buf == NULL) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  for (i = off < 0 ? 0 : (size_t) off; i < d->n; i++) {
    struct stat st;
    size_t len;

    memset (&st, 0, sizeof st);
    st.st_ino = d->e[i].ino;
    st.st_mode = d->e[i].mode;
    len = fuse_add_direntry (req, buf + used, size - used, d->e[i].name,
                             &st, i + 1);
    if (len > size - used)
      break;
    used += len;
  }
  fuse_reply_buf (req, buf, used);
  free (buf);
}

static void
vx_releasedir (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  struct dirsnap *d = (struct dirsnap *) (uintptr_t) fi->fh;
  size_t i;

  (void) ino;
  for (i = 0; i < d->n; i++)
    free (d->e[i].name);
  free (d);
  fuse_reply_err (req, 0);
}

static void
vx_open (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  int acc = fi->flags & O_ACCMODE;
  struct vfile *f;
  int err = 0;

  if (ino == VX_ROOT_INO) {
    fuse_reply_err (req, EISDIR);
    return;
  }
  if (ino == VX_CONTROL_INO) {
    if (acc != O_WRONLY) {
      fuse_reply_err (req, EACCES);   /* write-only */
      return;
    }
    fi->fh = 0;
    fi->direct_io = 1;                /* every write() reaches us whole */
    fi->nonseekable = 1;
    fuse_reply_open (req, fi);
    return;
  }
  pthread_mutex_lock (&files.lock);
  f = vfile_by_ino_locked (ino);
  if (f == NULL)
    err = ENOENT;
  else if (f->readonly && acc != O_RDONLY)
    err = EROFS;
  else
    f->nopen++;
  pthread_mutex_unlock (&files.lock);
  if (err) {
    fuse_reply_err (req, err);
    return;
  }
  fi->fh = (uintptr_t) f;
  fi->keep_cache = 1;
  fi->direct_io = fscfg.direct_io;
  fi->noflush = 1;                    /* close() needs no round trip */
  if (fuse_reply_open (req, fi) != 0)
    vfile_release (f);
}

static void
vx_release (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino;
  if (fi->fh)
    vfile_release ((struct vfile *) (uintptr_t) fi->fh);
  fuse_reply_err (req, 0);
}

static int
read_piece (void *buf, struct export *e, uint64_t eoff, uint64_t boff,
            uint64_t len)
{
  return export_pread (e, (char *) buf + boff, len, eoff);
}

static void
vx_read (fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
         struct fuse_file_info *fi)
{
  struct vfile *f = (struct vfile *) (uintptr_t) fi->fh;
  void *buf;
  int err;

  (void) ino;
  if (f == NULL) {
    fuse_reply_err (req, EBADF);
    return;
  }
  if (off < 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if ((uint64_t) off >= f->length) {
    fuse_reply_buf (req, NULL, 0);
    return;
  }
  if (size > f->length - off)
    size = f->length - off;
  buf = thread_buffer (size);
  if (buf == NULL) {
    fuse_reply_err (req, ENOMEM);
    return;
  }
  err = vfile_pieces (f, off, size, read_piece, buf);
  if (err)
    fuse_reply_err (req, err);
  else
    fuse_reply_buf (req, buf, size);
}

/* After a write to [OFF, OFF+LEN) of export E through file F, drop what the
 * kernel caches of other files showing the same bytes (a composed file
 * reading from E: all of it). */
static void
invalidate_aliases (const struct vfile *f, const struct export *e,
                    uint64_t off, uint64_t len)
{
  uint64_t inos[64], starts[64], lens[64];
  size_t i, n = 0;

  if (fscfg.direct_io)
    return;
  pthread_mutex_lock (&files.lock);
  for (i = 0; i < files.n && n < 64; i++) {
    const struct vfile *g = files.v[i];
    uint64_t a, b;
    if (g == f || !vfile_uses (g, e))
      continue;
    if (g->seg) {
      inos[n] = g->ino;
      starts[n] = 0;
      lens[n++] = 0;            /* the whole file */
      continue;
    }
    a = off > g->offset ? off : g->offset;
    b = off + len < g->offset + g->length ? off + len : g->offset + g->length;
    if (a >= b)
      continue;
    inos[n] = g->ino;
    starts[n] = a - g->offset;
    lens[n++] = b - a;
  }
  pthread_mutex_unlock (&files.lock);
  for (i = 0; i < n; i++)
    fuse_lowlevel_notify_inval_inode (vx_session, inos[i], starts[i], lens[i]);
}

struct wpiece {
  const struct vfile *f;
  const char *buf;          /* write: the data; zero: NULL */
  bool fua, may_trim;
};

static int
write_piece (void *arg, struct export *e, uint64_t eoff, uint64_t boff,
             uint64_t len)
{
  struct wpiece *w = arg;
  int err = w->buf ? export_pwrite (e, w->buf + boff, len, eoff, w->fua)
    : export_zero (e, len, eoff, w->may_trim);

  if (err == 0)
    invalidate_aliases (w->f, e, eoff, len);
  return err;
}

static void
vx_write (fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
          off_t off, struct fuse_file_info *fi)
{
  struct vfile *f = (struct vfile *) (uintptr_t) fi->fh;
  int err;

  if (ino == VX_CONTROL_INO) {
    err = control_write (vx_session, buf, size);
    if (err)
      fuse_reply_err (req, err);
    else
      fuse_reply_write (req, size);
    return;
  }
  if (f == NULL) {
    fuse_reply_err (req, EBADF);
    return;
  }
  if (f->readonly) {
    fuse_reply_err (req, EROFS);
    return;
  }
  if (off < 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if ((uint64_t) off >= f->length) {
    fuse_reply_err (req, size ? ENOSPC : 0);
    return;
  }
  if (size > f->length - off)
    size = f->length - off;
  err = vfile_pieces (f, off, size, write_piece, &(struct wpiece) {
      .f = f, .buf = buf, .fua = (fi->flags & O_DSYNC) != 0 });
  if (err) {
    fuse_reply_err (req, err);
    return;
  }
  fuse_reply_write (req, size);
}

static void
vx_flush (fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
  (void) ino; (void) fi;
  fuse_reply_err (req, 0);
}

static void
vx_fsync (fuse_req_t req, fuse_ino_t ino, int datasync,
          struct fuse_file_info *fi)
{
  struct vfile *f = (struct vfile *) (uintptr_t) fi->fh;

  (void) ino; (void) datasync;
  fuse_reply_err (req, f && !f->readonly ? vfile_flush (f) : 0);
}

static void
vx_fallocate (fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
              off_t len, struct fuse_file_info *fi)
{
  struct vfile *f = (struct vfile *) (uintptr_t) fi->fh;
  int err;

  (void) ino;
  if (f == NULL) {
    fuse_reply_err (req, EBADF);
    return;
  }
  if (off < 0 || len <= 0) {
    fuse_reply_err (req, EINVAL);
    return;
  }
  if (f->readonly) {
    fuse_reply_err (req, EROFS);
    return;
  }
  if ((uint64_t) off > f->length || (uint64_t) len > f->length - off) {
    /* the file cannot grow */
    if (!(mode & FALLOC_FL_KEEP_SIZE)) {
      fuse_reply_err (req, EFBIG);
      return;
    }
    if ((uint64_t) off >= f->length) {
      fuse_reply_err (req, 0);
      return;
    }
    len = f->length - off;
  }
  if (mode == 0 || mode == FALLOC_FL_KEEP_SIZE)
    err = 0;                    /* every byte is already there */
  else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
    err = vfile_pieces (f, off, len, write_piece,
                        &(struct wpiece) { .f = f, .may_trim = true });
  else if ((mode & ~FALLOC_FL_KEEP_SIZE) == FALLOC_FL_ZERO_RANGE)
    err = vfile_pieces (f, off, len, write_piece, &(struct wpiece) { .f = f });
  else
    err = EOPNOTSUPP;
  fuse_reply_err (req, err);
}

const struct fuse_lowlevel_ops vx_fs_ops = {
  .init = vx_init,
  .lookup = vx_lookup,
  .forget = vx_forget,
  .forget_multi = vx_forget_multi,
  .getattr = vx_getattr,
  .setattr = vx_setattr,
  .opendir = vx_opendir,
  .readdir = vx_readdir,
  .releasedir = vx_releasedir,
  .open = vx_open,
  .release = vx_release,
  .read = vx_read,
  .write = vx_write,
  .flush = vx_flush,
  .fsync = vx_fsync,
  .fallocate = vx_fallocate,
};

/* vixmount-fuse: the file table and the .control file.
 *
 * Every file is a byte range of one export: [offset, offset + length), or
 * a composed file: segments of several exports (compose.c).  The files
 * named on the command line cover their whole export; `add` lines written
 * to .control create more (a partition at an offset of a disk), `compose`
 * lines composed ones (an LVM logical volume).
 * Inode numbers are never reused.  A removed file leaves the directory at
 * once but lives on while the kernel still refers to it (lookups not yet
 * forgotten, open handles: a loop device on it), so I/O in flight is safe.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "bridge.h"

struct filetab files = {
  .lock = PTHREAD_MUTEX_INITIALIZER,
  .next_ino = VX_CONTROL_INO + 1,
};

struct vfile *
vfile_by_name_locked (const char *name)
{
  size_t i;

  for (i = 0; i < files.n; i++)
    if (!files.v[i]->removed && strcmp (files.v[i]->name, name) == 0)
      return files.v[i];
  return NULL;
}

struct vfile *
vfile_by_ino_locked (uint64_t ino)
{
  size_t i;

  for (i = 0; i < files.n; i++)
    if (files.v[i]->ino == ino)
      return files.v[i];
  return NULL;
}

static void
vfile_destroy (struct vfile *f)
{
  vx_segments_free (f->seg, f->nseg);
  free (f->exps);
  free (f->name);
  free (f);
}

/* Gives F (filled in but for its inode) its place in the table; frees it
 * when that fails.  0 or an errno; *why explains. */
static int
vfile_insert (struct vfile *f, struct vfile **out, const char **why)
{
  pthread_mutex_lock (&files.lock);
  if (vfile_by_name_locked (f->name) != NULL) {
    pthread_mutex_unlock (&files.lock);
    vfile_destroy (f);
    *why = "a file of that name exists";
    return EEXIST;
  }
  if (files.n == files.cap) {
    size_t cap = files.cap ? files.cap * 2 : 16;
    struct vfile **v = realloc (files.v, cap * sizeof *v);
    if (v == NULL) {
      pthread_mutex_unlock (&files.lock);
      vfile_destroy (f);
      *why = "out of memory";
      return ENOMEM;
    }
    files.v = v;
    files.cap = cap;
  }
  f->ino = files.next_ino++;
  files.v[files.n++] = f;
  files.generation++;
  pthread_mutex_unlock (&files.lock);
  if (out)
    *out = f;
  return 0;
}

int
vfile_add (const char *name, struct export *exp, uint64_t offset,
           uint64_t length, bool readonly, struct vfile **out,
           const char **why)
{
  struct vfile *f;

  *why = vfile_name_problem (name);
  if (*why)
    return EINVAL;
  if (offset > exp->size || length > exp->size - offset) {
    *why = "range beyond the end of the base file";
    return EINVAL;
  }
  f = calloc (1, sizeof *f);
  if (f == NULL || (f->name = strdup (name)) == NULL) {
    free (f);
    *why = "out of memory";
    return ENOMEM;
  }
  f->exp = exp;
  f->offset = offset;
  f->length = length;
  f->readonly = readonly || exp->readonly;
  return vfile_insert (f, out, why);
}

int
vfile_add_composed (const char *name, struct vx_segment *seg, size_t nseg,
                    struct export **exps, size_t nexps, uint64_t size,
                    bool readonly, const char **why)
{
  struct vfile *f;
  size_t i;

  *why = vfile_name_problem (name);
  if (*why || nseg == 0 || nexps == 0) {
    if (!*why)
      *why = "no pieces";
    vx_segments_free (seg, nseg);
    return EINVAL;
  }
  f = calloc (1, sizeof *f);
  if (f == NULL || (f->name = strdup (name)) == NULL
      || (f->exps = calloc (nexps, sizeof *f->exps)) == NULL) {
    if (f)
      free (f->name);
    free (f);
    vx_segments_free (seg, nseg);
    *why = "out of memory";
    return ENOMEM;
  }
  f->seg = seg;
  f->nseg = nseg;
  f->nexps = nexps;
  f->exp = exps[0];
  f->length = size;
  f->readonly = readonly;
  for (i = 0; i < nexps; i++) {
    f->exps[i] = exps[i];
    f->readonly = f->readonly || exps[i]->readonly;
  }
  return vfile_insert (f, NULL, why);
}

/* Under files.lock: free F if nothing refers to it any more. */
static void
maybe_free_locked (struct vfile *f)
{
  size_t i;

  if (!f->removed || f->nlookup > 0 || f->nopen > 0)
    return;
  for (i = 0; i < files.n; i++)
    if (files.v[i] == f) {
      files.v[i] = files.v[--files.n];
      break;
    }
  vfile_destroy (f);
}

void
vfile_release (struct vfile *f)
{
  pthread_mutex_lock (&files.lock);
  f->nopen--;
  maybe_free_locked (f);
  pthread_mutex_unlock (&files.lock);
}

void
vfile_forget (uint64_t ino, uint64_t nlookup)
{
  struct vfile *f;

  pthread_mutex_lock (&files.lock);
  f = vfile_by_ino_locked (ino);
  if (f) {
    f->nlookup = nlookup < f->nlookup ? f->nlookup - nlookup : 0;
    maybe_free_locked (f);
  }
  pthread_mutex_unlock (&files.lock);
}

/* ---- .control ------------------------------------------------------------ */
/* The lines are parsed by control.c; here they are carried out. */

static int
control_add (struct fuse_session *se, const struct control_cmd *cmd,
             const char **why)
{
  struct vfile *base;
  struct export *exp = NULL;
  uint64_t off = cmd->offset, len = cmd->length, base_off = 0, base_len = 0;
  bool ro = false;
  int r;

  pthread_mutex_lock (&files.lock);
  base = vfile_by_name_locked (cmd->base);
  if (base && !base->seg) {
    exp = base->exp;
    base_off = base->offset;
    base_len = base->length;
    ro = base->readonly;
  }
  pthread_mutex_unlock (&files.lock);
  if (base == NULL) {
    *why = "no such base file";
    return EINVAL;
  }
  if (exp == NULL) {
    *why = "the base file is a composed file";
    return EINVAL;
  }
  if (off > base_len || len > base_len - off) {
    *why = "range beyond the end of the base file";
    return EINVAL;
  }
  r = vfile_add (cmd->name, exp, base_off + off, len, ro, NULL, why);
  if (r)
    return EINVAL;
  /* (The new file may already be gone again: use our copy of the name.)
   * Nothing negative is cached (lookups of missing names fail without an
   * entry timeout), but be sure the kernel asks again. */
  fuse_lowlevel_notify_inval_entry (se, VX_ROOT_INO, cmd->name, strlen (cmd->name));
  vx_debug ("added %s: %s [%" PRIu64 ", +%" PRIu64 ")",
            cmd->name, exp->uri, base_off + off, len);
  return 0;
}

/* compose: the bases must be plain files (ranges of one export); the
 * pieces must lie inside them. */
static int
control_compose (struct fuse_session *se, struct control_cmd *cmd,
                 const char **why)
{
  struct export **exps = calloc (cmd->nbases, sizeof *exps);
  uint64_t *boff = calloc (cmd->nbases, sizeof *boff);
  uint64_t *blen = calloc (cmd->nbases, sizeof *blen);
  uint64_t size;
  bool ro = false;
  size_t i, k;
  int r = EINVAL;

  if (!exps || !boff || !blen) {
    *why = "out of memory";
    r = ENOMEM;
    goto out;
  }
  pthread_mutex_lock (&files.lock);
  for (i = 0; i < cmd->nbases; i++) {
    struct vfile *b = vfile_by_name_locked (cmd->bases[i]);
    if (!b || b->seg)
      break;
    exps[i] = b->exp;
    boff[i] = b->offset;
    blen[i] = b->length;
    ro = ro || b->readonly;
  }
  pthread_mutex_unlock (&files.lock);
  if (i < cmd->nbases) {
    *why = "no such base file (or a composed one)";
    goto out;
  }
  if (vx_segments_check (cmd->seg, cmd->nseg, cmd->nbases, blen, &size, why) < 0)
    goto out;
  for (i = 0; i < cmd->nseg; i++) {        /* offsets into the exports */
    struct vx_segment *s = &cmd->seg[i];
    s->offset += boff[s->disk];
    for (k = 0; k < s->nstripes; k++)
      s->stripe[k].offset += boff[s->stripe[k].disk];
  }
  r = vfile_add_composed (cmd->name, cmd->seg, cmd->nseg, exps, cmd->nbases,
                          size, ro, why);
  cmd->seg = NULL;                         /* taken over */
  cmd->nseg = 0;
  if (r == 0) {
    fuse_lowlevel_notify_inval_entry (se, VX_ROOT_INO, cmd->name, strlen (cmd->name));
    vx_debug ("composed %s: %" PRIu64 " bytes from %zu files", cmd->name,
              size, cmd->nbases);
  }
  else
    r = EINVAL;
 out:
  free (exps);
  free (boff);
  free (blen);
  return r;
}

static int
control_remove (struct fuse_session *se, const struct control_cmd *cmd,
                const char **why)
{
  struct vfile *f;
  uint64_t ino = 0;

  pthread_mutex_lock (&files.lock);
  f = vfile_by_name_locked (cmd->name);
  if (f) {
    f->removed = true;
    ino = f->ino;
    files.generation++;
    maybe_free_locked (f);
  }
  pthread_mutex_unlock (&files.lock);
  if (ino == 0) {
    *why = "no such file";
    return EINVAL;
  }
  /* Drop the kernel's dentry so the name disappears at once. */
  fuse_lowlevel_notify_delete (se, VX_ROOT_INO, ino, cmd->name, strlen (cmd->name));
  vx_debug ("removed %s", cmd->name);
  return 0;
}

int
control_write (struct fuse_session *se, const char *buf, size_t len)
{
  char *copy, *pos, *line;
  const char *why = NULL;
  int r = 0;

  if (memchr (buf, '\0', len)) {
    vx_log (".control: NUL byte in write");
    return EINVAL;
  }
  copy = strndup (buf, len);
  if (copy == NULL)
    return ENOMEM;
  pos = copy;
  while (r == 0 && (line = control_next_line (&pos)) != NULL) {
    struct control_cmd cmd;
    char *orig = strdup (line);

    if (orig) {                 /* for the log: no control characters */
      char *c;
      for (c = orig; *c; c++)
        if (iscntrl ((unsigned char) *c))
          *c = '?';
    }
    r = control_parse_line (line, &cmd, &why);
    if (r == 0 && cmd.op == CONTROL_ADD)
      r = control_add (se, &cmd, &why);
    else if (r == 0 && cmd.op == CONTROL_REMOVE)
      r = control_remove (se, &cmd, &why);
    else if (r == 0 && cmd.op == CONTROL_COMPOSE)
      r = control_compose (se, &cmd, &why);
    control_cmd_clear (&cmd);
    if (r)
      vx_log (".control: \"%s\": %s", orig ? orig : "", why);
    free (orig);
  }
  free (copy);
  return r;
}

void
vfile_free_all (void)
{
  size_t i;

  pthread_mutex_lock (&files.lock);
  for (i = 0; i < files.n; i++)
    vfile_destroy (files.v[i]);
  free (files.v);
  files.v = NULL;
  files.n = files.cap = 0;
  pthread_mutex_unlock (&files.lock);
}

/* vixmount-fuse: a file's bytes as pieces of exports.
 *
 * A file added with `add` is one range of one export: one piece.  A file
 * added with `compose` (an LVM logical volume) is an ordered list of
 * segments (common/utils/segment.h) over several exports, linear or
 * striped; a request is split where it crosses a segment or a chunk, and
 * each piece goes to its export.  The FUSE operations (fs.c) do their I/O
 * through vfile_pieces, so both kinds of file take the same path.
 */
#include <errno.h>

#include "bridge.h"

int
vfile_pieces (const struct vfile *f, uint64_t off, uint64_t count,
              vfile_piece_fn *fn, void *arg)
{
  uint64_t done = 0;
  int r;

  if (!f->seg)
    return count ? fn (arg, f->exp, f->offset + off, 0, count) : 0;
  while (done < count) {
    unsigned disk;
    uint64_t eoff, run;

    if (vx_segment_map (f->seg, f->nseg, off + done, &disk, &eoff, &run) < 0
        || disk >= f->nexps)
      return EIO;                 /* cannot happen: checked when added */
    if (run > count - done)
      run = count - done;
    r = fn (arg, f->exps[disk], eoff, done, run);
    if (r)
      return r;
    done += run;
  }
  return 0;
}

bool
vfile_uses (const struct vfile *f, const struct export *e)
{
  size_t i;

  if (!f->seg)
    return f->exp == e;
  for (i = 0; i < f->nexps; i++)
    if (f->exps[i] == e)
      return true;
  return false;
}

int
vfile_flush (const struct vfile *f)
{
  size_t i;
  int r;

  if (!f->seg)
    return export_flush (f->exp);
  for (i = 0; i < f->nexps; i++)
    if ((r = export_flush (f->exps[i])) != 0)
      return r;
  return 0;
}

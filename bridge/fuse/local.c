/* vixmount-fuse: in-process VMDK reads (--vmdk) and the --cow overlay.
 *
 * --vmdk NAME=PATH: "below" an export is the VMDK itself, read with the
 * engine the nbdkit plugin uses: no NBD request, no socket copy, no server
 * thread hand-off.  Given alone (no NAME=URI), the export is local: its
 * size comes from the engine and no server is involved at all.  Given
 * with NAME=URI, the VMDK is opened a second time next to the server, and
 * reads go to it while the server serves the rest.  Correct only while the
 * VMDK files do not change, so the export must be read-only or --cow
 * (nothing this bridge writes reaches the disk).
 *
 * --cow: writes never reach what is below.  They go into the overlay of
 * common/cow (an unlinked sparse file, a bitmap of written 4 KiB blocks);
 * reads of written blocks come from it, all others from below.  This is
 * how a read-only disk set lets the kernel replay a dirty journal while
 * mounting without anything reaching the VMDK.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "cow.h"
#include "vmdk.h"

struct local {
  struct vmdk_disk *disk;       /* --vmdk, or NULL: below is the server */
  struct cow *cow;              /* --cow, or NULL */
};

static struct local *
local_get (struct export *e)
{
  if (e->local == NULL)
    e->local = calloc (1, sizeof *e->local);
  return e->local;
}

void
local_close (struct local *l)
{
  if (l == NULL)
    return;
  cow_close (l->cow);
  if (l->disk)
    vmdk_close (l->disk);
  free (l);
}

bool
local_has_overlay (const struct local *l)
{
  return l && l->cow;
}

int
export_attach_vmdk (struct export *e, const char *path, unsigned vmdk_flags)
{
  struct vmdk_options opts = {
    .flags = VMDK_OPEN_RDONLY | vmdk_flags,
  };
  struct vmdk_error err;
  struct vmdk_disk *disk;
  struct local *l;

  disk = vmdk_open (path, &opts, &err);
  if (disk == NULL) {
    vx_log ("%s", err.msg);
    return -1;
  }
  if (e->server && vmdk_size (disk) != e->size) {
    vx_log ("%s: virtual size %" PRIu64 " differs from the size of %s (%"
            PRIu64 "): not the disk this export serves", path,
            vmdk_size (disk), e->uri, e->size);
    vmdk_close (disk);
    return -1;
  }
  if ((l = local_get (e)) == NULL) {
    vx_log ("%s: %s", path, strerror (ENOMEM));
    vmdk_close (disk);
    return -1;
  }
  if (!e->server)
    e->size = vmdk_size (disk);
  l->disk = disk;
  vx_debug ("%s: unwritten blocks read from %s in-process", e->uri, path);
  return 0;
}

/* Blocks not in the overlay: from the VMDK in-process, or from the server.
 * The cow_below_fn of the overlay. */
static int
below_read (void *opaque, void *buf, size_t count, uint64_t off)
{
  struct export *e = opaque;
  struct vmdk_error err;

  if (e->local->disk == NULL)
    return export_remote_pread (e, buf, count, off);
  if (vmdk_pread (e->local->disk, buf, count, off, &err) == 0)
    return 0;
  vx_log ("%s", err.msg);
  return vmdk_error_errno (&err);
}

int
export_enable_cow (struct export *e, const char *dir)
{
  struct local *l = local_get (e);

  if (l == NULL) {
    vx_log ("%s: %s", dir, strerror (ENOMEM));
    return -1;
  }
  l->cow = cow_open (dir, e->size, below_read, e);
  if (l->cow == NULL) {
    vx_log ("%s: cannot create the overlay for %s: %s", dir, e->uri, strerror (errno));
    return -1;
  }
  e->readonly = false;          /* writable into the overlay */
  vx_debug ("%s: writes go to a private overlay in %s", e->uri, dir);
  return 0;
}

int
local_pread (struct export *e, void *buf, size_t count, uint64_t off)
{
  int err;

  if (e->local->cow == NULL)
    return below_read (e, buf, count, off);
  err = cow_pread (e->local->cow, buf, count, off);
  if (err)
    vx_log ("%s: reading through the overlay: %s", e->uri, strerror (err));
  return err;
}

int
local_cow_write (struct export *e, const void *data, uint64_t count,
                 uint64_t off)
{
  int err = data ? cow_pwrite (e->local->cow, data, count, off)
                 : cow_zero (e->local->cow, count, off);

  if (err && err != ENOSPC)
    vx_log ("%s: writing the overlay: %s", e->uri, strerror (err));
  return err;
}

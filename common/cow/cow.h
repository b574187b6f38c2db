/* common/cow: a private copy-on-write overlay over a read-only disk image.
 *
 * An overlay of SIZE bytes sits over "below", a read callback (the VMDK
 * engine, an NBD export, a test's buffer): writes go into a sparse
 * temporary file, unlinked from the start (it disappears with the process),
 * in 4 KiB blocks; a bitmap remembers the blocks written; reads of those
 * come from the file, all others from below.  Below is never written.  No
 * FUSE, NBD or logging here: every function returns 0 or an errno, and the
 * caller names the disk in its messages.
 *
 * Threads: any number of readers and writers at once.  Readers never lock;
 * writers serialise on one lock per overlay (a partial block is read,
 * merged and written back, and must not be merged by two writers at once).
 * A read racing a write of the same bytes sees the old or the new data.
 */
#ifndef VIXMOUNT_COW_H
#define VIXMOUNT_COW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COW_BLOCK_SIZE 4096u

/* Reads COUNT bytes at OFF (within the overlay's size) of what is below:
 * 0 or an errno.  Called from any thread. */
typedef int cow_below_fn (void *opaque, void *buf, size_t count, uint64_t off);

struct cow;

/* An overlay of SIZE bytes whose file is in directory DIR (O_TMPFILE, or a
 * mkstemp file unlinked at once where the filesystem has no O_TMPFILE).
 * NULL with errno set. */
struct cow *cow_open (const char *dir, uint64_t size, cow_below_fn *below,
                      void *opaque);
void cow_close (struct cow *c);

uint64_t cow_size (const struct cow *c);
/* Whether anything has been written yet (reads go straight below until). */
bool cow_any_written (const struct cow *c);
/* The overlay file's descriptor (tests: it has no name). */
int cow_fd (const struct cow *c);

/* Reads [off, off+count): written blocks from the overlay, the others from
 * below.  Past SIZE: EINVAL. */
int cow_pread (struct cow *c, void *buf, size_t count, uint64_t off);
/* Writes DATA over [off, off+count); the rest of a partial block is taken
 * from wherever it is now.  Past SIZE: ENOSPC. */
int cow_pwrite (struct cow *c, const void *data, size_t count, uint64_t off);
/* Zeros [off, off+count) (whole blocks become holes in the file). */
int cow_zero (struct cow *c, uint64_t count, uint64_t off);

#endif

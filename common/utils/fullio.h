/* vixmount helpers: whole reads and writes on file descriptors.
 *
 * read(2), write(2), pread(2) and pwrite(2) may transfer fewer bytes than
 * asked (pipes, signals, large requests) or fail with EINTR.  These loop
 * until the whole count is done, end of file is reached or a real error
 * happens.
 *
 * Convention: the readers return the number of bytes read, which is LEN
 * unless end of file came first (so a short count means end of file, never
 * an error), or -1 with errno set on an error.  The writers return 0 once
 * every byte is written, or -1 with errno set (EIO if the system wrote
 * nothing and reported no error).  LEN must not exceed SSIZE_MAX (EINVAL).
 * After an error, how much was transferred is not reported.
 */
#ifndef VIXMOUNT_FULLIO_H
#define VIXMOUNT_FULLIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* From the current file position (pipes, sockets, terminals). */
ssize_t vx_full_read (int fd, void *buf, size_t len);
int vx_full_write (int fd, const void *buf, size_t len);

/* At byte offset OFF, leaving the file position alone. */
ssize_t vx_full_pread (int fd, void *buf, size_t len, uint64_t off);
int vx_full_pwrite (int fd, const void *buf, size_t len, uint64_t off);

#endif

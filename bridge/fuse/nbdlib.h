/* vixmount-fuse: libnbd, loaded at the first NBD export.
 *
 * libnbd brings GnuTLS, libxml2 and ICU with it (20 shared libraries): on
 * a cold page cache, loading them at start-up cost ~40 ms, a bridge of
 * local exports only (--vmdk, every read-only disk set) never calls it.  So
 * vixmount-fuse is not linked with libnbd: export.c includes this header
 * after <libnbd.h>, and each nbd_* call it makes goes through a table
 * filled from dlopen ("libnbd.so.0") by nbdlib_load.  The table's types
 * are taken from <libnbd.h> itself, so a signature cannot drift.
 */
#ifndef VIXMOUNT_NBDLIB_H
#define VIXMOUNT_NBDLIB_H

#include <libnbd.h>

#define NBDLIB_FUNCTIONS(X)                                             \
  X (nbd_create) X (nbd_close) X (nbd_get_error) X (nbd_get_errno)      \
  X (nbd_set_pread_initialize) X (nbd_connect_uri) X (nbd_shutdown)     \
  X (nbd_get_size) X (nbd_is_read_only) X (nbd_can_flush)               \
  X (nbd_can_fua) X (nbd_can_trim) X (nbd_can_zero)                     \
  X (nbd_can_multi_conn) X (nbd_get_block_size) X (nbd_aio_is_dead)     \
  X (nbd_aio_is_closed) X (nbd_aio_in_flight) X (nbd_aio_pread)         \
  X (nbd_aio_command_completed) X (nbd_poll) X (nbd_pread)              \
  X (nbd_pwrite) X (nbd_zero) X (nbd_flush)

#define NBDLIB_MEMBER(f) __typeof__ (f) *f;
struct nbdlib {
  NBDLIB_FUNCTIONS (NBDLIB_MEMBER)
};
#undef NBDLIB_MEMBER
extern struct nbdlib nbdlib;

/* Loads libnbd once (later calls: 0 at once).  0, or -1 (logged). */
int nbdlib_load (void);

/* From here on, nbd_create (...) is nbdlib.nbd_create (...), etc. (not in
 * nbdlib.c, which looks the real names up) */
#ifndef NBDLIB_NO_MACROS
#define nbd_create nbdlib.nbd_create
#define nbd_close nbdlib.nbd_close
#define nbd_get_error nbdlib.nbd_get_error
#define nbd_get_errno nbdlib.nbd_get_errno
#define nbd_set_pread_initialize nbdlib.nbd_set_pread_initialize
#define nbd_connect_uri nbdlib.nbd_connect_uri
#define nbd_shutdown nbdlib.nbd_shutdown
#define nbd_get_size nbdlib.nbd_get_size
#define nbd_is_read_only nbdlib.nbd_is_read_only
#define nbd_can_flush nbdlib.nbd_can_flush
#define nbd_can_fua nbdlib.nbd_can_fua
#define nbd_can_trim nbdlib.nbd_can_trim
#define nbd_can_zero nbdlib.nbd_can_zero
#define nbd_can_multi_conn nbdlib.nbd_can_multi_conn
#define nbd_get_block_size nbdlib.nbd_get_block_size
#define nbd_aio_is_dead nbdlib.nbd_aio_is_dead
#define nbd_aio_is_closed nbdlib.nbd_aio_is_closed
#define nbd_aio_in_flight nbdlib.nbd_aio_in_flight
#define nbd_aio_pread nbdlib.nbd_aio_pread
#define nbd_aio_command_completed nbdlib.nbd_aio_command_completed
#define nbd_poll nbdlib.nbd_poll
#define nbd_pread nbdlib.nbd_pread
#define nbd_pwrite nbdlib.nbd_pwrite
#define nbd_zero nbdlib.nbd_zero
#define nbd_flush nbdlib.nbd_flush
#endif

#endif

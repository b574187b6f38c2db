/* vixmount-fuse: loading libnbd at the first NBD export (see nbdlib.h). */
#include <dlfcn.h>
#include <pthread.h>

#include "bridge.h"
#define NBDLIB_NO_MACROS
#include "nbdlib.h"

/* The soname of libnbd's stable ABI. */
#define LIBNBD_SONAME "libnbd.so.0"

struct nbdlib nbdlib;

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loaded;

int
nbdlib_load (void)
{
  void *h;
  int r = 0;

  pthread_mutex_lock (&load_lock);
  if (loaded)
    goto out;
  h = dlopen (LIBNBD_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    vx_log ("%s (install the Debian package libnbd0): %s", LIBNBD_SONAME, dlerror ());
    r = -1;
    goto out;
  }
#define LOOKUP(f)                                                       \
  if (r == 0 && (*(void **) &nbdlib.f = dlsym (h, #f)) == NULL) {      \
    vx_log ("%s: no symbol %s: %s", LIBNBD_SONAME, #f, dlerror ());     \
    r = -1;                                                             \
  }
  NBDLIB_FUNCTIONS (LOOKUP)
#undef LOOKUP
  if (r == 0)
    loaded = true;
  else
    dlclose (h);
 out:
  pthread_mutex_unlock (&load_lock);
  return r;
}

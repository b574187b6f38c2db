/* vixmount VMDK engine: resolving extent and parent file names safely.
 *
 * Guest-supplied descriptors name other files.  By default a name must stay
 * beneath the descriptor's directory and may not pass through symlinks:
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) enforces that in the kernel
 * (Linux >= 5.6); elsewhere a lexical check plus O_NOFOLLOW per component
 * does the same job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef HAVE_LINUX_OPENAT2_H
#include <linux/openat2.h>
#endif

#include "internal.h"

char *
vx_dirname (const char *path)
{
  const char *slash = strrchr (path, '/');

  if (!slash)
    return strdup (".");
  if (slash == path)
    return strdup ("/");
  return strndup (path, (size_t) (slash - path));
}

const char *
vx_basename_any (const char *path)
{
  const char *b = path, *p;

  for (p = path; *p; p++)
    if (*p == '/' || *p == '\\')
      b = p + 1;
  return b;
}

bool
vx_path_is_device (const char *name)
{
  return strncmp (name, "/dev/", 5) == 0 || strncmp (name, "\\\\.\\", 4) == 0;
}

/* Lexically: relative, no ".." component, not empty. */
static bool
stays_beneath (const char *name)
{
  const char *p = name;

  if (*name == '\0' || *name == '/')
    return false;
  while (*p) {
    const char *e = strchrnul (p, '/');
    if (e - p == 2 && p[0] == '.' && p[1] == '.')
      return false;
    p = *e ? e + 1 : e;
  }
  return true;
}

static char *
join (const char *dir, const char *name)
{
  char *s;

  if (name[0] == '/' || strcmp (dir, ".") == 0)
    return strdup (name);
  if (asprintf (&s, "%s/%s", dir, name) < 0)
    return NULL;
  return s;
}

static int
open_beneath_kernel (int dirfd, const char *name, int oflags)
{
#if defined(HAVE_LINUX_OPENAT2_H) && defined(SYS_openat2)
  struct open_how how = {
    .flags = (uint64_t) (oflags | O_CLOEXEC),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };
  int fd = (int) syscall (SYS_openat2, dirfd, name, &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS)
    return fd;
#endif
  /* Fallback: names were checked lexically; refuse a symlink as last part. */
  return openat (dirfd, name, oflags | O_CLOEXEC | O_NOFOLLOW);
}

int
vx_open_beneath (int dirfd, const char *dir, const char *owner, const char *name,
                 bool allow_escape, int oflags, char **resolved,
                 const char *what, struct vmdk_error *err)
{
  int fd;

  *resolved = join (dir, name);
  if (!*resolved)
    return vx_oom (err, "path");

  if (!allow_escape) {
    if (vx_path_is_device (name)) {
      vx_err (err, VMDK_ERR_PATH,
              "%s: %s \"%s\" names a device; refused (allow devices explicitly to open it)",
              owner, what, name);
      goto fail;
    }
    if (!stays_beneath (name)) {
      vx_err (err, VMDK_ERR_PATH,
              "%s: %s \"%s\" is absolute or leaves the descriptor's directory; refused",
              owner, what, name);
      goto fail;
    }
    fd = open_beneath_kernel (dirfd, name, oflags);
    if (fd < 0 && (errno == EXDEV || errno == ELOOP)) {
      vx_err (err, VMDK_ERR_PATH,
              "%s: %s \"%s\" resolves through a symbolic link or outside the descriptor's directory; refused",
              owner, what, name);
      goto fail;
    }
  }
  else
    fd = openat (dirfd, name, oflags | O_CLOEXEC);

  if (fd < 0) {
    vx_err_errno (err, errno, "%s: cannot open %s \"%s\"", *resolved, what, name);
    goto fail;
  }
  return fd;

 fail:
  free (*resolved);
  *resolved = NULL;
  return -1;
}

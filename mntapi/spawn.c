/* libvixMntapi: the processes of a disk set (the FUSE bridge, and nbdkit
 * when something needs NBD) and the bridge's control file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const char *
vxm_env_or (const char *name, const char *def)
{
  const char *v = getenv (name);
  return v && *v ? v : def;
}

/* nbdkit serving every disk of the set on s->sock, read-only (-r) for
 * read-only sets; started once, at the first consumer that needs NBD. */
/* vixmount.directRead: read the VMDKs' data with O_DIRECT (the plugin's
 * direct-read=true, vixmount-fuse --direct-read)?  auto: on the kernel
 * bridge, where the kernel's filesystem caches what it reads and the
 * server is a separate process whose page-cache copy would be a second
 * one (in the QEMU guest of tests/bench/kernel it is what brings the
 * kernel path from 0.6 to 0.9 of a raw loop device); not on the FUSE
 * bridge, whose benchmarks count on the VMDKs' page cache when warm. */
static bool
direct_read (const struct VixDiskSetHandleStruct *s)
{
  return vxm_g.direct_read == 1 || (vxm_g.direct_read == -1 && s->bridge == VX_BRIDGE_KERNEL);
}

VixError
vxm_need_nbd (struct VixDiskSetHandleStruct *s)
{
  const char *plugin = vxm_env_or ("VIXMOUNT_NBDKIT_PLUGIN", VIXMOUNT_PLUGIN_DEFAULT);
  char **argv, *sock, *pidfile = NULL, *cowdir = NULL;
  size_t a = 0, files = 0;   /* argv[files..a): the file= strings */
  VixError e = VIX_OK;
  pid_t pid;

  if (s->sock)
    return VIX_OK;              /* running */
  argv = calloc (s->ndisks + 13, sizeof *argv);
  if (!argv || asprintf (&sock, "%s/nbd.sock", s->st.dir) < 0) {
    free (argv);
    return VIX_E_OUT_OF_MEMORY;
  }
  if (asprintf (&pidfile, "%s/nbdkit.pid", s->st.dir) < 0) {
    free (argv);
    free (sock);
    return VIX_E_OUT_OF_MEMORY;
  }
  argv[a++] = (char *) vxm_env_or ("VIXMOUNT_NBDKIT", "nbdkit");  /* a wrapper in tests */
  argv[a++] = (char *) "--exit-with-parent";
  /* the pid file appears once nbdkit accepts connections (the socket
   * appears when it is bound, a moment before it listens) */
  argv[a++] = (char *) "-P";
  argv[a++] = pidfile;
  argv[a++] = (char *) "-U";
  argv[a++] = sock;
  /* A read-only set: a read-only export, or, for the kernel bridge, a
   * writable copy-on-write view (the plugin's cow=true: the VMDKs are
   * opened read-only, a dirty journal replays into a per-disk overlay that
   * vanishes with nbdkit).  nbdkit's cow filter would not do: it keeps one
   * overlay for all the exports of a server. */
  if (s->readonly && s->bridge != VX_BRIDGE_KERNEL)
    argv[a++] = (char *) "-r";
  argv[a++] = (char *) plugin;
  if (s->readonly && s->bridge == VX_BRIDGE_KERNEL) {
    /* overlays where the FUSE bridge keeps its own (bridge_args) */
    const char *tmp = getenv ("TMPDIR");
    argv[a++] = (char *) "cow=true";
    if (asprintf (&cowdir, "cow-dir=%s", vxm_g.tmpdir ? s->st.dir
                  : tmp && *tmp ? tmp : "/var/tmp") < 0) {
      cowdir = NULL;
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
    argv[a++] = cowdir;
  }
  if (s->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK)
    argv[a++] = (char *) "single-link=true";
  if (direct_read (s))
    argv[a++] = (char *) "direct-read=true";
  files = a;
  for (size_t i = 0; i < s->ndisks; i++)
    if (asprintf (&argv[a++], "file=%s", s->paths[i]) < 0) {
      argv[--a] = NULL;
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
  if (vxm_state_add (&s->st, "nbdkit %s", sock) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot write %s/state", s->st.dir);
    goto out;
  }
  pid = vxm_spawn (argv, s->log);
  if (pid < 0) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: cannot start nbdkit: %s (install the Debian package nbdkit)",
              strerror (errno));
    goto out;
  }
  vxm_state_add (&s->st, "pid nbdkit %d %llu", (int) pid, vxm_proc_start (pid));
  if (vxm_wait_for (pidfile, pid, 30000) == -1)
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: nbdkit did not start: %s", vxm_log_tail (s->log));
 out:
  if (e == VIX_OK)
    s->sock = sock;
  else
    free (sock);
  for (size_t i = files; files && i < a; i++)
    free (argv[i]);
  free (argv);
  free (pidfile);
  free (cowdir);
  return e;
}

/* An argument made with printf, or NULL when out of memory. */
static char * VXM_PRINTF (1, 2)
arg_printf (const char *fmt, ...)
{
  va_list ap;
  char *p;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&p, fmt, ap);
  va_end (ap);
  return r < 0 ? NULL : p;
}

/* The bridge's arguments: --cow and the local exports (--vmdk dN=PATH) of a
 * read-only set, or the NBD exports (dN=URI) of a read-write one.  NULL
 * when out of memory; the caller frees each string and the array. */
static char **
bridge_args (struct VixDiskSetHandleStruct *s, const char *prog)
{
  const char *tmp = getenv ("TMPDIR");
  /* 5 fixed, 5 for --cow, --single-link and --direct-read, 2 per disk,
   * the mount point, NULL */
  char **argv = calloc (2 * s->ndisks + 12, sizeof *argv);
  size_t a = 0;
  bool ok = true;

  if (!argv)
    return NULL;
  argv[a++] = strdup (prog);
  argv[a++] = strdup ("-f");
  argv[a++] = strdup ("--exit-with-parent");
  argv[a++] = strdup ("--ready-fd");
  argv[a++] = strdup ("3");
  if (s->readonly) {
    /* Each disk is read in-process from its VMDK, and writes (journal
     * replay) go into the bridge's overlay.  The overlay lives on disk: in
     * the set's directory when the configuration names tmpDirectory, else
     * in $TMPDIR or /var/tmp (not /run, which is memory). */
    argv[a++] = strdup ("--cow");
    argv[a++] = strdup ("--cow-dir");
    argv[a++] = strdup (vxm_g.tmpdir ? s->st.dir : tmp && *tmp ? tmp : "/var/tmp");
    if (s->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK)
      argv[a++] = strdup ("--single-link");
    if (direct_read (s))
      argv[a++] = strdup ("--direct-read");
    for (size_t i = 0; i < s->ndisks; i++) {
      argv[a++] = strdup ("--vmdk");
      argv[a++] = arg_printf ("d%zu=%s", i, s->paths[i]);
    }
    argv[a++] = strdup (s->fuse_dir);
  }
  else {
    argv[a++] = strdup (s->fuse_dir);
    for (size_t i = 0; i < s->ndisks; i++)
      argv[a++] = arg_printf ("d%zu=nbd+unix:///%zu?socket=%s", i, i, s->sock);
  }
  for (size_t i = 0; i < a; i++)
    ok = ok && argv[i] != NULL;
  if (!ok) {
    for (size_t i = 0; i < a; i++)
      free (argv[i]);
    free (argv);
    return NULL;
  }
  return argv;
}

VixError
vxm_start_bridge (struct VixDiskSetHandleStruct *s)
{
  const char *prog = vxm_env_or ("VIXMOUNT_FUSE", VIXMOUNT_FUSE_DEFAULT);
  char **argv = bridge_args (s, prog);
  VixError e = VIX_OK;
  int ready[2] = { -1, -1 };

  if (!argv)
    return VIX_E_OUT_OF_MEMORY;
  if (mkdir (s->fuse_dir, 0700) == -1 || vxm_state_add (&s->st, "fuse %s", s->fuse_dir) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot create %s: %s", s->fuse_dir,
              strerror (errno));
    goto out;
  }
  /* The bridge writes a byte to the pipe when its files are usable
   * (--ready-fd): no polling, and its exit is seen at once (EOF). */
  if (pipe2 (ready, O_CLOEXEC) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: pipe: %s", strerror (errno));
    goto out;
  }
  s->fuse_pid = vxm_spawn_notify (argv, s->log, ready[1]);
  close (ready[1]);
  if (s->fuse_pid < 0) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: cannot start %s: %s", prog, strerror (errno));
    goto out;
  }
  vxm_state_add (&s->st, "pid fuse %d %llu", (int) s->fuse_pid, vxm_proc_start (s->fuse_pid));
  if (vxm_wait_ready (ready[0], s->fuse_pid, 30000) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: the FUSE bridge did not start: %s",
              vxm_log_tail (s->log));
    s->fuse_pid = 0;
  }
 out:
  if (ready[0] >= 0)
    close (ready[0]);
  for (size_t i = 0; argv[i]; i++)
    free (argv[i]);
  free (argv);
  return e;
}

int
vxm_bridge_control (struct VixDiskSetHandleStruct *s, const char *fmt, ...)
{
  char path[PATH_MAX], *line;
  va_list ap;
  int fd, n, r = 0;

  va_start (ap, fmt);
  n = vasprintf (&line, fmt, ap);   /* compose lines can be long */
  va_end (ap);
  if (n < 0)
    return -1;
  snprintf (path, sizeof path, "%s/.control", s->fuse_dir);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, line, (size_t) n) != n)
    r = -1;
  if (fd >= 0)
    close (fd);
  free (line);
  return r;
}

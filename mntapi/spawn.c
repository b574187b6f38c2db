/* libvixMntapi: the processes of a disk set (nbdkit, the FUSE bridge) and
 * the bridge's control file. */
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

/* nbdkit serving every disk of the set, read-only (-r) for read-only vxm_sets. */
VixError
vxm_start_nbdkit (struct VixDiskSetHandleStruct *s)
{
  const char *plugin = vxm_env_or ("VIXMOUNT_NBDKIT_PLUGIN", VIXMOUNT_PLUGIN_DEFAULT);
  char **argv = calloc (s->ndisks + 10, sizeof *argv);
  size_t a = 0, files;
  VixError e = VIX_OK;
  pid_t pid;

  if (!argv || asprintf (&s->sock, "%s/nbd.sock", s->st.dir) < 0) {
    s->sock = NULL;
    free (argv);
    return VIX_E_OUT_OF_MEMORY;
  }
  argv[a++] = (char *) vxm_env_or ("VIXMOUNT_NBDKIT", "nbdkit");  /* a wrapper in tests */
  argv[a++] = (char *) "--exit-with-parent";
  argv[a++] = (char *) "-U";
  argv[a++] = s->sock;
  if (s->readonly)
    argv[a++] = (char *) "-r";
  argv[a++] = (char *) plugin;
  if (s->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK)
    argv[a++] = (char *) "single-link=true";
  files = a;
  for (size_t i = 0; i < s->ndisks; i++)
    if (asprintf (&argv[a++], "file=%s", s->paths[i]) < 0) {
      argv[--a] = NULL;
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
  if (vxm_state_add (&s->st, "nbdkit %s", s->sock) == -1) {
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
  if (vxm_wait_for (s->sock, pid, 30000) == -1)
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: nbdkit did not start: %s", vxm_log_tail (s->log));
 out:
  for (size_t i = files; i < a; i++)
    free (argv[i]);
  free (argv);
  return e;
}

VixError
vxm_start_bridge (struct VixDiskSetHandleStruct *s)
{
  static const char vmdk_opt[] = "--vmdk";
  const char *prog = vxm_env_or ("VIXMOUNT_FUSE", VIXMOUNT_FUSE_DEFAULT);
  /* 5 fixed, 4 for --cow and --single-link, 2 per disk for --vmdk, the
   * mount point, 1 per disk for the exports, NULL */
  char **argv = calloc (3 * s->ndisks + 11, sizeof *argv), *pidfile = NULL;
  const char *tmp = getenv ("TMPDIR");
  size_t a = 0, first;
  VixError e = VIX_OK;

  if (!argv || asprintf (&pidfile, "%s/fuse.pid", s->st.dir) < 0) {
    free (argv);
    return VIX_E_OUT_OF_MEMORY;
  }
  argv[a++] = (char *) prog;
  argv[a++] = (char *) "-f";
  argv[a++] = (char *) "--exit-with-parent";
  argv[a++] = (char *) "--pidfile";
  argv[a++] = pidfile;
  if (s->readonly) {
    /* Writes (journal replay) go into the bridge's overlay; everything else
     * is read from the VMDK files in-process.  The overlay lives on disk:
     * in the set's directory when the configuration names tmpDirectory,
     * else in $TMPDIR or /var/tmp (not /run, which is memory). */
    argv[a++] = (char *) "--cow";
    argv[a++] = (char *) "--cow-dir";
    argv[a++] = vxm_g.tmpdir ? s->st.dir : tmp && *tmp ? (char *) tmp : (char *) "/var/tmp";
    if (s->flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK)
      argv[a++] = (char *) "--single-link";
  }
  first = a;
  for (size_t i = 0; s->readonly && i < s->ndisks; i++) {
    argv[a++] = (char *) vmdk_opt;
    if (asprintf (&argv[a++], "d%zu=%s", i, s->paths[i]) < 0) {
      argv[--a] = NULL;
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
  }
  argv[a++] = s->fuse_dir;
  for (size_t i = 0; i < s->ndisks; i++)
    if (asprintf (&argv[a++], "d%zu=nbd+unix:///%zu?socket=%s", i, i, s->sock) < 0) {
      argv[--a] = NULL;
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
  if (mkdir (s->fuse_dir, 0700) == -1 || vxm_state_add (&s->st, "fuse %s", s->fuse_dir) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot create %s: %s", s->fuse_dir,
              strerror (errno));
    goto out;
  }
  s->fuse_pid = vxm_spawn (argv, s->log);
  if (s->fuse_pid < 0) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: cannot start %s: %s", prog, strerror (errno));
    goto out;
  }
  vxm_state_add (&s->st, "pid fuse %d %llu", (int) s->fuse_pid, vxm_proc_start (s->fuse_pid));
  if (vxm_wait_for (pidfile, s->fuse_pid, 30000) == -1) {
    e = vxm_fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: the FUSE bridge did not start: %s",
              vxm_log_tail (s->log));
    s->fuse_pid = 0;
  }
 out:
  for (size_t i = first; i < a; i++)
    if (argv[i] != s->fuse_dir && argv[i] != vmdk_opt)  /* the others are ours */
      free (argv[i]);
  free (argv);
  free (pidfile);
  return e;
}

int
vxm_bridge_control (struct VixDiskSetHandleStruct *s, const char *fmt, ...)
{
  char path[PATH_MAX], line[512];
  va_list ap;
  int fd, n, r = 0;

  va_start (ap, fmt);
  n = vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  snprintf (path, sizeof path, "%s/.control", s->fuse_dir);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, line, (size_t) n) != n)
    r = -1;
  if (fd >= 0)
    close (fd);
  return r;
}


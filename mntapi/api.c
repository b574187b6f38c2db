/* vixmount: libvixMntapi, the Virtual Disk Mount API on the userspace bridge.
 *
 * A disk set = one nbdkit serving the set's VMDK disks (exports "0", "1",
 * ...) on a private unix socket, read-only (-r) when the set is; one
 * vixmount-fuse exposing each disk and each mounted volume as a file; and
 * per mounted volume a loop device and a kernel (or FUSE driver) mount.  In
 * a read-only set the bridge keeps a private copy-on-write overlay (--cow),
 * so that dirty journals replay into it and never into the source, and
 * reads the blocks not written there straight from the VMDK files with the
 * engine (--vmdk), without the NBD hop.  Source disks are locked (flock,
 * through the engine) while the set is open. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vixMntapi.h"
#include "vixMntapiExt.h"
#include "vixDiskLibExt.h"
#include "vixcodes.h"
#include "vmdk.h"
#include "volume.h"
#include "runtime.h"
#include "mount.h"

#define API __attribute__ ((visibility ("default")))
#define SET_MAGIC 0x56584d53u   /* "VXMS" */
#define VOL_MAGIC 0x56584d56u   /* "VXMV" */
#define DEAD_MAGIC 0xdeadbeefu
#define MAX_DISKS 64

#ifndef VIXMOUNT_PLUGIN_DEFAULT
#define VIXMOUNT_PLUGIN_DEFAULT "/usr/lib/x86_64-linux-gnu/nbdkit/plugins/nbdkit-vmdk-plugin.so"
#endif
#ifndef VIXMOUNT_FUSE_DEFAULT
#define VIXMOUNT_FUSE_DEFAULT "/usr/local/bin/vixmount-fuse"
#endif

struct VixDiskSetHandleStruct;

struct VixVolumeHandleStruct {
  uint32_t magic;
  struct VixDiskSetHandleStruct *set;
  struct vx_volume *v;
  bool mounted, readonly;
  bool own_file;            /* file added to the bridge for this volume */
  char *dir;                /* mount directory (symbolicLink) */
  char *file;               /* the bridge file the loop device reads */
  char loopdev[64];
};

struct VixDiskSetHandleStruct {
  uint32_t magic;
  struct VixDiskSetHandleStruct *next;
  uint32_t flags;
  bool readonly;
  struct vxm_state st;
  char *sock;                   /* nbdkit's socket */
  char *fuse_dir, *log;
  pid_t fuse_pid;
  size_t ndisks;
  char **paths;
  struct vmdk_disk **vd;        /* held open: the locks */
  struct vx_volume *vols;
  size_t nvols;
  struct VixVolumeHandleStruct *vh;
};

static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  bool init;
  char *tmpdir, *base;
  VixDiskLibGenericLogFunc *log, *warn, *panic;
  int level;
} g = { .level = 3 };
static struct VixDiskSetHandleStruct *sets;

/* ---- logging ---------------------------------------------------------------- */

static void
call (VixDiskLibGenericLogFunc *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  f (fmt, ap);
  va_end (ap);
}

static void
log_out (int level, const char *msg)
{
  VixDiskLibGenericLogFunc *f = level <= 1 ? (level == 0 && g.panic ? g.panic : g.warn)
    : level == 2 ? g.warn : g.log;
  if (f)
    call (f, "%s\n", msg);
  else
    fprintf (stderr, "vixMntapi: %s\n", msg);
}

static VixError
fail (VixError code, const char *fmt, ...) VXM_PRINTF (2, 3);
static VixError
fail (VixError code, const char *fmt, ...)
{
  char msg[2048];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  vxm_log (1, "%s", msg);
  return code;
}

/* ---- config ------------------------------------------------------------------- */

/* The keys that matter here: tmpDirectory and the log level.  Format: one
 * "name = value" per line, value optionally quoted, '#' comments. */
static VixError
read_config (const char *path)
{
  FILE *f;
  char line[4096];

  if (!path)
    return VIX_OK;
  f = fopen (path, "re");
  if (!f)
    return fail (VIX_E_FILE_NOT_FOUND, "Init: configuration file %s: %s", path,
                 strerror (errno));
  while (fgets (line, sizeof line, f)) {
    char *k = line, *eq, *v, *e;
    while (*k == ' ' || *k == '\t') k++;
    if (*k == '#' || !(eq = strchr (k, '=')))
      continue;
    for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--) ;
    *e = '\0';
    v = eq + 1;
    while (*v == ' ' || *v == '\t') v++;
    v[strcspn (v, "\r\n")] = '\0';
    for (e = v + strlen (v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--) *--e = '\0', e++;
    if (*v == '"') {
      v++;
      if ((e = strchr (v, '"'))) *e = '\0';
    }
    if (!strcasecmp (k, "tmpDirectory")) {
      free (g.tmpdir);
      g.tmpdir = strdup (v);
    }
    else if (!strcasecmp (k, "vixMntapi.LogLevel") || !strcasecmp (k, "vixDiskLib.transport.LogLevel"))
      g.level = atoi (v);
    else
      vxm_log (5, "Init: %s: ignoring key %s", path, k);
  }
  fclose (f);
  return VIX_OK;
}

/* ---- handles ---------------------------------------------------------------- */

static struct VixDiskSetHandleStruct *
find_set (const void *h)
{
  for (struct VixDiskSetHandleStruct *s = sets; s; s = s->next)
    if (s == h && s->magic == SET_MAGIC)
      return s;
  return NULL;
}

static struct VixVolumeHandleStruct *
find_vol (const void *h)
{
  for (struct VixDiskSetHandleStruct *s = sets; s; s = s->next)
    if (s->vh && (const struct VixVolumeHandleStruct *) h >= s->vh
        && (const struct VixVolumeHandleStruct *) h < s->vh + s->nvols
        && ((const struct VixVolumeHandleStruct *) h)->magic == VOL_MAGIC)
      return (struct VixVolumeHandleStruct *) h;
  return NULL;
}

static const char *
env_or (const char *name, const char *def)
{
  const char *v = getenv (name);
  return v && *v ? v : def;
}

/* ---- Init / Exit --------------------------------------------------------------- */

API VixError
VixMntapi_Init (uint32 majorVersion, uint32 minorVersion, VixDiskLibGenericLogFunc *log,
                VixDiskLibGenericLogFunc *warn, VixDiskLibGenericLogFunc *panic,
                const char *libDir, const char *configFile)
{
  VixError e;
  int n;

  (void) libDir;     /* nothing to load from it */
  if (majorVersion != VIXMNTAPI_MAJOR_VERSION)
    return fail (VIX_E_MNTAPI_INCOMPATIBLE_VERSION,
                 "Init: version %u.%u requested; this library implements %d.%d",
                 majorVersion, minorVersion, VIXMNTAPI_MAJOR_VERSION, VIXMNTAPI_MINOR_VERSION);
  pthread_mutex_lock (&glock);
  g.log = log;
  g.warn = warn;
  g.panic = panic;
  vxm_log_set (log_out, g.level);
  e = read_config (configFile);
  if (e == VIX_OK) {
    vxm_log_set (log_out, g.level);
    free (g.base);
    g.base = vxm_base_dir (g.tmpdir);
    if (!g.base)
      e = VIX_E_OUT_OF_MEMORY;
  }
  if (e == VIX_OK) {
    n = vxm_cleanup_stale (g.base);
    if (n > 0)
      vxm_log (2, "Init: removed %d disk set(s) left behind by processes that died", n);
    g.init = true;
  }
  pthread_mutex_unlock (&glock);
  return e;
}

static void close_set (struct VixDiskSetHandleStruct *s);

API void
VixMntapi_Exit (void)
{
  pthread_mutex_lock (&glock);
  while (sets) {
    vxm_log (2, "Exit: closing a disk set that is still open (%s)", sets->st.dir);
    close_set (sets);
  }
  g.init = false;
  free (g.tmpdir);
  free (g.base);
  g.tmpdir = g.base = NULL;
  pthread_mutex_unlock (&glock);
}

API int
Vixmount_CleanupStale (const char *tmpDirectory)
{
  char *base = vxm_base_dir (tmpDirectory);
  int n;
  if (!base)
    return -1;
  n = vxm_cleanup_stale (base);
  free (base);
  return n;
}

/* ---- disk sets ----------------------------------------------------------------- */

static void
free_set (struct VixDiskSetHandleStruct *s)
{
  for (size_t i = 0; i < s->nvols && s->vh; i++) {
    s->vh[i].magic = DEAD_MAGIC;
    free (s->vh[i].dir);
    free (s->vh[i].file);
  }
  free (s->vh);
  vx_volumes_free (s->vols, s->nvols);
  for (size_t i = 0; i < s->ndisks; i++) {
    if (s->vd && s->vd[i])
      vmdk_close (s->vd[i]);
    if (s->paths)
      free (s->paths[i]);
  }
  free (s->vd);
  free (s->paths);
  free (s->sock);
  free (s->fuse_dir);
  free (s->log);
  vxm_state_close (&s->st);
  s->magic = DEAD_MAGIC;
  free (s);
}

/* Everything undone, whatever state the set is in (also half-opened). */
static void
close_set (struct VixDiskSetHandleStruct *s)
{
  struct VixDiskSetHandleStruct **pp;

  for (pp = &sets; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  if (s->st.dir && vxm_teardown_dir (s->st.dir, true) == -1)
    vxm_log (1, "CloseDiskSet: %s could not be removed completely; "
             "vixmount-cleanup or the next Init will retry", s->st.dir);
  free_set (s);
}

/* nbdkit serving every disk of the set, read-only (-r) for read-only sets. */
static VixError
start_nbdkit (struct VixDiskSetHandleStruct *s)
{
  const char *plugin = env_or ("VIXMOUNT_NBDKIT_PLUGIN", VIXMOUNT_PLUGIN_DEFAULT);
  char **argv = calloc (s->ndisks + 10, sizeof *argv);
  size_t a = 0, files;
  VixError e = VIX_OK;
  pid_t pid;

  if (!argv || asprintf (&s->sock, "%s/nbd.sock", s->st.dir) < 0) {
    s->sock = NULL;
    free (argv);
    return VIX_E_OUT_OF_MEMORY;
  }
  argv[a++] = (char *) env_or ("VIXMOUNT_NBDKIT", "nbdkit");  /* a wrapper in tests */
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
    e = fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot write %s/state", s->st.dir);
    goto out;
  }
  pid = vxm_spawn (argv, s->log);
  if (pid < 0) {
    e = fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: cannot start nbdkit: %s (install the Debian package nbdkit)",
              strerror (errno));
    goto out;
  }
  vxm_state_add (&s->st, "pid nbdkit %d %llu", (int) pid, vxm_proc_start (pid));
  if (vxm_wait_for (s->sock, pid, 30000) == -1)
    e = fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: nbdkit did not start: %s", vxm_log_tail (s->log));
 out:
  for (size_t i = files; i < a; i++)
    free (argv[i]);
  free (argv);
  return e;
}

static VixError
start_bridge (struct VixDiskSetHandleStruct *s)
{
  static const char vmdk_opt[] = "--vmdk";
  const char *prog = env_or ("VIXMOUNT_FUSE", VIXMOUNT_FUSE_DEFAULT);
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
    argv[a++] = g.tmpdir ? s->st.dir : tmp && *tmp ? (char *) tmp : (char *) "/var/tmp";
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
    e = fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: cannot create %s: %s", s->fuse_dir,
              strerror (errno));
    goto out;
  }
  s->fuse_pid = vxm_spawn (argv, s->log);
  if (s->fuse_pid < 0) {
    e = fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: cannot start %s: %s", prog, strerror (errno));
    goto out;
  }
  vxm_state_add (&s->st, "pid fuse %d %llu", (int) s->fuse_pid, vxm_proc_start (s->fuse_pid));
  if (vxm_wait_for (pidfile, s->fuse_pid, 30000) == -1) {
    e = fail (VIX_E_MNTAPI_DAEMON, "OpenDisks: the FUSE bridge did not start: %s",
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

static VixError
discover (struct VixDiskSetHandleStruct *s)
{
  char **files = calloc (s->ndisks, sizeof *files), err[1024];
  uint64_t *sizes = calloc (s->ndisks, sizeof *sizes);
  VixError e = VIX_OK;

  if (!files || !sizes) {
    e = VIX_E_OUT_OF_MEMORY;
    goto out;
  }
  for (size_t i = 0; i < s->ndisks; i++) {
    if (asprintf (&files[i], "%s/d%zu", s->fuse_dir, i) < 0) {
      e = VIX_E_OUT_OF_MEMORY;
      goto out;
    }
    sizes[i] = vmdk_size (s->vd[i]);
  }
  err[0] = '\0';
  if (vx_discover ((const char *const *) files, sizes, s->ndisks, &s->vols, &s->nvols, err,
                   sizeof err) == -1) {
    e = fail (VIX_E_MNTAPI_CANT_READ_PARTS, "OpenDisks: %s", err);
    goto out;
  }
  for (char *line = err, *nl; *line; line = nl ? nl + 1 : line + strlen (line)) {
    nl = strchr (line, '\n');
    if (nl) *nl = '\0';
    if (*line)
      vxm_log (2, "OpenDisks: %s", line);   /* discovery's warnings */
  }
  s->vh = calloc (s->nvols ? s->nvols : 1, sizeof *s->vh);
  if (!s->vh) {
    e = VIX_E_OUT_OF_MEMORY;
    goto out;
  }
  for (size_t i = 0; i < s->nvols; i++) {
    s->vh[i].magic = VOL_MAGIC;
    s->vh[i].set = s;
    s->vh[i].v = &s->vols[i];
  }
 out:
  for (size_t i = 0; files && i < s->ndisks; i++)
    free (files[i]);
  free (files);
  free (sizes);
  return e;
}

/* The common body of OpenDisks and OpenDiskSet. */
static VixError
open_set (const char *const *names, size_t n, uint32 flags, bool lock,
          VixDiskSetHandle *handle)
{
  struct VixDiskSetHandleStruct *s;
  char err[1024];
  VixError e;

  if (!g.init)
    return fail (VIX_E_DISK_NOINIT, "OpenDisks: VixMntapi_Init was not called");
  if (n == 0 || n > MAX_DISKS)
    return fail (VIX_E_INVALID_ARG, "OpenDisks: %zu disks (1 to %d are possible)", n, MAX_DISKS);
  for (size_t i = 0; i < n; i++)
    if (!names[i] || !*names[i])
      return fail (VIX_E_INVALID_ARG, "OpenDisks: disk name %zu is empty", i);
  if (geteuid () != 0)
    return fail (VIX_E_MNTAPI_NO_ROOT, "OpenDisks: mounting needs root (loop devices, mounts)");

  s = calloc (1, sizeof *s);
  if (!s)
    return VIX_E_OUT_OF_MEMORY;
  s->magic = SET_MAGIC;
  s->flags = flags;
  s->readonly = (flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY) != 0;
  s->st.fd = -1;
  s->ndisks = n;
  s->paths = calloc (n, sizeof *s->paths);
  s->vd = calloc (n, sizeof *s->vd);
  if (!s->paths || !s->vd) {
    free_set (s);
    return VIX_E_OUT_OF_MEMORY;
  }
  /* Open and lock each disk: the engine validates it and finds conflicts
   * before anything is started. */
  for (size_t i = 0; i < n; i++) {
    struct vmdk_options o = {
      .flags = VMDK_OPEN_RDONLY
        | (lock ? VMDK_OPEN_LOCK | (s->readonly ? 0 : VMDK_OPEN_LOCK_EXCL) : 0)
        | ((flags & VIXDISKLIB_FLAG_OPEN_SINGLE_LINK) ? VMDK_OPEN_SINGLE_LINK : 0),
    };
    struct vmdk_error ve;
    char real[PATH_MAX];
    if (!realpath (names[i], real)) {
      e = fail (VIX_E_FILE_NOT_FOUND, "OpenDisks: %s: %s", names[i], strerror (errno));
      goto fail;
    }
    s->paths[i] = strdup (real);
    s->vd[i] = s->paths[i] ? vmdk_open (real, &o, &ve) : NULL;
    if (!s->vd[i]) {
      e = s->paths[i] ? fail (vx_vix_from_vmdk (&ve), "OpenDisks: %s", ve.msg) : VIX_E_OUT_OF_MEMORY;
      goto fail;
    }
  }
  if (vxm_state_create (g.base, &s->st, err, sizeof err) == -1) {
    e = fail (VIX_E_MNTAPI_CANT_MAKE_VAR_DIR, "OpenDisks: %s", err);
    goto fail;
  }
  if (asprintf (&s->fuse_dir, "%s/disks", s->st.dir) < 0
      || asprintf (&s->log, "%s/log", s->st.dir) < 0) {
    e = VIX_E_OUT_OF_MEMORY;
    goto fail;
  }
  s->next = sets;
  sets = s;
  if ((e = start_nbdkit (s)) != VIX_OK || (e = start_bridge (s)) != VIX_OK
      || (e = discover (s)) != VIX_OK) {
    close_set (s);
    return e;
  }
  vxm_log (3, "OpenDisks: %zu disk(s), %zu volume(s), %s, in %s", n, s->nvols,
           s->readonly ? "read-only" : "read-write", s->st.dir);
  *handle = s;
  return VIX_OK;

 fail:
  if (s->st.dir)
    vxm_teardown_dir (s->st.dir, true);
  free_set (s);
  return e;
}

API VixError
VixMntapi_OpenDisks (VixDiskLibConnection connection, const char *diskNames[],
                     size_t numberOfDisks, uint32 openFlags, VixDiskSetHandle *handle)
{
  VixError e;

  (void) connection;   /* local files: nothing to connect to */
  if (!handle)
    return fail (VIX_E_INVALID_ARG, "OpenDisks: NULL handle pointer");
  *handle = NULL;
  if (!diskNames)
    return fail (VIX_E_INVALID_ARG, "OpenDisks: NULL disk names");
  pthread_mutex_lock (&glock);
  e = open_set (diskNames, numberOfDisks, openFlags, true, handle);
  pthread_mutex_unlock (&glock);
  return e;
}

/* A set from disks the caller opened with VixDiskLib_Open.  The caller's
 * handles hold the disks' locks already (a second flock in this process
 * would conflict with them) and stay the caller's to close after
 * CloseDiskSet; the set must not be read-write if a handle is read-only. */
API VixError
VixMntapi_OpenDiskSet (VixDiskLibHandle diskHandles[], size_t numberOfDisks,
                       uint32 openMode, VixDiskSetHandle *handle)
{
  char **paths;
  VixError e = VIX_OK;
  uint32 mode = openMode;

  if (!handle)
    return fail (VIX_E_INVALID_ARG, "OpenDiskSet: NULL handle pointer");
  *handle = NULL;
  if (!diskHandles || numberOfDisks == 0 || numberOfDisks > MAX_DISKS)
    return fail (VIX_E_INVALID_ARG, "OpenDiskSet: %zu disk handles (1 to %d are possible)",
                 diskHandles ? numberOfDisks : 0, MAX_DISKS);
  paths = calloc (numberOfDisks, sizeof *paths);
  if (!paths)
    return VIX_E_OUT_OF_MEMORY;
  for (size_t i = 0; i < numberOfDisks && e == VIX_OK; i++) {
    uint32 flags = 0;
    paths[i] = malloc (PATH_MAX);
    if (!paths[i])
      e = VIX_E_OUT_OF_MEMORY;
    else if ((e = Vixmount_DiskLibGetDiskPath (diskHandles[i], paths[i], PATH_MAX, &flags))
             != VIX_OK)
      fail (e, "OpenDiskSet: disk handle %zu is not an open VixDiskLib disk", i);
    else if (flags & VIXDISKLIB_FLAG_OPEN_READ_ONLY) {
      if (!(mode & VIXDISKLIB_FLAG_OPEN_READ_ONLY))
        vxm_log (2, "OpenDiskSet: %s is open read-only, so the set is read-only", paths[i]);
      mode |= VIXDISKLIB_FLAG_OPEN_READ_ONLY;
    }
  }
  if (e == VIX_OK) {
    pthread_mutex_lock (&glock);
    e = open_set ((const char *const *) paths, numberOfDisks, mode, false, handle);
    pthread_mutex_unlock (&glock);
  }
  for (size_t i = 0; i < numberOfDisks; i++)
    free (paths[i]);
  free (paths);
  return e;
}

API VixError
VixMntapi_CloseDiskSet (VixDiskSetHandle diskSet)
{
  struct VixDiskSetHandleStruct *s;

  pthread_mutex_lock (&glock);
  s = find_set (diskSet);
  if (!s) {
    pthread_mutex_unlock (&glock);
    return fail (VIX_E_INVALID_ARG, "CloseDiskSet: not an open disk set");
  }
  close_set (s);
  pthread_mutex_unlock (&glock);
  return VIX_OK;
}

API VixError
VixMntapi_GetDiskSetInfo (VixDiskSetHandle handle, VixDiskSetInfo **info)
{
  struct VixDiskSetHandleStruct *s;
  VixDiskSetInfo *i;

  if (!info)
    return fail (VIX_E_INVALID_ARG, "GetDiskSetInfo: NULL info pointer");
  *info = NULL;
  pthread_mutex_lock (&glock);
  s = find_set (handle);
  if (!s) {
    pthread_mutex_unlock (&glock);
    return fail (VIX_E_INVALID_ARG, "GetDiskSetInfo: not an open disk set");
  }
  i = calloc (1, sizeof *i);
  if (i && !(i->mountPath = strdup (s->st.dir))) {
    free (i);
    i = NULL;
  }
  if (i)
    i->openFlags = s->flags;
  pthread_mutex_unlock (&glock);
  if (!i)
    return VIX_E_OUT_OF_MEMORY;
  *info = i;
  return VIX_OK;
}

API void
VixMntapi_FreeDiskSetInfo (VixDiskSetInfo *info)
{
  if (!info)
    return;
  free (info->mountPath);
  free (info);
}

API VixError
VixMntapi_GetVolumeHandles (VixDiskSetHandle diskSet, size_t *numberOfVolumes,
                            VixVolumeHandle *volumeHandles[])
{
  struct VixDiskSetHandleStruct *s;
  VixVolumeHandle *a;

  if (numberOfVolumes) *numberOfVolumes = 0;
  if (volumeHandles) *volumeHandles = NULL;
  if (!numberOfVolumes || !volumeHandles)
    return fail (VIX_E_INVALID_ARG, "GetVolumeHandles: NULL out pointer");
  pthread_mutex_lock (&glock);
  s = find_set (diskSet);
  if (!s) {
    pthread_mutex_unlock (&glock);
    return fail (VIX_E_INVALID_ARG, "GetVolumeHandles: not an open disk set");
  }
  a = calloc (s->nvols + 1, sizeof *a);       /* the array is the caller's */
  for (size_t i = 0; a && i < s->nvols; i++)
    a[i] = &s->vh[i];
  if (a)
    *numberOfVolumes = s->nvols;
  pthread_mutex_unlock (&glock);
  if (!a)
    return VIX_E_OUT_OF_MEMORY;
  *volumeHandles = a;
  return VIX_OK;
}

API void
VixMntapi_FreeVolumeHandles (VixVolumeHandle *volumeHandles)
{
  free (volumeHandles);   /* the volumes belong to the set */
}

API VixError
VixMntapi_GetOsInfo (VixDiskSetHandle diskSet, VixOsInfo **info)
{
  if (info)
    *info = NULL;
  pthread_mutex_lock (&glock);
  bool ok = find_set (diskSet) != NULL;
  pthread_mutex_unlock (&glock);
  if (!ok || !info)
    return fail (VIX_E_INVALID_ARG, "GetOsInfo: not an open disk set");
  return fail (VIX_E_NOT_SUPPORTED,
               "GetOsInfo: guest OS inspection is not implemented in this version of vixmount");
}

API void
VixMntapi_FreeOsInfo (VixOsInfo *info)
{
  if (!info)
    return;
  free (info->vendor);
  free (info->edition);
  free (info->osFolder);
  free (info);
}

/* ---- volumes ------------------------------------------------------------------------ */

static int
bridge_control (struct VixDiskSetHandleStruct *s, const char *fmt, ...) VXM_PRINTF (2, 3);
static int
bridge_control (struct VixDiskSetHandleStruct *s, const char *fmt, ...)
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

static VixError
mount_volume (struct VixVolumeHandleStruct *vh, bool readonly)
{
  struct VixDiskSetHandleStruct *s = vh->set;
  struct vx_volume *v = vh->v;
  enum vxm_mount_mode how;
  char err[1024], volroot[PATH_MAX];
  int lfd;

  if (vh->mounted)
    return VIX_E_MNTAPI_VOLUME_ALREADY_MOUNTED;
  if (!v->mountable)
    return fail (VIX_E_NOT_SUPPORTED, "MountVolume: %s cannot be mounted: %s", v->name,
                 v->why_not ? v->why_not : "not a supported filesystem");
  if (v->nseg != 1)
    return fail (VIX_E_NOT_SUPPORTED, "MountVolume: %s spans several segments "
                 "(not supported on the userspace bridge yet)", v->name);
  if (s->readonly && !readonly)
    vxm_log (2, "MountVolume: the disk set is read-only, so %s is mounted read-only", v->name);
  how = s->readonly ? VXM_RO : readonly ? VXM_RO_NO_REPLAY : VXM_RW;

  /* the bridge file: the whole disk, or a range of it added for the volume */
  if (v->seg[0].offset == 0 && v->seg[0].length == vmdk_size (s->vd[v->seg[0].disk])) {
    if (asprintf (&vh->file, "%s/d%u", s->fuse_dir, v->seg[0].disk) < 0)
      return VIX_E_OUT_OF_MEMORY;
    vh->own_file = false;
  }
  else {
    if (asprintf (&vh->file, "%s/%s", s->fuse_dir, v->name) < 0)
      return VIX_E_OUT_OF_MEMORY;
    if (bridge_control (s, "add %s d%u %llu %llu\n", v->name, v->seg[0].disk,
                        (unsigned long long) v->seg[0].offset,
                        (unsigned long long) v->seg[0].length) == -1) {
      free (vh->file);
      vh->file = NULL;
      return fail (VIX_E_MNTAPI_DAEMON, "MountVolume: the FUSE bridge refused volume %s: %s",
                   v->name, strerror (errno));
    }
    vh->own_file = true;
  }
  snprintf (volroot, sizeof volroot, "%s/volumes", s->st.dir);
  mkdir (volroot, 0700);
  if (asprintf (&vh->dir, "%s/%s", volroot, v->name) < 0) {
    vh->dir = NULL;
    goto oom;
  }
  if (mkdir (vh->dir, 0700) == -1 && errno != EEXIST) {
    fail (VIX_E_MNTAPI_MOUNTPT_NOT_FOUND, "MountVolume: cannot create %s: %s", vh->dir,
          strerror (errno));
    goto undo;
  }
  if (vxm_state_add (&s->st, "loop %s", vh->file) == -1
      || (lfd = vxm_loop_attach (vh->file, how == VXM_RO_NO_REPLAY, vh->loopdev,
                                 sizeof vh->loopdev, err, sizeof err)) == -1) {
    fail (VIX_E_MNTAPI_LOOP_FAILED, "MountVolume: %s: %s", v->name, err);
    goto undo;
  }
  if (vxm_state_add (&s->st, "mount %s", vh->dir) == -1
      || vxm_mount (vh->loopdev, vh->dir, v->fstype, how, s->log, err, sizeof err) == -1) {
    close (lfd);              /* autoclear detaches it */
    fail (VIX_E_MNTAPI_OS_ERROR, "MountVolume: %s (%s): %s", v->name, v->fstype, err);
    goto undo;
  }
  close (lfd);                /* the mount holds the device now */
  vh->mounted = true;
  vh->readonly = how != VXM_RW;
  vxm_log (3, "MountVolume: %s (%s) on %s, %s", v->name, v->fstype, vh->dir,
           vh->readonly ? "read-only" : "read-write");
  return VIX_OK;

 oom:
  fail (VIX_E_OUT_OF_MEMORY, "MountVolume: out of memory");
 undo:
  if (vh->own_file)
    bridge_control (s, "remove %s\n", v->name);
  if (vh->dir)
    rmdir (vh->dir);
  free (vh->dir);
  free (vh->file);
  vh->dir = vh->file = NULL;
  return VIX_E_MNTAPI_OS_ERROR;
}

API VixError
VixMntapi_MountVolume (VixVolumeHandle volumeHandle, Bool readOnly)
{
  struct VixVolumeHandleStruct *vh;
  VixError e;

  pthread_mutex_lock (&glock);
  vh = find_vol (volumeHandle);
  e = vh ? mount_volume (vh, readOnly != 0)
    : fail (VIX_E_INVALID_ARG, "MountVolume: not a volume of an open disk set");
  pthread_mutex_unlock (&glock);
  return e;
}

static VixError
dismount (struct VixVolumeHandleStruct *vh, bool force)
{
  if (!vh->mounted)
    return VIX_E_MNTAPI_VOLUME_NOT_MOUNTED;
  if (vxm_umount (vh->dir, force) == -1)
    return fail (VIX_E_MNTAPI_UMOUNT, "DismountVolume: %s: %s%s", vh->dir, strerror (errno),
                 errno == EBUSY ? " (files are open; dismount with force)" : "");
  vxm_loop_detach_file (vh->file);      /* autoclear did it, unless busy */
  if (vh->own_file)
    bridge_control (vh->set, "remove %s\n", vh->v->name);
  rmdir (vh->dir);
  free (vh->dir);
  free (vh->file);
  vh->dir = vh->file = NULL;
  vh->loopdev[0] = '\0';
  vh->mounted = false;
  return VIX_OK;
}

API VixError
VixMntapi_DismountVolume (VixVolumeHandle volumeHandle, Bool force)
{
  struct VixVolumeHandleStruct *vh;
  VixError e;

  pthread_mutex_lock (&glock);
  vh = find_vol (volumeHandle);
  e = vh ? dismount (vh, force != 0)
    : fail (VIX_E_INVALID_ARG, "DismountVolume: not a volume of an open disk set");
  pthread_mutex_unlock (&glock);
  return e;
}

static VixVolumeType
vol_type (const struct vx_volume *v)
{
  switch (v->kind) {
  case VX_VOL_MBR_PRIMARY: case VX_VOL_MBR_EXTENDED: case VX_VOL_MBR_LOGICAL:
    return VIXMNTAPI_BASIC_PARTITION;
  case VX_VOL_GPT: return VIXMNTAPI_GPT_PARTITION;
  case VX_VOL_LVM: return VIXMNTAPI_LVM_VOLUME;
  default: return VIXMNTAPI_UNKNOWN_VOLTYPE;
  }
}

API VixError
VixMntapi_GetVolumeInfo (VixVolumeHandle volumeHandle, VixVolumeInfo **info)
{
  struct VixVolumeHandleStruct *vh;
  VixVolumeInfo *i;

  if (!info)
    return fail (VIX_E_INVALID_ARG, "GetVolumeInfo: NULL info pointer");
  *info = NULL;
  pthread_mutex_lock (&glock);
  vh = find_vol (volumeHandle);
  if (!vh) {
    pthread_mutex_unlock (&glock);
    return fail (VIX_E_INVALID_ARG, "GetVolumeInfo: not a volume of an open disk set");
  }
  i = calloc (1, sizeof *i);    /* one inGuestMountPoints slot, NULL */
  if (i) {
    i->type = vol_type (vh->v);
    i->isMounted = vh->mounted;
    i->numGuestMountPoints = 0;  /* guest inspection: a later version */
    if (vh->mounted && !(i->symbolicLink = strdup (vh->dir))) {
      free (i);
      i = NULL;
    }
  }
  pthread_mutex_unlock (&glock);
  if (!i)
    return VIX_E_OUT_OF_MEMORY;
  *info = i;
  return VIX_OK;
}

API void
VixMntapi_FreeVolumeInfo (VixVolumeInfo *info)
{
  if (!info)
    return;
  free (info->symbolicLink);
  for (size_t k = 0; k < info->numGuestMountPoints; k++)
    free (info->inGuestMountPoints[k]);
  free (info);
}

static char *
dup_or_null (const char *s, bool *oom)
{
  char *d;
  if (!s)
    return NULL;
  if (!(d = strdup (s)))
    *oom = true;
  return d;
}

API VixError
Vixmount_GetVolumeDetails (VixVolumeHandle volume, VixmountVolumeDetails **details)
{
  struct VixVolumeHandleStruct *vh;
  VixmountVolumeDetails *d;
  bool oom = false;

  if (!details)
    return fail (VIX_E_INVALID_ARG, "GetVolumeDetails: NULL pointer");
  *details = NULL;
  pthread_mutex_lock (&glock);
  vh = find_vol (volume);
  if (!vh) {
    pthread_mutex_unlock (&glock);
    return fail (VIX_E_INVALID_ARG, "GetVolumeDetails: not a volume of an open disk set");
  }
  d = calloc (1, sizeof *d);
  if (d) {
    struct vx_volume *v = vh->v;
    d->type = vol_type (v);
    d->name = dup_or_null (v->name, &oom);
    d->disk = v->disk;
    d->partitionNumber = v->partno;
    d->offset = v->nseg ? v->seg[0].offset : 0;
    d->length = v->size;
    d->fsType = dup_or_null (v->fstype, &oom);
    d->label = dup_or_null (v->label, &oom);
    d->uuid = dup_or_null (v->uuid, &oom);
    d->partType = dup_or_null (v->part_type, &oom);
    d->partUuid = dup_or_null (v->part_uuid, &oom);
    d->partName = dup_or_null (v->part_name, &oom);
    d->mountable = v->mountable;
    d->notMountableReason = dup_or_null (v->why_not, &oom);
  }
  pthread_mutex_unlock (&glock);
  if (!d || oom) {
    Vixmount_FreeVolumeDetails (d);
    return VIX_E_OUT_OF_MEMORY;
  }
  *details = d;
  return VIX_OK;
}

API void
Vixmount_FreeVolumeDetails (VixmountVolumeDetails *d)
{
  if (!d)
    return;
  free (d->name);
  free (d->fsType);
  free (d->label);
  free (d->uuid);
  free (d->partType);
  free (d->partUuid);
  free (d->partName);
  free (d->notMountableReason);
  free (d);
}

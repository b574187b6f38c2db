/* vixmount-fuse: options, start-up, daemonizing, signals and shutdown.
 *
 * Start-up order: connect to every NBD export and open every local one (so
 * a bad URI or VMDK fails before anything is mounted), mount, fork into the
 * background (unless -f), start the FUSE worker threads.  A helper thread
 * waits until the kernel's INIT has been answered and the root answers
 * getattr, then sets the read-ahead of the FUSE device, writes the pid
 * file, writes a byte to --ready-fd and lets the waiting parent exit 0:
 * when the command returns (or the byte arrives), the files are usable.
 * If anything fails before that, the parent exits non-zero (and --ready-fd
 * is closed without a byte) and nothing stays mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include "bridge.h"
#include "parse.h"
#include "vmdk.h"

#define PROG "vixmount-fuse"

/* ---- logging ----------------------------------------------------------- */

bool vx_verbose;
/* The Vix core's logger (common/vix/log.c): stderr while starting up (and
 * in the foreground), then syslog once daemonized, or only the --log file
 * (with timestamps) when there is one. */
struct vx_logger vx_bridge_logger = VX_LOGGER_INIT (PROG ": ", PROG);

/* libfuse's own messages go the same way. */
static void
fuse_logger (enum fuse_log_level level, const char *fmt, va_list ap)
{
  char buf[1024];
  size_t n;

  if (level > FUSE_LOG_NOTICE && !vx_verbose)
    return;
  vsnprintf (buf, sizeof buf, fmt, ap);
  n = strlen (buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  vx_log ("%s", buf);
}

/* ---- options ------------------------------------------------------------- */

static struct {
  bool readonly, foreground, exit_with_parent, clone_fd, cow;
  unsigned vmdk_flags;          /* --single-link, --direct-read */
  int notify_fd;                /* --ready-fd: -1 none */
  const char *cow_dir;
  unsigned threads, connections;
  unsigned readahead_kb;        /* 0: leave the kernel's */
  const char *pidfile, *logfile, *fuse_opts;
  char *mountpoint;
} opt = {
  .threads = 4,
  .readahead_kb = 1024,
  .notify_fd = -1,
};

static void
usage (FILE *fp)
{
  fprintf (fp,
"Usage: %s [OPTIONS] MOUNTPOINT [NAME=URI ...]\n"
"Presents NBD exports, and VMDK files read in-process (--vmdk), as regular\n"
"files NAME in MOUNTPOINT (FUSE).  At least one export is needed.\n"
"\n"
"  -r, --readonly          every file read-only\n"
"  -f, --foreground        do not fork into the background\n"
"      --threads N         FUSE worker threads (default 4)\n"
"      --connections N     NBD connections per export (default: threads;\n"
"                          1 unless the server advertises multi-conn)\n"
"      --pidfile FILE      write the pid once the mount is ready\n"
"      --ready-fd N        write one byte to descriptor N once the mount is\n"
"                          ready, then close it (for a parent waiting on a pipe)\n"
"      --exit-with-parent  unmount and exit when the parent process exits\n"
"      --direct-io         no kernel page cache for the files (FOPEN_DIRECT_IO)\n"
"      --max-request SIZE  largest FUSE read/write request (default 1M)\n"
"      --readahead SIZE    kernel read-ahead of the mount (default 1M; 0: keep)\n"
"      --split SIZE        send larger reads as pieces of SIZE, all in flight\n"
"                          on one connection (default 256K; 0: off)\n"
"      --clone-fd          one /dev/fuse descriptor per thread\n"
"      --cow               writes go to a private overlay (discarded at exit),\n"
"                          never to the server or the VMDK, which may be read-only\n"
"      --cow-dir DIR       where the overlay files are (default $TMPDIR or /var/tmp)\n"
"      --vmdk NAME=PATH    read export NAME in-process from the VMDK at PATH,\n"
"                          except blocks written into the overlay.  Without a\n"
"                          NAME=URI, NAME is a local export: no NBD server, the\n"
"                          size from the VMDK, read-only unless --cow.  With\n"
"                          one, the export must be read-only or --cow\n"
"      --single-link       open the --vmdk disks without their parent chains\n"
"      --direct-read       read the --vmdk disks' data with O_DIRECT where the\n"
"                          file system takes it (uncached)\n"
"  -o OPTIONS              extra FUSE mount options (e.g. allow_other)\n"
"      --log FILE          log to FILE (default: stderr, syslog once forked)\n"
"  -v, --verbose           also log connections, FUSE parameters, control lines\n"
"  -h, --help              this help\n"
"  -V, --version           print the version\n"
"\n"
"Writes to MOUNTPOINT/.control:  add NAME BASE OFFSET LENGTH | remove NAME\n"
"\n"
"N, OFFSET, LENGTH: a number, decimal (010 is ten) or hexadecimal after 0x;\n"
"SIZE: such a number with an optional K, M, G, T, P or E suffix (powers of\n"
"1024; either case, KiB also), up to 2^64 - 1 bytes.\n",
           PROG);
}

/* A SIZE option's value (parse.h); a malformed or too large one ends the
 * program (status 2) with a message naming the option and the value. */
static uint64_t
size_option (const char *what, const char *s)
{
  uint64_t v;

  if (vx_parse_size (s, &v) == -1) {
    if (errno == ERANGE)
      fprintf (stderr, "%s: %s: '%s' is out of range (more than 2^64 - 1 bytes)\n",
               PROG, what, s);
    else
      fprintf (stderr, "%s: %s: '%s' is not a size (a number, decimal or 0x hex, "
               "with an optional K, M, G, T, P or E suffix)\n", PROG, what, s);
    exit (2);
  }
  return v;
}

/* A count option's value: a number (parse.h) from LO to HI. */
static unsigned
parse_count (const char *what, const char *s, unsigned lo, unsigned hi)
{
  uint64_t v;

  if (vx_parse_u64 (s, &v) == -1 || v < lo || v > hi) {
    fprintf (stderr, "%s: %s: expected a number from %u to %u, got '%s'\n",
             PROG, what, lo, hi, s);
    exit (2);
  }
  return v;
}

/* ---- signals and the parent ---------------------------------------------- */

static volatile sig_atomic_t got_signal;

static void
on_signal (int sig)
{
  got_signal = sig;
  if (vx_session)
    fuse_session_exit (vx_session);
}

static int
install_signals (void)
{
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;           /* no SA_RESTART: wake blocked reads */
  sigemptyset (&sa.sa_mask);
  if (sigaction (SIGTERM, &sa, NULL) == -1 ||
      sigaction (SIGINT, &sa, NULL) == -1 ||
      sigaction (SIGHUP, &sa, NULL) == -1)
    return -1;
  sa.sa_handler = SIG_IGN;
  return sigaction (SIGPIPE, &sa, NULL);
}

static pid_t parent_pid;      /* the process that started us */
static int parent_pidfd = -1;

static int
watch_parent_setup (void)
{
  parent_pid = getppid ();
  if (parent_pid <= 1) {
    fprintf (stderr, "%s: --exit-with-parent: the parent has already exited\n", PROG);
    return -1;
  }
#ifdef SYS_pidfd_open
  parent_pidfd = syscall (SYS_pidfd_open, parent_pid, 0);
#endif
  /* If the parent died before the pidfd was taken, the pid may be reused. */
  if (getppid () != parent_pid) {
    fprintf (stderr, "%s: --exit-with-parent: the parent has already exited\n", PROG);
    return -1;
  }
  return 0;
}

/* Returns when the parent has exited. */
static void
watch_parent (void)
{
  if (parent_pidfd >= 0) {
    struct pollfd p = { .fd = parent_pidfd, .events = POLLIN };
    while (poll (&p, 1, -1) == -1 && errno == EINTR)
      ;
    return;
  }
  /* No pidfd (kernel < 5.3): poll the pid. */
  while (kill (parent_pid, 0) == 0 || errno == EPERM) {
    struct timespec ts = { 0, 200 * 1000 * 1000 };
    nanosleep (&ts, NULL);
  }
}

/* ---- readiness --------------------------------------------------------- */

static pthread_mutex_t ready_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cond = PTHREAD_COND_INITIALIZER;
static bool init_seen;
static int ready_fd = -1;     /* write end of the pipe the parent waits on */
static bool pidfile_written;
static bool helper_failed;    /* the mount never became ready */

static void
on_init (void)
{
  pthread_mutex_lock (&ready_lock);
  init_seen = true;
  pthread_cond_signal (&ready_cond);
  pthread_mutex_unlock (&ready_lock);
}

static int
write_pidfile (const char *path)
{
  char tmp[PATH_MAX], buf[32];
  int fd, n;

  /* Written whole under a temporary name, then renamed: whoever sees the
   * file sees the complete pid. */
  if (snprintf (tmp, sizeof tmp, "%s.tmp%d", path, (int) getpid ()) >= (int) sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd == -1)
    return -1;
  n = snprintf (buf, sizeof buf, "%d\n", (int) getpid ());
  if (write (fd, buf, n) != n || close (fd) == -1 || rename (tmp, path) == -1) {
    int e = errno;
    unlink (tmp);
    errno = e;
    return -1;
  }
  return 0;
}

static void
set_readahead (dev_t dev)
{
  char path[64], val[32];
  int fd, n;

  snprintf (path, sizeof path, "/sys/class/bdi/%u:%u/read_ahead_kb",
            major (dev), minor (dev));
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd == -1) {
    vx_debug ("%s: %s (read-ahead left as it is)", path, strerror (errno));
    return;
  }
  n = snprintf (val, sizeof val, "%u", opt.readahead_kb);
  if (write (fd, val, n) != n)
    vx_debug ("%s: %s (read-ahead left as it is)", path, strerror (errno));
  else
    vx_debug ("read-ahead %u KiB (%s)", opt.readahead_kb, path);
  close (fd);
}

static void *
helper_thread (void *arg)
{
  struct stat st;
  char ok = 0;

  (void) arg;
  pthread_mutex_lock (&ready_lock);
  while (!init_seen)
    pthread_cond_wait (&ready_cond, &ready_lock);
  pthread_mutex_unlock (&ready_lock);

  /* The INIT reply is on its way; a getattr answered proves it arrived. */
  if (stat (opt.mountpoint, &st) == -1) {
    vx_log ("%s: %s", opt.mountpoint, strerror (errno));
    goto fail;
  }
  if (opt.readahead_kb)
    set_readahead (st.st_dev);
  if (opt.pidfile) {
    if (write_pidfile (opt.pidfile) == -1) {
      vx_log ("%s: %s", opt.pidfile, strerror (errno));
      goto fail;
    }
    pidfile_written = true;
  }
  vx_debug ("ready: %s", opt.mountpoint);
  if (opt.logfile)
    vx_log_set_sink (&vx_bridge_logger, VX_SINK_NONE);
  if (ready_fd >= 0) {
    /* From now on nobody reads our stderr. */
    int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    if (!opt.logfile)
      vx_log_set_sink (&vx_bridge_logger, VX_SINK_SYSLOG);
    if (null >= 0) {
      dup2 (null, 2);
      close (null);
    }
    ok = 1;
    if (write (ready_fd, &ok, 1) != 1) {
      /* the parent is gone: nothing to tell */
    }
    close (ready_fd);
    ready_fd = -1;
  }
  if (opt.notify_fd >= 0) {
    ok = 1;
    if (write (opt.notify_fd, &ok, 1) != 1) {
      /* the reader is gone: nothing to tell */
    }
    close (opt.notify_fd);
    opt.notify_fd = -1;
  }

  if (opt.exit_with_parent) {
    watch_parent ();
    vx_log ("parent process %d exited: unmounting %s", (int) parent_pid,
            opt.mountpoint);
    fuse_session_exit (vx_session);
    kill (getpid (), SIGTERM);           /* wake the loop */
  }
  return NULL;

 fail:
  helper_failed = true;
  fuse_session_exit (vx_session);
  kill (getpid (), SIGTERM);
  return NULL;
}

/* Forks; the parent waits for the child to be ready and exits with 0, or
 * with 1 if the child died or gave up first.  Returns 0 in the child, -1
 * (in the only process) if it could not fork. */
static int
daemonize (void)
{
  int p[2];
  pid_t pid;
  char c = 0;

  if (pipe2 (p, O_CLOEXEC) == -1) {
    vx_log ("pipe: %s", strerror (errno));
    return -1;
  }
  fflush (NULL);
  pid = fork ();
  if (pid == -1) {
    vx_log ("fork: %s", strerror (errno));
    close (p[0]);
    close (p[1]);
    return -1;
  }
  if (pid > 0) {
    close (p[1]);
    while (read (p[0], &c, 1) == -1 && errno == EINTR)
      ;
    /* c stays 0 if the child closed the pipe without a word. */
    _exit (c == 1 ? 0 : 1);
  }
  close (p[0]);
  ready_fd = p[1];
  setsid ();
  if (chdir ("/") == -1) {
    /* "/" is always there */
  }
  {
    int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      dup2 (null, 0);
      dup2 (null, 1);
      close (null);
    }
  }
  return 0;
}

/* ---- main ----------------------------------------------------------------- */

struct mapping {
  char *name;
  const char *uri;
  struct export *exp;
  const char *vmdk;             /* --vmdk NAME=PATH: PATH */
};

int
main (int argc, char *argv[])
{
  enum { OPT_THREADS = 256, OPT_CONNECTIONS, OPT_PIDFILE, OPT_EWP,
         OPT_DIRECT_IO, OPT_MAX_REQUEST, OPT_READAHEAD, OPT_CLONE_FD,
         OPT_LOG, OPT_SPLIT, OPT_VMDK, OPT_COW, OPT_COW_DIR, OPT_SINGLE_LINK, OPT_DIRECT_READ,
         OPT_READY_FD };
  static const struct option longopts[] = {
    { "readonly", no_argument, NULL, 'r' },
    { "read-only", no_argument, NULL, 'r' },
    { "foreground", no_argument, NULL, 'f' },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "connections", required_argument, NULL, OPT_CONNECTIONS },
    { "pidfile", required_argument, NULL, OPT_PIDFILE },
    { "exit-with-parent", no_argument, NULL, OPT_EWP },
    { "direct-io", no_argument, NULL, OPT_DIRECT_IO },
    { "max-request", required_argument, NULL, OPT_MAX_REQUEST },
    { "readahead", required_argument, NULL, OPT_READAHEAD },
    { "clone-fd", no_argument, NULL, OPT_CLONE_FD },
    { "log", required_argument, NULL, OPT_LOG },
    { "split", required_argument, NULL, OPT_SPLIT },
    { "vmdk", required_argument, NULL, OPT_VMDK },
    { "cow", no_argument, NULL, OPT_COW },
    { "cow-dir", required_argument, NULL, OPT_COW_DIR },
    { "single-link", no_argument, NULL, OPT_SINGLE_LINK },
    { "direct-read", no_argument, NULL, OPT_DIRECT_READ },
    { "ready-fd", required_argument, NULL, OPT_READY_FD },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  struct mapping *maps = NULL;
  size_t nmaps = 0, i, j;
  const char **vmdks = NULL;    /* --vmdk arguments */
  size_t nvmdks = 0;
  struct fuse_args args = FUSE_ARGS_INIT (0, NULL);
  struct fuse_loop_config *lcfg = NULL;
  char mntopts[512], pidabs[PATH_MAX];
  sigset_t block, old;
  pthread_t helper;
  uint64_t v;
  int c, r, status = 1;
  bool mounted = false;

  while ((c = getopt_long (argc, argv, "+rfo:vhV", longopts, NULL)) != -1) {
    switch (c) {
    case 'r': opt.readonly = true; break;
    case 'f': opt.foreground = true; break;
    case 'o': opt.fuse_opts = optarg; break;
    case 'v': vx_verbose = true; break;
    case 'h': usage (stdout); return 0;
    case 'V': printf ("%s %s\n", PROG, PACKAGE_VERSION); return 0;
    case OPT_THREADS:
      /* two at least: a .control write waits for the kernel, which may
       * wait for another request to be answered */
      opt.threads = parse_count ("--threads", optarg, 2, 256); break;
    case OPT_CONNECTIONS:
      opt.connections = parse_count ("--connections", optarg, 1, 256); break;
    case OPT_PIDFILE: opt.pidfile = optarg; break;
    case OPT_EWP: opt.exit_with_parent = true; break;
    case OPT_DIRECT_IO: fscfg.direct_io = true; break;
    case OPT_CLONE_FD: opt.clone_fd = true; break;
    case OPT_LOG: opt.logfile = optarg; break;
    case OPT_MAX_REQUEST:
      v = size_option ("--max-request", optarg);
      if (v < 4096 || v > 1024 * 1024 || v % 4096) {
        fprintf (stderr, "%s: --max-request: a multiple of 4K up to 1M, not '%s'\n",
                 PROG, optarg);
        return 2;
      }
      fscfg.max_request = v;
      break;
    case OPT_SPLIT:
      v = size_option ("--split", optarg);
      if (v != 0 && (v < 4096 || v > 1024 * 1024)) {
        fprintf (stderr, "%s: --split: 0, or a size from 4K to 1M, not '%s'\n",
                 PROG, optarg);
        return 2;
      }
      export_read_split = v;
      break;
    case OPT_COW: opt.cow = true; break;
    case OPT_COW_DIR: opt.cow_dir = optarg; break;
    case OPT_SINGLE_LINK: opt.vmdk_flags |= VMDK_OPEN_SINGLE_LINK; break;
    case OPT_DIRECT_READ: opt.vmdk_flags |= VMDK_OPEN_DIRECT_READ; break;
    case OPT_READY_FD:
      opt.notify_fd = parse_count ("--ready-fd", optarg, 3, INT_MAX);
      if (fcntl (opt.notify_fd, F_SETFD, FD_CLOEXEC) == -1) {
        fprintf (stderr, "%s: --ready-fd %d: %s\n", PROG, opt.notify_fd, strerror (errno));
        return 2;
      }
      break;
    case OPT_VMDK: {
      const char **p = realloc (vmdks, (nvmdks + 1) * sizeof *vmdks);
      if (p == NULL) {
        perror (PROG);
        return 1;
      }
      vmdks = p;
      vmdks[nvmdks++] = optarg;
      break;
    }
    case OPT_READAHEAD:
      v = size_option ("--readahead", optarg);
      if (v > (1ull << 30)) {
        fprintf (stderr, "%s: --readahead: a size up to 1G, not '%s'\n",
                 PROG, optarg);
        return 2;
      }
      opt.readahead_kb = v / 1024;
      break;
    default: usage (stderr); return 2;
    }
  }
  if (argc - optind < 1 || (argc - optind < 2 && nvmdks == 0)) {
    usage (stderr);
    return 2;
  }
  if (opt.connections == 0)
    opt.connections = opt.threads;
  if (opt.cow_dir == NULL) {
    const char *t = getenv ("TMPDIR");
    opt.cow_dir = t && *t ? t : "/var/tmp";
  }

  /* MOUNTPOINT: absolute (we chdir / when forking, and unmount by name). */
  opt.mountpoint = realpath (argv[optind], NULL);
  if (opt.mountpoint == NULL) {
    fprintf (stderr, "%s: %s: %s\n", PROG, argv[optind], strerror (errno));
    goto out;
  }
  optind++;
  if (opt.pidfile && opt.pidfile[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd (cwd, sizeof cwd) == NULL ||
        snprintf (pidabs, sizeof pidabs, "%s/%s", cwd, opt.pidfile) >= (int) sizeof pidabs) {
      fprintf (stderr, "%s: %s: path too long\n", PROG, opt.pidfile);
      goto out;
    }
    opt.pidfile = pidabs;
  }
  vx_log_set_level (&vx_bridge_logger, vx_verbose ? VX_VERBOSE : VX_AUDIT);
  if (opt.logfile) {
    int e = vx_log_set_file (&vx_bridge_logger, opt.logfile,
                             vx_log_get_level (&vx_bridge_logger));
    if (e != 0) {
      fprintf (stderr, "%s: %s: %s\n", PROG, opt.logfile, strerror (e));
      goto out;
    }
  }
  fuse_set_log_func (fuse_logger);

  /* NAME=URI ..., then the local exports (--vmdk NAME=PATH of no NAME=URI) */
  nmaps = argc - optind;
  maps = calloc (nmaps + nvmdks, sizeof *maps);
  if (maps == NULL) {
    perror (PROG);
    goto out;
  }
  for (i = 0; i < nmaps; i++) {
    const char *arg = argv[optind + i], *eq = strchr (arg, '=');
    const char *why;
    if (eq == NULL || eq == arg || eq[1] == '\0') {
      fprintf (stderr, "%s: '%s': expected NAME=URI\n", PROG, arg);
      status = 2;
      goto out;
    }
    maps[i].name = strndup (arg, eq - arg);
    maps[i].uri = eq + 1;
    if (maps[i].name == NULL) {
      perror (PROG);
      goto out;
    }
    why = vfile_name_problem (maps[i].name);
    if (why) {
      fprintf (stderr, "%s: '%s': %s\n", PROG, maps[i].name, why);
      status = 2;
      goto out;
    }
    for (j = 0; j < i; j++)
      if (strcmp (maps[j].name, maps[i].name) == 0) {
        fprintf (stderr, "%s: '%s': name given twice\n", PROG, maps[i].name);
        status = 2;
        goto out;
      }
  }

  for (i = 0; i < nvmdks; i++) {
    const char *eq = strchr (vmdks[i], '='), *why = NULL;
    for (j = 0; eq && eq != vmdks[i] && eq[1] && j < nmaps; j++)
      if (strlen (maps[j].name) == (size_t) (eq - vmdks[i]) &&
          strncmp (maps[j].name, vmdks[i], eq - vmdks[i]) == 0)
        break;
    if (eq == NULL || eq == vmdks[i] || eq[1] == '\0')
      why = "expected NAME=PATH";
    else if (j < nmaps && maps[j].vmdk)
      why = "NAME given twice";
    else if (j == nmaps) {
      /* a local export */
      maps[nmaps].name = strndup (vmdks[i], eq - vmdks[i]);
      if (maps[nmaps].name == NULL) {
        perror (PROG);
        goto out;
      }
      why = vfile_name_problem (maps[nmaps].name);
      nmaps++;
    }
    if (why) {
      fprintf (stderr, "%s: --vmdk '%s': %s\n", PROG, vmdks[i], why);
      status = 2;
      goto out;
    }
    maps[j].vmdk = eq + 1;
  }

  if (opt.exit_with_parent) {
    if (watch_parent_setup () == -1)
      goto out;
    /* In the foreground the kernel can tell us as well. */
    if (opt.foreground)
      prctl (PR_SET_PDEATHSIG, SIGTERM);
  }

  /* Connect first: a bad URI, a server that is not there or a bad VMDK
   * fails here. */
  for (i = 0; i < nmaps; i++) {
    const char *why;
    if (maps[i].uri == NULL) {
      /* a local export: read-only underneath, writable only into --cow */
      maps[i].exp = export_open_local (maps[i].vmdk, opt.vmdk_flags);
      if (maps[i].exp == NULL)
        goto out;
      if (opt.cow && !opt.readonly &&
          export_enable_cow (maps[i].exp, opt.cow_dir) == -1)
        goto out;
      goto add;
    }
    maps[i].exp = export_open (maps[i].uri, opt.readonly, opt.connections);
    if (maps[i].exp == NULL)
      goto out;
    /* -r wins over --cow: nothing is written at all */
    if (opt.cow && !opt.readonly &&
        export_enable_cow (maps[i].exp, opt.cow_dir) == -1)
      goto out;
    if (maps[i].vmdk) {
      if (!maps[i].exp->readonly && !local_has_overlay (maps[i].exp->local)) {
        /* our writes would change the disk under the in-process reader */
        vx_log ("--vmdk %s=%s: the export is writable; add --cow (or -r)",
                maps[i].name, maps[i].vmdk);
        status = 2;
        goto out;
      }
      if (export_attach_vmdk (maps[i].exp, maps[i].vmdk, opt.vmdk_flags) == -1)
        goto out;
    }
  add:
    if (vfile_add (maps[i].name, maps[i].exp, 0, maps[i].exp->size,
                   opt.readonly, NULL, &why) != 0) {
      vx_log ("%s: %s", maps[i].name, why);
      goto out;
    }
  }

  /* Mount. */
  /* Not "ro" even with -r: .control stays writable; the data files refuse
   * to open for writing (EROFS) instead. */
  snprintf (mntopts, sizeof mntopts,
            "fsname=%s,subtype=%s,default_permissions%s%s",
            PROG, PROG,
            opt.fuse_opts ? "," : "", opt.fuse_opts ? opt.fuse_opts : "");
  if (fuse_opt_add_arg (&args, PROG) == -1 ||
      fuse_opt_add_arg (&args, "-o") == -1 ||
      fuse_opt_add_arg (&args, mntopts) == -1) {
    vx_log ("%s", strerror (ENOMEM));
    goto out;
  }
  fscfg.on_init = on_init;
  vx_session = fuse_session_new (&args, &vx_fs_ops, sizeof vx_fs_ops, NULL);
  if (vx_session == NULL) {
    vx_log ("%s: cannot set up the FUSE session (options: %s)",
            opt.mountpoint, mntopts);
    goto out;
  }
  if (install_signals () == -1) {
    vx_log ("sigaction: %s", strerror (errno));
    goto out;
  }
  if (fuse_session_mount (vx_session, opt.mountpoint) != 0) {
    vx_log ("%s: cannot mount", opt.mountpoint);
    goto out;
  }
  mounted = true;

  if (!opt.foreground && daemonize () == -1)
    goto out;

  /* The helper must not take the termination signals (they have to
   * interrupt the FUSE loop's threads). */
  sigemptyset (&block);
  sigaddset (&block, SIGTERM);
  sigaddset (&block, SIGINT);
  sigaddset (&block, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &block, &old);
  r = pthread_create (&helper, NULL, helper_thread, NULL);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (r != 0) {
    vx_log ("pthread_create: %s", strerror (r));
    goto out;
  }
  pthread_detach (helper);

  lcfg = fuse_loop_cfg_create ();
  if (lcfg == NULL) {
    vx_log ("%s", strerror (ENOMEM));
    goto out;
  }
  fuse_loop_cfg_set_max_threads (lcfg, opt.threads);
  fuse_loop_cfg_set_idle_threads (lcfg, opt.threads);
  fuse_loop_cfg_set_clone_fd (lcfg, opt.clone_fd);
  r = fuse_session_loop_mt (vx_session, lcfg);
  if (got_signal)
    vx_debug ("signal %d: unmounting %s", (int) got_signal, opt.mountpoint);
  if (r != 0 && !got_signal)
    vx_log ("%s: FUSE loop ended with error %d", opt.mountpoint, r);
  else if (!helper_failed)
    status = 0;

 out:
  if (ready_fd >= 0) {         /* never became ready: the parent exits 1 */
    close (ready_fd);
    ready_fd = -1;
  }
  if (opt.notify_fd >= 0)       /* EOF without a byte: not ready */
    close (opt.notify_fd);
  if (mounted)
    fuse_session_unmount (vx_session);
  if (vx_session)
    fuse_session_destroy (vx_session);
  fuse_opt_free_args (&args);
  if (lcfg)
    fuse_loop_cfg_destroy (lcfg);
  if (pidfile_written)
    unlink (opt.pidfile);
  vfile_free_all ();
  for (i = 0; maps && i < nmaps; i++) {
    export_close (maps[i].exp);
    free (maps[i].name);
  }
  free (maps);
  free (vmdks);
  free (opt.mountpoint);
  if (parent_pidfd >= 0)
    close (parent_pidfd);
  vx_log_reset (&vx_bridge_logger);
  return status;
}

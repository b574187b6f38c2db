/* Guest inspection: the child that looks at a mounted guest filesystem,
 * and the parent's side of it (inspect.h). */
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fullio.h"
#include "inspect.h"

#define MSG_MAX (1024 * 1024)     /* the child's message, at most */

#if defined(__SANITIZE_ADDRESS__)
#define VX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VX_ASAN 1
#endif
#endif

void
vx_guest_free (struct vx_guest *g)
{
  free (g->vendor);
  free (g->edition);
  free (g->product);
  free (g->distro);
  free (g->version);
  free (g->build);
  free (g->hostname);
  free (g->arch);
  free (g->os_folder);
  free (g->system_drive);
  free (g->notes);
  vx_fstab_free (g->fstab, g->nfstab);
  free (g->letters);
  memset (g, 0, sizeof *g);
}

void
vx_guest_note (struct vx_guest *g, const char *fmt, ...)
{
  char line[512], *n;
  size_t old = g->notes ? strlen (g->notes) : 0, l;
  va_list ap;

  if (old > 4096)
    return;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  l = strlen (line);
  if (!(n = realloc (g->notes, old + l + 2)))
    return;
  g->notes = n;
  memcpy (n + old, line, l);
  n[old + l] = '\n';
  n[old + l + 1] = '\0';
}

/* ROOT/REL (REL absolute) read whole, up to MAX bytes, if it is a regular
 * file (HEAD: only its first MAX bytes are wanted); malloc'd *BUF and *LEN.  0, or -1 (absent: no note; otherwise a
 * note saying why). */
static int
read_guest_file (const char *root, const char *rel, size_t max, bool head, struct vx_guest *g,
                 char **buf, size_t *len)
{
  char path[4096];
  struct stat st;
  int fd;
  ssize_t r;

  *buf = NULL;
  *len = 0;
  snprintf (path, sizeof path, "%s%s", strcmp (root, "/") ? root : "", rel);
  fd = open (path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd == -1) {
    if (errno != ENOENT && errno != ENOTDIR)
      vx_guest_note (g, "%s: %s", rel, strerror (errno));
    return -1;
  }
  if (fstat (fd, &st) == -1 || !S_ISREG (st.st_mode)) {
    vx_guest_note (g, "%s: not a regular file, not read", rel);
    close (fd);
    return -1;
  }
  if (!(*buf = malloc (max))) {
    close (fd);
    return -1;
  }
  r = vx_full_pread (fd, *buf, max, 0);
  close (fd);
  if (r < 0) {
    vx_guest_note (g, "%s: %s", rel, strerror (errno));
    free (*buf);
    *buf = NULL;
    return -1;
  }
  if (!head && (uint64_t) st.st_size > max)
    vx_guest_note (g, "%s: longer than %zu bytes, the rest not read", rel, max);
  *len = (size_t) r;
  return 0;
}

/* Linux: the release files, in the order a distribution's own tools
 * prefer them; 0 if one named the system. */
static int
linux_release (const char *root, struct vx_guest *g)
{
  static const struct { const char *path; int which; } files[] = {
    { "/etc/os-release", -1 }, { "/usr/lib/os-release", -1 },
    { "/etc/lsb-release", -2 },
    { "/etc/redhat-release", VX_REL_REDHAT }, { "/etc/SuSE-release", VX_REL_SUSE },
    { "/etc/debian_version", VX_REL_DEBIAN },
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char *b;
    size_t n;
    int r;
    if (read_guest_file (root, files[i].path, VX_GUEST_FILE_MAX, false, g, &b, &n) == -1)
      continue;
    r = files[i].which == -1 ? vx_osrelease_parse (b, n, g)
      : files[i].which == -2 ? vx_lsbrelease_parse (b, n, g)
      : vx_releasefile_parse ((enum vx_release_file) files[i].which, b, n, g);
    free (b);
    if (r == 0)
      return 0;
    vx_guest_note (g, "%s: nothing usable in it", files[i].path);
  }
  return -1;
}

static void
linux_facts (const char *root, struct vx_guest *g)
{
  static const char *const bins[] = { "/bin/sh", "/usr/bin/sh", "/sbin/init", "/bin/ls",
                                      "/usr/bin/ls", "/bin/bash", "/usr/bin/bash", NULL };
  static const char *const hosts[] = { "/etc/hostname", "/etc/HOSTNAME", NULL };
  char *b;
  size_t n, bad;

  g->kind = VX_GUEST_LINUX;
  g->os_folder = strdup ("");
  for (size_t i = 0; bins[i]; i++)
    if (read_guest_file (root, bins[i], 64, true, g, &b, &n) == 0) {
      const char *arch;
      bool is64;
      int r = vx_elf_class ((unsigned char *) b, n, &is64, &arch);
      free (b);
      if (r == 0) {
        g->is64 = is64;
        g->arch = arch ? strdup (arch) : NULL;
        break;
      }
    }
  for (size_t i = 0; hosts[i] && !g->hostname; i++)
    if (read_guest_file (root, hosts[i], 4096, true, g, &b, &n) == 0) {
      size_t k = 0;
      while (k < n && (b[k] == ' ' || b[k] == '\t' || b[k] == '\n'))
        k++;
      if (k < n && b[k] != '#')
        g->hostname = vx_guest_str (b + k, n - k);
      free (b);
    }
  if (read_guest_file (root, "/etc/fstab", VX_GUEST_FILE_MAX, false, g, &b, &n) == 0) {
    if (vx_fstab_parse (b, n, &g->fstab, &g->nfstab, &bad) == 0 && bad)
      vx_guest_note (g, "/etc/fstab: %zu line%s not understood, skipped", bad,
                     bad == 1 ? "" : "s");
    free (b);
  }
}

void
vx_inspect_here (const char *root, struct vx_guest *g)
{
  memset (g, 0, sizeof *g);
  if (linux_release (root, g) == 0)
    linux_facts (root, g);
  else {
    char *notes = g->notes;
    g->notes = NULL;
    vx_guest_free (g);     /* what a half-read release file left */
    g->notes = notes;
    vx_inspect_windows (root, g);
  }
}

/* ---- the parent's side -------------------------------------------------- */

static void
limit (int res, rlim_t v)
{
  struct rlimit r = { v, v };
  setrlimit (res, &r);
}

static void __attribute__ ((noreturn))
child (const char *dir, int wfd)
{
  struct vx_guest g;
  unsigned char *msg;
  size_t len;

  limit (RLIMIT_CORE, 0);
  limit (RLIMIT_CPU, 20);
  limit (RLIMIT_FSIZE, 0);
  limit (RLIMIT_NOFILE, 64);
#ifndef VX_ASAN
  limit (RLIMIT_AS, 3ull << 30);
#endif
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  /* libhivex recodes names and strings with iconv, whose configuration and
   * modules live on the host: load them now, held open, before the guest
   * becomes "/" */
  {
    static const char *const pairs[][2] = { { "UTF-8", "UTF-16LE" }, { "UTF-16LE", "UTF-8" },
                                             { "UTF-8", "LATIN1" }, { "LATIN1", "UTF-8" } };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
      (void) iconv_open (pairs[i][0], pairs[i][1]);
  }
  if (chroot (dir) == -1 || chdir ("/") == -1)
    _exit (3);
  vx_inspect_here ("/", &g);
  if (vx_guest_encode (&g, &msg, &len) == -1)
    _exit (4);
  if (vx_full_write (wfd, msg, len) == -1)
    _exit (5);
  _exit (0);
}

static long long
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (long long) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int
vx_inspect_root (const char *dir, unsigned timeout_ms, struct vx_guest *g, char *err,
                 size_t errlen)
{
  int p[2], status;
  pid_t pid;
  unsigned char *buf = NULL;
  size_t len = 0;
  long long deadline;
  bool timed_out = false, too_big = false;
  const char *why;

  memset (g, 0, sizeof *g);
  if (!timeout_ms)
    timeout_ms = 30000;
  if (!(buf = malloc (MSG_MAX))) {
    snprintf (err, errlen, "out of memory");
    return -1;
  }
  if (pipe2 (p, O_CLOEXEC) == -1) {
    snprintf (err, errlen, "pipe: %s", strerror (errno));
    free (buf);
    return -1;
  }
  pid = fork ();
  if (pid == -1) {
    snprintf (err, errlen, "fork: %s", strerror (errno));
    close (p[0]);
    close (p[1]);
    free (buf);
    return -1;
  }
  if (pid == 0) {
    close (p[0]);
    child (dir, p[1]);
  }
  close (p[1]);
  deadline = now_ms () + timeout_ms;
  for (;;) {
    struct pollfd pfd = { p[0], POLLIN, 0 };
    long long left = deadline - now_ms ();
    ssize_t r;
    if (left <= 0) {
      timed_out = true;
      break;
    }
    if (poll (&pfd, 1, (int) left) == -1) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (!pfd.revents)
      continue;
    if (len == MSG_MAX) {
      too_big = true;
      break;
    }
    r = read (p[0], buf + len, MSG_MAX - len);
    if (r == -1 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    len += (size_t) r;
  }
  close (p[0]);
  if (timed_out || too_big)
    kill (pid, SIGKILL);
  while (waitpid (pid, &status, 0) == -1 && errno == EINTR)
    ;
  if (timed_out)
    snprintf (err, errlen, "inspecting %s took longer than %u ms: stopped", dir, timeout_ms);
  else if (too_big)
    snprintf (err, errlen, "inspecting %s: the inspection's answer is too long", dir);
  else if (WIFSIGNALED (status))
    snprintf (err, errlen, "inspecting %s: the inspection process was killed by signal %d%s",
              dir, WTERMSIG (status),
              WTERMSIG (status) == SIGXCPU ? " (CPU time limit)" : "");
  else if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    snprintf (err, errlen, "inspecting %s: the inspection process failed (status %d%s)", dir,
              WEXITSTATUS (status), WEXITSTATUS (status) == 3 ? ": cannot chroot" : "");
  else if (vx_guest_decode (buf, len, g, &why) == -1)
    snprintf (err, errlen, "inspecting %s: bad answer from the inspection process: %s", dir,
              why);
  else {
    free (buf);
    return 0;
  }
  free (buf);
  return -1;
}

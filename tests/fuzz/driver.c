/* tests/fuzz/driver.c: main() for a harness built without libFuzzer (the
 * gcc builds of make check, plain and with the sanitizers).
 *
 *   fuzz-NAME [-v] [-t SECONDS] [-m MB] FILE|DIR...
 *
 * Feeds every FILE, and every regular file in each DIR (in name order,
 * not recursively), to LLVMFuzzerTestOneInput, as libFuzzer does when
 * given files instead of a corpus to grow.  A harness's check or a
 * sanitizer aborts the run on the input at fault; with -v each input's
 * name goes to stderr before it runs, so the last one named is it.  As
 * libFuzzer's -timeout and -rss_limit_mb, an input that runs longer than
 * SECONDS (default 60) or leaves the process's peak memory above MB
 * (default 2048) fails the run, naming the input (exit 70 or 71).  Prints
 * "N inputs" at the end; exits 1 if a name cannot be read, and 2 if no
 * input was found at all (an empty corpus replays nothing: a defect).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fullio.h"
#include "fuzz.h"

static bool verbose;
static unsigned long ninputs;
static unsigned timeout_s = 60, limit_mb = 2048;
static char alarm_msg[4200];   /* names the input running */

static void
on_alarm (int sig)
{
  (void) sig;
  if (write (2, alarm_msg, strlen (alarm_msg)) < 0)
    _exit (70);
  _exit (70);
}

/* The whole file (at least one byte allocated); NULL with errno. */
static char *
slurp (const char *path, size_t *len)
{
  struct stat st;
  char *data = NULL;
  ssize_t n = -1;
  int fd = open (path, O_RDONLY | O_CLOEXEC), e;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) == 0) {
    data = malloc ((size_t) st.st_size + 1);
    if (data)
      n = vx_full_read (fd, data, (size_t) st.st_size);
  }
  e = errno;
  close (fd);
  if (n < 0) {
    free (data);
    errno = e;
    return NULL;
  }
  *len = (size_t) n;
  return data;
}

static int
run_file (const char *path)
{
  struct rusage ru;
  char *data;
  size_t len;

  data = slurp (path, &len);
  if (!data) {
    fprintf (stderr, "%s: %s\n", path, strerror (errno));
    return -1;
  }
  if (verbose)
    fprintf (stderr, "running %s (%zu bytes)\n", path, len);
  snprintf (alarm_msg, sizeof alarm_msg,
            "fuzz driver: %s: time limit of %u s exceeded\n", path, timeout_s);
  alarm (timeout_s);
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  alarm (0);
  free (data);
  ninputs++;
  if (getrusage (RUSAGE_SELF, &ru) == 0 && (unsigned long) ru.ru_maxrss / 1024 > limit_mb) {
    fprintf (stderr, "fuzz driver: %s: peak memory %ld MB exceeds %u MB\n",
             path, ru.ru_maxrss / 1024, limit_mb);
    exit (71);
  }
  return 0;
}

static int
name_cmp (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static int
run_dir (const char *dir)
{
  struct dirent **ents;
  int n, r = 0;

  n = scandir (dir, &ents, NULL, name_cmp);
  if (n < 0) {
    fprintf (stderr, "%s: %s\n", dir, strerror (errno));
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char *path;
    struct stat st;

    if (ents[i]->d_name[0] != '.'
        && asprintf (&path, "%s/%s", dir, ents[i]->d_name) >= 0) {
      if (stat (path, &st) == 0 && S_ISREG (st.st_mode) && run_file (path) == -1)
        r = -1;
      free (path);
    }
    free (ents[i]);
  }
  free (ents);
  return r;
}

int
main (int argc, char **argv)
{
  int r = 0, i, opt;

  while ((opt = getopt (argc, argv, "vt:m:")) != -1) {
    switch (opt) {
    case 'v': verbose = true; break;
    case 't': timeout_s = (unsigned) atoi (optarg); break;
    case 'm': limit_mb = (unsigned) atoi (optarg); break;
    default: goto usage;
    }
  }
  if (optind == argc || timeout_s == 0 || limit_mb == 0)
    goto usage;
  signal (SIGALRM, on_alarm);
  i = optind;
  for (; i < argc; i++) {
    struct stat st;

    if (stat (argv[i], &st) == -1) {
      fprintf (stderr, "%s: %s\n", argv[i], strerror (errno));
      r = 1;
    }
    else if ((S_ISDIR (st.st_mode) ? run_dir (argv[i]) : run_file (argv[i])) == -1)
      r = 1;
  }
  printf ("%lu inputs\n", ninputs);
  return r ? r : ninputs ? 0 : 2;

 usage:
  fprintf (stderr, "usage: %s [-v] [-t SECONDS] [-m MB] FILE|DIR...\n", argv[0]);
  return 1;
}

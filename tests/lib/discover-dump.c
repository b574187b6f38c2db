/* tests/discover: prints the volumes vx_discover() finds as JSON lines.
 *
 *   discover [-n] [-j THREADS] IMG...   disk i is IMG i; one JSON object per
 *                                       volume on stdout, warnings on stderr
 *                                       as "warning: ..." lines; on failure
 *                                       "error: MESSAGE" and exit status 1
 *   discover -a FSTYPE...               "FSTYPE yes|no" per vx_fstype_allowed
 *
 * -n passes no sizes (vx_discover takes them from the files); otherwise the
 * sizes are the files' (or block devices') sizes.  -j N runs N discoveries
 * of the same set at once in N threads and fails unless all print the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "json.h"
#include "volume.h"

static const char *const kinds[] = {
  [VX_VOL_WHOLE_DISK] = "whole",
  [VX_VOL_MBR_PRIMARY] = "primary",
  [VX_VOL_MBR_EXTENDED] = "extended",
  [VX_VOL_MBR_LOGICAL] = "logical",
  [VX_VOL_GPT] = "gpt",
  [VX_VOL_LVM] = "lvm",
};

struct job {
  const char *const *paths;
  const uint64_t *sizes;
  size_t n;
  char *out, *err;               /* malloc'd; err is the warnings or error */
  int rc;
};

static void *
run (void *arg)
{
  struct job *j = arg;
  struct vx_volume *v = NULL;
  size_t nv = 0, i, k, len;
  char errbuf[4096];
  FILE *f;

  j->rc = vx_discover (j->paths, j->sizes, j->n, &v, &nv, errbuf, sizeof errbuf);
  j->err = strdup (errbuf);
  f = open_memstream (&j->out, &len);
  if (!f || !j->err) {
    perror ("discover");
    exit (2);
  }
  for (i = 0; i < nv; i++) {
    fprintf (f, "{\"name\":");
    vx_json_string (f, v[i].name);
    fprintf (f, ",\"kind\":\"%s\",\"disk\":%u,\"partno\":%d",
             kinds[v[i].kind], v[i].disk, v[i].partno);
    fprintf (f, ",\"offset\":%" PRIu64 ",\"size\":%" PRIu64 ",\"nseg\":%zu,\"seg\":[",
             v[i].nseg ? v[i].seg[0].offset : 0, v[i].size, v[i].nseg);
    for (k = 0; k < v[i].nseg; k++) {
      const struct vx_segment *s = &v[i].seg[k];
      if (s->nstripes == 0) {
        fprintf (f, "%s{\"disk\":%u,\"offset\":%" PRIu64 ",\"length\":%" PRIu64 "}",
                 k ? "," : "", s->disk, s->offset, s->length);
        continue;
      }
      /* striped (LVM): "start" and the stripes too */
      fprintf (f, "%s{\"start\":%" PRIu64 ",\"length\":%" PRIu64 ",\"stripe_size\":%"
               PRIu64 ",\"stripes\":[", k ? "," : "", s->start, s->length, s->stripe_size);
      for (unsigned t = 0; t < s->nstripes; t++)
        fprintf (f, "%s{\"disk\":%u,\"offset\":%" PRIu64 "}", t ? "," : "",
                 s->stripe[t].disk, s->stripe[t].offset);
      fprintf (f, "]}");
    }
    if (v[i].kind == VX_VOL_LVM) {
      fprintf (f, "],\"file_name\":");
      vx_json_string (f, v[i].file_name);
      fprintf (f, ",\"incomplete\":%s", v[i].incomplete ? "true" : "false");
    }
    else
      fprintf (f, "]");
    fprintf (f, ",\"fstype\":");
    vx_json_string (f, v[i].fstype);
    fprintf (f, ",\"label\":");
    vx_json_string (f, v[i].label);
    fprintf (f, ",\"uuid\":");
    vx_json_string (f, v[i].uuid);
    fprintf (f, ",\"part_type\":");
    vx_json_string (f, v[i].part_type);
    fprintf (f, ",\"part_uuid\":");
    vx_json_string (f, v[i].part_uuid);
    fprintf (f, ",\"part_name\":");
    vx_json_string (f, v[i].part_name);
    fprintf (f, ",\"mountable\":%s,\"why_not\":", v[i].mountable ? "true" : "false");
    vx_json_string (f, v[i].why_not);
    fprintf (f, "}\n");
  }
  fclose (f);
  vx_volumes_free (v, nv);
  return NULL;
}

static uint64_t
size_of (const char *path)
{
  struct stat st;
  uint64_t sz = 0;
  int fd;

  if (stat (path, &st) != 0)
    return 0;                   /* vx_discover reports the missing file */
  if (!S_ISBLK (st.st_mode))
    return st.st_size;
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (ioctl (fd, BLKGETSIZE64, &sz) != 0)
      sz = 0;
    close (fd);
  }
  return sz;
}

int
main (int argc, char **argv)
{
  bool nosizes = false;
  int nthreads = 1, opt, i, rc = 0;
  uint64_t *sizes;
  struct job *jobs;
  pthread_t *tids;

  while ((opt = getopt (argc, argv, "anj:")) != -1) {
    switch (opt) {
    case 'a':
      for (i = optind; i < argc; i++)
        printf ("%s %s\n", argv[i], vx_fstype_allowed (argv[i]) ? "yes" : "no");
      printf ("(null) %s\n", vx_fstype_allowed (NULL) ? "yes" : "no");
      return 0;
    case 'n':
      nosizes = true;
      break;
    case 'j':
      nthreads = atoi (optarg);
      if (nthreads < 1 || nthreads > 64) {
        fprintf (stderr, "discover: -j 1..64\n");
        return 2;
      }
      break;
    default:
      fprintf (stderr, "usage: discover [-n] [-j THREADS] IMG... | -a FSTYPE...\n");
      return 2;
    }
  }

  sizes = calloc (argc, sizeof *sizes);
  jobs = calloc (nthreads, sizeof *jobs);
  tids = calloc (nthreads, sizeof *tids);
  if (!sizes || !jobs || !tids) {
    perror ("discover");
    return 2;
  }
  for (i = optind; i < argc; i++)
    sizes[i - optind] = size_of (argv[i]);
  for (i = 0; i < nthreads; i++) {
    jobs[i].paths = (const char *const *) argv + optind;
    jobs[i].sizes = nosizes ? NULL : sizes;
    jobs[i].n = argc - optind;
    if (pthread_create (&tids[i], NULL, run, &jobs[i]) != 0) {
      fprintf (stderr, "discover: pthread_create failed\n");
      return 2;
    }
  }
  for (i = 0; i < nthreads; i++)
    pthread_join (tids[i], NULL);
  for (i = 1; i < nthreads; i++)
    if (jobs[i].rc != jobs[0].rc || strcmp (jobs[i].out, jobs[0].out) != 0 ||
        strcmp (jobs[i].err, jobs[0].err) != 0) {
      fprintf (stderr, "discover: thread %d got a different result\n", i);
      rc = 3;
    }

  if (jobs[0].rc != 0) {
    fprintf (stderr, "error: %s\n", jobs[0].err);
    if (!rc)
      rc = 1;
  }
  else {
    char *line, *save = NULL;
    fputs (jobs[0].out, stdout);
    for (line = strtok_r (jobs[0].err, "\n", &save); line;
         line = strtok_r (NULL, "\n", &save))
      fprintf (stderr, "warning: %s\n", line);
  }
  for (i = 0; i < nthreads; i++) {
    free (jobs[i].out);
    free (jobs[i].err);
  }
  free (jobs);
  free (tids);
  free (sizes);
  return rc;
}

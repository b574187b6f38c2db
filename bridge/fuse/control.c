/* vixmount-fuse: parsing .control lines into commands (see control.h). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "parse.h"

const char *
vfile_name_problem (const char *name)
{
  size_t len = strlen (name);

  if (len == 0)
    return "empty name";
  if (len > VX_NAME_MAX)
    return "name longer than 255 bytes";
  if (name[0] == '.')
    return "name starts with '.'";
  if (strchr (name, '/'))
    return "name contains '/'";
  return NULL;
}

char *
control_next_line (char **pos)
{
  char *line = *pos, *nl;
  size_t n;

  if (line == NULL || *line == '\0')
    return NULL;
  nl = strchr (line, '\n');
  if (nl) {
    *nl = '\0';
    *pos = nl + 1;
  }
  else
    *pos = line + strlen (line);
  n = strlen (line);
  if (n > 0 && line[n - 1] == '\r')
    line[n - 1] = '\0';
  return line;
}

/* Splits LINE (modified) into at most MAX words; returns the count, or
 * MAX + 1 if there are more. */
static size_t
split_words (char *line, char **w, size_t max)
{
  size_t n = 0;
  char *save = NULL, *t;

  for (t = strtok_r (line, " \t", &save); t; t = strtok_r (NULL, " \t", &save)) {
    if (n == max)
      return max + 1;
    w[n++] = t;
  }
  return n;
}

static int
parse_add (char **w, size_t n, struct control_cmd *cmd, const char **why)
{
  if (n != 5) {
    *why = "usage: add NAME BASE OFFSET LENGTH";
    return EINVAL;
  }
  *why = vfile_name_problem (w[1]);
  if (*why)
    return EINVAL;
  if (vx_parse_u64 (w[3], &cmd->offset) == -1
      || vx_parse_u64 (w[4], &cmd->length) == -1) {
    *why = errno == ERANGE
      ? "OFFSET or LENGTH out of range (more than 2^64 - 1)"
      : "OFFSET and LENGTH must be unsigned numbers (decimal or 0x hex)";
    return EINVAL;
  }
  cmd->op = CONTROL_ADD;
  cmd->name = w[1];
  cmd->base = w[2];
  return 0;
}

void
control_cmd_clear (struct control_cmd *cmd)
{
  vx_segments_free (cmd->seg, cmd->nseg);
  free (cmd->bases);
  cmd->seg = NULL;
  cmd->bases = NULL;
  cmd->nseg = cmd->nbases = 0;
}

/* The index of BASE in cmd->bases (added if new), or -1 (no memory). */
static long
base_index (struct control_cmd *cmd, const char *base)
{
  const char **b;
  size_t i;

  for (i = 0; i < cmd->nbases; i++)
    if (strcmp (cmd->bases[i], base) == 0)
      return (long) i;
  b = realloc (cmd->bases, (cmd->nbases + 1) * sizeof *b);
  if (!b)
    return -1;
  cmd->bases = b;
  b[cmd->nbases] = base;
  return (long) cmd->nbases++;
}

/* One number word; sets *why on failure. */
static int
number (const char *w, uint64_t *v, const char **why)
{
  if (vx_parse_u64 (w, v) == 0)
    return 0;
  *why = errno == ERANGE ? "a number out of range (more than 2^64 - 1)"
    : "LENGTH, N, CHUNK and OFFSET must be unsigned numbers (decimal or 0x hex)";
  return -1;
}

/* compose NAME PIECE...: W[0..N) are the line's words. */
static int
parse_compose (char **w, size_t n, struct control_cmd *cmd, const char **why)
{
  static const char usage[] = "usage: compose NAME (linear LENGTH BASE OFFSET | "
    "striped LENGTH N CHUNK BASE OFFSET...)...";
  uint64_t pos = 0, size;
  size_t i = 2;

  if (n < 3) {
    *why = usage;
    return EINVAL;
  }
  if ((*why = vfile_name_problem (w[1])) != NULL)
    return EINVAL;
  cmd->op = CONTROL_COMPOSE;
  cmd->name = w[1];
  while (i < n) {
    struct vx_segment *s, *ns;
    uint64_t k, nst = 0;
    long b;
    bool striped = strcmp (w[i], "striped") == 0;

    if (!striped && strcmp (w[i], "linear") != 0) {
      *why = "a piece starts with \"linear\" or \"striped\"";
      goto bad;
    }
    if (cmd->nseg == VX_COMPOSE_MAX_PIECES) {
      *why = "more than 65536 pieces";
      goto bad;
    }
    ns = realloc (cmd->seg, (cmd->nseg + 1) * sizeof *ns);
    if (!ns) {
      *why = "out of memory";
      goto bad;
    }
    cmd->seg = ns;
    s = &cmd->seg[cmd->nseg++];
    memset (s, 0, sizeof *s);
    s->start = pos;
    if (!striped) {
      if (n - i < 4) {
        *why = usage;
        goto bad;
      }
      if (number (w[i + 1], &s->length, why) < 0 || number (w[i + 3], &s->offset, why) < 0
          || (b = base_index (cmd, w[i + 2])) < 0)
        goto bad_or_oom;
      s->disk = (unsigned) b;
      i += 4;
    }
    else {
      if (n - i < 4 || number (w[i + 2], &nst, why) < 0) {
        if (!*why)
          *why = usage;
        goto bad;
      }
      if (nst < 2 || nst > VX_MAX_STRIPES) {
        *why = "a striped piece has 2 to 128 stripes";
        goto bad;
      }
      if (n - i < 4 + 2 * nst) {
        *why = usage;
        goto bad;
      }
      if (number (w[i + 1], &s->length, why) < 0 || number (w[i + 3], &s->stripe_size, why) < 0)
        goto bad;
      s->nstripes = (unsigned) nst;
      s->stripe = calloc (nst, sizeof *s->stripe);
      if (!s->stripe) {
        *why = "out of memory";
        goto bad;
      }
      for (k = 0; k < nst; k++) {
        if ((b = base_index (cmd, w[i + 4 + 2 * k])) < 0
            || number (w[i + 5 + 2 * k], &s->stripe[k].offset, why) < 0)
          goto bad_or_oom;
        s->stripe[k].disk = (unsigned) b;
      }
      i += 4 + 2 * nst;
    }
    if (__builtin_add_overflow (pos, s->length, &pos)) {
      *why = "the file would be larger than 2^64 - 1 bytes";
      goto bad;
    }
  }
  if (vx_segments_check (cmd->seg, cmd->nseg, cmd->nbases, NULL, &size, why) < 0)
    goto bad;
  return 0;

 bad_or_oom:
  if (!*why)
    *why = "out of memory";
 bad:
  control_cmd_clear (cmd);
  cmd->op = CONTROL_BLANK;
  return EINVAL;
}

/* Every word of LINE (modified), malloc'd; NULL when out of memory. */
static char **
all_words (char *line, size_t *n)
{
  size_t max = strlen (line) / 2 + 2;
  char **w = malloc (max * sizeof *w);

  if (w)
    *n = split_words (line, w, max);
  return w;
}

int
control_parse_line (char *line, struct control_cmd *cmd, const char **why)
{
  char *w[6];
  size_t n;

  memset (cmd, 0, sizeof *cmd);
  *why = NULL;
  n = strspn (line, " \t");
  if (strncmp (line + n, "compose", 7) == 0 &&
      (line[n + 7] == '\0' || line[n + 7] == ' ' || line[n + 7] == '\t')) {
    char **all = all_words (line, &n);
    int r;

    if (!all) {
      *why = "out of memory";
      return ENOMEM;
    }
    r = parse_compose (all, n, cmd, why);
    free (all);
    return r;
  }
  n = split_words (line, w, 5);
  if (n == 0)
    return 0;                   /* CONTROL_BLANK */
  if (strcmp (w[0], "add") == 0)
    return parse_add (w, n, cmd, why);
  if (strcmp (w[0], "remove") == 0) {
    if (n != 2) {
      *why = "usage: remove NAME";
      return EINVAL;
    }
    cmd->op = CONTROL_REMOVE;
    cmd->name = w[1];
    return 0;
  }
  *why = "unknown command (expected add, compose or remove)";
  return EINVAL;
}

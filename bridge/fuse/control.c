/* vixmount-fuse: parsing .control lines into commands (see control.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "parse.h"
#include "segtext.h"

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
base_index (void *opaque, const char *base, const char **why)
{
  struct control_cmd *cmd = opaque;
  const char **b;
  size_t i;

  (void) why;                   /* any word names a file */
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

/* compose NAME PIECE...: W[0..N) are the line's words; the pieces are
 * common/utils/segtext.h's. */
static int
parse_compose (char **w, size_t n, struct control_cmd *cmd, const char **why)
{
  static const char usage[] = "usage: compose NAME (linear LENGTH BASE OFFSET | "
    "striped LENGTH N CHUNK BASE OFFSET...)...";

  if (n < 3) {
    *why = usage;
    return EINVAL;
  }
  if ((*why = vfile_name_problem (w[1])) != NULL)
    return EINVAL;
  cmd->op = CONTROL_COMPOSE;
  cmd->name = w[1];
  if (vx_pieces_parse (w + 2, n - 2, VX_COMPOSE_MAX_PIECES, base_index, cmd, SIZE_MAX,
                       usage, &cmd->seg, &cmd->nseg, why) == 0)
    return 0;
  control_cmd_clear (cmd);
  cmd->op = CONTROL_BLANK;
  return EINVAL;
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
    char **all = vx_all_words (line, &n);
    int r;

    if (!all) {
      *why = "out of memory";
      return ENOMEM;
    }
    r = parse_compose (all, n, cmd, why);
    free (all);
    return r;
  }
  n = vx_split_words (line, w, 5);
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

/* vixmount-fuse: parsing .control lines into commands (see control.h). */
#include <errno.h>
#include <stddef.h>
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

int
control_parse_line (char *line, struct control_cmd *cmd, const char **why)
{
  char *w[6];
  size_t n = split_words (line, w, 5);

  memset (cmd, 0, sizeof *cmd);
  *why = NULL;
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
  *why = "unknown command (expected add or remove)";
  return EINVAL;
}

/* tests/fuzz/fuzz-control: the .control language of vixmount-fuse
 * (bridge/fuse/control.c): a write split into lines, each parsed into a
 * command, as files.c does it (a write holding a NUL byte is refused
 * before parsing, so such inputs stop here too).  Every line is parsed,
 * also after a bad one, to reach more of them. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "fuzz.h"
#include "segment.h"

static bool
inside (const char *p, const char *buf, size_t len)
{
  return p >= buf && p < buf + len;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *copy, *pos, *line;

  if (memchr (data, '\0', size))
    return 0;
  copy = strndup ((const char *) data, size);
  FUZZ_CHECK (copy != NULL);
  pos = copy;
  while ((line = control_next_line (&pos)) != NULL) {
    struct control_cmd cmd;
    const char *why = NULL;
    int r;

    FUZZ_CHECK (inside (line, copy, size) && strchr (line, '\n') == NULL);
    r = control_parse_line (line, &cmd, &why);
    if (r != 0) {
      FUZZ_CHECK (r == EINVAL && why != NULL && why[0] != '\0');
      continue;
    }
    switch (cmd.op) {
    case CONTROL_BLANK:
      break;
    case CONTROL_ADD:
      FUZZ_CHECK (inside (cmd.base, copy, size) && cmd.base[0] != '\0');
      /* fall through */
    case CONTROL_REMOVE:
      FUZZ_CHECK (inside (cmd.name, copy, size) && cmd.name[0] != '\0');
      FUZZ_CHECK (strpbrk (cmd.name, " \t") == NULL);
      if (cmd.op == CONTROL_ADD)
        FUZZ_CHECK (vfile_name_problem (cmd.name) == NULL);
      break;
    case CONTROL_COMPOSE:
      /* a volume of pieces: a good name, pieces contiguous from 0, each
       * naming one of the bases, every base a word of the line */
      FUZZ_CHECK (inside (cmd.name, copy, size) && vfile_name_problem (cmd.name) == NULL);
      FUZZ_CHECK (cmd.nseg > 0 && cmd.seg != NULL && cmd.nbases > 0 && cmd.bases != NULL);
      for (size_t i = 0, at = 0; i < cmd.nseg; at += cmd.seg[i].length, i++) {
        FUZZ_CHECK (cmd.seg[i].start == at && cmd.seg[i].length > 0);
        if (cmd.seg[i].nstripes == 0)
          FUZZ_CHECK (cmd.seg[i].disk < cmd.nbases);
        for (unsigned k = 0; k < cmd.seg[i].nstripes; k++)
          FUZZ_CHECK (cmd.seg[i].stripe[k].disk < cmd.nbases);
      }
      for (size_t b = 0; b < cmd.nbases; b++)
        FUZZ_CHECK (inside (cmd.bases[b], copy, size) && cmd.bases[b][0] != '\0');
      control_cmd_clear (&cmd);
      break;
    default:
      FUZZ_CHECK (!"unknown command");
    }
  }
  FUZZ_CHECK (*pos == '\0');
  free (copy);
  return 0;
}

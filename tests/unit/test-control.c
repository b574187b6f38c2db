/* tests/unit/test-control: the .control language of vixmount-fuse
 * (bridge/fuse/control.h): lines, words, numbers, names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "tap.h"

/* Parses a copy of TEXT (one line); returns the result, *cmd and *why. */
static int
parse (const char *text, struct control_cmd *cmd, const char **why, char **keep)
{
  *keep = strdup (text);
  if (*keep == NULL)
    abort ();
  return control_parse_line (*keep, cmd, why);
}

/* LINE must fail; the reason must contain WANT. */
static void
refused (const char *line, const char *want, const char *what)
{
  struct control_cmd cmd;
  const char *why = NULL;
  char *copy;

  is_int (parse (line, &cmd, &why, &copy), EINVAL, "%s: EINVAL", what);
  ok (why != NULL && strstr (why, want) != NULL, "%s: reason says \"%s\"", what, want);
  if (why == NULL || strstr (why, want) == NULL)
    printf ("#   reason: %s\n", why ? why : "(none)");
  free (copy);
}

static void
accepted_add (const char *line, const char *name, const char *base,
              uint64_t offset, uint64_t length, const char *what)
{
  struct control_cmd cmd;
  const char *why = NULL;
  char *copy;

  is_int (parse (line, &cmd, &why, &copy), 0, "%s: accepted", what);
  is_int (cmd.op, CONTROL_ADD, "%s: add", what);
  is_str (cmd.name, name, "%s: NAME", what);
  is_str (cmd.base, base, "%s: BASE", what);
  is_u64 (cmd.offset, offset, "%s: OFFSET", what);
  is_u64 (cmd.length, length, "%s: LENGTH", what);
  free (copy);
}

static void
test_lines (void)
{
  char text[] = "add a raw 0 1\n\r\nremove a\r\n  \n\t# not a comment\nlast";
  char *pos = text, *line;
  struct control_cmd cmd;
  const char *why;

  line = control_next_line (&pos);
  is_str (line, "add a raw 0 1", "lines: first line");
  line = control_next_line (&pos);
  is_str (line, "", "lines: an empty line (CR dropped) is a line, not the end");
  is_int (control_parse_line (line, &cmd, &why), 0, "lines: empty line accepted");
  is_int (cmd.op, CONTROL_BLANK, "lines: empty line does nothing");
  line = control_next_line (&pos);
  is_str (line, "remove a", "lines: CRLF ending dropped");
  line = control_next_line (&pos);
  is_str (line, "  ", "lines: a line of blanks");
  is_int (control_parse_line (line, &cmd, &why), 0, "lines: blanks accepted");
  is_int (cmd.op, CONTROL_BLANK, "lines: blanks do nothing");
  line = control_next_line (&pos);
  is_str (line, "\t# not a comment", "lines: '#' line read");
  is_int (control_parse_line (line, &cmd, &why), EINVAL, "lines: '#' is no comment");
  line = control_next_line (&pos);
  is_str (line, "last", "lines: the last line without a newline");
  ok (control_next_line (&pos) == NULL, "lines: NULL at the end");
  ok (control_next_line (&pos) == NULL, "lines: and NULL again");

  char one[] = "remove x\n";
  pos = one;
  is_str (control_next_line (&pos), "remove x", "lines: single line");
  ok (control_next_line (&pos) == NULL, "lines: a final newline makes no extra line");
  char none[] = "";
  pos = none;
  ok (control_next_line (&pos) == NULL, "lines: empty write: no line");
}

static void
test_compose (void)
{
  struct control_cmd cmd;
  const char *why = NULL;
  char *copy;

  is_int (parse ("compose vg-lv linear 4096 d0 512 striped 262144 2 65536 d1 1048576 d0 0x200000 "
                 "linear 100 d1 0", &cmd, &why, &copy), 0, "compose: accepted");
  is_int (cmd.op, CONTROL_COMPOSE, "compose: op");
  is_str (cmd.name, "vg-lv", "compose: NAME");
  is_u64 (cmd.nseg, 3, "compose: 3 pieces");
  is_u64 (cmd.nbases, 2, "compose: 2 distinct bases");
  is_str (cmd.nbases ? cmd.bases[1] : NULL, "d1", "compose: bases in order of appearance");
  ok (cmd.nseg == 3 && cmd.seg[0].start == 0 && cmd.seg[0].length == 4096 && cmd.seg[0].disk == 0
      && cmd.seg[0].offset == 512 && cmd.seg[0].nstripes == 0, "compose: a linear piece");
  ok (cmd.nseg == 3 && cmd.seg[1].start == 4096 && cmd.seg[1].nstripes == 2
      && cmd.seg[1].stripe_size == 65536 && cmd.seg[1].stripe[0].disk == 1
      && cmd.seg[1].stripe[0].offset == 1048576 && cmd.seg[1].stripe[1].disk == 0
      && cmd.seg[1].stripe[1].offset == 0x200000, "compose: a striped piece");
  ok (cmd.nseg == 3 && cmd.seg[2].start == 4096 + 262144, "compose: starts add up");
  control_cmd_clear (&cmd);
  ok (cmd.seg == NULL && cmd.bases == NULL, "compose: cleared");
  free (copy);

  refused ("compose", "usage: compose", "compose without words");
  refused ("compose x", "usage: compose", "compose without pieces");
  refused ("compose .x linear 1 d0 0", "name starts with '.'", "compose: a hidden name");
  refused ("compose x mirror 1 d0 0", "a piece starts with", "compose: an unknown piece");
  refused ("compose x linear 1 d0", "usage: compose", "compose: a short linear piece");
  refused ("compose x linear 0 d0 0", "empty segment", "compose: an empty piece");
  refused ("compose x linear 1k d0 0", "unsigned numbers", "compose: a suffix");
  refused ("compose x striped 131072 1 65536 d0 0", "2 to 128 stripes", "compose: one stripe");
  refused ("compose x striped 131072 129 65536 d0 0", "2 to 128 stripes", "compose: 129 stripes");
  refused ("compose x striped 131072 2 65536 d0 0", "usage: compose", "compose: a stripe missing");
  refused ("compose x striped 100000 2 65536 d0 0 d1 0", "not a multiple of stripes x stripe size",
           "compose: a partial row");
  refused ("compose x striped 131072 2 0 d0 0 d1 0", "not a multiple", "compose: chunk 0");
  refused ("compose x linear 18446744073709551615 d0 0 linear 1 d0 0", "larger than 2^64",
           "compose: past 2^64");
  refused ("compose x linear 1 d0 18446744073709551616", "out of range", "compose: a number past 2^64");
}

int
main (void)
{
  test_compose ();
  struct control_cmd cmd;
  const char *why;
  char name255[300], name256[300], *copy;

  accepted_add ("add part raw 1048576 4194304", "part", "raw", 1048576, 4194304,
                "decimal add");
  accepted_add ("add sub part 0x1001 8191", "sub", "part", 0x1001, 8191, "hex offset");
  accepted_add ("  add\tp  disk \t010 0X10  ", "p", "disk", 10, 16,
                "blanks and tabs around words, 010 is ten");
  accepted_add ("add z raw 18446744073709551615 0", "z", "raw", UINT64_MAX, 0,
                "largest OFFSET");
  accepted_add ("add my.file raw 0 0", "my.file", "raw", 0, 0, "dot inside a name");

  is_int (parse ("remove part", &cmd, &why, &copy), 0, "remove: accepted");
  is_int (cmd.op, CONTROL_REMOVE, "remove: op");
  is_str (cmd.name, "part", "remove: NAME");
  free (copy);

  refused ("frobnicate x", "unknown command", "unknown command");
  refused ("ADD x raw 0 1", "unknown command", "commands are lowercase");
  refused ("add", "usage: add", "add without words");
  refused ("add x raw 0", "usage: add", "add with a missing word");
  refused ("add x raw 0 1 2", "usage: add", "add with an extra word");
  refused ("add x raw 0 1 2 3 4 5", "usage: add", "add with many extra words");
  refused ("remove", "usage: remove", "remove without a name");
  refused ("remove a b", "usage: remove", "remove with two names");
  refused ("add x raw -1 2", "unsigned numbers", "negative OFFSET");
  refused ("add x raw 1k 2", "unsigned numbers", "a suffix on OFFSET");
  refused ("add x raw 0 1M", "unsigned numbers", "a suffix on LENGTH");
  refused ("add x raw 0x 2", "unsigned numbers", "0x without digits");
  refused ("add x raw 1.5 2", "unsigned numbers", "a fraction");
  refused ("add x raw +1 2", "unsigned numbers", "a plus sign");
  refused ("add x raw 18446744073709551616 1", "out of range", "OFFSET 2^64");
  refused ("add x raw 0 0x10000000000000000", "out of range", "LENGTH 2^64 in hex");
  refused ("add a/b raw 0 1", "contains '/'", "a name with '/'");
  refused ("add / raw 0 1", "contains '/'", "the name '/'");
  refused ("add .hid raw 0 1", "starts with '.'", "a name starting with '.'");
  refused ("add .. raw 0 1", "starts with '.'", "the name '..'");

  memset (name255, 'n', 255);
  name255[255] = '\0';
  memset (name256, 'n', 256);
  name256[256] = '\0';
  char line[400];
  snprintf (line, sizeof line, "add %s raw 0 1", name255);
  accepted_add (line, name255, "raw", 0, 1, "a 255-byte name");
  snprintf (line, sizeof line, "add %s raw 0 1", name256);
  refused (line, "longer than 255", "a 256-byte name");

  ok (vfile_name_problem ("") != NULL, "name check: empty name refused");
  ok (vfile_name_problem ("disk") == NULL, "name check: plain name good");
  test_lines ();
  return tap_done ();
}

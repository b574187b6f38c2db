/* vixmount-fuse: the language of the .control file, without FUSE.
 *
 * A write to MOUNTPOINT/.control holds lines, each one command:
 *   add NAME BASE OFFSET LENGTH   a file NAME for [OFFSET, OFFSET+LENGTH) of
 *                                 the file BASE
 *   remove NAME                   the file NAME leaves the directory
 * Words are separated by blanks (spaces, tabs); a line may end in CRLF;
 * blank lines do nothing.  OFFSET and LENGTH are numbers in the syntax of
 * common/utils/parse.h (decimal, or hexadecimal after 0x).  Executing a
 * command (files.c) is not this file's job: only the words and the numbers.
 */
#ifndef VIXMOUNT_CONTROL_H
#define VIXMOUNT_CONTROL_H

#include <stdint.h>

#define VX_NAME_MAX    255

enum control_op {
  CONTROL_BLANK,           /* nothing to do */
  CONTROL_ADD,
  CONTROL_REMOVE,
};

struct control_cmd {
  enum control_op op;
  const char *name;        /* both: points into the parsed line */
  const char *base;        /* add */
  uint64_t offset, length; /* add */
};

/* Checks a file name: non-empty, no '/', no leading '.', <= 255 bytes.
 * Returns NULL if good, else the reason. */
const char *vfile_name_problem (const char *name);

/* The next line of the NUL-terminated text at *POS: its newline (and a CR
 * before it) become NULs, *POS moves past it.  NULL when no text is left. */
char *control_next_line (char **pos);

/* Parses LINE (modified: the words are NUL-terminated in place; CMD points
 * into it).  0, or EINVAL with *WHY saying what is wrong. */
int control_parse_line (char *line, struct control_cmd *cmd, const char **why);

#endif

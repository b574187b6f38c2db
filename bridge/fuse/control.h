/* vixmount-fuse: the language of the .control file, without FUSE.
 *
 * A write to MOUNTPOINT/.control holds lines, each one command:
 *   add NAME BASE OFFSET LENGTH   a file NAME for [OFFSET, OFFSET+LENGTH) of
 *                                 the file BASE
 *   remove NAME                   the file NAME leaves the directory
 *   compose NAME PIECE...         a file NAME made of pieces of other files,
 *                                 one after the other (an LVM logical volume):
 *     linear LENGTH BASE OFFSET           LENGTH bytes at OFFSET of BASE
 *     striped LENGTH N CHUNK BASE OFFSET ... (N BASE OFFSET pairs)
 *                                         LENGTH bytes in chunks of CHUNK
 *                                         bytes, round robin over N stripes,
 *                                         stripe k from OFFSET k of BASE k
 *                                         on; LENGTH a multiple of N x CHUNK
 *   (the pieces are the segments of common/utils/segment.h, and read like a
 *   device-mapper table without the start column: "linear" and "striped"
 *   are its targets' names and argument orders, in bytes)
 * Words are separated by blanks (spaces, tabs); a line may end in CRLF;
 * blank lines do nothing.  OFFSET, LENGTH, N and CHUNK are numbers in the
 * syntax of common/utils/parse.h (decimal, or hexadecimal after 0x).  A
 * line must reach the bridge in one write (at most 1 MiB).  Executing a
 * command (files.c) is not this file's job: only the words and the numbers.
 */
#ifndef VIXMOUNT_CONTROL_H
#define VIXMOUNT_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#define VX_NAME_MAX    255
#define VX_COMPOSE_MAX_PIECES 65536

enum control_op {
  CONTROL_BLANK,           /* nothing to do */
  CONTROL_ADD,
  CONTROL_REMOVE,
  CONTROL_COMPOSE,
};

struct control_cmd {
  enum control_op op;
  const char *name;        /* both: points into the parsed line */
  const char *base;        /* add */
  uint64_t offset, length; /* add */
  /* compose: the pieces as segments (start filled in) whose disk is an
   * index into bases[], the distinct BASE names (pointing into the line);
   * both malloc'd: free them with control_cmd_clear */
  struct vx_segment *seg;
  size_t nseg;
  const char **bases;
  size_t nbases;
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
/* Frees what a parsed compose command holds (any command: harmless). */
void control_cmd_clear (struct control_cmd *cmd);

#endif

/* vixmount helpers: a volume's segments (segment.h) as text, both ways, and
 * the volume map file built from them.
 *
 * PIECES: one segment after the other, in bytes, like a device-mapper table
 * without its start column ("linear" and "striped" are its targets' names
 * and argument orders):
 *   linear LENGTH BASE OFFSET             LENGTH bytes at OFFSET of BASE
 *   striped LENGTH N CHUNK BASE OFFSET ...  (N BASE OFFSET pairs) LENGTH
 *                                         bytes in chunks of CHUNK bytes,
 *                                         round robin over N stripes
 * BASE names a disk; what names are allowed is the caller's (the FUSE
 * bridge's compose line: its files, "d0"; the volume map: disk indexes,
 * "0").  Numbers are in the syntax of parse.h.
 *
 * VOLUME MAP (the nbdkit plugin's volumes= file, written by `vixmount
 * serve` and `vixmount list --volume-map`; nbdkit-vmdk-plugin(1) tells
 * it to people): lines of blank-separated words, a line ending in LF or
 * CRLF, at most VX_VOLMAP_MAX_LINE bytes:
 *   # ...                         a comment; blank lines do nothing
 *   volume NAME PIECES            a volume NAME made of PIECES whose BASEs
 *                                 are disk indexes (0 is the first file=)
 *   description NAME TEXT...      what NAME is, shown by nbdinfo --list
 *                                 (after NAME's volume line; the rest of
 *                                 the line, leading blanks dropped)
 * NAME: 1 to 4096 bytes of printable UTF-8 without blanks; '/' is fine
 * (NBD export names: "VG/LV").  Names are unique.  Every volume is checked
 * with vx_segments_check against the disks' sizes, and no two of its bytes
 * may lie on the same byte of a disk (its segments do not overlap).
 */
#ifndef VIXMOUNT_SEGTEXT_H
#define VIXMOUNT_SEGTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "segment.h"

/* Splits LINE (modified: the words are NUL-terminated in place) at blanks
 * (spaces, tabs) into at most MAX words W[]; returns the count, or MAX + 1
 * if there are more. */
size_t vx_split_words (char *line, char **w, size_t max);
/* Every word of LINE (modified) in a malloc'd array; NULL: out of memory. */
char **vx_all_words (char *line, size_t *n);

/* What a BASE word stands for: its disk index, or -1 with *WHY set (NULL
 * *WHY: out of memory). */
typedef long vx_base_fn (void *opaque, const char *word, const char **why);

/* Parses the pieces W[0..N) (at least one, at most MAX_PIECES) into a new
 * array of segments *SEG, *NSEG (start filled in; free with
 * vx_segments_free) whose disks are what BASE said, on NDISKS disks
 * (vx_segments_check, no sizes).  0, or -1 with *WHY (a static string:
 * USAGE when words are missing) and nothing allocated. */
int vx_pieces_parse (char *const *w, size_t n, size_t max_pieces,
                     vx_base_fn *base, void *opaque, size_t ndisks,
                     const char *usage, struct vx_segment **seg, size_t *nseg,
                     const char **why);

/* Writes the pieces of SEG[0..N) to F, each preceded by a space, a disk
 * written as PREFIX and its index ("d" gives "d0"; "" gives "0"). */
void vx_pieces_print (FILE *f, const struct vx_segment *seg, size_t n,
                      const char *prefix);

/* ---- the volume map --------------------------------------------------------- */
#define VX_VOLMAP_MAX_LINE (1024 * 1024)
#define VX_VOLMAP_MAX_NAME 4096
#define VX_VOLMAP_MAX_VOLUMES 65536
#define VX_VOLMAP_MAX_PIECES 65536

struct vx_volmap_volume {
  char *name;
  char *description;         /* NULL: none given */
  struct vx_segment *seg;
  size_t nseg;
  uint64_t size;             /* bytes */
};

struct vx_volmap {
  struct vx_volmap_volume *vol;
  size_t n;
};

/* Parses the map TEXT[0..LEN) for NDISKS disks of DISK_SIZE[] bytes.  0 and
 * *MAP (free with vx_volmap_free), or -1 with *LINE the line that is wrong
 * (1 is the first; 0: not a line's fault) and *WHY the cause (static). */
int vx_volmap_parse (const char *text, size_t len, size_t ndisks,
                     const uint64_t *disk_size, struct vx_volmap *map,
                     size_t *line, const char **why);
void vx_volmap_free (struct vx_volmap *map);

/* Writes one volume's lines (its volume line and, with DESCRIPTION not
 * NULL, its description line, blanks and control characters in it made
 * spaces) to F. */
void vx_volmap_print (FILE *f, const char *name, const char *description,
                      const struct vx_segment *seg, size_t n);

#endif

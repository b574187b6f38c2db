/* vixmount LVM: a PV's label and metadata areas (see lvm.h).
 *
 * The on-disk layout (lvm2's format_text and label code; all integers
 * little-endian):
 *   label_header, in one of sectors 0-3 of the PV (512 bytes each):
 *     0 "LABELONE"  8 sector_xl (where it is)  16 crc_xl (over bytes 20-511)
 *     20 offset_xl (where pv_header starts in the sector)  24 "LVM2 001"
 *   pv_header: 32-byte UUID (no dashes), 8-byte device size, then two lists
 *     of disk_locn {offset, size} (8 + 8 bytes, bytes from the PV's start),
 *     each ended by an entry with offset 0: data areas, metadata areas.
 *   mda_header, 512 bytes at a metadata area's start:
 *     0 checksum (over bytes 4-511)  4 magic " LVM2 x[5A%r0N*>"  20 version 1
 *     24 start (the area's offset)  32 size  40 raw_locn[] {offset, size,
 *     checksum, flags} (8 + 8 + 4 + 4), ended by offset 0; the first is the
 *     current metadata: SIZE bytes (with its NUL) at OFFSET from the area's
 *     start, wrapping from the area's end to just after the header.
 * Checksums are lvm2's CRC (vx_crc32_update from 0xf597a6cf).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "crc32.h"
#include "fullio.h"
#include "lvm.h"

#define SECTOR         512u
#define LABEL_SECTORS  4u
#define LVM_CRC_INIT   0xf597a6cfu
#define MDA_HEADER     512u
#define MDA_MAGIC      " LVM2 x[5A%r0N*>"
#define RAW_LOCN_IGNORED 1u
#define MAX_LOCNS      8u      /* areas per list we look at */

static void __attribute__ ((format (printf, 3, 4)))
msg (char *buf, size_t len, const char *fmt, ...)
{
  va_list ap;

  if (!buf || !len)
    return;
  va_start (ap, fmt);
  vsnprintf (buf, len, fmt, ap);
  va_end (ap);
}

static uint32_t
lvm_crc (const void *p, size_t n)
{
  return vx_crc32_update (LVM_CRC_INIT, p, n);
}

/* LEN bytes at OFF of the PV [pv_off, pv_off + pv_size): 0, 1 if not inside
 * the PV or the file ends first, -1 on an I/O error (errno). */
static int
pv_read (int fd, uint64_t pv_off, uint64_t pv_size, void *buf, size_t len,
         uint64_t off)
{
  ssize_t r;

  if (off > pv_size || len > pv_size - off || pv_off > UINT64_MAX - pv_size)
    return 1;
  r = vx_full_pread (fd, buf, len, pv_off + off);
  if (r < 0)
    return -1;
  return (size_t) r < len ? 1 : 0;
}

/* lvm2's UUID characters, shown 6-4-4-4-4-4-6 with dashes. */
static bool
format_uuid (const unsigned char *raw, char out[VX_LVM_UUID_LEN + 1])
{
  static const int groups[] = { 6, 4, 4, 4, 4, 4, 6 };
  size_t i, g, k = 0, o = 0;

  for (i = 0; i < 32; i++) {
    unsigned char ch = raw[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
          (ch >= 'A' && ch <= 'Z') || ch == '!' || ch == '#'))
      return false;
  }
  for (g = 0; g < 7; g++) {
    if (g)
      out[o++] = '-';
    for (i = 0; i < (size_t) groups[g]; i++)
      out[o++] = (char) raw[k++];
  }
  out[o] = '\0';
  return true;
}

static void
set_mda_error (struct vx_lvm_label *lab, unsigned i, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
set_mda_error (struct vx_lvm_label *lab, unsigned i, const char *fmt, ...)
{
  char text[384];
  va_list ap;

  if (lab->mda_error)
    return;                     /* the first problem is the one told */
  va_start (ap, fmt);
  vsnprintf (text, sizeof text, fmt, ap);
  va_end (ap);
  if (asprintf (&lab->mda_error, "metadata area %u: %s", i + 1, text) < 0)
    lab->mda_error = NULL;
}

/* The first word of a damaged text, if it looks like a VG name: to say
 * which VG the damage is about. */
static void
name_hint (const char *t, size_t len, char *out, size_t outlen)
{
  size_t i = 0, n = 0;

  out[0] = '\0';
  while (i < len && (t[i] == ' ' || t[i] == '\n' || t[i] == '\t'))
    i++;
  while (i + n < len && n + 1 < outlen && t[i + n] &&
         ((t[i + n] >= 'a' && t[i + n] <= 'z') || (t[i + n] >= 'A' && t[i + n] <= 'Z') ||
          (t[i + n] >= '0' && t[i + n] <= '9') || strchr ("+_.-", t[i + n])))
    n++;
  if (n && i + n < len && (t[i + n] == ' ' || t[i + n] == '{')) {
    memcpy (out, t + i, n);
    out[n] = '\0';
  }
}

/* Metadata area I at [aoff, aoff + asize) of the PV.  0 with the text in
 * LAB, 1 if it holds none or is damaged (the reason in lab->mda_error),
 * -1 on an I/O error or out of memory (errno). */
static int
read_mda (int fd, uint64_t pv_off, uint64_t pv_size, unsigned i,
          uint64_t aoff, uint64_t asize, struct vx_lvm_label *lab)
{
  unsigned char h[MDA_HEADER];
  uint64_t start, roff, rsize, first;
  uint32_t sum, rsum, rflags;
  char *text, hint[128];
  int r;

  if (asize < 2 * MDA_HEADER) {
    set_mda_error (lab, i, "size %" PRIu64 " is too small", asize);
    return 1;
  }
  r = pv_read (fd, pv_off, pv_size, h, sizeof h, aoff);
  if (r < 0)
    return -1;
  if (r > 0 || aoff > pv_size || asize > pv_size - aoff) {
    set_mda_error (lab, i, "[%" PRIu64 ", +%" PRIu64 ") lies beyond the end "
                   "of the PV (%" PRIu64 " bytes): truncated?", aoff, asize, pv_size);
    return 1;
  }
  sum = lvm_crc (h + 4, sizeof h - 4);
  if (le32 (h) != sum) {
    set_mda_error (lab, i, "header checksum mismatch (stored 0x%08" PRIx32
                   ", computed 0x%08" PRIx32 ")", le32 (h), sum);
    return 1;
  }
  if (memcmp (h + 4, MDA_MAGIC, 16) != 0 || le32 (h + 20) != 1) {
    set_mda_error (lab, i, "not an LVM2 metadata area header (magic or version)");
    return 1;
  }
  start = le64 (h + 24);
  if (start != aoff) {
    set_mda_error (lab, i, "header says it starts at %" PRIu64 ", the label "
                   "says %" PRIu64, start, aoff);
    return 1;
  }
  roff = le64 (h + 40);
  rsize = le64 (h + 48);
  rsum = le32 (h + 56);
  rflags = le32 (h + 60);
  if (roff == 0)
    return 1;                   /* no metadata: a PV not in a VG */
  if (rflags & RAW_LOCN_IGNORED)
    return 1;                   /* metadataignore: lvm2 does not read it */
  if (roff < MDA_HEADER || roff >= asize || rsize == 0 ||
      rsize > asize - MDA_HEADER) {
    set_mda_error (lab, i, "metadata text at %" PRIu64 " (%" PRIu64 " bytes) "
                   "does not fit the area (%" PRIu64 " bytes)", roff, rsize, asize);
    return 1;
  }
  if (rsize > VX_LVM_MAX_TEXT) {
    set_mda_error (lab, i, "metadata text of %" PRIu64 " bytes (limit %u)",
                   rsize, VX_LVM_MAX_TEXT);
    return 1;
  }
  text = malloc (rsize + 1);
  if (!text)
    return -1;
  first = rsize <= asize - roff ? rsize : asize - roff;
  r = pv_read (fd, pv_off, pv_size, text, first, aoff + roff);
  if (r == 0 && first < rsize)  /* wrapped round to just after the header */
    r = pv_read (fd, pv_off, pv_size, text + first, rsize - first,
                 aoff + MDA_HEADER);
  if (r != 0) {
    free (text);
    if (r < 0)
      return -1;
    set_mda_error (lab, i, "metadata text lies beyond the end of the disk: truncated?");
    return 1;
  }
  text[rsize] = '\0';
  sum = lvm_crc (text, rsize);
  if (sum != rsum) {
    name_hint (text, rsize, hint, sizeof hint);
    set_mda_error (lab, i, "%s%s%smetadata text checksum mismatch (stored "
                   "0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                   hint[0] ? "VG " : "", hint, hint[0] ? ": " : "", rsum, sum);
    free (text);
    return 1;
  }
  lab->text = text;
  lab->text_len = strnlen (text, rsize);
  return 0;
}

void
vx_lvm_label_clear (struct vx_lvm_label *lab)
{
  free (lab->text);
  free (lab->mda_error);
  memset (lab, 0, sizeof *lab);
}

int
vx_lvm_read_label (int fd, uint64_t off, uint64_t size,
                   struct vx_lvm_label *lab, char *err, size_t errlen)
{
  unsigned char buf[LABEL_SECTORS * SECTOR], *sec = NULL, *p, *end;
  uint64_t mda_off[MAX_LOCNS], mda_size[MAX_LOCNS];
  unsigned i, nmda = 0, list;
  size_t have;
  uint32_t crc, hoff;
  ssize_t r;

  memset (lab, 0, sizeof *lab);
  if (err && errlen)
    err[0] = '\0';
  have = size < sizeof buf ? (size_t) size : sizeof buf;
  if (off > UINT64_MAX - size)
    return 1;
  r = vx_full_pread (fd, buf, have, off);
  if (r < 0) {
    msg (err, errlen, "reading the LVM label: %s", strerror (errno));
    return -1;
  }
  have = (size_t) r;
  for (i = 0; i + 1 <= have / SECTOR; i++)
    if (memcmp (buf + i * SECTOR, "LABELONE", 8) == 0) {
      sec = buf + i * SECTOR;
      break;
    }
  if (!sec)
    return 1;
  if (le64 (sec + 8) != i) {
    msg (err, errlen, "LVM label in sector %u says it is in sector %" PRIu64, i,
         le64 (sec + 8));
    return -1;
  }
  crc = lvm_crc (sec + 20, SECTOR - 20);
  if (le32 (sec + 16) != crc) {
    msg (err, errlen, "LVM label checksum mismatch (stored 0x%08" PRIx32
         ", computed 0x%08" PRIx32 ")", le32 (sec + 16), crc);
    return -1;
  }
  if (memcmp (sec + 24, "LVM2 001", 8) != 0) {
    msg (err, errlen, "LVM label of an unknown type (not \"LVM2 001\")");
    return -1;
  }
  hoff = le32 (sec + 20);
  if (hoff < 32 || hoff > SECTOR - 40) {
    msg (err, errlen, "LVM label: pv_header offset %" PRIu32 " out of the sector",
         hoff);
    return -1;
  }
  p = sec + hoff;
  end = sec + SECTOR;
  if (!format_uuid (p, lab->pv_uuid)) {
    msg (err, errlen, "LVM label: PV UUID with invalid characters");
    return -1;
  }
  lab->dev_size = le64 (p + 32);
  p += 40;
  /* list 0: data areas (the first gives pe_start), list 1: metadata areas */
  for (list = 0; list < 2; list++) {
    unsigned count = 0;
    for (;;) {
      uint64_t o, s;
      if (end - p < 16) {
        msg (err, errlen, "LVM label: %s area list runs past the label sector",
             list ? "metadata" : "data");
        return -1;
      }
      o = le64 (p);
      s = le64 (p + 8);
      p += 16;
      if (o == 0)
        break;
      if (list == 0 && count == 0)
        lab->pe_start = o;
      if (list == 1 && nmda < MAX_LOCNS) {
        mda_off[nmda] = o;
        mda_size[nmda++] = s;
      }
      count++;
    }
  }
  lab->nmda = nmda;
  for (i = 0; i < nmda; i++) {
    int m = read_mda (fd, off, size, i, mda_off[i], mda_size[i], lab);
    if (m < 0) {
      msg (err, errlen, "reading LVM metadata area %u: %s", i + 1, strerror (errno));
      vx_lvm_label_clear (lab);
      return -1;
    }
    if (m == 0)
      break;                    /* the first good copy */
  }
  return 0;
}

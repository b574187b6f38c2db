/* vixmount: LVM2 volume groups read from their physical volumes.
 *
 * lvm2 ships no library, and the host's lvm tools must never see guest
 * disks (they would read and write the host's LVM state), so the on-disk
 * format is read here, byte by byte, treating every byte as hostile:
 *
 *   label.c   a PV's label (LABELONE in one of its first four sectors, with
 *             lvm2's CRC), its pv_header (UUID, size, data and metadata
 *             areas) and each metadata area's mda_header and raw_locn: the
 *             current metadata text, read from the circular buffer (it may
 *             wrap) and checked against its CRC;
 *   config.c  lvm2's text configuration format (sections, key = value,
 *             strings, integers, arrays, comments): a bounded recursive
 *             descent parser into a tree;
 *   vg.c      that tree as a volume group: its PVs, LVs, segments and areas,
 *             every name, count and extent checked;
 *   map.c     an LV's data as a list of segments on the set's disks
 *             (common/utils/segment.h: linear and striped; mirror and raid1
 *             from one complete leg), or why it cannot be composed (thin,
 *             snapshot, cache, ... not supported; a PV missing from the set);
 *   scan.c    a disk set: the PVs discovery found, grouped into VGs (the
 *             newest metadata copy wins), each VG's PVs located by UUID.
 *
 * Sizes in the metadata are in 512-byte sectors (extent_size, pe_start,
 * stripe_size) or extents; everything this interface returns is in bytes.
 * No global state; nothing here writes anything.
 */
#ifndef VIXMOUNT_LVM_H
#define VIXMOUNT_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "segment.h"

#define VX_LVM_UUID_LEN   38            /* 32 characters and 6 dashes */
#define VX_LVM_MAX_TEXT   (16u << 20)   /* the most metadata text read */
#define VX_LVM_MAX_DEPTH  16            /* sections nested in the text */

/* ---- label.c ------------------------------------------------------------ */

struct vx_lvm_label {
  char pv_uuid[VX_LVM_UUID_LEN + 1];   /* "xxxxxx-xxxx-...", as pvs shows it */
  uint64_t dev_size;         /* bytes, as the pv_header says */
  uint64_t pe_start;         /* bytes: the first data area's offset (0: none) */
  unsigned nmda;             /* metadata areas the label lists */
  char *text;                /* the current metadata text (NUL-terminated),
                                or NULL: no area holds one */
  size_t text_len;
  char *mda_error;           /* the first problem met in a metadata area
                                (NULL: none), e.g. a checksum mismatch */
};

/* Reads the LVM2 label of the PV at [OFF, OFF + SIZE) of FD, then its
 * metadata areas.  1: no LVM2 label there; 0: a label (LAB filled; text may
 * be NULL, with mda_error saying why if an area was damaged); -1: a read
 * error or a label that cannot be trusted, ERR saying what.  Free LAB with
 * vx_lvm_label_clear. */
int vx_lvm_read_label (int fd, uint64_t off, uint64_t size,
                       struct vx_lvm_label *lab, char *err, size_t errlen);
void vx_lvm_label_clear (struct vx_lvm_label *lab);

/* ---- config.c ----------------------------------------------------------- */

enum vx_lvm_vtype { VX_LVM_INT, VX_LVM_FLOAT, VX_LVM_STR };

struct vx_lvm_value {
  enum vx_lvm_vtype type;
  int64_t i;                 /* VX_LVM_INT */
  char *s;                   /* VX_LVM_STR (unescaped) */
};

struct vx_lvm_node {
  char *key;                 /* NULL for the root */
  bool section;              /* KEY { ... } */
  struct vx_lvm_node *child; /* a section's first entry */
  struct vx_lvm_node *next;  /* the next entry of the same section */
  bool array;                /* KEY = [ ... ] (else KEY = VALUE, nv == 1) */
  struct vx_lvm_value *v;
  size_t nv;
  unsigned line;             /* where it starts in the text, for messages */
};

/* Parses LEN bytes of TEXT (a NUL ends it early).  The root section, or
 * NULL with ERR saying what and on which line. */
struct vx_lvm_node *vx_lvm_config_parse (const char *text, size_t len,
                                         char *err, size_t errlen);
void vx_lvm_config_free (struct vx_lvm_node *root);
/* The first entry KEY of section SEC, or NULL. */
const struct vx_lvm_node *vx_lvm_config_get (const struct vx_lvm_node *sec,
                                             const char *key);

/* ---- vg.c --------------------------------------------------------------- */

struct vx_lvm_pv {
  char *name;                /* "pv0": what segments refer to */
  char uuid[VX_LVM_UUID_LEN + 1];
  char *device;              /* the guest's device name (a hint) or NULL */
  uint64_t pe_start;         /* sectors */
  uint64_t pe_count;         /* extents */
  bool missing;              /* the metadata flags it MISSING */
  /* set by vx_lvm_scan (or a test): where the PV's device is */
  bool found;
  unsigned disk;
  uint64_t offset, size;     /* bytes on that disk */
};

struct vx_lvm_area {
  char *name;                /* a PV's or an LV's name */
  int pv, lv;                /* its index (the other is -1) */
  uint64_t start;            /* first extent on it (PV: physical extent) */
};

struct vx_lvm_seg {
  uint64_t start_extent, extent_count;
  char *type;                /* "striped", "mirror", "raid1", "thin", ... */
  uint32_t stripe_count;     /* striped: areas; mirror/raid: legs */
  uint64_t stripe_size;      /* striped over several: sectors per chunk */
  struct vx_lvm_area *area;  /* striped: stripes; mirror: mirrors; raid:
                                the rimage legs (rmeta left out) */
  size_t narea;
  char *origin, *cow_store;  /* snapshot segments */
};

struct vx_lvm_lv {
  char *name;
  char uuid[VX_LVM_UUID_LEN + 1];
  bool visible;              /* status VISIBLE: lvs lists it */
  bool rebuild;              /* status LV_REBUILD (a raid leg being rebuilt) */
  struct vx_lvm_seg *seg;    /* sorted, contiguous from extent 0 */
  size_t nseg;
  uint64_t extents;
};

struct vx_lvm_vg {
  char *name;
  char uuid[VX_LVM_UUID_LEN + 1];
  uint64_t seqno;
  uint64_t extent_size;      /* sectors */
  struct vx_lvm_pv *pv;
  size_t npv;
  struct vx_lvm_lv *lv;
  size_t nlv;
};

/* The volume group described by metadata TEXT, or NULL with ERR saying
 * what is wrong. */
struct vx_lvm_vg *vx_lvm_vg_parse (const char *text, size_t len,
                                   char *err, size_t errlen);
void vx_lvm_vg_free (struct vx_lvm_vg *vg);
/* Whether NAME is a valid VG, LV or PV key name for lvm2 (1 to 127 of
 * A-Z a-z 0-9 + _ . -, not starting with '-', not "." or ".."). */
bool vx_lvm_name_ok (const char *name);

/* ---- map.c -------------------------------------------------------------- */

/* What LV is, as lvs's segtype of its first segment calls it ("linear",
 * "striped", "mirror", "raid1", "thin", "thin-pool", "cache", ...), except
 * that a snapshot's copy-on-write LV is "snapshot". */
const char *vx_lvm_lv_layout (const struct vx_lvm_vg *vg, size_t lv);
/* LV's data as segments on the disks where its PVs were found (bytes,
 * contiguous from 0: *SEG, *NSEG, free with vx_segments_free).  0; 1 when
 * it cannot be composed, with *WHY (malloc'd) saying why ("thin volume: not
 * supported", ...); 2 when a PV it needs is missing (*WHY: "incomplete: PV
 * UUID (pvN, last seen as DEV) is not in the disk set"); -1 when out of
 * memory. */
int vx_lvm_lv_map (const struct vx_lvm_vg *vg, size_t lv,
                   struct vx_segment **seg, size_t *nseg, char **why);

/* ---- scan.c ------------------------------------------------------------- */

struct vx_lvm_pvloc {        /* a place where discovery saw an LVM2 PV */
  int fd;                    /* the disk, open for reading */
  unsigned disk;
  uint64_t offset, size;     /* bytes: the partition or the whole disk */
};

struct vx_lvm_msg {
  size_t loc;                /* the pvloc it is about */
  char *text;
};

struct vx_lvm_set {
  struct vx_lvm_vg **vg;     /* sorted by name, then UUID */
  size_t nvg;
  char **pv_note;            /* per pvloc: what it is, for the volume list
                                ("LVM physical volume of VG vg0", or why
                                its label or metadata could not be used) */
  struct vx_lvm_msg *warn;   /* problems worth logging */
  size_t nwarn;
};

/* Reads every PV at LOC[0..N), groups them into volume groups and locates
 * each VG's PVs.  Damage is confined: a PV whose label or metadata cannot be
 * used gets a note and a warning, and its VG is built from another PV's copy
 * of the metadata if there is one.  0, or -1 when out of memory.  Free SET
 * with vx_lvm_set_clear. */
int vx_lvm_scan (const struct vx_lvm_pvloc *loc, size_t n,
                 struct vx_lvm_set *set);
void vx_lvm_set_clear (struct vx_lvm_set *set, size_t nloc);

#endif

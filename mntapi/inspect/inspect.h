/* vixmount guest inspection: which OS a mounted guest volume holds, and
 * where the guest mounts its volumes.
 *
 * vx_inspect_root looks at one mounted filesystem (the host directory DIR)
 * in a forked child that chroots into DIR, so that every guest path -- and
 * every symlink in it, absolute or relative -- resolves inside the guest
 * and never reaches a host file.  The child runs under resource limits
 * (CPU time, open files, no core, no file writes, bounded address space
 * where the build allows it), reads each file with a size cap, and sends
 * what it found back on a pipe in a small length-prefixed encoding
 * (vx_guest_encode/decode) that the parent checks field by field.
 *
 * Linux: /etc/os-release (then /usr/lib/os-release, /etc/lsb-release,
 * /etc/redhat-release, /etc/SuSE-release, /etc/debian_version), the ELF
 * class and machine of the guest's own binaries, /etc/hostname, /etc/fstab.
 * Windows: the directory SystemRoot names (case-insensitive lookups, as
 * Windows does), the SOFTWARE hive (ProductName, EditionID, versions,
 * CurrentBuild) and the SYSTEM hive's current control set (Select\Current:
 * PROCESSOR_ARCHITECTURE, ComputerName) and MountedDevices, read with
 * libhivex.
 *
 * The parsers are separate functions over buffers (unit-tested, fuzzed).
 * Every string they return is guest bytes, capped at VX_GUEST_STR_MAX and
 * cut at the first NUL or control character: escape it when printing.
 */
#ifndef VIXMOUNT_INSPECT_H
#define VIXMOUNT_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "volume.h"          /* struct vx_volume: matching fstab and drive letters */

#define VX_GUEST_STR_MAX 256     /* bytes of any one guest string */
#define VX_GUEST_FILE_MAX 65536  /* bytes read of a text file (os-release, fstab) */
#define VX_GUEST_FSTAB_MAX 256   /* fstab entries kept */
#define VX_GUEST_LETTERS_MAX 64  /* MountedDevices entries kept */

enum vx_guest_kind { VX_GUEST_NONE = 0, VX_GUEST_LINUX = 1, VX_GUEST_WINDOWS = 2 };

struct vx_fstab_entry {
  char *spec;                /* "UUID=...", "/dev/mapper/vg-root", ... */
  char *dir;                 /* the mount point, octal escapes decoded */
  char *type;                /* "ext4", "swap", ... */
};

/* One drive letter of SYSTEM\MountedDevices. */
struct vx_win_letter {
  char letter;               /* 'C' */
  bool gpt;                  /* GPT: guid; MBR: signature + offset */
  uint32_t mbr_signature;
  uint64_t offset;           /* bytes from the disk's start */
  char guid[37];             /* lower-case GUID text, as blkid prints PARTUUID */
};

struct vx_guest {
  enum vx_guest_kind kind;
  char *vendor;              /* Linux: os-release NAME; Windows: "Microsoft" */
  char *edition;             /* Linux: VARIANT/VARIANT_ID; Windows: EditionID */
  char *product;             /* PRETTY_NAME; ProductName */
  char *distro;              /* os-release ID ("debian", "fedora"); "windows" */
  char *version;             /* VERSION_ID; "10.0" */
  char *build;               /* Windows CurrentBuild; NULL on Linux */
  char *hostname;            /* /etc/hostname; ComputerName */
  char *arch;                /* "x86_64", "i386", "aarch64"...; Windows' own
                                PROCESSOR_ARCHITECTURE ("AMD64", "x86", "ARM64") */
  char *os_folder;           /* the OS folder inside the volume: "" for a Linux
                                root, "Windows" (as the volume spells it) */
  char *system_drive;        /* Windows: "C:" from SystemRoot; NULL on Linux */
  unsigned major, minor;
  bool is64;
  struct vx_fstab_entry *fstab;
  size_t nfstab;
  struct vx_win_letter *letters;
  size_t nletters;
  char *notes;               /* what was odd (a damaged hive, a skipped file),
                                one line each; NULL if nothing */
};

void vx_guest_free (struct vx_guest *g);     /* frees the members, zeroes G */

/* Inspects the filesystem mounted on DIR (see above).  0 with G filled
 * (G->kind VX_GUEST_NONE when DIR holds no OS we know), or -1 with a
 * message in ERR (the child could not run, was killed by a limit, or sent
 * nothing valid).  TIMEOUT_MS bounds the child's run (0: 30 s). */
int vx_inspect_root (const char *dir, unsigned timeout_ms, struct vx_guest *g,
                     char *err, size_t errlen);

/* The child's part, without fork or chroot: inspects the tree whose root is
 * the process's "/" (after chroot) -- or, for tests, ROOT (a directory
 * whose symlinks must not lead out of it: only the chrooted child gives
 * that guarantee).  Never fails: what it cannot read goes to g->notes. */
void vx_inspect_here (const char *root, struct vx_guest *g);

/* A clean copy of guest bytes [P, P+N): cut at the first NUL or control
 * character, at most VX_GUEST_STR_MAX bytes, trailing blanks dropped.
 * NULL if P is NULL or out of memory. */
char *vx_guest_str (const char *p, size_t n);

/* Adds one line to G->notes (at most 4 KiB of notes are kept). */
void vx_guest_note (struct vx_guest *g, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* Windows: if ROOT holds a Windows directory with a SOFTWARE hive, fills G
 * from the hives (kind VX_GUEST_WINDOWS) and returns 0; else -1. */
int vx_inspect_windows (const char *root, struct vx_guest *g);

/* ---- parsers (buffers of guest bytes; never fail on bad input) --------- */

/* os-release (KEY=VALUE, shell quoting, comments): NAME, ID, VERSION_ID,
 * PRETTY_NAME, VARIANT, VARIANT_ID into G.  Returns 0 when NAME or ID was
 * found, else -1. */
int vx_osrelease_parse (const char *buf, size_t len, struct vx_guest *g);
/* lsb-release (DISTRIB_ID, DISTRIB_RELEASE, DISTRIB_DESCRIPTION). */
int vx_lsbrelease_parse (const char *buf, size_t len, struct vx_guest *g);
/* redhat-release / SuSE-release / debian_version: one line such as
 * "Red Hat Enterprise Linux Server release 7.9 (Maipo)",
 * "openSUSE 13.2 (x86_64)" + "VERSION = 13.2", "12.4" (WHICH says which). */
enum vx_release_file { VX_REL_REDHAT, VX_REL_SUSE, VX_REL_DEBIAN };
int vx_releasefile_parse (enum vx_release_file which, const char *buf, size_t len,
                          struct vx_guest *g);
/* "22.04.3" -> 22, 4; "12" -> 12, 0; "bookworm/sid" -> 0, 0 (returns -1). */
int vx_version_split (const char *v, unsigned *major, unsigned *minor);
/* ELF header: 0 with *is64 and *arch (a static name, or NULL if unknown). */
int vx_elf_class (const unsigned char *hdr, size_t len, bool *is64, const char **arch);

/* fstab(5): entries with a spec and an absolute mount point (or "swap"/
 * "none" for swap), fields unescaped (\040 etc.); comments, blank and
 * malformed lines are skipped (counted in *bad).  At most
 * VX_GUEST_FSTAB_MAX entries.  0, or -1 when out of memory. */
int vx_fstab_parse (const char *buf, size_t len, struct vx_fstab_entry **e, size_t *n,
                    size_t *bad);
void vx_fstab_free (struct vx_fstab_entry *e, size_t n);

/* Which of VOLS[0..N) fstab's SPEC names: UUID=, LABEL=, PARTUUID=,
 * PARTLABEL= (and their /dev/disk/by-* forms), /dev/mapper/VG-LV,
 * /dev/VG/LV, /dev/sdXN, /dev/vdXN, /dev/xvdXN, /dev/hdXN (disk by letter:
 * a = disk 0; no N: the whole disk).  The volume's index; -1 when SPEC
 * names a device in one of these forms that is no volume of VOLS; -2 when
 * it names none (tmpfs, proc, an NFS export). */
long vx_fstab_match (const char *spec, const struct vx_volume *vols, size_t n);

/* A MountedDevices value named "\DosDevices\X:" with DATA: 12 bytes (MBR
 * signature + offset) or "DMIO:ID:" + a 16-byte GUID.  0 with *L filled, -1
 * if NAME is no drive letter or DATA neither form. */
int vx_mounted_device_decode (const char *name, const unsigned char *data, size_t len,
                              struct vx_win_letter *l);
/* Which volume a drive letter is: GPT by partition GUID; MBR by the disk's
 * signature (the "SIGNATURE-NN" partition UUID blkid gives) and the
 * partition's byte offset.  The volume's index, or -1. */
long vx_win_letter_match (const struct vx_win_letter *l, const struct vx_volume *vols,
                          size_t n);

/* ---- the child's message ------------------------------------------------ */
/* Encodes G (malloc'd *BUF, *LEN); 0 or -1 (out of memory). */
int vx_guest_encode (const struct vx_guest *g, unsigned char **buf, size_t *len);
/* Decodes BUF: every length checked, strings capped; 0 with G filled, or -1
 * with *WHY a static reason (G is then empty). */
int vx_guest_decode (const unsigned char *buf, size_t len, struct vx_guest *g,
                     const char **why);

#endif

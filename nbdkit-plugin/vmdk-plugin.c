/* nbdkit-vmdk-plugin: serve a set of VMDK disks over NBD, one export per
 * disk, thin over the engine in common/vmdk.
 *
 *   nbdkit vmdk file=a.vmdk [file=b.vmdk ...] [single-link=true] ...
 *
 * Every disk is opened once, in .get_ready (so a malformed disk stops nbdkit
 * from starting, with the engine's message), and shared by every connection:
 * the engine's read, map and info calls are thread-safe, so the plugin keeps
 * no per-connection state and runs with the PARALLEL thread model.
 *
 * Exports (see the man page, EXPORTS): "0", "1", ... by position, plus the
 * file's basename as an alias when it is unambiguous; "" is disk 0.  With
 * volumes=MAPFILE (common/utils/segtext.h: the volume map that `vixmount
 * serve` writes), one export more per volume of the map: a partition or
 * LVM logical volume composed of segments of the disks, every request
 * split into runs on the disks (vx_segment_map) that go through the same
 * per-disk handles and overlays as the disks' own exports.
 *
 * Writes go through the engine: the disks are opened read-only, and reopened
 * read-write (with exclusive locks) at the first connection that may write;
 * with nbdkit -r, or a disk whose top link cannot take writes (single-link
 * on a child, read-only extents), every connection is read-only and the
 * files are never opened for writing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "vmdk.h"
#include "cow.h"
#include "segment.h"
#include "segtext.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* NBD export names and descriptions are limited to 4096 bytes. */
#define MAX_NAME 4096

/* Preferred block size limits set by the NBD protocol / nbdkit. */
#define PREF_MIN 512u
#define PREF_MAX (32u * 1024 * 1024)
#define PREF_FLAT 4096u

struct disk {
  char *arg;             /* file= as given (for descriptions) */
  char *path;            /* absolute path opened */
  char index_name[24];   /* "0", "1", ... */
  char *alias;           /* basename, or NULL when ambiguous/unusable */
  char *description;     /* "disk 0: a.vmdk (monolithicSparse, 1 GiB)" */
  uint32_t preferred;    /* preferred block size */
  struct vmdk_disk *vd;  /* read-only, opened in .get_ready */
  struct vmdk_disk *rw;  /* read-write, opened at the first writable
                            connection (never with -r or under a filter
                            that opens us read-only, such as cow) */
  bool can_write;        /* every extent of the top link takes writes */
  pthread_mutex_t upgrade_lock;
  struct cow *cow;       /* cow=true: writes go here, never to the VMDK */
};

/* A volume of the map: segments over the disks. */
struct volume {
  char *name;
  char *description;     /* the map's, or one made up */
  struct vx_segment *seg;
  size_t nseg;
  uint64_t size;
  bool *uses;            /* n_disks entries: does a segment lie on disk i */
  bool can_write;        /* every disk it uses can */
  uint32_t preferred;    /* the largest of its disks' */
};

/* A connection: the disk or the volume, and whether nbdkit opened it
 * writable. */
struct conn {
  struct disk *d;        /* a disk's export ... */
  struct volume *v;      /* ... or a volume's (d is NULL) */
  bool readonly;
};

/* The handle requests go to: the writable one once it exists, so every
 * connection sees every write (multi-conn stays coherent). */
static struct vmdk_disk *
cur (struct disk *d)
{
  struct vmdk_disk *rw = __atomic_load_n (&d->rw, __ATOMIC_ACQUIRE);
  return rw ? rw : d->vd;
}

static struct disk *disks;
static size_t n_disks;
static struct volume *volumes;
static size_t n_volumes;
static char *volume_map;         /* volumes=: the map file */

static unsigned open_flags = VMDK_OPEN_RDONLY;
static size_t gt_cache_bytes;           /* 0 = engine default */
/* cow=true: every export is a writable copy-on-write view of a disk that
 * is opened read-only; the overlays (common/cow, one per disk, shared by
 * its connections) live in cow_dir and vanish with the server. */
static bool use_cow;
static char *cow_dir;

/* ---- helpers ----------------------------------------------------------- */

/* Report an engine failure the nbdkit way. */
static void
engine_error (const struct vmdk_error *err)
{
  nbdkit_error ("%s", err->msg);
  nbdkit_set_error (vmdk_error_errno (err));
}

static bool
utf8_valid (const char *s)
{
  const unsigned char *p = (const unsigned char *) s;

  while (*p) {
    unsigned n;
    uint32_t c;

    if (*p < 0x80) { p++; continue; }
    else if ((*p & 0xe0) == 0xc0) { n = 1; c = *p & 0x1f; }
    else if ((*p & 0xf0) == 0xe0) { n = 2; c = *p & 0x0f; }
    else if ((*p & 0xf8) == 0xf0) { n = 3; c = *p & 0x07; }
    else return false;
    p++;
    for (unsigned i = 0; i < n; i++, p++) {
      if ((*p & 0xc0) != 0x80)
        return false;
      c = (c << 6) | (*p & 0x3f);
    }
    if ((n == 1 && c < 0x80) || (n == 2 && c < 0x800) ||
        (n == 3 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff))
      return false;
  }
  return true;
}

/* "0", "1", ...: decimal without sign or leading zeros. */
static bool
parse_index (const char *s, size_t *idx)
{
  size_t v = 0;

  if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
    return false;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return false;
    if (v > (SIZE_MAX - 9) / 10)
      return false;
    v = v * 10 + (size_t) (*p - '0');
  }
  *idx = v;
  return true;
}

static const char *
last_component (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* "1 GiB", "1.5 GiB", "100 MiB", "512 B". */
static void
human_size (uint64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  unsigned u = 0;
  uint64_t div = 1;

  while (u + 1 < sizeof units / sizeof units[0] && bytes / div >= 1024) {
    div *= 1024;
    u++;
  }
  if (bytes % div == 0)
    snprintf (buf, len, "%" PRIu64 " %s", bytes / div, units[u]);
  else
    snprintf (buf, len, "%.1f %s", (double) bytes / (double) div, units[u]);
}

/* Copy s, replacing bytes that do not belong in a one-line description. */
static char *
printable_copy (const char *s)
{
  char *r = strdup (s);

  if (r == NULL)
    return NULL;
  if (!utf8_valid (r)) {
    for (char *p = r; *p; p++)
      if ((unsigned char) *p >= 0x80)
        *p = '?';
  }
  for (char *p = r; *p; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      *p = '?';
  return r;
}

/* At most MAX_NAME bytes, cut at a character. */
static void
cut_description (char *s)
{
  if (strlen (s) > MAX_NAME) {
    size_t cut = MAX_NAME;
    while (cut > 0 && ((unsigned char) s[cut] & 0xc0) == 0x80)
      cut--;
    s[cut] = '\0';
  }
}

static uint32_t
preferred_block_size (const struct vmdk_info *info)
{
  uint64_t grain;
  uint32_t pref = PREF_MIN;

  if (info->grain_sectors == 0)
    return PREF_FLAT;
  if (info->grain_sectors > PREF_MAX / VMDK_SECTOR_SIZE)
    return PREF_MAX;
  grain = info->grain_sectors * VMDK_SECTOR_SIZE;
  while (pref < grain)           /* round up to a power of 2 */
    pref <<= 1;
  return pref;
}

/* ---- configuration ----------------------------------------------------- */

static void
vmdk_unload (void)
{
  for (size_t i = 0; i < n_disks; i++) {
    if (disks[i].rw)
      vmdk_close (disks[i].rw);   /* flushes, clears the unclean flag */
    if (disks[i].cow)
      cow_close (disks[i].cow);
    if (disks[i].vd)
      vmdk_close (disks[i].vd);
    pthread_mutex_destroy (&disks[i].upgrade_lock);
    free (disks[i].arg);
    free (disks[i].path);
    free (disks[i].alias);
    free (disks[i].description);
  }
  free (disks);
  disks = NULL;
  n_disks = 0;
  for (size_t i = 0; i < n_volumes; i++) {
    free (volumes[i].name);
    free (volumes[i].description);
    free (volumes[i].uses);
    vx_segments_free (volumes[i].seg, volumes[i].nseg);
  }
  free (volumes);
  volumes = NULL;
  n_volumes = 0;
  free (volume_map);
  volume_map = NULL;
  free (cow_dir);
  cow_dir = NULL;
}

static int
set_flag (const char *key, const char *value, unsigned flag)
{
  int r = nbdkit_parse_bool (value);

  if (r == -1)
    return -1;       /* nbdkit_parse_bool has reported it */
  (void) key;
  if (r)
    open_flags |= flag;
  else
    open_flags &= ~flag;
  return 0;
}

static int
vmdk_config (const char *key, const char *value)
{
  if (strcmp (key, "file") == 0) {
    struct disk *nd;
    char *abs;

    if (value[0] == '\0') {
      nbdkit_error ("file parameter must not be empty");
      return -1;
    }
    abs = nbdkit_absolute_path (value);
    if (abs == NULL)
      return -1;
    nd = realloc (disks, (n_disks + 1) * sizeof *disks);
    if (nd == NULL) {
      nbdkit_error ("realloc: %m");
      free (abs);
      return -1;
    }
    disks = nd;
    memset (&disks[n_disks], 0, sizeof disks[n_disks]);
    disks[n_disks].path = abs;
    disks[n_disks].arg = strdup (value);
    if (disks[n_disks].arg == NULL) {
      nbdkit_error ("strdup: %m");
      free (abs);
      return -1;
    }
    snprintf (disks[n_disks].index_name, sizeof disks[n_disks].index_name,
              "%zu", n_disks);
    n_disks++;
    return 0;
  }
  if (strcmp (key, "single-link") == 0)
    return set_flag (key, value, VMDK_OPEN_SINGLE_LINK);
  if (strcmp (key, "allow-escape") == 0)
    return set_flag (key, value, VMDK_OPEN_ALLOW_ESCAPE);
  if (strcmp (key, "no-cid-check") == 0)
    return set_flag (key, value, VMDK_OPEN_NO_CID_CHECK);
  if (strcmp (key, "direct-read") == 0)
    return set_flag (key, value, VMDK_OPEN_DIRECT_READ);
  if (strcmp (key, "cow") == 0) {
    int r = nbdkit_parse_bool (value);
    if (r == -1)
      return -1;
    use_cow = r;
    return 0;
  }
  if (strcmp (key, "volumes") == 0) {
    free (volume_map);
    volume_map = nbdkit_absolute_path (value);
    return volume_map ? 0 : -1;
  }
  if (strcmp (key, "cow-dir") == 0) {
    free (cow_dir);
    cow_dir = nbdkit_absolute_path (value);
    return cow_dir ? 0 : -1;
  }
  if (strcmp (key, "gt-cache") == 0) {
    int64_t r = nbdkit_parse_size (value);

    if (r == -1)
      return -1;
    if ((uint64_t) r > SIZE_MAX)
      r = (int64_t) (SIZE_MAX >> 1);
    /* The engine reads 0 as "default": 0 here means "no cache", which a
     * one-byte budget (every table evicted after its lookup) gives. */
    gt_cache_bytes = r == 0 ? 1 : (size_t) r;
    return 0;
  }
  nbdkit_error ("unknown parameter '%s' (see nbdkit vmdk --help)", key);
  return -1;
}

static int
vmdk_config_complete (void)
{
  if (n_disks == 0) {
    nbdkit_error ("you must supply at least one file=<DISK.vmdk> parameter");
    return -1;
  }

  /* Aliases: the basename, if it is a valid export name, does not look like
   * an index, and no other disk has the same basename. */
  for (size_t i = 0; i < n_disks; i++) {
    const char *base = last_component (disks[i].arg);
    size_t dummy;
    bool unique = true;

    if (base[0] == '\0' || strlen (base) > MAX_NAME || !utf8_valid (base) ||
        parse_index (base, &dummy))
      continue;
    for (size_t j = 0; j < n_disks; j++)
      if (j != i && strcmp (last_component (disks[j].arg), base) == 0)
        unique = false;
    if (!unique)
      continue;
    disks[i].alias = strdup (base);
    if (disks[i].alias == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
  }
  return 0;
}

#define vmdk_config_help \
  "file=<DISK.vmdk>    (required, repeatable) VMDK descriptor or monolithic\n" \
  "                    file to serve; one export per file=: \"0\", \"1\", ...\n" \
  "                    and the file's basename.\n" \
  "single-link=<BOOL>  Serve the named link only, not its parent chain\n" \
  "                    (unallocated grains read as zeros).  Default false.\n" \
  "allow-escape=<BOOL> Allow absolute extent/parent paths and paths leaving\n" \
  "                    the descriptor's directory.  Default false.\n" \
  "no-cid-check=<BOOL> Do not check a child's parentCID against its\n" \
  "                    parent's CID.  Default false.\n" \
  "gt-cache=<SIZE>     Grain-table cache bound per disk (default 32M).\n" \
  "direct-read=<BOOL>  Read the data of links that are not written with\n" \
  "                    O_DIRECT where the file system takes it (uncached).\n" \
  "                    Default false.\n" \
  "cow=<BOOL>          Writable copy-on-write exports: writes go to a\n" \
  "                    private overlay, never to the VMDKs.  Default false.\n" \
  "cow-dir=<DIR>       Where the overlays live (default $TMPDIR or /var/tmp).\n" \
  "volumes=<MAPFILE>   One export more per volume of the map (partitions,\n" \
  "                    LVM logical volumes as segments of the disks; the\n" \
  "                    format is in nbdkit-vmdk-plugin(1), VOLUME MAP)."

/* The overlay's view of what is below it: the disk, read-only. */
static int
cow_below (void *opaque, void *buf, size_t count, uint64_t off)
{
  struct disk *d = opaque;
  struct vmdk_error err;

  if (vmdk_pread (d->vd, buf, count, off, &err) == -1) {
    nbdkit_error ("%s", err.msg);
    return vmdk_error_errno (&err);
  }
  return 0;
}

static struct disk *find_disk (const char *name);

/* The map file's text (at most 256 MiB), malloc'd and NUL-terminated. */
static char *
read_map (size_t *len)
{
  FILE *f = fopen (volume_map, "r");
  char *text = NULL, *nt;
  size_t cap = 0, n;

  *len = 0;
  if (f == NULL) {
    nbdkit_error ("volumes=%s: %m", volume_map);
    return NULL;
  }
  do {
    if (*len == cap) {
      cap = cap ? cap * 2 : 65536;
      if (cap > (256u << 20) + 1) {
        nbdkit_error ("volumes=%s: larger than 256 MiB", volume_map);
        goto bad;
      }
      nt = realloc (text, cap + 1);
      if (nt == NULL) {
        nbdkit_error ("volumes=%s: out of memory", volume_map);
        goto bad;
      }
      text = nt;
    }
    n = fread (text + *len, 1, cap - *len, f);
    *len += n;
  } while (n > 0);
  if (ferror (f)) {
    nbdkit_error ("volumes=%s: read: %m", volume_map);
    goto bad;
  }
  fclose (f);
  text[*len] = '\0';
  return text;

 bad:
  fclose (f);
  free (text);
  return NULL;
}

/* "linear, 2 segments on disks 0,1" for a volume without a description. */
static char *
made_up_description (const struct volume *v)
{
  char size[32], *r = NULL;
  size_t len = 0, ndisks = 0;
  bool striped = false;
  FILE *f = open_memstream (&r, &len);

  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < v->nseg; i++)
    striped |= v->seg[i].nstripes > 0;
  human_size (v->size, size, sizeof size);
  fprintf (f, "volume %s: %s, %s, %zu segment%s on disk", v->name, size,
           striped ? "striped" : "linear", v->nseg, v->nseg == 1 ? "" : "s");
  for (size_t i = 0; i < n_disks; i++)
    ndisks += v->uses[i];
  fputs (ndisks == 1 ? " " : "s ", f);
  for (size_t i = 0, k = 0; i < n_disks; i++)
    if (v->uses[i])
      fprintf (f, "%s%zu", k++ ? "," : "", i);
  if (fclose (f) != 0) {
    free (r);
    return NULL;
  }
  return r;
}

/* The volumes of volumes=, checked against the disks: a bad line stops
 * nbdkit with the file, the line and the cause. */
static int
load_volumes (void)
{
  struct vx_volmap map;
  uint64_t *sizes;
  size_t len, line;
  const char *why;
  char *text = read_map (&len);
  int r;

  if (text == NULL)
    return -1;
  sizes = calloc (n_disks, sizeof *sizes);
  if (sizes == NULL) {
    free (text);
    nbdkit_error ("out of memory");
    return -1;
  }
  for (size_t i = 0; i < n_disks; i++)
    sizes[i] = vmdk_size (disks[i].vd);
  r = vx_volmap_parse (text, len, n_disks, sizes, &map, &line, &why);
  free (sizes);
  free (text);
  if (r == -1) {
    if (line)
      nbdkit_error ("volumes=%s: line %zu: %s", volume_map, line, why);
    else
      nbdkit_error ("volumes=%s: %s", volume_map, why);
    return -1;
  }
  volumes = calloc (map.n ? map.n : 1, sizeof *volumes);
  if (volumes == NULL) {
    vx_volmap_free (&map);
    nbdkit_error ("out of memory");
    return -1;
  }
  /* the volumes take over what the map holds */
  n_volumes = map.n;
  for (size_t i = 0; i < map.n; i++) {
    struct volume *v = &volumes[i];
    v->name = map.vol[i].name;
    v->description = map.vol[i].description;
    v->seg = map.vol[i].seg;
    v->nseg = map.vol[i].nseg;
    v->size = map.vol[i].size;
  }
  free (map.vol);
  for (size_t i = 0; i < n_volumes; i++) {
    struct volume *v = &volumes[i];

    if (!utf8_valid (v->name) || find_disk (v->name)) {
      nbdkit_error ("volumes=%s: volume %s: %s", volume_map, v->name,
                    utf8_valid (v->name) ? "a disk's export has that name"
                    : "the name is not valid UTF-8");
      return -1;
    }
    v->uses = calloc (n_disks, sizeof *v->uses);
    if (v->uses == NULL) {
      nbdkit_error ("out of memory");
      return -1;
    }
    for (size_t k = 0; k < v->nseg; k++) {
      const struct vx_segment *sg = &v->seg[k];
      if (sg->nstripes == 0)
        v->uses[sg->disk] = true;
      for (unsigned j = 0; j < sg->nstripes; j++)
        v->uses[sg->stripe[j].disk] = true;
    }
    v->can_write = true;
    v->preferred = PREF_MIN;
    for (size_t k = 0; k < n_disks; k++)
      if (v->uses[k]) {
        v->can_write &= disks[k].can_write;
        if (disks[k].preferred > v->preferred)
          v->preferred = disks[k].preferred;
      }
    if (v->description == NULL && (v->description = made_up_description (v)) == NULL) {
      nbdkit_error ("out of memory");
      return -1;
    }
    if (strlen (v->description) > MAX_NAME || !utf8_valid (v->description)) {
      char *p = printable_copy (v->description);
      if (p == NULL) {
        nbdkit_error ("out of memory");
        return -1;
      }
      free (v->description);
      v->description = p;
      cut_description (v->description);
    }
    nbdkit_debug ("export %s: volume of %zu segments, %" PRIu64 " bytes",
                  v->name, v->nseg, v->size);
  }
  return 0;
}

/* Open every disk once; a disk that does not open stops nbdkit here. */
static int
vmdk_get_ready (void)
{
  struct vmdk_options opts = {
    .flags = open_flags | VMDK_OPEN_RDONLY,
    .gt_cache_bytes = gt_cache_bytes,
    .max_chain = 0,
  };

  for (size_t i = 0; i < n_disks; i++) {
    struct disk *d = &disks[i];
    struct vmdk_error err = { 0 };
    const struct vmdk_info *info;
    char size[32], links[32] = "";
    char *shown;

    d->vd = vmdk_open (d->path, &opts, &err);
    if (d->vd == NULL) {
      nbdkit_error ("%s", err.msg);
      return -1;
    }
    info = vmdk_get_info (d->vd);
    for (size_t w = 0; w < info->num_warnings; w++)
      nbdkit_debug ("%s: warning: %s", d->path, vmdk_warning (d->vd, w));
    if (info->unclean_shutdown)
      nbdkit_debug ("%s: the disk was not closed cleanly (dirty flag set)",
                    d->path);

    d->preferred = preferred_block_size (info);
    pthread_mutex_init (&d->upgrade_lock, NULL);
    if (use_cow) {
      const char *t = getenv ("TMPDIR");
      const char *dir = cow_dir ? cow_dir : t && *t ? t : "/var/tmp";
      d->cow = cow_open (dir, vmdk_size (d->vd), cow_below, d);
      if (d->cow == NULL) {
        nbdkit_error ("%s: cannot make a copy-on-write overlay in %s: %m", d->path, dir);
        return -1;
      }
    }
    d->can_write = !(open_flags & VMDK_OPEN_SINGLE_LINK) || info->parent_hint == NULL;
    for (size_t x = 0; x < info->num_extents; x++) {
      const struct vmdk_extent_info *e = vmdk_get_extent (d->vd, x);
      bool ok = e->access == VMDK_ACCESS_RW
        && (e->type == VMDK_EXTENT_FLAT || e->type == VMDK_EXTENT_VMFS
            || (e->type == VMDK_EXTENT_SPARSE && !e->compressed && !e->redundant_gd_used));
      if (!ok)
        d->can_write = false;
    }
    if (use_cow)
      d->can_write = true;        /* the overlay takes any disk's writes */
    human_size (vmdk_size (d->vd), size, sizeof size);
    if (info->num_links > 1)
      snprintf (links, sizeof links, ", %u links", info->num_links);
    shown = printable_copy (d->arg);
    if (shown == NULL ||
        asprintf (&d->description, "disk %zu: %s (%s, %s%s)", i, shown,
                  info->create_type ? info->create_type : "no descriptor",
                  size, links) == -1) {
      d->description = NULL;
      free (shown);
      nbdkit_error ("out of memory");
      return -1;
    }
    free (shown);
    cut_description (d->description);
    nbdkit_debug ("export %s%s%s: %s: %" PRIu64 " bytes, preferred block %"
                  PRIu32, d->index_name, d->alias ? " / " : "",
                  d->alias ? d->alias : "", d->path, vmdk_size (d->vd),
                  d->preferred);
  }
  if (volume_map && load_volumes () == -1)
    return -1;
  return 0;
}

static void
vmdk_dump_plugin (void)
{
  printf ("vmdk_default_gt_cache=%d\n", VMDK_DEFAULT_GT_CACHE);
  printf ("vmdk_default_max_chain=%d\n", VMDK_DEFAULT_MAX_CHAIN);
}

/* ---- exports ----------------------------------------------------------- */

static int
vmdk_list_exports (int readonly, int is_tls, struct nbdkit_exports *exports)
{
  (void) readonly; (void) is_tls;
  for (size_t i = 0; i < n_disks; i++) {
    if (nbdkit_add_export (exports, disks[i].index_name,
                           disks[i].description) == -1)
      return -1;
    if (disks[i].alias &&
        nbdkit_add_export (exports, disks[i].alias,
                           disks[i].description) == -1)
      return -1;
  }
  for (size_t i = 0; i < n_volumes; i++)
    if (nbdkit_add_export (exports, volumes[i].name, volumes[i].description) == -1)
      return -1;
  return 0;
}

/* The default export "" is disk 0, announced under its canonical name. */
static const char *
vmdk_default_export (int readonly, int is_tls)
{
  (void) readonly; (void) is_tls;
  return n_disks > 0 ? disks[0].index_name : NULL;
}

static struct disk *
find_disk (const char *name)
{
  size_t idx;

  if (name == NULL || name[0] == '\0')
    return n_disks > 0 ? &disks[0] : NULL;
  if (parse_index (name, &idx))
    return idx < n_disks ? &disks[idx] : NULL;
  for (size_t i = 0; i < n_disks; i++)
    if (disks[i].alias && strcmp (disks[i].alias, name) == 0)
      return &disks[i];
  return NULL;
}

/* Open the disk read-write, once; the read-only handle stays for requests
 * already under way and is closed at unload. */
static int
upgrade (struct disk *d)
{
  struct vmdk_options opts = {
    .flags = open_flags & ~VMDK_OPEN_RDONLY,
    .gt_cache_bytes = gt_cache_bytes,
  };
  struct vmdk_error err = { 0 };
  struct vmdk_disk *rw;
  int r = 0;

  pthread_mutex_lock (&d->upgrade_lock);
  if (!d->rw) {
    rw = vmdk_open (d->path, &opts, &err);
    if (rw)
      __atomic_store_n (&d->rw, rw, __ATOMIC_RELEASE);
    else {
      nbdkit_error ("%s", err.msg);
      nbdkit_set_error (vmdk_errcode_errno (err.code));
      r = -1;
    }
  }
  pthread_mutex_unlock (&d->upgrade_lock);
  return r;
}

static void *
vmdk_open_conn (int readonly)
{
  const char *name = nbdkit_export_name ();
  struct disk *d = find_disk (name);
  struct volume *v = NULL;
  struct conn *c;

  for (size_t i = 0; d == NULL && v == NULL && name && i < n_volumes; i++)
    if (strcmp (volumes[i].name, name) == 0)
      v = &volumes[i];
  if ((d == NULL || d->vd == NULL) && v == NULL) {
    nbdkit_error ("unknown export '%s': this server has exports 0 to %zu, "
                  "their file names%s (nbdinfo --list shows them)",
                  name ? name : "", n_disks - 1,
                  n_volumes ? " and the volumes of its map" : "");
    nbdkit_set_error (ENOENT);
    return NULL;
  }
  /* A disk whose kind cannot be written is served read-only; with cow=true
   * the VMDK is never opened for writing.  A volume writes to every disk
   * it lies on. */
  if (d && !readonly && d->can_write && !d->cow && upgrade (d) == -1)
    return NULL;
  for (size_t i = 0; v && !readonly && v->can_write && i < n_disks; i++)
    if (v->uses[i] && !disks[i].cow && upgrade (&disks[i]) == -1)
      return NULL;
  c = malloc (sizeof *c);
  if (c == NULL) {
    nbdkit_error ("out of memory");
    return NULL;
  }
  c->d = d;
  c->v = v;
  c->readonly = readonly || !(d ? d->can_write : v->can_write);
  return c;
}

static void
vmdk_close_conn (void *handle)
{
  free (handle);
}

static const char *
vmdk_export_description (void *handle)
{
  struct conn *c = handle;
  return c->d ? c->d->description : c->v->description;
}

static int64_t
vmdk_get_size (void *handle)
{
  struct conn *c = handle;
  return c->d ? (int64_t) vmdk_size (cur (c->d)) : (int64_t) c->v->size;
}

static int
vmdk_block_size (void *handle, uint32_t *minimum, uint32_t *preferred,
                 uint32_t *maximum)
{
  struct conn *c = handle;

  /* The engine reads any byte range, but a VMDK is made of 512-byte
   * sectors: clients that align to them never straddle a sector. */
  *minimum = VMDK_SECTOR_SIZE;
  *preferred = c->d ? c->d->preferred : c->v->preferred;
  *maximum = 0xffffffff;
  return 0;
}

/* ---- capabilities ------------------------------------------------------ */

static int
vmdk_can_write (void *handle)
{
  return !((struct conn *) handle)->readonly;
}
static int vmdk_can_flush (void *handle) { return vmdk_can_write (handle); }
static int vmdk_can_trim (void *handle) { return vmdk_can_write (handle); }
static int vmdk_can_zero (void *handle) { return vmdk_can_write (handle); }
/* Fast zero is advertised only so that it can be refused: zeroing a flat
 * extent writes zeros, so every fast-zero request fails at once with
 * ENOTSUP (vmdk_zero_cb), as the protocol allows.  Not advertising it is
 * no defence: nbdkit 1.32 passes an unadvertised NBD_CMD_FLAG_FAST_ZERO
 * from a client on to backend_zero, whose assertion then aborts the
 * server (tests/fuzz/nbd.sh found it; tests/fuzz/regress/nbd/). */
static int vmdk_can_fast_zero (void *handle) { return vmdk_can_write (handle); }
static int vmdk_can_fua (void *handle)
{
  return vmdk_can_write (handle) ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}
static int vmdk_can_multi_conn (void *handle) { (void) handle; return 1; }
static int vmdk_can_extents (void *handle) { (void) handle; return 1; }
static int vmdk_is_rotational (void *handle) { (void) handle; return 0; }
/* A cache (prefetch) request reads the range and drops it: that warms the
 * page cache of the extent files and the engine's grain-table cache. */
static int vmdk_can_cache (void *handle) { (void) handle; return NBDKIT_CACHE_EMULATE; }

/* ---- data -------------------------------------------------------------- */

/* An overlay's result (0 or an errno) the nbdkit way. */
static int
cow_result (int e)
{
  if (e == 0)
    return 0;
  nbdkit_error ("copy-on-write overlay: %s", strerror (e));
  nbdkit_set_error (e);
  return -1;
}

/* ---- one disk's requests (a disk's export, a volume's runs) ---- */

enum io_op { IO_READ, IO_WRITE, IO_ZERO, IO_TRIM };

static int
write_result (int r, const struct vmdk_error *err)
{
  if (r == -1)
    engine_error (err);
  return r;
}

static int
disk_flush (struct disk *d)
{
  struct vmdk_error err;

  if (d->cow)
    return 0;                   /* the overlay is thrown away anyway */
  return write_result (vmdk_flush (cur (d), &err), &err);
}

/* OP on [OFFSET, OFFSET + COUNT) of disk D: through its overlay with
 * cow=true, else through the engine. */
static int
disk_io (struct disk *d, enum io_op op, void *buf, uint32_t count,
         uint64_t offset, uint32_t flags)
{
  struct vmdk_error err;
  unsigned f = ((flags & NBDKIT_FLAG_MAY_TRIM) ? VMDK_ZERO_MAY_TRIM : 0)
    | ((flags & NBDKIT_FLAG_FUA) ? VMDK_WRITE_FUA : 0);

  if (d->cow) {
    switch (op) {
    case IO_READ: return cow_result (cow_pread (d->cow, buf, count, offset));
    case IO_WRITE: return cow_result (cow_pwrite (d->cow, buf, count, offset));
    default:   /* trimmed bytes may read as zeros */
      return cow_result (cow_zero (d->cow, count, offset));
    }
  }
  switch (op) {
  case IO_READ:
    if (vmdk_pread (cur (d), buf, count, offset, &err) == -1) {
      engine_error (&err);
      return -1;
    }
    return 0;
  case IO_WRITE:
    return write_result (vmdk_pwrite (cur (d), buf, count, offset,
                                      f & VMDK_WRITE_FUA, &err), &err);
  case IO_ZERO:
    return write_result (vmdk_zero (cur (d), count, offset, f, &err), &err);
  case IO_TRIM:
  default:
    if (vmdk_trim (cur (d), count, offset, 0, &err) == -1)
      return write_result (-1, &err);
    return (flags & NBDKIT_FLAG_FUA) ? disk_flush (d) : 0;
  }
}

/* OP on the connection's export: a disk's, or a volume's split into runs
 * on its disks. */
static int
conn_io (void *handle, enum io_op op, void *buf, uint32_t count,
         uint64_t offset, uint32_t flags)
{
  struct conn *c = handle;

  if (c->d)
    return disk_io (c->d, op, buf, count, offset, flags);
  while (count > 0) {
    unsigned disk;
    uint64_t doff, run;

    if (vx_segment_map (c->v->seg, c->v->nseg, offset, &disk, &doff, &run) == -1) {
      nbdkit_error ("volume %s: offset %" PRIu64 " past its end", c->v->name, offset);
      nbdkit_set_error (EIO);
      return -1;
    }
    if (run > count)
      run = count;
    if (disk_io (&disks[disk], op, buf, (uint32_t) run, doff, flags) == -1)
      return -1;
    if (buf)
      buf = (char *) buf + run;
    offset += run;
    count -= (uint32_t) run;
  }
  return 0;
}

static int
vmdk_pread_cb (void *handle, void *buf, uint32_t count, uint64_t offset,
               uint32_t flags)
{
  (void) flags;
  return conn_io (handle, IO_READ, buf, count, offset, 0);
}

static int
vmdk_pwrite_cb (void *handle, const void *buf, uint32_t count,
                uint64_t offset, uint32_t flags)
{
  return conn_io (handle, IO_WRITE, (void *) buf, count, offset,
                  flags & NBDKIT_FLAG_FUA);
}

static int
vmdk_flush_cb (void *handle, uint32_t flags)
{
  struct conn *c = handle;

  (void) flags;
  if (c->d)
    return disk_flush (c->d);
  for (size_t i = 0; i < n_disks; i++)
    if (c->v->uses[i] && disk_flush (&disks[i]) == -1)
      return -1;
  return 0;
}

static int
vmdk_trim_cb (void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
  return conn_io (handle, IO_TRIM, NULL, count, offset, flags & NBDKIT_FLAG_FUA);
}

static int
vmdk_zero_cb (void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
  if (flags & NBDKIT_FLAG_FAST_ZERO) {   /* never faster than writing */
    nbdkit_set_error (ENOTSUP);
    return -1;
  }
  return conn_io (handle, IO_ZERO, NULL, count, offset, flags);
}

/* Extents of a disk's range, added at the export's offsets: a disk's own
 * export (shift 0), or a run of a volume, clipped to the run. */
struct extents_ctx {
  struct nbdkit_extents *extents;
  bool req_one;
  bool failed;
  bool added;
  uint64_t lo, hi;      /* the run on the disk: [lo, hi) */
  uint64_t shift;       /* export offset = disk offset + shift (mod 2^64) */
};

static int
add_map_entry (void *opaque, const struct vmdk_map_entry *e)
{
  struct extents_ctx *ctx = opaque;
  uint64_t from = e->offset, to = e->offset + e->length;
  uint32_t type;

  if (from < ctx->lo)
    from = ctx->lo;
  if (to > ctx->hi)
    to = ctx->hi;
  if (e->length == 0 || from >= to)
    return 0;
  switch (e->kind) {
  case VMDK_MAP_DATA:
    /* a hole of a flat extent's file reads as zeros but is allocated */
    type = e->zero ? NBDKIT_EXTENT_ZERO : 0;
    break;
  case VMDK_MAP_ZERO:
    /* Zeroed grains, ZERO extents, unmapped seSparse grains: nothing in
     * any file backs them, so they are holes that read as zeros (as
     * qemu-img map reports them: data false, zero true). */
  case VMDK_MAP_HOLE:
  default:
    type = NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO;
    break;
  }
  if (nbdkit_add_extent (ctx->extents, from + ctx->shift, to - from, type) == -1) {
    ctx->failed = true;
    return 1;
  }
  ctx->added = true;
  return ctx->req_one ? 1 : 0;
}

/* The extents of [OFFSET, OFFSET + COUNT) of disk D into CTX. */
static int
disk_extents (struct disk *d, uint64_t count, uint64_t offset,
              struct extents_ctx *ctx)
{
  struct vmdk_error err;

  ctx->lo = offset;
  ctx->hi = offset + count;
  /* Once the overlay holds writes, the VMDK's map no longer tells where
   * data is: report the range as data (true, if less precise). */
  if (d->cow && cow_any_written (d->cow)) {
    if (nbdkit_add_extent (ctx->extents, offset + ctx->shift, count, 0) == -1)
      return -1;
    ctx->added = true;
    return 0;
  }
  if (vmdk_map (cur (d), offset, count, 0, add_map_entry, ctx, &err) == -1) {
    engine_error (&err);
    return -1;
  }
  return ctx->failed ? -1 : 0;
}

static int
vmdk_extents_cb (void *handle, uint32_t count, uint64_t offset,
                 uint32_t flags, struct nbdkit_extents *extents)
{
  struct conn *c = handle;
  struct extents_ctx ctx = {
    .extents = extents,
    .req_one = (flags & NBDKIT_FLAG_REQ_ONE) != 0,
  };

  if (c->d)
    return disk_extents (c->d, count, offset, &ctx);
  while (count > 0 && !(ctx.req_one && ctx.added)) {
    unsigned disk;
    uint64_t doff, run;

    if (vx_segment_map (c->v->seg, c->v->nseg, offset, &disk, &doff, &run) == -1)
      break;
    if (run > count)
      run = count;
    ctx.shift = offset - doff;
    if (disk_extents (&disks[disk], run, doff, &ctx) == -1)
      return -1;
    offset += run;
    count -= (uint32_t) run;
  }
  return 0;
}

static struct nbdkit_plugin plugin = {
  .name               = "vmdk",
  .longname           = "nbdkit VMDK plugin (vixmount)",
  .version            = PACKAGE_VERSION,
  .description        = "Serve VMDK disks (sparse, flat, stream-optimized, "
                        "snapshot chains), one export per disk",
  .unload             = vmdk_unload,
  .config             = vmdk_config,
  .config_complete    = vmdk_config_complete,
  .config_help        = vmdk_config_help,
  .magic_config_key   = "file",
  .get_ready          = vmdk_get_ready,
  .dump_plugin        = vmdk_dump_plugin,
  .list_exports       = vmdk_list_exports,
  .default_export     = vmdk_default_export,
  .open               = vmdk_open_conn,
  .close              = vmdk_close_conn,
  .export_description = vmdk_export_description,
  .get_size           = vmdk_get_size,
  .block_size         = vmdk_block_size,
  .can_write          = vmdk_can_write,
  .can_flush          = vmdk_can_flush,
  .can_trim           = vmdk_can_trim,
  .can_zero           = vmdk_can_zero,
  .can_fast_zero      = vmdk_can_fast_zero,
  .can_fua            = vmdk_can_fua,
  .can_multi_conn     = vmdk_can_multi_conn,
  .can_extents        = vmdk_can_extents,
  .can_cache          = vmdk_can_cache,
  .is_rotational      = vmdk_is_rotational,
  .pread              = vmdk_pread_cb,
  .pwrite             = vmdk_pwrite_cb,
  .flush              = vmdk_flush_cb,
  .trim               = vmdk_trim_cb,
  .zero               = vmdk_zero_cb,
  .extents            = vmdk_extents_cb,
  .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN (plugin)

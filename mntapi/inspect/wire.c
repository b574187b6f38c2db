/* Guest inspection: the child's message to the parent (inspect.h).
 *
 *   "VXG1" kind:u8 major:u32 minor:u32 is64:u8
 *   11 strings: vendor edition product distro version build hostname arch
 *               os_folder system_drive notes
 *   nfstab:u32, then per entry 3 strings: spec dir type
 *   nletters:u32, then per letter: letter:u8 gpt:u8 signature:u32 offset:u64
 *               guid (a string)
 * A string is len:u32 (0xffffffff: NULL) and len bytes; integers are
 * little-endian.  The decoder trusts nothing: every length is checked
 * against what is left and against the caps of inspect.h. */
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "inspect.h"

#define NOTES_MAX 8192
#define NO_STRING 0xffffffffu

struct out {
  unsigned char *b;
  size_t n, cap;
  bool oom;
};

static void
put (struct out *o, const void *p, size_t n)
{
  if (o->oom)
    return;
  if (o->n + n > o->cap) {
    size_t nc = (o->n + n) * 2 + 256;
    unsigned char *nb = realloc (o->b, nc);
    if (!nb) {
      o->oom = true;
      return;
    }
    o->b = nb;
    o->cap = nc;
  }
  memcpy (o->b + o->n, p, n);
  o->n += n;
}

static void
put32 (struct out *o, uint32_t v)
{
  unsigned char b[4] = { (unsigned char) v, (unsigned char) (v >> 8),
                         (unsigned char) (v >> 16), (unsigned char) (v >> 24) };
  put (o, b, 4);
}

static void
put64 (struct out *o, uint64_t v)
{
  put32 (o, (uint32_t) v);
  put32 (o, (uint32_t) (v >> 32));
}

static void
putstr (struct out *o, const char *s)
{
  if (!s) {
    put32 (o, NO_STRING);
    return;
  }
  put32 (o, (uint32_t) strlen (s));
  put (o, s, strlen (s));
}

int
vx_guest_encode (const struct vx_guest *g, unsigned char **buf, size_t *len)
{
  struct out o = { 0 };
  unsigned char b[2];
  const char *strs[] = { g->vendor, g->edition, g->product, g->distro, g->version, g->build,
                         g->hostname, g->arch, g->os_folder, g->system_drive, g->notes };

  put (&o, "VXG1", 4);
  b[0] = (unsigned char) g->kind;
  put (&o, b, 1);
  put32 (&o, g->major);
  put32 (&o, g->minor);
  b[0] = g->is64;
  put (&o, b, 1);
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    putstr (&o, strs[i]);
  put32 (&o, (uint32_t) g->nfstab);
  for (size_t i = 0; i < g->nfstab; i++) {
    putstr (&o, g->fstab[i].spec);
    putstr (&o, g->fstab[i].dir);
    putstr (&o, g->fstab[i].type);
  }
  put32 (&o, (uint32_t) g->nletters);
  for (size_t i = 0; i < g->nletters; i++) {
    b[0] = (unsigned char) g->letters[i].letter;
    b[1] = g->letters[i].gpt;
    put (&o, b, 2);
    put32 (&o, g->letters[i].mbr_signature);
    put64 (&o, g->letters[i].offset);
    putstr (&o, g->letters[i].gpt ? g->letters[i].guid : NULL);
  }
  if (o.oom) {
    free (o.b);
    return -1;
  }
  *buf = o.b;
  *len = o.n;
  return 0;
}

struct in {
  const unsigned char *p;
  size_t left;
  const char *why;
};

static bool
take (struct in *in, size_t n, const unsigned char **at)
{
  if (in->why)
    return false;
  if (n > in->left) {
    in->why = "truncated message";
    return false;
  }
  *at = in->p;
  in->p += n;
  in->left -= n;
  return true;
}

static uint32_t
get32 (struct in *in)
{
  const unsigned char *at;
  return take (in, 4, &at) ? le32 (at) : 0;
}

/* A string of at most MAX bytes; *S NULL for the NULL marker.  Notes keep
 * their newlines; other control bytes are cut (vx_guest_str). */
static void
getstr (struct in *in, char **s, size_t max, bool notes)
{
  uint32_t n = get32 (in);
  const unsigned char *at;

  *s = NULL;
  if (in->why || n == NO_STRING)
    return;
  if (n > max) {
    in->why = "string too long";
    return;
  }
  if (!take (in, n, &at))
    return;
  if (!notes)
    *s = vx_guest_str ((const char *) at, n);
  else if ((*s = malloc (n + 1)) != NULL) {
    for (uint32_t i = 0; i < n; i++)
      (*s)[i] = at[i] == '\n' || (at[i] >= 0x20 && at[i] != 0x7f) ? (char) at[i] : '?';
    (*s)[n] = '\0';
  }
  if (!*s)
    in->why = "out of memory";
}

int
vx_guest_decode (const unsigned char *buf, size_t len, struct vx_guest *g, const char **why)
{
  struct in in = { buf, len, NULL };
  const unsigned char *at;
  char **strs[] = { &g->vendor, &g->edition, &g->product, &g->distro, &g->version, &g->build,
                    &g->hostname, &g->arch, &g->os_folder, &g->system_drive, &g->notes };
  uint32_t n;

  memset (g, 0, sizeof *g);
  if (!take (&in, 4, &at) || memcmp (at, "VXG1", 4) != 0) {
    *why = "not an inspection message";
    return -1;
  }
  if (take (&in, 1, &at)) {
    if (*at > VX_GUEST_WINDOWS)
      in.why = "unknown guest kind";
    g->kind = (enum vx_guest_kind) *at;
  }
  g->major = get32 (&in);
  g->minor = get32 (&in);
  if (take (&in, 1, &at))
    g->is64 = *at != 0;
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
    getstr (&in, strs[i], i == 10 ? NOTES_MAX : VX_GUEST_STR_MAX, i == 10);
  n = get32 (&in);
  if (!in.why && n > VX_GUEST_FSTAB_MAX)
    in.why = "too many fstab entries";
  if (!in.why && n && !(g->fstab = calloc (n, sizeof *g->fstab)))
    in.why = "out of memory";
  for (uint32_t i = 0; !in.why && i < n; i++) {
    g->nfstab++;
    getstr (&in, &g->fstab[i].spec, VX_GUEST_STR_MAX, false);
    getstr (&in, &g->fstab[i].dir, VX_GUEST_STR_MAX, false);
    getstr (&in, &g->fstab[i].type, VX_GUEST_STR_MAX, false);
    if (!in.why && (!g->fstab[i].spec || !g->fstab[i].dir))
      in.why = "fstab entry without spec or mount point";
  }
  n = get32 (&in);
  if (!in.why && n > VX_GUEST_LETTERS_MAX)
    in.why = "too many drive letters";
  if (!in.why && n && !(g->letters = calloc (n, sizeof *g->letters)))
    in.why = "out of memory";
  for (uint32_t i = 0; !in.why && i < n; i++) {
    struct vx_win_letter *l = &g->letters[i];
    char *guid;
    g->nletters++;
    if (take (&in, 2, &at)) {
      l->letter = (char) at[0];
      l->gpt = at[1] != 0;
      if (l->letter < 'A' || l->letter > 'Z')
        in.why = "bad drive letter";
    }
    l->mbr_signature = get32 (&in);
    l->offset = get32 (&in);
    l->offset |= (uint64_t) get32 (&in) << 32;
    getstr (&in, &guid, 36, false);
    if (guid) {
      memcpy (l->guid, guid, strlen (guid) + 1);
      free (guid);
    }
    if (!in.why && l->gpt && strlen (l->guid) != 36)
      in.why = "bad partition GUID";
  }
  if (!in.why && in.left)
    in.why = "trailing bytes";
  if (in.why) {
    *why = in.why;
    vx_guest_free (g);
    return -1;
  }
  return 0;
}

/* vixmount VMDK engine: the text descriptor.
 *
 * Lenient where real writers differ (CRLF, blanks, comments, section order,
 * quoting of header values), strict where a mistake would change which bytes
 * are served (extent lines, numbers, type words).  Keys compare
 * case-insensitively, type and access words case-sensitively.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "parse.h"

static const struct { const char *word; enum vmdk_extent_type type; } types[] = {
  { "FLAT", VMDK_EXTENT_FLAT }, { "SPARSE", VMDK_EXTENT_SPARSE },
  { "ZERO", VMDK_EXTENT_ZERO }, { "VMFS", VMDK_EXTENT_VMFS },
  { "VMFSSPARSE", VMDK_EXTENT_VMFSSPARSE }, { "SESPARSE", VMDK_EXTENT_SESPARSE },
  { "VMFSRDM", VMDK_EXTENT_VMFSRDM }, { "VMFSRAW", VMDK_EXTENT_VMFSRAW },
};

bool
vx_parse_extent_type (const char *word, size_t n, enum vmdk_extent_type *t)
{
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strlen (types[i].word) == n && memcmp (types[i].word, word, n) == 0) {
      *t = types[i].type;
      return true;
    }
  return false;
}

const char *
vmdk_extent_type_name (enum vmdk_extent_type t)
{
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (types[i].type == t)
      return types[i].word;
  return "?";
}

const char *
vmdk_access_name (enum vmdk_access a)
{
  switch (a) {
  case VMDK_ACCESS_RW: return "RW";
  case VMDK_ACCESS_RDONLY: return "RDONLY";
  case VMDK_ACCESS_NOACCESS: return "NOACCESS";
  }
  return "?";
}

void
vx_desc_free (struct descriptor *d)
{
  for (size_t i = 0; i < d->n_extents; i++)
    free (d->extents[i].filename);
  for (size_t i = 0; i < d->n_ddb; i++) {
    free (d->ddb[i].key);
    free (d->ddb[i].value);
  }
  free (d->extents);
  free (d->ddb);
  free (d->text);
  free (d->encoding);
  free (d->create_type);
  free (d->parent_hint);
  memset (d, 0, sizeof *d);
}

/* A parsing cursor over one line [p, end). */
struct cur {
  const char *p, *end;
  const char *file;
  unsigned line;
  struct vmdk_error *err;
};

static void
skip_blanks (struct cur *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
    c->p++;
}

static bool
at_end_or_comment (struct cur *c)
{
  skip_blanks (c);
  return c->p == c->end || *c->p == '#';
}

static int
syntax (struct cur *c, const char *what)
{
  vx_err (c->err, VMDK_ERR_FORMAT, "%s: descriptor line %u: %s", c->file,
          c->line, what);
  return -1;
}

/* The decimal digits at the cursor as a u64 (the shared number parser on
 * them: extent lines have no hexadecimal), overflow-checked. */
static int
parse_u64 (struct cur *c, uint64_t *out, const char *what)
{
  const char *start = c->p;

  while (c->p < c->end && isdigit ((unsigned char) *c->p))
    c->p++;
  if (vx_parse_u64n (start, (size_t) (c->p - start), out) == -1) {
    vx_err (c->err, VMDK_ERR_FORMAT, "%s: descriptor line %u: %s %s", c->file,
            c->line, what, errno == ERANGE ? "is too large" : "is not a number");
    return -1;
  }
  return 0;
}

/* A double-quoted string (no escapes exist in the format). */
static int
parse_quoted (struct cur *c, char **out, const char *what)
{
  const char *q;

  if (c->p == c->end || *c->p != '"') {
    vx_err (c->err, VMDK_ERR_FORMAT,
            "%s: descriptor line %u: %s must be in double quotes", c->file,
            c->line, what);
    return -1;
  }
  q = memchr (c->p + 1, '"', (size_t) (c->end - c->p - 1));
  if (!q) {
    vx_err (c->err, VMDK_ERR_FORMAT,
            "%s: descriptor line %u: %s has no closing quote", c->file, c->line,
            what);
    return -1;
  }
  *out = strndup (c->p + 1, (size_t) (q - c->p - 1));
  if (!*out)
    return vx_oom (c->err, "descriptor");
  c->p = q + 1;
  return 0;
}

/* Value of key=value: quoted, or a bare word up to a blank or '#'. */
static int
parse_value (struct cur *c, char **out, const char *key)
{
  skip_blanks (c);
  if (c->p < c->end && *c->p == '"') {
    if (parse_quoted (c, out, key) == -1)
      return -1;
  }
  else {
    const char *s = c->p;
    while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '#')
      c->p++;
    *out = strndup (s, (size_t) (c->p - s));
    if (!*out)
      return vx_oom (c->err, "descriptor");
  }
  if (!at_end_or_comment (c)) {
    free (*out);
    *out = NULL;
    return syntax (c, "unexpected text after the value");
  }
  return 0;
}

static int
parse_hex32 (struct cur *c, const char *s, uint32_t *out, const char *key)
{
  uint64_t v = 0;
  size_t n = 0;

  for (; *s; s++, n++) {
    int x;
    if (*s >= '0' && *s <= '9') x = *s - '0';
    else if (*s >= 'a' && *s <= 'f') x = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F') x = *s - 'A' + 10;
    else {
      vx_err (c->err, VMDK_ERR_FORMAT,
              "%s: descriptor line %u: %s is not a hexadecimal number",
              c->file, c->line, key);
      return -1;
    }
    if (n >= 16) {
      vx_err (c->err, VMDK_ERR_FORMAT, "%s: descriptor line %u: %s is too long",
              c->file, c->line, key);
      return -1;
    }
    v = v << 4 | (uint64_t) x;
  }
  if (n == 0) {
    vx_err (c->err, VMDK_ERR_FORMAT, "%s: descriptor line %u: %s is empty",
            c->file, c->line, key);
    return -1;
  }
  *out = (uint32_t) v;  /* QEMU keeps the low 32 bits of longer values */
  return 0;
}

static int
parse_extent (struct cur *c, struct descriptor *d)
{
  struct desc_extent x = { .line = c->line };
  const char *w = c->p;
  void *grown;

  while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
    c->p++;
  if (c->p - w == 2 && memcmp (w, "RW", 2) == 0) x.access = VMDK_ACCESS_RW;
  else if (c->p - w == 6 && memcmp (w, "RDONLY", 6) == 0) x.access = VMDK_ACCESS_RDONLY;
  else x.access = VMDK_ACCESS_NOACCESS;
  skip_blanks (c);
  if (parse_u64 (c, &x.sectors, "extent size") == -1)
    return -1;
  if (x.sectors > VMDK_MAX_CAPACITY_SECTORS) {
    vx_err (c->err, VMDK_ERR_LIMIT,
            "%s: descriptor line %u: extent size %" PRIu64
            " sectors exceeds the limit of %" PRIu64, c->file, c->line,
            x.sectors, (uint64_t) VMDK_MAX_CAPACITY_SECTORS);
    return -1;
  }
  skip_blanks (c);
  w = c->p;
  while (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '#')
    c->p++;
  if (!vx_parse_extent_type (w, (size_t) (c->p - w), &x.type)) {
    vx_err (c->err, VMDK_ERR_FORMAT,
            "%s: descriptor line %u: unknown extent type \"%.*s\"", c->file,
            c->line, (int) (c->p - w > 32 ? 32 : c->p - w), w);
    return -1;
  }
  skip_blanks (c);
  if (x.type != VMDK_EXTENT_ZERO || (c->p < c->end && *c->p == '"')) {
    if (parse_quoted (c, &x.filename, "extent file name") == -1)
      return -1;
    if (x.filename[0] == '\0') {
      free (x.filename);
      return syntax (c, "empty extent file name");
    }
    skip_blanks (c);
    if (c->p < c->end && isdigit ((unsigned char) *c->p)) {
      if (parse_u64 (c, &x.offset, "extent offset") == -1) {
        free (x.filename);
        return -1;
      }
      x.has_offset = true;
    }
    /* Windows physical-disk descriptors may add more fields: ignored. */
  }
  if (d->n_extents >= VMDK_MAX_EXTENTS) {
    free (x.filename);
    vx_err (c->err, VMDK_ERR_LIMIT,
            "%s: descriptor has more than %d extents", c->file, VMDK_MAX_EXTENTS);
    return -1;
  }
  if ((d->n_extents & (d->n_extents - 1)) == 0) {  /* grow at powers of two */
    size_t cap = d->n_extents ? d->n_extents * 2 : 4;
    grown = realloc (d->extents, cap * sizeof *d->extents);
    if (!grown) {
      free (x.filename);
      return vx_oom (c->err, "extents");
    }
    d->extents = grown;
  }
  d->extents[d->n_extents++] = x;
  return 0;
}

static int
add_ddb (struct cur *c, struct descriptor *d, char *key, char *value)
{
  if (d->n_ddb >= VMDK_MAX_EXTENTS) {
    free (key); free (value);
    vx_err (c->err, VMDK_ERR_LIMIT, "%s: descriptor has more than %d ddb keys",
            c->file, VMDK_MAX_EXTENTS);
    return -1;
  }
  if ((d->n_ddb & (d->n_ddb - 1)) == 0) {
    size_t cap = d->n_ddb ? d->n_ddb * 2 : 8;
    void *grown = realloc (d->ddb, cap * sizeof *d->ddb);
    if (!grown) {
      free (key); free (value);
      return vx_oom (c->err, "ddb");
    }
    d->ddb = grown;
  }
  d->ddb[d->n_ddb].key = key;
  d->ddb[d->n_ddb].value = value;
  d->n_ddb++;
  return 0;
}

static bool
starts_word (const char *p, const char *end, const char *w)
{
  size_t n = strlen (w);
  return (size_t) (end - p) > n && memcmp (p, w, n) == 0
    && (p[n] == ' ' || p[n] == '\t');
}

static int
parse_kv (struct cur *c, struct descriptor *d, bool *seen_version)
{
  const char *k = c->p, *eq = memchr (c->p, '=', (size_t) (c->end - c->p));
  const char *kend;
  char *key, *value = NULL;

  if (!eq)
    return syntax (c, "neither key=value nor an extent line");
  kend = eq;
  while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
    kend--;
  if (kend == k)
    return syntax (c, "empty key");
  key = strndup (k, (size_t) (kend - k));
  if (!key)
    return vx_oom (c->err, "descriptor");
  c->p = eq + 1;
  if (parse_value (c, &value, key) == -1) {
    free (key);
    return -1;
  }

  if (strncasecmp (key, "ddb.", 4) == 0)
    return add_ddb (c, d, key, value);

  int r = 0;
  if (strcasecmp (key, "version") == 0) {
    uint64_t v = 0;
    int pr = vx_parse_u64 (value, &v);
    if (pr == -1 && errno == EINVAL)
      r = syntax (c, "version is not a number");
    else if (pr == -1 || v < 1 || v > 3) {
      vx_err (c->err, VMDK_ERR_UNSUPPORTED,
              "%s: descriptor line %u: version=%s is not supported (1 to 3 are)",
              c->file, c->line, value);
      r = -1;
    }
    else {
      d->version = (unsigned) v;
      *seen_version = true;
    }
  }
  else if (strcasecmp (key, "CID") == 0) {
    r = parse_hex32 (c, value, &d->cid, "CID");
    d->has_cid = r == 0;
  }
  else if (strcasecmp (key, "parentCID") == 0)
    r = parse_hex32 (c, value, &d->parent_cid, "parentCID");
  else if (strcasecmp (key, "createType") == 0) {
    free (d->create_type);
    d->create_type = value;
    value = NULL;
  }
  else if (strcasecmp (key, "parentFileNameHint") == 0) {
    free (d->parent_hint);
    d->parent_hint = value;
    value = NULL;
  }
  else if (strcasecmp (key, "encoding") == 0) {
    free (d->encoding);
    d->encoding = value;
    value = NULL;
  }
  /* isNativeSnapshot, changeTrackPath and unknown keys: ignored on read. */
  free (key);
  free (value);
  return r;
}

int
vx_desc_parse (const char *text, size_t len, const char *file,
               struct descriptor *d, struct vmdk_error *err)
{
  const char *nul, *p, *end;
  struct cur c = { .file = file, .err = err };
  bool seen_version = false;

  memset (d, 0, sizeof *d);
  d->parent_cid = 0xffffffff;
  if (len > VMDK_MAX_DESCRIPTOR_BYTES) {
    vx_err (err, VMDK_ERR_LIMIT, "%s: descriptor is %zu bytes, more than the limit of %d",
            file, len, VMDK_MAX_DESCRIPTOR_BYTES);
    return -1;
  }
  nul = memchr (text, '\0', len);
  end = nul ? nul : text + len;

  for (p = text; p < end; ) {
    const char *eol = memchr (p, '\n', (size_t) (end - p));
    const char *le = eol ? eol : end;

    c.line++;
    if (le - p > VMDK_MAX_LINE_BYTES) {
      vx_err (err, VMDK_ERR_LIMIT,
              "%s: descriptor line %u is longer than %d bytes", file, c.line,
              VMDK_MAX_LINE_BYTES);
      goto fail;
    }
    c.p = p;
    c.end = le;
    while (c.end > c.p && (c.end[-1] == '\r' || c.end[-1] == ' ' || c.end[-1] == '\t'))
      c.end--;
    p = eol ? eol + 1 : end;

    skip_blanks (&c);
    if (c.p == c.end || *c.p == '#')
      continue;
    if (memchr (c.p, '\0', (size_t) (c.end - c.p))) /* cannot happen: text ends at NUL */
      continue;
    if (starts_word (c.p, c.end, "RW") || starts_word (c.p, c.end, "RDONLY")
        || starts_word (c.p, c.end, "NOACCESS")) {
      if (parse_extent (&c, d) == -1)
        goto fail;
    }
    else {
      for (const char *q = c.p; q < c.end; q++)
        if ((unsigned char) *q < 0x20 && *q != '\t') {
          vx_err (err, VMDK_ERR_FORMAT,
                  "%s: descriptor line %u contains control characters: not a VMDK descriptor",
                  file, c.line);
          goto fail;
        }
      if (parse_kv (&c, d, &seen_version) == -1)
        goto fail;
    }
  }
  if (!seen_version) {
    vx_err (err, VMDK_ERR_FORMAT,
            "%s: not a VMDK descriptor (no version= line)", file);
    goto fail;
  }
  d->text_len = (size_t) (end - text);
  d->text = strndup (text, d->text_len);
  if (!d->text) {
    vx_oom (err, "descriptor");
    goto fail;
  }
  return 0;

 fail:
  vx_desc_free (d);
  return -1;
}

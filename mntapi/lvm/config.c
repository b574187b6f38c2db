/* vixmount LVM: lvm2's text configuration format (see lvm.h).
 *
 *   file    := entry*
 *   entry   := NAME '{' entry* '}'  |  NAME '=' value
 *   value   := STRING | INTEGER | FLOAT | '[' [ scalar (',' scalar)* ] ']'
 *   STRING  := '"' (any byte but '"' and '\', or '\' any byte)* '"'
 *   NAME    := [A-Za-z0-9_.+-]+ (also '/', '@', ':', '#' after the first)
 * '#' starts a comment that runs to the end of the line.  Blanks and
 * newlines separate tokens.  A NUL byte ends the text.
 *
 * Bounded: sections nest at most VX_LVM_MAX_DEPTH deep (the recursion's
 * depth), every allocation is smaller than the text, integers must fit in
 * 64 bits.  Errors name the line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lvm.h"

struct parser {
  const char *p, *end;
  unsigned line;
  char *err;
  size_t errlen;
  bool failed;
};

static void __attribute__ ((format (printf, 2, 3)))
fail (struct parser *ps, const char *fmt, ...)
{
  va_list ap;
  int n;

  if (ps->failed)
    return;
  ps->failed = true;
  if (!ps->err || !ps->errlen)
    return;
  n = snprintf (ps->err, ps->errlen, "metadata line %u: ", ps->line);
  if (n < 0 || (size_t) n >= ps->errlen)
    return;
  va_start (ap, fmt);
  vsnprintf (ps->err + n, ps->errlen - n, fmt, ap);
  va_end (ap);
}

/* Skips blanks, newlines and comments. */
static void
skip (struct parser *ps)
{
  while (ps->p < ps->end) {
    char ch = *ps->p;
    if (ch == '\n') {
      ps->line++;
      ps->p++;
    }
    else if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v')
      ps->p++;
    else if (ch == '#') {
      while (ps->p < ps->end && *ps->p != '\n')
        ps->p++;
    }
    else
      break;
  }
}

static bool
name_char (char ch, bool first)
{
  if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '+' || ch == '-')
    return true;
  return !first && (ch == '/' || ch == '@' || ch == ':' || ch == '#');
}

static char *
read_name (struct parser *ps)
{
  const char *s = ps->p;
  char *name;

  while (ps->p < ps->end && name_char (*ps->p, ps->p == s))
    ps->p++;
  if (ps->p == s) {
    if (ps->p < ps->end)
      fail (ps, "unexpected character '%c' (0x%02x)",
            (*ps->p >= 32 && *ps->p < 127) ? *ps->p : '?', (unsigned char) *ps->p);
    else
      fail (ps, "unexpected end of the text");
    return NULL;
  }
  name = strndup (s, (size_t) (ps->p - s));
  if (!name)
    fail (ps, "out of memory");
  return name;
}

static int
read_string (struct parser *ps, char **out)
{
  const char *s;
  size_t n = 0;
  char *d;

  s = ++ps->p;                  /* after the quote */
  while (ps->p < ps->end && *ps->p != '"') {
    if (*ps->p == '\\') {
      ps->p++;
      if (ps->p == ps->end)
        break;
    }
    if (*ps->p == '\n')
      ps->line++;
    ps->p++;
    n++;
  }
  if (ps->p >= ps->end) {
    fail (ps, "unterminated string");
    return -1;
  }
  d = malloc (n + 1);
  if (!d) {
    fail (ps, "out of memory");
    return -1;
  }
  *out = d;
  while (s < ps->p) {
    if (*s == '\\')
      s++;
    *d++ = *s++;
  }
  *d = '\0';
  ps->p++;                      /* the closing quote */
  return 0;
}

static int
read_number (struct parser *ps, struct vx_lvm_value *v)
{
  const char *s = ps->p;
  bool neg = false, dot = false;
  uint64_t u = 0;

  if (*ps->p == '-' || *ps->p == '+') {
    neg = *ps->p == '-';
    ps->p++;
  }
  if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
    fail (ps, "expected a value");
    return -1;
  }
  for (; ps->p < ps->end; ps->p++) {
    char ch = *ps->p;
    if (ch >= '0' && ch <= '9') {
      if (!dot && (__builtin_mul_overflow (u, 10, &u) ||
                   __builtin_add_overflow (u, (uint64_t) (ch - '0'), &u))) {
        fail (ps, "number out of range: %.*s", (int) (ps->p - s + 1), s);
        return -1;
      }
    }
    else if (ch == '.' && !dot)
      dot = true;
    else
      break;
  }
  if (dot) {
    v->type = VX_LVM_FLOAT;     /* kept as its integer part, never used */
    v->i = 0;
    return 0;
  }
  if (u > (uint64_t) INT64_MAX + (neg ? 1 : 0)) {
    fail (ps, "number out of range: %.*s", (int) (ps->p - s), s);
    return -1;
  }
  v->type = VX_LVM_INT;
  v->i = neg ? (int64_t) (0 - u) : (int64_t) u;
  return 0;
}

static int
read_scalar (struct parser *ps, struct vx_lvm_value *v)
{
  memset (v, 0, sizeof *v);
  if (ps->p >= ps->end) {
    fail (ps, "expected a value, found the end of the text");
    return -1;
  }
  if (*ps->p == '"') {
    v->type = VX_LVM_STR;
    return read_string (ps, &v->s);
  }
  return read_number (ps, v);
}

static void
values_free (struct vx_lvm_value *v, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    free (v[i].s);
  free (v);
}

static int
read_value (struct parser *ps, struct vx_lvm_node *node)
{
  size_t cap = 0;

  if (*ps->p != '[') {
    node->v = calloc (1, sizeof *node->v);
    if (!node->v) {
      fail (ps, "out of memory");
      return -1;
    }
    node->nv = 1;
    return read_scalar (ps, &node->v[0]);
  }
  node->array = true;
  ps->p++;
  for (;;) {
    skip (ps);
    if (ps->p < ps->end && *ps->p == ']' ) {
      ps->p++;
      return 0;
    }
    if (node->nv) {
      if (ps->p >= ps->end || *ps->p != ',') {
        fail (ps, "expected ',' or ']' in the array %s", node->key);
        return -1;
      }
      ps->p++;
      skip (ps);
    }
    if (node->nv == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      struct vx_lvm_value *nv = reallocarray (node->v, ncap, sizeof *nv);
      if (!nv) {
        fail (ps, "out of memory");
        return -1;
      }
      node->v = nv;
      cap = ncap;
    }
    if (read_scalar (ps, &node->v[node->nv]) < 0) {
      free (node->v[node->nv].s);
      return -1;
    }
    node->nv++;
  }
}

static void
node_free (struct vx_lvm_node *n)
{
  while (n) {
    struct vx_lvm_node *next = n->next;
    vx_lvm_config_free (n->child);
    values_free (n->v, n->nv);
    free (n->key);
    free (n);
    n = next;
  }
}

void
vx_lvm_config_free (struct vx_lvm_node *root)
{
  node_free (root);
}

/* The entries of a section up to '}' (CLOSED) or the end of the text. */
static int
read_entries (struct parser *ps, struct vx_lvm_node *sec, unsigned depth,
              bool closed)
{
  struct vx_lvm_node **tail = &sec->child;

  for (;;) {
    struct vx_lvm_node *n;

    skip (ps);
    if (ps->p >= ps->end) {
      if (closed) {
        fail (ps, "section %s is not closed (missing '}')", sec->key);
        return -1;
      }
      return 0;
    }
    if (*ps->p == '}') {
      if (!closed) {
        fail (ps, "'}' without a section");
        return -1;
      }
      ps->p++;
      return 0;
    }
    n = calloc (1, sizeof *n);
    if (!n) {
      fail (ps, "out of memory");
      return -1;
    }
    *tail = n;
    tail = &n->next;
    n->line = ps->line;
    n->key = read_name (ps);
    if (!n->key)
      return -1;
    skip (ps);
    if (ps->p < ps->end && *ps->p == '{') {
      if (depth + 1 >= VX_LVM_MAX_DEPTH) {
        fail (ps, "sections nested more than %d deep", VX_LVM_MAX_DEPTH);
        return -1;
      }
      ps->p++;
      n->section = true;
      if (read_entries (ps, n, depth + 1, true) < 0)
        return -1;
    }
    else if (ps->p < ps->end && *ps->p == '=') {
      ps->p++;
      skip (ps);
      if (ps->p >= ps->end) {
        fail (ps, "no value after %s =", n->key);
        return -1;
      }
      if (read_value (ps, n) < 0)
        return -1;
    }
    else {
      fail (ps, "expected '=' or '{' after %s", n->key);
      return -1;
    }
  }
}

struct vx_lvm_node *
vx_lvm_config_parse (const char *text, size_t len, char *err, size_t errlen)
{
  struct parser ps = {
    .p = text, .end = text + strnlen (text, len), .line = 1,
    .err = err, .errlen = errlen,
  };
  struct vx_lvm_node *root;

  if (err && errlen)
    err[0] = '\0';
  root = calloc (1, sizeof *root);
  if (!root) {
    fail (&ps, "out of memory");
    return NULL;
  }
  root->section = true;
  if (read_entries (&ps, root, 0, false) < 0) {
    vx_lvm_config_free (root);
    return NULL;
  }
  return root;
}

const struct vx_lvm_node *
vx_lvm_config_get (const struct vx_lvm_node *sec, const char *key)
{
  const struct vx_lvm_node *n;

  if (!sec)
    return NULL;
  for (n = sec->child; n; n = n->next)
    if (strcmp (n->key, key) == 0)
      return n;
  return NULL;
}

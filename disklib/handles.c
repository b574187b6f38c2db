/* libvixDiskLib: the handle registry.
 *
 * A VixDiskLibHandle or VixDiskLibConnection we hand out is the address of
 * a token in one of our slabs.  Before touching anything, every call checks
 * that the pointer it got is a token of ours (address inside a slab, on a
 * token boundary) and that the token is live and of the right kind, so
 * NULL, garbage, closed and double-closed handles are reported as errors
 * instead of crashing.  Closed tokens stay in quarantine until QUARANTINE
 * more have been closed, so a stale handle keeps failing cleanly instead
 * of silently naming a newer disk.
 *
 * Each live token counts the threads using it; closing marks the token so
 * that it stops validating, then waits for those threads to finish before
 * the object is freed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SLAB_TOKENS 256
#define QUARANTINE 1024

enum vx_state { ST_FREE, ST_LIVE, ST_CLOSING, ST_DEAD };

struct vx_token {
  enum vx_kind kind;
  enum vx_state state;
  unsigned refs;
  void *obj;
  struct vx_token *next;     /* free list / quarantine queue */
};

struct slab {
  struct slab *next;
  struct vx_token t[SLAB_TOKENS];
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cond = PTHREAD_COND_INITIALIZER;
static struct slab *slabs;
static struct vx_token *free_list;
static struct vx_token *q_head, *q_tail;   /* dead, oldest first */
static size_t q_len;

static struct vx_token *
find (const void *h)
{
  uintptr_t p = (uintptr_t) h;

  for (struct slab *s = slabs; s; s = s->next) {
    uintptr_t lo = (uintptr_t) &s->t[0], hi = (uintptr_t) &s->t[SLAB_TOKENS];
    if (p >= lo && p < hi) {
      if ((p - lo) % sizeof (struct vx_token) != 0)
        return NULL;
      return (struct vx_token *) h;
    }
  }
  return NULL;
}

struct vx_token *
vx_handle_new (enum vx_kind kind, void *obj)
{
  struct vx_token *t;

  pthread_mutex_lock (&reg_lock);
  if (!free_list && q_len > QUARANTINE) {
    /* recycle the oldest dead token */
    t = q_head;
    q_head = t->next;
    if (!q_head)
      q_tail = NULL;
    q_len--;
    t->next = NULL;
    free_list = t;
  }
  if (!free_list) {
    struct slab *s = calloc (1, sizeof *s);
    if (!s) {
      pthread_mutex_unlock (&reg_lock);
      return NULL;
    }
    s->next = slabs;
    slabs = s;
    for (size_t i = SLAB_TOKENS; i-- > 0; ) {
      s->t[i].next = free_list;
      free_list = &s->t[i];
    }
  }
  t = free_list;
  free_list = t->next;
  t->next = NULL;
  t->kind = kind;
  t->state = ST_LIVE;
  t->refs = 0;
  t->obj = obj;
  pthread_mutex_unlock (&reg_lock);
  return t;
}

static void *
get_locked (const void *h, enum vx_kind kind, VixError *err)
{
  struct vx_token *t;

  if (!h) {
    *err = VIX_E_INVALID_ARG;
    return NULL;
  }
  t = find (h);
  if (!t || t->state != ST_LIVE || t->kind != kind) {
    *err = VIX_E_INVALID_HANDLE;
    return NULL;
  }
  *err = VIX_OK;
  return t;
}

void *
vx_handle_get (const void *h, enum vx_kind kind, VixError *err)
{
  struct vx_token *t;
  void *obj = NULL;

  pthread_mutex_lock (&reg_lock);
  t = get_locked (h, kind, err);
  if (t) {
    t->refs++;
    obj = t->obj;
  }
  pthread_mutex_unlock (&reg_lock);
  return obj;
}

void
vx_handle_put (const void *h)
{
  struct vx_token *t;

  pthread_mutex_lock (&reg_lock);
  t = find (h);
  if (t && t->refs > 0) {
    t->refs--;
    if (t->refs == 0 && t->state == ST_CLOSING)
      pthread_cond_broadcast (&reg_cond);
  }
  pthread_mutex_unlock (&reg_lock);
}

void *
vx_handle_retire (const void *h, enum vx_kind kind, VixError *err)
{
  struct vx_token *t;
  void *obj;

  pthread_mutex_lock (&reg_lock);
  t = get_locked (h, kind, err);
  if (!t) {
    pthread_mutex_unlock (&reg_lock);
    return NULL;
  }
  t->state = ST_CLOSING;
  while (t->refs > 0)
    pthread_cond_wait (&reg_cond, &reg_lock);
  obj = t->obj;
  pthread_mutex_unlock (&reg_lock);
  return obj;
}

void
vx_handle_free (struct vx_token *t)
{
  if (!t)
    return;
  pthread_mutex_lock (&reg_lock);
  t->state = ST_DEAD;
  t->obj = NULL;
  t->next = NULL;
  if (q_tail)
    q_tail->next = t;
  else
    q_head = t;
  q_tail = t;
  q_len++;
  pthread_mutex_unlock (&reg_lock);
}

void **
vx_handle_list (enum vx_kind kind, size_t *n)
{
  void **v = NULL;
  size_t count = 0, i = 0;

  pthread_mutex_lock (&reg_lock);
  for (struct slab *s = slabs; s; s = s->next)
    for (size_t k = 0; k < SLAB_TOKENS; k++)
      if (s->t[k].state == ST_LIVE && s->t[k].kind == kind)
        count++;
  if (count)
    v = malloc (count * sizeof *v);
  if (v)
    for (struct slab *s = slabs; s; s = s->next)
      for (size_t k = 0; k < SLAB_TOKENS; k++)
        if (s->t[k].state == ST_LIVE && s->t[k].kind == kind)
          v[i++] = s->t[k].obj;
  pthread_mutex_unlock (&reg_lock);
  *n = i;
  return v;
}

void
vx_handle_reset (void)
{
  pthread_mutex_lock (&reg_lock);
  while (slabs) {
    struct slab *s = slabs;
    slabs = s->next;
    free (s);
  }
  free_list = q_head = q_tail = NULL;
  q_len = 0;
  pthread_mutex_unlock (&reg_lock);
}

/* vixmount VMDK engine: the grain-table cache.
 *
 * Loaded grain tables of every sparse extent of one open chain share a byte
 * budget.  Each table lives in a slot; slots sit on a CLOCK ring and are
 * evicted when an insertion takes the budget past its limit.  A table is
 * guarded by one of STRIPES small mutexes (hashed by extent and table): a
 * lookup holds it only to copy one entry out and set the slot's reference
 * bit, never across I/O.  A miss reads the table without any lock, then
 * takes the ring lock and the stripe to insert it (lock order: ring, then
 * stripe).  Writers write entries to the file first and then update the
 * cached copy; each stripe counts such updates so that a table read before
 * an update is thrown away instead of being inserted stale.
 *
 * Tables whose entries are all unallocated, or all zero grains, are not
 * kept: their summary (one byte per table, in the gtab) answers lookups and
 * block status for the whole table.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STRIPES 64

struct gt_slot {
  struct gtab *t;
  uint64_t gdi;
  size_t bytes;                /* the whole allocation, counted in the budget */
  size_t ring_pos;             /* index in the budget's ring */
  unsigned char ref;           /* CLOCK reference bit (atomic access) */
  uint64_t ent[];              /* the table as stored in the file */
};

struct stripe {
  pthread_mutex_t lock;
  uint64_t gen;                /* writer updates under this stripe */
} __attribute__ ((aligned (64)));

struct cache_budget {
  struct stripe stripe[STRIPES];
  pthread_mutex_t ring_lock;   /* ring, hand, used */
  struct gt_slot **ring;
  size_t n, cap, hand;
  size_t used, limit;
};

struct cache_budget *
vx_cache_new (size_t limit)
{
  struct cache_budget *b = calloc (1, sizeof *b);

  if (!b)
    return NULL;
  for (unsigned i = 0; i < STRIPES; i++)
    pthread_mutex_init (&b->stripe[i].lock, NULL);
  pthread_mutex_init (&b->ring_lock, NULL);
  b->limit = limit;
  return b;
}

void
vx_cache_free (struct cache_budget *b)
{
  if (!b)
    return;
  for (unsigned i = 0; i < STRIPES; i++)
    pthread_mutex_destroy (&b->stripe[i].lock);
  pthread_mutex_destroy (&b->ring_lock);
  free (b->ring);
  free (b);
}

static struct stripe *
stripe_of (const struct gtab *t, uint64_t gdi)
{
  return &t->budget->stripe[(gdi + t->id * 7) % STRIPES];
}

/* Ring lock held. */
static int
ring_push (struct cache_budget *b, struct gt_slot *p)
{
  if (b->n == b->cap) {
    size_t cap = b->cap ? 2 * b->cap : 256;
    struct gt_slot **r = realloc (b->ring, cap * sizeof *r);
    if (!r)
      return -1;
    b->ring = r;
    b->cap = cap;
  }
  p->ring_pos = b->n;
  b->ring[b->n++] = p;
  return 0;
}

/* Ring lock held: take slot i off the ring (the last slot moves into it). */
static void
ring_remove (struct cache_budget *b, size_t i)
{
  b->n--;
  if (i != b->n) {
    b->ring[i] = b->ring[b->n];
    b->ring[i]->ring_pos = i;
  }
}

/* Ring lock held: evict slots (CLOCK: a slot used since the hand last passed
 * gets a second chance) until the budget holds. */
static void
evict (struct cache_budget *b)
{
  size_t steps = 0;

  while (b->used > b->limit && b->n > 0) {
    struct gt_slot *v;
    struct stripe *s;

    if (b->hand >= b->n)
      b->hand = 0;
    v = b->ring[b->hand];
    if (steps++ < 2 * b->n
        && __atomic_exchange_n (&v->ref, 0, __ATOMIC_RELAXED)) {
      b->hand++;
      continue;
    }
    s = stripe_of (v->t, v->gdi);
    pthread_mutex_lock (&s->lock);
    v->t->gt_cache[v->gdi] = NULL;
    pthread_mutex_unlock (&s->lock);
    ring_remove (b, b->hand);
    b->used -= v->bytes;
    free (v);
  }
}

int
vx_gtcache_entry (struct gtab *t, uint64_t gdi, uint64_t gtoff, uint32_t slot,
                  uint8_t *ent, struct vmdk_error *err)
{
  struct cache_budget *b = t->budget;
  struct stripe *s = stripe_of (t, gdi);
  size_t esz = t->gte_size, gt_bytes = (size_t) t->gtes_per_gt * esz;

  for (;;) {
    struct gt_slot *p, *q;
    enum gt_summary sum;
    uint64_t gen;

    pthread_mutex_lock (&s->lock);
    p = t->gt_cache[gdi];
    if (p) {
      memcpy (ent, (const uint8_t *) p->ent + slot * esz, esz);
      __atomic_store_n (&p->ref, 1, __ATOMIC_RELAXED);
      pthread_mutex_unlock (&s->lock);
      return 0;
    }
    gen = s->gen;
    pthread_mutex_unlock (&s->lock);

    /* Miss: read the table with no lock held. */
    p = malloc (sizeof *p + gt_bytes);
    if (!p)
      return vx_oom (err, "grain table");
    if (vx_pread_full (t->fd, t->path, p->ent, gt_bytes, gtoff, "grain table",
                       err) == -1) {
      free (p);
      return -1;
    }
    memcpy (ent, (const uint8_t *) p->ent + slot * esz, esz);
    sum = vx_gtab_classify (t, (const uint8_t *) p->ent);

    if (sum != GTS_MIXED) {            /* uniform: keep the summary only */
      pthread_mutex_lock (&s->lock);
      bool fresh = s->gen == gen;
      if (fresh)
        __atomic_store_n (&t->gt_sum[gdi], (uint8_t) sum, __ATOMIC_RELEASE);
      pthread_mutex_unlock (&s->lock);
      free (p);
      if (fresh)
        return 0;
      continue;                        /* a writer changed it meanwhile */
    }

    p->t = t;
    p->gdi = gdi;
    p->bytes = sizeof *p + gt_bytes;
    p->ref = 1;
    pthread_mutex_lock (&b->ring_lock);
    pthread_mutex_lock (&s->lock);
    if (s->gen != gen) {
      pthread_mutex_unlock (&s->lock);
      pthread_mutex_unlock (&b->ring_lock);
      free (p);
      continue;
    }
    q = t->gt_cache[gdi];
    if (q || ring_push (b, p) == -1) { /* another reader inserted it, or no room
                                          on the ring: serve from our copy */
      pthread_mutex_unlock (&s->lock);
      pthread_mutex_unlock (&b->ring_lock);
      free (p);
      return 0;
    }
    t->gt_cache[gdi] = p;
    __atomic_store_n (&t->gt_sum[gdi], (uint8_t) GTS_MIXED, __ATOMIC_RELEASE);
    pthread_mutex_unlock (&s->lock);
    b->used += p->bytes;
    evict (b);
    pthread_mutex_unlock (&b->ring_lock);
    return 0;
  }
}

void
vx_gtcache_update (struct gtab *t, uint64_t gdi, uint32_t slot, const uint8_t *ent)
{
  struct stripe *s = stripe_of (t, gdi);
  struct gt_slot *p;

  pthread_mutex_lock (&s->lock);
  p = t->gt_cache[gdi];
  if (p)
    memcpy ((uint8_t *) p->ent + (size_t) slot * t->gte_size, ent, t->gte_size);
  __atomic_store_n (&t->gt_sum[gdi], (uint8_t) GTS_UNKNOWN, __ATOMIC_RELEASE);
  s->gen++;
  pthread_mutex_unlock (&s->lock);
}

void
vx_gtcache_drop (struct gtab *t)
{
  struct cache_budget *b = t->budget;

  if (!b || !t->gt_cache)
    return;
  pthread_mutex_lock (&b->ring_lock);
  for (uint64_t i = 0; i < t->n_gd; i++) {
    struct gt_slot *p = t->gt_cache[i];
    if (p) {
      ring_remove (b, p->ring_pos);
      b->used -= p->bytes;
      free (p);
      t->gt_cache[i] = NULL;
    }
  }
  pthread_mutex_unlock (&b->ring_lock);
}

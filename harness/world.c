/*
 * world.c: the simulated world. One thread, one virtual clock, one seeded
 * scheduler. The mapper under test is called only from esmc_world_run(), and
 * every host call it makes is answered here and recorded in the history.
 */
#define _POSIX_C_SOURCE 200809L
#include "world.h"
#include "tw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define ACCOUNT "123456789012"
#define GRACE_MS 10000           /* run on this long after quiescence */
#define IDLE_END_MS 1800000      /* streams, default horizon: a mapper idle
                                    this long after the script is over ends
                                    the run */
#define ITERATOR_TTL_MS 300000   /* Kinesis: iterators expire after 5 min */
#define MAX_GET_RECORDS 10000
#define STALL_LIMIT 200000       /* events at one instant before we give up */

/* ------------------------------------------------------------------------ */
/* Seeded randomness: splitmix64.                                            */

static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/* The scheduler: a binary heap ordered by (time, seeded tie, insertion).    */

enum qkind {
  Q_APPEND = 1,
  Q_CREATE,
  Q_CASE_EVENT,
  Q_TIMER,
  Q_COMPLETE,
  Q_END,
  /* Queues: a receive looks at the queue (a = receive index); a message
   * becomes visible (a = rid, b = its visibility generation); a message
   * reaches the end of the retention period (a = rid). */
  Q_RECV,
  Q_MSG_VISIBLE,
  Q_MSG_EXPIRE,
  /* A fault heals (a = index of its case event). */
  Q_HEAL
};

struct qitem {
  int64_t t;
  uint64_t tie;
  uint64_t order;
  enum qkind kind;
  uint32_t mapping;
  uint64_t a, b, c;
};

struct queue {
  struct qitem *v;
  size_t n, cap;
  uint64_t order;
};

static int q_less(const struct qitem *x, const struct qitem *y)
{
  if(x->t != y->t)
    return x->t < y->t;
  if(x->tie != y->tie)
    return x->tie < y->tie;
  return x->order < y->order;
}

static int q_push(struct queue *q, struct qitem it)
{
  size_t i;
  if(q->n == q->cap && esmc__vec_grow((void **)&q->v, &q->cap, sizeof(*q->v)))
    return -1;
  it.order = q->order++;
  i = q->n++;
  while(i > 0) {
    size_t p = (i - 1) / 2;
    if(!q_less(&it, &q->v[p]))
      break;
    q->v[i] = q->v[p];
    i = p;
  }
  q->v[i] = it;
  return 0;
}

static struct qitem q_pop(struct queue *q)
{
  struct qitem top = q->v[0], last = q->v[--q->n];
  size_t i = 0;
  for(;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    const struct qitem *mv = &last;
    if(l < q->n && q_less(&q->v[l], mv)) {
      m = l;
      mv = &q->v[l];
    }
    if(r < q->n && q_less(&q->v[r], mv))
      m = r;
    if(m == i)
      break;
    q->v[i] = q->v[m];
    i = m;
  }
  if(q->n)
    q->v[i] = last;
  return top;
}

/* ------------------------------------------------------------------------ */
/* Timers of one mapping incarnation: token -> generation (open addressing). */

struct timer_slot {
  uint64_t token;
  uint64_t gen;  /* 0: free slot; armed timers have gen == live gen */
  int armed;
};

struct timers {
  struct timer_slot *v;
  size_t cap, used;
};

static struct timer_slot *timer_find(struct timers *t, uint64_t token, int add)
{
  size_t i, mask;
  if(add && (t->used + 1) * 2 > t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64, k;
    struct timer_slot *nv = esmc_calloc(ncap, sizeof(*nv));
    if(!nv)
      return NULL;
    for(k = 0; k < t->cap; k++) {
      if(t->v[k].gen) {
        size_t j = (size_t)(t->v[k].token * UINT64_C(0x9e3779b97f4a7c15) >> 7) & (ncap - 1);
        while(nv[j].gen)
          j = (j + 1) & (ncap - 1);
        nv[j] = t->v[k];
      }
    }
    esmc_free(t->v);
    t->v = nv;
    t->cap = ncap;
  }
  if(!t->cap)
    return NULL;
  mask = t->cap - 1;
  i = (size_t)(token * UINT64_C(0x9e3779b97f4a7c15) >> 7) & mask;
  while(t->v[i].gen) {
    if(t->v[i].token == token)
      return &t->v[i];
    i = (i + 1) & mask;
  }
  if(!add)
    return NULL;
  t->v[i].token = token;
  t->v[i].gen = 1;
  t->v[i].armed = 0;
  t->used++;
  return &t->v[i];
}

/* ------------------------------------------------------------------------ */

struct iterator {
  uint32_t shard;
  uint32_t pos;
  int64_t issued;
};

/* One incarnation of a mapping: a create() ... destroy() span. */
struct incarnation {
  struct esmc_world *w;
  struct wmapping *m;
  uint32_t index; /* mapping index */
  int live;       /* between a successful create and destroy */
  void *state;
  struct esmc_host host;
  struct timers timers;
  const struct esmc_record **recbuf; /* get_records() result array */
  size_t recbuf_cap;
  const struct esmc_shard *shards;   /* list_shards() result */
  uint32_t inflight;
};

struct wmapping {
  uint32_t index;            /* in the scenario: 0 = the case's `mapping` */
  const struct esmc_config_spec *base; /* its configuration as created */
  const struct esmc_fn_script *fn;     /* its function's script */
  uint32_t fn_index;         /* 0 = the case's `function` */
  int64_t create_at_ms;
  char uuid[40];
  char function_arn[256];
  struct incarnation **inc; /* every incarnation, for late-call detection */
  size_t ninc;
  struct incarnation *cur;
  char (*ckpt)[64];          /* per shard; "" = none */
  uint32_t *deliveries;      /* per rid: invocations of this mapping */
  uint32_t *scope_start;     /* per shard; UINT32_MAX: not read yet */
  int64_t first_create_ms;   /* first successful create(); -1 none */
  int enabled;               /* per the case's config and accepted updates */
  int create_failed;
};

/* A function of the case: its rule budget and invocation numbers. */
struct wfunction {
  const struct esmc_fn_script *fn;
  uint32_t *rule_uses;       /* per rule */
  uint64_t invocation_count;
};

struct invocation {
  uint32_t mapping;
  struct incarnation *inc;
  long ev;                   /* history index of the INVOKE */
  enum esmc_invoke_outcome outcome;
  int32_t status;
  const char *function_error;
  char request_id[40];
  struct esmc_buf response;
  int done;
};

/* A queue message's life: the world's side of a world record. */
struct qmsg {
  enum esmc_msg_state state;
  uint32_t receive_count;
  int64_t first_receive_ms;  /* absolute; 0 before the first receive */
  uint64_t vis_gen;          /* visibility event generation */
  uint32_t latest;           /* delivery number of its latest receive; 0 */
};

/* One receive of one message: what the mapper got. */
struct delivery {
  struct esmc_message pub;
  char handle[64];
  uint32_t rid;
};

/* One receive_messages() call. */
struct recv {
  struct incarnation *inc;
  int64_t deadline;          /* relative */
  uint32_t max;
  int32_t vis_s;
  int done;
  const struct esmc_message **msgs; /* the result array, owned */
};

static int is_queue_source(enum esmc_source s)
{
  return s == ESMC_SOURCE_SQS || s == ESMC_SOURCE_SQS_FIFO;
}

struct esmc_world_internal {
  uint64_t rng;
  struct queue q;
  struct wmapping *mappings;        /* the scenario's, by index */
  uint32_t nmappings;
  struct wfunction *functions;      /* 1 + scenario->function_count */
  uint32_t nfunctions;
  uint8_t *fault_on;                /* per case event: a started fault */
  uint64_t *fault_calls;            /* per case event: calls it matched */
  const struct esmc_adapter *adapter;
  struct esmc_shard *pub_shards;
  uint32_t *visible;                /* per shard: records appended */
  uint32_t *sorted_by_seq;          /* rids sorted by seq, for lookups */
  struct iterator *its;
  size_t nits, capits;
  struct invocation *invs;
  size_t ninvs, capinvs;
  uint64_t pending_scripted;        /* APPEND and case events still queued */
  int destination_down;
  int end_scheduled;
  int64_t last_activity;            /* idle end: the last event that did
                                       something (idle_scan) */
  size_t idle_scanned;              /* history events looked at so far */
  int stop;
  struct esmc_run_outcome *out;
  uint8_t *plan_applied;            /* per case event: a valid reshard */
  jsmntok_t *toks;                  /* payload decoding, reused */
  size_t captoks;
  /* Queues (ABI v2). */
  struct qmsg *msgs;                /* per rid */
  uint32_t *group_inflight;         /* FIFO: messages in flight per group */
  uint32_t ngroups;
  struct delivery **dels;           /* every receive of a message, by number */
  size_t ndels, capdels;
  struct recv *recvs;               /* every receive_messages() call */
  size_t nrecvs, caprecvs;
  uint32_t *pend;                   /* receives that may still be waiting */
  size_t npend, cappend;
  uint64_t receives_done;           /* completed receives, duplicate_every */
  uint32_t queue_open;              /* messages not yet deleted, dead-
                                       lettered, expired or deduplicated */
};

/* ------------------------------------------------------------------------ */
/* Construction.                                                             */

static const struct esmc_world *sort_world;

static int cmp_by_seq(const void *x, const void *y)
{
  const struct esmc_wrecord *a = &sort_world->records[*(const uint32_t *)x];
  const struct esmc_wrecord *b = &sort_world->records[*(const uint32_t *)y];
  return esmc_seq_cmp(a->seq, b->seq);
}

struct order_item {
  uint32_t case_index;
  uint32_t shard;
  int64_t at;
};

static int cmp_order(const void *x, const void *y)
{
  const struct order_item *a = x, *b = y;
  if(a->shard != b->shard)
    return a->shard < b->shard ? -1 : 1;
  if(a->at != b->at)
    return a->at < b->at ? -1 : 1;
  return a->case_index < b->case_index ? -1 : a->case_index > b->case_index;
}

static void make_event_id(char *out, size_t n, uint64_t seed_part)
{
  uint64_t s = seed_part, a = rng_next(&s), b = rng_next(&s);
  snprintf(out, n, "%016" PRIx64 "%016" PRIx64, a, b);
}

/* ------------------------------------------------------------------------ */
/* The shard plan: the original shards split the 64-bit hash-key space
 * evenly; each valid reshard event closes its parents at its instant and
 * opens children numbered after every shard so far.                        */

#define PLAN_MAX_SHARDS 4096

struct pshard {
  uint64_t lo, hi;
  int64_t created, closed;
  uint32_t nparents, parents[2];
};

struct pevent {
  int64_t at;
  size_t index;
};

static int cmp_pevent(const void *x, const void *y)
{
  const struct pevent *a = x, *b = y;
  if(a->at != b->at)
    return a->at < b->at ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

static int is_reshard(enum esmc_case_event_kind k)
{
  return k == ESMC_CASE_SPLIT || k == ESMC_CASE_MERGE ||
         k == ESMC_CASE_ROLLOVER;
}

static const char *reshard_path(enum esmc_case_event_kind k)
{
  return k == ESMC_CASE_SPLIT ? "split.shard"
         : k == ESMC_CASE_MERGE ? "merge.shards"
                                : "rollover.shard";
}

uint64_t esmc_world_hash_key(const char *partition_key, uint32_t n)
{
  uint64_t f = esmc_fnv1a(ESMC_FNV_INIT, partition_key,
                          partition_key ? strlen(partition_key) : 0);
  uint64_t step;
  if(n == 0)
    n = 1;
  step = UINT64_MAX / n;
  /* FNV-1a clusters short similar keys ("k1", "k2") in its high bits: the
   * offset inside the shard's range is the hash mixed (splitmix64's
   * finalizer), so a split divides such keys between the children. */
  {
    uint64_t z = f;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return (f % n) * step + z % step;
  }
}

/* Why shard s cannot be resharded at t, into why; 0 when it can. */
static int plan_shard_open(const struct pshard *v, uint32_t n, int32_t s,
                           int64_t t, char *why, size_t why_size)
{
  if(s < 0 || (uint32_t)s >= n) {
    snprintf(why, why_size, "shard %" PRId32 " does not exist at t=%" PRId64
             " ms (the stream has %" PRIu32 " shard%s by then)", s, t, n,
             n == 1 ? "" : "s");
    return -1;
  }
  if(v[s].closed <= t) {
    snprintf(why, why_size, "shard %" PRId32 " is already closed at t=%" PRId64
             " ms (it closed at t=%" PRId64 " ms)", s, t, v[s].closed);
    return -1;
  }
  return 0;
}

/* Build the plan of sc into *out (esmc_malloc'ed) and *nout. applied (one
 * byte per case event, or NULL) marks the reshard events that were valid.
 * Returns 0, 1 with the first problem in msg and *bad_event, or -1 (out of
 * memory). Invalid events are skipped. */
static int plan_build(const struct esmc_scenario *sc, struct pshard **out,
                      uint32_t *nout, uint8_t *applied, char *msg,
                      size_t msg_size, size_t *bad_event)
{
  uint32_t orig = sc->shard_count > 0 ? (uint32_t)sc->shard_count : 1, n, i;
  uint64_t step = UINT64_MAX / orig;
  size_t ne = 0, k, cap = orig;
  struct pevent *evs = NULL;
  struct pshard *v;
  int rc = 0;
  char why[200];

  *out = NULL;
  *nout = 0;
  for(k = 0; k < sc->event_count; k++)
    if(is_reshard(sc->events[k].kind))
      ne++;
  cap = orig + 2 * ne;
  v = esmc_calloc(cap, sizeof(*v));
  evs = esmc_calloc(ne ? ne : 1, sizeof(*evs));
  if(!v || !evs) {
    esmc_free(v);
    esmc_free(evs);
    return -1;
  }
  for(i = 0; i < orig; i++) {
    v[i].lo = i * step;
    v[i].hi = i + 1 == orig ? UINT64_MAX : (i + 1) * step - 1;
    v[i].created = 0;
    v[i].closed = INT64_MAX;
  }
  n = orig;
  for(k = 0, ne = 0; k < sc->event_count; k++)
    if(is_reshard(sc->events[k].kind)) {
      evs[ne].at = sc->events[k].at_ms;
      evs[ne++].index = k;
    }
  qsort(evs, ne, sizeof(*evs), cmp_pevent);
  for(k = 0; k < ne; k++) {
    const struct esmc_case_event *ce = &sc->events[evs[k].index];
    int64_t t = ce->at_ms;
    int32_t a = ce->shards[0], b = ce->shards[1];
    uint32_t nchild = ce->kind == ESMC_CASE_SPLIT ? 2 : 1;
    why[0] = '\0';
    if(plan_shard_open(v, n, a, t, why, sizeof(why)) == 0) {
      if(ce->kind == ESMC_CASE_SPLIT && v[a].lo == v[a].hi)
        snprintf(why, sizeof(why), "shard %" PRId32 " covers a single hash "
                 "key and cannot be split", a);
      else if(ce->kind == ESMC_CASE_MERGE) {
        if(a == b)
          snprintf(why, sizeof(why), "a merge needs two different shards");
        else if(plan_shard_open(v, n, b, t, why, sizeof(why)) == 0 &&
                !(v[a].hi != UINT64_MAX && v[a].hi + 1 == v[b].lo) &&
                !(v[b].hi != UINT64_MAX && v[b].hi + 1 == v[a].lo))
          snprintf(why, sizeof(why), "shards %" PRId32 " and %" PRId32
                   " are not adjacent (their hash-key ranges do not touch)",
                   a, b);
      }
    }
    if(!why[0] && n + nchild > PLAN_MAX_SHARDS)
      snprintf(why, sizeof(why), "more than %d shards", PLAN_MAX_SHARDS);
    if(why[0]) {
      if(rc == 0) {
        rc = 1;
        if(msg && msg_size)
          snprintf(msg, msg_size, "events[%zu].%s: %s", evs[k].index,
                   reshard_path(ce->kind), why);
        if(bad_event)
          *bad_event = evs[k].index;
      }
      continue;
    }
    if(applied)
      applied[evs[k].index] = 1;
    v[a].closed = t;
    for(i = 0; i < nchild; i++) {
      struct pshard *c = &v[n + i];
      c->created = t;
      c->closed = INT64_MAX;
      c->nparents = 1;
      c->parents[0] = (uint32_t)a;
      c->lo = v[a].lo;
      c->hi = v[a].hi;
    }
    if(ce->kind == ESMC_CASE_SPLIT) {
      uint64_t mid = v[a].lo + (v[a].hi - v[a].lo) / 2;
      v[n].hi = mid;
      v[n + 1].lo = mid + 1;
    } else if(ce->kind == ESMC_CASE_MERGE) {
      v[b].closed = t;
      v[n].nparents = 2;
      v[n].parents[1] = (uint32_t)b;
      v[n].lo = v[a].lo < v[b].lo ? v[a].lo : v[b].lo;
      v[n].hi = v[a].hi > v[b].hi ? v[a].hi : v[b].hi;
    }
    n += nchild;
  }
  esmc_free(evs);
  *out = v;
  *nout = n;
  return rc;
}

/* The shard a record goes to: its explicit shard when that is open at its
 * append time, else the open shard whose range covers its hash key. */
static uint32_t plan_place(const struct pshard *v, uint32_t n, uint32_t orig,
                           int32_t explicit_shard, int64_t at, const char *pk)
{
  uint64_t hk = esmc_world_hash_key(pk, orig);
  uint32_t s;
  if(explicit_shard >= 0 && (uint32_t)explicit_shard < n &&
     v[explicit_shard].created <= at && at < v[explicit_shard].closed)
    return (uint32_t)explicit_shard;
  if(n == orig)
    return (uint32_t)(esmc_fnv1a(ESMC_FNV_INIT, pk, strlen(pk)) % orig);
  for(s = 0; s < n; s++)
    if(v[s].created <= at && at < v[s].closed && v[s].lo <= hk &&
       hk <= v[s].hi)
      return s;
  return 0; /* not reached: the open shards cover every hash key */
}

static const char *record_key(const struct esmc_case_record *cr)
{
  return cr->partition_key ? cr->partition_key
         : cr->keys_json   ? cr->keys_json
                           : cr->id ? cr->id : "";
}

int esmc_world_check_plan(const struct esmc_scenario *sc, char *msg,
                          size_t msg_size, size_t *event, size_t *record)
{
  struct pshard *v = NULL;
  uint32_t n = 0;
  size_t i, bad = SIZE_MAX;
  int rc;
  if(event)
    *event = SIZE_MAX;
  if(record)
    *record = SIZE_MAX;
  rc = plan_build(sc, &v, &n, NULL, msg, msg_size, &bad);
  if(rc < 0)
    return -1;
  if(rc > 0) {
    if(event)
      *event = bad;
    esmc_free(v);
    return 1;
  }
  for(i = 0; i < sc->record_count; i++) {
    const struct esmc_case_record *cr = &sc->records[i];
    int32_t s = cr->shard;
    if(s < 0)
      continue;
    if((uint32_t)s >= n) {
      if(msg && msg_size)
        snprintf(msg, msg_size, "record \"%s\": shard %" PRId32 " does not "
                 "exist (the stream has %" PRIu32 " shard%s, counting those "
                 "resharding creates)", cr->id ? cr->id : "?", s, n,
                 n == 1 ? "" : "s");
      rc = 1;
    } else if(cr->at_ms < v[s].created || cr->at_ms >= v[s].closed) {
      if(msg && msg_size) {
        if(cr->at_ms < v[s].created)
          snprintf(msg, msg_size, "record \"%s\": shard %" PRId32 " is not "
                   "open at its append time t=%" PRId64 " ms (it opens at "
                   "t=%" PRId64 " ms)", cr->id ? cr->id : "?", s, cr->at_ms,
                   v[s].created);
        else
          snprintf(msg, msg_size, "record \"%s\": shard %" PRId32 " is not "
                   "open at its append time t=%" PRId64 " ms (it closes at "
                   "t=%" PRId64 " ms)", cr->id ? cr->id : "?", s, cr->at_ms,
                   v[s].closed);
      }
      rc = 1;
    }
    if(rc) {
      if(record)
        *record = i;
      break;
    }
  }
  esmc_free(v);
  return rc;
}

int esmc_world_shard_exists(const struct esmc_world *w, uint32_t s, int64_t t)
{
  return s < w->nshards && w->shards[s].created_ms <= t;
}

static int queue_setup(struct esmc_world *w);

static void make_uuid(char *out, size_t n, uint64_t seed)
{
  uint64_t s = seed, a = rng_next(&s), b = rng_next(&s);
  snprintf(out, n,
           "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-8%03" PRIx32 "-%012" PRIx64,
           (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff,
           (uint32_t)a & 0xfff, (uint32_t)(b >> 52) & 0xfff,
           b & UINT64_C(0xffffffffffff));
}

/* The mappings and functions of the scenario: mapping 0 is the case's
 * `mapping` with its UUID and function ARN in w->mapping_uuid and
 * w->function_arn as before; mapping i > 0 gets a UUID of its own, and a
 * function other than the case's its own ARN. */
static int mappings_new(struct esmc_world *w, uint32_t nsh)
{
  struct esmc_world_internal *in = w->in;
  const struct esmc_scenario *sc = w->sc;
  uint32_t i, s, nm = (uint32_t)esmc_scenario_mapping_count(sc);
  uint32_t nrec = w->nrecords ? w->nrecords : 1;
  in->nfunctions = 1 + (uint32_t)sc->function_count;
  in->functions = esmc_calloc(in->nfunctions, sizeof(*in->functions));
  in->mappings = esmc_calloc(nm, sizeof(*in->mappings));
  if(!in->functions || !in->mappings)
    return -1;
  for(i = 0; i < in->nfunctions; i++) {
    struct wfunction *f = &in->functions[i];
    f->fn = i == 0 ? &sc->function : &sc->functions[i - 1];
    f->rule_uses = esmc_calloc(f->fn->rule_count + 1, sizeof(uint32_t));
    if(!f->rule_uses)
      return -1;
  }
  in->nmappings = nm;
  for(i = 0; i < nm; i++) {
    struct wmapping *m = &in->mappings[i];
    m->index = i;
    m->base = i == 0 ? &sc->config : &sc->extra[i - 1].config;
    m->create_at_ms = i == 0 ? sc->create_at_ms : sc->extra[i - 1].create_at_ms;
    m->fn_index = i == 0 ? 0 : sc->extra[i - 1].function;
    if(m->fn_index >= in->nfunctions)
      m->fn_index = 0;
    m->fn = in->functions[m->fn_index].fn;
    m->first_create_ms = -1;
    /* Mapping 0 keeps the UUID it always had (seed ^ 0x5eed). */
    make_uuid(m->uuid, sizeof(m->uuid),
              (w->seed ^ UINT64_C(0x5eed)) + (uint64_t)i * UINT64_C(0x9e37));
    if(m->fn_index == 0)
      snprintf(m->function_arn, sizeof(m->function_arn),
               "arn:aws:lambda:us-east-1:" ACCOUNT ":function:esmcheck-function");
    else
      snprintf(m->function_arn, sizeof(m->function_arn),
               "arn:aws:lambda:us-east-1:" ACCOUNT ":function:%s",
               m->fn->name ? m->fn->name : "esmcheck-function");
    m->ckpt = esmc_calloc(nsh ? nsh : 1, 64);
    m->scope_start = esmc_calloc(nsh ? nsh : 1, sizeof(uint32_t));
    m->deliveries = esmc_calloc(nrec, sizeof(uint32_t));
    if(!m->ckpt || !m->scope_start || !m->deliveries)
      return -1;
    for(s = 0; s < nsh; s++)
      m->scope_start[s] = UINT32_MAX;
  }
  snprintf(w->mapping_uuid, sizeof(w->mapping_uuid), "%s", in->mappings[0].uuid);
  snprintf(w->function_arn, sizeof(w->function_arn), "%s",
           in->mappings[0].function_arn);
  return 0;
}

static void incarnation_free(struct incarnation *inc);

static void mappings_free(struct esmc_world_internal *in)
{
  uint32_t i;
  size_t k;
  for(i = 0; in->mappings && i < in->nmappings; i++) {
    struct wmapping *m = &in->mappings[i];
    for(k = 0; k < m->ninc; k++)
      incarnation_free(m->inc[k]);
    esmc_free(m->inc);
    esmc_free(m->ckpt);
    esmc_free(m->scope_start);
    esmc_free(m->deliveries);
  }
  esmc_free(in->mappings);
  for(i = 0; in->functions && i < in->nfunctions; i++)
    esmc_free(in->functions[i].rule_uses);
  esmc_free(in->functions);
}

/* When each record leaves the stream: at the end of the retention period,
 * or earlier at a trim event that covers it (ESMC_CASE_TRIM). Within a
 * shard the times never decrease with the index. */
static void set_trim_times(struct esmc_world *w)
{
  const struct esmc_scenario *sc = w->sc;
  uint32_t i;
  size_t k;
  for(i = 0; i < w->nrecords; i++) {
    struct esmc_wrecord *r = &w->records[i];
    r->trim_ms = r->at_ms + sc->retention_ms;
    for(k = 0; k < sc->event_count; k++) {
      const struct esmc_case_event *ce = &sc->events[k];
      if(ce->kind != ESMC_CASE_TRIM || w->queue)
        continue;
      if(ce->shards[0] >= 0 && (uint32_t)ce->shards[0] != r->shard)
        continue;
      if(r->at_ms < ce->trim_before_ms && ce->at_ms < r->trim_ms)
        r->trim_ms = ce->at_ms < r->at_ms ? r->at_ms : ce->at_ms;
    }
  }
}

int esmc_world_new(const struct esmc_scenario *sc, uint64_t seed,
                   struct esmc_world **out)
{
  struct esmc_world *w;
  struct esmc_world_internal *in;
  struct order_item *ord = NULL;
  struct pshard *plan = NULL;
  uint32_t i, nsh = 0, orig = sc->shard_count > 0 ? (uint32_t)sc->shard_count : 1;
  int kin = sc->source != ESMC_SOURCE_DYNAMODB;

  *out = NULL;
  w = esmc_calloc(1, sizeof(*w));
  in = esmc_calloc(1, sizeof(*in));
  if(!w || !in) {
    esmc_free(w);
    esmc_free(in);
    return -1;
  }
  w->in = in;
  in->plan_applied = esmc_calloc(sc->event_count ? sc->event_count : 1, 1);
  if(!in->plan_applied ||
     plan_build(sc, &plan, &nsh, in->plan_applied, NULL, 0, NULL) < 0) {
    esmc_free(in->plan_applied);
    esmc_free(w);
    esmc_free(in);
    return -1;
  }
  w->sc = sc;
  w->seed = seed;
  w->epoch_ms = sc->start_epoch_ms;
  in->rng = seed;
  esmc_history_init(&w->hist);
  snprintf(w->region, sizeof(w->region), "us-east-1");
  w->queue = is_queue_source(sc->source);
  if(w->queue) {
    /* The queue's ARN stands where a stream's would; a FIFO dead-letter
     * queue must be FIFO too, so its name keeps the ".fifo" suffix. */
    const char *qn = sc->queue.name;
    size_t ql;
    int fifo = sc->source == ESMC_SOURCE_SQS_FIFO;
    snprintf(w->queue_name, sizeof(w->queue_name), "%s",
             qn ? qn : fifo ? "esmcheck-queue.fifo" : "esmcheck-queue");
    snprintf(w->stream_arn, sizeof(w->stream_arn),
             "arn:aws:sqs:us-east-1:" ACCOUNT ":%s", w->queue_name);
    ql = strlen(w->queue_name);
    if(fifo && ql > 5)
      ql -= 5;
    if(sc->queue.max_receive_count > 0)
      snprintf(w->dlq_arn, sizeof(w->dlq_arn),
               "arn:aws:sqs:us-east-1:" ACCOUNT ":%.*s-dlq%s", (int)ql,
               w->queue_name, fifo ? ".fifo" : "");
  } else if(kin)
    snprintf(w->stream_arn, sizeof(w->stream_arn),
             "arn:aws:kinesis:us-east-1:" ACCOUNT ":stream/%s",
             sc->stream_name ? sc->stream_name : "esmcheck-stream");
  else {
    struct esmc_buf b;
    esmc_buf_init(&b);
    esmc_buf_printf(&b, "arn:aws:dynamodb:us-east-1:" ACCOUNT ":table/%s/stream/",
                    sc->stream_name ? sc->stream_name : "esmcheck-table");
    esmc_buf_iso8601(&b, w->epoch_ms, 1);
    if(b.len && b.data[b.len - 1] == 'Z')
      b.data[--b.len] = '\0'; /* labels look like 2024-01-01T00:00:00.000 */
    snprintf(w->stream_arn, sizeof(w->stream_arn), "%s", b.data ? b.data : "");
    esmc_buf_free(&b);
  }
  snprintf(w->role_arn, sizeof(w->role_arn),
           "arn:aws:iam::" ACCOUNT ":role/esmcheck-function-role");

  w->nshards = nsh;
  w->shards = esmc_calloc(nsh, sizeof(*w->shards));
  in->pub_shards = esmc_calloc(nsh, sizeof(*in->pub_shards));
  in->visible = esmc_calloc(nsh, sizeof(uint32_t));
  w->nrecords = (uint32_t)sc->record_count;
  w->records = esmc_calloc(w->nrecords ? w->nrecords : 1, sizeof(*w->records));
  in->sorted_by_seq = esmc_calloc(w->nrecords ? w->nrecords : 1, sizeof(uint32_t));
  in->fault_on = esmc_calloc(sc->event_count ? sc->event_count : 1, 1);
  in->fault_calls = esmc_calloc(sc->event_count ? sc->event_count : 1,
                                sizeof(uint64_t));
  ord = esmc_calloc(w->nrecords ? w->nrecords : 1, sizeof(*ord));
  if(!w->shards || !in->pub_shards || !in->visible || !w->records ||
     !in->sorted_by_seq || !in->fault_on || !in->fault_calls || !ord ||
     mappings_new(w, nsh))
    goto oom;

  for(i = 0; i < nsh; i++) {
    struct esmc_wshard *sh = &w->shards[i];
    uint32_t p;
    snprintf(sh->id, sizeof(sh->id), "shardId-%012u", i);
    sh->nparents = plan[i].nparents;
    for(p = 0; p < sh->nparents; p++)
      sh->parents[p] = plan[i].parents[p];
    sh->created_ms = plan[i].created;
    sh->closed_ms = plan[i].closed;
    sh->hash_lo = plan[i].lo;
    sh->hash_hi = plan[i].hi;
    if(kin)
      snprintf(sh->starting_seq, sizeof(sh->starting_seq), "49%06u%048u", i, 0u);
    else
      snprintf(sh->starting_seq, sizeof(sh->starting_seq), "1%04u%016u", i, 0u);
    in->pub_shards[i].shard_id = sh->id;
    in->pub_shards[i].starting_sequence_number = sh->starting_seq;
  }
  for(i = 0; i < nsh; i++) {
    if(w->shards[i].nparents > 0)
      in->pub_shards[i].parent_shard_id = w->shards[w->shards[i].parents[0]].id;
    if(w->shards[i].nparents > 1)
      in->pub_shards[i].adjacent_parent_shard_id =
          w->shards[w->shards[i].parents[1]].id;
  }

  /* Place each record on its shard, then order each shard by append time
   * (ties in case order) and number the records. */
  for(i = 0; i < w->nrecords; i++) {
    const struct esmc_case_record *cr = &sc->records[i];
    ord[i].case_index = i;
    ord[i].at = cr->at_ms;
    ord[i].shard = plan_place(plan, nsh, orig, cr->shard, cr->at_ms,
                              record_key(cr));
  }
  qsort(ord, w->nrecords, sizeof(*ord), cmp_order);
  for(i = 0; i < w->nrecords; i++) {
    struct esmc_wrecord *r = &w->records[i];
    const struct esmc_case_record *cr = &sc->records[ord[i].case_index];
    struct esmc_wshard *sh = &w->shards[ord[i].shard];
    r->rid = i;
    r->shard = ord[i].shard;
    r->index = sh->n++;
    r->case_index = ord[i].case_index;
    r->at_ms = cr->at_ms;
    if(kin)
      snprintf(r->seq, sizeof(r->seq), "49%06u%048u", r->shard, r->index + 1);
    else
      snprintf(r->seq, sizeof(r->seq), "1%04u%016u", r->shard, r->index + 1);
    make_event_id(r->event_id, sizeof(r->event_id), seed * 31 + i + 1);
    r->pub.shard_id = sh->id;
    r->pub.sequence_number = r->seq;
    r->pub.partition_key = cr->partition_key ? cr->partition_key
                           : cr->keys_json   ? cr->keys_json
                                             : cr->id;
    r->pub.data = cr->data;
    r->pub.data_len = cr->data_len;
    r->pub.approximate_arrival_ms = w->epoch_ms + cr->at_ms;
    if(!kin) {
      r->pub.event_id = r->event_id;
      r->pub.ddb_event_name = cr->event_name ? cr->event_name : ESMC_DDB_INSERT;
      r->pub.ddb_keys_json = cr->keys_json ? cr->keys_json : "{}";
      r->pub.ddb_stream_view_type =
          sc->stream_view_type ? sc->stream_view_type : "NEW_AND_OLD_IMAGES";
      /* The stream keeps only the images its view type asks for. */
      if(strcmp(r->pub.ddb_stream_view_type, "NEW_IMAGE") == 0 ||
         strcmp(r->pub.ddb_stream_view_type, "NEW_AND_OLD_IMAGES") == 0)
        r->pub.ddb_new_image_json = cr->new_image_json;
      if(strcmp(r->pub.ddb_stream_view_type, "OLD_IMAGE") == 0 ||
         strcmp(r->pub.ddb_stream_view_type, "NEW_AND_OLD_IMAGES") == 0)
        r->pub.ddb_old_image_json = cr->old_image_json;
      r->pub.ddb_size_bytes =
          strlen(r->pub.ddb_keys_json) +
          (cr->new_image_json ? strlen(cr->new_image_json) : 0) +
          (cr->old_image_json ? strlen(cr->old_image_json) : 0);
    }
  }
  for(i = 0; i < nsh; i++) {
    w->shards[i].rids = esmc_calloc(w->shards[i].n ? w->shards[i].n : 1,
                                    sizeof(uint32_t));
    if(!w->shards[i].rids)
      goto oom;
    w->shards[i].n = 0;
  }
  for(i = 0; i < w->nrecords; i++) {
    struct esmc_wshard *sh = &w->shards[w->records[i].shard];
    sh->rids[sh->n++] = i;
    in->sorted_by_seq[i] = i;
  }
  /* A closed shard ends at its last record, or below its first. */
  for(i = 0; i < nsh; i++) {
    struct esmc_wshard *sh = &w->shards[i];
    snprintf(sh->ending_seq, sizeof(sh->ending_seq), "%s",
             sh->n ? w->records[sh->rids[sh->n - 1]].seq : sh->starting_seq);
  }
  set_trim_times(w);
  if(w->queue && queue_setup(w))
    goto oom;
  sort_world = w;
  qsort(in->sorted_by_seq, w->nrecords, sizeof(uint32_t), cmp_by_seq);
  sort_world = NULL;
  esmc_free(ord);
  esmc_free(plan);
  *out = w;
  return 0;
oom:
  esmc_free(ord);
  esmc_free(plan);
  esmc_world_free(w);
  return -1;
}

static void incarnation_free(struct incarnation *inc)
{
  if(!inc)
    return;
  esmc_free(inc->timers.v);
  esmc_free(inc->recbuf);
  esmc_free(inc);
}

void esmc_world_free(struct esmc_world *w)
{
  struct esmc_world_internal *in;
  size_t i;
  if(!w)
    return;
  in = w->in;
  if(in) {
    mappings_free(in);
    esmc_free(in->fault_on);
    esmc_free(in->fault_calls);
    for(i = 0; i < in->ninvs; i++)
      esmc_buf_free(&in->invs[i].response);
    esmc_free(in->invs);
    esmc_free(in->its);
    esmc_free(in->q.v);
    esmc_free(in->pub_shards);
    esmc_free(in->visible);
    esmc_free(in->plan_applied);
    esmc_free(in->sorted_by_seq);
    esmc_free(in->toks);
    for(i = 0; i < in->ndels; i++)
      esmc_free(in->dels[i]);
    esmc_free(in->dels);
    for(i = 0; i < in->nrecvs; i++)
      esmc_free((void *)in->recvs[i].msgs);
    esmc_free(in->recvs);
    esmc_free(in->pend);
    esmc_free(in->msgs);
    esmc_free(in->group_inflight);
    esmc_free(in);
  }
  for(i = 0; i < w->nrecords && w->records; i++)
    esmc_free(w->records[i].attrs);
  for(i = 0; i < w->nshards && w->shards; i++)
    esmc_free(w->shards[i].rids);
  esmc_free(w->shards);
  esmc_free(w->records);
  esmc_history_free(&w->hist);
  esmc_free(w);
}

const struct esmc_wrecord *esmc_world_record_by_seq(const struct esmc_world *w,
                                                    const char *seq)
{
  size_t lo = 0, hi = w->nrecords;
  if(!seq)
    return NULL;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct esmc_wrecord *r = &w->records[w->in->sorted_by_seq[mid]];
    int c = esmc_seq_cmp(r->seq, seq);
    if(c == 0)
      return strcmp(r->seq, seq) == 0 ? r : NULL;
    if(c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const struct esmc_wrecord *esmc_world_record_by_id(const struct esmc_world *w,
                                                   const char *id)
{
  uint32_t i;
  if(!id)
    return NULL;
  for(i = 0; i < w->nrecords; i++) {
    const char *cid = w->sc->records[w->records[i].case_index].id;
    if(cid && strcmp(cid, id) == 0)
      return &w->records[i];
  }
  return NULL;
}

const char *esmc_world_record_name(const struct esmc_world *w, uint32_t rid)
{
  const char *id;
  if(rid >= w->nrecords)
    return "?";
  id = w->sc->records[w->records[rid].case_index].id;
  return id ? id : "?";
}

/* ------------------------------------------------------------------------ */
/* Effective configuration (the spec's defaults).                           */

void esmc_effective_config_init(struct esmc_effective_config *o,
                                const struct esmc_scenario *sc)
{
  const struct esmc_config_spec *c = &sc->config;
  memset(o, 0, sizeof(*o));
  o->enabled = 1;
  /* BatchSize defaults: 100 for streams, 10 for queues (PARAM-BS-1). */
  o->batch_size = sc->source == ESMC_SOURCE_SQS ||
                          sc->source == ESMC_SOURCE_SQS_FIFO
                      ? 10
                      : 100;
  o->window_s = 0;
  o->parallelization_factor = 1;
  o->maximum_retry_attempts = -1;
  o->maximum_record_age_s = -1;
  o->starting_position = c->starting_position;
  o->starting_position_timestamp_ms = c->starting_position_timestamp_ms;
  esmc_effective_config_update(o, c);
}

void esmc_effective_config_update(struct esmc_effective_config *o,
                                  const struct esmc_config_spec *u)
{
#define TAKE(field, src)                                                       \
  if(u->src != ESMC_UNSET)                                                     \
    o->field = u->src;
  TAKE(enabled, enabled)
  TAKE(batch_size, batch_size)
  TAKE(window_s, maximum_batching_window_s)
  TAKE(parallelization_factor, parallelization_factor)
  TAKE(maximum_retry_attempts, maximum_retry_attempts)
  TAKE(maximum_record_age_s, maximum_record_age_s)
  TAKE(bisect, bisect_batch_on_function_error)
  TAKE(tumbling_window_s, tumbling_window_s)
  TAKE(maximum_concurrency, maximum_concurrency)
  TAKE(scaling_profile, scaling_profile)
#undef TAKE
  if(u->function_response_types_given)
    o->report_batch_item_failures =
        (u->function_response_types & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) != 0;
  if(u->on_failure_destination)
    o->on_failure_destination = u->on_failure_destination;
}

/* ------------------------------------------------------------------------ */
/* History helpers.                                                          */

static long record(struct esmc_world *w, uint32_t kind, uint32_t mapping,
                   int32_t status, uint32_t shard, uint64_t id, int64_t a,
                   int64_t b, const char *text, size_t text_len)
{
  struct esmc_hevent e;
  memset(&e, 0, sizeof(e));
  e.t = w->now;
  e.kind = kind;
  e.mapping = mapping;
  e.status = status;
  e.shard = shard;
  e.id = id;
  e.a = a;
  e.b = b;
  return esmc_history_add(&w->hist, &e, text, text_len, NULL, NULL);
}

static void contract(struct incarnation *inc, const char *what)
{
  struct esmc_world *w = inc->w;
  record(w, ESMC_H_CONTRACT, inc->index, 0, ESMC_NO_SHARD, 0, 0, 0, what,
         strlen(what));
  /* A breach after the run ended normally (from the final destroy()) still
   * decides the outcome. */
  if(!w->in->stop || w->in->out->end == ESMC_END_QUIESCENT ||
     w->in->out->end == ESMC_END_HORIZON) {
    w->in->stop = 1;
    w->in->out->end = ESMC_END_CONTRACT;
    snprintf(w->in->out->detail, sizeof(w->in->out->detail), "%s", what);
  }
}

/* Every host call starts here: a call through a destroyed incarnation, or
 * from outside a callback, breaks the contract. */
static struct incarnation *host_enter(void *ctx, const char *call)
{
  struct incarnation *inc = ctx;
  if(!inc)
    return NULL;
  if(!inc->live) {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "host call %s() through a mapping that was already destroyed", call);
    contract(inc, msg);
    return NULL;
  }
  return inc;
}

/* An injected fault (ESMC_CASE_FAULT) answers this call of this mapping:
 * the status to return, or ESMC_OK. Each active fault counts the calls it
 * matches and fails every `every`-th (the first included). */
static esmc_status fault_hit(struct incarnation *inc, enum esmc_fault_call call)
{
  struct esmc_world *w = inc->w;
  const struct esmc_scenario *sc = w->sc;
  esmc_status st = ESMC_OK;
  size_t k;
  for(k = 0; k < sc->event_count; k++) {
    const struct esmc_fault_spec *f = &sc->events[k].fault;
    if(!w->in->fault_on[k] || sc->events[k].kind != ESMC_CASE_FAULT)
      continue;
    if(!(f->calls & (1u << call)) ||
       (f->mapping >= 0 && (uint32_t)f->mapping != inc->index))
      continue;
    if(w->in->fault_calls[k]++ % (uint64_t)(f->every > 0 ? f->every : 1) == 0 &&
       st == ESMC_OK)
      st = f->error;
  }
  return st;
}

static int shard_by_id(const struct esmc_world *w, const char *id)
{
  uint32_t i;
  if(!id)
    return -1;
  for(i = 0; i < w->nshards; i++)
    if(strcmp(w->shards[i].id, id) == 0)
      return w->shards[i].created_ms <= w->now ? (int)i : -1;
  return -1;
}

/* First index of a shard that is not trimmed at the current time. */
static uint32_t first_untrimmed(const struct esmc_world *w, uint32_t shard)
{
  const struct esmc_wshard *sh = &w->shards[shard];
  uint32_t lo = 0, hi = sh->n;
  while(lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if(w->records[sh->rids[mid]].trim_ms <= w->now)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* ------------------------------------------------------------------------ */
/* Host calls.                                                               */

static esmc_time_ms h_now(void *ctx)
{
  struct incarnation *inc = ctx;
  return inc ? inc->w->epoch_ms + inc->w->now : 0;
}

static esmc_status h_set_timer(void *ctx, esmc_time_ms at, uint64_t token)
{
  struct incarnation *inc = host_enter(ctx, "set_timer");
  struct esmc_world *w;
  struct timer_slot *s;
  struct qitem it;
  int64_t rel;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  s = timer_find(&inc->timers, token, 1);
  if(!s)
    return ESMC_E_NOMEM;
  rel = at - w->epoch_ms;
  if(rel < w->now)
    rel = w->now;
  s->gen++;
  s->armed = 1;
  memset(&it, 0, sizeof(it));
  it.t = rel;
  it.tie = rng_next(&w->in->rng);
  it.kind = Q_TIMER;
  it.mapping = inc->index;
  it.a = token;
  it.b = s->gen;
  it.c = (uint64_t)(uintptr_t)inc;
  if(q_push(&w->in->q, it))
    return ESMC_E_NOMEM;
  record(w, ESMC_H_TIMER_SET, inc->index, 0, ESMC_NO_SHARD, token, rel, 0, NULL, 0);
  return ESMC_OK;
}

static esmc_status h_cancel_timer(void *ctx, uint64_t token)
{
  struct incarnation *inc = host_enter(ctx, "cancel_timer");
  struct timer_slot *s;
  if(!inc)
    return ESMC_E_STATE;
  s = timer_find(&inc->timers, token, 0);
  if(!s || !s->armed) {
    record(inc->w, ESMC_H_TIMER_CANCEL, inc->index, ESMC_E_NOT_FOUND,
           ESMC_NO_SHARD, token, 0, 0, NULL, 0);
    return ESMC_E_NOT_FOUND;
  }
  s->armed = 0;
  s->gen++;
  record(inc->w, ESMC_H_TIMER_CANCEL, inc->index, 0, ESMC_NO_SHARD, token, 0,
         0, NULL, 0);
  return ESMC_OK;
}

static void h_log(void *ctx, enum esmc_log_level level, const char *msg)
{
  struct incarnation *inc = host_enter(ctx, "log");
  if(!inc || !msg)
    return;
  record(inc->w, ESMC_H_LOG, inc->index, 0, ESMC_NO_SHARD, 0, level, 0, msg,
         strnlen(msg, 4096));
}

static esmc_status h_list_shards(void *ctx, const struct esmc_shard **shards,
                                 size_t *count)
{
  struct incarnation *inc = host_enter(ctx, "list_shards");
  if(!inc)
    return ESMC_E_STATE;
  if(inc->w->queue) {
    record(inc->w, ESMC_H_LIST_SHARDS, inc->index, ESMC_E_UNSUPPORTED,
           ESMC_NO_SHARD, 0, 0, 0, NULL, 0);
    return ESMC_E_UNSUPPORTED;
  }
  if(!shards || !count) {
    contract(inc, "list_shards() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  {
    esmc_status st = fault_hit(inc, ESMC_FC_LIST_SHARDS);
    if(st != ESMC_OK) {
      record(inc->w, ESMC_H_LIST_SHARDS, inc->index, st, ESMC_NO_SHARD, 0, 0,
             0, NULL, 0);
      return st;
    }
  }
  {
    /* Every shard created by now, in creation order (a prefix of the plan);
     * a closed one with its ending sequence number. The array is rewritten
     * only here, so the previous answer stays valid until this call. */
    struct esmc_world *w = inc->w;
    uint32_t n = 0;
    while(n < w->nshards && w->shards[n].created_ms <= w->now) {
      w->in->pub_shards[n].ending_sequence_number =
          w->shards[n].closed_ms <= w->now ? w->shards[n].ending_seq : NULL;
      n++;
    }
    *shards = w->in->pub_shards;
    *count = n;
    record(w, ESMC_H_LIST_SHARDS, inc->index, 0, ESMC_NO_SHARD, 0, n, 0, NULL,
           0);
  }
  return ESMC_OK;
}

static esmc_iterator new_iterator(struct esmc_world *w, uint32_t shard,
                                  uint32_t pos)
{
  struct esmc_world_internal *in = w->in;
  if(in->nits == in->capits &&
     esmc__vec_grow((void **)&in->its, &in->capits, sizeof(*in->its)))
    return 0;
  in->its[in->nits].shard = shard;
  in->its[in->nits].pos = pos;
  in->its[in->nits].issued = w->now;
  return (esmc_iterator)++in->nits;
}

static esmc_status h_get_shard_iterator(void *ctx, const char *shard_id,
                                        enum esmc_iterator_type type,
                                        const char *seq, esmc_time_ms ts,
                                        esmc_iterator *out)
{
  struct incarnation *inc = host_enter(ctx, "get_shard_iterator");
  struct esmc_world *w;
  const struct esmc_wshard *sh;
  int s;
  uint32_t pos = 0, lo;
  esmc_status st = ESMC_OK;
  esmc_iterator it = 0;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(!out) {
    contract(inc, "get_shard_iterator() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  *out = 0;
  if(w->queue) {
    record(w, ESMC_H_GET_ITERATOR, inc->index, ESMC_E_UNSUPPORTED,
           ESMC_NO_SHARD, 0, type, 0, NULL, 0);
    return ESMC_E_UNSUPPORTED;
  }
  s = shard_by_id(w, shard_id);
  if(s < 0) {
    record(w, ESMC_H_GET_ITERATOR, inc->index, ESMC_E_NOT_FOUND, ESMC_NO_SHARD,
           0, type, 0, shard_id, shard_id ? strlen(shard_id) : 0);
    return ESMC_E_NOT_FOUND;
  }
  sh = &w->shards[s];
  st = fault_hit(inc, ESMC_FC_GET_SHARD_ITERATOR);
  if(st != ESMC_OK) {
    record(w, ESMC_H_GET_ITERATOR, inc->index, st, (uint32_t)s, 0, type, 0,
           NULL, 0);
    return st;
  }
  lo = first_untrimmed(w, (uint32_t)s);
  switch(type) {
  case ESMC_ITER_TRIM_HORIZON:
    pos = lo;
    break;
  case ESMC_ITER_LATEST:
    pos = w->in->visible[s];
    break;
  case ESMC_ITER_AT_TIMESTAMP:
    for(pos = lo; pos < w->in->visible[s]; pos++)
      if(w->epoch_ms + w->records[sh->rids[pos]].at_ms >= ts)
        break;
    break;
  case ESMC_ITER_AT_SEQUENCE_NUMBER:
  case ESMC_ITER_AFTER_SEQUENCE_NUMBER: {
    /* Any decimal position: the first record at or above (AT) or above
     * (AFTER) it. A checkpoint need not name a record. */
    uint32_t a = 0, z = sh->n;
    size_t k, len = seq ? strlen(seq) : 0;
    for(k = 0; k < len && seq[k] >= '0' && seq[k] <= '9'; k++)
      ;
    if(len == 0 || k != len || len >= 64) {
      st = ESMC_E_INVALID_PARAMETER;
      break;
    }
    while(a < z) {
      uint32_t mid = a + (z - a) / 2;
      int c = esmc_seq_cmp(w->records[sh->rids[mid]].seq, seq);
      if(c < 0 || (c == 0 && type == ESMC_ITER_AFTER_SEQUENCE_NUMBER))
        a = mid + 1;
      else
        z = mid;
    }
    pos = a;
    if(pos < lo)
      st = ESMC_E_TRIMMED;
    break;
  }
  default:
    st = ESMC_E_INVALID_PARAMETER;
  }
  if(st == ESMC_OK) {
    it = new_iterator(w, (uint32_t)s, pos);
    if(!it)
      st = ESMC_E_NOMEM;
  }
  if(st == ESMC_OK && inc->m->scope_start[s] == UINT32_MAX)
    inc->m->scope_start[s] =
        (type == ESMC_ITER_LATEST || type == ESMC_ITER_AT_TIMESTAMP) &&
                !(inc->m->first_create_ms >= 0 &&
                  sh->created_ms > inc->m->first_create_ms)
            ? pos
            : 0; /* a shard born while the mapping ran is new in full */
  *out = it;
  record(w, ESMC_H_GET_ITERATOR, inc->index, st, (uint32_t)s, it, type, pos,
         NULL, 0);
  return st;
}

static esmc_status h_get_records(void *ctx, esmc_iterator iterator,
                                 uint32_t limit,
                                 struct esmc_get_records_result *out)
{
  struct incarnation *inc = host_enter(ctx, "get_records");
  struct esmc_world *w;
  struct iterator *it;
  uint32_t vis, n, k, shard, pos;
  esmc_status st = ESMC_OK;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(!out) {
    contract(inc, "get_records() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  memset(out, 0, sizeof(*out));
  if(w->queue) {
    record(w, ESMC_H_GET_RECORDS, inc->index, ESMC_E_UNSUPPORTED,
           ESMC_NO_SHARD, iterator, 0, 0, NULL, 0);
    return ESMC_E_UNSUPPORTED;
  }
  if(iterator == 0 || iterator > w->in->nits) {
    record(w, ESMC_H_GET_RECORDS, inc->index, ESMC_E_INVALID_PARAMETER,
           ESMC_NO_SHARD, iterator, 0, 0, NULL, 0);
    return ESMC_E_INVALID_PARAMETER;
  }
  it = &w->in->its[iterator - 1];
  shard = it->shard;
  pos = it->pos;
  if(limit == 0 || limit > MAX_GET_RECORDS)
    st = ESMC_E_INVALID_PARAMETER;
  else if((st = fault_hit(inc, ESMC_FC_GET_RECORDS)) != ESMC_OK) {
    /* An injected ExpiredIteratorException ends the iterator for good. */
    if(st == ESMC_E_EXPIRED_ITERATOR)
      it->issued = INT64_MIN / 2;
  } else if(w->now - it->issued > ITERATOR_TTL_MS)
    st = ESMC_E_EXPIRED_ITERATOR;
  else if(pos < first_untrimmed(w, shard))
    st = ESMC_E_TRIMMED;
  if(st != ESMC_OK) {
    record(w, ESMC_H_GET_RECORDS, inc->index, st, shard, iterator, pos, 0,
           NULL, 0);
    return st;
  }
  vis = w->in->visible[shard];
  n = vis > pos ? vis - pos : 0;
  if(n > limit)
    n = limit;
  if(n > inc->recbuf_cap) {
    const struct esmc_record **nb =
        esmc_realloc(inc->recbuf, sizeof(*nb) * n);
    if(!nb)
      return ESMC_E_NOMEM;
    inc->recbuf = nb;
    inc->recbuf_cap = n;
  }
  for(k = 0; k < n; k++)
    inc->recbuf[k] = &w->records[w->shards[shard].rids[pos + k]].pub;
  out->records = inc->recbuf;
  out->count = n;
  if(w->shards[shard].closed_ms <= w->now && pos + n >= w->shards[shard].n)
    out->next_iterator = 0; /* closed and fully read */
  else {
    out->next_iterator = new_iterator(w, shard, pos + n);
    if(!out->next_iterator)
      return ESMC_E_NOMEM;
  }
  out->millis_behind_latest =
      pos + n < vis
          ? w->now - w->records[w->shards[shard].rids[pos + n - (n > 0)]].at_ms
          : 0;
  record(w, ESMC_H_GET_RECORDS, inc->index, 0, shard, iterator, pos, n, NULL, 0);
  return ESMC_OK;
}

/* ------------------------------------------------------------------------ */
/* The function.                                                             */

static int batch_has_id(const struct esmc_world *w, const uint32_t *rids,
                        size_t n, const char *id)
{
  size_t i;
  for(i = 0; i < n; i++)
    if(strcmp(esmc_world_record_name(w, rids[i]), id) == 0)
      return 1;
  return 0;
}

static int batch_has_key(const struct esmc_world *w, const uint32_t *rids,
                         size_t n, const char *key)
{
  size_t i;
  for(i = 0; i < n; i++)
    if(strcmp(w->records[rids[i]].pub.partition_key, key) == 0)
      return 1;
  return 0;
}

static const struct esmc_fn_rule *pick_rule(struct esmc_world *w,
                                            struct wfunction *f,
                                            const uint32_t *rids, size_t n,
                                            uint64_t number, int32_t attempt)
{
  const struct esmc_fn_script *fs = f->fn;
  size_t r, k;
  for(r = 0; r < fs->rule_count; r++) {
    const struct esmc_fn_rule *fr = &fs->rules[r];
    int ok = 1;
    if(fr->times > 0 && f->rule_uses[r] >= (uint32_t)fr->times)
      continue;
    if(fr->contains_count) {
      for(ok = 0, k = 0; k < fr->contains_count && !ok; k++)
        ok = batch_has_id(w, rids, n, fr->contains[k]);
    }
    if(ok && fr->keys_count) {
      for(ok = 0, k = 0; k < fr->keys_count && !ok; k++)
        ok = batch_has_key(w, rids, n, fr->keys[k]);
    }
    if(ok && fr->invocations_count) {
      for(ok = 0, k = 0; k < fr->invocations_count && !ok; k++)
        ok = (uint64_t)fr->invocations[k] == number;
    }
    if(ok && fr->attempt_min != ESMC_UNSET && attempt < fr->attempt_min)
      ok = 0;
    if(ok && fr->attempt_max != ESMC_UNSET && attempt > fr->attempt_max)
      ok = 0;
    if(ok) {
      f->rule_uses[r]++;
      return fr;
    }
  }
  return NULL;
}

static void fill_result(const struct esmc_fn_script *fs, struct invocation *iv,
                        const struct esmc_fn_rule *fr, const struct esmc_world *w,
                        int64_t *duration)
{
  int64_t timeout_ms = (int64_t)fs->timeout_s * 1000;
  enum esmc_fn_action act = fr ? fr->action : ESMC_FN_OK;
  size_t k;
  *duration = fr && fr->duration_ms >= 0 ? fr->duration_ms
                                         : fs->default_duration_ms;
  if((act == ESMC_FN_OK || act == ESMC_FN_FAIL_ITEMS || act == ESMC_FN_ERROR) &&
     *duration > timeout_ms)
    act = ESMC_FN_TIMEOUT;
  iv->status = 200;
  iv->function_error = NULL;
  iv->outcome = ESMC_INVOKE_OK;
  switch(act) {
  case ESMC_FN_OK:
    if(fr && fr->response_given)
      esmc_buf_put(&iv->response, fr->response, fr->response_len);
    else if(fr && fr->state_size > 0) {
      int64_t pad;
      esmc_buf_puts(&iv->response, "{\"state\":{\"pad\":\"");
      for(pad = 0; pad < fr->state_size; pad++)
        esmc_buf_putc(&iv->response, 'x');
      esmc_buf_puts(&iv->response, "\"}}");
    }
    break;
  case ESMC_FN_FAIL_ITEMS:
    esmc_buf_puts(&iv->response, "{\"batchItemFailures\":[");
    for(k = 0; k < fr->fail_items_count; k++) {
      const struct esmc_wrecord *r = esmc_world_record_by_id(w, fr->fail_items[k]);
      const char *ident = r ? r->seq : fr->fail_items[k];
      esmc_buf_puts(&iv->response, k ? ",{\"itemIdentifier\":" : "{\"itemIdentifier\":");
      esmc_buf_json_str(&iv->response, ident, strlen(ident));
      esmc_buf_putc(&iv->response, '}');
    }
    esmc_buf_puts(&iv->response, "]}");
    break;
  case ESMC_FN_ERROR:
    iv->outcome = ESMC_INVOKE_FUNCTION_ERROR;
    iv->function_error = "Unhandled";
    esmc_buf_puts(&iv->response, "{\"errorType\":");
    {
      const char *et = fr && fr->error_type ? fr->error_type : "Error";
      const char *em = fr && fr->error_message ? fr->error_message
                                               : "scripted failure";
      esmc_buf_json_str(&iv->response, et, strlen(et));
      esmc_buf_puts(&iv->response, ",\"errorMessage\":");
      esmc_buf_json_str(&iv->response, em, strlen(em));
    }
    esmc_buf_putc(&iv->response, '}');
    break;
  case ESMC_FN_TIMEOUT:
    iv->outcome = ESMC_INVOKE_FUNCTION_ERROR;
    iv->function_error = "Unhandled";
    *duration = timeout_ms;
    esmc_buf_printf(&iv->response,
                    "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":"
                    "\"%s Task timed out after %d.00 seconds\"}",
                    iv->request_id, fs->timeout_s);
    break;
  case ESMC_FN_THROTTLE:
    iv->outcome = ESMC_INVOKE_THROTTLED;
    iv->status = 429;
    *duration = 0;
    esmc_buf_puts(&iv->response, "{\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\","
                                 "\"Type\":\"User\",\"message\":\"Rate Exceeded.\"}");
    break;
  case ESMC_FN_SERVICE_ERROR:
    iv->outcome = ESMC_INVOKE_SERVICE_ERROR;
    iv->status = 500;
    *duration = 0;
    esmc_buf_puts(&iv->response, "{\"Type\":\"Service\",\"message\":\"ServiceException\"}");
    break;
  }
}

static esmc_status h_invoke(void *ctx, const uint8_t *payload, size_t len,
                            esmc_invocation *out)
{
  struct incarnation *inc = host_enter(ctx, "invoke");
  struct esmc_world *w;
  struct esmc_world_internal *in;
  struct invocation *iv;
  struct esmc_buf problem;
  struct esmc_hevent e;
  uint32_t *rids = NULL;
  long n, ev;
  uint32_t shard = ESMC_NO_SHARD, k, attempt = 1;
  const struct esmc_fn_rule *fr = NULL;
  struct wfunction *fun;
  int64_t duration = 0;
  struct qitem qi;

  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  in = w->in;
  if(!out || (!payload && len)) {
    contract(inc, "invoke() called with a NULL payload or out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  *out = 0;
  if(in->ninvs == in->capinvs &&
     esmc__vec_grow((void **)&in->invs, &in->capinvs, sizeof(*in->invs)))
    return ESMC_E_NOMEM;
  iv = &in->invs[in->ninvs];
  memset(iv, 0, sizeof(*iv));
  esmc_buf_init(&iv->response);
  iv->mapping = inc->index;
  iv->inc = inc;
  snprintf(iv->request_id, sizeof(iv->request_id),
           "%08" PRIx64 "-0000-4000-8000-%012" PRIx64,
           (uint64_t)(in->ninvs + 1), (uint64_t)(w->seed & UINT64_C(0xffffffffffff)));
  in->ninvs++;
  fun = &in->functions[inc->m->fn_index];
  fun->invocation_count++;

  esmc_buf_init(&problem);
  n = esmc_world_decode_payload(w, (const char *)payload, len, &rids, &problem);
  if(n < 0)
    n = 0;
  for(k = 0; k < (uint32_t)n; k++) {
    uint32_t s = w->records[rids[k]].shard;
    if(k == 0)
      shard = s;
    else if(s != shard)
      shard = ESMC_NO_SHARD;
    if(inc->m->deliveries[rids[k]] + 1 > attempt)
      attempt = inc->m->deliveries[rids[k]] + 1;
  }
  for(k = 0; k < (uint32_t)n; k++)
    inc->m->deliveries[rids[k]]++;

  memset(&e, 0, sizeof(e));
  e.t = w->now;
  e.kind = ESMC_H_INVOKE;
  e.mapping = inc->index;
  e.shard = shard;
  e.id = in->ninvs;
  e.a = (int64_t)len;
  e.b = attempt;
  e.rids = rids;
  e.nrids = (uint32_t)n;
  {
    /* Tumbling windows (TW-2): the window fields become text2 and text3,
     * and a final invoke's shard the one its shardId names. */
    char *tw2 = NULL, *tw3 = NULL;
    if(esmc_tw_event_texts(w, (const char *)payload, len, (uint32_t)n,
                           &e.shard, &problem, &tw2, &tw3))
      w->hist.oom = 1;
    ev = esmc_history_add(&w->hist, &e, problem.len ? problem.data : NULL,
                          problem.len, tw2, tw3);
    esmc_free(tw2);
    esmc_free(tw3);
  }
  esmc_free(rids);
  esmc_buf_free(&problem);
  iv->ev = ev;

  if(len > ESMC_MAX_PAYLOAD) {
    iv->outcome = ESMC_INVOKE_SERVICE_ERROR;
    iv->status = 413;
    esmc_buf_printf(&iv->response,
                    "{\"Type\":\"User\",\"message\":\"Request must be smaller "
                    "than %d bytes for the InvokeFunction operation\"}",
                    ESMC_MAX_PAYLOAD);
  } else {
    const struct esmc_hevent *he = ev >= 0 ? &w->hist.ev[ev] : NULL;
    fr = pick_rule(w, fun, he ? he->rids : NULL, he ? he->nrids : 0,
                   fun->invocation_count, (int32_t)attempt);
    fill_result(fun->fn, iv, fr, w, &duration);
  }
  inc->inflight++;
  memset(&qi, 0, sizeof(qi));
  qi.t = w->now + duration;
  qi.tie = rng_next(&in->rng);
  qi.kind = Q_COMPLETE;
  qi.mapping = inc->index;
  qi.a = in->ninvs - 1;
  if(q_push(&in->q, qi))
    return ESMC_E_NOMEM;
  *out = in->ninvs;
  return ESMC_OK;
}

static esmc_status h_send_to_destination(void *ctx, const char *arn,
                                         const char *key,
                                         const uint8_t *payload, size_t len)
{
  struct incarnation *inc = host_enter(ctx, "send_to_destination");
  struct esmc_world *w;
  struct esmc_hevent e;
  esmc_status st = ESMC_OK;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(!arn || (!payload && len)) {
    contract(inc, "send_to_destination() called with a NULL ARN or payload");
    return ESMC_E_INVALID_PARAMETER;
  }
  if(w->in->destination_down)
    st = ESMC_E_SERVICE;
  else
    st = fault_hit(inc, ESMC_FC_SEND_TO_DESTINATION);
  memset(&e, 0, sizeof(e));
  e.t = w->now;
  e.kind = ESMC_H_DEST_SEND;
  e.mapping = inc->index;
  e.status = st;
  e.shard = ESMC_NO_SHARD;
  esmc_history_add(&w->hist, &e, payload ? (const char *)payload : "", len, arn,
                   key);
  return st;
}

static esmc_status h_checkpoint(void *ctx, const char *shard_id, const char *seq)
{
  struct incarnation *inc = host_enter(ctx, "checkpoint");
  struct esmc_world *w;
  const struct esmc_wshard *sh;
  int s;
  uint32_t lo = 0, hi;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(w->queue) {
    record(w, ESMC_H_CHECKPOINT, inc->index, ESMC_E_UNSUPPORTED, ESMC_NO_SHARD,
           0, -1, 0, seq ? seq : "", seq ? strnlen(seq, 64) : 0);
    return ESMC_E_UNSUPPORTED;
  }
  s = shard_by_id(w, shard_id);
  if(s < 0 || !seq || !*seq || strlen(seq) >= 64) {
    record(w, ESMC_H_CHECKPOINT, inc->index,
           s < 0 ? ESMC_E_NOT_FOUND : ESMC_E_INVALID_PARAMETER,
           s < 0 ? ESMC_NO_SHARD : (uint32_t)s, 0, -1, 0, seq ? seq : "",
           seq ? strnlen(seq, 64) : 0);
    return s < 0 ? ESMC_E_NOT_FOUND : ESMC_E_INVALID_PARAMETER;
  }
  sh = &w->shards[s];
  hi = sh->n;
  while(lo < hi) { /* first index with seq > the checkpoint */
    uint32_t mid = lo + (hi - lo) / 2;
    if(esmc_seq_cmp(w->records[sh->rids[mid]].seq, seq) <= 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  snprintf(inc->m->ckpt[s], 64, "%s", seq);
  record(w, ESMC_H_CHECKPOINT, inc->index, 0, (uint32_t)s, 0, (int64_t)lo - 1,
         0, seq, strlen(seq));
  return ESMC_OK;
}

static esmc_status h_get_checkpoint(void *ctx, const char *shard_id,
                                    const char **seq)
{
  struct incarnation *inc = host_enter(ctx, "get_checkpoint");
  int s;
  if(!inc)
    return ESMC_E_STATE;
  if(!seq) {
    contract(inc, "get_checkpoint() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  if(inc->w->queue) {
    *seq = NULL;
    return ESMC_E_UNSUPPORTED;
  }
  s = shard_by_id(inc->w, shard_id);
  if(s < 0) {
    *seq = NULL;
    return ESMC_E_NOT_FOUND;
  }
  *seq = inc->m->ckpt[s][0] ? inc->m->ckpt[s] : NULL;
  return ESMC_OK;
}

static void check_status(struct esmc_world *w, esmc_status st,
                         const char *cb);

/* ------------------------------------------------------------------------ */
/* Hashes for queue messages: MD5 (md5OfBody, md5OfMessageAttributes) and    */
/* SHA-256 (content-based deduplication ids, FIFO-10), per RFC 1321 and      */
/* FIPS 180-4. Small and slow; message bodies are small.                    */

static uint32_t rol32(uint32_t x, unsigned c)
{
  return (x << c) | (x >> (32 - c));
}

struct md5 {
  uint32_t h[4];
  uint8_t buf[64];
  uint64_t len;
};

static void md5_block(uint32_t *h, const uint8_t *p)
{
  static const uint32_t k[64] = {
      0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
      0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
      0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
      0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
      0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
      0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
      0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
      0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
      0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
      0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
      0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
  static const unsigned r[64] = {
      7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
      5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
      4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
      6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
  uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
  unsigned i;
  for(i = 0; i < 16; i++)
    m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
           (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
  for(i = 0; i < 64; i++) {
    uint32_t f, t;
    unsigned g;
    if(i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if(i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if(i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    t = d;
    d = c;
    c = b;
    b = b + rol32(a + f + k[i] + m[g], r[i]);
    a = t;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

static void md5_init(struct md5 *c)
{
  c->h[0] = 0x67452301;
  c->h[1] = 0xefcdab89;
  c->h[2] = 0x98badcfe;
  c->h[3] = 0x10325476;
  c->len = 0;
}

static void md5_update(struct md5 *c, const void *data, size_t n)
{
  const uint8_t *p = data;
  while(n--) {
    c->buf[c->len++ % 64] = *p++;
    if(c->len % 64 == 0)
      md5_block(c->h, c->buf);
  }
}

/* The digest as 32 lowercase hex digits into out[33]. */
static void md5_hex(struct md5 *c, char *out)
{
  uint64_t bits = c->len * 8;
  uint8_t pad = 0x80, z = 0, lenb[8];
  unsigned i;
  md5_update(c, &pad, 1);
  while(c->len % 64 != 56)
    md5_update(c, &z, 1);
  for(i = 0; i < 8; i++)
    lenb[i] = (uint8_t)(bits >> (8 * i));
  md5_update(c, lenb, 8);
  for(i = 0; i < 16; i++)
    snprintf(out + 2 * i, 3, "%02x", (c->h[i / 4] >> (8 * (i % 4))) & 0xff);
}

static void sha256_block(uint32_t *h, const uint8_t *p)
{
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
      0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
      0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
      0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
      0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
      0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
      0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
      0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t wv[64], s[8];
  unsigned i;
  for(i = 0; i < 16; i++)
    wv[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
            (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for(i = 16; i < 64; i++) {
    uint32_t s0 = rol32(wv[i - 15], 25) ^ rol32(wv[i - 15], 14) ^ (wv[i - 15] >> 3);
    uint32_t s1 = rol32(wv[i - 2], 15) ^ rol32(wv[i - 2], 13) ^ (wv[i - 2] >> 10);
    wv[i] = wv[i - 16] + s0 + wv[i - 7] + s1;
  }
  for(i = 0; i < 8; i++)
    s[i] = h[i];
  for(i = 0; i < 64; i++) {
    uint32_t e = s[4], a = s[0];
    uint32_t t1 = s[7] + (rol32(e, 26) ^ rol32(e, 21) ^ rol32(e, 7)) +
                  ((e & s[5]) ^ (~e & s[6])) + k[i] + wv[i];
    uint32_t t2 = (rol32(a, 30) ^ rol32(a, 19) ^ rol32(a, 10)) +
                  ((a & s[1]) ^ (a & s[2]) ^ (s[1] & s[2]));
    s[7] = s[6];
    s[6] = s[5];
    s[5] = s[4];
    s[4] = s[3] + t1;
    s[3] = s[2];
    s[2] = s[1];
    s[1] = s[0];
    s[0] = t1 + t2;
  }
  for(i = 0; i < 8; i++)
    h[i] += s[i];
}

/* SHA-256 of p[0, n) as 64 lowercase hex digits into out[65]. */
static void sha256_hex(const uint8_t *p, size_t n, char *out)
{
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  uint8_t blk[64];
  size_t i, rest;
  uint64_t bits = (uint64_t)n * 8;
  for(i = 0; i + 64 <= n; i += 64)
    sha256_block(h, p + i);
  rest = n - i;
  memset(blk, 0, sizeof(blk));
  if(rest)
    memcpy(blk, p + i, rest);
  blk[rest] = 0x80;
  if(rest >= 56) {
    sha256_block(h, blk);
    memset(blk, 0, sizeof(blk));
  }
  for(i = 0; i < 8; i++)
    blk[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_block(h, blk);
  for(i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", (h[i / 4] >> (24 - 8 * (i % 4))) & 0xff);
}

/* The MD5 of a message's attributes as SQS computes it: for each attribute
 * in name order, the name, the data type and the value, each preceded by its
 * 4-byte big-endian length, with a transport byte (1 = string) before the
 * value. */
static void md5_of_attributes(const struct esmc_message_attribute *a,
                              size_t n, char *out)
{
  struct md5 c;
  size_t i;
  md5_init(&c);
  for(i = 0; i < n; i++) {
    const char *parts[3];
    size_t k;
    uint8_t one = 1;
    parts[0] = a[i].name;
    parts[1] = a[i].data_type;
    parts[2] = a[i].string_value;
    for(k = 0; k < 3; k++) {
      size_t len = strlen(parts[k]);
      uint8_t be[4];
      be[0] = (uint8_t)(len >> 24);
      be[1] = (uint8_t)(len >> 16);
      be[2] = (uint8_t)(len >> 8);
      be[3] = (uint8_t)len;
      if(k == 2)
        md5_update(&c, &one, 1);
      md5_update(&c, be, 4);
      md5_update(&c, parts[k], len);
    }
  }
  md5_hex(&c, out);
}

/* ------------------------------------------------------------------------ */
/* Queues (ABI v2): SQS standard and FIFO.                                   */

#define DEDUP_WINDOW_MS 300000 /* FIFO-10: five minutes */
#define SENDER_ID "AIDAESMCHECK"

static int queue_fifo(const struct esmc_world *w)
{
  return w->sc->source == ESMC_SOURCE_SQS_FIFO;
}

static int queue_push(struct esmc_world *w, int64_t t, enum qkind kind,
                      uint64_t a, uint64_t b)
{
  struct qitem it;
  memset(&it, 0, sizeof(it));
  it.t = t;
  /* Messages that become visible at one instant all do so, in queue order,
   * before any receive of that instant looks: otherwise a receive could see
   * a later message of a FIFO group before an earlier one. */
  it.tie = kind == Q_MSG_VISIBLE ? 0 : rng_next(&w->in->rng);
  it.kind = kind;
  it.a = a;
  it.b = b;
  return q_push(&w->in->q, it);
}

/* Give every pending receive another look at the queue, in a later turn of
 * this instant (their order is drawn from the seed). */
static int queue_wake(struct esmc_world *w)
{
  struct esmc_world_internal *in = w->in;
  size_t i, k = 0;
  for(i = 0; i < in->npend; i++) {
    uint32_t r = in->pend[i];
    if(in->recvs[r].done)
      continue;
    in->pend[k++] = r;
    if(queue_push(w, w->now, Q_RECV, r, 0))
      return -1;
  }
  in->npend = k;
  return 0;
}

/* A message leaves the queue for good (deleted, dead-lettered, expired). */
static void queue_retire(struct esmc_world *w, uint32_t rid,
                         enum esmc_msg_state to)
{
  struct qmsg *m = &w->in->msgs[rid];
  if(m->state == ESMC_MSG_INFLIGHT && queue_fifo(w))
    w->in->group_inflight[w->records[rid].group]--;
  m->state = to;
  m->vis_gen++;
  if(w->in->queue_open)
    w->in->queue_open--;
}

/* Messages sent at this instant: the APPEND of rids [first, first+count). */
static int queue_send(struct esmc_world *w, uint32_t first, uint32_t count)
{
  struct esmc_world_internal *in = w->in;
  int64_t delay = (int64_t)w->sc->queue.delay_s * 1000;
  uint32_t k;
  for(k = first; k < first + count; k++) {
    uint32_t rid = w->shards[0].rids[k];
    struct qmsg *m = &in->msgs[rid];
    if(w->records[rid].dedup_of >= 0) {
      m->state = ESMC_MSG_DEDUPLICATED;
      if(in->queue_open)
        in->queue_open--;
    } else if(delay > 0) {
      m->state = ESMC_MSG_DELAYED;
      if(queue_push(w, w->now + delay, Q_MSG_VISIBLE, rid, ++m->vis_gen))
        return -1;
    } else
      m->state = ESMC_MSG_VISIBLE;
  }
  return delay > 0 ? 0 : queue_wake(w);
}

/* A visibility event: a delay or a visibility timeout ended. */
static int queue_visible(struct esmc_world *w, uint32_t rid, uint64_t gen)
{
  struct qmsg *m = &w->in->msgs[rid];
  if(m->vis_gen != gen ||
     (m->state != ESMC_MSG_DELAYED && m->state != ESMC_MSG_INFLIGHT))
    return 0;
  if(m->state == ESMC_MSG_INFLIGHT && queue_fifo(w))
    w->in->group_inflight[w->records[rid].group]--;
  m->state = ESMC_MSG_VISIBLE;
  return queue_wake(w);
}

static int queue_expire(struct esmc_world *w, uint32_t rid)
{
  struct qmsg *m = &w->in->msgs[rid];
  if(m->state != ESMC_MSG_DELAYED && m->state != ESMC_MSG_VISIBLE &&
     m->state != ESMC_MSG_INFLIGHT)
    return 0;
  queue_retire(w, rid, ESMC_MSG_EXPIRED);
  record(w, ESMC_H_MESSAGE_EXPIRED, 0, 0, ESMC_NO_SHARD, 0, rid, 0, NULL, 0);
  return queue_fifo(w) ? queue_wake(w) : 0;
}

enum esmc_msg_state esmc_world_message_state(const struct esmc_world *w,
                                             uint32_t rid,
                                             uint32_t *receive_count)
{
  if(receive_count)
    *receive_count = 0;
  if(!w->queue || rid >= w->nrecords)
    return ESMC_MSG_UNSENT;
  if(receive_count)
    *receive_count = w->in->msgs[rid].receive_count;
  return w->in->msgs[rid].state;
}

/* Hand out one receive of message rid: a fresh receipt handle, the receive
 * count, and a visibility timeout of vis_s seconds. Returns the delivery or
 * NULL (out of memory). */
static struct delivery *queue_deliver(struct esmc_world *w, uint32_t rid,
                                      int32_t vis_s)
{
  struct esmc_world_internal *in = w->in;
  struct qmsg *m = &in->msgs[rid];
  const struct esmc_wrecord *r = &w->records[rid];
  struct delivery *d;
  uint64_t s;
  if(in->ndels == in->capdels &&
     esmc__vec_grow((void **)&in->dels, &in->capdels, sizeof(*in->dels)))
    return NULL;
  d = esmc_calloc(1, sizeof(*d));
  if(!d)
    return NULL;
  in->dels[in->ndels++] = d;
  if(m->state == ESMC_MSG_INFLIGHT && queue_fifo(w))
    in->group_inflight[r->group]--; /* a duplicate: still one in flight */
  m->state = ESMC_MSG_INFLIGHT;
  m->receive_count++;
  if(m->receive_count == 1)
    m->first_receive_ms = w->epoch_ms + w->now;
  m->latest = (uint32_t)in->ndels;
  if(queue_fifo(w))
    in->group_inflight[r->group]++;
  if(queue_push(w, w->now + (int64_t)vis_s * 1000, Q_MSG_VISIBLE, rid,
                ++m->vis_gen))
    return NULL;
  /* Receipt handles look opaque but end in the delivery number. */
  s = w->seed ^ (UINT64_C(0x7ece1b7) * in->ndels);
  snprintf(d->handle, sizeof(d->handle), "AQEB%016" PRIx64 "%08" PRIx32 "-%zu",
           rng_next(&s), (uint32_t)rid, in->ndels);
  d->rid = rid;
  d->pub.message_id = r->seq;
  d->pub.receipt_handle = d->handle;
  d->pub.body = (const char *)r->pub.data;
  d->pub.body_len = r->pub.data_len;
  d->pub.md5_of_body = r->md5_of_body;
  d->pub.sent_timestamp_ms = r->pub.approximate_arrival_ms;
  d->pub.first_receive_timestamp_ms = m->first_receive_ms;
  d->pub.approximate_receive_count = m->receive_count;
  d->pub.sender_id = SENDER_ID;
  if(queue_fifo(w)) {
    d->pub.message_group_id = r->pub.partition_key;
    d->pub.message_deduplication_id = r->dedup_id;
    d->pub.sequence_number = r->fifo_seq;
  }
  d->pub.attributes = r->attrs;
  d->pub.attribute_count = r->attr_count;
  d->pub.md5_of_message_attributes =
      r->attr_count ? r->md5_of_attributes : NULL;
  return d;
}

/* The delivery a receipt handle names, or NULL. */
static struct delivery *delivery_by_handle(const struct esmc_world *w,
                                           const char *h, size_t len)
{
  const char *dash;
  size_t n = 0, i;
  struct delivery *d;
  if(!h || len == 0 || len >= 64)
    return NULL;
  dash = NULL;
  for(i = len; i > 0; i--)
    if(h[i - 1] == '-') {
      dash = h + i - 1;
      break;
    }
  if(!dash || dash + 1 == h + len)
    return NULL;
  for(i = (size_t)(dash + 1 - h); i < len; i++) {
    if(h[i] < '0' || h[i] > '9' || n > SIZE_MAX / 20)
      return NULL;
    n = n * 10 + (size_t)(h[i] - '0');
  }
  if(n == 0 || n > w->in->ndels)
    return NULL;
  d = w->in->dels[n - 1];
  if(strlen(d->handle) != len || memcmp(d->handle, h, len) != 0)
    return NULL;
  return d;
}

/* Try to finish receive r: take visible messages (or, at its deadline,
 * none) and tell the mapper. */
static int queue_try_receive(struct esmc_world *w, uint32_t r)
{
  struct esmc_world_internal *in = w->in;
  struct recv *rv = &in->recvs[r];
  const struct esmc_queue_spec *q = &w->sc->queue;
  struct esmc_receive_result res;
  struct esmc_hevent e;
  struct esmc_buf handles;
  uint32_t rids[10], n = 0, rid, dup = UINT32_MAX;
  int fifo = queue_fifo(w);
  esmc_status st;
  if(rv->done)
    return 0;
  if(!rv->inc->live) {
    rv->done = 1; /* dropped with its incarnation */
    return 0;
  }
  for(rid = 0; rid < w->nrecords && n < rv->max; rid++) {
    struct qmsg *m = &in->msgs[rid];
    uint32_t g = w->records[rid].group, k;
    if(m->state != ESMC_MSG_VISIBLE)
      continue;
    if(fifo && in->group_inflight[g] > 0) {
      /* Blocked, unless the in-flight ones were taken by this receive. */
      int mine = 0;
      for(k = 0; k < n && !mine; k++)
        mine = w->records[rids[k]].group == g;
      if(!mine)
        continue;
    }
    if(q->max_receive_count > 0 &&
       m->receive_count >= (uint32_t)q->max_receive_count) {
      /* Redrive: this would be receive maxReceiveCount + 1 (OBS-8). */
      queue_retire(w, rid, ESMC_MSG_DEAD_LETTER);
      record(w, ESMC_H_DEAD_LETTER, 0, 0, ESMC_NO_SHARD, 0, rid,
             m->receive_count, NULL, 0);
      continue;
    }
    rids[n++] = rid;
    /* Hidden at once, so it counts as in flight for its group. */
    m->state = ESMC_MSG_INFLIGHT;
    if(fifo)
      in->group_inflight[g]++;
  }
  /* Undo the provisional marks; queue_deliver() applies them for real. */
  {
    uint32_t k;
    for(k = 0; k < n; k++) {
      in->msgs[rids[k]].state = ESMC_MSG_VISIBLE;
      if(fifo)
        in->group_inflight[w->records[rids[k]].group]--;
    }
  }
  if(n == 0 && w->now < rv->deadline)
    return 0; /* long polling: wait for a message or the deadline */
  /* The at-least-once duplicate a standard queue may deliver (SQS-DUP-1):
   * every duplicate_every-th completed receive also returns the oldest
   * message in flight. */
  in->receives_done++;
  if(!fifo && q->duplicate_every > 0 &&
     in->receives_done % (uint64_t)q->duplicate_every == 0 && n < rv->max) {
    for(rid = 0; rid < w->nrecords; rid++)
      if(in->msgs[rid].state == ESMC_MSG_INFLIGHT &&
         (q->max_receive_count == 0 ||
          in->msgs[rid].receive_count < (uint32_t)q->max_receive_count)) {
        dup = rid;
        break;
      }
  }
  if(dup != UINT32_MAX)
    rids[n++] = dup;
  rv->done = 1;
  rv->msgs = esmc_calloc(n ? n : 1, sizeof(*rv->msgs));
  if(!rv->msgs)
    return -1;
  esmc_buf_init(&handles);
  {
    uint32_t k;
    for(k = 0; k < n; k++) {
      struct delivery *d = queue_deliver(w, rids[k], rv->vis_s);
      if(!d) {
        esmc_buf_free(&handles);
        return -1;
      }
      rv->msgs[k] = &d->pub;
      if(k)
        esmc_buf_putc(&handles, ' ');
      esmc_buf_puts(&handles, d->handle);
    }
  }
  memset(&e, 0, sizeof(e));
  e.t = w->now;
  e.kind = ESMC_H_RECEIVED;
  e.mapping = rv->inc->index;
  e.status = ESMC_OK;
  e.shard = ESMC_NO_SHARD;
  e.id = r + 1;
  e.a = rv->vis_s;
  e.b = dup != UINT32_MAX ? (int64_t)dup + 1 : 0;
  e.rids = rids;
  e.nrids = n;
  esmc_history_add(&w->hist, &e, handles.data ? handles.data : "", handles.len,
                   NULL, NULL);
  esmc_buf_free(&handles);
  memset(&res, 0, sizeof(res));
  res.struct_size = sizeof(res);
  res.status = ESMC_OK;
  res.messages = rv->msgs;
  res.count = n;
  st = in->adapter->on_receive_complete(rv->inc->state, r + 1, &res);
  check_status(w, st, "on_receive_complete");
  return 0;
}

/* Queue worlds answer stream calls, and stream worlds queue calls, with
 * ESMC_E_UNSUPPORTED. */
static int wrong_world(struct incarnation *inc, int want_queue)
{
  return inc->w->queue != want_queue;
}

static esmc_status h_get_queue_attributes(void *ctx,
                                          struct esmc_queue_attributes *out)
{
  struct incarnation *inc = host_enter(ctx, "get_queue_attributes");
  struct esmc_world *w;
  const struct esmc_queue_spec *q;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(!out) {
    contract(inc, "get_queue_attributes() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  if(wrong_world(inc, 1)) {
    record(w, ESMC_H_QUEUE_ATTRIBUTES, inc->index, ESMC_E_UNSUPPORTED,
           ESMC_NO_SHARD, 0, 0, 0, NULL, 0);
    return ESMC_E_UNSUPPORTED;
  }
  {
    esmc_status st = fault_hit(inc, ESMC_FC_GET_QUEUE_ATTRIBUTES);
    if(st != ESMC_OK) {
      record(w, ESMC_H_QUEUE_ATTRIBUTES, inc->index, st, ESMC_NO_SHARD, 0, 0,
             0, NULL, 0);
      return st;
    }
  }
  q = &w->sc->queue;
  memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(*out);
  out->fifo = queue_fifo(w);
  out->visibility_timeout_s = q->visibility_timeout_s;
  out->message_retention_s = q->message_retention_s;
  out->delay_s = q->delay_s;
  out->receive_wait_time_s = q->receive_wait_time_s;
  out->max_receive_count = q->max_receive_count;
  out->dead_letter_target_arn = w->dlq_arn[0] ? w->dlq_arn : NULL;
  out->content_based_deduplication = q->content_based_deduplication;
  record(w, ESMC_H_QUEUE_ATTRIBUTES, inc->index, ESMC_OK, ESMC_NO_SHARD, 0, 0,
         0, NULL, 0);
  return ESMC_OK;
}

static esmc_status h_receive_messages(void *ctx, uint32_t max_messages,
                                      int32_t wait_time_s,
                                      int32_t visibility_timeout_s,
                                      esmc_receive *out)
{
  struct incarnation *inc = host_enter(ctx, "receive_messages");
  struct esmc_world *w;
  struct esmc_world_internal *in;
  struct recv *rv;
  esmc_status st = ESMC_OK;
  uint32_t r;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  in = w->in;
  if(!out) {
    contract(inc, "receive_messages() called with a NULL out-parameter");
    return ESMC_E_INVALID_PARAMETER;
  }
  *out = 0;
  if(wrong_world(inc, 1))
    st = ESMC_E_UNSUPPORTED;
  else if(in->adapter->struct_size < ESMC_ADAPTER_V2_SIZE ||
          !in->adapter->on_receive_complete) {
    contract(inc, "receive_messages() called by an adapter without "
                  "on_receive_complete()");
    st = ESMC_E_STATE;
  } else if(max_messages < 1 || max_messages > 10 || wait_time_s < 0 ||
            wait_time_s > 20 || visibility_timeout_s < -1 ||
            visibility_timeout_s > 43200)
    st = ESMC_E_INVALID_PARAMETER; /* SQS-Q-1, SQS-Q-2 */
  else
    st = fault_hit(inc, ESMC_FC_RECEIVE_MESSAGES);
  if(st != ESMC_OK) {
    record(w, ESMC_H_RECEIVE, inc->index, st, ESMC_NO_SHARD, 0, max_messages,
           wait_time_s, NULL, 0);
    return st;
  }
  if(in->nrecvs == in->caprecvs &&
     esmc__vec_grow((void **)&in->recvs, &in->caprecvs, sizeof(*in->recvs)))
    return ESMC_E_NOMEM;
  if(in->npend == in->cappend &&
     esmc__vec_grow((void **)&in->pend, &in->cappend, sizeof(*in->pend)))
    return ESMC_E_NOMEM;
  r = (uint32_t)in->nrecvs++;
  rv = &in->recvs[r];
  memset(rv, 0, sizeof(*rv));
  rv->inc = inc;
  rv->max = max_messages;
  rv->deadline = w->now + (int64_t)wait_time_s * 1000;
  rv->vis_s = visibility_timeout_s < 0 ? w->sc->queue.visibility_timeout_s
                                       : visibility_timeout_s;
  in->pend[in->npend++] = r;
  if(queue_push(w, w->now, Q_RECV, r, 0) ||
     (wait_time_s > 0 && queue_push(w, rv->deadline, Q_RECV, r, 0)))
    return ESMC_E_NOMEM;
  *out = r + 1;
  record(w, ESMC_H_RECEIVE, inc->index, ESMC_OK, ESMC_NO_SHARD, r + 1,
         max_messages, wait_time_s, NULL, 0);
  return ESMC_OK;
}

static esmc_status h_delete_message(void *ctx, const char *handle)
{
  struct incarnation *inc = host_enter(ctx, "delete_message");
  struct esmc_world *w;
  struct delivery *d;
  struct qmsg *m;
  size_t hl = handle ? strnlen(handle, 256) : 0;
  int deleted = 0;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  if(wrong_world(inc, 1)) {
    record(w, ESMC_H_DELETE, inc->index, ESMC_E_UNSUPPORTED, ESMC_NO_SHARD, 0,
           -1, 0, handle ? handle : "", hl);
    return ESMC_E_UNSUPPORTED;
  }
  d = delivery_by_handle(w, handle, hl);
  if(!d) {
    record(w, ESMC_H_DELETE, inc->index, ESMC_E_NOT_FOUND, ESMC_NO_SHARD, 0,
           -1, 0, handle ? handle : "", hl);
    return ESMC_E_NOT_FOUND;
  }
  {
    /* A failed DeleteMessage leaves the message in flight: it comes back
     * when its visibility timeout ends (a duplicate, not a loss). */
    esmc_status st = fault_hit(inc, ESMC_FC_DELETE_MESSAGE);
    if(st != ESMC_OK) {
      record(w, ESMC_H_DELETE, inc->index, st, ESMC_NO_SHARD, 0, d->rid, 0,
             handle, hl);
      return st;
    }
  }
  m = &w->in->msgs[d->rid];
  /* Only the latest handle of a message still in the queue deletes it; a
   * stale one is accepted and ignored, as SQS does. */
  if(w->in->dels[m->latest - 1] == d &&
     (m->state == ESMC_MSG_INFLIGHT || m->state == ESMC_MSG_VISIBLE)) {
    queue_retire(w, d->rid, ESMC_MSG_DELETED);
    deleted = 1;
  }
  record(w, ESMC_H_DELETE, inc->index, ESMC_OK, ESMC_NO_SHARD, 0, d->rid,
         deleted, handle, hl);
  if(deleted && queue_fifo(w) && queue_wake(w))
    return ESMC_E_NOMEM;
  return ESMC_OK;
}

static esmc_status h_change_message_visibility(void *ctx, const char *handle,
                                               int32_t timeout_s)
{
  struct incarnation *inc = host_enter(ctx, "change_message_visibility");
  struct esmc_world *w;
  struct delivery *d;
  struct qmsg *m;
  size_t hl = handle ? strnlen(handle, 256) : 0;
  esmc_status st = ESMC_OK;
  if(!inc)
    return ESMC_E_STATE;
  w = inc->w;
  d = wrong_world(inc, 1) ? NULL : delivery_by_handle(w, handle, hl);
  if(wrong_world(inc, 1))
    st = ESMC_E_UNSUPPORTED;
  else if(!d)
    st = ESMC_E_NOT_FOUND;
  else if(timeout_s < 0 || timeout_s > 43200)
    st = ESMC_E_INVALID_PARAMETER;
  else if((st = fault_hit(inc, ESMC_FC_CHANGE_MESSAGE_VISIBILITY)) != ESMC_OK)
    ; /* injected: no effect */
  else {
    m = &w->in->msgs[d->rid];
    /* SQS: the message must be in flight and the handle its latest. */
    if(w->in->dels[m->latest - 1] != d || m->state != ESMC_MSG_INFLIGHT)
      st = ESMC_E_STATE;
    else if(queue_push(w, w->now + (int64_t)timeout_s * 1000, Q_MSG_VISIBLE,
                       d->rid, ++m->vis_gen))
      return ESMC_E_NOMEM;
  }
  record(w, ESMC_H_VISIBILITY, inc->index, st, ESMC_NO_SHARD, 0,
         d ? (int64_t)d->rid : -1, timeout_s, handle ? handle : "", hl);
  return st;
}

/* ------------------------------------------------------------------------ */
/* Payload decoding and shape checks (EVT-1, EVT-KIN-1, EVT-DDB-1).          */

struct jdoc {
  const char *s;
  jsmntok_t *t;
  int n;
};

/* Index of the token after the value at i. */
static int j_skip(const struct jdoc *d, int i)
{
  int end = d->t[i].end;
  i++;
  while(i < d->n && d->t[i].start < end)
    i++;
  return i;
}

static int j_eq(const struct jdoc *d, int i, const char *lit)
{
  size_t n = strlen(lit);
  return d->t[i].type == JSMN_STRING &&
         (size_t)(d->t[i].end - d->t[i].start) == n &&
         memcmp(d->s + d->t[i].start, lit, n) == 0;
}

/* The value token of key in the object at i, or -1. */
static int j_get(const struct jdoc *d, int obj, const char *key)
{
  int i, k;
  if(obj < 0 || d->t[obj].type != JSMN_OBJECT)
    return -1;
  for(i = obj + 1, k = 0; k < d->t[obj].size; k++) {
    if(j_eq(d, i, key))
      return i + 1;
    i = j_skip(d, i + 1);
  }
  return -1;
}

/* Unescape a JSON string token into out (a small decoder: the common escapes
 * and \uXXXX as UTF-8). */
static void j_str(const struct jdoc *d, int i, struct esmc_buf *out)
{
  const char *p = d->s + d->t[i].start, *e = d->s + d->t[i].end;
  esmc_buf_reset(out);
  if(!memchr(p, '\\', (size_t)(e - p))) {
    esmc_buf_put(out, p, (size_t)(e - p));
    return;
  }
  while(p < e) {
    if(*p != '\\') {
      esmc_buf_putc(out, *p++);
      continue;
    }
    p++;
    if(p >= e)
      break;
    switch(*p) {
    case 'n': esmc_buf_putc(out, '\n'); break;
    case 't': esmc_buf_putc(out, '\t'); break;
    case 'r': esmc_buf_putc(out, '\r'); break;
    case 'b': esmc_buf_putc(out, '\b'); break;
    case 'f': esmc_buf_putc(out, '\f'); break;
    case 'u': {
      unsigned v = 0;
      int k;
      for(k = 1; k <= 4 && p + k < e; k++) {
        char c = p[k];
        v = v * 16 + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
      }
      p += 4;
      if(v < 0x80)
        esmc_buf_putc(out, (char)v);
      else if(v < 0x800) {
        esmc_buf_putc(out, (char)(0xc0 | (v >> 6)));
        esmc_buf_putc(out, (char)(0x80 | (v & 63)));
      } else {
        esmc_buf_putc(out, (char)(0xe0 | (v >> 12)));
        esmc_buf_putc(out, (char)(0x80 | ((v >> 6) & 63)));
        esmc_buf_putc(out, (char)(0x80 | (v & 63)));
      }
      break;
    }
    default: esmc_buf_putc(out, *p);
    }
    p++;
  }
  if(!out->data)
    esmc_buf_put(out, "", 0);
}

/* Compare JSON texts ignoring whitespace outside strings. */
static int json_text_eq(const char *a, size_t an, const char *b, size_t bn)
{
  size_t i = 0, j = 0;
  int ina = 0, inb = 0;
  for(;;) {
    while(i < an && !ina && (a[i] == ' ' || a[i] == '\n' || a[i] == '\t' || a[i] == '\r'))
      i++;
    while(j < bn && !inb && (b[j] == ' ' || b[j] == '\n' || b[j] == '\t' || b[j] == '\r'))
      j++;
    if(i >= an || j >= bn)
      return i >= an && j >= bn;
    if(a[i] != b[j])
      return 0;
    if(a[i] == '"' && (i == 0 || a[i - 1] != '\\'))
      ina = !ina;
    if(b[j] == '"' && (j == 0 || b[j - 1] != '\\'))
      inb = !inb;
    i++;
    j++;
  }
}

#define PROBLEM(...)                                                           \
  do {                                                                         \
    if(!problem->len)                                                          \
      esmc_buf_printf(problem, __VA_ARGS__);                                   \
  } while(0)

static void check_str(const struct jdoc *d, int obj, const char *key,
                      const char *want, long idx, struct esmc_buf *tmp,
                      struct esmc_buf *problem)
{
  int v = j_get(d, obj, key);
  if(v < 0) {
    PROBLEM("Records[%ld]: missing \"%s\"", idx, key);
    return;
  }
  if(d->t[v].type != JSMN_STRING) {
    PROBLEM("Records[%ld].%s: expected a string", idx, key);
    return;
  }
  j_str(d, v, tmp);
  if(want && strcmp(tmp->data, want) != 0)
    PROBLEM("Records[%ld].%s is \"%s\"; expected \"%s\"", idx, key, tmp->data,
            want);
}

static void check_kinesis(const struct esmc_world *w, const struct jdoc *d,
                          int rec, long idx, const struct esmc_wrecord *r,
                          struct esmc_buf *tmp, struct esmc_buf *problem)
{
  int k = j_get(d, rec, "kinesis"), v;
  char want[128];
  struct esmc_buf b64;
  check_str(d, rec, "eventSource", "aws:kinesis", idx, tmp, problem);
  check_str(d, rec, "eventVersion", "1.0", idx, tmp, problem);
  check_str(d, rec, "eventName", "aws:kinesis:record", idx, tmp, problem);
  v = j_get(d, rec, "eventID");
  {
    size_t ls = strlen(r->pub.shard_id), lq = strlen(r->seq);
    int ok = v >= 0 && d->t[v].type == JSMN_STRING &&
             (size_t)(d->t[v].end - d->t[v].start) == ls + 1 + lq &&
             memcmp(d->s + d->t[v].start, r->pub.shard_id, ls) == 0 &&
             d->s[d->t[v].start + (int)ls] == ':' &&
             memcmp(d->s + d->t[v].start + ls + 1, r->seq, lq) == 0;
    if(!ok) {
      snprintf(want, sizeof(want), "%s:%s", r->pub.shard_id, r->seq);
      check_str(d, rec, "eventID", want, idx, tmp, problem);
    }
  }
  check_str(d, rec, "invokeIdentityArn", w->role_arn, idx, tmp, problem);
  check_str(d, rec, "awsRegion", w->region, idx, tmp, problem);
  check_str(d, rec, "eventSourceARN", w->stream_arn, idx, tmp, problem);
  if(k < 0 || d->t[k].type != JSMN_OBJECT) {
    PROBLEM("Records[%ld]: missing the \"kinesis\" object", idx);
    return;
  }
  check_str(d, k, "kinesisSchemaVersion", "1.0", idx, tmp, problem);
  check_str(d, k, "partitionKey", r->pub.partition_key, idx, tmp, problem);
  esmc_buf_init(&b64);
  esmc_buf_base64(&b64, r->pub.data, r->pub.data_len);
  check_str(d, k, "data", b64.data ? b64.data : "", idx, tmp, problem);
  esmc_buf_free(&b64);
  v = j_get(d, k, "approximateArrivalTimestamp");
  if(v < 0 || d->t[v].type != JSMN_PRIMITIVE) {
    PROBLEM("Records[%ld].kinesis.approximateArrivalTimestamp: expected a "
            "number of epoch seconds", idx);
  } else {
    char num[64];
    size_t len = (size_t)(d->t[v].end - d->t[v].start);
    double got, exp = (double)r->pub.approximate_arrival_ms / 1000.0;
    if(len > sizeof(num) - 1)
      len = sizeof(num) - 1;
    memcpy(num, d->s + d->t[v].start, len);
    num[len] = '\0';
    got = strtod(num, NULL);
    if(got - exp > 0.0005 || exp - got > 0.0005)
      PROBLEM("Records[%ld].kinesis.approximateArrivalTimestamp is %s; expected "
              "%.3f", idx, num, exp);
  }
}

static void check_ddb(const struct esmc_world *w, const struct jdoc *d, int rec,
                      long idx, const struct esmc_wrecord *r,
                      struct esmc_buf *tmp, struct esmc_buf *problem)
{
  static const char *const names[] = {"?", "INSERT", "MODIFY", "REMOVE"};
  int dd = j_get(d, rec, "dynamodb"), v;
  const char *view = r->pub.ddb_stream_view_type;
  int want_new = r->pub.ddb_new_image_json != NULL;
  int want_old = r->pub.ddb_old_image_json != NULL;
  check_str(d, rec, "eventID", r->event_id, idx, tmp, problem);
  check_str(d, rec, "eventName", names[r->pub.ddb_event_name & 3], idx, tmp, problem);
  check_str(d, rec, "eventSource", "aws:dynamodb", idx, tmp, problem);
  check_str(d, rec, "awsRegion", w->region, idx, tmp, problem);
  check_str(d, rec, "eventSourceARN", w->stream_arn, idx, tmp, problem);
  v = j_get(d, rec, "eventVersion");
  if(v < 0 || !(j_eq(d, v, "1.0") || j_eq(d, v, "1.1")))
    PROBLEM("Records[%ld].eventVersion: expected \"1.1\" (or \"1.0\")", idx);
  if(dd < 0 || d->t[dd].type != JSMN_OBJECT) {
    PROBLEM("Records[%ld]: missing the \"dynamodb\" object", idx);
    return;
  }
  check_str(d, dd, "StreamViewType", view, idx, tmp, problem);
  v = j_get(d, dd, "ApproximateCreationDateTime");
  if(v < 0 || d->t[v].type != JSMN_PRIMITIVE)
    PROBLEM("Records[%ld].dynamodb.ApproximateCreationDateTime: expected a "
            "number of epoch seconds", idx);
  else {
    long long got = strtoll(d->s + d->t[v].start, NULL, 10);
    if(got != r->pub.approximate_arrival_ms / 1000)
      PROBLEM("Records[%ld].dynamodb.ApproximateCreationDateTime is %lld; "
              "expected %lld", idx, got,
              (long long)(r->pub.approximate_arrival_ms / 1000));
  }
  v = j_get(d, dd, "SizeBytes");
  if(v < 0 || d->t[v].type != JSMN_PRIMITIVE)
    PROBLEM("Records[%ld].dynamodb.SizeBytes: expected a number", idx);
  v = j_get(d, dd, "Keys");
  if(v < 0 || d->t[v].type != JSMN_OBJECT ||
     !json_text_eq(d->s + d->t[v].start, (size_t)(d->t[v].end - d->t[v].start),
                   r->pub.ddb_keys_json, strlen(r->pub.ddb_keys_json)))
    PROBLEM("Records[%ld].dynamodb.Keys: expected %s", idx, r->pub.ddb_keys_json);
  v = j_get(d, dd, "NewImage");
  if(want_new && (v < 0 || !json_text_eq(d->s + d->t[v].start,
                                         (size_t)(d->t[v].end - d->t[v].start),
                                         r->pub.ddb_new_image_json,
                                         strlen(r->pub.ddb_new_image_json))))
    PROBLEM("Records[%ld].dynamodb.NewImage: expected %s", idx,
            r->pub.ddb_new_image_json);
  if(!want_new && v >= 0)
    PROBLEM("Records[%ld].dynamodb.NewImage: present, but the stream view type "
            "%s and the record carry none", idx, view);
  v = j_get(d, dd, "OldImage");
  if(want_old && (v < 0 || !json_text_eq(d->s + d->t[v].start,
                                         (size_t)(d->t[v].end - d->t[v].start),
                                         r->pub.ddb_old_image_json,
                                         strlen(r->pub.ddb_old_image_json))))
    PROBLEM("Records[%ld].dynamodb.OldImage: expected %s", idx,
            r->pub.ddb_old_image_json);
  if(!want_old && v >= 0)
    PROBLEM("Records[%ld].dynamodb.OldImage: present, but the stream view type "
            "%s and the record carry none", idx, view);
}

/* Compare a JSON string token's unescaped value with bytes p[0, n). */
static int j_str_is(const struct jdoc *d, int v, const char *p, size_t n,
                    struct esmc_buf *tmp)
{
  if(v < 0 || d->t[v].type != JSMN_STRING)
    return 0;
  j_str(d, v, tmp);
  return tmp->len == n && (n == 0 || memcmp(tmp->data, p, n) == 0);
}

static void check_sqs_attr(const struct jdoc *d, int obj, const char *key,
                           const char *want, long idx, struct esmc_buf *tmp,
                           struct esmc_buf *problem)
{
  int v = j_get(d, obj, key);
  if(v < 0 || d->t[v].type != JSMN_STRING) {
    PROBLEM("Records[%ld].attributes.%s: expected the string \"%s\"", idx, key,
            want);
    return;
  }
  j_str(d, v, tmp);
  if(strcmp(tmp->data, want) != 0)
    PROBLEM("Records[%ld].attributes.%s is \"%s\"; expected \"%s\"", idx, key,
            tmp->data, want);
}

/* EVT-SQS-1 (and FIFO-11) on one record of an SQS event. The receipt handle
 * must be one the world gave for this message; ApproximateReceiveCount must
 * be that receive's count. */
static void check_sqs(const struct esmc_world *w, const struct jdoc *d,
                      int rec, long idx, const struct esmc_wrecord *r,
                      struct esmc_buf *tmp, struct esmc_buf *problem)
{
  const struct delivery *dl = NULL;
  int v, at, ma;
  char num[32];
  size_t k;
  v = j_get(d, rec, "receiptHandle");
  if(v < 0 || d->t[v].type != JSMN_STRING)
    PROBLEM("Records[%ld]: missing \"receiptHandle\"", idx);
  else {
    j_str(d, v, tmp);
    dl = delivery_by_handle(w, tmp->data, tmp->len);
    if(!dl || dl->rid != r->rid)
      PROBLEM("Records[%ld].receiptHandle \"%.80s\" is not a receipt handle "
              "the queue gave for message %s", idx, tmp->data, r->seq);
  }
  v = j_get(d, rec, "body");
  if(!j_str_is(d, v, (const char *)r->pub.data, r->pub.data_len, tmp))
    PROBLEM("Records[%ld].body is not the message's body", idx);
  check_str(d, rec, "md5OfBody", r->md5_of_body, idx, tmp, problem);
  check_str(d, rec, "eventSource", "aws:sqs", idx, tmp, problem);
  check_str(d, rec, "eventSourceARN", w->stream_arn, idx, tmp, problem);
  check_str(d, rec, "awsRegion", w->region, idx, tmp, problem);
  at = j_get(d, rec, "attributes");
  if(at < 0 || d->t[at].type != JSMN_OBJECT)
    PROBLEM("Records[%ld]: missing the \"attributes\" object", idx);
  else {
    if(dl) {
      snprintf(num, sizeof(num), "%" PRIu32, dl->pub.approximate_receive_count);
      check_sqs_attr(d, at, "ApproximateReceiveCount", num, idx, tmp, problem);
      snprintf(num, sizeof(num), "%" PRId64,
               (int64_t)dl->pub.first_receive_timestamp_ms);
      check_sqs_attr(d, at, "ApproximateFirstReceiveTimestamp", num, idx, tmp,
                     problem);
    }
    snprintf(num, sizeof(num), "%" PRId64,
             (int64_t)r->pub.approximate_arrival_ms);
    check_sqs_attr(d, at, "SentTimestamp", num, idx, tmp, problem);
    check_sqs_attr(d, at, "SenderId", SENDER_ID, idx, tmp, problem);
    if(queue_fifo(w)) {
      check_sqs_attr(d, at, "SequenceNumber", r->fifo_seq, idx, tmp, problem);
      check_sqs_attr(d, at, "MessageGroupId", r->pub.partition_key, idx, tmp,
                     problem);
      check_sqs_attr(d, at, "MessageDeduplicationId", r->dedup_id, idx, tmp,
                     problem);
    }
  }
  ma = j_get(d, rec, "messageAttributes");
  if(ma < 0 || d->t[ma].type != JSMN_OBJECT)
    PROBLEM("Records[%ld]: missing the \"messageAttributes\" object", idx);
  else if((size_t)d->t[ma].size != r->attr_count)
    PROBLEM("Records[%ld].messageAttributes has %d entries; the message has "
            "%zu", idx, d->t[ma].size, r->attr_count);
  else
    for(k = 0; k < r->attr_count; k++) {
      int a = j_get(d, ma, r->attrs[k].name), x;
      if(a < 0 || d->t[a].type != JSMN_OBJECT) {
        PROBLEM("Records[%ld].messageAttributes: missing \"%s\"", idx,
                r->attrs[k].name);
        break;
      }
      x = j_get(d, a, "stringValue");
      if(!j_str_is(d, x, r->attrs[k].string_value,
                   strlen(r->attrs[k].string_value), tmp))
        PROBLEM("Records[%ld].messageAttributes.%s.stringValue: expected "
                "\"%s\"", idx, r->attrs[k].name, r->attrs[k].string_value);
      x = j_get(d, a, "dataType");
      if(x < 0 || !j_eq(d, x, "String"))
        PROBLEM("Records[%ld].messageAttributes.%s.dataType: expected "
                "\"String\"", idx, r->attrs[k].name);
      x = j_get(d, a, "stringListValues");
      if(x < 0 || d->t[x].type != JSMN_ARRAY || d->t[x].size != 0)
        PROBLEM("Records[%ld].messageAttributes.%s.stringListValues: "
                "expected []", idx, r->attrs[k].name);
      x = j_get(d, a, "binaryListValues");
      if(x < 0 || d->t[x].type != JSMN_ARRAY || d->t[x].size != 0)
        PROBLEM("Records[%ld].messageAttributes.%s.binaryListValues: "
                "expected []", idx, r->attrs[k].name);
    }
  v = j_get(d, rec, "md5OfMessageAttributes");
  if(r->attr_count)
    check_str(d, rec, "md5OfMessageAttributes", r->md5_of_attributes, idx,
              tmp, problem);
  else if(v >= 0 && d->t[v].type != JSMN_PRIMITIVE)
    PROBLEM("Records[%ld].md5OfMessageAttributes: present, but the message "
            "has no attributes (null or absent expected)", idx);
}

/* The message whose MessageId is p[0, n), or NULL. */
static const struct esmc_wrecord *message_by_id(const struct esmc_world *w,
                                                const char *p, size_t n)
{
  if(n == 0 || n >= 64)
    return NULL;
  {
    char id[64];
    memcpy(id, p, n);
    id[n] = '\0';
    return esmc_world_record_by_seq(w, id);
  }
}

long esmc_world_decode_payload(const struct esmc_world *w, const char *payload,
                               size_t len, uint32_t **rids_out,
                               struct esmc_buf *problem)
{
  jsmn_parser p;
  struct jdoc d;
  struct esmc_buf tmp;
  int n, recs, i, k;
  long count = 0;
  uint32_t *rids;
  int kin = w->sc->source != ESMC_SOURCE_DYNAMODB;

  *rids_out = NULL;
  /* One pass into a reused token buffer, grown when jsmn runs out. */
  for(;;) {
    struct esmc_world_internal *in = w->in;
    if(in->toks) { /* jsmn only counts when given no buffer */
      jsmn_init(&p);
      n = jsmn_parse(&p, payload ? payload : "", len, in->toks,
                     (unsigned)in->captoks);
      if(n != JSMN_ERROR_NOMEM)
        break;
    }
    {
      size_t ncap = in->captoks ? in->captoks * 2 : len / 8 + 64;
      jsmntok_t *nt = esmc_realloc(in->toks, ncap * sizeof(jsmntok_t));
      if(!nt)
        return -1;
      in->toks = nt;
      in->captoks = ncap;
    }
  }
  if(n <= 0) {
    PROBLEM("the event payload is not valid JSON (at byte %u)", p.pos);
    return -1;
  }
  d.s = payload;
  d.n = n;
  d.t = w->in->toks;
  if(d.t[0].type != JSMN_OBJECT || j_skip(&d, 0) != n) {
    PROBLEM("the event payload is not a single JSON object");
    return -1;
  }
  recs = j_get(&d, 0, "Records");
  if(recs < 0 || d.t[recs].type != JSMN_ARRAY) {
    PROBLEM("the event has no \"Records\" array");
    return -1;
  }
  rids = esmc_malloc(sizeof(uint32_t) * (size_t)(d.t[recs].size + 1));
  if(!rids)
    return -1;
  esmc_buf_init(&tmp);
  for(i = recs + 1, k = 0; k < d.t[recs].size; k++, i = j_skip(&d, i)) {
    int inner, sv;
    const struct esmc_wrecord *r = NULL;
    if(d.t[i].type != JSMN_OBJECT) {
      PROBLEM("Records[%d] is not an object", k);
      continue;
    }
    if(w->queue) {
      sv = j_get(&d, i, "messageId");
      if(sv < 0 || d.t[sv].type != JSMN_STRING) {
        PROBLEM("Records[%d]: no messageId", k);
        continue;
      }
      j_str(&d, sv, &tmp);
      r = message_by_id(w, tmp.data, tmp.len);
      if(!r) {
        PROBLEM("Records[%d]: messageId %.80s is not a message of this queue",
                k, tmp.data);
        continue;
      }
      rids[count++] = r->rid;
      check_sqs(w, &d, i, k, r, &tmp, problem);
      continue;
    }
    inner = j_get(&d, i, kin ? "kinesis" : "dynamodb");
    sv = j_get(&d, inner, kin ? "sequenceNumber" : "SequenceNumber");
    if(sv < 0 || d.t[sv].type != JSMN_STRING) {
      PROBLEM("Records[%d]: no %s", k,
              kin ? "kinesis.sequenceNumber" : "dynamodb.SequenceNumber");
      continue;
    }
    j_str(&d, sv, &tmp);
    r = esmc_world_record_by_seq(w, tmp.data);
    if(!r) {
      PROBLEM("Records[%d]: sequence number %s is not a record of this stream",
              k, tmp.data);
      continue;
    }
    rids[count++] = r->rid;
    if(kin)
      check_kinesis(w, &d, i, k, r, &tmp, problem);
    else
      check_ddb(w, &d, i, k, r, &tmp, problem);
  }
  esmc_buf_free(&tmp);
  *rids_out = rids;
  return count;
}

/* ------------------------------------------------------------------------ */
/* Running.                                                                  */

static void build_config(const struct esmc_world *w, const struct wmapping *m,
                         const struct esmc_config_spec *c, int restart,
                         struct esmc_mapping_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->abi_version = ESMC_ABI_VERSION;
  cfg->struct_size = sizeof(*cfg);
  cfg->source = w->sc->source ? w->sc->source : ESMC_SOURCE_KINESIS;
  cfg->uuid = m->uuid;
  cfg->event_source_arn = w->stream_arn;
  cfg->function_arn = m->function_arn;
  cfg->role_arn = w->role_arn;
  cfg->region = w->region;
  cfg->enabled = c->enabled;
  cfg->batch_size = c->batch_size;
  cfg->maximum_batching_window_s = c->maximum_batching_window_s;
  cfg->starting_position = c->starting_position;
  cfg->starting_position_timestamp_ms =
      c->starting_position_timestamp_given
          ? w->epoch_ms + c->starting_position_timestamp_ms
          : 0;
  cfg->parallelization_factor = c->parallelization_factor;
  cfg->maximum_retry_attempts = c->maximum_retry_attempts;
  cfg->maximum_record_age_s = c->maximum_record_age_s;
  cfg->bisect_batch_on_function_error = c->bisect_batch_on_function_error;
  cfg->tumbling_window_s = c->tumbling_window_s;
  cfg->function_response_types = c->function_response_types;
  cfg->function_response_types_given = c->function_response_types_given;
  cfg->on_failure_destination = c->on_failure_destination;
  cfg->filter_patterns = (const char *const *)c->filter_patterns;
  cfg->filter_count = c->filter_count;
  cfg->filter_criteria_given = c->filter_criteria_given;
  cfg->function_timeout_s = m->fn->timeout_s;
  cfg->maximum_concurrency = c->maximum_concurrency;
  cfg->scaling_profile = c->scaling_profile;
  cfg->restart = restart != 0;
}

/* The case's configuration with the given members of every accepted update
 * applied, in order. A shallow copy: its pointers borrow the scenario's. */
static void current_config(const struct esmc_world *w, const struct wmapping *m,
                           struct esmc_config_spec *c)
{
  size_t i;
  *c = *m->base;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    const struct esmc_config_spec *u;
    if(e->kind != ESMC_H_UPDATE || e->status != ESMC_OK || e->a < 0 ||
       (size_t)e->a >= w->sc->event_count || e->mapping != m->index)
      continue;
    u = &w->sc->events[e->a].update;
#define TAKE(field)                                                            \
  if(u->field != ESMC_UNSET)                                                   \
    c->field = u->field;
    TAKE(enabled)
    TAKE(batch_size)
    TAKE(maximum_batching_window_s)
    TAKE(parallelization_factor)
    TAKE(maximum_retry_attempts)
    TAKE(maximum_record_age_s)
    TAKE(bisect_batch_on_function_error)
    TAKE(tumbling_window_s)
    TAKE(maximum_concurrency)
    TAKE(scaling_profile)
#undef TAKE
    if(u->function_response_types_given) {
      c->function_response_types = u->function_response_types;
      c->function_response_types_given = 1;
    }
    if(u->on_failure_destination)
      c->on_failure_destination = u->on_failure_destination;
    if(u->filter_criteria_given) {
      c->filter_patterns = u->filter_patterns;
      c->filter_count = u->filter_count;
      c->filter_criteria_given = 1;
    }
  }
}

static void check_status(struct esmc_world *w, esmc_status st, const char *cb)
{
  if(st <= ESMC_E_FATAL && !w->in->stop) {
    w->in->stop = 1;
    w->in->out->end = ESMC_END_FATAL;
    snprintf(w->in->out->detail, sizeof(w->in->out->detail),
             "the adapter's %s() returned the fatal status %d", cb, (int)st);
  }
}

static void format_error(char *dst, size_t n, const struct esmc_error *err)
{
  char code[ESMC_ERROR_CODE_MAX], msg[ESMC_ERROR_MESSAGE_MAX];
  memcpy(code, err->code, sizeof(code));
  memcpy(msg, err->message, sizeof(msg));
  code[sizeof(code) - 1] = '\0';
  msg[sizeof(msg) - 1] = '\0';
  snprintf(dst, n, "%s: %s", code[0] ? code : "(no code)", msg);
}

/* Fill in the outcome of a CREATE or UPDATE recorded before the call. */
static void finish_call(struct esmc_world *w, long ev, esmc_status st,
                        const char *text)
{
  struct esmc_hevent *e;
  if(ev < 0)
    return;
  e = &w->hist.ev[ev];
  e->status = st;
  if(text[0]) {
    e->text = esmc_strdup(text);
    if(!e->text)
      w->hist.oom = 1;
    else
      e->text_len = strlen(text);
  }
}

static int do_create(struct esmc_world *w, struct wmapping *m, int restart)
{
  struct esmc_world_internal *in = w->in;
  struct incarnation *inc, **ni;
  struct esmc_mapping_config cfg;
  struct esmc_error err;
  esmc_status st;
  long ev;
  char text[ESMC_ERROR_CODE_MAX + ESMC_ERROR_MESSAGE_MAX + 4];

  inc = esmc_calloc(1, sizeof(*inc));
  ni = esmc_realloc(m->inc, sizeof(*ni) * (m->ninc + 1));
  if(!inc || !ni) {
    esmc_free(inc);
    if(ni)
      m->inc = ni;
    return -1;
  }
  m->inc = ni;
  m->inc[m->ninc++] = inc;
  inc->w = w;
  inc->m = m;
  inc->index = m->index;
  inc->host.abi_version = ESMC_ABI_VERSION;
  inc->host.struct_size = sizeof(inc->host);
  inc->host.ctx = inc;
  inc->host.now = h_now;
  inc->host.set_timer = h_set_timer;
  inc->host.cancel_timer = h_cancel_timer;
  inc->host.log = h_log;
  inc->host.list_shards = h_list_shards;
  inc->host.get_shard_iterator = h_get_shard_iterator;
  inc->host.get_records = h_get_records;
  inc->host.invoke = h_invoke;
  inc->host.send_to_destination = h_send_to_destination;
  inc->host.checkpoint = h_checkpoint;
  inc->host.get_checkpoint = h_get_checkpoint;
  inc->host.get_queue_attributes = h_get_queue_attributes;
  inc->host.receive_messages = h_receive_messages;
  inc->host.delete_message = h_delete_message;
  inc->host.change_message_visibility = h_change_message_visibility;
  {
    /* A restart re-creates the mapping as it is now: the case's
     * configuration with every accepted update applied. */
    struct esmc_config_spec now_cfg;
    current_config(w, m, &now_cfg);
    build_config(w, m, &now_cfg, restart, &cfg);
  }
  if(m->enabled == 0)
    cfg.enabled = 0; /* a restart keeps the current Enabled state */
  memset(&err, 0, sizeof(err));
  inc->live = 1; /* host calls from inside create() are allowed */
  m->cur = inc;
  /* Recorded before the call, so host calls made inside create() follow it;
   * the status is filled in when create() returns. */
  ev = record(w, ESMC_H_CREATE, m->index, 0, ESMC_NO_SHARD, 0, restart, 0,
              NULL, 0);
  st = in->adapter->create(&inc->host, &cfg, &inc->state, &err);
  text[0] = '\0';
  if(st != ESMC_OK) {
    inc->live = 0;
    m->cur = NULL;
    format_error(text, sizeof(text), &err);
    /* The outcome speaks for mapping 0; a later mapping's rejection is in
     * its CREATE event (the checkers judge each mapping on its own), but
     * any mapping declined as unsupported makes the case unsupported. */
    if(!restart && m->index == 0) {
      in->out->create_rejected = 1;
      snprintf(in->out->create_error, sizeof(in->out->create_error), "%s", text);
    }
    if(!restart && st == ESMC_E_UNSUPPORTED) {
      in->out->create_unsupported = 1;
      if(m->index != 0) {
        struct esmc_buf b;
        size_t n;
        esmc_buf_init(&b);
        esmc_buf_printf(&b, "mapping %s: %s",
                        esmc_scenario_mapping_name(w->sc, m->index), text);
        n = b.len < sizeof(in->out->create_error) - 1
                ? b.len
                : sizeof(in->out->create_error) - 1;
        if(b.data)
          memcpy(in->out->create_error, b.data, n);
        in->out->create_error[b.data ? n : 0] = '\0';
        esmc_buf_free(&b);
      }
    }
    m->create_failed = 1;
  } else if(m->first_create_ms < 0)
    m->first_create_ms = w->now;
  finish_call(w, ev, st, text);
  check_status(w, st, "create");
  return 0;
}

static void do_destroy(struct esmc_world *w, struct wmapping *m, int restart)
{
  struct incarnation *inc = m->cur;
  if(!inc)
    return;
  inc->live = 0; /* calls from inside destroy() are contract violations */
  w->in->adapter->destroy(inc->state);
  inc->state = NULL;
  m->cur = NULL;
  record(w, ESMC_H_DESTROY, m->index, 0, ESMC_NO_SHARD, 0, restart, 0, NULL, 0);
}

static void do_update(struct esmc_world *w, size_t ev_index)
{
  const struct esmc_case_event *ce = &w->sc->events[ev_index];
  struct wmapping *m =
      &w->in->mappings[(uint32_t)ce->mapping < w->in->nmappings ? ce->mapping : 0];
  struct esmc_mapping_config cfg;
  struct esmc_error err;
  esmc_status st;
  long ev;
  char text[ESMC_ERROR_CODE_MAX + ESMC_ERROR_MESSAGE_MAX + 4];
  if(!m->cur)
    return;
  build_config(w, m, &ce->update, 0, &cfg);
  memset(&err, 0, sizeof(err));
  text[0] = '\0';
  ev = record(w, ESMC_H_UPDATE, m->index, 0, ESMC_NO_SHARD, 0,
              (int64_t)ev_index, 0, NULL, 0);
  if(!w->in->adapter->update)
    st = ESMC_E_UNSUPPORTED;
  else
    st = w->in->adapter->update(m->cur->state, &cfg, &err);
  if(st != ESMC_OK)
    format_error(text, sizeof(text), &err);
  else if(ce->update.enabled != ESMC_UNSET)
    m->enabled = ce->update.enabled != 0;
  finish_call(w, ev, st, text);
  check_status(w, st, "update");
}

static void do_complete(struct esmc_world *w, size_t index)
{
  struct invocation *iv = &w->in->invs[index];
  struct esmc_invoke_result r;
  struct esmc_hevent e;
  esmc_status st;
  iv->done = 1;
  iv->inc->inflight--;
  if(!iv->inc->live)
    return; /* the mapper was destroyed; it never hears of this */
  memset(&e, 0, sizeof(e));
  e.t = w->now;
  e.kind = ESMC_H_COMPLETE;
  e.mapping = iv->mapping;
  e.status = iv->status;
  e.shard = iv->ev >= 0 ? w->hist.ev[iv->ev].shard : ESMC_NO_SHARD;
  e.id = index + 1;
  e.a = iv->outcome;
  e.b = iv->ev;
  esmc_history_add(&w->hist, &e, iv->response.data ? iv->response.data : "",
                   iv->response.len, iv->function_error, NULL);
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.outcome = iv->outcome;
  r.status_code = iv->status;
  r.function_error = iv->function_error;
  r.executed_version = "$LATEST";
  r.request_id = iv->request_id;
  r.payload = (const uint8_t *)(iv->response.data ? iv->response.data : "");
  r.payload_len = iv->response.len;
  st = w->in->adapter->on_invoke_complete(iv->inc->state, index + 1, &r);
  check_status(w, st, "on_invoke_complete");
  /* The callback may have invoked again and moved the array: re-fetch. */
  esmc_buf_free(&w->in->invs[index].response); /* in the history already */
}

static int schedule(struct esmc_world *w, int64_t t, enum qkind kind,
                    uint64_t a, uint64_t b)
{
  struct qitem it;
  memset(&it, 0, sizeof(it));
  it.t = t;
  it.tie = rng_next(&w->in->rng);
  it.kind = kind;
  it.a = a;
  it.b = b;
  return q_push(&w->in->q, it);
}

/* All scripted work is done, nothing is in flight, and every appended record
 * in scope is covered by a checkpoint (or the mapping is disabled or gone). */
static int mapping_quiescent(const struct esmc_world *w,
                             const struct wmapping *m);

/* Idle end (streams with the default horizon): 1 when the script is over,
 * nothing is in flight, and for IDLE_END_MS the history has shown only
 * empty polls, iterators, listings, timers and logs. */
static int idle_too_long(struct esmc_world *w)
{
  struct esmc_world_internal *in = w->in;
  uint32_t m;
  for(; in->idle_scanned < w->hist.n; in->idle_scanned++) {
    const struct esmc_hevent *e = &w->hist.ev[in->idle_scanned];
    switch(e->kind) {
    case ESMC_H_TIMER_SET:
    case ESMC_H_TIMER_CANCEL:
    case ESMC_H_TIMER_FIRE:
    case ESMC_H_LIST_SHARDS:
    case ESMC_H_GET_ITERATOR:
    case ESMC_H_LOG:
      break;
    case ESMC_H_GET_RECORDS:
      if(e->status == ESMC_OK && e->b > 0)
        in->last_activity = e->t; /* records were read */
      break;
    default:
      in->last_activity = e->t;
    }
  }
  if(w->queue || w->sc->run_until_ms > 0 || in->pending_scripted ||
     w->now - in->last_activity < IDLE_END_MS)
    return 0;
  for(m = 0; m < in->nmappings; m++)
    if(in->mappings[m].cur && in->mappings[m].cur->inflight)
      return 0;
  return 1;
}

/* The mapping a fault event is recorded under: its own, or 0 for all. */
static uint32_t fault_mapping(const struct esmc_scenario *sc, uint64_t ev)
{
  int32_t m = sc->events[ev].fault.mapping;
  return m > 0 ? (uint32_t)m : 0;
}

static int quiescent(const struct esmc_world *w)
{
  const struct esmc_world_internal *in = w->in;
  uint32_t i;
  if(in->pending_scripted)
    return 0;
  for(i = 0; i < in->nmappings; i++)
    if(!mapping_quiescent(w, &in->mappings[i]))
      return 0;
  return 1;
}

static int mapping_quiescent(const struct esmc_world *w,
                             const struct wmapping *m)
{
  const struct esmc_world_internal *in = w->in;
  uint32_t s;
  if(!m->cur)
    return 1;
  if(m->cur->inflight)
    return 0;
  if(!m->enabled)
    return 1;
  if(w->queue)
    return in->queue_open == 0; /* every message deleted, dead-lettered,
                                   expired or deduplicated */
  for(s = 0; s < w->nshards; s++) {
    uint32_t vis = in->visible[s], covered = 0;
    const char *ck = m->ckpt[s];
    const struct esmc_wshard *sh = &w->shards[s];
    if(vis == 0 || (m->scope_start[s] != UINT32_MAX && m->scope_start[s] >= vis))
      continue;
    if(ck[0]) {
      /* Numerically: a checkpoint need not name a record. */
      uint32_t lo = 0, hi = sh->n;
      while(lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if(esmc_seq_cmp(w->records[sh->rids[mid]].seq, ck) <= 0)
          lo = mid + 1;
        else
          hi = mid;
      }
      covered = lo;
    }
    if(covered < vis && first_untrimmed(w, s) < vis)
      return 0;
  }
  return 1;
}

int esmc_world_run(struct esmc_world *w, const struct esmc_adapter *a,
                   struct esmc_run_outcome *out)
{
  struct esmc_world_internal *in = w->in;
  const struct esmc_scenario *sc = w->sc;
  int64_t horizon, last_scripted = 0;
  int64_t stall_t = 0; /* time starts at 0: a loop there is a stall too */
  uint64_t stall_n = 0, step_limit;
  size_t i;
  uint32_t s;

  memset(out, 0, sizeof(*out));
  in->out = out;
  in->adapter = a;
  for(s = 0; s < in->nmappings; s++) {
    struct esmc_effective_config ec;
    struct esmc_scenario view;
    esmc_scenario_mapping_view(sc, s, &view);
    esmc_effective_config_init(&ec, &view);
    in->mappings[s].enabled = ec.enabled != 0;
  }

  /* Appends: one event per shard and instant, in sequence order. */
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    uint32_t k = 0;
    while(k < sh->n) {
      uint32_t j = k;
      int64_t t = w->records[sh->rids[k]].at_ms;
      while(j < sh->n && w->records[sh->rids[j]].at_ms == t)
        j++;
      if(schedule(w, t, Q_APPEND, s, ((uint64_t)k << 32) | (j - k)))
        goto oom;
      in->pending_scripted++;
      if(t > last_scripted)
        last_scripted = t;
      k = j;
    }
  }
  for(s = 0; s < in->nmappings; s++) {
    if(schedule(w, in->mappings[s].create_at_ms, Q_CREATE, s, 0))
      goto oom;
    in->pending_scripted++;
    if(in->mappings[s].create_at_ms > last_scripted)
      last_scripted = in->mappings[s].create_at_ms;
  }
  for(i = 0; i < sc->event_count; i++) {
    const struct esmc_case_event *ce = &sc->events[i];
    if(ce->kind == ESMC_CASE_FAULT && ce->fault.until_ms < INT64_MAX / 2) {
      /* The fault heals first at its instant too. */
      struct qitem it;
      memset(&it, 0, sizeof(it));
      it.t = ce->fault.until_ms;
      it.kind = Q_HEAL;
      it.a = i;
      if(q_push(&in->q, it))
        goto oom;
      in->pending_scripted++;
      if(ce->fault.until_ms > last_scripted)
        last_scripted = ce->fault.until_ms;
    }
    if(is_reshard(ce->kind) || ce->kind == ESMC_CASE_FAULT ||
       ce->kind == ESMC_CASE_TRIM) {
      /* A reshard, fault or trim runs first at its instant (tie 0, then
       * case order): the appends of that instant find the new shards, and
       * a create at that instant meets the fault. */
      struct qitem it;
      memset(&it, 0, sizeof(it));
      it.t = sc->events[i].at_ms;
      it.kind = Q_CASE_EVENT;
      it.a = i;
      if(q_push(&in->q, it))
        goto oom;
    } else if(schedule(w, sc->events[i].at_ms, Q_CASE_EVENT, i, 0))
      goto oom;
    in->pending_scripted++;
    if(sc->events[i].at_ms > last_scripted)
      last_scripted = sc->events[i].at_ms;
  }
  if(w->queue) {
    /* Room for every receive up to maxReceiveCount (or a few when there is
     * no dead-letter queue), each a visibility timeout plus a function
     * timeout plus a long poll apart, then ten minutes; not the retention
     * period, which is days. */
    const struct esmc_queue_spec *q = &sc->queue;
    int64_t rounds = q->max_receive_count > 0 ? q->max_receive_count : 3;
    horizon = sc->run_until_ms > 0
                  ? sc->run_until_ms
                  : last_scripted + (int64_t)q->delay_s * 1000 +
                        (rounds + 1) * ((int64_t)q->visibility_timeout_s +
                                        sc->function.timeout_s + 20) *
                            1000 +
                        600000;
    /* Retention: each message expires retention seconds after its send. */
    for(i = 0; i < w->nrecords; i++) {
      int64_t t = w->records[i].at_ms + (int64_t)q->message_retention_s * 1000;
      if(t <= horizon && schedule(w, t, Q_MSG_EXPIRE, i, 0))
        goto oom;
    }
  } else
    horizon = sc->run_until_ms > 0 ? sc->run_until_ms
                                   : last_scripted + sc->retention_ms + 60000;
  if(schedule(w, horizon, Q_END, 1, 0))
    goto oom;
  step_limit = 20000000 + (uint64_t)w->nrecords * 50;

  while(in->q.n && !in->stop) {
    struct qitem it = q_pop(&in->q);
    if(it.t > w->now) {
      w->now = it.t;
      stall_t = it.t;
      stall_n = 0;
    } else if(++stall_n > STALL_LIMIT && it.t == stall_t) {
      out->end = ESMC_END_STEP_LIMIT;
      snprintf(out->detail, sizeof(out->detail),
               "simulated time stalled at t=%" PRId64 " ms: more than %d "
               "events at one instant (a timer or poll loop that never waits)",
               w->now, STALL_LIMIT);
      break;
    }
    if(++out->steps > step_limit) {
      out->end = ESMC_END_STEP_LIMIT;
      snprintf(out->detail, sizeof(out->detail),
               "more than %" PRIu64 " events by t=%" PRId64 " ms", step_limit,
               w->now);
      break;
    }
    switch(it.kind) {
    case Q_APPEND: {
      uint32_t first = (uint32_t)(it.b >> 32), count = (uint32_t)it.b;
      in->visible[it.a] = first + count;
      in->pending_scripted--;
      record(w, ESMC_H_APPEND, 0, 0, (uint32_t)it.a, 0, first, count, NULL, 0);
      /* A queue's APPEND is its SendMessage calls at this instant. */
      if(w->queue && queue_send(w, first, count))
        goto oom;
      break;
    }
    case Q_RECV:
      if(queue_try_receive(w, (uint32_t)it.a))
        goto oom;
      break;
    case Q_MSG_VISIBLE:
      if(queue_visible(w, (uint32_t)it.a, it.b))
        goto oom;
      break;
    case Q_MSG_EXPIRE:
      if(queue_expire(w, (uint32_t)it.a))
        goto oom;
      break;
    case Q_CREATE:
      in->pending_scripted--;
      if(do_create(w, &in->mappings[it.a], 0))
        goto oom;
      break;
    case Q_HEAL:
      in->pending_scripted--;
      in->fault_on[it.a] = 0;
      record(w, ESMC_H_FAULT, fault_mapping(sc, it.a), 0, ESMC_NO_SHARD, 1,
             ESMC_CASE_FAULT, (int64_t)it.a, NULL, 0);
      break;
    case Q_CASE_EVENT: {
      const struct esmc_case_event *ce = &sc->events[it.a];
      in->pending_scripted--;
      switch(ce->kind) {
      case ESMC_CASE_UPDATE:
        do_update(w, (size_t)it.a);
        break;
      case ESMC_CASE_RESTART: {
        struct wmapping *m =
            &in->mappings[(uint32_t)ce->mapping < in->nmappings ? ce->mapping : 0];
        record(w, ESMC_H_FAULT, m->index, 0, ESMC_NO_SHARD, 0, ce->kind,
               (int64_t)it.a, NULL, 0);
        if(m->cur) {
          do_destroy(w, m, 1);
          if(do_create(w, m, 1))
            goto oom;
        }
        break;
      }
      case ESMC_CASE_DESTINATION_DOWN:
      case ESMC_CASE_DESTINATION_UP:
        in->destination_down = ce->kind == ESMC_CASE_DESTINATION_DOWN;
        record(w, ESMC_H_FAULT, 0, 0, ESMC_NO_SHARD, 0, ce->kind,
               (int64_t)it.a, NULL, 0);
        break;
      case ESMC_CASE_FAULT:
        in->fault_on[it.a] = ce->fault.until_ms > w->now;
        record(w, ESMC_H_FAULT, fault_mapping(sc, it.a), 0, ESMC_NO_SHARD, 0,
               ce->kind, (int64_t)it.a, NULL, 0);
        break;
      case ESMC_CASE_TRIM:
        /* The records' trim times already include it (set_trim_times). */
        record(w, ESMC_H_FAULT, 0, 0,
               ce->shards[0] >= 0 ? (uint32_t)ce->shards[0] : ESMC_NO_SHARD, 0,
               ce->kind, (int64_t)it.a, NULL, 0);
        break;
      case ESMC_CASE_SPLIT:
      case ESMC_CASE_MERGE:
      case ESMC_CASE_ROLLOVER:
        /* The plan fixed the shards; this makes the reshard visible in the
         * history: shard = the (first) parent, id = the first child. */
        if(in->plan_applied[it.a]) {
          uint32_t c = 0;
          while(c < w->nshards && !(w->shards[c].created_ms == w->now &&
                                    w->shards[c].nparents > 0 &&
                                    w->shards[c].parents[0] ==
                                        (uint32_t)ce->shards[0]))
            c++;
          record(w, ESMC_H_FAULT, 0, 0, (uint32_t)ce->shards[0], c, ce->kind,
                 (int64_t)it.a, NULL, 0);
        }
        break;
      }
      break;
    }
    case Q_TIMER: {
      struct incarnation *inc = (struct incarnation *)(uintptr_t)it.c;
      struct timer_slot *ts;
      esmc_status st;
      if(!inc->live)
        break;
      ts = timer_find(&inc->timers, it.a, 0);
      if(!ts || !ts->armed || ts->gen != it.b)
        break; /* moved or cancelled */
      ts->armed = 0;
      record(w, ESMC_H_TIMER_FIRE, inc->index, 0, ESMC_NO_SHARD, it.a, 0, 0,
             NULL, 0);
      st = in->adapter->on_timer(inc->state, it.a);
      check_status(w, st, "on_timer");
      break;
    }
    case Q_COMPLETE:
      do_complete(w, (size_t)it.a);
      break;
    case Q_END:
      record(w, ESMC_H_END, 0, 0, ESMC_NO_SHARD, 0, (int64_t)it.a, 0, NULL, 0);
      out->end = it.a ? ESMC_END_HORIZON : ESMC_END_QUIESCENT;
      in->stop = 1;
      break;
    }
    if(!in->stop && !in->end_scheduled && idle_too_long(w)) {
      /* Nothing but empty polls and timers for IDLE_END_MS after the
       * script: the run is over, judged as it stands (a mapper that still
       * holds work has been stuck far longer than LIVE-1 allows). A mapper
       * that never checkpoints would otherwise poll to the retention
       * horizon, a day of simulated time. */
      in->end_scheduled = 1;
      if(schedule(w, w->now, Q_END, 0, 0))
        goto oom;
    }
    if(!in->stop && !in->end_scheduled && quiescent(w)) {
      in->end_scheduled = 1;
      if(schedule(w, w->now + GRACE_MS, Q_END, 0, 0))
        goto oom;
    }
    if(w->hist.oom)
      goto oom;
  }
  for(s = 0; s < in->nmappings; s++)
    do_destroy(w, &in->mappings[s], 0);
  return 0;
oom:
  out->end = ESMC_END_OOM;
  snprintf(out->detail, sizeof(out->detail), "out of memory");
  for(s = 0; s < in->nmappings; s++)
    do_destroy(w, &in->mappings[s], 0);
  return -1;
}

/* Set up a queue world's messages (esmc_world_new): MessageIds, MD5s,
 * attributes, FIFO sequence numbers, groups and deduplication. Records are
 * already on the queue's pseudo shard 0 in send order. */
static int queue_setup(struct esmc_world *w)
{
  struct esmc_world_internal *in = w->in;
  const struct esmc_scenario *sc = w->sc;
  int fifo = queue_fifo(w);
  uint32_t i, j, n = w->nrecords;
  char **groups = NULL;
  in->msgs = esmc_calloc(n ? n : 1, sizeof(*in->msgs));
  in->group_inflight = esmc_calloc(n ? n : 1, sizeof(uint32_t));
  groups = esmc_calloc(n ? n : 1, sizeof(char *));
  if(!in->msgs || !in->group_inflight || !groups) {
    esmc_free(groups);
    return -1;
  }
  in->queue_open = n;
  for(i = 0; i < n; i++) {
    struct esmc_wrecord *r = &w->records[i];
    const struct esmc_case_record *cr = &sc->records[r->case_index];
    uint64_t s = (w->seed ^ UINT64_C(0x5157)) * 1000003 + i;
    uint64_t a = rng_next(&s), b = rng_next(&s);
    struct md5 c;
    size_t k;
    /* MessageId: a version-4 UUID drawn from the seed and the rid. */
    snprintf(r->seq, sizeof(r->seq),
             "%08" PRIx32 "-%04" PRIx32 "-4%03" PRIx32 "-%x%03" PRIx32
             "-%012" PRIx64, (uint32_t)(a >> 32), (uint32_t)(a >> 16) & 0xffff,
             (uint32_t)a & 0xfff, 8 + (unsigned)(b >> 62),
             (uint32_t)(b >> 48) & 0xfff, b & UINT64_C(0xffffffffffff));
    md5_init(&c);
    md5_update(&c, r->pub.data, r->pub.data_len);
    md5_hex(&c, r->md5_of_body);
    r->pub.partition_key = cr->group ? cr->group : "";
    r->dedup_of = -1;
    if(cr->attr_count) {
      r->attrs = esmc_calloc(cr->attr_count, sizeof(*r->attrs));
      if(!r->attrs) {
        esmc_free(groups);
        return -1;
      }
      r->attr_count = cr->attr_count;
      for(k = 0; k < cr->attr_count; k++) {
        r->attrs[k].name = cr->attr_names[k];
        r->attrs[k].data_type = "String";
        r->attrs[k].string_value = cr->attr_values[k];
      }
      md5_of_attributes(r->attrs, r->attr_count, r->md5_of_attributes);
    }
    if(!fifo)
      continue;
    snprintf(r->fifo_seq, sizeof(r->fifo_seq), "%" PRIu64,
             UINT64_C(18000000000000000000) + (uint64_t)(i + 1) * 65536);
    if(cr->deduplication_id)
      snprintf(r->dedup_id, sizeof(r->dedup_id), "%s", cr->deduplication_id);
    else
      sha256_hex(r->pub.data, r->pub.data_len, r->dedup_id);
    /* Groups are numbered in order of first appearance. */
    for(j = 0; j < in->ngroups; j++)
      if(strcmp(groups[j], r->pub.partition_key) == 0)
        break;
    if(j == in->ngroups)
      groups[in->ngroups++] = (char *)(uintptr_t)r->pub.partition_key;
    r->group = j;
    /* FIFO-10: a send within five minutes of an accepted message with the
     * same deduplication id is accepted and never delivered. */
    for(j = i; j > 0; j--) {
      const struct esmc_wrecord *o = &w->records[j - 1];
      if(r->at_ms - o->at_ms >= DEDUP_WINDOW_MS)
        break;
      if(o->dedup_of < 0 && strcmp(o->dedup_id, r->dedup_id) == 0) {
        r->dedup_of = (int32_t)(j - 1);
        break;
      }
    }
  }
  esmc_free(groups);
  return 0;
}


const char *esmc_world_mapping_uuid(const struct esmc_world *w, uint32_t i)
{
  return w->in && i < w->in->nmappings ? w->in->mappings[i].uuid
                                       : w->mapping_uuid;
}

const char *esmc_world_function_arn(const struct esmc_world *w, uint32_t i)
{
  return w->in && i < w->in->nmappings ? w->in->mappings[i].function_arn
                                       : w->function_arn;
}

/*
 * check_batch.c: the batching, retry, record-age and failure-destination
 * properties: batch_size (BATCH-1), payload_limit (BATCH-2), resume_point
 * (ERR-1, PBR-1..4, BISECT-1, BISECT-3), retry_limit (RETRY-1..3, ERR-3,
 * BISECT-2, PBR-5), record_age (AGE-1..3), destination (DEST-1..7),
 * batch_window (BATCH-3), batch_latency (BATCH-4) and batch_fill (BATCH-5).
 *
 * Every checker reads the analysis (esmc_analyze) and the history; the
 * per-shard views it needs (invocations of a shard in start order, retry
 * chains, configuration changes) are built here in linear time.
 */
#include "check.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "tw.h"
#include "util.h"
#include "world.h"

/* jsmn is compiled into this file only, with static linkage. */
#undef JSMN_HEADER
#define JSMN_STATIC
#include <jsmn.h>

/* ------------------------------------------------------------------------ */
/* Small helpers for messages.                                               */

static const char *rname(const struct esmc_world *w, uint32_t rid)
{
  return esmc_world_record_name(w, rid);
}

static const char *rseq(const struct esmc_world *w, uint32_t rid)
{
  return rid < w->nrecords ? w->records[rid].seq : "?";
}

static const char *shard_name(const struct esmc_world *w, uint32_t shard)
{
  return shard < w->nshards ? w->shards[shard].id : "(no single shard)";
}

static uint32_t rec_idx(const struct esmc_world *w, uint32_t rid)
{
  return rid < w->nrecords ? w->records[rid].index : UINT32_MAX;
}

/* 1 when rids are consecutive records of one shard, in order. */
static int rids_contiguous(const struct esmc_world *w, const uint32_t *rids,
                           uint32_t n)
{
  uint32_t i;
  for(i = 1; i < n; i++) {
    if(rids[i] >= w->nrecords || rids[i - 1] >= w->nrecords ||
       w->records[rids[i]].shard != w->records[rids[i - 1]].shard ||
       w->records[rids[i]].index != w->records[rids[i - 1]].index + 1)
      return 0;
  }
  return 1;
}

/* Appends "r1..r5", "r1, r2" or "r1, r3, r7" (at most 8 names). */
static void put_rids(struct esmc_buf *b, const struct esmc_world *w,
                     const uint32_t *rids, uint32_t n)
{
  uint32_t i;
  if(n == 0) {
    esmc_buf_puts(b, "no records");
    return;
  }
  if(n >= 3 && rids_contiguous(w, rids, n)) {
    esmc_buf_printf(b, "%s..%s", rname(w, rids[0]), rname(w, rids[n - 1]));
    return;
  }
  for(i = 0; i < n && i < 8; i++)
    esmc_buf_printf(b, "%s%s", i ? ", " : "", rname(w, rids[i]));
  if(n > 8)
    esmc_buf_printf(b, ", ... (%" PRIu32 " records)", n);
}

/* Appends the records of shard `shard` with indexes first..last. */
static void put_range(struct esmc_buf *b, const struct esmc_world *w,
                      uint32_t shard, uint32_t first, uint32_t last)
{
  const struct esmc_wshard *s;
  if(shard >= w->nshards || first > last || last >= w->shards[shard].n) {
    esmc_buf_puts(b, "(unknown records)");
    return;
  }
  s = &w->shards[shard];
  if(first == last)
    esmc_buf_puts(b, rname(w, s->rids[first]));
  else if(first + 1 == last)
    esmc_buf_printf(b, "%s, %s", rname(w, s->rids[first]),
                    rname(w, s->rids[last]));
  else
    esmc_buf_printf(b, "%s..%s", rname(w, s->rids[first]),
                    rname(w, s->rids[last]));
}

/* Report the message built in b, then reset b. */
static void report_buf(struct esmc_check_ctx *c, int64_t t, struct esmc_buf *b)
{
  esmc_report(c, t, "%s", b->data ? b->data : "(out of memory)");
  esmc_buf_reset(b);
}

static const struct esmc_hevent *hev(const struct esmc_check_ctx *c,
                                     size_t i)
{
  return &c->w->hist.ev[i];
}

/* ------------------------------------------------------------------------ */
/* Configuration over time: the effective configuration after each accepted  */
/* update, by event index.                                                   */

struct cfg_step {
  size_t ev; /* in force for events after this one */
  struct esmc_effective_config cfg;
};

struct cfg_timeline {
  struct cfg_step *v;
  size_t n, cap;
};

static int update_case_event(const struct esmc_check_ctx *c,
                             const struct esmc_hevent *e,
                             const struct esmc_case_event **out)
{
  const struct esmc_scenario *sc = c->w->sc;
  if(e->kind != ESMC_H_UPDATE || e->status != ESMC_OK || e->a < 0 ||
     (uint64_t)e->a >= sc->event_count ||
     sc->events[e->a].kind != ESMC_CASE_UPDATE)
    return 0;
  *out = &sc->events[e->a];
  return 1;
}

static int cfg_timeline_build(const struct esmc_check_ctx *c,
                              struct cfg_timeline *tl)
{
  struct cfg_step st;
  size_t i;
  memset(tl, 0, sizeof(*tl));
  st.ev = 0;
  esmc_effective_config_init(&st.cfg, c->w->sc);
  if(ESMC_VEC_PUSH(*tl, st))
    return -1;
  for(i = 0; i < c->w->hist.n; i++) {
    const struct esmc_case_event *ce;
    if(!update_case_event(c, hev(c, i), &ce))
      continue;
    st.ev = i;
    st.cfg = tl->v[tl->n - 1].cfg;
    esmc_effective_config_update(&st.cfg, &ce->update);
    if(ESMC_VEC_PUSH(*tl, st))
      return -1;
  }
  return 0;
}

/* The configuration in force at event ev. */
static const struct esmc_effective_config *cfg_at(const struct cfg_timeline *tl,
                                                  size_t ev)
{
  size_t lo = 0, hi = tl->n; /* last step with step.ev < ev, or step 0 */
  while(hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if(tl->v[mid].ev < ev)
      lo = mid;
    else
      hi = mid;
  }
  return &tl->v[lo].cfg;
}

static int has_destination(const struct esmc_effective_config *cfg)
{
  return cfg->on_failure_destination && cfg->on_failure_destination[0];
}

/* ------------------------------------------------------------------------ */
/* Breaks: restarts and accepted updates, after which retry state and batch  */
/* composition may legitimately change.                                      */

struct breaks {
  size_t *v;
  size_t n, cap;
};

static int is_restart(const struct esmc_hevent *e)
{
  return (e->kind == ESMC_H_DESTROY || e->kind == ESMC_H_CREATE) && e->a == 1;
}

static int breaks_build(const struct esmc_check_ctx *c, struct breaks *b)
{
  size_t i;
  memset(b, 0, sizeof(*b));
  for(i = 0; i < c->w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    if(is_restart(e) || (e->kind == ESMC_H_UPDATE && e->status == ESMC_OK))
      if(ESMC_VEC_PUSH(*b, i))
        return -1;
  }
  return 0;
}

/* 1 when a break lies strictly between events from and to. */
static int break_between(const struct breaks *b, size_t from, size_t to)
{
  size_t lo = 0, hi = b->n;
  while(lo < hi) { /* first break > from */
    size_t mid = lo + (hi - lo) / 2;
    if(b->v[mid] <= from)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < b->n && b->v[lo] < to;
}

/* Whether the mapping was running: a list of changes (time, running). */
struct run_change {
  int64_t t;
  int running;
};

struct run_timeline {
  struct run_change *v;
  size_t n, cap;
};

static int run_timeline_build(const struct esmc_check_ctx *c,
                              const struct cfg_timeline *cfgs,
                              struct run_timeline *rt)
{
  size_t i;
  memset(rt, 0, sizeof(*rt));
  for(i = 0; i < c->w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    const struct esmc_case_event *ce;
    struct run_change ch;
    ch.t = e->t;
    if(e->kind == ESMC_H_CREATE && e->status == ESMC_OK)
      ch.running = cfg_at(cfgs, i)->enabled != 0;
    else if(e->kind == ESMC_H_DESTROY)
      ch.running = 0;
    else if(update_case_event(c, e, &ce) &&
            ce->update.enabled != ESMC_UNSET)
      ch.running = ce->update.enabled != 0;
    else
      continue;
    if(ESMC_VEC_PUSH(*rt, ch))
      return -1;
  }
  return 0;
}

/* 1 when the mapping was not running at some moment of [t0, t1]. */
static int paused_during(const struct run_timeline *rt, int64_t t0, int64_t t1)
{
  size_t i;
  int running = 0;
  for(i = 0; i < rt->n && rt->v[i].t <= t0; i++)
    running = rt->v[i].running;
  if(!running)
    return 1;
  for(; i < rt->n && rt->v[i].t <= t1; i++)
    if(!rt->v[i].running)
      return 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Invocations grouped by shard, in start order.                             */

struct shard_list {
  size_t *inv;   /* invocation indexes, shard by shard */
  size_t *first; /* nshards + 1 offsets into inv */
  size_t *pos;   /* per invocation: its position in inv, or ESMC_NONE */
};

static void shard_list_free(struct shard_list *sl)
{
  esmc_free(sl->inv);
  esmc_free(sl->first);
  esmc_free(sl->pos);
  memset(sl, 0, sizeof(*sl));
}

static int shard_list_build(const struct esmc_check_ctx *c,
                            struct shard_list *sl)
{
  const struct esmc_analysis *an = c->an;
  uint32_t ns = c->w->nshards, s;
  size_t i, *fill;

  memset(sl, 0, sizeof(*sl));
  sl->inv = esmc_calloc(an->ninv + 1, sizeof(size_t));
  sl->first = esmc_calloc((size_t)ns + 2, sizeof(size_t));
  sl->pos = esmc_calloc(an->ninv + 1, sizeof(size_t));
  fill = esmc_calloc((size_t)ns + 1, sizeof(size_t));
  if(!sl->inv || !sl->first || !sl->pos || !fill) {
    esmc_free(fill);
    shard_list_free(sl);
    return -1;
  }
  for(i = 0; i < an->ninv; i++)
    if(an->inv[i].shard < ns)
      sl->first[an->inv[i].shard + 1]++;
  for(s = 0; s < ns; s++)
    sl->first[s + 1] += sl->first[s];
  for(i = 0; i < an->ninv; i++) {
    uint32_t sh = an->inv[i].shard;
    sl->pos[i] = ESMC_NONE;
    if(sh >= ns)
      continue;
    sl->pos[i] = sl->first[sh] + fill[sh]++;
    sl->inv[sl->pos[i]] = i;
  }
  esmc_free(fill);
  return 0;
}

/* The next invocation of the same shard, or ESMC_NONE. */
static size_t shard_next(const struct esmc_check_ctx *c,
                         const struct shard_list *sl, size_t i)
{
  uint32_t sh = c->an->inv[i].shard;
  size_t p = sl->pos[i];
  if(p == ESMC_NONE || p + 1 >= sl->first[sh + 1])
    return ESMC_NONE;
  return sl->inv[p + 1];
}

static size_t shard_prev(const struct esmc_check_ctx *c,
                         const struct shard_list *sl, size_t i)
{
  uint32_t sh = c->an->inv[i].shard;
  size_t p = sl->pos[i];
  if(p == ESMC_NONE || p == sl->first[sh])
    return ESMC_NONE;
  return sl->inv[p - 1];
}

/* ------------------------------------------------------------------------ */
/* Invocation facts.                                                         */

static int same_records(const struct esmc_ainv *a, const struct esmc_ainv *b)
{
  return a->n == b->n &&
         (a->n == 0 || memcmp(a->rids, b->rids, a->n * sizeof(uint32_t)) == 0);
}

/* 1 when a and b are both final invokes, with no records, of the same
 * tumbling window (TW-5): a retry of a final invoke repeats it (TW-8). */
static int same_final(const struct esmc_check_ctx *c, const struct esmc_ainv *a,
                      const struct esmc_ainv *b)
{
  struct esmc_tw_info x, y;
  return a->n == 0 && b->n == 0 &&
         esmc_tw_info_parse(hev(c, a->ev)->text2, &x) == 0 &&
         esmc_tw_info_parse(hev(c, b->ev)->text2, &y) == 0 && x.final &&
         y.final && x.start_ms == y.start_ms && x.end_ms == y.end_ms;
}

/* The outcome reported by the COMPLETE of an invocation, or -1. */
static int inv_outcome(const struct esmc_check_ctx *c, const struct esmc_ainv *v)
{
  if(v->done_ev == ESMC_NONE)
    return -1;
  return (int)hev(c, v->done_ev)->a;
}

static int inv_status(const struct esmc_check_ctx *c, const struct esmc_ainv *v)
{
  if(v->done_ev == ESMC_NONE)
    return 0;
  return hev(c, v->done_ev)->status;
}

/* A failed attempt in the sense of RETRY-1: the function ran and the batch
 * failed from its first record. */
static int counts_as_attempt(const struct esmc_ainv *v)
{
  return v->result == ESMC_R_FAILURE ||
         (v->result == ESMC_R_PARTIAL && v->failed_from == 0);
}

/* Position in v of its first record not done by its result (v->n: none). */
static uint32_t first_failed(const struct esmc_ainv *v)
{
  switch(v->result) {
  case ESMC_R_FAILURE:
  case ESMC_R_NOT_RUN:
    return 0;
  case ESMC_R_PARTIAL:
    return v->failed_from < v->n ? v->failed_from : v->n;
  default:
    return v->n;
  }
}

static void put_result(struct esmc_buf *b, const struct esmc_check_ctx *c,
                       const struct esmc_ainv *v)
{
  int st = inv_status(c, v);
  switch(v->result) {
  case ESMC_R_SUCCESS:
    esmc_buf_puts(b, "succeeded");
    break;
  case ESMC_R_FAILURE:
    if(inv_outcome(c, v) == ESMC_INVOKE_FUNCTION_ERROR)
      esmc_buf_printf(b, "failed (%s)", hev(c, v->done_ev)->text2
                                            ? hev(c, v->done_ev)->text2
                                            : "Unhandled");
    else
      esmc_buf_printf(b, "failed (%s)",
                      v->why[0] ? v->why : "whole-batch failure");
    break;
  case ESMC_R_PARTIAL:
    esmc_buf_printf(b, "reported a partial failure from %s",
                    v->failed_from < v->n ? rname(c->w, v->rids[v->failed_from])
                                          : "?");
    break;
  case ESMC_R_NOT_RUN:
    esmc_buf_printf(b, "was not run (%s, status %d)",
                    st == 429 ? "throttled"
                    : st == 413 ? "payload too large"
                                : "service error",
                    st);
    break;
  default:
    esmc_buf_puts(b, "never completed");
    break;
  }
}

/* Record rid's age in ms at time t. */
static int64_t rec_age(const struct esmc_world *w, uint32_t rid, int64_t t)
{
  return t - w->records[rid].at_ms;
}

static int expired_at(const struct esmc_world *w,
                      const struct esmc_effective_config *cfg, uint32_t rid,
                      int64_t t)
{
  return cfg->maximum_record_age_s >= 0 &&
         rec_age(w, rid, t) > (int64_t)cfg->maximum_record_age_s * 1000;
}

/* ------------------------------------------------------------------------ */
/* Destination records of the analysis, by event index.                      */

static const struct esmc_adest *dest_by_ev(const struct esmc_analysis *an,
                                           size_t ev)
{
  size_t lo = 0, hi = an->ndest;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(an->dest[mid].ev < ev)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < an->ndest && an->dest[lo].ev == ev ? &an->dest[lo] : NULL;
}

/* What gave up records of a shard between two events. */
struct discard {
  size_t ev;       /* first such event, ESMC_NONE when none */
  int64_t hi;      /* highest index given up by any of them, -1 when none */
  int age;         /* the first one is a RecordAgeExceeded record */
  int dest;        /* the first one is a destination record */
  const struct esmc_adest *d; /* its parsed record */
};

/* Scan events (from, to) for DEST_SENDs and CHECKPOINTs of shard that give
 * up a record with index >= lo. */
static void find_discard(const struct esmc_check_ctx *c, uint32_t shard,
                         size_t from, size_t to, uint32_t lo,
                         struct discard *out)
{
  size_t i, end = to < c->w->hist.n ? to : c->w->hist.n;
  memset(out, 0, sizeof(*out));
  out->ev = ESMC_NONE;
  out->hi = -1;
  for(i = from == ESMC_NONE ? 0 : from + 1; i < end; i++) {
    const struct esmc_hevent *e = hev(c, i);
    int64_t hi = -1;
    const struct esmc_adest *d = NULL;
    if(e->kind == ESMC_H_DEST_SEND) {
      d = dest_by_ev(c->an, i);
      if(!d || !d->range_known || d->shard != shard || d->last_index < lo)
        continue;
      hi = d->last_index;
    } else if(e->kind == ESMC_H_CHECKPOINT) {
      if(e->shard != shard || e->a < (int64_t)lo)
        continue;
      hi = e->a;
    } else {
      continue;
    }
    if(out->ev == ESMC_NONE) {
      out->ev = i;
      out->dest = d != NULL;
      out->d = d;
      out->age = d && strcmp(d->condition, "RecordAgeExceeded") == 0;
    }
    if(hi > out->hi)
      out->hi = hi;
  }
}

/* ------------------------------------------------------------------------ */
/* BATCH-1 and BATCH-2.                                                      */

/* The invocation that formed invocation i's batch (GEN-4): i itself when it
 * carries a record never carried before, else the first invocation that
 * carried its first record (a throttled one too), so a retry or a bisect
 * half keeps its batch's BatchSize. */
static size_t batch_origin(const struct esmc_check_ctx *c, size_t i)
{
  const struct esmc_ainv *v = &c->an->inv[i];
  size_t first;
  uint32_t k;

  if(v->n == 0 || v->rids[0] >= c->w->nrecords)
    return i;
  if(c->an->queue) {
    /* A queue forms a batch from what one receive brought: the batch of a
     * message is the first invocation that carried it since its latest
     * receive (a throttled one retried keeps it, SQS-ERR-4). */
    size_t e = v->ev, j;
    uint32_t q;
    while(e-- > 0) {
      const struct esmc_hevent *x = hev(c, e);
      int has = 0;
      if(x->kind != ESMC_H_RECEIVED)
        continue;
      for(q = 0; q < x->nrids && !has; q++)
        has = x->rids[q] == v->rids[0];
      if(has)
        break;
    }
    for(j = 0; j < i; j++) {
      const struct esmc_ainv *u = &c->an->inv[j];
      if(e != SIZE_MAX && u->ev < e)
        continue;
      for(q = 0; q < u->n; q++)
        if(u->rids[q] == v->rids[0])
          return j;
    }
    return i;
  }
  for(k = 0; k < v->n; k++)
    if(v->rids[k] >= c->w->nrecords ||
       c->an->rec[v->rids[k]].first_carry_inv >= i)
      return i;
  first = c->an->rec[v->rids[0]].first_carry_inv;
  return first < i ? first : i;
}

void esmc_check_batch_size(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  struct esmc_buf b;
  size_t i;

  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    size_t origin = batch_origin(c, i);
    int32_t limit = an->inv[origin].cfg.batch_size;
    if(limit <= 0 || v->n <= (uint32_t)limit)
      continue;
    esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 "ms carried %" PRIu32
                    " records (", i + 1, v->t_start, v->n);
    put_rids(&b, c->w, v->rids, v->n);
    esmc_buf_printf(&b, ", first seq %s, shard %s); BatchSize is %" PRId32
                    ", so at most %" PRId32 " are allowed",
                    rseq(c->w, v->rids[0]), shard_name(c->w, v->shard),
                    limit, limit);
    if(origin != i)
      esmc_buf_printf(&b, " (the BatchSize in force when its batch was "
                      "formed, by invocation #%zu at t=%" PRId64 "ms)",
                      origin + 1, an->inv[origin].t_start);
    report_buf(c, v->t_start, &b);
  }
  esmc_buf_free(&b);
}

void esmc_check_payload_limit(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  struct esmc_buf b;
  size_t i;

  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    int64_t bytes = hev(c, v->ev)->a;
    if(bytes <= ESMC_MAX_PAYLOAD)
      continue;
    esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 "ms sent a payload of %"
                    PRId64 " bytes for %" PRIu32 " records (", i + 1,
                    v->t_start, bytes, v->n);
    put_rids(&b, c->w, v->rids, v->n);
    esmc_buf_printf(&b, ", shard %s); the synchronous invoke limit is %d "
                    "bytes (6 MB)", shard_name(c->w, v->shard),
                    ESMC_MAX_PAYLOAD);
    report_buf(c, v->t_start, &b);
  }
  esmc_buf_free(&b);
}

/* TW-5: a tumbling window holds the checkpoint back until its final invoke,
 * so records given up with no destination show only in a checkpoint after
 * it. The event that ends the search for such a discard of a batch that
 * ended at from: the first restart or update after it, or the end. */
static size_t tw_discard_end(const struct esmc_check_ctx *c,
                             const struct breaks *b, size_t from)
{
  size_t lo = 0, hi = b->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(b->v[mid] <= from)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < b->n ? b->v[lo] : c->w->hist.n;
}

/* 1 when I's failed records were given up by a checkpoint after J started
 * and J starts past them (TW-5): the shard legally moved on. */
static int tw_given_up_later(const struct esmc_check_ctx *c,
                             const struct breaks *br,
                             const struct esmc_ainv *I,
                             const struct esmc_ainv *J)
{
  const struct esmc_world *w = c->w;
  uint32_t ff = first_failed(I);
  struct discard dis;
  if(I->cfg.tumbling_window_s <= 0 || ff >= I->n || J->n == 0 ||
     rec_idx(w, J->rids[0]) <= rec_idx(w, I->rids[I->n - 1]) ||
     c->an->rec[I->rids[ff]].last_delivery_inv == ESMC_NONE ||
     &c->an->inv[c->an->rec[I->rids[ff]].last_delivery_inv] != I)
    return 0;
  find_discard(c, I->shard, I->done_ev, J->ev, rec_idx(w, I->rids[ff]), &dis);
  if(dis.ev != ESMC_NONE)
    return 0;
  find_discard(c, I->shard, J->ev, tw_discard_end(c, br, J->ev),
               rec_idx(w, I->rids[ff]), &dis);
  return dis.ev != ESMC_NONE && !dis.dest;
}

/* ------------------------------------------------------------------------ */
/* resume_point: where the shard continues after each result.                */

/* Check that J carries I's records from position p on, in order: exactly
 * I[p..] when exact, else a non-empty prefix of it. Returns 1 when fine. */
static int carries_from(const struct esmc_ainv *I, uint32_t p,
                        const struct esmc_ainv *J, int exact)
{
  uint32_t k;
  if(p >= I->n || J->n == 0 || J->n > I->n - p)
    return 0;
  if(exact && J->n != I->n - p)
    return 0;
  for(k = 0; k < J->n; k++)
    if(J->rids[k] != I->rids[p + k])
      return 0;
  return 1;
}

static int is_prefix(const struct esmc_ainv *I, uint32_t len,
                     const struct esmc_ainv *J)
{
  return J->n == len && len <= I->n &&
         memcmp(J->rids, I->rids, len * sizeof(uint32_t)) == 0;
}

/* The message start: "after invocation #3 failed (Unhandled) at t=…ms,". */
static void put_after(struct esmc_buf *b, const struct esmc_check_ctx *c,
                      size_t ii)
{
  const struct esmc_ainv *I = &c->an->inv[ii];
  esmc_buf_printf(b, "after invocation #%zu (", ii + 1);
  put_rids(b, c->w, I->rids, I->n);
  esmc_buf_printf(b, ", shard %s) ", shard_name(c->w, I->shard));
  put_result(b, c, I);
  esmc_buf_printf(b, " at t=%" PRId64 "ms, ", I->t_end);
}

static void put_carried(struct esmc_buf *b, const struct esmc_check_ctx *c,
                        const struct esmc_ainv *J)
{
  esmc_buf_puts(b, " but carried ");
  put_rids(b, c->w, J->rids, J->n);
  if(J->n)
    esmc_buf_printf(b, " (first seq %s)", rseq(c->w, J->rids[0]));
}

/* GEN-4: a batch formed before an accepted update may be handled under the
 * old or the new configuration. 1 when I's records were first delivered
 * before an accepted update that came before I started. */
static int formed_before_update(const struct esmc_check_ctx *c,
                                const struct esmc_ainv *I)
{
  const struct esmc_arec *r = &c->an->rec[I->rids[0]];
  int64_t formed = r->first_carry_inv != ESMC_NONE
                       ? c->an->inv[r->first_carry_inv].t_start
                       : I->t_start;
  size_t i;
  for(i = 0; i < c->w->hist.n && hev(c, i)->t <= I->t_start; i++) {
    const struct esmc_hevent *e = hev(c, i);
    if(e->kind == ESMC_H_UPDATE && e->status == ESMC_OK && e->t > formed)
      return 1;
  }
  return 0;
}

static void resume_pair(struct esmc_check_ctx *c, size_t ii, size_t jj,
                        struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  const struct esmc_ainv *I = &c->an->inv[ii], *J = &c->an->inv[jj];
  uint32_t ff = first_failed(I), p, half;
  struct discard dis;
  int64_t d_hi = -1;

  if(ff < I->n) {
    /* Records given up in between (a destination record or a checkpoint
     * past them), and expired head records, are not to be retried. */
    find_discard(c, I->shard, I->done_ev, J->ev, rec_idx(w, I->rids[ff]), &dis);
    d_hi = dis.hi;
    for(p = ff; p < I->n && expired_at(w, &J->cfg, I->rids[p], J->t_start);
        p++)
      if((int64_t)rec_idx(w, I->rids[p]) > d_hi)
        d_hi = rec_idx(w, I->rids[p]);
    if(d_hi >= (int64_t)rec_idx(w, I->rids[ff])) {
      if(d_hi >= (int64_t)rec_idx(w, I->rids[I->n - 1])) {
        if(rec_idx(w, J->rids[0]) > (uint64_t)d_hi)
          return;
        put_after(b, c, ii);
        esmc_buf_printf(b, "its records up to %s were given up, so invocation "
                        "#%zu at t=%" PRId64 "ms should start after them",
                        rname(w, w->shards[I->shard].rids[d_hi]), jj + 1,
                        J->t_start);
        put_carried(b, c, J);
        report_buf(c, J->t_start, b);
        return;
      }
      for(p = ff; p < I->n && (int64_t)rec_idx(w, I->rids[p]) <= d_hi; p++)
        ;
      if(carries_from(I, p, J, 0))
        return;
      put_after(b, c, ii);
      esmc_buf_printf(b, "its records up to %s were given up, so invocation "
                      "#%zu at t=%" PRId64 "ms should retry from %s (seq %s)",
                      rname(w, w->shards[I->shard].rids[d_hi]), jj + 1,
                      J->t_start, rname(w, I->rids[p]), rseq(w, I->rids[p]));
      put_carried(b, c, J);
      report_buf(c, J->t_start, b);
      return;
    }
  }

  switch(I->result) {
  case ESMC_R_SUCCESS:
    if(rec_idx(w, J->rids[0]) > rec_idx(w, I->rids[I->n - 1]))
      return;
    /* A batch formed before an update (of FunctionResponseTypes, say) may
     * still be read under the old configuration, as a failure (GEN-4). */
    if(same_records(I, J) && formed_before_update(c, I))
      return;
    put_after(b, c, ii);
    esmc_buf_printf(b, "invocation #%zu at t=%" PRId64 "ms should start after "
                    "%s (seq %s)", jj + 1, J->t_start,
                    rname(w, I->rids[I->n - 1]), rseq(w, I->rids[I->n - 1]));
    put_carried(b, c, J);
    break;
  case ESMC_R_FAILURE:
    half = (I->n + 1) / 2;
    if(I->cfg.bisect && I->n >= 2) {
      if(is_prefix(I, half, J))
        return;
      /* A failure read from a response (not a function error) may be
       * retried whole or bisected. */
      if(inv_outcome(c, I) != ESMC_INVOKE_FUNCTION_ERROR && same_records(I, J))
        return;
      /* Formed before the update that turned bisect on (GEN-4). */
      if(same_records(I, J) && formed_before_update(c, I))
        return;
      put_after(b, c, ii);
      esmc_buf_printf(b, "BisectBatchOnFunctionError splits it: invocation "
                      "#%zu at t=%" PRId64 "ms should carry its first half, "
                      "the %" PRIu32 " records ",
                      jj + 1, J->t_start, half);
      put_rids(b, c->w, I->rids, half);
    } else {
      if(same_records(I, J))
        return;
      /* Formed before the update that turned bisect off (GEN-4). */
      if(I->n >= 2 && is_prefix(I, half, J) && formed_before_update(c, I))
        return;
      put_after(b, c, ii);
      esmc_buf_printf(b, "invocation #%zu at t=%" PRId64 "ms should retry the "
                      "same %" PRIu32 " records ", jj + 1, J->t_start, I->n);
      put_rids(b, c->w, I->rids, I->n);
    }
    put_carried(b, c, J);
    break;
  case ESMC_R_PARTIAL:
    if(carries_from(I, ff, J, 1))
      return;
    /* A partial failure at the first record moves nothing: it is a counted
     * failure, and with bisect on a batch of two or more is split like any
     * counted failure (BISECT-1). */
    if(ff == 0 && I->cfg.bisect && I->n >= 2 && is_prefix(I, (I->n + 1) / 2, J))
      return;
    put_after(b, c, ii);
    esmc_buf_printf(b, "the records before %s are done and invocation #%zu at "
                    "t=%" PRId64 "ms should retry exactly ",
                    rname(w, I->rids[ff]), jj + 1, J->t_start);
    put_rids(b, c->w, I->rids + ff, I->n - ff);
    esmc_buf_printf(b, " (from seq %s)", rseq(w, I->rids[ff]));
    put_carried(b, c, J);
    break;
  case ESMC_R_NOT_RUN:
    if(inv_status(c, I) == 413) {
      if(J->n <= I->n && memcmp(J->rids, I->rids, J->n * sizeof(uint32_t)) == 0)
        return;
    } else if(same_records(I, J)) {
      return;
    }
    put_after(b, c, ii);
    esmc_buf_printf(b, "the batch did not reach the function, so invocation "
                    "#%zu at t=%" PRId64 "ms should carry the same %" PRIu32
                    " records ", jj + 1, J->t_start, I->n);
    put_rids(b, c->w, I->rids, I->n);
    put_carried(b, c, J);
    break;
  default:
    return;
  }
  report_buf(c, J->t_start, b);
}

void esmc_check_resume_point(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  struct shard_list sl;
  struct breaks br;
  struct esmc_buf b;
  size_t i;

  if(shard_list_build(c, &sl))
    return;
  if(breaks_build(c, &br)) {
    shard_list_free(&sl);
    ESMC_VEC_FREE(br);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *I = &an->inv[i], *J;
    size_t j = shard_next(c, &sl, i);
    /* A tumbling window's final invokes (no records) may come in between:
     * the shard continues with the next invocation that has records; the
     * final invokes themselves are judged by retry_limit (TW-8). */
    while(j != ESMC_NONE && an->inv[j].n == 0)
      j = shard_next(c, &sl, j);
    if(j == ESMC_NONE || I->cfg.parallelization_factor != 1 || I->n == 0 ||
       I->result == ESMC_R_PENDING || I->done_ev == ESMC_NONE)
      continue;
    J = &an->inv[j];
    if(J->n == 0 || J->ev < I->done_ev || break_between(&br, I->ev, J->ev))
      continue;
    if(tw_given_up_later(c, &br, I, J))
      continue;
    resume_pair(c, i, j, &b);
  }
  esmc_buf_free(&b);
  ESMC_VEC_FREE(br);
  shard_list_free(&sl);
}

/* ------------------------------------------------------------------------ */
/* Retry chains: consecutive invocations of a shard with identical records.  */

struct chains {
  uint32_t *attempts;   /* counted attempts of the chain up to and with i */
  uint32_t *invokes;    /* invocations of the chain up to and with i, the
                           ones that did not run included */
  size_t *last_attempt; /* the chain's last counted attempt up to i */
  size_t *start;        /* the chain's first invocation */
  uint8_t *uncertain;   /* the chain may continue a count we cannot see */
};

static void chains_free(struct chains *ch)
{
  esmc_free(ch->attempts);
  esmc_free(ch->invokes);
  esmc_free(ch->last_attempt);
  esmc_free(ch->start);
  esmc_free(ch->uncertain);
  memset(ch, 0, sizeof(*ch));
}

/* Whether J, which does not repeat I, starts a count we can trust: new
 * records, a bisect split (BISECT-2), or a partial failure that moved the
 * start forward (PBR-5). Other sub-batches (an age split, a shrink after a
 * 413) may keep the mapper's count. */
static int fresh_start(const struct esmc_check_ctx *c, const struct esmc_ainv *I,
                       const struct esmc_ainv *J)
{
  const struct esmc_world *w = c->w;
  uint32_t j0 = rec_idx(w, J->rids[0]);
  if(I->n == 0 || j0 < rec_idx(w, I->rids[0]) ||
     j0 > rec_idx(w, I->rids[I->n - 1]))
    return 1;
  if(I->result == ESMC_R_FAILURE && I->cfg.bisect && I->n >= 2 &&
     J->rids[0] == I->rids[0] && J->n < I->n)
    return 1;
  if(I->result == ESMC_R_PARTIAL && I->failed_from > 0 &&
     I->failed_from < I->n && J->rids[0] == I->rids[I->failed_from])
    return 1;
  return 0;
}

static int chains_build(const struct esmc_check_ctx *c,
                        const struct shard_list *sl, const struct breaks *br,
                        struct chains *ch)
{
  const struct esmc_analysis *an = c->an;
  size_t i, n = an->ninv + 1;

  memset(ch, 0, sizeof(*ch));
  ch->attempts = esmc_calloc(n, sizeof(uint32_t));
  ch->invokes = esmc_calloc(n, sizeof(uint32_t));
  ch->last_attempt = esmc_calloc(n, sizeof(size_t));
  ch->start = esmc_calloc(n, sizeof(size_t));
  ch->uncertain = esmc_calloc(n, 1);
  if(!ch->attempts || !ch->invokes || !ch->last_attempt || !ch->start ||
     !ch->uncertain) {
    chains_free(ch);
    return -1;
  }
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *J = &an->inv[i];
    size_t p = shard_prev(c, sl, i);
    const struct esmc_ainv *I = p == ESMC_NONE ? NULL : &an->inv[p];
    int cont = I && (J->n ? same_records(I, J) : same_final(c, I, J)) &&
               !break_between(br, I->ev, J->ev);
    if(cont) {
      ch->attempts[i] = ch->attempts[p];
      ch->invokes[i] = ch->invokes[p];
      ch->last_attempt[i] = ch->last_attempt[p];
      ch->start[i] = ch->start[p];
      ch->uncertain[i] = ch->uncertain[p];
    } else {
      ch->attempts[i] = 0;
      ch->invokes[i] = 0;
      ch->last_attempt[i] = ESMC_NONE;
      ch->start[i] = i;
      ch->uncertain[i] =
          I && J->n && (break_between(br, I->ev, J->ev) || !fresh_start(c, I, J));
    }
    ch->invokes[i]++;
    if(counts_as_attempt(J)) {
      ch->attempts[i]++;
      ch->last_attempt[i] = i;
    }
  }
  return 0;
}

/* The chain of invocation L ends: were its failed records given up too early
 * (RETRY-2), or at all with infinite retries (RETRY-3)? */
static void retry_chain_end(struct esmc_check_ctx *c, const struct chains *ch,
                            const struct breaks *br,
                            const struct cfg_timeline *cfgs, size_t li,
                            size_t next, struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  const struct esmc_ainv *L = &c->an->inv[li];
  uint32_t ff = first_failed(L), attempts, rid0;
  int32_t mra = L->cfg.maximum_retry_attempts;
  struct discard dis;
  const struct esmc_hevent *e;
  const struct esmc_effective_config *cfg;

  if(ff >= L->n || L->done_ev == ESMC_NONE || ch->uncertain[li])
    return;
  rid0 = L->rids[ff];
  find_discard(c, L->shard, L->done_ev,
               next == ESMC_NONE ? w->hist.n : c->an->inv[next].ev,
               rec_idx(w, rid0), &dis);
  /* TW-5: with no destination, the give-up may show only later. */
  if(dis.ev == ESMC_NONE && L->cfg.tumbling_window_s > 0 && next != ESMC_NONE &&
     c->an->rec[rid0].last_delivery_inv == li)
    find_discard(c, L->shard, L->done_ev, tw_discard_end(c, br, L->done_ev),
                 rec_idx(w, rid0), &dis);
  if(dis.ev == ESMC_NONE || dis.age)
    return;
  e = hev(c, dis.ev);
  cfg = cfg_at(cfgs, dis.ev);
  /* A checkpoint past expired records is an age discard (AGE-3 judges the
   * missing destination record); past trimmed ones, a trim (FAULT-3). */
  if(!dis.dest && (expired_at(w, cfg, rid0, e->t) ||
                   e->t >= w->records[rid0].trim_ms))
    return;
  attempts = L->result == ESMC_R_PARTIAL && L->failed_from > 0
                 ? 0
                 : ch->attempts[li];
  if(mra >= 0 && attempts >= (uint32_t)mra + 1)
    return;
  esmc_buf_puts(b, "batch ");
  put_rids(b, w, L->rids + ff, L->n - ff);
  esmc_buf_printf(b, " (first seq %s, shard %s) was given up at t=%" PRId64
                  "ms by ", rseq(w, rid0), shard_name(w, L->shard), e->t);
  if(dis.dest)
    esmc_buf_printf(b, "a %s record sent to %s",
                    dis.d->condition[0] ? dis.d->condition : "failure",
                    e->text2 ? e->text2 : "?");
  else
    esmc_buf_printf(b, "a checkpoint at seq %s past it",
                    e->text ? e->text : "?");
  esmc_buf_printf(b, " after %" PRIu32 " failed invocation%s", attempts,
                  attempts == 1 ? "" : "s");
  if(attempts > 0 && ch->last_attempt[li] != ESMC_NONE)
    esmc_buf_printf(b, " (the last #%zu)", ch->last_attempt[li] + 1);
  if(mra < 0)
    esmc_buf_puts(b, "; MaximumRetryAttempts is -1, so a failing batch is "
                     "retried until its records expire");
  else
    esmc_buf_printf(b, "; MaximumRetryAttempts %" PRId32 " requires %" PRId64
                    " before it is discarded", mra, (int64_t)mra + 1);
  if(L->result == ESMC_R_PARTIAL && L->failed_from > 0)
    esmc_buf_puts(b, " (a partial failure that moves the start gives the rest "
                     "a fresh retry budget)");
  report_buf(c, e->t, b);
}

/* "the final invoke of window <start> to <end> (shard S)". */
static void put_final(struct esmc_buf *b, const struct esmc_check_ctx *c,
                      const struct esmc_ainv *v, const struct esmc_tw_info *ti)
{
  esmc_buf_puts(b, "the final invoke of window ");
  esmc_buf_iso8601(b, ti->start_ms, 0);
  esmc_buf_puts(b, " to ");
  esmc_buf_iso8601(b, ti->end_ms, 0);
  esmc_buf_printf(b, " (shard %s)", shard_name(c->w, v->shard));
}

/* TW-8 for the chain of final invokes that invocation i belongs to: at most
 * 1 + MaximumRetryAttempts failed attempts, and no fewer before the shard
 * moves on without it succeeding. Empty invokes that are not final invokes
 * are event_shape's. */
static void final_chain(struct esmc_check_ctx *c, const struct chains *ch,
                        const struct breaks *br, const struct shard_list *sl,
                        size_t i, struct esmc_buf *b)
{
  const struct esmc_ainv *v = &c->an->inv[i], *nx;
  int32_t mra = v->cfg.maximum_retry_attempts;
  struct esmc_tw_info ti;
  size_t next;

  if(esmc_tw_info_parse(hev(c, v->ev)->text2, &ti) || !ti.final)
    return;
  if(mra >= 0 && counts_as_attempt(v) && ch->attempts[i] == (uint32_t)mra + 2) {
    put_final(b, c, v, &ti);
    esmc_buf_printf(b, " was invoked and failed %" PRIu32 " times "
                    "(invocations #%zu to #%zu, the last at t=%" PRId64
                    "ms); MaximumRetryAttempts %" PRId32 " allows %" PRId64
                    " (TW-8)", ch->attempts[i], ch->start[i] + 1, i + 1,
                    v->t_start, mra, (int64_t)mra + 1);
    report_buf(c, v->t_start, b);
  }
  next = shard_next(c, sl, i);
  if(next == ESMC_NONE)
    return;
  nx = &c->an->inv[next];
  if(same_final(c, v, nx) || break_between(br, v->ev, nx->ev) ||
     v->result == ESMC_R_SUCCESS || v->result == ESMC_R_PENDING ||
     (mra >= 0 && ch->attempts[i] >= (uint32_t)mra + 1))
    return;
  put_final(b, c, v, &ti);
  esmc_buf_printf(b, " failed %" PRIu32 " time%s and did not succeed (the "
                  "last, invocation #%zu, %s at t=%" PRId64 "ms), but "
                  "invocation #%zu at t=%" PRId64 "ms went on without it",
                  ch->attempts[i], ch->attempts[i] == 1 ? "" : "s", i + 1,
                  v->result == ESMC_R_NOT_RUN ? "did not run" : "failed",
                  v->t_end, next + 1, nx->t_start);
  if(mra < 0)
    esmc_buf_puts(b, "; MaximumRetryAttempts is -1, so a failing final invoke "
                     "is retried until it succeeds (TW-8)");
  else
    esmc_buf_printf(b, "; MaximumRetryAttempts %" PRId32 " requires %" PRId64
                    " failed attempts before the window is given up (TW-8)",
                    mra, (int64_t)mra + 1);
  report_buf(c, nx->t_start, b);
}

void esmc_check_retry_limit(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct shard_list sl;
  struct breaks br;
  struct chains ch;
  struct cfg_timeline cfgs;
  struct esmc_buf b;
  size_t i;

  memset(&br, 0, sizeof(br));
  memset(&cfgs, 0, sizeof(cfgs));
  if(shard_list_build(c, &sl))
    return;
  if(breaks_build(c, &br) || cfg_timeline_build(c, &cfgs) ||
     chains_build(c, &sl, &br, &ch)) {
    ESMC_VEC_FREE(br);
    ESMC_VEC_FREE(cfgs);
    shard_list_free(&sl);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    int32_t mra = v->cfg.maximum_retry_attempts;
    size_t next;
    if(v->shard == ESMC_NO_SHARD || v->cfg.parallelization_factor != 1)
      continue;
    if(v->n == 0) {
      /* TW-8: a tumbling window's final invoke is retried like a batch. */
      final_chain(c, &ch, &br, &sl, i, &b);
      continue;
    }
    /* RETRY-1: at most 1 + MaximumRetryAttempts failed attempts. */
    if(mra >= 0 && counts_as_attempt(v) &&
       ch.attempts[i] == (uint32_t)mra + 2) {
      esmc_buf_puts(&b, "batch ");
      put_rids(&b, w, v->rids, v->n);
      esmc_buf_printf(&b, " (first seq %s, shard %s) was invoked and failed "
                      "%" PRIu32 " times (invocations #%zu to #%zu, the last "
                      "at t=%" PRId64 "ms); MaximumRetryAttempts %" PRId32
                      " allows %" PRId64 " (throttles not counted)",
                      rseq(w, v->rids[0]), shard_name(w, v->shard),
                      ch.attempts[i], ch.start[i] + 1, i + 1, v->t_start, mra,
                      (int64_t)mra + 1);
      report_buf(c, v->t_start, &b);
    }
    next = shard_next(c, &sl, i);
    if(next != ESMC_NONE && same_records(v, &an->inv[next]) &&
       !break_between(&br, v->ev, an->inv[next].ev))
      continue;
    retry_chain_end(c, &ch, &br, &cfgs, i, next, &b);
  }
  esmc_buf_free(&b);
  chains_free(&ch);
  ESMC_VEC_FREE(br);
  ESMC_VEC_FREE(cfgs);
  shard_list_free(&sl);
}

/* ------------------------------------------------------------------------ */
/* record_age: AGE-1..3.                                                     */

void esmc_check_record_age(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct cfg_timeline cfgs;
  struct esmc_buf b;
  size_t i;
  uint32_t k, rid;
  uint8_t *covered;

  if(cfg_timeline_build(c, &cfgs)) {
    ESMC_VEC_FREE(cfgs);
    return;
  }
  esmc_buf_init(&b);

  /* AGE-1: no expired record reaches the function. */
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    int64_t limit = (int64_t)v->cfg.maximum_record_age_s * 1000;
    if(v->cfg.maximum_record_age_s < 0)
      continue;
    for(k = 0; k < v->n; k++) {
      rid = v->rids[k];
      if(rid >= w->nrecords || rec_age(w, rid, v->t_start) <= limit)
        continue;
      esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 "ms carried %s "
                      "(seq %s, shard %s), appended at t=%" PRId64 "ms and so "
                      "%" PRId64 " ms old; MaximumRecordAgeInSeconds %" PRId32
                      " allows at most %" PRId64 " ms",
                      i + 1, v->t_start, rname(w, rid), rseq(w, rid),
                      shard_name(w, w->records[rid].shard),
                      w->records[rid].at_ms, rec_age(w, rid, v->t_start),
                      v->cfg.maximum_record_age_s, limit);
      report_buf(c, v->t_start, &b);
      break;
    }
  }

  /* AGE-2: RecordAgeExceeded only for records older than the limit. */
  for(i = 0; i < an->ndest; i++) {
    const struct esmc_adest *d = &an->dest[i];
    const struct esmc_hevent *e = hev(c, d->ev);
    const struct esmc_effective_config *cfg = cfg_at(&cfgs, d->ev);
    uint32_t x;
    if(strcmp(d->condition, "RecordAgeExceeded") != 0 || !d->range_known ||
       d->shard >= w->nshards || d->last_index >= w->shards[d->shard].n)
      continue;
    for(x = d->first_index; x <= d->last_index; x++) {
      rid = w->shards[d->shard].rids[x];
      /* A record the stream no longer holds (retention or a trim) may be
       * reported as aged out: how it goes is not judged (ERR-4, FAULT-3). */
      if(expired_at(w, cfg, rid, e->t) || e->t >= w->records[rid].trim_ms)
        continue;
      esmc_buf_printf(&b, "a RecordAgeExceeded record sent at t=%" PRId64
                      "ms covers %s (seq %s, shard %s), appended at t=%" PRId64
                      "ms and so only %" PRId64 " ms old; ",
                      e->t, rname(w, rid), rseq(w, rid),
                      shard_name(w, d->shard), w->records[rid].at_ms,
                      rec_age(w, rid, e->t));
      if(cfg->maximum_record_age_s < 0)
        esmc_buf_puts(&b, "MaximumRecordAgeInSeconds is -1, so no record "
                          "expires");
      else
        esmc_buf_printf(&b, "MaximumRecordAgeInSeconds %" PRId32 " discards "
                        "records only when older than %" PRId64 " ms",
                        cfg->maximum_record_age_s,
                        (int64_t)cfg->maximum_record_age_s * 1000);
      report_buf(c, e->t, &b);
      break;
    }
  }

  /* AGE-3: an expired record checkpointed past without a RecordAgeExceeded
   * record (even an undelivered one), though a destination is configured. */
  covered = esmc_calloc((size_t)w->nrecords + 1, 1);
  for(i = 0; covered && i < an->ndest; i++) {
    const struct esmc_adest *d = &an->dest[i];
    uint32_t x;
    if(!d->range_known || d->shard >= w->nshards ||
       strcmp(d->condition, "RecordAgeExceeded") != 0)
      continue;
    for(x = d->first_index; x <= d->last_index && x < w->shards[d->shard].n;
        x++)
      covered[w->shards[d->shard].rids[x]] = 1;
  }
  for(rid = 0; covered && rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    const struct esmc_hevent *e;
    const struct esmc_effective_config *cfg;
    if(r->fate != ESMC_FATE_SKIPPED || covered[rid] ||
       r->settled_ev == ESMC_NONE || r->settled_ev >= w->hist.n)
      continue;
    e = hev(c, r->settled_ev);
    cfg = cfg_at(&cfgs, r->settled_ev);
    if(e->kind != ESMC_H_CHECKPOINT || !has_destination(cfg) ||
       !expired_at(w, cfg, rid, e->t))
      continue;
    esmc_buf_printf(&b, "%s (seq %s, shard %s) expired (%" PRId64 " ms old, "
                    "MaximumRecordAgeInSeconds %" PRId32 ") and was "
                    "checkpointed past at t=%" PRId64 "ms without a "
                    "RecordAgeExceeded record to %s",
                    rname(w, rid), rseq(w, rid),
                    shard_name(w, w->records[rid].shard), rec_age(w, rid, e->t),
                    cfg->maximum_record_age_s, e->t,
                    cfg->on_failure_destination);
    report_buf(c, e->t, &b);
  }
  esmc_free(covered);
  esmc_buf_free(&b);
  ESMC_VEC_FREE(cfgs);
}

/* ------------------------------------------------------------------------ */
/* A minimal JSON view over jsmn, for failure records.                       */

struct jdoc {
  const char *s;
  jsmntok_t *t;
  int n;
};

static void jdoc_free(struct jdoc *d)
{
  esmc_free(d->t);
  memset(d, 0, sizeof(*d));
}

/* The index of the first token after token i and all it contains. */
static int jskip(const struct jdoc *d, int i)
{
  int end = d->t[i].end, j = i + 1;
  while(j < d->n && d->t[j].start < end)
    j++;
  return j;
}

/* Parse one JSON object. Returns 0, -1 when s is not one object, -2 when out
 * of memory. */
static int jdoc_parse(struct jdoc *d, const char *s, size_t len)
{
  jsmn_parser p;
  int n;
  size_t k;

  memset(d, 0, sizeof(*d));
  d->s = s ? s : "";
  jsmn_init(&p);
  n = jsmn_parse(&p, d->s, len, NULL, 0);
  if(n <= 0)
    return -1;
  d->t = esmc_calloc((size_t)n, sizeof(*d->t));
  if(!d->t)
    return -2;
  jsmn_init(&p);
  d->n = jsmn_parse(&p, d->s, len, d->t, (unsigned)n);
  if(d->n <= 0 || d->t[0].type != JSMN_OBJECT || jskip(d, 0) != d->n) {
    jdoc_free(d);
    return -1;
  }
  for(k = (size_t)d->t[0].end; k < len && d->s[k]; k++)
    if(!isspace((unsigned char)d->s[k])) {
      jdoc_free(d);
      return -1;
    }
  return 0;
}

/* The value of member key of object obj, or -1. */
static int jget(const struct jdoc *d, int obj, const char *key)
{
  int k, end;
  size_t klen = strlen(key);
  if(obj < 0 || obj >= d->n || d->t[obj].type != JSMN_OBJECT)
    return -1;
  end = d->t[obj].end;
  for(k = obj + 1; k + 1 < d->n && d->t[k].start < end; k = jskip(d, k + 1)) {
    const jsmntok_t *t = &d->t[k];
    if(t->type == JSMN_STRING && (size_t)(t->end - t->start) == klen &&
       memcmp(d->s + t->start, key, klen) == 0)
      return k + 1;
  }
  return -1;
}

static int hexval(char ch)
{
  if(ch >= '0' && ch <= '9')
    return ch - '0';
  if(ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if(ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Copy string token tok, unescaped (non-ASCII \u escapes become '?'), into
 * out. Returns 0, or -1 when tok is not a string or does not fit. */
static int jstr(const struct jdoc *d, int tok, char *out, size_t size)
{
  const char *p, *e;
  size_t o = 0;
  if(tok < 0 || d->t[tok].type != JSMN_STRING || size == 0)
    return -1;
  p = d->s + d->t[tok].start;
  e = d->s + d->t[tok].end;
  while(p < e) {
    char ch = *p++;
    if(ch == '\\' && p < e) {
      char x = *p++;
      switch(x) {
      case 'b': ch = '\b'; break;
      case 'f': ch = '\f'; break;
      case 'n': ch = '\n'; break;
      case 'r': ch = '\r'; break;
      case 't': ch = '\t'; break;
      case 'u': {
        int v = 0, i;
        for(i = 0; i < 4 && p < e; i++, p++)
          v = v * 16 + (hexval(*p) < 0 ? 0 : hexval(*p));
        ch = v > 0 && v < 0x80 ? (char)v : '?';
        break;
      }
      default: ch = x; break;
      }
    }
    if(o + 1 >= size)
      return -1;
    out[o++] = ch;
  }
  out[o] = '\0';
  return 0;
}

/* An integer: digits with an optional minus, nothing else. */
static int jint(const struct jdoc *d, int tok, int64_t *out)
{
  const char *p, *e;
  int neg = 0;
  int64_t v = 0;
  if(tok < 0 || d->t[tok].type != JSMN_PRIMITIVE)
    return -1;
  p = d->s + d->t[tok].start;
  e = d->s + d->t[tok].end;
  if(p < e && *p == '-') {
    neg = 1;
    p++;
  }
  if(p == e || e - p > 18)
    return -1;
  for(; p < e; p++) {
    if(*p < '0' || *p > '9')
      return -1;
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return 0;
}

static int jnull(const struct jdoc *d, int tok)
{
  return tok >= 0 && d->t[tok].type == JSMN_PRIMITIVE &&
         d->t[tok].end - d->t[tok].start == 4 &&
         memcmp(d->s + d->t[tok].start, "null", 4) == 0;
}

/* 1 when s matches tmpl: 'D' is a digit, 'H' a hex digit, anything else
 * itself. */
static int match_template(const char *s, const char *tmpl)
{
  for(; *tmpl; s++, tmpl++) {
    if(*tmpl == 'D') {
      if(!isdigit((unsigned char)*s))
        return 0;
    } else if(*tmpl == 'H') {
      if(!isxdigit((unsigned char)*s))
        return 0;
    } else if(*s != *tmpl) {
      return 0;
    }
  }
  return *s == '\0';
}

/* ------------------------------------------------------------------------ */
/* destination: DEST-1..7.                                                   */

#define TS_MS_TEMPLATE "DDDD-DD-DDTDD:DD:DD.DDDZ"
#define TS_S_TEMPLATE "DDDD-DD-DDTDD:DD:DDZ"
#define S3_KEY_TEMPLATE                                                        \
  "DDDD/DD/DD/DDDD-DD-DDTDD.DD.DD-HHHHHHHH-HHHH-HHHH-HHHH-HHHHHHHHHHHH"

struct dest_env {
  struct shard_list sl;
  struct breaks br;
  struct chains ch;
  struct cfg_timeline cfgs;
  size_t *last_ok;  /* per rid: the last delivered record covering it */
  uint8_t *covered; /* per rid: some destination record covers it */
};

/* Record the first problem only. */
static void problem(struct esmc_buf *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void problem(struct esmc_buf *m, const char *fmt, ...)
{
  va_list ap;
  if(m->len)
    return;
  va_start(ap, fmt);
  esmc_buf_vprintf(m, fmt, ap);
  va_end(ap);
}

/* A time member: format (milliseconds or whole seconds) and value. */
static void check_time(const struct jdoc *d, int obj, const char *key,
                       int millis, int64_t expect_abs_ms, const char *what,
                       struct esmc_buf *m)
{
  char got[64];
  struct esmc_buf want;
  int tok = jget(d, obj, key);
  if(tok < 0 || jstr(d, tok, got, sizeof(got))) {
    problem(m, "%s is missing or not a string", key);
    return;
  }
  if(!match_template(got, millis ? TS_MS_TEMPLATE : TS_S_TEMPLATE)) {
    problem(m, "%s is \"%s\", not of the form %s", key, got,
            millis ? "YYYY-MM-DDTHH:MM:SS.mmmZ (with milliseconds)"
                   : "YYYY-MM-DDTHH:MM:SSZ (whole seconds)");
    return;
  }
  esmc_buf_init(&want);
  esmc_buf_iso8601(&want, expect_abs_ms, millis);
  if(want.data && strcmp(got, want.data) != 0)
    problem(m, "%s is %s but %s is %s", key, got, what, want.data);
  esmc_buf_free(&want);
}

/* "YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS" from an ISO-8601 time. */
static void s3_key_time(char *out, size_t cap, const char *s)
{
  snprintf(out, cap, "%.4s/%.2s/%.2s/%.4s-%.2s-%.2sT%.2s.%.2s.%.2s", s, s + 5,
           s + 8, s, s + 5, s + 8, s + 11, s + 14, s + 17);
}

/* The S3 object key (DEST-6). Its time is not later than the send and, when
 * the record's timestamp (given_up, may be NULL) is known, not earlier than
 * it: a send retried while the destination was down keeps its key. */
static void check_s3_key(const struct esmc_world *w, const char *key,
                         const char *shard_id, int64_t send_abs_ms,
                         const char *given_up, struct esmc_buf *m)
{
  struct esmc_buf pre, iso;
  const char *rest;
  char when[40], from[40];

  if(!key) {
    problem(m, "an S3 destination object needs a key, but none was given");
    return;
  }
  esmc_buf_init(&pre);
  esmc_buf_init(&iso);
  esmc_buf_printf(&pre, "aws/lambda/%s/%s/", w->mapping_uuid, shard_id);
  esmc_buf_iso8601(&iso, send_abs_ms, 0);
  if(!pre.data || !iso.data || iso.len < 19) {
    esmc_buf_free(&pre);
    esmc_buf_free(&iso);
    return;
  }
  rest = key + pre.len;
  if(strncmp(key, pre.data, pre.len) != 0 ||
     !match_template(rest, S3_KEY_TEMPLATE)) {
    problem(m, "the S3 object key \"%s\" does not match %sYYYY/MM/DD/"
            "YYYY-MM-DDTHH.MM.SS-<uuid>", key, pre.data);
  } else {
    s3_key_time(when, sizeof(when), iso.data);
    if(given_up && match_template(given_up, TS_MS_TEMPLATE))
      s3_key_time(from, sizeof(from), given_up);
    else
      snprintf(from, sizeof(from), "%s", when);
    if(strncmp(rest, when, strlen(when)) > 0 ||
       strncmp(rest, from, strlen(from)) < 0)
      problem(m, "the S3 object key \"%s\" should carry a time from the "
              "record's timestamp %s to the send time %s", key, from, when);
  }
  esmc_buf_free(&pre);
  esmc_buf_free(&iso);
}

/* The last invocation of shard that completed before event ev. */
static size_t last_done_before(const struct esmc_check_ctx *c,
                               const struct shard_list *sl, uint32_t shard,
                               size_t ev)
{
  size_t lo = sl->first[shard], hi = sl->first[shard + 1], k;
  while(lo < hi) { /* first position whose invoke is at or after ev */
    size_t mid = lo + (hi - lo) / 2;
    if(c->an->inv[sl->inv[mid]].ev < ev)
      lo = mid + 1;
    else
      hi = mid;
  }
  for(k = lo; k > sl->first[shard]; k--) {
    const struct esmc_ainv *v = &c->an->inv[sl->inv[k - 1]];
    if(v->done_ev != ESMC_NONE && v->done_ev < ev)
      return sl->inv[k - 1];
  }
  return ESMC_NONE;
}

/* The top-level timestamp is of the form YYYY-MM-DDTHH:MM:SS.mmmZ (DEST-5). */
static void check_give_up_format(const struct jdoc *d, struct esmc_buf *m)
{
  char got[64];
  int tok = jget(d, 0, "timestamp");
  if(tok < 0 || jstr(d, tok, got, sizeof(got)))
    problem(m, "timestamp is missing or not a string");
  else if(!match_template(got, TS_MS_TEMPLATE))
    problem(m, "timestamp is \"%s\", not of the form "
            "YYYY-MM-DDTHH:MM:SS.mmmZ (with milliseconds)", got);
}

/*
 * DEST-5: the top-level timestamp is when the mapper gave up on the batch.
 * It is not later than the send (a send retried while the destination was
 * down keeps it) and not earlier than the completion of the batch's last
 * invocation (RetryAttemptsExhausted) or the moment its newest record
 * became older than MaximumRecordAgeInSeconds (RecordAgeExceeded). The
 * fixed-width form orders as text, so the bounds are compared as strings.
 */
static void check_give_up_time(const struct esmc_check_ctx *c,
                               const struct dest_env *env, size_t ev,
                               const struct jdoc *d, const char *cond,
                               const struct esmc_effective_config *cfg,
                               const struct esmc_wrecord *r1,
                               const struct esmc_wrecord *r2,
                               struct esmc_buf *m)
{
  const struct esmc_world *w = c->w;
  const struct esmc_hevent *e = hev(c, ev);
  struct esmc_buf lo, hi;
  const char *lo_what = NULL;
  int64_t lo_t = 0;
  char got[64];
  int tok = jget(d, 0, "timestamp");

  if(m->len || tok < 0 || jstr(d, tok, got, sizeof(got)))
    return;
  if(strcmp(cond, "RecordAgeExceeded") == 0) {
    if(cfg->maximum_record_age_s >= 0) {
      lo_t = r2->at_ms + (int64_t)cfg->maximum_record_age_s * 1000 + 1;
      lo_what = "the moment its newest record exceeded "
                "MaximumRecordAgeInSeconds";
    }
    /* Records the stream dropped first (retention or a trim) may be
     * reported from the moment the last of them was gone (FAULT-3). */
    if(r1->trim_ms <= e->t && r2->trim_ms <= e->t &&
       (!lo_what || (r1->trim_ms > r2->trim_ms ? r1->trim_ms : r2->trim_ms) <
                        lo_t)) {
      lo_t = r1->trim_ms > r2->trim_ms ? r1->trim_ms : r2->trim_ms;
      lo_what = "the moment its records left the stream";
    }
  } else {
    size_t li = last_done_before(c, &env->sl, r1->shard, ev);
    const struct esmc_ainv *L = li == ESMC_NONE ? NULL : &c->an->inv[li];
    uint32_t k;
    for(k = 0; L && L->cfg.parallelization_factor == 1 && k < L->n; k++)
      if(L->rids[k] == r1->rid) {
        lo_t = L->t_end;
        lo_what = "the completion of the batch's last invocation";
        break;
      }
  }
  esmc_buf_init(&lo);
  esmc_buf_init(&hi);
  esmc_buf_iso8601(&hi, w->epoch_ms + e->t, 1);
  if(lo_what)
    esmc_buf_iso8601(&lo, w->epoch_ms + lo_t, 1);
  if(hi.data && strcmp(got, hi.data) > 0)
    problem(m, "timestamp is %s, later than the send time %s (it is when "
            "the mapper gave up on the batch)", got, hi.data);
  else if(lo_what && lo.data && strcmp(got, lo.data) < 0)
    problem(m, "timestamp is %s, earlier than %s, %s (it is when the mapper "
            "gave up on the batch)", got, lo_what, lo.data);
  esmc_buf_free(&lo);
  esmc_buf_free(&hi);
}

/* RetryAttemptsExhausted: the batch given up, its count, its last error
 * (DEST-2, OBS-1, OBS-2, OBS-5). */
static void check_exhausted(const struct esmc_check_ctx *c,
                            const struct dest_env *env, size_t ev,
                            uint32_t shard, uint32_t first, uint32_t last,
                            int64_t invoke_count, const struct jdoc *d,
                            int fe_tok, struct esmc_buf *m)
{
  const struct esmc_world *w = c->w;
  size_t li = last_done_before(c, &env->sl, shard, ev), ai, k;
  const struct esmc_ainv *L;
  uint32_t ff;
  struct esmc_buf want;

  if(li == ESMC_NONE)
    return;
  L = &c->an->inv[li];
  ff = first_failed(L);
  if(ff >= L->n || L->cfg.parallelization_factor != 1 ||
     !rids_contiguous(w, L->rids + ff, L->n - ff))
    return;
  /* Expired head records split off first (OBS-6) are not part of the batch
   * given up for retries. */
  for(k = L->done_ev + 1; k < ev; k++) {
    const struct esmc_adest *a;
    if(hev(c, k)->kind != ESMC_H_DEST_SEND || !(a = dest_by_ev(c->an, k)) ||
       !a->range_known || a->shard != shard ||
       strcmp(a->condition, "RecordAgeExceeded") != 0)
      continue;
    while(ff < L->n && rec_idx(w, L->rids[ff]) <= a->last_index)
      ff++;
  }
  if(ff >= L->n)
    return;
  if(rec_idx(w, L->rids[ff]) != first || rec_idx(w, L->rids[L->n - 1]) != last) {
    esmc_buf_init(&want);
    esmc_buf_puts(&want, "it describes ");
    put_range(&want, w, shard, first, last);
    esmc_buf_puts(&want, ", but the batch given up was ");
    put_rids(&want, w, L->rids + ff, L->n - ff);
    esmc_buf_printf(&want, " (invocation #%zu; the record describes the "
                    "batch as it was when Lambda gave up)", li + 1);
    problem(m, "%s", want.data ? want.data : "wrong batch");
    esmc_buf_free(&want);
    return;
  }
  /* OBS-1 pins the count to the failed attempts; whether invocations that
   * never ran (throttles) count too is not known, so either is accepted. */
  if(!env->ch.uncertain[li] &&
     !(L->result == ESMC_R_PARTIAL && L->failed_from > 0) &&
     invoke_count != (int64_t)env->ch.attempts[li] &&
     invoke_count != (int64_t)env->ch.invokes[li])
    problem(m, "approximateInvokeCount is %" PRId64 " but the batch was "
            "invoked and failed %" PRIu32 " time%s (invocations #%zu to #%zu)",
            invoke_count, env->ch.attempts[li],
            env->ch.attempts[li] == 1 ? "" : "s", env->ch.start[li] + 1,
            li + 1);
  ai = env->ch.last_attempt[li];
  if(ai == ESMC_NONE)
    return;
  switch(inv_outcome(c, &c->an->inv[ai])) {
  case ESMC_INVOKE_FUNCTION_ERROR: {
    char fe[64];
    if(jstr(d, fe_tok, fe, sizeof(fe)) || strcmp(fe, "Unhandled") != 0)
      problem(m, "responseContext.functionError should be \"Unhandled\": the "
              "last attempt, invocation #%zu, was a function error", ai + 1);
    break;
  }
  case ESMC_INVOKE_OK:
    if(!jnull(d, fe_tok))
      problem(m, "responseContext.functionError should be null: the last "
              "attempt, invocation #%zu, returned normally with an invalid "
              "batchItemFailures response", ai + 1);
    break;
  default:
    break;
  }
}

/* Judge one DEST_SEND; the first problem goes to m. Sets *range when the
 * covered records are known. */
static void check_one_dest(const struct esmc_check_ctx *c,
                           const struct dest_env *env, size_t ev,
                           struct esmc_buf *m, uint32_t *shard_out,
                           uint32_t *first_out, uint32_t *last_out,
                           int *range)
{
  const struct esmc_world *w = c->w;
  const struct esmc_hevent *e = hev(c, ev);
  const struct esmc_effective_config *cfg = cfg_at(&env->cfgs, ev);
  int ddb = w->sc->source == ESMC_SOURCE_DYNAMODB;
  int s3, rc, rq, bi, tok, rs;
  char buf[512], cond[48], shard_id[64], seq1[80], seq2[80];
  int64_t count = -1, bs;
  uint32_t shard;
  const struct esmc_wrecord *r1, *r2;
  struct jdoc d;

  *range = 0;
  if(!has_destination(cfg)) {
    problem(m, "no OnFailure destination is configured, so discarded batches "
            "must be skipped silently");
    return;
  }
  if(!e->text2 || strcmp(e->text2, cfg->on_failure_destination) != 0) {
    problem(m, "it went to %s, but the configured destination is %s",
            e->text2 ? e->text2 : "(none)", cfg->on_failure_destination);
    return;
  }
  s3 = strncmp(cfg->on_failure_destination, "arn:aws:s3:::", 13) == 0;
  rs = jdoc_parse(&d, e->text, e->text_len);
  if(rs == -2)
    return;
  if(rs) {
    problem(m, "the payload is not a JSON object");
    return;
  }

  /* requestContext (DEST-2, DEST-3). */
  rq = jget(&d, 0, "requestContext");
  if(rq < 0 || d.t[rq].type != JSMN_OBJECT) {
    problem(m, "requestContext is missing or not an object");
    goto done;
  }
  if(jstr(&d, jget(&d, rq, "requestId"), buf, sizeof(buf)))
    problem(m, "requestContext.requestId is missing or not a string");
  if(jstr(&d, jget(&d, rq, "functionArn"), buf, sizeof(buf)))
    problem(m, "requestContext.functionArn is missing or not a string");
  else if(strcmp(buf, w->function_arn) != 0)
    problem(m, "requestContext.functionArn is %s, not the unqualified "
            "function ARN %s", buf, w->function_arn);
  if(jstr(&d, jget(&d, rq, "condition"), cond, sizeof(cond)))
    problem(m, "requestContext.condition is missing or not a string");
  else if(strcmp(cond, "RetryAttemptsExhausted") != 0 &&
          strcmp(cond, "RecordAgeExceeded") != 0)
    problem(m, "requestContext.condition is \"%s\", neither "
            "RetryAttemptsExhausted nor RecordAgeExceeded", cond);
  if(jint(&d, jget(&d, rq, "approximateInvokeCount"), &count) || count < 1)
    problem(m, "requestContext.approximateInvokeCount is missing or not an "
            "integer of at least 1");
  if(m->len)
    goto done;

  /* version and timestamp (DEST-2, DEST-5). */
  if(jstr(&d, jget(&d, 0, "version"), buf, sizeof(buf)) ||
     strcmp(buf, "1.0") != 0)
    problem(m, "version is missing or not \"1.0\"");
  check_give_up_format(&d, m);

  /* The batch description. */
  bi = jget(&d, 0, ddb ? "DDBStreamBatchInfo" : "KinesisBatchInfo");
  if(bi < 0 || d.t[bi].type != JSMN_OBJECT) {
    problem(m, "%s is missing or not an object",
            ddb ? "DDBStreamBatchInfo" : "KinesisBatchInfo");
    goto done;
  }
  if(jstr(&d, jget(&d, bi, "shardId"), shard_id, sizeof(shard_id))) {
    problem(m, "shardId is missing or not a string");
    goto done;
  }
  for(shard = 0; shard < w->nshards; shard++)
    if(strcmp(w->shards[shard].id, shard_id) == 0)
      break;
  if(shard == w->nshards) {
    problem(m, "shardId %s is not a shard of the stream", shard_id);
    goto done;
  }
  if(jstr(&d, jget(&d, bi, "startSequenceNumber"), seq1, sizeof(seq1)) ||
     jstr(&d, jget(&d, bi, "endSequenceNumber"), seq2, sizeof(seq2))) {
    problem(m, "startSequenceNumber or endSequenceNumber is missing or not a "
            "string");
    goto done;
  }
  r1 = esmc_world_record_by_seq(w, seq1);
  r2 = esmc_world_record_by_seq(w, seq2);
  if(!r1 || !r2 || r1->shard != shard || r2->shard != shard ||
     r1->index > r2->index) {
    problem(m, "startSequenceNumber %s and endSequenceNumber %s are not a "
            "range of records of %s", seq1, seq2, shard_id);
    goto done;
  }
  *shard_out = shard;
  *first_out = r1->index;
  *last_out = r2->index;
  *range = 1;
  check_give_up_time(c, env, ev, &d, cond, cfg, r1, r2, m);
  check_time(&d, bi, "approximateArrivalOfFirstRecord", !ddb,
             w->epoch_ms + r1->at_ms, "the arrival of the first record", m);
  check_time(&d, bi, "approximateArrivalOfLastRecord", !ddb,
             w->epoch_ms + r2->at_ms, "the arrival of the last record", m);
  if(jint(&d, jget(&d, bi, "batchSize"), &bs))
    problem(m, "batchSize is missing or not an integer");
  else if(bs != (int64_t)(r2->index - r1->index) + 1)
    problem(m, "batchSize is %" PRId64 " but %s..%s are %" PRIu32 " records",
            bs, rname(w, r1->rid), rname(w, r2->rid),
            r2->index - r1->index + 1);
  if(jstr(&d, jget(&d, bi, "streamArn"), buf, sizeof(buf)) ||
     strcmp(buf, w->stream_arn) != 0)
    problem(m, "streamArn is missing or not the stream ARN %s", w->stream_arn);

  /* The response context by condition (DEST-2, DEST-4, OBS-2, OBS-6). */
  rc = jget(&d, 0, "responseContext");
  if(strcmp(cond, "RecordAgeExceeded") == 0) {
    if(rc >= 0)
      problem(m, "a RecordAgeExceeded record must have no responseContext key");
  } else if(rc < 0 || d.t[rc].type != JSMN_OBJECT) {
    problem(m, "a RetryAttemptsExhausted record needs a responseContext "
            "object");
  } else {
    int64_t st;
    if(jint(&d, jget(&d, rc, "statusCode"), &st) || st != 200)
      problem(m, "responseContext.statusCode is missing or not 200");
    if(jstr(&d, jget(&d, rc, "executedVersion"), buf, sizeof(buf)))
      problem(m, "responseContext.executedVersion is missing or not a string");
    tok = jget(&d, rc, "functionError");
    if(tok < 0 || (!jnull(&d, tok) && d.t[tok].type != JSMN_STRING))
      problem(m, "responseContext.functionError is missing or neither a "
              "string nor null");
    if(!m->len)
      check_exhausted(c, env, ev, shard, r1->index, r2->index, count, &d, tok,
                      m);
  }

  /* S3 objects: key and payload.Records (DEST-6); others have no key. */
  if(s3) {
    tok = jget(&d, 0, "timestamp");
    check_s3_key(w, e->text3, shard_id, w->epoch_ms + e->t,
                 tok >= 0 && !jstr(&d, tok, buf, sizeof(buf)) ? buf : NULL, m);
    tok = jget(&d, 0, "payload");
    if(tok < 0 || d.t[tok].type != JSMN_OBJECT) {
      problem(m, "an S3 destination object needs payload.Records");
    } else {
      struct esmc_buf prob;
      uint32_t *rids = NULL, k;
      long got;
      esmc_buf_init(&prob);
      got = esmc_world_decode_payload(w, d.s + d.t[tok].start,
                                      (size_t)(d.t[tok].end - d.t[tok].start),
                                      &rids, &prob);
      if(got < 0) {
        problem(m, "payload is not an event with a Records array");
      } else {
        for(k = 0; k < (uint32_t)got; k++)
          if(r1->index + k > r2->index ||
             rids[k] != w->shards[shard].rids[r1->index + k])
            break;
        if(k != (uint32_t)got || (int64_t)got != (int64_t)(r2->index -
                                                            r1->index) + 1)
          problem(m, "payload.Records holds %ld records but should hold the "
                  "%" PRIu32 " records %s..%s in order", got,
                  r2->index - r1->index + 1, rname(w, r1->rid),
                  rname(w, r2->rid));
      }
      esmc_free(rids);
      esmc_buf_free(&prob);
    }
  } else if(e->text3) {
    problem(m, "an SQS or SNS destination takes no object key, but \"%s\" "
            "was given", e->text3);
  }
done:
  jdoc_free(&d);
}

static void dest_env_free(struct dest_env *env)
{
  shard_list_free(&env->sl);
  chains_free(&env->ch);
  ESMC_VEC_FREE(env->br);
  ESMC_VEC_FREE(env->cfgs);
  esmc_free(env->last_ok);
  esmc_free(env->covered);
}

static int dest_env_build(const struct esmc_check_ctx *c, struct dest_env *env)
{
  uint32_t i;
  memset(env, 0, sizeof(*env));
  if(shard_list_build(c, &env->sl) || breaks_build(c, &env->br) ||
     cfg_timeline_build(c, &env->cfgs) ||
     chains_build(c, &env->sl, &env->br, &env->ch))
    return -1;
  env->last_ok = esmc_calloc((size_t)c->w->nrecords + 1, sizeof(size_t));
  env->covered = esmc_calloc((size_t)c->w->nrecords + 1, 1);
  if(!env->last_ok || !env->covered)
    return -1;
  for(i = 0; i < c->w->nrecords; i++)
    env->last_ok[i] = ESMC_NONE;
  return 0;
}

/* 1 when record rid was given up without a report though one was due. */
static int discarded_unreported(const struct esmc_check_ctx *c,
                                const struct dest_env *env, uint32_t rid)
{
  const struct esmc_arec *r = &c->an->rec[rid];
  const struct esmc_hevent *e;
  const struct esmc_effective_config *cfg;
  if(r->fate != ESMC_FATE_SKIPPED || !r->in_scope || env->covered[rid] ||
     r->settled_ev == ESMC_NONE || r->settled_ev >= c->w->hist.n)
    return 0;
  e = hev(c, r->settled_ev);
  cfg = cfg_at(&env->cfgs, r->settled_ev);
  if(!has_destination(cfg))
    return 0;
  return r->deliveries > 0 || expired_at(c->w, cfg, rid, e->t);
}

void esmc_check_destination(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  struct dest_env env;
  struct esmc_buf m, b;
  size_t i;
  uint32_t s, x, y;

  if(dest_env_build(c, &env)) {
    dest_env_free(&env);
    return;
  }
  esmc_buf_init(&m);
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    uint32_t shard = 0, first = 0, last = 0;
    int range = 0;
    if(e->kind != ESMC_H_DEST_SEND)
      continue;
    esmc_buf_reset(&m);
    check_one_dest(c, &env, i, &m, &shard, &first, &last, &range);
    if(m.len) {
      esmc_buf_printf(&b, "the failure record sent at t=%" PRId64 "ms to %s",
                      e->t, e->text2 ? e->text2 : "(none)");
      if(range) {
        esmc_buf_puts(&b, " for ");
        put_range(&b, w, shard, first, last);
        esmc_buf_printf(&b, " (shard %s)", shard_name(w, shard));
      }
      esmc_buf_printf(&b, " is wrong: %s", m.data);
      report_buf(c, e->t, &b);
    }
    if(!range)
      continue;
    for(x = first; x <= last; x++) {
      uint32_t rid = w->shards[shard].rids[x];
      size_t prev = env.last_ok[rid];
      env.covered[rid] = 1;
      if(e->status != ESMC_OK)
        continue;
      env.last_ok[rid] = i;
      if(prev == ESMC_NONE || break_between(&env.br, prev, i))
        continue;
      esmc_buf_printf(&b, "%s (seq %s, shard %s) was reported twice: by the "
                      "failure records sent at t=%" PRId64 "ms and t=%" PRId64
                      "ms; a discarded batch gets exactly one",
                      rname(w, rid), rseq(w, rid), shard_name(w, shard),
                      hev(c, prev)->t, e->t);
      report_buf(c, e->t, &b);
      break;
    }
  }

  /* DEST-1: every discard is reported when a destination is configured. */
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    for(x = 0; x < sh->n; x = y) {
      uint32_t rid = sh->rids[x];
      size_t sev;
      const struct esmc_hevent *e;
      y = x + 1;
      if(!discarded_unreported(c, &env, rid))
        continue;
      sev = c->an->rec[rid].settled_ev;
      while(y < sh->n && discarded_unreported(c, &env, sh->rids[y]) &&
            c->an->rec[sh->rids[y]].settled_ev == sev)
        y++;
      e = hev(c, sev);
      esmc_buf_puts(&b, "batch ");
      put_range(&b, w, s, x, y - 1);
      esmc_buf_printf(&b, " (first seq %s, shard %s) was discarded at t=%"
                      PRId64 "ms (", rseq(w, rid), sh->id, e->t);
      if(e->kind == ESMC_H_CHECKPOINT)
        esmc_buf_printf(&b, "a checkpoint at seq %s past it",
                        e->text ? e->text : "?");
      else
        esmc_buf_printf(&b, "skipped at history event %zu", sev);
      esmc_buf_printf(&b, ") but no failure record was sent to %s",
                      cfg_at(&env.cfgs, sev)->on_failure_destination);
      report_buf(c, e->t, &b);
    }
  }
  esmc_buf_free(&m);
  esmc_buf_free(&b);
  dest_env_free(&env);
}

/* ------------------------------------------------------------------------ */
/* BATCH-3..5: windows, latency and fill (SHOULD).                           */

/* Per record: the first invocation that carried it, whatever its result
 * (the analysis counts deliveries without the ones that were not run). */
static size_t *first_carry_build(const struct esmc_check_ctx *c)
{
  size_t *fc = esmc_calloc((size_t)c->w->nrecords + 1, sizeof(size_t)), i;
  uint32_t k;
  if(!fc)
    return NULL;
  for(k = 0; k < c->w->nrecords; k++)
    fc[k] = ESMC_NONE;
  for(i = 0; i < c->an->ninv; i++)
    for(k = 0; k < c->an->inv[i].n; k++) {
      uint32_t rid = c->an->inv[i].rids[k];
      if(rid < c->w->nrecords && fc[rid] == ESMC_NONE)
        fc[rid] = i;
    }
  return fc;
}

/* 1 when invocation i is the first to carry every record it carries. */
static int first_delivery(const struct esmc_check_ctx *c, const size_t *fc,
                          size_t i)
{
  const struct esmc_ainv *v = &c->an->inv[i];
  uint32_t k;
  for(k = 0; k < v->n; k++)
    if(v->rids[k] >= c->w->nrecords || fc[v->rids[k]] != i)
      return 0;
  return v->n > 0;
}

/* Walks the history alongside the invocations: per shard, the time of the
 * first GET_ITERATOR since the last create, and the last GET_RECORDS. */
struct shard_walk {
  size_t next;        /* next event to read */
  int64_t *iter_t;    /* -1: none since the last create */
  size_t *last_get;   /* ESMC_NONE: none since the last create */
};

static int shard_walk_init(const struct esmc_check_ctx *c,
                           struct shard_walk *sw)
{
  uint32_t s;
  memset(sw, 0, sizeof(*sw));
  sw->iter_t = esmc_calloc((size_t)c->w->nshards + 1, sizeof(int64_t));
  sw->last_get = esmc_calloc((size_t)c->w->nshards + 1, sizeof(size_t));
  if(!sw->iter_t || !sw->last_get)
    return -1;
  for(s = 0; s < c->w->nshards; s++) {
    sw->iter_t[s] = -1;
    sw->last_get[s] = ESMC_NONE;
  }
  return 0;
}

static void shard_walk_free(struct shard_walk *sw)
{
  esmc_free(sw->iter_t);
  esmc_free(sw->last_get);
  memset(sw, 0, sizeof(*sw));
}

/* Read events up to (not including) ev. */
static void shard_walk_to(const struct esmc_check_ctx *c,
                          struct shard_walk *sw, size_t ev)
{
  uint32_t s;
  for(; sw->next < ev && sw->next < c->w->hist.n; sw->next++) {
    const struct esmc_hevent *e = hev(c, sw->next);
    if(e->kind == ESMC_H_CREATE && e->status == ESMC_OK) {
      for(s = 0; s < c->w->nshards; s++) {
        sw->iter_t[s] = -1;
        sw->last_get[s] = ESMC_NONE;
      }
    } else if(e->kind == ESMC_H_GET_ITERATOR && e->status == ESMC_OK &&
              e->shard < c->w->nshards) {
      if(sw->iter_t[e->shard] < 0)
        sw->iter_t[e->shard] = e->t;
    } else if(e->kind == ESMC_H_GET_RECORDS && e->status == ESMC_OK &&
              e->shard < c->w->nshards) {
      sw->last_get[e->shard] = sw->next;
    }
  }
}

void esmc_check_batch_window(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct shard_list sl;
  struct shard_walk sw;
  struct esmc_buf b;
  size_t i, *fc;

  if(shard_list_build(c, &sl))
    return;
  fc = first_carry_build(c);
  if(!fc || shard_walk_init(c, &sw)) {
    esmc_free(fc);
    shard_walk_free(&sw);
    shard_list_free(&sl);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    int64_t bytes, start, window_ms;
    size_t p;
    int from_prev = 0;
    shard_walk_to(c, &sw, v->ev);
    if(v->shard >= w->nshards || v->cfg.window_s <= 0 ||
       v->cfg.parallelization_factor != 1 ||
       v->n >= (uint32_t)v->cfg.batch_size || !first_delivery(c, fc, i))
      continue;
    /* Well below 6 MB: two more records of the average size still fit. */
    bytes = hev(c, v->ev)->a;
    if(bytes + 2 * (bytes / v->n) > ESMC_MAX_PAYLOAD)
      continue;
    start = sw.iter_t[v->shard];
    p = shard_prev(c, &sl, i);
    if(p != ESMC_NONE && an->inv[p].t_end >= 0 && an->inv[p].t_end > start) {
      start = an->inv[p].t_end;
      from_prev = 1;
    }
    window_ms = (int64_t)v->cfg.window_s * 1000;
    if(start < 0 || v->t_start >= start + window_ms ||
       esmc_fault_during(w, start, v->t_start))
      continue;
    esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 "ms carried only %"
                    PRIu32 " record%s (", i + 1, v->t_start, v->n,
                    v->n == 1 ? "" : "s");
    put_rids(&b, w, v->rids, v->n);
    esmc_buf_printf(&b, ", first seq %s, shard %s) of BatchSize %" PRId32
                    ", %" PRId64 " ms after its batching window opened at t=%"
                    PRId64 "ms (%s); MaximumBatchingWindowInSeconds %" PRId32
                    " asks it to wait until t=%" PRId64 "ms",
                    rseq(w, v->rids[0]), shard_name(w, v->shard),
                    v->cfg.batch_size, v->t_start - start, start,
                    from_prev ? "when the previous invocation completed"
                              : "when the mapping started reading the shard",
                    v->cfg.window_s, start + window_ms);
    report_buf(c, v->t_start, &b);
  }
  esmc_buf_free(&b);
  esmc_free(fc);
  shard_walk_free(&sw);
  shard_list_free(&sl);
}

/* The MaximumBatchingWindowInSeconds a record available from t0 and first
 * delivered at t1 is judged by: the one in force at t0, or a longer one set
 * by an update while the record was still within its allowance (it was read
 * under the old window, GEN-4). A window that is shortened keeps the longer
 * allowance; one lengthened after the allowance ran out does not excuse. */
static int32_t max_window(const struct esmc_check_ctx *c,
                          const struct cfg_timeline *tl, int64_t t0,
                          int64_t t1)
{
  int32_t best = tl->v[0].cfg.window_s;
  size_t k;
  for(k = 1; k < tl->n; k++) {
    int64_t t = hev(c, tl->v[k].ev)->t;
    if(t > t1)
      break;
    if(t <= t0)
      best = tl->v[k].cfg.window_s; /* In force at t0. */
    else if(t <= t0 + (int64_t)best * 1000 + 2000 &&
            tl->v[k].cfg.window_s > best)
      best = tl->v[k].cfg.window_s;
  }
  return best;
}

void esmc_check_batch_latency(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct cfg_timeline cfgs;
  struct run_timeline rt;
  struct esmc_buf b;
  int64_t *first_iter;
  uint32_t s, x;
  size_t i, *fc;

  memset(&rt, 0, sizeof(rt));
  memset(&cfgs, 0, sizeof(cfgs));
  first_iter = esmc_calloc((size_t)w->nshards + 1, sizeof(int64_t));
  fc = first_carry_build(c);
  if(!first_iter || !fc || cfg_timeline_build(c, &cfgs) ||
     run_timeline_build(c, &cfgs, &rt)) {
    esmc_free(fc);
    esmc_free(first_iter);
    ESMC_VEC_FREE(cfgs);
    ESMC_VEC_FREE(rt);
    return;
  }
  for(s = 0; s < w->nshards; s++)
    first_iter[s] = -1;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    if(e->kind == ESMC_H_GET_ITERATOR && e->status == ESMC_OK &&
       e->shard < w->nshards && first_iter[e->shard] < 0)
      first_iter[e->shard] = e->t;
  }
  esmc_buf_init(&b);
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    int64_t settled_max = -1;
    if(first_iter[s] < 0)
      continue;
    for(x = 0; x < sh->n; x++) {
      uint32_t rid = sh->rids[x];
      const struct esmc_arec *r = &an->rec[rid];
      const struct esmc_ainv *f;
      int64_t avail, allowed, delay;
      int32_t window;
      if(!r->in_scope)
        continue;
      /* Tumbling-window records may wait for a window's final invoke. */
      if(fc[rid] != ESMC_NONE && an->inv[fc[rid]].cfg.tumbling_window_s <= 0) {
        f = &an->inv[fc[rid]];
        avail = w->records[rid].at_ms;
        if(settled_max > avail)
          avail = settled_max;
        if(first_iter[s] > avail)
          avail = first_iter[s];
        window = max_window(c, &cfgs, avail, f->t_start);
        allowed = (int64_t)window * 1000 + 1000 + 1000;
        delay = f->t_start - avail;
        if(delay > allowed && !paused_during(&rt, avail, f->t_start) &&
           !esmc_fault_during(w, avail, f->t_start)) {
          esmc_buf_printf(&b, "%s (seq %s, shard %s) was available from t=%"
                          PRId64 "ms (appended at t=%" PRId64 "ms, shard "
                          "idle) but was first delivered by invocation #%zu "
                          "at t=%" PRId64 "ms, %" PRId64 " ms later; "
                          "MaximumBatchingWindowInSeconds %" PRId32 " plus a "
                          "1000 ms poll interval and 1000 ms slack allow %"
                          PRId64 " ms",
                          rname(w, rid), rseq(w, rid), sh->id, avail,
                          w->records[rid].at_ms, fc[rid] + 1,
                          f->t_start, delay, window, allowed);
          report_buf(c, f->t_start, &b);
        }
      }
      /* Later records are judged only while every earlier one settled. */
      if(r->settled_ev == ESMC_NONE || r->settled_ev >= w->hist.n)
        break;
      if(hev(c, r->settled_ev)->t > settled_max)
        settled_max = hev(c, r->settled_ev)->t;
    }
  }
  esmc_buf_free(&b);
  esmc_free(fc);
  esmc_free(first_iter);
  ESMC_VEC_FREE(cfgs);
  ESMC_VEC_FREE(rt);
}

/* 1 when the case uses filter criteria (records may never be delivered). */
static int case_filters(const struct esmc_scenario *sc)
{
  size_t i;
  if(sc->config.filter_count > 0)
    return 1;
  for(i = 0; i < sc->event_count; i++)
    if(sc->events[i].kind == ESMC_CASE_UPDATE &&
       sc->events[i].update.filter_count > 0)
      return 1;
  return 0;
}

void esmc_check_batch_fill(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct shard_walk sw;
  struct esmc_buf b;
  int filters = case_filters(w->sc);
  size_t i, *fc;

  fc = first_carry_build(c);
  if(!fc || shard_walk_init(c, &sw)) {
    esmc_free(fc);
    shard_walk_free(&sw);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    const struct esmc_hevent *g;
    const struct esmc_wshard *sh;
    int64_t bytes, avail_end;
    uint32_t x, extra = 0;
    shard_walk_to(c, &sw, v->ev);
    /* With tumbling windows, batches are cut at window boundaries. */
    if(v->shard >= w->nshards || v->cfg.parallelization_factor != 1 ||
       v->cfg.tumbling_window_s > 0 ||
       v->n >= (uint32_t)v->cfg.batch_size || !first_delivery(c, fc, i) ||
       sw.last_get[v->shard] == ESMC_NONE)
      continue;
    bytes = hev(c, v->ev)->a;
    if(bytes + bytes / v->n > ESMC_MAX_PAYLOAD)
      continue;
    g = hev(c, sw.last_get[v->shard]);
    sh = &w->shards[v->shard];
    avail_end = g->a + g->b;
    for(x = rec_idx(w, v->rids[v->n - 1]) + 1;
        x < sh->n && (int64_t)x < avail_end; x++) {
      const struct esmc_arec *r = &an->rec[sh->rids[x]];
      if(!r->in_scope || expired_at(w, &v->cfg, sh->rids[x], v->t_start))
        break;
      if(fc[sh->rids[x]] == ESMC_NONE ? filters : fc[sh->rids[x]] <= i)
        break;
      extra++;
    }
    if(extra == 0)
      continue;
    esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 "ms carried %" PRIu32
                    " record%s (", i + 1, v->t_start, v->n,
                    v->n == 1 ? "" : "s");
    put_rids(&b, w, v->rids, v->n);
    esmc_buf_printf(&b, ", shard %s) though %" PRIu32 " were available "
                    "(through %s, read by GetRecords at t=%" PRId64 "ms) and "
                    "BatchSize is %" PRId32, shard_name(w, v->shard),
                    v->n + extra,
                    rname(w, sh->rids[rec_idx(w, v->rids[v->n - 1]) + extra]),
                    g->t, v->cfg.batch_size);
    report_buf(c, v->t_start, &b);
  }
  esmc_buf_free(&b);
  esmc_free(fc);
  shard_walk_free(&sw);
}

/*
 * check_live.c: liveness (LIVE-1, FAULT-9). While a record is the oldest
 * unfinished record of its shard (of its partition key when
 * ParallelizationFactor > 1) and the mapping is enabled, the mapper must
 * keep working on it: an invocation that carries it, or a failure record
 * that covers it, at least every LIVE_LIMIT_MS of enabled time (plus the
 * batching window), until it is done, trims out of the stream, or the run
 * ends. A mapper that silently stops retrying, forgets a shard, or never
 * polls again is stuck.
 *
 * Injected faults (spec/faults.md section 2, FAULT-9): time during which a
 * blocking fault is active for the judged mapping does not count. A fault
 * blocks when it fails every call (every == 1) of a kind the mapping needs
 * to make progress: GetShardIterator or GetRecords on a stream,
 * ReceiveMessage on a queue; ListShards (GetQueueAttributes) only while the
 * mapping's current incarnation has not listed the shards (learned the
 * queue's attributes) yet, or at any time on a stream that reshards. A
 * fault of send_to_destination (or the destination being down) blocks a
 * record only while the mapping has a failure record for it to send: when
 * a send covering it failed within the fault. A fault that never heals never
 * makes the mapper late; once it heals, the clock runs again. On a queue,
 * after a blocking fault heals, the mapping must call ReceiveMessage again
 * within LIVE_LIMIT_MS of enabled time with nothing in flight while a
 * message is still unfinished.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define LIVE_LIMIT_MS INT64_C(300000)

/* The spans in which the mapping was live and enabled. */
struct spans {
  int64_t *t;   /* alternating start, end */
  size_t n, cap;
};

static int spans_add(struct spans *s, int64_t t)
{
  if(s->n == s->cap && esmc__vec_grow((void **)&s->t, &s->cap, sizeof(*s->t)))
    return -1;
  s->t[s->n++] = t;
  return 0;
}

static int build_spans(const struct esmc_world *w, struct spans *s)
{
  struct esmc_effective_config cfg;
  size_t i;
  int live = 0, on = 0, enabled;
  esmc_effective_config_init(&cfg, w->sc);
  enabled = cfg.enabled != 0;
  memset(s, 0, sizeof(*s));
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    if(e->kind == ESMC_H_CREATE && e->status == 0)
      live = 1;
    else if(e->kind == ESMC_H_DESTROY)
      live = 0;
    else if(e->kind == ESMC_H_UPDATE && e->status == 0 && e->a >= 0 &&
            (size_t)e->a < w->sc->event_count &&
            w->sc->events[e->a].update.enabled != ESMC_UNSET)
      enabled = w->sc->events[e->a].update.enabled != 0;
    if((live && enabled) != on) {
      on = !on;
      if(spans_add(s, e->t))
        return -1;
    }
  }
  if(on && w->hist.n && spans_add(s, w->hist.ev[w->hist.n - 1].t))
    return -1;
  return 0;
}

/* Enabled time within [a, b]. */
static int64_t active_between(const struct spans *s, int64_t a, int64_t b)
{
  size_t k;
  int64_t sum = 0;
  for(k = 0; k + 1 < s->n; k += 2) {
    int64_t lo = s->t[k] > a ? s->t[k] : a;
    int64_t hi = s->t[k + 1] < b ? s->t[k + 1] : b;
    if(hi > lo)
      sum += hi - lo;
  }
  return sum;
}

/* Time [from, to) taken out of the spans: out = in minus [from, to). */
static int spans_minus(const struct spans *in, int64_t from, int64_t to,
                       struct spans *out)
{
  size_t k;
  memset(out, 0, sizeof(*out));
  for(k = 0; k + 1 < in->n; k += 2) {
    int64_t lo = in->t[k], hi = in->t[k + 1];
    if(hi <= from || lo >= to) {
      if(spans_add(out, lo) || spans_add(out, hi))
        return -1;
      continue;
    }
    if(lo < from && (spans_add(out, lo) || spans_add(out, from)))
      return -1;
    if(hi > to && (spans_add(out, to) || spans_add(out, hi)))
      return -1;
  }
  return 0;
}

/* out = a copy of in; on failure out is empty. */
static int spans_copy(const struct spans *in, struct spans *out)
{
  memset(out, 0, sizeof(*out));
  if(in->n == 0)
    return 0;
  out->t = esmc_malloc(in->n * sizeof(*out->t));
  if(!out->t)
    return -1;
  memcpy(out->t, in->t, in->n * sizeof(*out->t));
  out->n = out->cap = in->n;
  return 0;
}

/* Replace *s by *s minus [from, to). */
static int spans_cut(struct spans *s, int64_t from, int64_t to)
{
  struct spans o;
  if(from >= to)
    return 0;
  if(spans_minus(s, from, to, &o)) {
    esmc_free(o.t);
    return -1;
  }
  esmc_free(s->t);
  *s = o;
  return 0;
}

/* A blocking fault window of the judged mapping: [from, to), to = INT64_MAX
 * when it never heals. dest: a send_to_destination fault (or the destination
 * down), which blocks only records with a failure record to send. */
struct fwin {
  int64_t from, to;
  uint32_t calls;   /* 1u << enum esmc_fault_call */
  int32_t error;
  int dest;
};

struct fwins {
  struct fwin *v;
  size_t n, cap;
};

static int fwins_add(struct fwins *f, int64_t from, int64_t to,
                     uint32_t calls, int32_t error, int dest)
{
  struct fwin x;
  x.from = from;
  x.to = to;
  x.calls = calls;
  x.error = error;
  x.dest = dest;
  return ESMC_VEC_PUSH(*f, x);
}

#define FC_BIT(c) (1u << (c))

/* 1 when the scenario reshards: a mapping must list shards again to find
 * the children of a closed one. */
static int reshards(const struct esmc_scenario *sc)
{
  size_t i;
  for(i = 0; i < sc->event_count; i++)
    if(sc->events[i].kind == ESMC_CASE_SPLIT ||
       sc->events[i].kind == ESMC_CASE_MERGE ||
       sc->events[i].kind == ESMC_CASE_ROLLOVER)
      return 1;
  return 0;
}

/* A fault on the setup call only (list_shards, get_queue_attributes)
 * blocks while the mapping's current incarnation has not made that call
 * successfully: from `from` if it had not by then, else from the first
 * create() inside the window (a restart must set up again), until the
 * fault heals. Returns that start, or INT64_MAX when it never blocks. */
static int64_t setup_block_start(const struct esmc_world *w, uint32_t kind,
                                 int64_t from, int64_t to)
{
  size_t i;
  int done = 0;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    if(e->t >= from) {
      if(!done)
        return from;
      if(e->t >= to)
        break;
    }
    if(e->kind == ESMC_H_CREATE && e->status == ESMC_OK) {
      if(e->t >= from)
        return e->t;
      done = 0;
    } else if(e->kind == kind && e->status == ESMC_OK) {
      done = 1;
    }
  }
  return done ? INT64_MAX : from;
}

static int build_windows(const struct esmc_world *w, int queue,
                         struct fwins *f)
{
  const struct esmc_scenario *sc = w->sc;
  uint32_t core = queue ? FC_BIT(ESMC_FC_RECEIVE_MESSAGES)
                        : FC_BIT(ESMC_FC_GET_SHARD_ITERATOR) |
                              FC_BIT(ESMC_FC_GET_RECORDS);
  uint32_t setup = queue ? FC_BIT(ESMC_FC_GET_QUEUE_ATTRIBUTES)
                         : FC_BIT(ESMC_FC_LIST_SHARDS);
  uint32_t send = FC_BIT(ESMC_FC_SEND_TO_DESTINATION);
  int64_t down_from = -1;
  int resharding;
  size_t i;
  memset(f, 0, sizeof(*f));
  if(!sc)
    return 0;
  resharding = !queue && reshards(sc);
  for(i = 0; i < sc->event_count; i++) {
    const struct esmc_case_event *ce = &sc->events[i];
    const struct esmc_fault_spec *fs = &ce->fault;
    if(ce->kind == ESMC_CASE_DESTINATION_DOWN) {
      if(down_from < 0)
        down_from = ce->at_ms;
      continue;
    }
    if(ce->kind == ESMC_CASE_DESTINATION_UP) {
      if(down_from >= 0 &&
         fwins_add(f, down_from, ce->at_ms, send, ESMC_E_SERVICE, 1))
        return -1;
      down_from = -1;
      continue;
    }
    if(ce->kind != ESMC_CASE_FAULT || fs->every > 1 ||
       (fs->mapping >= 0 && (uint32_t)fs->mapping != sc->view_of))
      continue;
    if(fs->calls & core) {
      if(fwins_add(f, ce->at_ms, fs->until_ms, fs->calls & (core | setup),
                   fs->error, 0))
        return -1;
    } else if(fs->calls & setup) {
      int64_t from = resharding ? ce->at_ms
                     : setup_block_start(w, queue ? ESMC_H_QUEUE_ATTRIBUTES
                                                  : ESMC_H_LIST_SHARDS,
                                         ce->at_ms, fs->until_ms);
      if(from < fs->until_ms &&
         fwins_add(f, from, fs->until_ms, setup, fs->error, 0))
        return -1;
    } else if(!queue && (fs->calls & send)) {
      if(fwins_add(f, ce->at_ms, fs->until_ms, send, fs->error, 1))
        return -1;
    }
  }
  if(down_from >= 0 && fwins_add(f, down_from, INT64_MAX, send,
                                 ESMC_E_SERVICE, 1))
    return -1;
  return 0;
}

/* "get_records" or "list_shards, get_records" into b. */
static void put_calls(struct esmc_buf *b, uint32_t calls)
{
  unsigned k;
  int first = 1;
  for(k = 0; k < ESMC_FC_COUNT; k++) {
    if(!(calls & FC_BIT(k)))
      continue;
    esmc_buf_printf(b, "%s%s", first ? "" : ", ", esmc_fault_call_name(k));
    first = 0;
  }
}


/* "the fault on get_records (ESMC_E_THROTTLED)" into b. */
static void put_fault(struct esmc_buf *b, const struct fwin *f)
{
  esmc_buf_puts(b, "the fault on ");
  put_calls(b, f->calls);
  esmc_buf_printf(b, " (%s)", esmc_status_name(f->error));
}

/* 1 when a send covering rid failed within dest window f. */
static int failed_send_in(const struct esmc_world *w,
                          const struct esmc_analysis *an, uint32_t rid,
                          const struct fwin *f)
{
  const struct esmc_wrecord *wr = &w->records[rid];
  size_t k;
  for(k = 0; k < an->ndest; k++) {
    const struct esmc_adest *d = &an->dest[k];
    const struct esmc_hevent *e = &w->hist.ev[d->ev];
    if(e->status < 0 && d->range_known && d->shard == wr->shard &&
       wr->index >= d->first_index && wr->index <= d->last_index &&
       e->t >= f->from && e->t < f->to)
      return 1;
  }
  return 0;
}

/* When rid was done (its settling event), or INT64_MAX. */
static int64_t settled_t(const struct esmc_world *w,
                         const struct esmc_analysis *an, uint32_t rid)
{
  size_t ev = an->rec[rid].settled_ev;
  return ev == ESMC_NONE ? INT64_MAX : w->hist.ev[ev].t;
}

/* "it holds records r7..r12 (6 records)": the unfinished records of rid's
 * shard (of its key when pf > 1) from rid on, appended by t. */
static void put_held(struct esmc_buf *b, const struct esmc_world *w,
                     const struct esmc_analysis *an, uint32_t rid, int64_t t,
                     int pf)
{
  const struct esmc_wrecord *r = &w->records[rid];
  const struct esmc_wshard *sh = &w->shards[r->shard];
  uint32_t k, last = rid, n = 0;
  for(k = r->index; k < sh->n; k++) {
    uint32_t q = sh->rids[k];
    const struct esmc_wrecord *x = &w->records[q];
    if(x->at_ms > t)
      break;
    if(!an->rec[q].in_scope || settled_t(w, an, q) <= t || x->trim_ms <= t)
      continue;
    if(pf > 1 && strcmp(x->pub.partition_key, r->pub.partition_key) != 0)
      continue;
    last = q;
    n++;
  }
  if(n <= 1)
    esmc_buf_printf(b, "it holds record %s", esmc_world_record_name(w, rid));
  else
    esmc_buf_printf(b, "it holds records %s..%s (%" PRIu32 " records)",
                    esmc_world_record_name(w, rid),
                    esmc_world_record_name(w, last), n);
}

/* Per record, the times of the invocations and failure records touching it
 * (compressed rows: times[first[rid] .. first[rid + 1])). */
struct touches {
  size_t *first;
  int64_t *times;
};

static int build_touches(const struct esmc_analysis *an,
                         const struct esmc_world *w, struct touches *t)
{
  size_t k, total = 0, *fill = NULL;
  uint32_t j, rid;
  memset(t, 0, sizeof(*t));
  t->first = esmc_calloc((size_t)w->nrecords + 1, sizeof(*t->first));
  fill = esmc_calloc((size_t)w->nrecords + 1, sizeof(*fill));
  if(!t->first || !fill)
    goto oom;
  for(k = 0; k < an->ninv; k++)
    for(j = 0; j < an->inv[k].n; j++)
      t->first[an->inv[k].rids[j] + 1]++;
  for(k = 0; k < an->ndest; k++) {
    const struct esmc_adest *d = &an->dest[k];
    if(d->range_known && d->shard < w->nshards)
      for(j = d->first_index; j <= d->last_index && j < w->shards[d->shard].n; j++)
        t->first[w->shards[d->shard].rids[j] + 1]++;
  }
  for(rid = 0; rid < w->nrecords; rid++)
    t->first[rid + 1] += t->first[rid];
  total = t->first[w->nrecords];
  t->times = esmc_calloc(total ? total : 1, sizeof(*t->times));
  if(!t->times)
    goto oom;
  memcpy(fill, t->first, ((size_t)w->nrecords + 1) * sizeof(*fill));
  for(k = 0; k < an->ninv; k++)
    for(j = 0; j < an->inv[k].n; j++)
      t->times[fill[an->inv[k].rids[j]]++] = an->inv[k].t_start;
  for(k = 0; k < an->ndest; k++) {
    const struct esmc_adest *d = &an->dest[k];
    if(d->range_known && d->shard < w->nshards)
      for(j = d->first_index; j <= d->last_index && j < w->shards[d->shard].n; j++)
        t->times[fill[w->shards[d->shard].rids[j]]++] = w->hist.ev[d->ev].t;
  }
  esmc_free(fill);
  return 0;
oom:
  esmc_free(fill);
  esmc_free(t->first);
  memset(t, 0, sizeof(*t));
  return -1;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The predecessor of rid in its order key: the previous record of the shard,
 * or of the same partition key when pf > 1. UINT32_MAX when none. */
static uint32_t predecessor(const struct esmc_world *w, uint32_t rid, int pf)
{
  const struct esmc_wrecord *r = &w->records[rid];
  const struct esmc_wshard *sh = &w->shards[r->shard];
  uint32_t i = r->index;
  while(i-- > 0) {
    uint32_t p = sh->rids[i];
    if(pf <= 1 ||
       strcmp(w->records[p].pub.partition_key, r->pub.partition_key) == 0)
      return p;
  }
  return UINT32_MAX;
}

static void out_of_memory(struct esmc_check_ctx *c)
{
  esmc_report(c, -1, "esmcheck ran out of memory while checking this "
              "property");
}

/* The window of fw (those of dest windows only when applies[k]) that healed
 * last within [from, to], or NULL. */
static const struct fwin *healed_within(const struct fwins *fw,
                                        const uint8_t *applies, int64_t from,
                                        int64_t to)
{
  const struct fwin *best = NULL;
  size_t k;
  for(k = 0; k < fw->n; k++) {
    const struct fwin *f = &fw->v[k];
    if(f->dest && !(applies && applies[k]))
      continue;
    if(f->to == INT64_MAX || f->to < from || f->to > to)
      continue;
    if(!best || f->to > best->to)
      best = f;
  }
  return best;
}

/* Report that rid waited from prev to t with no attempt (see the top). */
static void report_stuck(struct esmc_check_ctx *c, const struct spans *sp,
                         const struct fwins *fw, const uint8_t *applies,
                         uint32_t rid, int64_t start, int64_t prev, int64_t t,
                         int64_t limit, int pf)
{
  const struct esmc_world *w = c->w;
  const struct fwin *f = healed_within(fw, applies, prev, t);
  struct esmc_buf d, m;
  esmc_buf_init(&d);
  esmc_buf_init(&m);
  esmc_describe_record(w, rid, &d);
  if(!f) {
    esmc_report(c, prev,
                "%s was the oldest unfinished record of its %s from "
                "t=%" PRId64 " ms, but nothing was invoked or reported "
                "for it between t=%" PRId64 " ms and t=%" PRId64 " ms "
                "(%" PRId64 " s of enabled time; the limit is %" PRId64
                " s): the mapper stopped working on the shard",
                d.data ? d.data : "a record",
                pf > 1 ? "partition key" : "shard", start, prev, t,
                active_between(sp, prev, t) / 1000, limit / 1000);
  } else {
    put_fault(&m, f);
    esmc_buf_printf(&m, " healed at t=%" PRId64 " ms it made no attempt on ",
                    f->to);
    esmc_buf_printf(&m, "%s, the oldest unfinished record of its %s, for %"
                    PRId64 " ms (until t=%" PRId64 " ms; since t=%" PRId64
                    " ms that is %" PRId64 " s of enabled time outside "
                    "faults, and the limit is %" PRId64 " s); ",
                    d.data ? d.data : "a record",
                    pf > 1 ? "partition key" : "shard", t - f->to, t, prev,
                    active_between(sp, prev, t) / 1000, limit / 1000);
    put_held(&m, w, c->an, rid, t, pf);
    esmc_report(c, f->to, "the mapper is stuck: after %s (FAULT-9)",
                m.oom || !m.data ? "a fault" : m.data);
  }
  esmc_buf_free(&d);
  esmc_buf_free(&m);
}

/* Streams: each record while it is the oldest unfinished one. */
static void stream_liveness(struct esmc_check_ctx *c, const struct spans *base,
                            const struct fwins *fw, const struct touches *tc,
                            int64_t limit, int pf)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  uint8_t *applies = NULL;
  size_t ndest = 0, k;
  uint32_t rid;

  for(k = 0; k < fw->n; k++)
    ndest += fw->v[k].dest != 0;
  if(ndest && !(applies = esmc_calloc(fw->n, 1))) {
    out_of_memory(c);
    return;
  }
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    const struct esmc_wrecord *wr = &w->records[rid];
    const struct spans *sp = base;
    struct spans own;
    uint32_t p;
    int64_t start = wr->at_ms, end, prev;
    size_t a = tc->first[rid], b = tc->first[rid + 1];
    int fired = 0, oom = 0;
    if(!r->in_scope)
      continue;
    p = predecessor(w, rid, pf);
    if(p != UINT32_MAX && an->rec[p].in_scope) {
      if(an->rec[p].settled_ev == ESMC_NONE)
        continue; /* never the oldest unfinished record */
      if(w->hist.ev[an->rec[p].settled_ev].t > start)
        start = w->hist.ev[an->rec[p].settled_ev].t;
    }
    end = r->settled_ev != ESMC_NONE ? w->hist.ev[r->settled_ev].t : an->end_t;
    if(wr->trim_ms < end)
      end = wr->trim_ms; /* trimmed out of the stream */
    if(end <= start)
      continue;
    /* Destination faults block it only while it has a record to send. */
    memset(&own, 0, sizeof(own));
    if(ndest) {
      int cut = 0;
      for(k = 0; k < fw->n; k++) {
        applies[k] = fw->v[k].dest && failed_send_in(w, an, rid, &fw->v[k]);
        cut |= applies[k];
      }
      if(cut) {
        if(spans_copy(base, &own)) {
          out_of_memory(c);
          break;
        }
        for(k = 0; k < fw->n && !oom; k++)
          oom = applies[k] && spans_cut(&own, fw->v[k].from, fw->v[k].to);
        if(oom) {
          esmc_free(own.t);
          out_of_memory(c);
          break;
        }
        sp = &own;
      }
    }
    qsort(tc->times + a, b - a, sizeof(int64_t), cmp_i64);
    prev = start;
    for(k = a; k <= b && !fired; k++) {
      int64_t t = k < b ? tc->times[k] : end;
      if(t < prev)
        continue;
      if(t > end)
        t = end;
      if(active_between(sp, prev, t) > limit) {
        report_stuck(c, sp, fw, applies, rid, start, prev, t, limit, pf);
        fired = 1;
      }
      prev = t;
      if(t >= end)
        break;
    }
    esmc_free(own.t);
  }
  esmc_free(applies);
}

/* Queues: after each blocking fault heals, a receive within the limit of
 * enabled time with nothing of the mapping in flight, while a message is
 * unfinished. A message the view shows unfinished but the world ends with
 * deleted was deleted by another mapping at an unknown time: it is not
 * counted. */
static void queue_liveness(struct esmc_check_ctx *c, const struct spans *base,
                           const struct fwins *fw, int64_t limit)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct spans sp;
  size_t k, i;

  if(spans_copy(base, &sp)) {
    out_of_memory(c);
    return;
  }
  for(k = 0; k < an->ninv; k++)
    if(spans_cut(&sp, an->inv[k].t_start,
                 an->inv[k].t_end >= 0 ? an->inv[k].t_end : INT64_MAX)) {
      esmc_free(sp.t);
      out_of_memory(c);
      return;
    }
  for(k = 0; k < fw->n; k++) {
    const struct fwin *f = &fw->v[k];
    int64_t h = f->to, next = an->end_t;
    uint32_t rid, waiting = 0, first = UINT32_MAX;
    struct esmc_buf m;
    if(f->dest || h == INT64_MAX || h >= an->end_t)
      continue;
    for(i = 0; i < w->hist.n; i++) {
      const struct esmc_hevent *e = &w->hist.ev[i];
      if(e->kind == ESMC_H_RECEIVE && e->t >= h) {
        next = e->t;
        break;
      }
    }
    if(active_between(&sp, h, next) <= limit)
      continue;
    for(rid = 0; rid < w->nrecords; rid++) {
      const struct esmc_arec *r = &an->rec[rid];
      if(!r->in_scope || w->records[rid].at_ms > h ||
         settled_t(w, an, rid) <= next ||
         esmc_world_message_state(w, rid, NULL) == ESMC_MSG_DELETED)
        continue;
      if(first == UINT32_MAX)
        first = rid;
      waiting++;
    }
    if(!waiting)
      continue;
    esmc_buf_init(&m);
    put_fault(&m, f);
    esmc_buf_printf(&m, " healed at t=%" PRId64 " ms it made no "
                    "receive_messages call for %" PRId64 " ms (until t=%"
                    PRId64 " ms; %" PRId64 " s of enabled time with nothing "
                    "in flight, and the limit is %" PRId64 " s) while %s "
                    "(MessageId %s)", h, next - h, next,
                    active_between(&sp, h, next) / 1000, limit / 1000,
                    esmc_world_record_name(w, first),
                    esmc_sqs_message_id(w, first));
    if(waiting > 1)
      esmc_buf_printf(&m, " and %" PRIu32 " more message%s", waiting - 1,
                      waiting > 2 ? "s" : "");
    esmc_buf_puts(&m, waiting > 1 ? " were still unfinished"
                                  : " was still unfinished");
    esmc_report(c, h, "the mapper is stuck: after %s (FAULT-9)",
                m.oom || !m.data ? "a fault" : m.data);
    esmc_buf_free(&m);
  }
  esmc_free(sp.t);
}

void esmc_check_liveness(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_effective_config cfg;
  struct spans sp;
  struct touches tc;
  struct fwins fw;
  int64_t limit;
  size_t k;

  esmc_effective_config_init(&cfg, w->sc);
  limit = LIVE_LIMIT_MS + (int64_t)cfg.window_s * 1000;
  memset(&tc, 0, sizeof(tc));
  memset(&sp, 0, sizeof(sp));
  memset(&fw, 0, sizeof(fw));
  if(build_spans(w, &sp) || build_windows(w, an->queue, &fw))
    goto oom;
  /* Blocking read faults take their time out for every record. */
  for(k = 0; k < fw.n; k++)
    if(!fw.v[k].dest && spans_cut(&sp, fw.v[k].from, fw.v[k].to))
      goto oom;
  if(an->queue) {
    queue_liveness(c, &sp, &fw, limit);
  } else {
    if(build_touches(an, w, &tc))
      goto oom;
    stream_liveness(c, &sp, &fw, &tc, limit, cfg.parallelization_factor);
  }
  goto out;
oom:
  out_of_memory(c);
out:
  esmc_free(sp.t);
  esmc_free(fw.v);
  esmc_free(tc.first);
  esmc_free(tc.times);
}

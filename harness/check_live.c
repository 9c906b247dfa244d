/*
 * check_live.c: liveness (LIVE-1). While a record is the oldest unfinished
 * record of its shard (of its partition key when ParallelizationFactor > 1)
 * and the mapping is enabled, the mapper must keep working on it: an
 * invocation that carries it, or a failure record that covers it, at least
 * every LIVE_LIMIT_MS of enabled time (plus the batching window), until it is
 * done, trims out of the stream, or the run ends. A mapper that silently
 * stops retrying, forgets a shard, or never polls again is stuck.
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

void esmc_check_liveness(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_effective_config cfg;
  struct spans sp;
  struct touches tc;
  uint32_t rid;
  int64_t limit;

  esmc_effective_config_init(&cfg, w->sc);
  limit = LIVE_LIMIT_MS + (int64_t)cfg.window_s * 1000;
  if(build_spans(w, &sp) || build_touches(an, w, &tc)) {
    esmc_free(sp.t);
    esmc_report(c, -1, "esmcheck ran out of memory while checking this "
                "property");
    return;
  }
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    const struct esmc_wrecord *wr = &w->records[rid];
    uint32_t p;
    int64_t start = wr->at_ms, end, prev;
    size_t k, a = tc.first[rid], b = tc.first[rid + 1];
    if(!r->in_scope)
      continue;
    p = predecessor(w, rid, cfg.parallelization_factor);
    if(p != UINT32_MAX && an->rec[p].in_scope) {
      if(an->rec[p].settled_ev == ESMC_NONE)
        continue; /* never the oldest unfinished record */
      if(w->hist.ev[an->rec[p].settled_ev].t > start)
        start = w->hist.ev[an->rec[p].settled_ev].t;
    }
    end = r->settled_ev != ESMC_NONE ? w->hist.ev[r->settled_ev].t : an->end_t;
    if(wr->at_ms + w->sc->retention_ms < end)
      end = wr->at_ms + w->sc->retention_ms; /* trimmed out of the stream */
    if(end <= start)
      continue;
    qsort(tc.times + a, b - a, sizeof(int64_t), cmp_i64);
    prev = start;
    for(k = a; k <= b; k++) {
      int64_t t = k < b ? tc.times[k] : end;
      if(t < prev)
        continue;
      if(t > end)
        t = end;
      if(active_between(&sp, prev, t) > limit) {
        struct esmc_buf d;
        esmc_buf_init(&d);
        esmc_describe_record(w, rid, &d);
        esmc_report(c, prev,
                    "%s was the oldest unfinished record of its %s from "
                    "t=%" PRId64 " ms, but nothing was invoked or reported "
                    "for it between t=%" PRId64 " ms and t=%" PRId64 " ms "
                    "(%" PRId64 " s of enabled time; the limit is %" PRId64
                    " s): the mapper stopped working on the shard",
                    d.data ? d.data : "a record",
                    cfg.parallelization_factor > 1 ? "partition key" : "shard",
                    start, prev, t, active_between(&sp, prev, t) / 1000,
                    limit / 1000);
        esmc_buf_free(&d);
        break;
      }
      prev = t;
      if(t >= end)
        break;
    }
  }
  esmc_free(sp.t);
  esmc_free(tc.first);
  esmc_free(tc.times);
}

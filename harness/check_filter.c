/*
 * check_filter.c: the `filter` property (FILTER-1..8, FILTER-11). The
 * harness's own matcher (filter.c) says which records the filters in force
 * drop; this checker then asks two things of the history:
 *   - no dropped record ever reaches the function (FILTER-5);
 *   - every dropped record is eventually checkpointed past, so a shard whose
 *     earlier records are all done never waits on one (FILTER-7).
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#include "filter.h"

/* The slack, beyond the batching window, a mapper gets at the end of a run
 * cut short before a dropped record must be checkpointed: two Kinesis poll
 * intervals. */
#define FILTER_SLACK_MS 2000

/* 1 when the mapping is disabled at the end of the run. */
static int disabled_at_end(const struct esmc_world *w)
{
  const struct esmc_scenario *sc = w->sc;
  int enabled = sc->config.enabled != 0;
  size_t i;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    if(e->kind == ESMC_H_UPDATE && e->status == 0 && e->a >= 0 &&
       (size_t)e->a < sc->event_count &&
       sc->events[e->a].kind == ESMC_CASE_UPDATE &&
       sc->events[e->a].update.enabled != ESMC_UNSET)
      enabled = sc->events[e->a].update.enabled != 0;
  }
  return !enabled;
}

static int cut_short(const struct esmc_check_ctx *c)
{
  size_t i = c->w->hist.n;
  if(c->outcome && c->outcome->end != ESMC_END_QUIESCENT)
    return 1;
  while(i > 0) {
    i--;
    if(c->w->hist.ev[i].kind == ESMC_H_END)
      return c->w->hist.ev[i].a != 0;
  }
  return 0;
}

static void check_deliveries(struct esmc_check_ctx *c,
                             const struct esmc_filter_rec *fv)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_buf b;
  size_t k;
  uint32_t j;

  esmc_buf_init(&b);
  for(k = 0; k < an->ninv; k++) {
    const struct esmc_ainv *iv = &an->inv[k];
    for(j = 0; j < iv->n; j++) {
      uint32_t rid = iv->rids[j];
      if(rid >= w->nrecords || !esmc_filter_dropped(&fv[rid]))
        continue;
      esmc_buf_reset(&b);
      esmc_describe_record(w, rid, &b);
      esmc_report(c, iv->t_start, "%s matches none of the filters in force "
                  "when it was read, but it was delivered in invocation #%zu "
                  "at t=%" PRId64 " ms", b.oom || !b.data ? "a record" : b.data,
                  k + 1, iv->t_start);
    }
  }
  esmc_buf_free(&b);
}

/* A dropped record that is never checkpointed past, although every earlier
 * record of its shard is done, holds the shard back. */
static void check_stuck(struct esmc_check_ctx *c,
                        const struct esmc_filter_rec *fv)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_effective_config cfg;
  int cut = cut_short(c);
  struct esmc_buf b;
  uint32_t s, k;

  if(disabled_at_end(w))
    return;
  esmc_effective_config_init(&cfg, w->sc);
  esmc_buf_init(&b);
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    for(k = 0; k < sh->n; k++) {
      uint32_t rid = sh->rids[k];
      const struct esmc_arec *r = &an->rec[rid];
      int64_t since;
      if(!r->in_scope)
        continue;
      if(r->fate != ESMC_FATE_PENDING && r->fate != ESMC_FATE_TRIMMED)
        continue;
      /* The first record of the shard not done (a dropped record that aged
       * out of the stream unpassed held its shard back all along). */
      if(!esmc_filter_dropped(&fv[rid]))
        break;
      since = fv[rid].first_read_ev != SIZE_MAX
                  ? w->hist.ev[fv[rid].first_read_ev].t
                  : w->records[rid].at_ms;
      if(cut && r->fate == ESMC_FATE_PENDING &&
         an->end_t - since <= FILTER_SLACK_MS + (int64_t)cfg.window_s * 1000)
        break;
      esmc_buf_reset(&b);
      esmc_describe_record(w, rid, &b);
      esmc_report(c, -1, "%s matches none of the filters and every earlier "
                  "record of its shard is done, but no checkpoint ever "
                  "passed it (%s at t=%" PRId64 " ms): the shard is held "
                  "back by a filtered-out record",
                  b.oom || !b.data ? "a record" : b.data,
                  fv[rid].first_read_ev != SIZE_MAX ? "first read"
                                                    : "appended", since);
      break;
    }
  }
  esmc_buf_free(&b);
}

void esmc_check_filter(struct esmc_check_ctx *c)
{
  int any = 0;
  struct esmc_filter_rec *fv = esmc_filter_verdicts(c->w, &any);
  if(!fv) {
    esmc_report(c, -1, "esmcheck ran out of memory while checking this "
                "property");
    return;
  }
  if(any) {
    check_deliveries(c, fv);
    check_stuck(c, fv);
  }
  esmc_free(fv);
}

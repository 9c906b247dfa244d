/*
 * check_core.c: the core property checkers: configuration validation, event
 * shape, no loss, at least once, starting position, per-shard order and
 * concurrency, checkpoints and the Enabled flag. Each reads the analysis
 * (check.h) and the history, in time order, and reports its first violation
 * in plain words.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "filter.h"
#include "tw.h"

/* ------------------------------------------------------------------------ */
/* Shared helpers.                                                           */

/* 1 when the current property already has its message, so later
 * violations need no costly explanation. */
static int reported(const struct esmc_check_ctx *c)
{
  const struct esmc_violations *o = c->out;
  return o->n > 0 && o->v[o->n - 1].property == c->current;
}

/* A checker that cannot allocate says so rather than passing silently. */
static void out_of_memory(struct esmc_check_ctx *c)
{
  esmc_report(c, -1, "esmcheck ran out of memory while checking this "
              "property");
}

static const struct esmc_hevent *ev_at(const struct esmc_check_ctx *c,
                                       size_t i)
{
  return &c->w->hist.ev[i];
}

static const char *shard_name(const struct esmc_world *w, uint32_t s)
{
  return s < w->nshards ? w->shards[s].id : "an unknown shard";
}

/* A record description in a small ring of buffers, so one message can name
 * several records. Call free_descs() before returning. */
struct descs {
  struct esmc_buf b[4];
  int next;
};

static void descs_init(struct descs *d)
{
  int i;
  for(i = 0; i < 4; i++)
    esmc_buf_init(&d->b[i]);
  d->next = 0;
}

static void descs_free(struct descs *d)
{
  int i;
  for(i = 0; i < 4; i++)
    esmc_buf_free(&d->b[i]);
}

static const char *desc(struct descs *d, const struct esmc_world *w,
                        uint32_t rid)
{
  struct esmc_buf *b = &d->b[d->next];
  d->next = (d->next + 1) % 4;
  esmc_buf_reset(b);
  esmc_describe_record(w, rid, b);
  return b->oom || !b->data ? "a record" : b->data;
}

/* The effective configuration over time: snapshot k is in force for events
 * after ev[k] (snapshot 0, the initial configuration, from the start). */
struct cfgline {
  size_t *ev;
  struct esmc_effective_config *cfg;
  size_t n;
};

static int cfgline_build(const struct esmc_world *w, struct cfgline *l)
{
  const struct esmc_scenario *sc = w->sc;
  size_t i, n = 1;
  memset(l, 0, sizeof(*l));
  for(i = 0; i < w->hist.n; i++)
    if(w->hist.ev[i].kind == ESMC_H_UPDATE)
      n++;
  l->ev = esmc_calloc(n, sizeof(*l->ev));
  l->cfg = esmc_calloc(n, sizeof(*l->cfg));
  if(!l->ev || !l->cfg) {
    esmc_free(l->ev);
    esmc_free(l->cfg);
    memset(l, 0, sizeof(*l));
    return -1;
  }
  esmc_effective_config_init(&l->cfg[0], sc);
  l->ev[0] = 0;
  l->n = 1;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    if(e->kind != ESMC_H_UPDATE || e->status != 0 || e->a < 0 ||
       (size_t)e->a >= sc->event_count ||
       sc->events[e->a].kind != ESMC_CASE_UPDATE)
      continue;
    l->cfg[l->n] = l->cfg[l->n - 1];
    esmc_effective_config_update(&l->cfg[l->n], &sc->events[e->a].update);
    l->ev[l->n] = i;
    l->n++;
  }
  return 0;
}

static void cfgline_free(struct cfgline *l)
{
  esmc_free(l->ev);
  esmc_free(l->cfg);
  memset(l, 0, sizeof(*l));
}

/* The configuration in force at event ev (updates at ev not included). */
static const struct esmc_effective_config *cfg_at(const struct cfgline *l,
                                                  size_t ev)
{
  size_t lo = 1, hi = l->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(l->ev[mid] < ev)
      lo = mid + 1;
    else
      hi = mid;
  }
  return &l->cfg[lo - 1];
}

static int has_destination(const struct esmc_effective_config *cfg)
{
  return cfg->on_failure_destination && cfg->on_failure_destination[0];
}

/* The filters' verdicts on each record (filter.h), or NULL when no filter
 * was ever in force. *oom is set when they could not be computed. */
static struct esmc_filter_rec *filter_verdicts(const struct esmc_world *w,
                                               int *oom)
{
  int any = 0;
  struct esmc_filter_rec *fv = esmc_filter_verdicts(w, &any);
  *oom = fv == NULL;
  if(fv && !any) {
    esmc_free(fv);
    fv = NULL;
  }
  return fv;
}

/* 1 when the filters in force when rid was read dropped it and it never
 * reached the function: it is "filtered", done once checkpointed past
 * (FILTER-5, FILTER-7), and outside what delivery properties judge. */
static int filtered_out(const struct esmc_check_ctx *c,
                        const struct esmc_filter_rec *fv, uint32_t rid)
{
  return fv && (fv[rid].bits & ESMC_FILTER_DROPPED) &&
         c->an->rec[rid].deliveries == 0;
}

static int inv_carries(const struct esmc_ainv *iv, uint32_t rid, uint32_t *pos)
{
  uint32_t j;
  for(j = 0; j < iv->n; j++)
    if(iv->rids[j] == rid) {
      if(pos)
        *pos = j;
      return 1;
    }
  return 0;
}

/* The last invocation that started before event ev and carried rid. */
static size_t last_inv_before(const struct esmc_analysis *an, uint32_t rid,
                              size_t ev, uint32_t *pos)
{
  size_t k = an->ninv;
  while(k > 0) {
    k--;
    if(an->inv[k].ev < ev && inv_carries(&an->inv[k], rid, pos))
      return k;
  }
  return ESMC_NONE;
}

/* What had become of rid just before event ev, as a clause:
 * "it was still in flight in invocation #3". */
static void explain_state(const struct esmc_check_ctx *c, uint32_t rid,
                          size_t ev, struct esmc_buf *out)
{
  const struct esmc_analysis *an = c->an;
  uint32_t pos = 0;
  size_t k = last_inv_before(an, rid, ev, &pos);
  const struct esmc_ainv *iv;

  if(k == ESMC_NONE) {
    esmc_buf_puts(out, "it had not been delivered");
    return;
  }
  iv = &an->inv[k];
  if(iv->done_ev == ESMC_NONE || iv->done_ev > ev) {
    esmc_buf_printf(out, "it was still in flight in invocation #%zu, "
                    "started at t=%" PRId64 " ms", k + 1, iv->t_start);
    return;
  }
  switch(iv->result) {
  case ESMC_R_FAILURE:
    esmc_buf_printf(out, "it had failed in invocation #%zu at t=%" PRId64
                    " ms%s%s%s and was not retried successfully", k + 1,
                    iv->t_end, iv->why[0] ? " (" : "", iv->why,
                    iv->why[0] ? ")" : "");
    return;
  case ESMC_R_PARTIAL:
    if(pos >= iv->failed_from) {
      esmc_buf_printf(out, "the function reported it failed in invocation "
                      "#%zu at t=%" PRId64 " ms and it was not retried "
                      "successfully", k + 1, iv->t_end);
      return;
    }
    break;
  case ESMC_R_NOT_RUN:
    esmc_buf_printf(out, "invocation #%zu carrying it was throttled or "
                    "refused at t=%" PRId64 " ms and not retried", k + 1,
                    iv->t_end);
    return;
  default:
    break;
  }
  esmc_buf_printf(out, "it was last delivered in invocation #%zu", k + 1);
}

enum discard {
  D_NONE = 0,
  D_RETRIES, /* failed 1 + MaximumRetryAttempts times, no destination */
  D_AGE,     /* older than MaximumRecordAgeInSeconds, no destination */
  D_TRIMMED, /* older than the stream's retention */
  D_FILTERED /* dropped by the filters and never delivered */
};

/* Whether skipping rid at event ev (a checkpoint past it) was a legal
 * discard. With a destination configured only trimming and filtering
 * justify it: everything else must be reported first. */
static enum discard discard_reason(const struct esmc_check_ctx *c,
                                   const struct cfgline *line,
                                   const struct esmc_filter_rec *fv,
                                   uint32_t rid, size_t ev)
{
  const struct esmc_world *w = c->w;
  const struct esmc_arec *r = &c->an->rec[rid];
  const struct esmc_effective_config *cfg = cfg_at(line, ev);
  int64_t age = ev_at(c, ev)->t - w->records[rid].at_ms;
  if(ev_at(c, ev)->t >= w->records[rid].trim_ms)
    return D_TRIMMED;
  if(filtered_out(c, fv, rid))
    return D_FILTERED;
  if(has_destination(cfg))
    return D_NONE;
  if(r->last_delivery_inv != ESMC_NONE) {
    int32_t mra = c->an->inv[r->last_delivery_inv].cfg.maximum_retry_attempts;
    if(mra >= 0 && (int64_t)r->failed_deliveries >= 1 + (int64_t)mra)
      return D_RETRIES;
  }
  if(cfg->maximum_record_age_s >= 0 &&
     age > (int64_t)cfg->maximum_record_age_s * 1000)
    return D_AGE;
  return D_NONE;
}

/* The last ESMC_H_CHECKPOINT of shard s, or ESMC_NONE. */
static size_t last_checkpoint(const struct esmc_check_ctx *c, uint32_t s)
{
  size_t i = c->w->hist.n;
  while(i > 0) {
    i--;
    if(ev_at(c, i)->kind == ESMC_H_CHECKPOINT && ev_at(c, i)->shard == s)
      return i;
  }
  return ESMC_NONE;
}

static const char *ev_text(const struct esmc_hevent *e)
{
  return e->text ? e->text : "";
}

/* The run ended before the mapper could finish: the horizon or a limit. */
static int run_cut_short(const struct esmc_check_ctx *c)
{
  size_t i = c->w->hist.n;
  if(c->outcome && c->outcome->end != ESMC_END_QUIESCENT)
    return 1;
  while(i > 0) {
    i--;
    if(ev_at(c, i)->kind == ESMC_H_END)
      return ev_at(c, i)->a != 0;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* config_validation (CFG-10).                                               */

static int starts_with_code(const char *text, const char *code)
{
  size_t n = strlen(code);
  return text && strncmp(text, code, n) == 0 &&
         (text[n] == '\0' || text[n] == ':' || text[n] == ' ');
}

void esmc_check_config_validation(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_scenario *sc = w->sc;
  const char *code = sc->expect.config_error_code;
  const char *msg = sc->expect.config_error_message;
  size_t i;
  int seen_create = 0;

  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    if(e->kind == ESMC_H_CREATE && !seen_create) {
      seen_create = 1;
      if(e->status == ESMC_E_UNSUPPORTED)
        continue;
      if(code && e->status == 0) {
        esmc_report(c, e->t, "the mapping was created, but AWS rejects this "
                    "configuration with %s%s%s", code, msg ? ": " : "",
                    msg ? msg : "");
      } else if(code && !starts_with_code(e->text, code)) {
        esmc_report(c, e->t, "the mapper rejected the configuration with "
                    "\"%s\", but AWS rejects it with %s", ev_text(e), code);
      } else if(code && msg && !strstr(ev_text(e), msg)) {
        esmc_report(c, e->t, "the mapper rejected the configuration with "
                    "\"%s\", but the AWS message says \"%s\"", ev_text(e),
                    msg);
      } else if(!code && e->status != 0) {
        esmc_report(c, e->t, "the mapper rejected a valid configuration: %s",
                    e->text && e->text[0] ? e->text : "(no message)");
      }
    } else if(e->kind == ESMC_H_UPDATE && e->a >= 0 &&
              (size_t)e->a < sc->event_count) {
      const char *want = sc->events[e->a].expect_error_code;
      if(e->status == ESMC_E_UNSUPPORTED)
        continue;
      if(want && e->status == 0)
        esmc_report(c, e->t, "the update at t=%" PRId64 " ms (case event #%"
                    PRId64 ") was accepted, but AWS rejects it with %s", e->t,
                    e->a + 1, want);
      else if(want && !starts_with_code(e->text, want))
        esmc_report(c, e->t, "the update at t=%" PRId64 " ms (case event #%"
                    PRId64 ") was rejected with \"%s\", but AWS rejects it "
                    "with %s", e->t, e->a + 1, ev_text(e), want);
      else if(!want && e->status != 0)
        esmc_report(c, e->t, "the mapper rejected a valid update at t=%"
                    PRId64 " ms (case event #%" PRId64 "): %s", e->t,
                    e->a + 1, e->text && e->text[0] ? e->text : "(no message)");
    }
  }
}

/* ------------------------------------------------------------------------ */
/* event_shape (GEN-1, EVT-*).                                               */

void esmc_check_event_shape(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  size_t k;
  for(k = 0; k < an->ninv; k++) {
    const struct esmc_ainv *iv = &an->inv[k];
    const struct esmc_hevent *e = ev_at(c, iv->ev);
    if(e->text) {
      esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms: %s",
                  k + 1, iv->t_start, e->text);
    } else if(iv->n == 0) {
      /* TW-5: a tumbling window's final invoke has no records. */
      struct esmc_tw_info twi;
      if(esmc_tw_info_parse(e->text2, &twi) == 0 && twi.final)
        continue;
      esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms was "
                  "invoked with an empty batch", k + 1, iv->t_start);
    } else if(iv->shard == ESMC_NO_SHARD) {
      uint32_t j, s0 = UINT32_MAX, s1 = UINT32_MAX;
      for(j = 0; j < iv->n && s1 == UINT32_MAX; j++) {
        uint32_t s = iv->rids[j] < w->nrecords ? w->records[iv->rids[j]].shard
                                               : UINT32_MAX;
        if(s0 == UINT32_MAX)
          s0 = s;
        else if(s != s0)
          s1 = s;
      }
      esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms: the "
                  "batch mixes records of shards %s and %s", k + 1,
                  iv->t_start, shard_name(w, s0), shard_name(w, s1));
    }
  }
}

/* ------------------------------------------------------------------------ */
/* no_loss (GEN-2, ERR-4, CKPT-3).                                           */

/*
 * 1 when record rid was given up and the mapper is still retrying the send
 * of its failure record at the end of the run (the destination is down and
 * the shard rightly waits for it, DEST-1). The failed sends covering it must
 * go on to the end: the last one no longer before it than the slack, or
 * twice the pause between the last two (a backoff). Sends that stopped
 * earlier leave the record lost.
 */
static int send_retrying(const struct esmc_check_ctx *c, uint32_t rid,
                         int64_t slack)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_wrecord *wr = &c->w->records[rid];
  int64_t last = -1, prev = -1, allow;
  size_t k;

  for(k = 0; k < an->ndest; k++) {
    const struct esmc_adest *ad = &an->dest[k];
    const struct esmc_hevent *e = ev_at(c, ad->ev);
    if(e->status == 0 || !ad->range_known || ad->shard != wr->shard ||
       wr->index < ad->first_index || wr->index > ad->last_index)
      continue;
    prev = last;
    last = e->t;
  }
  if(last < 0)
    return 0;
  allow = slack;
  if(prev >= 0 && 2 * (last - prev) > allow)
    allow = 2 * (last - prev);
  return an->end_t - last <= allow;
}

/* At the horizon a shard whose lowest pending record is still being worked
 * on (in flight, retrying within its budget, its failure record still being
 * sent, or too recent) is not lost. */
static int shard_in_progress(const struct esmc_check_ctx *c, uint32_t head)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_arec *r = &an->rec[head];
  const struct esmc_wrecord *wr = &c->w->records[head];
  int64_t slack = 2000;
  size_t k = last_inv_before(an, head, c->w->hist.n, NULL);
  const struct esmc_ainv *iv;

  /* An injected fault still active at the end (one that never heals), or
   * just healed, keeps the mapper from the shard (FAULT-1, FAULT-9). */
  if(esmc_fault_during(c->w, an->end_t, an->end_t))
    return 1;
  if(k == ESMC_NONE) {
    struct esmc_effective_config cfg;
    esmc_effective_config_init(&cfg, c->w->sc);
    slack += (int64_t)cfg.window_s * 1000;
    return an->end_t - wr->at_ms <= slack || send_retrying(c, head, slack);
  }
  iv = &an->inv[k];
  slack += (int64_t)iv->cfg.window_s * 1000;
  if(iv->done_ev == ESMC_NONE)
    return 1;
  if(iv->cfg.tumbling_window_s > 0) {
    /* TW-5: records given up with no destination are checkpointed only
     * after their window's final invoke, a few seconds past its end. */
    int64_t wms = (int64_t)iv->cfg.tumbling_window_s * 1000;
    int64_t at = c->w->epoch_ms + wr->at_ms;
    int64_t end_rel = (at - (at % wms + wms) % wms) + wms - c->w->epoch_ms;
    if(an->end_t - end_rel <= slack + 5000)
      return 1;
  }
  if(an->end_t - iv->t_end <= slack)
    return 1;
  if(iv->result == ESMC_R_NOT_RUN || send_retrying(c, head, slack))
    return 1;
  return iv->cfg.maximum_retry_attempts < 0 ||
         (int64_t)r->failed_deliveries <
             1 + (int64_t)iv->cfg.maximum_retry_attempts;
}

/* FAULT-6: the last failed send of a failure record covering rid before
 * event before (ESMC_NONE: all of them), as an index in an->dest, or
 * ESMC_NONE. A failed send does not report the record. */
static size_t failed_send_before(const struct esmc_check_ctx *c, uint32_t rid,
                                 size_t before)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_wrecord *wr = &c->w->records[rid];
  size_t k, found = ESMC_NONE;
  for(k = 0; k < an->ndest && an->dest[k].ev < before; k++) {
    const struct esmc_adest *ad = &an->dest[k];
    if(ev_at(c, ad->ev)->status != 0 && ad->range_known &&
       ad->shard == wr->shard && wr->index >= ad->first_index &&
       wr->index <= ad->last_index)
      found = k;
  }
  return found;
}


/* "; its failure record was last sent at t=... ms, but that send failed
 * (ESMC_E_SERVICE) ...: a failed send does not count as reported
 * (FAULT-6)" into b, when a send covering rid failed. */
static void explain_failed_send(const struct esmc_check_ctx *c, uint32_t rid,
                                size_t before, struct esmc_buf *b)
{
  size_t k = failed_send_before(c, rid, before);
  const struct esmc_hevent *e;
  if(k == ESMC_NONE)
    return;
  e = ev_at(c, c->an->dest[k].ev);
  esmc_buf_printf(b, "; its failure record was last sent at t=%" PRId64
                  " ms, but that send failed (%s) and no send of it "
                  "succeeded: a failed send does not count as reported "
                  "(FAULT-6)", e->t, esmc_status_name(e->status));
}

static const char *iterator_name(int64_t type)
{
  switch(type) {
  case ESMC_ITER_TRIM_HORIZON: return "TRIM_HORIZON";
  case ESMC_ITER_LATEST: return "LATEST";
  case ESMC_ITER_AT_TIMESTAMP: return "AT_TIMESTAMP";
  case ESMC_ITER_AT_SEQUENCE_NUMBER: return "AT_SEQUENCE_NUMBER";
  case ESMC_ITER_AFTER_SEQUENCE_NUMBER: return "AFTER_SEQUENCE_NUMBER";
  default: return "unknown";
  }
}

/* FAULT-2, FAULT-3: "; at t=250 ms, after get_records failed with
 * ESMC_E_EXPIRED_ITERATOR at t=150 ms, the mapper took a LATEST iterator
 * that starts past it ..." into b, for the first iterator taken before
 * event before that started past rid while rid was in the stream. */
static void explain_jump(const struct esmc_check_ctx *c, uint32_t rid,
                         size_t before, struct esmc_buf *b)
{
  const struct esmc_wrecord *wr = &c->w->records[rid];
  size_t i, fail = ESMC_NONE;
  for(i = 0; i < before && i < c->w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i), *x;
    if(e->shard != wr->shard ||
       (e->kind != ESMC_H_GET_RECORDS && e->kind != ESMC_H_GET_ITERATOR))
      continue;
    if(e->status < 0) {
      fail = i;
      continue;
    }
    if(e->kind != ESMC_H_GET_ITERATOR || e->b <= (int64_t)wr->index ||
       e->t < wr->at_ms || e->t >= wr->trim_ms)
      continue;
    esmc_buf_printf(b, "; at t=%" PRId64 " ms", e->t);
    if(fail != ESMC_NONE) {
      x = ev_at(c, fail);
      esmc_buf_printf(b, ", after %s failed with %s at t=%" PRId64 " ms,",
                      x->kind == ESMC_H_GET_RECORDS ? "get_records"
                                                    : "get_shard_iterator",
                      esmc_status_name(x->status), x->t);
    }
    esmc_buf_printf(b, " the mapper took a %s iterator that starts past it "
                    "while it was still in the stream", iterator_name(e->a));
    if(fail != ESMC_NONE && ev_at(c, fail)->status == ESMC_E_EXPIRED_ITERATOR)
      esmc_buf_puts(b, " (FAULT-2: after an expired iterator the mapper "
                       "resumes at its own position, never LATEST)");
    else if(fail != ESMC_NONE && ev_at(c, fail)->status == ESMC_E_TRIMMED)
      esmc_buf_puts(b, " (FAULT-3: after a trim the mapper resumes at "
                       "TRIM_HORIZON)");
    return;
  }
}

static void report_pending(struct esmc_check_ctx *c, struct descs *d,
                           uint32_t rid)
{
  const struct esmc_world *w = c->w;
  const struct esmc_arec *r = &c->an->rec[rid];
  const struct esmc_wrecord *wr = &w->records[rid];
  size_t ck = last_checkpoint(c, wr->shard);
  struct esmc_buf b;

  esmc_buf_init(&b);
  if(r->last_delivery_inv != ESMC_NONE) {
    const struct esmc_ainv *iv = &c->an->inv[r->last_delivery_inv];
    esmc_buf_printf(&b, "last delivered in invocation #%zu at t=%" PRId64
                    " ms", r->last_delivery_inv + 1, iv->t_start);
    if(iv->result == ESMC_R_FAILURE || iv->result == ESMC_R_PARTIAL)
      esmc_buf_puts(&b, ", which failed");
    else if(iv->result == ESMC_R_PENDING)
      esmc_buf_puts(&b, ", which never completed");
  } else {
    esmc_buf_puts(&b, "never delivered");
  }
  explain_failed_send(c, rid, ESMC_NONE, &b);
  explain_jump(c, rid, c->w->hist.n, &b);
  if(ck == ESMC_NONE)
    esmc_buf_puts(&b, "; the shard was never checkpointed");
  else
    esmc_buf_printf(&b, "; the shard's last checkpoint is seq %s at t=%"
                    PRId64 " ms", ev_text(ev_at(c, ck)), ev_at(c, ck)->t);
  esmc_report(c, -1, "%s was never processed: %s", desc(d, w, rid),
              b.oom || !b.data ? "" : b.data);
  esmc_buf_free(&b);
}

static void report_skipped(struct esmc_check_ctx *c, struct descs *d,
                           const struct cfgline *line, uint32_t rid)
{
  const struct esmc_world *w = c->w;
  const struct esmc_arec *r = &c->an->rec[rid];
  const struct esmc_hevent *e = ev_at(c, r->settled_ev);
  const struct esmc_effective_config *cfg = cfg_at(line, r->settled_ev);
  struct esmc_buf b;

  esmc_buf_init(&b);
  explain_state(c, rid, r->settled_ev, &b);
  explain_failed_send(c, rid, r->settled_ev, &b);
  explain_jump(c, rid, r->settled_ev, &b);
  if(has_destination(cfg))
    esmc_report(c, e->t, "%s was discarded without a failure record to %s: "
                "the checkpoint at seq %s (t=%" PRId64 " ms) passed it, and "
                "%s", desc(d, w, rid), cfg->on_failure_destination,
                ev_text(e), e->t, b.oom || !b.data ? "" : b.data);
  else
    esmc_report(c, e->t, "%s was skipped by the checkpoint at seq %s (t=%"
                PRId64 " ms) without being processed: %s; it had %" PRIu32
                " failed invocations (MaximumRetryAttempts %" PRId32
                ") and was not older than MaximumRecordAgeInSeconds (%"
                PRId32 ")", desc(d, w, rid), ev_text(e), e->t,
                b.oom || !b.data ? "" : b.data, r->failed_deliveries,
                cfg->maximum_retry_attempts, cfg->maximum_record_age_s);
  esmc_buf_free(&b);
}

void esmc_check_no_loss(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct cfgline line;
  struct descs d;
  uint32_t rid, *head = NULL;
  struct esmc_filter_rec *fv;
  int cut = run_cut_short(c), oom;
  int disabled_at_end;

  fv = filter_verdicts(w, &oom);
  if(oom || cfgline_build(w, &line) != 0) {
    esmc_free(fv);
    out_of_memory(c);
    return;
  }
  disabled_at_end = line.cfg[line.n - 1].enabled == 0;
  descs_init(&d);
  if(cut) {
    head = esmc_malloc((w->nshards ? w->nshards : 1) * sizeof(*head));
    if(!head) {
      out_of_memory(c);
      goto out;
    }
    memset(head, 0xff, (w->nshards ? w->nshards : 1) * sizeof(*head));
    for(rid = 0; rid < w->nrecords; rid++) {
      uint32_t s = w->records[rid].shard;
      if(an->rec[rid].in_scope && an->rec[rid].fate == ESMC_FATE_PENDING &&
         s < w->nshards &&
         (head[s] == UINT32_MAX ||
          w->records[rid].index < w->records[head[s]].index))
        head[s] = rid;
    }
  }
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    uint32_t s = w->records[rid].shard;
    if(!r->in_scope)
      continue;
    if(r->fate == ESMC_FATE_PENDING) {
      if(disabled_at_end)
        continue;
      if(cut && s < w->nshards && head[s] != UINT32_MAX &&
         shard_in_progress(c, head[s]))
        continue;
      if(reported(c))
        esmc_report(c, -1, "more");
      else
        report_pending(c, &d, rid);
    } else if(r->fate == ESMC_FATE_SKIPPED) {
      if(discard_reason(c, &line, fv, rid, r->settled_ev) != D_NONE)
        continue;
      if(reported(c))
        esmc_report(c, -1, "more");
      else
        report_skipped(c, &d, &line, rid);
    }
  }
out:
  esmc_free(head);
  esmc_free(fv);
  descs_free(&d);
  cfgline_free(&line);
}

/* ------------------------------------------------------------------------ */
/* at_least_once (GEN-2).                                                    */

/* By rid: the first successful destination send covering it, as an index
 * in an->dest (ESMC_NONE when none). NULL when out of memory. */
static size_t *first_reports(const struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  size_t *first = esmc_malloc((w->nrecords ? w->nrecords : 1) *
                              sizeof(*first));
  size_t k;
  uint32_t rid, j;
  if(!first)
    return NULL;
  for(rid = 0; rid < w->nrecords; rid++)
    first[rid] = ESMC_NONE;
  for(k = 0; k < c->an->ndest; k++) {
    const struct esmc_adest *ad = &c->an->dest[k];
    if(ev_at(c, ad->ev)->status != 0 || !ad->range_known ||
       ad->shard >= w->nshards)
      continue;
    for(j = ad->first_index; j <= ad->last_index &&
                             j < w->shards[ad->shard].n; j++) {
      rid = w->shards[ad->shard].rids[j];
      if(first[rid] == ESMC_NONE)
        first[rid] = k;
    }
  }
  return first;
}

void esmc_check_at_least_once(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct cfgline line;
  struct descs d;
  uint32_t rid;
  size_t *reports;
  struct esmc_filter_rec *fv;
  int oom;

  fv = filter_verdicts(w, &oom);
  if(oom || cfgline_build(w, &line) != 0) {
    esmc_free(fv);
    out_of_memory(c);
    return;
  }
  reports = first_reports(c);
  if(!reports) {
    out_of_memory(c);
    esmc_free(fv);
    cfgline_free(&line);
    return;
  }
  descs_init(&d);
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    int64_t at = w->records[rid].at_ms;
    /* A filtered record is out of this property's scope (FILTER-5). */
    if(!r->in_scope || r->deliveries > 0 || filtered_out(c, fv, rid))
      continue;
    if(r->fate == ESMC_FATE_REPORTED) {
      const struct esmc_adest *ad;
      const struct esmc_effective_config *cfg;
      int64_t t;
      if(reports[rid] == ESMC_NONE)
        continue;
      ad = &an->dest[reports[rid]];
      t = ev_at(c, ad->ev)->t;
      cfg = cfg_at(&line, ad->ev);
      if(t >= w->records[rid].trim_ms ||
         (cfg->maximum_record_age_s >= 0 &&
          t - at > (int64_t)cfg->maximum_record_age_s * 1000))
        continue;
      esmc_report(c, t, "%s never reached the function but was reported as "
                  "%s to the destination at t=%" PRId64 " ms, when it was "
                  "%" PRId64 " ms old", desc(&d, w, rid),
                  ad->condition[0] ? ad->condition : "failed", t, t - at);
    } else if(r->fate == ESMC_FATE_SKIPPED) {
      const struct esmc_hevent *e = ev_at(c, r->settled_ev);
      const struct esmc_effective_config *cfg = cfg_at(&line, r->settled_ev);
      /* Expired records may be dropped unseen (AGE-1, RETRY-3). */
      if(e->t >= w->records[rid].trim_ms ||
         (cfg->maximum_record_age_s >= 0 &&
          e->t - at > (int64_t)cfg->maximum_record_age_s * 1000))
        continue;
      esmc_report(c, e->t, "%s never reached the function but was "
                  "checkpointed past at t=%" PRId64 " ms (seq %s)",
                  desc(&d, w, rid), e->t, ev_text(e));
    }
  }
  esmc_free(reports);
  esmc_free(fv);
  descs_free(&d);
  cfgline_free(&line);
}

/* ------------------------------------------------------------------------ */
/* starting_position (POS-1..3).                                             */

struct first_iter {
  int64_t type; /* 0: none */
  int64_t t;
  int64_t b;
};

static const char *position_name(enum esmc_starting_position p)
{
  switch(p) {
  case ESMC_START_TRIM_HORIZON: return "TRIM_HORIZON";
  case ESMC_START_LATEST: return "LATEST";
  case ESMC_START_AT_TIMESTAMP: return "AT_TIMESTAMP";
  default: return "an unset starting position";
  }
}

/* The record the starting position says delivery starts with, on shard s. */
static uint32_t expected_first(const struct esmc_check_ctx *c,
                               const struct esmc_effective_config *cfg,
                               uint32_t s, const struct first_iter *fi)
{
  const struct esmc_world *w = c->w;
  const struct esmc_wshard *sh = &w->shards[s];
  uint32_t k;
  for(k = 0; k < sh->n; k++) {
    const struct esmc_wrecord *r = &w->records[sh->rids[k]];
    if(cfg->starting_position == ESMC_START_TRIM_HORIZON &&
       fi->t < r->trim_ms)
      return sh->rids[k];
    if(cfg->starting_position == ESMC_START_AT_TIMESTAMP &&
       r->at_ms >= cfg->starting_position_timestamp_ms)
      return sh->rids[k];
  }
  return UINT32_MAX;
}

void esmc_check_starting_position(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_effective_config cfg;
  struct first_iter *fi;
  uint32_t *first_rid, s, j;
  size_t i, k, *first_inv;
  struct descs d;
  struct esmc_filter_rec *fv;
  int oom;

  esmc_effective_config_init(&cfg, w->sc);
  fv = filter_verdicts(w, &oom);
  fi = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*fi));
  first_rid = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*first_rid));
  first_inv = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*first_inv));
  if(oom || !fi || !first_rid || !first_inv) {
    out_of_memory(c);
    goto out;
  }
  descs_init(&d);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    if(e->kind == ESMC_H_GET_ITERATOR && e->status == 0 &&
       e->shard < w->nshards && fi[e->shard].type == 0) {
      fi[e->shard].type = e->a;
      fi[e->shard].t = e->t;
      fi[e->shard].b = e->b;
    }
  }
  for(s = 0; s < w->nshards; s++) {
    first_rid[s] = UINT32_MAX;
    first_inv[s] = ESMC_NONE;
  }
  /* Records the starting position excludes must never be delivered. */
  for(k = 0; k < an->ninv; k++) {
    const struct esmc_ainv *iv = &an->inv[k];
    for(j = 0; j < iv->n; j++) {
      uint32_t rid = iv->rids[j];
      const struct esmc_wrecord *r;
      if(rid >= w->nrecords)
        continue;
      r = &w->records[rid];
      if(first_rid[r->shard] == UINT32_MAX) {
        first_rid[r->shard] = rid;
        first_inv[r->shard] = k;
      }
      if(cfg.starting_position == ESMC_START_LATEST &&
         fi[r->shard].type == ESMC_ITER_LATEST && r->index < fi[r->shard].b)
        esmc_report(c, iv->t_start, "%s was in the stream before the mapping "
                    "started reading %s at t=%" PRId64 " ms with "
                    "StartingPosition LATEST, but it was delivered in "
                    "invocation #%zu at t=%" PRId64 " ms", desc(&d, w, rid),
                    shard_name(w, r->shard), fi[r->shard].t, k + 1,
                    iv->t_start);
      else if(cfg.starting_position == ESMC_START_AT_TIMESTAMP &&
              r->at_ms < cfg.starting_position_timestamp_ms)
        esmc_report(c, iv->t_start, "%s arrived at t=%" PRId64 " ms, before "
                    "the AT_TIMESTAMP starting position t=%" PRId64 " ms, "
                    "but it was delivered in invocation #%zu",
                    desc(&d, w, rid), r->at_ms,
                    cfg.starting_position_timestamp_ms, k + 1);
    }
  }
  /* The first record delivered from each shard is where the position says,
   * or every record before it was filtered out or otherwise dealt with. */
  for(s = 0; s < w->nshards; s++) {
    uint32_t want;
    const struct esmc_ainv *iv;
    if(first_rid[s] == UINT32_MAX)
      continue;
    if(!((cfg.starting_position == ESMC_START_TRIM_HORIZON &&
          fi[s].type == ESMC_ITER_TRIM_HORIZON) ||
         (cfg.starting_position == ESMC_START_AT_TIMESTAMP &&
          fi[s].type == ESMC_ITER_AT_TIMESTAMP)))
      continue;
    want = expected_first(c, &cfg, s, &fi[s]);
    if(want == UINT32_MAX || want == first_rid[s] ||
       w->records[first_rid[s]].index < w->records[want].index)
      continue;
    /* Records before the first delivered one may have been reported or
     * discarded without delivery (expired by MaximumRecordAgeInSeconds):
     * the position was honoured if each of them was dealt with. */
    for(j = w->records[want].index; j < w->records[first_rid[s]].index; j++) {
      const struct esmc_arec *r = &an->rec[w->shards[s].rids[j]];
      if(r->deliveries == 0 && r->fate != ESMC_FATE_REPORTED &&
         r->fate != ESMC_FATE_SKIPPED &&
         !filtered_out(c, fv, w->shards[s].rids[j]))
        break;
    }
    if(j == w->records[first_rid[s]].index)
      continue;
    want = w->shards[s].rids[j];
    iv = &an->inv[first_inv[s]];
    esmc_report(c, iv->t_start, "the first record delivered from %s was %s "
                "in invocation #%zu at t=%" PRId64 " ms, but %s starts at or "
                "before %s, which was never delivered nor reported",
                shard_name(w, s), desc(&d, w, first_rid[s]),
                first_inv[s] + 1, iv->t_start,
                position_name(cfg.starting_position), desc(&d, w, want));
  }
  descs_free(&d);
out:
  esmc_free(fv);
  esmc_free(fi);
  esmc_free(first_rid);
  esmc_free(first_inv);
}

/* ------------------------------------------------------------------------ */
/* shard_order (ORDER-1, ORDER-3).                                           */

/* Order lists of one granularity (by shard, or by shard and key): each
 * group lists its in-scope, untrimmed records in index order, and ptr
 * walks past the ones settled before the invocation at hand. */
struct order {
  uint32_t *grp;   /* by rid: group */
  uint32_t *pos;   /* by rid: position in its group's list, or UINT32_MAX */
  uint32_t *list;  /* listed rids, grouped */
  uint32_t *start; /* by group: first entry in list */
  uint32_t *size;  /* by group */
  uint32_t *ptr;   /* by group: first position not known settled */
  uint32_t *cnt;   /* by group: listed records seen in the current batch */
  uint32_t *last;  /* by group: last rid seen in the current batch */
  size_t *stamp;   /* by group: batch that cnt and last belong to */
  uint32_t ngroups;
};

static const struct esmc_world *sort_world;

static int key_cmp(const void *pa, const void *pb)
{
  const struct esmc_wrecord *a = &sort_world->records[*(const uint32_t *)pa];
  const struct esmc_wrecord *b = &sort_world->records[*(const uint32_t *)pb];
  int k;
  if(a->shard != b->shard)
    return a->shard < b->shard ? -1 : 1;
  k = strcmp(a->pub.partition_key ? a->pub.partition_key : "",
             b->pub.partition_key ? b->pub.partition_key : "");
  if(k)
    return k;
  return (a->index > b->index) - (a->index < b->index);
}

/* Filtered records (FILTER-5) are not listed: no batch waits for them. */
static int listed(const struct esmc_check_ctx *c,
                  const struct esmc_filter_rec *fv, uint32_t rid)
{
  const struct esmc_analysis *an = c->an;
  return an->rec[rid].in_scope && an->rec[rid].fate != ESMC_FATE_TRIMMED &&
         !filtered_out(c, fv, rid);
}

static void order_free(struct order *o)
{
  esmc_free(o->grp);
  esmc_free(o->pos);
  esmc_free(o->list);
  esmc_free(o->start);
  esmc_free(o->size);
  esmc_free(o->ptr);
  esmc_free(o->cnt);
  esmc_free(o->last);
  esmc_free(o->stamp);
  memset(o, 0, sizeof(*o));
}

static int order_build(const struct esmc_check_ctx *c,
                       const struct esmc_filter_rec *fv, struct order *o,
                       int by_key)
{
  const struct esmc_world *w = c->w;
  uint32_t n = w->nrecords, i, g = 0, nl = 0, *sorted;
  size_t cap = n ? n : 1;

  memset(o, 0, sizeof(*o));
  sorted = esmc_malloc(cap * sizeof(*sorted));
  o->grp = esmc_malloc(cap * sizeof(*o->grp));
  o->pos = esmc_malloc(cap * sizeof(*o->pos));
  o->list = esmc_malloc(cap * sizeof(*o->list));
  o->start = esmc_calloc(cap + w->nshards, sizeof(*o->start));
  o->size = esmc_calloc(cap + w->nshards, sizeof(*o->size));
  o->ptr = esmc_calloc(cap + w->nshards, sizeof(*o->ptr));
  o->cnt = esmc_calloc(cap + w->nshards, sizeof(*o->cnt));
  o->last = esmc_calloc(cap + w->nshards, sizeof(*o->last));
  o->stamp = esmc_calloc(cap + w->nshards, sizeof(*o->stamp));
  if(!sorted || !o->grp || !o->pos || !o->list || !o->start || !o->size ||
     !o->ptr || !o->cnt || !o->last || !o->stamp) {
    esmc_free(sorted);
    order_free(o);
    return -1;
  }
  if(by_key) {
    for(i = 0; i < n; i++)
      sorted[i] = i;
    sort_world = w;
    qsort(sorted, n, sizeof(*sorted), key_cmp);
    sort_world = NULL;
  } else {
    uint32_t s, k;
    for(s = 0, i = 0; s < w->nshards; s++)
      for(k = 0; k < w->shards[s].n; k++)
        sorted[i++] = w->shards[s].rids[k];
    n = i;
  }
  for(i = 0; i < n; i++) {
    uint32_t rid = sorted[i];
    int same = i > 0;
    if(same) {
      const struct esmc_wrecord *a = &w->records[sorted[i - 1]];
      const struct esmc_wrecord *b = &w->records[rid];
      same = a->shard == b->shard &&
             (!by_key || strcmp(a->pub.partition_key ? a->pub.partition_key
                                                     : "",
                                b->pub.partition_key ? b->pub.partition_key
                                                     : "") == 0);
    }
    if(!same) {
      g = i == 0 ? 0 : g + 1;
      o->start[g] = nl;
    }
    o->grp[rid] = g;
    o->pos[rid] = UINT32_MAX;
    if(listed(c, fv, rid)) {
      o->pos[rid] = o->size[g]++;
      o->list[nl++] = rid;
    }
  }
  o->ngroups = n ? g + 1 : 0;
  esmc_free(sorted);
  return 0;
}

/* Advance group g's pointer past records settled before event ev. */
static uint32_t order_ptr(const struct esmc_analysis *an, struct order *o,
                          uint32_t g, size_t ev)
{
  int64_t t = an->w->hist.ev[ev].t;
  while(o->ptr[g] < o->size[g]) {
    uint32_t rid = o->list[o->start[g] + o->ptr[g]];
    const struct esmc_arec *r = &an->rec[rid];
    /* FAULT-3: a record trimmed out of the stream by then holds nothing
     * back. */
    if((r->settled_ev == ESMC_NONE || r->settled_ev >= ev) &&
       an->w->records[rid].trim_ms > t)
      break;
    o->ptr[g]++;
  }
  return o->ptr[g];
}

static void report_order(struct esmc_check_ctx *c, struct descs *d,
                         size_t k, uint32_t rid, uint32_t blocker, int by_key)
{
  const struct esmc_world *w = c->w;
  const struct esmc_ainv *iv = &c->an->inv[k];
  struct esmc_buf b;
  if(inv_carries(iv, blocker, NULL)) {
    /* The earlier record comes later in this very batch. */
    esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms "
                "carries %s before the earlier %s of the same %s", k + 1,
                iv->t_start, desc(d, w, rid), desc(d, w, blocker),
                by_key ? "partition key" : "shard");
    return;
  }
  esmc_buf_init(&b);
  explain_state(c, blocker, iv->ev, &b);
  esmc_report(c, iv->t_start, "%s was invoked in invocation #%zu at t=%"
              PRId64 " ms while the earlier %s of the same %s was not yet "
              "done: %s", desc(d, w, rid), k + 1, iv->t_start,
              desc(d, w, blocker), by_key ? "partition key" : "shard",
              b.oom || !b.data ? "" : b.data);
  esmc_buf_free(&b);
}

static void order_batch(struct esmc_check_ctx *c, struct descs *d,
                        struct order *o, size_t k, int by_key)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  const struct esmc_ainv *iv = &an->inv[k];
  uint32_t j;

  for(j = 0; j < iv->n; j++) {
    uint32_t rid = iv->rids[j], g, p;
    if(rid >= w->nrecords)
      continue;
    g = o->grp[rid];
    if(o->stamp[g] != k + 1) {
      o->stamp[g] = k + 1;
      o->cnt[g] = 0;
      o->last[g] = UINT32_MAX;
    }
    /* (i) Within the batch, the same order key goes up. */
    if(o->last[g] != UINT32_MAX &&
       w->records[o->last[g]].index >= w->records[rid].index) {
      esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms "
                  "carries %s after %s of the same %s, out of sequence order",
                  k + 1, iv->t_start,
                  desc(d, w, rid), desc(d, w, o->last[g]),
                  by_key ? "partition key" : "shard");
      o->last[g] = rid;
      continue;
    }
    o->last[g] = rid;
    if(o->pos[rid] == UINT32_MAX)
      continue;
    /* (ii) Every earlier record of the order key is done, or precedes it
     * in this batch. */
    p = order_ptr(an, o, g, iv->ev);
    if(o->pos[rid] > p && o->pos[rid] - p != o->cnt[g] && reported(c)) {
      esmc_report(c, iv->t_start, "more");
    } else if(o->pos[rid] > p && o->pos[rid] - p != o->cnt[g]) {
      uint32_t q, blocker = UINT32_MAX;
      for(q = p; q < o->pos[rid] && blocker == UINT32_MAX; q++) {
        uint32_t cand = o->list[o->start[g] + q], x;
        int seen = 0;
        for(x = 0; x < j && !seen; x++)
          seen = iv->rids[x] == cand;
        if(!seen)
          blocker = cand;
      }
      if(blocker == UINT32_MAX)
        blocker = o->list[o->start[g] + p];
      report_order(c, d, k, rid, blocker, by_key);
    }
    if(o->pos[rid] >= p)
      o->cnt[g]++;
  }
}

/* RESHARD-1: no record of a child shard reaches the function before every
 * listed record of its parents (and theirs) is done. It also keeps one
 * partition key in order across a split, merge or rollover. */
static void reshard_order(struct esmc_check_ctx *c, struct descs *d)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct esmc_filter_rec *fv = NULL;
  size_t *last = NULL, k; /* by shard: latest settled_ev of its ancestors */
  uint32_t *from = NULL;  /* by shard: the ancestor it comes from, or none */
  uint32_t s, j, p;
  int any = 0, oom;

  for(s = 0; s < w->nshards; s++)
    any |= w->shards[s].nparents > 0;
  if(!any)
    return;
  fv = filter_verdicts(w, &oom);
  last = esmc_calloc(w->nshards, sizeof(*last));
  from = esmc_calloc(w->nshards, sizeof(*from));
  if(oom || !last || !from) {
    out_of_memory(c);
    goto out;
  }
  /* A shard's parents have lower indexes (the world numbers children after
   * every earlier shard), so one pass in index order folds in ancestors.
   * settled_ev is ESMC_NONE (the largest value) for a record never done. */
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    from[s] = UINT32_MAX;
    for(p = 0; p < sh->nparents && p < 2; p++) {
      const struct esmc_wshard *ps;
      uint32_t q = sh->parents[p];
      if(q >= s)
        continue;
      ps = &w->shards[q];
      /* The parent's own records, then what it inherits. */
      for(j = 0; j < ps->n; j++) {
        size_t se = an->rec[ps->rids[j]].settled_ev;
        if(listed(c, fv, ps->rids[j]) &&
           (from[s] == UINT32_MAX || se > last[s])) {
          last[s] = se;
          from[s] = q;
        }
      }
      if(from[q] != UINT32_MAX && (from[s] == UINT32_MAX || last[q] > last[s])) {
        last[s] = last[q];
        from[s] = from[q];
      }
    }
  }
  for(k = 0; k < an->ninv; k++) {
    const struct esmc_ainv *iv = &an->inv[k];
    for(j = 0; j < iv->n; j++) {
      uint32_t rid = iv->rids[j], cs, a, blocker = UINT32_MAX, x;
      const struct esmc_wshard *ash;
      struct esmc_buf b;
      if(rid >= w->nrecords)
        continue;
      cs = w->records[rid].shard;
      if(from[cs] == UINT32_MAX || last[cs] < iv->ev)
        continue;
      a = from[cs];
      ash = &w->shards[a];
      for(x = 0; x < ash->n && blocker == UINT32_MAX; x++)
        if(listed(c, fv, ash->rids[x]) &&
           an->rec[ash->rids[x]].settled_ev >= iv->ev)
          blocker = ash->rids[x];
      if(blocker == UINT32_MAX)
        continue;
      esmc_buf_init(&b);
      explain_state(c, blocker, iv->ev, &b);
      esmc_report(c, iv->t_start, "%s was invoked in invocation #%zu at t=%"
                  PRId64 " ms, but its shard descends from %s (resharded at "
                  "t=%" PRId64 " ms), whose %s was not yet done: %s",
                  desc(d, w, rid), k + 1, iv->t_start, ash->id,
                  ash->closed_ms, desc(d, w, blocker),
                  b.oom || !b.data ? "" : b.data);
      esmc_buf_free(&b);
      break; /* one report per invocation */
    }
  }
out:
  esmc_free(fv);
  esmc_free(last);
  esmc_free(from);
}

void esmc_check_shard_order(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  struct order by_shard, by_key;
  struct descs d;
  struct esmc_filter_rec *fv;
  size_t k;
  int oom;

  fv = filter_verdicts(c->w, &oom);
  if(oom || order_build(c, fv, &by_shard, 0) != 0) {
    esmc_free(fv);
    out_of_memory(c);
    return;
  }
  if(order_build(c, fv, &by_key, 1) != 0) {
    esmc_free(fv);
    out_of_memory(c);
    order_free(&by_shard);
    return;
  }
  esmc_free(fv);
  descs_init(&d);
  for(k = 0; k < an->ninv; k++) {
    int key = an->inv[k].cfg.parallelization_factor > 1;
    order_batch(c, &d, key ? &by_key : &by_shard, k, key);
  }
  reshard_order(c, &d);
  descs_free(&d);
  order_free(&by_shard);
  order_free(&by_key);
}

/* ------------------------------------------------------------------------ */
/* shard_concurrency (ORDER-2, ORDER-4).                                     */

void esmc_check_shard_concurrency(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  uint32_t *inflight = esmc_calloc(w->nshards ? w->nshards : 1,
                                   sizeof(*inflight));
  uint8_t *running = esmc_calloc(an->ninv ? an->ninv : 1, 1);
  size_t i, k, next = 0;

  if(!inflight || !running) {
    out_of_memory(c);
    goto out;
  }
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    if(e->kind == ESMC_H_INVOKE && next < an->ninv && an->inv[next].ev == i) {
      const struct esmc_ainv *iv = &an->inv[next];
      int32_t pf = iv->cfg.parallelization_factor > 0
                       ? iv->cfg.parallelization_factor : 1;
      if(iv->shard < w->nshards) {
        if(inflight[iv->shard] >= (uint32_t)pf) {
          size_t other = next;
          while(other > 0) {
            other--;
            if(running[other] && an->inv[other].shard == iv->shard)
              break;
          }
          esmc_report(c, iv->t_start, "invocation #%zu of %s started at t=%"
                      PRId64 " ms while #%zu (started t=%" PRId64 " ms) was "
                      "still running; %" PRIu32 " invocations were in flight "
                      "and ParallelizationFactor is %" PRId32, next + 1,
                      shard_name(w, iv->shard), iv->t_start, other + 1,
                      an->inv[other].t_start, inflight[iv->shard] + 1, pf);
        }
        inflight[iv->shard]++;
        running[next] = 1;
      }
      next++;
    } else if(e->kind == ESMC_H_COMPLETE && e->b >= 0) {
      k = esmc_inv_by_ev(an, (size_t)e->b);
      if(k != ESMC_NONE && running[k]) {
        running[k] = 0;
        inflight[an->inv[k].shard]--;
      }
    } else if(e->kind == ESMC_H_DESTROY) {
      /* The host drops the invocations of a destroyed mapping. */
      for(k = 0; k < next; k++)
        if(running[k] && an->inv[k].mapping == e->mapping) {
          running[k] = 0;
          inflight[an->inv[k].shard]--;
        }
    }
  }
out:
  esmc_free(inflight);
  esmc_free(running);
}

/* ------------------------------------------------------------------------ */
/* checkpoint (CKPT-1, CKPT-2).                                              */

static int all_digits(const char *s)
{
  if(!s || !*s)
    return 0;
  for(; *s; s++)
    if(*s < '0' || *s > '9')
      return 0;
  return 1;
}

static void report_uncovered(struct esmc_check_ctx *c, struct descs *d,
                             const struct cfgline *line, size_t ev,
                             uint32_t rid)
{
  const struct esmc_world *w = c->w;
  const struct esmc_hevent *e = ev_at(c, ev);
  const struct esmc_effective_config *cfg = cfg_at(line, ev);
  struct esmc_buf b;
  esmc_buf_init(&b);
  explain_state(c, rid, ev, &b);
  if(has_destination(cfg))
    esmc_buf_printf(&b, ", and it was not reported to %s first",
                    cfg->on_failure_destination);
  esmc_report(c, e->t, "the checkpoint of %s at seq %s (t=%" PRId64 " ms) "
              "covers %s, which had not succeeded: %s", shard_name(w, e->shard),
              ev_text(e), e->t, desc(d, w, rid),
              b.oom || !b.data ? "" : b.data);
  esmc_buf_free(&b);
}

void esmc_check_checkpoint(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  struct cfgline line;
  struct descs d;
  size_t *prev;
  int64_t *covered;
  size_t i;
  uint32_t s;
  struct esmc_filter_rec *fv;
  int oom;

  fv = filter_verdicts(w, &oom);
  if(oom || cfgline_build(w, &line) != 0) {
    esmc_free(fv);
    out_of_memory(c);
    return;
  }
  prev = esmc_malloc((w->nshards ? w->nshards : 1) * sizeof(*prev));
  covered = esmc_malloc((w->nshards ? w->nshards : 1) * sizeof(*covered));
  descs_init(&d);
  if(!prev || !covered) {
    out_of_memory(c);
    goto out;
  }
  for(s = 0; s < w->nshards; s++) {
    prev[s] = ESMC_NONE;
    covered[s] = -1;
  }
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    const struct esmc_wshard *sh;
    int64_t k;
    if(e->kind != ESMC_H_CHECKPOINT)
      continue;
    if(e->shard >= w->nshards) {
      esmc_report(c, e->t, "a checkpoint at t=%" PRId64 " ms names a shard "
                  "the stream does not have", e->t);
      continue;
    }
    sh = &w->shards[e->shard];
    if(!all_digits(e->text) ||
       (e->a < 0 && sh->n > 0 &&
        esmc_seq_cmp(e->text, w->records[sh->rids[0]].seq) >= 0)) {
      esmc_report(c, e->t, "the checkpoint of %s at t=%" PRId64 " ms has "
                  "sequence number \"%s\", which is not a sequence number of "
                  "the shard", sh->id, e->t, ev_text(e));
      continue;
    }
    if(prev[e->shard] != ESMC_NONE && e->a < ev_at(c, prev[e->shard])->a) {
      const struct esmc_hevent *p = ev_at(c, prev[e->shard]);
      esmc_report(c, e->t, "the checkpoint of %s moved backwards from seq %s "
                  "(t=%" PRId64 " ms) to seq %s (t=%" PRId64 " ms)", sh->id,
                  ev_text(p), p->t, ev_text(e), e->t);
    }
    prev[e->shard] = i;
    for(k = covered[e->shard] + 1; k <= e->a && k < (int64_t)sh->n; k++) {
      uint32_t rid = sh->rids[k];
      const struct esmc_arec *r = &an->rec[rid];
      if(!r->in_scope || r->settled_ev != i)
        continue;
      if(discard_reason(c, &line, fv, rid, i) != D_NONE)
        continue;
      if(reported(c))
        esmc_report(c, e->t, "more");
      else
        report_uncovered(c, &d, &line, i, rid);
    }
    if(e->a > covered[e->shard])
      covered[e->shard] = e->a;
  }
out:
  esmc_free(fv);
  descs_free(&d);
  esmc_free(prev);
  esmc_free(covered);
  cfgline_free(&line);
}

/* ------------------------------------------------------------------------ */
/* enabled (GEN-3).                                                          */

void esmc_check_enabled(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_scenario *sc = w->sc;
  struct esmc_effective_config cfg;
  int64_t since = 0;
  size_t i, inv = 0;

  esmc_effective_config_init(&cfg, sc);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    if(e->kind == ESMC_H_UPDATE && e->status == 0 && e->a >= 0 &&
       (size_t)e->a < sc->event_count &&
       sc->events[e->a].kind == ESMC_CASE_UPDATE &&
       sc->events[e->a].update.enabled != ESMC_UNSET) {
      int32_t was = cfg.enabled;
      cfg.enabled = sc->events[e->a].update.enabled;
      if(was && !cfg.enabled)
        since = e->t;
    } else if(e->kind == ESMC_H_INVOKE) {
      inv++;
      if(!cfg.enabled)
        esmc_report(c, e->t, "invocation #%zu started at t=%" PRId64 " ms "
                    "while the mapping was disabled (since t=%" PRId64 " ms)",
                    inv, e->t, since);
    }
  }
}

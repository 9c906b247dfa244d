/*
 * check_sqs.c: the property checkers of SQS standard and FIFO queues
 * (spec/sqs.md). They run on queue cases only (check.c). Each reports its
 * first violation naming the message (case label and MessageId), its group
 * on a FIFO queue, the invocation number and the time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const struct esmc_hevent *hev(const struct esmc_check_ctx *c, size_t i)
{
  return &c->w->hist.ev[i];
}

static void out_of_memory(struct esmc_check_ctx *c)
{
  esmc_report(c, -1, "out of memory while checking");
}

/* "m2 (MessageId 8c1e..., group 1)" into b. */
static void put_msg(struct esmc_buf *b, const struct esmc_world *w,
                    uint32_t rid)
{
  uint32_t g = esmc_sqs_group(w, rid);
  if(rid >= w->nrecords) {
    esmc_buf_printf(b, "message #%" PRIu32 " (unknown)", rid);
    return;
  }
  esmc_buf_printf(b, "%s (MessageId %s", esmc_world_record_name(w, rid),
                  esmc_sqs_message_id(w, rid));
  if(g != UINT32_MAX)
    esmc_buf_printf(b, ", group #%" PRIu32, g);
  esmc_buf_puts(b, ")");
}

static void report_buf(struct esmc_check_ctx *c, int64_t t, struct esmc_buf *b)
{
  esmc_report(c, t, "%s", b->data ? b->data : "");
  esmc_buf_reset(b);
}

/* The invocation a COMPLETE event finishes, or ESMC_NONE. */
static size_t inv_of_complete(const struct esmc_analysis *an,
                              const struct esmc_hevent *e)
{
  if(e->b < 0)
    return ESMC_NONE;
  return esmc_inv_by_ev(an, (size_t)e->b);
}

static const char *result_words(const struct esmc_ainv *iv)
{
  switch(iv->result) {
  case ESMC_R_FAILURE:
    return iv->why[0] ? iv->why : "the batch failed";
  case ESMC_R_PARTIAL:
    return "listed in batchItemFailures";
  default:
    return "failed";
  }
}

/* ---- sqs_batch (SQS-BATCH-1) ------------------------------------------- */

void esmc_check_sqs_batch(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  struct esmc_buf b;
  uint8_t *held;
  uint32_t *seen;
  size_t i, inv = 0;
  held = esmc_calloc(w->nrecords ? w->nrecords : 1, 1);
  seen = esmc_calloc(w->nrecords ? w->nrecords : 1, sizeof(*seen));
  if(!held || !seen) {
    esmc_free(held);
    esmc_free(seen);
    out_of_memory(c);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    uint32_t k;
    switch(e->kind) {
    case ESMC_H_RECEIVED:
      for(k = 0; k < e->nrids; k++)
        if(e->rids[k] < w->nrecords)
          held[e->rids[k]] = 1;
      break;
    case ESMC_H_DELETE:
      if(e->b == 1 && e->a >= 0 && e->a < (int64_t)w->nrecords)
        held[e->a] = 0;
      break;
    case ESMC_H_DESTROY:
      memset(held, 0, w->nrecords);
      break;
    case ESMC_H_INVOKE:
      inv++;
      for(k = 0; k < e->nrids; k++) {
        uint32_t rid = e->rids[k];
        if(rid >= w->nrecords)
          continue;
        if(seen[rid] == inv) {
          esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 " ms carries ",
                          inv, e->t);
          put_msg(&b, w, rid);
          esmc_buf_puts(&b, " twice");
          report_buf(c, e->t, &b);
        } else if(!held[rid]) {
          esmc_buf_printf(&b, "invocation #%zu at t=%" PRId64 " ms carries ",
                          inv, e->t);
          put_msg(&b, w, rid);
          esmc_buf_puts(&b, ", which the mapper had not received, or had "
                            "already deleted");
          report_buf(c, e->t, &b);
        }
        seen[rid] = (uint32_t)inv;
      }
      break;
    default:
      break;
    }
  }
  esmc_buf_free(&b);
  esmc_free(held);
  esmc_free(seen);
}

/* ---- delete_after_success (SQS-DEL-1, SQS-FILTER-1, SQS-PBR-1) ------- */

void esmc_check_delete_after_success(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct esmc_buf b;
  uint32_t rid;
  esmc_buf_init(&b);
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    const struct esmc_hevent *d;
    if(r->fate != ESMC_FATE_LOST)
      continue;
    d = hev(c, r->delete_ev);
    put_msg(&b, w, rid);
    esmc_buf_printf(&b, " was deleted at t=%" PRId64 " ms before any "
                    "invocation succeeded for it", d->t);
    {
      size_t k = ESMC_NONE, j;
      /* The last invocation holding it that started before the delete,
       * throttled ones included. */
      for(j = 0; j < an->ninv && an->inv[j].ev < r->delete_ev; j++) {
        uint32_t q;
        for(q = 0; q < an->inv[j].n; q++)
          if(an->inv[j].rids[q] == rid)
            k = j;
      }
      if(k == ESMC_NONE) {
        esmc_buf_puts(&b, ": it had never been invoked");
        if(w->sc && w->sc->config.filter_count == 0)
          esmc_buf_puts(&b, " and no filter was set");
      } else {
        const struct esmc_ainv *iv = &an->inv[k];
        esmc_buf_printf(&b, ": invocation #%zu (started t=%" PRId64 " ms) ",
                        k + 1, iv->t_start);
        if(iv->done_ev == ESMC_NONE || iv->done_ev > r->delete_ev)
          esmc_buf_puts(&b, "had not completed yet");
        else if(iv->result == ESMC_R_NOT_RUN)
          esmc_buf_puts(&b, "was throttled or hit a service error, which is "
                            "not a success (SQS-ERR-3)");
        else
          esmc_buf_printf(&b, "failed for it (%s)", result_words(iv));
      }
    }
    report_buf(c, d->t, &b);
  }
  esmc_buf_free(&b);
}

/* ---- failed_not_deleted (SQS-ERR-1, SQS-ERR-2, SQS-PBR-2, SQS-PBR-3) -- */

void esmc_check_failed_not_deleted(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct esmc_buf b;
  size_t *failed_by, *last_success, i;
  size_t nrec = w->nrecords ? w->nrecords : 1;
  failed_by = esmc_malloc(nrec * sizeof(*failed_by));
  last_success = esmc_malloc(nrec * sizeof(*last_success));
  if(!failed_by || !last_success) {
    esmc_free(failed_by);
    esmc_free(last_success);
    out_of_memory(c);
    return;
  }
  /* failed_by[rid]: the invocation that last failed for it, until the queue
   * delivers it again; last_success[rid]: the INVOKE event of the latest
   * invocation that succeeded for it. */
  for(i = 0; i < nrec; i++)
    failed_by[i] = last_success[i] = ESMC_NONE;
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    uint32_t k;
    size_t v;
    switch(e->kind) {
    case ESMC_H_RECEIVED:
      for(k = 0; k < e->nrids; k++)
        if(e->rids[k] < w->nrecords)
          failed_by[e->rids[k]] = ESMC_NONE;
      break;
    case ESMC_H_COMPLETE: {
      const struct esmc_ainv *iv;
      v = inv_of_complete(an, e);
      if(v == ESMC_NONE)
        break;
      iv = &an->inv[v];
      if(!iv->item_failed || (iv->result != ESMC_R_FAILURE &&
                              iv->result != ESMC_R_PARTIAL &&
                              iv->result != ESMC_R_SUCCESS))
        break;
      for(k = 0; k < iv->n; k++) {
        uint32_t rid = iv->rids[k];
        if(rid >= w->nrecords)
          continue;
        if(iv->item_failed[k])
          failed_by[rid] = v;
        else
          last_success[rid] = iv->ev;
      }
      break;
    }
    case ESMC_H_DELETE: {
      uint32_t rid;
      const struct esmc_ainv *iv;
      if(e->b != 1 || e->a < 0 || e->a >= (int64_t)w->nrecords)
        break;
      rid = (uint32_t)e->a;
      v = failed_by[rid];
      if(v == ESMC_NONE)
        break;
      iv = &an->inv[v];
      /* A success of a later (duplicate) delivery makes the delete its. */
      if(last_success[rid] != ESMC_NONE && last_success[rid] > iv->ev)
        break;
      put_msg(&b, w, rid);
      esmc_buf_printf(&b, " was deleted at t=%" PRId64 " ms although "
                      "invocation #%zu (started t=%" PRId64 " ms, completed "
                      "t=%" PRId64 " ms) failed for it (%s), and the queue had "
                      "not delivered it again", e->t, v + 1, iv->t_start,
                      iv->t_end, result_words(iv));
      report_buf(c, e->t, &b);
      failed_by[rid] = ESMC_NONE;
      break;
    }
    case ESMC_H_INVOKE:
      v = esmc_inv_by_ev(an, i);
      for(k = 0; k < e->nrids; k++) {
        uint32_t rid = e->rids[k];
        const struct esmc_ainv *iv;
        if(rid >= w->nrecords || failed_by[rid] == ESMC_NONE)
          continue;
        iv = &an->inv[failed_by[rid]];
        put_msg(&b, w, rid);
        esmc_buf_printf(&b, " was invoked again by invocation #%zu at t=%"
                        PRId64 " ms after invocation #%zu failed for it (%s) "
                        "at t=%" PRId64 " ms, without a new receive: retries "
                        "must come from the queue (SQS-ERR-2)",
                        v == ESMC_NONE ? 0 : v + 1, e->t, failed_by[rid] + 1,
                        result_words(iv), iv->t_end);
        report_buf(c, e->t, &b);
        failed_by[rid] = ESMC_NONE;
      }
      break;
    default:
      break;
    }
  }
  esmc_buf_free(&b);
  esmc_free(failed_by);
  esmc_free(last_success);
}

/* ---- sqs_no_loss (SQS-DEL-2, SQS-DEL-3, SQS-DLQ-1, SQS-DLQ-2) -------- */

/* 1 when an invocation holding rid never completed. */
static int in_flight_at_end(const struct esmc_analysis *an, uint32_t rid)
{
  size_t k;
  const struct esmc_arec *r = &an->rec[rid];
  if(r->first_delivery_inv == ESMC_NONE)
    return 0;
  for(k = r->first_delivery_inv; k < an->ninv; k++) {
    uint32_t q;
    if(an->inv[k].done_ev != ESMC_NONE)
      continue;
    for(q = 0; q < an->inv[k].n; q++)
      if(an->inv[k].rids[q] == rid)
        return 1;
  }
  return 0;
}

/* 1 when the history holds a delete_message call for rid after event ev,
 * effective, stale or failed. */
static int delete_tried_after(const struct esmc_check_ctx *c, uint32_t rid,
                              size_t ev)
{
  size_t i;
  for(i = ev + 1; i < c->w->hist.n; i++)
    if(hev(c, i)->kind == ESMC_H_DELETE && hev(c, i)->a == (int64_t)rid)
      return 1;
  return 0;
}

void esmc_check_sqs_no_loss(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  int cut_short = an->end_reason > 0 ||
                  (c->outcome && c->outcome->end != ESMC_END_QUIESCENT);
  struct esmc_buf b;
  size_t i;
  uint32_t rid;
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++)
    if(hev(c, i)->kind == ESMC_H_DEST_SEND) {
      esmc_report(c, hev(c, i)->t, "the mapper sent a failure record to %s at "
                  "t=%" PRId64 " ms; a queue mapping sends none (SQS-DLQ-2)",
                  hev(c, i)->text2 ? hev(c, i)->text2 : "a destination",
                  hev(c, i)->t);
      break;
    }
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_arec *r = &an->rec[rid];
    enum esmc_msg_state st;
    if(!r->in_scope)
      continue;
    if(r->deliveries > r->receives) {
      put_msg(&b, w, rid);
      esmc_buf_printf(&b, " was invoked %" PRIu32 " times but received only %"
                      PRIu32 " times: the mapper retried it on its own "
                      "(SQS-DLQ-1)", r->deliveries, r->receives);
      report_buf(c, -1, &b);
    }
    if(r->fate == ESMC_FATE_LOST) {
      put_msg(&b, w, rid);
      esmc_buf_printf(&b, " is lost: deleted at t=%" PRId64 " ms without any "
                      "invocation succeeding for it", hev(c, r->delete_ev)->t);
      report_buf(c, hev(c, r->delete_ev)->t, &b);
      continue;
    }
    if(r->fate != ESMC_FATE_PENDING || cut_short || !an->final_cfg.enabled)
      continue;
    st = esmc_world_message_state(w, rid, NULL);
    if(st == ESMC_MSG_INFLIGHT || st == ESMC_MSG_DELAYED ||
       st == ESMC_MSG_UNSENT || in_flight_at_end(an, rid))
      continue;
    if(st == ESMC_MSG_DELETED) {
      /* Pending in this view, deleted in the world: another mapping on the
       * queue deleted it (MULTI-2). Not still in the queue; but a success
       * here still owes a delete attempt, stale receipt or not. */
      if(r->success_ev == ESMC_NONE ||
         delete_tried_after(c, rid, r->success_ev))
        continue;
      put_msg(&b, w, rid);
      esmc_buf_printf(&b, " succeeded at t=%" PRId64 " ms but this mapping "
                      "never tried to delete it (SQS-DEL-2); another mapping "
                      "on the queue deleted it later", hev(c, r->success_ev)->t);
      report_buf(c, hev(c, r->success_ev)->t, &b);
      continue;
    }
    put_msg(&b, w, rid);
    if(r->success_ev != ESMC_NONE)
      esmc_buf_printf(&b, " succeeded at t=%" PRId64 " ms but was never "
                      "deleted (SQS-DEL-2); it is still in the queue at the "
                      "end (t=%" PRId64 " ms)", hev(c, r->success_ev)->t,
                      an->end_t);
    else
      esmc_buf_printf(&b, " is still in the queue at the end of the run "
                      "(t=%" PRId64 " ms) after %" PRIu32 " receive%s and %"
                      PRIu32 " invocation%s, with the mapping enabled and "
                      "nothing in flight", an->end_t, r->receives,
                      r->receives == 1 ? "" : "s", r->deliveries,
                      r->deliveries == 1 ? "" : "s");
    report_buf(c, an->end_t, &b);
  }
  esmc_buf_free(&b);
}

/* ---- fifo_group_exclusive (FIFO-1) ------------------------------------ */

/* Judged across mappings (check.c): " of mapping b" after an invocation
 * number when the queue has several, "" otherwise. */
static const char *inv_owner(const struct esmc_check_ctx *c, size_t v,
                             char *buf, size_t size)
{
  const struct esmc_scenario *sc = c->w->sc;
  buf[0] = '\0';
  if(sc && esmc_scenario_mapping_count(sc) > 1 && v < c->an->ninv)
    snprintf(buf, size, " of mapping %s",
             esmc_scenario_mapping_name(sc, c->an->inv[v].mapping));
  return buf;
}

static uint32_t group_count(const struct esmc_world *w)
{
  uint32_t rid, n = 0;
  for(rid = 0; rid < w->nrecords; rid++) {
    uint32_t g = esmc_sqs_group(w, rid);
    if(g != UINT32_MAX && g + 1 > n)
      n = g + 1;
  }
  return n;
}

void esmc_check_fifo_group_exclusive(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  uint32_t ng = group_count(w);
  size_t *holder, *nin, i;
  struct esmc_buf b;
  if(ng == 0)
    return;
  holder = esmc_malloc(ng * sizeof(*holder));
  nin = esmc_calloc(ng, sizeof(*nin));
  if(!holder || !nin) {
    esmc_free(holder);
    esmc_free(nin);
    out_of_memory(c);
    return;
  }
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    size_t v;
    uint32_t k, q;
    if(e->kind == ESMC_H_DESTROY) {
      memset(nin, 0, ng * sizeof(*nin));
      continue;
    }
    if(e->kind != ESMC_H_INVOKE && e->kind != ESMC_H_COMPLETE)
      continue;
    v = e->kind == ESMC_H_INVOKE ? esmc_inv_by_ev(an, i) : inv_of_complete(an, e);
    if(v == ESMC_NONE)
      continue;
    for(k = 0; k < an->inv[v].n; k++) {
      uint32_t rid = an->inv[v].rids[k], g = esmc_sqs_group(w, rid);
      int dup = 0;
      if(g >= ng)
        continue;
      for(q = 0; q < k; q++)
        dup |= esmc_sqs_group(w, an->inv[v].rids[q]) == g;
      if(dup)
        continue;
      if(e->kind == ESMC_H_COMPLETE) {
        if(nin[g] > 0)
          nin[g]--;
        continue;
      }
      if(nin[g] > 0) {
        const struct esmc_ainv *o = &an->inv[holder[g]];
        char m1[96], m2[96];
        esmc_buf_printf(&b, "invocation #%zu%s started at t=%" PRId64 " ms "
                        "with ", v + 1, inv_owner(c, v, m1, sizeof(m1)),
                        e->t);
        put_msg(&b, w, rid);
        esmc_buf_printf(&b, " while invocation #%zu%s (started t=%" PRId64
                        " ms) still held group #%" PRIu32 ": two batches of "
                        "one message group in flight", holder[g] + 1,
                        inv_owner(c, holder[g], m2, sizeof(m2)), o->t_start,
                        g);
        report_buf(c, e->t, &b);
      }
      nin[g]++;
      holder[g] = v;
    }
  }
  esmc_buf_free(&b);
  esmc_free(holder);
  esmc_free(nin);
}

/* ---- fifo_group_order (FIFO-2) ---------------------------------------- */

/* When a message stopped holding its group back: the first of its delete,
 * dead-letter and expiry events, ESMC_NONE when none happened. */
static size_t done_ev(const struct esmc_arec *r)
{
  size_t d = r->delete_ev;
  if(r->dead_letter_ev < d)
    d = r->dead_letter_ev;
  if(r->expired_ev < d)
    d = r->expired_ev;
  return d;
}

/* 1 when a sends before b: by send time, then by case order. */
static int sent_before(const struct esmc_world *w, uint32_t a, uint32_t b)
{
  const struct esmc_wrecord *x = &w->records[a], *y = &w->records[b];
  if(x->at_ms != y->at_ms)
    return x->at_ms < y->at_ms;
  return x->index < y->index;
}

void esmc_check_fifo_group_order(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct esmc_buf b;
  size_t v;
  if(group_count(w) == 0)
    return;
  esmc_buf_init(&b);
  for(v = 0; v < an->ninv; v++) {
    const struct esmc_ainv *iv = &an->inv[v];
    uint32_t k;
    if(iv->result == ESMC_R_NOT_RUN)
      continue;
    for(k = 0; k < iv->n; k++) {
      uint32_t rid = iv->rids[k], p, q;
      uint32_t g = esmc_sqs_group(w, rid);
      if(g == UINT32_MAX)
        continue;
      for(p = 0; p < w->nrecords; p++) {
        int in_batch = 0;
        size_t d;
        char m1[96];
        if(p == rid || esmc_sqs_group(w, p) != g || !an->rec[p].in_scope ||
           !sent_before(w, p, rid))
          continue;
        /* A message filtered out never reaches the function, so it orders
         * no invocation, even while its delete is still failing (FAULT-4). */
        if(an->rec[p].fate == ESMC_FATE_FILTERED)
          continue;
        d = done_ev(&an->rec[p]);
        if(d != ESMC_NONE && d < iv->ev)
          continue;
        for(q = 0; q < k; q++)
          in_batch |= iv->rids[q] == p;
        if(in_batch)
          continue;
        esmc_buf_printf(&b, "invocation #%zu%s at t=%" PRId64 " ms carries ",
                        v + 1, inv_owner(c, v, m1, sizeof(m1)), iv->t_start);
        put_msg(&b, w, rid);
        esmc_buf_puts(&b, " before the earlier ");
        put_msg(&b, w, p);
        esmc_buf_puts(&b, " of its group was done (deleted, dead-lettered or "
                          "expired)");
        if(d != ESMC_NONE)
          esmc_buf_printf(&b, "; that happened only at t=%" PRId64 " ms",
                          hev(c, d)->t);
        report_buf(c, iv->t_start, &b);
        break;
      }
    }
  }
  esmc_buf_free(&b);
}

/* ---- sqs_concurrency (SQS-SCALE-1, SQS-SCALE-2, FIFO-1) --------------- */

void esmc_check_sqs_concurrency(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  const struct esmc_scenario *sc = w->sc;
  struct esmc_effective_config cfg;
  int fifo = sc && sc->source == ESMC_SOURCE_SQS_FIFO;
  uint32_t ng = group_count(w);
  int64_t base = 0, inflight = 0;
  size_t i;
  if(!sc)
    return;
  esmc_effective_config_init(&cfg, sc);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    switch(e->kind) {
    case ESMC_H_CREATE:
      if(e->status == 0)
        base = e->t;
      break;
    case ESMC_H_DESTROY:
      inflight = 0;
      break;
    case ESMC_H_UPDATE:
      if(e->status == 0 && e->a >= 0 && (size_t)e->a < sc->event_count &&
         sc->events[e->a].kind == ESMC_CASE_UPDATE) {
        int was = cfg.enabled;
        esmc_effective_config_update(&cfg, &sc->events[e->a].update);
        if(!was && cfg.enabled)
          base = e->t;
      }
      break;
    case ESMC_H_COMPLETE:
      if(inv_of_complete(an, e) != ESMC_NONE && inflight > 0)
        inflight--;
      break;
    case ESMC_H_INVOKE: {
      size_t v = esmc_inv_by_ev(an, i);
      int64_t rate = cfg.scaling_profile == 1 ? 60 : 300;
      int64_t ceiling = cfg.scaling_profile == 1 ? 1000 : 1250;
      int64_t ramp = 5 + rate * (e->t - base) / 60000;
      inflight++;
      if(ramp > ceiling)
        ramp = ceiling;
      if(cfg.maximum_concurrency > 0 && inflight > cfg.maximum_concurrency)
        esmc_report(c, e->t, "invocation #%zu at t=%" PRId64 " ms made %"
                    PRId64 " invocations in flight, above MaximumConcurrency %"
                    PRId32 " (SQS-SCALE-1)", v == ESMC_NONE ? 0 : v + 1, e->t,
                    inflight, cfg.maximum_concurrency);
      else if(!fifo && inflight > ramp)
        esmc_report(c, e->t, "invocation #%zu at t=%" PRId64 " ms made %"
                    PRId64 " invocations in flight; %.1f minutes after the "
                    "mapping started (t=%" PRId64 " ms) the %s scaling profile "
                    "allows at most %" PRId64 " (5 + %" PRId64 " per minute, "
                    "up to %" PRId64 ") (SQS-SCALE-2)",
                    v == ESMC_NONE ? 0 : v + 1, e->t, inflight,
                    (double)(e->t - base) / 60000.0, base,
                    cfg.scaling_profile == 1 ? "legacy" : "current", ramp,
                    rate, ceiling);
      else if(fifo && inflight > (int64_t)ng)
        esmc_report(c, e->t, "invocation #%zu at t=%" PRId64 " ms made %"
                    PRId64 " invocations in flight on a FIFO queue with %"
                    PRIu32 " message group%s (FIFO-1)",
                    v == ESMC_NONE ? 0 : v + 1, e->t, inflight, ng,
                    ng == 1 ? "" : "s");
      break;
    }
    default:
      break;
    }
  }
}

/* ---- sqs_batch_window (SQS-BATCH-2, SHOULD) --------------------------- */

void esmc_check_sqs_batch_window(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  size_t v;
  if(!w->sc || w->sc->source != ESMC_SOURCE_SQS)
    return;
  for(v = 0; v < an->ninv; v++) {
    const struct esmc_ainv *iv = &an->inv[v];
    int64_t first = INT64_MAX, bytes = hev(c, iv->ev)->a;
    uint32_t k;
    size_t i;
    int retry = 0;
    if(iv->cfg.window_s <= 0 || iv->n == 0 ||
       iv->n >= (uint32_t)iv->cfg.batch_size)
      continue;
    if(bytes + 2 * (bytes / iv->n) > ESMC_MAX_PAYLOAD)
      continue;
    /* The earliest RECEIVE call whose answer delivered one of its messages,
     * looking back from the invocation to the latest delivery of each. */
    for(k = 0; k < iv->n; k++) {
      for(i = iv->ev; i-- > 0;) {
        const struct esmc_hevent *e = hev(c, i);
        uint32_t q;
        int has = 0;
        if(e->kind != ESMC_H_RECEIVED)
          continue;
        for(q = 0; q < e->nrids; q++)
          has |= e->rids[q] == iv->rids[k];
        if(!has)
          continue;
        /* An injected duplicate (SQS-DUP-1) leaves two copies in hand:
         * which one formed the batch is not known, so it is not judged. */
        if(e->b > 0 && e->b - 1 == (int64_t)iv->rids[k])
          retry = 1;
        /* An invocation since that receive carried it already: this one
         * retries that batch (a throttle, SQS-ERR-4), it does not form one. */
        {
          size_t j;
          for(j = i + 1; j < iv->ev && !retry; j++)
            if(hev(c, j)->kind == ESMC_H_INVOKE) {
              uint32_t q2;
              for(q2 = 0; q2 < hev(c, j)->nrids; q2++)
                retry |= hev(c, j)->rids[q2] == iv->rids[k];
            }
        }
        /* Its RECEIVE call has the same handle and comes before it. */
        {
          size_t j;
          for(j = i; j-- > 0;)
            if(hev(c, j)->kind == ESMC_H_RECEIVE && hev(c, j)->id == e->id) {
              if(hev(c, j)->t < first)
                first = hev(c, j)->t;
              break;
            }
        }
        break;
      }
    }
    if(first == INT64_MAX || retry ||
       iv->t_start >= first + (int64_t)iv->cfg.window_s * 1000 ||
       esmc_fault_during(w, first, iv->t_start))
      continue;
    esmc_report(c, iv->t_start, "invocation #%zu at t=%" PRId64 " ms carried "
                "only %" PRIu32 " message%s (first %s) of BatchSize %" PRId32
                ", %" PRId64 " ms after the first receive of its messages at "
                "t=%" PRId64 " ms; MaximumBatchingWindowInSeconds %" PRId32
                " asks it to wait until t=%" PRId64 " ms",
                v + 1, iv->t_start, iv->n, iv->n == 1 ? "" : "s",
                esmc_world_record_name(w, iv->rids[0]), iv->cfg.batch_size,
                iv->t_start - first, first, iv->cfg.window_s,
                first + (int64_t)iv->cfg.window_s * 1000);
  }
}

/* ---- sqs_visibility (SQS-VIS-1, SHOULD) ------------------------------- */

/* The COMPLETE event of the latest invocation that succeeded for rid before
 * event before, or ESMC_NONE. */
static size_t last_success_before(const struct esmc_analysis *an, uint32_t rid,
                                  size_t before)
{
  size_t v, best = ESMC_NONE;
  for(v = 0; v < an->ninv && an->inv[v].ev < before; v++) {
    const struct esmc_ainv *iv = &an->inv[v];
    uint32_t k;
    if(iv->done_ev == ESMC_NONE || iv->done_ev >= before || !iv->item_failed ||
       (iv->result != ESMC_R_SUCCESS && iv->result != ESMC_R_PARTIAL))
      continue;
    for(k = 0; k < iv->n; k++)
      if(iv->rids[k] == rid && !iv->item_failed[k] &&
         (best == ESMC_NONE || iv->done_ev > best))
        best = iv->done_ev;
  }
  return best;
}

/* 1 when the queue delivered rid again between events from and to: a
 * stale handle after a success is then the mapper's delay. A handle made
 * stale earlier, by a duplicate delivery while the mapper still worked, is
 * not. */
static int received_between(const struct esmc_check_ctx *c, uint32_t rid,
                            size_t from, size_t to)
{
  size_t i;
  for(i = from + 1; i < to; i++) {
    const struct esmc_hevent *e = hev(c, i);
    uint32_t k;
    if(e->kind != ESMC_H_RECEIVED)
      continue;
    for(k = 0; k < e->nrids; k++)
      if(e->rids[k] == rid)
        return 1;
  }
  return 0;
}

void esmc_check_sqs_visibility(struct esmc_check_ctx *c)
{
  const struct esmc_analysis *an = c->an;
  const struct esmc_world *w = c->w;
  struct esmc_buf b;
  size_t i;
  esmc_buf_init(&b);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = hev(c, i);
    const struct esmc_arec *r;
    size_t ok;
    if(e->kind != ESMC_H_DELETE || e->b != 0 || e->a < 0 ||
       e->a >= (int64_t)w->nrecords)
      continue;
    r = &an->rec[e->a];
    ok = last_success_before(an, (uint32_t)e->a, i);
    if(ok == ESMC_NONE || (r->delete_ev != ESMC_NONE && r->delete_ev < i) ||
       !received_between(c, (uint32_t)e->a, ok, i) ||
       esmc_fault_during(w, hev(c, ok)->t, e->t))
      continue;
    put_msg(&b, w, (uint32_t)e->a);
    esmc_buf_printf(&b, " was deleted too late: the delete at t=%" PRId64
                    " ms came after an invocation succeeded for it (t=%"
                    PRId64 " ms) but its receipt handle was already stale, so "
                    "the message returns to the queue", e->t,
                    hev(c, ok)->t);
    report_buf(c, e->t, &b);
  }
  esmc_buf_free(&b);
}

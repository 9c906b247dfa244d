/*
 * check_expect.c: the case's exact expectations (sc->expect): the batch of
 * each invocation, the invocation count, the failure-destination records in
 * send order, and the records that must (or must not) reach the function.
 * The property has no spec rule of its own: the case states what its rules
 * imply for its own history.
 */
#include "check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "util.h"
#include "world.h"

/* Appends "r1, r2, r3" (at most 12 names). */
static void put_names(struct esmc_buf *b, const struct esmc_world *w,
                      const uint32_t *rids, uint32_t n)
{
  uint32_t i;
  if(n == 0) {
    esmc_buf_puts(b, "no records");
    return;
  }
  for(i = 0; i < n && i < 12; i++)
    esmc_buf_printf(b, "%s%s", i ? ", " : "",
                    esmc_world_record_name(w, rids[i]));
  if(n > 12)
    esmc_buf_printf(b, ", ... (%" PRIu32 " records)", n);
}

static void put_ids(struct esmc_buf *b, char *const *ids, size_t n)
{
  size_t i;
  if(n == 0) {
    esmc_buf_puts(b, "no records");
    return;
  }
  for(i = 0; i < n && i < 12; i++)
    esmc_buf_printf(b, "%s%s", i ? ", " : "", ids[i] ? ids[i] : "?");
  if(n > 12)
    esmc_buf_printf(b, ", ... (%zu records)", n);
}

static void report_buf(struct esmc_check_ctx *c, int64_t t, struct esmc_buf *b)
{
  esmc_report(c, t, "%s", b->data ? b->data : "(out of memory)");
  esmc_buf_reset(b);
}

/* The record a case id names; reports an unknown id. */
static const struct esmc_wrecord *named(struct esmc_check_ctx *c,
                                        const char *id, const char *where)
{
  const struct esmc_wrecord *r = id ? esmc_world_record_by_id(c->w, id) : NULL;
  if(!r)
    esmc_report(c, -1, "the case expects %s in %s, but it has no such record",
                id ? id : "(null)", where);
  return r;
}

static void expect_batches(struct esmc_check_ctx *c, struct esmc_buf *b)
{
  const struct esmc_expect *x = &c->w->sc->expect;
  const struct esmc_analysis *an = c->an;
  size_t i, k;

  for(i = 0; i < x->batch_count && i < an->ninv; i++) {
    const struct esmc_ainv *v = &an->inv[i];
    size_t len = x->batch_lens ? x->batch_lens[i] : 0;
    int same = len == v->n;
    for(k = 0; same && k < len; k++) {
      const struct esmc_wrecord *r =
          esmc_world_record_by_id(c->w, x->batches[i][k]);
      same = r && r->rid == v->rids[k];
    }
    if(same)
      continue;
    esmc_buf_printf(b, "invocation #%zu at t=%" PRId64 "ms carried ", i + 1,
                    v->t_start);
    put_names(b, c->w, v->rids, v->n);
    esmc_buf_puts(b, "; the case expects ");
    put_ids(b, x->batches[i], len);
    report_buf(c, v->t_start, b);
  }
  if(an->ninv < x->batch_count) {
    esmc_buf_printf(b, "the mapper made %zu invocation%s, the case expects "
                    "%zu; expected invocation #%zu (", an->ninv,
                    an->ninv == 1 ? "" : "s", x->batch_count, an->ninv + 1);
    put_ids(b, x->batches[an->ninv],
            x->batch_lens ? x->batch_lens[an->ninv] : 0);
    esmc_buf_puts(b, ") never happened");
    report_buf(c, -1, b);
  } else if(an->ninv > x->batch_count) {
    const struct esmc_ainv *v = &an->inv[x->batch_count];
    esmc_buf_printf(b, "the mapper made %zu invocations, the case expects "
                    "%zu; invocation #%zu at t=%" PRId64 "ms carried ",
                    an->ninv, x->batch_count, x->batch_count + 1, v->t_start);
    put_names(b, c->w, v->rids, v->n);
    report_buf(c, v->t_start, b);
  }
}

/* The delivered destination records (send status OK), in send order. */
static size_t delivered_dests(const struct esmc_check_ctx *c, size_t *out)
{
  size_t i, n = 0;
  for(i = 0; i < c->an->ndest; i++)
    if(c->an->dest[i].ev < c->w->hist.n &&
       c->w->hist.ev[c->an->dest[i].ev].status == ESMC_OK)
      out[n++] = i;
  return n;
}

/* Compare one destination record with its expectation; the first mismatch
 * goes to b. */
static void expect_one_dest(struct esmc_check_ctx *c, size_t k,
                            const struct esmc_expect_dest *x,
                            const struct esmc_adest *d, struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  int64_t t = w->hist.ev[d->ev].t;
  const struct esmc_wrecord *r;
  const char *what = NULL;
  char got[96], want[96];

  got[0] = want[0] = '\0';
  if(x->condition && strcmp(x->condition, d->condition) != 0) {
    what = "condition";
    snprintf(got, sizeof(got), "%s", d->condition[0] ? d->condition : "(none)");
    snprintf(want, sizeof(want), "%s", x->condition);
  } else if(x->batch_size != ESMC_UNSET && x->batch_size != d->batch_size) {
    what = "batchSize";
    snprintf(got, sizeof(got), "%" PRId64, d->batch_size);
    snprintf(want, sizeof(want), "%" PRId32, x->batch_size);
  } else if(x->first_id && (r = named(c, x->first_id, "a destination record"))
            && (!d->range_known || r->shard != d->shard ||
                r->index != d->first_index)) {
    what = "startSequenceNumber";
    snprintf(got, sizeof(got), "%s",
             d->range_known && d->shard < w->nshards &&
                     d->first_index < w->shards[d->shard].n
                 ? esmc_world_record_name(
                       w, w->shards[d->shard].rids[d->first_index])
                 : "(unknown)");
    snprintf(want, sizeof(want), "%s (seq %s)", x->first_id, r->seq);
  } else if(x->last_id && (r = named(c, x->last_id, "a destination record")) &&
            (!d->range_known || r->shard != d->shard ||
             r->index != d->last_index)) {
    what = "endSequenceNumber";
    snprintf(got, sizeof(got), "%s",
             d->range_known && d->shard < w->nshards &&
                     d->last_index < w->shards[d->shard].n
                 ? esmc_world_record_name(
                       w, w->shards[d->shard].rids[d->last_index])
                 : "(unknown)");
    snprintf(want, sizeof(want), "%s (seq %s)", x->last_id, r->seq);
  } else if(x->approximate_invoke_count != ESMC_UNSET &&
            x->approximate_invoke_count != d->approximate_invoke_count) {
    what = "approximateInvokeCount";
    snprintf(got, sizeof(got), "%" PRId64, d->approximate_invoke_count);
    snprintf(want, sizeof(want), "%" PRId32, x->approximate_invoke_count);
  } else if(x->has_response_context != ESMC_UNSET &&
            (x->has_response_context != 0) != (d->has_response_context != 0)) {
    what = "responseContext";
    snprintf(got, sizeof(got), "%s",
             d->has_response_context ? "present" : "absent");
    snprintf(want, sizeof(want), "%s",
             x->has_response_context ? "present" : "absent");
  } else if(x->function_error &&
            strcmp(x->function_error, d->function_error) != 0) {
    what = "responseContext.functionError";
    snprintf(got, sizeof(got), "%s",
             d->function_error[0] ? d->function_error : "(missing)");
    snprintf(want, sizeof(want), "%s", x->function_error);
  }
  if(!what)
    return;
  esmc_buf_printf(b, "failure record #%zu, sent at t=%" PRId64 "ms, has %s "
                  "%s; the case expects %s", k + 1, t, what, got, want);
  report_buf(c, t, b);
}

static void expect_destinations(struct esmc_check_ctx *c, struct esmc_buf *b)
{
  const struct esmc_expect *x = &c->w->sc->expect;
  size_t *idx, n, i;

  idx = esmc_calloc(c->an->ndest + 1, sizeof(size_t));
  if(!idx)
    return;
  n = delivered_dests(c, idx);
  for(i = 0; i < n && i < x->destination_count; i++)
    expect_one_dest(c, i, &x->destinations[i], &c->an->dest[idx[i]], b);
  if(n != x->destination_count) {
    esmc_buf_printf(b, "%zu failure record%s reached the destination, the "
                    "case expects %zu", n, n == 1 ? "" : "s",
                    x->destination_count);
    if(n > x->destination_count)
      esmc_buf_printf(b, "; the first extra one was sent at t=%" PRId64 "ms",
                      c->w->hist.ev[c->an->dest[idx[x->destination_count]].ev]
                          .t);
    report_buf(c, n > x->destination_count
                      ? c->w->hist.ev[c->an->dest[idx[x->destination_count]].ev]
                            .t
                      : -1,
               b);
  }
  esmc_free(idx);
}

void esmc_check_expectations(struct esmc_check_ctx *c)
{
  const struct esmc_expect *x = &c->w->sc->expect;
  const struct esmc_analysis *an = c->an;
  struct esmc_buf b;
  size_t i;

  esmc_buf_init(&b);
  if(x->batches_given)
    expect_batches(c, &b);
  if(x->invocation_count != ESMC_UNSET &&
     (x->invocation_count < 0 || an->ninv != (size_t)x->invocation_count))
    esmc_report(c, -1, "the mapper made %zu invocation%s, the case expects %"
                PRId32, an->ninv, an->ninv == 1 ? "" : "s",
                x->invocation_count);
  if(x->destinations_given)
    expect_destinations(c, &b);
  for(i = 0; i < x->delivered_count; i++) {
    const struct esmc_wrecord *r = named(c, x->delivered[i], "delivered");
    if(r && an->rec[r->rid].deliveries == 0)
      esmc_report(c, -1, "%s (seq %s, shard %s) never reached the function; "
                  "the case expects it to be delivered", x->delivered[i],
                  r->seq, c->w->shards[r->shard].id);
  }
  for(i = 0; i < x->not_delivered_count; i++) {
    const struct esmc_wrecord *r =
        named(c, x->not_delivered[i], "not_delivered");
    size_t f;
    if(!r || an->rec[r->rid].deliveries == 0)
      continue;
    f = an->rec[r->rid].first_delivery_inv;
    esmc_report(c, f < an->ninv ? an->inv[f].t_start : -1,
                "%s (seq %s, shard %s) reached the function (first in "
                "invocation #%zu at t=%" PRId64 "ms); the case expects it "
                "never to be delivered", x->not_delivered[i], r->seq,
                c->w->shards[r->shard].id, f < an->ninv ? f + 1 : 0,
                f < an->ninv ? an->inv[f].t_start : (int64_t)-1);
  }
  esmc_buf_free(&b);
}

/*
 * check_tw.c: the tumbling_window property (TW-1, TW-2, TW-5, TW-6).
 *
 * It reads the window fields the world stored with each invocation (text2
 * and text3 of ESMC_H_INVOKE, see tw.h) of a mapping whose
 * TumblingWindowInSeconds is above 0:
 *   - TW-2: every invoke carries the fields, with the records' shard (a
 *     known shard for a final invoke) and the stream's ARN;
 *   - TW-1: windows are [k*W, (k+1)*W) of epoch time and hold the arrival of
 *     every record of the batch;
 *   - TW-6: the state carried is the one the window's last successful
 *     invocation returned, {} at its first;
 *   - TW-5: a checkpoint passes a window's records only after its final
 *     invoke succeeded or was given up, and a window whose records are done
 *     and whose end has passed gets its final invoke.
 * TW-3 and TW-8 are judged through the analysis (a response without a state
 * fails the invocation) and retry_limit (final invokes are retried).
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "tw.h"
#include "util.h"
#include "world.h"

#define TW_STATE_MAX 1048576 /* TW-4: the largest state carried */
#define TW_FINAL_SLACK_MS 5000

static const struct esmc_hevent *ev_at(const struct esmc_check_ctx *c,
                                       size_t i)
{
  return &c->w->hist.ev[i];
}

static const char *shard_name(const struct esmc_world *w, uint64_t s)
{
  return s < w->nshards ? w->shards[s].id : "(unknown)";
}

static int64_t floor_div(int64_t a, int64_t b)
{
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t arrival(const struct esmc_world *w, uint32_t rid)
{
  return w->epoch_ms + w->records[rid].at_ms;
}

static void put_window(struct esmc_buf *b, int64_t start, int64_t end)
{
  esmc_buf_iso8601(b, start, 0);
  esmc_buf_puts(b, " to ");
  esmc_buf_iso8601(b, end, 0);
}

/* "invocation #3 at t=1200 ms (shard X, window A to B)" */
static void put_inv(struct esmc_buf *b, const struct esmc_check_ctx *c,
                    size_t k, const struct esmc_tw_info *ti)
{
  const struct esmc_ainv *iv = &c->an->inv[k];
  esmc_buf_printf(b, "invocation #%zu at t=%" PRId64 " ms (shard %s", k + 1,
                  iv->t_start, shard_name(c->w, iv->shard));
  if(ti) {
    esmc_buf_puts(b, ", window ");
    put_window(b, ti->start_ms, ti->end_ms);
    if(ti->final)
      esmc_buf_puts(b, ", final invoke");
  }
  esmc_buf_putc(b, ')');
}

/* A JSON text for a message, cut at 80 bytes. */
static void put_json(struct esmc_buf *b, const char *s, size_t n)
{
  if(n > 80)
    esmc_buf_printf(b, "%.77s...", s);
  else
    esmc_buf_put(b, s, n);
}

static void report_buf(struct esmc_check_ctx *c, int64_t t, struct esmc_buf *b)
{
  esmc_report(c, t, "%s", b->data ? b->data : "");
  esmc_buf_reset(b);
}

/* ------------------------------------------------------------------------ */
/* TW-1, TW-2: the fields of each invoke.                                    */

static void check_fields(struct esmc_check_ctx *c, size_t k,
                         struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  const struct esmc_ainv *iv = &c->an->inv[k];
  const struct esmc_hevent *e = ev_at(c, iv->ev);
  int64_t wms = (int64_t)iv->cfg.tumbling_window_s * 1000;
  struct esmc_tw_info ti;
  uint32_t j;

  if(esmc_tw_info_parse(e->text2, &ti)) {
    put_inv(b, c, k, NULL);
    esmc_buf_printf(b, " carries no valid tumbling-window fields though "
                    "TumblingWindowInSeconds is %" PRId32 ": %s (TW-2)",
                    iv->cfg.tumbling_window_s,
                    e->text ? e->text : "the event has no \"window\"");
    report_buf(c, iv->t_start, b);
    return;
  }
  if(ti.final && iv->n > 0) {
    put_inv(b, c, k, &ti);
    esmc_buf_printf(b, " has isFinalInvokeForWindow true but carries %" PRIu32
                    " record%s; a final invoke has \"Records\":[] (TW-2)",
                    iv->n, iv->n == 1 ? "" : "s");
    report_buf(c, iv->t_start, b);
    return;
  }
  if(ti.early && !ti.final) {
    put_inv(b, c, k, &ti);
    esmc_buf_puts(b, " has isWindowTerminatedEarly true but is not a final "
                     "invoke (TW-2)");
    report_buf(c, iv->t_start, b);
    return;
  }
  if(iv->n > 0 && iv->shard < w->nshards && ti.shard != (int64_t)iv->shard) {
    put_inv(b, c, k, &ti);
    if(ti.shard < 0)
      esmc_buf_printf(b, ": its shardId names no shard of the stream; "
                      "expected %s, the shard of its records (TW-2)",
                      shard_name(w, iv->shard));
    else
      esmc_buf_printf(b, ": its shardId is %s, expected %s, the shard of its "
                      "records (TW-2)", shard_name(w, (uint64_t)ti.shard),
                      shard_name(w, iv->shard));
    report_buf(c, iv->t_start, b);
    return;
  }
  if(iv->n == 0 && ti.shard < 0) {
    put_inv(b, c, k, &ti);
    esmc_buf_puts(b, ": its shardId names no shard of the stream; expected "
                     "the id of the shard whose window it closes (TW-2)");
    report_buf(c, iv->t_start, b);
    return;
  }
  if(!ti.arn_ok) {
    put_inv(b, c, k, &ti);
    esmc_buf_printf(b, ": its eventSourceARN is not the stream's ARN; "
                    "expected %s (TW-2)", w->stream_arn);
    report_buf(c, iv->t_start, b);
    return;
  }
  if(wms <= 0)
    return;
  if(ti.end_ms - ti.start_ms != wms || floor_div(ti.start_ms, wms) * wms !=
                                           ti.start_ms) {
    put_inv(b, c, k, &ti);
    esmc_buf_printf(b, ": with TumblingWindowInSeconds %" PRId32 " a window "
                    "is [k*%" PRId32 " s, (k+1)*%" PRId32 " s) of epoch "
                    "time", iv->cfg.tumbling_window_s,
                    iv->cfg.tumbling_window_s, iv->cfg.tumbling_window_s);
    if(iv->n > 0 && iv->rids[0] < w->nrecords) {
      int64_t s0 = floor_div(arrival(w, iv->rids[0]), wms) * wms;
      esmc_buf_printf(b, "; expected window ");
      put_window(b, s0, s0 + wms);
      esmc_buf_printf(b, ", the one of %s's arrival",
                      esmc_world_record_name(w, iv->rids[0]));
    }
    esmc_buf_puts(b, " (TW-1)");
    report_buf(c, iv->t_start, b);
    return;
  }
  for(j = 0; j < iv->n; j++) {
    uint32_t rid = iv->rids[j];
    int64_t at, s0;
    if(rid >= w->nrecords)
      continue;
    at = arrival(w, rid);
    if(at >= ti.start_ms && at < ti.end_ms)
      continue;
    s0 = floor_div(at, wms) * wms;
    put_inv(b, c, k, &ti);
    esmc_buf_printf(b, " carries %s (seq %s), which arrived at ",
                    esmc_world_record_name(w, rid), w->records[rid].seq);
    esmc_buf_iso8601(b, at, 1);
    esmc_buf_puts(b, " and belongs to window ");
    put_window(b, s0, s0 + wms);
    esmc_buf_puts(b, "; a batch holds the records of one window only (TW-1)");
    report_buf(c, iv->t_start, b);
    return;
  }
}

/* ------------------------------------------------------------------------ */
/* The walk: TW-6 and TW-5, in history order.                                */

/* The state a shard carries into its next invoke (TW-6). */
struct carried {
  int has;                 /* a window instance with a returned state */
  int64_t start, end;
  const char *state;       /* borrowed from a COMPLETE's text */
  size_t len;
  size_t from;             /* the invocation that returned it */
  int skip;                /* an oversized state ended this window */
  int64_t skip_start, skip_end;
};

/* A window of a shard that an invocation opened (TW-5). */
struct owin {
  uint32_t shard;
  int64_t start, end;      /* canonical bounds, epoch ms */
  size_t last_rec_inv;     /* the last invocation carrying its records */
  size_t close_ev;         /* its last successful or given-up final, or NONE */
  size_t final_inv;        /* a final invoke after last_rec_inv, or NONE */
  uint32_t fails;          /* consecutive failed final invokes */
};

struct walk {
  struct carried *car;     /* per shard */
  int64_t *covered;        /* per shard: highest index checkpointed */
  ESMC_VEC(struct owin) win;
};

static void walk_free(struct walk *wk)
{
  esmc_free(wk->car);
  esmc_free(wk->covered);
  ESMC_VEC_FREE(wk->win);
}

/* The window of shard s holding time t, or NULL. The newest match wins. */
static struct owin *win_find(struct walk *wk, uint32_t s, int64_t t)
{
  size_t i = wk->win.n;
  while(i-- > 0)
    if(wk->win.v[i].shard == s && wk->win.v[i].start <= t &&
       t < wk->win.v[i].end)
      return &wk->win.v[i];
  return NULL;
}

static struct owin *win_open(struct walk *wk, uint32_t s, int64_t start,
                             int64_t end)
{
  struct owin o, *f = win_find(wk, s, start);
  if(f && f->start == start && f->end == end)
    return f;
  memset(&o, 0, sizeof(o));
  o.shard = s;
  o.start = start;
  o.end = end;
  o.last_rec_inv = ESMC_NONE;
  o.close_ev = ESMC_NONE;
  o.final_inv = ESMC_NONE;
  if(ESMC_VEC_PUSH(wk->win, o))
    return NULL;
  return &wk->win.v[wk->win.n - 1];
}

/* TW-6 at the start of invocation k. */
static void check_state(struct esmc_check_ctx *c, struct walk *wk, size_t k,
                        const struct esmc_tw_info *ti, struct esmc_buf *b)
{
  const struct esmc_ainv *iv = &c->an->inv[k];
  const struct esmc_hevent *e = ev_at(c, iv->ev);
  struct carried *cr = &wk->car[iv->shard];
  int same = cr->has && cr->start == ti->start_ms && cr->end == ti->end_ms;
  const char *want = same ? cr->state : "{}";
  size_t want_len = same ? cr->len : 2;

  if(cr->skip) {
    if(cr->skip_start == ti->start_ms && cr->skip_end == ti->end_ms)
      return;
    cr->skip = 0;
  }
  if(!e->text3 || esmc_tw_json_equal(e->text3, strlen(e->text3), want,
                                     want_len))
    return;
  put_inv(b, c, k, ti);
  esmc_buf_puts(b, " carried state ");
  put_json(b, e->text3, strlen(e->text3));
  if(same) {
    esmc_buf_printf(b, ", but the window's last successful invocation #%zu "
                    "returned ", cr->from + 1);
    put_json(b, want, want_len);
    esmc_buf_puts(b, ", the state it must carry (TW-6)");
  } else {
    esmc_buf_puts(b, ", but no invocation of this window instance succeeded "
                     "before it, so it must carry {} (TW-6)");
  }
  report_buf(c, iv->t_start, b);
}

/* A completed invocation k: the state it returned (TW-6) and the windows it
 * closed (TW-5). */
static void on_complete(const struct esmc_check_ctx *c, struct walk *wk,
                        size_t k, size_t ev, const struct esmc_tw_info *ti)
{
  const struct esmc_ainv *iv = &c->an->inv[k];
  const struct esmc_hevent *e = ev_at(c, ev);
  struct carried *cr = &wk->car[iv->shard];
  int32_t mra = iv->cfg.maximum_retry_attempts;
  size_t off = 0, len = 0;

  if(ti->final) {
    struct owin *o = NULL;
    size_t i = wk->win.n;
    while(i-- > 0 && !o)
      if(wk->win.v[i].shard == iv->shard && wk->win.v[i].start == ti->start_ms)
        o = &wk->win.v[i];
    if(iv->result == ESMC_R_SUCCESS) {
      if(cr->has && cr->start == ti->start_ms && cr->end == ti->end_ms)
        cr->has = 0;
      if(o) {
        o->close_ev = ev;
        o->fails = 0;
      }
    } else if(iv->result == ESMC_R_FAILURE && o) {
      /* TW-8: given up after 1 + MaximumRetryAttempts failures. */
      if(++o->fails >= (uint32_t)mra + 1 && mra >= 0) {
        o->close_ev = ev;
        o->fails = 0;
        if(cr->has && cr->start == ti->start_ms && cr->end == ti->end_ms)
          cr->has = 0;
      }
    }
    return;
  }
  if(iv->result != ESMC_R_SUCCESS &&
     !(iv->result == ESMC_R_PARTIAL && iv->failed_from > 0))
    return;
  if(!esmc_tw_response_state(e->text, e->text_len, &off, &len))
    return;
  if(len > TW_STATE_MAX) {
    /* TW-4: the window ends early; its rest is not judged here. */
    cr->has = 0;
    cr->skip = 1;
    cr->skip_start = ti->start_ms;
    cr->skip_end = ti->end_ms;
    return;
  }
  cr->has = 1;
  cr->start = ti->start_ms;
  cr->end = ti->end_ms;
  cr->state = e->text + off;
  cr->len = len;
  cr->from = k;
}

/* The records of invocation k open their windows (TW-5). */
static int on_records(struct walk *wk, const struct esmc_check_ctx *c,
                      size_t k)
{
  const struct esmc_world *w = c->w;
  const struct esmc_ainv *iv = &c->an->inv[k];
  int64_t wms = (int64_t)iv->cfg.tumbling_window_s * 1000;
  uint32_t j;
  for(j = 0; j < iv->n; j++) {
    struct owin *o;
    int64_t at, s0;
    if(iv->rids[j] >= w->nrecords || w->records[iv->rids[j]].shard != iv->shard)
      continue;
    at = arrival(w, iv->rids[j]);
    s0 = floor_div(at, wms) * wms;
    o = win_open(wk, iv->shard, s0, s0 + wms);
    if(!o)
      return -1;
    o->last_rec_inv = k;
    o->final_inv = ESMC_NONE;
  }
  return 0;
}

/* A checkpoint: the records it newly covers must not be in a window whose
 * final invoke has not succeeded or been given up (TW-5). */
static void on_checkpoint(struct esmc_check_ctx *c, struct walk *wk,
                          const struct esmc_hevent *e, struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  const struct esmc_wshard *sh;
  int64_t x;
  if(e->shard >= w->nshards)
    return;
  sh = &w->shards[e->shard];
  for(x = wk->covered[e->shard] + 1; x <= e->a && x < (int64_t)sh->n; x++) {
    uint32_t rid = sh->rids[x];
    const struct owin *o = win_find(wk, e->shard, arrival(w, rid));
    if(!o || o->last_rec_inv == ESMC_NONE ||
       (o->close_ev != ESMC_NONE &&
        o->close_ev > c->an->inv[o->last_rec_inv].ev))
      continue;
    esmc_buf_printf(b, "the checkpoint at t=%" PRId64 " ms (shard %s, seq "
                    "%s) covers %s (seq %s) of window ", e->t, sh->id,
                    e->text ? e->text : "?", esmc_world_record_name(w, rid),
                    w->records[rid].seq);
    put_window(b, o->start, o->end);
    esmc_buf_printf(b, " (last carried by invocation #%zu), but the window's "
                    "final invoke had not succeeded or been given up; a "
                    "window's records are checkpointed only after its final "
                    "invoke (TW-5)", o->last_rec_inv + 1);
    report_buf(c, e->t, b);
    break;
  }
  if(e->a > wk->covered[e->shard])
    wk->covered[e->shard] = e->a;
}

/* After the run: every window whose records are done and whose end passed
 * TW_FINAL_SLACK_MS before the end got a final invoke (TW-5). */
static void check_missing_finals(struct esmc_check_ctx *c, struct walk *wk,
                                 int enabled_at_end, struct esmc_buf *b)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  int64_t end_abs = w->epoch_ms + an->end_t;
  size_t i;

  if(!enabled_at_end || (c->outcome && c->outcome->end != ESMC_END_QUIESCENT &&
                         c->outcome->end != ESMC_END_HORIZON))
    return;
  for(i = 0; i < wk->win.n; i++) {
    const struct owin *o = &wk->win.v[i];
    const struct esmc_wshard *sh = &w->shards[o->shard];
    int64_t done_t = -1;
    uint32_t x, first = UINT32_MAX, last = 0;
    int done = 1;
    if(o->last_rec_inv == ESMC_NONE || o->final_inv != ESMC_NONE ||
       o->end + TW_FINAL_SLACK_MS > end_abs)
      continue;
    for(x = 0; x < sh->n && done; x++) {
      uint32_t rid = sh->rids[x];
      const struct esmc_arec *r = &an->rec[rid];
      int64_t at = arrival(w, rid);
      if(at < o->start || at >= o->end || !r->in_scope)
        continue;
      if(r->settled_ev == ESMC_NONE || r->settled_ev >= w->hist.n) {
        done = 0;
        break;
      }
      if(ev_at(c, r->settled_ev)->t > done_t)
        done_t = ev_at(c, r->settled_ev)->t;
      if(first == UINT32_MAX)
        first = rid;
      last = rid;
    }
    if(!done || first == UINT32_MAX ||
       done_t + TW_FINAL_SLACK_MS > an->end_t)
      continue;
    esmc_buf_printf(b, "shard %s: window ", sh->id);
    put_window(b, o->start, o->end);
    esmc_buf_printf(b, " (records %s to %s, last carried by invocation #%zu) "
                    "ended at t=%" PRId64 " ms and its records were done by "
                    "t=%" PRId64 " ms, but no final invoke followed by the end "
                    "of the run at t=%" PRId64 " ms; expected an invoke with "
                    "\"Records\":[] and isFinalInvokeForWindow true (TW-5)",
                    esmc_world_record_name(w, first),
                    esmc_world_record_name(w, last), o->last_rec_inv + 1,
                    o->end - w->epoch_ms, done_t, an->end_t);
    report_buf(c, an->end_t, b);
  }
}

void esmc_check_tumbling_window(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  const struct esmc_scenario *sc = w->sc;
  struct esmc_effective_config cfg;
  struct walk wk;
  struct esmc_buf b;
  size_t i, k, any = 0;

  for(k = 0; k < an->ninv; k++)
    if(an->inv[k].cfg.tumbling_window_s > 0)
      any++;
  if(!any)
    return;
  esmc_buf_init(&b);
  for(k = 0; k < an->ninv; k++)
    if(an->inv[k].cfg.tumbling_window_s > 0)
      check_fields(c, k, &b);

  memset(&wk, 0, sizeof(wk));
  wk.car = esmc_calloc((size_t)w->nshards + 1, sizeof(*wk.car));
  wk.covered = esmc_calloc((size_t)w->nshards + 1, sizeof(*wk.covered));
  if(!wk.car || !wk.covered) {
    walk_free(&wk);
    esmc_buf_free(&b);
    return;
  }
  for(i = 0; i < w->nshards; i++)
    wk.covered[i] = -1;
  esmc_effective_config_init(&cfg, sc);
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = ev_at(c, i);
    const struct esmc_ainv *iv;
    struct esmc_tw_info ti;
    switch(e->kind) {
    case ESMC_H_UPDATE:
      if(e->status == 0 && e->a >= 0 && (size_t)e->a < sc->event_count &&
         sc->events[e->a].kind == ESMC_CASE_UPDATE)
        esmc_effective_config_update(&cfg, &sc->events[e->a].update);
      break;
    case ESMC_H_DESTROY: {
      /* A restart drops every window's state (the spec leaves state across
       * a restart unjudged, so the windows start afresh). */
      uint32_t s;
      for(s = 0; s < w->nshards; s++)
        memset(&wk.car[s], 0, sizeof(wk.car[s]));
      for(k = 0; k < wk.win.n; k++)
        wk.win.v[k].fails = 0;
      break;
    }
    case ESMC_H_INVOKE:
      k = esmc_inv_by_ev(an, i);
      if(k == ESMC_NONE)
        break;
      iv = &an->inv[k];
      if(iv->cfg.tumbling_window_s <= 0 || iv->shard >= w->nshards ||
         esmc_tw_info_parse(e->text2, &ti))
        break;
      check_state(c, &wk, k, &ti, &b);
      if(iv->n > 0) {
        if(on_records(&wk, c, k))
          goto out;
      } else if(ti.final) {
        struct owin *o = NULL;
        size_t j = wk.win.n;
        while(j-- > 0 && !o)
          if(wk.win.v[j].shard == iv->shard &&
             wk.win.v[j].start == ti.start_ms)
            o = &wk.win.v[j];
        if(o && o->final_inv == ESMC_NONE)
          o->final_inv = k;
      }
      break;
    case ESMC_H_COMPLETE:
      if(e->b < 0)
        break;
      k = esmc_inv_by_ev(an, (size_t)e->b);
      if(k == ESMC_NONE)
        break;
      iv = &an->inv[k];
      if(iv->cfg.tumbling_window_s <= 0 || iv->shard >= w->nshards ||
         esmc_tw_info_parse(ev_at(c, iv->ev)->text2, &ti))
        break;
      on_complete(c, &wk, k, i, &ti);
      break;
    case ESMC_H_CHECKPOINT:
      on_checkpoint(c, &wk, e, &b);
      break;
    default:
      break;
    }
  }
  check_missing_finals(c, &wk, cfg.enabled != 0, &b);
out:
  walk_free(&wk);
  esmc_buf_free(&b);
}

/*
 * check_fault.c: the checkers of account faults and of several mappings on
 * one source (spec/faults.md).
 *
 *   fault_backoff (FAULT-8, SHOULD): while a host call keeps failing with a
 *     throttle, a service error or AccessDenied, the mapper backs off: no 11
 *     consecutive failures of one call fall within one second, counted per
 *     mapping and, for get_shard_iterator, get_records and
 *     send_to_destination (the shard its failure record names), per shard.
 *   shared_queue_holder (MULTI-2): mappings on one queue compete; a mapping
 *     invokes a message only while it holds the message's latest receipt.
 *     A cross property: it reads the whole history, every mapping at once.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"

static void out_of_memory(struct esmc_check_ctx *c)
{
  esmc_report(c, -1, "esmcheck ran out of memory while checking this "
              "property");
}


/* ---- fault_backoff (FAULT-8, SHOULD) ---------------------------------- */

/* FAULT-8: at most BACKOFF_MAX failed attempts of one call per second. */
#define BACKOFF_MAX 10
#define BACKOFF_WINDOW_MS 1000

/* The host call of a history kind, or -1 for kinds that are not calls a
 * fault can hit. */
static int call_of(uint32_t kind)
{
  switch(kind) {
  case ESMC_H_LIST_SHARDS: return ESMC_FC_LIST_SHARDS;
  case ESMC_H_GET_ITERATOR: return ESMC_FC_GET_SHARD_ITERATOR;
  case ESMC_H_GET_RECORDS: return ESMC_FC_GET_RECORDS;
  case ESMC_H_DEST_SEND: return ESMC_FC_SEND_TO_DESTINATION;
  case ESMC_H_QUEUE_ATTRIBUTES: return ESMC_FC_GET_QUEUE_ATTRIBUTES;
  case ESMC_H_RECEIVE: return ESMC_FC_RECEIVE_MESSAGES;
  case ESMC_H_DELETE: return ESMC_FC_DELETE_MESSAGE;
  case ESMC_H_VISIBILITY: return ESMC_FC_CHANGE_MESSAGE_VISIBILITY;
  default: return -1;
  }
}

/* The failures a mapper must back off from: "try later" answers. An
 * expired iterator or a trimmed position asks for a new iterator at once. */
static int backoff_status(int32_t st)
{
  return st == ESMC_E_THROTTLED || st == ESMC_E_SERVICE ||
         st == ESMC_E_ACCESS_DENIED;
}

/* The last BACKOFF_MAX + 1 failures of one (mapping, call, shard). */
struct failrun {
  uint32_t mapping, shard;
  int call;
  int reported;
  size_t n;                            /* failures seen */
  size_t ev[BACKOFF_MAX + 1];          /* ring of event indexes */
};

void esmc_check_fault_backoff(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_analysis *an = c->an;
  ESMC_VEC(struct failrun) runs = {NULL, 0, 0};
  size_t i, k, dk = 0;

  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    const struct esmc_hevent *first;
    struct failrun *r = NULL;
    int call = call_of(e->kind);
    uint32_t shard = e->shard;
    size_t oldest;
    if(call < 0 || e->status >= 0 || !backoff_status(e->status))
      continue;
    /* A failure record's shard is in its payload (FAULT-8 counts sends per
     * shard). */
    if(e->kind == ESMC_H_DEST_SEND) {
      while(dk < an->ndest && an->dest[dk].ev < i)
        dk++;
      shard = dk < an->ndest && an->dest[dk].ev == i ? an->dest[dk].shard
                                                     : ESMC_NO_SHARD;
    }
    for(k = 0; k < runs.n && !r; k++)
      if(runs.v[k].mapping == e->mapping && runs.v[k].call == call &&
         runs.v[k].shard == shard)
        r = &runs.v[k];
    if(!r) {
      struct failrun z;
      memset(&z, 0, sizeof(z));
      z.mapping = e->mapping;
      z.shard = shard;
      z.call = call;
      if(ESMC_VEC_PUSH(runs, z)) {
        out_of_memory(c);
        break;
      }
      r = &runs.v[runs.n - 1];
    }
    r->ev[r->n % (BACKOFF_MAX + 1)] = i;
    r->n++;
    if(r->n < BACKOFF_MAX + 1 || r->reported)
      continue;
    /* The ring is full: its oldest entry is the one after the newest. */
    oldest = r->ev[r->n % (BACKOFF_MAX + 1)];
    first = &w->hist.ev[oldest];
    if(e->t - first->t >= BACKOFF_WINDOW_MS)
      continue;
    r->reported = 1;
    if(shard != ESMC_NO_SHARD && shard < w->nshards)
      esmc_report(c, first->t, "%s of %s failed %d times within %" PRId64
                  " ms (t=%" PRId64 " ms to t=%" PRId64 " ms), the last with "
                  "%s: the mapper retried without backing off; at most %d "
                  "failed attempts of one call per second are allowed "
                  "(FAULT-8)", esmc_fault_call_name((unsigned)call),
                  w->shards[shard].id, BACKOFF_MAX + 1, e->t - first->t,
                  first->t, e->t, esmc_status_words(e->status), BACKOFF_MAX);
    else
      esmc_report(c, first->t, "%s failed %d times within %" PRId64 " ms (t=%"
                  PRId64 " ms to t=%" PRId64 " ms), the last with %s: the "
                  "mapper retried without backing off; at most %d failed "
                  "attempts of one call per second are allowed (FAULT-8)",
                  esmc_fault_call_name((unsigned)call), BACKOFF_MAX + 1,
                  e->t - first->t, first->t, e->t, esmc_status_words(e->status),
                  BACKOFF_MAX);
  }
  ESMC_VEC_FREE(runs);
}

/* ---- shared_queue_holder (MULTI-2) ------------------------------------ */

/*
 * Every message an invocation of mapping m carries must have, as its latest
 * delivery (ESMC_H_RECEIVED) before that invocation, one made to m: once
 * another mapping received it, m's receipt is stale and the message is no
 * longer m's to process. An invocation of a message no mapping received is
 * sqs_batch's to judge, in the view of that mapping.
 *
 * Not judged yet: an invoke after the holder's own visibility timeout ran
 * out with no other receive in between (spec/faults.md MULTI-2, third
 * condition); RECEIVED a now records the timeout a receive got, but
 * ChangeMessageVisibility extensions would have to be followed too.
 *
 * A duplicate the queue injected (SQS-DUP-1; RECEIVED b names it) does not
 * take the message from its holder: the holder and every mapping that got a
 * copy since may process it.
 *
 * Not judged here: two mappings both processing one message to success.
 * A receive only returns a message the queue made visible (its visibility
 * timeout ran out) or, on a standard queue, a duplicate the world injected;
 * either way the second delivery is the queue's doing, not a mapper's. What
 * a mapper can get wrong is acting on a receipt that is no longer the
 * latest, which is what this checks.
 */
void esmc_check_shared_queue_holder(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  const struct esmc_scenario *sc = w->sc;
  size_t *latest, i;
  uint64_t *dup; /* per message: mappings holding an injected duplicate */
  uint32_t rid;
  int fired = 0;

  if(!sc || w->nrecords == 0)
    return;
  latest = esmc_malloc(w->nrecords * sizeof(*latest));
  if(!latest) {
    out_of_memory(c);
    return;
  }
  dup = esmc_calloc(w->nrecords, sizeof(*dup));
  if(!dup) {
    esmc_free(latest);
    out_of_memory(c);
    return;
  }
  for(rid = 0; rid < w->nrecords; rid++)
    latest[rid] = ESMC_NONE;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    uint32_t k;
    if(e->kind == ESMC_H_RECEIVED) {
      for(k = 0; k < e->nrids; k++) {
        rid = e->rids[k];
        if(rid >= w->nrecords)
          continue;
        if(e->b > 0 && (int64_t)rid == e->b - 1) {
          /* A duplicate the queue injected (SQS-DUP-1): the copy is this
           * mapping's too, and the earlier holder keeps its own. */
          if(e->mapping < 64)
            dup[rid] |= UINT64_C(1) << e->mapping;
          continue;
        }
        latest[rid] = i;
        dup[rid] = 0;
      }
      continue;
    }
    if(e->kind != ESMC_H_INVOKE)
      continue;
    for(k = 0; k < e->nrids; k++) {
      const struct esmc_hevent *r;
      const char *mine, *theirs;
      size_t j, mine_ev = ESMC_NONE;
      rid = e->rids[k];
      if(rid >= w->nrecords || latest[rid] == ESMC_NONE)
        continue;
      r = &w->hist.ev[latest[rid]];
      if(r->mapping == e->mapping ||
         (e->mapping < 64 && (dup[rid] & (UINT64_C(1) << e->mapping))))
        continue;
      if(fired) {
        esmc_report(c, e->t, "more"); /* counted, not described */
        continue;
      }
      fired = 1;
      /* The invoking mapping's own latest receive of it, for the message. */
      for(j = latest[rid]; j-- > 0 && mine_ev == ESMC_NONE;) {
        const struct esmc_hevent *x = &w->hist.ev[j];
        uint32_t q;
        if(x->kind != ESMC_H_RECEIVED || x->mapping != e->mapping)
          continue;
        for(q = 0; q < x->nrids; q++)
          if(x->rids[q] == rid)
            mine_ev = j;
      }
      mine = esmc_scenario_mapping_name(sc, e->mapping);
      theirs = esmc_scenario_mapping_name(sc, r->mapping);
      if(mine_ev != ESMC_NONE)
        esmc_report(c, e->t, "mapping %s invoked message %s (MessageId %s) at "
                    "t=%" PRId64 " ms, but its latest receive (t=%" PRId64
                    " ms) was mapping %s's, after %s's own at t=%" PRId64
                    " ms: %s no longer held it (MULTI-2)", mine,
                    esmc_world_record_name(w, rid),
                    esmc_sqs_message_id(w, rid), e->t, r->t, theirs, mine,
                    w->hist.ev[mine_ev].t, mine);
      else
        esmc_report(c, e->t, "mapping %s invoked message %s (MessageId %s) at "
                    "t=%" PRId64 " ms, but its latest receive (t=%" PRId64
                    " ms) was mapping %s's, and %s never received it: %s did "
                    "not hold it (MULTI-2)", mine,
                    esmc_world_record_name(w, rid),
                    esmc_sqs_message_id(w, rid), e->t, r->t, theirs, mine,
                    mine);
    }
  }
  esmc_free(latest);
  esmc_free(dup);
}

/*
 * check_poll.c: the idle polling rate (POLL-1, SHOULD). While a shard is
 * caught up, Lambda polls it about once per second (Kinesis) or four times
 * per second (DynamoDB). Over each idle stretch of at least 10 s (empty
 * polls of one shard with no records read and no invocation of the shard in
 * between), the mean gap between polls should lie within half and twice the
 * nominal interval: far faster hammers the shard's read limits, far slower
 * delays every record.
 */
#include <inttypes.h>
#include <string.h>

#include "check.h"

#define MIN_STRETCH_MS 10000

struct stretch {
  int64_t first, last;
  uint64_t polls;
};

static void judge(struct esmc_check_ctx *c, uint32_t shard,
                  const struct stretch *st, int64_t nominal)
{
  int64_t span = st->last - st->first, mean;
  if(st->polls < 2 || span < MIN_STRETCH_MS ||
     esmc_fault_during(c->w, st->first, st->last))
    return;
  mean = span / (int64_t)(st->polls - 1);
  if(mean * 2 >= nominal && mean <= nominal * 2)
    return;
  esmc_report(c, st->first,
              "%s was idle from t=%" PRId64 " ms to t=%" PRId64 " ms and was "
              "polled %" PRIu64 " times, one poll every %" PRId64 " ms on "
              "average; the expected idle rate is one poll every %" PRId64
              " ms (between %" PRId64 " and %" PRId64 " ms)",
              c->w->shards[shard].id, st->first, st->last, st->polls, mean,
              nominal, nominal / 2, nominal * 2);
}

void esmc_check_poll_rate(struct esmc_check_ctx *c)
{
  const struct esmc_world *w = c->w;
  int64_t nominal = w->sc->source == ESMC_SOURCE_DYNAMODB ? 250 : 1000;
  struct stretch *st;
  uint32_t s;
  size_t i;

  st = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*st));
  if(!st) {
    esmc_report(c, -1, "esmcheck ran out of memory while checking this "
                "property");
    return;
  }
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    if(e->kind == ESMC_H_UPDATE || e->kind == ESMC_H_CREATE ||
       e->kind == ESMC_H_DESTROY) {
      /* A pause or restart ends every stretch. */
      for(s = 0; s < w->nshards; s++) {
        judge(c, s, &st[s], nominal);
        memset(&st[s], 0, sizeof(st[s]));
      }
      continue;
    }
    if(e->shard >= w->nshards)
      continue;
    if(e->kind == ESMC_H_GET_RECORDS && e->status == 0 && e->b == 0) {
      struct stretch *x = &st[e->shard];
      if(x->polls == 0)
        x->first = e->t;
      x->last = e->t;
      x->polls++;
    } else if(e->kind == ESMC_H_GET_RECORDS || e->kind == ESMC_H_INVOKE ||
              (e->kind == ESMC_H_GET_ITERATOR && e->status != 0)) {
      /* Records, an invocation or a failed call (an injected fault: the
       * mapper backs off) end the stretch. */
      judge(c, e->shard, &st[e->shard], nominal);
      memset(&st[e->shard], 0, sizeof(st[e->shard]));
    }
  }
  for(s = 0; s < w->nshards; s++)
    judge(c, s, &st[s], nominal);
  esmc_free(st);
}

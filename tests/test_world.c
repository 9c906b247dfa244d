/*
 * test_world.c: unit tests of the simulated world (harness/world.c): seeded
 * scheduling and determinism, records and sequence numbers, shard iterators,
 * trimming, the scripted function, payload decoding, destinations,
 * checkpoints, the mapping lifecycle, contract violations and how a run ends.
 *
 * Most tests drive the world with the tiny scripted adapter of
 * world_fixture.h (tm): its hooks make host calls at chosen virtual times and
 * store what they got; the test asserts afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "runner.h"
#include "world.h"
#include "world_fixture.h"

const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

#define SHARD0 "shardId-000000000000"

/* ------------------------------------------------------------------------ */
/* Probe results: what hooks saw, asserted after the run. */

struct probe {
  esmc_status st;          /* of the call under test */
  esmc_iterator it;
  size_t count;            /* records returned */
  char first[64];          /* first record's sequence number */
  char last[64];
};

static struct probe pr[64];
static size_t npr;

static void probe_reset(void)
{
  memset(pr, 0, sizeof(pr));
  npr = 0;
}

/* Store the result of a get_records call as the next probe. */
static void probe_records(esmc_status st, const struct esmc_get_records_result *r)
{
  struct probe *p = &pr[npr++];
  p->st = st;
  p->count = st == ESMC_OK ? r->count : 0;
  if(st == ESMC_OK && r->count) {
    snprintf(p->first, sizeof(p->first), "%s", r->records[0]->sequence_number);
    snprintf(p->last, sizeof(p->last), "%s",
             r->records[r->count - 1]->sequence_number);
  }
}

/* get_shard_iterator then (when OK) get_records(limit 100): one probe. */
static void probe_iter_read(const struct esmc_host *h, const char *shard,
                            enum esmc_iterator_type type, const char *seq,
                            esmc_time_ms ts)
{
  esmc_iterator it = 77;
  struct esmc_get_records_result r;
  esmc_status st = h->get_shard_iterator(h->ctx, shard, type, seq, ts, &it);
  if(st != ESMC_OK) {
    pr[npr].st = st;
    pr[npr].it = it;
    npr++;
    return;
  }
  st = h->get_records(h->ctx, it, 100, &r);
  pr[npr].it = it;
  probe_records(st, &r);
}

static const char *seq_of(const struct wf_run *r, const char *id)
{
  const struct esmc_wrecord *rec = esmc_world_record_by_id(r->w, id);
  assert_non_null(rec);
  return rec->seq;
}

/* The decimal string s minus one / plus one (s > 0, no leading zeros kept). */
static void seq_add(char *out, size_t n, const char *s, int delta)
{
  char tmp[80];
  size_t len = strlen(s), i;
  assert_true(len < sizeof(tmp));
  memcpy(tmp, s, len + 1);
  i = len;
  if(delta > 0) {
    while(i > 0) {
      i--;
      if(tmp[i] == '9') {
        tmp[i] = '0';
        continue;
      }
      tmp[i]++;
      break;
    }
  } else {
    while(i > 0) {
      i--;
      if(tmp[i] == '0') {
        tmp[i] = '9';
        continue;
      }
      tmp[i]--;
      break;
    }
  }
  snprintf(out, n, "%s", tmp);
}

/* A create hook that arms timers 1..n at the relative times in tm_times. */
static int64_t tm_times[16];
static size_t tm_ntimes;

static esmc_status arm_times(const struct esmc_host *h,
                             const struct esmc_mapping_config *cfg,
                             struct esmc_error *err)
{
  size_t i;
  (void)cfg;
  (void)err;
  for(i = 0; i < tm_ntimes; i++)
    if(h->set_timer(h->ctx, tm.epoch + tm_times[i], i + 1) != ESMC_OK)
      return ESMC_E_INTERNAL;
  return ESMC_OK;
}

static void set_times(size_t n, const int64_t *t)
{
  memcpy(tm_times, t, n * sizeof(*t));
  tm_ntimes = n;
  tm.hooks.create = arm_times;
}

/* ------------------------------------------------------------------------ */
/* Determinism. */

static const char *const three_shards =
    WF_HEAD("det-three-shards")
    "\"source\":\"kinesis\",\"stream\":{\"shards\":3},"
    "\"mapping\":{\"create_at_ms\":1000,\"batch_size\":3,"
    "\"starting_position\":\"TRIM_HORIZON\"},"
    "\"generate\":["
    "{\"prefix\":\"a\",\"count\":5,\"keys\":2,\"shard\":0},"
    "{\"prefix\":\"b\",\"count\":5,\"keys\":2,\"shard\":1},"
    "{\"prefix\":\"c\",\"count\":5,\"keys\":2,\"shard\":2},"
    "{\"prefix\":\"x\",\"count\":2,\"at_ms\":5500,\"shard\":0},"
    "{\"prefix\":\"y\",\"count\":2,\"at_ms\":5500,\"shard\":1}],"
    "\"function\":{\"duration_ms\":300}}";

static void test_same_seed_same_digest(void **state)
{
  struct wf_run a, b;
  const struct esmc_adapter *ref = esmc_adapter_reference(ESMC_ABI_VERSION);
  (void)state;
  wf_run_json(&a, three_shards, 42, ref);
  wf_run_json(&b, three_shards, 42, ref);
  assert_int_equal(a.out.end, ESMC_END_QUIESCENT);
  assert_int_equal(a.w->hist.n, b.w->hist.n);
  assert_true(esmc_history_digest(&a.w->hist) != 0);
  assert_true(esmc_history_digest(&a.w->hist) == esmc_history_digest(&b.w->hist));
  assert_int_equal(a.w->now, b.w->now);
  wf_free(&a);
  wf_free(&b);
}

static void test_other_seeds_stay_valid(void **state)
{
  uint64_t digests[8];
  size_t i, j, distinct = 1;
  struct esmc_scenario sc;
  struct esmc_run_opts o;
  (void)state;
  wf_load(&sc, three_shards);
  memset(&o, 0, sizeof(o));
  o.adapter = esmc_adapter_reference(ESMC_ABI_VERSION);
  for(i = 0; i < 8; i++) {
    struct esmc_case_result r;
    o.seed = i + 1;
    assert_int_equal(esmc_run_case(&o, &sc, &r), 0);
    if(r.verdict != ESMC_V_PASS)
      print_error("seed %zu: %s (%s) %s\n", i + 1, esmc_verdict_name(r.verdict),
                  r.reason ? r.reason : "",
                  r.violations.n ? r.violations.v[0].message : "");
    assert_int_equal(r.verdict, ESMC_V_PASS);
    digests[i] = r.digest;
    esmc_case_result_free(&r);
  }
  for(i = 1; i < 8; i++) {
    for(j = 0; j < i && digests[j] != digests[i]; j++)
      ;
    distinct += j == i;
  }
  /* Simultaneous appends on three shards are ordered by the seed. */
  assert_true(distinct >= 2);
  esmc_scenario_free(&sc);
}

/* Two tokens due at the same instant: the seed decides their order. */
static const char *const two_timers =
    WF_HEAD("det-timers") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},\"run\":{\"until_ms\":1000}}";

static esmc_status arm_two(const struct esmc_host *h,
                           const struct esmc_mapping_config *cfg,
                           struct esmc_error *err)
{
  (void)cfg;
  (void)err;
  if(h->set_timer(h->ctx, tm_now(h) + 100, 7) != ESMC_OK ||
     h->set_timer(h->ctx, tm_now(h) + 100, 9) != ESMC_OK)
    return ESMC_E_INTERNAL;
  return ESMC_OK;
}

/* The token of the first TIMER_FIRE of a run with this seed. */
static uint64_t first_fired(uint64_t seed)
{
  struct wf_run r;
  const struct esmc_hevent *e0, *e1;
  uint64_t tok;
  tm_reset();
  tm.hooks.create = arm_two;
  wf_run_json(&r, two_timers, seed, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_TIMER_FIRE), 2);
  e0 = wf_nth(&r.w->hist, ESMC_H_TIMER_FIRE, 0);
  e1 = wf_nth(&r.w->hist, ESMC_H_TIMER_FIRE, 1);
  assert_int_equal(e0->t, 100);
  assert_int_equal(e1->t, 100);
  assert_true(e0->id != e1->id);
  tok = e0->id;
  wf_free(&r);
  return tok;
}

static void test_seed_orders_same_instant_timers(void **state)
{
  uint64_t seed;
  int seen7 = 0, seen9 = 0;
  (void)state;
  for(seed = 1; seed <= 32; seed++) {
    uint64_t t = first_fired(seed);
    assert_true(t == 7 || t == 9);
    assert_true(first_fired(seed) == t); /* stable for a given seed */
    seen7 += t == 7;
    seen9 += t == 9;
  }
  assert_true(seen7 > 0);
  assert_true(seen9 > 0);
}

/* ------------------------------------------------------------------------ */
/* Records. */

static const char *const records_case =
    WF_HEAD("records") "\"source\":\"kinesis\",\"stream\":{\"shards\":2},"
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":["
    "{\"id\":\"a1\",\"shard\":0},"
    "{\"id\":\"a2\",\"shard\":0},"
    "{\"id\":\"late\",\"at_ms\":50,\"shard\":0},"
    "{\"id\":\"early\",\"at_ms\":20,\"shard\":0},"
    "{\"id\":\"a3\",\"shard\":0},"
    "{\"id\":\"b1\",\"shard\":1},"
    "{\"id\":\"p1\",\"partition_key\":\"alpha\"},"
    "{\"id\":\"p2\",\"partition_key\":\"beta\"},"
    "{\"id\":\"p3\",\"partition_key\":\"gamma\"},"
    "{\"id\":\"p4\",\"partition_key\":\"alpha\"},"
    "{\"id\":\"p5\"}],"
    "\"run\":{\"until_ms\":1000}}";

static uint32_t shard_of_key(const char *pk, uint32_t n)
{
  return (uint32_t)(esmc_fnv1a(ESMC_FNV_INIT, pk, strlen(pk)) % n);
}

static void test_record_numbering_and_placement(void **state)
{
  struct wf_run r;
  const struct esmc_world *w;
  uint32_t s, k;
  (void)state;
  wf_build(&r, records_case, 3);
  w = r.w;
  assert_int_equal(w->nrecords, 11);
  assert_int_equal(w->nshards, 2);
  assert_int_equal(w->shards[0].n + w->shards[1].n, 11);
  /* Explicit shards. */
  assert_int_equal(esmc_world_record_by_id(w, "a1")->shard, 0);
  assert_int_equal(esmc_world_record_by_id(w, "late")->shard, 0);
  assert_int_equal(esmc_world_record_by_id(w, "b1")->shard, 1);
  /* Partition-key hashing; a record without a key hashes its id. */
  assert_int_equal(esmc_world_record_by_id(w, "p1")->shard, shard_of_key("alpha", 2));
  assert_int_equal(esmc_world_record_by_id(w, "p2")->shard, shard_of_key("beta", 2));
  assert_int_equal(esmc_world_record_by_id(w, "p3")->shard, shard_of_key("gamma", 2));
  assert_int_equal(esmc_world_record_by_id(w, "p4")->shard,
                   esmc_world_record_by_id(w, "p1")->shard);
  assert_int_equal(esmc_world_record_by_id(w, "p5")->shard, shard_of_key("p5", 2));
  assert_string_equal(esmc_world_record_by_id(w, "p5")->pub.partition_key, "p5");
  /* Same instant: case order; otherwise time order. */
  assert_true(esmc_world_record_by_id(w, "a1")->index <
              esmc_world_record_by_id(w, "a2")->index);
  assert_true(esmc_world_record_by_id(w, "a2")->index <
              esmc_world_record_by_id(w, "a3")->index);
  assert_true(esmc_world_record_by_id(w, "a3")->index <
              esmc_world_record_by_id(w, "early")->index);
  assert_true(esmc_world_record_by_id(w, "early")->index <
              esmc_world_record_by_id(w, "late")->index);
  /* Per shard: indexes are positions, (time, case order) increases and the
   * sequence numbers increase as unbounded integers. */
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    for(k = 0; k < sh->n; k++) {
      const struct esmc_wrecord *rec = &w->records[sh->rids[k]];
      size_t i, len = strlen(rec->seq);
      assert_int_equal(rec->index, k);
      assert_int_equal(rec->shard, s);
      assert_ptr_equal(rec->pub.sequence_number, rec->seq);
      assert_string_equal(rec->pub.shard_id, sh->id);
      assert_true(rec->seq[0] != '0');
      for(i = 0; i < len; i++)
        assert_true(rec->seq[i] >= '0' && rec->seq[i] <= '9');
      assert_int_equal(rec->pub.approximate_arrival_ms, w->epoch_ms + rec->at_ms);
      if(k > 0) {
        const struct esmc_wrecord *prev = &w->records[sh->rids[k - 1]];
        assert_true(esmc_seq_cmp(prev->seq, rec->seq) < 0);
        assert_true(esmc_seq_cmp(rec->seq, prev->seq) > 0);
        assert_true(prev->at_ms < rec->at_ms ||
                    (prev->at_ms == rec->at_ms && prev->case_index < rec->case_index));
      }
    }
  }
  assert_string_equal(w->shards[0].id, SHARD0);
  assert_string_equal(w->shards[1].id, "shardId-000000000001");
  /* esmc_seq_cmp is numeric, not lexicographic. */
  assert_true(esmc_seq_cmp("9", "10") < 0);
  assert_true(esmc_seq_cmp("10", "9") > 0);
  assert_true(esmc_seq_cmp("0010", "10") == 0);
  assert_true(esmc_seq_cmp("123", "124") < 0);

  /* One APPEND per shard and instant, in sequence order. */
  tm_reset();
  wf_go(&r, tm_adapter(ESMC_CAP_KINESIS));
  {
    const struct esmc_history *h = &r.w->hist;
    size_t i, total = 0;
    uint32_t next[2] = {0, 0};
    for(i = 0; i < h->n; i++) {
      const struct esmc_hevent *e = &h->ev[i];
      if(e->kind != ESMC_H_APPEND)
        continue;
      assert_true(e->shard < 2);
      assert_int_equal(e->a, next[e->shard]);
      for(k = 0; k < (uint32_t)e->b; k++)
        assert_int_equal(w->records[w->shards[e->shard].rids[e->a + k]].at_ms, e->t);
      next[e->shard] += (uint32_t)e->b;
      total += (size_t)e->b;
    }
    assert_int_equal(total, 11);
    /* Shard 0: t=0 (a1 a2 a3 + keyed), t=20 (early), t=50 (late). */
    assert_int_equal(wf_count(h, ESMC_H_APPEND),
                     3 + (w->shards[1].n > 0 ? 1 : 0));
  }
  wf_free(&r);
}

static void test_record_lookup(void **state)
{
  struct wf_run r;
  const struct esmc_wrecord *a2, *b1;
  char buf[80];
  (void)state;
  wf_build(&r, records_case, 3);
  a2 = esmc_world_record_by_id(r.w, "a2");
  b1 = esmc_world_record_by_id(r.w, "b1");
  assert_non_null(a2);
  assert_non_null(b1);
  assert_ptr_equal(esmc_world_record_by_seq(r.w, a2->seq), a2);
  assert_ptr_equal(esmc_world_record_by_seq(r.w, b1->seq), b1);
  assert_string_equal(esmc_world_record_name(r.w, a2->rid), "a2");
  assert_string_equal(esmc_world_record_name(r.w, 999), "?");
  assert_null(esmc_world_record_by_id(r.w, "nope"));
  assert_null(esmc_world_record_by_id(r.w, NULL));
  assert_null(esmc_world_record_by_seq(r.w, NULL));
  assert_null(esmc_world_record_by_seq(r.w, "1"));
  assert_null(esmc_world_record_by_seq(r.w, "999999999999999999999999999999999"
                                            "9999999999999999999999999999999"));
  /* A position just above a shard's last record names no record. */
  {
    const struct esmc_wshard *sh = &r.w->shards[0];
    seq_add(buf, sizeof(buf), r.w->records[sh->rids[sh->n - 1]].seq, 1);
    assert_null(esmc_world_record_by_seq(r.w, buf));
  }
  /* Leading zeros: numerically equal, but not the record's spelling. */
  snprintf(buf, sizeof(buf), "00%s", a2->seq);
  assert_null(esmc_world_record_by_seq(r.w, buf));
  wf_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Iterators. */

static const char *const iter_case =
    WF_HEAD("iterators") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\",\"at_ms\":0},{\"id\":\"r2\",\"at_ms\":100},"
    "{\"id\":\"r3\",\"at_ms\":200},{\"id\":\"r4\",\"at_ms\":1000}],"
    "\"run\":{\"until_ms\":3000}}";

static esmc_iterator latest_it;

static esmc_status iter_probe(const struct esmc_host *h, uint64_t token)
{
  char below[80], seq2[64], tmp[80];
  struct esmc_get_records_result r;
  esmc_iterator it;
  esmc_status st;
  if(token == 2) { /* t = 1500: the LATEST iterator sees only r4 */
    st = h->get_records(h->ctx, latest_it, 100, &r);
    probe_records(st, &r);
    return ESMC_OK;
  }
  /* t = 500: r1..r3 visible. */
  probe_iter_read(h, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0);       /* 0 */
  snprintf(seq2, sizeof(seq2), "%s", pr[0].first);
  seq_add(below, sizeof(below), pr[0].first, -1);
  it = 0;
  st = h->get_shard_iterator(h->ctx, SHARD0, ESMC_ITER_LATEST, NULL, 0, &it);
  latest_it = it;
  st = st ? st : h->get_records(h->ctx, it, 100, &r);
  probe_records(st, &r);                                              /* 1 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_TIMESTAMP, NULL, tm.epoch + 100); /* 2 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_TIMESTAMP, NULL, tm.epoch + 150); /* 3 */
  /* r2's sequence number: r1's plus one. */
  seq_add(seq2, sizeof(seq2), pr[0].first, 1);
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, seq2, 0);    /* 4 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AFTER_SEQUENCE_NUMBER, seq2, 0); /* 5 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, below, 0);   /* 6 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AFTER_SEQUENCE_NUMBER, below, 0);/* 7 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, "1", 0);     /* 8 */
  snprintf(tmp, sizeof(tmp), "5%055d", 0); /* 56 digits, above every record */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, tmp, 0);     /* 9 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, "12a", 0);   /* 10 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, "", 0);      /* 11 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AFTER_SEQUENCE_NUMBER, NULL, 0); /* 12 */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, "-5", 0);    /* 13 */
  probe_iter_read(h, "shardId-000000000009", ESMC_ITER_TRIM_HORIZON, NULL, 0); /* 14 */
  probe_iter_read(h, NULL, ESMC_ITER_TRIM_HORIZON, NULL, 0);            /* 15 */
  /* AT_TIMESTAMP after every visible record: nothing yet. */
  probe_iter_read(h, SHARD0, ESMC_ITER_AT_TIMESTAMP, NULL, tm.epoch + 400); /* 16 */
  return ESMC_OK;
}

static void test_iterators(void **state)
{
  struct wf_run r;
  const int64_t times[] = {500, 1500};
  (void)state;
  tm_reset();
  probe_reset();
  set_times(2, times);
  tm.hooks.timer = iter_probe;
  wf_build(&r, iter_case, 5);
  wf_go(&r, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(npr, 18);
  /* TRIM_HORIZON: r1..r3 (r4 is not appended yet). */
  assert_int_equal(pr[0].st, ESMC_OK);
  assert_int_equal(pr[0].count, 3);
  assert_string_equal(pr[0].first, seq_of(&r, "r1"));
  assert_string_equal(pr[0].last, seq_of(&r, "r3"));
  assert_true(pr[0].it != 0);
  /* LATEST: nothing now, only r4 later. */
  assert_int_equal(pr[1].st, ESMC_OK);
  assert_int_equal(pr[1].count, 0);
  assert_int_equal(pr[17].st, ESMC_OK);
  assert_int_equal(pr[17].count, 1);
  assert_string_equal(pr[17].first, seq_of(&r, "r4"));
  /* AT_TIMESTAMP. */
  assert_int_equal(pr[2].count, 2);
  assert_string_equal(pr[2].first, seq_of(&r, "r2"));
  assert_int_equal(pr[3].count, 1);
  assert_string_equal(pr[3].first, seq_of(&r, "r3"));
  assert_int_equal(pr[16].st, ESMC_OK);
  assert_int_equal(pr[16].count, 0);
  /* AT / AFTER a record's sequence number. */
  assert_int_equal(pr[4].count, 2);
  assert_string_equal(pr[4].first, seq_of(&r, "r2"));
  assert_int_equal(pr[5].count, 1);
  assert_string_equal(pr[5].first, seq_of(&r, "r3"));
  /* Positions that are not a record's sequence number. */
  assert_int_equal(pr[6].st, ESMC_OK);
  assert_int_equal(pr[6].count, 3);
  assert_string_equal(pr[6].first, seq_of(&r, "r1"));
  assert_int_equal(pr[7].count, 3);
  assert_string_equal(pr[7].first, seq_of(&r, "r1"));
  assert_int_equal(pr[8].st, ESMC_OK); /* "1" is numerically below all */
  assert_int_equal(pr[8].count, 3);
  assert_int_equal(pr[9].st, ESMC_OK);
  assert_int_equal(pr[9].count, 0);
  /* Malformed and unknown. */
  assert_int_equal(pr[10].st, ESMC_E_INVALID_PARAMETER);
  assert_int_equal(pr[11].st, ESMC_E_INVALID_PARAMETER);
  assert_int_equal(pr[12].st, ESMC_E_INVALID_PARAMETER);
  assert_int_equal(pr[13].st, ESMC_E_INVALID_PARAMETER);
  assert_int_equal(pr[10].it, 0); /* *out is cleared on failure */
  assert_int_equal(pr[14].st, ESMC_E_NOT_FOUND);
  assert_int_equal(pr[14].it, 0);
  assert_int_equal(pr[15].st, ESMC_E_NOT_FOUND);
  /* The history: GET_ITERATOR b = index of the first record it returns. */
  {
    const struct esmc_history *h = &r.w->hist;
    const struct esmc_hevent *e = wf_nth(h, ESMC_H_GET_ITERATOR, 0);
    assert_int_equal(e->a, ESMC_ITER_TRIM_HORIZON);
    assert_int_equal(e->b, 0);
    assert_int_equal(e->status, 0);
    e = wf_nth(h, ESMC_H_GET_ITERATOR, 1);
    assert_int_equal(e->a, ESMC_ITER_LATEST);
    assert_int_equal(e->b, 3);
    e = wf_nth(h, ESMC_H_GET_ITERATOR, 5); /* AFTER r2 */
    assert_int_equal(e->a, ESMC_ITER_AFTER_SEQUENCE_NUMBER);
    assert_int_equal(e->b, 2);
    e = wf_nth(h, ESMC_H_GET_ITERATOR, 10); /* "12a" */
    assert_int_equal(e->status, ESMC_E_INVALID_PARAMETER);
    e = wf_nth(h, ESMC_H_GET_ITERATOR, 14); /* unknown shard */
    assert_int_equal(e->status, ESMC_E_NOT_FOUND);
    assert_int_equal(e->shard, ESMC_NO_SHARD);
  }
  wf_free(&r);
}

/* Expiry and get_records parameter limits. */
static esmc_iterator exp_it[2];

static esmc_status expiry_probe(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  esmc_status st;
  switch(token) {
  case 1: /* t = 1000 */
    h->get_shard_iterator(h->ctx, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0, &exp_it[0]);
    h->get_shard_iterator(h->ctx, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0, &exp_it[1]);
    pr[npr++].st = h->get_records(h->ctx, exp_it[0], 0, &r);
    pr[npr++].st = h->get_records(h->ctx, exp_it[0], 10001, &r);
    st = h->get_records(h->ctx, exp_it[0], 10000, &r);
    probe_records(st, &r);
    pr[npr++].st = h->get_records(h->ctx, 0, 10, &r);
    pr[npr++].st = h->get_records(h->ctx, 999999, 10, &r);
    break;
  case 2: /* t = 1000 + 299999: still valid */
    st = h->get_records(h->ctx, exp_it[0], 10, &r);
    probe_records(st, &r);
    exp_it[0] = st == ESMC_OK ? r.next_iterator : 0;
    break;
  case 3: /* t = 1000 + 300001: expired; a fresh next iterator is not */
    pr[npr++].st = h->get_records(h->ctx, exp_it[1], 10, &r);
    st = h->get_records(h->ctx, exp_it[0], 10, &r);
    probe_records(st, &r);
    break;
  }
  return ESMC_OK;
}

static void test_iterator_expiry_and_limits(void **state)
{
  struct wf_run r;
  const int64_t times[] = {1000, 1000 + 299999, 1000 + 300001};
  (void)state;
  tm_reset();
  probe_reset();
  set_times(3, times);
  tm.hooks.timer = expiry_probe;
  wf_run_json(&r,
              WF_HEAD("expiry") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\",\"at_ms\":301000}],"
              "\"run\":{\"until_ms\":400000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(npr, 8);
  assert_int_equal(pr[0].st, ESMC_E_INVALID_PARAMETER); /* limit 0 */
  assert_int_equal(pr[1].st, ESMC_E_INVALID_PARAMETER); /* limit 10001 */
  assert_int_equal(pr[2].st, ESMC_OK);                  /* limit 10000 */
  assert_int_equal(pr[2].count, 1);
  assert_int_equal(pr[3].st, ESMC_E_INVALID_PARAMETER); /* iterator 0 */
  assert_int_equal(pr[4].st, ESMC_E_INVALID_PARAMETER); /* unknown */
  assert_int_equal(pr[5].st, ESMC_OK);
  assert_int_equal(pr[5].count, 1);
  assert_int_equal(pr[6].st, ESMC_E_EXPIRED_ITERATOR);
  assert_int_equal(pr[7].st, ESMC_OK);
  assert_int_equal(pr[7].count, 1); /* r2, appended at 301000 */
  assert_string_equal(pr[7].first, seq_of(&r, "r2"));
  /* Recorded with the status returned. */
  {
    const struct esmc_history *h = &r.w->hist;
    size_t i, expired = 0;
    for(i = 0; i < h->n; i++)
      if(h->ev[i].kind == ESMC_H_GET_RECORDS &&
         h->ev[i].status == ESMC_E_EXPIRED_ITERATOR) {
        expired++;
        assert_int_equal(h->ev[i].t, 1000 + 300001);
      }
    assert_int_equal(expired, 1);
  }
  wf_free(&r);
}

/* Retention trimming (1 hour). */
static esmc_iterator trim_it;

static esmc_status trim_probe(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  esmc_status st;
  char seq1[64];
  switch(token) {
  case 1: /* t = 3599900: nothing trimmed yet */
    h->get_shard_iterator(h->ctx, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0, &trim_it);
    probe_iter_read(h, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0); /* 0 */
    break;
  case 2: /* t = 3600500: r1 (t=0) trimmed, r2 (t=1000) not */
    snprintf(seq1, sizeof(seq1), "%s", pr[0].first);
    pr[npr++].st = h->get_records(h->ctx, trim_it, 10, &r);         /* 1 */
    probe_iter_read(h, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0);    /* 2 */
    probe_iter_read(h, SHARD0, ESMC_ITER_AT_SEQUENCE_NUMBER, seq1, 0);    /* 3 */
    probe_iter_read(h, SHARD0, ESMC_ITER_AFTER_SEQUENCE_NUMBER, seq1, 0); /* 4 */
    probe_iter_read(h, SHARD0, ESMC_ITER_AT_TIMESTAMP, NULL, tm.epoch);   /* 5 */
    break;
  case 3: /* t = 3602500: everything trimmed */
    st = h->get_shard_iterator(h->ctx, SHARD0, ESMC_ITER_TRIM_HORIZON, NULL, 0, &trim_it);
    st = st ? st : h->get_records(h->ctx, trim_it, 10, &r);
    probe_records(st, &r);                                           /* 6 */
    break;
  }
  return ESMC_OK;
}

static void test_retention_trimming(void **state)
{
  struct wf_run r;
  const int64_t times[] = {3599900, 3600500, 3602500};
  (void)state;
  tm_reset();
  probe_reset();
  set_times(3, times);
  tm.hooks.timer = trim_probe;
  wf_run_json(&r,
              WF_HEAD("trim") "\"source\":\"kinesis\",\"stream\":{\"retention_hours\":1},"
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\",\"at_ms\":1000},"
              "{\"id\":\"r3\",\"at_ms\":2000}],\"run\":{\"until_ms\":3700000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.sc.retention_ms, 3600000);
  assert_int_equal(npr, 7);
  assert_int_equal(pr[0].count, 3);
  assert_string_equal(pr[0].first, seq_of(&r, "r1"));
  assert_int_equal(pr[1].st, ESMC_E_TRIMMED);    /* old iterator at r1 */
  assert_int_equal(pr[2].st, ESMC_OK);           /* TRIM_HORIZON skips r1 */
  assert_int_equal(pr[2].count, 2);
  assert_string_equal(pr[2].first, seq_of(&r, "r2"));
  assert_int_equal(pr[3].st, ESMC_E_TRIMMED);    /* AT r1 */
  assert_int_equal(pr[4].st, ESMC_OK);           /* AFTER r1 = r2 */
  assert_string_equal(pr[4].first, seq_of(&r, "r2"));
  assert_int_equal(pr[5].st, ESMC_OK);           /* AT_TIMESTAMP t=0 */
  assert_string_equal(pr[5].first, seq_of(&r, "r2"));
  assert_int_equal(pr[6].st, ESMC_OK);
  assert_int_equal(pr[6].count, 0);
  wf_free(&r);
}

/* ------------------------------------------------------------------------ */
/* The function script. A batch-script mapper invokes, at timer i, the shard
 * 0 records whose indexes bs_batch[i - 1] lists ("0 2"). */

static const char *bs_batch[16];
static int64_t bs_invoke_t[16];
static esmc_invocation bs_inv[16];

static esmc_status bs_timer(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  const struct esmc_record *pick[16];
  size_t n = 0;
  const char *p = bs_batch[token - 1];
  if(tm_read_all(h, &r) != ESMC_OK)
    return ESMC_E_INTERNAL;
  while(*p) {
    char *end;
    long k = strtol(p, &end, 10);
    if(end == p)
      break;
    if((size_t)k >= r.count || n >= 16)
      return ESMC_E_INTERNAL;
    pick[n++] = r.records[k];
    p = end;
  }
  bs_invoke_t[token - 1] = tm_now(h) - tm.epoch;
  bs_inv[token - 1] = tm_invoke(h, pick, n);
  return bs_inv[token - 1] ? ESMC_OK : ESMC_E_INTERNAL;
}

static void bs_setup(size_t n, const int64_t *times, const char *const *batches)
{
  tm_reset();
  memset(bs_inv, 0, sizeof(bs_inv));
  memcpy(bs_batch, batches, n * sizeof(*batches));
  set_times(n, times);
  tm.hooks.timer = bs_timer;
}

/* The COMPLETE event of invocation handle inv. */
static const struct esmc_hevent *complete_of(const struct wf_run *r,
                                             esmc_invocation inv)
{
  size_t i;
  for(i = 0; i < r->w->hist.n; i++)
    if(r->w->hist.ev[i].kind == ESMC_H_COMPLETE && r->w->hist.ev[i].id == inv)
      return &r->w->hist.ev[i];
  return NULL;
}

/* The completion the mapper got for invocation inv. */
static const struct tm_completion *got(esmc_invocation inv)
{
  size_t i;
  for(i = 0; i < tm.nlog; i++)
    if(tm.log[i].inv == inv)
      return &tm.log[i];
  print_error("no completion for invocation %" PRIu64 "\n", inv);
  fail();
  return NULL;
}

static void test_function_conditions(void **state)
{
  struct wf_run r;
  const int64_t times[] = {100, 200, 300, 400, 500, 600};
  const char *const batches[] = {"0", "0", "1", "0", "0", "1 2"};
  const struct tm_completion *c;
  char want[256];
  size_t i;
  (void)state;
  bs_setup(6, times, batches);
  wf_run_json(&r,
              WF_HEAD("fn-conditions") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\",\"partition_key\":\"ka\"},"
              "{\"id\":\"r2\",\"partition_key\":\"kb\"},"
              "{\"id\":\"r3\",\"partition_key\":\"kc\"}],"
              "\"function\":{\"rules\":["
              "{\"when\":{\"contains\":[\"r3\"]},\"then\":{\"action\":\"error\",\"error_type\":\"Boom\"}},"
              "{\"when\":{\"keys\":[\"kb\"]},\"then\":{\"action\":\"throttle\"}},"
              "{\"when\":{\"invocation\":[4]},\"then\":{\"action\":\"service_error\"}},"
              "{\"when\":{\"attempt\":{\"min\":2,\"max\":2}},\"then\":{\"action\":\"fail_items\",\"fail_items\":[\"r1\"]}},"
              "{\"when\":{\"times\":1},\"then\":{\"action\":\"ok\",\"response\":\"first\"}}]},"
              "\"run\":{\"until_ms\":2000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(tm.completes, 6);
  for(i = 0; i < 6; i++)
    assert_true(bs_inv[i] != 0);
  /* 1: [r1] attempt 1 -> `times: 1` rule, ok "first", after 10 ms. */
  c = got(bs_inv[0]);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  assert_int_equal(c->status, 200);
  assert_true(c->function_error_null);
  assert_int_equal(c->payload_len, 5);
  assert_memory_equal(c->payload, "first", 5);
  assert_int_equal(c->t, 110);
  /* 2: [r1] attempt 2 -> fail_items. */
  c = got(bs_inv[1]);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  snprintf(want, sizeof(want), "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
           seq_of(&r, "r1"));
  assert_string_equal(c->payload, want);
  /* 3: [r2] key kb -> throttle, at once. */
  c = got(bs_inv[2]);
  assert_int_equal(c->outcome, ESMC_INVOKE_THROTTLED);
  assert_int_equal(c->status, 429);
  assert_int_equal(c->t, 300);
  /* 4: invocation 4 -> service error, at once. */
  c = got(bs_inv[3]);
  assert_int_equal(c->outcome, ESMC_INVOKE_SERVICE_ERROR);
  assert_int_equal(c->status, 500);
  assert_int_equal(c->t, 400);
  /* 5: [r1] attempt 4: no rule left -> default: empty success. */
  c = got(bs_inv[4]);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  assert_int_equal(c->status, 200);
  assert_int_equal(c->payload_len, 0);
  assert_true(c->function_error_null);
  assert_int_equal(c->t, 510);
  /* 6: [r2 r3]: contains r3 (rule 1) wins over keys kb (rule 2). */
  c = got(bs_inv[5]);
  assert_int_equal(c->outcome, ESMC_INVOKE_FUNCTION_ERROR);
  assert_int_equal(c->status, 200);
  assert_string_equal(c->function_error, "Unhandled");
  assert_non_null(strstr(c->payload, "\"errorType\":\"Boom\""));
  /* The history agrees: INVOKE b = attempt, COMPLETE a/status/text/text2. */
  {
    const struct esmc_hevent *e = complete_of(&r, bs_inv[5]);
    const struct esmc_hevent *inv;
    assert_non_null(e);
    assert_int_equal(e->a, ESMC_INVOKE_FUNCTION_ERROR);
    assert_int_equal(e->status, 200);
    assert_string_equal(e->text2, "Unhandled");
    inv = &r.w->hist.ev[e->b];
    assert_int_equal(inv->kind, ESMC_H_INVOKE);
    assert_int_equal(inv->nrids, 2);
    assert_int_equal(inv->rids[0], esmc_world_record_by_id(r.w, "r2")->rid);
    assert_int_equal(inv->rids[1], esmc_world_record_by_id(r.w, "r3")->rid);
    assert_int_equal(inv->b, 2); /* r2's second delivery */
    assert_null(inv->text);      /* a well-formed payload */
    inv = &r.w->hist.ev[complete_of(&r, bs_inv[3])->b];
    assert_int_equal(inv->b, 3); /* r1's third delivery */
    e = complete_of(&r, bs_inv[0]);
    assert_null(e->text2);
  }
  wf_free(&r);
}

static void test_function_timeouts(void **state)
{
  struct wf_run r;
  const int64_t times[] = {100, 10000, 20000, 30000, 40000};
  const char *const batches[] = {"0", "0", "0", "0", "0"};
  const struct tm_completion *c;
  size_t i;
  (void)state;
  bs_setup(5, times, batches);
  wf_run_json(&r,
              WF_HEAD("fn-timeouts") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"}],"
              "\"function\":{\"timeout_s\":2,\"duration_ms\":25,\"rules\":["
              "{\"when\":{\"invocation\":[1]},\"then\":{\"action\":\"timeout\"}},"
              "{\"when\":{\"invocation\":[2]},\"then\":{\"action\":\"ok\",\"duration_ms\":2500}},"
              "{\"when\":{\"invocation\":[3]},\"then\":{\"action\":\"ok\",\"duration_ms\":2000}},"
              "{\"when\":{\"invocation\":[4]},\"then\":{\"action\":\"error\",\"duration_ms\":5000}}]},"
              "\"run\":{\"until_ms\":60000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(tm.completes, 5);
  /* 1: timeout: completes after timeout_s, Unhandled. */
  c = got(bs_inv[0]);
  assert_int_equal(c->t, 100 + 2000);
  assert_int_equal(c->outcome, ESMC_INVOKE_FUNCTION_ERROR);
  assert_int_equal(c->status, 200);
  assert_string_equal(c->function_error, "Unhandled");
  assert_non_null(strstr(c->payload, "Sandbox.Timedout"));
  assert_non_null(strstr(c->payload, "Task timed out after 2.00 seconds"));
  /* 2: ok lasting longer than the timeout becomes a timeout. */
  c = got(bs_inv[1]);
  assert_int_equal(c->t, 10000 + 2000);
  assert_int_equal(c->outcome, ESMC_INVOKE_FUNCTION_ERROR);
  assert_string_equal(c->function_error, "Unhandled");
  assert_non_null(strstr(c->payload, "Sandbox.Timedout"));
  /* 3: exactly the timeout still succeeds. */
  c = got(bs_inv[2]);
  assert_int_equal(c->t, 20000 + 2000);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  /* 4: error lasting longer than the timeout: a timeout too. */
  c = got(bs_inv[3]);
  assert_int_equal(c->t, 30000 + 2000);
  assert_non_null(strstr(c->payload, "Sandbox.Timedout"));
  /* 5: the default duration. */
  c = got(bs_inv[4]);
  assert_int_equal(c->t, 40000 + 25);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  for(i = 0; i < 5; i++)
    assert_int_equal(complete_of(&r, bs_inv[i])->t, got(bs_inv[i])->t);
  wf_free(&r);
}

static void test_function_fail_items_raw(void **state)
{
  struct wf_run r;
  const int64_t times[] = {100};
  const char *const batches[] = {"0 1 2"};
  char want[512];
  (void)state;
  bs_setup(1, times, batches);
  wf_run_json(&r,
              WF_HEAD("fn-fail-items") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\"},{\"id\":\"r3\"}],"
              "\"function\":{\"rules\":[{\"then\":{\"action\":\"fail_items\","
              "\"fail_items\":[\"r2\",\"bogus\",\"r3\"]}}]},"
              "\"run\":{\"until_ms\":1000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  snprintf(want, sizeof(want),
           "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"},"
           "{\"itemIdentifier\":\"bogus\"},{\"itemIdentifier\":\"%s\"}]}",
           seq_of(&r, "r2"), seq_of(&r, "r3"));
  assert_int_equal(tm.completes, 1);
  assert_string_equal(got(bs_inv[0])->payload, want);
  assert_int_equal(got(bs_inv[0])->outcome, ESMC_INVOKE_OK);
  assert_int_equal(got(bs_inv[0])->status, 200);
  wf_free(&r);
}

/* A payload over 6 MB: 413, and the function does not run (the `times: 1`
 * rule is still there for the next invocation). */
static esmc_status big_timer(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  struct esmc_buf b;
  size_t target = token == 1 ? ESMC_MAX_PAYLOAD + 1 : ESMC_MAX_PAYLOAD;
  if(token == 3) {
    bs_invoke_t[2] = tm_now(h) - tm.epoch;
    return tm_read_all(h, &r) == ESMC_OK && (bs_inv[2] = tm_invoke(h, r.records, 1))
               ? ESMC_OK
               : ESMC_E_INTERNAL;
  }
  if(tm_read_all(h, &r) != ESMC_OK)
    return ESMC_E_INTERNAL;
  esmc_buf_init(&b);
  wf_payload(&b, &tm.cfg, r.records, 1);
  /* {"Records":[...],"pad":"xxx..."} of exactly `target` bytes. */
  b.len -= 1; /* drop the closing brace */
  esmc_buf_puts(&b, ",\"pad\":\"");
  while(b.len < target - 2)
    esmc_buf_putc(&b, 'x');
  esmc_buf_puts(&b, "\"}");
  assert_int_equal(b.len, target);
  bs_invoke_t[token - 1] = tm_now(h) - tm.epoch;
  if(h->invoke(h->ctx, (const uint8_t *)b.data, b.len, &bs_inv[token - 1]) != ESMC_OK)
    bs_inv[token - 1] = 0;
  esmc_buf_free(&b);
  return bs_inv[token - 1] ? ESMC_OK : ESMC_E_INTERNAL;
}

static void test_function_payload_limit(void **state)
{
  struct wf_run r;
  const int64_t times[] = {100, 200, 300};
  const struct tm_completion *c;
  const struct esmc_hevent *inv;
  (void)state;
  tm_reset();
  memset(bs_inv, 0, sizeof(bs_inv));
  set_times(3, times);
  tm.hooks.timer = big_timer;
  wf_run_json(&r,
              WF_HEAD("fn-413") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"}],"
              "\"function\":{\"rules\":[{\"when\":{\"times\":1},"
              "\"then\":{\"action\":\"error\"}}]},"
              "\"run\":{\"until_ms\":1000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(tm.completes, 3);
  c = got(bs_inv[0]);
  assert_int_equal(c->outcome, ESMC_INVOKE_SERVICE_ERROR);
  assert_int_equal(c->status, 413);
  assert_true(c->function_error_null);
  assert_int_equal(c->t, 100); /* never ran */
  assert_non_null(strstr(c->payload, "6291456"));
  inv = &r.w->hist.ev[complete_of(&r, bs_inv[0])->b];
  assert_int_equal(inv->kind, ESMC_H_INVOKE);
  assert_int_equal(inv->a, ESMC_MAX_PAYLOAD + 1);
  assert_int_equal(inv->nrids, 1); /* the payload is still judged */
  /* Exactly 6291456 bytes is allowed: the function runs, the rule fires. */
  c = got(bs_inv[1]);
  assert_int_equal(c->outcome, ESMC_INVOKE_FUNCTION_ERROR);
  assert_int_equal(c->status, 200);
  /* And the rule was used up by that one, not by the 413. */
  c = got(bs_inv[2]);
  assert_int_equal(c->outcome, ESMC_INVOKE_OK);
  wf_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Payload decoding. */

static void decode(const struct wf_run *r, const struct esmc_buf *p, long want_n,
                   const char *want_problem)
{
  struct esmc_buf problem;
  uint32_t *rids = NULL;
  long n;
  esmc_buf_init(&problem);
  n = esmc_world_decode_payload(r->w, p->data, p->len, &rids, &problem);
  if(n != want_n ||
     (want_problem ? !problem.data || !strstr(problem.data, want_problem)
                   : problem.len != 0))
    print_error("decode: n=%ld (want %ld), problem '%s' (want '%s')\n  payload %s\n",
                n, want_n, problem.data ? problem.data : "",
                want_problem ? want_problem : "", p->data);
  assert_int_equal(n, want_n);
  if(want_problem) {
    assert_non_null(problem.data);
    assert_non_null(strstr(problem.data, want_problem));
  } else {
    assert_int_equal(problem.len, 0);
  }
  esmc_free(rids);
  esmc_buf_free(&problem);
}

static const char *const kin_decode_case =
    WF_HEAD("decode-kinesis") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\",\"partition_key\":\"k1\",\"data\":\"hello\"},"
    "{\"id\":\"r2\",\"at_ms\":1500,\"partition_key\":\"k\\\"q\",\"data\":\"world\"}]}";

static void kin_payload(const struct wf_run *r, struct esmc_buf *b)
{
  const struct esmc_record *recs[2];
  struct wf_cfg c;
  wf_cfg_from_world(&c, r->w);
  recs[0] = &esmc_world_record_by_id(r->w, "r1")->pub;
  recs[1] = &esmc_world_record_by_id(r->w, "r2")->pub;
  esmc_buf_init(b);
  wf_payload(b, &c, recs, 2);
}

static void test_decode_kinesis(void **state)
{
  struct wf_run r;
  struct esmc_buf b, problem;
  uint32_t *rids = NULL;
  char from[128], to[128];
  (void)state;
  wf_build(&r, kin_decode_case, 9);
  /* A correct event: both records, in order, no problem. */
  kin_payload(&r, &b);
  esmc_buf_init(&problem);
  assert_int_equal(esmc_world_decode_payload(r.w, b.data, b.len, &rids, &problem), 2);
  assert_int_equal(problem.len, 0);
  assert_int_equal(rids[0], esmc_world_record_by_id(r.w, "r1")->rid);
  assert_int_equal(rids[1], esmc_world_record_by_id(r.w, "r2")->rid);
  esmc_free(rids);
  esmc_buf_free(&problem);
  assert_non_null(strstr(b.data, "\"approximateArrivalTimestamp\":1704067201.500"));
  esmc_buf_free(&b);

  /* Not JSON / not an object / no Records. */
  esmc_buf_init(&b);
  esmc_buf_puts(&b, "{\"Records\":[");
  decode(&r, &b, -1, "not valid JSON");
  esmc_buf_reset(&b);
  esmc_buf_puts(&b, "[1,2]");
  decode(&r, &b, -1, "not a single JSON object");
  esmc_buf_reset(&b);
  esmc_buf_puts(&b, "{\"records\":[]}");
  decode(&r, &b, -1, "no \"Records\" array");
  esmc_buf_reset(&b);
  esmc_buf_puts(&b, "{\"Records\":{}}");
  decode(&r, &b, -1, "no \"Records\" array");
  esmc_buf_reset(&b);
  esmc_buf_puts(&b, "{\"Records\":[]}");
  decode(&r, &b, 0, NULL);
  esmc_buf_reset(&b);
  esmc_buf_puts(&b, "{\"Records\":[1]}");
  decode(&r, &b, 0, "Records[0] is not an object");
  esmc_buf_free(&b);

  /* An unknown sequence number: that record is left out. */
  kin_payload(&r, &b);
  snprintf(from, sizeof(from), "\"sequenceNumber\":\"%s\"", seq_of(&r, "r2"));
  wf_replace(&b, from, "\"sequenceNumber\":\"12345\"");
  decode(&r, &b, 1, "Records[1]: sequence number 12345 is not a record");
  esmc_buf_free(&b);
  /* No sequence number at all. */
  kin_payload(&r, &b);
  snprintf(from, sizeof(from), "\"sequenceNumber\":\"%s\"", seq_of(&r, "r1"));
  wf_replace(&b, from, "\"sequenceNumbr\":\"1\"");
  decode(&r, &b, 1, "Records[0]: no kinesis.sequenceNumber");
  esmc_buf_free(&b);
  /* Wrong eventSource. */
  kin_payload(&r, &b);
  wf_replace(&b, "\"eventSource\":\"aws:kinesis\"", "\"eventSource\":\"aws:sqs\"");
  decode(&r, &b, 2, "Records[0].eventSource is \"aws:sqs\"");
  esmc_buf_free(&b);
  /* Wrong base64 data ("hello" is aGVsbG8=). */
  kin_payload(&r, &b);
  wf_replace(&b, "\"aGVsbG8=\"", "\"aGVsbG8\"");
  decode(&r, &b, 2, "Records[0].data");
  esmc_buf_free(&b);
  kin_payload(&r, &b);
  wf_replace(&b, "\"d29ybGQ=\"", "\"aGVsbG8=\"");
  decode(&r, &b, 2, "Records[1].data");
  esmc_buf_free(&b);
  /* Wrong approximateArrivalTimestamp. */
  kin_payload(&r, &b);
  wf_replace(&b, "1704067201.500", "1704067201.000");
  decode(&r, &b, 2, "Records[1].kinesis.approximateArrivalTimestamp is 1704067201.000");
  esmc_buf_free(&b);
  kin_payload(&r, &b);
  wf_replace(&b, "1704067201.500", "\"1704067201.500\"");
  decode(&r, &b, 2, "approximateArrivalTimestamp: expected a number");
  esmc_buf_free(&b);
  /* Wrong eventID (shard part and sequence part). */
  kin_payload(&r, &b);
  snprintf(from, sizeof(from), "\"%s:%s\"", SHARD0, seq_of(&r, "r1"));
  snprintf(to, sizeof(to), "\"shardId-000000000001:%s\"", seq_of(&r, "r1"));
  wf_replace(&b, from, to);
  decode(&r, &b, 2, "Records[0].eventID");
  esmc_buf_free(&b);
  kin_payload(&r, &b);
  snprintf(from, sizeof(from), "\"%s:%s\"", SHARD0, seq_of(&r, "r2"));
  snprintf(to, sizeof(to), "\"%s:%s\"", SHARD0, seq_of(&r, "r1"));
  wf_replace(&b, from, to);
  decode(&r, &b, 2, "Records[1].eventID");
  esmc_buf_free(&b);
  /* Wrong partition key, region and missing eventName. */
  kin_payload(&r, &b);
  wf_replace(&b, "\"partitionKey\":\"k1\"", "\"partitionKey\":\"k2\"");
  decode(&r, &b, 2, "partitionKey is \"k2\"");
  esmc_buf_free(&b);
  kin_payload(&r, &b);
  wf_replace(&b, "\"eventName\":\"aws:kinesis:record\",", "");
  decode(&r, &b, 2, "Records[0]: missing \"eventName\"");
  esmc_buf_free(&b);
  wf_free(&r);
}

#define DDB_HEAD(id)                                                           \
  "{\"id\":\"" id "\",\"description\":\"unit test\",\"rules\":[\"GEN-2\"],"   \
  "\"tags\":[],\"requires\":[\"dynamodb\"],\"source\":\"dynamodb\","

static void ddb_case(struct wf_run *r, const char *view)
{
  char json[1024];
  snprintf(json, sizeof(json),
           DDB_HEAD("decode-ddb") "\"stream\":{\"stream_view_type\":\"%s\"},"
           "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
           "\"records\":[{\"id\":\"d1\",\"at_ms\":2500,\"event_name\":\"MODIFY\","
           "\"keys\":{\"pk\":{\"S\":\"a\"}},"
           "\"new_image\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"2\"}},"
           "\"old_image\":{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}}]}",
           view);
  wf_build(r, json, 4);
}

static void ddb_payload(const struct wf_run *r, struct esmc_buf *b,
                        const char *new_image, const char *old_image, int as_is)
{
  struct esmc_record rec = esmc_world_record_by_id(r->w, "d1")->pub;
  const struct esmc_record *p = &rec;
  struct wf_cfg c;
  if(!as_is) {
    rec.ddb_new_image_json = new_image;
    rec.ddb_old_image_json = old_image;
  }
  wf_cfg_from_world(&c, r->w);
  esmc_buf_init(b);
  wf_payload(b, &c, &p, 1);
}

static void test_decode_dynamodb(void **state)
{
  struct wf_run r;
  struct esmc_buf b;
  const struct esmc_wrecord *d1;
  const char *newi = "{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"2\"}}";
  const char *oldi = "{\"pk\":{\"S\":\"a\"},\"v\":{\"N\":\"1\"}}";
  (void)state;

  ddb_case(&r, "NEW_AND_OLD_IMAGES");
  d1 = esmc_world_record_by_id(r.w, "d1");
  assert_string_equal(d1->pub.ddb_new_image_json, newi);
  assert_string_equal(d1->pub.ddb_old_image_json, oldi);
  assert_string_equal(d1->pub.ddb_keys_json, "{\"pk\":{\"S\":\"a\"}}");
  assert_int_equal(d1->pub.ddb_event_name, ESMC_DDB_MODIFY);
  assert_string_equal(d1->pub.event_id, d1->event_id);
  assert_int_equal(strlen(d1->event_id), 32);
  ddb_payload(&r, &b, NULL, NULL, 1);
  decode(&r, &b, 1, NULL);
  wf_replace(&b, "\"Keys\":{\"pk\":{\"S\":\"a\"}}", "\"Keys\":{\"pk\":{\"S\":\"b\"}}");
  decode(&r, &b, 1, "Records[0].dynamodb.Keys");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, oldi, 0);
  decode(&r, &b, 1, "Records[0].dynamodb.NewImage: expected");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, newi, NULL, 0);
  decode(&r, &b, 1, "Records[0].dynamodb.OldImage: expected");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, NULL, 1);
  wf_replace(&b, "\"eventSource\":\"aws:dynamodb\"", "\"eventSource\":\"aws:kinesis\"");
  decode(&r, &b, 1, "eventSource");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, NULL, 1);
  wf_replace(&b, d1->event_id, "0123456789abcdef0123456789abcdef");
  decode(&r, &b, 1, "Records[0].eventID");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, NULL, 1);
  wf_replace(&b, "\"ApproximateCreationDateTime\":1704067202",
             "\"ApproximateCreationDateTime\":1704067203");
  decode(&r, &b, 1, "ApproximateCreationDateTime is 1704067203");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, NULL, 1);
  wf_replace(&b, "\"eventName\":\"MODIFY\"", "\"eventName\":\"INSERT\"");
  decode(&r, &b, 1, "eventName");
  esmc_buf_free(&b);
  wf_free(&r);

  /* KEYS_ONLY: the stream carries no image; one present is a problem. */
  ddb_case(&r, "KEYS_ONLY");
  d1 = esmc_world_record_by_id(r.w, "d1");
  assert_null(d1->pub.ddb_new_image_json);
  assert_null(d1->pub.ddb_old_image_json);
  ddb_payload(&r, &b, NULL, NULL, 1);
  decode(&r, &b, 1, NULL);
  esmc_buf_free(&b);
  ddb_payload(&r, &b, newi, NULL, 0);
  decode(&r, &b, 1, "NewImage: present, but the stream view type KEYS_ONLY");
  esmc_buf_free(&b);
  wf_free(&r);

  /* NEW_IMAGE and OLD_IMAGE keep only their image. */
  ddb_case(&r, "NEW_IMAGE");
  d1 = esmc_world_record_by_id(r.w, "d1");
  assert_non_null(d1->pub.ddb_new_image_json);
  assert_null(d1->pub.ddb_old_image_json);
  ddb_payload(&r, &b, NULL, NULL, 1);
  decode(&r, &b, 1, NULL);
  esmc_buf_free(&b);
  ddb_payload(&r, &b, newi, oldi, 0);
  decode(&r, &b, 1, "OldImage: present");
  esmc_buf_free(&b);
  wf_free(&r);

  ddb_case(&r, "OLD_IMAGE");
  d1 = esmc_world_record_by_id(r.w, "d1");
  assert_null(d1->pub.ddb_new_image_json);
  assert_non_null(d1->pub.ddb_old_image_json);
  ddb_payload(&r, &b, NULL, NULL, 1);
  decode(&r, &b, 1, NULL);
  esmc_buf_free(&b);
  ddb_payload(&r, &b, newi, oldi, 0);
  decode(&r, &b, 1, "NewImage: present");
  esmc_buf_free(&b);
  ddb_payload(&r, &b, NULL, NULL, 1);
  wf_replace(&b, "\"SequenceNumber\"", "\"Sequence\"");
  decode(&r, &b, 0, "no dynamodb.SequenceNumber");
  esmc_buf_free(&b);
  wf_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Destinations. */

#define DLQ "arn:aws:sqs:us-east-1:123456789012:dlq"

static esmc_status dest_probe(const struct esmc_host *h, uint64_t token)
{
  const char *key = token == 3 ? "obj/key" : NULL;
  pr[npr++].st = h->send_to_destination(h->ctx, DLQ, key, (const uint8_t *)"{\"m\":1}", 7);
  return ESMC_OK;
}

static void test_destination_down_and_up(void **state)
{
  struct wf_run r;
  const int64_t times[] = {50, 150, 250};
  const struct esmc_hevent *e;
  (void)state;
  tm_reset();
  probe_reset();
  set_times(3, times);
  tm.hooks.timer = dest_probe;
  wf_run_json(&r,
              WF_HEAD("dest") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"events\":[{\"at_ms\":100,\"destination\":\"down\"},"
              "{\"at_ms\":200,\"destination\":\"up\"}],"
              "\"run\":{\"until_ms\":1000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(npr, 3);
  assert_int_equal(pr[0].st, ESMC_OK);
  assert_int_equal(pr[1].st, ESMC_E_SERVICE);
  assert_int_equal(pr[2].st, ESMC_OK);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_DEST_SEND), 3);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_FAULT), 2);
  e = wf_nth(&r.w->hist, ESMC_H_DEST_SEND, 0);
  assert_int_equal(e->status, ESMC_OK);
  assert_string_equal(e->text, "{\"m\":1}");
  assert_int_equal(e->text_len, 7);
  assert_string_equal(e->text2, DLQ);
  assert_null(e->text3);
  e = wf_nth(&r.w->hist, ESMC_H_DEST_SEND, 1);
  assert_int_equal(e->t, 150);
  assert_int_equal(e->status, ESMC_E_SERVICE);
  e = wf_nth(&r.w->hist, ESMC_H_DEST_SEND, 2);
  assert_int_equal(e->status, ESMC_OK);
  assert_string_equal(e->text3, "obj/key");
  e = wf_nth(&r.w->hist, ESMC_H_FAULT, 0);
  assert_int_equal(e->a, ESMC_CASE_DESTINATION_DOWN);
  assert_int_equal(e->t, 100);
  wf_free(&r);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints. */

static char ck_seen[4][64];
static int ck_seen_null[4];
static esmc_status ck_seen_st[4];
static char ck_strs[8][80];

static esmc_status ck_create(const struct esmc_host *h,
                             const struct esmc_mapping_config *cfg,
                             struct esmc_error *err)
{
  const char *s = "junk";
  int i = tm.creates - 1;
  (void)cfg;
  (void)err;
  ck_seen_st[i] = h->get_checkpoint(h->ctx, SHARD0, &s);
  ck_seen_null[i] = s == NULL;
  if(s)
    snprintf(ck_seen[i], sizeof(ck_seen[i]), "%s", s);
  if(tm.creates == 1)
    return h->set_timer(h->ctx, tm_now(h) + 100, 1);
  return ESMC_OK;
}

static esmc_status ck_probe(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  const char *s = NULL;
  (void)token;
  if(tm_read_all(h, &r) != ESMC_OK || r.count != 3)
    return ESMC_E_INTERNAL;
  snprintf(ck_strs[0], sizeof(ck_strs[0]), "%s", r.records[1]->sequence_number);
  seq_add(ck_strs[1], sizeof(ck_strs[1]), r.records[0]->sequence_number, -1);
  snprintf(ck_strs[2], sizeof(ck_strs[2]), "5");
  snprintf(ck_strs[3], sizeof(ck_strs[3]), "1%056d", 0);
  snprintf(ck_strs[4], sizeof(ck_strs[4]), "00%s", r.records[1]->sequence_number);
  seq_add(ck_strs[5], sizeof(ck_strs[5]), r.records[2]->sequence_number, 1);
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[0]);          /* a = 1 */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[1]);          /* -1 */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[2]);          /* -1 */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[3]);          /* 2 */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[4]);          /* 1 */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[5]);          /* 2 */
  pr[npr++].st = h->checkpoint(h->ctx, "shardId-000000000007", ck_strs[0]);
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, NULL);
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, "");
  pr[npr].st = h->get_checkpoint(h->ctx, "shardId-000000000007", &s);
  pr[npr++].count = s == NULL;
  /* The stored value is the last accepted one. */
  pr[npr].st = h->get_checkpoint(h->ctx, SHARD0, &s);
  snprintf(pr[npr++].first, sizeof(pr[0].first), "%s", s ? s : "(null)");
  /* End on r2's sequence number, for the restart. */
  pr[npr++].st = h->checkpoint(h->ctx, SHARD0, ck_strs[0]);
  return ESMC_OK;
}

static void test_checkpoints(void **state)
{
  struct wf_run r;
  const struct esmc_history *h;
  const int64_t want_a[] = {1, -1, -1, 2, 1, 2};
  size_t i;
  (void)state;
  tm_reset();
  probe_reset();
  memset(ck_seen, 0, sizeof(ck_seen));
  tm.hooks.create = ck_create;
  tm.hooks.timer = ck_probe;
  wf_run_json(&r,
              WF_HEAD("ckpt") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\"},{\"id\":\"r3\"}],"
              "\"events\":[{\"at_ms\":500,\"restart\":true}],"
              "\"run\":{\"until_ms\":2000}}",
              1, tm_adapter(ESMC_CAP_KINESIS | ESMC_CAP_RESTART));
  h = &r.w->hist;
  assert_int_equal(npr, 12);
  for(i = 0; i < 6; i++) {
    const struct esmc_hevent *e = wf_nth(h, ESMC_H_CHECKPOINT, i);
    assert_int_equal(pr[i].st, ESMC_OK);
    assert_non_null(e);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->shard, 0);
    assert_string_equal(e->text, ck_strs[i]);
    if(e->a != want_a[i])
      print_error("checkpoint %zu (%s): a = %" PRId64 ", want %" PRId64 "\n", i,
                  ck_strs[i], e->a, want_a[i]);
    assert_int_equal(e->a, want_a[i]);
  }
  assert_int_equal(pr[6].st, ESMC_E_NOT_FOUND);         /* unknown shard */
  assert_int_equal(pr[7].st, ESMC_E_INVALID_PARAMETER); /* NULL */
  assert_int_equal(pr[8].st, ESMC_E_INVALID_PARAMETER); /* "" */
  assert_int_equal(pr[9].st, ESMC_E_NOT_FOUND);         /* get, unknown shard */
  assert_int_equal(pr[9].count, 1);                     /* *seq = NULL */
  assert_int_equal(pr[10].st, ESMC_OK);
  assert_string_equal(pr[10].first, ck_strs[5]);
  assert_int_equal(pr[11].st, ESMC_OK);
  /* Before any checkpoint: OK and NULL; after the restart: the stored one. */
  assert_int_equal(tm.creates, 2);
  assert_int_equal(ck_seen_st[0], ESMC_OK);
  assert_true(ck_seen_null[0]);
  assert_int_equal(ck_seen_st[1], ESMC_OK);
  assert_false(ck_seen_null[1]);
  assert_string_equal(ck_seen[1], seq_of(&r, "r2"));
  wf_free(&r);
}

/* BUG (harness/world.c, h_checkpoint): a checkpoint on an unknown shard
 * returns ESMC_E_NOT_FOUND to the mapper but is recorded in the history with
 * status ESMC_E_INVALID_PARAMETER. Every other host call records the status
 * it returns; the history must say NOT_FOUND too. */
static void test_checkpoint_unknown_shard_recorded_status(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *e;
  uint32_t shard;
  int32_t status;
  (void)state;
  tm_reset();
  probe_reset();
  tm.hooks.create = ck_create;
  tm.hooks.timer = ck_probe;
  wf_run_json(&r,
              WF_HEAD("ckpt-unknown") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\"},{\"id\":\"r3\"}],"
              "\"run\":{\"until_ms\":2000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  e = wf_nth(&r.w->hist, ESMC_H_CHECKPOINT, 6);
  assert_non_null(e);
  shard = e->shard;
  status = e->status;
  wf_free(&r); /* before asserting: a failure must not leak */
  assert_int_equal(shard, ESMC_NO_SHARD);
  assert_int_equal(pr[6].st, ESMC_E_NOT_FOUND);
  assert_int_equal(status, pr[6].st); /* BUG: recorded as -2 */
}

/* ------------------------------------------------------------------------ */
/* Lifecycle. */

static const char *const plain_case =
    WF_HEAD("lifecycle") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\"}],\"run\":{\"until_ms\":3000}}";

static esmc_status reject_create(const struct esmc_host *h,
                                 const struct esmc_mapping_config *cfg,
                                 struct esmc_error *err)
{
  (void)h;
  (void)cfg;
  snprintf(err->code, sizeof(err->code), "InvalidParameterValueException");
  snprintf(err->message, sizeof(err->message), "BatchSize must be <= 10000");
  return ESMC_E_INVALID_PARAMETER;
}

static esmc_status unsupported_create(const struct esmc_host *h,
                                      const struct esmc_mapping_config *cfg,
                                      struct esmc_error *err)
{
  (void)h;
  (void)cfg;
  snprintf(err->code, sizeof(err->code), "UnsupportedFeature");
  snprintf(err->message, sizeof(err->message), "no tumbling windows");
  return ESMC_E_UNSUPPORTED;
}

static void test_create_rejected_and_unsupported(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *e;
  (void)state;
  tm_reset();
  tm.hooks.create = reject_create;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.create_rejected, 1);
  assert_int_equal(r.out.create_unsupported, 0);
  assert_string_equal(r.out.create_error,
                      "InvalidParameterValueException: BatchSize must be <= 10000");
  e = wf_nth(&r.w->hist, ESMC_H_CREATE, 0);
  assert_int_equal(e->status, ESMC_E_INVALID_PARAMETER);
  assert_int_equal(e->a, 0);
  assert_string_equal(e->text, r.out.create_error);
  assert_int_equal(tm.destroys, 0); /* never created, never destroyed */
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_DESTROY), 0);
  assert_true(r.out.end == ESMC_END_QUIESCENT || r.out.end == ESMC_END_HORIZON);
  wf_free(&r);

  tm_reset();
  tm.hooks.create = unsupported_create;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.create_rejected, 1);
  assert_int_equal(r.out.create_unsupported, 1);
  assert_string_equal(r.out.create_error, "UnsupportedFeature: no tumbling windows");
  e = wf_nth(&r.w->hist, ESMC_H_CREATE, 0);
  assert_int_equal(e->status, ESMC_E_UNSUPPORTED);
  wf_free(&r);
}

static const char *const update_case =
    WF_HEAD("update") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"events\":[{\"at_ms\":100,\"update\":{\"batch_size\":5}},"
    "{\"at_ms\":200,\"update\":{\"enabled\":false}}]}";

static int updates_seen;
static int32_t update_batch_size;

static esmc_status accept_update(void *mapper, const struct esmc_mapping_config *cfg,
                                 struct esmc_error *err)
{
  (void)mapper;
  (void)err;
  if(updates_seen++ == 0)
    update_batch_size = cfg->batch_size;
  return ESMC_OK;
}

/* A mapper that never checkpoints keeps polling an idle stream: the run
 * ends 30 simulated minutes after its last invocation, not at the default
 * horizon a day later; with run.until_ms it goes on to that time. */
static void test_idle_end(void **state)
{
  static const char *const idle_case =
      WF_HEAD("idle-end") "\"source\":\"kinesis\",\"mapping\":{},"
      "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\",\"at_ms\":5000}]}";
  static const char *const until_case =
      WF_HEAD("idle-until") "\"source\":\"kinesis\",\"mapping\":{},"
      "\"records\":[{\"id\":\"r1\"}],\"run\":{\"until_ms\":4000000}}";
  struct wf_run r;
  const struct esmc_hevent *inv, *end;
  (void)state;
  tm_reset();
  sm_install();
  sm.no_checkpoint = 1;
  wf_run_json(&r, idle_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_INVOKE), 2);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_CHECKPOINT), 0);
  inv = wf_nth(&r.w->hist, ESMC_H_INVOKE, 1);
  end = wf_nth(&r.w->hist, ESMC_H_END, 0);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  /* The completion of the last invocation is the last activity. */
  assert_true(end->t >= inv->t + 1800000 && end->t <= inv->t + 1800000 + 1010);
  wf_free(&r);

  tm_reset();
  sm_install();
  sm.no_checkpoint = 1;
  wf_run_json(&r, until_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  assert_int_equal(r.w->now, 4000000);
  wf_free(&r);
}

static void test_update(void **state)
{
  struct wf_run r;
  struct esmc_adapter a;
  const struct esmc_hevent *e;
  (void)state;
  /* No update method: recorded as ESMC_E_UNSUPPORTED. */
  tm_reset();
  wf_run_json(&r, update_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_UPDATE), 2);
  e = wf_nth(&r.w->hist, ESMC_H_UPDATE, 0);
  assert_int_equal(e->status, ESMC_E_UNSUPPORTED);
  assert_int_equal(e->a, 0);
  assert_int_equal(e->t, 100);
  e = wf_nth(&r.w->hist, ESMC_H_UPDATE, 1);
  assert_int_equal(e->a, 1);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  assert_int_equal(r.w->now, 200 + 10000);
  wf_free(&r);

  /* With one: called with the update's parameters, recorded OK. */
  tm_reset();
  updates_seen = 0;
  a = *tm_adapter(ESMC_CAP_KINESIS | ESMC_CAP_UPDATE);
  a.update = accept_update;
  wf_run_json(&r, update_case, 1, &a);
  assert_int_equal(updates_seen, 2);
  assert_int_equal(update_batch_size, 5);
  e = wf_nth(&r.w->hist, ESMC_H_UPDATE, 0);
  assert_int_equal(e->status, ESMC_OK);
  assert_null(e->text);
  /* Disabled by the second update, the mapping is quiescent at once. */
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  wf_free(&r);
}

/* Restart: destroy + create; a completion from before never arrives. */
static esmc_status restart_create(const struct esmc_host *h,
                                  const struct esmc_mapping_config *cfg,
                                  struct esmc_error *err)
{
  (void)cfg;
  (void)err;
  if(tm.creates == 1)
    return h->set_timer(h->ctx, tm_now(h) + 100, 1);
  return ESMC_OK;
}

static esmc_status restart_timer(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  (void)token;
  if(tm_read_all(h, &r) != ESMC_OK || !tm_invoke(h, r.records, r.count))
    return ESMC_E_INTERNAL;
  /* A timer armed by the first incarnation never fires in the second. */
  return h->set_timer(h->ctx, tm_now(h) + 1000, 2);
}

static const char *const restart_case =
    WF_HEAD("restart") "\"source\":\"kinesis\","
    "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\"}],"
    "\"function\":{\"duration_ms\":1000},"
    "\"events\":[{\"at_ms\":500,\"restart\":true}],"
    "\"run\":{\"until_ms\":5000}}";

static void test_restart(void **state)
{
  struct wf_run r;
  const struct esmc_history *h;
  long f, d, c;
  (void)state;
  tm_reset();
  tm.hooks.create = restart_create;
  tm.hooks.timer = restart_timer;
  wf_run_json(&r, restart_case, 1, tm_adapter(ESMC_CAP_KINESIS | ESMC_CAP_RESTART));
  h = &r.w->hist;
  assert_int_equal(tm.creates, 2);
  assert_int_equal(tm.destroys, 2);
  assert_int_equal(tm.timers, 1);
  assert_int_equal(wf_count(h, ESMC_H_INVOKE), 1);
  assert_int_equal(wf_count(h, ESMC_H_COMPLETE), 0);
  assert_int_equal(tm.completes, 0);
  f = wf_index(h, ESMC_H_FAULT, 0);
  d = wf_index(h, ESMC_H_DESTROY, 0);
  c = wf_index(h, ESMC_H_CREATE, 1);
  assert_true(f >= 0 && d > f && c > d);
  assert_int_equal(h->ev[f].a, ESMC_CASE_RESTART);
  assert_int_equal(h->ev[d].a, 1);
  assert_int_equal(h->ev[d].t, 500);
  assert_int_equal(h->ev[c].a, 1);
  assert_int_equal(h->ev[c].status, 0);
  assert_int_equal(h->ev[wf_index(h, ESMC_H_CREATE, 0)].a, 0);
  /* The end-of-run destroy: a = 0. */
  assert_int_equal(h->ev[wf_index(h, ESMC_H_DESTROY, 1)].a, 0);
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  wf_free(&r);
}

/* Contract violations. */
static void log_in_destroy(const struct esmc_host *h)
{
  h->log(h->ctx, ESMC_LOG_INFO, "goodbye");
}

static void test_contract_call_from_destroy_on_restart(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *e;
  (void)state;
  tm_reset();
  tm.hooks.destroy = log_in_destroy;
  wf_run_json(&r, restart_case, 1, tm_adapter(ESMC_CAP_KINESIS | ESMC_CAP_RESTART));
  assert_int_equal(r.out.end, ESMC_END_CONTRACT);
  assert_non_null(strstr(r.out.detail, "log()"));
  assert_non_null(strstr(r.out.detail, "destroyed"));
  e = wf_nth(&r.w->hist, ESMC_H_CONTRACT, 0);
  assert_non_null(e);
  assert_int_equal(e->t, 500);
  assert_string_equal(e->text, r.out.detail);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_LOG), 0); /* not honoured */
  wf_free(&r);
}

/* BUG (harness/world.c, esmc_world_run/do_destroy/contract): a host call
 * from inside the destroy() at the END of the run is recorded as
 * ESMC_H_CONTRACT but does not make the outcome ESMC_END_CONTRACT, because
 * in->stop is already set by the END event and contract() only sets the
 * outcome when !in->stop. The run then gets a normal verdict. */
static void test_contract_call_from_final_destroy(void **state)
{
  struct wf_run r;
  struct esmc_run_outcome out;
  size_t ncontract;
  (void)state;
  tm_reset();
  tm.hooks.destroy = log_in_destroy;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  ncontract = wf_count(&r.w->hist, ESMC_H_CONTRACT);
  out = r.out;
  wf_free(&r);
  assert_int_equal(ncontract, 1);
  assert_int_equal(out.end, ESMC_END_CONTRACT); /* BUG: stays HORIZON */
  assert_non_null(strstr(out.detail, "log()"));
}

static esmc_status call_old_host(const struct esmc_host *h,
                                 const struct esmc_mapping_config *cfg,
                                 struct esmc_error *err)
{
  (void)h;
  (void)cfg;
  (void)err;
  if(tm.prev_host)
    tm.prev_host->set_timer(tm.prev_host->ctx, 0, 5);
  return ESMC_OK;
}

static void test_contract_call_through_destroyed_incarnation(void **state)
{
  struct wf_run r;
  (void)state;
  tm_reset();
  tm.hooks.create = call_old_host;
  wf_run_json(&r, restart_case, 1, tm_adapter(ESMC_CAP_KINESIS | ESMC_CAP_RESTART));
  assert_int_equal(tm.creates, 2);
  assert_int_equal(r.out.end, ESMC_END_CONTRACT);
  assert_non_null(strstr(r.out.detail, "set_timer()"));
  assert_non_null(strstr(r.out.detail, "already destroyed"));
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_TIMER_SET), 0);
  assert_int_equal(r.w->now, 500); /* the run stopped there */
  wf_free(&r);
}

static esmc_status fatal_timer(const struct esmc_host *h, uint64_t token)
{
  (void)h;
  (void)token;
  return ESMC_E_FATAL;
}

static esmc_status arm_now(const struct esmc_host *h,
                           const struct esmc_mapping_config *cfg,
                           struct esmc_error *err)
{
  (void)cfg;
  (void)err;
  return h->set_timer(h->ctx, tm_now(h), 1);
}

static esmc_status invoke_now(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result r;
  (void)token;
  return tm_read_all(h, &r) == ESMC_OK && tm_invoke(h, r.records, r.count)
             ? ESMC_OK
             : ESMC_E_INTERNAL;
}

static esmc_status internal_complete(const struct esmc_host *h, esmc_invocation inv,
                                     const struct esmc_invoke_result *res)
{
  (void)h;
  (void)inv;
  (void)res;
  return ESMC_E_INTERNAL;
}

static void test_fatal_status(void **state)
{
  struct wf_run r;
  (void)state;
  tm_reset();
  tm.hooks.create = arm_now;
  tm.hooks.timer = fatal_timer;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_FATAL);
  assert_non_null(strstr(r.out.detail, "on_timer"));
  assert_non_null(strstr(r.out.detail, "-100"));
  assert_int_equal(tm.timers, 1);
  wf_free(&r);

  tm_reset();
  tm.hooks.create = arm_now;
  tm.hooks.timer = invoke_now;
  tm.hooks.complete = internal_complete;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_FATAL);
  assert_non_null(strstr(r.out.detail, "on_invoke_complete"));
  assert_non_null(strstr(r.out.detail, "-101"));
  wf_free(&r);

  /* A non-fatal error status from a callback is not the end. */
  tm_reset();
  tm.hooks.create = arm_now;
  tm.hooks.timer = invoke_now;
  tm.hooks.complete = NULL;
  wf_run_json(&r, plain_case, 1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  wf_free(&r);
}

/* A mapper that re-arms its timer at `now` forever. The hook gives up (with
 * a fatal status) well after the harness should have, so a missing stall
 * detection fails fast instead of running 20 million steps. */
static esmc_status rearm_now(const struct esmc_host *h, uint64_t token)
{
  if(tm.timers > 300000)
    return ESMC_E_FATAL;
  return h->set_timer(h->ctx, tm_now(h), token);
}

static void run_stall(struct wf_run *r, int64_t create_at)
{
  char json[512];
  snprintf(json, sizeof(json),
           WF_HEAD("stall") "\"source\":\"kinesis\","
           "\"mapping\":{\"create_at_ms\":%" PRId64 ",\"starting_position\":\"TRIM_HORIZON\"},"
           "\"run\":{\"until_ms\":60000}}",
           create_at);
  tm_reset();
  tm.hooks.create = arm_now;
  tm.hooks.timer = rearm_now;
  wf_run_json(r, json, 1, tm_adapter(ESMC_CAP_KINESIS));
}

static void test_stall_step_limit(void **state)
{
  struct wf_run r;
  (void)state;
  run_stall(&r, 1000);
  if(r.out.end != ESMC_END_STEP_LIMIT)
    print_error("end %d: %s\n", (int)r.out.end, r.out.detail);
  assert_int_equal(r.out.end, ESMC_END_STEP_LIMIT);
  assert_non_null(strstr(r.out.detail, "stalled"));
  assert_non_null(strstr(r.out.detail, "t=1000"));
  assert_int_equal(r.w->now, 1000);
  wf_free(&r);
}

/* BUG (harness/world.c, esmc_world_run): the stall detector starts with
 * stall_t = -1 and only sets it when time advances, so a loop at t = 0 (the
 * default create_at_ms) is never detected as a stall: the run goes on to the
 * 20,000,000-step limit instead. Expected: STEP_LIMIT "stalled" at t=0. */
static void test_stall_at_time_zero(void **state)
{
  struct wf_run r;
  struct esmc_run_outcome out;
  int64_t now;
  (void)state;
  run_stall(&r, 0);
  out = r.out;
  now = r.w->now;
  wf_free(&r);
  if(out.end != ESMC_END_STEP_LIMIT)
    print_error("end %d after %d timers: %s\n", (int)out.end, tm.timers,
                out.detail);
  assert_int_equal(out.end, ESMC_END_STEP_LIMIT); /* BUG: FATAL (our guard) */
  assert_non_null(strstr(out.detail, "stalled"));
  assert_int_equal(now, 0);
}

/* ------------------------------------------------------------------------ */
/* How a run ends. */

static void test_quiescence(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *e, *last_ck;
  (void)state;
  tm_reset();
  sm_install();
  wf_run_json(&r,
              WF_HEAD("quiescent") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\"},{\"id\":\"r3\",\"at_ms\":3000}]}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_INVOKE), 2);
  last_ck = wf_nth(&r.w->hist, ESMC_H_CHECKPOINT, 1);
  assert_non_null(last_ck);
  assert_int_equal(last_ck->a, 2);
  /* END, then the end-of-run destroy (a = 0). */
  e = &r.w->hist.ev[r.w->hist.n - 1];
  assert_int_equal(e->kind, ESMC_H_DESTROY);
  assert_int_equal(e->a, 0);
  e = &r.w->hist.ev[r.w->hist.n - 2];
  assert_int_equal(e->kind, ESMC_H_END);
  assert_int_equal(e->a, 0);
  assert_int_equal(e->t, last_ck->t + 10000);
  assert_int_equal(r.w->now, last_ck->t + 10000);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_END), 1);
  /* The end-of-run destroy follows the END event. */
  assert_int_equal(tm.destroys, 1);
  wf_free(&r);
}

/* Checkpoint one above the last record's sequence number: numerically it
 * covers every record (the CHECKPOINT event says a = last index). */
static esmc_status sm_complete_above(const struct esmc_host *h, esmc_invocation inv,
                                     const struct esmc_invoke_result *res)
{
  char above[80];
  (void)inv;
  (void)res;
  sm.busy = 0;
  seq_add(above, sizeof(above), sm.last_seq, 1);
  if(h->checkpoint(h->ctx, SHARD0, above) != ESMC_OK)
    return ESMC_E_INTERNAL;
  return h->set_timer(h->ctx, tm_now(h) + 1000, 1);
}

/* BUG (harness/world.c, quiescent()): coverage is computed with
 * esmc_world_record_by_seq(), an exact lookup, so a checkpoint that covers
 * every record numerically without naming one (allowed by the ABI: "S need
 * not name a record") counts as covering nothing and the run never becomes
 * quiescent; it runs to the horizon. Expected: QUIESCENT 10 s after the
 * checkpoint, as with a checkpoint at the record itself. */
static void test_quiescence_numeric_checkpoint(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *ck;
  struct esmc_run_outcome out;
  int64_t a, ck_t, now;
  (void)state;
  tm_reset();
  sm_install();
  tm.hooks.complete = sm_complete_above;
  wf_run_json(&r,
              WF_HEAD("quiescent-numeric") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\"}],"
              "\"run\":{\"until_ms\":100000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  ck = wf_nth(&r.w->hist, ESMC_H_CHECKPOINT, 0);
  assert_non_null(ck);
  a = ck->a;
  ck_t = ck->t;
  now = r.w->now;
  out = r.out;
  wf_free(&r);
  assert_int_equal(a, 1); /* covers r1 and r2 */
  assert_int_equal(out.end, ESMC_END_QUIESCENT); /* BUG: HORIZON */
  assert_int_equal(now, ck_t + 10000);
}

static void test_horizon(void **state)
{
  struct wf_run r;
  const struct esmc_hevent *e;
  (void)state;
  /* run.until_ms: a mapper that never checkpoints stops there. */
  tm_reset();
  wf_run_json(&r,
              WF_HEAD("horizon") "\"source\":\"kinesis\","
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"}],\"run\":{\"until_ms\":5000}}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  assert_int_equal(r.w->now, 5000);
  e = wf_nth(&r.w->hist, ESMC_H_END, 0);
  assert_non_null(e);
  assert_int_equal(e->a, 1);
  assert_int_equal(e->t, 5000);
  wf_free(&r);

  /* Without it: the last scripted event + retention + 60 s. */
  tm_reset();
  wf_run_json(&r,
              WF_HEAD("horizon-default") "\"source\":\"kinesis\","
              "\"stream\":{\"retention_hours\":1},"
              "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
              "\"records\":[{\"id\":\"r1\"},{\"id\":\"r2\",\"at_ms\":2000}]}",
              1, tm_adapter(ESMC_CAP_KINESIS));
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  assert_int_equal(r.w->now, 2000 + 3600000 + 60000);
  wf_free(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_seed_same_digest),
      cmocka_unit_test(test_other_seeds_stay_valid),
      cmocka_unit_test(test_seed_orders_same_instant_timers),
      cmocka_unit_test(test_record_numbering_and_placement),
      cmocka_unit_test(test_record_lookup),
      cmocka_unit_test(test_iterators),
      cmocka_unit_test(test_iterator_expiry_and_limits),
      cmocka_unit_test(test_retention_trimming),
      cmocka_unit_test(test_function_conditions),
      cmocka_unit_test(test_function_timeouts),
      cmocka_unit_test(test_function_fail_items_raw),
      cmocka_unit_test(test_function_payload_limit),
      cmocka_unit_test(test_decode_kinesis),
      cmocka_unit_test(test_decode_dynamodb),
      cmocka_unit_test(test_destination_down_and_up),
      cmocka_unit_test(test_checkpoints),
      cmocka_unit_test(test_checkpoint_unknown_shard_recorded_status),
      cmocka_unit_test(test_create_rejected_and_unsupported),
      cmocka_unit_test(test_idle_end),
      cmocka_unit_test(test_update),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_contract_call_from_destroy_on_restart),
      cmocka_unit_test(test_contract_call_from_final_destroy),
      cmocka_unit_test(test_contract_call_through_destroyed_incarnation),
      cmocka_unit_test(test_fatal_status),
      cmocka_unit_test(test_stall_step_limit),
      cmocka_unit_test(test_stall_at_time_zero),
      cmocka_unit_test(test_quiescence),
      cmocka_unit_test(test_quiescence_numeric_checkpoint),
      cmocka_unit_test(test_horizon),
  };
  return cmocka_run_group_tests_name("world", tests, NULL, NULL);
}

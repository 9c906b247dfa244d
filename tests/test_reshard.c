/*
 * test_reshard.c: resharding. The world's shard plan (placement after a
 * split, merge and rollover, sequence numbers, ending sequence numbers), the
 * host calls over time (list_shards, get_records on a closed shard), the
 * loader's checks, and the RESHARD-1 and RESHARD-2 judgments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "case_load.h"
#include "check_fixture.h"

/* Append a reshard event to the fixture's scenario (before fx_build). */
static void add_reshard(struct fx *f, enum esmc_case_event_kind kind,
                        int64_t at_ms, int32_t a, int32_t b)
{
  struct esmc_case_event *e;
  size_t n = f->sc.event_count;
  assert_null(f->w);
  e = esmc_realloc(f->sc.events, (n + 1) * sizeof(*e));
  assert_non_null(e);
  f->sc.events = e;
  e = &f->sc.events[n];
  memset(e, 0, sizeof(*e));
  e->at_ms = at_ms;
  e->kind = kind;
  esmc_config_spec_init(&e->update);
  e->shards[0] = a;
  e->shards[1] = b;
  f->sc.event_count = n + 1;
}

static uint32_t shard_of(const struct esmc_world *w, const char *id)
{
  return w->records[fx_rid(w, id)].shard;
}

/* ------------------------------------------------------------------------ */
/* The shard plan.                                                           */

/* Keys k1 and k2 hash into the lower half of the key space, k3 and k4 into
 * the upper half (spec/case-format.md section 8). */
static void test_split_placement(void **state)
{
  struct fx f;
  const struct esmc_world *w;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", 0, -1);   /* r1: parent */
  fx_add_record(&f, "k3", 999, -1); /* r2: parent, just before the split */
  fx_add_record(&f, "k1", 1000, -1); /* r3: at the split: a child */
  fx_add_record(&f, "k2", 1100, -1); /* r4 */
  fx_add_record(&f, "k3", 1200, -1); /* r5 */
  fx_add_record(&f, "k4", 1300, -1); /* r6 */
  fx_add_record(&f, "k1", 1400, 2);  /* r7: explicit child shard 2 */
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  fx_build(&f);
  w = f.w;
  assert_int_equal(w->nshards, 3);
  assert_string_equal(w->shards[1].id, "shardId-000000000001");
  assert_string_equal(w->shards[2].id, "shardId-000000000002");
  assert_int_equal(w->shards[1].nparents, 1);
  assert_int_equal(w->shards[1].parents[0], 0);
  assert_int_equal(w->shards[2].parents[0], 0);
  assert_int_equal(w->shards[0].closed_ms, 1000);
  assert_int_equal(w->shards[1].created_ms, 1000);
  assert_true(w->shards[1].hash_hi + 1 == w->shards[2].hash_lo);
  assert_int_equal(w->shards[1].hash_lo, 0);
  assert_true(w->shards[2].hash_hi == UINT64_MAX);
  assert_int_equal(shard_of(w, "r1"), 0);
  assert_int_equal(shard_of(w, "r2"), 0);
  assert_int_equal(shard_of(w, "r3"), 1);
  assert_int_equal(shard_of(w, "r4"), 1);
  assert_int_equal(shard_of(w, "r5"), 2);
  assert_int_equal(shard_of(w, "r6"), 2);
  assert_int_equal(shard_of(w, "r7"), 2);
  /* Sequence numbers go up along the lineage; the closed parent ends at
   * its last record. */
  assert_true(esmc_seq_cmp(fx_seq(w, "r3"), fx_seq(w, "r2")) > 0);
  assert_true(esmc_seq_cmp(fx_seq(w, "r5"), fx_seq(w, "r2")) > 0);
  assert_string_equal(w->shards[0].ending_seq, fx_seq(w, "r2"));
  fx_free(&f);
}

static void test_merge_and_rollover_plan(void **state)
{
  struct fx f;
  const struct esmc_world *w;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 2);
  fx_add_record(&f, "a", 0, 0);    /* r1 on shard 0; shard 1 stays empty */
  fx_add_record(&f, "a", 2000, -1); /* r2: on the merged child */
  fx_add_record(&f, "b", 4000, -1); /* r3: on the rolled-over child */
  add_reshard(&f, ESMC_CASE_MERGE, 1000, 0, 1);
  add_reshard(&f, ESMC_CASE_ROLLOVER, 3000, 2, -1);
  fx_build(&f);
  w = f.w;
  assert_int_equal(w->nshards, 4);
  assert_int_equal(w->shards[2].nparents, 2);
  assert_int_equal(w->shards[2].parents[0], 0);
  assert_int_equal(w->shards[2].parents[1], 1);
  assert_int_equal(w->shards[2].hash_lo, 0);
  assert_true(w->shards[2].hash_hi == UINT64_MAX);
  assert_int_equal(w->shards[2].closed_ms, 3000);
  assert_int_equal(w->shards[3].parents[0], 2);
  assert_true(w->shards[3].hash_hi == UINT64_MAX);
  assert_int_equal(shard_of(w, "r2"), 2);
  assert_int_equal(shard_of(w, "r3"), 3);
  /* An empty closed shard ends below its child's first record. */
  assert_int_equal(w->shards[1].n, 0);
  assert_true(esmc_seq_cmp(w->shards[1].ending_seq, fx_seq(w, "r2")) < 0);
  assert_string_equal(w->shards[1].ending_seq, w->shards[1].starting_seq);
  fx_free(&f);
}

static void test_plan_errors(void **state)
{
  struct fx f;
  char msg[400];
  size_t ev, rec;
  (void)state;
  /* A record naming the closed parent after the split. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", 2000, 0);
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  assert_int_equal(esmc_world_check_plan(&f.sc, msg, sizeof(msg), &ev, &rec), 1);
  assert_int_equal(rec, 0);
  assert_non_null(strstr(msg, "not open at its append time"));
  fx_build(&f); /* the world places it by its hash key instead */
  assert_int_not_equal(shard_of(f.w, "r1"), 0);
  fx_free(&f);
  /* Splitting a closed shard; merging shards that do not touch. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 3);
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  add_reshard(&f, ESMC_CASE_SPLIT, 2000, 0, -1);
  assert_int_equal(esmc_world_check_plan(&f.sc, msg, sizeof(msg), &ev, &rec), 1);
  assert_int_equal(ev, 1);
  assert_non_null(strstr(msg, "events[1].split.shard: shard 0 is already closed"));
  fx_free(&f);
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 3);
  add_reshard(&f, ESMC_CASE_MERGE, 1000, 0, 2);
  assert_int_equal(esmc_world_check_plan(&f.sc, msg, sizeof(msg), &ev, &rec), 1);
  assert_non_null(strstr(msg, "not adjacent"));
  fx_build(&f); /* skipped: no child */
  assert_int_equal(f.w->nshards, 3);
  fx_free(&f);
}

static void test_loader_reshard_events(void **state)
{
  static const char ok[] =
      "{\"id\":\"x\",\"description\":\"d\",\"rules\":[\"RESHARD-1\"],"
      "\"tags\":[\"reshard\"],\"requires\":[\"kinesis\",\"resharding\"],"
      "\"source\":\"kinesis\",\"stream\":{\"shards\":2},"
      "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
      "\"records\":[{\"id\":\"r1\",\"at_ms\":3000,\"shard\":5}],"
      "\"events\":[{\"at_ms\":1000,\"split\":{\"shard\":1}},"
      "{\"at_ms\":2000,\"merge\":{\"shards\":[0,2]}},"
      "{\"at_ms\":2500,\"rollover\":{\"shard\":3}}]}";
  static const char closed[] =
      "{\"id\":\"x\",\"description\":\"d\",\"rules\":[\"RESHARD-1\"],"
      "\"tags\":[\"reshard\"],\"requires\":[],\"source\":\"kinesis\","
      "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
      "\"records\":[{\"id\":\"r1\",\"at_ms\":3000,\"shard\":0}],"
      "\"events\":[{\"at_ms\":1000,\"split\":{\"shard\":0}}]}";
  static const char twice[] =
      "{\"id\":\"x\",\"description\":\"d\",\"rules\":[\"RESHARD-1\"],"
      "\"tags\":[\"reshard\"],\"requires\":[],\"source\":\"kinesis\","
      "\"mapping\":{\"starting_position\":\"TRIM_HORIZON\"},"
      "\"events\":[{\"at_ms\":1000,\"split\":{\"shard\":0}},"
      "{\"at_ms\":1000,\"rollover\":{\"shard\":0}}]}";
  struct esmc_scenario s;
  struct esmc_load_error err;
  (void)state;
  if(esmc_case_load_buf(ok, sizeof(ok) - 1, NULL, &s, &err) != 0)
    fail_msg("%s", err.message);
  assert_int_equal(s.event_count, 3);
  assert_int_equal(s.events[0].kind, ESMC_CASE_SPLIT);
  assert_int_equal(s.events[0].shards[0], 1);
  assert_int_equal(s.events[1].kind, ESMC_CASE_MERGE);
  assert_int_equal(s.events[1].shards[0], 0);
  assert_int_equal(s.events[1].shards[1], 2);
  assert_int_equal(s.events[2].kind, ESMC_CASE_ROLLOVER);
  assert_int_equal(s.records[0].shard, 5);
  esmc_scenario_free(&s);
  assert_int_equal(esmc_case_load_buf(closed, sizeof(closed) - 1, NULL, &s,
                                      &err), -1);
  assert_non_null(strstr(err.message, "record \"r1\": shard 0 is not open"));
  assert_true(err.line > 0);
  assert_int_equal(esmc_case_load_buf(twice, sizeof(twice) - 1, NULL, &s,
                                      &err), -1);
  assert_non_null(strstr(err.message, "events[1].rollover.shard"));
}

/* ------------------------------------------------------------------------ */
/* The host calls over time, through a small scripted adapter.               */

static struct probe {
  const struct esmc_host *h;
  size_t count_before, count_after;
  int child_parent_ok, parent_ending_ok, child_open_ok;
  esmc_status early_child_iter;
  size_t closed_read;
  esmc_iterator closed_next, child_next;
  char ending[64];
} pr;

static esmc_status p_create(const struct esmc_host *h,
                            const struct esmc_mapping_config *cfg, void **m,
                            struct esmc_error *err)
{
  (void)cfg;
  (void)err;
  pr.h = h;
  *m = &pr;
  h->set_timer(h->ctx, h->now(h->ctx) + 500, 1);
  return h->set_timer(h->ctx, h->now(h->ctx) + 2500, 2);
}

static esmc_status p_timer(void *m, uint64_t token)
{
  const struct esmc_host *h = pr.h;
  const struct esmc_shard *sh = NULL;
  size_t n = 0;
  esmc_iterator it = 0;
  struct esmc_get_records_result res;
  (void)m;
  if(h->list_shards(h->ctx, &sh, &n) != ESMC_OK)
    return ESMC_E_INTERNAL;
  if(token == 1) {
    pr.count_before = n;
    pr.early_child_iter = h->get_shard_iterator(
        h->ctx, "shardId-000000000001", ESMC_ITER_TRIM_HORIZON, NULL, 0, &it);
    return ESMC_OK;
  }
  pr.count_after = n;
  if(n == 3) {
    pr.child_parent_ok =
        sh[1].parent_shard_id &&
        strcmp(sh[1].parent_shard_id, "shardId-000000000000") == 0 &&
        !sh[1].adjacent_parent_shard_id && !sh[1].ending_sequence_number;
    pr.parent_ending_ok = sh[0].ending_sequence_number != NULL;
    if(sh[0].ending_sequence_number)
      snprintf(pr.ending, sizeof(pr.ending), "%s", sh[0].ending_sequence_number);
  }
  if(h->get_shard_iterator(h->ctx, "shardId-000000000000",
                           ESMC_ITER_TRIM_HORIZON, NULL, 0, &it) != ESMC_OK ||
     h->get_records(h->ctx, it, 100, &res) != ESMC_OK)
    return ESMC_E_INTERNAL;
  pr.closed_read = res.count;
  pr.closed_next = res.next_iterator;
  if(h->get_shard_iterator(h->ctx, "shardId-000000000001",
                           ESMC_ITER_TRIM_HORIZON, NULL, 0, &it) != ESMC_OK ||
     h->get_records(h->ctx, it, 100, &res) != ESMC_OK)
    return ESMC_E_INTERNAL;
  pr.child_next = res.next_iterator;
  pr.child_open_ok = res.count == 1;
  return ESMC_OK;
}

static esmc_status p_complete(void *m, esmc_invocation inv,
                              const struct esmc_invoke_result *r)
{
  (void)m;
  (void)inv;
  (void)r;
  return ESMC_OK;
}

static void p_destroy(void *m) { (void)m; }

static void test_host_calls_over_time(void **state)
{
  struct esmc_adapter a;
  struct esmc_run_outcome out;
  struct fx f;
  size_t i;
  int fault = 0;
  (void)state;
  memset(&pr, 0, sizeof(pr));
  memset(&a, 0, sizeof(a));
  a.abi_version = ESMC_ABI_VERSION;
  a.struct_size = sizeof(a);
  a.name = "probe";
  a.version = "1";
  a.capabilities = ESMC_CAP_KINESIS | ESMC_CAP_RESHARDING;
  a.create = p_create;
  a.on_timer = p_timer;
  a.on_invoke_complete = p_complete;
  a.destroy = p_destroy;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", 0, -1);    /* r1: parent */
  fx_add_record(&f, "k1", 100, -1);  /* r2: parent */
  fx_add_record(&f, "k1", 1500, -1); /* r3: child 1 */
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  f.sc.run_until_ms = 5000;
  fx_build(&f);
  assert_int_equal(esmc_world_run(f.w, &a, &out), 0);
  assert_int_equal(pr.count_before, 1);
  assert_int_equal(pr.early_child_iter, ESMC_E_NOT_FOUND);
  assert_int_equal(pr.count_after, 3);
  assert_true(pr.child_parent_ok);
  assert_true(pr.parent_ending_ok);
  assert_string_equal(pr.ending, fx_seq(f.w, "r2"));
  assert_int_equal(pr.closed_read, 2);
  assert_int_equal(pr.closed_next, 0); /* closed and fully read */
  assert_true(pr.child_open_ok);
  assert_true(pr.child_next != 0);     /* the child is open */
  for(i = 0; i < f.w->hist.n; i++) {
    const struct esmc_hevent *e = &f.w->hist.ev[i];
    if(e->kind == ESMC_H_FAULT && e->a == ESMC_CASE_SPLIT) {
      fault = 1;
      assert_int_equal(e->t, 1000);
      assert_int_equal(e->shard, 0);
      assert_int_equal(e->id, 1);
    }
  }
  assert_true(fault);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* RESHARD-1 and RESHARD-2.                                                  */

/* r1 on the parent, r2 on a child after the split at t=1000. */
static void split_fixture(struct fx *f)
{
  fx_scenario(f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(f, "k1", 0, -1);
  fx_add_record(f, "k1", 1500, -1);
  add_reshard(f, ESMC_CASE_SPLIT, 1000, 0, -1);
  fx_build(f);
  fx_start(f);
}

static void test_child_before_parent_fires(void **state)
{
  struct fx f;
  uint64_t i1, i2;
  (void)state;
  split_fixture(&f);
  i1 = fx_invoke_names(f.w, 100, "r1");
  fx_append_between(f.w, 0, 1500);
  i2 = fx_invoke_names(f.w, 1600, "r2"); /* r1 is still running */
  fx_ok(f.w, 2000, i1);
  fx_checkpoint_id(f.w, 2000, "r1");
  fx_ok(f.w, 2010, i2);
  fx_checkpoint_id(f.w, 2010, "r2");
  fx_end(f.w, 5000, 0);
  fx_assert_fires(&f, "shard_order", "r2", "descends from shardId-000000000000",
                  "r1", NULL);
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);
}

static void test_child_after_parent_quiet(void **state)
{
  struct fx f;
  uint64_t i1, i2;
  (void)state;
  split_fixture(&f);
  i1 = fx_invoke_names(f.w, 100, "r1");
  fx_append_between(f.w, 0, 1500);
  fx_ok(f.w, 2000, i1);
  fx_checkpoint_id(f.w, 2000, "r1");
  i2 = fx_invoke_names(f.w, 2100, "r2");
  fx_ok(f.w, 2110, i2);
  fx_checkpoint_id(f.w, 2110, "r2");
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);
}

/* A merge waits for both parents: the second parent's r2 is not done. */
static void test_merge_waits_for_both_parents(void **state)
{
  struct fx f;
  uint64_t i1, i2, i3;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 2);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 1);
  fx_add_record(&f, "a", 1500, -1);
  add_reshard(&f, ESMC_CASE_MERGE, 1000, 0, 1);
  fx_build(&f);
  fx_start(&f);
  i1 = fx_invoke_names(f.w, 100, "r1");
  fx_ok(f.w, 110, i1);
  fx_checkpoint_id(f.w, 110, "r1");
  fx_append_between(f.w, 0, 1500);
  i3 = fx_invoke_names(f.w, 1600, "r3");
  fx_ok(f.w, 1610, i3);
  fx_checkpoint_id(f.w, 1610, "r3");
  i2 = fx_invoke_names(f.w, 1700, "r2");
  fx_ok(f.w, 1710, i2);
  fx_checkpoint_id(f.w, 1710, "r2");
  fx_end(f.w, 5000, 0);
  fx_assert_fires(&f, "shard_order", "r3", "shardId-000000000001", "r2", NULL);
  fx_free(&f);
}

/* Records outside the starting position do not hold the children back. */
static void test_out_of_scope_parent_quiet(void **state)
{
  struct fx f;
  uint64_t i2;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  f.sc.config.starting_position = ESMC_START_LATEST;
  fx_add_record(&f, "k1", 0, -1);
  fx_add_record(&f, "k1", 1500, -1);
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  fx_build(&f);
  fx_start(&f); /* LATEST: r1 is out of scope */
  fx_append_between(f.w, 0, 1500);
  i2 = fx_invoke_names(f.w, 1600, "r2");
  fx_ok(f.w, 1610, i2);
  fx_checkpoint_id(f.w, 1610, "r2");
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "shard_order");
  fx_free(&f);
}

/* RESHARD-2: a child born after the create, read from LATEST, loses r2. */
static void test_child_at_latest_loses(void **state)
{
  struct fx f;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  f.sc.config.starting_position = ESMC_START_LATEST;
  fx_add_record(&f, "k1", 1500, -1); /* r1: on child 1 */
  add_reshard(&f, ESMC_CASE_SPLIT, 1000, 0, -1);
  fx_build(&f);
  fx_append_between(f.w, INT64_MIN, 0);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_iterator(f.w, 0, 0, ESMC_ITER_LATEST, 0);
  fx_append_between(f.w, 0, 1500);
  fx_iterator(f.w, 2000, 1, ESMC_ITER_LATEST, 1); /* skips r1 */
  fx_iterator(f.w, 2000, 2, ESMC_ITER_LATEST, 0);
  fx_end(f.w, 5000, 0);
  fx_assert_fires(&f, "no_loss", "r1", NULL);
  fx_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_placement),
      cmocka_unit_test(test_merge_and_rollover_plan),
      cmocka_unit_test(test_plan_errors),
      cmocka_unit_test(test_loader_reshard_events),
      cmocka_unit_test(test_host_calls_over_time),
      cmocka_unit_test(test_child_before_parent_fires),
      cmocka_unit_test(test_child_after_parent_quiet),
      cmocka_unit_test(test_merge_waits_for_both_parents),
      cmocka_unit_test(test_out_of_scope_parent_quiet),
      cmocka_unit_test(test_child_at_latest_loses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

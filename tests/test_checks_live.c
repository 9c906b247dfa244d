/* test_checks_live.c: the liveness checker (LIVE-1) fires on stuck mappers
 * and stays quiet while a mapper keeps working, backs off, or is disabled;
 * after an injected fault (FAULT-9) it does not count the time the fault
 * blocked the mapping, and fires when the mapper stays idle once it heals;
 * the idle polling rate checker (POLL-1) fires on eager or slow polling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"

static struct fx f;

static int teardown(void **state)
{
  (void)state;
  fx_free(&f);
  return 0;
}

/* One shard, records r1..rn of key k1 at t=0, MaximumRetryAttempts -1. */
static void setup_world(size_t n)
{
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, n, 0, 0, "k1");
  fx_build(&f);
  fx_start(&f);
}

static void test_quiet_when_retrying(void **state)
{
  uint64_t i;
  int64_t t = 10;
  int k;
  (void)state;
  setup_world(2);
  /* Failing for an hour, retried every minute: slow, but not stuck. */
  for(k = 0; k < 60; k++, t += 60000) {
    i = fx_invoke_names(f.w, t, "r1 r2");
    fx_fail(f.w, t + 10, i);
  }
  i = fx_invoke_names(f.w, t, "r1 r2");
  fx_ok(f.w, t + 10, i);
  fx_checkpoint_id(f.w, t + 11, "r2");
  fx_end(f.w, t + 10000, 0);
  fx_assert_quiet(&f, "liveness");
}

static void test_fires_when_retries_stop(void **state)
{
  uint64_t i;
  (void)state;
  setup_world(2);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  /* The mapper goes silent; the run ends at the horizon an hour later. */
  fx_end(f.w, 3600000, 1);
  fx_assert_fires(&f, "liveness", "r1 (seq ", "oldest unfinished record",
                  "between t=10 ms and t=3600000 ms", "the limit is 300 s",
                  (char *)NULL);
}

static void test_fires_when_never_invoked(void **state)
{
  (void)state;
  setup_world(1);
  fx_end(f.w, 900000, 1);
  fx_assert_fires(&f, "liveness", "r1 (seq ", "between t=0 ms and t=900000 ms",
                  (char *)NULL);
}

static void test_second_record_waits_for_first(void **state)
{
  uint64_t i;
  (void)state;
  setup_world(2);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_ok(f.w, 20, i);
  fx_checkpoint_id(f.w, 21, "r1");
  /* r2 is never invoked after r1 is done. */
  fx_end(f.w, 700000, 1);
  fx_assert_fires(&f, "liveness", "r2 (seq ", "from t=20 ms", (char *)NULL);
}

static void test_quiet_while_disabled(void **state)
{
  size_t off, on;
  uint64_t i;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  off = fx_add_update(&f, 5, NULL);
  fx_update_spec(&f, off)->enabled = 0;
  on = fx_add_update(&f, 3600000, NULL);
  fx_update_spec(&f, on)->enabled = 1;
  fx_build(&f);
  fx_start(&f);
  fx_update(f.w, 5, off, 0, NULL);
  /* An hour disabled is not an hour stuck. */
  fx_update(f.w, 3600000, on, 0, NULL);
  i = fx_invoke_names(f.w, 3601000, "r1");
  fx_ok(f.w, 3601010, i);
  fx_checkpoint_id(f.w, 3601011, "r1");
  fx_end(f.w, 3611011, 0);
  fx_assert_quiet(&f, "liveness");
}

static void test_trimmed_record_ends_the_wait(void **state)
{
  uint64_t i;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  f.sc.retention_ms = 3600000;
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_build(&f);
  fx_start(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_fail(f.w, 20, i);
  /* Retried every 4 minutes until it trims out at one hour. */
  i = fx_invoke_names(f.w, 240000, "r1");
  fx_fail(f.w, 240010, i);
  i = fx_invoke_names(f.w, 480000, "r1");
  fx_fail(f.w, 480010, i);
  i = fx_invoke_names(f.w, 720000, "r1");
  fx_fail(f.w, 720010, i);
  fx_end(f.w, 800000, 1);
  fx_assert_quiet(&f, "liveness");
}

/* ---- liveness after faults (FAULT-9) ---- */

#define FC(c) (1u << (c))
#define HOUR INT64_C(3600000)

/* One shard, r1..r3 at t=0, and a fault on get_records (ThrottlingException)
 * from t=1000 to until_ms for the given mapping (-1: all). */
static size_t setup_read_fault(int64_t until_ms, int32_t mapping)
{
  size_t fe;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 3, 0, 0, "k1");
  fe = fx_add_fault(&f, 1000, FC(ESMC_FC_GET_RECORDS), ESMC_E_THROTTLED,
                    until_ms, mapping, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 1000, fe, 0, 0);
  return fe;
}

static void test_fault_time_does_not_count(void **state)
{
  size_t fe;
  uint64_t i;
  (void)state;
  fe = setup_read_fault(1000 + HOUR, -1);
  /* An hour of throttled reads, retried now and then, is not stuck. */
  fx_get_records(f.w, 1500, 0, ESMC_E_THROTTLED, 0, 0);
  fx_get_records(f.w, 1800000, 0, ESMC_E_THROTTLED, 0, 0);
  fx_fault(f.w, 1000 + HOUR, fe, 1, 0);
  fx_get_records(f.w, 2000 + HOUR, 0, ESMC_OK, 0, 3);
  i = fx_invoke_names(f.w, 2010 + HOUR, "r1 r2 r3");
  fx_ok(f.w, 2020 + HOUR, i);
  fx_checkpoint_id(f.w, 2021 + HOUR, "r3");
  fx_end(f.w, 12021 + HOUR, 0);
  fx_assert_quiet(&f, "liveness");
}

static void test_fires_when_stuck_after_fault_heals(void **state)
{
  size_t fe;
  (void)state;
  fe = setup_read_fault(1000 + HOUR, -1);
  fx_get_records(f.w, 1500, 0, ESMC_E_THROTTLED, 0, 0);
  fx_fault(f.w, 1000 + HOUR, fe, 1, 0);
  /* Healed, but the mapper never reads again; the horizon is 10 minutes
   * later. */
  fx_end(f.w, 601000 + HOUR, 1);
  fx_assert_fires(&f, "liveness", "the mapper is stuck: after the fault on "
                  "get_records (ESMC_E_THROTTLED) healed at t=3601000 ms it "
                  "made no attempt on r1 (seq ",
                  "the oldest unfinished record of its shard, for 600000 ms "
                  "(until t=4201000 ms",
                  "it holds records r1..r3 (3 records)", "FAULT-9",
                  (char *)NULL);
}

static void test_never_healing_fault_is_quiet(void **state)
{
  (void)state;
  setup_read_fault(INT64_MAX, -1);
  fx_get_records(f.w, 1500, 0, ESMC_E_THROTTLED, 0, 0);
  fx_get_records(f.w, 60000, 0, ESMC_E_THROTTLED, 0, 0);
  /* The mapper cannot make progress until the run's horizon. */
  fx_end(f.w, 2 * HOUR, 1);
  fx_assert_quiet(&f, "liveness");
}

static void test_every_other_call_fault_does_not_block(void **state)
{
  size_t fe;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  /* Every second get_records fails: retrying gets through. */
  fe = fx_add_fault(&f, 1000, FC(ESMC_FC_GET_RECORDS), ESMC_E_THROTTLED,
                    INT64_MAX, -1, 2);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 1000, fe, 0, 0);
  fx_end(f.w, HOUR, 1);
  fx_assert_fires(&f, "liveness", "r1 (seq ", "oldest unfinished record",
                  "the mapper stopped working on the shard", (char *)NULL);
}

static void test_fault_of_other_mapping_does_not_block(void **state)
{
  size_t fe;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_add_mapping(&f, "b");
  /* The fault hits mapping b only: main has no excuse. */
  fe = fx_add_fault(&f, 1000, FC(ESMC_FC_GET_RECORDS), ESMC_E_THROTTLED,
                    INT64_MAX, 1, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 1000, fe, 0, 1);
  fx_end(f.w, HOUR, 1);
  fx_assert_fires(&f, "liveness", "mapping main: r1 (seq ",
                  "the mapper stopped working on the shard", (char *)NULL);
}

/* A fault on list_shards alone, from t=1000 for an hour; listed: whether
 * the mapping listed the shards before it. */
static void setup_list_fault(int listed)
{
  size_t fe;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fe = fx_add_fault(&f, 1000, FC(ESMC_FC_LIST_SHARDS), ESMC_E_SERVICE,
                    1000 + HOUR, -1, 1);
  fx_build(&f);
  fx_append_between(f.w, INT64_MIN, 0);
  fx_create(f.w, 0, ESMC_OK, NULL);
  if(listed) {
    fx_call(f.w, 0, ESMC_H_LIST_SHARDS, ESMC_NO_SHARD, ESMC_OK);
    fx_iterator(f.w, 0, 0, ESMC_ITER_TRIM_HORIZON, 0);
  }
  fx_fault(f.w, 1000, fe, 0, 0);
  fx_call(f.w, 1500, ESMC_H_LIST_SHARDS, ESMC_NO_SHARD, ESMC_E_SERVICE);
  fx_fault(f.w, 1000 + HOUR, fe, 1, 0);
  fx_end(f.w, 100000 + HOUR, 1);
}

static void test_list_shards_fault_blocks_before_listing(void **state)
{
  (void)state;
  /* The mapping could not learn its shards until the fault healed; it
   * has 100 s of the 300 s since. */
  setup_list_fault(0);
  fx_assert_quiet(&f, "liveness");
}

static void test_list_shards_fault_after_listing_does_not_block(void **state)
{
  (void)state;
  /* It had its shards and an iterator: a failing list_shards is no reason
   * to stop reading. */
  setup_list_fault(1);
  fx_assert_fires(&f, "liveness", "r1 (seq ",
                  "the mapper stopped working on the shard", (char *)NULL);
}

/* r1 fails once (MaximumRetryAttempts 0) and must go to the destination,
 * which fails every send from t=0 to t=1 h. */
static size_t setup_destination_fault(void)
{
  size_t fe;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_set_destination(&f, "arn:aws:sqs:us-east-1:123456789012:dlq");
  f.sc.config.maximum_retry_attempts = 0;
  fe = fx_add_fault(&f, 0, FC(ESMC_FC_SEND_TO_DESTINATION), ESMC_E_SERVICE,
                    HOUR, -1, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 0, fe, 0, 0);
  return fe;
}

static void test_destination_fault_blocks_the_report(void **state)
{
  struct esmc_buf p;
  size_t fe;
  uint64_t i;
  (void)state;
  fe = setup_destination_fault();
  esmc_buf_init(&p);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_fail(f.w, 20, i);
  fx_dest_payload(f.w, &p, "RetryAttemptsExhausted", "r1", "r1", 1,
                  "Unhandled");
  fx_dest_status(f.w, 30, ESMC_E_SERVICE,
                 "arn:aws:sqs:us-east-1:123456789012:dlq", p.data);
  fx_fault(f.w, HOUR, fe, 1, 0);
  /* The send waits for the destination, then goes through. */
  fx_dest(f.w, HOUR + 1000, "arn:aws:sqs:us-east-1:123456789012:dlq", p.data);
  fx_checkpoint_id(f.w, HOUR + 1001, "r1");
  fx_end(f.w, HOUR + 11001, 0);
  fx_assert_quiet(&f, "liveness");
  esmc_buf_free(&p);
}

static void test_destination_fault_then_stuck_fires(void **state)
{
  struct esmc_buf p;
  size_t fe;
  uint64_t i;
  (void)state;
  fe = setup_destination_fault();
  esmc_buf_init(&p);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_fail(f.w, 20, i);
  fx_dest_payload(f.w, &p, "RetryAttemptsExhausted", "r1", "r1", 1,
                  "Unhandled");
  fx_dest_status(f.w, 30, ESMC_E_SERVICE,
                 "arn:aws:sqs:us-east-1:123456789012:dlq", p.data);
  fx_fault(f.w, HOUR, fe, 1, 0);
  /* The destination is back, but the mapper never sends again. */
  fx_end(f.w, HOUR + 400000, 1);
  fx_assert_fires(&f, "liveness", "after the fault on send_to_destination "
                  "(ESMC_E_SERVICE) healed at t=3600000 ms it made no attempt "
                  "on r1 (seq ", "for 400000 ms", "it holds record r1",
                  (char *)NULL);
  esmc_buf_free(&p);
}

static void test_destination_fault_does_not_excuse_reading(void **state)
{
  (void)state;
  /* Nothing to report: a failing destination is no reason to stop. */
  setup_destination_fault();
  fx_end(f.w, HOUR, 1);
  fx_assert_fires(&f, "liveness", "r1 (seq ", "between t=0 ms and t=3600000 ms",
                  "the mapper stopped working on the shard", (char *)NULL);
}

/* A queue of n messages at t=0 and a fault on receive_messages
 * (AccessDenied) from t=0 to until_ms. */
static size_t setup_queue_fault(size_t n, int64_t until_ms)
{
  size_t fe;
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  fx_add_records(&f, n, 0, 0, "g1");
  fe = fx_add_fault(&f, 0, FC(ESMC_FC_RECEIVE_MESSAGES), ESMC_E_ACCESS_DENIED,
                    until_ms, -1, 1);
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, (uint32_t)n);
  fx_fault(f.w, 0, fe, 0, 0);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_call(f.w, 0, ESMC_H_RECEIVE, ESMC_NO_SHARD, ESMC_E_ACCESS_DENIED);
  fx_call(f.w, 20000, ESMC_H_RECEIVE, ESMC_NO_SHARD, ESMC_E_ACCESS_DENIED);
  return fe;
}

static void test_queue_stuck_after_fault_heals_fires(void **state)
{
  size_t fe;
  (void)state;
  fe = setup_queue_fault(2, 60000);
  fx_fault(f.w, 60000, fe, 1, 0);
  fx_end(f.w, 460000, 1);
  fx_assert_fires(&f, "liveness", "the mapper is stuck: after the fault on "
                  "receive_messages (ESMC_E_ACCESS_DENIED) healed at t=60000 "
                  "ms it made no receive_messages call for 400000 ms",
                  "while r1 (MessageId ", "and 1 more message were still "
                  "unfinished", "FAULT-9", (char *)NULL);
}

static void test_queue_resumes_after_fault_is_quiet(void **state)
{
  struct esmc_hevent e;
  uint32_t rids[2];
  size_t fe;
  uint64_t i;
  (void)state;
  fe = setup_queue_fault(2, 60000);
  fx_fault(f.w, 60000, fe, 1, 0);
  fx_call(f.w, 61000, ESMC_H_RECEIVE, ESMC_NO_SHARD, ESMC_OK);
  memset(&e, 0, sizeof(e));
  e.t = 61000;
  e.kind = ESMC_H_RECEIVED;
  e.shard = ESMC_NO_SHARD;
  rids[0] = fx_rid(f.w, "r1");
  rids[1] = fx_rid(f.w, "r2");
  e.rids = rids;
  e.nrids = 2;
  assert_true(esmc_history_add(&f.w->hist, &e, NULL, 0, NULL, NULL) >= 0);
  i = fx_invoke_names(f.w, 61001, "r1 r2");
  fx_ok(f.w, 61011, i);
  fx_end(f.w, 460000, 1);
  fx_assert_quiet(&f, "liveness");
}

static void test_queue_never_healing_fault_is_quiet(void **state)
{
  (void)state;
  setup_queue_fault(2, INT64_MAX);
  fx_end(f.w, HOUR, 1);
  fx_assert_quiet(&f, "liveness");
}

/* ---- poll_rate (POLL-1) ---- */

static void empty_polls(int64_t from, int64_t to, int64_t every)
{
  struct esmc_hevent e;
  int64_t t;
  for(t = from; t <= to; t += every) {
    memset(&e, 0, sizeof(e));
    e.t = t;
    e.kind = ESMC_H_GET_RECORDS;
    e.shard = 0;
    e.id = 1;
    assert_true(esmc_history_add(&f.w->hist, &e, NULL, 0, NULL, NULL) >= 0);
  }
}

static void test_poll_rate_nominal_is_quiet(void **state)
{
  (void)state;
  setup_world(0);
  empty_polls(0, 30000, 1000);
  fx_end(f.w, 40000, 0);
  fx_assert_quiet(&f, "poll_rate");
}

static void test_poll_rate_too_eager(void **state)
{
  (void)state;
  setup_world(0);
  empty_polls(0, 20000, 10);
  fx_end(f.w, 30000, 0);
  fx_assert_fires(&f, "poll_rate", "shardId-000000000000 was idle from t=0 ms",
                  "one poll every 10 ms", "between 500 and 2000 ms",
                  (char *)NULL);
  assert_int_equal(fx_check(&f, "poll_rate")->level, ESMC_SHOULD);
}

static void test_poll_rate_too_slow(void **state)
{
  (void)state;
  setup_world(0);
  empty_polls(0, 60000, 10000);
  fx_end(f.w, 70000, 0);
  fx_assert_fires(&f, "poll_rate", "one poll every 10000 ms", (char *)NULL);
}

static void test_poll_rate_pause_splits_stretches(void **state)
{
  size_t off;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  off = fx_add_update(&f, 5000, NULL);
  fx_update_spec(&f, off)->enabled = 0;
  fx_build(&f);
  fx_start(&f);
  empty_polls(0, 5000, 1000);
  fx_update(f.w, 5000, off, 0, NULL);
  /* No polls while disabled for a minute, then back at the base rate. */
  empty_polls(65000, 80000, 1000);
  fx_end(f.w, 90000, 0);
  fx_assert_quiet(&f, "poll_rate");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_quiet_when_retrying, teardown),
      cmocka_unit_test_teardown(test_fires_when_retries_stop, teardown),
      cmocka_unit_test_teardown(test_fires_when_never_invoked, teardown),
      cmocka_unit_test_teardown(test_second_record_waits_for_first, teardown),
      cmocka_unit_test_teardown(test_quiet_while_disabled, teardown),
      cmocka_unit_test_teardown(test_trimmed_record_ends_the_wait, teardown),
      cmocka_unit_test_teardown(test_fault_time_does_not_count, teardown),
      cmocka_unit_test_teardown(test_fires_when_stuck_after_fault_heals,
                                teardown),
      cmocka_unit_test_teardown(test_never_healing_fault_is_quiet, teardown),
      cmocka_unit_test_teardown(test_every_other_call_fault_does_not_block,
                                teardown),
      cmocka_unit_test_teardown(test_fault_of_other_mapping_does_not_block,
                                teardown),
      cmocka_unit_test_teardown(test_list_shards_fault_blocks_before_listing,
                                teardown),
      cmocka_unit_test_teardown(
          test_list_shards_fault_after_listing_does_not_block, teardown),
      cmocka_unit_test_teardown(test_destination_fault_blocks_the_report,
                                teardown),
      cmocka_unit_test_teardown(test_destination_fault_then_stuck_fires,
                                teardown),
      cmocka_unit_test_teardown(test_destination_fault_does_not_excuse_reading,
                                teardown),
      cmocka_unit_test_teardown(test_queue_stuck_after_fault_heals_fires,
                                teardown),
      cmocka_unit_test_teardown(test_queue_resumes_after_fault_is_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_queue_never_healing_fault_is_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_poll_rate_nominal_is_quiet, teardown),
      cmocka_unit_test_teardown(test_poll_rate_too_eager, teardown),
      cmocka_unit_test_teardown(test_poll_rate_too_slow, teardown),
      cmocka_unit_test_teardown(test_poll_rate_pause_splits_stretches, teardown),
  };
  return cmocka_run_group_tests_name("checks.liveness", tests, NULL, NULL);
}

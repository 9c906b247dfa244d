/* test_checks_live.c: the liveness checker (LIVE-1) fires on stuck mappers
 * and stays quiet while a mapper keeps working, backs off, or is disabled;
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
      cmocka_unit_test_teardown(test_poll_rate_nominal_is_quiet, teardown),
      cmocka_unit_test_teardown(test_poll_rate_too_eager, teardown),
      cmocka_unit_test_teardown(test_poll_rate_too_slow, teardown),
      cmocka_unit_test_teardown(test_poll_rate_pause_splits_stretches, teardown),
  };
  return cmocka_run_group_tests_name("checks.liveness", tests, NULL, NULL);
}

/*
 * test_checks_batch.c: the batching, retry, record-age, destination and
 * expectation checkers (harness/check_batch.c, harness/check_expect.c) on
 * hand-written histories: each stays quiet on a legal history and fires, with
 * a precise message, on a violating one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"

#define SQS_ARN "arn:aws:sqs:us-east-1:123456789012:esmc-dlq"
#define S3_ARN "arn:aws:s3:::esmc-failures"

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                  */

/* With ESMC_TEST_SHOW set, print each message a test asserts on, so their
 * wording can be read in one place. */
static void show(struct fx *f, const char *property)
{
  const struct esmc_violation *v;
  if(!getenv("ESMC_TEST_SHOW"))
    return;
  v = fx_check(f, property);
  if(v)
    printf("  %s: %s\n", property, v->message);
}

#define FIRES(f, property, ...)                                                \
  do {                                                                         \
    fx_assert_fires(f, property, __VA_ARGS__);                                 \
    show(f, property);                                                         \
  } while(0)

/* One Kinesis shard with n records at t = 0, started at t = 0. The config
 * callback (may be NULL) adjusts the mapping before the world is built. */
static void setup(struct fx *f, size_t n,
                  void (*cfg)(struct esmc_config_spec *c))
{
  fx_scenario(f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(f, n, 0, 0, "k1");
  if(cfg)
    cfg(&f->sc.config);
  fx_build(f);
  fx_start(f);
}

static void cfg_batch2(struct esmc_config_spec *c) { c->batch_size = 2; }
static void cfg_batch5(struct esmc_config_spec *c) { c->batch_size = 5; }

static void cfg_bisect(struct esmc_config_spec *c)
{
  c->bisect_batch_on_function_error = 1;
}

static void cfg_pbr(struct esmc_config_spec *c)
{
  c->function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  c->function_response_types_given = 1;
}

static void cfg_mra0_dest(struct esmc_config_spec *c)
{
  c->maximum_retry_attempts = 0;
  c->on_failure_destination = esmc_strdup(SQS_ARN);
}

static void cfg_mra1_dest(struct esmc_config_spec *c)
{
  c->maximum_retry_attempts = 1;
  c->on_failure_destination = esmc_strdup(SQS_ARN);
}

static void cfg_mra2_dest(struct esmc_config_spec *c)
{
  c->maximum_retry_attempts = 2;
  c->on_failure_destination = esmc_strdup(SQS_ARN);
}

static void cfg_mra1(struct esmc_config_spec *c)
{
  c->maximum_retry_attempts = 1;
}

static void cfg_pbr_mra0_dest(struct esmc_config_spec *c)
{
  cfg_pbr(c);
  cfg_mra0_dest(c);
}

static void cfg_age60(struct esmc_config_spec *c)
{
  c->maximum_record_age_s = 60;
}

static void cfg_age60_dest(struct esmc_config_spec *c)
{
  c->maximum_record_age_s = 60;
  c->on_failure_destination = esmc_strdup(SQS_ARN);
}

static void cfg_window2(struct esmc_config_spec *c)
{
  c->batch_size = 10;
  c->maximum_batching_window_s = 2;
}

static void cfg_batch10(struct esmc_config_spec *c) { c->batch_size = 10; }

/* The history event of the most recent invocation. */
static struct esmc_hevent *last_event(struct fx *f)
{
  return &f->w->hist.ev[f->w->hist.n - 1];
}

/* Replace the first occurrence of from in b by to (asserts it is there). */
static void buf_replace(struct esmc_buf *b, const char *from, const char *to)
{
  struct esmc_buf o;
  const char *p = strstr(b->data, from);
  assert_non_null(p);
  esmc_buf_init(&o);
  esmc_buf_put(&o, b->data, (size_t)(p - b->data));
  esmc_buf_puts(&o, to);
  esmc_buf_puts(&o, p + strlen(from));
  assert_false(o.oom);
  esmc_buf_free(b);
  *b = o;
}

/* A well-formed failure record for first..last, sent at t to arn; edit (may
 * be NULL) changes the payload text first: pairs of from, to, NULL-ended. */
static void send_dest(struct fx *f, int64_t t, const char *arn,
                      const char *condition, const char *first,
                      const char *last, int count, const char *fe, ...)
{
  struct esmc_buf b;
  va_list ap;
  const char *from;
  esmc_buf_init(&b);
  f->w->now = t;
  fx_dest_payload(f->w, &b, condition, first, last, count, fe);
  va_start(ap, fe);
  while((from = va_arg(ap, const char *)) != NULL)
    buf_replace(&b, from, va_arg(ap, const char *));
  va_end(ap);
  fx_dest(f->w, t, arn, b.data);
  esmc_buf_free(&b);
}

/* A GetRecords call of shard 0 that returned records [first, first+count). */
static void get_records(struct fx *f, int64_t t, int64_t first, int64_t count)
{
  struct esmc_hevent e;
  memset(&e, 0, sizeof(e));
  e.t = t;
  e.kind = ESMC_H_GET_RECORDS;
  e.shard = 0;
  e.id = 7;
  e.a = first;
  e.b = count;
  assert_true(esmc_history_add(&f->w->hist, &e, NULL, 0, NULL, NULL) >= 0);
}

/* A failure of the whole batch read from an invalid batchItemFailures. */
static void complete_invalid_pbr(struct fx *f, int64_t t, uint64_t inv)
{
  fx_complete(f->w, t, inv, ESMC_INVOKE_OK, 200,
              "{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", NULL);
}

/* A valid partial failure from record id. */
static void complete_partial(struct fx *f, int64_t t, uint64_t inv,
                             const char *id)
{
  char body[256];
  snprintf(body, sizeof(body),
           "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
           fx_seq(f->w, id));
  fx_complete(f->w, t, inv, ESMC_INVOKE_OK, 200, body, NULL);
}

static char **strv(const char *const *s, size_t n)
{
  char **v = esmc_calloc(n + 1, sizeof(char *));
  size_t i;
  assert_non_null(v);
  for(i = 0; i < n; i++) {
    v[i] = esmc_strdup(s[i]);
    assert_non_null(v[i]);
  }
  return v;
}

/* ------------------------------------------------------------------------ */
/* batch_size, payload_limit.                                                */

static void test_batch_size(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 3, cfg_batch5);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  fx_assert_quiet(&f, "batch_size");
  fx_free(&f);

  setup(&f, 3, cfg_batch2);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  FIRES(&f, "batch_size", "invocation #1", "t=10ms", "r1..r3",
                  "3 records", "BatchSize is 2", NULL);
  fx_free(&f);
}

/* GEN-4: an update applies to batches formed after it; a retry or a bisect
 * half keeps the BatchSize its batch was formed under. */
static void test_batch_size_after_update(void **state)
{
  struct fx f;
  size_t up;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 5, 0, 0, "k1");
  f.sc.config.batch_size = 3;
  up = fx_add_update(&f, 25, NULL);
  fx_update_spec(&f, up)->batch_size = 1;
  fx_build(&f);
  fx_start(&f);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  fx_update(f.w, 25, up, 0, NULL);
  fx_fail(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2 r3"));
  fx_fail(f.w, 60, fx_invoke_names(f.w, 50, "r1 r2"));
  fx_assert_quiet(&f, "batch_size");
  /* r4 and r5 were never delivered: a new batch, under BatchSize 1. */
  fx_ok(f.w, 80, fx_invoke_names(f.w, 70, "r4 r5"));
  FIRES(&f, "batch_size", "invocation #4", "t=70ms", "r4, r5",
        "BatchSize is 1", NULL);
  fx_free(&f);

  /* Records delivered before are judged by their first batch's BatchSize,
   * so regrouping them into a larger batch still fires. */
  setup(&f, 4, cfg_batch2);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  fx_ok(f.w, 60, fx_invoke_names(f.w, 50, "r1 r2 r3"));
  FIRES(&f, "batch_size", "invocation #3", "BatchSize is 2",
        "formed, by invocation #1 at t=10ms", NULL);
  fx_free(&f);
}

static void test_payload_limit(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 2, NULL);
  fx_invoke_names(f.w, 10, "r1 r2");
  last_event(&f)->a = ESMC_MAX_PAYLOAD;
  fx_assert_quiet(&f, "payload_limit");
  fx_invoke_names(f.w, 30, "r1 r2");
  last_event(&f)->a = ESMC_MAX_PAYLOAD + 1;
  FIRES(&f, "payload_limit", "invocation #2", "t=30ms", "6291457",
                  "r1, r2", "6291456", NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* resume_point.                                                             */

static void test_resume_legal(void **state)
{
  struct fx f;
  uint64_t i1;
  (void)state;
  setup(&f, 5, cfg_batch5);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_fail(f.w, 20, i1);
  fx_complete(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2 r3"),
              ESMC_INVOKE_THROTTLED, 429, "", NULL);
  fx_ok(f.w, 60, fx_invoke_names(f.w, 50, "r1 r2 r3"));
  fx_checkpoint_id(f.w, 61, "r3");
  fx_ok(f.w, 80, fx_invoke_names(f.w, 70, "r4 r5"));
  fx_assert_quiet(&f, "resume_point");
  fx_free(&f);
}

static void test_resume_retry_different_records(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 5, cfg_batch5);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r4 r5"));
  FIRES(&f, "resume_point", "after invocation #1",
                  "failed (Unhandled) at t=20ms", "invocation #2",
                  "retry the same 3 records r1..r3", "carried r4, r5", NULL);
  fx_free(&f);
}

static void test_resume_success_goes_back(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 4, NULL);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r2 r3"));
  FIRES(&f, "resume_point", "succeeded", "invocation #2",
                  "should start after r2", "carried r2, r3", NULL);
  fx_free(&f);
}

static void test_resume_bisect(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 4, cfg_bisect);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3 r4"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2"));
  fx_ok(f.w, 60, fx_invoke_names(f.w, 50, "r3 r4"));
  fx_assert_quiet(&f, "resume_point");
  fx_free(&f);

  /* The wrong half. */
  setup(&f, 4, cfg_bisect);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3 r4"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  FIRES(&f, "resume_point", "BisectBatchOnFunctionError",
                  "invocation #2 at t=30ms", "first half", "r1, r2",
                  "carried r3, r4", NULL);
  fx_free(&f);

  /* Not split at all. */
  setup(&f, 4, cfg_bisect);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3 r4"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2 r3 r4"));
  FIRES(&f, "resume_point", "first half", "carried r1..r4", NULL);
  fx_free(&f);
}

static void test_resume_partial(void **state)
{
  struct fx f;
  uint64_t i1;
  (void)state;
  setup(&f, 4, cfg_pbr);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  fx_checkpoint_id(f.w, 21, "r2");
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  fx_assert_quiet(&f, "resume_point");
  fx_free(&f);

  /* Resuming at the wrong record. */
  setup(&f, 4, cfg_pbr);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r2 r3 r4"));
  FIRES(&f, "resume_point", "partial failure from r3",
                  "before r3 are done", "invocation #2",
                  "retry exactly r3, r4", "carried r2..r4", NULL);
  fx_free(&f);

  /* Without ReportBatchItemFailures the response is ignored (PBR-1). */
  setup(&f, 4, NULL);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  FIRES(&f, "resume_point", "succeeded", "should start after r4",
                  NULL);
  fx_free(&f);
}

static void test_resume_after_discard(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 3, cfg_mra0_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 25, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 26, "r2");
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3"));
  fx_assert_quiet(&f, "resume_point");
  fx_free(&f);

  /* Given up, then retried anyway. */
  setup(&f, 3, cfg_mra0_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 25, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2"));
  FIRES(&f, "resume_point", "given up", "should start after them",
                  "invocation #2", "carried r1, r2", NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* retry_limit.                                                              */

static void fail_n(struct fx *f, const char *names, int n, int64_t *t)
{
  int k;
  for(k = 0; k < n; k++) {
    fx_fail(f->w, *t + 10, fx_invoke_names(f->w, *t, names));
    *t += 20;
  }
}

static void test_retry_legal(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 3, cfg_mra2_dest);
  fail_n(&f, "r1 r2", 3, &t);
  send_dest(&f, t, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 3,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, t + 1, "r2");
  fx_ok(f.w, t + 20, fx_invoke_names(f.w, t + 10, "r3"));
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "destination");
  fx_assert_quiet(&f, "resume_point");
  fx_free(&f);
}

static void test_retry_one_too_many(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 2, cfg_mra1);
  fail_n(&f, "r1 r2", 3, &t);
  FIRES(&f, "retry_limit", "r1, r2", "failed 3 times",
                  "invocations #1 to #3", "t=50ms",
                  "MaximumRetryAttempts 1 allows 2", NULL);
  fx_free(&f);
}

static void test_retry_one_too_few(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 2, cfg_mra2_dest);
  fail_n(&f, "r1 r2", 2, &t);
  send_dest(&f, t, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 2,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, t + 1, "r2");
  FIRES(&f, "retry_limit", "batch r1, r2", "given up at t=50ms",
                  "RetryAttemptsExhausted", "after 2 failed invocations",
                  "MaximumRetryAttempts 2 requires 3", NULL);
  fx_free(&f);
}

static void test_retry_infinite_discard(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 2, NULL);
  fail_n(&f, "r1 r2", 2, &t);
  fx_checkpoint_id(f.w, t, "r2");
  FIRES(&f, "retry_limit", "checkpoint", "after 2 failed",
                  "MaximumRetryAttempts is -1", NULL);
  fx_free(&f);
}

static void test_retry_throttles_do_not_count(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 2, cfg_mra1_dest);
  fail_n(&f, "r1 r2", 1, &t);
  fx_complete(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2"),
              ESMC_INVOKE_THROTTLED, 429, "", NULL);
  t = 50;
  fail_n(&f, "r1 r2", 1, &t);
  send_dest(&f, t, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 2,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, t + 1, "r2");
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  /* One failure and one throttle are not two attempts. */
  t = 10;
  setup(&f, 2, cfg_mra1_dest);
  fail_n(&f, "r1 r2", 1, &t);
  fx_complete(f.w, 40, fx_invoke_names(f.w, 30, "r1 r2"),
              ESMC_INVOKE_SERVICE_ERROR, 500, "", NULL);
  send_dest(&f, 50, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 2,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 51, "r2");
  FIRES(&f, "retry_limit", "after 1 failed invocation",
                  "MaximumRetryAttempts 1 requires 2", NULL);
  fx_free(&f);
}

static void test_retry_fresh_budgets(void **state)
{
  struct fx f;
  uint64_t i1;
  int64_t t = 10;
  (void)state;
  /* BISECT-2: each split starts a fresh count. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 4, 0, 0, "k1");
  f.sc.config.bisect_batch_on_function_error = 1;
  cfg_mra0_dest(&f.sc.config);
  fx_build(&f);
  fx_start(&f);
  fail_n(&f, "r1 r2 r3 r4", 1, &t);
  fail_n(&f, "r1 r2", 1, &t);
  fail_n(&f, "r1", 1, &t);
  send_dest(&f, t, SQS_ARN, "RetryAttemptsExhausted", "r1", "r1", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, t + 1, "r1");
  fx_ok(f.w, t + 20, fx_invoke_names(f.w, t + 10, "r2"));
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "resume_point");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  /* PBR-5: a partial failure that moves the start gives a fresh budget. */
  setup(&f, 4, cfg_pbr_mra0_dest);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  fx_checkpoint_id(f.w, 21, "r2");
  fx_fail(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  send_dest(&f, 50, SQS_ARN, "RetryAttemptsExhausted", "r3", "r4", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 51, "r4");
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  /* ... and giving up right after the partial failure is too early. */
  setup(&f, 4, cfg_pbr_mra0_dest);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r3", "r4", 1,
            "null", NULL);
  fx_checkpoint_id(f.w, 31, "r4");
  FIRES(&f, "retry_limit", "batch r3, r4", "after 0 failed",
                  "fresh retry budget", NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* record_age.                                                               */

static void test_record_age(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 2, cfg_age60_dest);
  fx_ok(f.w, 1010, fx_invoke_names(f.w, 1000, "r1"));
  send_dest(&f, 60001, SQS_ARN, "RecordAgeExceeded", "r2", "r2", 1, NULL,
            NULL);
  fx_checkpoint_id(f.w, 60002, "r2");
  fx_assert_quiet(&f, "record_age");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  /* AGE-1: an expired record invoked. */
  setup(&f, 2, cfg_age60);
  fx_ok(f.w, 61010, fx_invoke_names(f.w, 61000, "r1 r2"));
  FIRES(&f, "record_age", "invocation #1", "t=61000ms", "r1",
                  "seq ", "61000 ms old", "MaximumRecordAgeInSeconds 60",
                  "60000 ms", NULL);
  fx_free(&f);

  /* AGE-2: RecordAgeExceeded too early. */
  setup(&f, 2, cfg_age60_dest);
  send_dest(&f, 30000, SQS_ARN, "RecordAgeExceeded", "r1", "r2", 1, NULL,
            NULL);
  FIRES(&f, "record_age", "RecordAgeExceeded", "t=30000ms", "r1",
                  "only 30000 ms old", NULL);
  fx_free(&f);

  /* AGE-3: expired, skipped without a RecordAgeExceeded record. */
  setup(&f, 2, cfg_age60_dest);
  fx_checkpoint_id(f.w, 70000, "r2");
  FIRES(&f, "record_age", "r1", "expired", "t=70000ms",
                  "without a RecordAgeExceeded record", SQS_ARN, NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* destination.                                                              */

static void exhausted_mra0(struct fx *f)
{
  setup(f, 3, cfg_mra0_dest);
  fx_fail(f->w, 20, fx_invoke_names(f->w, 10, "r1 r2"));
}

static void test_destination_legal(void **state)
{
  struct fx f;
  (void)state;
  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 31, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  /* DynamoDB: whole-second arrival times. */
  fx_scenario(&f, ESMC_SOURCE_DYNAMODB, 1);
  fx_add_records(&f, 2, 0, 1234, "k1");
  cfg_mra0_dest(&f.sc.config);
  fx_build(&f);
  fx_start(&f);
  fx_append_between(f.w, 0, 1234);
  fx_fail(f.w, 2000, fx_invoke_names(f.w, 1990, "r1 r2"));
  send_dest(&f, 2001, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 2002, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);
}

/* A failure record stamped at `stamp` (the give-up time), sent at t. */
static void send_stamped(struct fx *f, int64_t stamp, int64_t t,
                         const char *condition, const char *first,
                         const char *last, const char *fe)
{
  struct esmc_buf b;
  esmc_buf_init(&b);
  f->w->now = stamp;
  fx_dest_payload(f->w, &b, condition, first, last, 1, fe);
  fx_dest(f->w, t, SQS_ARN, b.data);
  esmc_buf_free(&b);
}

/* DEST-5: the timestamp is the give-up time, between the batch's last
 * completion (or its records' expiry) and the send. */
static void test_destination_give_up_time(void **state)
{
  struct fx f;
  struct esmc_buf b;
  (void)state;
  /* The destination was down at the give-up; the retried send keeps the
   * record as it was built. */
  exhausted_mra0(&f);
  esmc_buf_init(&b);
  fx_dest_payload(f.w, &b, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  fx_dest_status(f.w, 20, ESMC_E_SERVICE, SQS_ARN, b.data);
  fx_dest(f.w, 1020, SQS_ARN, b.data);
  esmc_buf_free(&b);
  fx_checkpoint_id(f.w, 1021, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  exhausted_mra0(&f);
  send_stamped(&f, 15, 30, "RetryAttemptsExhausted", "r1", "r2", "Unhandled");
  FIRES(&f, "destination", "timestamp is 2024-01-01T00:00:00.015Z",
        "earlier than the completion of the batch's last invocation",
        "00:00:00.020Z", NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_stamped(&f, 31, 30, "RetryAttemptsExhausted", "r1", "r2", "Unhandled");
  FIRES(&f, "destination", "00:00:00.031Z", "later than the send time",
        "00:00:00.030Z", NULL);
  fx_free(&f);

  /* RecordAgeExceeded: not before the newest record expired. */
  setup(&f, 2, cfg_age60_dest);
  send_stamped(&f, 60001, 70000, "RecordAgeExceeded", "r1", "r2", NULL);
  fx_checkpoint_id(f.w, 70001, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  setup(&f, 2, cfg_age60_dest);
  send_stamped(&f, 60000, 70000, "RecordAgeExceeded", "r1", "r2", NULL);
  FIRES(&f, "destination", "earlier than the moment its newest record",
        "00:01:00.001Z", NULL);
  fx_free(&f);
}

static void test_destination_none_configured(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 2, NULL);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  FIRES(&f, "destination", "t=30ms", "no OnFailure destination",
                  NULL);
  fx_free(&f);
}

static void test_destination_missing(void **state)
{
  struct fx f;
  (void)state;
  exhausted_mra0(&f);
  fx_checkpoint_id(f.w, 31, "r2");
  FIRES(&f, "destination", "batch r1, r2", "discarded at t=31ms",
                  "checkpoint", "no failure record was sent to " SQS_ARN,
                  NULL);
  fx_free(&f);
}

static void test_destination_bad_fields(void **state)
{
  struct fx f;
  (void)state;
  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", "\"batchSize\":2", "\"batchSize\":3", NULL);
  FIRES(&f, "destination", "t=30ms", "r1, r2", "batchSize is 3",
                  NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", "00:00:00.030Z", "00:00:00Z", NULL);
  FIRES(&f, "destination", "timestamp",
                  "YYYY-MM-DDTHH:MM:SS.mmmZ", NULL);
  fx_free(&f);

  /* The right format, the wrong instant: before the batch's last failure
   * (DEST-5). */
  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", "00:00:00.030Z", "00:00:00.019Z", NULL);
  FIRES(&f, "destination", "timestamp is", "earlier than the completion",
        NULL);
  fx_free(&f);

  /* Kinesis arrival times need milliseconds. */
  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", "00:00:00.000Z", "00:00:00Z", NULL);
  FIRES(&f, "destination", "approximateArrivalOfFirstRecord",
                  NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RecordAgeExceeded", "r1", "r2", 1, "Unhandled",
            NULL);
  FIRES(&f, "destination", "RecordAgeExceeded",
                  "no responseContext", NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "Boom", "r1", "r2", 1, "Unhandled", NULL);
  FIRES(&f, "destination", "condition is \"Boom\"", NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_dest(&f, 30, "arn:aws:sqs:us-east-1:123456789012:other",
            "RetryAttemptsExhausted", "r1", "r2", 1, "Unhandled", NULL);
  FIRES(&f, "destination", "configured destination is " SQS_ARN,
                  NULL);
  fx_free(&f);
}

static void test_destination_duplicate_and_ddb(void **state)
{
  struct fx f;
  (void)state;
  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  send_dest(&f, 31, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  FIRES(&f, "destination", "r1 (seq", "reported twice", "t=30ms", "t=31ms",
        NULL);
  fx_free(&f);

  /* DynamoDB arrival times are whole seconds (DEST-5). */
  fx_scenario(&f, ESMC_SOURCE_DYNAMODB, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  cfg_mra0_dest(&f.sc.config);
  fx_build(&f);
  fx_start(&f);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", "T00:00:00Z\"", "T00:00:00.000Z\"", NULL);
  FIRES(&f, "destination", "approximateArrivalOfFirstRecord",
        "whole seconds", NULL);
  fx_free(&f);
}

/* An expired head split off for age, the rest given up for retries. */
static void test_destination_age_split_then_exhausted(void **state)
{
  struct fx f;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_add_records(&f, 1, 0, 30000, "k1");
  cfg_age60_dest(&f.sc.config);
  f.sc.config.maximum_retry_attempts = 1;
  fx_build(&f);
  fx_start(&f);
  fx_append_between(f.w, 0, 30000);
  fx_fail(f.w, 59020, fx_invoke_names(f.w, 59000, "r1 r2"));
  send_dest(&f, 60500, SQS_ARN, "RecordAgeExceeded", "r1", "r1", 1, NULL,
            NULL);
  fx_checkpoint_id(f.w, 60501, "r1");
  fx_fail(f.w, 60520, fx_invoke_names(f.w, 60510, "r2"));
  fx_fail(f.w, 61520, fx_invoke_names(f.w, 61510, "r2"));
  send_dest(&f, 61530, SQS_ARN, "RetryAttemptsExhausted", "r2", "r2", 2,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, 61531, "r2");
  fx_assert_quiet(&f, "destination");
  fx_assert_quiet(&f, "record_age");
  fx_assert_quiet(&f, "resume_point");
  fx_assert_quiet(&f, "retry_limit");
  fx_free(&f);
}

static void test_destination_invoke_count(void **state)
{
  struct fx f;
  int64_t t = 10;
  (void)state;
  setup(&f, 2, cfg_mra1_dest);
  fail_n(&f, "r1 r2", 2, &t);
  send_dest(&f, t, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_checkpoint_id(f.w, t + 1, "r2");
  FIRES(&f, "destination", "approximateInvokeCount is 1",
                  "failed 2 times", "invocations #1 to #2", NULL);
  fx_free(&f);
}

static void test_destination_function_error(void **state)
{
  struct fx f;
  (void)state;
  /* OBS-2: an invalid batchItemFailures gives functionError null. */
  setup(&f, 2, cfg_pbr_mra0_dest);
  complete_invalid_pbr(&f, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1, "null",
            NULL);
  fx_checkpoint_id(f.w, 31, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  setup(&f, 2, cfg_pbr_mra0_dest);
  complete_invalid_pbr(&f, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  FIRES(&f, "destination", "functionError should be null",
                  "invocation #1", NULL);
  fx_free(&f);

  exhausted_mra0(&f);
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1, "null",
            NULL);
  FIRES(&f, "destination", "should be \"Unhandled\"", NULL);
  fx_free(&f);
}

static void test_destination_batch_at_give_up(void **state)
{
  struct fx f;
  uint64_t i1;
  (void)state;
  /* OBS-5: the record describes the shrunken batch, not the first poll. */
  setup(&f, 4, cfg_pbr_mra0_dest);
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3 r4");
  complete_partial(&f, 20, i1, "r3");
  fx_checkpoint_id(f.w, 21, "r2");
  fx_fail(f.w, 40, fx_invoke_names(f.w, 30, "r3 r4"));
  send_dest(&f, 50, SQS_ARN, "RetryAttemptsExhausted", "r1", "r4", 1,
            "Unhandled", NULL);
  FIRES(&f, "destination", "describes r1..r4",
                  "the batch given up was r3, r4", "invocation #2", NULL);
  fx_free(&f);
}

/* A DEST_SEND with an object key. */
static void send_s3(struct fx *f, int64_t t, const char *key, int records)
{
  struct esmc_buf b;
  struct esmc_hevent e;
  esmc_buf_init(&b);
  f->w->now = t;
  fx_dest_payload(f->w, &b, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  assert_true(b.len > 2);
  b.len -= 1; /* drop the closing brace */
  esmc_buf_puts(&b, ",\"payload\":{\"Records\":[");
  if(records >= 1)
    esmc_buf_printf(&b, "{\"kinesis\":{\"sequenceNumber\":\"%s\"}}",
                    fx_seq(f->w, "r1"));
  if(records >= 2)
    esmc_buf_printf(&b, ",{\"kinesis\":{\"sequenceNumber\":\"%s\"}}",
                    fx_seq(f->w, "r2"));
  esmc_buf_puts(&b, "]}}");
  memset(&e, 0, sizeof(e));
  e.t = t;
  e.kind = ESMC_H_DEST_SEND;
  e.shard = ESMC_NO_SHARD;
  assert_true(esmc_history_add(&f->w->hist, &e, b.data, b.len, S3_ARN, key) >=
              0);
  esmc_buf_free(&b);
}

static void cfg_mra0_s3(struct esmc_config_spec *c)
{
  c->maximum_retry_attempts = 0;
  c->on_failure_destination = esmc_strdup(S3_ARN);
}

static void test_destination_s3(void **state)
{
  struct fx f;
  char key[256];
  (void)state;
  setup(&f, 3, cfg_mra0_s3);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  snprintf(key, sizeof(key), "aws/lambda/%s/%s/2024/01/01/"
           "2024-01-01T00.00.00-0f1e2d3c-4b5a-4697-8877-665544332211",
           f.w->mapping_uuid, f.w->shards[0].id);
  send_s3(&f, 30, key, 2);
  fx_checkpoint_id(f.w, 31, "r2");
  fx_assert_quiet(&f, "destination");
  fx_free(&f);

  setup(&f, 3, cfg_mra0_s3);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_s3(&f, 30, "failures/r1-r2.json", 2);
  FIRES(&f, "destination", "S3 object key",
                  "failures/r1-r2.json", NULL);
  fx_free(&f);

  setup(&f, 3, cfg_mra0_s3);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  snprintf(key, sizeof(key), "aws/lambda/%s/%s/2024/01/01/"
           "2024-01-01T00.00.00-0f1e2d3c-4b5a-4697-8877-665544332211",
           f.w->mapping_uuid, f.w->shards[0].id);
  send_s3(&f, 30, key, 1);
  FIRES(&f, "destination", "payload.Records holds 1 records",
                  NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* batch_window, batch_latency, batch_fill.                                  */

static void test_batch_window(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 3, cfg_window2);
  fx_ok(f.w, 2010, fx_invoke_names(f.w, 2000, "r1 r2 r3"));
  fx_assert_quiet(&f, "batch_window");
  fx_free(&f);

  setup(&f, 3, cfg_window2);
  fx_ok(f.w, 510, fx_invoke_names(f.w, 500, "r1 r2 r3"));
  FIRES(&f, "batch_window", "invocation #1 at t=500ms",
                  "only 3 records", "BatchSize 10", "opened at t=0ms",
                  "wait until t=2000ms", NULL);
  fx_free(&f);

  /* The window reopens when the previous invocation completes. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_add_records(&f, 1, 0, 2500, "k1");
  cfg_window2(&f.sc.config);
  fx_build(&f);
  fx_start(&f);
  fx_ok(f.w, 2010, fx_invoke_names(f.w, 2000, "r1"));
  fx_append_between(f.w, 0, 2500);
  fx_ok(f.w, 3010, fx_invoke_names(f.w, 3000, "r2"));
  FIRES(&f, "batch_window", "invocation #2", "t=2010ms",
                  "previous invocation completed", NULL);
  fx_free(&f);
}

/* Two records at t=0 under MaximumBatchingWindowInSeconds `window`; an
 * update at t=5500 sets it to 9 - window; the batch is invoked at t. */
static void latency_update(struct fx *f, int32_t window, int64_t t)
{
  size_t up;
  fx_scenario(f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(f, 2, 0, 0, "k1");
  f->sc.config.batch_size = 10;
  f->sc.config.maximum_batching_window_s = window;
  up = fx_add_update(f, 5500, NULL);
  fx_update_spec(f, up)->maximum_batching_window_s = 9 - window;
  fx_build(f);
  fx_start(f);
  fx_update(f->w, 5500, up, 0, NULL);
  fx_ok(f->w, t + 10, fx_invoke_names(f->w, t, "r1 r2"));
}

static void test_batch_latency(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 2, NULL);
  fx_ok(f.w, 1010, fx_invoke_names(f.w, 1000, "r1 r2"));
  fx_assert_quiet(&f, "batch_latency");
  fx_free(&f);

  setup(&f, 2, NULL);
  fx_ok(f.w, 5010, fx_invoke_names(f.w, 5000, "r1 r2"));
  FIRES(&f, "batch_latency", "r1", "available from t=0ms",
                  "invocation #1 at t=5000ms", "5000 ms later", "2000 ms",
                  NULL);
  fx_free(&f);

  /* Waiting for the previous batch is not latency. */
  setup(&f, 2, NULL);
  fx_ok(f.w, 9000, fx_invoke_names(f.w, 10, "r1"));
  fx_ok(f.w, 9510, fx_invoke_names(f.w, 9500, "r2"));
  fx_assert_quiet(&f, "batch_latency");
  fx_free(&f);

  /* An update that shortens the window: the records were read under the
   * longer one, which applies (BATCH-4, GEN-4). */
  latency_update(&f, 9, 6000);
  fx_assert_quiet(&f, "batch_latency");
  fx_free(&f);

  /* Lengthened only after the wait was already too long. */
  latency_update(&f, 0, 6000);
  FIRES(&f, "batch_latency", "invocation #1 at t=6000ms",
        "MaximumBatchingWindowInSeconds 0", NULL);
  fx_free(&f);
}

static void test_batch_fill(void **state)
{
  struct fx f;
  (void)state;
  setup(&f, 7, cfg_batch10);
  get_records(&f, 5, 0, 7);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3 r4 r5 r6 r7"));
  fx_assert_quiet(&f, "batch_fill");
  fx_free(&f);

  setup(&f, 7, cfg_batch10);
  get_records(&f, 5, 0, 7);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  get_records(&f, 25, 3, 4);
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r4 r5 r6 r7"));
  FIRES(&f, "batch_fill", "invocation #1 at t=10ms",
                  "carried 3 records", "though 7 were available",
                  "BatchSize is 10", NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* expectations.                                                             */

static void expect_two_batches(struct fx *f)
{
  static const char *const b1[] = {"r1", "r2"}, *const b2[] = {"r3"};
  struct esmc_expect *x = &f->sc.expect;
  x->batches = esmc_calloc(2, sizeof(char **));
  x->batch_lens = esmc_calloc(2, sizeof(size_t));
  assert_non_null(x->batches);
  assert_non_null(x->batch_lens);
  x->batches[0] = strv(b1, 2);
  x->batches[1] = strv(b2, 1);
  x->batch_lens[0] = 2;
  x->batch_lens[1] = 1;
  x->batch_count = 2;
  x->batches_given = 1;
}

static void setup_expect(struct fx *f, void (*exp)(struct fx *f))
{
  fx_scenario(f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(f, 3, 0, 0, "k1");
  cfg_mra0_dest(&f->sc.config);
  exp(f);
  fx_build(f);
  fx_start(f);
}

static void test_expect_batches(void **state)
{
  struct fx f;
  (void)state;
  setup_expect(&f, expect_two_batches);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3"));
  fx_assert_quiet(&f, "expectations");
  fx_free(&f);

  setup_expect(&f, expect_two_batches);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r2 r3"));
  FIRES(&f, "expectations", "invocation #1 at t=10ms carried r1",
                  "the case expects r1, r2", NULL);
  fx_free(&f);

  setup_expect(&f, expect_two_batches);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  FIRES(&f, "expectations", "made 1 invocation",
                  "expected invocation #2 (r3) never happened", NULL);
  fx_free(&f);

  setup_expect(&f, expect_two_batches);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3"));
  fx_ok(f.w, 60, fx_invoke_names(f.w, 50, "r3"));
  FIRES(&f, "expectations", "made 3 invocations",
                  "invocation #3 at t=50ms carried r3", NULL);
  fx_free(&f);
}

static void expect_count3(struct fx *f) { f->sc.expect.invocation_count = 3; }

static void test_expect_invocation_count(void **state)
{
  struct fx f;
  (void)state;
  setup_expect(&f, expect_count3);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r2"));
  FIRES(&f, "expectations", "made 2 invocations",
                  "the case expects 3", NULL);
  fx_ok(f.w, 60, fx_invoke_names(f.w, 50, "r3"));
  fx_assert_quiet(&f, "expectations");
  fx_free(&f);
}

static void expect_one_dest(struct fx *f)
{
  struct esmc_expect *x = &f->sc.expect;
  struct esmc_expect_dest *d = esmc_calloc(1, sizeof(*d));
  assert_non_null(d);
  d->condition = esmc_strdup("RetryAttemptsExhausted");
  d->batch_size = 2;
  d->first_id = esmc_strdup("r1");
  d->last_id = esmc_strdup("r2");
  d->approximate_invoke_count = 1;
  d->has_response_context = 1;
  d->function_error = esmc_strdup("Unhandled");
  x->destinations = d;
  x->destination_count = 1;
  x->destinations_given = 1;
}

static void test_expect_destinations(void **state)
{
  struct fx f;
  (void)state;
  setup_expect(&f, expect_one_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1,
            "Unhandled", NULL);
  fx_assert_quiet(&f, "expectations");
  fx_free(&f);

  setup_expect(&f, expect_one_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 2,
            "Unhandled", NULL);
  FIRES(&f, "expectations", "failure record #1", "t=30ms",
                  "approximateInvokeCount 2; the case expects 1", NULL);
  fx_free(&f);

  setup_expect(&f, expect_one_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r2", "r2", 1,
            "Unhandled", NULL);
  FIRES(&f, "expectations", "batchSize 1; the case expects 2",
                  NULL);
  fx_free(&f);

  setup_expect(&f, expect_one_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  send_dest(&f, 30, SQS_ARN, "RetryAttemptsExhausted", "r1", "r2", 1, "null",
            NULL);
  FIRES(&f, "expectations", "functionError null",
                  "the case expects Unhandled", NULL);
  fx_free(&f);

  setup_expect(&f, expect_one_dest);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  FIRES(&f, "expectations", "0 failure records",
                  "the case expects 1", NULL);
  fx_free(&f);
}

static void expect_delivery(struct fx *f)
{
  static const char *const yes[] = {"r1", "r3"}, *const no[] = {"r2"};
  f->sc.expect.delivered = strv(yes, 2);
  f->sc.expect.delivered_count = 2;
  f->sc.expect.not_delivered = strv(no, 1);
  f->sc.expect.not_delivered_count = 1;
}

static void test_expect_delivered(void **state)
{
  struct fx f;
  (void)state;
  setup_expect(&f, expect_delivery);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1"));
  fx_ok(f.w, 40, fx_invoke_names(f.w, 30, "r3"));
  fx_assert_quiet(&f, "expectations");
  fx_free(&f);

  setup_expect(&f, expect_delivery);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1"));
  FIRES(&f, "expectations", "r3 (seq", "never reached the function",
                  NULL);
  fx_free(&f);

  setup_expect(&f, expect_delivery);
  fx_ok(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2 r3"));
  FIRES(&f, "expectations", "r2 (seq", "reached the function",
                  "invocation #1 at t=10ms", "never to be delivered", NULL);
  fx_free(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_size),
      cmocka_unit_test(test_batch_size_after_update),
      cmocka_unit_test(test_payload_limit),
      cmocka_unit_test(test_resume_legal),
      cmocka_unit_test(test_resume_retry_different_records),
      cmocka_unit_test(test_resume_success_goes_back),
      cmocka_unit_test(test_resume_bisect),
      cmocka_unit_test(test_resume_partial),
      cmocka_unit_test(test_resume_after_discard),
      cmocka_unit_test(test_retry_legal),
      cmocka_unit_test(test_retry_one_too_many),
      cmocka_unit_test(test_retry_one_too_few),
      cmocka_unit_test(test_retry_infinite_discard),
      cmocka_unit_test(test_retry_throttles_do_not_count),
      cmocka_unit_test(test_retry_fresh_budgets),
      cmocka_unit_test(test_record_age),
      cmocka_unit_test(test_destination_legal),
      cmocka_unit_test(test_destination_none_configured),
      cmocka_unit_test(test_destination_missing),
      cmocka_unit_test(test_destination_bad_fields),
      cmocka_unit_test(test_destination_duplicate_and_ddb),
      cmocka_unit_test(test_destination_age_split_then_exhausted),
      cmocka_unit_test(test_destination_invoke_count),
      cmocka_unit_test(test_destination_function_error),
      cmocka_unit_test(test_destination_batch_at_give_up),
      cmocka_unit_test(test_destination_s3),
      cmocka_unit_test(test_destination_give_up_time),
      cmocka_unit_test(test_batch_window),
      cmocka_unit_test(test_batch_latency),
      cmocka_unit_test(test_batch_fill),
      cmocka_unit_test(test_expect_batches),
      cmocka_unit_test(test_expect_invocation_count),
      cmocka_unit_test(test_expect_destinations),
      cmocka_unit_test(test_expect_delivered),
  };
  return cmocka_run_group_tests_name("checks.batch", tests, NULL, NULL);
}

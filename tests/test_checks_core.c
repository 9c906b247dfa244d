/*
 * test_checks_core.c: the analysis, esmc_interpret_response and the core
 * property checkers (check_core.c), each on legal histories where it must
 * stay quiet and on violating ones where it must fire with a useful message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"

#define ARN_SQS "arn:aws:sqs:us-east-1:000000000000:esm-failures"

/* The fixture of the running test; the teardown frees it even when an
 * assertion fails half way. */
static struct fx f;

static int teardown(void **state)
{
  (void)state;
  fx_free(&f);
  return 0;
}

/* A Kinesis stream with one shard and n records of key k1 at t=0, started. */
static void one_shard(struct fx *fx, size_t n)
{
  fx_scenario(fx, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(fx, n, 0, 0, "k1");
}

static void started(struct fx *fx)
{
  fx_build(fx);
  fx_start(fx);
}

/* ------------------------------------------------------------------------ */
/* esmc_interpret_response                                                   */

static enum esmc_inv_result interpret(struct fx *fx, const char *body,
                                      const char *names, uint32_t *from,
                                      char *why, size_t why_size)
{
  uint32_t rids[16], n = 0;
  const char *p = names;
  char id[8];
  while(*p) {
    size_t len = strcspn(p, " ");
    memcpy(id, p, len);
    id[len] = '\0';
    rids[n++] = fx_rid(fx->w, id);
    p += len;
    p += strspn(p, " ");
  }
  *from = 9999;
  return esmc_interpret_response(fx->w, body, strlen(body), rids, n, from, why,
                                 why_size);
}

static void test_interpret_success_variants(void **state)
{
  static const char *const ok[] = {
      "", "  \n\t", "\"\"", "null", " null ", "[]", "[ ]", "{}",
      "{\"foo\":[1,2]}", "{\"batchItemFailures\":null}",
      "{\"batchItemFailures\":[]}", "{ \"batchItemFailures\" : [ ] }"};
  size_t i;
  (void)state;
  one_shard(&f, 3);
  fx_build(&f);
  for(i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    uint32_t from;
    char why[160];
    enum esmc_inv_result r = interpret(&f, ok[i], "r1 r2 r3", &from, why,
                                       sizeof(why));
    if(r != ESMC_R_SUCCESS)
      fail_msg("response '%s' read as %d (%s), want success", ok[i], (int)r,
               why);
  }
  fx_free(&f);
}

static void test_interpret_failure_variants(void **state)
{
  static const struct {
    const char *body;
    const char *why;
  } bad[] = {
      {"{", "not valid JSON"},
      {"{\"batchItemFailures\":}", "not valid JSON"},
      {"nul", "not valid JSON"},
      {"[1,]", "not valid JSON"},
      {"{} {}", "not valid JSON"},
      {"{\"a\":1,}", "not valid JSON"},
      {"\"\\x\"", "not valid JSON"},
      {"1", "number"},
      {"-0.5e3", "number"},
      {"true", "boolean"},
      {"false", "boolean"},
      {"\"ok\"", "non-empty string"},
      {"[1]", "non-empty array"},
      {"[{\"itemIdentifier\":\"1\"}]", "non-empty array"},
      {"{\"batchItemFailures\":{}}", "not an array"},
      {"{\"batchItemFailures\":\"x\"}", "not an array"},
      {"{\"batchItemFailures\":[1]}", "entry 1 is not an object"},
      {"{\"batchItemFailures\":[{\"foo\":123}]}", "has no itemIdentifier"},
      {"{\"batchItemFailures\":[{\"foo\":null}]}", "has no itemIdentifier"},
      {"{\"batchItemFailures\":[{\"itemIdentifier\":null}]}", "null"},
      {"{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", "empty string"},
      {"{\"batchItemFailures\":[{\"itemIdentifier\":123}]}", "not a string"},
      {"{\"batchItemFailures\":[{\"itemIdentifier\":\"123\"}]}",
       "\"123\" is not the sequence number"},
  };
  size_t i;
  (void)state;
  one_shard(&f, 3);
  fx_build(&f);
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uint32_t from;
    char why[160];
    enum esmc_inv_result r = interpret(&f, bad[i].body, "r1 r2 r3", &from, why,
                                       sizeof(why));
    if(r != ESMC_R_FAILURE)
      fail_msg("response '%s' read as %d, want failure", bad[i].body, (int)r);
    if(!strstr(why, bad[i].why))
      fail_msg("response '%s': why '%s' lacks '%s'", bad[i].body, why,
               bad[i].why);
  }
  fx_free(&f);
}

static void test_interpret_partial(void **state)
{
  struct esmc_buf b;
  uint32_t from;
  char why[160];
  (void)state;
  one_shard(&f, 4);
  fx_build(&f);
  esmc_buf_init(&b);

  /* The lowest failed record decides, whatever the order of the list. */
  esmc_buf_printf(&b, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"},"
                  "{\"itemIdentifier\":\"%s\"}]}", fx_seq(f.w, "r3"),
                  fx_seq(f.w, "r2"));
  assert_int_equal(interpret(&f, b.data, "r1 r2 r3", &from, why, sizeof(why)),
                   ESMC_R_PARTIAL);
  assert_int_equal(from, 1);

  /* A record of the stream that is not in this batch fails the batch. */
  esmc_buf_reset(&b);
  esmc_buf_printf(&b, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
                  fx_seq(f.w, "r4"));
  assert_int_equal(interpret(&f, b.data, "r1 r2 r3", &from, why, sizeof(why)),
                   ESMC_R_FAILURE);
  assert_non_null(strstr(why, fx_seq(f.w, "r4")));

  /* Escaped digits are the same identifier; extra members are ignored. */
  esmc_buf_reset(&b);
  esmc_buf_printf(&b, "{\"x\":1,\"batchItemFailures\":[{\"itemIdentifier\":"
                  "\"\\u00%02x%s\",\"other\":true}]}", fx_seq(f.w, "r1")[0],
                  fx_seq(f.w, "r1") + 1);
  assert_int_equal(interpret(&f, b.data, "r1 r2 r3", &from, why, sizeof(why)),
                   ESMC_R_PARTIAL);
  assert_int_equal(from, 0);

  /* An invalid entry after a valid one still fails the whole batch. */
  esmc_buf_reset(&b);
  esmc_buf_printf(&b, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"},"
                  "{\"itemIdentifier\":\"\"}]}", fx_seq(f.w, "r2"));
  assert_int_equal(interpret(&f, b.data, "r1 r2 r3", &from, why, sizeof(why)),
                   ESMC_R_FAILURE);
  esmc_buf_free(&b);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* The analysis                                                              */

static void test_analysis_results_and_fates(void **state)
{
  struct esmc_analysis an;
  struct esmc_buf b;
  uint64_t i1, i2, i3;
  (void)state;
  one_shard(&f, 4);
  f.sc.config.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  f.sc.config.function_response_types_given = 1;
  started(&f);
  esmc_buf_init(&b);
  esmc_buf_printf(&b, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
                  fx_seq(f.w, "r2"));
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_complete(f.w, 20, i1, ESMC_INVOKE_OK, 200, b.data, NULL);
  i2 = fx_invoke_names(f.w, 30, "r2 r3");
  fx_complete(f.w, 40, i2, ESMC_INVOKE_THROTTLED, 429, "", NULL);
  i3 = fx_invoke_names(f.w, 50, "r2 r3");
  fx_fail(f.w, 60, i3);
  fx_checkpoint_id(f.w, 70, "r1");
  fx_checkpoint_id(f.w, 80, "r2");
  assert_int_equal(esmc_analyze(f.w, &an), 0);
  assert_int_equal(an.ninv, 3);
  assert_int_equal(an.inv[0].result, ESMC_R_PARTIAL);
  assert_int_equal(an.inv[0].failed_from, 1);
  assert_int_equal(an.inv[1].result, ESMC_R_NOT_RUN);
  assert_int_equal(an.inv[2].result, ESMC_R_FAILURE);
  assert_int_equal(an.rec[fx_rid(f.w, "r1")].fate, ESMC_FATE_SUCCEEDED);
  assert_int_equal(an.rec[fx_rid(f.w, "r2")].fate, ESMC_FATE_SKIPPED);
  assert_int_equal(an.rec[fx_rid(f.w, "r2")].deliveries, 2);
  assert_int_equal(an.rec[fx_rid(f.w, "r2")].failed_deliveries, 2);
  assert_int_equal(an.rec[fx_rid(f.w, "r3")].fate, ESMC_FATE_PENDING);
  assert_int_equal(an.rec[fx_rid(f.w, "r4")].fate, ESMC_FATE_PENDING);
  assert_int_equal(an.rec[fx_rid(f.w, "r1")].first_delivery_inv, 0);
  assert_int_equal(an.rec[fx_rid(f.w, "r3")].last_delivery_inv, 2);
  assert_int_equal(an.scope_start[0], 0);
  esmc_analysis_free(&an);
  esmc_buf_free(&b);
  fx_free(&f);
}

static void test_analysis_destination_record(void **state)
{
  struct esmc_analysis an;
  struct esmc_buf b;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  esmc_buf_init(&b);
  fx_dest_payload(f.w, &b, "RetryAttemptsExhausted", "r1", "r2", 3,
                  "Unhandled");
  fx_dest(f.w, 10, ARN_SQS, b.data);
  fx_dest(f.w, 11, ARN_SQS, "{\"requestContext\":{}}");
  fx_dest(f.w, 12, ARN_SQS, "not json");
  assert_int_equal(esmc_analyze(f.w, &an), 0);
  assert_int_equal(an.ndest, 3);
  assert_true(an.dest[0].parsed);
  assert_string_equal(an.dest[0].problem, "");
  assert_string_equal(an.dest[0].condition, "RetryAttemptsExhausted");
  assert_string_equal(an.dest[0].function_error, "Unhandled");
  assert_int_equal(an.dest[0].approximate_invoke_count, 3);
  assert_int_equal(an.dest[0].batch_size, 2);
  assert_true(an.dest[0].range_known);
  assert_int_equal(an.dest[0].shard, 0);
  assert_int_equal(an.dest[0].first_index, 0);
  assert_int_equal(an.dest[0].last_index, 1);
  assert_true(an.dest[0].has_response_context);
  assert_non_null(strstr(an.dest[1].problem, "requestContext.requestId"));
  assert_false(an.dest[2].parsed);
  assert_non_null(strstr(an.dest[2].problem, "not valid JSON"));
  assert_int_equal(an.rec[fx_rid(f.w, "r1")].fate, ESMC_FATE_REPORTED);
  assert_int_equal(an.rec[fx_rid(f.w, "r2")].fate, ESMC_FATE_REPORTED);
  assert_int_equal(an.rec[fx_rid(f.w, "r3")].fate, ESMC_FATE_PENDING);
  esmc_analysis_free(&an);
  esmc_buf_free(&b);
  fx_free(&f);
}

static void test_describe_record(void **state)
{
  struct esmc_buf b;
  (void)state;
  one_shard(&f, 2);
  fx_build(&f);
  esmc_buf_init(&b);
  esmc_describe_record(f.w, fx_rid(f.w, "r2"), &b);
  assert_non_null(strstr(b.data, "r2 (seq "));
  assert_non_null(strstr(b.data, fx_seq(f.w, "r2")));
  assert_non_null(strstr(b.data, "key k1, shardId-000000000000)"));
  esmc_buf_free(&b);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* config_validation                                                         */

static void test_config_validation(void **state)
{
  (void)state;

  /* A valid configuration accepted. */
  one_shard(&f, 1);
  started(&f);
  fx_assert_quiet(&f, "config_validation");
  fx_free(&f);

  /* A valid configuration rejected. */
  one_shard(&f, 1);
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: BatchSize is bad");
  fx_assert_fires(&f, "config_validation", "rejected a valid configuration",
                  "BatchSize is bad", (char *)NULL);
  fx_free(&f);

  /* Not supported is the runner's UNSUPPORTED, not a violation. */
  one_shard(&f, 1);
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_UNSUPPORTED, "Unsupported: no");
  fx_assert_quiet(&f, "config_validation");
  fx_free(&f);

  /* An invalid configuration that the mapper accepted. */
  one_shard(&f, 1);
  f.sc.expect.config_error_code = esmc_strdup("InvalidParameterValueException");
  f.sc.expect.config_error_message = esmc_strdup("BatchSize");
  started(&f);
  fx_assert_fires(&f, "config_validation", "the mapping was created",
                  "InvalidParameterValueException: BatchSize", (char *)NULL);
  fx_free(&f);

  /* Rejected with the right code and message. */
  one_shard(&f, 1);
  f.sc.expect.config_error_code = esmc_strdup("InvalidParameterValueException");
  f.sc.expect.config_error_message = esmc_strdup("BatchSize");
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: BatchSize must be 1..10000");
  fx_assert_quiet(&f, "config_validation");
  fx_free(&f);

  /* Rejected with the wrong code, then with the wrong message. */
  one_shard(&f, 1);
  f.sc.expect.config_error_code = esmc_strdup("InvalidParameterValueException");
  f.sc.expect.config_error_message = esmc_strdup("BatchSize");
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_INVALID_PARAMETER, "ValidationException: nope");
  fx_assert_fires(&f, "config_validation", "ValidationException: nope",
                  "but AWS rejects it with InvalidParameterValueException",
                  (char *)NULL);
  fx_free(&f);
  one_shard(&f, 1);
  f.sc.expect.config_error_code = esmc_strdup("InvalidParameterValueException");
  f.sc.expect.config_error_message = esmc_strdup("BatchSize");
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: something else");
  fx_assert_fires(&f, "config_validation", "the AWS message says \"BatchSize\"",
                  (char *)NULL);
  fx_free(&f);
}

static void test_config_validation_updates(void **state)
{
  size_t good, bad;
  (void)state;
  one_shard(&f, 1);
  good = fx_add_update(&f, 100, NULL);
  fx_update_spec(&f, good)->batch_size = 10;
  bad = fx_add_update(&f, 200, "InvalidParameterValueException");
  fx_update_spec(&f, bad)->batch_size = 0;
  started(&f);
  fx_update(f.w, 100, good, 0, NULL);
  fx_update(f.w, 200, bad, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: BatchSize");
  fx_assert_quiet(&f, "config_validation");
  fx_free(&f);

  one_shard(&f, 1);
  good = fx_add_update(&f, 100, NULL);
  bad = fx_add_update(&f, 200, "InvalidParameterValueException");
  started(&f);
  fx_update(f.w, 100, good, 0, NULL);
  fx_update(f.w, 200, bad, 0, NULL);
  fx_assert_fires(&f, "config_validation", "update at t=200 ms",
                  "case event #2", "was accepted", (char *)NULL);
  fx_free(&f);

  one_shard(&f, 1);
  good = fx_add_update(&f, 100, NULL);
  started(&f);
  fx_update(f.w, 100, good, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: no");
  fx_assert_fires(&f, "config_validation", "rejected a valid update at t=100",
                  (char *)NULL);
  fx_free(&f);
}

static void test_create_rejected_runs_only_config_checks(void **state)
{
  struct esmc_violations v;
  size_t i;
  (void)state;
  one_shard(&f, 2);
  fx_build(&f);
  fx_create(f.w, 0, ESMC_E_INVALID_PARAMETER,
            "InvalidParameterValueException: x");
  f.outcome.create_rejected = 1;
  memset(&v, 0, sizeof(v));
  assert_int_equal(esmc_check_all(f.w, &f.outcome, &v), 0);
  for(i = 0; i < v.n; i++)
    assert_true(strcmp(v.v[i].property, "config_validation") == 0 ||
                strcmp(v.v[i].property, "expectations") == 0);
  assert_true(v.n >= 1);
  esmc_violations_free(&v);
  assert_int_equal(esmc_check_one("no_such_property", f.w, &f.outcome, &v),
                   -1);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* event_shape                                                               */

static void test_event_shape(void **state)
{
  uint64_t i;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 2);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 1);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_ok(f.w, 20, i);
  fx_assert_quiet(&f, "event_shape");
  i = fx_invoke_bad(f.w, 30, "r2", "Records[0].kinesis.data is not base64");
  fx_ok(f.w, 40, i);
  fx_assert_fires(&f, "event_shape", "invocation #2", "t=30 ms",
                  "Records[0].kinesis.data is not base64", (char *)NULL);
  fx_free(&f);

  fx_scenario(&f, ESMC_SOURCE_KINESIS, 2);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 1);
  started(&f);
  fx_invoke_names(f.w, 10, "r1 r2");
  fx_assert_fires(&f, "event_shape", "invocation #1",
                  "mixes records of shards shardId-000000000000 and "
                  "shardId-000000000001", (char *)NULL);
  fx_free(&f);

  one_shard(&f, 1);
  started(&f);
  fx_invoke_names(f.w, 10, "");
  fx_assert_fires(&f, "event_shape", "invocation #1", "empty batch",
                  (char *)NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* no_loss and at_least_once                                                 */

static void test_no_loss_all_processed(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_ok(f.w, 20, i);
  fx_checkpoint_id(f.w, 21, "r3");
  /* Duplicates are allowed. */
  i = fx_invoke_names(f.w, 30, "r2 r3");
  fx_ok(f.w, 40, i);
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "at_least_once");
  fx_assert_quiet(&f, "checkpoint");
  fx_free(&f);
}

static void test_no_loss_checkpoint_past_failed_record(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  f.sc.config.maximum_retry_attempts = 2;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_fail(f.w, 20, i);
  fx_checkpoint_id(f.w, 30, "r3");
  fx_assert_fires(&f, "no_loss", "r1 (seq ", fx_seq(f.w, "r1"),
                  "skipped by the checkpoint", "t=30 ms",
                  "failed in invocation #1", "MaximumRetryAttempts 2",
                  (char *)NULL);
  assert_int_equal(fx_check(&f, "no_loss")->more, 2);
  fx_assert_fires(&f, "checkpoint", "covers r1 (seq ",
                  "failed in invocation #1", (char *)NULL);
  fx_free(&f);
}

static void test_no_loss_legal_discard_without_destination(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  f.sc.config.maximum_retry_attempts = 1;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  i = fx_invoke_names(f.w, 30, "r1 r2");
  fx_fail(f.w, 40, i);
  fx_checkpoint_id(f.w, 50, "r2");
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "checkpoint");
  fx_assert_quiet(&f, "at_least_once");
  fx_free(&f);
}

static void test_no_loss_discard_needs_destination_record(void **state)
{
  struct esmc_buf b;
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  f.sc.config.maximum_retry_attempts = 0;
  fx_set_destination(&f, ARN_SQS);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  fx_checkpoint_id(f.w, 30, "r2");
  fx_assert_fires(&f, "no_loss", "r1 (seq",
                  "discarded without a failure record to " ARN_SQS,
                  (char *)NULL);
  fx_assert_fires(&f, "checkpoint", "covers r1",
                  "not reported to " ARN_SQS " first", (char *)NULL);
  fx_free(&f);

  one_shard(&f, 2);
  f.sc.config.maximum_retry_attempts = 0;
  fx_set_destination(&f, ARN_SQS);
  started(&f);
  esmc_buf_init(&b);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  fx_dest_payload(f.w, &b, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  fx_dest(f.w, 25, ARN_SQS, b.data);
  fx_checkpoint_id(f.w, 30, "r2");
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "checkpoint");
  esmc_buf_free(&b);
  fx_free(&f);
}

static void test_no_loss_never_delivered(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_ok(f.w, 20, i);
  fx_checkpoint_id(f.w, 21, "r2");
  fx_end(f.w, 10000, 0);
  fx_assert_fires(&f, "no_loss", "r3 (seq", fx_seq(f.w, "r3"),
                  "was never processed: never delivered",
                  "last checkpoint is seq", fx_seq(f.w, "r2"), "t=21 ms",
                  (char *)NULL);
  /* Pending records are no_loss's, not at_least_once's. */
  fx_assert_quiet(&f, "at_least_once");
  fx_free(&f);
}

static void test_no_loss_excuses(void **state)
{
  uint64_t i;
  size_t u;
  (void)state;

  /* Records trimmed from the stream are not lost (RETRY-3). */
  one_shard(&f, 2);
  f.sc.retention_ms = 60000;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  fx_end(f.w, 120000, 0);
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);

  /* At the horizon, a batch still being retried is not lost. */
  one_shard(&f, 2);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  i = fx_invoke_names(f.w, 5000, "r1 r2");
  fx_fail(f.w, 5010, i);
  fx_end(f.w, 600000, 1);
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);

  /* A mapping disabled at the end owes nothing yet. */
  one_shard(&f, 2);
  u = fx_add_update(&f, 5, NULL);
  fx_update_spec(&f, u)->enabled = 0;
  started(&f);
  fx_update(f.w, 5, u, 0, NULL);
  fx_end(f.w, 60000, 0);
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);

  /* LATEST: records already in the stream are out of scope. */
  one_shard(&f, 2);
  fx_add_record(&f, "k1", 100, 0);
  f.sc.config.starting_position = ESMC_START_LATEST;
  started(&f);
  fx_append_between(f.w, 0, 100);
  i = fx_invoke_names(f.w, 200, "r3");
  fx_ok(f.w, 210, i);
  fx_end(f.w, 60000, 0);
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "starting_position");
  fx_free(&f);
}

/* A given-up batch whose failure record cannot be sent (destination down):
 * the shard waits for the send. Sends retried to the end of the run keep it
 * in progress; sends that stopped long before the end leave a loss. */
static void dest_down_run(int64_t last_send)
{
  struct esmc_buf b;
  int64_t t;
  one_shard(&f, 2);
  f.sc.config.maximum_retry_attempts = 0;
  fx_set_destination(&f, ARN_SQS);
  started(&f);
  fx_fail(f.w, 20, fx_invoke_names(f.w, 10, "r1 r2"));
  esmc_buf_init(&b);
  fx_dest_payload(f.w, &b, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  for(t = 20; t <= last_send; t += 1000)
    fx_dest_status(f.w, t, ESMC_E_SERVICE, ARN_SQS, b.data);
  esmc_buf_free(&b);
  fx_end(f.w, 60000, 1);
}

static void test_no_loss_destination_down(void **state)
{
  (void)state;
  dest_down_run(59020);
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);

  dest_down_run(5020);
  fx_assert_fires(&f, "no_loss", "r1 (seq", "was never processed",
                  "last delivered in invocation #1", (char *)NULL);
  fx_free(&f);
}

static void test_at_least_once(void **state)
{
  struct esmc_buf b;
  uint64_t i;
  (void)state;
  esmc_buf_init(&b);

  /* Reported as exhausted without ever reaching the function. */
  one_shard(&f, 3);
  fx_set_destination(&f, ARN_SQS);
  f.sc.config.maximum_retry_attempts = 0;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_fail(f.w, 20, i);
  fx_dest_payload(f.w, &b, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  fx_dest(f.w, 30, ARN_SQS, b.data);
  fx_checkpoint_id(f.w, 31, "r2");
  i = fx_invoke_names(f.w, 40, "r3");
  fx_ok(f.w, 50, i);
  fx_assert_fires(&f, "at_least_once", "r2 (seq", "never reached the function",
                  "reported as RetryAttemptsExhausted", "t=30 ms",
                  (char *)NULL);
  fx_free(&f);

  /* Checkpointed past without ever being delivered. */
  one_shard(&f, 2);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r2");
  fx_ok(f.w, 20, i);
  fx_checkpoint_id(f.w, 30, "r2");
  fx_assert_fires(&f, "at_least_once", "r1 (seq", "checkpointed past at t=30",
                  (char *)NULL);
  fx_free(&f);

  /* Expired by MaximumRecordAgeInSeconds before delivery: reported, fine. */
  one_shard(&f, 1);
  fx_set_destination(&f, ARN_SQS);
  f.sc.config.maximum_record_age_s = 60;
  started(&f);
  fx_dest_payload(f.w, &b, "RecordAgeExceeded", "r1", "r1", 1, NULL);
  fx_dest(f.w, 61000, ARN_SQS, b.data);
  fx_checkpoint_id(f.w, 61001, "r1");
  fx_assert_quiet(&f, "at_least_once");
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "checkpoint");
  fx_free(&f);
  esmc_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* starting_position                                                         */

static void test_starting_position_trim_horizon(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_ok(f.w, 20, i);
  fx_assert_quiet(&f, "starting_position");
  fx_free(&f);

  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r2 r3");
  fx_ok(f.w, 20, i);
  fx_assert_fires(&f, "starting_position", "first record delivered from "
                  "shardId-000000000000 was r2 (seq", "invocation #1",
                  "TRIM_HORIZON starts at or before r1 (seq",
                  "never delivered nor reported", (char *)NULL);
  fx_free(&f);
}

static void test_starting_position_after_reported_records(void **state)
{
  struct esmc_buf b;
  uint64_t i;
  (void)state;
  /* r1 expired before it could be delivered and was reported: starting at
   * r2 honours TRIM_HORIZON. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", -120000, 0);
  fx_add_record(&f, "k1", 0, 0);
  f.sc.config.maximum_record_age_s = 60;
  fx_set_destination(&f, ARN_SQS);
  started(&f);
  esmc_buf_init(&b);
  i = fx_invoke_names(f.w, 10, "r2");
  fx_ok(f.w, 20, i);
  fx_dest_payload(f.w, &b, "RecordAgeExceeded", "r1", "r1", 1, NULL);
  fx_dest(f.w, 21, ARN_SQS, b.data);
  fx_checkpoint_id(f.w, 22, "r2");
  fx_assert_quiet(&f, "starting_position");
  fx_assert_quiet(&f, "at_least_once");
  fx_assert_quiet(&f, "no_loss");
  esmc_buf_free(&b);
}

static void test_starting_position_latest(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  fx_add_record(&f, "k1", 500, 0);
  f.sc.config.starting_position = ESMC_START_LATEST;
  started(&f);
  fx_append_between(f.w, 0, 500);
  i = fx_invoke_names(f.w, 600, "r2 r3");
  fx_ok(f.w, 610, i);
  fx_assert_fires(&f, "starting_position", "r2 (seq", fx_seq(f.w, "r2"),
                  "before the mapping started reading shardId-000000000000 at "
                  "t=0 ms with StartingPosition LATEST", "invocation #1",
                  (char *)NULL);
  fx_free(&f);
}

static void test_starting_position_at_timestamp(void **state)
{
  uint64_t i;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", -2000, 0);
  fx_add_record(&f, "k1", -1000, 0);
  fx_add_record(&f, "k1", -500, 0);
  f.sc.config.starting_position = ESMC_START_AT_TIMESTAMP;
  f.sc.config.starting_position_timestamp_ms = -1000;
  f.sc.config.starting_position_timestamp_given = 1;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r2 r3");
  fx_ok(f.w, 20, i);
  fx_assert_quiet(&f, "starting_position");
  i = fx_invoke_names(f.w, 30, "r1");
  fx_ok(f.w, 40, i);
  fx_assert_fires(&f, "starting_position", "r1 (seq", "arrived at t=-2000 ms",
                  "AT_TIMESTAMP starting position t=-1000 ms",
                  "invocation #2", (char *)NULL);
  fx_free(&f);

  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "k1", -2000, 0);
  fx_add_record(&f, "k1", -1000, 0);
  fx_add_record(&f, "k1", -500, 0);
  f.sc.config.starting_position = ESMC_START_AT_TIMESTAMP;
  f.sc.config.starting_position_timestamp_ms = -1000;
  f.sc.config.starting_position_timestamp_given = 1;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r3");
  fx_ok(f.w, 20, i);
  fx_assert_fires(&f, "starting_position", "was r3 (seq",
                  "AT_TIMESTAMP starts at or before r2 (seq", (char *)NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* shard_order and shard_concurrency                                         */

static void test_order_retries_in_order(void **state)
{
  struct esmc_buf b;
  uint64_t i;
  (void)state;
  one_shard(&f, 4);
  f.sc.config.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  f.sc.config.function_response_types_given = 1;
  started(&f);
  esmc_buf_init(&b);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  i = fx_invoke_names(f.w, 30, "r1 r2");
  fx_ok(f.w, 40, i);
  /* A partial failure: r3 done, r4 retried alone. */
  esmc_buf_printf(&b, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
                  fx_seq(f.w, "r4"));
  i = fx_invoke_names(f.w, 50, "r3 r4");
  fx_complete(f.w, 60, i, ESMC_INVOKE_OK, 200, b.data, NULL);
  i = fx_invoke_names(f.w, 70, "r4");
  fx_ok(f.w, 80, i);
  /* A duplicate of done records is fine. */
  i = fx_invoke_names(f.w, 90, "r1 r2 r3 r4");
  fx_ok(f.w, 100, i);
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "shard_concurrency");
  esmc_buf_free(&b);
  fx_free(&f);
}

static void test_order_reordered_batch(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r2 r1 r3");
  fx_ok(f.w, 20, i);
  fx_assert_fires(&f, "shard_order", "invocation #1", "t=10 ms",
                  "carries r2 (seq", "before the earlier r1 (seq",
                  "same shard", (char *)NULL);
  fx_free(&f);

  /* Out of order even when both were done before. */
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_ok(f.w, 20, i);
  i = fx_invoke_names(f.w, 30, "r2 r1 r3");
  fx_ok(f.w, 40, i);
  fx_assert_fires(&f, "shard_order", "invocation #2", "t=30 ms",
                  "carries r1 (seq", "after r2 (seq", "out of sequence order",
                  (char *)NULL);
  fx_free(&f);
}

static void test_order_skips_failed_record(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_fail(f.w, 20, i);
  i = fx_invoke_names(f.w, 30, "r2");
  fx_ok(f.w, 40, i);
  fx_assert_fires(&f, "shard_order", "r2 (seq", "invocation #2 at t=30 ms",
                  "earlier r1 (seq", "had failed in invocation #1",
                  (char *)NULL);
  fx_free(&f);
}

static void test_order_batch_while_in_flight(void **state)
{
  uint64_t i1, i2;
  (void)state;
  one_shard(&f, 2);
  started(&f);
  i1 = fx_invoke_names(f.w, 10, "r1");
  i2 = fx_invoke_names(f.w, 15, "r2");
  fx_ok(f.w, 20, i1);
  fx_ok(f.w, 25, i2);
  fx_assert_fires(&f, "shard_order", "r2 (seq", "invocation #2 at t=15 ms",
                  "r1 (seq", "still in flight in invocation #1", (char *)NULL);
  fx_assert_fires(&f, "shard_concurrency", "invocation #2 of "
                  "shardId-000000000000 started at t=15 ms",
                  "#1 (started t=10 ms) was still running",
                  "ParallelizationFactor is 1", (char *)NULL);
  fx_free(&f);
}

static void test_order_parallelization_factor(void **state)
{
  uint64_t i1, i2, i3;
  (void)state;

  /* Different keys may run at once; the same key may not. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 0);
  fx_add_record(&f, "a", 0, 0);
  f.sc.config.parallelization_factor = 2;
  started(&f);
  i1 = fx_invoke_names(f.w, 10, "r1");
  i2 = fx_invoke_names(f.w, 11, "r2");
  fx_ok(f.w, 20, i1);
  fx_ok(f.w, 21, i2);
  i3 = fx_invoke_names(f.w, 30, "r3");
  fx_ok(f.w, 40, i3);
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "shard_concurrency");
  fx_free(&f);

  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 0);
  fx_add_record(&f, "a", 0, 0);
  f.sc.config.parallelization_factor = 2;
  started(&f);
  i1 = fx_invoke_names(f.w, 10, "r1");
  i3 = fx_invoke_names(f.w, 11, "r3");
  fx_ok(f.w, 20, i1);
  fx_ok(f.w, 21, i3);
  fx_assert_fires(&f, "shard_order", "r3 (seq", "key a",
                  "same partition key", "still in flight in invocation #1",
                  (char *)NULL);
  fx_assert_quiet(&f, "shard_concurrency");
  fx_free(&f);

  /* Three at once break ParallelizationFactor 2. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_record(&f, "a", 0, 0);
  fx_add_record(&f, "b", 0, 0);
  fx_add_record(&f, "c", 0, 0);
  f.sc.config.parallelization_factor = 2;
  started(&f);
  i1 = fx_invoke_names(f.w, 10, "r1");
  i2 = fx_invoke_names(f.w, 11, "r2");
  i3 = fx_invoke_names(f.w, 12, "r3");
  fx_ok(f.w, 20, i1);
  fx_ok(f.w, 21, i2);
  fx_ok(f.w, 22, i3);
  fx_assert_quiet(&f, "shard_order");
  fx_assert_fires(&f, "shard_concurrency", "invocation #3", "t=12 ms",
                  "#2 (started t=11 ms)", "ParallelizationFactor is 2",
                  (char *)NULL);
  fx_free(&f);
}

static void test_concurrency_restart_drops_invocations(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  started(&f);
  fx_invoke_names(f.w, 10, "r1");
  fx_destroy(f.w, 15, 1);
  fx_create(f.w, 15, 0, NULL);
  fx_iterator(f.w, 15, 0, ESMC_ITER_TRIM_HORIZON, 0);
  i = fx_invoke_names(f.w, 20, "r1 r2");
  fx_ok(f.w, 30, i);
  fx_checkpoint_id(f.w, 31, "r2");
  fx_assert_quiet(&f, "shard_concurrency");
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* checkpoint                                                                */

static void test_checkpoint_backwards(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 3);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_ok(f.w, 20, i);
  fx_checkpoint_id(f.w, 21, "r3");
  fx_checkpoint_id(f.w, 22, "r2");
  fx_assert_fires(&f, "checkpoint", "shardId-000000000000 moved backwards",
                  fx_seq(f.w, "r3"), "(t=21 ms) to seq", fx_seq(f.w, "r2"),
                  "(t=22 ms)", (char *)NULL);
  fx_free(&f);
}

static void test_checkpoint_in_flight_and_unknown(void **state)
{
  uint64_t i;
  (void)state;
  one_shard(&f, 2);
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_checkpoint_id(f.w, 12, "r2");
  fx_ok(f.w, 20, i);
  fx_assert_fires(&f, "checkpoint", "at seq", "(t=12 ms) covers r1 (seq",
                  "still in flight in invocation #1", (char *)NULL);
  /* It succeeded later, so nothing is lost. */
  fx_assert_quiet(&f, "no_loss");
  fx_free(&f);

  one_shard(&f, 2);
  started(&f);
  fx_checkpoint(f.w, 5, 0, "abc");
  fx_assert_fires(&f, "checkpoint", "\"abc\"",
                  "not a sequence number of the shard", (char *)NULL);
  fx_free(&f);
}

/* ------------------------------------------------------------------------ */
/* enabled                                                                   */

static void test_enabled(void **state)
{
  uint64_t i;
  size_t off, on;
  (void)state;
  one_shard(&f, 3);
  off = fx_add_update(&f, 100, NULL);
  fx_update_spec(&f, off)->enabled = 0;
  on = fx_add_update(&f, 1000, NULL);
  fx_update_spec(&f, on)->enabled = 1;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_ok(f.w, 20, i);
  fx_update(f.w, 100, off, 0, NULL);
  fx_update(f.w, 1000, on, 0, NULL);
  i = fx_invoke_names(f.w, 1010, "r2 r3");
  fx_ok(f.w, 1020, i);
  fx_assert_quiet(&f, "enabled");
  fx_free(&f);

  one_shard(&f, 3);
  off = fx_add_update(&f, 100, NULL);
  fx_update_spec(&f, off)->enabled = 0;
  started(&f);
  i = fx_invoke_names(f.w, 10, "r1");
  fx_ok(f.w, 20, i);
  fx_update(f.w, 100, off, 0, NULL);
  i = fx_invoke_names(f.w, 500, "r2 r3");
  fx_ok(f.w, 510, i);
  fx_assert_fires(&f, "enabled", "invocation #2 started at t=500 ms",
                  "while the mapping was disabled (since t=100 ms)",
                  (char *)NULL);
  fx_free(&f);

  /* Created disabled. */
  one_shard(&f, 1);
  f.sc.config.enabled = 0;
  started(&f);
  fx_invoke_names(f.w, 10, "r1");
  fx_assert_fires(&f, "enabled", "invocation #1", "disabled", (char *)NULL);
  fx_free(&f);
}

/* Every test frees the shared fixture in its teardown. */
#define T(test) cmocka_unit_test_teardown(test, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
      T(test_interpret_success_variants),
      T(test_interpret_failure_variants),
      T(test_interpret_partial),
      T(test_analysis_results_and_fates),
      T(test_analysis_destination_record),
      T(test_describe_record),
      T(test_config_validation),
      T(test_config_validation_updates),
      T(test_create_rejected_runs_only_config_checks),
      T(test_event_shape),
      T(test_no_loss_all_processed),
      T(test_no_loss_checkpoint_past_failed_record),
      T(test_no_loss_legal_discard_without_destination),
      T(test_no_loss_discard_needs_destination_record),
      T(test_no_loss_never_delivered),
      T(test_no_loss_excuses),
      T(test_no_loss_destination_down),
      T(test_at_least_once),
      T(test_starting_position_trim_horizon),
      T(test_starting_position_after_reported_records),
      T(test_starting_position_latest),
      T(test_starting_position_at_timestamp),
      T(test_order_retries_in_order),
      T(test_order_reordered_batch),
      T(test_order_skips_failed_record),
      T(test_order_batch_while_in_flight),
      T(test_order_parallelization_factor),
      T(test_concurrency_restart_drops_invocations),
      T(test_checkpoint_backwards),
      T(test_checkpoint_in_flight_and_unknown),
      T(test_enabled),
  };
  return cmocka_run_group_tests_name("checks.core", tests, NULL, NULL);
}

/*
 * test_loader.c: unit tests of the case loader (harness/case_load.c), the
 * JSON layer under it (harness/json.c) and the scenario defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_load.h"
#include "case_write.h"
#include "json.h"
#include "scenario.h"
#include "util.h"

#ifndef ESMC_TEST_DATA_DIR
#define ESMC_TEST_DATA_DIR "tests/data"
#endif

/* ------------------------------------------------------------------------ */
/* Helpers.                                                                  */

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static char *read_data(const char *name, size_t *len)
{
  char path[1024];
  char *buf = NULL;
  snprintf(path, sizeof(path), "%s/%s", ESMC_TEST_DATA_DIR, name);
  if(esmc_read_file(path, &buf, len) != 0)
    fail_msg("cannot read %s", path);
  return buf;
}

static void data_path(char *out, size_t size, const char *name)
{
  snprintf(out, size, "%s/%s", ESMC_TEST_DATA_DIR, name);
}

/* ------------------------------------------------------------------------ */
/* Defaults and capabilities.                                                */

static void test_scenario_defaults(void **state)
{
  struct esmc_scenario s;
  (void)state;
  esmc_scenario_init(&s);
  assert_int_equal(s.source, 0);
  assert_string_equal(s.stream_name, "esmcheck-stream");
  assert_int_equal(s.shard_count, 1);
  assert_true(s.retention_ms == INT64_C(86400000));
  assert_string_equal(s.stream_view_type, "NEW_AND_OLD_IMAGES");
  assert_true(s.start_epoch_ms == INT64_C(1704067200000));
  assert_true(s.run_until_ms == -1);
  assert_true(s.function.default_duration_ms == 10);
  assert_int_equal(s.function.timeout_s, 3);
  assert_true(s.create_at_ms == 0);
  assert_int_equal(s.config.enabled, ESMC_UNSET);
  assert_int_equal(s.config.batch_size, ESMC_UNSET);
  assert_int_equal(s.config.maximum_batching_window_s, ESMC_UNSET);
  assert_int_equal(s.config.starting_position, ESMC_START_UNSET);
  assert_int_equal(s.config.parallelization_factor, ESMC_UNSET);
  assert_int_equal(s.config.maximum_retry_attempts, ESMC_UNSET);
  assert_int_equal(s.config.maximum_record_age_s, ESMC_UNSET);
  assert_int_equal(s.config.bisect_batch_on_function_error, ESMC_UNSET);
  assert_int_equal(s.config.tumbling_window_s, ESMC_UNSET);
  assert_int_equal(s.expect.invocation_count, ESMC_UNSET);
  assert_null(s.records);
  esmc_scenario_free(&s);
  assert_null(s.stream_name);
  esmc_scenario_free(&s); /* zero-filled: fine */
}

static void test_cap_names(void **state)
{
  static const char *const names[] = {
      "kinesis",       "dynamodb",        "sqs",         "sqs_fifo",
      "batch_window",  "at_timestamp",    "retry_limit", "record_age",
      "bisect",        "partial_batch",   "on_failure",  "on_failure_s3",
      "parallelization", "filter",        "tumbling_window", "resharding",
      "update",        "restart",         "validation",  "enabled_flag"};
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    assert_true(esmc_cap_from_name(names[i]) == (UINT64_C(1) << i));
    assert_string_equal(esmc_cap_name(UINT64_C(1) << i), names[i]);
  }
  assert_true(esmc_cap_from_name("partial_batch") == ESMC_CAP_PARTIAL_BATCH);
  assert_true(esmc_cap_from_name("enabled_flag") == ESMC_CAP_ENABLED_FLAG);
  assert_true(esmc_cap_from_name("nope") == 0);
  assert_true(esmc_cap_from_name(NULL) == 0);
  assert_null(esmc_cap_name(UINT64_C(1) << 40));
  assert_null(esmc_cap_name(3));
}

/* ------------------------------------------------------------------------ */
/* The JSON layer.                                                           */

static void test_json_layer(void **state)
{
  static const char text[] =
      "{\"s\":\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\",\n"
      " \"i\":-9223372036854775808, \"j\":9223372036854775807,\n"
      " \"b\":true, \"n\":null, \"a\":[1,[2,{\"x\":[]}],3],"
      " \"o\":{ \"k\" : [ ] }}";
  struct esmc_json_doc d;
  struct esmc_json_error e;
  struct esmc_json_iter it;
  int k, v, count = 0, b = 0;
  char *s = NULL;
  size_t n = 0;
  int64_t i64 = 0;
  const char *raw;
  (void)state;
  assert_int_equal(esmc_json_parse(&d, text, strlen(text), NULL, &e), 0);
  esmc_json_iter_init(&it, &d, 0);
  while(esmc_json_iter_next(&it, &k, &v)) {
    count++;
    if(esmc_json_string_eq(&d, k, "s")) {
      assert_int_equal(esmc_json_string(&d, v, &s, &n, &e), 0);
      assert_int_equal(n, 15);
      assert_string_equal(s, "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
      esmc_free(s);
    }
    else if(esmc_json_string_eq(&d, k, "i")) {
      assert_int_equal(esmc_json_int64(&d, v, &i64, &e), 0);
      assert_true(i64 == INT64_MIN);
    }
    else if(esmc_json_string_eq(&d, k, "j")) {
      assert_int_equal(esmc_json_int64(&d, v, &i64, &e), 0);
      assert_true(i64 == INT64_MAX);
      assert_int_equal(esmc_json_bool(&d, v, &b, &e), -1);
      assert_string_equal(e.message, "expected a boolean, found a number");
      assert_int_equal(e.line, 2);
      assert_int_equal(e.column, 32);
    }
    else if(esmc_json_string_eq(&d, k, "b")) {
      assert_int_equal(esmc_json_bool(&d, v, &b, &e), 0);
      assert_int_equal(b, 1);
    }
    else if(esmc_json_string_eq(&d, k, "n")) {
      assert_true(esmc_json_is_null(&d, v));
    }
    else if(esmc_json_string_eq(&d, k, "a")) {
      struct esmc_json_iter ai;
      int ak, av, elems = 0;
      raw = esmc_json_raw(&d, v, &n);
      assert_int_equal(n, strlen("[1,[2,{\"x\":[]}],3]"));
      assert_memory_equal(raw, "[1,[2,{\"x\":[]}],3]", n);
      esmc_json_iter_init(&ai, &d, v);
      while(esmc_json_iter_next(&ai, &ak, &av)) {
        assert_int_equal(ak, -1);
        elems++;
        if(elems == 3) {
          assert_int_equal(esmc_json_int64(&d, av, &i64, &e), 0);
          assert_true(i64 == 3);
        }
      }
      assert_int_equal(elems, 3);
    }
    else if(esmc_json_string_eq(&d, k, "o")) {
      s = esmc_json_raw_dup(&d, v);
      assert_string_equal(s, "{ \"k\" : [ ] }");
      esmc_free(s);
    }
  }
  assert_int_equal(count, 7);
  esmc_json_free(&d);

  /* int64 one past the edge; a top-level scalar; a string at depth 3 is ok
   * with a depth limit of 3 and not with 2. */
  {
    static const char big[] = "[9223372036854775808, -9223372036854775809]";
    struct esmc_json_limits lim = {2, 100, 100};
    assert_int_equal(esmc_json_parse(&d, big, strlen(big), NULL, &e), 0);
    assert_int_equal(esmc_json_int64(&d, 1, &i64, &e), -1);
    assert_non_null(strstr(e.message, "out of range"));
    assert_int_equal(esmc_json_int64(&d, 2, &i64, &e), -1);
    assert_int_equal(e.column, 23);
    esmc_json_free(&d);
    assert_int_equal(esmc_json_parse(&d, "[[[\"x\"]]]", 9, &lim, &e), -1);
    assert_int_equal(e.column, 3);
    assert_non_null(strstr(e.message, "nesting deeper than 2"));
    lim.max_depth = 3;
    assert_int_equal(esmc_json_parse(&d, "[[[\"x\"]]]", 9, &lim, &e), 0);
    esmc_json_free(&d);
    lim.max_tokens = 3;
    assert_int_equal(esmc_json_parse(&d, "[[[\"x\"]]]", 9, &lim, &e), -1);
    assert_non_null(strstr(e.message, "too many JSON values"));
    assert_int_equal(e.column, 4);
    lim.max_tokens = 100;
    lim.max_string = 2;
    assert_int_equal(esmc_json_parse(&d, "[\"abc\"]", 7, &lim, &e), -1);
    assert_non_null(strstr(e.message, "string longer than 2 bytes"));
  }
}

/* ------------------------------------------------------------------------ */
/* A full good case.                                                         */

static void test_load_full(void **state)
{
  char path[1024];
  struct esmc_scenario s;
  struct esmc_load_error err;
  const struct esmc_case_record *r;
  const struct esmc_fn_rule *fr;
  size_t i;
  (void)state;
  data_path(path, sizeof(path), "loader-full.json");
  if(esmc_case_load_file(path, &s, &err) != 0) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    fail_msg("%s", msg);
  }
  assert_string_equal(s.path, path);
  assert_string_equal(s.id, "loader-full");
  assert_string_equal(s.description,
                      "Every section of the case format, for the loader's "
                      "unit test.");
  assert_int_equal(s.rule_count, 2);
  assert_string_equal(s.rules[0], "RETRY-1");
  assert_string_equal(s.rules[1], "BATCH-1");
  assert_int_equal(s.tag_count, 2);
  assert_string_equal(s.tags[0], "loader");
  assert_string_equal(s.tags[1], "kinesis-1");
  assert_true(s.requires == (ESMC_CAP_KINESIS | ESMC_CAP_RETRY_LIMIT |
                             ESMC_CAP_PARTIAL_BATCH | ESMC_CAP_UPDATE |
                             ESMC_CAP_RESTART | ESMC_CAP_ON_FAILURE));
  assert_int_equal(s.source, ESMC_SOURCE_KINESIS);
  assert_string_equal(s.stream_name, "orders");
  assert_int_equal(s.shard_count, 2);
  assert_true(s.retention_ms == INT64_C(48) * 3600 * 1000);
  assert_string_equal(s.stream_view_type, "KEYS_ONLY");
  assert_true(s.start_epoch_ms == INT64_C(1709210096000));
  assert_true(s.run_until_ms == 60000);

  /* The mapping. */
  assert_true(s.create_at_ms == 5);
  assert_int_equal(s.config.enabled, 1);
  assert_int_equal(s.config.batch_size, 3);
  assert_int_equal(s.config.maximum_batching_window_s, 0);
  assert_int_equal(s.config.starting_position, ESMC_START_TRIM_HORIZON);
  assert_true(s.config.starting_position_timestamp_ms == -1000);
  assert_int_equal(s.config.starting_position_timestamp_given, 1);
  assert_int_equal(s.config.parallelization_factor, 1);
  assert_int_equal(s.config.maximum_retry_attempts, 2);
  assert_int_equal(s.config.maximum_record_age_s, -1);
  assert_int_equal(s.config.bisect_batch_on_function_error, 0);
  assert_int_equal(s.config.tumbling_window_s, 0);
  assert_true(s.config.function_response_types ==
              (ESMC_FRT_REPORT_BATCH_ITEM_FAILURES | (UINT32_C(1) << 31)));
  assert_int_equal(s.config.function_response_types_given, 1);
  assert_string_equal(s.config.on_failure_destination,
                      "arn:aws:sqs:us-east-1:123456789012:dlq");
  assert_int_equal(s.config.filter_criteria_given, 1);
  assert_int_equal(s.config.filter_count, 2);
  assert_string_equal(s.config.filter_patterns[0],
                      "{\"data\": {\"kind\": [\"a\"]}}");
  assert_string_equal(s.config.filter_patterns[1],
                      "{\"data\":{\"kind\":[\"b\"]}}");

  /* Records: three explicit, four generated. */
  assert_int_equal(s.record_count, 7);
  r = &s.records[0];
  assert_string_equal(r->id, "r1");
  assert_true(r->at_ms == 0);
  assert_int_equal(r->shard, -1);
  assert_string_equal(r->partition_key, "r1");
  assert_int_equal(r->data_len, 12);
  assert_memory_equal(r->data, "h\xc3\xa9llo \xf0\x9f\x98\x80\n", 12);
  assert_int_equal(r->event_name, 0);
  assert_null(r->keys_json);
  r = &s.records[1];
  assert_string_equal(r->id, "r2");
  assert_true(r->at_ms == 10);
  assert_int_equal(r->shard, 1);
  assert_string_equal(r->partition_key, "pk-2");
  assert_int_equal(r->data_len, 4);
  assert_memory_equal(r->data, "\x00\x01\x02\xff", 4);
  r = &s.records[2];
  assert_string_equal(r->id, "r3");
  assert_true(r->at_ms == 20);
  assert_int_equal(r->data_len, 30);
  for(i = 0; i < 30; i++)
    assert_int_equal(r->data[i], 'a' + i % 26);
  for(i = 0; i < 4; i++) {
    static const char *const ids[] = {"g1", "g2", "g3", "g4"};
    static const char *const keys[] = {"k0", "k1", "k2", "k0"};
    r = &s.records[3 + i];
    assert_string_equal(r->id, ids[i]);
    assert_true(r->at_ms == (int64_t)(100 + 7 * i));
    assert_int_equal(r->shard, 0);
    assert_string_equal(r->partition_key, keys[i]);
    assert_int_equal(r->data_len, 2);
    assert_memory_equal(r->data, "ab", 2);
  }

  /* The function. */
  assert_int_equal(s.function.timeout_s, 60);
  assert_true(s.function.default_duration_ms == 25);
  assert_int_equal(s.function.rule_count, 6);
  fr = &s.function.rules[0];
  assert_int_equal(fr->contains_count, 1);
  assert_string_equal(fr->contains[0], "r2");
  assert_int_equal(fr->keys_count, 1);
  assert_string_equal(fr->keys[0], "pk-2");
  assert_int_equal(fr->invocations_count, 2);
  assert_true(fr->invocations[0] == 1 && fr->invocations[1] == 3);
  assert_int_equal(fr->attempt_min, 1);
  assert_int_equal(fr->attempt_max, 2);
  assert_int_equal(fr->times, 2);
  assert_int_equal(fr->action, ESMC_FN_ERROR);
  assert_true(fr->duration_ms == 5);
  assert_string_equal(fr->error_type, "Boom");
  assert_string_equal(fr->error_message, "it broke");
  assert_int_equal(fr->response_given, 0);
  fr = &s.function.rules[1];
  assert_int_equal(fr->action, ESMC_FN_FAIL_ITEMS);
  assert_int_equal(fr->fail_items_count, 2);
  assert_string_equal(fr->fail_items[0], "r3");
  assert_string_equal(fr->fail_items[1], "not-a-record");
  assert_int_equal(fr->attempt_min, ESMC_UNSET);
  assert_int_equal(fr->attempt_max, ESMC_UNSET);
  assert_int_equal(fr->times, 0);
  assert_true(fr->duration_ms == -1);
  assert_int_equal(fr->contains_count, 0);
  fr = &s.function.rules[2];
  assert_int_equal(fr->action, ESMC_FN_OK);
  assert_int_equal(fr->response_given, 1);
  assert_string_equal(fr->response, "{\"batchItemFailures\":[]}");
  assert_int_equal(fr->response_len, strlen("{\"batchItemFailures\":[]}"));
  assert_int_equal(fr->invocations_count, 1);
  assert_true(fr->invocations[0] == 7);
  assert_int_equal(s.function.rules[3].action, ESMC_FN_TIMEOUT);
  assert_int_equal(s.function.rules[4].action, ESMC_FN_THROTTLE);
  assert_int_equal(s.function.rules[5].action, ESMC_FN_SERVICE_ERROR);

  /* The timeline. */
  assert_int_equal(s.event_count, 4);
  assert_true(s.events[0].at_ms == 1000);
  assert_int_equal(s.events[0].kind, ESMC_CASE_UPDATE);
  assert_int_equal(s.events[0].update.batch_size, 10);
  assert_int_equal(s.events[0].update.enabled, 0);
  assert_int_equal(s.events[0].update.filter_criteria_given, 1);
  assert_int_equal(s.events[0].update.filter_count, 0);
  assert_int_equal(s.events[0].update.maximum_retry_attempts, ESMC_UNSET);
  assert_int_equal(s.events[0].update.starting_position, ESMC_START_UNSET);
  assert_int_equal(s.events[0].update.function_response_types_given, 0);
  assert_string_equal(s.events[0].expect_error_code,
                      "InvalidParameterValueException");
  assert_int_equal(s.events[1].kind, ESMC_CASE_RESTART);
  assert_null(s.events[1].expect_error_code);
  assert_int_equal(s.events[1].update.batch_size, ESMC_UNSET);
  assert_int_equal(s.events[2].kind, ESMC_CASE_DESTINATION_DOWN);
  assert_true(s.events[2].at_ms == 2000);
  assert_int_equal(s.events[3].kind, ESMC_CASE_DESTINATION_UP);

  /* The expectations. */
  assert_string_equal(s.expect.config_error_code,
                      "InvalidParameterValueException");
  assert_string_equal(s.expect.config_error_message, "BatchSize");
  assert_int_equal(s.expect.batches_given, 1);
  assert_int_equal(s.expect.batch_count, 2);
  assert_int_equal(s.expect.batch_lens[0], 2);
  assert_string_equal(s.expect.batches[0][0], "r1");
  assert_string_equal(s.expect.batches[0][1], "r3");
  assert_int_equal(s.expect.batch_lens[1], 1);
  assert_string_equal(s.expect.batches[1][0], "r2");
  assert_int_equal(s.expect.invocation_count, 2);
  assert_int_equal(s.expect.destinations_given, 1);
  assert_int_equal(s.expect.destination_count, 2);
  assert_string_equal(s.expect.destinations[0].condition,
                      "RetryAttemptsExhausted");
  assert_int_equal(s.expect.destinations[0].batch_size, 1);
  assert_string_equal(s.expect.destinations[0].first_id, "r2");
  assert_string_equal(s.expect.destinations[0].last_id, "r2");
  assert_int_equal(s.expect.destinations[0].approximate_invoke_count, 3);
  assert_int_equal(s.expect.destinations[0].has_response_context, 1);
  assert_string_equal(s.expect.destinations[0].function_error, "Unhandled");
  assert_null(s.expect.destinations[1].condition);
  assert_int_equal(s.expect.destinations[1].batch_size, ESMC_UNSET);
  assert_int_equal(s.expect.destinations[1].approximate_invoke_count,
                   ESMC_UNSET);
  assert_int_equal(s.expect.destinations[1].has_response_context, ESMC_UNSET);
  assert_string_equal(s.expect.destinations[1].function_error, "null");
  assert_int_equal(s.expect.delivered_count, 2);
  assert_string_equal(s.expect.delivered[0], "r1");
  assert_string_equal(s.expect.delivered[1], "g4");
  assert_int_equal(s.expect.not_delivered_count, 1);
  assert_string_equal(s.expect.not_delivered[0], "r2");

  esmc_scenario_free(&s);
  assert_null(s.id);
  assert_int_equal(s.record_count, 0);
}

static void test_load_dynamodb(void **state)
{
  char path[1024];
  struct esmc_scenario s;
  struct esmc_load_error err;
  const struct esmc_case_record *r;
  (void)state;
  data_path(path, sizeof(path), "loader-ddb.json");
  if(esmc_case_load_file(path, &s, &err) != 0) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    fail_msg("%s", msg);
  }
  assert_int_equal(s.source, ESMC_SOURCE_DYNAMODB);
  assert_string_equal(s.stream_name, "esmcheck-stream");
  assert_string_equal(s.stream_view_type, "NEW_AND_OLD_IMAGES");
  assert_true(s.start_epoch_ms == INT64_C(1704067200000));
  assert_int_equal(s.tag_count, 0);
  assert_true(s.requires == ESMC_CAP_DYNAMODB);
  assert_int_equal(s.config.starting_position, ESMC_START_LATEST);
  assert_int_equal(s.config.batch_size, ESMC_UNSET);
  assert_int_equal(s.config.filter_criteria_given, 0);
  assert_int_equal(s.record_count, 5);
  r = &s.records[0];
  assert_string_equal(r->id, "d1");
  assert_int_equal(r->event_name, ESMC_DDB_MODIFY);
  assert_string_equal(r->keys_json, "{\"pk\": {\"S\": \"a\"}}");
  assert_string_equal(r->partition_key, "{\"pk\": {\"S\": \"a\"}}");
  assert_string_equal(r->new_image_json,
                      "{\"pk\": {\"S\": \"a\"}, \"v\": {\"N\": \"2\"}}");
  assert_string_equal(r->old_image_json,
                      "{\"pk\": {\"S\": \"a\"}, \"v\": {\"N\": \"1\"}}");
  assert_null(r->data);
  r = &s.records[1];
  assert_int_equal(r->event_name, 0);
  assert_null(r->new_image_json);
  assert_null(r->old_image_json);
  r = &s.records[4];
  assert_string_equal(r->id, "x3");
  assert_int_equal(r->shard, -1);
  assert_string_equal(r->keys_json, "{\"pk\":{\"S\":\"k0\"}}");
  assert_string_equal(r->new_image_json,
                      "{\"pk\":{\"S\":\"k0\"},\"n\":{\"N\":\"3\"}}");
  assert_string_equal(s.records[3].keys_json, "{\"pk\":{\"S\":\"k1\"}}");
  assert_int_equal(s.function.rule_count, 0);
  assert_int_equal(s.expect.batches_given, 0);
  assert_null(s.expect.batches);
  assert_int_equal(s.expect.invocation_count, ESMC_UNSET);
  esmc_scenario_free(&s);
}

/* ------------------------------------------------------------------------ */
/* Several mappings, functions, faults and trims (sections 13 and 14).       */

static void load_data(const char *name, struct esmc_scenario *s)
{
  char path[1024];
  struct esmc_load_error err;
  data_path(path, sizeof(path), name);
  if(esmc_case_load_file(path, s, &err) != 0) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    fail_msg("%s", msg);
  }
}

/* The defaults every event has whatever its kind. */
static void assert_event_defaults(const struct esmc_case_event *e)
{
  if(e->kind != ESMC_CASE_UPDATE && e->kind != ESMC_CASE_RESTART)
    assert_int_equal(e->mapping, 0);
  if(e->kind != ESMC_CASE_FAULT) {
    assert_int_equal(e->fault.calls, 0);
    assert_int_equal(e->fault.every, 1);
    assert_int_equal(e->fault.mapping, -1);
    assert_true(e->fault.until_ms == INT64_MAX);
  }
  if(e->kind != ESMC_CASE_TRIM)
    assert_true(e->trim_before_ms == 0);
}

#define CALL(c) (1u << ESMC_FC_##c)

static void test_load_mappings(void **state)
{
  struct esmc_scenario s;
  const struct esmc_mapping_spec *m;
  const struct esmc_case_event *e;
  size_t i;
  (void)state;
  load_data("loader-mappings.json", &s);
  assert_null(s.function.name);
  assert_int_equal(s.view_of, 0);

  /* functions, in file order, with section 7's defaults. */
  assert_int_equal(s.function_count, 2);
  assert_string_equal(s.functions[0].name, "slow");
  assert_int_equal(s.functions[0].timeout_s, 30);
  assert_true(s.functions[0].default_duration_ms == 500);
  assert_int_equal(s.functions[0].rule_count, 1);
  assert_int_equal(s.functions[0].rules[0].action, ESMC_FN_ERROR);
  assert_string_equal(s.functions[0].rules[0].contains[0], "r2");
  assert_string_equal(s.functions[0].rules[0].error_type, "Slow");
  assert_int_equal(s.functions[0].rules[0].attempt_min, ESMC_UNSET);
  assert_true(s.functions[0].rules[0].duration_ms == -1);
  assert_string_equal(s.functions[1].name, "unused-fn");
  assert_int_equal(s.functions[1].timeout_s, 3);
  assert_true(s.functions[1].default_duration_ms == 10);
  assert_int_equal(s.functions[1].rule_count, 0);

  /* mappings (after events in the file). */
  assert_int_equal(s.extra_count, 2);
  assert_int_equal(esmc_scenario_mapping_count(&s), 3);
  m = &s.extra[0];
  assert_string_equal(m->name, "audit");
  assert_int_equal(m->function, 1);
  assert_true(m->create_at_ms == 100);
  assert_int_equal(m->config.batch_size, 5);
  assert_int_equal(m->config.starting_position, ESMC_START_LATEST);
  assert_string_equal(m->config.on_failure_destination,
                      "arn:aws:sqs:us-east-1:123456789012:audit-dlq");
  assert_int_equal(m->config.enabled, ESMC_UNSET);
  assert_int_equal(m->config.maximum_concurrency, ESMC_UNSET);
  assert_int_equal(m->expect.invocation_count, 3);
  assert_int_equal(m->expect.delivered_count, 1);
  assert_string_equal(m->expect.delivered[0], "r1");
  assert_int_equal(m->expect.batches_given, 1);
  assert_int_equal(m->expect.batch_count, 1);
  assert_string_equal(m->expect.batches[0][0], "r3");
  m = &s.extra[1];
  assert_string_equal(m->name, "late-reader");
  assert_int_equal(m->function, 0);
  assert_true(m->create_at_ms == 0);
  assert_int_equal(m->config.enabled, 0);
  assert_int_equal(m->config.batch_size, ESMC_UNSET);
  assert_int_equal(m->expect.invocation_count, ESMC_UNSET);
  assert_int_equal(m->expect.batches_given, 0);
  assert_null(m->expect.delivered);
  /* Mapping 0 keeps its members in the scenario. */
  assert_int_equal(s.config.batch_size, 2);
  assert_int_equal(s.expect.delivered_count, 2);
  assert_int_equal(s.expect.invocation_count, ESMC_UNSET);
  assert_string_equal(esmc_scenario_mapping_name(&s, 0), "main");
  assert_string_equal(esmc_scenario_mapping_name(&s, 2), "late-reader");
  assert_ptr_equal(esmc_scenario_mapping_function(&s, 0), &s.function);
  assert_ptr_equal(esmc_scenario_mapping_function(&s, 1), &s.functions[0]);
  assert_ptr_equal(esmc_scenario_mapping_function(&s, 2), &s.function);

  /* events */
  assert_int_equal(s.event_count, 10);
  for(i = 0; i < s.event_count; i++)
    assert_event_defaults(&s.events[i]);
  e = &s.events[0];
  assert_int_equal(e->kind, ESMC_CASE_UPDATE);
  assert_int_equal(e->mapping, 1);
  assert_int_equal(e->update.batch_size, 1);
  assert_string_equal(e->expect_error_code, "InvalidParameterValueException");
  e = &s.events[1];
  assert_int_equal(e->kind, ESMC_CASE_RESTART);
  assert_int_equal(e->mapping, 2);
  e = &s.events[2];
  assert_int_equal(e->kind, ESMC_CASE_FAULT);
  assert_int_equal(e->mapping, 0);
  assert_int_equal(e->fault.calls, CALL(GET_RECORDS) | CALL(SEND_TO_DESTINATION));
  assert_int_equal(e->fault.error, ESMC_E_THROTTLED);
  assert_true(e->fault.until_ms == 5000);
  assert_int_equal(e->fault.mapping, 1);
  assert_int_equal(e->fault.every, 3);
  assert_int_equal(e->shards[0], -1);
  e = &s.events[3];
  assert_int_equal(e->fault.calls, CALL(GET_RECORDS));
  assert_int_equal(e->fault.error, ESMC_E_EXPIRED_ITERATOR);
  assert_true(e->fault.until_ms == INT64_MAX);
  assert_int_equal(e->fault.mapping, -1);
  assert_int_equal(e->fault.every, 1);
  e = &s.events[4];
  assert_int_equal(e->fault.calls,
                   CALL(LIST_SHARDS) | CALL(GET_SHARD_ITERATOR));
  assert_int_equal(e->fault.error, ESMC_E_ACCESS_DENIED);
  assert_int_equal(e->fault.mapping, 0);
  e = &s.events[5];
  assert_int_equal(e->kind, ESMC_CASE_SPLIT);
  assert_int_equal(e->shards[0], 1);
  e = &s.events[6];
  assert_int_equal(e->kind, ESMC_CASE_TRIM);
  assert_int_equal(e->shards[0], 3); /* a child of the split */
  assert_int_equal(e->shards[1], -1);
  assert_true(e->trim_before_ms == 3500);
  e = &s.events[7];
  assert_int_equal(e->kind, ESMC_CASE_TRIM);
  assert_int_equal(e->shards[0], -1);
  assert_true(e->trim_before_ms == 4500); /* default: at_ms */
  e = &s.events[8];
  assert_int_equal(e->kind, ESMC_CASE_RESTART);
  assert_int_equal(e->mapping, 0);
  e = &s.events[9];
  assert_int_equal(e->fault.error, ESMC_E_SERVICE);
  assert_true(e->fault.until_ms == 4701);
  esmc_scenario_free(&s);
}

static void test_load_faults_sqs(void **state)
{
  struct esmc_scenario s;
  const struct esmc_case_event *e;
  (void)state;
  load_data("loader-faults-sqs.json", &s);
  assert_int_equal(s.source, ESMC_SOURCE_SQS);
  assert_int_equal(s.extra_count, 1);
  assert_string_equal(s.extra[0].name, "second");
  assert_int_equal(s.extra[0].function, 1);
  assert_int_equal(s.extra[0].config.maximum_concurrency, 2);
  assert_int_equal(s.function_count, 1);
  assert_string_equal(s.functions[0].name, "fn-b");
  assert_int_equal(s.functions[0].rules[0].action, ESMC_FN_FAIL_ITEMS);
  assert_int_equal(s.event_count, 3);
  e = &s.events[0];
  assert_int_equal(e->kind, ESMC_CASE_FAULT);
  assert_int_equal(e->fault.calls,
                   CALL(RECEIVE_MESSAGES) | CALL(DELETE_MESSAGE));
  assert_int_equal(e->fault.error, ESMC_E_ACCESS_DENIED);
  assert_int_equal(e->fault.mapping, 0);
  e = &s.events[1];
  assert_int_equal(e->fault.calls, CALL(CHANGE_MESSAGE_VISIBILITY) |
                                       CALL(GET_QUEUE_ATTRIBUTES) |
                                       CALL(SEND_TO_DESTINATION));
  assert_int_equal(e->fault.error, ESMC_E_SERVICE);
  assert_true(e->fault.until_ms == 9000);
  assert_int_equal(e->fault.every, 1000);
  assert_int_equal(e->fault.mapping, -1);
  e = &s.events[2];
  assert_int_equal(e->kind, ESMC_CASE_UPDATE);
  assert_int_equal(e->mapping, 1);
  assert_int_equal(e->update.maximum_concurrency, 5);
  esmc_scenario_free(&s);
}

static void assert_same_expect(const struct esmc_expect *a,
                               const struct esmc_expect *b)
{
  size_t i;
  assert_int_equal(a->invocation_count, b->invocation_count);
  assert_int_equal(a->batches_given, b->batches_given);
  assert_int_equal(a->batch_count, b->batch_count);
  for(i = 0; i < a->batch_count; i++)
    assert_int_equal(a->batch_lens[i], b->batch_lens[i]);
  assert_int_equal(a->delivered_count, b->delivered_count);
  for(i = 0; i < a->delivered_count; i++)
    assert_string_equal(a->delivered[i], b->delivered[i]);
  assert_int_equal(a->not_delivered_count, b->not_delivered_count);
  assert_int_equal(a->destinations_given, b->destinations_given);
  assert_int_equal(a->destination_count, b->destination_count);
}

/* What sections 13 and 14 load is the same in a and b. */
static void assert_same_new_keys(const struct esmc_scenario *a,
                                 const struct esmc_scenario *b)
{
  size_t i;
  assert_int_equal(a->extra_count, b->extra_count);
  for(i = 0; i < a->extra_count; i++) {
    const struct esmc_mapping_spec *x = &a->extra[i], *y = &b->extra[i];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->function, y->function);
    assert_true(x->create_at_ms == y->create_at_ms);
    assert_int_equal(x->config.enabled, y->config.enabled);
    assert_int_equal(x->config.batch_size, y->config.batch_size);
    assert_int_equal(x->config.starting_position, y->config.starting_position);
    assert_int_equal(x->config.maximum_concurrency,
                     y->config.maximum_concurrency);
    if(x->config.on_failure_destination || y->config.on_failure_destination)
      assert_string_equal(x->config.on_failure_destination,
                          y->config.on_failure_destination);
    assert_same_expect(&x->expect, &y->expect);
  }
  assert_int_equal(a->function_count, b->function_count);
  for(i = 0; i < a->function_count; i++) {
    const struct esmc_fn_script *x = &a->functions[i], *y = &b->functions[i];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->timeout_s, y->timeout_s);
    assert_true(x->default_duration_ms == y->default_duration_ms);
    assert_int_equal(x->rule_count, y->rule_count);
  }
  assert_int_equal(a->event_count, b->event_count);
  for(i = 0; i < a->event_count; i++) {
    const struct esmc_case_event *x = &a->events[i], *y = &b->events[i];
    assert_int_equal(x->kind, y->kind);
    assert_true(x->at_ms == y->at_ms);
    assert_int_equal(x->mapping, y->mapping);
    assert_int_equal(x->shards[0], y->shards[0]);
    assert_int_equal(x->shards[1], y->shards[1]);
    assert_int_equal(x->fault.calls, y->fault.calls);
    assert_int_equal(x->fault.error, y->fault.error);
    assert_true(x->fault.until_ms == y->fault.until_ms);
    assert_int_equal(x->fault.mapping, y->fault.mapping);
    assert_int_equal(x->fault.every, y->fault.every);
    assert_true(x->trim_before_ms == y->trim_before_ms);
  }
}

/* load(write(load(x))) == load(x) for every new key, and the text is a
 * fixed point of write(load(.)). */
static void test_roundtrip_new_keys(void **state)
{
  static const char *const files[] = {"loader-mappings.json",
                                      "loader-faults-sqs.json"};
  size_t f;
  (void)state;
  for(f = 0; f < 2; f++) {
    struct esmc_scenario s, back;
    struct esmc_buf t1, t2;
    struct esmc_load_error err;
    load_data(files[f], &s);
    esmc_buf_init(&t1);
    esmc_buf_init(&t2);
    assert_int_equal(esmc_case_write(&s, &t1), 0);
    if(esmc_case_load_buf(t1.data, t1.len, "written.json", &back, &err) != 0) {
      char msg[1200];
      esmc_load_error_format(&err, msg, sizeof(msg));
      fail_msg("%s\n%s", msg, t1.data);
    }
    assert_same_new_keys(&s, &back);
    assert_int_equal(esmc_case_write(&back, &t2), 0);
    assert_string_equal(t1.data, t2.data);
    assert_non_null(strstr(t1.data, "\"mappings\": ["));
    assert_non_null(strstr(t1.data, "\"functions\": {"));
    assert_non_null(strstr(t1.data, "\"fault\": {\"calls\": ["));
    esmc_scenario_free(&back);
    esmc_scenario_free(&s);
    esmc_buf_free(&t1);
    esmc_buf_free(&t2);
  }
}

/* A scenario the writer cannot express is refused, not written wrong. */
static void test_write_unrepresentable(void **state)
{
  struct esmc_scenario s;
  struct esmc_buf b;
  (void)state;
  load_data("loader-mappings.json", &s);
  s.events[2].fault.error = ESMC_E_NOT_FOUND; /* not a fault error */
  esmc_buf_init(&b);
  assert_int_equal(esmc_case_write(&s, &b), -1);
  esmc_buf_free(&b);
  s.events[2].fault.error = ESMC_E_THROTTLED;
  s.events[2].fault.calls = 0;
  esmc_buf_init(&b);
  assert_int_equal(esmc_case_write(&s, &b), -1);
  esmc_buf_free(&b);
  s.events[2].fault.calls = CALL(GET_RECORDS);
  s.events[1].mapping = 7; /* no such mapping */
  esmc_buf_init(&b);
  assert_int_equal(esmc_case_write(&s, &b), -1);
  esmc_buf_free(&b);
  s.events[1].mapping = 2;
  s.extra[0].function = 9; /* no such function */
  esmc_buf_init(&b);
  assert_int_equal(esmc_case_write(&s, &b), -1);
  esmc_buf_free(&b);
  s.extra[0].function = 1;
  esmc_buf_init(&b);
  assert_int_equal(esmc_case_write(&s, &b), 0);
  esmc_buf_free(&b);
  esmc_scenario_free(&s);
}

static void test_mapping_helpers(void **state)
{
  struct esmc_scenario s;
  struct esmc_case_event ev;
  unsigned c;
  (void)state;
  load_data("loader-mappings.json", &s);
  assert_int_equal(esmc_scenario_mapping_index(&s, "main"), 0);
  assert_int_equal(esmc_scenario_mapping_index(&s, "audit"), 1);
  assert_int_equal(esmc_scenario_mapping_index(&s, "late-reader"), 2);
  assert_int_equal(esmc_scenario_mapping_index(&s, "slow"), -1);
  assert_int_equal(esmc_scenario_mapping_index(&s, NULL), -1);
  esmc_scenario_free(&s);
  esmc_scenario_init(&s);
  assert_int_equal(esmc_scenario_mapping_index(&s, "main"), 0);
  assert_int_equal(esmc_scenario_mapping_index(&s, "audit"), -1);
  esmc_scenario_free(&s);

  memset(&ev, 0x5a, sizeof(ev));
  esmc_case_event_init(&ev);
  assert_int_equal(ev.kind, 0);
  assert_int_equal(ev.mapping, 0);
  assert_int_equal(ev.shards[0], -1);
  assert_int_equal(ev.shards[1], -1);
  assert_int_equal(ev.update.batch_size, ESMC_UNSET);
  assert_null(ev.expect_error_code);
  assert_int_equal(ev.fault.calls, 0);
  assert_int_equal(ev.fault.every, 1);
  assert_int_equal(ev.fault.mapping, -1);
  assert_true(ev.fault.until_ms == INT64_MAX);
  assert_true(ev.trim_before_ms == 0);

  for(c = 0; c < ESMC_FC_COUNT; c++)
    assert_non_null(esmc_fault_call_name(c));
  assert_string_equal(esmc_fault_call_name(ESMC_FC_GET_RECORDS),
                      "get_records");
  assert_null(esmc_fault_call_name(ESMC_FC_COUNT));
}

/* ------------------------------------------------------------------------ */
/* Bad inputs: each with its exact position and a message substring.         */

struct bad_case {
  const char *name;
  const char *json;
  int line;
  int column;
  const char *message;
};

/* The start of a valid case (line 1), for kinesis and for dynamodb; the
 * inputs below continue on line 2. */
#define HK                                                                     \
  "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\":[]," \
  "\"requires\":[],\"source\":\"kinesis\",\n"
#define HD                                                                     \
  "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\":[]," \
  "\"requires\":[],\"source\":\"dynamodb\",\n"
#define HQ                                                                     \
  "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\":[]," \
  "\"requires\":[],\"source\":\"sqs\",\n"

static const struct bad_case bad_cases[] = {
    {"unknown_key",
     HK "\"mapping\":{\"batchsize\":1}}",
     2, 12,
     "unknown key 'batchsize' in mapping; expected one of: create_at_ms,"
     " enabled"},
    {"wrong_type",
     HK "\"mapping\":{\"batch_size\":\"10\"}}",
     2, 25,
     "mapping.batch_size: expected an integer, found a string"},
    {"missing_required_top",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\""
     ":[],\"requires\":[],\"mapping\":{}}",
     1, 1,
     "missing required key 'source' in the case"},
    {"missing_record_id",
     HK "\"mapping\":{},\"records\":[{\"at_ms\":1}]}",
     2, 25,
     "missing required key 'id' in records[0]"},
    {"duplicate_key",
     HK "\"mapping\":{\"batch_size\":1,\"batch_size\":2}}",
     2, 27,
     "duplicate key 'batch_size'"},
    {"duplicate_key_escaped",
     HK "\"mapping\":{\"enabled\":true,\"en\\u0061bled\":false}}",
     2, 27,
     "duplicate key 'enabled'"},
    {"bad_escape",
     HK "\"mapping\":{\"on_failure\":\"a\\qb\"}}",
     2, 27,
     "invalid escape '\\q' in string"},
    {"lone_high_surrogate",
     HK "\"mapping\":{\"on_failure\":\"x\\ud800y\"}}",
     2, 27,
     "lone surrogate \\uD800"},
    {"lone_low_surrogate",
     HK "\"mapping\":{\"on_failure\":\"\\uDC00\"}}",
     2, 26,
     "lone surrogate \\uDC00"},
    {"escaped_nul",
     HK "\"mapping\":{\"on_failure\":\"a\\u0000\"}}",
     2, 27,
     "\\u0000 is not allowed"},
    {"bad_unicode_escape",
     HK "\"mapping\":{\"on_failure\":\"\\u12G4\"}}",
     2, 26,
     "expected 4 hex digits"},
    {"unterminated_string",
     HK "\"mapping\":{\"on_failure\":\"abc",
     2, 25,
     "unterminated string"},
    {"control_char",
     HK "\"mapping\":{\"on_failure\":\"a\tb\"}}",
     2, 27,
     "control character 0x09 in string"},
    {"trailing_garbage",
     HK "\"mapping\":{}}\n  x",
     3, 3,
     "unexpected character 'x' after the end of the JSON document"},
    {"truncated",
     HK "\"mapping\":{\"batch_size\":1",
     2, 26,
     "unexpected end of input, expected ',' or '}'"},
    {"truncated_literal",
     HK "\"mapping\":{\"enabled\":tr",
     2, 24,
     "unexpected end of input in 'true'"},
    {"empty",
     "",
     1, 1,
     "empty input"},
    {"whitespace_only",
     " \n ",
     2, 2,
     "unexpected end of input, expected a value"},
    {"int64_overflow",
     HK "\"mapping\":{\"batch_size\":99999999999999999999}}",
     2, 25,
     "integer 99999999999999999999 is out of range"},
    {"int32_overflow",
     HK "\"mapping\":{\"batch_size\":3000000000}}",
     2, 25,
     "mapping.batch_size: 3000000000 does not fit in a 32-bit integer"},
    {"fraction",
     HK "\"mapping\":{\"batch_size\":1.5}}",
     2, 25,
     "mapping.batch_size: expected an integer, found 1.5"},
    {"exponent",
     HK "\"mapping\":{\"batch_size\":1e3}}",
     2, 25,
     "expected an integer, found 1e3"},
    {"leading_plus",
     HK "\"mapping\":{\"batch_size\":+1}}",
     2, 25,
     "unexpected character '+', expected a value"},
    {"leading_zero",
     HK "\"mapping\":{\"batch_size\":01}}",
     2, 25,
     "leading zero"},
    {"bad_literal",
     HK "\"mapping\":{\"enabled\":ture}}",
     2, 22,
     "invalid literal"},
    {"unknown_rule",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\",\"NOPE-1"
     "\"],\"tags\":[],\"requires\":[],\"source\":\"kinesis\",\n\"mapping"
     "\":{}}",
     1, 46,
     "rules[1]: unknown rule id 'NOPE-1'"},
    {"empty_rules",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[],\"tags\":[],\"req"
     "uires\":[],\"source\":\"kinesis\",\n\"mapping\":{}}",
     1, 37,
     "rules: must not be empty"},
    {"unknown_capability",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\""
     ":[],\"requires\":[\"kinesis\",\"teleport\"],\"source\":\"kinesis\""
     ",\n\"mapping\":{}}",
     1, 79,
     "requires[1]: unknown capability 'teleport'"},
    {"bad_tag",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"tags\""
     ":[\"Loader\"],\"requires\":[],\"source\":\"kinesis\",\n\"mapping\""
     ":{}}",
     1, 55,
     "tags[0]: a tag must match"},
    {"bad_case_id",
     "{\"id\":\"Bad_Id\",\"description\":\"d\",\"rules\":[\"GEN-1\"],\"t"
     "ags\":[],\"requires\":[],\"source\":\"kinesis\",\n\"mapping\":{}}",
     1, 7,
     "id: must match"},
    {"unknown_expect_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"expect\":{\"deliv"
     "ered\":[\"r1\",\"r9\"]}}",
     3, 29,
     "expect.delivered[1]: no record has id 'r9'"},
    {"unknown_batch_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"expect\":{\"batch"
     "es\":[[\"r1\"],[\"r1\",\"zz\"]]}}",
     3, 35,
     "expect.batches[1][1]: no record has id 'zz'"},
    {"unknown_dest_first",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"expect\":{\"desti"
     "nations\":[{\"first\":\"q\"}]}}",
     3, 36,
     "expect.destinations[0].first: no record has id 'q'"},
    {"unknown_contains_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"function\":{\"rul"
     "es\":[{\"when\":{\"contains\":[\"nope\"]},\"then\":{\"action\":\"o"
     "k\"}}]}}",
     3, 43,
     "function.rules[0].when.contains[0]: no record has id 'nope'"},
    {"depth_bomb",
     HK "\"mapping\":{\"filters\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]]]]]}}",
     2, 84,
     "nesting deeper than 64 levels"},
    {"data_on_dynamodb",
     HD "\"mapping\":{},\"records\":[{\"id\":\"r1\",\"keys\":{\"pk\":{\"S\""
     ":\"a\"}},\"data\":\"x\"}]}",
     2, 60,
     "records[0].data: not allowed for a dynamodb source"},
    {"keys_on_kinesis",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\",\"keys\":{\"pk\":{\"S\""
     ":\"a\"}}}]}",
     2, 36,
     "records[0].keys: only allowed for a dynamodb source"},
    {"missing_ddb_keys",
     HD "\"mapping\":{},\"records\":[\n  {\"id\":\"r1\"}]}",
     3, 3,
     "missing required key 'keys' in records[0]"},
    {"two_data_keys",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\",\"data\":\"x\",\"data_s"
     "ize\":3}]}",
     2, 47,
     "records[0]: give only one of data, data_base64 and data_size"},
    {"shard_out_of_range",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\",\"shard\":1}]}",
     2, 44,
     "records[0].shard: must be a shard index from 0 to 0"},
    {"duplicate_record_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"a1\"}],\n\"generate\":[{\"pr"
     "efix\":\"a\",\"count\":2}]}",
     3, 23,
     "duplicate record id 'a1'"},
    {"bad_base64",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\",\"data_base64\":\"!!\"}"
     "]}",
     2, 50,
     "records[0].data_base64: invalid base64"},
    {"bad_start",
     HK "\"start\":\"2023-02-29T00:00:00Z\",\"mapping\":{}}",
     2, 9,
     "start: '2023-02-29T00:00:00Z' is not a valid time"},
    {"event_two_kinds",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"restart\":true,\"destina"
     "tion\":\"up\"}]}",
     2, 50,
     "events[0]: give only one of update, restart, destination, split, merge,"
     " rollover, fault and trim"},
    {"restart_false",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"restart\":false}]}",
     2, 45,
     "events[0].restart: must be true"},
    {"events_out_of_order",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":5,\"restart\":true},{\"at_ms"
     "\":4,\"restart\":true}]}",
     2, 60,
     "events[1].at_ms: events must be in time order"},
    {"top_level_array",
     "[]",
     1, 1,
     "the case must be a JSON object, found an array"},
    {"top_level_string",
     "\"x\"",
     1, 1,
     "expected a JSON object or array, found a string"},
    {"mapping_not_object",
     HK "\"mapping\":5}",
     2, 11,
     "mapping: expected an object, found a number"},
    {"fail_items_missing",
     HK "\"mapping\":{},\"function\":{\"rules\":[{\"then\":{\"action\":\"fa"
     "il_items\"}}]}}",
     2, 43,
     "missing required key 'fail_items' in function.rules[0].then"},
    {"response_with_error",
     HK "\"mapping\":{},\"function\":{\"rules\":[{\"then\":{\"action\":\"er"
     "ror\",\"response\":\"x\"}}]}}",
     2, 61,
     "function.rules[0].then.response: only allowed with action 'ok'"},
    {"bad_enum",
     HK "\"mapping\":{\"starting_position\":\"OLDEST\"}}",
     2, 32,
     "mapping.starting_position: expected one of TRIM_HORIZON, LATEST, A"
     "T_TIMESTAMP, found 'OLDEST'"},
    {"trailing_comma",
     HK "\"mapping\":{\"enabled\":true,}}",
     2, 27,
     "unexpected character '}', expected a string key"},
    {"missing_comma",
     "{\"id\":\"t\",\"description\":\"d\",\"rules\":[\"GEN-1\" \"GEN-2\""
     "],\"tags\":[],\"requires\":[],\"source\":\"kinesis\",\n\"mapping\""
     ":{}}",
     1, 46,
     "unexpected character '\"', expected ',' or ']'"},
    {"missing_colon",
     HK "\"mapping\" {}}",
     2, 11,
     "unexpected character '{', expected ':'"},
    {"mismatched_bracket",
     HK "\"mapping\":{]}",
     2, 12,
     "unexpected character ']', expected a string key or '}'"},
    {"generate_too_many",
     HK "\"mapping\":{},\"generate\":[{\"prefix\":\"g\",\"count\":200001}]}",
     2, 48,
     "generate[0].count: must be between 1 and 200000, found 200001"},
    {"data_size_too_big",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r\",\"data_size\":10485761}]"
     "}",
     2, 47,
     "records[0].data_size: must be between 0 and 10485760"},
    {"unknown_top_key",
     HK "\"mapping\":{},\n  \"expected\":{}}",
     3, 3,
     "unknown key 'expected' in the case"},
    {"invalid_utf8",
     HK "\"mapping\":{\"on_failure\":\"a\xff\"}}",
     2, 27, "invalid UTF-8 in string"},
    /* Several mappings, functions, faults and trims (sections 13, 14). */
    {"mappings_empty",
     HK "\"mapping\":{},\"mappings\":[]}",
     2, 25,
     "mappings: must list 1 to 16 mappings, found 0"},
    {"mappings_too_many",
     HK "\"mapping\":{},\"mappings\":[{},{},{},{},{},{},{},{},{},{},{},{},{"
     "},{},{},{},{}]}",
     2, 25,
     "mappings: must list 1 to 16 mappings, found 17"},
    {"mappings_not_array",
     HK "\"mapping\":{},\"mappings\":{}}",
     2, 25,
     "mappings: expected an array, found an object"},
    {"mapping_not_object",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\"},5]}",
     2, 39,
     "mappings[1]: expected an object, found a number"},
    {"mapping_function_not_string",
     HK "\"mapping\":{},\"functions\":{\"f\":{}},\"mappings\":[{\"name\":\""
     "a\",\"function\":[\"f\"]}]}",
     2, 70,
     "mappings[0].function: expected a string, found an array"},
    {"mapping_name_missing",
     HK "\"mapping\":{},\"mappings\":[{\"batch_size\":1}]}",
     2, 26,
     "missing required key 'name' in mappings[0]"},
    {"mapping_name_pattern",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"Audit\"}]}",
     2, 34,
     "mappings[0].name: a mapping name must match [a-z0-9][a-z0-9-]* and be"
     " at most 40 characters, found 'Audit'"},
    {"mapping_name_long",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaa\"}]}",
     2, 34,
     "mappings[0].name: a mapping name must match"},
    {"mapping_name_main",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"main\"}]}",
     2, 34,
     "mappings[0].name: 'main' is the name of the case's mapping"},
    {"mapping_name_twice",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\"},{\"name\":\"b\"},{\""
     "name\":\"a\"}]}",
     2, 60,
     "mappings[2].name: mappings[0] is already named 'a'"},
    {"mapping_unknown_key",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\",\"bogus\":1}]}",
     2, 38,
     "unknown key 'bogus' in mappings[0]; expected one of: create_at_ms, en"
     "abled"},
    {"mapping_bad_config",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\",\"batch_size\":\"x\"}"
     "]}",
     2, 51,
     "mappings[0].batch_size: expected an integer, found a string"},
    {"mapping_bad_create_at",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\",\"create_at_ms\":-1}]"
     "}",
     2, 53,
     "mappings[0].create_at_ms: must be between 0 and"},
    {"mapping_unknown_function",
     HK "\"mapping\":{},\"functions\":{\"f\":{}},\"mappings\":[{\"name\":\""
     "a\",\"function\":\"g\"}]}",
     2, 70,
     "mappings[0].function: no entry of functions is named 'g'"},
    {"mapping_expect_unknown_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"mappings\":[{\"na"
     "me\":\"a\",\"expect\":{\"delivered\":[\"r1\",\"r9\"]}}]}",
     3, 53,
     "mappings[0].expect.delivered[1]: no record has id 'r9'"},
    {"mapping_expect_bad_key",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\",\"expect\":{\"invocat"
     "ion\":1}}]}",
     2, 48,
     "unknown key 'invocation' in mappings[0].expect"},
    {"functions_not_object",
     HK "\"mapping\":{},\"functions\":[]}",
     2, 26,
     "functions: expected an object, found an array"},
    {"function_name_pattern",
     HK "\"mapping\":{},\"functions\":{\"Slow\":{}}}",
     2, 27,
     "functions: a function name must match [a-z0-9][a-z0-9-]* and be at mo"
     "st 40 characters, found 'Slow'"},
    {"function_bad_timeout",
     HK "\"mapping\":{},\"functions\":{\"slow\":{\"timeout_s\":0}}}",
     2, 47,
     "functions.slow.timeout_s: must be between 1 and 900, found 0"},
    {"function_unknown_key",
     HK "\"mapping\":{},\"functions\":{\"slow\":{\"timeout\":1}}}",
     2, 35,
     "unknown key 'timeout' in functions.slow"},
    {"function_rule_unknown_id",
     HK "\"mapping\":{},\"records\":[{\"id\":\"r1\"}],\n\"functions\":{\"sl"
     "ow\":{\"rules\":[{\"when\":{\"contains\":[\"nope\"]},\"then\":{\"acti"
     "on\":\"ok\"}}]}}}",
     3, 52,
     "functions.slow.rules[0].when.contains[0]: no record has id 'nope'"},
    {"function_rule_missing_then",
     HK "\"mapping\":{},\"functions\":{\"slow\":{\"rules\":[{\"when\":{}}]}"
     "}}",
     2, 44,
     "missing required key 'then' in functions.slow.rules[0]"},
    {"event_mapping_unknown",
     HK "\"mapping\":{},\"mappings\":[{\"name\":\"a\"}],\n\"events\":[{\"at"
     "_ms\":1,\"mapping\":\"b\",\"restart\":true}]}",
     3, 32,
     "events[0].mapping: no mapping is named 'b' (the case's mappings: main"
     ", a)"},
    {"event_mapping_before_mappings",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"mapping\":\"c\",\"restar"
     "t\":true}],\n\"mappings\":[{\"name\":\"a\"},{\"name\":\"b\"}]}",
     2, 45,
     "events[0].mapping: no mapping is named 'c' (the case's mappings: main"
     ", a, b)"},
    {"event_mapping_wrong_kind",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"mapping\":\"main\",\"des"
     "tination\":\"down\"}]}",
     2, 35,
     "events[0].mapping: only allowed with update and restart"},
    {"event_mapping_on_fault",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\"},\"mapping\":\"main\"}]}",
     2, 87,
     "events[0].mapping: only allowed with update and restart (a fault name"
     "s its mapping inside its fault object)"},
    {"event_mapping_not_string",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"mapping\":0,\"restart\":"
     "true}]}",
     2, 45,
     "events[0].mapping: expected a string, found a number"},
    {"event_fault_and_trim",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\"},\"trim\":{}}]}",
     2, 87,
     "events[0]: give only one of update, restart, destination, split, merg"
     "e, rollover, fault and trim"},
    {"event_no_kind",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1}]}",
     2, 24,
     "events[0]: expected one of update, restart, destination, split, merge"
     ", rollover, fault and trim"},
    {"fault_not_object",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":true}]}",
     2, 43,
     "events[0].fault: expected an object, found a boolean"},
    {"fault_missing_calls",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"error\":\"ser"
     "vice\"}}]}",
     2, 43,
     "missing required key 'calls' in events[0].fault"},
    {"fault_missing_error",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"]}}]}",
     2, 43,
     "missing required key 'error' in events[0].fault"},
    {"fault_unknown_key",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"shard\":0}}]}",
     2, 86,
     "unknown key 'shard' in events[0].fault; expected one of: calls, error"
     ", until_ms, mapping, every"},
    {"fault_calls_empty",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[],\""
     "error\":\"service\"}}]}",
     2, 52,
     "events[0].fault.calls: must not be empty"},
    {"fault_calls_not_array",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":\"get"
     "_records\",\"error\":\"service\"}}]}",
     2, 52,
     "events[0].fault.calls: expected an array, found a string"},
    {"fault_call_unknown",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\",\"put_record\"],\"error\":\"service\"}}]}",
     2, 67,
     "events[0].fault.calls[1]: expected one of list_shards, get_shard_iter"
     "ator, get_records, send_to_destination, get_queue_attributes, receive"
     "_messages, delete_message, change_message_visibility, found 'put_reco"
     "rd'"},
    {"fault_call_twice",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\",\"list_shards\",\"get_records\"],\"error\":\"service\"}}]"
     "}",
     2, 81,
     "events[0].fault.calls[2]: 'get_records' is listed twice"},
    {"fault_queue_call_on_stream",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"re"
     "ceive_messages\"],\"error\":\"service\"}}]}",
     2, 53,
     "events[0].fault.calls[0]: 'receive_messages' is a queue call, not all"
     "owed for a stream source"},
    {"fault_stream_call_on_queue",
     HQ "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"de"
     "lete_message\",\"list_shards\"],\"error\":\"service\"}}]}",
     2, 70,
     "events[0].fault.calls[1]: 'list_shards' is a stream call, not allowed"
     " for a queue source"},
    {"fault_bad_error",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"slow\"}}]}",
     2, 76,
     "events[0].fault.error: expected one of throttled, service, access_den"
     "ied, expired_iterator, found 'slow'"},
    {"fault_expired_iterator_calls",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\",\"list_shards\"],\"error\":\"expired_iterator\"}}]}",
     2, 90,
     "events[0].fault.error: 'expired_iterator' needs calls to be exactly ["
     "\"get_records\"]"},
    {"fault_expired_iterator_queue",
     HQ "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"re"
     "ceive_messages\"],\"error\":\"expired_iterator\"}}]}",
     2, 81,
     "events[0].fault.error: 'expired_iterator' needs calls to be exactly"},
    {"fault_until_not_after",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":5,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"until_ms\":5}}]}",
     2, 97,
     "events[0].fault.until_ms: must be after the event's at_ms (5), found "
     "5"},
    {"fault_until_negative",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":5,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"until_ms\":-1}}]}",
     2, 97,
     "events[0].fault.until_ms: must be between 0 and 10000000000000, found"
     " -1"},
    {"fault_every_zero",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"every\":0}}]}",
     2, 94,
     "events[0].fault.every: must be between 1 and 1000, found 0"},
    {"fault_every_big",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"every\":1001}}]}",
     2, 94,
     "events[0].fault.every: must be between 1 and 1000, found 1001"},
    {"fault_mapping_unknown",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\",\"mapping\":\"audit\"}}]}",
     2, 96,
     "events[0].fault.mapping: no mapping is named 'audit' (the case's mapp"
     "ings: main)"},
    {"fault_expect_error",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"fault\":{\"calls\":[\"ge"
     "t_records\"],\"error\":\"service\"},\"expect_error\":\"X\"}]}",
     2, 87,
     "events[0].expect_error: only allowed with update"},
    {"trim_on_queue",
     HQ "\"mapping\":{},\"events\":[{\"at_ms\":1,\"trim\":{}}]}",
     2, 35,
     "events[0].trim: not allowed for a queue source"},
    {"trim_not_object",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"trim\":[]}]}",
     2, 42,
     "events[0].trim: expected an object, found an array"},
    {"trim_unknown_key",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"trim\":{\"shards\":[0]}}"
     "]}",
     2, 43,
     "unknown key 'shards' in events[0].trim; expected one of: shard, befor"
     "e_ms"},
    {"trim_shard_range",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1,\"trim\":{\"shard\":1}}]}",
     2, 51,
     "events[0].trim.shard: must be between 0 and 0, found 1"},
    {"trim_shard_not_yet",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1000,\"trim\":{\"shard\":2}}"
     ",\n{\"at_ms\":2000,\"split\":{\"shard\":0}}]}",
     2, 54,
     "events[0].trim.shard: shard 2 does not exist at t=1000 ms (the stream"
     " has 1 shard by then)"},
    {"trim_shard_later_event",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":1000,\"split\":{\"shard\":0}"
     "},{\"at_ms\":1000,\"trim\":{\"shard\":2}},\n{\"at_ms\":1500,\"trim\":"
     "{\"shard\":3}},{\"at_ms\":2000,\"rollover\":{\"shard\":1}}]}",
     3, 31,
     "events[2].trim.shard: shard 3 does not exist at t=1500 ms (the stream"
     " has 3 shards by then)"},
    {"trim_before_after_at",
     HK "\"mapping\":{},\"events\":[{\"at_ms\":5,\"trim\":{\"before_ms\":6}"
     "}]}",
     2, 55,
     "events[0].trim.before_ms: must be between 0 and 5, found 6"},
};

static void check_bad(const struct bad_case *c, size_t len)
{
  struct esmc_scenario s;
  struct esmc_load_error err;
  int rc = esmc_case_load_buf(c->json, len, "bad.json", &s, &err);
  if(rc != -1 || err.line != c->line || err.column != c->column ||
     !strstr(err.message, c->message)) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    fail_msg("case %s: rc %d, got '%s', want %d:%d '%s'", c->name, rc, msg,
             c->line, c->column, c->message);
  }
  assert_string_equal(err.file, "bad.json");
  assert_null(s.id);
  assert_null(s.records);
  assert_null(s.stream_name);
}

static void test_bad_inputs(void **state)
{
  size_t i;
  (void)state;
  assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 25);
  for(i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
    check_bad(&bad_cases[i], strlen(bad_cases[i].json));
}

static void test_embedded_nul(void **state)
{
  static const char text[] = "{\"id\":\"t\"\0}";
  struct bad_case c = {"nul", text, 1, 10, "unexpected byte 0x00"};
  (void)state;
  check_bad(&c, sizeof(text) - 1);
}

static void test_error_format(void **state)
{
  struct esmc_load_error e;
  char buf[64];
  (void)state;
  memset(&e, 0, sizeof(e));
  snprintf(e.file, sizeof(e.file), "cases/x.json");
  snprintf(e.message, sizeof(e.message), "boom");
  esmc_load_error_format(&e, buf, sizeof(buf));
  assert_string_equal(buf, "cases/x.json: boom");
  e.line = 3;
  e.column = 7;
  esmc_load_error_format(&e, buf, sizeof(buf));
  assert_string_equal(buf, "cases/x.json:3:7: boom");
  esmc_load_error_format(&e, buf, 5);
  assert_string_equal(buf, "case");
}

static void test_file_errors(void **state)
{
  char path[1024], msg[1200];
  struct esmc_scenario s;
  struct esmc_load_error err;
  (void)state;
  data_path(path, sizeof(path), "loader-mismatch.json");
  assert_int_equal(esmc_case_load_file(path, &s, &err), -1);
  assert_string_equal(err.file, path);
  assert_int_equal(err.line, 2);
  assert_int_equal(err.column, 9);
  assert_non_null(strstr(err.message, "id: 'loader-other' does not match the "
                                      "file name (expected "
                                      "'loader-mismatch')"));
  assert_null(s.id);
  assert_null(s.path);
  esmc_load_error_format(&err, msg, sizeof(msg));
  assert_non_null(strstr(msg, "loader-mismatch.json:2:9: id: "));

  data_path(path, sizeof(path), "no-such-case.json");
  assert_int_equal(esmc_case_load_file(path, &s, &err), -1);
  assert_int_equal(err.line, 0);
  assert_non_null(strstr(err.message, "cannot open"));

  /* The same text through load_buf has no file name to match. */
  {
    size_t len;
    char *buf = read_data("loader-mismatch.json", &len);
    assert_int_equal(esmc_case_load_buf(buf, len, NULL, &s, &err), 0);
    assert_string_equal(s.id, "loader-other");
    assert_null(s.path);
    esmc_scenario_free(&s);
    esmc_free(buf);
  }
}

static void test_file_too_large(void **state)
{
  size_t len = (size_t)ESMC_CASE_MAX_FILE + 1;
  char *buf = malloc(len);
  struct esmc_scenario s;
  struct esmc_load_error err;
  (void)state;
  assert_non_null(buf);
  memset(buf, ' ', len);
  assert_int_equal(esmc_case_load_buf(buf, len, "big.json", &s, &err), -1);
  assert_int_equal(err.line, 0);
  assert_non_null(strstr(err.message, "file too large"));
  free(buf);
}

/* ------------------------------------------------------------------------ */
/* Robustness: truncations, mutations, random bytes, allocation failures.    */

static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t xorshift(void)
{
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return x;
}

/* Load; the result must be a success or an error with a position. */
static int load_checked(const char *buf, size_t len)
{
  struct esmc_scenario s;
  struct esmc_load_error err;
  int rc = esmc_case_load_buf(buf, len, "fuzz.json", &s, &err);
  if(rc == 0) {
    esmc_scenario_free(&s);
    return 0;
  }
  assert_int_equal(rc, -1);
  assert_null(s.id);
  if(err.line < 1) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    fail_msg("error without a position: %s", msg);
  }
  assert_true(err.column >= 1);
  assert_true(err.message[0] != '\0');
  return -1;
}

static void test_truncations(void **state)
{
  static const char *const files[] = {"loader-full.json", "loader-ddb.json",
                                      "loader-mappings.json",
                                      "loader-faults-sqs.json"};
  size_t f;
  (void)state;
  for(f = 0; f < COUNT_OF(files); f++) {
    size_t len, n, fails = 0;
    char *good = read_data(files[f], &len);
    for(n = 0; n < len; n++) {
      /* An exact-size copy so that ASan sees any read past the end. */
      char *p = malloc(n ? n : 1);
      assert_non_null(p);
      memcpy(p, good, n);
      if(load_checked(p, n) < 0)
        fails++;
      free(p);
    }
    /* Only the copy without the final newline is complete. */
    assert_int_equal(fails, len - 1);
    esmc_free(good);
  }
}

static void mutate_file(const char *name)
{
  static const char interesting[] = "{}[]:,\"\\/0123456789-+.eEtfnu ";
  size_t len, i;
  char *good = read_data(name, &len);
  int ok = 0;
  for(i = 0; i < 2000; i++) {
    char *p = malloc(len + 8);
    size_t n = len, m, edits = 1 + xorshift() % 4;
    assert_non_null(p);
    memcpy(p, good, len);
    for(m = 0; m < edits && n > 0; m++) {
      size_t at = (size_t)(xorshift() % n);
      uint64_t what = xorshift() % 4;
      char c = (xorshift() & 1) ? (char)(xorshift() & 0xFF)
                                : interesting[xorshift() %
                                              (sizeof(interesting) - 1)];
      if(what == 0) {
        p[at] = c;
      }
      else if(what == 1) {
        memmove(p + at, p + at + 1, n - at - 1);
        n--;
      }
      else if(what == 2 && n < len + 8) {
        memmove(p + at + 1, p + at, n - at);
        p[at] = c;
        n++;
      }
      else {
        p[at] = (char)(p[at] ^ (1 << (xorshift() % 8)));
      }
    }
    if(load_checked(p, n) == 0)
      ok++;
    free(p);
  }
  /* Some mutations (inside strings, say) still load. */
  assert_true(ok > 0);
  esmc_free(good);
}

static void test_mutations(void **state)
{
  (void)state;
  rng_state = UINT64_C(0x2545F4914F6CDD1D);
  mutate_file("loader-full.json");
  mutate_file("loader-mappings.json");
}

static void test_random_bytes(void **state)
{
  size_t i, j;
  (void)state;
  rng_state = UINT64_C(0xD1B54A32D192ED03);
  for(i = 0; i < 500; i++) {
    size_t n = (size_t)(xorshift() % 300);
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    for(j = 0; j < n; j++)
      p[j] = (i & 1) ? (char)(xorshift() & 0xFF)
                     : "{}[]:,\"\\0-1e.tfn a"[xorshift() % 18];
    if(n > 0 && (i & 2))
      p[0] = '{';
    load_checked(p, n);
    free(p);
  }
}

/* Fail each allocation in turn: an OOM error, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
  static const char *const files[] = {"loader-full.json", "loader-ddb.json",
                                      "loader-mappings.json",
                                      "loader-faults-sqs.json"};
  size_t f;
  (void)state;
  for(f = 0; f < COUNT_OF(files); f++) {
    size_t len;
    char *good = read_data(files[f], &len);
    uint64_t n;
    for(n = 1; n < 100000; n++) {
      struct esmc_scenario s;
      struct esmc_load_error err;
      int rc;
      esmc_alloc_fail_at(n);
      rc = esmc_case_load_buf(good, len, "oom.json", &s, &err);
      esmc_alloc_fail_at(0);
      if(rc == 0) {
        esmc_scenario_free(&s);
        break;
      }
      if(strcmp(err.message, "out of memory") != 0)
        fail_msg("allocation %u: %s", (unsigned)n, err.message);
      assert_null(s.id);
    }
    assert_true(n < 100000);
    esmc_free(good);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scenario_defaults),
      cmocka_unit_test(test_cap_names),
      cmocka_unit_test(test_json_layer),
      cmocka_unit_test(test_load_full),
      cmocka_unit_test(test_load_dynamodb),
      cmocka_unit_test(test_load_mappings),
      cmocka_unit_test(test_load_faults_sqs),
      cmocka_unit_test(test_roundtrip_new_keys),
      cmocka_unit_test(test_write_unrepresentable),
      cmocka_unit_test(test_mapping_helpers),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_embedded_nul),
      cmocka_unit_test(test_error_format),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_file_too_large),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_mutations),
      cmocka_unit_test(test_random_bytes),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests_name("harness.case_load", tests, NULL, NULL);
}

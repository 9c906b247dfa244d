/*
 * test_reference.c: unit tests of the reference mapper's internals (response
 * parser, sequence compare, configuration validation, payloads) and small
 * end-to-end runs against a fake host with a virtual clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "esmcheck_adapter.h"
#include "ref_internal.h"

const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

/* ------------------------------------------------------------------------ */
/* JSON helpers for checking what the mapper wrote. */

struct tj {
  const char *js;
  jsmntok_t tok[4096];
  int n;
};

static void tj_parse(struct tj *t, const char *js, size_t len)
{
  jsmn_parser p;

  t->js = js;
  jsmn_init(&p);
  t->n = jsmn_parse(&p, js, len, t->tok, 4096);
  assert_true(t->n > 0);
  assert_true(ref_json_valid(js, len));
}

static int tj_skip(const struct tj *t, int i)
{
  int pending = 1;

  while(pending > 0 && i < t->n) {
    if(t->tok[i].type == JSMN_OBJECT)
      pending += 2 * t->tok[i].size;
    else if(t->tok[i].type == JSMN_ARRAY)
      pending += t->tok[i].size;
    pending--;
    i++;
  }
  return i;
}

/* The value token of key in object token obj, or -1. */
static int tj_get(const struct tj *t, int obj, const char *key)
{
  int i = obj + 1, k;

  if(obj < 0 || t->tok[obj].type != JSMN_OBJECT)
    return -1;
  for(k = 0; k < t->tok[obj].size; k++) {
    int len = t->tok[i].end - t->tok[i].start;
    if((size_t)len == strlen(key) &&
       memcmp(t->js + t->tok[i].start, key, (size_t)len) == 0)
      return i + 1;
    i = tj_skip(t, i + 1);
  }
  return -1;
}

/* Element idx of array token arr. */
static int tj_at(const struct tj *t, int arr, int idx)
{
  int i = arr + 1, k;

  if(arr < 0 || t->tok[arr].type != JSMN_ARRAY || idx >= t->tok[arr].size)
    return -1;
  for(k = 0; k < idx; k++)
    i = tj_skip(t, i);
  return i;
}

static int tj_eq(const struct tj *t, int i, const char *text)
{
  int len;

  if(i < 0)
    return 0;
  len = t->tok[i].end - t->tok[i].start;
  return (size_t)len == strlen(text) &&
         memcmp(t->js + t->tok[i].start, text, (size_t)len) == 0;
}

/* ------------------------------------------------------------------------ */
/* Response parser. */

static const char *const SEQS[] = {"98", "99", "100", "101", "1000"};
#define NSEQ 5

static int parse(const char *body)
{
  size_t idx = 999;
  return ref_parse_batch_response((const uint8_t *)body, strlen(body), SEQS,
                                  NSEQ, &idx);
}

static void test_response_success(void **state)
{
  static const char *const ok[] = {
    "", "   \n\t ", "\"\"", "null", "[]", "[ ]", "{}", " {} ",
    "{\"foo\":[1,2]}", "{\"batchItemFailures\":null}",
    "{\"batchItemFailures\":[]}", "{\"batchItemFailures\" : [ ] }",
    "{\"other\":{\"batchItemFailures\":[{\"x\":1}]}}",
  };
  size_t i;

  (void)state;
  for(i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    if(parse(ok[i]) != REF_RESPONSE_SUCCESS)
      fail_msg("expected success for <%s>", ok[i]);
  }
  /* A NULL or empty body, and no ReportBatchItemFailures list at all. */
  assert_int_equal(ref_parse_batch_response(NULL, 0, SEQS, NSEQ, NULL),
                   REF_RESPONSE_SUCCESS);
}

static void test_response_invalid(void **state)
{
  static const char *const bad[] = {
    "{", "{\"batchItemFailures\":[}", "nul", "{\"a\":1,}", "[1,]", "{} {}",
    "01", "{\"a\":tru}", "\"x\"", "42", "true", "[1]",
    "{\"batchItemFailures\":{}}", "{\"batchItemFailures\":\"98\"}",
    "{\"batchItemFailures\":1}", "{\"batchItemFailures\":[1]}",
    "{\"batchItemFailures\":[\"98\"]}", "{\"batchItemFailures\":[null]}",
    "{\"batchItemFailures\":[{}]}", "{\"batchItemFailures\":[{\"foo\":123}]}",
    "{\"batchItemFailures\":[{\"foo\":null}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":null}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":98}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"97\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"098\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"99\"},{\"itemIdentifier\":\"5\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":[\"99\"]}]}",
    "{\"batchItemFailures\":[{\"itemidentifier\":\"99\"}]}",
  };
  size_t i;

  (void)state;
  for(i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if(parse(bad[i]) != REF_RESPONSE_INVALID)
      fail_msg("expected invalid for <%s>", bad[i]);
  }
  /* Embedded NUL bytes are not JSON. */
  assert_int_equal(ref_parse_batch_response((const uint8_t *)"{}\0", 3, SEQS,
                                            NSEQ, NULL),
                   REF_RESPONSE_INVALID);
}

static void test_response_partial(void **state)
{
  size_t idx = 999;
  const char *b1 = "{\"batchItemFailures\":[{\"itemIdentifier\":\"1000\"},"
                   "{\"itemIdentifier\":\"99\"},{\"itemIdentifier\":\"100\"}]}";
  const char *b2 = "{\"batchItemFailures\":[{\"itemIdentifier\":\"98\"}]}";
  const char *b3 = "{\"batchItemFailures\":[{\"itemIdentifier\":\"\\u0031\\u0030"
                   "1\", \"extra\": true}], \"batchItemFailures2\": 1}";
  const char *b4 = "{\"batchItemFailures\":[{\"itemIdentifier\":\"98\"}],"
                   "\"batchItemFailures\":[{\"itemIdentifier\":\"1000\"}]}";

  (void)state;
  assert_int_equal(ref_parse_batch_response((const uint8_t *)b1, strlen(b1),
                                            SEQS, NSEQ, &idx),
                   REF_RESPONSE_PARTIAL);
  assert_int_equal(idx, 1); /* "99" is lower than "100" and "1000". */
  assert_int_equal(ref_parse_batch_response((const uint8_t *)b2, strlen(b2),
                                            SEQS, NSEQ, &idx),
                   REF_RESPONSE_PARTIAL);
  assert_int_equal(idx, 0);
  assert_int_equal(ref_parse_batch_response((const uint8_t *)b3, strlen(b3),
                                            SEQS, NSEQ, &idx),
                   REF_RESPONSE_PARTIAL);
  assert_int_equal(idx, 3); /* Escapes decode to "101". */
  /* A duplicated key: the last one wins, like common JSON readers. */
  assert_int_equal(ref_parse_batch_response((const uint8_t *)b4, strlen(b4),
                                            SEQS, NSEQ, &idx),
                   REF_RESPONSE_PARTIAL);
  assert_int_equal(idx, 4);
}

static void test_seq_compare(void **state)
{
  (void)state;
  assert_true(ref_seq_compare("9", "10") < 0);
  assert_true(ref_seq_compare("10", "9") > 0);
  assert_int_equal(ref_seq_compare("123", "123"), 0);
  assert_int_equal(ref_seq_compare("0123", "123"), 0);
  assert_true(ref_seq_compare("49590338271490256608559692538361571095921575989136588898",
                              "49590338271490256608559692538361571095921575989136588899") < 0);
  assert_true(ref_seq_compare("100000000000000000000000000000", "99999999999999999999") > 0);
  assert_true(ref_seq_compare("0", "1") < 0);
  assert_true(ref_seq_compare(NULL, "1") < 0);
  assert_int_equal(ref_seq_compare(NULL, NULL), 0);
}

static int valid(const char *s)
{
  return ref_json_valid(s, strlen(s));
}

static void test_json_valid(void **state)
{
  (void)state;
  assert_true(valid("{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\"]}"));
  assert_true(valid(" [ {} , [] , 0.5 , -0 , 1E+2 ] "));
  assert_false(valid("[01]"));
  assert_false(valid("{1:2}"));
  assert_false(ref_json_valid("{\"a\":\"\\x\"}", 10));
  assert_false(ref_json_valid("\"a\nb\"", 5));
  assert_false(ref_json_valid("1.", 2));
  assert_false(ref_json_valid("-", 1));
  assert_false(ref_json_valid("", 0));
}

/* ------------------------------------------------------------------------ */
/* Configuration validation. */

static struct esmc_mapping_config base_cfg(enum esmc_source src)
{
  struct esmc_mapping_config c;

  memset(&c, 0, sizeof(c));
  c.abi_version = ESMC_ABI_VERSION;
  c.struct_size = sizeof(c);
  c.source = src;
  c.uuid = "a1b2c3d4-0000-4000-8000-000000000001";
  c.event_source_arn = src == ESMC_SOURCE_DYNAMODB
                         ? "arn:aws:dynamodb:us-east-1:000000000000:table/t/"
                           "stream/2024-01-01T00:00:00.000"
                         : "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  c.function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  c.role_arn = "arn:aws:iam::000000000000:role/r";
  c.region = "us-east-1";
  c.enabled = ESMC_UNSET;
  c.batch_size = ESMC_UNSET;
  c.maximum_batching_window_s = ESMC_UNSET;
  c.starting_position = ESMC_START_TRIM_HORIZON;
  c.parallelization_factor = ESMC_UNSET;
  c.maximum_retry_attempts = ESMC_UNSET;
  c.maximum_record_age_s = ESMC_UNSET;
  c.bisect_batch_on_function_error = ESMC_UNSET;
  c.tumbling_window_s = ESMC_UNSET;
  c.function_timeout_s = 3;
  return c;
}

static esmc_status validate(const struct esmc_mapping_config *c,
                            struct esmc_error *err)
{
  memset(err, 0, sizeof(*err));
  return ref_config_validate(c, NULL, 0, 1704067200000, err);
}

static void test_config_defaults(void **state)
{
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct ref_config rc;
  struct esmc_error err;

  (void)state;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  assert_int_equal(ref_config_from_create(&rc, &c), ESMC_OK);
  assert_int_equal(rc.batch_size, 100);
  assert_int_equal(rc.window_s, 0);
  assert_int_equal(rc.parallelization_factor, 1);
  assert_int_equal(rc.maximum_retry_attempts, -1);
  assert_int_equal(rc.maximum_record_age_s, -1);
  assert_int_equal(rc.bisect, 0);
  assert_int_equal(rc.enabled, 1);
  assert_null(rc.destination);
  ref_config_free(&rc);
  /* Streams take BatchSize above 10 without a window (CONTRA-6). */
  c.batch_size = 500;
  c.maximum_batching_window_s = 0;
  assert_int_equal(validate(&c, &err), ESMC_OK);
}

static void test_config_ranges(void **state)
{
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct esmc_error err;

  (void)state;
  c.batch_size = 0;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  assert_string_equal(err.message,
                      "1 validation error detected: Value '0' at 'batchSize' "
                      "failed to satisfy constraint: Member must have value "
                      "greater than or equal to 1");
  c.batch_size = 10001;
  c.maximum_batching_window_s = 301;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  assert_string_equal(
    err.message,
    "2 validation errors detected: Value '10001' at 'batchSize' failed to "
    "satisfy constraint: Member must have value less than or equal to 10000; "
    "Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy "
    "constraint: Member must have value less than or equal to 300");
  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.parallelization_factor = 11;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_non_null(strstr(err.message, "'parallelizationFactor'"));
  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.maximum_retry_attempts = -2;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_non_null(strstr(err.message, "Value '-2' at 'maximumRetryAttempts'"));
  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.maximum_record_age_s = 604801;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.tumbling_window_s = 901;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_non_null(strstr(err.message, "'tumblingWindowInSeconds'"));
}

static void test_config_rules(void **state)
{
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct esmc_error err;

  (void)state;
  c.maximum_record_age_s = 59;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  c.maximum_record_age_s = 60;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.maximum_record_age_s = -1;
  assert_int_equal(validate(&c, &err), ESMC_OK);

  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.starting_position = ESMC_START_UNSET;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_string_equal(err.message,
                      "1 validation error detected: Value null at "
                      "'startingPosition' failed to satisfy constraint: "
                      "Member must not be null.");

  c = base_cfg(ESMC_SOURCE_DYNAMODB);
  c.starting_position = ESMC_START_AT_TIMESTAMP;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.message,
                      "Unsupported starting position for arn type: "
                      "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/"
                      "2024-01-01T00:00:00.000");

  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.starting_position = ESMC_START_AT_TIMESTAMP;
  c.starting_position_timestamp_ms = 1704067200000;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.starting_position_timestamp_ms = 1704067200001;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");

  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.on_failure_destination = "arn:aws:sqs:us-east-1:000000000000:dlq";
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.on_failure_destination = "arn:aws:sns:us-east-1:000000000000:topic";
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.on_failure_destination = "arn:aws:s3:::bucket";
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.on_failure_destination = "";
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.on_failure_destination = "arn:aws:lambda:us-east-1:000000000000:function:x";
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");

  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.function_response_types_given = 1;
  c.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.function_response_types = 2;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");

  /* ParallelizationFactor and tumbling windows, but not both (TW-9). */
  c = base_cfg(ESMC_SOURCE_KINESIS);
  c.parallelization_factor = 10;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c = base_cfg(ESMC_SOURCE_DYNAMODB);
  c.tumbling_window_s = 900;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.tumbling_window_s = 0;
  assert_int_equal(validate(&c, &err), ESMC_OK);
  c.tumbling_window_s = 60;
  c.parallelization_factor = 2;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_non_null(strstr(err.message, "ParallelizationFactor"));
  {
    struct ref_config cur;
    struct esmc_mapping_config u = base_cfg(ESMC_SOURCE_KINESIS);
    c = base_cfg(ESMC_SOURCE_KINESIS);
    c.tumbling_window_s = 30;
    assert_int_equal(ref_config_from_create(&cur, &c), ESMC_OK);
    u.starting_position = ESMC_START_UNSET;
    u.parallelization_factor = 3; /* The result would combine them. */
    assert_int_equal(ref_config_validate(&u, &cur, 1, 0, &err),
                     ESMC_E_INVALID_PARAMETER);
    u.tumbling_window_s = 0; /* Turning the window off at once is fine. */
    assert_int_equal(ref_config_validate(&u, &cur, 1, 0, &err), ESMC_OK);
    ref_config_free(&cur);
  }
  c = base_cfg(ESMC_SOURCE_KINESIS);
  {
    static const char *const pats[] = {"{\"data\":{\"a\":[1]}}"};
    c.filter_patterns = pats;
    c.filter_count = 1;
    c.filter_criteria_given = 1;
  }
  assert_int_equal(validate(&c, &err), ESMC_OK); /* FILTER-10 */
  /* SQS is supported (ref_sqs.c); StartingPosition is stream-only. */
  c = base_cfg(ESMC_SOURCE_SQS);
  c.maximum_concurrency = ESMC_UNSET;
  assert_int_equal(validate(&c, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
}

static void test_config_update(void **state)
{
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS), u;
  struct ref_config cur, next;
  struct esmc_error err;

  (void)state;
  assert_int_equal(ref_config_from_create(&cur, &c), ESMC_OK);
  u = base_cfg(ESMC_SOURCE_KINESIS);
  u.starting_position = ESMC_START_UNSET; /* Not an update member. */
  u.batch_size = 0;
  assert_int_equal(ref_config_validate(&u, &cur, 1, 0, &err),
                   ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  u.batch_size = 7;
  u.on_failure_destination = "arn:aws:sqs:us-east-1:000000000000:q";
  assert_int_equal(ref_config_validate(&u, &cur, 1, 0, &err), ESMC_OK);
  assert_int_equal(ref_config_from_update(&next, &cur, &u), ESMC_OK);
  assert_int_equal(next.batch_size, 7);
  assert_int_equal(next.maximum_retry_attempts, -1);
  assert_string_equal(next.destination, "arn:aws:sqs:us-east-1:000000000000:q");
  ref_config_free(&cur);
  u = base_cfg(ESMC_SOURCE_KINESIS);
  u.on_failure_destination = ""; /* Removes the destination. */
  assert_int_equal(ref_config_from_update(&cur, &next, &u), ESMC_OK);
  assert_null(cur.destination);
  assert_int_equal(cur.batch_size, 7);
  ref_config_free(&cur);
  ref_config_free(&next);
}

/* ------------------------------------------------------------------------ */
/* Payloads. */

static struct ref_config test_rcfg(enum esmc_source src)
{
  struct esmc_mapping_config c = base_cfg(src);
  struct ref_config rc;

  assert_int_equal(ref_config_from_create(&rc, &c), ESMC_OK);
  return rc;
}

static void test_payload_kinesis(void **state)
{
  struct ref_config rc = test_rcfg(ESMC_SOURCE_KINESIS);
  struct esmc_record r[2];
  const struct esmc_record *rp[2] = {&r[0], &r[1]};
  struct ref_buf b;
  struct tj *t = malloc(sizeof(*t));
  int recs, k, kin;

  (void)state;
  memset(r, 0, sizeof(r));
  memset(&b, 0, sizeof(b));
  r[0].shard_id = "shardId-000000000000";
  r[0].sequence_number = "49590338271490256608559692538361571095921575989136588898";
  r[0].partition_key = "pk \"quoted\"\n";
  r[0].data = (const uint8_t *)"Hello, this is a test.";
  r[0].data_len = 22;
  r[0].approximate_arrival_ms = 1704067200123;
  r[1] = r[0];
  r[1].sequence_number = "49590338271490256608559692538361571095921575989136588899";
  r[1].data = (const uint8_t *)"ab";
  r[1].data_len = 2;
  r[1].approximate_arrival_ms = 1704067200005;
  ref_build_event(&b, &rc, rp, 2);
  assert_false(b.oom);
  assert_int_equal(b.len, REF_EVENT_OVERHEAD + 1 + ref_record_json_len(&rc, &r[0]) +
                            ref_record_json_len(&rc, &r[1]));
  tj_parse(t, b.data, b.len);
  recs = tj_get(t, 0, "Records");
  assert_int_equal(t->tok[recs].size, 2);
  k = tj_at(t, recs, 0);
  kin = tj_get(t, k, "kinesis");
  assert_true(tj_eq(t, tj_get(t, kin, "kinesisSchemaVersion"), "1.0"));
  assert_true(tj_eq(t, tj_get(t, kin, "partitionKey"), "pk \\\"quoted\\\"\\n"));
  assert_true(tj_eq(t, tj_get(t, kin, "sequenceNumber"), r[0].sequence_number));
  assert_true(tj_eq(t, tj_get(t, kin, "data"), "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg=="));
  assert_true(tj_eq(t, tj_get(t, kin, "approximateArrivalTimestamp"),
                    "1704067200.123"));
  assert_int_equal(t->tok[tj_get(t, kin, "approximateArrivalTimestamp")].type,
                   JSMN_PRIMITIVE);
  assert_true(tj_eq(t, tj_get(t, k, "eventSource"), "aws:kinesis"));
  assert_true(tj_eq(t, tj_get(t, k, "eventVersion"), "1.0"));
  assert_true(tj_eq(t, tj_get(t, k, "eventID"),
                    "shardId-000000000000:"
                    "49590338271490256608559692538361571095921575989136588898"));
  assert_true(tj_eq(t, tj_get(t, k, "eventName"), "aws:kinesis:record"));
  assert_true(tj_eq(t, tj_get(t, k, "invokeIdentityArn"),
                    "arn:aws:iam::000000000000:role/r"));
  assert_true(tj_eq(t, tj_get(t, k, "awsRegion"), "us-east-1"));
  assert_true(tj_eq(t, tj_get(t, k, "eventSourceARN"),
                    "arn:aws:kinesis:us-east-1:000000000000:stream/s"));
  k = tj_at(t, recs, 1);
  kin = tj_get(t, k, "kinesis");
  assert_true(tj_eq(t, tj_get(t, kin, "data"), "YWI="));
  assert_true(tj_eq(t, tj_get(t, kin, "approximateArrivalTimestamp"),
                    "1704067200.005"));
  ref_buf_free(&b);
  ref_config_free(&rc);
  free(t);
}

static void test_payload_dynamodb(void **state)
{
  struct ref_config rc = test_rcfg(ESMC_SOURCE_DYNAMODB);
  struct esmc_record r;
  const struct esmc_record *rp[1] = {&r};
  struct ref_buf b;
  struct tj *t = malloc(sizeof(*t));
  int k, d;

  (void)state;
  memset(&r, 0, sizeof(r));
  memset(&b, 0, sizeof(b));
  r.shard_id = "shardId-00000001";
  r.sequence_number = "111";
  r.event_id = "c4ca4238a0b923820dcc509a6f75849b";
  r.ddb_event_name = ESMC_DDB_INSERT;
  r.ddb_keys_json = "{\"Id\":{\"N\":\"101\"}}";
  r.ddb_new_image_json = "{\"Id\":{\"N\":\"101\"},\"Message\":{\"S\":\"New item!\"}}";
  r.ddb_stream_view_type = "NEW_AND_OLD_IMAGES";
  r.ddb_size_bytes = 26;
  r.approximate_arrival_ms = 1704067200999;
  ref_build_event(&b, &rc, rp, 1);
  tj_parse(t, b.data, b.len);
  k = tj_at(t, tj_get(t, 0, "Records"), 0);
  assert_true(tj_eq(t, tj_get(t, k, "eventID"), r.event_id));
  assert_true(tj_eq(t, tj_get(t, k, "eventName"), "INSERT"));
  assert_true(tj_eq(t, tj_get(t, k, "eventVersion"), "1.1"));
  assert_true(tj_eq(t, tj_get(t, k, "eventSource"), "aws:dynamodb"));
  assert_true(tj_eq(t, tj_get(t, k, "awsRegion"), "us-east-1"));
  assert_true(tj_eq(t, tj_get(t, k, "eventSourceARN"), rc.event_source_arn));
  d = tj_get(t, k, "dynamodb");
  assert_true(tj_eq(t, tj_get(t, d, "ApproximateCreationDateTime"), "1704067200"));
  assert_true(tj_eq(t, tj_get(t, d, "Keys"), r.ddb_keys_json));
  assert_true(tj_eq(t, tj_get(t, d, "NewImage"), r.ddb_new_image_json));
  assert_int_equal(tj_get(t, d, "OldImage"), -1);
  assert_true(tj_eq(t, tj_get(t, d, "SequenceNumber"), "111"));
  assert_int_equal(t->tok[tj_get(t, d, "SequenceNumber")].type, JSMN_STRING);
  assert_true(tj_eq(t, tj_get(t, d, "SizeBytes"), "26"));
  assert_true(tj_eq(t, tj_get(t, d, "StreamViewType"), "NEW_AND_OLD_IMAGES"));
  ref_buf_free(&b);
  ref_config_free(&rc);
  free(t);
}

static void test_failure_record(void **state)
{
  struct ref_config rc = test_rcfg(ESMC_SOURCE_DYNAMODB);
  struct esmc_record r[2];
  const struct esmc_record *rp[2] = {&r[0], &r[1]};
  struct ref_failure f;
  struct ref_buf b;
  struct tj *t = malloc(sizeof(*t));
  int rq, bi;
  char key[512], uuid1[40], uuid2[40];

  (void)state;
  memset(r, 0, sizeof(r));
  memset(&b, 0, sizeof(b));
  memset(&f, 0, sizeof(f));
  r[0].sequence_number = "5";
  r[0].approximate_arrival_ms = 1573692799123;
  r[1].sequence_number = "12";
  r[1].approximate_arrival_ms = 1573692800999;
  f.condition = "RecordAgeExceeded";
  f.request_id = "rid";
  f.invoke_count = 1;
  f.now = 1573692804835;
  f.shard_id = "shardId-000000000001";
  f.records = rp;
  f.n = 2;
  ref_build_failure_record(&b, &rc, &f);
  tj_parse(t, b.data, b.len);
  rq = tj_get(t, 0, "requestContext");
  assert_true(tj_eq(t, tj_get(t, rq, "requestId"), "rid"));
  assert_true(tj_eq(t, tj_get(t, rq, "functionArn"), rc.function_arn));
  assert_true(tj_eq(t, tj_get(t, rq, "condition"), "RecordAgeExceeded"));
  assert_true(tj_eq(t, tj_get(t, rq, "approximateInvokeCount"), "1"));
  assert_int_equal(tj_get(t, 0, "responseContext"), -1);
  assert_true(tj_eq(t, tj_get(t, 0, "version"), "1.0"));
  assert_true(tj_eq(t, tj_get(t, 0, "timestamp"), "2019-11-14T00:53:24.835Z"));
  bi = tj_get(t, 0, "DDBStreamBatchInfo");
  assert_true(tj_eq(t, tj_get(t, bi, "shardId"), "shardId-000000000001"));
  assert_true(tj_eq(t, tj_get(t, bi, "startSequenceNumber"), "5"));
  assert_true(tj_eq(t, tj_get(t, bi, "endSequenceNumber"), "12"));
  assert_true(tj_eq(t, tj_get(t, bi, "approximateArrivalOfFirstRecord"),
                    "2019-11-14T00:53:19Z"));
  assert_true(tj_eq(t, tj_get(t, bi, "approximateArrivalOfLastRecord"),
                    "2019-11-14T00:53:20Z"));
  assert_true(tj_eq(t, tj_get(t, bi, "batchSize"), "2"));
  assert_true(tj_eq(t, tj_get(t, bi, "streamArn"), rc.event_source_arn));
  assert_int_equal(tj_get(t, 0, "payload"), -1);
  assert_false(b.len > 0 && b.data[b.len - 1] == '\n');
  ref_buf_free(&b);
  ref_config_free(&rc);

  /* Kinesis, retries exhausted, S3 payload. */
  rc = test_rcfg(ESMC_SOURCE_KINESIS);
  r[0].shard_id = r[1].shard_id = "shardId-000000000001";
  f.condition = "RetryAttemptsExhausted";
  f.invoke_count = 3;
  f.has_response = 1;
  f.status_code = 200;
  f.executed_version = "$LATEST";
  f.function_error = NULL;
  f.include_payload = 1;
  ref_build_failure_record(&b, &rc, &f);
  tj_parse(t, b.data, b.len);
  rq = tj_get(t, 0, "responseContext");
  assert_true(tj_eq(t, tj_get(t, rq, "statusCode"), "200"));
  assert_true(tj_eq(t, tj_get(t, rq, "executedVersion"), "$LATEST"));
  assert_true(tj_eq(t, tj_get(t, rq, "functionError"), "null"));
  bi = tj_get(t, 0, "KinesisBatchInfo");
  assert_true(tj_eq(t, tj_get(t, bi, "approximateArrivalOfFirstRecord"),
                    "2019-11-14T00:53:19.123Z"));
  assert_int_equal(t->tok[tj_get(t, tj_get(t, 0, "payload"), "Records")].size, 2);
  ref_buf_free(&b);
  ref_config_free(&rc);
  free(t);

  ref_make_uuid(uuid1, sizeof(uuid1), "seed", 1);
  ref_make_uuid(uuid2, sizeof(uuid2), "seed", 2);
  assert_int_equal(strlen(uuid1), 36);
  assert_string_not_equal(uuid1, uuid2);
  ref_make_uuid(uuid2, sizeof(uuid2), "seed", 1);
  assert_string_equal(uuid1, uuid2);
  assert_int_equal(ref_s3_object_key(key, sizeof(key), "m-uuid", "shardId-1",
                                     1704067200123, "o-uuid"),
                   0);
  assert_string_equal(key, "aws/lambda/m-uuid/shardId-1/2024/01/01/"
                           "2024-01-01T00.00.00-o-uuid");
}

/* ------------------------------------------------------------------------ */
/* A fake host: one mapping, shards of scripted records, a virtual clock. */

#define FH_MAX_REC 64
#define FH_MAX_EVT 64
#define FH_MAX_INV 64
#define FH_MAX_SHARDS 2

struct fh_inv {
  char *payload;
  size_t len;
  esmc_time_ms at;
  int nrec;
};

struct fh_event { /* a timer or a pending invocation completion */
  int used;
  int is_timer;
  esmc_time_ms at;
  uint64_t token;
  esmc_invocation inv;
  int result_index;
};

struct fh {
  struct esmc_host host;
  esmc_time_ms now;
  const struct esmc_adapter *ad;
  void *mapper;
  struct esmc_shard shards[FH_MAX_SHARDS];
  size_t nshards;
  struct esmc_record recs[FH_MAX_SHARDS][FH_MAX_REC];
  char seqs[FH_MAX_SHARDS][FH_MAX_REC][24];
  size_t nrec[FH_MAX_SHARDS];
  const struct esmc_record *out[FH_MAX_REC];
  struct fh_event ev[FH_MAX_EVT];
  struct fh_inv inv[FH_MAX_INV];
  int ninv;
  char checkpoint[FH_MAX_SHARDS][24];
  int ncheckpoints;
  char *dest[8];
  char *dest_key[8];
  int ndest;
  int dest_fail; /* refuse this many deliveries first */
  /* The function: returns the result for invocation i (0-based). */
  void (*script)(struct fh *f, int i, struct esmc_invoke_result *r);
  const char *resp_body;
  esmc_time_ms duration;
  /* Optional: the duration of an invocation, from its payload. */
  esmc_time_ms (*dur)(const struct fh *f, const char *payload);
  int nprobe;
  int inflight, max_inflight; /* invocations in flight, and the peak */
  char resp_buf[64];          /* a response built by a script */
};

static esmc_time_ms fh_now(void *ctx)
{
  return ((struct fh *)ctx)->now;
}

static struct fh_event *fh_slot(struct fh *f)
{
  int i;
  for(i = 0; i < FH_MAX_EVT; i++)
    if(!f->ev[i].used)
      return &f->ev[i];
  fail_msg("fake host: event table full");
  return NULL;
}

static esmc_status fh_set_timer(void *ctx, esmc_time_ms at, uint64_t token)
{
  struct fh *f = ctx;
  struct fh_event *e = NULL;
  int i;

  for(i = 0; i < FH_MAX_EVT; i++)
    if(f->ev[i].used && f->ev[i].is_timer && f->ev[i].token == token)
      e = &f->ev[i];
  if(!e)
    e = fh_slot(f);
  e->used = 1;
  e->is_timer = 1;
  e->token = token;
  e->at = at < f->now ? f->now : at;
  return ESMC_OK;
}

static esmc_status fh_cancel_timer(void *ctx, uint64_t token)
{
  struct fh *f = ctx;
  int i;

  for(i = 0; i < FH_MAX_EVT; i++)
    if(f->ev[i].used && f->ev[i].is_timer && f->ev[i].token == token) {
      f->ev[i].used = 0;
      return ESMC_OK;
    }
  return ESMC_E_NOT_FOUND;
}

static void fh_log(void *ctx, enum esmc_log_level level, const char *msg)
{
  (void)ctx;
  (void)level;
  (void)msg;
}

static esmc_status fh_list_shards(void *ctx, const struct esmc_shard **shards,
                                  size_t *count)
{
  struct fh *f = ctx;
  *shards = f->shards;
  *count = f->nshards;
  return ESMC_OK;
}

static int fh_shard(const struct fh *f, const char *id)
{
  size_t i;
  for(i = 0; i < f->nshards; i++)
    if(strcmp(f->shards[i].shard_id, id) == 0)
      return (int)i;
  return -1;
}

/* Iterators encode shard and position: (shard + 1) << 32 | position + 1. */
static esmc_status fh_get_shard_iterator(void *ctx, const char *shard_id,
                                         enum esmc_iterator_type type,
                                         const char *seq, esmc_time_ms ts,
                                         esmc_iterator *out)
{
  struct fh *f = ctx;
  int s = fh_shard(f, shard_id);
  size_t pos = 0;

  (void)ts;
  if(s < 0)
    return ESMC_E_NOT_FOUND;
  switch(type) {
  case ESMC_ITER_TRIM_HORIZON: pos = 0; break;
  case ESMC_ITER_LATEST: pos = f->nrec[s]; break;
  case ESMC_ITER_AT_SEQUENCE_NUMBER:
  case ESMC_ITER_AFTER_SEQUENCE_NUMBER:
    f->nprobe += type == ESMC_ITER_AT_SEQUENCE_NUMBER;
    while(pos < f->nrec[s] &&
          ref_seq_compare(f->recs[s][pos].sequence_number, seq) < 0)
      pos++;
    if(type == ESMC_ITER_AFTER_SEQUENCE_NUMBER && pos < f->nrec[s] &&
       ref_seq_compare(f->recs[s][pos].sequence_number, seq) == 0)
      pos++;
    break;
  default: return ESMC_E_UNSUPPORTED;
  }
  *out = ((esmc_iterator)(s + 1) << 32) | (esmc_iterator)(pos + 1);
  return ESMC_OK;
}

static esmc_status fh_get_records(void *ctx, esmc_iterator it, uint32_t limit,
                                  struct esmc_get_records_result *out)
{
  struct fh *f = ctx;
  int s = (int)(it >> 32) - 1;
  size_t pos = (size_t)(it & 0xFFFFFFFF) - 1, n = 0;

  assert_true(s >= 0 && (size_t)s < f->nshards);
  assert_true(limit >= 1 && limit <= 10000);
  while(pos < f->nrec[s] && n < limit &&
        f->recs[s][pos].approximate_arrival_ms <= f->now)
    f->out[n++] = &f->recs[s][pos++];
  out->records = f->out;
  out->count = n;
  out->next_iterator = ((esmc_iterator)(s + 1) << 32) | (esmc_iterator)(pos + 1);
  out->millis_behind_latest = 0;
  return ESMC_OK;
}

static esmc_status fh_invoke(void *ctx, const uint8_t *payload, size_t len,
                             esmc_invocation *out)
{
  struct fh *f = ctx;
  struct fh_inv *v;
  struct fh_event *e;
  const char *p;

  assert_true(f->ninv < FH_MAX_INV);
  v = &f->inv[f->ninv];
  v->payload = malloc(len + 1);
  assert_non_null(v->payload);
  memcpy(v->payload, payload, len);
  v->payload[len] = '\0';
  v->len = len;
  v->at = f->now;
  v->nrec = 0;
  for(p = v->payload; (p = strstr(p, "\"sequenceNumber\"")) != NULL; p++)
    v->nrec++;
  for(p = v->payload; (p = strstr(p, "\"SequenceNumber\"")) != NULL; p++)
    v->nrec++;
  e = fh_slot(f);
  e->used = 1;
  e->is_timer = 0;
  e->at = f->now + (f->dur ? f->dur(f, v->payload) : f->duration);
  e->inv = (esmc_invocation)(f->ninv + 1);
  if(++f->inflight > f->max_inflight)
    f->max_inflight = f->inflight;
  e->result_index = f->ninv;
  *out = e->inv;
  f->ninv++;
  return ESMC_OK;
}

static esmc_status fh_send(void *ctx, const char *arn, const char *key,
                           const uint8_t *payload, size_t len)
{
  struct fh *f = ctx;
  char *copy;

  (void)arn;
  if(f->dest_fail > 0) {
    f->dest_fail--;
    return ESMC_E_SERVICE;
  }
  assert_true(f->ndest < 8);
  copy = malloc(len + 1);
  assert_non_null(copy);
  memcpy(copy, payload, len);
  copy[len] = '\0';
  f->dest[f->ndest] = copy;
  f->dest_key[f->ndest] = NULL;
  if(key) {
    f->dest_key[f->ndest] = malloc(strlen(key) + 1);
    memcpy(f->dest_key[f->ndest], key, strlen(key) + 1);
  }
  f->ndest++;
  return ESMC_OK;
}

static esmc_status fh_checkpoint(void *ctx, const char *shard_id,
                                 const char *seq)
{
  struct fh *f = ctx;
  int s = fh_shard(f, shard_id);

  assert_true(s >= 0);
  /* CKPT-2: never backwards. */
  if(f->checkpoint[s][0])
    assert_true(ref_seq_compare(seq, f->checkpoint[s]) > 0);
  snprintf(f->checkpoint[s], sizeof(f->checkpoint[s]), "%s", seq);
  f->ncheckpoints++;
  return ESMC_OK;
}

static esmc_status fh_get_checkpoint(void *ctx, const char *shard_id,
                                     const char **seq)
{
  struct fh *f = ctx;
  int s = fh_shard(f, shard_id);

  *seq = (s >= 0 && f->checkpoint[s][0]) ? f->checkpoint[s] : NULL;
  return ESMC_OK;
}

static void fh_init(struct fh *f, int nrec, esmc_time_ms arrival_step)
{
  int i;

  memset(f, 0, sizeof(*f));
  f->host.abi_version = ESMC_ABI_VERSION;
  f->host.struct_size = sizeof(f->host);
  f->host.ctx = f;
  f->host.now = fh_now;
  f->host.set_timer = fh_set_timer;
  f->host.cancel_timer = fh_cancel_timer;
  f->host.log = fh_log;
  f->host.list_shards = fh_list_shards;
  f->host.get_shard_iterator = fh_get_shard_iterator;
  f->host.get_records = fh_get_records;
  f->host.invoke = fh_invoke;
  f->host.send_to_destination = fh_send;
  f->host.checkpoint = fh_checkpoint;
  f->host.get_checkpoint = fh_get_checkpoint;
  f->now = 1704067200000;
  f->duration = 100;
  f->nshards = 1;
  f->shards[0].shard_id = "shardId-000000000000";
  f->shards[0].starting_sequence_number = "1000";
  for(i = 0; i < nrec; i++) {
    struct esmc_record *r = &f->recs[0][i];
    snprintf(f->seqs[0][i], sizeof(f->seqs[0][i]), "%d", 1000 + i);
    r->shard_id = f->shards[0].shard_id;
    r->sequence_number = f->seqs[0][i];
    r->partition_key = "pk";
    r->data = (const uint8_t *)"x";
    r->data_len = 1;
    r->approximate_arrival_ms = f->now + i * arrival_step;
  }
  f->nrec[0] = (size_t)nrec;
  f->ad = esmc_adapter_reference(ESMC_ABI_VERSION);
  assert_non_null(f->ad);
}

static void fh_free(struct fh *f)
{
  int i;

  f->ad->destroy(f->mapper);
  f->mapper = NULL;
  for(i = 0; i < f->ninv; i++)
    free(f->inv[i].payload);
  for(i = 0; i < f->ndest; i++) {
    free(f->dest[i]);
    free(f->dest_key[i]);
  }
}

static void fh_create(struct fh *f, const struct esmc_mapping_config *c)
{
  struct esmc_error err;

  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->create(&f->host, c, &f->mapper, &err), ESMC_OK);
  assert_non_null(f->mapper);
}

/* Runs events in time order until `until`. */
static void fh_run(struct fh *f, esmc_time_ms until)
{
  for(;;) {
    struct fh_event *e = NULL, ev;
    int i;

    for(i = 0; i < FH_MAX_EVT; i++)
      if(f->ev[i].used && (!e || f->ev[i].at < e->at))
        e = &f->ev[i];
    if(!e || e->at > until)
      break;
    ev = *e;
    e->used = 0;
    f->now = ev.at;
    if(ev.is_timer) {
      assert_int_equal(f->ad->on_timer(f->mapper, ev.token), ESMC_OK);
    } else {
      struct esmc_invoke_result r;
      memset(&r, 0, sizeof(r));
      r.struct_size = sizeof(r);
      r.outcome = ESMC_INVOKE_OK;
      r.status_code = 200;
      r.executed_version = "$LATEST";
      r.request_id = "req-0";
      f->script(f, ev.result_index, &r);
      f->inflight--;
      assert_int_equal(f->ad->on_invoke_complete(f->mapper, ev.inv, &r),
                       ESMC_OK);
    }
  }
  f->now = until;
}

static void fail_twice(struct fh *f, int i, struct esmc_invoke_result *r)
{
  (void)f;
  if(i < 2) {
    r->outcome = ESMC_INVOKE_FUNCTION_ERROR;
    r->function_error = "Unhandled";
    r->payload = (const uint8_t *)"{\"errorMessage\":\"boom\"}";
    r->payload_len = strlen((const char *)r->payload);
  }
}

static void always_fail(struct fh *f, int i, struct esmc_invoke_result *r)
{
  (void)f;
  (void)i;
  r->outcome = ESMC_INVOKE_FUNCTION_ERROR;
  r->function_error = "Unhandled";
}

/* Fails every batch holding sequence number 1002. */
static void fail_on_1002(struct fh *f, int i, struct esmc_invoke_result *r)
{
  if(strstr(f->inv[i].payload, "\"sequenceNumber\":\"1002\""))
    always_fail(f, i, r);
}

static void partial_once(struct fh *f, int i, struct esmc_invoke_result *r)
{
  if(i == 0) {
    r->payload = (const uint8_t *)f->resp_body;
    r->payload_len = strlen(f->resp_body);
  }
}

static void succeed(struct fh *f, int i, struct esmc_invoke_result *r)
{
  (void)f;
  (void)i;
  (void)r;
}

static void test_e2e_retry_identical(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 5, 0);
  t0 = f->now;
  f->script = fail_twice;
  fh_create(f, &c);
  fh_run(f, t0 + 60000);
  assert_int_equal(f->ninv, 3);
  assert_int_equal(f->inv[0].nrec, 5);
  assert_string_equal(f->inv[0].payload, f->inv[1].payload);
  assert_string_equal(f->inv[0].payload, f->inv[2].payload);
  /* Invoked at once, then after 1 s and 2 s backoffs. */
  assert_int_equal(f->inv[0].at, t0);
  assert_int_equal(f->inv[1].at, t0 + 100 + 1000);
  assert_int_equal(f->inv[2].at, t0 + 1100 + 100 + 2000);
  assert_string_equal(f->checkpoint[0], "1004");
  assert_int_equal(f->ncheckpoints, 2); /* the starting point, then 1004 */;
  assert_int_equal(f->ndest, 0);
  /* Retries with infinite attempts check the batch was not trimmed. */
  assert_int_equal(f->nprobe, 2);
  fh_free(f);
  free(f);
}

static void test_e2e_retry_exhausted(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct tj *t = malloc(sizeof(*t));
  int rq;

  (void)state;
  fh_init(f, 5, 0);
  f->script = always_fail;
  f->dest_fail = 1;
  c.maximum_retry_attempts = 1;
  c.batch_size = 3;
  c.on_failure_destination = "arn:aws:sqs:us-east-1:000000000000:dlq";
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  /* Two batches of 3 and 2, each invoked 1 + 1 times, then discarded. */
  assert_int_equal(f->ninv, 4);
  assert_int_equal(f->inv[0].nrec, 3);
  assert_string_equal(f->inv[0].payload, f->inv[1].payload);
  assert_int_equal(f->inv[2].nrec, 2);
  assert_int_equal(f->ndest, 2);
  assert_null(f->dest_key[0]);
  tj_parse(t, f->dest[0], strlen(f->dest[0]));
  rq = tj_get(t, 0, "requestContext");
  assert_true(tj_eq(t, tj_get(t, rq, "condition"), "RetryAttemptsExhausted"));
  assert_true(tj_eq(t, tj_get(t, rq, "approximateInvokeCount"), "2"));
  assert_true(tj_eq(t, tj_get(t, rq, "requestId"), "req-0"));
  rq = tj_get(t, 0, "responseContext");
  assert_true(tj_eq(t, tj_get(t, rq, "statusCode"), "200"));
  assert_true(tj_eq(t, tj_get(t, rq, "functionError"), "Unhandled"));
  rq = tj_get(t, 0, "KinesisBatchInfo");
  assert_true(tj_eq(t, tj_get(t, rq, "startSequenceNumber"), "1000"));
  assert_true(tj_eq(t, tj_get(t, rq, "endSequenceNumber"), "1002"));
  assert_true(tj_eq(t, tj_get(t, rq, "batchSize"), "3"));
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);
  free(t);
}

static void test_e2e_bisect(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct tj *t = malloc(sizeof(*t));
  int rq;

  (void)state;
  fh_init(f, 5, 0);
  f->script = fail_on_1002;
  c.maximum_retry_attempts = 0;
  c.bisect_batch_on_function_error = 1;
  c.on_failure_destination = "arn:aws:s3:::failures";
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  /* 5 fails -> [3] fails -> [2] ok, [1] fails (discarded) -> [2] ok. */
  assert_int_equal(f->ninv, 5);
  assert_int_equal(f->inv[0].nrec, 5);
  assert_int_equal(f->inv[1].nrec, 3);
  assert_int_equal(f->inv[2].nrec, 2);
  assert_int_equal(f->inv[3].nrec, 1);
  assert_int_equal(f->inv[4].nrec, 2);
  assert_non_null(strstr(f->inv[3].payload, "\"1002\""));
  assert_non_null(strstr(f->inv[4].payload, "\"1003\""));
  assert_int_equal(f->ndest, 1);
  assert_non_null(f->dest_key[0]);
  assert_int_equal(strncmp(f->dest_key[0],
                           "aws/lambda/a1b2c3d4-0000-4000-8000-000000000001/"
                           "shardId-000000000000/2024/01/01/2024-01-01T00.00.",
                           96),
                   0);
  tj_parse(t, f->dest[0], strlen(f->dest[0]));
  rq = tj_get(t, 0, "KinesisBatchInfo");
  assert_true(tj_eq(t, tj_get(t, rq, "batchSize"), "1"));
  assert_true(tj_eq(t, tj_get(t, rq, "startSequenceNumber"), "1002"));
  assert_int_equal(t->tok[tj_get(t, tj_get(t, 0, "payload"), "Records")].size, 1);
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);
  free(t);
}

static void test_e2e_partial(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);

  (void)state;
  fh_init(f, 5, 0);
  f->script = partial_once;
  f->resp_body = "{\"batchItemFailures\":[{\"itemIdentifier\":\"1003\"},"
                 "{\"itemIdentifier\":\"1002\"}]}";
  c.function_response_types_given = 1;
  c.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  assert_int_equal(f->ninv, 2);
  assert_int_equal(f->inv[1].nrec, 3);
  assert_null(strstr(f->inv[1].payload, "\"1001\""));
  assert_non_null(strstr(f->inv[1].payload, "\"1002\""));
  assert_int_equal(f->ncheckpoints, 3); /* the starting point, 1001, 1004 */;
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);

  /* Without the response type the same body is a success. */
  f = malloc(sizeof(*f));
  fh_init(f, 5, 0);
  f->script = partial_once;
  f->resp_body = "{\"batchItemFailures\":[{\"itemIdentifier\":\"1003\"}]}";
  c = base_cfg(ESMC_SOURCE_KINESIS);
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  assert_int_equal(f->ninv, 1);
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);
}

static void test_e2e_record_age(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct tj *t = malloc(sizeof(*t));
  int i;

  (void)state;
  fh_init(f, 5, 0);
  /* Records 1000..1002 arrived 90 s ago, 1003..1004 just now. */
  for(i = 0; i < 3; i++)
    f->recs[0][i].approximate_arrival_ms = f->now - 90000;
  f->script = succeed;
  c.maximum_record_age_s = 60;
  c.on_failure_destination = "arn:aws:sns:us-east-1:000000000000:t";
  fh_create(f, &c);
  fh_run(f, f->now + 10000);
  assert_int_equal(f->ndest, 1);
  tj_parse(t, f->dest[0], strlen(f->dest[0]));
  assert_true(tj_eq(t, tj_get(t, tj_get(t, 0, "requestContext"), "condition"),
                    "RecordAgeExceeded"));
  assert_true(tj_eq(t, tj_get(t, tj_get(t, 0, "requestContext"),
                              "approximateInvokeCount"),
                    "1"));
  assert_int_equal(tj_get(t, 0, "responseContext"), -1);
  assert_true(tj_eq(t, tj_get(t, tj_get(t, 0, "KinesisBatchInfo"), "batchSize"),
                    "3"));
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->inv[0].nrec, 2);
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);
  free(t);
}

static void test_e2e_window_and_enable(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS), u;
  struct esmc_error err;
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 5, 0);
  t0 = f->now;
  f->script = succeed;
  c.maximum_batching_window_s = 2;
  fh_create(f, &c);
  fh_run(f, t0 + 1999);
  assert_int_equal(f->ninv, 0);
  fh_run(f, t0 + 2500);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->inv[0].at, t0 + 2000);
  assert_int_equal(f->inv[0].nrec, 5);

  /* Disable; a record arriving meanwhile is not invoked until re-enabled. */
  u = base_cfg(ESMC_SOURCE_KINESIS);
  u.starting_position = ESMC_START_UNSET;
  u.enabled = 0;
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  snprintf(f->seqs[0][5], sizeof(f->seqs[0][5]), "1005");
  f->recs[0][5] = f->recs[0][0];
  f->recs[0][5].sequence_number = f->seqs[0][5];
  f->recs[0][5].approximate_arrival_ms = t0 + 3000;
  f->nrec[0] = 6;
  fh_run(f, t0 + 20000);
  assert_int_equal(f->ninv, 1);
  u.enabled = 1;
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  fh_run(f, t0 + 30000);
  assert_int_equal(f->ninv, 2);
  assert_int_equal(f->inv[1].nrec, 1);
  assert_string_equal(f->checkpoint[0], "1005");
  /* A rejected update leaves the mapping alone. */
  u.batch_size = 0;
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_E_INVALID_PARAMETER);
  fh_free(f);
  free(f);
}

static void test_e2e_restart(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);

  (void)state;
  fh_init(f, 5, 0);
  f->script = succeed;
  c.batch_size = 2;
  fh_create(f, &c);
  /* The first batch is in flight: destroy drops it. */
  assert_int_equal(f->ninv, 1);
  f->ad->destroy(f->mapper);
  memset(f->ev, 0, sizeof(f->ev));
  snprintf(f->checkpoint[0], sizeof(f->checkpoint[0]), "1001");
  fh_create(f, &c);
  fh_run(f, f->now + 10000);
  assert_int_equal(f->ninv, 3);
  assert_non_null(strstr(f->inv[1].payload, "\"1002\""));
  assert_null(strstr(f->inv[1].payload, "\"1001\""));
  assert_string_equal(f->checkpoint[0], "1004");
  fh_free(f);
  free(f);
}

static void throttle_twice(struct fh *f, int i, struct esmc_invoke_result *r)
{
  (void)f;
  if(i < 2) {
    r->outcome = ESMC_INVOKE_THROTTLED;
    r->status_code = 429;
  }
}

static void test_e2e_throttle_not_counted(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);

  (void)state;
  fh_init(f, 3, 0);
  f->script = throttle_twice;
  c.maximum_retry_attempts = 0;
  c.on_failure_destination = "arn:aws:sqs:us-east-1:000000000000:dlq";
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  /* ERR-3: throttles consume no attempt, so MRA 0 still gets its run. */
  assert_int_equal(f->ninv, 3);
  assert_string_equal(f->inv[0].payload, f->inv[2].payload);
  assert_int_equal(f->ndest, 0);
  assert_string_equal(f->checkpoint[0], "1002");
  fh_free(f);
  free(f);
}

static void test_e2e_payload_limit(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  size_t big = 2 * 1024 * 1024;
  uint8_t *data = calloc(1, big);
  int i;

  (void)state;
  assert_non_null(data);
  fh_init(f, 3, 0);
  for(i = 0; i < 3; i++) {
    f->recs[0][i].data = data;
    f->recs[0][i].data_len = big;
  }
  f->script = succeed;
  fh_create(f, &c);
  fh_run(f, f->now + 10000);
  /* BATCH-2: three 2.7 MB records need two invocations. */
  assert_int_equal(f->ninv, 2);
  assert_int_equal(f->inv[0].nrec, 2);
  assert_true(f->inv[0].len <= REF_PAYLOAD_MAX);
  assert_int_equal(f->inv[1].nrec, 1);
  assert_string_equal(f->checkpoint[0], "1002");
  fh_free(f);
  free(f);
  free(data);
}

static esmc_status count_get_records(void *ctx, esmc_iterator it,
                                     uint32_t limit,
                                     struct esmc_get_records_result *out)
{
  ((struct fh *)ctx)->nprobe++;
  return fh_get_records(ctx, it, limit, out);
}

static void test_e2e_idle_polling(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_DYNAMODB);

  (void)state;
  fh_init(f, 0, 0);
  f->host.get_records = count_get_records;
  f->script = succeed;
  fh_create(f, &c);
  fh_run(f, f->now + 999);
  assert_int_equal(f->nprobe, 4); /* POLL-1: every 250 ms. */
  fh_free(f);
  free(f);

  f = malloc(sizeof(*f));
  fh_init(f, 0, 0);
  f->host.get_records = count_get_records;
  f->script = succeed;
  c = base_cfg(ESMC_SOURCE_KINESIS);
  fh_create(f, &c);
  fh_run(f, f->now + 2999);
  assert_int_equal(f->nprobe, 3); /* Once a second. */
  fh_free(f);
  free(f);
}

/* ------------------------------------------------------------------------ */
/* Account faults (spec/faults.md). */

static esmc_status fault_list_status; /* what the faulty ListShards answers */
static int fault_list_left;           /* ... this many more times */

static esmc_status faulty_list_shards(void *ctx,
                                      const struct esmc_shard **shards,
                                      size_t *count)
{
  if(fault_list_left > 0) {
    fault_list_left--;
    return fault_list_status;
  }
  return fh_list_shards(ctx, shards, count);
}

static void test_e2e_create_access_denied(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  struct esmc_error err;
  void *mapper = NULL;

  (void)state;
  /* FAULT-7: AccessDenied from the role check rejects the create. */
  fh_init(f, 2, 0);
  f->host.list_shards = faulty_list_shards;
  fault_list_status = ESMC_E_ACCESS_DENIED;
  fault_list_left = 1;
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->create(&f->host, &c, &mapper, &err),
                   ESMC_E_INVALID_PARAMETER);
  assert_null(mapper);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_non_null(strstr(err.message, "Please ensure the role can perform"));
  assert_non_null(strstr(err.message, "ListShards Actions"));
  assert_int_equal(f->ninv, 0);
  c = base_cfg(ESMC_SOURCE_DYNAMODB);
  c.enabled = 0; /* checked whether or not enabled */
  fault_list_left = 1;
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->create(&f->host, &c, &mapper, &err),
                   ESMC_E_INVALID_PARAMETER);
  assert_non_null(strstr(err.message, "ListStreams Actions"));
  fh_free(f);
  free(f);

  /* A throttle is not a missing permission: accepted, listed again after
   * a backoff, and the records still arrive. */
  f = malloc(sizeof(*f));
  fh_init(f, 2, 0);
  f->host.list_shards = faulty_list_shards;
  f->script = succeed;
  fault_list_status = ESMC_E_THROTTLED;
  fault_list_left = 2;
  c = base_cfg(ESMC_SOURCE_KINESIS);
  fh_create(f, &c);
  fh_run(f, f->now + 10000);
  assert_int_equal(fault_list_left, 0);
  assert_int_equal(f->ninv, 1);
  assert_string_equal(f->checkpoint[0], "1001");
  fh_free(f);
  free(f);
}

static int fault_reads_left;       /* get_records calls still to fail */
static esmc_status fault_read_status;
static esmc_time_ms fault_read_at[16]; /* when they failed */
static int fault_read_n;
static enum esmc_iterator_type fault_iter_type[16];
static int fault_iter_n;

static esmc_status faulty_get_records(void *ctx, esmc_iterator it,
                                      uint32_t limit,
                                      struct esmc_get_records_result *out)
{
  struct fh *f = ctx;
  if(fault_reads_left > 0) {
    fault_reads_left--;
    if(fault_read_n < 16)
      fault_read_at[fault_read_n++] = f->now;
    memset(out, 0, sizeof(*out));
    return fault_read_status;
  }
  return fh_get_records(ctx, it, limit, out);
}

static esmc_status logging_get_shard_iterator(void *ctx, const char *shard_id,
                                              enum esmc_iterator_type type,
                                              const char *seq,
                                              esmc_time_ms ts,
                                              esmc_iterator *out)
{
  if(fault_iter_n < 16)
    fault_iter_type[fault_iter_n++] = type;
  return fh_get_shard_iterator(ctx, shard_id, type, seq, ts, out);
}

static void test_e2e_read_faults(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  /* FAULT-1, FAULT-8: four throttled reads, retried 1, 2 and 4 s apart,
   * then every record, none skipped. */
  fh_init(f, 3, 0);
  f->host.get_records = faulty_get_records;
  f->script = succeed;
  fault_read_status = ESMC_E_THROTTLED;
  fault_reads_left = 4;
  fault_read_n = 0;
  t0 = f->now;
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  assert_int_equal(fault_read_n, 4);
  assert_int_equal(fault_read_at[0], t0);
  assert_int_equal(fault_read_at[1] - fault_read_at[0], 1000);
  assert_int_equal(fault_read_at[2] - fault_read_at[1], 2000);
  assert_int_equal(fault_read_at[3] - fault_read_at[2], 4000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->inv[0].nrec, 3);
  assert_string_equal(f->checkpoint[0], "1002");
  fh_free(f);
  free(f);

  /* FAULT-2: an expired iterator after a read is replaced after the last
   * record read, never at LATEST. */
  f = malloc(sizeof(*f));
  fh_init(f, 4, 2000);
  f->host.get_records = faulty_get_records;
  f->host.get_shard_iterator = logging_get_shard_iterator;
  f->script = succeed;
  fault_read_status = ESMC_E_EXPIRED_ITERATOR;
  fault_reads_left = 0;
  fault_read_n = 0;
  fault_iter_n = 0;
  c.batch_size = 1;
  fh_create(f, &c);
  fh_run(f, f->now + 500); /* 1000 read and invoked */
  fault_reads_left = 2;
  fh_run(f, f->now + 60000);
  assert_int_equal(fault_read_n, 2);
  assert_true(fault_iter_n >= 2);
  assert_int_equal(fault_iter_type[0], ESMC_ITER_TRIM_HORIZON);
  assert_int_equal(fault_iter_type[1], ESMC_ITER_AFTER_SEQUENCE_NUMBER);
  assert_int_equal(f->ninv, 4);
  assert_string_equal(f->checkpoint[0], "1003");
  fh_free(f);
  free(f);
}

/* ------------------------------------------------------------------------ */
/* ParallelizationFactor. */

/* Gives record i of shard 0 partition key keys[i % nkeys]. */
static void fh_keys(struct fh *f, const char *const *keys, size_t nkeys)
{
  size_t i;
  for(i = 0; i < f->nrec[0]; i++)
    f->recs[0][i].partition_key = keys[i % nkeys];
}

/* Batches holding key "a" (lane 0 of 2) run 1000 ms, others 100 ms. */
static esmc_time_ms slow_a(const struct fh *f, const char *payload)
{
  (void)f;
  return strstr(payload, "\"partitionKey\":\"a\"") ? 1000 : 100;
}

/* The index of the invocation holding sequence number seq, or -1. */
static int fh_inv_of(const struct fh *f, const char *seq)
{
  char pat[48];
  int i;
  snprintf(pat, sizeof(pat), "\"sequenceNumber\":\"%s\"", seq);
  for(i = 0; i < f->ninv; i++)
    if(strstr(f->inv[i].payload, pat))
      return i;
  return -1;
}

static void test_e2e_pf_keys_overtake(void **state)
{
  static const char *const keys[] = {"a", "b"}; /* lanes 0 and 1 of 2 */
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 4, 0); /* 1000 a, 1001 b, 1002 a, 1003 b */
  fh_keys(f, keys, 2);
  t0 = f->now;
  f->script = succeed;
  f->dur = slow_a;
  c.batch_size = 1;
  c.parallelization_factor = 2;
  fh_create(f, &c);
  /* Both lanes start at once. */
  assert_int_equal(f->ninv, 2);
  fh_run(f, t0 + 150);
  /* ORDER-3: key b overtook the earlier 1002 of key a. */
  assert_int_equal(f->ninv, 3);
  assert_int_equal(fh_inv_of(f, "1003"), 2);
  assert_int_equal(f->inv[2].at, t0 + 100);
  fh_run(f, t0 + 500);
  /* Everything of lane b is done, but 1000 is not: the checkpoint stays
   * at the starting point. */
  assert_string_equal(f->checkpoint[0], "999");
  fh_run(f, t0 + 1500);
  assert_int_equal(fh_inv_of(f, "1002"), 3);
  assert_int_equal(f->inv[3].at, t0 + 1000);
  /* 1000 and 1001 are done; 1002 is in flight, so 1003 is not covered. */
  assert_string_equal(f->checkpoint[0], "1001");
  fh_run(f, t0 + 10000);
  assert_string_equal(f->checkpoint[0], "1003");
  assert_int_equal(f->ninv, 4);
  assert_int_equal(f->max_inflight, 2);
  fh_free(f);
  free(f);
}

static void test_e2e_pf_same_key_serial(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  int i;

  (void)state;
  fh_init(f, 6, 0); /* one key, "pk" */
  f->script = succeed;
  c.batch_size = 2;
  c.parallelization_factor = 4;
  fh_create(f, &c);
  fh_run(f, f->now + 10000);
  assert_int_equal(f->ninv, 3);
  assert_int_equal(f->max_inflight, 1);
  for(i = 0; i < 3; i++)
    assert_int_equal(f->inv[i].nrec, 2);
  assert_int_equal(fh_inv_of(f, "1000"), 0);
  assert_int_equal(fh_inv_of(f, "1002"), 1);
  assert_int_equal(fh_inv_of(f, "1004"), 2);
  assert_string_equal(f->checkpoint[0], "1005");
  fh_free(f);
  free(f);
}

static void test_e2e_pf_concurrency_bound(void **state)
{
  static const char *const keys[] = {"g", "a", "c"}; /* lanes 0, 1, 2 of 3 */
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_DYNAMODB);
  int i;

  (void)state;
  fh_init(f, 12, 0);
  fh_keys(f, keys, 3);
  for(i = 0; i < 12; i++) /* Each record its own key: still 3 lanes. */
    f->recs[0][i].partition_key = i < 3 ? keys[i] : f->seqs[0][i];
  f->script = succeed;
  f->duration = 500;
  c.batch_size = 1;
  c.parallelization_factor = 3;
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  assert_int_equal(f->ninv, 12);
  assert_int_equal(f->max_inflight, 3); /* ORDER-4 */
  assert_string_equal(f->checkpoint[0], "1011");
  fh_free(f);
  free(f);
}

/* Fails every batch holding a record of key "a". */
static void fail_key_a(struct fh *f, int i, struct esmc_invoke_result *r)
{
  if(strstr(f->inv[i].payload, "\"partitionKey\":\"a\""))
    always_fail(f, i, r);
}

static void test_e2e_pf_failing_key_blocks_its_lane(void **state)
{
  static const char *const keys[] = {"a", "b"};
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  int i, a_invs = 0;

  (void)state;
  fh_init(f, 6, 0); /* a: 1000 1002 1004, b: 1001 1003 1005 */
  fh_keys(f, keys, 2);
  f->script = fail_key_a;
  c.batch_size = 1;
  c.parallelization_factor = 2;
  fh_create(f, &c);
  fh_run(f, f->now + 30000);
  /* Lane b finished; lane a retries 1000 and never reaches 1002. */
  assert_true(fh_inv_of(f, "1005") >= 0);
  assert_int_equal(fh_inv_of(f, "1002"), -1);
  for(i = 0; i < f->ninv; i++)
    a_invs += strstr(f->inv[i].payload, "\"1000\"") != NULL;
  assert_true(a_invs >= 3);
  /* Nothing at or above the failing 1000 is checkpointed. */
  assert_string_equal(f->checkpoint[0], "999");
  fh_free(f);
  free(f);
}

static void test_e2e_pf_update(void **state)
{
  static const char *const keys[] = {"a", "b"};
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS), u;
  struct esmc_error err;
  esmc_time_ms t0;
  int i;

  (void)state;
  fh_init(f, 8, 0);
  fh_keys(f, keys, 2);
  t0 = f->now;
  for(i = 4; i < 8; i++)
    f->recs[0][i].approximate_arrival_ms = t0 + 5000;
  f->script = succeed;
  c.batch_size = 1;
  fh_create(f, &c);
  fh_run(f, t0 + 4000);
  assert_int_equal(f->ninv, 4);
  assert_int_equal(f->max_inflight, 1);
  u = base_cfg(ESMC_SOURCE_KINESIS);
  u.starting_position = ESMC_START_UNSET;
  u.parallelization_factor = 2;
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  fh_run(f, t0 + 20000);
  /* GEN-4: the later batches run two at a time. */
  assert_int_equal(f->ninv, 8);
  assert_int_equal(f->max_inflight, 2);
  assert_string_equal(f->checkpoint[0], "1007");
  fh_free(f);
  free(f);
}

/* ------------------------------------------------------------------------ */
/* Tumbling windows. */

/* Answers {"state":{"n":<invocation number>}}. */
static void tw_count(struct fh *f, int i, struct esmc_invoke_result *r)
{
  snprintf(f->resp_buf, sizeof(f->resp_buf), "{\"state\":{\"n\":%d}}", i + 1);
  r->payload = (const uint8_t *)f->resp_buf;
  r->payload_len = strlen(f->resp_buf);
}

/* Checks invocation i's window fields; state is compared as text. */
static void tw_expect(const struct fh *f, int i, const char *start,
                      const char *end, const char *st, int final, int early,
                      int nrec)
{
  struct tj *t = malloc(sizeof(*t));
  int w, sv;

  assert_non_null(t);
  tj_parse(t, f->inv[i].payload, f->inv[i].len);
  assert_int_equal(t->tok[tj_get(t, 0, "Records")].size, nrec);
  w = tj_get(t, 0, "window");
  assert_true(tj_eq(t, tj_get(t, w, "start"), start));
  assert_true(tj_eq(t, tj_get(t, w, "end"), end));
  sv = tj_get(t, 0, "state");
  assert_true(sv >= 0 && t->tok[sv].type == JSMN_OBJECT);
  if(!tj_eq(t, sv, st))
    fail_msg("invocation %d: state %.*s, expected %s", i,
             t->tok[sv].end - t->tok[sv].start, t->js + t->tok[sv].start, st);
  assert_true(tj_eq(t, tj_get(t, 0, "shardId"), "shardId-000000000000"));
  assert_true(tj_eq(t, tj_get(t, 0, "eventSourceARN"),
                    "arn:aws:kinesis:us-east-1:000000000000:stream/s"));
  assert_true(tj_eq(t, tj_get(t, 0, "isFinalInvokeForWindow"),
                    final ? "true" : "false"));
  assert_true(tj_eq(t, tj_get(t, 0, "isWindowTerminatedEarly"),
                    early ? "true" : "false"));
  free(t);
}

static void test_e2e_tw_boundaries_and_final(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 3, 0);
  t0 = f->now; /* 2024-01-01T00:00:00Z, a multiple of 10 s */
  f->recs[0][1].approximate_arrival_ms = t0 + 9999;
  f->recs[0][2].approximate_arrival_ms = t0 + 10000;
  f->now = t0 + 10000;
  f->script = tw_count;
  c.tumbling_window_s = 10;
  fh_create(f, &c);
  fh_run(f, t0 + 60000);
  assert_int_equal(f->ninv, 4);
  /* TW-1: 1000 and 1001 share [0 s, 10 s); 1002 starts the next window. */
  tw_expect(f, 0, "2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z", "{}", 0, 0,
            2);
  /* TW-5: the final invoke carries the state and no records. */
  tw_expect(f, 1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z",
            "{\"n\":1}", 1, 0, 0);
  tw_expect(f, 2, "2024-01-01T00:00:10Z", "2024-01-01T00:00:20Z", "{}", 0, 0,
            1);
  tw_expect(f, 3, "2024-01-01T00:00:10Z", "2024-01-01T00:00:20Z",
            "{\"n\":3}", 1, 0, 0);
  /* The second window closes after its end, once the shard was read past
   * it. */
  assert_true(f->inv[3].at >= t0 + 20000);
  assert_true(f->inv[3].at <= t0 + 21000);
  assert_string_equal(f->checkpoint[0], "1002");
  fh_free(f);
  free(f);
}

static void test_e2e_tw_state_carried(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 2, 3000); /* 1000 at 0 s, 1001 at 3 s */
  t0 = f->now;
  f->script = tw_count;
  c.tumbling_window_s = 60;
  fh_create(f, &c);
  fh_run(f, t0 + 30000);
  assert_int_equal(f->ninv, 2);
  tw_expect(f, 1, "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z",
            "{\"n\":1}", 0, 0, 1);
  /* TW-5: the window's records are not checkpointed before it closes. */
  assert_string_equal(f->checkpoint[0], "999");
  fh_run(f, t0 + 120000);
  assert_int_equal(f->ninv, 3);
  tw_expect(f, 2, "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z",
            "{\"n\":2}", 1, 0, 0);
  assert_string_equal(f->checkpoint[0], "1001");
  fh_free(f);
  free(f);
}

/* Invocation 0 answers without a state (TW-3), the rest count. */
static void tw_missing_state_once(struct fh *f, int i,
                                  struct esmc_invoke_result *r)
{
  if(i == 0) {
    r->payload = (const uint8_t *)"{\"batchItemFailures\":[]}";
    r->payload_len = strlen((const char *)r->payload);
    return;
  }
  tw_count(f, i, r);
}

static void test_e2e_tw_missing_state_fails(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);

  (void)state;
  fh_init(f, 2, 0);
  f->script = tw_missing_state_once;
  c.tumbling_window_s = 5;
  c.maximum_retry_attempts = 2;
  fh_create(f, &c);
  fh_run(f, f->now + 60000);
  /* The first response is a failure: the batch is retried identically. */
  assert_true(f->ninv >= 3);
  assert_string_equal(f->inv[0].payload, f->inv[1].payload);
  assert_true(f->inv[1].at >= f->inv[0].at + 1000);
  tw_expect(f, 2, "2024-01-01T00:00:00Z", "2024-01-01T00:00:05Z",
            "{\"n\":2}", 1, 0, 0);
  assert_string_equal(f->checkpoint[0], "1001");
  fh_free(f);
  free(f);
}

/* Invocation 0 returns a state just over 1 MB. */
static char *tw_big_body;
static void tw_big_once(struct fh *f, int i, struct esmc_invoke_result *r)
{
  if(i == 0) {
    r->payload = (const uint8_t *)tw_big_body;
    r->payload_len = strlen(tw_big_body);
    return;
  }
  tw_count(f, i, r);
}

static void test_e2e_tw_early_termination(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  size_t big = 1048576, i;
  esmc_time_ms t0;

  (void)state;
  tw_big_body = malloc(big + 64);
  assert_non_null(tw_big_body);
  memcpy(tw_big_body, "{\"state\":{\"s\":\"", 15);
  for(i = 15; i < big + 15; i++)
    tw_big_body[i] = 'x';
  memcpy(tw_big_body + i, "\"}}", 4);
  fh_init(f, 2, 2000); /* 1000 at 0 s, 1001 at 2 s: one 60 s window */
  t0 = f->now;
  f->script = tw_big_once;
  c.tumbling_window_s = 60;
  fh_create(f, &c);
  fh_run(f, t0 + 1500);
  /* TW-4: the window ended early, at once, without the oversized state. */
  assert_int_equal(f->ninv, 2);
  tw_expect(f, 1, "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "{}", 1, 1,
            0);
  assert_string_equal(f->checkpoint[0], "1000");
  fh_run(f, t0 + 120000);
  /* The next record starts a fresh instance of the same window. */
  assert_int_equal(f->ninv, 4);
  tw_expect(f, 2, "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "{}", 0, 0,
            1);
  tw_expect(f, 3, "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z",
            "{\"n\":3}", 1, 0, 0);
  assert_string_equal(f->checkpoint[0], "1001");
  fh_free(f);
  free(f);
  free(tw_big_body);
  tw_big_body = NULL;
}

/* Fails final invokes; answers with a state otherwise. */
static void tw_fail_final(struct fh *f, int i, struct esmc_invoke_result *r)
{
  if(strstr(f->inv[i].payload, "\"isFinalInvokeForWindow\":true")) {
    always_fail(f, i, r);
    return;
  }
  tw_count(f, i, r);
}

static void test_e2e_tw_final_retried(void **state)
{
  struct fh *f = malloc(sizeof(*f));
  struct esmc_mapping_config c = base_cfg(ESMC_SOURCE_KINESIS);
  esmc_time_ms t0;

  (void)state;
  fh_init(f, 2, 0);
  t0 = f->now;
  f->recs[0][1].approximate_arrival_ms = t0 + 10000; /* the next window */
  f->script = tw_fail_final;
  c.tumbling_window_s = 10;
  c.maximum_retry_attempts = 1;
  fh_create(f, &c);
  fh_run(f, t0 + 9000);
  fh_run(f, t0 + 15000);
  /* TW-5, TW-8: the final invoke fails, is retried once (MRA 1) while the
   * shard waits, then the window is given up and 1001 goes on. */
  assert_true(f->ninv >= 4);
  tw_expect(f, 1, "2024-01-01T00:00:00Z", "2024-01-01T00:00:10Z",
            "{\"n\":1}", 1, 0, 0);
  assert_string_equal(f->inv[1].payload, f->inv[2].payload);
  tw_expect(f, 3, "2024-01-01T00:00:10Z", "2024-01-01T00:00:20Z", "{}", 0, 0,
            1);
  assert_true(f->inv[3].at > f->inv[2].at);
  assert_int_equal(f->ndest, 0);
  assert_string_equal(f->checkpoint[0], "1000");
  fh_free(f);
  free(f);
}

static void test_adapter_table(void **state)
{
  const struct esmc_adapter *a = esmc_adapter_reference(ESMC_ABI_VERSION);

  (void)state;
  assert_non_null(a);
  assert_null(esmc_adapter_reference(0));
  assert_string_equal(a->name, "esmcheck-reference");
  assert_string_equal(a->version, "0.2.0");
  assert_true(a->struct_size >= ESMC_ADAPTER_V1_SIZE);
  assert_true(a->capabilities & ESMC_CAP_BISECT);
  assert_true(a->capabilities & ESMC_CAP_PARALLELIZATION);
  assert_true(a->capabilities & ESMC_CAP_TUMBLING_WINDOW);
  assert_true(a->capabilities & ESMC_CAP_FILTER);
  a->destroy(NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_response_success),
    cmocka_unit_test(test_response_invalid),
    cmocka_unit_test(test_response_partial),
    cmocka_unit_test(test_seq_compare),
    cmocka_unit_test(test_json_valid),
    cmocka_unit_test(test_config_defaults),
    cmocka_unit_test(test_config_ranges),
    cmocka_unit_test(test_config_rules),
    cmocka_unit_test(test_config_update),
    cmocka_unit_test(test_payload_kinesis),
    cmocka_unit_test(test_payload_dynamodb),
    cmocka_unit_test(test_failure_record),
    cmocka_unit_test(test_e2e_retry_identical),
    cmocka_unit_test(test_e2e_retry_exhausted),
    cmocka_unit_test(test_e2e_bisect),
    cmocka_unit_test(test_e2e_partial),
    cmocka_unit_test(test_e2e_record_age),
    cmocka_unit_test(test_e2e_window_and_enable),
    cmocka_unit_test(test_e2e_restart),
    cmocka_unit_test(test_e2e_throttle_not_counted),
    cmocka_unit_test(test_e2e_payload_limit),
    cmocka_unit_test(test_e2e_idle_polling),
    cmocka_unit_test(test_e2e_create_access_denied),
    cmocka_unit_test(test_e2e_read_faults),
    cmocka_unit_test(test_e2e_pf_keys_overtake),
    cmocka_unit_test(test_e2e_pf_same_key_serial),
    cmocka_unit_test(test_e2e_pf_concurrency_bound),
    cmocka_unit_test(test_e2e_pf_failing_key_blocks_its_lane),
    cmocka_unit_test(test_e2e_pf_update),
    cmocka_unit_test(test_e2e_tw_boundaries_and_final),
    cmocka_unit_test(test_e2e_tw_state_carried),
    cmocka_unit_test(test_e2e_tw_missing_state_fails),
    cmocka_unit_test(test_e2e_tw_early_termination),
    cmocka_unit_test(test_e2e_tw_final_retried),
    cmocka_unit_test(test_adapter_table),
  };
  return cmocka_run_group_tests_name("reference", tests, NULL, NULL);
}

/*
 * test_filter.c: event filtering (FILTER-1..11). One table of (pattern,
 * record, expected) rows runs through both matchers, the harness's
 * (harness/filter.c) and the reference's (reference/ref_filter.c), which
 * were written independently: each row must give the expected verdict in
 * both. A second table does the same for pattern validation. Then the
 * `filter` checker and the filter-aware core checkers are driven on
 * hand-written histories, legal and broken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "filter.h"
#include "ref_internal.h"

static struct fx f;

static int teardown(void **state)
{
  (void)state;
  fx_free(&f);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The differential table.                                                   */

struct row {
  enum esmc_source source;
  const char *data;    /* Kinesis data, or DynamoDB NewImage (NULL: none) */
  enum esmc_ddb_event event; /* DynamoDB */
  const char *pattern;
  int expected;        /* 1 delivered, 0 filtered out */
};

#define K ESMC_SOURCE_KINESIS
#define D ESMC_SOURCE_DYNAMODB

static const struct row rows[] = {
  /* FILTER-1: equals, OR of values, AND of keys. */
  {K, "{\"k\":\"a\"}", 0, "{\"data\":{\"k\":[\"a\"]}}", 1},
  {K, "{\"k\":\"b\"}", 0, "{\"data\":{\"k\":[\"a\"]}}", 0},
  {K, "{\"k\":\"b\"}", 0, "{\"data\":{\"k\":[\"a\",\"b\"]}}", 1},
  {K, "{\"k\":\"a\",\"n\":1}", 0, "{\"data\":{\"k\":[\"a\"],\"n\":[1]}}", 1},
  {K, "{\"k\":\"a\",\"n\":2}", 0, "{\"data\":{\"k\":[\"a\"],\"n\":[1]}}", 0},
  {K, "{\"a\":{\"b\":{\"c\":\"x\"}}}", 0, "{\"data\":{\"a\":{\"b\":{\"c\":[\"x\"]}}}}", 1},
  /* FILTER-2: case-sensitive; numbers by their text; strings vs numbers. */
  {K, "{\"k\":\"A\"}", 0, "{\"data\":{\"k\":[\"a\"]}}", 0},
  {K, "{\"n\":300}", 0, "{\"data\":{\"n\":[300]}}", 1},
  {K, "{\"n\":300.0}", 0, "{\"data\":{\"n\":[300]}}", 0},
  {K, "{\"n\":3e2}", 0, "{\"data\":{\"n\":[300]}}", 0},
  {K, "{\"n\":\"300\"}", 0, "{\"data\":{\"n\":[300]}}", 0},
  {K, "{\"n\":300}", 0, "{\"data\":{\"n\":[\"300\"]}}", 0},
  {K, "{\"s\":\"caf\\u00e9\"}", 0, "{\"data\":{\"s\":[\"caf\xc3\xa9\"]}}", 1},
  /* Numeric: ranges, equality, strings never match. */
  {K, "{\"t\":5}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">\",0,\"<=\",5]}]}}", 1},
  {K, "{\"t\":0}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">\",0,\"<=\",5]}]}}", 0},
  {K, "{\"t\":5.5}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">\",0,\"<=\",5]}]}}", 0},
  {K, "{\"t\":\"5\"}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">\",0]}]}}", 0},
  {K, "{\"t\":100}", 0, "{\"data\":{\"t\":[{\"numeric\":[\"=\",1e2]}]}}", 1},
  {K, "{\"t\":100}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">=\",100,\"<\",200]}]}}", 1},
  {K, "{\"t\":200}", 0, "{\"data\":{\"t\":[{\"numeric\":[\">=\",100,\"<\",200]}]}}", 0},
  {K, "{\"t\":-3}", 0, "{\"data\":{\"t\":[{\"numeric\":[\"<\",0]}]}}", 1},
  /* Prefix and anything-but. */
  {K, "{\"s\":\"yes-please\"}", 0, "{\"data\":{\"s\":[{\"prefix\":\"yes\"}]}}", 1},
  {K, "{\"s\":\"ye\"}", 0, "{\"data\":{\"s\":[{\"prefix\":\"yes\"}]}}", 0},
  {K, "{\"s\":5}", 0, "{\"data\":{\"s\":[{\"prefix\":\"5\"}]}}", 0},
  {K, "{\"s\":\"b\"}", 0, "{\"data\":{\"s\":[{\"anything-but\":[\"a\",\"c\"]}]}}", 1},
  {K, "{\"s\":\"a\"}", 0, "{\"data\":{\"s\":[{\"anything-but\":[\"a\",\"c\"]}]}}", 0},
  {K, "{\"s\":\"a\"}", 0, "{\"data\":{\"s\":[{\"anything-but\":\"b\"}]}}", 1},
  {K, "{\"n\":7}", 0, "{\"data\":{\"n\":[{\"anything-but\":7}]}}", 0},
  {K, "{\"s\":\"test-1\"}", 0, "{\"data\":{\"s\":[{\"anything-but\":{\"prefix\":\"test\"}}]}}", 0},
  {K, "{\"s\":\"prod-1\"}", 0, "{\"data\":{\"s\":[{\"anything-but\":{\"prefix\":\"test\"}}]}}", 1},
  {K, "{\"x\":1}", 0, "{\"data\":{\"s\":[{\"anything-but\":\"b\"}]}}", 0},
  /* Exists, null, empty string (FILTER-4, OBS-10). */
  {K, "{\"s\":\"v\"}", 0, "{\"data\":{\"s\":[{\"exists\":true}]}}", 1},
  {K, "{\"x\":\"v\"}", 0, "{\"data\":{\"s\":[{\"exists\":true}]}}", 0},
  {K, "{\"x\":\"v\"}", 0, "{\"data\":{\"s\":[{\"exists\":false}]}}", 1},
  {K, "{\"s\":\"v\"}", 0, "{\"data\":{\"s\":[{\"exists\":false}]}}", 0},
  {K, "{\"s\":{\"S\":\"v\"}}", 0, "{\"data\":{\"s\":[{\"exists\":false}]}}", 1},
  {K, "{\"s\":{\"S\":\"v\"}}", 0, "{\"data\":{\"s\":[{\"exists\":true}]}}", 0},
  {K, "{\"s\":null}", 0, "{\"data\":{\"s\":[null]}}", 1},
  {K, "{\"x\":1}", 0, "{\"data\":{\"s\":[null]}}", 0},
  {K, "{\"s\":\"\"}", 0, "{\"data\":{\"s\":[\"\"]}}", 1},
  {K, "{\"s\":null}", 0, "{\"data\":{\"s\":[\"\"]}}", 0},
  {K, "{\"b\":true}", 0, "{\"data\":{\"b\":[true]}}", 1},
  /* FILTER-4: every named field must be present; others are ignored. */
  {K, "{\"k\":\"a\"}", 0, "{\"data\":{\"k\":[\"a\"],\"m\":[\"b\"]}}", 0},
  {K, "{\"k\":\"a\",\"z\":9}", 0, "{\"data\":{\"k\":[\"a\"]}}", 1},
  /* Arrays in the record: any element. */
  {K, "{\"tags\":[\"x\",\"y\"]}", 0, "{\"data\":{\"tags\":[\"y\"]}}", 1},
  {K, "{\"tags\":[\"x\",\"y\"]}", 0, "{\"data\":{\"tags\":[\"z\"]}}", 0},
  {K, "{\"l\":[{\"a\":1},{\"a\":2}]}", 0, "{\"data\":{\"l\":{\"a\":[2]}}}", 1},
  {K, "{\"tags\":[]}", 0, "{\"data\":{\"tags\":[{\"exists\":false}]}}", 1},
  /* FILTER-3: duplicate keys, last wins, in the pattern and in the data. */
  {K, "{\"k\":\"b\"}", 0, "{\"data\":{\"k\":[\"a\"],\"k\":[\"b\"]}}", 1},
  {K, "{\"k\":\"a\"}", 0, "{\"data\":{\"k\":[\"a\"],\"k\":[\"b\"]}}", 0},
  {K, "{\"k\":\"a\",\"k\":\"b\"}", 0, "{\"data\":{\"k\":[\"b\"]}}", 1},
  /* FILTER-6: non-JSON data drops a data pattern; metadata still matches. */
  {K, "not json", 0, "{\"data\":{\"k\":[{\"exists\":false}]}}", 0},
  {K, "not json", 0, "{\"partitionKey\":[\"k1\"]}", 1},
  {K, "{\"k\":\"a\"}", 0, "{\"partitionKey\":[\"other\"]}", 0},
  {K, "\"plain\"", 0, "{\"data\":[\"plain\"]}", 1},
  {K, "42", 0, "{\"data\":[{\"numeric\":[\">\",41]}]}", 1},
  {K, "{}", 0, "{\"kinesisSchemaVersion\":[\"1.0\"]}", 1},
  /* FILTER-8: DynamoDB typed images, N strings, metadata. */
  {D, "{\"id\":{\"S\":\"k1\"},\"c\":{\"S\":\"red\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"NewImage\":{\"c\":{\"S\":[\"red\"]}}}}", 1},
  {D, "{\"id\":{\"S\":\"k1\"},\"c\":{\"S\":\"red\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"NewImage\":{\"c\":[\"red\"]}}}", 0},
  {D, "{\"id\":{\"S\":\"k1\"},\"n\":{\"N\":\"5\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"NewImage\":{\"n\":{\"N\":[{\"numeric\":[\">\",0]}]}}}}", 0},
  {D, "{\"id\":{\"S\":\"k1\"},\"n\":{\"N\":\"5\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"NewImage\":{\"n\":{\"N\":[\"5\"]}}}}", 1},
  {D, "{\"id\":{\"S\":\"k1\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"ApproximateCreationDateTime\":[{\"numeric\":[\">\",0]}]}}", 1},
  {D, "{\"id\":{\"S\":\"k1\"}}", ESMC_DDB_INSERT, "{\"eventName\":[\"INSERT\"]}", 1},
  {D, NULL, ESMC_DDB_REMOVE, "{\"eventName\":[\"INSERT\",\"MODIFY\"]}", 0},
  {D, "{\"id\":{\"S\":\"k1\"}}", ESMC_DDB_MODIFY, "{\"eventName\":[\"INSERT\",\"MODIFY\"]}", 1},
  {D, "{\"id\":{\"S\":\"k1\"}}", ESMC_DDB_INSERT, "{\"eventSource\":[\"aws:dynamodb\"]}", 1},
  {D, "{\"id\":{\"S\":\"k1\"},\"p\":{\"S\":\"x\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"NewImage\":{\"p\":[{\"exists\":false}]}}}", 1},
  {D, "{\"id\":{\"S\":\"k1\"}}", ESMC_DDB_INSERT,
   "{\"dynamodb\":{\"Keys\":{\"id\":{\"S\":[{\"prefix\":\"k\"}]}}}}", 1},
};

/* Builds the world of one row: one record, r1. */
static void row_world(const struct row *rw)
{
  struct esmc_case_record *r;
  fx_scenario(&f, rw->source, 1);
  fx_add_record(&f, "k1", 0, 0);
  r = &f.sc.records[0];
  if(rw->source == ESMC_SOURCE_KINESIS) {
    esmc_free(r->data);
    r->data = (uint8_t *)esmc_strdup(rw->data);
    assert_non_null(r->data);
    r->data_len = strlen(rw->data);
  } else {
    r->event_name = rw->event;
    esmc_free(r->new_image_json);
    r->new_image_json = rw->data ? esmc_strdup(rw->data) : NULL;
  }
  fx_build(&f);
}

static int ref_verdict(const struct esmc_world *w, const char *pattern)
{
  struct esmc_mapping_config c;
  struct ref_config rc;
  const char *pats[1];
  int v;

  memset(&c, 0, sizeof(c));
  c.abi_version = ESMC_ABI_VERSION;
  c.struct_size = sizeof(c);
  c.source = w->sc->source;
  c.uuid = w->mapping_uuid;
  c.event_source_arn = w->stream_arn;
  c.function_arn = w->function_arn;
  c.role_arn = w->role_arn;
  c.region = w->region;
  c.enabled = ESMC_UNSET;
  c.batch_size = ESMC_UNSET;
  c.maximum_batching_window_s = ESMC_UNSET;
  c.starting_position = ESMC_START_TRIM_HORIZON;
  c.parallelization_factor = ESMC_UNSET;
  c.maximum_retry_attempts = ESMC_UNSET;
  c.maximum_record_age_s = ESMC_UNSET;
  c.bisect_batch_on_function_error = ESMC_UNSET;
  c.tumbling_window_s = ESMC_UNSET;
  pats[0] = pattern;
  c.filter_patterns = pats;
  c.filter_count = 1;
  c.filter_criteria_given = 1;
  assert_int_equal(ref_config_validate(&c, NULL, 0, 0, NULL), ESMC_OK);
  assert_int_equal(ref_config_from_create(&rc, &c), ESMC_OK);
  v = ref_filter_match_record(&rc, &w->records[0].pub);
  ref_config_free(&rc);
  return v;
}

static void test_differential_match(void **state)
{
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    char *pats[1];
    int h, r;
    pats[0] = (char *)rows[i].pattern;
    row_world(&rows[i]);
    assert_int_equal(esmc_filter_pattern_check(rows[i].pattern, NULL, 0), 0);
    h = esmc_filter_match(f.w, &f.w->records[0], pats, 1);
    r = ref_verdict(f.w, rows[i].pattern);
    if(h != rows[i].expected || r != rows[i].expected) {
      print_error("row %zu: pattern %s, record %s: expected %d, harness %d, "
                  "reference %d\n", i, rows[i].pattern,
                  rows[i].data ? rows[i].data : "(none)", rows[i].expected,
                  h, r);
      fail();
    }
    fx_free(&f);
  }
}

/* Several filters are ORed (FILTER-1); no filter at all keeps everything. */
static void test_or_across_filters(void **state)
{
  static const struct row rw = {K, "{\"k\":\"b\"}", 0, "", 0};
  char *two[2];
  (void)state;
  two[0] = "{\"data\":{\"k\":[\"a\"]}}";
  two[1] = "{\"data\":{\"k\":[\"b\"]}}";
  row_world(&rw);
  assert_int_equal(esmc_filter_match(f.w, &f.w->records[0], two, 2), 1);
  assert_int_equal(esmc_filter_match(f.w, &f.w->records[0], two, 1), 0);
  assert_int_equal(esmc_filter_match(f.w, &f.w->records[0], two, 0), 1);
  {
    struct ref_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.source = ESMC_SOURCE_KINESIS;
    assert_int_equal(ref_filter_match_record(&rc, &f.w->records[0].pub), 1);
    assert_int_equal(ref_filter_set(&rc, (const char *const *)two, 2), 0);
    assert_int_equal(ref_filter_match_record(&rc, &f.w->records[0].pub), 1);
    assert_int_equal(ref_filter_set(&rc, (const char *const *)two, 1), 0);
    assert_int_equal(ref_filter_match_record(&rc, &f.w->records[0].pub), 0);
    ref_filter_clear(&rc);
  }
}

/* ------------------------------------------------------------------------ */
/* Validation, both implementations (FILTER-10).                             */

struct vrow {
  const char *pattern;
  int valid;
};

static const struct vrow vrows[] = {
  {"{\"data\":{\"k\":[\"a\"]}}", 1},
  {"{\"eventName\":[\"INSERT\",\"MODIFY\"]}", 1},
  {"{\"a\":[{\"numeric\":[\">\",0,\"<=\",5]}]}", 1},
  {"{\"a\":[{\"numeric\":[\"=\",5]}]}", 1},
  {"{\"a\":[{\"exists\":false},null,\"\",1,true]}", 1},
  {"{\"a\":[{\"anything-but\":{\"prefix\":\"x\"}}]}", 1},
  {"{\"a\":[\"x\"],\"a\":[\"y\"]}", 1},
  {"{\"a\":{\"b\":[]},\"a\":[\"y\"]}", 1}, /* the invalid one is replaced */
  {"null", 0},
  {"\"a string\"", 0},
  {"[{\"a\":[\"x\"]}]", 0},
  {"{\"eventSource\":\"aws:sqs\"}", 0},
  {"{\"eventSource\":[]}", 0},
  {"[{\"eventName\": [\"INSERT\"=123}]", 0},
  {"{\"a\":[\"x\"]", 0},
  {"{}", 0},
  {"{\"a\":{}}", 0},
  {"{\"a\":[{\"suffix\":\"x\"}]}", 0},
  {"{\"a\":[{\"prefix\":1}]}", 0},
  {"{\"a\":[{\"exists\":\"yes\"}]}", 0},
  {"{\"a\":[{\"numeric\":[\">\"]}]}", 0},
  {"{\"a\":[{\"numeric\":[\"!=\",1]}]}", 0},
  {"{\"a\":[{\"numeric\":[\">\",\"1\"]}]}", 0},
  {"{\"a\":[{\"prefix\":\"x\",\"exists\":true}]}", 0},
  {"{\"a\":[[\"x\"]]}", 0},
  {"{\"a\":[{\"anything-but\":[]}]}", 0},
  {"{\"a\":[{\"anything-but\":[{\"prefix\":\"x\"}]}]}", 0},
  {"{\"a\":[\"x\"]} trailing", 0},
};

static esmc_status ref_validate_one(const char *p, struct esmc_error *err)
{
  const char *pats[1];
  pats[0] = p;
  return ref_filter_validate(pats, 1, err);
}

static void test_differential_validation(void **state)
{
  size_t i;
  (void)state;
  for(i = 0; i < sizeof(vrows) / sizeof(vrows[0]); i++) {
    struct esmc_error err;
    char why[128];
    int h = esmc_filter_pattern_check(vrows[i].pattern, why, sizeof(why)) == 0;
    int r;
    memset(&err, 0, sizeof(err));
    r = ref_validate_one(vrows[i].pattern, &err) == ESMC_OK;
    if(h != vrows[i].valid || r != vrows[i].valid) {
      print_error("row %zu: %s: expected %s, harness %d (%s), reference %d\n",
                  i, vrows[i].pattern, vrows[i].valid ? "valid" : "invalid",
                  h, why, r);
      fail();
    }
    if(!r) {
      assert_string_equal(err.code, "InvalidParameterValueException");
      assert_non_null(strstr(err.message, "Invalid filter pattern definition."));
    }
  }
}

static void test_validation_limits(void **state)
{
  static char big[4200];
  const char *five[6];
  struct esmc_error err;
  size_t i;
  (void)state;
  /* A pattern of exactly 4096 characters is valid, one more is not. */
  memset(big, 0, sizeof(big));
  memcpy(big, "{\"a\":[\"", 7);
  memset(big + 7, 'x', 4096 - 10);
  memcpy(big + 4093, "\"]}", 3);
  assert_int_equal(strlen(big), 4096);
  assert_int_equal(esmc_filter_pattern_check(big, NULL, 0), 0);
  assert_int_equal(ref_validate_one(big, NULL), ESMC_OK);
  memcpy(big + 4093, "x\"]}", 4);
  assert_int_equal(esmc_filter_pattern_check(big, NULL, 0), -1);
  assert_int_equal(ref_validate_one(big, NULL), ESMC_E_INVALID_PARAMETER);
  /* Five filters are allowed, six are not (CONTRA-9: the default quota). */
  for(i = 0; i < 6; i++)
    five[i] = "{\"a\":[\"x\"]}";
  assert_int_equal(ref_filter_validate(five, 5, NULL), ESMC_OK);
  memset(&err, 0, sizeof(err));
  assert_int_equal(ref_filter_validate(five, 6, &err),
                   ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  /* Zero filters (FilterCriteria given, empty) is valid: it removes them. */
  assert_int_equal(ref_filter_validate(five, 0, NULL), ESMC_OK);
}

/* An update with FilterCriteria and no filters removes them (FILTER-11);
 * one without FilterCriteria keeps them. */
static void test_reference_update_filters(void **state)
{
  struct esmc_mapping_config c, u;
  struct ref_config cur, next;
  const char *pats[1];
  (void)state;
  memset(&c, 0, sizeof(c));
  c.source = ESMC_SOURCE_KINESIS;
  c.uuid = "u";
  c.event_source_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";
  c.function_arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
  c.region = "us-east-1";
  c.enabled = c.batch_size = c.maximum_batching_window_s = ESMC_UNSET;
  c.parallelization_factor = c.maximum_retry_attempts = ESMC_UNSET;
  c.maximum_record_age_s = c.bisect_batch_on_function_error = ESMC_UNSET;
  c.tumbling_window_s = ESMC_UNSET;
  c.starting_position = ESMC_START_TRIM_HORIZON;
  pats[0] = "{\"data\":{\"k\":[\"a\"]}}";
  c.filter_patterns = pats;
  c.filter_count = 1;
  c.filter_criteria_given = 1;
  assert_int_equal(ref_config_from_create(&cur, &c), ESMC_OK);
  assert_int_equal(cur.filter_count, 1);
  u = c;
  u.filter_criteria_given = 0;
  u.filter_count = 0;
  assert_int_equal(ref_config_from_update(&next, &cur, &u), ESMC_OK);
  assert_int_equal(next.filter_count, 1);
  assert_string_equal(next.filters[0], pats[0]);
  ref_config_free(&next);
  u.filter_criteria_given = 1;
  assert_int_equal(ref_config_validate(&u, &cur, 1, 0, NULL), ESMC_OK);
  assert_int_equal(ref_config_from_update(&next, &cur, &u), ESMC_OK);
  assert_int_equal(next.filter_count, 0);
  ref_config_free(&next);
  pats[0] = "{\"data\":\"x\"}";
  u.filter_count = 1;
  assert_int_equal(ref_config_validate(&u, &cur, 1, 0, NULL),
                   ESMC_E_INVALID_PARAMETER);
  ref_config_free(&cur);
}

/* ------------------------------------------------------------------------ */
/* The checkers.                                                             */

/* Kinesis, one shard: r1 {"k":"a"} kept, r2 {"k":"b"} dropped, r3 kept by
 * the filter {"data":{"k":["a"]}}; the mapping is started. */
static void filtered_world(void)
{
  static const char *const data[] = {"{\"k\":\"a\"}", "{\"k\":\"b\"}",
                                     "{\"k\":\"a\"}"};
  size_t i;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  for(i = 0; i < 3; i++) {
    size_t k = fx_add_record(&f, "k1", 0, 0);
    struct esmc_case_record *r = &f.sc.records[k];
    esmc_free(r->data);
    r->data = (uint8_t *)esmc_strdup(data[i]);
    assert_non_null(r->data);
    r->data_len = strlen(data[i]);
  }
  f.sc.config.filter_patterns = esmc_calloc(1, sizeof(char *));
  assert_non_null(f.sc.config.filter_patterns);
  f.sc.config.filter_patterns[0] = esmc_strdup("{\"data\":{\"k\":[\"a\"]}}");
  assert_non_null(f.sc.config.filter_patterns[0]);
  f.sc.config.filter_count = 1;
  f.sc.config.filter_criteria_given = 1;
  fx_build(&f);
  fx_start(&f);
}

static void test_checker_quiet_when_filtered(void **state)
{
  uint64_t i1;
  (void)state;
  filtered_world();
  i1 = fx_invoke_names(f.w, 10, "r1 r3");
  fx_ok(f.w, 20, i1);
  fx_checkpoint_id(f.w, 21, "r3");
  fx_end(f.w, 100, 0);
  fx_assert_quiet(&f, "filter");
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "at_least_once");
  fx_assert_quiet(&f, "checkpoint");
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "starting_position");
}

static void test_checker_fires_on_delivery(void **state)
{
  uint64_t i1;
  (void)state;
  filtered_world();
  i1 = fx_invoke_names(f.w, 10, "r1 r2 r3");
  fx_ok(f.w, 20, i1);
  fx_checkpoint_id(f.w, 21, "r3");
  fx_end(f.w, 100, 0);
  fx_assert_fires(&f, "filter", "r2", "matches none of the filters",
                  "invocation #1", NULL);
}

static void test_checker_fires_when_stuck(void **state)
{
  uint64_t i1;
  (void)state;
  /* r1 {} is kept, r2 {"k":"b"} is dropped; r1 is delivered and
   * checkpointed, r2 never is. */
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  esmc_free(f.sc.records[1].data);
  f.sc.records[1].data = (uint8_t *)esmc_strdup("{\"k\":\"b\"}");
  assert_non_null(f.sc.records[1].data);
  f.sc.records[1].data_len = strlen((const char *)f.sc.records[1].data);
  f.sc.config.filter_patterns = esmc_calloc(1, sizeof(char *));
  assert_non_null(f.sc.config.filter_patterns);
  f.sc.config.filter_patterns[0] =
      esmc_strdup("{\"data\":{\"k\":[{\"exists\":false}]}}");
  f.sc.config.filter_count = 1;
  f.sc.config.filter_criteria_given = 1;
  fx_build(&f);
  fx_start(&f);
  i1 = fx_invoke_names(f.w, 10, "r1");
  fx_ok(f.w, 20, i1);
  fx_checkpoint_id(f.w, 21, "r1");
  fx_end(f.w, 30000, 0);
  fx_assert_fires(&f, "filter", "r2", "held back", NULL);
  fx_assert_fires(&f, "no_loss", "r2", NULL);
  fx_assert_quiet(&f, "at_least_once");
}

/* A batch made only of filtered records: nothing is invoked and the
 * checkpoint moves past them. */
static void test_checker_all_filtered(void **state)
{
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 3, 0, 0, "k1");
  f.sc.config.filter_patterns = esmc_calloc(1, sizeof(char *));
  assert_non_null(f.sc.config.filter_patterns);
  f.sc.config.filter_patterns[0] = esmc_strdup("{\"data\":{\"k\":[\"a\"]}}");
  f.sc.config.filter_count = 1;
  f.sc.config.filter_criteria_given = 1;
  fx_build(&f);
  fx_start(&f);
  fx_checkpoint_id(f.w, 1000, "r3");
  fx_end(f.w, 12000, 0);
  fx_assert_quiet(&f, "filter");
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "at_least_once");
  fx_assert_quiet(&f, "checkpoint");
}

/* Without filters a skipped record is still a loss: the exact matcher does
 * not excuse records just because some filter exists elsewhere. */
static void test_kept_record_skipped_is_loss(void **state)
{
  (void)state;
  filtered_world();
  fx_checkpoint_id(f.w, 1000, "r3");
  fx_end(f.w, 12000, 0);
  fx_assert_quiet(&f, "filter");
  fx_assert_fires(&f, "at_least_once", "r1", NULL);
  fx_assert_fires(&f, "no_loss", "r1", NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(test_differential_match, teardown),
    cmocka_unit_test_teardown(test_or_across_filters, teardown),
    cmocka_unit_test(test_differential_validation),
    cmocka_unit_test(test_validation_limits),
    cmocka_unit_test(test_reference_update_filters),
    cmocka_unit_test_teardown(test_checker_quiet_when_filtered, teardown),
    cmocka_unit_test_teardown(test_checker_fires_on_delivery, teardown),
    cmocka_unit_test_teardown(test_checker_fires_when_stuck, teardown),
    cmocka_unit_test_teardown(test_checker_all_filtered, teardown),
    cmocka_unit_test_teardown(test_kept_record_skipped_is_loss, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_tw.c: the tumbling-window fields (harness/tw.c) and the
 * tumbling_window checker (TW-1, TW-2, TW-5, TW-6), plus how the analysis,
 * event_shape and retry_limit treat tumbling-window invokes (TW-3, TW-5,
 * TW-8). Histories are written by hand; invokes carry text2 and text3 as
 * the world stores them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"
#include "tw.h"

#define W_MS 10000 /* TumblingWindowInSeconds 10 */

static struct fx f;

static int teardown(void **state)
{
  (void)state;
  fx_free(&f);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Extraction.                                                               */

static const char good_payload[] =
    "{\"Records\":[],\"window\":{\"start\":\"2024-01-01T00:00:10Z\","
    "\"end\":\"2024-01-01T00:00:20Z\"},\"state\": {\"n\": 1},"
    "\"shardId\":\"shardId-000000000000\",\"eventSourceARN\":\"arn:x\","
    "\"isFinalInvokeForWindow\":true,\"isWindowTerminatedEarly\":false,"
    "\"extra\":[1,{\"a\":\"}\"}]}";

static void test_extract_good(void **state)
{
  struct esmc_tw_fields tf;
  char why[200];
  (void)state;
  assert_int_equal(esmc_tw_extract(good_payload, strlen(good_payload), &tf,
                                   why, sizeof(why)), 1);
  assert_true(tf.start_ms == INT64_C(1704067210000));
  assert_true(tf.end_ms == INT64_C(1704067220000));
  assert_int_equal(tf.final, 1);
  assert_int_equal(tf.early, 0);
  assert_int_equal(tf.state_len, strlen("{\"n\": 1}"));
  assert_memory_equal(tf.state, "{\"n\": 1}", tf.state_len);
  assert_int_equal(tf.shard_id_len, strlen("shardId-000000000000"));
  assert_memory_equal(tf.shard_id, "shardId-000000000000", tf.shard_id_len);
  assert_int_equal(tf.arn_len, 5);
  assert_memory_equal(tf.arn, "arn:x", 5);
}

static void test_extract_absent(void **state)
{
  struct esmc_tw_fields tf;
  char why[200];
  static const char plain[] = "{\"Records\":[{\"window\":1}]}";
  (void)state;
  assert_int_equal(esmc_tw_extract(plain, strlen(plain), &tf, why,
                                   sizeof(why)), 0);
  assert_int_equal(esmc_tw_extract("[1]", 3, &tf, why, sizeof(why)), 0);
  assert_int_equal(esmc_tw_extract("", 0, &tf, why, sizeof(why)), 0);
  assert_int_equal(esmc_tw_extract(NULL, 0, &tf, why, sizeof(why)), 0);
}

/* Replace the first occurrence of from in good_payload by to. */
static int extract_variant(const char *from, const char *to, char *why,
                           size_t why_size)
{
  char buf[1024];
  struct esmc_tw_fields tf;
  const char *at = strstr(good_payload, from);
  size_t pre;
  assert_non_null(at);
  pre = (size_t)(at - good_payload);
  snprintf(buf, sizeof(buf), "%.*s%s%s", (int)pre, good_payload, to,
           at + strlen(from));
  return esmc_tw_extract(buf, strlen(buf), &tf, why, why_size);
}

static void test_extract_malformed_window(void **state)
{
  char why[200];
  (void)state;
  assert_int_equal(extract_variant("\"2024-01-01T00:00:10Z\"",
                                   "\"2024-01-01T00:00:10.000Z\"", why,
                                   sizeof(why)), -1);
  assert_non_null(strstr(why, "window.start is not a time"));
  assert_int_equal(extract_variant("\"2024-01-01T00:00:20Z\"",
                                   "\"2024-13-01T00:00:20Z\"", why,
                                   sizeof(why)), -1);
  assert_non_null(strstr(why, "window.end"));
  assert_int_equal(extract_variant("\"end\":", "\"End\":", why, sizeof(why)),
                   -1);
  assert_non_null(strstr(why, "has no \"end\""));
  assert_int_equal(extract_variant("{\"start\"", "[{\"start\"", why,
                                   sizeof(why)), 0); /* no longer an object */
}

static void test_extract_wrong_types(void **state)
{
  char why[200];
  (void)state;
  assert_int_equal(extract_variant("{\"n\": 1}", "\"n=1\"", why, sizeof(why)),
                   -1);
  assert_non_null(strstr(why, "\"state\" is not an object"));
  assert_int_equal(extract_variant("\"isFinalInvokeForWindow\":true",
                                   "\"isFinalInvokeForWindow\":\"true\"", why,
                                   sizeof(why)), -1);
  assert_non_null(strstr(why, "isFinalInvokeForWindow\" is not a boolean"));
  assert_int_equal(extract_variant("\"shardId-000000000000\"", "7", why,
                                   sizeof(why)), -1);
  assert_non_null(strstr(why, "\"shardId\" is not a string"));
  assert_int_equal(extract_variant("\"eventSourceARN\"", "\"arn\"", why,
                                   sizeof(why)), -1);
  assert_non_null(strstr(why, "has no \"eventSourceARN\""));
  assert_int_equal(extract_variant("\"window\":{", "\"window\":7,\"w\":{",
                                   why, sizeof(why)), -1);
  assert_non_null(strstr(why, "\"window\" is not an object"));
}

static void test_info_parse(void **state)
{
  struct esmc_tw_info ti;
  (void)state;
  assert_int_equal(esmc_tw_info_parse("10000 20000 1 0 -1 1", &ti), 0);
  assert_true(ti.start_ms == 10000 && ti.end_ms == 20000);
  assert_true(ti.final == 1 && ti.early == 0 && ti.shard == -1 &&
              ti.arn_ok == 1);
  assert_int_equal(esmc_tw_info_parse(NULL, &ti), -1);
  assert_int_equal(esmc_tw_info_parse("10000 20000 1 0", &ti), -1);
  assert_int_equal(esmc_tw_info_parse("10000 20000 1 0 0 1 x", &ti), -1);
  assert_int_equal(esmc_tw_info_parse("a 20000 1 0 0 1", &ti), -1);
}

static void test_response_state(void **state)
{
  size_t off = 0, len = 0;
  static const char ok[] =
      " {\"batchItemFailures\":[],\"state\":{\"s\":\"}\"}} ";
  (void)state;
  assert_int_equal(esmc_tw_response_state(ok, strlen(ok), &off, &len), 1);
  assert_int_equal(len, strlen("{\"s\":\"}\"}"));
  assert_memory_equal(ok + off, "{\"s\":\"}\"}", len);
  assert_int_equal(esmc_tw_response_state("{}", 2, NULL, NULL), 0);
  assert_int_equal(esmc_tw_response_state("", 0, NULL, NULL), 0);
  assert_int_equal(esmc_tw_response_state("null", 4, NULL, NULL), 0);
  assert_int_equal(esmc_tw_response_state("{\"state\":null}", 14, NULL, NULL),
                   0);
  assert_int_equal(esmc_tw_response_state("{\"state\":[]}", 12, NULL, NULL),
                   0);
  assert_int_equal(esmc_tw_response_state("{\"state\":{}", 11, NULL, NULL), 0);
  assert_int_equal(esmc_tw_response_state("{\"state\":{}} x", 14, NULL, NULL),
                   0);
}

static void test_json_equal(void **state)
{
  (void)state;
  assert_true(esmc_tw_json_equal("{\"a\": [1, 2]}", 13, "{\"a\":[1,2]}", 11));
  assert_true(esmc_tw_json_equal("{}", 2, " { } ", 5));
  assert_false(esmc_tw_json_equal("{\"a\":\"x y\"}", 11, "{\"a\":\"xy\"}", 10));
  assert_false(esmc_tw_json_equal("{\"a\":1}", 7, "{\"a\":2}", 7));
  assert_false(esmc_tw_json_equal("{\"a\":1}", 7, "{\"a\":1,\"b\":2}", 13));
  assert_true(esmc_tw_json_equal("{\"a\":\"\\\" \"}", 11, "{\"a\":\"\\\" \"}",
                                 11));
}

/* ------------------------------------------------------------------------ */
/* Histories.                                                                */

/* One Kinesis shard (two with shards 2), TumblingWindowInSeconds 10. Records
 * r1.. on shard 0 at the given times (ms, relative), appended up to 150 ms. */
static void setup_tw(int32_t shards, int32_t mra, const int64_t *at, size_t n)
{
  size_t i;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, shards);
  f.sc.config.tumbling_window_s = W_MS / 1000;
  f.sc.config.maximum_retry_attempts = mra;
  for(i = 0; i < n; i++)
    fx_add_record(&f, "k1", at[i], 0);
  fx_build(&f);
  fx_start(&f);
  fx_append_between(f.w, 0, 150); /* later records: by the test */
  assert_true(f.w->epoch_ms % W_MS == 0);
}

/* An ESMC_H_INVOKE as the world records a tumbling-window payload: window
 * [start, start + W) relative ms, state, and the named records. */
static uint64_t tw_invoke_full(int64_t t, const char *names, int64_t start,
                               int64_t len, int final, const char *state_json,
                               int64_t shard_field, int arn_ok)
{
  struct esmc_hevent e;
  uint32_t rids[16], n = 0, shard = ESMC_NO_SHARD;
  char text2[128];
  const char *p = names;
  memset(&e, 0, sizeof(e));
  while(*p) {
    char id[16];
    size_t k = 0;
    while(*p == ' ')
      p++;
    if(!*p)
      break;
    while(p[k] && p[k] != ' ' && k + 1 < sizeof(id)) {
      id[k] = p[k];
      k++;
    }
    id[k] = '\0';
    p += k;
    rids[n] = fx_rid(f.w, id);
    shard = f.w->records[rids[n]].shard;
    n++;
  }
  if(n == 0 && shard_field >= 0)
    shard = (uint32_t)shard_field;
  snprintf(text2, sizeof(text2), "%lld %lld %d 0 %lld %d",
           (long long)(f.w->epoch_ms + start),
           (long long)(f.w->epoch_ms + start + len), final,
           (long long)shard_field, arn_ok);
  e.t = t;
  e.kind = ESMC_H_INVOKE;
  e.shard = shard;
  e.rids = rids;
  e.nrids = n;
  e.a = 300;
  e.b = 1;
  e.id = f.w->hist.n + 1;
  assert_true(esmc_history_add(&f.w->hist, &e, NULL, 0, text2, state_json) >=
              0);
  return e.id;
}

static uint64_t tw_invoke(int64_t t, const char *names, int64_t start,
                          int final, const char *state_json)
{
  return tw_invoke_full(t, names, start, W_MS, final, state_json, 0, 1);
}

static void ok_state(int64_t t, uint64_t inv, const char *response)
{
  fx_complete(f.w, t, inv, ESMC_INVOKE_OK, 200, response, NULL);
}

/* r1 and r2 in window [0, 10 s), invoked, closed, checkpointed. */
static void quiet_history(void)
{
  static const int64_t at[2] = {0, 100};
  uint64_t i;
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1 r2", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\": 2}}");
  i = tw_invoke(10500, "", 0, 1, "{ \"n\":2 }");
  ok_state(10510, i, "{\"state\":{}}");
  fx_checkpoint_id(f.w, 10520, "r2");
  fx_end(f.w, 30000, 0);
}

static void test_quiet(void **state)
{
  (void)state;
  quiet_history();
  fx_assert_quiet(&f, "tumbling_window");
  fx_assert_quiet(&f, "event_shape");
  fx_assert_quiet(&f, "resume_point");
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "checkpoint");
  fx_assert_quiet(&f, "no_loss");
}

static void test_tw2_fields_missing(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 1);
  i = fx_invoke_names(f.w, 200, "r1");
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #1", "t=200 ms",
                  "shardId-000000000000", "no valid tumbling-window fields",
                  "TW-2", NULL);
}

static void test_tw2_shard_and_arn(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(2, -1, at, 1);
  i = tw_invoke_full(200, "r1", 0, W_MS, 0, "{}", 1, 1);
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #1",
                  "its shardId is shardId-000000000001",
                  "expected shardId-000000000000", "TW-2", NULL);
  fx_free(&f);

  setup_tw(1, -1, at, 1);
  i = tw_invoke_full(200, "r1", 0, W_MS, 0, "{}", 0, 0);
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "eventSourceARN",
                  "arn:aws:kinesis", "TW-2", NULL);
  fx_free(&f);

  /* A final invoke whose shardId names no shard. */
  setup_tw(1, -1, at, 1);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{}}");
  i = tw_invoke_full(10500, "", 0, W_MS, 1, "{}", -1, 1);
  fx_end(f.w, 11000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #2",
                  "names no shard of the stream", NULL);
}

static void test_tw1_alignment(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 1);
  i = tw_invoke_full(200, "r1", -5000, W_MS, 0, "{}", 0, 1);
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #1", "t=200 ms",
                  "[k*10 s, (k+1)*10 s)", "expected window",
                  "the one of r1's arrival", "TW-1", NULL);
  fx_free(&f);

  setup_tw(1, -1, at, 1);
  i = tw_invoke_full(200, "r1", 0, 2 * W_MS, 0, "{}", 0, 1);
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "TW-1", NULL);
}

static void test_tw1_batch_mixes_windows(void **state)
{
  static const int64_t at[2] = {0, W_MS};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  fx_append_between(f.w, 150, W_MS);
  i = tw_invoke(W_MS + 200, "r1 r2", 0, 0, "{}");
  ok_state(W_MS + 210, i, "{\"state\":{}}");
  fx_end(f.w, W_MS + 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #1", "carries r2",
                  "belongs to window", "one window only (TW-1)", NULL);
}

static void test_tw6_state_not_carried(void **state)
{
  static const int64_t at[2] = {0, 100};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  i = tw_invoke(300, "r2", 0, 0, "{}");
  ok_state(310, i, "{\"state\":{\"n\":2}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #2", "t=300 ms",
                  "carried state {}", "last successful invocation #1",
                  "returned {\"n\":1}", "TW-6", NULL);
}

static void test_tw6_first_invoke_not_empty(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 1);
  i = tw_invoke(200, "r1", 0, 0, "{\"x\":1}");
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #1",
                  "carried state {\"x\":1}", "must carry {}", "TW-6", NULL);
}

static void test_tw6_failed_state_ignored(void **state)
{
  static const int64_t at[2] = {0, 100};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  /* A response without a state fails (TW-3): its retry carries {"n":1}. */
  i = tw_invoke(300, "r2", 0, 0, "{\"n\":1}");
  ok_state(310, i, "{}");
  i = tw_invoke(400, "r2", 0, 0, "{\"n\":1}");
  ok_state(410, i, "{\"state\":{\"n\":2}}");
  fx_end(f.w, 1000, 0);
  fx_assert_quiet(&f, "tumbling_window");
  fx_assert_quiet(&f, "resume_point");
  /* The retry must not carry the failed response's state either. */
  fx_free(&f);
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  i = tw_invoke(300, "r2", 0, 0, "{\"n\":1}");
  ok_state(310, i, "{\"state\":\"bad\"}");
  i = tw_invoke(400, "r2", 0, 0, "{\"n\":9}");
  ok_state(410, i, "{\"state\":{\"n\":2}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "tumbling_window", "invocation #3",
                  "last successful invocation #1", NULL);
}

static void test_tw6_oversized_state_skipped(void **state)
{
  static const int64_t at[2] = {0, 100};
  struct esmc_buf big;
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  esmc_buf_init(&big);
  esmc_buf_puts(&big, "{\"state\":{\"s\":\"");
  while(big.len < 1100000)
    esmc_buf_puts(&big, "0123456789abcdef");
  esmc_buf_puts(&big, "\"}}");
  assert_false(big.oom);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, big.data);
  esmc_buf_free(&big);
  /* TW-4: the early final and the fresh instance are not judged here. */
  i = tw_invoke(300, "", 0, 1, "{}");
  ok_state(310, i, "{\"state\":{}}");
  i = tw_invoke(400, "r2", 0, 0, "{}");
  ok_state(410, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_quiet(&f, "tumbling_window");
}

static void test_tw5_checkpoint_before_final(void **state)
{
  static const int64_t at[2] = {0, 100};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1 r2", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":2}}");
  fx_checkpoint_id(f.w, 220, "r2");
  i = tw_invoke(10500, "", 0, 1, "{\"n\":2}");
  ok_state(10510, i, "{\"state\":{}}");
  fx_end(f.w, 30000, 0);
  fx_assert_fires(&f, "tumbling_window", "checkpoint at t=220 ms",
                  "covers r1", "last carried by invocation #1",
                  "only after its final invoke (TW-5)", NULL);
}

static void test_tw5_missing_final(void **state)
{
  static const int64_t at[2] = {0, 100};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1 r2", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":2}}");
  fx_end(f.w, 30000, 0);
  fx_assert_fires(&f, "tumbling_window", "shard shardId-000000000000",
                  "records r1 to r2", "invocation #1", "ended at t=10000 ms",
                  "no final invoke followed", "isFinalInvokeForWindow true",
                  "TW-5", NULL);
  fx_free(&f);
  /* The same history ending before the window's end plus 5 s is quiet. */
  setup_tw(1, -1, at, 2);
  i = tw_invoke(200, "r1 r2", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":2}}");
  fx_end(f.w, 14000, 0);
  fx_assert_quiet(&f, "tumbling_window");
}

static void test_tw8_final_given_up(void **state)
{
  static const int64_t at[2] = {0, W_MS + 500};
  uint64_t i;
  (void)state;
  setup_tw(1, 1, at, 2);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  i = tw_invoke(W_MS, "", 0, 1, "{\"n\":1}");
  fx_fail(f.w, W_MS + 10, i);
  i = tw_invoke(W_MS + 100, "", 0, 1, "{\"n\":1}");
  fx_fail(f.w, W_MS + 110, i);
  fx_checkpoint_id(f.w, W_MS + 120, "r1");
  fx_append_between(f.w, 150, W_MS + 500);
  i = tw_invoke(W_MS + 600, "r2", W_MS, 0, "{}");
  ok_state(W_MS + 610, i, "{\"state\":{}}");
  i = tw_invoke(2 * W_MS + 100, "", W_MS, 1, "{}");
  ok_state(2 * W_MS + 110, i, "{\"state\":{}}");
  fx_checkpoint_id(f.w, 2 * W_MS + 120, "r2");
  fx_end(f.w, 40000, 0);
  fx_assert_quiet(&f, "tumbling_window");
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "resume_point");
  fx_assert_quiet(&f, "event_shape");
}

static void test_tw8_final_given_up_early(void **state)
{
  static const int64_t at[2] = {0, W_MS + 500};
  uint64_t i;
  (void)state;
  setup_tw(1, 2, at, 2);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  i = tw_invoke(W_MS, "", 0, 1, "{\"n\":1}");
  fx_fail(f.w, W_MS + 10, i);
  fx_checkpoint_id(f.w, W_MS + 120, "r1");
  fx_append_between(f.w, 150, W_MS + 500);
  i = tw_invoke(W_MS + 600, "r2", W_MS, 0, "{}");
  ok_state(W_MS + 610, i, "{\"state\":{}}");
  fx_end(f.w, W_MS + 2000, 0);
  fx_assert_fires(&f, "retry_limit", "the final invoke of window",
                  "shard shardId-000000000000", "failed 1 time",
                  "invocation #3", "went on without it",
                  "MaximumRetryAttempts 2 requires 3", "TW-8", NULL);
  fx_assert_fires(&f, "tumbling_window", "checkpoint at t=10120 ms",
                  "covers r1", "TW-5", NULL);
}

static void test_tw8_final_retried_too_often(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(1, 0, at, 1);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "{\"state\":{\"n\":1}}");
  i = tw_invoke(W_MS, "", 0, 1, "{\"n\":1}");
  fx_fail(f.w, W_MS + 10, i);
  i = tw_invoke(W_MS + 100, "", 0, 1, "{\"n\":1}");
  fx_fail(f.w, W_MS + 110, i);
  fx_end(f.w, W_MS + 1000, 0);
  fx_assert_fires(&f, "retry_limit", "the final invoke of window",
                  "failed 2 times", "invocations #2 to #3",
                  "MaximumRetryAttempts 0 allows 1", "TW-8", NULL);
}

static void test_event_shape_empty(void **state)
{
  static const int64_t at[1] = {0};
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 1);
  i = tw_invoke(200, "", 0, 0, "{}"); /* empty, not a final invoke */
  ok_state(210, i, "{\"state\":{}}");
  fx_end(f.w, 1000, 0);
  fx_assert_fires(&f, "event_shape", "invocation #1", "empty batch", NULL);
}

static void test_analysis_tw3(void **state)
{
  static const int64_t at[1] = {0};
  struct esmc_analysis an;
  uint64_t i;
  (void)state;
  setup_tw(1, -1, at, 1);
  i = tw_invoke(200, "r1", 0, 0, "{}");
  ok_state(210, i, "");
  i = tw_invoke(300, "r1", 0, 0, "{}");
  ok_state(310, i, "{\"state\":{},\"batchItemFailures\":[]}");
  fx_end(f.w, 1000, 0);
  assert_int_equal(esmc_analyze(f.w, &an), 0);
  assert_int_equal(an.ninv, 2);
  assert_int_equal(an.inv[0].result, ESMC_R_FAILURE);
  assert_non_null(strstr(an.inv[0].why, "no state object (TW-3)"));
  assert_int_equal(an.inv[1].result, ESMC_R_SUCCESS);
  esmc_analysis_free(&an);
}

static void test_event_texts(void **state)
{
  static const int64_t at[1] = {0};
  struct esmc_buf problem, payload;
  char *t2 = NULL, *t3 = NULL;
  uint32_t shard = ESMC_NO_SHARD;
  (void)state;
  setup_tw(2, -1, at, 1);
  esmc_buf_init(&problem);
  esmc_buf_init(&payload);
  esmc_buf_printf(&payload,
                  "{\"Records\":[],\"window\":{\"start\":\"2024-01-01T00:00:"
                  "00Z\",\"end\":\"2024-01-01T00:00:10Z\"},\"state\":{},"
                  "\"shardId\":\"shardId-000000000001\",\"eventSourceARN\":"
                  "\"%s\",\"isFinalInvokeForWindow\":true,"
                  "\"isWindowTerminatedEarly\":false}", f.w->stream_arn);
  assert_int_equal(esmc_tw_event_texts(f.w, payload.data, payload.len, 0,
                                       &shard, &problem, &t2, &t3), 0);
  assert_int_equal(shard, 1);
  assert_string_equal(t2, "1704067200000 1704067210000 1 0 1 1");
  assert_string_equal(t3, "{}");
  assert_int_equal(problem.len, 0);
  esmc_free(t2);
  esmc_free(t3);
  /* A malformed field is the shape problem, unless one is set already. */
  esmc_buf_reset(&payload);
  esmc_buf_puts(&payload, "{\"Records\":[],\"window\":{}}");
  assert_int_equal(esmc_tw_event_texts(f.w, payload.data, payload.len, 0,
                                       &shard, &problem, &t2, &t3), 0);
  assert_null(t2);
  assert_null(t3);
  assert_non_null(strstr(problem.data, "TW-2"));
  esmc_buf_reset(&problem);
  esmc_buf_puts(&problem, "earlier problem");
  assert_int_equal(esmc_tw_event_texts(f.w, payload.data, payload.len, 0,
                                       &shard, &problem, &t2, &t3), 0);
  assert_string_equal(problem.data, "earlier problem");
  esmc_buf_free(&problem);
  esmc_buf_free(&payload);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_extract_good),
      cmocka_unit_test(test_extract_absent),
      cmocka_unit_test(test_extract_malformed_window),
      cmocka_unit_test(test_extract_wrong_types),
      cmocka_unit_test(test_info_parse),
      cmocka_unit_test(test_response_state),
      cmocka_unit_test(test_json_equal),
      cmocka_unit_test_teardown(test_quiet, teardown),
      cmocka_unit_test_teardown(test_tw2_fields_missing, teardown),
      cmocka_unit_test_teardown(test_tw2_shard_and_arn, teardown),
      cmocka_unit_test_teardown(test_tw1_alignment, teardown),
      cmocka_unit_test_teardown(test_tw1_batch_mixes_windows, teardown),
      cmocka_unit_test_teardown(test_tw6_state_not_carried, teardown),
      cmocka_unit_test_teardown(test_tw6_first_invoke_not_empty, teardown),
      cmocka_unit_test_teardown(test_tw6_failed_state_ignored, teardown),
      cmocka_unit_test_teardown(test_tw6_oversized_state_skipped, teardown),
      cmocka_unit_test_teardown(test_tw5_checkpoint_before_final, teardown),
      cmocka_unit_test_teardown(test_tw5_missing_final, teardown),
      cmocka_unit_test_teardown(test_tw8_final_given_up, teardown),
      cmocka_unit_test_teardown(test_tw8_final_given_up_early, teardown),
      cmocka_unit_test_teardown(test_tw8_final_retried_too_often, teardown),
      cmocka_unit_test_teardown(test_event_shape_empty, teardown),
      cmocka_unit_test_teardown(test_analysis_tw3, teardown),
      cmocka_unit_test_teardown(test_event_texts, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

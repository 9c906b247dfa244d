/*
 * test_checks_sqs.c: the SQS property checkers (check_sqs.c) and the queue
 * fates of the analysis, each on a legal history where it must stay quiet
 * and on a violating one where it must fire with a useful message. The
 * histories are written by hand: receives, invocations, deletes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static void add_event(struct esmc_world *w, struct esmc_hevent *e,
                      const char *text)
{
  long i = esmc_history_add(&w->hist, e, text, text ? strlen(text) : 0, NULL,
                            NULL);
  assert_true(i >= 0);
  if(e->t > w->now)
    w->now = e->t;
}

static void ev_init(struct esmc_hevent *e, int64_t t, enum esmc_hkind kind)
{
  memset(e, 0, sizeof(*e));
  e->t = t;
  e->kind = (uint32_t)kind;
  e->shard = ESMC_NO_SHARD;
}

/* A queue of n messages sent at t=0 (FIFO: groups by the key of each:
 * keys[i], or "g1"), built, sent and the mapping created. */
static void queue(enum esmc_source src, size_t n, const char *const *keys)
{
  size_t i;
  fx_scenario(&f, src, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  for(i = 0; i < n; i++) {
    size_t k = fx_add_record(&f, keys ? keys[i] : "g1", 0, 0);
    if(src == ESMC_SOURCE_SQS_FIFO) {
      f.sc.records[k].group = esmc_strdup(keys ? keys[i] : "g1");
      assert_non_null(f.sc.records[k].group);
    }
  }
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, (uint32_t)n);
  fx_create(f.w, 0, ESMC_OK, NULL);
}

/* ReportBatchItemFailures on (the analysis reads the configuration when it
 * checks, so setting it after the build is fine). */
static void rbif(void)
{
  f.sc.config.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  f.sc.config.function_response_types_given = 1;
}

static uint64_t next_receive = 1;

/* A receive call and its answer delivering `names` at t. */
static void receive(int64_t t, const char *names)
{
  struct esmc_hevent e;
  uint32_t rids[64], n = 0;
  const char *p = names;
  uint64_t id = next_receive++;
  while(*p) {
    char idbuf[16];
    size_t len = 0;
    while(*p == ' ')
      p++;
    if(!*p)
      break;
    while(p[len] && p[len] != ' ')
      len++;
    assert_true(len < sizeof(idbuf) && n < 64);
    memcpy(idbuf, p, len);
    idbuf[len] = '\0';
    rids[n++] = fx_rid(f.w, idbuf);
    p += len;
  }
  ev_init(&e, t, ESMC_H_RECEIVE);
  e.id = id;
  e.a = 10;
  add_event(f.w, &e, NULL);
  ev_init(&e, t, ESMC_H_RECEIVED);
  e.id = id;
  e.rids = rids;
  e.nrids = n;
  add_event(f.w, &e, NULL);
}

static void delete_msg(int64_t t, const char *name, int effective)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_DELETE);
  e.a = fx_rid(f.w, name);
  e.b = effective;
  add_event(f.w, &e, "handle");
}

static void dead_letter(int64_t t, const char *name)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_DEAD_LETTER);
  e.a = fx_rid(f.w, name);
  add_event(f.w, &e, NULL);
}

/* The partial response listing the MessageIds of the named messages. */
static void pbr(char *out, size_t size, const char *a, const char *b)
{
  if(b)
    snprintf(out, size, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"},"
             "{\"itemIdentifier\":\"%s\"}]}", fx_seq(f.w, a), fx_seq(f.w, b));
  else
    snprintf(out, size, "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
             fx_seq(f.w, a));
}

/* ---- delete_after_success --------------------------------------------- */

static void test_delete_after_success_quiet(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 2, NULL);
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 1, "r1 r2");
  fx_ok(f.w, 11, i1);
  delete_msg(12, "r1", 1);
  delete_msg(12, "r2", 1);
  fx_end(f.w, 20, 0);
  fx_assert_quiet(&f, "delete_after_success");
  fx_assert_quiet(&f, "failed_not_deleted");
  fx_assert_quiet(&f, "sqs_no_loss");
  fx_assert_quiet(&f, "sqs_batch");
  fx_assert_quiet(&f, "sqs_visibility");
}

static void test_delete_before_completion_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  delete_msg(5, "r1", 1);
  fx_ok(f.w, 11, i1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "delete_after_success", "r1 (MessageId",
                  "t=5 ms", "invocation #1", "not completed", NULL);
}

static void test_delete_after_error_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_fail(f.w, 11, i1);
  delete_msg(12, "r1", 1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "delete_after_success", "r1", "failed for it",
                  "function error", NULL);
  fx_assert_fires(&f, "failed_not_deleted", "r1", "invocation #1",
                  "not delivered it again", NULL);
  fx_assert_fires(&f, "sqs_no_loss", "r1", "lost", NULL);
}

static void test_partial_response_deletes_unlisted(void **state)
{
  char body[256];
  uint64_t i1, i2;
  (void)state;
  queue(ESMC_SOURCE_SQS, 3, NULL);
  rbif();
  receive(0, "r1 r2 r3");
  i1 = fx_invoke_names(f.w, 1, "r1 r2 r3");
  pbr(body, sizeof(body), "r2", NULL);
  fx_complete(f.w, 11, i1, ESMC_INVOKE_OK, 200, body, NULL);
  delete_msg(12, "r1", 1);
  delete_msg(12, "r3", 1);
  receive(30000, "r2");
  i2 = fx_invoke_names(f.w, 30001, "r2");
  fx_ok(f.w, 30011, i2);
  delete_msg(30012, "r2", 1);
  fx_end(f.w, 30020, 0);
  fx_assert_quiet(&f, "delete_after_success");
  fx_assert_quiet(&f, "failed_not_deleted");
  fx_assert_quiet(&f, "sqs_no_loss");
}

static void test_partial_response_listed_deleted_fires(void **state)
{
  char body[256];
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 2, NULL);
  rbif();
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 1, "r1 r2");
  pbr(body, sizeof(body), "r2", NULL);
  fx_complete(f.w, 11, i1, ESMC_INVOKE_OK, 200, body, NULL);
  delete_msg(12, "r1", 1);
  delete_msg(12, "r2", 1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "failed_not_deleted", "r2", "batchItemFailures", NULL);
  fx_assert_fires(&f, "delete_after_success", "r2", NULL);
}

static void test_invalid_partial_response_fails_all(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 2, NULL);
  rbif();
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 1, "r1 r2");
  fx_complete(f.w, 11, i1, ESMC_INVOKE_OK, 200,
              "{\"batchItemFailures\":[{\"itemIdentifier\":\"nope\"}]}", NULL);
  delete_msg(12, "r1", 1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "failed_not_deleted", "r1", "not the messageId", NULL);
}

static void test_retry_without_receive_fires(void **state)
{
  uint64_t i1, i2;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_fail(f.w, 11, i1);
  i2 = fx_invoke_names(f.w, 20, "r1");
  fx_ok(f.w, 30, i2);
  delete_msg(31, "r1", 1);
  fx_end(f.w, 40, 0);
  fx_assert_fires(&f, "failed_not_deleted", "invocation #2",
                  "without a new receive", NULL);
  fx_assert_fires(&f, "sqs_no_loss", "invoked 2 times", "received only 1",
                  NULL);
}

static void test_throttle_then_delete_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_complete(f.w, 2, i1, ESMC_INVOKE_THROTTLED, 429, NULL, NULL);
  delete_msg(3, "r1", 1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "delete_after_success", "throttled", NULL);
}

/* ---- sqs_no_loss ------------------------------------------------------ */

static void test_dead_letter_is_not_loss(void **state)
{
  uint64_t i;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i = fx_invoke_names(f.w, 1, "r1");
  fx_fail(f.w, 11, i);
  receive(30000, "r1");
  i = fx_invoke_names(f.w, 30001, "r1");
  fx_fail(f.w, 30011, i);
  dead_letter(60000, "r1");
  fx_end(f.w, 60010, 0);
  fx_assert_quiet(&f, "sqs_no_loss");
  fx_assert_quiet(&f, "failed_not_deleted");
}

static void test_succeeded_never_deleted_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_ok(f.w, 11, i1);
  fx_end(f.w, 20, 0);
  /* The world never ran: the message is UNSENT to it, so mark the history
   * alone as judged and cut nothing short. */
  if(esmc_world_message_state(f.w, 0, NULL) == ESMC_MSG_UNSENT) {
    fx_assert_quiet(&f, "sqs_no_loss");
    return;
  }
  fx_assert_fires(&f, "sqs_no_loss", "never deleted", NULL);
}

static void test_destination_send_fires(void **state)
{
  (void)state;
  queue(ESMC_SOURCE_SQS, 0, NULL);
  fx_dest(f.w, 5, "arn:aws:sqs:us-east-1:000000000000:x", "{}");
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "sqs_no_loss", "failure record", "SQS-DLQ-2", NULL);
}

/* ---- sqs_batch --------------------------------------------------------- */

static void test_invoke_unreceived_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 2, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1 r2");
  fx_ok(f.w, 11, i1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "sqs_batch", "invocation #1", "r2", "not received",
                  NULL);
}

/* ---- sqs_visibility ---------------------------------------------------- */

static void test_late_delete_fires(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_ok(f.w, 11, i1);
  receive(35000, "r1");
  delete_msg(40000, "r1", 0);
  i1 = fx_invoke_names(f.w, 40002, "r1");
  fx_ok(f.w, 40012, i1);
  delete_msg(40013, "r1", 1);
  fx_end(f.w, 40020, 0);
  fx_assert_fires(&f, "sqs_visibility", "deleted too late", "t=40000 ms",
                  NULL);
  fx_assert_quiet(&f, "sqs_no_loss");
}

static void test_duplicate_stale_handle_quiet(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  receive(5, "r1"); /* a duplicate delivery while r1 is in flight */
  fx_ok(f.w, 11, i1);
  delete_msg(12, "r1", 0);
  fx_end(f.w, 20, 0);
  fx_assert_quiet(&f, "sqs_visibility");
}

/* ---- FIFO -------------------------------------------------------------- */

static void test_fifo_exclusive(void **state)
{
  static const char *const keys[] = {"g1", "g1", "g2"};
  uint64_t i1, i2, i3;
  (void)state;
  queue(ESMC_SOURCE_SQS_FIFO, 3, keys);
  receive(0, "r1 r3");
  i1 = fx_invoke_names(f.w, 1, "r1");
  i2 = fx_invoke_names(f.w, 1, "r3");
  fx_ok(f.w, 11, i1);
  fx_ok(f.w, 11, i2);
  delete_msg(12, "r1", 1);
  delete_msg(12, "r3", 1);
  receive(13, "r2");
  i3 = fx_invoke_names(f.w, 14, "r2");
  fx_ok(f.w, 24, i3);
  delete_msg(25, "r2", 1);
  fx_end(f.w, 30, 0);
  fx_assert_quiet(&f, "fifo_group_exclusive");
  fx_assert_quiet(&f, "fifo_group_order");
  fx_assert_quiet(&f, "sqs_concurrency");
}

static void test_fifo_exclusive_fires(void **state)
{
  static const char *const keys[] = {"g1", "g1"};
  uint64_t i1, i2;
  (void)state;
  queue(ESMC_SOURCE_SQS_FIFO, 2, keys);
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 1, "r1");
  i2 = fx_invoke_names(f.w, 2, "r2");
  fx_ok(f.w, 11, i1);
  fx_ok(f.w, 12, i2);
  delete_msg(13, "r1", 1);
  delete_msg(13, "r2", 1);
  fx_end(f.w, 20, 0);
  fx_assert_fires(&f, "fifo_group_exclusive", "invocation #2", "r2",
                  "invocation #1", "group", NULL);
  fx_assert_fires(&f, "fifo_group_order", "r2", "before the earlier", "r1",
                  NULL);
  fx_assert_fires(&f, "sqs_concurrency", "FIFO", NULL);
}

static void test_fifo_order_same_batch_quiet(void **state)
{
  static const char *const keys[] = {"g1", "g1"};
  char body[256];
  uint64_t i1, i2;
  (void)state;
  queue(ESMC_SOURCE_SQS_FIFO, 2, keys);
  rbif();
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 1, "r1 r2");
  pbr(body, sizeof(body), "r1", "r2");
  fx_complete(f.w, 11, i1, ESMC_INVOKE_OK, 200, body, NULL);
  receive(30000, "r1 r2");
  i2 = fx_invoke_names(f.w, 30001, "r1 r2");
  fx_ok(f.w, 30011, i2);
  delete_msg(30012, "r1", 1);
  delete_msg(30012, "r2", 1);
  fx_end(f.w, 30020, 0);
  fx_assert_quiet(&f, "fifo_group_order");
  fx_assert_quiet(&f, "failed_not_deleted");
  fx_assert_quiet(&f, "delete_after_success");
}

/* ---- sqs_concurrency --------------------------------------------------- */

static void test_maximum_concurrency_fires(void **state)
{
  uint64_t i[3];
  int k;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  f.sc.config.maximum_concurrency = 2;
  fx_add_records(&f, 3, 0, 0, "g1");
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, 3);
  fx_create(f.w, 0, ESMC_OK, NULL);
  receive(0, "r1 r2 r3");
  i[0] = fx_invoke_names(f.w, 1, "r1");
  i[1] = fx_invoke_names(f.w, 1, "r2");
  i[2] = fx_invoke_names(f.w, 2, "r3");
  for(k = 0; k < 3; k++)
    fx_ok(f.w, 20, i[k]);
  fx_end(f.w, 30, 0);
  fx_assert_fires(&f, "sqs_concurrency", "invocation #3", "3 invocations",
                  "MaximumConcurrency 2", NULL);
}

static void test_ramp_fires(void **state)
{
  char names[8];
  uint64_t i[7];
  int k;
  (void)state;
  queue(ESMC_SOURCE_SQS, 7, NULL);
  receive(0, "r1 r2 r3 r4 r5 r6 r7");
  for(k = 0; k < 6; k++) {
    snprintf(names, sizeof(names), "r%d", k + 1);
    i[k] = fx_invoke_names(f.w, 1, names);
  }
  for(k = 0; k < 6; k++)
    fx_ok(f.w, 20, i[k]);
  /* After a minute the ramp allows far more. */
  i[6] = fx_invoke_names(f.w, 60000, "r7");
  fx_ok(f.w, 60010, i[6]);
  fx_end(f.w, 60020, 0);
  fx_assert_fires(&f, "sqs_concurrency", "invocation #6", "at most 5",
                  "current", NULL);
}

/* ---- sqs_batch_window -------------------------------------------------- */

static void test_batch_window(void **state)
{
  uint64_t i1;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  f.sc.config.batch_size = 20;
  f.sc.config.maximum_batching_window_s = 2;
  fx_add_records(&f, 2, 0, 0, "g1");
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, 2);
  fx_create(f.w, 0, ESMC_OK, NULL);
  receive(0, "r1 r2");
  i1 = fx_invoke_names(f.w, 500, "r1 r2");
  fx_ok(f.w, 510, i1);
  fx_end(f.w, 600, 0);
  fx_assert_fires(&f, "sqs_batch_window", "invocation #1", "only 2",
                  "until t=2000 ms", NULL);
}

/* ---- applicability ----------------------------------------------------- */

static void test_stream_checkers_skip_queues(void **state)
{
  uint64_t i1;
  (void)state;
  queue(ESMC_SOURCE_SQS, 1, NULL);
  receive(0, "r1");
  i1 = fx_invoke_names(f.w, 1, "r1");
  fx_ok(f.w, 11, i1);
  delete_msg(12, "r1", 1);
  fx_end(f.w, 20, 0);
  /* No checkpoint was written: the stream no_loss would fire. */
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "checkpoint");
}

#define T(test) cmocka_unit_test_teardown(test, teardown)

int main(void)
{
  const struct CMUnitTest tests[] = {
    T(test_delete_after_success_quiet),
    T(test_delete_before_completion_fires),
    T(test_delete_after_error_fires),
    T(test_partial_response_deletes_unlisted),
    T(test_partial_response_listed_deleted_fires),
    T(test_invalid_partial_response_fails_all),
    T(test_retry_without_receive_fires),
    T(test_throttle_then_delete_fires),
    T(test_dead_letter_is_not_loss),
    T(test_succeeded_never_deleted_fires),
    T(test_destination_send_fires),
    T(test_invoke_unreceived_fires),
    T(test_late_delete_fires),
    T(test_duplicate_stale_handle_quiet),
    T(test_fifo_exclusive),
    T(test_fifo_exclusive_fires),
    T(test_fifo_order_same_batch_quiet),
    T(test_maximum_concurrency_fires),
    T(test_ramp_fires),
    T(test_batch_window),
    T(test_stream_checkers_skip_queues),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

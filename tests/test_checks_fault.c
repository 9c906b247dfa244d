/*
 * test_checks_fault.c: the checkers of account faults and of several
 * mappings on one source (spec/faults.md): fault_backoff (FAULT-8),
 * shared_queue_holder (MULTI-2), and no_loss / sqs_no_loss on histories
 * shaped by faults (FAULT-2, FAULT-3, FAULT-6) and competing mappings. Each
 * feeds a hand-written violating history and sees the checker fire with the
 * words a user needs, and a legal one where it stays quiet; the last test
 * runs two reference mappings on one queue in the world.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"

const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

#define FC(c) (1u << (c))
#define DLQ "arn:aws:sqs:us-east-1:123456789012:dlq"

static struct fx f;

static int teardown(void **state)
{
  (void)state;
  fx_free(&f);
  return 0;
}

static void add_event(struct esmc_hevent *e)
{
  assert_true(esmc_history_add(&f.w->hist, e, NULL, 0, NULL, NULL) >= 0);
  if(e->t > f.w->now)
    f.w->now = e->t;
}

/* A queue of n messages sent at t=0 and the mappings "main" and "b",
 * both created at t=0. */
static void shared_queue(size_t n)
{
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  fx_add_records(&f, n, 0, 0, "g1");
  fx_add_mapping(&f, "b");
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, (uint32_t)n);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_by(f.w, 1);
}

static uint64_t next_receive = 1;

/* Mapping m receives the one message `name` at t. */
/* A receive by mapping m that delivers message `name`; dup: the world
 * injected it as a duplicate of a message still in flight (SQS-DUP-1). */
static void receive_as(int64_t t, uint32_t m, const char *name, int dup)
{
  struct esmc_hevent e;
  uint32_t rid = fx_rid(f.w, name);
  memset(&e, 0, sizeof(e));
  e.t = t;
  e.kind = ESMC_H_RECEIVE;
  e.mapping = m;
  e.shard = ESMC_NO_SHARD;
  e.id = next_receive;
  e.a = 10;
  add_event(&e);
  e.kind = ESMC_H_RECEIVED;
  e.rids = &rid;
  e.nrids = 1;
  e.a = 30;
  e.b = dup ? (int64_t)rid + 1 : 0;
  add_event(&e);
  next_receive++;
}

static void receive(int64_t t, uint32_t m, const char *name)
{
  receive_as(t, m, name, 0);
}

static void delete_msg(int64_t t, uint32_t m, const char *name)
{
  struct esmc_hevent e;
  memset(&e, 0, sizeof(e));
  e.t = t;
  e.kind = ESMC_H_DELETE;
  e.mapping = m;
  e.shard = ESMC_NO_SHARD;
  e.a = fx_rid(f.w, name);
  e.b = 1;
  add_event(&e);
}

/* ---- fault_backoff (FAULT-8) ------------------------------------------ */

/* n failures of kind on shard, `every` ms apart from t0. */
static void failures(enum esmc_hkind kind, uint32_t shard, int32_t status,
                     int64_t t0, int64_t every, int n)
{
  int k;
  for(k = 0; k < n; k++)
    fx_call(f.w, t0 + every * k, kind, shard, status);
}

static void stream(size_t shards)
{
  fx_scenario(&f, ESMC_SOURCE_KINESIS, (int32_t)shards);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_build(&f);
  fx_start(&f);
}

static void test_backoff_hammering_fires(void **state)
{
  const struct esmc_violation *v;
  (void)state;
  stream(1);
  /* Eleven throttled reads of one shard within half a second. */
  failures(ESMC_H_GET_RECORDS, 0, ESMC_E_THROTTLED, 1000, 50, 11);
  fx_end(f.w, 5000, 0);
  fx_assert_fires(&f, "fault_backoff",
                  "get_records of shardId-000000000000 failed 11 times within "
                  "500 ms (t=1000 ms to t=1500 ms)",
                  "ESMC_E_THROTTLED", "without backing off",
                  "at most 10 failed attempts of one call per second",
                  "FAULT-8", (char *)NULL);
  v = fx_check(&f, "fault_backoff");
  assert_int_equal(v->level, ESMC_SHOULD);
  assert_int_equal(v->t, 1000);
}

static void test_backoff_ten_per_second_is_quiet(void **state)
{
  (void)state;
  stream(1);
  /* One failure every 100 ms: eleven span exactly one second. */
  failures(ESMC_H_GET_RECORDS, 0, ESMC_E_SERVICE, 1000, 100, 30);
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "fault_backoff");
}

static void test_backoff_counts_per_shard_and_call(void **state)
{
  (void)state;
  stream(2);
  /* Six quick failures on each of two shards, and of two calls: no one
   * sequence reaches eleven. */
  failures(ESMC_H_GET_RECORDS, 0, ESMC_E_THROTTLED, 1000, 10, 6);
  failures(ESMC_H_GET_RECORDS, 1, ESMC_E_THROTTLED, 1005, 10, 6);
  failures(ESMC_H_GET_ITERATOR, 0, ESMC_E_THROTTLED, 1002, 10, 6);
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "fault_backoff");
}

static void test_backoff_ignores_expired_iterators(void **state)
{
  (void)state;
  stream(1);
  /* An expired iterator asks for a new one at once: not a backoff case. */
  failures(ESMC_H_GET_RECORDS, 0, ESMC_E_EXPIRED_ITERATOR, 1000, 10, 20);
  fx_end(f.w, 5000, 0);
  fx_assert_quiet(&f, "fault_backoff");
}

static void test_backoff_queue_receive_fires(void **state)
{
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  fx_add_records(&f, 1, 0, 0, "g1");
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, 1);
  fx_create(f.w, 0, ESMC_OK, NULL);
  failures(ESMC_H_RECEIVE, ESMC_NO_SHARD, ESMC_E_ACCESS_DENIED, 200, 0, 11);
  fx_end(f.w, 5000, 0);
  fx_assert_fires(&f, "fault_backoff",
                  "receive_messages failed 11 times within 0 ms",
                  "ESMC_E_ACCESS_DENIED", (char *)NULL);
}

/* Two shards, r1 on shard 0 and r2 on shard 1, each with a failure record
 * whose sends fail n0 and n1 times, 10 ms apart. */
static void failing_sends(int n0, int n1)
{
  struct esmc_buf p0, p1;
  int k;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 2);
  fx_add_record(&f, "k1", 0, 0);
  fx_add_record(&f, "k2", 0, 1);
  fx_set_destination(&f, DLQ);
  fx_build(&f);
  fx_start(&f);
  esmc_buf_init(&p0);
  esmc_buf_init(&p1);
  fx_dest_payload(f.w, &p0, "RetryAttemptsExhausted", "r1", "r1", 1, "null");
  fx_dest_payload(f.w, &p1, "RetryAttemptsExhausted", "r2", "r2", 1, "null");
  for(k = 0; k < n0 || k < n1; k++) {
    if(k < n0)
      fx_dest_status(f.w, 1000 + 10 * k, ESMC_E_SERVICE, DLQ, p0.data);
    if(k < n1)
      fx_dest_status(f.w, 1005 + 10 * k, ESMC_E_SERVICE, DLQ, p1.data);
  }
  fx_end(f.w, 5000, 1);
  esmc_buf_free(&p0);
  esmc_buf_free(&p1);
}

static void test_backoff_destination_per_shard_quiet(void **state)
{
  (void)state;
  /* Twelve failed sends in 120 ms, but six per shard. */
  failing_sends(6, 6);
  fx_assert_quiet(&f, "fault_backoff");
}

static void test_backoff_destination_fires(void **state)
{
  (void)state;
  failing_sends(2, 11);
  fx_assert_fires(&f, "fault_backoff",
                  "send_to_destination of shardId-000000000001 failed 11 "
                  "times within 100 ms (t=1005 ms to t=1105 ms)",
                  "ESMC_E_SERVICE", (char *)NULL);
}

/* ---- shared_queue_holder (MULTI-2) ------------------------------------ */

static void test_holder_stale_receipt_fires(void **state)
{
  uint64_t i;
  (void)state;
  shared_queue(1);
  receive(0, 0, "r1");
  /* main's visibility timeout ran out and b received r1; main invokes it
   * anyway. */
  receive(31000, 1, "r1");
  i = fx_invoke_names(f.w, 32000, "r1");
  fx_ok(f.w, 32010, i);
  fx_end(f.w, 40000, 0);
  fx_assert_fires(&f, "shared_queue_holder",
                  "mapping main invoked message r1 (MessageId ",
                  "at t=32000 ms, but its latest receive (t=31000 ms) was "
                  "mapping b's, after main's own at t=0 ms: main no longer "
                  "held it (MULTI-2)", (char *)NULL);
}

/* A duplicate the queue hands to another mapping while main still holds
 * the message does not take it from main: both may process it. */
static void test_holder_injected_duplicate_quiet(void **state)
{
  uint64_t i, j;
  (void)state;
  shared_queue(1);
  receive(0, 0, "r1");
  receive_as(10, 1, "r1", 1);
  i = fx_invoke_names(f.w, 20, "r1");
  fx_ok(f.w, 30, i);
  j = fx_invoke_names(f.w, 20, "r1");
  fx_by(f.w, 1);
  fx_ok(f.w, 30, j);
  fx_by(f.w, 1);
  fx_end(f.w, 40000, 0);
  fx_assert_quiet(&f, "shared_queue_holder");
}

static void test_holder_never_received_fires(void **state)
{
  uint64_t i;
  (void)state;
  shared_queue(1);
  receive(0, 1, "r1");
  i = fx_invoke_names(f.w, 10, "r1");
  fx_by(f.w, 0);
  fx_ok(f.w, 20, i);
  fx_end(f.w, 40000, 0);
  fx_assert_fires(&f, "shared_queue_holder",
                  "mapping main invoked message r1",
                  "was mapping b's, and main never received it", (char *)NULL);
}

static void test_holder_competing_mappings_quiet(void **state)
{
  uint64_t i, j;
  (void)state;
  shared_queue(2);
  receive(0, 0, "r1");
  receive(0, 1, "r2");
  i = fx_invoke_names(f.w, 1, "r1");
  j = fx_invoke_names(f.w, 2, "r2");
  fx_by(f.w, 1);
  fx_ok(f.w, 11, i);
  delete_msg(12, 0, "r1");
  fx_fail(f.w, 3002, j);
  fx_by(f.w, 1);
  /* b's invocation failed for r2; it comes back, now to main. */
  receive(31000, 0, "r2");
  i = fx_invoke_names(f.w, 31001, "r2");
  fx_ok(f.w, 31011, i);
  delete_msg(31012, 0, "r2");
  fx_end(f.w, 40000, 0);
  fx_assert_quiet(&f, "shared_queue_holder");
  fx_assert_quiet(&f, "sqs_batch");
}

/* ---- no_loss after a failed destination send (FAULT-6) --------------- */

/* r1, r2 fail once with MaximumRetryAttempts 0; their failure record's
 * first send fails (the destination is faulted). */
static size_t failed_send(struct esmc_buf *p)
{
  size_t fe;
  uint64_t i;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  fx_set_destination(&f, DLQ);
  f.sc.config.maximum_retry_attempts = 0;
  fe = fx_add_fault(&f, 25, FC(ESMC_FC_SEND_TO_DESTINATION), ESMC_E_SERVICE,
                    1000, -1, 1);
  fx_build(&f);
  fx_start(&f);
  i = fx_invoke_names(f.w, 10, "r1 r2");
  fx_fail(f.w, 20, i);
  fx_fault(f.w, 25, fe, 0, 0);
  fx_dest_payload(f.w, p, "RetryAttemptsExhausted", "r1", "r2", 1,
                  "Unhandled");
  fx_dest_status(f.w, 30, ESMC_E_SERVICE, DLQ, p->data);
  return fe;
}

static void test_failed_send_then_checkpoint_fires(void **state)
{
  struct esmc_buf p;
  (void)state;
  esmc_buf_init(&p);
  failed_send(&p);
  /* The mapper treats the failed send as done and moves on. */
  fx_checkpoint_id(f.w, 31, "r2");
  fx_end(f.w, 10000, 0);
  fx_assert_fires(&f, "no_loss", "r1 (seq ",
                  "was discarded without a failure record to " DLQ,
                  "its failure record was last sent at t=30 ms, but that send "
                  "failed (ESMC_E_SERVICE)",
                  "a failed send does not count as reported (FAULT-6)",
                  (char *)NULL);
  assert_int_equal(fx_check(&f, "no_loss")->more, 1); /* r2 too */
  esmc_buf_free(&p);
}

static void test_failed_send_retried_is_quiet(void **state)
{
  struct esmc_buf p;
  size_t fe;
  (void)state;
  esmc_buf_init(&p);
  fe = failed_send(&p);
  fx_fault(f.w, 1000, fe, 1, 0);
  fx_dest(f.w, 1030, DLQ, p.data);
  fx_checkpoint_id(f.w, 1031, "r2");
  fx_end(f.w, 11031, 0);
  fx_assert_quiet(&f, "no_loss");
  esmc_buf_free(&p);
}

/* ---- no_loss after an expired iterator (FAULT-2) ---------------------- */

/* r1..r3 at t=0 and r4, r5 at t=5000; at t=100 get_records throws
 * ExpiredIteratorException (an injected fault until t=200). */
static void expired_iterator(void)
{
  size_t fe;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 3, 0, 0, "k1");
  fx_add_records(&f, 2, 0, 5000, "k1");
  fe = fx_add_fault(&f, 100, FC(ESMC_FC_GET_RECORDS),
                    ESMC_E_EXPIRED_ITERATOR, 200, -1, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 100, fe, 0, 0);
  fx_get_records(f.w, 150, 0, ESMC_E_EXPIRED_ITERATOR, 0, 0);
  fx_fault(f.w, 200, fe, 1, 0);
}

static void test_expired_iterator_then_latest_fires(void **state)
{
  uint64_t i;
  (void)state;
  expired_iterator();
  /* The mapper gets a new iterator at LATEST: r1..r3 are never read. */
  fx_iterator(f.w, 250, 0, ESMC_ITER_LATEST, 3);
  fx_append_between(f.w, 0, 5000);
  fx_get_records(f.w, 6000, 0, ESMC_OK, 3, 2);
  i = fx_invoke_names(f.w, 6010, "r4 r5");
  fx_ok(f.w, 6020, i);
  fx_checkpoint_id(f.w, 6021, "r5");
  fx_end(f.w, 16021, 0);
  fx_assert_fires(&f, "no_loss", "r1 (seq ",
                  "was skipped by the checkpoint at seq ",
                  "it had not been delivered; at t=250 ms, after get_records "
                  "failed with ESMC_E_EXPIRED_ITERATOR at t=150 ms, the mapper "
                  "took a LATEST iterator that starts past it while it was "
                  "still in the stream (FAULT-2", (char *)NULL);
  assert_int_equal(fx_check(&f, "no_loss")->more, 2); /* r2, r3 */
}

static void test_expired_iterator_own_position_quiet(void **state)
{
  uint64_t i;
  (void)state;
  expired_iterator();
  /* A new iterator at its own position (nothing was read yet). */
  fx_iterator(f.w, 250, 0, ESMC_ITER_TRIM_HORIZON, 0);
  fx_get_records(f.w, 260, 0, ESMC_OK, 0, 3);
  i = fx_invoke_names(f.w, 270, "r1 r2 r3");
  fx_ok(f.w, 280, i);
  fx_checkpoint_id(f.w, 281, "r3");
  fx_append_between(f.w, 0, 5000);
  fx_get_records(f.w, 6000, 0, ESMC_OK, 3, 2);
  i = fx_invoke_names(f.w, 6010, "r4 r5");
  fx_ok(f.w, 6020, i);
  fx_checkpoint_id(f.w, 6021, "r5");
  fx_end(f.w, 16021, 0);
  fx_assert_quiet(&f, "no_loss");
}

/* ---- no_loss after a trim (FAULT-3) ----------------------------------- */

/* r1, r2 at t=0, r3 at t=1500, r4 at t=5000; at t=2000 the records
 * appended before t=1000 trim out (r1, r2); r3 stays. The mapper reads
 * nothing until t=3000, where get_records says TrimmedDataAccess. */
static void trimmed(void)
{
  size_t te;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  fx_add_records(&f, 1, 0, 1500, "k1");
  fx_add_records(&f, 1, 0, 5000, "k1");
  te = fx_add_trim(&f, 2000, 0, 1000);
  fx_build(&f);
  assert_int_equal(f.w->records[fx_rid(f.w, "r1")].trim_ms, 2000);
  assert_int_equal(f.w->records[fx_rid(f.w, "r3")].trim_ms,
                   1500 + f.sc.retention_ms);
  fx_start(&f);
  fx_append_between(f.w, 0, 1500);
  fx_fault(f.w, 2000, te, 0, 0);
  fx_get_records(f.w, 3000, 0, ESMC_E_TRIMMED, 0, 0);
}

static void test_trimmed_records_are_not_lost(void **state)
{
  uint64_t i;
  (void)state;
  trimmed();
  /* TRIM_HORIZON now starts at r3, the first record still there. */
  fx_iterator(f.w, 3010, 0, ESMC_ITER_TRIM_HORIZON, 2);
  fx_get_records(f.w, 3020, 0, ESMC_OK, 2, 1);
  i = fx_invoke_names(f.w, 3030, "r3");
  fx_ok(f.w, 3040, i);
  fx_checkpoint_id(f.w, 3041, "r3");
  fx_append_between(f.w, 1500, 5000);
  fx_get_records(f.w, 6000, 0, ESMC_OK, 3, 1);
  i = fx_invoke_names(f.w, 6010, "r4");
  fx_ok(f.w, 6020, i);
  fx_checkpoint_id(f.w, 6021, "r4");
  fx_end(f.w, 16021, 0);
  fx_assert_quiet(&f, "no_loss");
  fx_assert_quiet(&f, "at_least_once");
}

static void test_trimmed_records_pending_are_not_lost(void **state)
{
  (void)state;
  trimmed();
  /* The run ends with r1, r2 trimmed and never read, r3 and r4 done. */
  {
    uint64_t i;
    fx_iterator(f.w, 3010, 0, ESMC_ITER_TRIM_HORIZON, 2);
    fx_append_between(f.w, 1500, 5000);
    fx_get_records(f.w, 6000, 0, ESMC_OK, 2, 2);
    i = fx_invoke_names(f.w, 6010, "r3 r4");
    fx_ok(f.w, 6020, i);
  }
  fx_end(f.w, 16021, 0);
  assert_int_equal(f.w->records[fx_rid(f.w, "r1")].trim_ms, 2000);
  fx_assert_quiet(&f, "no_loss");
}

static void test_trim_then_latest_skips_untrimmed_fires(void **state)
{
  const struct esmc_violation *v;
  uint64_t i;
  (void)state;
  trimmed();
  /* Resuming at LATEST skips r3, which was still in the stream. */
  fx_iterator(f.w, 3010, 0, ESMC_ITER_LATEST, 3);
  fx_append_between(f.w, 1500, 5000);
  fx_get_records(f.w, 6000, 0, ESMC_OK, 3, 1);
  i = fx_invoke_names(f.w, 6010, "r4");
  fx_ok(f.w, 6020, i);
  fx_checkpoint_id(f.w, 6021, "r4");
  fx_end(f.w, 16021, 0);
  fx_assert_fires(&f, "no_loss", "r3 (seq ", "was skipped by the checkpoint",
                  "after get_records failed with ESMC_E_TRIMMED at t=3000 ms, "
                  "the mapper took a LATEST iterator that starts past it",
                  "FAULT-3: after a trim the mapper resumes at TRIM_HORIZON",
                  (char *)NULL);
  v = fx_check(&f, "no_loss");
  assert_int_equal(v->more, 0); /* r1, r2 trimmed: not lost */
}

/* r1 fails for a minute (MaximumRetryAttempts -1) while r2, r3 wait; at
 * t=60000 the records appended before t=2500 (r1, r2) trim out. The mapper
 * drops r1, meets TrimmedDataAccess and resumes at TRIM_HORIZON (r3). */
static void trim_during_retries(int stop_before_trim)
{
  size_t te;
  uint64_t i;
  int64_t t;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 1, 0, 0, "k1");
  fx_add_records(&f, 1, 0, 1000, "k1");
  fx_add_records(&f, 1, 0, 3000, "k1");
  te = fx_add_trim(&f, 60000, 0, 2500);
  fx_build(&f);
  fx_start(&f);
  fx_append_between(f.w, 0, 3000);
  for(t = 5000; t < 60000; t += 10000) {
    i = fx_invoke_names(f.w, t, "r1");
    fx_fail(f.w, t + 10, i);
  }
  if(stop_before_trim)
    return;
  fx_fault(f.w, 60000, te, 0, 0);
  fx_checkpoint_id(f.w, 64000, "r1");
  fx_get_records(f.w, 64000, 0, ESMC_E_TRIMMED, 1, 0);
  fx_iterator(f.w, 64001, 0, ESMC_ITER_TRIM_HORIZON, 2);
}

static void test_trim_during_retries_quiet(void **state)
{
  uint64_t i;
  (void)state;
  trim_during_retries(0);
  i = fx_invoke_names(f.w, 64010, "r3");
  fx_ok(f.w, 64020, i);
  fx_checkpoint_id(f.w, 64021, "r3");
  fx_end(f.w, 74021, 0);
  /* r2 trimmed before it was read: no order, retry or loss problem. */
  fx_assert_quiet(&f, "shard_order");
  fx_assert_quiet(&f, "retry_limit");
  fx_assert_quiet(&f, "no_loss");
}

static void test_trim_does_not_excuse_early_order(void **state)
{
  uint64_t i;
  (void)state;
  trim_during_retries(1);
  /* Invoking r3 before the trim, while r2 is still there, is out of
   * order. */
  fx_checkpoint_id(f.w, 58000, "r1");
  i = fx_invoke_names(f.w, 59000, "r3");
  fx_ok(f.w, 59010, i);
  fx_end(f.w, 59500, 1);
  fx_assert_fires(&f, "shard_order", "r3 (seq ", "while the earlier r2 (seq ",
                  (char *)NULL);
}

/* ---- no_loss while a fault never heals (FAULT-1) ---------------------- */

static void test_never_healing_fault_no_loss_quiet(void **state)
{
  size_t fe;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  fe = fx_add_fault(&f, 0, FC(ESMC_FC_GET_RECORDS), ESMC_E_ACCESS_DENIED,
                    INT64_MAX, -1, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 0, fe, 0, 0);
  fx_get_records(f.w, 10, 0, ESMC_E_ACCESS_DENIED, 0, 0);
  fx_get_records(f.w, 60000, 0, ESMC_E_ACCESS_DENIED, 0, 0);
  /* The run reaches its horizon with the mapper still locked out. */
  fx_end(f.w, 3600000, 1);
  f.outcome.end = ESMC_END_HORIZON;
  fx_assert_quiet(&f, "no_loss");
}

static void test_healed_fault_no_loss_fires(void **state)
{
  size_t fe;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);
  fx_add_records(&f, 2, 0, 0, "k1");
  fe = fx_add_fault(&f, 0, FC(ESMC_FC_GET_RECORDS), ESMC_E_ACCESS_DENIED,
                    60000, -1, 1);
  fx_build(&f);
  fx_start(&f);
  fx_fault(f.w, 0, fe, 0, 0);
  fx_get_records(f.w, 10, 0, ESMC_E_ACCESS_DENIED, 0, 0);
  fx_fault(f.w, 60000, fe, 1, 0);
  /* Healed at one minute, but nothing is read in the hour after. */
  fx_end(f.w, 3600000, 1);
  f.outcome.end = ESMC_END_HORIZON;
  fx_assert_fires(&f, "no_loss", "r1 (seq ", "was never processed",
                  (char *)NULL);
}

/* ---- FIFO groups across mappings (FIFO-1, FIFO-2 as cross properties) -- */

/* A FIFO queue with a1, a2 of group "a" and the mappings main and b. */
static void shared_fifo(void)
{
  size_t k;
  fx_scenario(&f, ESMC_SOURCE_SQS_FIFO, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  for(k = 0; k < 2; k++) {
    size_t r = fx_add_record(&f, "a", 0, 0);
    f.sc.records[r].group = esmc_strdup("a");
    assert_non_null(f.sc.records[r].group);
  }
  fx_add_mapping(&f, "b");
  fx_build(&f);
  fx_append(f.w, 0, 0, 0, 2);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_create(f.w, 0, ESMC_OK, NULL);
  fx_by(f.w, 1);
}

static void test_fifo_group_across_mappings_quiet(void **state)
{
  uint64_t i;
  (void)state;
  shared_fifo();
  /* b takes a1 and deletes it; only then main gets a2. In main's own view
   * a1 is never deleted, yet the group was handled in order. */
  receive(0, 1, "r1");
  i = fx_invoke_names(f.w, 1, "r1");
  fx_by(f.w, 1);
  fx_ok(f.w, 11, i);
  fx_by(f.w, 1);
  delete_msg(12, 1, "r1");
  receive(13, 0, "r2");
  i = fx_invoke_names(f.w, 14, "r2");
  fx_ok(f.w, 24, i);
  delete_msg(25, 0, "r2");
  fx_end(f.w, 10025, 0);
  fx_assert_quiet(&f, "fifo_group_order");
  fx_assert_quiet(&f, "fifo_group_exclusive");
  fx_assert_quiet(&f, "shared_queue_holder");
  fx_assert_quiet(&f, "sqs_no_loss");
}

static void test_fifo_group_across_mappings_fires(void **state)
{
  uint64_t i, j;
  (void)state;
  shared_fifo();
  /* main invokes a2 while b still works on a1. */
  receive(0, 1, "r1");
  i = fx_invoke_names(f.w, 1, "r1");
  fx_by(f.w, 1);
  receive(2, 0, "r2");
  j = fx_invoke_names(f.w, 3, "r2");
  fx_ok(f.w, 11, i);
  fx_by(f.w, 1);
  delete_msg(12, 1, "r1");
  fx_ok(f.w, 13, j);
  delete_msg(14, 0, "r2");
  fx_end(f.w, 10014, 0);
  fx_assert_fires(&f, "fifo_group_order",
                  "invocation #2 of mapping main at t=3 ms carries r2",
                  "before the earlier r1", "that happened only at t=12 ms",
                  (char *)NULL);
  fx_assert_fires(&f, "fifo_group_exclusive",
                  "invocation #2 of mapping main started at t=3 ms",
                  "while invocation #1 of mapping b", (char *)NULL);
}

/* ---- sqs_no_loss with competing mappings (MULTI-2, MULTI-3) ----------- */

static void test_sqs_no_loss_other_mapping_deleted_quiet(void **state)
{
  size_t i, by[2] = {0, 0}, b_created = 0;
  (void)state;
  fx_scenario(&f, ESMC_SOURCE_SQS, 1);
  f.sc.config.starting_position = ESMC_START_UNSET;
  fx_add_records(&f, 2, 0, 0, "g1");
  fx_add_mapping(&f, "b");
  f.sc.extra[0].create_at_ms = 1000;
  fx_build(&f);
  assert_int_equal(esmc_world_run(f.w, esmc_adapter_reference(ESMC_ABI_VERSION),
                                  &f.outcome),
                   0);
  for(i = 0; i < f.w->hist.n; i++) {
    const struct esmc_hevent *e = &f.w->hist.ev[i];
    if(e->kind == ESMC_H_DELETE && e->b == 1 && e->mapping < 2)
      by[e->mapping]++;
    if(e->kind == ESMC_H_CREATE && e->mapping == 1 && e->status == ESMC_OK)
      b_created = 1;
  }
  /* main deleted both messages before b existed: in b's view they are
   * pending (never received, never deleted there) but the world has them
   * deleted. They are not "still in the queue". */
  assert_int_equal(by[0], 2);
  assert_int_equal(by[1], 0);
  assert_true(b_created);
  fx_assert_quiet(&f, "sqs_no_loss");
  fx_assert_quiet(&f, "shared_queue_holder");
  fx_assert_quiet(&f, "liveness");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_backoff_hammering_fires, teardown),
      cmocka_unit_test_teardown(test_backoff_ten_per_second_is_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_backoff_counts_per_shard_and_call,
                                teardown),
      cmocka_unit_test_teardown(test_backoff_ignores_expired_iterators,
                                teardown),
      cmocka_unit_test_teardown(test_backoff_queue_receive_fires, teardown),
      cmocka_unit_test_teardown(test_backoff_destination_per_shard_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_backoff_destination_fires, teardown),
      cmocka_unit_test_teardown(test_holder_stale_receipt_fires, teardown),
      cmocka_unit_test_teardown(test_holder_never_received_fires, teardown),
      cmocka_unit_test_teardown(test_holder_injected_duplicate_quiet, teardown),
      cmocka_unit_test_teardown(test_holder_competing_mappings_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_failed_send_then_checkpoint_fires,
                                teardown),
      cmocka_unit_test_teardown(test_failed_send_retried_is_quiet, teardown),
      cmocka_unit_test_teardown(test_expired_iterator_then_latest_fires,
                                teardown),
      cmocka_unit_test_teardown(test_expired_iterator_own_position_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_trimmed_records_are_not_lost, teardown),
      cmocka_unit_test_teardown(test_trimmed_records_pending_are_not_lost,
                                teardown),
      cmocka_unit_test_teardown(test_trim_then_latest_skips_untrimmed_fires,
                                teardown),
      cmocka_unit_test_teardown(test_trim_during_retries_quiet, teardown),
      cmocka_unit_test_teardown(test_trim_does_not_excuse_early_order,
                                teardown),
      cmocka_unit_test_teardown(test_never_healing_fault_no_loss_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_healed_fault_no_loss_fires, teardown),
      cmocka_unit_test_teardown(test_fifo_group_across_mappings_quiet,
                                teardown),
      cmocka_unit_test_teardown(test_fifo_group_across_mappings_fires,
                                teardown),
      cmocka_unit_test_teardown(test_sqs_no_loss_other_mapping_deleted_quiet,
                                teardown),
  };
  return cmocka_run_group_tests_name("checks.fault", tests, NULL, NULL);
}

/*
 * test_world_sqs.c: the world's SQS queues (ABI v2): visibility, receive
 * counts, long polling, redrive, receipt handles, FIFO groups and
 * deduplication, retention, delay, duplicates, payload decoding,
 * quiescence and determinism. A small in-test queue mapper (qm) drives the
 * host calls; its hooks decide what it does on each callback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "world_fixture.h"

/* ------------------------------------------------------------------------ */
/* The queue mapper. */

#define QM_MAX_RECV 64

struct qm_recv {
  int64_t t;        /* relative */
  size_t count;
  char ids[10][40];
  char handles[10][64];
  uint32_t counts[10];
  const struct esmc_message *msgs[10];
};

static struct {
  const struct esmc_host *host;
  int64_t epoch;
  uint32_t max;       /* receive_messages arguments */
  int32_t wait;
  int32_t vis;
  int auto_rereceive; /* receive again after every completion */
  int process;        /* invoke with each batch, delete after success */
  int64_t poll_every_ms; /* >0: receive on a timer instead */
  struct qm_recv recv[QM_MAX_RECV];
  size_t nrecv;
  esmc_invocation last_inv;
  const struct esmc_message *inflight[10];
  size_t ninflight;
} qm;

static void qm_reset(void)
{
  memset(&qm, 0, sizeof(qm));
  qm.max = 10;
  qm.vis = -1;
}

static void qm_receive(void)
{
  esmc_receive r = 0;
  assert_int_equal(qm.host->receive_messages(qm.host->ctx, qm.max, qm.wait,
                                             qm.vis, &r),
                   ESMC_OK);
  assert_true(r != 0);
}

static esmc_status qm_create(const struct esmc_host *host,
                             const struct esmc_mapping_config *cfg,
                             void **mapper, struct esmc_error *err)
{
  (void)err;
  assert_true(host->struct_size >= sizeof(struct esmc_host));
  assert_non_null(host->receive_messages);
  assert_true(cfg->source == ESMC_SOURCE_SQS ||
              cfg->source == ESMC_SOURCE_SQS_FIFO);
  qm.host = host;
  *mapper = &qm;
  if(qm.poll_every_ms > 0)
    host->set_timer(host->ctx, host->now(host->ctx), 1);
  else
    qm_receive();
  return ESMC_OK;
}

static esmc_status qm_timer(void *mapper, uint64_t token)
{
  (void)mapper;
  (void)token;
  qm_receive();
  qm.host->set_timer(qm.host->ctx, qm.host->now(qm.host->ctx) +
                                       qm.poll_every_ms, 1);
  return ESMC_OK;
}

/* An SQS event for the messages (EVT-SQS-1). */
static void qm_payload(struct esmc_buf *b, const struct esmc_world *w,
                       const struct esmc_message *const *m, size_t n)
{
  size_t i, k;
  esmc_buf_puts(b, "{\"Records\":[");
  for(i = 0; i < n; i++) {
    esmc_buf_puts(b, i ? ",{\"messageId\":" : "{\"messageId\":");
    esmc_buf_json_str(b, m[i]->message_id, strlen(m[i]->message_id));
    esmc_buf_puts(b, ",\"receiptHandle\":");
    esmc_buf_json_str(b, m[i]->receipt_handle, strlen(m[i]->receipt_handle));
    esmc_buf_puts(b, ",\"body\":");
    esmc_buf_json_str(b, m[i]->body, m[i]->body_len);
    esmc_buf_printf(b, ",\"attributes\":{\"ApproximateReceiveCount\":\"%u\","
                    "\"SentTimestamp\":\"%" PRId64 "\",\"SenderId\":\"%s\","
                    "\"ApproximateFirstReceiveTimestamp\":\"%" PRId64 "\"",
                    m[i]->approximate_receive_count,
                    (int64_t)m[i]->sent_timestamp_ms, m[i]->sender_id,
                    (int64_t)m[i]->first_receive_timestamp_ms);
    if(m[i]->sequence_number)
      esmc_buf_printf(b, ",\"SequenceNumber\":\"%s\",\"MessageGroupId\":\"%s\","
                      "\"MessageDeduplicationId\":\"%s\"",
                      m[i]->sequence_number, m[i]->message_group_id,
                      m[i]->message_deduplication_id);
    esmc_buf_puts(b, "},\"messageAttributes\":{");
    for(k = 0; k < m[i]->attribute_count; k++) {
      const struct esmc_message_attribute *a = &m[i]->attributes[k];
      esmc_buf_printf(b, "%s\"%s\":{\"stringValue\":\"%s\",\"stringListValues\""
                      ":[],\"binaryListValues\":[],\"dataType\":\"%s\"}",
                      k ? "," : "", a->name, a->string_value, a->data_type);
    }
    esmc_buf_puts(b, "}");
    if(m[i]->md5_of_message_attributes)
      esmc_buf_printf(b, ",\"md5OfMessageAttributes\":\"%s\"",
                      m[i]->md5_of_message_attributes);
    esmc_buf_printf(b, ",\"md5OfBody\":\"%s\",\"eventSource\":\"aws:sqs\","
                    "\"eventSourceARN\":\"%s\",\"awsRegion\":\"%s\"}",
                    m[i]->md5_of_body, w->stream_arn, w->region);
  }
  esmc_buf_puts(b, "]}");
}

static const struct esmc_world *qm_world;

static esmc_status qm_received(void *mapper, esmc_receive rcv,
                               const struct esmc_receive_result *res)
{
  struct qm_recv *r;
  size_t i;
  (void)mapper;
  (void)rcv;
  assert_int_equal(res->status, ESMC_OK);
  assert_true(res->count <= 10);
  if(qm.nrecv < QM_MAX_RECV) {
    r = &qm.recv[qm.nrecv++];
    r->t = qm.host->now(qm.host->ctx) - qm.epoch;
    r->count = res->count;
    for(i = 0; i < res->count; i++) {
      snprintf(r->ids[i], sizeof(r->ids[i]), "%s", res->messages[i]->message_id);
      snprintf(r->handles[i], sizeof(r->handles[i]), "%s",
               res->messages[i]->receipt_handle);
      r->counts[i] = res->messages[i]->approximate_receive_count;
      r->msgs[i] = res->messages[i];
    }
  }
  if(qm.process && res->count) {
    struct esmc_buf b;
    esmc_buf_init(&b);
    qm_payload(&b, qm_world, res->messages, res->count);
    assert_int_equal(qm.host->invoke(qm.host->ctx, (const uint8_t *)b.data,
                                     b.len, &qm.last_inv),
                     ESMC_OK);
    esmc_buf_free(&b);
    for(i = 0; i < res->count; i++)
      qm.inflight[i] = res->messages[i];
    qm.ninflight = res->count;
    return ESMC_OK;
  }
  if(qm.auto_rereceive)
    qm_receive();
  return ESMC_OK;
}

static esmc_status qm_complete(void *mapper, esmc_invocation inv,
                               const struct esmc_invoke_result *r)
{
  size_t i;
  (void)mapper;
  (void)inv;
  if(r->outcome == ESMC_INVOKE_OK)
    for(i = 0; i < qm.ninflight; i++)
      qm.host->delete_message(qm.host->ctx, qm.inflight[i]->receipt_handle);
  qm.ninflight = 0;
  if(qm.auto_rereceive)
    qm_receive();
  return ESMC_OK;
}

static void qm_destroy(void *mapper) { (void)mapper; }

static const struct esmc_adapter *qm_adapter(void)
{
  static struct esmc_adapter a;
  memset(&a, 0, sizeof(a));
  a.abi_version = ESMC_ABI_VERSION;
  a.struct_size = sizeof(a);
  a.name = "qm";
  a.version = "1";
  a.capabilities = ESMC_CAP_SQS | ESMC_CAP_SQS_FIFO;
  a.create = qm_create;
  a.on_timer = qm_timer;
  a.on_invoke_complete = qm_complete;
  a.destroy = qm_destroy;
  a.on_receive_complete = qm_received;
  return &a;
}

#define QHEAD(id, src)                                                         \
  "{\"id\":\"" id "\",\"description\":\"unit test\",\"rules\":[\"GEN-2\"],"   \
  "\"tags\":[],\"requires\":[\"sqs\"],\"source\":\"" src "\","

struct qrun {
  struct esmc_scenario sc;
  struct esmc_world *w;
  struct esmc_run_outcome out;
};

static void q_build(struct qrun *r, const char *json, uint64_t seed)
{
  memset(r, 0, sizeof(*r));
  wf_load(&r->sc, json);
  assert_int_equal(esmc_world_new(&r->sc, seed, &r->w), 0);
  qm.epoch = r->w->epoch_ms;
  qm_world = r->w;
}

static void q_run(struct qrun *r, const char *json, uint64_t seed)
{
  q_build(r, json, seed);
  assert_int_equal(esmc_world_run(r->w, qm_adapter(), &r->out), 0);
}

static void q_free(struct qrun *r)
{
  esmc_world_free(r->w);
  esmc_scenario_free(&r->sc);
  qm_world = NULL;
}

static uint32_t rid_of(const struct esmc_world *w, const char *id)
{
  const struct esmc_wrecord *r = esmc_world_record_by_id(w, id);
  assert_non_null(r);
  return r->rid;
}

/* ------------------------------------------------------------------------ */

/* A message that is never deleted comes back after each visibility timeout,
 * with ApproximateReceiveCount one higher and a new receipt handle. */
static void test_visibility_and_counts(void **state)
{
  struct qrun r;
  (void)state;
  qm_reset();
  qm.wait = 20;
  qm.auto_rereceive = 1;
  q_run(&r, QHEAD("q-vis", "sqs")
            "\"queue\":{\"visibility_timeout_s\":5},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\",\"body\":\"hello\"}],"
            "\"run\":{\"until_ms\":12500}}", 1);
  {
    size_t i, got = 0;
    int64_t ts[3] = {0, 5000, 10000};
    for(i = 0; i < qm.nrecv; i++) {
      if(!qm.recv[i].count)
        continue;
      assert_true(got < 3);
      assert_int_equal(qm.recv[i].t, ts[got]);
      assert_int_equal(qm.recv[i].counts[0], got + 1);
      assert_string_equal(qm.recv[i].ids[0], r.w->records[0].seq);
      assert_string_equal(qm.recv[i].msgs[0]->body, "hello");
      assert_int_equal(qm.recv[i].msgs[0]->first_receive_timestamp_ms,
                       r.w->epoch_ms);
      if(got)
        assert_string_not_equal(qm.recv[i].handles[0], qm.recv[0].handles[0]);
      got++;
    }
    assert_int_equal(got, 3);
  }
  /* MD5 of "hello". */
  assert_string_equal(r.w->records[0].md5_of_body,
                      "5d41402abc4b2a76b9719d911017c592");
  assert_int_equal(r.out.end, ESMC_END_HORIZON);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_RECEIVE), 4);
  q_free(&r);
}

/* A long poll ends when a message arrives, or at its wait time with none. */
static void test_long_poll(void **state)
{
  struct qrun r;
  (void)state;
  qm_reset();
  qm.wait = 20;
  q_run(&r, QHEAD("q-lp", "sqs")
            "\"mapping\":{},\"records\":[{\"id\":\"m1\",\"at_ms\":3000}],"
            "\"run\":{\"until_ms\":30000}}", 1);
  assert_int_equal(qm.nrecv, 1);
  assert_int_equal(qm.recv[0].t, 3000);
  assert_int_equal(qm.recv[0].count, 1);
  q_free(&r);

  qm_reset();
  qm.wait = 5;
  qm.auto_rereceive = 1;
  q_run(&r, QHEAD("q-lp2", "sqs")
            "\"mapping\":{},\"records\":[{\"id\":\"m1\",\"at_ms\":12000}],"
            "\"run\":{\"until_ms\":14000}}", 1);
  assert_true(qm.nrecv >= 3);
  assert_int_equal(qm.recv[0].t, 5000);
  assert_int_equal(qm.recv[0].count, 0);
  assert_int_equal(qm.recv[1].t, 10000);
  assert_int_equal(qm.recv[2].t, 12000);
  assert_int_equal(qm.recv[2].count, 1);
  q_free(&r);

  /* Wait 0 with nothing visible: at once, empty. */
  qm_reset();
  q_run(&r, QHEAD("q-lp3", "sqs")
            "\"mapping\":{},\"records\":[{\"id\":\"m1\",\"at_ms\":1000}],"
            "\"run\":{\"until_ms\":2000}}", 1);
  assert_int_equal(qm.nrecv, 1);
  assert_int_equal(qm.recv[0].t, 0);
  assert_int_equal(qm.recv[0].count, 0);
  q_free(&r);
}

/* maxReceiveCount 2: two receives, then the dead-letter queue (OBS-8). */
static void test_redrive(void **state)
{
  struct qrun r;
  const struct esmc_hevent *e;
  struct esmc_queue_attributes qa;
  (void)state;
  qm_reset();
  qm.wait = 20;
  qm.auto_rereceive = 1;
  q_run(&r, QHEAD("q-dlq", "sqs")
            "\"queue\":{\"name\":\"orders\",\"visibility_timeout_s\":1,"
            "\"max_receive_count\":2},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\"}]}", 1);
  assert_int_equal(qm.recv[0].count, 1);
  assert_int_equal(qm.recv[1].count, 1);
  assert_int_equal(qm.recv[1].t, 1000);
  assert_int_equal(qm.recv[1].counts[0], 2);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_DEAD_LETTER), 1);
  e = wf_nth(&r.w->hist, ESMC_H_DEAD_LETTER, 0);
  assert_int_equal(e->t, 2000);
  assert_int_equal(e->a, rid_of(r.w, "m1"));
  assert_int_equal(e->b, 2);
  assert_int_equal(e->shard, ESMC_NO_SHARD);
  assert_int_equal(esmc_world_message_state(r.w, 0, NULL),
                   ESMC_MSG_DEAD_LETTER);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  assert_string_equal(r.w->stream_arn, "arn:aws:sqs:us-east-1:123456789012:orders");
  assert_string_equal(r.w->dlq_arn,
                      "arn:aws:sqs:us-east-1:123456789012:orders-dlq");
  /* After the run the incarnation is gone; check attributes on a new run. */
  q_free(&r);
  (void)qa;
}

/* Receipt handles: the latest deletes, a stale one is ignored, an unknown
 * one is not found; visibility changes need the latest handle. */
static char saved_handle[64];
static int handle_step;

static esmc_status hq_received(void *mapper, esmc_receive rcv,
                               const struct esmc_receive_result *res)
{
  const struct esmc_host *h = qm.host;
  struct esmc_queue_attributes qa;
  (void)mapper;
  (void)rcv;
  if(!res->count)
    return ESMC_OK;
  if(handle_step == 0) {
    snprintf(saved_handle, sizeof(saved_handle), "%s",
             res->messages[0]->receipt_handle);
    assert_int_equal(h->get_queue_attributes(h->ctx, &qa), ESMC_OK);
    assert_int_equal(qa.visibility_timeout_s, 1);
    assert_int_equal(qa.max_receive_count, 0);
    assert_null(qa.dead_letter_target_arn);
    assert_int_equal(qa.fifo, 0);
    {
      const struct esmc_shard *sh;
      size_t n;
      assert_int_equal(h->list_shards(h->ctx, &sh, &n), ESMC_E_UNSUPPORTED);
    }
    handle_step = 1;
  } else if(handle_step == 1) {
    assert_int_equal(h->change_message_visibility(h->ctx, saved_handle, 5),
                     ESMC_E_STATE);
    assert_int_equal(h->delete_message(h->ctx, saved_handle), ESMC_OK);
    assert_int_equal(h->delete_message(h->ctx, "AQEBnothing-7"),
                     ESMC_E_NOT_FOUND);
    assert_int_equal(h->change_message_visibility(
                         h->ctx, res->messages[0]->receipt_handle, 43201),
                     ESMC_E_INVALID_PARAMETER);
    assert_int_equal(h->change_message_visibility(
                         h->ctx, res->messages[0]->receipt_handle, 2),
                     ESMC_OK);
    assert_int_equal(h->delete_message(h->ctx,
                                       res->messages[0]->receipt_handle),
                     ESMC_OK);
    handle_step = 2;
  }
  return ESMC_OK;
}

static void test_receipt_handles(void **state)
{
  struct qrun r;
  struct esmc_adapter a;
  const struct esmc_hevent *e;
  (void)state;
  qm_reset();
  handle_step = 0;
  qm.poll_every_ms = 1000;
  a = *qm_adapter();
  a.on_receive_complete = hq_received;
  q_build(&r, QHEAD("q-rh", "sqs")
              "\"queue\":{\"visibility_timeout_s\":1},\"mapping\":{},"
              "\"records\":[{\"id\":\"m1\"}]}", 1);
  assert_int_equal(esmc_world_run(r.w, &a, &r.out), 0);
  assert_int_equal(handle_step, 2);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_DELETE), 3);
  e = wf_nth(&r.w->hist, ESMC_H_DELETE, 0);
  assert_int_equal(e->status, ESMC_OK);
  assert_int_equal(e->b, 0);
  assert_int_equal(e->a, 0);
  assert_string_equal(e->text, saved_handle);
  e = wf_nth(&r.w->hist, ESMC_H_DELETE, 1);
  assert_int_equal(e->status, ESMC_E_NOT_FOUND);
  assert_int_equal(e->a, -1);
  e = wf_nth(&r.w->hist, ESMC_H_DELETE, 2);
  assert_int_equal(e->b, 1);
  e = wf_nth(&r.w->hist, ESMC_H_VISIBILITY, 2);
  assert_int_equal(e->status, ESMC_OK);
  assert_int_equal(e->b, 2);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_QUEUE_ATTRIBUTES), 1);
  assert_int_equal(esmc_world_message_state(r.w, 0, NULL), ESMC_MSG_DELETED);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  q_free(&r);
}

/* FIFO: an in-flight message blocks its group; other groups go on; one
 * receive may hold several groups, oldest first per group. */
static void test_fifo_groups(void **state)
{
  struct qrun r;
  (void)state;
  qm_reset();
  qm.max = 1;
  qm.poll_every_ms = 1000;
  q_run(&r, QHEAD("q-fifo", "sqs_fifo")
            "\"queue\":{\"content_based_deduplication\":true,"
            "\"visibility_timeout_s\":30},\"mapping\":{},"
            "\"records\":[{\"id\":\"a1\",\"group\":\"A\",\"body\":\"a1\"},"
            "{\"id\":\"a2\",\"group\":\"A\",\"body\":\"a2\"},"
            "{\"id\":\"b1\",\"group\":\"B\",\"body\":\"b1\"}],"
            "\"run\":{\"until_ms\":3500}}", 1);
  assert_true(qm.nrecv >= 3);
  assert_int_equal(qm.recv[0].count, 1);
  assert_string_equal(qm.recv[0].ids[0], r.w->records[rid_of(r.w, "a1")].seq);
  assert_int_equal(qm.recv[1].count, 1);
  assert_string_equal(qm.recv[1].ids[0], r.w->records[rid_of(r.w, "b1")].seq);
  assert_int_equal(qm.recv[2].count, 0); /* a2 waits behind a1 */
  assert_string_equal(qm.recv[0].msgs[0]->message_group_id, "A");
  assert_non_null(qm.recv[0].msgs[0]->sequence_number);
  assert_int_equal(strlen(qm.recv[0].msgs[0]->message_deduplication_id), 64);
  q_free(&r);

  /* Mixed groups in one receive; after a delete the group moves on. */
  qm_reset();
  qm.process = 1;
  qm.auto_rereceive = 1;
  qm.wait = 20;
  q_run(&r, QHEAD("q-fifo2", "sqs_fifo")
            "\"queue\":{\"content_based_deduplication\":true},\"mapping\":{},"
            "\"records\":[{\"id\":\"a1\",\"group\":\"A\",\"body\":\"a1\"},"
            "{\"id\":\"b1\",\"group\":\"B\",\"body\":\"b1\"},"
            "{\"id\":\"a2\",\"group\":\"A\",\"body\":\"a2\",\"at_ms\":5}]}",
        1);
  assert_int_equal(qm.recv[0].count, 2);
  assert_int_equal(qm.recv[0].t, 0);
  assert_int_equal(qm.recv[1].count, 1);
  assert_string_equal(qm.recv[1].ids[0], r.w->records[rid_of(r.w, "a2")].seq);
  /* a2 was visible at 5 ms, but A was in flight until the delete at 10. */
  assert_int_equal(qm.recv[1].t, 10);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  assert_null(wf_nth(&r.w->hist, ESMC_H_INVOKE, 0)->text);
  q_free(&r);
}

/* FIFO-10: the same deduplication id within five minutes of the first is
 * accepted and never delivered; after the window it is a new message. */
static void test_dedup_window(void **state)
{
  struct qrun r;
  (void)state;
  qm_reset();
  qm.process = 1;
  qm.auto_rereceive = 1;
  qm.wait = 20;
  q_run(&r, QHEAD("q-dedup", "sqs_fifo")
            "\"queue\":{\"content_based_deduplication\":true},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\",\"group\":\"g\",\"body\":\"x\"},"
            "{\"id\":\"m2\",\"group\":\"g\",\"body\":\"x\",\"at_ms\":60000},"
            "{\"id\":\"m3\",\"group\":\"g\",\"body\":\"x\",\"at_ms\":300000},"
            "{\"id\":\"m4\",\"group\":\"g\",\"body\":\"y\",\"at_ms\":60000,"
            "\"deduplication_id\":\"explicit\"},"
            "{\"id\":\"m5\",\"group\":\"g\",\"body\":\"z\",\"at_ms\":70000,"
            "\"deduplication_id\":\"explicit\"}]}", 1);
  assert_int_equal(r.w->records[rid_of(r.w, "m1")].dedup_of, -1);
  assert_int_equal(r.w->records[rid_of(r.w, "m2")].dedup_of,
                   (int32_t)rid_of(r.w, "m1"));
  assert_int_equal(r.w->records[rid_of(r.w, "m3")].dedup_of, -1);
  assert_int_equal(r.w->records[rid_of(r.w, "m5")].dedup_of,
                   (int32_t)rid_of(r.w, "m4"));
  /* SHA-256 of "x". */
  assert_string_equal(r.w->records[rid_of(r.w, "m1")].dedup_id,
                      "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
  assert_int_equal(esmc_world_message_state(r.w, rid_of(r.w, "m2"), NULL),
                   ESMC_MSG_DEDUPLICATED);
  assert_int_equal(esmc_world_message_state(r.w, rid_of(r.w, "m3"), NULL),
                   ESMC_MSG_DELETED);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_INVOKE), 3);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  q_free(&r);
}

/* Retention drops a message; the delay hides a new one. */
static void test_retention_and_delay(void **state)
{
  struct qrun r;
  const struct esmc_hevent *e;
  (void)state;
  qm_reset();
  qm.max = 1;
  qm.poll_every_ms = 100000;
  q_run(&r, QHEAD("q-ret", "sqs")
            "\"queue\":{\"message_retention_s\":60},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\",\"at_ms\":1000},"
            "{\"id\":\"m2\",\"at_ms\":1000}]}", 1);
  e = wf_nth(&r.w->hist, ESMC_H_MESSAGE_EXPIRED, 0);
  assert_non_null(e);
  assert_int_equal(e->t, 61000);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_MESSAGE_EXPIRED), 2);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  q_free(&r);

  qm_reset();
  qm.wait = 20;
  q_run(&r, QHEAD("q-delay", "sqs")
            "\"queue\":{\"delay_s\":5},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\",\"at_ms\":1000}],"
            "\"run\":{\"until_ms\":30000}}", 1);
  assert_int_equal(qm.nrecv, 1);
  assert_int_equal(qm.recv[0].t, 6000);
  q_free(&r);
}

/* duplicate_every: every 2nd receive also returns a message in flight. */
static void test_duplicates(void **state)
{
  struct qrun r;
  (void)state;
  qm_reset();
  qm.poll_every_ms = 1000;
  q_run(&r, QHEAD("q-dup", "sqs")
            "\"queue\":{\"duplicate_every\":2},\"mapping\":{},"
            "\"records\":[{\"id\":\"m1\"}],\"run\":{\"until_ms\":1500}}", 1);
  assert_int_equal(qm.nrecv, 2);
  assert_int_equal(qm.recv[0].count, 1);
  assert_int_equal(qm.recv[1].count, 1);
  assert_string_equal(qm.recv[1].ids[0], qm.recv[0].ids[0]);
  assert_int_equal(qm.recv[1].counts[0], 2);
  assert_string_not_equal(qm.recv[1].handles[0], qm.recv[0].handles[0]);
  q_free(&r);
}

/* Payloads: a well-formed event decodes cleanly; a wrong body, count or
 * handle is the first problem. fail_items name the MessageId. */
static void test_payload_decode(void **state)
{
  struct qrun r;
  struct esmc_buf b, prob;
  uint32_t *rids = NULL;
  const struct esmc_message *m[1];
  struct esmc_message bad;
  long n;
  (void)state;
  qm_reset();
  qm.process = 1;
  q_run(&r, QHEAD("q-dec", "sqs")
            "\"mapping\":{},\"records\":[{\"id\":\"m1\",\"body\":\"{\\\"a\\\":1}\","
            "\"attributes\":{\"k\":\"v\",\"a\":\"b\"}}],"
            "\"function\":{\"rules\":[{\"then\":{\"action\":\"fail_items\","
            "\"fail_items\":[\"m1\"]}}]},\"run\":{\"until_ms\":1000}}", 1);
  assert_null(wf_nth(&r.w->hist, ESMC_H_INVOKE, 0)->text);
  {
    const struct esmc_hevent *c = wf_nth(&r.w->hist, ESMC_H_COMPLETE, 0);
    char want[128];
    snprintf(want, sizeof(want),
             "{\"batchItemFailures\":[{\"itemIdentifier\":\"%s\"}]}",
             r.w->records[0].seq);
    assert_string_equal(c->text, want);
  }
  assert_string_equal(qm.recv[0].msgs[0]->attributes[0].name, "a");
  assert_non_null(qm.recv[0].msgs[0]->md5_of_message_attributes);

  esmc_buf_init(&b);
  esmc_buf_init(&prob);
  m[0] = qm.recv[0].msgs[0];
  qm_payload(&b, r.w, m, 1);
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_int_equal(n, 1);
  assert_int_equal(rids[0], 0);
  assert_int_equal(prob.len, 0);
  esmc_free(rids);

  bad = *m[0];
  bad.body = "{\"a\":2}";
  m[0] = &bad;
  esmc_buf_reset(&b);
  qm_payload(&b, r.w, m, 1);
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_int_equal(n, 1);
  assert_non_null(strstr(prob.data, "body"));
  esmc_free(rids);

  bad = *qm.recv[0].msgs[0];
  bad.approximate_receive_count = 3;
  esmc_buf_reset(&b);
  esmc_buf_reset(&prob);
  qm_payload(&b, r.w, m, 1);
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_non_null(strstr(prob.data, "ApproximateReceiveCount"));
  esmc_free(rids);

  bad = *qm.recv[0].msgs[0];
  bad.receipt_handle = "AQEBforged-1";
  esmc_buf_reset(&b);
  esmc_buf_reset(&prob);
  qm_payload(&b, r.w, m, 1);
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_non_null(strstr(prob.data, "receiptHandle"));
  esmc_free(rids);

  bad = *qm.recv[0].msgs[0];
  bad.md5_of_message_attributes = "00000000000000000000000000000000";
  esmc_buf_reset(&b);
  esmc_buf_reset(&prob);
  qm_payload(&b, r.w, m, 1);
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_non_null(strstr(prob.data, "md5OfMessageAttributes"));
  esmc_free(rids);

  esmc_buf_reset(&b);
  esmc_buf_reset(&prob);
  esmc_buf_puts(&b, "{\"Records\":[{\"messageId\":\"nope\"}]}");
  n = esmc_world_decode_payload(r.w, b.data, b.len, &rids, &prob);
  assert_int_equal(n, 0);
  assert_non_null(strstr(prob.data, "not a message of this queue"));
  esmc_free(rids);
  esmc_buf_free(&b);
  esmc_buf_free(&prob);
  q_free(&r);
}

/* A processing mapper empties the queue: quiescent; same seed, same
 * history; a restart drops a pending receive. */
static void test_quiescence_and_determinism(void **state)
{
  static const char json[] =
      QHEAD("q-det", "sqs")
      "\"queue\":{\"visibility_timeout_s\":2},\"mapping\":{},"
      "\"generate\":[{\"prefix\":\"m\",\"count\":25,\"every_ms\":7}],"
      "\"function\":{\"rules\":[{\"when\":{\"invocation\":[2]},"
      "\"then\":{\"action\":\"error\"}}]}}";
  struct qrun r;
  uint64_t d1, d2;
  (void)state;
  qm_reset();
  qm.process = 1;
  qm.auto_rereceive = 1;
  qm.wait = 20;
  q_run(&r, json, 7);
  assert_int_equal(r.out.end, ESMC_END_QUIESCENT);
  assert_string_equal(esmc_world_record_name(r.w, 3), "m4");
  assert_int_equal(r.w->records[0].pub.data_len, 7);
  assert_memory_equal(r.w->records[0].pub.data, "{\"n\":1}", 7);
  d1 = esmc_history_digest(&r.w->hist);
  q_free(&r);
  qm_reset();
  qm.process = 1;
  qm.auto_rereceive = 1;
  qm.wait = 20;
  q_run(&r, json, 7);
  d2 = esmc_history_digest(&r.w->hist);
  assert_true(d1 == d2);
  q_free(&r);

  /* A restart while a receive waits: that receive never completes. */
  qm_reset();
  qm.wait = 20;
  q_run(&r, QHEAD("q-restart", "sqs")
            "\"mapping\":{},\"records\":[{\"id\":\"m1\",\"at_ms\":5000}],"
            "\"events\":[{\"at_ms\":1000,\"restart\":true}],"
            "\"run\":{\"until_ms\":30000}}", 1);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_RECEIVE), 2);
  assert_int_equal(wf_count(&r.w->hist, ESMC_H_RECEIVED), 1);
  assert_int_equal(wf_nth(&r.w->hist, ESMC_H_RECEIVED, 0)->id, 2);
  q_free(&r);
}

/* Loader: queue keys on streams and stream keys on queues are errors. */
static void expect_load_error(const char *json, const char *needle)
{
  struct esmc_scenario sc;
  struct esmc_load_error err;
  char msg[1200];
  assert_int_not_equal(esmc_case_load_buf(json, strlen(json), "t.json", &sc,
                                          &err),
                       0);
  esmc_load_error_format(&err, msg, sizeof(msg));
  if(!strstr(msg, needle)) {
    print_error("got: %s\nwanted: %s\n", msg, needle);
    fail();
  }
  assert_true(err.line > 0);
}

static void test_loader(void **state)
{
  struct esmc_scenario sc;
  (void)state;
  expect_load_error(QHEAD("x", "kinesis") "\"mapping\":{},\"queue\":{}}",
                    "queue: only allowed for a queue source");
  expect_load_error(QHEAD("x", "sqs") "\"mapping\":{},\"stream\":{}}",
                    "stream: not allowed for a queue source");
  expect_load_error(QHEAD("x", "sqs")
                    "\"mapping\":{},\"records\":[{\"id\":\"a\",\"shard\":0}]}",
                    "records[0].shard: not allowed for a queue source");
  expect_load_error(QHEAD("x", "kinesis")
                    "\"mapping\":{},\"records\":[{\"id\":\"a\",\"body\":\"b\"}]}",
                    "records[0].body: only allowed for a queue source");
  expect_load_error(QHEAD("x", "sqs_fifo")
                    "\"queue\":{\"content_based_deduplication\":true},"
                    "\"mapping\":{},\"records\":[{\"id\":\"a\"}]}",
                    "missing required key 'group'");
  expect_load_error(QHEAD("x", "sqs_fifo")
                    "\"mapping\":{},\"records\":[{\"id\":\"a\",\"group\":\"g\"}]}",
                    "needs a deduplication_id");
  expect_load_error(QHEAD("x", "sqs")
                    "\"mapping\":{},\"records\":[{\"id\":\"a\",\"group\":\"g\"}]}",
                    "only allowed for an sqs_fifo source");
  expect_load_error(QHEAD("x", "sqs")
                    "\"queue\":{\"visibility_timeout_s\":43201},\"mapping\":{}}",
                    "queue.visibility_timeout_s");
  expect_load_error(QHEAD("x", "sqs_fifo")
                    "\"queue\":{\"name\":\"plain\"},\"mapping\":{}}",
                    "must end in \".fifo\"");
  expect_load_error(QHEAD("x", "sqs")
                    "\"mapping\":{\"scaling_profile\":\"fast\"}}",
                    "mapping.scaling_profile");
  expect_load_error(QHEAD("x", "sqs")
                    "\"mapping\":{},\"events\":[{\"at_ms\":1,"
                    "\"split\":{\"shard\":0}}]}",
                    "'split' is not allowed for a queue source");
  wf_load(&sc, QHEAD("x", "sqs_fifo")
               "\"queue\":{\"name\":\"q.fifo\",\"max_receive_count\":5},"
               "\"mapping\":{\"maximum_concurrency\":4,"
               "\"scaling_profile\":\"legacy\"},"
               "\"generate\":[{\"prefix\":\"m\",\"count\":4,\"keys\":2}]}");
  assert_int_equal(sc.source, ESMC_SOURCE_SQS_FIFO);
  assert_int_equal(sc.config.maximum_concurrency, 4);
  assert_int_equal(sc.config.scaling_profile, 1);
  assert_int_equal(sc.queue.max_receive_count, 5);
  assert_int_equal(sc.queue.visibility_timeout_s, 30);
  assert_string_equal(sc.records[2].group, "g0");
  assert_string_equal(sc.records[3].group, "g1");
  assert_string_equal(sc.records[3].deduplication_id, "m4");
  esmc_scenario_free(&sc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_visibility_and_counts),
      cmocka_unit_test(test_long_poll),
      cmocka_unit_test(test_redrive),
      cmocka_unit_test(test_receipt_handles),
      cmocka_unit_test(test_fifo_groups),
      cmocka_unit_test(test_dedup_window),
      cmocka_unit_test(test_retention_and_delay),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_payload_decode),
      cmocka_unit_test(test_quiescence_and_determinism),
      cmocka_unit_test(test_loader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * ref_sqs.c: the reference mapper's SQS poller (standard and FIFO queues).
 *
 * The mapping runs a set of slots. A slot is one poller with at most one
 * batch in hand: it gathers a batch from one or more receives, invokes the
 * function with it, applies the result (deletes), and starts the next batch
 * at once. Its batching window runs from the first message in hand (the
 * spec's decision for queues, spec/sqs.md on CONTRA-16; streams start the
 * window when the previous invocation completes, BATCH-3). At most `target` slots hold a batch at a time;
 * target is the mapping's concurrency.
 *
 * Gathering (BATCH-1, BATCH-2, BATCH-7, BATCH-8, PARAM-BS-3):
 *   - each receive asks for min(10, BatchSize - gathered) messages;
 *   - with nothing gathered yet the receive long-polls 20 s; once the batch
 *     holds a message it waits at most the rest of the window (rounded up to
 *     whole seconds), so a window of 0 invokes as soon as a receive returns
 *     messages, and a window that ran out while the slot was idle invokes on
 *     the first messages (BATCH-6);
 *   - the batch is invoked when BatchSize is reached, when the next message
 *     would take the event over 6 MB, or when the window has ended;
 *   - messages of a receive that did not fit (the 6 MB cut, or BatchSize
 *     lowered while the receive was out) stay with the slot (its carry) and
 *     open its next batch, in order.
 *
 * Updates (GEN-4) apply to every batch formed after them, including batches
 * that receives already out are filling: the window is measured from when
 * the batch opened with the value in force, BatchSize, filters and
 * FunctionResponseTypes are read when messages arrive or results return,
 * and a lowered MaximumConcurrency holds ready batches (SQS-MAXC-4) until
 * the invocations in flight drop below it.
 *
 * Results (SQS-DEL-1, SQS-ERR-1/6, SQS-PBR-1..5, OBS-2/3/8/9, CONTRA-12):
 *   - success: DeleteMessage for every message of the batch;
 *   - function error or timeout, throttle, service error: nothing deleted;
 *     the messages come back after their visibility timeout;
 *   - ReportBatchItemFailures: every message not listed is deleted; an
 *     invalid response deletes nothing. On FIFO queues this is what AWS does
 *     too (FIFO-8): a later message of a failed group that is not listed is
 *     deleted; the function is expected to list it.
 *   - FIFO: carried messages of a group that failed in the batch are never
 *     invoked; they return after the visibility timeout together with the
 *     failed ones, in order (FIFO-5, OBS-9).
 *   - messages that match no filter are deleted without an invoke (FILTER-8).
 *
 * Scaling (SQS-SCALE-1..3, SQS-MAXC-1..3, SQS-ERR-3/5, CONTRA-1/2), an
 * esmcheck decision kept deterministic:
 *   - target starts at min(5, ceiling), where ceiling is 1250 (profile 0) or
 *     1000 (profile 1), lowered to MaximumConcurrency when set;
 *   - every 60 s after the mapping starts, if some receive since the last
 *     step returned every message it asked for (a backlog), target grows by
 *     300 (profile 0) or 60 (profile 1), up to the ceiling;
 *   - without ReportBatchItemFailures, each function error or throttle
 *     lowers target by 1, down to 2;
 *   - FIFO concurrency is bounded by the groups with visible messages by the
 *     queue itself: SQS hands out no message of a group that has one in
 *     flight (FIFO-7), so no two batches hold the same group.
 *
 * Receipts (MULTI-2, SQS-VIS-1..3): every message in hand carries the
 * instant its receipt handle goes stale (the receive plus the queue's
 * visibility timeout). A message that joins a batch whose window ends too
 * late for the function to finish in time gets its visibility extended to
 * the rest of the window + the function timeout + 30 s (SQS-VIS-3). Before
 * an invoke, a message whose receipt is stale is dropped from the batch (the
 * queue may have handed it to another consumer), and one whose receipt ends
 * within the function timeout is extended to the function timeout + 30 s,
 * or dropped when that fails; on FIFO the later messages of its group in
 * hand go with it. A dropped message simply comes back.
 *
 * Faults (spec/faults.md), each the k-th failure in a row waiting
 * 1 s * 2^(k-1), at most 30 s (FAULT-8):
 *   - GetQueueAttributes at create is the permission check (FAULT-7):
 *     AccessDenied rejects the mapping; any other failure accepts it, and
 *     the attributes are fetched again before the first receive;
 *   - a failed ReceiveMessage closes a gate for every slot of the mapping
 *     until the backoff ends, so one call fails per backoff, not one per
 *     slot (FAULT-1, FAULT-4);
 *   - a failed DeleteMessage is retried while the receipt is current; then
 *     the message comes back and is processed again (FAULT-4);
 *   - a failed ChangeMessageVisibility is handled as above (the message is
 *     dropped from the batch before the invoke, or kept for the invoke and
 *     checked again then).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esmcheck_adapter.h"
#include "ref_internal.h"
#include "ref_mutant.h"

#define REF_SQS_RECEIVE_MAX 10
#define REF_SQS_WAIT_S 20
#define REF_SQS_START 5
#define REF_SQS_FLOOR 2
#define REF_SQS_RETRY_MS 1000
#define REF_SQS_RAMP_MS 60000
#define REF_SQS_TIMER_RAMP 0 /* slot i uses token i + 1 */
#define REF_SQS_TIMER_ATTRS (UINT64_MAX - 1)
#define REF_SQS_TIMER_DELETE UINT64_MAX
#define REF_SQS_FAULT_BASE_MS 1000
#define REF_SQS_FAULT_MAX_MS 30000
#define REF_SQS_VIS_MARGIN_S 30 /* SQS-VIS-3 */
#define REF_SQS_VIS_MAX_S 43200

enum ref_slot_state {
  REF_SLOT_IDLE,      /* no receive, no invocation, no timer */
  REF_SLOT_RECEIVING, /* a receive is outstanding */
  REF_SLOT_WAITING,   /* a receive failed: retry timer armed */
  REF_SLOT_INVOKING,  /* the batch is being invoked */
  REF_SLOT_HELD,      /* the batch is ready; MaximumConcurrency is reached */
  REF_SLOT_GATED      /* messages in hand, receives failing: timer armed for
                         the window's end or the receive gate's opening */
};

/* A message in hand: the host keeps it alive until destroy(); its receipt
 * handle is current until `stale` (unless the queue said otherwise). */
struct ref_sqs_held {
  const struct esmc_message *m;
  esmc_time_ms stale;
  esmc_time_ms asked; /* when the receive that returned it was made */
};

/* A DeleteMessage to try again (FAULT-4). */
struct ref_sqs_del {
  const struct esmc_message *m;
  esmc_time_ms next_at;  /* the next try */
  esmc_time_ms stale;    /* the receipt's end: give up then */
  int64_t tries;
};

struct ref_sqs_slot {
  enum ref_slot_state state;
  int dead;                   /* a mutant's slot that stopped for good */
  esmc_receive rcv;
  esmc_time_ms rcv_at;        /* when the receive was made */
  uint32_t want;              /* messages asked for by the receive */
  esmc_invocation inv;
  struct ref_sqs_held *msgs;  /* the batch, in receive order */
  size_t n, cap;
  size_t bytes;               /* the event's length with these messages */
  int cut;                    /* the 6 MB cut: invoke now */
  int open;                   /* a batch is open (opened is set) */
  esmc_time_ms opened;        /* the window began; it ends at opened plus
                               * the window in force (GEN-4) */
  struct ref_sqs_held *carry; /* received, not yet in a batch */
  size_t carry_n, carry_cap;
};

struct ref_sqs {
  const struct esmc_host *host;
  struct ref_config cfg;
  int fifo;
  int32_t max_concurrency; /* ESMC_UNSET: no cap */
  int32_t profile;
  int32_t target;
  int demand;
  int ramp_armed;
  struct ref_sqs_slot *slots;
  size_t nslots;
  struct ref_buf payload;
  int32_t timeout_s;       /* the function timeout */
  /* GetQueueAttributes (FAULT-7): known once a call succeeded. */
  int attrs_known;
  int32_t visibility_s;    /* the queue's default visibility timeout */
  int64_t attr_fails;
  int attr_armed;
  /* The receive gate (FAULT-4, FAULT-8). */
  int64_t recv_fails;
  esmc_time_ms recv_retry_at;
  /* Deletes to retry (FAULT-4). */
  struct ref_sqs_del *dels;
  size_t ndels, capdels;
  int del_armed;
  esmc_time_ms del_at;
};

/* ------------------------------------------------------------------------ */
/* The event record (EVT-SQS-1, FIFO-11). */

static void ref_sqs_str_int(struct ref_buf *b, int64_t v)
{
  ref_buf_puts(b, "\"");
  ref_buf_int(b, v);
  ref_buf_puts(b, "\"");
}

static void ref_sqs_attrs_json(struct ref_buf *b,
                               const struct esmc_message *m)
{
  size_t k;

  ref_buf_puts(b, "{");
  for(k = 0; k < m->attribute_count; k++) {
    const struct esmc_message_attribute *a = &m->attributes[k];
    int binary = a->data_type && strncmp(a->data_type, "Binary", 6) == 0;
    if(k > 0)
      ref_buf_puts(b, ",");
    ref_buf_json_str(b, a->name);
    if(binary) {
      ref_buf_puts(b, ":{\"binaryValue\":\"");
      ref_buf_base64(b, a->binary_value, a->binary_value ? a->binary_len : 0);
      ref_buf_puts(b, "\"");
    } else {
      ref_buf_puts(b, ":{\"stringValue\":");
      ref_buf_json_str(b, a->string_value);
    }
    ref_buf_puts(b, ",\"stringListValues\":[],\"binaryListValues\":[],"
                    "\"dataType\":");
    ref_buf_json_str(b, a->data_type);
    ref_buf_puts(b, "}");
  }
  ref_buf_puts(b, "}");
}

void ref_sqs_append_record_json(struct ref_buf *b, const struct ref_config *c,
                                const struct esmc_message *m,
                                int body_as_json)
{
  ref_buf_puts(b, "{\"messageId\":");
  ref_buf_json_str(b, m->message_id);
  ref_buf_puts(b, ",\"receiptHandle\":");
  ref_buf_json_str(b, m->receipt_handle);
  ref_buf_puts(b, ",\"body\":");
  if(body_as_json)
    ref_buf_append(b, m->body, m->body_len);
  else
    ref_buf_json_strn(b, m->body ? m->body : "", m->body ? m->body_len : 0);
  ref_buf_puts(b, ",\"attributes\":{\"ApproximateReceiveCount\":");
  ref_sqs_str_int(b, (int64_t)m->approximate_receive_count);
  ref_buf_puts(b, ",\"SentTimestamp\":");
  ref_sqs_str_int(b, m->sent_timestamp_ms);
  ref_buf_puts(b, ",\"SenderId\":");
  ref_buf_json_str(b, m->sender_id);
  ref_buf_puts(b, ",\"ApproximateFirstReceiveTimestamp\":");
  ref_sqs_str_int(b, m->first_receive_timestamp_ms);
  if(m->sequence_number) {
    ref_buf_puts(b, ",\"SequenceNumber\":");
    ref_buf_json_str(b, m->sequence_number);
  }
  if(m->message_group_id) {
    ref_buf_puts(b, ",\"MessageGroupId\":");
    ref_buf_json_str(b, m->message_group_id);
  }
  if(m->message_deduplication_id) {
    ref_buf_puts(b, ",\"MessageDeduplicationId\":");
    ref_buf_json_str(b, m->message_deduplication_id);
  }
  ref_buf_puts(b, "},\"messageAttributes\":");
  ref_sqs_attrs_json(b, m);
  if(m->attribute_count > 0) {
    ref_buf_puts(b, ",\"md5OfMessageAttributes\":");
    if(m->md5_of_message_attributes)
      ref_buf_json_str(b, m->md5_of_message_attributes);
    else
      ref_buf_puts(b, "null");
  }
  ref_buf_puts(b, ",\"md5OfBody\":");
  ref_buf_json_str(b, m->md5_of_body);
  ref_buf_puts(b, ",\"eventSource\":\"aws:sqs\",\"eventSourceARN\":");
  ref_buf_json_str(b, c->event_source_arn);
  ref_buf_puts(b, ",\"awsRegion\":");
  ref_buf_json_str(b, c->region);
  ref_buf_puts(b, "}");
}

static size_t ref_sqs_record_len(const struct ref_config *c,
                                 const struct esmc_message *m)
{
  struct ref_buf b;

  memset(&b, 0, sizeof(b));
  b.measure = 1;
  ref_sqs_append_record_json(&b, c, m, 0);
  return b.len;
}

/* 1 when the body is a JSON object (the filter view parses it, FILTER-8). */
static int ref_sqs_body_json(const struct esmc_message *m)
{
  size_t i = 0;

  if(!m->body || m->body_len == 0 || memchr(m->body, '\0', m->body_len))
    return 0;
  while(i < m->body_len && strchr(" \t\r\n", m->body[i]))
    i++;
  return i < m->body_len && m->body[i] == '{' &&
         ref_json_valid(m->body, m->body_len);
}

static int ref_sqs_matches(const struct ref_sqs *q,
                           const struct esmc_message *m)
{
  struct ref_buf b;
  int json, hit;

  if(q->cfg.filter_count == 0)
    return 1;
  json = ref_sqs_body_json(m);
  memset(&b, 0, sizeof(b));
  ref_sqs_append_record_json(&b, &q->cfg, m, json);
  hit = b.oom ? 1 : ref_filter_match_view(&q->cfg, b.data, b.len, json);
  ref_buf_free(&b);
  return hit;
}

/* ------------------------------------------------------------------------ */
/* Small helpers. */

static esmc_time_ms ref_sqs_now(const struct ref_sqs *q)
{
  return q->host->now(q->host->ctx);
}

static void ref_sqs_log(const struct ref_sqs *q, enum esmc_log_level level,
                        const char *msg)
{
  if(q->host->log)
    q->host->log(q->host->ctx, level, msg);
}

static int32_t ref_sqs_ceiling(const struct ref_sqs *q)
{
  int32_t c = q->profile == 1 ? 1000 : 1250;

  if(q->max_concurrency != ESMC_UNSET && q->max_concurrency < c &&
     !REF_MUTANT(SQS_IGNORE_MAXC))
    c = q->max_concurrency;
  return c;
}

static int ref_sqs_push(struct ref_sqs_held **arr, size_t *n, size_t *cap,
                        struct ref_sqs_held h)
{
  if(*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    struct ref_sqs_held *p = realloc(*arr, nc * sizeof(*p));
    if(!p)
      return -1;
    *arr = p;
    *cap = nc;
  }
  (*arr)[(*n)++] = h;
  return 0;
}

/* The wait after the k-th failure in a row of a host call (FAULT-8). */
static esmc_time_ms ref_sqs_backoff(int64_t k)
{
  return ref_exp_backoff(k, REF_SQS_FAULT_BASE_MS, REF_SQS_FAULT_MAX_MS);
}

/* Extends a held message's visibility to `seconds` from now (SQS-VIS-2).
 * Returns 1 when the queue accepted it, 0 when not (the receipt keeps its
 * old end), -1 on a fatal host answer (*fatal set). */
static int ref_sqs_extend(struct ref_sqs *q, struct ref_sqs_held *h,
                          int64_t seconds, esmc_status *fatal)
{
  esmc_status rc;

  if(seconds > REF_SQS_VIS_MAX_S)
    seconds = REF_SQS_VIS_MAX_S;
  rc = q->host->change_message_visibility
         ? q->host->change_message_visibility(q->host->ctx,
                                              h->m->receipt_handle,
                                              (int32_t)seconds)
         : ESMC_E_UNSUPPORTED;
  if(rc == ESMC_OK) {
    h->stale = ref_sqs_now(q) + seconds * 1000;
    return 1;
  }
  if(rc <= ESMC_E_FATAL) {
    *fatal = rc;
    return -1;
  }
  ref_sqs_log(q, ESMC_LOG_WARN,
              "sqs: ChangeMessageVisibility failed; the receipt keeps its "
              "end");
  return 0;
}

static int ref_sqs_same_group(const struct esmc_message *a,
                              const struct esmc_message *b);

static void ref_sqs_slot_clear(struct ref_sqs_slot *s)
{
  s->n = 0;
  s->bytes = REF_EVENT_OVERHEAD;
  s->cut = 0;
  s->open = 0;
}

static size_t ref_sqs_batch_limit(const struct ref_sqs *q)
{
  return q->cfg.batch_size > 0 ? (size_t)q->cfg.batch_size : 1;
}

static esmc_time_ms ref_sqs_window_end(const struct ref_sqs *q,
                                       const struct ref_sqs_slot *s)
{
  return s->opened + (esmc_time_ms)q->cfg.window_s * 1000;
}

static size_t ref_sqs_inflight(const struct ref_sqs *q)
{
  size_t i, n = 0;

  for(i = 0; i < q->nslots; i++)
    if(q->slots[i].state == REF_SLOT_INVOKING)
      n++;
  return n;
}

/* SQS-VIS-3: a message joining a batch keeps its receipt until the window
 * ends and the function can finish; otherwise its visibility is extended to
 * the rest of the window + the function timeout + 30 s. A refusal is left
 * to the check before the invoke (ref_sqs_check_receipts). */
static esmc_status ref_sqs_keep_for_window(struct ref_sqs *q,
                                           struct ref_sqs_slot *s,
                                           struct ref_sqs_held *h)
{
  esmc_time_ms now = ref_sqs_now(q), end = ref_sqs_window_end(q, s), need;
  esmc_status fatal = ESMC_OK;

  if(REF_MUTANT(SQS_STALE_INVOKE))
    return ESMC_OK;
  if(end < now)
    end = now;
  need = end + (esmc_time_ms)q->timeout_s * 1000;
  if(h->stale >= need)
    return ESMC_OK;
  ref_sqs_extend(q, h, (need - now + 999) / 1000 + REF_SQS_VIS_MARGIN_S,
                 &fatal);
  return fatal;
}

/* Adds h to the batch, or returns 0 when it does not fit (the 6 MB cut). */
static int ref_sqs_add(struct ref_sqs *q, struct ref_sqs_slot *s,
                       struct ref_sqs_held h, int *oom)
{
  size_t len = ref_sqs_record_len(&q->cfg, h.m);
  size_t more = len + (s->n > 0 ? 1 : 0), k;

  /* SQS may deliver a message again while this batch is still being
   * gathered (an at-least-once duplicate): keep one copy, with the latest
   * receipt handle, in its first place. */
  for(k = 0; k < s->n; k++) {
    if(strcmp(s->msgs[k].m->message_id, h.m->message_id) == 0) {
      size_t old = ref_sqs_record_len(&q->cfg, s->msgs[k].m);
      s->bytes = s->bytes - old + len;
      s->msgs[k] = h;
      /* The copy now in the batch came with a later receive: the window
       * counts from that receive at the earliest (SQS-BATCH-2). */
      if(h.asked > s->opened)
        s->opened = h.asked;
      (void)ref_sqs_keep_for_window(q, s, &s->msgs[k]);
      return 1;
    }
  }
  if(s->n > 0 && s->bytes + more > REF_PAYLOAD_MAX)
    return 0;
  if(s->n == 0)
    s->opened = ref_sqs_now(q); /* the window runs from the first message in
                                   hand (spec/sqs.md, CONTRA-16) */
  if(ref_sqs_push(&s->msgs, &s->n, &s->cap, h) != 0) {
    *oom = 1;
    return 0;
  }
  s->bytes += more;
  (void)ref_sqs_keep_for_window(q, s, &s->msgs[s->n - 1]);
  return 1;
}

/* Drops message k of the batch and, on FIFO, the later messages of its
 * group in hand (the batch after k, and the carry): they come back. */
static void ref_sqs_drop(struct ref_sqs *q, struct ref_sqs_slot *s, size_t k)
{
  const struct esmc_message *m = s->msgs[k].m;
  size_t j, w = k;

  for(j = k + 1; j < s->n; j++)
    if(!(q->fifo && ref_sqs_same_group(s->msgs[j].m, m)))
      s->msgs[w++] = s->msgs[j];
  s->n = w;
  if(q->fifo) {
    for(j = 0, w = 0; j < s->carry_n; j++)
      if(!ref_sqs_same_group(s->carry[j].m, m))
        s->carry[w++] = s->carry[j];
    s->carry_n = w;
  }
  s->bytes = REF_EVENT_OVERHEAD;
  for(j = 0; j < s->n; j++)
    s->bytes += ref_sqs_record_len(&q->cfg, s->msgs[j].m) + (j > 0 ? 1 : 0);
}

/* The mapping deleted message m: a copy another slot still holds (the
 * queue delivered it twice, SQS-DUP-1) is dropped, so it is never invoked
 * after its deletion (SQS-BATCH-1). Batches in flight are left alone. */
static void ref_sqs_forget(struct ref_sqs *q, const struct esmc_message *m)
{
  size_t i, j, w;

  for(i = 0; i < q->nslots; i++) {
    struct ref_sqs_slot *s = &q->slots[i];
    int dropped = 0;
    if(s->state == REF_SLOT_INVOKING)
      continue;
    for(j = 0, w = 0; j < s->n; j++) {
      if(s->msgs[j].m != m &&
         strcmp(s->msgs[j].m->message_id, m->message_id) == 0) {
        dropped = 1;
        continue;
      }
      s->msgs[w++] = s->msgs[j];
    }
    s->n = w;
    for(j = 0, w = 0; j < s->carry_n; j++)
      if(s->carry[j].m == m ||
         strcmp(s->carry[j].m->message_id, m->message_id) != 0)
        s->carry[w++] = s->carry[j];
    s->carry_n = w;
    if(dropped) {
      s->bytes = REF_EVENT_OVERHEAD;
      for(j = 0; j < s->n; j++)
        s->bytes +=
          ref_sqs_record_len(&q->cfg, s->msgs[j].m) + (j > 0 ? 1 : 0);
    }
  }
}

/* MULTI-2: before an invoke, only messages whose receipt is still current
 * and stays so for the function timeout go to the function. */
static esmc_status ref_sqs_check_receipts(struct ref_sqs *q,
                                          struct ref_sqs_slot *s)
{
  esmc_time_ms now = ref_sqs_now(q),
               need = now + (esmc_time_ms)q->timeout_s * 1000;
  esmc_status fatal = ESMC_OK;
  size_t k = 0;

  if(REF_MUTANT(SQS_STALE_INVOKE))
    return ESMC_OK;
  while(k < s->n) {
    struct ref_sqs_held *h = &s->msgs[k];
    if(h->stale > now && h->stale >= need) {
      k++;
      continue;
    }
    if(h->stale > now &&
       ref_sqs_extend(q, h, (esmc_time_ms)q->timeout_s + REF_SQS_VIS_MARGIN_S,
                      &fatal) == 1) {
      k++;
      continue;
    }
    if(fatal != ESMC_OK)
      return fatal;
    ref_sqs_log(q, ESMC_LOG_INFO,
                "sqs: a message's receipt ended (or could not be kept) "
                "before its invoke; it goes back to the queue");
    ref_sqs_drop(q, s, k);
  }
  return ESMC_OK;
}

/* ------------------------------------------------------------------------ */
/* The slot machine. */

static esmc_status ref_sqs_continue(struct ref_sqs *q, size_t i);
static esmc_status ref_sqs_start(struct ref_sqs *q, size_t i);

static esmc_status ref_sqs_arm_retry(struct ref_sqs *q, size_t i,
                                     esmc_time_ms at)
{
  q->slots[i].state = REF_SLOT_WAITING;
  return q->host->set_timer(q->host->ctx, at, (uint64_t)i + 1);
}

/* A receive failed (synchronously or in its result): the gate closes for
 * every slot until the backoff ends (FAULT-4, FAULT-8). */
static void ref_sqs_receive_failed(struct ref_sqs *q, esmc_status why)
{
  char msg[128];

  q->recv_fails++;
  q->recv_retry_at = ref_sqs_now(q) + ref_sqs_backoff(q->recv_fails);
  snprintf(msg, sizeof(msg),
           "sqs: ReceiveMessage failed (%d); receiving again in %" PRId64
           " ms",
           (int)why, (int64_t)(q->recv_retry_at - ref_sqs_now(q)));
  ref_sqs_log(q, ESMC_LOG_WARN, msg);
}

static esmc_status ref_sqs_invoke(struct ref_sqs *q, size_t i);

/* After a failed receive, a slot with nothing in hand waits for the gate;
 * one with messages in hand keeps its batching window (SQS-BATCH-2): it
 * invokes at the window's end, or receives again if the gate opens first.
 * The mutant's empty slot stops for good. */
static esmc_status ref_sqs_wait_gate(struct ref_sqs *q, size_t i)
{
  struct ref_sqs_slot *s = &q->slots[i];

  if(s->n > 0) {
    esmc_time_ms end = ref_sqs_window_end(q, s);
    if(s->cut || ref_sqs_now(q) >= end)
      return ref_sqs_invoke(q, i);
    s->state = REF_SLOT_GATED;
    return q->host->set_timer(q->host->ctx,
                              q->recv_retry_at < end ? q->recv_retry_at : end,
                              (uint64_t)i + 1);
  }
  if(REF_MUTANT(SQS_RECEIVE_FAULT_STOPS)) {
    q->slots[i].state = REF_SLOT_IDLE;
    q->slots[i].dead = 1;
    return ESMC_OK;
  }
  return ref_sqs_arm_retry(q, i, q->recv_retry_at);
}

static esmc_status ref_sqs_invoke(struct ref_sqs *q, size_t i)
{
  struct ref_sqs_slot *s = &q->slots[i];
  esmc_status rc;
  size_t k;

  if(ref_sqs_inflight(q) >= (size_t)ref_sqs_ceiling(q)) {
    /* SQS-SCALE-1: a lowered MaximumConcurrency applies at once; the batch
     * waits in hand until an invocation completes (SQS-MAXC-4). */
    s->state = REF_SLOT_HELD;
    return ESMC_OK;
  }
  k = s->n;
  rc = ref_sqs_check_receipts(q, s);
  if(rc != ESMC_OK)
    return rc;
  if(s->n == 0) /* every receipt ended: start over */
    return ref_sqs_start(q, i);
  if(s->n < k && q->cfg.window_s > 0) {
    /* Messages left the batch: its window starts again with the ones that
     * are left (SQS-BATCH-2 counts from their receive). */
    s->opened = ref_sqs_now(q);
    s->cut = s->carry_n > 0; /* a carry still goes next */
    return ref_sqs_continue(q, i);
  }
  q->payload.len = 0;
  q->payload.oom = 0;
  ref_buf_puts(&q->payload, "{\"Records\":[");
  for(k = 0; k < s->n; k++) {
    if(k > 0)
      ref_buf_puts(&q->payload, ",");
    ref_sqs_append_record_json(&q->payload, &q->cfg, s->msgs[k].m, 0);
  }
  ref_buf_puts(&q->payload, "]}");
  if(q->payload.oom)
    return ESMC_E_NOMEM;
  rc = q->host->invoke(q->host->ctx, (const uint8_t *)q->payload.data,
                       q->payload.len, &s->inv);
  if(rc == ESMC_OK) {
    s->state = REF_SLOT_INVOKING;
    return ESMC_OK;
  }
  if(rc <= ESMC_E_FATAL)
    return rc;
  /* The invoke did not start: the messages return after their visibility
   * timeout (CONTRA-12); keep polling. */
  ref_sqs_log(q, ESMC_LOG_WARN, "sqs: invoke failed; batch released");
  ref_sqs_slot_clear(s);
  return ref_sqs_arm_retry(q, i, ref_sqs_now(q) + REF_SQS_RETRY_MS);
}

/* Opens a new batch in slot i: the carry first, then receives. */
static esmc_status ref_sqs_start(struct ref_sqs *q, size_t i)
{
  struct ref_sqs_slot *s = &q->slots[i];
  size_t k = 0, limit = ref_sqs_batch_limit(q);
  int oom = 0;

  ref_sqs_slot_clear(s);
  if(i >= (size_t)q->target && s->carry_n == 0) {
    s->state = REF_SLOT_IDLE; /* the concurrency went down */
    return ESMC_OK;
  }
  s->open = 1;
  s->opened = ref_sqs_now(q);
  while(k < s->carry_n && s->n < limit) {
    if(!ref_sqs_add(q, s, s->carry[k], &oom)) {
      if(oom)
        return ESMC_E_NOMEM;
      s->cut = 1;
      break;
    }
    k++;
  }
  if(k > 0) {
    memmove(s->carry, s->carry + k, (s->carry_n - k) * sizeof(*s->carry));
    s->carry_n -= k;
  }
  if(s->carry_n > 0)
    s->cut = 1; /* the rest opens the batch after this one */
  return ref_sqs_continue(q, i);
}

/* GEN-4: BatchSize went down while the batch was open. Messages past the
 * new BatchSize go back to the front of the carry, in order, and open the
 * next batch. */
static esmc_status ref_sqs_trim(struct ref_sqs *q, struct ref_sqs_slot *s,
                                size_t limit)
{
  size_t extra = s->n - limit, k;

  while(s->carry_cap < s->carry_n + extra) {
    size_t nc = s->carry_cap ? s->carry_cap * 2 : 16;
    struct ref_sqs_held *p = realloc(s->carry, nc * sizeof(*p));
    if(!p)
      return ESMC_E_NOMEM;
    s->carry = p;
    s->carry_cap = nc;
  }
  memmove(s->carry + extra, s->carry, s->carry_n * sizeof(*s->carry));
  memcpy(s->carry, s->msgs + limit, extra * sizeof(*s->carry));
  s->carry_n += extra;
  s->n = limit;
  s->cut = 1;
  s->bytes = REF_EVENT_OVERHEAD;
  for(k = 0; k < s->n; k++)
    s->bytes += ref_sqs_record_len(&q->cfg, s->msgs[k].m) + (k > 0 ? 1 : 0);
  return ESMC_OK;
}

/* Receives more or invokes, per the batching rules. */
static esmc_status ref_sqs_continue(struct ref_sqs *q, size_t i)
{
  struct ref_sqs_slot *s = &q->slots[i];
  size_t limit = ref_sqs_batch_limit(q);
  esmc_time_ms now = ref_sqs_now(q);
  int32_t wait = REF_SQS_WAIT_S;
  uint32_t want;
  esmc_status rc;

  if(!q->cfg.enabled) {
    /* Paused: what is in hand returns after its visibility timeout. */
    ref_sqs_slot_clear(s);
    s->carry_n = 0;
    s->state = REF_SLOT_IDLE;
    return ESMC_OK;
  }
  if(s->n > limit) {
    esmc_status trc = ref_sqs_trim(q, s, limit);
    if(trc != ESMC_OK)
      return trc;
  }
  if(s->n > 0 &&
     (s->cut || s->n >= limit || now >= ref_sqs_window_end(q, s)))
    return ref_sqs_invoke(q, i);
  if(s->n > 0) {
    esmc_time_ms left = ref_sqs_window_end(q, s) - now;
    wait = (int32_t)((left + 999) / 1000);
    if(wait > REF_SQS_WAIT_S)
      wait = REF_SQS_WAIT_S;
  }
  want = (uint32_t)(limit - s->n);
  if(want > REF_SQS_RECEIVE_MAX)
    want = REF_SQS_RECEIVE_MAX;
  if(now < q->recv_retry_at) {
    /* The gate is closed after a failed receive. */
    if(s->n > 0)
      return ref_sqs_wait_gate(q, i);
    return ref_sqs_arm_retry(q, i, q->recv_retry_at);
  }
  rc = q->host->receive_messages(q->host->ctx, want, wait, -1, &s->rcv);
  if(rc == ESMC_OK) {
    s->rcv_at = now;
    s->want = want;
    s->state = REF_SLOT_RECEIVING;
    return ESMC_OK;
  }
  if(rc <= ESMC_E_FATAL)
    return rc;
  ref_sqs_receive_failed(q, rc);
  return ref_sqs_wait_gate(q, i);
}

/* GetQueueAttributes: fills *a; ESMC_OK or the host's failure. */
static esmc_status ref_sqs_attributes(const struct esmc_host *host,
                                      struct esmc_queue_attributes *a)
{
  memset(a, 0, sizeof(*a));
  a->struct_size = sizeof(*a);
  return host->get_queue_attributes(host->ctx, a);
}

/* The attributes, when create() could not get them: fetched again with a
 * backoff before any receive (FAULT-1, FAULT-8). Returns 1 when known. */
static int ref_sqs_need_attributes(struct ref_sqs *q, esmc_status *fatal)
{
  struct esmc_queue_attributes a;
  esmc_status rc;

  if(q->attrs_known)
    return 1;
  if(q->attr_armed)
    return 0;
  rc = ref_sqs_attributes(q->host, &a);
  if(rc == ESMC_OK) {
    q->attrs_known = 1;
    q->attr_fails = 0;
    q->visibility_s = a.visibility_timeout_s;
    return 1;
  }
  if(rc <= ESMC_E_FATAL) {
    *fatal = rc;
    return 0;
  }
  q->attr_fails++;
  rc = q->host->set_timer(q->host->ctx,
                          ref_sqs_now(q) + ref_sqs_backoff(q->attr_fails),
                          REF_SQS_TIMER_ATTRS);
  if(rc != ESMC_OK)
    *fatal = rc;
  else
    q->attr_armed = 1;
  ref_sqs_log(q, ESMC_LOG_WARN,
              "sqs: GetQueueAttributes failed; trying again before the "
              "first receive");
  return 0;
}

/* Arms the delete-retry timer for the earliest pending retry. */
static void ref_sqs_arm_deletes(struct ref_sqs *q)
{
  esmc_time_ms at = 0;
  size_t k;

  for(k = 0; k < q->ndels; k++)
    if(k == 0 || q->dels[k].next_at < at)
      at = q->dels[k].next_at;
  if(q->ndels == 0 || (q->del_armed && q->del_at == at))
    return;
  if(q->host->set_timer(q->host->ctx, at, REF_SQS_TIMER_DELETE) == ESMC_OK) {
    q->del_armed = 1;
    q->del_at = at;
  }
}

/* DeleteMessage for a held message. A failure is retried with a backoff
 * while its receipt can still be current; after that the message comes
 * back and is processed again (FAULT-4). */
static esmc_status ref_sqs_delete(struct ref_sqs *q, struct ref_sqs_held h)
{
  esmc_status rc = q->host->delete_message(q->host->ctx,
                                           h.m->receipt_handle);
  esmc_time_ms next = ref_sqs_now(q) + ref_sqs_backoff(1);

  if(rc == ESMC_OK)
    return ESMC_OK;
  if(rc <= ESMC_E_FATAL)
    return rc;
  if(rc == ESMC_E_NOT_FOUND || rc == ESMC_E_INVALID_PARAMETER ||
     next >= h.stale) {
    ref_sqs_log(q, ESMC_LOG_WARN,
                "sqs: DeleteMessage failed; the message will come back");
    return ESMC_OK;
  }
  if(q->ndels == q->capdels) {
    size_t nc = q->capdels ? q->capdels * 2 : 16;
    struct ref_sqs_del *p = realloc(q->dels, nc * sizeof(*p));
    if(!p)
      return ESMC_E_NOMEM;
    q->dels = p;
    q->capdels = nc;
  }
  q->dels[q->ndels].m = h.m;
  q->dels[q->ndels].next_at = next;
  q->dels[q->ndels].stale = h.stale;
  q->dels[q->ndels].tries = 1;
  q->ndels++;
  ref_sqs_log(q, ESMC_LOG_WARN, "sqs: DeleteMessage failed; retrying");
  ref_sqs_arm_deletes(q);
  return ESMC_OK;
}

/* The delete-retry timer: tries every due delete again. */
static esmc_status ref_sqs_retry_deletes(struct ref_sqs *q)
{
  esmc_time_ms now = ref_sqs_now(q);
  size_t k = 0;

  q->del_armed = 0;
  while(k < q->ndels) {
    struct ref_sqs_del *d = &q->dels[k];
    esmc_status rc;
    if(d->next_at > now) {
      k++;
      continue;
    }
    rc = q->host->delete_message(q->host->ctx, d->m->receipt_handle);
    if(rc <= ESMC_E_FATAL)
      return rc;
    if(rc != ESMC_OK && rc != ESMC_E_NOT_FOUND &&
       rc != ESMC_E_INVALID_PARAMETER) {
      d->tries++;
      d->next_at = now + ref_sqs_backoff(d->tries);
      if(d->next_at < d->stale) {
        k++;
        continue;
      }
      ref_sqs_log(q, ESMC_LOG_WARN,
                  "sqs: DeleteMessage keeps failing; the message will come "
                  "back");
    }
    q->dels[k] = q->dels[--q->ndels];
  }
  ref_sqs_arm_deletes(q);
  return ESMC_OK;
}

/* Starts every idle slot below target; arms the ramp timer. */
static esmc_status ref_sqs_fill(struct ref_sqs *q)
{
  size_t i, want;
  esmc_status rc, fatal = ESMC_OK;

  if(!q->cfg.enabled)
    return ESMC_OK;
  if(!ref_sqs_need_attributes(q, &fatal))
    return fatal;
  want = (size_t)q->target;
  if(q->nslots < want) {
    struct ref_sqs_slot *p = realloc(q->slots, want * sizeof(*p));
    if(!p)
      return ESMC_E_NOMEM;
    memset(p + q->nslots, 0, (want - q->nslots) * sizeof(*p));
    q->slots = p;
    q->nslots = want;
  }
  if(!q->ramp_armed) {
    rc = q->host->set_timer(q->host->ctx, ref_sqs_now(q) + REF_SQS_RAMP_MS,
                            REF_SQS_TIMER_RAMP);
    if(rc != ESMC_OK)
      return rc;
    q->ramp_armed = 1;
  }
  for(i = 0; i < want; i++) {
    if(q->slots[i].state != REF_SLOT_IDLE || q->slots[i].dead)
      continue;
    rc = ref_sqs_start(q, i);
    if(rc != ESMC_OK)
      return rc;
  }
  return ESMC_OK;
}

/* Invokes the held batches, lowest slot first, while MaximumConcurrency
 * allows; a paused mapping lets them return (GEN-3). */
static esmc_status ref_sqs_release_held(struct ref_sqs *q)
{
  size_t i;
  esmc_status rc;

  for(i = 0; i < q->nslots; i++) {
    struct ref_sqs_slot *s = &q->slots[i];
    if(s->state != REF_SLOT_HELD)
      continue;
    if(!q->cfg.enabled) {
      ref_sqs_slot_clear(s);
      s->carry_n = 0;
      s->state = REF_SLOT_IDLE;
      continue;
    }
    if(ref_sqs_inflight(q) >= (size_t)ref_sqs_ceiling(q))
      break;
    rc = ref_sqs_invoke(q, i);
    if(rc != ESMC_OK)
      return rc;
  }
  return ESMC_OK;
}

static void ref_sqs_back_off(struct ref_sqs *q)
{
  if(q->target > REF_SQS_FLOOR)
    q->target--;
}

/* ------------------------------------------------------------------------ */
/* Callbacks. */

static size_t ref_sqs_find_receive(const struct ref_sqs *q, esmc_receive r)
{
  size_t i;

  for(i = 0; i < q->nslots; i++)
    if(q->slots[i].state == REF_SLOT_RECEIVING && q->slots[i].rcv == r)
      return i;
  return SIZE_MAX;
}

esmc_status ref_sqs_on_receive_complete(struct ref_sqs *q, esmc_receive rcv,
                                        const struct esmc_receive_result *r)
{
  struct ref_sqs_slot *s;
  size_t i = ref_sqs_find_receive(q, rcv), k, limit;
  int oom = 0;

  if(i == SIZE_MAX || !r)
    return ESMC_OK;
  s = &q->slots[i];
  s->state = REF_SLOT_IDLE;
  if(r->status != ESMC_OK) {
    if(!q->cfg.enabled)
      return ref_sqs_continue(q, i);
    ref_sqs_receive_failed(q, r->status);
    return ref_sqs_wait_gate(q, i);
  }
  q->recv_fails = 0;
  if(!q->cfg.enabled)
    return ref_sqs_continue(q, i); /* drops the messages: they return */
  if(r->count >= s->want && r->count > 0)
    q->demand = 1;
  /* GEN-4: the configuration in force now applies to these messages, even
   * when the receive began before an update (BatchSize, filters). */
  limit = ref_sqs_batch_limit(q);
  for(k = 0; k < r->count; k++) {
    struct ref_sqs_held h;
    if(!r->messages[k])
      continue;
    h.m = r->messages[k];
    h.stale = ref_sqs_now(q) + (esmc_time_ms)q->visibility_s * 1000;
    h.asked = s->rcv_at;
    if(!ref_sqs_matches(q, h.m)) {
      /* FILTER-8: deleted, never invoked. */
      esmc_status rc = ref_sqs_delete(q, h);
      if(rc != ESMC_OK)
        return rc;
      continue;
    }
    if(s->cut || s->n >= limit) {
      /* The 6 MB cut, or a BatchSize lowered while the receive was out:
       * the message opens the next batch. */
      s->cut = 1;
      if(ref_sqs_push(&s->carry, &s->carry_n, &s->carry_cap, h) != 0)
        return ESMC_E_NOMEM;
      continue;
    }
    if(!ref_sqs_add(q, s, h, &oom)) {
      if(oom)
        return ESMC_E_NOMEM;
      s->cut = 1;
      if(ref_sqs_push(&s->carry, &s->carry_n, &s->carry_cap, h) != 0)
        return ESMC_E_NOMEM;
    }
  }
  return ref_sqs_continue(q, i);
}

static int ref_sqs_same_group(const struct esmc_message *a,
                              const struct esmc_message *b)
{
  return a->message_group_id && b->message_group_id &&
         strcmp(a->message_group_id, b->message_group_id) == 0;
}

/* FIFO: carried messages of a group that failed in the batch must not run
 * ahead of it; they are dropped from the carry and return after the
 * visibility timeout, behind the failed ones. failed NULL: all failed. */
static void ref_sqs_drop_failed_groups(struct ref_sqs_slot *s,
                                       const unsigned char *failed)
{
  size_t k, j, w = 0;

  for(k = 0; k < s->carry_n; k++) {
    int drop = 0;
    for(j = 0; j < s->n && !drop; j++)
      if((!failed || failed[j]) &&
         ref_sqs_same_group(s->msgs[j].m, s->carry[k].m))
        drop = 1;
    if(!drop)
      s->carry[w++] = s->carry[k];
  }
  s->carry_n = w;
}

esmc_status ref_sqs_on_invoke_complete(struct ref_sqs *q, esmc_invocation inv,
                                       const struct esmc_invoke_result *r)
{
  struct ref_sqs_slot *s = NULL;
  unsigned char *failed = NULL;
  const char **ids = NULL;
  int all_failed = 1, rbif, not_run;
  size_t i, k;
  esmc_status rc = ESMC_OK;

  for(i = 0; i < q->nslots; i++)
    if(q->slots[i].state == REF_SLOT_INVOKING && q->slots[i].inv == inv) {
      s = &q->slots[i];
      break;
    }
  if(!s || !r)
    return ESMC_OK;
  s->state = REF_SLOT_IDLE;
  rbif = (q->cfg.function_response_types &
          ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) != 0;
  if(r->outcome == ESMC_INVOKE_OK || REF_MUTANT(SQS_DELETE_ON_ERROR)) {
    int kind = REF_RESPONSE_SUCCESS;
    if(rbif && s->n > 0) {
      failed = calloc(s->n, 1);
      ids = calloc(s->n, sizeof(*ids));
      if(!failed || !ids) {
        free(failed);
        free((void *)ids);
        return ESMC_E_NOMEM;
      }
      for(k = 0; k < s->n; k++)
        ids[k] = s->msgs[k].m->message_id;
      kind = ref_parse_sqs_response(r->payload, r->payload_len, ids, s->n,
                                    failed);
      if(kind == REF_RESPONSE_SUCCESS)
        memset(failed, 0, s->n);
    }
    if(REF_MUTANT(SQS_INVALID_OK) && kind == REF_RESPONSE_INVALID)
      kind = REF_RESPONSE_PARTIAL; /* mutant: delete what is not listed */
    if(kind != REF_RESPONSE_INVALID) {
      all_failed = 0;
      for(k = 0; k < s->n; k++) {
        if(failed && failed[k] && !REF_MUTANT(SQS_DELETE_LISTED))
          continue;
        rc = ref_sqs_delete(q, s->msgs[k]); /* FAULT-4: retried */
        if(rc != ESMC_OK)
          break;
        ref_sqs_forget(q, s->msgs[k].m);
      }
    } else {
      ref_sqs_log(q, ESMC_LOG_INFO,
                  "sqs: invalid batch response: the whole batch failed");
    }
  } else {
    if(!rbif)
      ref_sqs_back_off(q); /* SQS-ERR-3/4; not with RBIF (SQS-ERR-5) */
  }
  /* SQS-ERR-2: a message that failed is invoked again only after the queue
   * delivers it again; copies other slots received before the failure (the
   * queue's duplicates) are let go. A batch that never ran failed nothing. */
  not_run = r->outcome == ESMC_INVOKE_THROTTLED ||
            r->outcome == ESMC_INVOKE_SERVICE_ERROR;
  for(k = 0; k < s->n; k++)
    if((all_failed && !not_run) || (failed && failed[k]))
      ref_sqs_forget(q, s->msgs[k].m);
  if(q->fifo && !REF_MUTANT(FIFO_LATER_FIRST)) {
    if(all_failed)
      ref_sqs_drop_failed_groups(s, NULL);
    else if(failed)
      ref_sqs_drop_failed_groups(s, failed);
  }
  free(failed);
  free((void *)ids);
  if(rc != ESMC_OK)
    return rc;
  ref_sqs_slot_clear(s);
  i = (size_t)(s - q->slots);
  rc = ref_sqs_release_held(q); /* older batches first */
  if(rc != ESMC_OK)
    return rc;
  if(q->cfg.enabled && (i < (size_t)q->target || s->carry_n > 0)) {
    rc = ref_sqs_start(q, i);
    if(rc != ESMC_OK)
      return rc;
  } else if(!q->cfg.enabled) {
    s->carry_n = 0;
  }
  return ref_sqs_fill(q);
}

esmc_status ref_sqs_on_timer(struct ref_sqs *q, uint64_t token)
{
  size_t i;

  if(token == REF_SQS_TIMER_DELETE)
    return ref_sqs_retry_deletes(q);
  if(token == REF_SQS_TIMER_ATTRS) {
    q->attr_armed = 0;
    return ref_sqs_fill(q);
  }
  if(token == REF_SQS_TIMER_RAMP) {
    q->ramp_armed = 0;
    if(!q->cfg.enabled)
      return ESMC_OK;
    if(q->demand) {
      int32_t step = q->profile == 1 ? 60 : 300;
      int32_t ceiling = ref_sqs_ceiling(q);
      q->target = q->target > ceiling - step ? ceiling : q->target + step;
      q->demand = 0;
    }
    return ref_sqs_fill(q);
  }
  i = (size_t)(token - 1);
  if(i < q->nslots && q->slots[i].state == REF_SLOT_GATED) {
    q->slots[i].state = REF_SLOT_IDLE;
    return ref_sqs_continue(q, i); /* invokes, or receives again */
  }
  if(i >= q->nslots || q->slots[i].state != REF_SLOT_WAITING)
    return ESMC_OK;
  q->slots[i].state = REF_SLOT_IDLE;
  if(!q->cfg.enabled || (i >= (size_t)q->target && q->slots[i].carry_n == 0))
    return ESMC_OK;
  if(!q->attrs_known)
    return ref_sqs_fill(q);
  return ref_sqs_start(q, i);
}

/* SQS-VIS-4: the function timeout must not exceed the visibility timeout.
 * *a holds the attributes (a.struct_size 0 when the call failed; *got is
 * the host's answer). */
static esmc_status ref_sqs_check_visibility(const struct esmc_host *host,
                                            int32_t timeout_s,
                                            struct esmc_queue_attributes *out,
                                            esmc_status *got,
                                            struct esmc_error *err)
{
  struct esmc_queue_attributes a;

  *got = ref_sqs_attributes(host, &a);
  if(*got != ESMC_OK) {
    memset(out, 0, sizeof(*out));
    return ESMC_OK; /* unknown: nothing to check against */
  }
  *out = a;
  if(timeout_s != ESMC_UNSET && timeout_s > a.visibility_timeout_s) {
    if(err) {
      snprintf(err->code, sizeof(err->code), "%s",
               "InvalidParameterValueException");
      snprintf(err->message, sizeof(err->message),
               "Queue visibility timeout: %" PRId32 " seconds is less than "
               "Function timeout: %" PRId32 " seconds",
               a.visibility_timeout_s, timeout_s);
    }
    return ESMC_E_INVALID_PARAMETER;
  }
  return ESMC_OK;
}

esmc_status ref_sqs_create(const struct esmc_host *host,
                           const struct esmc_mapping_config *cfg,
                           struct ref_sqs **out, struct esmc_error *err)
{
  struct ref_sqs *q;
  struct esmc_queue_attributes a;
  esmc_status rc, got;
  int fifo;

  if(!host || !cfg || !out || host->abi_version < 2 ||
     host->struct_size < offsetof(struct esmc_host, change_message_visibility) +
                           sizeof(host->change_message_visibility) ||
     !host->receive_messages || !host->delete_message ||
     !host->get_queue_attributes)
    return ESMC_E_UNSUPPORTED;
  rc = ref_config_validate(cfg, NULL, 0, host->now(host->ctx), err);
  if(rc != ESMC_OK)
    return rc;
  fifo = cfg->source == ESMC_SOURCE_SQS_FIFO;
  /* FAULT-7: GetQueueAttributes is also the permission check. Any other
   * failure leaves the attributes unknown: the mapping is accepted and
   * fetches them before its first receive. */
  rc = ref_sqs_check_visibility(host, cfg->function_timeout_s, &a, &got, err);
  if(rc != ESMC_OK)
    return rc;
  if(got == ESMC_E_ACCESS_DENIED && !REF_MUTANT(NO_PERMISSION_PROBE) &&
     !ref_cfg_restart(cfg))
    return ref_config_access_denied(cfg, err);
  if(got <= ESMC_E_FATAL)
    return got;
  q = calloc(1, sizeof(*q));
  if(!q)
    return ESMC_E_NOMEM;
  q->host = host;
  q->fifo = fifo;
  q->attrs_known = got == ESMC_OK;
  q->visibility_s = a.visibility_timeout_s;
  if(!q->attrs_known) {
    /* Fetched again before the first receive, after a backoff. */
    q->attr_fails = 1;
    if(host->set_timer(host->ctx, host->now(host->ctx) + ref_sqs_backoff(1),
                       REF_SQS_TIMER_ATTRS) == ESMC_OK)
      q->attr_armed = 1;
  }
  q->timeout_s = cfg->function_timeout_s > 0 ? cfg->function_timeout_s : 3;
  if(ref_config_from_create(&q->cfg, cfg) != ESMC_OK) {
    free(q);
    return ESMC_E_NOMEM;
  }
  q->max_concurrency = ref_cfg_max_concurrency(cfg);
  q->profile = cfg->struct_size >= offsetof(struct esmc_mapping_config,
                                            scaling_profile) +
                                     sizeof(cfg->scaling_profile) &&
                   cfg->scaling_profile == 1
                 ? 1
                 : 0;
  q->target = ref_sqs_ceiling(q) < REF_SQS_START ? ref_sqs_ceiling(q)
                                                 : REF_SQS_START;
  rc = ref_sqs_fill(q);
  if(rc != ESMC_OK && rc != ESMC_E_NOMEM) {
    ref_sqs_destroy(q);
    return rc;
  }
  *out = q;
  return ESMC_OK;
}

esmc_status ref_sqs_update(struct ref_sqs *q,
                           const struct esmc_mapping_config *cfg,
                           struct esmc_error *err)
{
  struct ref_config next;
  esmc_status rc;
  int32_t mc;
  int was_enabled;

  if(!q || !cfg)
    return ESMC_E_INVALID_PARAMETER;
  rc = ref_config_validate(cfg, &q->cfg, 1, ref_sqs_now(q), err);
  if(rc != ESMC_OK)
    return rc;
  if(cfg->function_timeout_s != ESMC_UNSET && cfg->function_timeout_s > 0) {
    struct esmc_queue_attributes a;
    esmc_status got;
    rc = ref_sqs_check_visibility(q->host, cfg->function_timeout_s, &a, &got,
                                  err);
    if(rc != ESMC_OK)
      return rc;
    q->timeout_s = cfg->function_timeout_s;
    if(got == ESMC_OK) {
      q->attrs_known = 1;
      q->visibility_s = a.visibility_timeout_s;
    }
  }
  if(ref_config_from_update(&next, &q->cfg, cfg) != ESMC_OK)
    return ESMC_E_NOMEM;
  was_enabled = q->cfg.enabled;
  ref_config_free(&q->cfg);
  q->cfg = next;
  if(!was_enabled && q->cfg.enabled) {
    /* SQS-SCALE-2: the ramp starts again when the mapping is enabled. */
    q->target = ref_sqs_ceiling(q) < REF_SQS_START ? ref_sqs_ceiling(q)
                                                   : REF_SQS_START;
    q->demand = 0;
    rc = q->host->set_timer(q->host->ctx, ref_sqs_now(q) + REF_SQS_RAMP_MS,
                            REF_SQS_TIMER_RAMP);
    if(rc != ESMC_OK)
      return rc;
    q->ramp_armed = 1;
  }
  mc = ref_cfg_max_concurrency(cfg);
  if(mc != ESMC_UNSET) {
    q->max_concurrency = mc;
    if(q->target > ref_sqs_ceiling(q))
      q->target = ref_sqs_ceiling(q);
  }
  rc = ref_sqs_release_held(q);
  if(rc != ESMC_OK)
    return rc;
  return ref_sqs_fill(q);
}

void ref_sqs_destroy(struct ref_sqs *q)
{
  size_t i;

  if(!q)
    return;
  for(i = 0; i < q->nslots; i++) {
    free(q->slots[i].msgs);
    free(q->slots[i].carry);
  }
  free(q->slots);
  free(q->dels);
  ref_buf_free(&q->payload);
  ref_config_free(&q->cfg);
  free(q);
}

int32_t ref_sqs_concurrency(const struct ref_sqs *q)
{
  return q ? q->target : 0;
}

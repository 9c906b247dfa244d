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

enum ref_slot_state {
  REF_SLOT_IDLE,      /* no receive, no invocation, no timer */
  REF_SLOT_RECEIVING, /* a receive is outstanding */
  REF_SLOT_WAITING,   /* a receive failed: retry timer armed */
  REF_SLOT_INVOKING,  /* the batch is being invoked */
  REF_SLOT_HELD       /* the batch is ready; MaximumConcurrency is reached */
};

struct ref_sqs_slot {
  enum ref_slot_state state;
  esmc_receive rcv;
  uint32_t want;              /* messages asked for by the receive */
  esmc_invocation inv;
  const struct esmc_message **msgs; /* the batch, in receive order */
  size_t n, cap;
  size_t bytes;               /* the event's length with these messages */
  int cut;                    /* the 6 MB cut: invoke now */
  int open;                   /* a batch is open (opened is set) */
  esmc_time_ms opened;        /* the window began; it ends at opened plus
                               * the window in force (GEN-4) */
  const struct esmc_message **carry; /* received, not yet in a batch */
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

static int ref_sqs_push(const struct esmc_message ***arr, size_t *n,
                        size_t *cap, const struct esmc_message *m)
{
  if(*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    const struct esmc_message **p = realloc((void *)*arr, nc * sizeof(*p));
    if(!p)
      return -1;
    *arr = p;
    *cap = nc;
  }
  (*arr)[(*n)++] = m;
  return 0;
}

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

/* Adds m to the batch, or returns 0 when it does not fit (the 6 MB cut). */
static int ref_sqs_add(struct ref_sqs *q, struct ref_sqs_slot *s,
                       const struct esmc_message *m, int *oom)
{
  size_t len = ref_sqs_record_len(&q->cfg, m);
  size_t more = len + (s->n > 0 ? 1 : 0), k;

  /* SQS may deliver a message again while this batch is still being
   * gathered (an at-least-once duplicate): keep one copy, with the latest
   * receipt handle, in its first place. */
  for(k = 0; k < s->n; k++) {
    if(strcmp(s->msgs[k]->message_id, m->message_id) == 0) {
      size_t old = ref_sqs_record_len(&q->cfg, s->msgs[k]);
      s->bytes = s->bytes - old + len;
      s->msgs[k] = m;
      return 1;
    }
  }
  if(s->n > 0 && s->bytes + more > REF_PAYLOAD_MAX)
    return 0;
  if(s->n == 0)
    s->opened = ref_sqs_now(q); /* the window runs from the first message in
                                   hand (spec/sqs.md, CONTRA-16) */
  if(ref_sqs_push(&s->msgs, &s->n, &s->cap, m) != 0) {
    *oom = 1;
    return 0;
  }
  s->bytes += more;
  return 1;
}

/* ------------------------------------------------------------------------ */
/* The slot machine. */

static esmc_status ref_sqs_continue(struct ref_sqs *q, size_t i);

static esmc_status ref_sqs_arm_retry(struct ref_sqs *q, size_t i)
{
  q->slots[i].state = REF_SLOT_WAITING;
  return q->host->set_timer(q->host->ctx, ref_sqs_now(q) + REF_SQS_RETRY_MS,
                            (uint64_t)i + 1);
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
  q->payload.len = 0;
  q->payload.oom = 0;
  ref_buf_puts(&q->payload, "{\"Records\":[");
  for(k = 0; k < s->n; k++) {
    if(k > 0)
      ref_buf_puts(&q->payload, ",");
    ref_sqs_append_record_json(&q->payload, &q->cfg, s->msgs[k], 0);
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
  return ref_sqs_arm_retry(q, i);
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
    memmove((void *)s->carry, (const void *)(s->carry + k),
            (s->carry_n - k) * sizeof(*s->carry));
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
    const struct esmc_message **p = realloc((void *)s->carry,
                                            nc * sizeof(*p));
    if(!p)
      return ESMC_E_NOMEM;
    s->carry = p;
    s->carry_cap = nc;
  }
  memmove((void *)(s->carry + extra), (const void *)s->carry,
          s->carry_n * sizeof(*s->carry));
  memcpy((void *)s->carry, (const void *)(s->msgs + limit),
         extra * sizeof(*s->carry));
  s->carry_n += extra;
  s->n = limit;
  s->cut = 1;
  s->bytes = REF_EVENT_OVERHEAD;
  for(k = 0; k < s->n; k++)
    s->bytes += ref_sqs_record_len(&q->cfg, s->msgs[k]) + (k > 0 ? 1 : 0);
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
  rc = q->host->receive_messages(q->host->ctx, want, wait, -1, &s->rcv);
  if(rc == ESMC_OK) {
    s->want = want;
    s->state = REF_SLOT_RECEIVING;
    return ESMC_OK;
  }
  if(rc <= ESMC_E_FATAL)
    return rc;
  if(s->n > 0)
    return ref_sqs_invoke(q, i);
  return ref_sqs_arm_retry(q, i);
}

/* Starts every idle slot below target; arms the ramp timer. */
static esmc_status ref_sqs_fill(struct ref_sqs *q)
{
  size_t i, want;
  esmc_status rc;

  if(!q->cfg.enabled)
    return ESMC_OK;
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
    if(q->slots[i].state != REF_SLOT_IDLE)
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
    if(s->n > 0)
      return ref_sqs_invoke(q, i);
    return ref_sqs_arm_retry(q, i);
  }
  if(!q->cfg.enabled)
    return ref_sqs_continue(q, i); /* drops the messages: they return */
  if(r->count >= s->want && r->count > 0)
    q->demand = 1;
  /* GEN-4: the configuration in force now applies to these messages, even
   * when the receive began before an update (BatchSize, filters). */
  limit = ref_sqs_batch_limit(q);
  for(k = 0; k < r->count; k++) {
    const struct esmc_message *m = r->messages[k];
    if(!m)
      continue;
    if(!ref_sqs_matches(q, m)) {
      /* FILTER-8: deleted, never invoked. */
      esmc_status rc = q->host->delete_message(q->host->ctx,
                                               m->receipt_handle);
      if(rc <= ESMC_E_FATAL)
        return rc;
      continue;
    }
    if(s->cut || s->n >= limit) {
      /* The 6 MB cut, or a BatchSize lowered while the receive was out:
       * the message opens the next batch. */
      s->cut = 1;
      if(ref_sqs_push(&s->carry, &s->carry_n, &s->carry_cap, m) != 0)
        return ESMC_E_NOMEM;
      continue;
    }
    if(!ref_sqs_add(q, s, m, &oom)) {
      if(oom)
        return ESMC_E_NOMEM;
      s->cut = 1;
      if(ref_sqs_push(&s->carry, &s->carry_n, &s->carry_cap, m) != 0)
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
      if((!failed || failed[j]) && ref_sqs_same_group(s->msgs[j], s->carry[k]))
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
  int all_failed = 1, rbif;
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
        ids[k] = s->msgs[k]->message_id;
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
        rc = q->host->delete_message(q->host->ctx, s->msgs[k]->receipt_handle);
        if(rc <= ESMC_E_FATAL)
          break;
        rc = ESMC_OK; /* a failed delete: the message comes back */
      }
    } else {
      ref_sqs_log(q, ESMC_LOG_INFO,
                  "sqs: invalid batch response: the whole batch failed");
    }
  } else {
    if(!rbif)
      ref_sqs_back_off(q); /* SQS-ERR-3/4; not with RBIF (SQS-ERR-5) */
  }
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
  if(i >= q->nslots || q->slots[i].state != REF_SLOT_WAITING)
    return ESMC_OK;
  q->slots[i].state = REF_SLOT_IDLE;
  if(!q->cfg.enabled || (i >= (size_t)q->target && q->slots[i].carry_n == 0))
    return ESMC_OK;
  return ref_sqs_start(q, i);
}

/* SQS-VIS-4: the function timeout must not exceed the visibility timeout. */
static esmc_status ref_sqs_check_visibility(const struct esmc_host *host,
                                            int32_t timeout_s,
                                            struct esmc_error *err)
{
  struct esmc_queue_attributes a;

  memset(&a, 0, sizeof(a));
  a.struct_size = sizeof(a);
  if(host->get_queue_attributes(host->ctx, &a) != ESMC_OK)
    return ESMC_OK; /* unknown: nothing to check against */
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
  esmc_status rc;
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
  rc = ref_sqs_check_visibility(host, cfg->function_timeout_s, err);
  if(rc != ESMC_OK)
    return rc;
  q = calloc(1, sizeof(*q));
  if(!q)
    return ESMC_E_NOMEM;
  q->host = host;
  q->fifo = fifo;
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

  if(!q || !cfg)
    return ESMC_E_INVALID_PARAMETER;
  rc = ref_config_validate(cfg, &q->cfg, 1, ref_sqs_now(q), err);
  if(rc != ESMC_OK)
    return rc;
  if(cfg->function_timeout_s != ESMC_UNSET && cfg->function_timeout_s > 0) {
    rc = ref_sqs_check_visibility(q->host, cfg->function_timeout_s, err);
    if(rc != ESMC_OK)
      return rc;
  }
  if(ref_config_from_update(&next, &q->cfg, cfg) != ESMC_OK)
    return ESMC_E_NOMEM;
  ref_config_free(&q->cfg);
  q->cfg = next;
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
    free((void *)q->slots[i].msgs);
    free((void *)q->slots[i].carry);
  }
  free(q->slots);
  ref_buf_free(&q->payload);
  ref_config_free(&q->cfg);
  free(q);
}

int32_t ref_sqs_concurrency(const struct ref_sqs *q)
{
  return q ? q->target : 0;
}

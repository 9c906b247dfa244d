/*
 * ref_mapper.c: the esmcheck reference stream mapper (Kinesis and DynamoDB
 * Streams) and its adapter table.
 *
 * Each shard is a small state machine driven by ref_pump(): it is called
 * whenever something happens to the shard (a timer, a completed invocation,
 * an update) and does as much as it can at the current virtual instant, then
 * arms the shard's one timer for the earliest instant it needs.
 *
 * A shard is read once and its records are dealt to ParallelizationFactor
 * lanes by a hash of their partition key. Each lane is processed like a
 * whole shard with factor 1: its records live in a queue of pointers (the
 * host keeps records alive until destroy), the batch being processed is
 * always the queue's head, and the halves a bisect still owes are a stack of
 * lengths right behind it. The shard keeps every record it read, in sequence
 * order, until it is done in its lane; the checkpoint is the highest record
 * below the lowest one that is not done.
 *
 * With a tumbling window a lane also carries the window's state, closes the
 * window with a final invoke of no records, and holds the checkpoint back
 * until that final invoke succeeded.
 *
 * Faults of host calls (spec/faults.md): a throttled, failed or denied
 * ListShards, GetShardIterator or GetRecords is made again after a backoff
 * (the k-th failure in a row waits 1 s * 2^(k-1), at most 30 s) without
 * moving the shard's position (FAULT-1, FAULT-8); an expired or trimmed
 * iterator is replaced after the last record read, or at TRIM_HORIZON once
 * trimmed, never at LATEST (FAULT-2, FAULT-3); a refused failure record is
 * sent again on the same backoff while its lane waits (FAULT-6). The first
 * ListShards, inside create(), is also the role check: AccessDenied rejects
 * the mapping (FAULT-7). Every mapping keeps its own state: nothing is
 * shared between the mappings one adapter serves (MULTI-3).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esmcheck_adapter.h"
#include "ref_internal.h"
#include "ref_mutant.h"

#define REF_NAME "esmcheck-reference"
#define REF_VERSION "0.2.0"

/* Timer tokens: shard index * 4 + kind, and one token for the mapping. */
#define REF_TIMER_KINDS 4
#define REF_TIMER_WAKE 0
#define REF_TIMER_MAPPING UINT64_MAX

#define REF_POLL_KINESIS_MS 1000
#define REF_POLL_DYNAMODB_MS 250
#define REF_BACKOFF_BASE_MS 1000
#define REF_BACKOFF_MAX_MS 60000
/* Faults of host calls (spec/faults.md, FAULT-8): the k-th failure in a row
 * of one call waits 1 s * 2^(k-1), at most 30 s. */
#define REF_FAULT_BASE_MS 1000
#define REF_FAULT_MAX_MS 30000

/* ParallelizationFactor's upper bound (CFG-5). */
#define REF_MAX_LANES 10
/* The largest tumbling-window state carried, serialized (TW-4). */
#define REF_TW_STATE_MAX ((size_t)1048576)

enum ref_shard_state {
  REF_WAIT_PARENT, /* a parent shard is not finished yet */
  REF_NEED_ITER,   /* needs a (new) shard iterator */
  REF_READING,     /* has an iterator, or is closed and draining */
  REF_DONE         /* closed, fully read and every record done */
};

/* A discard (failure record and checkpoint) waiting to be delivered. */
struct ref_pending {
  int active;
  size_t count;       /* records to drop from the queue head once delivered */
  char *destination;  /* NULL: no destination, only checkpoint */
  char *object_key;   /* S3 only */
  struct ref_buf body;
};

struct ref_mapping;
struct ref_shard;

/* One lane of a shard: processed exactly like a shard with factor 1. */
struct ref_lane {
  struct ref_shard *s;

  /* The queue: recs[head .. head + len), with their event JSON lengths and
   * their ordinals in the shard's read order. */
  const struct esmc_record **recs;
  size_t *lens;
  uint64_t *ords;
  size_t head, len, cap;

  /* The current batch: the first batch_n queued records, or a tumbling
   * window's final invoke (final set, batch_n 0). */
  size_t batch_n;
  int final;
  int64_t attempts;    /* failed attempts of this batch */
  int64_t invocations; /* invocations of this batch */
  int64_t throttles;   /* throttled or service-failed invokes of this batch */
  int32_t b_mra;       /* the configuration the batch was formed under, */
  int32_t b_age;       /* but these two follow updates (ref_update) */
  int b_bisect;
  uint32_t b_frt;
  char *b_dest;
  int b_tw;            /* a tumbling-window batch */
  esmc_time_ms b_tw_start, b_tw_end;

  /* Lengths of the bisected halves still owed, processed top first. */
  size_t *forced;
  size_t forced_n, forced_cap;

  /* The last invocation result of this lane. */
  int32_t last_status;
  char *last_version;
  char *last_error;
  char *last_request_id;

  esmc_invocation inflight;
  esmc_time_ms wake_at;      /* do nothing before this instant */
  esmc_time_ms window_start; /* the batching window of the next batch */
  struct ref_pending pending;
  int64_t dest_fails;        /* refused sends of the pending failure record */

  /* The open tumbling window (TW-1..8). */
  int tw_open;
  int tw_early;              /* the state outgrew REF_TW_STATE_MAX */
  esmc_time_ms tw_start, tw_end;
  char *tw_state;            /* the carried state; NULL means {} */
  size_t tw_state_len;
};

struct ref_shard {
  struct ref_mapping *m;
  size_t index;
  char *id;
  char *parent;
  char *adjacent_parent;
  char *ending_seq;
  int followed; /* resharding: open when first listed, or resumed from a
                   checkpoint; its children then start at TRIM_HORIZON */
  enum ref_shard_state state;
  int restart_trim_horizon; /* the next iterator starts at TRIM_HORIZON */
  esmc_iterator iter;
  int closed;               /* get_records said the shard is fully read */
  char *last_read;          /* sequence number of the last record read */
  char *checkpoint;         /* the last checkpoint written or found */
  int64_t read_fails;       /* failed iterator and read calls in a row */
  int expired;              /* the last iterator expired or was trimmed
                               (a mutant's cue) */
  esmc_time_ms start_ts;    /* the first LATEST or AT_TIMESTAMP iterator's */
  int start_known;          /* time, kept for a new iterator before any
                               record was read (FAULT-2) */

  /* Every record read and not yet behind the checkpoint, in read order:
   * o_seq[o_head .. o_head + o_len) with a done flag each. The entry at
   * o_head has ordinal o_base. Sequence numbers point into host records. */
  const char **o_seq;
  unsigned char *o_done;
  size_t o_head, o_len, o_cap;
  uint64_t o_base;
  const char *done_upto;    /* all read records up to it are done */

  struct ref_lane lanes[REF_MAX_LANES];
  size_t nlanes;
  int relane;               /* the factor changed: re-deal when lanes idle */

  esmc_time_ms wake_at;      /* iterator retries */
  esmc_time_ms next_poll_at; /* earliest next get_records */
  esmc_time_ms caught_up_at; /* the last read that reached the shard's tip */
  int caught_up;
  esmc_time_ms need_at;      /* the earliest instant the shard needs */
  int need;
  esmc_time_ms timer_at;
  int timer_armed;
};

struct ref_mapping {
  const struct esmc_host *host;
  struct ref_config cfg;
  struct ref_shard **shards;
  size_t nshards;
  int listed;       /* list_shards succeeded at least once */
  int need_relist;  /* a shard closed: look for its children */
  int creating;     /* inside create(): AccessDenied rejects it (FAULT-7) */
  esmc_status list_status; /* the last list_shards answer */
  int64_t list_fails;      /* failed list_shards calls in a row */
  uint64_t id_counter;
  struct ref_sqs *sqs; /* SQS sources: ref_sqs.c does everything */
};

/* ------------------------------------------------------------------------ */
/* Small helpers. */

static char *ref_dup(const char *s)
{
  size_t n;
  char *d;

  if(!s)
    return NULL;
  n = strlen(s) + 1;
  d = malloc(n);
  if(d)
    memcpy(d, s, n);
  return d;
}

/* Replaces *slot with a copy of s; returns -1 on allocation failure. */
static int ref_set_str(char **slot, const char *s)
{
  char *d = NULL;

  if(s) {
    d = ref_dup(s);
    if(!d)
      return -1;
  }
  free(*slot);
  *slot = d;
  return 0;
}

static esmc_time_ms ref_now(const struct ref_mapping *m)
{
  return m->host->now(m->host->ctx);
}

static void ref_log(const struct ref_mapping *m, enum esmc_log_level level,
                    const char *msg)
{
  if(m->host->log)
    m->host->log(m->host->ctx, level, msg);
}

static esmc_time_ms ref_poll_interval(const struct ref_mapping *m)
{
  return m->cfg.source == ESMC_SOURCE_DYNAMODB ? REF_POLL_DYNAMODB_MS
                                                : REF_POLL_KINESIS_MS;
}

/* 1000 ms * 2^(k-1), capped at 60 s. */
static esmc_time_ms ref_backoff(int64_t k)
{
  return ref_exp_backoff(k, REF_BACKOFF_BASE_MS, REF_BACKOFF_MAX_MS);
}

/* The wait after the k-th failure in a row of a host call (FAULT-8). */
static esmc_time_ms ref_fault_backoff(int64_t k)
{
  return ref_exp_backoff(k, REF_FAULT_BASE_MS, REF_FAULT_MAX_MS);
}

/* Notes that the shard needs a wake-up at `at`; ref_arm_need() arms the
 * earliest one noted. */
static void ref_need(struct ref_shard *s, esmc_time_ms at)
{
  if(!s->need || at < s->need_at) {
    s->need = 1;
    s->need_at = at;
  }
}

static void ref_arm_need(struct ref_shard *s)
{
  const struct esmc_host *h = s->m->host;

  if(!s->need || (s->timer_armed && s->timer_at == s->need_at))
    return;
  if(h->set_timer(h->ctx, s->need_at,
                  (uint64_t)s->index * REF_TIMER_KINDS + REF_TIMER_WAKE) ==
     ESMC_OK) {
    s->timer_armed = 1;
    s->timer_at = s->need_at;
  }
}

/* The lane of a partition key: FNV-1a of the key text, mod the factor. */
static size_t ref_lane_of(const struct ref_shard *s,
                          const struct esmc_record *r)
{
  const char *k = r->partition_key ? r->partition_key : r->ddb_keys_json;
  uint32_t h = UINT32_C(2166136261);

  if(s->nlanes <= 1)
    return 0;
  if(REF_MUTANT(PF_REORDER))
    k = r->sequence_number;
  for(; k && *k; k++) {
    h ^= (unsigned char)*k;
    h *= UINT32_C(16777619);
  }
  return (size_t)(h % (uint32_t)s->nlanes);
}

/* The tumbling window [start, start + size) holding t. */
static esmc_time_ms ref_tw_floor(esmc_time_ms t, esmc_time_ms size)
{
  esmc_time_ms q = t / size;

  if(t % size != 0 && t < 0)
    q--;
  return q * size;
}

/* ------------------------------------------------------------------------ */
/* The shard's read order and its checkpoint. */

/* Moves the shard's checkpoint forward to seq (never backwards). */
static void ref_checkpoint(struct ref_shard *s, const char *seq)
{
  const struct esmc_host *h = s->m->host;

  if(!seq || (s->checkpoint && ref_seq_compare(seq, s->checkpoint) <= 0))
    return;
  if(h->checkpoint(h->ctx, s->id, seq) == ESMC_OK)
    ref_set_str(&s->checkpoint, seq);
}

/* Makes the starting point durable: before the first record read from a
 * shard with no checkpoint, checkpoint the position just below it. Records
 * below it are outside the starting position, so nothing is claimed done
 * that is not; a restart then resumes here instead of re-resolving LATEST or
 * AT_TIMESTAMP (CKPT-3). */
static void ref_checkpoint_before(struct ref_shard *s, const char *seq)
{
  char below[128];
  size_t n = strlen(seq), i;
  if(n == 0 || n >= sizeof(below))
    return;
  memcpy(below, seq, n + 1);
  for(i = n; i-- > 0;) {
    if(below[i] > '0') {
      below[i]--;
      break;
    }
    below[i] = '9';
  }
  if(i == (size_t)-1)
    return; /* seq was zero: nothing lies below it */
  for(i = 0; below[i] == '0' && below[i + 1]; i++)
    ;
  ref_checkpoint(s, below + i);
}

/* 1 while an open tumbling window holds the checkpoint back (TW-5). */
static int ref_checkpoint_held(const struct ref_shard *s)
{
  size_t i;

  for(i = 0; i < s->nlanes; i++)
    if(s->lanes[i].tw_open)
      return 1;
  return 0;
}

/* Drops the done records from the front of the read order and checkpoints
 * the last of them, unless a tumbling window holds the checkpoint. */
static void ref_shard_advance(struct ref_shard *s)
{
  while(s->o_len > 0 && s->o_done[s->o_head]) {
    s->done_upto = s->o_seq[s->o_head];
    s->o_head++;
    s->o_len--;
    s->o_base++;
  }
  if(s->o_len == 0)
    s->o_head = 0;
  if(s->done_upto && !ref_checkpoint_held(s))
    ref_checkpoint(s, s->done_upto);
}

/* Appends a record to the read order; *ord receives its ordinal. */
static int ref_order_push(struct ref_shard *s, const char *seq, int done,
                          uint64_t *ord)
{
  if(s->o_head + s->o_len == s->o_cap) {
    if(s->o_head > 0) {
      memmove(s->o_seq, s->o_seq + s->o_head, s->o_len * sizeof(*s->o_seq));
      memmove(s->o_done, s->o_done + s->o_head, s->o_len);
      s->o_head = 0;
    } else {
      size_t cap = s->o_cap ? s->o_cap * 2 : 64;
      const char **ns = realloc(s->o_seq, cap * sizeof(*ns));
      unsigned char *nd;
      if(!ns)
        return -1;
      s->o_seq = ns;
      nd = realloc(s->o_done, cap);
      if(!nd)
        return -1;
      s->o_done = nd;
      s->o_cap = cap;
    }
  }
  s->o_seq[s->o_head + s->o_len] = seq;
  s->o_done[s->o_head + s->o_len] = (unsigned char)(done != 0);
  *ord = s->o_base + s->o_len;
  s->o_len++;
  return 0;
}

static void ref_order_done(struct ref_shard *s, uint64_t ord)
{
  if(ord >= s->o_base && ord - s->o_base < s->o_len)
    s->o_done[s->o_head + (size_t)(ord - s->o_base)] = 1;
}

/* ------------------------------------------------------------------------ */
/* Lane queues and batches. */

static const struct esmc_record *ref_q(const struct ref_lane *l, size_t i)
{
  return l->recs[l->head + i];
}

static int ref_q_push(struct ref_lane *l, const struct esmc_record *r,
                      size_t json_len, uint64_t ord)
{
  if(l->head + l->len == l->cap) {
    if(l->head > 0) {
      memmove(l->recs, l->recs + l->head, l->len * sizeof(*l->recs));
      memmove(l->lens, l->lens + l->head, l->len * sizeof(*l->lens));
      memmove(l->ords, l->ords + l->head, l->len * sizeof(*l->ords));
      l->head = 0;
    } else {
      size_t cap = l->cap ? l->cap * 2 : 64;
      const struct esmc_record **nr = realloc(l->recs, cap * sizeof(*nr));
      size_t *nl;
      uint64_t *no;
      if(!nr)
        return -1;
      l->recs = nr;
      nl = realloc(l->lens, cap * sizeof(*nl));
      if(!nl)
        return -1;
      l->lens = nl;
      no = realloc(l->ords, cap * sizeof(*no));
      if(!no)
        return -1;
      l->ords = no;
      l->cap = cap;
    }
  }
  l->recs[l->head + l->len] = r;
  l->lens[l->head + l->len] = json_len;
  l->ords[l->head + l->len] = ord;
  l->len++;
  return 0;
}

/* The first k queued records are done: they leave the queue and the shard's
 * checkpoint moves as far as every lane allows. */
static void ref_q_done(struct ref_lane *l, size_t k)
{
  size_t i;

  if(k > l->len)
    k = l->len;
  for(i = 0; i < k; i++)
    ref_order_done(l->s, l->ords[l->head + i]);
  l->head += k;
  l->len -= k;
  if(l->len == 0)
    l->head = 0;
  ref_shard_advance(l->s);
}

static void ref_batch_reset_counts(struct ref_lane *l)
{
  l->attempts = 0;
  l->invocations = 0;
  l->throttles = 0;
}

static void ref_batch_done(struct ref_lane *l)
{
  l->batch_n = 0;
  l->final = 0;
  ref_batch_reset_counts(l);
  free(l->b_dest);
  l->b_dest = NULL;
}

/* Forms the next batch of k records under the current configuration; k 0
 * with final set is a tumbling window's final invoke. */
static int ref_batch_form(struct ref_lane *l, size_t k, int final)
{
  const struct ref_config *c = &l->s->m->cfg;

  l->batch_n = k;
  l->final = final;
  ref_batch_reset_counts(l);
  l->b_mra = c->maximum_retry_attempts;
  l->b_age = c->maximum_record_age_s;
  l->b_bisect = c->bisect;
  l->b_frt = c->function_response_types;
  l->b_tw = final || c->tumbling_window_s > 0;
  if(final) {
    l->b_tw_start = l->tw_start;
    l->b_tw_end = l->tw_end;
  } else if(l->b_tw) {
    esmc_time_ms size = (esmc_time_ms)c->tumbling_window_s * 1000;
    l->b_tw_start = ref_tw_floor(ref_q(l, 0)->approximate_arrival_ms, size);
    l->b_tw_end = l->b_tw_start + size;
  }
  free(l->b_dest);
  l->b_dest = ref_dup(c->destination);
  return (c->destination && !l->b_dest) ? -1 : 0;
}

/* The tumbling-window part of the event for the lane's batch, or NULL. */
static const struct ref_window_event *
ref_window_of(const struct ref_lane *l, struct ref_window_event *w)
{
  int same = l->tw_open && l->tw_start == l->b_tw_start &&
             l->tw_end == l->b_tw_end;

  if(!l->b_tw)
    return NULL;
  memset(w, 0, sizeof(*w));
  w->start = l->b_tw_start;
  w->end = l->b_tw_end;
  if(REF_MUTANT(TW_STATE_DROPPED))
    same = 0;
  w->state = same ? l->tw_state : NULL;
  w->state_len = same ? l->tw_state_len : 0;
  w->shard_id = l->s->id;
  w->final = l->final;
  w->early = l->final && l->tw_early;
  return w;
}

/* How many queued records (at most limit) fit one invoke payload, all of
 * one tumbling window when size_ms > 0; *cut is set when the 6 MB limit or
 * a window boundary, not limit or the queue, ended the batch. */
static size_t ref_fit(const struct ref_lane *l, size_t limit, size_t overhead,
                      esmc_time_ms size_ms, int *cut)
{
  size_t total = REF_MUTANT(EXCEED_6MB) ? 0 : overhead, k;
  esmc_time_ms w0 = 0;

  *cut = 0;
  if(size_ms > 0 && l->len > 0)
    w0 = ref_tw_floor(ref_q(l, 0)->approximate_arrival_ms, size_ms);
  for(k = 0; k < l->len && k < limit; k++) {
    size_t add = l->lens[l->head + k] + (k > 0 && !REF_MUTANT(EXCEED_6MB));
    if(size_ms > 0 &&
       ref_tw_floor(ref_q(l, k)->approximate_arrival_ms, size_ms) != w0) {
      *cut = 1;
      return k;
    }
    if(total + add > REF_PAYLOAD_MAX) {
      *cut = 1;
      return k > 0 ? k : 1; /* An oversized record goes alone. */
    }
    total += add;
  }
  return k;
}

/* ------------------------------------------------------------------------ */
/* Discards and failure records. */

static void ref_pending_clear(struct ref_pending *p)
{
  free(p->destination);
  free(p->object_key);
  ref_buf_free(&p->body);
  memset(p, 0, sizeof(*p));
}

/*
 * Gives up on the first k records of the batch with the given condition:
 * prepares the failure record (when the batch has a destination) as the
 * lane's pending delivery. The checkpoint and the removal happen once it is
 * delivered (ref_deliver).
 */
static esmc_status ref_discard(struct ref_lane *l, size_t k,
                               const char *condition)
{
  struct ref_shard *s = l->s;
  struct ref_mapping *m = s->m;
  struct ref_pending *p = &l->pending;
  int age = strcmp(condition, "RecordAgeExceeded") == 0;
  char msg[256];

  ref_pending_clear(p);
  p->active = 1;
  p->count = k;
  snprintf(msg, sizeof(msg), "%s: discarding %zu record(s) of %s (%s)",
           REF_NAME, k, s->id, condition);
  ref_log(m, ESMC_LOG_WARN, msg);
  if(l->b_dest) {
    struct ref_failure f;
    char gen_id[40], seed[512];
    esmc_time_ms now = ref_now(m);

    memset(&f, 0, sizeof(f));
    snprintf(seed, sizeof(seed), "%s/%s/%s/%" PRId64, m->cfg.uuid, s->id,
             ref_q(l, 0)->sequence_number, (int64_t)now);
    f.condition = REF_MUTANT(WRONG_CONDITION) ? "RetryAttemptsExhausted"
                                              : condition;
    if(l->invocations > 0 && l->last_request_id) {
      f.request_id = l->last_request_id;
    } else {
      ref_make_uuid(gen_id, sizeof(gen_id), seed, m->id_counter++);
      f.request_id = gen_id;
    }
    f.invoke_count = l->invocations;
    if(REF_MUTANT(INVOKE_COUNT_OFF))
      f.invoke_count = l->invocations - 1;
    if(age && f.invoke_count < 1)
      f.invoke_count = 1;
    f.has_response = !age;
    if(REF_MUTANT(NO_RESPONSE_CONTEXT) || REF_MUTANT(AGE_RESPONSE_CONTEXT))
      f.has_response = REF_MUTANT(AGE_RESPONSE_CONTEXT);
    f.status_code = l->last_status;
    f.executed_version = l->last_version;
    f.function_error = l->last_error;
    f.now = now;
    f.shard_id = s->id;
    f.records = &l->recs[l->head];
    f.n = REF_MUTANT(FAILURE_WHOLE_POLL) ? l->len : k;
    f.include_payload = ref_destination_kind(l->b_dest) == 2;
    ref_build_failure_record(&p->body, &m->cfg, &f);
    p->destination = ref_dup(l->b_dest);
    if(f.include_payload) {
      char obj_uuid[40], key[1024];
      ref_make_uuid(obj_uuid, sizeof(obj_uuid), seed, m->id_counter++);
      if(ref_s3_object_key(key, sizeof(key), m->cfg.uuid, s->id, now,
                           obj_uuid) == 0)
        p->object_key = ref_dup(key);
      if(!p->object_key) {
        ref_pending_clear(p);
        return ESMC_E_NOMEM;
      }
    }
    if(p->body.oom || !p->destination) {
      ref_pending_clear(p);
      return ESMC_E_NOMEM;
    }
  }
  return ESMC_OK;
}

/* Tries to deliver the pending discard. Returns 1 when it is done (the
 * records left the queue and the checkpoint moved), 0 when the lane must
 * wait (a retry is noted). */
static int ref_deliver(struct ref_lane *l)
{
  struct ref_shard *s = l->s;
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  struct ref_pending *p = &l->pending;
  size_t k = p->count;

  if(p->destination && !REF_MUTANT(DROP_WITHOUT_DEST)) {
    esmc_status rc = h->send_to_destination(
      h->ctx, p->destination, p->object_key, (const uint8_t *)p->body.data,
      p->body.len);
    /* FAULT-6: a refused send is not a report. The shard holds at the
     * batch and the send is retried with backoff until it is delivered. */
    if(rc != ESMC_OK && !REF_MUTANT(DEST_FAIL_AS_SENT)) {
      esmc_time_ms at;
      char msg[160];
      l->dest_fails++;
      at = ref_now(m) + ref_fault_backoff(l->dest_fails);
      snprintf(msg, sizeof(msg),
               REF_NAME ": on-failure destination refused the record (%s); "
                        "retrying in %" PRId64 " ms",
               rc == ESMC_E_ACCESS_DENIED ? "access denied" : "error",
               (int64_t)(at - ref_now(m)));
      ref_log(m, ESMC_LOG_WARN, msg);
      l->wake_at = at;
      ref_need(s, at);
      return 0;
    }
  }
  l->dest_fails = 0;
  ref_pending_clear(p);
  ref_q_done(l, k);
  if(k >= l->batch_n)
    ref_batch_done(l);
  else
    l->batch_n -= k;
  return 1;
}

/* Closes the lane's tumbling window: the state is dropped and the
 * checkpoint is released (TW-5). */
static void ref_tw_close(struct ref_lane *l)
{
  free(l->tw_state);
  l->tw_state = NULL;
  l->tw_state_len = 0;
  l->tw_open = 0;
  l->tw_early = 0;
  ref_batch_done(l);
  ref_shard_advance(l->s);
}

/* ------------------------------------------------------------------------ */
/* Reading the shard. */

static int ref_parents_done(const struct ref_shard *s)
{
  const struct ref_mapping *m = s->m;
  const char *parents[2];
  size_t i, j;

  parents[0] = s->parent;
  parents[1] = s->adjacent_parent;
  for(j = 0; j < 2; j++) {
    if(!parents[j])
      continue;
    for(i = 0; i < m->nshards; i++)
      if(strcmp(m->shards[i]->id, parents[j]) == 0 &&
         m->shards[i]->state != REF_DONE)
        return 0;
  }
  return 1;
}

/* 1 when the shard has a parent the mapping followed (read while open, or
 * resumed from a checkpoint). A parent already closed when the mapping
 * first listed it, with no checkpoint, was never followed: its children
 * start at the starting position like any shard found at creation. */
static int ref_has_known_parent(const struct ref_shard *s)
{
  const struct ref_mapping *m = s->m;
  size_t i;

  for(i = 0; i < m->nshards; i++)
    if(!m->shards[i]->followed)
      continue;
    else if((s->parent && strcmp(m->shards[i]->id, s->parent) == 0) ||
       (s->adjacent_parent &&
        strcmp(m->shards[i]->id, s->adjacent_parent) == 0))
      return 1;
  return 0;
}

/* Gets an iterator. Returns 1 on success, 0 when the shard must wait. */
static int ref_get_iterator(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  enum esmc_iterator_type type;
  const char *seq = NULL;
  esmc_time_ms ts = 0;
  esmc_iterator it = 0;
  esmc_status rc;

  if(s->restart_trim_horizon) {
    type = ESMC_ITER_TRIM_HORIZON;
  } else if(s->last_read) {
    type = ESMC_ITER_AFTER_SEQUENCE_NUMBER;
    seq = s->last_read;
  } else if(s->checkpoint) {
    type = ESMC_ITER_AFTER_SEQUENCE_NUMBER;
    seq = s->checkpoint;
  } else if(ref_has_known_parent(s)) {
    /* A child of a shard this mapping read continues where it ended. */
    type = ESMC_ITER_TRIM_HORIZON;
  } else if(s->start_known) {
    /* FAULT-2: the first iterator expired before a record was read. The
     * position stays the first iterator's: its time, never a new LATEST. */
    type = ESMC_ITER_AT_TIMESTAMP;
    ts = s->start_ts;
  } else {
    switch(m->cfg.starting_position) {
    case ESMC_START_LATEST:
      type = REF_MUTANT(LATEST_AS_TRIM) ? ESMC_ITER_TRIM_HORIZON
                                        : ESMC_ITER_LATEST;
      break;
    case ESMC_START_AT_TIMESTAMP:
      type = REF_MUTANT(AT_TIMESTAMP_IGNORED) ? ESMC_ITER_TRIM_HORIZON
                                              : ESMC_ITER_AT_TIMESTAMP;
      ts = m->cfg.starting_position_timestamp_ms;
      break;
    default: type = ESMC_ITER_TRIM_HORIZON; break;
    }
  }
  if(REF_MUTANT(EXPIRED_AT_LATEST) && s->expired) {
    type = ESMC_ITER_LATEST;
    seq = NULL;
  }
  rc = h->get_shard_iterator(h->ctx, s->id, type, seq, ts, &it);
  if(rc == ESMC_E_TRIMMED && type != ESMC_ITER_TRIM_HORIZON) {
    ref_log(m, ESMC_LOG_WARN,
            REF_NAME ": position trimmed; restarting at TRIM_HORIZON");
    s->restart_trim_horizon = 1;
    rc = h->get_shard_iterator(h->ctx, s->id,
                               REF_MUTANT(EXPIRED_AT_LATEST)
                                 ? ESMC_ITER_LATEST
                                 : ESMC_ITER_TRIM_HORIZON,
                               NULL, 0, &it);
  }
  if(rc != ESMC_OK || it == 0) {
    /* FAULT-1: throttled, 5xx or AccessDenied: the same request again
     * after a backoff; the position does not move. */
    s->read_fails++;
    s->wake_at = ref_now(m) + ref_fault_backoff(s->read_fails);
    ref_need(s, s->wake_at);
    return 0;
  }
  if(!s->start_known && !s->last_read && !s->checkpoint &&
     (type == ESMC_ITER_LATEST || type == ESMC_ITER_AT_TIMESTAMP)) {
    s->start_known = 1;
    s->start_ts = type == ESMC_ITER_LATEST ? ref_now(m) : ts;
  }
  s->restart_trim_horizon = 0;
  s->iter = it;
  s->state = REF_READING;
  return 1;
}

/* Takes one record read from the shard. With take 0 the record is done
 * without being processed (for instance filtered out): it only holds its
 * place in the read order, so the checkpoint can pass it. Returns -1 when
 * memory ran out. */
static int ref_accept(struct ref_shard *s, const struct esmc_record *r,
                      int take)
{
  uint64_t ord;

  if(!s->checkpoint && !s->last_read)
    ref_checkpoint_before(s, r->sequence_number);
  if(ref_order_push(s, r->sequence_number,
                    !take && !REF_MUTANT(FILTERED_NOT_DONE), &ord) != 0 ||
     ref_set_str(&s->last_read, r->sequence_number) != 0)
    return -1;
  if(take && ref_q_push(&s->lanes[ref_lane_of(s, r)], r,
                        ref_record_json_len(&s->m->cfg, r), ord) != 0)
    return -1;
  if(!take)
    ref_shard_advance(s);
  return 0;
}

enum ref_poll_result { REF_POLL_RECORDS, REF_POLL_EMPTY, REF_POLL_ERROR };

static enum ref_poll_result ref_poll(struct ref_shard *s, size_t want,
                                     esmc_status *fatal)
{
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  struct esmc_get_records_result res;
  esmc_time_ms now = ref_now(m);
  uint32_t limit = want > 10000 ? 10000 : want < 1 ? 1 : (uint32_t)want;

  if(REF_MUTANT(BATCH_SIZE_PLUS_ONE))
    limit++;
  size_t i, added = 0;
  esmc_status rc;

  memset(&res, 0, sizeof(res));
  rc = h->get_records(h->ctx, s->iter, limit, &res);
  if(rc == ESMC_E_EXPIRED_ITERATOR || rc == ESMC_E_NOT_FOUND ||
     rc == ESMC_E_TRIMMED) {
    /* FAULT-2, FAULT-3: a new iterator after the last record read (or at
     * TRIM_HORIZON once trimmed), at once the first time; another failure
     * before a read succeeds backs off. */
    s->state = REF_NEED_ITER;
    s->iter = 0;
    if(rc == ESMC_E_TRIMMED)
      s->restart_trim_horizon = 1;
    if(rc == ESMC_E_EXPIRED_ITERATOR || rc == ESMC_E_TRIMMED)
      s->expired = 1;
    s->read_fails++;
    s->next_poll_at =
      s->read_fails <= 1 ? now : now + ref_fault_backoff(s->read_fails - 1);
    s->wake_at = s->next_poll_at;
    return REF_POLL_ERROR;
  }
  if(rc != ESMC_OK) {
    if(REF_MUTANT(READ_FAULT_ENDS_SHARD)) {
      s->closed = 1; /* mutant: the failed read taken for the shard's end */
      s->iter = 0;
      return REF_POLL_ERROR;
    }
    /* FAULT-1: the iterator is still good; read again after a backoff. */
    s->read_fails++;
    s->next_poll_at = now + ref_fault_backoff(s->read_fails);
    return REF_POLL_ERROR;
  }
  s->read_fails = 0;
  s->expired = 0;
  for(i = 0; i < res.count; i++) {
    const struct esmc_record *r = res.records[i];
    if(!r || !r->sequence_number)
      continue;
    if((s->last_read && ref_seq_compare(r->sequence_number, s->last_read) <= 0) ||
       (s->checkpoint &&
        ref_seq_compare(r->sequence_number, s->checkpoint) <= 0))
      continue; /* Already read, or done before a restart. */
    /* FILTER-5, FILTER-7: a record no filter matches is read and done,
     * never queued; the checkpoint passes it with its neighbours. */
    if(ref_accept(s, r, REF_MUTANT(FILTERS_IGNORED) ||
                          ref_filter_match_record(&m->cfg, r)) != 0) {
      *fatal = ESMC_E_NOMEM;
      return REF_POLL_ERROR;
    }
    added++;
  }
  if(res.next_iterator == 0) {
    s->closed = 1;
    s->iter = 0;
  } else {
    s->iter = res.next_iterator;
  }
  /* Caught up: nothing came, or less than asked and not behind. */
  if(res.count == 0 || (res.count < limit && res.millis_behind_latest <= 0)) {
    s->next_poll_at = now + ref_poll_interval(m);
    s->caught_up = 1;
    s->caught_up_at = now;
  } else {
    s->next_poll_at = now;
  }
  return added > 0 ? REF_POLL_RECORDS : REF_POLL_EMPTY;
}

/* ------------------------------------------------------------------------ */
/* Invoking. */

enum ref_step { REF_STEP_AGAIN, REF_STEP_WAIT };

static enum ref_step ref_invoke_batch(struct ref_lane *l, esmc_status *out)
{
  struct ref_shard *s = l->s;
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  esmc_time_ms now = ref_now(m);
  struct ref_window_event wev;
  struct ref_buf b;
  esmc_invocation inv = 0;
  esmc_status rc;

  /* AGE: the expired records are a prefix; split them off first. */
  if(l->b_age >= 0 && !REF_MUTANT(IGNORE_RECORD_AGE)) {
    size_t k = 0;
    while(k < l->batch_n &&
          now - ref_q(l, k)->approximate_arrival_ms >
            (esmc_time_ms)l->b_age * 1000)
      k++;
    if(k > 0) {
      *out = ref_discard(l, k, "RecordAgeExceeded");
      return *out == ESMC_OK ? REF_STEP_AGAIN : REF_STEP_WAIT;
    }
  }
  /* A batch that can be retried without bound (infinite retries, or
   * throttles and service errors, which use no attempt: ERR-3) is dropped
   * once the stream trimmed it (the records expired at the source). */
  if((l->b_mra < 0 || l->throttles > 0) && l->batch_n > 0 &&
     (l->invocations > 0 || l->throttles > 0)) {
    esmc_iterator probe = 0;
    rc = h->get_shard_iterator(h->ctx, s->id, ESMC_ITER_AT_SEQUENCE_NUMBER,
                               ref_q(l, 0)->sequence_number, 0, &probe);
    if(rc == ESMC_E_TRIMMED) {
      *out = ref_discard(l, l->batch_n, "RecordAgeExceeded");
      return *out == ESMC_OK ? REF_STEP_AGAIN : REF_STEP_WAIT;
    }
  }
  /* The first invoke of a window's first batch opens the window. */
  if(l->b_tw && !l->final && !l->tw_open) {
    l->tw_open = 1;
    l->tw_early = 0;
    l->tw_start = l->b_tw_start;
    l->tw_end = l->b_tw_end;
    free(l->tw_state);
    l->tw_state = NULL;
    l->tw_state_len = 0;
  }
  memset(&b, 0, sizeof(b));
  ref_build_window_event(&b, &m->cfg, &l->recs[l->head], l->batch_n,
                         ref_window_of(l, &wev));
  if(b.oom) {
    ref_buf_free(&b);
    *out = ESMC_E_NOMEM;
    return REF_STEP_WAIT;
  }
  rc = h->invoke(h->ctx, (const uint8_t *)b.data, b.len, &inv);
  ref_buf_free(&b);
  if(rc != ESMC_OK || inv == 0) {
    l->throttles++;
    l->wake_at = now + ref_backoff(l->throttles);
    ref_need(s, l->wake_at);
    return REF_STEP_WAIT;
  }
  l->inflight = inv;
  l->invocations++;
  if(REF_MUTANT(CKPT_AT_INVOKE) && l->batch_n > 0)
    ref_checkpoint(s, ref_q(l, l->batch_n - 1)->sequence_number);
  return REF_STEP_WAIT;
}

/* ------------------------------------------------------------------------ */
/* The pump. */

static esmc_status ref_list_shards(struct ref_mapping *m);
static esmc_status ref_pump(struct ref_shard *s);

static void ref_shard_finish(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  size_t i;

  /* Resharding: list first, which also tells the ending sequence number of
   * a shard that was open when it was first listed; then end the shard. */
  m->need_relist = 1;
  ref_list_shards(m);
  if(s->ending_seq)
    ref_checkpoint(s, s->ending_seq);
  s->state = REF_DONE;
  for(i = 0; i < m->nshards; i++)
    if(m->shards[i]->state == REF_WAIT_PARENT)
      ref_pump(m->shards[i]);
}

/* 1 when the lane has no batch, half, discard or invocation in hand. */
static int ref_lane_idle(const struct ref_lane *l)
{
  return !l->inflight && !l->pending.active && l->batch_n == 0 && !l->final &&
         l->forced_n == 0;
}

/* Work a lane has in hand: a discard to deliver, a half or a batch to
 * invoke. Sets *progress when something changed. */
static esmc_status ref_lane_work(struct ref_lane *l, esmc_time_ms now,
                                 int *progress)
{
  struct ref_shard *s = l->s;
  esmc_status rc = ESMC_OK;

  if(l->inflight)
    return ESMC_OK;
  /* A discard already decided is finished even while disabled, so the
   * checkpoint of a handled invocation is not held back. */
  if(l->pending.active) {
    if(now < l->wake_at) {
      ref_need(s, l->wake_at);
      return ESMC_OK;
    }
    if(ref_deliver(l))
      *progress = 1;
    return ESMC_OK;
  }
  if((!s->m->cfg.enabled && !REF_MUTANT(PROCESS_DISABLED)) ||
     s->state == REF_WAIT_PARENT || ref_lane_idle(l))
    return ESMC_OK;
  if(now < l->wake_at) {
    ref_need(s, l->wake_at);
    return ESMC_OK;
  }
  if(l->batch_n == 0 && !l->final) {
    size_t n = l->forced[--l->forced_n];
    if(n > l->len)
      n = l->len;
    if(n > 0 && ref_batch_form(l, n, 0) != 0)
      return ESMC_E_NOMEM;
    *progress = 1;
    return ESMC_OK;
  }
  if(ref_invoke_batch(l, &rc) == REF_STEP_AGAIN)
    *progress = 1;
  return rc;
}

/* 1 when the lane's open window must get its final invoke now (TW-5). */
static int ref_tw_due(const struct ref_lane *l, esmc_time_ms now)
{
  const struct ref_shard *s = l->s;
  esmc_time_ms size = (esmc_time_ms)s->m->cfg.tumbling_window_s * 1000;

  if(!l->tw_open)
    return 0;
  if(l->tw_early)
    return 1;
  if(l->len > 0) /* The next record is not of this window (instance). */
    return size <= 0 || l->tw_end - l->tw_start != size ||
           ref_tw_floor(ref_q(l, 0)->approximate_arrival_ms, size) !=
             l->tw_start;
  if(s->closed) /* TW-7: a shard's end closes its window. */
    return 1;
  return now >= l->tw_end && s->caught_up && s->caught_up_at >= l->tw_end;
}

/* An idle lane forms its next batch, or its window's final invoke. */
static esmc_status ref_lane_gather(struct ref_lane *l, esmc_time_ms now,
                                   int *progress)
{
  struct ref_shard *s = l->s;
  const struct ref_config *c = &s->m->cfg;
  esmc_time_ms size = (esmc_time_ms)c->tumbling_window_s * 1000;
  struct ref_window_event wev;
  struct ref_buf ob;
  size_t k;
  int cut;

  if(ref_tw_due(l, now)) {
    if(ref_batch_form(l, 0, 1) != 0)
      return ESMC_E_NOMEM;
    *progress = 1;
    return ESMC_OK;
  }
  if(l->tw_open && l->len == 0 && now < l->tw_end)
    ref_need(s, l->tw_end);
  if(s->relane || l->len == 0)
    return ESMC_OK;
  /* The event's size without records: the wrapper and window fields. */
  memset(&ob, 0, sizeof(ob));
  ob.measure = 1;
  if(size > 0) {
    memset(&wev, 0, sizeof(wev));
    wev.start = ref_tw_floor(ref_q(l, 0)->approximate_arrival_ms, size);
    wev.end = wev.start + size;
    if(l->tw_open && l->tw_start == wev.start) {
      wev.state = l->tw_state;
      wev.state_len = l->tw_state_len;
    }
    wev.shard_id = s->id;
    ref_build_window_event(&ob, c, NULL, 0, &wev);
  } else {
    ref_build_window_event(&ob, c, NULL, 0, NULL);
  }
  k = ref_fit(l, (size_t)c->batch_size + REF_MUTANT(BATCH_SIZE_PLUS_ONE),
              ob.len, size, &cut);
  if(c->window_s > 0 && !REF_MUTANT(IGNORE_WINDOW) && !cut &&
     l->len < (size_t)c->batch_size &&
     !s->closed) {
    esmc_time_ms end = l->window_start + (esmc_time_ms)c->window_s * 1000;
    if(now < end) {
      ref_need(s, end);
      return ESMC_OK;
    }
  }
  if(ref_batch_form(l, k, 0) != 0)
    return ESMC_E_NOMEM;
  *progress = 1;
  return ESMC_OK;
}

static int ref_ord_cmp(const void *pa, const void *pb)
{
  uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
  return (a > b) - (a < b);
}

/*
 * Deals the queued records again after the factor changed. Runs only when
 * every lane is idle and no window is open, so no batch straddles the
 * change; records keep their read order within each new lane.
 */
static esmc_status ref_relane(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  size_t total = 0, i, j, n = 0;
  uint64_t *keys;
  const struct esmc_record **recs;
  size_t *lens;

  for(i = 0; i < s->nlanes; i++)
    total += s->lanes[i].len;
  s->relane = 0;
  keys = malloc((total ? total : 1) * sizeof(*keys));
  recs = malloc((total ? total : 1) * sizeof(*recs));
  lens = malloc((total ? total : 1) * sizeof(*lens));
  if(!keys || !recs || !lens) {
    free(keys);
    free(recs);
    free(lens);
    s->relane = 1;
    return ESMC_E_NOMEM;
  }
  /* Ordinals are unique: sort them, then find each one's record. */
  for(i = 0; i < s->nlanes; i++)
    for(j = 0; j < s->lanes[i].len; j++)
      keys[n++] = s->lanes[i].ords[s->lanes[i].head + j];
  qsort(keys, n, sizeof(*keys), ref_ord_cmp);
  for(i = 0; i < s->nlanes; i++) {
    struct ref_lane *l = &s->lanes[i];
    for(j = 0; j < l->len; j++) {
      uint64_t o = l->ords[l->head + j];
      size_t lo = 0, hi = n;
      while(lo + 1 < hi) {
        size_t mid = (lo + hi) / 2;
        if(keys[mid] <= o)
          lo = mid;
        else
          hi = mid;
      }
      recs[lo] = l->recs[l->head + j];
      lens[lo] = l->lens[l->head + j];
    }
    l->head = l->len = 0;
  }
  s->nlanes = (size_t)m->cfg.parallelization_factor;
  if(s->nlanes < 1 || s->nlanes > REF_MAX_LANES)
    s->nlanes = 1;
  for(i = 0; i < n; i++)
    if(ref_q_push(&s->lanes[ref_lane_of(s, recs[i])], recs[i], lens[i],
                  keys[i]) != 0) {
      free(keys);
      free(recs);
      free(lens);
      return ESMC_E_NOMEM;
    }
  for(i = 0; i < s->nlanes; i++)
    s->lanes[i].window_start = ref_now(m);
  free(keys);
  free(recs);
  free(lens);
  return ESMC_OK;
}

static esmc_status ref_pump(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  int guard;

  for(guard = 0; guard < 1000000; guard++) {
    esmc_time_ms now = ref_now(m);
    size_t i, hungry = 0, want = 0, idle = 0;
    int progress = 0;
    esmc_status rc;

    if(s->state == REF_DONE)
      return ESMC_OK;
    s->need = 0;
    /* Work in hand first: discards, halves, batches and retries. */
    for(i = 0; i < s->nlanes; i++) {
      rc = ref_lane_work(&s->lanes[i], now, &progress);
      if(rc != ESMC_OK)
        return rc;
    }
    if(progress)
      continue;
    if(!m->cfg.enabled && !REF_MUTANT(PROCESS_DISABLED)) {
      ref_arm_need(s);
      return ESMC_OK;
    }
    if(s->state == REF_WAIT_PARENT) {
      if(!ref_parents_done(s))
        return ESMC_OK;
      s->state = REF_NEED_ITER;
      for(i = 0; i < s->nlanes; i++)
        s->lanes[i].window_start = now;
    }
    if(s->state == REF_NEED_ITER && !s->closed) {
      if(now < s->wake_at)
        ref_need(s, s->wake_at);
      else
        ref_get_iterator(s);
    }
    for(i = 0; i < s->nlanes; i++) {
      const struct ref_lane *l = &s->lanes[i];
      if(!ref_lane_idle(l))
        continue;
      idle++;
      if(l->len < (size_t)m->cfg.batch_size) {
        hungry++;
        if((size_t)m->cfg.batch_size - l->len > want)
          want = (size_t)m->cfg.batch_size - l->len;
      }
    }
    /* A change of factor waits until every lane is idle (no batch straddles
     * it) and no tumbling window is open. */
    if(s->relane && idle == s->nlanes && !ref_checkpoint_held(s)) {
      rc = ref_relane(s);
      if(rc != ESMC_OK)
        return rc;
      continue;
    }
    /* Read when an idle lane is short of a full batch. With several lanes
     * a read is dealt among them, so it asks for a batch per lane. */
    if(hungry > 0 && !s->closed && s->state == REF_READING &&
       now >= s->next_poll_at) {
      esmc_status fatal = ESMC_OK;
      enum ref_poll_result pr;
      if(s->nlanes > 1)
        want = (size_t)m->cfg.batch_size * s->nlanes;
      pr = ref_poll(s, want, &fatal);
      if(fatal != ESMC_OK)
        return fatal;
      if(pr == REF_POLL_RECORDS || s->state == REF_NEED_ITER)
        continue;
    }
    for(i = 0; i < s->nlanes; i++) {
      if(!ref_lane_idle(&s->lanes[i]))
        continue;
      rc = ref_lane_gather(&s->lanes[i], now, &progress);
      if(rc != ESMC_OK)
        return rc;
    }
    if(progress)
      continue;
    if(s->closed && idle == s->nlanes) {
      int empty = 1;
      for(i = 0; i < s->nlanes; i++)
        if(s->lanes[i].len > 0 || s->lanes[i].tw_open)
          empty = 0;
      if(empty) {
        ref_shard_finish(s);
        return ESMC_OK;
      }
    }
    if(hungry > 0 && !s->closed && s->state == REF_READING)
      ref_need(s, s->next_poll_at);
    ref_arm_need(s);
    return ESMC_OK;
  }
  return ESMC_E_INTERNAL;
}

/* ------------------------------------------------------------------------ */
/* Invocation results. */

static void ref_failed_attempt(struct ref_lane *l, esmc_status *rc)
{
  esmc_time_ms now = ref_now(l->s->m);
  int64_t failed_so_far;

  l->attempts++;
  failed_so_far = l->attempts;
  if(l->b_bisect && l->batch_n >= 2) {
    size_t first = (l->batch_n + 1) / 2;
    if(l->forced_n == l->forced_cap) {
      size_t cap = l->forced_cap ? l->forced_cap * 2 : 8;
      size_t *nf = realloc(l->forced, cap * sizeof(*nf));
      if(!nf) {
        *rc = ESMC_E_NOMEM;
        l->wake_at = now + ref_backoff(l->attempts);
        return;
      }
      l->forced = nf;
      l->forced_cap = cap;
    }
    l->forced[l->forced_n++] = l->batch_n - first;
    l->batch_n = first;
    ref_batch_reset_counts(l);
    if(REF_MUTANT(BISECT_COUNTS_RETRY))
      l->attempts = failed_so_far;
    l->wake_at = now;
    return;
  }
  if(l->b_mra >= 0 &&
     l->attempts >= 1 + (int64_t)l->b_mra + REF_MUTANT(MRA_PLUS_ONE) -
                      REF_MUTANT(MRA_MINUS_ONE)) {
    if(l->final) {
      /* A final invoke has no records to report: the window is given up
       * and the shard moves on. */
      ref_log(l->s->m, ESMC_LOG_WARN,
              REF_NAME ": final invoke of a tumbling window failed; "
                       "dropping the window's state");
      ref_tw_close(l);
      return;
    }
    *rc = ref_discard(l, l->batch_n, "RetryAttemptsExhausted");
    return;
  }
  l->wake_at = now + ref_backoff(l->attempts);
}

static void ref_batch_succeeded(struct ref_lane *l)
{
  ref_q_done(l, l->batch_n);
  ref_batch_done(l);
}

static size_t ref_ws(const char *p, size_t n, size_t i)
{
  while(i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    i++;
  return i;
}

/* Index just past the string starting at p[i] (a quote). */
static size_t ref_skip_str(const char *p, size_t n, size_t i)
{
  for(i++; i < n && p[i] != '"'; i++)
    if(p[i] == '\\')
      i++;
  return i + 1;
}

/* Index just past the value starting at p[i]; p is valid JSON. */
static size_t ref_skip_value(const char *p, size_t n, size_t i)
{
  int depth = 0;

  if(p[i] == '"')
    return ref_skip_str(p, n, i);
  if(p[i] != '{' && p[i] != '[') {
    while(i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' &&
          ref_ws(p, n, i) == i)
      i++;
    return i;
  }
  while(i < n) {
    if(p[i] == '"') {
      i = ref_skip_str(p, n, i);
      continue;
    }
    if(p[i] == '{' || p[i] == '[')
      depth++;
    else if((p[i] == '}' || p[i] == ']') && --depth == 0)
      return i + 1;
    i++;
  }
  return i;
}

/* 1 when the JSON string p[i..end) (quotes included) decodes to "state". */
static int ref_key_is_state(const char *p, size_t i, size_t end)
{
  static const char want[] = "state";
  size_t w = 0;

  for(i++; i + 1 < end; w++) {
    unsigned v = (unsigned char)p[i];
    if(p[i] == '\\') {
      if(p[i + 1] == 'u') {
        size_t k;
        v = 0;
        for(k = 2; k < 6; k++) {
          char ch = p[i + k];
          v = v * 16 + (unsigned)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
        }
        i += 6;
      } else {
        v = (unsigned char)p[i + 1];
        i += 2;
      }
    } else {
      i++;
    }
    if(w >= sizeof(want) - 1 || v != (unsigned char)want[w])
      return 0;
  }
  return w == sizeof(want) - 1;
}

/*
 * Finds the state of a TimeWindowEventResponse: body must be one JSON object
 * whose member "state" (the last one, if repeated) is an object. Returns 1
 * with the state's span in *off and *len, 0 otherwise (TW-3).
 */
static int ref_tw_response_state(const uint8_t *body, size_t n, size_t *off,
                                 size_t *len)
{
  const char *p = (const char *)body;
  size_t i;
  int found = 0;

  if(!body || n == 0 || !ref_json_valid(p, n))
    return 0;
  i = ref_ws(p, n, 0);
  if(p[i] != '{')
    return 0;
  for(i = ref_ws(p, n, i + 1); i < n && p[i] == '"';) {
    size_t kend = ref_skip_str(p, n, i), v, vend;
    int match = ref_key_is_state(p, i, kend);
    v = ref_ws(p, n, ref_ws(p, n, kend) + 1); /* past the colon */
    vend = ref_skip_value(p, n, v);
    if(match) {
      found = p[v] == '{';
      *off = v;
      *len = vend - v;
    }
    i = ref_ws(p, n, vend);
    if(i < n && p[i] == ',')
      i = ref_ws(p, n, i + 1);
  }
  return found;
}

/* Keeps a returned state for the window's next invoke; a state over the
 * limit is not kept and ends the window early (TW-4). */
static int ref_tw_adopt(struct ref_lane *l, const char *state, size_t n)
{
  char *d;

  if(n > REF_TW_STATE_MAX) {
    l->tw_early = 1;
    return 0;
  }
  d = malloc(n + 1);
  if(!d)
    return -1;
  memcpy(d, state, n);
  d[n] = '\0';
  free(l->tw_state);
  l->tw_state = d;
  l->tw_state_len = n;
  return 0;
}

/* Applies a function response: ReportBatchItemFailures and, for tumbling
 * windows, the returned state. */
static void ref_apply_response(struct ref_lane *l,
                               const struct esmc_invoke_result *res,
                               esmc_status *rc)
{
  size_t i, lowest = 0, soff = 0, slen = 0;
  int kind = REF_RESPONSE_SUCCESS;

  if(l->b_tw && !ref_tw_response_state(res->payload, res->payload_len, &soff,
                                       &slen)) {
    ref_failed_attempt(l, rc); /* TW-3: no state object. */
    return;
  }
  if((l->b_frt & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) ||
     REF_MUTANT(RBIF_FLAG_IGNORED)) {
    const char **seqs = malloc((l->batch_n ? l->batch_n : 1) * sizeof(*seqs));
    if(!seqs) {
      *rc = ESMC_E_NOMEM;
      ref_failed_attempt(l, rc);
      return;
    }
    for(i = 0; i < l->batch_n; i++)
      seqs[i] = ref_q(l, i)->sequence_number;
    kind = ref_parse_batch_response(res->payload, res->payload_len, seqs,
                                    l->batch_n, &lowest);
    free(seqs);
  }
  if(kind == REF_RESPONSE_PARTIAL && lowest == 0)
    kind = REF_RESPONSE_INVALID; /* Nothing moved: a counted failure. */
  if(kind == REF_RESPONSE_INVALID) {
    ref_failed_attempt(l, rc);
    return;
  }
  if(l->b_tw && !l->final &&
     ref_tw_adopt(l, (const char *)res->payload + soff, slen) != 0)
    *rc = ESMC_E_NOMEM;
  if(l->final) {
    ref_tw_close(l);
  } else if(kind == REF_RESPONSE_SUCCESS) {
    ref_batch_succeeded(l);
  } else {
    /* PBR-2, PBR-5: the records below the lowest failure are done; the rest
     * is the same batch with a fresh retry budget. */
    ref_q_done(l, lowest);
    l->batch_n -= lowest;
    ref_batch_reset_counts(l);
    l->wake_at = ref_now(l->s->m);
  }
}

static esmc_status ref_on_invoke_complete(void *mapper, esmc_invocation inv,
                                          const struct esmc_invoke_result *res)
{
  struct ref_mapping *m = mapper;
  struct ref_lane *l = NULL;
  esmc_status rc = ESMC_OK, prc;
  size_t i, j;

  if(!m || !res)
    return ESMC_E_INVALID_PARAMETER;
  if(m->sqs) /* SQS dispatch */
    return ref_sqs_on_invoke_complete(m->sqs, inv, res);
  for(i = 0; i < m->nshards && !l && inv != 0; i++)
    for(j = 0; j < REF_MAX_LANES; j++)
      if(m->shards[i]->lanes[j].inflight == inv)
        l = &m->shards[i]->lanes[j];
  if(!l)
    return ESMC_OK; /* Not ours (or from before a restart): ignore. */
  l->inflight = 0;
  l->window_start = ref_now(m);
  l->last_status = res->status_code;
  if(ref_set_str(&l->last_version, res->executed_version) != 0 ||
     ref_set_str(&l->last_error, res->function_error) != 0 ||
     ref_set_str(&l->last_request_id, res->request_id) != 0)
    rc = ESMC_E_NOMEM;

  switch(res->outcome) {
  case ESMC_INVOKE_OK:
    if(l->b_tw || (l->b_frt & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) ||
       REF_MUTANT(RBIF_FLAG_IGNORED))
      ref_apply_response(l, res, &rc);
    else
      ref_batch_succeeded(l);
    break;
  case ESMC_INVOKE_THROTTLED:
    if(REF_MUTANT(THROTTLE_COUNTS)) {
      ref_failed_attempt(l, &rc);
      break;
    }
    l->throttles++;
    l->wake_at = l->window_start + ref_backoff(l->throttles);
    break;
  case ESMC_INVOKE_SERVICE_ERROR:
    if(res->status_code != 413) {
      l->throttles++;
      l->wake_at = l->window_start + ref_backoff(l->throttles);
      break;
    }
    ref_failed_attempt(l, &rc); /* 413: the payload was too large. */
    break;
  case ESMC_INVOKE_FUNCTION_ERROR:
  default:
    ref_failed_attempt(l, &rc);
    break;
  }
  prc = ref_pump(l->s);
  return rc != ESMC_OK ? rc : prc;
}

/* ------------------------------------------------------------------------ */
/* Shards of the mapping. */

static void ref_lane_free(struct ref_lane *l)
{
  free(l->recs);
  free(l->lens);
  free(l->ords);
  free(l->b_dest);
  free(l->forced);
  free(l->last_version);
  free(l->last_error);
  free(l->last_request_id);
  free(l->tw_state);
  ref_pending_clear(&l->pending);
}

static void ref_shard_free(struct ref_shard *s)
{
  size_t i;

  if(!s)
    return;
  free(s->id);
  free(s->parent);
  free(s->adjacent_parent);
  free(s->ending_seq);
  free(s->last_read);
  free(s->checkpoint);
  free(s->o_seq);
  free(s->o_done);
  for(i = 0; i < REF_MAX_LANES; i++)
    ref_lane_free(&s->lanes[i]);
  free(s);
}

static struct ref_shard *ref_shard_new(struct ref_mapping *m,
                                       const struct esmc_shard *sh)
{
  const struct esmc_host *h = m->host;
  struct ref_shard *s = calloc(1, sizeof(*s));
  const char *ckpt = NULL;
  size_t i;

  if(!s)
    return NULL;
  s->m = m;
  s->index = m->nshards;
  s->id = ref_dup(sh->shard_id);
  s->parent = ref_dup(sh->parent_shard_id);
  s->adjacent_parent = ref_dup(sh->adjacent_parent_shard_id);
  s->ending_seq = ref_dup(sh->ending_sequence_number);
  if(!s->id || (sh->parent_shard_id && !s->parent) ||
     (sh->adjacent_parent_shard_id && !s->adjacent_parent) ||
     (sh->ending_sequence_number && !s->ending_seq)) {
    ref_shard_free(s);
    return NULL;
  }
  if(!REF_MUTANT(NO_RESUME) &&
     h->get_checkpoint(h->ctx, s->id, &ckpt) == ESMC_OK && ckpt &&
     ref_set_str(&s->checkpoint, ckpt) != 0) {
    ref_shard_free(s);
    return NULL;
  }
  s->followed = !s->ending_seq || s->checkpoint; /* resharding */
  s->state = (s->parent || s->adjacent_parent) ? REF_WAIT_PARENT
                                               : REF_NEED_ITER;
  if(REF_MUTANT(CHILD_BEFORE_PARENT))
    s->state = REF_NEED_ITER;
  s->nlanes = (size_t)m->cfg.parallelization_factor;
  if(s->nlanes < 1 || s->nlanes > REF_MAX_LANES)
    s->nlanes = 1;
  for(i = 0; i < REF_MAX_LANES; i++) {
    s->lanes[i].s = s;
    s->lanes[i].window_start = ref_now(m);
  }
  return s;
}

/* Lists the shards and adds the ones not known yet. */
static esmc_status ref_list_shards(struct ref_mapping *m)
{
  const struct esmc_host *h = m->host;
  const struct esmc_shard *list = NULL;
  size_t count = 0, i, j;
  esmc_status rc = h->list_shards(h->ctx, &list, &count);

  m->list_status = rc;
  if(rc != ESMC_OK) {
    /* FAULT-7: inside create(), AccessDenied rejects the mapping, so no
     * retry is armed. Otherwise (FAULT-1) list again after a backoff. */
    if(rc == ESMC_E_ACCESS_DENIED && m->creating &&
       !REF_MUTANT(NO_PERMISSION_PROBE))
      return ESMC_OK;
    m->list_fails++;
    h->set_timer(h->ctx, ref_now(m) + ref_fault_backoff(m->list_fails),
                 REF_TIMER_MAPPING);
    return ESMC_OK;
  }
  m->list_fails = 0;
  m->listed = 1;
  m->need_relist = 0;
  for(i = 0; i < count; i++) {
    struct ref_shard *s, **ns;
    int known = 0;
    if(!list[i].shard_id)
      continue;
    for(j = 0; j < m->nshards && !known; j++)
      if(strcmp(m->shards[j]->id, list[i].shard_id) == 0) {
        known = 1;
        /* Resharding: a known shard that closed since gets its ending. */
        if(!m->shards[j]->ending_seq && list[i].ending_sequence_number &&
           ref_set_str(&m->shards[j]->ending_seq,
                       list[i].ending_sequence_number) != 0)
          return ESMC_E_NOMEM;
      }
    if(known)
      continue;
    ns = realloc(m->shards, (m->nshards + 1) * sizeof(*ns));
    if(!ns)
      return ESMC_E_NOMEM;
    m->shards = ns;
    s = ref_shard_new(m, &list[i]);
    if(!s)
      return ESMC_E_NOMEM;
    m->shards[m->nshards++] = s;
  }
  return ESMC_OK;
}

static esmc_status ref_pump_all(struct ref_mapping *m)
{
  esmc_status rc = ESMC_OK;
  size_t i;

  for(i = 0; i < m->nshards; i++) {
    esmc_status r = ref_pump(m->shards[i]);
    if(r != ESMC_OK && rc == ESMC_OK)
      rc = r;
  }
  return rc;
}

static esmc_status ref_start(struct ref_mapping *m)
{
  esmc_status rc = ref_list_shards(m);

  if(rc != ESMC_OK)
    return rc;
  return ref_pump_all(m);
}

/* ------------------------------------------------------------------------ */
/* The adapter callbacks. */

static void ref_destroy(void *mapper)
{
  struct ref_mapping *m = mapper;
  size_t i;

  if(!m)
    return;
  ref_sqs_destroy(m->sqs); /* SQS dispatch */
  for(i = 0; i < m->nshards; i++)
    ref_shard_free(m->shards[i]);
  free(m->shards);
  ref_config_free(&m->cfg);
  free(m);
}

static esmc_status ref_create(const struct esmc_host *host,
                              const struct esmc_mapping_config *cfg,
                              void **mapper, struct esmc_error *err)
{
  struct ref_mapping *m;
  esmc_status rc;

  ref_mutant_from_env(); /* issue 7: ESMC_REF_MUTANT, 0 when unset */
  if(!host || !cfg || !mapper || host->abi_version < 1 ||
     host->struct_size < offsetof(struct esmc_host, get_checkpoint) +
                           sizeof(host->get_checkpoint) ||
     cfg->struct_size < offsetof(struct esmc_mapping_config,
                                 function_timeout_s) +
                          sizeof(cfg->function_timeout_s))
    return ESMC_E_INVALID_PARAMETER;
  /* ---- SQS dispatch ---- */
  if(cfg->source == ESMC_SOURCE_SQS || cfg->source == ESMC_SOURCE_SQS_FIFO) {
    struct ref_sqs *q = NULL;
    m = calloc(1, sizeof(*m));
    if(!m)
      return ESMC_E_NOMEM;
    rc = ref_sqs_create(host, cfg, &q, err);
    if(rc != ESMC_OK) {
      free(m);
      return rc;
    }
    m->host = host;
    m->sqs = q;
    *mapper = m;
    return ESMC_OK;
  }
  /* ---- end SQS dispatch ---- */
  rc = ref_config_validate(cfg, NULL, 0, host->now(host->ctx), err);
  if(rc != ESMC_OK)
    return rc;
  m = calloc(1, sizeof(*m));
  if(!m)
    return ESMC_E_NOMEM;
  m->host = host;
  if(ref_config_from_create(&m->cfg, cfg) != ESMC_OK) {
    free(m);
    return ESMC_E_NOMEM;
  }
  /* FAULT-7: the first ListShards is also the permission check. A disabled
   * mapping lists once only to check; it lists again when enabled. */
  m->creating = 1;
  if(m->cfg.enabled) {
    rc = ref_start(m);
    if(rc != ESMC_OK && rc != ESMC_E_NOMEM) {
      ref_destroy(m);
      return rc;
    }
  } else {
    const struct esmc_shard *list = NULL;
    size_t count = 0;
    m->list_status = host->list_shards(host->ctx, &list, &count);
  }
  m->creating = 0;
  if(m->list_status == ESMC_E_ACCESS_DENIED &&
     !REF_MUTANT(NO_PERMISSION_PROBE) && !ref_cfg_restart(cfg)) {
    rc = ref_config_access_denied(cfg, err);
    ref_destroy(m);
    return rc;
  }
  *mapper = m;
  return ESMC_OK;
}

static esmc_status ref_on_timer(void *mapper, uint64_t token)
{
  struct ref_mapping *m = mapper;
  size_t idx;

  if(!m)
    return ESMC_E_INVALID_PARAMETER;
  if(m->sqs) /* SQS dispatch */
    return ref_sqs_on_timer(m->sqs, token);
  if(token == REF_TIMER_MAPPING) {
    if(!m->cfg.enabled)
      return ESMC_OK;
    if(!m->listed)
      return ref_start(m);
    if(m->need_relist) {
      esmc_status rc = ref_list_shards(m);
      if(rc != ESMC_OK)
        return rc;
      return ref_pump_all(m);
    }
    return ESMC_OK;
  }
  idx = (size_t)(token / REF_TIMER_KINDS);
  if(idx >= m->nshards)
    return ESMC_OK;
  if(token % REF_TIMER_KINDS == REF_TIMER_WAKE)
    m->shards[idx]->timer_armed = 0;
  return ref_pump(m->shards[idx]);
}

static esmc_status ref_update(void *mapper,
                              const struct esmc_mapping_config *cfg,
                              struct esmc_error *err)
{
  struct ref_mapping *m = mapper;
  struct ref_config next;
  esmc_status rc;
  size_t i, j;

  if(!m || !cfg)
    return ESMC_E_INVALID_PARAMETER;
  if(m->sqs) /* SQS dispatch */
    return ref_sqs_update(m->sqs, cfg, err);
  rc = ref_config_validate(cfg, &m->cfg, 1, ref_now(m), err);
  if(rc != ESMC_OK)
    return rc;
  if(ref_config_from_update(&next, &m->cfg, cfg) != ESMC_OK)
    return ESMC_E_NOMEM;
  if(next.parallelization_factor != m->cfg.parallelization_factor) {
    for(i = 0; i < m->nshards; i++)
      m->shards[i]->relane = 1; /* GEN-4: batches formed from now on. */
  }
  ref_config_free(&m->cfg);
  m->cfg = next;
  /* GEN-4 lets a batch in hand follow either configuration. The retry and
   * age limits follow the new one from now on (its failures so far still
   * count), so a retry never carries a record the new limit expired and a
   * lowered MaximumRetryAttempts ends a failing batch at its next failure. */
  for(i = 0; i < m->nshards; i++)
    for(j = 0; j < REF_MAX_LANES; j++) {
      m->shards[i]->lanes[j].b_mra = m->cfg.maximum_retry_attempts;
      m->shards[i]->lanes[j].b_age = m->cfg.maximum_record_age_s;
    }
  if(!m->cfg.enabled)
    return ESMC_OK;
  if(!m->listed)
    return ref_start(m);
  return ref_pump_all(m);
}

/* SQS dispatch: receives exist only for SQS mappings (ref_sqs.c). */
static esmc_status ref_on_receive_complete(void *mapper, esmc_receive rcv,
                                           const struct esmc_receive_result *r)
{
  struct ref_mapping *m = mapper;

  if(!m)
    return ESMC_E_INVALID_PARAMETER;
  if(!m->sqs)
    return ESMC_OK;
  return ref_sqs_on_receive_complete(m->sqs, rcv, r);
}

static const struct esmc_adapter ref_adapter = {
  .abi_version = ESMC_ABI_VERSION,
  .struct_size = sizeof(struct esmc_adapter),
  .name = REF_NAME,
  .version = REF_VERSION,
  .capabilities =
    ESMC_CAP_KINESIS | ESMC_CAP_DYNAMODB | ESMC_CAP_BATCH_WINDOW |
    ESMC_CAP_AT_TIMESTAMP | ESMC_CAP_RETRY_LIMIT | ESMC_CAP_RECORD_AGE |
    ESMC_CAP_BISECT | ESMC_CAP_PARTIAL_BATCH | ESMC_CAP_ON_FAILURE |
    ESMC_CAP_ON_FAILURE_S3 | ESMC_CAP_UPDATE | ESMC_CAP_RESTART |
    ESMC_CAP_VALIDATION | ESMC_CAP_ENABLED_FLAG | ESMC_CAP_PARALLELIZATION |
    ESMC_CAP_TUMBLING_WINDOW | ESMC_CAP_FILTER | ESMC_CAP_RESHARDING |
    ESMC_CAP_SQS | ESMC_CAP_SQS_FIFO, /* SQS: ref_sqs.c */
  .create = ref_create,
  .on_timer = ref_on_timer,
  .on_invoke_complete = ref_on_invoke_complete,
  .update = ref_update,
  .destroy = ref_destroy,
  .on_receive_complete = ref_on_receive_complete,
};

/* Declared first so -Wmissing-prototypes sees a prototype. */
ESMC_ADAPTER_ENTRY(reference);

ESMC_ADAPTER_ENTRY(reference)
{
  return host_abi >= 1 ? &ref_adapter : NULL;
}

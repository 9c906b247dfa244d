/*
 * ref_mapper.c: the esmcheck reference stream mapper (Kinesis and DynamoDB
 * Streams) and its adapter table.
 *
 * Each shard is a small state machine driven by ref_pump(): it is called
 * whenever something happens to the shard (a timer, a completed invocation,
 * an update) and does as much as it can at the current virtual instant, then
 * arms the shard's one timer for the next instant it needs. The shard's
 * records live in a queue of pointers (the host keeps records alive until
 * destroy); the batch being processed is always the queue's head, and the
 * halves a bisect still owes are a stack of lengths right behind it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esmcheck_adapter.h"
#include "ref_internal.h"

#define REF_NAME "esmcheck-reference"
#define REF_VERSION "0.1.0"

/* Timer tokens: shard index * 4 + kind, and one token for the mapping. */
#define REF_TIMER_KINDS 4
#define REF_TIMER_WAKE 0
#define REF_TIMER_MAPPING UINT64_MAX

#define REF_POLL_KINESIS_MS 1000
#define REF_POLL_DYNAMODB_MS 250
#define REF_BACKOFF_BASE_MS 1000
#define REF_BACKOFF_MAX_MS 60000
#define REF_DEST_RETRY_MS 1000
#define REF_LIST_RETRY_MS 1000

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

struct ref_shard {
  struct ref_mapping *m;
  size_t index;
  char *id;
  char *parent;
  char *adjacent_parent;
  char *ending_seq;
  enum ref_shard_state state;
  int restart_trim_horizon; /* the next iterator starts at TRIM_HORIZON */
  esmc_iterator iter;
  int closed;               /* get_records said the shard is fully read */
  char *last_read;          /* sequence number of the last record read */
  char *checkpoint;         /* the last checkpoint written or found */
  esmc_time_ms expired_at;  /* when the iterator last expired */

  /* The queue: recs[head .. head + len), with their event JSON lengths. */
  const struct esmc_record **recs;
  size_t *lens;
  size_t head, len, cap;

  /* The current batch: the first batch_n queued records. */
  size_t batch_n;
  int64_t attempts;    /* failed attempts of this batch */
  int64_t invocations; /* invocations of this batch */
  int64_t throttles;   /* throttled or service-failed invokes of this batch */
  int32_t b_mra;       /* the configuration the batch was formed under */
  int32_t b_age;
  int b_bisect;
  uint32_t b_frt;
  char *b_dest;

  /* Lengths of the bisected halves still owed, processed top first. */
  size_t *forced;
  size_t forced_n, forced_cap;

  /* The last invocation result of this shard. */
  int32_t last_status;
  char *last_version;
  char *last_error;
  char *last_request_id;

  esmc_invocation inflight;
  esmc_time_ms wake_at;      /* do nothing before this instant */
  esmc_time_ms next_poll_at; /* earliest next get_records */
  esmc_time_ms window_start; /* the batching window of the next batch */
  esmc_time_ms timer_at;
  int timer_armed;
  struct ref_pending pending;
};

struct ref_mapping {
  const struct esmc_host *host;
  struct ref_config cfg;
  struct ref_shard **shards;
  size_t nshards;
  int listed;       /* list_shards succeeded at least once */
  int need_relist;  /* a shard closed: look for its children */
  uint64_t id_counter;
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
  esmc_time_ms d = REF_BACKOFF_BASE_MS;

  while(k > 1 && d < REF_BACKOFF_MAX_MS) {
    d *= 2;
    k--;
  }
  return d < REF_BACKOFF_MAX_MS ? d : REF_BACKOFF_MAX_MS;
}

static void ref_arm(struct ref_shard *s, esmc_time_ms at)
{
  const struct esmc_host *h = s->m->host;

  if(s->timer_armed && s->timer_at == at)
    return;
  if(h->set_timer(h->ctx, at,
                  (uint64_t)s->index * REF_TIMER_KINDS + REF_TIMER_WAKE) ==
     ESMC_OK) {
    s->timer_armed = 1;
    s->timer_at = at;
  }
}

static const struct esmc_record *ref_q(const struct ref_shard *s, size_t i)
{
  return s->recs[s->head + i];
}

static int ref_q_push(struct ref_shard *s, const struct esmc_record *r,
                      size_t json_len)
{
  if(s->head + s->len == s->cap) {
    if(s->head > 0) {
      memmove(s->recs, s->recs + s->head, s->len * sizeof(*s->recs));
      memmove(s->lens, s->lens + s->head, s->len * sizeof(*s->lens));
      s->head = 0;
    } else {
      size_t cap = s->cap ? s->cap * 2 : 64;
      const struct esmc_record **nr = realloc(s->recs, cap * sizeof(*nr));
      size_t *nl;
      if(!nr)
        return -1;
      s->recs = nr;
      nl = realloc(s->lens, cap * sizeof(*nl));
      if(!nl)
        return -1;
      s->lens = nl;
      s->cap = cap;
    }
  }
  s->recs[s->head + s->len] = r;
  s->lens[s->head + s->len] = json_len;
  s->len++;
  return 0;
}

static void ref_q_drop(struct ref_shard *s, size_t k)
{
  if(k > s->len)
    k = s->len;
  s->head += k;
  s->len -= k;
  if(s->len == 0)
    s->head = 0;
}

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

static void ref_batch_reset_counts(struct ref_shard *s)
{
  s->attempts = 0;
  s->invocations = 0;
  s->throttles = 0;
}

static void ref_batch_done(struct ref_shard *s)
{
  s->batch_n = 0;
  ref_batch_reset_counts(s);
  free(s->b_dest);
  s->b_dest = NULL;
}

/* Forms the next batch of k records under the current configuration. */
static int ref_batch_form(struct ref_shard *s, size_t k)
{
  const struct ref_config *c = &s->m->cfg;

  s->batch_n = k;
  ref_batch_reset_counts(s);
  s->b_mra = c->maximum_retry_attempts;
  s->b_age = c->maximum_record_age_s;
  s->b_bisect = c->bisect;
  s->b_frt = c->function_response_types;
  free(s->b_dest);
  s->b_dest = ref_dup(c->destination);
  return (c->destination && !s->b_dest) ? -1 : 0;
}

/* How many queued records (at most limit) fit one invoke payload; *cut is
 * set when the 6 MB limit, not limit or the queue, ended the batch. */
static size_t ref_fit(const struct ref_shard *s, size_t limit, int *cut)
{
  size_t total = REF_EVENT_OVERHEAD, k;

  *cut = 0;
  for(k = 0; k < s->len && k < limit; k++) {
    size_t add = s->lens[s->head + k] + (k > 0 ? 1 : 0);
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
 * shard's pending delivery. The checkpoint and the removal happen once it is
 * delivered (ref_deliver).
 */
static esmc_status ref_discard(struct ref_shard *s, size_t k,
                               const char *condition)
{
  struct ref_mapping *m = s->m;
  struct ref_pending *p = &s->pending;
  int age = strcmp(condition, "RecordAgeExceeded") == 0;
  char msg[256];

  ref_pending_clear(p);
  p->active = 1;
  p->count = k;
  snprintf(msg, sizeof(msg), "%s: discarding %zu record(s) of %s (%s)",
           REF_NAME, k, s->id, condition);
  ref_log(m, ESMC_LOG_WARN, msg);
  if(s->b_dest) {
    struct ref_failure f;
    char gen_id[40], seed[512];
    esmc_time_ms now = ref_now(m);

    memset(&f, 0, sizeof(f));
    snprintf(seed, sizeof(seed), "%s/%s/%s/%" PRId64, m->cfg.uuid, s->id,
             ref_q(s, 0)->sequence_number, (int64_t)now);
    f.condition = condition;
    if(s->invocations > 0 && s->last_request_id) {
      f.request_id = s->last_request_id;
    } else {
      ref_make_uuid(gen_id, sizeof(gen_id), seed, m->id_counter++);
      f.request_id = gen_id;
    }
    f.invoke_count = s->invocations;
    if(age && f.invoke_count < 1)
      f.invoke_count = 1;
    f.has_response = !age;
    f.status_code = s->last_status;
    f.executed_version = s->last_version;
    f.function_error = s->last_error;
    f.now = now;
    f.shard_id = s->id;
    f.records = &s->recs[s->head];
    f.n = k;
    f.include_payload = ref_destination_kind(s->b_dest) == 2;
    ref_build_failure_record(&p->body, &m->cfg, &f);
    p->destination = ref_dup(s->b_dest);
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
 * checkpoint moved and the records left the queue), 0 when the shard must
 * wait (a retry timer is armed). */
static int ref_deliver(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  struct ref_pending *p = &s->pending;
  size_t k = p->count;

  if(p->destination) {
    esmc_status rc = h->send_to_destination(
      h->ctx, p->destination, p->object_key, (const uint8_t *)p->body.data,
      p->body.len);
    if(rc != ESMC_OK) {
      esmc_time_ms at = ref_now(m) + REF_DEST_RETRY_MS;
      ref_log(m, ESMC_LOG_WARN,
              REF_NAME ": on-failure destination refused the record; "
                       "retrying in 1 s");
      s->wake_at = at;
      ref_arm(s, at);
      return 0;
    }
  }
  if(k > 0 && k <= s->len)
    ref_checkpoint(s, ref_q(s, k - 1)->sequence_number);
  ref_q_drop(s, k);
  if(k >= s->batch_n)
    ref_batch_done(s);
  else
    s->batch_n -= k;
  ref_pending_clear(p);
  return 1;
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

/* 1 when the shard has a parent the mapping knows (it was or is read). */
static int ref_has_known_parent(const struct ref_shard *s)
{
  const struct ref_mapping *m = s->m;
  size_t i;

  for(i = 0; i < m->nshards; i++)
    if((s->parent && strcmp(m->shards[i]->id, s->parent) == 0) ||
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
  } else {
    switch(m->cfg.starting_position) {
    case ESMC_START_LATEST: type = ESMC_ITER_LATEST; break;
    case ESMC_START_AT_TIMESTAMP:
      type = ESMC_ITER_AT_TIMESTAMP;
      ts = m->cfg.starting_position_timestamp_ms;
      break;
    default: type = ESMC_ITER_TRIM_HORIZON; break;
    }
  }
  rc = h->get_shard_iterator(h->ctx, s->id, type, seq, ts, &it);
  if(rc == ESMC_E_TRIMMED && type != ESMC_ITER_TRIM_HORIZON) {
    ref_log(m, ESMC_LOG_WARN,
            REF_NAME ": position trimmed; restarting at TRIM_HORIZON");
    s->restart_trim_horizon = 1;
    rc = h->get_shard_iterator(h->ctx, s->id, ESMC_ITER_TRIM_HORIZON, NULL, 0,
                               &it);
  }
  if(rc != ESMC_OK || it == 0) {
    s->wake_at = ref_now(m) + ref_poll_interval(m);
    ref_arm(s, s->wake_at);
    return 0;
  }
  s->restart_trim_horizon = 0;
  s->iter = it;
  s->state = REF_READING;
  return 1;
}

enum ref_poll_result { REF_POLL_RECORDS, REF_POLL_EMPTY, REF_POLL_ERROR };

static enum ref_poll_result ref_poll(struct ref_shard *s, esmc_status *fatal)
{
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  struct esmc_get_records_result res;
  esmc_time_ms now = ref_now(m);
  size_t want = (size_t)m->cfg.batch_size > s->len
                  ? (size_t)m->cfg.batch_size - s->len
                  : 1;
  uint32_t limit = want > 10000 ? 10000 : (uint32_t)want;
  size_t i, added = 0;
  esmc_status rc;

  memset(&res, 0, sizeof(res));
  rc = h->get_records(h->ctx, s->iter, limit, &res);
  if(rc == ESMC_E_EXPIRED_ITERATOR || rc == ESMC_E_NOT_FOUND ||
     rc == ESMC_E_TRIMMED) {
    s->state = REF_NEED_ITER;
    s->iter = 0;
    if(rc == ESMC_E_TRIMMED)
      s->restart_trim_horizon = 1;
    /* A second expiry at one instant waits a poll interval. */
    s->next_poll_at = s->expired_at == now ? now + ref_poll_interval(m) : now;
    s->wake_at = s->next_poll_at;
    s->expired_at = now;
    return REF_POLL_ERROR;
  }
  if(rc != ESMC_OK) {
    s->next_poll_at = now + ref_poll_interval(m);
    return REF_POLL_ERROR;
  }
  for(i = 0; i < res.count; i++) {
    const struct esmc_record *r = res.records[i];
    if(!r || !r->sequence_number)
      continue;
    if((s->last_read && ref_seq_compare(r->sequence_number, s->last_read) <= 0) ||
       (s->checkpoint &&
        ref_seq_compare(r->sequence_number, s->checkpoint) <= 0))
      continue; /* Already read, or done before a restart. */
    if(!s->checkpoint && !s->last_read)
      ref_checkpoint_before(s, r->sequence_number);
    if(ref_q_push(s, r, ref_record_json_len(&m->cfg, r)) != 0 ||
       ref_set_str(&s->last_read, r->sequence_number) != 0) {
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
  if(res.count == 0 || (res.count < limit && res.millis_behind_latest <= 0))
    s->next_poll_at = now + ref_poll_interval(m);
  else
    s->next_poll_at = now;
  return added > 0 ? REF_POLL_RECORDS : REF_POLL_EMPTY;
}

/* ------------------------------------------------------------------------ */
/* Invoking. */

enum ref_step { REF_STEP_AGAIN, REF_STEP_WAIT };

static enum ref_step ref_invoke_batch(struct ref_shard *s, esmc_status *out)
{
  struct ref_mapping *m = s->m;
  const struct esmc_host *h = m->host;
  esmc_time_ms now = ref_now(m);
  struct ref_buf b;
  esmc_invocation inv = 0;
  esmc_status rc;

  /* AGE: the expired records are a prefix; split them off first. */
  if(s->b_age >= 0) {
    size_t k = 0;
    while(k < s->batch_n &&
          now - ref_q(s, k)->approximate_arrival_ms > (esmc_time_ms)s->b_age * 1000)
      k++;
    if(k > 0) {
      *out = ref_discard(s, k, "RecordAgeExceeded");
      return *out == ESMC_OK ? REF_STEP_AGAIN : REF_STEP_WAIT;
    }
  }
  /* With infinite retries, a retried batch is dropped once the stream
   * trimmed it (the records expired at the source). */
  if(s->b_mra < 0 && (s->invocations > 0 || s->throttles > 0)) {
    esmc_iterator probe = 0;
    rc = h->get_shard_iterator(h->ctx, s->id, ESMC_ITER_AT_SEQUENCE_NUMBER,
                               ref_q(s, 0)->sequence_number, 0, &probe);
    if(rc == ESMC_E_TRIMMED) {
      *out = ref_discard(s, s->batch_n, "RecordAgeExceeded");
      return *out == ESMC_OK ? REF_STEP_AGAIN : REF_STEP_WAIT;
    }
  }
  memset(&b, 0, sizeof(b));
  ref_build_event(&b, &m->cfg, &s->recs[s->head], s->batch_n);
  if(b.oom) {
    ref_buf_free(&b);
    *out = ESMC_E_NOMEM;
    return REF_STEP_WAIT;
  }
  rc = h->invoke(h->ctx, (const uint8_t *)b.data, b.len, &inv);
  ref_buf_free(&b);
  if(rc != ESMC_OK || inv == 0) {
    s->throttles++;
    s->wake_at = now + ref_backoff(s->throttles);
    ref_arm(s, s->wake_at);
    return REF_STEP_WAIT;
  }
  s->inflight = inv;
  s->invocations++;
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

  if(s->ending_seq)
    ref_checkpoint(s, s->ending_seq);
  s->state = REF_DONE;
  m->need_relist = 1;
  ref_list_shards(m);
  for(i = 0; i < m->nshards; i++)
    if(m->shards[i]->state == REF_WAIT_PARENT)
      ref_pump(m->shards[i]);
}

static esmc_status ref_pump(struct ref_shard *s)
{
  struct ref_mapping *m = s->m;
  esmc_status rc = ESMC_OK;
  int guard;

  for(guard = 0; guard < 1000000; guard++) {
    esmc_time_ms now = ref_now(m);
    size_t k;
    int cut;

    if(s->inflight || s->state == REF_DONE)
      return rc;
    /* A discard already decided is finished even while disabled, so the
     * checkpoint of a handled invocation is not held back. */
    if(s->pending.active) {
      if(now < s->wake_at) {
        ref_arm(s, s->wake_at);
        return rc;
      }
      if(!ref_deliver(s))
        return rc;
      continue;
    }
    if(!m->cfg.enabled)
      return rc;
    if(s->state == REF_WAIT_PARENT) {
      if(!ref_parents_done(s))
        return rc;
      s->state = REF_NEED_ITER;
      s->window_start = now;
    }
    if(now < s->wake_at) {
      ref_arm(s, s->wake_at);
      return rc;
    }
    if(s->state == REF_NEED_ITER && !s->closed) {
      if(!ref_get_iterator(s))
        return rc;
    }
    if(s->batch_n == 0 && s->forced_n > 0) {
      size_t n = s->forced[--s->forced_n];
      if(n > s->len)
        n = s->len;
      if(n > 0 && ref_batch_form(s, n) != 0)
        return ESMC_E_NOMEM;
      continue;
    }
    if(s->batch_n > 0) {
      if(ref_invoke_batch(s, &rc) == REF_STEP_AGAIN)
        continue;
      return rc;
    }

    /* Gathering the next batch. */
    if(!s->closed && s->state == REF_READING &&
       s->len < (size_t)m->cfg.batch_size && now >= s->next_poll_at) {
      esmc_status fatal = ESMC_OK;
      enum ref_poll_result pr = ref_poll(s, &fatal);
      if(fatal != ESMC_OK)
        return fatal;
      if(pr == REF_POLL_RECORDS || s->state == REF_NEED_ITER)
        continue;
    }
    if(s->len == 0) {
      if(s->closed) {
        ref_shard_finish(s);
        return rc;
      }
      ref_arm(s, s->next_poll_at);
      return rc;
    }
    k = ref_fit(s, (size_t)m->cfg.batch_size, &cut);
    if(m->cfg.window_s > 0 && !cut && s->len < (size_t)m->cfg.batch_size &&
       !s->closed) {
      esmc_time_ms end = s->window_start + (esmc_time_ms)m->cfg.window_s * 1000;
      if(now < end) {
        ref_arm(s, s->next_poll_at < end ? s->next_poll_at : end);
        return rc;
      }
    }
    if(ref_batch_form(s, k) != 0)
      return ESMC_E_NOMEM;
  }
  return ESMC_E_INTERNAL;
}

/* ------------------------------------------------------------------------ */
/* Invocation results. */

static void ref_failed_attempt(struct ref_shard *s, esmc_status *rc)
{
  esmc_time_ms now = ref_now(s->m);

  s->attempts++;
  if(s->b_bisect && s->batch_n >= 2) {
    size_t first = (s->batch_n + 1) / 2;
    if(s->forced_n == s->forced_cap) {
      size_t cap = s->forced_cap ? s->forced_cap * 2 : 8;
      size_t *nf = realloc(s->forced, cap * sizeof(*nf));
      if(!nf) {
        *rc = ESMC_E_NOMEM;
        s->wake_at = now + ref_backoff(s->attempts);
        return;
      }
      s->forced = nf;
      s->forced_cap = cap;
    }
    s->forced[s->forced_n++] = s->batch_n - first;
    s->batch_n = first;
    ref_batch_reset_counts(s);
    s->wake_at = now;
    return;
  }
  if(s->b_mra >= 0 && s->attempts >= 1 + (int64_t)s->b_mra) {
    *rc = ref_discard(s, s->batch_n, "RetryAttemptsExhausted");
    return;
  }
  s->wake_at = now + ref_backoff(s->attempts);
}

static void ref_batch_succeeded(struct ref_shard *s)
{
  ref_checkpoint(s, ref_q(s, s->batch_n - 1)->sequence_number);
  ref_q_drop(s, s->batch_n);
  ref_batch_done(s);
}

/* Applies a ReportBatchItemFailures response. */
static void ref_apply_response(struct ref_shard *s,
                               const struct esmc_invoke_result *res,
                               esmc_status *rc)
{
  const char **seqs = malloc(s->batch_n * sizeof(*seqs));
  size_t i, lowest = 0;
  int kind;

  if(!seqs) {
    *rc = ESMC_E_NOMEM;
    ref_failed_attempt(s, rc);
    return;
  }
  for(i = 0; i < s->batch_n; i++)
    seqs[i] = ref_q(s, i)->sequence_number;
  kind = ref_parse_batch_response(res->payload, res->payload_len, seqs,
                                  s->batch_n, &lowest);
  free(seqs);
  if(kind == REF_RESPONSE_SUCCESS) {
    ref_batch_succeeded(s);
  } else if(kind == REF_RESPONSE_PARTIAL && lowest > 0) {
    /* PBR-2, PBR-5: the records below the lowest failure are done; the rest
     * is the same batch with a fresh retry budget. */
    ref_checkpoint(s, ref_q(s, lowest - 1)->sequence_number);
    ref_q_drop(s, lowest);
    s->batch_n -= lowest;
    ref_batch_reset_counts(s);
    s->wake_at = ref_now(s->m);
  } else {
    ref_failed_attempt(s, rc);
  }
}

static esmc_status ref_on_invoke_complete(void *mapper, esmc_invocation inv,
                                          const struct esmc_invoke_result *res)
{
  struct ref_mapping *m = mapper;
  struct ref_shard *s = NULL;
  esmc_status rc = ESMC_OK, prc;
  size_t i;

  if(!m || !res)
    return ESMC_E_INVALID_PARAMETER;
  for(i = 0; i < m->nshards; i++)
    if(m->shards[i]->inflight == inv && inv != 0)
      s = m->shards[i];
  if(!s)
    return ESMC_OK; /* Not ours (or from before a restart): ignore. */
  s->inflight = 0;
  s->window_start = ref_now(m);
  s->last_status = res->status_code;
  if(ref_set_str(&s->last_version, res->executed_version) != 0 ||
     ref_set_str(&s->last_error, res->function_error) != 0 ||
     ref_set_str(&s->last_request_id, res->request_id) != 0)
    rc = ESMC_E_NOMEM;

  switch(res->outcome) {
  case ESMC_INVOKE_OK:
    if(s->b_frt & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES)
      ref_apply_response(s, res, &rc);
    else
      ref_batch_succeeded(s);
    break;
  case ESMC_INVOKE_THROTTLED:
    s->throttles++;
    s->wake_at = s->window_start + ref_backoff(s->throttles);
    break;
  case ESMC_INVOKE_SERVICE_ERROR:
    if(res->status_code != 413) {
      s->throttles++;
      s->wake_at = s->window_start + ref_backoff(s->throttles);
      break;
    }
    ref_failed_attempt(s, &rc); /* 413: the payload was too large. */
    break;
  case ESMC_INVOKE_FUNCTION_ERROR:
  default:
    ref_failed_attempt(s, &rc);
    break;
  }
  prc = ref_pump(s);
  return rc != ESMC_OK ? rc : prc;
}

/* ------------------------------------------------------------------------ */
/* Shards of the mapping. */

static void ref_shard_free(struct ref_shard *s)
{
  if(!s)
    return;
  free(s->id);
  free(s->parent);
  free(s->adjacent_parent);
  free(s->ending_seq);
  free(s->last_read);
  free(s->checkpoint);
  free(s->recs);
  free(s->lens);
  free(s->b_dest);
  free(s->forced);
  free(s->last_version);
  free(s->last_error);
  free(s->last_request_id);
  ref_pending_clear(&s->pending);
  free(s);
}

static struct ref_shard *ref_shard_new(struct ref_mapping *m,
                                       const struct esmc_shard *sh)
{
  const struct esmc_host *h = m->host;
  struct ref_shard *s = calloc(1, sizeof(*s));
  const char *ckpt = NULL;

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
  if(h->get_checkpoint(h->ctx, s->id, &ckpt) == ESMC_OK && ckpt &&
     ref_set_str(&s->checkpoint, ckpt) != 0) {
    ref_shard_free(s);
    return NULL;
  }
  s->state = (s->parent || s->adjacent_parent) ? REF_WAIT_PARENT
                                               : REF_NEED_ITER;
  s->window_start = ref_now(m);
  return s;
}

/* Lists the shards and adds the ones not known yet. */
static esmc_status ref_list_shards(struct ref_mapping *m)
{
  const struct esmc_host *h = m->host;
  const struct esmc_shard *list = NULL;
  size_t count = 0, i, j;
  esmc_status rc = h->list_shards(h->ctx, &list, &count);

  if(rc != ESMC_OK) {
    h->set_timer(h->ctx, ref_now(m) + REF_LIST_RETRY_MS, REF_TIMER_MAPPING);
    return ESMC_OK;
  }
  m->listed = 1;
  m->need_relist = 0;
  for(i = 0; i < count; i++) {
    struct ref_shard *s, **ns;
    int known = 0;
    if(!list[i].shard_id)
      continue;
    for(j = 0; j < m->nshards; j++)
      if(strcmp(m->shards[j]->id, list[i].shard_id) == 0)
        known = 1;
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

  if(!host || !cfg || !mapper || host->abi_version < 1 ||
     host->struct_size < offsetof(struct esmc_host, get_checkpoint) +
                           sizeof(host->get_checkpoint) ||
     cfg->struct_size < offsetof(struct esmc_mapping_config,
                                 function_timeout_s) +
                          sizeof(cfg->function_timeout_s))
    return ESMC_E_INVALID_PARAMETER;
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
  if(m->cfg.enabled) {
    rc = ref_start(m);
    if(rc != ESMC_OK && rc != ESMC_E_NOMEM) {
      ref_destroy(m);
      return rc;
    }
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

  if(!m || !cfg)
    return ESMC_E_INVALID_PARAMETER;
  rc = ref_config_validate(cfg, &m->cfg, 1, ref_now(m), err);
  if(rc != ESMC_OK)
    return rc;
  if(ref_config_from_update(&next, &m->cfg, cfg) != ESMC_OK)
    return ESMC_E_NOMEM;
  ref_config_free(&m->cfg);
  m->cfg = next;
  if(!m->cfg.enabled)
    return ESMC_OK;
  if(!m->listed)
    return ref_start(m);
  return ref_pump_all(m);
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
    ESMC_CAP_VALIDATION | ESMC_CAP_ENABLED_FLAG,
  .create = ref_create,
  .on_timer = ref_on_timer,
  .on_invoke_complete = ref_on_invoke_complete,
  .update = ref_update,
  .destroy = ref_destroy,
};

/* Declared first so -Wmissing-prototypes sees a prototype. */
ESMC_ADAPTER_ENTRY(reference);

ESMC_ADAPTER_ENTRY(reference)
{
  return host_abi >= 1 ? &ref_adapter : NULL;
}

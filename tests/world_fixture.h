/*
 * world_fixture.h: header-only helpers for test_world.c and test_runner.c.
 *
 *   - wf_load():      a scenario from a JSON string (spec/case-format.md);
 *   - wf_payload():   a well-formed Kinesis or DynamoDB event for records;
 *   - tm:             a tiny scripted adapter. Its callbacks forward to the
 *                     hooks in `tm` (all optional), log every completion it
 *                     is told about and keep the current host in tm.host;
 *   - sm_*:           a simple correct mapper built on tm (TRIM_HORIZON, one
 *                     shard, poll every second, checkpoint after success),
 *                     with a knob to drop records;
 *   - history helpers (count / find events of a kind).
 *
 * Everything is static inline so that a test file using only part of it
 * compiles cleanly with -Wall -Werror.
 */
#ifndef ESMC_WORLD_FIXTURE_H
#define ESMC_WORLD_FIXTURE_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "case_load.h"
#include "esmcheck_adapter.h"
#include "history.h"
#include "scenario.h"
#include "util.h"
#include "world.h"

/* ------------------------------------------------------------------------ */
/* Scenarios. */

static inline void wf_load(struct esmc_scenario *sc, const char *json)
{
  struct esmc_load_error err;
  char msg[1200];
  if(esmc_case_load_buf(json, strlen(json), "<test>", sc, &err) != 0) {
    esmc_load_error_format(&err, msg, sizeof(msg));
    print_error("case did not load: %s\n", msg);
    fail();
  }
}

/* The common head of a case: id, description, rules, tags, requires. */
#define WF_HEAD(id)                                                            \
  "{\"id\":\"" id "\",\"description\":\"unit test\",\"rules\":[\"GEN-2\"],"   \
  "\"tags\":[],\"requires\":[\"kinesis\"],"

/* ------------------------------------------------------------------------ */
/* Event payloads. */

struct wf_cfg {
  enum esmc_source source;
  char arn[256];
  char role[256];
  char region[32];
};

static inline void wf_cfg_from_world(struct wf_cfg *c, const struct esmc_world *w)
{
  memset(c, 0, sizeof(*c));
  c->source = w->sc->source ? w->sc->source : ESMC_SOURCE_KINESIS;
  snprintf(c->arn, sizeof(c->arn), "%s", w->stream_arn);
  snprintf(c->role, sizeof(c->role), "%s", w->role_arn);
  snprintf(c->region, sizeof(c->region), "%s", w->region);
}

static inline void wf_seconds_ms(struct esmc_buf *b, int64_t t)
{
  int64_t s = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
  esmc_buf_printf(b, "%" PRId64 ".%03d", s, (int)(t - s * 1000));
}

static inline void wf_record_json(struct esmc_buf *b, const struct wf_cfg *c,
                                  const struct esmc_record *r)
{
  static const char *const names[] = {"?", "INSERT", "MODIFY", "REMOVE"};
  if(c->source == ESMC_SOURCE_DYNAMODB) {
    esmc_buf_puts(b, "{\"eventID\":");
    esmc_buf_json_str(b, r->event_id, strlen(r->event_id));
    esmc_buf_printf(b, ",\"eventName\":\"%s\",\"eventVersion\":\"1.1\","
                       "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":",
                    names[r->ddb_event_name & 3]);
    esmc_buf_json_str(b, c->region, strlen(c->region));
    esmc_buf_printf(b, ",\"dynamodb\":{\"ApproximateCreationDateTime\":%" PRId64
                       ",\"Keys\":%s",
                    r->approximate_arrival_ms / 1000, r->ddb_keys_json);
    if(r->ddb_new_image_json)
      esmc_buf_printf(b, ",\"NewImage\":%s", r->ddb_new_image_json);
    if(r->ddb_old_image_json)
      esmc_buf_printf(b, ",\"OldImage\":%s", r->ddb_old_image_json);
    esmc_buf_puts(b, ",\"SequenceNumber\":");
    esmc_buf_json_str(b, r->sequence_number, strlen(r->sequence_number));
    esmc_buf_printf(b, ",\"SizeBytes\":%" PRIu64 ",\"StreamViewType\":",
                    r->ddb_size_bytes);
    esmc_buf_json_str(b, r->ddb_stream_view_type, strlen(r->ddb_stream_view_type));
    esmc_buf_puts(b, "},\"eventSourceARN\":");
    esmc_buf_json_str(b, c->arn, strlen(c->arn));
    esmc_buf_putc(b, '}');
    return;
  }
  esmc_buf_puts(b, "{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":");
  esmc_buf_json_str(b, r->partition_key, strlen(r->partition_key));
  esmc_buf_puts(b, ",\"sequenceNumber\":");
  esmc_buf_json_str(b, r->sequence_number, strlen(r->sequence_number));
  esmc_buf_puts(b, ",\"data\":\"");
  esmc_buf_base64(b, r->data, r->data_len);
  esmc_buf_puts(b, "\",\"approximateArrivalTimestamp\":");
  wf_seconds_ms(b, r->approximate_arrival_ms);
  esmc_buf_printf(b, "},\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\","
                     "\"eventID\":\"%s:%s\",\"eventName\":\"aws:kinesis:record\","
                     "\"invokeIdentityArn\":",
                  r->shard_id, r->sequence_number);
  esmc_buf_json_str(b, c->role, strlen(c->role));
  esmc_buf_puts(b, ",\"awsRegion\":");
  esmc_buf_json_str(b, c->region, strlen(c->region));
  esmc_buf_puts(b, ",\"eventSourceARN\":");
  esmc_buf_json_str(b, c->arn, strlen(c->arn));
  esmc_buf_putc(b, '}');
}

/* {"Records":[...]} for recs[0..n) into b (reset first). */
static inline void wf_payload(struct esmc_buf *b, const struct wf_cfg *c,
                              const struct esmc_record *const *recs, size_t n)
{
  size_t i;
  esmc_buf_reset(b);
  esmc_buf_puts(b, "{\"Records\":[");
  for(i = 0; i < n; i++) {
    if(i)
      esmc_buf_putc(b, ',');
    wf_record_json(b, c, recs[i]);
  }
  esmc_buf_puts(b, "]}");
}

/* Replace the first occurrence of from in b by to; asserts it is there. */
static inline void wf_replace(struct esmc_buf *b, const char *from, const char *to)
{
  struct esmc_buf o;
  const char *p;
  assert_non_null(b->data);
  p = strstr(b->data, from);
  if(!p)
    print_error("'%s' not in %s\n", from, b->data);
  assert_non_null(p);
  esmc_buf_init(&o);
  esmc_buf_put(&o, b->data, (size_t)(p - b->data));
  esmc_buf_puts(&o, to);
  esmc_buf_puts(&o, p + strlen(from));
  esmc_buf_free(b);
  *b = o;
}

/* ------------------------------------------------------------------------ */
/* The scripted test mapper. */

#define TM_MAX_LOG 64

struct tm_completion {
  int64_t t;                 /* relative time (host now - epoch) */
  esmc_invocation inv;
  enum esmc_invoke_outcome outcome;
  int32_t status;
  char function_error[32];   /* "" when NULL */
  int function_error_null;
  char payload[1024];
  size_t payload_len;
};

struct tm_hooks {
  esmc_status (*create)(const struct esmc_host *h,
                        const struct esmc_mapping_config *cfg,
                        struct esmc_error *err);
  esmc_status (*timer)(const struct esmc_host *h, uint64_t token);
  esmc_status (*complete)(const struct esmc_host *h, esmc_invocation inv,
                          const struct esmc_invoke_result *r);
  void (*destroy)(const struct esmc_host *h);
};

static struct {
  struct tm_hooks hooks;
  const struct esmc_host *host;      /* the live incarnation's host */
  const struct esmc_host *prev_host; /* the previous incarnation's */
  struct wf_cfg cfg;                 /* from the last create() */
  int64_t epoch;                     /* absolute ms of t = 0, when known */
  int creates, destroys, timers, completes;
  struct tm_completion log[TM_MAX_LOG];
  size_t nlog;
  int state;                         /* the mapper pointer points here */
} tm;

static inline void tm_reset(void)
{
  memset(&tm, 0, sizeof(tm));
}

static inline int64_t tm_now(const struct esmc_host *h)
{
  return h->now(h->ctx);
}

static inline esmc_status tm_create(const struct esmc_host *host,
                                    const struct esmc_mapping_config *cfg,
                                    void **mapper, struct esmc_error *err)
{
  esmc_status st = ESMC_OK;
  tm.creates++;
  tm.prev_host = tm.host;
  tm.host = host;
  tm.cfg.source = cfg->source;
  snprintf(tm.cfg.arn, sizeof(tm.cfg.arn), "%s", cfg->event_source_arn);
  snprintf(tm.cfg.role, sizeof(tm.cfg.role), "%s", cfg->role_arn ? cfg->role_arn : "");
  snprintf(tm.cfg.region, sizeof(tm.cfg.region), "%s", cfg->region);
  if(tm.hooks.create)
    st = tm.hooks.create(host, cfg, err);
  if(st == ESMC_OK)
    *mapper = &tm.state;
  else
    tm.host = tm.prev_host;
  return st;
}

static inline esmc_status tm_on_timer(void *mapper, uint64_t token)
{
  (void)mapper;
  tm.timers++;
  return tm.hooks.timer ? tm.hooks.timer(tm.host, token) : ESMC_OK;
}

static inline esmc_status tm_on_complete(void *mapper, esmc_invocation inv,
                                         const struct esmc_invoke_result *r)
{
  (void)mapper;
  tm.completes++;
  if(tm.nlog < TM_MAX_LOG) {
    struct tm_completion *c = &tm.log[tm.nlog++];
    memset(c, 0, sizeof(*c));
    c->t = tm_now(tm.host) - tm.epoch;
    c->inv = inv;
    c->outcome = r->outcome;
    c->status = r->status_code;
    c->function_error_null = r->function_error == NULL;
    if(r->function_error)
      snprintf(c->function_error, sizeof(c->function_error), "%s", r->function_error);
    c->payload_len = r->payload_len;
    memcpy(c->payload, r->payload,
           r->payload_len < sizeof(c->payload) - 1 ? r->payload_len
                                                   : sizeof(c->payload) - 1);
  }
  return tm.hooks.complete ? tm.hooks.complete(tm.host, inv, r) : ESMC_OK;
}

static inline void tm_destroy(void *mapper)
{
  if(!mapper)
    return;
  tm.destroys++;
  if(tm.hooks.destroy)
    tm.hooks.destroy(tm.host);
}

/* The adapter table with the given capabilities (static storage). */
static inline const struct esmc_adapter *tm_adapter(uint64_t caps)
{
  static struct esmc_adapter a;
  memset(&a, 0, sizeof(a));
  a.abi_version = ESMC_ABI_VERSION;
  a.struct_size = sizeof(a);
  a.name = "test-mapper";
  a.version = "0";
  a.capabilities = caps;
  a.create = tm_create;
  a.on_timer = tm_on_timer;
  a.on_invoke_complete = tm_on_complete;
  a.update = NULL;
  a.destroy = tm_destroy;
  return &a;
}

/* Invoke recs[0..n) with a correct payload; returns the handle (0 on error). */
static inline esmc_invocation tm_invoke(const struct esmc_host *h,
                                        const struct esmc_record *const *recs,
                                        size_t n)
{
  struct esmc_buf b;
  esmc_invocation inv = 0;
  esmc_buf_init(&b);
  wf_payload(&b, &tm.cfg, recs, n);
  if(h->invoke(h->ctx, (const uint8_t *)b.data, b.len, &inv) != ESMC_OK)
    inv = 0;
  esmc_buf_free(&b);
  return inv;
}

/* All visible records of shard 0 from TRIM_HORIZON (at most 10000). */
static inline esmc_status tm_read_all(const struct esmc_host *h,
                                      struct esmc_get_records_result *res)
{
  esmc_iterator it = 0;
  esmc_status st = h->get_shard_iterator(h->ctx, "shardId-000000000000",
                                         ESMC_ITER_TRIM_HORIZON, NULL, 0, &it);
  if(st != ESMC_OK)
    return st;
  return h->get_records(h->ctx, it, 10000, res);
}

/* ------------------------------------------------------------------------ */
/* The simple mapper (hooks for tm): shard 0 only, TRIM_HORIZON, polls every
 * second, invokes what it read, checkpoints the batch's last record after a
 * success. sm.drop_after_first: invoke only the first record of each batch
 * but checkpoint the whole batch (loses records). */

static struct {
  esmc_iterator it;
  char last_seq[64];
  int busy;
  int drop_after_first;
  int use_get_checkpoint; /* resume from the checkpoint store */
  int no_checkpoint;      /* never checkpoint (an emulator's way) */
} sm;

static inline esmc_status sm_create(const struct esmc_host *h,
                                    const struct esmc_mapping_config *cfg,
                                    struct esmc_error *err)
{
  const char *ck = NULL;
  (void)cfg;
  (void)err;
  sm.it = 0;
  sm.busy = 0;
  if(sm.use_get_checkpoint &&
     h->get_checkpoint(h->ctx, "shardId-000000000000", &ck) == ESMC_OK && ck) {
    if(h->get_shard_iterator(h->ctx, "shardId-000000000000",
                             ESMC_ITER_AFTER_SEQUENCE_NUMBER, ck, 0,
                             &sm.it) != ESMC_OK)
      return ESMC_E_INTERNAL;
  }
  return h->set_timer(h->ctx, tm_now(h), 1);
}

static inline esmc_status sm_timer(const struct esmc_host *h, uint64_t token)
{
  struct esmc_get_records_result res;
  esmc_status st;
  (void)token;
  if(sm.busy)
    return ESMC_OK;
  if(!sm.it && h->get_shard_iterator(h->ctx, "shardId-000000000000",
                                     ESMC_ITER_TRIM_HORIZON, NULL, 0,
                                     &sm.it) != ESMC_OK)
    return ESMC_E_INTERNAL;
  st = h->get_records(h->ctx, sm.it, 100, &res);
  if(st != ESMC_OK)
    return ESMC_E_INTERNAL;
  sm.it = res.next_iterator;
  if(res.count) {
    snprintf(sm.last_seq, sizeof(sm.last_seq), "%s",
             res.records[res.count - 1]->sequence_number);
    if(!tm_invoke(h, res.records, sm.drop_after_first ? 1 : res.count))
      return ESMC_E_INTERNAL;
    sm.busy = 1;
    return ESMC_OK;
  }
  return h->set_timer(h->ctx, tm_now(h) + 1000, 1);
}

static inline esmc_status sm_complete(const struct esmc_host *h,
                                      esmc_invocation inv,
                                      const struct esmc_invoke_result *r)
{
  (void)inv;
  sm.busy = 0;
  if(r->outcome == ESMC_INVOKE_OK && !sm.no_checkpoint &&
     h->checkpoint(h->ctx, "shardId-000000000000", sm.last_seq) != ESMC_OK)
    return ESMC_E_INTERNAL;
  return h->set_timer(h->ctx, tm_now(h) + 1000, 1);
}

static inline void sm_install(void)
{
  memset(&sm, 0, sizeof(sm));
  tm.hooks.create = sm_create;
  tm.hooks.timer = sm_timer;
  tm.hooks.complete = sm_complete;
}

/* ------------------------------------------------------------------------ */
/* History helpers. */

static inline size_t wf_count(const struct esmc_history *h, uint32_t kind)
{
  size_t i, n = 0;
  for(i = 0; i < h->n; i++)
    n += h->ev[i].kind == kind;
  return n;
}

/* The nth (0-based) event of a kind, or NULL. */
static inline const struct esmc_hevent *wf_nth(const struct esmc_history *h,
                                               uint32_t kind, size_t nth)
{
  size_t i;
  for(i = 0; i < h->n; i++)
    if(h->ev[i].kind == kind && nth-- == 0)
      return &h->ev[i];
  return NULL;
}

/* Index of the nth event of a kind, or -1. */
static inline long wf_index(const struct esmc_history *h, uint32_t kind,
                            size_t nth)
{
  size_t i;
  for(i = 0; i < h->n; i++)
    if(h->ev[i].kind == kind && nth-- == 0)
      return (long)i;
  return -1;
}

/* Build a world from JSON, run the adapter, keep both for inspection. */
struct wf_run {
  struct esmc_scenario sc;
  struct esmc_world *w;
  struct esmc_run_outcome out;
};

static inline void wf_build(struct wf_run *r, const char *json, uint64_t seed)
{
  memset(r, 0, sizeof(*r));
  wf_load(&r->sc, json);
  assert_int_equal(esmc_world_new(&r->sc, seed, &r->w), 0);
  tm.epoch = r->w->epoch_ms;
}

static inline void wf_go(struct wf_run *r, const struct esmc_adapter *a)
{
  tm.epoch = r->w->epoch_ms;
  assert_int_equal(esmc_world_run(r->w, a, &r->out), 0);
}

static inline void wf_run_json(struct wf_run *r, const char *json,
                               uint64_t seed, const struct esmc_adapter *a)
{
  wf_build(r, json, seed);
  wf_go(r, a);
}

static inline void wf_free(struct wf_run *r)
{
  esmc_world_free(r->w);
  esmc_scenario_free(&r->sc);
  memset(r, 0, sizeof(*r));
}

#endif /* ESMC_WORLD_FIXTURE_H */

/*
 * fuzz_decode.c: the structure-aware decoder of the scenario fuzzers, the
 * oracle run they share, the shrinker and fuzz-to-case (fuzz_decode.h).
 *
 * Every decoded scenario is one the reference must accept: parameters stay
 * in AWS's valid ranges, AT_TIMESTAMP is never in the future, DynamoDB never
 * gets AT_TIMESTAMP. Anything a checker then reports is a finding.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_decode.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "case_load.h"
#include "case_write.h"
#include "check.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* The byte reader (c-style E12).                                            */

void esmc_fdp_init(struct esmc_fdp *f, const uint8_t *p, size_t n)
{
  f->p = p;
  f->n = p ? n : 0;
}

uint32_t esmc_fdp_range(struct esmc_fdp *f, uint32_t lo, uint32_t hi)
{
  uint64_t span = (uint64_t)hi - lo, v = 0;
  unsigned bits;
  if(hi <= lo)
    return lo;
  for(bits = 0; bits < 32 && (span >> bits) && f->n; bits += 8)
    v = (v << 8) | f->p[--f->n];
  return lo + (uint32_t)(v % (span + 1));
}

int esmc_fdp_bool(struct esmc_fdp *f) { return (int)esmc_fdp_range(f, 0, 1); }

size_t esmc_fdp_bytes(struct esmc_fdp *f, uint8_t *out, size_t max)
{
  size_t k = max < f->n ? max : f->n;
  if(k)
    memcpy(out, f->p, k);
  f->p += k;
  f->n -= k;
  return k;
}

/* ------------------------------------------------------------------------ */
/* The decoder.                                                              */

struct dec {
  struct esmc_fdp f;
  struct esmc_scenario *sc;
  uint32_t sw;
  unsigned flags;
  int oom;
};

static char *dup_str(struct dec *d, const char *s)
{
  char *p = esmc_strdup(s);
  if(!p)
    d->oom = 1;
  return p;
}

static char *dup_fmt(struct dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *dup_fmt(struct dec *d, const char *fmt, ...)
{
  struct esmc_buf b;
  va_list ap;
  esmc_buf_init(&b);
  va_start(ap, fmt);
  esmc_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  if(b.oom || !b.data) {
    esmc_buf_free(&b);
    d->oom = 1;
    return NULL;
  }
  return b.data;
}

static uint32_t R(struct dec *d, uint32_t lo, uint32_t hi)
{
  return esmc_fdp_range(&d->f, lo, hi);
}

static int on(const struct dec *d, uint32_t cls) { return (d->sw & cls) != 0; }

static const char *const destinations[] = {
    "arn:aws:sqs:us-east-1:123456789012:esmcheck-dlq",
    "arn:aws:sns:us-east-1:123456789012:esmcheck-failures",
    "arn:aws:s3:::esmcheck-failure-bucket"};

static const char *const responses[] = {
    "", "null", "{}", "[]", "\"\"", "true", "42", "not json", "{\"a\":1}",
    "{\"batchItemFailures\":[]}", "{\"batchItemFailures\":null}",
    "{\"batchItemFailures\":[{}]}", "{\"batchItemFailures\":{}}",
    "{\"batchItemFailures\":\"x\"}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":null}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"1\"}]}",
    "{\"batchItemFailures\":[{\"itemIdentifier\":\"x\"}]}"};

static const char *const view_types[] = {"NEW_AND_OLD_IMAGES", "NEW_IMAGE",
                                         "OLD_IMAGE", "KEYS_ONLY"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

static int32_t pick_batch_size(struct dec *d)
{
  static const int32_t small[] = {ESMC_UNSET, 1, 2, 3, 4, 5, 10};
  if(on(d, ESMC_SW_BIG))
    return (int32_t)R(d, 1, 100);
  return small[R(d, 0, COUNT_OF(small) - 1)];
}

static int32_t pick_age(struct dec *d)
{
  switch(R(d, 0, 3)) {
  case 0: return -1;
  case 1: return 60;
  default: return (int32_t)R(d, 60, 300);
  }
}

static int is_queue(const struct esmc_scenario *sc)
{
  return sc->source == ESMC_SOURCE_SQS || sc->source == ESMC_SOURCE_SQS_FIFO;
}

static const char *pick_key(struct dec *d)
{
  static const char *const keys[] = {"k0", "k1", "k2", "k3",
                                     "k4", "k5", "k6", "k7"};
  /* ParallelizationFactor: more partition keys than batchers. */
  return keys[R(d, 0, on(d, ESMC_SW_PARALLEL) ? 7 : 3)];
}

/* FilterCriteria patterns, valid for the source, over the JSON the decoder
 * writes into record data (Kinesis `data`, SQS `body`: {"k":..,"v":..}) and
 * DynamoDB images ({"pk":{"S":..},"n":{"N":..}}), so some records match. */
static const char *const kinesis_filters[] = {
    "{\"data\":{\"k\":[\"k0\",\"k1\"]}}",
    "{\"data\":{\"v\":[{\"numeric\":[\">=\",5]}]}}",
    "{\"data\":{\"k\":[{\"prefix\":\"k\"}]}}",
    "{\"data\":{\"k\":[{\"anything-but\":[\"k2\"]}]}}",
    "{\"data\":{\"v\":[{\"numeric\":[\">\",2,\"<=\",7]}]}}",
    "{\"data\":{\"missing\":[{\"exists\":false}]}}"};
static const char *const ddb_filters[] = {
    "{\"eventName\":[\"INSERT\",\"MODIFY\"]}",
    "{\"eventName\":[\"REMOVE\"]}",
    "{\"dynamodb\":{\"Keys\":{\"pk\":{\"S\":[\"k0\",\"k3\"]}}}}",
    "{\"dynamodb\":{\"NewImage\":{\"n\":{\"N\":[{\"numeric\":[\">\",3]}]}}}}",
    "{\"dynamodb\":{\"OldImage\":{\"pk\":{\"S\":[{\"prefix\":\"k\"}]}}}}"};
static const char *const sqs_filters[] = {
    "{\"body\":{\"k\":[\"k0\",\"k1\"]}}",
    "{\"body\":{\"v\":[{\"numeric\":[\"<\",5]}]}}",
    "{\"body\":{\"k\":[{\"anything-but\":[\"k1\"]}]}}",
    "{\"body\":{\"n\":[{\"exists\":true}]}}",
    "{\"attributes\":{\"MessageGroupId\":[{\"prefix\":\"g\"}]}}"};

static void decode_filters(struct dec *d, struct esmc_config_spec *c)
{
  const struct esmc_scenario *sc = d->sc;
  const char *const *set = kinesis_filters;
  uint32_t count = COUNT_OF(kinesis_filters), n, k, first;
  if(sc->source == ESMC_SOURCE_DYNAMODB) {
    set = ddb_filters;
    count = COUNT_OF(ddb_filters);
  } else if(is_queue(sc)) {
    set = sqs_filters;
    count = COUNT_OF(sqs_filters) - (sc->source == ESMC_SOURCE_SQS);
  }
  n = R(d, 0, 2); /* 0: FilterCriteria with no filters */
  c->filter_criteria_given = 1;
  c->filter_patterns = esmc_calloc(n ? n : 1, sizeof(char *));
  if(!c->filter_patterns) {
    d->oom = 1;
    return;
  }
  first = R(d, 0, count - 1);
  for(k = 0; k < n; k++) /* distinct patterns */
    c->filter_patterns[c->filter_count++] =
        dup_str(d, set[(first + k) % count]);
}

static void decode_records(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  uint32_t n = on(d, ESMC_SW_BIG) ? R(d, 0, 60) : R(d, 1, 12), i;
  int64_t at = 0;
  int ddb = sc->source == ESMC_SOURCE_DYNAMODB;
  sc->records = esmc_calloc(n ? n : 1, sizeof(*sc->records));
  if(!sc->records) {
    d->oom = 1;
    return;
  }
  for(i = 0; i < n && !d->oom; i++) {
    struct esmc_case_record *r = &sc->records[sc->record_count++];
    const char *key = pick_key(d);
    r->shard = -1;
    r->id = dup_fmt(d, "r%u", i + 1);
    at += on(d, ESMC_SW_SPREAD) ? R(d, 0, 20000) : R(d, 0, 50);
    r->at_ms = at;
    if(is_queue(sc)) {
      /* A message: a JSON body (filters match on it), the FIFO group as the
       * partition key, deduplication ids sometimes repeated (FIFO-10). */
      r->data = (uint8_t *)dup_fmt(d, "{\"n\":%u,\"k\":\"%s\",\"v\":%u}",
                                   i + 1, key, R(d, 0, 9));
      if(r->data)
        r->data_len = strlen((const char *)r->data);
      if(sc->source == ESMC_SOURCE_SQS_FIFO) {
        r->group = dup_fmt(d, "g%u", R(d, 0, 3));
        r->partition_key = r->group ? dup_str(d, r->group) : NULL;
        if(!sc->queue.content_based_deduplication || esmc_fdp_bool(&d->f))
          r->deduplication_id =
              R(d, 0, 3) ? dup_fmt(d, "d%u", i + 1) : dup_fmt(d, "d%u", R(d, 1, i + 1));
      }
      if(esmc_fdp_bool(&d->f)) {
        r->attr_names = esmc_calloc(1, sizeof(char *));
        r->attr_values = esmc_calloc(1, sizeof(char *));
        if(!r->attr_names || !r->attr_values) {
          d->oom = 1;
          return;
        }
        r->attr_names[0] = dup_str(d, "kind");
        r->attr_values[0] = dup_str(d, key);
        r->attr_count = 1;
      }
      continue;
    }
    if(on(d, ESMC_SW_SHARDS) && esmc_fdp_bool(&d->f))
      r->shard = (int32_t)R(d, 0, (uint32_t)sc->shard_count - 1);
    if(ddb) {
      const char *view = sc->stream_view_type;
      r->event_name = (enum esmc_ddb_event)R(d, 1, 3);
      r->keys_json = dup_fmt(d, "{\"pk\":{\"S\":\"%s\"}}", key);
      r->partition_key = dup_str(d, r->keys_json);
      (void)view;
      if(r->event_name != ESMC_DDB_REMOVE)
        r->new_image_json =
            dup_fmt(d, "{\"pk\":{\"S\":\"%s\"},\"n\":{\"N\":\"%u\"}}", key, i + 1);
      if(r->event_name != ESMC_DDB_INSERT)
        r->old_image_json =
            dup_fmt(d, "{\"pk\":{\"S\":\"%s\"},\"n\":{\"N\":\"%u\"}}", key, i);
    } else {
      size_t len = on(d, ESMC_SW_BIG) ? R(d, 0, 64) : R(d, 0, 8), k, got;
      r->partition_key = dup_str(d, key);
      if(on(d, ESMC_SW_FILTER) && esmc_fdp_bool(&d->f)) {
        /* JSON data the `data` filters look into. */
        r->data = (uint8_t *)dup_fmt(d, "{\"k\":\"%s\",\"v\":%u}", key, R(d, 0, 9));
        if(r->data)
          r->data_len = strlen((const char *)r->data);
      } else if(len) {
        r->data = esmc_malloc(len);
        if(!r->data) {
          d->oom = 1;
          return;
        }
        got = esmc_fdp_bytes(&d->f, r->data, len);
        for(k = got; k < len; k++)
          r->data[k] = (uint8_t)('a' + k % 26);
        r->data_len = len;
      }
    }
  }
}

static void add_condition(struct dec *d, struct esmc_fn_rule *r)
{
  struct esmc_scenario *sc = d->sc;
  uint32_t kind = R(d, 0, (d->flags & ESMC_DECODE_SHAPE_FREE) ? 2 : 3), k, n;
  switch(kind) {
  case 1: /* contains */
    if(!sc->record_count)
      break;
    n = R(d, 1, 2);
    r->contains = esmc_calloc(n, sizeof(char *));
    if(!r->contains) {
      d->oom = 1;
      break;
    }
    for(k = 0; k < n; k++)
      r->contains[r->contains_count++] =
          dup_str(d, sc->records[R(d, 0, (uint32_t)sc->record_count - 1)].id);
    break;
  case 2: /* keys */
    r->keys = esmc_calloc(1, sizeof(char *));
    if(!r->keys) {
      d->oom = 1;
      break;
    }
    if(sc->source == ESMC_SOURCE_DYNAMODB)
      r->keys[0] = dup_fmt(d, "{\"pk\":{\"S\":\"%s\"}}", pick_key(d));
    else if(sc->source == ESMC_SOURCE_SQS_FIFO)
      r->keys[0] = dup_fmt(d, "g%u", R(d, 0, 3));
    else
      r->keys[0] = dup_str(d, pick_key(d));
    r->keys_count = 1;
    break;
  case 3: /* invocation numbers */
    n = R(d, 1, 3);
    r->invocations = esmc_calloc(n, sizeof(int64_t));
    if(!r->invocations) {
      d->oom = 1;
      break;
    }
    for(k = 0; k < n; k++)
      r->invocations[r->invocations_count++] = R(d, 1, 12);
    break;
  default:
    break;
  }
  if(esmc_fdp_bool(&d->f)) {
    r->attempt_min = (int32_t)R(d, 1, 3);
    if(esmc_fdp_bool(&d->f))
      r->attempt_max = r->attempt_min + (int32_t)R(d, 0, 3);
  }
  if(!(d->flags & ESMC_DECODE_SHAPE_FREE) && esmc_fdp_bool(&d->f))
    r->times = (int32_t)R(d, 1, 5);
}

static void decode_function(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  struct esmc_fn_script *fn = &sc->function;
  enum esmc_fn_action allowed[8];
  size_t na = 0, i, n;
  int shape_free = (d->flags & ESMC_DECODE_SHAPE_FREE) != 0;
  if(on(d, ESMC_SW_ERRORS))
    allowed[na++] = ESMC_FN_ERROR;
  if(on(d, ESMC_SW_TIMEOUT))
    allowed[na++] = ESMC_FN_TIMEOUT;
  if(on(d, ESMC_SW_THROTTLE) && !shape_free) {
    allowed[na++] = ESMC_FN_THROTTLE;
    allowed[na++] = ESMC_FN_SERVICE_ERROR;
  }
  if(on(d, ESMC_SW_PARTIAL)) {
    allowed[na++] = ESMC_FN_FAIL_ITEMS;
    allowed[na++] = ESMC_FN_OK;
  }
  if(sc->config.tumbling_window_s > 0)
    allowed[na++] = ESMC_FN_OK;
  if(on(d, ESMC_SW_TIMEOUT))
    fn->timeout_s = (int32_t)R(d, 1, 4);
  if(esmc_fdp_bool(&d->f))
    fn->default_duration_ms = R(d, 0, 2000);
  if(!na)
    return;
  n = R(d, 0, 4);
  fn->rules = esmc_calloc(n ? n : 1, sizeof(*fn->rules));
  if(!fn->rules) {
    d->oom = 1;
    return;
  }
  for(i = 0; i < n && !d->oom; i++) {
    struct esmc_fn_rule *r = &fn->rules[fn->rule_count++];
    r->attempt_min = ESMC_UNSET;
    r->attempt_max = ESMC_UNSET;
    r->duration_ms = -1;
    add_condition(d, r);
    r->action = allowed[R(d, 0, (uint32_t)na - 1)];
    if(esmc_fdp_bool(&d->f))
      r->duration_ms = R(d, 0, 3000);
    if(r->action == ESMC_FN_OK && sc->config.tumbling_window_s > 0 &&
       esmc_fdp_bool(&d->f)) {
      /* A tumbling-window state for the next invocation of the window. */
      r->response = R(d, 0, 3) ? dup_fmt(d, "{\"state\":{\"n\":%u}}", R(d, 0, 99))
                               : dup_str(d, "{\"state\":{}}");
      r->response_len = r->response ? strlen(r->response) : 0;
      r->response_given = 1;
    } else if(r->action == ESMC_FN_OK) {
      const char *t = responses[R(d, 0, COUNT_OF(responses) - 1)];
      r->response = dup_str(d, t);
      r->response_len = strlen(t);
      r->response_given = 1;
    } else if(r->action == ESMC_FN_FAIL_ITEMS) {
      size_t k, m = R(d, 0, 3);
      r->fail_items = esmc_calloc(m ? m : 1, sizeof(char *));
      if(!r->fail_items) {
        d->oom = 1;
        return;
      }
      for(k = 0; k < m; k++) {
        if(sc->record_count && R(d, 0, 4))
          r->fail_items[k] =
              dup_str(d, sc->records[R(d, 0, (uint32_t)sc->record_count - 1)].id);
        else
          r->fail_items[k] = dup_str(d, "not-a-sequence-number");
        r->fail_items_count++;
      }
    } else if(r->action == ESMC_FN_ERROR && esmc_fdp_bool(&d->f)) {
      r->error_type = dup_str(d, "Poison");
      r->error_message = dup_str(d, "fuzzed failure");
    }
  }
}

/* A valid update of one class the swarm allows. */
static void decode_update(struct dec *d, struct esmc_config_spec *u)
{
  if(is_queue(d->sc)) {
    /* Only what a queue mapping takes, kept valid whatever came before:
     * batch sizes up to 10, windows of at least 1 s (standard queues). */
    switch(R(d, 0, 3)) {
    case 0:
      u->batch_size = (int32_t)R(d, 1, 10);
      break;
    case 1:
      if(on(d, ESMC_SW_WINDOW) && d->sc->source == ESMC_SOURCE_SQS)
        u->maximum_batching_window_s = (int32_t)R(d, 1, 5);
      break;
    case 2:
      u->maximum_concurrency = (int32_t)R(d, 2, 20);
      break;
    default:
      if(on(d, ESMC_SW_PARTIAL)) {
        u->function_response_types_given = 1;
        u->function_response_types =
            esmc_fdp_bool(&d->f) ? ESMC_FRT_REPORT_BATCH_ITEM_FAILURES : 0;
      }
      break;
    }
    return;
  }
  switch(R(d, 0, 5)) {
  case 0:
    u->batch_size = (int32_t)R(d, 1, 10);
    break;
  case 1:
    if(on(d, ESMC_SW_WINDOW))
      u->maximum_batching_window_s = (int32_t)R(d, 0, 5);
    break;
  case 2:
    if(on(d, ESMC_SW_RETRY))
      u->maximum_retry_attempts = (int32_t)R(d, 0, 5) - 1;
    break;
  case 3:
    if(on(d, ESMC_SW_AGE))
      u->maximum_record_age_s = pick_age(d);
    break;
  case 4:
    if(on(d, ESMC_SW_BISECT))
      u->bisect_batch_on_function_error = esmc_fdp_bool(&d->f);
    break;
  default:
    if(on(d, ESMC_SW_PARTIAL)) {
      u->function_response_types_given = 1;
      u->function_response_types =
          esmc_fdp_bool(&d->f) ? ESMC_FRT_REPORT_BATCH_ITEM_FAILURES : 0;
    }
    break;
  }
}

static struct esmc_case_event *new_event(struct dec *d, int64_t at,
                                         enum esmc_case_event_kind kind)
{
  struct esmc_scenario *sc = d->sc;
  struct esmc_case_event *e;
  void *p = esmc_realloc(sc->events, (sc->event_count + 1) * sizeof(*sc->events));
  if(!p) {
    d->oom = 1;
    return NULL;
  }
  sc->events = p;
  e = &sc->events[sc->event_count++];
  memset(e, 0, sizeof(*e));
  e->at_ms = at;
  e->kind = kind;
  e->fault.mapping = -1;
  e->fault.every = 1;
  e->fault.until_ms = INT64_MAX;
  esmc_config_spec_init(&e->update);
  return e;
}

/* The shard plan as the loader checks it (spec/case-format.md section 8):
 * hash-key ranges, open or closed, children numbered after every shard. */
#define PLAN_MAX 64
struct plan {
  uint64_t lo[PLAN_MAX], hi[PLAN_MAX];
  unsigned char open[PLAN_MAX];
  uint32_t n;
};

static void plan_init(struct plan *p, uint32_t shards)
{
  uint64_t s = UINT64_MAX / shards;
  uint32_t i;
  memset(p, 0, sizeof(*p));
  for(i = 0; i < shards && i < PLAN_MAX; i++) {
    p->lo[i] = (uint64_t)i * s;
    p->hi[i] = i + 1 == shards ? UINT64_MAX : (uint64_t)(i + 1) * s - 1;
    p->open[i] = 1;
  }
  p->n = shards;
}

static uint32_t plan_open_count(const struct plan *p)
{
  uint32_t i, k = 0;
  for(i = 0; i < p->n; i++)
    k += p->open[i];
  return k;
}

/* The k-th open shard. */
static uint32_t plan_open_at(const struct plan *p, uint32_t k)
{
  uint32_t i;
  for(i = 0; i < p->n; i++)
    if(p->open[i] && k-- == 0)
      return i;
  return 0;
}

static uint32_t plan_add(struct plan *p, uint64_t lo, uint64_t hi)
{
  p->lo[p->n] = lo;
  p->hi[p->n] = hi;
  p->open[p->n] = 1;
  return p->n++;
}

/* One valid split, merge or rollover at `at`, or nothing. */
static void decode_reshard(struct dec *d, struct plan *p, int64_t at)
{
  uint32_t a, b, i, kind = R(d, 0, 2);
  struct esmc_case_event *e;
  if(p->n + 2 > PLAN_MAX || !plan_open_count(p))
    return;
  a = plan_open_at(p, R(d, 0, plan_open_count(p) - 1));
  if(kind == 1) { /* merge with an open neighbour, lower shard first */
    for(i = 0; i < p->n; i++)
      if(p->open[i] && i != a &&
         ((p->hi[a] != UINT64_MAX && p->hi[a] + 1 == p->lo[i]) ||
          (p->hi[i] != UINT64_MAX && p->hi[i] + 1 == p->lo[a])))
        break;
    if(i == p->n)
      kind = 0;
    else {
      b = p->hi[a] != UINT64_MAX && p->hi[a] + 1 == p->lo[i] ? i : a;
      a = b == i ? a : i;
      if((e = new_event(d, at, ESMC_CASE_MERGE)) == NULL)
        return;
      e->shards[0] = (int32_t)a;
      e->shards[1] = (int32_t)b;
      p->open[a] = p->open[b] = 0;
      plan_add(p, p->lo[a], p->hi[b]);
      return;
    }
  }
  if(kind == 0 && p->hi[a] - p->lo[a] >= 1) { /* split at the midpoint */
    uint64_t mid = p->lo[a] + (p->hi[a] - p->lo[a]) / 2;
    if((e = new_event(d, at, ESMC_CASE_SPLIT)) == NULL)
      return;
    e->shards[0] = (int32_t)a;
    e->shards[1] = -1;
    p->open[a] = 0;
    plan_add(p, p->lo[a], mid);
    plan_add(p, mid + 1, p->hi[a]);
    return;
  }
  if((e = new_event(d, at, ESMC_CASE_ROLLOVER)) == NULL)
    return;
  e->shards[0] = (int32_t)a;
  e->shards[1] = -1;
  p->open[a] = 0;
  plan_add(p, p->lo[a], p->hi[a]);
}

static void decode_events(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  uint32_t kinds[5], nk = 0, n, i;
  struct plan plan;
  int64_t at = sc->create_at_ms;
  if(d->flags & ESMC_DECODE_SHAPE_FREE)
    return;
  if(on(d, ESMC_SW_RESTART))
    kinds[nk++] = 0;
  if(on(d, ESMC_SW_UPDATE))
    kinds[nk++] = 1;
  if(on(d, ESMC_SW_TOGGLE))
    kinds[nk++] = 2;
  if(on(d, ESMC_SW_DEST) && sc->config.on_failure_destination)
    kinds[nk++] = 3;
  if(on(d, ESMC_SW_RESHARD) && !is_queue(sc))
    kinds[nk++] = 4;
  if(!nk)
    return;
  plan_init(&plan, (uint32_t)sc->shard_count);
  n = R(d, 0, 3);
  for(i = 0; i < n && !d->oom; i++) {
    struct esmc_case_event *e;
    at += R(d, 1, 30000);
    switch(kinds[R(d, 0, nk - 1)]) {
    case 0:
      new_event(d, at, ESMC_CASE_RESTART);
      break;
    case 1:
      if((e = new_event(d, at, ESMC_CASE_UPDATE)) != NULL)
        decode_update(d, &e->update);
      break;
    case 2: /* disable, then enable again */
      if((e = new_event(d, at, ESMC_CASE_UPDATE)) != NULL)
        e->update.enabled = 0;
      at += R(d, 1, 30000);
      if((e = new_event(d, at, ESMC_CASE_UPDATE)) != NULL)
        e->update.enabled = 1;
      break;
    case 4:
      decode_reshard(d, &plan, at);
      break;
    default:
      new_event(d, at, ESMC_CASE_DESTINATION_DOWN);
      if(esmc_fdp_bool(&d->f)) {
        at += R(d, 1, 60000);
        new_event(d, at, ESMC_CASE_DESTINATION_UP);
      }
      break;
    }
  }
}

/* Several mappings (ESMC_SW_MULTI): one or two more on the same source,
 * each a copy of the first with its own batch size and creation time, and
 * the same function (MULTI-1, MULTI-2). */
static void decode_mappings(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  uint32_t n, i;
  if(!on(d, ESMC_SW_MULTI) || (d->flags & ESMC_DECODE_SHAPE_FREE))
    return;
  n = R(d, 1, 2);
  sc->extra = esmc_calloc(n, sizeof(*sc->extra));
  if(!sc->extra) {
    d->oom = 1;
    return;
  }
  for(i = 0; i < n && !d->oom; i++) {
    struct esmc_mapping_spec *m = &sc->extra[sc->extra_count++];
    struct esmc_config_spec *c = &m->config;
    esmc_expect_clear(&m->expect);
    m->name = dup_fmt(d, "m%u", i + 2);
    esmc_config_spec_init(c);
    /* A shallow copy of the scalars; strings and filters are duplicated. */
    *c = sc->config;
    c->on_failure_destination = NULL;
    c->filter_patterns = NULL;
    c->filter_count = 0;
    c->filter_criteria_given = 0;
    if(sc->config.on_failure_destination)
      c->on_failure_destination = dup_str(d, sc->config.on_failure_destination);
    if(esmc_fdp_bool(&d->f))
      c->batch_size = (int32_t)R(d, 1, 10);
    m->create_at_ms = sc->create_at_ms + (int64_t)R(d, 0, 3) * 5000;
  }
}

/* A call set that fits the source. */
static uint32_t read_calls(struct dec *d)
{
  if(is_queue(d->sc))
    return 1u << ESMC_FC_RECEIVE_MESSAGES |
           (esmc_fdp_bool(&d->f) ? 1u << ESMC_FC_GET_QUEUE_ATTRIBUTES : 0);
  return 1u << ESMC_FC_GET_RECORDS |
         (esmc_fdp_bool(&d->f) ? 1u << ESMC_FC_GET_SHARD_ITERATOR : 0) |
         (esmc_fdp_bool(&d->f) ? 1u << ESMC_FC_LIST_SHARDS : 0);
}

static int32_t fault_mapping(struct dec *d)
{
  uint32_t k = R(d, 0, (uint32_t)d->sc->extra_count + 1);
  return k == 0 ? -1 : (int32_t)k - 1; /* -1: every mapping */
}

/* Faults (spec/faults.md), each with a window that heals, in the classes
 * the swarm allows. */
static void decode_faults(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  uint32_t kinds[5], nk = 0, n, i;
  static const esmc_status transient[] = {ESMC_E_THROTTLED, ESMC_E_SERVICE,
                                          ESMC_E_ACCESS_DENIED};
  if(d->flags & ESMC_DECODE_SHAPE_FREE)
    return;
  if(on(d, ESMC_SW_FAULT_READ))
    kinds[nk++] = 0;
  if(on(d, ESMC_SW_FAULT_ITER) && !is_queue(sc))
    kinds[nk++] = 1;
  if(on(d, ESMC_SW_FAULT_QUEUE) && is_queue(sc))
    kinds[nk++] = 2;
  if(on(d, ESMC_SW_FAULT_DEST) && sc->config.on_failure_destination &&
     !is_queue(sc))
    kinds[nk++] = 3;
  if(on(d, ESMC_SW_FAULT_PERM))
    kinds[nk++] = 4;
  if(!nk)
    return;
  n = R(d, 1, 3);
  for(i = 0; i < n && !d->oom; i++) {
    int64_t at = sc->create_at_ms + (int64_t)R(d, 0, 120) * 1000;
    int64_t until = at + (int64_t)R(d, 1, 180) * 1000;
    uint32_t kind = kinds[R(d, 0, nk - 1)];
    struct esmc_case_event *e;
    if(kind == 1 && esmc_fdp_bool(&d->f)) {
      /* Trimmed data: records older than some point leave early. */
      if((e = new_event(d, at, ESMC_CASE_TRIM)) != NULL) {
        e->shards[0] = esmc_fdp_bool(&d->f)
                           ? (int32_t)R(d, 0, (uint32_t)sc->shard_count - 1)
                           : -1;
        e->shards[1] = -1;
        e->trim_before_ms = at - (int64_t)R(d, 0, 60) * 1000;
        if(e->trim_before_ms < 0)
          e->trim_before_ms = 0;
      }
      continue;
    }
    if((e = new_event(d, at, ESMC_CASE_FAULT)) == NULL)
      break;
    e->shards[0] = e->shards[1] = -1;
    e->fault.until_ms = until;
    e->fault.mapping = fault_mapping(d);
    e->fault.every = (int32_t)R(d, 1, 3);
    switch(kind) {
    case 0:
      e->fault.calls = read_calls(d);
      e->fault.error = transient[R(d, 0, 1)];
      break;
    case 1:
      e->fault.calls = 1u << ESMC_FC_GET_RECORDS;
      e->fault.error = ESMC_E_EXPIRED_ITERATOR;
      break;
    case 2:
      e->fault.calls = (esmc_fdp_bool(&d->f) ? 1u << ESMC_FC_DELETE_MESSAGE : 0) |
                       (esmc_fdp_bool(&d->f)
                            ? 1u << ESMC_FC_CHANGE_MESSAGE_VISIBILITY
                            : 0) |
                       (esmc_fdp_bool(&d->f) ? 1u << ESMC_FC_RECEIVE_MESSAGES : 0);
      if(!e->fault.calls)
        e->fault.calls = 1u << ESMC_FC_DELETE_MESSAGE;
      e->fault.error = transient[R(d, 0, 2)];
      break;
    case 3:
      e->fault.calls = 1u << ESMC_FC_SEND_TO_DESTINATION;
      e->fault.error = transient[R(d, 0, 2)];
      break;
    default: /* a permission lost for a while: every call of the source */
      e->fault.calls =
          is_queue(sc)
              ? 1u << ESMC_FC_GET_QUEUE_ATTRIBUTES |
                    1u << ESMC_FC_RECEIVE_MESSAGES |
                    1u << ESMC_FC_DELETE_MESSAGE |
                    1u << ESMC_FC_CHANGE_MESSAGE_VISIBILITY
              : 1u << ESMC_FC_LIST_SHARDS | 1u << ESMC_FC_GET_SHARD_ITERATOR |
                    1u << ESMC_FC_GET_RECORDS;
      e->fault.error = ESMC_E_ACCESS_DENIED;
      e->fault.every = 1;
      /* Not at the create instant: a role without the permission at create
       * is a configuration error (FAULT-7), which the oracle ignores. */
      if(e->at_ms <= sc->create_at_ms)
        e->at_ms = sc->create_at_ms + 1000;
      if(e->fault.until_ms <= e->at_ms)
        e->fault.until_ms = e->at_ms + 1000;
      break;
    }
  }
  /* Events stay in time order (the loader's rule). */
  {
    size_t a, b;
    for(a = 1; a < sc->event_count; a++)
      for(b = a; b > 0 && sc->events[b - 1].at_ms > sc->events[b].at_ms; b--) {
        struct esmc_case_event t = sc->events[b];
        sc->events[b] = sc->events[b - 1];
        sc->events[b - 1] = t;
      }
  }
}

/* A queue and its mapping: only the parameters SQS takes, valid together
 * (FIFO: batch size up to 10, no window; standard: a window of at least 1 s
 * with batch sizes above 10). */
static void decode_queue_config(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  struct esmc_config_spec *c = &sc->config;
  struct esmc_queue_spec *q = &sc->queue;
  int fifo = sc->source == ESMC_SOURCE_SQS_FIFO;
  int shape_free = (d->flags & ESMC_DECODE_SHAPE_FREE) != 0;
  c->starting_position = ESMC_START_UNSET;
  /* At least the function timeout (at most 4 s here): AWS rejects a queue
   * whose visibility timeout is shorter. */
  q->visibility_timeout_s = (int32_t)R(d, 0, 3) ? (int32_t)R(d, 4, 60) : 30;
  if(on(d, ESMC_SW_RETRY) || shape_free) /* shape-free: finite redrives */
    q->max_receive_count = (int32_t)R(d, shape_free ? 1 : 0, 5);
  if(on(d, ESMC_SW_SPREAD))
    q->delay_s = (int32_t)R(d, 0, 10);
  if(fifo)
    q->content_based_deduplication = esmc_fdp_bool(&d->f);
  else if(on(d, ESMC_SW_THROTTLE) && !shape_free)
    q->duplicate_every = (int32_t)R(d, 0, 5);
  if(on(d, ESMC_SW_POSITION))
    sc->create_at_ms = R(d, 0, 30000);
  if(shape_free)
    c->batch_size = 1;
  else if(!fifo && (on(d, ESMC_SW_BIG) || on(d, ESMC_SW_WINDOW)) &&
          esmc_fdp_bool(&d->f)) {
    c->batch_size = (int32_t)R(d, 11, on(d, ESMC_SW_BIG) ? 200 : 20);
    c->maximum_batching_window_s = (int32_t)R(d, 1, 10);
  } else {
    c->batch_size = (int32_t)R(d, 0, 10);
    if(!c->batch_size)
      c->batch_size = ESMC_UNSET;
    if(!fifo && on(d, ESMC_SW_WINDOW))
      c->maximum_batching_window_s = (int32_t)R(d, 0, 10);
  }
  if(on(d, ESMC_SW_PARTIAL) && R(d, 0, 3)) {
    c->function_response_types_given = 1;
    c->function_response_types =
        R(d, 0, 4) ? ESMC_FRT_REPORT_BATCH_ITEM_FAILURES : 0;
  }
  if(esmc_fdp_bool(&d->f))
    c->maximum_concurrency = (int32_t)R(d, 2, 20);
  if(on(d, ESMC_SW_TOGGLE))
    c->enabled = esmc_fdp_bool(&d->f);
  if(on(d, ESMC_SW_FILTER))
    decode_filters(d, c);
}

static void decode_config(struct dec *d)
{
  struct esmc_scenario *sc = d->sc;
  struct esmc_config_spec *c = &sc->config;
  int shape_free = (d->flags & ESMC_DECODE_SHAPE_FREE) != 0;
  if(is_queue(sc)) {
    decode_queue_config(d);
    return;
  }
  c->starting_position = ESMC_START_TRIM_HORIZON;
  if(on(d, ESMC_SW_POSITION)) {
    sc->create_at_ms = R(d, 0, 30000);
    switch(R(d, 0, 2)) {
    case 1:
      c->starting_position = ESMC_START_LATEST;
      break;
    case 2:
      if(sc->source == ESMC_SOURCE_KINESIS) {
        c->starting_position = ESMC_START_AT_TIMESTAMP;
        c->starting_position_timestamp_given = 1;
        c->starting_position_timestamp_ms = R(d, 0, (uint32_t)sc->create_at_ms);
      }
      break;
    default:
      break;
    }
  }
  c->batch_size = shape_free ? 1 : pick_batch_size(d);
  if(on(d, ESMC_SW_WINDOW) && !shape_free)
    c->maximum_batching_window_s = (int32_t)R(d, 0, 10);
  if(on(d, ESMC_SW_RETRY) || shape_free)
    c->maximum_retry_attempts = (int32_t)R(d, 0, 4) - (shape_free ? 0 : 1);
  if(on(d, ESMC_SW_AGE) && !shape_free)
    c->maximum_record_age_s = pick_age(d);
  if(on(d, ESMC_SW_BISECT))
    c->bisect_batch_on_function_error = esmc_fdp_bool(&d->f);
  if(on(d, ESMC_SW_PARTIAL) && R(d, 0, 3)) {
    c->function_response_types_given = 1;
    c->function_response_types =
        R(d, 0, 4) ? ESMC_FRT_REPORT_BATCH_ITEM_FAILURES : 0;
  }
  if(on(d, ESMC_SW_DEST))
    c->on_failure_destination =
        dup_str(d, destinations[R(d, 0, COUNT_OF(destinations) - 1)]);
  if(on(d, ESMC_SW_TOGGLE))
    c->enabled = esmc_fdp_bool(&d->f);
  /* Tumbling windows do not combine with ParallelizationFactor > 1 (TW-9). */
  if(on(d, ESMC_SW_TUMBLING) && !shape_free && esmc_fdp_bool(&d->f))
    c->tumbling_window_s = (int32_t)R(d, 1, 60);
  else if(on(d, ESMC_SW_PARALLEL))
    c->parallelization_factor = (int32_t)R(d, 2, 10);
  if(on(d, ESMC_SW_FILTER))
    decode_filters(d, c);
}

int esmc_fuzz_decode(const uint8_t *data, size_t size, unsigned flags,
                     struct esmc_scenario *out, uint32_t *swarm)
{
  struct dec d;
  struct esmc_scenario *sc = out;
  int64_t last;
  size_t i;

  /* A JSON case (a file of cases/, or a mutation of one that still loads)
   * is taken as it is: the corpus of cases seeds the scenario fuzzers, and
   * libFuzzer's mutations of a case explore its neighbourhood. Anything
   * else, including JSON the loader rejects, is decoded from the bytes. */
  if(size > 0 && data[0] == '{' && !(flags & ESMC_DECODE_SHAPE_FREE)) {
    struct esmc_load_error err;
    if(esmc_case_load_buf((const char *)data, size, "fuzz", out, &err) == 0) {
      /* A mutated case keeps its shape but not its author's intent: its
       * exact expectations and expected errors are dropped, and only the
       * properties judge it. A configuration the mapper rejects makes the
       * input uninteresting (esmc_fuzz_check). */
      esmc_expect_clear(&out->expect);
      for(i = 0; i < out->extra_count; i++)
        esmc_expect_clear(&out->extra[i].expect);
      for(i = 0; i < out->event_count; i++) {
        esmc_free(out->events[i].expect_error_code);
        out->events[i].expect_error_code = NULL;
      }
      if(swarm)
        *swarm = 0;
      return 0;
    }
  }
  memset(&d, 0, sizeof(d));
  esmc_fdp_init(&d.f, data, size);
  d.sc = sc;
  d.flags = flags;
  esmc_scenario_init(sc);
  /* The extension prefix (fuzz_decode.h) off the head, then the mask. */
  if(d.f.n >= 4 && d.f.p[0] == ESMC_SW_EXT_MAGIC0 &&
     d.f.p[1] == ESMC_SW_EXT2_MAGIC1) {
    d.sw = (((uint32_t)d.f.p[2] | (uint32_t)d.f.p[3] << 8) << 17) &
           ESMC_SW_EXT2_ALL;
    d.f.p += 4;
    d.f.n -= 4;
  } else if(d.f.n >= 3 && d.f.p[0] == ESMC_SW_EXT_MAGIC0 &&
     d.f.p[1] == ESMC_SW_EXT_MAGIC1) {
    d.sw = ((uint32_t)d.f.p[2] << 17) & ESMC_SW_EXT_ALL;
    d.f.p += 3;
    d.f.n -= 3;
  }
  d.sw |= R(&d, 0, ESMC_SW_ALL);
  if(swarm)
    *swarm = d.sw;
  sc->id = dup_str(&d, "fuzz");
  sc->description = dup_str(&d, "decoded from a fuzz input");
  sc->rules = esmc_calloc(1, sizeof(char *));
  sc->tags = esmc_calloc(1, sizeof(char *));
  if(!sc->rules || !sc->tags) {
    d.oom = 1;
  } else {
    sc->rules[sc->rule_count++] = dup_str(&d, "GEN-2");
    sc->tags[sc->tag_count++] = dup_str(&d, "fuzz");
  }
  sc->source = on(&d, ESMC_SW_DYNAMODB) ? ESMC_SOURCE_DYNAMODB : ESMC_SOURCE_KINESIS;
  if(on(&d, ESMC_SW_FIFO))
    sc->source = ESMC_SOURCE_SQS_FIFO;
  else if(on(&d, ESMC_SW_SQS))
    sc->source = ESMC_SOURCE_SQS;
  if(on(&d, ESMC_SW_SHARDS) && !is_queue(sc))
    sc->shard_count = (int32_t)R(&d, 2, 4);
  if(sc->source == ESMC_SOURCE_DYNAMODB) {
    esmc_free(sc->stream_view_type);
    sc->stream_view_type = dup_str(&d, view_types[R(&d, 0, 3)]);
  }
  decode_config(&d);
  if(!d.oom)
    decode_records(&d);
  if(!d.oom)
    decode_function(&d);
  if(!d.oom)
    decode_events(&d);
  if(!d.oom)
    decode_mappings(&d);
  if(!d.oom)
    decode_faults(&d);
  /* A record at or after the first reshard goes by its hash key (its
   * explicit shard may be closed by then). */
  for(i = 0; i < sc->event_count; i++)
    if(sc->events[i].kind >= ESMC_CASE_SPLIT) {
      size_t j;
      for(j = 0; j < sc->record_count; j++)
        if(sc->records[j].at_ms >= sc->events[i].at_ms)
          sc->records[j].shard = -1;
      break;
    }
  /* A bounded horizon keeps endless retries and polling cheap: the
   * scripted part plus one to ten minutes; shape-free runs get fifteen, time
   * for both adapters to finish their (finite) retries. */
  last = sc->create_at_ms;
  for(i = 0; i < sc->record_count; i++)
    if(sc->records[i].at_ms > last)
      last = sc->records[i].at_ms;
  for(i = 0; i < sc->event_count; i++)
    if(sc->events[i].at_ms > last)
      last = sc->events[i].at_ms;
  sc->run_until_ms = last + ((flags & ESMC_DECODE_SHAPE_FREE)
                                  ? 900000
                                  : 1000 * (int64_t)R(&d, 60, 600));
  sc->requires = esmc_scenario_needs(sc);
  if(d.oom) {
    esmc_scenario_free(sc);
    return -1;
  }
  return 0;
}

static uint64_t config_needs(const struct esmc_config_spec *c)
{
  uint64_t need = 0;
  if(c->enabled != ESMC_UNSET)
    need |= ESMC_CAP_ENABLED_FLAG;
  if(c->maximum_batching_window_s != ESMC_UNSET)
    need |= ESMC_CAP_BATCH_WINDOW;
  if(c->starting_position == ESMC_START_AT_TIMESTAMP)
    need |= ESMC_CAP_AT_TIMESTAMP;
  if(c->maximum_retry_attempts != ESMC_UNSET)
    need |= ESMC_CAP_RETRY_LIMIT;
  if(c->maximum_record_age_s != ESMC_UNSET)
    need |= ESMC_CAP_RECORD_AGE;
  if(c->bisect_batch_on_function_error != ESMC_UNSET)
    need |= ESMC_CAP_BISECT;
  if(c->function_response_types_given &&
     (c->function_response_types & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES))
    need |= ESMC_CAP_PARTIAL_BATCH;
  if(c->on_failure_destination && c->on_failure_destination[0])
    need |= strncmp(c->on_failure_destination, "arn:aws:s3:", 11) == 0
                ? ESMC_CAP_ON_FAILURE_S3
                : ESMC_CAP_ON_FAILURE;
  if(c->parallelization_factor != ESMC_UNSET && c->parallelization_factor > 1)
    need |= ESMC_CAP_PARALLELIZATION;
  if(c->filter_criteria_given && c->filter_count)
    need |= ESMC_CAP_FILTER;
  if(c->tumbling_window_s != ESMC_UNSET && c->tumbling_window_s > 0)
    need |= ESMC_CAP_TUMBLING_WINDOW;
  return need;
}

uint64_t esmc_scenario_needs(const struct esmc_scenario *sc)
{
  uint64_t need = config_needs(&sc->config);
  size_t i;
  for(i = 0; i < sc->extra_count; i++)
    need |= config_needs(&sc->extra[i].config);
  need |= sc->source == ESMC_SOURCE_DYNAMODB   ? ESMC_CAP_DYNAMODB
          : sc->source == ESMC_SOURCE_SQS      ? ESMC_CAP_SQS
          : sc->source == ESMC_SOURCE_SQS_FIFO ? ESMC_CAP_SQS_FIFO
                                               : ESMC_CAP_KINESIS;
  for(i = 0; i < sc->event_count; i++) {
    if(sc->events[i].kind == ESMC_CASE_UPDATE)
      need |= ESMC_CAP_UPDATE | config_needs(&sc->events[i].update);
    else if(sc->events[i].kind == ESMC_CASE_RESTART)
      need |= ESMC_CAP_RESTART;
    else if(sc->events[i].kind == ESMC_CASE_SPLIT ||
            sc->events[i].kind == ESMC_CASE_MERGE ||
            sc->events[i].kind == ESMC_CASE_ROLLOVER)
      need |= ESMC_CAP_RESHARDING;
  }
  if(sc->expect.config_error_code)
    need |= ESMC_CAP_VALIDATION;
  return need;
}

/* ------------------------------------------------------------------------ */
/* The oracle run.                                                           */

static const char *source_name(const struct esmc_scenario *sc)
{
  switch(sc->source) {
  case ESMC_SOURCE_DYNAMODB: return "dynamodb";
  case ESMC_SOURCE_SQS: return "sqs";
  case ESMC_SOURCE_SQS_FIFO: return "sqs_fifo";
  default: return "kinesis";
  }
}

int esmc_fuzz_check(const struct esmc_scenario *sc, const struct esmc_adapter *a,
                    uint64_t run_seed, struct esmc_fuzz_finding *f)
{
  struct esmc_run_opts ro;
  struct esmc_case_result r;
  const struct esmc_violation *v = NULL;
  size_t i;
  int rc;

  memset(f, 0, sizeof(*f));
  memset(&ro, 0, sizeof(ro));
  ro.adapter = a;
  ro.seed = run_seed;
  f->source = source_name(sc);
  rc = esmc_run_case_world(&ro, sc, &r, NULL);
  f->verdict = r.verdict;
  f->digest = r.digest;
  if(rc != 0 && r.verdict == ESMC_V_ERROR) {
    snprintf(f->message, sizeof(f->message), "%s", r.reason ? r.reason : "");
    esmc_case_result_free(&r);
    return -1;
  }
  if(r.verdict == ESMC_V_PASS || r.verdict == ESMC_V_UNSUPPORTED ||
     r.verdict == ESMC_V_SKIP) {
    esmc_case_result_free(&r);
    return 0;
  }
  /* Whether a configuration (or an update) is valid is the mapper's call
   * here: only the byte decoder promises valid ones, and a mutated JSON case
   * may be invalid. A finding is never a rejected configuration alone. */
  if(r.violations.n > 0) {
    size_t k, other = 0;
    for(k = 0; k < r.violations.n; k++)
      other += strcmp(r.violations.v[k].property, "config_validation") != 0;
    if(other == 0) {
      esmc_case_result_free(&r);
      return 0;
    }
  }
  for(i = 0; i < r.violations.n && !v; i++)
    if(r.violations.v[i].level == ESMC_MUST)
      v = &r.violations.v[i];
  if(!v && r.violations.n)
    v = &r.violations.v[0];
  if(v) {
    snprintf(f->property, sizeof(f->property), "%s", v->property);
    snprintf(f->message, sizeof(f->message), "%s", v->message ? v->message : "");
  } else {
    snprintf(f->property, sizeof(f->property), "verdict-%s",
             esmc_verdict_name(r.verdict));
    snprintf(f->message, sizeof(f->message), "%s", r.reason ? r.reason : "");
  }
  esmc_case_result_free(&r);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Shrinking. Candidates are deep copies (through the case text) with one
 * reduction applied; a candidate is kept when the same property fires.      */

static void free_strv(char **v, size_t n)
{
  size_t i;
  for(i = 0; v && i < n; i++)
    esmc_free(v[i]);
  esmc_free(v);
}

static void free_record(struct esmc_case_record *r)
{
  esmc_free(r->id);
  esmc_free(r->partition_key);
  esmc_free(r->data);
  esmc_free(r->keys_json);
  esmc_free(r->new_image_json);
  esmc_free(r->old_image_json);
  esmc_free(r->group);
  esmc_free(r->deduplication_id);
  free_strv(r->attr_names, r->attr_count);
  free_strv(r->attr_values, r->attr_count);
}

static void free_rule(struct esmc_fn_rule *r)
{
  free_strv(r->contains, r->contains_count);
  free_strv(r->keys, r->keys_count);
  esmc_free(r->invocations);
  esmc_free(r->response);
  free_strv(r->fail_items, r->fail_items_count);
  esmc_free(r->error_type);
  esmc_free(r->error_message);
}

static void remove_rule(struct esmc_fn_script *f, size_t i)
{
  free_rule(&f->rules[i]);
  memmove(&f->rules[i], &f->rules[i + 1], (f->rule_count - i - 1) * sizeof(*f->rules));
  f->rule_count--;
}

static void remove_event(struct esmc_scenario *sc, size_t i)
{
  esmc_config_spec_free(&sc->events[i].update);
  esmc_free(sc->events[i].expect_error_code);
  memmove(&sc->events[i], &sc->events[i + 1],
          (sc->event_count - i - 1) * sizeof(*sc->events));
  sc->event_count--;
}

/* Drop id from a string list (record references). */
static void drop_name(char **v, size_t *n, const char *id)
{
  size_t i = 0;
  while(i < *n) {
    if(strcmp(v[i], id) == 0) {
      esmc_free(v[i]);
      memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
      (*n)--;
    } else {
      i++;
    }
  }
}

/* Remove records [from, from + k) and every reference to them. */
static void remove_records(struct esmc_scenario *sc, size_t from, size_t k)
{
  size_t i, j;
  for(i = from; i < from + k; i++) {
    const char *id = sc->records[i].id;
    for(j = 0; j < sc->function.rule_count; j++) {
      struct esmc_fn_rule *r = &sc->function.rules[j];
      drop_name(r->contains, &r->contains_count, id);
    }
    drop_name(sc->expect.delivered, &sc->expect.delivered_count, id);
    drop_name(sc->expect.not_delivered, &sc->expect.not_delivered_count, id);
    free_record(&sc->records[i]);
  }
  memmove(&sc->records[from], &sc->records[from + k],
          (sc->record_count - from - k) * sizeof(*sc->records));
  sc->record_count -= k;
}

/* Simplifications of one rule, by index; 1 when something changed. */
#define RULE_STEPS 6
static int simplify_rule(struct esmc_fn_rule *r, unsigned step)
{
  switch(step) {
  case 0:
    if(!r->contains_count)
      return 0;
    free_strv(r->contains, r->contains_count);
    r->contains = NULL;
    r->contains_count = 0;
    return 1;
  case 1:
    if(!r->keys_count)
      return 0;
    free_strv(r->keys, r->keys_count);
    r->keys = NULL;
    r->keys_count = 0;
    return 1;
  case 2:
    if(!r->invocations_count)
      return 0;
    esmc_free(r->invocations);
    r->invocations = NULL;
    r->invocations_count = 0;
    return 1;
  case 3:
    if(r->attempt_min == ESMC_UNSET && r->attempt_max == ESMC_UNSET)
      return 0;
    r->attempt_min = r->attempt_max = ESMC_UNSET;
    return 1;
  case 4:
    if(!r->times)
      return 0;
    r->times = 0;
    return 1;
  default:
    if(r->duration_ms < 0)
      return 0;
    r->duration_ms = -1;
    return 1;
  }
}

#define CONFIG_STEPS 17
static int simplify_config(struct esmc_scenario *sc, unsigned step)
{
  struct esmc_config_spec *c = &sc->config;
  size_t i;
#define RESET(m, v)                                                            \
  do {                                                                         \
    if(c->m == (v))                                                            \
      return 0;                                                                \
    c->m = (v);                                                                \
    return 1;                                                                  \
  } while(0)
  switch(step) {
  case 0: RESET(maximum_batching_window_s, ESMC_UNSET);
  case 1: RESET(maximum_retry_attempts, ESMC_UNSET);
  case 2: RESET(maximum_record_age_s, ESMC_UNSET);
  case 3: RESET(bisect_batch_on_function_error, ESMC_UNSET);
  case 4: RESET(function_response_types_given, 0);
  case 5:
    if(!c->on_failure_destination)
      return 0;
    esmc_free(c->on_failure_destination);
    c->on_failure_destination = NULL;
    return 1;
  case 6: RESET(enabled, ESMC_UNSET);
  case 7: RESET(batch_size, ESMC_UNSET);
  case 8:
    if(c->starting_position == ESMC_START_TRIM_HORIZON || is_queue(sc))
      return 0;
    c->starting_position = ESMC_START_TRIM_HORIZON;
    c->starting_position_timestamp_given = 0;
    c->starting_position_timestamp_ms = 0;
    return 1;
  case 9:
    if(!sc->create_at_ms || c->starting_position_timestamp_given)
      return 0;
    sc->create_at_ms = 0;
    return 1;
  case 10:
    if(sc->shard_count == 1)
      return 0;
    sc->shard_count = 1;
    for(i = 0; i < sc->record_count; i++)
      sc->records[i].shard = -1;
    return 1;
  case 11:
    if(sc->function.timeout_s == 3)
      return 0;
    sc->function.timeout_s = 3;
    return 1;
  case 12:
    if(sc->function.default_duration_ms == 10)
      return 0;
    sc->function.default_duration_ms = 10;
    return 1;
  case 13: RESET(parallelization_factor, ESMC_UNSET);
  case 14: RESET(tumbling_window_s, ESMC_UNSET);
  case 15:
    if(!c->filter_criteria_given)
      return 0;
    free_strv(c->filter_patterns, c->filter_count);
    c->filter_patterns = NULL;
    c->filter_count = 0;
    c->filter_criteria_given = 0;
    return 1;
  default:
    if(is_queue(sc)) /* a message body must not be empty */
      return 0;
    for(i = 0; i < sc->record_count; i++)
      if(sc->records[i].data_len) {
        esmc_free(sc->records[i].data);
        sc->records[i].data = NULL;
        sc->records[i].data_len = 0;
        return 1;
      }
    return 0;
  }
#undef RESET
}

struct shrinker {
  const struct esmc_adapter *a;
  uint64_t seed;
  const char *property;
  unsigned budget, runs;
  int oom;
};

/* Keep cand in *sc when the property still fires; frees what is dropped. */
static int try_candidate(struct shrinker *s, struct esmc_scenario *sc,
                         struct esmc_scenario *cand)
{
  struct esmc_fuzz_finding f;
  int keep;
  s->runs++;
  cand->requires = esmc_scenario_needs(cand);
  keep = esmc_fuzz_check(cand, s->a, s->seed, &f) == 1 &&
         strcmp(f.property, s->property) == 0;
  if(keep) {
    esmc_scenario_free(sc);
    *sc = *cand;
  } else {
    esmc_scenario_free(cand);
  }
  return keep;
}

static int clone_or_oom(struct shrinker *s, const struct esmc_scenario *sc,
                        struct esmc_scenario *cand)
{
  if(esmc_scenario_clone(sc, cand) == 0)
    return 0;
  s->oom = 1;
  return -1;
}

int esmc_fuzz_shrink(struct esmc_scenario *sc, const struct esmc_adapter *a,
                     uint64_t run_seed, const char *property, unsigned budget)
{
  struct shrinker s;
  struct esmc_scenario cand;
  int progress = 1, accepted = 0;
  size_t i, chunk;

  memset(&s, 0, sizeof(s));
  s.a = a;
  s.seed = run_seed;
  s.property = property;
  s.budget = budget;
  while(progress && s.runs < s.budget && !s.oom) {
    progress = 0;
    /* Events, last first (later events depend on earlier ones less). */
    for(i = sc->event_count; i-- > 0 && s.runs < s.budget;) {
      if(clone_or_oom(&s, sc, &cand))
        break;
      remove_event(&cand, i);
      if(try_candidate(&s, sc, &cand))
        progress = ++accepted;
    }
    /* Records: chunks of halving size (ddmin's complement step). */
    for(chunk = sc->record_count / 2 ? sc->record_count / 2 : 1; chunk >= 1;
        chunk /= 2) {
      i = 0;
      while(i < sc->record_count && s.runs < s.budget) {
        size_t k = sc->record_count - i < chunk ? sc->record_count - i : chunk;
        if(clone_or_oom(&s, sc, &cand))
          break;
        remove_records(&cand, i, k);
        if(try_candidate(&s, sc, &cand))
          progress = ++accepted;
        else
          i += k;
      }
      if(chunk == 1)
        break;
    }
    for(i = sc->function.rule_count; i-- > 0 && s.runs < s.budget;) {
      if(clone_or_oom(&s, sc, &cand))
        break;
      remove_rule(&cand.function, i);
      if(try_candidate(&s, sc, &cand))
        progress = ++accepted;
    }
    for(i = 0; i < sc->function.rule_count * RULE_STEPS && s.runs < s.budget; i++) {
      if(clone_or_oom(&s, sc, &cand))
        break;
      if(!simplify_rule(&cand.function.rules[i / RULE_STEPS], (unsigned)(i % RULE_STEPS))) {
        esmc_scenario_free(&cand);
        continue;
      }
      if(try_candidate(&s, sc, &cand))
        progress = ++accepted;
    }
    for(i = 0; i < CONFIG_STEPS && s.runs < s.budget; i++) {
      if(clone_or_oom(&s, sc, &cand))
        break;
      if(!simplify_config(&cand, (unsigned)i)) {
        esmc_scenario_free(&cand);
        continue;
      }
      if(try_candidate(&s, sc, &cand))
        progress = ++accepted;
    }
  }
  sc->requires = esmc_scenario_needs(sc);
  return s.oom ? -1 : accepted;
}

/* ------------------------------------------------------------------------ */
/* fuzz-to-case.                                                             */

struct prop_info {
  const char *name, *rules, *summary;
};
static const struct prop_info props[] = {
#define ESMC_PROPERTY(name, rules, level, summary) {#name, rules, summary},
#include "properties.def"
#undef ESMC_PROPERTY
};

static const struct prop_info *prop_find(const char *name)
{
  size_t i;
  for(i = 0; i < COUNT_OF(props); i++)
    if(strcmp(props[i].name, name) == 0)
      return &props[i];
  return NULL;
}

/* Fill id, description, rules and tags of a found scenario. */
static int describe(struct esmc_scenario *sc, const char *id, const char *property,
                    const char *adapter_label)
{
  const struct prop_info *p = prop_find(property);
  const char *rules = p && p->rules[0] ? p->rules
                      : strcmp(property, "verdict-timeout") == 0 ? "LIVE-1"
                                                                  : "GEN-1";
  const char *src = source_name(sc);
  /* Tags are [a-z0-9-]+. */
  const char *tag = sc->source == ESMC_SOURCE_SQS_FIFO ? "sqs-fifo" : src;
  struct esmc_buf b;
  const char *q;
  size_t n = 1;

  esmc_free(sc->id);
  sc->id = esmc_strdup(id);
  esmc_buf_init(&b);
  esmc_buf_printf(&b, "Found by scenario_fuzzer against %s and shrunk by "
                  "fuzz-to-case: reproduces a violation of %s (%s) with a %s "
                  "source.", adapter_label, property,
                  p ? p->summary : "the run did not end in a verdict",
                  src);
  esmc_free(sc->description);
  sc->description = b.data;
  free_strv(sc->rules, sc->rule_count);
  for(q = rules; *q; q++)
    n += *q == ' ';
  sc->rules = esmc_calloc(n, sizeof(char *));
  sc->rule_count = 0;
  for(q = rules; sc->rules && *q;) {
    size_t len = strcspn(q, " ");
    if(len)
      sc->rules[sc->rule_count++] = esmc_strndup(q, len);
    q += len;
    q += *q == ' ';
  }
  free_strv(sc->tags, sc->tag_count);
  sc->tags = esmc_calloc(2, sizeof(char *));
  sc->tag_count = 0;
  if(sc->tags) {
    sc->tags[sc->tag_count++] = esmc_strdup("fuzz");
    sc->tags[sc->tag_count++] = esmc_strdup(tag);
  }
  sc->requires = esmc_scenario_needs(sc);
  return sc->id && sc->description && sc->rules && sc->tags ? 0 : -1;
}

int esmc_fuzz_to_case(const uint8_t *data, size_t size,
                      const struct esmc_adapter *a, const char *adapter_label,
                      const char *outdir, char *path, size_t n,
                      char *property, size_t m)
{
  struct esmc_scenario sc, back;
  struct esmc_fuzz_finding f;
  struct esmc_load_error err;
  char slug[64], id[128], prop[64];
  uint32_t hash = (uint32_t)esmc_fnv1a(ESMC_FNV_INIT, data, size);
  unsigned k;
  size_t i;
  int rc;

  if(n)
    path[0] = '\0';
  if(m)
    property[0] = '\0';
  if(esmc_fuzz_decode(data, size, 0, &sc, NULL)) {
    snprintf(path, n, "out of memory decoding the input");
    return -1;
  }
  rc = esmc_fuzz_check(&sc, a, ESMC_FUZZ_RUN_SEED, &f);
  if(rc <= 0) {
    snprintf(path, n, rc < 0 ? "the harness failed: %s"
                             : "no violation: the run passes%s", f.message);
    esmc_scenario_free(&sc);
    return rc < 0 ? -1 : 1;
  }
  snprintf(prop, sizeof(prop), "%s", f.property);
  snprintf(property, m, "%s", prop);
  snprintf(slug, sizeof(slug), "%s", prop);
  for(i = 0; slug[i]; i++)
    if(slug[i] == '_')
      slug[i] = '-';
  /* The case's id seeds its run: find an id under which it reproduces. */
  for(k = 0; k < 16; k++) {
    if(k)
      snprintf(id, sizeof(id), "fuzz-%s-%08" PRIx32 "-%u", slug, hash, k + 1);
    else
      snprintf(id, sizeof(id), "fuzz-%s-%08" PRIx32, slug, hash);
    if(describe(&sc, id, prop, adapter_label)) {
      esmc_scenario_free(&sc);
      snprintf(path, n, "out of memory");
      return -1;
    }
    if(esmc_fuzz_check(&sc, a, ESMC_FUZZ_RUN_SEED, &f) == 1 &&
       strcmp(f.property, prop) == 0)
      break;
  }
  if(k == 16) {
    snprintf(path, n, "the violation of %s does not reproduce under a case id",
             prop);
    esmc_scenario_free(&sc);
    return -1;
  }
  if(esmc_fuzz_shrink(&sc, a, ESMC_FUZZ_RUN_SEED, prop, 2000) < 0) {
    snprintf(path, n, "out of memory while shrinking");
    esmc_scenario_free(&sc);
    return -1;
  }
  snprintf(path, n, "%s/%s.json", outdir && outdir[0] ? outdir : ".", id);
  if(esmc_case_write_file(&sc, path)) {
    snprintf(path, n, "cannot write the case to %s/%s.json",
             outdir && outdir[0] ? outdir : ".", id);
    esmc_scenario_free(&sc);
    return -1;
  }
  esmc_scenario_free(&sc);
  /* The written case must load and still show the violation. */
  if(esmc_case_load_file(path, &back, &err)) {
    char msg[1200];
    esmc_load_error_format(&err, msg, sizeof(msg));
    snprintf(path, n, "the written case does not load: %.400s", msg);
    return -1;
  }
  rc = esmc_fuzz_check(&back, a, ESMC_FUZZ_RUN_SEED, &f);
  esmc_scenario_free(&back);
  if(rc != 1 || strcmp(f.property, prop) != 0) {
    snprintf(path, n, "the written case does not reproduce %s", prop);
    return -1;
  }
  return 0;
}

/* check_fixture.c: scenario, world and history builders for checker tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "check_fixture.h"

static char *fx_strdup(const char *s)
{
  char *p = esmc_strdup(s);
  assert_non_null(p);
  return p;
}

void fx_scenario(struct fx *f, enum esmc_source source, int32_t shards)
{
  memset(f, 0, sizeof(*f));
  esmc_scenario_init(&f->sc);
  f->sc.source = source;
  f->sc.shard_count = shards;
  f->sc.config.starting_position = ESMC_START_TRIM_HORIZON;
  f->sc.id = fx_strdup("fixture");
}

size_t fx_add_record(struct fx *f, const char *key, int64_t at_ms,
                     int32_t shard)
{
  struct esmc_case_record *r;
  char id[32];
  size_t n = f->sc.record_count;
  assert_null(f->w);
  if((n & (n - 1)) == 0) {
    /* Grow to the next power of two: the capacity is implied by n. */
    r = esmc_realloc(f->sc.records, (n ? 2 * n : 1) * sizeof(*r));
    assert_non_null(r);
    f->sc.records = r;
  }
  r = &f->sc.records[n];
  memset(r, 0, sizeof(*r));
  snprintf(id, sizeof(id), "r%zu", n + 1);
  r->id = fx_strdup(id);
  r->at_ms = at_ms;
  r->shard = shard;
  r->partition_key = fx_strdup(key ? key : "k1");
  r->data = (uint8_t *)fx_strdup("{}");
  r->data_len = 2;
  if(f->sc.source == ESMC_SOURCE_DYNAMODB) {
    char keys[96];
    snprintf(keys, sizeof(keys), "{\"id\":{\"S\":\"%s\"}}", key ? key : "k1");
    r->event_name = ESMC_DDB_INSERT;
    r->keys_json = fx_strdup(keys);
    r->new_image_json = fx_strdup(keys);
  }
  f->sc.record_count = n + 1;
  return n;
}

void fx_add_records(struct fx *f, size_t n, int32_t shard, int64_t at_ms,
                    const char *key)
{
  size_t i;
  for(i = 0; i < n; i++)
    fx_add_record(f, key, at_ms, shard);
}

size_t fx_add_update(struct fx *f, int64_t at_ms,
                     const char *expect_error_code)
{
  struct esmc_case_event *e;
  size_t n = f->sc.event_count;
  assert_null(f->w);
  e = esmc_realloc(f->sc.events, (n + 1) * sizeof(*e));
  assert_non_null(e);
  f->sc.events = e;
  e = &f->sc.events[n];
  memset(e, 0, sizeof(*e));
  e->at_ms = at_ms;
  e->kind = ESMC_CASE_UPDATE;
  esmc_config_spec_init(&e->update);
  if(expect_error_code)
    e->expect_error_code = fx_strdup(expect_error_code);
  f->sc.event_count = n + 1;
  return n;
}

struct esmc_config_spec *fx_update_spec(struct fx *f, size_t event_index)
{
  assert_true(event_index < f->sc.event_count);
  return &f->sc.events[event_index].update;
}

void fx_set_destination(struct fx *f, const char *arn)
{
  esmc_free(f->sc.config.on_failure_destination);
  f->sc.config.on_failure_destination = fx_strdup(arn);
}

static size_t add_case_event(struct fx *f, enum esmc_case_event_kind kind,
                             int64_t at_ms)
{
  struct esmc_case_event *e;
  size_t n = f->sc.event_count;
  assert_null(f->w);
  e = esmc_realloc(f->sc.events, (n + 1) * sizeof(*e));
  assert_non_null(e);
  f->sc.events = e;
  e = &f->sc.events[n];
  esmc_case_event_init(e);
  e->at_ms = at_ms;
  e->kind = kind;
  f->sc.event_count = n + 1;
  return n;
}

size_t fx_add_fault(struct fx *f, int64_t at_ms, uint32_t calls,
                    int32_t error, int64_t until_ms, int32_t mapping,
                    int32_t every)
{
  size_t k = add_case_event(f, ESMC_CASE_FAULT, at_ms);
  struct esmc_fault_spec *fs = &f->sc.events[k].fault;
  fs->calls = calls;
  fs->error = (esmc_status)error;
  fs->until_ms = until_ms;
  fs->mapping = mapping;
  fs->every = every;
  return k;
}

size_t fx_add_trim(struct fx *f, int64_t at_ms, int32_t shard,
                   int64_t before_ms)
{
  size_t k = add_case_event(f, ESMC_CASE_TRIM, at_ms);
  f->sc.events[k].shards[0] = shard;
  f->sc.events[k].trim_before_ms = before_ms;
  return k;
}

size_t fx_add_mapping(struct fx *f, const char *name)
{
  struct esmc_mapping_spec *m;
  size_t n = f->sc.extra_count;
  assert_null(f->w);
  m = esmc_realloc(f->sc.extra, (n + 1) * sizeof(*m));
  assert_non_null(m);
  f->sc.extra = m;
  m = &f->sc.extra[n];
  memset(m, 0, sizeof(*m));
  m->name = fx_strdup(name);
  esmc_config_spec_init(&m->config);
  m->config.starting_position = f->sc.config.starting_position;
  m->expect.invocation_count = ESMC_UNSET;
  f->sc.extra_count = n + 1;
  return n + 1;
}

void fx_build(struct fx *f)
{
  assert_null(f->w);
  assert_int_equal(esmc_world_new(&f->sc, 1, &f->w), 0);
  assert_non_null(f->w);
}

void fx_free(struct fx *f)
{
  esmc_violations_free(&f->v);
  esmc_world_free(f->w);
  f->w = NULL;
  esmc_scenario_free(&f->sc);
}

/* ------------------------------------------------------------------------ */

static size_t add(struct esmc_world *w, struct esmc_hevent *e,
                  const char *text, size_t text_len, const char *text2,
                  const char *text3)
{
  long i;
  if(text && text_len == 0)
    text_len = strlen(text);
  i = esmc_history_add(&w->hist, e, text, text_len, text2, text3);
  assert_true(i >= 0);
  if(e->t > w->now)
    w->now = e->t;
  return (size_t)i;
}

static void ev_init(struct esmc_hevent *e, int64_t t, enum esmc_hkind kind)
{
  memset(e, 0, sizeof(*e));
  e->t = t;
  e->kind = (uint32_t)kind;
  e->shard = ESMC_NO_SHARD;
}

size_t fx_append(struct esmc_world *w, int64_t t, uint32_t shard,
                 uint32_t first, uint32_t count)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_APPEND);
  e.shard = shard;
  e.a = first;
  e.b = count;
  return add(w, &e, NULL, 0, NULL, NULL);
}

void fx_append_between(struct esmc_world *w, int64_t from, int64_t to)
{
  /* Records of one shard are in time order, so walk all shards together by
   * time: repeatedly append the earliest pending record's run. */
  uint32_t *next = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*next));
  uint32_t s;
  assert_non_null(next);
  for(s = 0; s < w->nshards; s++)
    while(next[s] < w->shards[s].n &&
          w->records[w->shards[s].rids[next[s]]].at_ms <= from)
      next[s]++;
  for(;;) {
    uint32_t best = UINT32_MAX, first, count;
    int64_t bt = 0;
    for(s = 0; s < w->nshards; s++) {
      const struct esmc_wrecord *r;
      if(next[s] >= w->shards[s].n)
        continue;
      r = &w->records[w->shards[s].rids[next[s]]];
      if(r->at_ms > to)
        continue;
      if(best == UINT32_MAX || r->at_ms < bt) {
        best = s;
        bt = r->at_ms;
      }
    }
    if(best == UINT32_MAX)
      break;
    first = next[best];
    count = 0;
    while(next[best] < w->shards[best].n &&
          w->records[w->shards[best].rids[next[best]]].at_ms == bt) {
      next[best]++;
      count++;
    }
    fx_append(w, bt, best, first, count);
  }
  esmc_free(next);
}

size_t fx_create(struct esmc_world *w, int64_t t, int32_t status,
                 const char *text)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_CREATE);
  e.status = status;
  return add(w, &e, text, 0, NULL, NULL);
}

size_t fx_destroy(struct esmc_world *w, int64_t t, int restart)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_DESTROY);
  e.a = restart;
  return add(w, &e, NULL, 0, NULL, NULL);
}

size_t fx_iterator(struct esmc_world *w, int64_t t, uint32_t shard,
                   enum esmc_iterator_type type, int64_t b)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_GET_ITERATOR);
  e.shard = shard;
  e.a = type;
  e.b = b;
  e.id = w->hist.n + 1000;
  return add(w, &e, NULL, 0, NULL, NULL);
}

static uint64_t invoke(struct esmc_world *w, int64_t t, uint32_t shard,
                       const uint32_t *rids, uint32_t n, const char *problem)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_INVOKE);
  e.shard = shard;
  e.rids = (uint32_t *)rids;
  e.nrids = n;
  e.a = 100 * (int64_t)n;
  e.b = 1;
  e.id = w->hist.n + 1; /* unique and non-zero */
  add(w, &e, problem, 0, NULL, NULL);
  return e.id;
}

uint64_t fx_invoke(struct esmc_world *w, int64_t t, uint32_t shard,
                   const uint32_t *rids, uint32_t n)
{
  return invoke(w, t, shard, rids, n, NULL);
}

/* Parse "r1 r2 r3" into rids (cap entries); returns the count and the shard
 * (ESMC_NO_SHARD when mixed or empty). */
static uint32_t parse_names(const struct esmc_world *w, const char *names,
                            uint32_t *rids, uint32_t cap, uint32_t *shard)
{
  uint32_t n = 0;
  const char *p = names;
  *shard = ESMC_NO_SHARD;
  while(*p) {
    char id[32];
    size_t len = 0;
    uint32_t rid;
    while(*p == ' ')
      p++;
    if(!*p)
      break;
    while(p[len] && p[len] != ' ')
      len++;
    assert_true(len < sizeof(id));
    memcpy(id, p, len);
    id[len] = '\0';
    p += len;
    rid = fx_rid(w, id);
    assert_true(n < cap);
    if(n == 0)
      *shard = w->records[rid].shard;
    else if(*shard != w->records[rid].shard)
      *shard = ESMC_NO_SHARD;
    rids[n++] = rid;
  }
  return n;
}

uint64_t fx_invoke_names(struct esmc_world *w, int64_t t, const char *names)
{
  uint32_t rids[256], shard, n;
  n = parse_names(w, names, rids, 256, &shard);
  return invoke(w, t, shard, rids, n, NULL);
}

uint64_t fx_invoke_bad(struct esmc_world *w, int64_t t, const char *names,
                       const char *problem)
{
  uint32_t rids[256], shard, n;
  n = parse_names(w, names, rids, 256, &shard);
  return invoke(w, t, shard, rids, n, problem);
}

size_t fx_complete(struct esmc_world *w, int64_t t, uint64_t inv,
                   enum esmc_invoke_outcome outcome, int32_t http,
                   const char *response, const char *function_error)
{
  struct esmc_hevent e;
  size_t i, at = SIZE_MAX;
  for(i = 0; i < w->hist.n; i++)
    if(w->hist.ev[i].kind == ESMC_H_INVOKE && w->hist.ev[i].id == inv)
      at = i;
  assert_true(at != SIZE_MAX);
  ev_init(&e, t, ESMC_H_COMPLETE);
  e.id = inv;
  e.a = outcome;
  e.status = http;
  e.b = (int64_t)at;
  e.shard = w->hist.ev[at].shard;
  return add(w, &e, response ? response : "", response ? strlen(response) : 0,
             function_error, NULL);
}

size_t fx_ok(struct esmc_world *w, int64_t t, uint64_t inv)
{
  return fx_complete(w, t, inv, ESMC_INVOKE_OK, 200, "", NULL);
}

size_t fx_fail(struct esmc_world *w, int64_t t, uint64_t inv)
{
  return fx_complete(w, t, inv, ESMC_INVOKE_FUNCTION_ERROR, 200,
                     "{\"errorMessage\":\"boom\",\"errorType\":\"Error\"}",
                     "Unhandled");
}

size_t fx_checkpoint(struct esmc_world *w, int64_t t, uint32_t shard,
                     const char *seq)
{
  struct esmc_hevent e;
  uint32_t k;
  ev_init(&e, t, ESMC_H_CHECKPOINT);
  e.shard = shard;
  e.a = -1;
  if(shard < w->nshards)
    for(k = 0; k < w->shards[shard].n; k++)
      if(esmc_seq_cmp(w->records[w->shards[shard].rids[k]].seq, seq) <= 0)
        e.a = k;
  return add(w, &e, seq, strlen(seq), NULL, NULL);
}

size_t fx_checkpoint_id(struct esmc_world *w, int64_t t, const char *id)
{
  const struct esmc_wrecord *r = &w->records[fx_rid(w, id)];
  return fx_checkpoint(w, t, r->shard, r->seq);
}

size_t fx_dest_status(struct esmc_world *w, int64_t t, int32_t status,
                      const char *arn, const char *payload)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_DEST_SEND);
  e.status = status;
  return add(w, &e, payload, strlen(payload), arn, NULL);
}

size_t fx_dest(struct esmc_world *w, int64_t t, const char *arn,
               const char *payload)
{
  return fx_dest_status(w, t, 0, arn, payload);
}

void fx_dest_payload(const struct esmc_world *w, struct esmc_buf *out,
                     const char *condition, const char *first_id,
                     const char *last_id, int invoke_count,
                     const char *function_error)
{
  const struct esmc_wrecord *a = &w->records[fx_rid(w, first_id)];
  const struct esmc_wrecord *b = &w->records[fx_rid(w, last_id)];
  int ddb = w->sc->source == ESMC_SOURCE_DYNAMODB;
  esmc_buf_reset(out);
  esmc_buf_printf(out,
                  "{\"requestContext\":{\"requestId\":\"c0ffee00-0000-4000-"
                  "8000-000000000001\",\"functionArn\":\"%s\",\"condition\":"
                  "\"%s\",\"approximateInvokeCount\":%d},",
                  w->function_arn, condition, invoke_count);
  if(function_error) {
    esmc_buf_puts(out, "\"responseContext\":{\"statusCode\":200,"
                       "\"executedVersion\":\"$LATEST\",\"functionError\":");
    if(strcmp(function_error, "null") == 0)
      esmc_buf_puts(out, "null},");
    else
      esmc_buf_printf(out, "\"%s\"},", function_error);
  }
  esmc_buf_puts(out, "\"version\":\"1.0\",\"timestamp\":\"");
  esmc_buf_iso8601(out, w->epoch_ms + w->now, 1);
  esmc_buf_printf(out, "\",\"%s\":{\"shardId\":\"%s\",",
                  ddb ? "DDBStreamBatchInfo" : "KinesisBatchInfo",
                  w->shards[a->shard].id);
  esmc_buf_printf(out, "\"startSequenceNumber\":\"%s\",\"endSequenceNumber\":"
                  "\"%s\",\"approximateArrivalOfFirstRecord\":\"",
                  a->seq, b->seq);
  esmc_buf_iso8601(out, w->epoch_ms + a->at_ms, !ddb);
  esmc_buf_puts(out, "\",\"approximateArrivalOfLastRecord\":\"");
  esmc_buf_iso8601(out, w->epoch_ms + b->at_ms, !ddb);
  esmc_buf_printf(out, "\",\"batchSize\":%u,\"streamArn\":\"%s\"}}",
                  b->index - a->index + 1, w->stream_arn);
  assert_false(out->oom);
}

size_t fx_update(struct esmc_world *w, int64_t t, size_t event_index,
                 int32_t status, const char *text)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_UPDATE);
  e.status = status;
  e.a = (int64_t)event_index;
  return add(w, &e, text, 0, NULL, NULL);
}

size_t fx_end(struct esmc_world *w, int64_t t, int reason)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_END);
  e.a = reason;
  return add(w, &e, NULL, 0, NULL, NULL);
}

size_t fx_fault(struct esmc_world *w, int64_t t, size_t event_index,
                int healed, uint32_t mapping)
{
  struct esmc_hevent e;
  assert_true(event_index < w->sc->event_count);
  ev_init(&e, t, ESMC_H_FAULT);
  e.mapping = mapping;
  e.id = (uint64_t)healed;
  e.a = w->sc->events[event_index].kind;
  e.b = (int64_t)event_index;
  return add(w, &e, NULL, 0, NULL, NULL);
}

size_t fx_call(struct esmc_world *w, int64_t t, enum esmc_hkind kind,
               uint32_t shard, int32_t status)
{
  struct esmc_hevent e;
  ev_init(&e, t, kind);
  e.shard = shard;
  e.status = status;
  return add(w, &e, NULL, 0, NULL, NULL);
}

size_t fx_get_records(struct esmc_world *w, int64_t t, uint32_t shard,
                      int32_t status, int64_t first, int64_t count)
{
  struct esmc_hevent e;
  ev_init(&e, t, ESMC_H_GET_RECORDS);
  e.shard = shard;
  e.status = status;
  e.id = 1;
  e.a = first;
  e.b = count;
  return add(w, &e, NULL, 0, NULL, NULL);
}

void fx_by(struct esmc_world *w, uint32_t mapping)
{
  assert_true(w->hist.n > 0);
  w->hist.ev[w->hist.n - 1].mapping = mapping;
}

uint32_t fx_rid(const struct esmc_world *w, const char *id)
{
  const struct esmc_wrecord *r = esmc_world_record_by_id(w, id);
  if(!r)
    fail_msg("no record %s in the fixture", id);
  return r->rid;
}

const char *fx_seq(const struct esmc_world *w, const char *id)
{
  return w->records[fx_rid(w, id)].seq;
}

void fx_start(struct fx *f)
{
  struct esmc_world *w = f->w;
  uint32_t s;
  fx_append_between(w, INT64_MIN, 0);
  fx_create(w, 0, ESMC_OK, NULL);
  for(s = 0; s < w->nshards; s++) {
    const struct esmc_wshard *sh = &w->shards[s];
    uint32_t b = 0;
    switch(f->sc.config.starting_position) {
    case ESMC_START_LATEST:
      while(b < sh->n && w->records[sh->rids[b]].at_ms <= 0)
        b++;
      fx_iterator(w, 0, s, ESMC_ITER_LATEST, b);
      break;
    case ESMC_START_AT_TIMESTAMP:
      while(b < sh->n && w->records[sh->rids[b]].at_ms <
                             f->sc.config.starting_position_timestamp_ms)
        b++;
      fx_iterator(w, 0, s, ESMC_ITER_AT_TIMESTAMP, b);
      break;
    default:
      fx_iterator(w, 0, s, ESMC_ITER_TRIM_HORIZON, 0);
      break;
    }
  }
}

/* ------------------------------------------------------------------------ */

const struct esmc_violation *fx_check(struct fx *f, const char *property)
{
  size_t i;
  esmc_violations_free(&f->v);
  assert_int_equal(esmc_check_one(property, f->w, &f->outcome, &f->v), 0);
  for(i = 0; i < f->v.n; i++)
    if(strcmp(f->v.v[i].property, property) == 0)
      return &f->v.v[i];
  return NULL;
}

void fx_assert_fires(struct fx *f, const char *property, ...)
{
  const struct esmc_violation *v = fx_check(f, property);
  va_list ap;
  const char *want;
  if(!v)
    fail_msg("%s stayed quiet", property);
  va_start(ap, property);
  while((want = va_arg(ap, const char *)) != NULL) {
    if(!strstr(v->message, want)) {
      va_end(ap);
      fail_msg("%s: message lacks \"%s\": %s", property, want, v->message);
    }
  }
  va_end(ap);
}

void fx_assert_quiet(struct fx *f, const char *property)
{
  const struct esmc_violation *v = fx_check(f, property);
  if(v)
    fail_msg("%s fired: %s", property, v->message);
}

/*
 * test_reference_sqs.c: the reference mapper's SQS poller against an
 * in-test fake host: a virtual clock, timers, a standard or FIFO queue
 * (visibility timeout, receive counts, long polling, FIFO group blocking)
 * and a scripted function.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "esmcheck_adapter.h"
#include "ref_internal.h"

const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

#define T0 ((esmc_time_ms)1700000000000)
#define MAXMSG 4096
#define MAXEV 8192
#define MAXINV 4096

/* ------------------------------------------------------------------------ */
/* The fake world. */

struct fmsg {
  char id[32];
  char *body;
  size_t body_len;
  char group[16];
  char seq[16];
  esmc_time_ms visible_at;
  int inflight;
  int deleted;
  uint32_t receives;
  char handle[48];
  int with_attrs;
  uint64_t taken_by; /* the receive that last took it */
};

enum fev_kind { FEV_TIMER, FEV_RECEIVE, FEV_INVOKE };

struct fev {
  int live;
  enum fev_kind kind;
  esmc_time_ms at;
  uint64_t seq;
  uint64_t id;          /* timer token, receive or invocation handle */
  esmc_time_ms deadline; /* receives */
  uint32_t max;
  int32_t vis;
};

struct finv {
  esmc_invocation h;
  esmc_time_ms at, done_at;
  char *payload;
  size_t len;
  char ids[16][32]; /* first messageIds */
  size_t n;
  int done;
  enum esmc_invoke_outcome outcome; /* decided at the first dispatch */
  const char *resp;                 /* static text */
};

/* The function: decides the outcome of invocation k. */
struct fresp {
  enum esmc_invoke_outcome outcome;
  const char *body;
  esmc_time_ms duration;
};
typedef void (*ffn)(const struct finv *inv, size_t k, struct fresp *out);

struct fake {
  struct esmc_host host;
  const struct esmc_adapter *ad;
  void *mapper;
  esmc_time_ms now;
  uint64_t seq, handles;
  int fifo;
  int32_t vis_s;
  struct fmsg msgs[MAXMSG];
  size_t nmsg;
  struct fev ev[MAXEV];
  size_t nev;
  struct finv inv[MAXINV];
  size_t ninv;
  int inflight, max_inflight;
  esmc_time_ms mark;   /* when set: the watch below starts here */
  uint32_t max_ask;    /* the largest receive max_messages since mark */
  int max_after;       /* the most invocations in flight since mark */
  size_t deletes, bad_deletes;
  ffn fn;
  /* Every esmc_message handed out (alive until the end). */
  struct esmc_message **given;
  size_t ngiven, capgiven;
  char *rh_owned[MAXEV];
  size_t nrh;
};

static struct fake *F;

static esmc_time_ms f_now(void *ctx)
{
  return ((struct fake *)ctx)->now;
}

static struct fev *f_push(struct fake *f, enum fev_kind kind, esmc_time_ms at,
                          uint64_t id)
{
  struct fev *e;

  assert_true(f->nev < MAXEV);
  e = &f->ev[f->nev++];
  memset(e, 0, sizeof(*e));
  e->live = 1;
  e->kind = kind;
  e->at = at;
  e->id = id;
  e->seq = f->seq++;
  return e;
}

static esmc_status f_set_timer(void *ctx, esmc_time_ms at, uint64_t token)
{
  struct fake *f = ctx;
  size_t i;

  for(i = 0; i < f->nev; i++)
    if(f->ev[i].live && f->ev[i].kind == FEV_TIMER && f->ev[i].id == token)
      f->ev[i].live = 0;
  f_push(f, FEV_TIMER, at, token);
  return ESMC_OK;
}

static esmc_status f_cancel_timer(void *ctx, uint64_t token)
{
  struct fake *f = ctx;
  size_t i;

  for(i = 0; i < f->nev; i++)
    if(f->ev[i].live && f->ev[i].kind == FEV_TIMER && f->ev[i].id == token) {
      f->ev[i].live = 0;
      return ESMC_OK;
    }
  return ESMC_E_NOT_FOUND;
}

static void f_log(void *ctx, enum esmc_log_level level, const char *msg)
{
  (void)ctx;
  (void)level;
  (void)msg;
}

static esmc_status f_attrs(void *ctx, struct esmc_queue_attributes *out)
{
  struct fake *f = ctx;

  memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(*out);
  out->fifo = f->fifo;
  out->visibility_timeout_s = f->vis_s;
  out->message_retention_s = 345600;
  return ESMC_OK;
}

static esmc_status f_receive(void *ctx, uint32_t max, int32_t wait,
                             int32_t vis, esmc_receive *out)
{
  struct fake *f = ctx;
  struct fev *e;

  assert_true(max >= 1 && max <= 10);
  assert_true(wait >= 0 && wait <= 20);
  if(f->mark && f->now >= f->mark && max > f->max_ask)
    f->max_ask = max;
  *out = ++f->handles;
  e = f_push(f, FEV_RECEIVE, f->now, *out);
  e->deadline = f->now + (esmc_time_ms)wait * 1000;
  e->max = max;
  e->vis = vis < 0 ? f->vis_s : vis;
  return ESMC_OK;
}

static esmc_status f_delete(void *ctx, const char *rh)
{
  struct fake *f = ctx;
  size_t i;

  for(i = 0; i < f->nmsg; i++)
    if(f->msgs[i].handle[0] && strcmp(f->msgs[i].handle, rh) == 0) {
      /* Deleting after the visibility expired: a stale-but-latest handle
       * still deletes in SQS; count it. */
      if(!f->msgs[i].inflight)
        f->bad_deletes++;
      f->msgs[i].deleted = 1;
      f->msgs[i].inflight = 0;
      f->deletes++;
      return ESMC_OK;
    }
  return ESMC_OK;
}

static esmc_status f_change_vis(void *ctx, const char *rh, int32_t s)
{
  struct fake *f = ctx;
  size_t i;

  for(i = 0; i < f->nmsg; i++)
    if(strcmp(f->msgs[i].handle, rh) == 0 && f->msgs[i].inflight)
      f->msgs[i].visible_at = f->now + (esmc_time_ms)s * 1000;
  return ESMC_OK;
}

static esmc_status f_invoke(void *ctx, const uint8_t *payload, size_t len,
                            esmc_invocation *out)
{
  struct fake *f = ctx;
  struct finv *v;

  assert_true(f->ninv < MAXINV);
  v = &f->inv[f->ninv++];
  memset(v, 0, sizeof(*v));
  v->h = ++f->handles;
  v->at = f->now;
  v->payload = malloc(len + 1);
  assert_non_null(v->payload);
  memcpy(v->payload, payload, len);
  v->payload[len] = '\0';
  v->len = len;
  {
    /* Record the messageIds, in order. */
    const char *p = v->payload;
    while((p = strstr(p, "\"messageId\":\"")) != NULL && v->n < 16) {
      const char *q;
      p += 13;
      q = strchr(p, '"');
      assert_non_null(q);
      assert_true((size_t)(q - p) < sizeof(v->ids[0]));
      memcpy(v->ids[v->n], p, (size_t)(q - p));
      v->ids[v->n][q - p] = '\0';
      v->n++;
    }
  }
  *out = v->h;
  f->inflight++;
  if(f->inflight > f->max_inflight)
    f->max_inflight = f->inflight;
  if(f->mark && f->now >= f->mark && f->inflight > f->max_after)
    f->max_after = f->inflight;
  f_push(f, FEV_INVOKE, f->now, v->h); /* duration set when dispatched */
  return ESMC_OK;
}

static void f_init(struct fake *f, int fifo, int32_t vis_s)
{
  memset(f, 0, sizeof(*f));
  F = f;
  f->now = T0;
  f->fifo = fifo;
  f->vis_s = vis_s;
  f->host.abi_version = ESMC_ABI_VERSION;
  f->host.struct_size = sizeof(f->host);
  f->host.ctx = f;
  f->host.now = f_now;
  f->host.set_timer = f_set_timer;
  f->host.cancel_timer = f_cancel_timer;
  f->host.log = f_log;
  f->host.invoke = f_invoke;
  f->host.get_queue_attributes = f_attrs;
  f->host.receive_messages = f_receive;
  f->host.delete_message = f_delete;
  f->host.change_message_visibility = f_change_vis;
  f->ad = esmc_adapter_reference(ESMC_ABI_VERSION);
  assert_non_null(f->ad);
}

static void f_send(struct fake *f, const char *group, size_t body_len,
                   esmc_time_ms delay_ms)
{
  struct fmsg *m;

  assert_true(f->nmsg < MAXMSG);
  m = &f->msgs[f->nmsg];
  memset(m, 0, sizeof(*m));
  snprintf(m->id, sizeof(m->id), "m-%04zu", f->nmsg);
  snprintf(m->seq, sizeof(m->seq), "%zu", 1000 + f->nmsg);
  if(group)
    snprintf(m->group, sizeof(m->group), "%s", group);
  m->body_len = body_len ? body_len : 7;
  m->body = malloc(m->body_len + 1);
  assert_non_null(m->body);
  if(body_len)
    memset(m->body, 'x', body_len);
  else
    snprintf(m->body, 8, "{\"n\":%d}", (int)(f->nmsg % 10));
  m->body[m->body_len] = '\0';
  m->visible_at = f->now + delay_ms;
  f->nmsg++;
}

static const struct esmc_message_attribute ATTRS[] = {
  {"color", "String", "red", NULL, 0},
  {"blob", "Binary", NULL, (const uint8_t *)"\x01\x02", 2},
};

static const struct esmc_message *f_give(struct fake *f, struct fmsg *m)
{
  struct esmc_message *e = calloc(1, sizeof(*e));

  assert_non_null(e);
  m->receives++;
  snprintf(m->handle, sizeof(m->handle), "rh-%s-%u", m->id, m->receives);
  assert_true(f->nrh < MAXEV);
  f->rh_owned[f->nrh] = malloc(strlen(m->handle) + 1);
  assert_non_null(f->rh_owned[f->nrh]);
  memcpy(f->rh_owned[f->nrh], m->handle, strlen(m->handle) + 1);
  e->message_id = m->id;
  e->receipt_handle = f->rh_owned[f->nrh++];
  e->body = m->body;
  e->body_len = m->body_len;
  e->md5_of_body = "0123456789abcdef0123456789abcdef";
  e->sent_timestamp_ms = T0;
  e->first_receive_timestamp_ms = T0;
  e->approximate_receive_count = m->receives;
  e->sender_id = "AIDAEXAMPLE";
  if(f->fifo) {
    e->message_group_id = m->group;
    e->message_deduplication_id = m->id;
    e->sequence_number = m->seq;
  }
  if(m->with_attrs) {
    e->attributes = ATTRS;
    e->attribute_count = 2;
    e->md5_of_message_attributes = "fedcba9876543210fedcba9876543210";
  }
  if(f->ngiven == f->capgiven) {
    size_t nc = f->capgiven ? f->capgiven * 2 : 64;
    struct esmc_message **p = realloc(f->given, nc * sizeof(*p));
    assert_non_null(p);
    f->given = p;
    f->capgiven = nc;
  }
  f->given[f->ngiven++] = e;
  return e;
}

/* Whether message i is receivable now (FIFO: no earlier undeleted message
 * of its group is in flight or pending before it). */
static int f_visible(const struct fake *f, size_t i, uint64_t rcv)
{
  const struct fmsg *m = &f->msgs[i];
  size_t j;

  if(m->deleted)
    return 0;
  if(m->inflight && m->visible_at > f->now)
    return 0;
  if(m->visible_at > f->now)
    return 0;
  if(!f->fifo)
    return 1;
  for(j = 0; j < f->nmsg; j++) {
    const struct fmsg *o = &f->msgs[j];
    if(j == i || o->deleted || strcmp(o->group, m->group) != 0)
      continue;
    if(o->taken_by == rcv && o->inflight && j < i)
      continue; /* taken by this very receive, just before */
    if(o->inflight && o->visible_at > f->now)
      return 0; /* FIFO-7: the group is blocked */
    if(j < i)
      return 0; /* an earlier message of the group goes first */
  }
  return 1;
}

static void f_do_receive(struct fake *f, struct fev *e)
{
  const struct esmc_message *got[10];
  struct esmc_receive_result r;
  esmc_time_ms next = e->deadline;
  size_t i, n = 0;

  for(i = 0; i < f->nmsg; i++)
    if(f->msgs[i].inflight && f->msgs[i].visible_at <= f->now)
      f->msgs[i].inflight = 0;
  for(i = 0; i < f->nmsg && n < e->max; i++) {
    if(!f_visible(f, i, e->id))
      continue;
    f->msgs[i].taken_by = e->id;
    f->msgs[i].inflight = 1;
    f->msgs[i].visible_at = f->now + (esmc_time_ms)e->vis * 1000;
    got[n++] = f_give(f, &f->msgs[i]);
  }
  if(n == 0 && f->now < e->deadline) {
    for(i = 0; i < f->nmsg; i++)
      if(!f->msgs[i].deleted && f->msgs[i].visible_at > f->now &&
         f->msgs[i].visible_at < next)
        next = f->msgs[i].visible_at;
    e->live = 1;
    e->at = next;
    e->seq = f->seq++;
    return;
  }
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.status = ESMC_OK;
  r.messages = got;
  r.count = n;
  assert_int_equal(f->ad->on_receive_complete(f->mapper, e->id, &r), ESMC_OK);
}

static void f_default_fn(const struct finv *inv, size_t k, struct fresp *out)
{
  (void)inv;
  (void)k;
  out->outcome = ESMC_INVOKE_OK;
  out->body = "";
  out->duration = 100;
}

static void f_do_invoke(struct fake *f, struct fev *e)
{
  size_t k;
  struct finv *v = NULL;

  for(k = 0; k < f->ninv; k++)
    if(f->inv[k].h == e->id)
      v = &f->inv[k];
  assert_non_null(v);
  if(v->done_at == 0) {
    /* First dispatch: ask the function, schedule the completion. */
    struct fresp rs = {ESMC_INVOKE_OK, "", 100};
    (f->fn ? f->fn : f_default_fn)(v, (size_t)(v - f->inv), &rs);
    v->done_at = f->now + rs.duration;
    e->live = 1;
    e->at = v->done_at;
    e->seq = f->seq++;
    v->outcome = rs.outcome;
    v->resp = rs.body;
    return;
  }
  {
    struct esmc_invoke_result r;
    const char *body = v->resp;
    memset(&r, 0, sizeof(r));
    r.struct_size = sizeof(r);
    r.outcome = v->outcome;
    r.status_code = r.outcome == ESMC_INVOKE_THROTTLED ? 429 : 200;
    r.function_error = r.outcome == ESMC_INVOKE_FUNCTION_ERROR ? "Unhandled"
                                                               : NULL;
    r.executed_version = "$LATEST";
    r.request_id = "req";
    r.payload = (const uint8_t *)(body ? body : "");
    r.payload_len = body ? strlen(body) : 0;
    v->done = 1;
    f->inflight--;
    assert_int_equal(f->ad->on_invoke_complete(f->mapper, e->id, &r),
                     ESMC_OK);
  }
}

/* Runs the world until `until` (absolute). */
static void f_run(struct fake *f, esmc_time_ms until)
{
  for(;;) {
    struct fev *best = NULL;
    size_t i;
    for(i = 0; i < f->nev; i++) {
      struct fev *e = &f->ev[i];
      if(e->live && (!best || e->at < best->at ||
                     (e->at == best->at && e->seq < best->seq)))
        best = e;
    }
    if(!best || best->at > until)
      break;
    if(best->at > f->now)
      f->now = best->at;
    best->live = 0;
    if(best->kind == FEV_TIMER)
      assert_int_equal(f->ad->on_timer(f->mapper, best->id), ESMC_OK);
    else if(best->kind == FEV_RECEIVE)
      f_do_receive(f, best);
    else
      f_do_invoke(f, best);
    /* Compact dead events now and then. */
    if(f->nev > MAXEV - 64) {
      size_t w = 0;
      for(i = 0; i < f->nev; i++)
        if(f->ev[i].live)
          f->ev[w++] = f->ev[i];
      f->nev = w;
    }
  }
  f->now = until;
}

static void f_cfg(struct esmc_mapping_config *c, enum esmc_source src)
{
  memset(c, 0, sizeof(*c));
  c->abi_version = ESMC_ABI_VERSION;
  c->struct_size = sizeof(*c);
  c->source = src;
  c->uuid = "11111111-2222-3333-4444-555555555555";
  c->event_source_arn = src == ESMC_SOURCE_SQS_FIFO
                          ? "arn:aws:sqs:us-east-1:123456789012:q.fifo"
                          : "arn:aws:sqs:us-east-1:123456789012:q";
  c->function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
  c->role_arn = "arn:aws:iam::123456789012:role/r";
  c->region = "us-east-1";
  c->enabled = ESMC_UNSET;
  c->batch_size = ESMC_UNSET;
  c->maximum_batching_window_s = ESMC_UNSET;
  c->starting_position = ESMC_START_UNSET;
  c->parallelization_factor = ESMC_UNSET;
  c->maximum_retry_attempts = ESMC_UNSET;
  c->maximum_record_age_s = ESMC_UNSET;
  c->bisect_batch_on_function_error = ESMC_UNSET;
  c->tumbling_window_s = ESMC_UNSET;
  c->function_timeout_s = 3;
  c->maximum_concurrency = ESMC_UNSET;
  c->scaling_profile = 0;
}

static void f_create(struct fake *f, const struct esmc_mapping_config *c)
{
  struct esmc_error err;

  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->create(&f->host, c, &f->mapper, &err), ESMC_OK);
}

static void f_fini(struct fake *f)
{
  size_t i;

  f->ad->destroy(f->mapper);
  for(i = 0; i < f->ngiven; i++)
    free(f->given[i]);
  free(f->given);
  for(i = 0; i < f->nrh; i++)
    free(f->rh_owned[i]);
  for(i = 0; i < f->nmsg; i++)
    free(f->msgs[i].body);
  for(i = 0; i < f->ninv; i++)
    free(f->inv[i].payload);
}

static size_t f_deleted(const struct fake *f)
{
  size_t i, n = 0;

  for(i = 0; i < f->nmsg; i++)
    n += f->msgs[i].deleted != 0;
  return n;
}

static struct fake *f_new(int fifo, int32_t vis_s)
{
  struct fake *f = malloc(sizeof(*f));

  assert_non_null(f);
  f_init(f, fifo, vis_s);
  return f;
}

static void f_free(struct fake *f)
{
  f_fini(f);
  free(f);
}

/* ------------------------------------------------------------------------ */
/* JSON checks. */

struct tj {
  const char *js;
  jsmntok_t tok[8192];
  int n;
};

static void tj_parse(struct tj *t, const char *js, size_t len)
{
  jsmn_parser p;

  t->js = js;
  jsmn_init(&p);
  t->n = jsmn_parse(&p, js, len, t->tok, 8192);
  assert_true(t->n > 0);
  assert_true(ref_json_valid(js, len));
}

static int tj_skip(const struct tj *t, int i)
{
  int pending = 1;

  while(pending > 0 && i < t->n) {
    if(t->tok[i].type == JSMN_OBJECT)
      pending += 2 * t->tok[i].size;
    else if(t->tok[i].type == JSMN_ARRAY)
      pending += t->tok[i].size;
    pending--;
    i++;
  }
  return i;
}

static int tj_get(const struct tj *t, int obj, const char *key)
{
  int i = obj + 1, k;

  if(obj < 0 || t->tok[obj].type != JSMN_OBJECT)
    return -1;
  for(k = 0; k < t->tok[obj].size; k++) {
    int len = t->tok[i].end - t->tok[i].start;
    if((size_t)len == strlen(key) &&
       memcmp(t->js + t->tok[i].start, key, (size_t)len) == 0)
      return i + 1;
    i = tj_skip(t, i + 1);
  }
  return -1;
}

static int tj_at(const struct tj *t, int arr, int idx)
{
  int i = arr + 1, k;

  if(arr < 0 || t->tok[arr].type != JSMN_ARRAY || idx >= t->tok[arr].size)
    return -1;
  for(k = 0; k < idx; k++)
    i = tj_skip(t, i);
  return i;
}

static int tj_eq(const struct tj *t, int i, const char *text)
{
  int len;

  if(i < 0)
    return 0;
  len = t->tok[i].end - t->tok[i].start;
  return (size_t)len == strlen(text) &&
         memcmp(t->js + t->tok[i].start, text, (size_t)len) == 0;
}

/* ------------------------------------------------------------------------ */
/* Tests. */

static void test_success_deletes(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;

  (void)state;
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c);
  f_run(f, T0 + 60000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->inv[0].n, 3);
  assert_true(f->inv[0].at == T0); /* window 0: at once */
  assert_int_equal(f_deleted(f), 3);
  assert_int_equal(f->bad_deletes, 0);
  f_free(f);
}

static void test_payload_shape(void **state)
{
  struct fake *f = f_new(1, 30);
  struct esmc_mapping_config c;
  struct tj *t = malloc(sizeof(*t));
  int recs, r0, a, ma, col, v;

  (void)state;
  assert_non_null(t);
  f_send(f, "g1", 0, 0);
  f->msgs[0].with_attrs = 1;
  f_send(f, "g1", 0, 0);
  f_cfg(&c, ESMC_SOURCE_SQS_FIFO);
  f_create(f, &c);
  f_run(f, T0 + 1000);
  assert_int_equal(f->ninv, 1);
  tj_parse(t, f->inv[0].payload, f->inv[0].len);
  recs = tj_get(t, 0, "Records");
  assert_int_equal(t->tok[recs].size, 2);
  r0 = tj_at(t, recs, 0);
  assert_true(tj_eq(t, tj_get(t, r0, "messageId"), "m-0000"));
  assert_true(tj_eq(t, tj_get(t, r0, "receiptHandle"), "rh-m-0000-1"));
  assert_true(tj_eq(t, tj_get(t, r0, "body"), "{\\\"n\\\":0}"));
  assert_true(tj_eq(t, tj_get(t, r0, "eventSource"), "aws:sqs"));
  assert_true(tj_eq(t, tj_get(t, r0, "eventSourceARN"), c.event_source_arn));
  assert_true(tj_eq(t, tj_get(t, r0, "awsRegion"), "us-east-1"));
  assert_true(tj_eq(t, tj_get(t, r0, "md5OfBody"),
                    "0123456789abcdef0123456789abcdef"));
  assert_true(tj_eq(t, tj_get(t, r0, "md5OfMessageAttributes"),
                    "fedcba9876543210fedcba9876543210"));
  a = tj_get(t, r0, "attributes");
  v = tj_get(t, a, "ApproximateReceiveCount");
  assert_true(t->tok[v].type == JSMN_STRING && tj_eq(t, v, "1"));
  v = tj_get(t, a, "SentTimestamp");
  assert_true(t->tok[v].type == JSMN_STRING && tj_eq(t, v, "1700000000000"));
  assert_true(tj_eq(t, tj_get(t, a, "SenderId"), "AIDAEXAMPLE"));
  assert_true(tj_eq(t, tj_get(t, a, "ApproximateFirstReceiveTimestamp"),
                    "1700000000000"));
  assert_true(tj_eq(t, tj_get(t, a, "SequenceNumber"), "1000"));
  assert_true(tj_eq(t, tj_get(t, a, "MessageGroupId"), "g1"));
  assert_true(tj_eq(t, tj_get(t, a, "MessageDeduplicationId"), "m-0000"));
  ma = tj_get(t, r0, "messageAttributes");
  col = tj_get(t, ma, "color");
  assert_true(tj_eq(t, tj_get(t, col, "stringValue"), "red"));
  assert_true(tj_eq(t, tj_get(t, col, "dataType"), "String"));
  assert_int_equal(t->tok[tj_get(t, col, "stringListValues")].size, 0);
  assert_int_equal(t->tok[tj_get(t, col, "binaryListValues")].size, 0);
  assert_true(tj_eq(t, tj_get(t, tj_get(t, ma, "blob"), "binaryValue"),
                    "AQI="));
  /* No attributes: no md5OfMessageAttributes, an empty object. */
  v = tj_at(t, recs, 1);
  assert_int_equal(tj_get(t, v, "md5OfMessageAttributes"), -1);
  assert_int_equal(t->tok[tj_get(t, v, "messageAttributes")].size, 0);
  free(t);
  f_free(f);
}

static void fn_fail_first(const struct finv *inv, size_t k, struct fresp *o)
{
  (void)inv;
  o->outcome = k == 0 ? ESMC_INVOKE_FUNCTION_ERROR : ESMC_INVOKE_OK;
  o->body = k == 0 ? "{\"errorMessage\":\"boom\"}" : "";
  o->duration = 1000;
}

static void test_error_deletes_nothing(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;

  (void)state;
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  f->fn = fn_fail_first;
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c);
  f_run(f, T0 + 20000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->deletes, 0); /* SQS-ERR-1 */
  f_run(f, T0 + 120000);
  assert_int_equal(f->ninv, 2);
  assert_true(f->inv[1].at >= T0 + 30000); /* after the visibility timeout */
  assert_int_equal(f->inv[1].n, 2);
  assert_non_null(strstr(f->inv[1].payload,
                         "\"ApproximateReceiveCount\":\"2\""));
  assert_int_equal(f_deleted(f), 2);
  f_free(f);
}

static const char *g_resp;

static void fn_resp_first(const struct finv *inv, size_t k, struct fresp *o)
{
  (void)inv;
  o->outcome = ESMC_INVOKE_OK;
  o->body = k == 0 ? g_resp : "";
  o->duration = 500;
}

static void test_partial_deletes_rest(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;

  (void)state;
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  g_resp = "{\"batchItemFailures\":[{\"itemIdentifier\":\"m-0002\"}]}";
  f->fn = fn_resp_first;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  c.function_response_types_given = 1;
  f_create(f, &c);
  f_run(f, T0 + 10000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->deletes, 3);
  assert_false(f->msgs[2].deleted);
  f_run(f, T0 + 100000);
  assert_int_equal(f->ninv, 2);
  assert_int_equal(f->inv[1].n, 1);
  assert_string_equal(f->inv[1].ids[0], "m-0002");
  assert_int_equal(f_deleted(f), 4);
  f_free(f);
}

static void run_response(const char *resp, int expect_deleted)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;

  f_send(f, NULL, 0, 0);
  f_send(f, NULL, 0, 0);
  g_resp = resp;
  f->fn = fn_resp_first;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  c.function_response_types_given = 1;
  f_create(f, &c);
  f_run(f, T0 + 10000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal((int)f->deletes, expect_deleted);
  f_free(f);
}

static void test_responses(void **state)
{
  (void)state;
  /* OBS-2: invalid responses fail the whole batch. */
  run_response("{\"batchItemFailures\":[{\"itemIdentifier\":\"nope\"}]}", 0);
  run_response("{\"batchItemFailures\":[{\"itemIdentifier\":\"\"}]}", 0);
  run_response("{\"batchItemFailures\":[{\"itemIdentifier\":null}]}", 0);
  run_response("{\"batchItemFailures\":[{\"foo\":\"m-0000\"}]}", 0);
  run_response("{\"batchItemFailures\":[{\"itemIdentifier\":5}]}", 0);
  run_response("not json", 0);
  run_response("{\"batchItemFailures\":{}}", 0);
  /* OBS-3: success variants. */
  run_response("", 2);
  run_response("\"\"", 2);
  run_response("[]", 2);
  run_response("null", 2);
  run_response("{}", 2);
  run_response("{\"batchItemFailures\":[]}", 2);
  run_response("{\"batchItemFailures\":null}", 2);
  /* Both listed: nothing deleted, no failure. */
  run_response("{\"batchItemFailures\":[{\"itemIdentifier\":\"m-0000\"},"
               "{\"itemIdentifier\":\"m-0001\"}]}",
               0);
}

static void test_no_rbif_response_ignored(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;

  (void)state;
  f_send(f, NULL, 0, 0);
  g_resp = "{\"batchItemFailures\":[{\"itemIdentifier\":\"m-0000\"}]}";
  f->fn = fn_resp_first;
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c);
  f_run(f, T0 + 10000);
  assert_int_equal(f->deletes, 1);
  f_free(f);
}

static void test_window_several_receives(void **state)
{
  struct fake *f = f_new(0, 60);
  struct esmc_mapping_config c;
  size_t k, total = 0, biggest = 0;

  (void)state;
  for(k = 0; k < 25; k++)
    f_send(f, NULL, 0, 0);
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.batch_size = 100;
  c.maximum_batching_window_s = 5;
  c.maximum_concurrency = 2;
  f_create(f, &c);
  f_run(f, T0 + 30000);
  assert_true(f->ninv >= 1);
  for(k = 0; k < f->ninv; k++) {
    assert_true(f->inv[k].at == T0 + 5000); /* the window's end */
    total += f->inv[k].n;
    if(f->inv[k].n > biggest)
      biggest = f->inv[k].n;
  }
  assert_int_equal(total, 25);
  assert_true(biggest > 10); /* assembled from several receives */
  assert_int_equal(f_deleted(f), 25);
  f_free(f);
}

static void test_batch_size_reached(void **state)
{
  struct fake *f = f_new(0, 60);
  struct esmc_mapping_config c;
  size_t k;

  (void)state;
  for(k = 0; k < 20; k++)
    f_send(f, NULL, 0, 0);
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.batch_size = 20;
  c.maximum_batching_window_s = 300;
  c.maximum_concurrency = 2;
  f_create(f, &c);
  f_run(f, T0 + 1000);
  /* Two slots took 10 each; neither reached 20, so nothing yet. */
  f_run(f, T0 + 400000);
  for(k = 0; k < f->ninv; k++)
    assert_true(f->inv[k].at <= T0 + 300000);
  assert_int_equal(f_deleted(f), 20);
  f_free(f);
}

static void test_six_mb_cut(void **state)
{
  struct fake *f = f_new(0, 120);
  struct esmc_mapping_config c;
  size_t k, total = 0;

  (void)state;
  for(k = 0; k < 10; k++)
    f_send(f, NULL, 1100000, 0);
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c);
  f_run(f, T0 + 60000);
  assert_true(f->ninv >= 2);
  for(k = 0; k < f->ninv; k++) {
    assert_true(f->inv[k].len <= REF_PAYLOAD_MAX);
    total += f->inv[k].n;
  }
  assert_int_equal(f->inv[0].n, 5);
  assert_int_equal(total, 10);
  assert_int_equal(f_deleted(f), 10);
  assert_int_equal(f->bad_deletes, 0);
  f_free(f);
}

static void fn_slow(const struct finv *inv, size_t k, struct fresp *o)
{
  (void)inv;
  (void)k;
  o->outcome = ESMC_INVOKE_OK;
  o->body = "";
  o->duration = 10000;
}

static void test_concurrency_cap(void **state)
{
  struct fake *f = f_new(0, 60);
  struct esmc_mapping_config c;
  size_t k;

  (void)state;
  for(k = 0; k < 60; k++)
    f_send(f, NULL, 0, 0);
  f->fn = fn_slow;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.batch_size = 1;
  c.maximum_concurrency = 3;
  c.function_timeout_s = 10;
  f_create(f, &c);
  f_run(f, T0 + 400000);
  assert_int_equal(f->max_inflight, 3);
  assert_int_equal(f_deleted(f), 60);
  f_free(f);
}

static void test_ramp(void **state)
{
  struct fake *f = f_new(0, 600);
  struct esmc_mapping_config c;
  size_t k;

  (void)state;
  for(k = 0; k < 3000; k++)
    f_send(f, NULL, 0, 0);
  f->fn = fn_slow;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.batch_size = 1;
  c.scaling_profile = 1; /* +60 per minute */
  c.function_timeout_s = 10;
  f_create(f, &c);
  f_run(f, T0 + 59000);
  assert_int_equal(f->max_inflight, 5); /* starts at 5 */
  f_run(f, T0 + 61000);
  assert_int_equal(f->max_inflight, 65); /* +60 after a minute */
  f_run(f, T0 + 121000);
  assert_int_equal(f->max_inflight, 125);
  f_free(f);
}

static void fn_fifo(const struct finv *inv, size_t k, struct fresp *o)
{
  size_t j;

  o->outcome = ESMC_INVOKE_OK;
  o->body = "";
  o->duration = 2000;
  /* The first batch holding a0 fails. */
  for(j = 0; j < inv->n; j++)
    if(strcmp(inv->ids[j], "m-0000") == 0 && k == 0)
      o->outcome = ESMC_INVOKE_FUNCTION_ERROR;
}

static const char *f_group_of(const struct fake *f, const char *id)
{
  size_t i;

  for(i = 0; i < f->nmsg; i++)
    if(strcmp(f->msgs[i].id, id) == 0)
      return f->msgs[i].group;
  return "";
}

static void test_fifo_groups(void **state)
{
  struct fake *f = f_new(1, 20);
  struct esmc_mapping_config c;
  size_t a, b, x, y, k;
  char last[4][32];

  (void)state;
  /* a: m0 m2 m4 ..., b: m1 m3 m5 ... */
  for(k = 0; k < 12; k++)
    f_send(f, k % 2 ? "b" : "a", 0, 0);
  f->fn = fn_fifo;
  f_cfg(&c, ESMC_SOURCE_SQS_FIFO);
  c.batch_size = 3;
  f_create(f, &c);
  f_run(f, T0 + 300000);
  assert_int_equal(f_deleted(f), 12);
  /* No two overlapping invocations share a group. */
  for(a = 0; a < f->ninv; a++)
    for(b = a + 1; b < f->ninv; b++) {
      const struct finv *p = &f->inv[a], *q = &f->inv[b];
      if(!(p->at < q->done_at && q->at < p->done_at))
        continue;
      for(x = 0; x < p->n; x++)
        for(y = 0; y < q->n; y++)
          assert_string_not_equal(f_group_of(f, p->ids[x]),
                                  f_group_of(f, q->ids[y]));
    }
  /* Order within a group over successful invocations: ids increase. */
  memset(last, 0, sizeof(last));
  for(a = 0; a < f->ninv; a++) {
    const struct finv *p = &f->inv[a];
    if(a == 0)
      continue; /* the failed one */
    for(x = 0; x < p->n; x++) {
      size_t g = f_group_of(f, p->ids[x])[0] == 'a' ? 0 : 1;
      assert_true(strcmp(last[g], p->ids[x]) < 0);
      snprintf(last[g], sizeof(last[g]), "%s", p->ids[x]);
    }
  }
  /* The failed a0 came back first for its group, after the visibility. */
  for(a = 1; a < f->ninv; a++) {
    const struct finv *p = &f->inv[a];
    if(p->n > 0 && f_group_of(f, p->ids[0])[0] == 'a') {
      assert_string_equal(p->ids[0], "m-0000");
      assert_true(p->at >= T0 + 20000);
      break;
    }
  }
  f_free(f);
}

static void fn_fifo_partial(const struct finv *inv, size_t k, struct fresp *o)
{
  (void)inv;
  o->outcome = ESMC_INVOKE_OK;
  o->body = k == 0 ? "{\"batchItemFailures\":[{\"itemIdentifier\":\"m-0001\"},"
                     "{\"itemIdentifier\":\"m-0002\"}]}"
                   : "";
  o->duration = 100;
}

static void test_fifo_partial_order(void **state)
{
  struct fake *f = f_new(1, 20);
  struct esmc_mapping_config c;

  (void)state;
  f_send(f, "a", 0, 0);
  f_send(f, "a", 0, 0);
  f_send(f, "a", 0, 0);
  f->fn = fn_fifo_partial;
  f_cfg(&c, ESMC_SOURCE_SQS_FIFO);
  c.function_response_types = ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
  c.function_response_types_given = 1;
  f_create(f, &c);
  f_run(f, T0 + 1000);
  assert_int_equal(f->ninv, 1);
  assert_true(f->msgs[0].deleted);
  assert_false(f->msgs[1].deleted);
  assert_false(f->msgs[2].deleted);
  f_run(f, T0 + 100000);
  /* OBS-9: the failed ones come back together, in order, in one batch. */
  assert_int_equal(f->ninv, 2);
  assert_int_equal(f->inv[1].n, 2);
  assert_string_equal(f->inv[1].ids[0], "m-0001");
  assert_string_equal(f->inv[1].ids[1], "m-0002");
  assert_int_equal(f_deleted(f), 3);
  f_free(f);
}

static void test_filter_deletes(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;
  static const char *const pats[] = {"{\"body\":{\"n\":[1]}}"};

  (void)state;
  f_send(f, NULL, 0, 0); /* n 0 */
  f_send(f, NULL, 0, 0); /* n 1 */
  f_send(f, NULL, 5, 0); /* plain body: a JSON pattern drops it */
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.filter_patterns = pats;
  c.filter_count = 1;
  c.filter_criteria_given = 1;
  f_create(f, &c);
  f_run(f, T0 + 10000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f->inv[0].n, 1);
  assert_string_equal(f->inv[0].ids[0], "m-0001");
  assert_int_equal(f_deleted(f), 3); /* FILTER-8 */
  f_free(f);
}

static void test_disable_enable(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c, u;
  struct esmc_error err;

  (void)state;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.enabled = 0;
  f_send(f, NULL, 0, 0);
  f_create(f, &c);
  f_run(f, T0 + 10000);
  assert_int_equal(f->ninv, 0);
  f_cfg(&u, ESMC_SOURCE_SQS);
  u.enabled = 1;
  u.batch_size = 5;
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  f_run(f, T0 + 20000);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(f_deleted(f), 1);
  f_free(f);
}

/* GEN-4: a BatchSize lowered while receives are out applies to the batches
 * those receives form: what they return past the new BatchSize opens the
 * next batch, and later receives ask for no more than the room left. */
static void test_update_batch_size_in_flight(void **state)
{
  struct fake *f = f_new(0, 60);
  struct esmc_mapping_config c, u;
  struct esmc_error err;
  size_t k, total = 0;

  (void)state;
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c); /* BatchSize 10: the idle receives ask for 10 */
  f_run(f, T0 + 5000);
  assert_int_equal(f->ninv, 0);
  f_cfg(&u, ESMC_SOURCE_SQS);
  u.batch_size = 2;
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  f->mark = f->now + 1;
  f_run(f, T0 + 6000);
  for(k = 0; k < 7; k++)
    f_send(f, NULL, 0, 0);
  f_run(f, T0 + 60000);
  assert_int_equal(f->ninv, 4);
  for(k = 0; k < f->ninv; k++) {
    assert_true(f->inv[k].n <= 2);
    total += f->inv[k].n;
  }
  assert_string_equal(f->inv[0].ids[0], "m-0000");
  assert_string_equal(f->inv[0].ids[1], "m-0001");
  assert_int_equal(total, 7);
  assert_int_equal(f_deleted(f), 7);
  assert_int_equal(f->bad_deletes, 0);
  assert_true(f->max_ask >= 1 && f->max_ask <= 2);
  f_free(f);
}

/* The first two invocations end at 10 s, the next three at 30 s. */
static void fn_staggered(const struct finv *inv, size_t k, struct fresp *o)
{
  (void)inv;
  o->outcome = ESMC_INVOKE_OK;
  o->body = "";
  o->duration = k < 2 ? 10000 : k < 5 ? 30000 : 1000;
}

/* SQS-SCALE-1 with GEN-4: a lowered MaximumConcurrency holds new batches
 * until the invocations in flight drop below it; nothing is lost. */
static void test_update_max_concurrency_lowered(void **state)
{
  struct fake *f = f_new(0, 60);
  struct esmc_mapping_config c, u;
  struct esmc_error err;
  size_t k;

  (void)state;
  for(k = 0; k < 40; k++)
    f_send(f, NULL, 0, 0);
  f->fn = fn_staggered;
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.batch_size = 1;
  c.maximum_concurrency = 5;
  c.function_timeout_s = 30;
  f_create(f, &c);
  f_run(f, T0 + 1000);
  assert_int_equal(f->inflight, 5);
  f_cfg(&u, ESMC_SOURCE_SQS);
  u.maximum_concurrency = 2;
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->update(f->mapper, &u, &err), ESMC_OK);
  f->mark = f->now;
  f_run(f, T0 + 600000);
  assert_true(f->max_after >= 1 && f->max_after <= 2);
  assert_int_equal(f_deleted(f), 40);
  f_free(f);
}

/* ------------------------------------------------------------------------ */
/* Account faults (spec/faults.md). */

static int g_attrs_fail;          /* GetQueueAttributes calls still to fail */
static esmc_status g_attrs_status;
static int g_deletes_fail;        /* DeleteMessage calls still to fail */
static int g_delete_calls;

static esmc_status f_attrs_faulty(void *ctx, struct esmc_queue_attributes *out)
{
  if(g_attrs_fail > 0) {
    g_attrs_fail--;
    return g_attrs_status;
  }
  return f_attrs(ctx, out);
}

static esmc_status f_delete_faulty(void *ctx, const char *rh)
{
  g_delete_calls++;
  if(g_deletes_fail > 0) {
    g_deletes_fail--;
    return ESMC_E_SERVICE;
  }
  return f_delete(ctx, rh);
}

static void test_faults_create_and_delete(void **state)
{
  struct fake *f = f_new(0, 30);
  struct esmc_mapping_config c;
  struct esmc_error err;
  void *mapper = NULL;

  (void)state;
  /* FAULT-7: AccessDenied from GetQueueAttributes rejects the create. */
  f->host.get_queue_attributes = f_attrs_faulty;
  g_attrs_fail = 1;
  g_attrs_status = ESMC_E_ACCESS_DENIED;
  f_cfg(&c, ESMC_SOURCE_SQS);
  memset(&err, 0, sizeof(err));
  assert_int_equal(f->ad->create(&f->host, &c, &mapper, &err),
                   ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_non_null(strstr(err.message, "does not have permissions to call"));
  f_free(f);

  /* A throttle is accepted; the attributes are fetched before the first
   * receive. A delete that fails twice is retried while the receipt is
   * current, and succeeds. */
  f = f_new(0, 30);
  f->host.get_queue_attributes = f_attrs_faulty;
  f->host.delete_message = f_delete_faulty;
  g_attrs_fail = 2;
  g_attrs_status = ESMC_E_THROTTLED;
  g_deletes_fail = 2;
  g_delete_calls = 0;
  f_send(f, NULL, 0, 0);
  f_cfg(&c, ESMC_SOURCE_SQS);
  f_create(f, &c);
  f_run(f, T0 + 60000);
  assert_int_equal(g_attrs_fail, 0);
  assert_int_equal(f->ninv, 1);
  assert_int_equal(g_delete_calls, 3);
  assert_int_equal(f_deleted(f), 1);
  assert_int_equal(f->bad_deletes, 0);
  f_free(f);
}

static esmc_status try_create(struct esmc_mapping_config *c, int fifo,
                              int32_t vis, struct esmc_error *err)
{
  struct fake *f = f_new(fifo, vis);
  esmc_status rc;

  memset(err, 0, sizeof(*err));
  rc = f->ad->create(&f->host, c, &f->mapper, err);
  if(rc != ESMC_OK)
    f->mapper = NULL;
  f_free(f);
  return rc;
}

static void test_validation(void **state)
{
  struct esmc_mapping_config c;
  struct esmc_error err;

  (void)state;
  f_cfg(&c, ESMC_SOURCE_SQS);
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_OK);
  c.batch_size = 10001;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  c.batch_size = 11;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_string_equal(err.message,
                      "Maximum batch window in seconds must be greater than "
                      "0 if maximum batch size is greater than 10");
  c.maximum_batching_window_s = 1;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_OK);
  c.batch_size = 10000;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_OK);

  f_cfg(&c, ESMC_SOURCE_SQS_FIFO);
  c.batch_size = 11;
  c.maximum_batching_window_s = 1;
  assert_int_equal(try_create(&c, 1, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  c.batch_size = 10;
  assert_int_equal(try_create(&c, 1, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.message,
                      "Batching window is not supported for FIFO queues");
  c.maximum_batching_window_s = 0;
  assert_int_equal(try_create(&c, 1, 30, &err), ESMC_OK);

  f_cfg(&c, ESMC_SOURCE_SQS);
  c.maximum_concurrency = 1;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "ValidationException");
  c.maximum_concurrency = 1001;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  c.maximum_concurrency = 2;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_OK);

  /* Stream-only parameters. */
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.starting_position = ESMC_START_LATEST;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.maximum_retry_attempts = 3;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.on_failure_destination = "arn:aws:sqs:us-east-1:123456789012:dlq";
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.bisect_batch_on_function_error = 1;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);

  /* SQS-VIS-4. */
  f_cfg(&c, ESMC_SOURCE_SQS);
  c.function_timeout_s = 31;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_E_INVALID_PARAMETER);
  assert_string_equal(err.code, "InvalidParameterValueException");
  assert_string_equal(err.message, "Queue visibility timeout: 30 seconds is "
                                   "less than Function timeout: 31 seconds");
  c.function_timeout_s = 30;
  assert_int_equal(try_create(&c, 0, 30, &err), ESMC_OK);
}

static void test_capabilities(void **state)
{
  const struct esmc_adapter *ad = esmc_adapter_reference(ESMC_ABI_VERSION);

  (void)state;
  assert_non_null(ad->on_receive_complete);
  assert_true(ad->struct_size >= ESMC_ADAPTER_V2_SIZE);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_success_deletes),
    cmocka_unit_test(test_payload_shape),
    cmocka_unit_test(test_error_deletes_nothing),
    cmocka_unit_test(test_partial_deletes_rest),
    cmocka_unit_test(test_responses),
    cmocka_unit_test(test_no_rbif_response_ignored),
    cmocka_unit_test(test_window_several_receives),
    cmocka_unit_test(test_batch_size_reached),
    cmocka_unit_test(test_six_mb_cut),
    cmocka_unit_test(test_concurrency_cap),
    cmocka_unit_test(test_ramp),
    cmocka_unit_test(test_fifo_groups),
    cmocka_unit_test(test_fifo_partial_order),
    cmocka_unit_test(test_filter_deletes),
    cmocka_unit_test(test_disable_enable),
    cmocka_unit_test(test_update_batch_size_in_flight),
    cmocka_unit_test(test_update_max_concurrency_lowered),
    cmocka_unit_test(test_faults_create_and_delete),
    cmocka_unit_test(test_validation),
    cmocka_unit_test(test_capabilities),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

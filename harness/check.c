/*
 * check.c: the property dispatcher. It analyzes the history once, then runs
 * each checker of properties.def in order, keeping the first violation of
 * each property in plain words and counting the rest.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

struct property {
  const char *name;
  const char *rules;
  enum esmc_level level;
  void (*fn)(struct esmc_check_ctx *c);
};

static const struct property properties[] = {
#define ESMC_PROPERTY(name, rules, level, summary)                             \
  {#name, rules, ESMC_##level, esmc_check_##name},
#include "properties.def"
#undef ESMC_PROPERTY
};

#define NPROPERTIES (sizeof(properties) / sizeof(properties[0]))

void esmc_report(struct esmc_check_ctx *c, int64_t t, const char *fmt, ...)
{
  struct esmc_violations *o = c->out;
  struct esmc_violation *v;
  struct esmc_buf b;
  va_list ap;

  if(o->n > 0 && o->v[o->n - 1].property == c->current) {
    o->v[o->n - 1].more++;
    return;
  }
  if(o->n == o->cap &&
     esmc__vec_grow((void **)&o->v, &o->cap, sizeof(*o->v)) != 0)
    return;
  esmc_buf_init(&b);
  va_start(ap, fmt);
  esmc_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  v = &o->v[o->n++];
  memset(v, 0, sizeof(*v));
  v->property = c->current;
  v->rules = c->current_rules;
  v->level = c->current_level;
  v->t = t;
  if(b.oom) {
    /* The caller learns of the failure from the NULL message. */
    esmc_buf_free(&b);
    v->message = NULL;
  } else {
    v->message = b.data ? b.data : esmc_strdup("");
  }
}

/* Which sources a property judges. Properties not listed judge streams
 * (Kinesis and DynamoDB) only. */
#define SRC_STREAM 1u
#define SRC_QUEUE 2u

static const struct {
  const char *name;
  unsigned sources;
} property_sources[] = {
  {"config_validation", SRC_STREAM | SRC_QUEUE},
  {"event_shape", SRC_STREAM | SRC_QUEUE},
  {"enabled", SRC_STREAM | SRC_QUEUE},
  {"batch_size", SRC_STREAM | SRC_QUEUE},
  {"payload_limit", SRC_STREAM | SRC_QUEUE},
  {"expectations", SRC_STREAM | SRC_QUEUE},
  {"sqs_batch", SRC_QUEUE},
  {"delete_after_success", SRC_QUEUE},
  {"failed_not_deleted", SRC_QUEUE},
  {"sqs_no_loss", SRC_QUEUE},
  {"fifo_group_exclusive", SRC_QUEUE},
  {"fifo_group_order", SRC_QUEUE},
  {"sqs_concurrency", SRC_QUEUE},
  {"sqs_batch_window", SRC_QUEUE},
  {"sqs_visibility", SRC_QUEUE},
  {"liveness", SRC_STREAM | SRC_QUEUE},
  {"fault_backoff", SRC_STREAM | SRC_QUEUE},
  {"shared_queue_holder", SRC_QUEUE},
};

static int applies(const struct property *p, const struct esmc_world *w)
{
  unsigned want = SRC_STREAM, have = SRC_STREAM;
  size_t i;
  if(w->sc && (w->sc->source == ESMC_SOURCE_SQS ||
               w->sc->source == ESMC_SOURCE_SQS_FIFO))
    want = SRC_QUEUE;
  for(i = 0; i < sizeof(property_sources) / sizeof(property_sources[0]); i++)
    if(strcmp(property_sources[i].name, p->name) == 0)
      have = property_sources[i].sources;
  return (have & want) != 0;
}

/* When create() was rejected there is no run to judge: only the
 * configuration and the case's own expectations are checked. */
static int runs_without_mapping(const struct property *p)
{
  return strcmp(p->name, "config_validation") == 0 ||
         strcmp(p->name, "expectations") == 0;
}

/* Properties that judge several mappings together (MULTI-2): they read
 * the whole history; every other property reads one mapping's view. A FIFO
 * queue hands a group to one consumer at a time whichever mapping it is,
 * so group exclusivity and order (FIFO-1, FIFO-2) are judged across the
 * mappings: in one mapping's view another's deletes are missing. */
static const char *const cross_properties[] = {
    "shared_queue_holder", "fifo_group_exclusive", "fifo_group_order"};

static int is_cross(const struct property *p)
{
  size_t i;
  for(i = 0; i < sizeof(cross_properties) / sizeof(cross_properties[0]); i++)
    if(strcmp(cross_properties[i], p->name) == 0)
      return 1;
  return 0;
}

enum pass { PASS_ALL, PASS_MAPPING, PASS_CROSS };

static int run_pass(const char *only, const struct esmc_world *w,
                    const struct esmc_run_outcome *outcome,
                    struct esmc_violations *out, enum pass pass)
{
  struct esmc_analysis an;
  struct esmc_check_ctx c;
  size_t i, first = out->n;
  int found = only == NULL;

  if(only) {
    for(i = 0; i < NPROPERTIES; i++)
      if(strcmp(properties[i].name, only) == 0)
        found = 1;
    if(!found)
      return -1;
  }
  if(esmc_analyze(w, &an) != 0)
    return -1;
  memset(&c, 0, sizeof(c));
  c.w = w;
  c.an = &an;
  c.outcome = outcome;
  c.out = out;
  for(i = 0; i < NPROPERTIES; i++) {
    const struct property *p = &properties[i];
    if(only && strcmp(p->name, only) != 0)
      continue;
    if(!applies(p, w))
      continue;
    if((pass == PASS_MAPPING && is_cross(p)) ||
       (pass == PASS_CROSS && !is_cross(p)))
      continue;
    if(outcome && (outcome->create_rejected || outcome->create_unsupported) &&
       !runs_without_mapping(p))
      continue;
    c.current = p->name;
    c.current_rules = p->rules;
    c.current_level = p->level;
    p->fn(&c);
  }
  esmc_analysis_free(&an);
  for(i = first; i < out->n; i++)
    if(!out->v[i].message)
      return -1;
  return 0;
}

/* Several mappings: mapping m's view of the history holds its own events
 * and the world's (appends, the end, redrives, expiries, faults that apply
 * to it), shallow copies whose pointers stay the world's. A COMPLETE's b
 * (the index of its INVOKE) is renumbered. Free with esmc_free(h->ev). */
static int event_in_view(const struct esmc_scenario *sc,
                         const struct esmc_hevent *e, uint32_t m)
{
  switch(e->kind) {
  case ESMC_H_APPEND:
  case ESMC_H_END:
  case ESMC_H_DEAD_LETTER:
  case ESMC_H_MESSAGE_EXPIRED:
    return 1;
  case ESMC_H_FAULT:
    if(e->a == ESMC_CASE_RESTART)
      return e->mapping == m;
    if(e->a == ESMC_CASE_FAULT && e->b >= 0 && (size_t)e->b < sc->event_count)
      return sc->events[e->b].fault.mapping < 0 ||
             (uint32_t)sc->events[e->b].fault.mapping == m;
    return 1;
  default:
    return e->mapping == m;
  }
}

static int project(const struct esmc_world *w, uint32_t m,
                   struct esmc_history *h)
{
  size_t i, n = 0, *map;
  memset(h, 0, sizeof(*h));
  map = esmc_malloc((w->hist.n ? w->hist.n : 1) * sizeof(*map));
  h->ev = esmc_malloc((w->hist.n ? w->hist.n : 1) * sizeof(*h->ev));
  if(!map || !h->ev) {
    esmc_free(map);
    esmc_free(h->ev);
    h->ev = NULL;
    return -1;
  }
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    map[i] = SIZE_MAX;
    if(!event_in_view(w->sc, e, m))
      continue;
    map[i] = n;
    h->ev[n] = *e;
    if(e->kind == ESMC_H_COMPLETE)
      h->ev[n].b = e->b >= 0 && (size_t)e->b < i && map[e->b] != SIZE_MAX
                       ? (int64_t)map[e->b]
                       : -1;
    n++;
  }
  h->n = h->cap = n;
  h->oom = w->hist.oom;
  esmc_free(map);
  return 0;
}

/* Mapping m's outcome: the run's, with create() judged from its own first
 * CREATE event. */
static void outcome_view(const struct esmc_history *h,
                         const struct esmc_run_outcome *o,
                         struct esmc_run_outcome *ov)
{
  size_t i;
  if(o)
    *ov = *o;
  else
    memset(ov, 0, sizeof(*ov));
  ov->create_rejected = ov->create_unsupported = 0;
  ov->create_error[0] = '\0';
  for(i = 0; i < h->n; i++) {
    const struct esmc_hevent *e = &h->ev[i];
    if(e->kind != ESMC_H_CREATE || e->a != 0)
      continue;
    if(e->status != ESMC_OK) {
      ov->create_rejected = 1;
      ov->create_unsupported = e->status == ESMC_E_UNSUPPORTED;
      snprintf(ov->create_error, sizeof(ov->create_error), "%s",
               e->text ? e->text : "");
    }
    break;
  }
}

/* Name the mapping in messages [first, out->n). */
static int prefix_messages(struct esmc_violations *out, size_t first,
                           const char *name)
{
  size_t i;
  for(i = first; i < out->n; i++) {
    struct esmc_buf b;
    if(!out->v[i].message)
      continue;
    esmc_buf_init(&b);
    esmc_buf_printf(&b, "mapping %s: %s", name, out->v[i].message);
    if(b.oom) {
      esmc_buf_free(&b);
      return -1;
    }
    esmc_free(out->v[i].message);
    out->v[i].message = b.data;
  }
  return 0;
}

static int run(const char *only, const struct esmc_world *w,
               const struct esmc_run_outcome *outcome,
               struct esmc_violations *out)
{
  size_t nm = w->sc ? esmc_scenario_mapping_count(w->sc) : 1, m;
  if(nm <= 1)
    return run_pass(only, w, outcome, out, PASS_ALL);
  for(m = 0; m < nm; m++) {
    struct esmc_scenario sv;
    struct esmc_world wv;
    struct esmc_run_outcome ov;
    size_t first = out->n;
    int rc;
    esmc_scenario_mapping_view(w->sc, m, &sv);
    wv = *w;
    wv.sc = &sv;
    if(project(w, (uint32_t)m, &wv.hist))
      return -1;
    snprintf(wv.mapping_uuid, sizeof(wv.mapping_uuid), "%s",
             esmc_world_mapping_uuid(w, (uint32_t)m));
    snprintf(wv.function_arn, sizeof(wv.function_arn), "%s",
             esmc_world_function_arn(w, (uint32_t)m));
    outcome_view(&wv.hist, outcome, &ov);
    rc = run_pass(only, &wv, &ov, out, PASS_MAPPING);
    esmc_free(wv.hist.ev);
    if(rc == -1 && only)
      return -1;
    if(rc || prefix_messages(out, first, esmc_scenario_mapping_name(w->sc, m)))
      return -1;
  }
  return run_pass(only, w, outcome, out, PASS_CROSS);
}

int esmc_check_all(const struct esmc_world *w,
                   const struct esmc_run_outcome *outcome,
                   struct esmc_violations *out)
{
  return run(NULL, w, outcome, out);
}

int esmc_check_one(const char *name, const struct esmc_world *w,
                   const struct esmc_run_outcome *outcome,
                   struct esmc_violations *out)
{
  if(!name)
    return -1;
  return run(name, w, outcome, out);
}

void esmc_violations_free(struct esmc_violations *v)
{
  size_t i;
  if(!v)
    return;
  for(i = 0; i < v->n; i++)
    esmc_free(v->v[i].message);
  esmc_free(v->v);
  memset(v, 0, sizeof(*v));
}

void esmc_describe_record(const struct esmc_world *w, uint32_t rid,
                          struct esmc_buf *out)
{
  const struct esmc_wrecord *r;
  if(rid >= w->nrecords) {
    esmc_buf_printf(out, "record #%" PRIu32 " (unknown)", rid);
    return;
  }
  r = &w->records[rid];
  esmc_buf_printf(out, "%s (seq %s, key ", esmc_world_record_name(w, rid),
                  r->seq);
  if(!r->pub.partition_key)
    esmc_buf_putc(out, '-');
  else /* a DynamoDB key is JSON as the case wrote it */
    esmc_buf_json_compact(out, r->pub.partition_key, 1);
  esmc_buf_printf(out, ", %s)",
                  r->shard < w->nshards ? w->shards[r->shard].id : "?");
}

int esmc_fault_during(const struct esmc_world *w, int64_t t0, int64_t t1)
{
  const struct esmc_scenario *sc = w->sc;
  int64_t down_from = -1;
  size_t i;
  if(!sc)
    return 0;
  for(i = 0; i < sc->event_count; i++) {
    const struct esmc_case_event *ce = &sc->events[i];
    int64_t from = ce->at_ms, until;
    if(ce->kind == ESMC_CASE_DESTINATION_DOWN) {
      if(down_from < 0)
        down_from = from;
      continue;
    }
    if(ce->kind == ESMC_CASE_DESTINATION_UP) {
      if(down_from >= 0 && down_from <= t1 && from + ESMC_FAULT_SHADOW_MS >= t0)
        return 1;
      down_from = -1;
      continue;
    }
    if(ce->kind != ESMC_CASE_FAULT)
      continue;
    if(ce->fault.mapping >= 0 && (uint32_t)ce->fault.mapping != sc->view_of)
      continue;
    until = ce->fault.until_ms;
    if(from <= t1 && (until >= INT64_MAX - ESMC_FAULT_SHADOW_MS ||
                      until + ESMC_FAULT_SHADOW_MS >= t0))
      return 1;
  }
  return down_from >= 0 && down_from <= t1;
}

const char *esmc_status_name(int32_t st)
{
  switch(st) {
#define ESMC_X_(name, val, msg)                                                \
  case val:                                                                    \
    return "ESMC_" #name;
    ESMC_STATUS_MAP(ESMC_X_)
#undef ESMC_X_
  default:
    return "an unknown status";
  }
}

const char *esmc_status_words(int32_t st)
{
  switch(st) {
#define ESMC_X_(name, val, msg)                                                \
  case val:                                                                    \
    return "ESMC_" #name " (" msg ")";
    ESMC_STATUS_MAP(ESMC_X_)
#undef ESMC_X_
  default:
    return "an unknown status";
  }
}

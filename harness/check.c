/*
 * check.c: the property dispatcher. It analyzes the history once, then runs
 * each checker of properties.def in order, keeping the first violation of
 * each property in plain words and counting the rest.
 */
#include <inttypes.h>
#include <stdarg.h>
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

static int run(const char *only, const struct esmc_world *w,
               const struct esmc_run_outcome *outcome,
               struct esmc_violations *out)
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
  esmc_buf_printf(out, "%s (seq %s, key %s, %s)",
                  esmc_world_record_name(w, rid), r->seq,
                  r->pub.partition_key ? r->pub.partition_key : "-",
                  r->shard < w->nshards ? w->shards[r->shard].id : "?");
}

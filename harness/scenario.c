/* scenario.c: defaults, teardown and capability names of the scenario model. */
#include "scenario.h"

#include <string.h>

#include "util.h"

/* Capability names, in the order of the ESMC_CAP_* bits (bit i = entry i). */
static const char *const cap_names[] = {
    "kinesis",       "dynamodb",        "sqs",         "sqs_fifo",
    "batch_window",  "at_timestamp",    "retry_limit", "record_age",
    "bisect",        "partial_batch",   "on_failure",  "on_failure_s3",
    "parallelization", "filter",        "tumbling_window", "resharding",
    "update",        "restart",         "validation",  "enabled_flag"};

#define CAP_COUNT (sizeof(cap_names) / sizeof(cap_names[0]))

uint64_t esmc_cap_from_name(const char *name)
{
  size_t i;
  if(!name)
    return 0;
  for(i = 0; i < CAP_COUNT; i++)
    if(strcmp(name, cap_names[i]) == 0)
      return UINT64_C(1) << i;
  return 0;
}

const char *esmc_cap_name(uint64_t bit)
{
  size_t i;
  for(i = 0; i < CAP_COUNT; i++)
    if(bit == (UINT64_C(1) << i))
      return cap_names[i];
  return NULL;
}

static void free_strv(char **v, size_t n)
{
  size_t i;
  if(!v)
    return;
  for(i = 0; i < n; i++)
    esmc_free(v[i]);
  esmc_free(v);
}

void esmc_config_spec_init(struct esmc_config_spec *c)
{
  memset(c, 0, sizeof(*c));
  c->enabled = ESMC_UNSET;
  c->batch_size = ESMC_UNSET;
  c->maximum_batching_window_s = ESMC_UNSET;
  c->starting_position = ESMC_START_UNSET;
  c->parallelization_factor = ESMC_UNSET;
  c->maximum_retry_attempts = ESMC_UNSET;
  c->maximum_record_age_s = ESMC_UNSET;
  c->bisect_batch_on_function_error = ESMC_UNSET;
  c->tumbling_window_s = ESMC_UNSET;
  c->maximum_concurrency = ESMC_UNSET;
  c->scaling_profile = ESMC_UNSET;
}

void esmc_config_spec_free(struct esmc_config_spec *c)
{
  if(!c)
    return;
  esmc_free(c->on_failure_destination);
  free_strv(c->filter_patterns, c->filter_count);
  memset(c, 0, sizeof(*c));
}

void esmc_scenario_init(struct esmc_scenario *s)
{
  memset(s, 0, sizeof(*s));
  s->source = (enum esmc_source)0;
  s->stream_name = esmc_strdup("esmcheck-stream");
  s->shard_count = 1;
  s->retention_ms = INT64_C(24) * 3600 * 1000;
  s->stream_view_type = esmc_strdup("NEW_AND_OLD_IMAGES");
  s->start_epoch_ms = INT64_C(1704067200000); /* 2024-01-01T00:00:00Z */
  s->run_until_ms = -1;
  s->function.default_duration_ms = 10;
  s->function.timeout_s = 3;
  esmc_config_spec_init(&s->config);
  s->create_at_ms = 0;
  s->expect.invocation_count = ESMC_UNSET;
  s->queue.visibility_timeout_s = 30;
  s->queue.message_retention_s = 345600;
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

static void free_fn_rule(struct esmc_fn_rule *r)
{
  free_strv(r->contains, r->contains_count);
  free_strv(r->keys, r->keys_count);
  esmc_free(r->invocations);
  esmc_free(r->response);
  free_strv(r->fail_items, r->fail_items_count);
  esmc_free(r->error_type);
  esmc_free(r->error_message);
}

static void free_fn_script(struct esmc_fn_script *f)
{
  size_t i;
  if(f->rules) {
    for(i = 0; i < f->rule_count; i++)
      free_fn_rule(&f->rules[i]);
    esmc_free(f->rules);
  }
  esmc_free(f->name);
}

static void free_expect(struct esmc_expect *e)
{
  size_t i;
  esmc_free(e->config_error_code);
  esmc_free(e->config_error_message);
  if(e->batches) {
    for(i = 0; i < e->batch_count; i++)
      free_strv(e->batches[i], e->batch_lens ? e->batch_lens[i] : 0);
    esmc_free(e->batches);
  }
  esmc_free(e->batch_lens);
  if(e->destinations) {
    for(i = 0; i < e->destination_count; i++) {
      struct esmc_expect_dest *d = &e->destinations[i];
      esmc_free(d->condition);
      esmc_free(d->first_id);
      esmc_free(d->last_id);
      esmc_free(d->function_error);
    }
    esmc_free(e->destinations);
  }
  free_strv(e->delivered, e->delivered_count);
  free_strv(e->not_delivered, e->not_delivered_count);
}

void esmc_expect_clear(struct esmc_expect *e)
{
  free_expect(e);
  memset(e, 0, sizeof(*e));
  e->invocation_count = ESMC_UNSET;
}

void esmc_scenario_free(struct esmc_scenario *s)
{
  size_t i;
  if(!s)
    return;
  esmc_free(s->id);
  esmc_free(s->description);
  free_strv(s->rules, s->rule_count);
  free_strv(s->tags, s->tag_count);
  esmc_free(s->path);
  esmc_free(s->stream_name);
  esmc_free(s->stream_view_type);
  esmc_free(s->queue.name);
  if(s->records) {
    for(i = 0; i < s->record_count; i++)
      free_record(&s->records[i]);
    esmc_free(s->records);
  }
  free_fn_script(&s->function);
  if(s->functions) {
    for(i = 0; i < s->function_count; i++)
      free_fn_script(&s->functions[i]);
    esmc_free(s->functions);
  }
  if(s->extra) {
    for(i = 0; i < s->extra_count; i++) {
      esmc_free(s->extra[i].name);
      esmc_config_spec_free(&s->extra[i].config);
      free_expect(&s->extra[i].expect);
    }
    esmc_free(s->extra);
  }
  esmc_config_spec_free(&s->config);
  if(s->events) {
    for(i = 0; i < s->event_count; i++) {
      esmc_config_spec_free(&s->events[i].update);
      esmc_free(s->events[i].expect_error_code);
    }
    esmc_free(s->events);
  }
  free_expect(&s->expect);
  memset(s, 0, sizeof(*s));
}

static const char *const fault_call_names[ESMC_FC_COUNT] = {
    "list_shards",          "get_shard_iterator", "get_records",
    "send_to_destination",  "get_queue_attributes", "receive_messages",
    "delete_message",       "change_message_visibility"};

const char *esmc_fault_call_name(unsigned call)
{
  return call < ESMC_FC_COUNT ? fault_call_names[call] : NULL;
}

size_t esmc_scenario_mapping_count(const struct esmc_scenario *s)
{
  return 1 + s->extra_count;
}

const char *esmc_scenario_mapping_name(const struct esmc_scenario *s, size_t i)
{
  if(i == 0 || i > s->extra_count)
    return "main";
  return s->extra[i - 1].name ? s->extra[i - 1].name : "?";
}

const struct esmc_fn_script *
esmc_scenario_mapping_function(const struct esmc_scenario *s, size_t i)
{
  uint32_t f;
  if(i == 0 || i > s->extra_count)
    return &s->function;
  f = s->extra[i - 1].function;
  return f == 0 || f > s->function_count ? &s->function : &s->functions[f - 1];
}

void esmc_scenario_mapping_view(const struct esmc_scenario *s, size_t i,
                                struct esmc_scenario *view)
{
  *view = *s;
  view->extra = NULL;
  view->extra_count = 0;
  view->functions = NULL;
  view->function_count = 0;
  view->view_of = (uint32_t)i;
  if(i == 0 || i > s->extra_count)
    return;
  view->config = s->extra[i - 1].config;
  view->create_at_ms = s->extra[i - 1].create_at_ms;
  view->expect = s->extra[i - 1].expect;
  view->function = *esmc_scenario_mapping_function(s, i);
}

int esmc_scenario_mapping_index(const struct esmc_scenario *s,
                                const char *name)
{
  size_t i;
  if(!name)
    return -1;
  if(strcmp(name, "main") == 0)
    return 0;
  for(i = 0; i < s->extra_count && i < INT32_MAX - 1; i++)
    if(s->extra[i].name && strcmp(s->extra[i].name, name) == 0)
      return (int)i + 1;
  return -1;
}

void esmc_case_event_init(struct esmc_case_event *ev)
{
  memset(ev, 0, sizeof(*ev));
  esmc_config_spec_init(&ev->update);
  ev->shards[0] = ev->shards[1] = -1;
  ev->mapping = 0;
  ev->fault.until_ms = INT64_MAX;
  ev->fault.mapping = -1;
  ev->fault.every = 1;
  ev->trim_before_ms = 0;
}

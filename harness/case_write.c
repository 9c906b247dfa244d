/*
 * case_write.c: scenario -> case text (see case_write.h). Every key the
 * loader reads has a writer here; members left at their defaults are left
 * out, so a written case stays short.
 */
#include "case_write.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "case_load.h"

#define DEFAULT_START_MS INT64_C(1704067200000)
#define HOUR_MS INT64_C(3600000)

static void put_str(struct esmc_buf *b, const char *s)
{
  esmc_buf_json_str(b, s ? s : "", s ? strlen(s) : 0);
}

static void put_key(struct esmc_buf *b, int *first, const char *key)
{
  if(!*first)
    esmc_buf_puts(b, ", ");
  *first = 0;
  put_str(b, key);
  esmc_buf_puts(b, ": ");
}

static void put_strv(struct esmc_buf *b, char *const *v, size_t n)
{
  size_t i;
  esmc_buf_putc(b, '[');
  for(i = 0; i < n; i++) {
    if(i)
      esmc_buf_puts(b, ", ");
    put_str(b, v[i]);
  }
  esmc_buf_putc(b, ']');
}

static void put_i64(struct esmc_buf *b, int64_t v)
{
  esmc_buf_printf(b, "%" PRId64, v);
}

static int printable(const uint8_t *p, size_t n)
{
  size_t i;
  for(i = 0; i < n; i++)
    if(p[i] < 0x20 || p[i] > 0x7e)
      return 0;
  return 1;
}

static const char *start_name(enum esmc_starting_position p)
{
  switch(p) {
  case ESMC_START_TRIM_HORIZON: return "TRIM_HORIZON";
  case ESMC_START_LATEST: return "LATEST";
  case ESMC_START_AT_TIMESTAMP: return "AT_TIMESTAMP";
  default: return NULL;
  }
}

/* The keys of `mapping` (or of an update) that c gives. */
static void put_config(struct esmc_buf *b, int *first,
                       const struct esmc_config_spec *c)
{
  size_t i;
  if(c->enabled != ESMC_UNSET) {
    put_key(b, first, "enabled");
    esmc_buf_puts(b, c->enabled ? "true" : "false");
  }
  if(c->batch_size != ESMC_UNSET) {
    put_key(b, first, "batch_size");
    put_i64(b, c->batch_size);
  }
  if(c->maximum_batching_window_s != ESMC_UNSET) {
    put_key(b, first, "maximum_batching_window_s");
    put_i64(b, c->maximum_batching_window_s);
  }
  if(start_name(c->starting_position)) {
    put_key(b, first, "starting_position");
    put_str(b, start_name(c->starting_position));
  }
  if(c->starting_position_timestamp_given) {
    put_key(b, first, "starting_position_timestamp_ms");
    put_i64(b, c->starting_position_timestamp_ms);
  }
  if(c->parallelization_factor != ESMC_UNSET) {
    put_key(b, first, "parallelization_factor");
    put_i64(b, c->parallelization_factor);
  }
  if(c->maximum_retry_attempts != ESMC_UNSET) {
    put_key(b, first, "maximum_retry_attempts");
    put_i64(b, c->maximum_retry_attempts);
  }
  if(c->maximum_record_age_s != ESMC_UNSET) {
    put_key(b, first, "maximum_record_age_s");
    put_i64(b, c->maximum_record_age_s);
  }
  if(c->bisect_batch_on_function_error != ESMC_UNSET) {
    put_key(b, first, "bisect_batch_on_function_error");
    esmc_buf_puts(b, c->bisect_batch_on_function_error ? "true" : "false");
  }
  if(c->tumbling_window_s != ESMC_UNSET) {
    put_key(b, first, "tumbling_window_s");
    put_i64(b, c->tumbling_window_s);
  }
  if(c->function_response_types_given) {
    int n = 0;
    put_key(b, first, "function_response_types");
    esmc_buf_putc(b, '[');
    if(c->function_response_types & ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) {
      put_str(b, "ReportBatchItemFailures");
      n++;
    }
    if(c->function_response_types & ~ESMC_FRT_REPORT_BATCH_ITEM_FAILURES) {
      esmc_buf_puts(b, n ? ", " : "");
      put_str(b, "UnknownResponseType"); /* the loader maps it to bit 31 */
    }
    esmc_buf_putc(b, ']');
  }
  if(c->on_failure_destination) {
    put_key(b, first, "on_failure");
    put_str(b, c->on_failure_destination);
  }
  if(c->filter_criteria_given) {
    put_key(b, first, "filters");
    esmc_buf_putc(b, '[');
    for(i = 0; i < c->filter_count; i++) {
      if(i)
        esmc_buf_puts(b, ", ");
      put_str(b, c->filter_patterns[i]);
    }
    esmc_buf_putc(b, ']');
  }
  if(c->maximum_concurrency != ESMC_UNSET) {
    put_key(b, first, "maximum_concurrency");
    put_i64(b, c->maximum_concurrency);
  }
  if(c->scaling_profile == 0 || c->scaling_profile == 1) {
    put_key(b, first, "scaling_profile");
    put_str(b, c->scaling_profile == 1 ? "legacy" : "current");
  }
}

static int is_queue(const struct esmc_scenario *sc)
{
  return sc->source == ESMC_SOURCE_SQS || sc->source == ESMC_SOURCE_SQS_FIFO;
}

/* A queue message (spec/case-format.md section 12): the body is data, left
 * out when it is the id (the default); the FIFO group is partition_key. */
static void put_message(struct esmc_buf *b, const struct esmc_case_record *r)
{
  int first = 1;
  size_t i;
  size_t idlen = r->id ? strlen(r->id) : 0;
  esmc_buf_puts(b, "{");
  put_key(b, &first, "id");
  put_str(b, r->id);
  if(r->at_ms) {
    put_key(b, &first, "at_ms");
    put_i64(b, r->at_ms);
  }
  if(r->data_len &&
     (r->data_len != idlen || memcmp(r->data, r->id, idlen) != 0)) {
    put_key(b, &first, "body");
    esmc_buf_json_str(b, (const char *)r->data, r->data_len);
  }
  if(r->group) {
    put_key(b, &first, "group");
    put_str(b, r->group);
  }
  if(r->deduplication_id) {
    put_key(b, &first, "deduplication_id");
    put_str(b, r->deduplication_id);
  }
  if(r->attr_names) {
    int afirst = 1;
    put_key(b, &first, "attributes");
    esmc_buf_putc(b, '{');
    for(i = 0; i < r->attr_count; i++) {
      put_key(b, &afirst, r->attr_names[i]);
      put_str(b, r->attr_values[i]);
    }
    esmc_buf_putc(b, '}');
  }
  esmc_buf_puts(b, "}");
}

/* The queue object: only the members that differ from the defaults. */
static void put_queue(struct esmc_buf *b, const struct esmc_queue_spec *q)
{
  int first = 1;
  esmc_buf_puts(b, "{");
  if(q->name) {
    put_key(b, &first, "name");
    put_str(b, q->name);
  }
  if(q->visibility_timeout_s != 30) {
    put_key(b, &first, "visibility_timeout_s");
    put_i64(b, q->visibility_timeout_s);
  }
  if(q->message_retention_s != 345600) {
    put_key(b, &first, "message_retention_s");
    put_i64(b, q->message_retention_s);
  }
  if(q->delay_s) {
    put_key(b, &first, "delay_s");
    put_i64(b, q->delay_s);
  }
  if(q->receive_wait_time_s) {
    put_key(b, &first, "receive_wait_time_s");
    put_i64(b, q->receive_wait_time_s);
  }
  if(q->max_receive_count) {
    put_key(b, &first, "max_receive_count");
    put_i64(b, q->max_receive_count);
  }
  if(q->content_based_deduplication) {
    put_key(b, &first, "content_based_deduplication");
    esmc_buf_puts(b, "true");
  }
  if(q->duplicate_every) {
    put_key(b, &first, "duplicate_every");
    put_i64(b, q->duplicate_every);
  }
  esmc_buf_puts(b, "}");
}

static void put_record(struct esmc_buf *b, const struct esmc_scenario *sc,
                       const struct esmc_case_record *r)
{
  int first = 1;
  static const char *const ddb_names[] = {NULL, "INSERT", "MODIFY", "REMOVE"};
  if(is_queue(sc)) {
    put_message(b, r);
    return;
  }
  esmc_buf_puts(b, "{");
  put_key(b, &first, "id");
  put_str(b, r->id);
  if(r->at_ms) {
    put_key(b, &first, "at_ms");
    put_i64(b, r->at_ms);
  }
  if(r->shard >= 0) {
    put_key(b, &first, "shard");
    put_i64(b, r->shard);
  }
  if(sc->source == ESMC_SOURCE_DYNAMODB) {
    if(r->event_name >= ESMC_DDB_INSERT && r->event_name <= ESMC_DDB_REMOVE) {
      put_key(b, &first, "event_name");
      put_str(b, ddb_names[r->event_name]);
    }
    put_key(b, &first, "keys");
    esmc_buf_puts(b, r->keys_json ? r->keys_json : "{}");
    if(r->new_image_json) {
      put_key(b, &first, "new_image");
      esmc_buf_puts(b, r->new_image_json);
    }
    if(r->old_image_json) {
      put_key(b, &first, "old_image");
      esmc_buf_puts(b, r->old_image_json);
    }
  } else {
    if(r->partition_key && (!r->id || strcmp(r->partition_key, r->id) != 0)) {
      put_key(b, &first, "partition_key");
      put_str(b, r->partition_key);
    }
    if(r->data_len && printable(r->data, r->data_len)) {
      put_key(b, &first, "data");
      esmc_buf_json_str(b, (const char *)r->data, r->data_len);
    } else if(r->data_len) {
      put_key(b, &first, "data_base64");
      esmc_buf_putc(b, '"');
      esmc_buf_base64(b, r->data, r->data_len);
      esmc_buf_putc(b, '"');
    }
  }
  esmc_buf_puts(b, "}");
}

static const char *const action_names[] = {"ok",       "error",
                                           "timeout",  "throttle",
                                           "service_error", "fail_items"};

static void put_rule(struct esmc_buf *b, const struct esmc_fn_rule *r)
{
  int first = 1, wfirst = 1;
  size_t i;
  esmc_buf_puts(b, "{");
  if(r->contains_count || r->keys_count || r->invocations_count ||
     r->attempt_min != ESMC_UNSET || r->attempt_max != ESMC_UNSET || r->times > 0) {
    put_key(b, &first, "when");
    esmc_buf_putc(b, '{');
    if(r->contains_count) {
      put_key(b, &wfirst, "contains");
      put_strv(b, r->contains, r->contains_count);
    }
    if(r->keys_count) {
      put_key(b, &wfirst, "keys");
      put_strv(b, r->keys, r->keys_count);
    }
    if(r->invocations_count) {
      put_key(b, &wfirst, "invocation");
      esmc_buf_putc(b, '[');
      for(i = 0; i < r->invocations_count; i++) {
        if(i)
          esmc_buf_puts(b, ", ");
        put_i64(b, r->invocations[i]);
      }
      esmc_buf_putc(b, ']');
    }
    if(r->attempt_min != ESMC_UNSET || r->attempt_max != ESMC_UNSET) {
      int afirst = 1;
      put_key(b, &wfirst, "attempt");
      esmc_buf_putc(b, '{');
      if(r->attempt_min != ESMC_UNSET) {
        put_key(b, &afirst, "min");
        put_i64(b, r->attempt_min);
      }
      if(r->attempt_max != ESMC_UNSET) {
        put_key(b, &afirst, "max");
        put_i64(b, r->attempt_max);
      }
      esmc_buf_putc(b, '}');
    }
    if(r->times > 0) {
      put_key(b, &wfirst, "times");
      put_i64(b, r->times);
    }
    esmc_buf_putc(b, '}');
  }
  put_key(b, &first, "then");
  esmc_buf_putc(b, '{');
  wfirst = 1;
  put_key(b, &wfirst, "action");
  put_str(b, (unsigned)r->action < 6 ? action_names[r->action] : "ok");
  if(r->action == ESMC_FN_OK && r->response_given) {
    put_key(b, &wfirst, "response");
    esmc_buf_json_str(b, r->response ? r->response : "", r->response_len);
  }
  if(r->action == ESMC_FN_FAIL_ITEMS) {
    put_key(b, &wfirst, "fail_items");
    put_strv(b, r->fail_items, r->fail_items_count);
  }
  if(r->duration_ms >= 0) {
    put_key(b, &wfirst, "duration_ms");
    put_i64(b, r->duration_ms);
  }
  if(r->action == ESMC_FN_ERROR && r->error_type) {
    put_key(b, &wfirst, "error_type");
    put_str(b, r->error_type);
  }
  if(r->action == ESMC_FN_ERROR && r->error_message) {
    put_key(b, &wfirst, "error_message");
    put_str(b, r->error_message);
  }
  if(r->action == ESMC_FN_OK && !r->response_given && r->state_size > 0) {
    put_key(b, &wfirst, "state_size");
    put_i64(b, r->state_size);
  }
  esmc_buf_puts(b, "}}");
}

/* The name of a fault's error code, or NULL when a case cannot say it. */
static const char *fault_error_name(esmc_status e)
{
  switch(e) {
  case ESMC_E_THROTTLED: return "throttled";
  case ESMC_E_SERVICE: return "service";
  case ESMC_E_ACCESS_DENIED: return "access_denied";
  case ESMC_E_EXPIRED_ITERATOR: return "expired_iterator";
  default: return NULL;
  }
}

/* A fault event's object; -1 when f cannot be written (no calls, an
 * unknown call or error, a mapping the scenario does not have). */
static int put_fault(struct esmc_buf *b, const struct esmc_scenario *sc,
                     const struct esmc_case_event *e)
{
  const struct esmc_fault_spec *f = &e->fault;
  const char *err = fault_error_name(f->error);
  int first = 1, n = 0;
  unsigned c;
  if(!err || f->calls == 0 || (f->calls >> ESMC_FC_COUNT) != 0 ||
     f->mapping < -1 || (f->mapping >= 0 &&
                         (size_t)f->mapping >= esmc_scenario_mapping_count(sc)))
    return -1;
  esmc_buf_putc(b, '{');
  put_key(b, &first, "calls");
  esmc_buf_putc(b, '[');
  for(c = 0; c < ESMC_FC_COUNT; c++) {
    if(!(f->calls & (1u << c)))
      continue;
    esmc_buf_puts(b, n++ ? ", " : "");
    put_str(b, esmc_fault_call_name(c));
  }
  esmc_buf_putc(b, ']');
  put_key(b, &first, "error");
  put_str(b, err);
  if(f->until_ms != INT64_MAX) {
    put_key(b, &first, "until_ms");
    put_i64(b, f->until_ms);
  }
  if(f->mapping >= 0) {
    put_key(b, &first, "mapping");
    put_str(b, esmc_scenario_mapping_name(sc, (size_t)f->mapping));
  }
  if(f->every != 1) {
    put_key(b, &first, "every");
    put_i64(b, f->every);
  }
  esmc_buf_putc(b, '}');
  return 0;
}

/* One event; -1 when it cannot be written. */
static int put_event(struct esmc_buf *b, const struct esmc_scenario *sc,
                     const struct esmc_case_event *e)
{
  int first = 1, rc = 0;
  esmc_buf_puts(b, "{");
  put_key(b, &first, "at_ms");
  put_i64(b, e->at_ms);
  if((e->kind == ESMC_CASE_UPDATE || e->kind == ESMC_CASE_RESTART) &&
     e->mapping != 0) {
    if(e->mapping < 0 || (size_t)e->mapping >= esmc_scenario_mapping_count(sc))
      return -1;
    put_key(b, &first, "mapping");
    put_str(b, esmc_scenario_mapping_name(sc, (size_t)e->mapping));
  }
  switch(e->kind) {
  case ESMC_CASE_UPDATE: {
    int ufirst = 1;
    put_key(b, &first, "update");
    esmc_buf_putc(b, '{');
    put_config(b, &ufirst, &e->update);
    esmc_buf_putc(b, '}');
    if(e->expect_error_code) {
      put_key(b, &first, "expect_error");
      put_str(b, e->expect_error_code);
    }
    break;
  }
  case ESMC_CASE_RESTART:
    put_key(b, &first, "restart");
    esmc_buf_puts(b, "true");
    break;
  case ESMC_CASE_DESTINATION_DOWN:
  case ESMC_CASE_DESTINATION_UP:
    put_key(b, &first, "destination");
    put_str(b, e->kind == ESMC_CASE_DESTINATION_DOWN ? "down" : "up");
    break;
  case ESMC_CASE_SPLIT:
  case ESMC_CASE_ROLLOVER:
    put_key(b, &first, e->kind == ESMC_CASE_SPLIT ? "split" : "rollover");
    esmc_buf_printf(b, "{\"shard\": %d}", (int)e->shards[0]);
    break;
  case ESMC_CASE_MERGE:
    put_key(b, &first, "merge");
    esmc_buf_printf(b, "{\"shards\": [%d, %d]}", (int)e->shards[0],
                    (int)e->shards[1]);
    break;
  case ESMC_CASE_FAULT:
    put_key(b, &first, "fault");
    rc = put_fault(b, sc, e);
    break;
  case ESMC_CASE_TRIM: {
    int tfirst = 1;
    put_key(b, &first, "trim");
    esmc_buf_putc(b, '{');
    if(e->shards[0] >= 0) {
      put_key(b, &tfirst, "shard");
      put_i64(b, e->shards[0]);
    }
    if(e->trim_before_ms != e->at_ms) {
      put_key(b, &tfirst, "before_ms");
      put_i64(b, e->trim_before_ms);
    }
    esmc_buf_putc(b, '}');
    break;
  }
  }
  esmc_buf_puts(b, "}");
  return rc;
}

static void put_expect(struct esmc_buf *b, const struct esmc_expect *x)
{
  int first = 1;
  size_t i;
  esmc_buf_puts(b, "{");
  if(x->config_error_code) {
    int cfirst = 1;
    put_key(b, &first, "config_error");
    esmc_buf_putc(b, '{');
    put_key(b, &cfirst, "code");
    put_str(b, x->config_error_code);
    if(x->config_error_message) {
      put_key(b, &cfirst, "message");
      put_str(b, x->config_error_message);
    }
    esmc_buf_putc(b, '}');
  }
  if(x->batches_given) {
    put_key(b, &first, "batches");
    esmc_buf_putc(b, '[');
    for(i = 0; i < x->batch_count; i++) {
      if(i)
        esmc_buf_puts(b, ", ");
      put_strv(b, x->batches[i], x->batch_lens[i]);
    }
    esmc_buf_putc(b, ']');
  }
  if(x->invocation_count != ESMC_UNSET) {
    put_key(b, &first, "invocations");
    put_i64(b, x->invocation_count);
  }
  if(x->destinations_given) {
    put_key(b, &first, "destinations");
    esmc_buf_putc(b, '[');
    for(i = 0; i < x->destination_count; i++) {
      const struct esmc_expect_dest *d = &x->destinations[i];
      int dfirst = 1;
      esmc_buf_puts(b, i ? ", {" : "{");
      if(d->condition) {
        put_key(b, &dfirst, "condition");
        put_str(b, d->condition);
      }
      if(d->batch_size != ESMC_UNSET) {
        put_key(b, &dfirst, "batch_size");
        put_i64(b, d->batch_size);
      }
      if(d->first_id) {
        put_key(b, &dfirst, "first");
        put_str(b, d->first_id);
      }
      if(d->last_id) {
        put_key(b, &dfirst, "last");
        put_str(b, d->last_id);
      }
      if(d->approximate_invoke_count != ESMC_UNSET) {
        put_key(b, &dfirst, "approximate_invoke_count");
        put_i64(b, d->approximate_invoke_count);
      }
      if(d->has_response_context != ESMC_UNSET) {
        put_key(b, &dfirst, "response_context");
        esmc_buf_puts(b, d->has_response_context ? "true" : "false");
      }
      if(d->function_error) {
        put_key(b, &dfirst, "function_error");
        if(strcmp(d->function_error, "null") == 0)
          esmc_buf_puts(b, "null");
        else
          put_str(b, d->function_error);
      }
      esmc_buf_putc(b, '}');
    }
    esmc_buf_putc(b, ']');
  }
  if(x->delivered) {
    put_key(b, &first, "delivered");
    put_strv(b, x->delivered, x->delivered_count);
  }
  if(x->not_delivered) {
    put_key(b, &first, "not_delivered");
    put_strv(b, x->not_delivered, x->not_delivered_count);
  }
  esmc_buf_puts(b, "}");
}

static int expect_empty(const struct esmc_expect *x)
{
  return !x->config_error_code && !x->batches_given &&
         x->invocation_count == ESMC_UNSET && !x->destinations_given &&
         !x->delivered && !x->not_delivered;
}

/* The stream object of a Kinesis or DynamoDB case. */
static void put_stream(struct esmc_buf *b, const struct esmc_scenario *sc)
{
  int first;

  esmc_buf_puts(b, ",\n  \"stream\": {");
  first = 1;
  if(sc->stream_name && strcmp(sc->stream_name, "esmcheck-stream") != 0) {
    put_key(b, &first, "name");
    put_str(b, sc->stream_name);
  }
  put_key(b, &first, "shards");
  put_i64(b, sc->shard_count);
  if(sc->retention_ms != 24 * HOUR_MS && sc->retention_ms >= HOUR_MS) {
    put_key(b, &first, "retention_hours");
    put_i64(b, sc->retention_ms / HOUR_MS);
  }
  if(sc->source == ESMC_SOURCE_DYNAMODB && sc->stream_view_type &&
     strcmp(sc->stream_view_type, "NEW_AND_OLD_IMAGES") != 0) {
    put_key(b, &first, "stream_view_type");
    put_str(b, sc->stream_view_type);
  }
  esmc_buf_puts(b, "}");
}

/* A function object; rules one a line, each after sep, then end. */
static void put_function(struct esmc_buf *b, const struct esmc_fn_script *f,
                         const char *sep, const char *end)
{
  int first = 1;
  size_t i;
  esmc_buf_putc(b, '{');
  put_key(b, &first, "timeout_s");
  put_i64(b, f->timeout_s);
  put_key(b, &first, "duration_ms");
  put_i64(b, f->default_duration_ms);
  if(f->rule_count) {
    put_key(b, &first, "rules");
    esmc_buf_putc(b, '[');
    for(i = 0; i < f->rule_count; i++) {
      esmc_buf_puts(b, i ? "," : "");
      esmc_buf_puts(b, sep);
      put_rule(b, &f->rules[i]);
    }
    esmc_buf_puts(b, end);
    esmc_buf_putc(b, ']');
  }
  esmc_buf_putc(b, '}');
}

/* One element of `mappings`; -1 when its function index is out of range. */
static int put_mapping(struct esmc_buf *b, const struct esmc_scenario *sc,
                       const struct esmc_mapping_spec *m)
{
  int first = 1;
  if(m->function > sc->function_count)
    return -1;
  esmc_buf_putc(b, '{');
  put_key(b, &first, "name");
  put_str(b, m->name);
  if(m->function > 0) {
    put_key(b, &first, "function");
    put_str(b, sc->functions[m->function - 1].name);
  }
  if(m->create_at_ms) {
    put_key(b, &first, "create_at_ms");
    put_i64(b, m->create_at_ms);
  }
  put_config(b, &first, &m->config);
  if(!expect_empty(&m->expect)) {
    put_key(b, &first, "expect");
    put_expect(b, &m->expect);
  }
  esmc_buf_putc(b, '}');
  return 0;
}

int esmc_case_write(const struct esmc_scenario *sc, struct esmc_buf *b)
{
  size_t i;
  uint64_t bit;
  int first;

  static const char *const source_names[] = {NULL, "kinesis", "dynamodb",
                                             "sqs", "sqs_fifo"};

  if(sc->source != ESMC_SOURCE_KINESIS && sc->source != ESMC_SOURCE_DYNAMODB &&
     !is_queue(sc))
    return -1;
  esmc_buf_puts(b, "{\n  \"id\": ");
  put_str(b, sc->id);
  esmc_buf_puts(b, ",\n  \"description\": ");
  put_str(b, sc->description);
  esmc_buf_puts(b, ",\n  \"rules\": ");
  put_strv(b, sc->rules, sc->rule_count);
  esmc_buf_puts(b, ",\n  \"tags\": ");
  put_strv(b, sc->tags, sc->tag_count);
  esmc_buf_puts(b, ",\n  \"requires\": [");
  first = 1;
  for(bit = 1; bit; bit <<= 1) {
    const char *name = (sc->requires & bit) ? esmc_cap_name(bit) : NULL;
    if(name) {
      esmc_buf_puts(b, first ? "" : ", ");
      put_str(b, name);
      first = 0;
    }
  }
  esmc_buf_puts(b, "],\n  \"source\": ");
  put_str(b, source_names[sc->source]);

  if(is_queue(sc)) {
    esmc_buf_puts(b, ",\n  \"queue\": ");
    put_queue(b, &sc->queue);
  } else {
    put_stream(b, sc);
  }
  if(sc->start_epoch_ms != DEFAULT_START_MS) {
    esmc_buf_puts(b, ",\n  \"start\": \"");
    esmc_buf_iso8601(b, sc->start_epoch_ms, 0);
    esmc_buf_putc(b, '"');
  }

  esmc_buf_puts(b, ",\n  \"mapping\": {");
  first = 1;
  if(sc->create_at_ms) {
    put_key(b, &first, "create_at_ms");
    put_i64(b, sc->create_at_ms);
  }
  put_config(b, &first, &sc->config);
  esmc_buf_puts(b, "}");
  if(sc->extra_count) {
    esmc_buf_puts(b, ",\n  \"mappings\": [");
    for(i = 0; i < sc->extra_count; i++) {
      esmc_buf_puts(b, i ? ",\n    " : "\n    ");
      if(put_mapping(b, sc, &sc->extra[i]) < 0)
        return -1;
    }
    esmc_buf_puts(b, "\n  ]");
  }

  if(sc->record_count) {
    esmc_buf_puts(b, ",\n  \"records\": [");
    for(i = 0; i < sc->record_count; i++) {
      esmc_buf_puts(b, i ? ",\n    " : "\n    ");
      put_record(b, sc, &sc->records[i]);
    }
    esmc_buf_puts(b, "\n  ]");
  }

  esmc_buf_puts(b, ",\n  \"function\": ");
  put_function(b, &sc->function, "\n    ", "\n  ");
  if(sc->function_count) {
    esmc_buf_puts(b, ",\n  \"functions\": {");
    for(i = 0; i < sc->function_count; i++) {
      esmc_buf_puts(b, i ? ",\n    " : "\n    ");
      put_str(b, sc->functions[i].name);
      esmc_buf_puts(b, ": ");
      put_function(b, &sc->functions[i], "\n      ", "\n    ");
    }
    esmc_buf_puts(b, "\n  }");
  }

  if(sc->event_count) {
    esmc_buf_puts(b, ",\n  \"events\": [");
    for(i = 0; i < sc->event_count; i++) {
      esmc_buf_puts(b, i ? ",\n    " : "\n    ");
      if(put_event(b, sc, &sc->events[i]) < 0)
        return -1;
    }
    esmc_buf_puts(b, "\n  ]");
  }
  if(sc->run_until_ms > 0) {
    esmc_buf_puts(b, ",\n  \"run\": {\"until_ms\": ");
    put_i64(b, sc->run_until_ms);
    esmc_buf_puts(b, "}");
  }
  if(!expect_empty(&sc->expect)) {
    esmc_buf_puts(b, ",\n  \"expect\": ");
    put_expect(b, &sc->expect);
  }
  esmc_buf_puts(b, "\n}\n");
  return b->oom ? -1 : 0;
}

int esmc_case_write_file(const struct esmc_scenario *sc, const char *path)
{
  struct esmc_buf b;
  FILE *f;
  int rc = -1;
  esmc_buf_init(&b);
  if(esmc_case_write(sc, &b) == 0 && (f = fopen(path, "wb")) != NULL) {
    rc = fwrite(b.data, 1, b.len, f) == b.len ? 0 : -1;
    if(fclose(f) != 0)
      rc = -1;
  } else if(b.oom) {
    errno = ENOMEM;
  }
  esmc_buf_free(&b);
  return rc;
}

int esmc_scenario_clone(const struct esmc_scenario *src,
                        struct esmc_scenario *dst)
{
  struct esmc_buf b;
  int rc;
  memset(dst, 0, sizeof(*dst));
  esmc_buf_init(&b);
  rc = esmc_case_write(src, &b);
  if(rc == 0)
    rc = esmc_case_load_buf(b.data, b.len, "clone", dst, NULL);
  esmc_buf_free(&b);
  return rc;
}

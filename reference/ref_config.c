/*
 * ref_config.c: configuration validation (CFG-1..10) and defaults.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"
#include "ref_mutant.h"

static const char REF_VALIDATION[] = "ValidationException";
static const char REF_INVALID[] = "InvalidParameterValueException";
static const char REF_UNSUPPORTED[] = "UnsupportedFeatureException";

static esmc_status ref_fail(struct esmc_error *err, esmc_status rc,
                            const char *code, const char *message)
{
  if(err) {
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
  }
  return rc;
}

/* Model-level range errors, gathered like AWS does ("2 validation errors
 * detected: ...; ..."). */
struct ref_violations {
  int count;
  char text[ESMC_ERROR_MESSAGE_MAX - 64];
  size_t len;
};

static void ref_check_range(struct ref_violations *v, int32_t value,
                            const char *member, int32_t lo, int32_t hi)
{
  int k;

  if(value == ESMC_UNSET || (value >= lo && value <= hi))
    return;
  if(v->len >= sizeof(v->text))
    return;
  k = snprintf(v->text + v->len, sizeof(v->text) - v->len,
               "%sValue '%" PRId32 "' at '%s' failed to satisfy constraint: "
               "Member must have value %s %" PRId32,
               v->count > 0 ? "; " : "", value, member,
               value < lo ? "greater than or equal to" : "less than or equal to",
               value < lo ? lo : hi);
  v->count++;
  if(k > 0)
    v->len += (size_t)k;
  if(v->len >= sizeof(v->text))
    v->len = sizeof(v->text) - 1;
}

static int ref_flag_ok(int32_t v)
{
  return v == ESMC_UNSET || v == 0 || v == 1;
}

/* ---- SQS validation (SQS sources; ref_sqs.c is the poller) ---------- */

/* ScalingConfig.MaximumConcurrency when the host's struct carries it. */
int32_t ref_cfg_max_concurrency(const struct esmc_mapping_config *cfg)
{
  if(cfg->struct_size < offsetof(struct esmc_mapping_config,
                                 maximum_concurrency) +
                          sizeof(cfg->maximum_concurrency))
    return ESMC_UNSET;
  return cfg->maximum_concurrency;
}

static esmc_status ref_sqs_validate(const struct esmc_mapping_config *cfg,
                                    const struct ref_config *cur,
                                    int is_update, enum esmc_source source,
                                    struct esmc_error *err)
{
  struct ref_violations v;
  char msg[ESMC_ERROR_MESSAGE_MAX];
  int fifo = source == ESMC_SOURCE_SQS_FIFO;
  int32_t bs, win;
  const char *stream_only = NULL;

  if(!is_update && (!cfg->uuid || !cfg->event_source_arn ||
                    !cfg->function_arn || !cfg->region))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "The mapping UUID, EventSourceArn, FunctionName and "
                    "region are required.");
  /* PARAM-BS-1, PARAM-MBW-1, PARAM-SC-1: model ranges. */
  memset(&v, 0, sizeof(v));
  ref_check_range(&v, cfg->batch_size, "batchSize", 1, 10000);
  ref_check_range(&v, cfg->maximum_batching_window_s,
                  "maximumBatchingWindowInSeconds", 0, 300);
  ref_check_range(&v, ref_cfg_max_concurrency(cfg),
                  "scalingConfig.maximumConcurrency", 2, 1000);
  if(v.count > 0) {
    snprintf(msg, sizeof(msg), "%d validation error%s detected: %s", v.count,
             v.count > 1 ? "s" : "", v.text);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_VALIDATION, msg);
  }
  if(!ref_flag_ok(cfg->enabled))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "Enabled must be true or false.");
  /* Stream-only parameters (PARAM-SP-1, PF-1, MRA-1, MRAGE-1, BISECT-1,
   * TW-1, DEST-4). */
  if(cfg->starting_position != ESMC_START_UNSET)
    stream_only = "StartingPosition";
  else if(cfg->parallelization_factor != ESMC_UNSET)
    stream_only = "ParallelizationFactor";
  else if(cfg->maximum_retry_attempts != ESMC_UNSET)
    stream_only = "MaximumRetryAttempts";
  else if(cfg->maximum_record_age_s != ESMC_UNSET)
    stream_only = "MaximumRecordAgeInSeconds";
  else if(cfg->bisect_batch_on_function_error != ESMC_UNSET)
    stream_only = "BisectBatchOnFunctionError";
  else if(cfg->tumbling_window_s != ESMC_UNSET)
    stream_only = "TumblingWindowInSeconds";
  else if(cfg->on_failure_destination && cfg->on_failure_destination[0])
    stream_only = "DestinationConfig";
  if(stream_only) {
    snprintf(msg, sizeof(msg),
             "Unsupported %s parameter for given event source mapping "
             "type: Amazon SQS.", stream_only);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }
  if(cfg->function_response_types_given &&
     (cfg->function_response_types & ~ESMC_FRT_REPORT_BATCH_ITEM_FAILURES)) {
    snprintf(msg, sizeof(msg),
             "Invalid FunctionResponseTypes (bits 0x%" PRIx32
             "): the only supported value is ReportBatchItemFailures.",
             cfg->function_response_types);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }
  /* The configuration the call would produce (an update keeps the rest). */
  bs = cfg->batch_size != ESMC_UNSET ? cfg->batch_size
                                     : (is_update ? cur->batch_size : 10);
  win = cfg->maximum_batching_window_s != ESMC_UNSET
          ? cfg->maximum_batching_window_s
          : (is_update ? cur->window_s : 0);
  if(fifo && bs > 10) {
    snprintf(msg, sizeof(msg),
             "BatchSize %" PRId32 " is not valid for FIFO queues: the "
             "maximum is 10.", bs);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }
  if(fifo && win > 0 && !REF_MUTANT(FIFO_WINDOW_OK))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "Batching window is not supported for FIFO queues");
  if(bs > 10 && win < 1 && !REF_MUTANT(SQS_BIG_BATCH_NO_WINDOW))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "Maximum batch window in seconds must be greater than 0 "
                    "if maximum batch size is greater than 10");
  if(cfg->filter_criteria_given)
    return ref_filter_validate(cfg->filter_patterns, cfg->filter_count, err);
  return ESMC_OK;
}
/* ---- end of SQS validation ------------------------------------------- */

esmc_status ref_config_validate(const struct esmc_mapping_config *cfg,
                                const struct ref_config *cur, int is_update,
                                esmc_time_ms now, struct esmc_error *err)
{
  struct ref_violations v;
  char msg[ESMC_ERROR_MESSAGE_MAX];
  enum esmc_source source;
  const char *arn;

  if(!cfg || (is_update && !cur))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "No configuration was given.");
  source = is_update ? cur->source : cfg->source;
  arn = is_update ? cur->event_source_arn : cfg->event_source_arn;
  if(!arn)
    arn = "";

  /* SQS sources: their own rules (ref_sqs_validate, below). */
  if(source == ESMC_SOURCE_SQS || source == ESMC_SOURCE_SQS_FIFO)
    return ref_sqs_validate(cfg, cur, is_update, source, err);
  if(source != ESMC_SOURCE_KINESIS && source != ESMC_SOURCE_DYNAMODB)
    return ref_fail(err, ESMC_E_UNSUPPORTED, REF_UNSUPPORTED,
                    "The reference mapper supports Kinesis and DynamoDB "
                    "stream sources only.");
  if(!is_update && (!cfg->uuid || !cfg->event_source_arn ||
                    !cfg->function_arn || !cfg->region))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "The mapping UUID, EventSourceArn, FunctionName and "
                    "region are required.");

  /* Ranges of the API model first: ValidationException. */
  memset(&v, 0, sizeof(v));
  ref_check_range(&v, cfg->batch_size, "batchSize", 1, 10000);
  ref_check_range(&v, cfg->maximum_batching_window_s,
                  "maximumBatchingWindowInSeconds", 0, 300);
  ref_check_range(&v, cfg->parallelization_factor, "parallelizationFactor", 1,
                  10);
  ref_check_range(&v, cfg->maximum_retry_attempts, "maximumRetryAttempts", -1,
                  10000);
  ref_check_range(&v, cfg->maximum_record_age_s, "maximumRecordAgeInSeconds",
                  -1, 604800);
  ref_check_range(&v, cfg->tumbling_window_s, "tumblingWindowInSeconds", 0,
                  900);
  if(v.count > 0) {
    snprintf(msg, sizeof(msg), "%d validation error%s detected: %s", v.count,
             v.count > 1 ? "s" : "", v.text);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_VALIDATION, msg);
  }

  if(!ref_flag_ok(cfg->enabled))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "Enabled must be true or false.");
  if(!ref_flag_ok(cfg->bisect_batch_on_function_error))
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                    "BisectBatchOnFunctionError must be true or false.");

  if(!is_update) {
    if(cfg->starting_position == ESMC_START_UNSET)
      return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID,
                      "1 validation error detected: Value null at "
                      "'startingPosition' failed to satisfy constraint: "
                      "Member must not be null.");
    if(cfg->starting_position != ESMC_START_TRIM_HORIZON &&
       cfg->starting_position != ESMC_START_LATEST &&
       cfg->starting_position != ESMC_START_AT_TIMESTAMP) {
      snprintf(msg, sizeof(msg),
               "1 validation error detected: Value '%d' at "
               "'startingPosition' failed to satisfy constraint: Member must "
               "satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
               (int)cfg->starting_position);
      return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_VALIDATION, msg);
    }
    if(cfg->starting_position == ESMC_START_AT_TIMESTAMP) {
      if(source == ESMC_SOURCE_DYNAMODB) {
        snprintf(msg, sizeof(msg),
                 "Unsupported starting position for arn type: %s", arn);
        return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
      }
      if(cfg->starting_position_timestamp_ms > now) {
        snprintf(msg, sizeof(msg),
                 "Invalid StartingPositionTimestamp: %" PRId64
                 ". The timestamp cannot be in the future.",
                 (int64_t)cfg->starting_position_timestamp_ms);
        return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
      }
    }
  }

  if(cfg->maximum_record_age_s != ESMC_UNSET &&
     cfg->maximum_record_age_s >= 0 && cfg->maximum_record_age_s < 60) {
    snprintf(msg, sizeof(msg),
             "Invalid MaximumRecordAgeInSeconds: %" PRId32
             ". The value must be -1 (infinite) or between 60 and 604800.",
             cfg->maximum_record_age_s);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }

  if(cfg->on_failure_destination && cfg->on_failure_destination[0] != '\0' &&
     ref_destination_kind(cfg->on_failure_destination) == 0) {
    snprintf(msg, sizeof(msg),
             "Invalid DestinationConfig: the OnFailure destination '%.300s' "
             "must be an Amazon SQS queue, Amazon SNS topic or Amazon S3 "
             "bucket ARN.",
             cfg->on_failure_destination);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }

  if(cfg->function_response_types_given &&
     (cfg->function_response_types & ~ESMC_FRT_REPORT_BATCH_ITEM_FAILURES)) {
    snprintf(msg, sizeof(msg),
             "Invalid FunctionResponseTypes (bits 0x%" PRIx32
             "): the only supported value is ReportBatchItemFailures.",
             cfg->function_response_types);
    return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
  }

  /* TW-9 (an esmcheck decision): tumbling windows keep one state per shard,
   * so they do not combine with ParallelizationFactor above 1. An update is
   * judged by the configuration it would produce. */
  {
    int32_t pf = cfg->parallelization_factor != ESMC_UNSET
                   ? cfg->parallelization_factor
                   : (is_update ? cur->parallelization_factor : 1);
    int32_t tw = cfg->tumbling_window_s != ESMC_UNSET
                   ? cfg->tumbling_window_s
                   : (is_update ? cur->tumbling_window_s : 0);
    if(pf > 1 && tw > 0) {
      snprintf(msg, sizeof(msg),
               "TumblingWindowInSeconds (%" PRId32 ") cannot be combined "
               "with a ParallelizationFactor above 1 (%" PRId32 ").",
               tw, pf);
      return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
    }
  }
  /* FILTER-10: patterns are checked at create and update; FilterCriteria
   * given with no filters removes them (FILTER-11). */
  if(cfg->filter_criteria_given) {
    esmc_status frc = ref_filter_validate(cfg->filter_patterns,
                                          cfg->filter_count, err);
    if(frc != ESMC_OK)
      return frc;
  }
  return ESMC_OK;
}

/* FAULT-7: the role cannot read the source. The texts are AWS's, as users
 * have reported them (spec/faults.md); what follows "Cannot access stream"
 * is the stream ARN. */
esmc_status ref_config_access_denied(const struct esmc_mapping_config *cfg,
                                     struct esmc_error *err)
{
  char msg[ESMC_ERROR_MESSAGE_MAX];

  if(cfg->source == ESMC_SOURCE_SQS || cfg->source == ESMC_SOURCE_SQS_FIFO)
    snprintf(msg, sizeof(msg), "%s",
             "The provided execution role does not have permissions to call "
             "GetQueueAttributes on SQS");
  else
    snprintf(msg, sizeof(msg),
             "Cannot access stream %s. Please ensure the role can perform "
             "the GetRecords, GetShardIterator, DescribeStream, and %s "
             "Actions on your stream in IAM.",
             cfg->event_source_arn ? cfg->event_source_arn : "",
             cfg->source == ESMC_SOURCE_DYNAMODB ? "ListStreams"
                                                 : "ListShards");
  return ref_fail(err, ESMC_E_INVALID_PARAMETER, REF_INVALID, msg);
}

void ref_config_free(struct ref_config *c)
{
  if(!c)
    return;
  free(c->uuid);
  free(c->event_source_arn);
  free(c->function_arn);
  free(c->role_arn);
  free(c->region);
  free(c->destination);
  ref_filter_clear(c);
  memset(c, 0, sizeof(*c));
}

static char *ref_strdup(const char *s, int *oom)
{
  size_t n;
  char *d;

  if(!s)
    return NULL;
  n = strlen(s) + 1;
  d = malloc(n);
  if(!d) {
    *oom = 1;
    return NULL;
  }
  memcpy(d, s, n);
  return d;
}

/* Applies the members cfg gives onto out (strings already owned by out). */
static int ref_config_apply(struct ref_config *out,
                            const struct esmc_mapping_config *cfg)
{
  int oom = 0;

  if(cfg->enabled != ESMC_UNSET)
    out->enabled = cfg->enabled != 0;
  if(cfg->batch_size != ESMC_UNSET)
    out->batch_size = cfg->batch_size;
  if(cfg->maximum_batching_window_s != ESMC_UNSET)
    out->window_s = cfg->maximum_batching_window_s;
  if(cfg->parallelization_factor != ESMC_UNSET)
    out->parallelization_factor = cfg->parallelization_factor;
  if(cfg->maximum_retry_attempts != ESMC_UNSET)
    out->maximum_retry_attempts = cfg->maximum_retry_attempts;
  if(cfg->maximum_record_age_s != ESMC_UNSET)
    out->maximum_record_age_s = cfg->maximum_record_age_s;
  if(cfg->bisect_batch_on_function_error != ESMC_UNSET)
    out->bisect = cfg->bisect_batch_on_function_error != 0;
  if(cfg->tumbling_window_s != ESMC_UNSET)
    out->tumbling_window_s = cfg->tumbling_window_s;
  if(cfg->function_response_types_given)
    out->function_response_types = cfg->function_response_types;
  if(cfg->filter_criteria_given &&
     ref_filter_set(out, cfg->filter_patterns, cfg->filter_count) != 0)
    oom = 1;
  if(cfg->on_failure_destination) {
    free(out->destination);
    out->destination = NULL;
    if(cfg->on_failure_destination[0] != '\0')
      out->destination = ref_strdup(cfg->on_failure_destination, &oom);
  }
  return oom;
}

esmc_status ref_config_from_create(struct ref_config *out,
                                   const struct esmc_mapping_config *cfg)
{
  int oom = 0;

  memset(out, 0, sizeof(*out));
  out->source = cfg->source;
  out->uuid = ref_strdup(cfg->uuid, &oom);
  out->event_source_arn = ref_strdup(cfg->event_source_arn, &oom);
  out->function_arn = ref_strdup(cfg->function_arn, &oom);
  out->role_arn = ref_strdup(cfg->role_arn ? cfg->role_arn : "", &oom);
  out->region = ref_strdup(cfg->region, &oom);
  out->enabled = 1;
  out->batch_size = (cfg->source == ESMC_SOURCE_SQS ||
                     cfg->source == ESMC_SOURCE_SQS_FIFO) ? 10 : 100; /* SQS */
  out->window_s = 0;
  out->starting_position = cfg->starting_position;
  out->starting_position_timestamp_ms = cfg->starting_position_timestamp_ms;
  out->parallelization_factor = 1;
  out->maximum_retry_attempts = -1;
  out->maximum_record_age_s = -1;
  out->bisect = 0;
  out->tumbling_window_s = 0;
  out->function_response_types = 0;
  out->destination = NULL;
  if(ref_config_apply(out, cfg) || oom) {
    ref_config_free(out);
    return ESMC_E_NOMEM;
  }
  return ESMC_OK;
}

esmc_status ref_config_from_update(struct ref_config *out,
                                   const struct ref_config *cur,
                                   const struct esmc_mapping_config *cfg)
{
  int oom = 0;

  *out = *cur;
  out->uuid = ref_strdup(cur->uuid, &oom);
  out->event_source_arn = ref_strdup(cur->event_source_arn, &oom);
  out->function_arn = ref_strdup(cur->function_arn, &oom);
  out->role_arn = ref_strdup(cur->role_arn, &oom);
  out->region = ref_strdup(cur->region, &oom);
  out->destination = ref_strdup(cur->destination, &oom);
  out->filters = NULL;
  out->filter_count = 0;
  if(ref_filter_set(out, (const char *const *)cur->filters,
                    cur->filter_count) != 0)
    oom = 1;
  if(oom || ref_config_apply(out, cfg)) {
    ref_config_free(out);
    return ESMC_E_NOMEM;
  }
  return ESMC_OK;
}

/*
 * scenario.h: the scenario model. A case file (cases/ *.json, read by the
 * loader) and a fuzz input (decoded by the fuzzers) both become a struct
 * esmc_scenario; the world runs it and the checkers judge it. Every string
 * and array here is owned by the scenario and freed by esmc_scenario_free().
 */
#ifndef ESMC_SCENARIO_H
#define ESMC_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "esmcheck_adapter.h"

/* A mapping configuration as a case states it. Integers hold ESMC_UNSET when
 * the case leaves the parameter out; strings are NULL when absent. */
struct esmc_config_spec {
  int32_t enabled;
  int32_t batch_size;
  int32_t maximum_batching_window_s;
  enum esmc_starting_position starting_position;
  int64_t starting_position_timestamp_ms; /* relative to the world's start */
  int starting_position_timestamp_given;
  int32_t parallelization_factor;
  int32_t maximum_retry_attempts;
  int32_t maximum_record_age_s;
  int32_t bisect_batch_on_function_error;
  int32_t tumbling_window_s;
  uint32_t function_response_types;
  int function_response_types_given;
  char *on_failure_destination;
  char **filter_patterns; /* raw JSON texts of Filter.Pattern */
  size_t filter_count;
  int filter_criteria_given;
  /* ABI v2, SQS (appended). */
  int32_t maximum_concurrency; /* ScalingConfig.MaximumConcurrency */
  int32_t scaling_profile;     /* 0 current, 1 legacy, or ESMC_UNSET */
};

/* One record the case puts into the stream. */
struct esmc_case_record {
  char *id;            /* the case's label, unique within the case: "r1" */
  int64_t at_ms;       /* when it is appended, relative to the world start */
  int32_t shard;       /* shard index, or -1: chosen from partition_key */
  char *partition_key; /* Kinesis partition key; DynamoDB: derived from keys */
  uint8_t *data;       /* Kinesis data bytes */
  size_t data_len;
  /* DynamoDB */
  enum esmc_ddb_event event_name; /* 0 when not given (INSERT) */
  char *keys_json;
  char *new_image_json;
  char *old_image_json;
  /* ABI v2, queues (appended). The body is data/data_len; partition_key is
   * the FIFO group (so function rules' `keys` match group ids), NULL on a
   * standard queue. */
  char *group;            /* FIFO MessageGroupId */
  char *deduplication_id; /* FIFO MessageDeduplicationId, NULL = none given */
  char **attr_names;      /* String message attributes, sorted by name */
  char **attr_values;
  size_t attr_count;
};

enum esmc_fn_action {
  ESMC_FN_OK = 0,        /* return `response` (empty when not given) */
  ESMC_FN_ERROR,         /* throw: FunctionError Unhandled */
  ESMC_FN_TIMEOUT,       /* run until the function timeout, then fail */
  ESMC_FN_THROTTLE,      /* 429 before running */
  ESMC_FN_SERVICE_ERROR, /* 500 before running */
  ESMC_FN_FAIL_ITEMS     /* return batchItemFailures naming fail_items */
};

/* One rule of the function's behaviour script. The first rule whose
 * conditions all hold decides an invocation; with none, the function returns
 * an empty response after the default duration. */
struct esmc_fn_rule {
  /* Conditions (absent = any). */
  char **contains;        /* record ids: the batch holds at least one */
  size_t contains_count;
  char **keys;            /* partition keys: a record of the batch has one */
  size_t keys_count;
  int64_t *invocations;   /* 1-based invocation numbers within the case */
  size_t invocations_count;
  int32_t attempt_min;    /* the batch's attempt number, 1 = first delivery */
  int32_t attempt_max;    /* (ESMC_UNSET = no bound) */
  int32_t times;          /* apply at most this often; 0 = no limit */
  /* Action. */
  enum esmc_fn_action action;
  char *response;         /* ESMC_FN_OK: raw response bytes */
  size_t response_len;
  int response_given;
  char **fail_items;      /* ESMC_FN_FAIL_ITEMS: record ids (or raw */
  size_t fail_items_count; /* identifiers when no record has that id) */
  int64_t duration_ms;    /* -1: the script's default */
  char *error_type;       /* ESMC_FN_ERROR: errorType, errorMessage */
  char *error_message;
  int64_t state_size;     /* ESMC_FN_OK: when > 0, return a tumbling-window
                             state {"state":{"pad":"xx…"}} with that many pad
                             bytes (for states too large for a case file) */
};

struct esmc_fn_script {
  int64_t default_duration_ms; /* default 10 */
  int32_t timeout_s;           /* the function timeout, default 3 */
  struct esmc_fn_rule *rules;
  size_t rule_count;
  char *name;                  /* a `functions` entry's name; NULL for the
                                  case's `function` */
};

enum esmc_case_event_kind {
  ESMC_CASE_UPDATE = 1,  /* UpdateEventSourceMapping with `update` */
  ESMC_CASE_RESTART = 2, /* destroy the mapper and create it again */
  ESMC_CASE_DESTINATION_DOWN = 3, /* destination sends fail until UP */
  ESMC_CASE_DESTINATION_UP = 4,
  /* Resharding (the world's shard plan, spec/case-format.md). */
  ESMC_CASE_SPLIT = 5,   /* SplitShard: shards[0] closes, two children open */
  ESMC_CASE_MERGE = 6,   /* MergeShards: shards[0] and shards[1] close, one
                            child opens (parent shards[0], adjacent parent
                            shards[1]) */
  ESMC_CASE_ROLLOVER = 7, /* DynamoDB style: shards[0] closes, one child with
                            the same hash-key range continues it */
  /* Account faults (spec/faults.md). */
  ESMC_CASE_FAULT = 8,   /* host calls fail from at_ms to fault.until_ms */
  ESMC_CASE_TRIM = 9     /* records of shards[0] (-1: every shard) appended
                            before trim_before_ms are trimmed now, as if the
                            retention period had passed */
};

/* The host calls a fault can hit (bit 1u << value in esmc_fault_spec.calls). */
enum esmc_fault_call {
  ESMC_FC_LIST_SHARDS = 0,
  ESMC_FC_GET_SHARD_ITERATOR,
  ESMC_FC_GET_RECORDS,
  ESMC_FC_SEND_TO_DESTINATION,
  ESMC_FC_GET_QUEUE_ATTRIBUTES,
  ESMC_FC_RECEIVE_MESSAGES,
  ESMC_FC_DELETE_MESSAGE,
  ESMC_FC_CHANGE_MESSAGE_VISIBILITY,
  ESMC_FC_COUNT
};
/* The call's name in case files and messages ("get_records"), or NULL. */
const char *esmc_fault_call_name(unsigned call);

/* A fault injected into host calls: while it is active (from its event's
 * at_ms up to, not including, until_ms), every `every`-th call (1 = all) of
 * the listed kinds made by the listed mapping fails with `error` and has no
 * effect. */
struct esmc_fault_spec {
  uint32_t calls;     /* bit set: 1u << enum esmc_fault_call */
  esmc_status error;  /* ESMC_E_THROTTLED, _SERVICE, _ACCESS_DENIED or
                         _EXPIRED_ITERATOR (get_records only) */
  int64_t until_ms;   /* when it heals; INT64_MAX: never */
  int32_t mapping;    /* mapping index, or -1: every mapping */
  int32_t every;      /* >= 1 */
};

struct esmc_case_event {
  int64_t at_ms;
  enum esmc_case_event_kind kind;
  struct esmc_config_spec update; /* ESMC_CASE_UPDATE */
  /* Expected outcome of an update: NULL = accepted. */
  char *expect_error_code;
  /* ESMC_CASE_SPLIT, _MERGE, _ROLLOVER: the shard indexes resharded (the
   * second only for a merge; -1 when unused). ESMC_CASE_TRIM: shards[0]. */
  int32_t shards[2];
  /* Appended for several mappings and faults. */
  int32_t mapping;         /* ESMC_CASE_UPDATE, _RESTART: the mapping index
                              (0 = the case's `mapping`) */
  struct esmc_fault_spec fault; /* ESMC_CASE_FAULT */
  int64_t trim_before_ms;  /* ESMC_CASE_TRIM */
};

/* One expected failure-destination message. Unset members are not judged. */
struct esmc_expect_dest {
  char *condition;            /* "RetryAttemptsExhausted", ... or NULL */
  int32_t batch_size;         /* ESMC_UNSET = any */
  char *first_id;             /* record id of startSequenceNumber */
  char *last_id;              /* record id of endSequenceNumber */
  int32_t approximate_invoke_count; /* ESMC_UNSET = any */
  int32_t has_response_context;     /* 1, 0, or ESMC_UNSET */
  char *function_error;       /* "Unhandled", "null" for JSON null, NULL = any */
};

struct esmc_expect {
  /* create() must be rejected: code, and a substring of the message. */
  char *config_error_code;
  char *config_error_message;
  /* Exact invocation sequence: batch i lists the record ids, in order, of the
   * i-th invocation (invocations are counted across all shards in start
   * order). batches == NULL: not judged. */
  char ***batches;
  size_t *batch_lens;
  size_t batch_count;
  int batches_given;
  int32_t invocation_count;   /* ESMC_UNSET = not judged */
  struct esmc_expect_dest *destinations; /* in send order */
  size_t destination_count;
  int destinations_given;
  char **delivered;           /* ids that must reach the function */
  size_t delivered_count;
  char **not_delivered;       /* ids that must never reach it */
  size_t not_delivered_count;
};

/* ABI v2: the queue of an "sqs" or "sqs_fifo" case (spec/case-format.md). */
struct esmc_queue_spec {
  char *name;                    /* NULL: "esmcheck-queue" (".fifo" added) */
  int32_t visibility_timeout_s;  /* default 30 */
  int32_t message_retention_s;   /* default 345600 */
  int32_t delay_s;               /* default 0 */
  int32_t receive_wait_time_s;   /* default 0 */
  int32_t max_receive_count;     /* 0 = no dead-letter queue */
  int32_t content_based_deduplication; /* FIFO */
  int32_t duplicate_every;       /* fault: every Nth receive of a standard
                                    queue also returns an in-flight message;
                                    0 = never */
};

/* A mapping after the first (the case's `mappings`, spec/case-format.md).
 * Mapping 0 is the case's `mapping`, whose members stay in the scenario
 * (config, create_at_ms, expect, function). */
struct esmc_mapping_spec {
  char *name;                     /* [a-z0-9-]+, unique; mapping 0: "main" */
  struct esmc_config_spec config;
  int64_t create_at_ms;
  uint32_t function;              /* 0: the case's `function`; i >= 1:
                                     functions[i - 1] */
  struct esmc_expect expect;
};

struct esmc_scenario {
  /* Identity. */
  char *id;          /* stable id; equals the file name without .json */
  char *description;
  char **rules;      /* spec rule ids, e.g. "RETRY-1" */
  size_t rule_count;
  char **tags;
  size_t tag_count;
  uint64_t requires; /* ESMC_CAP_* bits the adapter must claim */
  char *path;        /* where it was loaded from, or NULL */

  /* The world. */
  enum esmc_source source;
  char *stream_name;       /* default "esmcheck-stream" */
  int32_t shard_count;     /* default 1 */
  int64_t retention_ms;    /* default: Kinesis 24 h, DynamoDB 24 h */
  char *stream_view_type;  /* DynamoDB, default NEW_AND_OLD_IMAGES */
  int64_t start_epoch_ms;  /* the world's t = 0; default 2024-01-01T00:00Z */
  int64_t run_until_ms;    /* simulated horizon; default: until quiescent */
  struct esmc_case_record *records;
  size_t record_count;
  struct esmc_fn_script function;

  /* The mapping. */
  struct esmc_config_spec config;
  int64_t create_at_ms;    /* when the mapping is created; default 0 */

  /* The timeline. */
  struct esmc_case_event *events;
  size_t event_count;

  struct esmc_expect expect;

  /* ABI v2 (appended): the queue, for source SQS and SQS_FIFO. */
  struct esmc_queue_spec queue;

  /* Several mappings (appended): mappings 1 .. extra_count, and the
   * functions they may name besides the case's `function`. */
  struct esmc_mapping_spec *extra;
  size_t extra_count;
  struct esmc_fn_script *functions;
  size_t function_count;
  /* In a view made by esmc_scenario_mapping_view(): the mapping it shows
   * (events of other mappings are theirs); 0 in a loaded scenario. */
  uint32_t view_of;
};

/* How many mappings the scenario has (1 + extra_count). */
size_t esmc_scenario_mapping_count(const struct esmc_scenario *s);
/* The name of mapping i ("main" for 0). */
const char *esmc_scenario_mapping_name(const struct esmc_scenario *s,
                                       size_t i);
/* The function script of mapping i. */
const struct esmc_fn_script *
esmc_scenario_mapping_function(const struct esmc_scenario *s, size_t i);
/* A read-only view of s as if mapping i were its only mapping: a shallow
 * copy whose config, create_at_ms, function and expect are mapping i's and
 * whose events are s's (events of other mappings stay, their `mapping`
 * says whose they are). The view owns nothing: never free it, and it lives
 * no longer than s. */
void esmc_scenario_mapping_view(const struct esmc_scenario *s, size_t i,
                                struct esmc_scenario *view);

/* The index of the mapping named name: 0 for "main", i + 1 for extra[i];
 * -1 when no mapping has that name (or name is NULL). */
int esmc_scenario_mapping_index(const struct esmc_scenario *s,
                                const char *name);

/* An event's defaults whatever its kind (zero-filled otherwise): an update
 * that changes nothing, no shards, mapping 0, and a fault that hits every
 * call of every mapping and never heals (every 1, mapping -1, until_ms
 * INT64_MAX). */
void esmc_case_event_init(struct esmc_case_event *ev);

/* Drop every exact expectation of e (leaving none, as after init). */
void esmc_expect_clear(struct esmc_expect *e);

/* Fill s with defaults (no records, no rules, nothing expected). */
void esmc_scenario_init(struct esmc_scenario *s);
/* Free everything s owns; s may be zero-filled. Leaves s zero-filled. */
void esmc_scenario_free(struct esmc_scenario *s);
void esmc_config_spec_init(struct esmc_config_spec *c);
void esmc_config_spec_free(struct esmc_config_spec *c);

/* Capability names ("kinesis", "partial_batch", ...) <-> ESMC_CAP_* bits. */
uint64_t esmc_cap_from_name(const char *name); /* 0 when unknown */
/* The lowercase name of one bit, or NULL. */
const char *esmc_cap_name(uint64_t bit);

#endif /* ESMC_SCENARIO_H */

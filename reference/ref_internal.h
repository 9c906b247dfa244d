/*
 * ref_internal.h: the reference mapper's internal pieces, exposed so unit
 * tests and fuzz targets can call them directly. Nothing here is part of the
 * adapter ABI; only spec/esmcheck_adapter.h is.
 */
#ifndef REF_INTERNAL_H
#define REF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "esmcheck_adapter.h"

/* The synchronous invoke payload limit (6 MB). */
#define REF_PAYLOAD_MAX ((size_t)6291456)

/* ------------------------------------------------------------------------ */
/* Growable byte buffer. A failed allocation sets oom and makes later appends
 * no-ops. With measure set nothing is stored: only len grows, which is how
 * the payload builder sizes records without writing them. */

struct ref_buf {
  char *data;
  size_t len;
  size_t cap;
  int oom;
  int measure;
};

void ref_buf_free(struct ref_buf *b);
void ref_buf_append(struct ref_buf *b, const char *s, size_t n);
void ref_buf_puts(struct ref_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included; NULL gives "". */
void ref_buf_json_str(struct ref_buf *b, const char *s);
void ref_buf_json_strn(struct ref_buf *b, const char *s, size_t n);
void ref_buf_base64(struct ref_buf *b, const uint8_t *p, size_t n);
void ref_buf_int(struct ref_buf *b, int64_t v);

/* ------------------------------------------------------------------------ */
/* Sequence numbers and function responses (ref_json.c). */

/* Compares two decimal sequence numbers as unbounded integers: negative,
 * zero or positive like strcmp. Leading zeros are ignored; NULL sorts first. */
int ref_seq_compare(const char *a, const char *b);

/* 1 when text[0..len) is exactly one well-formed JSON value (RFC 8259),
 * optionally surrounded by whitespace; 0 otherwise. Nesting is limited to
 * 512 levels. */
int ref_json_valid(const char *text, size_t len);

enum ref_response {
  REF_RESPONSE_SUCCESS = 0, /* the whole batch succeeded */
  REF_RESPONSE_PARTIAL = 1, /* *lowest_failed_index is the first to retry */
  REF_RESPONSE_INVALID = 2  /* a whole-batch failure */
};

/*
 * Interprets a function's raw response under ReportBatchItemFailures.
 * batch_seqs[0..n) are the batch's sequence numbers in batch order. Returns
 * an enum ref_response; on REF_RESPONSE_PARTIAL *lowest_failed_index is the
 * index in batch_seqs of the lowest failed sequence number. Allocation
 * failure is reported as REF_RESPONSE_INVALID (the batch is retried).
 */
int ref_parse_batch_response(const uint8_t *body, size_t len,
                             const char *const *batch_seqs, size_t n,
                             size_t *lowest_failed_index);

/* ------------------------------------------------------------------------ */
/* Configuration (ref_config.c). */

struct ref_config {
  enum esmc_source source;
  char *uuid;
  char *event_source_arn;
  char *function_arn;
  char *role_arn;
  char *region;
  int enabled;
  int32_t batch_size;
  int32_t window_s;
  enum esmc_starting_position starting_position;
  esmc_time_ms starting_position_timestamp_ms;
  int32_t parallelization_factor;
  int32_t maximum_retry_attempts;
  int32_t maximum_record_age_s;
  int bisect;
  int32_t tumbling_window_s;
  uint32_t function_response_types;
  char *destination; /* NULL when none */
  char **filters;    /* FilterCriteria pattern texts (ref_filter.c) */
  size_t filter_count;
};

/* ---- Event filtering (ref_filter.c). ---- */

/* At most 5 filters (the default quota, CONTRA-9) of 4096 characters. */
#define REF_FILTER_MAX 5
#define REF_FILTER_PATTERN_MAX 4096

/* Validates FilterCriteria patterns (FILTER-10): ESMC_OK, or
 * ESMC_E_INVALID_PARAMETER with InvalidParameterValueException "Invalid
 * filter pattern definition." in err (err may be NULL). */
esmc_status ref_filter_validate(const char *const *patterns, size_t n,
                                struct esmc_error *err);
/* 1 when record r matches one of c's filters (or c has none), 0 when the
 * filters drop it (FILTER-1..8). */
int ref_filter_match_record(const struct ref_config *c,
                            const struct esmc_record *r);
/* Replaces c's patterns with copies of patterns[0, n): 0, or -1 when out of
 * memory (c unchanged). ref_filter_clear() frees them. */
int ref_filter_set(struct ref_config *c, const char *const *patterns,
                   size_t n);
void ref_filter_clear(struct ref_config *c);

/*
 * Validates cfg like CreateEventSourceMapping (is_update 0) or
 * UpdateEventSourceMapping (is_update 1: only the members given). For an
 * update, cur is the mapping's current configuration (source and ARN come
 * from it); for a create it is NULL. now is the virtual time (AT_TIMESTAMP
 * check). Returns ESMC_OK, or ESMC_E_INVALID_PARAMETER / ESMC_E_UNSUPPORTED
 * with err filled in (err may be NULL).
 */
esmc_status ref_config_validate(const struct esmc_mapping_config *cfg,
                                const struct ref_config *cur, int is_update,
                                esmc_time_ms now, struct esmc_error *err);

/* Fills out from a validated create configuration, applying AWS defaults.
 * Returns ESMC_OK or ESMC_E_NOMEM (out is then freed). */
esmc_status ref_config_from_create(struct ref_config *out,
                                   const struct esmc_mapping_config *cfg);

/* Makes out a copy of cur with the given members of a validated update
 * applied. Returns ESMC_OK or ESMC_E_NOMEM (out is then freed). */
esmc_status ref_config_from_update(struct ref_config *out,
                                   const struct ref_config *cur,
                                   const struct esmc_mapping_config *cfg);

/* FAULT-7: fills err with AWS's answer to a create whose role cannot read
 * the source (InvalidParameterValueException; the message names the stream
 * ARN and the actions, or the SQS call) and returns
 * ESMC_E_INVALID_PARAMETER. */
esmc_status ref_config_access_denied(const struct esmc_mapping_config *cfg,
                                     struct esmc_error *err);

void ref_config_free(struct ref_config *c);

/* ------------------------------------------------------------------------ */
/* Payloads and failure records (ref_payload.c). */

/* Appends one event record object (EVT-KIN-1 / EVT-DDB-1). */
void ref_append_record_json(struct ref_buf *b, const struct ref_config *c,
                            const struct esmc_record *r);
/* The byte length ref_append_record_json() would append. */
size_t ref_record_json_len(const struct ref_config *c,
                           const struct esmc_record *r);
/* Bytes of the event wrapper {"Records":[ and ]} around the records. */
#define REF_EVENT_OVERHEAD ((size_t)14)
/* Appends the whole event {"Records":[...]}. */
void ref_build_event(struct ref_buf *b, const struct ref_config *c,
                     const struct esmc_record *const *recs, size_t n);

/* The tumbling-window fields of an event (TW-2). */
struct ref_window_event {
  esmc_time_ms start, end; /* the window [start, end) */
  const char *state;       /* the carried state, a JSON object; NULL: {} */
  size_t state_len;
  const char *shard_id;
  int final;               /* isFinalInvokeForWindow */
  int early;               /* isWindowTerminatedEarly */
};

/* Appends the event {"Records":[...]} and, when w is not NULL, the
 * tumbling-window fields after Records, in this order: window {start, end}
 * (ISO-8601 UTC, whole seconds), state, shardId, eventSourceARN,
 * isFinalInvokeForWindow, isWindowTerminatedEarly. recs may be NULL when
 * n is 0. */
void ref_build_window_event(struct ref_buf *b, const struct ref_config *c,
                            const struct esmc_record *const *recs, size_t n,
                            const struct ref_window_event *w);

/* Writes a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ (with_ms) or
 * YYYY-MM-DDTHH:MM:SSZ, truncated to size. */
void ref_format_iso(char *out, size_t size, esmc_time_ms t, int with_ms);
/* Splits a time into civil UTC fields. */
void ref_civil_time(esmc_time_ms t, int *year, int *month, int *day, int *hour,
                    int *minute, int *second, int *millis);
/* Writes a deterministic UUID-looking id (36 chars + NUL) derived from seed
 * and counter. out must hold 37 bytes. */
void ref_make_uuid(char *out, size_t size, const char *seed, uint64_t counter);

struct ref_failure {
  const char *condition;  /* "RetryAttemptsExhausted" or "RecordAgeExceeded" */
  const char *request_id;
  int64_t invoke_count;
  int has_response;       /* 0: no responseContext key (RecordAgeExceeded) */
  int32_t status_code;
  const char *executed_version;
  const char *function_error; /* NULL: JSON null */
  esmc_time_ms now;
  const char *shard_id;
  const struct esmc_record *const *records;
  size_t n;               /* at least 1 */
  int include_payload;    /* S3 destinations: payload.Records */
};

/* Appends one on-failure record (DEST-2..6). */
void ref_build_failure_record(struct ref_buf *b, const struct ref_config *c,
                              const struct ref_failure *f);

/* Writes the S3 object key aws/lambda/<uuid>/<shard>/YYYY/MM/DD/
 * YYYY-MM-DDTHH.MM.SS-<object_uuid>. Returns 0, or -1 if it did not fit. */
int ref_s3_object_key(char *out, size_t size, const char *mapping_uuid,
                      const char *shard_id, esmc_time_ms now,
                      const char *object_uuid);

/* What an OnFailure ARN names: 1 an SQS queue or SNS topic, 2 an S3 bucket,
 * 0 anything else (invalid). */
int ref_destination_kind(const char *arn);

/* ------------------------------------------------------------------------ */
/* SQS sources (ref_sqs.c; validation in ref_config.c, response parsing in
 * ref_json.c, filtering in ref_filter.c). */

/* ScalingConfig.MaximumConcurrency of cfg, ESMC_UNSET when not given or
 * when the host's struct predates ABI v2. */
int32_t ref_cfg_max_concurrency(const struct esmc_mapping_config *cfg);

/* Like ref_parse_batch_response with messageIds as identifiers; on
 * REF_RESPONSE_PARTIAL failed[k] is 1 for every listed message (failed[]
 * holds n bytes and is cleared first). */
int ref_parse_sqs_response(const uint8_t *body, size_t len,
                           const char *const *message_ids, size_t n,
                           unsigned char *failed);

/* Matches an SQS message's filter view (the event record as JSON, with
 * "body" parsed when body_json) against c's filters (FILTER-8). */
int ref_filter_match_view(const struct ref_config *c, const char *view_text,
                          size_t len, int body_json);

/* Appends one SQS event record (EVT-SQS-1). With body_as_json the body is
 * written raw (it must be valid JSON): the filter view. */
void ref_sqs_append_record_json(struct ref_buf *b, const struct ref_config *c,
                                const struct esmc_message *msg,
                                int body_as_json);

/* The SQS poller: the adapter callbacks for SQS and SQS FIFO mappings.
 * ref_mapper.c dispatches to them; the mapper pointer is a struct ref_sqs. */
struct ref_sqs;
esmc_status ref_sqs_create(const struct esmc_host *host,
                           const struct esmc_mapping_config *cfg,
                           struct ref_sqs **out, struct esmc_error *err);
esmc_status ref_sqs_on_timer(struct ref_sqs *q, uint64_t token);
esmc_status ref_sqs_on_invoke_complete(struct ref_sqs *q, esmc_invocation inv,
                                       const struct esmc_invoke_result *r);
esmc_status ref_sqs_on_receive_complete(struct ref_sqs *q, esmc_receive rcv,
                                        const struct esmc_receive_result *r);
esmc_status ref_sqs_update(struct ref_sqs *q,
                           const struct esmc_mapping_config *cfg,
                           struct esmc_error *err);
void ref_sqs_destroy(struct ref_sqs *q);
/* The current concurrency target (number of batches that may be in hand). */
int32_t ref_sqs_concurrency(const struct ref_sqs *q);

/* 1 when create() resumes a mapping after a restart (cfg->restart, read
 * only when the host's struct has it): no permission check then (FAULT-7). */
static inline int ref_cfg_restart(const struct esmc_mapping_config *cfg)
{
  return cfg->struct_size >= offsetof(struct esmc_mapping_config, restart) +
                                 sizeof(cfg->restart) &&
         cfg->restart;
}

/* Exponential backoff: base * 2^(k-1) after the k-th failure in a row,
 * capped at max (throttled invokes, FAULT-8 host-call faults). */
static inline esmc_time_ms ref_exp_backoff(int64_t k, esmc_time_ms base,
                                           esmc_time_ms max)
{
  esmc_time_ms d = base;
  while(k > 1 && d < max) {
    d *= 2;
    k--;
  }
  return d < max ? d : max;
}

#endif /* REF_INTERNAL_H */

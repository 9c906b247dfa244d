/*
 * esmcheck_adapter.h: the esmcheck adapter ABI, version 2 (version 1 plus
 * SQS queues; a version 1 adapter still loads and runs stream cases).
 *
 * This header IS the contract between the esmcheck harness (the host) and an
 * event source mapper under test (the guest). It is self-contained: C99 or
 * later, no other esmcheck header, no library to link. The host owns the world
 * the mapper lives in: the virtual clock and timers, the stream shards and
 * their records, the function, the failure destinations and the checkpoint
 * store. The mapper reaches them only through the host calls below, and every
 * host call is recorded in the run's history, which is what esmcheck judges.
 *
 * Shape of a run
 * --------------
 *   1. The host loads the adapter (linked in, or dlopen'ed and looked up by
 *      the one exported symbol ESMC_ADAPTER_ENTRY_SYMBOL), calls the entry
 *      with its own ABI version and checks the returned table: abi_version,
 *      struct_size and every REQUIRED member, before any other call.
 *   2. For each mapping in a case the host calls create() with a host table
 *      and a mapping configuration. The mapper validates the configuration
 *      (rejecting it like AWS would, with an error code and message) and, when
 *      enabled, arms a timer or reads the source right away.
 *   3. From then on the mapper is purely event driven and single threaded:
 *      the host calls on_timer(), on_invoke_complete() and update(), and the
 *      mapper answers with host calls made during those callbacks. A mapper
 *      never blocks, never sleeps and never reads a real clock; time advances
 *      only between callbacks.
 *   4. destroy() ends the mapping (at the end of the case, or mid-run to
 *      simulate a restart; create() is then called again with the same
 *      configuration and the mapper must resume from the checkpoint store).
 *
 * Versioning
 * ----------
 * Both structs the adapter fills or reads start with abi_version and
 * struct_size. Members are only ever appended; a group added later is marked
 * "vN and later". A host built for version N accepts adapters of version 1..N
 * and never touches a member beyond the struct_size the adapter gave.
 * Likewise a mapper must not read a host member beyond host->struct_size.
 *
 * Ownership and lifetimes
 * -----------------------
 *   - Every pointer the host passes is BORROWED: valid only for the duration
 *     of the call that passes it, unless the member's comment says otherwise.
 *   - Stream records (struct esmc_record) are the exception: the host keeps
 *     them alive and unchanged until destroy() of the mapping returns, so a
 *     mapper may hold record pointers across callbacks (for batching windows
 *     and retries) without copying them.
 *   - Every pointer the mapper passes to a host call is borrowed by the host
 *     for that call only; the host copies what it keeps.
 *   - The adapter table and its strings are static: they live as long as the
 *     adapter's code is loaded.
 *
 * Errors
 * ------
 * Functions return esmc_status: ESMC_OK (0) or a negative code from the table
 * below. A mapper callback returning a code below ESMC_E_FATAL tells the host
 * the mapper is broken; the case gets the ERROR verdict.
 */
#ifndef ESMCHECK_ADAPTER_H
#define ESMCHECK_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. */
#define ESMC_ABI_VERSION 2

/* The symbol a shared-object adapter exports (see ESMC_ADAPTER_ENTRY). */
#define ESMC_ADAPTER_ENTRY_SYMBOL "esmc_adapter_entry"

#if defined(_WIN32)
#define ESMC_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define ESMC_EXPORT __attribute__((visibility("default")))
#else
#define ESMC_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Status codes. Append only; never renumber.                                */

#define ESMC_STATUS_MAP(X)                                                     \
  X(OK, 0, "success")                                                          \
  X(E_NOMEM, -1, "out of memory")                                              \
  X(E_INVALID_PARAMETER, -2, "invalid parameter value")                        \
  X(E_UNSUPPORTED, -3, "not supported by this implementation")                 \
  X(E_NOT_FOUND, -4, "no such shard, iterator, invocation or key")             \
  X(E_THROTTLED, -5, "request throttled; try again later")                     \
  X(E_EXPIRED_ITERATOR, -6, "shard iterator expired")                          \
  X(E_TRIMMED, -7, "requested position was trimmed from the stream")           \
  X(E_SERVICE, -8, "transient service error; try again later")                 \
  X(E_ACCESS_DENIED, -9, "the mapping's role lacks a permission")              \
  X(E_STATE, -10, "call not valid in the current state")                       \
  X(E_FATAL, -100, "mapper broke down; codes at or below this are fatal")      \
  X(E_INTERNAL, -101, "internal error in the mapper")

typedef enum esmc_status {
#define ESMC_X_(name, val, msg) ESMC_##name = (val),
  ESMC_STATUS_MAP(ESMC_X_)
#undef ESMC_X_
} esmc_status;

/* Virtual time: milliseconds since the Unix epoch, UTC. */
typedef int64_t esmc_time_ms;

/* "Not given" for optional integer configuration members. */
#define ESMC_UNSET INT32_MIN

/* ------------------------------------------------------------------------ */
/* Capabilities: what a mapper claims. A case needing a capability the       */
/* adapter lacks is UNSUPPORTED, never FAIL. Append only.                    */

#define ESMC_CAP_KINESIS (UINT64_C(1) << 0)        /* Kinesis streams */
#define ESMC_CAP_DYNAMODB (UINT64_C(1) << 1)       /* DynamoDB streams */
#define ESMC_CAP_SQS (UINT64_C(1) << 2)            /* SQS standard (ABI v2) */
#define ESMC_CAP_SQS_FIFO (UINT64_C(1) << 3)       /* SQS FIFO (ABI v2) */
#define ESMC_CAP_BATCH_WINDOW (UINT64_C(1) << 4)   /* MaximumBatchingWindow */
#define ESMC_CAP_AT_TIMESTAMP (UINT64_C(1) << 5)   /* StartingPosition AT_TIMESTAMP */
#define ESMC_CAP_RETRY_LIMIT (UINT64_C(1) << 6)    /* MaximumRetryAttempts */
#define ESMC_CAP_RECORD_AGE (UINT64_C(1) << 7)     /* MaximumRecordAgeInSeconds */
#define ESMC_CAP_BISECT (UINT64_C(1) << 8)         /* BisectBatchOnFunctionError */
#define ESMC_CAP_PARTIAL_BATCH (UINT64_C(1) << 9)  /* ReportBatchItemFailures */
#define ESMC_CAP_ON_FAILURE (UINT64_C(1) << 10)    /* OnFailure SQS/SNS destination */
#define ESMC_CAP_ON_FAILURE_S3 (UINT64_C(1) << 11) /* OnFailure S3 destination */
#define ESMC_CAP_PARALLELIZATION (UINT64_C(1) << 12) /* ParallelizationFactor > 1 */
#define ESMC_CAP_FILTER (UINT64_C(1) << 13)        /* FilterCriteria */
#define ESMC_CAP_TUMBLING_WINDOW (UINT64_C(1) << 14) /* TumblingWindowInSeconds */
#define ESMC_CAP_RESHARDING (UINT64_C(1) << 15)    /* shard splits and merges */
#define ESMC_CAP_UPDATE (UINT64_C(1) << 16)        /* update() at run time */
#define ESMC_CAP_RESTART (UINT64_C(1) << 17)       /* resume from checkpoints */
#define ESMC_CAP_VALIDATION (UINT64_C(1) << 18)    /* rejects bad configurations */
#define ESMC_CAP_ENABLED_FLAG (UINT64_C(1) << 19)  /* Enabled false/true */

/* ------------------------------------------------------------------------ */
/* The mapping configuration (CreateEventSourceMapping parameters).          */

enum esmc_source {
  ESMC_SOURCE_KINESIS = 1,
  ESMC_SOURCE_DYNAMODB = 2,
  ESMC_SOURCE_SQS = 3,      /* reserved for ABI v2 */
  ESMC_SOURCE_SQS_FIFO = 4  /* reserved for ABI v2 */
};

enum esmc_starting_position {
  ESMC_START_UNSET = 0, /* not given: AWS rejects this for streams */
  ESMC_START_TRIM_HORIZON = 1,
  ESMC_START_LATEST = 2,
  ESMC_START_AT_TIMESTAMP = 3
};

/* Bits of function_response_types. */
#define ESMC_FRT_REPORT_BATCH_ITEM_FAILURES (UINT32_C(1) << 0)

/*
 * The configuration handed to create() and update(). Every pointer and the
 * struct itself are borrowed for the call: a mapper copies what it keeps.
 * Integer members hold ESMC_UNSET when the case left the parameter out; the
 * mapper applies the AWS default (that is part of what is tested). For
 * update(), ESMC_UNSET and NULL mean "unchanged".
 */
struct esmc_mapping_config {
  uint32_t abi_version;  /* ESMC_ABI_VERSION of the host */
  uint32_t struct_size;  /* sizeof(struct esmc_mapping_config) of the host */
  enum esmc_source source;
  const char *uuid;               /* the mapping's UUID; never NULL */
  const char *event_source_arn;   /* stream ARN; never NULL */
  const char *function_arn;       /* unqualified function ARN; never NULL */
  const char *role_arn;           /* execution role (invokeIdentityArn) */
  const char *region;             /* e.g. "us-east-1"; never NULL */
  int32_t enabled;                /* 1, 0, or ESMC_UNSET (default true) */
  int32_t batch_size;             /* BatchSize */
  int32_t maximum_batching_window_s; /* MaximumBatchingWindowInSeconds */
  enum esmc_starting_position starting_position;
  esmc_time_ms starting_position_timestamp_ms; /* AT_TIMESTAMP only */
  int32_t parallelization_factor; /* ParallelizationFactor */
  int32_t maximum_retry_attempts; /* MaximumRetryAttempts; -1 = infinite */
  int32_t maximum_record_age_s;   /* MaximumRecordAgeInSeconds; -1 = infinite */
  int32_t bisect_batch_on_function_error; /* 1, 0 or ESMC_UNSET */
  int32_t tumbling_window_s;      /* TumblingWindowInSeconds */
  uint32_t function_response_types; /* ESMC_FRT_* bits */
  int32_t function_response_types_given; /* 0: left out (update: unchanged) */
  const char *on_failure_destination; /* OnFailure ARN; NULL or "" = none */
  const char *const *filter_patterns; /* FilterCriteria.Filters[].Pattern */
  size_t filter_count;            /* entries in filter_patterns */
  int32_t filter_criteria_given;  /* 0: left out (update: unchanged) */
  int32_t function_timeout_s;     /* the function's configured timeout */
  /* v1 ends here. */
  /* v2 and later: SQS. */
  int32_t maximum_concurrency;    /* ScalingConfig.MaximumConcurrency, or
                                     ESMC_UNSET (no cap) */
  int32_t scaling_profile;        /* esmcheck's choice of AWS generation for
                                     SQS scaling: 0 current (start at 5, +300
                                     per minute, up to 1250), 1 legacy (+60
                                     per minute, up to 1000) */
  /* v2 ends here; later versions append below. */
  /* Appended in esmcheck 1.1 (read it only when struct_size covers it). */
  int32_t restart;                /* create(): 1 when it resumes a mapping
                                     that already existed, after a restart
                                     of the mapper. AWS validated the mapping
                                     when it was created: a permission the
                                     role lacks now is a run-time fault to
                                     back off from, not a reason to reject
                                     it (FAULT-7). 0 otherwise. */
};

/* ------------------------------------------------------------------------ */
/* Streams as the host presents them (Kinesis and DynamoDB Streams).         */

/* Sequence numbers are decimal strings without leading zeros; compare them
 * as unbounded integers (a shorter string is a smaller number), never with
 * strcmp alone. */

struct esmc_shard {
  const char *shard_id;            /* "shardId-000000000000" */
  const char *parent_shard_id;     /* NULL for an original shard */
  const char *adjacent_parent_shard_id; /* NULL unless the shard is a merge */
  const char *starting_sequence_number;
  const char *ending_sequence_number;   /* NULL while the shard is open */
};

/* DynamoDB event names. */
enum esmc_ddb_event { ESMC_DDB_INSERT = 1, ESMC_DDB_MODIFY = 2, ESMC_DDB_REMOVE = 3 };

/*
 * One stream record. Owned by the host; valid and unchanged until destroy()
 * of the mapping that read it returns.
 */
struct esmc_record {
  const char *shard_id;
  const char *sequence_number;
  const char *partition_key;  /* Kinesis; for DynamoDB the item's key, as text */
  const uint8_t *data;        /* Kinesis payload bytes (not base64) */
  size_t data_len;
  esmc_time_ms approximate_arrival_ms; /* Kinesis approximateArrivalTimestamp,
                                          DynamoDB ApproximateCreationDateTime */
  /* DynamoDB only (NULL/0 for Kinesis). JSON texts are DynamoDB-typed JSON. */
  const char *event_id;        /* DynamoDB eventID */
  enum esmc_ddb_event ddb_event_name;
  const char *ddb_keys_json;   /* {"id":{"S":"a"}} */
  const char *ddb_new_image_json; /* NULL when absent */
  const char *ddb_old_image_json; /* NULL when absent */
  const char *ddb_stream_view_type; /* "NEW_AND_OLD_IMAGES", ... */
  uint64_t ddb_size_bytes;
};

enum esmc_iterator_type {
  ESMC_ITER_TRIM_HORIZON = 1,
  ESMC_ITER_LATEST = 2,
  ESMC_ITER_AT_TIMESTAMP = 3,
  ESMC_ITER_AT_SEQUENCE_NUMBER = 4,
  ESMC_ITER_AFTER_SEQUENCE_NUMBER = 5
};

/* Shard iterators are opaque non-zero handles. 0 means "none". */
typedef uint64_t esmc_iterator;

/* What get_records() returns. Borrowed: records[] (the array, not the
 * records it points to) is valid until the next get_records() call of this
 * mapping. */
struct esmc_get_records_result {
  const struct esmc_record *const *records;
  size_t count;
  esmc_iterator next_iterator; /* 0: the shard is closed and fully read */
  int64_t millis_behind_latest;
};

/* ------------------------------------------------------------------------ */
/* Queues as the host presents them (ABI v2: SQS standard and FIFO).         */

/* GetQueueAttributes, the subset a mapper needs. */
struct esmc_queue_attributes {
  uint32_t struct_size;          /* set by the host */
  int32_t fifo;                  /* 1 for a FIFO queue */
  int32_t visibility_timeout_s;  /* the queue's default */
  int32_t message_retention_s;
  int32_t delay_s;
  int32_t receive_wait_time_s;
  int32_t max_receive_count;     /* redrive policy; 0 = no dead-letter queue */
  const char *dead_letter_target_arn; /* NULL = none */
  int32_t content_based_deduplication;
};

struct esmc_message_attribute {
  const char *name;
  const char *data_type;         /* "String", "Number", "Binary" */
  const char *string_value;      /* String and Number */
  const uint8_t *binary_value;   /* Binary */
  size_t binary_len;
};

/*
 * One received message. Owned by the host; valid and unchanged until
 * destroy() of the mapping that received it returns. Each receive of a
 * message is a new struct with its own receipt handle and receive count.
 */
struct esmc_message {
  const char *message_id;
  const char *receipt_handle;    /* of this receive */
  const char *body;              /* not NUL-terminated in general: body_len */
  size_t body_len;
  const char *md5_of_body;       /* hex MD5 of the body */
  esmc_time_ms sent_timestamp_ms;
  esmc_time_ms first_receive_timestamp_ms;
  uint32_t approximate_receive_count; /* including this receive */
  const char *sender_id;
  const char *message_group_id;  /* FIFO; NULL otherwise */
  const char *message_deduplication_id; /* FIFO; NULL otherwise */
  const char *sequence_number;   /* FIFO; NULL otherwise */
  const struct esmc_message_attribute *attributes;
  size_t attribute_count;
  const char *md5_of_message_attributes; /* NULL when no attributes */
};

/* Receive handles are non-zero and unique within a run. */
typedef uint64_t esmc_receive;

/* Passed to on_receive_complete(); the struct and the array are borrowed,
 * the messages they point to live until destroy(). */
struct esmc_receive_result {
  uint32_t struct_size;
  esmc_status status;            /* ESMC_OK, or why the receive failed */
  const struct esmc_message *const *messages;
  size_t count;                  /* 0..max_messages */
};

/* ------------------------------------------------------------------------ */
/* Invocations.                                                              */

enum esmc_invoke_outcome {
  /* The function ran and returned; payload holds its raw response bytes
   * (possibly empty). status_code is 200, function_error is NULL. */
  ESMC_INVOKE_OK = 0,
  /* The function ran and failed: it threw, timed out or crashed.
   * status_code is 200, function_error is "Unhandled", payload is the error
   * document. This is a "during invocation" error. */
  ESMC_INVOKE_FUNCTION_ERROR = 1,
  /* The invoke was throttled (429) and the function did not run. */
  ESMC_INVOKE_THROTTLED = 2,
  /* Lambda failed (5xx) before running the function. */
  ESMC_INVOKE_SERVICE_ERROR = 3
};

/* Passed to on_invoke_complete(); it and all its pointers are borrowed. */
struct esmc_invoke_result {
  uint32_t struct_size;
  enum esmc_invoke_outcome outcome;
  int32_t status_code;         /* HTTP status of the Invoke call */
  const char *function_error;  /* X-Amz-Function-Error, or NULL */
  const char *executed_version; /* "$LATEST" */
  const char *request_id;      /* the invocation's request id */
  const uint8_t *payload;      /* raw response bytes; not NUL-terminated */
  size_t payload_len;
};

/* Invocation handles are non-zero and unique within a run. */
typedef uint64_t esmc_invocation;

/* Log levels for host->log. */
enum esmc_log_level { ESMC_LOG_DEBUG = 0, ESMC_LOG_INFO = 1, ESMC_LOG_WARN = 2, ESMC_LOG_ERROR = 3 };

/* ------------------------------------------------------------------------ */
/* The host table: handed to create(), valid until destroy() returns. Every  */
/* member is present in v1; ctx must be passed back as the first argument.   */

struct esmc_host {
  uint32_t abi_version;  /* the host's ESMC_ABI_VERSION */
  uint32_t struct_size;  /* sizeof(struct esmc_host) of the host */
  void *ctx;             /* opaque; one per mapping */

  /* The virtual clock. */
  esmc_time_ms (*now)(void *ctx);

  /* Arm a one-shot timer: on_timer(mapper, token) is called at time `at`
   * (or at once, in a later turn, if `at` is not in the future). Arming a
   * token that is already armed moves it. Returns ESMC_OK. */
  esmc_status (*set_timer)(void *ctx, esmc_time_ms at, uint64_t token);
  /* Disarm a timer; ESMC_E_NOT_FOUND if it was not armed. */
  esmc_status (*cancel_timer)(void *ctx, uint64_t token);

  /* Account faults (spec/faults.md). Besides the codes each call lists,
   * every source call below may fail with ESMC_E_THROTTLED, ESMC_E_SERVICE
   * or ESMC_E_ACCESS_DENIED when the case injects a fault: the call then has
   * no effect, and the mapper backs off and tries again (FAULT-1, FAULT-4,
   * FAULT-8). Several mappings may share one adapter: each create() is a
   * mapping of its own, with its own host context and checkpoint store. */

  /* A log line for the run's timeline; msg is copied. */
  void (*log)(void *ctx, enum esmc_log_level level, const char *msg);

  /* Streams: ListShards. *shards is borrowed until the next list_shards()
   * call of this mapping or destroy(). */
  esmc_status (*list_shards)(void *ctx, const struct esmc_shard **shards,
                             size_t *count);
  /* Streams: GetShardIterator. sequence_number is used by the AT_/AFTER_
   * types (any decimal position, not necessarily a record's: the iterator
   * starts at the first record at or above / above it), timestamp_ms by
   * AT_TIMESTAMP. Returns ESMC_E_NOT_FOUND for an unknown shard,
   * ESMC_E_INVALID_PARAMETER for a malformed sequence number, ESMC_E_TRIMMED
   * for a trimmed position. */
  esmc_status (*get_shard_iterator)(void *ctx, const char *shard_id,
                                    enum esmc_iterator_type type,
                                    const char *sequence_number,
                                    esmc_time_ms timestamp_ms,
                                    esmc_iterator *out);
  /* Streams: GetRecords, at most `limit` records (1..10000). Synchronous:
   * the answer is immediate. May return ESMC_E_THROTTLED, ESMC_E_SERVICE
   * (try later) or ESMC_E_EXPIRED_ITERATOR (get a new iterator). */
  esmc_status (*get_records)(void *ctx, esmc_iterator iterator, uint32_t limit,
                             struct esmc_get_records_result *out);

  /* Invoke the function synchronously (RequestResponse) with an event
   * payload the mapper built (JSON, not NUL-terminated). Returns at once with
   * a handle; the result arrives later through on_invoke_complete(), at the
   * simulated instant the function finishes. A payload over the 6 MB limit
   * still reaches the host (and is judged); the result is then a
   * function-independent ESMC_INVOKE_SERVICE_ERROR with status 413. */
  esmc_status (*invoke)(void *ctx, const uint8_t *payload, size_t len,
                        esmc_invocation *out);

  /* Deliver one on-failure record to a destination (SQS, SNS or S3 ARN).
   * object_key is the S3 object key (NULL for SQS and SNS). Returns ESMC_OK
   * when delivered, ESMC_E_ACCESS_DENIED or ESMC_E_SERVICE when not. */
  esmc_status (*send_to_destination)(void *ctx, const char *destination_arn,
                                     const char *object_key,
                                     const uint8_t *payload, size_t len);

  /* The checkpoint store: one value per shard. A checkpoint at sequence
   * number S for a shard declares that every record of that shard up to and
   * including S is done (processed, filtered out, or discarded): after a
   * restart nothing at or below S will be read again. S need not name a
   * record: a mapper may checkpoint the position just below the first record
   * it reads, to make its starting position durable. To end a shard, pass
   * the shard's last sequence number. */
  esmc_status (*checkpoint)(void *ctx, const char *shard_id,
                            const char *sequence_number);
  /* The last checkpoint of a shard. *sequence_number is NULL when the shard
   * has none; otherwise borrowed until the next checkpoint call. */
  esmc_status (*get_checkpoint)(void *ctx, const char *shard_id,
                                const char **sequence_number);
  /* v1 ends here. */

  /* v2 and later: SQS. A mapper must check host->struct_size before using
   * these. */
  /* GetQueueAttributes of the mapping's queue. out->struct_size is set by
   * the host; strings are owned by the host and live until destroy(). */
  esmc_status (*get_queue_attributes)(void *ctx,
                                      struct esmc_queue_attributes *out);
  /* ReceiveMessage: at most max_messages (1..10). Asynchronous like invoke:
   * returns at once with a handle, and the result arrives through
   * on_receive_complete() at the simulated instant SQS answers: at once when
   * messages are visible, otherwise when one becomes visible or wait_time_s
   * (0..20, long polling) ends. visibility_timeout_s -1 uses the queue's
   * default. Received messages are hidden for the visibility timeout. */
  esmc_status (*receive_messages)(void *ctx, uint32_t max_messages,
                                  int32_t wait_time_s,
                                  int32_t visibility_timeout_s,
                                  esmc_receive *out);
  /* DeleteMessage. A receipt handle that is not the message's latest has no
   * effect and still returns ESMC_OK, as in SQS. ESMC_E_NOT_FOUND when no
   * such receipt handle was ever given out. */
  esmc_status (*delete_message)(void *ctx, const char *receipt_handle);
  /* ChangeMessageVisibility (0..43200 s) of an in-flight message. */
  esmc_status (*change_message_visibility)(void *ctx,
                                           const char *receipt_handle,
                                           int32_t visibility_timeout_s);
  /* v2 ends here; later versions append below. */
};

/* ------------------------------------------------------------------------ */
/* The adapter table the mapper exports.                                     */

/* Filled by create() and update() when they reject a configuration. */
#define ESMC_ERROR_CODE_MAX 64
#define ESMC_ERROR_MESSAGE_MAX 1024
struct esmc_error {
  char code[ESMC_ERROR_CODE_MAX];       /* "InvalidParameterValueException" */
  char message[ESMC_ERROR_MESSAGE_MAX]; /* the AWS message, NUL-terminated */
};

struct esmc_adapter {
  uint32_t abi_version; /* ESMC_ABI_VERSION the adapter was built against */
  uint32_t struct_size; /* sizeof(struct esmc_adapter) as the adapter saw it */
  const char *name;     /* REQUIRED; static */
  const char *version;  /* REQUIRED; static */
  uint64_t capabilities; /* ESMC_CAP_* bits */

  /* REQUIRED. Create one mapping. host and its ctx stay valid until
   * destroy(); cfg is borrowed. On ESMC_OK *mapper is the new mapping's state
   * (may be any non-NULL pointer). A rejected configuration returns
   * ESMC_E_INVALID_PARAMETER (or ESMC_E_UNSUPPORTED for a feature the mapper
   * does not implement) with err filled in, and *mapper untouched. The mapper
   * may make host calls from inside create(). */
  esmc_status (*create)(const struct esmc_host *host,
                        const struct esmc_mapping_config *cfg, void **mapper,
                        struct esmc_error *err);

  /* REQUIRED. A timer armed with set_timer() is due. */
  esmc_status (*on_timer)(void *mapper, uint64_t token);

  /* REQUIRED. An invocation started with host->invoke() finished. Called
   * exactly once per invocation, unless the mapping is destroyed first. */
  esmc_status (*on_invoke_complete)(void *mapper, esmc_invocation invocation,
                                    const struct esmc_invoke_result *result);

  /* OPTIONAL (ESMC_CAP_UPDATE). UpdateEventSourceMapping: members that are
   * ESMC_UNSET, NULL or not "given" keep their value. Enabled false pauses
   * polling and invoking; true resumes from where processing stopped. A
   * rejected update returns ESMC_E_INVALID_PARAMETER with err filled in and
   * leaves the mapping as it was. */
  esmc_status (*update)(void *mapper, const struct esmc_mapping_config *cfg,
                        struct esmc_error *err);

  /* REQUIRED. End the mapping and free everything it owns. Accepts NULL.
   * Pending timers, receives and invocations are dropped by the host. */
  void (*destroy)(void *mapper);
  /* v1 ends here. */

  /* v2 and later. REQUIRED when the adapter claims ESMC_CAP_SQS or
   * ESMC_CAP_SQS_FIFO: a receive started with host->receive_messages()
   * finished. Called exactly once per receive, unless the mapping is
   * destroyed first. */
  esmc_status (*on_receive_complete)(void *mapper, esmc_receive receive,
                                     const struct esmc_receive_result *result);
  /* v2 ends here; later versions append below. */
};

/* The size of a v1 adapter table: hosts accept any struct_size >= this. */
#define ESMC_ADAPTER_V1_SIZE                                                   \
  (offsetof(struct esmc_adapter, destroy) + sizeof(void (*)(void *)))
/* The size of a v2 adapter table. */
#define ESMC_ADAPTER_V2_SIZE                                                   \
  (offsetof(struct esmc_adapter, on_receive_complete) +                        \
   sizeof(esmc_status (*)(void *, esmc_receive,                                \
                          const struct esmc_receive_result *)))

/*
 * The entry point. host_abi is the host's ESMC_ABI_VERSION; return NULL if
 * the adapter cannot serve it. The returned table is static.
 *
 * A shared object defines it with ESMC_ADAPTER_ENTRY(anything). Built with
 * ESMC_ADAPTER_STATIC defined, the same source defines a uniquely named
 * function esmc_adapter_<tag>() instead, so several adapters can be linked
 * into one program.
 */
typedef const struct esmc_adapter *(*esmc_adapter_entry_fn)(uint32_t host_abi);

#ifdef ESMC_ADAPTER_STATIC
#define ESMC_ADAPTER_ENTRY(tag)                                                \
  const struct esmc_adapter *esmc_adapter_##tag(uint32_t host_abi)
#else
#define ESMC_ADAPTER_ENTRY(tag)                                                \
  ESMC_EXPORT const struct esmc_adapter *esmc_adapter_entry(uint32_t host_abi)
#endif

#ifdef __cplusplus
}
#endif
#endif /* ESMCHECK_ADAPTER_H */

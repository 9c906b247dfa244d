/*
 * ref_mutant.h: seeded-bug mutants of the reference mapper (issue 7).
 *
 * Each mutant is the reference with one realistic mistake, switched on by a
 * one-line `if(REF_MUTANT(X))` branch next to the correct code in
 * ref_mapper.c, ref_sqs.c, ref_config.c, ref_payload.c or ref_json.c (never
 * a copy of a function). `esmcheck mutants` runs the corpus against each of
 * them and reports which cases kill it.
 *
 * Selection: the global ref_mutant (0: none, the correct reference). The
 * adapter's create() sets it from the environment variable ESMC_REF_MUTANT
 * (a mutant name or number; unset or empty: 0), in the linked reference and
 * in libesmc_reference.so alike, so a forked case child and a dlopen'ed
 * module see the same mutant. Nothing here is part of the adapter ABI.
 */
#ifndef REF_MUTANT_H
#define REF_MUTANT_H

/* X(ID, "name", "the realistic mistake", "feature"); the feature is a case
 * tag: `esmcheck mutants` runs the cases carrying it first. */
#define REF_MUTANTS(X)                                                         \
  X(PF_REORDER, "pf-reorder-key",                                              \
    "ParallelizationFactor > 1 deals records by sequence number, not "         \
    "partition key, so one key's records run concurrently and out of order",   \
    "parallelization")                                                         \
  X(BISECT_COUNTS_RETRY, "bisect-counts-retry",                                \
    "a bisect split keeps the failed attempts of the batch it halves, so "     \
    "splits use up MaximumRetryAttempts", "bisect")                            \
  X(MRA_PLUS_ONE, "mra-one-too-many",                                          \
    "MaximumRetryAttempts off by one: one retry too many before giving up",    \
    "retry")                                                                   \
  X(MRA_MINUS_ONE, "mra-one-too-few",                                          \
    "MaximumRetryAttempts off by one: one retry too few before giving up",     \
    "retry")                                                                   \
  X(IGNORE_RECORD_AGE, "ignore-record-age",                                    \
    "MaximumRecordAgeInSeconds is never checked before an invoke", "record-age")      \
  X(CKPT_HIGHEST_FAILED, "checkpoint-highest-failed",                          \
    "ReportBatchItemFailures resumes at the highest listed sequence number "   \
    "instead of the lowest", "partial-batch")                                  \
  X(INVALID_PARTIAL_OK, "invalid-partial-as-success",                          \
    "a batchItemFailures entry naming no record of the batch is ignored and "  \
    "the batch treated as a success", "partial-batch")                         \
  X(EMPTY_FAILURES_FAIL, "empty-failures-as-failure",                          \
    "{\"batchItemFailures\":[]} is treated as a whole-batch failure",          \
    "partial-batch")                                                           \
  X(RBIF_FLAG_IGNORED, "partial-without-rbif",                                 \
    "batchItemFailures in a response is honoured even when "                   \
    "ReportBatchItemFailures is off", "partial-batch")                         \
  X(WRONG_CONDITION, "failure-record-condition",                               \
    "the failure record always says RetryAttemptsExhausted, also for "         \
    "records given up for their age", "destination")                           \
  X(INVOKE_COUNT_OFF, "invoke-count-off-by-one",                               \
    "approximateInvokeCount counts retries instead of invocations (one "       \
    "low)", "destination")                                                     \
  X(NO_RESPONSE_CONTEXT, "missing-response-context",                           \
    "the RetryAttemptsExhausted failure record has no responseContext",        \
    "destination")                                                             \
  X(AGE_RESPONSE_CONTEXT, "age-has-response-context",                          \
    "the RecordAgeExceeded failure record carries a responseContext",          \
    "destination")                                                             \
  X(DDB_ARRIVAL_MS, "ddb-arrival-millis",                                      \
    "DDBStreamBatchInfo arrival times are written with milliseconds like "     \
    "Kinesis", "destination")                                                  \
  X(FAILURE_BATCHSIZE, "failure-record-batch-size",                            \
    "the failure record's batchSize is the configured BatchSize, not the "     \
    "number of records given up", "destination")                              \
  X(FAILURE_WHOLE_POLL, "failure-record-whole-poll",                           \
    "the failure record describes everything polled and queued instead of "    \
    "the batch given up", "destination")                                       \
  X(DROP_WITHOUT_DEST, "drop-without-destination-record",                      \
    "records given up are dropped without sending the failure record to the "  \
    "destination", "destination")                                              \
  X(IGNORE_WINDOW, "ignore-batching-window",                                   \
    "MaximumBatchingWindowInSeconds is ignored: a short batch is invoked at "  \
    "once", "batching")                                                        \
  X(BATCH_SIZE_PLUS_ONE, "batch-size-plus-one",                                \
    "reads and invokes BatchSize + 1 records (an inclusive bound)",            \
    "batching")                                                                \
  X(EXCEED_6MB, "exceed-6mb",                                                  \
    "the 6 MB limit is checked against the sum of the records alone, "         \
    "forgetting the event wrapper and the commas between records",             \
    "batching")                                                                \
  X(LATEST_AS_TRIM, "latest-as-trim-horizon",                                  \
    "StartingPosition LATEST reads from TRIM_HORIZON", "starting-position")    \
  X(AT_TIMESTAMP_IGNORED, "at-timestamp-ignored",                              \
    "StartingPosition AT_TIMESTAMP ignores the timestamp and reads from "      \
    "TRIM_HORIZON", "starting-position")                                       \
  X(NO_RESUME, "no-resume-from-checkpoint",                                    \
    "after a restart the stored checkpoint is not read: the shard starts "     \
    "over at the starting position", "checkpoint")                             \
  X(PROCESS_DISABLED, "process-while-disabled",                                \
    "Enabled false stops nothing: a disabled mapping keeps invoking",          \
    "enabled")                                                                 \
  X(CKPT_AT_INVOKE, "checkpoint-before-complete",                              \
    "the batch is checkpointed when its invoke starts, before it completes",   \
    "checkpoint")                                                              \
  X(THROTTLE_COUNTS, "throttle-consumes-retry",                                \
    "a throttled invoke counts as a failed attempt against "                   \
    "MaximumRetryAttempts", "retry")                                           \
  X(CHILD_BEFORE_PARENT, "child-before-parent",                                \
    "after a reshard, child shards are read before their parents are "         \
    "drained", "reshard")                                                   \
  X(FILTERS_IGNORED, "filters-not-applied",                                    \
    "FilterCriteria are validated but never applied to stream records",        \
    "filter")                                                                  \
  X(FILTERED_NOT_DONE, "filtered-not-checkpointed",                            \
    "filtered-out records are never marked done, so the checkpoint stalls "    \
    "before them", "filter")                                                   \
  X(TW_STATE_DROPPED, "tumbling-state-not-carried",                            \
    "the tumbling window's state is not passed to the next invoke of the "     \
    "window", "tumbling-window")                                               \
  X(SQS_DELETE_ON_ERROR, "sqs-delete-after-error",                             \
    "SQS: the batch is deleted after a function error (any completed invoke "  \
    "counts as handled)", "sqs")                                               \
  X(SQS_DELETE_LISTED, "sqs-delete-listed-failures",                           \
    "SQS: messages listed in batchItemFailures are deleted too", "sqs")        \
  X(FIFO_LATER_FIRST, "fifo-later-before-failed",                              \
    "SQS FIFO: after a failure, later messages of the failed group already "   \
    "received are still invoked ahead of the failed one", "fifo")          \
  X(SQS_IGNORE_MAXC, "sqs-ignore-max-concurrency",                             \
    "SQS: ScalingConfig.MaximumConcurrency is ignored", "sqs")                 \
  X(SQS_INVALID_OK, "sqs-invalid-response-as-success",                         \
    "SQS: an invalid batch response deletes the batch as if it succeeded",     \
    "sqs")                                                                     \
  X(SQS_BIG_BATCH_NO_WINDOW, "sqs-batch-over-10-without-window",               \
    "SQS: BatchSize > 10 is accepted without a batching window",               \
    "validation")                                                          \
  X(FIFO_WINDOW_OK, "fifo-window-accepted",                                    \
    "SQS FIFO: MaximumBatchingWindowInSeconds is accepted", "validation")     \
  X(EXPIRED_AT_LATEST, "lost-iterator-latest",                                 \
    "after ExpiredIteratorException or TrimmedDataAccessException the new "    \
    "shard iterator is LATEST, so the records still unread are skipped",       \
    "fault")                                                                   \
  X(READ_FAULT_ENDS_SHARD, "read-fault-ends-shard",                            \
    "a failed GetRecords (throttled, 5xx, AccessDenied) is read as the end "   \
    "of the shard: the shard is finished and never read again", "fault")      \
  X(DEST_FAIL_AS_SENT, "destination-failure-as-sent",                          \
    "a refused failure-destination send counts as delivered: the shard "       \
    "moves past the given-up batch", "fault")                                  \
  X(SQS_RECEIVE_FAULT_STOPS, "sqs-receive-error-stops-poller",                 \
    "SQS: a failed ReceiveMessage is not retried: the poller that got it "     \
    "stops for good", "fault")                                                 \
  X(NO_PERMISSION_PROBE, "no-create-permission-check",                         \
    "create() does not check the role: AccessDenied from the source at "       \
    "create is retried like a throttle", "fault")                              \
  X(SQS_STALE_INVOKE, "sqs-invoke-stale-receipt",                              \
    "SQS: messages held past their visibility timeout are invoked anyway, "    \
    "although the queue may have handed them to another consumer", "multi")

enum ref_mutant_id {
  REF_M_NONE = 0,
#define REF_X_(id, name, desc, feature) REF_M_##id,
  REF_MUTANTS(REF_X_)
#undef REF_X_
  REF_M__COUNT
};

struct ref_mutant_info {
  int id;              /* 1.. */
  const char *name;    /* unique, lower-case */
  const char *description;
  const char *feature;
};

/* The active mutant; 0 is the correct reference. */
extern int ref_mutant;

#define REF_MUTANT(id) (ref_mutant == REF_M_##id)

/* The number of mutants (ids 1..ref_mutant_count()). */
int ref_mutant_count(void);
/* Mutant id's entry, or NULL when id is out of range (0 included). */
const struct ref_mutant_info *ref_mutant_info(int id);
/* A mutant name or decimal number to its id: 0 for "", "0" or "none", -1
 * when unknown. */
int ref_mutant_lookup(const char *name_or_number);
/* Sets ref_mutant from ESMC_REF_MUTANT (unknown or unset: 0). Returns it. */
int ref_mutant_from_env(void);

#endif /* REF_MUTANT_H */

/*
 * world.h: the deterministic simulated world, host of the mapper under test.
 *
 * The world owns the virtual clock, a seeded scheduler (events at the same
 * instant run in an order drawn from the seed), the stream (shards, records,
 * sequence numbers, retention), the scripted function, the failure
 * destinations and the checkpoint store. It implements every struct
 * esmc_host call, records each in the history, and runs a scenario against an
 * adapter to the end: quiescence, the horizon, or a limit.
 */
#ifndef ESMC_WORLD_H
#define ESMC_WORLD_H

#include <stdint.h>

#include "esmcheck_adapter.h"
#include "history.h"
#include "scenario.h"

#define ESMC_MAX_PAYLOAD 6291456 /* the 6 MB synchronous invoke limit */

/* A record of the world. pub is what the mapper sees; its pointers point into
 * this struct or into the scenario, and stay valid for the world's life. */
struct esmc_wrecord {
  struct esmc_record pub;
  uint32_t rid;        /* index in world->records */
  uint32_t shard;      /* shard index */
  uint32_t index;      /* position in its shard, 0-based */
  uint32_t case_index; /* index in scenario->records */
  int64_t at_ms;       /* append time, relative to the world start */
  char seq[64];
  char event_id[40];
  /* Queues (ABI v2). A queue world has one pseudo shard (shard 0, the queue)
   * holding every message in send order (index); seq holds the MessageId,
   * so esmc_world_record_by_seq() finds a message by its MessageId and a
   * batchItemFailures itemIdentifier is looked up like a stream's. */
  char md5_of_body[33];
  char md5_of_attributes[33]; /* "" when the message has no attributes */
  char fifo_seq[24];          /* FIFO SequenceNumber; "" standard */
  char dedup_id[129];         /* FIFO MessageDeduplicationId (explicit, or
                                 the SHA-256 of the body); "" standard */
  int32_t dedup_of;           /* FIFO-10: rid of the earlier message whose
                                 5-minute deduplication window this send
                                 fell in (accepted, never delivered); -1 */
  uint32_t group;             /* FIFO: index of its MessageGroupId */
  struct esmc_message_attribute *attrs; /* owned; attribute_count entries */
  size_t attr_count;
  /* Streams (appended): when it is trimmed, relative: at_ms plus the
   * retention period, or the time of an earlier trim event covering it.
   * From that instant on it is gone. */
  int64_t trim_ms;
};

struct esmc_wshard {
  char id[32];          /* shardId-000000000000 */
  uint32_t *rids;       /* records in sequence order */
  uint32_t n;
  /* Resharding: the shard plan, fixed by esmc_world_new(). */
  uint32_t nparents;    /* 0 original; 1 split or rollover child; 2 merge */
  uint32_t parents[2];  /* shard indexes: parent, adjacent parent */
  int64_t created_ms;   /* 0 for the original shards */
  int64_t closed_ms;    /* INT64_MAX while it never closes */
  uint64_t hash_lo, hash_hi; /* its hash-key range, inclusive */
  char starting_seq[64]; /* just below its first record's */
  char ending_seq[64];  /* its last record's (starting_seq when empty); used
                           once it is closed */
};

/* The hash key of a partition key in a stream of n original shards: with no
 * resharding it lands on shard FNV-1a-64(key) mod n, as it always did. */
uint64_t esmc_world_hash_key(const char *partition_key, uint32_t n);

/* Check a scenario's reshard events (split, merge, rollover) and its records'
 * explicit shard indexes against the shard plan they make. Returns 0 when
 * both are valid, -1 when out of memory, or 1 with the first problem in msg
 * and where it is: *event (index in sc->events) or *record (index in
 * sc->records), the other SIZE_MAX. esmc_world_new() accepts invalid plans:
 * it skips an invalid reshard event and places a record whose shard is not
 * open at its append time by its hash key. */
int esmc_world_check_plan(const struct esmc_scenario *sc, char *msg,
                          size_t msg_size, size_t *event, size_t *record);


/* The effective configuration of a mapping per the spec's defaults, used by
 * checkers to know what was asked of the mapper. */
struct esmc_effective_config {
  int32_t enabled;
  int32_t batch_size;
  int32_t window_s;
  enum esmc_starting_position starting_position;
  int64_t starting_position_timestamp_ms; /* relative */
  int32_t parallelization_factor;
  int32_t maximum_retry_attempts;
  int32_t maximum_record_age_s;
  int32_t bisect;
  int32_t report_batch_item_failures;
  int32_t tumbling_window_s; /* TumblingWindowInSeconds; 0 = none */
  const char *on_failure_destination; /* NULL or "" = none; borrowed */
  /* ABI v2 (appended). */
  int32_t maximum_concurrency; /* 0 = no cap */
  int32_t scaling_profile;     /* 0 current, 1 legacy */
};

/* Resolve the spec's defaults (CFG-1..CFG-7; SQS-CFG for queues: BatchSize
 * 10) for the configuration of scenario sc. */
void esmc_effective_config_init(struct esmc_effective_config *out,
                                const struct esmc_scenario *sc);
/* Apply the members an accepted update gives. */
void esmc_effective_config_update(struct esmc_effective_config *cfg,
                                  const struct esmc_config_spec *u);

struct esmc_world_internal; /* world.c */

struct esmc_world {
  const struct esmc_scenario *sc; /* borrowed; outlives the world */
  uint64_t seed;
  int64_t epoch_ms;               /* absolute time of t = 0 */
  char stream_arn[256];
  char function_arn[256];
  char role_arn[256];
  char region[32];
  char mapping_uuid[40];
  struct esmc_wrecord *records;   /* all records, by rid */
  uint32_t nrecords;
  struct esmc_wshard *shards;
  uint32_t nshards;
  struct esmc_history hist;
  int64_t now;                    /* relative virtual time */
  struct esmc_world_internal *in; /* scheduler, mappings, function state */
  /* ABI v2 (appended): a queue world (source SQS or SQS_FIFO). stream_arn
   * then holds the queue ARN "arn:aws:sqs:us-east-1:123456789012:<name>". */
  int queue;
  char queue_name[96];
  char dlq_arn[256];              /* "" when max_receive_count is 0 */
};

/* Queue message states (esmc_world_message_state). */
enum esmc_msg_state {
  ESMC_MSG_UNSENT = 0,  /* its SendMessage time has not come */
  ESMC_MSG_DELAYED,     /* sent; hidden for the queue's delay */
  ESMC_MSG_VISIBLE,
  ESMC_MSG_INFLIGHT,    /* received; hidden for its visibility timeout */
  ESMC_MSG_DELETED,
  ESMC_MSG_DEAD_LETTER, /* moved to the dead-letter queue */
  ESMC_MSG_EXPIRED,     /* dropped at the end of the retention period */
  ESMC_MSG_DEDUPLICATED /* FIFO-10: accepted, never delivered */
};

/* Build the world of a scenario: shards, records with sequence numbers, the
 * seeded scheduler. Nothing runs yet. Returns 0 or -1 (out of memory). */
int esmc_world_new(const struct esmc_scenario *sc, uint64_t seed,
                   struct esmc_world **out);
void esmc_world_free(struct esmc_world *w); /* NULL is a no-op */

/* Find a record by its sequence number or by its case id; NULL if none. */
const struct esmc_wrecord *esmc_world_record_by_seq(const struct esmc_world *w,
                                                    const char *seq);
const struct esmc_wrecord *esmc_world_record_by_id(const struct esmc_world *w,
                                                   const char *id);
/* The case id of a record ("r1"), for messages. */
const char *esmc_world_record_name(const struct esmc_world *w, uint32_t rid);

/* Decode an event payload: the records it carries, in order, into rids
 * (esmc_malloc'ed, caller frees) and the first shape problem into problem
 * (empty when none). Returns the number of records or -1 when the payload is
 * not a JSON object with a Records array. */
long esmc_world_decode_payload(const struct esmc_world *w, const char *payload,
                               size_t len, uint32_t **rids,
                               struct esmc_buf *problem);

/* The state of queue message rid now (ESMC_MSG_UNSENT for a stream world);
 * *receive_count (may be NULL) gets its ApproximateReceiveCount. */
enum esmc_msg_state esmc_world_message_state(const struct esmc_world *w,
                                             uint32_t rid,
                                             uint32_t *receive_count);

/* How a run ended. */
enum esmc_run_end {
  ESMC_END_QUIESCENT = 0, /* all work done, plus the grace period */
  ESMC_END_HORIZON = 1,   /* run.until_ms or the default horizon */
  ESMC_END_STEP_LIMIT = 2,/* too many events: the mapper livelocked */
  ESMC_END_FATAL = 3,     /* the adapter returned a fatal status */
  ESMC_END_CONTRACT = 4,  /* the adapter broke the ABI contract */
  ESMC_END_OOM = 5
};

struct esmc_run_outcome {
  enum esmc_run_end end;
  int create_rejected;      /* create() returned an error */
  int create_unsupported;   /* ... ESMC_E_UNSUPPORTED */
  char create_error[ESMC_ERROR_CODE_MAX + ESMC_ERROR_MESSAGE_MAX + 4];
  char detail[512];         /* for FATAL, CONTRACT, STEP_LIMIT */
  uint64_t steps;
};

/* 1 when shard s exists (was created) at relative time t. */
int esmc_world_shard_exists(const struct esmc_world *w, uint32_t s, int64_t t);

/* Mapping i of the world (0 = the case's `mapping`): its UUID and the ARN
 * of its function; mapping 0's are w->mapping_uuid and w->function_arn. */
const char *esmc_world_mapping_uuid(const struct esmc_world *w, uint32_t i);
const char *esmc_world_function_arn(const struct esmc_world *w, uint32_t i);

/* Run the scenario to its end against adapter a. */
int esmc_world_run(struct esmc_world *w, const struct esmc_adapter *a,
                   struct esmc_run_outcome *out);

#endif /* ESMC_WORLD_H */

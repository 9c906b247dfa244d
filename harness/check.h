/*
 * check.h: property checkers over a run's history.
 *
 * esmc_analyze() reads the history once and derives what every checker
 * needs: invocations with their spec interpretation, the fate of each record,
 * parsed failure-destination records, the scope of each shard. Each checker
 * then reads the analysis (linear or n log n) and reports its FIRST violation
 * in plain words: which record (case id and sequence number), key, shard,
 * invocation and time. Later violations of the same property are counted,
 * not described.
 */
#ifndef ESMC_CHECK_H
#define ESMC_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "world.h"

#define ESMC_NONE SIZE_MAX

/* The spec's reading of one invocation's result (PBR rules). */
enum esmc_inv_result {
  ESMC_R_PENDING = 0, /* never completed (run ended, or mapper destroyed) */
  ESMC_R_SUCCESS,     /* the whole batch succeeded */
  ESMC_R_FAILURE,     /* the whole batch failed: error, timeout, invalid
                         partial response */
  ESMC_R_PARTIAL,     /* valid partial failure: rids[failed_from..] failed */
  ESMC_R_NOT_RUN      /* throttled, service error or 413: not an attempt */
};

struct esmc_ainv {
  size_t ev;              /* index of the ESMC_H_INVOKE event */
  size_t done_ev;         /* index of its ESMC_H_COMPLETE, or ESMC_NONE */
  int64_t t_start, t_end; /* t_end = -1 when never completed */
  uint32_t mapping;
  uint32_t shard;         /* ESMC_NO_SHARD when none or mixed */
  const uint32_t *rids;   /* borrowed from the history */
  uint32_t n;
  enum esmc_inv_result result;
  uint32_t failed_from;   /* ESMC_R_PARTIAL: first failed position in rids */
  char why[160];          /* ESMC_R_FAILURE from a response: the reason */
  struct esmc_effective_config cfg; /* in force when it started */
  /* Queue worlds (SQS-PBR-1): item_failed[j] is 1 when the invocation
   * failed for rids[j] (every j of an ESMC_R_FAILURE; the listed messages of
   * an ESMC_R_PARTIAL, whose failed_from is then the first listed one); NULL
   * on streams. Owned by the analysis. */
  const uint8_t *item_failed;
};

/* What became of a record by the end of the run. */
enum esmc_fate {
  ESMC_FATE_PENDING = 0,  /* nothing: not done (a loss if in scope) */
  ESMC_FATE_SUCCEEDED,    /* an invocation succeeded for it */
  ESMC_FATE_REPORTED,     /* covered by a failure-destination record */
  ESMC_FATE_SKIPPED,      /* checkpointed past with neither */
  ESMC_FATE_OUT_OF_SCOPE, /* before the starting position, or never appended */
  ESMC_FATE_TRIMMED,      /* aged out of the stream before it was done */
  /* Queue worlds only (a queue message is never SUCCEEDED, REPORTED,
   * SKIPPED or TRIMMED; PENDING means still in the queue at the end). */
  ESMC_FATE_DELETED,      /* deleted (first DELETE with b = 1) after an
                             invocation succeeded for it */
  ESMC_FATE_FILTERED,     /* deleted, never invoked, while filters were set */
  ESMC_FATE_DEAD_LETTERED,/* moved to the dead-letter queue by redrive */
  ESMC_FATE_EXPIRED,      /* dropped by the queue's retention */
  ESMC_FATE_LOST          /* deleted with no success for it, not filtered */
};

struct esmc_arec {
  uint32_t deliveries;      /* invocations that carried it */
  uint32_t failed_deliveries; /* of those, ones that failed for it */
  size_t first_delivery_inv; /* index in analysis->inv, or ESMC_NONE */
  size_t first_carry_inv;   /* the first invocation carrying it, counting
                               throttled and other not-run ones too */
  size_t last_delivery_inv;
  size_t settled_ev;        /* first event after which it was done: the
                               COMPLETE that succeeded for it, the DEST_SEND
                               covering it, or the CHECKPOINT covering it */
  enum esmc_fate fate;
  int in_scope;
  /* Queue worlds (ESMC_NONE when it did not happen). A queue message is in
   * scope when it was ever appended, received, dead-lettered or expired. */
  size_t success_ev;        /* first COMPLETE that succeeded for it */
  size_t delete_ev;         /* first DELETE with b = 1 */
  size_t dead_letter_ev;    /* ESMC_H_DEAD_LETTER */
  size_t expired_ev;        /* ESMC_H_MESSAGE_EXPIRED */
  size_t last_received_ev;  /* the last RECEIVED that delivered it */
  uint32_t receives;        /* RECEIVED events that delivered it */
};

/* A parsed failure-destination message. */
struct esmc_adest {
  size_t ev;                /* index of the ESMC_H_DEST_SEND */
  int parsed;               /* 0: not a JSON object; see problem */
  char problem[200];        /* first format problem, "" when none */
  char condition[48];
  char shard_id[40];
  uint32_t shard;           /* ESMC_NO_SHARD when unknown */
  uint32_t first_index, last_index; /* covered range in the shard */
  int range_known;
  int64_t batch_size;       /* -1 when missing */
  int64_t approximate_invoke_count; /* -1 when missing */
  int has_request_context, has_response_context;
  char function_error[32];  /* "null" for JSON null, "" when missing */
};

struct esmc_analysis {
  const struct esmc_world *w;
  struct esmc_ainv *inv;    /* in start order */
  size_t ninv;
  struct esmc_arec *rec;    /* by rid */
  struct esmc_adest *dest;  /* in send order */
  size_t ndest;
  uint32_t *scope_start;    /* per shard: first in-scope index; UINT32_MAX
                               when the mapping never read the shard */
  int64_t end_t;            /* time of the last event */
  int created;              /* create() succeeded at least once */
  /* Added for queues; filled for every source. */
  int queue;                /* the source is SQS or SQS FIFO */
  struct esmc_effective_config final_cfg; /* in force at the end */
  int end_reason;           /* ESMC_H_END a, or -1 when there was none */
  uint8_t *item_failed;     /* backing store of inv[].item_failed */
};

/* Queue worlds: the MessageId of message rid ("" when unknown), and the
 * index of its MessageGroupId (UINT32_MAX on a standard queue). */
const char *esmc_sqs_message_id(const struct esmc_world *w, uint32_t rid);
uint32_t esmc_sqs_group(const struct esmc_world *w, uint32_t rid);

int esmc_analyze(const struct esmc_world *w, struct esmc_analysis *an);
/* The index in an->inv of the invocation whose ESMC_H_INVOKE is event ev,
 * or ESMC_NONE (binary search: an->inv is in event order). */
size_t esmc_inv_by_ev(const struct esmc_analysis *an, size_t ev);
void esmc_analysis_free(struct esmc_analysis *an);

/* The spec's interpretation of a raw response under ReportBatchItemFailures
 * (PBR-1..4): returns ESMC_R_SUCCESS, ESMC_R_FAILURE (why says why) or
 * ESMC_R_PARTIAL (failed_from = position of the lowest failed record). */
enum esmc_inv_result esmc_interpret_response(const struct esmc_world *w,
                                             const char *body, size_t len,
                                             const uint32_t *rids, uint32_t n,
                                             uint32_t *failed_from,
                                             char *why, size_t why_size);

/* ------------------------------------------------------------------------ */

enum esmc_level { ESMC_MUST = 0, ESMC_SHOULD = 1 };

struct esmc_violation {
  const char *property;   /* static */
  const char *rules;      /* static, space separated */
  enum esmc_level level;
  int64_t t;              /* when (relative ms), -1 when not tied to a time */
  char *message;          /* owned */
  uint32_t more;          /* further violations of the same property */
};

struct esmc_violations {
  struct esmc_violation *v;
  size_t n, cap;
};

struct esmc_check_ctx {
  const struct esmc_world *w;
  const struct esmc_analysis *an;
  const struct esmc_run_outcome *outcome;
  struct esmc_violations *out;
  /* Set by esmc_report(): used to keep only the first message. */
  const char *current;
  enum esmc_level current_level;
  const char *current_rules;
};

/* Report a violation of the current property: the first becomes the
 * message, later ones only increment `more`. */
void esmc_report(struct esmc_check_ctx *c, int64_t t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Run every checker (properties.def order). */
int esmc_check_all(const struct esmc_world *w,
                   const struct esmc_run_outcome *outcome,
                   struct esmc_violations *out);
/* Run one checker by name; -1 if there is no such property. */
int esmc_check_one(const char *name, const struct esmc_world *w,
                   const struct esmc_run_outcome *outcome,
                   struct esmc_violations *out);
void esmc_violations_free(struct esmc_violations *v);

/* 1 when an injected fault that reaches the judged mapping (w->sc->view_of;
 * ESMC_CASE_FAULT, or a failure destination down) was active at some time
 * in [t0, t1], or healed less than ESMC_FAULT_SHADOW_MS before t0: a mapper
 * still backing off then is not late. SHOULD timing properties do not judge
 * such stretches. */
#define ESMC_FAULT_SHADOW_MS 60000
int esmc_fault_during(const struct esmc_world *w, int64_t t0, int64_t t1);

/* Message helpers: a status code's name ("ESMC_E_THROTTLED"), and its name
 * with its meaning ("ESMC_E_THROTTLED (request throttled; try again
 * later)"). */
const char *esmc_status_name(int32_t st);
const char *esmc_status_words(int32_t st);

/* Message helper: "r3 (seq 4959..., key k1, shard shardId-000000000000)". */
void esmc_describe_record(const struct esmc_world *w, uint32_t rid,
                          struct esmc_buf *out);

/* The checker functions, one per properties.def line. */
#define ESMC_PROPERTY(name, rules, level, summary)                             \
  void esmc_check_##name(struct esmc_check_ctx *c);
#include "properties.def"
#undef ESMC_PROPERTY

#endif /* ESMC_CHECK_H */

/*
 * fuzz_decode.h: fuzz bytes -> scenario, the oracle run, shrinking and
 * fuzz-to-case.
 *
 * The decoder reads the input like libFuzzer's FuzzedDataProvider (c-style
 * E12): integers and choices come off the tail, byte strings (record
 * payloads) off the head, and a used-up input yields defaults, so every
 * input, the empty one included, decodes to a valid scenario that the
 * reference accepts. A 32-bit swarm mask taken first switches whole feature
 * and fault classes on or off for the input (swarm testing), so a short
 * input already explores a narrow corner and longer ones mix classes.
 */
#ifndef ESMC_FUZZ_DECODE_H
#define ESMC_FUZZ_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "runner.h"
#include "scenario.h"

/* A byte reader over a borrowed input window. */
struct esmc_fdp {
  const uint8_t *p;
  size_t n;
};
void esmc_fdp_init(struct esmc_fdp *f, const uint8_t *p, size_t n);
/* An integer in [lo, hi] from the tail; lo once the input is used up. */
uint32_t esmc_fdp_range(struct esmc_fdp *f, uint32_t lo, uint32_t hi);
int esmc_fdp_bool(struct esmc_fdp *f);
/* Up to max bytes from the head into out; returns how many. */
size_t esmc_fdp_bytes(struct esmc_fdp *f, uint8_t *out, size_t max);

/* Swarm classes: bit set = the class may appear in this input. */
#define ESMC_SW_WINDOW (1u << 0)     /* MaximumBatchingWindowInSeconds */
#define ESMC_SW_RETRY (1u << 1)      /* MaximumRetryAttempts */
#define ESMC_SW_AGE (1u << 2)        /* MaximumRecordAgeInSeconds */
#define ESMC_SW_BISECT (1u << 3)     /* BisectBatchOnFunctionError */
#define ESMC_SW_PARTIAL (1u << 4)    /* ReportBatchItemFailures, responses */
#define ESMC_SW_DEST (1u << 5)       /* OnFailure destination (and outages) */
#define ESMC_SW_RESTART (1u << 6)    /* restarts */
#define ESMC_SW_UPDATE (1u << 7)     /* UpdateEventSourceMapping */
#define ESMC_SW_TOGGLE (1u << 8)     /* Enabled false/true */
#define ESMC_SW_THROTTLE (1u << 9)   /* throttles and service errors */
#define ESMC_SW_TIMEOUT (1u << 10)   /* function timeouts */
#define ESMC_SW_SHARDS (1u << 11)    /* several shards, explicit shards */
#define ESMC_SW_DYNAMODB (1u << 12)  /* DynamoDB instead of Kinesis */
#define ESMC_SW_ERRORS (1u << 13)    /* function errors */
#define ESMC_SW_SPREAD (1u << 14)    /* records spread over minutes */
#define ESMC_SW_POSITION (1u << 15)  /* LATEST / AT_TIMESTAMP, late create */
#define ESMC_SW_BIG (1u << 16)       /* larger batches and record counts */
#define ESMC_SW_ALL ((1u << 17) - 1)
/* Extension classes (bits 17..22). They come from a 3-byte head prefix
 * ESMC_SW_EXT_MAGIC0, ESMC_SW_EXT_MAGIC1, mask byte (bits 0..5 = classes
 * 17..22), so inputs without the prefix (the older corpus, short inputs)
 * decode exactly as before with every extension class off. */
#define ESMC_SW_SQS (1u << 17)       /* SQS standard queue (source sqs) */
#define ESMC_SW_FIFO (1u << 18)      /* SQS FIFO queue (wins over SQS) */
#define ESMC_SW_FILTER (1u << 19)    /* FilterCriteria, JSON record data */
#define ESMC_SW_PARALLEL (1u << 20)  /* ParallelizationFactor 2..10 */
#define ESMC_SW_TUMBLING (1u << 21)  /* tumbling windows, state responses */
#define ESMC_SW_RESHARD (1u << 22)   /* split / merge / rollover events */
#define ESMC_SW_EXT_ALL (((1u << 23) - 1) & ~ESMC_SW_ALL)
#define ESMC_SW_EXT_MAGIC0 0xE5u
#define ESMC_SW_EXT_MAGIC1 0xC7u
/* Fault and multi-mapping classes (bits 23..28, spec/faults.md). They come
 * from a 4-byte head prefix ESMC_SW_EXT_MAGIC0, ESMC_SW_EXT2_MAGIC1, then
 * two mask bytes, little endian: bits 0..11 = classes 17..28. */
#define ESMC_SW_MULTI (1u << 23)      /* two or three mappings on the source */
#define ESMC_SW_FAULT_READ (1u << 24) /* throttled / 5xx on reads (streams:
                                         ListShards, GetShardIterator,
                                         GetRecords; queues: ReceiveMessage) */
#define ESMC_SW_FAULT_ITER (1u << 25) /* expired iterators, trimmed data */
#define ESMC_SW_FAULT_QUEUE (1u << 26)/* DeleteMessage, ChangeMessageVisibility
                                         and ReceiveMessage errors */
#define ESMC_SW_FAULT_DEST (1u << 27) /* failure-destination send errors */
#define ESMC_SW_FAULT_PERM (1u << 28) /* AccessDenied on every call for a
                                         while: a permission lost, regained */
#define ESMC_SW_EXT2_ALL (((1u << 29) - 1) & ~ESMC_SW_ALL)
#define ESMC_SW_EXT2_MAGIC1 0xC8u

/* Decode flags. */
#define ESMC_DECODE_SHAPE_FREE 1u /* function outcomes that do not depend on
                                     batch composition (diff_fuzzer) */

/* Decode data[0, size) into out (esmc_scenario_free it). id "fuzz". An input
 * that is a JSON case the loader accepts (without ESMC_DECODE_SHAPE_FREE) is
 * taken as that case, so cases/ seeds the scenario fuzzer. Returns 0, or -1
 * when memory ran out (out zero-filled). *swarm (may be NULL) receives the
 * swarm mask (0 for a JSON case). */
int esmc_fuzz_decode(const uint8_t *data, size_t size, unsigned flags,
                     struct esmc_scenario *out, uint32_t *swarm);

/* The capabilities a scenario needs, from what it uses. */
uint64_t esmc_scenario_needs(const struct esmc_scenario *sc);

/* The run seed the fuzzers and fuzz-to-case use (esmcheck run's default), so
 * a written case runs the same under `esmcheck run`. */
#define ESMC_FUZZ_RUN_SEED UINT64_C(20241)

struct esmc_fuzz_finding {
  enum esmc_verdict verdict;
  char property[64];  /* first MUST violation, else first SHOULD, else
                         "verdict-<name>" for error/timeout/crash */
  const char *source; /* "kinesis", "dynamodb", "sqs" or "sqs_fifo" */
  char message[600];
  uint64_t digest;    /* history digest */
};

/* Run sc against a with the given run seed and judge it. Returns 1 with f
 * filled when the verdict is neither PASS, UNSUPPORTED nor SKIP, 0 when it
 * is, -1 when the harness itself failed. f->digest is set in every case. */
int esmc_fuzz_check(const struct esmc_scenario *sc, const struct esmc_adapter *a,
                    uint64_t run_seed, struct esmc_fuzz_finding *f);

/* Shrink sc in place while `property` still fires against a: drop events,
 * rules, records (delta debugging over chunks), conditions, then reset
 * configuration members to their defaults. sc must be writable as a case
 * (id, description, rules set). At most budget runs. Returns the number of
 * accepted reductions, or -1 when memory ran out. */
int esmc_fuzz_shrink(struct esmc_scenario *sc, const struct esmc_adapter *a,
                     uint64_t run_seed, const char *property, unsigned budget);

/* Decode a fuzz input, confirm its violation against a, shrink it and write
 * outdir/<id>.json with id fuzz-<property>-<hash>. path (size n) receives
 * the written path, property (size m) the property. Returns 0 when written,
 * 1 when the input shows no violation, -1 on error (message in path). */
int esmc_fuzz_to_case(const uint8_t *data, size_t size,
                      const struct esmc_adapter *a, const char *adapter_label,
                      const char *outdir, char *path, size_t n,
                      char *property, size_t m);

#endif /* ESMC_FUZZ_DECODE_H */

/*
 * check_fixture.h: build a scenario and a world programmatically, then write
 * a history by hand, for the property-checker tests.
 *
 *   struct fx f;
 *   fx_scenario(&f, ESMC_SOURCE_KINESIS, 1);       1 shard, TRIM_HORIZON
 *   fx_add_records(&f, 3, 0, 0, "k1");             r1..r3 on shard 0 at t=0
 *   fx_build(&f);                                  esmc_world_new
 *   fx_start(&f);                                  append, create, iterators
 *   uint64_t i1 = fx_invoke_names(f.w, 10, "r1 r2 r3");
 *   fx_complete(f.w, 20, i1, ESMC_INVOKE_OK, 200, "", NULL);
 *   fx_checkpoint_id(f.w, 21, "r3");
 *   assert_null(fx_check(&f, "no_loss"));
 *   fx_free(&f);
 *
 * Every helper asserts (cmocka) on failure, so a test never sees an error.
 * Invocation ids are unique non-zero numbers; fx_complete() finds the
 * ESMC_H_INVOKE event of an id itself.
 */
#ifndef ESMC_CHECK_FIXTURE_H
#define ESMC_CHECK_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "history.h"
#include "scenario.h"
#include "world.h"

struct fx {
  struct esmc_scenario sc;
  struct esmc_world *w;          /* NULL until fx_build() */
  struct esmc_run_outcome outcome;
  struct esmc_violations v;      /* filled by fx_check() */
};

/* ---- The scenario (before fx_build). ---- */

/* A scenario with defaults (esmc_scenario_init), the given source and shard
 * count, StartingPosition TRIM_HORIZON, and no records. */
void fx_scenario(struct fx *f, enum esmc_source source, int32_t shards);
/* Add one record with the next id ("r1", "r2", ...), partition key `key`
 * (NULL: "k1"), append time at_ms, on shard `shard` (-1: by key). Returns
 * its index in sc.records. */
size_t fx_add_record(struct fx *f, const char *key, int64_t at_ms,
                     int32_t shard);
/* Add n records like fx_add_record, all with the same key, time and shard. */
void fx_add_records(struct fx *f, size_t n, int32_t shard, int64_t at_ms,
                    const char *key);
/* Add a case event UPDATE at at_ms and return its index in sc.events; fill
 * the returned config through fx_update_spec(). expect_error_code may be
 * NULL (the update must be accepted). */
size_t fx_add_update(struct fx *f, int64_t at_ms,
                     const char *expect_error_code);
struct esmc_config_spec *fx_update_spec(struct fx *f, size_t event_index);
/* Set the OnFailure destination of the mapping configuration. */
void fx_set_destination(struct fx *f, const char *arn);

/* Add a case event ESMC_CASE_FAULT at at_ms: calls (1u << enum
 * esmc_fault_call) fail with `error` until until_ms (INT64_MAX: never), for
 * mapping (-1: all), every `every`-th call. Returns its index in sc.events. */
size_t fx_add_fault(struct fx *f, int64_t at_ms, uint32_t calls,
                    int32_t error, int64_t until_ms, int32_t mapping,
                    int32_t every);
/* Add a case event ESMC_CASE_TRIM at at_ms: records of shard (-1: every
 * shard) appended before before_ms trim out now. Returns its index. */
size_t fx_add_trim(struct fx *f, int64_t at_ms, int32_t shard,
                   int64_t before_ms);
/* Add a mapping after the first (sc.extra), named name, with the case's
 * function and the default configuration; returns its index (1, 2, ...).
 * Its configuration is f->sc.extra[index - 1].config. */
size_t fx_add_mapping(struct fx *f, const char *name);

/* Build the world (esmc_world_new, seed 1). The scenario must not change
 * afterwards. */
void fx_build(struct fx *f);
/* Free the world, the scenario and the violations. */
void fx_free(struct fx *f);

/* ---- The history (after fx_build). Each returns the event index. ---- */

/* Append the standard start: every record with at_ms <= 0 becomes visible
 * (fx_append_between, at the records' own times), then create() succeeds at
 * t = 0 and each shard gets an iterator of the configured starting position
 * (TRIM_HORIZON: b = 0; LATEST: b = the number of records appended;
 * AT_TIMESTAMP: b = the first record at or after the timestamp). */
void fx_start(struct fx *f);

size_t fx_append(struct esmc_world *w, int64_t t, uint32_t shard,
                 uint32_t first, uint32_t count);
/* Append every record of the world with at_ms in (from, to], one APPEND per
 * run of consecutive indexes of a shard, at each record's own time. */
void fx_append_between(struct esmc_world *w, int64_t from, int64_t to);
size_t fx_create(struct esmc_world *w, int64_t t, int32_t status,
                 const char *text);
size_t fx_destroy(struct esmc_world *w, int64_t t, int restart);
size_t fx_iterator(struct esmc_world *w, int64_t t, uint32_t shard,
                   enum esmc_iterator_type type, int64_t b);
/* An ESMC_H_INVOKE with the given records and shard; returns the new
 * invocation id. */
uint64_t fx_invoke(struct esmc_world *w, int64_t t, uint32_t shard,
                   const uint32_t *rids, uint32_t n);
/* The same with records named by case id, space separated ("r1 r2"); the
 * shard is the records' shard (ESMC_NO_SHARD when they mix shards). */
uint64_t fx_invoke_names(struct esmc_world *w, int64_t t, const char *names);
/* An ESMC_H_INVOKE with a payload shape problem. */
uint64_t fx_invoke_bad(struct esmc_world *w, int64_t t, const char *names,
                       const char *problem);
/* ESMC_H_COMPLETE of invocation inv. response may be NULL (empty). */
size_t fx_complete(struct esmc_world *w, int64_t t, uint64_t inv,
                   enum esmc_invoke_outcome outcome, int32_t http,
                   const char *response, const char *function_error);
/* Shorthands: the function returned "" / failed with "Unhandled". */
size_t fx_ok(struct esmc_world *w, int64_t t, uint64_t inv);
size_t fx_fail(struct esmc_world *w, int64_t t, uint64_t inv);
/* checkpoint(shard, seq): a is computed like the world does. */
size_t fx_checkpoint(struct esmc_world *w, int64_t t, uint32_t shard,
                     const char *seq);
/* checkpoint at the sequence number of record `id`, on its shard. */
size_t fx_checkpoint_id(struct esmc_world *w, int64_t t, const char *id);
/* send_to_destination() with status 0. */
size_t fx_dest(struct esmc_world *w, int64_t t, const char *arn,
               const char *payload);
size_t fx_dest_status(struct esmc_world *w, int64_t t, int32_t status,
                      const char *arn, const char *payload);
/* A well-formed failure record (Kinesis or DynamoDB per the scenario) for
 * records first_id..last_id of one shard, appended to out (reset first).
 * function_error: NULL = no responseContext (RecordAgeExceeded), "null" =
 * JSON null, else the string. */
void fx_dest_payload(const struct esmc_world *w, struct esmc_buf *out,
                     const char *condition, const char *first_id,
                     const char *last_id, int invoke_count,
                     const char *function_error);
size_t fx_update(struct esmc_world *w, int64_t t, size_t event_index,
                 int32_t status, const char *text);
size_t fx_end(struct esmc_world *w, int64_t t, int reason);
/* The ESMC_H_FAULT the world records when case event event_index starts
 * (healed 0) or heals (healed 1); mapping as the world records it. */
size_t fx_fault(struct esmc_world *w, int64_t t, size_t event_index,
                int healed, uint32_t mapping);
/* A host call of kind (ESMC_H_LIST_SHARDS, _GET_ITERATOR, _GET_RECORDS,
 * _QUEUE_ATTRIBUTES, _RECEIVE, _DELETE, _VISIBILITY) by mapping 0 with the
 * given status and shard (ESMC_NO_SHARD for none); the other members 0. */
size_t fx_call(struct esmc_world *w, int64_t t, enum esmc_hkind kind,
               uint32_t shard, int32_t status);
/* get_records(): status, and on success the first index and count read. */
size_t fx_get_records(struct esmc_world *w, int64_t t, uint32_t shard,
                      int32_t status, int64_t first, int64_t count);
/* Set the mapping of the last event of the history (for histories of
 * several mappings). */
void fx_by(struct esmc_world *w, uint32_t mapping);

/* Helpers for records. */
uint32_t fx_rid(const struct esmc_world *w, const char *id);
const char *fx_seq(const struct esmc_world *w, const char *id);

/* ---- Checking. ---- */

/* Run one checker over the history (outcome: f->outcome, zero = a normal
 * quiescent run) and return its violation, or NULL when it stayed quiet.
 * The pointer is valid until the next fx_check() or fx_free(). */
const struct esmc_violation *fx_check(struct fx *f, const char *property);
/* Assert that property fires and that its message contains each of the
 * NULL-terminated substrings; prints the message when it does not. */
void fx_assert_fires(struct fx *f, const char *property, ...)
    __attribute__((sentinel));
/* Assert that property stays quiet; prints the message when it does not. */
void fx_assert_quiet(struct fx *f, const char *property);

#endif /* ESMC_CHECK_FIXTURE_H */

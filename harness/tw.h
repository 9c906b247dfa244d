/*
 * tw.h: the tumbling-window fields of an event payload and of a response
 * (TW-2, TW-3), read without the world, plus the form they take in the
 * history.
 *
 * An ESMC_H_INVOKE whose payload has a top-level "window" key carries, when
 * the fields are well formed, text2 = "<start_ms> <end_ms> <final 0|1>
 * <early 0|1> <shard> <arn 0|1>" (absolute epoch milliseconds; shard is the
 * index of the shard its shardId names, -1 when none; arn is 1 when its
 * eventSourceARN is the stream's) and text3 = the raw state JSON.
 */
#ifndef ESMC_TW_H
#define ESMC_TW_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct esmc_world;

/* The fields of one event; the pointers borrow from the payload. */
struct esmc_tw_fields {
  int64_t start_ms, end_ms; /* the window's bounds, epoch ms */
  int final, early;         /* isFinalInvokeForWindow, isWindowTerminatedEarly */
  const char *state;        /* the raw state object */
  size_t state_len;
  const char *shard_id;     /* the shardId string's raw content */
  size_t shard_id_len;
  const char *arn;          /* the eventSourceARN string's raw content */
  size_t arn_len;
};

/* Read the tumbling-window fields of payload[0, len). Returns 0 when the
 * payload is not an object with a top-level "window" key, 1 with out filled,
 * or -1 when a field is missing or malformed (the problem in problem). */
int esmc_tw_extract(const char *payload, size_t len,
                    struct esmc_tw_fields *out, char *problem,
                    size_t problem_size);

/* The history texts of an invocation of w: when the payload has window
 * fields, *text2 and *text3 (esmc_malloc'ed, caller frees) as above, a
 * malformed field as problem (when it is still empty), and for an invoke
 * with no records (nrids 0) *shard = the shard its shardId names. Returns 0,
 * or -1 when out of memory. */
int esmc_tw_event_texts(const struct esmc_world *w, const char *payload,
                        size_t len, uint32_t nrids, uint32_t *shard,
                        struct esmc_buf *problem, char **text2, char **text3);

/* The history form of an invocation's window fields. */
struct esmc_tw_info {
  int64_t start_ms, end_ms;
  int final, early;
  int64_t shard; /* -1 when the shardId names no shard */
  int arn_ok;
};

/* Parse an ESMC_H_INVOKE's text2. Returns 0, or -1 when text2 is NULL or
 * not of that form. */
int esmc_tw_info_parse(const char *text2, struct esmc_tw_info *out);

/* The state of a TimeWindowEventResponse (TW-3): body must be a JSON object
 * whose "state" member (the last, if repeated) is an object. Returns 1 with
 * its span in *off and *len (either may be NULL), 0 otherwise. Only the
 * structure is read: run a JSON validator first to judge the whole text. */
int esmc_tw_response_state(const char *body, size_t n, size_t *off,
                           size_t *len);

/* 1 when the JSON texts a and b are equal once whitespace outside strings
 * is dropped. */
int esmc_tw_json_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif /* ESMC_TW_H */

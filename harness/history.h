/*
 * history.h: the run's history, the single point of observation. Every host
 * call the mapper makes, and every world event that shapes what it sees, is
 * one event, in the order it happened. Checkers judge only this (plus the
 * scenario and the world's immutable record table).
 */
#ifndef ESMC_HISTORY_H
#define ESMC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define ESMC_NO_SHARD UINT32_MAX

/* The kinds, with the meaning of the generic members for each. Times are
 * virtual milliseconds relative to the world's start. */
enum esmc_hkind {
  /* Records became visible: shard, a = first index in shard, b = count. */
  ESMC_H_APPEND = 1,
  /* create(): status; text = "Code: message" when rejected; a = 1 when the
   * create is a restart. */
  ESMC_H_CREATE,
  /* update(): status; a = index of the case event; text as for CREATE. */
  ESMC_H_UPDATE,
  /* destroy(): a = 1 for a restart, 0 at the end of the run. */
  ESMC_H_DESTROY,
  /* Timers: id = token; a = due time (SET). */
  ESMC_H_TIMER_SET,
  ESMC_H_TIMER_CANCEL,
  ESMC_H_TIMER_FIRE,
  /* list_shards(): status, a = number of shards returned. */
  ESMC_H_LIST_SHARDS,
  /* get_shard_iterator(): shard, a = esmc_iterator_type, b = index in the
   * shard of the first record the iterator will return, id = iterator. */
  ESMC_H_GET_ITERATOR,
  /* get_records(): shard, id = iterator, a = first index, b = count. */
  ESMC_H_GET_RECORDS,
  /* invoke(): id = invocation; shard = the records' shard (ESMC_NO_SHARD
   * when none or mixed); rids = records in payload order; a = payload bytes;
   * b = attempt number the function saw (1 + most prior deliveries of a
   * record of the batch); text = first payload shape problem, or NULL.
   * Tumbling windows (the payload has a top-level "window"; see tw.h): text2
   * = "<start_ms> <end_ms> <final 0|1> <early 0|1> <shard> <arn 0|1>" with
   * absolute epoch ms, the index of the shard shardId names (-1: none) and 1
   * when eventSourceARN is the stream's; text3 = the raw state JSON; both
   * NULL when absent or malformed (then the problem is in text). An invoke
   * with no records takes shard from its shardId. */
  ESMC_H_INVOKE,
  /* The invocation finished and on_invoke_complete() was called: id =
   * invocation; a = esmc_invoke_outcome; status = HTTP status code; text =
   * raw response (text_len bytes); text2 = function error or NULL; b = event
   * index of the ESMC_H_INVOKE. */
  ESMC_H_COMPLETE,
  /* checkpoint(): shard, text = sequence number; a = highest index in the
   * shard whose sequence number is <= it (-1: none). */
  ESMC_H_CHECKPOINT,
  /* send_to_destination(): status; text = payload (text_len bytes), text2 =
   * destination ARN, text3 = object key or NULL. */
  ESMC_H_DEST_SEND,
  /* log(): a = level; text = message. */
  ESMC_H_LOG,
  /* A case event the world applied: a = esmc_case_event_kind. */
  ESMC_H_FAULT,
  /* The adapter broke the ABI contract: text says how. */
  ESMC_H_CONTRACT,
  /* The run ended: a = reason (0 quiescent, 1 horizon, 2 step limit). */
  ESMC_H_END,
  /* ABI v2, SQS. A queue message is a world record (rid) too: the case's
   * messages fill world->records, and a receive delivers copies of them. */
  /* get_queue_attributes(): status. */
  ESMC_H_QUEUE_ATTRIBUTES,
  /* receive_messages(): id = receive handle; a = max_messages; b =
   * wait_time_s; status. */
  ESMC_H_RECEIVE,
  /* The receive finished and on_receive_complete() was called: id = receive
   * handle; rids = the messages delivered, in order; status; text = their
   * receipt handles, space separated; a = the visibility timeout in seconds
   * the messages got; b = 1 + the rid of the duplicate the world injected
   * (a message still in flight, SQS-DUP-1), 0 when none. */
  ESMC_H_RECEIVED,
  /* delete_message(): text = receipt handle; a = rid (-1 unknown); b = 1
   * when the message was deleted, 0 when the handle was stale; status. */
  ESMC_H_DELETE,
  /* change_message_visibility(): text = receipt handle; a = rid; b = the new
   * timeout in seconds; status. */
  ESMC_H_VISIBILITY,
  /* The world moved a message to the dead-letter queue (redrive): shard =
   * ESMC_NO_SHARD; a = rid; b = its receive count. */
  ESMC_H_DEAD_LETTER,
  /* A message passed the queue's retention and was dropped: a = rid. */
  ESMC_H_MESSAGE_EXPIRED
};

struct esmc_hevent {
  int64_t t;
  uint32_t kind;    /* enum esmc_hkind */
  uint32_t mapping; /* mapping index within the world */
  int32_t status;
  uint32_t shard;
  uint64_t id;
  int64_t a, b;
  uint32_t *rids;   /* owned */
  uint32_t nrids;
  char *text;       /* owned, NUL-terminated; text_len excludes the NUL */
  size_t text_len;
  char *text2;      /* owned */
  char *text3;      /* owned */
};

struct esmc_history {
  struct esmc_hevent *ev;
  size_t n, cap;
  int oom;          /* an append failed: the history is incomplete */
};

void esmc_history_init(struct esmc_history *h);
void esmc_history_free(struct esmc_history *h);
/* Append an event; copies rids and the texts. text may hold NULs (text_len).
 * Returns the new event's index, or -1 when out of memory (h->oom set). */
long esmc_history_add(struct esmc_history *h, const struct esmc_hevent *e,
                      const char *text, size_t text_len, const char *text2,
                      const char *text3);

/* A stable one-line JSON serialization of event i (no trailing newline). */
void esmc_history_event_json(const struct esmc_history *h, size_t i,
                             struct esmc_buf *out);
/* FNV-1a 64 over the serialization of every event, one per line. */
uint64_t esmc_history_digest(const struct esmc_history *h);
const char *esmc_hkind_name(uint32_t kind);

#endif /* ESMC_HISTORY_H */

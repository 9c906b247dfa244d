/*
 * filter.h: the harness's own event-filter matcher (FILTER-1..FILTER-10).
 *
 * A filter pattern is EventBridge pattern syntax, the subset the spec names:
 * nested objects descend into the record; a leaf is an array of matchers,
 * any of which may match (OR); the keys of one object must all match (AND);
 * several patterns are ORed. The harness uses this matcher to know which
 * records a mapper must drop, independently of any mapper's own matcher
 * (the reference has its own in reference/ref_filter.c).
 *
 * What a pattern is matched against, per source:
 *   - Kinesis: {"kinesisSchemaVersion":"1.0","partitionKey":..,
 *     "sequenceNumber":..,"approximateArrivalTimestamp":<seconds>,
 *     "data":<the record's data parsed as JSON>}. When the data is not JSON
 *     the record matches no pattern that names "data" (FILTER-6).
 *   - DynamoDB: the event record {"eventID",..,"eventName","eventVersion",
 *     "eventSource":"aws:dynamodb","awsRegion","dynamodb":{
 *     "ApproximateCreationDateTime":<seconds>,"Keys","NewImage","OldImage",
 *     "SequenceNumber","SizeBytes","StreamViewType"},"eventSourceARN"}, with
 *     the images in typed DynamoDB JSON (FILTER-8).
 */
#ifndef ESMC_FILTER_H
#define ESMC_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"
#include "world.h"

/* The most filters one mapping may have, and the longest pattern text in
 * characters (FILTER-10, PARAM-FC-1, CONTRA-9). */
#define ESMC_FILTER_MAX_COUNT 5
#define ESMC_FILTER_MAX_PATTERN 4096

/* 0 when text is a valid pattern (FILTER-10), else -1 with a reason in why
 * (why may be NULL). */
int esmc_filter_pattern_check(const char *text, char *why, size_t why_size);

/* The JSON text a record's patterns are matched against (see above), into
 * out (reset first). *data_ok is 0 for a Kinesis record whose data is not
 * JSON (the view then has no "data" member), else 1. Returns 0, or -1 when
 * out of memory. */
int esmc_filter_record_view(const struct esmc_world *w,
                            const struct esmc_wrecord *r, struct esmc_buf *out,
                            int *data_ok);

/* 1 when the view (a JSON object text) matches at least one of the n
 * patterns, else 0. data_key names the member that holds parsed payload
 * ("data" for Kinesis); when data_ok is 0 a pattern naming it never matches.
 * A pattern that does not parse matches nothing. With n == 0 every record
 * matches. */
int esmc_filter_match_view(const char *view, size_t len, const char *data_key,
                           int data_ok, char *const *patterns, size_t n);

/* 1 when record r matches at least one of the n patterns (or n == 0), 0 when
 * the filters drop it. */
int esmc_filter_match(const struct esmc_world *w, const struct esmc_wrecord *r,
                      char *const *patterns, size_t n);

/* What the filters said about a record over a run. Several bits may be set
 * when the filters changed while the record was read more than once. */
#define ESMC_FILTER_KEPT 1u    /* matched the filters in force at a read or
                                  at a delivery */
#define ESMC_FILTER_DROPPED 2u /* matched none of the filters in force at a
                                  read */

struct esmc_filter_rec {
  uint8_t bits;
  size_t first_read_ev; /* the first GetRecords that returned it, or
                           SIZE_MAX */
};

/* By rid: the filters' verdicts over the run's history. The filters in force
 * are the case's at each create (restarts pass the case configuration
 * again) and an accepted update's when it gives FilterCriteria. A record
 * never read is judged by the filters in force at the end. Returns an
 * esmc_malloc'ed array of w->nrecords entries, or NULL when out of memory.
 * *any_filters is set when some filter was in force at some time. */
struct esmc_filter_rec *esmc_filter_verdicts(const struct esmc_world *w,
                                             int *any_filters);

/* 1 when the verdicts say the record must never reach the function: it was
 * dropped and never kept. */
int esmc_filter_dropped(const struct esmc_filter_rec *v);

#endif /* ESMC_FILTER_H */

/*
 * ref_payload.c: the byte buffer, the event payload (EVT-KIN-1, EVT-DDB-1),
 * the on-failure record (DEST-2..6), UTC formatting and deterministic ids.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"
#include "ref_mutant.h"

/* ------------------------------------------------------------------------ */
/* The buffer. */

void ref_buf_free(struct ref_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
}

void ref_buf_append(struct ref_buf *b, const char *s, size_t n)
{
  if(b->oom || n == 0)
    return;
  if(b->measure) {
    b->len += n;
    return;
  }
  if(b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    while(cap < b->len + n + 1)
      cap *= 2;
    p = realloc(b->data, cap);
    if(!p) {
      b->oom = 1;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void ref_buf_puts(struct ref_buf *b, const char *s)
{
  ref_buf_append(b, s, strlen(s));
}

void ref_buf_int(struct ref_buf *b, int64_t v)
{
  char tmp[32];
  int k = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
  if(k > 0)
    ref_buf_append(b, tmp, (size_t)k);
}

/* Appends the escaped content of a JSON string, without the quotes. */
static void ref_buf_json_body(struct ref_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t i, run = 0;

  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[6];
    size_t elen = 2;
    if(c >= 0x20 && c != '"' && c != '\\') {
      run++;
      continue;
    }
    ref_buf_append(b, s + i - run, run);
    run = 0;
    esc[0] = '\\';
    switch(c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      elen = 6;
      break;
    }
    ref_buf_append(b, esc, elen);
  }
  ref_buf_append(b, s + n - run, run);
}

void ref_buf_json_strn(struct ref_buf *b, const char *s, size_t n)
{
  ref_buf_append(b, "\"", 1);
  ref_buf_json_body(b, s, n);
  ref_buf_append(b, "\"", 1);
}

void ref_buf_json_str(struct ref_buf *b, const char *s)
{
  if(!s)
    s = "";
  ref_buf_json_strn(b, s, strlen(s));
}

void ref_buf_base64(struct ref_buf *b, const uint8_t *p, size_t n)
{
  static const char tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char out[256];
  size_t o = 0, i = 0;

  if(!p)
    n = 0;
  if(b->measure) {
    if(!b->oom)
      b->len += (n + 2) / 3 * 4;
    return;
  }
  while(i < n) {
    uint32_t v = (uint32_t)p[i] << 16;
    size_t left = n - i;
    if(left > 1)
      v |= (uint32_t)p[i + 1] << 8;
    if(left > 2)
      v |= p[i + 2];
    out[o++] = tab[(v >> 18) & 63];
    out[o++] = tab[(v >> 12) & 63];
    out[o++] = left > 1 ? tab[(v >> 6) & 63] : '=';
    out[o++] = left > 2 ? tab[v & 63] : '=';
    i += left > 3 ? 3 : left;
    if(o + 4 > sizeof(out)) {
      ref_buf_append(b, out, o);
      o = 0;
    }
  }
  ref_buf_append(b, out, o);
}

/* ------------------------------------------------------------------------ */
/* Time. */

/* floor(a / b) and its remainder for b > 0. */
static int64_t ref_floor_div(int64_t a, int64_t b)
{
  int64_t q = a / b;
  if((a % b) != 0 && (a < 0))
    q--;
  return q;
}

void ref_civil_time(esmc_time_ms t, int *year, int *month, int *day, int *hour,
                    int *minute, int *second, int *millis)
{
  int64_t secs = ref_floor_div(t, 1000);
  int64_t days = ref_floor_div(secs, 86400);
  int64_t sod = secs - days * 86400;
  /* Howard Hinnant's civil_from_days. */
  int64_t z = days + 719468;
  int64_t era = ref_floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;

  *year = (int)(y + (m <= 2));
  *month = (int)m;
  *day = (int)d;
  *hour = (int)(sod / 3600);
  *minute = (int)(sod % 3600 / 60);
  *second = (int)(sod % 60);
  *millis = (int)(t - secs * 1000);
}

void ref_format_iso(char *out, size_t size, esmc_time_ms t, int with_ms)
{
  int y, mo, d, h, mi, s, ms;

  ref_civil_time(t, &y, &mo, &d, &h, &mi, &s, &ms);
  if(with_ms)
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi,
             s, ms);
  else
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, s);
}

/* ------------------------------------------------------------------------ */
/* Deterministic ids. */

static uint64_t ref_splitmix(uint64_t *x)
{
  uint64_t z = (*x += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void ref_make_uuid(char *out, size_t size, const char *seed, uint64_t counter)
{
  uint64_t h = UINT64_C(0xcbf29ce484222325), hi, lo;
  const char *p;

  for(p = seed ? seed : ""; *p; p++) {
    h ^= (unsigned char)*p;
    h *= UINT64_C(0x100000001b3);
  }
  h ^= counter * UINT64_C(0x9E3779B97F4A7C15);
  hi = ref_splitmix(&h);
  lo = ref_splitmix(&h);
  /* Version 4 and RFC 4122 variant bits, so it looks like any other UUID. */
  hi = (hi & ~UINT64_C(0xF000)) | UINT64_C(0x4000);
  lo = (lo & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);
  snprintf(out, size, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64
           "-%012" PRIx64, hi >> 32, (hi >> 16) & 0xFFFF, hi & 0xFFFF,
           lo >> 48, lo & UINT64_C(0xFFFFFFFFFFFF));
}

int ref_s3_object_key(char *out, size_t size, const char *mapping_uuid,
                      const char *shard_id, esmc_time_ms now,
                      const char *object_uuid)
{
  int y, mo, d, h, mi, s, ms, k;

  ref_civil_time(now, &y, &mo, &d, &h, &mi, &s, &ms);
  k = snprintf(out, size,
               "aws/lambda/%s/%s/%04d/%02d/%02d/%04d-%02d-%02dT%02d.%02d.%02d-%s",
               mapping_uuid, shard_id, y, mo, d, y, mo, d, h, mi, s,
               object_uuid);
  return (k < 0 || (size_t)k >= size) ? -1 : 0;
}

int ref_destination_kind(const char *arn)
{
  if(!arn)
    return 0;
  if(strncmp(arn, "arn:aws:sqs:", 12) == 0 ||
     strncmp(arn, "arn:aws:sns:", 12) == 0)
    return arn[12] != '\0' ? 1 : 0;
  if(strncmp(arn, "arn:aws:s3:::", 13) == 0)
    return arn[13] != '\0' ? 2 : 0;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Event records. */

/* Epoch seconds with three decimals, e.g. 1704067200.123. */
static void ref_buf_seconds_ms(struct ref_buf *b, esmc_time_ms t)
{
  char tmp[48];
  int64_t s = ref_floor_div(t, 1000);
  int k = snprintf(tmp, sizeof(tmp), "%" PRId64 ".%03d", s,
                   (int)(t - s * 1000));
  if(k > 0)
    ref_buf_append(b, tmp, (size_t)k);
}

static const char *ref_ddb_event_name(enum esmc_ddb_event e)
{
  switch(e) {
  case ESMC_DDB_INSERT: return "INSERT";
  case ESMC_DDB_MODIFY: return "MODIFY";
  case ESMC_DDB_REMOVE: return "REMOVE";
  }
  return "MODIFY";
}

static void ref_append_kinesis(struct ref_buf *b, const struct ref_config *c,
                               const struct esmc_record *r)
{
  ref_buf_puts(b, "{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\","
                  "\"partitionKey\":");
  ref_buf_json_str(b, r->partition_key);
  ref_buf_puts(b, ",\"sequenceNumber\":");
  ref_buf_json_str(b, r->sequence_number);
  ref_buf_puts(b, ",\"data\":\"");
  ref_buf_base64(b, r->data, r->data_len);
  ref_buf_puts(b, "\",\"approximateArrivalTimestamp\":");
  ref_buf_seconds_ms(b, r->approximate_arrival_ms);
  ref_buf_puts(b, "},\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\","
                  "\"eventID\":\"");
  ref_buf_json_body(b, r->shard_id ? r->shard_id : "",
                    r->shard_id ? strlen(r->shard_id) : 0);
  ref_buf_append(b, ":", 1);
  ref_buf_json_body(b, r->sequence_number ? r->sequence_number : "",
                    r->sequence_number ? strlen(r->sequence_number) : 0);
  ref_buf_append(b, "\"", 1);
  ref_buf_puts(b, ",\"eventName\":\"aws:kinesis:record\",\"invokeIdentityArn\":");
  ref_buf_json_str(b, c->role_arn);
  ref_buf_puts(b, ",\"awsRegion\":");
  ref_buf_json_str(b, c->region);
  ref_buf_puts(b, ",\"eventSourceARN\":");
  ref_buf_json_str(b, c->event_source_arn);
  ref_buf_puts(b, "}");
}

static void ref_append_ddb(struct ref_buf *b, const struct ref_config *c,
                           const struct esmc_record *r)
{
  ref_buf_puts(b, "{\"eventID\":");
  ref_buf_json_str(b, r->event_id);
  ref_buf_puts(b, ",\"eventName\":\"");
  ref_buf_puts(b, ref_ddb_event_name(r->ddb_event_name));
  ref_buf_puts(b, "\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\","
                  "\"awsRegion\":");
  ref_buf_json_str(b, c->region);
  ref_buf_puts(b, ",\"dynamodb\":{\"ApproximateCreationDateTime\":");
  ref_buf_int(b, ref_floor_div(r->approximate_arrival_ms, 1000));
  ref_buf_puts(b, ",\"Keys\":");
  ref_buf_puts(b, r->ddb_keys_json ? r->ddb_keys_json : "{}");
  if(r->ddb_new_image_json) {
    ref_buf_puts(b, ",\"NewImage\":");
    ref_buf_puts(b, r->ddb_new_image_json);
  }
  if(r->ddb_old_image_json) {
    ref_buf_puts(b, ",\"OldImage\":");
    ref_buf_puts(b, r->ddb_old_image_json);
  }
  ref_buf_puts(b, ",\"SequenceNumber\":");
  ref_buf_json_str(b, r->sequence_number);
  ref_buf_puts(b, ",\"SizeBytes\":");
  ref_buf_int(b, (int64_t)r->ddb_size_bytes);
  ref_buf_puts(b, ",\"StreamViewType\":");
  ref_buf_json_str(b, r->ddb_stream_view_type);
  ref_buf_puts(b, "},\"eventSourceARN\":");
  ref_buf_json_str(b, c->event_source_arn);
  ref_buf_puts(b, "}");
}

void ref_append_record_json(struct ref_buf *b, const struct ref_config *c,
                            const struct esmc_record *r)
{
  if(c->source == ESMC_SOURCE_DYNAMODB)
    ref_append_ddb(b, c, r);
  else
    ref_append_kinesis(b, c, r);
}

size_t ref_record_json_len(const struct ref_config *c,
                           const struct esmc_record *r)
{
  struct ref_buf m;

  memset(&m, 0, sizeof(m));
  m.measure = 1;
  ref_append_record_json(&m, c, r);
  return m.len;
}

void ref_build_event(struct ref_buf *b, const struct ref_config *c,
                     const struct esmc_record *const *recs, size_t n)
{
  size_t i;

  ref_buf_puts(b, "{\"Records\":[");
  for(i = 0; i < n; i++) {
    if(i > 0)
      ref_buf_append(b, ",", 1);
    ref_append_record_json(b, c, recs[i]);
  }
  ref_buf_puts(b, "]}");
}

void ref_build_window_event(struct ref_buf *b, const struct ref_config *c,
                            const struct esmc_record *const *recs, size_t n,
                            const struct ref_window_event *w)
{
  char ts[40];
  size_t i;

  if(!w) {
    ref_build_event(b, c, recs, n);
    return;
  }
  ref_buf_puts(b, "{\"Records\":[");
  for(i = 0; i < n; i++) {
    if(i > 0)
      ref_buf_append(b, ",", 1);
    ref_append_record_json(b, c, recs[i]);
  }
  ref_buf_puts(b, "],\"window\":{\"start\":");
  ref_format_iso(ts, sizeof(ts), w->start, 0);
  ref_buf_json_str(b, ts);
  ref_buf_puts(b, ",\"end\":");
  ref_format_iso(ts, sizeof(ts), w->end, 0);
  ref_buf_json_str(b, ts);
  ref_buf_puts(b, "},\"state\":");
  if(w->state && w->state_len > 0)
    ref_buf_append(b, w->state, w->state_len);
  else
    ref_buf_puts(b, "{}");
  ref_buf_puts(b, ",\"shardId\":");
  ref_buf_json_str(b, w->shard_id);
  ref_buf_puts(b, ",\"eventSourceARN\":");
  ref_buf_json_str(b, c->event_source_arn);
  ref_buf_puts(b, ",\"isFinalInvokeForWindow\":");
  ref_buf_puts(b, w->final ? "true" : "false");
  ref_buf_puts(b, ",\"isWindowTerminatedEarly\":");
  ref_buf_puts(b, w->early ? "true" : "false");
  ref_buf_puts(b, "}");
}

/* ------------------------------------------------------------------------ */
/* The on-failure record. */

void ref_build_failure_record(struct ref_buf *b, const struct ref_config *c,
                              const struct ref_failure *f)
{
  char ts[40];
  int ddb = c->source == ESMC_SOURCE_DYNAMODB;
  const struct esmc_record *first = f->records[0];
  const struct esmc_record *last = f->records[f->n - 1];

  ref_buf_puts(b, "{\"requestContext\":{\"requestId\":");
  ref_buf_json_str(b, f->request_id);
  ref_buf_puts(b, ",\"functionArn\":");
  ref_buf_json_str(b, c->function_arn);
  ref_buf_puts(b, ",\"condition\":");
  ref_buf_json_str(b, f->condition);
  ref_buf_puts(b, ",\"approximateInvokeCount\":");
  ref_buf_int(b, f->invoke_count);
  ref_buf_puts(b, "}");
  if(f->has_response) {
    ref_buf_puts(b, ",\"responseContext\":{\"statusCode\":");
    ref_buf_int(b, f->status_code);
    ref_buf_puts(b, ",\"executedVersion\":");
    ref_buf_json_str(b, f->executed_version ? f->executed_version : "$LATEST");
    ref_buf_puts(b, ",\"functionError\":");
    if(f->function_error)
      ref_buf_json_str(b, f->function_error);
    else
      ref_buf_puts(b, "null");
    ref_buf_puts(b, "}");
  }
  ref_buf_puts(b, ",\"version\":\"1.0\",\"timestamp\":");
  ref_format_iso(ts, sizeof(ts), f->now, 1);
  ref_buf_json_str(b, ts);
  ref_buf_puts(b, ddb ? ",\"DDBStreamBatchInfo\":{\"shardId\":"
                      : ",\"KinesisBatchInfo\":{\"shardId\":");
  ref_buf_json_str(b, f->shard_id);
  ref_buf_puts(b, ",\"startSequenceNumber\":");
  ref_buf_json_str(b, first->sequence_number);
  ref_buf_puts(b, ",\"endSequenceNumber\":");
  ref_buf_json_str(b, last->sequence_number);
  ref_buf_puts(b, ",\"approximateArrivalOfFirstRecord\":");
  ref_format_iso(ts, sizeof(ts), first->approximate_arrival_ms,
                 !ddb || REF_MUTANT(DDB_ARRIVAL_MS));
  ref_buf_json_str(b, ts);
  ref_buf_puts(b, ",\"approximateArrivalOfLastRecord\":");
  ref_format_iso(ts, sizeof(ts), last->approximate_arrival_ms,
                 !ddb || REF_MUTANT(DDB_ARRIVAL_MS));
  ref_buf_json_str(b, ts);
  ref_buf_puts(b, ",\"batchSize\":");
  ref_buf_int(b, REF_MUTANT(FAILURE_BATCHSIZE) ? (int64_t)c->batch_size
                                               : (int64_t)f->n);
  ref_buf_puts(b, ",\"streamArn\":");
  ref_buf_json_str(b, c->event_source_arn);
  ref_buf_puts(b, "}");
  if(f->include_payload) {
    ref_buf_puts(b, ",\"payload\":");
    ref_build_event(b, c, f->records, f->n);
  }
  ref_buf_puts(b, "}");
}

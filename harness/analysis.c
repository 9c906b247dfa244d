/*
 * analysis.c: one pass over a run's history that derives what every property
 * checker needs (see check.h): the invocations with the spec's reading of
 * their results, the fate of each record, the parsed failure-destination
 * records and the scope of each shard.
 *
 * JSON here (function responses, failure records) comes from the mapper or
 * the function, so it is checked by a small strict validator first; jsmn then
 * only tokenizes text already known to be well formed. JSMN_STATIC keeps
 * jsmn's functions local to this file.
 */
#define JSMN_STATIC
#include <jsmn.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tw.h"

static int is_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* ------------------------------------------------------------------------ */
/* Tokens of a validated object or array.                                    */

struct jdoc {
  const char *s;
  jsmntok_t *t;
  int n;
};

/* Tokenize s[0, len), which must start with '{' or '[' and be valid JSON.
 * Returns 0, or -1 when out of memory. */
static int jdoc_parse(struct jdoc *d, const char *s, size_t len)
{
  jsmn_parser p;
  int n;
  d->s = s;
  d->t = NULL;
  d->n = 0;
  if(len > (size_t)INT_MAX / 2)
    return -1;
  jsmn_init(&p);
  n = jsmn_parse(&p, s, len, NULL, 0);
  if(n <= 0)
    return -1;
  d->t = esmc_calloc((size_t)n, sizeof(*d->t));
  if(!d->t)
    return -1;
  jsmn_init(&p);
  n = jsmn_parse(&p, s, len, d->t, (unsigned)n);
  if(n <= 0) {
    esmc_free(d->t);
    d->t = NULL;
    return -1;
  }
  d->n = n;
  return 0;
}

static void jdoc_free(struct jdoc *d)
{
  esmc_free(d->t);
  d->t = NULL;
}

/* The index of the first token after token i and everything inside it. */
static int tok_next(const struct jdoc *d, int i)
{
  int left = 1;
  while(left > 0 && i < d->n) {
    left += d->t[i].size;
    left--;
    i++;
  }
  return i;
}

static int tok_len(const struct jdoc *d, int i)
{
  return d->t[i].end - d->t[i].start;
}

static int tok_is_null(const struct jdoc *d, int i)
{
  return d->t[i].type == JSMN_PRIMITIVE && d->s[d->t[i].start] == 'n';
}

static int tok_is_number(const struct jdoc *d, int i)
{
  char c = d->s[d->t[i].start];
  return d->t[i].type == JSMN_PRIMITIVE && (c == '-' || is_digit(c));
}

/* The value of member `key` of object token obj (keys compared raw), or -1. */
static int obj_get(const struct jdoc *d, int obj, const char *key)
{
  int i, k, klen = (int)strlen(key);
  if(obj < 0 || d->t[obj].type != JSMN_OBJECT)
    return -1;
  i = obj + 1;
  for(k = 0; k < d->t[obj].size && i + 1 < d->n; k++) {
    if(d->t[i].type == JSMN_STRING && tok_len(d, i) == klen &&
       memcmp(d->s + d->t[i].start, key, (size_t)klen) == 0)
      return i + 1;
    i = tok_next(d, i + 1);
  }
  return -1;
}

/* Copy a string token into out (cap > 0), undoing the simple escapes and
 * \u escapes of ASCII characters; other \u escapes become '?'. Returns the
 * unescaped length, or (size_t)-1 when it does not fit. */
static size_t tok_string(const struct jdoc *d, int i, char *out, size_t cap)
{
  const char *p = d->s + d->t[i].start, *e = d->s + d->t[i].end;
  size_t o = 0;
  while(p < e) {
    char c = *p++;
    if(c == '\\' && p < e) {
      char x = *p++;
      switch(x) {
      case 'b': c = '\b'; break;
      case 'f': c = '\f'; break;
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'u': {
        unsigned v = 0;
        int k;
        for(k = 0; k < 4 && p < e; k++, p++) {
          char h = *p;
          v = v * 16 + (unsigned)(is_digit(h) ? h - '0'
                                  : (h >= 'a' ? h - 'a' + 10 : h - 'A' + 10));
        }
        c = v > 0 && v < 0x80 ? (char)v : '?';
        break;
      }
      default: c = x; break;
      }
    }
    if(o + 1 >= cap)
      return (size_t)-1;
    out[o++] = c;
  }
  out[o] = '\0';
  return o;
}

/* An integer token (no fraction or exponent). 0 or -1. */
static int tok_int64(const struct jdoc *d, int i, int64_t *out)
{
  const char *p = d->s + d->t[i].start, *e = d->s + d->t[i].end;
  int neg = 0;
  int64_t v = 0;
  if(!tok_is_number(d, i))
    return -1;
  if(*p == '-') {
    neg = 1;
    p++;
  }
  if(p >= e)
    return -1;
  for(; p < e; p++) {
    if(!is_digit(*p) || v > (INT64_MAX - 9) / 10)
      return -1;
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The spec's reading of a ReportBatchItemFailures response.                 */

static void set_why(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t size, const char *fmt, ...)
{
  va_list ap;
  if(!why || size == 0)
    return;
  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
}

struct seqpos {
  const char *seq;
  uint32_t pos;
};

static int seqpos_cmp(const void *a, const void *b)
{
  const struct seqpos *x = a, *y = b;
  int c = strcmp(x->seq, y->seq);
  if(c)
    return c;
  return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The lowest position in the batch whose record has sequence number id. */
static long find_seq(const struct seqpos *sp, uint32_t n, const char *id)
{
  uint32_t lo = 0, hi = n;
  while(lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if(strcmp(sp[mid].seq, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if(lo < n && strcmp(sp[lo].seq, id) == 0)
    return (long)sp[lo].pos;
  return -1;
}

static int is_queue(const struct esmc_world *w)
{
  return w->sc && (w->sc->source == ESMC_SOURCE_SQS ||
                   w->sc->source == ESMC_SOURCE_SQS_FIFO);
}

/* Judge the members of a top-level object response. On a queue the item
 * identifiers are MessageIds (SQS-PBR-1) and, when marks is not NULL, every
 * listed position is marked in it. */
static enum esmc_inv_result interpret_object(const struct esmc_world *w,
                                             const struct jdoc *d,
                                             const uint32_t *rids, uint32_t n,
                                             uint32_t *failed_from, char *why,
                                             size_t why_size, uint8_t *marks)
{
  int queue = is_queue(w);
  struct seqpos *sp = NULL;
  int bif = obj_get(d, 0, "batchItemFailures"), i, k;
  uint32_t best = UINT32_MAX;
  enum esmc_inv_result res = ESMC_R_PARTIAL;

  if(bif < 0 || tok_is_null(d, bif))
    return ESMC_R_SUCCESS;
  if(d->t[bif].type != JSMN_ARRAY) {
    set_why(why, why_size, "batchItemFailures is not an array");
    return ESMC_R_FAILURE;
  }
  if(d->t[bif].size == 0)
    return ESMC_R_SUCCESS;
  if(n > 0) {
    uint32_t j;
    sp = esmc_malloc(n * sizeof(*sp));
    if(!sp) {
      set_why(why, why_size, "out of memory judging the response");
      return ESMC_R_FAILURE;
    }
    for(j = 0; j < n; j++) {
      sp[j].seq = rids[j] >= w->nrecords ? ""
                  : queue ? esmc_sqs_message_id(w, rids[j])
                          : w->records[rids[j]].seq;
      sp[j].pos = j;
    }
    qsort(sp, n, sizeof(*sp), seqpos_cmp);
  }
  i = bif + 1;
  for(k = 0; k < d->t[bif].size && i < d->n; k++, i = tok_next(d, i)) {
    char id[128];
    int v;
    long pos;
    if(d->t[i].type != JSMN_OBJECT) {
      set_why(why, why_size, "batchItemFailures entry %d is not an object",
              k + 1);
      res = ESMC_R_FAILURE;
      break;
    }
    v = obj_get(d, i, "itemIdentifier");
    if(v < 0) {
      set_why(why, why_size, "batchItemFailures entry %d has no "
              "itemIdentifier", k + 1);
      res = ESMC_R_FAILURE;
      break;
    }
    if(tok_is_null(d, v)) {
      set_why(why, why_size, "batchItemFailures entry %d has a null "
              "itemIdentifier", k + 1);
      res = ESMC_R_FAILURE;
      break;
    }
    if(d->t[v].type != JSMN_STRING) {
      set_why(why, why_size, "the itemIdentifier of batchItemFailures entry "
              "%d is not a string: %.*s", k + 1,
              tok_len(d, v) > 40 ? 40 : tok_len(d, v), d->s + d->t[v].start);
      res = ESMC_R_FAILURE;
      break;
    }
    if(tok_len(d, v) == 0) {
      set_why(why, why_size, "the itemIdentifier of batchItemFailures entry "
              "%d is an empty string", k + 1);
      res = ESMC_R_FAILURE;
      break;
    }
    pos = -1;
    if(tok_string(d, v, id, sizeof(id)) != (size_t)-1 && sp)
      pos = find_seq(sp, n, id);
    if(pos < 0) {
      set_why(why, why_size, "itemIdentifier \"%.*s\" is not the %s of a "
              "record of the batch", tok_len(d, v) > 80 ? 80 : tok_len(d, v),
              d->s + d->t[v].start,
              queue ? "messageId" : "sequence number");
      res = ESMC_R_FAILURE;
      break;
    }
    if((uint32_t)pos < best)
      best = (uint32_t)pos;
    if(marks)
      marks[pos] = 1;
  }
  esmc_free(sp);
  if(res == ESMC_R_PARTIAL) {
    if(best == UINT32_MAX)
      return ESMC_R_SUCCESS;
    if(failed_from)
      *failed_from = best;
  }
  return res;
}

static enum esmc_inv_result interpret(const struct esmc_world *w,
                                      const char *body, size_t len,
                                      const uint32_t *rids, uint32_t n,
                                      uint32_t *failed_from, char *why,
                                      size_t why_size, uint8_t *marks)
{
  struct jdoc d;
  size_t i = 0;
  enum esmc_inv_result res;

  if(why && why_size)
    why[0] = '\0';
  if(!body)
    len = 0;
  while(i < len && is_ws(body[i]))
    i++;
  if(i == len)
    return ESMC_R_SUCCESS;
  if(esmc_json_valid(body, len) != 0) {
    set_why(why, why_size, "the response is not valid JSON: %.*s",
            len > 60 ? 60 : (int)len, body);
    return ESMC_R_FAILURE;
  }
  switch(body[i]) {
  case 'n':
    return ESMC_R_SUCCESS;
  case '"':
    if(body[i + 1] == '"')
      return ESMC_R_SUCCESS;
    set_why(why, why_size, "the response is a non-empty string");
    return ESMC_R_FAILURE;
  case 't':
  case 'f':
    set_why(why, why_size, "the response is a boolean");
    return ESMC_R_FAILURE;
  case '[': {
    size_t j = i + 1;
    while(j < len && is_ws(body[j]))
      j++;
    if(j < len && body[j] == ']')
      return ESMC_R_SUCCESS;
    set_why(why, why_size, "the response is a non-empty array");
    return ESMC_R_FAILURE;
  }
  case '{':
    break;
  default:
    set_why(why, why_size, "the response is a number");
    return ESMC_R_FAILURE;
  }
  if(jdoc_parse(&d, body + i, len - i) != 0) {
    set_why(why, why_size, "out of memory judging the response");
    return ESMC_R_FAILURE;
  }
  res = interpret_object(w, &d, rids, n, failed_from, why, why_size, marks);
  jdoc_free(&d);
  return res;
}

enum esmc_inv_result esmc_interpret_response(const struct esmc_world *w,
                                             const char *body, size_t len,
                                             const uint32_t *rids, uint32_t n,
                                             uint32_t *failed_from,
                                             char *why, size_t why_size)
{
  return interpret(w, body, len, rids, n, failed_from, why, why_size, NULL);
}

/* ------------------------------------------------------------------------ */
/* Failure-destination records.                                              */

static void problem(struct esmc_adest *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct esmc_adest *d, const char *fmt, ...)
{
  va_list ap;
  if(d->problem[0])
    return;
  va_start(ap, fmt);
  vsnprintf(d->problem, sizeof(d->problem), fmt, ap);
  va_end(ap);
}

/* Member `key` of object obj (named `where` in messages) that must be a
 * string; copied into out when out is not NULL. Returns the token or -1. */
static int need_string(const struct jdoc *jd, struct esmc_adest *d, int obj,
                       const char *where, const char *key, char *out,
                       size_t cap)
{
  int v = obj_get(jd, obj, key);
  if(v < 0) {
    problem(d, "%s.%s is missing", where, key);
    return -1;
  }
  if(jd->t[v].type != JSMN_STRING) {
    problem(d, "%s.%s is not a string", where, key);
    return -1;
  }
  if(out && tok_string(jd, v, out, cap) == (size_t)-1)
    out[0] = '\0';
  return v;
}

static int64_t need_int(const struct jdoc *jd, struct esmc_adest *d, int obj,
                        const char *where, const char *key)
{
  int v = obj_get(jd, obj, key);
  int64_t x;
  if(v < 0) {
    problem(d, "%s.%s is missing", where, key);
    return -1;
  }
  if(tok_int64(jd, v, &x) != 0) {
    problem(d, "%s.%s is not an integer", where, key);
    return -1;
  }
  return x;
}

static int need_object(const struct jdoc *jd, struct esmc_adest *d, int obj,
                       const char *key)
{
  int v = obj_get(jd, obj, key);
  if(v < 0) {
    problem(d, "%s is missing", key);
    return -1;
  }
  if(jd->t[v].type != JSMN_OBJECT) {
    problem(d, "%s is not an object", key);
    return -1;
  }
  return v;
}

static void parse_batch_info(const struct esmc_world *w, const struct jdoc *jd,
                             struct esmc_adest *d, int bi, const char *name)
{
  char first[80], last[80];
  const struct esmc_wrecord *rf = NULL, *rl = NULL;
  uint32_t s;

  first[0] = last[0] = '\0';
  if(need_string(jd, d, bi, name, "shardId", d->shard_id,
                 sizeof(d->shard_id)) >= 0) {
    for(s = 0; s < w->nshards; s++)
      if(strcmp(w->shards[s].id, d->shard_id) == 0)
        d->shard = s;
  }
  if(need_string(jd, d, bi, name, "startSequenceNumber", first,
                 sizeof(first)) >= 0)
    rf = esmc_world_record_by_seq(w, first);
  if(need_string(jd, d, bi, name, "endSequenceNumber", last, sizeof(last)) >=
     0)
    rl = esmc_world_record_by_seq(w, last);
  need_string(jd, d, bi, name, "approximateArrivalOfFirstRecord", NULL, 0);
  need_string(jd, d, bi, name, "approximateArrivalOfLastRecord", NULL, 0);
  d->batch_size = need_int(jd, d, bi, name, "batchSize");
  need_string(jd, d, bi, name, "streamArn", NULL, 0);
  if(rf && rl && rf->shard == rl->shard) {
    d->first_index = rf->index;
    d->last_index = rl->index;
    d->range_known = 1;
    if(d->shard == ESMC_NO_SHARD)
      d->shard = rf->shard;
    else if(d->shard != rf->shard)
      problem(d, "%s.shardId is %s, but startSequenceNumber %s belongs to %s",
              name, d->shard_id, first, w->shards[rf->shard].id);
  } else if(rf && rl) {
    problem(d, "%s.startSequenceNumber %s and endSequenceNumber %s are in "
            "different shards", name, first, last);
  }
}

static void parse_dest(const struct esmc_world *w, const struct esmc_hevent *e,
                       size_t ev, struct esmc_adest *d)
{
  struct jdoc jd;
  size_t i = 0;
  int rc, rs, bi;
  const char *want, *other;

  memset(d, 0, sizeof(*d));
  d->ev = ev;
  d->shard = ESMC_NO_SHARD;
  d->batch_size = -1;
  d->approximate_invoke_count = -1;
  if(!e->text || esmc_json_valid(e->text, e->text_len) != 0) {
    problem(d, "the failure record is not valid JSON");
    return;
  }
  while(i < e->text_len && is_ws(e->text[i]))
    i++;
  if(e->text[i] != '{') {
    problem(d, "the failure record is not a JSON object");
    return;
  }
  if(jdoc_parse(&jd, e->text + i, e->text_len - i) != 0) {
    problem(d, "out of memory reading the failure record");
    return;
  }
  d->parsed = 1;

  rc = need_object(&jd, d, 0, "requestContext");
  d->has_request_context = obj_get(&jd, 0, "requestContext") >= 0;
  if(rc >= 0) {
    need_string(&jd, d, rc, "requestContext", "requestId", NULL, 0);
    need_string(&jd, d, rc, "requestContext", "functionArn", NULL, 0);
    need_string(&jd, d, rc, "requestContext", "condition", d->condition,
                sizeof(d->condition));
    d->approximate_invoke_count = need_int(&jd, d, rc, "requestContext",
                                           "approximateInvokeCount");
  }
  rs = obj_get(&jd, 0, "responseContext");
  d->has_response_context = rs >= 0;
  if(rs >= 0) {
    if(jd.t[rs].type != JSMN_OBJECT) {
      problem(d, "responseContext is not an object");
    } else {
      int fe;
      need_int(&jd, d, rs, "responseContext", "statusCode");
      need_string(&jd, d, rs, "responseContext", "executedVersion", NULL, 0);
      fe = obj_get(&jd, rs, "functionError");
      if(fe < 0)
        problem(d, "responseContext.functionError is missing");
      else if(tok_is_null(&jd, fe))
        snprintf(d->function_error, sizeof(d->function_error), "null");
      else if(jd.t[fe].type != JSMN_STRING)
        problem(d, "responseContext.functionError is neither a string nor "
                "null");
      else if(tok_string(&jd, fe, d->function_error,
                         sizeof(d->function_error)) == (size_t)-1)
        d->function_error[0] = '\0';
    }
  }
  need_string(&jd, d, 0, "the failure record", "version", NULL, 0);
  need_string(&jd, d, 0, "the failure record", "timestamp", NULL, 0);

  want = w->sc && w->sc->source == ESMC_SOURCE_DYNAMODB ? "DDBStreamBatchInfo"
                                                        : "KinesisBatchInfo";
  other = want[0] == 'D' ? "KinesisBatchInfo" : "DDBStreamBatchInfo";
  bi = obj_get(&jd, 0, want);
  if(bi < 0 && (bi = obj_get(&jd, 0, other)) >= 0) {
    problem(d, "the failure record has %s where this stream needs %s", other,
            want);
    want = other;
  }
  if(bi < 0)
    problem(d, "%s is missing", want);
  else if(jd.t[bi].type != JSMN_OBJECT)
    problem(d, "%s is not an object", want);
  else
    parse_batch_info(w, &jd, d, bi, want);
  jdoc_free(&jd);
}

/* ------------------------------------------------------------------------ */
/* The pass.                                                                 */

#define F_APPENDED 1u
#define F_SUCCEEDED 2u
#define F_REPORTED 4u
#define F_SKIPPED 8u
#define F_PRE_CREATE 16u
#define F_FILTERED 32u
#define F_INVOKED 64u

size_t esmc_inv_by_ev(const struct esmc_analysis *an, size_t ev)
{
  size_t lo = 0, hi = an->ninv;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(an->inv[mid].ev < ev)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < an->ninv && an->inv[lo].ev == ev ? lo : ESMC_NONE;
}

static void settle(struct esmc_analysis *an, uint8_t *flags, uint32_t rid,
                   size_t ev, unsigned how)
{
  struct esmc_arec *r;
  if(rid >= an->w->nrecords)
    return;
  r = &an->rec[rid];
  if(r->settled_ev == ESMC_NONE)
    r->settled_ev = ev;
  if((how & (F_SUCCEEDED | F_REPORTED)) &&
     !(flags[rid] & (F_SUCCEEDED | F_REPORTED)))
    r->fate = how == F_SUCCEEDED ? ESMC_FATE_SUCCEEDED : ESMC_FATE_REPORTED;
  flags[rid] |= (uint8_t)how;
}

/* ---- Queue worlds (SQS): message fates. ---- */

/* A completed queue invocation: mark the messages it failed for, and note
 * the first success of the others (SQS-PBR-1). */
static void queue_complete(struct esmc_analysis *an, struct esmc_ainv *iv,
                           size_t ev)
{
  uint8_t *f = (uint8_t *)iv->item_failed;
  uint32_t j;
  if(!f)
    return;
  if(iv->result == ESMC_R_FAILURE)
    memset(f, 1, iv->n);
  else if(iv->result != ESMC_R_PARTIAL)
    memset(f, 0, iv->n);
  if(iv->result != ESMC_R_SUCCESS && iv->result != ESMC_R_PARTIAL)
    return;
  for(j = 0; j < iv->n; j++) {
    uint32_t rid = iv->rids[j];
    if(f[j] || rid >= an->w->nrecords)
      continue;
    if(an->rec[rid].success_ev == ESMC_NONE)
      an->rec[rid].success_ev = ev;
  }
}

/* The queue events of the history, at event i. filters_on says whether
 * FilterCriteria were in force. */
static void queue_event(struct esmc_analysis *an, uint8_t *flags,
                        const struct esmc_hevent *e, size_t i, int filters_on)
{
  uint32_t nrec = an->w->nrecords, k;
  struct esmc_arec *r;
  switch(e->kind) {
  case ESMC_H_RECEIVED:
    for(k = 0; k < e->nrids; k++)
      if(e->rids[k] < nrec) {
        r = &an->rec[e->rids[k]];
        r->receives++;
        r->last_received_ev = i;
        flags[e->rids[k]] |= F_APPENDED;
      }
    break;
  case ESMC_H_DELETE:
    if(e->b == 1 && e->a >= 0 && e->a < (int64_t)nrec) {
      r = &an->rec[e->a];
      if(r->delete_ev == ESMC_NONE) {
        r->delete_ev = i;
        if(filters_on && !(flags[e->a] & F_INVOKED))
          flags[e->a] |= F_FILTERED;
      }
    }
    break;
  case ESMC_H_DEAD_LETTER:
    if(e->a >= 0 && e->a < (int64_t)nrec) {
      r = &an->rec[e->a];
      if(r->dead_letter_ev == ESMC_NONE)
        r->dead_letter_ev = i;
      flags[e->a] |= F_APPENDED;
    }
    break;
  case ESMC_H_MESSAGE_EXPIRED:
    if(e->a >= 0 && e->a < (int64_t)nrec) {
      r = &an->rec[e->a];
      if(r->expired_ev == ESMC_NONE)
        r->expired_ev = i;
      flags[e->a] |= F_APPENDED;
    }
    break;
  default:
    break;
  }
}

/* The fate of every message once the whole history is read. The first of
 * delete, dead-letter and expiry decides; a delete counts as DELETED only
 * after a success for the message. */
static void queue_fates(struct esmc_analysis *an, const uint8_t *flags)
{
  uint32_t rid;
  for(rid = 0; rid < an->w->nrecords; rid++) {
    struct esmc_arec *r = &an->rec[rid];
    size_t first = r->delete_ev;
    /* FIFO-10: a send the queue deduplicated was never a message. */
    r->in_scope = (flags[rid] & F_APPENDED) != 0 &&
                  an->w->records[rid].dedup_of < 0;
    if(!r->in_scope) {
      r->fate = ESMC_FATE_OUT_OF_SCOPE;
      continue;
    }
    if(r->dead_letter_ev < first)
      first = r->dead_letter_ev;
    if(r->expired_ev < first)
      first = r->expired_ev;
    r->settled_ev = first;
    if(first == ESMC_NONE)
      r->fate = ESMC_FATE_PENDING;
    else if(first == r->dead_letter_ev)
      r->fate = ESMC_FATE_DEAD_LETTERED;
    else if(first == r->expired_ev)
      r->fate = ESMC_FATE_EXPIRED;
    else if(r->success_ev != ESMC_NONE && r->success_ev < r->delete_ev)
      r->fate = ESMC_FATE_DELETED;
    else if(flags[rid] & F_FILTERED)
      r->fate = ESMC_FATE_FILTERED;
    else
      r->fate = ESMC_FATE_LOST;
  }
}

const char *esmc_sqs_message_id(const struct esmc_world *w, uint32_t rid)
{
  if(rid >= w->nrecords)
    return "";
  return w->records[rid].seq;
}

uint32_t esmc_sqs_group(const struct esmc_world *w, uint32_t rid)
{
  if(rid >= w->nrecords || !w->sc || w->sc->source != ESMC_SOURCE_SQS_FIFO)
    return UINT32_MAX;
  return w->records[rid].group;
}

static void complete(struct esmc_analysis *an, uint8_t *flags,
                     struct esmc_ainv *iv, const struct esmc_hevent *e,
                     size_t ev)
{
  uint32_t j, ok = 0;
  iv->done_ev = ev;
  iv->t_end = e->t;
  switch(e->a) {
  case ESMC_INVOKE_OK:
    /* TW-3: a tumbling-window response must hold a state object. */
    if(iv->cfg.tumbling_window_s > 0 &&
       (!e->text || esmc_json_valid(e->text, e->text_len) != 0 ||
        !esmc_tw_response_state(e->text, e->text_len, NULL, NULL))) {
      iv->result = ESMC_R_FAILURE;
      snprintf(iv->why, sizeof(iv->why),
               "the response has no state object (TW-3)");
    } else if(iv->cfg.report_batch_item_failures)
      iv->result = interpret(an->w, e->text, e->text_len, iv->rids, iv->n,
                             &iv->failed_from, iv->why, sizeof(iv->why),
                             an->queue ? (uint8_t *)iv->item_failed : NULL);
    else
      iv->result = ESMC_R_SUCCESS;
    break;
  case ESMC_INVOKE_FUNCTION_ERROR:
    iv->result = ESMC_R_FAILURE;
    snprintf(iv->why, sizeof(iv->why), "function error %s",
             e->text2 ? e->text2 : "Unhandled");
    break;
  default:
    iv->result = ESMC_R_NOT_RUN;
    break;
  }
  if(an->queue) {
    queue_complete(an, iv, ev);
    return;
  }
  if(iv->result == ESMC_R_SUCCESS)
    ok = iv->n;
  else if(iv->result == ESMC_R_PARTIAL)
    ok = iv->failed_from;
  for(j = 0; j < ok; j++)
    settle(an, flags, iv->rids[j], ev, F_SUCCEEDED);
}

static void scope_from_iterator(struct esmc_analysis *an,
                                const struct esmc_hevent *e)
{
  switch(e->a) {
  case ESMC_ITER_LATEST:
  case ESMC_ITER_AT_TIMESTAMP:
    an->scope_start[e->shard] = e->b < 0 ? 0
                                : e->b > (int64_t)UINT32_MAX - 1
                                    ? UINT32_MAX - 1
                                    : (uint32_t)e->b;
    break;
  default:
    an->scope_start[e->shard] = 0;
    break;
  }
}

static void record_fates(struct esmc_analysis *an, const uint8_t *flags,
                         const struct esmc_effective_config *initial)
{
  const struct esmc_world *w = an->w;
  uint32_t rid;
  for(rid = 0; rid < w->nrecords; rid++) {
    const struct esmc_wrecord *wr = &w->records[rid];
    struct esmc_arec *r = &an->rec[rid];
    uint32_t ss = wr->shard < w->nshards ? an->scope_start[wr->shard] : 0;
    int in = (flags[rid] & F_APPENDED) != 0;
    if(in && ss != UINT32_MAX && wr->index < ss)
      in = 0;
    if(in && ss == UINT32_MAX) {
      /* A shard the mapping never read: judge the records the starting
       * position puts in scope. */
      if(initial->starting_position == ESMC_START_LATEST &&
         (flags[rid] & F_PRE_CREATE))
        in = 0;
      if(initial->starting_position == ESMC_START_AT_TIMESTAMP &&
         wr->at_ms < initial->starting_position_timestamp_ms)
        in = 0;
    }
    r->in_scope = in;
    if(!in)
      r->fate = ESMC_FATE_OUT_OF_SCOPE;
    else if(flags[rid] & (F_SUCCEEDED | F_REPORTED))
      ; /* set when it happened */
    else if(flags[rid] & F_SKIPPED)
      r->fate = ESMC_FATE_SKIPPED;
    else if(!an->queue && an->end_t >= wr->trim_ms)
      r->fate = ESMC_FATE_TRIMMED;
    else
      r->fate = ESMC_FATE_PENDING;
  }
}

/* Deliveries count the invocations that reached the function or may have
 * (everything but ESMC_R_NOT_RUN). */
static void record_deliveries(struct esmc_analysis *an)
{
  size_t k;
  uint32_t j;
  for(k = 0; k < an->ninv; k++) {
    const struct esmc_ainv *iv = &an->inv[k];
    for(j = 0; j < iv->n; j++)
      if(iv->rids[j] < an->w->nrecords &&
         an->rec[iv->rids[j]].first_carry_inv == ESMC_NONE)
        an->rec[iv->rids[j]].first_carry_inv = k;
    if(iv->result == ESMC_R_NOT_RUN)
      continue;
    for(j = 0; j < iv->n; j++) {
      struct esmc_arec *r;
      if(iv->rids[j] >= an->w->nrecords)
        continue;
      r = &an->rec[iv->rids[j]];
      r->deliveries++;
      if(iv->item_failed ? iv->item_failed[j] != 0
                         : iv->result == ESMC_R_FAILURE ||
                               (iv->result == ESMC_R_PARTIAL &&
                                j >= iv->failed_from))
        r->failed_deliveries++;
      if(r->first_delivery_inv == ESMC_NONE)
        r->first_delivery_inv = k;
      r->last_delivery_inv = k;
    }
  }
}

/* TW-5: a tumbling window holds the checkpoint back until its final invoke,
 * so a record given up with no destination is only covered by a checkpoint
 * after it. Such a record was done when its last (failed) delivery
 * completed: the mapper moved on from there. */
static void tw_settle_given_up(struct esmc_analysis *an)
{
  uint32_t rid;
  for(rid = 0; rid < an->w->nrecords; rid++) {
    struct esmc_arec *r = &an->rec[rid];
    const struct esmc_ainv *iv;
    if(r->fate != ESMC_FATE_SKIPPED || r->last_delivery_inv == ESMC_NONE)
      continue;
    iv = &an->inv[r->last_delivery_inv];
    if(iv->cfg.tumbling_window_s > 0 && iv->done_ev != ESMC_NONE &&
       iv->done_ev < r->settled_ev &&
       (iv->result == ESMC_R_FAILURE || iv->result == ESMC_R_PARTIAL))
      r->settled_ev = iv->done_ev;
  }
}

int esmc_analyze(const struct esmc_world *w, struct esmc_analysis *an)
{
  const struct esmc_history *h = &w->hist;
  const struct esmc_scenario *sc = w->sc;
  struct esmc_effective_config cfg, initial;
  uint8_t *flags = NULL;
  int64_t *ckpt_done = NULL;
  size_t i, ninv = 0, ndest = 0, nitems = 0, items_used = 0;
  uint32_t s, rid;
  int created_once = 0, filters_on;
  int64_t first_create_t = 0;

  memset(an, 0, sizeof(*an));
  an->w = w;
  for(i = 0; i < h->n; i++) {
    if(h->ev[i].kind == ESMC_H_INVOKE) {
      ninv++;
      nitems += h->ev[i].nrids;
    }
    else if(h->ev[i].kind == ESMC_H_DEST_SEND)
      ndest++;
  }
  an->inv = esmc_calloc(ninv ? ninv : 1, sizeof(*an->inv));
  an->dest = esmc_calloc(ndest ? ndest : 1, sizeof(*an->dest));
  an->rec = esmc_calloc(w->nrecords ? w->nrecords : 1, sizeof(*an->rec));
  an->scope_start = esmc_calloc(w->nshards ? w->nshards : 1,
                                sizeof(*an->scope_start));
  flags = esmc_calloc(w->nrecords ? w->nrecords : 1, 1);
  an->queue = is_queue(w);
  an->end_reason = -1;
  if(an->queue)
    an->item_failed = esmc_calloc(nitems ? nitems : 1, 1);
  ckpt_done = esmc_calloc(w->nshards ? w->nshards : 1, sizeof(*ckpt_done));
  if(!an->inv || !an->dest || !an->rec || !an->scope_start || !flags ||
     !ckpt_done || (an->queue && !an->item_failed)) {
    esmc_free(flags);
    esmc_free(ckpt_done);
    esmc_analysis_free(an);
    return -1;
  }
  for(s = 0; s < w->nshards; s++) {
    an->scope_start[s] = UINT32_MAX;
    ckpt_done[s] = -1;
  }
  for(rid = 0; rid < w->nrecords; rid++) {
    an->rec[rid].first_delivery_inv = ESMC_NONE;
    an->rec[rid].first_carry_inv = ESMC_NONE;
    an->rec[rid].last_delivery_inv = ESMC_NONE;
    an->rec[rid].settled_ev = ESMC_NONE;
    an->rec[rid].success_ev = ESMC_NONE;
    an->rec[rid].delete_ev = ESMC_NONE;
    an->rec[rid].dead_letter_ev = ESMC_NONE;
    an->rec[rid].expired_ev = ESMC_NONE;
    an->rec[rid].last_received_ev = ESMC_NONE;
  }
  esmc_effective_config_init(&cfg, sc);
  initial = cfg;
  filters_on = sc->config.filter_count > 0;

  for(i = 0; i < h->n; i++) {
    const struct esmc_hevent *e = &h->ev[i];
    if(e->t > an->end_t)
      an->end_t = e->t;
    switch(e->kind) {
    case ESMC_H_APPEND:
      if(e->shard < w->nshards && e->a >= 0 && e->b > 0) {
        const struct esmc_wshard *sh = &w->shards[e->shard];
        int64_t k;
        for(k = e->a; k < e->a + e->b && k < (int64_t)sh->n; k++)
          flags[sh->rids[k]] |= created_once ? F_APPENDED
                                             : F_APPENDED | F_PRE_CREATE;
      }
      break;
    case ESMC_H_CREATE:
      if(e->status == 0) {
        if(!created_once)
          first_create_t = e->t;
        an->created = 1;
        created_once = 1;
      }
      break;
    case ESMC_H_UPDATE:
      if(e->status == 0 && e->a >= 0 && (size_t)e->a < sc->event_count &&
         sc->events[e->a].kind == ESMC_CASE_UPDATE) {
        const struct esmc_config_spec *u = &sc->events[e->a].update;
        esmc_effective_config_update(&cfg, u);
        if(u->filter_criteria_given)
          filters_on = u->filter_count > 0;
      }
      break;
    case ESMC_H_GET_ITERATOR:
      if(e->status == 0 && e->shard < w->nshards &&
         an->scope_start[e->shard] == UINT32_MAX) {
        scope_from_iterator(an, e);
        /* RESHARD-2: a shard born after the first create is new in full. */
        if(created_once && w->shards[e->shard].created_ms > first_create_t)
          an->scope_start[e->shard] = 0;
      }
      break;
    case ESMC_H_INVOKE: {
      struct esmc_ainv *iv = &an->inv[an->ninv++];
      iv->ev = i;
      iv->done_ev = ESMC_NONE;
      iv->t_start = e->t;
      iv->t_end = -1;
      iv->mapping = e->mapping;
      iv->shard = e->shard;
      iv->rids = e->rids;
      iv->n = e->nrids;
      iv->result = ESMC_R_PENDING;
      iv->cfg = cfg;
      if(an->queue) {
        uint32_t k;
        iv->item_failed = an->item_failed + items_used;
        items_used += e->nrids;
        for(k = 0; k < e->nrids; k++)
          if(e->rids[k] < w->nrecords)
            flags[e->rids[k]] |= F_INVOKED;
      }
      break;
    }
    case ESMC_H_COMPLETE: {
      size_t k = e->b >= 0 ? esmc_inv_by_ev(an, (size_t)e->b)
                           : ESMC_NONE;
      if(k != ESMC_NONE && an->inv[k].done_ev == ESMC_NONE)
        complete(an, flags, &an->inv[k], e, i);
      break;
    }
    case ESMC_H_CHECKPOINT:
      if(e->shard < w->nshards && e->a > ckpt_done[e->shard]) {
        const struct esmc_wshard *sh = &w->shards[e->shard];
        int64_t k;
        for(k = ckpt_done[e->shard] + 1; k <= e->a && k < (int64_t)sh->n; k++)
          settle(an, flags, sh->rids[k], i, F_SKIPPED);
        ckpt_done[e->shard] = e->a;
      }
      break;
    case ESMC_H_DEST_SEND: {
      struct esmc_adest *d = &an->dest[an->ndest++];
      parse_dest(w, e, i, d);
      if(e->status == 0 && d->range_known && d->shard < w->nshards) {
        const struct esmc_wshard *sh = &w->shards[d->shard];
        uint32_t k;
        for(k = d->first_index; k <= d->last_index && k < sh->n; k++)
          settle(an, flags, sh->rids[k], i, F_REPORTED);
      }
      break;
    }
    case ESMC_H_END:
      an->end_reason = (int)e->a;
      break;
    case ESMC_H_RECEIVED:
    case ESMC_H_DELETE:
    case ESMC_H_DEAD_LETTER:
    case ESMC_H_MESSAGE_EXPIRED:
      if(an->queue)
        queue_event(an, flags, e, i, filters_on);
      break;
    default:
      break;
    }
  }
  an->final_cfg = cfg;
  record_deliveries(an);
  if(an->queue) {
    queue_fates(an, flags);
  } else {
    record_fates(an, flags, &initial);
    tw_settle_given_up(an);
  }
  esmc_free(flags);
  esmc_free(ckpt_done);
  return 0;
}

void esmc_analysis_free(struct esmc_analysis *an)
{
  if(!an)
    return;
  esmc_free(an->inv);
  esmc_free(an->rec);
  esmc_free(an->dest);
  esmc_free(an->scope_start);
  esmc_free(an->item_failed);
  memset(an, 0, sizeof(*an));
}

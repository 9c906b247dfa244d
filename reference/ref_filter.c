/*
 * ref_filter.c: the reference mapper's event filtering (FilterCriteria):
 * pattern validation at create and update, and the matcher that decides
 * whether a record reaches the function.
 *
 * Texts are checked with ref_json_valid() and then read by a small
 * recursive-descent parser into a tree. When an object repeats a key the
 * later member replaces the earlier one while parsing, so "last wins"
 * (FILTER-3) holds for patterns and record data alike.
 *
 * The record a pattern sees: for DynamoDB the event record itself (typed
 * images, eventName and the other metadata); for Kinesis an object of the
 * record's metadata (kinesisSchemaVersion, partitionKey, sequenceNumber,
 * approximateArrivalTimestamp) plus "data", the record's bytes parsed as
 * JSON. Kinesis data that is not JSON fails every pattern naming "data".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

/* ------------------------------------------------------------------------ */
/* The tree. */

enum rf_type { RF_NULL, RF_BOOL, RF_NUM, RF_STR, RF_ARR, RF_OBJ };

struct rf_node {
  enum rf_type type;
  int truth;          /* RF_BOOL */
  char *text;         /* RF_STR: unescaped value; RF_NUM: source text */
  size_t len;
  char *key;          /* the member name when the parent is an object */
  size_t key_len;
  struct rf_node *kids; /* RF_ARR elements, RF_OBJ members, in order */
  struct rf_node *next;
  size_t count;
};

static void rf_free(struct rf_node *n)
{
  while(n) {
    struct rf_node *next = n->next;
    rf_free(n->kids);
    free(n->text);
    free(n->key);
    free(n);
    n = next;
  }
}

struct rf_parser {
  const char *s;
  size_t n, i;
  int oom;
};

static void rf_ws(struct rf_parser *p)
{
  while(p->i < p->n && strchr(" \t\r\n", p->s[p->i]) && p->s[p->i] != '\0')
    p->i++;
}

static unsigned rf_hex4(const char *h)
{
  unsigned v = 0;
  int k;
  for(k = 0; k < 4; k++) {
    char c = h[k];
    v <<= 4;
    if(c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if(c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else
      v |= (unsigned)(c - 'A' + 10);
  }
  return v;
}

static size_t rf_utf8(char *out, unsigned long cp)
{
  if(cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if(cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if(cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Reads a string at p->i (the opening quote) into a new buffer. The text is
 * known to be valid, so escapes are well formed. Returns NULL on error. */
static char *rf_string(struct rf_parser *p, size_t *len)
{
  size_t start = ++p->i, end = start, o = 0;
  char *out;

  while(end < p->n && p->s[end] != '"')
    end += p->s[end] == '\\' ? 2 : 1;
  if(end >= p->n)
    return NULL;
  out = malloc(end - start + 1);
  if(!out) {
    p->oom = 1;
    return NULL;
  }
  while(p->i < end) {
    char c = p->s[p->i++];
    if(c != '\\') {
      out[o++] = c;
      continue;
    }
    c = p->s[p->i++];
    switch(c) {
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'u': {
      unsigned long cp = rf_hex4(p->s + p->i);
      p->i += 4;
      if(cp >= 0xD800 && cp <= 0xDBFF && end - p->i >= 6 &&
         p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
        unsigned long lo = rf_hex4(p->s + p->i + 2);
        if(lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p->i += 6;
        }
      }
      /* Every escape is at least as long as its UTF-8 form. */
      o += rf_utf8(out + o, cp);
      break;
    }
    default: out[o++] = c; break;
    }
  }
  p->i = end + 1;
  out[o] = '\0';
  *len = o;
  return out;
}

static struct rf_node *rf_value(struct rf_parser *p);

/* Appends n to the children of parent; an object member replaces an
 * earlier member of the same name. */
static void rf_add(struct rf_node *parent, struct rf_node *n,
                   struct rf_node **tail)
{
  if(parent->type == RF_OBJ) {
    struct rf_node **pp = &parent->kids;
    while(*pp) {
      if((*pp)->key_len == n->key_len &&
         memcmp((*pp)->key, n->key, n->key_len) == 0) {
        struct rf_node *old = *pp;
        *pp = old->next;
        old->next = NULL;
        rf_free(old);
        parent->count--;
        break;
      }
      pp = &(*pp)->next;
    }
    *tail = parent->kids;
    while(*tail && (*tail)->next)
      *tail = (*tail)->next;
  }
  if(*tail)
    (*tail)->next = n;
  else
    parent->kids = n;
  *tail = n;
  parent->count++;
}

static struct rf_node *rf_container(struct rf_parser *p, struct rf_node *c)
{
  char close = c->type == RF_OBJ ? '}' : ']';
  struct rf_node *tail = NULL;

  p->i++;
  rf_ws(p);
  if(p->i < p->n && p->s[p->i] == close) {
    p->i++;
    return c;
  }
  for(;;) {
    char *key = NULL;
    size_t key_len = 0;
    struct rf_node *v;
    rf_ws(p);
    if(c->type == RF_OBJ) {
      if(p->i >= p->n || p->s[p->i] != '"' ||
         !(key = rf_string(p, &key_len))) {
        rf_free(c);
        return NULL;
      }
      rf_ws(p);
      if(p->i >= p->n || p->s[p->i] != ':') {
        free(key);
        rf_free(c);
        return NULL;
      }
      p->i++;
    }
    v = rf_value(p);
    if(!v) {
      free(key);
      rf_free(c);
      return NULL;
    }
    v->key = key;
    v->key_len = key_len;
    rf_add(c, v, &tail);
    rf_ws(p);
    if(p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if(p->i < p->n && p->s[p->i] == close) {
      p->i++;
      return c;
    }
    rf_free(c);
    return NULL;
  }
}

static struct rf_node *rf_value(struct rf_parser *p)
{
  struct rf_node *n;
  char c;

  rf_ws(p);
  if(p->i >= p->n)
    return NULL;
  n = calloc(1, sizeof(*n));
  if(!n) {
    p->oom = 1;
    return NULL;
  }
  c = p->s[p->i];
  if(c == '{' || c == '[') {
    n->type = c == '{' ? RF_OBJ : RF_ARR;
    return rf_container(p, n);
  }
  if(c == '"') {
    n->type = RF_STR;
    n->text = rf_string(p, &n->len);
    if(!n->text) {
      free(n);
      return NULL;
    }
    return n;
  }
  if(c == 't' || c == 'f' || c == 'n') {
    const char *w = c == 't' ? "true" : c == 'f' ? "false" : "null";
    n->type = c == 'n' ? RF_NULL : RF_BOOL;
    n->truth = c == 't';
    p->i += strlen(w);
    return n;
  }
  {
    size_t start = p->i;
    while(p->i < p->n && strchr("+-.eE0123456789", p->s[p->i]) &&
          p->s[p->i] != '\0')
      p->i++;
    n->type = RF_NUM;
    n->len = p->i - start;
    n->text = malloc(n->len + 1);
    if(!n->text || n->len == 0) {
      p->oom = !n->text;
      free(n->text);
      free(n);
      return NULL;
    }
    memcpy(n->text, p->s + start, n->len);
    n->text[n->len] = '\0';
  }
  return n;
}

/* Parses text[0, len) when it is valid JSON; NULL otherwise. */
static struct rf_node *rf_parse(const char *text, size_t len)
{
  struct rf_parser p;

  if(!text || !ref_json_valid(text, len) || memchr(text, '\0', len))
    return NULL;
  p.s = text;
  p.n = len;
  p.i = 0;
  p.oom = 0;
  return rf_value(&p);
}

static int rf_key_is(const struct rf_node *n, const char *k)
{
  size_t l = strlen(k);
  return n->key && n->key_len == l && memcmp(n->key, k, l) == 0;
}

static int rf_text_is(const struct rf_node *n, const char *s)
{
  size_t l = strlen(s);
  return n->type == RF_STR && n->len == l && memcmp(n->text, s, l) == 0;
}

static const struct rf_node *rf_get(const struct rf_node *obj, const char *k,
                                    size_t k_len)
{
  const struct rf_node *m;

  if(!obj || obj->type != RF_OBJ)
    return NULL;
  for(m = obj->kids; m; m = m->next)
    if(m->key_len == k_len && memcmp(m->key, k, k_len) == 0)
      return m;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Validation. */

static int rf_is_operator(const struct rf_node *n)
{
  return rf_text_is(n, "=") || rf_text_is(n, "<") || rf_text_is(n, "<=") ||
         rf_text_is(n, ">") || rf_text_is(n, ">=");
}

static int rf_matcher_valid(const struct rf_node *m)
{
  const struct rf_node *op, *e;

  if(m->type == RF_ARR)
    return 0;
  if(m->type != RF_OBJ)
    return 1;
  if(m->count != 1)
    return 0;
  op = m->kids;
  if(rf_key_is(op, "prefix"))
    return op->type == RF_STR;
  if(rf_key_is(op, "exists"))
    return op->type == RF_BOOL;
  if(rf_key_is(op, "anything-but")) {
    if(op->type == RF_STR || op->type == RF_NUM)
      return 1;
    if(op->type == RF_OBJ)
      return op->count == 1 && rf_key_is(op->kids, "prefix") &&
             op->kids->type == RF_STR;
    if(op->type != RF_ARR || op->count == 0)
      return 0;
    for(e = op->kids; e; e = e->next)
      if(e->type != RF_STR && e->type != RF_NUM)
        return 0;
    return 1;
  }
  if(rf_key_is(op, "numeric")) {
    if(op->type != RF_ARR || (op->count != 2 && op->count != 4))
      return 0;
    for(e = op->kids; e; e = e->next->next)
      if(!rf_is_operator(e) || e->next->type != RF_NUM)
        return 0;
    return 1;
  }
  return 0;
}

static int rf_pattern_valid(const struct rf_node *obj)
{
  const struct rf_node *m, *e;

  if(obj->count == 0)
    return 0;
  for(m = obj->kids; m; m = m->next) {
    if(m->type == RF_OBJ) {
      if(!rf_pattern_valid(m))
        return 0;
    } else if(m->type == RF_ARR && m->count > 0) {
      for(e = m->kids; e; e = e->next)
        if(!rf_matcher_valid(e))
          return 0;
    } else {
      return 0;
    }
  }
  return 1;
}

esmc_status ref_filter_validate(const char *const *patterns, size_t n,
                                struct esmc_error *err)
{
  const char *why = NULL;
  size_t k;

  if(n > REF_FILTER_MAX)
    why = "At most 5 filters are allowed in FilterCriteria.";
  for(k = 0; k < n && !why; k++) {
    const char *t = patterns ? patterns[k] : NULL;
    size_t chars = 0, i, len;
    struct rf_node *root;
    if(!t) {
      why = "A filter has no pattern.";
      break;
    }
    len = strlen(t);
    for(i = 0; i < len; i++)
      chars += ((unsigned char)t[i] & 0xC0) != 0x80;
    if(chars > REF_FILTER_PATTERN_MAX) {
      why = "A pattern is longer than 4096 characters.";
      break;
    }
    root = rf_parse(t, len);
    if(!root || root->type != RF_OBJ || !rf_pattern_valid(root))
      why = "";
    rf_free(root);
  }
  if(!why)
    return ESMC_OK;
  if(err) {
    snprintf(err->code, sizeof(err->code), "InvalidParameterValueException");
    snprintf(err->message, sizeof(err->message),
             "Invalid filter pattern definition.%s%s", why[0] ? " " : "",
             why);
  }
  return ESMC_E_INVALID_PARAMETER;
}

/* ------------------------------------------------------------------------ */
/* Matching. */

/* Literal equality: same type and same text (numbers by their string form,
 * FILTER-2). */
static int rf_same(const struct rf_node *a, const struct rf_node *b)
{
  if(a->type != b->type)
    return 0;
  switch(a->type) {
  case RF_NULL: return 1;
  case RF_BOOL: return a->truth == b->truth;
  case RF_NUM:
  case RF_STR:
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
  default: return 0;
  }
}

static int rf_starts(const struct rf_node *v, const struct rf_node *prefix)
{
  return v->type == RF_STR && v->len >= prefix->len &&
         memcmp(v->text, prefix->text, prefix->len) == 0;
}

static int rf_numeric(const struct rf_node *ops, const struct rf_node *v)
{
  const struct rf_node *o;
  double x;

  if(v->type != RF_NUM)
    return 0;
  x = strtod(v->text, NULL);
  for(o = ops->kids; o; o = o->next->next) {
    double b = strtod(o->next->text, NULL);
    int ok = rf_text_is(o, "=")    ? x == b
             : rf_text_is(o, "<")  ? x < b
             : rf_text_is(o, "<=") ? x <= b
             : rf_text_is(o, ">")  ? x > b
                                   : x >= b;
    if(!ok)
      return 0;
  }
  return 1;
}

static int rf_anything_but(const struct rf_node *op, const struct rf_node *v)
{
  const struct rf_node *e;

  if(op->type == RF_OBJ)
    return !rf_starts(v, op->kids);
  if(op->type == RF_ARR) {
    for(e = op->kids; e; e = e->next)
      if(rf_same(e, v))
        return 0;
    return 1;
  }
  return !rf_same(op, v);
}

/* 1 when v is a leaf value: anything but an object or an array. */
static int rf_leaf(const struct rf_node *v)
{
  return v->type != RF_OBJ && v->type != RF_ARR;
}

/* One matcher against one leaf value. */
static int rf_matches_value(const struct rf_node *m, const struct rf_node *v)
{
  const struct rf_node *op;

  if(m->type != RF_OBJ)
    return rf_same(m, v);
  op = m->kids;
  if(rf_key_is(op, "prefix"))
    return rf_starts(v, op);
  if(rf_key_is(op, "numeric"))
    return rf_numeric(op, v);
  if(rf_key_is(op, "anything-but"))
    return rf_anything_but(op, v);
  return 0;
}

/* A leaf array of matchers against the event value ev (NULL: missing). An
 * object counts as no value (OBS-10: exists false matches it); an array
 * offers each of its leaf elements. */
static int rf_leaf_matches(const struct rf_node *arr, const struct rf_node *ev)
{
  const struct rf_node *m, *e;
  int present = 0;

  if(ev && rf_leaf(ev))
    present = 1;
  else if(ev && ev->type == RF_ARR)
    for(e = ev->kids; e; e = e->next)
      present |= rf_leaf(e);
  for(m = arr->kids; m; m = m->next) {
    if(m->type == RF_OBJ && rf_key_is(m->kids, "exists")) {
      if(m->kids->truth == present)
        return 1;
      continue;
    }
    if(ev && rf_leaf(ev)) {
      if(rf_matches_value(m, ev))
        return 1;
    } else if(ev && ev->type == RF_ARR) {
      for(e = ev->kids; e; e = e->next)
        if(rf_leaf(e) && rf_matches_value(m, e))
          return 1;
    }
  }
  return 0;
}

static int rf_object_matches(const struct rf_node *pat,
                             const struct rf_node *obj)
{
  const struct rf_node *m;

  for(m = pat->kids; m; m = m->next) {
    const struct rf_node *ev = rf_get(obj, m->key, m->key_len);
    int ok;
    if(m->type == RF_OBJ) {
      if(ev && ev->type == RF_ARR) {
        const struct rf_node *e;
        int objects = 0;
        ok = 0;
        for(e = ev->kids; e && !ok; e = e->next)
          if(e->type == RF_OBJ) {
            objects = 1;
            ok = rf_object_matches(m, e);
          }
        if(!objects)
          ok = rf_object_matches(m, NULL);
      } else {
        ok = rf_object_matches(m, ev && ev->type == RF_OBJ ? ev : NULL);
      }
    } else {
      ok = rf_leaf_matches(m, ev);
    }
    if(!ok)
      return 0;
  }
  return 1;
}

/* The record as patterns see it, as JSON text; *data_json is 0 for a Kinesis
 * record whose data is not JSON (left out of the view). */
static void rf_view(struct ref_buf *b, const struct ref_config *c,
                    const struct esmc_record *r, int *data_json)
{
  *data_json = 1;
  if(c->source == ESMC_SOURCE_DYNAMODB) {
    ref_append_record_json(b, c, r);
    return;
  }
  ref_buf_puts(b, "{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":");
  ref_buf_json_str(b, r->partition_key);
  ref_buf_puts(b, ",\"sequenceNumber\":");
  ref_buf_json_str(b, r->sequence_number);
  ref_buf_puts(b, ",\"approximateArrivalTimestamp\":");
  {
    char tmp[48];
    esmc_time_ms t = r->approximate_arrival_ms;
    int64_t s = t >= 0 ? t / 1000 : -((999 - t) / 1000);
    int k = snprintf(tmp, sizeof(tmp), "%" PRId64 ".%03d", s,
                     (int)(t - s * 1000));
    if(k > 0)
      ref_buf_append(b, tmp, (size_t)k);
  }
  if(r->data && r->data_len > 0 && !memchr(r->data, '\0', r->data_len) &&
     ref_json_valid((const char *)r->data, r->data_len)) {
    ref_buf_puts(b, ",\"data\":");
    ref_buf_append(b, (const char *)r->data, r->data_len);
  } else {
    *data_json = 0;
  }
  ref_buf_puts(b, "}");
}

int ref_filter_match_record(const struct ref_config *c,
                            const struct esmc_record *r)
{
  struct ref_buf b;
  struct rf_node *view;
  int data_json, hit = 0;
  size_t k;

  if(c->filter_count == 0)
    return 1;
  memset(&b, 0, sizeof(b));
  rf_view(&b, c, r, &data_json);
  view = b.oom ? NULL : rf_parse(b.data, b.len);
  ref_buf_free(&b);
  if(!view)
    return 1; /* Out of memory: deliver rather than lose the record. */
  for(k = 0; k < c->filter_count && !hit; k++) {
    const char *t = c->filters[k];
    struct rf_node *pat = rf_parse(t, strlen(t));
    if(pat && pat->type == RF_OBJ &&
       (data_json || c->source == ESMC_SOURCE_DYNAMODB ||
        !rf_get(pat, "data", 4)))
      hit = rf_object_matches(pat, view);
    rf_free(pat);
  }
  rf_free(view);
  return hit;
}

/* ------------------------------------------------------------------------ */
/* The configuration's copy of the patterns. */

void ref_filter_clear(struct ref_config *c)
{
  size_t k;

  for(k = 0; k < c->filter_count; k++)
    free(c->filters[k]);
  free(c->filters);
  c->filters = NULL;
  c->filter_count = 0;
}

int ref_filter_set(struct ref_config *c, const char *const *patterns,
                   size_t n)
{
  char **copy = NULL;
  size_t k;

  if(n > 0) {
    copy = calloc(n, sizeof(*copy));
    if(!copy)
      return -1;
    for(k = 0; k < n; k++) {
      size_t len = strlen(patterns[k]) + 1;
      copy[k] = malloc(len);
      if(!copy[k]) {
        while(k-- > 0)
          free(copy[k]);
        free(copy);
        return -1;
      }
      memcpy(copy[k], patterns[k], len);
    }
  }
  ref_filter_clear(c);
  c->filters = copy;
  c->filter_count = n;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* SQS messages (ref_sqs.c builds the view: the event record with "body"
 * parsed as JSON when body_json, else a string). FILTER-8: a JSON body
 * never matches a plain-string body pattern and a plain body never matches
 * a JSON (object) body pattern. */

int ref_filter_match_view(const struct ref_config *c, const char *view_text,
                          size_t len, int body_json)
{
  struct rf_node *view;
  int hit = 0;
  size_t k;

  if(c->filter_count == 0)
    return 1;
  view = rf_parse(view_text, len);
  if(!view)
    return 1; /* Out of memory: deliver rather than lose the message. */
  for(k = 0; k < c->filter_count && !hit; k++) {
    const char *t = c->filters[k];
    struct rf_node *pat = rf_parse(t, strlen(t));
    if(pat && pat->type == RF_OBJ) {
      const struct rf_node *pb = rf_get(pat, "body", 4);
      if(!pb || (body_json ? pb->type == RF_OBJ : pb->type != RF_OBJ))
        hit = rf_object_matches(pat, view);
    }
    rf_free(pat);
  }
  rf_free(view);
  return hit;
}

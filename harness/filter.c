/*
 * filter.c: the harness's event-filter matcher (see filter.h) and the
 * verdicts it gives each record of a run.
 *
 * Texts are checked by a small strict validator first; jsmn then tokenizes
 * text already known to be well formed, and matching walks the tokens.
 * Object members are looked up by their unescaped names, and when a name
 * repeats the last occurrence wins, in patterns (FILTER-3) and in record
 * data alike. JSMN_STATIC keeps jsmn's functions local to this file.
 */
#define JSMN_STATIC
#include <jsmn.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define FILTER_MAX_DEPTH 512

static int v_digit(char c) { return c >= '0' && c <= '9'; }

static int json_ok(const char *s, size_t n)
{
  return esmc_json_valid(s, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Tokens of a validated text.                                               */

struct doc {
  const char *s;
  jsmntok_t *t;
  int n;
};

/* Tokenize s[0, len), already validated. 0, or -1 when out of memory. */
static int doc_parse(struct doc *d, const char *s, size_t len)
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
  if(jsmn_parse(&p, s, len, d->t, (unsigned)n) != n) {
    esmc_free(d->t);
    d->t = NULL;
    return -1;
  }
  d->n = n;
  return 0;
}

static void doc_free(struct doc *d)
{
  esmc_free(d->t);
  d->t = NULL;
  d->n = 0;
}

/* The token after token i and everything nested in it. */
static int skip(const struct doc *d, int i)
{
  int left = 1;
  while(left > 0 && i < d->n) {
    left += d->t[i].size;
    left--;
    i++;
  }
  return i;
}

enum kind { K_NULL, K_BOOL, K_NUMBER, K_STRING, K_ARRAY, K_OBJECT };

static enum kind kind_of(const struct doc *d, int i)
{
  char c;
  switch(d->t[i].type) {
  case JSMN_OBJECT: return K_OBJECT;
  case JSMN_ARRAY: return K_ARRAY;
  case JSMN_STRING: return K_STRING;
  default: break;
  }
  c = d->s[d->t[i].start];
  if(c == 'n')
    return K_NULL;
  if(c == 't' || c == 'f')
    return K_BOOL;
  return K_NUMBER;
}

static int hexval(char h)
{
  if(v_digit(h))
    return h - '0';
  if(h >= 'a' && h <= 'f')
    return h - 'a' + 10;
  return h - 'A' + 10;
}

static void put_utf8(struct esmc_buf *b, unsigned long cp)
{
  char u[4];
  size_t k;
  if(cp < 0x80) {
    u[0] = (char)cp;
    k = 1;
  } else if(cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    k = 2;
  } else if(cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    k = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    k = 4;
  }
  esmc_buf_put(b, u, k);
}

/* The unescaped value of string token i, into b (reset first). A surrogate
 * pair becomes one code point; a lone surrogate is kept as its 3 bytes. */
static void unescape(const struct doc *d, int i, struct esmc_buf *b)
{
  const char *p = d->s + d->t[i].start, *e = d->s + d->t[i].end;
  esmc_buf_reset(b);
  esmc_buf_put(b, "", 0);
  while(p < e) {
    const char *run = p;
    while(p < e && *p != '\\')
      p++;
    esmc_buf_put(b, run, (size_t)(p - run));
    if(p >= e)
      break;
    p++;
    switch(*p) {
    case 'b': esmc_buf_putc(b, '\b'); break;
    case 'f': esmc_buf_putc(b, '\f'); break;
    case 'n': esmc_buf_putc(b, '\n'); break;
    case 'r': esmc_buf_putc(b, '\r'); break;
    case 't': esmc_buf_putc(b, '\t'); break;
    case 'u': {
      unsigned long cp = 0;
      int k;
      for(k = 1; k <= 4; k++)
        cp = cp * 16 + (unsigned long)hexval(p[k]);
      p += 4;
      if(cp >= 0xD800 && cp < 0xDC00 && e - p >= 7 && p[1] == '\\' &&
         p[2] == 'u') {
        unsigned long lo = 0;
        for(k = 3; k <= 6; k++)
          lo = lo * 16 + (unsigned long)hexval(p[k]);
        if(lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
      }
      put_utf8(b, cp);
      break;
    }
    default: esmc_buf_putc(b, *p); break;
    }
    p++;
  }
}

/* Scratch buffers for string comparisons. */
struct scratch {
  struct esmc_buf a, b;
};

/* 1 when string tokens (da, i) and (db, j) have equal unescaped values. */
static int str_eq(struct scratch *x, const struct doc *da, int i,
                  const struct doc *db, int j)
{
  size_t la = (size_t)(da->t[i].end - da->t[i].start);
  size_t lb = (size_t)(db->t[j].end - db->t[j].start);
  const char *pa = da->s + da->t[i].start, *pb = db->s + db->t[j].start;
  if(!memchr(pa, '\\', la) && !memchr(pb, '\\', lb))
    return la == lb && memcmp(pa, pb, la) == 0;
  unescape(da, i, &x->a);
  unescape(db, j, &x->b);
  return !x->a.oom && !x->b.oom && x->a.len == x->b.len &&
         memcmp(x->a.data, x->b.data, x->a.len) == 0;
}

/* 1 when string token i's unescaped value equals the C string s. */
static int str_is(struct scratch *x, const struct doc *d, int i, const char *s)
{
  size_t l = (size_t)(d->t[i].end - d->t[i].start);
  const char *p = d->s + d->t[i].start;
  if(!memchr(p, '\\', l))
    return l == strlen(s) && memcmp(p, s, l) == 0;
  unescape(d, i, &x->a);
  return !x->a.oom && x->a.len == strlen(s) && memcmp(x->a.data, s, x->a.len) == 0;
}

/* The value of the LAST member of object obj whose name equals the key
 * token (dk, k); -1 when none. */
static int member(struct scratch *x, const struct doc *d, int obj,
                  const struct doc *dk, int k)
{
  int i, m, found = -1;
  if(obj < 0 || d->t[obj].type != JSMN_OBJECT)
    return -1;
  i = obj + 1;
  for(m = 0; m < d->t[obj].size && i < d->n; m++) {
    if(str_eq(x, d, i, dk, k))
      found = i + 1;
    i = skip(d, i + 1);
  }
  return found;
}

/* 1 when key token k of object obj is repeated later in obj. */
static int repeated_later(struct scratch *x, const struct doc *d, int obj,
                          int k)
{
  int i = skip(d, k + 1), m;
  int before = 0;
  /* Count the members up to and including k. */
  int j = obj + 1;
  while(j != k) {
    before++;
    j = skip(d, j + 1);
  }
  for(m = before + 1; m < d->t[obj].size && i < d->n; m++) {
    if(str_eq(x, d, i, d, k))
      return 1;
    i = skip(d, i + 1);
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Pattern validation (FILTER-10).                                           */

static int bad(char *why, size_t size, const char *msg)
{
  if(why && size)
    snprintf(why, size, "%s", msg);
  return -1;
}

static int is_op(struct scratch *x, const struct doc *d, int i)
{
  return d->t[i].type == JSMN_STRING &&
         (str_is(x, d, i, "=") || str_is(x, d, i, "<") ||
          str_is(x, d, i, "<=") || str_is(x, d, i, ">") ||
          str_is(x, d, i, ">="));
}

static int check_matcher(struct scratch *x, const struct doc *d, int m,
                         char *why, size_t size)
{
  int v, i, k;
  enum kind vk;
  if(kind_of(d, m) == K_ARRAY)
    return bad(why, size, "a matcher is an array");
  if(kind_of(d, m) != K_OBJECT)
    return 0; /* A literal: string, number, null, true or false. */
  if(d->t[m].size != 1)
    return bad(why, size, "an operator object must hold exactly one operator");
  k = m + 1;
  v = k + 1;
  vk = kind_of(d, v);
  if(str_is(x, d, k, "prefix"))
    return vk == K_STRING ? 0 : bad(why, size, "prefix takes a string");
  if(str_is(x, d, k, "exists"))
    return vk == K_BOOL ? 0 : bad(why, size, "exists takes true or false");
  if(str_is(x, d, k, "anything-but")) {
    if(vk == K_STRING || vk == K_NUMBER)
      return 0;
    if(vk == K_OBJECT) {
      if(d->t[v].size == 1 && str_is(x, d, v + 1, "prefix") &&
         kind_of(d, v + 2) == K_STRING)
        return 0;
      return bad(why, size, "anything-but takes a value, a list or a prefix");
    }
    if(vk != K_ARRAY || d->t[v].size == 0)
      return bad(why, size, "anything-but takes a value, a list or a prefix");
    for(i = v + 1, k = 0; k < d->t[v].size; k++, i = skip(d, i))
      if(kind_of(d, i) != K_STRING && kind_of(d, i) != K_NUMBER)
        return bad(why, size, "anything-but lists strings or numbers");
    return 0;
  }
  if(str_is(x, d, k, "numeric")) {
    if(vk != K_ARRAY || (d->t[v].size != 2 && d->t[v].size != 4))
      return bad(why, size, "numeric takes one or two operator-number pairs");
    for(i = v + 1, k = 0; k < d->t[v].size; k += 2) {
      if(!is_op(x, d, i) || kind_of(d, i + 1) != K_NUMBER)
        return bad(why, size, "numeric takes one or two operator-number "
                   "pairs");
      i += 2;
    }
    return 0;
  }
  return bad(why, size, "unknown operator");
}

static int check_object(struct scratch *x, const struct doc *d, int obj,
                        char *why, size_t size)
{
  int i = obj + 1, m;
  if(d->t[obj].size == 0)
    return bad(why, size, "an object of the pattern is empty");
  for(m = 0; m < d->t[obj].size; m++) {
    int v = i + 1;
    enum kind vk = kind_of(d, v);
    if(repeated_later(x, d, obj, i)) {
      ; /* FILTER-3: only the last occurrence of a key counts. */
    } else if(vk == K_OBJECT) {
      if(check_object(x, d, v, why, size) != 0)
        return -1;
    } else if(vk == K_ARRAY) {
      int e = v + 1, k;
      if(d->t[v].size == 0)
        return bad(why, size, "a leaf is an empty array");
      for(k = 0; k < d->t[v].size; k++, e = skip(d, e))
        if(check_matcher(x, d, e, why, size) != 0)
          return -1;
    } else {
      return bad(why, size, "a leaf is not an array");
    }
    i = skip(d, v);
  }
  return 0;
}

static size_t utf8_chars(const char *s)
{
  size_t n = 0;
  for(; *s; s++)
    if(((unsigned char)*s & 0xC0) != 0x80)
      n++;
  return n;
}

int esmc_filter_pattern_check(const char *text, char *why, size_t why_size)
{
  struct doc d;
  struct scratch x;
  size_t len;
  int rc;
  if(!text)
    return bad(why, why_size, "the pattern is missing");
  len = strlen(text);
  if(utf8_chars(text) > ESMC_FILTER_MAX_PATTERN)
    return bad(why, why_size, "the pattern is longer than 4096 characters");
  if(!json_ok(text, len))
    return bad(why, why_size, "the pattern is not valid JSON");
  if(doc_parse(&d, text, len) != 0)
    return bad(why, why_size, "out of memory reading the pattern");
  if(d.t[0].type != JSMN_OBJECT) {
    doc_free(&d);
    return bad(why, why_size, "the pattern is not a JSON object");
  }
  esmc_buf_init(&x.a);
  esmc_buf_init(&x.b);
  rc = check_object(&x, &d, 0, why, why_size);
  esmc_buf_free(&x.a);
  esmc_buf_free(&x.b);
  doc_free(&d);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Matching.                                                                 */

struct mctx {
  struct scratch x;
  const struct doc *p; /* pattern */
  const struct doc *e; /* record view */
};

/* 1 when token i is a leaf value: a string or a primitive. */
static int is_leaf(const struct doc *e, int i)
{
  return e->t[i].type == JSMN_STRING || e->t[i].type == JSMN_PRIMITIVE;
}

/* 1 when the event value ev offers at least one leaf: it is one, or it is
 * an array holding one. A missing member (-1) and an object offer none
 * (OBS-10). */
static int has_leaf(const struct doc *e, int ev)
{
  int i, k;
  if(ev < 0 || e->t[ev].type == JSMN_OBJECT)
    return 0;
  if(e->t[ev].type != JSMN_ARRAY)
    return 1;
  for(i = ev + 1, k = 0; k < e->t[ev].size; k++, i = skip(e, i))
    if(is_leaf(e, i))
      return 1;
  return 0;
}

/* Literal equality: same kind and same text (FILTER-2: numbers by their
 * string form, strings unescaped). */
static int lit_eq(struct mctx *c, int pt, int et)
{
  enum kind pk = kind_of(c->p, pt), ek = kind_of(c->e, et);
  size_t lp, le;
  if(pk != ek)
    return 0;
  if(pk == K_STRING)
    return str_eq(&c->x, c->p, pt, c->e, et);
  lp = (size_t)(c->p->t[pt].end - c->p->t[pt].start);
  le = (size_t)(c->e->t[et].end - c->e->t[et].start);
  return lp == le &&
         memcmp(c->p->s + c->p->t[pt].start, c->e->s + c->e->t[et].start,
                lp) == 0;
}

static double num(const struct doc *d, int i)
{
  char tmp[64];
  size_t l = (size_t)(d->t[i].end - d->t[i].start);
  if(l >= sizeof(tmp))
    l = sizeof(tmp) - 1;
  memcpy(tmp, d->s + d->t[i].start, l);
  tmp[l] = '\0';
  return strtod(tmp, NULL);
}

static int has_prefix(struct mctx *c, int pt, int et)
{
  const char *ps, *es;
  size_t pl, el;
  unescape(c->p, pt, &c->x.a);
  unescape(c->e, et, &c->x.b);
  if(c->x.a.oom || c->x.b.oom)
    return 0;
  ps = c->x.a.data;
  es = c->x.b.data;
  pl = c->x.a.len;
  el = c->x.b.len;
  return el >= pl && memcmp(ps, es, pl) == 0;
}

static int numeric_ok(struct mctx *c, int arr, int et)
{
  double v = num(c->e, et);
  int i = arr + 1, k;
  for(k = 0; k < c->p->t[arr].size; k += 2, i += 2) {
    double b = num(c->p, i + 1);
    if(str_is(&c->x, c->p, i, "=") && !(v == b))
      return 0;
    if(str_is(&c->x, c->p, i, "<") && !(v < b))
      return 0;
    if(str_is(&c->x, c->p, i, "<=") && !(v <= b))
      return 0;
    if(str_is(&c->x, c->p, i, ">") && !(v > b))
      return 0;
    if(str_is(&c->x, c->p, i, ">=") && !(v >= b))
      return 0;
  }
  return 1;
}

/* anything-but: 1 when leaf et is not excluded by the operand at v. */
static int not_excluded(struct mctx *c, int v, int et)
{
  int i, k;
  switch(kind_of(c->p, v)) {
  case K_OBJECT:
    return kind_of(c->e, et) != K_STRING || !has_prefix(c, v + 2, et);
  case K_ARRAY:
    for(i = v + 1, k = 0; k < c->p->t[v].size; k++, i = skip(c->p, i))
      if(lit_eq(c, i, et))
        return 0;
    return 1;
  default:
    return !lit_eq(c, v, et);
  }
}

/* One value matcher m (not exists) against one leaf et. */
static int value_ok(struct mctx *c, int m, int et)
{
  int k, v;
  if(kind_of(c->p, m) != K_OBJECT)
    return lit_eq(c, m, et);
  k = m + 1;
  v = k + 1;
  if(str_is(&c->x, c->p, k, "prefix"))
    return kind_of(c->e, et) == K_STRING && has_prefix(c, v, et);
  if(str_is(&c->x, c->p, k, "numeric"))
    return kind_of(c->e, et) == K_NUMBER && numeric_ok(c, v, et);
  if(str_is(&c->x, c->p, k, "anything-but"))
    return not_excluded(c, v, et);
  return 0;
}

/* One matcher m against the event value ev (-1: missing). */
static int matcher_ok(struct mctx *c, int m, int ev)
{
  int i, k;
  if(kind_of(c->p, m) == K_OBJECT && str_is(&c->x, c->p, m + 1, "exists"))
    return (c->p->s[c->p->t[m + 2].start] == 't') == has_leaf(c->e, ev);
  if(ev < 0 || c->e->t[ev].type == JSMN_OBJECT)
    return 0;
  if(c->e->t[ev].type != JSMN_ARRAY)
    return value_ok(c, m, ev);
  for(i = ev + 1, k = 0; k < c->e->t[ev].size; k++, i = skip(c->e, i))
    if(is_leaf(c->e, i) && value_ok(c, m, i))
      return 1;
  return 0;
}

static int leaf_ok(struct mctx *c, int arr, int ev)
{
  int i, k;
  for(i = arr + 1, k = 0; k < c->p->t[arr].size; k++, i = skip(c->p, i))
    if(matcher_ok(c, i, ev))
      return 1;
  return 0;
}

static int object_ok(struct mctx *c, int pobj, int eobj);

/* A nested pattern object against event value ev: an object descends; an
 * array matches when one of its objects does; anything else is missing. */
static int nested_ok(struct mctx *c, int pobj, int ev)
{
  int i, k, objects = 0;
  if(ev >= 0 && c->e->t[ev].type == JSMN_ARRAY) {
    for(i = ev + 1, k = 0; k < c->e->t[ev].size; k++, i = skip(c->e, i)) {
      if(c->e->t[i].type != JSMN_OBJECT)
        continue;
      objects++;
      if(object_ok(c, pobj, i))
        return 1;
    }
    return objects ? 0 : object_ok(c, pobj, -1);
  }
  if(ev >= 0 && c->e->t[ev].type == JSMN_OBJECT)
    return object_ok(c, pobj, ev);
  return object_ok(c, pobj, -1);
}

static int object_ok(struct mctx *c, int pobj, int eobj)
{
  int i = pobj + 1, m;
  for(m = 0; m < c->p->t[pobj].size; m++) {
    int pv = i + 1;
    if(!repeated_later(&c->x, c->p, pobj, i)) {
      int ev = member(&c->x, c->e, eobj, c->p, i);
      int ok = c->p->t[pv].type == JSMN_OBJECT ? nested_ok(c, pv, ev)
                                              : leaf_ok(c, pv, ev);
      if(!ok)
        return 0;
    }
    i = skip(c->p, pv);
  }
  return 1;
}

/* 1 when the pattern's top level names data_key (its last occurrence). */
static int names_key(struct scratch *x, const struct doc *p, const char *key)
{
  int i = 1, m;
  for(m = 0; m < p->t[0].size; m++) {
    if(str_is(x, p, i, key))
      return 1;
    i = skip(p, i + 1);
  }
  return 0;
}

int esmc_filter_match_view(const char *view, size_t len, const char *data_key,
                           int data_ok, char *const *patterns, size_t n)
{
  struct doc e;
  struct mctx c;
  size_t k;
  int hit = 0;
  if(n == 0)
    return 1;
  if(!json_ok(view, len) || doc_parse(&e, view, len) != 0)
    return 0;
  esmc_buf_init(&c.x.a);
  esmc_buf_init(&c.x.b);
  c.e = &e;
  for(k = 0; k < n && !hit; k++) {
    struct doc p;
    const char *t = patterns[k];
    if(!t || esmc_filter_pattern_check(t, NULL, 0) != 0 ||
       doc_parse(&p, t, strlen(t)) != 0)
      continue;
    c.p = &p;
    if(data_ok || !data_key || !names_key(&c.x, &p, data_key))
      hit = object_ok(&c, 0, e.t[0].type == JSMN_OBJECT ? 0 : -1);
    doc_free(&p);
  }
  esmc_buf_free(&c.x.a);
  esmc_buf_free(&c.x.b);
  doc_free(&e);
  return hit;
}

/* ------------------------------------------------------------------------ */
/* Record views.                                                             */

static const char *ddb_event_name(enum esmc_ddb_event e)
{
  switch(e) {
  case ESMC_DDB_MODIFY: return "MODIFY";
  case ESMC_DDB_REMOVE: return "REMOVE";
  default: return "INSERT";
  }
}

static void put_str(struct esmc_buf *b, const char *s)
{
  if(!s)
    s = "";
  esmc_buf_json_str(b, s, strlen(s));
}

/* Floor division of milliseconds into seconds. */
static int64_t secs_of(int64_t ms)
{
  int64_t s = ms / 1000;
  if(ms % 1000 != 0 && ms < 0)
    s--;
  return s;
}

int esmc_filter_record_view(const struct esmc_world *w,
                            const struct esmc_wrecord *r, struct esmc_buf *out,
                            int *data_ok)
{
  const struct esmc_record *p = &r->pub;
  int64_t s = secs_of(p->approximate_arrival_ms);
  esmc_buf_reset(out);
  *data_ok = 1;
  if(w->sc && w->sc->source == ESMC_SOURCE_DYNAMODB) {
    esmc_buf_puts(out, "{\"eventID\":");
    put_str(out, p->event_id);
    esmc_buf_printf(out, ",\"eventName\":\"%s\",\"eventVersion\":\"1.1\","
                    "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":",
                    ddb_event_name(p->ddb_event_name));
    put_str(out, w->region);
    esmc_buf_printf(out, ",\"dynamodb\":{\"ApproximateCreationDateTime\":%"
                    PRId64 ",\"Keys\":%s", s,
                    p->ddb_keys_json ? p->ddb_keys_json : "{}");
    if(p->ddb_new_image_json)
      esmc_buf_printf(out, ",\"NewImage\":%s", p->ddb_new_image_json);
    if(p->ddb_old_image_json)
      esmc_buf_printf(out, ",\"OldImage\":%s", p->ddb_old_image_json);
    esmc_buf_puts(out, ",\"SequenceNumber\":");
    put_str(out, p->sequence_number);
    esmc_buf_printf(out, ",\"SizeBytes\":%" PRIu64 ",\"StreamViewType\":",
                    p->ddb_size_bytes);
    put_str(out, p->ddb_stream_view_type);
    esmc_buf_puts(out, "},\"eventSourceARN\":");
    put_str(out, w->stream_arn);
    esmc_buf_putc(out, '}');
  } else {
    esmc_buf_puts(out, "{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":");
    put_str(out, p->partition_key);
    esmc_buf_puts(out, ",\"sequenceNumber\":");
    put_str(out, p->sequence_number);
    esmc_buf_printf(out, ",\"approximateArrivalTimestamp\":%" PRId64 ".%03d",
                    s, (int)(p->approximate_arrival_ms - s * 1000));
    if(p->data && p->data_len > 0 &&
       !memchr(p->data, '\0', p->data_len) &&
       json_ok((const char *)p->data, p->data_len)) {
      esmc_buf_puts(out, ",\"data\":");
      esmc_buf_put(out, p->data, p->data_len);
    } else {
      *data_ok = 0;
    }
    esmc_buf_putc(out, '}');
  }
  return out->oom ? -1 : 0;
}

static const char *data_key_of(const struct esmc_world *w)
{
  return w->sc && w->sc->source == ESMC_SOURCE_DYNAMODB ? NULL : "data";
}

int esmc_filter_match(const struct esmc_world *w, const struct esmc_wrecord *r,
                      char *const *patterns, size_t n)
{
  struct esmc_buf b;
  int ok, data_ok;
  if(n == 0)
    return 1;
  esmc_buf_init(&b);
  if(esmc_filter_record_view(w, r, &b, &data_ok) != 0) {
    esmc_buf_free(&b);
    return 1;
  }
  ok = esmc_filter_match_view(b.data, b.len, data_key_of(w), data_ok,
                              patterns, n);
  esmc_buf_free(&b);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Verdicts over a run.                                                      */

struct fset {
  char *const *p;
  size_t n;
  uint32_t version;
};

static void fset_from(struct fset *f, const struct esmc_config_spec *c)
{
  f->p = c->filter_criteria_given ? c->filter_patterns : NULL;
  f->n = c->filter_criteria_given ? c->filter_count : 0;
  f->version++;
}

/* Judge rid under f, once per filter version. */
static void judge(const struct esmc_world *w, struct esmc_filter_rec *v,
                  uint32_t *seen, uint32_t rid, const struct fset *f)
{
  if(rid >= w->nrecords || seen[rid] == f->version)
    return;
  seen[rid] = f->version;
  v[rid].bits |= esmc_filter_match(w, &w->records[rid], f->p, f->n)
                     ? ESMC_FILTER_KEPT
                     : ESMC_FILTER_DROPPED;
}

struct esmc_filter_rec *esmc_filter_verdicts(const struct esmc_world *w,
                                             int *any_filters)
{
  const struct esmc_scenario *sc = w->sc;
  size_t cap = w->nrecords ? w->nrecords : 1, i;
  struct esmc_filter_rec *v = esmc_calloc(cap, sizeof(*v));
  uint32_t *seen = esmc_calloc(cap, sizeof(*seen));
  struct fset f;
  uint32_t rid;

  *any_filters = 0;
  if(!v || !seen) {
    esmc_free(v);
    esmc_free(seen);
    return NULL;
  }
  for(rid = 0; rid < w->nrecords; rid++)
    v[rid].first_read_ev = SIZE_MAX;
  f.version = 0;
  fset_from(&f, &sc->config);
  *any_filters = f.n > 0;
  for(i = 0; i < w->hist.n; i++) {
    const struct esmc_hevent *e = &w->hist.ev[i];
    switch(e->kind) {
    case ESMC_H_CREATE:
      fset_from(&f, &sc->config);
      break;
    case ESMC_H_UPDATE:
      if(e->status == 0 && e->a >= 0 && (size_t)e->a < sc->event_count &&
         sc->events[e->a].kind == ESMC_CASE_UPDATE &&
         sc->events[e->a].update.filter_criteria_given) {
        fset_from(&f, &sc->events[e->a].update);
        if(f.n > 0)
          *any_filters = 1;
      }
      break;
    case ESMC_H_GET_RECORDS:
      if(e->status == 0 && e->shard < w->nshards && e->a >= 0) {
        const struct esmc_wshard *sh = &w->shards[e->shard];
        int64_t k;
        for(k = e->a; k < e->a + e->b && k < (int64_t)sh->n; k++) {
          rid = sh->rids[k];
          if(v[rid].first_read_ev == SIZE_MAX)
            v[rid].first_read_ev = i;
          judge(w, v, seen, rid, &f);
        }
      }
      break;
    case ESMC_H_INVOKE: {
      uint32_t j;
      for(j = 0; j < e->nrids; j++)
        judge(w, v, seen, e->rids[j], &f);
      break;
    }
    default:
      break;
    }
  }
  for(rid = 0; rid < w->nrecords; rid++)
    if(v[rid].bits == 0)
      judge(w, v, seen, rid, &f);
  esmc_free(seen);
  return v;
}

int esmc_filter_dropped(const struct esmc_filter_rec *v)
{
  return (v->bits & ESMC_FILTER_DROPPED) && !(v->bits & ESMC_FILTER_KEPT);
}

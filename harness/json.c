/*
 * json.c: the strict JSON reader behind json.h.
 *
 * jsmn 1.1.0 in strict mode still accepts a lot that is not JSON ("[1 2]",
 * "{"a":1,}", "tru", raw control characters in strings, several top-level
 * values) and cannot say where it failed in its counting pass. So a parse is:
 *   1. a strict scan of the bytes (grammar, strings, numbers, depth, limits)
 *      that stops at the first error with its exact position;
 *   2. jsmn's counting pass, an allocation, jsmn's filling pass (with a
 *      position-bearing message should jsmn ever disagree with the scan);
 *   3. the conversion to our tokens, with skip links, and a duplicate-key
 *      check that sorts the keys of each object.
 */
#include "json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#ifndef JSMN_STRICT
#define JSMN_STRICT
#endif
#ifndef JSMN_PARENT_LINKS
#define JSMN_PARENT_LINKS
#endif
#define JSMN_STATIC
#include <jsmn.h>

/* ------------------------------------------------------------------------ */
/* Positions and errors.                                                     */

void esmc_json_position(const char *text, size_t len, size_t offset,
                        int *line, int *column)
{
  size_t i;
  int l = 1, c = 1;
  if(offset > len)
    offset = len;
  for(i = 0; i < offset; i++) {
    unsigned char b = (unsigned char)text[i];
    if(b == '\n') {
      l++;
      c = 1;
    }
    else if((b & 0xC0) != 0x80) {
      c++;
    }
  }
  *line = l;
  *column = c;
}

static void verror(const char *text, size_t len, size_t offset,
                   struct esmc_json_error *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void verror(const char *text, size_t len, size_t offset,
                   struct esmc_json_error *err, const char *fmt, va_list ap)
{
  if(!err)
    return;
  err->offset = offset;
  esmc_json_position(text, len, offset, &err->line, &err->column);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

static void error_at_offset(const char *text, size_t len, size_t offset,
                            struct esmc_json_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void error_at_offset(const char *text, size_t len, size_t offset,
                            struct esmc_json_error *err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(text, len, offset, err, fmt, ap);
  va_end(ap);
}

void esmc_json_error_at(const struct esmc_json_doc *doc, int tok,
                        struct esmc_json_error *err, const char *fmt, ...)
{
  va_list ap;
  size_t off = 0;
  if(tok >= 0 && tok < doc->count)
    off = (size_t)doc->tok[tok].start;
  va_start(ap, fmt);
  verror(doc->text, doc->len, off, err, fmt, ap);
  va_end(ap);
}

/* Describe the byte at s[i] for a message: "'}'" or "byte 0x00". */
static void describe_byte(char *buf, size_t size, unsigned char c)
{
  if(c > 0x20 && c < 0x7F)
    snprintf(buf, size, "character '%c'", c);
  else if(c == ' ')
    snprintf(buf, size, "space");
  else
    snprintf(buf, size, "byte 0x%02x", c);
}

/* ------------------------------------------------------------------------ */
/* Pass 1: the strict scan.                                                  */

#define SCAN_STACK 256

struct scan {
  const char *s;
  size_t n;
  size_t i;
  long count;
  struct esmc_json_limits lim;
  struct esmc_json_error *err;
};

static int hexval(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if(c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Read 4 hex digits at s[i]; -1 when there are not 4 of them. */
static long hex4(const char *s, size_t n, size_t i)
{
  long v = 0;
  int k;
  if(i + 4 > n)
    return -1;
  for(k = 0; k < 4; k++) {
    int h = hexval(s[i + (size_t)k]);
    if(h < 0)
      return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Length of the valid UTF-8 sequence at s[i] (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n, size_t i)
{
  unsigned char c = s[i];
  size_t len, k;
  uint32_t cp;
  if(c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  }
  else if(c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  }
  else if(c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  }
  else {
    return 0;
  }
  if(i + len > n)
    return 0;
  for(k = 1; k < len; k++) {
    if((s[i + k] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i + k] & 0x3F);
  }
  if((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
     cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

static int scan_fail(struct scan *sc, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int scan_fail(struct scan *sc, size_t at, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(sc->s, sc->n, at, sc->err, fmt, ap);
  va_end(ap);
  return -1;
}

static int count_token(struct scan *sc, size_t at)
{
  sc->count++;
  if(sc->count > sc->lim.max_tokens)
    return scan_fail(sc, at, "too many JSON values (the limit is %d)",
                     sc->lim.max_tokens);
  return 0;
}

/* s[i] is the opening quote. */
static int scan_string(struct scan *sc)
{
  const char *s = sc->s;
  size_t n = sc->n, start = sc->i, i = sc->i + 1;
  for(;;) {
    unsigned char c;
    if(i >= n)
      return scan_fail(sc, start, "unterminated string");
    c = (unsigned char)s[i];
    if(c == '"') {
      if(i - start - 1 > sc->lim.max_string)
        return scan_fail(sc, start, "string longer than %zu bytes",
                         sc->lim.max_string);
      sc->i = i + 1;
      return 0;
    }
    if(c == '\\') {
      long cp;
      if(i + 1 >= n)
        return scan_fail(sc, start, "unterminated string");
      switch(s[i + 1]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        i += 2;
        continue;
      case 'u':
        break;
      default:
        if((unsigned char)s[i + 1] > 0x20 && (unsigned char)s[i + 1] < 0x7F)
          return scan_fail(sc, i, "invalid escape '\\%c' in string", s[i + 1]);
        return scan_fail(sc, i, "invalid escape in string");
      }
      cp = hex4(s, n, i + 2);
      if(cp < 0)
        return scan_fail(sc, i, "invalid \\u escape: expected 4 hex digits");
      if(cp == 0)
        return scan_fail(sc, i, "\\u0000 is not allowed in strings");
      if(cp >= 0xDC00 && cp <= 0xDFFF)
        return scan_fail(sc, i, "lone surrogate \\u%04lX in string", cp);
      if(cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if(i + 7 < n && s[i + 6] == '\\' && s[i + 7] == 'u')
          lo = hex4(s, n, i + 8);
        if(lo < 0xDC00 || lo > 0xDFFF)
          return scan_fail(sc, i, "lone surrogate \\u%04lX in string", cp);
        i += 12;
        continue;
      }
      i += 6;
      continue;
    }
    if(c < 0x20)
      return scan_fail(sc, i, "control character 0x%02x in string (escape it)",
                       c);
    if(c >= 0x80) {
      size_t k = utf8_len((const unsigned char *)s, n, i);
      if(k == 0)
        return scan_fail(sc, i, "invalid UTF-8 in string");
      i += k;
      continue;
    }
    i++;
  }
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int scan_number(struct scan *sc)
{
  const char *s = sc->s;
  size_t n = sc->n, start = sc->i, i = sc->i;
  if(s[i] == '-')
    i++;
  if(i >= n)
    return scan_fail(sc, n, "unexpected end of input in a number");
  if(!is_digit(s[i]))
    return scan_fail(sc, start, "invalid number");
  if(s[i] == '0') {
    i++;
    if(i < n && is_digit(s[i]))
      return scan_fail(sc, start, "invalid number: leading zero");
  }
  else {
    while(i < n && is_digit(s[i]))
      i++;
  }
  if(i < n && s[i] == '.') {
    i++;
    if(i >= n)
      return scan_fail(sc, n, "unexpected end of input in a number");
    if(!is_digit(s[i]))
      return scan_fail(sc, start, "invalid number: expected digits after '.'");
    while(i < n && is_digit(s[i]))
      i++;
  }
  if(i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if(i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if(i >= n)
      return scan_fail(sc, n, "unexpected end of input in a number");
    if(!is_digit(s[i]))
      return scan_fail(sc, start, "invalid number: expected exponent digits");
    while(i < n && is_digit(s[i]))
      i++;
  }
  sc->i = i;
  return 0;
}

static int scan_literal(struct scan *sc)
{
  static const char *const lits[] = {"true", "false", "null"};
  const char *s = sc->s;
  size_t n = sc->n, i = sc->i, k, L;
  const char *lit = s[i] == 't' ? lits[0] : s[i] == 'f' ? lits[1] : lits[2];
  L = strlen(lit);
  for(k = 0; k < L; k++) {
    if(i + k >= n)
      return scan_fail(sc, n, "unexpected end of input in '%s'", lit);
    if(s[i + k] != lit[k])
      return scan_fail(sc, i, "invalid literal (expected '%s')", lit);
  }
  sc->i = i + L;
  return 0;
}

enum scan_state {
  ST_VALUE,          /* a value is required */
  ST_VALUE_OR_CLOSE, /* just after '[' */
  ST_KEY_OR_CLOSE,   /* just after '{' */
  ST_KEY,            /* after ',' in an object */
  ST_COLON,          /* after a key */
  ST_COMMA_OR_CLOSE, /* after a member or element */
  ST_DONE            /* the root value is complete */
};

static const char *expectation(enum scan_state st, char top)
{
  switch(st) {
  case ST_VALUE:
    return "expected a value";
  case ST_VALUE_OR_CLOSE:
    return "expected a value or ']'";
  case ST_KEY_OR_CLOSE:
    return "expected a string key or '}'";
  case ST_KEY:
    return "expected a string key";
  case ST_COLON:
    return "expected ':'";
  case ST_COMMA_OR_CLOSE:
    return top == '{' ? "expected ',' or '}'" : "expected ',' or ']'";
  case ST_DONE:
    break;
  }
  return "expected the end of input";
}

static int scan_doc(struct scan *sc)
{
  char stack[SCAN_STACK];
  int depth = 0;
  enum scan_state st = ST_VALUE;
  const char *s = sc->s;
  size_t n = sc->n;
  int max_depth = sc->lim.max_depth;
  if(max_depth > SCAN_STACK)
    max_depth = SCAN_STACK;
  if(max_depth < 1)
    max_depth = 1;

  for(;;) {
    char c, what[32];
    char top = depth > 0 ? stack[depth - 1] : 0;
    while(sc->i < n && (s[sc->i] == ' ' || s[sc->i] == '\t' ||
                        s[sc->i] == '\n' || s[sc->i] == '\r'))
      sc->i++;
    if(sc->i >= n) {
      if(st == ST_DONE)
        return 0;
      if(n == 0)
        return scan_fail(sc, 0, "empty input, expected a JSON object");
      return scan_fail(sc, n, "unexpected end of input, %s",
                       expectation(st, top));
    }
    c = s[sc->i];
    describe_byte(what, sizeof(what), (unsigned char)c);
    switch(st) {
    case ST_DONE:
      return scan_fail(sc, sc->i, "unexpected %s after the end of the JSON "
                       "document", what);
    case ST_COLON:
      if(c != ':')
        return scan_fail(sc, sc->i, "unexpected %s, expected ':'", what);
      sc->i++;
      st = ST_VALUE;
      continue;
    case ST_COMMA_OR_CLOSE:
      if(c == ',') {
        sc->i++;
        st = top == '{' ? ST_KEY : ST_VALUE;
        continue;
      }
      if(c == (top == '{' ? '}' : ']'))
        goto close;
      return scan_fail(sc, sc->i, "unexpected %s, %s", what,
                       expectation(st, top));
    case ST_KEY_OR_CLOSE:
      if(c == '}')
        goto close;
      /* FALLTHROUGH */
    case ST_KEY:
      if(c != '"')
        return scan_fail(sc, sc->i, "unexpected %s, %s", what,
                         expectation(st, top));
      if(count_token(sc, sc->i) < 0 || scan_string(sc) < 0)
        return -1;
      st = ST_COLON;
      continue;
    case ST_VALUE_OR_CLOSE:
      if(c == ']')
        goto close;
      /* FALLTHROUGH */
    case ST_VALUE:
      break;
    }

    /* A value starts here. */
    if(depth == 0 && c != '{' && c != '[') {
      if(c == '"' || c == '-' || is_digit(c) || c == 't' || c == 'f' ||
         c == 'n')
        return scan_fail(sc, sc->i, "expected a JSON object or array, found "
                         "%s", c == '"'   ? "a string"
                               : c == 't' || c == 'f' ? "a boolean"
                               : c == 'n' ? "null"
                                          : "a number");
      return scan_fail(sc, sc->i, "unexpected %s, expected a JSON object",
                       what);
    }
    if(count_token(sc, sc->i) < 0)
      return -1;
    if(c == '{' || c == '[') {
      if(depth >= max_depth)
        return scan_fail(sc, sc->i, "nesting deeper than %d levels",
                         max_depth);
      stack[depth++] = c;
      sc->i++;
      st = c == '{' ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
      continue;
    }
    if(c == '"') {
      if(scan_string(sc) < 0)
        return -1;
    }
    else if(c == '-' || is_digit(c)) {
      if(scan_number(sc) < 0)
        return -1;
    }
    else if(c == 't' || c == 'f' || c == 'n') {
      if(scan_literal(sc) < 0)
        return -1;
    }
    else {
      return scan_fail(sc, sc->i, "unexpected %s, %s", what,
                       expectation(st, top));
    }
    st = depth == 0 ? ST_DONE : ST_COMMA_OR_CLOSE;
    continue;

  close:
    depth--;
    sc->i++;
    st = depth == 0 ? ST_DONE : ST_COMMA_OR_CLOSE;
  }
}

/* ------------------------------------------------------------------------ */
/* Strings.                                                                  */

static size_t put_utf8(char *out, uint32_t cp)
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

/* Unescape p[0, n) (a string's content, already checked by the scan) into
 * out, which has room for n + 1 bytes. Returns the length, or -1 on a bad
 * escape (defensive: the scan rejects those first). */
static long unescape(const char *p, size_t n, char *out)
{
  size_t i = 0, o = 0;
  while(i < n) {
    long cp;
    if(p[i] != '\\') {
      out[o++] = p[i++];
      continue;
    }
    if(i + 1 >= n)
      return -1;
    switch(p[i + 1]) {
    case '"':
      out[o++] = '"';
      break;
    case '\\':
      out[o++] = '\\';
      break;
    case '/':
      out[o++] = '/';
      break;
    case 'b':
      out[o++] = '\b';
      break;
    case 'f':
      out[o++] = '\f';
      break;
    case 'n':
      out[o++] = '\n';
      break;
    case 'r':
      out[o++] = '\r';
      break;
    case 't':
      out[o++] = '\t';
      break;
    case 'u':
      cp = hex4(p, n, i + 2);
      if(cp <= 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
        return -1;
      if(cp >= 0xD800 && cp <= 0xDBFF) {
        long lo = -1;
        if(i + 7 < n && p[i + 6] == '\\' && p[i + 7] == 'u')
          lo = hex4(p, n, i + 8);
        if(lo < 0xDC00 || lo > 0xDFFF)
          return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        i += 6;
      }
      o += put_utf8(out + o, (uint32_t)cp);
      i += 6;
      continue;
    default:
      return -1;
    }
    i += 2;
  }
  out[o] = '\0';
  return (long)o;
}

/* ------------------------------------------------------------------------ */
/* Pass 3: duplicate keys.                                                   */

struct key_ent {
  const char *p;
  size_t n;
  int tok;
  char *owned; /* decoded copy when the key has escapes */
};

static int key_cmp(const void *a, const void *b)
{
  const struct key_ent *x = a, *y = b;
  size_t m = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->p, y->p, m);
  if(c)
    return c;
  if(x->n != y->n)
    return x->n < y->n ? -1 : 1;
  return (x->tok > y->tok) - (x->tok < y->tok);
}

/* Find the earliest second occurrence of a key in any object. Returns 0 (no
 * duplicate), 1 (*dup_tok set) or -1 (out of memory). */
static int find_duplicate_key(const struct esmc_json_doc *d, int *dup_tok)
{
  struct key_ent *ents = NULL;
  int maxsize = 0, i, best = -1, rc = 0;
  for(i = 0; i < d->count; i++)
    if(d->tok[i].type == ESMC_JSON_OBJECT && d->tok[i].size > maxsize)
      maxsize = d->tok[i].size;
  if(maxsize < 2)
    return 0;
  ents = esmc_calloc((size_t)maxsize, sizeof(*ents));
  if(!ents)
    return -1;
  for(i = 0; i < d->count && rc == 0; i++) {
    const struct esmc_json_tok *o = &d->tok[i];
    int k, j, m = o->size;
    if(o->type != ESMC_JSON_OBJECT || m < 2)
      continue;
    k = i + 1;
    for(j = 0; j < m; j++) {
      const struct esmc_json_tok *kt = &d->tok[k];
      const char *p = d->text + kt->start + 1;
      size_t n = (size_t)(kt->end - kt->start - 2);
      ents[j].p = p;
      ents[j].n = n;
      ents[j].tok = k;
      ents[j].owned = NULL;
      if(memchr(p, '\\', n)) {
        long r;
        ents[j].owned = esmc_malloc(n + 1);
        if(!ents[j].owned) {
          rc = -1;
          m = j;
          break;
        }
        r = unescape(p, n, ents[j].owned);
        ents[j].p = ents[j].owned;
        ents[j].n = r < 0 ? 0 : (size_t)r;
      }
      k = kt->next;
    }
    if(rc == 0) {
      qsort(ents, (size_t)m, sizeof(*ents), key_cmp);
      for(j = 1; j < m; j++) {
        if(ents[j].n == ents[j - 1].n &&
           memcmp(ents[j].p, ents[j - 1].p, ents[j].n) == 0 &&
           (j == 1 || ents[j - 2].n != ents[j].n ||
            memcmp(ents[j].p, ents[j - 2].p, ents[j].n) != 0)) {
          /* ents[j] is the second occurrence of its key. */
          if(best < 0 || ents[j].tok < best)
            best = ents[j].tok;
        }
      }
    }
    for(j = 0; j < m; j++)
      esmc_free(ents[j].owned);
  }
  esmc_free(ents);
  if(rc < 0)
    return -1;
  if(best >= 0) {
    *dup_tok = best;
    return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing.                                                                  */

static void jsmn_error(const char *text, size_t len, const jsmn_parser *p,
                       int r, struct esmc_json_error *err)
{
  size_t pos = p->pos;
  char what[32];
  if(r == JSMN_ERROR_NOMEM) {
    error_at_offset(text, len, pos < len ? pos : len, err,
                    "too many JSON values");
  }
  else if(r == JSMN_ERROR_PART || pos >= len) {
    if(pos < len && text[pos] == '"')
      error_at_offset(text, len, pos, err, "unterminated string");
    else
      error_at_offset(text, len, len, err, "unexpected end of input");
  }
  else {
    describe_byte(what, sizeof(what), (unsigned char)text[pos]);
    error_at_offset(text, len, pos, err, "unexpected %s", what);
  }
}

void esmc_json_free(struct esmc_json_doc *doc)
{
  if(!doc)
    return;
  esmc_free(doc->tok);
  memset(doc, 0, sizeof(*doc));
}

int esmc_json_parse(struct esmc_json_doc *doc, const char *text, size_t len,
                    const struct esmc_json_limits *limits,
                    struct esmc_json_error *err)
{
  struct scan sc;
  jsmn_parser p;
  jsmntok_t *jt = NULL;
  int r, i, dup = -1;

  memset(doc, 0, sizeof(*doc));
  if(err)
    memset(err, 0, sizeof(*err));
  if(len > (size_t)INT_MAX / 2) {
    error_at_offset(text, 0, 0, err, "input too large");
    return -1;
  }
  memset(&sc, 0, sizeof(sc));
  sc.s = text;
  sc.n = len;
  sc.err = err;
  sc.lim.max_depth = ESMC_JSON_MAX_DEPTH;
  sc.lim.max_tokens = ESMC_JSON_MAX_TOKENS;
  sc.lim.max_string = ESMC_JSON_MAX_STRING;
  if(limits)
    sc.lim = *limits;
  if(scan_doc(&sc) < 0)
    return -1;

  jsmn_init(&p);
  r = jsmn_parse(&p, text, len, NULL, 0);
  if(r < 0) {
    jsmn_error(text, len, &p, r, err);
    return -1;
  }
  if(r != sc.count || r < 1) {
    error_at_offset(text, len, 0, err, "internal error: token count mismatch");
    return -1;
  }
  jt = esmc_calloc((size_t)r, sizeof(*jt));
  doc->tok = esmc_calloc((size_t)r, sizeof(*doc->tok));
  if(!jt || !doc->tok) {
    esmc_free(jt);
    esmc_json_free(doc);
    error_at_offset(text, len, 0, err, "out of memory");
    return -1;
  }
  jsmn_init(&p);
  r = jsmn_parse(&p, text, len, jt, (unsigned)r);
  if(r < 0 || r != sc.count) {
    if(r < 0)
      jsmn_error(text, len, &p, r, err);
    else
      error_at_offset(text, len, 0, err,
                      "internal error: token count mismatch");
    esmc_free(jt);
    esmc_json_free(doc);
    return -1;
  }
  for(i = 0; i < r; i++) {
    struct esmc_json_tok *t = &doc->tok[i];
    t->start = jt[i].start;
    t->end = jt[i].end;
    t->size = jt[i].size;
    switch(jt[i].type) {
    case JSMN_OBJECT:
      t->type = ESMC_JSON_OBJECT;
      break;
    case JSMN_ARRAY:
      t->type = ESMC_JSON_ARRAY;
      break;
    case JSMN_STRING:
      t->type = ESMC_JSON_STRING;
      t->start--; /* include the quotes */
      t->end++;
      break;
    default:
      t->type = text[t->start] == 'n'   ? ESMC_JSON_NULL
                : text[t->start] == 't' ? ESMC_JSON_BOOL
                : text[t->start] == 'f' ? ESMC_JSON_BOOL
                                        : ESMC_JSON_NUMBER;
      break;
    }
  }
  esmc_free(jt);
  doc->count = r;
  doc->text = text;
  doc->len = len;

  /* Skip links, children first: the value after a token and its subtree. */
  for(i = r - 1; i >= 0; i--) {
    int c = i + 1, k;
    for(k = 0; k < doc->tok[i].size && c < r; k++)
      c = doc->tok[c].next;
    doc->tok[i].next = c;
  }

  r = find_duplicate_key(doc, &dup);
  if(r != 0) {
    if(r < 0) {
      error_at_offset(text, len, 0, err, "out of memory");
    }
    else {
      char *k = NULL;
      esmc_json_string(doc, dup, &k, NULL, NULL);
      esmc_json_error_at(doc, dup, err, "duplicate key '%.100s'",
                         k ? k : "?");
      esmc_free(k);
    }
    esmc_json_free(doc);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Getters.                                                                  */

static int valid_tok(const struct esmc_json_doc *doc, int tok)
{
  return doc && tok >= 0 && tok < doc->count;
}

enum esmc_json_type esmc_json_type_of(const struct esmc_json_doc *doc, int tok)
{
  return valid_tok(doc, tok) ? doc->tok[tok].type : (enum esmc_json_type)0;
}

const char *esmc_json_type_name(enum esmc_json_type t)
{
  switch(t) {
  case ESMC_JSON_NULL:
    return "null";
  case ESMC_JSON_BOOL:
    return "a boolean";
  case ESMC_JSON_NUMBER:
    return "a number";
  case ESMC_JSON_STRING:
    return "a string";
  case ESMC_JSON_ARRAY:
    return "an array";
  case ESMC_JSON_OBJECT:
    return "an object";
  }
  return "nothing";
}

static int type_error(const struct esmc_json_doc *doc, int tok,
                      const char *expected, struct esmc_json_error *err)
{
  esmc_json_error_at(doc, tok, err, "expected %s, found %s", expected,
                     esmc_json_type_name(esmc_json_type_of(doc, tok)));
  return -1;
}

int esmc_json_expect(const struct esmc_json_doc *doc, int tok,
                     enum esmc_json_type type, struct esmc_json_error *err)
{
  if(esmc_json_type_of(doc, tok) == type)
    return 0;
  return type_error(doc, tok, esmc_json_type_name(type), err);
}

int esmc_json_string(const struct esmc_json_doc *doc, int tok, char **out,
                     size_t *len, struct esmc_json_error *err)
{
  const struct esmc_json_tok *t;
  size_t n;
  char *buf;
  long r;
  *out = NULL;
  if(esmc_json_type_of(doc, tok) != ESMC_JSON_STRING)
    return type_error(doc, tok, "a string", err);
  t = &doc->tok[tok];
  n = (size_t)(t->end - t->start - 2);
  buf = esmc_malloc(n + 1);
  if(!buf) {
    esmc_json_error_at(doc, tok, err, "out of memory");
    return -1;
  }
  r = unescape(doc->text + t->start + 1, n, buf);
  if(r < 0) {
    esmc_free(buf);
    esmc_json_error_at(doc, tok, err, "invalid escape in string");
    return -1;
  }
  *out = buf;
  if(len)
    *len = (size_t)r;
  return 0;
}

int esmc_json_string_eq(const struct esmc_json_doc *doc, int tok,
                        const char *s)
{
  const struct esmc_json_tok *t;
  const char *p;
  size_t n, sl = strlen(s);
  char *dec;
  int eq;
  if(esmc_json_type_of(doc, tok) != ESMC_JSON_STRING)
    return 0;
  t = &doc->tok[tok];
  p = doc->text + t->start + 1;
  n = (size_t)(t->end - t->start - 2);
  if(!memchr(p, '\\', n))
    return n == sl && memcmp(p, s, n) == 0;
  if(esmc_json_string(doc, tok, &dec, &n, NULL) < 0)
    return 0;
  eq = n == sl && memcmp(dec, s, n) == 0;
  esmc_free(dec);
  return eq;
}

int esmc_json_int64(const struct esmc_json_doc *doc, int tok, int64_t *out,
                    struct esmc_json_error *err)
{
  const struct esmc_json_tok *t;
  const char *p;
  size_t n, i = 0;
  int neg = 0;
  uint64_t v = 0, lim;
  if(esmc_json_type_of(doc, tok) != ESMC_JSON_NUMBER)
    return type_error(doc, tok, "an integer", err);
  t = &doc->tok[tok];
  p = doc->text + t->start;
  n = (size_t)(t->end - t->start);
  if(memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n)) {
    esmc_json_error_at(doc, tok, err, "expected an integer, found %.*s",
                       (int)(n > 40 ? 40 : n), p);
    return -1;
  }
  if(n > 0 && p[0] == '-') {
    neg = 1;
    i = 1;
  }
  if(i >= n) {
    esmc_json_error_at(doc, tok, err, "expected an integer");
    return -1;
  }
  lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for(; i < n; i++) {
    unsigned d;
    if(!is_digit(p[i])) {
      esmc_json_error_at(doc, tok, err, "expected an integer");
      return -1;
    }
    d = (unsigned)(p[i] - '0');
    if(v > (lim - d) / 10) {
      esmc_json_error_at(doc, tok, err,
                         "integer %.*s is out of range (64 bits)",
                         (int)(n > 40 ? 40 : n), p);
      return -1;
    }
    v = v * 10 + d;
  }
  if(neg)
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  else
    *out = (int64_t)v;
  return 0;
}

int esmc_json_bool(const struct esmc_json_doc *doc, int tok, int *out,
                   struct esmc_json_error *err)
{
  if(esmc_json_type_of(doc, tok) != ESMC_JSON_BOOL)
    return type_error(doc, tok, "a boolean", err);
  *out = doc->text[doc->tok[tok].start] == 't';
  return 0;
}

int esmc_json_is_null(const struct esmc_json_doc *doc, int tok)
{
  return esmc_json_type_of(doc, tok) == ESMC_JSON_NULL;
}

const char *esmc_json_raw(const struct esmc_json_doc *doc, int tok,
                          size_t *len)
{
  if(!valid_tok(doc, tok)) {
    *len = 0;
    return NULL;
  }
  *len = (size_t)(doc->tok[tok].end - doc->tok[tok].start);
  return doc->text + doc->tok[tok].start;
}

char *esmc_json_raw_dup(const struct esmc_json_doc *doc, int tok)
{
  size_t n;
  const char *p = esmc_json_raw(doc, tok, &n);
  return p ? esmc_strndup(p, n) : NULL;
}

void esmc_json_iter_init(struct esmc_json_iter *it,
                         const struct esmc_json_doc *doc, int tok)
{
  enum esmc_json_type t = esmc_json_type_of(doc, tok);
  it->doc = doc;
  it->cur = tok + 1;
  it->remaining = 0;
  it->is_object = t == ESMC_JSON_OBJECT;
  if(t == ESMC_JSON_OBJECT || t == ESMC_JSON_ARRAY)
    it->remaining = doc->tok[tok].size;
}

int esmc_json_iter_next(struct esmc_json_iter *it, int *key, int *value)
{
  if(it->remaining <= 0 || it->cur >= it->doc->count)
    return 0;
  it->remaining--;
  if(it->is_object) {
    *key = it->cur;
    *value = it->cur + 1;
  }
  else {
    *key = -1;
    *value = it->cur;
  }
  it->cur = it->doc->tok[it->cur].next;
  return 1;
}

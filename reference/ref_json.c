/*
 * ref_json.c: sequence number comparison, a strict JSON validator and the
 * ReportBatchItemFailures response parser. This is the only file of the
 * reference that includes jsmn; JSMN_STATIC keeps its functions file-local
 * so the static library never clashes with the harness's own copy.
 */
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"
#include "ref_mutant.h"

#define REF_JSON_MAX_DEPTH 512

int ref_seq_compare(const char *a, const char *b)
{
  size_t la, lb;
  int c;

  if(!a || !b)
    return (a != NULL) - (b != NULL);
  while(a[0] == '0' && a[1] != '\0')
    a++;
  while(b[0] == '0' && b[1] != '\0')
    b++;
  la = strlen(a);
  lb = strlen(b);
  if(la != lb)
    return la < lb ? -1 : 1;
  c = memcmp(a, b, la);
  return (c > 0) - (c < 0);
}

/* ------------------------------------------------------------------------ */
/* A recursive-descent validator. jsmn accepts some malformed texts, so the
 * response parser checks well-formedness here first. */

struct ref_scan {
  const char *s;
  size_t n;
  size_t i;
};

static void ref_scan_ws(struct ref_scan *sc)
{
  while(sc->i < sc->n && (sc->s[sc->i] == ' ' || sc->s[sc->i] == '\t' ||
                          sc->s[sc->i] == '\n' || sc->s[sc->i] == '\r'))
    sc->i++;
}

static int ref_is_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int ref_scan_string(struct ref_scan *sc)
{
  sc->i++; /* The opening quote. */
  while(sc->i < sc->n) {
    unsigned char c = (unsigned char)sc->s[sc->i];
    if(c == '"') {
      sc->i++;
      return 1;
    }
    if(c < 0x20)
      return 0;
    if(c == '\\') {
      char e;
      if(sc->i + 1 >= sc->n)
        return 0;
      e = sc->s[sc->i + 1];
      if(e == 'u') {
        size_t k;
        if(sc->i + 6 > sc->n)
          return 0;
        for(k = 2; k < 6; k++)
          if(!ref_is_hex(sc->s[sc->i + k]))
            return 0;
        sc->i += 6;
        continue;
      }
      if(!strchr("\"\\/bfnrt", e) || e == '\0')
        return 0;
      sc->i += 2;
      continue;
    }
    sc->i++;
  }
  return 0;
}

static int ref_scan_digits(struct ref_scan *sc)
{
  size_t start = sc->i;
  while(sc->i < sc->n && sc->s[sc->i] >= '0' && sc->s[sc->i] <= '9')
    sc->i++;
  return sc->i > start;
}

static int ref_scan_number(struct ref_scan *sc)
{
  if(sc->s[sc->i] == '-')
    sc->i++;
  if(sc->i >= sc->n)
    return 0;
  if(sc->s[sc->i] == '0')
    sc->i++;
  else if(!ref_scan_digits(sc))
    return 0;
  if(sc->i < sc->n && sc->s[sc->i] == '.') {
    sc->i++;
    if(!ref_scan_digits(sc))
      return 0;
  }
  if(sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
    sc->i++;
    if(sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
      sc->i++;
    if(!ref_scan_digits(sc))
      return 0;
  }
  return 1;
}

static int ref_scan_word(struct ref_scan *sc, const char *w)
{
  size_t k = strlen(w);
  if(sc->n - sc->i < k || memcmp(sc->s + sc->i, w, k) != 0)
    return 0;
  sc->i += k;
  return 1;
}

static int ref_scan_value(struct ref_scan *sc, int depth)
{
  char c;

  ref_scan_ws(sc);
  if(sc->i >= sc->n || depth > REF_JSON_MAX_DEPTH)
    return 0;
  c = sc->s[sc->i];
  if(c == '"')
    return ref_scan_string(sc);
  if(c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    sc->i++;
    ref_scan_ws(sc);
    if(sc->i < sc->n && sc->s[sc->i] == close) {
      sc->i++;
      return 1;
    }
    for(;;) {
      if(c == '{') {
        ref_scan_ws(sc);
        if(sc->i >= sc->n || sc->s[sc->i] != '"' || !ref_scan_string(sc))
          return 0;
        ref_scan_ws(sc);
        if(sc->i >= sc->n || sc->s[sc->i] != ':')
          return 0;
        sc->i++;
      }
      if(!ref_scan_value(sc, depth + 1))
        return 0;
      ref_scan_ws(sc);
      if(sc->i >= sc->n)
        return 0;
      if(sc->s[sc->i] == close) {
        sc->i++;
        return 1;
      }
      if(sc->s[sc->i] != ',')
        return 0;
      sc->i++;
    }
  }
  if(c == '-' || (c >= '0' && c <= '9'))
    return ref_scan_number(sc);
  return ref_scan_word(sc, "true") || ref_scan_word(sc, "false") ||
         ref_scan_word(sc, "null");
}

int ref_json_valid(const char *text, size_t len)
{
  struct ref_scan sc;

  if(!text)
    return 0;
  sc.s = text;
  sc.n = len;
  sc.i = 0;
  if(!ref_scan_value(&sc, 0))
    return 0;
  ref_scan_ws(&sc);
  return sc.i == sc.n;
}

/* ------------------------------------------------------------------------ */
/* Walking jsmn tokens of a text ref_json_valid() accepted. */

/* The index just past token i and everything nested in it. */
static int ref_tok_skip(const jsmntok_t *t, int ntok, int i)
{
  int pending = 1;

  while(pending > 0 && i < ntok) {
    if(t[i].type == JSMN_OBJECT)
      pending += 2 * t[i].size;
    else if(t[i].type == JSMN_ARRAY)
      pending += t[i].size;
    pending--;
    i++;
  }
  return i;
}

static int ref_hex_val(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  if(c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return c - 'A' + 10;
}

static void ref_put_utf8(char *out, size_t *o, unsigned long cp)
{
  if(cp < 0x80) {
    out[(*o)++] = (char)cp;
  } else if(cp < 0x800) {
    out[(*o)++] = (char)(0xC0 | (cp >> 6));
    out[(*o)++] = (char)(0x80 | (cp & 0x3F));
  } else if(cp < 0x10000) {
    out[(*o)++] = (char)(0xE0 | (cp >> 12));
    out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*o)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[(*o)++] = (char)(0xF0 | (cp >> 18));
    out[(*o)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[(*o)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*o)++] = (char)(0x80 | (cp & 0x3F));
  }
}

/*
 * Decodes the string token tok (already validated) into a new NUL-terminated
 * buffer; *outlen gets its length (it may hold NUL bytes from \u0000).
 * Returns NULL on allocation failure. Decoded text is never longer than the
 * escaped text, so the token length bounds the buffer.
 */
static char *ref_tok_unescape(const char *js, const jsmntok_t *tok,
                              size_t *outlen)
{
  size_t n = (size_t)(tok->end - tok->start);
  const char *s = js + tok->start;
  char *out = malloc(n + 1);
  size_t i = 0, o = 0;

  if(!out)
    return NULL;
  while(i < n) {
    if(s[i] != '\\') {
      out[o++] = s[i++];
      continue;
    }
    switch(s[i + 1]) {
    case 'b': out[o++] = '\b'; break;
    case 'f': out[o++] = '\f'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 't': out[o++] = '\t'; break;
    case 'u': {
      unsigned long cp = 0;
      int k;
      for(k = 2; k < 6; k++)
        cp = (cp << 4) | (unsigned long)ref_hex_val(s[i + k]);
      i += 6;
      if(cp >= 0xD800 && cp < 0xDC00 && i + 6 <= n && s[i] == '\\' &&
         s[i + 1] == 'u') {
        unsigned long lo = 0;
        for(k = 2; k < 6; k++)
          lo = (lo << 4) | (unsigned long)ref_hex_val(s[i + k]);
        if(lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
      }
      ref_put_utf8(out, &o, cp);
      continue;
    }
    default: out[o++] = s[i + 1]; break;
    }
    i += 2;
  }
  out[o] = '\0';
  *outlen = o;
  return out;
}

/* 1 when string token tok decodes to exactly key. */
static int ref_tok_is_key(const char *js, const jsmntok_t *tok,
                          const char *key)
{
  size_t klen = strlen(key), n = (size_t)(tok->end - tok->start);
  char *dec;
  size_t dlen;
  int eq;

  if(tok->type != JSMN_STRING)
    return 0;
  if(!memchr(js + tok->start, '\\', n))
    return n == klen && memcmp(js + tok->start, key, klen) == 0;
  dec = ref_tok_unescape(js, tok, &dlen);
  if(!dec)
    return 0;
  eq = dlen == klen && memcmp(dec, key, klen) == 0;
  free(dec);
  return eq;
}

/* The value token of the last member named key in object token obj, or -1. */
static int ref_tok_member(const char *js, const jsmntok_t *t, int ntok,
                          int obj, const char *key)
{
  int i = obj + 1, k, found = -1;

  for(k = 0; k < t[obj].size && i < ntok; k++) {
    if(ref_tok_is_key(js, &t[i], key))
      found = i + 1;
    i = ref_tok_skip(t, ntok, i + 1);
  }
  return found;
}

static int ref_tok_is_null(const char *js, const jsmntok_t *tok)
{
  return tok->type == JSMN_PRIMITIVE && js[tok->start] == 'n';
}

/* Finds the batch index of string token tok, or -1. */
static long ref_find_seq(const char *js, const jsmntok_t *tok,
                         const char *const *seqs, size_t n, int *oom)
{
  size_t dlen, k;
  char *dec = ref_tok_unescape(js, tok, &dlen);
  long found = -1;

  if(!dec) {
    *oom = 1;
    return -1;
  }
  for(k = 0; k < n; k++) {
    if(seqs[k] && strlen(seqs[k]) == dlen && memcmp(seqs[k], dec, dlen) == 0) {
      found = (long)k;
      break;
    }
  }
  free(dec);
  return found;
}

static int ref_parse_failures(const char *js, const jsmntok_t *t, int ntok,
                              int arr, const char *const *seqs, size_t n,
                              size_t *lowest, unsigned char *marks)
{
  int i = arr + 1, k, oom = 0;
  long best = -1;

  if(t[arr].size == 0)
    return REF_MUTANT(EMPTY_FAILURES_FAIL) ? REF_RESPONSE_INVALID
                                           : REF_RESPONSE_SUCCESS;
  for(k = 0; k < t[arr].size && i < ntok; k++) {
    int v;
    long idx;
    if(t[i].type != JSMN_OBJECT)
      return REF_RESPONSE_INVALID;
    v = ref_tok_member(js, t, ntok, i, "itemIdentifier");
    if(v < 0 || t[v].type != JSMN_STRING || t[v].end == t[v].start)
      return REF_RESPONSE_INVALID;
    idx = ref_find_seq(js, &t[v], seqs, n, &oom);
    if(idx < 0 && REF_MUTANT(INVALID_PARTIAL_OK) && !marks)
      return REF_RESPONSE_SUCCESS; /* mutant: an unknown id is "no failure" */
    if(idx < 0)
      return REF_RESPONSE_INVALID;
    if(marks) /* SQS: every listed message (ref_parse_sqs_response) */
      marks[idx] = 1;
    if(best < 0 || (REF_MUTANT(CKPT_HIGHEST_FAILED)
                      ? ref_seq_compare(seqs[idx], seqs[best]) > 0
                      : ref_seq_compare(seqs[idx], seqs[best]) < 0))
      best = idx;
    i = ref_tok_skip(t, ntok, i);
  }
  if(best < 0)
    return REF_RESPONSE_INVALID;
  *lowest = (size_t)best;
  return REF_RESPONSE_PARTIAL;
}

static int ref_parse_response(const uint8_t *body, size_t len,
                              const char *const *batch_seqs, size_t n,
                              size_t *lowest_failed_index,
                              unsigned char *marks)
{
  const char *js = (const char *)body;
  size_t i = 0, end = len;
  jsmn_parser p;
  jsmntok_t *t;
  int ntok, v, rc;
  size_t lowest = 0;

  if(!body || len == 0)
    return REF_RESPONSE_SUCCESS;
  while(i < len && strchr(" \t\r\n", js[i]) && js[i] != '\0')
    i++;
  if(i == len)
    return REF_RESPONSE_SUCCESS; /* Whitespace only. */
  if(!ref_json_valid(js, len))
    return REF_RESPONSE_INVALID;
  while(end > i && strchr(" \t\r\n", js[end - 1]) && js[end - 1] != '\0')
    end--;
  /* Top-level scalars and arrays: "", null and [] are empty responses;
   * anything else cannot be a StreamsEventResponse. */
  if(js[i] == '"')
    return end - i == 2 ? REF_RESPONSE_SUCCESS : REF_RESPONSE_INVALID;
  if(js[i] == '[') {
    size_t k = i + 1;
    while(k < end && strchr(" \t\r\n", js[k]) && js[k] != '\0')
      k++;
    return js[k] == ']' ? REF_RESPONSE_SUCCESS : REF_RESPONSE_INVALID;
  }
  if(js[i] != '{')
    return js[i] == 'n' ? REF_RESPONSE_SUCCESS : REF_RESPONSE_INVALID;

  jsmn_init(&p);
  ntok = jsmn_parse(&p, js + i, end - i, NULL, 0);
  if(ntok <= 0)
    return REF_RESPONSE_INVALID;
  t = malloc((size_t)ntok * sizeof(*t));
  if(!t)
    return REF_RESPONSE_INVALID;
  jsmn_init(&p);
  if(jsmn_parse(&p, js + i, end - i, t, (unsigned)ntok) != ntok ||
     t[0].type != JSMN_OBJECT) {
    free(t);
    return REF_RESPONSE_INVALID;
  }
  v = ref_tok_member(js + i, t, ntok, 0, "batchItemFailures");
  if(v < 0 || ref_tok_is_null(js + i, &t[v]))
    rc = REF_RESPONSE_SUCCESS;
  else if(t[v].type != JSMN_ARRAY)
    rc = REF_RESPONSE_INVALID;
  else
    rc = ref_parse_failures(js + i, t, ntok, v, batch_seqs, n, &lowest,
                            marks);
  free(t);
  if(rc == REF_RESPONSE_PARTIAL && lowest_failed_index)
    *lowest_failed_index = lowest;
  return rc;
}

int ref_parse_batch_response(const uint8_t *body, size_t len,
                             const char *const *batch_seqs, size_t n,
                             size_t *lowest_failed_index)
{
  return ref_parse_response(body, len, batch_seqs, n, lowest_failed_index,
                            NULL);
}

/* SQS (ref_sqs.c): like ref_parse_batch_response, marking failed[k] = 1 for
 * every listed message on REF_RESPONSE_PARTIAL. */
int ref_parse_sqs_response(const uint8_t *body, size_t len,
                           const char *const *message_ids, size_t n,
                           unsigned char *failed)
{
  size_t lowest;

  memset(failed, 0, n);
  return ref_parse_response(body, len, message_ids, n, &lowest, failed);
}

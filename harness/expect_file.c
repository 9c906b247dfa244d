/*
 * expect_file.c: expectation files (expect_file.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "expect_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "util.h"

void esmc_expect_free(struct esmc_expectations *e)
{
  size_t i;
  for(i = 0; i < e->n; i++) {
    esmc_free(e->v[i].id);
    esmc_free(e->v[i].reason);
    esmc_free(e->v[i].link);
  }
  esmc_free(e->v);
  memset(e, 0, sizeof(*e));
}

const struct esmc_expectation *
esmc_expect_find(const struct esmc_expectations *e, const char *id)
{
  size_t i;
  if(!e || !id)
    return NULL;
  for(i = 0; i < e->n; i++)
    if(strcmp(e->v[i].id, id) == 0)
      return &e->v[i];
  return NULL;
}

static int member(const struct esmc_json_doc *d, int obj, const char *key)
{
  struct esmc_json_iter it;
  int k, v;
  esmc_json_iter_init(&it, d, obj);
  while(esmc_json_iter_next(&it, &k, &v))
    if(esmc_json_string_eq(d, k, key))
      return v;
  return -1;
}

static void fail_at(const struct esmc_json_doc *d, int tok, size_t line0,
                    char *err, size_t n, const char *what)
{
  struct esmc_json_error e;
  esmc_json_error_at(d, tok, &e, "%s", what);
  snprintf(err, n, "line %zu, column %d: %s", line0 + (size_t)e.line, e.column,
           e.message);
}

/* One entry: obj holds verdict, reason, link (and id when id_tok < 0). */
static int add_entry(const struct esmc_json_doc *d, int obj, int id_tok,
                     size_t line0, struct esmc_expectations *out, char *err,
                     size_t n)
{
  struct esmc_expectation x;
  struct esmc_json_error e;
  int t;
  memset(&x, 0, sizeof(x));
  if(esmc_json_type_of(d, obj) != ESMC_JSON_OBJECT) {
    fail_at(d, obj, line0, err, n, "an expectation must be an object");
    return -1;
  }
  if(id_tok < 0)
    id_tok = member(d, obj, "id");
  if(id_tok < 0 || esmc_json_string(d, id_tok, &x.id, NULL, &e)) {
    fail_at(d, obj, line0, err, n, "an expectation needs a case id string");
    return -1;
  }
  t = member(d, obj, "verdict");
  if(t >= 0 && esmc_json_string_eq(d, t, "fail"))
    x.verdict = ESMC_V_FAIL;
  else if(t >= 0 && esmc_json_string_eq(d, t, "skip"))
    x.verdict = ESMC_V_SKIP;
  else {
    fail_at(d, t >= 0 ? t : obj, line0, err, n,
            "\"verdict\" must be \"fail\" or \"skip\"");
    esmc_free(x.id);
    return -1;
  }
  if((t = member(d, obj, "reason")) >= 0 && !esmc_json_is_null(d, t) &&
     esmc_json_string(d, t, &x.reason, NULL, &e)) {
    fail_at(d, t, line0, err, n, "\"reason\" must be a string");
    esmc_free(x.id);
    return -1;
  }
  if((t = member(d, obj, "link")) >= 0 && !esmc_json_is_null(d, t) &&
     esmc_json_string(d, t, &x.link, NULL, &e)) {
    fail_at(d, t, line0, err, n, "\"link\" must be a string");
    esmc_free(x.id);
    esmc_free(x.reason);
    return -1;
  }
  if(esmc_expect_find(out, x.id)) {
    snprintf(err, n, "the case %.200s is listed twice", x.id);
    esmc_free(x.id);
    esmc_free(x.reason);
    esmc_free(x.link);
    return -1;
  }
  if(ESMC_VEC_PUSH(*out, x)) {
    esmc_free(x.id);
    esmc_free(x.reason);
    esmc_free(x.link);
    snprintf(err, n, "out of memory");
    return -1;
  }
  return 0;
}

int esmc_expect_parse(const char *text, size_t len,
                      struct esmc_expectations *out, char *err, size_t n)
{
  struct esmc_json_doc d;
  struct esmc_json_error e;
  size_t pos = 0, line = 0;
  memset(out, 0, sizeof(*out));
  /* A whole-file object whose members are the cases. */
  if(esmc_json_parse(&d, text, len, NULL, &e) == 0 &&
     esmc_json_type_of(&d, 0) == ESMC_JSON_OBJECT && member(&d, 0, "id") < 0 &&
     member(&d, 0, "verdict") < 0) {
    struct esmc_json_iter it;
    int k, v;
    esmc_json_iter_init(&it, &d, 0);
    while(esmc_json_iter_next(&it, &k, &v)) {
      if(add_entry(&d, v, k, 0, out, err, n)) {
        esmc_json_free(&d);
        esmc_expect_free(out);
        return -1;
      }
    }
    esmc_json_free(&d);
    return 0;
  }
  esmc_json_free(&d);
  /* JSON lines. */
  while(pos < len) {
    const char *nl = memchr(text + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - text) : len, k;
    int blank = 1;
    for(k = pos; k < end; k++)
      if(text[k] != ' ' && text[k] != '\t' && text[k] != '\r')
        blank = 0;
    if(!blank) {
      if(esmc_json_parse(&d, text + pos, end - pos, NULL, &e)) {
        snprintf(err, n, "line %zu, column %d: %s", line + (size_t)e.line,
                 e.column, e.message);
        esmc_expect_free(out);
        return -1;
      }
      if(add_entry(&d, 0, -1, line, out, err, n)) {
        esmc_json_free(&d);
        esmc_expect_free(out);
        return -1;
      }
      esmc_json_free(&d);
    }
    line++;
    pos = end + 1;
  }
  return 0;
}

int esmc_expect_load(const char *path, struct esmc_expectations *out,
                     char *err, size_t n)
{
  char *text = NULL, sub[900];
  size_t len = 0;
  int rc;
  memset(out, 0, sizeof(*out));
  if(esmc_read_file(path, &text, &len)) {
    snprintf(err, n, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  rc = esmc_expect_parse(text, len, out, sub, sizeof(sub));
  if(rc)
    snprintf(err, n, "%s: %s", path, sub);
  esmc_free(text);
  return rc;
}

void esmc_expect_apply(const struct esmc_expectation *x,
                       struct esmc_case_result *r)
{
  struct esmc_buf b;
  if(!x || x->verdict != ESMC_V_FAIL)
    return;
  esmc_buf_init(&b);
  if(r->verdict == ESMC_V_FAIL) {
    r->verdict = ESMC_V_XFAIL;
    esmc_buf_printf(&b, "expected to fail: %s", x->reason ? x->reason : "");
  } else if(r->verdict == ESMC_V_PASS || r->verdict == ESMC_V_NON_STRICT) {
    esmc_buf_printf(&b, "expected to fail (%s) but %s: the expectation is "
                    "stale", x->reason ? x->reason : "no reason given",
                    r->verdict == ESMC_V_PASS ? "passed" : "passed non-strictly");
    r->verdict = ESMC_V_XPASS;
  } else {
    return;
  }
  if(x->link)
    esmc_buf_printf(&b, " (%s)", x->link);
  if(b.data) {
    esmc_free(r->reason);
    r->reason = b.data;
  }
}

int esmc_expect_write(const char *path, const struct esmc_case_result *r,
                      size_t n)
{
  FILE *f = fopen(path, "w");
  size_t i, k = 0;
  struct esmc_buf b;
  if(!f)
    return -1;
  esmc_buf_init(&b);
  esmc_buf_puts(&b, "{");
  for(i = 0; i < n; i++) {
    const char *why;
    if(r[i].verdict != ESMC_V_FAIL && r[i].verdict != ESMC_V_XFAIL)
      continue;
    why = r[i].violations.n && r[i].violations.v[0].message
            ? r[i].violations.v[0].message : r[i].reason;
    if(r[i].verdict == ESMC_V_XFAIL && r[i].reason &&
       strncmp(r[i].reason, "expected to fail: ", 18) == 0)
      why = r[i].reason + 18;
    esmc_buf_puts(&b, k++ ? ",\n  " : "\n  ");
    esmc_buf_json_str(&b, r[i].id, strlen(r[i].id));
    esmc_buf_puts(&b, ": {\"verdict\": \"fail\", \"reason\": ");
    if(!why)
      why = "";
    {
      size_t len = strlen(why);
      if(len > 300) {
        len = 300; /* Never split a UTF-8 sequence. */
        while(len > 0 && ((unsigned char)why[len] & 0xC0) == 0x80)
          len--;
      }
      esmc_buf_json_str(&b, why, len);
    }
    esmc_buf_puts(&b, "}");
  }
  esmc_buf_puts(&b, k ? "\n}\n" : "}\n");
  if(b.oom || fwrite(b.data, 1, b.len, f) != b.len) {
    esmc_buf_free(&b);
    fclose(f);
    errno = ENOMEM;
    return -1;
  }
  esmc_buf_free(&b);
  return fclose(f) ? -1 : 0;
}

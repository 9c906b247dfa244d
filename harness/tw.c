/*
 * tw.c: the tumbling-window fields of an event payload and of a response.
 *
 * A payload may be 6 MB, and the world already tokenized it once, so the
 * top-level object is walked by a small bounds-checked scanner that skips
 * values without tokenizing them; only the few window fields are read.
 * The scanner judges structure, not full JSON validity: the world's decoder
 * and the analysis's validator report invalid JSON.
 */
#include "tw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "world.h"

#define NPOS SIZE_MAX

static int is_ws(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
  while(i < n && is_ws(p[i]))
    i++;
  return i;
}

/* Index just past the string that starts at p[i] (a quote), or NPOS. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
  for(i++; i < n; i++) {
    if(p[i] == '\\')
      i++;
    else if(p[i] == '"')
      return i + 1;
  }
  return NPOS;
}

static int is_prim_char(char ch)
{
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
         (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '+' || ch == '.';
}

/* Index just past the value that starts at p[i], or NPOS. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
  size_t depth = 0, j;
  if(i >= n)
    return NPOS;
  if(p[i] == '"')
    return skip_string(p, n, i);
  if(p[i] != '{' && p[i] != '[') {
    for(j = i; j < n && is_prim_char(p[j]); j++)
      ;
    return j > i ? j : NPOS;
  }
  for(j = i; j < n; j++) {
    if(p[j] == '"') {
      j = skip_string(p, n, j);
      if(j == NPOS)
        return NPOS;
      j--;
    } else if(p[j] == '{' || p[j] == '[') {
      depth++;
    } else if(p[j] == '}' || p[j] == ']') {
      if(--depth == 0)
        return j + 1;
    }
  }
  return NPOS;
}

/* Find the members keys[0..nkeys) of the object at p[obj] in one pass (the
 * last one of a repeated key). Sets v0[k] to NPOS for an absent key, else
 * [v0[k], v1[k]) to its value's span. Returns 0, or -1 when the object is
 * malformed. */
static int obj_scan(const char *p, size_t n, size_t obj,
                    const char *const *keys, size_t nkeys, size_t *v0,
                    size_t *v1)
{
  size_t i = obj + 1, k;
  for(k = 0; k < nkeys; k++)
    v0[k] = v1[k] = NPOS;
  if(obj >= n || p[obj] != '{')
    return -1;
  i = skip_ws(p, n, i);
  if(i < n && p[i] == '}')
    return 0;
  for(;;) {
    size_t k0 = i, k1, a, b;
    if(i >= n || p[i] != '"')
      return -1;
    k1 = skip_string(p, n, i);
    if(k1 == NPOS)
      return -1;
    i = skip_ws(p, n, k1);
    if(i >= n || p[i] != ':')
      return -1;
    a = skip_ws(p, n, i + 1);
    b = skip_value(p, n, a);
    if(b == NPOS)
      return -1;
    for(k = 0; k < nkeys; k++)
      if(k1 - k0 - 2 == strlen(keys[k]) &&
         memcmp(p + k0 + 1, keys[k], k1 - k0 - 2) == 0) {
        v0[k] = a;
        v1[k] = b;
      }
    i = skip_ws(p, n, b);
    if(i < n && p[i] == '}')
      return 0;
    if(i >= n || p[i] != ',')
      return -1;
    i = skip_ws(p, n, i + 1);
  }
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int digits(const char *s, size_t n, int64_t *out)
{
  size_t i;
  int64_t v = 0;
  for(i = 0; i < n; i++) {
    if(s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* Parse the string value "YYYY-MM-DDTHH:MM:SSZ" (quotes included). */
static int parse_time(const char *p, size_t n, int64_t *ms)
{
  int64_t y, mo, d, h, mi, s;
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if(n != 22 || p[0] != '"' || p[21] != '"')
    return -1;
  p++;
  if(p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' ||
     p[16] != ':' || p[19] != 'Z')
    return -1;
  if(digits(p, 4, &y) || digits(p + 5, 2, &mo) || digits(p + 8, 2, &d) ||
     digits(p + 11, 2, &h) || digits(p + 14, 2, &mi) || digits(p + 17, 2, &s))
    return -1;
  if(mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
     s > 59)
    return -1;
  *ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + s * 1000;
  return 0;
}

static int parse_bool(const char *p, size_t n, int *out)
{
  if(n == 4 && memcmp(p, "true", 4) == 0)
    *out = 1;
  else if(n == 5 && memcmp(p, "false", 5) == 0)
    *out = 0;
  else
    return -1;
  return 0;
}

int esmc_tw_extract(const char *payload, size_t len,
                    struct esmc_tw_fields *out, char *problem,
                    size_t problem_size)
{
  /* The top-level keys, in TW-2 order, then the window's two. */
  static const char *const keys[6] = {
      "window",  "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
      "isWindowTerminatedEarly"};
  static const char *const wkeys[2] = {"start", "end"};
  const char *p = payload;
  size_t root, v0[6], v1[6], w0[2], w1[2];
  int k;

  memset(out, 0, sizeof(*out));
  if(problem && problem_size)
    problem[0] = '\0';
  if(!p)
    return 0;
  root = skip_ws(p, len, 0);
  if(root >= len || p[root] != '{' ||
     obj_scan(p, len, root, keys, 6, v0, v1) != 0 || v0[0] == NPOS)
    return 0;
#define BAD(...)                                                               \
  do {                                                                         \
    if(problem && problem_size)                                                \
      snprintf(problem, problem_size, __VA_ARGS__);                            \
    return -1;                                                                 \
  } while(0)
  for(k = 1; k < 6; k++)
    if(v0[k] == NPOS)
      BAD("the tumbling-window event has no \"%s\" (TW-2)", keys[k]);
  if(p[v0[0]] != '{')
    BAD("the tumbling-window field \"window\" is not an object (TW-2)");
  if(obj_scan(p, len, v0[0], wkeys, 2, w0, w1) != 0)
    BAD("the tumbling-window field \"window\" is not a well-formed object "
        "(TW-2)");
  for(k = 0; k < 2; k++) {
    if(w0[k] == NPOS)
      BAD("the tumbling-window field \"window\" has no \"%s\" (TW-2)",
          wkeys[k]);
    if(parse_time(p + w0[k], w1[k] - w0[k], k == 0 ? &out->start_ms
                                                   : &out->end_ms))
      BAD("window.%s is not a time of the form YYYY-MM-DDTHH:MM:SSZ: %.*s "
          "(TW-2)", wkeys[k], (int)(w1[k] - w0[k] > 40 ? 40 : w1[k] - w0[k]),
          p + w0[k]);
  }
  if(p[v0[1]] != '{')
    BAD("the tumbling-window field \"state\" is not an object (TW-2)");
  out->state = p + v0[1];
  out->state_len = v1[1] - v0[1];
  for(k = 2; k < 4; k++)
    if(p[v0[k]] != '"')
      BAD("the tumbling-window field \"%s\" is not a string (TW-2)", keys[k]);
  out->shard_id = p + v0[2] + 1;
  out->shard_id_len = v1[2] - v0[2] - 2;
  out->arn = p + v0[3] + 1;
  out->arn_len = v1[3] - v0[3] - 2;
  for(k = 4; k < 6; k++)
    if(parse_bool(p + v0[k], v1[k] - v0[k], k == 4 ? &out->final : &out->early))
      BAD("the tumbling-window field \"%s\" is not a boolean (TW-2)", keys[k]);
#undef BAD
  return 1;
}

int esmc_tw_event_texts(const struct esmc_world *w, const char *payload,
                        size_t len, uint32_t nrids, uint32_t *shard,
                        struct esmc_buf *problem, char **text2, char **text3)
{
  struct esmc_tw_fields f;
  char why[200];
  int64_t sidx = -1;
  uint32_t s;
  int arn_ok;
  struct esmc_buf b;
  int rc = esmc_tw_extract(payload, len, &f, why, sizeof(why));

  *text2 = NULL;
  *text3 = NULL;
  if(rc == 0)
    return 0;
  if(rc < 0) {
    if(problem->len == 0)
      esmc_buf_puts(problem, why);
    return problem->oom ? -1 : 0;
  }
  for(s = 0; s < w->nshards && sidx < 0; s++)
    if(strlen(w->shards[s].id) == f.shard_id_len &&
       memcmp(w->shards[s].id, f.shard_id, f.shard_id_len) == 0)
      sidx = s;
  arn_ok = strlen(w->stream_arn) == f.arn_len &&
           memcmp(w->stream_arn, f.arn, f.arn_len) == 0;
  if(nrids == 0 && sidx >= 0)
    *shard = (uint32_t)sidx;
  esmc_buf_init(&b);
  esmc_buf_printf(&b, "%" PRId64 " %" PRId64 " %d %d %" PRId64 " %d",
                  f.start_ms, f.end_ms, f.final, f.early, sidx, arn_ok);
  *text2 = b.oom ? NULL : esmc_strdup(b.data);
  esmc_buf_free(&b);
  *text3 = esmc_strndup(f.state, f.state_len);
  if(!*text2 || !*text3) {
    esmc_free(*text2);
    esmc_free(*text3);
    *text2 = NULL;
    *text3 = NULL;
    return -1;
  }
  return 0;
}

static int next_i64(const char **s, int64_t *out)
{
  char *end;
  long long v;
  if(**s == ' ')
    (*s)++;
  if(**s == '\0' || **s == ' ')
    return -1;
  v = strtoll(*s, &end, 10);
  if(end == *s)
    return -1;
  *s = end;
  *out = (int64_t)v;
  return 0;
}

int esmc_tw_info_parse(const char *text2, struct esmc_tw_info *out)
{
  const char *s = text2;
  int64_t v[6];
  int k;
  memset(out, 0, sizeof(*out));
  if(!s)
    return -1;
  for(k = 0; k < 6; k++)
    if(next_i64(&s, &v[k]))
      return -1;
  if(*s != '\0')
    return -1;
  out->start_ms = v[0];
  out->end_ms = v[1];
  out->final = v[2] != 0;
  out->early = v[3] != 0;
  out->shard = v[4];
  out->arn_ok = v[5] != 0;
  return 0;
}

int esmc_tw_response_state(const char *body, size_t n, size_t *off,
                           size_t *len)
{
  static const char *const key[1] = {"state"};
  size_t root, v0 = 0, v1 = 0, end;
  if(!body)
    return 0;
  root = skip_ws(body, n, 0);
  if(root >= n || body[root] != '{')
    return 0;
  end = skip_value(body, n, root);
  if(end == NPOS || skip_ws(body, n, end) != n)
    return 0;
  if(obj_scan(body, n, root, key, 1, &v0, &v1) != 0 || v0 == NPOS ||
     body[v0] != '{')
    return 0;
  if(off)
    *off = v0;
  if(len)
    *len = v1 - v0;
  return 1;
}

int esmc_tw_json_equal(const char *a, size_t alen, const char *b, size_t blen)
{
  size_t i = 0, j = 0;
  int in_str = 0;
  for(;;) {
    if(!in_str) {
      i = skip_ws(a, alen, i);
      j = skip_ws(b, blen, j);
    }
    if(i >= alen || j >= blen)
      return i >= alen && j >= blen;
    if(a[i] != b[j])
      return 0;
    if(in_str && a[i] == '\\') {
      if(i + 1 >= alen || j + 1 >= blen || a[i + 1] != b[j + 1])
        return 0;
      i += 2;
      j += 2;
      continue;
    }
    if(a[i] == '"')
      in_str = !in_str;
    i++;
    j++;
  }
}

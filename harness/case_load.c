/*
 * case_load.c: the case-file loader (format: spec/case-format.md).
 *
 * The JSON text is parsed once into tokens (json.c); then each object's keys
 * are collected against a fixed key table (unknown keys are errors) and the
 * values are read in a fixed order, so that what later sections refer to
 * (the source, the shard count, the record ids) is known when they are read.
 * The scenario is filled in place and its counts always cover exactly what
 * has been allocated, so esmc_scenario_free() cleans up after any error.
 */
#include "case_load.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "util.h"
#include "world.h"

/* Every rule id of the specification. */
static const char *const rule_ids[] = {
#define ESMC_RULE(id, level, summary) id,
#include "rules.def"
#undef ESMC_RULE
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define PATH_MAX_LEN 200

struct id_ent {
  const char *id;
  size_t idx;
};

struct loader {
  const struct esmc_json_doc *d;
  struct esmc_scenario *s;
  struct esmc_load_error *err;
  int *rec_tok;           /* per record: the token its errors point at */
  size_t rec_cap;
  struct id_ent *ids;     /* record ids, sorted; NULL until all are read */
  size_t total_data;
  const char *expect_id;  /* the file's base name, or NULL */
  int32_t max_shards;     /* shards the stream can have, counting those the
                             reshard events may create */
};

/* ------------------------------------------------------------------------ */
/* Errors.                                                                   */

static int fail_at(struct loader *ld, int line, int column, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

static int fail_at(struct loader *ld, int line, int column, const char *fmt,
                   ...)
{
  va_list ap;
  ld->err->line = line;
  ld->err->column = column;
  va_start(ap, fmt);
  vsnprintf(ld->err->message, sizeof(ld->err->message), fmt, ap);
  va_end(ap);
  return -1;
}

/* An error at the start of token tok (tok < 0: no position). */
static int fail_tok(struct loader *ld, int tok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_tok(struct loader *ld, int tok, const char *fmt, ...)
{
  va_list ap;
  int line = 0, column = 0;
  if(tok >= 0 && tok < ld->d->count)
    esmc_json_position(ld->d->text, ld->d->len,
                       (size_t)ld->d->tok[tok].start, &line, &column);
  ld->err->line = line;
  ld->err->column = column;
  va_start(ap, fmt);
  vsnprintf(ld->err->message, sizeof(ld->err->message), fmt, ap);
  va_end(ap);
  return -1;
}

static int fail_oom(struct loader *ld)
{
  return fail_at(ld, 0, 0, "out of memory");
}

/* A json getter failed: prefix its message with the key path. */
static int fail_json(struct loader *ld, const char *path,
                     const struct esmc_json_error *je)
{
  if(strcmp(je->message, "out of memory") == 0)
    return fail_oom(ld);
  if(path[0])
    return fail_at(ld, je->line, je->column, "%s: %s", path, je->message);
  return fail_at(ld, je->line, je->column, "%s", je->message);
}

/* Append s to out (of size n, holding *used bytes), truncating. */
static void path_put(char *out, size_t n, size_t *used, const char *s)
{
  size_t k = strlen(s);
  if(*used + 1 >= n)
    return;
  if(k > n - 1 - *used)
    k = n - 1 - *used;
  memcpy(out + *used, s, k);
  *used += k;
  out[*used] = '\0';
}

/* out = path + "." + key (or just key at the top level). */
static void subpath(char *out, size_t n, const char *path, const char *key)
{
  size_t used = 0;
  char tmp[PATH_MAX_LEN];
  path_put(tmp, sizeof(tmp), &used, path); /* path may alias out */
  if(used)
    path_put(tmp, sizeof(tmp), &used, ".");
  path_put(tmp, sizeof(tmp), &used, key);
  used = 0;
  out[0] = '\0';
  path_put(out, n, &used, tmp);
}

/* out = path + "[i]". */
static void indexpath(char *out, size_t n, const char *path, size_t i)
{
  char num[32];
  size_t used = 0;
  char tmp[PATH_MAX_LEN];
  snprintf(num, sizeof(num), "[%zu]", i);
  tmp[0] = '\0';
  path_put(tmp, sizeof(tmp), &used, path);
  path_put(tmp, sizeof(tmp), &used, num);
  used = 0;
  out[0] = '\0';
  path_put(out, n, &used, tmp);
}

/* ------------------------------------------------------------------------ */
/* Typed reads.                                                              */

static int expect_type(struct loader *ld, int tok, const char *path,
                       enum esmc_json_type t)
{
  struct esmc_json_error je;
  if(esmc_json_expect(ld->d, tok, t, &je) < 0)
    return fail_json(ld, path, &je);
  return 0;
}

static int get_string(struct loader *ld, int tok, const char *path,
                      char **out, size_t *len)
{
  struct esmc_json_error je;
  if(esmc_json_string(ld->d, tok, out, len, &je) < 0)
    return fail_json(ld, path, &je);
  return 0;
}

/* A string that must not be empty. */
static int get_name(struct loader *ld, int tok, const char *path, char **out)
{
  if(get_string(ld, tok, path, out, NULL) < 0)
    return -1;
  if((*out)[0] == '\0')
    return fail_tok(ld, tok, "%s: must not be empty", path);
  return 0;
}

static int get_i64(struct loader *ld, int tok, const char *path, int64_t lo,
                   int64_t hi, int64_t *out)
{
  struct esmc_json_error je;
  int64_t v;
  if(esmc_json_int64(ld->d, tok, &v, &je) < 0)
    return fail_json(ld, path, &je);
  if(v < lo || v > hi) {
    if(hi == INT64_MAX)
      return fail_tok(ld, tok, "%s: must be at least %" PRId64
                      ", found %" PRId64, path, lo, v);
    return fail_tok(ld, tok, "%s: must be between %" PRId64 " and %" PRId64
                    ", found %" PRId64, path, lo, hi, v);
  }
  *out = v;
  return 0;
}

/* A time offset in milliseconds: 0 .. ESMC_CASE_MAX_TIME_MS. */
static int get_time(struct loader *ld, int tok, const char *path, int64_t lo,
                    int64_t *out)
{
  return get_i64(ld, tok, path, lo, ESMC_CASE_MAX_TIME_MS, out);
}

static int get_i32_range(struct loader *ld, int tok, const char *path,
                         int32_t lo, int32_t hi, int32_t *out)
{
  int64_t v;
  if(get_i64(ld, tok, path, lo, hi, &v) < 0)
    return -1;
  *out = (int32_t)v;
  return 0;
}

/* A configuration integer: stored as given, but it must fit an int32 and not
 * be ESMC_UNSET (INT32_MIN). */
static int get_cfg_i32(struct loader *ld, int tok, const char *path,
                       int32_t *out)
{
  struct esmc_json_error je;
  int64_t v;
  if(esmc_json_int64(ld->d, tok, &v, &je) < 0)
    return fail_json(ld, path, &je);
  if(v <= INT32_MIN || v > INT32_MAX)
    return fail_tok(ld, tok, "%s: %" PRId64 " does not fit in a 32-bit "
                    "integer", path, v);
  *out = (int32_t)v;
  return 0;
}

static int get_bool(struct loader *ld, int tok, const char *path, int *out)
{
  struct esmc_json_error je;
  if(esmc_json_bool(ld->d, tok, out, &je) < 0)
    return fail_json(ld, path, &je);
  return 0;
}

static int get_bool32(struct loader *ld, int tok, const char *path,
                      int32_t *out)
{
  int b;
  if(get_bool(ld, tok, path, &b) < 0)
    return -1;
  *out = b;
  return 0;
}

static void join_names(char *buf, size_t size, const char *const *names,
                       size_t n)
{
  size_t i, used = 0;
  buf[0] = '\0';
  for(i = 0; i < n && used < size; i++) {
    int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                     names[i]);
    if(w < 0)
      break;
    used += (size_t)w;
  }
}

/* A string that must be one of names[]; *idx gets its index. */
static int get_enum(struct loader *ld, int tok, const char *path,
                    const char *const *names, size_t n, size_t *idx)
{
  size_t i;
  char list[300];
  char *got = NULL;
  if(expect_type(ld, tok, path, ESMC_JSON_STRING) < 0)
    return -1;
  for(i = 0; i < n; i++) {
    if(esmc_json_string_eq(ld->d, tok, names[i])) {
      *idx = i;
      return 0;
    }
  }
  join_names(list, sizeof(list), names, n);
  if(get_string(ld, tok, path, &got, NULL) < 0)
    return -1;
  fail_tok(ld, tok, "%s: expected one of %s, found '%.60s'", path, list, got);
  esmc_free(got);
  return -1;
}

typedef int (*str_check_fn)(struct loader *ld, int tok, const char *path,
                            const char *val);

/* An array of strings, each passed to check (may be NULL). */
static int get_strv(struct loader *ld, int tok, const char *path, char ***out,
                    size_t *count, str_check_fn check, int nonempty)
{
  struct esmc_json_iter it;
  int k, v;
  size_t n;
  if(expect_type(ld, tok, path, ESMC_JSON_ARRAY) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  if(nonempty && n == 0)
    return fail_tok(ld, tok, "%s: must not be empty", path);
  *out = esmc_calloc(n ? n : 1, sizeof(char *));
  if(!*out)
    return fail_oom(ld);
  *count = 0;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN];
    size_t i = *count;
    indexpath(ep, sizeof(ep), path, i);
    if(get_string(ld, v, ep, &(*out)[i], NULL) < 0)
      return -1;
    (*count)++;
    if(check && check(ld, v, ep, (*out)[i]) < 0)
      return -1;
  }
  return 0;
}

/* Collect the members of the object at tok against names[0, n): vals[i] is
 * the value token of names[i], or -1. Unknown keys are errors. */
static int take_object(struct loader *ld, int tok, const char *path,
                       const char *const *names, size_t n, int *vals)
{
  struct esmc_json_iter it;
  int k, v;
  size_t i;
  for(i = 0; i < n; i++)
    vals[i] = -1;
  if(esmc_json_type_of(ld->d, tok) != ESMC_JSON_OBJECT) {
    const char *found = esmc_json_type_name(esmc_json_type_of(ld->d, tok));
    if(!path[0])
      return fail_tok(ld, tok, "the case must be a JSON object, found %s",
                      found);
    return fail_tok(ld, tok, "%s: expected an object, found %s", path, found);
  }
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char list[400];
    char *key = NULL;
    for(i = 0; i < n; i++)
      if(esmc_json_string_eq(ld->d, k, names[i]))
        break;
    if(i < n) {
      vals[i] = v;
      continue;
    }
    join_names(list, sizeof(list), names, n);
    if(get_string(ld, k, path, &key, NULL) < 0)
      return -1;
    fail_tok(ld, k, "unknown key '%.60s' in %s; expected one of: %s", key,
             path[0] ? path : "the case", list);
    esmc_free(key);
    return -1;
  }
  return 0;
}

static int require(struct loader *ld, int obj, const char *path,
                   const char *name, int val)
{
  if(val >= 0)
    return 0;
  return fail_tok(ld, obj, "missing required key '%s' in %s", name,
                  path[0] ? path : "the case");
}

/* The key token of a member whose value token is v. */
static int key_of(int v) { return v - 1; }

/* ------------------------------------------------------------------------ */
/* Identity.                                                                 */

static int check_case_id(struct loader *ld, int tok, const char *id)
{
  size_t i, n = strlen(id);
  int ok = n >= 1 && n <= 100;
  for(i = 0; ok && i < n; i++) {
    char c = id[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if(!alnum && (i == 0 || (c != '.' && c != '-')))
      ok = 0;
  }
  if(!ok)
    return fail_tok(ld, tok, "id: must match [a-z0-9][a-z0-9.-]* and be at "
                    "most 100 characters, found '%.110s'", id);
  if(ld->expect_id && strcmp(id, ld->expect_id) != 0)
    return fail_tok(ld, tok, "id: '%.110s' does not match the file name "
                    "(expected '%.110s')", id, ld->expect_id);
  return 0;
}

static int check_rule_id(struct loader *ld, int tok, const char *path,
                         const char *val)
{
  size_t i;
  for(i = 0; i < COUNT_OF(rule_ids); i++)
    if(strcmp(val, rule_ids[i]) == 0)
      return 0;
  return fail_tok(ld, tok, "%s: unknown rule id '%.60s' (not in "
                  "spec/rules.def)", path, val);
}

static int check_tag(struct loader *ld, int tok, const char *path,
                     const char *val)
{
  size_t i, n = strlen(val);
  for(i = 0; i < n; i++) {
    char c = val[i];
    if(!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      break;
  }
  if(n == 0 || i < n)
    return fail_tok(ld, tok, "%s: a tag must match [a-z0-9-]+, found "
                    "'%.60s'", path, val);
  return 0;
}

static int read_requires(struct loader *ld, int tok)
{
  struct esmc_json_iter it;
  int k, v;
  size_t i = 0;
  if(expect_type(ld, tok, "requires", ESMC_JSON_ARRAY) < 0)
    return -1;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN], *name = NULL;
    uint64_t bit;
    indexpath(ep, sizeof(ep), "requires", i++);
    if(get_string(ld, v, ep, &name, NULL) < 0)
      return -1;
    bit = esmc_cap_from_name(name);
    if(!bit) {
      char list[400];
      const char *names[64];
      size_t c = 0;
      uint64_t b;
      for(b = 1; b && c < COUNT_OF(names); b <<= 1)
        if(esmc_cap_name(b))
          names[c++] = esmc_cap_name(b);
      join_names(list, sizeof(list), names, c);
      fail_tok(ld, v, "%s: unknown capability '%.60s'; expected one of: %s",
               ep, name, list);
      esmc_free(name);
      return -1;
    }
    esmc_free(name);
    ld->s->requires |= bit;
  }
  return 0;
}

/* "YYYY-MM-DDTHH:MM:SSZ" to milliseconds since the epoch. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int read_start(struct loader *ld, int tok)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  char *s = NULL;
  size_t n, i;
  int y, mo, d, h, mi, se, leap, ok = 1;
  if(get_string(ld, tok, "start", &s, &n) < 0)
    return -1;
  if(n != sizeof(shape) - 1)
    ok = 0;
  for(i = 0; ok && i < n; i++) {
    if(shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
      ok = 0;
  }
  if(!ok) {
    fail_tok(ld, tok, "start: expected a time like 2024-01-01T00:00:00Z, "
             "found '%.60s'", s);
    esmc_free(s);
    return -1;
  }
#define DIG(k) (s[k] - '0')
  y = DIG(0) * 1000 + DIG(1) * 100 + DIG(2) * 10 + DIG(3);
  mo = DIG(5) * 10 + DIG(6);
  d = DIG(8) * 10 + DIG(9);
  h = DIG(11) * 10 + DIG(12);
  mi = DIG(14) * 10 + DIG(15);
  se = DIG(17) * 10 + DIG(18);
#undef DIG
  leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if(y < 1970 || mo < 1 || mo > 12 || d < 1 ||
     d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || se > 59) {
    fail_tok(ld, tok, "start: '%s' is not a valid time from 1970 on", s);
    esmc_free(s);
    return -1;
  }
  esmc_free(s);
  ld->s->start_epoch_ms =
      ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * INT64_C(60000) +
      se * INT64_C(1000);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The stream and the mapping.                                               */

enum { SK_NAME, SK_SHARDS, SK_RETENTION, SK_VIEW, SK_COUNT };
static const char *const stream_keys[] = {"name", "shards", "retention_hours",
                                          "stream_view_type"};
static const char *const view_types[] = {"KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE",
                                         "NEW_AND_OLD_IMAGES"};

static int read_stream(struct loader *ld, int tok)
{
  int v[SK_COUNT];
  struct esmc_scenario *s = ld->s;
  if(take_object(ld, tok, "stream", stream_keys, SK_COUNT, v) < 0)
    return -1;
  if(v[SK_NAME] >= 0) {
    esmc_free(s->stream_name);
    s->stream_name = NULL;
    if(get_name(ld, v[SK_NAME], "stream.name", &s->stream_name) < 0)
      return -1;
  }
  if(v[SK_SHARDS] >= 0 &&
     get_i32_range(ld, v[SK_SHARDS], "stream.shards", 1, 1024,
                   &s->shard_count) < 0)
    return -1;
  if(v[SK_RETENTION] >= 0) {
    int64_t h;
    if(get_i64(ld, v[SK_RETENTION], "stream.retention_hours", 1, 8760, &h) < 0)
      return -1;
    s->retention_ms = h * 3600 * 1000;
  }
  if(v[SK_VIEW] >= 0) {
    size_t idx;
    char *t;
    if(get_enum(ld, v[SK_VIEW], "stream.stream_view_type", view_types,
                COUNT_OF(view_types), &idx) < 0)
      return -1;
    t = esmc_strdup(view_types[idx]);
    if(!t)
      return fail_oom(ld);
    esmc_free(s->stream_view_type);
    s->stream_view_type = t;
  }
  return 0;
}

enum {
  MK_CREATE_AT, /* mapping only: must stay first */
  MK_ENABLED,
  MK_BATCH_SIZE,
  MK_WINDOW,
  MK_START_POS,
  MK_START_TS,
  MK_PARALLEL,
  MK_RETRY,
  MK_AGE,
  MK_BISECT,
  MK_TUMBLING,
  MK_FRT,
  MK_ON_FAILURE,
  MK_FILTERS,
  MK_MAX_CONCURRENCY, /* ABI v2, SQS */
  MK_SCALING_PROFILE,
  MK_COUNT
};
static const char *const mapping_keys[] = {
    "create_at_ms",
    "enabled",
    "batch_size",
    "maximum_batching_window_s",
    "starting_position",
    "starting_position_timestamp_ms",
    "parallelization_factor",
    "maximum_retry_attempts",
    "maximum_record_age_s",
    "bisect_batch_on_function_error",
    "tumbling_window_s",
    "function_response_types",
    "on_failure",
    "filters",
    "maximum_concurrency",
    "scaling_profile"};
static const char *const scaling_profiles[] = {"current", "legacy"};
static const char *const start_positions[] = {"TRIM_HORIZON", "LATEST",
                                              "AT_TIMESTAMP"};

static int read_filters(struct loader *ld, int tok, const char *path,
                        struct esmc_config_spec *c)
{
  struct esmc_json_iter it;
  int k, v;
  size_t n;
  if(expect_type(ld, tok, path, ESMC_JSON_ARRAY) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  c->filter_patterns = esmc_calloc(n ? n : 1, sizeof(char *));
  if(!c->filter_patterns)
    return fail_oom(ld);
  c->filter_criteria_given = 1;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN];
    size_t i = c->filter_count;
    enum esmc_json_type t = esmc_json_type_of(ld->d, v);
    indexpath(ep, sizeof(ep), path, i);
    if(t == ESMC_JSON_OBJECT) {
      c->filter_patterns[i] = esmc_json_raw_dup(ld->d, v);
      if(!c->filter_patterns[i])
        return fail_oom(ld);
    }
    else if(t == ESMC_JSON_STRING) {
      if(get_string(ld, v, ep, &c->filter_patterns[i], NULL) < 0)
        return -1;
    }
    else {
      return fail_tok(ld, v, "%s: expected an object or a string, found %s",
                      ep, esmc_json_type_name(t));
    }
    c->filter_count++;
  }
  return 0;
}

static int read_frt(struct loader *ld, int tok, const char *path,
                    struct esmc_config_spec *c)
{
  struct esmc_json_iter it;
  int k, v;
  size_t i = 0;
  if(expect_type(ld, tok, path, ESMC_JSON_ARRAY) < 0)
    return -1;
  c->function_response_types_given = 1;
  c->function_response_types = 0;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN];
    indexpath(ep, sizeof(ep), path, i++);
    if(expect_type(ld, v, ep, ESMC_JSON_STRING) < 0)
      return -1;
    if(esmc_json_string_eq(ld->d, v, "ReportBatchItemFailures"))
      c->function_response_types |= ESMC_FRT_REPORT_BATCH_ITEM_FAILURES;
    else
      c->function_response_types |= UINT32_C(1) << 31;
  }
  return 0;
}

/* The members of a mapping object, already collected into v[MK_COUNT]
 * (v[MK_CREATE_AT] < 0 for an update): into c, and create_at_ms into
 * *create_at. */
static int read_config_members(struct loader *ld, const int *v,
                               const char *path, struct esmc_config_spec *c,
                               int64_t *create_at)
{
  char p[PATH_MAX_LEN];
#define PATH(key) (subpath(p, sizeof(p), path, mapping_keys[key]), p)
  if(v[MK_CREATE_AT] >= 0 &&
     get_time(ld, v[MK_CREATE_AT], PATH(MK_CREATE_AT), 0, create_at) < 0)
    return -1;
  if(v[MK_ENABLED] >= 0 &&
     get_bool32(ld, v[MK_ENABLED], PATH(MK_ENABLED), &c->enabled) < 0)
    return -1;
  if(v[MK_BATCH_SIZE] >= 0 &&
     get_cfg_i32(ld, v[MK_BATCH_SIZE], PATH(MK_BATCH_SIZE), &c->batch_size) < 0)
    return -1;
  if(v[MK_WINDOW] >= 0 &&
     get_cfg_i32(ld, v[MK_WINDOW], PATH(MK_WINDOW),
                 &c->maximum_batching_window_s) < 0)
    return -1;
  if(v[MK_START_POS] >= 0) {
    size_t idx;
    if(get_enum(ld, v[MK_START_POS], PATH(MK_START_POS), start_positions,
                COUNT_OF(start_positions), &idx) < 0)
      return -1;
    c->starting_position = (enum esmc_starting_position)(idx + 1);
  }
  if(v[MK_START_TS] >= 0) {
    if(get_i64(ld, v[MK_START_TS], PATH(MK_START_TS), -ESMC_CASE_MAX_TIME_MS,
               ESMC_CASE_MAX_TIME_MS, &c->starting_position_timestamp_ms) < 0)
      return -1;
    c->starting_position_timestamp_given = 1;
  }
  if(v[MK_PARALLEL] >= 0 &&
     get_cfg_i32(ld, v[MK_PARALLEL], PATH(MK_PARALLEL),
                 &c->parallelization_factor) < 0)
    return -1;
  if(v[MK_RETRY] >= 0 &&
     get_cfg_i32(ld, v[MK_RETRY], PATH(MK_RETRY),
                 &c->maximum_retry_attempts) < 0)
    return -1;
  if(v[MK_AGE] >= 0 &&
     get_cfg_i32(ld, v[MK_AGE], PATH(MK_AGE), &c->maximum_record_age_s) < 0)
    return -1;
  if(v[MK_BISECT] >= 0 &&
     get_bool32(ld, v[MK_BISECT], PATH(MK_BISECT),
                &c->bisect_batch_on_function_error) < 0)
    return -1;
  if(v[MK_TUMBLING] >= 0 &&
     get_cfg_i32(ld, v[MK_TUMBLING], PATH(MK_TUMBLING),
                 &c->tumbling_window_s) < 0)
    return -1;
  if(v[MK_FRT] >= 0 && read_frt(ld, v[MK_FRT], PATH(MK_FRT), c) < 0)
    return -1;
  if(v[MK_ON_FAILURE] >= 0 &&
     get_string(ld, v[MK_ON_FAILURE], PATH(MK_ON_FAILURE),
                &c->on_failure_destination, NULL) < 0)
    return -1;
  if(v[MK_FILTERS] >= 0 &&
     read_filters(ld, v[MK_FILTERS], PATH(MK_FILTERS), c) < 0)
    return -1;
  if(v[MK_MAX_CONCURRENCY] >= 0 &&
     get_cfg_i32(ld, v[MK_MAX_CONCURRENCY], PATH(MK_MAX_CONCURRENCY),
                 &c->maximum_concurrency) < 0)
    return -1;
  if(v[MK_SCALING_PROFILE] >= 0) {
    size_t idx;
    if(get_enum(ld, v[MK_SCALING_PROFILE], PATH(MK_SCALING_PROFILE),
                scaling_profiles, COUNT_OF(scaling_profiles), &idx) < 0)
      return -1;
    c->scaling_profile = (int32_t)idx;
  }
#undef PATH
  return 0;
}

/* The mapping object (is_update = 0) or an event's update (1). */
static int read_config(struct loader *ld, int tok, const char *path,
                       struct esmc_config_spec *c, int is_update)
{
  int v[MK_COUNT];
  int base = is_update ? 1 : 0;
  if(take_object(ld, tok, path, mapping_keys + base, MK_COUNT - (size_t)base,
                 v + base) < 0)
    return -1;
  if(is_update)
    v[MK_CREATE_AT] = -1;
  return read_config_members(ld, v, path, c, &ld->s->create_at_ms);
}

/* ------------------------------------------------------------------------ */
/* Records.                                                                  */

static struct esmc_case_record *add_record(struct loader *ld, int tok)
{
  struct esmc_scenario *s = ld->s;
  struct esmc_case_record *r;
  if(s->record_count >= ESMC_CASE_MAX_RECORDS) {
    fail_tok(ld, tok, "too many records (the limit is %d)",
             ESMC_CASE_MAX_RECORDS);
    return NULL;
  }
  if(s->record_count == ld->rec_cap) {
    size_t cap = ld->rec_cap ? ld->rec_cap * 2 : 16;
    struct esmc_case_record *nr;
    int *nt;
    nr = esmc_realloc(s->records, cap * sizeof(*nr));
    if(!nr) {
      fail_oom(ld);
      return NULL;
    }
    s->records = nr;
    nt = esmc_realloc(ld->rec_tok, cap * sizeof(*nt));
    if(!nt) {
      fail_oom(ld);
      return NULL;
    }
    ld->rec_tok = nt;
    ld->rec_cap = cap;
  }
  r = &s->records[s->record_count];
  memset(r, 0, sizeof(*r));
  r->shard = -1;
  ld->rec_tok[s->record_count] = tok;
  s->record_count++;
  return r;
}

static int add_data(struct loader *ld, int tok, const char *path, size_t n)
{
  if(n > ESMC_CASE_MAX_DATA)
    return fail_tok(ld, tok, "%s: %zu bytes of data (the limit is %d per "
                    "record)", path, n, ESMC_CASE_MAX_DATA);
  if(n > (size_t)ESMC_CASE_MAX_TOTAL_DATA - ld->total_data)
    return fail_tok(ld, tok, "%s: the records' data exceeds %d bytes in all",
                    path, ESMC_CASE_MAX_TOTAL_DATA);
  ld->total_data += n;
  return 0;
}

static uint8_t *filler(size_t n)
{
  uint8_t *p = esmc_malloc(n ? n : 1);
  size_t i;
  if(!p)
    return NULL;
  for(i = 0; i < n; i++)
    p[i] = (uint8_t)('a' + i % 26);
  return p;
}

static int check_shard(struct loader *ld, int tok, const char *path,
                       int32_t *out)
{
  int64_t v;
  if(get_i64(ld, tok, path, INT64_MIN, INT64_MAX, &v) < 0)
    return -1;
  if((v < 0 || v >= ld->s->shard_count) && ld->max_shards <= ld->s->shard_count)
    return fail_tok(ld, tok, "%s: must be a shard index from 0 to %d (the "
                    "stream has %d shard%s), found %" PRId64, path,
                    (int)ld->s->shard_count - 1, (int)ld->s->shard_count,
                    ld->s->shard_count == 1 ? "" : "s", v);
  /* With reshard events, whether the shard is open at the record's append
   * time is checked once the events are read (check_plan). */
  if(v < 0 || v >= ld->max_shards)
    return fail_tok(ld, tok, "%s: must be a shard index from 0 to %d (the "
                    "stream has %d shard%s, at most %d after resharding), "
                    "found %" PRId64, path, (int)ld->max_shards - 1,
                    (int)ld->s->shard_count, ld->s->shard_count == 1 ? "" : "s",
                    (int)ld->max_shards, v);
  *out = (int32_t)v;
  return 0;
}

enum {
  RK_ID,
  RK_AT,
  RK_SHARD,
  RK_PKEY,
  RK_DATA,
  RK_DATA_B64,
  RK_DATA_SIZE,
  RK_EVENT,
  RK_KEYS,
  RK_NEW,
  RK_OLD,
  RK_BODY, /* queues (ABI v2) */
  RK_GROUP,
  RK_DEDUP,
  RK_ATTRS,
  RK_COUNT
};
static const char *const record_keys[] = {
    "id",          "at_ms",     "shard", "partition_key",
    "data",        "data_base64", "data_size", "event_name",
    "keys",        "new_image", "old_image", "body",
    "group",       "deduplication_id", "attributes"};
static const char *const ddb_events[] = {"INSERT", "MODIFY", "REMOVE"};

/* ------------------------------------------------------------------------ */
/* Queues (ABI v2): the queue object and its messages.                       */

static int is_queue(const struct esmc_scenario *s)
{
  return s->source == ESMC_SOURCE_SQS || s->source == ESMC_SOURCE_SQS_FIFO;
}

enum {
  QK_NAME,
  QK_VISIBILITY,
  QK_RETENTION,
  QK_DELAY,
  QK_WAIT,
  QK_MAX_RECEIVE,
  QK_CBD,
  QK_DUPLICATE,
  QK_COUNT
};
static const char *const queue_keys[] = {
    "name",          "visibility_timeout_s", "message_retention_s",
    "delay_s",       "receive_wait_time_s",  "max_receive_count",
    "content_based_deduplication", "duplicate_every"};

/* The queue object; ranges per SQS-Q-1..3 and SQS-DLQ-3. */
static int read_queue(struct loader *ld, int tok)
{
  int v[QK_COUNT];
  struct esmc_queue_spec *q = &ld->s->queue;
  int fifo = ld->s->source == ESMC_SOURCE_SQS_FIFO;
  if(take_object(ld, tok, "queue", queue_keys, QK_COUNT, v) < 0)
    return -1;
  if(v[QK_NAME] >= 0) {
    size_t n, k;
    esmc_free(q->name);
    q->name = NULL;
    if(get_name(ld, v[QK_NAME], "queue.name", &q->name) < 0)
      return -1;
    n = strlen(q->name);
    for(k = 0; k < n; k++) {
      char c = q->name[k];
      if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           (c == '.' && fifo && k + 5 == n)))
        return fail_tok(ld, v[QK_NAME], "queue.name: only letters, digits, "
                        "'-' and '_' are allowed (and a final \".fifo\" for "
                        "a FIFO queue)");
    }
    if(n > 80)
      return fail_tok(ld, v[QK_NAME], "queue.name: at most 80 characters");
    if(fifo != (n > 5 && strcmp(q->name + n - 5, ".fifo") == 0))
      return fail_tok(ld, v[QK_NAME], fifo ? "queue.name: a FIFO queue's "
                      "name must end in \".fifo\"" : "queue.name: only a "
                      "FIFO queue's name ends in \".fifo\"");
  }
  if(v[QK_VISIBILITY] >= 0 &&
     get_i32_range(ld, v[QK_VISIBILITY], "queue.visibility_timeout_s", 0,
                   43200, &q->visibility_timeout_s) < 0)
    return -1;
  if(v[QK_RETENTION] >= 0 &&
     get_i32_range(ld, v[QK_RETENTION], "queue.message_retention_s", 60,
                   1209600, &q->message_retention_s) < 0)
    return -1;
  if(v[QK_DELAY] >= 0 &&
     get_i32_range(ld, v[QK_DELAY], "queue.delay_s", 0, 900, &q->delay_s) < 0)
    return -1;
  if(v[QK_WAIT] >= 0 &&
     get_i32_range(ld, v[QK_WAIT], "queue.receive_wait_time_s", 0, 20,
                   &q->receive_wait_time_s) < 0)
    return -1;
  if(v[QK_MAX_RECEIVE] >= 0 &&
     get_i32_range(ld, v[QK_MAX_RECEIVE], "queue.max_receive_count", 0, 1000,
                   &q->max_receive_count) < 0)
    return -1;
  if(v[QK_CBD] >= 0) {
    if(!fifo)
      return fail_tok(ld, key_of(v[QK_CBD]), "queue.content_based_"
                      "deduplication: only allowed for an sqs_fifo source");
    if(get_bool32(ld, v[QK_CBD], "queue.content_based_deduplication",
                  &q->content_based_deduplication) < 0)
      return -1;
  }
  if(v[QK_DUPLICATE] >= 0) {
    if(fifo)
      return fail_tok(ld, key_of(v[QK_DUPLICATE]), "queue.duplicate_every: "
                      "only allowed for an sqs source (FIFO queues deliver "
                      "exactly once)");
    if(get_i32_range(ld, v[QK_DUPLICATE], "queue.duplicate_every", 0,
                     INT32_MAX, &q->duplicate_every) < 0)
      return -1;
  }
  return 0;
}

/* The value token of key name in the object at obj, or -1. */
static int obj_member(struct loader *ld, int obj, const char *name)
{
  struct esmc_json_iter it;
  int k, v;
  if(esmc_json_type_of(ld->d, obj) != ESMC_JSON_OBJECT)
    return -1;
  esmc_json_iter_init(&it, ld->d, obj);
  while(esmc_json_iter_next(&it, &k, &v))
    if(esmc_json_string_eq(ld->d, k, name))
      return v;
  return -1;
}

static int cmp_attr_name(const void *x, const void *y)
{
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* "attributes": {name: string}, String message attributes (at most 10). */
static int read_attributes(struct loader *ld, int tok, const char *path,
                           struct esmc_case_record *r)
{
  struct esmc_json_iter it;
  int k, v;
  size_t n, i, j;
  if(expect_type(ld, tok, path, ESMC_JSON_OBJECT) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  if(n > 10)
    return fail_tok(ld, tok, "%s: at most 10 message attributes, found %zu",
                    path, n);
  r->attr_names = esmc_calloc(n ? n : 1, sizeof(char *));
  r->attr_values = esmc_calloc(n ? n : 1, sizeof(char *));
  if(!r->attr_names || !r->attr_values)
    return fail_oom(ld);
  r->attr_count = n; /* every slot is freed, filled or not */
  i = 0;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN];
    if(get_name(ld, k, path, &r->attr_names[i]) < 0)
      return -1;
    subpath(ep, sizeof(ep), path, r->attr_names[i]);
    if(get_name(ld, v, ep, &r->attr_values[i]) < 0)
      return -1;
    i++;
  }
  /* Sort names and values together: sort pairs by name. */
  for(i = 1; i < n; i++)
    for(j = i; j > 0 && cmp_attr_name(&r->attr_names[j - 1],
                                      &r->attr_names[j]) > 0; j--) {
      char *t = r->attr_names[j];
      r->attr_names[j] = r->attr_names[j - 1];
      r->attr_names[j - 1] = t;
      t = r->attr_values[j];
      r->attr_values[j] = r->attr_values[j - 1];
      r->attr_values[j - 1] = t;
    }
  for(i = 1; i < n; i++)
    if(strcmp(r->attr_names[i], r->attr_names[i - 1]) == 0)
      return fail_tok(ld, tok, "%s: duplicate attribute '%.60s'", path,
                      r->attr_names[i]);
  return 0;
}

/* A FIFO MessageGroupId or MessageDeduplicationId: 1..128 characters. */
static int get_fifo_id(struct loader *ld, int tok, const char *path,
                       char **out)
{
  if(get_name(ld, tok, path, out) < 0)
    return -1;
  if(strlen(*out) > 128)
    return fail_tok(ld, tok, "%s: at most 128 characters", path);
  return 0;
}

/* One message of a queue case (keys already collected into v). */
static int read_message(struct loader *ld, int tok, const char *path,
                        const int *v)
{
  struct esmc_case_record *r;
  char p[PATH_MAX_LEN];
  int i, fifo = ld->s->source == ESMC_SOURCE_SQS_FIFO;
  for(i = 0; i < RK_COUNT; i++) {
    if(v[i] < 0)
      continue;
    subpath(p, sizeof(p), path, record_keys[i]);
    if(i != RK_ID && i != RK_AT && i < RK_BODY)
      return fail_tok(ld, key_of(v[i]), "%s: not allowed for a queue source "
                      "(a message takes id, at_ms, body, group, "
                      "deduplication_id and attributes)", p);
    if(!fifo && (i == RK_GROUP || i == RK_DEDUP))
      return fail_tok(ld, key_of(v[i]), "%s: only allowed for an sqs_fifo "
                      "source", p);
  }
  if(fifo && require(ld, tok, path, "group", v[RK_GROUP]) < 0)
    return -1;
  if(fifo && v[RK_DEDUP] < 0 && !ld->s->queue.content_based_deduplication)
    return fail_tok(ld, tok, "%s: a FIFO queue without "
                    "content_based_deduplication needs a deduplication_id",
                    path);
  r = add_record(ld, v[RK_ID]);
  if(!r)
    return -1;
  subpath(p, sizeof(p), path, "id");
  if(get_name(ld, v[RK_ID], p, &r->id) < 0)
    return -1;
  subpath(p, sizeof(p), path, "at_ms");
  if(v[RK_AT] >= 0 && get_time(ld, v[RK_AT], p, 0, &r->at_ms) < 0)
    return -1;
  if(v[RK_BODY] >= 0) {
    char *str = NULL;
    size_t n = 0;
    subpath(p, sizeof(p), path, "body");
    if(get_string(ld, v[RK_BODY], p, &str, &n) < 0)
      return -1;
    r->data = (uint8_t *)str;
    r->data_len = n;
    if(n == 0)
      return fail_tok(ld, v[RK_BODY], "%s: must not be empty (SQS rejects "
                      "an empty message body)", p);
    if(n > 262144)
      return fail_tok(ld, v[RK_BODY], "%s: %zu bytes; an SQS message body is "
                      "at most 262144 bytes", p, n);
    if(add_data(ld, v[RK_BODY], p, n) < 0)
      return -1;
  }
  else {
    /* The body defaults to the message's id. */
    r->data_len = strlen(r->id);
    r->data = (uint8_t *)esmc_strdup(r->id);
    if(!r->data)
      return fail_oom(ld);
  }
  if(v[RK_GROUP] >= 0) {
    subpath(p, sizeof(p), path, "group");
    if(get_fifo_id(ld, v[RK_GROUP], p, &r->group) < 0)
      return -1;
    r->partition_key = esmc_strdup(r->group);
    if(!r->partition_key)
      return fail_oom(ld);
  }
  if(v[RK_DEDUP] >= 0) {
    subpath(p, sizeof(p), path, "deduplication_id");
    if(get_fifo_id(ld, v[RK_DEDUP], p, &r->deduplication_id) < 0)
      return -1;
  }
  if(v[RK_ATTRS] >= 0) {
    subpath(p, sizeof(p), path, "attributes");
    if(read_attributes(ld, v[RK_ATTRS], p, r) < 0)
      return -1;
  }
  return 0;
}

static int read_record(struct loader *ld, int tok, const char *path)
{
  int v[RK_COUNT], i, data_key = -1;
  char p[PATH_MAX_LEN];
  struct esmc_case_record *r;
  int ddb = ld->s->source == ESMC_SOURCE_DYNAMODB;
  if(take_object(ld, tok, path, record_keys, RK_COUNT, v) < 0)
    return -1;
  if(require(ld, tok, path, "id", v[RK_ID]) < 0)
    return -1;
  if(is_queue(ld->s))
    return read_message(ld, tok, path, v);
  /* Keys of the other source. */
  for(i = 0; i < RK_COUNT; i++) {
    if(v[i] >= 0 && i >= RK_BODY) {
      subpath(p, sizeof(p), path, record_keys[i]);
      return fail_tok(ld, key_of(v[i]), "%s: only allowed for a queue "
                      "source (sqs, sqs_fifo)", p);
    }
    int kinesis_only = i == RK_PKEY || i == RK_DATA || i == RK_DATA_B64 ||
                       i == RK_DATA_SIZE;
    int ddb_only = i >= RK_EVENT;
    if(v[i] < 0)
      continue;
    subpath(p, sizeof(p), path, record_keys[i]);
    if(ddb && kinesis_only)
      return fail_tok(ld, key_of(v[i]), "%s: not allowed for a dynamodb "
                      "source (use keys, new_image and old_image)", p);
    if(!ddb && ddb_only)
      return fail_tok(ld, key_of(v[i]), "%s: only allowed for a dynamodb "
                      "source", p);
    if(kinesis_only && i != RK_PKEY) {
      if(data_key >= 0) {
        int later = v[i] > v[data_key] ? i : data_key;
        return fail_tok(ld, key_of(v[later]), "%s: give only one of data, "
                        "data_base64 and data_size", path);
      }
      data_key = i;
    }
  }
  if(ddb && require(ld, tok, path, "keys", v[RK_KEYS]) < 0)
    return -1;

  r = add_record(ld, v[RK_ID]);
  if(!r)
    return -1;
  subpath(p, sizeof(p), path, "id");
  if(get_name(ld, v[RK_ID], p, &r->id) < 0)
    return -1;
  subpath(p, sizeof(p), path, "at_ms");
  if(v[RK_AT] >= 0 && get_time(ld, v[RK_AT], p, 0, &r->at_ms) < 0)
    return -1;
  subpath(p, sizeof(p), path, "shard");
  if(v[RK_SHARD] >= 0 && check_shard(ld, v[RK_SHARD], p, &r->shard) < 0)
    return -1;

  if(!ddb) {
    if(v[RK_PKEY] >= 0) {
      subpath(p, sizeof(p), path, "partition_key");
      if(get_name(ld, v[RK_PKEY], p, &r->partition_key) < 0)
        return -1;
    }
    else {
      r->partition_key = esmc_strdup(r->id);
      if(!r->partition_key)
        return fail_oom(ld);
    }
    if(v[RK_DATA] >= 0) {
      char *str = NULL;
      size_t n = 0;
      subpath(p, sizeof(p), path, "data");
      if(get_string(ld, v[RK_DATA], p, &str, &n) < 0)
        return -1;
      r->data = (uint8_t *)str;
      r->data_len = n;
      if(add_data(ld, v[RK_DATA], p, n) < 0)
        return -1;
    }
    else if(v[RK_DATA_B64] >= 0) {
      char *str = NULL;
      size_t n = 0;
      long got;
      subpath(p, sizeof(p), path, "data_base64");
      if(get_string(ld, v[RK_DATA_B64], p, &str, &n) < 0)
        return -1;
      r->data = esmc_malloc(n / 4 * 3 + 4);
      if(!r->data) {
        esmc_free(str);
        return fail_oom(ld);
      }
      got = esmc_base64_decode(str, n, r->data);
      esmc_free(str);
      if(got < 0)
        return fail_tok(ld, v[RK_DATA_B64], "%s: invalid base64", p);
      r->data_len = (size_t)got;
      if(add_data(ld, v[RK_DATA_B64], p, r->data_len) < 0)
        return -1;
    }
    else if(v[RK_DATA_SIZE] >= 0) {
      int64_t n;
      subpath(p, sizeof(p), path, "data_size");
      if(get_i64(ld, v[RK_DATA_SIZE], p, 0, ESMC_CASE_MAX_DATA, &n) < 0 ||
         add_data(ld, v[RK_DATA_SIZE], p, (size_t)n) < 0)
        return -1;
      r->data = filler((size_t)n);
      if(!r->data)
        return fail_oom(ld);
      r->data_len = (size_t)n;
    }
    return 0;
  }

  if(v[RK_EVENT] >= 0) {
    size_t idx;
    subpath(p, sizeof(p), path, "event_name");
    if(get_enum(ld, v[RK_EVENT], p, ddb_events, COUNT_OF(ddb_events), &idx) <
       0)
      return -1;
    r->event_name = (enum esmc_ddb_event)(idx + 1);
  }
  {
    static const int img[] = {RK_KEYS, RK_NEW, RK_OLD};
    char **dst[3];
    size_t j;
    dst[0] = &r->keys_json;
    dst[1] = &r->new_image_json;
    dst[2] = &r->old_image_json;
    for(j = 0; j < 3; j++) {
      if(v[img[j]] < 0)
        continue;
      subpath(p, sizeof(p), path, record_keys[img[j]]);
      if(expect_type(ld, v[img[j]], p, ESMC_JSON_OBJECT) < 0)
        return -1;
      *dst[j] = esmc_json_raw_dup(ld->d, v[img[j]]);
      if(!*dst[j])
        return fail_oom(ld);
    }
  }
  r->partition_key = esmc_strdup(r->keys_json);
  if(!r->partition_key)
    return fail_oom(ld);
  return 0;
}

enum {
  GK_PREFIX,
  GK_COUNT_,
  GK_AT,
  GK_EVERY,
  GK_KEYS,
  GK_SHARD,
  GK_DATA_SIZE,
  GK_COUNT
};
static const char *const generate_keys[] = {
    "prefix", "count", "at_ms", "every_ms", "keys", "shard", "data_size"};

static int read_generate(struct loader *ld, int tok, const char *path)
{
  int v[GK_COUNT];
  char p[PATH_MAX_LEN];
  char *prefix = NULL;
  int64_t count, at = 0, every = 0, keys = 1, size = 0, i;
  int32_t shard = -1;
  int ddb = ld->s->source == ESMC_SOURCE_DYNAMODB;
  int rc = -1;
  if(take_object(ld, tok, path, generate_keys, GK_COUNT, v) < 0)
    return -1;
  if(require(ld, tok, path, "prefix", v[GK_PREFIX]) < 0 ||
     require(ld, tok, path, "count", v[GK_COUNT_]) < 0)
    return -1;
  subpath(p, sizeof(p), path, "count");
  if(get_i64(ld, v[GK_COUNT_], p, 1, ESMC_CASE_MAX_RECORDS, &count) < 0)
    return -1;
  if((size_t)count > ESMC_CASE_MAX_RECORDS - ld->s->record_count)
    return fail_tok(ld, v[GK_COUNT_], "%s: too many records (the limit is %d "
                    "in all)", p, ESMC_CASE_MAX_RECORDS);
  subpath(p, sizeof(p), path, "at_ms");
  if(v[GK_AT] >= 0 && get_time(ld, v[GK_AT], p, 0, &at) < 0)
    return -1;
  subpath(p, sizeof(p), path, "every_ms");
  if(v[GK_EVERY] >= 0 && get_time(ld, v[GK_EVERY], p, 0, &every) < 0)
    return -1;
  if(every > 0 && (count - 1) > (ESMC_CASE_MAX_TIME_MS - at) / every)
    return fail_tok(ld, v[GK_EVERY], "%s: the last record's time exceeds %"
                    PRId64 " ms", p, ESMC_CASE_MAX_TIME_MS);
  if(is_queue(ld->s)) {
    /* Messages: bodies {"n":i}, FIFO groups g0.. round robin by keys. */
    static const int stream_only[] = {GK_SHARD, GK_DATA_SIZE};
    size_t j;
    for(j = 0; j < COUNT_OF(stream_only); j++)
      if(v[stream_only[j]] >= 0) {
        subpath(p, sizeof(p), path, generate_keys[stream_only[j]]);
        return fail_tok(ld, key_of(v[stream_only[j]]), "%s: not allowed for "
                        "a queue source", p);
      }
    if(v[GK_KEYS] >= 0 && ld->s->source != ESMC_SOURCE_SQS_FIFO) {
      subpath(p, sizeof(p), path, "keys");
      return fail_tok(ld, key_of(v[GK_KEYS]), "%s: only allowed for an "
                      "sqs_fifo source (the number of message groups)", p);
    }
  }
  subpath(p, sizeof(p), path, "keys");
  if(v[GK_KEYS] >= 0 &&
     get_i64(ld, v[GK_KEYS], p, 1, ESMC_CASE_MAX_RECORDS, &keys) < 0)
    return -1;
  subpath(p, sizeof(p), path, "shard");
  if(v[GK_SHARD] >= 0 && check_shard(ld, v[GK_SHARD], p, &shard) < 0)
    return -1;
  if(v[GK_DATA_SIZE] >= 0) {
    subpath(p, sizeof(p), path, "data_size");
    if(ddb)
      return fail_tok(ld, key_of(v[GK_DATA_SIZE]), "%s: not allowed for a "
                      "dynamodb source", p);
    if(get_i64(ld, v[GK_DATA_SIZE], p, 0, ESMC_CASE_MAX_DATA, &size) < 0)
      return -1;
    if(size > 0 && (uint64_t)size * (uint64_t)count >
                       (uint64_t)(ESMC_CASE_MAX_TOTAL_DATA - ld->total_data))
      return fail_tok(ld, v[GK_DATA_SIZE], "%s: the records' data exceeds %d "
                      "bytes in all", p, ESMC_CASE_MAX_TOTAL_DATA);
    ld->total_data += (size_t)size * (size_t)count;
  }
  subpath(p, sizeof(p), path, "prefix");
  if(get_string(ld, v[GK_PREFIX], p, &prefix, NULL) < 0)
    return -1;

  for(i = 0; i < count; i++) {
    struct esmc_case_record *r = add_record(ld, v[GK_PREFIX]);
    char key[32];
    size_t idlen = strlen(prefix) + 24;
    if(!r)
      goto out;
    r->id = esmc_malloc(idlen);
    if(!r->id) {
      fail_oom(ld);
      goto out;
    }
    snprintf(r->id, idlen, "%s%" PRId64, prefix, i + 1);
    r->at_ms = at + i * every;
    r->shard = shard;
    snprintf(key, sizeof(key), "k%" PRId64, i % keys);
    if(is_queue(ld->s)) {
      char body[40];
      snprintf(body, sizeof(body), "{\"n\":%" PRId64 "}", i + 1);
      r->data = (uint8_t *)esmc_strdup(body);
      if(!r->data) {
        fail_oom(ld);
        goto out;
      }
      r->data_len = strlen(body);
      if(ld->s->source == ESMC_SOURCE_SQS_FIFO) {
        key[0] = 'g';
        r->group = esmc_strdup(key);
        r->partition_key = esmc_strdup(key);
        if(!ld->s->queue.content_based_deduplication)
          r->deduplication_id = esmc_strdup(r->id);
        if(!r->group || !r->partition_key ||
           (!ld->s->queue.content_based_deduplication &&
            !r->deduplication_id)) {
          fail_oom(ld);
          goto out;
        }
      }
    }
    else if(!ddb) {
      r->partition_key = esmc_strdup(key);
      r->data = filler((size_t)size);
      if(!r->partition_key || !r->data) {
        fail_oom(ld);
        goto out;
      }
      r->data_len = (size_t)size;
    }
    else {
      char buf[160];
      snprintf(buf, sizeof(buf), "{\"pk\":{\"S\":\"%s\"}}", key);
      r->keys_json = esmc_strdup(buf);
      r->partition_key = esmc_strdup(buf);
      snprintf(buf, sizeof(buf),
               "{\"pk\":{\"S\":\"%s\"},\"n\":{\"N\":\"%" PRId64 "\"}}", key,
               i + 1);
      r->new_image_json = esmc_strdup(buf);
      if(!r->keys_json || !r->partition_key || !r->new_image_json) {
        fail_oom(ld);
        goto out;
      }
    }
  }
  rc = 0;
out:
  esmc_free(prefix);
  return rc;
}

static int id_ent_cmp(const void *a, const void *b)
{
  const struct id_ent *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if(c)
    return c;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sort the record ids and reject duplicates (at the earliest repeat). */
static int index_records(struct loader *ld)
{
  struct esmc_scenario *s = ld->s;
  size_t i, n = s->record_count, worst = SIZE_MAX;
  ld->ids = esmc_calloc(n ? n : 1, sizeof(*ld->ids));
  if(!ld->ids)
    return fail_oom(ld);
  for(i = 0; i < n; i++) {
    ld->ids[i].id = s->records[i].id;
    ld->ids[i].idx = i;
  }
  qsort(ld->ids, n, sizeof(*ld->ids), id_ent_cmp);
  for(i = 1; i < n; i++)
    if(strcmp(ld->ids[i].id, ld->ids[i - 1].id) == 0 && ld->ids[i].idx < worst)
      worst = ld->ids[i].idx;
  if(worst != SIZE_MAX)
    return fail_tok(ld, ld->rec_tok[worst], "duplicate record id '%.100s'",
                    s->records[worst].id);
  return 0;
}

static int check_record_id(struct loader *ld, int tok, const char *path,
                           const char *val)
{
  if(ld->ids) {
    size_t lo = 0, hi = ld->s->record_count;
    while(lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      int c = strcmp(ld->ids[mid].id, val);
      if(c == 0)
        return 0;
      if(c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  }
  return fail_tok(ld, tok, "%s: no record has id '%.100s'", path, val);
}

/* ------------------------------------------------------------------------ */
/* The function script.                                                      */

enum { FK_TIMEOUT, FK_DURATION, FK_RULES, FK_COUNT };
static const char *const function_keys[] = {"timeout_s", "duration_ms",
                                            "rules"};
enum { WK_CONTAINS, WK_KEYS, WK_INVOCATION, WK_ATTEMPT, WK_TIMES, WK_COUNT };
static const char *const when_keys[] = {"contains", "keys", "invocation",
                                        "attempt", "times"};
enum { AK_MIN, AK_MAX, AK_COUNT };
static const char *const attempt_keys[] = {"min", "max"};
enum {
  TK_ACTION,
  TK_RESPONSE,
  TK_FAIL_ITEMS,
  TK_DURATION,
  TK_ERROR_TYPE,
  TK_ERROR_MESSAGE,
  TK_STATE_SIZE,
  TK_COUNT
};
static const char *const then_keys[] = {"action",      "response",
                                        "fail_items",  "duration_ms",
                                        "error_type",  "error_message",
                                        "state_size"};
enum { RL_WHEN, RL_THEN, RL_COUNT };
static const char *const rule_keys[] = {"when", "then"};
static const char *const actions[] = {"ok",       "error",
                                      "timeout",  "throttle",
                                      "service_error", "fail_items"};

static int read_when(struct loader *ld, int tok, const char *path,
                     struct esmc_fn_rule *r)
{
  int v[WK_COUNT];
  char p[PATH_MAX_LEN];
  if(take_object(ld, tok, path, when_keys, WK_COUNT, v) < 0)
    return -1;
  subpath(p, sizeof(p), path, "contains");
  if(v[WK_CONTAINS] >= 0 &&
     get_strv(ld, v[WK_CONTAINS], p, &r->contains, &r->contains_count,
              check_record_id, 0) < 0)
    return -1;
  subpath(p, sizeof(p), path, "keys");
  if(v[WK_KEYS] >= 0 &&
     get_strv(ld, v[WK_KEYS], p, &r->keys, &r->keys_count, NULL, 0) < 0)
    return -1;
  if(v[WK_INVOCATION] >= 0) {
    struct esmc_json_iter it;
    int k, e;
    size_t n;
    subpath(p, sizeof(p), path, "invocation");
    if(expect_type(ld, v[WK_INVOCATION], p, ESMC_JSON_ARRAY) < 0)
      return -1;
    n = (size_t)ld->d->tok[v[WK_INVOCATION]].size;
    r->invocations = esmc_calloc(n ? n : 1, sizeof(int64_t));
    if(!r->invocations)
      return fail_oom(ld);
    esmc_json_iter_init(&it, ld->d, v[WK_INVOCATION]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char ep[PATH_MAX_LEN];
      indexpath(ep, sizeof(ep), p, r->invocations_count);
      if(get_i64(ld, e, ep, 1, INT64_MAX, &r->invocations[r->invocations_count])
         < 0)
        return -1;
      r->invocations_count++;
    }
  }
  if(v[WK_ATTEMPT] >= 0) {
    int a[AK_COUNT];
    char ap[PATH_MAX_LEN];
    subpath(p, sizeof(p), path, "attempt");
    if(take_object(ld, v[WK_ATTEMPT], p, attempt_keys, AK_COUNT, a) < 0)
      return -1;
    subpath(ap, sizeof(ap), p, "min");
    if(a[AK_MIN] >= 0 &&
       get_i32_range(ld, a[AK_MIN], ap, 1, INT32_MAX, &r->attempt_min) < 0)
      return -1;
    subpath(ap, sizeof(ap), p, "max");
    if(a[AK_MAX] >= 0 &&
       get_i32_range(ld, a[AK_MAX], ap, 1, INT32_MAX, &r->attempt_max) < 0)
      return -1;
    if(a[AK_MIN] >= 0 && a[AK_MAX] >= 0 && r->attempt_max < r->attempt_min)
      return fail_tok(ld, a[AK_MAX], "%s: must not be below min (%d)", ap,
                      (int)r->attempt_min);
  }
  subpath(p, sizeof(p), path, "times");
  if(v[WK_TIMES] >= 0 &&
     get_i32_range(ld, v[WK_TIMES], p, 1, INT32_MAX, &r->times) < 0)
    return -1;
  return 0;
}

static int read_then(struct loader *ld, int tok, const char *path,
                     struct esmc_fn_rule *r)
{
  int v[TK_COUNT], i;
  char p[PATH_MAX_LEN];
  size_t idx;
  if(take_object(ld, tok, path, then_keys, TK_COUNT, v) < 0)
    return -1;
  if(require(ld, tok, path, "action", v[TK_ACTION]) < 0)
    return -1;
  subpath(p, sizeof(p), path, "action");
  if(get_enum(ld, v[TK_ACTION], p, actions, COUNT_OF(actions), &idx) < 0)
    return -1;
  r->action = (enum esmc_fn_action)idx;
  /* Keys that belong to one action only. */
  for(i = TK_RESPONSE; i < TK_COUNT; i++) {
    enum esmc_fn_action only;
    if(i == TK_RESPONSE || i == TK_STATE_SIZE)
      only = ESMC_FN_OK;
    else if(i == TK_FAIL_ITEMS)
      only = ESMC_FN_FAIL_ITEMS;
    else if(i == TK_ERROR_TYPE || i == TK_ERROR_MESSAGE)
      only = ESMC_FN_ERROR;
    else
      continue;
    if(v[i] >= 0 && r->action != only) {
      subpath(p, sizeof(p), path, then_keys[i]);
      return fail_tok(ld, key_of(v[i]), "%s: only allowed with action '%s'",
                      p, actions[only]);
    }
  }
  if(r->action == ESMC_FN_FAIL_ITEMS &&
     require(ld, tok, path, "fail_items", v[TK_FAIL_ITEMS]) < 0)
    return -1;
  if(v[TK_RESPONSE] >= 0) {
    subpath(p, sizeof(p), path, "response");
    if(get_string(ld, v[TK_RESPONSE], p, &r->response, &r->response_len) < 0)
      return -1;
    r->response_given = 1;
  }
  subpath(p, sizeof(p), path, "fail_items");
  if(v[TK_FAIL_ITEMS] >= 0 &&
     get_strv(ld, v[TK_FAIL_ITEMS], p, &r->fail_items, &r->fail_items_count,
              NULL, 0) < 0)
    return -1;
  subpath(p, sizeof(p), path, "duration_ms");
  if(v[TK_DURATION] >= 0 &&
     get_time(ld, v[TK_DURATION], p, 0, &r->duration_ms) < 0)
    return -1;
  subpath(p, sizeof(p), path, "error_type");
  if(v[TK_ERROR_TYPE] >= 0 &&
     get_string(ld, v[TK_ERROR_TYPE], p, &r->error_type, NULL) < 0)
    return -1;
  subpath(p, sizeof(p), path, "error_message");
  if(v[TK_ERROR_MESSAGE] >= 0 &&
     get_string(ld, v[TK_ERROR_MESSAGE], p, &r->error_message, NULL) < 0)
    return -1;
  subpath(p, sizeof(p), path, "state_size");
  if(v[TK_STATE_SIZE] >= 0) {
    if(v[TK_RESPONSE] >= 0)
      return fail_tok(ld, key_of(v[TK_STATE_SIZE]),
                      "%s: give either response or state_size, not both", p);
    if(get_i64(ld, v[TK_STATE_SIZE], p, 1, ESMC_CASE_MAX_DATA,
               &r->state_size) < 0)
      return -1;
  }
  return 0;
}

/* A function object (section 7) at path into f (defaults already set). */
static int read_function(struct loader *ld, int tok, const char *path,
                         struct esmc_fn_script *f)
{
  int v[FK_COUNT];
  char p[PATH_MAX_LEN];
  if(take_object(ld, tok, path, function_keys, FK_COUNT, v) < 0)
    return -1;
  subpath(p, sizeof(p), path, "timeout_s");
  if(v[FK_TIMEOUT] >= 0 &&
     get_i32_range(ld, v[FK_TIMEOUT], p, 1, 900, &f->timeout_s) < 0)
    return -1;
  subpath(p, sizeof(p), path, "duration_ms");
  if(v[FK_DURATION] >= 0 &&
     get_time(ld, v[FK_DURATION], p, 0, &f->default_duration_ms) < 0)
    return -1;
  if(v[FK_RULES] >= 0) {
    struct esmc_json_iter it;
    int k, e;
    size_t n;
    char rp[PATH_MAX_LEN];
    subpath(rp, sizeof(rp), path, "rules");
    if(expect_type(ld, v[FK_RULES], rp, ESMC_JSON_ARRAY) < 0)
      return -1;
    n = (size_t)ld->d->tok[v[FK_RULES]].size;
    f->rules = esmc_calloc(n ? n : 1, sizeof(*f->rules));
    if(!f->rules)
      return fail_oom(ld);
    esmc_json_iter_init(&it, ld->d, v[FK_RULES]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char sp[PATH_MAX_LEN];
      int rv[RL_COUNT];
      struct esmc_fn_rule *r = &f->rules[f->rule_count++];
      r->attempt_min = ESMC_UNSET;
      r->attempt_max = ESMC_UNSET;
      r->times = 0;
      r->duration_ms = -1;
      indexpath(p, sizeof(p), rp, f->rule_count - 1);
      if(take_object(ld, e, p, rule_keys, RL_COUNT, rv) < 0 ||
         require(ld, e, p, "then", rv[RL_THEN]) < 0)
        return -1;
      subpath(sp, sizeof(sp), p, "when");
      if(rv[RL_WHEN] >= 0 && read_when(ld, rv[RL_WHEN], sp, r) < 0)
        return -1;
      subpath(sp, sizeof(sp), p, "then");
      if(read_then(ld, rv[RL_THEN], sp, r) < 0)
        return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Several mappings (section 13): `functions` and `mappings`.                */

#define NAME_MAX_LEN 40
#define MAX_EXTRA_MAPPINGS 16

/* A mapping or function name: [a-z0-9][a-z0-9-]*, at most 40 characters. */
static int check_entity_name(struct loader *ld, int tok, const char *path,
                             const char *what, const char *name)
{
  size_t i, n = strlen(name);
  int ok = n >= 1 && n <= NAME_MAX_LEN;
  for(i = 0; ok && i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if(!alnum && (i == 0 || c != '-'))
      ok = 0;
  }
  if(!ok)
    return fail_tok(ld, tok, "%s: a %s name must match [a-z0-9][a-z0-9-]* "
                    "and be at most %d characters, found '%.60s'", path, what,
                    NAME_MAX_LEN, name);
  return 0;
}

/* "functions": {name: function object}, in file order. Duplicate names are
 * duplicate keys, which the JSON layer rejects. */
static int read_functions(struct loader *ld, int tok)
{
  struct esmc_scenario *s = ld->s;
  struct esmc_json_iter it;
  int k, v;
  size_t n;
  if(expect_type(ld, tok, "functions", ESMC_JSON_OBJECT) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  s->functions = esmc_calloc(n ? n : 1, sizeof(*s->functions));
  if(!s->functions)
    return fail_oom(ld);
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char p[PATH_MAX_LEN];
    struct esmc_fn_script *f = &s->functions[s->function_count++];
    f->default_duration_ms = 10;
    f->timeout_s = 3;
    if(get_string(ld, k, "functions", &f->name, NULL) < 0 ||
       check_entity_name(ld, k, "functions", "function", f->name) < 0)
      return -1;
    subpath(p, sizeof(p), "functions", f->name);
    if(read_function(ld, v, p, f) < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The timeline, the horizon and the expectations.                           */

enum {
  EK_AT,
  EK_UPDATE,
  EK_RESTART,
  EK_DEST,
  EK_EXPECT_ERROR,
  EK_SPLIT,
  EK_MERGE,
  EK_ROLLOVER,
  EK_MAPPING, /* several mappings and faults */
  EK_FAULT,
  EK_TRIM,
  EK_COUNT
};
static const char *const event_keys[] = {
    "at_ms", "update",   "restart", "destination", "expect_error", "split",
    "merge", "rollover", "mapping", "fault",       "trim"};
static const char *const dest_states[] = {"down", "up"};
static const int event_kinds[] = {EK_UPDATE, EK_RESTART,  EK_DEST,
                                  EK_SPLIT,  EK_MERGE,    EK_ROLLOVER,
                                  EK_FAULT,  EK_TRIM};
#define EVENT_KIND_LIST                                                      \
  "update, restart, destination, split, merge, rollover, fault and trim"

/* A mapping name ("main" or a mappings[].name) at tok: *out its index. */
static int get_mapping_ref(struct loader *ld, int tok, const char *path,
                           int32_t *out)
{
  const char *names[1 + MAX_EXTRA_MAPPINGS];
  char list[300];
  char *name = NULL;
  size_t i, n = 0;
  int idx;
  if(get_string(ld, tok, path, &name, NULL) < 0)
    return -1;
  idx = esmc_scenario_mapping_index(ld->s, name);
  if(idx >= 0) {
    esmc_free(name);
    *out = idx;
    return 0;
  }
  names[n++] = "main";
  for(i = 0; i < ld->s->extra_count && n < COUNT_OF(names); i++)
    names[n++] = ld->s->extra[i].name;
  join_names(list, sizeof(list), names, n);
  fail_tok(ld, tok, "%s: no mapping is named '%.60s' (the case's mappings: "
           "%s)", path, name, list);
  esmc_free(name);
  return -1;
}

/* ------------------------------------------------------------------------ */
/* Faults (section 14).                                                      */

enum { FT_CALLS, FT_ERROR, FT_UNTIL, FT_MAPPING, FT_EVERY, FT_COUNT };
static const char *const fault_keys[] = {"calls", "error", "until_ms",
                                         "mapping", "every"};
static const char *const fault_errors[] = {"throttled", "service",
                                           "access_denied",
                                           "expired_iterator"};

/* The fault's error code for fault_errors[i]. */
static esmc_status fault_error_code(size_t i)
{
  switch(i) {
  case 0: return ESMC_E_THROTTLED;
  case 1: return ESMC_E_SERVICE;
  case 2: return ESMC_E_ACCESS_DENIED;
  default: return ESMC_E_EXPIRED_ITERATOR;
  }
}

#define STREAM_CALLS                                                         \
  ((1u << ESMC_FC_LIST_SHARDS) | (1u << ESMC_FC_GET_SHARD_ITERATOR) |        \
   (1u << ESMC_FC_GET_RECORDS))
#define QUEUE_CALLS                                                          \
  ((1u << ESMC_FC_GET_QUEUE_ATTRIBUTES) | (1u << ESMC_FC_RECEIVE_MESSAGES) | \
   (1u << ESMC_FC_DELETE_MESSAGE) |                                          \
   (1u << ESMC_FC_CHANGE_MESSAGE_VISIBILITY))

/* "calls": a non-empty array of distinct host call names that the case's
 * source makes. */
static int read_fault_calls(struct loader *ld, int tok, const char *path,
                            uint32_t *calls)
{
  const char *names[ESMC_FC_COUNT];
  struct esmc_json_iter it;
  int k, v;
  size_t i = 0, c;
  for(c = 0; c < ESMC_FC_COUNT; c++)
    names[c] = esmc_fault_call_name((unsigned)c);
  if(expect_type(ld, tok, path, ESMC_JSON_ARRAY) < 0)
    return -1;
  if(ld->d->tok[tok].size == 0)
    return fail_tok(ld, tok, "%s: must not be empty", path);
  *calls = 0;
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &v)) {
    char ep[PATH_MAX_LEN];
    uint32_t bit;
    indexpath(ep, sizeof(ep), path, i++);
    if(get_enum(ld, v, ep, names, ESMC_FC_COUNT, &c) < 0)
      return -1;
    bit = 1u << c;
    if(*calls & bit)
      return fail_tok(ld, v, "%s: '%s' is listed twice", ep, names[c]);
    if(is_queue(ld->s) && (bit & STREAM_CALLS))
      return fail_tok(ld, v, "%s: '%s' is a stream call, not allowed for a "
                      "queue source", ep, names[c]);
    if(!is_queue(ld->s) && (bit & QUEUE_CALLS))
      return fail_tok(ld, v, "%s: '%s' is a queue call, not allowed for a "
                      "stream source", ep, names[c]);
    *calls |= bit;
  }
  return 0;
}

/* A fault event's value: {"calls": [...], "error": e, "until_ms": u,
 * "mapping": name, "every": n}. */
static int read_fault(struct loader *ld, int tok, const char *path,
                      struct esmc_case_event *ev)
{
  int v[FT_COUNT];
  char p[PATH_MAX_LEN];
  size_t idx;
  struct esmc_fault_spec *f = &ev->fault;
  if(take_object(ld, tok, path, fault_keys, FT_COUNT, v) < 0 ||
     require(ld, tok, path, "calls", v[FT_CALLS]) < 0 ||
     require(ld, tok, path, "error", v[FT_ERROR]) < 0)
    return -1;
  subpath(p, sizeof(p), path, "calls");
  if(read_fault_calls(ld, v[FT_CALLS], p, &f->calls) < 0)
    return -1;
  subpath(p, sizeof(p), path, "error");
  if(get_enum(ld, v[FT_ERROR], p, fault_errors, COUNT_OF(fault_errors),
              &idx) < 0)
    return -1;
  f->error = fault_error_code(idx);
  if(f->error == ESMC_E_EXPIRED_ITERATOR &&
     f->calls != (1u << ESMC_FC_GET_RECORDS))
    return fail_tok(ld, v[FT_ERROR], "%s: 'expired_iterator' needs calls to "
                    "be exactly [\"get_records\"]", p);
  if(v[FT_UNTIL] >= 0) {
    subpath(p, sizeof(p), path, "until_ms");
    if(get_time(ld, v[FT_UNTIL], p, 0, &f->until_ms) < 0)
      return -1;
    if(f->until_ms <= ev->at_ms)
      return fail_tok(ld, v[FT_UNTIL], "%s: must be after the event's at_ms "
                      "(%" PRId64 "), found %" PRId64, p, ev->at_ms,
                      f->until_ms);
  }
  subpath(p, sizeof(p), path, "mapping");
  if(v[FT_MAPPING] >= 0 && get_mapping_ref(ld, v[FT_MAPPING], p,
                                           &f->mapping) < 0)
    return -1;
  subpath(p, sizeof(p), path, "every");
  if(v[FT_EVERY] >= 0 &&
     get_i32_range(ld, v[FT_EVERY], p, 1, 1000, &f->every) < 0)
    return -1;
  return 0;
}

enum { TR_SHARD, TR_BEFORE, TR_COUNT };
static const char *const trim_keys[] = {"shard", "before_ms"};

/* A trim event's value: {"shard": i, "before_ms": b}, both optional. That
 * the shard exists at the event's time is checked with the shard plan
 * (check_trims). */
static int read_trim(struct loader *ld, int tok, const char *path,
                     struct esmc_case_event *ev)
{
  int v[TR_COUNT];
  char p[PATH_MAX_LEN];
  if(is_queue(ld->s))
    return fail_tok(ld, key_of(tok), "%s: not allowed for a queue source "
                    "(a trim drops stream records)", path);
  if(take_object(ld, tok, path, trim_keys, TR_COUNT, v) < 0)
    return -1;
  subpath(p, sizeof(p), path, "shard");
  if(v[TR_SHARD] >= 0 &&
     get_i32_range(ld, v[TR_SHARD], p, 0, ld->max_shards - 1,
                   &ev->shards[0]) < 0)
    return -1;
  ev->trim_before_ms = ev->at_ms;
  subpath(p, sizeof(p), path, "before_ms");
  if(v[TR_BEFORE] >= 0 &&
     get_i64(ld, v[TR_BEFORE], p, 0, ev->at_ms, &ev->trim_before_ms) < 0)
    return -1;
  return 0;
}

/* Count how many shards the reshard events may add, before the records are
 * read (their explicit shard indexes may name those shards). Shapes are
 * checked later, by read_event. */
static void count_reshards(struct loader *ld, int events)
{
  struct esmc_json_iter it, mi;
  int k, e, mk, mv;
  int64_t extra = 0;
  ld->max_shards = ld->s->shard_count;
  if(events < 0 || esmc_json_type_of(ld->d, events) != ESMC_JSON_ARRAY)
    return;
  esmc_json_iter_init(&it, ld->d, events);
  while(esmc_json_iter_next(&it, &k, &e)) {
    esmc_json_iter_init(&mi, ld->d, e);
    while(esmc_json_iter_next(&mi, &mk, &mv)) {
      if(esmc_json_string_eq(ld->d, mk, "split"))
        extra += 2;
      else if(esmc_json_string_eq(ld->d, mk, "merge") ||
              esmc_json_string_eq(ld->d, mk, "rollover"))
        extra += 1;
    }
  }
  if(extra > 4096)
    extra = 4096;
  ld->max_shards = (int32_t)(ld->s->shard_count + extra);
}

/* A reshard event's value: {"shard": i} (split, rollover) or
 * {"shards": [i, j]} (merge). */
static int read_reshard(struct loader *ld, int tok, const char *path,
                        struct esmc_case_event *ev)
{
  static const char *const one_key[] = {"shard"};
  static const char *const two_keys[] = {"shards"};
  int v, k, e;
  char p[PATH_MAX_LEN];
  ev->shards[0] = ev->shards[1] = -1;
  if(ev->kind != ESMC_CASE_MERGE) {
    if(take_object(ld, tok, path, one_key, 1, &v) < 0 ||
       require(ld, tok, path, "shard", v) < 0)
      return -1;
    subpath(p, sizeof(p), path, "shard");
    return get_i32_range(ld, v, p, 0, ld->max_shards - 1, &ev->shards[0]);
  }
  if(take_object(ld, tok, path, two_keys, 1, &v) < 0 ||
     require(ld, tok, path, "shards", v) < 0)
    return -1;
  subpath(p, sizeof(p), path, "shards");
  if(expect_type(ld, v, p, ESMC_JSON_ARRAY) < 0)
    return -1;
  if(ld->d->tok[v].size != 2)
    return fail_tok(ld, v, "%s: must list exactly two shard indexes, found %d",
                    p, ld->d->tok[v].size);
  {
    struct esmc_json_iter it;
    int n = 0;
    esmc_json_iter_init(&it, ld->d, v);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char ip[PATH_MAX_LEN];
      indexpath(ip, sizeof(ip), p, (size_t)n);
      if(get_i32_range(ld, e, ip, 0, ld->max_shards - 1, &ev->shards[n]) < 0)
        return -1;
      n++;
    }
  }
  return 0;
}

static int read_event(struct loader *ld, int tok, const char *path,
                      struct esmc_case_event *ev, int64_t prev_at)
{
  int v[EK_COUNT], i, kind = -1;
  char p[PATH_MAX_LEN];
  if(take_object(ld, tok, path, event_keys, EK_COUNT, v) < 0)
    return -1;
  if(require(ld, tok, path, "at_ms", v[EK_AT]) < 0)
    return -1;
  subpath(p, sizeof(p), path, "at_ms");
  if(get_time(ld, v[EK_AT], p, 0, &ev->at_ms) < 0)
    return -1;
  if(ev->at_ms < prev_at)
    return fail_tok(ld, v[EK_AT], "%s: events must be in time order (the "
                    "previous one is at %" PRId64 ")", p, prev_at);
  for(i = 0; i < (int)COUNT_OF(event_kinds); i++) {
    int x = event_kinds[i];
    if(v[x] < 0)
      continue;
    if(kind >= 0) {
      int later = v[x] > v[kind] ? x : kind;
      return fail_tok(ld, key_of(v[later]), "%s: give only one of "
                      EVENT_KIND_LIST, path);
    }
    kind = x;
  }
  if(kind < 0)
    return fail_tok(ld, tok, "%s: expected one of " EVENT_KIND_LIST, path);
  if(v[EK_EXPECT_ERROR] >= 0 && kind != EK_UPDATE)
    return fail_tok(ld, key_of(v[EK_EXPECT_ERROR]), "%s.expect_error: only "
                    "allowed with update", path);
  if(v[EK_MAPPING] >= 0) {
    subpath(p, sizeof(p), path, "mapping");
    if(kind != EK_UPDATE && kind != EK_RESTART)
      return fail_tok(ld, key_of(v[EK_MAPPING]), "%s: only allowed with "
                      "update and restart (a fault names its mapping inside "
                      "its fault object)", p);
    if(get_mapping_ref(ld, v[EK_MAPPING], p, &ev->mapping) < 0)
      return -1;
  }
  if(kind == EK_UPDATE) {
    ev->kind = ESMC_CASE_UPDATE;
    subpath(p, sizeof(p), path, "update");
    if(read_config(ld, v[EK_UPDATE], p, &ev->update, 1) < 0)
      return -1;
    subpath(p, sizeof(p), path, "expect_error");
    if(v[EK_EXPECT_ERROR] >= 0 &&
       get_name(ld, v[EK_EXPECT_ERROR], p, &ev->expect_error_code) < 0)
      return -1;
  }
  else if(kind == EK_RESTART) {
    int b;
    subpath(p, sizeof(p), path, "restart");
    if(get_bool(ld, v[EK_RESTART], p, &b) < 0)
      return -1;
    if(!b)
      return fail_tok(ld, v[EK_RESTART], "%s: must be true", p);
    ev->kind = ESMC_CASE_RESTART;
  }
  else if(kind == EK_FAULT) {
    ev->kind = ESMC_CASE_FAULT;
    subpath(p, sizeof(p), path, "fault");
    if(read_fault(ld, v[EK_FAULT], p, ev) < 0)
      return -1;
  }
  else if(kind == EK_TRIM) {
    ev->kind = ESMC_CASE_TRIM;
    subpath(p, sizeof(p), path, "trim");
    if(read_trim(ld, v[EK_TRIM], p, ev) < 0)
      return -1;
  }
  else if(kind == EK_SPLIT || kind == EK_MERGE || kind == EK_ROLLOVER) {
    ev->kind = kind == EK_SPLIT   ? ESMC_CASE_SPLIT
               : kind == EK_MERGE ? ESMC_CASE_MERGE
                                  : ESMC_CASE_ROLLOVER;
    subpath(p, sizeof(p), path, event_keys[kind]);
    if(read_reshard(ld, v[kind], p, ev) < 0)
      return -1;
  }
  else {
    size_t idx;
    subpath(p, sizeof(p), path, "destination");
    if(get_enum(ld, v[EK_DEST], p, dest_states, COUNT_OF(dest_states), &idx) <
       0)
      return -1;
    ev->kind = idx == 0 ? ESMC_CASE_DESTINATION_DOWN : ESMC_CASE_DESTINATION_UP;
  }
  return 0;
}

static int read_events(struct loader *ld, int tok)
{
  struct esmc_json_iter it;
  struct esmc_scenario *s = ld->s;
  int k, e;
  size_t n;
  int64_t prev = 0;
  if(expect_type(ld, tok, "events", ESMC_JSON_ARRAY) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  s->events = esmc_calloc(n ? n : 1, sizeof(*s->events));
  if(!s->events)
    return fail_oom(ld);
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &e)) {
    char p[PATH_MAX_LEN];
    struct esmc_case_event *ev = &s->events[s->event_count++];
    esmc_case_event_init(ev);
    indexpath(p, sizeof(p), "events", s->event_count - 1);
    if(read_event(ld, e, p, ev, prev) < 0)
      return -1;
    prev = ev->at_ms;
  }
  return 0;
}

/* The shard plan the reshard events make must be valid, and a record with an
 * explicit shard index must name a shard open at its append time. */
static int check_plan(struct loader *ld, int events)
{
  char msg[400];
  size_t bad_ev, bad_rec;
  int rc = esmc_world_check_plan(ld->s, msg, sizeof(msg), &bad_ev, &bad_rec);
  if(rc < 0)
    return fail_oom(ld);
  if(rc == 0)
    return 0;
  if(bad_rec != SIZE_MAX && ld->rec_tok)
    return fail_tok(ld, ld->rec_tok[bad_rec], "%s", msg);
  if(bad_ev != SIZE_MAX && events >= 0) {
    struct esmc_json_iter it;
    int k, e;
    size_t i = 0;
    esmc_json_iter_init(&it, ld->d, events);
    while(esmc_json_iter_next(&it, &k, &e))
      if(i++ == bad_ev)
        return fail_tok(ld, e, "%s", msg);
  }
  return fail_at(ld, 0, 0, "%s", msg);
}

/* A trim's shard must exist at the trim's time: an original shard or one
 * that a reshard at or before it created (the plan is valid by now, so
 * every reshard event applies). */
static int check_trims(struct loader *ld, int events)
{
  struct esmc_scenario *s = ld->s;
  size_t i, j;
  for(i = 0; i < s->event_count; i++) {
    const struct esmc_case_event *ev = &s->events[i];
    int64_t n = s->shard_count;
    if(ev->kind != ESMC_CASE_TRIM || ev->shards[0] < 0)
      continue;
    for(j = 0; j < s->event_count; j++) {
      const struct esmc_case_event *r = &s->events[j];
      if(r->at_ms > ev->at_ms)
        continue;
      if(r->kind == ESMC_CASE_SPLIT)
        n += 2;
      else if(r->kind == ESMC_CASE_MERGE || r->kind == ESMC_CASE_ROLLOVER)
        n += 1;
    }
    if(ev->shards[0] < n)
      continue;
    {
      struct esmc_json_iter it;
      int k, e, tok = -1;
      size_t at = 0;
      char p[PATH_MAX_LEN];
      esmc_json_iter_init(&it, ld->d, events);
      while(esmc_json_iter_next(&it, &k, &e))
        if(at++ == i)
          tok = obj_member(ld, obj_member(ld, e, "trim"), "shard");
      indexpath(p, sizeof(p), "events", i);
      return fail_tok(ld, tok, "%s.trim.shard: shard %d does not exist at "
                      "t=%" PRId64 " ms (the stream has %d shard%s by then)",
                      p, (int)ev->shards[0], ev->at_ms, (int)n,
                      n == 1 ? "" : "s");
    }
  }
  return 0;
}

enum {
  XK_CONFIG_ERROR,
  XK_BATCHES,
  XK_INVOCATIONS,
  XK_DESTINATIONS,
  XK_DELIVERED,
  XK_NOT_DELIVERED,
  XK_COUNT
};
static const char *const expect_keys[] = {"config_error", "batches",
                                          "invocations",  "destinations",
                                          "delivered",    "not_delivered"};
enum { CE_CODE, CE_MESSAGE, CE_COUNT };
static const char *const config_error_keys[] = {"code", "message"};
enum {
  DK_CONDITION,
  DK_BATCH_SIZE,
  DK_FIRST,
  DK_LAST,
  DK_INVOKE_COUNT,
  DK_RESPONSE_CONTEXT,
  DK_FUNCTION_ERROR,
  DK_COUNT
};
static const char *const dest_keys[] = {
    "condition", "batch_size", "first",         "last",
    "approximate_invoke_count", "response_context", "function_error"};

static int read_dest(struct loader *ld, int tok, const char *path,
                     struct esmc_expect_dest *d)
{
  int v[DK_COUNT];
  char p[PATH_MAX_LEN];
  if(take_object(ld, tok, path, dest_keys, DK_COUNT, v) < 0)
    return -1;
  subpath(p, sizeof(p), path, "condition");
  if(v[DK_CONDITION] >= 0 &&
     get_name(ld, v[DK_CONDITION], p, &d->condition) < 0)
    return -1;
  subpath(p, sizeof(p), path, "batch_size");
  if(v[DK_BATCH_SIZE] >= 0 &&
     get_i32_range(ld, v[DK_BATCH_SIZE], p, 0, INT32_MAX, &d->batch_size) < 0)
    return -1;
  subpath(p, sizeof(p), path, "first");
  if(v[DK_FIRST] >= 0 &&
     (get_string(ld, v[DK_FIRST], p, &d->first_id, NULL) < 0 ||
      check_record_id(ld, v[DK_FIRST], p, d->first_id) < 0))
    return -1;
  subpath(p, sizeof(p), path, "last");
  if(v[DK_LAST] >= 0 &&
     (get_string(ld, v[DK_LAST], p, &d->last_id, NULL) < 0 ||
      check_record_id(ld, v[DK_LAST], p, d->last_id) < 0))
    return -1;
  subpath(p, sizeof(p), path, "approximate_invoke_count");
  if(v[DK_INVOKE_COUNT] >= 0 &&
     get_i32_range(ld, v[DK_INVOKE_COUNT], p, 0, INT32_MAX,
                   &d->approximate_invoke_count) < 0)
    return -1;
  subpath(p, sizeof(p), path, "response_context");
  if(v[DK_RESPONSE_CONTEXT] >= 0 &&
     get_bool32(ld, v[DK_RESPONSE_CONTEXT], p, &d->has_response_context) < 0)
    return -1;
  if(v[DK_FUNCTION_ERROR] >= 0) {
    subpath(p, sizeof(p), path, "function_error");
    if(esmc_json_is_null(ld->d, v[DK_FUNCTION_ERROR])) {
      d->function_error = esmc_strdup("null");
      if(!d->function_error)
        return fail_oom(ld);
    }
    else if(esmc_json_type_of(ld->d, v[DK_FUNCTION_ERROR]) !=
            ESMC_JSON_STRING) {
      return fail_tok(ld, v[DK_FUNCTION_ERROR], "%s: expected a string or "
                      "null, found %s", p,
                      esmc_json_type_name(
                          esmc_json_type_of(ld->d, v[DK_FUNCTION_ERROR])));
    }
    else if(get_string(ld, v[DK_FUNCTION_ERROR], p, &d->function_error,
                       NULL) < 0) {
      return -1;
    }
  }
  return 0;
}

/* An expect object (section 9) at path into x (invocation_count already
 * ESMC_UNSET). */
static int read_expect(struct loader *ld, int tok, const char *path,
                       struct esmc_expect *x)
{
  int v[XK_COUNT];
  struct esmc_json_iter it;
  int k, e;
  size_t n;
  char p[PATH_MAX_LEN];
  if(take_object(ld, tok, path, expect_keys, XK_COUNT, v) < 0)
    return -1;
  if(v[XK_CONFIG_ERROR] >= 0) {
    int c[CE_COUNT];
    char cp[PATH_MAX_LEN];
    subpath(p, sizeof(p), path, "config_error");
    if(take_object(ld, v[XK_CONFIG_ERROR], p, config_error_keys, CE_COUNT,
                   c) < 0 ||
       require(ld, v[XK_CONFIG_ERROR], p, "code", c[CE_CODE]) < 0)
      return -1;
    subpath(cp, sizeof(cp), p, "code");
    if(get_name(ld, c[CE_CODE], cp, &x->config_error_code) < 0)
      return -1;
    subpath(cp, sizeof(cp), p, "message");
    if(c[CE_MESSAGE] >= 0 &&
       get_string(ld, c[CE_MESSAGE], cp, &x->config_error_message, NULL) < 0)
      return -1;
  }
  if(v[XK_BATCHES] >= 0) {
    subpath(p, sizeof(p), path, "batches");
    if(expect_type(ld, v[XK_BATCHES], p, ESMC_JSON_ARRAY) < 0)
      return -1;
    n = (size_t)ld->d->tok[v[XK_BATCHES]].size;
    x->batches = esmc_calloc(n ? n : 1, sizeof(*x->batches));
    x->batch_lens = esmc_calloc(n ? n : 1, sizeof(*x->batch_lens));
    if(!x->batches || !x->batch_lens)
      return fail_oom(ld);
    x->batches_given = 1;
    esmc_json_iter_init(&it, ld->d, v[XK_BATCHES]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char bp[PATH_MAX_LEN];
      size_t i = x->batch_count++;
      indexpath(bp, sizeof(bp), p, i);
      if(get_strv(ld, e, bp, &x->batches[i], &x->batch_lens[i],
                  check_record_id, 1) < 0)
        return -1;
    }
  }
  subpath(p, sizeof(p), path, "invocations");
  if(v[XK_INVOCATIONS] >= 0 &&
     get_i32_range(ld, v[XK_INVOCATIONS], p, 0, INT32_MAX,
                   &x->invocation_count) < 0)
    return -1;
  if(v[XK_DESTINATIONS] >= 0) {
    subpath(p, sizeof(p), path, "destinations");
    if(expect_type(ld, v[XK_DESTINATIONS], p, ESMC_JSON_ARRAY) < 0)
      return -1;
    n = (size_t)ld->d->tok[v[XK_DESTINATIONS]].size;
    x->destinations = esmc_calloc(n ? n : 1, sizeof(*x->destinations));
    if(!x->destinations)
      return fail_oom(ld);
    x->destinations_given = 1;
    esmc_json_iter_init(&it, ld->d, v[XK_DESTINATIONS]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char dp[PATH_MAX_LEN];
      struct esmc_expect_dest *d = &x->destinations[x->destination_count++];
      d->batch_size = ESMC_UNSET;
      d->approximate_invoke_count = ESMC_UNSET;
      d->has_response_context = ESMC_UNSET;
      indexpath(dp, sizeof(dp), p, x->destination_count - 1);
      if(read_dest(ld, e, dp, d) < 0)
        return -1;
    }
  }
  subpath(p, sizeof(p), path, "delivered");
  if(v[XK_DELIVERED] >= 0 &&
     get_strv(ld, v[XK_DELIVERED], p, &x->delivered, &x->delivered_count,
              check_record_id, 0) < 0)
    return -1;
  subpath(p, sizeof(p), path, "not_delivered");
  if(v[XK_NOT_DELIVERED] >= 0 &&
     get_strv(ld, v[XK_NOT_DELIVERED], p, &x->not_delivered,
              &x->not_delivered_count, check_record_id, 0) < 0)
    return -1;
  return 0;
}

/* One element of `mappings` (mapping index + 1 is its index): the keys of
 * `mapping` plus name, function and expect. */
enum { MX_NAME = MK_COUNT, MX_FUNCTION, MX_EXPECT, MX_COUNT };

static int read_mapping_entry(struct loader *ld, int tok, const char *path,
                              size_t index)
{
  struct esmc_scenario *s = ld->s;
  struct esmc_mapping_spec *m = &s->extra[index];
  const char *names[MX_COUNT];
  int v[MX_COUNT];
  char p[PATH_MAX_LEN];
  size_t j;
  memcpy(names, mapping_keys, sizeof(mapping_keys));
  names[MX_NAME] = "name";
  names[MX_FUNCTION] = "function";
  names[MX_EXPECT] = "expect";
  if(take_object(ld, tok, path, names, MX_COUNT, v) < 0 ||
     require(ld, tok, path, "name", v[MX_NAME]) < 0)
    return -1;
  subpath(p, sizeof(p), path, "name");
  if(get_string(ld, v[MX_NAME], p, &m->name, NULL) < 0 ||
     check_entity_name(ld, v[MX_NAME], p, "mapping", m->name) < 0)
    return -1;
  if(strcmp(m->name, "main") == 0)
    return fail_tok(ld, v[MX_NAME], "%s: 'main' is the name of the case's "
                    "mapping", p);
  for(j = 0; j < index; j++)
    if(strcmp(s->extra[j].name, m->name) == 0)
      return fail_tok(ld, v[MX_NAME], "%s: mappings[%zu] is already named "
                      "'%s'", p, j, m->name);
  if(read_config_members(ld, v, path, &m->config, &m->create_at_ms) < 0)
    return -1;
  if(v[MX_FUNCTION] >= 0) {
    char *fn = NULL;
    subpath(p, sizeof(p), path, "function");
    if(get_string(ld, v[MX_FUNCTION], p, &fn, NULL) < 0)
      return -1;
    for(j = 0; j < s->function_count; j++)
      if(strcmp(s->functions[j].name, fn) == 0)
        break;
    if(j == s->function_count) {
      fail_tok(ld, v[MX_FUNCTION], "%s: no entry of functions is named "
               "'%.60s'", p, fn);
      esmc_free(fn);
      return -1;
    }
    esmc_free(fn);
    m->function = (uint32_t)j + 1;
  }
  subpath(p, sizeof(p), path, "expect");
  if(v[MX_EXPECT] >= 0 && read_expect(ld, v[MX_EXPECT], p, &m->expect) < 0)
    return -1;
  return 0;
}

/* "mappings": 1 .. 16 mappings after the case's `mapping`. */
static int read_mappings(struct loader *ld, int tok)
{
  struct esmc_scenario *s = ld->s;
  struct esmc_json_iter it;
  int k, e;
  size_t n;
  if(expect_type(ld, tok, "mappings", ESMC_JSON_ARRAY) < 0)
    return -1;
  n = (size_t)ld->d->tok[tok].size;
  if(n < 1 || n > MAX_EXTRA_MAPPINGS)
    return fail_tok(ld, tok, "mappings: must list 1 to %d mappings, found "
                    "%zu", MAX_EXTRA_MAPPINGS, n);
  s->extra = esmc_calloc(n, sizeof(*s->extra));
  if(!s->extra)
    return fail_oom(ld);
  esmc_json_iter_init(&it, ld->d, tok);
  while(esmc_json_iter_next(&it, &k, &e)) {
    char p[PATH_MAX_LEN];
    size_t i = s->extra_count++;
    esmc_config_spec_init(&s->extra[i].config);
    s->extra[i].expect.invocation_count = ESMC_UNSET;
    indexpath(p, sizeof(p), "mappings", i);
    if(read_mapping_entry(ld, e, p, i) < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The case.                                                                 */

enum {
  CK_ID,
  CK_DESCRIPTION,
  CK_RULES,
  CK_TAGS,
  CK_REQUIRES,
  CK_SOURCE,
  CK_STREAM,
  CK_START,
  CK_MAPPING,
  CK_RECORDS,
  CK_GENERATE,
  CK_FUNCTION,
  CK_EVENTS,
  CK_RUN,
  CK_EXPECT,
  CK_QUEUE, /* ABI v2 */
  CK_MAPPINGS, /* several mappings */
  CK_FUNCTIONS,
  CK_COUNT
};
static const char *const case_keys[] = {
    "id",     "description", "rules",    "tags",     "requires",
    "source", "stream",      "start",    "mapping",  "records",
    "generate", "function",  "events",   "run",      "expect",
    "queue",  "mappings",    "functions"};
static const char *const sources[] = {"kinesis", "dynamodb", "sqs",
                                      "sqs_fifo"};
enum { RUN_UNTIL, RUN_COUNT };
static const char *const run_keys[] = {"until_ms"};

static int load_case(struct loader *ld)
{
  int v[CK_COUNT];
  struct esmc_scenario *s = ld->s;
  struct esmc_json_iter it;
  int k, e;
  size_t idx, i;
  static const int required[] = {CK_ID,       CK_DESCRIPTION, CK_RULES,
                                 CK_TAGS,     CK_REQUIRES,    CK_SOURCE,
                                 CK_MAPPING};

  if(take_object(ld, 0, "", case_keys, CK_COUNT, v) < 0)
    return -1;
  for(i = 0; i < COUNT_OF(required); i++)
    if(require(ld, 0, "", case_keys[required[i]], v[required[i]]) < 0)
      return -1;

  if(get_string(ld, v[CK_ID], "id", &s->id, NULL) < 0 ||
     check_case_id(ld, v[CK_ID], s->id) < 0)
    return -1;
  if(get_string(ld, v[CK_DESCRIPTION], "description", &s->description,
                NULL) < 0)
    return -1;
  if(get_strv(ld, v[CK_RULES], "rules", &s->rules, &s->rule_count,
              check_rule_id, 1) < 0)
    return -1;
  if(get_strv(ld, v[CK_TAGS], "tags", &s->tags, &s->tag_count, check_tag,
              0) < 0)
    return -1;
  if(read_requires(ld, v[CK_REQUIRES]) < 0)
    return -1;
  if(get_enum(ld, v[CK_SOURCE], "source", sources, COUNT_OF(sources), &idx) <
     0)
    return -1;
  s->source = idx == 0   ? ESMC_SOURCE_KINESIS
              : idx == 1 ? ESMC_SOURCE_DYNAMODB
              : idx == 2 ? ESMC_SOURCE_SQS
                         : ESMC_SOURCE_SQS_FIFO;
  if(is_queue(s) && v[CK_STREAM] >= 0)
    return fail_tok(ld, key_of(v[CK_STREAM]), "stream: not allowed for a "
                    "queue source (use \"queue\")");
  if(!is_queue(s) && v[CK_QUEUE] >= 0)
    return fail_tok(ld, key_of(v[CK_QUEUE]), "queue: only allowed for a "
                    "queue source (sqs, sqs_fifo)");
  if(v[CK_STREAM] >= 0 && read_stream(ld, v[CK_STREAM]) < 0)
    return -1;
  if(v[CK_QUEUE] >= 0 && read_queue(ld, v[CK_QUEUE]) < 0)
    return -1;
  if(is_queue(s)) {
    /* Stream-only events make no sense on a queue. */
    struct esmc_json_iter eit;
    int ek, evv;
    if(v[CK_EVENTS] >= 0 &&
       esmc_json_type_of(ld->d, v[CK_EVENTS]) == ESMC_JSON_ARRAY) {
      esmc_json_iter_init(&eit, ld->d, v[CK_EVENTS]);
      while(esmc_json_iter_next(&eit, &ek, &evv)) {
        static const char *const stream_events[] = {"split", "merge",
                                                    "rollover"};
        size_t j;
        for(j = 0; j < COUNT_OF(stream_events); j++) {
          int t = obj_member(ld, evv, stream_events[j]);
          if(t >= 0)
            return fail_tok(ld, key_of(t), "events: '%s' is not allowed for "
                            "a queue source", stream_events[j]);
        }
      }
    }
  }
  if(v[CK_START] >= 0 && read_start(ld, v[CK_START]) < 0)
    return -1;
  if(read_config(ld, v[CK_MAPPING], "mapping", &s->config, 0) < 0)
    return -1;

  count_reshards(ld, v[CK_EVENTS]);
  if(v[CK_RECORDS] >= 0) {
    if(expect_type(ld, v[CK_RECORDS], "records", ESMC_JSON_ARRAY) < 0)
      return -1;
    i = 0;
    esmc_json_iter_init(&it, ld->d, v[CK_RECORDS]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char p[PATH_MAX_LEN];
      indexpath(p, sizeof(p), "records", i++);
      if(read_record(ld, e, p) < 0)
        return -1;
    }
  }
  if(v[CK_GENERATE] >= 0) {
    if(expect_type(ld, v[CK_GENERATE], "generate", ESMC_JSON_ARRAY) < 0)
      return -1;
    i = 0;
    esmc_json_iter_init(&it, ld->d, v[CK_GENERATE]);
    while(esmc_json_iter_next(&it, &k, &e)) {
      char p[PATH_MAX_LEN];
      indexpath(p, sizeof(p), "generate", i++);
      if(read_generate(ld, e, p) < 0)
        return -1;
    }
  }
  if(index_records(ld) < 0)
    return -1;

  if(v[CK_FUNCTION] >= 0 &&
     read_function(ld, v[CK_FUNCTION], "function", &s->function) < 0)
    return -1;
  /* Functions before the mappings that name them, and mappings before the
   * events that name them, wherever they are in the file. */
  if(v[CK_FUNCTIONS] >= 0 && read_functions(ld, v[CK_FUNCTIONS]) < 0)
    return -1;
  if(v[CK_MAPPINGS] >= 0 && read_mappings(ld, v[CK_MAPPINGS]) < 0)
    return -1;
  if(v[CK_EVENTS] >= 0 && read_events(ld, v[CK_EVENTS]) < 0)
    return -1;
  if(check_plan(ld, v[CK_EVENTS]) < 0 || check_trims(ld, v[CK_EVENTS]) < 0)
    return -1;
  if(v[CK_RUN] >= 0) {
    int r[RUN_COUNT];
    if(take_object(ld, v[CK_RUN], "run", run_keys, RUN_COUNT, r) < 0 ||
       require(ld, v[CK_RUN], "run", "until_ms", r[RUN_UNTIL]) < 0 ||
       get_time(ld, r[RUN_UNTIL], "run.until_ms", 1, &s->run_until_ms) < 0)
      return -1;
  }
  if(v[CK_EXPECT] >= 0 &&
     read_expect(ld, v[CK_EXPECT], "expect", &s->expect) < 0)
    return -1;
  return 0;
}

static int load(const char *buf, size_t len, const char *name,
                const char *expect_id, struct esmc_scenario *out,
                struct esmc_load_error *err)
{
  struct esmc_load_error dummy;
  struct esmc_json_doc doc;
  struct esmc_json_error je;
  struct loader ld;
  int rc;

  if(!err)
    err = &dummy;
  memset(err, 0, sizeof(*err));
  snprintf(err->file, sizeof(err->file), "%s", name ? name : "<buffer>");
  memset(out, 0, sizeof(*out));
  if(len > ESMC_CASE_MAX_FILE) {
    snprintf(err->message, sizeof(err->message),
             "file too large: %zu bytes (the limit is %d)", len,
             ESMC_CASE_MAX_FILE);
    return -1;
  }
  if(esmc_json_parse(&doc, buf ? buf : "", buf ? len : 0, NULL, &je) < 0) {
    if(strcmp(je.message, "out of memory") == 0) {
      snprintf(err->message, sizeof(err->message), "out of memory");
    }
    else {
      err->line = je.line;
      err->column = je.column;
      snprintf(err->message, sizeof(err->message), "%s", je.message);
    }
    return -1;
  }
  esmc_scenario_init(out);
  memset(&ld, 0, sizeof(ld));
  ld.d = &doc;
  ld.s = out;
  ld.err = err;
  ld.expect_id = expect_id;
  if(!out->stream_name || !out->stream_view_type)
    rc = fail_oom(&ld);
  else
    rc = load_case(&ld);
  esmc_free(ld.rec_tok);
  esmc_free(ld.ids);
  esmc_json_free(&doc);
  if(rc < 0) {
    esmc_scenario_free(out);
    return -1;
  }
  return 0;
}

int esmc_case_load_buf(const char *buf, size_t len, const char *name,
                       struct esmc_scenario *out, struct esmc_load_error *err)
{
  return load(buf, len, name, NULL, out, err);
}

static void file_error(struct esmc_load_error *err, const char *path,
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void file_error(struct esmc_load_error *err, const char *path,
                       const char *fmt, ...)
{
  va_list ap;
  if(!err)
    return;
  memset(err, 0, sizeof(*err));
  snprintf(err->file, sizeof(err->file), "%s", path);
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof(err->message), fmt, ap);
  va_end(ap);
}

int esmc_case_load_file(const char *path, struct esmc_scenario *out,
                        struct esmc_load_error *err)
{
  FILE *f;
  char *buf = NULL, *base_name = NULL;
  const char *base;
  size_t len = 0, cap = 0, bl;
  int rc;

  memset(out, 0, sizeof(*out));
  f = fopen(path, "rb");
  if(!f) {
    file_error(err, path, "cannot open: %s", strerror(errno));
    return -1;
  }
  for(;;) {
    size_t got;
    if(len == cap) {
      char *nb;
      if(cap > ESMC_CASE_MAX_FILE) {
        fclose(f);
        esmc_free(buf);
        file_error(err, path, "file too large (the limit is %d bytes)",
                   ESMC_CASE_MAX_FILE);
        return -1;
      }
      cap = cap ? cap * 2 : 65536;
      nb = esmc_realloc(buf, cap + 1);
      if(!nb) {
        fclose(f);
        esmc_free(buf);
        file_error(err, path, "out of memory");
        return -1;
      }
      buf = nb;
    }
    got = fread(buf + len, 1, cap - len, f);
    len += got;
    if(got == 0) {
      if(ferror(f)) {
        fclose(f);
        esmc_free(buf);
        file_error(err, path, "read error");
        return -1;
      }
      break;
    }
  }
  fclose(f);

  base = strrchr(path, '/');
  base = base ? base + 1 : path;
  bl = strlen(base);
  if(bl > 5 && strcmp(base + bl - 5, ".json") == 0)
    bl -= 5;
  base_name = esmc_strndup(base, bl);
  if(!base_name) {
    esmc_free(buf);
    file_error(err, path, "out of memory");
    return -1;
  }
  rc = load(buf, len, path, base_name, out, err);
  esmc_free(buf);
  esmc_free(base_name);
  if(rc == 0) {
    out->path = esmc_strdup(path);
    if(!out->path) {
      esmc_scenario_free(out);
      file_error(err, path, "out of memory");
      return -1;
    }
  }
  return rc;
}

void esmc_load_error_format(const struct esmc_load_error *e, char *buf,
                            size_t size)
{
  if(!buf || size == 0)
    return;
  if(e->line > 0)
    snprintf(buf, size, "%s:%d:%d: %s", e->file, e->line, e->column,
             e->message);
  else
    snprintf(buf, size, "%s: %s", e->file, e->message);
}

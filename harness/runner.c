/*
 * runner.c: adapter loading, one case to one verdict, fork isolation, and the
 * human timeline.
 */
#define _POSIX_C_SOURCE 200809L
#include "runner.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect_file.h"
#include "proxy.h"
#include "world.h"

/* The linked-in reference mapper (reference/, built with
 * ESMC_ADAPTER_STATIC). */
const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

static const char *const verdict_names[] = {
#define ESMC_X_(name, str) str,
    ESMC_VERDICT_MAP(ESMC_X_)
#undef ESMC_X_
};

const char *esmc_verdict_name(enum esmc_verdict v)
{
  return (unsigned)v < ESMC_V__COUNT ? verdict_names[v] : "?";
}

int esmc_verdict_is_failure(enum esmc_verdict v)
{
  return v == ESMC_V_FAIL || v == ESMC_V_ERROR || v == ESMC_V_CRASH ||
         v == ESMC_V_TIMEOUT || v == ESMC_V_XPASS;
}

/* ------------------------------------------------------------------------ */
/* Adapters.                                                                 */

int esmc_adapter_check(const struct esmc_adapter *a, char *err, size_t n)
{
  if(!a) {
    snprintf(err, n, "the entry point returned NULL (the adapter cannot serve "
                     "host ABI version %d)", ESMC_ABI_VERSION);
    return -1;
  }
  if(a->abi_version == 0 || a->abi_version > ESMC_ABI_VERSION) {
    snprintf(err, n, "the adapter declares ABI version %u; this host speaks 1..%d",
             a->abi_version, ESMC_ABI_VERSION);
    return -1;
  }
  if(a->struct_size < ESMC_ADAPTER_V1_SIZE) {
    snprintf(err, n, "the adapter table is %u bytes; ABI v1 needs at least %zu",
             a->struct_size, (size_t)ESMC_ADAPTER_V1_SIZE);
    return -1;
  }
  if(!a->name || !a->version) {
    snprintf(err, n, "the REQUIRED member %s is NULL", !a->name ? "name" : "version");
    return -1;
  }
  if(!a->create || !a->on_timer || !a->on_invoke_complete || !a->destroy) {
    snprintf(err, n, "the REQUIRED method %s is NULL",
             !a->create ? "create" : !a->on_timer ? "on_timer"
             : !a->on_invoke_complete ? "on_invoke_complete" : "destroy");
    return -1;
  }
  if((a->capabilities & (ESMC_CAP_SQS | ESMC_CAP_SQS_FIFO)) &&
     (a->abi_version < 2 || a->struct_size < ESMC_ADAPTER_V2_SIZE ||
      !a->on_receive_complete)) {
    snprintf(err, n, "the adapter claims an SQS capability but has no "
                     "on_receive_complete method (ABI v2)");
    return -1;
  }
  if((a->capabilities & ESMC_CAP_UPDATE) && !a->update) {
    snprintf(err, n, "the adapter claims the update capability but its "
                     "OPTIONAL update method is NULL");
    return -1;
  }
  return 0;
}

int esmc_adapter_load(const char *spec, struct esmc_loaded_adapter *l)
{
  esmc_adapter_entry_fn entry;
  void *sym;
  memset(l, 0, sizeof(*l));
  snprintf(l->spec, sizeof(l->spec), "%s", spec);
  if(strcmp(spec, "reference") == 0) {
    l->a = esmc_adapter_reference(ESMC_ABI_VERSION);
  } else {
    l->dl = dlopen(spec, RTLD_NOW | RTLD_LOCAL);
    if(!l->dl) {
      const char *e = dlerror();
      snprintf(l->error, sizeof(l->error), "cannot load adapter %s: %s", spec,
               e ? e : "unknown error");
      return -1;
    }
    sym = dlsym(l->dl, ESMC_ADAPTER_ENTRY_SYMBOL);
    if(!sym) {
      snprintf(l->error, sizeof(l->error),
               "adapter %s does not export the symbol %s", spec,
               ESMC_ADAPTER_ENTRY_SYMBOL);
      return -1;
    }
    memcpy(&entry, &sym, sizeof(entry));
    l->a = entry(ESMC_ABI_VERSION);
  }
  if(esmc_adapter_check(l->a, l->error, sizeof(l->error))) {
    char tmp[sizeof(l->error)];
    memcpy(tmp, l->error, sizeof(tmp));
    snprintf(l->error, sizeof(l->error), "adapter %.200s: %.300s", spec, tmp);
    l->a = NULL;
    return -1;
  }
  return 0;
}

void esmc_adapter_unload(struct esmc_loaded_adapter *l)
{
  if(l->dl)
    dlclose(l->dl);
  memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------------------ */

uint64_t esmc_case_seed(uint64_t run_seed, const char *case_id)
{
  uint64_t h = esmc_fnv1a(ESMC_FNV_INIT, &run_seed, sizeof(run_seed));
  return esmc_fnv1a(h, case_id, strlen(case_id)) & ((UINT64_C(1) << 53) - 1);
}

void esmc_case_result_free(struct esmc_case_result *r)
{
  esmc_free(r->id);
  esmc_free(r->reason);
  esmc_violations_free(&r->violations);
  memset(r, 0, sizeof(*r));
}

static double wall_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void set_reason(struct esmc_case_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(struct esmc_case_result *r, const char *fmt, ...)
{
  struct esmc_buf b;
  va_list ap;
  esmc_buf_init(&b);
  va_start(ap, fmt);
  esmc_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  esmc_free(r->reason);
  r->reason = b.data;
}

static void caps_missing(uint64_t need, struct esmc_buf *out)
{
  uint64_t bit;
  for(bit = 1; bit; bit <<= 1) {
    if(need & bit) {
      const char *n = esmc_cap_name(bit);
      esmc_buf_printf(out, "%s%s", out->len ? ", " : "", n ? n : "?");
    }
  }
}

/* The verdict from the run's outcome and the checkers' findings. */
static void judge(const struct esmc_world *w, const struct esmc_run_outcome *o,
                  struct esmc_case_result *r)
{
  size_t i;
  int must = 0, should = 0;
  const struct esmc_history *h = &w->hist;

  switch(o->end) {
  case ESMC_END_FATAL:
    r->verdict = ESMC_V_ERROR;
    set_reason(r, "%s", o->detail);
    return;
  case ESMC_END_CONTRACT:
    r->verdict = ESMC_V_ERROR;
    set_reason(r, "the adapter broke the ABI contract: %s", o->detail);
    return;
  case ESMC_END_STEP_LIMIT:
    r->verdict = ESMC_V_TIMEOUT;
    set_reason(r, "%s", o->detail);
    return;
  case ESMC_END_OOM:
    r->verdict = ESMC_V_ERROR;
    set_reason(r, "the harness ran out of memory");
    return;
  default:
    break;
  }
  if(o->create_unsupported && !w->sc->expect.config_error_code) {
    r->verdict = ESMC_V_UNSUPPORTED;
    set_reason(r, "the adapter declined the configuration: %s", o->create_error);
    return;
  }
  for(i = 0; i < h->n; i++) {
    if(h->ev[i].kind == ESMC_H_UPDATE && h->ev[i].status == ESMC_E_UNSUPPORTED) {
      r->verdict = ESMC_V_UNSUPPORTED;
      set_reason(r, "the adapter declined an update at t=%" PRId64 " ms: %s",
                 h->ev[i].t, h->ev[i].text ? h->ev[i].text : "");
      return;
    }
  }
  if(esmc_check_all(w, o, &r->violations)) {
    r->verdict = ESMC_V_ERROR;
    set_reason(r, "the harness ran out of memory while checking");
    return;
  }
  for(i = 0; i < r->violations.n; i++) {
    if(r->violations.v[i].level == ESMC_MUST)
      must = 1;
    else
      should = 1;
  }
  r->verdict = must ? ESMC_V_FAIL : should ? ESMC_V_NON_STRICT : ESMC_V_PASS;
}

int esmc_run_case_world(const struct esmc_run_opts *opts,
                        const struct esmc_scenario *sc,
                        struct esmc_case_result *r, struct esmc_world **world)
{
  struct esmc_world *w = NULL;
  struct esmc_run_outcome o;
  uint64_t missing;
  double t0 = wall_now_ms();

  memset(r, 0, sizeof(*r));
  r->id = esmc_strdup(sc->id ? sc->id : "?");
  r->sc = sc;
  r->seed = esmc_case_seed(opts->seed, sc->id ? sc->id : "");
  if(world)
    *world = NULL;
  missing = sc->requires & ~opts->adapter->capabilities;
  if(missing) {
    struct esmc_buf b;
    esmc_buf_init(&b);
    caps_missing(missing, &b);
    r->verdict = ESMC_V_UNSUPPORTED;
    set_reason(r, "the adapter lacks: %s", b.data ? b.data : "");
    esmc_buf_free(&b);
    return 0;
  }
  if(esmc_world_new(sc, r->seed, &w)) {
    r->verdict = ESMC_V_ERROR;
    set_reason(r, "the harness ran out of memory building the world");
    return -1;
  }
  esmc_world_run(w, opts->adapter, &o);
  r->sim_ms = w->now;
  r->digest = esmc_history_digest(&w->hist);
  r->events = w->hist.n;
  judge(w, &o, r);
  /* ---- an adapter process (issue 6): its crash, time-out or protocol
   * error decides the verdict, and its stderr goes with the reason. */
  if(esmc_proxy_is(opts->adapter)) {
    char *why = NULL, *tail = NULL;
    enum esmc_proxy_note k = esmc_proxy_end_case(&why, &tail);
    if(k != ESMC_PROXY_NOTE_NONE && why) {
      r->verdict = k == ESMC_PROXY_NOTE_CRASH     ? ESMC_V_CRASH
                   : k == ESMC_PROXY_NOTE_TIMEOUT ? ESMC_V_TIMEOUT
                                                  : ESMC_V_ERROR;
      esmc_violations_free(&r->violations);
      esmc_free(r->reason);
      r->reason = why;
      why = NULL;
    } else if(tail && (r->verdict == ESMC_V_ERROR || r->verdict == ESMC_V_CRASH ||
                       r->verdict == ESMC_V_TIMEOUT)) {
      set_reason(r, "%s; stderr: %s", r->reason ? r->reason : "", tail);
    }
    esmc_free(why);
    esmc_free(tail);
  }
  /* ---- end of the adapter process's verdict. */
  r->wall_ms = wall_now_ms() - t0;
  if(world)
    *world = w;
  else
    esmc_world_free(w);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Isolation: the child writes its result as length-prefixed fields.         */

static void put_u64(struct esmc_buf *b, uint64_t v) { esmc_buf_put(b, &v, sizeof(v)); }

static void put_str(struct esmc_buf *b, const char *s)
{
  uint64_t n = s ? strlen(s) : UINT64_MAX;
  put_u64(b, n);
  if(s)
    esmc_buf_put(b, s, (size_t)n);
}

static void serialize(const struct esmc_case_result *r, struct esmc_buf *b)
{
  size_t i;
  put_u64(b, (uint64_t)r->verdict);
  put_u64(b, r->digest);
  put_u64(b, (uint64_t)r->sim_ms);
  put_u64(b, r->events);
  put_str(b, r->reason);
  put_u64(b, r->violations.n);
  for(i = 0; i < r->violations.n; i++) {
    const struct esmc_violation *v = &r->violations.v[i];
    put_str(b, v->property);
    put_u64(b, (uint64_t)v->level);
    put_u64(b, (uint64_t)v->t);
    put_u64(b, v->more);
    put_str(b, v->message);
  }
}

struct reader {
  const char *p;
  size_t n;
  int bad;
};

static uint64_t get_u64(struct reader *rd)
{
  uint64_t v = 0;
  if(rd->n < sizeof(v)) {
    rd->bad = 1;
    return 0;
  }
  memcpy(&v, rd->p, sizeof(v));
  rd->p += sizeof(v);
  rd->n -= sizeof(v);
  return v;
}

static char *get_str(struct reader *rd)
{
  uint64_t n = get_u64(rd);
  char *s;
  if(n == UINT64_MAX || rd->bad)
    return NULL;
  if(n > rd->n) {
    rd->bad = 1;
    return NULL;
  }
  s = esmc_strndup(rd->p, (size_t)n);
  rd->p += n;
  rd->n -= (size_t)n;
  return s;
}

/* Property names come back as the static strings of properties.def. */
static const char *const property_names[] = {
#define ESMC_PROPERTY(name, rules, level, summary) #name,
#include "properties.def"
#undef ESMC_PROPERTY
};
static const char *const property_rules[] = {
#define ESMC_PROPERTY(name, rules, level, summary) rules,
#include "properties.def"
#undef ESMC_PROPERTY
};

static int deserialize(const char *p, size_t n, struct esmc_case_result *r)
{
  struct reader rd = {p, n, 0};
  uint64_t i, nv;
  r->verdict = (enum esmc_verdict)get_u64(&rd);
  r->digest = get_u64(&rd);
  r->sim_ms = (int64_t)get_u64(&rd);
  r->events = get_u64(&rd);
  r->reason = get_str(&rd);
  nv = get_u64(&rd);
  for(i = 0; i < nv && !rd.bad; i++) {
    struct esmc_violation v;
    char *prop = get_str(&rd);
    size_t k;
    memset(&v, 0, sizeof(v));
    v.property = "?";
    v.rules = "";
    for(k = 0; prop && k < sizeof(property_names) / sizeof(property_names[0]); k++)
      if(strcmp(prop, property_names[k]) == 0) {
        v.property = property_names[k];
        v.rules = property_rules[k];
      }
    esmc_free(prop);
    v.level = (enum esmc_level)get_u64(&rd);
    v.t = (int64_t)get_u64(&rd);
    v.more = (uint32_t)get_u64(&rd);
    v.message = get_str(&rd);
    if(r->violations.n == r->violations.cap &&
       esmc__vec_grow((void **)&r->violations.v, &r->violations.cap,
                      sizeof(*r->violations.v))) {
      esmc_free(v.message);
      return -1;
    }
    r->violations.v[r->violations.n++] = v;
  }
  return rd.bad || r->verdict >= ESMC_V__COUNT ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
  while(n) {
    ssize_t k = write(fd, p, n);
    if(k < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* ---- per-case limits of the isolated child (issue 6) ----------------- */
#if defined(__SANITIZE_ADDRESS__)
#define ESMC_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ESMC_UNDER_ASAN 1
#endif
#endif

/* The memory limit, as an address-space limit. ASan reserves terabytes of
 * shadow memory up front, so under ASan there is no limit. The wall-time
 * limit is the parent's: it kills the child (TIMEOUT); a CPU-time limit a
 * little above it catches a child the parent could not reap. */
static void limit_child(const struct esmc_run_opts *opts)
{
  struct rlimit rl;
  double wall = opts->timeout_s > 0 ? opts->timeout_s : 60;
  rl.rlim_cur = (rlim_t)wall + 5;
  rl.rlim_max = (rlim_t)wall + 10;
  setrlimit(RLIMIT_CPU, &rl);
#ifndef ESMC_UNDER_ASAN
  if(opts->memory_limit_mb > 0) {
    rl.rlim_cur = rl.rlim_max = (rlim_t)opts->memory_limit_mb * 1024 * 1024;
    setrlimit(RLIMIT_AS, &rl);
  }
#endif
}

int esmc_runner_memory_limited(void)
{
#ifdef ESMC_UNDER_ASAN
  return 0;
#else
  return 1;
#endif
}
/* ---- end of per-case limits ------------------------------------------ */

static int run_isolated(const struct esmc_run_opts *opts,
                        const struct esmc_scenario *sc,
                        struct esmc_case_result *r)
{
  int fds[2], status = 0, timed_out = 0;
  pid_t pid;
  struct esmc_buf in;
  double t0 = wall_now_ms(), limit = opts->timeout_s > 0 ? opts->timeout_s * 1000 : 60000;

  memset(r, 0, sizeof(*r));
  r->id = esmc_strdup(sc->id ? sc->id : "?");
  r->sc = sc;
  r->seed = esmc_case_seed(opts->seed, sc->id ? sc->id : "");
  if(pipe(fds))
    return esmc_run_case_world(opts, sc, r, NULL);
  fflush(NULL);
  pid = fork();
  if(pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return esmc_run_case_world(opts, sc, r, NULL);
  }
  if(pid == 0) {
    struct esmc_case_result cr;
    struct esmc_buf out;
    static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE,
                                        SIGABRT};
    size_t k;
    /* A crash must kill the child, whatever handlers the parent set. */
    for(k = 0; k < sizeof(crash_signals) / sizeof(crash_signals[0]); k++)
      signal(crash_signals[k], SIG_DFL);
    limit_child(opts);
    close(fds[0]);
    esmc_run_case_world(opts, sc, &cr, NULL);
    esmc_buf_init(&out);
    serialize(&cr, &out);
    put_u64(&out, UINT64_C(0x454e44)); /* end marker */
    write_all(fds[1], out.data, out.len);
    esmc_buf_free(&out);
    esmc_case_result_free(&cr);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  esmc_buf_init(&in);
  for(;;) {
    struct pollfd pfd = {fds[0], POLLIN, 0};
    double left = limit - (wall_now_ms() - t0);
    char chunk[65536];
    ssize_t k;
    int pr;
    if(left <= 0) {
      timed_out = 1;
      kill(pid, SIGKILL);
      break;
    }
    pr = poll(&pfd, 1, (int)(left < 1000 ? left + 1 : 1000));
    if(pr < 0 && errno == EINTR)
      continue;
    if(pr == 0)
      continue;
    k = read(fds[0], chunk, sizeof(chunk));
    if(k < 0 && errno == EINTR)
      continue;
    if(k <= 0)
      break;
    esmc_buf_put(&in, chunk, (size_t)k);
  }
  close(fds[0]);
  while(waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  r->wall_ms = wall_now_ms() - t0;
  if(timed_out) {
    r->verdict = ESMC_V_TIMEOUT;
    set_reason(r, "the case ran longer than %g s of wall-clock time", limit / 1000);
  } else if(WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    r->verdict = ESMC_V_CRASH;
    set_reason(r, "the adapter crashed: signal %d (%s)", sig, strsignal(sig));
  } else if(!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
            in.len < sizeof(uint64_t) ||
            deserialize(in.data, in.len - sizeof(uint64_t), r)) {
    r->verdict = ESMC_V_CRASH;
    set_reason(r, "the case process exited with status %d before reporting",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  esmc_buf_free(&in);
  return 0;
}

int esmc_run_case(const struct esmc_run_opts *opts,
                  const struct esmc_scenario *sc, struct esmc_case_result *r)
{
  /* ---- expectation files (issue 6): skip, then XFAIL/XPASS after judge. */
  const struct esmc_expectation *x =
      esmc_expect_find(opts->expect, sc->id ? sc->id : "");
  int rc;
  if(x && x->verdict == ESMC_V_SKIP) {
    memset(r, 0, sizeof(*r));
    r->id = esmc_strdup(sc->id ? sc->id : "?");
    r->sc = sc;
    r->seed = esmc_case_seed(opts->seed, sc->id ? sc->id : "");
    r->verdict = ESMC_V_SKIP;
    set_reason(r, "skipped by the expectation file: %s",
               x->reason ? x->reason : "no reason given");
    return 0;
  }
  if(opts->isolate)
    rc = run_isolated(opts, sc, r);
  else
    rc = esmc_run_case_world(opts, sc, r, NULL);
  esmc_expect_apply(x, r);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* The timeline (esmcheck explain).                                          */

static const char *outcome_name(int64_t o)
{
  switch(o) {
  case ESMC_INVOKE_OK: return "ok";
  case ESMC_INVOKE_FUNCTION_ERROR: return "function error";
  case ESMC_INVOKE_THROTTLED: return "throttled";
  case ESMC_INVOKE_SERVICE_ERROR: return "service error";
  default: return "?";
  }
}

static const char *iter_name(int64_t t)
{
  switch(t) {
  case ESMC_ITER_TRIM_HORIZON: return "TRIM_HORIZON";
  case ESMC_ITER_LATEST: return "LATEST";
  case ESMC_ITER_AT_TIMESTAMP: return "AT_TIMESTAMP";
  case ESMC_ITER_AT_SEQUENCE_NUMBER: return "AT_SEQUENCE_NUMBER";
  case ESMC_ITER_AFTER_SEQUENCE_NUMBER: return "AFTER_SEQUENCE_NUMBER";
  default: return "?";
  }
}

static void print_ids(const struct esmc_world *w, const uint32_t *rids,
                      uint32_t n, FILE *out)
{
  uint32_t k;
  for(k = 0; k < n; k++) {
    if(k == 12 && n > 16) {
      fprintf(out, " ... (%u more)", n - 12);
      break;
    }
    fprintf(out, "%s%s", k ? " " : "", esmc_world_record_name(w, rids[k]));
  }
}

static void print_shard_range(const struct esmc_world *w, uint32_t shard,
                              int64_t first, int64_t count, FILE *out)
{
  const struct esmc_wshard *sh;
  if(shard >= w->nshards || count <= 0) {
    fprintf(out, "(none)");
    return;
  }
  sh = &w->shards[shard];
  fprintf(out, "%s", esmc_world_record_name(w, sh->rids[first]));
  if(count > 1)
    fprintf(out, "..%s", esmc_world_record_name(w, sh->rids[first + count - 1]));
}

/* A fault's error as the case file names it. */
static const char *fault_error_name(esmc_status st)
{
  switch(st) {
  case ESMC_E_THROTTLED: return "throttled";
  case ESMC_E_SERVICE: return "service";
  case ESMC_E_ACCESS_DENIED: return "access_denied";
  case ESMC_E_EXPIRED_ITERATOR: return "expired_iterator";
  default: return "an error";
  }
}

void esmc_print_timeline(const struct esmc_world *w, FILE *out)
{
  const struct esmc_history *h = &w->hist;
  size_t i;
  unsigned long inv_no = 0;
  int multi = w->sc && esmc_scenario_mapping_count(w->sc) > 1;
  /* With several mappings, invocations are numbered per mapping, as the
   * checkers' messages number them: number[id - 1] for invocation id. */
  unsigned long *number = NULL, *count = NULL;
  size_t ninv = 0;
  if(multi) {
    for(i = 0; i < h->n; i++)
      if(h->ev[i].kind == ESMC_H_INVOKE && h->ev[i].id > ninv)
        ninv = (size_t)h->ev[i].id;
    number = esmc_calloc(ninv ? ninv : 1, sizeof(*number));
    count = esmc_calloc(esmc_scenario_mapping_count(w->sc), sizeof(*count));
    if(!number || !count)
      multi = 0; /* out of memory: global numbers, no mapping names */
  }
  for(i = 0; i < h->n; i++) {
    const struct esmc_hevent *e = &h->ev[i];
    const char *sid = e->shard < w->nshards ? w->shards[e->shard].id : "-";
    if(e->kind == ESMC_H_TIMER_SET || e->kind == ESMC_H_TIMER_FIRE ||
       e->kind == ESMC_H_TIMER_CANCEL)
      continue; /* noise; the digest still covers them */
    if(e->kind == ESMC_H_GET_RECORDS && e->status == 0 && e->b == 0)
      continue; /* an empty poll */
    if((e->kind == ESMC_H_RECEIVE && e->status == 0) ||
       (e->kind == ESMC_H_RECEIVED && e->nrids == 0))
      continue; /* a queue poll, or an empty one */
    fprintf(out, "%10.3fs  ", (double)e->t / 1000.0);
    if(multi && e->kind != ESMC_H_APPEND && e->kind != ESMC_H_END &&
       e->kind != ESMC_H_DEAD_LETTER && e->kind != ESMC_H_MESSAGE_EXPIRED &&
       e->kind != ESMC_H_FAULT)
      fprintf(out, "[%s] ", esmc_scenario_mapping_name(w->sc, e->mapping));
    switch(e->kind) {
    case ESMC_H_APPEND:
      fprintf(out, "append     %s: ", sid);
      print_shard_range(w, e->shard, e->a, e->b, out);
      break;
    case ESMC_H_CREATE:
      fprintf(out, "%s", e->a ? "restart    create" : "create    ");
      if(e->status)
        fprintf(out, " rejected (%d): %s", e->status, e->text ? e->text : "");
      else
        fprintf(out, " ok");
      break;
    case ESMC_H_UPDATE:
      fprintf(out, "update     %s", e->status ? "rejected: " : "ok");
      if(e->status && e->text)
        fprintf(out, "%s", e->text);
      break;
    case ESMC_H_DESTROY:
      fprintf(out, "destroy%s", e->a ? "    (restart)" : "");
      break;
    case ESMC_H_LIST_SHARDS:
      fprintf(out, "list       %" PRId64 " shard(s)", e->a);
      break;
    case ESMC_H_GET_ITERATOR:
      fprintf(out, "iterator   %s %s at index %" PRId64 "%s", sid,
              iter_name(e->a), e->b, e->status ? " (failed)" : "");
      break;
    case ESMC_H_GET_RECORDS:
      fprintf(out, "poll       %s: ", sid);
      if(e->status)
        fprintf(out, "failed (%d)", e->status);
      else
        print_shard_range(w, e->shard, e->a, e->b, out);
      break;
    case ESMC_H_INVOKE:
      inv_no++;
      if(multi && e->mapping < esmc_scenario_mapping_count(w->sc) &&
         e->id >= 1 && e->id <= ninv)
        inv_no = number[e->id - 1] = ++count[e->mapping];
      fprintf(out, "invoke #%-3lu %s [", inv_no, sid);
      print_ids(w, e->rids, e->nrids, out);
      fprintf(out, "] %" PRId64 " bytes, attempt %" PRId64, e->a, e->b);
      if(e->text)
        fprintf(out, "  SHAPE: %s", e->text);
      break;
    case ESMC_H_COMPLETE:
      fprintf(out, "result #%-3" PRIu64 " %s (%d)",
              multi && e->id >= 1 && e->id <= ninv ? (uint64_t)number[e->id - 1]
                                                    : e->id,
              outcome_name(e->a), e->status);
      if(e->text_len)
        fprintf(out, " %.*s", e->text_len > 160 ? 160 : (int)e->text_len, e->text);
      break;
    case ESMC_H_CHECKPOINT:
      fprintf(out, "checkpoint %s at ", sid);
      if(e->a >= 0 && e->shard < w->nshards)
        fprintf(out, "%s", esmc_world_record_name(w, w->shards[e->shard].rids[e->a]));
      else
        fprintf(out, "(before the first record)");
      fprintf(out, " (seq %s)", e->text ? e->text : "?");
      break;
    case ESMC_H_DEST_SEND:
      fprintf(out, "failure    -> %s%s: %.*s", e->text2 ? e->text2 : "?",
              e->status ? " (FAILED)" : "",
              e->text_len > 400 ? 400 : (int)e->text_len, e->text ? e->text : "");
      break;
    case ESMC_H_LOG:
      fprintf(out, "log        %s", e->text ? e->text : "");
      break;
    case ESMC_H_FAULT:
      if((e->a == ESMC_CASE_SPLIT || e->a == ESMC_CASE_MERGE ||
          e->a == ESMC_CASE_ROLLOVER) && e->shard < w->nshards &&
         e->id + (e->a == ESMC_CASE_SPLIT) < w->nshards) {
        const struct esmc_wshard *c = &w->shards[e->id];
        if(e->a == ESMC_CASE_SPLIT)
          fprintf(out, "reshard    split %s into %s and %s", sid, c->id,
                  w->shards[e->id + 1].id);
        else if(e->a == ESMC_CASE_MERGE && c->nparents > 1)
          fprintf(out, "reshard    merge %s and %s into %s", sid,
                  w->shards[c->parents[1]].id, c->id);
        else
          fprintf(out, "reshard    roll %s over to %s", sid, c->id);
        break;
      }
      if(e->a == ESMC_CASE_FAULT && w->sc && e->b >= 0 &&
         (size_t)e->b < w->sc->event_count) {
        const struct esmc_fault_spec *f = &w->sc->events[e->b].fault;
        unsigned k, first = 1;
        fprintf(out, "fault      %s ", e->id ? "healed:" : "from now:");
        for(k = 0; k < ESMC_FC_COUNT; k++)
          if(f->calls & (1u << k)) {
            fprintf(out, "%s%s", first ? "" : ", ", esmc_fault_call_name(k));
            first = 0;
          }
        fprintf(out, " fail with %s", fault_error_name(f->error));
        if(f->every > 1)
          fprintf(out, " (every %d. call)", f->every);
        if(f->mapping >= 0)
          fprintf(out, " for mapping %s",
                  esmc_scenario_mapping_name(w->sc, (size_t)f->mapping));
        if(!e->id && f->until_ms < INT64_MAX)
          fprintf(out, " until t=%" PRId64 " ms", f->until_ms);
        break;
      }
      if(e->a == ESMC_CASE_TRIM && w->sc && e->b >= 0 &&
         (size_t)e->b < w->sc->event_count) {
        fprintf(out, "trim       %s: records appended before t=%" PRId64
                " ms are gone", sid, w->sc->events[e->b].trim_before_ms);
        break;
      }
      if(e->a == ESMC_CASE_RESTART && multi)
        fprintf(out, "fault      restart mapping %s",
                esmc_scenario_mapping_name(w->sc, e->mapping));
      else
        fprintf(out, "fault      %s",
                e->a == ESMC_CASE_RESTART ? "restart the mapper"
                : e->a == ESMC_CASE_DESTINATION_DOWN ? "destination down"
                                                     : "destination up");
      break;
    case ESMC_H_CONTRACT:
      fprintf(out, "CONTRACT   %s", e->text ? e->text : "");
      break;
    case ESMC_H_END:
      fprintf(out, "end        (%s)", e->a ? "horizon" : "quiescent");
      break;
    case ESMC_H_RECEIVE:
      fprintf(out, "receive    failed (%d)", e->status);
      break;
    case ESMC_H_RECEIVED:
      fprintf(out, "received   [");
      print_ids(w, e->rids, e->nrids, out);
      fprintf(out, "]");
      break;
    case ESMC_H_DELETE:
      fprintf(out, "delete     %s%s",
              e->a >= 0 ? esmc_world_record_name(w, (uint32_t)e->a) : "?",
              e->status == ESMC_E_NOT_FOUND ? " (unknown handle)"
              : e->status                   ? " (failed)"
              : e->b                        ? ""
                                            : " (stale handle)");
      break;
    case ESMC_H_VISIBILITY:
      fprintf(out, "visibility %s %" PRId64 " s%s",
              e->a >= 0 ? esmc_world_record_name(w, (uint32_t)e->a) : "?",
              e->b, e->status ? " (failed)" : "");
      break;
    case ESMC_H_DEAD_LETTER:
      fprintf(out, "dead-letter %s after %" PRId64 " receives",
              esmc_world_record_name(w, (uint32_t)e->a), e->b);
      break;
    case ESMC_H_MESSAGE_EXPIRED:
      fprintf(out, "expired    %s", esmc_world_record_name(w, (uint32_t)e->a));
      break;
    default:
      fprintf(out, "%s", esmc_hkind_name(e->kind));
    }
    fputc('\n', out);
  }
  esmc_free(number);
  esmc_free(count);
}

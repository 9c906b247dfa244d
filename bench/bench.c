/*
 * bench.c: esmcheck's benchmark. A generated stream scenario (default 1M
 * records over 64 shards) runs through the world, then every checker, twice
 * side by side: once driven by a trivial mapper (the floor: it polls, builds
 * the payload, invokes and checkpoints, nothing else) and once by the
 * reference mapper. Each run is a forked child so its peak memory is its own.
 * Prints records per second, peak RSS and the ratios. Not a timed test.
 *
 *   build/esmcheck-bench [--records N] [--shards S] [--batch B] [--seed N]
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* wait4 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "runner.h"
#include "scenario.h"
#include "world.h"

const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

/* ------------------------------------------------------------------------ */
/* The trivial mapper: every shard serially, no windows, no retries, no     */
/* validation. It is the floor the reference is measured against.          */

struct triv_shard {
  const char *id;
  esmc_iterator it;
  const struct esmc_record *const *recs; /* valid until the next poll */
  size_t n;
  char last_seq[64];
  esmc_invocation inflight;
};

struct triv {
  const struct esmc_host *h;
  struct triv_shard *sh;
  size_t nsh;
  uint32_t batch;
  char arn[256];
  struct esmc_buf payload;
};

static void triv_poll(struct triv *t, size_t s);

static void triv_put_record(struct esmc_buf *b, const struct triv *t,
                            const struct esmc_record *r)
{
  esmc_buf_puts(b, "{\"kinesis\":{\"kinesisSchemaVersion\":\"1.0\",\"partitionKey\":");
  esmc_buf_json_str(b, r->partition_key, strlen(r->partition_key));
  esmc_buf_printf(b, ",\"sequenceNumber\":\"%s\",\"data\":\"", r->sequence_number);
  esmc_buf_base64(b, r->data, r->data_len);
  esmc_buf_printf(b, "\",\"approximateArrivalTimestamp\":%lld.%03d},"
                     "\"eventSource\":\"aws:kinesis\",\"eventVersion\":\"1.0\","
                     "\"eventID\":\"%s:%s\",\"eventName\":\"aws:kinesis:record\","
                     "\"invokeIdentityArn\":\"arn:aws:iam::123456789012:role/"
                     "esmcheck-function-role\",\"awsRegion\":\"us-east-1\","
                     "\"eventSourceARN\":\"%s\"}",
                  (long long)(r->approximate_arrival_ms / 1000),
                  (int)(r->approximate_arrival_ms % 1000), r->shard_id,
                  r->sequence_number, t->arn);
}

static void triv_invoke(struct triv *t, size_t s)
{
  struct triv_shard *sh = &t->sh[s];
  size_t k;
  esmc_buf_reset(&t->payload);
  esmc_buf_puts(&t->payload, "{\"Records\":[");
  for(k = 0; k < sh->n; k++) {
    if(k)
      esmc_buf_putc(&t->payload, ',');
    triv_put_record(&t->payload, t, sh->recs[k]);
  }
  esmc_buf_puts(&t->payload, "]}");
  snprintf(sh->last_seq, sizeof(sh->last_seq), "%s",
           sh->recs[sh->n - 1]->sequence_number);
  t->h->invoke(t->h->ctx, (const uint8_t *)t->payload.data, t->payload.len,
               &sh->inflight);
}

static void triv_poll(struct triv *t, size_t s)
{
  struct triv_shard *sh = &t->sh[s];
  struct esmc_get_records_result res;
  if(t->h->get_records(t->h->ctx, sh->it, t->batch, &res) != ESMC_OK)
    return;
  sh->it = res.next_iterator;
  if(res.count == 0) {
    t->h->set_timer(t->h->ctx, t->h->now(t->h->ctx) + 1000, s);
    return;
  }
  sh->recs = res.records;
  sh->n = res.count;
  triv_invoke(t, s);
}

static esmc_status triv_create(const struct esmc_host *h,
                               const struct esmc_mapping_config *cfg,
                               void **out, struct esmc_error *err)
{
  struct triv *t = calloc(1, sizeof(*t));
  const struct esmc_shard *shards;
  size_t n, s;
  (void)err;
  if(!t)
    return ESMC_E_NOMEM;
  t->h = h;
  t->batch = cfg->batch_size > 0 ? (uint32_t)cfg->batch_size : 100;
  snprintf(t->arn, sizeof(t->arn), "%s", cfg->event_source_arn);
  h->list_shards(h->ctx, &shards, &n);
  t->sh = calloc(n ? n : 1, sizeof(*t->sh));
  t->nsh = n;
  for(s = 0; s < n; s++) {
    t->sh[s].id = shards[s].shard_id;
    h->get_shard_iterator(h->ctx, shards[s].shard_id, ESMC_ITER_TRIM_HORIZON,
                          NULL, 0, &t->sh[s].it);
    h->set_timer(h->ctx, h->now(h->ctx), s);
  }
  *out = t;
  return ESMC_OK;
}

static esmc_status triv_on_timer(void *m, uint64_t token)
{
  triv_poll(m, (size_t)token);
  return ESMC_OK;
}

static esmc_status triv_complete(void *m, esmc_invocation inv,
                                 const struct esmc_invoke_result *r)
{
  struct triv *t = m;
  size_t s;
  (void)r;
  for(s = 0; s < t->nsh; s++) {
    struct triv_shard *sh = &t->sh[s];
    if(sh->inflight == inv) {
      t->h->checkpoint(t->h->ctx, sh->id, sh->last_seq);
      sh->inflight = 0;
      triv_poll(t, s);
      break;
    }
  }
  return ESMC_OK;
}

static void triv_destroy(void *m)
{
  struct triv *t = m;
  if(!t)
    return;
  esmc_buf_free(&t->payload);
  free(t->sh);
  free(t);
}

static const struct esmc_adapter trivial_adapter = {
    .abi_version = ESMC_ABI_VERSION,
    .struct_size = sizeof(struct esmc_adapter),
    .name = "trivial",
    .version = "0",
    .capabilities = ESMC_CAP_KINESIS,
    .create = triv_create,
    .on_timer = triv_on_timer,
    .on_invoke_complete = triv_complete,
    .destroy = triv_destroy};

/* ------------------------------------------------------------------------ */

static int build_scenario(struct esmc_scenario *sc, uint32_t records,
                          uint32_t shards, int32_t batch)
{
  uint32_t i;
  char id[32], key[32];
  esmc_scenario_init(sc);
  sc->id = esmc_strdup("bench");
  sc->source = ESMC_SOURCE_KINESIS;
  sc->shard_count = (int32_t)shards;
  sc->config.starting_position = ESMC_START_TRIM_HORIZON;
  sc->config.batch_size = batch;
  sc->records = esmc_calloc(records, sizeof(*sc->records));
  if(!sc->records)
    return -1;
  sc->record_count = records;
  for(i = 0; i < records; i++) {
    struct esmc_case_record *r = &sc->records[i];
    snprintf(id, sizeof(id), "g%u", i + 1);
    snprintf(key, sizeof(key), "k%u", i % (shards * 4));
    r->id = esmc_strdup(id);
    r->partition_key = esmc_strdup(key);
    r->shard = (int32_t)(i % shards);
    r->at_ms = (int64_t)(i / shards) * 10; /* each shard: 100 records/s */
    r->data_len = 64;
    r->data = esmc_malloc(64);
    if(!r->id || !r->partition_key || !r->data)
      return -1;
    memset(r->data, 'a' + (int)(i % 26), 64);
  }
  return 0;
}

struct result {
  double world_s, check_s;
  uint64_t events, invocations;
  size_t violations;
  uint64_t digest;
};

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_one(const struct esmc_scenario *sc, const struct esmc_adapter *a,
                    uint64_t seed, struct result *res)
{
  struct esmc_world *w;
  struct esmc_run_outcome o;
  struct esmc_violations v;
  size_t i;
  double t0;
  memset(res, 0, sizeof(*res));
  memset(&v, 0, sizeof(v));
  if(esmc_world_new(sc, seed, &w))
    return;
  t0 = now_s();
  esmc_world_run(w, a, &o);
  res->world_s = now_s() - t0;
  t0 = now_s();
  esmc_check_all(w, &o, &v);
  res->check_s = now_s() - t0;
  res->events = w->hist.n;
  for(i = 0; i < w->hist.n; i++)
    res->invocations += w->hist.ev[i].kind == ESMC_H_INVOKE;
  res->violations = v.n;
  for(i = 0; i < v.n; i++)
    fprintf(stderr, "  violation %s: %s\n", v.v[i].property, v.v[i].message);
  res->digest = esmc_history_digest(&w->hist);
  esmc_violations_free(&v);
  esmc_world_free(w);
}

/* Run in a child; returns its peak RSS in KiB. */
static long run_child(const struct esmc_scenario *sc,
                      const struct esmc_adapter *a, uint64_t seed,
                      struct result *res)
{
  int fds[2], status;
  pid_t pid;
  struct rusage ru;
  if(pipe(fds))
    return -1;
  fflush(NULL);
  pid = fork();
  if(pid == 0) {
    struct result r;
    close(fds[0]);
    run_one(sc, a, seed, &r);
    if(write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
      _exit(1);
    _exit(0);
  }
  close(fds[1]);
  memset(res, 0, sizeof(*res));
  if(read(fds[0], res, sizeof(*res)) != (ssize_t)sizeof(*res))
    fprintf(stderr, "bench: the %s run died\n", a->name);
  close(fds[0]);
  if(wait4(pid, &status, 0, &ru) < 0)
    return -1;
  return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
  uint32_t records = 1000000, shards = 64;
  int32_t batch = 100;
  uint64_t seed = 1;
  struct esmc_scenario sc;
  struct result floor_r, ref_r;
  long floor_kb, ref_kb;
  int i;
  double n;
  for(i = 1; i + 1 < argc; i += 2) {
    if(strcmp(argv[i], "--records") == 0)
      records = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if(strcmp(argv[i], "--shards") == 0)
      shards = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if(strcmp(argv[i], "--batch") == 0)
      batch = (int32_t)strtol(argv[i + 1], NULL, 10);
    else if(strcmp(argv[i], "--seed") == 0)
      seed = strtoull(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "usage: esmcheck-bench [--records N] [--shards S] "
                      "[--batch B] [--seed N]\n");
      return 2;
    }
  }
  if(records == 0 || shards == 0 || batch <= 0 || build_scenario(&sc, records, shards, batch)) {
    fprintf(stderr, "bench: bad parameters or out of memory\n");
    return 2;
  }
  printf("esmcheck bench: %u records, %u shards, BatchSize %d, seed %" PRIu64 "\n",
         records, shards, batch, seed);
  floor_kb = run_child(&sc, &trivial_adapter, seed, &floor_r);
  ref_kb = run_child(&sc, esmc_adapter_reference(ESMC_ABI_VERSION), seed, &ref_r);
  n = (double)records;
  printf("%-10s %10s %10s %12s %12s %10s %10s %8s\n", "mapper", "world s",
         "checks s", "records/s", "events", "invokes", "peak MiB", "viol.");
  printf("%-10s %10.2f %10.2f %12.0f %12" PRIu64 " %10" PRIu64 " %10.1f %8zu\n",
         "trivial", floor_r.world_s, floor_r.check_s,
         n / (floor_r.world_s + floor_r.check_s), floor_r.events,
         floor_r.invocations, (double)floor_kb / 1024.0, floor_r.violations);
  printf("%-10s %10.2f %10.2f %12.0f %12" PRIu64 " %10" PRIu64 " %10.1f %8zu\n",
         "reference", ref_r.world_s, ref_r.check_s,
         n / (ref_r.world_s + ref_r.check_s), ref_r.events, ref_r.invocations,
         (double)ref_kb / 1024.0, ref_r.violations);
  printf("ratio reference/trivial: time %.2fx, peak memory %.2fx\n",
         (ref_r.world_s + ref_r.check_s) /
             (floor_r.world_s + floor_r.check_s > 0 ? floor_r.world_s + floor_r.check_s : 1),
         floor_kb > 0 ? (double)ref_kb / (double)floor_kb : 0.0);
  esmc_scenario_free(&sc);
  return ref_r.violations || floor_r.violations ? 1 : 0;
}

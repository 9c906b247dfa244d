/*
 * misbehave.c: in-process adapters that break on purpose, to test how
 * esmcheck classifies them. One source, one shared object per fault: build
 * with -DESMC_MISBEHAVE=<n> (the MB_* values below). Each arms a timer at
 * create() and misbehaves in on_timer() (or in its table).
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esmcheck_adapter.h"

#define MB_SEGV 1          /* a NULL dereference: CRASH */
#define MB_ABORT 2         /* abort(): CRASH */
#define MB_HANG 3          /* an endless loop: TIMEOUT */
#define MB_LEAK 4          /* leaks memory and finishes: a judged verdict */
#define MB_HOG 5           /* allocates until it fails, then gives up: ERROR */
#define MB_BAD_ABI 6       /* declares ABI version 99: load error, ERROR */
#define MB_NULL_METHOD 7   /* a NULL REQUIRED method: load error, ERROR */
#define MB_AFTER_DESTROY 8 /* a host call after destroy(): contract ERROR */
#define MB_NULL_PAYLOAD 9  /* invoke(NULL): contract ERROR */
#define MB_EXIT 10         /* exit(7) in a callback: CRASH */

#ifndef ESMC_MISBEHAVE
#define ESMC_MISBEHAVE MB_SEGV
#endif

struct mb {
  const struct esmc_host *host;
};

/* The host of the last mapping, kept past destroy() on purpose. */
static const struct esmc_host *stale_host;
static volatile uintptr_t bad_address __attribute__((unused)) = 16;
static void *hog_list __attribute__((unused)); /* the memory hog's chain */

static esmc_status mb_create(const struct esmc_host *host,
                             const struct esmc_mapping_config *cfg,
                             void **mapper, struct esmc_error *err)
{
  struct mb *m;
  (void)cfg;
  (void)err;
#if ESMC_MISBEHAVE == MB_AFTER_DESTROY
  if(stale_host)
    stale_host->log(stale_host->ctx, ESMC_LOG_INFO, "a host from the past");
#endif
  m = calloc(1, sizeof(*m));
  if(!m)
    return ESMC_E_NOMEM;
  m->host = host;
  stale_host = host;
  *mapper = m;
  return host->set_timer(host->ctx, host->now(host->ctx) + 10, 1);
}

/* Unused only in the NULL-method build, whose table leaves it out. */
static esmc_status mb_on_timer(void *mapper, uint64_t token)
    __attribute__((unused));
static esmc_status mb_on_timer(void *mapper, uint64_t token)
{
  struct mb *m = mapper;
  (void)token;
  (void)m;
#if ESMC_MISBEHAVE == MB_SEGV
  signal(SIGSEGV, SIG_DFL);
  *(volatile int *)bad_address = 1;
#elif ESMC_MISBEHAVE == MB_ABORT
  abort();
#elif ESMC_MISBEHAVE == MB_HANG
  for(;;)
    bad_address = bad_address + 0;
#elif ESMC_MISBEHAVE == MB_LEAK
  {
    char *p = malloc(1 << 16);
    if(p)
      memset(p, 1, 1 << 16);
    p = NULL; /* leaked */
    if(token < 64)
      return m->host->set_timer(m->host->ctx, m->host->now(m->host->ctx) + 10,
                                token + 1);
  }
#elif ESMC_MISBEHAVE == MB_HOG
  for(;;) {
    char *p = malloc((size_t)64 << 20);
    if(!p)
      return ESMC_E_FATAL;
    memset(p, 1, (size_t)64 << 20);
    /* Kept reachable, so the compiler cannot drop the allocation. */
    memcpy(p, &hog_list, sizeof(hog_list));
    hog_list = p;
  }
#elif ESMC_MISBEHAVE == MB_NULL_PAYLOAD
  {
    esmc_invocation inv = 0;
    m->host->invoke(m->host->ctx, NULL, 10, &inv);
  }
#elif ESMC_MISBEHAVE == MB_EXIT
  exit(7);
#endif
  return ESMC_OK;
}

static esmc_status mb_on_invoke_complete(void *mapper, esmc_invocation inv,
                                         const struct esmc_invoke_result *r)
{
  (void)mapper;
  (void)inv;
  (void)r;
  return ESMC_OK;
}

static void mb_destroy(void *mapper)
{
  free(mapper);
}

static const struct esmc_adapter mb_adapter = {
#if ESMC_MISBEHAVE == MB_BAD_ABI
  .abi_version = 99,
#else
  .abi_version = 1,
#endif
  .struct_size = ESMC_ADAPTER_V1_SIZE,
  .name = "esmc-misbehave",
  .version = "0",
  .capabilities = ESMC_CAP_KINESIS | ESMC_CAP_DYNAMODB | ESMC_CAP_RESTART,
  .create = mb_create,
#if ESMC_MISBEHAVE == MB_NULL_METHOD
  .on_timer = NULL,
#else
  .on_timer = mb_on_timer,
#endif
  .on_invoke_complete = mb_on_invoke_complete,
  .destroy = mb_destroy,
};

ESMC_ADAPTER_ENTRY(misbehave);

ESMC_ADAPTER_ENTRY(misbehave)
{
  (void)host_abi;
  return &mb_adapter;
}

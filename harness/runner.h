/*
 * runner.h: from a scenario and an adapter to a verdict, with isolation.
 */
#ifndef ESMC_RUNNER_H
#define ESMC_RUNNER_H

#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "esmcheck_adapter.h"
#include "scenario.h"

#define ESMC_VERDICT_MAP(X)                                                    \
  X(PASS, "pass")                                                              \
  X(FAIL, "fail")                                                              \
  X(NON_STRICT, "non-strict")                                                  \
  X(UNSUPPORTED, "unsupported")                                                \
  X(SKIP, "skip")                                                              \
  X(XFAIL, "xfail")                                                            \
  X(XPASS, "xpass")                                                            \
  X(ERROR, "error")                                                            \
  X(CRASH, "crash")                                                            \
  X(TIMEOUT, "timeout")

enum esmc_verdict {
#define ESMC_X_(name, str) ESMC_V_##name,
  ESMC_VERDICT_MAP(ESMC_X_)
#undef ESMC_X_
  ESMC_V__COUNT
};

const char *esmc_verdict_name(enum esmc_verdict v);
/* 1 when the verdict makes `esmcheck run` exit non-zero. */
int esmc_verdict_is_failure(enum esmc_verdict v);

/* A loaded adapter: linked in or dlopen'ed. */
struct esmc_loaded_adapter {
  const struct esmc_adapter *a; /* NULL when loading failed */
  void *dl;                     /* dlopen handle, or NULL */
  char error[512];              /* why loading failed */
  char spec[512];               /* what the user asked for */
};

/* "reference" (linked in) or a path to a shared object. Checks the table
 * (version, size, REQUIRED members) before any other call. Returns 0, or -1
 * with l->error set. */
int esmc_adapter_load(const char *spec, struct esmc_loaded_adapter *l);
void esmc_adapter_unload(struct esmc_loaded_adapter *l);
/* Validate an adapter table; returns 0 or -1 with a message in err. */
int esmc_adapter_check(const struct esmc_adapter *a, char *err, size_t n);

struct esmc_case_result {
  char *id;
  enum esmc_verdict verdict;
  struct esmc_violations violations;
  char *reason;             /* skip, unsupported, error, crash, timeout */
  uint64_t seed;
  int64_t sim_ms;           /* simulated duration */
  uint64_t digest;          /* history digest; 0 when nothing ran */
  uint64_t events;          /* history length */
  double wall_ms;
  const struct esmc_scenario *sc; /* borrowed; NULL for load errors */
};

struct esmc_expectations; /* expect_file.h */

struct esmc_run_opts {
  const struct esmc_adapter *adapter;
  uint64_t seed;            /* the run's seed; each case derives its own */
  int isolate;              /* fork a child per case */
  double timeout_s;         /* wall-clock limit per case when isolated */
  /* Third-party adapters (issue 6). */
  const struct esmc_expectations *expect; /* XFAIL/XPASS/skip; may be NULL */
  size_t memory_limit_mb;   /* address-space limit of the isolated child;
                               0: none. Not applied under ASan. */
};

/* The seed a case runs with: derived from the run's seed and the case id,
 * so filtering or adding cases never changes another case's run. */
uint64_t esmc_case_seed(uint64_t run_seed, const char *case_id);

/* Run one scenario to a verdict. With opts->isolate the world runs in a
 * forked child; a signal gives CRASH and the time limit TIMEOUT. With
 * opts->expect the judged verdict may become XFAIL or XPASS, and a case the
 * expectations skip does not run. */
int esmc_run_case(const struct esmc_run_opts *opts,
                  const struct esmc_scenario *sc, struct esmc_case_result *r);
void esmc_case_result_free(struct esmc_case_result *r);

/* 1 when isolated children get opts->memory_limit_mb (not under ASan). */
int esmc_runner_memory_limited(void);

/* Run in-process and keep the world for inspection (explain). The caller
 * frees *world with esmc_world_free(). */
int esmc_run_case_world(const struct esmc_run_opts *opts,
                        const struct esmc_scenario *sc,
                        struct esmc_case_result *r, struct esmc_world **world);

/* Print a human timeline of a finished run. */
void esmc_print_timeline(const struct esmc_world *w, FILE *out);

#endif /* ESMC_RUNNER_H */

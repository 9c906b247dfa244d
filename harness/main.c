/*
 * main.c: the esmcheck command line: run, list, explain.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "case_load.h"
#include "expect_file.h"
#include "proxy.h"
#include "report.h"
#include "runner.h"
#include "world.h"

#define EXIT_USAGE 2
#define EXIT_HARNESS 99
#define DEFAULT_SEED UINT64_C(20241)

#define USAGE_MAIN \
    "usage: esmcheck <command> [options]\n" \
    "\n" \
    "Commands:\n" \
    "  run      run the case corpus against an adapter and write reports\n" \
    "  list     list the cases of a corpus\n" \
    "  explain  run one case and print its timeline and verdict\n" \
    "  coverage list the cases that cite each spec rule\n" \
    "  fuzz-to-case  turn a fuzz input into a minimal JSON case\n" \
    "  mutants  run the corpus against seeded-bug mutants of the reference\n" \
    "\n" \
    "Run 'esmcheck <command> --help' for the options of a command.\n" \
    "esmcheck " ESMC_VERSION ", specification " ESMC_SPEC_VERSION \
    ", adapter ABI %d\n"

static const char *const usage_run =
    "usage: esmcheck run [--adapter reference|PATH.so] [--cases DIR]\n"
    "                    [--report DIR] [--filter ID-or-TAG]... [--seed N]\n"
    "                    [--no-fork] [--timeout SECONDS] [--quiet]\n"
    "                    [--adapter-cmd 'CMD ARGS'] [--validate]\n"
    "                    [--request-timeout SECONDS] [--memory-limit MB]\n"
    "                    [--expect FILE] [--update-expectations FILE]\n"
    "\n"
    "Runs every case under DIR (default: cases) against the adapter (default:\n"
    "the linked-in reference mapper) and writes DIR/results.json and\n"
    "DIR/junit.xml (default report dir: esmcheck-report).\n"
    "\n"
    "  --adapter A    'reference', or a shared object exporting esmc_adapter_entry\n"
    "  --filter F     keep cases whose id or a tag equals F, or whose id matches\n"
    "                 the glob F; repeat to keep the union\n"
    "  --seed N       the run's seed (default 20241); each case derives its own\n"
    "  --no-fork      run cases in this process (faster; no crash isolation)\n"
    "  --timeout S    wall-clock limit per case, in seconds (default 60)\n"
    "  --quiet        print only failures and the summary\n"
    "  --adapter-cmd C  run the adapter as a process speaking the adapter\n"
    "                 protocol (spec/protocol.md); C is split into words (quotes\n"
    "                 and backslashes work as in a shell) and run without a shell\n"
    "  --validate     check every protocol message against spec/protocol\n"
    "  --request-timeout S  time limit of one protocol request (default 10)\n"
    "  --memory-limit MB  address-space limit of each forked case (default\n"
    "                 4096; not applied under AddressSanitizer)\n"
    "  --expect FILE  the adapter's expectation file: a case expected to fail\n"
    "                 that fails is xfail, one that passes is xpass\n"
    "  --update-expectations FILE  write an expectation file from this run\n"
    "\n"
    "Exit status: 0 when no case is fail, error, crash, timeout or xpass;\n"
    "1 otherwise; 2 for usage errors; 99 when esmcheck itself failed.\n";

static const char *const usage_list =
    "usage: esmcheck list [--cases DIR] [--filter ID-or-TAG]...\n"
    "\n"
    "Lists each case: id, tags, the spec rules it cites, the capabilities it\n"
    "requires. A case file that does not load is reported with file:line:column.\n";

static const char *const usage_explain =
    "usage: esmcheck explain CASE_ID [--cases DIR] [--adapter A] [--seed N]\n"
    "                                [--history]\n"
    "\n"
    "Runs one case in this process and prints its timeline: polls, invocations\n"
    "with their batches and results, checkpoints, failure-destination sends;\n"
    "then the verdict and each violation. --history prints the raw history as\n"
    "JSON lines instead of the timeline.\n";

struct corpus {
  struct esmc_scenario *sc;
  size_t n, cap;
  struct esmc_case_result *bad; /* files that failed to load */
  size_t nbad, capbad;
};

static int collect_paths(const char *dir, char ***paths, size_t *n, size_t *cap)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  if(!d)
    return -1;
  while((e = readdir(d))) {
    char path[4096];
    struct stat st;
    size_t len = strlen(e->d_name);
    if(e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if(stat(path, &st))
      continue;
    if(S_ISDIR(st.st_mode)) {
      collect_paths(path, paths, n, cap);
      continue;
    }
    if(len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    if(*n == *cap && esmc__vec_grow((void **)paths, cap, sizeof(char *)))
      break;
    (*paths)[(*n)++] = esmc_strdup(path);
  }
  closedir(d);
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int matches(const struct esmc_scenario *sc, char **filters, size_t nf)
{
  size_t i, k;
  if(nf == 0)
    return 1;
  for(i = 0; i < nf; i++) {
    if(strcmp(filters[i], sc->id) == 0 || fnmatch(filters[i], sc->id, 0) == 0)
      return 1;
    for(k = 0; k < sc->tag_count; k++)
      if(strcmp(filters[i], sc->tags[k]) == 0)
        return 1;
  }
  return 0;
}

/* Load every case under dir; files that fail become ERROR results. */
static int load_corpus(const char *dir, char **filters, size_t nf,
                       struct corpus *c)
{
  char **paths = NULL;
  size_t n = 0, cap = 0, i, k;
  memset(c, 0, sizeof(*c));
  if(collect_paths(dir, &paths, &n, &cap)) {
    fprintf(stderr, "esmcheck: cannot read the case directory %s: %s\n", dir,
            strerror(errno));
    return -1;
  }
  qsort(paths, n, sizeof(char *), cmp_str);
  for(i = 0; i < n; i++) {
    struct esmc_scenario sc;
    struct esmc_load_error err;
    if(esmc_case_load_file(paths[i], &sc, &err)) {
      char msg[1200];
      struct esmc_case_result r;
      const char *base = strrchr(paths[i], '/');
      esmc_load_error_format(&err, msg, sizeof(msg));
      memset(&r, 0, sizeof(r));
      r.id = esmc_strdup(base ? base + 1 : paths[i]);
      r.verdict = ESMC_V_ERROR;
      r.reason = esmc_strdup(msg);
      if(c->nbad == c->capbad)
        esmc__vec_grow((void **)&c->bad, &c->capbad, sizeof(*c->bad));
      if(c->nbad < c->capbad)
        c->bad[c->nbad++] = r;
      continue;
    }
    if(!matches(&sc, filters, nf)) {
      esmc_scenario_free(&sc);
      continue;
    }
    for(k = 0; k < c->n; k++) {
      if(strcmp(c->sc[k].id, sc.id) == 0) {
        fprintf(stderr, "esmcheck: duplicate case id %s in %s and %s\n", sc.id,
                c->sc[k].path ? c->sc[k].path : "?", paths[i]);
        break;
      }
    }
    if(k < c->n) {
      esmc_scenario_free(&sc);
      continue;
    }
    if(c->n == c->cap && esmc__vec_grow((void **)&c->sc, &c->cap, sizeof(sc))) {
      esmc_scenario_free(&sc);
      break;
    }
    c->sc[c->n++] = sc;
  }
  for(i = 0; i < n; i++)
    esmc_free(paths[i]);
  esmc_free(paths);
  return 0;
}

static void free_corpus(struct corpus *c)
{
  size_t i;
  for(i = 0; i < c->n; i++)
    esmc_scenario_free(&c->sc[i]);
  for(i = 0; i < c->nbad; i++)
    esmc_case_result_free(&c->bad[i]);
  esmc_free(c->sc);
  esmc_free(c->bad);
}

struct common_opts {
  const char *adapter;
  const char *cases;
  const char *report;
  char *filters[64];
  size_t nfilters;
  uint64_t seed;
  int isolate;
  double timeout_s;
  int quiet;
  int history;
  const char *positional;
  /* Third-party adapters (issue 6). */
  const char *adapter_cmd;
  int validate;
  double request_timeout_s;
  uint64_t memory_limit_mb;
  const char *expect;
  const char *update_expect;
};

static int parse_u64(const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;
  if(!s || !*s || *s == '-')
    return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if(errno || *end)
    return -1;
  *out = v;
  return 0;
}

/* Parse options shared by the commands; returns 0, 1 (help shown) or -1. */
static int parse_opts(int argc, char **argv, struct common_opts *o,
                      const char *usage)
{
  int i;
  memset(o, 0, sizeof(*o));
  o->adapter = "reference";
  o->cases = "cases";
  o->report = "esmcheck-report";
  o->seed = DEFAULT_SEED;
  o->isolate = 1;
  o->timeout_s = 60;
  o->memory_limit_mb = 4096;
  for(i = 0; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE                                                            \
  if(!v) {                                                                     \
    fprintf(stderr, "esmcheck: %s needs a value\n\n%s", a, usage);            \
    return -1;                                                                 \
  }                                                                            \
  i++;
    if(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 1;
    } else if(strcmp(a, "--adapter") == 0) {
      NEEDS_VALUE o->adapter = v;
    } else if(strcmp(a, "--cases") == 0) {
      NEEDS_VALUE o->cases = v;
    } else if(strcmp(a, "--report") == 0) {
      NEEDS_VALUE o->report = v;
    } else if(strcmp(a, "--filter") == 0) {
      NEEDS_VALUE
      if(o->nfilters == sizeof(o->filters) / sizeof(o->filters[0])) {
        fprintf(stderr, "esmcheck: too many --filter options\n");
        return -1;
      }
      o->filters[o->nfilters++] = (char *)v;
    } else if(strcmp(a, "--seed") == 0) {
      NEEDS_VALUE
      if(parse_u64(v, &o->seed) || o->seed > (UINT64_C(1) << 53) - 1) {
        fprintf(stderr, "esmcheck: --seed wants an integer from 0 to 2^53-1, "
                        "not '%s'\n", v);
        return -1;
      }
    } else if(strcmp(a, "--timeout") == 0) {
      char *end;
      NEEDS_VALUE
      o->timeout_s = strtod(v, &end);
      if(*end || o->timeout_s <= 0) {
        fprintf(stderr, "esmcheck: --timeout wants a positive number of "
                        "seconds, not '%s'\n", v);
        return -1;
      }
    } else if(strcmp(a, "--adapter-cmd") == 0) { /* ---- issue 6 ---- */
      NEEDS_VALUE o->adapter_cmd = v;
    } else if(strcmp(a, "--validate") == 0) {
      o->validate = 1;
    } else if(strcmp(a, "--expect") == 0) {
      NEEDS_VALUE o->expect = v;
    } else if(strcmp(a, "--update-expectations") == 0) {
      NEEDS_VALUE o->update_expect = v;
    } else if(strcmp(a, "--request-timeout") == 0) {
      char *end;
      NEEDS_VALUE
      o->request_timeout_s = strtod(v, &end);
      if(*end || o->request_timeout_s <= 0) {
        fprintf(stderr, "esmcheck: --request-timeout wants a positive number "
                        "of seconds, not '%s'\n", v);
        return -1;
      }
    } else if(strcmp(a, "--memory-limit") == 0) {
      NEEDS_VALUE
      if(parse_u64(v, &o->memory_limit_mb) || o->memory_limit_mb > (1u << 30)) {
        fprintf(stderr, "esmcheck: --memory-limit wants a number of MB (0: "
                        "none), not '%s'\n", v);
        return -1;
      } /* ---- end of issue 6 options ---- */
    } else if(strcmp(a, "--no-fork") == 0) {
      o->isolate = 0;
    } else if(strcmp(a, "--quiet") == 0) {
      o->quiet = 1;
    } else if(strcmp(a, "--history") == 0) {
      o->history = 1;
    } else if(a[0] == '-') {
      fprintf(stderr, "esmcheck: unknown option %s\n\n%s", a, usage);
      return -1;
    } else if(!o->positional) {
      o->positional = a;
    } else {
      fprintf(stderr, "esmcheck: unexpected argument %s\n\n%s", a, usage);
      return -1;
    }
#undef NEEDS_VALUE
  }
  return 0;
}

static void print_violations(const struct esmc_case_result *r, FILE *out)
{
  size_t k;
  char rule[32];
  for(k = 0; k < r->violations.n; k++) {
    const struct esmc_violation *v = &r->violations.v[k];
    esmc_violation_rule(v, r->sc, rule, sizeof(rule));
    fprintf(out, "      %s [%s %s]: %s", v->property, rule,
            v->level == ESMC_MUST ? "MUST" : "SHOULD",
            v->message ? v->message : "");
    if(v->more)
      fprintf(out, " (and %u more)", v->more);
    fputc('\n', out);
  }
  if(r->reason)
    fprintf(out, "      %s\n", r->reason);
}

/* ---- adapters from --adapter or --adapter-cmd (issue 6) -------------- */
static int load_adapter(const struct common_opts *o, struct esmc_loaded_adapter *la)
{
  char **argv = NULL;
  struct esmc_proxy_opts po;
  if(!o->adapter_cmd)
    return esmc_adapter_load(o->adapter, la);
  memset(la, 0, sizeof(*la));
  snprintf(la->spec, sizeof(la->spec), "%s", o->adapter_cmd);
  if(esmc_split_command(o->adapter_cmd, &argv)) {
    snprintf(la->error, sizeof(la->error), "cannot split the adapter command "
             "'%.300s' (empty, or an unterminated quote)", o->adapter_cmd);
    return -1;
  }
  memset(&po, 0, sizeof(po));
  po.request_timeout_s = o->request_timeout_s;
  po.validate = o->validate;
  po.transcript = getenv("ESMC_PROTOCOL_TRANSCRIPT");
  if(esmc_proxy_open(argv, &po, &la->a, la->error, sizeof(la->error)))
    la->a = NULL;
  esmc_argv_free(argv);
  return la->a ? 0 : -1;
}

static void unload_adapter(const struct common_opts *o,
                           struct esmc_loaded_adapter *la)
{
  if(o->adapter_cmd) {
    esmc_proxy_close();
    memset(la, 0, sizeof(*la));
  } else {
    esmc_adapter_unload(la);
  }
}
/* ---- end of adapters from --adapter-cmd -------------------------------- */

static int cmd_run(int argc, char **argv)
{
  struct common_opts o;
  struct corpus c;
  struct esmc_loaded_adapter la;
  struct esmc_case_result *results;
  struct esmc_run_report rep;
  struct esmc_run_opts ro;
  struct esmc_expectations ex;
  size_t i, nres = 0, count[ESMC_V__COUNT] = {0};
  int rc = parse_opts(argc, argv, &o, usage_run), failed = 0;
  if(rc)
    return rc > 0 ? 0 : EXIT_USAGE;
  if(o.positional) {
    fprintf(stderr, "esmcheck run: unexpected argument %s\n", o.positional);
    return EXIT_USAGE;
  }
  memset(&ex, 0, sizeof(ex));
  if(o.expect) {
    char err[1024];
    if(esmc_expect_load(o.expect, &ex, err, sizeof(err))) {
      fprintf(stderr, "esmcheck: expectation file %s\n", err);
      return EXIT_USAGE;
    }
  }
  if(load_corpus(o.cases, o.filters, o.nfilters, &c)) {
    esmc_expect_free(&ex);
    return EXIT_USAGE;
  }
  load_adapter(&o, &la);
  results = esmc_calloc(c.n + c.nbad + 1, sizeof(*results));
  if(!results) {
    free_corpus(&c);
    esmc_expect_free(&ex);
    unload_adapter(&o, &la);
    return EXIT_HARNESS;
  }
  printf("esmcheck %s (spec %s): adapter %s %s, %zu case(s), seed %" PRIu64 "\n",
         ESMC_VERSION, ESMC_SPEC_VERSION, la.a ? la.a->name : o.adapter,
         la.a ? la.a->version : "(not loaded)", c.n + c.nbad, o.seed);
  if(!la.a)
    fprintf(stderr, "esmcheck: %s\n", la.error);
  memset(&ro, 0, sizeof(ro));
  ro.adapter = la.a;
  ro.seed = o.seed;
  ro.isolate = o.isolate;
  ro.timeout_s = o.timeout_s;
  ro.expect = o.expect ? &ex : NULL;
  ro.memory_limit_mb = (size_t)o.memory_limit_mb;
  for(i = 0; i < c.nbad; i++) {
    results[nres] = c.bad[i];
    memset(&c.bad[i], 0, sizeof(c.bad[i]));
    nres++;
  }
  for(i = 0; i < c.n; i++) {
    struct esmc_case_result *r = &results[nres++];
    if(!la.a) {
      memset(r, 0, sizeof(*r));
      r->id = esmc_strdup(c.sc[i].id);
      r->sc = &c.sc[i];
      r->seed = esmc_case_seed(o.seed, c.sc[i].id);
      r->verdict = ESMC_V_ERROR;
      r->reason = esmc_strdup(la.error);
      continue;
    }
    esmc_run_case(&ro, &c.sc[i], r);
  }
  for(i = 0; i < nres; i++) {
    const struct esmc_case_result *r = &results[i];
    int bad = esmc_verdict_is_failure(r->verdict);
    count[r->verdict]++;
    failed |= bad;
    if(o.quiet && !bad && r->verdict != ESMC_V_NON_STRICT)
      continue;
    printf("  %-11s %s\n", esmc_verdict_name(r->verdict), r->id);
    if(r->verdict != ESMC_V_PASS)
      print_violations(r, stdout);
  }
  printf("summary:");
  for(i = 0; i < ESMC_V__COUNT; i++)
    if(count[i])
      printf(" %zu %s", count[i], esmc_verdict_name((enum esmc_verdict)i));
  printf(" (seed %" PRIu64 ")\n", o.seed);
  memset(&rep, 0, sizeof(rep));
  rep.adapter = la.a;
  rep.adapter_spec = o.adapter_cmd ? o.adapter_cmd : o.adapter;
  rep.seed = o.seed;
  rep.cases = results;
  rep.ncases = nres;
  rc = failed ? 1 : 0;
  if(esmc_report_write(&rep, o.report)) {
    fprintf(stderr, "esmcheck: cannot write reports to %s: %s\n", o.report,
            strerror(errno));
    rc = EXIT_HARNESS;
  } else {
    printf("reports: %s/results.json %s/junit.xml\n", o.report, o.report);
  }
  if(o.update_expect) {
    if(esmc_expect_write(o.update_expect, results, nres)) {
      fprintf(stderr, "esmcheck: cannot write %s: %s\n", o.update_expect,
              strerror(errno));
      rc = EXIT_HARNESS;
    } else {
      printf("expectations: %s\n", o.update_expect);
    }
  }
  for(i = 0; i < nres; i++)
    esmc_case_result_free(&results[i]);
  esmc_free(results);
  unload_adapter(&o, &la);
  esmc_expect_free(&ex);
  free_corpus(&c);
  return rc;
}

static int cmd_list(int argc, char **argv)
{
  struct common_opts o;
  struct corpus c;
  size_t i, k;
  int rc = parse_opts(argc, argv, &o, usage_list);
  if(rc)
    return rc > 0 ? 0 : EXIT_USAGE;
  if(load_corpus(o.cases, o.filters, o.nfilters, &c))
    return EXIT_USAGE;
  for(i = 0; i < c.n; i++) {
    const struct esmc_scenario *sc = &c.sc[i];
    uint64_t bit;
    printf("%s\n  %s\n  rules:", sc->id, sc->description ? sc->description : "");
    for(k = 0; k < sc->rule_count; k++)
      printf(" %s", sc->rules[k]);
    printf("\n  tags:");
    for(k = 0; k < sc->tag_count; k++)
      printf(" %s", sc->tags[k]);
    printf("\n  requires:");
    for(bit = 1; bit; bit <<= 1)
      if(sc->requires & bit)
        printf(" %s", esmc_cap_name(bit));
    printf("\n");
  }
  for(i = 0; i < c.nbad; i++)
    fprintf(stderr, "%s\n", c.bad[i].reason);
  printf("%zu case(s)%s\n", c.n, c.nbad ? ", some files did not load" : "");
  rc = c.nbad ? EXIT_HARNESS : 0;
  free_corpus(&c);
  return rc;
}

static const char *const usage_coverage =
    "usage: esmcheck coverage [--cases DIR] [--all]\n"
    "\n"
    "Prints, for every rule of the specification (spec/rules.def), the cases\n"
    "that cite it. Exits 1 when a MUST rule has no case, 0 otherwise. --all\n"
    "also lists the case ids (default: counts, and ids for rules with few).\n";

struct rule_row {
  const char *id;
  const char *level;
  const char *summary;
};

static const struct rule_row spec_rules[] = {
#define ESMC_RULE(id, level, summary) {id, #level, summary},
#include "rules.def"
#undef ESMC_RULE
};

static int cmd_coverage(int argc, char **argv)
{
  struct common_opts o;
  struct corpus c;
  size_t r, i, k, nrules = sizeof(spec_rules) / sizeof(spec_rules[0]);
  size_t uncovered_must = 0, uncovered = 0;
  int all = 0, rc;
  for(i = 0; i < (size_t)argc; i++) {
    if(strcmp(argv[i], "--all") == 0) {
      all = 1;
      memmove(&argv[i], &argv[i + 1], sizeof(char *) * ((size_t)argc - i - 1));
      argc--;
      break;
    }
  }
  rc = parse_opts(argc, argv, &o, usage_coverage);
  if(rc)
    return rc > 0 ? 0 : EXIT_USAGE;
  if(load_corpus(o.cases, NULL, 0, &c))
    return EXIT_USAGE;
  for(r = 0; r < nrules; r++) {
    size_t n = 0;
    for(i = 0; i < c.n; i++)
      for(k = 0; k < c.sc[i].rule_count; k++)
        n += strcmp(c.sc[i].rules[k], spec_rules[r].id) == 0;
    printf("%-10s %-6s %4zu case(s)  %s\n", spec_rules[r].id,
           spec_rules[r].level, n, spec_rules[r].summary);
    if(n == 0) {
      uncovered++;
      uncovered_must += strcmp(spec_rules[r].level, "MUST") == 0;
    }
    if(n > 0 && (all || n <= 3)) {
      printf("%21s", "");
      for(i = 0; i < c.n; i++)
        for(k = 0; k < c.sc[i].rule_count; k++)
          if(strcmp(c.sc[i].rules[k], spec_rules[r].id) == 0)
            printf(" %s", c.sc[i].id);
      printf("\n");
    }
  }
  printf("coverage: %zu rule(s), %zu case(s); %zu rule(s) without a case, "
         "%zu of them MUST\n", nrules, c.n, uncovered, uncovered_must);
  for(i = 0; i < c.nbad; i++)
    fprintf(stderr, "%s\n", c.bad[i].reason);
  rc = uncovered_must || c.nbad ? 1 : 0;
  free_corpus(&c);
  return rc;
}

static int cmd_explain(int argc, char **argv)
{
  struct common_opts o;
  struct corpus c;
  struct esmc_loaded_adapter la;
  struct esmc_run_opts ro;
  struct esmc_case_result r;
  struct esmc_world *w = NULL;
  const struct esmc_scenario *sc = NULL;
  size_t i;
  int rc = parse_opts(argc, argv, &o, usage_explain);
  if(rc)
    return rc > 0 ? 0 : EXIT_USAGE;
  if(!o.positional) {
    fprintf(stderr, "esmcheck explain: which case?\n\n%s", usage_explain);
    return EXIT_USAGE;
  }
  if(load_corpus(o.cases, NULL, 0, &c))
    return EXIT_USAGE;
  for(i = 0; i < c.n; i++)
    if(strcmp(c.sc[i].id, o.positional) == 0)
      sc = &c.sc[i];
  if(!sc) {
    for(i = 0; i < c.nbad; i++)
      if(strncmp(c.bad[i].id, o.positional, strlen(o.positional)) == 0)
        fprintf(stderr, "%s\n", c.bad[i].reason);
    fprintf(stderr, "esmcheck explain: no case %s under %s\n", o.positional,
            o.cases);
    free_corpus(&c);
    return EXIT_USAGE;
  }
  if(load_adapter(&o, &la)) {
    fprintf(stderr, "esmcheck: %s\n", la.error);
    free_corpus(&c);
    return EXIT_USAGE;
  }
  memset(&ro, 0, sizeof(ro));
  ro.adapter = la.a;
  ro.seed = o.seed;
  esmc_run_case_world(&ro, sc, &r, &w);
  printf("case %s: %s\nadapter %s %s, seed %" PRIu64 " (case seed %" PRIu64 ")\n",
         sc->id, sc->description ? sc->description : "", la.a->name,
         la.a->version, o.seed, r.seed);
  if(w) {
    printf("stream %s, %u shard(s), %u record(s); mapping %s\n\n", w->stream_arn,
           w->nshards, w->nrecords, w->mapping_uuid);
    if(o.history) {
      struct esmc_buf b;
      esmc_buf_init(&b);
      for(i = 0; i < w->hist.n; i++) {
        esmc_buf_reset(&b);
        esmc_history_event_json(&w->hist, i, &b);
        printf("%s\n", b.data);
      }
      esmc_buf_free(&b);
    } else {
      esmc_print_timeline(w, stdout);
    }
  }
  printf("\nverdict: %s  (history digest %016" PRIx64 ", %" PRIu64 " events)\n",
         esmc_verdict_name(r.verdict), r.digest, r.events);
  print_violations(&r, stdout);
  rc = esmc_verdict_is_failure(r.verdict) ? 1 : 0;
  esmc_case_result_free(&r);
  esmc_world_free(w);
  unload_adapter(&o, &la);
  free_corpus(&c);
  return rc;
}

/* ---- fuzz-to-case (fuzz/README.md; owner: the fuzzing work) ------------ */
#include "fuzz_decode.h"

static const char *const usage_fuzz_to_case =
    "usage: esmcheck fuzz-to-case FILE [--target scenario] [--out DIR]\n"
    "                                  [--adapter reference|PATH.so]\n"
    "\n"
    "Decodes a scenario_fuzzer input, confirms the violation it shows against\n"
    "the adapter (default: the linked reference), shrinks it (records, function\n"
    "rules, events, configuration) while the same property still fires, and\n"
    "writes DIR/fuzz-<property>-<hash>.json (default DIR: .), a case that\n"
    "loads and reproduces the violation.\n"
    "\n"
    "Exit status: 0 when the case was written; 1 when the input shows no\n"
    "violation; 2 for usage errors; 99 when writing or reproducing failed.\n";

static int cmd_fuzz_to_case(int argc, char **argv)
{
  const char *file = NULL, *out = ".", *adapter = "reference";
  struct esmc_loaded_adapter la;
  char *data = NULL, path[1024], property[64];
  size_t len = 0;
  int i, rc;
  for(i = 0; i < argc; i++) {
    if(strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("%s", usage_fuzz_to_case);
      return 0;
    } else if(strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
      if(strcmp(argv[++i], "scenario") != 0) {
        fprintf(stderr, "esmcheck fuzz-to-case: only --target scenario is "
                "supported\n");
        return EXIT_USAGE;
      }
    } else if(strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if(strcmp(argv[i], "--adapter") == 0 && i + 1 < argc) {
      adapter = argv[++i];
    } else if(argv[i][0] != '-' && !file) {
      file = argv[i];
    } else {
      fprintf(stderr, "esmcheck fuzz-to-case: bad argument '%s'\n\n%s", argv[i],
              usage_fuzz_to_case);
      return EXIT_USAGE;
    }
  }
  if(!file) {
    fprintf(stderr, "esmcheck fuzz-to-case: which input?\n\n%s",
            usage_fuzz_to_case);
    return EXIT_USAGE;
  }
  if(esmc_read_file(file, &data, &len)) {
    fprintf(stderr, "esmcheck fuzz-to-case: cannot read %s: %s\n", file,
            strerror(errno));
    return EXIT_USAGE;
  }
  if(esmc_adapter_load(adapter, &la)) {
    fprintf(stderr, "esmcheck: %s\n", la.error);
    esmc_free(data);
    return EXIT_USAGE;
  }
  rc = esmc_fuzz_to_case((const uint8_t *)data, len, la.a, la.a->name, out,
                         path, sizeof(path), property, sizeof(property));
  if(rc == 0)
    printf("%s: reproduces %s against %s\n", path, property, la.a->name);
  else
    fprintf(stderr, "esmcheck fuzz-to-case: %s: %s\n", file, path);
  esmc_adapter_unload(&la);
  esmc_free(data);
  return rc == 0 ? 0 : rc > 0 ? 1 : EXIT_HARNESS;
}
/* ---- end of fuzz-to-case ------------------------------------------------ */

/* ---- mutants: suite adequacy (issue 7; reference/ref_mutant.h) ---------- */
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ref_mutant.h"

static const char *const usage_mutants =
    "usage: esmcheck mutants [--cases DIR] [--report DIR] [--filter MUTANT]...\n"
    "                        [--seed N] [--fuzz-budget N] [--max-kills N]\n"
    "                        [--no-fork] [--timeout SECONDS] [--quiet]\n"
    "\n"
    "Runs the corpus against every seeded-bug mutant of the reference mapper\n"
    "(reference/ref_mutant.h; selected through ESMC_REF_MUTANT) and writes\n"
    "DIR/mutants.json (default DIR: esmcheck-report): for each mutant whether\n"
    "the corpus kills it, by which cases and properties, and the score.\n"
    "\n"
    "  --filter M       only mutant M (a name or number); repeat for several\n"
    "  --seed N         the run's seed (default 20241)\n"
    "  --fuzz-budget N  also measure how many scenario-fuzzer inputs (seeded\n"
    "                   PRNG, harness/fuzz_decode.h) find each mutant: median\n"
    "                   over 3 seeds, at most N inputs each (default 0: skip)\n"
    "  --max-kills N    stop a mutant's corpus run after N killing cases\n"
    "                   (default 3; 0: run the whole corpus)\n"
    "  --no-fork        run cases in this process (no crash isolation)\n"
    "  --timeout S      wall-clock limit per isolated case (default 60)\n"
    "  --quiet          print only the table's survivors and the score\n"
    "\n"
    "A case the unmutated reference does not pass never counts as a kill.\n"
    "Exit status: 0 when every mutant is killed, 1 when one survives, 2 for\n"
    "usage errors, 99 when esmcheck itself failed.\n";

#define MUT_KILLERS_MAX 8
#define MUT_FUZZ_SEEDS 3

struct mut_kill {
  char *case_id;
  char property[64];
};

struct mut_result {
  const struct ref_mutant_info *info;
  struct mut_kill kills[MUT_KILLERS_MAX];
  size_t nkills;
  size_t ran;              /* cases run against the mutant */
  double wall_s;
  long fuzz[MUT_FUZZ_SEEDS]; /* inputs to the first violation; -1 none */
  long fuzz_median;          /* -1: not found within the budget */
  int fuzz_status;           /* 0 not run, 1 measured, -1 the search failed */
};

static double mut_clock(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: the fuzz inputs' deterministic generator. */
static uint64_t mut_rand(uint64_t *s)
{
  uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void mut_select(int id)
{
  const struct ref_mutant_info *mi = ref_mutant_info(id);
  setenv("ESMC_REF_MUTANT", mi ? mi->name : "none", 1);
  ref_mutant_from_env();
}

/* Decodes input and judges it against the linked reference under the
 * selected mutant: 1 violation, 0 pass, -1 harness failure. */
static int mut_fuzz_one(const uint8_t *data, size_t len,
                        const struct esmc_adapter *a)
{
  struct esmc_scenario sc;
  struct esmc_fuzz_finding f;
  int rc;
  if(esmc_fuzz_decode(data, len, 0, &sc, NULL))
    return -1;
  rc = esmc_fuzz_check(&sc, a, ESMC_FUZZ_RUN_SEED, &f);
  esmc_scenario_free(&sc);
  return rc;
}

/* Inputs the fuzzer needs to find mutant id from PRNG seed: inputs are
 * random byte strings of 0..511 bytes; an input counts once it shows a
 * violation under the mutant and none under the reference. -1 when not
 * found within budget. */
static long mut_fuzz_search(int id, uint64_t seed, long budget,
                            const struct esmc_adapter *a)
{
  uint8_t data[512];
  uint64_t st = seed;
  long n;
  for(n = 1; n <= budget; n++) {
    size_t len = (size_t)(mut_rand(&st) % sizeof(data)), i;
    int hit;
    for(i = 0; i < len; i++)
      data[i] = (uint8_t)mut_rand(&st);
#ifdef ESMC_SW_EXT_MAGIC0
    /* Half the inputs open the decoder's extension classes (SQS, FIFO,
     * filters, parallelization, tumbling windows, resharding). */
    if(len >= 3 && (data[2] & 0x80u)) {
      data[0] = ESMC_SW_EXT_MAGIC0;
      data[1] = ESMC_SW_EXT_MAGIC1;
    }
#endif
    mut_select(id);
    hit = mut_fuzz_one(data, len, a);
    if(hit == 1) {
      mut_select(0);
      hit = mut_fuzz_one(data, len, a) == 0;
    } else {
      hit = 0;
    }
    if(hit)
      return n;
  }
  return -1;
}

static int mut_cmp_long(const void *pa, const void *pb)
{
  long a = *(const long *)pa, b = *(const long *)pb;
  if(a < 0)
    a = LONG_MAX;
  if(b < 0)
    b = LONG_MAX;
  return (a > b) - (a < b);
}

/* The fuzz figures of one mutant, measured in a forked child so a mutant
 * that crashes or hangs the in-process run cannot take esmcheck down. */
static void mut_fuzz(struct mut_result *m, uint64_t seed, long budget,
                     const struct esmc_adapter *a)
{
  long out[MUT_FUZZ_SEEDS], sorted[MUT_FUZZ_SEEDS];
  int fd[2], status = 0, k;
  pid_t pid;
  size_t got = 0;
  if(pipe(fd)) {
    m->fuzz_status = -1;
    return;
  }
  fflush(stdout);
  pid = fork();
  if(pid < 0) {
    close(fd[0]);
    close(fd[1]);
    m->fuzz_status = -1;
    return;
  }
  if(pid == 0) {
    close(fd[0]);
    for(k = 0; k < MUT_FUZZ_SEEDS; k++)
      out[k] = mut_fuzz_search(m->info->id,
                               seed * 1000003u + (uint64_t)k * 7919u + 1u,
                               budget, a);
    if(write(fd[1], out, sizeof(out)) != (ssize_t)sizeof(out))
      _exit(1);
    _exit(0);
  }
  close(fd[1]);
  while(got < sizeof(out)) {
    ssize_t r = read(fd[0], (char *)out + got, sizeof(out) - got);
    if(r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd[0]);
  waitpid(pid, &status, 0);
  if(got != sizeof(out) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    m->fuzz_status = -1;
    return;
  }
  memcpy(m->fuzz, out, sizeof(out));
  memcpy(sorted, out, sizeof(out));
  qsort(sorted, MUT_FUZZ_SEEDS, sizeof(long), mut_cmp_long);
  m->fuzz_median = sorted[MUT_FUZZ_SEEDS / 2];
  m->fuzz_status = 1;
}

static void mut_kill_property(const struct esmc_case_result *r, char *out,
                              size_t n)
{
  size_t k;
  for(k = 0; k < r->violations.n; k++)
    if(r->violations.v[k].level == ESMC_MUST) {
      snprintf(out, n, "%s", r->violations.v[k].property);
      return;
    }
  if(r->violations.n > 0)
    snprintf(out, n, "%s", r->violations.v[0].property);
  else
    snprintf(out, n, "verdict-%s", esmc_verdict_name(r->verdict));
}

static void mut_write_json(struct esmc_buf *b, const struct mut_result *res,
                           size_t n, size_t killed, uint64_t seed,
                           long budget, size_t ncases,
                           const struct esmc_case_result *base, size_t nbase)
{
  size_t i, k;
  esmc_buf_printf(b, "{\n  \"tool\": \"esmcheck\",\n  \"version\": \"%s\",\n"
                  "  \"seed\": %" PRIu64 ",\n  \"cases\": %zu,\n"
                  "  \"fuzz_budget\": %ld,\n  \"fuzz_seeds\": %d,\n"
                  "  \"killed\": %zu,\n  \"total\": %zu,\n"
                  "  \"score\": %.4f,\n  \"baseline_failures\": [",
                  ESMC_VERSION, seed, ncases, budget,
                  budget > 0 ? MUT_FUZZ_SEEDS : 0, killed, n,
                  n ? (double)killed / (double)n : 1.0);
  for(i = 0, k = 0; i < nbase; i++) {
    if(!esmc_verdict_is_failure(base[i].verdict))
      continue;
    esmc_buf_puts(b, k++ ? ", " : "");
    esmc_buf_json_str(b, base[i].id, strlen(base[i].id));
  }
  esmc_buf_puts(b, "],\n  \"mutants\": [");
  for(i = 0; i < n; i++) {
    const struct mut_result *m = &res[i];
    esmc_buf_printf(b, "%s\n    {\"id\": %d, \"name\": ", i ? "," : "",
                    m->info->id);
    esmc_buf_json_str(b, m->info->name, strlen(m->info->name));
    esmc_buf_puts(b, ", \"feature\": ");
    esmc_buf_json_str(b, m->info->feature, strlen(m->info->feature));
    esmc_buf_puts(b, ",\n     \"description\": ");
    esmc_buf_json_str(b, m->info->description, strlen(m->info->description));
    esmc_buf_printf(b, ",\n     \"killed\": %s, \"cases_run\": %zu, "
                    "\"wall_s\": %.3f,\n     \"killed_by\": [",
                    m->nkills ? "true" : "false", m->ran, m->wall_s);
    for(k = 0; k < m->nkills; k++) {
      esmc_buf_puts(b, k ? ", {\"case\": " : "{\"case\": ");
      esmc_buf_json_str(b, m->kills[k].case_id, strlen(m->kills[k].case_id));
      esmc_buf_puts(b, ", \"property\": ");
      esmc_buf_json_str(b, m->kills[k].property, strlen(m->kills[k].property));
      esmc_buf_puts(b, "}");
    }
    esmc_buf_puts(b, "],\n     \"survived_reason\": ");
    if(m->nkills)
      esmc_buf_puts(b, "null");
    else
      esmc_buf_printf(b, "\"no case of %zu failed against the mutant\"",
                      m->ran);
    esmc_buf_puts(b, ",\n     \"fuzz\": ");
    if(m->fuzz_status == 0) {
      esmc_buf_puts(b, "null");
    } else if(m->fuzz_status < 0) {
      esmc_buf_puts(b, "{\"error\": \"the fuzz search failed\"}");
    } else {
      esmc_buf_printf(b, "{\"budget\": %ld, \"inputs_per_seed\": [", budget);
      for(k = 0; k < MUT_FUZZ_SEEDS; k++) {
        if(m->fuzz[k] < 0)
          esmc_buf_printf(b, "%snull", k ? ", " : "");
        else
          esmc_buf_printf(b, "%s%ld", k ? ", " : "", m->fuzz[k]);
      }
      if(m->fuzz_median < 0)
        esmc_buf_puts(b, "], \"median_inputs\": null, \"found\": false}");
      else
        esmc_buf_printf(b, "], \"median_inputs\": %ld, \"found\": true}",
                        m->fuzz_median);
    }
    esmc_buf_puts(b, "}");
  }
  esmc_buf_puts(b, "\n  ]\n}\n");
}

static int cmd_mutants(int argc, char **argv)
{
  const char *cases = "cases", *report = "esmcheck-report";
  const char *filters[64];
  size_t nf = 0, i, j, k, n = 0, killed = 0, max_kills = 3, *order;
  uint64_t seed = DEFAULT_SEED, budget = 0;
  int isolate = 1, quiet = 0, rc = 0;
  double timeout_s = 60, t0 = mut_clock();
  struct corpus c;
  struct esmc_loaded_adapter la;
  struct esmc_run_opts ro;
  struct esmc_case_result *base;
  struct mut_result *res;
  struct esmc_buf out;
  char path[4096];
  FILE *fp;
  for(i = 0; i < (size_t)argc; i++) {
    const char *a = argv[i], *v = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
    uint64_t u;
    if(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_mutants, stdout);
      return 0;
    } else if(strcmp(a, "--no-fork") == 0) {
      isolate = 0;
      continue;
    } else if(strcmp(a, "--quiet") == 0) {
      quiet = 1;
      continue;
    }
    if(!v || a[0] != '-') {
      fprintf(stderr, "esmcheck mutants: bad argument '%s'\n\n%s", a,
              usage_mutants);
      return EXIT_USAGE;
    }
    i++;
    if(strcmp(a, "--cases") == 0) {
      cases = v;
    } else if(strcmp(a, "--report") == 0) {
      report = v;
    } else if(strcmp(a, "--filter") == 0 && nf < 64) {
      if(ref_mutant_lookup(v) <= 0) {
        fprintf(stderr, "esmcheck mutants: no mutant '%s'\n", v);
        return EXIT_USAGE;
      }
      filters[nf++] = v;
    } else if(strcmp(a, "--timeout") == 0) {
      char *end;
      timeout_s = strtod(v, &end);
      if(*end || timeout_s <= 0) {
        fprintf(stderr, "esmcheck mutants: bad --timeout '%s'\n", v);
        return EXIT_USAGE;
      }
    } else if((strcmp(a, "--seed") == 0 || strcmp(a, "--fuzz-budget") == 0 ||
               strcmp(a, "--max-kills") == 0) && parse_u64(v, &u) == 0 &&
              u <= (UINT64_C(1) << 53) - 1) {
      if(a[2] == 's')
        seed = u;
      else if(a[2] == 'f')
        budget = u > 1000000 ? 1000000 : u;
      else
        max_kills = (size_t)u;
    } else {
      fprintf(stderr, "esmcheck mutants: bad option %s %s\n\n%s", a, v,
              usage_mutants);
      return EXIT_USAGE;
    }
  }
  if(load_corpus(cases, NULL, 0, &c))
    return EXIT_USAGE;
  if(c.nbad) {
    for(i = 0; i < c.nbad; i++)
      fprintf(stderr, "%s\n", c.bad[i].reason);
    free_corpus(&c);
    return EXIT_USAGE;
  }
  mut_select(0);
  if(esmc_adapter_load("reference", &la)) {
    fprintf(stderr, "esmcheck: %s\n", la.error);
    free_corpus(&c);
    return EXIT_HARNESS;
  }
  base = esmc_calloc(c.n + 1, sizeof(*base));
  res = esmc_calloc((size_t)ref_mutant_count() + 1, sizeof(*res));
  order = esmc_calloc(c.n + 1, sizeof(*order));
  if(!base || !res || !order) {
    esmc_free(order);
    esmc_free(base);
    esmc_free(res);
    esmc_adapter_unload(&la);
    free_corpus(&c);
    return EXIT_HARNESS;
  }
  memset(&ro, 0, sizeof(ro));
  ro.adapter = la.a;
  ro.seed = seed;
  ro.isolate = isolate;
  ro.timeout_s = timeout_s;
  ro.memory_limit_mb = 4096;
  printf("esmcheck %s: %d mutant(s) of the reference, %zu case(s), seed %"
         PRIu64 "%s\n", ESMC_VERSION, ref_mutant_count(), c.n, seed,
         isolate ? "" : ", in process");
  /* The baseline: cases the unmutated reference fails kill nothing. */
  for(i = 0; i < c.n; i++) {
    esmc_run_case(&ro, &c.sc[i], &base[i]);
    if(esmc_verdict_is_failure(base[i].verdict))
      fprintf(stderr, "esmcheck mutants: %s is %s without a mutant; it "
              "counts for no mutant\n", base[i].id,
              esmc_verdict_name(base[i].verdict));
  }
  for(j = 1; j <= (size_t)ref_mutant_count(); j++) {
    struct mut_result *m = &res[n];
    double ts = mut_clock();
    if(nf) {
      size_t f;
      for(f = 0; f < nf && ref_mutant_lookup(filters[f]) != (int)j; f++)
        ;
      if(f == nf)
        continue;
    }
    m->info = ref_mutant_info((int)j);
    n++;
    mut_select((int)j);
    /* Cases tagged with the mutant's feature first: with --max-kills the
     * run usually stops early. */
    for(i = 0, k = 0; i < c.n; i++)
      if(matches(&c.sc[i], (char **)&m->info->feature, 1))
        order[k++] = i;
    for(i = 0; i < c.n; i++)
      if(!matches(&c.sc[i], (char **)&m->info->feature, 1))
        order[k++] = i;
    for(k = 0; k < c.n && (max_kills == 0 || m->nkills < max_kills); k++) {
      struct esmc_case_result r;
      i = order[k];
      if(esmc_verdict_is_failure(base[i].verdict))
        continue;
      esmc_run_case(&ro, &c.sc[i], &r);
      m->ran++;
      if(esmc_verdict_is_failure(r.verdict) && m->nkills < MUT_KILLERS_MAX) {
        m->kills[m->nkills].case_id = esmc_strdup(c.sc[i].id);
        mut_kill_property(&r, m->kills[m->nkills].property,
                          sizeof(m->kills[m->nkills].property));
        m->nkills++;
      }
      esmc_case_result_free(&r);
    }
    mut_select(0);
    m->wall_s = mut_clock() - ts;
    killed += m->nkills > 0;
    if(budget > 0)
      mut_fuzz(m, seed, (long)budget, la.a);
  }
  mut_select(0);
  printf("%-3s %-34s %-8s %-44s %s\n", "id", "mutant", "verdict",
         "first killer (property)", budget ? "fuzz inputs (median)" : "");
  for(i = 0; i < n; i++) {
    const struct mut_result *m = &res[i];
    char killer[160], fz[64] = "";
    if(quiet && m->nkills)
      continue;
    if(m->nkills)
      snprintf(killer, sizeof(killer), "%s (%s)", m->kills[0].case_id,
               m->kills[0].property);
    else
      snprintf(killer, sizeof(killer), "-");
    if(m->fuzz_status < 0)
      snprintf(fz, sizeof(fz), "search failed");
    else if(m->fuzz_status > 0 && m->fuzz_median < 0)
      snprintf(fz, sizeof(fz), "not found within %" PRIu64, budget);
    else if(m->fuzz_status > 0)
      snprintf(fz, sizeof(fz), "%ld", m->fuzz_median);
    printf("%-3d %-34s %-8s %-44s %s\n", m->info->id, m->info->name,
           m->nkills ? "killed" : "SURVIVED", killer, fz);
  }
  printf("killed %zu/%zu (%.0f%%) in %.1f s\n", killed, n,
         n ? 100.0 * (double)killed / (double)n : 100.0, mut_clock() - t0);
  esmc_buf_init(&out);
  mut_write_json(&out, res, n, killed, seed, (long)budget, c.n, base, c.n);
  snprintf(path, sizeof(path), "%s/mutants.json", report);
  if((mkdir(report, 0777) != 0 && errno != EEXIST) ||
     !(fp = fopen(path, "w"))) {
    fprintf(stderr, "esmcheck: cannot write %s: %s\n", path, strerror(errno));
    rc = EXIT_HARNESS;
  } else {
    if(fwrite(out.data, 1, out.len, fp) != out.len)
      rc = EXIT_HARNESS;
    if(fclose(fp) != 0)
      rc = EXIT_HARNESS;
    if(rc == 0)
      printf("report: %s\n", path);
  }
  if(rc == 0)
    rc = killed == n ? 0 : 1;
  esmc_buf_free(&out);
  for(i = 0; i < n; i++)
    for(j = 0; j < res[i].nkills; j++)
      esmc_free(res[i].kills[j].case_id);
  for(i = 0; i < c.n; i++)
    esmc_case_result_free(&base[i]);
  esmc_free(order);
  esmc_free(base);
  esmc_free(res);
  esmc_adapter_unload(&la);
  free_corpus(&c);
  return rc;
}
/* ---- end of mutants ----------------------------------------------------- */


int main(int argc, char **argv)
{
  const char *cmd = argc > 1 ? argv[1] : NULL;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if(!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
     strcmp(cmd, "help") == 0) {
    printf(USAGE_MAIN, ESMC_ABI_VERSION);
    return cmd ? 0 : EXIT_USAGE;
  }
  if(strcmp(cmd, "--version") == 0) {
    printf("esmcheck %s (spec %s, adapter ABI %d)\n", ESMC_VERSION,
           ESMC_SPEC_VERSION, ESMC_ABI_VERSION);
    return 0;
  }
  if(strcmp(cmd, "run") == 0)
    return cmd_run(argc - 2, argv + 2);
  if(strcmp(cmd, "list") == 0)
    return cmd_list(argc - 2, argv + 2);
  if(strcmp(cmd, "explain") == 0)
    return cmd_explain(argc - 2, argv + 2);
  if(strcmp(cmd, "coverage") == 0)
    return cmd_coverage(argc - 2, argv + 2);
  if(strcmp(cmd, "fuzz-to-case") == 0)
    return cmd_fuzz_to_case(argc - 2, argv + 2);
  if(strcmp(cmd, "mutants") == 0) /* issue 7 */
    return cmd_mutants(argc - 2, argv + 2);
  fprintf(stderr, "esmcheck: unknown command '%s'\n\n", cmd);
  fprintf(stderr, USAGE_MAIN, ESMC_ABI_VERSION);
  return EXIT_USAGE;
}

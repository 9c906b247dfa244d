/*
 * report.h: the run's reports: results.json (spec/results.md) and junit.xml.
 */
#ifndef ESMC_REPORT_H
#define ESMC_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "runner.h"

#define ESMC_SPEC_VERSION "1.1.0"

struct esmc_run_report {
  const struct esmc_adapter *adapter; /* NULL when it failed to load */
  const char *adapter_spec;           /* what --adapter said */
  uint64_t seed;
  const struct esmc_case_result *cases;
  size_t ncases;
};

/* The rule a violation is reported under: the first of the property's rules
 * that the case cites, else the property's first rule. */
void esmc_violation_rule(const struct esmc_violation *v,
                         const struct esmc_scenario *sc, char *out, size_t n);

void esmc_report_json(const struct esmc_run_report *r, struct esmc_buf *out);
void esmc_report_junit(const struct esmc_run_report *r, struct esmc_buf *out);
/* Write results.json and junit.xml into dir (created if missing). Returns 0
 * or -1 with errno set. */
int esmc_report_write(const struct esmc_run_report *r, const char *dir);

#endif /* ESMC_REPORT_H */

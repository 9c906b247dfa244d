/*
 * expect_file.h: per-adapter expectation files. An expectation file names
 * the cases an adapter is known to fail (or that must not run) with a reason
 * or a link:
 *
 *   {"case-id": {"verdict": "fail", "reason": "...", "link": "..."}, ...}
 *
 * or the same entries as JSON lines, {"id": "case-id", "verdict": ...} each.
 * A FAIL expected to fail becomes XFAIL; a PASS or NON-STRICT expected to
 * fail becomes XPASS, which fails the run (spec/results.md). "skip" marks a
 * case not to run at all.
 */
#ifndef ESMC_EXPECT_FILE_H
#define ESMC_EXPECT_FILE_H

#include <stddef.h>

#include "runner.h"

struct esmc_expectation {
  char *id;
  enum esmc_verdict verdict; /* ESMC_V_FAIL or ESMC_V_SKIP */
  char *reason;              /* may be NULL */
  char *link;                /* may be NULL */
};

struct esmc_expectations {
  struct esmc_expectation *v;
  size_t n, cap;
};

/* Parse an expectation file's text. Returns 0, or -1 with a message
 * (line:column where it applies) in err. */
int esmc_expect_parse(const char *text, size_t len,
                      struct esmc_expectations *out, char *err, size_t n);
int esmc_expect_load(const char *path, struct esmc_expectations *out,
                     char *err, size_t n);
void esmc_expect_free(struct esmc_expectations *e);
const struct esmc_expectation *
esmc_expect_find(const struct esmc_expectations *e, const char *id);

/* Turn a judged verdict into XFAIL or XPASS as the expectation says. */
void esmc_expect_apply(const struct esmc_expectation *x,
                       struct esmc_case_result *r);

/* Write an expectation file from a run: every fail and xfail case, with
 * its first violation (or the old reason) as the reason. Returns 0 or -1
 * (errno). */
int esmc_expect_write(const char *path, const struct esmc_case_result *r,
                      size_t n);

#endif /* ESMC_EXPECT_FILE_H */

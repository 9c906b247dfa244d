/*
 * test_mutants.c: the seeded-bug mutant table (reference/ref_mutant.h) is
 * sane, and a mutant changes a verdict: the unmutated reference passes a
 * sample case that the chosen mutant fails (issue 7).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "case_load.h"
#include "ref_mutant.h"
#include "runner.h"
#include "util.h"

static void test_table_sane(void **state)
{
  int i, j, n = ref_mutant_count();
  char num[16];
  (void)state;
  assert_true(n >= 30);
  assert_int_equal(n, REF_M__COUNT - 1);
  assert_null(ref_mutant_info(0));
  assert_null(ref_mutant_info(n + 1));
  for(i = 1; i <= n; i++) {
    const struct ref_mutant_info *m = ref_mutant_info(i);
    assert_non_null(m);
    assert_int_equal(m->id, i);
    assert_true(m->name && *m->name);
    assert_true(m->description && strlen(m->description) > 20);
    assert_true(m->feature && *m->feature);
    /* reachable by name and by number */
    assert_int_equal(ref_mutant_lookup(m->name), i);
    snprintf(num, sizeof(num), "%d", i);
    assert_int_equal(ref_mutant_lookup(num), i);
    for(j = 1; j < i; j++)
      assert_string_not_equal(ref_mutant_info(j)->name, m->name);
  }
  assert_int_equal(ref_mutant_lookup(""), 0);
  assert_int_equal(ref_mutant_lookup("none"), 0);
  assert_int_equal(ref_mutant_lookup(NULL), 0);
  assert_int_equal(ref_mutant_lookup("no-such-mutant"), -1);
  snprintf(num, sizeof(num), "%d", n + 1);
  assert_int_equal(ref_mutant_lookup(num), -1);
}

static void test_env_selection(void **state)
{
  (void)state;
  setenv("ESMC_REF_MUTANT", "mra-one-too-few", 1);
  assert_int_equal(ref_mutant_from_env(), REF_M_MRA_MINUS_ONE);
  assert_true(REF_MUTANT(MRA_MINUS_ONE));
  setenv("ESMC_REF_MUTANT", "bogus", 1);
  assert_int_equal(ref_mutant_from_env(), 0);
  unsetenv("ESMC_REF_MUTANT");
  assert_int_equal(ref_mutant_from_env(), 0);
}

/* Runs the sample case in process (create() reads ESMC_REF_MUTANT). */
static enum esmc_verdict run_sample(const char *mutant)
{
  struct esmc_loaded_adapter la;
  struct esmc_scenario sc;
  struct esmc_run_opts ro;
  struct esmc_case_result r;
  enum esmc_verdict v;
  if(mutant)
    setenv("ESMC_REF_MUTANT", mutant, 1);
  else
    unsetenv("ESMC_REF_MUTANT");
  assert_int_equal(esmc_adapter_load("reference", &la), 0);
  assert_int_equal(esmc_case_load_file(ESMC_SOURCE_DIR
                                       "/cases/dynamodb-bisect-poison.json",
                                       &sc, NULL), 0);
  memset(&ro, 0, sizeof(ro));
  ro.adapter = la.a;
  ro.seed = 20241;
  esmc_run_case(&ro, &sc, &r);
  v = r.verdict;
  esmc_case_result_free(&r);
  esmc_scenario_free(&sc);
  esmc_adapter_unload(&la);
  unsetenv("ESMC_REF_MUTANT");
  ref_mutant_from_env();
  return v;
}

static void test_mutant_changes_verdict(void **state)
{
  (void)state;
  assert_int_equal(run_sample(NULL), ESMC_V_PASS);
  assert_int_equal(run_sample("none"), ESMC_V_PASS);
  assert_int_equal(run_sample("invoke-count-off-by-one"), ESMC_V_FAIL);
  assert_int_equal(run_sample("drop-without-destination-record"), ESMC_V_FAIL);
  /* an SQS-only mutant leaves a streams case alone */
  assert_int_equal(run_sample("sqs-delete-listed-failures"), ESMC_V_PASS);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table_sane),
    cmocka_unit_test(test_env_selection),
    cmocka_unit_test(test_mutant_changes_verdict),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_expect.c: expectation files (harness/expect_file.c): both formats,
 * their errors, XFAIL and XPASS both ways, skip, and writing one from a run.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "expect_file.h"
#include "util.h"

static void parse_ok(const char *text, struct esmc_expectations *e)
{
  char err[512] = "";
  int rc = esmc_expect_parse(text, strlen(text), e, err, sizeof(err));
  if(rc)
    print_error("%s\n", err);
  assert_int_equal(rc, 0);
}

static void parse_fails(const char *text, const char *needle)
{
  struct esmc_expectations e;
  char err[512] = "";
  assert_int_equal(esmc_expect_parse(text, strlen(text), &e, err, sizeof(err)), -1);
  if(!strstr(err, needle))
    print_error("'%s' lacks '%s'\n", err, needle);
  assert_non_null(strstr(err, needle));
  assert_int_equal(e.n, 0);
}

static void test_formats(void **state)
{
  struct esmc_expectations e;
  const struct esmc_expectation *x;
  (void)state;
  parse_ok("{\"a\": {\"verdict\": \"fail\", \"reason\": \"known bug\", "
           "\"link\": \"https://example.com/1\"},\n"
           " \"b\": {\"verdict\": \"skip\"}}", &e);
  assert_int_equal(e.n, 2);
  x = esmc_expect_find(&e, "a");
  assert_non_null(x);
  assert_int_equal(x->verdict, ESMC_V_FAIL);
  assert_string_equal(x->reason, "known bug");
  assert_string_equal(x->link, "https://example.com/1");
  x = esmc_expect_find(&e, "b");
  assert_int_equal(x->verdict, ESMC_V_SKIP);
  assert_null(x->reason);
  assert_null(esmc_expect_find(&e, "c"));
  esmc_expect_free(&e);

  parse_ok("{\"id\": \"a\", \"verdict\": \"fail\", \"reason\": \"r\"}\n\n"
           "{\"id\": \"b\", \"verdict\": \"fail\"}\n", &e);
  assert_int_equal(e.n, 2);
  assert_string_equal(esmc_expect_find(&e, "b")->id, "b");
  esmc_expect_free(&e);
  parse_ok("{}", &e);
  assert_int_equal(e.n, 0);
  esmc_expect_free(&e);

  parse_fails("{\"a\": {\"verdict\": \"pass\"}}", "must be \"fail\" or \"skip\"");
  parse_fails("{\"a\": 3}", "must be an object");
  parse_fails("{\"a\": {\"verdict\": \"fail\", \"reason\": 7}}", "\"reason\" must");
  parse_fails("{\"id\": \"a\", \"verdict\": \"fail\"}\n{\"id\": \"a\", "
              "\"verdict\": \"fail\"}", "listed twice");
  parse_fails("{\"id\": \"a\", \"verdict\": \"fail\"}\n{\"id\": ", "line 2");
  parse_fails("{\"verdict\": \"fail\"}\n", "case id");
}

static void result(struct esmc_case_result *r, const char *id,
                   enum esmc_verdict v)
{
  memset(r, 0, sizeof(*r));
  r->id = esmc_strdup(id);
  r->verdict = v;
}

static void test_apply(void **state)
{
  struct esmc_expectations e;
  struct esmc_case_result r;
  (void)state;
  parse_ok("{\"a\": {\"verdict\": \"fail\", \"reason\": \"known bug\", "
           "\"link\": \"L\"}}", &e);
  /* FAIL expected: XFAIL, with the reason and the link. */
  result(&r, "a", ESMC_V_FAIL);
  esmc_expect_apply(esmc_expect_find(&e, "a"), &r);
  assert_int_equal(r.verdict, ESMC_V_XFAIL);
  assert_non_null(strstr(r.reason, "known bug"));
  assert_non_null(strstr(r.reason, "(L)"));
  assert_false(esmc_verdict_is_failure(r.verdict));
  esmc_case_result_free(&r);
  /* PASS and NON-STRICT expected to fail: XPASS, which fails the run. */
  result(&r, "a", ESMC_V_PASS);
  esmc_expect_apply(esmc_expect_find(&e, "a"), &r);
  assert_int_equal(r.verdict, ESMC_V_XPASS);
  assert_non_null(strstr(r.reason, "stale"));
  assert_true(esmc_verdict_is_failure(r.verdict));
  esmc_case_result_free(&r);
  result(&r, "a", ESMC_V_NON_STRICT);
  esmc_expect_apply(esmc_expect_find(&e, "a"), &r);
  assert_int_equal(r.verdict, ESMC_V_XPASS);
  esmc_case_result_free(&r);
  /* CRASH, ERROR, TIMEOUT and UNSUPPORTED keep their verdict. */
  result(&r, "a", ESMC_V_CRASH);
  esmc_expect_apply(esmc_expect_find(&e, "a"), &r);
  assert_int_equal(r.verdict, ESMC_V_CRASH);
  esmc_case_result_free(&r);
  result(&r, "a", ESMC_V_UNSUPPORTED);
  esmc_expect_apply(esmc_expect_find(&e, "a"), &r);
  assert_int_equal(r.verdict, ESMC_V_UNSUPPORTED);
  esmc_case_result_free(&r);
  /* No expectation: unchanged. */
  result(&r, "b", ESMC_V_FAIL);
  esmc_expect_apply(esmc_expect_find(&e, "b"), &r);
  assert_int_equal(r.verdict, ESMC_V_FAIL);
  esmc_case_result_free(&r);
  esmc_expect_free(&e);
}

static void test_write_and_reload(void **state)
{
  struct esmc_case_result rs[4];
  struct esmc_expectations e;
  char path[] = "/tmp/esmc-expect-XXXXXX", err[256];
  int fd = mkstemp(path);
  (void)state;
  assert_true(fd >= 0);
  close(fd);
  result(&rs[0], "f1", ESMC_V_FAIL);
  rs[0].reason = esmc_strdup("a \"quoted\" reason\nwith a newline");
  result(&rs[1], "p1", ESMC_V_PASS);
  result(&rs[2], "x1", ESMC_V_XFAIL);
  rs[2].reason = esmc_strdup("expected to fail: old reason");
  result(&rs[3], "c1", ESMC_V_CRASH);
  assert_int_equal(esmc_expect_write(path, rs, 4), 0);
  assert_int_equal(esmc_expect_load(path, &e, err, sizeof(err)), 0);
  assert_int_equal(e.n, 2);
  assert_string_equal(esmc_expect_find(&e, "f1")->reason,
                      "a \"quoted\" reason\nwith a newline");
  assert_string_equal(esmc_expect_find(&e, "x1")->reason, "old reason");
  assert_null(esmc_expect_find(&e, "p1"));
  assert_null(esmc_expect_find(&e, "c1"));
  esmc_expect_free(&e);
  /* An empty run writes an empty object, which loads. */
  assert_int_equal(esmc_expect_write(path, rs, 0), 0);
  assert_int_equal(esmc_expect_load(path, &e, err, sizeof(err)), 0);
  assert_int_equal(e.n, 0);
  esmc_expect_free(&e);
  unlink(path);
  assert_int_equal(esmc_expect_load(path, &e, err, sizeof(err)), -1);
  assert_non_null(strstr(err, "cannot read"));
  for(fd = 0; fd < 4; fd++)
    esmc_case_result_free(&rs[fd]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_apply),
      cmocka_unit_test(test_write_and_reload),
  };
  return cmocka_run_group_tests_name("expect", tests, NULL, NULL);
}

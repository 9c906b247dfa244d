/*
 * test_proxy.c: unit tests of harness/proxy.c: command splitting, the
 * handshake, one case through the proxy in this process (the Python
 * example passes; a crash-once adapter is restarted with its setup replayed
 * and passes too), and the note a crash leaves. The whole matrix of
 * misbehaving adapters runs in tests/selftest_adapters.sh.
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

#include "proxy.h"
#include "runner.h"
#include "util.h"
#include "world_fixture.h"

static void split_ok(const char *cmd, const char *const *want, size_t n)
{
  char **argv = NULL;
  size_t i;
  assert_int_equal(esmc_split_command(cmd, &argv), 0);
  for(i = 0; i < n; i++) {
    assert_non_null(argv[i]);
    assert_string_equal(argv[i], want[i]);
  }
  assert_null(argv[n]);
  esmc_argv_free(argv);
}

static void test_split(void **state)
{
  static const char *const a[] = {"python3", "x.py", "--flag"};
  static const char *const b[] = {"run", "two words", "it's", "a\"b", ""};
  static const char *const c[] = {"a b", "$HOME", "*"};
  char **argv = NULL;
  (void)state;
  split_ok("  python3\tx.py   --flag ", a, 3);
  split_ok("run 'two words' \"it's\" \"a\\\"b\" ''", b, 5);
  split_ok("a\\ b $HOME *", c, 3); /* no shell: no expansion */
  assert_int_equal(esmc_split_command("", &argv), -1);
  assert_int_equal(esmc_split_command("   ", &argv), -1);
  assert_int_equal(esmc_split_command("a 'unterminated", &argv), -1);
  assert_int_equal(esmc_split_command("a \"unterminated", &argv), -1);
  assert_null(argv);
}

static const struct esmc_adapter *open_py(const char *script, const char *mode)
{
  char *argv[4];
  char err[1024] = "";
  const struct esmc_adapter *a = NULL;
  struct esmc_proxy_opts o;
  memset(&o, 0, sizeof(o));
  o.validate = 1;
  argv[0] = (char *)"python3";
  argv[1] = (char *)script;
  argv[2] = (char *)mode;
  argv[3] = NULL;
  if(esmc_proxy_open(argv, &o, &a, err, sizeof(err)))
    print_error("%s\n", err);
  assert_non_null(a);
  return a;
}

static void test_open(void **state)
{
  char *argv[] = {(char *)"/nonexistent/adapter", NULL};
  char err[1024] = "";
  const struct esmc_adapter *a = (const struct esmc_adapter *)1;
  (void)state;
  assert_int_equal(esmc_proxy_open(argv, NULL, &a, err, sizeof(err)), -1);
  assert_null(a);
  assert_non_null(strstr(err, "cannot execute"));
  assert_false(esmc_proxy_is(NULL));

  a = open_py(ESMC_SOURCE_DIR "/adapters/python/esmc_adapter.py", NULL);
  assert_true(esmc_proxy_is(a));
  assert_string_equal(a->name, "esmc-python-example");
  assert_true(a->capabilities & ESMC_CAP_KINESIS);
  assert_true(a->capabilities & ESMC_CAP_DYNAMODB);
  assert_false(a->capabilities & ESMC_CAP_FILTER);
  assert_non_null(a->update); /* it claims update */
  assert_int_equal(a->abi_version, 1);
  assert_int_equal(esmc_adapter_check(a, err, sizeof(err)), 0);
  esmc_proxy_close();
  esmc_proxy_close(); /* twice is fine */
}

static const char *const simple_case =
    WF_HEAD("proxy-simple") "\"source\":\"kinesis\","
    "\"mapping\":{\"batch_size\":10,\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\",\"data\":\"a\"},{\"id\":\"r2\",\"data\":\"b\"},"
    "{\"id\":\"r3\",\"at_ms\":3000,\"data\":\"c\"}]}";

static enum esmc_verdict run_one(const struct esmc_adapter *a, char *reason,
                                 size_t n)
{
  struct esmc_scenario sc;
  struct esmc_run_opts o;
  struct esmc_case_result r;
  enum esmc_verdict v;
  wf_load(&sc, simple_case);
  memset(&o, 0, sizeof(o));
  o.adapter = a;
  o.seed = 3;
  assert_int_equal(esmc_run_case(&o, &sc, &r), 0);
  v = r.verdict;
  snprintf(reason, n, "%s", r.reason ? r.reason : "");
  if(v != ESMC_V_PASS)
    print_message("  [%s] %s\n", esmc_verdict_name(v), reason);
  esmc_case_result_free(&r);
  esmc_scenario_free(&sc);
  return v;
}

static void test_run_cases(void **state)
{
  char reason[2048], mark[] = "/tmp/esmc-proxy-mark-XXXXXX";
  int fd;
  const struct esmc_adapter *a;
  (void)state;
  /* The example passes, in this process, twice in a row. */
  a = open_py(ESMC_SOURCE_DIR "/adapters/python/esmc_adapter.py", NULL);
  assert_int_equal(run_one(a, reason, sizeof(reason)), ESMC_V_PASS);
  assert_int_equal(run_one(a, reason, sizeof(reason)), ESMC_V_PASS);
  esmc_proxy_close();

  /* A process that dies once is restarted, its setup replayed: PASS. */
  fd = mkstemp(mark);
  assert_true(fd >= 0);
  close(fd);
  unlink(mark);
  setenv("ESMC_SELFTEST_MARK", mark, 1);
  a = open_py(ESMC_SOURCE_DIR "/adapters/selftest/misbehave.py", "crash-once");
  assert_int_equal(run_one(a, reason, sizeof(reason)), ESMC_V_PASS);
  unlink(mark);
  esmc_proxy_close();

  /* One that always dies: CRASH naming the restarts and its stderr. */
  a = open_py(ESMC_SOURCE_DIR "/adapters/selftest/misbehave.py", "stderr");
  assert_int_equal(run_one(a, reason, sizeof(reason)), ESMC_V_CRASH);
  assert_non_null(strstr(reason, "after 3 restarts"));
  assert_non_null(strstr(reason, "stderr: misbehave: something went badly wrong"));
  /* The note is handed over once: the next case starts clean. */
  assert_int_equal(esmc_proxy_end_case(NULL, NULL), ESMC_PROXY_NOTE_NONE);
  esmc_proxy_close();
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_open),
      cmocka_unit_test(test_run_cases),
  };
  return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}

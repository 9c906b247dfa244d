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
  assert_int_equal(a->abi_version, 1); /* it speaks protocol 1 only */
  assert_int_equal(esmc_proxy_protocol(), 1);
  assert_int_equal(esmc_adapter_check(a, err, sizeof(err)), 0);
  esmc_proxy_close();
  esmc_proxy_close(); /* twice is fine */
}

static const char *const simple_case =
    WF_HEAD("proxy-simple") "\"source\":\"kinesis\","
    "\"mapping\":{\"batch_size\":10,\"starting_position\":\"TRIM_HORIZON\"},"
    "\"records\":[{\"id\":\"r1\",\"data\":\"a\"},{\"id\":\"r2\",\"data\":\"b\"},"
    "{\"id\":\"r3\",\"at_ms\":3000,\"data\":\"c\"}]}";

static enum esmc_verdict run_json(const struct esmc_adapter *a,
                                  const char *json, char *reason, size_t n)
{
  struct esmc_scenario sc;
  struct esmc_run_opts o;
  struct esmc_case_result r;
  enum esmc_verdict v;
  wf_load(&sc, json);
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

static enum esmc_verdict run_one(const struct esmc_adapter *a, char *reason,
                                 size_t n)
{
  return run_json(a, simple_case, reason, n);
}

static const char *const sqs_case =
    "{\"id\":\"proxy-sqs\",\"description\":\"unit test\",\"rules\":"
    "[\"SQS-BATCH-1\"],\"tags\":[\"sqs\"],\"requires\":[\"sqs\"],"
    "\"source\":\"sqs\",\"mapping\":{\"batch_size\":10},"
    "\"records\":[{\"id\":\"m1\",\"at_ms\":0,\"body\":\"{\\\"n\\\":1}\"},"
    "{\"id\":\"m2\",\"at_ms\":0,\"body\":\"plain text\"},"
    "{\"id\":\"m3\",\"at_ms\":2500,\"body\":\"late\"}],"
    "\"expect\":{\"delivered\":[\"m1\",\"m2\",\"m3\"]}}";

/* DynamoDB images kept as the case wrote them, over several lines: the
 * proxy must still send each record on one line. */
static const char *const ddb_multiline_case =
    "{\"id\":\"proxy-ddb\",\"description\":\"unit test\",\"rules\":"
    "[\"GEN-1\"],\"tags\":[\"dynamodb\"],\"requires\":[\"dynamodb\"],"
    "\"source\":\"dynamodb\",\"mapping\":{\"starting_position\":"
    "\"TRIM_HORIZON\"},\"records\":[{\"id\":\"d1\",\"keys\":{\n"
    "  \"pk\": {\"S\": \"a b\"}\n},\"new_image\":{\n  \"pk\": {\"S\": "
    "\"a b\"},\n\t\"n\": {\"N\": \"1\"}\n}}],"
    "\"expect\":{\"delivered\":[\"d1\"]}}";

static int file_has(const char *path, const char *needle)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  size_t n;
  int found;
  assert_non_null(f);
  buf = calloc(1, 1 << 20);
  assert_non_null(buf);
  n = fread(buf, 1, (1 << 20) - 1, f);
  buf[n] = '\0';
  fclose(f);
  found = strstr(buf, needle) != NULL;
  free(buf);
  return found;
}

/* Protocol 2: a scripted adapter receives, invokes and deletes through the
 * proxy, which presents it as an ABI v2 adapter claiming sqs. */
static void test_sqs(void **state)
{
  char reason[2048], err[256], tr[] = "/tmp/esmc-proxy-tr-XXXXXX";
  char *argv[4];
  const struct esmc_adapter *a = NULL;
  struct esmc_proxy_opts o;
  int fd;
  (void)state;
  fd = mkstemp(tr);
  assert_true(fd >= 0);
  close(fd);
  memset(&o, 0, sizeof(o));
  o.validate = 1;
  o.transcript = tr;
  argv[0] = (char *)"python3";
  argv[1] = (char *)ESMC_SOURCE_DIR "/tests/adapters/sqs_script.py";
  argv[2] = NULL;
  argv[3] = NULL;
  if(esmc_proxy_open(argv, &o, &a, reason, sizeof(reason)))
    print_error("%s\n", reason);
  assert_non_null(a);
  assert_int_equal(esmc_proxy_protocol(), 2);
  assert_int_equal(a->abi_version, 2);
  assert_true(a->struct_size >= ESMC_ADAPTER_V2_SIZE);
  assert_true(a->capabilities & ESMC_CAP_SQS);
  assert_non_null(a->on_receive_complete);
  assert_int_equal(esmc_adapter_check(a, err, sizeof(err)), 0);
  assert_int_equal(run_json(a, sqs_case, reason, sizeof(reason)), ESMC_V_PASS);
  esmc_proxy_close();
  assert_true(file_has(tr, "\"op\":\"receive_complete\""));
  assert_true(file_has(tr, "\"call\":\"delete_message\""));
  assert_true(file_has(tr, "\"call\":\"get_queue_attributes\""));
  assert_true(file_has(tr, "\"protocols\":[1,2]"));
  assert_true(file_has(tr, "\"body\":\"plain text\""));
  unlink(tr);

  /* The same adapter speaking protocol 1 only: a v1 table, no queues. */
  a = open_py(ESMC_SOURCE_DIR "/tests/adapters/sqs_script.py", "v1");
  assert_int_equal(esmc_proxy_protocol(), 1);
  assert_int_equal(a->abi_version, 1);
  assert_int_equal(a->struct_size, ESMC_ADAPTER_V1_SIZE);
  assert_false(a->capabilities & (ESMC_CAP_SQS | ESMC_CAP_SQS_FIFO));
  esmc_proxy_close();
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
  assert_int_equal(run_json(a, ddb_multiline_case, reason, sizeof(reason)),
                   ESMC_V_PASS);
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
      cmocka_unit_test(test_sqs),
  };
  return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}

/*
 * test_fuzz.c: the fuzzing toolkit: the byte reader, the decoder (every
 * input decodes to a scenario the reference accepts), the case writer (a
 * loaded case survives write -> load and runs the same), determinism, and
 * the planted-bug demonstration: a stored scenario_fuzzer finding fails on
 * the planted adapter only, and fuzz-to-case turns it into a shrunk case
 * that fails on the planted adapter and passes on the reference.
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
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "case_load.h"
#include "case_write.h"
#include "fuzz_decode.h"
#include "runner.h"
#include "util.h"

#define PLANTED_SO ESMC_BINARY_DIR "/libesmc_planted_bug.so"
#define FINDING ESMC_SOURCE_DIR "/fuzz/findings/planted_bug/no_loss-dynamodb-e4513bbd"

static const struct esmc_adapter *reference(void)
{
  static struct esmc_loaded_adapter la;
  if(!la.a)
    assert_int_equal(esmc_adapter_load("reference", &la), 0);
  return la.a;
}

/* A deterministic input of n bytes. */
static void pseudo_input(uint8_t *p, size_t n, uint64_t seed)
{
  size_t i;
  for(i = 0; i < n; i++) {
    seed = seed * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    p[i] = (uint8_t)(seed >> 56);
  }
}

static void test_fdp(void **state)
{
  static const uint8_t in[] = {1, 2, 3, 4, 0x05, 0x01};
  struct esmc_fdp f;
  uint8_t out[8];
  (void)state;
  esmc_fdp_init(&f, in, sizeof(in));
  assert_int_equal(esmc_fdp_range(&f, 0, 255), 0x01);     /* the tail first */
  assert_int_equal(esmc_fdp_range(&f, 10, 10), 10);       /* no byte used */
  assert_int_equal(esmc_fdp_range(&f, 0, 1), 1);          /* 0x05 % 2 */
  assert_int_equal(esmc_fdp_bytes(&f, out, 8), 4);        /* the head */
  assert_memory_equal(out, in, 4);
  assert_int_equal(esmc_fdp_range(&f, 7, 9), 7);          /* used up: lo */
  assert_int_equal(esmc_fdp_bytes(&f, out, 8), 0);
  esmc_fdp_init(&f, NULL, 5);
  assert_int_equal(esmc_fdp_range(&f, 3, 1000), 3);
}

/* Every input decodes to a scenario the reference accepts and that
 * survives the case text exactly. */
static void test_decode_valid_and_writable(void **state)
{
  uint8_t in[400];
  unsigned k, findings = 0;
  uint32_t seen = 0;
  (void)state;
  for(k = 0; k < 200; k++) {
    struct esmc_scenario sc, back;
    struct esmc_buf t1, t2;
    struct esmc_fuzz_finding f;
    uint32_t sw;
    size_t n = (size_t)(k * 37) % sizeof(in);
    pseudo_input(in, n, k);
    assert_int_equal(esmc_fuzz_decode(in, n, k & 1 ? ESMC_DECODE_SHAPE_FREE : 0,
                                      &sc, &sw), 0);
    seen |= sw;
    assert_int_equal(sc.requires & ~reference()->capabilities, 0);
    esmc_buf_init(&t1);
    esmc_buf_init(&t2);
    assert_int_equal(esmc_case_write(&sc, &t1), 0);
    if(esmc_case_load_buf(t1.data, t1.len, "decoded", &back, NULL) != 0)
      fail_msg("decoded scenario %u does not load:\n%s", k, t1.data);
    assert_int_equal(esmc_case_write(&back, &t2), 0);
    assert_string_equal(t1.data, t2.data);
    assert_int_not_equal(esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED, &f), -1);
    if(f.property[0]) {
      findings++;
      /* Whatever else a run may find, the decoder never makes a
       * configuration the reference rightly rejects. */
      assert_string_not_equal(f.property, "config_validation");
    }
    esmc_scenario_free(&back);
    esmc_scenario_free(&sc);
    esmc_buf_free(&t1);
    esmc_buf_free(&t2);
  }
  assert_int_equal(seen, ESMC_SW_ALL); /* every swarm class appeared */
  assert_true(findings < 5);
}

/* Each fault and multi-mapping class (the E5 C8 prefix) can be switched on
 * alone: it then shows in the decoded scenario, which still loads back
 * from its case text, and the reference passes it. */
static void test_fault_classes(void **state)
{
  static const struct {
    uint32_t cls, queue; /* queue: extension bits for SQS / FIFO */
  } want[] = {
      {ESMC_SW_MULTI, 0},       {ESMC_SW_MULTI, ESMC_SW_SQS},
      {ESMC_SW_FAULT_READ, 0},  {ESMC_SW_FAULT_READ, ESMC_SW_SQS},
      {ESMC_SW_FAULT_ITER, 0},  {ESMC_SW_FAULT_QUEUE, ESMC_SW_SQS},
      {ESMC_SW_FAULT_QUEUE, ESMC_SW_FIFO}, {ESMC_SW_FAULT_PERM, 0},
      {ESMC_SW_FAULT_PERM, ESMC_SW_SQS},   {ESMC_SW_FAULT_DEST, 0}};
  uint8_t in[300];
  size_t c;
  (void)state;
  for(c = 0; c < sizeof(want) / sizeof(want[0]); c++) {
    unsigned k, shown = 0;
    uint32_t ext = (want[c].cls | want[c].queue) >> 17;
    for(k = 0; k < 40; k++) {
      struct esmc_scenario sc, back;
      struct esmc_buf t;
      struct esmc_fuzz_finding f;
      uint32_t sw;
      size_t i;
      pseudo_input(in, sizeof(in), 5000 + (unsigned)c * 100 + k);
      in[0] = ESMC_SW_EXT_MAGIC0;
      in[1] = ESMC_SW_EXT2_MAGIC1;
      in[2] = (uint8_t)(ext & 0xff);
      in[3] = (uint8_t)(ext >> 8);
      /* The destination class needs a destination: the base mask's. */
      in[sizeof(in) - 1] |= 0x20;
      assert_int_equal(esmc_fuzz_decode(in, sizeof(in), 0, &sc, &sw), 0);
      assert_true((sw & want[c].cls) != 0);
      if(want[c].cls == ESMC_SW_MULTI)
        shown += sc.extra_count > 0;
      for(i = 0; i < sc.event_count; i++)
        shown += (sc.events[i].kind == ESMC_CASE_FAULT ||
                  sc.events[i].kind == ESMC_CASE_TRIM) &&
                 want[c].cls != ESMC_SW_MULTI;
      esmc_buf_init(&t);
      assert_int_equal(esmc_case_write(&sc, &t), 0);
      if(esmc_case_load_buf(t.data, t.len, "decoded", &back, NULL) != 0)
        fail_msg("class %zu input %u does not load back:\n%s", c, k, t.data);
      assert_int_not_equal(esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED,
                                           &f), -1);
      if(f.property[0])
        fail_msg("class %zu input %u: the reference fails %s: %s", c, k,
                 f.property, f.message);
      esmc_scenario_free(&back);
      esmc_scenario_free(&sc);
      esmc_buf_free(&t);
    }
    if(!shown)
      fail_msg("class %zu never showed in 40 inputs", c);
  }
}

static void test_empty_input(void **state)
{
  struct esmc_scenario sc;
  struct esmc_fuzz_finding f;
  (void)state;
  assert_int_equal(esmc_fuzz_decode(NULL, 0, 0, &sc, NULL), 0);
  assert_int_equal(sc.source, ESMC_SOURCE_KINESIS);
  assert_true(sc.record_count >= 1);
  assert_int_equal(esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED, &f), 0);
  assert_int_equal(f.verdict, ESMC_V_PASS);
  esmc_scenario_free(&sc);
}

/* Every corpus case survives write -> load, and runs with the same history. */
static void test_corpus_roundtrip(void **state)
{
  DIR *d = opendir(ESMC_SOURCE_DIR "/cases");
  struct dirent *e;
  unsigned n = 0;
  (void)state;
  assert_non_null(d);
  while((e = readdir(d)) != NULL) {
    char path[1024];
    struct esmc_scenario sc, copy;
    struct esmc_fuzz_finding f1, f2;
    size_t len = strlen(e->d_name);
    if(len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
      continue;
    snprintf(path, sizeof(path), "%s/cases/%s", ESMC_SOURCE_DIR, e->d_name);
    if(esmc_case_load_file(path, &sc, NULL) != 0)
      continue; /* a broken case is conformance.corpus.lint's business */
    if(esmc_scenario_clone(&sc, &copy) != 0)
      fail_msg("%s does not survive the case writer", e->d_name);
    esmc_fuzz_check(&sc, reference(), 7, &f1);
    esmc_fuzz_check(&copy, reference(), 7, &f2);
    if(f1.digest != f2.digest || f1.verdict != f2.verdict)
      fail_msg("%s runs differently after the case writer", e->d_name);
    esmc_scenario_free(&copy);
    esmc_scenario_free(&sc);
    n++;
  }
  closedir(d);
  assert_true(n > 10);
}

/* A JSON case taken as a fuzz input keeps its shape but none of its
 * expectations, those of its extra mappings included. */
static void test_json_case_drops_expectations(void **state)
{
  struct esmc_scenario sc;
  char *data = NULL;
  size_t len = 0, i;
  (void)state;
  assert_int_equal(esmc_read_file(ESMC_SOURCE_DIR "/tests/data/loader-mappings.json",
                                  &data, &len), 0);
  assert_int_equal(esmc_fuzz_decode((const uint8_t *)data, len, 0, &sc, NULL), 0);
  assert_true(sc.extra_count >= 1);
  assert_int_equal(sc.expect.delivered_count, 0);
  for(i = 0; i < sc.extra_count; i++) {
    assert_int_equal(sc.extra[i].expect.delivered_count, 0);
    assert_int_equal(sc.extra[i].expect.batches_given, 0);
    assert_int_equal(sc.extra[i].expect.invocation_count, ESMC_UNSET);
  }
  for(i = 0; i < sc.event_count; i++)
    assert_null(sc.events[i].expect_error_code);
  esmc_scenario_free(&sc);
  esmc_free(data);
}

static void test_determinism(void **state)
{
  uint8_t in[200];
  unsigned k;
  (void)state;
  for(k = 0; k < 20; k++) {
    struct esmc_scenario sc;
    struct esmc_fuzz_finding a, b;
    pseudo_input(in, sizeof(in), 1000 + k);
    assert_int_equal(esmc_fuzz_decode(in, sizeof(in), 0, &sc, NULL), 0);
    esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED, &a);
    esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED, &b);
    assert_true(a.digest == b.digest);
    esmc_scenario_free(&sc);
  }
}

static void test_planted_bug(void **state)
{
  struct esmc_loaded_adapter planted;
  struct esmc_scenario sc, found;
  struct esmc_fuzz_finding f;
  struct esmc_run_opts ro;
  struct esmc_case_result r;
  char *data = NULL, dir[] = "/tmp/esmc-test-fuzz-XXXXXX", path[1024], prop[64];
  size_t len = 0;
  (void)state;

  assert_int_equal(esmc_adapter_load(PLANTED_SO, &planted), 0);
  assert_int_equal(esmc_read_file(FINDING, &data, &len), 0);
  /* The stored finding: scenario_fuzzer's oracle fires on the planted
   * adapter and not on the reference. */
  assert_int_equal(esmc_fuzz_decode((const uint8_t *)data, len, 0, &sc, NULL), 0);
  assert_int_equal(esmc_fuzz_check(&sc, planted.a, ESMC_FUZZ_RUN_SEED, &f), 1);
  assert_string_equal(f.property, "no_loss");
  assert_int_equal(esmc_fuzz_check(&sc, reference(), ESMC_FUZZ_RUN_SEED, &f), 0);

  /* fuzz-to-case: a shrunk case that loads, fails on the planted adapter
   * and passes on the reference. */
  assert_non_null(mkdtemp(dir));
  assert_int_equal(esmc_fuzz_to_case((const uint8_t *)data, len, planted.a,
                                     planted.a->name, dir, path, sizeof(path),
                                     prop, sizeof(prop)), 0);
  assert_string_equal(prop, "no_loss");
  assert_non_null(strstr(path, "/fuzz-no-loss-"));
  assert_int_equal(esmc_case_load_file(path, &found, NULL), 0);
  assert_true(found.record_count <= sc.record_count);
  assert_true(found.record_count <= 3);
  assert_string_equal(found.tags[0], "fuzz");
  memset(&ro, 0, sizeof(ro));
  ro.seed = ESMC_FUZZ_RUN_SEED;
  ro.adapter = planted.a;
  esmc_run_case(&ro, &found, &r);
  assert_int_equal(r.verdict, ESMC_V_FAIL);
  esmc_case_result_free(&r);
  ro.adapter = reference();
  esmc_run_case(&ro, &found, &r);
  assert_int_equal(r.verdict, ESMC_V_PASS);
  esmc_case_result_free(&r);

  /* An input that shows nothing gives no case. */
  assert_int_equal(esmc_fuzz_to_case((const uint8_t *)"", 0, reference(),
                                     "reference", dir, path, sizeof(path), prop,
                                     sizeof(prop)), 1);
  esmc_scenario_free(&found);
  esmc_scenario_free(&sc);
  esmc_free(data);
  {
    DIR *d = opendir(dir);
    struct dirent *e;
    while(d && (e = readdir(d)) != NULL) {
      char p[1200];
      if(e->d_name[0] == '.')
        continue;
      snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
      unlink(p);
    }
    if(d)
      closedir(d);
    rmdir(dir);
  }
  esmc_adapter_unload(&planted);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fdp),
      cmocka_unit_test(test_empty_input),
      cmocka_unit_test(test_fault_classes),
      cmocka_unit_test(test_decode_valid_and_writable),
      cmocka_unit_test(test_corpus_roundtrip),
      cmocka_unit_test(test_json_case_drops_expectations),
    cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_planted_bug),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * afl_main.c: AFL++ persistent-mode driver for any target's
 * LLVMFuzzerTestOneInput (build with afl-clang-fast; fuzz/README.md).
 *
 * State between iterations: each target builds its world, mapper and
 * scenario per input and frees them before returning; the only process
 * state is the allocation-failure countdown (reset here and in the targets),
 * the loaded adapter (read-only after loading) and response_fuzzer's
 * read-only fixture world, built before the fork server starts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "afl_main.c needs afl-clang-fast (or afl-clang-lto): see fuzz/README.md"
#endif

__AFL_FUZZ_INIT();

int main(void)
{
  unsigned char *buf;
  /* Warm up before the fork server: load the adapter, build fixtures. */
  LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
#ifdef __AFL_HAVE_MANUAL_CONTROL
  __AFL_INIT();
#endif
  buf = __AFL_FUZZ_TESTCASE_BUF;
  while(__AFL_LOOP(10000)) {
    size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;
    /* An exact-size copy, so overreads trip the sanitizers. */
    uint8_t *copy = malloc(len ? len : 1);
    if(!copy)
      abort();
    memcpy(copy, buf, len);
    esmc_alloc_fail_at(0); /* explicit reset of all harness state */
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
  }
  return 0;
}

/*
 * scenario_fuzzer: bytes -> scenario (fuzz_decode.c, swarm testing) -> the
 * world against the mapper -> every checker. A violation, or a verdict other
 * than pass or unsupported, aborts with a stable one-line signature
 *   esmcheck-violation: <property> <source>
 * (libFuzzer deduplicates on the stack; the signature is for people and
 * for `esmcheck fuzz-to-case`, which turns the input into a case).
 *
 * About 5% of inputs, chosen by a hash of the input, run twice and must
 * give the same history digest (the determinism self-check).
 *
 * The mapper is the linked reference, or the shared object named by
 * ESMC_FUZZ_ADAPTER (the planted-bug demonstration uses this).
 *
 * ESMC_FUZZ_KNOWN, when set, lists signatures ("<property> <source>",
 * separated by ';') of open, already reported findings: those are printed
 * once and do not abort, so a smoke run can look past them. scripts/
 * fuzz-smoke fills it from fuzz/known-findings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_decode.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct esmc_adapter *a = esmc_fuzz_adapter("ESMC_FUZZ_ADAPTER");
  struct esmc_scenario sc;
  struct esmc_fuzz_finding f;
  int rc;

  esmc_alloc_fail_at(0); /* no state from an earlier input */
  if(size > 65536)
    return 0; /* the decoder uses a few hundred bytes; cases are small */
  if(esmc_fuzz_decode(data, size, 0, &sc, NULL))
    return 0;
  rc = esmc_fuzz_check(&sc, a, ESMC_FUZZ_RUN_SEED, &f);
  if(rc > 0) {
    const char *known = getenv("ESMC_FUZZ_KNOWN");
    char sig[96];
    static int told;
    snprintf(sig, sizeof(sig), "%s %s", f.property, f.source);
    if(known && strstr(known, sig)) {
      if(!told++)
        fprintf(stderr, "esmcheck-known: %s (listed in ESMC_FUZZ_KNOWN)\n", sig);
      esmc_scenario_free(&sc);
      return 0;
    }
    fprintf(stderr, "esmcheck-violation: %s %s\n  %s\n", f.property, f.source,
            f.message);
    abort();
  }
  if(rc == 0 && esmc_fuzz_input_hash(data, size) % 20 == 0) {
    struct esmc_fuzz_finding g;
    esmc_fuzz_check(&sc, a, ESMC_FUZZ_RUN_SEED, &g);
    if(g.digest != f.digest) {
      fprintf(stderr, "esmcheck-violation: determinism %s\n  history digest "
              "%016llx, then %016llx\n", f.source,
              (unsigned long long)f.digest, (unsigned long long)g.digest);
      abort();
    }
  }
  esmc_scenario_free(&sc);
  return 0;
}

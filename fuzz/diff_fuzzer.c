/*
 * diff_fuzzer: the same decoded scenario against an adapter (the shared
 * object named by ESMC_DIFF_ADAPTER; the reference .so or the linked
 * reference when unset) and against the linked reference, comparing what
 * must agree (Cryptofuzz style, anchors section 6.1):
 *
 *  - the verdict: where the reference passes, the adapter must pass too
 *    (every property, shard order included);
 *  - for inputs whose first byte is odd the scenario is decoded shape-free
 *    (batch size 1, finite retries, outcomes that depend only on the record
 *    and its attempt, no timeline events): then each record in scope on
 *    both sides must meet the same fate: succeeded, reported to the
 *    destination, or discarded. Duplicates are tolerated (at-least-once):
 *    delivery counts are never compared.
 *
 * Scenarios needing a capability the adapter lacks, and runs either side
 * calls unsupported, are skipped. A difference aborts with
 *   esmcheck-diff: reference-<adapter>-<property or fate>-<source>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fuzz_common.h"
#include "fuzz_decode.h"
#include "runner.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fate_name(enum esmc_fate f)
{
  switch(f) {
  case ESMC_FATE_SUCCEEDED: return "succeeded";
  case ESMC_FATE_REPORTED: return "reported";
  case ESMC_FATE_SKIPPED: return "discarded";
  case ESMC_FATE_TRIMMED: return "trimmed";
  case ESMC_FATE_OUT_OF_SCOPE: return "out-of-scope";
  default: return "pending";
  }
}

static int settled(enum esmc_fate f)
{
  return f == ESMC_FATE_SUCCEEDED || f == ESMC_FATE_REPORTED ||
         f == ESMC_FATE_SKIPPED;
}

static const char *first_property(const struct esmc_case_result *r)
{
  size_t i;
  for(i = 0; i < r->violations.n; i++)
    if(r->violations.v[i].level == ESMC_MUST)
      return r->violations.v[i].property;
  return r->violations.n ? r->violations.v[0].property
                         : esmc_verdict_name(r->verdict);
}

static int skipped(enum esmc_verdict v)
{
  return v == ESMC_V_UNSUPPORTED || v == ESMC_V_SKIP;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct esmc_adapter *ref = esmc_fuzz_adapter(NULL);
  const struct esmc_adapter *a = esmc_fuzz_adapter("ESMC_DIFF_ADAPTER");
  struct esmc_scenario sc;
  struct esmc_run_opts ro;
  struct esmc_case_result rr, ra;
  struct esmc_world *wr = NULL, *wa = NULL;
  unsigned flags = size && (data[0] & 1) ? ESMC_DECODE_SHAPE_FREE : 0;
  const char *src;

  esmc_alloc_fail_at(0);
  if(size > 4096 || esmc_fuzz_decode(data, size, flags, &sc, NULL))
    return 0;
  src = sc.source == ESMC_SOURCE_DYNAMODB ? "dynamodb" : "kinesis";
  if(sc.requires & ~a->capabilities) {
    esmc_scenario_free(&sc);
    return 0;
  }
  memset(&ro, 0, sizeof(ro));
  ro.seed = ESMC_FUZZ_RUN_SEED;
  ro.adapter = ref;
  esmc_run_case_world(&ro, &sc, &rr, &wr);
  ro.adapter = a;
  esmc_run_case_world(&ro, &sc, &ra, &wa);
  if(!skipped(rr.verdict) && !skipped(ra.verdict) && wr && wa &&
     rr.verdict == ESMC_V_PASS) {
    if(ra.verdict != ESMC_V_PASS) {
      fprintf(stderr, "esmcheck-diff: reference-%s-%s-%s\n  %s\n", a->name,
              first_property(&ra), src,
              ra.violations.n ? ra.violations.v[0].message
                              : ra.reason ? ra.reason : "");
      abort();
    }
    if(flags & ESMC_DECODE_SHAPE_FREE) {
      struct esmc_analysis ar, aa;
      uint32_t rid;
      if(esmc_analyze(wr, &ar) == 0) {
        if(esmc_analyze(wa, &aa) == 0) {
          for(rid = 0; rid < wr->nrecords && rid < wa->nrecords; rid++) {
            enum esmc_fate fr = ar.rec[rid].fate, fa = aa.rec[rid].fate;
            if(!ar.rec[rid].in_scope || !aa.rec[rid].in_scope ||
               !settled(fr) || !settled(fa) || fr == fa)
              continue;
            fprintf(stderr, "esmcheck-diff: reference-%s-fate-%s\n  record %s:"
                    " %s by the reference, %s by %s\n", a->name, src,
                    esmc_world_record_name(wr, rid), fate_name(fr),
                    fate_name(fa), a->name);
            abort();
          }
          esmc_analysis_free(&aa);
        }
        esmc_analysis_free(&ar);
      }
    }
  }
  esmc_case_result_free(&rr);
  esmc_case_result_free(&ra);
  esmc_world_free(wr);
  esmc_world_free(wa);
  esmc_scenario_free(&sc);
  return 0;
}

/*
 * response_fuzzer: arbitrary function responses, differential. The same
 * bytes go to the reference mapper's reading of a ReportBatchItemFailures
 * response (ref_parse_batch_response) and to the harness's own reading of
 * the spec (esmc_interpret_response, PBR-1..4), for a batch of real
 * sequence numbers chosen by the input. Both must agree on success, whole
 * batch failure, or partial failure from the same record; neither may
 * crash. A disagreement aborts with
 *   esmcheck-violation: response-disagreement kinesis
 *
 * Input: integers (batch length and offset) off the tail, the response body
 * is what remains, copied to an exact-size buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fuzz_decode.h"
#include "ref_internal.h"
#include "scenario.h"
#include "util.h"
#include "world.h"

#define NREC 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A world with NREC records on one shard, built once and only read. */
static struct esmc_scenario fixture_sc;
static struct esmc_world *fixture;

static int fixture_init(void)
{
  size_t i;
  if(fixture)
    return 0;
  esmc_scenario_init(&fixture_sc);
  fixture_sc.id = esmc_strdup("response-fuzz");
  fixture_sc.source = ESMC_SOURCE_KINESIS;
  fixture_sc.records = esmc_calloc(NREC, sizeof(*fixture_sc.records));
  if(!fixture_sc.records)
    return -1;
  for(i = 0; i < NREC; i++) {
    char id[16];
    snprintf(id, sizeof(id), "r%zu", i + 1);
    fixture_sc.records[i].id = esmc_strdup(id);
    fixture_sc.records[i].partition_key = esmc_strdup("k");
    fixture_sc.records[i].shard = 0;
    fixture_sc.records[i].at_ms = (int64_t)i;
  }
  fixture_sc.record_count = NREC;
  return esmc_world_new(&fixture_sc, 1, &fixture);
}

static const char *ref_name(int k)
{
  return k == REF_RESPONSE_SUCCESS ? "success"
         : k == REF_RESPONSE_PARTIAL ? "partial" : "failure";
}

static const char *harness_name(enum esmc_inv_result r)
{
  return r == ESMC_R_SUCCESS ? "success" : r == ESMC_R_PARTIAL ? "partial"
                                                               : "failure";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct esmc_fdp f;
  uint32_t n, start, i, failed_from = 0;
  uint32_t rids[NREC];
  const char *seqs[NREC];
  size_t lowest = 0;
  char why[160];
  char *body;
  int kind, agree;
  enum esmc_inv_result hr;

  esmc_alloc_fail_at(0);
  if(fixture_init())
    abort();
  esmc_fdp_init(&f, data, size);
  n = esmc_fdp_range(&f, 1, NREC);
  start = esmc_fdp_range(&f, 0, NREC - n);
  for(i = 0; i < n; i++) {
    rids[i] = fixture->shards[0].rids[start + i];
    seqs[i] = fixture->records[rids[i]].seq;
  }
  body = malloc(f.n ? f.n : 1);
  if(!body)
    return 0;
  if(f.n)
    memcpy(body, f.p, f.n);
  kind = ref_parse_batch_response((const uint8_t *)body, f.n, seqs, n, &lowest);
  hr = esmc_interpret_response(fixture, body, f.n, rids, n, &failed_from, why,
                               sizeof(why));
  switch(kind) {
  case REF_RESPONSE_SUCCESS:
    agree = hr == ESMC_R_SUCCESS;
    break;
  case REF_RESPONSE_PARTIAL:
    agree = hr == ESMC_R_PARTIAL && failed_from == lowest;
    break;
  default:
    agree = hr == ESMC_R_FAILURE;
    break;
  }
  if(!agree) {
    fprintf(stderr, "esmcheck-violation: response-disagreement kinesis\n"
            "  reference: %s (lowest %zu), harness: %s (from %u; %s), batch of"
            " %u from r%u, response %.*s\n", ref_name(kind), lowest,
            harness_name(hr), failed_from, why, n, start + 1,
            (int)(f.n > 200 ? 200 : f.n), body);
    abort();
  }
  free(body);
  return 0;
}

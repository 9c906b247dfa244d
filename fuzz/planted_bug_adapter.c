/*
 * planted_bug_adapter.c: a copy of the reference mapper with one planted
 * bug, for the demonstration that scenario_fuzzer finds a real mapper bug
 * and fuzz-to-case turns it into a case (tests/test_fuzz.c, fuzz/README.md).
 *
 * The module links the reference statically and forwards every call to its
 * table, except that every FUNCTION_ERROR result is handed to the mapper
 * as a successful empty response: the mapper
 * "forgets" function errors and checkpoints past the failed batch. That is
 * a classic at-least-once bug (records silently lost, no retry, nothing
 * sent to the destination).
 */
#include <stddef.h>
#include <stdint.h>

#include "esmcheck_adapter.h"

/* The linked reference (built with ESMC_ADAPTER_STATIC). */
const struct esmc_adapter *esmc_adapter_reference(uint32_t host_abi);

static const struct esmc_adapter *inner;
static struct esmc_adapter planted;

static esmc_status planted_on_invoke_complete(void *mapper,
                                              esmc_invocation invocation,
                                              const struct esmc_invoke_result *r)
{
  if(r && r->outcome == ESMC_INVOKE_FUNCTION_ERROR) {
    struct esmc_invoke_result ok = *r;
    ok.outcome = ESMC_INVOKE_OK;
    ok.function_error = NULL;
    ok.payload = (const uint8_t *)"";
    ok.payload_len = 0;
    return inner->on_invoke_complete(mapper, invocation, &ok);
  }
  return inner->on_invoke_complete(mapper, invocation, r);
}

ESMC_EXPORT const struct esmc_adapter *esmc_adapter_entry(uint32_t host_abi);

ESMC_EXPORT const struct esmc_adapter *esmc_adapter_entry(uint32_t host_abi)
{
  if(!inner) {
    inner = esmc_adapter_reference(host_abi);
    if(!inner)
      return NULL;
    planted = *inner;
    planted.name = "esmcheck-planted-bug";
    planted.on_invoke_complete = planted_on_invoke_complete;
  }
  return &planted;
}

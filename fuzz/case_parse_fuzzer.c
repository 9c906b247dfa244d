/*
 * case_parse_fuzzer: bytes into the case loader. The loader must never
 * crash, leak or hang, and every rejection must carry a message (and a
 * position unless it concerns the whole input). A loaded case must be one
 * the world can be built from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "case_load.h"
#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct esmc_scenario sc;
  struct esmc_load_error err;
  memset(&err, 0, sizeof(err));
  if(esmc_case_load_buf((const char *)data, size, "fuzz", &sc, &err) != 0) {
    if(err.message[0] == '\0' || err.line < 0 || err.column < 0 ||
       (err.line == 0) != (err.column == 0))
      abort(); /* a rejection without a usable explanation */
    return 0;
  }
  {
    struct esmc_world *w = NULL;
    if(esmc_world_new(&sc, 1, &w) == 0)
      esmc_world_free(w);
  }
  esmc_scenario_free(&sc);
  return 0;
}

/*
 * case_parse_fuzzer: bytes into the case loader. The loader must never
 * crash, leak or hang, and every rejection must carry a message (and a
 * position unless it concerns the whole input). A loaded case must be one
 * the world can be built from, and must survive the round trip through the
 * case writer: load -> write -> load -> write gives the same text twice
 * (c-style E11), so fuzz-to-case writes exactly what it found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_load.h"
#include "case_write.h"
#include "util.h"
#include "world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large payloads and huge record counts exceed the writer's output limits
 * (1 MiB strings, 2,000,000 values); everything else must round-trip. */
static int writable(const struct esmc_scenario *sc)
{
  size_t i;
  if(sc->record_count > 20000)
    return 0;
  for(i = 0; i < sc->record_count; i++)
    if(sc->records[i].data_len > 256 * 1024)
      return 0;
  return 1;
}

static void roundtrip(const struct esmc_scenario *sc)
{
  struct esmc_buf t1, t2;
  struct esmc_scenario back;
  if(!writable(sc))
    return;
  esmc_buf_init(&t1);
  esmc_buf_init(&t2);
  if(esmc_case_write(sc, &t1) == 0) {
    if(esmc_case_load_buf(t1.data, t1.len, "roundtrip", &back, NULL) != 0) {
      fprintf(stderr, "case_parse_fuzzer: the written case does not load:\n%s",
              t1.data);
      abort();
    }
    if(esmc_case_write(&back, &t2) == 0 &&
       (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0)) {
      fprintf(stderr, "case_parse_fuzzer: the round trip changed the case:\n"
              "%s\n---\n%s", t1.data, t2.data);
      abort();
    }
    esmc_scenario_free(&back);
  }
  esmc_buf_free(&t1);
  esmc_buf_free(&t2);
}

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
  roundtrip(&sc);
  esmc_scenario_free(&sc);
  return 0;
}

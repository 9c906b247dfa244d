/*
 * fuzz_common.h: what the scenario targets share: the adapter under test
 * (the linked reference unless an environment variable names a shared
 * object) and the one-line finding signature.
 */
#ifndef ESMC_FUZZ_COMMON_H
#define ESMC_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_decode.h"
#include "runner.h"

/* Load the adapter named by the environment variable env (or the linked
 * reference when env is NULL, unset or empty) once; exits with a message
 * when it cannot be loaded. It stays loaded for the life of the process. */
static inline const struct esmc_adapter *esmc_fuzz_adapter(const char *env)
{
  static struct esmc_loaded_adapter la[2];
  static const char *names[2];
  const char *spec = env ? getenv(env) : NULL;
  int slot;
  if(!env)
    env = "(reference)";
  if(!spec || !spec[0])
    spec = "reference";
  for(slot = 0; slot < 2 && names[slot]; slot++)
    if(names[slot] == env)
      return la[slot].a;
  if(slot == 2)
    abort();
  if(esmc_adapter_load(spec, &la[slot])) {
    fprintf(stderr, "esmcheck-fuzz: cannot load %s=%s: %s\n", env, spec,
            la[slot].error);
    exit(2);
  }
  names[slot] = env;
  return la[slot].a;
}

/* FNV-1a of the input: picks the determinism sample. */
static inline uint64_t esmc_fuzz_input_hash(const uint8_t *data, size_t size)
{
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  size_t i;
  for(i = 0; i < size; i++)
    h = (h ^ data[i]) * UINT64_C(0x100000001b3);
  return h;
}

#endif /* ESMC_FUZZ_COMMON_H */

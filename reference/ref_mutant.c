/*
 * ref_mutant.c: the mutant table and its selection (ref_mutant.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ref_mutant.h"

int ref_mutant = REF_M_NONE;

static const struct ref_mutant_info ref_mutant_table[] = {
#define REF_X_(id, name, desc, feature) {REF_M_##id, name, desc, feature},
  REF_MUTANTS(REF_X_)
#undef REF_X_
};

int ref_mutant_count(void)
{
  return (int)(sizeof(ref_mutant_table) / sizeof(ref_mutant_table[0]));
}

const struct ref_mutant_info *ref_mutant_info(int id)
{
  if(id < 1 || id > ref_mutant_count())
    return NULL;
  return &ref_mutant_table[id - 1];
}

int ref_mutant_lookup(const char *s)
{
  int i;

  if(!s || !*s || strcmp(s, "none") == 0)
    return 0;
  if(s[0] >= '0' && s[0] <= '9') {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if(errno || *end || v < 0 || v > ref_mutant_count())
      return -1;
    return (int)v;
  }
  for(i = 0; i < ref_mutant_count(); i++)
    if(strcmp(ref_mutant_table[i].name, s) == 0)
      return ref_mutant_table[i].id;
  return -1;
}

int ref_mutant_from_env(void)
{
  int id = ref_mutant_lookup(getenv("ESMC_REF_MUTANT"));

  ref_mutant = id > 0 ? id : REF_M_NONE;
  return ref_mutant;
}

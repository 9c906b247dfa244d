/*
 * my_adapter.c: the smallest adapter that loads: it claims Kinesis, accepts
 * every configuration and reads nothing (so esmcheck judges it FAIL on any
 * case with records). Start your own mapper from here.
 */
#include <stdlib.h>

#include <esmcheck_adapter.h>

struct my_mapper {
  const struct esmc_host *host;
};

static esmc_status my_create(const struct esmc_host *host,
                             const struct esmc_mapping_config *cfg,
                             void **mapper, struct esmc_error *err)
{
  struct my_mapper *m = calloc(1, sizeof(*m));
  (void)cfg;
  (void)err;
  if(!m)
    return ESMC_E_NOMEM;
  m->host = host;
  host->log(host->ctx, ESMC_LOG_INFO, "my_adapter: created");
  *mapper = m;
  return ESMC_OK;
}

static esmc_status my_on_timer(void *mapper, uint64_t token)
{
  (void)mapper;
  (void)token;
  return ESMC_OK;
}

static esmc_status my_on_invoke_complete(void *mapper, esmc_invocation inv,
                                         const struct esmc_invoke_result *res)
{
  (void)mapper;
  (void)inv;
  (void)res;
  return ESMC_OK;
}

static void my_destroy(void *mapper)
{
  free(mapper);
}

static const struct esmc_adapter my_table = {
  .abi_version = 1,
  .struct_size = ESMC_ADAPTER_V1_SIZE,
  .name = "my-adapter",
  .version = "0.0.1",
  .capabilities = ESMC_CAP_KINESIS,
  .create = my_create,
  .on_timer = my_on_timer,
  .on_invoke_complete = my_on_invoke_complete,
  .destroy = my_destroy,
};

ESMC_ADAPTER_ENTRY(my);

ESMC_ADAPTER_ENTRY(my)
{
  return host_abi >= 1 ? &my_table : NULL;
}

/*
 * case_load.h: read a case file (spec/case-format.md) into a struct
 * esmc_scenario. The loader is strict: unknown keys, wrong types, missing
 * required keys, bad references and out-of-limit sizes are errors that name
 * the key path and point at the offending line and column.
 */
#ifndef ESMC_CASE_LOAD_H
#define ESMC_CASE_LOAD_H

#include <stddef.h>

#include "scenario.h"

/* Limits; exceeding one is an error, never a crash. */
#define ESMC_CASE_MAX_FILE (8 * 1024 * 1024)      /* bytes of a case file */
#define ESMC_CASE_MAX_RECORDS 200000              /* after generation */
#define ESMC_CASE_MAX_DATA (10 * 1024 * 1024)     /* data bytes per record */
#define ESMC_CASE_MAX_TOTAL_DATA (64 * 1024 * 1024) /* data bytes per case */
#define ESMC_CASE_MAX_TIME_MS INT64_C(10000000000000) /* any *_ms offset */

struct esmc_load_error {
  char file[512];     /* the name given to the loader (a path) */
  int line;           /* 1-based; 0 when the error concerns the whole file */
  int column;         /* 1-based; 0 likewise */
  char message[512];  /* "mapping.batch_size: expected an integer, found a
                         string" */
};

/* Load a case from buf[0, len) (need not be NUL-terminated); name is used in
 * errors (NULL: "<buffer>"). Returns 0 with out filled (free it with
 * esmc_scenario_free), or -1 with out zero-filled and err filled. err may be
 * NULL. */
int esmc_case_load_buf(const char *buf, size_t len, const char *name,
                       struct esmc_scenario *out, struct esmc_load_error *err);

/* Load a case file; also checks that its id equals the file's base name
 * without ".json", and sets out->path. Same results as esmc_case_load_buf. */
int esmc_case_load_file(const char *path, struct esmc_scenario *out,
                        struct esmc_load_error *err);

/* Format "file:line:column: message" (or "file: message") into buf. */
void esmc_load_error_format(const struct esmc_load_error *e, char *buf,
                            size_t size);

#endif /* ESMC_CASE_LOAD_H */

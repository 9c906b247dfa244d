/*
 * case_write.h: a scenario back to case text (spec/case-format.md), the
 * inverse of the loader: esmc_case_load_buf(esmc_case_write(s)) gives a
 * scenario that runs exactly like s. This is how fuzz-to-case writes the
 * cases it finds, and how the shrinker copies scenarios.
 *
 * Records are written one by one (generators are already expanded), payload
 * bytes as "data" when printable ASCII and "data_base64" otherwise, raw JSON
 * texts (DynamoDB keys and images) verbatim, filter patterns as strings.
 * Strings must be valid UTF-8 without NUL (everything the loader produces
 * is). The scenario must carry an id, a description and at least one rule
 * for the text to load again.
 */
#ifndef ESMC_CASE_WRITE_H
#define ESMC_CASE_WRITE_H

#include "scenario.h"
#include "util.h"

/* Append the case text of sc to out. Returns 0, or -1 when memory ran out
 * (out->oom) or a member cannot be represented: an unknown source, a fault
 * with no calls, an unknown call or an error other than throttled, service,
 * access_denied and expired_iterator, or a mapping or function index that
 * the scenario does not have. Mappings, functions, the `mapping` of update
 * and restart events (when not 0), faults and trims are written so that
 * loading the text gives them back unchanged. */
int esmc_case_write(const struct esmc_scenario *sc, struct esmc_buf *out);

/* Write the case text of sc to path. Returns 0 or -1 (errno or out of
 * memory). */
int esmc_case_write_file(const struct esmc_scenario *sc, const char *path);

/* Deep copy through the text form: write src, load it back into dst.
 * Returns 0, or -1 with dst zero-filled. */
int esmc_scenario_clone(const struct esmc_scenario *src,
                        struct esmc_scenario *dst);

#endif /* ESMC_CASE_WRITE_H */

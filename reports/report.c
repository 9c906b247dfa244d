/* report.c: results.json and junit.xml writers. */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void esmc_violation_rule(const struct esmc_violation *v,
                         const struct esmc_scenario *sc, char *out, size_t n)
{
  const char *p = v->rules ? v->rules : "";
  size_t i;
  out[0] = '\0';
  while(*p) {
    size_t len = strcspn(p, " ");
    for(i = 0; sc && i < sc->rule_count; i++) {
      if(strlen(sc->rules[i]) == len && strncmp(sc->rules[i], p, len) == 0) {
        snprintf(out, n, "%.*s", (int)len, p);
        return;
      }
    }
    if(!out[0])
      snprintf(out, n, "%.*s", (int)len, p);
    p += len;
    while(*p == ' ')
      p++;
  }
  if(!out[0] && sc && sc->rule_count)
    snprintf(out, n, "%s", sc->rules[0]);
}

static void json_s(struct esmc_buf *b, const char *s)
{
  if(!s)
    esmc_buf_puts(b, "null");
  else
    esmc_buf_json_str(b, s, strlen(s));
}

static void json_list(struct esmc_buf *b, char **v, size_t n)
{
  size_t i;
  esmc_buf_putc(b, '[');
  for(i = 0; i < n; i++) {
    if(i)
      esmc_buf_putc(b, ',');
    json_s(b, v[i]);
  }
  esmc_buf_putc(b, ']');
}

void esmc_report_json(const struct esmc_run_report *r, struct esmc_buf *b)
{
  size_t i, k, count[ESMC_V__COUNT] = {0};
  uint64_t bit;
  int first = 1;
  esmc_buf_puts(b, "{\n  \"suite\": {\"name\": \"esmcheck\", \"version\": \"" ESMC_VERSION
                   "\", \"spec_version\": \"" ESMC_SPEC_VERSION "\"},\n");
  esmc_buf_puts(b, "  \"adapter\": {\"name\": ");
  json_s(b, r->adapter ? r->adapter->name : r->adapter_spec);
  esmc_buf_puts(b, ", \"version\": ");
  json_s(b, r->adapter ? r->adapter->version : "");
  esmc_buf_puts(b, ", \"capabilities\": [");
  for(bit = 1; r->adapter && bit; bit <<= 1) {
    const char *name = esmc_cap_name(bit);
    if((r->adapter->capabilities & bit) && name) {
      esmc_buf_printf(b, "%s\"%s\"", first ? "" : ", ", name);
      first = 0;
    }
  }
  esmc_buf_printf(b, "]},\n  \"seed\": %" PRIu64 ",\n  \"cases\": [", r->seed);
  for(i = 0; i < r->ncases; i++) {
    const struct esmc_case_result *c = &r->cases[i];
    const struct esmc_scenario *sc = c->sc;
    count[c->verdict < ESMC_V__COUNT ? c->verdict : ESMC_V_ERROR]++;
    esmc_buf_puts(b, i ? ",\n    {\"id\": " : "\n    {\"id\": ");
    json_s(b, c->id);
    esmc_buf_printf(b, ", \"verdict\": \"%s\", \"rules\": ", esmc_verdict_name(c->verdict));
    json_list(b, sc ? sc->rules : NULL, sc ? sc->rule_count : 0);
    esmc_buf_puts(b, ", \"tags\": ");
    json_list(b, sc ? sc->tags : NULL, sc ? sc->tag_count : 0);
    esmc_buf_puts(b, ",\n     \"violations\": [");
    for(k = 0; k < c->violations.n; k++) {
      const struct esmc_violation *v = &c->violations.v[k];
      char rule[32];
      esmc_violation_rule(v, sc, rule, sizeof(rule));
      esmc_buf_puts(b, k ? ",\n       {\"property\": " : "\n       {\"property\": ");
      json_s(b, v->property);
      esmc_buf_puts(b, ", \"rule\": ");
      json_s(b, rule);
      esmc_buf_printf(b, ", \"level\": \"%s\", \"message\": ",
                      v->level == ESMC_MUST ? "MUST" : "SHOULD");
      json_s(b, v->message ? v->message : "");
      esmc_buf_printf(b, ", \"more\": %u}", v->more);
    }
    esmc_buf_printf(b, "%s],\n     \"seed\": %" PRIu64 ", \"duration_ms\": %" PRId64
                       ", \"history_digest\": ",
                    c->violations.n ? "\n     " : "", c->seed, c->sim_ms);
    if(c->digest)
      esmc_buf_printf(b, "\"%016" PRIx64 "\"", c->digest);
    else
      esmc_buf_puts(b, "null");
    esmc_buf_puts(b, ", \"reason\": ");
    json_s(b, c->reason);
    esmc_buf_putc(b, '}');
  }
  esmc_buf_puts(b, "\n  ],\n  \"summary\": {");
  for(i = 0; i < ESMC_V__COUNT; i++)
    esmc_buf_printf(b, "%s\"%s\": %zu", i ? ", " : "",
                    esmc_verdict_name((enum esmc_verdict)i), count[i]);
  esmc_buf_puts(b, "}\n}\n");
}

static void xml_s(struct esmc_buf *b, const char *s)
{
  for(; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch(c) {
    case '<': esmc_buf_puts(b, "&lt;"); break;
    case '>': esmc_buf_puts(b, "&gt;"); break;
    case '&': esmc_buf_puts(b, "&amp;"); break;
    case '"': esmc_buf_puts(b, "&quot;"); break;
    case '\'': esmc_buf_puts(b, "&apos;"); break;
    default:
      if(c < 0x20 && c != '\n' && c != '\t')
        esmc_buf_putc(b, '?'); /* not representable in XML 1.0 */
      else
        esmc_buf_putc(b, (char)c);
    }
  }
}

void esmc_report_junit(const struct esmc_run_report *r, struct esmc_buf *b)
{
  size_t i, k, failures = 0, errors = 0, skipped = 0;
  double total = 0;
  for(i = 0; i < r->ncases; i++) {
    enum esmc_verdict v = r->cases[i].verdict;
    failures += v == ESMC_V_FAIL || v == ESMC_V_XPASS;
    errors += v == ESMC_V_ERROR || v == ESMC_V_CRASH || v == ESMC_V_TIMEOUT;
    skipped += v == ESMC_V_SKIP || v == ESMC_V_UNSUPPORTED || v == ESMC_V_XFAIL;
    total += (double)r->cases[i].sim_ms / 1000.0;
  }
  esmc_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<testsuite name=\"esmcheck\" tests=\"%zu\" failures=\"%zu\" "
                     "errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
                  r->ncases, failures, errors, skipped, total);
  for(i = 0; i < r->ncases; i++) {
    const struct esmc_case_result *c = &r->cases[i];
    const struct esmc_scenario *sc = c->sc;
    const char *cls = sc && sc->tag_count ? sc->tags[0] : "esmcheck";
    esmc_buf_puts(b, "  <testcase name=\"");
    xml_s(b, c->id);
    esmc_buf_puts(b, "\" classname=\"");
    xml_s(b, cls);
    esmc_buf_printf(b, "\" time=\"%.3f\">\n    <properties><property name=\"verdict\" "
                       "value=\"%s\"/></properties>\n",
                    (double)c->sim_ms / 1000.0, esmc_verdict_name(c->verdict));
    if(c->verdict == ESMC_V_FAIL || c->verdict == ESMC_V_NON_STRICT) {
      char rule[32] = "";
      if(c->violations.n)
        esmc_violation_rule(&c->violations.v[0], sc, rule, sizeof(rule));
      esmc_buf_puts(b, c->verdict == ESMC_V_FAIL ? "    <failure message=\""
                                                  : "    <system-out>");
      if(c->verdict == ESMC_V_FAIL) {
        xml_s(b, c->violations.n ? c->violations.v[0].message : "");
        esmc_buf_puts(b, "\" type=\"");
        xml_s(b, rule);
        esmc_buf_puts(b, "\">");
      }
      for(k = 0; k < c->violations.n; k++) {
        esmc_violation_rule(&c->violations.v[k], sc, rule, sizeof(rule));
        xml_s(b, rule);
        esmc_buf_puts(b, ": ");
        xml_s(b, c->violations.v[k].message);
        esmc_buf_putc(b, '\n');
      }
      esmc_buf_puts(b, c->verdict == ESMC_V_FAIL ? "</failure>\n" : "</system-out>\n");
    } else if(c->verdict == ESMC_V_XPASS) {
      esmc_buf_puts(b, "    <failure type=\"xpass\" message=\"expected to fail, but passed\"/>\n");
    } else if(c->verdict == ESMC_V_ERROR || c->verdict == ESMC_V_CRASH ||
              c->verdict == ESMC_V_TIMEOUT) {
      esmc_buf_printf(b, "    <error type=\"%s\" message=\"", esmc_verdict_name(c->verdict));
      xml_s(b, c->reason);
      esmc_buf_puts(b, "\"/>\n");
    } else if(c->verdict == ESMC_V_SKIP || c->verdict == ESMC_V_UNSUPPORTED ||
              c->verdict == ESMC_V_XFAIL) {
      esmc_buf_printf(b, "    <skipped message=\"%s: ", esmc_verdict_name(c->verdict));
      xml_s(b, c->reason);
      esmc_buf_puts(b, "\"/>\n");
    }
    esmc_buf_puts(b, "  </testcase>\n");
  }
  esmc_buf_puts(b, "</testsuite>\n");
}

static int write_file(const char *dir, const char *name, const struct esmc_buf *b)
{
  char path[4096];
  FILE *f;
  size_t n = b->len;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "wb");
  if(!f)
    return -1;
  if(n && fwrite(b->data, 1, n, f) != n) {
    fclose(f);
    return -1;
  }
  return fclose(f);
}

int esmc_report_write(const struct esmc_run_report *r, const char *dir)
{
  struct esmc_buf b;
  int rc = 0;
  if(mkdir(dir, 0777) && errno != EEXIST)
    return -1;
  esmc_buf_init(&b);
  esmc_report_json(r, &b);
  if(b.oom || write_file(dir, "results.json", &b))
    rc = -1;
  esmc_buf_reset(&b);
  esmc_report_junit(r, &b);
  if(b.oom || write_file(dir, "junit.xml", &b))
    rc = -1;
  esmc_buf_free(&b);
  return rc;
}

/*
 * json_valid.c: one strict RFC 8259 validator for the harness's readers of
 * mapper output (responses, failure records, filter patterns). jsmn alone
 * accepts texts that are not JSON (`[1 2]`, `{"a":1,}`, bare words), so
 * every reader validates first. The case loader has its own scanner because
 * it must also report positions (json.c).
 */
#include <string.h>

#include "util.h"

#define JSON_MAX_DEPTH 512

/* ------------------------------------------------------------------------ */
/* A strict RFC 8259 validator (one value, surrounded by whitespace only).   */

struct scan {
  const char *s;
  size_t n;
  size_t i;
};

static int is_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void scan_ws(struct scan *sc)
{
  while(sc->i < sc->n && is_ws(sc->s[sc->i]))
    sc->i++;
}

static int is_hex(char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int scan_string(struct scan *sc)
{
  sc->i++; /* the opening quote */
  while(sc->i < sc->n) {
    unsigned char c = (unsigned char)sc->s[sc->i];
    if(c == '"') {
      sc->i++;
      return 0;
    }
    if(c < 0x20)
      return -1;
    if(c == '\\') {
      char e;
      if(++sc->i >= sc->n)
        return -1;
      e = sc->s[sc->i];
      if(e == 'u') {
        int k;
        for(k = 1; k <= 4; k++)
          if(sc->i + (size_t)k >= sc->n || !is_hex(sc->s[sc->i + (size_t)k]))
            return -1;
        sc->i += 4;
      } else if(!strchr("\"\\/bfnrt", e) || e == '\0') {
        return -1;
      }
    }
    sc->i++;
  }
  return -1;
}

static int scan_number(struct scan *sc)
{
  if(sc->i < sc->n && sc->s[sc->i] == '-')
    sc->i++;
  if(sc->i >= sc->n || !is_digit(sc->s[sc->i]))
    return -1;
  if(sc->s[sc->i] == '0')
    sc->i++;
  else
    while(sc->i < sc->n && is_digit(sc->s[sc->i]))
      sc->i++;
  if(sc->i < sc->n && sc->s[sc->i] == '.') {
    sc->i++;
    if(sc->i >= sc->n || !is_digit(sc->s[sc->i]))
      return -1;
    while(sc->i < sc->n && is_digit(sc->s[sc->i]))
      sc->i++;
  }
  if(sc->i < sc->n && (sc->s[sc->i] == 'e' || sc->s[sc->i] == 'E')) {
    sc->i++;
    if(sc->i < sc->n && (sc->s[sc->i] == '+' || sc->s[sc->i] == '-'))
      sc->i++;
    if(sc->i >= sc->n || !is_digit(sc->s[sc->i]))
      return -1;
    while(sc->i < sc->n && is_digit(sc->s[sc->i]))
      sc->i++;
  }
  return 0;
}

static int scan_literal(struct scan *sc, const char *lit)
{
  size_t k = strlen(lit);
  if(sc->n - sc->i < k || memcmp(sc->s + sc->i, lit, k) != 0)
    return -1;
  sc->i += k;
  return 0;
}

static int scan_value(struct scan *sc, int depth)
{
  char c;
  if(depth > JSON_MAX_DEPTH)
    return -1;
  scan_ws(sc);
  if(sc->i >= sc->n)
    return -1;
  c = sc->s[sc->i];
  if(c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    sc->i++;
    scan_ws(sc);
    if(sc->i < sc->n && sc->s[sc->i] == close) {
      sc->i++;
      return 0;
    }
    for(;;) {
      if(c == '{') {
        scan_ws(sc);
        if(sc->i >= sc->n || sc->s[sc->i] != '"' || scan_string(sc) != 0)
          return -1;
        scan_ws(sc);
        if(sc->i >= sc->n || sc->s[sc->i] != ':')
          return -1;
        sc->i++;
      }
      if(scan_value(sc, depth + 1) != 0)
        return -1;
      scan_ws(sc);
      if(sc->i >= sc->n)
        return -1;
      if(sc->s[sc->i] == ',') {
        sc->i++;
        continue;
      }
      if(sc->s[sc->i] != close)
        return -1;
      sc->i++;
      return 0;
    }
  }
  if(c == '"')
    return scan_string(sc);
  if(c == 't')
    return scan_literal(sc, "true");
  if(c == 'f')
    return scan_literal(sc, "false");
  if(c == 'n')
    return scan_literal(sc, "null");
  return scan_number(sc);
}

/* 0 when s[0, n) is exactly one JSON value with optional whitespace. */
int esmc_json_valid(const char *s, size_t n)
{
  struct scan sc;
  sc.s = s;
  sc.n = n;
  sc.i = 0;
  if(scan_value(&sc, 1) != 0)
    return -1;
  scan_ws(&sc);
  return sc.i == sc.n ? 0 : -1;
}


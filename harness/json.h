/*
 * json.h: a small, strict JSON reader for case files. It parses a buffer into
 * a flat array of tokens in document order (over jsmn, which no other file
 * includes) and offers typed getters that validate and explain what they
 * found. Token indexes are ints; the root is token 0.
 *
 * Strictness: the text must be one RFC 8259 value (an object or an array) and
 * nothing else but whitespace; strings must be valid UTF-8 with valid escapes
 * (no lone surrogates, no \u0000, no raw control characters); numbers follow
 * the JSON grammar; objects must not repeat a key; nesting and size are
 * bounded by struct esmc_json_limits. Every error carries the byte offset and
 * the 1-based line and column (columns count UTF-8 characters, a tab is one).
 */
#ifndef ESMC_JSON_H
#define ESMC_JSON_H

#include <stddef.h>
#include <stdint.h>

enum esmc_json_type {
  ESMC_JSON_NULL = 1,
  ESMC_JSON_BOOL,
  ESMC_JSON_NUMBER,
  ESMC_JSON_STRING,
  ESMC_JSON_ARRAY,
  ESMC_JSON_OBJECT
};

/* One value. start/end delimit its whole source text (quotes and brackets
 * included). size: members of an object (keys), elements of an array, 1 for
 * an object key (its value), else 0. next: the index of the first token after
 * this value and everything nested in it. */
struct esmc_json_tok {
  enum esmc_json_type type;
  int start;
  int end;
  int size;
  int next;
};

struct esmc_json_doc {
  const char *text; /* borrowed: must outlive the doc */
  size_t len;
  struct esmc_json_tok *tok;
  int count;
};

struct esmc_json_error {
  size_t offset; /* byte offset of the offending text */
  int line;      /* 1-based */
  int column;    /* 1-based */
  char message[256];
};

#define ESMC_JSON_MAX_DEPTH 64
#define ESMC_JSON_MAX_TOKENS 2000000
#define ESMC_JSON_MAX_STRING (1024 * 1024)

struct esmc_json_limits {
  int max_depth;     /* nested arrays/objects, the root counting as 1 */
  int max_tokens;    /* values, keys included */
  size_t max_string; /* source bytes between a string's quotes */
};

/* Parse text[0, len). limits may be NULL (the ESMC_JSON_MAX_* defaults).
 * Returns 0 with doc filled (free it with esmc_json_free), or -1 with doc
 * zero-filled and err filled (an allocation failure says "out of memory"). */
int esmc_json_parse(struct esmc_json_doc *doc, const char *text, size_t len,
                    const struct esmc_json_limits *limits,
                    struct esmc_json_error *err);
void esmc_json_free(struct esmc_json_doc *doc); /* zero-filled is fine */

/* 1-based line and column of a byte offset into text. */
void esmc_json_position(const char *text, size_t len, size_t offset,
                        int *line, int *column);
/* Fill err (offset, line, column) for a token and format its message. */
void esmc_json_error_at(const struct esmc_json_doc *doc, int tok,
                        struct esmc_json_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum esmc_json_type esmc_json_type_of(const struct esmc_json_doc *doc,
                                      int tok);
/* "an object", "an array", "a string", "a number", "a boolean", "null". */
const char *esmc_json_type_name(enum esmc_json_type t);

/* Typed getters. Each returns 0, or -1 with err filled: a wrong type says
 * "expected an integer, found a string"; a bad value says what is wrong. */
/* A newly allocated, NUL-terminated, unescaped copy; *len (may be NULL) gets
 * its length in bytes. */
int esmc_json_string(const struct esmc_json_doc *doc, int tok, char **out,
                     size_t *len, struct esmc_json_error *err);
/* 1 when tok is a string whose unescaped value equals s, else 0. */
int esmc_json_string_eq(const struct esmc_json_doc *doc, int tok,
                        const char *s);
/* An integer: no fraction, no exponent, fits int64_t. */
int esmc_json_int64(const struct esmc_json_doc *doc, int tok, int64_t *out,
                    struct esmc_json_error *err);
int esmc_json_bool(const struct esmc_json_doc *doc, int tok, int *out,
                   struct esmc_json_error *err);
int esmc_json_is_null(const struct esmc_json_doc *doc, int tok);
/* Check that tok is an object (or an array); 0 or -1 with err filled. */
int esmc_json_expect(const struct esmc_json_doc *doc, int tok,
                     enum esmc_json_type type, struct esmc_json_error *err);

/* The exact source text of a value (for raw JSON kept as text). */
const char *esmc_json_raw(const struct esmc_json_doc *doc, int tok,
                          size_t *len);
/* A NUL-terminated copy of the source text; NULL when out of memory. */
char *esmc_json_raw_dup(const struct esmc_json_doc *doc, int tok);

/* Iterate the members of an object or the elements of an array:
 *   struct esmc_json_iter it; int k, v;
 *   esmc_json_iter_init(&it, doc, obj);
 *   while(esmc_json_iter_next(&it, &k, &v)) ...
 * For arrays k is -1. A non-container yields nothing. */
struct esmc_json_iter {
  const struct esmc_json_doc *doc;
  int cur;       /* next key (object) or element (array) */
  int remaining;
  int is_object;
};
void esmc_json_iter_init(struct esmc_json_iter *it,
                         const struct esmc_json_doc *doc, int tok);
int esmc_json_iter_next(struct esmc_json_iter *it, int *key, int *value);

#endif /* ESMC_JSON_H */

/*
 * util.h: the harness's small shared toolkit: one hookable allocator, a
 * growable byte buffer, a growable array macro, hashing and JSON text helpers.
 */
#ifndef ESMC_UTIL_H
#define ESMC_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* All harness allocation goes through these so tests can fail the n-th
 * allocation (torture). esmc_free(NULL) is a no-op. */
void *esmc_malloc(size_t n);
void *esmc_calloc(size_t count, size_t size);
void *esmc_realloc(void *p, size_t n);
void esmc_free(void *p);
char *esmc_strdup(const char *s);            /* NULL in, NULL out */
char *esmc_strndup(const char *s, size_t n); /* always NUL-terminates */
/* Make the n-th allocation from now fail (1 = the next one); 0 disarms. */
void esmc_alloc_fail_at(uint64_t n);

/* A growable byte buffer, always NUL-terminated when len > 0 or after any
 * append. A failed allocation sets oom and makes later appends no-ops. */
struct esmc_buf {
  char *data;
  size_t len;
  size_t cap;
  int oom;
};
void esmc_buf_init(struct esmc_buf *b);
void esmc_buf_free(struct esmc_buf *b);
void esmc_buf_reset(struct esmc_buf *b); /* len = 0, keeps memory */
void esmc_buf_put(struct esmc_buf *b, const void *p, size_t n);
void esmc_buf_puts(struct esmc_buf *b, const char *s);
void esmc_buf_putc(struct esmc_buf *b, char c);
void esmc_buf_printf(struct esmc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void esmc_buf_vprintf(struct esmc_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s as a JSON string literal, quotes included. */
void esmc_buf_json_str(struct esmc_buf *b, const char *s, size_t n);
/* Valid JSON text (a case's DynamoDB images, kept as written) on one line:
 * whitespace outside strings is dropped, or with spaced != 0 each run of
 * it becomes one space (none before '}', ',' or ':'). */
void esmc_buf_json_compact(struct esmc_buf *b, const char *json, int spaced);
/* Append n bytes as standard base64 (with padding). */
void esmc_buf_base64(struct esmc_buf *b, const uint8_t *p, size_t n);
/* Append an ISO-8601 UTC time: 2024-01-01T00:00:00.000Z (millis != 0) or
 * 2024-01-01T00:00:00Z (millis == 0: whole seconds, truncated). */
void esmc_buf_iso8601(struct esmc_buf *b, int64_t t_ms, int millis);

/* Decode base64 (standard alphabet, padding optional). Returns the number of
 * bytes written to out (which has room for n*3/4+3), or -1 on bad input. */
long esmc_base64_decode(const char *s, size_t n, uint8_t *out);

/* A growable array of T: struct { T *v; size_t n, cap; }. */
#define ESMC_VEC(T)                                                            \
  struct {                                                                     \
    T *v;                                                                      \
    size_t n, cap;                                                             \
  }
/* Push x; evaluates to 0 on success, -1 on allocation failure. */
#define ESMC_VEC_PUSH(vec, x)                                                  \
  (((vec).n < (vec).cap ||                                                     \
    esmc__vec_grow((void **)&(vec).v, &(vec).cap, sizeof(*(vec).v)) == 0)      \
       ? ((vec).v[(vec).n++] = (x), 0)                                         \
       : -1)
#define ESMC_VEC_FREE(vec)                                                     \
  do {                                                                         \
    esmc_free((vec).v);                                                        \
    (vec).v = NULL;                                                            \
    (vec).n = (vec).cap = 0;                                                   \
  } while(0)
int esmc__vec_grow(void **v, size_t *cap, size_t elem);

/* 64-bit FNV-1a, for history digests. */
uint64_t esmc_fnv1a(uint64_t h, const void *p, size_t n);
#define ESMC_FNV_INIT UINT64_C(0xcbf29ce484222325)

/* Compare two decimal sequence-number strings as unbounded integers
 * (leading zeros ignored). Returns <0, 0, >0. */
int esmc_seq_cmp(const char *a, const char *b);

/* 0 when s[0, n) is exactly one JSON value (RFC 8259, strict) with optional
 * surrounding whitespace; -1 otherwise. json_valid.c. */
int esmc_json_valid(const char *s, size_t n);

/* Read a whole file into a NUL-terminated buffer. Returns 0 or -1 (errno). */
int esmc_read_file(const char *path, char **out, size_t *len);

#endif /* ESMC_UTIL_H */

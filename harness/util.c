/* util.c: allocator hooks, byte buffers, text helpers. */
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t alloc_fail_countdown;

void esmc_alloc_fail_at(uint64_t n) { alloc_fail_countdown = n; }

static int alloc_should_fail(void)
{
  if(alloc_fail_countdown == 0)
    return 0;
  return --alloc_fail_countdown == 0;
}

void *esmc_malloc(size_t n)
{
  if(alloc_should_fail())
    return NULL;
  return malloc(n ? n : 1);
}

void *esmc_calloc(size_t count, size_t size)
{
  if(alloc_should_fail())
    return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *esmc_realloc(void *p, size_t n)
{
  if(alloc_should_fail())
    return NULL;
  return realloc(p, n ? n : 1);
}

void esmc_free(void *p) { free(p); }

char *esmc_strndup(const char *s, size_t n)
{
  char *d;
  if(!s)
    return NULL;
  d = esmc_malloc(n + 1);
  if(!d)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *esmc_strdup(const char *s)
{
  return s ? esmc_strndup(s, strlen(s)) : NULL;
}

int esmc__vec_grow(void **v, size_t *cap, size_t elem)
{
  size_t ncap = *cap ? *cap * 2 : 8;
  void *nv;
  if(ncap > SIZE_MAX / elem)
    return -1;
  nv = esmc_realloc(*v, ncap * elem);
  if(!nv)
    return -1;
  *v = nv;
  *cap = ncap;
  return 0;
}

/* ------------------------------------------------------------------------ */

void esmc_buf_init(struct esmc_buf *b) { memset(b, 0, sizeof(*b)); }

void esmc_buf_free(struct esmc_buf *b)
{
  esmc_free(b->data);
  memset(b, 0, sizeof(*b));
}

void esmc_buf_reset(struct esmc_buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

static int buf_reserve(struct esmc_buf *b, size_t extra)
{
  size_t need, ncap;
  char *nd;
  if(b->oom)
    return -1;
  if(extra > SIZE_MAX - b->len - 1) {
    b->oom = 1;
    return -1;
  }
  need = b->len + extra + 1;
  if(need <= b->cap)
    return 0;
  ncap = b->cap ? b->cap : 64;
  while(ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  nd = esmc_realloc(b->data, ncap);
  if(!nd) {
    b->oom = 1;
    return -1;
  }
  b->data = nd;
  b->cap = ncap;
  b->data[b->len] = '\0';
  return 0;
}

void esmc_buf_put(struct esmc_buf *b, const void *p, size_t n)
{
  if(buf_reserve(b, n))
    return;
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void esmc_buf_puts(struct esmc_buf *b, const char *s)
{
  esmc_buf_put(b, s, strlen(s));
}

void esmc_buf_putc(struct esmc_buf *b, char c) { esmc_buf_put(b, &c, 1); }

void esmc_buf_vprintf(struct esmc_buf *b, const char *fmt, va_list ap)
{
  va_list ap2;
  int n;
  va_copy(ap2, ap);
  n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if(n < 0 || buf_reserve(b, (size_t)n))
    return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void esmc_buf_printf(struct esmc_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  esmc_buf_vprintf(b, fmt, ap);
  va_end(ap);
}

void esmc_buf_json_str(struct esmc_buf *b, const char *s, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  size_t i, start = 0;
  esmc_buf_putc(b, '"');
  for(i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    if(c >= 0x20 && c != '"' && c != '\\')
      continue;
    esmc_buf_put(b, s + start, i - start);
    start = i + 1;
    switch(c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\n': esc = "\\n"; break;
    case '\r': esc = "\\r"; break;
    case '\t': esc = "\\t"; break;
    case '\b': esc = "\\b"; break;
    case '\f': esc = "\\f"; break;
    default:
      u[0] = '\\';
      u[1] = 'u';
      u[2] = '0';
      u[3] = '0';
      u[4] = hex[c >> 4];
      u[5] = hex[c & 15];
      u[6] = '\0';
      esc = u;
    }
    esmc_buf_puts(b, esc);
  }
  esmc_buf_put(b, s + start, n - start);
  esmc_buf_putc(b, '"');
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void esmc_buf_base64(struct esmc_buf *b, const uint8_t *p, size_t n)
{
  size_t i;
  char q[4];
  if(buf_reserve(b, (n + 2) / 3 * 4))
    return;
  for(i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    q[0] = b64[v >> 18];
    q[1] = b64[(v >> 12) & 63];
    q[2] = b64[(v >> 6) & 63];
    q[3] = b64[v & 63];
    esmc_buf_put(b, q, 4);
  }
  if(i < n) {
    uint32_t v = (uint32_t)p[i] << 16;
    if(i + 1 < n)
      v |= (uint32_t)p[i + 1] << 8;
    q[0] = b64[v >> 18];
    q[1] = b64[(v >> 12) & 63];
    q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    q[3] = '=';
    esmc_buf_put(b, q, 4);
  }
}

long esmc_base64_decode(const char *s, size_t n, uint8_t *out)
{
  uint32_t acc = 0;
  int bits = 0;
  long len = 0;
  size_t i, pad = 0;
  for(i = 0; i < n; i++) {
    char c = s[i];
    int v;
    if(c == '=') {
      pad++;
      continue;
    }
    if(pad)
      return -1; /* data after padding */
    if(c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if(c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if(c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if(c == '+')
      v = 62;
    else if(c == '/')
      v = 63;
    else
      return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if(bits >= 8) {
      bits -= 8;
      out[len++] = (uint8_t)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if(pad > 2 || (pad && (n % 4) != 0))
    return -1;
  return len;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), and back. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  int64_t era, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  yoe = z - era * 146097;
  yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
  doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

void esmc_buf_iso8601(struct esmc_buf *b, int64_t t_ms, int millis)
{
  int64_t secs = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
  int64_t ms = t_ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400, y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  esmc_buf_printf(b, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m, d,
                  (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
  if(millis)
    esmc_buf_printf(b, ".%03d", (int)ms);
  esmc_buf_putc(b, 'Z');
}

uint64_t esmc_fnv1a(uint64_t h, const void *p, size_t n)
{
  const unsigned char *c = p;
  size_t i;
  for(i = 0; i < n; i++) {
    h ^= c[i];
    h *= UINT64_C(0x100000001b3);
  }
  return h;
}

int esmc_seq_cmp(const char *a, const char *b)
{
  size_t la, lb;
  int c;
  while(*a == '0' && a[1])
    a++;
  while(*b == '0' && b[1])
    b++;
  la = strlen(a);
  lb = strlen(b);
  if(la != lb)
    return la < lb ? -1 : 1;
  c = strcmp(a, b);
  return c < 0 ? -1 : c > 0;
}

int esmc_read_file(const char *path, char **out, size_t *len)
{
  FILE *f = fopen(path, "rb");
  struct esmc_buf b;
  char chunk[65536];
  size_t n;
  *out = NULL;
  *len = 0;
  if(!f)
    return -1;
  esmc_buf_init(&b);
  while((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    esmc_buf_put(&b, chunk, n);
  if(ferror(f) || b.oom) {
    int e = b.oom ? ENOMEM : EIO;
    fclose(f);
    esmc_buf_free(&b);
    errno = e;
    return -1;
  }
  fclose(f);
  if(!b.data)
    esmc_buf_put(&b, "", 0);
  if(b.oom) {
    esmc_buf_free(&b);
    errno = ENOMEM;
    return -1;
  }
  *out = b.data;
  *len = b.len;
  return 0;
}

void esmc_buf_json_compact(struct esmc_buf *b, const char *json, int spaced)
{
  const char *p;
  int in_str = 0, esc = 0, space = 0;
  for(p = json; *p; p++) {
    char ch = *p;
    if(!in_str && (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')) {
      space = 1;
      continue;
    }
    if(spaced && space && !in_str && ch != '}' && ch != ',' && ch != ':')
      esmc_buf_putc(b, ' ');
    space = 0;
    if(in_str && esc)
      esc = 0;
    else if(in_str && ch == '\\')
      esc = 1;
    else if(ch == '"')
      in_str = !in_str;
    esmc_buf_putc(b, ch);
  }
}

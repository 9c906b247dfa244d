/* history.c: the append-only event log of a run and its serialization. */
#include "history.h"

#include <inttypes.h>
#include <string.h>

void esmc_history_init(struct esmc_history *h) { memset(h, 0, sizeof(*h)); }

void esmc_history_free(struct esmc_history *h)
{
  size_t i;
  for(i = 0; i < h->n; i++) {
    esmc_free(h->ev[i].rids);
    esmc_free(h->ev[i].text);
    esmc_free(h->ev[i].text2);
    esmc_free(h->ev[i].text3);
  }
  esmc_free(h->ev);
  memset(h, 0, sizeof(*h));
}

long esmc_history_add(struct esmc_history *h, const struct esmc_hevent *e,
                      const char *text, size_t text_len, const char *text2,
                      const char *text3)
{
  struct esmc_hevent *d;
  if(h->oom)
    return -1;
  if(h->n == h->cap && esmc__vec_grow((void **)&h->ev, &h->cap, sizeof(*h->ev))) {
    h->oom = 1;
    return -1;
  }
  d = &h->ev[h->n];
  *d = *e;
  d->rids = NULL;
  d->text = d->text2 = d->text3 = NULL;
  d->text_len = 0;
  if(e->nrids) {
    d->rids = esmc_malloc(sizeof(uint32_t) * e->nrids);
    if(!d->rids)
      goto oom;
    memcpy(d->rids, e->rids, sizeof(uint32_t) * e->nrids);
  }
  if(text) {
    d->text = esmc_strndup(text, text_len);
    if(!d->text)
      goto oom;
    d->text_len = text_len;
  }
  if(text2 && !(d->text2 = esmc_strdup(text2)))
    goto oom;
  if(text3 && !(d->text3 = esmc_strdup(text3)))
    goto oom;
  return (long)h->n++;
oom:
  esmc_free(d->rids);
  esmc_free(d->text);
  esmc_free(d->text2);
  esmc_free(d->text3);
  h->oom = 1;
  return -1;
}

static const char *const kind_names[] = {
    "?",           "append",      "create",      "update",   "destroy",
    "timer_set",   "timer_cancel", "timer_fire", "list_shards",
    "get_iterator", "get_records", "invoke",     "complete", "checkpoint",
    "dest_send",   "log",         "fault",       "contract", "end",
    "queue_attributes", "receive", "received",  "delete",   "visibility",
    "dead_letter", "message_expired"};

const char *esmc_hkind_name(uint32_t kind)
{
  if(kind >= sizeof(kind_names) / sizeof(kind_names[0]))
    return "?";
  return kind_names[kind];
}

void esmc_history_event_json(const struct esmc_history *h, size_t i,
                             struct esmc_buf *out)
{
  const struct esmc_hevent *e = &h->ev[i];
  uint32_t k;
  esmc_buf_printf(out, "{\"i\":%zu,\"t\":%" PRId64 ",\"kind\":\"%s\",\"m\":%u", i,
                  e->t, esmc_hkind_name(e->kind), e->mapping);
  if(e->status)
    esmc_buf_printf(out, ",\"status\":%d", e->status);
  if(e->shard != ESMC_NO_SHARD)
    esmc_buf_printf(out, ",\"shard\":%u", e->shard);
  if(e->id)
    esmc_buf_printf(out, ",\"id\":%" PRIu64, e->id);
  if(e->a)
    esmc_buf_printf(out, ",\"a\":%" PRId64, e->a);
  if(e->b)
    esmc_buf_printf(out, ",\"b\":%" PRId64, e->b);
  if(e->nrids) {
    esmc_buf_puts(out, ",\"rids\":[");
    for(k = 0; k < e->nrids; k++)
      esmc_buf_printf(out, k ? ",%u" : "%u", e->rids[k]);
    esmc_buf_putc(out, ']');
  }
  if(e->text) {
    esmc_buf_puts(out, ",\"text\":");
    esmc_buf_json_str(out, e->text, e->text_len);
  }
  if(e->text2) {
    esmc_buf_puts(out, ",\"text2\":");
    esmc_buf_json_str(out, e->text2, strlen(e->text2));
  }
  if(e->text3) {
    esmc_buf_puts(out, ",\"text3\":");
    esmc_buf_json_str(out, e->text3, strlen(e->text3));
  }
  esmc_buf_putc(out, '}');
}

uint64_t esmc_history_digest(const struct esmc_history *h)
{
  uint64_t d = ESMC_FNV_INIT;
  struct esmc_buf b;
  size_t i;
  esmc_buf_init(&b);
  for(i = 0; i < h->n; i++) {
    esmc_buf_reset(&b);
    esmc_history_event_json(h, i, &b);
    esmc_buf_putc(&b, '\n');
    d = esmc_fnv1a(d, b.data, b.len);
  }
  esmc_buf_free(&b);
  return d;
}

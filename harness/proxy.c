/*
 * proxy.c: the adapter protocol's host side (spec/protocol.md). A callback
 * of the proxy's adapter table writes one request line to the adapter
 * process, then reads lines until the completion of that request: every
 * host-call line in between is executed against the real struct esmc_host
 * of the mapping it names and answered. A process that dies or goes quiet is
 * restarted with its setup (handshake, create, accepted updates) replayed,
 * up to a bound per case; past it the case gets CRASH or TIMEOUT, with the
 * process's stderr attached.
 */
#define _GNU_SOURCE
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "json.h"
#include "scenario.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* State. */

/* One mapping the world created through the proxy. */
struct pmap {
  int64_t id;                 /* the handle the adapter sees */
  const struct esmc_host *host;
  int live;
  char *create_cfg;           /* the config JSON of create(), for replay */
  ESMC_VEC(char *) updates;   /* accepted update configs, for replay */
};

/* How an exchange ended. */
enum px_rc {
  PX_OK = 0,
  PX_DIED,    /* stdout closed: the process exited or crashed */
  PX_TIMEOUT, /* no complete answer within the request time limit */
  PX_BROKEN   /* the stream or a message is broken; already noted */
};

struct proxy {
  struct esmc_adapter table;
  char **argv;
  struct esmc_proxy_opts o;
  char *name, *version;
  FILE *transcript;
  int protocol;               /* agreed in the handshake of esmc_proxy_open */

  /* The process. */
  pid_t pid;
  int to_fd, from_fd, err_fd;
  struct esmc_buf rbuf;       /* bytes read from stdout, not yet a line */
  size_t rpos;                /* start of the unconsumed bytes */
  size_t scanned;             /* rbuf offset up to which no '\n' was seen */
  char errtail[ESMC_PROXY_STDERR_MAX];
  size_t errlen;
  int err_truncated;

  /* The case. */
  int64_t seq;
  int restarts;
  int dead;                   /* noted: every further callback fails */
  enum esmc_proxy_note note;
  char *note_text;
  char *last_exit;            /* how the process last ended */
  ESMC_VEC(struct pmap *) maps;
  int64_t next_id;
};

static struct proxy *P;

/* ------------------------------------------------------------------------ */
/* Small helpers. */

static double mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void set_str(char **slot, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_str(char **slot, const char *fmt, ...)
{
  struct esmc_buf b;
  va_list ap;
  esmc_buf_init(&b);
  va_start(ap, fmt);
  esmc_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  esmc_free(*slot);
  *slot = b.data ? b.data : esmc_strdup("");
}

/* The first note of a case wins: it is the cause, later ones are effects. */
static void note(enum esmc_proxy_note kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(enum esmc_proxy_note kind, const char *fmt, ...)
{
  struct esmc_buf b;
  va_list ap;
  P->dead = 1;
  if(P->note != ESMC_PROXY_NOTE_NONE)
    return;
  esmc_buf_init(&b);
  va_start(ap, fmt);
  esmc_buf_vprintf(&b, fmt, ap);
  va_end(ap);
  P->note = kind;
  P->note_text = b.data ? b.data : esmc_strdup("");
}

/* Keep the last ESMC_PROXY_STDERR_MAX bytes of the process's stderr. */
static void stderr_add(const char *p, size_t n)
{
  size_t cap = sizeof(P->errtail);
  if(n >= cap) {
    memcpy(P->errtail, p + n - cap, cap);
    P->errlen = cap;
    P->err_truncated = 1;
    return;
  }
  if(P->errlen + n > cap) {
    size_t drop = P->errlen + n - cap;
    memmove(P->errtail, P->errtail + drop, P->errlen - drop);
    P->errlen -= drop;
    P->err_truncated = 1;
  }
  memcpy(P->errtail + P->errlen, p, n);
  P->errlen += n;
}

static void drain_stderr(void)
{
  char chunk[4096];
  ssize_t k;
  if(P->err_fd < 0)
    return;
  while((k = read(P->err_fd, chunk, sizeof(chunk))) > 0)
    stderr_add(chunk, (size_t)k);
  if(k == 0) {
    close(P->err_fd);
    P->err_fd = -1;
  }
}

static void log_transcript(const char *dir, const char *line, size_t n)
{
  if(!P->transcript)
    return;
  fprintf(P->transcript, "{\"dir\":\"%s\",\"msg\":%.*s}\n", dir, (int)n, line);
  fflush(P->transcript);
}

/* A short, printable excerpt of a line for messages. */
static void excerpt(const char *p, size_t n, char *out, size_t size)
{
  size_t i, o = 0;
  for(i = 0; i < n && o + 5 < size && i < 80; i++)
    out[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
  if(i < n && o + 4 < size) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* ------------------------------------------------------------------------ */
/* The process. */

static void close_fd(int *fd)
{
  if(*fd >= 0)
    close(*fd);
  *fd = -1;
}

static void describe_status(int status)
{
  if(WIFSIGNALED(status))
    set_str(&P->last_exit, "killed by signal %d (%s)", WTERMSIG(status),
            strsignal(WTERMSIG(status)));
  else if(WIFEXITED(status))
    set_str(&P->last_exit, "exited with status %d", WEXITSTATUS(status));
  else
    set_str(&P->last_exit, "ended");
}

/* Wait up to ms for the process to end; SIGKILL it past that. */
static void reap(double ms)
{
  int status = 0;
  double until = mono_ms() + ms;
  pid_t r;
  if(P->pid <= 0)
    return;
  for(;;) {
    r = waitpid(P->pid, &status, WNOHANG);
    if(r == P->pid || (r < 0 && errno != EINTR))
      break;
    if(mono_ms() >= until) {
      kill(P->pid, SIGKILL);
      while(waitpid(P->pid, &status, 0) < 0 && errno == EINTR)
        ;
      break;
    }
    if(P->err_fd >= 0) {
      struct pollfd pfd = {P->err_fd, POLLIN, 0};
      if(poll(&pfd, 1, 5) > 0)
        drain_stderr();
    } else {
      struct timespec ts = {0, 2000000};
      nanosleep(&ts, NULL);
    }
  }
  describe_status(status);
  P->pid = -1;
}

static void proc_kill(void)
{
  if(P->pid > 0)
    kill(P->pid, SIGKILL);
  close_fd(&P->to_fd);
  close_fd(&P->from_fd);
  reap(1000);
  drain_stderr();
  close_fd(&P->err_fd);
  esmc_buf_reset(&P->rbuf);
  P->rpos = P->scanned = 0;
}

/* Ask the process to stop: {"op":"stop"} and EOF on stdin; then kill it. */
static void proc_stop(void)
{
  static const char stop[] = "{\"op\":\"stop\"}\n";
  if(P->pid <= 0)
    return;
  if(P->to_fd >= 0) {
    ssize_t k = write(P->to_fd, stop, sizeof(stop) - 1);
    (void)k;
    log_transcript("to_adapter", stop, sizeof(stop) - 2);
  }
  close_fd(&P->to_fd);
  close_fd(&P->from_fd);
  reap(2000);
  drain_stderr();
  close_fd(&P->err_fd);
  esmc_buf_reset(&P->rbuf);
  P->rpos = P->scanned = 0;
}

static int proc_spawn(void)
{
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  pid_t parent = getpid(), pid;
  if(pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    close_fd(&in[0]); close_fd(&in[1]); close_fd(&out[0]);
    close_fd(&out[1]); close_fd(&err[0]); close_fd(&err[1]);
    set_str(&P->last_exit, "could not be started: pipe: %s", strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid = fork();
  if(pid == 0) {
    long fd, maxfd = sysconf(_SC_OPEN_MAX);
#ifdef __linux__
    /* The process must not outlive the harness (a killed case child). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if(getppid() != parent)
      _exit(126);
#else
    (void)parent;
#endif
    signal(SIGPIPE, SIG_DFL);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if(maxfd < 0 || maxfd > 65536)
      maxfd = 65536;
    for(fd = 3; fd < maxfd; fd++)
      close((int)fd);
    execvp(P->argv[0], P->argv);
    {
      static const char msg[] = "esmcheck: cannot execute the adapter command\n";
      ssize_t k = write(2, msg, sizeof(msg) - 1);
      (void)k;
    }
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if(pid < 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    set_str(&P->last_exit, "could not be started: fork: %s", strerror(errno));
    return -1;
  }
  P->pid = pid;
  P->to_fd = in[1];
  P->from_fd = out[0];
  P->err_fd = err[0];
  fcntl(P->to_fd, F_SETFL, fcntl(P->to_fd, F_GETFL) | O_NONBLOCK);
  fcntl(P->from_fd, F_SETFL, fcntl(P->from_fd, F_GETFL) | O_NONBLOCK);
  fcntl(P->err_fd, F_SETFL, fcntl(P->err_fd, F_GETFL) | O_NONBLOCK);
  esmc_buf_reset(&P->rbuf);
  P->rpos = P->scanned = 0;
  return 0;
}

/* A complete line in rbuf: 1 with *line and *n (without the newline), 0
 * when none yet, -1 when the pending bytes exceed the message limit. */
static int take_line(const char **line, size_t *n)
{
  char *nl;
  size_t from = P->scanned > P->rpos ? P->scanned : P->rpos;
  if(P->rbuf.len > from &&
     (nl = memchr(P->rbuf.data + from, '\n', P->rbuf.len - from))) {
    *line = P->rbuf.data + P->rpos;
    *n = (size_t)(nl - *line);
    P->rpos += *n + 1;
    P->scanned = P->rpos;
    if(*n > P->o.max_message)
      return -1;
    return 1;
  }
  P->scanned = P->rbuf.len;
  if(P->rbuf.len - P->rpos > P->o.max_message)
    return -1;
  return 0;
}

/*
 * Move bytes both ways until the wlen bytes at w are written and, with
 * want_line, a whole line was read; stderr is drained all along, so no pipe
 * can fill up and deadlock the two sides.
 */
static enum px_rc pump(double deadline, const char *w, size_t wlen,
                       int want_line, char **line, size_t *n)
{
  if(P->rpos > 0 && P->rpos == P->rbuf.len) {
    esmc_buf_reset(&P->rbuf);
    P->rpos = P->scanned = 0;
  } else if(P->rpos > (1 << 20)) {
    memmove(P->rbuf.data, P->rbuf.data + P->rpos, P->rbuf.len - P->rpos);
    P->rbuf.len -= P->rpos;
    P->scanned = P->scanned > P->rpos ? P->scanned - P->rpos : 0;
    P->rpos = 0;
  }
  for(;;) {
    struct pollfd pfd[3];
    int np = 0, iw = -1, ir = -1, ie = -1, pr;
    double left;
    if(want_line && wlen == 0) {
      const char *l;
      size_t ln;
      int t = take_line(&l, &ln);
      if(t < 0) {
        note(ESMC_PROXY_NOTE_CRASH,
             "broken protocol stream: a message from the adapter is over the "
             "%zu-byte limit", P->o.max_message);
        return PX_BROKEN;
      }
      if(t > 0) {
        *line = esmc_strndup(l, ln);
        *n = ln;
        return *line ? PX_OK : PX_BROKEN;
      }
    }
    if(!want_line && wlen == 0)
      return PX_OK;
    if(P->from_fd < 0 && want_line)
      return PX_DIED;
    left = deadline - mono_ms();
    if(left <= 0)
      return PX_TIMEOUT;
    if(wlen > 0 && P->to_fd >= 0) {
      pfd[np].fd = P->to_fd;
      pfd[np].events = POLLOUT;
      iw = np++;
    }
    if(P->from_fd >= 0) {
      pfd[np].fd = P->from_fd;
      pfd[np].events = POLLIN;
      ir = np++;
    }
    if(P->err_fd >= 0) {
      pfd[np].fd = P->err_fd;
      pfd[np].events = POLLIN;
      ie = np++;
    }
    if(np == 0 || (wlen > 0 && P->to_fd < 0))
      return PX_DIED;
    pr = poll(pfd, (nfds_t)np, left > 1000 ? 1000 : (int)left + 1);
    if(pr < 0) {
      if(errno == EINTR)
        continue;
      return PX_DIED;
    }
    if(ie >= 0 && pfd[ie].revents)
      drain_stderr();
    if(iw >= 0 && pfd[iw].revents) {
      if(pfd[iw].revents & (POLLERR | POLLHUP))
        return PX_DIED;
      {
        ssize_t k = write(P->to_fd, w, wlen);
        if(k < 0 && errno != EAGAIN && errno != EINTR)
          return PX_DIED;
        if(k > 0) {
          w += k;
          wlen -= (size_t)k;
        }
      }
    }
    if(ir >= 0 && pfd[ir].revents) {
      char chunk[65536];
      ssize_t k = read(P->from_fd, chunk, sizeof(chunk));
      if(k > 0) {
        esmc_buf_put(&P->rbuf, chunk, (size_t)k);
        if(P->rbuf.oom) {
          note(ESMC_PROXY_NOTE_CRASH, "the harness ran out of memory reading "
                                      "the adapter's output");
          return PX_BROKEN;
        }
      } else if(k == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(&P->from_fd);
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* JSON helpers. */

static int jget(const struct esmc_json_doc *d, int obj, const char *key)
{
  struct esmc_json_iter it;
  int k, v;
  if(obj < 0 || esmc_json_type_of(d, obj) != ESMC_JSON_OBJECT)
    return -1;
  esmc_json_iter_init(&it, d, obj);
  while(esmc_json_iter_next(&it, &k, &v))
    if(esmc_json_string_eq(d, k, key))
      return v;
  return -1;
}

/* A non-negative JSON integer up to 2^64-1. */
static int juint64(const struct esmc_json_doc *d, int tok, uint64_t *out)
{
  size_t n, i;
  const char *p;
  uint64_t v = 0;
  if(tok < 0 || esmc_json_type_of(d, tok) != ESMC_JSON_NUMBER)
    return -1;
  p = esmc_json_raw(d, tok, &n);
  if(n == 0 || n > 20)
    return -1;
  for(i = 0; i < n; i++) {
    uint64_t digit;
    if(p[i] < '0' || p[i] > '9')
      return -1;
    digit = (uint64_t)(p[i] - '0');
    if(v > (UINT64_MAX - digit) / 10)
      return -1;
    v = v * 10 + digit;
  }
  *out = v;
  return 0;
}

static int jint(const struct esmc_json_doc *d, int tok, int64_t *out)
{
  struct esmc_json_error e;
  if(tok < 0)
    return -1;
  return esmc_json_int64(d, tok, out, &e);
}

/* A newly allocated string, or NULL when absent, null or not a string. */
static char *jstr(const struct esmc_json_doc *d, int tok, size_t *len)
{
  struct esmc_json_error e;
  char *s = NULL;
  if(len)
    *len = 0;
  if(tok < 0 || esmc_json_type_of(d, tok) != ESMC_JSON_STRING)
    return NULL;
  if(esmc_json_string(d, tok, &s, len, &e))
    return NULL;
  return s;
}

static void put_str_member(struct esmc_buf *b, const char *key, const char *s)
{
  esmc_buf_printf(b, ",\"%s\":", key);
  if(s)
    esmc_buf_json_str(b, s, strlen(s));
  else
    esmc_buf_puts(b, "null");
}

/* ------------------------------------------------------------------------ */
/* Validation (--validate): the fixed shapes of the spec/protocol schemas,
 * required members and their types. */

enum vtype { V_STR, V_INT, V_UINT, V_STR_OR_NULL, V_SEQ, V_OBJ, V_ARR };

struct vfield {
  const char *name;
  enum vtype type;
  int required;
};

static int vcheck(const struct esmc_json_doc *d, int obj,
                  const struct vfield *f, size_t nf, const char *what,
                  char *err, size_t en)
{
  size_t i;
  if(esmc_json_type_of(d, obj) != ESMC_JSON_OBJECT) {
    snprintf(err, en, "%s is not a JSON object", what);
    return -1;
  }
  for(i = 0; i < nf; i++) {
    int t = jget(d, obj, f[i].name);
    enum esmc_json_type ty;
    int64_t iv;
    uint64_t uv;
    const char *want = NULL;
    if(t < 0) {
      if(f[i].required) {
        snprintf(err, en, "%s lacks the required member \"%s\"", what,
                 f[i].name);
        return -1;
      }
      continue;
    }
    ty = esmc_json_type_of(d, t);
    switch(f[i].type) {
    case V_STR:
      if(ty != ESMC_JSON_STRING)
        want = "a string";
      break;
    case V_STR_OR_NULL:
      if(ty != ESMC_JSON_STRING && ty != ESMC_JSON_NULL)
        want = "a string or null";
      break;
    case V_INT:
      if(jint(d, t, &iv))
        want = "an integer";
      break;
    case V_UINT:
      if(juint64(d, t, &uv))
        want = "an integer from 0 to 2^64-1";
      break;
    case V_SEQ:
      if(ty != ESMC_JSON_STRING && jint(d, t, &iv))
        want = "an integer or a string";
      break;
    case V_OBJ:
      if(ty != ESMC_JSON_OBJECT)
        want = "an object";
      break;
    case V_ARR:
      if(ty != ESMC_JSON_ARRAY)
        want = "an array";
      break;
    }
    if(want) {
      snprintf(err, en, "%s: \"%s\" must be %s, not %s", what, f[i].name, want,
               esmc_json_type_name(ty));
      return -1;
    }
  }
  return 0;
}

#define NF(a) (sizeof(a) / sizeof((a)[0]))

static const struct vfield v_completion[] = {
    {"seq", V_INT, 1}, {"status", V_INT, 1}, {"error", V_OBJ, 0}};
static const struct vfield v_error[] = {{"code", V_STR, 1},
                                        {"message", V_STR, 1}};
static const struct vfield v_hello[] = {{"seq", V_INT, 1},
                                        {"status", V_INT, 1},
                                        {"protocol", V_INT, 1},
                                        {"protocols", V_ARR, 0},
                                        {"adapter", V_OBJ, 1}};
static const struct vfield v_adapter[] = {{"name", V_STR, 1},
                                          {"version", V_STR, 1},
                                          {"capabilities", V_ARR, 1},
                                          {"language", V_STR, 0}};
static const struct vfield v_call[] = {
    {"seq", V_SEQ, 1}, {"call", V_STR, 1}, {"mapping", V_INT, 1}};

struct vcall {
  const char *call;
  struct vfield f[4];
  size_t nf;
  int protocol; /* the first protocol version with this call */
};

static const struct vcall v_calls[] = {
    {"now", {{0, V_STR, 0}}, 0, 1},
    {"set_timer", {{"at", V_INT, 1}, {"token", V_UINT, 1}}, 2, 1},
    {"cancel_timer", {{"token", V_UINT, 1}}, 1, 1},
    {"log", {{"level", V_INT, 1}, {"message", V_STR, 1}}, 2, 1},
    {"list_shards", {{0, V_STR, 0}}, 0, 1},
    {"get_shard_iterator",
     {{"shard_id", V_STR, 1}, {"type", V_STR, 1},
      {"sequence_number", V_STR_OR_NULL, 0}, {"timestamp_ms", V_INT, 0}}, 4, 1},
    {"get_records", {{"iterator", V_UINT, 1}, {"limit", V_INT, 1}}, 2, 1},
    {"invoke", {{"payload", V_STR, 1}}, 1, 1},
    {"send_to_destination",
     {{"destination_arn", V_STR, 1}, {"object_key", V_STR_OR_NULL, 0},
      {"payload", V_STR, 1}}, 3, 1},
    {"checkpoint", {{"shard_id", V_STR, 1}, {"sequence_number", V_STR, 1}}, 2, 1},
    {"get_checkpoint", {{"shard_id", V_STR, 1}}, 1, 1},
    {"get_queue_attributes", {{0, V_STR, 0}}, 0, 2},
    {"receive_messages",
     {{"max_messages", V_INT, 1}, {"wait_time_s", V_INT, 1},
      {"visibility_timeout_s", V_INT, 1}}, 3, 2},
    {"delete_message", {{"receipt_handle", V_STR, 1}}, 1, 2},
    {"change_message_visibility",
     {{"receipt_handle", V_STR, 1}, {"visibility_timeout_s", V_INT, 1}}, 2, 2},
};

static int validate_completion(const struct esmc_json_doc *d, int hello,
                               char *err, size_t en)
{
  int e;
  if(hello) {
    int a, caps;
    struct esmc_json_iter it;
    int k, v;
    if(vcheck(d, 0, v_hello, NF(v_hello), "the handshake reply", err, en))
      return -1;
    a = jget(d, 0, "adapter");
    if(vcheck(d, a, v_adapter, NF(v_adapter), "the handshake's adapter", err,
              en))
      return -1;
    caps = jget(d, a, "capabilities");
    esmc_json_iter_init(&it, d, caps);
    while(esmc_json_iter_next(&it, &k, &v)) {
      if(esmc_json_type_of(d, v) != ESMC_JSON_STRING) {
        snprintf(err, en, "the handshake's capabilities must be strings");
        return -1;
      }
    }
    esmc_json_iter_init(&it, d, jget(d, 0, "protocols"));
    while(esmc_json_iter_next(&it, &k, &v)) {
      int64_t pv;
      if(jint(d, v, &pv) || pv < 1) {
        snprintf(err, en, "the handshake's protocols must be positive "
                          "integers");
        return -1;
      }
    }
    return 0;
  }
  if(vcheck(d, 0, v_completion, NF(v_completion), "a completion", err, en))
    return -1;
  e = jget(d, 0, "error");
  if(e >= 0 &&
     vcheck(d, e, v_error, NF(v_error), "a completion's error", err, en))
    return -1;
  return 0;
}

static int validate_call(const struct esmc_json_doc *d, char *err, size_t en)
{
  size_t i;
  int c;
  char what[96];
  if(vcheck(d, 0, v_call, NF(v_call), "a host call", err, en))
    return -1;
  c = jget(d, 0, "call");
  for(i = 0; i < NF(v_calls); i++) {
    if(esmc_json_string_eq(d, c, v_calls[i].call)) {
      if(v_calls[i].protocol > P->protocol) {
        snprintf(err, en, "the host call %s needs protocol version %d (the "
                 "handshake agreed on %d)", v_calls[i].call,
                 v_calls[i].protocol, P->protocol);
        return -1;
      }
      snprintf(what, sizeof(what), "the host call %s", v_calls[i].call);
      return vcheck(d, 0, v_calls[i].f, v_calls[i].nf, what, err, en);
    }
  }
  snprintf(err, en, "a host call names an unknown call");
  return -1;
}

/* ------------------------------------------------------------------------ */
/* Messages the harness sends. */

static const char *source_name(enum esmc_source s)
{
  switch(s) {
  case ESMC_SOURCE_KINESIS: return "kinesis";
  case ESMC_SOURCE_DYNAMODB: return "dynamodb";
  case ESMC_SOURCE_SQS: return "sqs";
  case ESMC_SOURCE_SQS_FIFO: return "sqs_fifo";
  }
  return NULL;
}

static const char *position_name(enum esmc_starting_position p)
{
  switch(p) {
  case ESMC_START_TRIM_HORIZON: return "TRIM_HORIZON";
  case ESMC_START_LATEST: return "LATEST";
  case ESMC_START_AT_TIMESTAMP: return "AT_TIMESTAMP";
  case ESMC_START_UNSET: break;
  }
  return NULL;
}

static void put_i32(struct esmc_buf *b, const char *key, int32_t v)
{
  if(v != ESMC_UNSET)
    esmc_buf_printf(b, ",\"%s\":%" PRId32, key, v);
}

static void put_opt_str(struct esmc_buf *b, const char *key, const char *s)
{
  if(s) {
    esmc_buf_printf(b, ",\"%s\":", key);
    esmc_buf_json_str(b, s, strlen(s));
  }
}

/* The configuration as a JSON object: members left out are unset. */
static char *config_json(const struct esmc_mapping_config *c)
{
  struct esmc_buf b;
  const char *s;
  esmc_buf_init(&b);
  esmc_buf_puts(&b, "{\"abi_version\":");
  esmc_buf_printf(&b, "%" PRIu32, c->abi_version);
  if((s = source_name(c->source)))
    esmc_buf_printf(&b, ",\"source\":\"%s\"", s);
  put_opt_str(&b, "uuid", c->uuid);
  put_opt_str(&b, "event_source_arn", c->event_source_arn);
  put_opt_str(&b, "function_arn", c->function_arn);
  put_opt_str(&b, "role_arn", c->role_arn);
  put_opt_str(&b, "region", c->region);
  put_i32(&b, "enabled", c->enabled);
  put_i32(&b, "batch_size", c->batch_size);
  put_i32(&b, "maximum_batching_window_s", c->maximum_batching_window_s);
  if((s = position_name(c->starting_position)))
    esmc_buf_printf(&b, ",\"starting_position\":\"%s\"", s);
  if(c->starting_position == ESMC_START_AT_TIMESTAMP)
    esmc_buf_printf(&b, ",\"starting_position_timestamp_ms\":%" PRId64,
                    (int64_t)c->starting_position_timestamp_ms);
  put_i32(&b, "parallelization_factor", c->parallelization_factor);
  put_i32(&b, "maximum_retry_attempts", c->maximum_retry_attempts);
  put_i32(&b, "maximum_record_age_s", c->maximum_record_age_s);
  put_i32(&b, "bisect_batch_on_function_error",
          c->bisect_batch_on_function_error);
  put_i32(&b, "tumbling_window_s", c->tumbling_window_s);
  if(c->function_response_types_given)
    esmc_buf_printf(&b, ",\"function_response_types\":%" PRIu32,
                    c->function_response_types);
  put_opt_str(&b, "on_failure_destination", c->on_failure_destination);
  if(c->filter_criteria_given) {
    size_t i;
    esmc_buf_puts(&b, ",\"filter_patterns\":[");
    for(i = 0; i < c->filter_count; i++) {
      const char *p = c->filter_patterns ? c->filter_patterns[i] : NULL;
      if(i)
        esmc_buf_putc(&b, ',');
      if(p)
        esmc_buf_json_str(&b, p, strlen(p));
      else
        esmc_buf_puts(&b, "null");
    }
    esmc_buf_putc(&b, ']');
  }
  put_i32(&b, "function_timeout_s", c->function_timeout_s);
  /* Protocol 2 carries the ABI v2 members (SQS scaling). */
  if(P->protocol >= 2 && c->struct_size >= offsetof(struct esmc_mapping_config,
                                                    scaling_profile) +
                                               sizeof(c->scaling_profile)) {
    put_i32(&b, "maximum_concurrency", c->maximum_concurrency);
    put_i32(&b, "scaling_profile", c->scaling_profile);
  }
  if(c->struct_size >= offsetof(struct esmc_mapping_config, restart) +
                           sizeof(c->restart) &&
     c->restart)
    put_i32(&b, "restart", 1);
  esmc_buf_putc(&b, '}');
  if(b.oom) {
    esmc_buf_free(&b);
    return NULL;
  }
  return b.data;
}


static void record_json(struct esmc_buf *b, const struct esmc_record *r)
{
  esmc_buf_puts(b, "{\"shard_id\":");
  esmc_buf_json_str(b, r->shard_id ? r->shard_id : "",
                    r->shard_id ? strlen(r->shard_id) : 0);
  put_str_member(b, "sequence_number", r->sequence_number);
  put_str_member(b, "partition_key", r->partition_key);
  esmc_buf_puts(b, ",\"data\":\"");
  esmc_buf_base64(b, r->data, r->data ? r->data_len : 0);
  esmc_buf_printf(b, "\",\"approximate_arrival_ms\":%" PRId64,
                  (int64_t)r->approximate_arrival_ms);
  if(r->event_id) {
    static const char *const names[] = {"", "INSERT", "MODIFY", "REMOVE"};
    unsigned ev = (unsigned)r->ddb_event_name;
    put_str_member(b, "event_id", r->event_id);
    esmc_buf_printf(b, ",\"ddb_event_name\":\"%s\"",
                    ev < 4 && ev > 0 ? names[ev] : "MODIFY");
    esmc_buf_puts(b, ",\"ddb_keys\":");
    esmc_buf_json_compact(b, r->ddb_keys_json ? r->ddb_keys_json : "{}", 0);
    if(r->ddb_new_image_json) {
      esmc_buf_puts(b, ",\"ddb_new_image\":");
      esmc_buf_json_compact(b, r->ddb_new_image_json, 0);
    }
    if(r->ddb_old_image_json) {
      esmc_buf_puts(b, ",\"ddb_old_image\":");
      esmc_buf_json_compact(b, r->ddb_old_image_json, 0);
    }
    put_str_member(b, "ddb_stream_view_type", r->ddb_stream_view_type);
    esmc_buf_printf(b, ",\"ddb_size_bytes\":%" PRIu64, r->ddb_size_bytes);
  }
  esmc_buf_putc(b, '}');
}

/* ------------------------------------------------------------------------ */
/* Host calls. */

static struct pmap *map_by_id(int64_t id)
{
  size_t i;
  for(i = 0; i < P->maps.n; i++)
    if(P->maps.v[i]->id == id)
      return P->maps.v[i];
  return NULL;
}

static int iter_type(const char *s, enum esmc_iterator_type *t)
{
  static const char *const names[] = {"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP",
                                      "AT_SEQUENCE_NUMBER",
                                      "AFTER_SEQUENCE_NUMBER"};
  size_t i;
  for(i = 0; s && i < NF(names); i++)
    if(strcmp(s, names[i]) == 0) {
      *t = (enum esmc_iterator_type)(i + 1);
      return 0;
    }
  return -1;
}

static int is_queue_call(const char *call)
{
  return strcmp(call, "get_queue_attributes") == 0 ||
         strcmp(call, "receive_messages") == 0 ||
         strcmp(call, "delete_message") == 0 ||
         strcmp(call, "change_message_visibility") == 0;
}

/* 1 when the host table has the v2 (queue) calls. */
static int host_has_queues(const struct esmc_host *h)
{
  return h->abi_version >= 2 &&
         h->struct_size >= offsetof(struct esmc_host, change_message_visibility) +
                               sizeof(h->change_message_visibility) &&
         h->get_queue_attributes && h->receive_messages && h->delete_message &&
         h->change_message_visibility;
}

/* An int32 member, or def when absent or out of range. */
static int32_t jint32(const struct esmc_json_doc *d, int tok, int32_t def)
{
  int64_t v;
  if(jint(d, tok, &v) || v < INT32_MIN || v > INT32_MAX)
    return def;
  return (int32_t)v;
}

/* The protocol 2 queue calls (ABI v2 host members). */
static esmc_status queue_call(const struct esmc_json_doc *d,
                              const struct esmc_host *h, const char *call,
                              struct esmc_buf *extra)
{
  esmc_status st;
  if(!host_has_queues(h))
    return ESMC_E_UNSUPPORTED;
  if(strcmp(call, "get_queue_attributes") == 0) {
    struct esmc_queue_attributes qa;
    memset(&qa, 0, sizeof(qa));
    qa.struct_size = (uint32_t)sizeof(qa);
    st = h->get_queue_attributes(h->ctx, &qa);
    if(st == ESMC_OK) {
      esmc_buf_printf(extra, ",\"attributes\":{\"fifo\":%" PRId32
                      ",\"visibility_timeout_s\":%" PRId32
                      ",\"message_retention_s\":%" PRId32
                      ",\"delay_s\":%" PRId32
                      ",\"receive_wait_time_s\":%" PRId32
                      ",\"max_receive_count\":%" PRId32
                      ",\"content_based_deduplication\":%" PRId32,
                      qa.fifo, qa.visibility_timeout_s, qa.message_retention_s,
                      qa.delay_s, qa.receive_wait_time_s, qa.max_receive_count,
                      qa.content_based_deduplication);
      put_str_member(extra, "dead_letter_target_arn",
                     qa.dead_letter_target_arn);
      esmc_buf_putc(extra, '}');
    }
  } else if(strcmp(call, "receive_messages") == 0) {
    int64_t maxm = 0;
    esmc_receive rcv = 0;
    jint(d, jget(d, 0, "max_messages"), &maxm);
    if(maxm < 0 || maxm > UINT32_MAX)
      maxm = 0;
    st = h->receive_messages(h->ctx, (uint32_t)maxm,
                             jint32(d, jget(d, 0, "wait_time_s"), 0),
                             jint32(d, jget(d, 0, "visibility_timeout_s"), -1),
                             &rcv);
    if(st == ESMC_OK)
      esmc_buf_printf(extra, ",\"receive\":%" PRIu64, rcv);
  } else {
    char *rh = jstr(d, jget(d, 0, "receipt_handle"), NULL);
    if(call[0] == 'd')
      st = h->delete_message(h->ctx, rh);
    else
      st = h->change_message_visibility(
          h->ctx, rh, jint32(d, jget(d, 0, "visibility_timeout_s"), -1));
    esmc_free(rh);
  }
  return st;
}

/* Execute the host call in d against the named mapping's host and write
 * the reply members after "status" into b. Returns 0, or -1 when the call
 * cannot be executed (noted). */
static int host_call(const struct esmc_json_doc *d, struct esmc_buf *b)
{
  int tseq = jget(d, 0, "seq");
  int64_t mid = 0;
  struct pmap *m;
  const struct esmc_host *h;
  char *call = jstr(d, jget(d, 0, "call"), NULL);
  esmc_status st = ESMC_OK;
  struct esmc_buf extra;
  size_t seqlen = 0;
  const char *seqraw;

  if(tseq < 0 || !call) {
    note(ESMC_PROXY_NOTE_ERROR, "protocol violation: a host call without "
                                "\"seq\" or \"call\"");
    esmc_free(call);
    return -1;
  }
  if(jint(d, jget(d, 0, "mapping"), &mid) || !(m = map_by_id(mid))) {
    note(ESMC_PROXY_NOTE_ERROR, "the adapter broke the ABI contract: host "
         "call %s() names no mapping the harness created", call);
    esmc_free(call);
    return -1;
  }
  h = m->host;
  esmc_buf_init(&extra);
  if(strcmp(call, "now") == 0) {
    esmc_buf_printf(&extra, ",\"now\":%" PRId64, (int64_t)h->now(h->ctx));
  } else if(strcmp(call, "set_timer") == 0 || strcmp(call, "cancel_timer") == 0) {
    uint64_t token = 0;
    int64_t at = 0;
    if(juint64(d, jget(d, 0, "token"), &token))
      st = ESMC_E_INVALID_PARAMETER;
    else if(call[0] == 'c')
      st = h->cancel_timer(h->ctx, token);
    else if(jint(d, jget(d, 0, "at"), &at))
      st = ESMC_E_INVALID_PARAMETER;
    else
      st = h->set_timer(h->ctx, at, token);
  } else if(strcmp(call, "log") == 0) {
    int64_t level = ESMC_LOG_INFO;
    char *msg = jstr(d, jget(d, 0, "message"), NULL);
    jint(d, jget(d, 0, "level"), &level);
    if(level < ESMC_LOG_DEBUG || level > ESMC_LOG_ERROR)
      level = ESMC_LOG_INFO;
    h->log(h->ctx, (enum esmc_log_level)level, msg ? msg : "");
    esmc_free(msg);
  } else if(strcmp(call, "list_shards") == 0) {
    const struct esmc_shard *sh = NULL;
    size_t n = 0, i;
    st = h->list_shards(h->ctx, &sh, &n);
    if(st == ESMC_OK) {
      esmc_buf_puts(&extra, ",\"shards\":[");
      for(i = 0; i < n && sh; i++) {
        esmc_buf_puts(&extra, i ? ",{" : "{");
        esmc_buf_puts(&extra, "\"shard_id\":");
        esmc_buf_json_str(&extra, sh[i].shard_id ? sh[i].shard_id : "",
                          sh[i].shard_id ? strlen(sh[i].shard_id) : 0);
        put_str_member(&extra, "parent_shard_id", sh[i].parent_shard_id);
        put_str_member(&extra, "adjacent_parent_shard_id",
                       sh[i].adjacent_parent_shard_id);
        put_str_member(&extra, "starting_sequence_number",
                       sh[i].starting_sequence_number);
        put_str_member(&extra, "ending_sequence_number",
                       sh[i].ending_sequence_number);
        esmc_buf_putc(&extra, '}');
      }
      esmc_buf_putc(&extra, ']');
    }
  } else if(strcmp(call, "get_shard_iterator") == 0) {
    char *shard = jstr(d, jget(d, 0, "shard_id"), NULL);
    char *type = jstr(d, jget(d, 0, "type"), NULL);
    char *seq = jstr(d, jget(d, 0, "sequence_number"), NULL);
    int64_t ts = 0;
    enum esmc_iterator_type t = ESMC_ITER_TRIM_HORIZON;
    esmc_iterator it = 0;
    jint(d, jget(d, 0, "timestamp_ms"), &ts);
    if(iter_type(type, &t))
      st = ESMC_E_INVALID_PARAMETER;
    else
      st = h->get_shard_iterator(h->ctx, shard, t, seq, ts, &it);
    if(st == ESMC_OK)
      esmc_buf_printf(&extra, ",\"iterator\":%" PRIu64, it);
    esmc_free(shard);
    esmc_free(type);
    esmc_free(seq);
  } else if(strcmp(call, "get_records") == 0) {
    uint64_t it = 0;
    int64_t limit = 0;
    struct esmc_get_records_result res;
    memset(&res, 0, sizeof(res));
    juint64(d, jget(d, 0, "iterator"), &it);
    jint(d, jget(d, 0, "limit"), &limit);
    if(limit < 0 || limit > UINT32_MAX)
      limit = 0;
    st = h->get_records(h->ctx, it, (uint32_t)limit, &res);
    if(st == ESMC_OK) {
      size_t i;
      esmc_buf_puts(&extra, ",\"records\":[");
      for(i = 0; i < res.count && res.records; i++) {
        if(i)
          esmc_buf_putc(&extra, ',');
        record_json(&extra, res.records[i]);
      }
      esmc_buf_printf(&extra, "],\"next_iterator\":%" PRIu64
                      ",\"millis_behind_latest\":%" PRId64,
                      res.next_iterator, res.millis_behind_latest);
    }
  } else if(strcmp(call, "invoke") == 0) {
    size_t len = 0;
    char *payload = jstr(d, jget(d, 0, "payload"), &len);
    esmc_invocation inv = 0;
    st = h->invoke(h->ctx, (const uint8_t *)payload, len, &inv);
    if(st == ESMC_OK)
      esmc_buf_printf(&extra, ",\"invocation\":%" PRIu64, inv);
    esmc_free(payload);
  } else if(strcmp(call, "send_to_destination") == 0) {
    size_t len = 0;
    char *arn = jstr(d, jget(d, 0, "destination_arn"), NULL);
    char *key = jstr(d, jget(d, 0, "object_key"), NULL);
    char *payload = jstr(d, jget(d, 0, "payload"), &len);
    st = h->send_to_destination(h->ctx, arn, key, (const uint8_t *)payload,
                                len);
    esmc_free(arn);
    esmc_free(key);
    esmc_free(payload);
  } else if(strcmp(call, "checkpoint") == 0) {
    char *shard = jstr(d, jget(d, 0, "shard_id"), NULL);
    char *seq = jstr(d, jget(d, 0, "sequence_number"), NULL);
    st = h->checkpoint(h->ctx, shard, seq);
    esmc_free(shard);
    esmc_free(seq);
  } else if(strcmp(call, "get_checkpoint") == 0) {
    char *shard = jstr(d, jget(d, 0, "shard_id"), NULL);
    const char *seq = NULL;
    st = h->get_checkpoint(h->ctx, shard, &seq);
    if(st == ESMC_OK)
      put_str_member(&extra, "sequence_number", seq);
    esmc_free(shard);
  } else if(P->protocol >= 2 && is_queue_call(call)) {
    st = queue_call(d, h, call, &extra);
  } else {
    note(ESMC_PROXY_NOTE_ERROR, "protocol violation: unknown host call "
                                "\"%.60s\"", call);
    esmc_free(call);
    esmc_buf_free(&extra);
    return -1;
  }
  seqraw = esmc_json_raw(d, tseq, &seqlen);
  esmc_buf_puts(b, "{\"seq\":");
  esmc_buf_put(b, seqraw, seqlen);
  esmc_buf_printf(b, ",\"status\":%d", (int)st);
  if(extra.len)
    esmc_buf_put(b, extra.data, extra.len);
  esmc_buf_puts(b, "}\n");
  esmc_buf_free(&extra);
  esmc_free(call);
  if(b->oom) {
    note(ESMC_PROXY_NOTE_ERROR, "the harness ran out of memory answering a "
                                "host call");
    return -1;
  }
  if(b->len > P->o.max_message) {
    note(ESMC_PROXY_NOTE_ERROR, "the answer to a host call would be %zu bytes, "
         "over the %zu-byte message limit", b->len, P->o.max_message);
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* One request and its completion. */

struct reply {
  char *line;
  struct esmc_json_doc doc;
};

static void reply_free(struct reply *r)
{
  esmc_json_free(&r->doc);
  esmc_free(r->line);
  memset(r, 0, sizeof(*r));
}

static double request_ms(void)
{
  return P->o.request_timeout_s * 1000.0;
}

/* Parse a line; a broken one is noted. */
static int parse_line(char *line, size_t n, struct esmc_json_doc *doc)
{
  struct esmc_json_error e;
  struct esmc_json_limits lim = {ESMC_JSON_MAX_DEPTH, 1000000, 0};
  lim.max_string = P->o.max_message;
  if(esmc_json_parse(doc, line, n, &lim, &e) ||
     esmc_json_type_of(doc, 0) != ESMC_JSON_OBJECT) {
    char ex[100];
    excerpt(line, n, ex, sizeof(ex));
    if(doc->tok)
      esmc_json_free(doc);
    note(ESMC_PROXY_NOTE_CRASH, "broken protocol stream: the adapter wrote a "
         "line that is not a JSON object (%s): '%s'",
         doc->tok ? "not an object" : e.message, ex);
    return -1;
  }
  return 0;
}

/* Send req (one line, newline included) and read up to its completion,
 * answering host calls on the way. */
static enum px_rc exchange(const char *req, size_t len, int64_t seq,
                           int hello, struct reply *out)
{
  /* A process starting up (an interpreter, say) gets at least 30 s. */
  double deadline = mono_ms() + (hello && request_ms() < 30000 ? 30000
                                                               : request_ms());
  enum px_rc rc;
  char *line = NULL;
  size_t n = 0;
  struct esmc_buf ans;

  memset(out, 0, sizeof(*out));
  log_transcript("to_adapter", req, len - 1);
  rc = pump(deadline, req, len, 1, &line, &n);
  esmc_buf_init(&ans);
  for(;;) {
    struct esmc_json_doc doc;
    int64_t got;
    char verr[300];
    if(rc != PX_OK) {
      esmc_buf_free(&ans);
      return rc;
    }
    log_transcript("from_adapter", line, n);
    if(parse_line(line, n, &doc)) {
      esmc_free(line);
      esmc_buf_free(&ans);
      return PX_BROKEN;
    }
    if(jget(&doc, 0, "call") >= 0) {
      if(hello) {
        note(ESMC_PROXY_NOTE_ERROR, "protocol violation: a host call during "
                                    "the handshake");
        rc = PX_BROKEN;
      } else if(P->o.validate && validate_call(&doc, verr, sizeof(verr))) {
        note(ESMC_PROXY_NOTE_ERROR, "protocol violation (--validate): %s",
             verr);
        rc = PX_BROKEN;
      } else {
        esmc_buf_reset(&ans);
        if(host_call(&doc, &ans))
          rc = PX_BROKEN;
      }
      esmc_json_free(&doc);
      esmc_free(line);
      line = NULL;
      if(rc != PX_OK) {
        esmc_buf_free(&ans);
        return rc;
      }
      log_transcript("to_adapter", ans.data, ans.len - 1);
      deadline = mono_ms() + request_ms();
      rc = pump(deadline, ans.data, ans.len, 1, &line, &n);
      continue;
    }
    if(P->o.validate && validate_completion(&doc, hello, verr, sizeof(verr))) {
      note(ESMC_PROXY_NOTE_ERROR, "protocol violation (--validate): %s", verr);
      esmc_json_free(&doc);
      esmc_free(line);
      esmc_buf_free(&ans);
      return PX_BROKEN;
    }
    if(jint(&doc, jget(&doc, 0, "seq"), &got) || got != seq) {
      char ex[100];
      excerpt(line, n, ex, sizeof(ex));
      note(ESMC_PROXY_NOTE_CRASH, "broken protocol stream: expected the "
           "completion of request %" PRId64 ", got '%s'", seq, ex);
      esmc_json_free(&doc);
      esmc_free(line);
      esmc_buf_free(&ans);
      return PX_BROKEN;
    }
    esmc_buf_free(&ans);
    out->line = line;
    out->doc = doc;
    return PX_OK;
  }
}

/* The handshake with a fresh process; fills name, version and capabilities
 * when caps is not NULL. */
static enum px_rc handshake(uint64_t *caps)
{
  struct esmc_buf req;
  struct reply r;
  enum px_rc rc;
  int64_t seq = ++P->seq, proto = 0, status = -1;
  int a, pv, listed = 1, lt;
  esmc_buf_init(&req);
  /* "protocol" stays the base version every adapter speaks, so that a
   * version 1 adapter works unchanged; "protocols" lists them all. */
  esmc_buf_printf(&req, "{\"seq\":%" PRId64 ",\"op\":\"start\",\"protocol\":%d,"
                  "\"protocols\":[", seq, ESMC_PROTOCOL_MIN_VERSION);
  for(pv = ESMC_PROTOCOL_MIN_VERSION; pv <= ESMC_PROTOCOL_VERSION; pv++)
    esmc_buf_printf(&req, "%s%d", pv > ESMC_PROTOCOL_MIN_VERSION ? "," : "", pv);
  esmc_buf_printf(&req, "],\"host\":{\"name\":\"esmcheck\",\"version\":\"%s\","
                  "\"abi_version\":%d}}\n", ESMC_VERSION, ESMC_ABI_VERSION);
  rc = exchange(req.data, req.len, seq, 1, &r);
  esmc_buf_free(&req);
  if(rc != PX_OK)
    return rc;
  jint(&r.doc, jget(&r.doc, 0, "protocol"), &proto);
  jint(&r.doc, jget(&r.doc, 0, "status"), &status);
  a = jget(&r.doc, 0, "adapter");
  /* The adapter may list the versions it speaks; the one it chose must be
   * among them. */
  if((lt = jget(&r.doc, 0, "protocols")) >= 0) {
    struct esmc_json_iter it;
    int k, v;
    int64_t x;
    listed = 0;
    esmc_json_iter_init(&it, &r.doc, lt);
    while(esmc_json_iter_next(&it, &k, &v))
      if(jint(&r.doc, v, &x) == 0 && x == proto)
        listed = 1;
  }
  if(status != 0 || proto < ESMC_PROTOCOL_MIN_VERSION ||
     proto > ESMC_PROTOCOL_VERSION || !listed || a < 0) {
    note(ESMC_PROXY_NOTE_ERROR, "the handshake failed: the adapter answered "
         "status %" PRId64 ", protocol %" PRId64 "%s (this harness speaks %d "
         "to %d)", status, proto,
         listed ? "" : ", not among the protocols it lists",
         ESMC_PROTOCOL_MIN_VERSION, ESMC_PROTOCOL_VERSION);
    reply_free(&r);
    return PX_BROKEN;
  }
  if(caps) {
    P->protocol = (int)proto;
  } else if(proto != P->protocol) {
    note(ESMC_PROXY_NOTE_ERROR, "the handshake failed: the restarted adapter "
         "chose protocol %" PRId64 ", not %d as before", proto, P->protocol);
    reply_free(&r);
    return PX_BROKEN;
  }
  if(caps) {
    struct esmc_json_iter it;
    int k, v;
    char *name = jstr(&r.doc, jget(&r.doc, a, "name"), NULL);
    char *version = jstr(&r.doc, jget(&r.doc, a, "version"), NULL);
    *caps = 0;
    esmc_json_iter_init(&it, &r.doc, jget(&r.doc, a, "capabilities"));
    while(esmc_json_iter_next(&it, &k, &v)) {
      char *c = jstr(&r.doc, v, NULL);
      *caps |= esmc_cap_from_name(c);
      esmc_free(c);
    }
    esmc_free(P->name);
    esmc_free(P->version);
    P->name = name ? name : esmc_strdup("(unnamed)");
    P->version = version ? version : esmc_strdup("(unversioned)");
  }
  reply_free(&r);
  return PX_OK;
}

static enum px_rc send_op(struct pmap *m, const char *op, const char *fields,
                          struct reply *out);

/* Start the process and replay the setup of every live mapping. */
static enum px_rc setup(void)
{
  enum px_rc rc;
  size_t i, k;
  if(proc_spawn())
    return PX_DIED;
  rc = handshake(NULL);
  for(i = 0; rc == PX_OK && i < P->maps.n; i++) {
    struct pmap *m = P->maps.v[i];
    struct esmc_buf f;
    struct reply r;
    if(!m->live)
      continue;
    esmc_buf_init(&f);
    esmc_buf_printf(&f, ",\"replay\":true,\"config\":%s", m->create_cfg);
    rc = send_op(m, "create", f.data, &r);
    reply_free(&r);
    for(k = 0; rc == PX_OK && k < m->updates.n; k++) {
      esmc_buf_reset(&f);
      esmc_buf_printf(&f, ",\"replay\":true,\"config\":%s", m->updates.v[k]);
      rc = send_op(m, "update", f.data, &r);
      reply_free(&r);
    }
    esmc_buf_free(&f);
  }
  return rc;
}

/* One request: {"seq","op","mapping","now",fields...}. */
static enum px_rc send_op(struct pmap *m, const char *op, const char *fields,
                          struct reply *out)
{
  struct esmc_buf req;
  enum px_rc rc;
  int64_t seq = ++P->seq;
  esmc_buf_init(&req);
  esmc_buf_printf(&req, "{\"seq\":%" PRId64 ",\"op\":\"%s\",\"mapping\":%" PRId64
                  ",\"now\":%" PRId64 "%s}\n", seq, op, m->id,
                  (int64_t)m->host->now(m->host->ctx), fields ? fields : "");
  if(req.oom) {
    esmc_buf_free(&req);
    note(ESMC_PROXY_NOTE_ERROR, "the harness ran out of memory");
    return PX_BROKEN;
  }
  if(req.len > P->o.max_message) {
    note(ESMC_PROXY_NOTE_ERROR, "a %s request would be %zu bytes, over the "
         "%zu-byte message limit", op, req.len, P->o.max_message);
    esmc_buf_free(&req);
    return PX_BROKEN;
  }
  rc = exchange(req.data, req.len, seq, 0, out);
  esmc_buf_free(&req);
  return rc;
}

static void note_death(enum px_rc rc, const char *op)
{
  char tail[64] = "";
  if(P->restarts > 0)
    snprintf(tail, sizeof(tail), " (after %d restart%s)", P->restarts,
             P->restarts == 1 ? "" : "s");
  if(rc == PX_TIMEOUT)
    note(ESMC_PROXY_NOTE_TIMEOUT, "the adapter process did not complete %s() "
         "within the %g s request time limit%s", op, P->o.request_timeout_s,
         tail);
  else
    note(ESMC_PROXY_NOTE_CRASH, "the adapter process %s during %s()%s",
         P->last_exit ? P->last_exit : "died", op, tail);
}

/* A callback: send, and on a death or a time-out restart the process with
 * its setup replayed and send again, within the restart budget. */
static esmc_status transact(struct pmap *m, const char *op, const char *fields,
                            struct reply *out)
{
  memset(out, 0, sizeof(*out));
  for(;;) {
    enum px_rc rc = PX_OK;
    if(P->dead)
      return ESMC_E_FATAL;
    if(P->pid <= 0)
      rc = setup();
    if(rc == PX_OK)
      rc = send_op(m, op, fields, out);
    if(rc == PX_OK)
      return ESMC_OK;
    reply_free(out);
    proc_kill();
    if(rc == PX_BROKEN || P->dead) {
      P->dead = 1;
      return ESMC_E_FATAL;
    }
    if(P->restarts >= P->o.max_restarts) {
      note_death(rc, op);
      return ESMC_E_FATAL;
    }
    P->restarts++;
  }
}

/* The status of a completion; a fatal one with an error is noted. */
static esmc_status completion_status(const struct reply *r, const char *op,
                                     struct esmc_error *err)
{
  int64_t st = ESMC_E_INTERNAL;
  int e = jget(&r->doc, 0, "error");
  char *code = jstr(&r->doc, jget(&r->doc, e, "code"), NULL);
  char *msg = jstr(&r->doc, jget(&r->doc, e, "message"), NULL);
  if(jint(&r->doc, jget(&r->doc, 0, "status"), &st) || st > 0 ||
     st < INT32_MIN) {
    note(ESMC_PROXY_NOTE_ERROR, "protocol violation: the completion of %s() "
         "has no valid \"status\"", op);
    st = ESMC_E_FATAL;
  } else if(st <= ESMC_E_FATAL) {
    note(ESMC_PROXY_NOTE_ERROR, "the adapter reported a fatal error in %s(): "
         "status %" PRId64 "%s%s%s%s", op, st, code || msg ? ": " : "",
         code ? code : "", code && msg ? ": " : "", msg ? msg : "");
  }
  if(err && st != ESMC_OK) {
    snprintf(err->code, sizeof(err->code), "%s", code ? code : "");
    snprintf(err->message, sizeof(err->message), "%s", msg ? msg : "");
  }
  esmc_free(code);
  esmc_free(msg);
  return (esmc_status)st;
}

/* ------------------------------------------------------------------------ */
/* The adapter table. */

static void pmap_free(struct pmap *m)
{
  size_t i;
  if(!m)
    return;
  esmc_free(m->create_cfg);
  for(i = 0; i < m->updates.n; i++)
    esmc_free(m->updates.v[i]);
  ESMC_VEC_FREE(m->updates);
  esmc_free(m);
}

static size_t live_count(void)
{
  size_t i, n = 0;
  for(i = 0; i < P->maps.n; i++)
    n += P->maps.v[i]->live != 0;
  return n;
}

static esmc_status px_create(const struct esmc_host *host,
                             const struct esmc_mapping_config *cfg,
                             void **mapper, struct esmc_error *err)
{
  struct pmap *m;
  struct reply r;
  struct esmc_buf f;
  esmc_status st;
  if(!P || !host || !cfg || !mapper)
    return ESMC_E_INVALID_PARAMETER;
  m = esmc_calloc(1, sizeof(*m));
  if(!m || ESMC_VEC_PUSH(P->maps, m)) {
    esmc_free(m);
    return ESMC_E_NOMEM;
  }
  m->id = ++P->next_id;
  m->host = host;
  m->create_cfg = config_json(cfg);
  if(!m->create_cfg)
    return ESMC_E_NOMEM;
  esmc_buf_init(&f);
  esmc_buf_printf(&f, ",\"config\":%s", m->create_cfg);
  st = transact(m, "create", f.data, &r);
  esmc_buf_free(&f);
  if(st == ESMC_OK)
    st = completion_status(&r, "create", err);
  reply_free(&r);
  if(st == ESMC_OK) {
    m->live = 1;
    *mapper = m;
  } else if(live_count() == 0) {
    proc_stop();
  }
  return st;
}

static esmc_status px_on_timer(void *mapper, uint64_t token)
{
  struct pmap *m = mapper;
  struct reply r;
  char f[64];
  esmc_status st;
  if(!P || !m)
    return ESMC_E_INVALID_PARAMETER;
  snprintf(f, sizeof(f), ",\"token\":%" PRIu64, token);
  st = transact(m, "timer", f, &r);
  if(st == ESMC_OK)
    st = completion_status(&r, "on_timer", NULL);
  reply_free(&r);
  return st;
}

static esmc_status px_on_invoke_complete(void *mapper, esmc_invocation inv,
                                         const struct esmc_invoke_result *res)
{
  struct pmap *m = mapper;
  struct reply r;
  struct esmc_buf f;
  esmc_status st;
  if(!P || !m || !res)
    return ESMC_E_INVALID_PARAMETER;
  esmc_buf_init(&f);
  esmc_buf_printf(&f, ",\"invocation\":%" PRIu64 ",\"result\":{\"outcome\":%d,"
                  "\"status_code\":%" PRId32, inv, (int)res->outcome,
                  res->status_code);
  put_str_member(&f, "function_error", res->function_error);
  put_str_member(&f, "executed_version", res->executed_version);
  put_str_member(&f, "request_id", res->request_id);
  esmc_buf_puts(&f, ",\"payload\":\"");
  esmc_buf_base64(&f, res->payload, res->payload ? res->payload_len : 0);
  esmc_buf_puts(&f, "\"}");
  if(f.oom) {
    esmc_buf_free(&f);
    return ESMC_E_NOMEM;
  }
  st = transact(m, "invoke_complete", f.data, &r);
  esmc_buf_free(&f);
  if(st == ESMC_OK)
    st = completion_status(&r, "on_invoke_complete", NULL);
  reply_free(&r);
  return st;
}

/* 1 when the n bytes at p are valid UTF-8 (no overlongs, no surrogates). */
static int utf8_valid(const unsigned char *p, size_t n)
{
  size_t i = 0;
  while(i < n) {
    unsigned c = p[i];
    size_t len, k;
    uint32_t cp;
    if(c < 0x80) {
      i++;
      continue;
    }
    if(c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if(c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if(c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if(n - i < len)
      return 0;
    for(k = 1; k < len; k++) {
      if((p[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i + k] & 0x3fu);
    }
    if((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
       (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += len;
  }
  return 1;
}

static void message_json(struct esmc_buf *b, const struct esmc_message *msg)
{
  size_t i, blen = msg->body ? msg->body_len : 0;
  esmc_buf_puts(b, "{\"message_id\":");
  esmc_buf_json_str(b, msg->message_id ? msg->message_id : "",
                    msg->message_id ? strlen(msg->message_id) : 0);
  put_str_member(b, "receipt_handle", msg->receipt_handle);
  if(utf8_valid((const unsigned char *)msg->body, blen)) {
    esmc_buf_puts(b, ",\"body\":");
    esmc_buf_json_str(b, msg->body ? msg->body : "", blen);
  } else {
    esmc_buf_puts(b, ",\"body\":\"");
    esmc_buf_base64(b, (const uint8_t *)msg->body, blen);
    esmc_buf_puts(b, "\",\"body_encoding\":\"base64\"");
  }
  put_str_member(b, "md5_of_body", msg->md5_of_body);
  esmc_buf_printf(b, ",\"sent_timestamp_ms\":%" PRId64
                  ",\"first_receive_timestamp_ms\":%" PRId64
                  ",\"approximate_receive_count\":%" PRIu32,
                  (int64_t)msg->sent_timestamp_ms,
                  (int64_t)msg->first_receive_timestamp_ms,
                  msg->approximate_receive_count);
  put_str_member(b, "sender_id", msg->sender_id);
  put_opt_str(b, "message_group_id", msg->message_group_id);
  put_opt_str(b, "message_deduplication_id", msg->message_deduplication_id);
  put_opt_str(b, "sequence_number", msg->sequence_number);
  esmc_buf_puts(b, ",\"attributes\":[");
  for(i = 0; msg->attributes && i < msg->attribute_count; i++) {
    const struct esmc_message_attribute *at = &msg->attributes[i];
    esmc_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
    esmc_buf_json_str(b, at->name ? at->name : "",
                      at->name ? strlen(at->name) : 0);
    put_str_member(b, "data_type", at->data_type);
    put_opt_str(b, "string_value", at->string_value);
    if(at->binary_value) {
      esmc_buf_puts(b, ",\"binary_value_b64\":\"");
      esmc_buf_base64(b, at->binary_value, at->binary_len);
      esmc_buf_putc(b, '"');
    }
    esmc_buf_putc(b, '}');
  }
  esmc_buf_putc(b, ']');
  put_opt_str(b, "md5_of_message_attributes", msg->md5_of_message_attributes);
  esmc_buf_putc(b, '}');
}

static esmc_status px_on_receive_complete(void *mapper, esmc_receive rcv,
                                          const struct esmc_receive_result *res)
{
  struct pmap *m = mapper;
  struct reply r;
  struct esmc_buf f;
  esmc_status st;
  size_t i;
  if(!P || !m || !res)
    return ESMC_E_INVALID_PARAMETER;
  esmc_buf_init(&f);
  esmc_buf_printf(&f, ",\"receive\":%" PRIu64 ",\"status\":%d,\"messages\":[",
                  rcv, (int)res->status);
  for(i = 0; res->messages && i < res->count; i++) {
    if(i)
      esmc_buf_putc(&f, ',');
    if(res->messages[i])
      message_json(&f, res->messages[i]);
    else
      esmc_buf_puts(&f, "null");
  }
  esmc_buf_putc(&f, ']');
  if(f.oom) {
    esmc_buf_free(&f);
    return ESMC_E_NOMEM;
  }
  st = transact(m, "receive_complete", f.data, &r);
  esmc_buf_free(&f);
  if(st == ESMC_OK)
    st = completion_status(&r, "on_receive_complete", NULL);
  reply_free(&r);
  return st;
}

static esmc_status px_update(void *mapper, const struct esmc_mapping_config *cfg,
                             struct esmc_error *err)
{
  struct pmap *m = mapper;
  struct reply r;
  struct esmc_buf f;
  esmc_status st;
  char *c;
  if(!P || !m || !cfg)
    return ESMC_E_INVALID_PARAMETER;
  c = config_json(cfg);
  if(!c)
    return ESMC_E_NOMEM;
  esmc_buf_init(&f);
  esmc_buf_printf(&f, ",\"config\":%s", c);
  st = transact(m, "update", f.data, &r);
  esmc_buf_free(&f);
  if(st == ESMC_OK)
    st = completion_status(&r, "update", err);
  reply_free(&r);
  if(st == ESMC_OK && ESMC_VEC_PUSH(m->updates, c) == 0)
    return st;
  esmc_free(c);
  return st;
}

static void px_destroy(void *mapper)
{
  struct pmap *m = mapper;
  struct reply r;
  if(!P || !m || !m->live)
    return;
  if(!P->dead && P->pid > 0) {
    /* A process that died since is not restarted just to destroy. */
    if(send_op(m, "destroy", NULL, &r) == PX_OK)
      completion_status(&r, "destroy", NULL);
    else
      proc_kill();
    reply_free(&r);
  }
  m->live = 0;
  if(live_count() == 0)
    proc_stop();
}

/* ------------------------------------------------------------------------ */
/* Public. */

int esmc_proxy_is(const struct esmc_adapter *a)
{
  return P && a == &P->table;
}

int esmc_proxy_protocol(void)
{
  return P ? P->protocol : 0;
}

static void free_maps(void)
{
  size_t i;
  for(i = 0; i < P->maps.n; i++)
    pmap_free(P->maps.v[i]);
  ESMC_VEC_FREE(P->maps);
}

enum esmc_proxy_note esmc_proxy_end_case(char **reason, char **stderr_tail)
{
  enum esmc_proxy_note k;
  if(reason)
    *reason = NULL;
  if(stderr_tail)
    *stderr_tail = NULL;
  if(!P)
    return ESMC_PROXY_NOTE_NONE;
  proc_stop();
  k = P->note;
  if(reason && P->note_text) {
    struct esmc_buf b;
    esmc_buf_init(&b);
    esmc_buf_puts(&b, P->note_text);
    if(P->errlen) {
      size_t i, len = P->errlen;
      while(len > 0 && (P->errtail[len - 1] == '\n' || P->errtail[len - 1] == '\r'))
        len--;
      esmc_buf_printf(&b, "; stderr%s: ", P->err_truncated ? " (last bytes)" : "");
      for(i = 0; i < len; i++) {
        if(P->errtail[i] == '\n')
          esmc_buf_puts(&b, " | ");
        else if(P->errtail[i] != '\r')
          esmc_buf_putc(&b, P->errtail[i]);
      }
    }
    *reason = b.data;
  }
  if(stderr_tail && P->errlen)
    *stderr_tail = esmc_strndup(P->errtail, P->errlen);
  esmc_free(P->note_text);
  P->note_text = NULL;
  P->note = ESMC_PROXY_NOTE_NONE;
  P->dead = 0;
  P->restarts = 0;
  P->errlen = 0;
  P->err_truncated = 0;
  free_maps();
  return k;
}

void esmc_argv_free(char **argv)
{
  size_t i;
  if(!argv)
    return;
  for(i = 0; argv[i]; i++)
    esmc_free(argv[i]);
  esmc_free(argv);
}

int esmc_split_command(const char *cmd, char ***out)
{
  ESMC_VEC(char *) v = {0};
  struct esmc_buf w;
  const char *p = cmd ? cmd : "";
  int inword = 0;
  *out = NULL;
  esmc_buf_init(&w);
  for(;;) {
    char c = *p;
    if(c == '\0' || c == ' ' || c == '\t' || c == '\n') {
      if(inword) {
        char *s = esmc_strndup(w.data ? w.data : "", w.len);
        if(!s || ESMC_VEC_PUSH(v, s)) {
          esmc_free(s);
          goto fail;
        }
        esmc_buf_reset(&w);
        inword = 0;
      }
      if(c == '\0')
        break;
      p++;
      continue;
    }
    inword = 1;
    if(c == '\'' || c == '"') {
      const char q = c;
      p++;
      while(*p && *p != q) {
        if(q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
          p++;
        esmc_buf_putc(&w, *p++);
      }
      if(*p != q)
        goto fail;
      p++;
      continue;
    }
    if(c == '\\' && p[1]) {
      p++;
      c = *p;
    }
    esmc_buf_putc(&w, c);
    p++;
  }
  esmc_buf_free(&w);
  if(v.n == 0 || ESMC_VEC_PUSH(v, (char *)NULL)) {
    ESMC_VEC_FREE(v);
    return -1;
  }
  *out = v.v;
  return 0;
fail:
  esmc_buf_free(&w);
  if(v.v) {
    size_t i;
    for(i = 0; i < v.n; i++)
      esmc_free(v.v[i]);
    esmc_free(v.v);
  }
  return -1;
}

void esmc_proxy_close(void)
{
  size_t i;
  if(!P)
    return;
  proc_stop();
  free_maps();
  esmc_buf_free(&P->rbuf);
  esmc_free(P->note_text);
  esmc_free(P->last_exit);
  esmc_free(P->name);
  esmc_free(P->version);
  for(i = 0; P->argv && P->argv[i]; i++)
    esmc_free(P->argv[i]);
  esmc_free(P->argv);
  if(P->transcript)
    fclose(P->transcript);
  esmc_free(P);
  P = NULL;
}

int esmc_proxy_open(char *const argv[], const struct esmc_proxy_opts *opts,
                    const struct esmc_adapter **out, char *err, size_t n)
{
  size_t i, argc = 0;
  uint64_t caps = 0;
  enum px_rc rc;
  *out = NULL;
  esmc_proxy_close();
  if(!argv || !argv[0]) {
    snprintf(err, n, "the adapter command is empty");
    return -1;
  }
  /* A process that dies must not kill the harness through SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  P = esmc_calloc(1, sizeof(*P));
  if(!P) {
    snprintf(err, n, "out of memory");
    return -1;
  }
  P->pid = -1;
  P->to_fd = P->from_fd = P->err_fd = -1;
  esmc_buf_init(&P->rbuf);
  if(opts)
    P->o = *opts;
  if(P->o.request_timeout_s <= 0)
    P->o.request_timeout_s = ESMC_PROXY_DEFAULT_TIMEOUT_S;
  if(P->o.max_message == 0)
    P->o.max_message = ESMC_PROXY_DEFAULT_MAX_MESSAGE;
  if(P->o.max_restarts == 0)
    P->o.max_restarts = ESMC_PROXY_DEFAULT_RESTARTS;
  else if(P->o.max_restarts < 0)
    P->o.max_restarts = 0;
  if(P->o.transcript) {
    P->transcript = fopen(P->o.transcript, "a");
    P->o.transcript = NULL;
  }
  while(argv[argc])
    argc++;
  P->argv = esmc_calloc(argc + 1, sizeof(char *));
  if(!P->argv) {
    esmc_proxy_close();
    snprintf(err, n, "out of memory");
    return -1;
  }
  for(i = 0; i < argc; i++)
    P->argv[i] = esmc_strdup(argv[i]);
  rc = proc_spawn() ? PX_DIED : handshake(&caps);
  if(rc != PX_OK) {
    char *reason = NULL;
    if(rc != PX_BROKEN) {
      proc_kill();
      note_death(rc, "the handshake");
    }
    esmc_proxy_end_case(&reason, NULL);
    snprintf(err, n, "adapter command '%s': %s", argv[0],
             reason ? reason : "the handshake failed");
    esmc_free(reason);
    esmc_proxy_close();
    return -1;
  }
  proc_stop();
  esmc_proxy_end_case(NULL, NULL);
  if(P->protocol >= 2) {
    /* Protocol 2 carries the ABI v2 operations: a v2 table that keeps the
     * queue capabilities the adapter declared. */
    P->table.abi_version = 2;
    P->table.struct_size = (uint32_t)ESMC_ADAPTER_V2_SIZE;
    P->table.on_receive_complete = px_on_receive_complete;
  } else {
    /* Protocol 1 carries the ABI v1 operations (streams): the table is a v1
     * table, and queue capabilities are not claimed. */
    P->table.abi_version = 1;
    P->table.struct_size = (uint32_t)ESMC_ADAPTER_V1_SIZE;
    caps &= ~(ESMC_CAP_SQS | ESMC_CAP_SQS_FIFO);
  }
  P->table.name = P->name;
  P->table.version = P->version;
  P->table.capabilities = caps;
  P->table.create = px_create;
  P->table.on_timer = px_on_timer;
  P->table.on_invoke_complete = px_on_invoke_complete;
  P->table.update = (caps & ESMC_CAP_UPDATE) ? px_update : NULL;
  P->table.destroy = px_destroy;
  *out = &P->table;
  return 0;
}

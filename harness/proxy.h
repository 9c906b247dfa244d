/*
 * proxy.h: an adapter that is a process. The proxy fills a struct
 * esmc_adapter whose callbacks speak the esmcheck adapter protocol
 * (spec/protocol.md: JSON lines over the child's stdin and stdout) so the
 * runner and the world treat an adapter written in any language like a
 * shared object. One proxy per harness process.
 */
#ifndef ESMC_PROXY_H
#define ESMC_PROXY_H

#include <stddef.h>

#include "esmcheck_adapter.h"

/* The protocol versions this harness speaks (spec/protocol.md): 1 (streams,
 * ABI v1 operations) up to 2 (1 plus SQS queues, ABI v2). */
#define ESMC_PROTOCOL_MIN_VERSION 1
#define ESMC_PROTOCOL_VERSION 2

#define ESMC_PROXY_DEFAULT_MAX_MESSAGE ((size_t)32 * 1024 * 1024)
#define ESMC_PROXY_DEFAULT_TIMEOUT_S 10.0
#define ESMC_PROXY_DEFAULT_RESTARTS 3
#define ESMC_PROXY_STDERR_MAX 4096

struct esmc_proxy_opts {
  double request_timeout_s; /* per request; <= 0: the default */
  size_t max_message;       /* bytes per line, either way; 0: the default */
  int max_restarts;         /* per case; 0: the default, < 0: none */
  int validate;             /* check every message against the schemas */
  const char *transcript;   /* append every message to this file, or NULL */
};

/* Start argv (argv[0] looked up in PATH, no shell), run the handshake and
 * stop it again. On success *out is the proxy's adapter table (name, version
 * and capabilities from the handshake) and 0 is returned; else -1 with a
 * message in err. The process is started again, per case, on the first
 * create(). */
int esmc_proxy_open(char *const argv[], const struct esmc_proxy_opts *opts,
                    const struct esmc_adapter **out, char *err, size_t n);
/* Stop any process and free the proxy. Safe to call when not open. */
void esmc_proxy_close(void);
/* 1 when a is the proxy's table. */
int esmc_proxy_is(const struct esmc_adapter *a);
/* The protocol version agreed in the handshake (0 when not open). */
int esmc_proxy_protocol(void);

/* What the proxy saw during the case that just ran. */
enum esmc_proxy_note {
  ESMC_PROXY_NOTE_NONE = 0,
  ESMC_PROXY_NOTE_CRASH,   /* died past the restart budget; broken stream */
  ESMC_PROXY_NOTE_TIMEOUT, /* a request ran past its time limit */
  ESMC_PROXY_NOTE_ERROR    /* reported an error, or broke the protocol */
};

/* End the case: stop the process if it still runs, and hand over the note
 * (*reason esmc_malloc'ed, with the captured stderr attached; NULL when
 * there is nothing to say) and the captured stderr alone (*stderr_tail, may
 * be NULL). Resets the proxy for the next case. */
enum esmc_proxy_note esmc_proxy_end_case(char **reason, char **stderr_tail);

/* Split a command line into argv without a shell: words separated by
 * blanks, '...' and "..." quote, a backslash escapes the next character
 * (outside single quotes). Returns 0 with *argv a NULL-terminated array
 * (free with esmc_argv_free), or -1 on an unterminated quote or an empty
 * command. */
int esmc_split_command(const char *cmd, char ***argv);
void esmc_argv_free(char **argv);

#endif /* ESMC_PROXY_H */

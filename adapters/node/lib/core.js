'use strict';
// The protocol core of the esmcheck Node adapter (spec/protocol.md).
//
// One process, one driver (a small module per npm package, drivers/*.js).
// The harness owns time: every request carries `now`, and the core drives the
// package's fake clock (@sinonjs/fake-timers, installed by the main script
// before any package is loaded) to that instant:
//
//   1. fire the fake timers due at or before `now`, one at a time, each
//      followed by a wait until the package is idle (no host call awaiting
//      its reply, microtasks and nextTicks drained);
//   2. deliver the request (create, an invocation's or a receive's result,
//      an update, destroy) and wait until idle again, firing any timer that
//      became due at `now` (setTimeout(fn, 0), a faked setImmediate);
//   3. arm one harness timer (set_timer, a fixed token per mapping) at the
//      earliest pending fake timer, or cancel it when there is none;
//   4. send the completion.
//
// Several mappings may live in one process (one clock): every fake timer
// remembers the mapping whose code created it (an AsyncLocalStorage context
// that follows the package's callbacks and promises), fires in that
// mapping's context, and is armed on that mapping's harness timer. When a
// mapping is destroyed, its remaining timers are removed with it.
//
// A harness `timer` request with that token only advances the clock. Real
// time is never read: replies from the harness are awaited with the REAL
// setImmediate captured before the fake timers were installed, so identical
// inputs give identical transcripts.

const { AsyncLocalStorage } = require('async_hooks');

const TIMER_TOKEN = 1;
// Timers fired at one instant within one request before the core gives up:
// a package that loops on setTimeout(fn, 0) without ever waiting would
// otherwise spin until the harness's request timeout.
const SAME_INSTANT_LIMIT = 100000;

const OK = 0;
const E_UNSUPPORTED = -3;
const E_FATAL = -100;
const E_INTERNAL = -101;

// AWS-like errors for a host call's non-zero status, so packages see the
// errors they would see from the real service.
const STATUS_NAMES = {
  '-1': ['InternalFailure', 500],
  '-2': ['InvalidParameterValueException', 400],
  '-3': ['UnsupportedOperation', 400],
  '-4': ['ResourceNotFoundException', 400],
  '-5': ['ThrottlingException', 400],
  '-6': ['ExpiredIteratorException', 400],
  '-7': ['TrimmedDataAccessException', 400],
  '-8': ['ServiceUnavailable', 503],
  '-9': ['AccessDeniedException', 403],
  '-10': ['InvalidStateException', 400],
};
// Per-call names where the service uses another one.
const CALL_STATUS_NAMES = {
  get_records: { '-5': ['ProvisionedThroughputExceededException', 400] },
  get_shard_iterator: { '-5': ['ProvisionedThroughputExceededException', 400] },
  list_shards: { '-5': ['LimitExceededException', 400] },
  receive_messages: { '-4': ['AWS.SimpleQueueService.NonExistentQueue', 400], '-5': ['RequestThrottled', 400] },
  delete_message: { '-4': ['ReceiptHandleIsInvalid', 400] },
  change_message_visibility: { '-4': ['ReceiptHandleIsInvalid', 400] },
  invoke: { '-5': ['TooManyRequestsException', 429], '-8': ['ServiceException', 500] },
};

function statusError(status, call, detail) {
  const per = (CALL_STATUS_NAMES[call] || {})[String(status)];
  const [name, http] = per || STATUS_NAMES[String(status)] || ['UnknownError', 500];
  const err = new Error(`${call}: ${name} (esmcheck status ${status})${detail ? ': ' + detail : ''}`);
  err.name = name;
  err.code = name;              // AWS SDK v2 style
  err.statusCode = http;        // AWS SDK v2 style
  err.retryable = http >= 500 || status === -5;
  err.$fault = http >= 500 ? 'server' : 'client'; // AWS SDK v3 style
  err.$metadata = { httpStatusCode: http, attempts: 1, totalRetryDelay: 0 };
  err.esmcStatus = status;
  err.esmcCall = call;
  return err;
}

function configError(status, code, message) {
  const err = new Error(message);
  err.esmcStatus = status;
  err.esmcCode = code;
  err.esmcMessage = message;
  return err;
}

class Core {
  constructor({ driver, clock, realSetImmediate, write, stderr }) {
    this.driver = driver;
    this.clock = clock;
    this.realSetImmediate = realSetImmediate;
    this.write = write;
    this.stderr = stderr;
    this.protocol = driver.protocol || 1;
    this.seq = 0;
    this.pending = new Map();   // host-call seq -> {resolve, reject, call}
    this.outstanding = 0;       // host calls awaiting their reply
    this.wake = null;           // resolves when a reply arrives
    this.requests = [];
    this.busy = false;
    this.mappings = new Map();  // harness mapping handle -> Mapping
    this.clockSet = false;
    this.buf = '';
    this.als = new AsyncLocalStorage();
    this.ownTimers();
  }

  // Tag every timer with the mapping whose code arms it.
  ownTimers() {
    const clock = this.clock;
    const als = this.als;
    for (const name of ['setTimeout', 'setInterval', 'setImmediate']) {
      const orig = clock[name];
      if (typeof orig !== 'function') continue;
      clock[name] = function owned(...args) {
        const handle = orig.apply(clock, args);
        // In Node, fake-timers returns a Timeout-like object whose primitive
        // value is the timer's id.
        const id = handle !== null && typeof handle === 'object' ? Number(handle) : handle;
        const t = clock.timers && clock.timers.get(id);
        if (t) t.owner = als.getStore() || null;
        return handle;
      };
    }
  }

  // Run fn as the code of mapping m (its timers are m's).
  within(m, fn) {
    return this.als.run(m, fn);
  }

  log(msg) {
    this.stderr.write(`[esmc-node] ${msg}\n`);
  }

  // ---------------------------------------------------------------- I/O
  send(msg) {
    this.write(JSON.stringify(msg) + '\n');
  }

  attach(stdin) {
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk) => {
      this.buf += chunk;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim() !== '') this.onLine(line);
      }
    });
    stdin.on('end', () => process.exit(0));
  }

  onLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      this.log(`unparsable line from the harness: ${e.message}`);
      process.exit(70);
    }
    if (msg && typeof msg.op === 'string') {
      if (msg.op === 'stop') process.exit(0);
      this.requests.push(msg);
      if (!this.busy) this.pump();
      return;
    }
    // Replies are released one at a time, each followed by a real
    // setImmediate (every microtask it causes runs first): how the harness's
    // replies happen to be chunked on stdin must not change the order in
    // which the package's concurrent chains continue.
    this.replies = this.replies || [];
    this.replies.push({ msg, line });
    if (!this.releasing) this.releaseReplies();
  }

  async releaseReplies() {
    this.releasing = true;
    while (this.replies.length) {
      const { msg, line } = this.replies.shift();
      const p = msg && this.pending.get(msg.seq);
      if (!p) {
        this.log(`a reply for no pending host call: ${line.slice(0, 200)}`);
        process.exit(70);
      }
      this.pending.delete(msg.seq);
      this.outstanding--;
      p.resolve(msg);
      if (this.wake) {
        const w = this.wake;
        this.wake = null;
        w();
      }
      await this.realImmediate();
    }
    this.releasing = false;
  }

  async pump() {
    this.busy = true;
    while (this.requests.length) {
      const req = this.requests.shift();
      let reply;
      try {
        reply = await this.handle(req);
      } catch (e) {
        this.log(`internal error on ${req.op}: ${e && e.stack || e}`);
        reply = { seq: req.seq, status: E_INTERNAL,
                  error: { code: 'InternalError', message: String(e && e.stack || e).slice(0, 1000) } };
      }
      this.send(reply);
    }
    this.busy = false;
  }

  // ------------------------------------------------------- host calls
  rawCall(mappingId, call, members) {
    const seq = `n${++this.seq}`;
    const msg = Object.assign({ seq, call, mapping: mappingId }, members || {});
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, call });
      this.outstanding++;
      this.send(msg);
    });
  }

  // ------------------------------------------------------------ clock
  firstTimer() {
    const heap = this.clock.timerHeap;
    return heap ? heap.peek() || null : null;
  }

  realImmediate() {
    return new Promise((r) => this.realSetImmediate(r));
  }

  // Wait until the package is idle: no host call awaiting its reply, and
  // every microtask and nextTick run.
  async idle() {
    for (;;) {
      await this.realImmediate();
      if (this.outstanding === 0) return;
      await new Promise((r) => { this.wake = r; });
    }
  }

  // Fire every fake timer due at or before `now`, waiting for the package
  // to settle after each, then move the clock to `now`.
  async advance(now) {
    if (!this.clockSet) {
      // The first request: the clock jumps from 0 to the harness's time,
      // keeping timers armed at load time (if any) relative.
      this.clock.setSystemTime(now);
      this.clockSet = true;
    }
    let fired = 0;
    for (;;) {
      await this.idle();
      const t = this.firstTimer();
      if (!t || t.callAt > now) break;
      if (++fired > SAME_INSTANT_LIMIT) {
        throw Object.assign(new Error(`more than ${SAME_INSTANT_LIMIT} timers fired by one request ` +
          `(a timer loop that never waits, at t=${now})`), { esmcFatal: true });
      }
      // An exception in a timer callback is uncaught, as in Node.
      this.als.run(t.owner || null, () => this.clock.next());
    }
    if (this.clock.now < now) this.clock.tick(now - this.clock.now);
  }

  // The earliest pending timer of mapping m (or of no mapping).
  firstTimerOf(m) {
    let best = null;
    if (!this.clock.timers) return null;
    for (const t of this.clock.timers.values()) {
      if (t.owner && t.owner !== m) continue;
      if (!best || t.callAt < best.callAt || (t.callAt === best.callAt && t.order < best.order)) best = t;
    }
    return best;
  }

  // Remove the timers a destroyed mapping's package left behind.
  dropTimersOf(m) {
    if (!this.clock.timers) return;
    const clear = { Timeout: 'clearTimeout', Interval: 'clearInterval', Immediate: 'clearImmediate' };
    for (const t of Array.from(this.clock.timers.values())) {
      if (t.owner !== m) continue;
      const fn = clear[t.type] || 'clearTimeout';
      try {
        this.clock[fn](t.id);
      } catch (e) {
        this.log(`could not drop a timer of mapping ${m.id}: ${e.message}`);
      }
    }
  }

  async arm(m) {
    if (m.destroyed) return;
    const t = this.firstTimerOf(m);
    const want = t ? Math.max(t.callAt, this.clock.now) : null;
    if (want === m.armedAt) return;
    if (want === null) {
      await this.rawCall(m.id, 'cancel_timer', { token: TIMER_TOKEN });
    } else {
      await this.rawCall(m.id, 'set_timer', { at: want, token: TIMER_TOKEN });
    }
    m.armedAt = want;
  }

  // --------------------------------------------------------- requests
  async handle(req) {
    const { seq, op } = req;
    if (op === 'start') return this.handshake(req);
    let m = this.mappings.get(req.mapping);
    if (op === 'create') {
      if (m && !m.destroyed) {
        return { seq, status: E_FATAL, error: { code: 'Fatal', message: `create of a live mapping ${req.mapping}` } };
      }
      m = new Mapping(this, req.mapping);
      this.mappings.set(req.mapping, m);
      return this.step(m, req, () => m.create(req));
    }
    if (!m) {
      // After a restart, results of the previous process's work still
      // arrive; there is nothing to do with them.
      return { seq, status: op === 'destroy' || op === 'invoke_complete' || op === 'receive_complete' || op === 'timer' ? OK : E_FATAL };
    }
    switch (op) {
      case 'timer':
        if (req.token === TIMER_TOKEN) m.armedAt = null;
        return this.step(m, req, null);
      case 'invoke_complete':
        return this.step(m, req, () => m.invokeComplete(req));
      case 'receive_complete':
        return this.step(m, req, () => m.receiveComplete(req));
      case 'update':
        return this.step(m, req, () => m.update(req));
      case 'destroy':
        return this.destroy(m, req);
      default:
        return { seq, status: E_FATAL, error: { code: 'Fatal', message: `unknown request ${op}` } };
    }
  }

  handshake(req) {
    const d = this.driver;
    const theirs = Array.isArray(req.protocols) ? req.protocols : [req.protocol];
    const ours = this.protocol >= 2 ? [1, 2] : [1];
    const common = ours.filter((v) => theirs.includes(v));
    const chosen = common.length ? Math.max(...common) : 1;
    if (chosen < this.protocol) {
      this.log(`the harness does not speak protocol ${this.protocol}; queue capabilities are dropped`);
    }
    return {
      seq: req.seq, status: OK, protocol: chosen, protocols: ours,
      adapter: {
        name: d.name,
        version: String(d.packageVersion),
        language: 'node',
        capabilities: d.capabilities.slice(),
      },
    };
  }

  // One request: advance to its instant, run its action, settle, arm.
  async step(m, req, action) {
    const now = req.now;
    let result = { seq: req.seq, status: OK };
    try {
      await this.advance(now);
      if (action) {
        const r = await this.within(m, action);
        if (r) result = Object.assign(result, r);
      }
      await this.advance(now);
      await this.arm(m);
    } catch (e) {
      if (e && e.esmcFatal) {
        this.log(e.message);
        return { seq: req.seq, status: E_FATAL, error: { code: 'Fatal', message: e.message } };
      }
      throw e;
    }
    return result;
  }

  async destroy(m, req) {
    // Calls from inside destroy() are contract violations: the mapping's
    // host is closed first, so whatever the package does while it stops
    // reaches no one.
    m.destroyed = true;
    try {
      await this.advance(req.now);
      if (m.mapper && typeof m.mapper.destroy === 'function') {
        const p = this.within(m, () => Promise.resolve().then(() => m.mapper.destroy()));
        p.catch((e) => this.log(`destroy: ${e && e.stack || e}`));
        await this.idle();
      }
    } catch (e) {
      this.log(`destroy: ${e && e.stack || e}`);
    }
    this.dropTimersOf(m);
    this.mappings.delete(m.id);
    return { seq: req.seq, status: OK };
  }
}

// The host of one mapping, as drivers see it (ctx.host).
class Host {
  constructor(core, mapping) {
    this.core = core;
    this.mapping = mapping;
  }

  get id() { return this.mapping.id; }
  get destroyed() { return this.mapping.destroyed; }
  now() { return this.core.clock.now; }

  // Any host call; resolves with the reply, rejects with an AWS-like error
  // when the reply's status is not 0. Once the mapping is destroyed the
  // call is dropped and the promise never settles (the package is being
  // stopped; nothing may reach the harness any more).
  async call(name, members) {
    if (this.mapping.destroyed) return new Promise(() => {});
    const reply = await this.core.rawCall(this.mapping.id, name, members);
    if (reply.status !== OK) throw statusError(reply.status, name);
    return reply;
  }

  // Invoke the function; resolves at the matching invoke_complete with
  // {outcome, status_code, function_error, executed_version, request_id,
  // payload (UTF-8 text, or null when empty)}.
  async invoke(payload) {
    const reply = await this.call('invoke', { payload });
    const id = reply.invocation;
    return new Promise((resolve) => this.mapping.invocations.set(id, resolve));
  }

  // ReceiveMessage; resolves at the matching receive_complete with
  // {status, messages} (protocol 2).
  async receive({ max_messages, wait_time_s, visibility_timeout_s }) {
    const reply = await this.call('receive_messages', {
      max_messages, wait_time_s,
      visibility_timeout_s: visibility_timeout_s === undefined || visibility_timeout_s === null ? -1 : visibility_timeout_s,
    });
    const id = reply.receive;
    return new Promise((resolve) => this.mapping.receives.set(id, resolve));
  }

  log(level, message) {
    return this.call('log', { level, message: String(message).slice(0, 4000) }).catch(() => {});
  }
}

class Mapping {
  constructor(core, id) {
    this.core = core;
    this.id = id;
    this.host = new Host(core, this);
    this.destroyed = false;
    this.armedAt = null;
    this.invocations = new Map();
    this.receives = new Map();
    this.mapper = null;
    this.config = null;
  }

  async create(req) {
    const core = this.core;
    this.config = req.config || {};
    const ctx = {
      mapping: this.id,
      config: this.config,
      replay: !!req.replay,
      host: this.host,
      clock: core.clock,
      log: (msg) => core.log(`[${core.driver.name}] ${msg}`),
    };
    // create() may wait on the package's own timers: run it alongside the
    // clock rather than awaiting it blindly.
    let state = 'pending';
    let value;
    const p = Promise.resolve().then(() => core.driver.create(ctx));
    p.then((v) => { state = 'ok'; value = v; }, (e) => { state = 'error'; value = e; });
    await core.advance(req.now);
    if (state === 'pending') {
      // Still starting (awaiting a receive, an invocation or a later timer):
      // the mapping is accepted; the mapper object arrives when it resolves.
      p.then((v) => { this.mapper = v; }, (e) => core.log(`create failed late: ${e && e.stack || e}`));
      return null;
    }
    if (state === 'error') return this.rejection(value, 'create');
    this.mapper = value;
    return null;
  }

  rejection(e, what) {
    if (e && typeof e.esmcStatus === 'number') {
      this.core.log(`${what} rejected: ${e.esmcCode}: ${e.esmcMessage || e.message}`);
      if (what === 'create') { this.destroyed = true; this.core.dropTimersOf(this); }
      return { status: e.esmcStatus,
               error: { code: String(e.esmcCode || 'InvalidParameterValueException').slice(0, 63),
                        message: String(e.esmcMessage || e.message || '').slice(0, 1023) } };
    }
    this.core.log(`${what} failed: ${e && e.stack || e}`);
    if (what === 'create') { this.destroyed = true; this.core.dropTimersOf(this); }
    return { status: E_FATAL, error: { code: 'Fatal', message: String(e && e.stack || e).slice(0, 1023) } };
  }

  invokeComplete(req) {
    const resolve = this.invocations.get(req.invocation);
    if (!resolve) return null;
    this.invocations.delete(req.invocation);
    const r = req.result || {};
    const payload = typeof r.payload === 'string' && r.payload.length
      ? Buffer.from(r.payload, 'base64').toString('utf8') : null;
    resolve({
      outcome: r.outcome,
      status_code: r.status_code,
      function_error: r.function_error === undefined ? null : r.function_error,
      executed_version: r.executed_version === undefined ? null : r.executed_version,
      request_id: r.request_id === undefined ? null : r.request_id,
      payload,
    });
    return null;
  }

  receiveComplete(req) {
    const resolve = this.receives.get(req.receive);
    if (!resolve) return null;
    this.receives.delete(req.receive);
    resolve({ status: req.status, messages: req.messages || [] });
    return null;
  }

  async update(req) {
    const core = this.core;
    if (!this.mapper || typeof this.mapper.update !== 'function') {
      return { status: E_UNSUPPORTED,
               error: { code: 'UnsupportedFeatureException', message: `${core.driver.name}: updates are not supported` } };
    }
    let state = 'pending';
    let value;
    const p = Promise.resolve().then(() => this.mapper.update(req.config || {}));
    p.then((v) => { state = 'ok'; value = v; }, (e) => { state = 'error'; value = e; });
    await core.advance(req.now);
    if (state === 'error') return this.rejection(value, 'update');
    if (state === 'pending') p.catch((e) => core.log(`update failed late: ${e && e.stack || e}`));
    return null;
  }
}

module.exports = { Core, Host, statusError, configError, TIMER_TOKEN, OK, E_UNSUPPORTED, E_FATAL };

'use strict';
// AWS client stand-ins: one table of operation handlers, three call styles.
//
//   const client = makeClient({ ReceiveMessage: async (input, opts) => {...}, ... },
//                             { style: 'v3' | 'v2', service: 'SQS', region });
//
// style 'v3' gives what AWS SDK v3 users hand to packages:
//   - the bare client: client.send(new ReceiveMessageCommand(input), {abortSignal})
//     dispatching on command.constructor.name ("ReceiveMessageCommand"), and
//   - the aggregated client: client.receiveMessage(input, [options], [callback])
//     returning a promise (or calling back).
// style 'v2' gives the AWS SDK v2 client: client.receiveMessage(params, [callback])
// returning a request object with promise(), send(cb), abort() and on().
//
// Handlers receive the operation's input and {abortSignal} and return the
// output (without $metadata / ResponseMetadata, which are added here).
// An unknown operation fails like an SDK call that the service refused.

let requestCounter = 0;

function requestId() {
  requestCounter += 1;
  return `esmc-${String(requestCounter).padStart(8, '0')}-0000-4000-8000-000000000000`;
}

function awsError(name, message, { http = 400, fault, retryable = false, extra } = {}) {
  const err = new Error(message);
  err.name = name;
  err.code = name;
  err.statusCode = http;
  err.retryable = retryable;
  err.$fault = fault || (http >= 500 ? 'server' : 'client');
  err.$metadata = { httpStatusCode: http, requestId: requestId(), attempts: 1, totalRetryDelay: 0 };
  if (extra) Object.assign(err, extra);
  return err;
}

function abortError() {
  const err = new Error('Request aborted');
  err.name = 'AbortError';
  err.code = 'AbortError';
  return err;
}

const lowerFirst = (s) => s.charAt(0).toLowerCase() + s.slice(1);

// A minimal AbortSignal for v2 requests (one per request: AbortController is
// costly at thousands of polls per case).
function lightSignal() {
  const listeners = [];
  return {
    aborted: false,
    addEventListener(type, fn) { if (type === 'abort') listeners.push(fn); },
    removeEventListener(type, fn) { const i = listeners.indexOf(fn); if (i >= 0) listeners.splice(i, 1); },
    abort() {
      if (this.aborted) return;
      this.aborted = true;
      for (const fn of listeners.splice(0)) fn();
    },
  };
}

function makeClient(handlers, { style = 'v3', service = 'AWS', region = 'us-east-1', endpoint } = {}) {
  const ops = Object.keys(handlers);

  function run(op, input, options) {
    const h = handlers[op];
    if (!h) {
      return Promise.reject(awsError('UnsupportedOperation',
        `esmcheck's ${service} stand-in does not implement ${op}`));
    }
    const signal = options && options.abortSignal;
    if (signal && signal.aborted) return Promise.reject(abortError());
    let p = Promise.resolve().then(() => h(input || {}, options || {}));
    if (signal) {
      p = new Promise((resolve, reject) => {
        const onAbort = () => reject(abortError());
        signal.addEventListener('abort', onAbort, { once: true });
        p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
          (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
      });
    }
    return p.then((out) => {
      const o = Object.assign({}, out || {});
      if (style === 'v3') o.$metadata = { httpStatusCode: 200, requestId: requestId(), attempts: 1, totalRetryDelay: 0 };
      else o.ResponseMetadata = { RequestId: requestId() };
      return o;
    });
  }

  const client = {
    config: { region, endpoint: endpoint || `https://${service.toLowerCase()}.${region}.amazonaws.com`, serviceId: service },
    esmcStandIn: true,
  };

  if (style === 'v3') {
    client.send = function send(command, optionsOrCb, cb) {
      const name = command && command.constructor && command.constructor.name || '';
      const op = name.replace(/Command$/, '');
      const options = typeof optionsOrCb === 'function' ? undefined : optionsOrCb;
      const callback = typeof optionsOrCb === 'function' ? optionsOrCb : cb;
      const p = run(op, command && command.input, options);
      if (callback) {
        p.then((d) => callback(null, d), (e) => callback(e));
        return undefined;
      }
      return p;
    };
    client.destroy = function destroy() {};
    client.middlewareStack = { add() {}, addRelativeTo() {}, use() {}, remove() {}, clone() { return this; } };
    for (const op of ops) {
      client[lowerFirst(op)] = function aggregated(input, optionsOrCb, cb) {
        const options = typeof optionsOrCb === 'function' ? undefined : optionsOrCb;
        const callback = typeof optionsOrCb === 'function' ? optionsOrCb : cb;
        const p = run(op, input, options);
        if (callback) {
          p.then((d) => callback(null, d), (e) => callback(e));
          return undefined;
        }
        return p;
      };
    }
  } else {
    for (const op of ops) {
      client[lowerFirst(op)] = function v2(params, callback) {
        const signal = lightSignal();
        let started = null;
        const start = () => {
          if (!started) started = run(op, params, { abortSignal: signal });
          return started;
        };
        const request = {
          operation: lowerFirst(op),
          params,
          promise: () => start(),
          send(cb) {
            start().then((d) => cb && cb(null, d), (e) => cb && cb(e));
            return request;
          },
          abort() { signal.abort(); return request; },
          on() { return request; },
          createReadStream() { throw new Error('createReadStream is not supported by the esmcheck stand-in'); },
        };
        if (typeof callback === 'function') request.send(callback);
        return request;
      };
    }
  }
  return client;
}

module.exports = { makeClient, awsError, abortError, requestId };

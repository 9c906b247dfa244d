'use strict';
// The `lambda` object the serverless-offline-* pollers take, standing in for
// serverless-offline's Lambda: get(functionKey) -> {setEvent(event),
// runHandler()}. runHandler invokes the harness's function with
// JSON.stringify(event) and resolves with the parsed response, or throws as
// serverless-offline's LambdaFunction.runHandler does (src/lambda/
// LambdaFunction.js, 13.x): a handler's error is rethrown as an Error with
// the handler's name and message; a timeout is a LambdaTimeoutError
// "[504] - Lambda timeout.". serverless-offline never throttles; a throttled
// or failed Invoke (the harness's outcomes 2 and 3) is thrown as the error
// the Lambda API would answer (TooManyRequestsException 429, ServiceException).

const INVOKE_OK = 0;
const INVOKE_FUNCTION_ERROR = 1;
const INVOKE_THROTTLED = 2;

function parsePayload(text) {
  if (text === null || text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
  }
}

function functionError(result) {
  const doc = parsePayload(result.payload);
  const type = doc && typeof doc === 'object' && doc.errorType ? String(doc.errorType) : 'Error';
  const message = doc && typeof doc === 'object' && doc.errorMessage !== undefined ? String(doc.errorMessage) : String(result.payload || '');
  if (type === 'Sandbox.Timedout') {
    const err = new Error('[504] - Lambda timeout.');
    err.name = 'LambdaTimeoutError';
    return err;
  }
  const err = new Error(message);
  err.name = type;
  return err;
}

function makeLambda(host, opts = {}) {
  const onInvoke = opts.onInvoke || null; // observer(event, result) for drivers
  return {
    get(functionKey) {
      let event = null;
      return {
        functionKey,
        setEvent(e) { event = e; },
        setClientContext() {},
        async runHandler() {
          const payload = JSON.stringify(event);
          const result = await host.invoke(payload === undefined ? 'null' : payload);
          if (onInvoke) onInvoke(event, result);
          if (result.outcome === INVOKE_OK) return parsePayload(result.payload);
          if (result.outcome === INVOKE_FUNCTION_ERROR) throw functionError(result);
          const err = new Error(result.outcome === INVOKE_THROTTLED ? 'Rate Exceeded.' : `Lambda service error (HTTP ${result.status_code})`);
          err.name = result.outcome === INVOKE_THROTTLED ? 'TooManyRequestsException' : 'ServiceException';
          err.statusCode = result.status_code;
          throw err;
        },
      };
    },
    getByFunctionName(name) { return this.get(name); },
    listFunctionNames() { return []; },
    cleanup() { return Promise.resolve(); },
  };
}

module.exports = { makeLambda, parsePayload };

'use strict';
// esmcheck stand-in for @serverless/utils/log: the plugins write their logs
// here; everything goes to stderr (stdout belongs to the adapter protocol).
const util = require('util');

function write(level, args) {
  process.stderr.write(`[${level}] ${util.format(...args)}\n`);
}
function make(namespace) {
  const log = (...a) => write(namespace ? `${namespace}` : 'log', a);
  for (const level of ['error', 'warning', 'notice', 'info', 'debug', 'verbose', 'success']) {
    log[level] = (...a) => write(namespace ? `${namespace}:${level}` : level, a);
  }
  log.get = (ns) => make(namespace ? `${namespace}:${ns}` : ns);
  return log;
}
const log = make('');
const progress = { get: () => ({ notice() {}, info() {}, remove() {} }), create: () => ({ notice() {}, info() {}, remove() {} }) };
const writeText = (...a) => write('text', a);
module.exports = { log, progress, writeText, style: new Proxy({}, { get: () => (s) => s }), getPluginWriters: () => ({ log, progress, writeText }) };

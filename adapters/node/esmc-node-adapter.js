#!/usr/bin/env node
'use strict';
// esmc-node-adapter.js: one esmcheck adapter process (spec/protocol.md) that
// judges a real npm package, unmodified, through a small driver per package.
//
//   node adapters/node/esmc-node-adapter.js --package sqs-consumer
//
// Order matters: the real setImmediate is captured and the fake clock is
// installed BEFORE any package is required, so every timer the package
// arms runs on the harness's virtual time. process.nextTick and
// queueMicrotask stay real. Stdout belongs to the protocol: console.* and
// stray process.stdout writes go to stderr.

const realSetImmediate = global.setImmediate;
const FakeTimers = require('@sinonjs/fake-timers');

const clock = FakeTimers.install({
  now: 0,
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
           'setImmediate', 'clearImmediate', 'Date', 'hrtime', 'performance'],
  loopLimit: 1000000,
  ignoreMissingTimers: true,
});

// Deterministic Math.random (mulberry32): reruns must be byte-identical.
{
  let s = 0x2545f491;
  Math.random = function random() {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Stdout is the protocol's; everything else goes to stderr.
const protocolWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = function write(chunk, encoding, cb) {
  return process.stderr.write(chunk, encoding, cb);
};
{
  const { Console } = require('console');
  const errConsole = new Console({ stdout: process.stderr, stderr: process.stderr });
  for (const k of Object.keys(console)) {
    if (typeof console[k] === 'function' && typeof errConsole[k] === 'function') {
      console[k] = errConsole[k].bind(errConsole);
    }
  }
}

const path = require('path');
const fs = require('fs');

const DRIVERS = {
  'serverless-offline-sqs': 'sqs.js',
  'sqs-consumer': 'sqs-consumer.js',
  'squiss-ts': 'squiss.js',
  'serverless-offline-kinesis': 'kinesis.js',
  'serverless-offline-dynamodb-streams': 'dynamodb-streams.js',
};

function usage(msg) {
  process.stderr.write(`${msg}\nusage: esmc-node-adapter.js --package <${Object.keys(DRIVERS).join('|')}> [--describe]\n`);
  process.exit(2);
}

let pkg = null;
let describe = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--package') pkg = argv[++i];
  else if (argv[i] === '--describe') describe = true;
  else if (argv[i].startsWith('--package=')) pkg = argv[i].slice('--package='.length);
  else usage(`unknown argument ${argv[i]}`);
}
if (!pkg) usage('--package is required');
if (!DRIVERS[pkg]) usage(`unknown package ${pkg}`);
const driverPath = path.join(__dirname, 'drivers', DRIVERS[pkg]);
if (!fs.existsSync(driverPath)) usage(`no driver for ${pkg} (${driverPath})`);

const { Core } = require('./lib/core');
const driver = require(driverPath);

if (describe) {
  // The driver's metadata, for reports (scripts/third-party); no protocol.
  protocolWrite(JSON.stringify({
    package: pkg, name: driver.name, packageName: driver.packageName,
    packageVersion: driver.packageVersion, protocol: driver.protocol,
    capabilities: driver.capabilities, judges: driver.judges, notes: driver.notes,
    driver: `adapters/node/drivers/${DRIVERS[pkg]}`,
  }) + '\n');
  process.exit(0);
}

const core = new Core({
  driver,
  clock,
  realSetImmediate,
  write: protocolWrite,
  stderr: process.stderr,
});
core.attach(process.stdin);

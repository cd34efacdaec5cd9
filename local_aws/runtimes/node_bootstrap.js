'use strict';
// Runs one Lambda invocation of a Node.js handler, the way the managed runtime would.
//
// Started by local_aws/lambda_executor.py as
//   node --require node_preload.js node_bootstrap.js <handler> <result-file>
// with the event on stdin and the function's code directory as the working directory. Supports
// async handlers, callback handlers and ES modules (.mjs). The return value (or the error, in
// Lambda's error shape) is written to the result file; stdout and stderr are the function's logs.

const fs = require('fs');
const path = require('path');
const url = require('url');

const [handlerSpec, resultFile] = process.argv.slice(2);
const deadline = Date.now() + Number(process.env.LOCAL_AWS_TIMEOUT_S || '3') * 1000;
let settled = false;

function errorShape(err, errorType) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    errorType: errorType || e.name || 'Error',
    errorMessage: e.message,
    trace: String(e.stack || '').split('\n'),
  };
}

function finish(err, value) {
  if (settled) return;
  settled = true;
  let outcome;
  if (err) {
    console.error(err instanceof Error ? err.stack : String(err));
    outcome = { ok: false, error: errorShape(err) };
  } else {
    try {
      outcome = { ok: true, value: JSON.stringify(value === undefined ? null : value) };
    } catch (marshal) {
      outcome = { ok: false, error: errorShape(marshal, 'Runtime.MarshalError') };
    }
  }
  fs.writeFileSync(resultFile, JSON.stringify(outcome));
  // Lambda freezes the sandbox once the handler returns; exiting is the local equivalent.
  process.exit(0);
}

const context = {
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION || '$LATEST',
  invokedFunctionArn: process.env.LOCAL_AWS_FUNCTION_ARN,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: process.env.LOCAL_AWS_REQUEST_ID,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: (err, value) => finish(err, value),
  succeed: (value) => finish(null, value),
  fail: (err) => finish(err || new Error('failed')),
};

process.on('uncaughtException', (err) => finish(err));
process.on('unhandledRejection', (err) => finish(err));
// A handler that neither returns a promise nor calls back returns null once the event loop drains.
process.on('beforeExit', () => finish(null, null));

async function loadHandler() {
  const dot = handlerSpec.lastIndexOf('.');
  if (dot < 1) throw new Error(`Bad handler '${handlerSpec}': expected <file>.<function>`);
  const base = path.resolve(process.cwd(), handlerSpec.slice(0, dot));
  const name = handlerSpec.slice(dot + 1);
  let mod;
  if (fs.existsSync(base + '.mjs')) {
    mod = await import(url.pathToFileURL(base + '.mjs').href);
  } else {
    mod = require(base);
  }
  const fn = mod[name];
  if (typeof fn !== 'function') {
    throw new Error(`Handler '${name}' missing on module '${handlerSpec.slice(0, dot)}'`);
  }
  return fn;
}

(async () => {
  const handler = await loadHandler();
  const event = JSON.parse(fs.readFileSync(0, 'utf8') || 'null');
  const maybe = handler(event, context, (err, value) => finish(err, value));
  if (maybe && typeof maybe.then === 'function') {
    finish(null, await maybe);
  }
})().catch((err) => finish(err));

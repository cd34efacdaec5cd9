'use strict';
// Preloaded (`node --require`) into every Node.js process that talks to the local emulator: Lambda
// handlers run by local_aws, and the CDK CLI. It fixes the two ways offline Node code would
// otherwise miss the emulator:
//
// 1. The AWS SDK for JavaScript addresses S3 buckets virtual-hosted style (`<bucket>.localhost`),
//    and the system resolver does not know those names. They are resolved to the loopback address.
// 2. CloudFormation response URLs are answered with `https.request({hostname, path})`, dropping the
//    URL's scheme and port (CDK's custom-resource frameworks do this). Requests to `localhost` on
//    the HTTPS default port are sent over plain HTTP to the emulator's port (LOCAL_AWS_PORT).
// Nothing else is changed; real hostnames resolve and connect as usual.

const dns = require('dns');
const http = require('http');
const https = require('https');

const LOOPBACK = '127.0.0.1';

function isLocal(hostname) {
  return typeof hostname === 'string' && (hostname === 'localhost' || hostname.endsWith('.localhost'));
}

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  if (!isLocal(hostname)) return originalLookup.apply(this, arguments);
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  if (typeof options === 'number') options = { family: options };
  if (options && options.all) return process.nextTick(callback, null, [{ address: LOOPBACK, family: 4 }]);
  return process.nextTick(callback, null, LOOPBACK, 4);
};

const emulatorPort = Number(process.env.LOCAL_AWS_PORT || 0);
if (emulatorPort) {
  const originalRequest = https.request;
  https.request = function request(input, options, callback) {
    let opts = input;
    if (typeof input === 'string' || input instanceof URL) {
      const parsed = new URL(input);
      if (typeof options === 'function') {
        callback = options;
        options = {};
      }
      opts = {
        ...(options || {}),
        hostname: parsed.hostname,
        port: parsed.port,
        path: parsed.pathname + parsed.search,
      };
    } else {
      callback = options;
    }
    const port = Number(opts && opts.port) || 443;
    if (opts && isLocal(opts.hostname || opts.host) && port === 443) {
      const { agent, ...rest } = opts;
      return http.request({ ...rest, protocol: 'http:', port: emulatorPort }, callback);
    }
    return originalRequest.apply(this, arguments);
  };
}

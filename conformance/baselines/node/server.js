#!/usr/bin/env node
// A baseline for hookserver's benchmarks: metacontroller hooks written in JavaScript,
// served the way metacontroller's examples serve them (examples/nodejs/server.js in
// metacontroller/metacontroller, the generic server for functions written for fission's
// Node.js environment). One Node.js process, only node's built-in `http`.
//
// A hook is a CommonJS module exporting `async function (context)`; it is called with
// {request: {body, headers, method, url}} (body: the parsed JSON request) and returns
// {status, headers?, body}, sent back as it is (a body that is not a string as JSON).
//
// Routes: POST /NAME/HOOK and POST /hooks/NAME/HOOK, HOOK being sync, finalize or customize.
//
//   200 (or the status the hook returns)  the hook's answer
//   400  the body is not JSON
//   404  unknown NAME or HOOK
//   405  any other method than POST
//   413  a body over 32 MiB
//   500  the hook threw or rejected, with its message
//
// Where this differs from metacontroller's server, it is to answer like the other
// baselines: it routes on NAME and HOOK rather than on the first path segment, parses the
// body whatever its Content-Type, answers 400 to a body that is not JSON (metacontroller's
// server throws and exits), and stops cleanly on SIGTERM.
//
// Run: node conformance/baselines/node/server.js --port 0 [--host 127.0.0.1] [--hook NAME=PATH]...
// Without --hook it serves examples/scripts/js/hello-world-js.js as `hello-world`. It prints
// one line, "node webhook listening on http://HOST:PORT", and serves until SIGTERM or SIGINT.

'use strict';

const http = require('http');
const path = require('path');

const HOOK_KINDS = new Set(['sync', 'finalize', 'customize']);
// hookserver's default `max-request`.
const MAX_BODY = 32 * 1024 * 1024;
const DEFAULT_HOOKS = [
  ['hello-world', path.join(__dirname, '..', '..', '..', 'examples', 'scripts', 'js', 'hello-world-js.js')],
];
const USAGE =
  'usage: node server.js [--port PORT] [--host HOST] [--hook NAME=PATH]...\n' +
  '  --port PORT       port to listen on; 0 (the default) picks a free one\n' +
  '  --host HOST       address to listen on (default 127.0.0.1)\n' +
  '  --hook NAME=PATH  serve the module at PATH as hook NAME (repeatable; replaces the\n' +
  '                    default, hello-world=examples/scripts/js/hello-world-js.js)\n';

function fail(message) {
  process.stderr.write(`server.js: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = { port: 0, host: '127.0.0.1', hooks: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (flag !== '--port' && flag !== '--host' && flag !== '--hook') {
      fail(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
    }
    const value = argv[++i];
    if (value === undefined) fail(`${flag} needs a value\n${USAGE}`);
    if (flag === '--port') {
      const port = Number(value);
      if (!/^[0-9]+$/.test(value) || port > 65535) fail(`--port ${value}: not a port number (0 to 65535)`);
      options.port = port;
    } else if (flag === '--host') {
      options.host = value;
    } else {
      const eq = value.indexOf('=');
      if (eq <= 0 || eq === value.length - 1) fail(`--hook ${value}: expected NAME=PATH, e.g. hello-world=hook.js`);
      options.hooks.push([value.slice(0, eq), value.slice(eq + 1)]);
    }
  }
  if (options.hooks.length === 0) options.hooks = DEFAULT_HOOKS;
  return options;
}

// Each hook module, by name, loaded once at start as metacontroller's server does.
function loadHooks(specs) {
  const hooks = new Map();
  for (const [name, file] of specs) {
    let hook;
    try {
      hook = require(path.resolve(file));
    } catch (err) {
      fail(`--hook ${name}=${file}: cannot load the module: ${err.message}`);
    }
    if (typeof hook !== 'function') {
      fail(`--hook ${name}=${file}: the module exports ${typeof hook}, not a function of {request}`);
    }
    hooks.set(name, hook);
  }
  return hooks;
}

// [NAME, HOOK] from /NAME/HOOK or /hooks/NAME/HOOK, or null.
function route(url) {
  const pathname = url.split('?', 1)[0];
  let parts = pathname.split('/');
  if (parts.length === 4 && parts[0] === '' && parts[1] === 'hooks') parts = ['', parts[2], parts[3]];
  if (parts.length !== 3 || parts[0] !== '' || !parts[1] || !parts[2]) return null;
  try {
    return [decodeURIComponent(parts[1]), decodeURIComponent(parts[2])];
  } catch {
    return null;
  }
}

function sendText(response, status, text, headers = {}) {
  const body = Buffer.from(text.replace(/\s*\n\s*/g, ' ').trim() + '\n');
  response.writeHead(status, {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
  });
  response.end(body);
}

// The hook's {status, headers, body}: a string body as it is, anything else as JSON.
function sendResult(response, result) {
  if (result === null || typeof result !== 'object' || !Number.isInteger(result.status)) {
    throw new Error('the hook did not return {status, body}');
  }
  const headers = { ...(result.headers || {}) };
  const hasType = Object.keys(headers).some((key) => key.toLowerCase() === 'content-type');
  let body = result.body;
  if (typeof body !== 'string') {
    body = JSON.stringify(body === undefined ? null : body);
    if (!hasType) headers['Content-Type'] = 'application/json';
  } else if (!hasType) {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
  }
  body = Buffer.from(body);
  headers['Content-Length'] = body.length;
  response.writeHead(result.status, headers);
  response.end(body);
}

function handler(hooks) {
  return (request, response) => {
    const found = route(request.url);
    if (found === null) {
      return sendText(response, 404, `no route for ${request.method} ${request.url}: hooks are served at POST /NAME/{sync,finalize,customize}`);
    }
    const [name, kind] = found;
    if (!HOOK_KINDS.has(kind)) {
      return sendText(response, 404, `unknown hook ${JSON.stringify(kind)}: the path must end in /sync, /finalize or /customize`);
    }
    const hook = hooks.get(name);
    if (hook === undefined) {
      return sendText(response, 404, `no hook named ${JSON.stringify(name)} (this server serves ${[...hooks.keys()].join(', ')})`);
    }
    if (request.method !== 'POST') {
      return sendText(response, 405, `method ${request.method} not allowed: hooks take POST`, { Allow: 'POST' });
    }

    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        request.pause();
        sendText(response, 413, `request body exceeds the limit of ${MAX_BODY / (1024 * 1024)} MiB`, { Connection: 'close' });
        response.on('finish', () => request.destroy());
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', () => request.destroy());
    request.on('end', () => {
      if (size > MAX_BODY) return;
      let body;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        return sendText(response, 400, `bad request: the request body is not valid JSON: ${err.message}`);
      }
      const context = {
        request: { body, headers: request.headers, method: request.method, url: request.url },
      };
      // A hook that throws before its first await is answered like one that rejects.
      Promise.resolve()
        .then(() => hook(context))
        .then((result) => sendResult(response, result))
        .catch((err) => {
          const message = err instanceof Error ? err.message : String(err);
          if (response.headersSent) return response.destroy();
          sendText(response, 500, `hook ${JSON.stringify(name)} ${kind} failed: ${message}`);
        });
    });
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const server = http.createServer(handler(loadHooks(options.hooks)));
  server.on('error', (err) => {
    process.stderr.write(`server.js: cannot listen on ${options.host}:${options.port}: ${err.message}\n`);
    process.exit(1);
  });
  // Before the line: whoever reads it may stop the server at once. In-flight requests
  // finish; idle keep-alive connections are closed, busy ones after a grace period.
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  server.listen(options.port, options.host, () => {
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    process.stdout.write(`node webhook listening on http://${host}:${server.address().port}\n`);
  });
}

main();

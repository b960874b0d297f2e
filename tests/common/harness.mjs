// The test harness, shared by every integration test and scenario: it starts the real `wrangler dev`
// (local workerd) on free loopback ports with the prebuilt bundle, waits until it answers, restarts it
// on the same port and state, and stops it afterwards — also when a test fails or the runner dies.
// Around that: `Client` (a real `ws` client speaking protocol v1 that records every frame), `eventually`
// (poll until true), `storedMessages` (a room's history through the HTTP API), and the small tools the
// scenarios measure with (`now`, `stats`, `figure`, `pool`). The scenarios live in tests/scenarios/,
// their lighter clients in peers.mjs.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Why this process's `ulimit -n` cannot hold `sockets` open sockets against `wrangler dev` (for
 * `t.skip`), or null when it can. Each socket takes ~2 descriptors here and ~5.5 in workerd (the dev
 * proxy's pipe and the user worker's end; measured 15,563 at 2,800 sockets), which inherits this
 * limit; near it workerd cannot open what an object needs (a socket, a room's SQLite file) and resets
 * objects mid-run. Node cannot raise its own limit: `make test` and scripts/soak.sh raise it first.
 */
export function fdShortage(sockets) {
  const limit = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim()) || Infinity;
  const needed = sockets * 6 + 1000;
  if (limit >= needed) return null;
  return `ulimit -n is ${limit}; ${sockets} sockets need about ${needed} (workerd's share). Run via \`make test\` or \`make soak\`, or raise it.`;
}
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');
const live = new Set();

// Kills each server's whole process group (wrangler's shim, wrangler, workerd): killing only the direct
// child would leave wrangler and workerd running, orphaned, when a test run is interrupted.
function killAll() {
  for (const s of live) {
    try {
      process.kill(-s.pid, 'SIGKILL');
    } catch {
      s.kill('SIGKILL');
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A monotonic clock in milliseconds, for latencies. */
export const now = () => performance.now();

/** A TCP port on 127.0.0.1 that is free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `wrangler dev` and resolves once `GET /health` answers.
 * options.vars: extra `--var KEY:VALUE` bindings (RATE_LIMIT_EXEMPT defaults to 127.0.0.1: every test
 * client comes from there, and only the test of the per-client limit wants it counted; pass
 * `RATE_LIMIT_EXEMPT: ''` to count it); options.persistDir: an existing state folder (a fresh
 * temporary one otherwise, which `stop()` removes); options.port: a fixed port. For a restart on the
 * same port and state, use `restartServer`.
 */
export async function startServer(options = {}) {
  const persistDir = options.persistDir ?? mkdtempSync(path.join(os.tmpdir(), 'edge-chat-state-'));
  const port = options.port ?? (await freePort());
  const inspector = await freePort();
  const args = [
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspector),
    '--persist-to', persistDir,
    '--log-level', options.logLevel ?? 'warn',
  ];
  const vars = { RATE_LIMIT_EXEMPT: '127.0.0.1', ...options.vars };
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      EDGE_CHAT_PREBUILT: '1',
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      NO_COLOR: '1',
      CI: '1',
    },
  });
  live.add(child);
  let log = '';
  const keep = (chunk) => {
    log += chunk;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    live.delete(child);
  });

  const base = `http://127.0.0.1:${port}`;
  const server = {
    port,
    base,
    persistDir,
    vars: options.vars,
    ownsState: !options.persistDir, // whether stop() removes persistDir (passed on by restartServer)
    get log() {
      return log;
    },
    ws: (room, query = {}) => {
      const q = new URLSearchParams(query).toString();
      return `ws://127.0.0.1:${port}/ws${room === undefined ? '' : `/${room}`}${q ? `?${q}` : ''}`;
    },
    /**
     * Stops wrangler and workerd. keepState: keep the persist folder (for a restart on it);
     * crash: SIGKILL the whole process group at once, as a machine failure would (no graceful exit).
     */
    async stop({ keepState = false, crash = false } = {}) {
      if (!exited) {
        const gone = new Promise((r) => child.once('exit', r));
        try {
          process.kill(-child.pid, crash ? 'SIGKILL' : 'SIGTERM');
        } catch {}
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {}
        }, 5000);
        await gone;
        clearTimeout(timer);
      }
      // workerd may outlive wrangler for a moment; make sure the whole group is gone.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
      if (server.ownsState && !keepState) rmSync(persistDir, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  for (;;) {
    if (exited) throw new Error(`wrangler dev exited early (${JSON.stringify(exited)}):\n${log}`);
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {}
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`wrangler dev did not answer within the start timeout:\n${log}`);
    }
    await sleep(200);
  }
  return server;
}

/**
 * Stops `server` (keeping its state) and starts a new `wrangler dev` on the same port, state folder and
 * vars, as a deploy or a crash would. crash: SIGKILL the whole process group instead of SIGTERM (a
 * no-op if the caller already stopped it). The start is retried while the old process still holds the
 * port. The new server takes over removing the state folder when it stops.
 */
export async function restartServer(server, { crash = false } = {}) {
  await server.stop({ keepState: true, crash });
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const next = await startServer({ persistDir: server.persistDir, port: server.port, vars: server.vars });
      [next.ownsState, server.ownsState] = [server.ownsState, false];
      return next;
    } catch (e) {
      lastError = e;
      await sleep(1000);
    }
  }
  throw lastError;
}

/**
 * A WebSocket client that records every frame. `next(pred)` waits for the next unread frame matching
 * `pred` (frames skipped on the way stay readable by later calls with other predicates);
 * `closedPromise()` resolves once the socket is closed, by either side.
 */
export class Client {
  constructor(url, options = {}) {
    this.url = url;
    this.frames = []; // every parsed frame, in arrival order (a batch's frames one by one)
    this.raw = []; // every text frame as received
    this.batches = []; // the size of each batch frame received
    this.consumed = new Set();
    this.waiters = [];
    this.closed = null;
    // `protocols`: the subprotocols to offer (credentials out of the URL: docs/PROTOCOL.md).
    this.ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {}, maxPayload: 1 << 20 });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      this.raw.push(text);
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { type: '_text', text };
      }
      // A batch (batch=1) is read as the frames it holds, in order; `batches` counts them.
      if (frame?.type === 'batch' && Array.isArray(frame.frames)) {
        this.batches.push(frame.frames.length);
        this.frames.push(...frame.frames);
      } else {
        this.frames.push(frame);
      }
      this.wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          const err = new Error(`HTTP ${res.statusCode}: ${body}`);
          err.status = res.statusCode;
          try {
            err.body = JSON.parse(body);
          } catch {
            err.body = body;
          }
          reject(err);
        });
      });
      this.ws.once('error', reject);
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
  }

  static async connect(url, options) {
    const c = new Client(url, options);
    await c.opened;
    if (options?.welcome !== false) c.welcome = await c.next('welcome');
    return c;
  }

  /**
   * Opens `url` expecting the server to refuse the upgrade; resolves with the refusal (an Error with
   * `status` and the parsed JSON `body`), and fails if the socket was accepted instead.
   */
  static async refused(url, options) {
    const c = new Client(url, options);
    const err = await c.opened.then(() => null, (e) => e);
    if (!err) {
      c.terminate();
      throw new Error(`${url} was accepted, but it must be refused`);
    }
    return err;
  }

  /**
   * Opens `url` expecting a refusal told on the socket, as a browser can read it: the socket is
   * accepted, one `error` frame arrives, then a close with 4000 + the HTTP status. Resolves with
   * {code, message, closeCode, reason}; fails if a welcome comes instead or the upgrade is refused.
   */
  static async refusedOnSocket(url, options) {
    const c = new Client(url, options);
    await c.opened;
    const frame = await c.next((f) => f.type === 'error' || f.type === 'welcome');
    if (frame.type === 'welcome') {
      c.terminate();
      throw new Error(`${url} was welcomed, but it must be refused`);
    }
    const closed = await c.closedPromise();
    assert.equal(c.frames.length, 1, `only the error frame before the close: ${JSON.stringify(c.frames)}`);
    return { code: frame.code, message: frame.message, closeCode: closed.code, reason: closed.reason };
  }

  /** Resolves with {code, reason} once the socket is closed. */
  closedPromise() {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  /** Next unread frame whose type is `type` (string) or that satisfies `pred` (function). */
  next(pred, timeoutMs = 10_000) {
    const test = typeof pred === 'string' ? (f) => f.type === pred : pred;
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = 0; i < this.frames.length; i++) {
          if (!this.consumed.has(i) && test(this.frames[i])) {
            this.consumed.add(i);
            done();
            resolve(this.frames[i]);
            return true;
          }
        }
        if (this.closed) {
          done();
          reject(new Error(`socket closed (${this.closed.code}) while waiting for ${pred}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout waiting for ${pred} on ${this.url}; got ${JSON.stringify(this.frames).slice(0, 2000)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
      };
      if (!check()) this.waiters.push(check);
    });
  }

  /** Frames of `type` received so far. */
  all(type) {
    return this.frames.filter((f) => f.type === type);
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  /** Sends a message and resolves with its ack (or rejects with the error frame). */
  say(text, id = randomId()) {
    return this.act({ type: 'message', text }, id);
  }

  /** Sends `frame` under a fresh `id` and resolves with its ack (or rejects with the error frame). */
  async act(frame, id = randomId()) {
    this.send({ ...frame, id });
    const reply = await this.next((f) => (f.type === 'ack' || f.type === 'error') && f.id === id);
    if (reply.type === 'error') throw Object.assign(new Error(reply.message), { frame: reply });
    return reply;
  }

  /** Closes cleanly and resolves with the close code the client saw. */
  close(code = 1000, reason = 'bye') {
    const closed = this.closedPromise();
    if (!this.closed) this.ws.close(code, reason);
    return closed;
  }

  terminate() {
    this.ws.terminate();
  }
}

let counter = 0;
export function randomId() {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A room name unique to this test run. */
export function uniqueRoom(prefix = 'room') {
  return `${prefix}-${randomId()}`.replace(/[^A-Za-z0-9_.-]/g, '');
}

/** GET a JSON endpoint: { status, body }. */
export async function getJson(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * Waits until `fn()` (sync or async) returns a truthy value and resolves with it, polling every 50 ms;
 * a throw counts as "not yet". After `timeoutMs` it fails with `what` (a string, or a function called
 * then, for a message that shows the state at the time) and the last value or error.
 */
export async function eventually(fn, timeoutMs = 10_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}; last: ${last}`);
    }
    await sleep(50);
  }
}

/** Every stored message of a room, oldest first, read through the paged HTTP API: { messages, lastSeq }. */
export async function storedMessages(server, room) {
  const all = [];
  let after = 0;
  for (;;) {
    const page = await getJson(`${server.base}/api/rooms/${room}/messages?after=${after}&limit=1000`);
    assert.equal(page.status, 200, `history page after=${after}: ${JSON.stringify(page.body)}`);
    all.push(...page.body.messages);
    if (page.body.messages.length < 1000) return { messages: all, lastSeq: page.body.last_seq };
    after = page.body.messages.at(-1).seq;
  }
}

/** Summary statistics of a list of latencies (ms): count, p50, p99, max. */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const round = (x) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? NaN) };
}

/** Prints a figure line; scripts/soak.sh greps these into its summary. */
export function figure(name, value) {
  console.log(`FIGURE ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** Runs `fn(item, index)` on `items` with at most `limit` in flight; resolves with the results in order. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

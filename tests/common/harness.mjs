// The test harness, shared by every integration test and scenario: it starts the real `wrangler dev`
// (local workerd) on free loopback ports with the prebuilt bundle, waits until it answers, restarts it
// on the same port and state, and stops it afterwards — also when a test fails or the runner dies.
// Around that: `eventually` (poll until true), `storedMessages` (a room's history through the HTTP API),
// and the small tools the scenarios measure with (`stats`, `figure`, `pool`). It re-exports the test
// peer, `Client` (client.mjs, with its trackers in trackers/), and the leaves clock.mjs and ids.mjs, so
// a test imports everything common from here. The scenarios live in tests/scenarios/.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './clock.mjs';

// Re-exported: tests import the client, the ids and the clock from here, as they always have.
export { Client } from './client.mjs';
export { now, sleep } from './clock.mjs';
export { randomId, uniqueRoom } from './ids.mjs';

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
 * temporary one otherwise, which `stop()` removes); options.port: a fixed port; options.cwd: the folder
 * whose wrangler.toml is served (the repository's own by default; bench/baseline for the JS relay).
 * For a restart on the same port and state, use `restartServer`.
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
    cwd: options.cwd ?? ROOT,
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
    inspectorPort: inspector, // wrangler's inspector proxy onto the user worker (scripts/bench-*.mjs read its heap)
    base,
    persistDir,
    vars: options.vars,
    cwd: options.cwd,
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
      const next = await startServer({ persistDir: server.persistDir, port: server.port, vars: server.vars, cwd: server.cwd });
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
 * A JSON endpoint's answer: { status, body, headers }. A plain read (GET, no signal of the caller's)
 * is asked again when no answer comes within 30 s: a read changes nothing, so asking twice is safe,
 * and once, in a CI-like run with 2,400 sockets through `wrangler dev`'s local proxy, one read got no
 * answer at all until undici gave up after 300 s, while every read before and after it was answered.
 */
export async function getJson(url, init) {
  const read = (init?.method ?? 'GET') === 'GET' && !init?.signal;
  if (!read) return answerOf(await fetch(url, init));
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await answerOf(await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) }));
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

async function answerOf(res) {
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

// Issue 7: the reliability scenarios (restart, hibernation, crowd, flood, slow reader), written once and
// sized by their callers: tests/reliability.test.mjs runs short versions in `make test`,
// tests/soak/*.soak.mjs the long ones in `make soak`. Each scenario returns its figures (sockets held,
// messages checked, losses, latencies) so the callers can assert on them and print them.
//
// Two client kinds live here, both real `ws` clients:
//   - `Peer`: a resilient chat client as the protocol asks one to be: it resends every unacked message
//     with the same `id` after reconnecting, and resumes with `after=<highest seq seen>`. It checks,
//     frame by frame, that it sees every message once and in `seq` order.
//   - `LeanPeer`: a light socket for crowds (1000 of them): keeps a roster and the seqs it received,
//     not every frame.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { getJson, randomId, sleep, startServer } from './harness.mjs';

export const now = () => performance.now();

/** Summary statistics of a list of latencies (ms). */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
  const round = (x) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? NaN) };
}

/** Prints a figure line that the soak script greps into its summary. */
export function figure(name, value) {
  console.log(`FIGURE ${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

/** Every stored message of a room, through the paged HTTP API. */
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

/** Waits until `fn()` is true, polling every 50 ms; throws `what()` after `timeoutMs`. */
export async function until(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${typeof what === 'function' ? what() : what}`);
    await sleep(50);
  }
}

/** Runs `fn` on `items` with at most `limit` in flight. */
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

// ------------------------------------------------------------------------------------- Peer (resilient)

/**
 * A chat client that survives server restarts the way docs/PROTOCOL.md tells clients to: it reconnects
 * with `after=<highest seq seen>`, and resends every unacked message with its original `id`.
 * `violations` collects every broken guarantee it observes (duplicate, out of order, changed ack).
 */
export class Peer {
  constructor(url, name) {
    this.url = url; // a function: (query) => ws url; the port stays the same across restarts
    this.name = name;
    this.delivered = []; // { seq, id, from, text } from welcome.history and message frames, in arrival order
    this.acks = new Map(); // id -> seq
    this.pending = new Map(); // id -> text, unacked, in send order
    this.sentAt = new Map(); // id -> time of the first send
    this.maxSeen = 0; // highest seq seen: delivered or acked
    this.violations = [];
    this.connections = 0;
    this.rateLimited = 0;
    this.firstConnection = new Map(); // id -> the connection (1, 2, …) it was first transmitted on
    this.storedBeforeCrash = 0; // acked only after a reconnect, yet already stored before it: deduplicated
    this.welcomeLastSeq = 0;
    this.stopped = false;
    this.ws = null;
    this.ready = false;
  }

  get seenSeqs() {
    const s = new Set(this.delivered.map((m) => m.seq));
    for (const seq of this.acks.values()) s.add(seq);
    return s;
  }

  /** Connects (retrying until `timeoutMs`), then keeps reconnecting whenever the socket drops. */
  async start(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.connectOnce())) {
      if (Date.now() > deadline) throw new Error(`${this.name}: could not connect within ${timeoutMs} ms`);
      await sleep(200);
    }
  }

  connectOnce() {
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url({ name: this.name, after: String(this.maxSeen) }), { maxPayload: 8 << 20 });
      let welcomed = false;
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type === 'welcome') {
          welcomed = true;
          if (f.truncated) this.violations.push(`${this.name}: resume truncated at after=${this.maxSeen}`);
          for (const m of f.history) this.deliver(m);
          this.ws = ws;
          this.ready = true;
          this.connections += 1;
          this.welcomeLastSeq = f.last_seq;
          // Resend everything unacked, with the same ids: the room acks duplicates with their original seq.
          for (const [id, text] of this.pending) this.transmit(id, text);
          resolve(true);
        } else if (f.type === 'message') {
          this.deliver(f);
        } else if (f.type === 'ack') {
          this.acked(f);
        } else if (f.type === 'error') {
          if (f.code === 'rate_limited' && this.pending.has(f.id)) {
            this.rateLimited += 1;
            setTimeout(() => this.pending.has(f.id) && this.transmit(f.id, this.pending.get(f.id)), 250).unref();
          } else {
            this.violations.push(`${this.name}: unexpected error ${JSON.stringify(f)}`);
          }
        }
      });
      ws.on('close', () => {
        if (this.ws === ws) {
          this.ws = null;
          this.ready = false;
        }
        if (!welcomed) resolve(false);
        else if (!this.stopped) this.reconnect();
      });
    });
  }

  async reconnect() {
    while (!this.stopped && !(await this.connectOnce())) await sleep(150 + Math.random() * 150);
  }

  deliver(m) {
    if (m.seq <= this.maxSeen) {
      const twice = this.delivered.some((d) => d.seq === m.seq);
      this.violations.push(`${this.name}: seq ${m.seq} ${twice ? 'delivered twice' : 'arrived out of order'} (after ${this.maxSeen})`);
    }
    this.delivered.push({ seq: m.seq, id: m.id, from: m.from.name, text: m.text });
    this.maxSeen = Math.max(this.maxSeen, m.seq);
  }

  acked(f) {
    const before = this.acks.get(f.id);
    if (before !== undefined && before !== f.seq) this.violations.push(`${this.name}: id ${f.id} acked as ${before}, then as ${f.seq}`);
    if (before === undefined && this.firstConnection.get(f.id) < this.connections && f.seq <= this.welcomeLastSeq) {
      this.storedBeforeCrash += 1;
    }
    this.acks.set(f.id, f.seq);
    this.pending.delete(f.id);
    // Every message with a lower seq was sent on this socket before this ack (the room handles events
    // one at a time and a socket delivers in order), so the ack's seq counts as seen.
    this.maxSeen = Math.max(this.maxSeen, f.seq);
  }

  transmit(id, text) {
    if (this.ready && this.ws?.readyState === WebSocket.OPEN) {
      if (!this.firstConnection.has(id)) this.firstConnection.set(id, this.connections);
      this.ws.send(JSON.stringify({ type: 'message', text, id }));
    }
  }

  /** Queues a message: sent now if connected, else on the next reconnect. */
  send(text, id = `${this.name}-${randomId()}`) {
    this.pending.set(id, text);
    if (!this.sentAt.has(id)) this.sentAt.set(id, now());
    this.transmit(id, text);
    return id;
  }

  async stop() {
    this.stopped = true;
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      await new Promise((resolve) => {
        ws.once('close', resolve);
        ws.close(1000, 'done');
        setTimeout(resolve, 5000).unref();
      });
    } else ws?.terminate();
  }
}

/**
 * Restarts the server on the same port and state folder, the way a crash would: SIGKILL (unless
 * `crash` is false), then a new `wrangler dev` (retried while the port is still held).
 */
export async function restartServer(server, { crash = true, vars } = {}) {
  await server.stop({ keepState: true, crash });
  let lastError;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startServer({ persistDir: server.persistDir, port: server.port, vars });
    } catch (e) {
      lastError = e;
      await sleep(1000);
    }
  }
  throw lastError;
}

/**
 * Restart scenario. `senders` peers send a message every `intervalMs` (under the rate limit) and
 * `readers` only listen, while the server is killed (SIGKILL) and restarted `restarts` times, each
 * kill at a random moment within a sending phase of `phaseMs`. Then every peer resumes, and:
 *   - every client has seen every acked message exactly once, in seq order;
 *   - every acked message is stored with the seq it was acked with (no ack then loss);
 *   - storage holds each (sender, id) once, with gapless seqs.
 * Returns the figures; `server` is the live server at the end (the caller stops it).
 */
export async function restartScenario({ server: first, room, senders = 4, readers = 2, restarts = 1, phaseMs = 4000, intervalMs = 150, volley = 8, log = () => {} }) {
  let server = first;
  const url = (q) => server.ws(room, q);
  const peers = [
    ...Array.from({ length: senders }, (_, i) => new Peer(url, `sender${i}`)),
    ...Array.from({ length: readers }, (_, i) => new Peer(url, `reader${i}`)),
  ];
  await Promise.all(peers.map((p) => p.start()));
  const sending = peers.slice(0, senders);
  let generating = true;
  const loops = sending.map(async (p) => {
    let k = 0;
    while (generating) {
      p.send(`${p.name} #${k} ${'·'.repeat(k % 7)}`, `${p.name}-m${k}`);
      k += 1;
      await sleep(intervalMs * (0.5 + Math.random()));
    }
  });
  const downtimes = [];
  const inFlights = [];
  for (let r = 0; r < restarts; r++) {
    await sleep(phaseMs * (0.5 + Math.random() * 0.5));
    // A volley right before the kill, so that it lands while messages are in flight: some unread by the
    // room, some stored but not yet acked.
    for (const p of sending) for (let v = 0; v < volley; v++) p.send(`${p.name} volley ${r}.${v}`, `${p.name}-v${r}.${v}`);
    await sleep(Math.random() * 5);
    const inFlight = sending.reduce((n, p) => n + p.pending.size, 0);
    const t0 = now();
    server = await restartServer(server, { crash: true });
    downtimes.push(Math.round(now() - t0));
    log(`restart ${r + 1}: killed with ${inFlight} unacked messages in flight; back after ${downtimes.at(-1)} ms`);
    inFlights.push(inFlight);
  }
  await sleep(phaseMs / 2);
  generating = false;
  await Promise.all(loops);

  // Every queued message gets acked eventually (retries after reconnects and rate limits).
  await until(() => sending.every((p) => p.pending.size === 0), 60_000, () => `unacked: ${sending.map((p) => `${p.name}=${p.pending.size}`).join(' ')}`);
  const acked = new Map(); // `${name}/${id}` -> seq
  for (const p of sending) for (const [id, seq] of p.acks) acked.set(`${p.name}/${id}`, seq);
  const lastSeq = Math.max(0, ...acked.values());
  // Every peer catches up to the last acked seq (live frames, or history after a reconnect).
  await until(() => peers.every((p) => p.maxSeen >= lastSeq), 30_000, () => `behind: ${peers.filter((p) => p.maxSeen < lastSeq).map((p) => `${p.name}@${p.maxSeen}`).join(' ')}`);

  const stored = await storedMessages(server, room);
  const violations = peers.flatMap((p) => p.violations);
  let losses = 0;
  const bySeq = new Map(stored.messages.map((m) => [m.seq, m]));
  for (const [key, seq] of acked) {
    const m = bySeq.get(seq);
    const [name, id] = key.split('/');
    if (!m || m.from.name !== name || m.id !== id) {
      losses += 1;
      violations.push(`acked ${key} as seq ${seq}, but storage holds ${JSON.stringify(m)}`);
    }
  }
  const keys = stored.messages.map((m) => `${m.from.name}/${m.id}`);
  const doubles = keys.length - new Set(keys).size;
  if (doubles) violations.push(`${doubles} messages stored twice`);
  const seqs = stored.messages.map((m) => m.seq);
  if (!seqs.every((s, i) => s === i + 1)) violations.push(`stored seqs are not 1..N: ${seqs.slice(0, 20)}…`);
  if (stored.lastSeq !== stored.messages.length) violations.push(`last_seq ${stored.lastSeq} != stored ${stored.messages.length}`);
  if (stored.messages.length !== acked.size) violations.push(`stored ${stored.messages.length} messages, acked ${acked.size}`);

  // Each peer: seen (delivered ∪ own acks) is exactly 1..lastSeq; delivered is strictly increasing.
  let checked = 0;
  for (const p of peers) {
    const seen = p.seenSeqs;
    for (let s = 1; s <= lastSeq; s++) if (!seen.has(s)) violations.push(`${p.name} never saw seq ${s}`);
    const ds = p.delivered.map((d) => d.seq);
    for (let i = 1; i < ds.length; i++) if (ds[i] <= ds[i - 1]) violations.push(`${p.name}: delivered ${ds[i]} after ${ds[i - 1]}`);
    for (const d of p.delivered) {
      const m = bySeq.get(d.seq);
      if (!m || m.text !== d.text || m.from.name !== d.from) violations.push(`${p.name}: seq ${d.seq} differs from storage`);
    }
    checked += lastSeq;
  }
  await Promise.all(peers.map((p) => p.stop()));
  return {
    server,
    figures: {
      restarts,
      downtimes,
      unackedAtKill: inFlights,
      messagesAcked: acked.size,
      deliveriesChecked: checked,
      losses,
      duplicates: doubles,
      reconnects: peers.reduce((n, p) => n + p.connections - 1, 0),
      rateLimitedRetries: sending.reduce((n, p) => n + p.rateLimited, 0),
      // sent before a crash, stored, but the ack lost with the connection: the retry was deduplicated
      storedButUnackedAtCrash: sending.reduce((n, p) => n + p.storedBeforeCrash, 0),
    },
    violations,
  };
}

/** Removes the state folder of a restarted server (the first server owned it, the later ones do not). */
export function dropState(server) {
  rmSync(server.persistDir, { recursive: true, force: true });
}

// ------------------------------------------------------------------------------------------- LeanPeer

/** A light client for crowds: a roster, the message seqs it got, its close code. */
export class LeanPeer {
  static async connect(url) {
    const p = new LeanPeer();
    await p.open(url);
    return p;
  }

  open(url) {
    this.roster = new Map();
    this.seqs = [];
    this.arrivals = new Map(); // message id -> time received (its message frame, or its ack for the sender)
    this.acked = new Set(); // ids of this socket's messages that were acked
    this.refused = new Set(); // ids of this socket's messages refused with rate_limited
    this.errors = [];
    this.closed = null;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 8 << 20 });
      this.ws = ws;
      ws.on('error', (e) => reject(e));
      ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        switch (f.type) {
          case 'welcome':
            this.me = f.you;
            for (const u of f.members) this.roster.set(u.id, u.name);
            resolve();
            break;
          case 'join':
            if (this.roster.has(f.user.id)) this.errors.push(`join for ${f.user.id} already present`);
            this.roster.set(f.user.id, f.user.name);
            break;
          case 'leave':
            if (!this.roster.delete(f.user.id)) this.errors.push(`leave for ${f.user.id} not present`);
            break;
          case 'message':
            if (this.seqs.length && f.seq <= this.seqs.at(-1)) this.errors.push(`seq ${f.seq} after ${this.seqs.at(-1)}`);
            this.seqs.push(f.seq);
            this.arrivals.set(f.id, now());
            break;
          case 'ack':
            this.arrivals.set(f.id, now());
            this.acked.add(f.id);
            break;
          case 'error':
            if (f.code === 'rate_limited') this.refused.add(f.id);
            else this.errors.push(`error ${f.code}`);
            break;
          default:
            break;
        }
      });
      ws.on('close', (code) => {
        this.closed = code;
        reject(new Error(`closed ${code} before welcome`));
      });
    });
  }

  say(text, id) {
    this.ws.send(JSON.stringify({ type: 'message', text, id }));
  }

  close(code = 1000) {
    if (this.closed !== null) return Promise.resolve(this.closed);
    return new Promise((resolve) => {
      this.ws.once('close', (c) => resolve(c));
      this.ws.close(code, 'bye');
    });
  }
}

/**
 * Crowd scenario: `size` sockets in one room, connected in bursts of `burst`; every one receives every
 * message of `speakers` senders; then `rounds` of churn (a quarter leaves — half cleanly, half by
 * dropping the TCP connection — while new sockets join, all at once) and the roster stays exact on every
 * socket and on the server. Returns figures.
 */
export async function crowdScenario({ server, room, size, burst = 100, speakers = 10, rounds = 2, log = () => {} }) {
  const url = (name) => server.ws(room, { name });
  const t0 = now();
  let live = [];
  let serial = 0;
  const join = async (n) => {
    const fresh = await pool(Array.from({ length: n }, () => `u${serial++}`), burst, (name) => LeanPeer.connect(url(name)));
    live.push(...fresh);
    return fresh;
  };
  for (let done = 0; done < size; done += burst) await join(Math.min(burst, size - done));
  const connectMs = Math.round(now() - t0);
  log(`${size} sockets connected in ${connectMs} ms`);

  const checkRosters = async (what) => {
    const ids = new Set(live.map((p) => p.me.id));
    await until(
      () => live.every((p) => p.roster.size === ids.size),
      60_000,
      () => `${what}: rosters of sizes ${[...new Set(live.map((p) => p.roster.size))].join(',')} != ${ids.size}`,
    );
    for (const p of live) {
      for (const id of ids) assert.ok(p.roster.has(id), `${what}: ${p.me.name} misses ${id}`);
      assert.equal(p.roster.size, ids.size, `${what}: ${p.me.name}'s roster`);
    }
    const info = await getJson(`${server.base}/api/rooms/${room}`);
    assert.equal(info.body.online, ids.size, `${what}: server online count`);
    assert.deepEqual(new Set(info.body.members.map((u) => u.id)), ids, `${what}: server roster`);
    const names = new Map(live.map((p) => [p.me.id, p.me.name]));
    for (const u of info.body.members) assert.equal(u.name, names.get(u.id), `${what}: name of ${u.id}`);
  };
  await checkRosters('after connecting');

  let delivered = 0;
  const fanout = [];
  const broadcast = async (what) => {
    const talkers = live.slice(0, speakers);
    const sent = talkers.map((p, i) => {
      const id = `${what}-${i}`;
      const at = now();
      p.say(`hello from ${p.me.name} (${what})`, id);
      return { id, at, from: p };
    });
    for (const { id, at, from } of sent) {
      await until(() => live.every((p) => p.arrivals.has(id)), 60_000, () => `${what}: ${id} reached ${live.filter((p) => p.arrivals.has(id)).length}/${live.length}`);
      fanout.push(Math.max(...live.filter((p) => p !== from).map((p) => p.arrivals.get(id) - at)));
      delivered += live.length - 1;
    }
  };
  await broadcast('first');

  for (let r = 0; r < rounds; r++) {
    const leaving = live.filter((_, i) => i % 4 === r % 4);
    live = live.filter((p) => !leaving.includes(p));
    const tr = now();
    const closes = leaving.map((p, i) => {
      if (i % 2) {
        p.ws.terminate();
        return null;
      }
      return p.close(1000);
    });
    const [codes] = await Promise.all([Promise.all(closes), join(Math.floor(leaving.length * 0.8))]);
    for (const c of codes) if (c !== null) assert.equal(c, 1000, 'a clean close completes with 1000 (never 1006)');
    await checkRosters(`churn round ${r + 1}`);
    log(`churn ${r + 1}: ${leaving.length} left (half abruptly) while ${Math.floor(leaving.length * 0.8)} joined; rosters exact after ${Math.round(now() - tr)} ms`);
  }
  await broadcast('after-churn');

  const errors = live.flatMap((p) => p.errors);
  assert.deepEqual(errors.slice(0, 10), [], 'no duplicate join/leave, no out-of-order seq, no error frame');
  const held = live.length;
  const codes = await pool(live, 200, (p) => p.close(1000));
  assert.ok(codes.every((c) => c === 1000), `every clean close completed: ${[...new Set(codes)]}`);
  return { figures: { socketsHeld: size, socketsAtEnd: held, joined: serial, connectMs, deliveriesChecked: delivered, fanout: stats(fanout) } };
}

// --------------------------------------------------------------------------------------------- Flood

/**
 * Flood scenario: `talkers` well-behaved clients each send a message every `periodMs`, first alone
 * (baseline), then while one client sends as fast as its socket drains for `floodMs`. The flooder must
 * be rate limited; every well-behaved message must arrive at every other talker, and the latency from
 * send to arrival is measured in both phases. Returns figures; the caller asserts the bound.
 */
export async function floodScenario({ server, room, talkers = 3, periodMs = 200, baselineMs = 2000, floodMs = 5000, junk = true }) {
  const peers = [];
  for (let i = 0; i < talkers; i++) peers.push(await LeanPeer.connect(server.ws(room, { name: `calm${i}` })));
  const flooder = await LeanPeer.connect(server.ws(room, { name: 'flood' }));
  let flooderClosed = null; // the close code, if the room closed the flooder
  flooder.ws.once('close', (code) => (flooderClosed = { code, afterMs: Math.round(now() - floodStart) }));
  let floodStart = now();
  const limited = { n: 0 };
  let floodAcks = 0;
  flooder.ws.on('message', (d) => {
    const f = JSON.parse(d.toString());
    if (f.type === 'error' && f.code === 'rate_limited') limited.n += 1;
    if (f.type === 'ack') floodAcks += 1;
    if (f.type === 'ack' || f.type === 'error') floodAnswered += 1;
  });
  let floodAnswered = 0;

  const sentAt = new Map();
  let k = 0;
  const talk = async (ms, label) => {
    const ids = [];
    const end = now() + ms;
    while (now() < end) {
      for (const p of peers) {
        const id = `${label}-${p.me.name}-${k++}`;
        sentAt.set(id, { at: now(), from: p });
        ids.push(id);
        p.say(`calm ${id}`, id);
      }
      await sleep(periodMs);
    }
    return ids;
  };
  const latencies = async (ids) => {
    await until(
      () => ids.every((id) => peers.every((p) => p.arrivals.has(id))),
      60_000,
      () => `undelivered: ${ids.filter((id) => !peers.every((p) => p.arrivals.has(id))).length}/${ids.length}`,
    );
    const ls = [];
    for (const id of ids) {
      const { at, from } = sentAt.get(id);
      for (const p of peers) if (p !== from) ls.push(p.arrivals.get(id) - at);
    }
    return ls;
  };

  const baseIds = await talk(baselineMs, 'base');
  const baseline = stats(await latencies(baseIds));

  let flooding = true;
  let floodSent = 0;
  const flood = (async () => {
    const started = now();
    floodStart = started;
    while (flooding && flooderClosed === null) {
      // As fast as the socket drains: top the send buffer up to 1 MiB, then yield.
      while (flooder.ws.readyState === WebSocket.OPEN && flooder.ws.bufferedAmount < 1 << 20) {
        const frame = junk && floodSent % 4 === 3 ? '{"type":"message","text":' : JSON.stringify({ type: 'message', text: `spam ${floodSent}`, id: `f${floodSent}` });
        flooder.ws.send(frame);
        floodSent += 1;
      }
      await new Promise((r) => setImmediate(r));
    }
    return now() - started;
  })();
  const floodIds = await talk(floodMs, 'flood');
  flooding = false;
  const floodElapsed = await flood;
  const during = stats(await latencies(floodIds));
  // The room answers every flood frame it reads (ack or error): the backlog is drained when all are.
  const stopped = now();
  await until(() => flooderClosed !== null || floodAnswered >= floodSent, 120_000, () => `flood backlog: ${floodSent - floodAnswered} frames unanswered`);
  const drainMs = Math.round(now() - stopped);
  const afterIds = await talk(baselineMs, 'after');
  const after = stats(await latencies(afterIds));
  // Once it stops, the flooder can speak again: on the same socket if it was kept, else on a new one.
  await sleep(2500);
  const again = flooderClosed === null ? flooder : await LeanPeer.connect(server.ws(room, { name: 'flood' }));
  again.say('sorry', 'flood-done');
  await until(() => again.arrivals.has('flood-done'), 30_000, 'the flooder can speak again after the flood');
  const errors = peers.flatMap((p) => p.errors);
  await Promise.all([...peers, again].map((p) => p.close()));
  return {
    figures: {
      floodFramesSent: floodSent,
      floodFramesPerSec: Math.round((floodSent / floodElapsed) * 1000),
      floodAccepted: floodAcks,
      rateLimited: limited.n,
      flooderClosed,
      backlogDrainMs: drainMs,
      calmMessages: baseIds.length + floodIds.length + afterIds.length,
      baseline,
      during,
      after,
    },
    floodSeconds: floodElapsed / 1000,
    errors,
  };
}

// --------------------------------------------------------------------------------------- Slow reader

/**
 * Slow-reader scenario: one socket stops reading (its TCP socket is paused) while `senders` clients
 * push `textChars`-character messages just under the rate limit (`ratePerSec`) for `ms`; a `watcher` measures latency. The
 * others must keep receiving everything promptly. Then the slow reader resumes: it either gets every
 * message in order or is closed, in which case a resume with `after=` returns what it missed.
 */
export async function slowReaderScenario({ server, room, senders = 10, ms = 5000, textChars = 4000, ratePerSec = 9 }) {
  const slow = await LeanPeer.connect(server.ws(room, { name: 'slow' }));
  const watcher = await LeanPeer.connect(server.ws(room, { name: 'watch' }));
  const talkers = [];
  for (let i = 0; i < senders; i++) talkers.push(await LeanPeer.connect(server.ws(room, { name: `push${i}` })));
  const sentAt = new Map();
  let k = 0;
  const filler = 'x'.repeat(textChars - 20);
  // Pushes for `ms`, then waits until every message is answered (acked, or refused when the room's
  // clock saw frames bunched up) and every acked one has reached the watcher; returns the latencies.
  const push = async (label) => {
    const ids = [];
    const end = now() + ms;
    while (now() < end) {
      for (const t of talkers) {
        const id = `${label}${k++}`;
        sentAt.set(id, now());
        ids.push(id);
        t.say(`${id} ${filler}`, id);
      }
      await sleep(1000 / ratePerSec);
    }
    const answered = (id) => talkers.some((t) => t.acked.has(id) || t.refused.has(id));
    await until(() => ids.every(answered), 60_000, () => `unanswered: ${ids.filter((id) => !answered(id)).length}`);
    const acked = ids.filter((id) => talkers.some((t) => t.acked.has(id)));
    await until(() => acked.every((id) => watcher.arrivals.has(id)), 60_000, () => `watcher got ${acked.filter((id) => watcher.arrivals.has(id)).length}/${acked.length}`);
    return { sent: ids.length, acked: acked.length, latency: stats(acked.map((id) => watcher.arrivals.get(id) - sentAt.get(id))) };
  };
  // The same load twice: first with everyone reading (the control), then with one socket not reading.
  const control = await push('c');
  await until(() => slow.seqs.length >= watcher.seqs.length, 60_000, 'the slow reader keeps up while it reads');
  const before = slow.seqs.length;
  slow.ws._socket.pause(); // stop reading: the kernel buffers fill, then the server's
  const paused = await push('p');
  const bytes = paused.acked * textChars;
  const slowGotWhilePaused = slow.seqs.length - before;

  slow.ws._socket.resume();
  let outcome;
  try {
    await until(() => slow.closed !== null || slow.seqs.length >= watcher.seqs.length, 60_000, () => `slow reader has ${slow.seqs.length}/${watcher.seqs.length}`);
    outcome = slow.closed !== null ? `closed ${slow.closed}` : 'caught up';
  } catch (e) {
    outcome = `stuck: ${e.message}`;
  }
  let resumed = null;
  if (slow.closed !== null) {
    const again = await LeanPeer.connect(server.ws(room, { name: 'slow', after: String(slow.seqs.at(-1) ?? 0) }));
    resumed = again;
  } else {
    assert.deepEqual(slow.seqs, watcher.seqs, 'the slow reader got every message, in order');
  }
  const errors = [...talkers, watcher].flatMap((p) => p.errors);
  await Promise.all([...talkers, watcher, ...(slow.closed === null ? [slow] : []), ...(resumed ? [resumed] : [])].map((p) => p.close()));
  return {
    figures: { senders, seconds: ms / 1000, bytesQueuedForSlowReader: bytes, control, paused, slowGotWhilePaused, outcome },
    errors,
  };
}

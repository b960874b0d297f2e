// The restart scenario: acked messages survive crash restarts (SIGKILL of wrangler and workerd) under
// traffic, and every client sees every acked message exactly once, in seq order, across reconnects.
// Sized by its callers: tests/reliability.test.mjs runs a short version in `make test`, tests/soak/ a
// long one in `make soak`. It returns its figures, and any broken guarantee it saw, for the caller to
// assert on and print.

import { Client } from '../common/client.mjs';
import { eventually, now, restartServer, sleep, storedMessages } from '../common/harness.mjs';
import { Resume } from '../common/trackers/resume.mjs';

/**
 * A chat client that survives server restarts the way docs/PROTOCOL.md tells clients to: it owes every
 * message of the room (`after=0` first), reconnects with `after=`/`since=` and resends every unacked
 * message with its original `id`, keeping what it got to compare with storage. Resolves once welcomed.
 */
function resilientPeer(server, room, name) {
  return Client.connect(server.ws(room, { name }), {
    lean: true,
    reconnect: true,
    closeTimeoutMs: 5000,
    track: { resume: new Resume({ from: 'start', bodies: true }) },
  });
}

/**
 * Restart scenario. `senders` peers send a message every `intervalMs` (under the rate limit) and
 * `readers` only listen, while the server is killed (SIGKILL) and restarted `restarts` times, each
 * kill at a random moment within a sending phase of `phaseMs`. Then every peer resumes, and:
 *   - every client has seen every acked message exactly once, in seq order;
 *   - every acked message is stored with the seq it was acked with (no ack then loss);
 *   - storage holds each (sender, id) once, with gapless seqs.
 * Returns the figures; `server` is the live server at the end: the caller stops it, which also removes
 * the state folder.
 */
export async function restartScenario({ server: first, room, senders = 4, readers = 2, restarts = 1, phaseMs = 4000, intervalMs = 150, volley = 8, log = () => {} }) {
  let server = first;
  // The port stays the same across restarts, so one URL serves every reconnect.
  const peers = await Promise.all([
    ...Array.from({ length: senders }, (_, i) => resilientPeer(server, room, `sender${i}`)),
    ...Array.from({ length: readers }, (_, i) => resilientPeer(server, room, `reader${i}`)),
  ]);
  const sending = peers.slice(0, senders);
  let generating = true;
  const loops = sending.map(async (p) => {
    let k = 0;
    while (generating) {
      p.resume.send(`${p.name} #${k} ${'·'.repeat(k % 7)}`, `${p.name}-m${k}`);
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
    for (const p of sending) for (let v = 0; v < volley; v++) p.resume.send(`${p.name} volley ${r}.${v}`, `${p.name}-v${r}.${v}`);
    await sleep(Math.random() * 5);
    const inFlight = sending.reduce((n, p) => n + p.resume.pending.size, 0);
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
  await eventually(() => sending.every((p) => p.resume.pending.size === 0), 60_000, () => `unacked: ${sending.map((p) => `${p.name}=${p.resume.pending.size}`).join(' ')}`);
  const acked = new Map(); // `${name}/${id}` -> seq
  for (const p of sending) for (const [id, seq] of p.resume.acks) acked.set(`${p.name}/${id}`, seq);
  const lastSeq = Math.max(0, ...acked.values());
  // Every peer catches up to the last acked seq (live frames, or history after a reconnect).
  await eventually(() => peers.every((p) => p.resume.maxSeen >= lastSeq), 30_000, () => `behind: ${peers.filter((p) => p.resume.maxSeen < lastSeq).map((p) => `${p.name}@${p.resume.maxSeen}`).join(' ')}`);

  const stored = await storedMessages(server, room);
  const violations = peers.flatMap((p) => p.errors);
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
    const seen = p.resume.seen();
    for (let s = 1; s <= lastSeq; s++) if (!seen.has(s)) violations.push(`${p.name} never saw seq ${s}`);
    const ds = p.resume.delivered;
    for (let i = 1; i < ds.length; i++) if (ds[i] <= ds[i - 1]) violations.push(`${p.name}: delivered ${ds[i]} after ${ds[i - 1]}`);
    for (const d of p.resume.messages) {
      const m = bySeq.get(d.seq);
      if (!m || m.text !== d.text || m.from.name !== d.from) violations.push(`${p.name}: seq ${d.seq} differs from storage`);
    }
    checked += lastSeq;
  }
  await Promise.all(peers.map((p) => p.close(1000, 'done')));
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
      rateLimitedRetries: sending.reduce((n, p) => n + p.resume.rateLimited, 0),
      // sent before a crash, stored, but the ack lost with the connection: the retry was deduplicated
      storedButUnackedAtCrash: sending.reduce((n, p) => n + p.resume.storedBeforeCrash, 0),
    },
    violations,
  };
}

// The slow-reader scenario: a socket that stops reading does not stall the room for the others, and
// once it reads again it gets everything in order (or is closed and can resume with after=).
// Sized by its callers: tests/reliability.test.mjs runs a short version in `make test`, tests/soak/ a
// long one in `make soak`. It returns its figures, and any broken guarantee it saw, for the caller to
// assert on and print.

import assert from 'node:assert/strict';
import { Client } from '../common/client.mjs';
import { eventually, now, sleep, stats } from '../common/harness.mjs';
import { Messages } from '../common/trackers/messages.mjs';

/** A lean socket that follows the messages it gets. */
const reader = (url) => Client.connect(url, { lean: true, track: { messages: new Messages() } });

/**
 * Slow-reader scenario: one socket stops reading (`Client.stopReading`) while `senders` clients push
 * `textChars`-character messages just under the rate limit (`ratePerSec`) for `ms`; a `watcher`
 * measures latency. The others must keep receiving everything promptly. Then the slow reader resumes:
 * it either gets every message in order or is closed, in which case a resume with `after=` returns
 * what it missed.
 */
export async function slowReaderScenario({ server, room, senders = 10, ms = 5000, textChars = 4000, ratePerSec = 9 }) {
  const slow = await reader(server.ws(room, { name: 'slow' }));
  const watcher = await reader(server.ws(room, { name: 'watch' }));
  const talkers = [];
  for (let i = 0; i < senders; i++) talkers.push(await reader(server.ws(room, { name: `push${i}` })));
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
        t.send({ type: 'message', text: `${id} ${filler}`, id });
      }
      await sleep(1000 / ratePerSec);
    }
    const answered = (id) => talkers.some((t) => t.messages.acked.has(id) || t.messages.refused.has(id));
    await eventually(() => ids.every(answered), 60_000, () => `unanswered: ${ids.filter((id) => !answered(id)).length}`);
    const acked = ids.filter((id) => talkers.some((t) => t.messages.acked.has(id)));
    await eventually(() => acked.every((id) => watcher.messages.arrivals.has(id)), 60_000, () => `watcher got ${acked.filter((id) => watcher.messages.arrivals.has(id)).length}/${acked.length}`);
    return { sent: ids.length, acked: acked.length, latency: stats(acked.map((id) => watcher.messages.arrivals.get(id) - sentAt.get(id))) };
  };
  // The same load twice: first with everyone reading (the control), then with one socket not reading.
  const control = await push('c');
  await eventually(() => slow.messages.seqs.length >= watcher.messages.seqs.length, 60_000, 'the slow reader keeps up while it reads');
  const before = slow.messages.seqs.length;
  slow.stopReading(); // stop reading: the kernel buffers fill, then the server's
  const paused = await push('p');
  const bytes = paused.acked * textChars;
  const slowGotWhilePaused = slow.messages.seqs.length - before;

  slow.startReading();
  let outcome;
  try {
    await eventually(() => slow.closed !== null || slow.messages.seqs.length >= watcher.messages.seqs.length, 60_000, () => `slow reader has ${slow.messages.seqs.length}/${watcher.messages.seqs.length}`);
    outcome = slow.closed !== null ? `closed ${slow.closed.code}` : 'caught up';
  } catch (e) {
    outcome = `stuck: ${e.message}`;
  }
  let resumed = null;
  if (slow.closed !== null) {
    const again = await reader(server.ws(room, { name: 'slow', after: String(slow.messages.seqs.at(-1) ?? 0) }));
    resumed = again;
  } else {
    assert.deepEqual(slow.messages.seqs, watcher.messages.seqs, 'the slow reader got every message, in order');
  }
  const errors = [...talkers, watcher].flatMap((p) => p.errors);
  await Promise.all([...talkers, watcher, ...(slow.closed === null ? [slow] : []), ...(resumed ? [resumed] : [])].map((p) => p.close()));
  return {
    figures: { senders, seconds: ms / 1000, bytesQueuedForSlowReader: bytes, control, paused, slowGotWhilePaused, outcome },
    errors,
  };
}

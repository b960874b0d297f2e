// The flood scenario: a client sending as fast as its socket drains is rate limited, while every
// well-behaved message still arrives, once and in order; their latency is measured before, during and
// after the flood.
// Sized by its callers: tests/reliability.test.mjs runs a short version in `make test`, tests/soak/ a
// long one in `make soak`. It returns its figures, and any broken guarantee it saw, for the caller to
// assert on and print.

import WebSocket from 'ws';
import { Client } from '../common/client.mjs';
import { eventually, now, sleep, stats } from '../common/harness.mjs';
import { Messages } from '../common/trackers/messages.mjs';

/** A lean socket that notes when each message arrived. */
const talker = (url) => Client.connect(url, { lean: true, track: { messages: new Messages() } });

/**
 * Flood scenario: `talkers` well-behaved clients each send a message every `periodMs`, first alone
 * (baseline), then while one client sends as fast as its socket drains for `floodMs`. The flooder must
 * be rate limited; every well-behaved message must arrive at every other talker, and the latency from
 * send to arrival is measured in both phases. Returns figures; the caller asserts the bound.
 */
export async function floodScenario({ server, room, talkers = 3, periodMs = 200, baselineMs = 2000, floodMs = 5000, junk = true }) {
  const peers = [];
  for (let i = 0; i < talkers; i++) peers.push(await talker(server.ws(room, { name: `calm${i}` })));
  const flooder = await talker(server.ws(room, { name: 'flood' }));
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
        const id = `${label}-${p.name}-${k++}`;
        sentAt.set(id, { at: now(), from: p });
        ids.push(id);
        p.send({ type: 'message', text: `calm ${id}`, id });
      }
      await sleep(periodMs);
    }
    return ids;
  };
  const latencies = async (ids) => {
    await eventually(
      () => ids.every((id) => peers.every((p) => p.messages.arrivals.has(id))),
      60_000,
      () => `undelivered: ${ids.filter((id) => !peers.every((p) => p.messages.arrivals.has(id))).length}/${ids.length}`,
    );
    const ls = [];
    for (const id of ids) {
      const { at, from } = sentAt.get(id);
      for (const p of peers) if (p !== from) ls.push(p.messages.arrivals.get(id) - at);
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
  await eventually(() => flooderClosed !== null || floodAnswered >= floodSent, 120_000, () => `flood backlog: ${floodSent - floodAnswered} frames unanswered`);
  const drainMs = Math.round(now() - stopped);
  const afterIds = await talk(baselineMs, 'after');
  const after = stats(await latencies(afterIds));
  // Once it stops, the flooder can speak again: on the same socket if it was kept, else on a new one.
  await sleep(2500);
  const again = flooderClosed === null ? flooder : await talker(server.ws(room, { name: 'flood' }));
  again.send({ type: 'message', text: 'sorry', id: 'flood-done' });
  await eventually(() => again.messages.arrivals.has('flood-done'), 30_000, 'the flooder can speak again after the flood');
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

// Soak: a 20 s flood does not delay well-behaved clients past the latency bound (it holds because
// src/room.rs closes a flooder with 1008), and a socket that stops reading next to 10 senders pushing
// 4000-character messages for 30 s (after a 30 s control run with everyone reading) does not stall the
// others (tests/scenarios/flood.mjs, tests/scenarios/slow-reader.mjs).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { floodScenario } from '../scenarios/flood.mjs';
import { slowReaderScenario } from '../scenarios/slow-reader.mjs';
import { CLOSE_FLOODING } from '../common/close-codes.mjs';

const BOUND_MS = 1000;

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

// One flood, judged by two tests; each needs only the flood run by the hook, not the other test.
describe('flood (20 s)', () => {
  let flood;
  before(async () => {
    flood = await floodScenario({ server, room: uniqueRoom('flood-soak'), talkers: 5, floodMs: 20_000, baselineMs: 3000 });
    figure('flood (soak)', flood.figures);
  }, { timeout: 10 * 60_000 });

  test('the flooder is rate limited; every calm message arrives, in order', () => {
    assert.deepEqual(flood.errors, []);
    assert.ok(flood.figures.rateLimited > 0);
    assert.ok(flood.figures.baseline.max < BOUND_MS, JSON.stringify(flood.figures.baseline));
    assert.ok(flood.figures.after.max < BOUND_MS, JSON.stringify(flood.figures.after));
  });

  test(`the others' latency stays under ${BOUND_MS} ms (the flooder is closed with 1008)`, () => {
    assert.equal(flood.figures.flooderClosed?.code, CLOSE_FLOODING);
    assert.ok(flood.figures.during.max < BOUND_MS, JSON.stringify(flood.figures.during));
  });
});

test('slow reader (30 s, 10 senders of 4000 characters): the others are not stalled', { timeout: 10 * 60_000 }, async () => {
  const { figures, errors } = await slowReaderScenario({ server, room: uniqueRoom('slow-soak'), senders: 10, ms: 30_000 });
  figure('slow reader (soak)', figures);
  assert.deepEqual(errors, []);
  const { control, paused } = figures;
  assert.ok(paused.latency.max < BOUND_MS, JSON.stringify(paused.latency));
  assert.ok(paused.latency.p99 <= control.latency.p99 * 2 + 100, JSON.stringify({ control, paused }));
  assert.ok(!figures.outcome.startsWith('stuck'), figures.outcome);
});

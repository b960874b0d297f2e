// Soak: acked messages survive two crash restarts (SIGKILL of wrangler and workerd; SOAK_RESTARTS to
// change) under traffic, and every client sees every acked message exactly once, in seq order
// (tests/scenarios/restart.mjs).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { restartScenario } from '../scenarios/restart.mjs';

const RESTARTS = Number(process.env.SOAK_RESTARTS ?? 2);

test(`acked messages survive ${RESTARTS} crash restarts, each seen once and in order by everyone`, async () => {
  const server = await startServer();
  const { server: last, figures, violations } = await restartScenario({
    server,
    room: uniqueRoom('restart-soak'),
    senders: 6,
    readers: 4,
    restarts: RESTARTS,
    phaseMs: 8000,
    volley: 10,
    log: (line) => console.log(line),
  });
  try {
    figure('restart (soak)', figures);
    assert.deepEqual(violations.slice(0, 20), [], 'no loss, no duplicate, no disorder');
    assert.equal(figures.losses, 0);
    assert.equal(figures.duplicates, 0);
    assert.equal(figures.restarts, RESTARTS);
    assert.ok(figures.reconnects >= 10 * RESTARTS, `every peer reconnected after every crash (${figures.reconnects})`);
  } finally {
    await last.stop();
  }
});

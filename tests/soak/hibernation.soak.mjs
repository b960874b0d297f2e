// Soak: two rooms sleep and wake SOAK_HIBERNATION_CYCLES times (default 4) with their sockets open;
// pings are answered while asleep, and roster, names, configured limits, idempotency and relaying are
// intact after every wake (tests/scenarios/hibernation.mjs).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { figure, startServer } from '../common/harness.mjs';
import { HIBERNATION_LIMITS, hibernationScenario } from '../scenarios/hibernation.mjs';

const CYCLES = Number(process.env.SOAK_HIBERNATION_CYCLES ?? 4);
const IDLE_MS = 15_000; // past the ~11 s after which workerd evicts an idle object

let server;
before(async () => {
  server = await startServer({ vars: HIBERNATION_LIMITS });
});
after(async () => {
  await server?.stop();
});

test(`${CYCLES} hibernation cycles: pings answered asleep, roster, names, limits and relaying intact after every wake`, { timeout: 20 * 60_000 }, async () => {
  const figures = await hibernationScenario({ server, cycles: CYCLES, idleMs: IDLE_MS, log: (line) => console.log(line) });
  figure('hibernation (soak)', figures);
  assert.equal(figures.wakesChecked, CYCLES * 2, 'both rooms woke intact after every cycle');
});

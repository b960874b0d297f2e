// Soak: 1000 sockets in one room (SOAK_SOCKETS to change) all receive every message, and bursts of
// joins and leaves (a quarter at a time, half of them dropping their TCP connection) keep every roster
// exact, on every socket and on the server (tests/scenarios/crowd.mjs).
// Needs ~6 file descriptors per socket in workerd (fdShortage): scripts/soak.sh raises `ulimit -n` first.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fdShortage, figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { crowdScenario } from '../scenarios/crowd.mjs';

const SOCKETS = Number(process.env.SOAK_SOCKETS ?? 1000);
const fdsShort = fdShortage(SOCKETS);

let server;
before(async () => {
  // v1's exact rosters (join/leave to everyone) for the whole crowd; counts above the threshold are
  // soaked in presence.soak.mjs.
  server = await startServer({ vars: { PRESENCE_THRESHOLD: SOCKETS + 1 } });
});
after(async () => {
  await server?.stop();
});

test(`crowd: ${SOCKETS} sockets, every message to every one, rosters exact through churn`, { timeout: 15 * 60_000 }, async (t) => {
  if (fdsShort) {
    t.skip(fdsShort);
    return;
  }
  const { figures } = await crowdScenario({
    server,
    room: uniqueRoom('crowd-soak'),
    size: SOCKETS,
    burst: 100,
    speakers: 10,
    rounds: 3,
    log: (line) => console.log(line),
  });
  figure('crowd (soak)', figures);
  assert.equal(figures.socketsHeld, SOCKETS);
  assert.ok(figures.deliveriesChecked >= SOCKETS * 10, 'every socket got every message');
});

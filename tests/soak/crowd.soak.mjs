// Soak: 1000 sockets in one room (SOAK_SOCKETS to change) all receive every message, and bursts of
// joins and leaves (a quarter at a time, half of them dropping their TCP connection) keep every roster
// exact, on every socket and on the server (tests/scenarios/crowd.mjs).
// Needs ~2 file descriptors per socket in this process: scripts/soak.sh raises `ulimit -n` first.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { crowdScenario } from '../scenarios/crowd.mjs';

const SOCKETS = Number(process.env.SOAK_SOCKETS ?? 1000);
const limit = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim()) || Infinity;
const needed = SOCKETS * 2 + 200; // the client end here, plus slack for the runner; workerd has its own

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
  if (limit < needed) {
    // Node cannot raise its own limit: run under `ulimit -n 65536` (scripts/soak.sh does).
    t.skip(`ulimit -n is ${limit}; ${SOCKETS} sockets need about ${needed}. Run via \`make soak\` or raise it.`);
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

// Soak: 3000 sockets in one room (SOAK_PRESENCE_SOCKETS to change), far above PRESENCE_THRESHOLD, half
// of them batched: counts right on every socket, joins and leaves coalesced, the roster pages
// completely, every message to every socket once, in order (tests/scenarios/presence-crowd.mjs).
// Needs ~2 file descriptors per socket in this process: scripts/soak.sh raises `ulimit -n` first.

import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { presenceCrowdScenario } from '../scenarios/presence-crowd.mjs';

const SOCKETS = Number(process.env.SOAK_PRESENCE_SOCKETS ?? 3000);
const limit = Number(execFileSync('bash', ['-c', 'ulimit -n']).toString().trim()) || Infinity;
const needed = SOCKETS * 2 + 200;

let server;
before(async () => {
  server = await startServer({ vars: { RATE_PER_SEC: 1000, RATE_BURST: 1000 } });
});
after(async () => {
  await server?.stop();
});

test(`presence: ${SOCKETS} sockets, counts and roster pages right, joins and leaves coalesced`, { timeout: 15 * 60_000 }, async (t) => {
  if (limit < needed) {
    t.skip(`ulimit -n is ${limit}; ${SOCKETS} sockets need about ${needed}. Run via \`make soak\` or raise it.`);
    return;
  }
  const { figures } = await presenceCrowdScenario({ server, room: uniqueRoom('presence-soak'), size: SOCKETS, threshold: 100, log: (line) => console.log(line) });
  figure('presence crowd (soak)', figures);
});

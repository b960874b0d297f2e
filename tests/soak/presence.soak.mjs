// Soak: 3000 sockets in one room (SOAK_PRESENCE_SOCKETS to change), far above PRESENCE_THRESHOLD, half
// of them batched: counts right on every socket, joins and leaves coalesced, the roster pages
// completely, every message to every socket once, in order (tests/scenarios/presence-crowd.mjs).
// Needs ~6 file descriptors per socket in workerd (fdShortage): scripts/soak.sh raises `ulimit -n` first.

import { after, before, test } from 'node:test';
import { fdShortage, figure, startServer, uniqueRoom } from '../common/harness.mjs';
import { presenceCrowdScenario } from '../scenarios/presence-crowd.mjs';

const SOCKETS = Number(process.env.SOAK_PRESENCE_SOCKETS ?? 3000);
const fdsShort = fdShortage(SOCKETS);

let server;
before(async () => {
  server = await startServer({ vars: { RATE_PER_SEC: 1000, RATE_BURST: 1000 } });
});
after(async () => {
  await server?.stop();
});

test(`presence: ${SOCKETS} sockets, counts and roster pages right, joins and leaves coalesced`, { timeout: 15 * 60_000 }, async (t) => {
  if (fdsShort) {
    t.skip(fdsShort);
    return;
  }
  const { figures } = await presenceCrowdScenario({ server, room: uniqueRoom('presence-soak'), size: SOCKETS, threshold: 100, log: (line) => console.log(line) });
  figure('presence crowd (soak)', figures);
});

// Storage cost of a message and of what living messages add to it: posts N messages into a fresh room
// of a real `wrangler dev`, then edits and reacts to each, reading the room's SQLite size
// (`storage_bytes` of GET /api/rooms/{room}) after each step. Prints bytes per message.
//   node scripts/storage-cost.mjs [N=2000]     (after `make build`)

import crypto from 'node:crypto';
import { Client, getJson, startServer } from '../tests/common/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const server = await startServer({ vars: { RATE_BURST: '1000000', RATE_PER_SEC: '1000000' } });
try {
  const room = `cost-${Date.now()}`;
  const size = async () => (await getJson(`${server.base}/api/rooms/${room}`)).body.storage_bytes;
  const key = crypto.randomBytes(18).toString('base64url');
  const ann = await Client.connect(server.ws(room, { name: 'ann', key }));
  const bob = await Client.connect(server.ws(room, { name: 'bob', key: crypto.randomBytes(18).toString('base64url') }));
  const empty = await size();
  const text = (i) => `message number ${i}: the quick brown fox jumps over the lazy dog`; // ~60 bytes
  const step = async (label, frames, client) => {
    const before = await size();
    for (let i = 0; i < frames.length; i += 200) {
      const batch = frames.slice(i, i + 200);
      const acks = batch.map((f) => client.next((x) => (x.type === 'ack' || x.type === 'error') && x.id === f.id, 60_000));
      for (const f of batch) client.send(f);
      for (const a of await Promise.all(acks)) if (a.type === 'error') throw new Error(JSON.stringify(a));
    }
    const after = await size();
    console.log(`FIGURE ${label}: ${((after - before) / N).toFixed(1)} B per message (${before} -> ${after} B)`);
  };
  const seqs = Array.from({ length: N }, (_, i) => i + 1);
  await step('plain message (~60 B of text)', seqs.map((i) => ({ type: 'message', text: text(i), id: `m${i}` })), ann);
  await step('one edit (keeps the old text as a version)', seqs.map((s) => ({ type: 'edit', seq: s, text: `${text(s)} (edited)`, id: `e${s}` })), ann);
  await step('one reaction', seqs.map((s) => ({ type: 'react', seq: s, emoji: '👍', id: `r${s}` })), bob);
  await step('delete (erases text, versions, reactions)', seqs.map((s) => ({ type: 'delete', seq: s, id: `d${s}` })), ann);
  console.log(`empty room: ${empty} B`);
  await Promise.all([ann.close(), bob.close()]);
} finally {
  await server.stop();
}

// The push receiver of `make bench`'s push slot (bench/features/push.sh), as a process of its own:
// the tests' real local Web Push service (tests/common/push-service.mjs — every push's VAPID token
// verified, every payload decrypted with its subscription's keys, RFC 8291/8292, or refused), plus a
// small control API on a second port for the scripts that drive the load:
//
//   POST /subscriptions?n=K   → K new subscriptions, [{id, json}] (json: what a browser's
//                               `PushSubscription` gives, for POST /api/me/push)
//   GET  /deliveries?after=I  → {total, rejected, attempts, deliveries: [{id, room, seq, kind, at}]}:
//                               the pushes delivered since the I-th (at: Date.now() on arrival, the
//                               clock scripts/bench/push.mjs stamps acks with), and every refusal
//
// It makes the VAPID key pair itself, so the server can be started with it: its first line on stdout
// is {"public_key", "private_key", "control"} (base64url, as VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY take
// them). Only 127.0.0.1 listens. Runs until killed.
//
// Usage: node scripts/bench/push-service.mjs

import crypto from 'node:crypto';
import http from 'node:http';
import { startPushService } from '../../tests/common/push-service.mjs';

const pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = pair.privateKey.export({ format: 'jwk' });
const publicKey = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]).toString('base64url');
const service = await startPushService({ vapidPublicKey: publicKey });

const control = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  const answer = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  req.resume();
  if (req.method === 'POST' && url.pathname === '/subscriptions') {
    const n = Math.min(Math.max(Number(url.searchParams.get('n') ?? 1), 1), 1000);
    return answer(200, Array.from({ length: n }, () => service.subscribe()));
  }
  if (req.method === 'GET' && url.pathname === '/deliveries') {
    const after = Math.max(Number(url.searchParams.get('after') ?? 0), 0);
    return answer(200, {
      total: service.delivered.length,
      rejected: service.rejected.map(({ id, reason }) => ({ id, reason })),
      attempts: service.attempts.length,
      deliveries: service.delivered.slice(after).map((d) => ({ id: d.id, room: d.payload.room, seq: d.payload.seq, kind: d.payload.kind, at: d.at })),
    });
  }
  answer(404, { error: `no ${req.method} ${url.pathname}` });
});
await new Promise((resolve) => control.listen(0, '127.0.0.1', resolve));
console.log(JSON.stringify({ public_key: publicKey, private_key: jwk.d, control: `http://127.0.0.1:${control.address().port}`, push: service.origin }));

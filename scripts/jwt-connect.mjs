// Time to welcome for sockets opened with no token, an HS256, an RS256 and an ES256 JWT (the JWKS
// cached after a warm-up connect): what verifying a JWT, with Web Crypto for RSA and ECDSA, adds to a
// connect. Usage (after make build): EDGE_CHAT_PREBUILT=1 node scripts/jwt-connect.mjs
import crypto from 'node:crypto';
import http from 'node:http';
import { Client, freePort, startServer, uniqueRoom } from '../tests/common/harness.mjs';
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keys = { keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'r' }, { ...ec.publicKey.export({ format: 'jwk' }), kid: 'e' }] };
const port = await freePort();
const jwks = http.createServer((q, s) => { s.writeHead(200); s.end(JSON.stringify(keys)); });
await new Promise((r) => jwks.listen(port, '127.0.0.1', r));
const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const tok = (alg, kid, sign) => { const i = `${b64({ alg, kid })}.${b64({ sub: 'u', exp: Math.floor(Date.now() / 1000) + 600 })}`; return `${i}.${Buffer.from(sign(i)).toString('base64url')}`; };
const open = await startServer();
const signed = await startServer({ vars: { JWT_SECRET: 's', JWKS_URL: `http://127.0.0.1:${port}/` } });
const kinds = {
  open: () => [open, { name: 'u' }],
  HS256: () => [signed, { token: tok('HS256', undefined, (i) => crypto.createHmac('sha256', 's').update(i).digest()) }],
  RS256: () => [signed, { token: tok('RS256', 'r', (i) => crypto.sign('sha256', Buffer.from(i), rsa.privateKey)) }],
  ES256: () => [signed, { token: tok('ES256', 'e', (i) => crypto.sign('sha256', Buffer.from(i), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })) }],
};
const room = uniqueRoom('lat');
for (const [name, make] of Object.entries(kinds)) {
  const [server, query] = make();
  (await Client.connect(server.ws(room, query))).terminate(); // warm: isolate, room, JWKS cache
  const times = [];
  for (let i = 0; i < 40; i++) {
    const [s, q] = make();
    const t = performance.now();
    const c = await Client.connect(s.ws(room, q));
    times.push(performance.now() - t);
    c.terminate();
  }
  times.sort((a, b) => a - b);
  console.log(`${name}: p50 ${times[20].toFixed(1)} ms, p90 ${times[36].toFixed(1)} ms (40 connects to welcome)`);
}
await Promise.all([open.stop(), signed.stop()]);
jwks.close();

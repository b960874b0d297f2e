// A real Web Push service for tests, on 127.0.0.1: it hands out subscriptions the way a browser's push
// service does (a P-256 key pair and a 16-byte auth secret per subscription, kept here as a browser
// keeps them) and accepts pushes only as a real service would. Each POST must carry a valid VAPID
// token (RFC 8292: ES256 signed by the key in `k=`, `aud` = this service's origin, `exp` within 24 h,
// a mailto:/https: `sub`), `TTL`, and an `aes128gcm` body it can decrypt with the subscription's
// private key and auth secret (RFC 8291). A push that fails any check is answered 400/401/403 and kept
// in `rejected` with the reason — a test asserts that list is empty. Decrypted payloads are in
// `delivered`. Per subscription, `answers(id, [500, 201])` scripts the statuses of the next pushes,
// and `gone(id)` makes it answer 410 for good, as an expired subscription does.
//
// The crypto is Node's own (createECDH, hkdfSync, AES-GCM, ECDSA verify): an implementation apart
// from the runtime's Web Crypto the Worker uses.

import crypto from 'node:crypto';
import http from 'node:http';

export async function startPushService({ vapidPublicKey } = {}) {
  const subscriptions = new Map(); // id → { ecdh, auth, scripted: [], gone: false }
  const delivered = [];
  const rejected = [];
  const attempts = [];
  let next = 1;

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const id = (req.url.match(/^\/push\/([\w-]+)$/) || [])[1];
      const reject = (status, reason) => {
        rejected.push({ id, reason, headers: req.headers });
        res.writeHead(status).end(reason);
      };
      if (req.method !== 'POST' || !id) return reject(404, `no push resource at ${req.method} ${req.url}`);
      const sub = subscriptions.get(id);
      if (!sub) return reject(404, 'unknown subscription');
      attempts.push({ id, at: Date.now() });
      if (sub.gone) return res.writeHead(410).end();
      const why = checkVapid(req.headers, origin(), vapidPublicKey);
      if (why) return reject(why.status, why.reason);
      if (!/^\d+$/.test(req.headers.ttl ?? '')) return reject(400, 'TTL header missing or not a number');
      if (req.headers.urgency && !['very-low', 'low', 'normal', 'high'].includes(req.headers.urgency)) {
        return reject(400, `bad Urgency ${req.headers.urgency}`);
      }
      if (req.headers.topic && !/^[A-Za-z0-9_-]{1,32}$/.test(req.headers.topic)) {
        return reject(400, `bad Topic ${req.headers.topic}`);
      }
      if (req.headers['content-encoding'] !== 'aes128gcm') return reject(415, 'Content-Encoding must be aes128gcm');
      if (body.length > 4096) return reject(413, `body of ${body.length} bytes is over 4096`);
      let text;
      try {
        text = decrypt(body, sub);
      } catch (e) {
        return reject(400, `cannot decrypt: ${e.message}`);
      }
      const scripted = sub.scripted.shift();
      if (scripted && scripted.status >= 300) {
        if (scripted.retryAfter) res.setHeader('retry-after', String(scripted.retryAfter));
        return res.writeHead(scripted.status).end();
      }
      delivered.push({
        id,
        payload: JSON.parse(text),
        topic: req.headers.topic,
        urgency: req.headers.urgency,
        ttl: Number(req.headers.ttl),
        at: Date.now(),
      });
      res.writeHead(201, { location: `/message/${delivered.length}` }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = () => `http://127.0.0.1:${server.address().port}`;

  return {
    get origin() {
      return origin();
    },
    get host() {
      return `127.0.0.1:${server.address().port}`;
    },
    delivered,
    rejected,
    attempts,
    /** A new subscription, as `JSON.stringify(pushSubscription)` gives it. */
    subscribe() {
      const id = `s${next++}-${crypto.randomBytes(4).toString('hex')}`;
      const ecdh = crypto.createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = crypto.randomBytes(16);
      subscriptions.set(id, { ecdh, auth, scripted: [], gone: false });
      return {
        id,
        json: {
          endpoint: `${origin()}/push/${id}`,
          expirationTime: null,
          keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') },
        },
      };
    },
    /** The next pushes to `id` get these statuses (`{status, retryAfter}` or a number), then 201. */
    answers(id, list) {
      subscriptions.get(id).scripted.push(...list.map((s) => (typeof s === 'number' ? { status: s } : s)));
    },
    gone(id) {
      subscriptions.get(id).gone = true;
    },
    for(id) {
      return delivered.filter((d) => d.id === id);
    },
    close() {
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Why a real push service would refuse this request's VAPID authorization, or null. */
function checkVapid(headers, expectedAudience, expectedKey) {
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/.exec(headers.authorization ?? '');
  if (!m) return { status: 401, reason: `Authorization is not "vapid t=…, k=…": ${headers.authorization}` };
  const [, token, k] = m;
  if (expectedKey && k !== expectedKey) return { status: 403, reason: 'k= is not the application server key' };
  const [h, c, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(c, 'base64url'));
  if (header.alg !== 'ES256') return { status: 401, reason: `alg ${header.alg} is not ES256` };
  const point = Buffer.from(k, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return { status: 401, reason: 'k= is not an uncompressed P-256 point' };
  const key = crypto.createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  const ok = crypto.verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'));
  if (!ok) return { status: 403, reason: 'VAPID signature does not verify' };
  if (claims.aud !== expectedAudience) return { status: 403, reason: `aud ${claims.aud} is not ${expectedAudience}` };
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) return { status: 403, reason: `exp ${claims.exp} not within 24 h` };
  if (!/^(mailto:|https:)/.test(claims.sub ?? '')) return { status: 403, reason: `sub ${claims.sub} is not mailto:/https:` };
  return null;
}

/** RFC 8291 decryption of an aes128gcm body with the subscription's private key and auth secret. */
function decrypt(body, { ecdh, auth }) {
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  if (idlen !== 65) throw new Error(`keyid of ${idlen} bytes is not a P-256 point`);
  if (rs < 18 || ciphertext.length > rs) throw new Error(`record of ${ciphertext.length} bytes over rs ${rs}`);
  const secret = ecdh.computeSecret(asPublic);
  const uaPublic = ecdh.getPublicKey();
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(crypto.hkdfSync('sha256', secret, auth, keyInfo, 32));
  const cek = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = crypto.createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error('the last record does not end with the 0x02 delimiter');
  return padded.subarray(0, end).toString('utf8');
}

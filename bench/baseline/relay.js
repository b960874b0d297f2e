// The baseline relay: one hibernating Durable Object per room that forwards every frame, unchanged,
// to the room's other sockets. No parsing, no storage, no roster. It is the runtime's ceiling on this
// machine for "a hibernating DO relays chat"; edge-chat does the same plus validation, sequencing,
// SQLite history, acks and idempotency.
//
// With `--var STORE:1` it also appends each frame to SQLite before relaying it (one INSERT, the same
// durable-before-visible output gate edge-chat relies on), in the frame's own event: one commit (and
// one fsync, which blocks the isolate's thread) per frame. With `--var STORE:batch` the frames that
// arrive before a zero-delay timer fires are written together in that timer's turn, so they share one
// commit — group commit, as edge-chat does: the ceiling for a relay that keeps history.
//
// With `--var SEND:batch` the frames of one turn (those that arrived before the zero-delay timer
// fired) go out as one `{"type":"batch","frames":[…]}` frame per socket — the frames every bystander
// gets share one string, and a socket that sent some of them gets the others only — which is what
// edge-chat's `batch=1` connections get: the floor for that path. Alone it is the "batched relay";
// with `STORE:batch` the "durable batched relay" (the turn's frames appended in one commit first).
//
// Just enough of protocol v1 for the load generator: a synthetic `welcome` on connect (so connect
// latency is measured the same way), and `GET /api/rooms/{room}` → `{"instance": ...}` (a random id
// per construction, which tells the wake-up scenario that the object really hibernated). Tested by
// tests/bench-anchors.test.mjs.
import { DurableObject } from 'cloudflare:workers';

export class Relay extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.instance = crypto.randomUUID();
    // STORE:1 writes each frame in its own event; STORE:batch and SEND:batch queue the frames of every
    // event that arrives before a zero-delay timer fires and handle them all in that one turn, so the
    // runtime commits them together (one SQLite commit for the turn instead of one per frame).
    this.store = env.STORE === '1' || env.STORE === 'batch';
    this.sendBatch = env.SEND === 'batch';
    this.queue = env.STORE === 'batch' || this.sendBatch ? [] : null;
    if (this.store) {
      ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, frame TEXT)');
      this.seq = ctx.storage.sql.exec('SELECT COALESCE(MAX(seq), 0) AS seq FROM frames').one().seq;
    }
    // Answered by the runtime without waking the object, as in edge-chat.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  async fetch(request) {
    if (request.headers.get('Upgrade') !== 'websocket') {
      // `stored`: frames appended so far (null without storage), for the anchors' own test.
      const stored = this.store ? this.seq : null;
      return Response.json({ instance: this.instance, sockets: this.ctx.getWebSockets().length, stored });
    }
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    server.send('{"type":"welcome"}');
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    if (this.queue) {
      if (this.queue.push([ws, message]) === 1) setTimeout(() => this.flush(), 0);
      return;
    }
    if (this.store) this.insert(message);
    this.relay(ws, message);
  }

  flush() {
    const queue = this.queue;
    this.queue = [];
    if (this.store) for (const [, message] of queue) this.insert(message);
    if (this.sendBatch) this.relayBatch(queue);
    else for (const [ws, message] of queue) this.relay(ws, message);
  }

  insert(message) {
    this.ctx.storage.sql.exec('INSERT INTO frames (seq, frame) VALUES (?, ?)', ++this.seq, message);
  }

  relay(ws, message) {
    for (const other of this.ctx.getWebSockets()) {
      if (other !== ws) {
        try {
          other.send(message);
        } catch {} // closing: its close event follows
      }
    }
  }

  /** One turn's frames as one batch frame per socket: bystanders share one string. */
  relayBatch(queue) {
    const batch = (frames) => `{"type":"batch","frames":[${frames.join(',')}]}`;
    const common = batch(queue.map(([, message]) => message));
    const senders = new Set(queue.map(([ws]) => ws));
    for (const other of this.ctx.getWebSockets()) {
      let frame = common;
      if (senders.has(other)) {
        const theirs = queue.filter(([ws]) => ws !== other).map(([, message]) => message);
        if (!theirs.length) continue;
        frame = batch(theirs);
      }
      try {
        other.send(frame);
      } catch {} // closing: its close event follows
    }
  }

  webSocketClose(ws, code, reason) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {}
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === '/health') return new Response('ok');
    const m = pathname.match(/^\/(?:ws|api\/rooms)\/([A-Za-z0-9_.-]{1,64})$/);
    if (!m) return new Response('not found', { status: 404 });
    return env.RELAY.get(env.RELAY.idFromName(m[1])).fetch(request);
  },
};

// A WebSocket stand-in for the client SDK's unit tests (tests/client.test.mjs, tests/sdk.test.mjs):
// it records what the client sends and lets a test play the server. No network, no timers of its own.

export class FakeSocket {
  /** Every socket made since the test last emptied this list, oldest first. */
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    /** The subprotocols offered (`new WebSocket(url, protocols)`), as given. */
    this.protocols = protocols;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(data) {
    this.sent.push(data);
  }
  close(code) {
    this.closed = code ?? 1005;
  }
  /** The identity key offered in the handshake (`key.<key>` beside `edge-chat`), or null. */
  key() {
    const offered = [this.protocols ?? []].flat();
    if (!offered.includes('edge-chat')) return null;
    return offered.find((p) => p.startsWith('key.'))?.slice('key.'.length) ?? null;
  }
  /** The server sends `frame` (an object, or a string sent as it is). */
  receive(frame) {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }
  /** The server closes the socket (as a CloseEvent would report it). */
  serverClose(code, reason = '') {
    this.onclose?.({ code, reason, wasClean: true });
  }
  /** The frames sent so far (pings left out), parsed; only those of `type` if given. */
  frames(type) {
    const all = this.sent.filter((f) => f !== 'ping').map((f) => JSON.parse(f));
    return type ? all.filter((f) => f.type === type) : all;
  }
  /** The message frames sent so far, parsed. */
  messages() {
    return this.frames('message');
  }
  /** The last frame sent of `type`, parsed. */
  last(type) {
    return this.frames(type).at(-1);
  }
}

//! The room in the URL: /#room=<name>, and a message's permalink /#room=<name>&msg=<seq> (a fragment
//! never reaches the server's logs).

export function roomFromUrl() {
  return new URLSearchParams(location.hash.slice(1)).get('room')?.trim() || null;
}

export function inviteUrl(room) {
  const u = new URL(location.href);
  u.hash = new URLSearchParams({ room }).toString();
  return u.href;
}

/** The message a permalink points at (its seq), or null. */
export function messageFromUrl() {
  const seq = Number(new URLSearchParams(location.hash.slice(1)).get('msg'));
  return Number.isInteger(seq) && seq > 0 ? seq : null;
}

/** The link that opens `room` at message `seq`. */
export function messageUrl(room, seq) {
  const u = new URL(location.href);
  u.hash = new URLSearchParams({ room, msg: String(seq) }).toString();
  return u.href;
}

//! The room in the URL: /#room=<name> (a fragment never reaches the server's logs).

export function roomFromUrl() {
  return new URLSearchParams(location.hash.slice(1)).get('room')?.trim() || null;
}

export function inviteUrl(room) {
  const u = new URL(location.href);
  u.hash = new URLSearchParams({ room }).toString();
  return u.href;
}

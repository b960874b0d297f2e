//! The room's limits as the client knows them: the defaults it assumes until a `welcome` announces
//! the room's own (`welcome.limits`), and the one measure the server counts them in (Unicode scalar
//! values). They pace the outbox and pre-check sizes; what is valid stays the server's word.

/**
 * The limits assumed until a `welcome` announces the room's own (`welcome.limits`, which then
 * replace these). They only pace the outbox and pre-check sizes, never decide what is valid:
 * `text` and `frame_bytes` are protocol v1's fixed sizes, the bucket is half of v1's default
 * (RATE_BURST 20, RATE_PER_SEC 10), so a server configured tighter is rarely hit. A server that
 * announces nothing (older than `limits`) is paced by these too.
 */
export const DEFAULT_LIMITS = Object.freeze({
  text: 4000,
  name: 32,
  id: 64,
  frame_bytes: 65_536,
  burst: 10,
  per_sec: 5,
  page: 1000,
  query: 200,
  results: 50,
  presence: 100,
  roster_page: 500,
  silent_after: 120,
  versions: 100,
  file_bytes: 25_000_000,
  files: 10,
});

/** Length in Unicode scalar values (what the server's limits count), not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** `welcome.limits` over the defaults: each known limit the server announced as a positive number. */
export function announcedLimits(announced) {
  const limits = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(limits)) {
    const v = announced?.[k];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) limits[k] = v;
  }
  // What an upload may be, and whether links get previews: only a server that says so.
  const more = /** @type {any} */ (limits);
  if (Array.isArray(announced?.file_types)) more.file_types = announced.file_types.filter((t) => typeof t === 'string');
  if (typeof announced?.previews === 'boolean') more.previews = announced.previews;
  return limits;
}

//! What the parts of the page share: the client of the room we are in, and the view's state that
//! more than one part changes (a part's own state stays a `let` in its module). ES modules export
//! bindings read-only, hence `setClient` and the `view` object.

/** The client of the room we are in, or null. Set only by joining and leaving (session.js); the
 * other modules read this live binding. */
export let client = null;

export function setClient(next) {
  client = next;
}

// The view of the conversation, beside the client's state of it.
export const items = new Map(); // seq → its <li>
export const versionsOpen = new Set(); // seqs whose earlier versions are shown
export const versionsCache = new Map(); // seq → {version, versions | error} fetched from the HTTP API

/** What several modules change about the view (a module's own state stays a `let` in it). */
export const view = {
  pickerFor: null, // the seq whose reaction picker is open
  confirmingDelete: null, // the seq whose "Delete this message?" is shown
  confirmingPurge: null, // the seq whose moderator's "Delete recent messages of …?" is shown
  dividerSeq: null, // the "New messages" divider stands before this message
  pinned: true, // the view follows the newest message (the reader is at the bottom)
  deletedBy: new Map(), // seq → {by, reason}: a moderator deleted it (a `moderation` frame with action "delete")
  highlight: null, // {seq, terms}: the search hit jumped to, its terms marked until the search closes
  placed: false, // the first welcome of this room has placed the view (at the divider or the bottom)
};

//! Search: the box in the header asks the room (client.search); the results list above the
//! conversation shows each match's author, time and snippet (hits in <mark>, drawn as text nodes by
//! snippetParts), "More results" while the room has more — the next page of the window the room
//! ranked (`offset`), then older matches (`before`), as the SDK's `next` says — and a click jumps to the
//! message with the hit marked in it. `from:name` keeps one author's messages (the room searches words; the page
//! filters authors, and with no words lists that author's messages it has).

import { snippetParts } from '../sdk/edge-chat-client.js';
import { excerpt } from '../format.js';
import { announce, button, el, timeElement, ui } from './dom.js';
import { jumpTo } from './list.js';
import { redraw } from './message.js';
import { author } from './people.js';
import { client, view } from './state.js';

let searchRun = 0; // the newest search asked for: an older answer arriving late is dropped
/** Results per page: the room's default, so a page is what any client of the room gets first. */
const PAGE = 20;

/** `q` split into its words and its `from:` author (lower case), if any. */
export function parseQuery(q) {
  const match = /(?:^|\s)from:(\S+)/i.exec(q);
  const from = match ? match[1].replace(/^@/, '').toLowerCase() : null;
  const words = match ? (q.slice(0, match.index) + q.slice(match.index + match[0].length)).trim() : q.trim();
  return { words, from };
}

const byAuthor = (from) => (m) => !from || (m.from?.name ?? '').toLowerCase().startsWith(from);

/** The terms a result's snippet marked: what to mark in the message after a jump. */
function markedTerms(snippet) {
  return [...new Set(snippetParts(snippet ?? '').filter((p) => p.mark).map((p) => p.text.toLowerCase()))];
}

/** Goes to a result, with what matched marked in the message until the search is closed. */
async function jumpToHit(seq, terms) {
  const previous = view.highlight?.seq;
  view.highlight = { seq, terms };
  if (previous != null && previous !== seq) redraw(previous);
  await jumpTo(seq);
  redraw(seq);
}

function resultItem(r) {
  const terms = markedTerms(r.snippet);
  const hit = button('', () => jumpToHit(r.seq, terms), 'search-hit');
  hit.dataset.seq = String(r.seq);
  const snippet = el('span', 'snippet');
  snippet.dir = 'auto';
  if (r.snippet != null) for (const part of snippetParts(r.snippet)) snippet.append(part.mark ? el('mark', '', part.text) : document.createTextNode(part.text));
  else snippet.append(excerpt(r.text ?? '', 120));
  const by = el('span', 'by');
  by.append(...author(r.from));
  hit.append(by, timeElement(r.ts), snippet);
  const li = el('li');
  li.append(hit);
  return li;
}

/**
 * Asks the room for `q` and lists the matches, best first; `next` (the SDK's `next` of the page
 * before) asks for the following page. The first page pins the window to the messages there are now
 * (`before` the next seq), so a message arriving meanwhile does not shift the pages under the reader.
 */
export async function runSearch(q, { next = null } = {}) {
  if (!client || !q) return;
  const run = ++searchRun;
  const more = next !== null;
  const { words, from } = parseQuery(q);
  ui.searchResults.hidden = false;
  ui.searchList.querySelector('.search-more')?.remove();
  if (!more) {
    ui.searchTitle.textContent = `Searching for “${q}”…`;
    ui.searchList.replaceChildren();
  }
  let results;
  let hasMore = false;
  if (!words && from) {
    // Only an author: the messages of theirs this page has, newest first (the room searches words).
    results = [...client.messages.values()].filter((m) => !m.deleted && byAuthor(from)(m)).sort((a, b) => b.seq - a.seq);
  } else {
    let answer;
    try {
      const pinned = client.lastSeq != null ? { before: client.lastSeq + 1 } : {};
      answer = await client.search(words, { limit: Math.min(PAGE, client.limits.results ?? PAGE), ...(more ? next : pinned) });
    } catch (error) {
      if (run !== searchRun || !client) return;
      ui.searchTitle.textContent = error.code === 'offline' ? 'Not connected: search again once back online.' : `Could not search: ${error.message}`;
      announce(ui.searchTitle.textContent);
      return;
    }
    if (run !== searchRun || !client) return;
    results = answer.results.filter(byAuthor(from));
    next = answer.next;
    hasMore = next !== null;
  }
  const shown = new Set([...ui.searchList.querySelectorAll('.search-hit')].map((b) => Number(b.dataset.seq)));
  for (const r of results) if (!shown.has(r.seq)) ui.searchList.append(resultItem(r));
  const n = ui.searchList.querySelectorAll('.search-hit').length;
  ui.searchTitle.textContent =
    n === 0 ? `No messages match “${q}”` : `${n}${hasMore ? '+' : ''} ${n === 1 ? 'message matches' : 'messages match'} “${q}”`;
  if (hasMore) {
    const li = el('li', 'search-more');
    li.append(button('More results', (e) => {
      e.currentTarget.disabled = true;
      e.currentTarget.textContent = 'Loading more results…';
      // The focus goes to the first of the new results (the button it was on is gone).
      const before = ui.searchList.querySelectorAll('.search-hit').length;
      runSearch(q, { next }).then(() => ui.searchList.querySelectorAll('.search-hit')[before]?.focus());
    }, 'link'));
    ui.searchList.append(li);
  }
  announce(ui.searchTitle.textContent);
}

export function closeSearch() {
  searchRun++;
  ui.searchResults.hidden = true;
  ui.searchList.replaceChildren();
  if (view.highlight) {
    const seq = view.highlight.seq;
    view.highlight = null;
    redraw(seq);
  }
}

//! Search: the box in the header asks the room (client.search); the results list above the
//! conversation shows each match's author, time and snippet (hits in <mark>, drawn as text nodes by
//! snippetParts), and a click jumps to the message.

import { snippetParts } from '../sdk/edge-chat-client.js';
import { announce, button, el, timeElement, ui } from './dom.js';
import { jumpTo } from './list.js';
import { author } from './people.js';
import { client } from './state.js';

let searchRun = 0; // the newest search asked for: an older answer arriving late is dropped

/** Asks the room for `q` and lists the matches, best first. */
export async function runSearch(q) {
  if (!client || !q) return;
  const run = ++searchRun;
  ui.searchResults.hidden = false;
  ui.searchTitle.textContent = `Searching for “${q}”…`;
  ui.searchList.replaceChildren();
  let answer;
  try {
    answer = await client.search(q);
  } catch (error) {
    if (run !== searchRun || !client) return;
    ui.searchTitle.textContent = error.code === 'offline' ? 'Not connected: search again once back online.' : `Could not search: ${error.message}`;
    announce(ui.searchTitle.textContent);
    return;
  }
  if (run !== searchRun || !client) return;
  const n = answer.results.length;
  ui.searchTitle.textContent =
    n === 0 ? `No messages match “${q}”` : `${n}${answer.hasMore ? '+' : ''} ${n === 1 ? 'message matches' : 'messages match'} “${q}”`;
  for (const r of answer.results) {
    const hit = button('', () => jumpTo(r.seq), 'search-hit');
    const snippet = el('span', 'snippet');
    snippet.dir = 'auto';
    for (const part of snippetParts(r.snippet)) snippet.append(part.mark ? el('mark', '', part.text) : document.createTextNode(part.text));
    const by = el('span', 'by');
    by.append(...author(r.from));
    hit.append(by, timeElement(r.ts), snippet);
    const li = el('li');
    li.append(hit);
    ui.searchList.append(li);
  }
  announce(ui.searchTitle.textContent);
}

export function closeSearch() {
  searchRun++;
  ui.searchResults.hidden = true;
  ui.searchList.replaceChildren();
}

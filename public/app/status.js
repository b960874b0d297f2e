//! The connection as the person sees it: the status line (with the countdown to the next try), the
//! problem banner above the page, and the words for "not now" refusals (room full, rate limited).

import { renderOutbox } from './conversation.js';
import { announce, el, ui } from './dom.js';
import { placeView, schedule } from './list.js';
import { client, view } from './state.js';

let statusTicker = null;
let shownReason = null; // the busy refusal last announced, so each is announced once

/** The banner above the page (role="alert"): `text`, then `fixes` (buttons); '' clears it. */
export function showProblem(text, ...fixes) {
  if (!text) {
    ui.problem.replaceChildren();
    return;
  }
  const fix = el('p', 'fix');
  fix.append(...fixes);
  ui.problem.replaceChildren(el('p', 'problem-text', text), fix);
}

export const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1).replace(/\.$/, '');

/** "Not now" refusals (close 4503/4429), retried by the client with a longer backoff. */
function busyText(reason) {
  if (reason.code === 'room_full') return 'room is full';
  if (reason.code === 'rate_limited') return 'too many connections from your network';
  return reason.message || 'the server is busy';
}

export function onStatus(e) {
  const { state, reason } = e.detail;
  if (state === 'online') showProblem('');
  // Said once in words when it starts; the status line then counts down to the next try.
  if (state === 'waiting' && reason && reason.code !== shownReason) announce(`Not connected: ${busyText(reason)}. Retrying by itself.`);
  shownReason = state === 'waiting' || state === 'reconnecting' ? reason?.code : null;
  renderStatus();
  renderOutbox();
  if (state === 'online' && !view.placed) placeView();
  if (state === 'online') ui.searchInput.maxLength = client.limits.query;
  if (state === 'online') schedule(); // actions offered depend on who we are now
  clearInterval(statusTicker);
  if (client?.state === 'waiting') statusTicker = setInterval(renderStatus, 250);
}

export function renderStatus() {
  const state = client?.state ?? 'closed';
  let text = { connecting: 'connecting…', online: 'online', reconnecting: 'reconnecting…', refused: 'not connected — refused', closed: 'not connected' }[state];
  const busy = client?.reason ? busyText(client.reason) : null;
  if (state === 'waiting') {
    const s = Math.max(0, Math.ceil((client.retryAt - Date.now()) / 1000));
    text = busy ? `${busy}, retrying in ${s} s` : `reconnecting in ${s} s`;
  } else if (state === 'reconnecting' && busy) {
    text = `${busy}, retrying…`;
  }
  if (ui.status.textContent !== text) ui.status.textContent = text;
  ui.status.dataset.state = state;
  // While we are not connected the roster is only what we last knew: say so by greying it.
  ui.roster.parentElement.classList.toggle('stale', state !== 'online');
  ui.reconnectNow.hidden = state !== 'waiting';
}

//! Moderation on the page: what a moderator did (as a notice), our own mute and the room's slow mode
//! (the line above the composer), and a moderator's slow-mode switch.

import { addNotice } from './conversation.js';
import { announce, el, timeElement, ui } from './dom.js';
import { label } from './people.js';
import { fill } from './message.js';
import { client, items, view } from './state.js';

let wasMuted = false;

/** The display name of author `uid`, as far as this page knows it. */
function nameOf(uid) {
  for (const m of client.members.values()) if (m.uid === uid) return label(m);
  for (const m of client.messages.values()) if (m.from?.uid === uid) return label(m.from);
  return 'someone';
}

export function onModeration(e) {
  const { record: r, mine } = e.detail;
  if (r.action === 'delete' && typeof r.seq === 'number') {
    // A moderator deleted a message (the room tells everyone, as it does every action): its placeholder
    // says so, so that its author does not think they did it themselves.
    view.deletedBy.set(r.seq, { by: r.by ?? null, reason: r.reason ?? null });
    const li = items.get(r.seq);
    const m = client.messages.get(r.seq);
    if (li && m) fill(li, m);
    return;
  }
  const who = mine ? 'you' : nameOf(r.uid);
  const by = r.by ? label(r.by) : 'a moderator';
  const text = {
    ban: `${by} banned ${who}`,
    unban: `${by} lifted the ban on ${who}`,
    kick: `${by} removed ${who} from the room`,
    mute: `${by} muted ${who} for ${Math.round((r.seconds ?? 0) / 60)} min`,
    unmute: `${by} unmuted ${who}`,
    purge: `${by} deleted the messages ${who} sent in ${span(r.seconds)}${r.reason ? ` (${r.reason})` : ''}`,
    slow_mode: r.seconds ? `${by} turned on slow mode: one message every ${r.seconds} s` : `${by} turned off slow mode`,
  }[r.action];
  if (text) {
    addNotice(text);
    announce(text);
  }
}

/** A purge's reach in words: "the last hour", "the last 24 hours". */
function span(seconds = 0) {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? 'the last day' : `the last ${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return seconds === 3600 ? 'the last hour' : `the last ${seconds / 3600} hours`;
  return `the last ${Math.ceil(seconds / 60)} minutes`;
}

let rulesTicker = null;

/** The line above the composer: our mute (with the time left) and the room's slow mode. */
export function renderRules() {
  const rules = client?.rules();
  if (!rules) return;
  let note = document.getElementById('rules');
  if (!note) {
    note = el('p', 'rules');
    note.id = 'rules';
    note.setAttribute('role', 'status');
    ui.composer.before(note);
  }
  const parts = [];
  if (rules.mutedUntil) {
    const min = Math.ceil((rules.mutedUntil - Date.now()) / 60_000);
    parts.push(`A moderator muted you: you can read, but not write, for ${min} more min.`);
  }
  if (rules.slowMode) parts.push(`Slow mode: one message every ${rules.slowMode} s.`);
  note.textContent = parts.join(' ');
  note.hidden = parts.length === 0 || client.state === 'refused'; // a ban's banner says all there is
  if (Boolean(rules.mutedUntil) !== wasMuted) {
    // Muted, we can neither react nor take a reaction back: the messages lose (or regain) React.
    wasMuted = Boolean(rules.mutedUntil);
    for (const [seq, li] of items) {
      const m = client.messages.get(seq);
      if (m) fill(li, m);
    }
  }
  ui.input.disabled = Boolean(rules.mutedUntil);
  ui.sendButton.disabled = Boolean(rules.mutedUntil);
  ui.emojiButton.disabled = Boolean(rules.mutedUntil);
  clearTimeout(rulesTicker);
  if (rules.mutedUntil) rulesTicker = setTimeout(renderRules, Math.min(60_000, rules.mutedUntil - Date.now() + 50));
  renderModeratorTools(rules);
}

/** The moderator's slow-mode switch and "Moderation" panel in the room's actions; nothing for anyone else. */
function renderModeratorTools(rules) {
  let select = ui.roomActions.querySelector('.slow-mode');
  let panel = ui.roomActions.querySelector('.mod-panel');
  if (!rules.moderator) {
    select?.remove();
    panel?.remove();
    return;
  }
  if (!panel) {
    panel = el('button', 'mod-panel', 'Moderation');
    panel.type = 'button';
    panel.addEventListener('click', openModerationPanel);
    ui.roomActions.prepend(panel);
  }
  if (!select) {
    select = document.createElement('select');
    select.className = 'slow-mode';
    select.setAttribute('aria-label', 'Slow mode');
    for (const [seconds, label] of [[0, 'Slow mode: off'], [10, 'Slow: 10 s'], [30, 'Slow: 30 s'], [60, 'Slow: 1 min'], [300, 'Slow: 5 min']]) {
      const option = document.createElement('option');
      option.value = String(seconds);
      option.textContent = label;
      select.append(option);
    }
    select.addEventListener('change', () => client.moderate('slow_mode', { seconds: Number(select.value) }));
    ui.roomActions.prepend(select);
  }
  if (![...select.options].some((o) => o.value === String(rules.slowMode))) {
    const option = document.createElement('option');
    option.value = String(rules.slowMode);
    option.textContent = `Slow: ${rules.slowMode} s`;
    select.append(option);
  }
  select.value = String(rules.slowMode);
}

/** A person the log names by uid: their name if this page knows it, else the uid's first characters. */
function whoIs(uid) {
  const name = nameOf(uid);
  return name === 'someone' ? `#${String(uid ?? '').replace(/^anon:/, '').slice(0, 4)}` : name;
}

/**
 * The moderator's panel: who is muted and banned now (each with Unmute / Unban) and the room's log of
 * actions, newest first (`moderation_log`, docs/PROTOCOL.md "Moderation").
 */
export async function openModerationPanel() {
  const dialog = document.getElementById('modlog');
  const mutes = document.getElementById('modlog-mutes');
  const bans = document.getElementById('modlog-bans');
  const records = document.getElementById('modlog-records');
  if (!dialog.open) dialog.showModal();
  mutes.replaceChildren(el('li', '', 'Loading…'));
  bans.replaceChildren();
  records.replaceChildren();
  let log;
  try {
    log = await client.moderationLog();
  } catch (error) {
    mutes.replaceChildren(el('li', '', `Could not load the log: ${error.message}`));
    return;
  }
  const undo = (label, uid, act) => {
    const li = el('li', '', whoIs(uid));
    const b = el('button', 'link', label);
    b.type = 'button';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await act(uid);
      } catch {}
      openModerationPanel();
    });
    li.append(' ', b);
    return li;
  };
  const now = Date.now();
  const muted = (log.rules?.mutes ?? []).filter((m) => m.until > now);
  mutes.replaceChildren(...(muted.length ? muted.map((m) => undo('Unmute', m.uid, (u) => client.unmute(u))) : [el('li', 'none', 'Nobody')]));
  const banned = log.rules?.bans ?? [];
  bans.replaceChildren(...(banned.length ? banned.map((uid) => undo('Unban', uid, (u) => client.unban(u))) : [el('li', 'none', 'Nobody')]));
  const verbs = { ban: 'banned', unban: 'lifted the ban on', kick: 'removed', mute: 'muted', unmute: 'unmuted', delete: 'deleted a message of', purge: 'deleted the recent messages of', slow_mode: 'set slow mode', require_identity: 'required an identity', allow_anonymous: 'allowed anonymous people' };
  records.replaceChildren(
    ...(log.records ?? []).map((r) => {
      const li = el('li');
      const by = r.by ? label(r.by) : 'a moderator';
      const whom = r.uid ? ` ${whoIs(r.uid)}` : '';
      const reach = r.action === 'purge' ? `, ${span(r.seconds)}` : '';
      li.append(timeElement(r.at ?? now), ` ${by} ${verbs[r.action] ?? r.action}${whom}${reach}${r.reason ? ` (${r.reason})` : ''}`);
      return li;
    }),
  );
}

//! The emoji picker, for reactions (message.js) and for the composer (composer.js): found by name or
//! keyword, the recently used first, skin tones, and every emoji of Unicode's list by group. The list
//! is a data file the build makes from the emojibase-data package (scripts/emoji-data.mjs →
//! /emoji/emoji.json, git-ignored like the SDK bundle, ~37 KB gzipped), fetched the first time a
//! picker opens; until it arrives, or when it cannot (offline), a short built-in list stands in.
//!
//! Keyboard: the search box and the tone are ordinary controls; the emoji are one Tab stop, moved
//! between with the arrow keys (a roving tabindex), Home and End, so that a thousand buttons are not a
//! thousand Tab presses. Enter or Space picks.

import { el } from './dom.js';

const DATA_URL = '/emoji/emoji.json';
const RECENT_KEY = 'edge-chat:recent-emoji';
const OLD_RECENT_KEY = 'edge-chat:recent-reactions'; // before the composer shared the list
const TONE_KEY = 'edge-chat:skin-tone';
const RECENT_MAX = 16;
/** Emoji per row of the grid (the stylesheet's columns): the Up and Down arrows move by this. */
const COLUMNS = 8;

export const TONES = [['', 'No skin tone'], ['🏻', 'Light'], ['🏼', 'Medium-light'], ['🏽', 'Medium'], ['🏾', 'Medium-dark'], ['🏿', 'Dark']];

/** What stands in while the list loads or when it cannot: [emoji, name, keywords, takes a tone]. */
const FALLBACK = [
  ['👍', 'thumbs up', '+1 like yes', true], ['👎', 'thumbs down', 'no', true], ['👏', 'clapping hands', 'applause', true],
  ['🙏', 'folded hands', 'thanks please', true], ['👋', 'waving hand', 'hello bye', true], ['💪', 'flexed biceps', 'strong', true],
  ['🙌', 'raising hands', 'hooray', true], ['👌', 'ok hand', 'fine', true], ['😀', 'grinning face', 'smile happy', false],
  ['😂', 'face with tears of joy', 'laugh lol', false], ['😊', 'smiling face with smiling eyes', 'blush', false], ['😍', 'smiling face with heart-eyes', 'love', false],
  ['🤔', 'thinking face', 'hmm', false], ['😮', 'face with open mouth', 'surprised wow', false], ['😢', 'crying face', 'sad', false], ['😡', 'enraged face', 'angry', false],
  ['🎉', 'party popper', 'celebrate tada', false], ['❤️', 'red heart', 'love', false], ['🔥', 'fire', 'hot lit', false], ['✅', 'check mark button', 'done yes', false],
  ['👀', 'eyes', 'look', false], ['💯', 'hundred points', 'perfect', false], ['🚀', 'rocket', 'launch ship', false], ['☕', 'hot beverage', 'coffee tea', false],
];

function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

/** The emoji picked lately (reactions and the composer alike), newest first. */
export function recentEmoji() {
  return stored(RECENT_KEY, null) ?? stored(OLD_RECENT_KEY, []);
}

export function rememberEmoji(emoji) {
  const recent = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(recent));
  } catch {}
}

function chosenTone() {
  const tone = stored(TONE_KEY, '');
  return TONES.some(([t]) => t === tone) ? tone : '';
}

/** {groups, list: [{emoji, name, words, group, skins}]}: the full list, or the stand-in. */
let list = null;
let loading = null;

function fallbackList() {
  const toned = (emoji, tone) => [...emoji][0] + tone;
  return {
    full: false,
    groups: ['Emoji'],
    list: FALLBACK.map(([emoji, name, words, takesTone]) => ({ emoji, name, words: `${name} ${words}`, group: 0, skins: takesTone ? TONES.slice(1).map(([t]) => toned(emoji, t)) : null })),
  };
}

/** Fetches the list once (again after a failure); resolves when it is there (or stood in for). */
export function loadEmoji() {
  loading ??= fetch(DATA_URL, { headers: { accept: 'application/json' } })
    .then((res) => (res.ok ? res.json() : Promise.reject(new Error(`${res.status}`))))
    .then((data) => {
      list = {
        full: true,
        groups: data.groups,
        list: data.emoji.map(([emoji, name, words, group, skins]) => ({ emoji, name, words: `${name} ${words}`.toLowerCase(), group, skins: skins ?? null })),
      };
    })
    .catch(() => {
      loading = null; // the next picker tries again
      list ??= fallbackList();
    });
  return loading ?? Promise.resolve();
}

/** The emoji whose name or keywords have a word starting with each word of `q`. */
function matching(q) {
  const wanted = q.toLowerCase().split(/\s+/).filter(Boolean);
  return list.list.filter((e) => {
    const words = e.words.split(/[\s:,]+/);
    return wanted.every((w) => words.some((word) => word.startsWith(w)));
  });
}

/**
 * A picker: `verb` names what a pick does ("React with", "Insert"), `searchLabel` its search box;
 * `onPick(emoji, name)` is called with the emoji in the chosen skin tone; `pressed(emoji)` marks the
 * ones already chosen (our reactions). `state` ({query}) outlives a redraw of the element around it.
 */
export function emojiPicker({ verb, searchLabel, onPick, pressed = () => false, state = {} }) {
  const box = el('div', 'emoji-picker');
  const search = el('input', 'picker-search');
  search.type = 'search';
  search.placeholder = searchLabel;
  search.setAttribute('aria-label', searchLabel);
  search.autocomplete = 'off';
  search.spellcheck = false;
  search.dataset.key = 'emoji-search';
  search.value = state.query ?? '';
  const tone = document.createElement('select');
  tone.className = 'picker-tone';
  tone.setAttribute('aria-label', 'Skin tone');
  tone.dataset.key = 'emoji-tone';
  for (const [value, name] of TONES) {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = value ? `✋${value} ${name}` : `✋ ${name}`;
    tone.append(option);
  }
  tone.value = chosenTone();
  const tools = el('div', 'picker-tools');
  tools.append(search, tone);
  const body = el('div', 'emoji-body');
  body.dataset.roving = ''; // one Tab stop: keys.js leaves the others out of the Tab order
  const status = el('p', 'picker-status');
  status.setAttribute('role', 'status');
  box.append(tools, status, body);

  const toneIndex = () => TONES.findIndex(([t]) => t === tone.value);
  const button = (e) => {
    const emoji = e.skins && toneIndex() > 0 ? e.skins[toneIndex() - 1] : e.emoji;
    const b = el('button', 'emoji', emoji);
    b.type = 'button';
    b.tabIndex = -1;
    b.dataset.key = `emoji:${emoji}`;
    b.setAttribute('aria-label', `${verb} ${e.name}`);
    b.title = e.name;
    if (pressed(emoji)) b.setAttribute('aria-pressed', 'true');
    b.addEventListener('click', () => {
      rememberEmoji(emoji);
      onPick(emoji, e.name);
    });
    return b;
  };
  const section = (name, entries) => {
    const group = el('div', 'emoji-group');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', name);
    const title = el('p', 'emoji-group-name', name);
    title.setAttribute('aria-hidden', 'true');
    const grid = el('div', 'emoji-grid');
    grid.append(...entries.map(button));
    group.append(title, grid);
    return group;
  };
  const draw = () => {
    state.query = search.value;
    if (!list) {
      status.textContent = 'Loading emoji…';
      body.replaceChildren();
      return;
    }
    const q = search.value.trim();
    const sections = [];
    if (q) {
      const found = matching(q);
      status.textContent = found.length ? `${found.length} ${found.length === 1 ? 'emoji matches' : 'emoji match'}` : 'No emoji has that name.';
      if (found.length) sections.push(section('Matches', found));
    } else {
      status.textContent = list.full ? '' : 'A few emoji for now: the full list could not be loaded.';
      const byEmoji = new Map(list.list.flatMap((e) => [[e.emoji, e], ...(e.skins ?? []).map((s) => [s, { ...e, emoji: s, skins: null }])]));
      const recent = recentEmoji().map((r) => byEmoji.get(r) ?? { emoji: r, name: r, skins: null });
      if (recent.length) sections.push(section('Recently used', recent));
      list.groups.forEach((name, i) => sections.push(section(name, list.list.filter((e) => e.group === i))));
    }
    body.replaceChildren(...sections);
    const first = body.querySelector('button.emoji');
    if (first) current(first);
  };
  const current = (b) => {
    for (const old of body.querySelectorAll('[data-current]')) {
      old.tabIndex = -1;
      delete old.dataset.current;
    }
    b.tabIndex = 0;
    b.dataset.current = 'true';
  };
  search.addEventListener('input', draw);
  tone.addEventListener('change', () => {
    try {
      localStorage.setItem(TONE_KEY, JSON.stringify(tone.value));
    } catch {}
    draw();
  });
  // Enter in the search box picks the first match (what is shown first is what was meant).
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault(); // never the form around it (the composer's)
      if (search.value.trim()) body.querySelector('button.emoji')?.click();
    } else if (e.key === 'ArrowDown') {
      e.preventDefault();
      body.querySelector('button.emoji')?.focus();
    }
  });
  body.addEventListener('keydown', (e) => {
    const all = [...body.querySelectorAll('button.emoji')];
    const at = all.indexOf(document.activeElement);
    if (at === -1) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, ArrowDown: at + COLUMNS, ArrowUp: at - COLUMNS, Home: 0, End: all.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    if (to < 0 && e.key === 'ArrowUp') return search.focus();
    const next = all[Math.max(0, Math.min(all.length - 1, to))];
    current(next);
    next.focus();
  });
  draw();
  // Not loaded yet, or only the stand-in after a failure: (again) from the server.
  if (!list?.full) loadEmoji().then(() => box.isConnected && draw());
  return box;
}

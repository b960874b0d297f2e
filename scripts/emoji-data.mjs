//! Writes the page's emoji list (public/emoji/emoji.json, git-ignored) from the emojibase-data package
//! (MIT; a devDependency): every emoji of Unicode's list up to MAX_VERSION, in Unicode's order and
//! groups, with its name, a few search keywords and its five skin tones where it has them. The page's
//! picker (public/app/emoji.js) fetches it the first time it opens, so the page still has no build
//! step of its own: this runs with the SDK's bundling in scripts/build.sh (every `make build`,
//! `make dev` and `wrangler dev`/`deploy` start), and like it writes nothing when nothing changed, so
//! the dev server's watcher sees no edit.
//!
//! Usage: node scripts/emoji-data.mjs public/emoji/emoji.json
//!
//! The format, kept small (~36 KB gzipped; the page loads it only on demand):
//!   {"groups": ["Smileys & emotion", …], "emoji": [[emoji, name, keywords, group, skins?], …]}
//! `keywords` is one space-separated string (the name's own words left out); `skins` the five toned
//! forms, light to dark, for an emoji that takes one skin tone.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The newest Unicode emoji version listed: later ones are missing from many systems' fonts still. */
const MAX_VERSION = 15;
/** Keywords kept per emoji: enough to find it by what people call it, not a thesaurus. */
const MAX_KEYWORDS = 6;
/** emojibase's "component" group: skin-tone swatches and hair styles, not emoji to send alone. */
const COMPONENTS = 2;

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/emoji-data.mjs <out.json>');

const require = createRequire(import.meta.url);
const data = require('emojibase-data/en/data.json');
const messages = require('emojibase-data/en/messages.json');

/**
 * The fully-qualified form, as people's keyboards type it and as the page's quick reactions are
 * written: emojibase adds U+FE0F after some emoji that are pictures by default (👍, ✅), where Unicode's
 * own list has none; a reaction is its exact string, so 👍 and 👍️ would be two different reactions.
 */
function qualified(emoji) {
  return emoji.replace(/(\p{Emoji_Presentation})\uFE0F/gu, '$1');
}

const capitalised = (s) => s.charAt(0).toUpperCase() + s.slice(1);
const groupIndex = new Map();
const groups = [];
for (const g of [...messages.groups].sort((a, b) => a.order - b.order)) {
  if (g.order === COMPONENTS) continue;
  groupIndex.set(g.order, groups.length);
  groups.push(capitalised(g.message));
}

const emoji = [];
for (const e of [...data].sort((a, b) => a.order - b.order)) {
  if (e.group === undefined || !groupIndex.has(e.group) || e.version > MAX_VERSION) continue;
  const nameWords = new Set(e.label.toLowerCase().split(/[\s:,]+/));
  const keywords = (e.tags ?? []).filter((t) => !nameWords.has(t.toLowerCase())).slice(0, MAX_KEYWORDS).join(' ');
  const row = [qualified(e.emoji), e.label, keywords, groupIndex.get(e.group)];
  // One tone each (the emoji of two people with two tones are left at their default).
  const skins = (e.skins ?? []).filter((s) => typeof s.tone === 'number' && s.version <= MAX_VERSION).sort((a, b) => a.tone - b.tone);
  if (skins.length === 5) row.push(skins.map((s) => qualified(s.emoji)));
  emoji.push(row);
}

const bytes = Buffer.from(JSON.stringify({ groups, emoji }));
let same = false;
try {
  same = Buffer.compare(readFileSync(out), bytes) === 0;
} catch {}
if (!same) {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
}

//! `@` in a message box offers the people of the room (those online first, then the authors this page
//! knows): the arrow keys move through them, Enter or Tab writes `@Name `, Escape closes the list. A
//! moderator is offered `@room` too. The room resolves what was written when it stores the message
//! (docs/PROTOCOL.md, "Mentions"); the list only saves typing. As an autocompleting text box: the box
//! keeps the focus (`aria-autocomplete="list"`, `aria-controls` the list), the list is a `listbox`
//! whose active option the box names (`aria-activedescendant`). A `<textarea>` may not take the
//! combobox role, so no `aria-expanded` either: the active option is what a screen reader hears.

import { el } from './dom.js';
import { avatar, mentionable } from './people.js';
import { client } from './state.js';

/** The most people the list shows at once. */
const MAX_SHOWN = 8;
let lists = 0;

/** The `@word` being typed just before the caret — {start, query} — or null. An `@` counts at the
 * start of a word only (not in an email address), as the room reads it. */
export function typedMention(text, caret) {
  const m = /(?:^|[\s([{«"'])@([^\s@<>]{0,32})$/u.exec(text.slice(0, caret));
  return m ? { start: caret - m[1].length - 1, query: m[1] } : null;
}

/** Gives `box` (a textarea) the `@` list. */
export function attachMentions(box) {
  const list = el('ul', 'mention-list');
  list.id = `mention-list-${++lists}`;
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'People to mention');
  list.hidden = true;
  box.after(list);
  box.setAttribute('aria-autocomplete', 'list');
  box.setAttribute('aria-controls', list.id);
  let options = [];
  let active = 0;
  let typed = null;
  let lastQuery = null;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    options = [];
    typed = null;
    box.removeAttribute('aria-activedescendant');
  };

  const render = () => {
    list.replaceChildren(
      ...options.map((who, i) => {
        const li = el('li', i === active ? 'mention-option active' : 'mention-option');
        li.id = `${list.id}-${i}`;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', String(i === active));
        if (who.room) li.append(el('span', 'mention-room', '@'), el('span', '', 'room — everyone here'));
        else li.append(avatar(who), el('bdi', 'who', who.name));
        // mousedown, not click: the box keeps the focus (and the caret) while a pointer picks.
        li.addEventListener('mousedown', (e) => {
          e.preventDefault();
          pick(i);
        });
        return li;
      }),
    );
    box.setAttribute('aria-activedescendant', `${list.id}-${active}`);
  };

  const update = () => {
    typed = client ? typedMention(box.value, box.selectionStart ?? box.value.length) : null;
    if (!typed) return close();
    if (typed.query !== lastQuery) active = 0;
    lastQuery = typed.query;
    const q = typed.query.toLowerCase();
    options = mentionable()
      .filter((u) => u.name.toLowerCase().startsWith(q))
      .slice(0, MAX_SHOWN);
    if (client.role === 'moderator' && 'room'.startsWith(q)) options.push({ room: true, name: 'room' });
    if (!options.length) return close();
    active = Math.min(active, options.length - 1);
    list.hidden = false;
    render();
  };

  const pick = (i) => {
    const who = options[i];
    if (!who || !typed) return close();
    box.setRangeText(`@${who.name} `, typed.start, box.selectionStart ?? box.value.length, 'end');
    close();
    // As if typed: the draft is kept and the typing hint goes.
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };

  box.addEventListener('input', update);
  box.addEventListener('click', update);
  box.addEventListener('blur', close);
  // Capture, so these keys are the list's while it is open and never reach the box's own handlers
  // (Enter would send, Escape cancel a reply).
  box.addEventListener(
    'keydown',
    (e) => {
      if (list.hidden || e.isComposing) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        active = (active + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length;
        render();
      } else if (e.key === 'Enter' || e.key === 'Tab') {
        pick(active);
      } else if (e.key === 'Escape') {
        close();
      } else {
        return;
      }
      e.preventDefault();
      e.stopImmediatePropagation();
    },
    { capture: true },
  );
}

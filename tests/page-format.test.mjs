// The page's pure text rules, without a server or a browser: basic formatting (public/markup.js) and
// which bare addresses become links, how a file's size and an image's box are shown (public/format.js). The browser half is tests/browser-people.test.mjs.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ago, fileSize, fitted, linkParts } from '../public/format.js';
import { blocks, inlineParts } from '../public/markup.js';

const styled = (text) => inlineParts(text).map((p) => [p.text, p.styles.join('+')]);

describe('inline formatting', () => {
  test('bold, italic and code, nested, with the markers dropped', () => {
    assert.deepEqual(styled('**bold** _it_ *also* `co*de*`'), [['bold', 'strong'], [' ', ''], ['it', 'em'], [' ', ''], ['also', 'em'], [' ', ''], ['co*de*', 'code']]);
    assert.deepEqual(styled('**_both_**'), [['both', 'strong+em']]);
  });

  test('markers that do not hug a word, snake_case and arithmetic stay as written', () => {
    for (const text of ['snake_case_name', '2*3*4', '* not this *', '** nor this **', 'a_b', '`unclosed', '<b>html</b>']) {
      assert.deepEqual(styled(text), [[text, '']], text);
    }
  });
});

describe('blocks', () => {
  test('fenced code keeps its text exactly; > lines are one quote; the rest keeps its newlines', () => {
    assert.deepEqual(blocks('intro\n```js\nlet a = "**no**";\n```\n> one\n> two\nend'), [
      { type: 'text', text: 'intro' },
      { type: 'code', text: 'let a = "**no**";' },
      { type: 'quote', text: 'one\ntwo' },
      { type: 'text', text: 'end' },
    ]);
    assert.deepEqual(blocks('plain\n\ntext'), [{ type: 'text', text: 'plain\n\ntext' }]);
  });
});

describe('bare links', () => {
  const links = (text) => linkParts(text).filter((p) => p.href).map((p) => p.href);
  test('www. and bare domains under a common top-level domain, as https', () => {
    assert.deepEqual(links('see www.example.org, example.com/a?b=1 and bbc.co.uk.'), ['https://www.example.org/', 'https://example.com/a?b=1', 'https://bbc.co.uk/']);
  });
  test('not an email address, a file name or a version', () => {
    assert.deepEqual(links('ann@example.com, notes.txt, v1.2, e.g. this'), []);
  });
});

describe('how long ago (a thread\'s last reply)', () => {
  test('just now, minutes, hours, days', () => {
    const now = Date.UTC(2026, 0, 10, 12, 0, 0);
    assert.equal(ago(now - 20_000, now), 'just now');
    assert.equal(ago(now + 5_000, now), 'just now', 'a clock a little ahead is not "in the future"');
    assert.equal(ago(now - 2 * 60_000, now), '2 min ago');
    assert.equal(ago(now - 3 * 3_600_000 - 1, now), '3 h ago');
    assert.equal(ago(now - 4 * 86_400_000, now), '4 d ago');
  });
});

describe('files', () => {
  test('sizes read in decimal units, as the limits are given', () => {
    assert.deepEqual([0, 812, 1000, 48_213, 999_999, 3_100_000, 25_000_000, 2e9].map(fileSize), ['0 B', '812 B', '1.0 kB', '48 kB', '1000 kB', '3.1 MB', '25 MB', '2.0 GB']);
  });

  test('an image fits its box with its proportions kept, and is never blown up', () => {
    assert.deepEqual(fitted(640, 480), { width: 320, height: 240 });
    assert.deepEqual(fitted(100, 1000), { width: 24, height: 240 });
    assert.deepEqual(fitted(50, 40), { width: 50, height: 40 });
    assert.deepEqual(fitted(0, 0), { width: 320, height: 240 }, 'unknown: the box');
  });
});

// The tests' close codes (tests/common/close-codes.mjs) are the server's: every `CLOSE_*` constant of
// src/effect.rs has the same name and number there, and the refusal rule is error.rs's 4000 + status.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as codes from './common/close-codes.mjs';
import { ROOT } from './common/harness.mjs';

test("the tests' close codes are the server's, name for name", () => {
  const effect = readFileSync(path.join(ROOT, 'src/effect.rs'), 'utf8');
  const server = Object.fromEntries([...effect.matchAll(/pub const (CLOSE_\w+): u16 = (\d+);/g)].map((m) => [m[1], Number(m[2])]));
  assert.ok(Object.keys(server).length >= 5, `read src/effect.rs: ${JSON.stringify(server)}`);
  const mirrored = Object.fromEntries(Object.entries(codes).filter(([k, v]) => k in server || (typeof v === 'number' && v < 4000)));
  assert.deepEqual(mirrored, server);
  const error = readFileSync(path.join(ROOT, 'src/error.rs'), 'utf8');
  assert.match(error, /fn close_code\(self\) -> u16 \{\s*4000 \+ self\.http_status\(\)/);
  assert.equal(codes.refusalClose(403), 4403);
});

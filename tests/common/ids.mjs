// Unique names for tests: message ids and room names that no other test (or run) uses, so tests can
// run in parallel against one server and leave nothing behind. A leaf module, like clock.mjs.

let counter = 0;
export function randomId() {
  counter += 1;
  return `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A room name unique to this test run. */
export function uniqueRoom(prefix = 'room') {
  return `${prefix}-${randomId()}`.replace(/[^A-Za-z0-9_.-]/g, '');
}

// Time for tests: a monotonic clock for latencies and a promise that waits. A leaf module, so that the
// harness, the client and the trackers can all use it without importing one another.

import { performance } from 'node:perf_hooks';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A monotonic clock in milliseconds, for latencies. */
export const now = () => performance.now();

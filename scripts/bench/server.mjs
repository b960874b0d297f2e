// A `wrangler dev` as the bench scripts use it: tests/common/harness.mjs starts it; this finds the user
// worker's own workerd (its process, for CPU time; its entry socket, to reach the Worker without the
// dev proxy, which takes ~6 descriptors per socket and relays every frame once more), and writes the
// folder that serves edge-chat's bundle without [assets] (so no asset router sits on /ws either).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../tests/common/harness.mjs';

/** Every process whose process group is `pgid` (wrangler's, which the harness starts detached). */
function groupProcesses(pgid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) out.push({ pid: Number(d), comm });
    } catch {}
  }
  return out;
}

/**
 * The user worker's workerd, { pid, port }: of the group's workerd processes (wrangler dev runs the
 * dev proxy in a second one), the one with a listening socket other than the public port that
 * answers /health.
 */
export async function userWorker(server) {
  const lines = execFileSync('ss', ['-ltnpH']).toString().split('\n');
  // The process on the public port belongs to the server's group (wrangler's, started detached).
  const front = Number(/pid=(\d+)/.exec(lines.find((l) => l.includes(`127.0.0.1:${server.port} `)) ?? '')?.[1]);
  if (!front) throw new Error(`nothing listens on ${server.port}`);
  const stat = readFileSync(`/proc/${front}/stat`, 'utf8');
  const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  const workerds = new Set(groupProcesses(pgid).filter((p) => p.comm === 'workerd').map((p) => p.pid));
  for (const line of lines) {
    const pid = Number(/pid=(\d+)/.exec(line)?.[1]);
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(line)?.[1]);
    if (!workerds.has(pid) || !port || port === server.port || port === server.inspectorPort) continue;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return { pid, port };
    } catch {}
  }
  throw new Error('user worker workerd not found');
}

/** A folder whose wrangler.toml serves build/index.js like the repository's, without [assets]. */
export function noAssetsDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'edge-chat-noassets-'));
  let skip = false;
  const out = [];
  for (const line of readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8').split('\n')) {
    if (line.startsWith('[')) skip = line === '[assets]' || line === '[build]';
    if (skip) continue;
    out.push(line.startsWith('main = ') ? `main = ${JSON.stringify(path.join(ROOT, 'build/index.js'))}` : line);
  }
  writeFileSync(path.join(dir, 'wrangler.toml'), out.join('\n'));
  return dir;
}

/** The vars edge-chat runs with under load (the generator sends far above the per-socket rate). */
export const LOAD_VARS = { RATE_PER_SEC: '1000000', RATE_BURST: '1000000', RATE_LIMIT_EXEMPT: '127.0.0.1' };

// The workerd configuration (Cap'n Proto text) that serves one Worker straight from its modules, with
// no wrangler, no dev proxy and no asset router in front: what `scripts/bench/cold.mjs` starts again
// and again to time a cold start. Pure, so tests/bench-report.test.mjs checks what it writes.

/** A Cap'n Proto text literal. */
const text = (s) => JSON.stringify(String(s));

/**
 * The config for one Worker on 127.0.0.1:`port`.
 * modules: [{ name, kind: 'esModule' | 'wasm', file }] (file relative to the config's folder, the
 * first module is the main one); vars: { NAME: 'value' } (text bindings); durableObject: { binding,
 * className } or null (SQLite-backed, stored under the `disk` folder, relative to the config's).
 */
export function workerdConfig({ port, modules, vars = {}, durableObject = null, compatibilityDate, disk = 'disk' }) {
  const bindings = Object.entries(vars).map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`);
  const lines = [
    'using Workerd = import "/workerd/workerd.capnp";',
    '',
    'const config :Workerd.Config = (',
    '  services = [',
    '    (name = "main", worker = .worker),',
    ...(durableObject ? [`    (name = "disk", disk = (path = ${text(disk)}, writable = true)),`] : []),
    '  ],',
    `  sockets = [ (name = "http", address = ${text(`127.0.0.1:${port}`)}, http = (), service = "main") ],`,
    ');',
    '',
    'const worker :Workerd.Worker = (',
    '  modules = [',
    ...modules.map((m) => `    (name = ${text(m.name)}, ${m.kind} = embed ${text(m.file)}),`),
    '  ],',
    `  compatibilityDate = ${text(compatibilityDate)},`,
  ];
  if (durableObject) {
    bindings.unshift(`(name = ${text(durableObject.binding)}, durableObjectNamespace = ${text(durableObject.className)})`);
    lines.push(
      `  durableObjectNamespaces = [ (className = ${text(durableObject.className)}, uniqueKey = ${text(`bench-${durableObject.className}`)}, enableSql = true) ],`,
      '  durableObjectStorage = (localDisk = "disk"),',
    );
  }
  lines.push(`  bindings = [${bindings.length ? `\n    ${bindings.join(',\n    ')},\n  ` : ''}],`, ');', '');
  return lines.join('\n');
}

// The library's own Node.js gate (the CLI has one in bin.ts): on an older Node, better-sqlite3 — the sync outbox, the
// server's SQLite file — crashes the process with a bare segmentation fault. Refused with a message instead.
import { ConfigError } from './errors.ts';

/** The oldest Node.js Iron Cage runs on (package.json `engines.node`). */
export const MINIMUM_NODE = [22, 17] as const;

export function assertSupportedNode(version = process.versions.node): void {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major > MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor >= MINIMUM_NODE[1])) return;
  throw new ConfigError(`Iron Cage needs Node.js ${MINIMUM_NODE.join('.')} or newer; this is Node.js ${version} (${process.execPath}): install Node.js 24 LTS and run with it`, { path: 'node' });
}

// Server settings read from the environment: a value that is set but is not what the setting takes stops start-up
// with a config error naming the variable, instead of being ignored for its default.
import { isIP } from 'node:net';
import { ConfigError } from '../core/errors.ts';

/**
 * A positive whole number from the environment, written in decimal digits: `1.5`, `1e3`, `0x10` and `abc` are refused
 * (every setting here counts something: sockets, attempts, milliseconds, characters).
 */
export function envNumber(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name} is ${JSON.stringify(raw)}: expected a positive whole number (or unset it for the default)`, { path: name });
  return n;
}

/** Every numeric setting the server reads: all are checked at start, before the database opens. */
export const SERVER_NUMBER_SETTINGS = [
  'IRON_AGENT_LOST_AFTER_S',
  'IRON_LOGIN_RATE_LIMIT',
  'IRON_INGEST_BATCHES_PER_MINUTE',
  'IRON_MAX_EVENT_CHARS',
  'IRON_WS_HEARTBEAT_MS',
  'IRON_WS_MAX_BUFFERED_BYTES',
  'IRON_WS_MAX_PER_PRINCIPAL',
  'IRON_WS_MAX_PER_PROJECT',
  'IRON_WS_REVALIDATE_MS',
  'IRON_WEBHOOK_BACKOFF_MS',
  'IRON_WEBHOOK_MAX_ATTEMPTS',
  'IRON_WEBHOOK_POLL_MS',
  'IRON_WEBHOOK_TIMEOUT_MS',
  'IRON_WEBHOOK_MAX_PER_PROJECT',
  'IRON_WEBHOOK_MAX_QUEUED',
  'IRON_WEBHOOK_ATTEMPTS_PER_MINUTE',
] as const;

/** Named proxy-addr ranges Fastify's trustProxy takes besides addresses and CIDRs. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  // A prefix length, or (IPv4) a netmask such as 255.255.255.0.
  if (/^\d{1,3}$/.test(prefix)) return Number(prefix) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(prefix) === 4;
}

/**
 * IRON_TRUST_PROXY: `true`, a hop count, or a comma-separated list of addresses, CIDRs and the names loopback,
 * linklocal, uniquelocal. Anything else (a host name such as `nginx`) is refused with what to write instead.
 */
export function checkTrustProxy(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env.IRON_TRUST_PROXY;
  if (raw === undefined || raw === '' || raw === 'true' || raw === 'false' || /^\d+$/.test(raw)) return;
  const bad = raw.split(',').map((entry) => entry.trim()).filter((entry) => !isAddressOrCidr(entry));
  if (bad.length === 0) return;
  throw new ConfigError(
    `IRON_TRUST_PROXY is ${JSON.stringify(raw)}: ${bad.map((entry) => JSON.stringify(entry)).join(', ')} is not an IP address or CIDR. Give the proxy's address (e.g. 10.0.0.2), a CIDR (10.0.0.0/8), loopback, a hop count, or true; a host name is not resolved`,
    { path: 'IRON_TRUST_PROXY' },
  );
}

/** Every server setting from the environment, checked at once so the first mistake is named before anything opens. */
export function checkServerEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of SERVER_NUMBER_SETTINGS) envNumber(name, env);
  checkTrustProxy(env);
}

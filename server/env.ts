// Numeric server settings read from the environment: a value that is set but is not a positive number stops
// start-up with a config error naming the variable, instead of being ignored for its default.
import { ConfigError } from '../core/errors.ts';

export function envNumber(name: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${name} is ${JSON.stringify(raw)}: expected a positive number (or unset it for the default)`, { path: name });
  return n;
}

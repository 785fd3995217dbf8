// The one place loggers are made: pino, level from options or IRON_LOG_LEVEL, to stderr so stdout stays the agent's.
// JSON lines by default; `format: 'pretty'` (the CLI on a terminal) prints one readable line per record instead.
import { writeSync } from 'node:fs';
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';
import { ConfigError } from './errors.ts';

export type { Logger };
export type LogFormat = 'json' | 'pretty';

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** IRON_LOG_LEVEL, checked: an unknown level is a config error naming the variable, not pino's stack. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LevelWithSilent | undefined {
  const value = env.IRON_LOG_LEVEL;
  if (value === undefined || value === '') return undefined;
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new ConfigError(`IRON_LOG_LEVEL: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`, { path: 'IRON_LOG_LEVEL' });
  }
  return value as LevelWithSilent;
}

/** IRON_LOG_FORMAT, checked like IRON_LOG_LEVEL. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat | undefined {
  const value = env.IRON_LOG_FORMAT;
  if (value === undefined || value === '') return undefined;
  if (!(LOG_FORMATS as readonly string[]).includes(value)) {
    throw new ConfigError(`IRON_LOG_FORMAT: expected json or pretty, got ${JSON.stringify(value)}`, { path: 'IRON_LOG_FORMAT' });
  }
  return value as LogFormat;
}

const LABELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields every record has, or that only tooling reads: left out of the readable line. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v']);

/** One record as a line a person reads: `iron warn: message (agentId=…, plugin=sync)`, errors with their message. */
export function formatLogLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LABELS[record.level as number] ?? String(record.level);
  const extras: string[] = [];
  let errorText = '';
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key)) continue;
    if ((key === 'err' || key === 'error') && value && typeof value === 'object') {
      const err = value as { code?: string; message?: string };
      errorText = `: ${err.code ? `${err.code}: ` : ''}${err.message ?? JSON.stringify(value)}`;
      continue;
    }
    extras.push(`${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  return `iron ${level}: ${String(record.msg ?? '')}${errorText}${extras.length ? ` (${extras.join(', ')})` : ''}\n`;
}

/** A pino destination writing readable lines, synchronously (so they interleave in order with other output). */
export function prettyDestination(fd: 1 | 2 = 2): DestinationStream {
  return { write: (json: string) => void writeSync(fd, formatLogLine(json)) };
}

export function createLogger(level?: LevelWithSilent, options: { format?: LogFormat } = {}): Logger {
  const chosen = level ?? logLevelFromEnv() ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(chosen)) {
    throw new ConfigError(`logLevel: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(chosen)}`, { path: 'logLevel' });
  }
  const destination = options.format === 'pretty' ? prettyDestination(2) : pino.destination(2);
  return pino({ name: 'iron', level: chosen, redact: { paths: ['*.apiKey', '*.authorization', '*.token', '*.password'], censor: '[redacted]' } }, destination);
}

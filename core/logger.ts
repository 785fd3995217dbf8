// The one place loggers are made: pino, level from options or IRON_LOG_LEVEL, to stderr so stdout stays the agent's.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createLogger(level?: LevelWithSilent): Logger {
  const chosen = level ?? (process.env.IRON_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  return pino({ name: 'iron', level: chosen, redact: { paths: ['*.apiKey', '*.authorization', '*.token', '*.password'], censor: '[redacted]' } }, pino.destination(2));
}

// The safe defaults `iron run` uses without a config file: every available built-in plugin on.
import type { IronConfig } from '../config/schema.ts';
import { BUILTIN_PLUGINS } from '../plugin-loader.ts';

/**
 * - cost: on when a budget is given (`--budget`), and whenever sync is on (the runtime's rule);
 * - safety: redacts secrets and structured PII in prompts (its own defaults);
 * - reliability: retries and a circuit breaker (its own defaults);
 * - sync: on when IRON_SERVER_URL is set (the runtime's rule, with or without a config file).
 * - telemetry: on when OTEL_EXPORTER_OTLP_ENDPOINT is set (the runtime's rule, like sync's).
 * A built-in plugin that this version does not ship is left out.
 */
export function defaultConfig(): IronConfig {
  const config: Record<string, unknown> = {};
  if (BUILTIN_PLUGINS.safety) config.safety = {};
  if (BUILTIN_PLUGINS.reliability) config.reliability = {};
  return config as IronConfig;
}

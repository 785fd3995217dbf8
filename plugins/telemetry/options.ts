// The `telemetry:` section of iron.config.yaml, and how it combines with the standard OTEL_* environment variables.
import { Type, type Static } from 'typebox';
import { ConfigError } from '../../core/errors.ts';

const Url = (description: string) => Type.String({ pattern: '^https?://', description });

export const TelemetryOptionsSchema = Type.Object(
  {
    endpoint: Type.Optional(Url('OTLP/HTTP base URL of a collector; /v1/traces and /v1/metrics are added. Env: OTEL_EXPORTER_OTLP_ENDPOINT. Default http://localhost:4318.')),
    tracesEndpoint: Type.Optional(Url('Full URL spans are sent to, used as it is. Env: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. Default: endpoint + /v1/traces.')),
    metricsEndpoint: Type.Optional(Url('Full URL metrics are sent to, used as it is. Env: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT. Default: endpoint + /v1/metrics.')),
    headers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'Headers sent with every export (an API key: ${HONEYCOMB_KEY}). Env: OTEL_EXPORTER_OTLP_HEADERS (k=v,k2=v2); a header in both is taken from here.' })),
    serviceName: Type.Optional(Type.String({ minLength: 1, description: 'service.name of the resource. Env: OTEL_SERVICE_NAME. Default iron-cage.' })),
    captureContent: Type.Optional(
      Type.Boolean({
        description:
          'Put prompts and completions on the call spans (gen_ai.input.messages, gen_ai.output.messages) as the provider saw and wrote them: after the safety plugin redacted or pseudonymized the prompt, before it restored anything in the answer. Default false.',
      }),
    ),
    exportIntervalMs: Type.Optional(Type.Integer({ minimum: 100, description: 'How often metrics are exported. Env: OTEL_METRIC_EXPORT_INTERVAL. Default 60000.' })),
    batchDelayMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Longest a finished span waits to be exported with others. Env: OTEL_BSP_SCHEDULE_DELAY. Default 5000.' })),
    flushTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long closing the runtime waits to send what is left; also the longest one export may take, retries included (at least 1000, at most 10000). Default 2000.' })),
  },
  { additionalProperties: false },
);

export type TelemetryOptions = Static<typeof TelemetryOptionsSchema>;

export interface ResolvedTelemetry {
  tracesUrl: string;
  metricsUrl: string;
  headers: Record<string, string>;
  serviceName: string;
  captureContent: boolean;
  exportIntervalMs: number;
  batchDelayMs: number;
  flushTimeoutMs: number;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318';

/** `base` + `/v1/<signal>`, as the OTLP exporter spec builds a signal URL from OTEL_EXPORTER_OTLP_ENDPOINT. */
function signalUrl(base: string, signal: 'traces' | 'metrics'): string {
  return `${base.replace(/\/+$/, '')}/v1/${signal}`;
}

/** OTEL_EXPORTER_OTLP_HEADERS: `k=v,k2=v2`, keys and values URL-encoded (the OTel spec's format). */
export function parseOtlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = decodeURIComponent(pair.slice(0, at).trim());
    if (key) headers[key.toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

function positiveInteger(env: Readonly<NodeJS.ProcessEnv>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name}: expected a positive integer of milliseconds, got ${JSON.stringify(raw)}`, { path: 'telemetry' });
  return value;
}

function checkedUrl(value: string, from: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // said below
  }
  throw new ConfigError(`${from}: expected an http(s) URL of an OTLP/HTTP collector (http://localhost:4318), got ${JSON.stringify(value)}`, { path: 'telemetry' });
}

/** The section's keys win over the environment, the environment over the OTel defaults. */
export function resolveOptions(options: TelemetryOptions, env: Readonly<NodeJS.ProcessEnv>): ResolvedTelemetry {
  const base = options.endpoint ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT') : DEFAULT_ENDPOINT);
  const tracesEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') : undefined;
  const metricsEnv = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') : undefined;
  // A section's endpoint is meant for both signals: a signal URL from the environment does not override it.
  const fromSection = options.endpoint !== undefined;
  return {
    tracesUrl: options.tracesEndpoint ?? (fromSection ? undefined : tracesEnv) ?? signalUrl(base, 'traces'),
    metricsUrl: options.metricsEndpoint ?? (fromSection ? undefined : metricsEnv) ?? signalUrl(base, 'metrics'),
    headers: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) },
    serviceName: options.serviceName ?? (env.OTEL_SERVICE_NAME || 'iron-cage'),
    captureContent: options.captureContent ?? false,
    exportIntervalMs: options.exportIntervalMs ?? positiveInteger(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000,
    batchDelayMs: options.batchDelayMs ?? positiveInteger(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? 5000,
    flushTimeoutMs: options.flushTimeoutMs ?? 2000,
  };
}

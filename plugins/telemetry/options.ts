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
    protocol: Type.Optional(Type.Union([Type.Literal('http/json'), Type.Literal('http/protobuf')], { description: 'OTLP encoding over HTTP. Env: OTEL_EXPORTER_OTLP_PROTOCOL (and _TRACES_/_METRICS_). grpc is not supported: use http/protobuf on port 4318. Default http/json.' })),
    resourceAttributes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'Resource attributes (deployment.environment.name: prod). Env: OTEL_RESOURCE_ATTRIBUTES (k=v,k2=v2); a key in both is taken from here.' })),
    maxQueueSize: Type.Optional(Type.Integer({ minimum: 1, description: 'Finished spans held for a slow collector before new ones are dropped (said in a warning). Env: OTEL_BSP_MAX_QUEUE_SIZE. Default 8192.' })),
    attributeValueLengthLimit: Type.Optional(Type.Integer({ minimum: 1, description: 'Longest string attribute value (content included); longer ones are cut. Env: OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT or OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT. Default: no limit.' })),
    flushTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long closing the runtime waits to send what is left; also the longest one export may take, retries included (at least 1000, at most 10000). Default 2000.' })),
  },
  { additionalProperties: false },
);

export type TelemetryOptions = Static<typeof TelemetryOptionsSchema>;

export interface ResolvedTelemetry {
  tracesUrl: string;
  metricsUrl: string;
  headers: Record<string, string>;
  tracesHeaders: Record<string, string>;
  metricsHeaders: Record<string, string>;
  serviceName: string;
  captureContent: boolean;
  exportIntervalMs: number;
  batchDelayMs: number;
  flushTimeoutMs: number;
  /** Per signal: how it is encoded, or 'none' (OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER=none): not exported. */
  traces: 'http/json' | 'http/protobuf' | 'none';
  metrics: 'http/json' | 'http/protobuf' | 'none';
  resourceAttributes: Record<string, string>;
  maxQueueSize: number;
  attributeValueLengthLimit?: number;
}

const DEFAULT_ENDPOINT = 'http://localhost:4318';

/** `base` + `/v1/<signal>`, as the OTLP exporter spec builds a signal URL from OTEL_EXPORTER_OTLP_ENDPOINT. */
function signalUrl(base: string, signal: 'traces' | 'metrics'): string {
  // On the path, before any query string (a collector URL may carry one).
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/${signal}`;
  return url.toString();
}

/** OTEL_EXPORTER_OTLP_PROTOCOL and its per-signal forms: what this exporter speaks, or a ConfigError that says what does. */
function protocolOf(env: Readonly<NodeJS.ProcessEnv>, signal: 'TRACES' | 'METRICS', section: 'http/json' | 'http/protobuf' | undefined): 'http/json' | 'http/protobuf' {
  if (section) return section;
  const name = env[`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`] ? `OTEL_EXPORTER_OTLP_${signal}_PROTOCOL` : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = (env[name] ?? '').trim().toLowerCase();
  if (value === '') return 'http/json';
  if (value === 'http/json' || value === 'http/protobuf') return value;
  throw new ConfigError(`${name}: ${JSON.stringify(env[name])} is not supported here: use http/protobuf or http/json (OTLP over HTTP, a collector's port 4318)${value === 'grpc' ? '; gRPC (port 4317) is not' : ''}`, { path: 'telemetry.protocol' });
}

/** OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER: otlp (the default) or none; anything else is refused, not ignored. */
function exporterOn(env: Readonly<NodeJS.ProcessEnv>, name: 'OTEL_TRACES_EXPORTER' | 'OTEL_METRICS_EXPORTER'): boolean {
  const value = (env[name] ?? '').trim().toLowerCase();
  if (value === '' || value === 'otlp') return true;
  if (value === 'none') return false;
  throw new ConfigError(`${name}: ${JSON.stringify(env[name])} is not supported here: otlp (the default) or none`, { path: 'telemetry' });
}

/** A URL for a log line: without a user or password in it. */
export function displayUrl(value: string): string {
  try {
    const url = new URL(value);
    if (!url.username && !url.password && !url.search) return value;
    // A user, a password or a query string (?api_key=…) may each carry a key: none of them is shown.
    url.username = '';
    url.password = '';
    url.search = '';
    return `${url.toString()} (credentials hidden)`;
  } catch {
    return value;
  }
}

/** OTEL_EXPORTER_OTLP_HEADERS: `k=v,k2=v2`, keys and values URL-encoded (the OTel spec's format). */
export function parseOtlpHeaders(raw: string | undefined, lowerCase = true, name = 'OTEL_EXPORTER_OTLP_HEADERS'): Record<string, string> {
  const headers: Record<string, string> = {};
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new ConfigError(`${name}: ${JSON.stringify(text.slice(0, 40))} is not valid percent-encoding (write % as %25)`, { path: 'telemetry' });
    }
  };
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const key = decode(pair.slice(0, at).trim());
    if (key) headers[lowerCase ? key.toLowerCase() : key] = decode(pair.slice(at + 1).trim());
  }
  return headers;
}

function positiveInteger(env: Readonly<NodeJS.ProcessEnv>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name}: expected a positive integer${/INTERVAL|DELAY/.test(name) ? ' of milliseconds' : ''}, got ${JSON.stringify(raw)}`, { path: 'telemetry' });
  return value;
}

function checkedUrl(value: string, from: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // said below
  }
  // (What was given, without anything that looks like a user:password@ part.)
  throw new ConfigError(`${from}: expected an http(s) URL of an OTLP/HTTP collector (http://localhost:4318), got ${JSON.stringify(value.replace(/\/\/[^/@]*@/, '//…@'))}`, { path: 'telemetry' });
}

/** The section's keys win over the environment, the environment over the OTel defaults. */
export function resolveOptions(options: TelemetryOptions, env: Readonly<NodeJS.ProcessEnv>): ResolvedTelemetry {
  const base = options.endpoint ?? (env.OTEL_EXPORTER_OTLP_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, 'OTEL_EXPORTER_OTLP_ENDPOINT') : DEFAULT_ENDPOINT);
  const tracesEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') : undefined;
  const metricsEnv = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ? checkedUrl(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT') : undefined;
  // A section's endpoint is meant for both signals: a signal URL from the environment does not override it.
  const fromSection = options.endpoint !== undefined;
  const attributeLimit = options.attributeValueLengthLimit ?? positiveInteger(env, 'OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT') ?? positiveInteger(env, 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT');
  return {
    tracesUrl: options.tracesEndpoint ?? (fromSection ? undefined : tracesEnv) ?? signalUrl(base, 'traces'),
    metricsUrl: options.metricsEndpoint ?? (fromSection ? undefined : metricsEnv) ?? signalUrl(base, 'metrics'),
    headers: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) },
    // Per signal (OTEL_EXPORTER_OTLP_TRACES_HEADERS / _METRICS_HEADERS), over the shared ones.
    tracesHeaders: parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, true, 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'),
    metricsHeaders: parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_METRICS_HEADERS, true, 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'),
    serviceName: options.serviceName ?? (env.OTEL_SERVICE_NAME || 'iron-cage'),
    captureContent: options.captureContent ?? false,
    exportIntervalMs: options.exportIntervalMs ?? positiveInteger(env, 'OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000,
    batchDelayMs: options.batchDelayMs ?? positiveInteger(env, 'OTEL_BSP_SCHEDULE_DELAY') ?? 5000,
    flushTimeoutMs: options.flushTimeoutMs ?? 2000,
    traces: exporterOn(env, 'OTEL_TRACES_EXPORTER') ? protocolOf(env, 'TRACES', options.protocol) : 'none',
    metrics: exporterOn(env, 'OTEL_METRICS_EXPORTER') ? protocolOf(env, 'METRICS', options.protocol) : 'none',
    resourceAttributes: { ...parseOtlpHeaders(env.OTEL_RESOURCE_ATTRIBUTES, false, 'OTEL_RESOURCE_ATTRIBUTES'), ...(options.resourceAttributes ?? {}) },
    maxQueueSize: options.maxQueueSize ?? positiveInteger(env, 'OTEL_BSP_MAX_QUEUE_SIZE') ?? 8192,
    ...(attributeLimit !== undefined ? { attributeValueLengthLimit: attributeLimit } : {}),
  };
}

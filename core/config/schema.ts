// The shape of `iron.config.yaml`: one TypeBox schema, which validates configs and is published as JSON Schema.
import { Type, type Static } from 'typebox';

/** A dollar amount: at least one micro-dollar (what is counted; less would round to a zero limit), at most $1e9. */
const PositiveUsd = Type.Number({ minimum: 0.000001, maximum: 1e9, description: 'US dollars (0.000001 to 1e9)' });

export const LogLevelSchema = Type.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
  { description: 'How much the runtime logs (to stderr). Default: info (the CLI: warn). Env: IRON_LOG_LEVEL.' },
);

export const ProviderSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('openai-compatible'), Type.Literal('simulated')], {
      description: 'openai, anthropic, openai-compatible (vLLM, Ollama, LM Studio, any /v1/chat/completions server) or simulated (offline).',
    }),
    baseUrl: Type.Optional(Type.String({ pattern: '^https?://', description: "The base URL the provider's SDK uses: OpenAI-style ends in /v1 (http://localhost:11434/v1), Anthropic's does not." })),
    apiKey: Type.Optional(Type.String({ description: 'The key, usually from env: ${OPENAI_API_KEY}. Agents never see it.' })),
    models: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Glob patterns of the models this provider serves (gpt-*, llama3*).' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra headers sent with every request.' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Give up on a call after this many milliseconds. Default: 600000.' })),
  },
  { additionalProperties: false },
);

export const PluginEntrySchema = Type.Union([
  Type.String({ minLength: 1, description: 'A built-in plugin name, a relative path (./plugins/my-plugin.ts) or a package name.' }),
  Type.Object(
    {
      name: Type.String({ minLength: 1, description: 'A built-in plugin name, a relative path or a package name.' }),
      options: Type.Optional(Type.Unknown({ description: "The plugin's options, validated by the plugin." })),
    },
    { additionalProperties: false },
  ),
]);

/**
 * A built-in plugin's section: present turns the plugin on (the plugin validates its own keys); `false` turns it off
 * where it would otherwise be on (sync with IRON_SERVER_URL set, safety and reliability in `iron run`).
 */
const section = (description: string) =>
  Type.Union([Type.Object({}, { additionalProperties: true }), Type.Literal(false)], { description: `${description} false: off.` });

export const IronConfigSchema = Type.Object(
  {
    logLevel: Type.Optional(LogLevelSchema),
    gateway: Type.Optional(
      Type.Object(
        {
          host: Type.Optional(Type.String({ minLength: 1, description: 'Interface the gateway listens on. Default: 127.0.0.1.' })),
          port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the gateway. Default: 0 (a free port).' })),
          maxBodyBytes: Type.Optional(Type.Integer({ minimum: 1024, description: 'Largest request body accepted (413 above). Default: 10485760 (10 MiB).' })),
        },
        { additionalProperties: false, description: 'The local LLM gateway process agents talk to.' },
      ),
    ),
    agents: Type.Optional(
      Type.Object(
        {
          stopGraceMs: Type.Optional(Type.Integer({ minimum: 0, description: 'Time between SIGTERM and SIGKILL when an agent is stopped. Default: 5000.' })),
          user: Type.Optional(Type.String({ minLength: 1, description: "Run process agents as this OS user (name or uid): then nothing of the runtime's (environment, memory, files) is readable by them. Needs a runtime running as root." })),
          group: Type.Optional(Type.String({ minLength: 1, description: "The agents' group (name or gid). Default: the user's own group." })),
        },
        { additionalProperties: false },
      ),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          limit: Type.Optional(Type.Number({ minimum: 0.000001, maximum: 1e9, description: 'Per-agent budget in USD, 0.000001 to 1e9 (the seed API: new Runtime({ budget })).' })),
          total: Type.Optional(PositiveUsd),
        },
        { additionalProperties: false, description: 'Hard spending caps, enforced by the cost plugin.' },
      ),
    ),
    providers: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), ProviderSchema, { description: 'Upstream LLM providers by name.' })),
    plugins: Type.Optional(Type.Array(PluginEntrySchema, { description: 'Plugins applied after the built-in ones, in order.' })),
    cost: Type.Optional(section('The built-in cost plugin: prices, budgets, warnings.')),
    safety: Type.Optional(section('The built-in safety plugin: PII detection and redaction.')),
    reliability: Type.Optional(section('The built-in reliability plugin: retries, timeouts, circuit breaker, fallbacks.')),
    sync: Type.Optional(section('The built-in sync plugin: reports to an Iron Cage server. On when IRON_SERVER_URL is set, unless false.')),
    telemetry: Type.Optional(section('The built-in telemetry plugin: OpenTelemetry GenAI traces and metrics over OTLP/HTTP. On when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, unless false.')),
  },
  { additionalProperties: false },
);

export type IronConfig = Static<typeof IronConfigSchema>;
export type ProviderConfig = Static<typeof ProviderSchema>;
export type PluginConfigEntry = Static<typeof PluginEntrySchema>;

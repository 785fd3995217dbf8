// The one list of environment variable names that carry secrets: `iron` keeps them out of its environment block
// (cli/secret-env.ts), and a caller's `env` never hands the runtime's own to an agent (agents/process.ts).

/** Provider keys and tokens of any service, Iron Cage's own credentials, and an OTLP exporter's headers and endpoint. */
const SECRET_NAME = /(_API_KEY|_TOKEN|_SECRET|_SECRET_KEY|_PASSWORD|_ACCESS_KEY_ID|_ACCESS_KEY|_CREDENTIALS)$|^IRON_(PII_HASH_KEY|DATABASE_URL|REDIS_URL|KEY_FILE)$|^OTEL_EXPORTER_OTLP_(TRACES_|METRICS_|LOGS_)?(HEADERS|ENDPOINT)$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

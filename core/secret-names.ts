// The one list of environment variable names that carry secrets: `iron` keeps them out of its environment block
// (cli/secret-env.ts), and a caller's `env` never hands the runtime's own to an agent (agents/process.ts).

/**
 * Provider keys and tokens of any service (as people spell them: `OPENAI_API_KEY`, `OPENAI_KEY`, `OPENAI_APIKEY`,
 * `OPENAI_AUTH_HEADER`, in any case), Iron Cage's own credentials, and an OTLP exporter's headers and endpoint.
 */
const SECRET_NAME = /(_API_?KEY|_KEY|_TOKEN|_SECRET|_SECRET_KEY|_PASSWORD|_PASSWD|_ACCESS_KEY_ID|_ACCESS_KEY|_CREDENTIALS?|_AUTH|_AUTH_HEADER)$|^(API_?KEY|TOKEN|SECRET|PASSWORD)$|^IRON_(PII_HASH_KEY|DATABASE_URL|REDIS_URL|KEY_FILE)$|^OTEL_EXPORTER_OTLP_(TRACES_|METRICS_|LOGS_)?(HEADERS|ENDPOINT)$/;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.toUpperCase());
}

/** Shorter values are not looked for inside others: a common short value would drop unrelated variables. */
export const MIN_SECRET_CHARS = 8;

/** Whether `value` holds one of `secrets` (a connection string or header built around a key: `key=sk-…;host=…`). */
export function containsSecret(value: string, secrets: Iterable<string>): boolean {
  for (const secret of secrets) if (secret.length >= MIN_SECRET_CHARS && value.includes(secret)) return true;
  return false;
}

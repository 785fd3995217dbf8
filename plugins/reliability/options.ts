// The `reliability:` section of iron.config.yaml.
import { Type, type Static } from 'typebox';

const Ms = (description: string) => Type.Integer({ minimum: 1, description: `${description} (milliseconds)` });
const Chain = Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), {
  description: 'Model (or glob) → models to try next, in order. "provider/model" pins a provider, e.g. anthropic/claude-sonnet-4-6.',
});

export const ReliabilityOptionsSchema = Type.Object(
  {
    retries: Type.Optional(
      Type.Object(
        {
          maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, description: 'Attempts per model, the first included (1: no retry). Default 3.' })),
          initialDelayMs: Type.Optional(Ms('First backoff before full jitter. Default 250')),
          maxDelayMs: Type.Optional(Ms('Longest backoff. Default 8000')),
          maxRetryAfterMs: Type.Optional(Ms('Longest Retry-After honoured; a longer one fails over instead. Default 30000')),
        },
        { additionalProperties: false, description: 'Retries with exponential backoff and full jitter, for retryable failures only.' },
      ),
    ),
    timeouts: Type.Optional(
      Type.Object(
        {
          attemptMs: Type.Optional(Ms('One attempt: the whole answer, or a stream until its first chunk. Default 60000')),
          deadlineMs: Type.Optional(Ms('The whole call until the answer starts: retries and fallbacks included. Default 180000')),
          firstTokenMs: Type.Optional(Ms('A stream must send its first content within this, or the attempt fails over. Default 30000')),
          idleMs: Type.Optional(Ms('Longest silence inside a stream after its first content. Default 60000')),
        },
        { additionalProperties: false },
      ),
    ),
    breaker: Type.Optional(
      Type.Object(
        {
          consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, description: 'Open after this many failures in a row. Default 5.' })),
          failureRate: Type.Optional(
            Type.Object(
              {
                threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Share of failed calls (0–1) that opens the breaker.' }),
                windowMs: Type.Optional(Ms('Sliding window the rate is measured over. Default 30000')),
                minimumCalls: Type.Optional(Type.Integer({ minimum: 1, description: 'Calls in the window before the rate counts. Default 10.' })),
              },
              { additionalProperties: false },
            ),
          ),
          cooldownMs: Type.Optional(Ms('Open → half-open after this long. Default 30000')),
        },
        { additionalProperties: false, description: 'A circuit breaker per provider and model.' },
      ),
    ),
    fallbacks: Type.Optional(Chain),
    contextFallbacks: Type.Optional(Chain),
    bulkhead: Type.Optional(
      Type.Record(
        Type.String({ minLength: 1 }),
        Type.Object(
          {
            maxConcurrent: Type.Integer({ minimum: 1, description: 'Calls in flight to this provider at most.' }),
            maxQueue: Type.Optional(Type.Integer({ minimum: 0, description: 'Calls waiting for a slot at most (more: IRON_PROVIDER_BUSY). Default 0.' })),
          },
          { additionalProperties: false },
        ),
        { description: 'Concurrency caps per provider name.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ReliabilityOptions = Static<typeof ReliabilityOptionsSchema>;

export interface ResolvedReliability {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  attemptMs: number;
  deadlineMs: number;
  firstTokenMs: number;
  idleMs: number;
  consecutiveFailures: number;
  failureRate?: { threshold: number; windowMs: number; minimumCalls: number };
  cooldownMs: number;
}

export function resolveOptions(options: ReliabilityOptions): ResolvedReliability {
  const rate = options.breaker?.failureRate;
  const deadlineMs = options.timeouts?.deadlineMs ?? 180_000;
  return {
    maxAttempts: options.retries?.maxAttempts ?? 3,
    initialDelayMs: options.retries?.initialDelayMs ?? 250,
    maxDelayMs: options.retries?.maxDelayMs ?? 8000,
    maxRetryAfterMs: options.retries?.maxRetryAfterMs ?? 30_000,
    // Defaults never exceed a deadline the user lowered; only explicit contradictions are errors.
    attemptMs: options.timeouts?.attemptMs ?? Math.min(60_000, deadlineMs),
    deadlineMs,
    firstTokenMs: options.timeouts?.firstTokenMs ?? Math.min(30_000, deadlineMs),
    idleMs: options.timeouts?.idleMs ?? 60_000,
    consecutiveFailures: options.breaker?.consecutiveFailures ?? 5,
    ...(rate ? { failureRate: { threshold: rate.threshold, windowMs: rate.windowMs ?? 30_000, minimumCalls: rate.minimumCalls ?? 10 } } : {}),
    cooldownMs: options.breaker?.cooldownMs ?? 30_000,
  };
}

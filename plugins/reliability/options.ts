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
          onTimeout: Type.Optional(
            Type.Union([Type.Literal('failover'), Type.Literal('retry')], {
              description: 'A timed-out attempt: failover (default) goes to the next model at once — a silent provider costs one timeout, not maxAttempts; retry tries the same model again.',
            }),
          ),
        },
        { additionalProperties: false, description: 'Retries with exponential backoff and full jitter, for retryable failures only.' },
      ),
    ),
    timeouts: Type.Optional(
      Type.Object(
        {
          attemptMs: Type.Optional(Ms('One attempt: the whole answer (a stream: until its first content). Default 25000')),
          deadlineMs: Type.Optional(Ms('The whole call until the answer starts: retries and fallbacks included. Default 55000')),
          firstTokenMs: Type.Optional(Ms('A stream must send its first content within this, counted from the moment the request is sent, or the attempt fails over. Default 10000')),
          idleMs: Type.Optional(Ms('Longest silence inside a stream after its first content; longer: the stream is recovered (or ends with IRON_TIMEOUT). Default 10000')),
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
    contentPolicyFallbacks: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }), {
        description: 'Off unless set. Model (or glob) → models to try when the provider refuses the prompt on content policy. The refusal is then not the answer the agent sees: only for teams that route such prompts elsewhere on purpose.',
      }),
    ),
    streamRecovery: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.Literal('continuation'), Type.Literal('replay'), Type.Literal('off')]), {
        description:
          'Provider name → how a stream that broke after content reached the agent is continued: continuation (re-ask with the partial answer as an assistant prefill; default for anthropic), replay (re-ask and forward only what follows the text already sent, when the new answer starts with exactly it; default for others), off.',
      }),
    ),
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
  onTimeout: 'failover' | 'retry';
  attemptMs: number;
  deadlineMs: number;
  firstTokenMs: number;
  idleMs: number;
  consecutiveFailures: number;
  failureRate?: { threshold: number; windowMs: number; minimumCalls: number };
  cooldownMs: number;
}

/**
 * The defaults leave room to recover: a silent provider costs one firstTokenMs (a stream) or attemptMs, and the
 * deadline holds a second attempt on a fallback — with a fallback configured every fault recovers within about 30 s,
 * without one the agent has an honest error within the deadline.
 */
export function resolveOptions(options: ReliabilityOptions): ResolvedReliability {
  const rate = options.breaker?.failureRate;
  const deadlineMs = options.timeouts?.deadlineMs ?? 55_000;
  const hasFallbacks = Object.keys(options.fallbacks ?? {}).length > 0;
  // Defaults never exceed a deadline the user lowered (with fallbacks, half of it); only explicit contradictions are errors.
  const room = hasFallbacks ? Math.floor(deadlineMs / 2) : deadlineMs;
  return {
    maxAttempts: options.retries?.maxAttempts ?? 3,
    initialDelayMs: options.retries?.initialDelayMs ?? 250,
    maxDelayMs: options.retries?.maxDelayMs ?? 8000,
    maxRetryAfterMs: options.retries?.maxRetryAfterMs ?? 30_000,
    onTimeout: options.retries?.onTimeout ?? 'failover',
    attemptMs: options.timeouts?.attemptMs ?? Math.min(25_000, room),
    deadlineMs,
    firstTokenMs: options.timeouts?.firstTokenMs ?? Math.min(10_000, room),
    idleMs: options.timeouts?.idleMs ?? 10_000,
    consecutiveFailures: options.breaker?.consecutiveFailures ?? 5,
    ...(rate ? { failureRate: { threshold: rate.threshold, windowMs: rate.windowMs ?? 30_000, minimumCalls: rate.minimumCalls ?? 10 } } : {}),
    cooldownMs: options.breaker?.cooldownMs ?? 30_000,
  };
}

// What a failure means: retry it, fail over, or hand it to the agent as it is.
import { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';
import { IronError, LlmError, IRON_STREAM_INTERRUPTED, IRON_TIMEOUT, IRON_UPSTREAM_BROKEN, IRON_UPSTREAM_INVALID, IRON_UPSTREAM_UNREACHABLE } from '../../core/errors.ts';

/** Statuses worth another try: timeouts, rate limits, server errors, Anthropic's 529 overloaded. */
const RETRYABLE_STATUS = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

function upstreamStatus(error: unknown): number | undefined {
  return error instanceof LlmError ? error.upstreamStatus : undefined;
}

/** Connection errors, timeouts, broken or stalled streams (before the agent saw them), and retryable statuses. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof TaskCancelledError) return true;
  if (!(error instanceof IronError)) return false;
  // Cancelled by the caller (it hung up, its signal fired): nothing to retry, and no sign of the provider's health.
  if ((error.details as { cancelled?: unknown } | undefined)?.cancelled === true) return false;
  const status = upstreamStatus(error);
  if (status !== undefined) return RETRYABLE_STATUS.has(status) && !isContextLength(error) && !isContentPolicy(error);
  return [IRON_UPSTREAM_UNREACHABLE, IRON_UPSTREAM_BROKEN, IRON_TIMEOUT, IRON_STREAM_INTERRUPTED, IRON_UPSTREAM_INVALID].includes(error.code) || /overloaded/i.test(error.message);
}

/** The attempt ran out of time (the plugin's own timeouts or the provider's). */
export function isTimeout(error: unknown): boolean {
  return error instanceof IronError && error.code === IRON_TIMEOUT;
}

/** What counts against a breaker: the provider failing, not the caller's 4xx or a rate limit (that is backpressure). */
export function isProviderFailure(error: unknown): boolean {
  return isRetryable(error) && upstreamStatus(error) !== 429 && upstreamStatus(error) !== 409;
}

/** The prompt is too long for the model: only a model with a larger context can help. */
export function isContextLength(error: unknown): boolean {
  if (!(error instanceof LlmError)) return false;
  const text = `${error.upstreamBody ?? ''} ${error.message}`;
  return /context_length_exceeded|maximum context length|prompt is too long|too many tokens|context window/i.test(text);
}

/** A content-policy refusal: retrying cannot change it; the provider's reason goes to the agent. */
export function isContentPolicy(error: unknown): boolean {
  if (!(error instanceof LlmError)) return false;
  return /content_policy|content_filter|safety system|responsible ai|content management policy/i.test(`${error.upstreamBody ?? ''} ${error.message}`);
}

/** Worth trying the next model in the chain: the same things that are retryable, plus an open breaker or a full bulkhead. */
export function shouldFailOver(error: unknown): boolean {
  return error instanceof BrokenCircuitError || error instanceof BulkheadRejectedError || isRetryable(error) || isCircuitOpen(error) || isBusy(error);
}

function isCircuitOpen(error: unknown): boolean {
  return error instanceof IronError && error.code === 'IRON_CIRCUIT_OPEN';
}

function isBusy(error: unknown): boolean {
  return error instanceof IronError && error.code === 'IRON_PROVIDER_BUSY';
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), from the provider's answer headers. */
export function retryAfterMs(error: unknown, now = Date.now()): number | undefined {
  if (!(error instanceof LlmError)) return undefined;
  const headers = error.upstreamHeaders ?? {};
  const ms = headers['retry-after-ms'];
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// Which of an agent's request headers go upstream: provider options (versions, betas), W3C trace context (so a caged
// call joins its caller's trace: the telemetry plugin reads it from ctx.forwardHeaders), never credentials, and never
// a header that chooses who is billed (an agent must not pick the organisation or project its calls are charged to).
const FORWARDED = /^(anthropic-|openai-|x-stainless-|user-agent$|traceparent$|tracestate$)/;
/** Set only by the provider's config (`providers.<name>.headers`), which is sent after and wins. */
const BILLING = new Set(['openai-organization', 'openai-project']);

export function forwardHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (FORWARDED.test(key) && !BILLING.has(key)) out[key] = value;
  }
  return out;
}

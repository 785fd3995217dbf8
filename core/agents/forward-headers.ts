// Which of an agent's request headers go upstream: the provider options the SDKs send (API version, betas), SDK
// identification, W3C trace context (so a caged call joins its caller's trace: the telemetry plugin reads it from
// ctx.forwardHeaders). Named one by one rather than by prefix: never credentials, never a header that chooses who is
// billed (`OpenAI-Organization`, `OpenAI-Project`) or relaxes the provider's checks
// (`anthropic-dangerous-direct-browser-access`), nor whatever a provider adds under its prefix next. Those are set
// only by the provider's config (`providers.<name>.headers`).
const FORWARDED = new Set(['anthropic-version', 'anthropic-beta', 'openai-beta', 'user-agent', 'traceparent', 'tracestate']);
const SDK_IDENTIFICATION = /^x-stainless-[a-z-]+$/;

export function forwardHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (FORWARDED.has(key) || SDK_IDENTIFICATION.test(key)) out[key] = value;
  }
  return out;
}

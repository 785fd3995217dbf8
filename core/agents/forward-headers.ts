// Which of an agent's request headers go upstream: provider options (versions, betas), never credentials.
const FORWARDED = /^(anthropic-|openai-|x-stainless-|user-agent$)/;

export function forwardHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (FORWARDED.test(key)) out[key] = value;
  }
  return out;
}

// Anthropic signs each thinking block it writes and refuses a later request whose thinking differs from what it
// signed. The thinking an agent reads may differ (placeholders put back, a card the model wrote redacted), so what
// the provider wrote is remembered per signature: a block the agent sends back as it read it goes back as written.
import { createHash } from 'node:crypto';

/** Signed blocks remembered per agent at most (the oldest is forgotten first): agents resend only recent turns' thinking. */
const MAX_BLOCKS = 128;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

export class SignedThinking {
  /** signature → a digest of the text the agent read, and the provider's text when it was not that one. */
  readonly #bySignature = new Map<string, { shown: string; original: string | undefined }>();

  /** A thinking block the agent was given: `shown` is what it read, `original` what the provider wrote and signed. */
  remember(signature: string, shown: string, original: string): void {
    if (signature === '') return;
    this.#bySignature.delete(signature);
    this.#bySignature.set(signature, { shown: digest(shown), original: shown === original ? undefined : original });
    if (this.#bySignature.size > MAX_BLOCKS) this.#bySignature.delete(this.#bySignature.keys().next().value!);
  }

  /**
   * What the provider wrote for a thinking block the agent sends back unchanged (its signature and the text it read),
   * or undefined when the block is not one this runtime gave it.
   */
  original(signature: unknown, text: string): string | undefined {
    if (typeof signature !== 'string') return undefined;
    const entry = this.#bySignature.get(signature);
    if (!entry || entry.shown !== digest(text)) return undefined;
    return entry.original ?? text;
  }
}

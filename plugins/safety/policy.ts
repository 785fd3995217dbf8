// What happens to each entity type in each direction: the documented defaults, overridden by `safety.entities`.
import type { PiiAction, SafetyOptions } from './options.ts';
import { ConfigError } from '../../core/errors.ts';
import { didYouMean } from '../../core/config/validate.ts';
import { ENTITY_TYPES } from './types.ts';

export type Direction = 'input' | 'output';

/**
 * Defaults, safe for production:
 * - input: every structured type is pseudonymized (the provider never sees it; the agent gets it back in the
 *   answer), secrets are redacted (nothing should ever send a key to a model);
 * - output (what the model writes that was not a placeholder): cards, SSNs, IBANs and secrets are redacted;
 *   emails, phones and IPs are reported (models legitimately write example addresses and hosts);
 * - PERSON is off (opt-in: slower and less exact); custom recognizers redact both ways.
 */
export const DEFAULT_POLICY: Record<string, Record<Direction, PiiAction>> = {
  EMAIL_ADDRESS: { input: 'pseudonymize', output: 'detect' },
  PHONE_NUMBER: { input: 'pseudonymize', output: 'detect' },
  CREDIT_CARD: { input: 'pseudonymize', output: 'redact' },
  US_SSN: { input: 'pseudonymize', output: 'redact' },
  IBAN_CODE: { input: 'pseudonymize', output: 'redact' },
  IP_ADDRESS: { input: 'pseudonymize', output: 'detect' },
  SECRET: { input: 'redact', output: 'redact' },
  PERSON: { input: 'off', output: 'off' },
};
const CUSTOM_DEFAULT: Record<Direction, PiiAction> = { input: 'redact', output: 'redact' };

export class ActionPolicy {
  readonly #actions = new Map<string, Record<Direction, PiiAction>>();

  constructor(options: Pick<SafetyOptions, 'entities' | 'recognizers'>) {
    for (const [type, actions] of Object.entries(DEFAULT_POLICY)) this.#actions.set(type, { ...actions });
    for (const recognizer of options.recognizers ?? []) if (!this.#actions.has(recognizer.type)) this.#actions.set(recognizer.type, { ...CUSTOM_DEFAULT });
    const known = [...ENTITY_TYPES, ...(options.recognizers ?? []).map((recognizer) => recognizer.type)];
    for (const type of Object.keys(options.entities ?? {})) {
      if (known.includes(type)) continue;
      // A misspelt type would keep the real one on its default action, silently: refused, naming the key.
      const guess = known.find((name) => name.startsWith(type) || type.startsWith(name)) ?? didYouMean(type, known);
      throw new ConfigError(`safety.entities.${type}: no such entity type${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${known.join(', ')} (custom types come from safety.recognizers)`, { path: `safety.entities.${type}` });
    }
    for (const [type, policy] of Object.entries(options.entities ?? {})) {
      const current = this.#actions.get(type) ?? { ...CUSTOM_DEFAULT };
      if (typeof policy === 'string') this.#actions.set(type, { input: policy, output: policy });
      else this.#actions.set(type, { input: policy.input ?? current.input, output: policy.output ?? current.output });
    }
  }

  actionFor(type: string, direction: Direction): PiiAction {
    return this.#actions.get(type)?.[direction] ?? 'off';
  }

  /** Types some direction acts on: the detector looks only for these. */
  activeTypes(): string[] {
    return [...this.#actions].filter(([, actions]) => actions.input !== 'off' || actions.output !== 'off').map(([type]) => type);
  }

  isActive(type: string, direction: Direction): boolean {
    return this.actionFor(type, direction) !== 'off';
  }
}

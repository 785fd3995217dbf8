// `iron-cage/plugins/safety`: finds personal data and secrets in prompts and answers, and redacts, masks,
// pseudonymizes or blocks them. On by default in `iron run`.
import { definePlugin } from '../../core/plugin.ts';
import { loadPersonRecognizer } from './detect/person.ts';
import { safetyConfigWarnings } from './config-audit.ts';
import { SafetyOptionsSchema } from './options.ts';
import { ActionPolicy } from './policy.ts';
import { SafetyGuard, warnOnceOnLimit } from './plugin.ts';

export default definePlugin({
  name: 'safety',
  options: SafetyOptionsSchema,
  async apply(runtime, options) {
    const policy = new ActionPolicy(options);
    const logger = runtime.logger.child({ plugin: 'safety' });
    for (const warning of safetyConfigWarnings(options, policy)) logger.warn(warning);
    const onLimit = warnOnceOnLimit(logger);
    const person = policy.activeTypes().includes('PERSON') ? await loadPersonRecognizer({ ...options.person, onLimit }) : undefined;
    new SafetyGuard(runtime, options, person, onLimit).apply();
  },
});

export { detectPii, createDetector, STRUCTURED_TYPES, type DetectOptions, type PiiDetector } from './detect/index.ts';
export { loadPersonRecognizer, type PersonOptions } from './detect/person.ts';
export { ENTITY_TYPES, type EntityType, type PiiFinding, type Recognizer, type ScanLimit } from './types.ts';
export { DEFAULT_POLICY, type Direction } from './policy.ts';
export { maskValue } from './redact.ts';
export type { SafetyOptions, PiiAction } from './options.ts';
export type { PiiAlert } from './events.ts';

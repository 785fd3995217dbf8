// What a valid safety config turns off without saying so: every entity off, an allow-list entry that lets every value
// through, a minScore no finding of a type can reach, a custom recognizer that can never report. Said at start (the
// plugin's logger, `iron scan`'s stderr): a guard that is off must say so.
import { endsAfterWideRepeat, linearEngineReads, needsLinearEngine } from './detect/custom.ts';
import { createDetector } from './detect/index.ts';
import type { SafetyOptions } from './options.ts';
import type { ActionPolicy } from './policy.ts';

/** A clear value of each built-in type, in the words that give it its best score, and the value itself. */
const CLEAR_VALUES: Record<string, { text: string; value: string }> = {
  EMAIL_ADDRESS: { text: 'Write to jane.doe@example.org today.', value: 'jane.doe@example.org' },
  PHONE_NUMBER: { text: 'Call my mobile phone: +44 20 7946 0958.', value: '+44 20 7946 0958' },
  CREDIT_CARD: { text: 'Card number 4111 1111 1111 1111.', value: '4111 1111 1111 1111' },
  US_SSN: { text: 'My SSN is 536-22-1234.', value: '536-22-1234' },
  IBAN_CODE: { text: 'IBAN DE89 3704 0044 0532 0130 00.', value: 'DE89 3704 0044 0532 0130 00' },
  IP_ADDRESS: { text: 'The server is at 203.0.113.7 now.', value: '203.0.113.7' },
  SECRET: { text: 'GITHUB_TOKEN=ghp_R8cW2tQ9mZ4xV7nB1kL5pJ3hG6fD0sA2eY8u', value: 'ghp_R8cW2tQ9mZ4xV7nB1kL5pJ3hG6fD0sA2eY8u' },
};

/**
 * Common ways of writing a type that score below its clear value: a minScore between the two drops each of them with
 * no other sign (an outside review set 0.75 and lost every password and `NAME=value` secret, silently).
 */
const COMMON_FORMS: Record<string, Array<{ form: string; text: string }>> = {
  SECRET: [
    { form: 'a password in a config line', text: 'DB_PASSWORD=Tr0ub4dor3x' },
    { form: 'a password in prose', text: 'my password is hunter2!' },
    { form: 'a Bearer token', text: 'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0' },
    { form: 'a key assigned in code', text: 'api_key = "sk-proj-abc123DEF456ghi789JKL012mno345PQR678"' },
    { form: 'a password on a command line', text: 'curl -u admin:S3cure!Pass https://ci.example.com' },
    { form: 'a password in a URL', text: 'postgres://app:S3cure9Pass@db:5432/app' },
  ],
  PHONE_NUMBER: [
    { form: 'a national number with no phone word', text: 'Jane Smith, 415-867-5309' },
    { form: 'an area code in brackets', text: '(415) 867-5309' },
    { form: 'ten digits under a JSON key', text: '{"contactPhone": "4158675309"}' },
    { form: 'a national number after a phone word', text: 'My phone: 07911 123456' },
  ],
  // (Outside review 14: `minScore: 0.85` let a card through, and 0.9 an SSN, with no word said.)
  CREDIT_CARD: [{ form: 'a card number with no word beside it', text: 'Alice 5500 0000 0000 0004' }],
  US_SSN: [{ form: 'an SSN written without dashes', text: 'my ssn is 536221947' }],
};

/** Warnings for `options` (already valid) whose effect is that some or all personal data goes through unseen. */
export function safetyConfigWarnings(options: SafetyOptions, policy: ActionPolicy): string[] {
  const active = policy.activeTypes();
  if (active.length === 0) {
    return ['safety is on, but every entity is off (safety.entities): nothing is looked for, and prompts reach the provider as written. Give an entity an action, or leave safety out of plugins'];
  }
  const warnings: string[] = [];
  // One direction off for every entity (`{ input: off }` each): prompts, or answers, go through unread.
  for (const [direction, what] of [['input', 'prompts reach the provider as written'], ['output', "answers reach the agent unread (placeholders are still restored)"]] as const) {
    if (!active.some((type) => policy.isActive(type, direction))) warnings.push(`safety.entities: every entity is off on ${direction}, so ${what}. Give an entity an ${direction} action, or drop the { ${direction}: off }`);
  }
  const minScore = options.minScore ?? 0.5;
  const builtIn = Object.keys(CLEAR_VALUES).filter((type) => active.includes(type));
  const probe = createDetector({ entities: builtIn, minScore: 0, phoneRegions: options.phoneRegions ?? [] });
  /** The best score `type` gets in `text` (0: not found). */
  const bestScore = (text: string, type: string) => Math.max(0, ...probe.detect(text).filter((finding) => finding.type === type).map((finding) => finding.score));
  for (const type of builtIn) {
    const { text } = CLEAR_VALUES[type]!;
    const best = bestScore(text, type);
    if (best < minScore) {
      warnings.push(`safety.minScore ${minScore} is above what ${type} scores even for a clear value (${round(best)} for ${JSON.stringify(text)}): no ${type} is found. Lower safety.minScore to ${round(best)} or below`);
      continue;
    }
    const dropped = (COMMON_FORMS[type] ?? [])
      .map(({ form, text: sample }) => ({ form, sample, score: bestScore(sample, type) }))
      .filter(({ score }) => score > 0 && score < minScore);
    if (dropped.length > 0) {
      const lowest = Math.min(...dropped.map(({ score }) => score));
      const forms = dropped.map(({ form, sample, score }) => `${form} (${JSON.stringify(sample)} scores ${round(score)})`).join(', ');
      warnings.push(`safety.minScore ${minScore} drops common ${type} values, which then reach the provider unseen: ${forms}. Lower safety.minScore to ${round(lowest)} or below to find them`);
    }
  }
  (options.recognizers ?? []).forEach((recognizer, i) => {
    // (V8 runs it in windows of 2,048 characters: a longer match never ends inside one, so it goes unseen.)
    if (!needsLinearEngine(recognizer.pattern) && endsAfterWideRepeat(recognizer.pattern) && !linearEngineReads(recognizer)) {
      warnings.push(
        `safety.recognizers[${i}] (${recognizer.type}) can match without bound and then needs more after it, but has a lookahead or a backreference, so it runs on V8's engine in windows of 2,048 characters: a match longer than about 2,000 characters is not found. Drop the lookahead or backreference (the pattern then runs on RE2's linear-time engine, where matches of up to 16 KB are found), or bound its repetitions`,
      );
    }
    const context = (recognizer.context?.length ?? 0) > 0;
    const best = Math.min(1, (recognizer.score ?? 0.6) + (context ? (recognizer.contextBoost ?? 0.35) : 0));
    if (best >= minScore || !active.includes(recognizer.type)) return;
    warnings.push(
      `safety.recognizers[${i}] (${recognizer.type}) scores at most ${round(best)}${context ? ' with a context word' : ' (it has no context words)'}, below safety.minScore ${minScore}: it never reports. Raise its score${context ? ' or contextBoost' : ', or give it context words'}, or lower safety.minScore`,
    );
  });
  // An allow-list entry that lets the clear value of every type through allows everything (`/.*/`, `/./`, `/^/`).
  const clear = builtIn.map((type) => CLEAR_VALUES[type]!);
  const allowsEverything = (allow: string[]) => {
    const allowing = createDetector({ entities: builtIn, minScore: 0, allow, phoneRegions: options.phoneRegions ?? [] });
    return clear.length >= 2 && !clear.some(({ text, value }) => allowing.detect(text).some((finding) => text.slice(finding.start, finding.end) === value));
  };
  const allow = options.allow ?? [];
  const alone = allow.filter((entry, i) => {
    if (!allowsEverything([entry])) return false;
    warnings.push(`safety.allow[${i}] (${JSON.stringify(entry)}) lets every value through — an e-mail address, a card, a key alike: nothing is reported or redacted. Allow the values you mean (support@example.com, "/@example\\.com$/")`);
    return true;
  });
  // Entries that do it together (`['/@/', '/\d/']`: every e-mail, every value with a digit).
  if (alone.length === 0 && allow.length >= 2 && allowsEverything(allow)) {
    warnings.push(`safety.allow (${allow.map((entry) => JSON.stringify(entry)).join(', ')}) lets every value through together — an e-mail address, a card, a key alike: nothing is reported or redacted. Allow the values you mean`);
  }
  return warnings;
}

function round(score: number): number {
  return Math.round(score * 100) / 100;
}

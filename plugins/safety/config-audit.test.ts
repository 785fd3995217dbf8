// A valid safety config that lets personal data through unseen says so at start (outside review 11: `allow: ['/.*/']`,
// every entity off, `minScore: 1` and a custom recognizer below minScore were all silent).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../core/index.ts';
import { safetyConfigWarnings } from './config-audit.ts';
import type { SafetyOptions } from './options.ts';
import { ActionPolicy } from './policy.ts';

const warningsFor = (options: SafetyOptions) => safetyConfigWarnings(options, new ActionPolicy(options));
const ALL_OFF = { EMAIL_ADDRESS: 'off', PHONE_NUMBER: 'off', CREDIT_CARD: 'off', US_SSN: 'off', IBAN_CODE: 'off', IP_ADDRESS: 'off', SECRET: 'off' } as const;

describe('safetyConfigWarnings', () => {
  it('says nothing of the defaults, of allow-list entries that allow some values, and of a reachable minScore', () => {
    for (const options of [{}, { allow: ['/@example\\.org$/', 'support@example.com', '/^10\\./'] }, { minScore: 0.6 }, { entities: { EMAIL_ADDRESS: 'off' as const } }]) {
      expect(warningsFor(options), JSON.stringify(options)).toEqual([]);
    }
    expect(warningsFor({ recognizers: [{ type: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', score: 0.3, context: ['employee'] }] })).toEqual([]);
  });

  it('says when a pattern whose matches can be long runs in short windows (a lookahead keeps it off RE2: outside review 16)', () => {
    const [warning] = warningsFor({ recognizers: [{ type: 'BLOB', pattern: 'BEGIN[A-Z0-9]{100,}(?=END)' }] });
    expect(warning).toMatch(/^safety\.recognizers\[0\] \(BLOB\) can match without bound and then needs more after it, but has a lookahead or a backreference, .* a match longer than about 2,000 characters is not found/);
    // RE2 reads these, so their long matches are found: nothing to say.
    expect(warningsFor({ recognizers: [{ type: 'BLOB', pattern: 'BEGINBLOB[A-Za-z0-9]{100,}ENDBLOB' }, { type: 'CERT', pattern: '-----BEGIN CERT-----[\\s\\S]+?-----END CERT-----' }] })).toEqual([]);
  });

  it('says when every entity is off', () => {
    expect(warningsFor({ entities: ALL_OFF })).toEqual([
      'safety is on, but every entity is off (safety.entities): nothing is looked for, and prompts reach the provider as written. Give an entity an action, or leave safety out of plugins',
    ]);
  });

  it('says when every entity is off in one direction (outside review 12)', () => {
    const entities = Object.fromEntries(Object.keys(ALL_OFF).map((type) => [type, { input: 'off' as const }]));
    expect(warningsFor({ entities })).toEqual([
      'safety.entities: every entity is off on input, so prompts reach the provider as written. Give an entity an input action, or drop the { input: off }',
    ]);
    const outputOff = Object.fromEntries(Object.keys(ALL_OFF).map((type) => [type, { output: 'off' as const }]));
    expect(warningsFor({ entities: outputOff })[0]).toMatch(/^safety.entities: every entity is off on output, so answers reach the agent unread/);
  });

  it('names an allow-list entry that lets every value through', () => {
    for (const entry of ['/.*/', '/./', '/^/', '/[\\s\\S]*/i']) {
      expect(warningsFor({ allow: ['support@example.com', entry] })).toEqual([
        `safety.allow[1] (${JSON.stringify(entry)}) lets every value through — an e-mail address, a card, a key alike: nothing is reported or redacted. Allow the values you mean (support@example.com, "/@example\\.com$/")`,
      ]);
    }
  });

  it('says when allow-list entries let every value through together (outside review 12)', () => {
    expect(warningsFor({ allow: ['/@/', '/\\d/'] })).toEqual([
      'safety.allow ("/@/", "/\\\\d/") lets every value through together — an e-mail address, a card, a key alike: nothing is reported or redacted. Allow the values you mean',
    ]);
    expect(warningsFor({ allow: ['/@example\\.org$/', '/^10\\./'] })).toEqual([]);
  });

  it('names each type a minScore leaves out, with the score a clear value of it gets', () => {
    const warnings = warningsFor({ minScore: 1 }).filter((warning) => warning.includes('even for a clear value'));
    expect(warnings.map((warning) => /what (\w+) scores/.exec(warning)?.[1])).toEqual(['EMAIL_ADDRESS', 'IBAN_CODE', 'IP_ADDRESS', 'SECRET']);
    expect(warnings[0]).toBe('safety.minScore 1 is above what EMAIL_ADDRESS scores even for a clear value (0.95 for "Write to jane.doe@example.org today."): no EMAIL_ADDRESS is found. Lower safety.minScore to 0.95 or below');
  });

  it('names the common forms of a type a minScore drops, though its clearest values pass (outside reviews 13 and 14)', () => {
    /** Each warned type and the forms named for it. */
    const named = (minScore: number) =>
      Object.fromEntries(
        warningsFor({ minScore }).map((warning) => {
          const [, type, forms] = /drops common (\w+) values, which then reach the provider unseen: (.*)\. Lower/.exec(warning)!;
          return [type, [...forms!.matchAll(/(?:^|\), )([a-zA-Z ]+?) \(/g)].map((m) => m[1])];
        }),
      );
    expect(named(0.75)).toEqual({
      PHONE_NUMBER: ['a national number with no phone word', 'an area code in brackets', 'ten digits under a JSON key'],
      SECRET: ['a password in a config line', 'a password in prose', 'a Bearer token', 'a key assigned in code'],
    });
    expect(named(0.85)).toEqual({
      PHONE_NUMBER: ['a national number with no phone word', 'an area code in brackets', 'ten digits under a JSON key'],
      SECRET: ['a password in a config line', 'a password in prose', 'a Bearer token', 'a key assigned in code'],
      CREDIT_CARD: ['a card number with no word beside it'],
    });
    expect(named(0.9)).toMatchObject({
      PHONE_NUMBER: ['a national number with no phone word', 'an area code in brackets', 'ten digits under a JSON key', 'a national number after a phone word'],
      SECRET: ['a password in a config line', 'a password in prose', 'a Bearer token', 'a key assigned in code', 'a password on a command line', 'a password in a URL'],
      US_SSN: ['an SSN written without dashes'],
    });
    expect(warningsFor({ minScore: 0.65 })).toEqual([
      'safety.minScore 0.65 drops common PHONE_NUMBER values, which then reach the provider unseen: an area code in brackets ("(415) 867-5309" scores 0.6). Lower safety.minScore to 0.6 or below to find them',
    ]);
  });

  it('names a custom recognizer that can never reach minScore', () => {
    expect(warningsFor({ recognizers: [{ type: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', score: 0.3 }] })).toEqual([
      'safety.recognizers[0] (EMPLOYEE_ID) scores at most 0.3 (it has no context words), below safety.minScore 0.5: it never reports. Raise its score, or give it context words, or lower safety.minScore',
    ]);
    // The default score (0.6) and context boost (0.35): 0.95 at most.
    expect(warningsFor({ minScore: 0.97, recognizers: [{ type: 'EMPLOYEE_ID', pattern: 'EMP-\\d{6}', context: ['employee'] }] }).at(-1)).toBe(
      'safety.recognizers[0] (EMPLOYEE_ID) scores at most 0.95 with a context word, below safety.minScore 0.97: it never reports. Raise its score or contextBoost, or lower safety.minScore',
    );
  });
});

describe('the safety plugin at start', () => {
  let runtime: Runtime | undefined;
  afterEach(() => runtime?.close());

  it('logs each warning once, as a warning of the safety plugin', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    runtime = new Runtime({ logger, config: { safety: { allow: ['/.*/'] } } });
    await runtime.ready();
    const logged = lines.map((line) => JSON.parse(line) as { level: number; plugin?: string; msg: string }).filter((line) => line.msg.startsWith('safety.allow'));
    expect(logged).toEqual([expect.objectContaining({ level: 40, plugin: 'safety', msg: expect.stringContaining('safety.allow[0] ("/.*/") lets every value through') })]);
  });
});

// The `safety:` section of iron.config.yaml.
import { Type, type Static } from 'typebox';

export const ACTIONS = ['off', 'detect', 'redact', 'mask', 'pseudonymize', 'block'] as const;
export type PiiAction = (typeof ACTIONS)[number];

const ActionSchema = Type.Union([Type.Literal('off'), Type.Literal('detect'), Type.Literal('redact'), Type.Literal('mask'), Type.Literal('pseudonymize'), Type.Literal('block')], {
  description:
    'off: not looked for. detect: report only. redact: replace with [TYPE]. mask: keep the last characters (****1234). pseudonymize: replace with <TYPE_1>, restored in the answer. block: refuse the call (IRON_PII_BLOCKED).',
});

export const EntityPolicySchema = Type.Union([
  ActionSchema,
  Type.Object(
    {
      input: Type.Optional(ActionSchema),
      output: Type.Optional(ActionSchema),
    },
    { additionalProperties: false, description: 'Separate actions for what the agent sends (input) and what the model answers (output).' },
  ),
]);

export const RecognizerSchema = Type.Object(
  {
    type: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', description: 'Entity type of the findings, e.g. EMPLOYEE_ID.' }),
    pattern: Type.String({ minLength: 1, description: 'A JavaScript regular expression (no slashes), e.g. "\\\\bEMP-\\\\d{6}\\\\b".' }),
    flags: Type.Optional(Type.String({ pattern: '^[imsu]*$', description: 'Regex flags: i, m, s, u.' })),
    validator: Type.Optional(Type.Union([Type.Literal('luhn'), Type.Literal('iban')], { description: 'A checksum the match must pass.' })),
    context: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Words near a match that raise its score.' })),
    score: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Score without context (default 0.6).' })),
    contextBoost: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Added when a context word is near (default 0.35).' })),
    timeBudgetMs: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Matching stops after this long per text (default 50); the rest of that text then counts as one finding of this type, so its action covers what was not searched.' }),
    ),
  },
  { additionalProperties: false },
);

export const SafetyOptionsSchema = Type.Object(
  {
    entities: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Z][A-Z0-9_]*$' }), EntityPolicySchema, {
        description:
          'Action per entity type (EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, US_SSN, IBAN_CODE, IP_ADDRESS, SECRET, PERSON, or a custom type): one action for both directions, or { input, output }. Unlisted types keep their defaults.',
      }),
    ),
    minScore: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'Findings scoring below this are ignored. Default 0.5.' })),
    phoneRegions: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), {
        uniqueItems: true,
        description: 'Regions (ISO 3166 codes) whose national phone formats are found without a context word, e.g. [US, FR]. Numbers with a + country code are found for every region.',
      }),
    ),
    allow: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Values never reported: exact strings (case-insensitive) or /regex/flags, e.g. support@example.com or "/@example\\\\.com$/".',
      }),
    ),
    recognizers: Type.Optional(Type.Array(RecognizerSchema, { description: 'Custom recognizers: pattern, optional validator, context words, score.' })),
    person: Type.Optional(
      Type.Object(
        {
          maxChars: Type.Optional(Type.Integer({ minimum: 1, description: 'Only the first maxChars of each text are searched for names. Default 20000.' })),
          timeBudgetMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Name search stops after this long per text. Default 50.' })),
        },
        { additionalProperties: false, description: 'Bounds of the PERSON finder (on when entities.PERSON has an action).' },
      ),
    ),
    mask: Type.Optional(
      Type.Object(
        {
          keep: Type.Optional(Type.Integer({ minimum: 0, maximum: 8, description: 'Trailing characters the mask action keeps. Default 4.' })),
          char: Type.Optional(Type.String({ minLength: 1, maxLength: 1, description: 'Mask character. Default *.' })),
        },
        { additionalProperties: false },
      ),
    ),
    hashKey: Type.Optional(Type.String({ minLength: 16, description: 'Key of the HMAC that PiiAlert events carry instead of values (so the same value can be correlated across runs). Default: random per runtime.' })),
  },
  { additionalProperties: false },
);

export type SafetyOptions = Static<typeof SafetyOptionsSchema>;
export type EntityPolicy = Static<typeof EntityPolicySchema>;

// The `cost:` section of iron.config.yaml.
import { Type, type Static } from 'typebox';

const UsdPerMillion = (what: string) => Type.Number({ minimum: 0, description: `USD per million ${what} tokens` });

/** How long a call that does not fit waits for calls in flight to settle (cost.waitMs): local and server budgets alike. */
export const DEFAULT_WAIT_MS = 10_000;

export const PriceOverrideSchema = Type.Object(
  {
    input: UsdPerMillion('input'),
    output: UsdPerMillion('output'),
    cacheRead: Type.Optional(UsdPerMillion('cached input (read)')),
    cacheWrite: Type.Optional(UsdPerMillion('cached input (write)')),
    cacheWrite1h: Type.Optional(UsdPerMillion('cached input written for an hour (default: twice input)')),
    webSearchesPerThousand: Type.Optional(Type.Number({ minimum: 0, description: 'USD per 1,000 server-side web searches (default 10)' })),
    reasoning: Type.Optional(UsdPerMillion('reasoning')),
    maxOutputTokens: Type.Optional(Type.Integer({ minimum: 1, description: 'The most output one call can produce (what a reservation covers without max_tokens).' })),
  },
  { additionalProperties: false },
);

const UsdLimits = Type.Record(Type.String({ minLength: 1 }), Type.Number({ exclusiveMinimum: 0 }), { description: 'USD limits by name (globs allowed for models).' });

export const CostOptionsSchema = Type.Object(
  {
    prices: Type.Optional(Type.Record(Type.String({ minLength: 1 }), PriceOverrideSchema, { description: 'Prices for custom, fine-tuned or self-hosted models (override the catalog). Keys may be globs.' })),
    unknownModel: Type.Optional(Type.Union([Type.Literal('block'), Type.Literal('warn')], { description: 'A model without a known price: refuse the call (block, the default) or let it through uncounted with a warning.', default: 'block' })),
    onExceeded: Type.Optional(Type.Union([Type.Literal('block'), Type.Literal('stop')], { description: 'When a budget is exhausted: refuse calls (block, the default) or also stop the agent (stop, status budget_exceeded).', default: 'block' })),
    warnAt: Type.Optional(Type.Array(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 100 }), { description: 'Percent of a budget at which BudgetWarning fires, once each. Default: [50, 80, 95].', default: [50, 80, 95] })),
    reservation: Type.Optional(
      Type.Union([Type.Literal('worst-case'), Type.Literal('metered')], {
        description:
          'worst-case (default): reserve input + max_tokens (or the model output maximum) before each call. metered, for calls without max_tokens: a non-streamed call gets max_tokens lowered to what the budget affords (refused below 16 tokens); a stream reserves ahead of what it has received, counted in bytes (a bound on tokens for any text), and is cut when it cannot reserve further; OpenAI reasoning models, which bill tokens they do not stream, are capped like non-streamed calls.',
        default: 'worst-case',
      }),
    ),
    waitMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'A call that does not fit while other calls hold reservations in the same budget waits up to this long for them to settle (what they do not spend comes back) before it is refused. 0 refuses at once. Default 10000.',
      }),
    ),
    budgets: Type.Optional(
      Type.Object(
        {
          models: Type.Optional(UsdLimits),
          providers: Type.Optional(UsdLimits),
        },
        { additionalProperties: false, description: 'Runtime-wide limits per model and per provider, besides budget.limit and budget.total.' },
      ),
    ),
  },
  { additionalProperties: false },
);

export type CostOptions = Static<typeof CostOptionsSchema>;

// The `cost:` section of iron.config.yaml.
import { Type, type Static } from 'typebox';

const UsdPerMillion = (what: string) => Type.Number({ minimum: 0, description: `USD per million ${what} tokens` });

export const PriceOverrideSchema = Type.Object(
  {
    input: UsdPerMillion('input'),
    output: UsdPerMillion('output'),
    cacheRead: Type.Optional(UsdPerMillion('cached input (read)')),
    cacheWrite: Type.Optional(UsdPerMillion('cached input (write)')),
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
          'worst-case (default): reserve input + max_tokens (or the model output maximum) before each call. metered: a call without max_tokens reserves its input only; streams are cut when the next tokens would pass the budget, and non-streamed calls get max_tokens lowered to what the budget affords.',
        default: 'worst-case',
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

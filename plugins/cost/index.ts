// `iron-cage/plugins/cost`: exact prices, token counting and hard budgets. On by default when a budget is set.
import { definePlugin } from '../../core/plugin.ts';
import { CostOptionsSchema } from './options.ts';
import { CostKeeper } from './plugin.ts';

export default definePlugin({
  name: 'cost',
  options: CostOptionsSchema,
  apply(runtime, options) {
    new CostKeeper(runtime, options).apply();
  },
});

export type { CostOptions } from './options.ts';
export type { CostUpdate, BudgetWarning, BudgetExceeded } from './events.ts';
export { PriceBook, costOf, worstCaseOf, type ModelPricing, type PriceOverride } from './prices.ts';
export { inputTokensCounted, inputTokensUpperBound, countText } from './tokens.ts';
export { usdToMicros, microsToUsd, formatUsd, type Micros } from './money.ts';

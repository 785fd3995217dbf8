// Prices per model: the maintained @pydantic/genai-prices catalog, overridden by `cost.prices` from YAML.
import { calcPrice, type ModelPrice, type PriceCalculation } from '@pydantic/genai-prices';
import type { Usage } from '../../core/llm/types.ts';
import type { Micros } from './money.ts';
import { globToRegExp } from '../../core/glob.ts';

/** Prices in USD per million tokens, as written in YAML. */
export interface PriceOverride {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** Cached input written for an hour (default: twice the input price, as Anthropic bills it). */
  cacheWrite1h?: number;
  /** USD per 1,000 server-side web searches (default 10, Anthropic's price). */
  webSearchesPerThousand?: number;
  /** Reasoning tokens (default: the output price). */
  reasoning?: number;
  /** The most output tokens one call can produce (the worst case a reservation covers). */
  maxOutputTokens?: number;
}

/** A model's prices in micro-USD per million tokens (integers, so sums are exact) and what bounds its output. */
export interface ModelPricing {
  /** The id the prices belong to (the catalog's family id for dated ids, or the YAML key). */
  modelId: string;
  providerId: string | null;
  source: 'catalog' | 'config';
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  /** Micro-USD per web search. */
  webSearch: number;
  reasoning: number;
  contextWindow: number | null;
  maxOutputTokens: number;
  /** The catalog's own calculation, for prices the simple formula cannot express (tiers, special units). */
  exact?: (usage: Usage) => PriceCalculation | null;
}

/** Anthropic's price for server-side web searches, USD per 1,000 (for models the catalog gives none). */
const DEFAULT_WEB_SEARCHES_PER_THOUSAND = 10;

/** Output limits of common model families, for reservations when a call sets no `max_tokens`. */
const OUTPUT_LIMITS: Array<[RegExp, number]> = [
  [/^gpt-5/, 128_000],
  [/^(o1|o3|o4)/, 100_000],
  [/^gpt-4\.1/, 32_768],
  [/^gpt-4o/, 16_384],
  [/^(gpt-4-turbo|gpt-4-\d{4}|gpt-4$|gpt-3\.5)/, 4_096],
  [/^claude-(opus-4-[5-9]|opus-[5-9])/, 64_000],
  [/^claude-opus-4/, 32_000],
  [/^claude-(sonnet|haiku)-4/, 64_000],
  [/^claude-(sonnet|haiku|opus)-[5-9]/, 64_000],
  [/^claude-3-7/, 64_000],
  [/^claude-3/, 8_192],
];
const FALLBACK_OUTPUT_LIMIT = 32_768;

/** Catalog price keys the simple formula covers; anything else (audio, tiers, reasoning) takes the exact path. */
const SIMPLE_KEYS = new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok', 'cache_write_1h_mtok', 'web_searches_kcount', 'storage_searches_kcount', 'requests_kcount']);

/** USD per million tokens to micro-USD per million tokens (an integer for any price with ≤ 6 decimals). */
const perMillion = (usdPerMtok: number): number => Math.round(usdPerMtok * 1_000_000);

function catalogUsage(usage: Usage): Record<string, number> {
  const out: Record<string, number> = { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens };
  if (usage.cacheReadTokens) out.cache_read_tokens = usage.cacheReadTokens;
  if (usage.cacheWriteTokens) out.cache_write_tokens = usage.cacheWriteTokens;
  if (usage.cacheWrite1hTokens) out.cache_write_1h_tokens = Math.min(usage.cacheWrite1hTokens, usage.cacheWriteTokens);
  if (usage.webSearches) out.web_searches = usage.webSearches;
  if (usage.reasoningTokens) out.output_reasoning_tokens = usage.reasoningTokens;
  return out;
}

function outputLimit(modelId: string, contextWindow: number | null): number {
  const known = OUTPUT_LIMITS.find(([pattern]) => pattern.test(modelId))?.[1];
  return known ?? contextWindow ?? FALLBACK_OUTPUT_LIMIT;
}

/** Catalog ids for the provider types Iron Cage routes to (compatible servers let the catalog guess). */
function catalogProvider(providerType: string): string | undefined {
  return providerType === 'openai' || providerType === 'anthropic' ? providerType : undefined;
}

export class PriceBook {
  readonly #overrides: Array<{ pattern: RegExp; key: string; price: PriceOverride }>;
  readonly #cache = new Map<string, { pricing: ModelPricing | null; at: number }>();
  /** Catalog prices can change by date (announced price changes): look again after this long. */
  readonly #ttlMs = 10 * 60_000;

  constructor(overrides: Record<string, PriceOverride> = {}) {
    this.#overrides = Object.entries(overrides).map(([key, price]) => ({ key, pattern: globToRegExp(key), price }));
  }

  /** The pricing of `model` as sent to a provider of `providerType`, or null when neither YAML nor the catalog knows it. */
  lookup(model: string, providerType: string): ModelPricing | null {
    const key = `${providerType}\u0000${model}`;
    const cached = this.#cache.get(key);
    const now = Date.now();
    if (cached && now - cached.at < this.#ttlMs) return cached.pricing;
    const pricing = this.#resolve(model, providerType);
    this.#cache.set(key, { pricing, at: now });
    return pricing;
  }

  #resolve(requested: string, providerType: string): ModelPricing | null {
    let model = requested;
    const override = this.#overrides.find((entry) => entry.pattern.test(model));
    if (override) {
      const { price } = override;
      return {
        modelId: override.key,
        providerId: null,
        source: 'config',
        input: perMillion(price.input),
        output: perMillion(price.output),
        cacheRead: perMillion(price.cacheRead ?? price.input),
        cacheWrite: perMillion(price.cacheWrite ?? price.input),
        cacheWrite1h: perMillion(price.cacheWrite1h ?? price.input * 2),
        webSearch: Math.round(((price.webSearchesPerThousand ?? DEFAULT_WEB_SEARCHES_PER_THOUSAND) / 1000) * 1_000_000),
        reasoning: perMillion(price.reasoning ?? price.output),
        contextWindow: null,
        maxOutputTokens: price.maxOutputTokens ?? outputLimit(model, null),
      };
    }
    let providerId = catalogProvider(providerType);
    let probe = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId ? { providerId } : {});
    const slash = model.lastIndexOf('/');
    if (!probe && slash > 0) {
      // Gateway-style ids (`openai/gpt-4o`, `anthropic/claude-sonnet-4-6`): the prefix names the catalog provider.
      const prefix = model.slice(0, model.indexOf('/'));
      probe = calcPrice({ input_tokens: 1, output_tokens: 1 }, model.slice(slash + 1), { providerId: prefix });
      if (!probe) probe = calcPrice({ input_tokens: 1, output_tokens: 1 }, model.slice(slash + 1));
      if (probe) {
        providerId = probe.provider.id;
        model = model.slice(slash + 1);
      }
    }
    if (!probe) return null;
    const price = probe.model_price as ModelPrice;
    // A tiered price (Claude Sonnet 4.5's input above 200k tokens) counts at its dearest tier here: these figures
    // bound reservations, and the exact path below bills the tier that applied.
    const numeric = (name: string): number | undefined => {
      const value = price[name];
      if (typeof value === 'number') return value;
      if (value && typeof value === 'object' && typeof value.base === 'number') return Math.max(value.base, ...(value.tiers ?? []).map((tier) => tier.price));
      return undefined;
    };
    const input = numeric('input_mtok') ?? 0;
    const output = numeric('output_mtok') ?? 0;
    const simple = Object.keys(price).every((name) => SIMPLE_KEYS.has(name) && (price[name] === undefined || typeof price[name] === 'number'));
    const contextWindow = probe.model.context_window ?? null;
    const pricing: ModelPricing = {
      modelId: probe.model.id,
      providerId: probe.provider.id,
      source: 'catalog',
      input: perMillion(input),
      output: perMillion(output),
      cacheRead: perMillion(numeric('cache_read_mtok') ?? input),
      cacheWrite: perMillion(numeric('cache_write_mtok') ?? input),
      cacheWrite1h: perMillion(numeric('cache_write_1h_mtok') ?? numeric('cache_write_mtok') ?? input),
      webSearch: Math.round(((numeric('web_searches_kcount') ?? DEFAULT_WEB_SEARCHES_PER_THOUSAND) / 1000) * 1_000_000),
      reasoning: perMillion(numeric('output_reasoning_mtok') ?? output),
      contextWindow,
      maxOutputTokens: outputLimit(probe.model.id, contextWindow),
    };
    // The catalog's own calculation for what the formula below does not express; also for an hour's cache writes and
    // web searches, which it prices from the catalog's own keys.
    const options = { providerId: probe.provider.id };
    const exact = (usage: Usage) => calcPrice(catalogUsage(usage), model, options);
    pricing.exact = simple ? (usage) => (usage.cacheWrite1hTokens || usage.webSearches ? exact(usage) : null) : exact;
    return pricing;
  }
}

/**
 * The cost of a call in micro-USD, rounded to the nearest micro. `inputTokens` includes cached tokens and
 * `outputTokens` includes reasoning tokens, as providers report them.
 */
/**
 * A call's cost in micro-USD, rounded up: budgets count whole micro-dollars, and rounding to the nearest would let
 * thousands of calls of a fraction of a micro-dollar each add up past a limit (the provider bills the exact sum).
 */
export function costOf(pricing: ModelPricing, usage: Usage): Micros {
  if (pricing.exact) {
    let result: PriceCalculation | null = null;
    try {
      result = pricing.exact(usage);
    } catch {
      // a usage shape the catalog refuses: the formula below prices it
    }
    if (result) return microsUp(result.total_price * 1_000_000);
  }
  const uncached = Math.max(0, usage.inputTokens - usage.cacheReadTokens - usage.cacheWriteTokens);
  const reasoning = Math.min(usage.reasoningTokens, usage.outputTokens);
  const hour = Math.min(usage.cacheWrite1hTokens ?? 0, usage.cacheWriteTokens);
  const microsTimesMillion =
    uncached * pricing.input +
    usage.cacheReadTokens * pricing.cacheRead +
    (usage.cacheWriteTokens - hour) * pricing.cacheWrite +
    hour * pricing.cacheWrite1h +
    (usage.outputTokens - reasoning) * pricing.output +
    reasoning * pricing.reasoning;
  return microsUp(microsTimesMillion / 1_000_000 + (usage.webSearches ?? 0) * pricing.webSearch);
}

/** Up to the next whole micro-dollar, ignoring floating-point noise below a billionth of one. */
function microsUp(micros: number): Micros {
  return Math.ceil(micros - 1e-9);
}

/** What a request can be billed beyond input and output tokens at their base prices. */
export interface ReservationExtras {
  /** Input may be written to the cache (`cache_control`): every input token at the dearest write price. */
  cacheWrites: boolean;
  /** Server-side web searches the request allows (the tools' `max_uses`). */
  webSearches: number;
}

export const NO_EXTRAS: ReservationExtras = { cacheWrites: false, webSearches: 0 };

/**
 * The most a call can cost: every input token at the full input price (the dearest cache-write price when the request
 * asks for caching), `outputTokens` at the dearer output price, and every web search it allows.
 */
export function worstCaseOf(pricing: ModelPricing, inputTokens: number, outputTokens: number, extras: ReservationExtras = NO_EXTRAS): Micros {
  const inputRate = extras.cacheWrites ? Math.max(pricing.input, pricing.cacheWrite, pricing.cacheWrite1h) : pricing.input;
  return Math.ceil((inputTokens * inputRate + outputTokens * Math.max(pricing.output, pricing.reasoning)) / 1_000_000) + extras.webSearches * pricing.webSearch;
}

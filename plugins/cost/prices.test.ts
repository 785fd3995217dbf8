import { calcPrice, findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import { costOf, PriceBook, worstCaseOf } from './prices.ts';
import { microsToUsd, usdToMicros } from './money.ts';

const usage = (input: number, output: number, cacheRead = 0, cacheWrite = 0, reasoning = 0) => ({ inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite, reasoningTokens: reasoning });

describe('PriceBook', () => {
  const book = new PriceBook({ 'my-ft-*': { input: 0.5, output: 1.5, cacheRead: 0.05 }, 'free-local': { input: 0, output: 0, maxOutputTokens: 2048 } });

  it('agrees with the catalog to the micro-dollar across families, cache and reasoning', () => {
    const cases: Array<[string, string, ReturnType<typeof usage>]> = [
      ['gpt-4o-mini', 'openai', usage(12_345, 678, 4_000)],
      ['gpt-4.1', 'openai', usage(100_000, 20_000)],
      ['gpt-5', 'openai', usage(3_000, 9_000, 0, 0, 8_000)],
      ['claude-sonnet-4-6', 'anthropic', usage(50_000, 2_000, 30_000, 10_000)],
      ['claude-haiku-4-5-20251001', 'anthropic', usage(1_000, 1_000)],
    ];
    for (const [model, provider, u] of cases) {
      const pricing = book.lookup(model, provider)!;
      const catalog = calcPrice(
        { input_tokens: u.inputTokens, cache_read_tokens: u.cacheReadTokens, cache_write_tokens: u.cacheWriteTokens, output_tokens: u.outputTokens, output_reasoning_tokens: u.reasoningTokens },
        model,
        { providerId: provider },
      )!;
      expect(costOf(pricing, u), model).toBe(Math.round(catalog.total_price * 1e6));
    }
  });

  it("reserves at least what any call can cost, for every OpenAI and Anthropic model in the catalog (tiered prices included)", () => {
    let checked = 0;
    for (const providerId of ['openai', 'anthropic']) {
      for (const model of findProvider({ providerId })!.models) {
        const pricing = book.lookup(model.id, providerId);
        if (!pricing) continue;
        for (const [input, output] of [[1_000, 1_000], [250_000, 8_000], [10, 100_000]] as const) {
          const billed = costOf(pricing, usage(input, output));
          expect(worstCaseOf(pricing, input, output), `${model.id} ${input}/${output}`).toBeGreaterThanOrEqual(billed);
          if (billed > 0) expect(worstCaseOf(pricing, input, output), model.id).toBeGreaterThan(0);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50);
    // The review's case: Sonnet 4.5's prices are tiered, and its reservation was $0.
    expect(worstCaseOf(book.lookup('claude-sonnet-4-5', 'anthropic')!, 1_000, 1_000)).toBe(usdToMicros(0.006 + 0.0225));
  });

  it('resolves dated ids and gateway-style provider prefixes to their family', () => {
    expect(book.lookup('gpt-4o-mini-2024-07-18', 'openai')?.modelId).toBe('gpt-4o-mini');
    expect(book.lookup('openai/gpt-4o-mini', 'openai-compatible')?.modelId).toBe('gpt-4o-mini');
    expect(book.lookup('anthropic/claude-sonnet-4-6', 'openai-compatible')).toMatchObject({ modelId: 'claude-sonnet-4-6', providerId: 'anthropic' });
    expect(book.lookup('surely-not-a-model', 'openai')).toBeNull();
  });

  it('takes YAML prices first, by glob, with cached input at its own price', () => {
    const pricing = book.lookup('my-ft-v2', 'openai')!;
    expect(pricing).toMatchObject({ source: 'config', modelId: 'my-ft-*' });
    expect(costOf(pricing, usage(1_000_000, 1_000_000, 500_000))).toBe(usdToMicros(0.25 + 0.025 + 1.5));
    expect(book.lookup('free-local', 'openai-compatible')?.maxOutputTokens).toBe(2048);
  });

  it('sums in integer micro-dollars without float drift', () => {
    const pricing = book.lookup('gpt-4o-mini', 'openai')!;
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += costOf(pricing, usage(1_000, 100));
    expect(Number.isInteger(total)).toBe(true);
    expect(microsToUsd(total)).toBe(2.1);
  });

  it('bounds a call by its worst case', () => {
    const pricing = book.lookup('gpt-4o-mini', 'openai')!;
    expect(worstCaseOf(pricing, 1_000, 500)).toBeGreaterThanOrEqual(costOf(pricing, usage(1_000, 500)));
    expect(pricing.maxOutputTokens).toBe(16_384);
  });
});

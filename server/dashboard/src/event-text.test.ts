// The one line an alert or a timeline entry reads as: budgets named by what they limit, server limits included
// whatever scope string a runtime sends, and never `undefined` or a made-up $0.00 for a field a payload lacks.
import { describe, expect, it } from 'vitest';
import { budgetLabel, describeEvent } from './event-text.ts';

const LIMIT = '1a2b3c4d-0000-4000-8000-000000000000';

describe('BudgetExceeded', () => {
  it.each([
    ['a local agent budget', { scope: 'agent', name: 'f0e1d2c3-agent', limitUsd: 1, spentUsd: 0.99, neededUsd: 0.0012 }, 'agent budget: refused a call needing $0.0012; $0.99 of $1.00 spent'],
    ['a model budget', { scope: 'model', name: 'gpt-4o*', limitUsd: 5, spentUsd: 5, neededUsd: 0.02 }, 'budget for model gpt-4o*: refused a call needing $0.02; $5.00 of $5.00 spent'],
    [
      "the sync plugin's project limit",
      { scope: 'project', name: `server limit ${LIMIT}`, limitId: LIMIT, limitUsd: 10, spentUsd: 0.000031, neededUsd: 0.5 },
      'project budget (server limit 1a2b3c4d): refused a call needing $0.50; $0.000031 of $10.00 spent',
    ],
    ['scope server, with a limit id', { scope: 'server', limitId: LIMIT, limitUsd: 2, spentUsd: 2, neededUsd: 0.01 }, 'server limit 1a2b3c4d: refused a call needing $0.01; $2.00 of $2.00 spent'],
    ['scope server, nothing else', { scope: 'server' }, 'server limit: refused a call'],
    ['an unknown scope string', { scope: 'team', name: 'blue', limitUsd: 3 }, 'team budget blue: refused a call; limit $3.00'],
    ['no scope at all', { neededUsd: 0.001 }, 'budget: refused a call needing $0.001'],
  ])('%s', (_what, payload, text) => {
    const line = describeEvent({ type: 'BudgetExceeded', payload });
    expect(line).toBe(text);
    expect(line).not.toMatch(/undefined|NaN|\$0\.0000(?!\d)/);
  });
});

describe('other events', () => {
  it('BudgetWarning names the budget, not the agent id', () => {
    expect(describeEvent({ type: 'BudgetWarning', payload: { scope: 'agent', name: 'f0e1d2c3-agent', thresholdPct: 80, spentUsd: 0.8, limitUsd: 1 } })).toBe('agent budget: $0.80 of $1.00 spent (80%)');
    expect(describeEvent({ type: 'BudgetWarning', payload: { scope: 'runtime', name: '', thresholdPct: 0.5, spentUsd: 0.000005, limitUsd: 0.001 } })).toBe('runtime budget: $0.000005 of $0.001 spent (0.5%)');
  });

  it('durations and costs read as people read them', () => {
    expect(describeEvent({ type: 'LlmCallCompleted', payload: { model: 'gpt-4o-mini', latencyMs: 21.298416999999972 } })).toBe('gpt-4o-mini in 21 ms');
    expect(describeEvent({ type: 'CircuitOpened', payload: { provider: 'openai', model: 'gpt-4o', reason: '5 failures', cooldownMs: 30_000 } })).toBe('openai/gpt-4o: 5 failures; cooling down 30 s');
    expect(describeEvent({ type: 'CostUpdate', payload: { model: 'm', costUsd: 0, priced: false } })).toBe('m: unpriced');
    expect(describeEvent({ type: 'CostUpdate', payload: { model: 'm', costUsd: 0.000031, priced: true } })).toBe('m: $0.000031');
    expect(describeEvent({ type: 'AgentStopped', payload: { status: 'budget_exceeded' } })).toBe('budget exceeded');
  });

  it('budgetLabel of a provider budget', () => {
    expect(budgetLabel({ scope: 'provider', name: 'openai' })).toBe('budget for provider openai');
  });
});

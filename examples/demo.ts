// `npm run demo`: several agents run caged against the built-in offline provider, then a summary table.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { fileURLToPath } from 'node:url';
import { Runtime, type IronEvent } from '../core/index.ts';
import { metricsTable } from '../core/cli/summary.ts';
import allowlist from './plugins/model-allowlist.ts';

// The demo never spends real money: provider keys are left out, so the offline `simulated` provider answers.
const { OPENAI_API_KEY, ANTHROPIC_API_KEY, IRON_OPENAI_BASE_URL, IRON_ANTHROPIC_BASE_URL, ...env } = process.env;

/** A small plugin that records what the provider is sent, after the safety plugin (stage -200) rewrote it. */
const sentToProvider = new Map<string, string>();
const providerView = {
  name: 'provider-view',
  apply(rt: Runtime) {
    rt.hooks.beforeLlmCall.tap({ name: 'provider-view', stage: 500 }, (request, ctx) => {
      sentToProvider.set(ctx.agent.name, request.messages.flatMap((m) => m.parts.map((p) => (p.type === 'text' ? p.text : ''))).join(' '));
      return request;
    });
  },
};

const runtime = new Runtime({
  env,
  budget: 1, // USD per agent: the cost plugin prices every call from the catalog and never lets spend pass it
  config: { safety: {} }, // personal data is pseudonymized before it leaves, and restored in the answer
  logLevel: 'error', // the header below says the offline provider answers; the runtime would warn about it too
  plugins: [allowlist({ models: ['gpt-4o-mini', 'claude-sonnet-4-6', 'gpt-4.1'], maxTokensPerCall: 256 }), providerView],
});

const seen = new Map<string, number>();
runtime.events.onAny((event: IronEvent) => seen.set(event.type, (seen.get(event.type) ?? 0) + 1));

let piiTrip = { prompt: '', sent: '', answer: '' };

const agents = [
  await runtime.startAgent(async (agent) => {
    const openai = new OpenAI({ apiKey: 'caged', fetch: agent.fetch });
    await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Plan a three-step research task.' }] });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Summarise the plan.' }], stream: true });
    for await (const _chunk of stream);
  }, { name: 'openai-sdk-agent' }),

  await runtime.startAgent(async (agent) => {
    const anthropic = new Anthropic({ apiKey: 'caged', fetch: agent.fetch });
    await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'Review this diff.' }] });
    await anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'Now suggest a fix.' }] }).finalMessage();
  }, { name: 'anthropic-sdk-agent' }),

  await runtime.startAgent(async (agent) => {
    for (const question of ['What is a circuit breaker?', 'What is a token budget?']) {
      for await (const _text of agent.llm.stream({ model: 'gpt-4.1', messages: [{ role: 'user', content: question }] }));
    }
    // Refused by the allow-list plugin: the agent gets a typed error and carries on.
    await agent.llm.chat({ model: 'gpt-5-turbo-max', messages: [{ role: 'user', content: 'Spend big.' }] }).catch(() => undefined);
  }, { name: 'llm-client-agent' }),

  await runtime.startAgent(fileURLToPath(new URL('./python-agent.py', import.meta.url)), { name: 'python-agent.py', output: 'ignore' }),

  await runtime.startAgent(async (agent) => {
    const openai = new OpenAI({ apiKey: 'caged', fetch: agent.fetch });
    const prompt = 'Refund jane.doe@example.org, card 4111 1111 1111 1111.';
    const answer = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    piiTrip = { prompt, sent: sentToProvider.get('support-agent') ?? '', answer: answer.choices[0]?.message.content ?? '' };
  }, { name: 'support-agent' }),
];

const results = await Promise.all(agents.map((id) => runtime.waitForAgent(id)));
await runtime.close();

console.log('\nIron Cage demo: five agents caged, offline provider (no keys used)\n');
console.log(metricsTable(results));
console.log(`\nPII round trip (support-agent):\n  the agent wrote     ${piiTrip.prompt}\n  the provider got    ${piiTrip.sent}\n  the agent got back  ${piiTrip.answer.slice(0, 90)}…`);
console.log(`\nevents: ${[...seen].map(([type, count]) => `${type} ${count}`).join(', ')}`);

// `npm run demo`: an Iron Cage server (SQLite file in a temp folder) and several agents caged against the built-in
// offline provider, reporting to it through the sync plugin; then a summary table and what the server recorded.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../server/app.ts';
import { Runtime, type IronEvent } from '../core/index.ts';
import { formatUsd, metricsTable } from '../core/cli/summary.ts';
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

// The server, as `iron server` runs it, with a project and an API token for the runtime.
const dir = mkdtempSync(join(tmpdir(), 'iron-demo-'));
const admin = { email: 'demo@example.com', password: 'demo password, long enough' };
const server = await buildApp({ db: join(dir, 'iron.db'), admin });
const serverUrl = await server.listen({ host: '127.0.0.1', port: 0 });
const call = async (method: 'GET' | 'POST', url: string, authorization?: string, payload?: object) =>
  (await server.inject({ method, url, ...(payload ? { payload } : {}), ...(authorization ? { headers: { authorization } } : {}) })).json();
const session = `Bearer ${(await call('POST', '/api/auth/login', undefined, admin)).accessToken}`;
const project = await call('POST', '/api/projects', session, { name: 'demo' });
const { token } = await call('POST', '/api/tokens', session, { name: 'demo runtime', projectId: project.id });

const runtime = new Runtime({
  env,
  budget: 1, // USD per agent: the cost plugin prices every call from the catalog and never lets spend pass it
  config: {
    safety: {}, // personal data is pseudonymized before it leaves, and restored in the answer
    sync: { server: serverUrl, token, outbox: join(dir, 'outbox.db'), flushIntervalMs: 50 }, // everything is reported to the server
  },
  logLevel: 'error', // the header below says the offline provider answers; the runtime would warn about it too
  plugins: [allowlist({ models: ['gpt-4o-mini', 'claude-sonnet-4-6', 'gpt-4.1'], maxTokensPerCall: 256 }), providerView],
});

const seen = new Map<string, number>();
runtime.events.onAny((event: IronEvent) => seen.set(event.type, (seen.get(event.type) ?? 0) + 1));

let piiTrip = { prompt: '', sent: '', answer: '' };
let refusal = '';

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
    // gpt-4o is priced (the cost plugin would let it through) but not on the allow-list: the allow-list plugin refuses
    // it, and the agent gets a typed error and carries on.
    await agent.llm.chat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Spend big.' }] }).catch((error: Error) => (refusal = error.message));
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
await runtime.close(); // flushes the sync outbox

console.log('\nIron Cage demo: five agents caged, offline provider (no keys used)\n');
console.log(metricsTable(results));
console.log(`\nPII round trip (support-agent):\n  the agent wrote     ${piiTrip.prompt}\n  the provider got    ${piiTrip.sent}\n  the agent got back  ${piiTrip.answer.slice(0, 90)}…`);
console.log(`\nrefused (llm-client-agent): ${refusal}`);
console.log(`\nevents: ${[...seen].map(([type, count]) => `${type} ${count}`).join(', ')}`);

const usage = await call('GET', `/api/usage/aggregate?groupBy=model&projectId=${project.id}`, session);
const traces = await call('GET', `/api/traces?projectId=${project.id}`, session);
console.log(`\nserver (${serverUrl}, reported by the sync plugin): ${usage.totals.calls} calls, ${formatUsd(usage.totals.costUsd)} spent, ${traces.items?.length ?? 0} agent runs`);
for (const group of usage.groups) console.log(`  ${group.key.padEnd(20)} ${String(group.calls).padStart(3)} call${group.calls === 1 ? ' ' : 's'}  ${formatUsd(group.costUsd)}`);
// `npm run demo -- --keep`: leave the server up to look at the run in the dashboard.
if (process.argv.includes('--keep')) {
  console.log(`\ndashboard: ${serverUrl}/ (log in as ${admin.email} / ${admin.password}); Ctrl-C to stop`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
await server.close();
rmSync(dir, { recursive: true, force: true });

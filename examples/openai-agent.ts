// An in-process agent using the official `openai` client through agent.fetch: `node examples/openai-agent.ts`.
// (In your project: `import { Runtime } from 'iron-cage'`.)
import OpenAI from 'openai';
import { Runtime } from '../core/index.ts';
import { metricsTable } from '../core/cli/summary.ts';

const runtime = new Runtime({ logLevel: 'warn' });

const agentId = await runtime.startAgent(async (agent) => {
  // The key is a placeholder: the runtime holds the real one (or answers offline when none is set).
  const openai = new OpenAI({ apiKey: 'caged', fetch: agent.fetch });

  const answer = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Write a haiku about budgets.' }],
  });
  console.log(answer.choices[0].message.content);

  const stream = await openai.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Count to five.' }],
    stream: true,
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
  process.stdout.write('\n');
}, { name: 'openai-agent' });

console.log(metricsTable([await runtime.waitForAgent(agentId)]));
await runtime.close();

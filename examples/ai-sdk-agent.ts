// An in-process agent written with the Vercel AI SDK, caged with one line per provider (`fetch: agent.fetch`):
// `node examples/ai-sdk-agent.ts`. (In your project: `import { Runtime } from 'iron-cage'`.)
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { Runtime } from '../core/index.ts';
import { metricsTable } from '../core/cli/summary.ts';

const runtime = new Runtime({ logLevel: 'warn' });

const agentId = await runtime.startAgent(async (agent) => {
  // The keys are placeholders: the runtime holds the real ones (or answers offline when none is set).
  const openai = createOpenAI({ apiKey: 'caged', fetch: agent.fetch });
  const anthropic = createAnthropic({ apiKey: 'caged', fetch: agent.fetch });

  // openai('…') calls the Responses API; openai.chat('…') calls Chat Completions. Both go through the cage.
  const { text } = await generateText({ model: openai('gpt-4o-mini'), prompt: 'Write a haiku about budgets.' });
  console.log(text);

  const stream = streamText({ model: anthropic('claude-sonnet-4-6'), prompt: 'Count to five.' });
  for await (const piece of stream.textStream) process.stdout.write(piece);
  process.stdout.write('\n');
}, { name: 'ai-sdk-agent' });

console.log(metricsTable([await runtime.waitForAgent(agentId)]));
await runtime.close();

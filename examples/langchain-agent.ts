// An in-process agent written with LangChain.js, caged with one line (`configuration: { fetch: agent.fetch }`):
// `node examples/langchain-agent.ts`. (In your project: `import { Runtime } from 'iron-cage'`.)
import { ChatOpenAI } from '@langchain/openai';
import { Runtime } from '../core/index.ts';
import { metricsTable } from '../core/cli/summary.ts';

const runtime = new Runtime({ logLevel: 'warn' });

const agentId = await runtime.startAgent(async (agent) => {
  // The key is a placeholder: the runtime holds the real one (or answers offline when none is set).
  const model = new ChatOpenAI({ model: 'gpt-4o-mini', apiKey: 'caged', configuration: { fetch: agent.fetch } });

  const answer = await model.invoke('Write a haiku about budgets.');
  console.log(answer.text);

  for await (const chunk of await model.stream('Count to five.')) process.stdout.write(chunk.text);
  process.stdout.write('\n');
}, { name: 'langchain-agent' });

console.log(metricsTable([await runtime.waitForAgent(agentId)]));
await runtime.close();

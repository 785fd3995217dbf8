// Runs a runtime's gateway in its own process for the benchmarks; prints {url, credential} once ready.
import { Runtime, type IronPlugin } from '../core/index.ts';

const upstream = process.argv[2];
const pluginCount = Number(process.argv[3] ?? 0);
if (!upstream) throw new Error('usage: gateway-host.ts <upstream base url> [no-op plugin count]');

const noop = (name: string): IronPlugin => ({
  name,
  apply(runtime) {
    runtime.hooks.beforeLlmCall.tapPromise(name, async (request) => request);
    runtime.hooks.afterLlmCall.tapPromise(name, async (response) => response);
    runtime.hooks.onLlmStreamChunk.tap(name, (chunks) => chunks);
    runtime.hooks.onLlmStreamEnd.tapPromise(name, async () => undefined);
  },
});

const runtime = new Runtime({
  env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'bench-key', IRON_OPENAI_BASE_URL: `${upstream}/v1` },
  logLevel: 'silent',
  plugins: Array.from({ length: pluginCount }, (_, i) => noop(`noop-${i}`)),
});
const id = await runtime.startAgent(new URL('./fixtures/hold-credential.js', import.meta.url).pathname, { output: 'capture' });
let line = '';
while (!line.includes('\n')) {
  await new Promise((resolve) => setTimeout(resolve, 10));
  line = runtime.agentOutput(id);
}
const { credential, gateway } = JSON.parse(line) as { credential: string; gateway: string };
process.stdout.write(`${JSON.stringify({ url: gateway, credential })}\n`);
process.on('SIGTERM', () => void runtime.close().then(() => process.exit(0)));

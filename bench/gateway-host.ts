// Runs a runtime's gateway in its own process for the benchmarks; prints {url, credential} once ready.
// Modes: a number of no-op plugins, or `all`: cost + safety (redact) + reliability + sync, reporting to the
// `iron server` whose URL and API token follow (a separate process, as in production). A comma list of plugin names
// (`cost,safety`) runs only those, to see what each one costs (a list with `sync` needs the server too).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, type IronPlugin } from '../core/index.ts';
import type { IronConfig } from '../core/config/schema.ts';

const [upstream, mode = '0', server, token] = process.argv.slice(2);
const named = mode === 'all' ? ['cost', 'safety', 'reliability', 'sync'] : /^\d+$/.test(mode) ? [] : mode.split(',');
if (!upstream || (named.includes('sync') && !(server && token))) {
  throw new Error('usage: gateway-host.ts <upstream base url> [<no-op plugin count> | all | <plugins,…> [<iron server url> <api token>]]');
}
const pluginCount = named.length > 0 ? 0 : Number(mode);

/** Every built-in plugin on, the way a production deployment runs: sync reports to a real server. */
function pluginsConfig(plugins: string[], server: string | undefined, token: string | undefined): IronConfig {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-gateway-'));
  const redact = Object.fromEntries(['EMAIL_ADDRESS', 'PHONE_NUMBER', 'CREDIT_CARD', 'US_SSN', 'IBAN_CODE', 'IP_ADDRESS', 'SECRET'].map((type) => [type, 'redact']));
  return {
    ...(plugins.includes('cost') ? { budget: { limit: 1_000_000 } } : {}),
    ...(plugins.includes('safety') ? { safety: { entities: redact } } : {}),
    ...(plugins.includes('reliability') ? { reliability: {} } : {}),
    ...(plugins.includes('sync') ? { sync: { server, token, outbox: join(dir, 'outbox.db') } } : {}),
  } as IronConfig;
}

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
  ...(named.length > 0 ? { config: pluginsConfig(named, server, token) } : {}),
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

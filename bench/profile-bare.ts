// Profiles the bare proxy (bench/bare-proxy.ts) under the same load as profile-gateway.ts, for a side-by-side profile.
//   node bench/profile-bare.ts <json|stream> [seconds] [out dir]
import { readFileSync } from 'node:fs';
import { runAutocannon } from './lib/load.ts';
import { startJsonLineProcess, stop } from './lib/processes.ts';

const [kind = 'stream', seconds = '6', dir = '/tmp/prof-bare'] = process.argv.slice(2);
const fake = await startJsonLineProcess([new URL('../test/fake-provider/main.ts', import.meta.url).pathname]);
const proxy = await startJsonLineProcess([...(dir !== 'none' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), new URL('./bare-proxy.ts', import.meta.url).pathname, fake.info.url!]);
const body = JSON.stringify({ model: 'gpt-4o-mini', max_tokens: 200, messages: [{ role: 'user', content: 'benchmark prompt of a typical size for jane.doe@example.org '.repeat(6) }], stream: kind === 'stream' });
await runAutocannon({ url: `${proxy.info.url}/v1/chat/completions`, headers: {}, body, connections: 16, durationMs: 1000 });
const cpu = () => {
  const fields = readFileSync(`/proc/${proxy.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
};
const cpuBefore = cpu();
const result = await runAutocannon({ url: `${proxy.info.url}/v1/chat/completions`, headers: {}, body, connections: 16, durationMs: Number(seconds) * 1000 });
console.log(`${result.totalMs.length} requests: ${((result.totalMs.length / result.elapsedMs) * 1000).toFixed(0)} req/s, proxy CPU ${((cpu() - cpuBefore) / result.totalMs.length).toFixed(0)} µs/req`);
await stop(proxy.child);
await stop(fake.child);

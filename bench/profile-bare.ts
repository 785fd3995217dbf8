// Profiles the bare proxy (bench/bare-proxy.ts) under the same load as profile-gateway.ts, for a side-by-side profile.
//   node bench/profile-bare.ts <json|stream> [seconds] [out dir]
import { gatewayRequestBody, runAutocannon } from './lib/load.ts';
import { cpuMicros, startBareProxy, startFakeProvider, stop } from './lib/processes.ts';

const [kind = 'stream', seconds = '6', dir = '/tmp/prof-bare'] = process.argv.slice(2);
const fake = await startFakeProvider();
const proxy = await startBareProxy(fake.info.url!, dir !== 'none' ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []);
const body = gatewayRequestBody(kind === 'stream');
await runAutocannon({ url: `${proxy.info.url}/v1/chat/completions`, headers: {}, body, connections: 16, durationMs: 1000 });
const cpuBefore = cpuMicros(proxy.child.pid);
const result = await runAutocannon({ url: `${proxy.info.url}/v1/chat/completions`, headers: {}, body, connections: 16, durationMs: Number(seconds) * 1000 });
console.log(`${result.totalMs.length} requests: ${((result.totalMs.length / result.elapsedMs) * 1000).toFixed(0)} req/s, proxy CPU ${((cpuMicros(proxy.child.pid) - cpuBefore) / result.totalMs.length).toFixed(0)} µs/req`);
await stop(proxy.child);
await stop(fake.child);

// Profiles one gateway path under load (for issue 24's work, not part of `npm run bench`): starts the fake provider,
// an `iron server` and a gateway host under --cpu-prof, loads it with autocannon, stops it, and prints the top
// self-time functions of the profile.
//   node bench/profile-gateway.ts <all|0|cost,safety,…> <json|stream> [seconds] [out dir]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayRequestBody, runAutocannon } from './lib/load.ts';
import { cpuMicros, startFakeProvider, startIronServer, startJsonLineProcess, stop } from './lib/processes.ts';

const [mode = 'all', kind = 'stream', seconds = '8', dir = '/tmp/prof24', conns = '16'] = process.argv.slice(2);
const fake = await startFakeProvider();
const server = mode === 'all' || mode.includes('sync') ? await startIronServer() : undefined;
const host = new URL('./gateway-host.ts', import.meta.url).pathname;
// Out dir `none`: no profiler, only the CPU per request (the profiler itself costs a third or more).
const profiling = dir !== 'none';
const gateway = await startJsonLineProcess([...(profiling ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : []), host, fake.info.url!, mode, ...(server ? [server.url, server.token] : [])]);
const body = gatewayRequestBody(kind === 'stream');
const headers = { authorization: `Bearer ${gateway.info.credential}` };
await runAutocannon({ url: `${gateway.info.url}/v1/chat/completions`, headers, body, connections: 16, durationMs: 1000 });
const cpuBefore = cpuMicros(gateway.child.pid);
const before = Date.now();
const result = await runAutocannon({ url: `${gateway.info.url}/v1/chat/completions`, headers, body, connections: Number(conns), durationMs: Number(seconds) * 1000 });
console.log(`${result.totalMs.length} requests in ${Date.now() - before} ms: ${((result.totalMs.length / result.elapsedMs) * 1000).toFixed(0)} req/s, gateway CPU ${((cpuMicros(gateway.child.pid) - cpuBefore) / result.totalMs.length).toFixed(0)} µs/req${profiling ? ' (profiler on)' : ''}, errors ${result.errors}, non-2xx ${result.non2xx}`);
if (result.non2xx > 0) {
  const probe = await fetch(`${gateway.info.url}/v1/chat/completions`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
  console.log(`a request now: ${probe.status} ${(await probe.text()).slice(0, 300)}`);
}
await stop(gateway.child);
await stop(fake.child);
if (server) await stop(server.child);

if (!profiling) process.exit(0);
// The newest profile: self time per function (top 40) and per file (top 20).
const file = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile')).map((name) => join(dir, name)).sort().at(-1)!;
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const self = new Map<string, number>();
const perFile = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id)!;
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const where = node.callFrame.url.replace(/^.*\/(node_modules\/)?/, (m, nm) => (nm ? 'nm:' : '')) ;
  const key = `${node.callFrame.functionName || '(anon)'} ${where}:${node.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
  const f = node.callFrame.url ? node.callFrame.url.split('/').slice(-2).join('/') : node.callFrame.functionName;
  perFile.set(f, (perFile.get(f) ?? 0) + dt);
});
const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`profile ${file}\n--- self time by function\n${top(self, 45)}\n--- by file\n${top(perFile, 30)}`);

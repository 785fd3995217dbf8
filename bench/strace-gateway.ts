// Looks at one gateway path under load from outside (for issue 24's work, not part of `npm run bench`): starts the
// fake provider (and an `iron server` when sync is on), the gateway or the bare proxy, and attaches either
// `strace -c -f` (the syscall table) or `perf record` (CPU samples, JS frames named through --perf-basic-prof:
// on-CPU time only, unlike --cpu-prof, whose wall-clock samples charge a descheduled process to the call it was in).
//   node bench/strace-gateway.ts <bare|all|0|cost,safety,…> <json|stream> [seconds] [strace|perf]
import { spawn } from 'node:child_process';
import { gatewayRequestBody, runAutocannon } from './lib/load.ts';
import { startBareProxy, startFakeProvider, startIronServer, startJsonLineProcess, stop } from './lib/processes.ts';

const [mode = 'all', kind = 'stream', seconds = '4', tool = 'strace'] = process.argv.slice(2);
// (--perf-basic-prof also writes a V8 log: kept out of the checkout.)
const nodeFlags = tool === 'perf' ? ['--perf-basic-prof', '--logfile=/tmp/iron-perf-v8.log', '--no-logfile-per-isolate'] : [];
const fake = await startFakeProvider();
const server = mode === 'all' || mode.includes('sync') ? await startIronServer() : undefined;
const gateway =
  mode === 'bare'
    ? await startBareProxy(fake.info.url!, nodeFlags)
    : await startJsonLineProcess([...nodeFlags, new URL('./gateway-host.ts', import.meta.url).pathname, fake.info.url!, mode, ...(server ? [server.url, server.token] : [])]);
const body = gatewayRequestBody(kind === 'stream');
const headers: Record<string, string> = gateway.info.credential ? { authorization: `Bearer ${gateway.info.credential}` } : {};
const url = `${gateway.info.url}/v1/chat/completions`;
await runAutocannon({ url, headers, body, connections: 16, durationMs: 1000 });
const pid = String(gateway.child.pid);
const perfData = `/tmp/perf-gateway-${pid}.data`;
const strace = tool === 'perf' ? spawn('perf', ['record', '-F', '1999', '-g', '-o', perfData, '-p', pid], { stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('strace', ['-c', '-f', '-p', pid], { stdio: ['ignore', 'inherit', 'pipe'] });
let table = '';
strace.stderr.on('data', (chunk: Buffer) => (table += chunk.toString()));
await new Promise((resolve) => setTimeout(resolve, 300));
const result = await runAutocannon({ url, headers, body, connections: 16, durationMs: Number(seconds) * 1000 });
strace.kill('SIGINT');
await new Promise((resolve) => strace.once('exit', resolve));
console.log(`${mode} ${kind}: ${result.totalMs.length} requests, errors ${result.errors}, non-2xx ${result.non2xx}`);
if (tool === 'perf') {
  const report = spawn('perf', ['report', '-i', perfData, '--no-children', '--sort', 'dso,symbol', '--stdio', '-g', 'none', '--percent-limit', '0.4'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let text = '';
  report.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
  await new Promise((resolve) => report.once('exit', resolve));
  console.log(text.split('\n').filter((line) => line && !line.startsWith('#')).slice(0, 60).join('\n'));
} else console.log(table);
await stop(gateway.child);
await stop(fake.child);
if (server) await stop(server.child);

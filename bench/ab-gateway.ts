// A/B of two checkouts' gateways under the same load at the same time (for issue 24's work, not part of `npm run
// bench`): on a shared machine, runs one after the other differ by more than most changes do; gateways loaded
// together see the same neighbours. Four gateways run, A B B A (the order they start in matters by a few per cent),
// each round loads all four at once (4 connections each) and prints each checkout's CPU per request.
//   node bench/ab-gateway.ts <checkout A> <checkout B> <all|0|cost,safety,…> <json|stream> [rounds] [seconds]
// A checkout given as `bare` runs this checkout's bare proxy (bench/bare-proxy.ts) on that side: the floor, under the same load.
// A side written `<checkout>@<mode>` runs that mode on that side: what a plugin costs (`@0 @cost - json` compares
// no plugins with cost alone: an empty checkout before `@` is this one; the mode argument is then unused).
import { join } from 'node:path';
import { gatewayRequestBody, runAutocannon } from './lib/load.ts';
import { cpuMicros, startBareProxy, startFakeProvider, startIronServer, startJsonLineProcess, stop } from './lib/processes.ts';

const [rootA, rootB, mode = '0', kind = 'stream', rounds = '6', seconds = '4'] = process.argv.slice(2);
if (!rootA || !rootB) throw new Error('usage: ab-gateway.ts <checkout A> <checkout B> <mode> <json|stream> [rounds] [seconds]');
/** A side's checkout and mode (`<checkout>@<mode>`, else the shared mode). */
const sideOf = (side: string): { root: string; mode: string } => {
  const at = side.lastIndexOf('@');
  if (at === -1) return { root: side, mode };
  return { root: side.slice(0, at) || join(import.meta.dirname, '..'), mode: side.slice(at + 1) };
};
const withSync = (m: string) => m === 'all' || m.includes('sync');
const fake = await startFakeProvider();
const server = withSync(sideOf(rootA).mode) || withSync(sideOf(rootB).mode) ? await startIronServer() : undefined;
// Node flags per side (AB_FLAGS_A, AB_FLAGS_B: space-separated), to compare settings on one checkout.
const flags = (side: 'A' | 'B') => (process.env[`AB_FLAGS_${side}`] ?? '').split(' ').filter(Boolean);
const start = (spec: string, side: 'A' | 'B') => {
  const { root, mode: sideMode } = sideOf(spec);
  return root === 'bare'
    ? startBareProxy(fake.info.url!, flags(side))
    : startJsonLineProcess([...flags(side), join(root, 'bench/gateway-host.ts'), fake.info.url!, sideMode, ...(server && withSync(sideMode) ? [server.url, server.token] : [])]);
};
const gateways = [await start(rootA, 'A'), await start(rootB, 'B'), await start(rootB, 'B'), await start(rootA, 'A')];
const rootOf = [0, 1, 1, 0];
const body = gatewayRequestBody(kind === 'stream');
const load = (gateway: (typeof gateways)[number], ms: number) =>
  runAutocannon({ url: `${gateway.info.url}/v1/chat/completions`, headers: { authorization: `Bearer ${gateway.info.credential}` }, body, connections: 4, durationMs: ms });
await Promise.all(gateways.map((gateway) => load(gateway, 3000)));
const perRequest: number[][] = [[], []];
for (let round = 0; round < Number(rounds); round++) {
  const before = gateways.map((gateway) => cpuMicros(gateway.child.pid));
  const results = await Promise.all(gateways.map((gateway) => load(gateway, Number(seconds) * 1000)));
  const used = [0, 0];
  const served = [0, 0];
  gateways.forEach((gateway, i) => {
    used[rootOf[i]!]! += cpuMicros(gateway.child.pid) - before[i]!;
    served[rootOf[i]!]! += results[i]!.totalMs.length;
  });
  const failed = results.reduce((sum, result) => sum + result.non2xx + result.errors, 0);
  perRequest[0]!.push(used[0]! / served[0]!);
  perRequest[1]!.push(used[1]! / served[1]!);
  console.log(`round ${round + 1}: A ${perRequest[0]!.at(-1)!.toFixed(0)} µs/req (${served[0]} req), B ${perRequest[1]!.at(-1)!.toFixed(0)} µs/req (${served[1]} req), ${failed} failed`);
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const [a, b] = perRequest.map(median) as [number, number];
console.log(`median CPU per request: A ${a.toFixed(0)} µs, B ${b.toFixed(0)} µs, B/A ${(b / a).toFixed(3)}`);
for (const gateway of gateways) await stop(gateway.child);
await stop(fake.child);
if (server) await stop(server.child);

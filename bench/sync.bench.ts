// Sync plugin benchmarks: its cost on the call path (an append to the outbox per event) and the delivery latency
// from a finished call to its event on a WebSocket client of the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Runtime } from '../core/index.ts';
import { buildApp } from '../server/app.ts';
import { createApiToken, createProject } from '../server/testing.ts';
import { summarize, type Row } from './lib/stats.ts';

/** Time of `events.emit` for a CostUpdate-sized event, with and without the sync plugin's outbox append. */
async function emitCost(withSync: boolean, dir: string, iterations: number): Promise<number[]> {
  const runtime = new Runtime({
    env: {},
    logLevel: 'silent',
    // The server is never reached here (flush interval of an hour): only the append is measured.
    config: withSync ? { sync: { server: 'http://127.0.0.1:9', token: 'iron_pat_x', outbox: join(dir, `emit-${Date.now()}.db`), flushIntervalMs: 3_600_000, batchSize: 1000, flushTimeoutMs: 0, maxOutboxEvents: 10_000_000 } } : {},
  });
  await runtime.ready();
  const samples: number[] = [];
  for (let i = 0; i < iterations + 1000; i++) {
    const event = { type: 'CostUpdate' as const, time: Date.now(), agentId: 'a', callId: `c${i}`, model: 'gpt-4o-mini', provider: 'openai', costUsd: 0.0001, usage: { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0 }, estimated: false, priced: true, agentSpentUsd: 0.1, agentLimitUsd: null, totalSpentUsd: 0.1 };
    const t0 = performance.now();
    runtime.events.emit(event as never);
    if (i >= 1000) samples.push((performance.now() - t0) * 1000);
  }
  await runtime.close();
  return samples;
}

export async function benchSync(quick: boolean): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'iron-bench-sync-'));
  try {
    const iterations = quick ? 5_000 : 50_000;
    const base = summarize(await emitCost(false, dir, iterations));
    const sync = summarize(await emitCost(true, dir, iterations));
    const rows: Row[] = [
      { what: 'emit an event, no sync', 'p50 µs': base.p50, 'p99 µs': base.p99 },
      { what: 'emit an event, sync on (append to the SQLite outbox)', 'p50 µs': sync.p50, 'p99 µs': sync.p99 },
      { what: 'sync overhead on the call path, per event', 'p50 µs': sync.p50 - base.p50, 'p99 µs': sync.p99 - base.p99 },
    ];

    // Delivery: call finished (LlmCallCompleted emitted) → the same event on a WebSocket client of the server.
    const app = await buildApp({ db: join(dir, 'server.db'), logger: false });
    const projectId = await createProject(app, 'bench');
    const { token } = await createApiToken(app, projectId);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws?token=${token}`);
    await new Promise((resolve) => ws.once('open', resolve));
    const finishedAt = new Map<string, number>();
    const latencies: number[] = [];
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type !== 'event' || message.event.type !== 'LlmCallCompleted') return;
      const started = finishedAt.get(message.event.payload.callId);
      if (started !== undefined) latencies.push(performance.now() - started);
    });
    const runtime = new Runtime({ env: {}, logLevel: 'silent', config: { sync: { server: url, token, outbox: join(dir, 'delivery.db'), flushIntervalMs: 20 } } });
    runtime.events.on('LlmCallCompleted', (event) => void finishedAt.set((event as { callId: string }).callId, performance.now()));
    const calls = quick ? 50 : 300;
    const id = await runtime.startAgent(async (agent) => {
      for (let i = 0; i < calls; i++) {
        await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }] });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    });
    await runtime.waitForAgent(id);
    await runtime.close();
    const deadline = Date.now() + 5000;
    while (latencies.length < calls && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    ws.close();
    await app.close();
    const delivery = summarize(latencies);
    rows.push({ what: `delivery: call finished → WebSocket event (${latencies.length}/${calls} calls, batches every 20 ms)`, 'p50 µs': delivery.p50 * 1000, 'p99 µs': delivery.p99 * 1000 });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

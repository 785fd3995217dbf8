// A failing-webhook storm (issue target: the server stays responsive, /health p99 ≤ 50 ms while 10,000 deliveries
// fail): a real `iron server` process, a project with 10 webhooks to a dead address, one ingest batch of 1,000
// PiiAlert events (10,000 deliveries), then /health is asked once every 10 ms while the worker fails them. Before
// that, ingest itself as the load: six runtimes posting 1,000-event batches at once, round after round.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startIronServer } from './lib/processes.ts';
import { summarize, type Row } from './lib/stats.ts';

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
}

export async function benchWebhookStorm(quick: boolean): Promise<Row[]> {
  // The dead receiver is on loopback: private targets are allowed for the bench, as a self-hosted server would.
  const server = await startIronServer({ IRON_WEBHOOK_ALLOW_PRIVATE: '1' });
  try {
    const post = async (path: string, body: object, authorization: string) => {
      const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    };
    const health = async (seconds: number) => {
      const samples: number[] = [];
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        const started = performance.now();
        await (await fetch(`${server.url}/health`)).text();
        samples.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return summarize(samples.sort((a, b) => a - b));
    };
    const idle = await health(quick ? 1 : 3);
    const rssIdle = rssMb(server.child.pid!);
    // Ingest as the storm: SQLite is synchronous, so this is the event loop's share left to /health.
    const batch = () => {
      const agent = randomUUID();
      return Array.from({ length: 1000 }, (_, i) => ({ id: randomUUID(), type: i % 2 ? 'LlmCallCompleted' : 'CostUpdate', time: new Date().toISOString(), agentId: agent, callId: randomUUID(), model: 'gpt-4o-mini', usage: { inputTokens: 10, outputTokens: 5 }, costUsd: 0.0001, latencyMs: 12 }));
    };
    let ingesting = true;
    const load = (async () => {
      for (let round = 0; round < (quick ? 3 : 10); round++) await Promise.all(Array.from({ length: 6 }, () => post('/api/events', { events: batch() }, `Bearer ${server.token}`)));
      ingesting = false;
    })();
    const samples: number[] = [];
    while (ingesting) {
      const started = performance.now();
      await (await fetch(`${server.url}/health`)).text();
      samples.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await load;
    const ingestLoad = summarize(samples.sort((a, b) => a - b));
    for (let i = 0; i < 10; i++) await post('/api/webhooks', { projectId: server.projectId, url: `http://127.0.0.1:9/dead-${i}`, events: ['PiiAlert'] }, server.session);
    const agentId = randomUUID();
    const events = Array.from({ length: 1000 }, () => ({ id: randomUUID(), type: 'PiiAlert', time: new Date().toISOString(), agentId, callId: randomUUID(), direction: 'input', entityType: 'EMAIL_ADDRESS', count: 1, action: 'redact', valueHashes: ['0123456789abcdef'] }));
    await post('/api/events', { events }, `Bearer ${server.token}`);
    const storm = await health(quick ? 4 : 15);
    const rssStorm = rssMb(server.child.pid!);
    const row = (what: string, s: ReturnType<typeof summarize>, rss: number): Row => ({ what, 'health p50 ms': Number(s.p50.toFixed(2)), 'health p99 ms': Number(s.p99.toFixed(2)), samples: s.n, 'server RSS MB': rss });
    return [row('idle server', idle, rssIdle), row('10 webhooks × 1,000 events failing (10,000 deliveries)', storm, rssStorm), row('6 concurrent 1,000-event ingest batches', ingestLoad, rssMb(server.child.pid!))];
  } finally {
    server.child.kill('SIGTERM');
  }
}

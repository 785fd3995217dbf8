// When the sync plugin writes: a call's events are on disk (in the outbox file, read by another connection) by the
// time the call's answer reaches the agent, even while the server is unreachable and nothing can be sent.
import Database from 'better-sqlite3';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { pino } from 'pino';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Runtime } from '../../core/runtime.ts';
import { startFakeProvider, type FakeProvider } from '../../test/fake-provider/index.ts';
import { runtimeFor } from '../../test/helpers.ts';
import { Outbox } from './outbox.ts';

let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider();
});
afterAll(async () => fake.close());

/** The events in the outbox file, in order, read through a separate connection (what a crash would leave). */
function eventsOnDisk(file: string): Array<{ id: string; type: string; callId?: string }> {
  const db = new Database(file, { readonly: true });
  try {
    // A row holds one event or several recorded together (bodies joined with ",\n": a JSON array's items).
    return db.prepare<[], { body: string }>('select body from outbox order by seq').all().flatMap((row) => JSON.parse(`[${row.body}]`));
  } finally {
    db.close();
  }
}

/** Event types in the outbox file, in order. */
const onDisk = (file: string): string[] => eventsOnDisk(file).map((event) => event.type);

describe('sync plugin: durability on the call path', () => {
  it("writes a call's PII alert, cost and completion before the answer reaches the agent", async () => {
    const outbox = join(mkdtempSync(join(tmpdir(), 'iron-sync-plugin-')), 'outbox.db');
    // Port 9 (discard) on loopback: nothing listens, so every send fails and the outbox keeps everything; calls go
    // ahead without server budgets (offline: allow) — the default refuses them until the server has answered once.
    const runtime = runtimeFor(fake, { budget: 5, config: { safety: {}, sync: { server: 'http://127.0.0.1:9', token: 'iron_pat_unused', outbox, offline: 'allow', flushIntervalMs: 60_000, flushTimeoutMs: 200 } } });
    const seen: string[][] = [];
    const agentId = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, messages: [{ role: 'user', content: 'write to jane.doe@example.org' }] });
      seen.push(onDisk(outbox));
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'and stream' }] });
      for await (const chunk of stream) void chunk;
      seen.push(onDisk(outbox));
    });
    await runtime.waitForAgent(agentId);
    await runtime.close();

    expect(seen[0]).toEqual(['AgentStarted', 'PiiAlert', 'CostUpdate', 'LlmCallCompleted']);
    // The stream's cost and completion are written when it ends, before the agent's loop over it finishes.
    expect(seen[1]!.slice(4)).toEqual(['CostUpdate', 'LlmCallCompleted']);
    expect(onDisk(outbox).at(-1)).toBe('AgentStopped');
  });

  it('gives events and calls time-ordered UUIDs, so the outbox and the server index them at one end', async () => {
    const outbox = join(mkdtempSync(join(tmpdir(), 'iron-sync-plugin-')), 'outbox.db');
    const runtime = runtimeFor(fake, { budget: 5, config: { sync: { server: 'http://127.0.0.1:9', token: 'iron_pat_unused', outbox, offline: 'allow', flushIntervalMs: 60_000, flushTimeoutMs: 200 } } });
    const agentId = await runtime.startAgent(async (agent) => {
      const client = new OpenAI({ apiKey: 'x', fetch: agent.fetch, maxRetries: 0 });
      for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: `call ${i}` }] });
    });
    await runtime.waitForAgent(agentId);
    await runtime.close();
    const events = eventsOnDisk(outbox);
    const uuidV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = events.map((event) => event.id);
    expect(ids.length).toBeGreaterThanOrEqual(12); // started, 5 × (cost, completion), stopped
    for (const id of ids) expect(id).toMatch(uuidV7);
    expect([...ids].sort()).toEqual(ids); // recorded order = index order
    const callIds = events.filter((event) => event.type === 'LlmCallCompleted').map((event) => event.callId!);
    expect(callIds).toHaveLength(5);
    for (const id of callIds) expect(id).toMatch(uuidV7);
    expect([...callIds].sort()).toEqual(callIds);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A runtime on the offline simulated provider (answers without I/O) reporting to nowhere. */
  const offlineRuntime = (outbox: string) =>
    new Runtime({ env: {}, logLevel: 'silent', budget: 5, config: { sync: { server: 'http://127.0.0.1:9', token: 'iron_pat_unused', outbox, offline: 'allow', flushIntervalMs: 60_000, flushTimeoutMs: 200 } } });

  it('writes the events of calls that end in the same turn of the event loop together, before either answers', async () => {
    const outbox = join(mkdtempSync(join(tmpdir(), 'iron-sync-plugin-')), 'outbox.db');
    const runtime = offlineRuntime(outbox);
    const appendMany = vi.spyOn(Outbox.prototype, 'appendMany');
    let writesBefore = 0;
    const answered: string[] = [];
    const writtenWhenAnswered: string[][] = [];
    const agentId = await runtime.startAgent(async (agent) => {
      writesBefore = appendMany.mock.calls.length;
      const call = (i: number) => agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `question ${i}` }] }).then(() => {
        answered.push(`answer ${i}`);
        writtenWhenAnswered.push(onDisk(outbox));
      });
      await Promise.all([call(1), call(2), call(3)]);
    });
    await runtime.waitForAgent(agentId);
    await runtime.close();

    expect(answered).toHaveLength(3);
    // One write for the three calls (AgentStopped and the close come after).
    const groupWrites = appendMany.mock.calls.slice(writesBefore, writesBefore + 1);
    expect(groupWrites[0]![0].map((event) => (JSON.parse(event.body) as { type: string }).type).sort()).toEqual(['CostUpdate', 'CostUpdate', 'CostUpdate', 'LlmCallCompleted', 'LlmCallCompleted', 'LlmCallCompleted']);
    // Each answer arrived with all three calls on disk.
    for (const written of writtenWhenAnswered) expect(written.filter((type) => type === 'LlmCallCompleted')).toHaveLength(3);
  });

  it('keeps the events of a write that failed (a full disk) and writes them with the next ones', async () => {
    const outbox = join(mkdtempSync(join(tmpdir(), 'iron-sync-plugin-')), 'outbox.db');
    const runtime = offlineRuntime(outbox);
    const agentId = await runtime.startAgent(async (agent) => {
      const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      vi.spyOn(Outbox.prototype, 'appendMany').mockImplementationOnce(() => {
        throw full;
      });
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'first' }] });
      // The answer still came; its events wait in memory, and the metrics count them as pending.
      expect(onDisk(outbox)).toEqual(['AgentStarted']);
      expect(runtime.getMetrics(agent.agentId).plugins.sync).toMatchObject({ pending: 3 });
      await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'second' }] });
      expect(onDisk(outbox)).toEqual(['AgentStarted', 'CostUpdate', 'LlmCallCompleted', 'CostUpdate', 'LlmCallCompleted']);
    });
    await runtime.waitForAgent(agentId);
    expect(runtime.getMetrics(agentId).plugins.sync).toMatchObject({ refused: 0 });
    await runtime.close();
  });
});

describe('sync plugin: a server that accepts connections and never answers', () => {
  it('costs closing at most flushTimeoutMs; what did not go stays in the outbox, said in one warning', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const outbox = join(mkdtempSync(join(tmpdir(), 'iron-sync-plugin-')), 'outbox.db');
    const lines: string[] = [];
    const runtime = new Runtime({
      env: {},
      logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
      config: { sync: { server: `http://127.0.0.1:${port}`, token: 'iron_pat_silent', outbox, offline: 'allow', flushIntervalMs: 10, flushTimeoutMs: 1000 } },
    });
    const id = await runtime.startAgent(async (agent) => void (await agent.llm.chat({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })));
    await runtime.waitForAgent(id);
    const started = performance.now();
    await runtime.close();
    const took = performance.now() - started;
    silent.close();
    for (const socket of sockets) socket.destroy();
    expect(took).toBeLessThan(2500);
    expect(onDisk(outbox)).toEqual(expect.arrayContaining(['AgentStarted', 'LlmCallCompleted', 'AgentStopped']));
    expect(lines.join('')).toMatch(/events could not be sent before closing; they stay in the outbox/);
  }, 30_000);
});

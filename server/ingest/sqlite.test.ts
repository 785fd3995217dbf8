// ingestBatch on every test database, below the route: batches of any size stored once each (SQLite splits them into
// statements of several group sizes), and batches holding already stored events (SQLite writes such a batch a second
// time, with RETURNING) storing, projecting and returning only the new ones, in batch order.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createProject, TEST_DATABASES, testApp } from '../testing.ts';
import { ingestBatch, type IncomingEvent } from './apply.ts';
import { kysely } from './db.ts';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

/** `calls` calls of one agent as a gateway reports them: a completion and its cost each, 1 ms apart every other call. */
function calls(agentId: string, count: number, from = 0): IncomingEvent[] {
  const events: IncomingEvent[] = [];
  for (let i = from; i < from + count; i++) {
    const callId = `call-${randomUUID()}`;
    const time = T0 + (i % 2);
    events.push({ id: randomUUID(), type: 'LlmCallCompleted', time, agentId, callId, provider: 'openai', model: 'gpt-4o-mini', stream: false, usage: { inputTokens: 10, outputTokens: 2 }, latencyMs: 5, complete: true });
    events.push({ id: randomUUID(), type: 'CostUpdate', time, agentId, callId, provider: 'openai', model: 'gpt-4o-mini', costUsd: 0.000_001, usage: {}, estimated: false, priced: true });
  }
  return events;
}

describe.each(TEST_DATABASES)('ingestBatch ($name)', ({ url }) => {
  let app: FastifyInstance;
  let projectId: string;
  const ingest = (events: IncomingEvent[]) => ingestBatch(app.orm.em.fork(), projectId, events);
  const count = async (table: 'events' | 'llm_calls') => Number((await kysely(app.orm.em.fork()).selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow()).n);
  // (PostgreSQL returns its bigint sums as strings: read as numbers, as the usage routes do.)
  const agent = async (id: string) => {
    const row = await kysely(app.orm.em.fork()).selectFrom('agents').select(['calls', 'input_tokens', 'output_tokens', 'cost_micros']).where('id', '=', id).executeTakeFirstOrThrow();
    return Object.fromEntries(Object.entries(row).map(([key, value]) => [key, Number(value)]));
  };

  beforeEach(async () => {
    app = await testApp(await url());
    projectId = await createProject(app);
  });
  afterEach(async () => app.close());

  it('stores batches of any size once each, every event in its batch order', async () => {
    const agentId = randomUUID();
    let total = 0;
    // 1 … 188 events: every group size (100, 50, 20, 10, 5, 2, 1) and mixes of them.
    for (const size of [1, 2, 7, 28, 37, 99, 188]) {
      const events = calls(agentId, Math.ceil(size / 2)).slice(0, size);
      const result = await ingest(events);
      expect(result).toMatchObject({ accepted: size, duplicates: 0 });
      expect(result!.stored.map((e) => e.id)).toEqual(events.map((e) => e.id));
      expect(result!.stored.map((e) => e.time)).toEqual(events.map((e) => new Date(e.time).toISOString()));
      total += size;
    }
    expect(await count('events')).toBe(total);
    const completions = [1, 2, 7, 28, 37, 99, 188].reduce((sum, size) => sum + Math.ceil(size / 2), 0);
    expect(await count('llm_calls')).toBe(completions);
    expect(await agent(agentId)).toMatchObject({ calls: completions, input_tokens: 10 * completions });
  });

  it('stores, projects and returns only the new events of a batch holding stored ones, in batch order', async () => {
    const agentId = randomUUID();
    const events = calls(agentId, 30);
    // Stored before: the first, one in the middle and the last event (a completion whose cost is new, and costs).
    const before = [events[0]!, events[31]!, events[59]!];
    expect(await ingest(before)).toMatchObject({ accepted: 3, duplicates: 0 });
    const result = await ingest([...events, events[5]!]);
    const fresh = events.filter((event) => !before.includes(event));
    expect(result).toMatchObject({ accepted: 57, duplicates: 4 });
    expect(result!.stored.map((e) => e.id)).toEqual(fresh.map((e) => e.id));
    expect(result!.stored[0]).toEqual({ id: fresh[0]!.id, projectId, agentId, type: fresh[0]!.type, time: new Date(fresh[0]!.time).toISOString(), payload: fresh[0] });
    expect(await count('events')).toBe(60);
    expect(await count('llm_calls')).toBe(30);
    expect(await agent(agentId)).toMatchObject({ calls: 30, input_tokens: 300, output_tokens: 60, cost_micros: 30 });
    // All stored already: nothing changes; and the next batch is stored as usual.
    expect(await ingest(events)).toMatchObject({ accepted: 0, duplicates: 60, stored: [] });
    expect(await ingest(calls(agentId, 1, 30))).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await count('events')).toBe(62);
    expect(await agent(agentId)).toMatchObject({ calls: 31, cost_micros: 31 });
  });
});

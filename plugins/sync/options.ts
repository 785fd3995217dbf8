// The `sync:` section of iron.config.yaml.
import { Type, type Static } from 'typebox';

export const SyncOptionsSchema = Type.Object(
  {
    server: Type.Optional(Type.String({ pattern: '^https?://', description: 'Server URL, e.g. http://127.0.0.1:8787. Env: IRON_SERVER_URL.' })),
    token: Type.Optional(Type.String({ minLength: 1, description: 'API token of the project (iron_pat_…). Env: IRON_TOKEN.' })),
    outbox: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file of events waiting to be sent. Default: .iron/outbox.db (in the working folder).' })),
    batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Events per request. Default 100.' })),
    flushIntervalMs: Type.Optional(Type.Integer({ minimum: 1, description: 'Longest wait before a partial batch is sent. Default 100.' })),
    maxOutboxEvents: Type.Optional(Type.Integer({ minimum: 100, description: 'Events kept while the server is away; beyond, new events are refused with an error log. Default 1000000.' })),
    heartbeatMs: Type.Optional(Type.Integer({ minimum: 100, description: "How often the server hears that this runtime's agents are still running; it marks them lost after its silence window (IRON_AGENT_LOST_AFTER_S, default 60 s). Default 15000." })),
    flushTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, description: 'How long closing the runtime waits to return its leases and send what is left (what does not go stays in the outbox for the next run). Default 2000.' })),
    leases: Type.Optional(
      Type.Object(
        {
          trancheUsd: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'How much of a server budget to borrow at a time. Default 0.10.' })),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600, description: 'A lease not renewed within this returns to the server. Default 30.' })),
          pollMs: Type.Optional(Type.Integer({ minimum: 100, description: 'How often limits are re-read and leases renewed. Default 1000.' })),
        },
        { additionalProperties: false, description: "Server budgets (project limits) shared by runtimes: each borrows tranches before it spends. Needs the cost plugin." },
      ),
    ),
    offline: Type.Optional(
      Type.Union([Type.Literal('lease'), Type.Literal('block'), Type.Literal('allow')], {
        description:
          "Server unreachable: spend only what unexpired leases hold, and nothing before the server's limits were first read (lease, default); refuse every call (block); or let calls through — server budgets are not enforced while the server is away (allow).",
      }),
    ),
  },
  { additionalProperties: false },
);

export type SyncOptions = Static<typeof SyncOptionsSchema>;

// The suites' titles, shared by the suite list (suites.ts) and the budgets that read their rows (budgets.ts).
export const TITLES = {
  hooks: 'Hook pipeline overhead per call',
  gatewayLatency: 'Gateway added latency over a direct call to the fake provider',
  cost: 'Cost plugin overhead per call',
  tokens: 'Token estimation throughput',
  detector: 'PII detector throughput on mixed prompt text (safety)',
  hostile: 'PII detector on hostile 1 MB inputs (safety)',
  safety: 'Safety plugin overhead per call',
  reliability: 'Reliability plugin overhead per call',
  ingest: 'Server ingest throughput (iron server, SQLite file) against a raw SQLite batched insert',
  usage: 'Server usage aggregate latency over 1 million calls',
  gateways: 'Gateway side by side: direct, Portkey, bare Node proxy, no plugins, all four plugins',
  inProcess: 'In-process path (agent.fetch with the openai client)',
  piiPeers: 'PII detection side by side with npm alternatives',
  memory: 'Memory',
  sync: 'Sync plugin: call-path overhead and delivery latency',
  dashboard: 'Dashboard load on localhost (Chromium)',
} as const;

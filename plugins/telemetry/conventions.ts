// The attribute and metric names the plugin writes. The GenAI ones are copied from
// @opentelemetry/semantic-conventions 1.45.0 (`/incubating`): incubating names can change between minor versions,
// so they are pinned here, where a rename is one edit. Iron Cage's own live under `iron.*`.

export const GEN_AI = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  requestTopP: 'gen_ai.request.top_p',
  requestStream: 'gen_ai.request.stream',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  responseFinishReasons: 'gen_ai.response.finish_reasons',
  usageInputTokens: 'gen_ai.usage.input_tokens',
  usageOutputTokens: 'gen_ai.usage.output_tokens',
  usageCacheReadInputTokens: 'gen_ai.usage.cache_read.input_tokens',
  usageCacheCreationInputTokens: 'gen_ai.usage.cache_creation.input_tokens',
  usageReasoningOutputTokens: 'gen_ai.usage.reasoning.output_tokens',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  inputMessages: 'gen_ai.input.messages',
  outputMessages: 'gen_ai.output.messages',
  systemInstructions: 'gen_ai.system_instructions',
  tokenType: 'gen_ai.token.type',
} as const;

export const OPERATION = { chat: 'chat', invokeAgent: 'invoke_agent' } as const;

export const ERROR_TYPE = 'error.type';
export const SERVER_ADDRESS = 'server.address';
export const SERVER_PORT = 'server.port';
export const SERVICE_NAME = 'service.name';

export const METRIC = {
  tokenUsage: 'gen_ai.client.token.usage',
  operationDuration: 'gen_ai.client.operation.duration',
  cost: 'iron.cost',
} as const;

/** The semantic conventions' advised bucket boundaries for the two GenAI client histograms. */
export const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
export const DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export const IRON = {
  callId: 'iron.call_id',
  agentId: 'iron.agent_id',
  agentKind: 'iron.agent.kind',
  agentStatus: 'iron.agent.status',
  provider: 'iron.provider',
  stream: 'iron.stream',
  costUsd: 'iron.cost_usd',
  budgetRemainingUsd: 'iron.budget.remaining_usd',
  /** `iron.pii.<ENTITY_TYPE>`: findings of that type in the call, prompt and answer together. */
  piiPrefix: 'iron.pii.',
  piiAction: 'iron.pii.action',
  errorMessage: 'iron.error.message',
  errorStatus: 'iron.error.status',
  attempt: 'iron.attempt',
  reason: 'iron.reason',
  retryDelayMs: 'iron.retry.delay_ms',
  fallbackFrom: 'iron.fallback.from',
  fallbackTo: 'iron.fallback.to',
  recoveryStrategy: 'iron.stream_recovery.strategy',
  recoveryDeliveredChars: 'iron.stream_recovery.delivered_chars',
} as const;

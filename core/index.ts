// The public API of `iron-cage`.
export { Runtime } from './runtime.ts';
export type { AgentFunction, AgentHandle, RuntimeOptions, StartAgentOptions } from './runtime.ts';
export { definePlugin, isPlugin, isPluginFactory } from './plugin.ts';
// Plugin option schemas are TypeBox schemas: re-exported so a plugin needs no install of its own.
export { Type, type Static, type TSchema } from 'typebox';
export type { IronPlugin, PluginDefinition, PluginFactory, OptionsSource } from './plugin.ts';
export { STAGE, createHooks } from './hooks.ts';
export type { RuntimeHooks } from './hooks.ts';
export type { AgentInfo, LlmCallContext, LlmResult, LlmSend, LlmStreamEnd, StreamRecovery } from './context.ts';
export { EventBus } from './events.ts';
export type * from './events.ts';
export type { AgentMetrics, TokenCounts } from './metrics.ts';
export * from './errors.ts';
export * from './llm/types.ts';
export { StreamAssembler } from './llm/assemble.ts';
export { adapters, adapterForPath } from './providers/adapters.ts';
export type { ApiAdapter, StreamDecoder } from './providers/adapter.ts';
export { ProviderRegistry } from './providers/routing.ts';
export type { ProviderSettings, ProviderType, ResolvedProvider } from './providers/routing.ts';
export { simulatedAnswer } from './providers/simulated.ts';
export type { ChatMessage, ChatOptions, ChatResult, ChatStream, LlmClient } from './agents/llm-client.ts';
export { loadConfig, parseConfig } from './config/load.ts';
export type { IronConfig } from './config/schema.ts';
export { validateOptions } from './config/validate.ts';
export { createLogger } from './logger.ts';

// The hook points of the runtime, declared in one place with their argument names (webpack style).
import { AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncBailHook, SyncWaterfallHook } from 'tapable';
import type { AgentInfo, LlmCallContext, LlmSend, LlmStreamEnd, StreamRecovery } from './context.ts';
import type { AgentMetrics } from './metrics.ts';
import type { LlmRequest, LlmResponse, LlmStreamChunk } from './llm/types.ts';
import { IronError, IRON_PLUGIN_FAILED } from './errors.ts';

/**
 * Stages the built-in plugins tap at (lower runs first). Custom plugins default to 0.
 * - safety (-200): redacts or blocks the prompt before anyone else sees it, so cost estimates the redacted text;
 * - cost (-100): reserves the worst case before the call, settles after it;
 * - reliability (100): wraps the send with retries, breaker and fallbacks, innermost around the provider;
 * - sync (1000): reports what the others decided.
 */
export const STAGE = { safety: -200, cost: -100, default: 0, reliability: 100, sync: 1000 } as const;

export function createHooks() {
  const hooks = {
    /** An agent is starting: before its first call. Throwing refuses the start. */
    onAgentStart: new AsyncSeriesHook<[AgentInfo]>(['agent']),
    /** An agent stopped (completed, failed, stopped or killed). Fires exactly once per agent. */
    onAgentStop: new AsyncSeriesHook<[AgentInfo]>(['agent']),
    /** Waterfall over the request: return a rewritten request, or throw an IronError to refuse the call. */
    beforeLlmCall: new AsyncSeriesWaterfallHook<[LlmRequest, LlmCallContext]>(['request', 'ctx']),
    /** Waterfall over the function that sends a request upstream: wrap it (retries, timeouts, fallbacks). */
    wrapLlmSend: new SyncWaterfallHook<[LlmSend, LlmCallContext]>(['send', 'ctx']),
    /**
     * A plugin is about to send the call to another model or provider (a fallback): `ctx.provider` is already the
     * new one. Others re-check the rewritten request (cost re-reserves for the model actually used); throw to refuse.
     */
    rerouteLlmCall: new AsyncSeriesWaterfallHook<[LlmRequest, LlmCallContext]>(['request', 'ctx']),
    /**
     * A stream broke after content reached the agent, and a plugin (reliability) is about to continue it with this
     * request on `ctx.provider` (the same model or a fallback). The broken attempt is over: cost bills it as cut
     * (setting `recovery.billedUsage`) and reserves the continuation; throw to refuse — the stream then ends with
     * the original error.
     */
    recoverLlmStream: new AsyncSeriesWaterfallHook<[LlmRequest, LlmCallContext, StreamRecovery]>(['request', 'ctx', 'recovery']),
    /** Waterfall over a non-streamed answer before the agent gets it: return a rewritten answer. */
    afterLlmCall: new AsyncSeriesWaterfallHook<[LlmResponse, LlmCallContext]>(['response', 'ctx']),
    /**
     * Waterfall over each streamed chunk on its way to the agent, as a list: return `[]` to hold a chunk
     * back, several chunks to release held ones, rewritten chunks to redact. Throw to cut the stream
     * (the agent gets the error in the provider's stream format). Synchronous: it runs per chunk.
     */
    onLlmStreamChunk: new SyncWaterfallHook<[LlmStreamChunk[], LlmCallContext]>(['chunks', 'ctx']),
    /** The upstream ended without its terminator: release anything held back (it is sent before the error). */
    flushLlmStream: new SyncWaterfallHook<[LlmStreamChunk[], LlmCallContext]>(['chunks', 'ctx']),
    /** A streamed answer ended, complete or not: settle costs, record results. */
    onLlmStreamEnd: new AsyncSeriesHook<[LlmStreamEnd, LlmCallContext]>(['end', 'ctx']),
    /** A call failed (refused by a plugin, provider error, network): release reservations. */
    onLlmError: new AsyncSeriesHook<[IronError, LlmCallContext]>(['error', 'ctx']),
    /** Waterfall over an agent's metrics: plugins add their figures (cost, budget, PII counts…). */
    metrics: new SyncWaterfallHook<[AgentMetrics, AgentInfo]>(['metrics', 'agent']),
    /** The runtime is closing (its agents have stopped): flush what must not be lost, release resources. */
    onRuntimeClose: new AsyncSeriesHook<[]>([]),
    /** `runtime.setBudget` was called: the plugin that keeps budgets applies it and returns true. */
    setBudget: new SyncBailHook<[BudgetChange], true | undefined>(['change']),
  };
  for (const [hookName, hook] of Object.entries(hooks)) attributeErrors(hookName, hook);
  return hooks;
}

export type RuntimeHooks = ReturnType<typeof createHooks>;

/** A budget changed at run time: for one agent, or for the whole runtime (`agentId: null`). `null` limit: no limit. */
export interface BudgetChange {
  agentId: string | null;
  limitUsd: number | null;
}

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Wraps every tap so an unexpected error names the plugin and hook it came from. IronErrors pass through
 * unchanged: they are a plugin's deliberate answer (a refused call, a cut stream).
 */
function attributeErrors(hookName: string, hook: { intercept(interceptor: object): void }): void {
  hook.intercept({
    register(tap: { name: string; type: string; fn: AnyFn }) {
      const wrapError = (error: unknown): unknown =>
        error instanceof IronError
          ? error
          : new IronError(IRON_PLUGIN_FAILED, `plugin "${tap.name}" failed in ${hookName}: ${error instanceof Error ? error.message : String(error)}`, {
              cause: error,
              details: { plugin: tap.name, hook: hookName },
            });
      const fn = tap.fn;
      // (`arguments` passed on with `apply`, not a rest array spread again: V8 makes no array for it, and a stream's
      // chunk hook runs once per chunk per tap.)
      if (tap.type === 'promise') {
        return {
          ...tap,
          fn: function (this: unknown) {
            try {
              return Promise.resolve(fn.apply(this, arguments as unknown as unknown[])).catch((e: unknown) => Promise.reject(wrapError(e)));
            } catch (e) {
              return Promise.reject(wrapError(e));
            }
          },
        };
      }
      if (tap.type === 'async') {
        return {
          ...tap,
          fn: (...args: unknown[]) => {
            const callback = args.pop() as (error?: unknown, result?: unknown) => void;
            try {
              return fn(...args, (error?: unknown, result?: unknown) => callback(error ? wrapError(error) : error, result));
            } catch (e) {
              return callback(wrapError(e));
            }
          },
        };
      }
      return {
        ...tap,
        fn: function (this: unknown) {
          try {
            return fn.apply(this, arguments as unknown as unknown[]);
          } catch (e) {
            throw wrapError(e);
          }
        },
      };
    },
  });
}

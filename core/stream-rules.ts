// How a streamed answer ends, shared by the metered stream (plugins read its chunks) and the pass-through (none do):
// the terminator a provider left out, the usage chunk an agent did not ask for, the error chunk that ends a stream.
import type { LlmCallContext } from './context.ts';
import type { LlmRequest, LlmResponse, LlmStreamChunk } from './llm/types.ts';
import { adapters } from './providers/adapters.ts';
import { wireUsage } from './providers/translate.ts';
import { wireMessage } from './http-answer.ts';
import type { IronError } from './errors.ts';

/** The usage-only chunk (`choices: []`) of an OpenAI chat stream. */
export function isUsageOnlyChunk(chunk: LlmStreamChunk): boolean {
  if (chunk.usage === undefined) return false; // (first: reading `data` parses a chunk read without parsing)
  const data = chunk.data as { choices?: unknown[] } | undefined;
  return Array.isArray(data?.choices) && data.choices.length === 0;
}

/** Chat's `n` > 1: several answers in one stream. */
export function severalChoices(request: LlmRequest): boolean {
  const n = (request.extra as Record<string, unknown>).n;
  return typeof n === 'number' && n > 1;
}

/**
 * Whether the answer is whole once its finish reason came, terminator or not (not with several choices, Chat's n: one
 * finish says nothing about the others; not for Responses, whose terminator is the finish).
 */
export function finishedWithoutTerminator(finished: boolean, ctx: LlmCallContext, request: LlmRequest): boolean {
  return finished && ctx.format !== 'openai-responses' && !severalChoices(request);
}

/** The terminator the agent's format ends a stream with (`[DONE]`, `message_stop`), for a provider that left it out. */
export function terminatorChunk(ctx: LlmCallContext): LlmStreamChunk {
  return ctx.format === 'anthropic-messages' ? { event: 'message_stop', data: { type: 'message_stop' }, done: true } : { data: '[DONE]', done: true };
}

/** Chat's closing usage chunk (`choices: []`), for an answer whose own was lost. */
export function chatUsageChunk(response: LlmResponse, model: string): LlmStreamChunk {
  const usage = response.usage!;
  const data = { id: response.id, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: response.model || model, choices: [], usage: wireUsage('openai-chat', usage) };
  return { data, id: response.id, usage };
}

/** The in-stream error event that ends an answer that broke, in the agent's format. */
export function streamErrorChunk(ctx: LlmCallContext, error: IronError): LlmStreamChunk {
  return { ...adapters[ctx.format].streamErrorChunk(error.code, wireMessage(error)), error: { type: error.code, message: error.message } };
}

const warnedTerminator = new WeakSet<object>();

/** Once per provider: it ends complete streams without their terminator (`[DONE]`, `message_stop`). */
export function warnMissingTerminator(ctx: LlmCallContext): void {
  if (warnedTerminator.has(ctx.provider)) return;
  warnedTerminator.add(ctx.provider);
  ctx.logger.warn({ provider: ctx.provider.name }, `provider "${ctx.provider.name}" ended a stream without its terminator after the finish reason: the answer is complete, and the terminator was added for the agent`);
}

/** A provider error after the answer's finish reason: the answer was whole, only its tail failed (logged, complete). */
export function warnErrorAfterFinish(ctx: LlmCallContext, chunk: LlmStreamChunk): void {
  ctx.logger.warn({ callId: ctx.callId, provider: ctx.provider.name }, `provider "${ctx.provider.name}" sent an error after the answer's finish reason (${chunk.error!.message}): the answer is complete`);
}

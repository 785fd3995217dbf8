// Mid-stream recovery: a stream that breaks after content reached the agent is continued by another attempt, and
// the agent reads one uninterrupted answer — no repeated words, no gap, one finish, one usage. This module follows
// what the agent received and writes the continuation in the agent's wire format; the plugin decides the attempts.
import { LlmError, IRON_STREAM_INTERRUPTED } from '../../core/errors.ts';
import type { ApiFormat, FinishReason, LlmRequest, LlmStreamChunk, Usage } from '../../core/llm/types.ts';
import { addUsage } from '../../core/llm/types.ts';
import { wireFinish, wireUsage } from '../../core/providers/translate.ts';

export type RecoveryStrategy = 'continuation' | 'replay' | 'off';

/** What the agent has received of one streamed answer. */
export class DeliveredAnswer {
  readonly format: ApiFormat;
  id = '';
  model = '';
  /** The choice (Chat) or content block (Anthropic) the text is in. */
  index: number | undefined;
  text = '';
  /** Something a continuation cannot extend: a tool call, reasoning, a second choice or block. */
  unsplicable: string | undefined;
  /** Anthropic: the text block was closed (content_block_stop): more text goes into a new block. */
  blockClosed = false;
  finishReason: FinishReason | undefined;

  constructor(format: ApiFormat) {
    this.format = format;
    if (format === 'openai-responses') this.unsplicable = 'Responses streams are not continued';
  }

  /** Follows one chunk on its way to the agent. */
  add(chunk: LlmStreamChunk): void {
    if (chunk.id && !this.id) this.id = chunk.id;
    if (chunk.model && !this.model) this.model = chunk.model;
    if (chunk.finishReason) this.finishReason = chunk.finishReason;
    if (chunk.toolCallDelta) this.unsplicable ??= 'the answer has a tool call';
    // Anthropic: once the text block is closed, no delta can be added to it; a continuation opens the next one.
    if (chunk.event === 'content_block_stop' && this.text !== '') this.blockClosed = true;
    if (chunk.reasoningDelta) this.unsplicable ??= 'the answer has reasoning';
    if (chunk.textDelta) {
      const index = chunk.index ?? 0;
      if (this.index === undefined) this.index = index;
      else if (index !== this.index) this.unsplicable ??= 'the answer has several text outputs';
      this.text += chunk.textDelta;
    }
  }

  /** Content reached the agent and the answer has not finished: a break now needs recovery. */
  get started(): boolean {
    return this.text !== '' || this.unsplicable !== undefined;
  }
}

/**
 * The request that continues `delivered`: with `continuation`, the text so far as a trailing assistant message
 * (a prefill: trailing whitespace left out, since Anthropic refuses it) and an output cap lowered by what was spent;
 * with `replay`, the request as it was.
 */
export function continuationRequest(request: LlmRequest, delivered: string, strategy: 'continuation' | 'replay'): LlmRequest {
  if (strategy === 'replay') return request;
  const prefill = delivered.trimEnd();
  const spent = Math.ceil(Buffer.byteLength(delivered) / 4);
  return {
    ...request,
    ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: Math.max(16, request.maxOutputTokens - spent) } : {}),
    messages: [...request.messages, { role: 'assistant', parts: [{ type: 'text', text: prefill }] }],
  };
}

/**
 * The next attempt's chunks (already in the agent's format) turned into the rest of the delivered answer: its
 * opening events are dropped, its text is cut to what follows the delivered text, and its end carries the usage of
 * every attempt. Throws IRON_STREAM_INTERRUPTED when the attempt cannot continue the answer (a replay that says
 * something else, a tool call); errors of the attempt pass through, for the plugin to try the next one.
 */
export async function* spliced(
  chunks: AsyncIterable<LlmStreamChunk>,
  answer: DeliveredAnswer,
  strategy: 'continuation' | 'replay',
  billedBefore: Usage,
  provider: string,
  onPrefillIgnored?: () => void,
): AsyncGenerator<LlmStreamChunk> {
  const writer = answer.format === 'anthropic-messages' ? anthropicContinuation(answer) : chatContinuation(answer);
  const before = answer.text;
  let mode = strategy;
  // Replay: the new answer's text must first say exactly what was delivered. Continuation: it may repeat the
  // whitespace the prefill left out.
  let echo = mode === 'replay' ? before : before.slice(before.trimEnd().length);
  // Continuation: a provider that ignores the prefill starts the answer over. Its first characters are held until
  // they show which: a repeat of the delivered start is then treated as a replay (nothing said twice).
  const probeLength = Math.min(before.trimEnd().length, PROBE_CHARS);
  let probe: string | undefined = mode === 'continuation' && probeLength >= MIN_PROBE_CHARS ? '' : undefined;
  let usage: Usage | undefined;
  let finish: FinishReason | undefined;
  const end = (): LlmStreamChunk[] => writer.end(finish ?? 'stop', usage ? addUsage(billedBefore, usage) : billedBefore);
  const honest = (why: string) =>
    new LlmError(IRON_STREAM_INTERRUPTED, `provider "${provider}" broke the stream after ${before.length} characters and its answer could not be continued: ${why}; the answer is incomplete`, { details: { provider, delivered: before.length, cannotContinue: true } });
  for await (const chunk of chunks) {
    if (chunk.error) throw new LlmError(IRON_STREAM_INTERRUPTED, `provider "${provider}" reported an error in the continued stream: ${chunk.error.message}`, { details: { provider } });
    if (chunk.usage) usage = chunk.usage;
    if (chunk.finishReason) finish = chunk.finishReason;
    if (chunk.toolCallDelta || chunk.reasoningDelta) throw honest('the continuation is a tool call or reasoning');
    let text = chunk.textDelta ?? '';
    if (probe !== undefined && (text || chunk.done)) {
      probe += text;
      if (!chunk.done && probe.length < probeLength && before.startsWith(probe)) continue;
      if (probe.startsWith(before.slice(0, probeLength)) || (chunk.done && probe.length >= MIN_PROBE_CHARS && before.startsWith(probe))) {
        mode = 'replay';
        echo = before;
        onPrefillIgnored?.();
      }
      text = probe;
      probe = undefined;
    }
    if (text && echo) {
      const overlap = Math.min(echo.length, text.length);
      if (text.slice(0, overlap) !== echo.slice(0, overlap)) {
        if (mode === 'replay') throw honest('the second answer differs from the text already sent');
        echo = '';
      } else {
        echo = echo.slice(overlap);
        text = text.slice(overlap);
      }
    }
    // The plugin follows what it passes on (DeliveredAnswer.add): these chunks are counted there, once.
    if (text) yield* writer.text(text);
    if (chunk.done) {
      if (echo && mode === 'replay') throw honest('the second answer is shorter than the text already sent');
      answer.finishReason = finish ?? 'stop';
      yield* end();
      return;
    }
  }
  // Ended without its terminator: complete if the protocol says so (a finish reason), else broken again.
  if (finish === undefined) throw new LlmError(IRON_STREAM_INTERRUPTED, `provider "${provider}" ended the continued stream before its terminator`, { details: { provider } });
  answer.finishReason = finish;
  yield* end();
}

/** How much of a continuation is held to tell a continuation from an answer started over, and the least that can tell. */
const PROBE_CHARS = 24;
const MIN_PROBE_CHARS = 4;

interface ContinuationWriter {
  text(text: string): LlmStreamChunk[];
  end(reason: FinishReason, usage: Usage): LlmStreamChunk[];
}

/** Chat: content deltas on the delivered choice, then the finish chunk, a usage chunk and `[DONE]`. */
function chatContinuation(answer: DeliveredAnswer): ContinuationWriter {
  const created = Math.floor(Date.now() / 1000);
  const index = answer.index ?? 0;
  const base = () => ({ id: answer.id, object: 'chat.completion.chunk', created, model: answer.model });
  return {
    text: (text) => [{ data: { ...base(), choices: [{ index, delta: { content: text }, logprobs: null, finish_reason: null }] }, id: answer.id, model: answer.model, index, textDelta: text }],
    end: (reason, usage) => [
      { data: { ...base(), choices: [{ index, delta: {}, logprobs: null, finish_reason: wireFinish('openai-chat', reason) }] }, id: answer.id, model: answer.model, index, finishReason: reason },
      { data: { ...base(), choices: [], usage: wireUsage('openai-chat', usage) }, id: answer.id, model: answer.model, usage },
      { data: '[DONE]', done: true },
    ],
  };
}

/**
 * Anthropic: text deltas in the open block (or, when it was already closed, in a new text block after it), then the
 * block's content_block_stop, message_delta with the usage, message_stop.
 */
function anthropicContinuation(answer: DeliveredAnswer): ContinuationWriter {
  const index = (answer.index ?? 0) + (answer.blockClosed ? 1 : 0);
  let open = !answer.blockClosed;
  const event = (type: string, data: Record<string, unknown>, neutral: Partial<LlmStreamChunk> = {}): LlmStreamChunk => ({ event: type, data: { type, ...data }, ...neutral });
  return {
    text: (text) => {
      const delta = event('content_block_delta', { index, delta: { type: 'text_delta', text } }, { index, textDelta: text });
      if (open) return [delta];
      open = true;
      return [event('content_block_start', { index, content_block: { type: 'text', text: '' } }, { index }), delta];
    },
    end: (reason, usage) => [
      ...(open ? [event('content_block_stop', { index }, { index })] : []),
      event('message_delta', { delta: { stop_reason: wireFinish('anthropic-messages', reason), stop_sequence: null }, usage: wireUsage('anthropic-messages', usage) }, { finishReason: reason, usage }),
      event('message_stop', {}, { done: true, id: answer.id }),
    ],
  };
}

// Builds the whole answer from a stream's chunks, for plugins that settle or record after a stream ends.
import type { ApiFormat, FinishReason, LlmPart, LlmResponse, LlmStreamChunk, Usage } from './types.ts';

interface ToolCallDraft { id: string; name: string; arguments: string }

export class StreamAssembler {
  readonly #format: ApiFormat;
  #id = '';
  #model: string;
  readonly #text = new Map<number, string>();
  #reasoning = '';
  readonly #toolCalls = new Map<number, ToolCallDraft>();
  #usage: Usage | undefined;
  #finishReason: FinishReason | undefined;
  /** The provider sent its terminator. */
  complete = false;
  /** The provider reported an error inside the stream. */
  error: { type?: string; message: string } | undefined;
  chunks = 0;

  constructor(format: ApiFormat, model: string) {
    this.#format = format;
    this.#model = model;
  }

  add(chunk: LlmStreamChunk): void {
    this.chunks += 1;
    if (chunk.id && !this.#id) this.#id = chunk.id;
    if (chunk.model) this.#model = chunk.model;
    const index = chunk.index ?? 0;
    if (chunk.textDelta) this.#text.set(index, (this.#text.get(index) ?? '') + chunk.textDelta);
    if (chunk.reasoningDelta) this.#reasoning += chunk.reasoningDelta;
    if (chunk.toolCallDelta) {
      const draft = this.#toolCalls.get(index) ?? { id: '', name: '', arguments: '' };
      if (chunk.toolCallDelta.id) draft.id = chunk.toolCallDelta.id;
      if (chunk.toolCallDelta.name) draft.name += chunk.toolCallDelta.name;
      if (chunk.toolCallDelta.argumentsDelta) draft.arguments += chunk.toolCallDelta.argumentsDelta;
      this.#toolCalls.set(index, draft);
    }
    if (chunk.usage) this.#usage = chunk.usage;
    if (chunk.finishReason) this.#finishReason = chunk.finishReason;
    if (chunk.error) this.error = chunk.error;
    if (chunk.done) this.complete = true;
  }

  get usage(): Usage | undefined {
    return this.#usage;
  }

  /** The finish reason, once the provider sent it: the answer's content is complete. */
  get finishReason(): FinishReason | undefined {
    return this.#finishReason;
  }

  /** All output text received so far (for estimates when a stream was cut before its usage). */
  get text(): string {
    return [...this.#text.values()].join('') + this.#reasoning;
  }

  response(): LlmResponse {
    const parts: LlmPart[] = [];
    if (this.#reasoning) parts.push({ type: 'reasoning', text: this.#reasoning });
    for (const index of [...this.#text.keys()].sort((a, b) => a - b)) parts.push({ type: 'text', text: this.#text.get(index)! });
    for (const index of [...this.#toolCalls.keys()].sort((a, b) => a - b)) {
      const draft = this.#toolCalls.get(index)!;
      parts.push({ type: 'tool-call', id: draft.id, name: draft.name, arguments: draft.arguments });
    }
    const response: LlmResponse = {
      format: this.#format,
      id: this.#id,
      model: this.#model,
      parts,
      finishReason: this.#finishReason ?? (this.error ? 'error' : this.complete ? 'stop' : 'other'),
      extra: {},
    };
    if (this.#usage) response.usage = this.#usage;
    return response;
  }
}

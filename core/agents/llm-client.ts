// agent.llm: a small typed client for agents that do not bring an SDK; same hooks, same providers.
import type { AgentRecord } from './record.ts';
import { executeLlmCall, type CallEnvironment } from '../call.ts';
import type { ApiFormat, FinishReason, JsonObject, LlmStreamChunk, Usage } from '../llm/types.ts';
import { responseText } from '../llm/types.ts';
import { ConfigError, IronError, IRON_UPSTREAM_ERROR, type IronErrorCode } from '../errors.ts';
import { unknownOption } from '../config/validate.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatOptions {
  model: string;
  messages: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

export interface ChatResult {
  text: string;
  model: string;
  finishReason: FinishReason;
  usage?: Usage;
  /** Headers the plugins added (e.g. `x-iron-cost-usd`). */
  headers: Record<string, string>;
}

export interface ChatStream extends AsyncIterable<string> {
  /** Settles with the whole answer once the stream ended (rejects with the IronError that cut it). */
  readonly result: Promise<ChatResult>;
}

export interface LlmClient {
  chat(options: ChatOptions): Promise<ChatResult>;
  /** Streams the answer's text as it arrives. */
  stream(options: ChatOptions): ChatStream;
}

function wireBody(format: ApiFormat, options: ChatOptions, stream: boolean): JsonObject {
  if (format === 'anthropic-messages') {
    const system = options.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    const body: JsonObject = {
      model: options.model,
      max_tokens: options.maxTokens ?? 4096,
      messages: options.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role, content: m.content })),
    };
    if (system) body.system = system;
    if (options.temperature !== undefined) body.temperature = options.temperature;
    if (stream) body.stream = true;
    return body;
  }
  const body: JsonObject = { model: options.model, messages: options.messages.map((m) => ({ role: m.role, content: m.content })) };
  if (options.maxTokens !== undefined) body.max_tokens = options.maxTokens;
  if (options.temperature !== undefined) body.temperature = options.temperature;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

const CHAT_OPTIONS = ['model', 'messages', 'maxTokens', 'temperature', 'signal'];
/** The wire names people write from habit, and the option each is here. */
const WIRE_NAMES: Record<string, string> = { max_tokens: 'maxTokens', max_completion_tokens: 'maxTokens', max_output_tokens: 'maxTokens', maxOutputTokens: 'maxTokens' };

/**
 * agent.llm's options: one it does not know (`max_tokens`, a typo) would be dropped without a word — and a budgeted call
 * without its cap reserves the model's maximum output and is refused for it.
 */
function checkChatOptions(options: ChatOptions, method: string): void {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`agent.llm.${method}(options): options must be an object with ${CHAT_OPTIONS.join(', ')}`);
  const unknown = unknownOption(options, CHAT_OPTIONS, WIRE_NAMES);
  if (unknown) {
    const { key, guess } = unknown;
    throw new ConfigError(`agent.llm.${method}({ ${key} }): unknown option${guess ? ` (did you mean "${guess}"?)` : ''}; expected ${CHAT_OPTIONS.join(', ')}`, { path: key });
  }
  if (typeof options.model !== 'string' || options.model === '') throw new ConfigError(`agent.llm.${method}: model must name a model, e.g. "gpt-4o-mini"`, { path: 'model' });
  if (!Array.isArray(options.messages)) throw new ConfigError(`agent.llm.${method}: messages must be a list of { role, content }`, { path: 'messages' });
  if (options.maxTokens !== undefined && !(Number.isInteger(options.maxTokens) && options.maxTokens > 0)) throw new ConfigError(`agent.llm.${method}: maxTokens must be a positive whole number, got ${String(options.maxTokens)}`, { path: 'maxTokens' });
}

function chunkError(chunk: LlmStreamChunk): IronError {
  const code = chunk.error?.type?.startsWith('IRON_') ? (chunk.error.type as IronErrorCode) : IRON_UPSTREAM_ERROR;
  return new IronError(code, chunk.error?.message ?? 'the stream failed');
}

export function createLlmClient(env: CallEnvironment, agent: AgentRecord): LlmClient {
  // Speak the wire format of the provider the model routes to, so no translation is needed.
  const formatFor = (model: string): ApiFormat => env.providers.nativeFormat(model);

  const call = (options: ChatOptions, stream: boolean) => {
    const format = formatFor(options.model);
    return executeLlmCall(env, agent, { format, body: wireBody(format, options, stream), ...(options.signal ? { signal: options.signal } : {}) });
  };

  return {
    async chat(options) {
      checkChatOptions(options, 'chat');
      const output = await call(options, false);
      if (output.type !== 'response') throw new IronError(IRON_UPSTREAM_ERROR, 'expected a complete answer, got a stream');
      const { response } = output;
      return {
        text: responseText(response),
        model: response.model,
        finishReason: response.finishReason,
        ...(response.usage ? { usage: response.usage } : {}),
        headers: output.headers,
      };
    },
    stream(options) {
      checkChatOptions(options, 'stream');
      let resolveResult!: (result: ChatResult) => void;
      let rejectResult!: (error: unknown) => void;
      const result = new Promise<ChatResult>((resolve, reject) => {
        resolveResult = resolve;
        rejectResult = reject;
      });
      result.catch(() => undefined); // the iterator rethrows; an unobserved result must not crash the process
      async function* texts(): AsyncGenerator<string> {
        try {
          const output = await call(options, true);
          if (output.type !== 'stream') throw new IronError(IRON_UPSTREAM_ERROR, 'expected a stream, got a complete answer');
          let text = '';
          let model = options.model;
          let usage: Usage | undefined;
          let finishReason: FinishReason = 'other';
          for await (const chunk of output.chunks) {
            if (chunk.error) throw chunkError(chunk);
            if (chunk.model) model = chunk.model;
            if (chunk.usage) usage = chunk.usage;
            if (chunk.finishReason) finishReason = chunk.finishReason;
            if (chunk.textDelta) {
              text += chunk.textDelta;
              yield chunk.textDelta;
            }
          }
          resolveResult({ text, model, finishReason, ...(usage ? { usage } : {}), headers: output.headers });
        } catch (error) {
          rejectResult(error);
          throw error;
        }
      }
      const iterable = texts();
      return { [Symbol.asyncIterator]: () => iterable, result };
    },
  };
}

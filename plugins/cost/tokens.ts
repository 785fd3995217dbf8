// Token counts: a cheap upper bound for reservations, and gpt-tokenizer's exact o200k count where it matters.
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import type { LlmMessage, LlmPart, LlmRequest } from '../../core/llm/types.ts';

/** Per-message framing tokens (role markers and separators), as the OpenAI cookbook counts them. */
const MESSAGE_OVERHEAD = 4;
const REPLY_PRIMING = 3;
/**
 * Images, audio and files are billed by their own rules: the most one such part can be billed, by model. An image
 * is scaled into 2048×2048, then its short side to 768 px: at most 8 tiles of 512 px. gpt-4o-mini bills 2,833 +
 * 5,667 per tile (48,169); gpt-4o, o1, o3 bill 85 + 170 per tile (1,445); patch-billed models (gpt-4.1-mini/nano,
 * o4-mini, gpt-5) at most 1,536 patches × 2.46; Claude about 1,600 per image. PDFs and audio have no such bound:
 * the default covers a page or a minute.
 */
const OPAQUE_PART_TOKENS: Array<[RegExp, number]> = [
  [/^gpt-4o-mini/, 48_200],
  [/^(gpt-4o|gpt-4-turbo|gpt-4\.5|o1|o3)/, 4_000],
];
const DEFAULT_OPAQUE_PART_TOKENS = 4_000;

/** The most one image, audio or file part of a call to `model` is billed, in input tokens. */
export function opaquePartTokens(model: string): number {
  const bare = model.slice(model.lastIndexOf('/') + 1);
  return OPAQUE_PART_TOKENS.find(([pattern]) => pattern.test(bare))?.[1] ?? DEFAULT_OPAQUE_PART_TOKENS;
}

/** How many answers the call asks for (OpenAI's `n`): each is billed its output, the prompt once. */
export function choicesOf(request: LlmRequest): number {
  const n = (request.extra as Record<string, unknown>).n;
  return typeof n === 'number' && Number.isInteger(n) && n > 1 ? n : 1;
}

function partText(part: LlmPart): string {
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return part.text;
    case 'tool-call':
      return part.name + part.arguments;
    case 'tool-result':
      return part.content.map(partText).join('');
    default:
      return '';
  }
}

function opaqueParts(parts: LlmPart[]): number {
  let count = 0;
  for (const part of parts) {
    if (part.type === 'opaque') count += 1;
    else if (part.type === 'tool-result') count += opaqueParts(part.content);
  }
  return count;
}

function messageText(message: LlmMessage): string {
  return message.parts.map(partText).join('');
}

/** Tool definitions and structured-output schemas are sent with the prompt and billed as input. */
function definitionsText(request: LlmRequest): string {
  const { tools, functions, response_format: responseFormat, text } = request.extra as Record<string, unknown>;
  return [tools, functions, responseFormat, text].filter((v) => v !== undefined).map((v) => JSON.stringify(v)).join('');
}

/**
 * A bound no tokenizer can exceed: a byte-level BPE token is at least one UTF-8 byte. Costs microseconds
 * even for long prompts, so it is what reservations use while the budget has room.
 */
export function inputTokensUpperBound(request: LlmRequest): number {
  let tokens = REPLY_PRIMING + Buffer.byteLength(definitionsText(request));
  const perOpaque = opaquePartTokens(request.model);
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD + Buffer.byteLength(messageText(message)) + opaqueParts(message.parts) * perOpaque;
  }
  return tokens;
}

/** The o200k count of the prompt (exact for current OpenAI models, an estimate for others). */
export function inputTokensCounted(request: LlmRequest): number {
  let tokens = REPLY_PRIMING + countText(definitionsText(request));
  const perOpaque = opaquePartTokens(request.model);
  for (const message of request.messages) {
    tokens += MESSAGE_OVERHEAD + countText(messageText(message)) + opaqueParts(message.parts) * perOpaque;
  }
  return tokens;
}

export function countText(text: string): number {
  return text === '' ? 0 : countTokens(text);
}

/**
 * The tokenizer a model bills with, when it is one we have: o200k for gpt-4o, gpt-4.1, gpt-5 and the o-series;
 * cl100k for gpt-4, gpt-4-turbo and gpt-3.5. For any other model (Claude, Gemini, open models) no count here is
 * exact, so a reservation keeps the byte bound (a Tamil prompt runs 4× more tokens in cl100k than in o200k).
 */
export function exactTokenizer(model: string): ((text: string) => number) | undefined {
  const bare = model.slice(model.lastIndexOf('/') + 1);
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/.test(bare)) return countText;
  if (/^(gpt-4|gpt-3\.5)/.test(bare)) return (text) => (text === '' ? 0 : countCl100k(text));
  return undefined;
}

/** The exact input count for a model whose tokenizer we have; undefined for any other. */
export function inputTokensExact(request: LlmRequest): number | undefined {
  const count = exactTokenizer(request.model);
  if (!count) return undefined;
  let tokens = REPLY_PRIMING + count(definitionsText(request));
  const perOpaque = opaquePartTokens(request.model);
  for (const message of request.messages) tokens += MESSAGE_OVERHEAD + count(messageText(message)) + opaqueParts(message.parts) * perOpaque;
  return tokens;
}

/** Server-side tools whose results (search pages, files, code output) the provider bills as input. */
const SERVER_TOOL = /^(web_search|file_search|code_interpreter|computer|web_fetch|mcp|image_generation|local_shell)/;

/**
 * Why the request's input cannot be bounded by what it carries, or undefined: the provider adds input the request
 * does not hold — an earlier response or conversation (Responses `previous_response_id`, `conversation`), a file or
 * document by id or URL, results of server-side tools (web search, file search, code interpreter). Such a call
 * reserves the model's whole context window as input.
 */
export function unboundedInput(request: LlmRequest): string | undefined {
  const extra = request.extra as Record<string, unknown>;
  if (typeof extra.previous_response_id === 'string') return 'previous_response_id';
  if (extra.conversation !== undefined && extra.conversation !== null) return 'conversation';
  const tools = Array.isArray(extra.tools) ? (extra.tools as Array<{ type?: unknown }>) : [];
  const server = tools.find((tool) => typeof tool?.type === 'string' && SERVER_TOOL.test(tool.type));
  if (server) return `the ${String(server.type)} tool`;
  for (const message of request.messages) {
    for (const part of message.parts) {
      if (part.type !== 'opaque') continue;
      const json = JSON.stringify(part.value);
      if (/"file_id"\s*:|"type"\s*:\s*"(url|file)"|"(file_url|document_url)"\s*:|"url"\s*:\s*"https?:/.test(json)) return 'a file or document by reference';
    }
  }
  return undefined;
}

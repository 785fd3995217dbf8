// Prompts and answers in the shape of the GenAI conventions' gen_ai.input.messages / gen_ai.output.messages /
// gen_ai.system_instructions (JSON: messages of role + typed parts). Only used with `captureContent: true`.
import type { FinishReason, LlmMessage, LlmPart, LlmRequest, LlmResponse } from '../../core/llm/types.ts';

type Part = Record<string, unknown>;

/** The conventions' finish reasons (`tool_call`, `content_filter`), from the neutral model's. */
export function finishReasonOf(reason: FinishReason): string {
  if (reason === 'tool-calls') return 'tool_call';
  if (reason === 'content-filter') return 'content_filter';
  return reason;
}

/** Replaces personal data and secrets in a text (scrub.ts). */
type Scrub = (text: string) => string;

/**
 * Tool arguments as JSON: the text scrubbed whole (a value split across two fields is found in it), then each string
 * value on its own (a name inside JSON text is found as a value). If scrubbing the whole text broke the JSON, the
 * values alone.
 */
function toolArguments(text: string, scrub: Scrub): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(scrub(text));
  } catch {
    try {
      parsed = JSON.parse(text);
    } catch {
      return scrub(text);
    }
  }
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [scrub(key), walk(inner)]));
    return value;
  };
  return walk(parsed);
}

function partsOf(parts: LlmPart[], scrub: Scrub): Part[] {
  const out: Part[] = [];
  // Consecutive text parts are scrubbed as one text: a value split across two parts is found too.
  const texts = joinedTexts(parts, scrub);
  for (const [i, part] of parts.entries()) {
    if (part.type === 'text') out.push({ type: 'text', content: texts.get(i) ?? '' });
    else if (part.type === 'reasoning') out.push({ type: 'reasoning', content: scrub(part.text) });
    else if (part.type === 'tool-call') out.push({ type: 'tool_call', id: part.id, name: scrub(part.name), arguments: toolArguments(part.arguments, scrub) });
    else if (part.type === 'tool-result') {
      out.push({ type: 'tool_call_response', id: part.toolCallId, response: scrub(part.content.map((inner) => (inner.type === 'text' ? inner.text : '')).join('')) });
    }
    // Images, files and audio are never copied into telemetry: their kind is enough.
    else out.push({ type: 'opaque' });
  }
  return out;
}

/**
 * Each run of consecutive text parts scrubbed as one text, then cut back at the parts' boundaries (a placeholder that
 * spans a boundary goes with the part where its value started): index of the part → its scrubbed text.
 */
function joinedTexts(parts: LlmPart[], scrub: Scrub): Map<number, string> {
  const out = new Map<number, string>();
  let run: number[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const texts = run.map((i) => (parts[i] as Extract<LlmPart, { type: 'text' }>).text);
    if (run.length === 1) out.set(run[0]!, scrub(texts[0]!));
    else {
      // A separator no recognizer matches across keeps the parts apart after scrubbing; values across it are joined.
      const joined = scrub(texts.join(''));
      if (joined === texts.join('')) texts.forEach((text, k) => out.set(run[k]!, text));
      else {
        out.set(run[0]!, joined);
        for (const i of run.slice(1)) out.set(i, '');
      }
    }
    run = [];
  };
  for (const [i, part] of parts.entries()) {
    if (part.type === 'text') run.push(i);
    else flush();
  }
  flush();
  return out;
}

/** A system prompt given apart from the conversation (Anthropic `system`, Responses `instructions`). */
const separate = (message: LlmMessage) => message.role === 'system' && (message.origin === 'system' || message.origin === 'instructions');

export function inputContent(request: LlmRequest, scrub: Scrub): { messages: string; system?: string } {
  const system = request.messages.filter(separate).flatMap((message) => partsOf(message.parts, scrub));
  const messages = request.messages.filter((message) => !separate(message)).map((message) => ({ role: message.role, parts: partsOf(message.parts, scrub) }));
  return { messages: JSON.stringify(messages), ...(system.length > 0 ? { system: JSON.stringify(system) } : {}) };
}

export function outputContent(response: LlmResponse, scrub: Scrub): string {
  return JSON.stringify([{ role: 'assistant', parts: partsOf(response.parts, scrub), finish_reason: finishReasonOf(response.finishReason) }]);
}

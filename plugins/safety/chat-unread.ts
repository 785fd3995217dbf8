// Chat stream chunks may hold text that no channel reads: a second choice in one chunk, a `message` or `text` on a
// choice, content written as a list of parts, a second tool call in one delta. OpenAI does not stream these shapes;
// OpenAI-compatible servers and a hostile upstream can, and an outside review of this session saw them go to the agent
// unscanned (F5). Such text is scanned chunk by chunk, as a whole answer's fields are; the text a channel reads is left to it.
import type { JsonObject } from '../../core/llm/types.ts';
import { isObject } from '../../core/providers/wire.ts';

/**
 * Whether a Chat chunk's data holds text beyond what the channels read of it: choice 0's delta `content` (a string),
 * its reasoning and its first tool call. (Cheap: typical chunks have one choice and a string or no content.)
 */
export function holdsUnreadChatText(data: unknown): boolean {
  if (!isObject(data) || !Array.isArray(data.choices) || data.choices.length === 0) return false;
  if (data.choices.length > 1) return true;
  const first = data.choices[0];
  if (!isObject(first)) return false;
  if ((first.message !== undefined && first.message !== null) || (typeof first.text === 'string' && first.text !== '')) return true;
  const delta = first.delta;
  if (!isObject(delta)) return false;
  if (delta.content !== undefined && delta.content !== null && typeof delta.content !== 'string') return true;
  return Array.isArray(delta.tool_calls) && delta.tool_calls.length > 1;
}

/**
 * `data` with the text no channel reads rewritten by `rewrite` (which returns its argument when nothing changed); the
 * read fields as they are. `data` itself when nothing changed.
 */
export function rewriteUnreadChatText(data: JsonObject, rewrite: (value: unknown) => unknown): JsonObject {
  const [first, ...rest] = data.choices as unknown[];
  let firstOut = first;
  if (isObject(first)) {
    const { delta, ...choice } = first;
    const choiceOut = rewrite(choice) as JsonObject;
    let deltaOut = delta;
    if (isObject(delta)) {
      const content = delta.content;
      const calls = delta.tool_calls;
      const contentOut = content === undefined || content === null || typeof content === 'string' ? content : rewrite(content);
      // The calls after the first (the channel reads that one); `rewrite` hands back the same array when nothing changed.
      const later = Array.isArray(calls) && calls.length > 1 ? (calls as unknown[]).slice(1) : undefined;
      const laterOut = later && (rewrite(later) as unknown[]);
      const callsOut = laterOut !== later ? [(calls as unknown[])[0], ...laterOut!] : calls;
      if (contentOut !== content || callsOut !== calls) deltaOut = { ...delta, content: contentOut as JsonObject['content'], tool_calls: callsOut as JsonObject['tool_calls'] };
    }
    if (choiceOut !== choice || deltaOut !== delta) firstOut = delta === undefined ? choiceOut : { ...choiceOut, delta: deltaOut };
  }
  const restOut = rest.length > 0 ? (rewrite(rest) as unknown[]) : rest;
  if (firstOut === first && restOut === rest) return data;
  return { ...data, choices: [firstOut, ...restOut] as JsonObject['choices'] };
}

/**
 * A Chat chunk cut to what a channel reads (its first choice, and that choice's first tool call), as the template of
 * the chunks a channel releases later: a template that kept a second tool call or choice sent it again with each
 * release (a second outside review of this session: call 1's arguments twice, `{"to":"world"}{"to":"world"}`).
 * The chunk itself when it holds nothing more.
 */
export function channelTemplate<T extends { data?: unknown; raw?: string }>(chunk: T): T {
  const data = chunk.data;
  if (!isObject(data) || !Array.isArray(data.choices)) return chunk;
  const first = data.choices[0];
  const calls = isObject(first) && isObject(first.delta) && Array.isArray(first.delta.tool_calls) ? first.delta.tool_calls : undefined;
  if (data.choices.length <= 1 && (calls === undefined || calls.length <= 1)) return chunk;
  const choice = isObject(first) && calls !== undefined && calls.length > 1 ? { ...first, delta: { ...(first.delta as JsonObject), tool_calls: calls.slice(0, 1) } } : first;
  const { raw: _raw, ...rest } = chunk;
  return { ...rest, data: { ...data, choices: [choice] } } as T;
}

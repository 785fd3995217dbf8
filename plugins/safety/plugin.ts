// The safety plugin: scans every prompt part before it leaves (redact, mask, pseudonymize or block) — messages, tool
// calls and results, tool and schema definitions, parts kept as raw JSON — and every answer on its way back, streamed
// ones and their reasoning included, restoring pseudonyms; logprobs, which would spell redacted values, are neither
// asked for nor passed back (logprobs.ts). Taps at STAGE.safety, before cost.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext } from '../../core/context.ts';
import { IronError, IRON_PII_BLOCKED } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { ApiFormat, JsonObject, LlmPart, LlmRequest, LlmResponse, LlmStreamChunk } from '../../core/llm/types.ts';
import { adapters } from '../../core/providers/adapters.ts';
import { isCustomToolCall } from '../../core/providers/openai-chat.ts';
import { isPlainTextDelta } from '../../core/providers/text-delta.ts';
import { isObject } from '../../core/providers/wire.ts';
import type { Runtime } from '../../core/runtime.ts';
import { createDetector } from './detect/index.ts';
import './events.ts';
import { escapeView, quoteBareFindings, snapToEscapes } from './json-stream.ts';
import { decodeJsonEscapes, rewriteOpaque, rewriteRequestFields, type RewriteString } from './json-text.ts';
import { channelTemplate, holdsUnreadChatText, rewriteUnreadChatText } from './chat-unread.ts';
import { chunkWithoutLogprobs, partWithoutLogprobs, withoutLogprobRequest, withoutLogprobs } from './logprobs.ts';
import type { SafetyOptions } from './options.ts';
import { ActionPolicy, type Direction } from './policy.ts';
import { jsonStringEscape, PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { reasoningDelta, reasoningPart, withReasoning } from './reasoning.ts';
import { SignedThinking } from './signed-thinking.ts';
import { StreamChannel } from './stream.ts';
import type { PiiFinding, Recognizer, ScanLimit } from './types.ts';

const NAME = 'safety';
const TAP = { name: NAME, stage: STAGE.safety };

/** What the plugin keeps per agent: the pseudonyms of its whole run and its counts. */
class AgentSafety {
  readonly vault = new PseudonymVault();
  /** The thinking blocks Anthropic signed, as the agent read them and as they were written. */
  readonly thinking = new SignedThinking();
  readonly counts: Record<Direction, Record<string, number>> = { input: {}, output: {} };
  blockedCalls = 0;
  total = 0;
  /** Whether the agent was told its logprobs are not asked for (once). */
  logprobsWarned = false;
}

type ChannelKind = 'text' | 'args' | 'reasoning';

interface ChannelEntry {
  channel: StreamChannel;
  template: LlmStreamChunk;
  kind: ChannelKind;
  /**
   * What the provider wrote and what the agent was given: of reasoning, so a signed thinking block can be remembered;
   * of every Responses channel, so the events that repeat a text repeat what the agent was shown.
   */
  written: string;
  shown: string;
  /** Chunks held for the next one of the same network read (their text is pending in the channel, not yet scanned). */
  held: LlmStreamChunk[];
}

/** What the plugin keeps per streamed call: one channel per choice/block/tool call, and the template chunk of each. */
interface StreamState {
  channels: Map<string, ChannelEntry>;
  tally: FindingTally;
  /** Responses: the last `sequence_number` sent, and how far later ones move for the deltas released in between. */
  lastSeq?: number;
  seqShift?: number;
}

/** Chunks that close a block or the answer: what is held back must go out before them. */
const CLOSING_TYPE = /(?:_stop|\.done|\.completed|\.incomplete|\.failed|^message_delta)$/;

export class SafetyGuard {
  readonly #runtime: Runtime;
  readonly #policy: ActionPolicy;
  readonly #redactor: Redactor;
  readonly #logger: Logger;

  constructor(runtime: Runtime, options: SafetyOptions, person?: Recognizer, onLimit?: (limit: ScanLimit) => void) {
    this.#runtime = runtime;
    this.#policy = new ActionPolicy(options);
    const detector = createDetector({
      entities: this.#policy.activeTypes(),
      minScore: options.minScore ?? 0.5,
      allow: options.allow ?? [],
      recognizers: options.recognizers ?? [],
      phoneRegions: options.phoneRegions ?? [],
      ...(person ? { person } : {}),
      ...(onLimit ? { onLimit } : {}),
    });
    this.#redactor = new Redactor({
      detector,
      policy: this.#policy,
      mask: { keep: options.mask?.keep ?? 4, char: options.mask?.char ?? '*' },
      hashKey: options.hashKey ?? randomBytes(32).toString('hex'),
    });
    this.#logger = runtime.logger.child({ plugin: NAME });
  }

  apply(): void {
    const { hooks } = this.#runtime;
    hooks.beforeLlmCall.tapPromise(TAP, async (request, ctx) => this.scanRequest(request, ctx));
    hooks.afterLlmCall.tapPromise(TAP, async (response, ctx) => this.scanResponse(response, ctx));
    hooks.onLlmStreamChunk.tap(TAP, (chunks, ctx) => this.#scanChunks(chunks, ctx));
    hooks.flushLlmStream.tap(TAP, (chunks, ctx) => [...chunks, ...this.#flush(ctx)]);
    hooks.onLlmStreamEnd.tapPromise(TAP, async (_end, ctx) => {
      const stream = ctx.state.get(NAME) as StreamState | undefined;
      if (stream) this.#report(stream.tally, 'output', ctx);
    });
    hooks.metrics.tap(TAP, (metrics, agent) => {
      const safety = this.#agent(agent);
      return {
        ...metrics,
        piiDetections: safety.total,
        plugins: { ...metrics.plugins, safety: { findings: safety.counts, blockedCalls: safety.blockedCalls, pseudonyms: safety.vault.size } },
      };
    });
  }

  #agent(agent: AgentInfo): AgentSafety {
    return agent.store(NAME, () => new AgentSafety());
  }

  /**
   * beforeLlmCall: every part of every message (system prompts, tool calls and results, Responses input items and
   * instructions, parts kept as raw JSON), the messages' other fields, and the tool and output-schema definitions.
   */
  scanRequest(request: LlmRequest, ctx: LlmCallContext): LlmRequest {
    const { vault, thinking } = this.#agent(ctx.agent);
    const tally = new FindingTally();
    const rewrite = this.#rewriter('input', vault, tally);
    let changed = false;
    const messages = request.messages.map((message) => {
      const parts = this.#joinSplitValues(this.#parts(message.parts, 'input', vault, tally, thinking), vault, tally);
      const extra = message.extra && this.#messageExtra(message.extra, rewrite);
      if (parts === message.parts && extra === message.extra) return message;
      changed = true;
      return { ...message, parts, ...(extra ? { extra } : {}) };
    });
    const extra = rewriteRequestFields(this.#withoutLogprobRequest(request, ctx), rewrite);
    const types = [...tally.blocked];
    const counts = types.map((type) => `${tally.byType.get(type)?.count ?? 0} ${type}`).join(', ');
    this.#report(tally, 'input', ctx);
    if (types.length > 0) {
      this.#agent(ctx.agent).blockedCalls++;
      const signed = types.filter((type) => tally.inSignedThinking.has(type));
      if (signed.length === types.length) {
        throw new IronError(
          IRON_PII_BLOCKED,
          `the prompt contains ${counts} inside a signed thinking block (the model's own earlier reasoning, which Anthropic refuses to take back changed), and safety.entities blocks ${types.join(', ')} on input: the call was refused and nothing was sent. Leave that thinking block out of the history, or choose another action for ${types.join(', ')}`,
          { details: { types, direction: 'input' } },
        );
      }
      throw new IronError(
        IRON_PII_BLOCKED,
        `the prompt contains ${counts}, which safety.entities blocks on input: the call was refused and nothing was sent. Remove the value from the prompt, or choose another action (redact, mask, pseudonymize) for ${types.join(', ')}`,
        { details: { types, direction: 'input' } },
      );
    }
    if (!changed && extra === request.extra) return request;
    return { ...request, messages, extra };
  }

  /**
   * The request's fields without what asks for logprobs: they spell the answer token by token, and list the tokens
   * the model weighed, so a value redacted from the text would come back in them. Warned once per agent.
   */
  #withoutLogprobRequest(request: LlmRequest, ctx: LlmCallContext): JsonObject {
    const { extra, asked } = withoutLogprobRequest(request.format, request.extra);
    const safety = this.#agent(ctx.agent);
    if (asked.length > 0 && !safety.logprobsWarned) {
      safety.logprobsWarned = true;
      this.#logger.warn(
        { agentId: ctx.agent.agentId, fields: asked },
        `the request asks for logprobs (${asked.join(', ')}), which the safety plugin removed before sending: logprobs spell the answer token by token, so values it redacts would come back in them. Answers carry none (logged once per agent)`,
      );
    }
    return extra;
  }

  /**
   * A message's other wire fields: raw JSON the provider reads, and Chat's `name` (a participant's name, which a
   * user may fill with an address) though `name` elsewhere is a tool's or an item's.
   */
  #messageExtra(extra: JsonObject, rewrite: RewriteString): JsonObject {
    const out = rewriteOpaque(extra, rewrite) as JsonObject;
    if (typeof extra.name !== 'string') return out;
    const name = rewrite(extra.name, 'name');
    return name === extra.name ? out : { ...out, name };
  }

  /** afterLlmCall: new personal data in the answer gets the output action; placeholders get their values back. */
  scanResponse(received: LlmResponse, ctx: LlmCallContext): LlmResponse {
    const response = this.#withoutLogprobs(received);
    const { vault } = this.#agent(ctx.agent);
    const tally = new FindingTally();
    const parts = this.#parts(response.parts, 'output', vault, tally);
    response.parts.forEach((part, i) => {
      if (part.type === 'reasoning' && typeof part.extra?.signature === 'string') this.#agent(ctx.agent).thinking.remember(part.extra.signature, (parts[i] as typeof part).text, part.text);
    });
    let extra = this.#responseExtra(response, this.#rewriter('output', vault, tally));
    // Responses echo the request's `instructions` in every answer: their placeholders go back to the agent as the
    // answer's do (an outside review got `<EMAIL_ADDRESS_28>` there), as a streamed answer's `response.completed` has
    // them. Not counted again: the request's scan counted them.
    if (response.format === 'openai-responses' && typeof extra.instructions === 'string') {
      const instructions = this.#text(extra.instructions, 'output', vault, new FindingTally());
      if (instructions !== extra.instructions) extra = { ...extra, instructions };
    }
    this.#report(tally, 'output', ctx);
    if (tally.blocked.size > 0) throw this.#blockedOutput(tally, ctx);
    return parts === response.parts && extra === response.extra ? response : { ...response, parts, extra };
  }

  /** An answer without logprobs, which a provider may send unasked (see #withoutLogprobRequest). */
  #withoutLogprobs(response: LlmResponse): LlmResponse {
    const extra = withoutLogprobs(response.format, response.extra) as JsonObject;
    // Responses output text parts keep their wire fields, logprobs included, in `extra`.
    const parts = response.parts.map((part) => {
      if (part.type !== 'text' || !part.extra) return part;
      const extra = partWithoutLogprobs(part.extra);
      return extra === part.extra ? part : { ...part, extra };
    });
    const partsChanged = parts.some((part, i) => part !== response.parts[i]);
    return extra === response.extra && !partsChanged ? response : { ...response, extra, parts: partsChanged ? parts : response.parts };
  }

  /**
   * What an answer carries outside its parsed parts and writes back as it came: Chat's other choices (`n` > 1) and
   * the first choice's other fields (`reasoning`, `refusal`…), Responses reasoning items' `content`.
   */
  #responseExtra(response: LlmResponse, rewrite: RewriteString): JsonObject {
    const { extra } = response;
    if (response.format === 'openai-chat' && Array.isArray(extra.choices)) {
      const choices = extra.choices.map((choice: unknown, i) => {
        if (typeof choice !== 'object' || choice === null || typeof (choice as JsonObject).message !== 'object') return choice;
        const message = (choice as JsonObject).message as JsonObject;
        // The first choice's content, reasoning_content and tool calls are the response's parts, scanned already.
        const { content: _content, reasoning_content: _reasoning, tool_calls: _calls, ...rest } = message;
        const fields = i === 0 ? rest : message;
        const next = rewriteOpaque(fields, rewrite);
        return next === fields ? choice : { ...choice, message: { ...message, ...(next as JsonObject) } };
      });
      return choices.some((choice, i) => choice !== (extra.choices as unknown[])[i]) ? { ...extra, choices } : extra;
    }
    if (response.format === 'openai-responses' && Array.isArray(extra.output)) {
      const output = extra.output.map((item) => {
        if (typeof item !== 'object' || item === null || (item as JsonObject).type !== 'reasoning' || !('content' in item)) return item;
        const content = rewriteOpaque((item as JsonObject).content, rewrite);
        return content === (item as JsonObject).content ? item : { ...item, content };
      });
      return output.some((item, i) => item !== (extra.output as unknown[])[i]) ? { ...extra, output } : extra;
    }
    return extra;
  }

  /** Rewrites one string of raw JSON for a direction (tool-call arguments keep their JSON escaping on output). */
  #rewriter(direction: Direction, vault: PseudonymVault, tally: FindingTally): RewriteString {
    return (value, key) => this.#text(value, direction, vault, tally, key === 'arguments' ? jsonStringEscape : undefined);
  }

  #blockedOutput(tally: FindingTally, ctx: LlmCallContext): IronError {
    this.#agent(ctx.agent).blockedCalls++;
    const types = [...tally.blocked];
    return new IronError(IRON_PII_BLOCKED, `the answer contains ${types.join(', ')}, which safety.entities blocks on output: it was withheld`, { details: { types, direction: 'output' } });
  }

  /**
   * A value split across consecutive text parts of one message (`"card 5500 0000 "`, `"0000 0004"`) is found in
   * neither alone. The run is scanned joined; when a finding crosses a part boundary, the run becomes one text part
   * (the first one's fields kept), processed whole — the provider reads the parts as one text anyway.
   */
  #joinSplitValues(parts: LlmPart[], vault: PseudonymVault, tally: FindingTally): LlmPart[] {
    let out: LlmPart[] | undefined;
    let start = 0;
    for (let i = 0; i <= parts.length; i++) {
      if (i < parts.length && parts[i]!.type === 'text') continue;
      const run = parts.slice(start, i) as Array<Extract<LlmPart, { type: 'text' }>>;
      if (run.length > 1) {
        const texts = run.map((part) => part.text);
        const joined = texts.join('');
        const bounds: number[] = [];
        texts.reduce((at, text) => (bounds.push(at + text.length), at + text.length), 0);
        const whole = this.#redactor.detectRemembered(joined);
        const crossing = whole.some((finding) => bounds.some((bound) => finding.start < bound && finding.end > bound));
        if (crossing || this.#namedAcross(texts, whole)) {
          out ??= parts.slice(0, start);
          out.push({ ...run[0]!, text: this.#text(joined, 'input', vault, tally) });
        } else out?.push(...run);
      } else out?.push(...run);
      if (i < parts.length) out?.push(parts[i]!);
      start = i + 1;
    }
    return out ?? parts;
  }

  /**
   * Whether the run of texts read joined holds a value none of them holds alone: its context in one part and the value
   * in the next (`["my password is", " Qw3rty!zz9"]`, a table's header in one part and its rows in the next).
   */
  #namedAcross(texts: string[], whole: readonly PiiFinding[]): boolean {
    if (whole.length === 0) return false;
    const alone = new Set<string>();
    let at = 0;
    for (const text of texts) {
      for (const finding of this.#redactor.detectRemembered(text)) alone.add(`${finding.type}:${at + finding.start}:${at + finding.end}`);
      at += text.length;
    }
    return whole.some((finding) => !alone.has(`${finding.type}:${finding.start}:${finding.end}`));
  }

  /** Rewrites parts for a direction; returns the same array when nothing changed (so untouched answers pass byte for byte). */
  #parts(parts: LlmPart[], direction: Direction, vault: PseudonymVault, tally: FindingTally, thinking?: SignedThinking): LlmPart[] {
    let changed = false;
    const out = parts.map((part): LlmPart => {
      let next: LlmPart = part;
      const written = part.type === 'reasoning' && thinking ? thinking.original(part.extra?.signature, part.text) : undefined;
      if (written !== undefined) {
        // A signed thinking block this runtime gave the agent goes back as the provider wrote it: its placeholders,
        // and values the model wrote itself, which the provider has. A value under `block` still refuses the call.
        this.#blockedIn(written, tally);
        if (written !== (part as { text: string }).text) next = { ...part, text: written } as LlmPart;
      } else if (part.type === 'text' || part.type === 'reasoning') {
        const text = this.#text(part.text, direction, vault, tally);
        if (text !== part.text) next = { ...part, text };
      } else if (part.type === 'tool-call') {
        // A custom tool's input is free text: a value put back goes in as it is, not JSON-escaped.
        const args = this.#text(part.arguments, direction, vault, tally, isCustomToolCall(part) ? undefined : jsonStringEscape);
        if (args !== part.arguments) next = { ...part, arguments: args };
      } else if (part.type === 'tool-result') {
        const content = this.#parts(part.content, direction, vault, tally, thinking);
        if (content !== part.content) next = { ...part, content };
      } else if (part.type === 'opaque') {
        // Documents, search results, refusals, Responses items the neutral model does not name: their text, not their ids.
        const value = rewriteOpaque(part.value, this.#rewriter(direction, vault, tally));
        if (value !== part.value) next = { type: 'opaque', value };
      }
      if (next.type !== 'opaque' && next.extra && written === undefined) {
        // Citations' cited text and the like.
        const extra = rewriteOpaque(next.extra, this.#rewriter(direction, vault, tally)) as JsonObject;
        if (extra !== next.extra) next = { ...next, extra };
      }
      if (next !== part) changed = true;
      return next;
    });
    return changed ? out : parts;
  }

  /** Tallies the values in `text` that the policy blocks on input, as found inside a signed thinking block. */
  #blockedIn(text: string, tally: FindingTally): void {
    for (const finding of this.#redactor.detectRemembered(text)) {
      if (this.#policy.actionFor(finding.type, 'input') !== 'block') continue;
      tally.add(finding.type, 'block', () => this.#redactor.hash(finding.type, text.slice(finding.start, finding.end)));
      tally.inSignedThinking.add(finding.type);
    }
  }

  /**
   * An agent sends its whole conversation with every call: its texts' findings come from memory when they were scanned
   * in the last half minute or so (Redactor.detectRemembered), going out (the history) or coming in (an answer the
   * agent will send back). What is done with them (redacted, counted, alerted) is done on every call.
   */
  #text(text: string, direction: Direction, vault: PseudonymVault, tally: FindingTally, escape?: (value: string) => string): string {
    if (text === '') return text;
    // JSON whose strings hide characters behind \uXXXX escapes is scanned decoded, and goes out decoded only where
    // something was rewritten (a string the provider decodes to `bob@example.com` is an address).
    const decoded = decodeJsonEscapes(text);
    const source = decoded ?? text;
    // In JSON, `\n` reads as a line break and a replacement never cuts an escape in two.
    const json = source.includes('\\') && (escape === jsonStringEscape || decoded !== undefined || /^\s*[{[]/.test(source));
    let findings = json ? snapToEscapes(source, this.#redactor.detectRemembered(escapeView(source))) : undefined;
    let input = source;
    if (escape === jsonStringEscape) {
      // Tool-call arguments: a value outside a string (a card as a number) is quoted, so its placeholder is a JSON string.
      const quoted = quoteBareFindings(source, findings ?? this.#redactor.detectRemembered(source), 0, (finding, value) => this.#redactor.rewrites(finding, value, direction, vault));
      input = quoted.text;
      findings = quoted.findings;
    }
    let processed = this.#redactor.process(input, direction, vault, tally, findings ?? this.#redactor.detectRemembered(input));
    if (processed === input) processed = source;
    if (processed === decoded) processed = text;
    if (direction === 'input') return processed;
    // Left as written: a placeholder with a letter written as an escape (`<\u0045MAIL_ADDRESS_1>`) reads decoded.
    return processed === text && decoded !== undefined ? vault.restoreEither(text, decoded, escape) : vault.restore(processed, escape);
  }

  #stream(ctx: LlmCallContext): StreamState {
    let state = ctx.state.get(NAME) as StreamState | undefined;
    if (!state) ctx.state.set(NAME, (state = { channels: new Map(), tally: new FindingTally() }));
    return state;
  }

  /** The channel of a chunk: per kind and block, and per part of a Responses reasoning item (its summary, its text). */
  #channel(ctx: LlmCallContext, kind: ChannelKind, chunk: LlmStreamChunk): ChannelEntry {
    const state = this.#stream(ctx);
    const index = chunk.index ?? 0;
    // (The first block's text and arguments by a constant key: a key string made per delta, on every stream.)
    const key = index === 0 && kind !== 'reasoning' ? FIRST_BLOCK_KEY[kind] : `${kind}:${index}${kind === 'reasoning' ? reasoningPart(ctx.format, chunk) : ''}`;
    let entry = state.channels.get(key);
    if (!entry) {
      // Tool-call arguments are JSON text, read with their escapes decoded; a custom tool's input is free text.
      const json = kind === 'args' && !isCustomInput(chunk);
      const channel = new StreamChannel(this.#redactor, this.#agent(ctx.agent).vault, state.tally, json ? jsonStringEscape : undefined, json);
      state.channels.set(key, (entry = { channel, template: chunk, kind, written: '', shown: '', held: [] }));
    }
    // (A plain text delta is one choice's text alone, and reading its data would parse it: the one thing it saves.)
    entry.template = ctx.format === 'openai-chat' && !isPlainTextDelta(chunk, 'openai-chat') ? channelTemplate(chunk) : chunk;
    return entry;
  }

  /** onLlmStreamChunk: text, reasoning and tool-argument deltas go through their channel; closing chunks release what is held. */
  #scanChunks(chunks: LlmStreamChunk[], ctx: LlmCallContext): LlmStreamChunk[] {
    const adapter = adapters[ctx.format];
    const out: LlmStreamChunk[] = [];
    for (const received of chunks) {
      let chunk = chunkWithoutLogprobs(ctx.format, received);
      if (ctx.format === 'openai-chat' && !isPlainTextDelta(chunk, 'openai-chat') && holdsUnreadChatText(chunk.data)) chunk = this.#rewriteUnread(chunk, ctx);
      const hasOther = chunk.finishReason !== undefined || chunk.usage !== undefined || chunk.done === true || chunk.error !== undefined;
      const reasoning = reasoningDelta(ctx.format, chunk);
      if (reasoning !== undefined) {
        // Reasoning is output like text: the same actions, the same hold-back, placeholders restored.
        const entry = this.#channel(ctx, 'reasoning', chunk);
        const released = entry.channel.push(reasoning);
        this.#note(entry, reasoning, released);
        if (released !== reasoning) chunk = withReasoning(ctx.format, chunk, released);
        if (chunk.textDelta === undefined && chunk.toolCallDelta === undefined) {
          if (released !== '' || hasOther) out.push(chunk);
          continue;
        }
      }
      if (chunk.textDelta !== undefined) {
        const entry = this.#channel(ctx, 'text', chunk);
        // Text alone, and the next chunk (already here) goes on with it: held for it, so one scan reads both. Only
        // chunks that carry nothing but their text (a chunk held is not sent, as when a value is held back).
        if (!hasOther && reasoning === undefined && chunk.toolCallDelta === undefined && continuesText(ctx, chunk) && entry.channel.hold(chunk.textDelta)) {
          entry.held.push(chunk);
          continue;
        }
        const held = entry.held;
        entry.held = [];
        const released = entry.channel.push(chunk.textDelta);
        if (ctx.format === 'openai-responses') this.#note(entry, held.map((c) => c.textDelta).join('') + chunk.textDelta, released);
        // Released unchanged as the provider cut it: each chunk goes out as it came (an SDK's pieces stay the provider's).
        const kept = keptWhole(held, chunk, released);
        if (kept !== undefined && (!hasOther || kept.includes(chunk))) out.push(...kept);
        else if (released !== '' || hasOther) out.push(adapter.withChunkText(chunk, released));
      } else if (chunk.toolCallDelta?.argumentsDelta !== undefined && chunk.toolCallDelta.argumentsDelta !== '') {
        const entry = this.#channel(ctx, 'args', chunk);
        const released = entry.channel.push(chunk.toolCallDelta.argumentsDelta);
        if (ctx.format === 'openai-responses') this.#note(entry, chunk.toolCallDelta.argumentsDelta, released);
        const carriesCall = chunk.toolCallDelta.id !== undefined || chunk.toolCallDelta.name !== undefined;
        if (released === chunk.toolCallDelta.argumentsDelta) out.push(chunk);
        else if (released !== '' || hasOther || carriesCall) out.push(adapter.withChunkArguments(chunk, released));
      } else {
        if (hasOther || this.#closes(chunk)) out.push(...this.#flush(ctx, this.#closes(chunk) && !hasOther ? chunk.index : undefined, reasoningPart(ctx.format, chunk)));
        this.#rememberSigned(chunk, ctx);
        out.push(this.#rewriteOther(this.#rewriteWhole(chunk, ctx), ctx));
      }
    }
    const state = ctx.state.get(NAME) as StreamState | undefined;
    if (state && state.tally.blocked.size > 0) throw this.#blockedOutput(state.tally, ctx);
    return state && ctx.format === 'openai-responses' ? renumber(out, state) : out;
  }

  /** What a channel was sent and what it showed (reasoning, and every Responses channel: see ChannelEntry). */
  #note(entry: ChannelEntry, written: string, shown: string): void {
    entry.written += written;
    entry.shown += shown;
  }

  /** An Anthropic `signature_delta` closes a thinking block (all of it went out before): it is remembered, signed. */
  #rememberSigned(chunk: LlmStreamChunk, ctx: LlmCallContext): void {
    const delta = (chunk.data as { delta?: { type?: unknown; signature?: unknown } } | null)?.delta;
    if (ctx.format !== 'anthropic-messages' || delta?.type !== 'signature_delta' || typeof delta.signature !== 'string') return;
    const entry = (ctx.state.get(NAME) as StreamState | undefined)?.channels.get(`reasoning:${chunk.index ?? 0}${reasoningPart(ctx.format, chunk)}`);
    if (entry) this.#agent(ctx.agent).thinking.remember(delta.signature, entry.shown, entry.written);
  }

  #closes(chunk: LlmStreamChunk): boolean {
    const data = chunk.data as { type?: unknown; delta?: { type?: unknown } } | null;
    if (typeof data !== 'object' || data === null) return false;
    // Anthropic signs a thinking block once its thinking is complete: what is held of it goes out first.
    return (typeof data.type === 'string' && CLOSING_TYPE.test(data.type)) || data.delta?.type === 'signature_delta';
  }

  /**
   * Releases what the channels hold (all of them, or those of one block, or of one part of a Responses reasoning
   * item when `part` names it), as chunks shaped like their last delta.
   */
  #flush(ctx: LlmCallContext, index?: number, part = ''): LlmStreamChunk[] {
    const state = ctx.state.get(NAME) as StreamState | undefined;
    if (!state) return [];
    const adapter = adapters[ctx.format];
    const out: LlmStreamChunk[] = [];
    for (const [key, entry] of state.channels) {
      const { channel, template, kind } = entry;
      if (index !== undefined && (template.index ?? 0) !== index) continue;
      if (index !== undefined && part !== '' && key !== `reasoning:${index}${part}`) continue;
      const text = channel.flush();
      if (text === '') continue;
      if (kind === 'reasoning' || ctx.format === 'openai-responses') entry.shown += text;
      const base: LlmStreamChunk = { ...template };
      delete base.finishReason;
      delete base.usage;
      if (kind === 'text') out.push(adapter.withChunkText(stripToolCall(reasoningDelta(ctx.format, base) === undefined ? base : withReasoning(ctx.format, base, '')), text));
      else if (kind === 'reasoning') out.push(withReasoning(ctx.format, stripToolCall(base.textDelta === undefined ? base : adapter.withChunkText(base, '')), text));
      else out.push(adapter.withChunkArguments(base, text));
    }
    return out;
  }

  /**
   * Events that repeat the whole text (Responses `*.done` and `response.completed`) carry what the deltas of that
   * text showed, byte for byte (a whole-text scan could differ from the streamed one: a label read with more
   * context, escapes decoded). A text no channel streamed gets the same treatment as the deltas would: output
   * actions on new values, placeholders restored.
   */
  #rewriteWhole(chunk: LlmStreamChunk, ctx: LlmCallContext): LlmStreamChunk {
    if (ctx.format !== 'openai-responses' || typeof chunk.data !== 'object' || chunk.data === null) return chunk;
    const { vault } = this.#agent(ctx.agent);
    const tally = new FindingTally(); // counted once, through the deltas
    const channels = (ctx.state.get(NAME) as StreamState | undefined)?.channels;
    let changed = false;
    const rewrite = (value: unknown, key: string): unknown => {
      if (typeof value === 'string') {
        if (key !== 'text' && key !== 'arguments' && key !== 'instructions') return value;
        const streamed = value === '' ? undefined : [...(channels?.values() ?? [])].find((entry) => entry.written === value && entry.channel.holding === 0);
        const text = streamed ? streamed.shown : this.#text(value, 'output', vault, tally, key === 'arguments' ? jsonStringEscape : undefined);
        if (text !== value) changed = true;
        return text;
      }
      if (Array.isArray(value)) return value.map((item) => rewrite(item, key));
      if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, k)]));
      return value;
    };
    const data = rewrite(chunk.data, '');
    if (!changed) return chunk;
    const { raw: _raw, ...rest } = chunk;
    return { ...rest, data };
  }

  /** A Chat chunk's text that no channel reads (chat-unread.ts), scanned as a whole answer's fields are. */
  #rewriteUnread(chunk: LlmStreamChunk, ctx: LlmCallContext): LlmStreamChunk {
    const rewriter = this.#rewriter('output', this.#agent(ctx.agent).vault, this.#stream(ctx).tally);
    const data = rewriteUnreadChatText(chunk.data as JsonObject, (value) => rewriteOpaque(value, rewriter));
    if (data === chunk.data) return chunk;
    const { raw: _raw, ...rest } = chunk;
    return { ...rest, data };
  }

  /**
   * The text of a chunk no channel reads (a Chat `delta.refusal`, OpenRouter's `reasoning_details`, Anthropic's
   * `citations_delta`, a Responses refusal, annotation or audio transcript): rewritten whole, as the same fields of an
   * answer that is not streamed are (an outside review found them passed in clear). Ids, types and roles stay.
   */
  #rewriteOther(chunk: LlmStreamChunk, ctx: LlmCallContext): LlmStreamChunk {
    if (typeof chunk.data !== 'object' || chunk.data === null || !carriesOtherText(ctx.format, chunk.data as JsonObject)) return chunk;
    const state = this.#stream(ctx);
    const data = rewriteOpaque(chunk.data, this.#rewriter('output', this.#agent(ctx.agent).vault, state.tally));
    if (data === chunk.data) return chunk;
    const { raw: _raw, ...rest } = chunk;
    return { ...rest, data };
  }

  /** One PiiAlert per entity type found in this direction of the call, and the agent's counts. */
  #report(tally: FindingTally, direction: Direction, ctx: LlmCallContext): void {
    if (tally.size === 0) return;
    const safety = this.#agent(ctx.agent);
    for (const [entityType, { count, action, hashes }] of tally.byType) {
      safety.counts[direction][entityType] = (safety.counts[direction][entityType] ?? 0) + count;
      safety.total += count;
      this.#runtime.events.emit({ type: 'PiiAlert', time: Date.now(), agentId: ctx.agent.agentId, callId: ctx.callId, direction, entityType, count, action, valueHashes: [...hashes] });
    }
    this.#logger.debug({ agentId: ctx.agent.agentId, callId: ctx.callId, direction, types: [...tally.byType.keys()] }, 'personal data found');
    tally.byType.clear();
  }
}

/**
 * Logs, once per entity type, that a bounded recognizer stopped before the end of a text: a custom pattern's rest
 * of the text was treated as a finding (fail closed); PERSON's was not searched for names.
 */
export function warnOnceOnLimit(logger: Logger): (limit: ScanLimit) => void {
  const warned = new Set<string>();
  return (limit) => {
    if (warned.has(limit.type)) return;
    warned.add(limit.type);
    const { type, scannedChars, textChars, timeBudgetMs } = limit;
    if (type === 'PERSON') {
      logger.warn({ type, scannedChars, textChars, timeBudgetMs }, `PERSON searched ${scannedChars} of ${textChars} characters of a text before safety.person.timeBudgetMs (${timeBudgetMs} ms) or maxChars ran out: names after that are not found. Raise them to search further (logged once)`);
    } else {
      logger.warn({ type, scannedChars, textChars, timeBudgetMs }, `the ${type} recognizer ran out of its ${timeBudgetMs} ms after ${scannedChars} of ${textChars} characters: the rest of the text was treated as one ${type} and got its action. Make the pattern cheaper or raise its timeBudgetMs in safety.recognizers (logged once)`);
    }
  };
}

/** Whether a Chat chunk streams a custom tool's free-form input (under `custom`, not `function`). */
function isCustomInput(chunk: LlmStreamChunk): boolean {
  const call = (chunk.data as { choices?: Array<{ delta?: { tool_calls?: Array<{ custom?: unknown; function?: unknown }> } }> } | null)?.choices?.[0]?.delta?.tool_calls?.[0];
  return typeof call?.custom === 'object' && call.custom !== null && call.function === undefined;
}

/**
 * Responses events keep distinct, rising `sequence_number`s (clients resume with `starting_after`): a delta released
 * from held-back text is copied from the event before it, so it and every later event move up by one.
 */
function renumber(chunks: LlmStreamChunk[], state: StreamState): LlmStreamChunk[] {
  let out: LlmStreamChunk[] | undefined;
  chunks.forEach((chunk, i) => {
    const data = chunk.data as { sequence_number?: unknown } | null;
    const seq = typeof data === 'object' && data !== null ? data.sequence_number : undefined;
    if (typeof seq !== 'number') return void out?.push(chunk);
    let next = seq + (state.seqShift ?? 0);
    if (state.lastSeq !== undefined && next <= state.lastSeq) next = state.lastSeq + 1;
    state.seqShift = next - seq;
    state.lastSeq = next;
    if (next === seq) return void out?.push(chunk);
    out ??= chunks.slice(0, i);
    const { raw: _raw, ...rest } = chunk;
    out.push({ ...rest, data: { ...data, sequence_number: next } });
  });
  return out ?? chunks;
}

/** A text chunk used as a template must not repeat a tool call it happened to carry. */
function stripToolCall(chunk: LlmStreamChunk): LlmStreamChunk {
  const { toolCallDelta: _call, ...rest } = chunk;
  return rest;
}

/** The channel keys of the first block's text and tool arguments (`#channel`). */
const FIRST_BLOCK_KEY = { text: 'text:0', args: 'args:0' } as const;

/** A Chat delta's fields the text, reasoning and tool channels read (or that hold no text). */
const CHAT_DELTA_READ = new Set(['role', 'content', 'tool_calls', 'function_call', 'reasoning_content', 'reasoning']);

/**
 * Whether a stream chunk no channel read may carry text (a refusal, citations…): its role, finish, usage and the
 * stream's own events (Anthropic's message_start, ping…) are not walked, on every stream.
 */
function carriesOtherText(format: ApiFormat, data: JsonObject): boolean {
  if (format === 'openai-responses') return RESPONSES_OTHER_TEXT.test(String(data.type));
  // (Anthropic's `message_start` has no content; one that has some, from a proxy or a hostile upstream, is read too:
  // an outside review of this session saw it reach the SDK's finalMessage() unscanned, F6.)
  if (format === 'anthropic-messages') return data.type === 'content_block_delta' || data.type === 'content_block_start' || (data.type === 'message_start' && isObject(data.message) && Array.isArray(data.message.content) && data.message.content.length > 0);
  if (!Array.isArray(data.choices)) return false;
  return data.choices.some((choice) => isObject(choice) && isObject(choice.delta) && Object.entries(choice.delta).some(([key, value]) => !CHAT_DELTA_READ.has(key) && mayHoldText(value)));
}

/**
 * Whether a field's value can hold text: OpenAI's first chunk has `"refusal": null` on every stream, and walking that
 * chunk's strings (its id, model, fingerprint: a scan each) was a fifth of the safety plugin's CPU on a stream.
 */
function mayHoldText(value: unknown): boolean {
  return typeof value === 'string' ? value !== '' : typeof value === 'object' && value !== null;
}

/** Responses events whose text no channel reads: refusals, annotations (a citation's title), audio transcripts. */
const RESPONSES_OTHER_TEXT = /^response\.(?:refusal\.(?:delta|done)|output_text\.annotation\.added|audio\.transcript\.(?:delta|done))$/;

/**
 * Whether `chunk` carries only its text, and the chunk after it (already received) is text of the same channel: no
 * logprobs, annotations, roles or ids would be lost by holding it (OpenAI chat, Anthropic and Responses text deltas).
 */
function continuesText(ctx: LlmCallContext, chunk: LlmStreamChunk): boolean {
  const next = ctx.nextChunk;
  if (next?.textDelta === undefined || (next.index ?? 0) !== (chunk.index ?? 0) || next.reasoningDelta !== undefined || next.toolCallDelta !== undefined) return false;
  if (chunk.id !== undefined && chunk.id !== next.id) return false;
  if (isPlainTextDelta(chunk, ctx.format)) return true; // one choice's or block's text alone: what is checked below
  const data = chunk.data as Record<string, unknown> | null;
  if (typeof data !== 'object' || data === null) return false;
  if (ctx.format === 'openai-chat') {
    const choices = data.choices;
    if (!Array.isArray(choices) || choices.length !== 1) return false;
    const choice = choices[0] as Record<string, unknown>;
    const delta = choice.delta as Record<string, unknown> | undefined;
    return (choice.logprobs === null || choice.logprobs === undefined) && delta !== undefined && Object.keys(delta).every((key) => key === 'content');
  }
  if (ctx.format === 'anthropic-messages') return data.type === 'content_block_delta' && (data.delta as { type?: unknown } | undefined)?.type === 'text_delta';
  return data.type === 'response.output_text.delta' && (!Array.isArray(data.logprobs) || data.logprobs.length === 0);
}

/**
 * The chunks to send as they came when `released` is exactly the text of the first of them (the held ones, then
 * `last`): whole deltas, unchanged. Undefined when a value was rewritten or a delta is cut (then one chunk carries it).
 */
function keptWhole(held: LlmStreamChunk[], last: LlmStreamChunk, released: string): LlmStreamChunk[] | undefined {
  const chunks = [...held, last];
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    if (at === released.length) return chunks.slice(0, i);
    const text = chunks[i]!.textDelta!;
    if (!released.startsWith(text, at)) return undefined;
    at += text.length;
  }
  return at === released.length ? chunks : undefined;
}

// The safety plugin: scans every prompt part before it leaves (redact, mask, pseudonymize or block) and every
// answer on its way back, streamed ones included, restoring pseudonyms. Taps at STAGE.safety, before cost.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentInfo, LlmCallContext } from '../../core/context.ts';
import { IronError, IRON_PII_BLOCKED } from '../../core/errors.ts';
import { STAGE } from '../../core/hooks.ts';
import type { LlmPart, LlmRequest, LlmResponse, LlmStreamChunk } from '../../core/llm/types.ts';
import { adapters } from '../../core/providers/adapters.ts';
import type { Runtime } from '../../core/runtime.ts';
import { createDetector } from './detect/index.ts';
import './events.ts';
import type { SafetyOptions } from './options.ts';
import { ActionPolicy, type Direction } from './policy.ts';
import { jsonStringEscape, PseudonymVault } from './pseudonyms.ts';
import { FindingTally, Redactor } from './redact.ts';
import { StreamChannel } from './stream.ts';
import type { Recognizer } from './types.ts';

const NAME = 'safety';
const TAP = { name: NAME, stage: STAGE.safety };

/** What the plugin keeps per agent: the pseudonyms of its whole run and its counts. */
class AgentSafety {
  readonly vault = new PseudonymVault();
  readonly counts: Record<Direction, Record<string, number>> = { input: {}, output: {} };
  blockedCalls = 0;
  total = 0;
}

/** What the plugin keeps per streamed call: one channel per choice/block/tool call, and the template chunk of each. */
interface StreamState {
  channels: Map<string, { channel: StreamChannel; template: LlmStreamChunk; kind: 'text' | 'args' }>;
  tally: FindingTally;
}

/** Chunks that close a block or the answer: what is held back must go out before them. */
const CLOSING_TYPE = /(?:_stop|\.done|\.completed|\.incomplete|\.failed|^message_delta)$/;

export class SafetyGuard {
  readonly #runtime: Runtime;
  readonly #policy: ActionPolicy;
  readonly #redactor: Redactor;
  readonly #logger: Logger;

  constructor(runtime: Runtime, options: SafetyOptions, person?: Recognizer) {
    this.#runtime = runtime;
    this.#policy = new ActionPolicy(options);
    const detector = createDetector({
      entities: this.#policy.activeTypes(),
      minScore: options.minScore ?? 0.5,
      allow: options.allow ?? [],
      recognizers: options.recognizers ?? [],
      phoneRegions: options.phoneRegions ?? [],
      ...(person ? { person } : {}),
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

  /** beforeLlmCall: every part of every message, system prompt and tool traffic included. */
  scanRequest(request: LlmRequest, ctx: LlmCallContext): LlmRequest {
    const { vault } = this.#agent(ctx.agent);
    const tally = new FindingTally();
    let changed = false;
    const messages = request.messages.map((message) => {
      const parts = this.#parts(message.parts, 'input', vault, tally);
      if (parts === message.parts) return message;
      changed = true;
      return { ...message, parts };
    });
    const types = [...tally.blocked];
    const counts = types.map((type) => `${tally.byType.get(type)?.count ?? 0} ${type}`).join(', ');
    this.#report(tally, 'input', ctx);
    if (types.length > 0) {
      this.#agent(ctx.agent).blockedCalls++;
      throw new IronError(
        IRON_PII_BLOCKED,
        `the prompt contains ${counts}, which safety.entities blocks on input: the call was refused and nothing was sent. Remove the value from the prompt, or choose another action (redact, mask, pseudonymize) for ${types.join(', ')}`,
        { details: { types, direction: 'input' } },
      );
    }
    return changed ? { ...request, messages } : request;
  }

  /** afterLlmCall: new personal data in the answer gets the output action; placeholders get their values back. */
  scanResponse(response: LlmResponse, ctx: LlmCallContext): LlmResponse {
    const { vault } = this.#agent(ctx.agent);
    const tally = new FindingTally();
    const parts = this.#parts(response.parts, 'output', vault, tally);
    this.#report(tally, 'output', ctx);
    if (tally.blocked.size > 0) throw this.#blockedOutput(tally, ctx);
    return parts === response.parts ? response : { ...response, parts };
  }

  #blockedOutput(tally: FindingTally, ctx: LlmCallContext): IronError {
    this.#agent(ctx.agent).blockedCalls++;
    const types = [...tally.blocked];
    return new IronError(IRON_PII_BLOCKED, `the answer contains ${types.join(', ')}, which safety.entities blocks on output: it was withheld`, { details: { types, direction: 'output' } });
  }

  /** Rewrites parts for a direction; returns the same array when nothing changed (so untouched answers pass byte for byte). */
  #parts(parts: LlmPart[], direction: Direction, vault: PseudonymVault, tally: FindingTally): LlmPart[] {
    let changed = false;
    const out = parts.map((part): LlmPart => {
      let next: LlmPart = part;
      if (part.type === 'text' || part.type === 'reasoning') {
        const text = this.#text(part.text, direction, vault, tally);
        if (text !== part.text) next = { ...part, text };
      } else if (part.type === 'tool-call') {
        const args = this.#text(part.arguments, direction, vault, tally, jsonStringEscape);
        if (args !== part.arguments) next = { ...part, arguments: args };
      } else if (part.type === 'tool-result') {
        const content = this.#parts(part.content, direction, vault, tally);
        if (content !== part.content) next = { ...part, content };
      }
      if (next !== part) changed = true;
      return next;
    });
    return changed ? out : parts;
  }

  #text(text: string, direction: Direction, vault: PseudonymVault, tally: FindingTally, escape?: (value: string) => string): string {
    if (text === '') return text;
    const processed = this.#redactor.process(text, direction, vault, tally);
    return direction === 'output' ? vault.restore(processed, escape) : processed;
  }

  #stream(ctx: LlmCallContext): StreamState {
    let state = ctx.state.get(NAME) as StreamState | undefined;
    if (!state) ctx.state.set(NAME, (state = { channels: new Map(), tally: new FindingTally() }));
    return state;
  }

  #channel(ctx: LlmCallContext, kind: 'text' | 'args', chunk: LlmStreamChunk): StreamChannel {
    const state = this.#stream(ctx);
    const key = `${kind}:${chunk.index ?? 0}`;
    let entry = state.channels.get(key);
    if (!entry) {
      const channel = new StreamChannel(this.#redactor, this.#agent(ctx.agent).vault, state.tally, kind === 'args' ? jsonStringEscape : undefined);
      state.channels.set(key, (entry = { channel, template: chunk, kind }));
    }
    entry.template = chunk;
    return entry.channel;
  }

  /** onLlmStreamChunk: text and tool-argument deltas go through their channel; closing chunks release what is held. */
  #scanChunks(chunks: LlmStreamChunk[], ctx: LlmCallContext): LlmStreamChunk[] {
    const adapter = adapters[ctx.format];
    const out: LlmStreamChunk[] = [];
    for (const chunk of chunks) {
      const hasOther = chunk.finishReason !== undefined || chunk.usage !== undefined || chunk.done === true || chunk.error !== undefined;
      if (chunk.textDelta !== undefined) {
        const released = this.#channel(ctx, 'text', chunk).push(chunk.textDelta);
        if (released === chunk.textDelta) out.push(chunk);
        else if (released !== '' || hasOther) out.push(adapter.withChunkText(chunk, released));
      } else if (chunk.toolCallDelta?.argumentsDelta !== undefined && chunk.toolCallDelta.argumentsDelta !== '') {
        const released = this.#channel(ctx, 'args', chunk).push(chunk.toolCallDelta.argumentsDelta);
        const carriesCall = chunk.toolCallDelta.id !== undefined || chunk.toolCallDelta.name !== undefined;
        if (released === chunk.toolCallDelta.argumentsDelta) out.push(chunk);
        else if (released !== '' || hasOther || carriesCall) out.push(adapter.withChunkArguments(chunk, released));
      } else {
        if (hasOther || this.#closes(chunk)) out.push(...this.#flush(ctx, this.#closes(chunk) && !hasOther ? chunk.index : undefined));
        out.push(this.#rewriteWhole(chunk, ctx));
      }
    }
    const state = ctx.state.get(NAME) as StreamState | undefined;
    if (state && state.tally.blocked.size > 0) throw this.#blockedOutput(state.tally, ctx);
    return out;
  }

  #closes(chunk: LlmStreamChunk): boolean {
    const data = chunk.data as { type?: unknown } | null;
    return typeof data === 'object' && data !== null && typeof data.type === 'string' && CLOSING_TYPE.test(data.type);
  }

  /** Releases what the channels hold (all of them, or those of one block), as chunks shaped like their last delta. */
  #flush(ctx: LlmCallContext, index?: number): LlmStreamChunk[] {
    const state = ctx.state.get(NAME) as StreamState | undefined;
    if (!state) return [];
    const adapter = adapters[ctx.format];
    const out: LlmStreamChunk[] = [];
    for (const { channel, template, kind } of state.channels.values()) {
      if (index !== undefined && (template.index ?? 0) !== index) continue;
      const text = channel.flush();
      if (text === '') continue;
      const base: LlmStreamChunk = { ...template };
      delete base.finishReason;
      delete base.usage;
      out.push(kind === 'text' ? adapter.withChunkText(stripToolCall(base), text) : adapter.withChunkArguments(base, text));
    }
    return out;
  }

  /**
   * Events that repeat the whole text (Responses `*.done` and `response.completed`) get the same treatment as the
   * deltas did: output actions on new values, placeholders restored.
   */
  #rewriteWhole(chunk: LlmStreamChunk, ctx: LlmCallContext): LlmStreamChunk {
    if (ctx.format !== 'openai-responses' || typeof chunk.data !== 'object' || chunk.data === null) return chunk;
    const { vault } = this.#agent(ctx.agent);
    const tally = new FindingTally(); // counted once, through the deltas
    let changed = false;
    const rewrite = (value: unknown, key: string): unknown => {
      if (typeof value === 'string') {
        if (key !== 'text' && key !== 'arguments' && key !== 'instructions') return value;
        const text = this.#text(value, 'output', vault, tally, key === 'arguments' ? jsonStringEscape : undefined);
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

/** A text chunk used as a template must not repeat a tool call it happened to carry. */
function stripToolCall(chunk: LlmStreamChunk): LlmStreamChunk {
  const { toolCallDelta: _call, ...rest } = chunk;
  return rest;
}

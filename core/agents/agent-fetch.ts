// agent.fetch: a drop-in `fetch` for the official SDKs that runs LLM calls through the cage, in process.
import type { AgentRecord } from './record.ts';
import { executeLlmCall, type CallEnvironment } from '../call.ts';
import { errorAnswer, outputAnswer, type HttpAnswer } from '../http-answer.ts';
import { adapterForPath } from '../providers/adapters.ts';
import { forwardHeaders } from './forward-headers.ts';
import { IronError, toIronError, IRON_BAD_REQUEST } from '../errors.ts';

function toResponse(answer: HttpAnswer): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/**
 * `new OpenAI({ fetch: agent.fetch })`: requests to an LLM endpoint (`…/chat/completions`, `…/responses`,
 * `…/messages`) go through the hooks to the configured provider, whatever base URL and key the SDK holds;
 * anything else is the agent's own traffic and goes out as a plain fetch.
 */
export function createAgentFetch(env: CallEnvironment, agent: AgentRecord): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const adapter = request.method === 'POST' ? adapterForPath(new URL(request.url).pathname) : undefined;
    if (!adapter) return fetch(request);
    const text = await request.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return toResponse(errorAnswer(adapter.format, new IronError(IRON_BAD_REQUEST, 'request body is not valid JSON')));
    }
    try {
      const output = await executeLlmCall(env, agent, {
        format: adapter.format,
        body,
        rawBody: text,
        forwardHeaders: forwardHeaders(request.headers),
        signal: request.signal,
      });
      return toResponse(outputAnswer(output));
    } catch (error) {
      return toResponse(errorAnswer(adapter.format, toIronError(error)));
    }
  };
}

// The local HTTP gateway process agents talk to: provider wire formats in, the same hooks, the real provider out.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { AgentRecord } from './agents/record.ts';
import { forwardHeaders } from './agents/forward-headers.ts';
import { executeLlmCall, type CallEnvironment, type LlmCallOutput } from './call.ts';
import { errorAnswer, outputAnswer, type HttpAnswer } from './http-answer.ts';
import { whenWritable } from './writable.ts';
import type { ApiFormat, LlmStreamChunk } from './llm/types.ts';
import { adapterForPath } from './providers/adapters.ts';
import { encodeSseChunk } from './providers/sse.ts';
import { ConfigError, IronError, toIronError, IRON_BAD_REQUEST, IRON_NOT_FOUND, IRON_PAYLOAD_TOO_LARGE, IRON_STREAM_INTERRUPTED, IRON_UNAUTHORIZED } from './errors.ts';

export interface GatewayOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
}

export interface Gateway {
  /** Base URL, e.g. `http://127.0.0.1:41234` (OpenAI clients use `${url}/v1`). */
  readonly url: string;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

/** Past the limit, this much more of an upload is read and dropped so its sender can read the 413 (then: reset). */
const DRAIN_BYTES = 64 * 1024 * 1024;

/**
 * Reads the body, up to `limit` bytes. A larger one is refused only once it has arrived (read and dropped, up to
 * DRAIN_BYTES more): a server that answers while its client is still sending, then closes, resets the connection,
 * and the client sees a broken socket instead of the 413.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      if (tooLarge) {
        chunks.length = 0;
        if (size > limit + DRAIN_BYTES) {
          req.removeAllListeners('data');
          reject(new BodyTooLarge());
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return reject(new BodyTooLarge());
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** The agent's headers that go upstream (`forwardHeaders` decides), without building an entries array. */
function forwardedHeaders(req: IncomingMessage): Record<string, string> {
  const headers = req.headers;
  const pairs: Array<[string, string]> = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') pairs.push([name, value]);
  }
  return forwardHeaders(pairs);
}

function credentialOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const key = req.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

async function writeAnswer(res: ServerResponse, answer: HttpAnswer): Promise<void> {
  res.writeHead(answer.status, answer.headers);
  if (typeof answer.body === 'string') {
    res.end(answer.body);
    return;
  }
  await pump(res, answer.body, (bytes) => bytes);
}

/** Writes a call's stream as SSE text, batch by batch as it arrives (one read per network read), with backpressure. */
async function writeStream(res: ServerResponse, output: Extract<LlmCallOutput, { type: 'stream' }>): Promise<void> {
  res.writeHead(200, output.headers);
  await pump(res, output.batches, encodeSseBatch);
}

function encodeSseBatch(chunks: LlmStreamChunk[]): string {
  let text = '';
  for (const chunk of chunks) text += encodeSseChunk(chunk);
  return text;
}

/**
 * Writes a stream's pieces as they arrive, with backpressure. The pieces one upstream read brings (they come in one
 * run of promise jobs) are written together a tick later, as one HTTP chunk in one socket write: a stream costs a
 * write per network read, not per event. (`res.cork()` does not help here: Node flushes a corked chunked response
 * with one socket write per piece.)
 */
async function pump<T>(res: ServerResponse, source: ReadableStream<T>, encode: (value: T) => string | Uint8Array): Promise<void> {
  const reader = source.getReader();
  res.on('close', () => {
    if (!res.writableFinished) reader.cancel().catch(() => undefined);
  });
  let batch: Array<string | Uint8Array> = [];
  let drained: Promise<void> | undefined;
  const take = (): string | Uint8Array => {
    const pieces = batch;
    batch = [];
    if (pieces.length === 1) return pieces[0]!;
    return pieces.every((piece) => typeof piece === 'string') ? pieces.join('') : Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)));
  };
  const flush = () => {
    if (batch.length === 0 || res.destroyed) return;
    const socket = res.socket;
    socket?.cork();
    const ok = res.write(take());
    socket?.uncork();
    if (!ok) drained = whenWritable(res);
  };
  try {
    for (;;) {
      if (drained) {
        await drained;
        drained = undefined;
      }
      const { done, value } = await reader.read();
      if (done) break;
      if (batch.length === 0) process.nextTick(flush);
      batch.push(encode(value));
      if (res.destroyed) return;
    }
    // The last pieces go out with the chunked terminator, in one write.
    if (batch.length > 0) res.end(take());
    else res.end();
  } catch {
    res.destroy();
  }
}

/** A gateway that cannot listen is a start-up problem the user fixes in the config: say which key. */
function listenError(error: NodeJS.ErrnoException, options: { host: string; port: number }): Error {
  const at = `${options.host}:${options.port}`;
  if (error.code === 'EADDRINUSE') return new ConfigError(`gateway.port: ${at} is already in use; choose another port, or 0 for a free one`, { path: 'gateway.port', cause: error });
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') return new ConfigError(`gateway.host: cannot listen on ${at}: no such interface on this machine`, { path: 'gateway.host', cause: error });
  if (error.code === 'EACCES') return new ConfigError(`gateway.port: no permission to listen on ${at} (ports below 1024 need privileges); choose a higher port, or 0`, { path: 'gateway.port', cause: error });
  return error;
}

export async function startGateway(
  env: CallEnvironment,
  findAgent: (credential: string) => AgentRecord | undefined,
  options: GatewayOptions,
  logger: Logger,
): Promise<Gateway> {
  const log = logger.child({ component: 'gateway' });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const pathname = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    const adapter = req.method === 'POST' ? adapterForPath(pathname) : undefined;
    // Errors go out in the format of the SDK that is asking: the path tells which one.
    const format: ApiFormat = adapter?.format ?? (pathname.includes('/messages') ? 'anthropic-messages' : 'openai-chat');
    const credential = credentialOf(req);
    const agent = credential ? findAgent(credential) : undefined;
    if (!agent) {
      await writeAnswer(res, errorAnswer(format, new IronError(IRON_UNAUTHORIZED, 'unknown agent credential: use the OPENAI_API_KEY / ANTHROPIC_API_KEY the Iron Cage runtime gave this agent')));
      return;
    }
    if (!adapter) {
      await writeAnswer(res, errorAnswer(format, new IronError(IRON_NOT_FOUND, `the Iron Cage gateway does not serve ${req.method} ${pathname}; it serves POST /v1/chat/completions, /v1/responses and /v1/messages`)));
      return;
    }
    let body: unknown;
    let text: string;
    try {
      text = await readBody(req, options.maxBodyBytes);
      body = JSON.parse(text);
    } catch (error) {
      const err = error instanceof BodyTooLarge
        ? new IronError(IRON_PAYLOAD_TOO_LARGE, `request body is larger than ${options.maxBodyBytes} bytes (gateway.maxBodyBytes)`)
        : new IronError(IRON_BAD_REQUEST, `request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
      res.setHeader('connection', 'close');
      await writeAnswer(res, errorAnswer(format, err));
      return;
    }
    // The call runs on this controller: the agent hanging up mid-call aborts it.
    const controller = new AbortController();
    res.on('close', () => {
      // Named, so the call is reported as the agent's doing, not as a provider that could not be reached.
      if (!res.writableFinished) controller.abort(new IronError(IRON_STREAM_INTERRUPTED, 'the agent hung up before the call ended (it exited or was stopped)', { details: { cancelled: true } }));
    });
    let answer: HttpAnswer;
    try {
      const output = await executeLlmCall(env, agent, { format, body, rawBody: text, forwardHeaders: forwardedHeaders(req), controller, passThrough: true });
      if (output.type === 'stream') return await writeStream(res, output);
      if (output.type === 'bytes') {
        res.writeHead(200, output.headers);
        return await output.writeTo(res);
      }
      answer = outputAnswer(output);
    } catch (error) {
      answer = errorAnswer(format, toIronError(error));
    }
    await writeAnswer(res, answer);
  };

  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'gateway request failed unexpectedly');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'internal gateway error', type: 'server_error' } }));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, options)));
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info({ url }, 'gateway listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

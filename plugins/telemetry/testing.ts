// A minimal OTLP/HTTP receiver (JSON decoded; protobuf kept raw) for tests and benchmarks: a real HTTP server on 127.0.0.1 that keeps what
// arrives on /v1/traces and /v1/metrics, decoded into flat spans and metric points.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  status: { code?: number; message?: string };
  links: Array<{ traceId: string; spanId: string }>;
  resource: Record<string, AttributeValue>;
}

export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, AttributeValue>;
  /** A sum's value, or a histogram's sum. */
  value: number;
  /** A histogram's count. */
  count?: number;
}

export interface OtlpReceiver {
  /** Base URL, e.g. `http://127.0.0.1:40123` (what `telemetry.endpoint` takes). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Every metric point of every export, in order (cumulative: the last one of a series has its total). */
  readonly points: ReceivedPoint[];
  /** Requests received, with their path and headers. */
  readonly requests: Array<{ path: string; headers: Record<string, string | string[] | undefined>; body: Buffer }>;
  /** The answer to give (200 by default; a 503 makes the exporter fail). */
  status: number;
  /** How long each answer takes (a slow collector); 0 by default. */
  delayMs: number;
  close(): Promise<void>;
}

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpAnyValue[] };
}
type OtlpAttributes = Array<{ key: string; value: OtlpAnyValue }> | undefined;

function valueOf(value: OtlpAnyValue): AttributeValue {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return null;
}

function attributesOf(list: OtlpAttributes): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));
}

const nanosToMs = (value: string | number | undefined) => Number(BigInt(value ?? 0) / 1000n) / 1000;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const points: ReceivedPoint[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const raw = await readBody(req).catch(() => Buffer.alloc(0));
    requests.push({ path, headers: req.headers, body: raw });
    if (receiver.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, receiver.delayMs));
    // Protobuf exports are kept raw (requests[].body), JSON ones decoded too.
    const protobuf = req.headers['content-type'] === 'application/x-protobuf';
    let body: any = {};
    if (!protobuf) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
    }
    if (receiver.status !== 200) {
      res.writeHead(receiver.status, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (path === '/v1/traces') {
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              kind: span.kind,
              startMs: nanosToMs(span.startTimeUnixNano),
              endMs: nanosToMs(span.endTimeUnixNano),
              attributes: attributesOf(span.attributes),
              // UNSET (code 0) is written as `{}` or `{ code: 0 }` depending on the serializer: always `{}` here.
              status: { ...(span.status?.code ? { code: span.status.code } : {}), ...(span.status?.message ? { message: span.status.message } : {}) },
              links: (span.links ?? []).map((link: { traceId: string; spanId: string }) => ({ traceId: link.traceId, spanId: link.spanId })),
              resource,
            });
          }
        }
      }
    } else if (path === '/v1/metrics') {
      for (const resourceMetrics of body.resourceMetrics ?? []) {
        for (const scope of resourceMetrics.scopeMetrics ?? []) {
          for (const metric of scope.metrics ?? []) {
            for (const point of metric.sum?.dataPoints ?? []) {
              points.push({ metric: metric.name, unit: metric.unit, attributes: attributesOf(point.attributes), value: Number(point.asDouble ?? point.asInt ?? 0) });
            }
            for (const point of metric.histogram?.dataPoints ?? []) {
              points.push({ metric: metric.name, unit: metric.unit, attributes: attributesOf(point.attributes), value: Number(point.sum ?? 0), count: Number(point.count ?? 0) });
            }
          }
        }
      }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: OtlpReceiver = {
    url: `http://127.0.0.1:${port}`,
    spans,
    points,
    requests,
    status: 200,
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

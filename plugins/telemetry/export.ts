// The OpenTelemetry SDK pieces the plugin owns: a tracer provider with a batching span processor and a meter provider
// with a periodic reader, both exporting OTLP/HTTP (JSON or protobuf) to the configured collector. Nothing is registered globally:
// an application's own OpenTelemetry setup is left as it is, and two runtimes in one process export independently.
import { TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type MetricReader } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type Span, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { SERVICE_NAME } from './conventions.ts';
import { displayUrl, type ResolvedTelemetry } from './options.ts';

/** The instrumentation scope of the plugin's tracer and meter. */
export const SCOPE = 'iron-cage';

export interface TelemetryPipeline {
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  /** Sends what is buffered and stops; at most `timeoutMs`, then what is left is dropped with a warning. */
  shutdown(timeoutMs: number): Promise<void>;
}

/**
 * Logs an exporter's failures: once when exports start failing (with the collector's answer), once when they work
 * again — never once per batch, and never silently (the SDK itself only tells its own diag logger, off by default).
 */
function reportFailures<T>(exporter: { export(items: T, done: (result: ExportResult) => void): void }, signal: string, url: string, logger: Logger): void {
  const send = exporter.export.bind(exporter);
  let failing = false;
  exporter.export = (items, done) =>
    send(items, (result) => {
      if (result.code !== ExportResultCode.SUCCESS && !failing) {
        failing = true;
        logger.warn({ url: displayUrl(url), err: result.error?.message }, `telemetry: ${signal} could not be exported to ${displayUrl(url)}: ${result.error?.message ?? 'failed'} (said once until an export works again)`);
      } else if (result.code === ExportResultCode.SUCCESS && failing) {
        failing = false;
        // A warning too: whoever saw the failure (iron run shows warnings) sees that it is over.
        logger.warn({ url: displayUrl(url) }, `telemetry: ${signal} are exported to ${displayUrl(url)} again`);
      }
      done(result);
    });
}

/**
 * The batching processor drops finished spans once its queue is full (a collector slower than the calls), and says so
 * only to the SDK's global diag logger: this counts what it holds and warns, once per episode, with the count.
 */
class DropWatch implements SpanProcessor {
  readonly #inner: BatchSpanProcessor;
  readonly #max: number;
  readonly #logger: Logger;
  #queued = 0;
  #dropped = 0;

  constructor(inner: BatchSpanProcessor, max: number, logger: Logger) {
    this.#inner = inner;
    this.#max = max;
    this.#logger = logger;
  }

  /** The exporter took `count` spans off the queue. */
  taken(count: number): void {
    this.#queued = Math.max(0, this.#queued - count);
    if (this.#dropped > 0 && this.#queued < this.#max / 2) {
      this.#logger.warn(`telemetry: ${this.#dropped} spans were dropped while the collector was slower than the calls (queue of ${this.#max} full); the queue has room again`);
      this.#dropped = 0;
    }
  }

  onStart(span: Span, context: Context): void {
    this.#inner.onStart(span, context);
  }

  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) {
      if (this.#queued >= this.#max) {
        if (this.#dropped === 0) this.#logger.warn(`telemetry: the collector is slower than the calls: the queue of ${this.#max} spans is full and new spans are dropped (telemetry.maxQueueSize or OTEL_BSP_MAX_QUEUE_SIZE holds more)`);
        this.#dropped++;
      } else this.#queued++;
    }
    this.#inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

export function createPipeline(options: ResolvedTelemetry, logger: Logger): TelemetryPipeline {
  // OTEL_RESOURCE_ATTRIBUTES, then service.name (OTEL_SERVICE_NAME or the section) over it, as the spec orders them.
  const resource = defaultResource().merge(resourceFromAttributes({ ...options.resourceAttributes, [SERVICE_NAME]: options.serviceName }));
  // One export, its retries included, takes at most the flush time (1–10 s): a collector that is down cannot keep a
  // closed runtime's process alive with retries much past flushTimeoutMs.
  const timeoutMillis = Math.min(10_000, Math.max(1000, options.flushTimeoutMs));
  const spanProcessors: SpanProcessor[] = [];
  if (options.traces !== 'none') {
    const config = { url: options.tracesUrl, headers: { ...options.headers, ...options.tracesHeaders }, timeoutMillis };
    const spanExporter: SpanExporter = options.traces === 'http/protobuf' ? new OTLPProtoTraceExporter(config) : new OTLPTraceExporter(config);
    reportFailures(spanExporter, 'spans', options.tracesUrl, logger);
    const batch = new BatchSpanProcessor(spanExporter, { scheduledDelayMillis: options.batchDelayMs, maxQueueSize: options.maxQueueSize, maxExportBatchSize: Math.min(512, options.maxQueueSize) });
    const watch = new DropWatch(batch, options.maxQueueSize, logger);
    const send = spanExporter.export.bind(spanExporter);
    spanExporter.export = (spans, done) => {
      watch.taken(spans.length);
      send(spans, done);
    };
    spanProcessors.push(watch);
  }
  const tracerProvider = new BasicTracerProvider({
    resource,
    // Every call is recorded, whatever the sampled flag of a caller's traceparent: an agent must not be able to
    // hide its calls (refusals included) from the trace by sending flags 00. It still joins the caller's trace.
    sampler: new AlwaysOnSampler(),
    spanProcessors,
    ...(options.attributeValueLengthLimit !== undefined ? { spanLimits: { attributeValueLengthLimit: options.attributeValueLengthLimit } } : {}),
  });
  const readers: MetricReader[] = [];
  if (options.metrics !== 'none') {
    const config = { url: options.metricsUrl, headers: { ...options.headers, ...options.metricsHeaders }, timeoutMillis };
    const metricExporter = options.metrics === 'http/protobuf' ? new OTLPProtoMetricExporter(config) : new OTLPMetricExporter(config);
    reportFailures(metricExporter, 'metrics', options.metricsUrl, logger);
    readers.push(new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: options.exportIntervalMs, exportTimeoutMillis: Math.min(30_000, options.exportIntervalMs) }));
  }
  const meterProvider = new MeterProvider({ resource, readers });
  return {
    tracerProvider,
    meterProvider,
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref();
      });
      const done = Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]).then(() => 'done' as const);
      const outcome = await Promise.race([done, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') logger.warn(`telemetry: the collector did not take the last spans and metrics within ${timeoutMs} ms of closing; they are dropped`);
    },
  };
}

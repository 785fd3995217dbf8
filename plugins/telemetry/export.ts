// The OpenTelemetry SDK pieces the plugin owns: a tracer provider with a batching span processor and a meter provider
// with a periodic reader, both exporting OTLP/HTTP (JSON) to the configured collector. Nothing is registered globally:
// an application's own OpenTelemetry setup is left as it is, and two runtimes in one process export independently.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { SERVICE_NAME } from './conventions.ts';
import type { ResolvedTelemetry } from './options.ts';

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
        logger.warn({ url, err: result.error?.message }, `telemetry: ${signal} could not be exported to ${url}: ${result.error?.message ?? 'failed'} (said once until an export works again)`);
      } else if (result.code === ExportResultCode.SUCCESS && failing) {
        failing = false;
        logger.info({ url }, `telemetry: ${signal} are exported to ${url} again`);
      }
      done(result);
    });
}

export function createPipeline(options: ResolvedTelemetry, logger: Logger): TelemetryPipeline {
  const resource = defaultResource().merge(resourceFromAttributes({ [SERVICE_NAME]: options.serviceName }));
  // One export, its retries included, takes at most the flush time (1–10 s): a collector that is down cannot keep a
  // closed runtime's process alive with retries much past flushTimeoutMs.
  const timeoutMillis = Math.min(10_000, Math.max(1000, options.flushTimeoutMs));
  const spanExporter = new OTLPTraceExporter({ url: options.tracesUrl, headers: options.headers, timeoutMillis });
  reportFailures(spanExporter, 'spans', options.tracesUrl, logger);
  const tracerProvider = new BasicTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(spanExporter, { scheduledDelayMillis: options.batchDelayMs })],
  });
  const metricExporter = new OTLPMetricExporter({ url: options.metricsUrl, headers: options.headers, timeoutMillis });
  reportFailures(metricExporter, 'metrics', options.metricsUrl, logger);
  const meterProvider = new MeterProvider({
    resource,
    readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: options.exportIntervalMs, exportTimeoutMillis: Math.min(30_000, options.exportIntervalMs) })],
  });
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

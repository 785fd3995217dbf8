// How the `telemetry:` section and the OTEL_* environment variables combine into the exporter settings.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.ts';
import { parseOtlpHeaders, resolveOptions } from './options.ts';

describe('telemetry options', () => {
  it('defaults: the local collector, service iron-cage, no content, metrics every minute, spans every 5 s', () => {
    expect(resolveOptions({}, {})).toEqual({
      tracesUrl: 'http://localhost:4318/v1/traces',
      metricsUrl: 'http://localhost:4318/v1/metrics',
      headers: {},
      serviceName: 'iron-cage',
      captureContent: false,
      exportIntervalMs: 60_000,
      batchDelayMs: 5000,
      flushTimeoutMs: 2000,
      traces: 'http/json',
      metrics: 'http/json',
      resourceAttributes: {},
      maxQueueSize: 8192,
      tracesHeaders: {},
      metricsHeaders: {},
    });
  });

  it('the standard variables: a base endpoint gets the signal paths, a signal endpoint is used as it is', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com:4318/',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/ingest',
      OTEL_SERVICE_NAME: 'checkout-agents',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-team = blue',
      OTEL_METRIC_EXPORT_INTERVAL: '10000',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    expect(resolveOptions({}, env)).toMatchObject({
      tracesUrl: 'https://traces.example.com/ingest',
      metricsUrl: 'https://otel.example.com:4318/v1/metrics',
      headers: { authorization: 'Bearer abc', 'x-team': 'blue' },
      serviceName: 'checkout-agents',
      exportIntervalMs: 10_000,
      batchDelayMs: 200,
    });
  });

  it("the section wins over the environment, its endpoint for both signals; its headers over the environment's", () => {
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/ingest', OTEL_SERVICE_NAME: 'env', OTEL_EXPORTER_OTLP_HEADERS: 'x-key=env,x-other=1' };
    expect(resolveOptions({ endpoint: 'http://collector:4318', serviceName: 'cfg', headers: { 'X-Key': 'cfg' }, captureContent: true }, env)).toMatchObject({
      tracesUrl: 'http://collector:4318/v1/traces',
      metricsUrl: 'http://collector:4318/v1/metrics',
      headers: { 'x-key': 'cfg', 'x-other': '1' },
      serviceName: 'cfg',
      captureContent: true,
    });
  });

  it('a malformed variable is a config error naming it', () => {
    expect(() => resolveOptions({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => resolveOptions({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow('OTEL_EXPORTER_OTLP_ENDPOINT: expected an http(s) URL of an OTLP/HTTP collector (http://localhost:4318), got "collector:4318"');
    expect(() => resolveOptions({}, { OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).toThrow('OTEL_METRIC_EXPORT_INTERVAL: expected a positive integer of milliseconds, got "soon"');
    expect(() => resolveOptions({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://user:s3cret@collector' })).toThrow('got "ftp://…@collector"');
  });

  it('the rest of the standard settings are honoured or refused, never ignored', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example.com/otlp?tenant=7',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'HTTP/JSON',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.namespace=agents%20team',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4096',
    };
    expect(resolveOptions({}, env)).toMatchObject({
      tracesUrl: 'https://collector.example.com/otlp/v1/traces?tenant=7',
      metricsUrl: 'https://collector.example.com/otlp/v1/metrics?tenant=7',
      traces: 'http/protobuf',
      metrics: 'http/json',
      resourceAttributes: { 'deployment.environment.name': 'prod', 'service.namespace': 'agents team' },
      maxQueueSize: 100,
      attributeValueLengthLimit: 4096,
    });
    expect(resolveOptions({}, { OTEL_TRACES_EXPORTER: 'none' })).toMatchObject({ traces: 'none', metrics: 'http/json' });
    expect(resolveOptions({}, { OTEL_METRICS_EXPORTER: 'None' })).toMatchObject({ traces: 'http/json', metrics: 'none' });
    expect(() => resolveOptions({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported here: use http/protobuf or http/json (OTLP over HTTP, a collector\'s port 4318); gRPC (port 4317) is not');
    expect(() => resolveOptions({}, { OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow('OTEL_TRACES_EXPORTER: "zipkin" is not supported here: otlp (the default) or none');
    expect(() => resolveOptions({}, { OTEL_BSP_MAX_QUEUE_SIZE: 'lots' })).toThrow('OTEL_BSP_MAX_QUEUE_SIZE: expected a positive integer, got "lots"');
    expect(() => resolveOptions({}, { OTEL_EXPORTER_OTLP_HEADERS: 'x-key=100%' })).toThrow('OTEL_EXPORTER_OTLP_HEADERS: "100%" is not valid percent-encoding (write % as %25)');
    expect(() => resolveOptions({}, { OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A' })).toThrow(ConfigError);
    expect(resolveOptions({}, { OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-traces-key=t' })).toMatchObject({ tracesHeaders: { 'x-traces-key': 't' }, metricsHeaders: {} });
  });

  it('OTEL_EXPORTER_OTLP_HEADERS: pairs without a key or "=" are skipped', () => {
    expect(parseOtlpHeaders('a=1,,=2,b,c=x=y')).toEqual({ a: '1', c: 'x=y' });
  });
});

// `iron-cage/plugins/telemetry`: OpenTelemetry traces and metrics of every LLM call (GenAI semantic conventions),
// exported over OTLP/HTTP. On with a `telemetry:` section, or whenever OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { definePlugin } from '../../core/plugin.ts';
import { resolveOptions, TelemetryOptionsSchema } from './options.ts';
import { TelemetryRecorder } from './plugin.ts';

export default definePlugin({
  name: 'telemetry',
  options: TelemetryOptionsSchema,
  apply(runtime, options) {
    new TelemetryRecorder(runtime, resolveOptions(options, runtime.env)).apply();
  },
});

export type { TelemetryOptions } from './options.ts';
export { GEN_AI, IRON, METRIC } from './conventions.ts';

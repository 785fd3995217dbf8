// `iron-cage/plugins/telemetry`: OpenTelemetry traces and metrics of every LLM call (GenAI semantic conventions),
// exported over OTLP/HTTP. On with a `telemetry:` section, or whenever OTEL_EXPORTER_OTLP_ENDPOINT is set.
import { definePlugin } from '../../core/plugin.ts';
import { resolveOptions, TelemetryOptionsSchema } from './options.ts';
import { TelemetryRecorder } from './plugin.ts';
import { wantsPerson } from './scrub.ts';
import { loadPersonRecognizer } from '../safety/detect/person.ts';

export default definePlugin({
  name: 'telemetry',
  options: TelemetryOptionsSchema,
  async apply(runtime, options) {
    // Names are scrubbed from exports when safety finds them for the agent (the model loads once, as safety's does).
    const safety = runtime.config.safety;
    const person = safety && wantsPerson(safety) ? await loadPersonRecognizer({ ...((safety as { person?: object }).person ?? {}) }) : undefined;
    new TelemetryRecorder(runtime, resolveOptions(options, runtime.env), person).apply();
  },
});

export type { TelemetryOptions } from './options.ts';
export { GEN_AI, IRON, METRIC } from './conventions.ts';

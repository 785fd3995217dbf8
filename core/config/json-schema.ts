// The JSON Schema editors use to complete and check `iron.config.yaml` (published as iron.config.schema.json).
import { CostOptionsSchema } from '../../plugins/cost/options.ts';
import { ReliabilityOptionsSchema } from '../../plugins/reliability/options.ts';
import { SafetyOptionsSchema } from '../../plugins/safety/options.ts';
import { SyncOptionsSchema } from '../../plugins/sync/options.ts';
import { TelemetryOptionsSchema } from '../../plugins/telemetry/options.ts';
import { IronConfigSchema } from './schema.ts';

/** The built-in plugins' own option schemas, so editors complete their sections too. */
const SECTIONS: Record<string, object> = { cost: CostOptionsSchema, safety: SafetyOptionsSchema, reliability: ReliabilityOptionsSchema, sync: SyncOptionsSchema, telemetry: TelemetryOptionsSchema };

export function buildConfigJsonSchema(): Record<string, unknown> {
  const schema = JSON.parse(JSON.stringify(IronConfigSchema)) as { properties: Record<string, { description?: string }> };
  for (const [section, options] of Object.entries(SECTIONS)) {
    schema.properties[section] = { ...JSON.parse(JSON.stringify(options)), description: schema.properties[section]?.description };
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/iron-cage/iron-cage/iron.config.schema.json',
    title: 'Iron Cage configuration (iron.config.yaml)',
    ...schema,
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
}

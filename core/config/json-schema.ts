// The JSON Schema editors use to complete and check `iron.config.yaml` (published as iron.config.schema.json).
import { IronConfigSchema } from './schema.ts';

export function buildConfigJsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/iron-cage/iron-cage/iron.config.schema.json',
    title: 'Iron Cage configuration (iron.config.yaml)',
    ...JSON.parse(JSON.stringify(IronConfigSchema)),
  };
}

export function configJsonSchemaText(): string {
  return `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`;
}

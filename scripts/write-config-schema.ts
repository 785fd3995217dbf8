// Writes iron.config.schema.json from the config schema (npm run schema). A test fails when the file is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../core/config/json-schema.ts';

const file = fileURLToPath(new URL('../iron.config.schema.json', import.meta.url));
writeFileSync(file, configJsonSchemaText());
console.log(`wrote ${file}`);

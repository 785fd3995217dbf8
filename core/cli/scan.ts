// `iron scan [file|-]`: runs the PII detector of the safety plugin over a text and prints findings as JSON lines,
// so users can try their safety config (allow-list, custom recognizers, thresholds) on sample text.
import { readFileSync } from 'node:fs';
import { ConfigError, IronError, IRON_BAD_REQUEST } from '../errors.ts';
import { ENTITY_TYPES } from '../../plugins/safety/types.ts';
import { createDetector, loadPersonRecognizer } from '../../plugins/safety/index.ts';
import { ActionPolicy } from '../../plugins/safety/policy.ts';
import { SafetyOptionsSchema, type SafetyOptions } from '../../plugins/safety/options.ts';
import { validateOptions } from '../config/validate.ts';
import { loadConfig } from '../config/load.ts';
import { EXIT_FOUND } from './exit-codes.ts';

export interface ScanOptions {
  config?: string;
  entities?: string;
  minScore?: number;
  person?: boolean;
  showValues?: boolean;
  exitCode?: boolean;
}

/** 1-based line and column of each offset, computed in one pass over the text. */
function lineColumns(text: string, offsets: number[]): Array<{ line: number; column: number }> {
  const sorted = [...offsets].sort((a, b) => a - b);
  const at = new Map<number, { line: number; column: number }>();
  let line = 1;
  let lineStart = 0;
  let i = 0;
  for (const offset of sorted) {
    for (; i < offset; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    at.set(offset, { line, column: offset - lineStart + 1 });
  }
  return offsets.map((offset) => at.get(offset)!);
}

/** `-e email_address,CREDIT_CARD`: known types only, so a typo is an error instead of a scan that finds nothing. */
function parseEntities(list: string, known: string[]): string[] {
  const entities = list.split(',').map((type) => type.trim().toUpperCase()).filter(Boolean);
  for (const type of entities) {
    if (known.includes(type)) continue;
    const close = known.filter((k) => k.startsWith(type) || k.includes(type));
    throw new ConfigError(`--entities: unknown entity type ${type}${close.length ? ` (did you mean ${close.join(' or ')}?)` : ''}; known: ${known.join(', ')}`, { path: 'entities' });
  }
  if (entities.length === 0) throw new ConfigError(`--entities: no entity type given; known: ${known.join(', ')}`, { path: 'entities' });
  return entities;
}

function readInput(input: string): string {
  try {
    return input === '-' ? readFileSync(0, 'utf8') : readFileSync(input, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new IronError(IRON_BAD_REQUEST, `cannot read ${input === '-' ? 'standard input' : input}: ${reason}`, { cause: error });
  }
}

/** Returns the process exit code. */
export async function scan(input: string, options: ScanOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  // `safety: false` turns the plugin off in runs; scanning still uses the detector's defaults.
  const section = (loaded.file && loaded.config.safety ? loaded.config.safety : {}) as unknown;
  const safety = validateOptions<SafetyOptions>(SafetyOptionsSchema, section, { ...(loaded.file ? { file: loaded.file } : {}), path: 'safety' });
  const policy = new ActionPolicy(safety);
  const known = [...ENTITY_TYPES, ...(safety.recognizers ?? []).map((r) => r.type)];
  const entities = options.entities !== undefined ? parseEntities(options.entities, known) : policy.activeTypes();
  const wantsPerson = options.person === true || entities.includes('PERSON');
  const person = wantsPerson ? await loadPersonRecognizer(safety.person ?? {}) : undefined;
  const detector = createDetector({
    entities: wantsPerson ? [...new Set([...entities, 'PERSON'])] : entities,
    minScore: options.minScore ?? safety.minScore ?? 0.5,
    allow: safety.allow ?? [],
    recognizers: safety.recognizers ?? [],
    phoneRegions: safety.phoneRegions ?? [],
    ...(person ? { person } : {}),
  });
  const text = readInput(input);
  const findings = detector.detect(text);
  const positions = lineColumns(text, findings.map((f) => f.start));
  findings.forEach((finding, i) => {
    const line = {
      type: finding.type,
      start: finding.start,
      end: finding.end,
      score: Math.round(finding.score * 100) / 100,
      ...positions[i],
      // Values stay out of the output unless asked for: scan output ends up in logs and CI.
      ...(options.showValues ? { value: text.slice(finding.start, finding.end) } : {}),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  });
  return options.exitCode && findings.length > 0 ? EXIT_FOUND : 0;
}

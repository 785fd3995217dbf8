// `iron scan [file|-]`: runs the PII detector of the safety plugin over a text and prints findings as JSON lines,
// so users can try their safety config (allow-list, custom recognizers, thresholds) on sample text.
import { readFileSync } from 'node:fs';
import { ConfigError, IronError, IRON_BAD_REQUEST } from '../errors.ts';
import { ENTITY_TYPES, type ScanLimit } from '../../plugins/safety/types.ts';
import { createDetector, loadPersonRecognizer } from '../../plugins/safety/index.ts';
import { ActionPolicy } from '../../plugins/safety/policy.ts';
import { safetyConfigWarnings } from '../../plugins/safety/config-audit.ts';
import { SafetyOptionsSchema, type SafetyOptions } from '../../plugins/safety/options.ts';
import { validateOptions } from '../config/validate.ts';
import { loadConfig } from '../config/load.ts';
import { shownPath } from '../shown-path.ts';
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

/** The file, or all of stdin read as a stream (a synchronous read of a pipe fails with EAGAIN when the writer is slower). */
async function readInput(input: string): Promise<string> {
  try {
    if (input !== '-') return readFileSync(input, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new IronError(IRON_BAD_REQUEST, `cannot read ${input === '-' ? 'standard input' : input}: ${reason}`, { cause: error });
  }
}

/** A bounded recognizer stopped early: said once per type on stderr, so the findings are read for what they are. */
function warnOnLimit(): (limit: ScanLimit) => void {
  const warned = new Set<string>();
  return ({ type, scannedChars, textChars, timeBudgetMs }) => {
    if (warned.has(type)) return;
    warned.add(type);
    const what =
      type === 'PERSON'
        ? `names were searched in the first ${scannedChars} of ${textChars} characters only (safety.person.timeBudgetMs ${timeBudgetMs} ms, or maxChars); raise them to search further`
        : `its pattern ran out of its ${timeBudgetMs} ms after ${scannedChars} of ${textChars} characters: the rest is reported as one ${type} finding, as the safety plugin treats it; make the pattern cheaper or raise timeBudgetMs`;
    process.stderr.write(`iron scan: ${type}: ${what}\n`);
  };
}

/** Returns the process exit code. */
export async function scan(input: string, options: ScanOptions): Promise<number> {
  const loaded = await loadConfig(options.config);
  // `safety: false` turns the plugin off in runs; scanning still uses the detector's defaults — and says so, since
  // what it finds would then reach the provider untouched.
  if (loaded.file && (loaded.config.safety === undefined || loaded.config.safety === false)) {
    const name = shownPath(loaded.file);
    process.stderr.write(`iron scan: ${name} ${loaded.config.safety === false ? 'says safety: false' : 'has no safety section'}, so \`iron run\` with it redacts nothing: these findings use the detector's defaults (add a safety: section to turn it on)\n`);
  }
  const section = (loaded.file && loaded.config.safety ? loaded.config.safety : {}) as unknown;
  const safety = validateOptions<SafetyOptions>(SafetyOptionsSchema, section, { ...(loaded.file ? { file: loaded.file } : {}), path: 'safety' });
  const policy = new ActionPolicy(safety);
  if (loaded.file && loaded.config.safety) for (const warning of safetyConfigWarnings(safety, policy)) process.stderr.write(`iron scan: ${warning}\n`);
  const known = [...ENTITY_TYPES, ...(safety.recognizers ?? []).map((r) => r.type)];
  const entities = options.entities !== undefined ? parseEntities(options.entities, known) : policy.activeTypes();
  const wantsPerson = options.person === true || entities.includes('PERSON');
  const onLimit = warnOnLimit();
  const person = wantsPerson ? await loadPersonRecognizer({ ...safety.person, onLimit }) : undefined;
  const detector = createDetector({
    entities: wantsPerson ? [...new Set([...entities, 'PERSON'])] : entities,
    minScore: options.minScore ?? safety.minScore ?? 0.5,
    allow: safety.allow ?? [],
    recognizers: safety.recognizers ?? [],
    phoneRegions: safety.phoneRegions ?? [],
    ...(person ? { person } : {}),
    onLimit,
  });
  const text = await readInput(input);
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

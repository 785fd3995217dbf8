// Schema validation with messages a person can act on: file, key path, what was expected, what was found.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError } from '../errors.ts';

export interface ValidationSource {
  /** The config file, for the message. */
  file?: string;
  /** Where the value sits in the config (`cost`, `plugins[2].options`). */
  path?: string;
  /** Turns a key path into a line number in the file, when the caller has the document. */
  lineOf?: (path: (string | number)[]) => number | undefined;
}

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
}

type Node = Record<string, unknown>;

function pointer(path: string): string[] {
  return path
    .replace(/^#/, '')
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function nodeAt(schema: TSchema, schemaPath: string): Node {
  let node: unknown = schema;
  for (const segment of pointer(schemaPath)) node = (node as Record<string, unknown> | undefined)?.[segment];
  return (node ?? {}) as Node;
}

function valueAt(value: unknown, instancePath: string): unknown {
  let node = value;
  for (const segment of pointer(instancePath)) node = (node as Record<string, unknown> | undefined)?.[segment];
  return node;
}

function segmentsOf(instancePath: string): (string | number)[] {
  return pointer(instancePath).map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
}

export function joinPath(base: string | undefined, segments: (string | number)[]): string {
  let out = base ?? '';
  for (const segment of segments) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  return out;
}

function range(node: Node, noun: string): string {
  const article = noun === 'integer' ? 'an' : 'a';
  const low = node.exclusiveMinimum !== undefined ? { value: node.exclusiveMinimum as number, open: true } : node.minimum !== undefined ? { value: node.minimum as number, open: false } : undefined;
  const high = node.exclusiveMaximum !== undefined ? { value: node.exclusiveMaximum as number, open: true } : node.maximum !== undefined ? { value: node.maximum as number, open: false } : undefined;
  if (low?.value === 0 && low.open && high === undefined) return `a positive ${noun}`;
  if (low && high) {
    if (!low.open && !high.open) return `${article} ${noun} from ${low.value} to ${high.value}`;
    return `${article} ${noun} ${low.open ? '>' : '≥'} ${low.value} and ${high.open ? '<' : '≤'} ${high.value}`;
  }
  if (low) return `${article} ${noun} ${low.open ? '>' : '≥'} ${low.value}`;
  if (high) return `${article} ${noun} ${high.open ? '<' : '≤'} ${high.value}`;
  return noun === 'integer' ? 'an integer' : 'a number';
}

/** What a schema node accepts, in words. */
export function expected(node: Node): string {
  if ('const' in node) return JSON.stringify(node.const);
  if (Array.isArray(node.anyOf)) {
    const options = node.anyOf as Node[];
    if (options.every((option) => 'const' in option)) return `one of ${options.map((option) => JSON.stringify(option.const)).join(', ')}`;
    return options.map(expected).join(' or ');
  }
  switch (node.type) {
    case 'number':
      return range(node, 'number');
    case 'integer':
      return range(node, 'integer');
    case 'string':
      if (typeof node.pattern === 'string') return node.pattern === '^https?://' ? 'a URL starting with http:// or https://' : `a string matching /${node.pattern}/`;
      return typeof node.minLength === 'number' && node.minLength > 0 ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping (key: value)';
    case 'null':
      return 'null';
    default:
      return 'a valid value';
  }
}

function got(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** The closest known name, when one is close enough to be a typo. */
export function didYouMean(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * The first key of an options object that is not one of `known` (keys set to undefined do not count), with the known
 * one it is closest to, if any: a misspelled option would otherwise be dropped without a word.
 */
export function unknownOption(options: object, known: readonly string[], guesses: Record<string, string> = {}): { key: string; guess: string | undefined } | undefined {
  for (const [key, value] of Object.entries(options)) {
    if (known.includes(key) || value === undefined) continue;
    return { key, guess: guesses[key] ?? didYouMean(key, [...known]) };
  }
  return undefined;
}

interface Problem { segments: (string | number)[]; text: string }

/** Errors inside an `anyOf` branch are noise unless the value clearly meant that branch (an object for the object form). */
function relevant(errors: SchemaError[], schema: TSchema, value: unknown): SchemaError[] {
  let kept = errors.filter((error) => error.keyword !== 'boolean');
  for (const union of errors.filter((error) => error.keyword === 'anyOf')) {
    const node = nodeAt(schema, union.schemaPath);
    const actual = valueAt(value, union.instancePath);
    const kind = Array.isArray(actual) ? 'array' : actual === null ? 'null' : typeof actual;
    const branches = ((node.anyOf as Node[] | undefined) ?? []).map((branch, i) => ({ branch, i }));
    const meant = branches.filter(({ branch }) => branch.type === kind && (kind === 'object' || kind === 'array'));
    const prefix = `${union.schemaPath}/anyOf/`;
    if (meant.length === 1) {
      const keep = `${prefix}${meant[0].i}`;
      kept = kept.filter((error) => error !== union && (!error.schemaPath.startsWith(prefix) || error.schemaPath === keep || error.schemaPath.startsWith(`${keep}/`)));
    } else {
      kept = kept.filter((error) => !error.schemaPath.startsWith(prefix));
    }
  }
  return kept;
}

function describe(error: SchemaError, schema: TSchema, value: unknown): Problem {
  const segments = segmentsOf(error.instancePath);
  const node = nodeAt(schema, error.schemaPath);
  if (error.keyword === 'additionalProperties') {
    const unknown = String((error.params.additionalProperties as string[] | undefined)?.[0] ?? '');
    const known = Object.keys((node.properties as Node | undefined) ?? {});
    const guess = didYouMean(unknown, known);
    return {
      segments: [...segments, unknown],
      text: `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${known.join(', ')}`,
    };
  }
  if (error.keyword === 'required') {
    const missing = String((error.params.requiredProperties as string[] | undefined)?.[0] ?? '');
    const child = ((node.properties as Record<string, Node> | undefined) ?? {})[missing] ?? {};
    return { segments: [...segments, missing], text: `is required: expected ${expected(child)}` };
  }
  return { segments, text: `expected ${expected(node)}, got ${got(valueAt(value, error.instancePath))}` };
}

function problemsAt(schema: TSchema, value: unknown): Problem[] {
  const errors = relevant([...Value.Errors(schema, value)] as SchemaError[], schema, value);
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const error of errors) {
    const problem = describe(error, schema, value);
    const key = joinPath('', problem.segments);
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems.length > 0 ? problems : [{ segments: [], text: `expected ${expected(schema as Node)}, got ${got(value)}` }];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every problem with `value`. Objects and lists are walked key by key, so two wrong keys are both reported
 * (the schema checker stops at the first failing property).
 */
export function findProblems(schema: TSchema, value: unknown): Problem[] {
  if (Value.Check(schema, value)) return [];
  const node = schema as Node;
  const nested = (segment: string | number, child: Node, item: unknown): Problem[] =>
    findProblems(child as TSchema, item).map((problem) => ({ ...problem, segments: [segment, ...problem.segments] }));
  if (node.type === 'object' && isPlainObject(value)) {
    const properties = (node.properties as Record<string, Node> | undefined) ?? {};
    const patterns = Object.entries((node.patternProperties as Record<string, Node> | undefined) ?? {});
    const problems: Problem[] = [];
    for (const [key, item] of Object.entries(value)) {
      const child = properties[key] ?? patterns.find(([pattern]) => new RegExp(pattern, 'u').test(key))?.[1];
      if (child) problems.push(...nested(key, child, item));
      else if (node.additionalProperties === false) {
        const guess = didYouMean(key, Object.keys(properties));
        problems.push({ segments: [key], text: `unknown key${guess ? ` (did you mean "${guess}"?)` : ''}; expected one of ${Object.keys(properties).join(', ')}` });
      } else if (isPlainObject(node.additionalProperties)) problems.push(...nested(key, node.additionalProperties, item));
    }
    for (const key of (node.required as string[] | undefined) ?? []) {
      if (!(key in value)) problems.push({ segments: [key], text: `is required: expected ${expected(properties[key] ?? {})}` });
    }
    if (problems.length > 0) return problems;
  } else if (node.type === 'array' && Array.isArray(value) && isPlainObject(node.items)) {
    const items = node.items;
    const problems = (value as unknown[]).flatMap((item, i) => nested(i, items, item));
    if (problems.length > 0) return problems;
  }
  return problemsAt(schema, value);
}

/**
 * Validates `value` against `schema`, filling in defaults, and returns it typed. Throws a `ConfigError` whose message
 * names the file, the key path and what was expected, e.g. `iron.config.yaml: budget.limit: expected a number from 0.000001 to 1000000000, got "ten"`.
 */
export function validateOptions<T>(schema: TSchema, value: unknown, source: ValidationSource = {}): T {
  const withDefaults = Value.Default(schema, structuredClone(value ?? {}));
  const problems = findProblems(schema, withDefaults);
  if (problems.length === 0) return withDefaults as T;
  const base = source.path ? pointer(`/${source.path.replace(/\[(\d+)\]/g, '/$1').replace(/\./g, '/')}`).map((s) => (/^\d+$/.test(s) ? Number(s) : s)) : [];
  const lines = problems.map((problem) => {
    const segments = [...base, ...problem.segments];
    const at = joinPath('', segments);
    const line = source.lineOf?.(segments);
    return `${at === '' ? '' : `${at}: `}${problem.text}${line ? ` (line ${line})` : ''}`;
  });
  const prefix = source.file ? `${source.file}: ` : '';
  const first = problems[0];
  const message = lines.length === 1 ? `${prefix}${lines[0]}` : `${prefix}${lines[0]}\n${lines.slice(1).map((line) => `  also: ${line}`).join('\n')}`;
  throw new ConfigError(message, {
    ...(source.file ? { file: source.file } : {}),
    path: joinPath('', [...base, ...first.segments]),
    details: { problems: lines },
  });
}

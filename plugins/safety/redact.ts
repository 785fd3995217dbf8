// Applies the actions of a policy to the findings in one text, and tallies what was found (never the values).
import { createHmac, createSecretKey, hash as digest, type KeyObject } from 'node:crypto';
import type { PiiDetector } from './detect/index.ts';
import type { PiiAction } from './options.ts';
import type { ActionPolicy, Direction } from './policy.ts';
import { PLACEHOLDER_NAME, sameValueKey, type PseudonymVault } from './pseudonyms.ts';
import type { PiiFinding } from './types.ts';

export interface MaskOptions {
  keep: number;
  char: string;
}

/**
 * Distinct value hashes an alert carries per entity type and call, at most: a 5 MB table of 500,000 phones made one
 * alert of 300,000 hashes (an HMAC each, then the event, the outbox row, the server's row). The count stays exact.
 */
export const MAX_ALERT_HASHES = 1000;

/** What one call (or one direction of it) found, per entity type. */
export class FindingTally {
  readonly byType = new Map<string, { count: number; action: PiiAction; hashes: Set<string> }>();
  readonly blocked = new Set<string>();
  /** Blocked types found inside a signed thinking block (sent back as the provider wrote it, or not at all). */
  readonly inSignedThinking = new Set<string>();

  /** Counts a finding; `hashOf` is asked for its value's hash only while the type has fewer than MAX_ALERT_HASHES. */
  add(type: string, action: PiiAction, hashOf: () => string): void {
    let entry = this.byType.get(type);
    if (!entry) this.byType.set(type, (entry = { count: 0, action, hashes: new Set() }));
    entry.count++;
    if (entry.hashes.size < MAX_ALERT_HASHES) entry.hashes.add(hashOf());
    if (action === 'block') this.blocked.add(type);
  }

  get size(): number {
    return this.byType.size;
  }
}

export interface RedactorOptions {
  detector: PiiDetector;
  policy: ActionPolicy;
  mask: MaskOptions;
  hashKey: string;
}

/** Hashed values remembered per generation, at most (then the memory ages: RecentMemory). */
const MAX_REMEMBERED_HASHES = 4096;

/**
 * Texts remembered per generation, weighed as one plus their findings: a text dense with values (a table of 50,000
 * phones) weighs what it holds, so memory stays bounded (two generations of ~20,000 small objects) whatever is sent.
 */
const MAX_REMEMBERED_SCAN_WEIGHT = 20_000;

/**
 * How long a remembered value lasts unused: it is dropped between one and two of these after its last use, so raw
 * personal data does not stay in the runtime's memory long after the calls that carried it.
 */
export const HASH_MEMORY_MS = 30_000;

/**
 * Texts shorter than this are scanned again rather than looked up: digesting one costs about what scanning it does.
 */
const REMEMBERED_TEXT_MIN = 64;

/**
 * `key` → value, in two generations: every `HASH_MEMORY_MS`, or when the newer one weighs `maxWeight`, the older one
 * is dropped and the newer one ages. A key used again moves back into the newer generation. The timer runs only while
 * something is remembered, and does not keep the process alive.
 */
class RecentMemory<V> {
  #current = new Map<string, V>();
  #previous = new Map<string, V>();
  #weight = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;

  constructor(maxWeight: number, weigh: (value: V) => number = () => 1) {
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  get size(): number {
    return this.#current.size + this.#previous.size;
  }

  get(key: string): V | undefined {
    const value = this.#current.get(key);
    if (value !== undefined) return value;
    const aging = this.#previous.get(key);
    if (aging !== undefined) {
      this.#previous.delete(key);
      this.set(key, aging);
    }
    return aging;
  }

  set(key: string, value: V): void {
    const weight = this.#weigh(value);
    if (this.#weight + weight > this.#maxWeight) this.#age();
    this.#current.set(key, value);
    this.#weight += weight;
    this.#timer ??= setTimeout(() => this.#tick(), HASH_MEMORY_MS).unref();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#age();
    if (this.size > 0) this.#timer = setTimeout(() => this.#tick(), HASH_MEMORY_MS).unref();
  }

  #age(): void {
    this.#previous = this.#current;
    this.#current = new Map();
    this.#weight = 0;
  }
}

/** Detection plus actions for one runtime: `process` rewrites a text for a direction and records what it did. */
export class Redactor {
  readonly #options: RedactorOptions;
  readonly #key: KeyObject;
  /**
   * `type:value` → its hash. An agent sends its whole conversation on every call, so the same values come back
   * call after call; a value unused for `HASH_MEMORY_MS` is forgotten.
   */
  readonly #hashes = new RecentMemory<string>(MAX_REMEMBERED_HASHES);
  /**
   * A text's digest → its findings (offsets and types, never the text): a conversation's history comes back with every
   * call, and is scanned once (`detectRemembered`). Forgotten as the hashes are.
   */
  readonly #scanned = new RecentMemory<readonly PiiFinding[]>(MAX_REMEMBERED_SCAN_WEIGHT, (findings) => 1 + findings.length);
  #scans = 0;

  /** Whether some type is pseudonymized on input: then placeholders are restored in answers. */
  readonly #pseudonymizesInput: boolean;

  constructor(options: RedactorOptions) {
    this.#options = options;
    this.#pseudonymizesInput = options.policy.activeTypes().some((type) => options.policy.actionFor(type, 'input') === 'pseudonymize');
    this.#key = createSecretKey(Buffer.from(options.hashKey));
  }

  detect(text: string): PiiFinding[] {
    this.#scans++;
    return this.#options.detector.detect(text);
  }

  /**
   * The same findings as `detect`, from memory when this text was scanned in the last `HASH_MEMORY_MS` or so: for whole
   * texts an agent may send again (its history, an answer it got). The detector is a function of the text alone.
   * The findings are frozen: they are shared by every call that sends the text.
   */
  detectRemembered(text: string): readonly PiiFinding[] {
    if (text.length < REMEMBERED_TEXT_MIN) return this.detect(text);
    const key = digest('sha256', text, 'base64');
    let findings = this.#scanned.get(key);
    if (findings === undefined) {
      findings = Object.freeze(this.detect(text).map((finding) => Object.freeze(finding)));
      this.#scanned.set(key, findings);
    }
    return findings;
  }

  /** How many texts the detector has scanned (for tests and diagnostics). */
  get scans(): number {
    return this.#scans;
  }

  /** Where a stream must hold `text` for a custom recognizer's context words still to come (PiiDetector.awaitingContext). */
  awaitingContext(text: string): number {
    return this.#options.detector.awaitingContext?.(text) ?? text.length;
  }

  /**
   * A keyed hash of a value: lets alerts be correlated without carrying the value. Of the value as the vault knows it:
   * `bob%40example.com` in a URL and `bob@example.com` in prose are one value in alerts as they get one placeholder.
   */
  hash(type: string, value: string): string {
    const input = `${type}:${sameValueKey(type, value)}`;
    let hash = this.#hashes.get(input);
    if (hash === undefined) {
      hash = createHmac('sha256', this.#key).update(input).digest('hex').slice(0, 16);
      this.#hashes.set(input, hash);
    }
    return hash;
  }

  /** How many values are remembered now (for tests and diagnostics; never the values). */
  get rememberedValues(): number {
    return this.#hashes.size;
  }

  /**
   * Rewrites `text` for `direction`. `escape` encodes inserted values (pseudonyms never need it; masks keep
   * characters of the value itself). Findings the policy ignores in this direction are left alone.
   */
  process(text: string, direction: Direction, vault: PseudonymVault, tally: FindingTally, findings: readonly PiiFinding[] = this.detect(text)): string {
    if (direction === 'input' && this.#pseudonymizesInput) {
      findings = withKnownValues(findings, vault.knownValuesIn(text).filter((known) => this.#options.policy.actionFor(known.type, 'input') === 'pseudonymize'));
      if (text.includes('<') || text.includes('%3') || text.includes('&lt;')) findings = withLiteralPlaceholders(text, findings);
    }
    if (findings.length === 0) return text;
    const { policy } = this.#options;
    let out = '';
    let last = 0;
    for (const finding of findings) {
      if (finding.type === LITERAL_PLACEHOLDER) {
        // Not personal data: not counted; its own placeholder brings the text back as written.
        // Written percent-encoded (in a URL), its placeholder is too.
        const placeholder = vault.placeholderFor(LITERAL_PLACEHOLDER, text.slice(finding.start, finding.end));
        const name = placeholder.slice(1, -1);
        const first = text[finding.start];
        out += text.slice(last, finding.start) + (first === '%' ? `%3C${name}%3E` : first === '&' ? `&lt;${name}&gt;` : placeholder);
        last = finding.end;
        continue;
      }
      const action = policy.actionFor(finding.type, direction);
      if (action === 'off') continue;
      const value = text.slice(finding.start, finding.end);
      tally.add(finding.type, action, () => this.hash(finding.type, value));
      const replacement = this.#replacement(action, finding.type, value, vault);
      if (replacement === undefined) continue;
      out += text.slice(last, finding.start) + replacement;
      last = finding.end;
    }
    return last === 0 ? text : out + text.slice(last);
  }

  /** Whether `direction`'s policy rewrites `value`, one finding (redact, mask, pseudonymize), tried aside so nothing is counted. */
  rewrites(finding: PiiFinding, value: string, direction: Direction, vault: PseudonymVault): boolean {
    return this.process(value, direction, vault, new FindingTally(), [{ ...finding, start: 0, end: value.length }]) !== value;
  }

  #replacement(action: PiiAction, type: string, value: string, vault: PseudonymVault): string | undefined {
    switch (action) {
      case 'redact':
        return `[${type}]`;
      case 'mask':
        return maskValue(value, this.#options.mask);
      case 'pseudonymize':
        return vault.placeholderFor(type, value);
      default:
        return undefined; // detect and block leave the text as it is (block refuses the whole call)
    }
  }
}

/**
 * Text the agent wrote that looks like a placeholder (`our template holds <EMAIL_ADDRESS_1>`): sent as it is, the
 * model's echo of it would be restored to the value the vault gave that name (another person's address, or a card a
 * fetched page names to get it into a tool call). It gets a placeholder of its own, which answers restore to the text
 * as the agent wrote it.
 */
export const LITERAL_PLACEHOLDER = 'LITERAL';
/** As written, percent-encoded (`%3CEMAIL_ADDRESS_1%3E`) or as XML writes it (`&lt;EMAIL_ADDRESS_1&gt;`): answers restore all three. */
const PLACEHOLDER_SHAPE = new RegExp(String.raw`<${PLACEHOLDER_NAME}>|%3[Cc]${PLACEHOLDER_NAME}%3[Ee]|&lt;${PLACEHOLDER_NAME}&gt;`, 'g');

/** `findings` (sorted, not overlapping) with the vault's values written in the text that overlap none of them, in order. */
function withKnownValues(findings: readonly PiiFinding[], known: readonly PiiFinding[]): readonly PiiFinding[] {
  if (known.length === 0) return findings;
  const added = known.filter((value) => !findings.some((finding) => finding.start < value.end && value.start < finding.end));
  if (added.length === 0) return findings;
  return [...findings, ...added].sort((a, b) => a.start - b.start);
}

/** `findings` (sorted, not overlapping) with the placeholder-shaped texts that overlap none of them, in order. */
function withLiteralPlaceholders(text: string, findings: readonly PiiFinding[]): readonly PiiFinding[] {
  PLACEHOLDER_SHAPE.lastIndex = 0;
  let m = PLACEHOLDER_SHAPE.exec(text);
  if (m === null) return findings;
  const merged: PiiFinding[] = [];
  let k = 0;
  for (; m !== null; m = PLACEHOLDER_SHAPE.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    while (k < findings.length && findings[k]!.end <= start) merged.push(findings[k++]!);
    if (k < findings.length && findings[k]!.start < end) continue; // inside a value: the value's rewrite covers it
    merged.push({ type: LITERAL_PLACEHOLDER, start, end, score: 1 });
  }
  while (k < findings.length) merged.push(findings[k++]!);
  return merged;
}

/** `4111 1111 1111 1234` → `**** **** **** 1234`: separators stay, only the last `keep` letters or digits show. */
export function maskValue(value: string, { keep, char }: MaskOptions): string {
  let alnumSeen = 0;
  let out = '';
  for (let i = value.length - 1; i >= 0; i--) {
    const c = value[i] as string;
    if (/[\p{L}\p{N}]/u.test(c)) {
      alnumSeen++;
      out = (alnumSeen <= keep ? c : char) + out;
    } else out = c + out;
  }
  // A short value would show too much of itself: mask it whole.
  return alnumSeen <= keep * 2 ? char.repeat(value.length) : out;
}

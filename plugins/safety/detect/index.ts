// The detector: runs the recognizers, drops what the allow-list permits, and resolves overlaps into one finding per span.
import type { EntityType, PiiFinding, Recognizer, ScanLimit } from '../types.ts';
import { findCreditCards } from './credit-card.ts';
import { createCustomRecognizer, customScores, type CustomRecognizerSpec } from './custom.ts';
import { CONTEXT_AFTER } from './context.ts';
import { findEmails } from './email.ts';
import { findIbans } from './iban.ts';
import { findIpAddresses } from './ip-address.ts';
import { createPhoneRecognizer, findPhoneNumbers } from './phone.ts';
import { isSupportedCountry, type CountryCode } from 'libphonenumber-js';
import { ConfigError } from '../../../core/errors.ts';
import { findSecrets } from './secret.ts';
import { resolveOverlaps } from './overlaps.ts';
import { findUsSsns } from './us-ssn.ts';
import { foldForRecognizers } from './normalize.ts';
import { narrowForRecognizers, readingView } from './narrow-view.ts';
import { dropSplitEscapes, findPercentEncoded, percentDecoded } from './percent-encoded.ts';

/** The structured recognizers (on by default). PERSON is opt-in: see `loadPersonRecognizer`. */
export const STRUCTURED_RECOGNIZERS = {
  EMAIL_ADDRESS: findEmails,
  PHONE_NUMBER: findPhoneNumbers,
  CREDIT_CARD: findCreditCards,
  US_SSN: findUsSsns,
  IBAN_CODE: findIbans,
  IP_ADDRESS: findIpAddresses,
  SECRET: findSecrets,
} as const satisfies Record<string, Recognizer>;

export type StructuredEntityType = keyof typeof STRUCTURED_RECOGNIZERS;
export const STRUCTURED_TYPES = Object.keys(STRUCTURED_RECOGNIZERS) as StructuredEntityType[];

export interface DetectOptions {
  /** Entity types to look for. Default: every structured type (PERSON needs `person`). */
  entities?: readonly EntityType[];
  /** Findings scoring below this are dropped. Default 0.5. */
  minScore?: number;
  /** Values (exact, case-insensitive) or patterns (`/regex/flags`, or RegExp objects) that are never reported. */
  allow?: ReadonlyArray<string | RegExp>;
  /** Custom recognizers, e.g. from YAML. */
  recognizers?: readonly CustomRecognizerSpec[];
  /** A PERSON recognizer (`await loadPersonRecognizer()`): names are only found when one is given. */
  person?: Recognizer;
  /** Regions (ISO 3166 codes) whose national phone formats are found without a context word, e.g. ['US', 'FR']. */
  phoneRegions?: readonly string[];
  /** Told when a custom recognizer's time budget ran out on a text (the rest of that text became one finding). */
  onLimit?: (limit: ScanLimit) => void;
}

export interface PiiDetector {
  detect(text: string): PiiFinding[];
  /**
   * Where a stream must hold `text` (its length when nowhere): a custom recognizer's match near the end that a context
   * word after it may still lift over `minScore` (`EMP-123456 is the ` + `employee id`).
   */
  awaitingContext?(text: string): number;
}

/** How much of a stream's end is searched for matches still awaiting their context words. */
const AWAITING_TAIL = 512;

/** Compiles options once: the recognizers to run, the allow-list, the threshold. */
export function createDetector(options: DetectOptions = {}, internal: { twoByteView?: boolean } = {}): PiiDetector {
  const wanted = new Set<string>(options.entities ?? [...STRUCTURED_TYPES, ...(options.person ? ['PERSON'] : []), ...(options.recognizers ?? []).map((r) => r.type)]);
  const recognizers: Recognizer[] = [];
  // Custom patterns read the text as written (a user's regex may name U+00A0 itself); the built-in ones read it folded.
  const customRecognizers: Recognizer[] = [];
  for (const region of options.phoneRegions ?? []) {
    if (!isSupportedCountry(region)) throw new ConfigError(`safety.phoneRegions: "${region}" is not a region libphonenumber knows: use ISO 3166 alpha-2 codes such as US, FR, DE`, { path: 'safety.phoneRegions' });
  }
  const phones = options.phoneRegions?.length ? createPhoneRecognizer(options.phoneRegions as CountryCode[]) : undefined;
  for (const type of STRUCTURED_TYPES) if (wanted.has(type)) recognizers.push(type === 'PHONE_NUMBER' && phones ? phones : STRUCTURED_RECOGNIZERS[type]);
  // Read again percent-decoded (URLs, form bodies): the structured ones and the custom patterns (a user's
  // `EMP-\d{6}` in `?id=EMP%2D123456` is theirs as much as a card is ours), not PERSON (built for prose).
  const structured = [...recognizers];
  const person = options.person && wanted.has('PERSON') ? options.person : undefined;
  (options.recognizers ?? []).forEach((spec, i) => {
    if (wanted.has(spec.type)) customRecognizers.push(createCustomRecognizer(spec, `safety.recognizers[${i}]`, options.onLimit));
  });
  const decodedReaders = [...structured, ...customRecognizers];
  const minScore = options.minScore ?? 0.5;
  // Custom recognizers that a context word may still lift over the threshold, as bare matchers (every match a finding).
  const liftable = (options.recognizers ?? [])
    .filter((spec) => {
      const { base, boost } = customScores(spec);
      return wanted.has(spec.type) && (spec.context?.length ?? 0) > 0 && base < minScore && base + boost >= minScore;
    })
    .map((spec) => createCustomRecognizer({ ...spec, context: [], score: 1 }, 'safety.recognizers', options.onLimit));
  const allowValues = new Set<string>();
  const allowPatterns: RegExp[] = [];
  for (const entry of options.allow ?? []) {
    if (entry instanceof RegExp) allowPatterns.push(entry);
    else {
      const literal = /^\/(.+)\/([a-z]*)$/s.exec(entry);
      if (literal) allowPatterns.push(new RegExp(literal[1] as string, (literal[2] as string).replace(/[gy]/g, '')));
      else allowValues.add(entry.toLowerCase());
    }
  }
  const allowedAs = (value: string): boolean => allowValues.has(value.toLowerCase()) || allowPatterns.some((pattern) => pattern.test(value));
  // A value found percent-encoded (`bob%40example.com`) is allowed as it is written or as it reads.
  const allowed = (value: string): boolean => {
    const read = percentDecoded(value);
    return allowedAs(value) || (read !== value && allowedAs(read));
  };

  return {
    awaitingContext(text: string): number {
      if (liftable.length === 0) return text.length;
      const from = Math.max(0, text.length - AWAITING_TAIL);
      const tail = text.slice(from);
      const found: PiiFinding[] = [];
      for (const recognize of liftable) recognize(tail, found);
      let hold = text.length;
      for (const finding of found) if (tail.length - finding.end < CONTEXT_AFTER) hold = Math.min(hold, from + finding.start);
      return hold;
    },
    detect(written: string): PiiFinding[] {
      // Lines ended by a bare CR (old Mac files, some exports) read as lines: one unit for one, so offsets hold.
      const text = written.includes('\r') && HAS_BARE_CR.test(written) ? written.replace(BARE_CR, '\n') : written;
      const found: PiiFinding[] = [];
      // A no-break or thin space between groups, full-width digits: folded one unit for one, so offsets hold. The
      // built-in recognizers read a one-byte view (narrow-view.ts); `twoByteView` is the reference the tests hold it to.
      const view = internal.twoByteView ? foldForRecognizers(text) : narrowForRecognizers(text);
      readingView(view, text, () => {
        for (const recognize of recognizers) recognize(view, found);
        dropSplitEscapes(view, found);
        findPercentEncoded(view, decodedReaders, found);
      });
      // PERSON reads words of every script: the text folded, without stand-ins.
      if (person) person(internal.twoByteView ? view : foldForRecognizers(text), found);
      for (const recognize of customRecognizers) recognize(text, found);
      const kept = found.filter((f) => f.score >= minScore && !(allowValues.size + allowPatterns.length > 0 && allowed(text.slice(f.start, f.end))));
      return resolveOverlaps(kept);
    },
  };
}

/** A carriage return that is not the first half of a CRLF. */
const BARE_CR = /\r(?!\n)/g;
const HAS_BARE_CR = /\r(?!\n)/;

const defaultDetectors = new WeakMap<DetectOptions, PiiDetector>();
let plainDetector: PiiDetector | undefined;

/**
 * Finds personal data and secrets in `text`. Offsets are UTF-16 indices: `text.slice(start, end)` is the value.
 * @example detectPii('mail jane@example.org') // → [{ type: 'EMAIL_ADDRESS', start: 5, end: 21, score: 0.95 }]
 */
export function detectPii(text: string, options?: DetectOptions): PiiFinding[] {
  if (!options) return (plainDetector ??= createDetector()).detect(text);
  let detector = defaultDetectors.get(options);
  if (!detector) {
    detector = createDetector(options);
    defaultDetectors.set(options, detector);
  }
  return detector.detect(text);
}

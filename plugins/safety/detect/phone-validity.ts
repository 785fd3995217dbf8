// libphonenumber-js's verdict on a number written with `+` and a country code, reached with its own metadata and
// rules but with each pattern compiled once: the library builds a new RegExp from a multi-kilobyte pattern string
// for every check (20 µs a number), and a prompt can hold fifty thousand distinct numbers.
import { Metadata } from 'libphonenumber-js/core';
import metadataJson from 'libphonenumber-js/metadata.min.json';

/** The parts of libphonenumber-js's Metadata and NumberingPlan read here (the class is typed only in part). */
interface TypeDefinition {
  pattern(): string;
  possibleLengths(): number[] | undefined;
}
interface NumberingPlan {
  nationalNumberPattern(): string;
  nationalPrefix(): string | undefined;
  nationalPrefixForParsing(): string | undefined;
  leadingDigits(): string | undefined;
  hasTypes(): boolean;
  type(type: string): TypeDefinition | undefined;
}
interface MetadataApi {
  numberingPlan: NumberingPlan;
  hasCallingCode(callingCode: string): boolean | undefined;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  selectNumberingPlan(countryOrCallingCode: string): MetadataApi;
}

/** The types `getNumberType` tries after FIXED_LINE, in its order. */
const TYPES = ['FIXED_LINE', 'MOBILE', 'PREMIUM_RATE', 'TOLL_FREE', 'SHARED_COST', 'VOIP', 'PERSONAL_NUMBER', 'PAGER', 'UAN', 'VOICEMAIL'];

/** A numbering plan with its patterns compiled: `^(?:pattern)$`, as the library's `matchesEntirely` builds them. */
interface CompiledPlan {
  national: RegExp;
  leading: RegExp | undefined;
  /** undefined: the plan has no type patterns (the national pattern alone decides). */
  types: Array<{ pattern: RegExp; lengths: number[] | undefined }> | undefined;
}
interface CallingCode {
  /** The countries sharing it, main one first, each with its plan. */
  countries: CompiledPlan[];
  /** The main country's national prefix for parsing, anchored at the start. */
  prefix: RegExp | undefined;
}

const metadata = new Metadata(metadataJson) as unknown as MetadataApi;
/** Per 1–3 digit prefix: its calling code, null for a non-geographic one, false for none. */
const callingCodes = new Map<string, CallingCode | null | false>();

function whole(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function compilePlan(plan: NumberingPlan): CompiledPlan {
  const leading = plan.leadingDigits();
  return {
    national: whole(plan.nationalNumberPattern()),
    leading: leading ? new RegExp(leading) : undefined,
    types: plan.hasTypes()
      ? TYPES.flatMap((name) => {
          const type = plan.type(name);
          return type && type.pattern() ? [{ pattern: whole(type.pattern()), lengths: type.possibleLengths() }] : [];
        })
      : undefined,
  };
}

/** null: a calling code whose numbers the fast path leaves to the library (non-geographic ones: +800, +882…). */
function callingCode(code: string): CallingCode | null | false {
  let known = callingCodes.get(code);
  if (known !== undefined) return known;
  const countries = metadata.getCountryCodesForCallingCode(code);
  if (!metadata.hasCallingCode(code)) known = false;
  else if (!countries) known = null;
  else {
    const prefix = metadata.selectNumberingPlan(code).numberingPlan.nationalPrefixForParsing();
    known = { countries: countries.map((country) => compilePlan(metadata.selectNumberingPlan(country).numberingPlan)), prefix: prefix ? new RegExp(`^(?:${prefix})`) : undefined };
  }
  callingCodes.set(code, known);
  return known;
}

/** libphonenumber's `getNumberType(…) !== undefined`: the national pattern, then any type's lengths and pattern. */
function hasType(national: string, plan: CompiledPlan): boolean {
  if (!plan.national.test(national)) return false;
  return plan.types!.some((type) => (!type.lengths || type.lengths.includes(national.length)) && type.pattern.test(national));
}

const FAST_SHAPE = /^\+[1-9][\d .-]*\d$/;
const NOT_DIGITS = /\D/g;

/**
 * `isValidPhoneNumber(value)` of libphonenumber-js for `+` numbers written with digits, spaces, dots and dashes;
 * undefined for what it leaves to the library: other characters, a national prefix after the country code (`+44 0…`,
 * stripped by rules the library applies) and non-geographic calling codes.
 */
export function fastInternationalVerdict(value: string): boolean | undefined {
  if (value.length > 250 || !FAST_SHAPE.test(value)) return undefined;
  const digits = value.replace(NOT_DIGITS, '');
  // The calling code: the first 1–3 digits that are one (ITU codes are prefix-free). None: the library parses nothing.
  let code: CallingCode | null | false = false;
  let national = '';
  for (let length = 1; length <= 3 && length <= digits.length; length++) {
    code = callingCode(digits.slice(0, length));
    if (code === null) return undefined;
    if (code === false) continue;
    national = digits.slice(length);
    break;
  }
  if (!code) return false;
  if (code.prefix?.test(national)) return undefined;
  if (national.length < 2 || national.length > 17) return false;
  // The country: the only one, or the first whose leading digits or type patterns take the number; else the main plan.
  let plan = code.countries[0]!;
  if (code.countries.length > 1) {
    for (const country of code.countries) {
      if (country.leading ? country.leading.exec(national)?.index === 0 : country.types !== undefined && hasType(national, country)) {
        plan = country;
        break;
      }
    }
  }
  return plan.types ? hasType(national, plan) : plan.national.test(national);
}

/**
 * How a region's national numbers begin when written without their country code: its trunk prefix (`0` in most of
 * Europe, `8` in Russia, `06` in Hungary, `1` in North America), or '' where there is none (Spain, Portugal, Italy,
 * Denmark: the number is written bare). From libphonenumber's metadata.
 */
export function trunkPrefixOf(region: string): string {
  let prefix = trunkPrefixes.get(region);
  if (prefix === undefined) {
    const read = metadata.selectNumberingPlan(region).numberingPlan.nationalPrefix();
    trunkPrefixes.set(region, (prefix = typeof read === 'string' ? read : ''));
  }
  return prefix;
}
const trunkPrefixes = new Map<string, string>();

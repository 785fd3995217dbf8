// Overlapping findings become one: the likelier or more specific reading of the same characters.
import type { PiiFinding } from '../types.ts';

/** When two findings overlap with the same score, the more specific type wins. */
const PRIORITY: Record<string, number> = { SECRET: 7, IBAN_CODE: 6, CREDIT_CARD: 5, US_SSN: 4, EMAIL_ADDRESS: 3, IP_ADDRESS: 2, PHONE_NUMBER: 1 };

/**
 * Keeps one finding per overlapping region: a card over a phone, else the higher score, then the longer span, then the
 * more specific type. A SECRET that loses keeps what the winner does not cover: a secret's span runs long by design,
 * and dropped whole (`password=X,card=4111…` read as one value, the card winning; a key block an e-mail address ran
 * into), its value went out in clear (outside review 16).
 */
export function resolveOverlaps(findings: PiiFinding[]): PiiFinding[] {
  if (findings.length < 2) return findings;
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiFinding[] = [];
  for (let i = 0; i < findings.length; i++) {
    const finding = findings[i]!;
    const last = out[out.length - 1];
    if (!last || finding.start >= last.end) out.push(finding);
    else {
      const [winner, loser] = better(finding, last) ? [finding, last] : [last, finding];
      out[out.length - 1] = winner;
      if (loser.type !== 'SECRET') continue;
      // The part before the winner stands where the loser stood; the part after it waits for its place in the order,
      // unless the winner is a secret too: then it is the better reading, and the loser read past its end
      // (`x-access-token:ghp_…@github.com/…`: the token, not the host after it).
      if (loser.start < winner.start) out.splice(out.length - 1, 0, { ...loser, end: winner.start });
      if (loser.end > winner.end && winner.type !== 'SECRET') insertSorted(findings, i + 1, { ...loser, start: winner.end });
    }
  }
  return out;
}

/** Inserts `finding` into `findings[from…]`, kept in the order `resolveOverlaps` sorted them. */
function insertSorted(findings: PiiFinding[], from: number, finding: PiiFinding): void {
  let at = from;
  while (at < findings.length && (findings[at]!.start < finding.start || (findings[at]!.start === finding.start && findings[at]!.end >= finding.end))) at++;
  findings.splice(at, 0, finding);
}

function better(a: PiiFinding, b: PiiFinding): boolean {
  // A Luhn-valid number of a card issuer's prefix and length is a card, however phone-like its groups (Amex 4-6-5,
  // Diners 4-4-4-2): a phone reading must never let a card past `CREDIT_CARD: block`.
  if (a.type === 'CREDIT_CARD' && b.type === 'PHONE_NUMBER') return true;
  if (a.type === 'PHONE_NUMBER' && b.type === 'CREDIT_CARD') return false;
  // An IBAN (exact length for its country, mod-97) whose middle groups happen to be a Luhn-valid card number is an
  // IBAN, whatever card word is near: read as a card, its country code and check digits went out and
  // `IBAN_CODE: block` let it pass (1.5 % of random IBANs in prose).
  if (a.type === 'IBAN_CODE' && b.type === 'CREDIT_CARD' && contains(a, b)) return true;
  if (a.type === 'CREDIT_CARD' && b.type === 'IBAN_CODE' && contains(b, a)) return false;
  // Two readings of one phone, one inside the other (`089 / 12 34 56 78` and its groups after the slash): the whole
  // number, so no part of it stays in clear whichever reading scored higher.
  if (a.type === 'PHONE_NUMBER' && b.type === 'PHONE_NUMBER' && (contains(a, b) || contains(b, a))) return contains(a, b) && !contains(b, a);
  if (a.score !== b.score) return a.score > b.score;
  const lengthA = a.end - a.start;
  const lengthB = b.end - b.start;
  if (lengthA !== lengthB) return lengthA > lengthB;
  return (PRIORITY[a.type] ?? 0) > (PRIORITY[b.type] ?? 0);
}

function contains(outer: PiiFinding, inner: PiiFinding): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

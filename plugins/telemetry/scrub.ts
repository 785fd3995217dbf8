// Captured content and error texts leave for a collector other people read: personal data and secrets in them are
// replaced by [TYPE] here, whatever the safety plugin did or whether it is on. The answer is captured as the
// provider wrote it (before safety restores pseudonyms), so values the model wrote itself are found only here; and a
// config with `captureContent: true` and no safety section must not export raw prompts.
import { createDetector, type DetectOptions, type PiiDetector } from '../safety/detect/index.ts';
import type { Recognizer } from '../safety/types.ts';

export type Scrub = (text: string) => string;

/**
 * A scrubber with the safety section's custom recognizers, allow-list and phone regions when there is one, and the
 * PERSON recognizer when the section turns names on (what the agent gets redacted, the collector gets redacted too).
 */
export function createScrub(safety: unknown, person?: Recognizer): Scrub {
  const section = (typeof safety === 'object' && safety !== null ? safety : {}) as Pick<DetectOptions, 'recognizers' | 'allow' | 'phoneRegions'>;
  let detector: PiiDetector;
  try {
    detector = createDetector({
      ...(section.recognizers ? { recognizers: section.recognizers } : {}),
      ...(section.allow ? { allow: section.allow } : {}),
      ...(section.phoneRegions ? { phoneRegions: section.phoneRegions } : {}),
      ...(person ? { person } : {}),
    });
  } catch {
    // The safety plugin reports a bad section itself; here the built-in recognizers still apply.
    detector = createDetector();
  }
  return (text) => {
    if (text.length === 0) return text;
    const findings = detector.detect(text);
    if (findings.length === 0) return text;
    let out = '';
    let at = 0;
    for (const finding of [...findings].sort((a, b) => a.start - b.start)) {
      if (finding.start < at) continue;
      out += `${text.slice(at, finding.start)}[${finding.type}]`;
      at = finding.end;
    }
    return out + text.slice(at);
  };
}

/** Whether the safety section turns PERSON on in either direction (names are opt-in). */
export function wantsPerson(safety: unknown): boolean {
  const entities = (safety as { entities?: Record<string, unknown> } | undefined)?.entities?.PERSON;
  if (entities === undefined || entities === 'off') return false;
  if (typeof entities === 'string') return true;
  const both = entities as { input?: unknown; output?: unknown };
  return (both.input !== undefined && both.input !== 'off') || (both.output !== undefined && both.output !== 'off');
}

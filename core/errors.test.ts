// IronError across copies of the package: a plugin importing `iron-cage` from elsewhere throws another copy's class.
import { describe, expect, it } from 'vitest';
import { IronError, LlmError, toIronError, IRON_BAD_REQUEST } from './errors.ts';

/** What another copy of errors.ts defines: its own class, the same brand. */
function otherCopysError(): Error & { code: string; status: number } {
  class IronErrorElsewhere extends Error {
    readonly code = IRON_BAD_REQUEST;
    readonly status = 403;
  }
  Object.defineProperty(IronErrorElsewhere.prototype, Symbol.for('iron-cage.IronError'), { value: true });
  return new IronErrorElsewhere('model gpt-4o is not on the allow-list');
}

describe('IronError', () => {
  it("passes another copy's IronError through as one (its code and status kept, not IRON_PLUGIN_FAILED)", () => {
    const foreign = otherCopysError();
    expect(foreign instanceof IronError).toBe(true);
    expect(toIronError(foreign)).toBe(foreign);
    expect(toIronError(foreign)).toMatchObject({ code: IRON_BAD_REQUEST, status: 403 });
  });
  it('keeps subclasses apart, and plain errors are wrapped', () => {
    expect(otherCopysError() instanceof LlmError).toBe(false);
    expect(new IronError(IRON_BAD_REQUEST, 'x') instanceof LlmError).toBe(false);
    expect(new LlmError(IRON_BAD_REQUEST, 'x') instanceof IronError).toBe(true);
    expect(toIronError(new Error('boom')).code).toBe('IRON_PLUGIN_FAILED');
    expect(Object.keys(new IronError(IRON_BAD_REQUEST, 'x'))).not.toContain(Symbol.for('iron-cage.IronError'));
    expect(JSON.stringify(new IronError(IRON_BAD_REQUEST, 'x'))).toBe('{"code":"IRON_BAD_REQUEST","message":"x"}');
  });
});

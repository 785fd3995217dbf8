import { describe, expect, it } from 'vitest';
import { assertSupportedNode } from './node-version.ts';

describe('the library refuses an old Node.js with a message (better-sqlite3 would crash it without one)', () => {
  it('refuses 20.x and 22.16, accepts 22.17 and 24', () => {
    expect(() => assertSupportedNode('20.19.5')).toThrow(/Iron Cage needs Node.js 22.17 or newer; this is Node.js 20.19.5/);
    expect(() => assertSupportedNode('22.16.0')).toThrow(/22.17 or newer/);
    expect(() => assertSupportedNode('22.17.0')).not.toThrow();
    expect(() => assertSupportedNode('24.21.0')).not.toThrow();
  });
});

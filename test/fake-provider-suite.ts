// The set-up every end-to-end test file on the fake provider repeats: the provider started once for the file and reset
// before each test, and the runtime a test cages its agent in, closed after it.
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import type { Runtime, RuntimeOptions } from '../core/index.ts';
import { startFakeProvider, type FakeProvider } from './fake-provider/index.ts';
import { runtimeFor } from './helpers.ts';

export interface FakeProviderSuite {
  /** The file's fake provider (started before its first test). */
  readonly fake: FakeProvider;
  /** A runtime on the fake provider (`runtimeFor`), closed after the test that made it. */
  cage(options?: RuntimeOptions): Runtime;
}

/** Registers the file's hooks; call it at the top of a test file. */
export function fakeProviderSuite(): FakeProviderSuite {
  let fake: FakeProvider | undefined;
  let runtime: Runtime | undefined;
  beforeAll(async () => {
    fake = await startFakeProvider();
  });
  afterAll(() => fake?.close());
  beforeEach(() => fake?.reset());
  afterEach(async () => {
    await runtime?.close();
    runtime = undefined;
  });
  return {
    get fake() {
      if (!fake) throw new Error('the fake provider starts in beforeAll: read `fake` inside a test');
      return fake;
    },
    cage(options = {}) {
      runtime = runtimeFor(this.fake, options);
      return runtime;
    },
  };
}

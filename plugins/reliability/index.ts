// `iron-cage/plugins/reliability`: retries, circuit breakers, timeouts, fallbacks and bulkheads around every
// provider call (cockatiel), with stream integrity: a broken stream is never a complete success.
import { definePlugin } from '../../core/plugin.ts';
import { ReliabilityOptionsSchema } from './options.ts';
import { ReliabilityGuard } from './plugin.ts';

export default definePlugin({
  name: 'reliability',
  options: ReliabilityOptionsSchema,
  apply(runtime, options) {
    new ReliabilityGuard(runtime, options, runtime.configFile).apply();
  },
});

export type { ReliabilityOptions } from './options.ts';
export type { CircuitOpened, CircuitClosed, CallRetried, FallbackTaken } from './events.ts';
export { isRetryable, isContextLength, isContentPolicy, retryAfterMs } from './classify.ts';

// `iron-cage/plugins/sync`: reports what agents do to an Iron Cage server, through a durable outbox.
// On in `iron run` when IRON_SERVER_URL is set (with IRON_TOKEN).
import { definePlugin } from '../../core/plugin.ts';
import { SyncOptionsSchema } from './options.ts';
import { SyncReporter } from './plugin.ts';

export default definePlugin({
  name: 'sync',
  options: SyncOptionsSchema,
  async apply(runtime, options) {
    await new SyncReporter(runtime, options).apply();
  },
});

export type { SyncOptions } from './options.ts';
export { REPORTED_EVENTS } from './plugin.ts';
export { Outbox } from './outbox.ts';

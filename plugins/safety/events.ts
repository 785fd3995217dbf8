// The event the safety plugin adds to the runtime's bus.
import type { PiiAction } from './options.ts';
import type { Direction } from './policy.ts';

/** Personal data or a secret was found in one call. Never carries the value: at most a keyed hash of it. */
export interface PiiAlert {
  type: 'PiiAlert';
  time: number;
  agentId: string;
  callId: string;
  direction: Direction;
  entityType: string;
  count: number;
  action: PiiAction;
  /** HMAC-SHA256 (key: safety.hashKey or a per-runtime random key) of each distinct value, 16 hex digits. */
  valueHashes: string[];
}

declare module '../../core/events.ts' {
  interface IronPluginEvents {
    PiiAlert: PiiAlert;
  }
}

// The events the reliability plugin adds to the runtime's bus.

export interface CircuitOpened {
  type: 'CircuitOpened';
  time: number;
  provider: string;
  model: string;
  /** Calls fail fast (or go to a fallback) until this long has passed; then one probe call is let through. */
  cooldownMs: number;
  reason: string;
}

export interface CircuitClosed {
  type: 'CircuitClosed';
  time: number;
  provider: string;
  model: string;
}

export interface CallRetried {
  type: 'CallRetried';
  time: number;
  agentId: string;
  callId: string;
  provider: string;
  model: string;
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface FallbackTaken {
  type: 'FallbackTaken';
  time: number;
  agentId: string;
  callId: string;
  from: string;
  to: string;
  reason: string;
}

/** A stream that broke after content reached the agent goes on from another attempt. */
export interface StreamRecovered {
  type: 'StreamRecovered';
  time: number;
  agentId: string;
  callId: string;
  /** The provider/model that continues it. */
  provider: string;
  model: string;
  strategy: 'continuation' | 'replay';
  /** Characters of answer the agent had received. */
  deliveredChars: number;
  reason: string;
}

declare module '../../core/events.ts' {
  interface IronPluginEvents {
    CircuitOpened: CircuitOpened;
    CircuitClosed: CircuitClosed;
    CallRetried: CallRetried;
    FallbackTaken: FallbackTaken;
    StreamRecovered: StreamRecovered;
  }
}

// autocannon ships no types: the part of its API the benchmarks use.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    /** Requests in turn; `setupRequest` may rewrite each one before it is sent. */
    requests?: Array<{ setupRequest?: (request: { body?: string }) => { body?: string } }>;
    connections?: number;
    pipelining?: number;
    /** Seconds. */
    duration?: number;
    amount?: number;
    /** Milliseconds between its samples: a run ends at the first sample after `duration`. */
    sampleInt?: number;
    /** Seconds without an answer before a request counts as a timeout. */
    timeout?: number;
    /** Called with every client (one per connection) before it connects. */
    setupClient?: (client: EventEmitter) => void;
  }

  interface Result {
    errors: number;
    timeouts: number;
    non2xx: number;
    requests: { total: number };
  }

  interface Instance extends EventEmitter, PromiseLike<Result> {
    stop(): void;
  }

  function autocannon(options: Options): Instance;
  export default autocannon;
}

// Waiting for an HTTP response that asked its writer to wait (backpressure), shared by the gateway's writers.
import type { ServerResponse } from 'node:http';

/**
 * Resolves when `res` can take more, or is gone. (Both listeners go once either fires: a long stream waits for drain
 * many times, and left-over `close` listeners piled up to Node's leak warning — an outside review saw it on every 1 MB
 * answer.)
 */
export function whenWritable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

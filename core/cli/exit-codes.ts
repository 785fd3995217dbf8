// The exit codes of the `iron` command, documented in the README; one place so every command uses the same ones.
import { IronError } from '../errors.ts';

export const EXIT_OK = 0;
/** `iron scan --exit-code`: something was found. Never used for a failure. */
export const EXIT_FOUND = 1;
/** The cage itself stopped the agent (budget, a plugin's decision, `stopAgent`). */
export const EXIT_CAGE_STOPPED = 86;
/** sysexits' EX_SOFTWARE: an internal error (a bug: please report it with the stack printed above). */
export const EXIT_INTERNAL = 70;
/** sysexits' EX_CONFIG: a configuration, usage or start-up problem; the message says what to fix. */
export const EXIT_CONFIG = 78;
/** Stopped by Ctrl-C (128 + SIGINT) or SIGTERM (128 + 15), as shells report it. */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** Prints an error the way the CLI reports it and returns the exit code: one line for known errors, a stack for bugs. */
export function reportError(error: unknown, write: (text: string) => void): number {
  if (error instanceof IronError) {
    write(`iron: ${error.code}: ${error.message}\n`);
    return EXIT_CONFIG;
  }
  write(`iron: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT_INTERNAL;
}

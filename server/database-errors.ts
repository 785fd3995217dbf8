// Whether an error means "the database is away or cannot take this now" (an outage, a restart, a full pool, a busy
// or full disk) rather than a bug: such requests are answered 503 with Retry-After, which runtimes and load
// balancers retry, instead of a 500 that reads as a broken server.

/** Node socket errors, SQLite result codes and PostgreSQL SQLSTATEs that mean the database cannot answer now. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
  '57P01', '57P02', '57P03', // admin shutdown, crash shutdown, cannot connect now
  '53000', '53100', '53200', '53300', // insufficient resources: disk full, out of memory, too many connections
]);
const UNAVAILABLE_MESSAGES = /Connection terminated|Connection ended unexpectedly|Timeout acquiring a connection|Client has encountered a connection error|terminating connection|the database system is (?:starting up|shutting down|in recovery mode)|database is locked|disk is full/i;

/** A short reason when `error` (or one of its causes) says the database cannot answer now; undefined otherwise. */
export function databaseUnavailable(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let current = error; current instanceof Error && !seen.has(current); current = (current as Error & { cause?: unknown }).cause) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || (code.startsWith('08') && code.length === 5))) return code.startsWith('SQLITE_FULL') || code === '53100' ? 'its disk is full' : code;
    if (current.name === 'ConnectionException') return 'no connection';
    const match = UNAVAILABLE_MESSAGES.exec(current.message);
    if (match) return match[0];
  }
  return undefined;
}

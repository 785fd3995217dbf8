// Every error Iron Cage throws: one base class, stable codes, and the HTTP status each maps to.

export const IRON_BAD_REQUEST = 'IRON_BAD_REQUEST';
export const IRON_PAYLOAD_TOO_LARGE = 'IRON_PAYLOAD_TOO_LARGE';
export const IRON_UNAUTHORIZED = 'IRON_UNAUTHORIZED';
export const IRON_NOT_FOUND = 'IRON_NOT_FOUND';
export const IRON_BUDGET_EXCEEDED = 'IRON_BUDGET_EXCEEDED';
/** A server budget applies but cannot be checked (the server has not answered): the call waits for it. */
export const IRON_BUDGET_UNAVAILABLE = 'IRON_BUDGET_UNAVAILABLE';
export const IRON_PII_BLOCKED = 'IRON_PII_BLOCKED';
export const IRON_CIRCUIT_OPEN = 'IRON_CIRCUIT_OPEN';
export const IRON_PROVIDER_BUSY = 'IRON_PROVIDER_BUSY';
export const IRON_UNKNOWN_MODEL = 'IRON_UNKNOWN_MODEL';
export const IRON_CONFIG_INVALID = 'IRON_CONFIG_INVALID';
export const IRON_PLUGIN_UNKNOWN = 'IRON_PLUGIN_UNKNOWN';
export const IRON_PLUGIN_INVALID = 'IRON_PLUGIN_INVALID';
export const IRON_PLUGIN_FAILED = 'IRON_PLUGIN_FAILED';
export const IRON_AGENT_NOT_FOUND = 'IRON_AGENT_NOT_FOUND';
export const IRON_AGENT_STOPPED = 'IRON_AGENT_STOPPED';
export const IRON_AGENT_START_FAILED = 'IRON_AGENT_START_FAILED';
export const IRON_AGENT_FAILED = 'IRON_AGENT_FAILED';
export const IRON_PROVIDER_UNSUPPORTED = 'IRON_PROVIDER_UNSUPPORTED';
export const IRON_UPSTREAM_ERROR = 'IRON_UPSTREAM_ERROR';
export const IRON_UPSTREAM_UNREACHABLE = 'IRON_UPSTREAM_UNREACHABLE';
export const IRON_UPSTREAM_INVALID = 'IRON_UPSTREAM_INVALID';
/** The provider answered, then its answer broke off (a body cut after its status). */
export const IRON_UPSTREAM_BROKEN = 'IRON_UPSTREAM_BROKEN';
export const IRON_STREAM_INTERRUPTED = 'IRON_STREAM_INTERRUPTED';
export const IRON_TIMEOUT = 'IRON_TIMEOUT';
export const IRON_RUNTIME_CLOSED = 'IRON_RUNTIME_CLOSED';
/** Reported by the next run: the runtime was killed while the call was in flight. */
export const IRON_RUNTIME_KILLED = 'IRON_RUNTIME_KILLED';
export const IRON_SERVER_START_FAILED = 'IRON_SERVER_START_FAILED';

export type IronErrorCode =
  | typeof IRON_BAD_REQUEST
  | typeof IRON_PAYLOAD_TOO_LARGE
  | typeof IRON_UNAUTHORIZED
  | typeof IRON_NOT_FOUND
  | typeof IRON_BUDGET_EXCEEDED
  | typeof IRON_BUDGET_UNAVAILABLE
  | typeof IRON_PII_BLOCKED
  | typeof IRON_CIRCUIT_OPEN
  | typeof IRON_PROVIDER_BUSY
  | typeof IRON_UNKNOWN_MODEL
  | typeof IRON_CONFIG_INVALID
  | typeof IRON_PLUGIN_UNKNOWN
  | typeof IRON_PLUGIN_INVALID
  | typeof IRON_PLUGIN_FAILED
  | typeof IRON_AGENT_NOT_FOUND
  | typeof IRON_AGENT_STOPPED
  | typeof IRON_AGENT_START_FAILED
  | typeof IRON_AGENT_FAILED
  | typeof IRON_PROVIDER_UNSUPPORTED
  | typeof IRON_UPSTREAM_ERROR
  | typeof IRON_UPSTREAM_UNREACHABLE
  | typeof IRON_UPSTREAM_INVALID
  | typeof IRON_UPSTREAM_BROKEN
  | typeof IRON_STREAM_INTERRUPTED
  | typeof IRON_TIMEOUT
  | typeof IRON_RUNTIME_CLOSED
  | typeof IRON_RUNTIME_KILLED
  | typeof IRON_SERVER_START_FAILED;

/** HTTP status for each code: the one place the mapping lives. */
const HTTP_STATUS: Record<IronErrorCode, number> = {
  IRON_BAD_REQUEST: 400,
  IRON_PAYLOAD_TOO_LARGE: 413,
  IRON_UNAUTHORIZED: 401,
  IRON_NOT_FOUND: 404,
  IRON_BUDGET_EXCEEDED: 402,
  IRON_BUDGET_UNAVAILABLE: 503,
  IRON_PII_BLOCKED: 400,
  IRON_CIRCUIT_OPEN: 503,
  IRON_PROVIDER_BUSY: 503,
  IRON_UNKNOWN_MODEL: 400,
  IRON_CONFIG_INVALID: 500,
  IRON_PLUGIN_UNKNOWN: 500,
  IRON_PLUGIN_INVALID: 500,
  IRON_PLUGIN_FAILED: 500,
  IRON_AGENT_NOT_FOUND: 404,
  IRON_AGENT_STOPPED: 409,
  IRON_AGENT_START_FAILED: 500,
  IRON_AGENT_FAILED: 500,
  IRON_PROVIDER_UNSUPPORTED: 400,
  IRON_UPSTREAM_ERROR: 502,
  IRON_UPSTREAM_UNREACHABLE: 502,
  IRON_UPSTREAM_INVALID: 502,
  IRON_UPSTREAM_BROKEN: 502,
  IRON_STREAM_INTERRUPTED: 502,
  IRON_TIMEOUT: 504,
  IRON_RUNTIME_CLOSED: 503,
  IRON_RUNTIME_KILLED: 500,
  IRON_SERVER_START_FAILED: 500,
};

export interface IronErrorOptions {
  cause?: unknown;
  /** Structured facts for programs (never a secret or a raw PII value). */
  details?: Record<string, unknown>;
  /** Overrides the status the code maps to (an upstream's own status, say). */
  status?: number;
}

/** The base of every error Iron Cage throws. `message` tells the user what to do. */
/**
 * Marks IronErrors of every copy of this package: a plugin that imports `iron-cage` from its own folder (or the
 * sources, while the CLI runs the build) throws another copy's IronError, which must still pass as one — else its
 * 403 became a 500 IRON_PLUGIN_FAILED.
 */
const IRON_ERROR_BRAND = Symbol.for('iron-cage.IronError');

export class IronError extends Error {
  readonly code: IronErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    return this === IronError && typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[IRON_ERROR_BRAND] === true;
  }

  constructor(code: IronErrorCode, message: string, options: IronErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IronError';
    this.code = code;
    this.status = options.status ?? HTTP_STATUS[code];
    if (options.details) this.details = options.details;
  }

  toJSON(): { code: string; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

Object.defineProperty(IronError.prototype, IRON_ERROR_BRAND, { value: true });

/**
 * A failed LLM call: the provider answered with an error, answered garbage, or could not be reached.
 * `upstreamStatus`/`upstreamBody` keep the provider's own answer so a gateway can pass it on unchanged.
 */
export class LlmError extends IronError {
  readonly upstreamStatus?: number;
  readonly upstreamBody?: string;
  readonly upstreamHeaders?: Record<string, string>;

  constructor(
    code: IronErrorCode,
    message: string,
    options: IronErrorOptions & { upstreamStatus?: number; upstreamBody?: string; upstreamHeaders?: Record<string, string> } = {},
  ) {
    super(code, message, { ...options, status: options.status ?? options.upstreamStatus });
    this.name = 'LlmError';
    if (options.upstreamStatus !== undefined) this.upstreamStatus = options.upstreamStatus;
    if (options.upstreamBody !== undefined) this.upstreamBody = options.upstreamBody;
    if (options.upstreamHeaders !== undefined) this.upstreamHeaders = options.upstreamHeaders;
  }
}

/** Config problems: always name the file and the key path. */
export class ConfigError extends IronError {
  readonly file?: string;
  readonly path?: string;
  constructor(message: string, options: IronErrorOptions & { file?: string; path?: string } = {}) {
    super(IRON_CONFIG_INVALID, message, options);
    this.name = 'ConfigError';
    if (options.file !== undefined) this.file = options.file;
    if (options.path !== undefined) this.path = options.path;
  }
}

export function isIronError(value: unknown): value is IronError {
  return value instanceof IronError;
}

/** Wraps anything thrown into an IronError, keeping the original as `cause`. */
export function toIronError(value: unknown, fallback: IronErrorCode = IRON_PLUGIN_FAILED): IronError {
  if (value instanceof IronError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new IronError(fallback, message, { cause: value });
}

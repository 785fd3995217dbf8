// One error shape for every route: { "error": { "code", "message", "details"? } }, with stable codes.
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly details?: Record<string, unknown>;
  constructor(statusCode: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    if (details) this.details = details;
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) => new HttpError(400, 'IRON_BAD_REQUEST', message, details);
export const unauthorized = (message = 'authentication required: send Authorization: Bearer <access token or API token>') => new HttpError(401, 'IRON_UNAUTHORIZED', message);
export const forbidden = (message: string) => new HttpError(403, 'IRON_FORBIDDEN', message);
export const notFound = (what: string) => new HttpError(404, 'IRON_NOT_FOUND', `${what} not found`);
export const conflict = (message: string) => new HttpError(409, 'IRON_CONFLICT', message);

/** The JSON Schema of the error body, for route `response` schemas and the OpenAPI document. */
export const ErrorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

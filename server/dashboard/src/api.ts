// Every call to the server: JSON in and out, the access token from memory, one refresh-and-retry on a 401, and the
// API's error body turned into an ApiError the page can show (its `path` points at the form field to fix).
import { session } from './session.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** e.g. 'body/amountUsd' for a validation error. */
  readonly path: string | undefined;
  constructor(status: number, code: string, message: string, path?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.path = path;
  }
  /** The form field a validation error names ('amountUsd' for 'body/amountUsd'). */
  get field(): string | undefined {
    return this.path?.split('/')[1];
  }
}

type Query = Record<string, string | number | boolean | undefined | null | string[]>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
}

async function send(path: string, options: RequestOptions, token: string | null): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  try {
    return await fetch(withQuery(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      credentials: 'same-origin',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'IRON_UNREACHABLE', 'the server cannot be reached: is `iron server` running?');
  }
}

export async function errorOf(response: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: { path?: string } } } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, say
  }
  const error = body.error ?? {};
  return new ApiError(response.status, error.code ?? `HTTP_${response.status}`, error.message ?? `the server answered ${response.status}`, error.details?.path);
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  let response = await send(path, options, session.accessToken());
  if (response.status === 401 && session.accessToken()) {
    // Expired (or revoked) access token: one refresh, then the same request again.
    if (await session.refresh()) response = await send(path, options, session.accessToken());
  }
  if (response.status === 401) session.expired();
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

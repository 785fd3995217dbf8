// What a request can be billed beyond its tokens at base prices, so that a reservation covers it: cache writes
// (`cache_control`, up to twice the input price for an hour's) and server-side web searches (a fee per search).
import type { Logger } from 'pino';
import type { JsonObject, LlmRequest } from '../../core/llm/types.ts';
import type { ReservationExtras } from './prices.ts';

/** The searches a web search tool without `max_uses` is allowed once a budget has to bound it. */
export const DEFAULT_WEB_SEARCH_USES = 10;

let warnedUnbounded = false;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a `cache_control` key sits anywhere in `value`: walked, stopping at the first (no copy of the prompt made). */
function hasCacheControl(value: unknown, depth = 0): boolean {
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => hasCacheControl(item, depth + 1));
  for (const key in value) {
    if (key === 'cache_control') return true;
    if (hasCacheControl((value as JsonObject)[key], depth + 1)) return true;
  }
  return false;
}

/** Anthropic's server tool (`{ type: "web_search_20250305", name: "web_search", max_uses }`). */
function isWebSearchTool(tool: unknown): tool is JsonObject {
  return isObject(tool) && typeof tool.type === 'string' && tool.type.startsWith('web_search');
}

/**
 * The request's billable extras: cache writes (any `cache_control`) and web searches. A web search tool without `max_uses` could search without end and no budget could
 * bound it: it gets `max_uses: 10` (said once in the log), and the reservation covers that many searches.
 */
export function reservationExtras(request: LlmRequest, logger: Logger): { request: LlmRequest; extras: ReservationExtras } {
  if (request.format !== 'anthropic-messages') return { request, extras: { cacheWrites: false, webSearches: 0 } };
  const cacheWrites = hasCacheControl(request.messages) || hasCacheControl(request.extra);
  const tools = request.extra.tools;
  if (!Array.isArray(tools) || !tools.some(isWebSearchTool)) return { request, extras: { cacheWrites, webSearches: 0 } };
  let webSearches = 0;
  let changed = false;
  const bounded = tools.map((tool) => {
    if (!isWebSearchTool(tool)) return tool;
    const uses = tool.max_uses;
    if (typeof uses === 'number' && Number.isInteger(uses) && uses >= 0) {
      webSearches += uses;
      return tool;
    }
    changed = true;
    webSearches += DEFAULT_WEB_SEARCH_USES;
    return { ...tool, max_uses: DEFAULT_WEB_SEARCH_USES };
  });
  if (changed && !warnedUnbounded) {
    warnedUnbounded = true;
    logger.warn(`a web search tool without max_uses could search without end, and each search is billed: Iron Cage set max_uses: ${DEFAULT_WEB_SEARCH_USES} so the budget bounds the call (set max_uses on the tool to choose)`);
  }
  return { request: changed ? { ...request, extra: { ...request.extra, tools: bounded } } : request, extras: { cacheWrites, webSearches } };
}

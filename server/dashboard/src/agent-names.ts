// Agents are named by their name, never by a bare id: names the pages already know (from the API's answers and live
// AgentStarted events) are kept here, and the few unknown ones are asked for once each.
import { useEffect } from 'preact/hooks';
import { api } from './api.ts';
import { createStore, useStore } from './store.ts';

const names = createStore<Record<string, string>>({});
const asked = new Set<string>();
/** At most this many lookups per render: a page of 500 live alerts must not send 500 requests. */
const MAX_LOOKUPS = 25;

/** Records names a page learned on its way (an alert's agentName, an AgentStarted event). */
export function rememberAgentNames(known: Record<string, string | null | undefined>): void {
  const current = names.get();
  const fresh = Object.entries(known).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1] !== '' && current[entry[0]] !== entry[1]);
  if (fresh.length) names.set({ ...current, ...Object.fromEntries(fresh) });
}

/** Names of these agents, as far as known; unknown ones are looked up (GET /api/agents/:id) and fill in when they arrive. */
export function useAgentNames(ids: Array<string | null | undefined>): Record<string, string> {
  const known = useStore(names);
  const key = [...new Set(ids.filter((id): id is string => Boolean(id)))].sort().join(',');
  useEffect(() => {
    const missing = key ? key.split(',').filter((id) => !(id in names.get()) && !asked.has(id)) : [];
    for (const id of missing.slice(0, MAX_LOOKUPS)) {
      asked.add(id);
      api<{ name: string }>(`/api/agents/${encodeURIComponent(id)}`).then(
        (agent) => rememberAgentNames({ [id]: agent.name }),
        // Deleted with its project, or not visible: the id stays the label.
        () => undefined,
      );
    }
  }, [key]);
  return known;
}

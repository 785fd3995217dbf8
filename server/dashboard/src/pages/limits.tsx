// Limits: budgets and rate limits per project, agent, provider or model. Create, edit, delete; the API's validation
// message is shown next to the field it names.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatInt, formatUsd, NONE } from '../format.ts';
import { projectName, projects, projectsLoaded, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { Limit, LimitScope, Period } from '../types.ts';
import { ErrorBox, Field, fieldError, FormActions, formError, Loaded, PageHeader, ProjectOptions, RowActions, SpendBar, TableWrap, NeedsProject } from '../ui.tsx';

interface Draft {
  id?: string;
  projectId: string;
  scope: LimitScope;
  target: string;
  kind: 'budget' | 'rate';
  amountUsd: string;
  period: Period;
  requestsPerMinute: string;
}

const TARGET_HINT: Record<LimitScope, string> = {
  project: 'the whole project: leave empty',
  agent: 'an agent id (UUID)',
  provider: 'a provider name, e.g. openai',
  model: 'a model name or glob, e.g. gpt-4o*',
};

export function LimitsPage() {
  const projectId = useStore(selectedProject) || undefined;
  const projectList = useStore(projects);
  const noProject = useStore(projectsLoaded) && projectList.length === 0;
  const session = useStore(sessionState);
  const isAdmin = session.status === 'signedIn' && session.user.role === 'admin';
  const resource = useResource((signal) => api<{ limits: Limit[] }>('/api/limits', { query: { projectId }, signal }), [projectId]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [saveError, setSaveError] = useState<Error>();
  const [listError, setListError] = useState<Error>();
  const [saving, setSaving] = useState(false);

  const startNew = () => {
    setSaveError(undefined);
    setDraft({ projectId: projectId ?? projectList[0]?.id ?? '', scope: 'project', target: '', kind: 'budget', amountUsd: '', period: 'month', requestsPerMinute: '' });
  };
  const startEdit = (limit: Limit) => {
    setSaveError(undefined);
    setDraft({
      id: limit.id,
      projectId: limit.projectId,
      scope: limit.scope,
      target: limit.target,
      kind: limit.kind,
      amountUsd: limit.amountUsd == null ? '' : String(limit.amountUsd),
      period: limit.period ?? 'month',
      requestsPerMinute: limit.requestsPerMinute == null ? '' : String(limit.requestsPerMinute),
    });
  };

  const save = async (event: Event) => {
    event.preventDefault();
    if (!draft) return;
    // Sent as typed; the server checks the rules (and says which field is wrong).
    const body: Record<string, unknown> = { projectId: draft.projectId, scope: draft.scope, target: draft.target.trim(), kind: draft.kind };
    if (draft.kind === 'budget') {
      if (draft.amountUsd !== '') body.amountUsd = Number(draft.amountUsd);
      body.period = draft.period;
    } else if (draft.requestsPerMinute !== '') body.requestsPerMinute = Number(draft.requestsPerMinute);
    setSaving(true);
    setSaveError(undefined);
    try {
      if (draft.id) await api(`/api/limits/${draft.id}`, { method: 'PUT', body });
      else await api('/api/limits', { method: 'POST', body });
      setDraft(null);
      resource.reload();
    } catch (error) {
      setSaveError(error as Error);
    } finally {
      setSaving(false);
    }
  };

  const remove = async (limit: Limit) => {
    if (!confirm(`Delete the ${limit.kind} on ${limit.scope}${limit.target ? ` ${limit.target}` : ''}?`)) return;
    setListError(undefined);
    try {
      await api(`/api/limits/${limit.id}`, { method: 'DELETE' });
      resource.reload();
    } catch (error) {
      setListError(error as Error);
    }
  };

  const update = (patch: Partial<Draft>) => setDraft((current) => (current ? { ...current, ...patch } : current));

  return (
    <section>
      <PageHeader title="Limits">
        {projectList.length > 0 ? (
          <button type="button" class="primary" onClick={startNew}>
            New limit
          </button>
        ) : null}
      </PageHeader>
      {noProject ? <NeedsProject what="Limits" isAdmin={isAdmin} /> : null}
      {draft ? (
        <form class="card form" onSubmit={save} aria-label={draft.id ? 'Edit limit' : 'New limit'} data-testid="limit-form">
          <h2>{draft.id ? 'Edit limit' : 'New limit'}</h2>
          <ErrorBox error={formError(saveError, ['projectId', 'scope', 'target', 'kind', 'amountUsd', 'period', 'requestsPerMinute'])} />
          <div class="form-grid">
            <Field label="Project" error={fieldError(saveError, 'projectId')}>
              <select value={draft.projectId} onChange={(e) => update({ projectId: (e.target as HTMLSelectElement).value })}>
                <ProjectOptions projects={projectList} />
              </select>
            </Field>
            <Field label="Applies to" error={fieldError(saveError, 'scope')}>
              <select name="scope" value={draft.scope} onChange={(e) => update({ scope: (e.target as HTMLSelectElement).value as LimitScope })}>
                <option value="project">the project</option>
                <option value="agent">an agent</option>
                <option value="provider">a provider</option>
                <option value="model">a model</option>
              </select>
            </Field>
            <Field label="Target" error={fieldError(saveError, 'target')} hint={TARGET_HINT[draft.scope]}>
              <input name="target" value={draft.target} onInput={(e) => update({ target: (e.target as HTMLInputElement).value })} />
            </Field>
            <Field label="Kind" error={fieldError(saveError, 'kind')}>
              <select name="kind" value={draft.kind} onChange={(e) => update({ kind: (e.target as HTMLSelectElement).value as 'budget' | 'rate' })}>
                <option value="budget">budget (USD)</option>
                <option value="rate">rate (requests per minute)</option>
              </select>
            </Field>
            {draft.kind === 'budget' ? (
              <>
                <Field label="Amount (USD)" error={fieldError(saveError, 'amountUsd')}>
                  <input name="amountUsd" inputMode="decimal" value={draft.amountUsd} onInput={(e) => update({ amountUsd: (e.target as HTMLInputElement).value })} />
                </Field>
                <Field label="Period" error={fieldError(saveError, 'period')}>
                  <select name="period" value={draft.period} onChange={(e) => update({ period: (e.target as HTMLSelectElement).value as Period })}>
                    <option value="hour">hour</option>
                    <option value="day">day</option>
                    <option value="month">month</option>
                    <option value="total">total</option>
                  </select>
                </Field>
              </>
            ) : (
              <Field label="Requests per minute" error={fieldError(saveError, 'requestsPerMinute')}>
                <input name="requestsPerMinute" inputMode="numeric" value={draft.requestsPerMinute} onInput={(e) => update({ requestsPerMinute: (e.target as HTMLInputElement).value })} />
              </Field>
            )}
          </div>
          <FormActions submitLabel="Save" busy={saving} onCancel={() => setDraft(null)} />
        </form>
      ) : null}
      <ErrorBox error={listError} />
      {noProject ? null : (
        <Loaded resource={resource} isEmpty={(data) => data.limits.length === 0} empty="No limits. Budgets set here reach runtimes with the sync plugin within a poll.">
          {(data) => (
            <TableWrap label="Limits">
              <table data-testid="limits-table">
                <thead>
                  <tr>
                    <th scope="col">Project</th>
                    <th scope="col">Applies to</th>
                    <th scope="col">Limit</th>
                    <th scope="col">Spent</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.limits.map((limit) => (
                    <tr key={limit.id}>
                      <td>{projectName(limit.projectId)}</td>
                      <td>
                        {limit.scope}
                        {limit.target ? <code class="small"> {limit.target}</code> : null}
                      </td>
                      <td>
                        {limit.kind === 'budget' ? `${formatUsd(limit.amountUsd ?? 0)} ${limit.period === 'total' ? 'in total' : `per ${limit.period}`}` : `${formatInt(limit.requestsPerMinute ?? 0)} requests/min`}
                        {limit.enforced === false ? <div class="muted" title="Runtimes enforce project and agent budgets; this limit is recorded and shown, and stops no call yet.">not enforced by runtimes yet</div> : null}
                      </td>
                      <td>{limit.kind === 'budget' ? <SpendBar spentUsd={limit.spentUsd ?? 0} limitUsd={limit.amountUsd} /> : NONE}</td>
                      <RowActions onEdit={() => startEdit(limit)} onDelete={() => void remove(limit)} />
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Loaded>
      )}
    </section>
  );
}

// API tokens: create (the token is shown once, with a copy button), list, revoke. Viewers may not manage tokens,
// and the API says so; the page shows that message.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatAgo, formatTime } from '../format.ts';
import { projectName, projects, projectsLoaded, selectedProject } from '../projects.ts';
import { useResource } from '../resource.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { ApiTokenInfo } from '../types.ts';
import { ErrorBox, Field, fieldError, FormActions, formError, Loaded, PageHeader, ProjectOptions, TableWrap, NeedsProject } from '../ui.tsx';

interface Created {
  id: string;
  name: string;
  token: string;
}

export function TokensPage() {
  const projectId = useStore(selectedProject) || undefined;
  const projectList = useStore(projects);
  const noProject = useStore(projectsLoaded) && projectList.length === 0;
  const session = useStore(sessionState);
  const isAdmin = session.status === 'signedIn' && session.user.role === 'admin';
  // Viewers only look: the API refuses them tokens (and says so in the list's place), so there is no button to press.
  const canManage = session.status === 'signedIn' && session.user.role !== 'viewer';
  const resource = useResource((signal) => api<{ tokens: ApiTokenInfo[] }>('/api/tokens', { query: { projectId }, signal }), [projectId]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Created | null>(null);
  const [copied, setCopied] = useState<'token' | 'env' | null>(null);
  const [error, setError] = useState<Error>();
  const [listError, setListError] = useState<Error>();

  const create = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const expires = String(form.get('expiresAt') ?? '');
    setError(undefined);
    try {
      const body = await api<Created>('/api/tokens', {
        method: 'POST',
        body: {
          name: String(form.get('name') ?? '').trim(),
          projectId: String(form.get('projectId')),
          // A date means "valid through that day" in the person's zone.
          ...(expires ? { expiresAt: new Date(`${expires}T23:59:59`).toISOString() } : {}),
        },
      });
      setCreated(body);
      setCopied(null);
      setCreating(false);
      resource.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  };

  const env = created ? `IRON_SERVER_URL=${window.location.origin}\nIRON_TOKEN=${created.token}` : '';
  const copy = async (what: 'token' | 'env') => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(what === 'token' ? created.token : `${env}\n`);
      setCopied(what);
    } catch {
      // Clipboard refused (permissions, insecure origin): the token and the snippet stay selectable.
      setCopied(null);
    }
  };

  const revoke = async (token: ApiTokenInfo) => {
    if (!confirm(`Revoke the token "${token.name}"? Runtimes using it stop reporting at their next request.`)) return;
    setListError(undefined);
    try {
      await api(`/api/tokens/${token.id}`, { method: 'DELETE' });
      resource.reload();
    } catch (caught) {
      setListError(caught as Error);
    }
  };

  return (
    <section>
      <PageHeader title="API tokens">
        {projectList.length > 0 && canManage ? (
          <button type="button" class="primary" onClick={() => (setCreating(true), setCreated(null), setError(undefined))}>
            New token
          </button>
        ) : null}
      </PageHeader>
      {noProject ? <NeedsProject what="API tokens" isAdmin={isAdmin} /> : null}
      {created ? (
        <div class="card reveal" role="status" data-testid="token-created">
          <h2>Token "{created.name}" created</h2>
          <p>Copy it now: it is shown only once. A runtime reports to this server with it when these two variables are set where it runs:</p>
          <div class="snippet-row">
            <pre class="snippet" data-testid="token-env">{env}</pre>
            <button type="button" onClick={() => void copy('env')}>
              {copied === 'env' ? 'Copied' : 'Copy variables'}
            </button>
          </div>
          <p class="muted">
            Then <code>npx iron run agent.py</code> (or a Runtime in your code) reports every call here, and the project's limits apply to it.
          </p>
          <div class="copy-row">
            <input readOnly value={created.token} aria-label="New API token" data-testid="new-token" onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <button type="button" onClick={() => void copy('token')}>
              {copied === 'token' ? 'Copied' : 'Copy'}
            </button>
          </div>
          <button type="button" class="link" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      ) : null}
      {creating ? (
        <form class="card form" onSubmit={create} aria-label="New API token">
          <h2>New API token</h2>
          <ErrorBox error={formError(error, ['name', 'projectId', 'expiresAt'])} />
          <div class="form-grid">
            <Field label="Name" error={fieldError(error, 'name')} hint="where it is used, e.g. ci-agents">
              <input name="name" required maxLength={200} />
            </Field>
            <Field label="Project" error={fieldError(error, 'projectId')}>
              <select name="projectId" defaultValue={projectId ?? projectList[0]?.id}>
                <ProjectOptions projects={projectList} />
              </select>
            </Field>
            <Field label="Expires" error={fieldError(error, 'expiresAt')} hint="optional; end of that day">
              <input name="expiresAt" type="date" />
            </Field>
          </div>
          <FormActions submitLabel="Create" onCancel={() => setCreating(false)} />
        </form>
      ) : null}
      <ErrorBox error={listError} />
      {noProject ? null : (
        <Loaded resource={resource} isEmpty={(data) => data.tokens.length === 0} empty="No API tokens. Create one for each place runtimes report from.">
          {(data) => (
            <TableWrap label="API tokens">
              <table data-testid="tokens-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Project</th>
                    <th scope="col">Token</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Expires</th>
                    <th scope="col">State</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.tokens.map((token) => {
                    const expired = token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now();
                    return (
                      <tr key={token.id} data-token-name={token.name}>
                        <td>{token.name}</td>
                        <td>{projectName(token.projectId)}</td>
                        <td>
                          <code>{token.prefix}…</code>
                        </td>
                        <td>{token.lastUsedAt ? formatAgo(token.lastUsedAt) : 'never'}</td>
                        <td>{token.expiresAt ? formatTime(token.expiresAt) : 'never'}</td>
                        <td>{token.revokedAt ? <span class="badge badge-failed">revoked</span> : expired ? <span class="badge badge-stopped">expired</span> : <span class="badge badge-ok">active</span>}</td>
                        <td class="actions">
                          {token.revokedAt ? null : (
                            <button type="button" class="danger" onClick={() => void revoke(token)}>
                              Revoke
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Loaded>
      )}
    </section>
  );
}

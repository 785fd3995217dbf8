// Projects: a project groups a team's agents, API tokens, limits and webhooks. Everyone sees theirs; admins create,
// rename and delete projects and choose their members (from the users list, which only admins read).
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatTime } from '../format.ts';
import { loadProjects, projects } from '../projects.ts';
import { useResource } from '../resource.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { Project, User } from '../types.ts';
import { Empty, ErrorBox, Field, fieldError, FormActions, formError, PageHeader, TableWrap } from '../ui.tsx';

export function ProjectsPage() {
  const state = useStore(sessionState);
  const isAdmin = state.status === 'signedIn' && state.user.role === 'admin';
  const projectList = useStore(projects);
  const users = useResource((signal) => (isAdmin ? api<{ users: User[] }>('/api/users', { signal }) : Promise.resolve({ users: [] as User[] })), [isAdmin]);
  const [editing, setEditing] = useState<Project | 'new' | null>(null);
  const [members, setMembers] = useState<Project | null>(null);
  const [error, setError] = useState<Error>();
  const [listError, setListError] = useState<Error>();

  const save = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const body = { name: String(form.get('name') ?? '').trim(), storePrompts: form.get('storePrompts') === 'on' };
    setError(undefined);
    try {
      if (editing === 'new') await api('/api/projects', { method: 'POST', body });
      else if (editing) await api(`/api/projects/${editing.id}`, { method: 'PATCH', body });
      setEditing(null);
      await loadProjects();
    } catch (caught) {
      setError(caught as Error);
    }
  };

  const remove = async (project: Project) => {
    if (!confirm(`Delete the project "${project.name}"? Its agents, calls, events, API tokens, limits and webhooks are deleted with it, and its runtimes stop reporting.`)) return;
    setListError(undefined);
    try {
      await api(`/api/projects/${project.id}`, { method: 'DELETE' });
      if (members?.id === project.id) setMembers(null);
      await loadProjects();
    } catch (caught) {
      setListError(caught as Error);
    }
  };

  const membersOf = (project: Project) => (users.data?.users ?? []).filter((user) => user.role !== 'admin' && user.projectIds.includes(project.id));
  const current = editing && editing !== 'new' ? editing : undefined;
  return (
    <section>
      <PageHeader title="Projects">
        {isAdmin ? (
          <button type="button" class="primary" onClick={() => (setEditing('new'), setError(undefined))}>
            New project
          </button>
        ) : null}
      </PageHeader>
      <p class="muted">
        A project groups the agents, API tokens, limits and webhooks of a team or an application. Runtimes report to the project of their API token.
      </p>
      {editing ? (
        <form class="card form" onSubmit={save} aria-label={current ? `Rename ${current.name}` : 'New project'} key={current?.id ?? 'new'}>
          <h2>{current ? `Edit ${current.name}` : 'New project'}</h2>
          <ErrorBox error={formError(error, ['name', 'storePrompts'])} />
          <div class="form-grid">
            <Field label="Name" error={fieldError(error, 'name')} hint="unique on this server, e.g. support-bots">
              <input name="name" required maxLength={200} defaultValue={current?.name ?? ''} />
            </Field>
            <label class="check">
              <input type="checkbox" name="storePrompts" defaultChecked={current?.storePrompts ?? false} /> Store prompt text that clients send (off: never stored)
            </label>
          </div>
          <FormActions submitLabel={current ? 'Save' : 'Create'} onCancel={() => setEditing(null)} />
        </form>
      ) : null}
      <ErrorBox error={listError} />
      <ErrorBox error={users.error} onRetry={users.reload} />
      {projectList.length === 0 ? (
        <Empty>
          {isAdmin ? (
            <span data-testid="projects-empty">No projects yet. Create one: its API tokens let runtimes report to this server, and its limits cap their spend.</span>
          ) : (
            <span data-testid="projects-empty">You are not a member of any project yet: ask an admin to add you to one.</span>
          )}
        </Empty>
      ) : (
        <TableWrap label="Projects">
          <table data-testid="projects-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prompt text</th>
                {isAdmin ? <th scope="col">Members</th> : null}
                <th scope="col">Created</th>
                {isAdmin ? (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {projectList.map((project) => (
                <tr key={project.id}>
                  <td>{project.name}</td>
                  <td>{project.storePrompts ? 'stored' : 'never stored'}</td>
                  {isAdmin ? <td>{membersOf(project).map((user) => user.email).join(', ') || <span class="muted">admins only</span>}</td> : null}
                  <td>{formatTime(project.createdAt)}</td>
                  {isAdmin ? (
                    <td class="actions">
                      <button type="button" onClick={() => (setEditing(project), setError(undefined))} aria-label={`Edit ${project.name}`}>
                        Edit
                      </button>
                      <button type="button" onClick={() => setMembers(project)} aria-label={`Members of ${project.name}`}>
                        Members
                      </button>
                      <button type="button" class="danger" onClick={() => void remove(project)} aria-label={`Delete ${project.name}`}>
                        Delete
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {isAdmin && members ? <Members project={members} users={users.data?.users ?? []} onChange={users.reload} onClose={() => setMembers(null)} /> : null}
    </section>
  );
}

function Members({ project, users, onChange, onClose }: { project: Project; users: User[]; onChange: () => void; onClose: () => void }) {
  const [error, setError] = useState<Error>();
  const inProject = users.filter((user) => user.role !== 'admin' && user.projectIds.includes(project.id));
  const others = users.filter((user) => user.role !== 'admin' && !user.projectIds.includes(project.id));
  const change = async (request: Promise<unknown>) => {
    setError(undefined);
    try {
      await request;
      onChange();
    } catch (caught) {
      setError(caught as Error);
    }
  };
  const add = (event: Event) => {
    event.preventDefault();
    const userId = String(new FormData(event.target as HTMLFormElement).get('userId') ?? '');
    if (userId) void change(api(`/api/projects/${project.id}/members`, { method: 'POST', body: { userId } }));
  };
  return (
    <div class="card" role="region" aria-label={`Members of ${project.name}`} data-testid="members-panel">
      <h2>Members of {project.name}</h2>
      <p class="muted">Admins see every project. Members and viewers see the projects they belong to (roles are set on the Users page).</p>
      <ErrorBox error={error} />
      {inProject.length === 0 ? <Empty>No members yet.</Empty> : null}
      <ul class="plain-list">
        {inProject.map((user) => (
          <li key={user.id}>
            {user.email} <span class="muted">({user.role})</span>{' '}
            <button type="button" class="link danger" onClick={() => void change(api(`/api/projects/${project.id}/members/${user.id}`, { method: 'DELETE' }))} aria-label={`Remove ${user.email}`}>
              Remove
            </button>
          </li>
        ))}
      </ul>
      {others.length > 0 ? (
        <form class="inline-form" onSubmit={add} aria-label="Add a member">
          <label>
            <span>Add</span>
            <select name="userId" aria-label="User to add">
              {others.map((user) => (
                <option key={user.id} value={user.id}>
                  {user.email} ({user.role})
                </option>
              ))}
            </select>
          </label>
          <button type="submit">Add member</button>
        </form>
      ) : (
        <p class="muted">Every member and viewer is in this project already. Add people on the Users page.</p>
      )}
      <button type="button" class="link" onClick={onClose}>
        Close
      </button>
    </div>
  );
}

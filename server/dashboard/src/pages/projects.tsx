// Projects: a project groups a team's agents, API tokens, limits and webhooks. Everyone sees theirs and who is in
// them; admins create, rename and delete projects (deleting asks for the name, since everything in it goes too) and
// add, re-role and remove members.
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatTime } from '../format.ts';
import { loadProjects, projects, projectsLoaded } from '../projects.ts';
import { useResource } from '../resource.ts';
import { navigate, useLocation } from '../router.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { Member, Project, Role, User } from '../types.ts';
import { Empty, ErrorBox, Field, fieldError, FormActions, formError, Loading, PageHeader, TableWrap } from '../ui.tsx';

export function ProjectsPage() {
  const state = useStore(sessionState);
  const isAdmin = state.status === 'signedIn' && state.user.role === 'admin';
  const projectList = useStore(projects);
  const loaded = useStore(projectsLoaded);
  const { query } = useLocation();
  // The admins' picker of people to add, and the member emails in the table: /api/users is for admins only.
  const users = useResource((signal) => (isAdmin ? api<{ users: User[] }>('/api/users', { signal }) : Promise.resolve({ users: [] as User[] })), [isAdmin]);
  const [editing, setEditing] = useState<Project | 'new' | null>(null);
  const [membersOf, setMembersOf] = useState<Project | null>(null);
  const [deleting, setDeleting] = useState<Project | null>(null);
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  // "Create a project" links from pages that need one arrive with ?new=1: the form is open.
  useEffect(() => {
    if (query.get('new') === '1' && isAdmin) {
      setEditing('new');
      setError(undefined);
      navigate('/projects', { replace: true });
    }
  }, [query.get('new'), isAdmin]);

  const save = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const body = { name: String(form.get('name') ?? '').trim(), storePrompts: form.get('storePrompts') === 'on' };
    setError(undefined);
    setBusy(true);
    try {
      if (editing === 'new') await api('/api/projects', { method: 'POST', body });
      else if (editing) await api(`/api/projects/${editing.id}`, { method: 'PATCH', body });
      setEditing(null);
      await loadProjects();
    } catch (caught) {
      setError(caught as Error);
    } finally {
      setBusy(false);
    }
  };

  const memberEmails = (project: Project) => (users.data?.users ?? []).filter((user) => user.projectIds.includes(project.id)).map((user) => user.email);
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
        {isAdmin ? '' : ' Admins create projects and choose their members.'}
      </p>
      {editing ? (
        <form class="card form" onSubmit={save} aria-label={current ? `Edit ${current.name}` : 'New project'} key={current?.id ?? 'new'}>
          <h2>{current ? `Edit ${current.name}` : 'New project'}</h2>
          <ErrorBox error={formError(error, ['name', 'storePrompts'])} />
          <div class="form-grid">
            <Field label="Name" error={fieldError(error, 'name')} hint="unique on this server, e.g. support-bots">
              <input name="name" required maxLength={200} defaultValue={current?.name ?? ''} autoFocus />
            </Field>
            <label class="check">
              <input type="checkbox" name="storePrompts" defaultChecked={current?.storePrompts ?? false} /> Store prompt text that clients send (off: never stored)
            </label>
          </div>
          <FormActions submitLabel={current ? 'Save' : 'Create'} busy={busy} onCancel={() => setEditing(null)} />
        </form>
      ) : null}
      <ErrorBox error={users.error} onRetry={users.reload} />
      {!loaded ? (
        <Loading />
      ) : projectList.length === 0 ? (
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
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {projectList.map((project) => (
                <tr key={project.id} data-project-name={project.name}>
                  <td class="nowrap">{project.name}</td>
                  <td>{project.storePrompts ? 'stored' : 'never stored'}</td>
                  {isAdmin ? <td>{memberEmails(project).join(', ') || <span class="muted" title="Admins see every project without being members">none</span>}</td> : null}
                  <td class="nowrap">{formatTime(project.createdAt)}</td>
                  <td class="actions">
                    <button type="button" onClick={() => setMembersOf(project)} aria-label={`Members of ${project.name}`}>
                      Members
                    </button>
                    {isAdmin ? (
                      <>
                        <button type="button" onClick={() => (setEditing(project), setError(undefined))} aria-label={`Edit ${project.name}`}>
                          Edit
                        </button>
                        <button type="button" class="danger" onClick={() => setDeleting(project)} aria-label={`Delete ${project.name}`}>
                          Delete
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {membersOf ? <Members key={membersOf.id} project={membersOf} isAdmin={isAdmin} users={users.data?.users ?? []} onChange={users.reload} onClose={() => setMembersOf(null)} /> : null}
      {deleting ? (
        <ConfirmDelete
          project={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={async () => {
            if (membersOf?.id === deleting.id) setMembersOf(null);
            setDeleting(null);
            await loadProjects();
            users.reload();
          }}
        />
      ) : null}
    </section>
  );
}

/** Deleting a project takes its agents, calls, events, tokens, limits and webhooks: the person types its name first. */
function ConfirmDelete({ project, onClose, onDeleted }: { project: Project; onClose: () => void; onDeleted: () => Promise<void> }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const id = useId();
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const matches = typed.trim() === project.name;
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!matches) return;
    setBusy(true);
    setError(undefined);
    try {
      await api(`/api/projects/${project.id}`, { method: 'DELETE' });
      dialog.current?.close();
      await onDeleted();
    } catch (caught) {
      setError(caught as Error);
      setBusy(false);
    }
  };
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby={`${id}-title`} onClose={onClose} data-testid="delete-project">
      <form onSubmit={submit}>
        <h2 id={`${id}-title`}>Delete {project.name}?</h2>
        <p id={`${id}-what`}>
          Its agents, calls, events, API tokens, limits and webhooks are deleted with it, and runtimes using its tokens stop reporting. This cannot be undone.
        </p>
        <ErrorBox error={error} />
        <Field label={`Type ${project.name} to confirm`}>
          <input value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} autoComplete="off" autoFocus />
        </Field>
        <div class="form-actions">
          <button type="submit" class="danger-solid" disabled={!matches || busy} title={matches ? undefined : `Type ${project.name} first`} aria-describedby={`${id}-what`}>
            {busy ? 'Deleting…' : 'Delete project'}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}

/**
 * Who is in a project. Everyone who sees the project sees the list; admins add people by email (picked from the
 * users there are, or typed), change their role (it is the user's, on every project) and remove them.
 */
function Members({ project, isAdmin, users, onChange, onClose }: { project: Project; isAdmin: boolean; users: User[]; onChange: () => void; onClose: () => void }) {
  const members = useResource((signal) => api<{ members: Member[] }>(`/api/projects/${project.id}/members`, { signal }), [project.id]);
  const [error, setError] = useState<Error>();
  const [email, setEmail] = useState('');
  const listId = useId();
  const list = members.data?.members ?? [];
  const candidates = users.filter((user) => user.role !== 'admin' && !list.some((member) => member.userId === user.id));

  const change = async (request: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await request();
      members.reload();
      onChange();
      return true;
    } catch (caught) {
      setError(caught as Error);
      return false;
    }
  };
  const add = async (event: Event) => {
    event.preventDefault();
    const value = email.trim();
    if (!value) return;
    if (await change(() => api(`/api/projects/${project.id}/members`, { method: 'POST', body: { email: value } }))) setEmail('');
  };
  const setRole = (member: Member, role: Role) => change(() => api(`/api/users/${member.userId}`, { method: 'PATCH', body: { role } }));

  return (
    <div class="card" role="region" aria-label={`Members of ${project.name}`} data-testid="members-panel">
      <h2>Members of {project.name}</h2>
      <p class="muted">
        Members use the project (tokens, limits); viewers only look. Admins see every project without being members. A role is the person's own, the same on every
        project.
      </p>
      <ErrorBox error={error} />
      <ErrorBox error={members.error} onRetry={members.reload} />
      {!members.data ? (
        members.error ? null : <Loading />
      ) : list.length === 0 ? (
        <Empty>No members yet.</Empty>
      ) : (
        <ul class="plain-list members" data-testid="members-list">
          {list.map((member) => (
            <li key={member.userId} data-member={member.email}>
              <span class="member-email">{member.email}</span>
              {isAdmin && member.role !== 'admin' ? (
                <select aria-label={`Role of ${member.email}`} value={member.role} onChange={(e) => void setRole(member, (e.target as HTMLSelectElement).value as Role)}>
                  <option value="member">member</option>
                  <option value="viewer">viewer</option>
                </select>
              ) : (
                <span class="muted">{member.role === 'admin' ? 'admin (sees every project)' : member.role}</span>
              )}
              {isAdmin ? (
                <button type="button" class="link danger" onClick={() => void change(() => api(`/api/projects/${project.id}/members/${member.userId}`, { method: 'DELETE' }))} aria-label={`Remove ${member.email}`}>
                  Remove
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {isAdmin ? (
        <form class="inline-form" onSubmit={add} aria-label="Add a member">
          <label>
            <span>Add by email</span>
            <input type="email" list={listId} value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} placeholder="name@example.com" autoComplete="off" required />
          </label>
          <datalist id={listId}>
            {candidates.map((user) => (
              <option key={user.id} value={user.email}>
                {user.role}
              </option>
            ))}
          </datalist>
          <button type="submit">Add member</button>
          <span class="muted small">
            Someone without an account? <a href="/users">Create it on the Users page</a> first.
          </span>
        </form>
      ) : null}
      <button type="button" class="link" onClick={onClose}>
        Close
      </button>
    </div>
  );
}

// Users (admins only): list, create with a role and projects, change role or projects, set a new password (which
// also ends a lockout), delete.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { formatTime, NONE } from '../format.ts';
import { projectName, projects } from '../projects.ts';
import { useResource } from '../resource.ts';
import { sessionState } from '../session.ts';
import { useStore } from '../store.ts';
import type { Role, User } from '../types.ts';
import { ErrorBox, Field, fieldError, FormActions, formError, Loaded, PageHeader, RowActions, TableWrap } from '../ui.tsx';

const ROLES: Role[] = ['admin', 'member', 'viewer'];

export function UsersPage() {
  const state = useStore(sessionState);
  const me = state.status === 'signedIn' ? state.user : undefined;
  const projectList = useStore(projects);
  const isAdmin = me?.role === 'admin';
  const resource = useResource((signal) => (isAdmin ? api<{ users: User[] }>('/api/users', { signal }) : Promise.resolve({ users: [] as User[] })), [isAdmin]);
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const [error, setError] = useState<Error>();
  const [listError, setListError] = useState<Error>();

  if (!isAdmin) {
    return (
      <section>
        <PageHeader title="Users" />
        <p class="notice">Only admins manage users. Ask an admin to add people or change roles.</p>
      </section>
    );
  }

  const save = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const password = String(form.get('password') ?? '');
    const body: Record<string, unknown> = { role: String(form.get('role')), projectIds: form.getAll('projectIds').map(String) };
    if (password) body.password = password;
    setError(undefined);
    try {
      if (editing === 'new') await api('/api/users', { method: 'POST', body: { ...body, email: String(form.get('email') ?? '').trim() } });
      else if (editing) await api(`/api/users/${editing.id}`, { method: 'PATCH', body });
      setEditing(null);
      resource.reload();
    } catch (caught) {
      setError(caught as Error);
    }
  };

  const remove = async (user: User) => {
    if (!confirm(`Delete ${user.email}? Their sessions end at once.`)) return;
    setListError(undefined);
    try {
      await api(`/api/users/${user.id}`, { method: 'DELETE' });
      resource.reload();
    } catch (caught) {
      setListError(caught as Error);
    }
  };

  const current = editing && editing !== 'new' ? editing : undefined;
  return (
    <section>
      <PageHeader title="Users">
        <button type="button" class="primary" onClick={() => (setEditing('new'), setError(undefined))}>
          New user
        </button>
      </PageHeader>
      {editing ? (
        <form class="card form" onSubmit={save} aria-label={current ? `Edit ${current.email}` : 'New user'} key={current?.id ?? 'new'}>
          <h2>{current ? `Edit ${current.email}` : 'New user'}</h2>
          <ErrorBox error={formError(error, ['email', 'password', 'role', 'projectIds'])} />
          <div class="form-grid">
            {current ? null : (
              <Field label="Email" error={fieldError(error, 'email')}>
                <input name="email" type="email" required autoComplete="off" />
              </Field>
            )}
            <Field label={current ? 'New password' : 'Password'} error={fieldError(error, 'password')} hint={current ? 'leave empty to keep; setting one ends a lockout and signs them out' : 'at least 12 characters'}>
              <input name="password" type="password" autoComplete="new-password" required={!current} />
            </Field>
            <Field label="Role" error={fieldError(error, 'role')}>
              <select name="role" defaultValue={current?.role ?? 'member'}>
                {ROLES.map((role) => (
                  <option key={role} value={role}>
                    {role}
                  </option>
                ))}
              </select>
            </Field>
            <fieldset class="field">
              <legend class="field-label">Projects</legend>
              {projectList.length === 0 ? <span class="muted">No projects yet.</span> : null}
              {projectList.map((p) => (
                <label key={p.id} class="check">
                  <input type="checkbox" name="projectIds" value={p.id} defaultChecked={current?.projectIds.includes(p.id)} /> {p.name}
                </label>
              ))}
              {fieldError(error, 'projectIds') ? <span class="field-error">{fieldError(error, 'projectIds')}</span> : null}
            </fieldset>
          </div>
          <FormActions submitLabel="Save" onCancel={() => setEditing(null)} />
        </form>
      ) : null}
      <ErrorBox error={listError} />
      <Loaded resource={resource} isEmpty={(data) => data.users.length === 0} empty="No users.">
        {(data) => (
          <TableWrap label="Users">
            <table data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Projects</th>
                  <th scope="col">State</th>
                  <th scope="col">Since</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.users.map((user) => (
                  <tr key={user.id}>
                    <td>{user.email}</td>
                    <td>{user.role}</td>
                    <td>{user.role === 'admin' ? 'all' : user.projectIds.map(projectName).join(', ') || NONE}</td>
                    <td>{user.lockedUntil && Date.parse(user.lockedUntil) > Date.now() ? <span class="badge badge-failed">locked</span> : <span class="badge badge-ok">active</span>}</td>
                    <td>{formatTime(user.createdAt)}</td>
                    <RowActions onEdit={() => (setEditing(user), setError(undefined))} onDelete={user.id === me?.id ? undefined : () => void remove(user)} />
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        )}
      </Loaded>
    </section>
  );
}

// Small building blocks shared by the pages.
import { cloneElement, isValidElement, type ComponentChildren } from 'preact';
import { useId } from 'preact/hooks';
import { ApiError } from './api.ts';
import { formatInt, formatUsd } from './format.ts';

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1>{title}</h1>
      {children ? <div class="page-actions">{children}</div> : null}
    </header>
  );
}

/** An API error as the person should read it; never swallowed. */
export function ErrorBox({ error, onRetry }: { error: Error | undefined; onRetry?: () => void }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="error-box" role="alert">
      <strong>{error.message}</strong>
      {code ? <span class="muted"> ({code})</span> : null}
      {onRetry ? (
        <button type="button" class="link" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * Said where a page needs a project and the person has none, in place of the page's "New …" button: why there is
 * nothing to create yet, and the way to the Projects page (admins) or who to ask (everyone else).
 */
export function NeedsProject({ what, isAdmin }: { what: string; isAdmin: boolean }) {
  return (
    <div class="notice needs-project" data-testid="needs-project">
      <p>
        {what} belong to a project, and {isAdmin ? 'there is none yet' : 'you are not a member of one yet'}.{' '}
        {isAdmin ? 'Create one first: runtimes report to a project, and its tokens and limits are made in it.' : 'Ask an admin to add you to a project.'}
      </p>
      {isAdmin ? (
        <a class="button primary" href="/projects?new=1">
          Create a project
        </a>
      ) : null}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export function Loading() {
  return (
    <p class="loading" aria-live="polite">
      Loading…
    </p>
  );
}

export function Stat({ label, value, hint, testId }: { label: string; value: ComponentChildren; hint?: ComponentChildren; testId?: string }) {
  return (
    <div class="stat" data-testid={testId}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint ? <div class="stat-hint">{hint}</div> : null}
    </div>
  );
}

/** Spend against a budget: a bar that turns amber at 80 % and red at 100 %. */
export function SpendBar({ spentUsd, limitUsd, label }: { spentUsd: number; limitUsd: number | null; label?: string }) {
  if (!limitUsd) return <span>{formatUsd(spentUsd)}</span>;
  const ratio = spentUsd / limitUsd;
  const level = ratio >= 1 ? 'over' : ratio >= 0.8 ? 'warn' : 'ok';
  return (
    <div class="spend">
      <div
        class={`bar bar-${level}`}
        role="meter"
        aria-valuemin={0}
        aria-valuemax={limitUsd}
        aria-valuenow={spentUsd}
        aria-label={label ?? 'spend against budget'}
      >
        <span style={{ width: `${Math.min(100, ratio * 100)}%` }} />
      </div>
      <span class="spend-text">
        {formatUsd(spentUsd)} / {formatUsd(limitUsd)}
      </span>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status.replace(/[^a-z_]/g, '')}`}>{status.replace(/_/g, ' ')}</span>;
}

/** What the Calls figures count, said on their headers: the server counts every call a runtime reported. */
export const CALLS_TITLE = 'All LLM calls: answered and failed alike (a call the cage refused counts as failed). Failed ones are also counted apart.';

/** Calls that failed inside a run, shown apart from its outcome (a run that completed is ok however many failed). */
export function FailedCalls({ count }: { count: number }) {
  if (count <= 0) return null;
  return (
    <span class="badge badge-warn" data-testid="failed-calls">
      {count === 1 ? '1 failed call' : `${formatInt(count)} failed calls`}
    </span>
  );
}

/** A run's outcome in words, from its agent's status (the outcome follows only how the agent ended). */
export function outcomeHint(outcome: string, status: string): string {
  if (outcome === 'running') return 'not ended yet';
  if (outcome === 'ok') return 'the agent completed';
  if (outcome === 'stopped') return 'stopped on purpose';
  return `the agent ended ${status.replace(/_/g, ' ')}`;
}

/** A horizontally scrollable table wrapper, so wide tables work on a phone. */
export function TableWrap({ children, label }: { children: ComponentChildren; label: string }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** The message for a form field, from an API validation error that names it. */
export function fieldError(error: Error | undefined, field: string): string | undefined {
  return error instanceof ApiError && error.field === field ? error.message : undefined;
}

export function Field({ label, error, children, hint }: { label: string; error?: string | undefined; hint?: string; children: ComponentChildren }) {
  // The hint and the error describe the control (aria-describedby) rather than being part of its name.
  const id = useId();
  const describedBy = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  // Labelled by id, not by wrapping: a wrapping label would add a select's chosen option to its name.
  const control = isValidElement(children) ? cloneElement(children, { id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined }) : children;
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label class="field-label" for={id}>
        {label}
      </label>
      {control}
      {hint && !error ? (
        <span id={`${id}-hint`} class="field-hint">
          {hint}
        </span>
      ) : null}
      {error ? (
        <span id={`${id}-error`} class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </div>
  );
}

/** The error to show above a form: one that names none of the form's own fields (those show at the field). */
export function formError(error: Error | undefined, fields: string[]): Error | undefined {
  return error instanceof ApiError && error.field && fields.includes(error.field) ? undefined : error;
}

export function FormActions({ submitLabel, busy, onCancel }: { submitLabel: string; busy?: boolean; onCancel: () => void }) {
  return (
    <div class="form-actions">
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Saving…' : submitLabel}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** Edit and Delete buttons for a table row; Delete left out when `onDelete` is. */
export function RowActions({ onEdit, onDelete }: { onEdit: () => void; onDelete?: (() => void) | undefined }) {
  return (
    <td class="actions">
      <button type="button" onClick={onEdit}>
        Edit
      </button>
      {onDelete ? (
        <button type="button" class="danger" onClick={onDelete}>
          Delete
        </button>
      ) : null}
    </td>
  );
}

export function ProjectOptions({ projects }: { projects: Array<{ id: string; name: string }> }) {
  return (
    <>
      {projects.map((project) => (
        <option key={project.id} value={project.id}>
          {project.name}
        </option>
      ))}
    </>
  );
}

/**
 * A list's states in one place: the load error (with retry), loading, the empty message, then the content.
 * `children` is a function so it runs only once the data is there.
 */
export function Loaded<T>({ resource, isEmpty, empty, children }: { resource: { data: T | undefined; error: Error | undefined; reload: () => void }; isEmpty: (data: T) => boolean; empty: ComponentChildren; children: (data: T) => ComponentChildren }) {
  const { data, error } = resource;
  return (
    <>
      <ErrorBox error={error} onRetry={resource.reload} />
      {data === undefined ? error ? null : <Loading /> : isEmpty(data) ? <Empty>{empty}</Empty> : children(data)}
    </>
  );
}

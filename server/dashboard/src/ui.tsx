// Small building blocks shared by the pages.
import type { ComponentChildren } from 'preact';
import { ApiError } from './api.ts';
import { formatUsd } from './format.ts';

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
  return <span class={`badge badge-${status.replace(/[^a-z_]/g, '')}`}>{status.replace('_', ' ')}</span>;
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
  return (
    <label class={`field${error ? ' field-invalid' : ''}`}>
      <span class="field-label">{label}</span>
      {children}
      {hint && !error ? <span class="field-hint">{hint}</span> : null}
      {error ? (
        <span class="field-error" role="alert">
          {error}
        </span>
      ) : null}
    </label>
  );
}

// Text no database column takes: a NUL character (PostgreSQL refuses it, SQLite cut queries at it) or a lone UTF-16
// surrogate (not Unicode; jsonb refuses it). Checked at the edge, so such input is a 400 naming the field, never a 500.

/** What is wrong with a string, or undefined when it can be stored. */
export function stringProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character';
  if (!value.isWellFormed()) return 'contains a lone UTF-16 surrogate';
  return undefined;
}

/** The first string (key or value) in `value` that cannot be stored, as `path: problem`; undefined when none. */
export function findTextProblem(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') {
    const problem = stringProblem(value);
    return problem ? `${path}: ${problem}` : undefined;
  }
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findTextProblem(value[i], `${path}/${i}`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key in value) {
    const keyProblem = stringProblem(key);
    if (keyProblem) return `${path}: a key ${keyProblem}`;
    const problem = findTextProblem((value as Record<string, unknown>)[key], `${path}/${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

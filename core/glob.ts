// Model and provider globs (`gpt-4o*`, `claude-?-*`): `*` any run, `?` one character, case-sensitive, whole name.
// One implementation, so routing, prices, budgets, fallbacks and server limits agree on what a pattern covers.

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

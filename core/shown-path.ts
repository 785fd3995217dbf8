// Paths in messages as the user would type them: relative to the working folder when inside it, else absolute.
import { isAbsolute, relative } from 'node:path';

export function shownPath(path: string, cwd: string = process.cwd()): string {
  const shown = relative(cwd, path);
  if (shown === '') return '.';
  return !shown.startsWith('..') && !isAbsolute(shown) ? shown : path;
}

/** A folder in a sentence: "the current folder" for the working folder itself. */
export function shownFolder(path: string, cwd: string = process.cwd()): string {
  const shown = shownPath(path, cwd);
  return shown === '.' ? 'the current folder' : shown;
}

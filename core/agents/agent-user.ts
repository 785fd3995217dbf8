// `agents.user`: process agents run as another OS user, so nothing of the runtime's (its environment, its memory, its
// files) is readable by them. Needs a runtime that may switch users (root).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';

export interface AgentUser {
  uid: number;
  gid: number;
  /** The user's name and home, for the agent's USER / LOGNAME / HOME. */
  name: string;
  home: string;
}

/** `name:password:uid:gid:gecos:home:shell` lines of /etc/passwd (or /etc/group's `name:password:gid:members`). */
function table(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(':'));
  } catch {
    return [];
  }
}

/** Resolves `agents.user` (a name or a uid) and `agents.group` (a name or a gid; default the user's own group). */
export function resolveAgentUser(user: string, group: string | undefined, file?: string): AgentUser {
  const where = `${file ? `${file}: ` : ''}agents.user`;
  if (typeof process.getuid !== 'function') throw new ConfigError(`${where}: running agents as another user is not supported on this platform`, { path: 'agents.user' });
  const passwd = table('/etc/passwd');
  const entry = /^\d+$/.test(user) ? passwd.find((row) => row[2] === user) : passwd.find((row) => row[0] === user);
  if (!entry && !/^\d+$/.test(user)) throw new ConfigError(`${where}: no user named "${user}" on this machine (see /etc/passwd, or give a numeric uid)`, { path: 'agents.user' });
  const uid = entry ? Number(entry[2]) : Number(user);
  let gid = entry ? Number(entry[3]) : uid;
  if (group !== undefined) {
    const row = /^\d+$/.test(group) ? undefined : table('/etc/group').find((r) => r[0] === group);
    if (!row && !/^\d+$/.test(group)) throw new ConfigError(`${file ? `${file}: ` : ''}agents.group: no group named "${group}" on this machine`, { path: 'agents.group' });
    gid = row ? Number(row[2]) : Number(group);
  }
  if (uid === 0) throw new ConfigError(`${where}: "${user}" is root, which can read everything of the runtime's: choose an unprivileged user`, { path: 'agents.user' });
  if (process.getuid() !== 0) {
    throw new ConfigError(`${where}: running agents as "${user}" needs a runtime that may switch users (root); this one runs as uid ${process.getuid()}`, { path: 'agents.user' });
  }
  return { uid, gid, name: entry?.[0] ?? user, home: entry?.[5] ?? '/' };
}

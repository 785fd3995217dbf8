// The projects the person can see, and the one the pages are filtered to ('' = all), kept across reloads.
import { api } from './api.ts';
import { createStore } from './store.ts';
import type { Project } from './types.ts';

const KEY = 'iron.project';
export const projects = createStore<Project[]>([]);
/** False until the first list arrives: pages wait for it before saying "you have no project". */
export const projectsLoaded = createStore(false);
export const selectedProject = createStore<string>(localStorage.getItem(KEY) ?? '');

selectedProject.subscribe((id) => (id ? localStorage.setItem(KEY, id) : localStorage.removeItem(KEY)));

export async function loadProjects(): Promise<void> {
  const body = await api<{ projects: Project[] }>('/api/projects');
  projects.set(body.projects);
  projectsLoaded.set(true);
  const selected = selectedProject.get();
  if (selected && !body.projects.some((project) => project.id === selected)) selectedProject.set('');
}

export function projectName(id: string): string {
  return projects.get().find((project) => project.id === id)?.name ?? id.slice(0, 8);
}

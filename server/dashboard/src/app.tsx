// The shell: navigation, project filter, live status, and the page for the current path.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { liveStatus, RESYNC, useLiveEvents } from './live.ts';
import { loadProjects, projects, projectsLoaded, selectedProject } from './projects.ts';
import { match, navigate, nextPath, useLocation } from './router.ts';
import { session, sessionState } from './session.ts';
import { useStore } from './store.ts';
import { ErrorBox, ProjectOptions } from './ui.tsx';
import { AgentPage } from './pages/agent.tsx';
import { AgentsPage } from './pages/agents.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { LimitsPage } from './pages/limits.tsx';
import { LoginPage } from './pages/login.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { ProjectsPage } from './pages/projects.tsx';
import { TokensPage } from './pages/tokens.tsx';
import { TracesPage } from './pages/traces.tsx';
import { UsagePage } from './pages/usage.tsx';
import { UsersPage } from './pages/users.tsx';

const ROUTES: Array<{ path: string; page: ComponentType<{ params: Record<string, string> }>; title: string }> = [
  { path: '/', page: OverviewPage, title: 'Overview' },
  { path: '/agents', page: AgentsPage, title: 'Agents' },
  { path: '/agents/:id', page: AgentPage, title: 'Agent' },
  { path: '/usage', page: UsagePage, title: 'Usage' },
  { path: '/traces', page: TracesPage, title: 'Traces' },
  { path: '/traces/:id', page: AgentPage, title: 'Trace' },
  { path: '/limits', page: LimitsPage, title: 'Limits' },
  { path: '/projects', page: ProjectsPage, title: 'Projects' },
  { path: '/tokens', page: TokensPage, title: 'API tokens' },
  { path: '/users', page: UsersPage, title: 'Users' },
  { path: '/alerts', page: AlertsPage, title: 'Alerts' },
];

const NAV = [
  { href: '/', label: 'Overview' },
  { href: '/agents', label: 'Agents' },
  { href: '/usage', label: 'Usage' },
  { href: '/traces', label: 'Traces' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/limits', label: 'Limits' },
  { href: '/projects', label: 'Projects' },
  { href: '/tokens', label: 'API tokens' },
  { href: '/users', label: 'Users', admin: true },
];

const ALERT_TYPES = new Set(['PiiAlert', 'BudgetWarning', 'BudgetExceeded', 'CircuitOpened']);

export function App() {
  const state = useStore(sessionState);
  const { path, query } = useLocation();
  const search = query.toString();

  useEffect(() => {
    if (state.status === 'signedOut' && path !== '/login') navigate(`/login?next=${encodeURIComponent(search ? `${path}?${search}` : path)}`, { replace: true });
  }, [state.status, path, search]);

  if (state.status === 'restoring') return <p class="loading boot">Loading…</p>;
  if (state.status === 'signedOut') return <LoginPage reason={state.reason} />;
  if (path === '/login') {
    navigate(nextPath(location.search), { replace: true });
    return null;
  }
  return <Shell role={state.user.role} email={state.user.email} path={path} />;
}

function Shell({ role, email, path }: { role: string; email: string; path: string }) {
  const live = useStore(liveStatus);
  const projectList = useStore(projects);
  const project = useStore(selectedProject);
  const [projectsError, setProjectsError] = useState<Error>();
  const [unseenAlerts, setUnseenAlerts] = useState(0);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    loadProjects().then(() => setProjectsError(undefined), setProjectsError);
    // Signed out: the next person to sign in here must not see this one's projects, even for a moment.
    return () => {
      projects.set([]);
      projectsLoaded.set(false);
    };
  }, []);
  useEffect(() => {
    if (path === '/alerts') setUnseenAlerts(0);
    setMenuOpen(false);
  }, [path]);
  useLiveEvents((event) => {
    if (event !== RESYNC && ALERT_TYPES.has(event.type) && location.pathname !== '/alerts') setUnseenAlerts((n) => n + 1);
  });

  let content = <NotFound />;
  let title = 'Not found';
  for (const route of ROUTES) {
    const params = match(route.path, path);
    if (params) {
      const Page = route.page;
      content = <Page params={params} />;
      title = route.title;
      break;
    }
  }
  useEffect(() => {
    document.title = `${title} · Iron Cage`;
  }, [title]);

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class={`nav${menuOpen ? ' nav-open' : ''}`} aria-label="Main">
        <div class="brand">
          <span aria-hidden="true">▣</span> Iron Cage
          <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="nav-links" onClick={() => setMenuOpen(!menuOpen)}>
            Menu
          </button>
        </div>
        <ul id="nav-links">
          {NAV.filter((item) => !item.admin || role === 'admin').map((item) => {
            const current = item.href === '/' ? path === '/' : path === item.href || path.startsWith(`${item.href}/`);
            return (
              <li key={item.href}>
                <a href={item.href} aria-current={current ? 'page' : undefined}>
                  {item.label}
                  {item.href === '/alerts' && unseenAlerts > 0 ? (
                    <span class="count" data-testid="unseen-alerts" aria-label={`${unseenAlerts} new alerts`}>
                      {unseenAlerts}
                    </span>
                  ) : null}
                </a>
              </li>
            );
          })}
        </ul>
        <div class="nav-footer">
          <span class={`live live-${live}`} data-testid="live-status" title="Live updates from /ws">
            {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting' : '○ offline'}
          </span>
          <span class="who" title={email}>
            {email} ({role})
          </span>
          <button
            type="button"
            class="link"
            onClick={() => {
              // Logging out on purpose starts afresh at the overview next time (only a session that ended keeps the page).
              navigate('/login');
              void session.logout();
            }}
          >
            Log out
          </button>
        </div>
      </nav>
      <div class="main-column">
        <div class="topbar">
          <label>
            <span>Project</span>
            <select aria-label="Project" value={project} onChange={(event) => selectedProject.set((event.target as HTMLSelectElement).value)} data-testid="project-filter">
              <option value="">All projects</option>
              <ProjectOptions projects={projectList} />
            </select>
          </label>
        </div>
        <ErrorBox error={projectsError} />
        <main id="main" tabIndex={-1}>
          {content}
        </main>
      </div>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page here. <a href="/">Go to the overview</a>.
      </p>
    </section>
  );
}

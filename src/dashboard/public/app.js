// The shell: header, navigation, hash routing (#/jobs, #/job/ID, …) and the live connection.
import { getJson, liveState, startLive } from './api.js';
import { Job, Jobs, Overview, Schedules, Tasks, Workers } from './pages.js';
import { html, render, useEffect, useState } from './ui.js';

const PAGES = [
  ['#/', 'Overview'],
  ['#/jobs', 'Jobs'],
  ['#/tasks', 'Tasks'],
  ['#/schedules', 'Schedules'],
  ['#/workers', 'Workers'],
];

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function App() {
  const hash = useHash();
  const [meta, setMeta] = useState({ readOnly: true, tasks: [] });
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    liveState.onChange = () => setConnected(liveState.connected);
    startLive();
    Promise.all([getJson('./api/overview'), getJson('./api/tasks')]).then(
      ([o, t]) => setMeta({ readOnly: o.readOnly, tasks: t.tasks }),
      () => {},
    );
  }, []);
  const [path, query = ''] = hash.split('?');
  const section = path.startsWith('#/job/') ? '#/jobs' : path;
  let page;
  if (path.startsWith('#/job/')) page = html`<${Job} id=${decodeURIComponent(path.slice(6))} readOnly=${meta.readOnly} />`;
  else if (path === '#/jobs') page = html`<${Jobs} query=${query} tasks=${meta.tasks} />`;
  else if (path === '#/tasks') page = html`<${Tasks} />`;
  else if (path === '#/schedules') page = html`<${Schedules} readOnly=${meta.readOnly} />`;
  else if (path === '#/workers') page = html`<${Workers} />`;
  else page = html`<${Overview} />`;
  useEffect(() => {
    document.title = `${PAGES.find(([h]) => h === section)?.[1] ?? 'Job'} · celeriac dashboard`;
  }, [hash]);
  return html`<header>
      <h1>celeriac</h1>
      <nav aria-label="Pages"><ul>${PAGES.map(([href, label]) => html`<li><a href=${href} aria-current=${section === href ? 'page' : undefined}>${label}</a></li>`)}</ul></nav>
      <span class="live" role="status">${connected ? 'Live' : 'Reconnecting…'}${meta.readOnly ? ' · read-only' : ''}</span>
    </header>
    <main>${page}</main>`;
}

const root = document.getElementById('root');
root.textContent = ''; // the static "Loading…"
render(html`<${App} />`, root);

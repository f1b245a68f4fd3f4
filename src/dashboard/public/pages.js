// The pages. Each reads the JSON API and re-reads it when a live batch says something changed.
import { getJson, postJson, subscribe } from './api.js';
import { Charts } from './charts.js';
import { fmtBytes, fmtMs, fmtTime, html, State, STATES, useCallback, useEffect, useRef, useState } from './ui.js';

/** Load `path`, and load it again on live batches (at most every `everyMs`) and on reset. */
function useLive(path, { everyMs = 500, when = () => true } = {}) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const last = useRef(0);
  const timer = useRef(null);
  const retry = useRef(null);
  const load = useCallback(() => {
    if (!path) return;
    getJson(path).then(
      (d) => {
        setData(d);
        setError(null);
        // The server reused an answer older than the latest change: ask again when a fresh one can be had.
        clearTimeout(retry.current);
        if (d.retryInMs) retry.current = setTimeout(load, d.retryInMs);
      },
      (e) => setError(e.message),
    );
  }, [path]);
  useEffect(() => {
    load();
    const off = subscribe((kind, batch) => {
      if (kind === 'batch' && !when(batch)) return;
      const wait = Math.max(0, last.current + everyMs - Date.now());
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        last.current = Date.now();
        load();
      }, wait);
    });
    return () => {
      off();
      clearTimeout(timer.current);
      clearTimeout(retry.current);
      timer.current = null;
    };
  }, [load]);
  return [data, error, load];
}

function Problem({ error }) {
  return error ? html`<p class="problem" role="alert">${error}</p>` : null;
}

export function Overview() {
  const [data, error] = useLive('./api/overview', { everyMs: 1000 });
  if (!data) return html`<h2>Overview</h2><${Problem} error=${error} />`;
  const r = data.recovery;
  return html`<h2>Overview</h2><${Problem} error=${error} />
    <h3>Jobs on record</h3>
    <ul class="cards" aria-label="jobs by state">
      ${STATES.map((s) => html`<li key=${s}><a href=${`#/jobs?state=${s}`}><span class="n" data-state=${s}>${data.counts[s] ?? 0}</span><span class="label">${s}</span></a></li>`)}
      ${data.busy ? html`<li><a href="#/workers"><span class="n" data-busy>${data.busy.busy} / ${data.busy.slots}</span><span class="label">busy worker slots</span></a></li>` : null}
    </ul>
    <h3>Throughput</h3>
    <${Charts} series=${data.series} />
    <p class="note">Charts count what finished since the dashboard started (${fmtTime(data.since)}); the counts above are the whole record.</p>
    <h3>Last restart</h3>
    ${
      r
        ? html`<dl class="facts">
      <dt>Read in</dt><dd>${fmtMs(r.loadMs)}</dd>
      <dt>Found</dt><dd>${r.found.pending} waiting, ${r.found.retrying} retrying, ${r.found.finished} finished</dd>
      <dt>Interrupted (run again, flagged recovered)</dt><dd>${r.interrupted}</dd>
      <dt>Results dropped (past resultTtl)</dt><dd>${r.droppedResults}</dd>
      <dt>Torn last record</dt><dd>${r.truncated ? `${r.truncated.bytes} bytes cut at byte ${r.truncated.offset} of ${r.truncated.file}` : 'none'}</dd>
    </dl>`
        : html`<p class="empty">No recovery report.</p>`
    }`;
}

function parseHashQuery(query) {
  const p = new URLSearchParams(query);
  return { state: p.get('state') ?? '', task: p.get('task') ?? '', q: p.get('q') ?? '' };
}

export function Jobs({ query, tasks }) {
  const initial = parseHashQuery(query);
  const [filters, setFilters] = useState(initial);
  // What the form shows while the reader edits it: kept in state, so that a live refresh does not undo their typing.
  const [draft, setDraft] = useState(initial);
  const edit = (key) => (e) => setDraft((d) => ({ ...d, [key]: e.target.value }));
  const [cursors, setCursors] = useState([]); // the `after` of each page before this one
  useEffect(() => {
    const f = parseHashQuery(query);
    setFilters(f);
    setDraft(f);
    setCursors([]);
  }, [query]);
  const params = new URLSearchParams();
  if (filters.state) params.set('state', filters.state);
  if (filters.task) params.set('task', filters.task);
  if (filters.q) params.set('q', filters.q);
  const after = cursors[cursors.length - 1];
  if (after) params.set('after', after);
  // Live: only the first page of a plain listing moves under the reader's eyes.
  const [data, error] = useLive(`./api/jobs?${params}`, { when: () => !after && !filters.q });
  const submit = (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const k of ['state', 'task', 'q']) if (draft[k]) next.set(k, draft[k].trim());
    location.hash = `#/jobs?${next}`;
  };
  return html`<h2>Jobs</h2>
    <form class="filters" role="search" onSubmit=${submit}>
      <label>State<select name="state" value=${draft.state} onChange=${edit('state')}>
        <option value="">any</option>${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>Task<select name="task" value=${draft.task} onChange=${edit('task')}>
        <option value="">any</option>${(tasks ?? []).map((t) => html`<option value=${t.name}>${t.name}</option>`)}
      </select></label>
      <label>Search by id or args text<input name="q" type="search" value=${draft.q} onInput=${edit('q')} size="32" /></label>
      <button type="submit">Search</button>
    </form>
    <${Problem} error=${error} />
    ${data?.match === 'args' ? html`<p class="note">Args search: read the newest ${data.scanned} jobs of this filter${data.next ? '; "Next page" searches further' : ''}.</p>` : null}
    ${
      data
        ? html`<table>
      <caption class="sr-only">Jobs, newest first</caption>
      <thead><tr><th scope="col">Id</th><th scope="col">Task</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Args</th></tr></thead>
      <tbody>${
        data.jobs.length === 0
          ? html`<tr><td colspan="6" class="empty">No jobs match.</td></tr>`
          : data.jobs.map(
              (j) => html`<tr key=${j.id} data-job=${j.id}>
        <td class="mono"><a href=${`#/job/${encodeURIComponent(j.id)}`}>${j.id}</a></td><td>${j.task}</td><td><${State} state=${j.state} /></td>
        <td>${j.attempts}</td><td>${fmtTime(j.createdAt)}</td><td class="mono">${j.args}</td></tr>`,
            )
      }</tbody>
    </table>
    <div class="pager">
      <button type="button" class="secondary" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button type="button" class="secondary" disabled=${!data.next} onClick=${() => setCursors([...cursors, data.next])}>Next page</button>
    </div>`
        : null
    }`;
}

function ErrorChain({ error }) {
  const chain = [];
  for (let e = error; e && chain.length < 10; e = e.cause) chain.push(e);
  return html`<ol class="causes">${chain.map(
    (e, i) => html`<li>${i > 0 ? 'Caused by: ' : ''}<strong>${e.name}${e.code ? ` [${e.code}]` : ''}</strong>: ${e.message}
    ${e.stack ? html`<details><summary>stack</summary><pre>${e.stack}</pre></details>` : null}</li>`,
  )}</ol>`;
}

export function Job({ id, readOnly }) {
  const [data, error, load] = useLive(`./api/jobs/${encodeURIComponent(id)}`, {
    when: (b) => b.events.some((e) => e.id === id) || b.dropped > 0,
  });
  const [message, setMessage] = useState(null);
  const act = (action) =>
    postJson(`./api/jobs/${encodeURIComponent(id)}/${action}`).then(
      (r) => {
        if (action === 'retry') {
          setMessage(`Sent again as a new job: ${r.id}`);
          location.hash = `#/job/${encodeURIComponent(r.id)}`;
        } else if (action === 'forget') {
          setMessage('Forgotten.');
          location.hash = '#/jobs';
        } else {
          setMessage(`Done: ${action}.`);
          load();
        }
      },
      (e) => setMessage(e.message),
    );
  if (!data) return html`<h2>Job <code>${id}</code></h2><${Problem} error=${error} />`;
  return html`<h2>Job <code>${data.id}</code></h2>
    <${Problem} error=${error} />
    ${message ? html`<p role="status">${message}</p>` : null}
    ${
      readOnly
        ? null
        : html`<div class="actions">
      ${data.finished ? null : html`<button type="button" class="danger" onClick=${() => act('cancel')}>Cancel</button>`}
      <button type="button" onClick=${() => act('retry')}>Retry as a new job</button>
      ${data.finished ? html`<button type="button" class="secondary" onClick=${() => act('forget')}>Forget</button>` : null}
    </div>`
    }
    <dl class="facts">
      <dt>Task</dt><dd>${data.task}</dd>
      <dt>State</dt><dd><${State} state=${data.state} /></dd>
      <dt>Attempts</dt><dd>${data.attempts} (retries ${data.retries})${data.recovered ? ', recovered after a crash' : ''}</dd>
      <dt>Priority</dt><dd>${data.priority}</dd>
      <dt>Created</dt><dd>${fmtTime(data.createdAt)}</dd>
      ${data.runAt ? html`<dt>Runs at</dt><dd>${fmtTime(data.runAt)}</dd>` : null}
      ${data.expiresAt ? html`<dt>Expires</dt><dd>${fmtTime(data.expiresAt)}</dd>` : null}
      ${data.startedAt ? html`<dt>Started</dt><dd>${fmtTime(data.startedAt)}</dd>` : null}
      ${data.finishedAt ? html`<dt>Finished</dt><dd>${fmtTime(data.finishedAt)}</dd>` : null}
      ${data.progress !== undefined ? html`<dt>Progress</dt><dd class="mono">${JSON.stringify(data.progress)}</dd>` : null}
    </dl>
    <h3>Arguments</h3><pre data-args>${JSON.stringify(data.args, null, 2)}</pre>
    ${data.result !== undefined ? html`<h3>Result</h3><pre>${JSON.stringify(data.result, null, 2)}</pre>` : null}
    ${data.error ? html`<h3>Error</h3><${ErrorChain} error=${data.error} />` : null}
    <h3>Timeline</h3>
    <ol class="timeline">${data.timeline.map((e) => html`<li>${fmtTime(e.at)}: <strong>${e.type}</strong>${e.attempt ? ` (attempt ${e.attempt})` : ''}${e.recovered ? ', recovered' : ''}${e.runAt ? `, next run ${fmtTime(e.runAt)}` : ''}${e.error ? ` — ${e.error}` : ''}${e.progress !== undefined ? ` — ${JSON.stringify(e.progress)}` : ''}</li>`)}</ol>`;
}

export function Tasks() {
  const [data, error] = useLive('./api/tasks', { everyMs: 2000 });
  return html`<h2>Tasks</h2><${Problem} error=${error} />
    ${
      data
        ? html`<table><caption class="sr-only">Tasks</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Defined in</th><th scope="col">Options</th><th scope="col">Received</th><th scope="col">Succeeded</th><th scope="col">Failed</th><th scope="col">Retried</th><th scope="col">Mean run time</th></tr></thead>
      <tbody>${data.tasks.map(
        (t) => html`<tr key=${t.name}><td><a href=${`#/jobs?task=${encodeURIComponent(t.name)}`}>${t.name}</a></td>
        <td class="mono">${t.file}:${t.line}${t.plugin ? ` (plugin ${t.plugin})` : ''}</td>
        <td class="mono">priority ${t.options.priority}, timeout ${t.options.timeoutMs ? fmtMs(t.options.timeoutMs) : 'none'}, maxRetries ${t.options.maxRetries}, retryDelay ${fmtMs(t.options.retryDelayMs)}</td>
        <td>${t.stats.received}</td><td>${t.stats.succeeded}</td><td>${t.stats.failed}</td><td>${t.stats.retried}</td><td>${fmtMs(t.stats.meanRunMs)}</td></tr>`,
      )}</tbody></table>
      <p class="note">Counts and run times since the dashboard started (${fmtTime(data.since)}).</p>`
        : null
    }`;
}

export function Schedules({ readOnly }) {
  const [data, error, load] = useLive('./api/schedules', { everyMs: 2000 });
  const [message, setMessage] = useState(null);
  if (!data) return html`<h2>Schedules</h2><${Problem} error=${error} />`;
  if (!data.available || data.schedules.length === 0)
    return html`<h2>Schedules</h2><p class="empty">No periodic tasks are defined in this app.</p>`;
  const run = (name) =>
    postJson(`./api/schedules/${encodeURIComponent(name)}/run`).then(
      (r) => {
        setMessage(`Sent: ${r.id}`);
        load();
      },
      (e) => setMessage(e.message),
    );
  return html`<h2>Schedules</h2><${Problem} error=${error} />${message ? html`<p role="status">${message}</p>` : null}
    <table><caption class="sr-only">Periodic tasks</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Task</th><th scope="col">When</th><th scope="col">Next run</th><th scope="col">Last run</th>${data.canRun && !readOnly ? html`<th scope="col">Action</th>` : null}</tr></thead>
    <tbody>${data.schedules.map(
      (
        s,
      ) => html`<tr key=${s.name}><td>${s.name}</td><td>${s.task}</td><td class="mono">${s.pattern}</td><td>${fmtTime(s.next && new Date(s.next).getTime())}</td><td>${fmtTime(s.last && new Date(s.last).getTime())}</td>
      ${data.canRun && !readOnly ? html`<td><button type="button" onClick=${() => run(s.name)}>Run now<span class="sr-only"> ${s.name}</span></button></td>` : null}</tr>`,
    )}</tbody></table>`;
}

export function Workers() {
  const [data, error] = useLive('./api/workers', { everyMs: 2000 });
  if (!data) return html`<h2>Workers</h2><${Problem} error=${error} />`;
  if (!data.available) return html`<h2>Workers</h2><p class="empty">This source does not report its worker threads.</p>`;
  return html`<h2>Workers</h2>
    <dl class="facts"><dt>Code generation</dt><dd>${data.generation} ${data.generation === 0 ? '(as started)' : '(hot reloads so far)'}</dd>
      <dt>Busy slots</dt><dd>${data.busy} of ${data.slots}</dd>
      <dt>Memory (process)</dt><dd>rss ${fmtBytes(data.memory.rss)}, heap ${fmtBytes(data.memory.heapUsed)} of ${fmtBytes(data.memory.heapTotal)}${data.maxMemoryMb ? `; limit per thread ${data.maxMemoryMb} MB` : ''}</dd></dl>
    <h3>Threads</h3>
    <table><caption class="sr-only">Worker threads</caption>
    <thead><tr><th scope="col">Thread</th><th scope="col">State</th><th scope="col">Jobs in flight</th><th scope="col">Event loop busy</th></tr></thead>
    <tbody>${data.threads.map((t) => html`<tr key=${t.threadId}><td>${t.threadId}</td><td>${t.state}</td><td>${t.inFlight}</td><td>${(t.utilization * 100).toFixed(1)} %</td></tr>`)}</tbody></table>`;
}

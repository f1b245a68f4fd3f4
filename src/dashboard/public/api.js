// Talking to the server: JSON requests and the live event stream.
export async function getJson(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

export async function postJson(path) {
  const res = await fetch(path, { method: 'POST', headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

/** Listeners told of each batch of job events (and of `reset`: reload everything). */
const listeners = new Set();
let source;
export const liveState = { connected: false, onChange: () => {} };

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function startLive() {
  if (source) return;
  // EventSource reconnects by itself and sends Last-Event-ID; the server replays what was missed.
  source = new EventSource('./api/events');
  const tell = (kind, batch) => {
    for (const fn of listeners) fn(kind, batch);
  };
  source.addEventListener('open', () => {
    liveState.connected = true;
    liveState.onChange();
  });
  source.addEventListener('error', () => {
    liveState.connected = false;
    liveState.onChange();
  });
  source.addEventListener('batch', (e) => tell('batch', JSON.parse(e.data)));
  source.addEventListener('reset', () => tell('reset', null));
}

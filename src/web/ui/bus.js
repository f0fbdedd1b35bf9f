// The one server-push connection (SSE) the pages share: 'journey', 'health' and 'alerts' events,
// re-dispatched on `bus`. Its query: the Live page's range and traffic choice, and the topics the
// page on show needs (the journey figures and health only for Live; alerts always, for the badge).

export const bus = new EventTarget();
const stream = { source: null, params: { traffic: 'all', last: '60', topics: 'alerts' } };

/** Changes the query; reconnects when it changed (or was never connected). */
export function setStreamParams(params) {
  const next = { ...stream.params, ...params };
  if (stream.source && JSON.stringify(next) === JSON.stringify(stream.params)) return;
  stream.params = next;
  connect();
}

function connect() {
  stream.source?.close();
  const es = new EventSource(`/api/stream?${new URLSearchParams(stream.params)}`);
  stream.source = es;
  const conn = document.getElementById('conn');
  es.onopen = () => {
    conn.textContent = 'live';
    conn.className = 'conn ok';
  };
  es.onerror = () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'conn bad';
  };
  for (const name of ['journey', 'health', 'alerts'])
    es.addEventListener(name, (e) =>
      bus.dispatchEvent(new CustomEvent(name, { detail: JSON.parse(e.data) })),
    );
}

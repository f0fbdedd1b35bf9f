// The one server-push connection (SSE) the pages share: 'journey', 'health' and 'alerts' events,
// re-dispatched on `bus`. The Live page's range and traffic choice are its query.

/** Server push: 'journey', 'health' and 'alerts' events, re-dispatched on `bus`. */
export const bus = new EventTarget();
const stream = { source: null, params: { traffic: 'all', last: '60' } };

export function setStreamParams(params) {
  Object.assign(stream.params, params);
  connect();
}

export function connect() {
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

// Alerts: the feed as detection fires (server push), filters, evidence, detection delay,
// acknowledge and mute (kept in the alert store), and a user's recent events on a timeline.
import { bus } from './bus.js';
import { timeChart } from './charts.js';
import { api, card, csvButton, el, fill, fmt, table } from './dom.js';

// Rows in the table: a longer one costs the browser a relayout of all of it on each push.
const KEEP = 200;
const byId = new Map();
let mutes = [];
const filters = { rule: '', severity: '', keyType: '', user: '', hideAck: false };
// What an alert can be about: a user or session, all traffic, or a product, category or brand.
const KEY_TYPES = ['user', 'session', 'global', 'product', 'category', 'brand'];
let tableBox;
let drill;
let drillChart;

const delayOf = (a) => {
  const sent = a.evidence?.trigger?.txn_timestamp;
  return sent ? Date.parse(a.detected_at) - Date.parse(sent) : null;
};
const keyText = (a) => (a.key_type === 'global' ? 'all traffic' : `${a.key_type} ${a.key}`);
const mutedUntil = (a) => mutes.find((m) => m.keyType === a.key_type && m.key === a.key)?.until;

function matches(a) {
  return (
    (!filters.rule || a.rule === filters.rule) &&
    (!filters.severity || a.severity === filters.severity) &&
    (!filters.keyType || a.key_type === filters.keyType) &&
    (!filters.user || String(a.user_id) === filters.user)
  );
}

export function mount(root) {
  const rule = el(
    'select',
    { id: 'f-rule', onchange: (e) => ((filters.rule = e.target.value), load()) },
    el('option', { value: '', text: 'all rules' }),
  );
  const severity = el(
    'select',
    { id: 'f-severity', onchange: (e) => ((filters.severity = e.target.value), load()) },
    ['', 'high', 'medium', 'low'].map((s) => el('option', { value: s, text: s || 'all severities' })),
  );
  const keyType = el(
    'select',
    { id: 'f-key-type', onchange: (e) => ((filters.keyType = e.target.value), load()) },
    ['', ...KEY_TYPES].map((k) => el('option', { value: k, text: k || 'all keys' })),
  );
  const user = el('input', {
    id: 'f-user',
    type: 'search',
    inputmode: 'numeric',
    placeholder: 'user_id',
    size: 12,
  });
  user.addEventListener('change', () => {
    filters.user = user.value.trim();
    load();
  });
  const hideAck = el('input', {
    id: 'f-ack',
    type: 'checkbox',
    onchange: (e) => ((filters.hideAck = e.target.checked), render()),
  });
  tableBox = el('div', { 'data-testid': 'alerts-feed' });
  drill = el(
    'div',
    { id: 'drill', 'data-testid': 'user-drill' },
    el('p', {
      class: 'muted',
      text: 'Choose “events” on an alert of a user to see the user’s recent events here.',
    }),
  );
  fill(
    root,
    el(
      'div',
      { class: 'toolbar' },
      el('h1', { text: 'Alerts' }),
      el('label', {}, 'Rule ', rule),
      el('label', {}, 'Severity ', severity),
      el('label', {}, 'Key ', keyType),
      el('label', {}, 'User ', user),
      el('label', {}, hideAck, ' hide acknowledged'),
      csvButton('alerts', () => ({
        columns: [
          'detected_at',
          'severity',
          'rule',
          'key_type',
          'key',
          'user_id',
          'count',
          'score',
          'window_start',
          'acknowledged_at',
        ],
        rows: visible(),
      })),
    ),
    el('div', { class: 'grid main-side wide' }, card('Feed', tableBox), card('User drill-down', drill)),
  );
  bus.addEventListener('alerts', (e) => addPushed(e.detail));
  load(rule);
}

async function load(ruleSelect) {
  const q = new URLSearchParams({ limit: String(KEEP) });
  for (const k of ['rule', 'severity', 'keyType', 'user']) if (filters[k]) q.set(k, filters[k]);
  try {
    const data = await api(`/api/alerts?${q}`);
    if (ruleSelect) for (const r of data.rules) ruleSelect.append(el('option', { value: r, text: r }));
    byId.clear();
    for (const a of data.alerts) byId.set(a.id, a);
    mutes = data.mutes;
    render();
  } catch (err) {
    fill(tableBox, el('p', { class: 'error', role: 'alert', text: err.message }));
  }
}

function visible() {
  return [...byId.values()]
    .filter((a) => matches(a) && !(filters.hideAck && a.acknowledged_at))
    .sort((a, b) => b.detected_at.localeCompare(a.detected_at) || a.id.localeCompare(b.id))
    .slice(0, KEEP);
}

async function acknowledge(a) {
  await api('/api/alerts/ack', { method: 'POST', body: { ids: [a.id] } });
  byId.set(a.id, { ...a, acknowledged_at: new Date().toISOString() });
  render();
}

async function mute(a, minutes) {
  const data = await api('/api/mutes', {
    method: 'POST',
    body: { keyType: a.key_type, key: a.key, minutes },
  });
  mutes = data.mutes;
  render();
}

function evidence(a) {
  const samples = a.evidence?.samples ?? [];
  const { samples: _s, trigger: _t, ...rest } = a.evidence ?? {};
  return el(
    'details',
    {},
    el('summary', { text: `${samples.length} sample events` }),
    el('p', {
      class: 'muted small',
      text: Object.entries(rest)
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
        .join(' · '),
    }),
    samples.length ? table(['event_time', 'event_type', 'product_id', 'category_id'], samples) : null,
  );
}

function actions(a) {
  const until = mutedUntil(a);
  return el(
    'span',
    { class: 'actions' },
    a.acknowledged_at
      ? el('span', { class: 'muted small', text: `ack ${fmt.time(a.acknowledged_at).slice(11)}` })
      : el('button', {
          type: 'button',
          class: 'small',
          text: 'Ack',
          'aria-label': `Acknowledge alert ${a.rule} ${keyText(a)}`,
          onclick: () => acknowledge(a),
        }),
    until
      ? el('button', {
          type: 'button',
          class: 'small ghost',
          text: 'Unmute',
          title: `muted until ${fmt.time(until)}`,
          onclick: () => mute(a, 0),
        })
      : el('button', {
          type: 'button',
          class: 'small ghost',
          text: 'Mute 1h',
          'aria-label': `Mute ${keyText(a)} for an hour`,
          onclick: () => mute(a, 60),
        }),
    a.user_id !== null
      ? el('button', {
          type: 'button',
          class: 'small ghost',
          text: 'Events',
          'aria-label': `Recent events of user ${a.user_id}`,
          onclick: () => showUser(a.user_id),
        })
      : null,
  );
}

const COLUMNS = ['detected', 'severity', 'rule', 'key', 'count', 'score', 'delay', 'evidence', ''];
const NUMERIC = new Set(['count', 'score', 'delay']);
const CELLS = {
  detected: (a) =>
    el('time', { datetime: a.detected_at, title: a.detected_at, text: fmt.time(a.detected_at).slice(11) }),
  severity: (a) => el('span', { class: `sev sev-${a.severity}`, text: a.severity }),
  key: (a) => el('span', { class: 'nowrap', text: keyText(a) }),
  rule: (a) => el('span', { class: 'nowrap', text: a.rule }),
  count: (a) => fmt.n(a.count),
  score: (a) => fmt.n1(a.score),
  delay: (a) => fmt.ms(delayOf(a)),
  evidence,
  '': actions,
};
let tbody;
let countLine;

function rowFor(a, fresh = false) {
  const state = `${fresh ? 'fresh' : ''} ${mutedUntil(a) ? 'is-muted' : ''} ${a.acknowledged_at ? 'is-acked' : ''}`;
  return el(
    'tr',
    { 'data-id': a.id, 'data-detected': a.detected_at, class: state.trim() || undefined },
    COLUMNS.map((c) => el('td', { class: NUMERIC.has(c) ? 'num' : undefined }, CELLS[c](a))),
  );
}

const showCount = () => (countLine.textContent = `${fmt.n(tbody.childElementCount)} alerts shown`);

/** The whole table again: after a load, a filter, an acknowledgement or a mute. */
function render() {
  tbody = el(
    'tbody',
    {},
    visible().map((a) => rowFor(a)),
  );
  countLine = el('p', { class: 'muted', 'data-testid': 'alerts-count' });
  fill(
    tableBox,
    countLine,
    el(
      'div',
      { class: 'table-wrap', 'data-testid': 'alerts-table' },
      el(
        'table',
        {},
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            COLUMNS.map((c) =>
              el('th', { scope: 'col', class: NUMERIC.has(c) ? 'num' : undefined, text: c }),
            ),
          ),
        ),
        tbody,
      ),
    ),
  );
  showCount();
}

/** Pushed alerts go on top of the table as they come, without rebuilding it. */
function addPushed(alerts) {
  const fresh = alerts.filter((a) => matches(a) && !byId.has(a.id));
  for (const a of fresh) byId.set(a.id, a);
  if (!tbody || fresh.length === 0) return;
  fresh.sort((a, b) => b.detected_at.localeCompare(a.detected_at) || a.id.localeCompare(b.id));
  const newestShown = tbody.firstElementChild?.dataset.detected;
  // One detected before what is shown (another process's backlog) goes where it belongs: rebuild.
  if (newestShown && fresh[fresh.length - 1].detected_at < newestShown) return render();
  // The previous push's rows are no longer new: one class change each, no animation to repaint.
  for (const tr of tbody.querySelectorAll('tr.fresh')) tr.classList.remove('fresh');
  tbody.prepend(...fresh.map((a) => rowFor(a, true)));
  while (tbody.childElementCount > KEEP) tbody.lastElementChild.remove();
  if (byId.size > 2 * KEEP) {
    const keep = new Set(visible().map((a) => a.id));
    for (const id of byId.keys()) if (!keep.has(id)) byId.delete(id);
  }
  showCount();
}

const LANES = ['view', 'cart', 'remove_from_cart', 'purchase'];

async function showUser(userId) {
  fill(drill, el('p', { class: 'muted', text: `loading user ${userId}…` }));
  // Below the feed on narrower screens: bring it into view.
  drill.scrollIntoView({ block: 'nearest' });
  try {
    const u = await api(`/api/users/${encodeURIComponent(userId)}`);
    const box = el('div', { class: 'chart small-chart', 'data-testid': 'chart-user' });
    const events = [...u.events].reverse();
    fill(
      drill,
      el('h3', {
        text: `user ${u.userId}: ${fmt.n(u.events.length)} recent events, ${fmt.n(u.alerts.length)} alerts`,
      }),
      el('p', {
        class: 'muted small',
        text: 'from the lake, which the pipeline writes every few seconds',
      }),
      box,
      table(['event_time', 'event_type', 'product_id', 'brand', 'price'], u.events.slice(0, 50)),
    );
    drillChart?.destroy();
    drillChart = timeChart(
      box,
      LANES.map((l) => ({ label: l, points: true })),
      {
        height: 180,
        yValues: (u, splits) => splits.map((v) => (LANES[v - 1] ?? '').replace('_from_cart', '')),
        data: [
          events.map(
            (e) => Date.parse(e.event_time.endsWith('Z') ? e.event_time : `${e.event_time}Z`) / 1000,
          ),
          ...LANES.map((l, i) => events.map((e) => (e.event_type === l ? i + 1 : null))),
        ],
      },
    );
  } catch (err) {
    fill(drill, el('p', { class: 'error', role: 'alert', text: err.message }));
  }
}

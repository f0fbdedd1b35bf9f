// Live: the journey figures pushed every second (events by type, users, sessions, funnel, top lists,
// cart abandonment), for all traffic, people only or flagged traffic; pipeline health beside them.
import { bus, setStreamParams } from './bus.js';
import { timeChart } from './charts.js';
import { card, el, fill, fmt, table } from './dom.js';

const TYPES = ['view', 'cart', 'purchase', 'remove_from_cart'];
let chart;
const k = {};
let previous;

function kpi(id, label) {
  k[id] = el('output', { class: 'kpi-value', 'data-testid': `kpi-${id}`, text: '–' });
  return el('div', { class: 'kpi' }, el('span', { class: 'kpi-label', text: label }), k[id]);
}

function choice(name, options, selected, onchange) {
  return el(
    'fieldset',
    { class: 'segmented' },
    el('legend', { class: 'sr-only', text: name }),
    options.map(([value, label]) =>
      el(
        'label',
        {},
        el('input', {
          type: 'radio',
          name,
          value,
          checked: value === selected,
          onchange: () => onchange(value),
        }),
        el('span', { text: label }),
      ),
    ),
  );
}

export function mount(root) {
  const lists = el('div', { class: 'grid three', id: 'live-top' });
  const funnel = el('div', { id: 'live-funnel' });
  const abandon = el('div', { id: 'live-abandon' });
  const healthBox = el(
    'div',
    { id: 'live-health', 'data-testid': 'live-health' },
    el('p', { class: 'muted', text: 'waiting for the pipeline…' }),
  );
  const chartBox = el('div', { class: 'chart', 'data-testid': 'chart-events' });
  const range = el('p', { class: 'muted range', id: 'live-range', text: 'waiting for the first figures…' });
  fill(
    root,
    el(
      'div',
      { class: 'toolbar' },
      el('h1', { text: 'Live shopping journey' }),
      choice(
        'range',
        [
          ['15', '15 min'],
          ['60', '1 h'],
          ['360', '6 h'],
          ['1440', '24 h'],
        ],
        '60',
        (v) => setStreamParams({ last: v }),
      ),
      choice(
        'traffic',
        [
          ['all', 'All traffic'],
          ['people', 'Without bots'],
          ['flagged', 'Flagged only'],
        ],
        'all',
        (v) => setStreamParams({ traffic: v }),
      ),
    ),
    range,
    el(
      'div',
      { class: 'kpis' },
      kpi('events', 'events'),
      kpi('ingest', 'ingest events/s'),
      kpi('rate', 'events/s (event time)'),
      kpi('users', 'users'),
      kpi('sessions', 'sessions'),
      kpi('revenue', 'revenue'),
      kpi('flagged', 'flagged share of events'),
    ),
    el(
      'div',
      { class: 'grid main-side' },
      card('Events per second by type (event time)', chartBox),
      card('Pipeline health', healthBox),
    ),
    el(
      'div',
      { class: 'grid two' },
      card('Funnel (sessions that ended)', funnel),
      card('Cart abandonment', abandon),
    ),
    lists,
  );
  chart = timeChart(
    chartBox,
    TYPES.map((t) => ({ label: t })),
    { yLabel: 'events/s' },
  );
  bus.addEventListener('journey', (e) => render(e.detail));
  bus.addEventListener('health', (e) => renderHealth(healthBox, e.detail));
}

let shown = '';

function render(f) {
  if (!f) return;
  // Nothing new since the last push (an idle pipeline): leave the page as it is.
  const signature = `${f.status?.updatedAt}|${f.range.from}|${f.range.to}|${f.traffic}`;
  if (signature === shown) return;
  shown = signature;
  const t = f.totals;
  document.getElementById('live-range').textContent =
    `${fmt.time(f.range.from)} → ${fmt.time(f.range.to)} UTC · ${f.range.buckets} ${f.range.grain}s` +
    (f.status ? ` · newest event ${fmt.time(f.status.newest)}` : '');
  const now = f.status && { events: f.status.events, at: Date.parse(f.status.updatedAt) };
  if (now && previous && now.at > previous.at)
    k.ingest.textContent = fmt.n(((now.events - previous.events) * 1000) / (now.at - previous.at));
  if (now && (!previous || now.at > previous.at)) previous = now;
  k.events.textContent = fmt.n(t.events);
  k.rate.textContent = fmt.n1(t.eventsPerSecond);
  k.users.textContent = fmt.n(t.users);
  k.sessions.textContent = fmt.n(t.sessions);
  k.revenue.textContent = fmt.money(t.revenue);
  k.flagged.textContent = fmt.pct(f.flagged.share);
  k.flagged.title = `${fmt.n(f.flagged.events)} events of ${fmt.n(f.flagged.users)} flagged users`;
  const secs = f.range.grain === 'hour' ? 3600 : 60;
  chart.set([
    f.series.map((s) => Date.parse(s.start) / 1000),
    ...TYPES.map((type) => f.series.map((s) => (type in s ? s[type] / secs : null))),
  ]);
  renderFunnel(f);
  renderLists(f);
}

function bar(label, value, of, note) {
  const share = of > 0 ? value / of : 0;
  const fillBar = el('span', { class: 'bar-fill' });
  fillBar.style.width = `${Math.round(share * 1000) / 10}%`;
  return el(
    'div',
    { class: 'bar-row' },
    el('span', { class: 'bar-label', text: label }),
    el('span', { class: 'bar', role: 'img', 'aria-label': `${label}: ${fmt.n(value)}` }, fillBar),
    el('span', { class: 'bar-value', text: `${fmt.n(value)}${note ? ` (${note})` : ''}` }),
  );
}

function renderFunnel(f) {
  const u = f.funnel;
  fill(
    document.getElementById('live-funnel'),
    bar('sessions', u.sessions, u.sessions),
    bar('viewed', u.viewed, u.sessions),
    bar('→ carted', u.carted, u.sessions, fmt.pct(u.viewToCart)),
    bar('→ purchased', u.purchased, u.sessions, fmt.pct(u.cartToPurchase)),
    el('p', {
      class: 'muted',
      text: `session length p50 ${fmt.n(f.sessions.lengthSeconds.p50)} s, p90 ${fmt.n(f.sessions.lengthSeconds.p90)} s · events p50 ${fmt.n(f.sessions.events.p50)}`,
    }),
  );
  const a = f.abandonment;
  fill(
    document.getElementById('live-abandon'),
    el(
      'p',
      { class: 'big', 'data-testid': 'abandon-rate' },
      `${fmt.pct(a.rate)} `,
      el('span', {
        class: 'muted',
        text: `${fmt.n(a.abandoned)} of ${fmt.n(a.sessionsWithCart)} carts left · value ${fmt.money(a.value)}`,
      }),
    ),
    table(['product_id', 'carts', 'value'], a.products.slice(0, 5), {
      cells: { value: (r) => fmt.money(r.value) },
    }),
  );
}

function renderLists(f) {
  const list = (title, rows, measure, show = fmt.n) =>
    card(title, table(['key', measure], rows, { cells: { [measure]: (r) => show(r[measure]) } }));
  fill(
    document.getElementById('live-top'),
    list('Top categories (views)', f.top.categories.views, 'views'),
    list('Top brands (revenue)', f.top.brands.revenue, 'revenue', fmt.money),
    list('Top products (purchases)', f.top.products.purchases, 'purchases'),
  );
}

function renderHealth(box, h) {
  const lag = h.lag;
  fill(
    box,
    el(
      'dl',
      { class: 'facts' },
      el('dt', { text: 'consumer lag' }),
      el('dd', {
        'data-testid': 'health-lag',
        text: lag ? `${fmt.n(lag.shards.reduce((s, x) => s + (x.lagRecords ?? 0), 0))} records` : '–',
      }),
      el('dt', { text: 'dead letters' }),
      el('dd', { 'data-testid': 'health-deadletters', text: fmt.n(h.deadLetters) }),
      el('dt', { text: 'late events' }),
      el('dd', { text: `${fmt.n(h.late.detector)} detection · ${fmt.n(h.late.journey)} journey` }),
      el('dt', { text: 'outbox backlog' }),
      el('dd', {
        text: h.outbox ? `${fmt.n(h.outbox.pending)} pending · ${fmt.n(h.outbox.dead)} dead` : '–',
      }),
      el('dt', { text: 'journey updated' }),
      el('dd', { text: h.journey ? fmt.time(h.journey.updatedAt) : '–' }),
    ),
    lag
      ? table(
          ['shard', 'lag'],
          lag.shards.map((s) => ({ shard: s.shardId.replace('shardId-', ''), lag: s.lagRecords })),
          { testid: 'health-shards' },
        )
      : null,
  );
}

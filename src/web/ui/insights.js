// Insights: every batch report (sql/*.sql on DuckDB over the lake) over a chosen date range and
// traffic (people only by default: flagged bots left out), each table as a chart and a table, with
// CSV download. The chart is the one the report's SQL file names (`-- @chart`), served ready to draw.
import { barChart, timeChart } from './charts.js';
import { api, card, csvButton, el, fill, table } from './dom.js';

let reportsBox;
const charts = [];
const CHART_ROWS = 40;

export function mount(root) {
  const from = el('input', { type: 'date', id: 'i-from' });
  const to = el('input', { type: 'date', id: 'i-to' });
  const traffic = el(
    'select',
    { id: 'i-traffic' },
    el('option', { value: 'people', text: 'People (flagged bots left out)' }),
    el('option', { value: 'all', text: 'All traffic' }),
    el('option', { value: 'flagged', text: 'Flagged bots only' }),
  );
  reportsBox = el('div', { class: 'stack', 'data-testid': 'reports' });
  const form = el(
    'form',
    {
      class: 'toolbar',
      onsubmit: (e) => {
        e.preventDefault();
        load(from.value, to.value, traffic.value);
      },
    },
    el('h1', { text: 'Insights' }),
    el('label', {}, 'From ', from),
    el('label', {}, 'To (inclusive) ', to),
    el('label', {}, 'Traffic ', traffic),
    el('button', { type: 'submit', text: 'Run reports' }),
  );
  fill(
    root,
    form,
    el('p', {
      class: 'muted',
      text: 'The batch reports over the Parquet lake, as on Athena. Empty dates: the whole lake.',
    }),
    reportsBox,
  );
}

export function show() {
  if (reportsBox.childElementCount === 0) load('', '', 'people');
}

/** The table's chart as the server made it ({kind, x, series}); text when there is nothing to draw. */
function chartOf(t) {
  const c = t.chart;
  const drawn = c && c.series.some((s) => s.values.some((v) => typeof v === 'number'));
  if (!drawn)
    return el('p', {
      class: 'muted',
      text: c?.kind === 'table' ? 'no chart for this table' : 'no rows to chart',
    });
  const box = el('div', { class: 'chart', 'data-testid': 'chart-report' });
  const names = c.series.map((s) => s.name);
  const values = c.series.map((s) => s.values.slice(0, CHART_ROWS));
  queueMicrotask(() => {
    // A line through one point shows nothing: one day's figures are drawn as bars, as a kpi.
    if (c.kind === 'line' && c.x.values.length > 1) {
      const at = (v) => Date.parse(String(v).length === 10 ? `${v}T00:00:00Z` : v) / 1000;
      charts.push(
        timeChart(
          box,
          names.map((label) => ({ label })),
          { data: [c.x.values.slice(0, CHART_ROWS).map(at), ...values] },
        ),
      );
    } else if (c.kind === 'kpi' || c.kind === 'line') {
      charts.push(barChart(box, names, ['value'], [c.series.map((s) => s.values[0])]));
    } else {
      charts.push(barChart(box, c.x.values.slice(0, CHART_ROWS).map(String), names, values));
    }
  });
  return box;
}

async function load(from, to, traffic) {
  for (const c of charts.splice(0)) c.destroy();
  fill(reportsBox, el('p', { class: 'muted', role: 'status', text: 'running the reports…' }));
  let list;
  try {
    list = await api('/api/reports');
  } catch (err) {
    fill(reportsBox, el('p', { class: 'error', role: 'alert', text: err.message }));
    return;
  }
  const q = new URLSearchParams({ traffic });
  if (from) q.set('from', from);
  if (to) q.set('to', new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10));
  const cards = list.map((r) => {
    const body = el('div', {}, el('p', { class: 'muted', text: 'running…' }));
    return { r, body, node: card(r.title, el('p', { class: 'muted', text: r.description }), body) };
  });
  fill(
    reportsBox,
    cards.map((c) => c.node),
  );
  // One after another: DuckDB uses every core for each.
  for (const { r, body } of cards) {
    try {
      const result = await api(`/api/reports/${encodeURIComponent(r.name)}?${q}`);
      fill(
        body,
        result.tables.map((t) =>
          el(
            'section',
            { class: 'report-table', 'data-report': `${r.name}.${t.name}` },
            el(
              'div',
              { class: 'row' },
              el('h3', { text: t.name }),
              csvButton(`${r.name}-${t.name}`, () => t),
            ),
            chartOf(t),
            table(t.columns, t.rows),
            t.truncated ? el('p', { class: 'muted small', text: 'more rows exist than shown' }) : null,
          ),
        ),
      );
    } catch (err) {
      fill(body, el('p', { class: 'error', role: 'alert', text: err.message }));
    }
  }
}

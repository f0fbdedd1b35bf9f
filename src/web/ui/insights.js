// Insights: every batch report (sql/*.sql on DuckDB over the lake) over a chosen date range, each
// table as a chart and a table, with CSV download.
import { barChart, timeChart } from './charts.js';
import { api, card, csvButton, el, fill, table } from './dom.js';

let reportsBox;
const charts = [];
const CHART_ROWS = 40;

export function mount(root) {
  const from = el('input', { type: 'date', id: 'i-from' });
  const to = el('input', { type: 'date', id: 'i-to' });
  reportsBox = el('div', { class: 'stack', 'data-testid': 'reports' });
  const form = el(
    'form',
    {
      class: 'toolbar',
      onsubmit: (e) => {
        e.preventDefault();
        load(from.value, to.value);
      },
    },
    el('h1', { text: 'Insights' }),
    el('label', {}, 'From ', from),
    el('label', {}, 'To (inclusive) ', to),
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
  if (reportsBox.childElementCount === 0) load('', '');
}

const isTime = (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v);
const isMeasure = (c) => !/(_id|^rank|rank$|^hour$|^weekday$|^isodow$)/.test(c);

/**
 * What to draw for a table: over time (two rows or more, dated first column): lines of up to three
 * measures of comparable size; one row: its measures side by side; otherwise: bars of the first
 * measure by the row's label. The table beside it has every column.
 */
function chartPlan(t) {
  const rows = t.rows.slice(0, CHART_ROWS);
  const numeric = t.columns.filter(
    (c) => rows.length > 0 && rows.every((r) => r[c] === null || typeof r[c] === 'number'),
  );
  const label = t.columns.find((c) => !numeric.includes(c)) ?? t.columns[0];
  const measures = numeric.filter((c) => c !== label && isMeasure(c));
  if (measures.length === 0) return null;
  const max = (c) => Math.max(...rows.map((r) => Math.abs(r[c] ?? 0)));
  const comparable = (cols) => cols.filter((c) => max(c) >= max(cols[0]) / 20 && max(c) <= max(cols[0]) * 20);
  if (rows.length === 1) {
    const cols = comparable([...measures].sort((a, b) => max(b) - max(a)));
    return { kind: 'bars', labels: cols, series: ['value'], values: [cols.map((c) => rows[0][c])] };
  }
  if (label === t.columns[0] && rows.every((r) => isTime(r[label]))) {
    const cols = comparable(measures).slice(0, 3);
    const at = (v) => Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v) / 1000;
    return {
      kind: 'time',
      series: cols,
      data: [rows.map((r) => at(r[label])), ...cols.map((c) => rows.map((r) => r[c]))],
    };
  }
  const before = t.columns.slice(0, t.columns.indexOf(label) + 1).filter((c) => !measures.includes(c));
  return {
    kind: 'bars',
    labels: rows.map((r) => before.map((c) => r[c]).join(' · ')),
    series: [measures[0]],
    values: [rows.map((r) => r[measures[0]])],
  };
}

function chartOf(t) {
  const plan = chartPlan(t);
  if (!plan) return el('p', { class: 'muted', text: 'no numeric column to chart' });
  const box = el('div', { class: 'chart', 'data-testid': 'chart-report' });
  queueMicrotask(() =>
    charts.push(
      plan.kind === 'time'
        ? timeChart(
            box,
            plan.series.map((c) => ({ label: c })),
            { data: plan.data },
          )
        : barChart(box, plan.labels, plan.series, plan.values),
    ),
  );
  return box;
}

async function load(from, to) {
  for (const c of charts.splice(0)) c.destroy();
  fill(reportsBox, el('p', { class: 'muted', role: 'status', text: 'running the reports…' }));
  let list;
  try {
    list = await api('/api/reports');
  } catch (err) {
    fill(reportsBox, el('p', { class: 'error', role: 'alert', text: err.message }));
    return;
  }
  const q = new URLSearchParams();
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

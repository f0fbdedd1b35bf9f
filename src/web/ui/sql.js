// SQL: one read-only statement over the lake (the table `events`), enforced by DuckDB's own settings
// on the server, with example queries, results as a table and CSV download.
import { api, csvButton, el, fill, fmt, table } from './dom.js';

const EXAMPLES = [
  [
    'Events by type',
    'SELECT event_type, count(*) AS events\nFROM events\nGROUP BY event_type\nORDER BY events DESC',
  ],
  [
    'Busiest users today',
    'SELECT user_id, count(*) AS events\nFROM events\nWHERE event_date = (SELECT max(event_date) FROM events)\nGROUP BY user_id\nORDER BY events DESC\nLIMIT 20',
  ],
  [
    'Revenue by brand',
    "SELECT brand, round(sum(price), 2) AS revenue\nFROM events\nWHERE event_type = 'purchase' AND brand <> ''\nGROUP BY brand\nORDER BY revenue DESC\nLIMIT 20",
  ],
  ['Columns of the lake', 'DESCRIBE events'],
];

let text;
let out;

export function mount(root) {
  text = el('textarea', {
    id: 'sql-text',
    rows: 8,
    spellcheck: 'false',
    'aria-label': 'SQL statement',
    text: EXAMPLES[0][1],
  });
  out = el('div', { id: 'sql-result', 'aria-live': 'polite' });
  text.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') run();
  });
  fill(
    root,
    el('div', { class: 'toolbar' }, el('h1', { text: 'SQL over the lake' })),
    el('p', {
      class: 'muted',
      text: 'One read-only statement over the table events (the lake). Writes, file access and extensions are refused by DuckDB itself; at most 1,000 rows and 10 s. Ctrl+Enter runs.',
    }),
    el(
      'div',
      { class: 'row wrap' },
      EXAMPLES.map(([name, sql]) =>
        el('button', {
          type: 'button',
          class: 'ghost small',
          text: name,
          onclick: () => ((text.value = sql), run()),
        }),
      ),
    ),
    text,
    el('div', { class: 'row' }, el('button', { type: 'button', id: 'sql-run', text: 'Run', onclick: run })),
    out,
  );
}

async function run() {
  fill(out, el('p', { class: 'muted', role: 'status', text: 'running…' }));
  try {
    const r = await api('/api/sql', { method: 'POST', body: { sql: text.value } });
    fill(
      out,
      el(
        'div',
        { class: 'row' },
        el('p', {
          class: 'muted',
          'data-testid': 'sql-summary',
          text: `${fmt.n(r.rows.length)} rows${r.truncated ? ' (cut at the limit)' : ''} in ${fmt.ms(r.elapsedMs)}`,
        }),
        csvButton('query', () => r),
      ),
      table(r.columns, r.rows, { testid: 'sql-table' }),
    );
  } catch (err) {
    fill(out, el('p', { class: 'error', role: 'alert', id: 'sql-error', text: err.message }));
  }
}

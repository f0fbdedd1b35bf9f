// DOM helpers. Every value from the data goes in as text (textContent), never as markup: a dataset
// can carry `<script>` in a brand and it must show as those characters.

/** el('div', {class: 'x', onclick: fn}, child, 'text', …) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

const nf = new Intl.NumberFormat('en-US');
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const fmt = {
  n: (x) => (x === null || x === undefined ? '–' : nf.format(Math.round(x))),
  n1: (x) => (x === null || x === undefined ? '–' : nf1.format(x)),
  money: (x) => (x === null || x === undefined ? '–' : money.format(x)),
  pct: (x) => (x === null || x === undefined ? '–' : `${nf1.format(100 * x)}%`),
  time: (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '–'),
  ms: (x) =>
    x === null || x === undefined ? '–' : x < 1000 ? `${Math.round(x)} ms` : `${nf1.format(x / 1000)} s`,
  bytes: (b) => {
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) {
      b /= 1024;
      i++;
    }
    return `${i === 0 ? b : nf1.format(b)} ${u[i]}`;
  },
};

/** Identifiers are shown as they are (no thousands separators). */
const isIdColumn = (c) => /(^|_)id$/.test(c);

/** A value as table text: numbers formatted (identifiers not), instants readable, objects as JSON. */
export function cellText(v, column = '') {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' && isIdColumn(column)) return String(v);
  if (typeof v === 'number') return Number.isInteger(v) ? nf.format(v) : nf1.format(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) return fmt.time(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A table of rows (objects) by columns; `cells[col]` may build a cell's content. */
export function table(columns, rows, { cells = {}, caption, testid, rowAttrs } = {}) {
  const numeric = columns.map(
    (c) => rows.length > 0 && rows.every((r) => r[c] === null || typeof r[c] === 'number'),
  );
  return el(
    'div',
    { class: 'table-wrap', 'data-testid': testid },
    el(
      'table',
      {},
      caption ? el('caption', { text: caption }) : null,
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          columns.map((c, i) => el('th', { scope: 'col', class: numeric[i] ? 'num' : '' }, c)),
        ),
      ),
      el(
        'tbody',
        {},
        rows.map((r) =>
          el(
            'tr',
            rowAttrs ? rowAttrs(r) : {},
            columns.map((c, i) =>
              el('td', { class: numeric[i] ? 'num' : '' }, cells[c] ? cells[c](r) : cellText(r[c], c)),
            ),
          ),
        ),
      ),
    ),
    rows.length === 0 ? el('p', { class: 'muted', text: 'no rows' }) : null,
  );
}

/** CSV text (RFC 4180) of rows by columns. */
export function toCsv(columns, rows) {
  const q = (v) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return (
    [columns.map(q).join(','), ...rows.map((r) => columns.map((c) => q(r[c])).join(','))].join('\r\n') +
    '\r\n'
  );
}

/** A button that downloads rows as a CSV file. */
export function csvButton(name, getTable) {
  return el('button', {
    type: 'button',
    class: 'ghost small',
    text: 'CSV',
    'aria-label': `Download ${name} as CSV`,
    onclick: () => {
      const { columns, rows } = getTable();
      const url = URL.createObjectURL(new Blob([toCsv(columns, rows)], { type: 'text/csv' }));
      const a = el('a', { href: url, download: `${name}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    },
  });
}

/** fetch JSON from the API; throws an Error with the server's message. */
export async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  const data = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(data.error ?? `${res.status} ${res.statusText}`);
  return data;
}

export function card(title, ...children) {
  return el('article', { class: 'card' }, el('h2', { text: title }), ...children);
}

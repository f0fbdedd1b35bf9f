// Health: components and versions, storage use in the data folder, pipeline health and the config
// in force (secrets masked by the server).
import { api, card, el, fill, fmt, table } from './dom.js';

let box;

export function mount(root) {
  box = el('div', { class: 'stack' });
  fill(
    root,
    el(
      'div',
      { class: 'toolbar' },
      el('h1', { text: 'Health' }),
      el('button', { type: 'button', class: 'ghost', text: 'Refresh', onclick: load }),
    ),
    box,
  );
}

export function show() {
  load();
}

async function load() {
  try {
    const h = await api('/api/health');
    const p = h.pipeline;
    fill(
      box,
      el(
        'div',
        { class: 'grid two' },
        card(
          'Components',
          table(['name', 'version'], h.components, { testid: 'health-components' }),
          el('p', {
            class: 'muted small',
            text: `data folder ${h.dataDir} · server up ${fmt.n(h.uptimeSeconds)} s`,
          }),
        ),
        card(
          'Pipeline',
          table(
            ['what', 'value'],
            [
              {
                what: 'consumer lag (records)',
                value: p.lag ? p.lag.shards.reduce((s, x) => s + (x.lagRecords ?? 0), 0) : '–',
              },
              { what: 'shards', value: p.lag ? p.lag.shards.length : '–' },
              { what: 'last checkpoint', value: p.lag?.checkpointAt ?? '–' },
              { what: 'dead letters', value: p.deadLetters },
              { what: 'late events (detection)', value: p.late.detector ?? '–' },
              { what: 'late events (journey)', value: p.late.journey ?? '–' },
              { what: 'notifications pending', value: p.outbox?.pending ?? '–' },
              { what: 'notifications dead', value: p.outbox?.dead ?? '–' },
              { what: 'newest event time', value: p.journey?.newest ?? '–' },
            ],
          ),
        ),
      ),
      card(
        'Storage',
        table(
          ['what', 'size', 'files', 'path'],
          h.storage.map((s) => ({ ...s, size: fmt.bytes(s.bytes) })),
          { testid: 'health-storage' },
        ),
      ),
      card(
        'Config in force (secrets masked)',
        el('pre', {
          class: 'config',
          'data-testid': 'health-config',
          text: JSON.stringify(h.config, null, 2),
        }),
      ),
    );
  } catch (err) {
    fill(box, el('p', { class: 'error', role: 'alert', text: err.message }));
  }
}

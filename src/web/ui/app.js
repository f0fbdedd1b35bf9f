// The dashboard's shell: pages by URL hash, one server-push connection (SSE) shared by the pages,
// and the light/dark theme. Pages are modules with mount(section) and, optionally, show().
import { bus, setStreamParams } from './bus.js';
import { retheme } from './charts.js';
import * as alerts from './alerts.js';
import * as health from './health.js';
import * as insights from './insights.js';
import * as live from './live.js';
import * as sql from './sql.js';

const pages = { live, alerts, insights, sql, health };
const mounted = new Set();

function route() {
  const name = location.hash.slice(1) in pages ? location.hash.slice(1) : 'live';
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.dataset.page !== name;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const section = document.getElementById(`page-${name}`);
  if (!mounted.has(name)) {
    mounted.add(name);
    pages[name].mount(section);
  }
  setStreamParams({ topics: name === 'live' ? 'journey,health,alerts' : 'alerts' });
  pages[name].show?.();
  document.title = `storepulse · ${name}`;
  if (name === 'alerts') {
    const badge = document.getElementById('alert-badge');
    badge.hidden = true;
    badge.textContent = '';
  }
}

function setupTheme() {
  const saved = localStorage.getItem('storepulse-theme');
  if (saved) document.documentElement.dataset.theme = saved;
  document.getElementById('theme').addEventListener('click', () => {
    const dark =
      document.documentElement.dataset.theme === 'dark' ||
      (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('storepulse-theme', next);
    retheme();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', retheme);
}

// New alerts while another page is open: a count on the Alerts tab.
bus.addEventListener('alerts', (e) => {
  if (location.hash === '#alerts') return;
  const badge = document.getElementById('alert-badge');
  badge.textContent = String(Number(badge.textContent || 0) + e.detail.length);
  badge.hidden = false;
});

setupTheme();
window.addEventListener('hashchange', route);
route();

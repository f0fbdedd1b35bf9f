/**
 * The dashboard server over a real data folder (SQLite alert store, a Parquet lake): its security
 * (headers, host, origin, token), the API the pages use, and server push of a new alert.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { StorepulseError } from '../../src/core/errors.js';
import { LakeWriter } from '../../src/lake/writer.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import { type Dashboard, startDashboard } from '../../src/web/server.js';
import { DataSources } from '../../src/web/sources.js';
import { testAlert } from '../helpers/alerts.js';
import { ev } from '../helpers/events.js';

const DAY = 86_400_000;
const TOKEN = 'a-token-of-twenty-chars';
const SECRET_URL = 'https://hooks.example.com/services/T000/B000/XXXXsecretpath';

let dir: string;
let store: SqliteAlertStore;
let sources: DataSources;
let open: Dashboard;
let locked: Dashboard;

function sourcesIn(d: string) {
  return new DataSources({
    dataDir: d,
    alerts: path.join(d, 'alerts.sqlite'),
    journey: path.join(d, 'journey.sqlite'),
    outbox: path.join(d, 'outbox.sqlite'),
    lakeDir: path.join(d, 'lake'),
    appServer: 'web-1',
  });
}

const base = {
  rules: ['user-burst'],
  port: 0,
  pushMs: 200,
  alertPollMs: 50,
};

/** Stream 1 in the folder (none is there: the lag shows as unknown). */
const streamIn = (d: string) => ({
  uri: 'embedded://ecommerce-raw-user-activity-stream-1',
  place: { dataDir: d, storePath: path.join(d, 'alerts.sqlite'), streams: DEFAULT_CONFIG.streams, shards: 2 },
  consumer: 'process',
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'sp-web-'));
  store = new SqliteAlertStore(path.join(dir, 'alerts.sqlite'), 'web-1');
  await store.put([testAlert(0), testAlert(1, { severity: 'medium', count: 6 })]);
  // Two days in the lake: 3 events on the first, 5 on the second, one brand carrying markup.
  const w = await LakeWriter.open({ lakeDir: path.join(dir, 'lake') });
  await w.write([0, 1, 2].map((i) => ({ event: ev(i, i * 1000) })));
  await w.write(
    [0, 1, 2, 3, 4].map((i) => ({
      event: ev(10 + i, DAY + i * 1000, { brand: i === 0 ? '<script>x()</script>' : 'b' }),
    })),
  );
  await w.close();
  sources = sourcesIn(dir);
  const config = {
    ...DEFAULT_CONFIG,
    actions: {
      ...DEFAULT_CONFIG.actions,
      notify: { ...DEFAULT_CONFIG.actions.notify, webhook: { url: SECRET_URL, secret: 'hmac-secret' } },
    },
  };
  open = await startDashboard({ ...base, stream: streamIn(dir), sources, config, host: '127.0.0.1' });
  locked = await startDashboard({
    ...base,
    stream: streamIn(dir),
    sources: sourcesIn(dir),
    config,
    host: '0.0.0.0',
    token: TOKEN,
  });
});

afterAll(async () => {
  await open?.close();
  await locked?.close();
  await sources?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (p: string, d = open) => new URL(p, d.url).toString();
const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url(p), {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: new URL(open.url).origin, ...headers },
    body: JSON.stringify(body),
  });

describe('dashboard server', () => {
  it('serves the pages with a CSP without inline scripts and the usual security headers', async () => {
    const res = await fetch(url('/'), { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await res.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(url('/vendor/uplot.js'))).status).toBe(200);
    expect((await fetch(url('/nothing.js'))).status).toBe(404);
    expect((await fetch(url('/%2e%2e/package.json'))).status).toBe(404);
  });

  it('answers only its own host names on loopback (DNS rebinding)', async () => {
    // fetch may not set Host: a plain request can.
    const status = (host: string) =>
      new Promise<number | undefined>((resolve, reject) =>
        http
          .get(url('/api/alerts'), { headers: { host } }, (res) => {
            res.resume();
            resolve(res.statusCode);
          })
          .on('error', reject),
      );
    expect(await status('evil.example')).toBe(421);
    expect(await status(`localhost:${open.port}`)).toBe(200);
  });

  it('refuses writes from other origins', async () => {
    const a = testAlert(0);
    expect((await post('/api/alerts/ack', { ids: [a.id] }, { origin: 'http://evil.example' })).status).toBe(
      403,
    );
    const res = await post('/api/alerts/ack', { ids: [a.id] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ acknowledged: 1 });
  });

  it('lists alerts with filters, keeps acknowledgements and mutes in the store', async () => {
    const all = (await (await fetch(url('/api/alerts'))).json()) as {
      alerts: { id: string; acknowledged_at: string | null }[];
      rules: string[];
    };
    expect(all.alerts).toHaveLength(2);
    expect(all.rules).toEqual(['user-burst']);
    const high = (await (await fetch(url('/api/alerts?severity=high'))).json()) as { alerts: unknown[] };
    expect(high.alerts).toHaveLength(1);
    expect((await fetch(url('/api/alerts?severity=urgent'))).status).toBe(400);
    // Key types: the users' alerts, none on products; an unknown key type is refused.
    const byKey = async (k: string) =>
      ((await (await fetch(url(`/api/alerts?keyType=${k}`))).json()) as { alerts: unknown[] }).alerts;
    expect(await byKey('user')).toHaveLength(2);
    expect(await byKey('product')).toHaveLength(0);
    expect((await fetch(url('/api/alerts?keyType=shop'))).status).toBe(400);
    // A product can be muted like a user.
    expect((await post('/api/mutes', { keyType: 'product', key: '1004856', minutes: 1 })).status).toBe(200);
    await post('/api/mutes', { keyType: 'product', key: '1004856', minutes: 0 });
    const muted = await post('/api/mutes', { keyType: 'user', key: '541312141', minutes: 60 });
    expect(muted.status).toBe(200);
    expect(((await muted.json()) as { mutes: { key: string }[] }).mutes.map((m) => m.key)).toEqual([
      '541312141',
    ]);
    // Kept in the store: another reader sees them.
    expect((await store.mutes(new Date().toISOString())).map((m) => m.key)).toEqual(['541312141']);
    expect((await store.list({})).find((a) => a.id === testAlert(0).id)?.acknowledged_at).not.toBeNull();
  });

  it('pushes a new alert to an open page', async () => {
    const ctrl = new AbortController();
    const res = await fetch(url('/api/stream'), { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const fresh = testAlert(7, { detected_at: new Date().toISOString() });
    let text = '';
    const seen = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += Buffer.from(value).toString();
        if (text.includes(fresh.id)) return true;
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await store.put([fresh]);
    expect(await seen).toBe(true);
    expect(text).toMatch(/event: alerts\ndata: \[/);
    expect(text).toMatch(/event: health\n/);
    ctrl.abort();
    expect((await fetch(url('/api/stream?topics=alerts,gossip'))).status).toBe(400);
  });

  it('runs a report over a date range, and read-only SQL', async () => {
    type Report = { tables: { rows: Record<string, unknown>[] }[] };
    const whole = (await (await fetch(url('/api/reports/unique_visitors'))).json()) as Report;
    expect(whole.tables[0]!.rows).toHaveLength(2);
    const day2 = (await (
      await fetch(url('/api/reports/unique_visitors?from=2019-10-02&to=2019-10-03'))
    ).json()) as Report;
    expect(day2.tables[0]!.rows).toHaveLength(1);
    expect((await fetch(url('/api/reports/nope'))).status).toBe(404);
    const ok = await post('/api/sql', { sql: 'SELECT brand FROM events WHERE brand LIKE $$%script%$$' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { rows: unknown[] }).rows).toEqual([{ brand: '<script>x()</script>' }]);
    const copy = await post('/api/sql', { sql: `COPY (SELECT 1) TO '${path.join(dir, 'x.csv')}'` });
    expect(copy.status).toBe(400);
  });

  it('shows the config with secrets masked', async () => {
    const text = await (await fetch(url('/api/health'))).text();
    expect(text).not.toContain('hmac-secret');
    expect(text).not.toContain('secretpath');
    expect(text).toContain('https://hooks.example.com/•••');
    const h = JSON.parse(text) as { components: { name: string }[]; pipeline: { deadLetters: number } };
    expect(h.components.map((c) => c.name)).toContain('DuckDB');
    expect(h.pipeline.deadLetters).toBe(0);
  });
});

describe('dashboard token', () => {
  it('refuses to bind beyond loopback without a token', async () => {
    await expect(
      startDashboard({ ...base, stream: streamIn(dir), sources, config: {}, host: '0.0.0.0' }),
    ).rejects.toThrow(StorepulseError);
  });

  it('asks for the token, takes it once from the link into a cookie, or as a bearer', async () => {
    const u = (p: string) => url(p, locked).replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(u('/'))).status).toBe(401);
    expect((await fetch(u('/api/alerts'))).status).toBe(401);
    expect((await fetch(u('/?token=wrong-token-of-twenty'), { redirect: 'manual' })).status).toBe(401);
    const login = await fetch(u(`/?token=${TOKEN}`), { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(login.headers.get('location')).toBe('/');
    expect((await fetch(u('/'), { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    expect((await fetch(u('/api/alerts'), { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(
      200,
    );
  });
});

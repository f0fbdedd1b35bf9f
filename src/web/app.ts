/**
 * The dashboard's HTTP API (Hono): live journey figures and pipeline health pushed by SSE, alerts with
 * acknowledge and mute, a user's recent events, the batch reports over a date range, read-only SQL
 * over the lake and the Health page's facts. Security (host, token, origin, headers) is in server.ts.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { chartTables, listReports, runReport } from '../batch/reports.js';
import { KEY_TYPES, type KeyType, type Severity } from '../core/alert.js';
import { StorepulseError, errorMessage } from '../core/errors.js';
import { type JourneyQuery, queryJourney, TRAFFIC, type Traffic } from '../core/journey/query.js';
import { sleep } from '../core/sleep.js';
import { parseEventTime } from '../core/time.js';
import type { AlertQuery } from '../stores/types.js';
import type { AlertFeed } from './feed.js';
import type { PipelineHealthReader } from './health.js';
import type { DataSources } from './sources.js';
import { runReadOnlySql } from '../batch/sql.js';
import { systemFacts } from './system.js';

export interface AppOptions {
  sources: DataSources;
  feed: AlertFeed;
  health: PipelineHealthReader;
  /** The config in force (secrets are masked before it is shown). */
  config: unknown;
  /** The rule names the Alerts page filters by. */
  rules: readonly string[];
  pushMs: number;
  /** Ends every server push when the server stops. */
  closing: AbortSignal;
}

const HEALTH_EVERY_MS = 2000;
const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high'];

/** A request the client got wrong: 400 with the reason. */
const bad = (message: string) => new StorepulseError('USAGE', message);

function intParam(c: Context, name: string, fallback: number, max: number): number {
  const v = c.req.query(name);
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw bad(`${name} takes a whole number from 1 to ${max}`);
  return n;
}

function timeParam(c: Context, name: string): number | undefined {
  const v = c.req.query(name);
  if (v === undefined || v === '') return undefined;
  // A date alone means its UTC midnight.
  const t = parseEventTime(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(t)) throw bad(`${name} takes a date or an ISO-8601 time, got ${JSON.stringify(v)}`);
  return t;
}

function trafficParam(c: Context): Traffic {
  const v = c.req.query('traffic') ?? 'all';
  if (!(TRAFFIC as readonly string[]).includes(v)) throw bad(`traffic takes ${TRAFFIC.join(', ')}`);
  return v as Traffic;
}

function journeyQuery(c: Context) {
  return { lastMs: intParam(c, 'last', 60, 90 * 24 * 60) * 60_000, top: 10, traffic: trafficParam(c) };
}

const TOPICS = ['journey', 'health', 'alerts'] as const;

/** What a page wants pushed (`topics=journey,health,alerts`, the default): the Alerts page only alerts. */
function topicsParam(c: Context): Set<string> {
  const v = c.req.query('topics');
  const topics = new Set(v ? v.split(',') : TOPICS);
  for (const t of topics)
    if (!(TOPICS as readonly string[]).includes(t)) throw bad(`topics takes ${TOPICS.join(', ')}`);
  return topics;
}

/**
 * One computation shared by every open page while it is fresh (`ms`), so that N pages cost the
 * server what one does. Few keys: a page's view (traffic, range).
 */
function shared<T>(ms: number, compute: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, { at: number; value: Promise<T> }>();
  return (key) => {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ms) return hit.value;
    if (cache.size > 50) cache.clear();
    const value = compute(key);
    cache.set(key, { at: now, value });
    value.catch(() => cache.delete(key));
    return value;
  };
}

export function createApp(o: AppOptions): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof StorepulseError && err.code === 'USAGE') return c.json({ error: err.message }, 400);
    if (err instanceof StorepulseError && err.code === 'STATE') return c.json({ error: err.message }, 409);
    return c.json({ error: `server error: ${errorMessage(err)}` }, 500);
  });

  app.get('/api/journey', async (c) => {
    const store = o.sources.journey();
    return c.json(store ? ((await queryJourney(store, journeyQuery(c))) ?? null) : null);
  });

  // Half the push interval: each page's next push finds the figures computed for the others.
  const journeyNow = shared(o.pushMs / 2, async (key) => {
    const store = o.sources.journey();
    return store ? ((await queryJourney(store, JSON.parse(key) as JourneyQuery)) ?? null) : null;
  });
  const healthNow = shared(HEALTH_EVERY_MS / 2, () => o.health.read());

  app.get('/api/stream', (c) => {
    const key = JSON.stringify(journeyQuery(c));
    const topics = topicsParam(c);
    return streamSSE(c, async (stream) => {
      const done = new AbortController();
      const stop = () => done.abort();
      stream.onAbort(stop);
      const send = (event: string, data: unknown) =>
        stream.writeSSE({ event, data: JSON.stringify(data) }).catch(stop);
      const unsubscribe = topics.has('alerts')
        ? o.feed.subscribe((alerts) => void send('alerts', alerts))
        : () => undefined;
      try {
        let lastHealth = 0;
        while (!done.signal.aborted && !o.closing.aborted) {
          if (topics.has('journey')) await send('journey', await journeyNow(key));
          if (topics.has('health') && Date.now() - lastHealth >= HEALTH_EVERY_MS) {
            lastHealth = Date.now();
            await send('health', await healthNow(''));
          }
          await sleep(o.pushMs, done.signal, o.closing);
        }
      } finally {
        unsubscribe();
      }
    });
  });

  app.get('/api/alerts', async (c) => {
    const store = o.sources.alerts();
    const q: AlertQuery = { limit: intParam(c, 'limit', 200, 5000) };
    const severity = c.req.query('severity');
    if (severity) {
      if (!SEVERITIES.includes(severity as Severity)) throw bad(`severity takes ${SEVERITIES.join(', ')}`);
      q.severity = severity as Severity;
    }
    const rule = c.req.query('rule');
    if (rule) q.rule = rule;
    const keyType = c.req.query('keyType');
    if (keyType) {
      if (!KEY_TYPES.includes(keyType as KeyType)) throw bad(`keyType takes ${KEY_TYPES.join(', ')}`);
      q.keyType = keyType as KeyType;
    }
    const user = c.req.query('user');
    if (user) {
      if (!/^\d{1,15}$/.test(user)) throw bad('user takes a user_id (digits)');
      q.userId = Number(user);
    }
    const now = new Date().toISOString();
    return c.json({
      rules: o.rules,
      alerts: store ? await store.list(q) : [],
      mutes: store ? await store.mutes(now) : [],
    });
  });

  app.post('/api/alerts/ack', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { ids?: unknown };
    const ids = body.ids;
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > 1000 ||
      !ids.every((x) => typeof x === 'string')
    )
      throw bad('ids takes a list of alert ids');
    const store = o.sources.alerts();
    if (!store) throw new StorepulseError('STATE', 'no alert store yet');
    return c.json({ acknowledged: await store.acknowledge(ids as string[], new Date().toISOString()) });
  });

  app.post('/api/mutes', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as Record<string, unknown>;
    const { keyType, key, minutes } = body;
    if (!KEY_TYPES.includes(keyType as KeyType)) throw bad(`keyType takes ${KEY_TYPES.join(', ')}`);
    if (typeof key !== 'string' || key.length === 0 || key.length > 200) throw bad('key takes the alert key');
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 0 || minutes > 525_600)
      throw bad('minutes takes a whole number from 0 (unmute) to 525600');
    const store = o.sources.alerts();
    if (!store) throw new StorepulseError('STATE', 'no alert store yet');
    const now = Date.now();
    await store.mute({
      keyType: keyType as KeyType,
      key,
      until: new Date(now + minutes * 60_000).toISOString(),
      at: new Date(now).toISOString(),
    });
    return c.json({ mutes: await store.mutes(new Date(now).toISOString()) });
  });

  app.get('/api/users/:id', async (c) => {
    const id = c.req.param('id');
    if (!/^\d{1,15}$/.test(id)) throw bad('a user_id is digits');
    const store = o.sources.alerts();
    const limit = intParam(c, 'limit', 300, 5000);
    // The lake is written every few seconds: the newest events of the user are there or in flight.
    const events = await runReadOnlySql(
      o.sources.lakeDir,
      `SELECT event_time, event_type, product_id, category_id, category_code, brand, price, user_session
       FROM events WHERE user_id = ${id} ORDER BY event_time DESC, product_id LIMIT ${limit}`,
    ).catch((err: unknown) => {
      if (err instanceof StorepulseError && err.code === 'STATE') return null; // no lake yet
      throw err;
    });
    return c.json({
      userId: Number(id),
      events: events?.rows ?? [],
      alerts: store ? await store.list({ userId: Number(id), limit: 100 }) : [],
    });
  });

  app.get('/api/reports', (c) => c.json(listReports().map(({ file: _file, ...r }) => r)));

  app.get('/api/reports/:name', async (c) => {
    const name = c.req.param('name');
    if (!listReports().some((r) => r.name === name)) return c.json({ error: `no report ${name}` }, 404);
    const from = timeParam(c, 'from');
    const to = timeParam(c, 'to');
    // As `storepulse report`: people only unless asked, the alert store saying who is flagged.
    const traffic = c.req.query('traffic') ? trafficParam(c) : 'people';
    const flaggedUsers = traffic === 'all' ? [] : ((await o.sources.alerts()?.alertedUsers()) ?? []);
    const r = await runReport(name, o.sources.lakeDir, {
      from,
      to,
      traffic,
      flaggedUsers,
      limit: intParam(c, 'limit', 100, 10_000),
    });
    // Each table with its chart-ready form (x, series, kind), so that the page draws what the SQL file says.
    const charts = chartTables([r]);
    return c.json({ ...r, tables: r.tables.map((t, i) => ({ ...t, chart: charts[i] })) });
  });

  app.post('/api/sql', async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { sql?: unknown };
    if (typeof body.sql !== 'string' || body.sql.trim() === '') throw bad('sql takes one SQL statement');
    return c.json(await runReadOnlySql(o.sources.lakeDir, body.sql));
  });

  app.get('/api/health', async (c) =>
    c.json({ ...(await systemFacts(o.sources, o.config)), pipeline: await o.health.read() }),
  );

  return app;
}

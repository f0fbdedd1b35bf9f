/**
 * `storepulse serve` and the demo's dashboard: the API (app.ts) and the pages (ui/) behind the
 * security the dashboard promises (docs/dashboard.md): loopback by default; any other address only
 * with a token; on loopback, only Host names of this machine (no DNS rebinding); writes only from the
 * dashboard's own pages (Origin); a CSP without inline scripts and the usual security headers.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { StorepulseError } from '../core/errors.js';
import { type AppOptions, createApp } from './app.js';
import { loadAssets } from './assets.js';
import { AlertFeed } from './feed.js';
import { type InProcess, PipelineHealthReader, type StreamSource } from './health.js';
import type { DataSources } from './sources.js';

export interface DashboardOptions {
  sources: DataSources;
  /** Stream 1 in the data folder, or the demo's in-process figures. */
  stream: StreamSource | InProcess;
  config: unknown;
  rules: readonly string[];
  host: string;
  /** 0 lets the OS pick. */
  port: number;
  /** Required off loopback; when set, required everywhere. */
  token?: string;
  pushMs: number;
  alertPollMs: number;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

const COOKIE = 'storepulse_token';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith('127.');

function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  if (!isLoopback(o.host) && !o.token)
    throw new StorepulseError(
      'USAGE',
      `the dashboard binds ${o.host}, reachable from other machines: give a token ` +
        '(--token or $STOREPULSE_DASHBOARD_TOKEN), or keep the default 127.0.0.1',
    );
  const closing = new AbortController();
  const feed = new AlertFeed(o.sources, o.alertPollMs);
  const appOptions: AppOptions = {
    sources: o.sources,
    feed,
    health: new PipelineHealthReader(o.sources, o.stream),
    config: o.config,
    rules: o.rules,
    pushMs: o.pushMs,
    closing: closing.signal,
  };
  const assets = loadAssets();
  let port = o.port;
  const app = new Hono();

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );
  app.use(async (c, next) => {
    if (isLoopback(o.host) && !o.token) {
      // A page elsewhere could point its own name at 127.0.0.1 (DNS rebinding): answer our names only.
      const host = (c.req.header('host') ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      if (!isLoopback(host)) return c.text('unknown host', 421);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('origin');
      if (!origin || origin !== new URL(c.req.url).origin)
        return c.json({ error: 'cross-origin write refused' }, 403);
    }
    if (o.token) {
      const given = c.req.query('token');
      if (given !== undefined && c.req.method === 'GET' && !c.req.path.startsWith('/api/')) {
        // The token from the printed link goes into a cookie, and out of the address bar and history.
        if (!sameToken(given, o.token)) return c.text('wrong token', 401);
        setCookie(c, COOKIE, given, { httpOnly: true, sameSite: 'Strict', path: '/' });
        return c.redirect(c.req.path, 303);
      }
      const bearer = c.req.header('authorization')?.replace(/^Bearer /, '');
      if (!sameToken(getCookie(c, COOKIE), o.token) && !sameToken(bearer, o.token))
        return c.text(
          'this dashboard needs its token: open it with ?token=… (the token it was started with)',
          401,
        );
    }
    await next();
  });
  app.use('/api/*', bodyLimit({ maxSize: 64 * 1024 }));
  app.use('/api/*', async (c, next) => {
    // Server push must not be buffered by compression.
    if (c.req.path === '/api/stream') return next();
    return compress()(c, next);
  });
  app.route('/', createApp(appOptions));
  app.get('*', (c) => {
    const name = c.req.path === '/' ? '/index.html' : c.req.path;
    const asset = assets.get(name);
    if (!asset) return c.text('not found', 404);
    const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    c.header('content-type', asset.type);
    c.header('cache-control', 'no-cache');
    c.header('etag', asset.etag);
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    if (gzip) {
      c.header('content-encoding', 'gzip');
      c.header('vary', 'accept-encoding');
      return c.body(new Uint8Array(asset.gzip));
    }
    return c.body(new Uint8Array(asset.body));
  });

  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new StorepulseError('USAGE', `port ${o.port} on ${o.host} is in use: choose another with --port`)
          : err,
      ),
    );
    server.listen(o.port, o.host, resolve);
  });
  port = (server.address() as AddressInfo).port;
  const shown = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    async close() {
      closing.abort();
      feed.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

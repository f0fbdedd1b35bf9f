import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/core/config.js';
import { JourneyFeed } from '../../src/pipeline/journey-feed.js';
import { SqliteRollupStore } from '../../src/stores/sqlite/rollup-store.js';
import { ev, T0 } from '../helpers/events.js';

const HOUR = 3_600_000;
const dir = mkdtempSync(path.join(tmpdir(), 'sp-journey-feed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function feed(name: string, journey: object, now: () => number) {
  const store = new SqliteRollupStore(path.join(dir, `${name}.sqlite`));
  const config = configSchema.parse({ journey }).journey;
  return { store, feed: new JourneyFeed({ store, config }, (e) => e.event_time, now) };
}

describe('JourneyFeed', () => {
  it('writes what changed every flushSeconds of wall time, and everything at the end', async () => {
    let wall = 0;
    const { store, feed: f } = feed('cadence', { flushSeconds: 2 }, () => wall);
    f.push([ev(1, 0), ev(2, 1000)], [], T0 + 1000);
    expect(f.due()).toBe(false);
    wall = 2000;
    expect(f.due()).toBe(true);
    await f.flush();
    expect(f.due()).toBe(false);
    expect((await store.status())!.stats).toMatchObject({ events: 2, newest: T0 + 1000, openSessions: 2 });
    expect((await store.range('minute', T0, T0 + HOUR)).map((b) => b.final)).toEqual([false]);
    await f.finish(true);
    expect((await store.range('minute', T0, T0 + HOUR)).map((b) => b.final)).toEqual([true]);
    expect((await store.status())!.stats.openSessions).toBe(0);
    await store.close();
  });

  it('deletes buckets past the retention, by event time', async () => {
    const { store, feed: f } = feed('retention', { minuteRetentionHours: 2, hourRetentionDays: 1 }, () => 0);
    f.push([ev(1, 0)], [], T0);
    f.push([ev(1, 3 * HOUR)], [], T0 + 3 * HOUR);
    await f.flush();
    // The first minute is more than two hours behind the newest event: gone; its hour (final, the
    // only one stored so far, merged from its minutes before they went) is kept a day.
    expect((await store.range('minute', 0, T0 + 4 * HOUR)).map((b) => b.start)).toEqual([T0 + 3 * HOUR]);
    const [hour] = await store.range('hour', 0, T0 + 4 * HOUR);
    expect(hour).toMatchObject({ start: T0, final: true });
    expect(hour!.data.h.t).toEqual([1, 0, 0, 0]);
    f.push([ev(1, 27 * HOUR)], [], T0 + 27 * HOUR);
    await f.flush();
    // Hour 0 is more than a day old now; hour 3 became final.
    expect((await store.range('hour', 0, T0 + 31 * HOUR)).map((b) => b.start)).toEqual([T0 + 3 * HOUR]);
    await store.close();
  });
});

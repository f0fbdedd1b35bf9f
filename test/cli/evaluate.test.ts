import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertId } from '../../src/core/alert.js';
import { REFERENCE_RULE } from '../../src/core/rules/reference.js';
import type { LabelsFile } from '../../src/sources/synthetic/generator.js';
import { SqliteAlertStore } from '../../src/stores/sqlite/alert-store.js';
import type { EvaluateOutput } from '../../src/cli/evaluate.js';
import { storepulse } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'storepulse-cli-eval-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = path.join(dir, 'gen.csv');
const labelsPath = `${data}.labels.json`;
let labels: LabelsFile;

/** An alert on a user, detected `after` seconds into its attack instance. */
function userAlert(rule: string, userId: number, startIso: string, after: number) {
  const start = Date.parse(startIso);
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: alertId(rule, 'user', String(userId), start),
    rule,
    severity: 'medium',
    key_type: 'user',
    key: String(userId),
    user_id: userId,
    window_start: iso(start),
    window_end: iso(start + 10_000),
    count: 6,
    score: 1.2,
    first_seen: iso(start),
    last_seen: iso(start + 9_000),
    detected_event_time: iso(start + after * 1000),
    detected_at: iso(Date.now()),
    evidence: {},
  };
}

/** Alerts that catch every attacker of the listed profiles within 5 s. */
function catching(profiles: string[]) {
  return labels.attacks
    .filter((l) => profiles.includes(l.profile))
    .flatMap((l) => l.user_ids.map((u) => userAlert('test-rule', u, l.start, 5)));
}

function run(...args: string[]) {
  return storepulse([
    '-q',
    '--data-dir',
    path.join(dir, 'data'),
    'evaluate',
    '--labels',
    labelsPath,
    ...args,
  ]);
}

beforeAll(() => {
  const gen = storepulse([
    '-q',
    'generate',
    '--events',
    '120000',
    '--seed',
    '3',
    '--attacks',
    // The per-user profiles: how item alerts are credited is test/core/evaluate.test.ts's.
    'ddos-burst,scraper,cart-bot,low-and-slow',
    '--attack-intensity',
    '1',
    '--out',
    data,
  ]);
  expect(gen.code, gen.stderr).toBe(0);
  labels = JSON.parse(readFileSync(labelsPath, 'utf8')) as LabelsFile;
}, 60_000);

describe('storepulse evaluate', () => {
  it('labels: n instances per profile (events / 50,000 = 2), human users counted', () => {
    for (const p of ['scraper', 'cart-bot', 'low-and-slow']) {
      expect(labels.attacks.filter((l) => l.profile === p).map((l) => l.instance)).toEqual([1, 2]);
    }
    expect(labels.attackRepeats).toBe(2);
    expect(labels.human_users).toBeGreaterThan(10_000);
    expect(labels.human_sessions).toBeGreaterThan(labels.human_users);
  });

  it('scores a JSONL of alerts (stream-2 records, duplicates, a global alert) beside the reference rule run over the data', () => {
    const alerts = catching(['ddos-burst', 'scraper', 'cart-bot', 'low-and-slow']);
    const burst = labels.attacks.find((l) => l.profile === 'ddos-burst')!;
    const lines = [
      ...alerts.map((a) => JSON.stringify(a)),
      JSON.stringify({ ...alerts[0], num_actions_per_watermark: 6 }), // a duplicate, as a stream-2 record
      JSON.stringify({
        ...userAlert('spike', 0, burst.start, 3),
        key_type: 'global',
        key: 'all',
        user_id: null,
        id: 'g1',
      }),
      'not json',
    ];
    const file = path.join(dir, 'alerts.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = run('--alerts', file, '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluateOutput;
    const sp = report.systems.storepulse;
    expect(report.rejected_alert_records).toBe(1);
    expect(sp.alerts).toBe(alerts.length + 1);
    expect(sp.overall).toMatchObject({
      recall: 1,
      precision: 1,
      humans_flagged: 0,
      human_fp_rate: 0,
      ttd_p95_s: 5,
    });
    expect(sp.global).toMatchObject({ alerts: 1, true: 1, false: 0, ddos_instances_hit: 1 });
    expect(report.passed).toBe(true);
    // The reference column: the reference rule over the data file found next to the labels.
    expect(report.reference_source).toContain('reference rule run over');
    const ref = report.systems.reference!;
    const slow = ref.profiles.find((p) => p.profile === 'low-and-slow')!;
    expect(slow.recall).toBe(0); // never more than 5 in a 10 s window
    expect(ref.profiles.find((p) => p.profile === 'ddos-burst')!.recall).toBe(1);
    // Fast humans exist: the reference rule flags some of them.
    expect(ref.overall.humans_flagged).toBeGreaterThan(0);
    expect(ref.overall.human_fp_rate).toBeGreaterThan(0);
    expect(ref.overall.ttd_p95_s).toBeGreaterThanOrEqual(20);
    expect(report.checks.reference!.some((c) => !c.pass)).toBe(true);
  }, 60_000);

  it('prints a side-by-side table and the targets check; --check exits 1 when a target is missed', () => {
    const file = path.join(dir, 'partial.jsonl');
    writeFileSync(
      file,
      catching(['ddos-burst', 'scraper', 'cart-bot'])
        .map((a) => JSON.stringify(a))
        .join('\n'),
    );
    const r = run('--alerts', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/figure\s+storepulse\s+reference/);
    expect(r.stdout).toMatch(/low-and-slow: recall\s+0\s+0/);
    // With the data file, recall is checked among the attackers beyond the humans' p99.9.
    expect(r.stdout).toMatch(/against humans/);
    expect(r.stdout).toMatch(/recall beyond humans' p99.9 low-and-slow >= 0.95\s+FAIL 0\s+\(n\/a\)/);
    expect(r.stdout).toMatch(/recall beyond humans' p99.9 scraper >= 0.95\s+PASS 1\s/);
    expect(r.stdout).toMatch(/time-to-detect p95 \(s\) scraper, bursts <= 10\s+PASS 5\s/);
    const checked = run('--alerts', file, '--check');
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/misses at least one target/);
  }, 60_000);

  it('reads the data folder alert store by default; its reference-user-rate alerts are the reference column', async () => {
    const storeDir = path.join(dir, 'store');
    mkdirSync(storeDir, { recursive: true });
    const store = new SqliteAlertStore(path.join(storeDir, 'alerts.sqlite'));
    const scraper = labels.attacks.find((l) => l.profile === 'scraper')!;
    await store.put([
      ...catching(['scraper']),
      userAlert(REFERENCE_RULE, scraper.user_ids[0]!, scraper.start, 20),
    ] as never);
    await store.close();
    const r = storepulse(['-q', '--data-dir', storeDir, 'evaluate', '--labels', labelsPath, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluateOutput;
    expect(report.reference_source).toContain(`${REFERENCE_RULE} alerts in`);
    expect(report.systems.reference!.overall.attackers_flagged).toBe(1);
    expect(report.systems.storepulse.profiles.find((p) => p.profile === 'scraper')!.recall).toBe(1);
  });

  it('a store shared with a run on other data: only alerts on the users of the data file are scored, and it says so', async () => {
    const storeDir = path.join(dir, 'mixed');
    mkdirSync(storeDir, { recursive: true });
    const store = new SqliteAlertStore(path.join(storeDir, 'alerts.sqlite'));
    const burst = labels.attacks.find((l) => l.profile === 'ddos-burst')!;
    // Generated user ids start at 512,000,000: these users are of another data set.
    const others = [1001, 1002, 1002].map((u, i) =>
      userAlert('test-rule', u, new Date(Date.parse(burst.start) + 10_000 * i).toISOString(), 5),
    );
    await store.put([...catching(['ddos-burst', 'scraper', 'cart-bot', 'low-and-slow']), ...others] as never);
    await store.close();
    const evaluateIn = (...args: string[]) =>
      storepulse(['-q', '--data-dir', storeDir, 'evaluate', '--labels', labelsPath, ...args]);
    const r = evaluateIn('--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluateOutput;
    expect(report.population!.source).toBe(data);
    expect(report.population!.users).toBeGreaterThan(labels.human_users);
    const sp = report.systems.storepulse;
    expect(sp.left_out).toEqual({ alerts: 3, users: 2 });
    expect(sp.overall).toMatchObject({ precision: 1, humans_flagged: 0, human_fp_rate: 0, recall: 1 });
    // The reference rule ran over the data file in the same pass: nothing of it is left out.
    expect(report.reference_source).toContain('reference rule run over');
    expect(report.systems.reference!.left_out).toEqual({ alerts: 0, users: 0 });
    const users = report.population!.users.toLocaleString('en-US');
    const text = evaluateIn();
    expect(text.stdout).toContain(
      `scored: alerts on the ${users} users of ${data}; left out, as not in it: ` +
        '3 alerts on 2 users (storepulse), 0 alerts on 0 users (reference)',
    );
    // A --data that is not the labels' data file leaves the attackers out, and says so on stderr.
    const head = path.join(dir, 'head.csv');
    writeFileSync(head, readFileSync(data, 'utf8').split('\n').slice(0, 200).join('\n'));
    const wrong = storepulse([
      '--data-dir',
      storeDir,
      'evaluate',
      '--labels',
      labelsPath,
      '--data',
      head,
      '--json',
    ]);
    expect(wrong.code, wrong.stderr).toBe(0);
    expect(wrong.stderr).toMatch(/labelled attacker\(s\) do not occur in .*head\.csv/);
    expect((JSON.parse(wrong.stdout) as EvaluateOutput).systems.storepulse.overall.recall).toBe(0);
  }, 60_000);

  it('says why the reference column is missing, and fails clearly without an alert store', () => {
    const other = path.join(dir, 'copy-labels.json');
    writeFileSync(other, JSON.stringify(labels));
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    const r = storepulse(['-q', 'evaluate', '--labels', other, '--alerts', empty, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as EvaluateOutput;
    expect(report.systems.reference).toBeNull();
    expect(report.reference_source).toMatch(/^missing: .*--data FILE/);
    // Without the data file its users are unknown: every flagged non-attacker counts as a human.
    expect(report.population).toBeNull();
    const text = storepulse(['-q', 'evaluate', '--labels', other, '--alerts', empty]);
    expect(text.stdout).toMatch(/^scored: every alert; .* counts as a human, .*pass --data FILE/m);
    const none = storepulse(['-q', '--data-dir', path.join(dir, 'nothing'), 'evaluate', '--labels', other]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/there is no data folder .*nothing/);
    // A folder with a run but no alert store (simulate ran, process did not).
    const simulated = path.join(dir, 'simulated');
    mkdirSync(path.join(simulated, 'streams'), { recursive: true });
    const noStore = storepulse(['-q', '--data-dir', simulated, 'evaluate', '--labels', other]);
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toMatch(/no alert store at .*pass --alerts FILE/);
  });
});

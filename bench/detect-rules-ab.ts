/**
 * Detector throughput of two rule sets on one core, A/B in one process: the default rules against
 * the rules of a config file (e.g. an older default set from `storepulse rules --defaults`), over
 * the same events held in memory, alternating, three runs each (bench/RESULTS.md, "Detection quality").
 *
 *   npm run build && node --expose-gc dist/bench/detect-rules-ab.js FILE.csv OTHER-RULES.yaml
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG, type DetectConfig, validateConfig } from '../src/core/config.js';
import type { ClickEvent } from '../src/core/event.js';
import { Detector } from '../src/core/rules/detector.js';
import { readEvents } from '../src/sources/reader.js';

const [file, other] = process.argv.slice(2);
if (!file || !other) throw new Error('usage: detect-rules-ab.js FILE.csv OTHER-RULES.yaml');
const parsed = validateConfig(parseYaml(readFileSync(other, 'utf8')));
if (!parsed.ok) throw new Error(parsed.problems.join('; '));
const sets: Record<string, DetectConfig> = { defaults: DEFAULT_CONFIG.detect, [other]: parsed.config.detect };

const events: ClickEvent[] = [];
for await (const b of readEvents(file, { threads: 1 })) for (const e of b) events.push(e);
const rates: Record<string, number[]> = {};
for (let run = 0; run < 3; run++) {
  const names = Object.keys(sets);
  for (const name of run % 2 ? names.reverse() : names) {
    (globalThis as { gc?: () => void }).gc?.();
    const d = new Detector(sets[name]!);
    let alerts = 0;
    const t0 = performance.now();
    for (let i = 0; i < events.length; i += 500) {
      const r = d.add(events.slice(i, i + 500));
      alerts += r.alerts.length + d.advance(r.newest).length;
    }
    alerts += d.flush().length;
    const perSecond = (events.length / (performance.now() - t0)) * 1000;
    (rates[name] ??= []).push(perSecond);
    console.log(
      `${name} run ${run + 1}: ${Math.round(perSecond).toLocaleString('en-US')} events/s, ${alerts} alerts`,
    );
  }
}
for (const [name, r] of Object.entries(rates)) {
  const s = [...r].sort((a, b) => a - b);
  console.log(
    `${name}: median ${Math.round(s[1]!).toLocaleString('en-US')} events/s (${s.map((x) => Math.round(x)).join(', ')})`,
  );
}

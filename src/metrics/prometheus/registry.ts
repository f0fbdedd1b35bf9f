/**
 * A minimal Prometheus registry: counters and gauges with labels, rendered in the text exposition
 * format 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/). Written by hand to
 * keep dependencies out; it covers exactly what storepulse exports.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

type Labels = Record<string, string>;

/** Label values: backslash, double quote and line feed escaped (spec). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and line feed escaped (spec; quotes stay). */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Metric {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge',
    readonly help: string,
    readonly labelNames: readonly string[] = [],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`);
    for (const l of labelNames)
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`bad label ${l}`);
  }

  private keyOf(labels: Labels): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }

  private entry(labels: Labels): { labels: Labels; value: number } {
    const key = this.keyOf(labels);
    let e = this.series.get(key);
    if (!e) {
      e = { labels: Object.fromEntries(this.labelNames.map((n) => [n, labels[n] ?? ''])), value: 0 };
      this.series.set(key, e);
    }
    return e;
  }

  inc(labels: Labels = {}, by = 1): void {
    if (this.type === 'counter' && !(by >= 0)) throw new Error(`counter ${this.name} can only go up`);
    this.entry(labels).value += by;
  }

  set(value: number, labels: Labels = {}): void {
    this.entry(labels).value = value;
  }

  /** Keeps the highest value seen. */
  max(value: number, labels: Labels = {}): void {
    const existed = this.series.has(this.keyOf(labels));
    const e = this.entry(labels);
    if (!existed || value > e.value) e.value = value;
  }

  get(labels: Labels = {}): number | undefined {
    return this.series.get(this.keyOf(labels))?.value;
  }

  render(): string {
    let out = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    // An unlabelled metric shows 0 before its first update; labelled ones appear with their first series.
    if (this.series.size === 0 && this.labelNames.length === 0) out += `${this.name} 0\n`;
    for (const { labels, value } of this.series.values()) {
      const l = this.labelNames.map((n) => `${n}="${escapeLabelValue(labels[n] ?? '')}"`).join(',');
      out += `${this.name}${l ? `{${l}}` : ''} ${formatValue(value)}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.add(new Metric(name, 'counter', help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Metric {
    return this.add(new Metric(name, 'gauge', help, labelNames));
  }

  private add(m: Metric): Metric {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

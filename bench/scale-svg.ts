/**
 * The scale curve as a small standalone SVG for the README (bench/scale.ts `--svg`): two panels
 * against events, wall time (with DuckDB alone beside it when measured) and peak RSS (with the 1 GiB
 * target). Plain SVG, no chart library: the figures are a handful of points.
 */
import type { ScaleRow } from './scale.js';

const W = 360;
const H = 220;
const PAD = { l: 52, r: 14, t: 28, b: 40 };

interface Series {
  name: string;
  color: string;
  values: number[];
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((x) => x >= v) ?? 10 * p;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function millions(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e3).toFixed(0)}k`;
}

function panel(
  x0: number,
  title: string,
  events: number[],
  series: Series[],
  target?: { value: number; label: string },
): string {
  const xMax = Math.max(...events);
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.values), target?.value ?? 0) * 1.05);
  const px = (e: number) => x0 + PAD.l + (e / xMax) * (W - PAD.l - PAD.r);
  const py = (v: number) => PAD.t + (1 - v / yMax) * (H - PAD.t - PAD.b);
  const out: string[] = [`<text x="${x0 + PAD.l}" y="16" class="t">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(
      `<line x1="${x0 + PAD.l}" x2="${x0 + W - PAD.r}" y1="${py(v)}" y2="${py(v)}" class="g"/>`,
      `<text x="${x0 + PAD.l - 6}" y="${py(v) + 4}" class="y">${+v.toFixed(0)}</text>`,
    );
  }
  for (const e of events) {
    out.push(`<text x="${px(e)}" y="${H - PAD.b + 16}" class="x">${millions(e)}</text>`);
  }
  out.push(`<text x="${x0 + (W + PAD.l) / 2}" y="${H - 6}" class="x">events</text>`);
  if (target) {
    out.push(
      `<line x1="${x0 + PAD.l}" x2="${x0 + W - PAD.r}" y1="${py(target.value)}" y2="${py(target.value)}" class="tg"/>`,
      `<text x="${x0 + W - PAD.r}" y="${py(target.value) - 4}" class="tl">${esc(target.label)}</text>`,
    );
  }
  series.forEach((s, k) => {
    const pts = events.map((e, i) => `${px(e).toFixed(1)},${py(s.values[i]!).toFixed(1)}`);
    out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    out.push(
      `<rect x="${x0 + PAD.l + 6}" y="${PAD.t + 4 + k * 14}" width="10" height="3" fill="${s.color}"/>`,
      `<text x="${x0 + PAD.l + 20}" y="${PAD.t + 9 + k * 14}" class="l">${esc(s.name)}</text>`,
    );
  });
  return out.join('\n');
}

export function scaleSvg(rows: readonly ScaleRow[]): string {
  const events = rows.map((r) => r.events);
  const time: Series[] = [{ name: 'storepulse demo', color: '#2563eb', values: rows.map((r) => r.seconds) }];
  if (rows.every((r) => r.duck)) {
    time.push({ name: 'DuckDB alone', color: '#9ca3af', values: rows.map((r) => r.duck!.seconds) });
  }
  const rss: Series[] = [{ name: 'storepulse demo', color: '#2563eb', values: rows.map((r) => r.peakMiB) }];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H}" viewBox="0 0 ${2 * W} ${H}" font-family="system-ui, sans-serif" font-size="11">
<style>.t{font-weight:600;font-size:12px}.g{stroke:#e5e7eb}.y{text-anchor:end;fill:#6b7280}.x{text-anchor:middle;fill:#6b7280}.l{fill:#374151}.tg{stroke:#dc2626;stroke-dasharray:4 3}.tl{text-anchor:end;fill:#dc2626}</style>
<rect width="100%" height="100%" fill="#fff"/>
${panel(0, 'wall time (s)', events, time)}
${panel(W, 'peak RSS (MiB)', events, rss, { value: 1024, label: 'target 1 GiB' })}
</svg>
`;
}

// Charts on uPlot (shipped with the package as /vendor/uplot.js, a global). Each chart fills its
// container's width, keeps a fixed height (no layout jumps) and follows the light/dark theme.

const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777'];
const charts = new Set();

const cssVar = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function axis(extra = {}) {
  return {
    stroke: () => cssVar('--muted'),
    grid: { stroke: () => cssVar('--grid'), width: 1 },
    ticks: { stroke: () => cssVar('--grid'), width: 1 },
    ...extra,
  };
}

/** Redraws every chart with the theme's colours. */
export function retheme() {
  for (const c of charts) c.u.redraw(false, true);
}

function make(container, opts, data) {
  const width = Math.max(200, container.clientWidth);
  // Times are UTC everywhere in storepulse (the data's event_time is UTC).
  const tzDate = (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC');
  const u = new uPlot({ width, height: opts.height, tzDate, ...opts }, data, container);
  const entry = { u };
  charts.add(entry);
  const ro = new ResizeObserver(() => {
    const w = Math.max(200, container.clientWidth);
    if (w !== u.width) u.setSize({ width: w, height: opts.height });
  });
  ro.observe(container);
  // How many values the chart draws: tests and screen readers see that it has data.
  const count = (d) => {
    let n = 0;
    for (const s of d.slice(1)) for (const v of s) if (v !== null && v !== undefined) n++;
    container.dataset.points = String(n);
  };
  count(data);
  return {
    set(d) {
      u.setData(d);
      count(d);
    },
    destroy() {
      ro.disconnect();
      charts.delete(entry);
      u.destroy();
    },
  };
}

/**
 * A time chart: `data` = [epochSeconds[], ...series]; `series` = [{label, bars?}]. Returns {set, destroy}.
 */
export function timeChart(container, series, { height = 220, data, yLabel, yValues } = {}) {
  const bars = uPlot.paths.bars({ size: [0.7, 40] });
  return make(
    container,
    {
      height,
      scales: { x: { time: true } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        axis(),
        axis({
          label: yLabel,
          size: yValues ? 80 : 60,
          ...(yValues ? { values: yValues, incrs: [1] } : {}),
        }),
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: s.bars ? `${PALETTE[i % PALETTE.length]}99` : undefined,
          width: 2,
          // `points`: a scatter (no line between the points).
          paths: s.bars ? bars : s.points ? () => null : undefined,
          points: { show: s.points ?? false, size: 7, fill: PALETTE[i % PALETTE.length] },
        })),
      ],
    },
    data ?? [[], ...series.map(() => [])],
  );
}

/** A bar chart over labels: values[k][i] is series k at labels[i]. */
export function barChart(container, labels, series, values, { height = 240 } = {}) {
  const bars = uPlot.paths.bars({ size: [0.8 / Math.max(1, series.length), 60], align: 0 });
  const short = (s) => (s.length > 14 ? `${s.slice(0, 13)}…` : s);
  return make(
    container,
    {
      height,
      scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      axes: [
        axis({
          values: (u, splits) =>
            splits.map((i) =>
              Number.isInteger(i) && labels[i] !== undefined ? short(String(labels[i])) : '',
            ),
          rotate: labels.length > 6 ? -35 : 0,
          size: labels.length > 6 ? 80 : 40,
          incrs: [1],
        }),
        axis({ size: 60 }),
      ],
      series: [
        { value: (u, i) => (i === null ? '' : String(labels[i] ?? '')) },
        ...series.map((label, k) => ({
          label,
          stroke: PALETTE[k % PALETTE.length],
          fill: `${PALETTE[k % PALETTE.length]}bb`,
          paths: bars,
          points: { show: false },
        })),
      ],
    },
    [labels.map((_, i) => i), ...values],
  );
}

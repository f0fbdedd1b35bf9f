/** Progress on stderr: a redrawn bar on a terminal, a line every few seconds otherwise, nothing when quiet. */
export interface Progress {
  /** `done` so far (same unit as `total`); `note` is extra text such as a rate or a count of rejects. */
  update(done: number, note?: string): void;
  finish(note?: string): void;
}

export interface ProgressOptions {
  label: string;
  /** Known total (bytes, rows...), or undefined for an open-ended count. */
  total?: number;
  unit?: 'bytes' | 'rows' | 'events';
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

export function formatCount(n: number, unit?: ProgressOptions['unit']): string {
  if (unit === 'bytes') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
  }
  return n.toLocaleString('en-US');
}

const NOOP: Progress = { update() {}, finish() {} };

export function createProgress(opts: ProgressOptions): Progress {
  if (opts.quiet) return NOOP;
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY);
  const started = Date.now();
  const interval = tty ? 100 : 5000;
  let last = 0;
  let lastDone = 0;

  const render = (done: number, note?: string): string => {
    const secs = (Date.now() - started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const parts = [opts.label];
    if (opts.total && opts.total > 0) {
      const frac = Math.min(1, done / opts.total);
      const width = 24;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}%`);
      parts.push(`${formatCount(done, opts.unit)} / ${formatCount(opts.total, opts.unit)}`);
      if (frac > 0 && frac < 1) parts.push(`eta ${Math.round(secs / frac - secs)}s`);
    } else {
      parts.push(formatCount(done, opts.unit));
    }
    parts.push(`${formatCount(Math.round(rate), opts.unit)}/s`);
    if (note) parts.push(note);
    return parts.join('  ');
  };

  return {
    update(done, note) {
      lastDone = done;
      const now = Date.now();
      if (now - last < interval) return;
      last = now;
      if (tty) out.write(`\r\x1b[2K${render(done, note)}`);
      else out.write(`${render(done, note)}\n`);
    },
    finish(note) {
      const line = `${render(opts.total ?? lastDone, note)}  done in ${((Date.now() - started) / 1000).toFixed(1)}s`;
      out.write(tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
    },
  };
}

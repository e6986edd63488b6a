import type { ProgressDetail } from '../jobs/types';

/**
 * A one-line progress bar on stderr (stdout stays clean for --json). On a terminal the line is redrawn in place,
 * at most 10 times a second; otherwise (logs, CI) a line is printed at every tenth of the way.
 */
export interface ProgressBar {
  update(done: number, total: number, detail?: string): void;
  /** ends the line */
  finish(detail?: string): void;
}

const WIDTH = 24;
const REDRAW_MS = 100;

export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  let lastDraw = 0;
  let lastTenth = -1;
  let lastLine = '';
  const line = (done: number, total: number, detail?: string) => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
    return `${label} ${bar} ${done}/${total}${detail ? `  ${detail}` : ''}`;
  };
  return {
    update(done, total, detail) {
      lastLine = line(done, total, detail);
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS && done < total) return;
        lastDraw = now;
        stream.write(`\r${lastLine}\x1b[K`);
      } else {
        const tenth = Math.floor((10 * done) / Math.max(total, 1));
        if (tenth === lastTenth) return;
        lastTenth = tenth;
        stream.write(`${lastLine}\n`);
      }
    },
    finish(detail) {
      const final = detail ? `${label}: ${detail}` : lastLine;
      stream.write(stream.isTTY ? `\r${final}\x1b[K\n` : `${final}\n`);
    },
  };
}

/** One line for a job's progress detail: the phase, units done, rate and ETA. */
export function describeDetail(detail: ProgressDetail): string {
  const parts: string[] = [];
  if (detail.step) parts.push(`step ${detail.stepNumber}/${detail.steps} ${detail.step}`);
  parts.push(detail.phase);
  if (detail.done !== undefined && detail.total !== undefined && detail.unit) parts.push(`${Math.round(detail.done)}/${detail.total} ${detail.unit}`);
  if (detail.rate) parts.push(`${detail.rate.toFixed(detail.rate < 10 ? 1 : 0)} ${detail.unit ?? 'tokens'}/s`);
  const eta = (detail.jobEtaSeconds as number | null | undefined) ?? detail.etaSeconds;
  if (eta !== null && eta !== undefined) parts.push(`ETA ${formatSeconds(eta)}`);
  return parts.join(' · ');
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A progress bar per downloaded file (bytes on disk of the total, and the rate), for `onProgress` of a download. */
export function downloadProgress(stream: NodeJS.WriteStream = process.stderr): (p: { file: string; done: number; total: number; rate: number }) => void {
  let bar: ProgressBar | undefined;
  let current = '';
  return ({ file, done, total, rate }) => {
    if (file !== current) {
      current = file;
      bar = progressBar(`downloading ${file.split('/').pop()}`, stream);
    }
    bar!.update(done, total, `bytes · ${(rate / 1e6).toFixed(1)} MB/s`);
    if (done >= total) bar!.finish(`${(total / 1e6).toFixed(1)} MB at ${(rate / 1e6).toFixed(1)} MB/s`);
  };
}

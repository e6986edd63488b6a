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

/**
 * Progress reports of a job: a phase with units done out of a total, the rate and ETA measured within the phase,
 * throttled to one database write a second (the job row is what the pages poll). A report is also where a job
 * notices it was cancelled: `ctx.progress` aborts `ctx.signal`, and the reporter then throws its reason.
 */
import type { ProgressDetail } from '@/jobs/types';
import type { JobContext } from './context';

const REPORT_INTERVAL_MS = 1000;

export interface ProgressUpdate {
  /** the job's overall fraction done, in [0, 1] */
  fraction: number;
  phase: string;
  done: number;
  total: number;
  unit?: ProgressDetail['unit'];
  extra?: Partial<ProgressDetail>;
  /** write even within a second of the last write */
  force?: boolean;
}

export class ProgressReporter {
  private phase?: string;
  private phaseStart = 0;
  private lastWrite = -Infinity;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: Pick<JobContext, 'progress' | 'signal'>) {}

  /** Reports (a phase's first and last report, and one a second in between). Throws if the job was cancelled. */
  async report(update: ProgressUpdate): Promise<void> {
    const detail = this.due(update);
    if (detail) await this.ctx.progress(clamp(update.fraction), detail);
    this.ctx.signal.throwIfAborted();
  }

  /**
   * For synchronous callbacks (training steps, sampling steps): starts the write without waiting for it, and throws
   * if the job was cancelled, so that the callback's caller unwinds (disposing its tensors).
   */
  reportSoon(update: ProgressUpdate): void {
    this.ctx.signal.throwIfAborted();
    const detail = this.due(update);
    if (!detail) return;
    this.pending = this.pending.then(() => this.ctx.progress(clamp(update.fraction), detail)).catch((err: Error) => {
      console.error('[worker] progress report failed:', err.message);
    });
  }

  /** waits for the writes reportSoon started */
  async flush(): Promise<void> {
    await this.pending;
    this.ctx.signal.throwIfAborted();
  }

  private due({ phase, done, total, unit = 'tokens', extra = {}, force = false }: ProgressUpdate): ProgressDetail | undefined {
    const now = performance.now();
    const newPhase = phase !== this.phase;
    if (newPhase) {
      this.phase = phase;
      this.phaseStart = now;
    }
    if (!(force || newPhase || done >= total || now - this.lastWrite >= REPORT_INTERVAL_MS)) return undefined;
    this.lastWrite = now;
    const seconds = (now - this.phaseStart) / 1000;
    const rate = seconds > 0.2 && done > 0 ? done / seconds : undefined;
    return {
      phase,
      unit,
      done,
      total,
      rate,
      etaSeconds: rate ? Math.max(0, total - done) / rate : null,
      ...(unit === 'tokens' && { tokensDone: done, tokensTotal: total, tokensPerSecond: rate }),
      ...extra,
    };
  }
}

function clamp(fraction: number): number {
  return Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
}

import { InputError } from '../errors';

/**
 * The learning rate of each training step, as SAELens schedules it (sae_lens/training/optim.py, get_lr_scheduler):
 * an optional linear warm-up over the first `warmupSteps` (lr·1/W, lr·2/W, …, lr), then the main schedule, then an
 * optional linear decay over the last `decaySteps` towards 0.
 *   constant:        lr throughout; the decay starts from lr.
 *   cosineannealing: from lr down to lrEnd along half a cosine over the main steps; the decay starts from lrEnd.
 * A schedule of warm-up and decay around a constant rate is SAELens's "linear warm-up and decay".
 */

export const LR_SCHEDULES = ['constant', 'cosineannealing'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

export interface LrScheduleOptions {
  /** default 'constant' (SAELens lr_scheduler_name) */
  lrSchedule?: LrScheduleName;
  /** steps of linear warm-up at the start; default 0 (SAELens lr_warm_up_steps) */
  lrWarmupSteps?: number;
  /** steps of linear decay to 0 at the end; default 0 (SAELens lr_decay_steps) */
  lrDecaySteps?: number;
  /** where cosineannealing ends and the decay after it starts; default lr / 10 (SAELens lr_end) */
  lrEnd?: number;
}

export interface LrSchedule {
  name: LrScheduleName;
  lr: number;
  lrEnd: number;
  steps: number;
  warmupSteps: number;
  decaySteps: number;
}

/** Checks the options against the run's length and base rate; the errors name the option at fault. */
export function lrSchedule(options: LrScheduleOptions, lr: number, steps: number): LrSchedule {
  const { lrSchedule: name = 'constant', lrWarmupSteps: warmupSteps = 0, lrDecaySteps: decaySteps = 0 } = options;
  if (!LR_SCHEDULES.includes(name)) throw new InputError(`lrSchedule must be ${LR_SCHEDULES.join(' or ')}, got "${name}"`);
  for (const [option, value] of [['lrWarmupSteps', warmupSteps], ['lrDecaySteps', decaySteps]] as const) {
    if (!(Number.isInteger(value) && value >= 0)) throw new InputError(`${option} must be a non-negative integer, got ${value}`);
  }
  if (warmupSteps + decaySteps > steps) {
    throw new InputError(`${warmupSteps} warm-up and ${decaySteps} decay steps do not fit in a run of ${steps} steps`);
  }
  const lrEnd = options.lrEnd ?? lr / 10;
  if (!(lrEnd >= 0 && lrEnd <= lr)) throw new InputError(`lrEnd must be in 0..lr (${lr}), got ${lrEnd}`);
  // as SAELens: with cosineannealing the decay would start at lrEnd, and a decay from 0 is no decay
  if (name === 'cosineannealing' && decaySteps > 0 && lrEnd === 0) throw new InputError('a decay after cosineannealing needs lrEnd > 0');
  return { name, lr, lrEnd, steps, warmupSteps, decaySteps };
}

/** The learning rate of `step`, 1-based (the first optimizer step is 1). */
export function learningRateAt(schedule: LrSchedule, step: number): number {
  const { name, lr, lrEnd, steps, warmupSteps, decaySteps } = schedule;
  const i = step - 1;
  if (i < warmupSteps) return (lr * (i + 1)) / warmupSteps;
  const mainSteps = steps - warmupSteps - decaySteps;
  const j = i - warmupSteps;
  if (j < mainSteps) return name === 'constant' ? lr : lrEnd + ((lr - lrEnd) * (1 + Math.cos((Math.PI * j) / mainSteps))) / 2;
  const k = j - mainSteps;
  return (name === 'constant' ? lr : lrEnd) * (1 - k / decaySteps);
}

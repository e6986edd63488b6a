import { describe, expect, it } from 'vitest';
import { InputError } from '@/compute/errors';
import { learningRateAt, lrSchedule, type LrScheduleOptions } from '@/compute/sae/lr-schedule';

const LR = 1e-3;
const rates = (options: LrScheduleOptions, steps: number) => {
  const schedule = lrSchedule(options, LR, steps);
  return Array.from({ length: steps }, (_, i) => learningRateAt(schedule, i + 1));
};

describe('learning-rate schedules (SAELens get_lr_scheduler)', () => {
  it('constant: lr at every step', () => {
    expect(rates({}, 5)).toEqual([LR, LR, LR, LR, LR]);
  });

  it('warm-up then cosine annealing: lr·1/W … lr, then half a cosine from lr towards lrEnd', () => {
    // 4 warm-up steps, then 8 cosine steps from 1e-3 to lrEnd = 1e-4 (lr / 10)
    const lr = rates({ lrSchedule: 'cosineannealing', lrWarmupSteps: 4 }, 12);
    expect(lr.slice(0, 4)).toEqual([0.25e-3, 0.5e-3, 0.75e-3, 1e-3]);
    expect(lr[4]).toBeCloseTo(1e-3, 12); // cosine step 0: the peak
    expect(lr[6]).toBeCloseTo(1e-4 + 0.9e-3 * (1 + Math.cos(Math.PI / 4)) / 2, 12); // cosine step 2 of 8
    expect(lr[8]).toBeCloseTo(5.5e-4, 12); // halfway: (lr + lrEnd) / 2
    expect(lr[11]).toBeCloseTo(1e-4 + 0.9e-3 * (1 + Math.cos((7 * Math.PI) / 8)) / 2, 12);
    for (let i = 4; i < 11; i++) expect(lr[i + 1]).toBeLessThan(lr[i]);
    expect(lr[11]).toBeGreaterThan(1e-4);
  });

  it('linear warm-up and decay around a constant rate, the decay going to 0', () => {
    const lr = rates({ lrWarmupSteps: 2, lrDecaySteps: 4 }, 8);
    expect(lr).toEqual([0.5e-3, 1e-3, 1e-3, 1e-3, 1e-3, 0.75e-3, 0.5e-3, 0.25e-3]);
  });

  it('cosine annealing to a given lrEnd, then decay from it', () => {
    const lr = rates({ lrSchedule: 'cosineannealing', lrDecaySteps: 2, lrEnd: 2e-4 }, 4);
    expect(lr[0]).toBeCloseTo(1e-3, 12);
    expect(lr[1]).toBeCloseTo(6e-4, 12);
    expect(lr.slice(2)).toEqual([2e-4, 1e-4]);
  });

  it('refuses schedules that do not fit, naming the setting', () => {
    expect(() => lrSchedule({ lrWarmupSteps: 6, lrDecaySteps: 5 }, LR, 10)).toThrow(/6 warm-up and 5 decay steps do not fit in a run of 10 steps/);
    expect(() => lrSchedule({ lrWarmupSteps: -1 }, LR, 10)).toThrow(/lrWarmupSteps must be a non-negative integer, got -1/);
    expect(() => lrSchedule({ lrEnd: 2 * LR }, LR, 10)).toThrow(/lrEnd must be in 0\.\.lr/);
    expect(() => lrSchedule({ lrSchedule: 'cosineannealing', lrDecaySteps: 2, lrEnd: 0 }, LR, 10)).toThrow(InputError);
    expect(() => lrSchedule({ lrSchedule: 'linear' as never }, LR, 10)).toThrow(/lrSchedule must be constant or cosineannealing, got "linear"/);
  });
});

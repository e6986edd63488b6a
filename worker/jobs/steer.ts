import type { JobParams } from '@/jobs';
import { prepareInput } from '@/compute/analyses/predict';
import { steer } from '@/compute/analyses/steer';
import type { JobContext, JobOutput } from './context';

/** The evenly spaced coefficients from `from` to `to`, both included. */
export function coefficientScan({ from, to, steps }: { from: number; to: number; steps: number }): number[] {
  if (steps === 1) return [from];
  const step = (to - from) / (steps - 1);
  // rounded so that -10..10 in 21 steps gives -9, not -8.999999999999998
  return Array.from({ length: steps }, (_, i) => Number((from + i * step).toPrecision(12)));
}

/** Steering scan: x ← x + c·W_dec[f] at every position, for each coefficient; loss, next tokens and a target logit. */
export async function steerJob(params: JobParams<'steer'>, ctx: JobContext): Promise<JobOutput<'steer'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const steering = steer(model, sae, ids, params.feature, {
    coefficients: coefficientScan(params.coefficients),
    targetToken: params.targetToken,
    top: params.top,
  });
  const result = { ...steering, pieces: ids.map((id) => model.tokenizer.piece(id)) };
  return { result, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}

import type { JobParams } from '@/jobs';
import { ablateFeature } from '@/compute/analyses/ablate';
import { prepareInput } from '@/compute/analyses/predict';
import type { JobContext, JobOutput } from './context';

/** The feature ablated (or clamped) at its hook on the user's text: per-token loss change, KL and the logits that fell most. */
export async function ablateJob(params: JobParams<'ablate'>, ctx: JobContext): Promise<JobOutput<'ablate'>> {
  const { row, sae, modelRow, model } = await ctx.sae(params.saeId);
  const ids = prepareInput(model, params.input);
  const ablation = ablateFeature(model, sae, ids, params.feature, {
    positions: params.positions,
    mode: params.mode,
    value: params.value,
    top: params.top,
  });
  // The page shows the text as tokens; the worker holds the tokenizer.
  const result = { ...ablation, pieces: ids.map((id) => model.tokenizer.piece(id)) };
  return { result, inputs: { model: modelRow.contentHash, sae: row.contentHash } };
}

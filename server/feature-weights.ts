/** Recomputed weights (the logit-weights job), written into the SAE's current dashboard run. */
import { and, eq } from 'drizzle-orm';
import { features, saes } from '@/drizzle/schema';
import type { Db } from './db';
import type { FeatureDashboard } from '@/compute/dashboards/types';

/** What a logit-weights job recomputes of a feature's dashboard: the parts that depend on the weights alone. */
export type FeatureWeightsUpdate = Pick<
  FeatureDashboard,
  'index' | 'logitWeights' | 'logitFoldLn' | 'logitHistogram' | 'encoderBias' | 'encoderNorm' | 'decoderNorm' | 'deDot' | 'deCos'
>;

/** Replaces the weight-based data of some features in the SAE's current run; the indices of features it updated. */
export async function storeFeatureWeights(db: Db, saeId: string, updates: FeatureWeightsUpdate[]): Promise<number[]> {
  return db.transaction(async (tx) => {
    const [sae] = await tx.select({ runId: saes.currentRunId }).from(saes).where(eq(saes.id, saeId)).for('share');
    if (!sae?.runId) return [];
    const updated: number[] = [];
    for (const u of updates) {
      const rows = await tx
        .update(features)
        .set({
          logitTop: u.logitWeights.top,
          logitBottom: u.logitWeights.bottom,
          logitFoldLn: u.logitFoldLn,
          logitHistogram: u.logitHistogram,
          encoderBias: u.encoderBias,
          encoderNorm: u.encoderNorm,
          decoderNorm: u.decoderNorm,
          deDot: u.deDot,
          deCos: u.deCos,
        })
        .where(and(eq(features.runId, sae.runId), eq(features.index, u.index)))
        .returning({ index: features.index });
      updated.push(...rows.map((r) => r.index));
    }
    return updated;
  });
}

/**
 * The decoder rows stored for an SAE whose files Lexicon cannot read (sae_decoder_row, written by a Neuronpedia import
 * that carried each feature's `vector`): what needs only W_dec (similar features) reads them here.
 */
import { eq, sql } from 'drizzle-orm';
import { saeDecoderRows } from '@/drizzle/schema';
import type { Db } from './db';

/** W_dec row-major [dSae, width] from the stored rows, or null unless every feature has one (a part is no decoder). */
export async function storedDecoder(db: Db, sae: { id: string; dSae: number }): Promise<{ values: Float32Array; width: number } | null> {
  const [counted] = await db
    .select({ n: sql<number>`count(*)::int`, width: sql<number | null>`max(length(${saeDecoderRows.vector}) / 4)` })
    .from(saeDecoderRows)
    .where(eq(saeDecoderRows.saeId, sae.id));
  if (!counted || counted.n !== sae.dSae || counted.width === null) return null;
  const width = counted.width;
  const values = new Float32Array(sae.dSae * width);
  const rows = await db.select({ index: saeDecoderRows.index, vector: saeDecoderRows.vector }).from(saeDecoderRows).where(eq(saeDecoderRows.saeId, sae.id));
  for (const { index, vector } of rows) values.set(new Float32Array(new Uint8Array(vector).buffer), index * width);
  return { values, width };
}

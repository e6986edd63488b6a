/**
 * Similar features (docs/compute.md#similar-features): the neighbour sets a whole-SAE dashboard run computes, stored
 * when the run completes, and read for a feature's page with the neighbours' labels, only in SAEs the viewer may see.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { similarFeatures } from '@/drizzle/schema';
import { nearestLayersFirst, type Neighbours } from '@/compute/analyses/similar-features';
import { visibleSaeSql, type Viewer } from './authz';
import type { Db } from './db';

export type SimilarityKind = (typeof similarFeatures.$inferSelect)['kind'];

/** Every feature of `saeId`'s neighbours among `otherSaeId`'s features (the same SAE for within-SAE neighbours). */
export interface NeighbourSet {
  saeId: string;
  otherSaeId: string;
  kind: SimilarityKind;
  neighbours: Neighbours;
}

/** Rows per INSERT: five arrays of this many values travel as text. */
const INSERT_ROWS = 100_000;

const arrayLiteral = (values: ArrayLike<number>) => `{${Array.prototype.join.call(values, ',')}}`;

/** Replaces each set's rows (inside the caller's transaction, so readers see the old set or the new one). */
export async function replaceNeighbourSets(tx: Db, sets: NeighbourSet[]): Promise<void> {
  // runs of two SAEs compared with each other both write each other's sets: one completion at a time replaces them
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext('lexicon.similar_feature'))`);
  for (const { saeId, otherSaeId, kind, neighbours } of sets) {
    await tx
      .delete(similarFeatures)
      .where(and(eq(similarFeatures.saeId, saeId), eq(similarFeatures.otherSaeId, otherSaeId), eq(similarFeatures.kind, kind)));
    const { k, indices, cosines } = neighbours;
    const rowsPerInsert = INSERT_ROWS - (INSERT_ROWS % Math.max(1, k));
    for (let start = 0; start < indices.length; start += rowsPerInsert) {
      const end = Math.min(indices.length, start + rowsPerInsert);
      const features = Int32Array.from({ length: end - start }, (_, i) => Math.floor((start + i) / k));
      const ranks = Int32Array.from({ length: end - start }, (_, i) => (start + i) % k);
      await tx.execute(sql`
        insert into ${similarFeatures} (sae_id, index, kind, other_sae_id, other_index, cosine, rank)
        select ${saeId}::uuid, u.index, ${kind}::similarity_kind, ${otherSaeId}::uuid, u.other_index, u.cosine, u.rank
          from unnest(${arrayLiteral(features)}::int[], ${arrayLiteral(indices.subarray(start, end))}::int[],
                      ${arrayLiteral(cosines.subarray(start, end))}::real[], ${arrayLiteral(ranks)}::smallint[])
               as u(index, other_index, cosine, rank)`);
    }
  }
}

export interface SimilarFeature {
  index: number;
  cosine: number;
  /** the neighbour's label ('' when it has none) */
  label: string;
}

/** One set of neighbours as the feature page lists it. */
export interface SimilarFeatureGroup {
  kind: SimilarityKind;
  /** the SAE the neighbours belong to */
  sae: { slug: string; hookName: string };
  /** the feature's own SAE */
  same: boolean;
  neighbours: SimilarFeature[];
}

/** One neighbour as similarFeaturesSql reads it. */
export interface NeighbourRow {
  kind: SimilarityKind;
  otherSaeId: string;
  slug: string;
  hookName: string;
  index: number;
  cosine: number;
  label: string;
}

/**
 * SQL: the feature's neighbours as a JSON array of NeighbourRow, by kind, SAE and rank, with their labels; neighbours
 * in an SAE the viewer may not see are left out. The feature page folds it into its own read.
 */
export function similarFeaturesSql(viewer: Viewer, saeId: string | SQL, index: number | SQL): SQL {
  return sql`(select coalesce(json_agg(n order by n.kind, n."otherSaeId", n.rank), '[]'::json) from (
      select sf.kind, sf.other_sae_id as "otherSaeId", s.slug, s.hook_name as "hookName", sf.other_index as index, sf.cosine, sf.rank,
             coalesce(p.label, '') as label
        from similar_feature sf
        join sae s on s.id = sf.other_sae_id
        left join feature_page p on p.sae_id = sf.other_sae_id and p.index = sf.other_index
       where sf.sae_id = ${saeId} and sf.index = ${index} and ${visibleSaeSql(viewer, sql`sf.other_sae_id`)}) n)`;
}

/**
 * The feature's neighbours (similarFeaturesSql's rows) grouped: its own SAE's by decoder, then by encoder, then each
 * other SAE's by decoder, nearest layer first.
 */
export function similarFeatureGroups(rows: NeighbourRow[], feature: { saeId: string; hookName: string }): SimilarFeatureGroup[] {
  const groups = new Map<string, SimilarFeatureGroup>();
  for (const row of rows) {
    const key = `${row.kind} ${row.otherSaeId}`;
    let group = groups.get(key);
    if (!group) {
      group = { kind: row.kind, sae: { slug: row.slug, hookName: row.hookName }, same: row.otherSaeId === feature.saeId, neighbours: [] };
      groups.set(key, group);
    }
    group.neighbours.push({ index: row.index, cosine: row.cosine, label: row.label });
  }
  const all = [...groups.values()];
  const own = (kind: SimilarityKind) => all.filter((g) => g.same && g.kind === kind);
  const others = nearestLayersFirst(
    feature.hookName,
    all.filter((g) => !g.same).map((g) => ({ ...g.sae, group: g })),
  ).map((s) => s.group);
  return [...own('decoder'), ...own('encoder'), ...others];
}

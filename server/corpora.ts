/** Corpora: fixed-length token contexts in PostgreSQL, deduplicated by content hash. */
import { and, asc, eq, gte, lt } from 'drizzle-orm';
import { corpora, corpusContexts } from '@/drizzle/schema';
import { corpusHash } from '@/compute/corpus/contexts';
import { withTransaction, type Db } from './db';

export type CorpusRow = typeof corpora.$inferSelect;

/** Rows per multi-row INSERT: large enough to amortise round trips, small enough for the bind-parameter limit. */
const INSERT_BATCH = 1000;

export async function storeCorpus(corpus: {
  modelId: string;
  name: string;
  contexts: number[][];
  contextSize: number;
  prependBos: boolean;
  source: object;
}): Promise<CorpusRow> {
  const contentHash = corpusHash(corpus.contexts);
  return withTransaction(async (tx) => {
    const existing = await tx.query.corpora.findFirst({
      where: and(eq(corpora.modelId, corpus.modelId), eq(corpora.contentHash, contentHash)),
    });
    if (existing) return existing;
    const [row] = await tx
      .insert(corpora)
      .values({
        modelId: corpus.modelId,
        name: corpus.name,
        contextSize: corpus.contextSize,
        prependBos: corpus.prependBos,
        contentHash,
        nContexts: corpus.contexts.length,
        nTokens: corpus.contexts.reduce((n, c) => n + c.length, 0),
        source: corpus.source,
      })
      .returning();
    for (let start = 0; start < corpus.contexts.length; start += INSERT_BATCH) {
      await tx.insert(corpusContexts).values(
        corpus.contexts.slice(start, start + INSERT_BATCH).map((tokens, i) => ({ corpusId: row!.id, index: start + i, tokens })),
      );
    }
    return row!;
  });
}

export async function loadCorpusContexts(db: Db, corpusId: string, range?: { from: number; to: number }): Promise<number[][]> {
  const rows = await db
    .select({ tokens: corpusContexts.tokens })
    .from(corpusContexts)
    .where(
      and(
        eq(corpusContexts.corpusId, corpusId),
        range ? gte(corpusContexts.index, range.from) : undefined,
        range ? lt(corpusContexts.index, range.to) : undefined,
      ),
    )
    .orderBy(asc(corpusContexts.index));
  return rows.map((r) => r.tokens);
}

export async function listCorpora(db: Db, modelId: string): Promise<CorpusRow[]> {
  return db.select().from(corpora).where(eq(corpora.modelId, modelId)).orderBy(asc(corpora.createdAt));
}

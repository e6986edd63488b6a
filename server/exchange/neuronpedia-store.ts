/**
 * Storing an imported dashboard run (Neuronpedia export or SAEDashboard output, ./neuronpedia.ts, ./saedashboard.ts).
 * Both layouts carry the same things, which the readers hand over as ImportedFeature / ImportedActivation /
 * ImportedExplanation; an ImportRun writes them into a new dashboard run of the target SAE inside the caller's one
 * transaction, so readers see the old dashboards or the new ones, never half an import, and an error leaves nothing.
 *
 * Tokens come as strings. Each example's tokens become one corpus_context row of a corpus made for the import, each
 * string mapped to the model's token id whose display piece it is; a string that is no piece of the vocabulary (a
 * tokenizer's out-of-range marker, a byte piece shown otherwise) is kept as an extra piece of the run: id −1−k, k its
 * place in the run's source.extraPieces, so pages and exports show the source's string. An export of another model
 * (more than MAX_EXTRA_PIECES distinct strings unmatched) is refused instead.
 *
 * A feature's decoder vector (Neuronpedia's `vector`), when given, is checked against the SAE's own decoder row when
 * its files could be read (a mismatch is counted and reported, not refused: loaders fold scalings into W_dec
 * differently); else it is stored as the SAE's decoder row (sae_decoder_row, ../sae-decoder.ts) for what needs only
 * the decoder.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { and, eq, getTableColumns, ne, sql } from 'drizzle-orm';
import { corpora, dashboardRuns, features, modelVocabs, saeDecoderRows, type DashboardRunSource } from '@/drizzle/schema';
import { InputError } from '@/compute/errors';
import { parseSaeConfig } from '@/compute/sae/config';
import type { Histogram, TokenWeight } from '@/compute/dashboards/types';
import type { FeatureStats } from '@/compute/analyses/feature-stats';
import type { VectorCounts } from '@/jobs/kinds/import';
import type { Db } from '../db';
import { completeRunIn, EXAMPLE_COPY_TARGET, featureRow } from '../dashboards';
import { proposeManyFromSource } from '../label-votes';
import type { SaeRow } from '../saes';
import { ActivationBatcher, checkFeatureIndex, pieceIdsOf, type ActivationBatch } from './activation-batch';
import { BinaryRows, littleEndianBytes, uuidBytes } from './copy-binary';
import { where, type At } from './neuronpedia-files';

/** A feature's statistics as both layouts give them (SAEDashboard's and Neuronpedia's field names). */
export interface ImportedFeature {
  index: number;
  /** tokens frac_nonzero was measured over, when the feature says (SAEDashboard: n_prompts_total × n_tokens_in_prompt) */
  nTokens: number | null;
  fracNonzero: number;
  maxActApprox: number | null;
  /** bar centres and heights */
  activationHistogram: { values: number[]; heights: number[] };
  logitHistogram: { values: number[]; heights: number[] };
  pos: { str: string[]; values: number[] };
  neg: { str: string[]; values: number[] };
  /** the feature's decoder row W_dec[index] (empty: not given) */
  vector: number[];
}

export interface ImportedExplanation {
  index: number;
  description: string;
  modelName: string | null;
  type: string | null;
  /** the author as the source names them (Neuronpedia's authorId) */
  author: string | null;
  scores: Record<string, unknown> | null;
  /** the line as given (JSON), kept so an export writes it back the same */
  line: string;
}

export interface ImportSummary {
  runId: string;
  features: number;
  examples: number;
  explanations: number;
  /** explanations already proposed with the same text (kept as they were) */
  explanationsKept: number;
  unmatchedTokens: number;
  vectors: VectorCounts;
}

export interface ImportProgress {
  phase: 'activations' | 'features' | 'explanations' | 'finishing';
  /** lines (or features) read so far in this phase */
  done: number;
  /** the batch files of this phase, and how many of them were read whole */
  files: number;
  filesDone: number;
  /** the decoder vectors so far (from the first feature read on) */
  vectors?: VectorCounts;
}

/** The per-feature weight statistics (compute/analyses/feature-stats), indexed by feature. */
export type WeightStats = Pick<FeatureStats, 'encoderBias' | 'encoderNorm' | 'decoderNorm' | 'deDot' | 'deCos'>;
const NO_WEIGHT_STATS: WeightStats = { encoderBias: 0, encoderNorm: 0, decoderNorm: 0, deDot: 0, deCos: 0 };

/** What an import takes from the SAE's own files, when it can read them: the statistics and the decoder rows. */
export interface SaeWeights {
  stats: WeightStats[];
  /** W_dec row-major, `width` values a feature */
  decoder: Float32Array;
  width: number;
}

/** A given vector agrees with the SAE's row when their cosine and their norms' ratio are this close to 1. */
const VECTOR_TOLERANCE = 1e-3;
const MISMATCHES_LISTED = 10;

/** Distinct unmatched token strings beyond which the export is taken for another model's. */
export const MAX_EXTRA_PIECES = 1000;
/** Example rows per COPY (and the contexts they point at). */
const EXAMPLE_BATCH = 5000;
const FEATURE_BATCH = 500;
const EXPLANATION_BATCH = 1000;

/** feature's column names by their drizzle keys */
const FEATURE_COLUMNS: Record<string, string> = Object.fromEntries(Object.entries(getTableColumns(features)).map(([key, column]) => [key, column.name]));

/** The i-th activation of a batch. */
interface Activation {
  batch: ActivationBatch;
  bytes: BatchBytes;
  i: number;
}

/** A batch's tokens, activations and losses as the little-endian bytes the COPY takes, made once per batch. */
interface BatchBytes {
  tokens: Buffer;
  acts: Buffer;
  loss: Buffer;
}

interface IntervalSummary {
  lo: number;
  hi: number;
  contains: number;
}

export class ImportRun {
  private readonly pieceIds: Map<string, number>;
  private readonly extraPieces: string[] = [];
  private readonly extraIds = new Map<string, number>();
  private unmatchedTokens = 0;

  /** the feature whose activations are being gathered, and its activations (the i-th of a batch each) */
  private group: { index: number; items: Activation[] } | null = null;
  private readonly grouped = new Set<number>();
  /** batches taken whose buffers go back to be filled again once no open group reads them */
  private held: { batch: ActivationBatch; release: () => void }[] = [];
  /** per feature whose activations were read: its intervals and the largest activation among its examples */
  private readonly fromActivations = new Map<number, { intervals: IntervalSummary[]; maxAct: number }>();
  private contextRows = new BinaryRows();
  private exampleRows = new BinaryRows();
  /** the batch PostgreSQL is copying now, and the rows it copies (or copied), which the batch after it reuses */
  private copying: Promise<void> = Promise.resolve();
  private spareRows = { contexts: new BinaryRows(), examples: new BinaryRows() };
  private queued = 0;
  private readonly runIdBytes: Buffer;
  private readonly corpusIdBytes: Buffer;
  private readonly saeIdBytes: Buffer;
  private nContexts = 0;
  private nTokens = 0;
  private longest = 0;
  private readonly corpusHash = createHash('sha256');

  private readonly featureSeen = new Set<number>();
  private featureRows: ReturnType<typeof featureRow>[] = [];
  private decoderRows = new BinaryRows();
  private decoderReplaced = false;
  /** the width of the SAE's decoder rows, d_out (d_in but for a transcoder), from its cfg when the first vector comes */
  private decoderWidth: number | null = null;
  private readonly vectors: VectorCounts = { stored: 0, checked: 0, mismatched: 0, firstMismatches: [] };
  private explanations: ImportedExplanation[] = [];
  private counts = { features: 0, examples: 0, explanations: 0, explanationsKept: 0 };
  private readonly started = Date.now();

  private constructor(
    private readonly tx: Db,
    private readonly client: pg.PoolClient,
    private readonly sae: SaeRow,
    private readonly runId: string,
    private readonly corpusId: string,
    private readonly source: Omit<DashboardRunSource, 'extraPieces' | 'unmatchedTokens'>,
    /** the model's vocabulary, whose pieces the export's token strings are mapped to */
    readonly pieces: string[],
    private readonly weights: SaeWeights | null,
  ) {
    this.runIdBytes = uuidBytes(runId);
    this.corpusIdBytes = uuidBytes(corpusId);
    this.saeIdBytes = uuidBytes(sae.id);
    this.pieceIds = pieceIdsOf(pieces);
  }

  get dSae(): number {
    return this.sae.dSae;
  }

  /** the decoder vectors stored or compared so far */
  get vectorCounts(): VectorCounts {
    return { ...this.vectors, firstMismatches: [...this.vectors.firstMismatches] };
  }

  /** Checks and packs activations of `file` parsed in this thread. */
  batcher(file: string): ActivationBatcher {
    return new ActivationBatcher(file, this.pieceIds, this.sae.dSae);
  }

  /** Starts the run (invisible until finish) and the corpus its examples' contexts go into. */
  static async begin(
    tx: Db,
    client: pg.PoolClient,
    sae: SaeRow,
    source: Omit<DashboardRunSource, 'extraPieces' | 'unmatchedTokens'>,
    weights: SaeWeights | null,
  ): Promise<ImportRun> {
    // the commit need not wait for its WAL to reach the disk: a crash just after it loses an import that can be re-run
    await tx.execute(sql`set local synchronous_commit = off`);
    const vocab = await tx.query.modelVocabs.findFirst({ where: eq(modelVocabs.modelId, sae.modelId) });
    if (!vocab) throw new InputError(`the SAE's model has no stored vocabulary to map the export's tokens to; register the model again`);
    const [corpus] = await tx
      .insert(corpora)
      .values({
        modelId: sae.modelId,
        name: `${source.kind === 'neuronpedia' ? 'Neuronpedia export' : 'SAEDashboard output'} ${[source.modelId, source.sourceId].filter(Boolean).join('/') || source.path} (examples)`,
        contextSize: 0,
        prependBos: false,
        // replaced by the hash of the tokens at finish
        contentHash: `importing ${source.inputsHash} ${Date.now()}`,
        nContexts: 0,
        nTokens: 0,
        source: { import: source.kind, path: source.path },
      })
      .returning({ id: corpora.id });
    const [run] = await tx
      .insert(dashboardRuns)
      .values({ saeId: sae.id, corpusId: corpus!.id, jobId: null, params: { import: source.kind }, source: { ...source, extraPieces: [], unmatchedTokens: 0 } })
      .returning({ id: dashboardRuns.id });
    // the SAE's files are the truth where they can be read
    if (weights) await tx.delete(saeDecoderRows).where(eq(saeDecoderRows.saeId, sae.id));
    return new ImportRun(tx, client, sae, run!.id, corpus!.id, source, vocab.pieces, weights);
  }

  private checkIndex(index: number, at: At): void {
    checkFeatureIndex(index, this.sae.dSae, at);
  }

  private tokenId(piece: string): number {
    const id = this.pieceIds.get(piece) ?? this.extraIds.get(piece);
    if (id !== undefined) return id;
    this.extraPieces.push(piece);
    if (this.extraPieces.length > MAX_EXTRA_PIECES) {
      const examples = this.extraPieces.slice(0, 5).map((p) => JSON.stringify(p)).join(', ');
      throw new InputError(
        `more than ${MAX_EXTRA_PIECES} distinct token strings of the export are not in the model's vocabulary (e.g. ${examples}): is it an export of another model?`,
      );
    }
    const extra = -this.extraPieces.length;
    this.extraIds.set(piece, extra);
    return extra;
  }

  private tokenWeights(table: { str: string[]; values: number[] }, at: At, name: string): TokenWeight[] {
    if (table.str.length !== table.values.length) {
      throw new InputError(`${where(at)}: ${name}_str has ${table.str.length} tokens but ${name}_values ${table.values.length} values`);
    }
    return table.str.map((piece, i) => ({ id: this.tokenId(piece), value: table.values[i]! }));
  }

  /**
   * Takes a batch of activations (checked where they were parsed): their tokens the vocabulary lacks become the
   * run's extra pieces, and each feature's are gathered until the next feature's begin. `release` (if given) is called
   * once the batch has been read: its buffers may be filled again.
   */
  async activations(batch: ActivationBatch, release?: () => void): Promise<void> {
    if (batch.unknown.length > 0) {
      const ids = batch.unknown.map((piece) => this.tokenId(piece));
      const tokens = batch.tokens;
      for (let t = 0; t < tokens.length; t++) {
        if (tokens[t]! < 0) {
          tokens[t] = ids[-1 - tokens[t]!]!;
          this.unmatchedTokens++;
        }
      }
    }
    const bytes = { tokens: littleEndianBytes(batch.tokens), acts: littleEndianBytes(batch.acts), loss: littleEndianBytes(batch.loss) };
    for (let i = 0; i < batch.count; i++) {
      const index = batch.index[i]!;
      if (this.group?.index !== index) {
        await this.closeGroup();
        if (this.grouped.has(index)) {
          const at = { file: batch.file, line: batch.lines[i]! };
          throw new InputError(`${where(at)}: the activations of feature ${index} are not together (it appeared earlier, then other features did)`);
        }
        this.group = { index, items: [] };
        this.grouped.add(index);
      }
      this.group!.items.push({ batch, bytes, i });
    }
    if (release) this.held.push({ batch, release });
    this.releaseRead();
  }

  /** Releases the held batches that the open group (whose examples are not yet stored) does not read. */
  private releaseRead(): void {
    const open = new Set(this.group?.items.map((item) => item.batch));
    const held = this.held;
    this.held = held.filter(({ batch }) => open.has(batch));
    for (const { batch, release } of held) if (!open.has(batch)) release();
  }

  /** Stores the gathered feature's examples: top ones by their maximum, intervals from the lowest, as computed runs do. */
  private async closeGroup(): Promise<void> {
    const group = this.group;
    if (!group) return;
    this.group = null;
    const top = group.items.filter(({ batch, i }) => !batch.isInterval[i]);
    // an interval is its bounds as given (NaN the same as NaN), found among the feature's few without a key string made
    const bins: { binMin: number; binMax: number; lo: number; hi: number; contains: number; items: Activation[] }[] = [];
    for (const item of group.items) {
      const { batch, i } = item;
      if (!batch.isInterval[i]) continue;
      const binMin = batch.binMin[i]!;
      const binMax = batch.binMax[i]!;
      let bin = bins.find((b) => sameNumber(b.binMin, binMin) && sameNumber(b.binMax, binMax));
      if (!bin) {
        const contains = batch.binContains[i]!;
        bins.push((bin = { binMin, binMax, lo: binMin, hi: Number.isNaN(binMax) ? binMin : binMax, contains: Number.isNaN(contains) ? 0 : contains, items: [] }));
      }
      bin.items.push(item);
    }
    const intervals = bins.sort((x, y) => x.lo - y.lo);
    let maxAct = 0;
    const add = (item: Activation, kind: 'top' | 'interval', interval: number, rank: number) => {
      maxAct = Math.max(maxAct, this.example(item, kind, interval, rank));
    };
    top.sort((x, y) => y.batch.rankKey[y.i]! - x.batch.rankKey[x.i]!).forEach((item, rank) => add(item, 'top', -1, rank));
    intervals.forEach((bin, i) => bin.items.forEach((item, rank) => add(item, 'interval', i, rank)));
    this.fromActivations.set(group.index, { intervals: intervals.map(({ lo, hi, contains }) => ({ lo, hi, contains })), maxAct });
    if (this.queued >= EXAMPLE_BATCH) await this.flushExamples();
  }

  /** Queues one example and its context for COPY; returns its maximum activation. */
  private example({ batch, bytes, i }: Activation, kind: 'top' | 'interval', interval: number, rank: number): number {
    // the example's tokens and values: `length` of the batch's from `start`, 4 bytes each
    const start = batch.tokenStart[i]!;
    const length = batch.tokenStart[i + 1]! - start;
    const maxPos = batch.maxPos[i]!;
    const maxAct = batch.maxAct[i]!;
    const contextIndex = this.nContexts++;
    this.nTokens += length;
    this.longest = Math.max(this.longest, length);
    // little-endian int32s, as the hash of a computed run's corpus
    this.corpusHash.update(bytes.tokens.subarray(4 * start, 4 * (start + length)));
    this.contextRows.row(3).bytes(this.corpusIdBytes).int4(contextIndex).byteRange(bytes.tokens, 4 * start, 4 * (start + length));
    const rows = this.exampleRows.row(12).bytes(this.runIdBytes).int4(batch.index[i]!).text(kind).int2(interval).int2(rank).int4(contextIndex);
    (kind === 'interval' ? rows.int4(batch.position[i]!) : rows.null()).float4(maxAct).int4(maxPos);
    rows.byteRange(bytes.acts, 4 * start, 4 * (start + length));
    const lossStart = batch.lossStart[i]!;
    const lossEnd = batch.lossStart[i + 1]!;
    (lossEnd > lossStart ? rows.byteRange(bytes.loss, 4 * lossStart, 4 * lossEnd) : rows.null()).int4(batch.tokens[start + maxPos]!);
    this.queued++;
    this.counts.examples++;
    return maxAct;
  }

  /**
   * Starts copying the queued examples and their contexts, and returns once the previous batch's copy is done:
   * PostgreSQL stores one batch while this process parses the next.
   */
  private async flushExamples(): Promise<void> {
    const full = { contexts: this.contextRows, examples: this.exampleRows };
    const previous = this.copying;
    this.copying = (async () => {
      await previous;
      if (full.examples.empty) return;
      await full.contexts.copyInto(this.client, 'corpus_context (corpus_id, index, tokens)');
      await full.examples.copyInto(this.client, EXAMPLE_COPY_TARGET);
    })();
    // a failed copy is reported by the next flush's await (or finish's), not as an unhandled rejection meanwhile
    this.copying.catch(() => undefined);
    await previous;
    // the previous batch's rows are copied: the next batch fills their buffers again
    this.contextRows = this.spareRows.contexts.reset();
    this.exampleRows = this.spareRows.examples.reset();
    this.spareRows = full;
    this.queued = 0;
  }

  async feature(f: ImportedFeature, at: At): Promise<void> {
    this.checkIndex(f.index, at);
    if (this.featureSeen.has(f.index)) throw new InputError(`${where(at)}: feature ${f.index} appears a second time`);
    this.featureSeen.add(f.index);
    if (this.group?.index === f.index) await this.closeGroup();
    const examples = this.fromActivations.get(f.index);
    this.fromActivations.delete(f.index);
    const nTokens = f.nTokens ?? this.source.nTokensStated ?? 0;
    const nonzeroCount = Math.round(f.fracNonzero * nTokens);
    const histogram = fromBars(f.activationHistogram, at, 'freq_hist_data');
    const meanAct = barsMean(f.activationHistogram);
    if (this.weights) this.checkVector(f, at);
    const storedNorm = this.weights ? 0 : this.storeVector(f, at);
    this.featureRows.push(
      featureRow(this.runId, this.sae.id, {
        index: f.index,
        nTokens,
        nonzeroCount,
        bosCount: null,
        bosExcluded: false,
        density: f.fracNonzero,
        maxAct: f.maxActApprox ?? examples?.maxAct ?? 0,
        meanAct,
        meanActAll: meanAct * f.fracNonzero,
        histogram,
        intervals: (examples?.intervals ?? []).map(({ lo, hi, contains }) => ({ lo, hi, count: Math.round(contains * nonzeroCount) })),
        logitWeights: { top: this.tokenWeights(f.pos, at, 'pos'), bottom: this.tokenWeights(f.neg, at, 'neg') },
        // SAEDashboard takes W_U from a TransformerLens model loaded with its defaults, which fold the final norm in
        logitFoldLn: true,
        logitHistogram: fromBars(f.logitHistogram, at, 'logits_hist_data'),
        // not in the layout: from the SAE's own weights when the caller could read them, else 0 (the decoder's norm
        // from the given vector)
        ...(this.weights?.stats[f.index] ?? { ...NO_WEIGHT_STATS, decoderNorm: storedNorm }),
      }),
    );
    this.counts.features++;
    if (this.featureRows.length >= FEATURE_BATCH) await this.flushFeatures();
  }

  private checkVectorWidth(f: ImportedFeature, width: number, at: At): void {
    if (f.vector.length !== width) {
      throw new InputError(`${where(at)}: feature ${f.index}'s vector has ${f.vector.length} values but the SAE's decoder rows have ${width}`);
    }
  }

  /** Queues the feature's vector as the SAE's decoder row; returns its norm (0 without one). */
  private storeVector(f: ImportedFeature, at: At): number {
    if (f.vector.length === 0) return 0;
    this.decoderWidth ??= parseSaeConfig(this.sae.cfg, `the cfg.json registered for ${this.sae.slug}`).dOut;
    this.checkVectorWidth(f, this.decoderWidth, at);
    this.decoderRows.row(3).bytes(this.saeIdBytes).int4(f.index).float32Bytes(f.vector);
    this.vectors.stored++;
    return Math.sqrt(f.vector.reduce((sum, v) => sum + v * v, 0));
  }

  /** Compares the feature's vector with the SAE's own decoder row. */
  private checkVector(f: ImportedFeature, at: At): void {
    if (f.vector.length === 0) return;
    const { decoder, width } = this.weights!;
    this.checkVectorWidth(f, width, at);
    const row = decoder.subarray(f.index * width, (f.index + 1) * width);
    let dot = 0;
    let given = 0;
    let own = 0;
    row.forEach((v, i) => {
      dot += v * f.vector[i]!;
      given += f.vector[i]! ** 2;
      own += v * v;
    });
    const cosine = given > 0 && own > 0 ? dot / Math.sqrt(given * own) : given === own ? 1 : 0;
    const ratio = own > 0 ? Math.sqrt(given / own) : given === 0 ? 1 : Infinity;
    this.vectors.checked++;
    if (Math.abs(1 - cosine) > VECTOR_TOLERANCE || Math.abs(1 - ratio) > VECTOR_TOLERANCE) {
      this.vectors.mismatched++;
      if (this.vectors.firstMismatches.length < MISMATCHES_LISTED) this.vectors.firstMismatches.push(f.index);
    }
  }

  /**
   * Inserts the queued feature rows as one JSON parameter that PostgreSQL spreads over the table's columns: drizzle's
   * multi-row insert, a parameter for each of the 22 columns of every row, cost the importing thread far more.
   */
  private async flushFeatures(): Promise<void> {
    if (this.featureRows.length === 0) return;
    const named = this.featureRows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [FEATURE_COLUMNS[key], value])));
    await this.tx.execute(sql`insert into feature select * from jsonb_populate_recordset(null::feature, ${JSON.stringify(named)}::jsonb)`);
    this.featureRows = [];
    if (this.decoderRows.empty) return;
    const rows = this.decoderRows;
    this.decoderRows = new BinaryRows();
    // an import that brings vectors replaces those an earlier one brought (one without any keeps them)
    if (!this.decoderReplaced) await this.tx.delete(saeDecoderRows).where(eq(saeDecoderRows.saeId, this.sae.id));
    this.decoderReplaced = true;
    await rows.copyInto(this.client, 'sae_decoder_row (sae_id, index, vector)');
  }

  async explanation(e: ImportedExplanation, at: At): Promise<void> {
    this.checkIndex(e.index, at);
    if (e.description.trim() === '') return;
    this.explanations.push(e);
    if (this.explanations.length >= EXPLANATION_BATCH) await this.flushExplanations();
  }

  private async flushExplanations(): Promise<void> {
    if (this.explanations.length === 0) return;
    const from = this.source.path;
    const added = await proposeManyFromSource(
      this.tx,
      this.explanations.map((e) => ({
        saeId: this.sae.id,
        index: e.index,
        label: e.description,
        provenance: {
          by: `${this.source.kind === 'neuronpedia' ? 'Neuronpedia' : 'SAEDashboard'}${credited(e)}`,
          source: 'import' as const,
          ...(e.modelName ? { model: e.modelName } : {}),
          ...(e.type ? { type: e.type } : {}),
          ...(e.scores ? { scores: e.scores } : {}),
          from,
          explanation: e.line,
        },
      })),
    );
    this.counts.explanations += added.length;
    this.counts.explanationsKept += this.explanations.length - added.length;
    this.explanations = [];
  }

  /** Writes what is left, checks that every example has its feature, and makes the run the SAE's current one. */
  async finish(): Promise<ImportSummary> {
    await this.closeGroup();
    this.releaseRead();
    await this.flushExamples();
    await this.copying;
    await this.flushFeatures();
    await this.flushExplanations();
    // a feature's row takes its examples' summary; what is left had no row
    const orphans = [...this.fromActivations.keys()].sort((a, b) => a - b).slice(0, 5);
    if (orphans.length > 0) {
      throw new InputError(`activations are given for feature(s) ${orphans.join(', ')} that the features files have no row for`);
    }
    await this.storeCorpus();
    await this.tx
      .update(dashboardRuns)
      .set({ source: { ...this.source, extraPieces: this.extraPieces, unmatchedTokens: this.unmatchedTokens } })
      .where(eq(dashboardRuns.id, this.runId));
    await completeRunIn(this.tx, this.runId, {
      evals: null,
      timings: { importSeconds: (Date.now() - this.started) / 1000 },
      nTokens: this.source.nTokensStated ?? 0,
      subset: false,
      replaceCurrent: true,
    });
    return { runId: this.runId, ...this.counts, unmatchedTokens: this.unmatchedTokens, vectors: this.vectors };
  }

  /** The corpus gets its hash; when the same contexts were imported before (another SAE's run), the run shares that corpus. */
  private async storeCorpus(): Promise<void> {
    const contentHash = this.corpusHash.digest('hex');
    const [same] = await this.tx
      .select({ id: corpora.id })
      .from(corpora)
      .where(and(eq(corpora.modelId, this.sae.modelId), eq(corpora.contentHash, contentHash), ne(corpora.id, this.corpusId)));
    if (same) {
      await this.tx.update(dashboardRuns).set({ corpusId: same.id }).where(eq(dashboardRuns.id, this.runId));
      await this.tx.delete(corpora).where(eq(corpora.id, this.corpusId));
      return;
    }
    await this.tx
      .update(corpora)
      .set({ contentHash, nContexts: this.nContexts, nTokens: this.nTokens, contextSize: this.longest })
      .where(eq(corpora.id, this.corpusId));
  }
}

/** a === b, NaN the same as NaN */
const sameNumber = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** Whom an imported explanation is credited to after its source: the model that wrote it, else its author. */
function credited(e: ImportedExplanation): string {
  const who = e.modelName || e.author;
  return who ? ` (${who})` : '';
}

/**
 * Equal-width bars given by their centres, as edges and counts; the centres are kept as given, so an export of the
 * import writes the same numbers.
 */
function fromBars(bars: { values: number[]; heights: number[] }, at: At, name: string): Histogram {
  if (bars.values.length !== bars.heights.length) {
    throw new InputError(`${where(at)}: ${name}_bar_values has ${bars.values.length} entries but ${name}_bar_heights ${bars.heights.length}`);
  }
  const n = bars.values.length;
  if (n === 0) return { edges: [], counts: [] };
  const width = n > 1 ? (bars.values[n - 1]! - bars.values[0]!) / (n - 1) : 0;
  const first = bars.values[0]! - width / 2;
  return { edges: Array.from({ length: n + 1 }, (_, i) => first + i * width), counts: bars.heights, centres: bars.values };
}

/** The mean of the histogrammed values, each bar counted at its centre. */
function barsMean(bars: { values: number[]; heights: number[] }): number {
  let sum = 0;
  let count = 0;
  bars.values.forEach((v, i) => {
    sum += v * bars.heights[i]!;
    count += bars.heights[i]!;
  });
  return count > 0 ? sum / count : 0;
}

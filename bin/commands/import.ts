import { choice, onePositional, type Command } from '../args';
import { withDatabase } from '../workspace';

export const importCommand: Command = {
  name: 'import',
  usage: '--format lexicon DIR | --format neuronpedia|saedashboard DIR_OR_URL [--sae MODEL/SAE] [--json]',
  summary:
    'lexicon: restore a Lexicon export into a wiki with its models and SAEs registered and no content yet (all or nothing); ' +
    "the others import dashboards and explanations made elsewhere as an SAE's current dashboard run: a Neuronpedia export's source folder " +
    "(<modelId>/<sourceId>/, a directory or base URL) or SAEDashboard's NeuronpediaRunner output (batch-N.json); the SAE is the " +
    "one the export names unless --sae says; explanations become label proposals; decoder vectors are checked against the SAE's " +
    'own weights (differences reported) or, without its files, stored as its decoder rows; importing the same files again does nothing',
  options: { format: { type: 'string' }, sae: { type: 'string' }, json: { type: 'boolean' } },
  positionals: true,
  async run(values, positionals) {
    const location = onePositional(positionals, 'export directory or URL');
    const { IMPORT_FORMATS } = await import('../../server/exchange');
    const format = IMPORT_FORMATS[choice(values, 'format', Object.keys(IMPORT_FORMATS) as (keyof typeof IMPORT_FORMATS)[])];
    if (format.scope === 'wiki') {
      await withDatabase((db) => format.run(db, location, { log: (line) => console.log(line) }));
      return;
    }
    const { readSaeWeights } = await import('../../server/exchange/target-sae');
    const started = Date.now();
    const outcome = await withDatabase((db) =>
      format.run(db, {
        location,
        sae: values.sae as string | undefined,
        weights: readSaeWeights,
        onDecoderStored: async (sae) => {
          const { storeDecoderNeighbours } = await import('../../worker/jobs/similar-features');
          if (!values.json) process.stderr.write(`\nsimilar features from the stored decoder rows…`);
          await storeDecoderNeighbours(db, sae);
        },
        onProgress: ({ phase, done }) => {
          if (!values.json) process.stderr.write(`\r${phase}: ${done} read\x1b[K`);
        },
      }),
    );
    if (!values.json) process.stderr.write('\n');
    if (values.json) {
      console.log(JSON.stringify(outcome));
    } else if (outcome.unchanged) {
      console.log(`${outcome.model}/${outcome.sae}: already imported from these files (run ${outcome.runId}); nothing to do`);
    } else {
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `${outcome.model}/${outcome.sae}: run ${outcome.runId} is current: ${outcome.features} features, ${outcome.examples} examples, ` +
          `${outcome.explanations} explanations proposed as labels (${outcome.explanationsKept} already proposed), ` +
          `${outcome.unmatchedTokens} example tokens not in the model's vocabulary, in ${seconds.toFixed(1)} s`,
      );
      const { describeVectors } = await import('../../jobs/kinds/import');
      const vectors = describeVectors(outcome.vectors);
      if (vectors) console.log(outcome.vectors.mismatched > 0 ? `warning: ${vectors}` : vectors);
    }
  },
};

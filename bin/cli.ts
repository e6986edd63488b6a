import path from 'node:path';
import { parseArgs } from 'node:util';
import { predict, prepareInput, type Prediction } from '../compute/analyses/predict';
import { initBackend } from '../compute/backend';
import { InputError } from '../compute/errors';
import { loadModel } from '../compute/model/load';
import type { LanguageModel } from '../compute/model/types';
import { analysisCommands } from './analysis-commands';
import { integer, PROMPT_OPTIONS, promptInput, requiredString, UsageError, type Command, type Values } from './args';
import { trainSaeCommand } from './train-sae';
import { workspaceCommands } from './workspace-commands';

/** Every `lexicon` subcommand; a new one is one more entry. */
const commands: Record<string, Command> = {
  run: {
    usage: '--model DIR (--text TEXT | --token-ids 1,2,3) [--top 5] [--generate N] [--json]',
    summary: 'next-token predictions at every position, and an optional greedy continuation',
    options: {
      model: { type: 'string' },
      ...PROMPT_OPTIONS,
      top: { type: 'string' },
      generate: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(values) {
      const modelDir = requiredString(values, 'model');
      const input = promptInput(values);
      const top = integer(values, 'top', 5);
      const generate = integer(values, 'generate', 0);

      await initBackend();
      const model = await loadModel(path.resolve(modelDir));
      try {
        const prediction = predict(model, prepareInput(model, input), { top, generate });
        console.log(values.json ? JSON.stringify(prediction) : formatPrediction(model, prediction));
      } finally {
        model.dispose();
      }
    },
  },

  'model add': {
    usage: 'DIR [--slug NAME]',
    summary: 'register a model directory in the database (the running one of `npm start`, or the embedded one)',
    options: { slug: { type: 'string' } },
    positionals: true,
    async run(values, positionals) {
      const dir = onePositional(positionals, 'model directory');
      const { registerModel } = await import('../server/register-models');
      const model = await withDatabase((db) => registerModel(db, dir, { slug: values.slug as string | undefined }));
      console.log(`registered ${model.slug} (${model.architecture}, sha256 ${model.contentHash.slice(0, 12)}) from ${model.path}`);
    },
  },
  'sae add': {
    usage: 'DIR --model SLUG [--slug NAME]',
    summary: 'register an SAELens directory under a registered model; validates it and runs the import check',
    options: { model: { type: 'string' }, slug: { type: 'string' } },
    positionals: true,
    async run(values, positionals) {
      const dir = onePositional(positionals, 'SAE directory');
      const modelSlug = requiredString(values, 'model');
      const [{ getModelBySlug }, { registerSae }] = await Promise.all([import('../server/models'), import('../server/register-saes')]);
      const sae = await withDatabase(async (db) => {
        const model = await getModelBySlug(db, modelSlug);
        if (!model) throw new InputError(`no model "${modelSlug}" is registered; add it first with \`lexicon model add DIR\``);
        return registerSae(db, model, dir, { slug: values.slug as string | undefined });
      });
      const check = sae.importCheck as { asGiven: { varianceExplained: number; l0: number }; warnings: string[] };
      console.log(
        `registered ${modelSlug}/${sae.slug} (${sae.architecture}, ${sae.hookName}, d_sae ${sae.dSae}); ` +
          `import check: variance explained ${check.asGiven.varianceExplained.toFixed(3)}, L0 ${check.asGiven.l0.toFixed(1)}`,
      );
      for (const warning of check.warnings) console.log(`WARNING: ${warning}`);
    },
  },
  ...analysisCommands,
  'train-sae': trainSaeCommand,
  ...workspaceCommands(withDatabase),
};

function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0]!;
}

/** Runs `fn` against the database of `npm start` (or DATABASE_URL, or the embedded one, started for the call). */
async function withDatabase<T>(fn: (db: import('../server/db').Db) => Promise<T>): Promise<T> {
  const [{ config }, { getDb, getPool }, { runMigrations }, { openDatabase }] = await Promise.all([
    import('../server/config'),
    import('../server/db'),
    import('../server/migrate'),
    import('../server/postgres'),
  ]);
  const pg = await openDatabase({ dataDir: config.dataDir, port: config.pgPort });
  try {
    await runMigrations(pg.url);
    process.env.DATABASE_URL = pg.url;
    return await fn(getDb());
  } finally {
    await getPool().end();
    await pg.stop();
  }
}

function formatPrediction(model: LanguageModel, { tokens, pieces, top, generated }: Prediction): string {
  const shown = (piece: string) => JSON.stringify(piece);
  const width = Math.max(...pieces.map((piece) => shown(piece).length), 'token'.length);
  const lines = [`${'pos'.padStart(4)}  ${'token'.padEnd(width)}  next-token predictions (probability)`];
  pieces.forEach((piece, pos) => {
    const candidates = top[pos].map((c) => `${shown(c.piece)} ${c.prob.toFixed(3)}`).join('  ');
    lines.push(`${String(pos).padStart(4)}  ${shown(piece).padEnd(width)}  ${candidates}`);
  });
  if (generated.length > 0) {
    lines.push('', `generated ${generated.length} tokens: ${generated.join(', ')}`);
    lines.push(`text: ${model.tokenizer.decode([...tokens, ...generated])}`);
  }
  return lines.join('\n');
}

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  lexicon ${name} ${c.usage}\n      ${c.summary}`);
  return ['usage:', ...lines].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) throw new UsageError('no command given');
    console.log(usage());
    return;
  }
  // Two-word commands ("model add") come first.
  const twoWords = rest[0] !== undefined && commands[`${name} ${rest[0]}`] ? `${name} ${rest.shift()}` : undefined;
  const commandName = twoWords ?? name;
  const command = commands[commandName];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals ?? false,
    }));
  } catch (err) {
    // parseArgs reports unknown options, missing values and stray positionals as TypeErrors
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    console.log(`usage: lexicon ${commandName} ${command.usage}\n  ${command.summary}`);
    return;
  }
  await command.run(values, positionals);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`lexicon: ${err.message}\n${usage()}`);
    process.exitCode = 2;
  } else if (err instanceof InputError) {
    console.error(`lexicon: ${err.message}`);
    process.exitCode = 1;
  } else {
    console.error(err);
    process.exitCode = 1;
  }
});

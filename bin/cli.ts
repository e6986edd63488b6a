import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { predict, prepareInput, type Prediction } from '../workers/analyses/predict';
import { initBackend } from '../workers/backend';
import { InputError } from '../workers/errors';
import { loadModel } from '../workers/model/load';
import type { LanguageModel } from '../workers/model/types';

/** A malformed command line: reported with the usage text, exit code 2. */
class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  /** the arguments after the command name, for the usage text */
  usage: string;
  summary: string;
  options: Options;
  /** takes arguments that are not options (a directory) */
  positionals?: boolean;
  run(values: Values, positionals: string[]): Promise<void>;
}

/** Every `lexicon` subcommand; a new one is one more entry. */
const commands: Record<string, Command> = {
  run: {
    usage: '--model DIR (--text TEXT | --token-ids 1,2,3) [--top 5] [--generate N] [--json]',
    summary: 'next-token predictions at every position, and an optional greedy continuation',
    options: {
      model: { type: 'string' },
      text: { type: 'string' },
      'token-ids': { type: 'string' },
      top: { type: 'string' },
      generate: { type: 'string' },
      json: { type: 'boolean' },
    },
    async run(values) {
      const modelDir = requiredString(values, 'model');
      const text = values.text as string | undefined;
      const tokenIds = values['token-ids'] === undefined ? undefined : parseIds(values['token-ids'] as string);
      if ((text === undefined) === (tokenIds === undefined)) throw new UsageError('give exactly one of --text and --token-ids');
      const top = integer(values, 'top', 5);
      const generate = integer(values, 'generate', 0);

      await initBackend();
      const model = await loadModel(path.resolve(modelDir));
      try {
        const prediction = predict(model, prepareInput(model, { text, tokenIds }), { top, generate });
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

function requiredString(values: Values, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function integer(values: Values, name: string, fallback: number): number {
  const value = values[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) {
    throw new UsageError(`--${name} must be a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

function parseIds(list: string): number[] {
  const parts = list.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new UsageError(`--token-ids must be comma-separated non-negative integers, got "${list}"`);
  }
  return parts.map(Number);
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

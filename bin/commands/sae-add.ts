import { onePositional, requiredString, type Command } from '../args';
import { modelBySlug, withDatabase } from '../workspace';

export const saeAdd: Command = {
  name: 'sae add',
  usage: 'DIR --model SLUG [--slug NAME]',
  summary: 'register an SAELens directory under a registered model; validates it and runs the import check',
  options: { model: { type: 'string' }, slug: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const dir = onePositional(positionals, 'SAE directory');
    const modelSlug = requiredString(values, 'model');
    const { registerSae } = await import('../../server/register-saes');
    const sae = await withDatabase(async (db) => registerSae(db, await modelBySlug(db, modelSlug), dir, { slug: values.slug as string | undefined }));
    const check = sae.importCheck as { asGiven: { varianceExplained: number; l0: number }; warnings: string[] };
    console.log(
      `registered ${modelSlug}/${sae.slug} (${sae.architecture}, ${sae.hookName}, d_sae ${sae.dSae}); ` +
        `import check: variance explained ${check.asGiven.varianceExplained.toFixed(3)}, L0 ${check.asGiven.l0.toFixed(1)}`,
    );
    for (const warning of check.warnings) console.log(`WARNING: ${warning}`);
  },
};

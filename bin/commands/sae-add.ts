import { onePositional, requiredString, UsageError, type Command } from '../args';
import { downloadProgress } from '../progress';
import { modelBySlug, withDatabase } from '../workspace';

export const saeAdd: Command = {
  name: 'sae add',
  usage: '(DIR | hf:OWNER/REPO/FOLDER | --release NAME --sae-id ID) --model SLUG [--slug NAME]',
  summary:
    'register an SAELens directory under a registered model (a local one, one on the Hugging Face Hub, or a SAELens pretrained release such as Gemma Scope, downloaded into the data dir); validates it and runs the import check',
  options: { model: { type: 'string' }, slug: { type: 'string' }, release: { type: 'string' }, 'sae-id': { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const modelSlug = requiredString(values, 'model');
    const [{ registerSae }, hf, { resolveRelease }] = await Promise.all([
      import('../../server/register-saes'),
      import('../../server/hf-hub'),
      import('../../compute/sae/releases'),
    ]);
    const sae = await withDatabase(async (db) => {
      // the model is looked up first, so a wrong --model costs no download
      const model = await modelBySlug(db, modelSlug);
      let dir: string;
      if (values.release !== undefined) {
        if (positionals.length > 0) throw new UsageError('give either a directory or --release, not both');
        const release = resolveRelease(requiredString(values, 'release'), requiredString(values, 'sae-id'));
        dir = await hf.downloadReleaseSae(release, { onProgress: downloadProgress() });
      } else {
        if (values['sae-id'] !== undefined) throw new UsageError('--sae-id goes with --release');
        const given = onePositional(positionals, 'SAE directory, hf: address or --release');
        dir = hf.isHfAddress(given) ? await hf.downloadHfSae(hf.parseHfAddress(given), { onProgress: downloadProgress() }) : given;
      }
      return registerSae(db, model, dir, { slug: values.slug as string | undefined });
    });
    const check = sae.importCheck as { asGiven: { varianceExplained: number; l0: number }; warnings: string[] };
    console.log(
      `registered ${modelSlug}/${sae.slug} (${sae.architecture}, ${sae.hookName}, d_sae ${sae.dSae}); ` +
        `import check: variance explained ${check.asGiven.varianceExplained.toFixed(3)}, L0 ${check.asGiven.l0.toFixed(1)}`,
    );
    for (const warning of check.warnings) console.log(`WARNING: ${warning}`);
  },
};

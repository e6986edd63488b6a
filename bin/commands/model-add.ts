import { onePositional, type Command } from '../args';
import { downloadProgress } from '../progress';
import { withDatabase } from '../workspace';

export const modelAdd: Command = {
  name: 'model add',
  usage: '(DIR | hf:OWNER/REPO[/FOLDER]) [--slug NAME]',
  summary:
    'register a model directory in the database (the running one of `npm start`, or the embedded one); an hf: address is downloaded into the data dir first',
  options: { slug: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const given = onePositional(positionals, 'model directory or hf: address');
    const [{ registerModel }, hf] = await Promise.all([import('../../server/register-models'), import('../../server/hf-hub')]);
    const dir = hf.isHfAddress(given) ? await hf.downloadHfModel(hf.parseHfAddress(given), { onProgress: downloadProgress() }) : given;
    const model = await withDatabase((db) => registerModel(db, dir, { slug: values.slug as string | undefined }));
    console.log(`registered ${model.slug} (${model.architecture}, sha256 ${model.contentHash.slice(0, 12)}) from ${model.path}`);
  },
};

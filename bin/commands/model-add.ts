import { onePositional, type Command } from '../args';
import { withDatabase } from '../workspace';

export const modelAdd: Command = {
  name: 'model add',
  usage: 'DIR [--slug NAME]',
  summary: 'register a model directory in the database (the running one of `npm start`, or the embedded one)',
  options: { slug: { type: 'string' } },
  positionals: true,
  async run(values, positionals) {
    const dir = onePositional(positionals, 'model directory');
    const { registerModel } = await import('../../server/register-models');
    const model = await withDatabase((db) => registerModel(db, dir, { slug: values.slug as string | undefined }));
    console.log(`registered ${model.slug} (${model.architecture}, sha256 ${model.contentHash.slice(0, 12)}) from ${model.path}`);
  },
};

import { readdir, stat } from 'node:fs/promises';
import { InputError } from '../errors';
import { loadHuggingFaceModel } from './huggingface';
import { loadLlama2c } from './llama2c';
import type { LanguageModel } from './types';

/**
 * Loads the model stored in `dir`, recognising its format from the files present:
 * a Hugging Face checkpoint (`config.json`, safetensors) or a llama2.c checkpoint (`*.bin` plus
 * `tok*.bin` / `tokenizer.bin`).
 */
export async function loadModel(dir: string): Promise<LanguageModel> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new InputError(`model directory ${dir} does not exist or is not a directory`);
  const names = await readdir(dir);
  // checked first: Hugging Face directories may also hold a pytorch_model.bin
  if (names.includes('config.json')) return loadHuggingFaceModel(dir);
  if (names.some((name) => name.endsWith('.bin'))) return loadLlama2c(dir);
  throw new InputError(
    `${dir} holds no model: expected a llama2.c checkpoint (*.bin with tok*.bin or tokenizer.bin) ` +
    'or a Hugging Face config.json',
  );
}

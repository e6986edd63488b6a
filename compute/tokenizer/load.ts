import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors';
import { readJsonObject } from '../json-file';
import { gpt2Tokenizer } from './gpt2';
import { loadHuggingFaceTokenizer } from './huggingface';
import { isLlama2cTokenizerFile, loadLlama2cTokenizer } from './llama2c';
import type { Tokenizer } from './types';

/** A Hugging Face model directory's tokenizer: its tokenizer.json, else GPT-2's BPE for a gpt2 model. */
export async function huggingFaceDirectoryTokenizer(dir: string, config: Record<string, unknown>): Promise<Tokenizer> {
  const tokenizer = (await loadHuggingFaceTokenizer(dir, config)) ?? (config.model_type === 'gpt2' ? gpt2Tokenizer() : undefined);
  if (!tokenizer) throw new InputError(`${dir}: no tokenizer.json beside the ${String(config.model_type)} checkpoint`);
  return tokenizer;
}

/**
 * Only the tokenizer of the model stored in `dir` (the formats loadModel recognises, told apart the same way), without
 * reading the weights: for processes that tokenise text but never run the model.
 */
export async function loadModelTokenizer(dir: string): Promise<Tokenizer> {
  const names = await readdir(dir).catch(() => {
    throw new InputError(`model directory ${dir} cannot be read`);
  });
  if (names.includes('config.json')) {
    const config = await readJsonObject(path.join(dir, 'config.json'));
    return huggingFaceDirectoryTokenizer(dir, config ?? {});
  }
  const files = names.filter(isLlama2cTokenizerFile);
  if (files.length !== 1) {
    throw new InputError(`${dir}: expected exactly one llama2.c tokenizer (tok*.bin or tokenizer.bin), found ${files.length ? files.join(', ') : 'none'}`);
  }
  return loadLlama2cTokenizer(path.join(dir, files[0]!));
}

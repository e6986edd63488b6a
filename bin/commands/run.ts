import path from 'node:path';
import { predict, prepareInput, type Prediction } from '../../compute/analyses/predict';
import { initBackend } from '../../compute/backend';
import { loadModel } from '../../compute/model/load';
import type { LanguageModel } from '../../compute/model/types';
import { integer, PROMPT_OPTIONS, promptInput, requiredString, type Command } from '../args';

export const run: Command = {
  name: 'run',
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
};

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

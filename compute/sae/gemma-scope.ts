import { InputError } from '../errors';
import { readNpzHeader } from '../weights/npz';

/**
 * The cfg.json of a Gemma Scope SAE (params.npz with W_enc [d_in, d_sae], W_dec, b_enc, b_dec, threshold): what the
 * release table knows (architecture, hook, model; compute/sae/releases.ts) with d_in and d_sae from W_enc's shape,
 * whose width must be the one the folder is named for.
 */
export async function gemmaScopeCfg(npzFile: string, releaseCfg: Record<string, unknown>, width: number): Promise<Record<string, unknown>> {
  const W_enc = (await readNpzHeader(npzFile)).get('W_enc');
  if (!W_enc) throw new InputError(`${npzFile}: no array "W_enc"; a Gemma Scope params.npz holds W_enc, W_dec, b_enc, b_dec and threshold`);
  if (W_enc.shape.length !== 2) throw new InputError(`${npzFile}: W_enc has shape [${W_enc.shape.join(', ')}], expected [d_in, d_sae]`);
  const [dIn, dSae] = W_enc.shape as [number, number];
  if (dSae !== width) throw new InputError(`${npzFile}: W_enc has shape [${dIn}, ${dSae}], but the folder's width is ${width} features`);
  return { ...releaseCfg, d_in: dIn, d_sae: dSae };
}

/**
 * Models and SAEs from the Hugging Face Hub (`hf:OWNER/REPO[/PATH]`), downloaded into `<data dir>/hf/OWNER/REPO/PATH`
 * before they are registered like a local directory. The Hub's tree API lists each file's size and hash (an LFS
 * file's sha256, else its git blob sha1); files come from `/REPO/resolve/main/FILE`. This is network and disk I/O
 * for the CLI, so it lives in server/, not in compute/ (which reads files, never fetches them).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '@/compute/errors';
import { gemmaScopeCfg } from '@/compute/sae/gemma-scope';
import { NPZ_WEIGHTS_FILE } from '@/compute/sae/load';
import type { ReleaseSae } from '@/compute/sae/releases';
import { config } from './config';
import { downloadFile, type DownloadProgress, type ExpectedHash } from './download';

const PREFIX = 'hf:';
const REVISION = 'main';

export interface HfAddress {
  repoId: string;
  /** a folder inside the repository; '' for its root */
  path: string;
}

export interface HubOptions {
  endpoint?: string;
  token?: string;
  dataDir?: string;
  onProgress?: (progress: DownloadProgress) => void;
}

/** One file as the tree API lists it. */
interface HubFile {
  path: string;
  size: number;
  expected: ExpectedHash;
}

export function isHfAddress(address: string): boolean {
  return address.startsWith(PREFIX);
}

/** `hf:OWNER/REPO/PATH…` → repository and folder; anything else is an error saying what is expected. */
export function parseHfAddress(address: string): HfAddress {
  const parts = address.slice(PREFIX.length).split('/').filter((p) => p !== '');
  if (!isHfAddress(address) || parts.length < 2 || parts.some((p) => p === '.' || p === '..')) {
    throw new InputError(`"${address}" is not a Hugging Face address: write hf:OWNER/REPO or hf:OWNER/REPO/FOLDER`);
  }
  return { repoId: `${parts[0]}/${parts[1]}`, path: parts.slice(2).join('/') };
}

function hub(options: HubOptions) {
  const endpoint = (options.endpoint ?? config.hfEndpoint).replace(/\/+$/, '');
  const token = options.token ?? config.hfToken;
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return { endpoint, headers };
}

const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

/** The files and subfolders directly in the address's folder, following the tree API's pages (`Link: <…>; rel="next"`). */
async function listFolder(address: HfAddress, options: HubOptions): Promise<{ files: HubFile[]; folders: string[] }> {
  const { endpoint, headers } = hub(options);
  const where = `hf:${address.repoId}${address.path ? `/${address.path}` : ''}`;
  let url: string | null = `${endpoint}/api/models/${address.repoId}/tree/${REVISION}${address.path ? `/${encodePath(address.path)}` : ''}`;
  const files: HubFile[] = [];
  const folders: string[] = [];
  while (url) {
    let response: Response;
    try {
      response = await fetch(url, { headers });
    } catch (err) {
      throw new InputError(`${where}: cannot reach ${endpoint} (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}); HF_ENDPOINT names a mirror`);
    }
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      throw new InputError(`${where}: ${endpoint} answered HTTP ${response.status} (no such repository or folder, or a private or gated one: set HF_TOKEN)`);
    }
    if (!response.ok) throw new InputError(`${where}: ${endpoint} answered HTTP ${response.status} listing the files`);
    const entries = (await response.json()) as { type: string; path: string; size: number; oid: string; lfs?: { oid: string } }[];
    for (const entry of entries) {
      if (entry.type === 'directory') folders.push(path.posix.basename(entry.path));
      if (entry.type !== 'file') continue;
      files.push({
        path: entry.path,
        size: entry.size,
        expected: entry.lfs ? { algorithm: 'sha256', hex: entry.lfs.oid } : { algorithm: 'git-sha1', hex: entry.oid },
      });
    }
    url = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1] ?? null;
  }
  return { files, folders };
}

async function download(address: HfAddress, files: HubFile[], options: HubOptions): Promise<string> {
  const { endpoint, headers } = hub(options);
  const dir = path.join(options.dataDir ?? config.dataDir, 'hf', address.repoId, address.path);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of files) {
    await downloadFile(`${endpoint}/${address.repoId}/resolve/${REVISION}/${encodePath(file.path)}`, path.join(dir, path.basename(file.path)), {
      expected: file.expected,
      size: file.size,
      headers,
      onProgress: options.onProgress,
    });
  }
  return dir;
}

const SAE_FILES = ['cfg.json', 'sae_weights.safetensors', 'sparsity.safetensors'];
const SAE_REQUIRED = ['cfg.json', 'sae_weights.safetensors'];

/**
 * Downloads the SAELens directory at the address (cfg.json, the weights, sparsity if there); returns the local folder.
 * `cfg` is merged into its cfg.json (what a release table entry adds, compute/sae/releases.ts).
 */
export async function downloadHfSae(address: HfAddress, options: HubOptions & { cfg?: Record<string, unknown> } = {}): Promise<string> {
  const { files: listed } = await listFolder(address, options);
  const files = listed.filter((f) => SAE_FILES.includes(path.basename(f.path)));
  const missing = SAE_REQUIRED.filter((name) => !files.some((f) => path.basename(f.path) === name));
  if (missing.length > 0 && listed.some((f) => path.basename(f.path) === NPZ_WEIGHTS_FILE)) {
    throw new InputError(
      `hf:${address.repoId}/${address.path}: a ${NPZ_WEIGHTS_FILE} without cfg.json (Gemma Scope's layout); name it as a release, e.g. --release gemma-scope-2b-pt-res --sae-id layer_12/width_16k/average_l0_82`,
    );
  }
  if (missing.length > 0) {
    throw new InputError(`hf:${address.repoId}/${address.path}: no ${missing.join(' or ')} there, so not an SAELens SAE directory`);
  }
  const dir = await download(address, files, options);
  if (options.cfg && Object.keys(options.cfg).length > 0) {
    const cfgFile = path.join(dir, 'cfg.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), ...options.cfg }, null, 2));
  }
  return dir;
}

/** The L0 a canonical Gemma Scope SAE has closest to (the Gemma Scope report's definition of canonical). */
const CANONICAL_L0 = 100;

/**
 * Downloads an SAE the release table names; returns the local folder. A Gemma Scope SAE is its params.npz, beside which
 * a cfg.json is written (the release's cfg, d_in and d_sae from the file); a canonical one is first found among the
 * width folder's `average_l0_K` subfolders.
 */
export async function downloadReleaseSae(release: ReleaseSae, options: HubOptions = {}): Promise<string> {
  if (release.layout === 'saelens') return downloadHfSae({ repoId: release.repoId, path: release.path }, { ...options, cfg: release.cfg });
  let folder = release.path;
  if (release.canonical) {
    const { folders } = await listFolder({ repoId: release.repoId, path: release.path }, options);
    const l0s = folders.flatMap((name) => /^average_l0_(\d+)$/.exec(name)?.[1] ?? []).map(Number);
    if (l0s.length === 0) throw new InputError(`hf:${release.repoId}/${release.path}: no average_l0_K folders there to choose the canonical SAE from`);
    const canonical = l0s.reduce((best, l0) => (Math.abs(l0 - CANONICAL_L0) < Math.abs(best - CANONICAL_L0) ? l0 : best));
    folder = `${release.path}/average_l0_${canonical}`;
  }
  const address = { repoId: release.repoId, path: folder };
  const npz = (await listFolder(address, options)).files.find((f) => path.basename(f.path) === NPZ_WEIGHTS_FILE);
  if (!npz) throw new InputError(`hf:${release.repoId}/${folder}: no ${NPZ_WEIGHTS_FILE} there, so not a Gemma Scope SAE folder`);
  const dir = await download(address, [npz], options);
  const cfg = await gemmaScopeCfg(path.join(dir, NPZ_WEIGHTS_FILE), release.cfg, release.width);
  fs.writeFileSync(path.join(dir, 'cfg.json'), JSON.stringify(cfg, null, 2));
  return dir;
}

/** What Lexicon reads of a Hugging Face checkpoint (compute/model/huggingface.ts); other weight formats are left out. */
const HF_MODEL_FILE = /^(config\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors\.index\.json|.*\.safetensors)$/;

/**
 * Downloads a model: a Hugging Face checkpoint (config.json, safetensors, tokenizer) or, in a folder without
 * config.json, a llama2.c checkpoint and tokenizer (the `.bin` files). Returns the local folder.
 */
export async function downloadHfModel(address: HfAddress, options: HubOptions = {}): Promise<string> {
  const { files: listed } = await listFolder(address, options);
  const names = listed.map((f) => path.basename(f.path));
  const wanted = names.includes('config.json') ? (n: string) => HF_MODEL_FILE.test(n) : (n: string) => n.endsWith('.bin');
  const files = listed.filter((f) => wanted(path.basename(f.path)));
  if (files.length === 0) {
    throw new InputError(
      `hf:${address.repoId}${address.path ? `/${address.path}` : ''}: neither a Hugging Face checkpoint (config.json) nor llama2.c .bin files there (found: ${names.join(', ') || 'nothing'})`,
    );
  }
  return download(address, files, options);
}

/**
 * `hf:` addresses and SAELens releases: downloads from a Hub served on 127.0.0.1 (tests/helpers/fake-hub.ts), with a
 * dropped connection, a wrong sha256 and a token, then the usual registration, through the functions and the CLI.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { models, saes } from '@/drizzle/schema';
import { resolveRelease } from '@/compute/sae/releases';
import { readSafetensors } from '@/compute/weights/safetensors';
import { getDb, getPool } from '@/server/db';
import { downloadFile } from '@/server/download';
import { downloadHfModel, downloadHfSae, parseHfAddress } from '@/server/hf-hub';
import { registerModel } from '@/server/register-models';
import { startTestDatabase, type TestDatabase } from '../helpers/database';
import { serveFolder, startFakeHub, type FakeHub } from '../helpers/fake-hub';
import { f32, writeNpz } from '../helpers/npz-writer';
import { STORIES_SAE_DIR } from '../helpers/stories';
import { FIXTURES_DIR, STORIES_DIR } from '../shared';
import { lexiconWithEnv } from '../unit/cli-helpers';

const TOKEN = 'hf_test_token';
const MODEL_REPO = 'karpathy/tinyllamas';
// The fixture SAE (stories260K, blocks.2.hook_resid_post) served where the release table says gpt2-small-res-jb's
// blocks.8.hook_resid_pre lives: the resolution and the download are real, the bytes are ours.
const LISTED_SHA = 'ab'.repeat(32);
const RELEASE_FOLDER = 'jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre';

let database: TestDatabase;
let hub: FakeHub;
const GPT2_DIR = path.join(FIXTURES_DIR, 'gpt2-tiny-a');
const read = (dir: string) => Object.fromEntries(fs.readdirSync(dir).filter((n) => !n.endsWith('.md') && n !== 'expected.json').map((n) => [n, fs.readFileSync(path.join(dir, n))]));

beforeAll(async () => {
  database = await startTestDatabase();
  hub = await startFakeHub({ token: TOKEN });
  serveFolder(hub, `${MODEL_REPO}/stories260K`, read(STORIES_DIR));
  serveFolder(hub, RELEASE_FOLDER, read(STORIES_SAE_DIR));
  serveFolder(hub, 'someone/sae-wrong-sha/l2', read(STORIES_SAE_DIR));
  hub.files.set('someone/sae-wrong-sha/l2/README.md', Buffer.from('not downloaded'));
  hub.wrongSha.set('someone/sae-wrong-sha/l2/sae_weights.safetensors', LISTED_SHA);
});

afterAll(async () => {
  await hub?.close();
  await getPool().end();
  await database?.stop();
});

describe('hf: addresses', () => {
  it('parses OWNER/REPO[/FOLDER] and refuses anything else', () => {
    expect(parseHfAddress('hf:karpathy/tinyllamas/stories260K')).toEqual({ repoId: 'karpathy/tinyllamas', path: 'stories260K' });
    expect(parseHfAddress('hf:openai-community/gpt2')).toEqual({ repoId: 'openai-community/gpt2', path: '' });
    expect(() => parseHfAddress('hf:gpt2')).toThrow(/hf:OWNER\/REPO/);
    expect(() => parseHfAddress('hf:a/b/../c')).toThrow(/not a Hugging Face address/);
  });

  it('downloads a model, resuming a dropped connection with a Range request, then registers it', async () => {
    const dataDir = path.join(database.dir, 'data-model');
    hub.dropOnce.add(`${MODEL_REPO}/stories260K/stories260K.bin`);
    const progress: number[] = [];
    const dir = await downloadHfModel(parseHfAddress(`hf:${MODEL_REPO}/stories260K`), {
      endpoint: hub.endpoint,
      token: TOKEN,
      dataDir,
      onProgress: (p) => progress.push(p.done),
    });
    expect(dir).toBe(path.join(dataDir, 'hf', MODEL_REPO, 'stories260K'));
    expect(fs.readdirSync(dir).sort()).toEqual(['stories260K.bin', 'tok512.bin']);
    expect(fs.readFileSync(path.join(dir, 'stories260K.bin')).equals(fs.readFileSync(path.join(STORIES_DIR, 'stories260K.bin')))).toBe(true);
    const resumed = hub.requests.filter((r) => r.url.endsWith('/stories260K.bin') && r.range);
    expect(resumed).toHaveLength(1);
    expect(Number(/bytes=(\d+)-/.exec(resumed[0]!.range!)![1])).toBeGreaterThan(0);
    expect(hub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(progress.at(-1)).toBe(fs.statSync(path.join(dir, 'tok512.bin')).size);

    const model = await registerModel(getDb(), dir);
    expect(model).toMatchObject({ slug: 'stories260K', architecture: 'llama' });
    // a second run finds the files with their hashes and fetches nothing but the listing
    const before = hub.requests.length;
    await downloadHfModel(parseHfAddress(`hf:${MODEL_REPO}/stories260K`), { endpoint: hub.endpoint, token: TOKEN, dataDir });
    expect(hub.requests.slice(before).map((r) => r.url)).toEqual([`/api/models/${MODEL_REPO}/tree/main/stories260K`]);
  });

  it('resumes the .part file an interrupted run left', async () => {
    const file = path.join(database.dir, 'resume', 'tok512.bin');
    const bytes = fs.readFileSync(path.join(STORIES_DIR, 'tok512.bin'));
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(`${file}.part`, bytes.subarray(0, 1000));
    const url = `${hub.endpoint}/${MODEL_REPO}/resolve/main/stories260K/tok512.bin`;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const before = hub.requests.length;
    const how = await downloadFile(url, file, { expected: { algorithm: 'sha256', hex: sha256 }, size: bytes.length, headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(how).toBe('downloaded');
    expect(hub.requests.slice(before).map((r) => r.range)).toEqual(['bytes=1000-']);
    expect(fs.readFileSync(file).equals(bytes)).toBe(true);
    expect(fs.existsSync(`${file}.part`)).toBe(false);
  });

  it('downloads of a Hugging Face checkpoint only what Lexicon reads', async () => {
    const dataDir = path.join(database.dir, 'data-gpt2');
    serveFolder(hub, 'someone/gpt2-tiny', {
      ...read(GPT2_DIR),
      'pytorch_model.bin': Buffer.from('not read'),
      'onnx/model.onnx': Buffer.from('not read either'),
    });
    const dir = await downloadHfModel(parseHfAddress('hf:someone/gpt2-tiny'), { endpoint: hub.endpoint, token: TOKEN, dataDir });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(await registerModel(getDb(), dir)).toMatchObject({ slug: 'gpt2-tiny', architecture: 'gpt2' });
    // a model slugged as one of the site's own routes would be shadowed by it (/api/v1/jobs/…): refused, nothing stored
    await expect(registerModel(getDb(), dir, { slug: 'jobs' })).rejects.toThrow(/model slug "jobs" names one of Lexicon's own pages or API routes/);
    expect(await getDb().select().from(models).where(eq(models.slug, 'jobs'))).toHaveLength(0);
  });

  it('says HF_TOKEN is needed when the Hub refuses, and names what is missing', async () => {
    const dataDir = path.join(database.dir, 'data-refused');
    await expect(downloadHfModel(parseHfAddress(`hf:${MODEL_REPO}/stories260K`), { endpoint: hub.endpoint, dataDir })).rejects.toThrow(
      /hf:karpathy\/tinyllamas\/stories260K: .* HTTP 401 .*HF_TOKEN/,
    );
    await expect(downloadHfSae(parseHfAddress(`hf:${MODEL_REPO}/stories260K`), { endpoint: hub.endpoint, token: TOKEN, dataDir })).rejects.toThrow(
      /no cfg\.json or sae_weights\.safetensors there/,
    );
  });

  it('deletes a download whose sha256 is not the listed one, naming the file and both hashes', async () => {
    const dataDir = path.join(database.dir, 'data-wrong');
    const error = await downloadHfSae(parseHfAddress('hf:someone/sae-wrong-sha/l2'), { endpoint: hub.endpoint, token: TOKEN, dataDir }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('/someone/sae-wrong-sha/resolve/main/l2/sae_weights.safetensors');
    expect(message).toContain(LISTED_SHA);
    expect(message).toMatch(/sha256 is [0-9a-f]{64}/);
    const dir = path.join(dataDir, 'hf', 'someone/sae-wrong-sha/l2');
    expect(fs.readdirSync(dir)).toEqual(['cfg.json']);
  });
});

describe('SAELens releases', () => {
  it('resolves a release and SAE id to its Hub folder, with what the release adds to cfg.json', () => {
    expect(resolveRelease('gpt2-small-res-jb', 'blocks.8.hook_resid_pre')).toEqual({
      layout: 'saelens',
      repoId: 'jbloom/GPT2-Small-SAEs-Reformatted',
      path: 'blocks.8.hook_resid_pre',
      cfg: {},
    });
    expect(resolveRelease('gpt2-small-mlp-tm', 'blocks.8.hook_mlp_out')).toEqual({
      layout: 'saelens',
      repoId: 'tommmcgrath/gpt2-small-mlp-out-saes',
      path: 'sae_group_gpt2_blocks.8.hook_mlp_out_24576:v1',
      cfg: { norm_scaling_factor: 0.9123762783479742 },
    });
    expect(resolveRelease('mistral-7b-res-wg', 'blocks.16.hook_resid_pre').cfg).toEqual({ normalize_activations: 'constant_norm_rescale' });
  });

  it('lists what is known when the release or the SAE id is not', () => {
    expect(() => resolveRelease('gpt2-small-res-xx', 'blocks.8.hook_resid_pre')).toThrow(/unknown release "gpt2-small-res-xx"; the known releases are: gpt2-small-res-jb, .*gemma-2b-res-jb/);
    expect(() => resolveRelease('gpt2-small-res-jb', 'blocks.12.hook_resid_pre')).toThrow(
      /release "gpt2-small-res-jb" has no SAE "blocks.12.hook_resid_pre"; its SAE ids are: blocks.0.hook_resid_pre, .*blocks.11.hook_resid_post/,
    );
    expect(() => resolveRelease('gemma-scope-2b-pt-res-canonical', 'layer_12/width_16k/average_l0_82')).toThrow(
      'release "gemma-scope-2b-pt-res-canonical" has no SAE "layer_12/width_16k/average_l0_82"; its SAE ids are layer_L/width_W/canonical',
    );
    expect(() => resolveRelease('gemma-scope-2b-pt-mlp', 'layer_26/width_16k/average_l0_82')).toThrow(/gemma-2-2b has layers 0 to 25/);
    expect(() => resolveRelease('gemma-scope-2b-pt-mlp', 'layer_2/width_20k/average_l0_82')).toThrow(/W one of 4k, 16k, 32k, 65k, 131k, 262k, 524k, 1m; or use gemma-scope-2b-pt-mlp-canonical/);
    expect(() => resolveRelease('gemma-scope-9b-pt-res', 'layer_20/width_16k/average_l0_82')).toThrow(/cannot be read: the release table holds the Gemma Scope releases gemma-scope-2b-pt-res/);
  });

  it('resolves Gemma Scope SAE ids to their folder, hook and width, as SAELens\'s gemma_2 loader configures them', () => {
    expect(resolveRelease('gemma-scope-2b-pt-res-canonical', 'layer_12/width_16k/canonical')).toEqual({
      layout: 'gemma-scope',
      repoId: 'google/gemma-scope-2b-pt-res',
      path: 'layer_12/width_16k',
      canonical: true,
      width: 16384,
      cfg: {
        architecture: 'jumprelu',
        dtype: 'float32',
        model_name: 'gemma-2-2b',
        hook_name: 'blocks.12.hook_resid_post',
        hook_layer: 12,
        apply_b_dec_to_input: false,
        normalize_activations: 'none',
        prepend_bos: true,
        context_size: 1024,
        dataset_path: 'monology/pile-uncopyrighted',
      },
    });
    expect(resolveRelease('gemma-scope-2b-pt-mlp', 'layer_3/width_65k/average_l0_40')).toMatchObject({
      repoId: 'google/gemma-scope-2b-pt-mlp',
      path: 'layer_3/width_65k/average_l0_40',
      canonical: false,
      width: 65536,
      cfg: { hook_name: 'blocks.3.hook_mlp_out' },
    });
    expect(resolveRelease('gemma-scope-2b-pt-att-canonical', 'layer_0/width_1m/canonical')).toMatchObject({ width: 1 << 20, cfg: { hook_name: 'blocks.0.attn.hook_z' } });
  });

  it('lexicon model add hf:… and sae add --release download with a progress bar and register; a wrong sha registers nothing', async () => {
    const env = { DATABASE_URL: database.url, LEXICON_DATA_DIR: path.join(database.dir, 'data-cli'), HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN };
    const model = await lexiconWithEnv(env, 'model', 'add', `hf:${MODEL_REPO}/stories260K`, '--slug', 'stories-hf');
    expect(model.stderr).toMatch(/downloading stories260K\.bin .*MB\/s/);
    expect(model.code).toBe(0);
    expect(model.stdout).toContain('registered stories-hf (llama');

    hub.dropOnce.add(`${RELEASE_FOLDER}/sae_weights.safetensors`);
    const sae = await lexiconWithEnv(env, 'sae', 'add', '--release', 'gpt2-small-res-jb', '--sae-id', 'blocks.8.hook_resid_pre', '--model', 'stories-hf');
    expect(sae.code).toBe(0);
    expect(hub.dropOnce.size).toBe(0);
    expect(hub.requests.some((r) => r.url.endsWith('/blocks.8.hook_resid_pre/sae_weights.safetensors') && r.range)).toBe(true);
    expect(sae.stderr).toMatch(/downloading sae_weights\.safetensors/);
    expect(sae.stdout).toMatch(/registered stories-hf\/2-res \(standard, blocks\.2\.hook_resid_post, d_sae 256\); import check: variance explained/);
    const [row] = await getDb().select().from(saes).where(eq(saes.slug, '2-res'));
    expect(row!.path).toBe(path.join(env.LEXICON_DATA_DIR, 'hf', RELEASE_FOLDER));

    const wrong = await lexiconWithEnv(env, 'sae', 'add', 'hf:someone/sae-wrong-sha/l2', '--model', 'stories-hf', '--slug', 'wrong');
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/sae_weights\.safetensors: the downloaded file's sha256 is [0-9a-f]{64}, the source lists (ab){32}; deleted/);
    expect(await getDb().select().from(saes).where(eq(saes.slug, 'wrong'))).toEqual([]);
  });

  it('sae add --release gemma-scope-…-canonical downloads the params.npz of L0 nearest 100, writes its cfg.json and registers it', async () => {
    // The fixture SAE as Gemma Scope would store it: JumpReLU with threshold 0 (so ReLU), no b_dec subtracted from
    // the input (folded into b_enc), 16k wide (features past the fixture's 256 never fire): it must reconstruct as well.
    const fixture = await readSafetensors(path.join(STORIES_SAE_DIR, 'sae_weights.safetensors'));
    const [dIn, dFixture, dSae] = [64, 256, 16384];
    const W_enc = new Float32Array(dIn * dSae);
    const W_dec = new Float32Array(dSae * dIn);
    const b_enc = new Float32Array(dSae).fill(-1);
    const { data: fixtureEnc } = fixture.get('W_enc')!;
    const { data: b_dec } = fixture.get('b_dec')!;
    for (let f = 0; f < dFixture; f++) {
      let shift = 0;
      for (let i = 0; i < dIn; i++) {
        W_enc[i * dSae + f] = fixtureEnc[i * dFixture + f]!;
        shift += b_dec[i]! * fixtureEnc[i * dFixture + f]!;
      }
      b_enc[f] = fixture.get('b_enc')!.data[f]! - shift;
    }
    W_dec.set(fixture.get('W_dec')!.data);
    const npz = path.join(database.dir, 'params.npz');
    writeNpz(npz, { W_enc: f32([dIn, dSae], W_enc), W_dec: f32([dSae, dIn], W_dec), b_enc: f32([dSae], b_enc), b_dec: f32([dIn], b_dec), threshold: f32([dSae], new Float32Array(dSae)) }, { compress: true, zip64: true });
    const widthFolder = 'google/gemma-scope-2b-pt-res/layer_2/width_16k';
    hub.files.set(`${widthFolder}/average_l0_95/params.npz`, fs.readFileSync(npz));
    // the other L0s hold no params.npz: choosing one of them fails the download
    hub.files.set(`${widthFolder}/average_l0_40/README.md`, Buffer.from('not canonical'));
    hub.files.set(`${widthFolder}/average_l0_120/README.md`, Buffer.from('not canonical'));

    const env = { DATABASE_URL: database.url, LEXICON_DATA_DIR: path.join(database.dir, 'data-gemma'), HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN };
    expect((await lexiconWithEnv(env, 'model', 'add', STORIES_DIR, '--slug', 'stories-gs')).code).toBe(0);
    const reference = await lexiconWithEnv(env, 'sae', 'add', STORIES_SAE_DIR, '--model', 'stories-gs', '--slug', 'fixture');
    expect(reference.code).toBe(0);
    const sae = await lexiconWithEnv(env, 'sae', 'add', '--release', 'gemma-scope-2b-pt-res-canonical', '--sae-id', 'layer_2/width_16k/canonical', '--model', 'stories-gs');
    expect(sae.stderr).toMatch(/downloading params\.npz/);
    expect(sae.code).toBe(0);
    expect(sae.stdout).toMatch(/registered stories-gs\/2-res \(jumprelu, blocks\.2\.hook_resid_post, d_sae 16384\); import check: variance explained/);
    const explained = (out: string) => /variance explained (-?[\d.]+)/.exec(out)![1];
    expect(explained(sae.stdout)).toBe(explained(reference.stdout));

    const asFolder = await lexiconWithEnv(env, 'sae', 'add', `hf:${widthFolder}/average_l0_95`, '--model', 'stories-gs');
    expect(asFolder.code).not.toBe(0);
    expect(asFolder.stderr).toContain('params.npz without cfg.json (Gemma Scope\'s layout); name it as a release, e.g. --release gemma-scope-2b-pt-res');

    const dir = path.join(env.LEXICON_DATA_DIR, 'hf', widthFolder, 'average_l0_95');
    expect(fs.readdirSync(dir).sort()).toEqual(['cfg.json', 'params.npz']);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'cfg.json'), 'utf8'))).toMatchObject({ architecture: 'jumprelu', d_in: 64, d_sae: 16384, apply_b_dec_to_input: false, model_name: 'gemma-2-2b' });
    const [row] = await getDb().select().from(saes).where(eq(saes.path, dir));
    expect(row).toMatchObject({ slug: '2-res', architecture: 'jumprelu', dIn: 64, dSae: 16384 });
  });
});

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '@/bin/commands';

describe('the README', () => {
  it("lists every command of the CLI's table, and every train-sae option", async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    expect(COMMANDS.length).toBeGreaterThan(12);
    expect(COMMANDS.map((c) => c.name).filter((name) => !readme.includes(`npx lexicon ${name} `))).toEqual([]);
    const trainSae = COMMANDS.find((c) => c.name === 'train-sae')!;
    expect(Object.keys(trainSae.options).filter((option) => !readme.includes(`--${option}`))).toEqual([]);
  });
});

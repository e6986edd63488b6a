import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { lexicon } from './cli-helpers';

describe('the README', () => {
  it('lists every command `lexicon help` knows', async () => {
    const { stdout } = await lexicon('help');
    // "  lexicon model add DIR [--slug NAME]": the name is the words before the first option or argument
    const names = [...stdout.matchAll(/^ {2}lexicon ([a-z][a-z-]*(?: [a-z][a-z-]*)?) (?=[-[(A-Z])/gm)].map((m) => m[1]!);
    expect(names).toContain('train-sae');
    expect(names.length).toBeGreaterThan(12);
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    expect(names.filter((name) => !readme.includes(`npx lexicon ${name} `))).toEqual([]);
  });
});

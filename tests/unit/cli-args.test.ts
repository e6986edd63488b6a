import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type Command } from '@/bin/args';
import { COMMANDS } from '@/bin/commands';
import { lexicon } from './cli-helpers';

const steer = COMMANDS.find((c) => c.name === 'steer')!;
const parse = (command: Pick<Command, 'name' | 'options' | 'positionals'>, ...args: string[]) => parseCommandLine(command, args);

describe('the command-line parser', () => {
  it('takes negative numbers and ranges starting with "-" as values, as written', () => {
    expect(parse(steer, '--coefficients', '-4:4:5', '--feature', '3').values).toEqual({ coefficients: '-4:4:5', feature: '3' });
    expect(parse(steer, '--coefficients', '-2.5,-.5,3').values.coefficients).toBe('-2.5,-.5,3');
    expect(parse(steer, '--coefficients=-10:10:21').values.coefficients).toBe('-10:10:21');
    const ablate = COMMANDS.find((c) => c.name === 'ablate')!;
    expect(parse(ablate, '--mode', 'clamp', '--value', '-3', '--json').values).toEqual({ mode: 'clamp', value: '-3', json: true });
  });

  it('an unknown option is an error naming it and the command', () => {
    expect(() => parse(steer, '--feature', '3', '--coeficients', '1')).toThrow(new UsageError('unknown option --coeficients for `lexicon steer`'));
    expect(() => parse(steer, '--coeficients=-1')).toThrow(new UsageError('unknown option --coeficients for `lexicon steer`'));
    expect(() => parse(steer, '-x')).toThrow(new UsageError('unknown option -x for `lexicon steer`'));
  });

  it('an option missing its value, a switch given one, and stray arguments are errors', () => {
    expect(() => parse(steer, '--feature')).toThrow(new UsageError('--feature needs a value'));
    // an option's value may not look like an option: that is the value forgotten
    expect(() => parse(steer, '--text', '--json')).toThrow(new UsageError('--text needs a value'));
    expect(parse(steer, '--text=--json').values.text).toBe('--json');
    expect(() => parse(steer, '--json=yes')).toThrow(new UsageError('--json is a switch and takes no value'));
    expect(() => parse(steer, 'stray')).toThrow(new UsageError('`lexicon steer` takes no argument "stray"'));
  });

  it('positionals where the command takes them, "--" ending the options, and -h / --help', () => {
    const modelAdd = COMMANDS.find((c) => c.name === 'model add')!;
    expect(parse(modelAdd, 'dir', '--slug', 's')).toEqual({ values: { slug: 's' }, positionals: ['dir'], help: false });
    expect(parse(modelAdd, '--', '-dir')).toEqual({ values: {}, positionals: ['-dir'], help: false });
    expect(parse(steer, '-h').help).toBe(true);
    expect(parse(steer, '--help').help).toBe(true);
  });
});

describe('the command table', () => {
  it('names each command once, and no name is the start of another', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const a of names) for (const b of names) if (a !== b) expect(b.startsWith(`${a} `), `${a} / ${b}`).toBe(false);
  });

  it('`lexicon help` lists every command with its usage; `lexicon help CMD` and `lexicon CMD --help` show one', async () => {
    const [all, one, flag] = await Promise.all([lexicon('help'), lexicon('help', 'corpus', 'sample'), lexicon('corpus', 'sample', '--help')]);
    expect(all.code).toBe(0);
    for (const command of COMMANDS) expect(all.stdout).toContain(`  lexicon ${command.name} ${command.usage}\n      ${command.summary}\n`);
    expect(one).toEqual(flag);
    expect(one.stdout).toMatch(/^usage: lexicon corpus sample --model SLUG .*\n {2}sample a corpus from the model itself/);
  });

  it('a malformed command line exits 2 naming the problem, with the usage of that command', async () => {
    const [unknownOption, unknownCommand] = await Promise.all([
      lexicon('steer', '--model', 'm', '--sae', 's', '--feature', '1', '--text', 'a', '--coefficients', '-4:4:5', '--bogus'),
      lexicon('help', 'nonsense'),
    ]);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/^lexicon: unknown option --bogus for `lexicon steer`\nusage: lexicon steer --model DIR/);
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('lexicon: unknown command "nonsense"');
  });
});

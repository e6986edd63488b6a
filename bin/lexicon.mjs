#!/usr/bin/env node
// The `lexicon` command. Registers tsx so that Node runs the TypeScript sources as they are, with the repository's
// tsconfig (its `@/` paths) whatever the working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('./cli.ts');

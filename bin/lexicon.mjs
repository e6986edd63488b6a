#!/usr/bin/env node
// The `lexicon` command. Registers tsx so that Node runs the TypeScript sources as they are.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');

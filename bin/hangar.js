#!/usr/bin/env node
// Entry point of the `hangar` command. The sources are TypeScript; tsx compiles them on load
// (and caches the result), so a checkout runs without a separate build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);

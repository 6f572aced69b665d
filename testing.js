// `import { startHangar } from 'hangar/testing'` (package.json "exports"): Hangar's sources are
// TypeScript, loaded here through tsx's scoped import, which compiles them with Hangar's own
// tsconfig and leaves the importing test suite's module loading alone. See src/testing.ts.
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const testing = await tsImport('./src/testing.ts', {
  parentURL: import.meta.url,
  tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)),
});

export const startHangar = testing.startHangar;
export const connectHangar = testing.connectHangar;

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The web console: built into dist/console, which Hangar serves at /console (src/http/console.ts).
// JSX is compiled by esbuild (React's automatic runtime); nothing is loaded from a CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  esbuild: { jsx: 'automatic' },
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
  server: { proxy: { '/admin': 'http://127.0.0.1:8080', '/compute': 'http://127.0.0.1:8080', '/v1alpha5': 'http://127.0.0.1:8080' } },
});

import { defineConfig } from 'vite';

// The console is a plain Preact single-page app. JSX is compiled by Vite's own transformer with
// Preact's automatic runtime (no extra plugin). `npm run dev` proxies the API to `make dev`.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: { proxy: { '/_local': 'http://127.0.0.1:3000' } },
});

import { defineConfig } from 'vite';

// The console is a plain Preact single-page app. JSX is compiled by Vite's own transformer with
// Preact's automatic runtime (no extra plugin). It is served by the local stack from dist/
// (make dev; make web rebuilds it) and in AWS from S3 behind CloudFront.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
});

/**
 * Vite build of the inspector page (web/ → dist-web/), shipped in the npm
 * package and served by `h4mk serve` at `/` (src/server/routes/inspector.ts).
 *
 * The page imports the library through its browser entry, `h4mk/web`
 * (src/web.ts: the portable core, the browser platform and WebCipher),
 * resolved here to the sources so the page and the library build together.
 * Nothing in that graph imports Node: the build fails, naming the importer,
 * if anything does.
 */
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const web = dirname(fileURLToPath(import.meta.url));
const src = resolve(web, '../src');

/** Fails the build when anything in the page's graph imports a Node built-in. */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'h4mk:no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:') || builtins.has(id)) {
        this.error(`${importer ?? '?'} imports ${id}: the inspector runs in browsers; keep Node out of the portable entry (src/index.ts) and src/web.ts`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: web,
  // Relative asset URLs: the page works at `/` and under any prefix.
  base: './',
  plugins: [noNodeBuiltins()],
  resolve: { alias: [{ find: /^h4mk\/web$/, replacement: resolve(src, 'web.ts') }] },
  build: {
    outDir: resolve(web, '../dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One script: a page opened from a local file keeps working with the network gone.
    rollupOptions: {
      output: { inlineDynamicImports: true },
      // Dependencies' misplaced /*@__PURE__*/ comments (zod) are dropped by Rollup: nothing to act on.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('node_modules')) return;
        warn(warning);
      },
    },
    reportCompressedSize: false,
  },
  server: {
    // `npm run inspector:dev` against `h4mk serve DIR` on port 8080.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
  // Pre-bundling would move zstd-wasm away from the .wasm file its `new URL(…, import.meta.url)` names.
  optimizeDeps: { exclude: ['@bokuweb/zstd-wasm'] },
});

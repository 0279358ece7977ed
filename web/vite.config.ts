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
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, transformWithEsbuild } from 'vite';

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

/**
 * The boot script (src/boot.ts: the container's open request sent before the main bundle
 * loads), built on its own, unbundled, as assets/boot-HASH.js and loaded first in <head>
 * with `async`, so it runs as soon as it arrives while the main script still loads.
 */
function bootScript(): Plugin {
  let fileName = '';
  let code = '';
  return {
    name: 'h4mk:boot-script',
    apply: 'build',
    async buildStart() {
      const path = resolve(web, 'src/boot.ts');
      code = (await transformWithEsbuild(readFileSync(path, 'utf8'), path, { loader: 'ts', target: 'es2022', minify: true })).code;
      fileName = `assets/boot-${createHash('sha256').update(code).digest('base64url').slice(0, 8)}.js`;
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: code });
    },
    transformIndexHtml: {
      order: 'post',
      handler: () => [{ tag: 'script', attrs: { type: 'module', async: true, src: `./${fileName}` }, injectTo: 'head-prepend' }],
    },
  };
}

export default defineConfig({
  root: web,
  // Relative asset URLs: the page works at `/` and under any prefix.
  base: './',
  plugins: [noNodeBuiltins(), bootScript()],
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

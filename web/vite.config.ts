/**
 * Vite build of the inspector page (web/ → dist-web/), shipped in the npm
 * package and served by `h4mk serve` at `/` (src/server/routes/inspector.ts).
 *
 * The page imports the library from src/ directly. The few library modules
 * that import node:* are replaced, through `resolve.alias`, by browser
 * implementations in src/web-platform/ (same exports, same bytes):
 *
 *   crypto/primitives    → web-platform/primitives    (@noble/hashes SHA-256, HKDF, HMAC, scrypt; getRandomValues)
 *   crypto/aead          → web-platform/aead          (sync AES-GCM refused: WebCipher decrypts)
 *   compress/node-codecs → web-platform/codecs        (zstd wasm, fflate; capped)
 *   platform-node        → web-platform/platform
 *
 * Any other node:* import fails the build, naming the importer.
 */
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Alias, defineConfig, type Plugin } from 'vite';

const web = dirname(fileURLToPath(import.meta.url));
const src = resolve(web, '../src');

/** Library module (under src/, no extension) → its browser replacement. */
export const BROWSER_REPLACEMENTS: Readonly<Record<string, string>> = {
  'crypto/primitives': 'web-platform/primitives',
  'crypto/aead': 'web-platform/aead',
  'compress/node-codecs': 'web-platform/codecs',
  'platform-node': 'web-platform/platform',
};

/**
 * One alias entry for all replacements: it matches relative `.js` imports
 * whose file name is one of them, resolves the import against its importer,
 * and swaps it only when it is exactly that library file (so a dependency's
 * own `./keys.js` is left alone).
 */
function browserReplacements(): Alias {
  const targets = new Map(Object.entries(BROWSER_REPLACEMENTS).map(([from, to]) => [resolve(src, `${from}.ts`), resolve(src, `${to}.ts`)]));
  const names = [...new Set(Object.keys(BROWSER_REPLACEMENTS).map((k) => k.split('/').pop()))].join('|');
  return {
    find: new RegExp(`^\\.{1,2}/(?:[\\w.-]+/)*(?:${names})\\.js$`),
    replacement: '$&',
    customResolver(id, importer) {
      if (importer === undefined) return null;
      const file = resolve(dirname(importer.split('?')[0] as string), id).replace(/\.js$/, '.ts');
      return targets.get(file) ?? null;
    },
  };
}

/** Fails the build when anything in the page's graph imports a Node built-in. */
function noNodeBuiltins(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'h4mk:no-node-builtins',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:') || builtins.has(id)) {
        this.error(`${importer ?? '?'} imports ${id}: the inspector runs in browsers; add a replacement to BROWSER_REPLACEMENTS in web/vite.config.ts`);
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
  resolve: { alias: [browserReplacements()] },
  build: {
    outDir: resolve(web, '../dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One script: a page opened from a local file keeps working with the network gone.
    rollupOptions: { output: { inlineDynamicImports: true } },
    reportCompressedSize: false,
  },
  server: {
    // `npm run inspector:dev` against `h4mk serve DIR` on port 8080.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
  // Pre-bundling would move zstd-wasm away from the .wasm file its `new URL(…, import.meta.url)` names.
  optimizeDeps: { exclude: ['@bokuweb/zstd-wasm'] },
});

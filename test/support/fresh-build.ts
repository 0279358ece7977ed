/**
 * Vitest global setup: tests that run the CLI or the server from dist/ must
 * never test a stale build. When any file under src/ is newer than the last
 * build (dist/.build-stamp), the library is rebuilt (tsc) before the tests
 * run; `npm test` builds anyway, so this costs nothing there.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

function newest(dir: string): number {
  let latest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    latest = Math.max(latest, s.isDirectory() ? newest(path) : s.mtimeMs);
  }
  return latest;
}

export default function setup(): void {
  const stamp = join(root, 'dist', '.build-stamp');
  const built = (() => {
    try {
      return statSync(stamp).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (newest(join(root, 'src')) <= built) return;
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  } catch {
    // Type errors are reported above; tsc still wrote dist/ (noEmitOnError is off), which is what the tests run.
    console.warn('fresh-build: tsc reported errors; dist/ was rebuilt from the sources as they are');
  }
  writeFileSync(stamp, new Date().toISOString());
}

/**
 * Publishing a container only once it verifies: the output is written to a
 * hidden staging file beside the destination (itself written through a
 * temporary file, fsynced and renamed), opened and verified in full, and
 * renamed onto the destination only when every check passed. A failed
 * verification removes the staging file: nothing is ever published at the
 * destination that `h4mk verify` would reject.
 */
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FileSink } from '../io/file-sink.js';
import { FileSource } from '../io/file-source.js';
import { H4mkReader } from '../reader/reader.js';
import type { VerifyReport } from '../reader/types.js';

/** What {@link publishVerified} did. */
export type Published<T> = {
  result: T;
  /** The verification of the staged output; null when the producer wrote nothing. */
  verify: VerifyReport | null;
  /** True when the output was renamed onto the destination. */
  published: boolean;
};

/**
 * Runs `produce` on a sink for a staging file beside `path` (the producer
 * commits or aborts it), verifies what it wrote, and renames it onto `path`
 * only if it verifies.
 */
export async function publishVerified<T>(path: string, produce: (sink: FileSink) => Promise<T>): Promise<Published<T>> {
  const staging = join(dirname(path), `.${basename(path)}.staging-${randomBytes(6).toString('hex')}.h4mk`);
  const sink = await FileSink.create(staging);
  let result: T;
  try {
    result = await produce(sink);
  } catch (error) {
    await sink.abort().catch(() => {});
    await unlink(staging).catch(() => {});
    throw error;
  }
  const exists = await stat(staging).then(
    () => true,
    () => false,
  );
  if (!exists) return { result, verify: null, published: false };
  let verify: VerifyReport;
  try {
    const reader = await H4mkReader.open(await FileSource.open(staging));
    try {
      verify = await reader.verify();
    } finally {
      await reader.close();
    }
    if (!verify.ok) {
      await unlink(staging);
      return { result, verify, published: false };
    }
    await rename(staging, path);
  } catch (error) {
    await unlink(staging).catch(() => {});
    throw error;
  }
  return { result, verify, published: true };
}

/**
 * `recover` for files: rebuilds a container from a damaged or unfinished one
 * (src/recover/recover.ts) and publishes it at the destination only if the
 * result verifies (src/tools/publish.ts).
 */
import { type RecoverOptions, type RecoverReport, recoverContainer } from '../recover/recover.js';
import type { RandomAccessSource } from '../io/source.js';
import type { VerifyReport } from '../reader/types.js';
import { publishVerified } from './publish.js';

/** What {@link recoverFile} did. */
export type RecoverFileResult = {
  report: RecoverReport;
  /** The output's verification (null when nothing was written). */
  verify: VerifyReport | null;
  /** True when a verified container was published at the destination. */
  published: boolean;
};

/** Recovers `source` into `output`; see {@link recoverContainer} for what comes back. */
export async function recoverFile(source: RandomAccessSource, output: string, options: RecoverOptions = {}): Promise<RecoverFileResult> {
  const { result, verify, published } = await publishVerified(output, (sink) => recoverContainer(source, sink, options));
  return { report: result, verify, published };
}

/**
 * A verify report: the server's verify document, and the part of
 * `h4mk verify --json` that comes from the library's report (the CLI adds
 * what it checked with the keys and the trusted key it was given).
 */
import { z } from 'zod';
import type { VerifyFailure, VerifyReport } from '../node.js';

export const failureDoc = z.object({
  code: z.string(),
  message: z.string(),
  core_index: z.int().nullable(),
  chunk: z.string().nullable(),
  offset: z.int().nullable(),
});
export type FailureDoc = z.infer<typeof failureDoc>;

export function failureView(f: VerifyFailure): FailureDoc {
  return { code: f.code, message: f.message, core_index: f.coreIndex ?? null, chunk: f.chunk ?? null, offset: f.offset ?? null };
}

const reportDoc = z.object({
  ok: z.boolean(),
  block_count: z.int(),
  blocks_checked: z.int(),
  failed_blocks: z.array(z.int()),
  failures: z.array(failureDoc),
  chain_head: z.string(),
  decrypted_blocks: z.int().describe('blocks decrypted and authenticated (0 without a key: the server never has one)'),
});
export type ReportDoc = z.infer<typeof reportDoc>;

/** The library's report, shared by the CLI and the server. */
export function reportView(r: VerifyReport): ReportDoc {
  return {
    ok: r.ok,
    block_count: r.blockCount,
    blocks_checked: r.blocksChecked,
    failed_blocks: r.failedBlocks,
    failures: r.failures.map(failureView),
    chain_head: r.chainHead,
    decrypted_blocks: r.decryptedBlocks,
  };
}

/** The server's verify document: a stored container version and its report. */
export const verifyDoc = z.object({ name: z.string(), etag: z.string(), ...reportDoc.shape });
export type VerifyDoc = z.infer<typeof verifyDoc>;

export function verifyView(name: string, etag: string, r: VerifyReport): VerifyDoc {
  return { name, etag, ...reportView(r) };
}

/**
 * The JSON documents of h4mk: pure functions from library values to
 * snake_case objects (the seed's spelling: `core_index`, `pts_us`), used by
 * the CLI (what it prints) and the server (what it sends). The documents the
 * server sends are zod schemas here; their TypeScript types are inferred
 * from them and the server's response JSON Schemas are generated from them
 * (server/schemas.ts), so a field is declared once.
 */
export { base64, hex } from './bytes.js';
export { BLOCK_LINE_HEADER, type BlockDoc, blockDoc, blockLine, blockView, type RangePageDoc, rangePageDoc } from './block.js';
export { cliErrorView, type CliErrorDoc, errorBody, type RunError, type ServerErrorDoc, serverErrorDoc } from './error.js';
export { cliManifestView, type CliManifestDoc, type EncryptionDoc, type GopDoc, isoTime, type ManifestDoc, manifestDoc, manifestView } from './manifest.js';
export { type PackDoc, packView } from './pack.js';
export { type PlanDoc, planDoc, planView } from './plan.js';
export { type SeekDoc, seekDoc, seekView } from './seek.js';
export { type TrackDoc, trackDoc, trackDurationUs, trackView } from './track.js';
export { type FailureDoc, failureView, type ReportDoc, reportView, type VerifyDoc, verifyDoc, verifyView } from './verify.js';

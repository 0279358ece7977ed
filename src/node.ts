/**
 * h4mk for Node: the portable entry (src/index.ts) with the Node platform
 * installed (node:crypto, AES-256-GCM, hardware CRC-32C, zlib and zstd;
 * src/platform/node.ts), and what needs a file system or Node's crypto:
 * files, media import and export, the tools, seals. `import 'h4mk'` on Node
 * resolves here; the CLI and the server use it too.
 */
import { installNodePlatform } from './platform/node.js';

installNodePlatform();

export * from './index.js';
export { installNodePlatform, nodePlatform } from './platform/node.js';
export { FileSink } from './io/file-sink.js';
export { FileSource } from './io/file-source.js';
export { generateSigningKeys, signContainer, verifySeal, writeSealed, type SealCheck } from './tools/seal.js';
export { type ExportFormat, type ExportOptions, type ExportSummary, exportMedia, formatOfPath } from './media/export.js';
export { type ImportedTrack, type ImportOptions, type ImportSummary, importMedia, mediaTrackIds } from './media/import.js';
export type { FileSinkOptions } from './io/file-sink.js';
export { publishVerified, type Published } from './tools/publish.js';
export { recoverFile, type RecoverFileResult } from './tools/recover-file.js';
export { type MediaDemuxer, type MediaPacket, type MediaTrack, openMedia, type SkippedTrack } from './media/demux.js';
export { type AddControlsOptions, addControlsTrack, readControls } from './controls/controls-track.js';

/**
 * h4mk: the H4MK container — writer, reader, seek, verify.
 * docs/FORMAT.md is the normative description of the bytes.
 */
import { installNodePlatform } from './platform-node.js';

installNodePlatform();

export { buildH4mkTracks } from './builder.js';
export { compressionId, getCodec, parseCompression, registerCodec, type CompressionCodec } from './compress/codec.js';
export {
  COMPRESSIONS,
  DEFAULT_LIMITS,
  FORMAT_VERSION,
  FRAME_KINDS,
  MAGIC,
  TRACK_KINDS,
  type Compression,
  type FrameKind,
  type Limits,
  type TrackKind,
} from './format/constants.js';
export { crc32c, crc32cPortable } from './format/crc32c.js';
export { H4mkError, isH4mkError, type H4mkErrorCode } from './format/errors.js';
export { ticksToUs, usToTicksExact, usToTicksFloor } from './format/time.js';
export { FileSink } from './io/file-sink.js';
export { FileSource } from './io/file-source.js';
export { MemorySink, MemorySpool, type Sink, type Spool } from './io/sink.js';
export { MemorySource, readExactly, type RandomAccessSource, type SourceStats } from './io/source.js';
export { H4mkReader, type Block, type RangeQuery, type ReadBlockOptions, type ReaderOptions } from './reader/reader.js';
export type { BlockInfo, ByteSpan, SeekResult, TrackInfo, VerifyFailure, VerifyReport } from './reader/types.js';
export type { VerifyOptions } from './reader/verify.js';
export { DEFAULT_SEGMENT_POLICY, type BlockInput, type RawBlockInput, type SegmentPolicy, type TrackOptions, type WriterOptions } from './writer/options.js';
export { H4mkWriter, type WriteSummary } from './writer/writer.js';
export { HTTP_SOURCE_DEFAULTS, HttpSource, isPrefetchSource, type HttpConditional, type HttpSourceOptions, type HttpSourceStats, type PrefetchResult, type PrefetchSource } from './io/http-source.js';
export {
  decryptCoreBlock,
  encryptCoreBlock,
  initFromSharedSecret,
  type CoreBlockContext,
  type LivingCipherState,
} from './crypto/living-cipher.js';
export { makeGrant, parseGrant, type Grant, type KeyInput } from './crypto/unlock.js';
export { generateSigningKeys, signContainer, verifySeal, writeSealed, type SealCheck } from './tools/seal.js';
export type { EncryptionOptions } from './writer/encryption.js';
export type { CryptoParams } from './format/crypto-params.js';
export type { Seal } from './format/seal.js';
export { coalesceSegments, type CoalesceOptions, type PlannedRange } from './reader/planner.js';
export { type AdaptedBlock, type CodecAdapter, MediaAdapter, type MediaUnit, OpaqueAdapter, type OpaqueAdapterOptions, type OpaqueUnit } from './media/adapter.js';
export {
  CONTROL_AXES,
  CONTROL_UNITS,
  type ControlAxis,
  type ControlRecord,
  ControlRecordSchema,
  ControlsAdapter,
  CONTROLS_CODEC,
  CONTROLS_SAFE_POLICY,
  CONTROLS_SCHEMA,
  EASINGS,
  findIdentityField,
  IDENTITY_WORDS,
  parseControls,
  validateControl,
} from './media/controls.js';
export { type AddControlsOptions, addControlsTrack, readControls } from './media/controls-track.js';
export { type MediaDemuxer, type MediaPacket, type MediaTrack, openMedia, type SkippedTrack } from './media/demux.js';
export { isMediaError, MediaError, type MediaErrorCode } from './media/errors.js';
export { type ExportFormat, type ExportOptions, type ExportSummary, exportMedia, formatOfPath } from './media/export.js';
export { type GopDecision, type GopPolicy, GopScheduler, type GopStats, gopStats, type KeyframeReason, trackGopStats } from './media/gop.js';
export { type ImportedTrack, type ImportOptions, type ImportSummary, importMedia, mediaTrackIds } from './media/import.js';
export type { FileSinkOptions } from './io/file-sink.js';
export { openAppendOnlyHttpSource } from './io/growing-http.js';
export { DEFAULT_READ_AHEAD, ReadAheadSource } from './io/read-ahead-source.js';
export { CHECKPOINT_OVERHEAD_FACTOR, LIVE_DEFAULTS, type LiveOptions, type LiveStats } from './writer/live.js';
export { DEFAULT_LIVE_SCAN_LIMIT } from './reader/live-open.js';
export { recoverContainer, type RecoverDamage, type RecoverOptions, type RecoverReference, type RecoverReport } from './recover/recover.js';
export { optimizeContainer, type OptimizeOptions, type OptimizeSummary } from './tools/optimize.js';
export { publishVerified, type Published } from './tools/publish.js';
export { recoverFile, type RecoverFileResult } from './tools/recover-file.js';
export * from './delivery/index.js';
